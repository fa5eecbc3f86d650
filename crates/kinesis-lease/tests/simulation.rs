//! A deterministic simulation of the lease protocol: seeded fleets of coordinators (KCL 2.x
//! rules, the KCL's default timings) over one in-memory lease table, in virtual time, each
//! worker with a consumer that processes its shards and checkpoints, under a seeded schedule
//! of crashes and restarts, pauses longer than the failover time (a process stopped, then
//! woken up with stale leases), graceful restarts, bursts of lease table failures, some of
//! them ambiguous (the write is applied and its answer lost), and splits and merges of shards
//! (each worker learns the new shards at its next shard sync, or at once when it ends a shard).
//!
//! Checked on every write and every processing step:
//!
//! - a checkpoint is only ever written by the worker that owns the lease in the table at that
//!   moment (a stale owner's write is refused);
//! - a shard's checkpoint never moves backwards (`SHARD_END` is last);
//! - a consumer resumes a shard from the checkpoint last written (no record skipped), and is
//!   never handed a finished shard;
//! - after a lease changed hands (or its old owner woke up), the old owner processes the shard
//!   for at most one renew interval more;
//! - a child shard is processed only once every parent's `SHARD_END` is written, `SHARD_END`
//!   only once the shard's last record was processed, and only a finished lease is deleted;
//!
//! and once the faults stop: every open shard owned by a live worker, every closed shard
//! finished, the fleet balanced.
//!
//! `SIM_SEEDS` (default 100) seeds run, from `SIM_FIRST_SEED` (default 1), within
//! `SIM_BUDGET_SECS` of wall time when it is set; `SIM_SEED=n` runs
//! that one seed alone and prints its trace (with `SIM_TRACE_CALLS=1`, every lease table call
//! too). A failing seed is printed; it replays exactly (checked by `a_seed_replays_exactly`):
//! everything runs on one thread in virtual time, every random choice comes from the seed, and
//! the coordinator iterates its maps in key order.
//!
//! ```text
//! SIM_SEEDS=100000 cargo test --release -p kinesis-lease --test simulation -- --nocapture
//! SIM_SEED=4242 cargo test -p kinesis-lease --test simulation -- --nocapture
//! ```

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use kinesis_kcl_compat::fleet::WorkerMetricStats;
use kinesis_kcl_compat::lease::{Item, Lease, LeaseKey};
use kinesis_kcl_compat::sequence::{Checkpoint, ExtendedSequenceNumber, Sentinel};
use kinesis_lease::coordinator::{
    AcquiredLease, CoordinatorSettings, LeaseCoordinator, LeaseStatus,
};
use kinesis_lease::lineage::{InitialPosition, ShardInfo};
use kinesis_lease::repository::{
    BoxFuture, CheckpointUpdate, FleetScan, InMemoryLeaseRepository, Kcl3Repository, LeaseScan,
    RowCondition,
};
use kinesis_lease::{
    Balanced, Kcl3Settings, LeaseError, LeaseErrorKind, LeaseProtocol, LeaseRepository,
};
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// Shards of the stream.
const SHARDS: usize = 8;
/// How long each simulation runs (virtual time) under the KCL 2.x rules.
const RUN: Duration = Duration::from_secs(600);
/// Under the KCL 3.x rules: the leader balances every third run (a minute) and moves a
/// dampened share of the excess each time, so a fleet takes minutes to even out after a
/// worker comes back.
const RUN_KCL3: Duration = Duration::from_secs(900);
/// No fault starts after this; the rest of the run is for the fleet to settle.
const CALM: Duration = Duration::from_secs(420);
/// A consumer's processing step: ten records of its shard.
const STEP: Duration = Duration::from_secs(1);
const RECORDS_PER_STEP: i64 = 10;
/// No reshard starts later than this before the calm: the children of the last ones (and
/// theirs) are processed, each after its parents, before the run ends.
const LAST_RESHARD: Duration = Duration::from_secs(120);
/// The open shards stay within these bounds: a split below the upper one, a merge above the
/// lower one.
const OPEN_SHARDS: (usize, usize) = (4, 12);
/// How often a worker reads the shard list (the consumer's default shard sync interval).
const SHARD_SYNC: Duration = Duration::from_secs(60);

// === seeded randomness ===

/// splitmix64: a small, seedable generator whose sequence is the same everywhere.
#[derive(Debug)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// Uniform in `0.0..1.0`.
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `lo..=hi` seconds.
    fn secs(&mut self, lo: u64, hi: u64) -> Duration {
        Duration::from_secs(lo + self.below(hi - lo + 1))
    }
}

// === the world: the table, the faults, the observations ===

/// A burst of lease table failures.
#[derive(Clone, Copy, Debug)]
struct Burst {
    until: Instant,
    /// Share of calls failed before they reach the table.
    before: f64,
    /// Share of writes applied whose answer is lost (reported as failed).
    ambiguous: f64,
}

#[derive(Debug)]
struct World {
    table: InMemoryLeaseRepository,
    start: Instant,
    renew: Duration,
    failover: Duration,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    rng: Rng,
    burst: Option<Burst>,
    /// Per shard: its owner in the table, since when (changes seen by the wrapper), and the
    /// owner handing it over (`checkpointOwner`, KCL 3.x) if any.
    owners: BTreeMap<String, (Option<String>, Instant, Option<String>)>,
    /// Per shard: the position of the last checkpoint written (-1: TRIM_HORIZON).
    checkpoints: BTreeMap<String, i64>,
    /// Per worker: when it last woke up from a pause.
    woke: BTreeMap<String, Instant>,
    /// Per worker and shard: when the worker's last write of the lease succeeded.
    written: BTreeMap<(String, String), Instant>,
    /// Per closed shard: the position of its last record.
    ends: BTreeMap<String, i64>,
    /// Per shard created by a reshard: its parents.
    parents: BTreeMap<String, Vec<String>>,
    /// The shards whose `SHARD_END` was written.
    finished: std::collections::BTreeSet<String>,
    /// Per shard: the furthest position any worker processed.
    processed: BTreeMap<String, i64>,
    violations: Vec<String>,
    trace: Vec<String>,
    counts: Counts,
}

