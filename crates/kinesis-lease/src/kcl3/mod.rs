//! The KCL 3.x protocol: leader-based lease assignment.
//!
//! Under KCL 3.x rules no worker takes or steals leases. One worker, the leader (elected with a
//! DynamoDB lock row, [`leader`]), scans the leases and the workers' utilisation reports every
//! [`assignment_interval`](Kcl3Settings::assignment_interval) and assigns leases
//! ([`assignment`]): unassigned and expired leases at once, and, to balance load, existing
//! leases through a graceful hand-over (`checkpointOwner`: the previous owner finishes with a
//! checkpoint, then lets go). Every worker publishes its report ([`metrics`]) and finds the
//! leases given to it by querying the table's `LeaseOwnerToLeaseKeyIndex`.
//!
//! A [`LeaseCoordinator`](crate::LeaseCoordinator) follows these rules when its
//! [`CoordinatorSettings::protocol`](crate::CoordinatorSettings::protocol) is
//! [`LeaseProtocol::Kcl3`]: it then joins a fleet of Java KCL 3.x workers (which accept it as a
//! worker and as their leader), or forms an all-Rust fleet. The rows are those the KCL 3.5
//! writes in single-table mode ([`kinesis_kcl_compat::fleet`]). The fleet's `Migration3.0` row
//! decides: while it says the fleet runs a 2.x-compatible version (during a migration), the
//! coordinator follows the KCL 2.x rules and still publishes its reports, as a KCL 3.x worker in
//! compatible mode does.

pub mod assignment;
pub mod clock;
pub mod cpu;
pub mod leader;
pub mod metrics;

use std::time::Duration;

pub use assignment::Balancing;

/// Which lease protocol a [`LeaseCoordinator`](crate::LeaseCoordinator) follows.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq)]
pub enum LeaseProtocol {
    /// The KCL 2.x rules: every worker takes expired and unassigned leases and steals toward an
    /// even split (the default; what KCL 2.x workers and KCL 3.x workers in 2.x-compatible mode
    /// do).
    #[default]
    Kcl2,
    /// The KCL 3.x rules: an elected leader assigns every lease.
    Kcl3(Kcl3Settings),
}

/// The settings of the KCL 3.x protocol, with the KCL 3.5's defaults.
///
/// ```
/// use std::time::Duration;
/// use kinesis_lease::kcl3::Kcl3Settings;
///
/// let s = Kcl3Settings::default();
/// let failover = Duration::from_secs(10);
/// assert_eq!(s.assignment_interval(failover), Duration::from_secs(20));
/// assert_eq!(s.discovery_interval(failover), Duration::from_millis(9975));
/// assert_eq!(s.leader_lease_duration, Duration::from_secs(120));
/// assert_eq!(s.worker_metrics_interval, Duration::from_secs(30));
/// ```
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq)]
pub struct Kcl3Settings {
    /// How often the leader assigns (`leaseAssignmentIntervalMillis`); `None`: twice the
    /// failover time (20 s).
    pub assignment_interval: Option<Duration>,
    /// How often a worker looks for leases given to it; `None`: half the assignment interval
    /// less 25 ms (9975 ms).
    pub discovery_interval: Option<Duration>,
    /// How often a worker publishes its report (`workerMetricsReporterFreqInMillis`, 30 s).
    /// The leader ignores reports older than twice this.
    pub worker_metrics_interval: Duration,
    /// How often the CPU is sampled for the report (1 s).
    pub cpu_sample_interval: Duration,
    /// Whether to measure and report the CPU utilisation. Off, the worker is a "default" worker,
    /// balanced by the throughput of its leases (as a Java worker off EC2, ECS and EKS).
    pub cpu_metric: bool,
    /// How long the leader lock lasts without a heartbeat (120 s).
    pub leader_lease_duration: Duration,
    /// How often the leader renews its lock, and a non-leader checks it (30 s).
    pub leader_heartbeat: Duration,
    /// Whether the leader moves leases by graceful hand-over (true), rather than at once.
    pub graceful_handoff: bool,
    /// How long a previous owner may take to hand a lease over before it lets go anyway
    /// (`gracefulLeaseHandoffTimeoutMillis`, 30 s).
    pub handoff_timeout: Duration,
    /// The balancing strategy.
    pub balancing: Balancing,
    /// Balance every this many assignment runs (`varianceBalancingFrequency`, 3).
    pub variance_balancing_frequency: u32,
    /// `reBalanceThresholdPercentage` (10).
    pub rebalance_threshold_percent: f64,
    /// `dampeningPercentage` (60).
    pub dampening_percent: f64,
    /// `allowThroughputOvershoot` (true).
    pub allow_throughput_overshoot: bool,
    /// `maxThroughputPerHostKBps` (`None`: unlimited).
    pub max_throughput_per_worker_kbps: Option<f64>,
    /// Whether this worker may become the leader (true).
    pub leader_eligible: bool,
}

