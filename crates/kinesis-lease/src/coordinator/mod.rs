//! The lease coordinator: one per worker, it renews the leases this worker holds, takes leases
//! on a schedule by an [`AssignmentStrategy`], creates leases for new shards, detects lost
//! leases, and is the [`CheckpointSink`] of the checkpointers it hands out.
//!
//! # Model
//!
//! The coordinator runs two loops on tokio (all timing through [`tokio::time`], so tests can
//! pause time):
//!
//! - **renew**, every [`renew_interval`](CoordinatorSettings::renew_interval): renews each held
//!   lease (a write conditional on counter and owner that increments the counter), except the
//!   leases this worker wrote otherwise (a checkpoint, a take) since the previous renew pass: a
//!   checkpoint counts as a renewal. A conditional failure means the lease was taken: it is
//!   lost ([`LeaseStatus::Lost`], [`LeaseEvent::Lost`]). A storage error is reported
//!   ([`LeaseEvent::RenewalFailed`]) and the lease kept, until the failover time has passed
//!   since its last successful write: then this worker's own view says it expired, and it is
//!   dropped as lost.
//! - **refresh and take**, every [`take_interval`](CoordinatorSettings::take_interval) (and once
//!   at [`start`](LeaseCoordinator::start)): scans the table, notes for each lease when its
//!   counter was last seen to change (on this worker's monotonic clock, as the KCL's
//!   `lastCounterIncrementNanos`), drops held leases whose owner changed, resumes leases the
//!   table says this worker owns but it does not hold (a restart with the same worker id:
//!   each is renewed first, so that one taken meanwhile is not processed twice), then asks the strategy for an [`Assignment`] and carries it out: creates leases
//!   for shards ready to consume (conditional puts; losing the race is normal), takes free or
//!   expired leases, steals, releases.
//!
//! The coordinator does not call Kinesis: the consumer feeds it the stream's shards with
//! [`update_shards`](LeaseCoordinator::update_shards). New leases are created only for shards
//! [ready to consume](crate::lineage::shards_ready_to_consume) (parents before children).
//!
//! Every acquired lease is handed to the consumer as an [`AcquiredLease`] through
//! [`acquisitions`](LeaseCoordinator::acquisitions): its checkpoint, a [`LeaseSignal`] that
//! resolves when it is lost, released or the coordinator shuts down, and a [`Checkpointer`]
//! writing through the coordinator. All writes to one lease (renewal, checkpoint, release) are
//! serialised by a per-lease async mutex, so a renewal never invalidates a checkpoint in flight.
//!
//! # Shutdown
//!
//! [`shutdown`](LeaseCoordinator::shutdown) stops both loops, signals every held lease
//! [`LeaseStatus::ShuttingDown`], waits (up to the
//! [`release_timeout`](CoordinatorSettings::release_timeout)) for the consumer to call
//! [`Checkpointer::checkpoint_and_release`] on them, then releases the rest itself (one
//! conditional write each that clears the owner and increments the counter, so other workers
//! take them at their next take tick instead of after the failover time). Unlike the Java KCL,
//! which leaves its leases to expire.
//!
//! With a [`Handover`] shared by the workers ([`LeaseCoordinatorBuilder::handover`]), every
//! release is announced, and the workers that hear it run a take pass at once: the leases
//! change hands in milliseconds, at the cost of one scan per burst of releases and nothing in
//! steady state.
//!
//! Dropping the last handle without `shutdown` aborts the loops and signals every held lease
//! [`LeaseStatus::Lost`] (its checkpointer refuses further writes): the leases are then neither
//! renewed nor released, and other workers take them once they have expired (after the failover
//! time, plus up to one take interval) — what happens when a worker crashes.
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//! use kinesis_lease::coordinator::{LeaseCoordinator, LeaseStatus};
//! use kinesis_lease::lineage::ShardInfo;
//! use kinesis_lease::InMemoryLeaseRepository;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let repository = Arc::new(InMemoryLeaseRepository::new());
//! let coordinator = LeaseCoordinator::builder(repository, "worker-1").build();
//! coordinator.update_shards([ShardInfo::new("shardId-000000000000".parse()?)]);
//! let mut acquisitions = coordinator.acquisitions().expect("first call");
//! coordinator.start().await?;
//!
//! let lease = acquisitions.recv().await.expect("one lease");
//! assert_eq!(lease.lease_key.to_string(), "shardId-000000000000");
//! let consumer = tokio::spawn(async move {
//!     let mut signal = lease.signal.clone();
//!     // ... process the shard until the signal resolves, staging positions ...
//!     if signal.ended().await == LeaseStatus::ShuttingDown {
//!         lease.checkpointer.checkpoint_and_release().await.ok();
//!     }
//! });
//! coordinator.shutdown().await;
//! consumer.await?;
//! assert!(coordinator.held_leases().is_empty());
//! # Ok(())
//! # }
//! ```