#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    failed_before: u64,
    ambiguous: u64,
    stale_writes_refused: u64,
    checkpoints: u64,
    steps: u64,
    crashes: u64,
    pauses: u64,
    restarts: u64,
    splits: u64,
    merges: u64,
    shard_ends: u64,
    leases_deleted: u64,
}

impl World {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn at(&self) -> f64 {
        (Instant::now() - self.start).as_secs_f64()
    }

    fn trace(&self, line: String) {
        let at = self.at();
        self.state().trace.push(format!("{at:9.3} {line}"));
    }

    fn violation(&self, line: String) {
        let at = self.at();
        let mut st = self.state();
        st.trace.push(format!("{at:9.3} VIOLATION {line}"));
        st.violations.push(format!("at {at:.3} s: {line}"));
    }

    /// `SHARD_END` of `key` was written by `worker`: the shard is closed and its last record
    /// was processed.
    fn shard_ended(&self, worker: &str, key: &str) {
        let mut st = self.state();
        let (end, processed) = (st.ends.get(key).copied(), st.processed.get(key).copied());
        if st.finished.insert(key.to_owned()) {
            st.counts.shard_ends += 1;
        }
        drop(st);
        match end {
            None => self.violation(format!("{worker} wrote SHARD_END of {key}, which is open")),
            Some(end) if processed != Some(end) => self.violation(format!(
                "{worker} wrote SHARD_END of {key} ending at {end}, processed to {processed:?}"
            )),
            Some(_) => self.trace(format!("{worker} finished {key}")),
        }
    }

    /// The parents of `key` whose `SHARD_END` is not written yet.
    fn unfinished_parents(&self, key: &str) -> Vec<String> {
        let st = self.state();
        st.parents
            .get(key)
            .into_iter()
            .flatten()
            .filter(|p| !st.finished.contains(*p))
            .cloned()
            .collect()
    }

    /// The shards created from `key` by a reshard.
    fn children(&self, key: &str) -> Vec<kinesis_client::ShardId> {
        self.state()
            .parents
            .iter()
            .filter(|(_, parents)| parents.iter().any(|p| p == key))
            .map(|(child, _)| child.parse().expect("a shard id"))
            .collect()
    }

    /// Notes the lease as the table holds it after a successful write.
    fn note_owner(&self, lease: &Lease) {
        let mut st = self.state();
        let key = lease.lease_key.to_string();
        let since = match st.owners.get(&key) {
            Some((owner, since, _)) if *owner == lease.lease_owner => *since,
            _ => Instant::now(),
        };
        st.owners.insert(
            key,
            (
                lease.lease_owner.clone(),
                since,
                lease.checkpoint_owner.clone(),
            ),
        );
    }
}

/// The position a checkpoint stands for: -1 for TRIM_HORIZON, `i64::MAX` for SHARD_END (after
/// every record), else its sequence number.
fn position(checkpoint: &Checkpoint) -> i64 {
    match checkpoint {
        Checkpoint::Sequence(s) => s.sequence_number().as_str().parse().expect("numeric"),
        Checkpoint::Sentinel(Sentinel::TrimHorizon) => -1,
        Checkpoint::Sentinel(Sentinel::ShardEnd) => i64::MAX,
        other => panic!("unexpected checkpoint {other:?}"),
    }
}

/// What the fault roll said for one call.
enum Roll {
    Pass,
    /// Apply the write, then report it failed.
    LoseAnswer,
}

/// Whether a worker's process is stopped (SIGSTOP): what it does waits until it runs again.
/// (A `watch` channel would do, but it wakes its waiters in a random order; this wakes them
/// in the order they started waiting, so that a run replays exactly.)
#[derive(Debug, Default)]
struct Gate {
    stopped: Mutex<bool>,
    resumed: Notify,
}

impl Gate {
    fn set(&self, stopped: bool) {
        *self.stopped.lock().unwrap_or_else(PoisonError::into_inner) = stopped;
        if !stopped {
            self.resumed.notify_waiters();
        }
    }

    fn is_stopped(&self) -> bool {
        *self.stopped.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Returns once the process runs.
    async fn pass(&self) {
        loop {
            let resumed = self.resumed.notified();
            tokio::pin!(resumed);
            resumed.as_mut().enable();
            if !*self.stopped.lock().unwrap_or_else(PoisonError::into_inner) {
                return;
            }
            resumed.await;
        }
    }
}

/// One worker's view of the lease table: every call waits while the worker is paused, and
/// may fail during a burst.
#[derive(Debug)]
struct WorkerTable {
    world: Arc<World>,
    worker: String,
    paused: Arc<Gate>,
}

impl WorkerTable {
    async fn enter(&self, method: &str, write: bool) -> Result<Roll, LeaseError> {
        self.paused.pass().await;
        if std::env::var_os("SIM_TRACE_CALLS").is_some() {
            self.world.trace(format!("{} calls {method}", self.worker));
        }
        let now = Instant::now();
        let mut st = self.world.state();
        let Some(burst) = st.burst.filter(|b| b.until > now) else {
            return Ok(Roll::Pass);
        };
        let roll = st.rng.unit();
        if roll < burst.before {
            st.counts.failed_before += 1;
            return Err(LeaseError::new(
                LeaseErrorKind::Storage,
                None,
                format!(
                    "injected: {method} of {} failed before the table",
                    self.worker
                ),
            ));
        }
        if write && roll < burst.before + burst.ambiguous {
            st.counts.ambiguous += 1;
            return Ok(Roll::LoseAnswer);
        }
        Ok(Roll::Pass)
    }