impl Default for Kcl3Settings {
    fn default() -> Self {
        Self {
            assignment_interval: None,
            discovery_interval: None,
            worker_metrics_interval: Duration::from_secs(30),
            cpu_sample_interval: Duration::from_secs(1),
            cpu_metric: true,
            leader_lease_duration: Duration::from_secs(120),
            leader_heartbeat: Duration::from_secs(30),
            graceful_handoff: true,
            handoff_timeout: Duration::from_secs(30),
            balancing: Balancing::Utilisation,
            variance_balancing_frequency: 3,
            rebalance_threshold_percent: 10.0,
            dampening_percent: 60.0,
            allow_throughput_overshoot: true,
            max_throughput_per_worker_kbps: None,
            leader_eligible: true,
        }
    }
}

impl Kcl3Settings {
    /// The assignment interval for `failover`.
    pub fn assignment_interval(&self, failover: Duration) -> Duration {
        self.assignment_interval.unwrap_or(failover * 2)
    }

    /// The discovery interval for `failover`.
    pub fn discovery_interval(&self, failover: Duration) -> Duration {
        self.discovery_interval.unwrap_or_else(|| {
            (self.assignment_interval(failover) / 2)
                .saturating_sub(Duration::from_millis(25))
                .max(Duration::from_millis(1))
        })
    }

    /// Sets the assignment interval.
    #[must_use]
    pub fn with_assignment_interval(mut self, interval: Duration) -> Self {
        self.assignment_interval = Some(interval);
        self
    }

    /// Sets the discovery interval.
    #[must_use]
    pub fn with_discovery_interval(mut self, interval: Duration) -> Self {
        self.discovery_interval = Some(interval);
        self
    }

    /// Sets the report interval.
    #[must_use]
    pub fn with_worker_metrics_interval(mut self, interval: Duration) -> Self {
        self.worker_metrics_interval = interval;
        self
    }

    /// Turns the CPU metric on or off.
    #[must_use]
    pub fn with_cpu_metric(mut self, on: bool) -> Self {
        self.cpu_metric = on;
        self
    }

    /// Sets the leader lock's duration and heartbeat.
    #[must_use]
    pub fn with_leader_timing(mut self, lease_duration: Duration, heartbeat: Duration) -> Self {
        self.leader_lease_duration = lease_duration;
        self.leader_heartbeat = heartbeat;
        self
    }

    /// Sets the balancing strategy.
    #[must_use]
    pub fn with_balancing(mut self, balancing: Balancing) -> Self {
        self.balancing = balancing;
        self
    }

    /// Sets whether leases move by graceful hand-over.
    #[must_use]
    pub fn with_graceful_handoff(mut self, on: bool) -> Self {
        self.graceful_handoff = on;
        self
    }

    /// Sets the hand-over timeout.
    #[must_use]
    pub fn with_handoff_timeout(mut self, timeout: Duration) -> Self {
        self.handoff_timeout = timeout;
        self
    }

    /// Sets whether this worker may become the leader.
    #[must_use]
    pub fn with_leader_eligible(mut self, eligible: bool) -> Self {
        self.leader_eligible = eligible;
        self
    }

    /// The plan settings of one assignment run.
    pub(crate) fn plan_settings(
        &self,
        balance: bool,
        max_leases: usize,
    ) -> assignment::PlanSettings {
        assignment::PlanSettings {
            balancing: self.balancing,
            balance,
            rebalance_threshold_percent: self.rebalance_threshold_percent,
            dampening_percent: self.dampening_percent,
            allow_throughput_overshoot: self.allow_throughput_overshoot,
            max_throughput_per_worker_kbps: self.max_throughput_per_worker_kbps.unwrap_or(f64::MAX),
            max_leases_per_worker: max_leases,
            ema_alpha: 0.5,
        }
    }
}