mod builder;
mod events;
mod handover;
mod health;
mod held_sink;
mod kcl3;
mod metrics;
mod probe;
mod renew;
mod settings;
mod shard_end;
mod take;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use kinesis_client::Telemetry;
use kinesis_kcl_compat::lease::{Lease, LeaseKey};
use tokio::sync::{broadcast, mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};

use crate::checkpointer::{CheckpointSink, Checkpointer, WrittenCheckpoint};
use crate::error::{LeaseError, LeaseErrorKind};
use crate::lineage::{self, ShardInfo, ShardLineage};
use crate::repository::{BoxFuture, CheckpointUpdate, LeaseRepository};
use crate::strategy::{Assignment, AssignmentStrategy, Balanced, LeaseView, Snapshot};

pub use builder::LeaseCoordinatorBuilder;
pub use events::{
    AcquiredLease, Acquisitions, LeaseEvent, LeaseSignal, LeaseStatus, LeaseThroughput,
};
pub use handover::{Handover, Released};
pub use health::{CoordinatorHealth, HealthProblem, LeaseHealth};
pub use settings::CoordinatorSettings;

use held_sink::HeldSink;
use kcl3::Kcl3State;

/// How long a coordinator that heard a release waits for more before it scans.
const HANDOVER_GATHER: Duration = Duration::from_millis(50);

// === LeaseCoordinator ===

/// The lease coordinator of one worker; see the [module documentation](self).
///
/// A cheap-clone handle (an [`Arc`] inside). Call [`shutdown`](Self::shutdown) to stop it
/// cleanly; dropping the last handle without it aborts the loops (the leases then expire after
/// the failover time).
#[derive(Clone, Debug)]
pub struct LeaseCoordinator {
    handle: Arc<Handle>,
}

struct Handle {
    shared: Arc<Shared>,
    started: AtomicBool,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LeaseCoordinator")
            .field("worker_id", &self.shared.worker_id)
            .field("started", &self.started.load(Ordering::Relaxed))
            .field("held", &self.shared.state().held.len())
            .finish_non_exhaustive()
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        for task in lock(&self.tasks).drain(..) {
            task.abort();
        }
        lock(&self.shared.acq_tx).take();
        // Nothing renews the leases any more: their consumers stop, and their checkpointers
        // refuse writes (a checkpoint would otherwise keep a lease alive without its owner).
        let held: Vec<Held> = std::mem::take(&mut self.shared.state().held)
            .into_values()
            .collect();
        for h in held {
            h.status.send_replace(LeaseStatus::Lost);
            h.checkpointer.mark_lease_lost();
        }
    }
}

impl LeaseCoordinator {
    /// A builder for the coordinator of worker `worker_id` (the `leaseOwner` it writes) over
    /// `repository`.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use kinesis_lease::coordinator::{CoordinatorSettings, LeaseCoordinator};
    /// use kinesis_lease::{Explicit, InMemoryLeaseRepository};
    ///
    /// let coordinator = LeaseCoordinator::builder(Arc::new(InMemoryLeaseRepository::new()), "w-1")
    ///     .strategy(Arc::new(Explicit::new(["shardId-000000000000".parse::<kinesis_client::ShardId>()?])))
    ///     .settings(CoordinatorSettings::default().with_failover_time(Duration::from_secs(5)))
    ///     .build();
    /// assert_eq!(coordinator.worker_id(), "w-1");
    /// # Ok::<(), kinesis_client::Error>(())
    /// ```
    pub fn builder(
        repository: Arc<dyn LeaseRepository>,
        worker_id: impl Into<String>,
    ) -> LeaseCoordinatorBuilder {
        LeaseCoordinatorBuilder::new(repository, worker_id.into())
    }