    /// The answer of a write, seen by the worker once it runs: a worker stopped while its
    /// answer was on the way reads it when it wakes, however old it is by then.
    async fn leave(
        &self,
        method: &str,
        roll: Roll,
        result: Result<Lease, LeaseError>,
    ) -> Result<Lease, LeaseError> {
        self.paused.pass().await;
        if let Ok(lease) = &result {
            self.world.note_owner(lease);
            self.world.state().written.insert(
                (self.worker.clone(), lease.lease_key.to_string()),
                Instant::now(),
            );
        }
        match (roll, result) {
            (Roll::LoseAnswer, Ok(lease)) => {
                self.world.trace(format!(
                    "{} {method} {} applied, answer lost",
                    self.worker, lease.lease_key
                ));
                Err(LeaseError::new(
                    LeaseErrorKind::Storage,
                    Some(&lease.lease_key),
                    format!(
                        "injected: the answer to {method} of {} was lost",
                        self.worker
                    ),
                ))
            }
            (_, result) => result,
        }
    }
}

impl LeaseRepository for WorkerTable {
    fn ensure_table(&self) -> BoxFuture<'_, Result<bool, LeaseError>> {
        Box::pin(async move {
            self.enter("ensure_table", false).await?;
            self.world.table.ensure_table().await
        })
    }

    fn list_leases(&self) -> BoxFuture<'_, Result<LeaseScan, LeaseError>> {
        Box::pin(async move {
            self.enter("list_leases", false).await?;
            self.world.table.list_leases().await
        })
    }

    fn get_lease<'a>(
        &'a self,
        key: &'a LeaseKey,
    ) -> BoxFuture<'a, Result<Option<Lease>, LeaseError>> {
        Box::pin(async move {
            self.enter("get_lease", false).await?;
            self.world.table.get_lease(key).await
        })
    }

    fn create_lease<'a>(&'a self, lease: &'a Lease) -> BoxFuture<'a, Result<Lease, LeaseError>> {
        Box::pin(async move {
            let roll = self.enter("create_lease", true).await?;
            let result = self.world.table.create_lease(lease).await;
            self.leave("create_lease", roll, result).await
        })
    }

    fn take_lease<'a>(
        &'a self,
        lease: &'a Lease,
        owner: &'a str,
    ) -> BoxFuture<'a, Result<Lease, LeaseError>> {
        Box::pin(async move {
            let roll = self.enter("take_lease", true).await?;
            let result = self.world.table.take_lease(lease, owner).await;
            if result.is_ok() {
                self.world
                    .trace(format!("{} took {}", self.worker, lease.lease_key));
            }
            self.leave("take_lease", roll, result).await
        })
    }

    fn renew_lease<'a>(&'a self, lease: &'a Lease) -> BoxFuture<'a, Result<Lease, LeaseError>> {
        Box::pin(async move {
            let roll = self.enter("renew_lease", true).await?;
            let result = self.world.table.renew_lease(lease).await;
            self.leave("renew_lease", roll, result).await
        })
    }

    fn update_checkpoint<'a>(
        &'a self,
        lease: &'a Lease,
        update: CheckpointUpdate,
    ) -> BoxFuture<'a, Result<Lease, LeaseError>> {
        Box::pin(async move {
            let roll = self.enter("update_checkpoint", true).await?;
            // The table as it is when the write arrives (nothing else runs in between: one
            // thread, and the in-memory table answers without waiting).
            let before = self
                .world
                .table
                .get_lease(&lease.lease_key)
                .await?
                .expect("a checkpointed lease exists");
            let result = self.world.table.update_checkpoint(lease, update).await;
            let key = lease.lease_key.to_string();
            match &result {
                Ok(written) => {
                    let at = position(&written.checkpoint);
                    if written.checkpoint.is_shard_end() {
                        self.world.shard_ended(&self.worker, &key);
                    }
                    // The owner, or (KCL 3.x) the owner handing it over, with its last one.
                    let me = Some(self.worker.as_str());
                    if before.lease_owner.as_deref() != me
                        && before.checkpoint_owner.as_deref() != me
                    {
                        self.world.violation(format!(
                            "{} wrote checkpoint {at} of {key} owned by {:?}",
                            self.worker, before.lease_owner
                        ));
                    }
                    let mut st = self.world.state();
                    st.counts.checkpoints += 1;
                    let last = st.checkpoints.get(&key).copied().unwrap_or(-1);
                    drop(st);
                    if at < last {
                        self.world.violation(format!(
                            "{} moved the checkpoint of {key} back from {last} to {at}",
                            self.worker
                        ));
                    }
                    self.world.state().checkpoints.insert(key, at);
                }
                Err(e) if e.is_lease_lost() => {
                    self.world.state().counts.stale_writes_refused += 1;
                    self.world.trace(format!(
                        "{} checkpoint of {key} refused (owner {:?})",
                        self.worker, before.lease_owner
                    ));
                }
                Err(_) => {}
            }
            self.leave("update_checkpoint", roll, result).await
        })
    }

    fn release_lease<'a>(&'a self, lease: &'a Lease) -> BoxFuture<'a, Result<Lease, LeaseError>> {
        Box::pin(async move {
            let roll = self.enter("release_lease", true).await?;
            let result = self.world.table.release_lease(lease).await;
            self.leave("release_lease", roll, result).await
        })
    }

    fn delete_lease<'a>(&'a self, lease: &'a Lease) -> BoxFuture<'a, Result<(), LeaseError>> {
        Box::pin(async move {
            self.enter("delete_lease", true).await?;
            let before = self.world.table.get_lease(&lease.lease_key).await?;
            let result = self.world.table.delete_lease(lease).await;
            if result.is_ok()
                && let Some(row) = before
            {
                self.world.state().counts.leases_deleted += 1;
                self.world
                    .trace(format!("{} deleted {}", self.worker, row.lease_key));
                if !row.checkpoint.is_shard_end() {
                    self.world.violation(format!(
                        "{} deleted the lease of {}, at {:?}, not finished",
                        self.worker, row.lease_key, row.checkpoint
                    ));
                }
            }
            result
        })
    }

    fn kcl3(&self) -> Option<&dyn Kcl3Repository> {
        Some(self)
    }
}

