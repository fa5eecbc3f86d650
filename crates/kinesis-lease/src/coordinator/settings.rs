//! [`CoordinatorSettings`]: the timings of a [`LeaseCoordinator`](super::LeaseCoordinator).

use std::time::Duration;

use crate::kcl3::LeaseProtocol;
use crate::lineage::InitialPosition;
use crate::strategy::StrategySettings;

/// The KCL's `epsilonMillis`: the margin in its derived timings.
const EPSILON: Duration = Duration::from_millis(25);

/// The settings of a [`LeaseCoordinator`](super::LeaseCoordinator), with the Java KCL 2.x
/// defaults.
///
/// Timings derive from the failover time as in the KCL (`failoverTimeMillis` = 10 s,
/// `epsilonMillis` = 25 ms) unless set explicitly:
///
/// - renew interval: `failover / 3 − 25 ms` = **3308 ms**;
/// - take interval: `(failover + 25 ms) × 2` = **20050 ms** (the KCL's taker period; zio-kinesis
///   uses 20 s).
///
/// The failover time, the steal limit and the per-worker limit live in
/// [`StrategySettings`] ([`strategy`](Self::strategy)), which the strategy sees.
///
/// ```
/// use std::time::Duration;
/// use kinesis_lease::coordinator::CoordinatorSettings;
///
/// let defaults = CoordinatorSettings::default();
/// assert_eq!(defaults.failover_time(), Duration::from_secs(10));
/// assert_eq!(defaults.renew_interval(), Duration::from_millis(3308));
/// assert_eq!(defaults.take_interval(), Duration::from_millis(20050));
///
/// let fast = CoordinatorSettings::default().with_failover_time(Duration::from_secs(1));
/// assert_eq!(fast.renew_interval(), Duration::from_millis(308));
/// assert_eq!(fast.take_interval(), Duration::from_millis(2050));
/// let fixed = fast.with_take_interval(Duration::from_secs(5));
/// assert_eq!(fixed.take_interval(), Duration::from_secs(5));
/// ```
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq)]
pub struct CoordinatorSettings {
    /// The strategy settings: failover time, steal and per-worker limits.
    pub strategy: StrategySettings,
    /// The renew interval; `None` derives it from the failover time.
    pub renew_interval: Option<Duration>,
    /// The take interval; `None` derives it from the failover time.
    pub take_interval: Option<Duration>,
    /// Where new leases start (their initial checkpoint). Default [`InitialPosition::Latest`], as
    /// in the KCL.
    pub initial_position: InitialPosition,
    /// On [`shutdown`](super::LeaseCoordinator::shutdown): how long to wait for the consumer's
    /// final checkpoints, and then how long the releases of the leases still held may take.
    /// Default 10 s (zio-kinesis's `releaseLeaseTimeout`).
    pub release_timeout: Duration,
    /// The capacity of the event channel ([`LeaseEvent`](super::LeaseEvent)s). Default 1024.
    pub event_capacity: usize,
    /// The capacity of the acquisition channel ([`Acquisitions`](super::Acquisitions)).
    /// Default 128, as zio-kinesis.
    pub acquisition_capacity: usize,
    /// How many lease writes of one pass (renewals, the releases of shutdown) may be in flight
    /// at once. Default 20, the KCL's `maxLeaseRenewalThreads`. Takes and creations run one at
    /// a time, as in the KCL's taker.
    pub max_concurrent_writes: usize,
    /// Whether to read one lease of each of the two owners after this worker (in the order of
    /// worker ids) every two renew intervals, to notice a stopped owner (a Java KCL worker
    /// leaves its leases owned when it stops) and take its leases as soon as they expire
    /// instead of up to two take intervals later. Costs at most two `GetItem`s per worker per
    /// period, whatever the size of the fleet. Default true.
    pub expiry_probes: bool,
    /// The lease protocol: [`LeaseProtocol::Kcl2`] (the default) or [`LeaseProtocol::Kcl3`]
    /// (an elected leader assigns every lease; see [`crate::kcl3`]).
    pub protocol: LeaseProtocol,
}