    /// This worker's id.
    pub fn worker_id(&self) -> &str {
        &self.handle.shared.worker_id
    }

    /// The settings.
    pub fn settings(&self) -> &CoordinatorSettings {
        &self.handle.shared.settings
    }

    /// Subscribes to the [`LeaseEvent`]s (see there for the lag behaviour).
    pub fn events(&self) -> broadcast::Receiver<LeaseEvent> {
        self.handle.shared.events.subscribe()
    }

    /// The stream of acquired leases: `Some` on the first call only.
    ///
    /// If nobody ever takes it, [`shutdown`](Self::shutdown) does not wait for final
    /// checkpoints.
    pub fn acquisitions(&self) -> Option<Acquisitions> {
        lock(&self.handle.shared.acq_rx)
            .take()
            .map(|rx| Acquisitions { rx })
    }

    /// Replaces the stream's shard list (from `ListShards`, or the child shards reported at a
    /// shard end). Leases are created at the next take pass for the shards ready to consume.
    pub fn update_shards<S: ShardLineage>(&self, shards: impl IntoIterator<Item = S>) {
        let shards: Vec<ShardInfo> = shards.into_iter().map(|s| ShardInfo::of(&s)).collect();
        self.handle.shared.state().shards = shards;
    }

    /// The leases this worker holds, as it last wrote or read them, sorted by key.
    pub fn held_leases(&self) -> Vec<Lease> {
        let mut leases: Vec<Lease> = self
            .handle
            .shared
            .state()
            .held
            .values()
            .map(|h| h.lease.clone())
            .collect();
        leases.sort_by(|a, b| a.lease_key.cmp(&b.lease_key));
        leases
    }

    /// Ensures the lease table exists, runs a first refresh and take pass at once, then starts
    /// the renew and take loops. A second call does nothing.
    ///
    /// Must be called within a tokio runtime. The first pass hands its acquisitions to the
    /// bounded acquisition channel: with more new leases than
    /// [`acquisition_capacity`](CoordinatorSettings::acquisition_capacity), take the
    /// [`acquisitions`](Self::acquisitions) and read them concurrently.
    ///
    /// # Errors
    ///
    /// The error of [`LeaseRepository::ensure_table`] (and, under the KCL 3.x rules, of the
    /// first writes of this worker's rows); nothing is started then, and `start` may be called
    /// again. Errors of the first pass are logged, not returned (the loop retries at the next
    /// take tick).
    ///
    /// # Cancel safety
    ///
    /// Not cancel-safe: dropped before it returns, the coordinator may have taken leases without
    /// running its loops (they then expire). Call [`shutdown`](Self::shutdown) to release them.
    pub async fn start(&self) -> Result<(), LeaseError> {
        use tracing::Instrument as _;
        let span = self.handle.shared.span.clone();
        self.start_in_span().instrument(span).await
    }

    async fn start_in_span(&self) -> Result<(), LeaseError> {
        if self.handle.started.swap(true, Ordering::SeqCst) {
            return Ok(());
        }
        let shared = &self.handle.shared;
        let prepared = async {
            shared.repository.ensure_table().await?;
            if let Some(k) = shared.kcl3_state() {
                shared.start_kcl3(k).await?;
            }
            Ok::<(), LeaseError>(())
        };
        if let Err(e) = prepared.await {
            // Nothing runs yet: a later call starts it.
            self.handle.started.store(false, Ordering::SeqCst);
            return Err(e);
        }
        let loaded = shared.refresh_and_take().await;
        // As the KCL's renewer loading this worker's leases at start.
        metrics::lease_renewer_initialize(&shared.telemetry, loaded);
        let renew = shared.spawn(
            Arc::clone(shared).every(shared.settings.renew_interval(), |c| async move {
                c.renew_all().await
            }),
        );
        let mut tasks = lock(&self.handle.tasks);
        tasks.push(renew);
        match shared.kcl3_state() {
            Some(k) => shared.spawn_kcl3_loops(k, &mut tasks),
            None => tasks.push(shared.spawn(Arc::clone(shared).every(
                shared.settings.take_interval(),
                |c| async move {
                    c.refresh_and_take().await;
                },
            ))),
        }
        let probes = shared.kcl3_state().is_none_or(|k| !k.runs_3x());
        if let Some(period) = shared.settings.expiry_probe_interval().filter(|_| probes) {
            tasks.push(shared.spawn(Arc::clone(shared).probe_loop(period)));
        }
        if let Some(handover) = &shared.handover {
            let heard = handover.subscribe();
            tasks.push(shared.spawn(Arc::clone(shared).take_on_handover(heard)));
        }
        Ok(())
    }