impl WorkerTable {
    /// The in-memory table's KCL 3.x rows and writes.
    fn rows(&self) -> &dyn Kcl3Repository {
        self.world
            .table
            .kcl3()
            .expect("the in-memory table stores KCL 3.x rows")
    }

    /// A write without a lease in its answer: applied, then reported failed when its answer
    /// is lost.
    async fn leave_unit(
        &self,
        method: &str,
        roll: Roll,
        result: Result<(), LeaseError>,
    ) -> Result<(), LeaseError> {
        self.paused.pass().await;
        match (roll, result) {
            (Roll::LoseAnswer, Ok(())) => Err(LeaseError::new(
                LeaseErrorKind::Storage,
                None,
                format!(
                    "injected: the answer to {method} of {} was lost",
                    self.worker
                ),
            )),
            (_, result) => result,
        }
    }
}

/// The KCL 3.x rows and writes, through the same pauses and failures.
impl Kcl3Repository for WorkerTable {
    fn ensure_lease_owner_index(&self) -> BoxFuture<'_, Result<bool, LeaseError>> {
        Box::pin(async move {
            self.enter("ensure_lease_owner_index", false).await?;
            self.rows().ensure_lease_owner_index().await
        })
    }

    fn lease_keys_of<'a>(
        &'a self,
        owner: &'a str,
    ) -> BoxFuture<'a, Result<Vec<LeaseKey>, LeaseError>> {
        Box::pin(async move {
            self.enter("lease_keys_of", false).await?;
            self.rows().lease_keys_of(owner).await
        })
    }

    fn scan_fleet(&self) -> BoxFuture<'_, Result<FleetScan, LeaseError>> {
        Box::pin(async move {
            self.enter("scan_fleet", false).await?;
            self.rows().scan_fleet().await
        })
    }

    fn put_worker_metrics<'a>(
        &'a self,
        stats: &'a WorkerMetricStats,
    ) -> BoxFuture<'a, Result<(), LeaseError>> {
        Box::pin(async move {
            let roll = self.enter("put_worker_metrics", true).await?;
            let result = self.rows().put_worker_metrics(stats).await;
            self.leave_unit("put_worker_metrics", roll, result).await
        })
    }

    fn assign_lease<'a>(
        &'a self,
        lease: &'a Lease,
        owner: &'a str,
    ) -> BoxFuture<'a, Result<Lease, LeaseError>> {
        Box::pin(async move {
            let roll = self.enter("assign_lease", true).await?;
            let result = self.rows().assign_lease(lease, owner).await;
            if result.is_ok() {
                self.world.trace(format!(
                    "{} assigned {} to {owner}",
                    self.worker, lease.lease_key
                ));
            }
            self.leave("assign_lease", roll, result).await
        })
    }

    fn start_handoff<'a>(
        &'a self,
        lease: &'a Lease,
        to: &'a str,
    ) -> BoxFuture<'a, Result<Lease, LeaseError>> {
        Box::pin(async move {
            let roll = self.enter("start_handoff", true).await?;
            let result = self.rows().start_handoff(lease, to).await;
            if result.is_ok() {
                self.world.trace(format!(
                    "{} hands {} over to {to}",
                    self.worker, lease.lease_key
                ));
            }
            self.leave("start_handoff", roll, result).await
        })
    }

    fn complete_handoff<'a>(
        &'a self,
        lease: &'a Lease,
        from: &'a str,
    ) -> BoxFuture<'a, Result<Lease, LeaseError>> {
        Box::pin(async move {
            let roll = self.enter("complete_handoff", true).await?;
            let result = self.rows().complete_handoff(lease, from).await;
            self.leave("complete_handoff", roll, result).await
        })
    }

    fn get_row<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Item>, LeaseError>> {
        Box::pin(async move {
            self.enter("get_row", false).await?;
            self.rows().get_row(key).await
        })
    }

    fn put_row<'a>(
        &'a self,
        item: Item,
        condition: RowCondition,
    ) -> BoxFuture<'a, Result<(), LeaseError>> {
        Box::pin(async move {
            let roll = self.enter("put_row", true).await?;
            let result = self.rows().put_row(item, condition).await;
            self.leave_unit("put_row", roll, result).await
        })
    }

    fn delete_row<'a>(
        &'a self,
        key: &'a str,
        condition: RowCondition,
    ) -> BoxFuture<'a, Result<(), LeaseError>> {
        Box::pin(async move {
            let roll = self.enter("delete_row", true).await?;
            let result = self.rows().delete_row(key, condition).await;
            self.leave_unit("delete_row", roll, result).await
        })
    }
}

// === workers ===

/// A worker process: its coordinator and the tasks of its consumer.
struct Worker {
    id: String,
    coordinator: Option<LeaseCoordinator>,
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
    paused: Arc<Gate>,
    /// Incarnations started, for the strategy's seed.
    incarnation: u64,
    /// When it reads the shard list next.
    next_sync: Instant,
    /// Set when it ended a shard: it reads the shard list at once.
    sync_wanted: Arc<AtomicBool>,
}