impl Default for CoordinatorSettings {
    fn default() -> Self {
        Self {
            strategy: StrategySettings::default(),
            renew_interval: None,
            take_interval: None,
            initial_position: InitialPosition::Latest,
            release_timeout: Duration::from_secs(10),
            event_capacity: 1024,
            acquisition_capacity: 128,
            max_concurrent_writes: 20,
            expiry_probes: true,
            protocol: LeaseProtocol::Kcl2,
        }
    }
}

impl CoordinatorSettings {
    /// The failover time ([`StrategySettings::failover_time`]).
    pub fn failover_time(&self) -> Duration {
        self.strategy.failover_time
    }

    /// The renew interval: set, or `failover / 3 − 25 ms` in whole milliseconds (at least 1 ms).
    pub fn renew_interval(&self) -> Duration {
        // In whole milliseconds, as the KCL computes it.
        self.renew_interval.unwrap_or_else(|| {
            let third = u64::try_from(self.failover_time().as_millis() / 3).unwrap_or(u64::MAX);
            Duration::from_millis(third)
                .saturating_sub(EPSILON)
                .max(Duration::from_millis(1))
        })
    }

    /// The take interval: set, or `(failover + 25 ms) × 2`.
    pub fn take_interval(&self) -> Duration {
        self.take_interval.unwrap_or_else(|| {
            self.failover_time()
                .saturating_add(EPSILON)
                .saturating_mul(2)
        })
    }

    /// The period of the expiry probes (two renew intervals), or `None` when they are off.
    pub fn expiry_probe_interval(&self) -> Option<Duration> {
        self.expiry_probes.then(|| self.renew_interval() * 2)
    }

    /// Sets the lease protocol.
    #[must_use]
    pub fn with_protocol(mut self, protocol: LeaseProtocol) -> Self {
        self.protocol = protocol;
        self
    }

    /// Turns the expiry probes on or off.
    #[must_use]
    pub fn with_expiry_probes(mut self, on: bool) -> Self {
        self.expiry_probes = on;
        self
    }

    /// Sets the failover time (in [`strategy`](Self::strategy)).
    #[must_use]
    pub fn with_failover_time(mut self, failover_time: Duration) -> Self {
        self.strategy.failover_time = failover_time;
        self
    }

    /// Sets the strategy settings.
    #[must_use]
    pub fn with_strategy_settings(mut self, strategy: StrategySettings) -> Self {
        self.strategy = strategy;
        self
    }

    /// Sets the renew interval (keep it well below the failover time: the KCL uses a third).
    #[must_use]
    pub fn with_renew_interval(mut self, interval: Duration) -> Self {
        self.renew_interval = Some(interval);
        self
    }

    /// Sets the take interval.
    #[must_use]
    pub fn with_take_interval(mut self, interval: Duration) -> Self {
        self.take_interval = Some(interval);
        self
    }

    /// Sets where new leases start.
    #[must_use]
    pub fn with_initial_position(mut self, position: InitialPosition) -> Self {
        self.initial_position = position;
        self
    }

    /// Sets the release timeout of shutdown.
    #[must_use]
    pub fn with_release_timeout(mut self, timeout: Duration) -> Self {
        self.release_timeout = timeout;
        self
    }

    /// Sets the capacity of the event channel (at least 1).
    #[must_use]
    pub fn with_event_capacity(mut self, capacity: usize) -> Self {
        self.event_capacity = capacity.max(1);
        self
    }

    /// Sets how many lease writes of one pass may be in flight at once (at least 1).
    #[must_use]
    pub fn with_max_concurrent_writes(mut self, limit: usize) -> Self {
        self.max_concurrent_writes = limit.max(1);
        self
    }

    /// Sets the capacity of the acquisition channel (at least 1).
    #[must_use]
    pub fn with_acquisition_capacity(mut self, capacity: usize) -> Self {
        self.acquisition_capacity = capacity.max(1);
        self
    }
}