    /// Runs a refresh and take pass now (for instance after a shard ended, so that its children
    /// are picked up without waiting for the take tick). Passes never overlap: this waits for
    /// one in progress.
    ///
    /// # Cancel safety
    ///
    /// Writes already made are kept, and their leases held; dropping it may lose an
    /// [`AcquiredLease`] not yet delivered (its lease is then held but never processed, until
    /// shutdown releases it).
    pub async fn take_now(&self) {
        use tracing::Instrument as _;
        let span = self.handle.shared.span.clone();
        self.take_now_in_span().instrument(span).await
    }

    async fn take_now_in_span(&self) {
        if !self.handle.shared.is_stopping() {
            self.handle.shared.refresh_and_take().await;
        }
    }

    /// Stops the coordinator: stops the loops and taking, signals every held lease
    /// [`LeaseStatus::ShuttingDown`], waits up to the
    /// [`release_timeout`](CoordinatorSettings::release_timeout) for the consumer's
    /// [`checkpoint_and_release`](Checkpointer::checkpoint_and_release) calls, then releases the
    /// leases still held (bounded by the release timeout again), emitting
    /// [`LeaseEvent::Released`]. Ends the [`Acquisitions`] stream. Idempotent.
    ///
    /// A lease whose release failed or timed out is dropped locally; it expires after the
    /// failover time.
    ///
    /// # Cancel safety
    ///
    /// Not cancel-safe: dropped part way, some leases stay held locally and in the table (they
    /// expire). Calling it again finishes the job.
    pub async fn shutdown(&self) {
        use tracing::Instrument as _;
        let span = self.handle.shared.span.clone();
        self.shutdown_in_span().instrument(span).await
    }

    async fn shutdown_in_span(&self) {
        let shared = &self.handle.shared;
        shared.state().stopping = true;
        shared.stop.send_replace(true);
        let tasks: Vec<JoinHandle<()>> = lock(&self.handle.tasks).drain(..).collect();
        for task in tasks {
            if let Err(e) = task.await
                && e.is_panic()
            {
                std::panic::resume_unwind(e.into_panic());
            }
        }
        shared.release_leadership().await;
        let consumer_present = {
            let tx = lock(&shared.acq_tx).take();
            lock(&shared.acq_rx).is_none() && tx.is_some_and(|tx| !tx.is_closed())
        };
        {
            let st = shared.state();
            for held in st.held.values() {
                held.status.send_replace(LeaseStatus::ShuttingDown);
            }
        }
        let timeout = shared.settings.release_timeout;
        if consumer_present {
            let mut count = shared.held_count.subscribe();
            let _ = tokio::time::timeout(timeout, count.wait_for(|n| *n == 0)).await;
        }
        let rest: Vec<(LeaseKey, u64)> = shared
            .state()
            .held
            .iter()
            .map(|(k, h)| (k.clone(), h.generation))
            .collect();
        let releases: Vec<_> = rest
            .iter()
            .map(|(k, g)| shared.release_held(k, *g, ReleaseMode::Shutdown))
            .collect();
        let releases = bounded(releases, shared.settings.max_concurrent_writes);
        if tokio::time::timeout(timeout, releases).await.is_err() {
            tracing::warn!(worker_id = %shared.worker_id, "lease releases timed out on shutdown");
        }
        for (k, g) in rest {
            shared.end_held(&k, g, LeaseStatus::Released);
        }
        shared.withdraw_report().await;
    }
}

// === Shared state ===