struct Fleet {
    world: Arc<World>,
    /// The stream's shards, closed ones included.
    shards: Vec<ShardInfo>,
    /// The number of the next shard a reshard creates.
    next_shard: usize,
    settings: CoordinatorSettings,
    workers: Vec<Worker>,
    seed: u64,
}

impl Fleet {
    /// Starts worker `index` (again, after a crash or a shutdown).
    async fn start(&mut self, index: usize) {
        let world = Arc::clone(&self.world);
        let seed = self.seed;
        let w = &mut self.workers[index];
        w.incarnation += 1;
        let table = WorkerTable {
            world: Arc::clone(&world),
            worker: w.id.clone(),
            paused: Arc::clone(&w.paused),
        };
        let c = LeaseCoordinator::builder(Arc::new(table), w.id.clone())
            .strategy(Arc::new(Balanced::with_seed(
                seed.wrapping_mul(1000) + index as u64 * 10 + w.incarnation,
            )))
            .settings(self.settings.clone())
            .build();
        c.update_shards(self.shards.iter());
        w.next_sync = Instant::now() + world.state().rng.secs(1, SHARD_SYNC.as_secs());
        let mut acquisitions = c.acquisitions().expect("first call");
        let tasks = Arc::clone(&w.tasks);
        let (id, paused) = (w.id.clone(), Arc::clone(&w.paused));
        let sync_wanted = Arc::clone(&w.sync_wanted);
        let consumer = tokio::spawn(async move {
            while let Some(acquired) = acquisitions.recv().await {
                let task = tokio::spawn(process(
                    Arc::clone(&world),
                    id.clone(),
                    Arc::clone(&paused),
                    Arc::clone(&sync_wanted),
                    acquired,
                ));
                tasks
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(task);
            }
        });
        w.tasks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(consumer);
        self.world.trace(format!("{} starts", w.id));
        // A table failure at start is retried, as a supervisor would restart the process.
        loop {
            match c.start().await {
                Ok(()) => break,
                Err(e) => {
                    self.world
                        .trace(format!("{} start failed: {e}; again in 1 s", w.id));
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
        w.coordinator = Some(c);
    }

    /// Kills worker `index` (SIGKILL): nothing is released, its consumer stops at once.
    fn crash(&mut self, index: usize) {
        let w = &mut self.workers[index];
        self.world.trace(format!("{} crashes", w.id));
        w.coordinator = None;
        for task in w
            .tasks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .drain(..)
        {
            task.abort();
        }
    }

    /// Shuts worker `index` down gracefully (its leases checkpointed and released).
    async fn stop(&mut self, index: usize) {
        let w = &mut self.workers[index];
        self.world.trace(format!("{} shuts down", w.id));
        if let Some(c) = w.coordinator.take() {
            c.shutdown().await;
        }
        for task in w
            .tasks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .drain(..)
        {
            task.abort();
        }
    }

    fn live(&self) -> Vec<usize> {
        (0..self.workers.len())
            .filter(|&i| self.workers[i].coordinator.is_some())
            .collect()
    }

    /// The running workers read the shard list when their sync is due (or wanted at once).
    fn sync_shards(&mut self, now: Instant) {
        for w in &mut self.workers {
            let Some(c) = &w.coordinator else { continue };
            if w.paused.is_stopped() {
                continue;
            }
            if now >= w.next_sync || w.sync_wanted.swap(false, Ordering::Relaxed) {
                c.update_shards(self.shards.iter());
                w.next_sync = now + SHARD_SYNC;
            }
        }
    }

    /// Splits an open shard in two (`pick` chooses it), or merges two (when `merge` and there
    /// are enough), of the shards whose own parents finished. Each parent ends a little past the furthest any worker processed it: the
    /// records written before the reshard.
    fn reshard(&mut self, pick: u64, merge: bool) {
        let world = Arc::clone(&self.world);
        let mut st = world.state();
        let open: Vec<&ShardInfo> = self
            .shards
            .iter()
            .filter(|s| !st.ends.contains_key(s.id.as_str()))
            .collect();
        let merge = (merge && open.len() > OPEN_SHARDS.0) || open.len() >= OPEN_SHARDS.1;
        // Only shards whose parents finished: a chain of reshards on shards not yet read would
        // take longer to work through than the calm lasts.
        let open: Vec<&ShardInfo> = open
            .into_iter()
            .filter(|s| s.parents.iter().all(|p| st.finished.contains(p.as_str())))
            .collect();
        if open.len() < if merge { 2 } else { 1 } {
            return;
        }
        let n = open.len() as u64;
        let first = (pick % n) as usize;
        let parents: Vec<kinesis_client::ShardId> = if merge {
            let second = (first + 1 + ((pick / n) % (n - 1)) as usize) % open.len();
            vec![open[first].id.clone(), open[second].id.clone()]
        } else {
            vec![open[first].id.clone()]
        };
        for parent in &parents {
            let processed = st.processed.get(parent.as_str()).copied().unwrap_or(-1);
            let end = processed + 1 + st.rng.below(100) as i64;
            st.ends.insert(parent.to_string(), end);
        }
        let mut children = Vec::new();
        for _ in 0..if merge { 1 } else { 2 } {
            let id: kinesis_client::ShardId = format!("shardId-{:012}", self.next_shard)
                .parse()
                .expect("a shard id");
            self.next_shard += 1;
            let child = parents
                .iter()
                .fold(ShardInfo::new(id.clone()), |c, p| c.with_parent(p.clone()));
            st.parents.insert(
                id.to_string(),
                parents.iter().map(ToString::to_string).collect(),
            );
            children.push(id.to_string());
            self.shards.push(child);
        }
        if merge {
            st.counts.merges += 1;
        } else {
            st.counts.splits += 1;
        }
        let ends: Vec<String> = parents
            .iter()
            .map(|p| format!("{p} at {}", st.ends[p.as_str()]))
            .collect();
        drop(st);
        world.trace(format!(
            "{} ends {}: children {}",
            if merge { "merge" } else { "split" },
            ends.join(", "),
            children.join(", ")
        ));
    }
}

/// A worker's consumer of one shard: from the lease's checkpoint, a step of records every
/// second, a checkpoint every other step; stops when the lease ends (with a final checkpoint
/// and release when asked to), or at the shard's last record (its checkpoint `SHARD_END`).
async fn process(
    world: Arc<World>,
    worker: String,
    paused: Arc<Gate>,
    sync_wanted: Arc<AtomicBool>,
    acquired: AcquiredLease,
) {
    let AcquiredLease {
        lease_key,
        checkpoint,
        mut signal,
        checkpointer,
        ..
    } = acquired;
    let key = lease_key.to_string();
    if checkpoint.is_shard_end() {
        world.violation(format!("{worker} was handed {key}, which is finished"));
        return;
    }
    let unfinished = world.unfinished_parents(&key);
    if !unfinished.is_empty() {
        world.violation(format!(
            "{worker} was handed {key} before its parents {unfinished:?} finished"
        ));
    }
    let resumed = position(&checkpoint);
    let last = world.state().checkpoints.get(&key).copied().unwrap_or(-1);
    if resumed != last {
        world.violation(format!(
            "{worker} resumed {key} from {resumed}, the last checkpoint written is {last}"
        ));
    }
    world.trace(format!("{worker} processes {key} from {resumed}"));
    let mut next = resumed + 1;
    let mut steps = 0u64;
    loop {
        tokio::select! {
            biased;
            status = signal.ended() => {
                world.trace(format!("{worker} stops {key}: {status:?}"));
                if matches!(status, LeaseStatus::ShuttingDown | LeaseStatus::HandedOver) {
                    let _ = checkpointer.checkpoint_and_release().await;
                }
                return;
            }
            () = tokio::time::sleep(STEP) => {}
        }
        // A stopped process does nothing.
        paused.pass().await;
        if signal.status() != LeaseStatus::Held {
            continue;
        }
        check_owner(&world, &worker, &lease_key);
        let end = world.state().ends.get(&key).copied();
        let unfinished = world.unfinished_parents(&key);
        if !unfinished.is_empty() {
            world.violation(format!(
                "{worker} processed {key} before its parents {unfinished:?} finished"
            ));
        }
        let last = (next - 1 + RECORDS_PER_STEP).min(end.unwrap_or(i64::MAX));
        next = last + 1;
        steps += 1;
        {
            let mut st = world.state();
            st.counts.steps += 1;
            let processed = st.processed.entry(key.clone()).or_insert(-1);
            *processed = (*processed).max(last);
        }
        let position = ExtendedSequenceNumber::plain(last.to_string().parse().expect("numeric"));
        checkpointer.stage(position.clone());
        if end == Some(last) {
            // The shard's end: its checkpoint becomes SHARD_END, the lease stays held until
            // its cleanup, and the worker reads the shard list for the children.
            world.trace(format!("{worker} reached the end of {key} at {last}"));
            checkpointer.mark_shard_end(Some(position), world.children(&key));
            sync_wanted.store(true, Ordering::Relaxed);
            // As the consumer does: written again while the lease is held.
            while let Err(e) = checkpointer.checkpoint_and_release().await {
                world.trace(format!("{worker} SHARD_END of {key} failed: {e}"));
                if e.is_lease_lost() || signal.status() != LeaseStatus::Held {
                    break;
                }
                tokio::time::sleep(STEP).await;
                paused.pass().await;
            }
            return;
        }
        if steps.is_multiple_of(2)
            && let Err(e) = checkpointer.checkpoint().await
        {
            world.trace(format!("{worker} checkpoint of {key} failed: {e}"));
        }
    }
}

/// A worker processed `key`: it owns it in the table; or it lost it (or woke up) less than a
/// renew interval (plus a step) ago, when its next write would have told it; or, while its
/// writes fail, its last successful write of the lease is less than the failover time (plus
/// the renew pass that notices, plus a step) ago: a worker that cannot reach the table cannot
/// know, and keeps the lease until its own view says it expired.
fn check_owner(world: &World, worker: &str, key: &LeaseKey) {
    let st = world.state();
    let Some((owner, since, handing_over)) = st.owners.get(&key.to_string()).cloned() else {
        return;
    };
    if owner.as_deref() == Some(worker) || handing_over.as_deref() == Some(worker) {
        return;
    }
    let woke = st.woke.get(worker).copied().unwrap_or(world.start);
    let written = st
        .written
        .get(&(worker.to_owned(), key.to_string()))
        .copied()
        .unwrap_or(world.start);
    drop(st);
    let now = Instant::now();
    let late = now - since.max(woke);
    let unwritten = now - written.max(woke);
    if late > world.renew + STEP && unwritten > world.failover + world.renew + STEP {
        world.violation(format!(
            "{worker} processed {key} {:.1} s after {owner:?} owned it (its last write of it {:.1} s ago)",
            late.as_secs_f64(),
            unwritten.as_secs_f64()
        ));
    }
}

// === one run ===

/// What one seed's run found.
struct Outcome {
    violations: Vec<String>,
    trace: Vec<String>,
    counts: Counts,
}

/// The lease rules the fleet runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Rules {
    /// The KCL 2.x rules: every worker takes and steals on its own.
    Kcl2,
    /// The KCL 3.x rules: an elected leader assigns, and hands leases over after their last
    /// checkpoint.
    Kcl3,
}

impl Rules {
    fn settings(self) -> CoordinatorSettings {
        let settings =
            CoordinatorSettings::default().with_initial_position(InitialPosition::TrimHorizon);
        match self {
            Rules::Kcl2 => settings,
            Rules::Kcl3 => settings.with_protocol(LeaseProtocol::Kcl3(
                Kcl3Settings::default().with_cpu_metric(false),
            )),
        }
    }

    /// How long a simulation under these rules runs.
    fn run(self) -> Duration {
        match self {
            Rules::Kcl2 => RUN,
            Rules::Kcl3 => RUN_KCL3,
        }
    }

    /// Whether `count` of `n` leases over `w` workers is where the rules leave a worker: ⌊n/w⌋
    /// or ⌈n/w⌉; under the KCL 3.x leader's (each idle lease one unit of load), that or within
    /// its rebalance threshold (±10 %) of the average.
    fn balanced(self, count: usize, n: usize, w: usize) -> bool {
        if (n / w..=n.div_ceil(w)).contains(&count) {
            return true;
        }
        let average = n as f64 / w as f64;
        self == Rules::Kcl3 && (average * 0.9..=average * 1.1).contains(&(count as f64))
    }
}

fn simulate(seed: u64, rules: Rules) -> Outcome {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a runtime");
    runtime.block_on(run(seed, rules))
}

async fn run(seed: u64, rules: Rules) -> Outcome {
    let settings = rules.settings();
    let world = Arc::new(World {
        table: InMemoryLeaseRepository::new(),
        start: Instant::now(),
        renew: settings.renew_interval(),
        failover: settings.failover_time(),
        state: Mutex::new(State {
            rng: Rng(seed),
            burst: None,
            owners: BTreeMap::new(),
            checkpoints: BTreeMap::new(),
            woke: BTreeMap::new(),
            written: BTreeMap::new(),
            ends: BTreeMap::new(),
            parents: BTreeMap::new(),
            finished: std::collections::BTreeSet::new(),
            processed: BTreeMap::new(),
            violations: Vec::new(),
            trace: Vec::new(),
            counts: Counts::default(),
        }),
    });
    let workers = 2 + world.state().rng.below(4) as usize;
    let mut fleet = Fleet {
        world: Arc::clone(&world),
        shards: (0..SHARDS)
            .map(|i| ShardInfo::new(format!("shardId-{i:012}").parse().expect("a shard id")))
            .collect(),
        next_shard: SHARDS,
        settings,
        workers: (0..workers)
            .map(|i| Worker {
                id: format!("w{i}"),
                coordinator: None,
                tasks: Arc::default(),
                paused: Arc::default(),
                incarnation: 0,
                next_sync: world.start,
                sync_wanted: Arc::default(),
            })
            .collect(),
        seed,
    };
    for i in 0..workers {
        fleet.start(i).await;
        tokio::time::sleep(Duration::from_millis(137)).await;
    }

    // The schedule: a fault every 15 to 45 s until the calm.
    let mut pending_restarts: Vec<(Instant, usize)> = Vec::new();
    let mut pending_wakes: Vec<(Instant, usize)> = Vec::new();
    let calm = world.start + CALM;
    let mut next_fault = world.start + world.state().rng.secs(15, 45);
    loop {
        let now = Instant::now();
        // Wake and restart what is due.
        for (at, i) in std::mem::take(&mut pending_wakes) {
            if at <= now {
                world.trace(format!("{} wakes up", fleet.workers[i].id));
                world
                    .state()
                    .woke
                    .insert(fleet.workers[i].id.clone(), Instant::now());
                fleet.workers[i].paused.set(false);
            } else {
                pending_wakes.push((at, i));
            }
        }
        for (at, i) in std::mem::take(&mut pending_restarts) {
            if at <= now {
                fleet.start(i).await;
            } else {
                pending_restarts.push((at, i));
            }
        }
        fleet.sync_shards(now);
        if now >= world.start + rules.run() {
            break;
        }
        if now >= next_fault && now < calm {
            let busy: Vec<usize> = pending_restarts
                .iter()
                .chain(&pending_wakes)
                .map(|&(_, i)| i)
                .collect();
            let idle: Vec<usize> = fleet
                .live()
                .into_iter()
                .filter(|i| !busy.contains(i))
                .collect();
            let (kind, pick, a, b, c) = {
                let mut st = world.state();
                (
                    st.rng.below(5),
                    st.rng.next(),
                    st.rng.secs(5, 40),
                    st.rng.unit(),
                    st.rng.unit(),
                )
            };
            match kind {
                0 if !idle.is_empty() => {
                    let i = idle[(pick % idle.len() as u64) as usize];
                    fleet.crash(i);
                    world.state().counts.crashes += 1;
                    pending_restarts.push((now + a, i));
                }
                1 if !idle.is_empty() => {
                    // Longer than the failover time: its leases expire meanwhile.
                    let i = idle[(pick % idle.len() as u64) as usize];
                    let pause = a + Duration::from_secs(10);
                    world.trace(format!(
                        "{} pauses for {} s",
                        fleet.workers[i].id,
                        pause.as_secs()
                    ));
                    world.state().counts.pauses += 1;
                    fleet.workers[i].paused.set(true);
                    pending_wakes.push((now + pause, i));
                }
                2 if !idle.is_empty() => {
                    let i = idle[(pick % idle.len() as u64) as usize];
                    fleet.stop(i).await;
                    world.state().counts.restarts += 1;
                    pending_restarts.push((Instant::now() + a / 4, i));
                }
                3 if now + LAST_RESHARD < calm => fleet.reshard(pick, b < 0.5),
                _ => {
                    let burst = Burst {
                        until: now + a / 2,
                        before: 0.1 + 0.4 * b,
                        ambiguous: 0.1 * c,
                    };
                    world.trace(format!(
                        "table failures for {} s: {:.0} % before, {:.0} % answers lost",
                        (a / 2).as_secs(),
                        burst.before * 100.0,
                        burst.ambiguous * 100.0
                    ));
                    world.state().burst = Some(burst);
                }
            }
            next_fault = now + world.state().rng.secs(15, 45);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    // Settled: every open shard owned by a live worker, every closed one finished, the fleet
    // balanced.
    let scan = world.table.list_leases().await.expect("the table");
    let live: Vec<String> = fleet
        .live()
        .into_iter()
        .map(|i| fleet.workers[i].id.clone())
        .collect();
    let (ends, finished) = {
        let st = world.state();
        (st.ends.clone(), st.finished.clone())
    };
    let open: Vec<String> = fleet
        .shards
        .iter()
        .map(|s| s.id.to_string())
        .filter(|s| !ends.contains_key(s))
        .collect();
    let mut counts: BTreeMap<&str, usize> = live.iter().map(|w| (w.as_str(), 0)).collect();
    let mut leased = Vec::new();
    for lease in &scan.leases {
        let key = lease.lease_key.to_string();
        if lease.checkpoint.is_shard_end() {
            continue;
        }
        if ends.contains_key(&key) {
            world.violation(format!(
                "{key} is closed and still at {:?} after the faults stopped",
                lease.checkpoint
            ));
            continue;
        }
        leased.push(key);
        if lease.checkpoint_owner.is_some() {
            world.violation(format!(
                "{} still handed over from {:?} after the faults stopped",
                lease.lease_key, lease.checkpoint_owner
            ));
        }
        match lease.lease_owner.as_deref().and_then(|o| counts.get_mut(o)) {
            Some(n) => *n += 1,
            None => world.violation(format!(
                "{} owned by {:?} after the faults stopped (live: {live:?})",
                lease.lease_key, lease.lease_owner
            )),
        }
    }
    leased.sort();
    if leased != open {
        world.violation(format!(
            "leases of unfinished shards {leased:?}, open shards {open:?}"
        ));
    }
    let unfinished: Vec<&String> = ends.keys().filter(|k| !finished.contains(*k)).collect();
    if !unfinished.is_empty() {
        world.violation(format!(
            "closed shards not finished after the faults stopped: {unfinished:?}"
        ));
    }
    if counts
        .values()
        .any(|&n| !rules.balanced(n, open.len(), live.len()))
    {
        world.violation(format!("not balanced after the faults stopped: {counts:?}"));
    }
    for i in fleet.live() {
        fleet.stop(i).await;
    }
    let st = world.state();
    Outcome {
        violations: st.violations.clone(),
        trace: st.trace.clone(),
        counts: st.counts,
    }
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

#[test]
fn no_seed_breaks_the_lease_invariants_under_the_kcl2_rules() {
    sweep(Rules::Kcl2);
}

#[test]
fn no_seed_breaks_the_lease_invariants_under_the_kcl3_rules() {
    sweep(Rules::Kcl3);
}

/// Runs the seeds of the environment under `rules` (see the module documentation).
#[allow(
    clippy::disallowed_methods,
    reason = "the wall-clock budget and the report of how long the seeds took"
)]
fn sweep(rules: Rules) {
    if let Some(seed) = env_u64("SIM_SEED") {
        let outcome = simulate(seed, rules);
        for line in &outcome.trace {
            println!("{line}");
        }
        println!("{:?}", outcome.counts);
        assert!(
            outcome.violations.is_empty(),
            "seed {seed}: {:#?}",
            outcome.violations
        );
        return;
    }
    let first = env_u64("SIM_FIRST_SEED").unwrap_or(1);
    let seeds = env_u64("SIM_SEEDS").unwrap_or(50);
    let budget = env_u64("SIM_BUDGET_SECS").map(Duration::from_secs);
    let started = std::time::Instant::now();
    let mut ran = 0;
    let mut total = Counts::default();
    let mut failures = String::new();
    for seed in first..first + seeds {
        if budget.is_some_and(|b| started.elapsed() > b) {
            break;
        }
        ran += 1;
        let outcome = simulate(seed, rules);
        let c = outcome.counts;
        total.failed_before += c.failed_before;
        total.ambiguous += c.ambiguous;
        total.stale_writes_refused += c.stale_writes_refused;
        total.checkpoints += c.checkpoints;
        total.steps += c.steps;
        total.crashes += c.crashes;
        total.pauses += c.pauses;
        total.restarts += c.restarts;
        total.splits += c.splits;
        total.merges += c.merges;
        total.shard_ends += c.shard_ends;
        total.leases_deleted += c.leases_deleted;
        if !outcome.violations.is_empty() {
            let _ = writeln!(
                failures,
                "{rules:?} seed {seed} (replay: SIM_SEED={seed}): {:#?}",
                outcome.violations
            );
        }
    }
    println!(
        "{rules:?}: {ran} seeds from {first} in {:.1} s: {total:?}",
        started.elapsed().as_secs_f64()
    );
    assert!(failures.is_empty(), "{failures}");
}

#[test]
fn a_seed_replays_exactly() {
    let seeds = env_u64("SIM_SEED").map_or_else(|| vec![4, 7, 19], |s| vec![s]);
    for seed in seeds {
        replays_exactly(seed, Rules::Kcl2);
        replays_exactly(seed, Rules::Kcl3);
    }
}

fn replays_exactly(seed: u64, rules: Rules) {
    let (a, b) = (simulate(seed, rules), simulate(seed, rules));
    assert!(a.counts.crashes + a.counts.pauses + a.counts.restarts > 0);
    if let Some(i) =
        (0..a.trace.len().max(b.trace.len())).find(|&i| a.trace.get(i) != b.trace.get(i))
    {
        panic!(
            "{rules:?} seed {seed} did not replay exactly: line {i} is {:?} then {:?}",
            a.trace.get(i),
            b.trace.get(i)
        );
    }
}