struct Shared {
    repository: Arc<dyn LeaseRepository>,
    worker_id: String,
    strategy: Arc<dyn AssignmentStrategy>,
    settings: CoordinatorSettings,
    handover: Option<Handover>,
    /// The KCL 3.x state, when the protocol is [`LeaseProtocol::Kcl3`](crate::LeaseProtocol).
    kcl3: Option<Kcl3State>,
    state: Mutex<State>,
    events: broadcast::Sender<LeaseEvent>,
    acq_tx: Mutex<Option<mpsc::Sender<AcquiredLease>>>,
    acq_rx: Mutex<Option<mpsc::Receiver<AcquiredLease>>>,
    stop: watch::Sender<bool>,
    held_count: watch::Sender<usize>,
    next_generation: AtomicU64,
    /// Serialises refresh and take passes.
    take_lock: tokio::sync::Mutex<()>,
    /// The span of every task of this coordinator (`lease_coordinator{worker_id}`).
    span: tracing::Span,
    /// Where metrics and events go (the event stream's recorder among them).
    telemetry: Telemetry,
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LeaseCoordinator")
            .field("worker_id", &self.worker_id)
            .finish_non_exhaustive()
    }
}

#[derive(Default)]
struct State {
    /// Every lease of the last scan: its counter, and when this worker saw it change (`None`:
    /// an unowned lease never seen changing, which the KCL treats as never renewed).
    seen: BTreeMap<LeaseKey, Seen>,
    held: BTreeMap<LeaseKey, Held>,
    shards: Vec<ShardInfo>,
    owners: BTreeSet<String>,
    /// The unreadable rows already reported.
    corrupt: BTreeSet<String>,
    /// When the previous renew pass started.
    last_renew_pass: Option<Instant>,
    /// When the lease table was last read successfully.
    last_table_read: Option<Instant>,
    /// Acquired leases held but not handed to the consumer yet: their parent shards are not
    /// finished.
    blocked: Vec<AcquiredLease>,
    /// One lease per other owner, read between scans ([`probe`]).
    probes: BTreeMap<String, probe::Probe>,
    stopping: bool,
}

struct Seen {
    counter: u64,
    last_change: Option<Instant>,
}

struct Held {
    /// Tells this holding from a later holding of the same lease.
    generation: u64,
    /// The lease as this worker last wrote (or read) it.
    lease: Lease,
    /// Serialises the writes of this lease.
    write_lock: Arc<tokio::sync::Mutex<()>>,
    status: watch::Sender<LeaseStatus>,
    checkpointer: Checkpointer,
    /// The last successful write (or the acquisition).
    last_success: Instant,
    /// The last write other than a renewal (checkpoint, take, create).
    last_other_write: Instant,
    /// Whether the consumer has it (it was not waiting for its parents).
    delivered: bool,
    /// Whether a KCL 3.x leader asked for it to be handed over.
    handing_over: bool,
    /// Bytes the consumer processed since the last renewal.
    throughput: LeaseThroughput,
    /// The moving average of the throughput written at renewals (KCL 3.x).
    throughput_ema: Option<f64>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum ReleaseMode {
    /// The strategy asked: on a storage error, keep the lease and try again next pass.
    Strategy,
    /// Shutdown: on any error, give the lease up locally.
    Shutdown,
}

/// Runs `writes` with at most `limit` (at least 1) in flight.
async fn bounded<F: std::future::Future<Output = ()>>(writes: Vec<F>, limit: usize) {
    use futures_util::StreamExt as _;
    futures_util::stream::iter(writes)
        .buffer_unordered(limit.max(1))
        .for_each(|()| std::future::ready(()))
        .await;
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    /// Spawns `task` in this coordinator's span.
    fn spawn<F>(&self, task: F) -> JoinHandle<()>
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        use tracing::Instrument as _;
        tokio::spawn(task.instrument(self.span.clone()))
    }

    fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    fn is_stopping(&self) -> bool {
        self.state().stopping
    }

    fn emit(&self, event: LeaseEvent) {
        self.telemetry.event(&event);
    }

    /// Tells the other workers on the [`Handover`] (if any) that `key` is free.
    fn announce_release(&self, key: &LeaseKey) {
        if let Some(handover) = &self.handover {
            handover.announce(Released::new(key.clone(), self.worker_id.clone()));
        }
    }

    fn note_written(st: &mut State, lease: &Lease, now: Instant) {
        st.seen.insert(
            lease.lease_key.clone(),
            Seen {
                counter: lease.lease_counter,
                last_change: Some(now),
            },
        );
    }

    /// Publishes how many held leases the consumer is processing: delivered, and not finished
    /// (a finished lease stays held, without processing, until its cleanup).
    fn publish_held_count(&self, st: &State) {
        let processing = st
            .held
            .values()
            .filter(|h| h.delivered && !h.lease.checkpoint.is_shard_end())
            .count();
        self.held_count.send_replace(processing);
    }

    /// Starts holding `lease` (as stored after this worker's write, or resumed); `now` is when
    /// the write (or read) that gave it was sent: the lease is valid for the failover time
    /// from then, as the KCL counts it, not from when the answer arrived.
    fn register(self: &Arc<Self>, lease: Lease, now: Instant) -> AcquiredLease {
        let generation = self.next_generation.fetch_add(1, Ordering::Relaxed);
        let hash_key_range = lease.hash_key_range;
        let key = lease.lease_key.clone();
        let sink = Arc::new(HeldSink {
            shared: Arc::clone(self),
            lease_key: key.clone(),
            generation,
        });
        let checkpointer = Checkpointer::builder(key.clone(), sink)
            .initial_checkpoint(lease.checkpoint.clone())
            .lease_counter(lease.lease_counter)
            .build();
        let (status, signal) = LeaseSignal::channel();
        let checkpoint = lease.checkpoint.clone();
        let throughput = LeaseThroughput::default();
        if let Some(t) = lease.throughput_kbps {
            // As the KCL seeds its recorder from an adopted lease's throughput.
            throughput
                .record((t.get() * 1024.0 * self.settings.renew_interval().as_secs_f64()) as u64);
        }
        {
            let mut st = self.state();
            Self::note_written(&mut st, &lease, now);
            if let Some(old) = st.held.insert(
                key.clone(),
                Held {
                    generation,
                    lease,
                    write_lock: Arc::new(tokio::sync::Mutex::new(())),
                    status,
                    checkpointer: checkpointer.clone(),
                    last_success: now,
                    last_other_write: now,
                    delivered: false,
                    handing_over: false,
                    throughput: throughput.clone(),
                    throughput_ema: None,
                },
            ) {
                // Cannot happen (a held lease is never taken again), but be safe.
                old.status.send_replace(LeaseStatus::Lost);
                old.checkpointer.mark_lease_lost();
            }
            self.publish_held_count(&st);
        }
        tracing::info!(worker_id = %self.worker_id, lease_key = %key, "lease acquired");
        self.emit(LeaseEvent::Acquired {
            key: key.clone(),
            checkpoint: checkpoint.clone(),
        });
        AcquiredLease {
            lease_key: key,
            hash_key_range,
            checkpoint,
            signal,
            checkpointer,
            throughput,
        }
    }

    /// Hands an acquisition to the consumer, unless the coordinator stops meanwhile, or the
    /// lease's last successful write was sent the failover time ago or longer (the process was
    /// stopped while the answer was on its way, say): to the others it has expired, and may be
    /// theirs already. Such a lease is let go as lost; the next take pass finds it again if it
    /// is still this worker's.
    async fn deliver(&self, acquired: AcquiredLease) {
        let tx = lock(&self.acq_tx).clone();
        let Some(tx) = tx else { return };
        let key = acquired.lease_key.clone();
        let stale = {
            let st = self.state();
            st.held
                .get(&key)
                .filter(|h| h.last_success.elapsed() >= self.settings.failover_time())
                .map(|h| (h.generation, h.last_success.elapsed()))
        };
        if let Some((generation, age)) = stale {
            tracing::warn!(worker_id = %self.worker_id, lease_key = %key, ?age, "the write that gave this lease is older than the failover time (the process was stopped?): not handed to the consumer");
            self.end_held(&key, generation, LeaseStatus::Lost);
            return;
        }
        let mut stop = self.stop.subscribe();
        let sent = tokio::select! {
            biased;
            sent = tx.send(acquired) => sent.is_ok(),
            _ = stop.wait_for(|s| *s) => false,
        };
        if sent {
            let mut st = self.state();
            if let Some(held) = st.held.get_mut(&key) {
                held.delivered = true;
            }
            self.publish_held_count(&st);
        }
    }

    /// Stops holding the lease `key` (if held as `generation`), with `status`.
    fn end_held(&self, key: &LeaseKey, generation: u64, status: LeaseStatus) -> bool {
        let held = {
            let mut st = self.state();
            if st.held.get(key).is_none_or(|h| h.generation != generation) {
                return false;
            }
            let held = st.held.remove(key);
            self.publish_held_count(&st);
            held
        };
        let Some(held) = held else { return false };
        held.status.send_replace(status);
        match status {
            LeaseStatus::Lost => {
                held.checkpointer.mark_lease_lost();
                tracing::info!(worker_id = %self.worker_id, lease_key = %key, "lease lost");
                self.emit(LeaseEvent::Lost { key: key.clone() });
            }
            LeaseStatus::Deleted => {
                tracing::info!(worker_id = %self.worker_id, lease_key = %key, "finished lease deleted");
                self.emit(LeaseEvent::Deleted { key: key.clone() });
            }
            LeaseStatus::HandedOver => {
                tracing::info!(worker_id = %self.worker_id, lease_key = %key, "lease handed over");
                self.emit(LeaseEvent::HandedOver { key: key.clone() });
            }
            _ => {
                tracing::info!(worker_id = %self.worker_id, lease_key = %key, "lease released");
                self.emit(LeaseEvent::Released { key: key.clone() });
            }
        }
        true
    }

    /// The write lock of the held lease `key`, if held as `generation` (any generation if
    /// `None`).
    fn held_lock(
        &self,
        key: &LeaseKey,
        generation: Option<u64>,
    ) -> Option<(u64, Arc<tokio::sync::Mutex<()>>)> {
        let st = self.state();
        let held = st.held.get(key)?;
        if generation.is_some_and(|g| g != held.generation) {
            return None;
        }
        Some((held.generation, Arc::clone(&held.write_lock)))
    }

    fn held_lease(&self, key: &LeaseKey, generation: u64) -> Option<Lease> {
        let st = self.state();
        st.held
            .get(key)
            .filter(|h| h.generation == generation)
            .map(|h| h.lease.clone())
    }

    /// Records a successful write of a held lease.
    fn wrote(&self, lease: &Lease, generation: u64, renewal: bool) {
        let now = Instant::now();
        let mut st = self.state();
        Self::note_written(&mut st, lease, now);
        if let Some(held) = st
            .held
            .get_mut(&lease.lease_key)
            .filter(|h| h.generation == generation)
        {
            held.lease = lease.clone();
            held.last_success = now;
            if !renewal {
                held.last_other_write = now;
            }
        }
        if !renewal && lease.checkpoint.is_shard_end() {
            self.publish_held_count(&st);
        }
    }

    async fn release_held(self: &Arc<Self>, key: &LeaseKey, generation: u64, mode: ReleaseMode) {
        let Some((_, write_lock)) = self.held_lock(key, Some(generation)) else {
            return;
        };
        let _serialised = write_lock.lock().await;
        let Some(lease) = self.held_lease(key, generation) else {
            return;
        };
        if self.handing_over(key, generation) {
            self.complete_handoff_locked(key, generation, &lease).await;
            return;
        }
        match self.repository.release_lease(&lease).await {
            Ok(stored) => {
                Self::note_written(&mut self.state(), &stored, Instant::now());
                self.end_held(key, generation, LeaseStatus::Released);
                self.announce_release(key);
            }
            Err(e) if e.is_lease_lost() => {
                if self.resolve_conflict(key, generation).await == kcl3::Conflict::HandOver {
                    // Moved by the leader meanwhile: end the hand-over instead.
                    if let Some(lease) = self.held_lease(key, generation) {
                        self.complete_handoff_locked(key, generation, &lease).await;
                    }
                } else {
                    self.end_held(key, generation, LeaseStatus::Lost);
                }
            }
            Err(e) => {
                tracing::warn!(worker_id = %self.worker_id, lease_key = %key, error = %e, "lease release failed");
                if mode == ReleaseMode::Shutdown {
                    self.end_held(key, generation, LeaseStatus::Released);
                }
            }
        }
    }
}
