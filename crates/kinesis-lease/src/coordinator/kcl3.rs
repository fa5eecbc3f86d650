//! The coordinator under the KCL 3.x rules ([`LeaseProtocol::Kcl3`](crate::LeaseProtocol)):
//! reports, discovery of assigned leases, graceful hand-over, leadership and the leader's
//! assignment runs. See [`crate::kcl3`].

use std::sync::OnceLock;

use kinesis_client::telemetry::MetricsLevel;
use kinesis_kcl_compat::fleet::{ClientVersionMigration, MIGRATION_KEY};
use kinesis_kcl_compat::lease::ThroughputKbps;
use kinesis_kcl_compat::metrics::{lease_assignment_manager, lease_discovery};

use super::*;
use crate::kcl3::Kcl3Settings;
use crate::kcl3::assignment::{self, PlannedLease};
use crate::kcl3::clock::EpochClock;
use crate::kcl3::cpu::CpuSampler;
use crate::kcl3::leader::LeaderElection;
use crate::kcl3::metrics::WorkerMetricsReporter;
use crate::repository::{Kcl3Repository, RowCondition};

/// What a failed conditional write of a held lease meant ([`Shared::resolve_conflict`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Conflict {
    /// A KCL 3.x leader moved the lease: hand it over.
    HandOver,
    /// Keep holding it (the row still says so, or could not be read).
    Keep,
    /// Lost to another worker.
    Lost,
}

/// How often a worker of a fleet that still runs 2.x-compatible rules re-reads the migration
/// row (the KCL's `ClientVersionChangeMonitor`).
const MIGRATION_CHECK: Duration = Duration::from_secs(60);

/// The KCL 3.x state of a coordinator.
pub(super) struct Kcl3State {
    pub(super) settings: Kcl3Settings,
    clock: OnceLock<EpochClock>,
    /// Whether the fleet's migration row says 3.x rules (leader assignment).
    fleet_3x: AtomicBool,
    /// Whether it says `CLIENT_VERSION_3X` (no rollback possible: no need to watch the row).
    final_3x: AtomicBool,
    leader: tokio::sync::Mutex<LeaderElection>,
    is_leader: AtomicBool,
    /// Serialises the assignment runs.
    run_lock: tokio::sync::Mutex<()>,
    lam: Mutex<LamMemory>,
    reporter: Mutex<WorkerMetricsReporter>,
}

/// What the leader remembers between its assignment runs.
#[derive(Default)]
struct LamMemory {
    /// Per lease: its counter and when the leader saw it change.
    seen: BTreeMap<LeaseKey, (u64, Instant)>,
    /// Per lease in hand-over: (new owner, previous owner) and when the hand-over times out.
    handoffs: BTreeMap<LeaseKey, ((Option<String>, String), Instant)>,
    runs: u32,
    failures: u32,
}

impl Kcl3State {
    pub(super) fn new(worker_id: &str, settings: Kcl3Settings) -> Self {
        let cpu = if settings.cpu_metric {
            CpuSampler::detect()
        } else {
            None
        };
        Self {
            clock: OnceLock::new(),
            fleet_3x: AtomicBool::new(true),
            final_3x: AtomicBool::new(true),
            run_lock: tokio::sync::Mutex::new(()),
            leader: tokio::sync::Mutex::new(LeaderElection::new(
                worker_id,
                settings.leader_lease_duration,
            )),
            is_leader: AtomicBool::new(false),
            lam: Mutex::new(LamMemory::default()),
            reporter: Mutex::new(WorkerMetricsReporter::new(worker_id, cpu)),
            settings,
        }
    }

    fn clock(&self) -> EpochClock {
        *self.clock.get_or_init(EpochClock::start)
    }

    /// Whether the fleet follows the 3.x rules now.
    pub(super) fn runs_3x(&self) -> bool {
        self.fleet_3x.load(Ordering::Relaxed)
    }
}

impl Shared {
    fn fleet(&self) -> Result<&dyn Kcl3Repository, LeaseError> {
        self.repository.kcl3().ok_or_else(|| {
            LeaseError::new(
                LeaseErrorKind::Unsupported,
                None,
                "the KCL 3.x protocol needs a repository that stores its rows (LeaseRepository::kcl3 is None)",
            )
        })
    }

    /// At start: the index, the migration row, and the fleet's rules.
    pub(super) async fn start_kcl3(&self, k: &Kcl3State) -> Result<(), LeaseError> {
        let fleet = self.fleet()?;
        k.clock();
        fleet.ensure_lease_owner_index().await?;
        let version = match fleet.get_row(MIGRATION_KEY).await? {
            Some(item) => {
                ClientVersionMigration::from_item(&item)
                    .map_err(|e| {
                        LeaseError::new(
                            LeaseErrorKind::CorruptRow,
                            None,
                            format!("the migration row {MIGRATION_KEY} cannot be read: {e}"),
                        )
                        .with_source(e)
                    })?
                    .client_version
            }
            None => {
                // A new application: write the row a KCL 3.x worker writes, so that Java workers
                // joining later run 3.x rules too.
                let row = ClientVersionMigration::new_3x(&self.worker_id, k.clock().millis());
                match fleet.put_row(row.to_item(), RowCondition::Absent).await {
                    Ok(()) => {
                        tracing::info!(worker_id = %self.worker_id, "created the migration row: CLIENT_VERSION_3X");
                        kinesis_kcl_compat::fleet::ClientVersion::V3x
                    }
                    // Another worker wrote it first: its version holds.
                    Err(e) if e.kind() == LeaseErrorKind::ConditionFailed => {
                        match fleet.get_row(MIGRATION_KEY).await? {
                            Some(item) => ClientVersionMigration::from_item(&item)
                                .map(|r| r.client_version)
                                .unwrap_or(kinesis_kcl_compat::fleet::ClientVersion::V3x),
                            None => kinesis_kcl_compat::fleet::ClientVersion::V3x,
                        }
                    }
                    Err(e) => return Err(e),
                }
            }
        };
        let runs_3x = version.runs_3x();
        k.fleet_3x.store(runs_3x, Ordering::Relaxed);
        k.final_3x.store(
            version == kinesis_kcl_compat::fleet::ClientVersion::V3x,
            Ordering::Relaxed,
        );
        if !runs_3x {
            tracing::info!(worker_id = %self.worker_id, version = %version, "the fleet runs a 2.x-compatible version: following the KCL 2.x rules until it migrates");
        }
        Ok(())
    }

    /// The KCL 3.x loops, beside the renewals.
    pub(super) fn spawn_kcl3_loops(
        self: &Arc<Self>,
        k: &Kcl3State,
        tasks: &mut Vec<JoinHandle<()>>,
    ) {
        let failover = self.settings.failover_time();
        let discovery = if k.runs_3x() {
            k.settings.discovery_interval(failover)
        } else {
            self.settings.take_interval()
        };
        tasks.push(
            self.spawn(Arc::clone(self).every(discovery, |c| async move {
                if c.kcl3_state().is_some_and(Kcl3State::runs_3x) {
                    c.discover().await;
                } else {
                    c.refresh_and_take().await;
                }
            })),
        );
        let leader_period = k
            .settings
            .leader_heartbeat
            .min(k.settings.assignment_interval(failover));
        if k.settings.leader_eligible {
            tasks.push(
                self.spawn(Arc::clone(self).every_now(leader_period, |c| async move {
                    c.leader_tick().await;
                })),
            );
        }
        tasks.push(self.spawn(
            Arc::clone(self).every(k.settings.assignment_interval(failover), |c| async move {
                c.assignment_run().await
            }),
        ));
        tasks.push(self.spawn(Arc::clone(self).every(
            k.settings.cpu_sample_interval,
            |c| async move {
                if let Some(k) = c.kcl3_state() {
                    lock(&k.reporter).capture();
                }
            },
        )));
        tasks.push(self.spawn(Arc::clone(self).report_loop(k.settings.worker_metrics_interval)));
        if !k.final_3x.load(Ordering::Relaxed) {
            tasks.push(
                self.spawn(Arc::clone(self).every(MIGRATION_CHECK, |c| async move {
                    c.check_migration().await;
                })),
            );
        }
    }

    pub(super) fn kcl3_state(&self) -> Option<&Kcl3State> {
        self.kcl3.as_ref()
    }

    /// As [`every`](Self::every), but the first run at once.
    async fn every_now<F, Fut>(self: Arc<Self>, period: Duration, pass: F)
    where
        F: Fn(Arc<Self>) -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        pass(Arc::clone(&self)).await;
        self.every(period, pass).await;
    }

    /// Publishes this worker's report: first after two CPU samples, then every `period`.
    async fn report_loop(self: Arc<Self>, period: Duration) {
        let Some(k) = self.kcl3_state() else { return };
        let first = k.settings.cpu_sample_interval * 2;
        let mut stop = self.stop.subscribe();
        tokio::select! {
            biased;
            _ = stop.wait_for(|s| *s) => return,
            () = tokio::time::sleep(first) => {}
        }
        self.report().await;
        Arc::clone(&self)
            .every(period, |c| async move { c.report().await })
            .await;
    }

    async fn report(&self) {
        let (Some(k), Ok(fleet)) = (self.kcl3_state(), self.fleet()) else {
            return;
        };
        let stats = lock(&k.reporter).report(k.clock().seconds());
        if let Err(e) = fleet.put_worker_metrics(&stats).await {
            tracing::warn!(worker_id = %self.worker_id, error = %e, "worker metrics report failed");
        }
    }

    /// On shutdown, after the leases are released: deletes this worker's report, so that a
    /// leader (Rust or Java) stops counting the worker as active at once, rather than once the
    /// report is older than two report intervals (60 s), meanwhile assigning it leases that
    /// wait for their expiry.
    pub(super) async fn withdraw_report(&self) {
        let (Some(_), Ok(fleet)) = (self.kcl3_state(), self.fleet()) else {
            return;
        };
        let report = RowCondition::Equals(vec![(
            kinesis_kcl_compat::lease::attr::ENTITY_TYPE,
            kinesis_kcl_compat::lease::EntityType::WorkerMetricStats
                .as_str()
                .to_owned(),
        )]);
        match fleet.delete_row(&self.worker_id, report).await {
            Ok(()) => tracing::debug!(worker_id = %self.worker_id, "worker metrics report deleted"),
            Err(e) => {
                tracing::warn!(worker_id = %self.worker_id, error = %e, "deleting the worker metrics report failed; a leader counts this worker as active until the report is two report intervals old")
            }
        }
    }

    async fn check_migration(&self) {
        let (Some(k), Ok(fleet)) = (self.kcl3_state(), self.fleet()) else {
            return;
        };
        match fleet.get_row(MIGRATION_KEY).await {
            Ok(Some(item)) => match ClientVersionMigration::from_item(&item) {
                Ok(row) => {
                    let now_3x = row.client_version.runs_3x();
                    if k.fleet_3x.swap(now_3x, Ordering::Relaxed) != now_3x {
                        tracing::info!(
                            worker_id = %self.worker_id,
                            version = %row.client_version,
                            "the fleet's client version changed: following the KCL {} rules",
                            if now_3x { "3.x" } else { "2.x" }
                        );
                    }
                }
                Err(e) => {
                    tracing::warn!(worker_id = %self.worker_id, error = %e, "the migration row cannot be read")
                }
            },
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(worker_id = %self.worker_id, error = %e, "reading the migration row failed")
            }
        }
    }

    /// Finds the leases the leader gave this worker (a query of the lease-owner index, then a
    /// read of each new one) and starts holding those that no previous owner is handing over.
    pub(super) async fn discover(self: &Arc<Self>) {
        let _pass = self.take_lock.lock().await;
        if self.is_stopping() {
            return;
        }
        let Ok(fleet) = self.fleet() else { return };
        let scope = metrics::discovery_scope(&self.telemetry, &self.worker_id);
        let started = Instant::now();
        let keys = fleet.lease_keys_of(&self.worker_id).await;
        scope.time(lease_discovery::LIST_LEASE_KEYS_FOR_WORKER_TIME, started);
        let keys = match keys {
            Ok(keys) => keys,
            Err(e) => {
                tracing::warn!(worker_id = %self.worker_id, error = %e, "lease discovery failed");
                scope.finish(false);
                return;
            }
        };
        let new: Vec<LeaseKey> = {
            let st = self.state();
            keys.into_iter()
                .filter(|k| !st.held.contains_key(k))
                .collect()
        };
        let started = Instant::now();
        let mut discovered = 0;
        for key in new {
            let lease = match self.repository.get_lease(&key).await {
                Ok(Some(lease)) => lease,
                Ok(None) => continue,
                Err(e) => {
                    tracing::warn!(worker_id = %self.worker_id, lease_key = %key, error = %e, "reading an assigned lease failed");
                    scope.count(MetricsLevel::Summary, lease_discovery::GET_LEASE_ERROR, 1);
                    continue;
                }
            };
            let mine = lease.lease_owner.as_deref() == Some(self.worker_id.as_str());
            if !mine {
                scope.count(MetricsLevel::Detailed, lease_discovery::OWNER_MISMATCH, 1);
            }
            if !mine || lease.checkpoint_owner.is_some() {
                continue;
            }
            // The row says this worker owns it, but not since when: an assignment this worker
            // was frozen through, which no one renewed since, has expired to the leader, and
            // may be given to another any moment. Renewed first (conditional on the counter
            // just read), the lease is held from a write that proves it is still this
            // worker's; a failed or lost renewal leaves it to the next discovery. (The KCL holds
            // it from the read, and processes it beside its new owner until its failover time.)
            let sent = Instant::now();
            let lease = match self.repository.renew_lease(&lease).await {
                Ok(stored) => stored,
                Err(e) if e.is_lease_lost() => {
                    tracing::info!(worker_id = %self.worker_id, lease_key = %key, "an assigned lease changed before this worker renewed it; the next discovery reads it again");
                    scope.count(MetricsLevel::Detailed, lease_discovery::OWNER_MISMATCH, 1);
                    continue;
                }
                Err(e) => {
                    tracing::warn!(worker_id = %self.worker_id, lease_key = %key, error = %e, "renewing an assigned lease before holding it failed; the next discovery reads it again");
                    continue;
                }
            };
            if lease.checkpoint.is_shard_end() {
                // Finished (its holder restarted before the cleanup): held and renewed until
                // the cleanup deletes it, as before, with nothing to hand to the consumer.
                tracing::info!(worker_id = %self.worker_id, lease_key = %key, "holding a finished lease until its cleanup");
                drop(self.register(lease, sent));
                continue;
            }
            discovered += 1;
            let parents = self.parent_rows(&lease).await;
            let acquired = self.register(lease, sent);
            match parents {
                Ok(parents) => self.deliver_when_ready(acquired, &parents).await,
                // Unknown whether the parents are finished: wait for the next discovery.
                Err(()) => self.state().blocked.push(acquired),
            }
        }
        scope.time(lease_discovery::FETCH_NEW_LEASES_TIME, started);
        scope.count(
            MetricsLevel::Detailed,
            lease_discovery::NEW_LEASES_DISCOVERED,
            discovered,
        );
        scope.finish(true);
        // Finished leases this worker holds are deleted once their children have started (the
        // leader's run does it too, but a Java leader leaves them to their holder).
        let holds_finished = self
            .state()
            .held
            .values()
            .any(|h| h.lease.checkpoint.is_shard_end());
        if holds_finished && let Ok(scan) = self.repository.list_leases().await {
            self.clean_up(&scan.leases).await;
        }
        let blocked_parents = {
            let st = self.state();
            st.blocked
                .iter()
                .filter_map(|a| st.held.get(&a.lease_key).map(|h| h.lease.clone()))
                .collect::<Vec<_>>()
        };
        let mut parents = Vec::new();
        for lease in &blocked_parents {
            match self.parent_rows(lease).await {
                Ok(rows) => parents.extend(rows),
                Err(()) => return,
            }
        }
        self.deliver_unblocked(&parents).await;
    }

    /// The rows of `lease`'s parents (absent ones are cleaned up, so finished); `Err` when one
    /// could not be read.
    async fn parent_rows(&self, lease: &Lease) -> Result<Vec<Lease>, ()> {
        let mut rows = Vec::new();
        for parent in &lease.parent_shard_ids {
            let key = lease.lease_key.with_shard_id(parent.clone());
            match self.repository.get_lease(&key).await {
                Ok(Some(row)) => rows.push(row),
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(worker_id = %self.worker_id, lease_key = %key, error = %e, "reading a parent lease failed; its child waits");
                    return Err(());
                }
            }
        }
        Ok(rows)
    }

    /// A write found the lease changed (its condition failed): read the row to tell a
    /// hand-over the leader asked for from a loss, as the KCL does.
    ///
    /// - `HandOver`: this worker is the row's `checkpointOwner` and another its owner; the
    ///   consumer is told ([`LeaseStatus::HandedOver`]) and the hand-over ends with its final
    ///   checkpoint or after the hand-over timeout.
    /// - `Keep`: the row could not be read (the next pass tries again), or it still says this
    ///   worker owns the lease and its counter moved by one at most (an earlier attempt of the
    ///   write had succeeded): the row is adopted. Moved by more, the lease was taken away and
    ///   given back meanwhile: `Lost`.
    /// - `Lost`: anything else, and always under the KCL 2.x rules.
    pub(super) async fn resolve_conflict(
        self: &Arc<Self>,
        key: &LeaseKey,
        generation: u64,
    ) -> Conflict {
        let Some(k) = self.kcl3_state() else {
            return Conflict::Lost;
        };
        if self.handing_over(key, generation) {
            return Conflict::HandOver;
        }
        let row = match self.repository.get_lease(key).await {
            Ok(Some(row)) => row,
            Ok(None) => return Conflict::Lost,
            Err(e) => {
                // The write's condition failed: another write reached the row. Unable to read
                // whose, the worker lets the lease go rather than process on what may be
                // another worker's shard; if it is still this worker's, the next discovery
                // finds it again.
                tracing::warn!(worker_id = %self.worker_id, lease_key = %key, error = %e, "reading a lease after a refused write failed; letting it go");
                return Conflict::Lost;
            }
        };
        let me = self.worker_id.as_str();
        let mine = row.lease_owner.as_deref() == Some(me);
        if mine && row.checkpoint_owner.is_none() {
            let mut st = self.state();
            if let Some(held) = st.held.get_mut(key).filter(|h| h.generation == generation) {
                // A write of this worker applied with its answer lost moves the counter by one
                // (writes of one lease are serialised: one at most is in doubt). More means
                // others wrote it meanwhile: it was moved away and assigned back (while this
                // worker was stopped, say), and what this worker holds — its checkpoint, its
                // consumer's position — is stale. It is dropped; the next discovery acquires
                // it afresh from the checkpoint in the table.
                if row.lease_counter > held.lease.lease_counter + 1 {
                    tracing::info!(worker_id = %self.worker_id, lease_key = %key, held_counter = held.lease.lease_counter, counter = row.lease_counter, "the lease was moved away and back meanwhile: dropping the stale hold");
                    return Conflict::Lost;
                }
                if row.lease_counter >= held.lease.lease_counter {
                    held.lease = row;
                }
            }
            return Conflict::Keep;
        }
        if row.checkpoint_owner.as_deref() != Some(me) || mine {
            return Conflict::Lost;
        }
        let to = row.lease_owner.clone().unwrap_or_default();
        {
            let mut st = self.state();
            let Some(held) = st.held.get_mut(key).filter(|h| h.generation == generation) else {
                return Conflict::Lost;
            };
            if held.handing_over {
                return Conflict::HandOver;
            }
            // Never replace a newer copy (a concurrent write of this worker) with an older read.
            if row.lease_counter >= held.lease.lease_counter {
                held.lease = row;
            }
            held.handing_over = true;
            held.status.send_replace(LeaseStatus::HandedOver);
        }
        tracing::info!(worker_id = %self.worker_id, lease_key = %key, to = %to, "the leader moves the lease: handing it over after the last checkpoint");
        self.emit(LeaseEvent::HandoffRequested {
            key: key.clone(),
            to,
        });
        // The hand-over ends with the consumer's final checkpoint, or after the timeout.
        let shared = Arc::clone(self);
        let key = key.clone();
        let timeout = k.settings.handoff_timeout;
        let mut stop = self.stop.subscribe();
        self.spawn(async move {
            tokio::select! {
                _ = stop.wait_for(|s| *s) => return,
                () = tokio::time::sleep(timeout) => {}
            }
            if shared.held_lease(&key, generation).is_some() {
                tracing::warn!(worker_id = %shared.worker_id, lease_key = %key, "hand-over timed out: letting go without a final checkpoint");
                shared.finish_handoff(&key, generation).await;
            }
        });
        Conflict::HandOver
    }

    /// Ends a hand-over: clears `checkpointOwner` (the new owner starts from the checkpoint
    /// stored now) and stops holding the lease.
    pub(super) async fn finish_handoff(&self, key: &LeaseKey, generation: u64) {
        let Some((_, write_lock)) = self.held_lock(key, Some(generation)) else {
            return;
        };
        let _serialised = write_lock.lock().await;
        let Some(lease) = self.held_lease(key, generation) else {
            return;
        };
        self.complete_handoff_locked(key, generation, &lease).await;
    }

    /// [`finish_handoff`](Self::finish_handoff) with the lease's write lock held.
    pub(super) async fn complete_handoff_locked(
        &self,
        key: &LeaseKey,
        generation: u64,
        lease: &Lease,
    ) {
        let Ok(fleet) = self.fleet() else { return };
        match fleet.complete_handoff(lease, &self.worker_id).await {
            Ok(stored) => {
                Self::note_written(&mut self.state(), &stored, Instant::now());
            }
            Err(e) => {
                tracing::warn!(worker_id = %self.worker_id, lease_key = %key, error = %e, "completing the hand-over failed; the leader reassigns the lease once it expires");
            }
        }
        self.end_held(key, generation, LeaseStatus::HandedOver);
    }

    /// Whether the held lease `key` is being handed over.
    pub(super) fn handing_over(&self, key: &LeaseKey, generation: u64) -> bool {
        self.state()
            .held
            .get(key)
            .is_some_and(|h| h.generation == generation && h.handing_over)
    }

    /// The throughput to write at a renewal (KB/s over the renew interval, an exponential
    /// moving average with α = 0.5, rounded to 6 decimals, as the KCL's `LeaseStatsRecorder`).
    pub(super) fn throughput_for_renewal(&self, held: &mut Held) -> Option<ThroughputKbps> {
        self.kcl3.as_ref()?;
        let bytes = held.throughput.take();
        let window = self.settings.renew_interval().as_secs_f64();
        let x = if window > 0.0 {
            bytes as f64 / 1024.0 / window
        } else {
            0.0
        };
        let ema = match held.throughput_ema {
            None => x,
            Some(previous) => 0.5 * x + 0.5 * previous,
        };
        let ema = (ema * 1e6).round() / 1e6;
        held.throughput_ema = Some(ema);
        ThroughputKbps::new(ema)
    }

    async fn leader_tick(self: Arc<Self>) {
        let (Some(k), Ok(fleet)) = (self.kcl3_state(), self.fleet()) else {
            return;
        };
        if self.is_stopping() {
            return;
        }
        let mut election = k.leader.lock().await;
        let was = k.is_leader.load(Ordering::Relaxed);
        let now = match election.check(fleet).await {
            Ok(leader) => leader,
            Err(e) => {
                tracing::warn!(worker_id = %self.worker_id, error = %e, "leader check failed");
                election.is_leader()
            }
        };
        k.is_leader.store(now, Ordering::Relaxed);
        if now != was {
            *lock(&k.lam) = LamMemory::default();
            self.emit(if now {
                LeaseEvent::BecameLeader
            } else {
                LeaseEvent::LeadershipLost
            });
            if now {
                drop(election);
                // Assign at once rather than at the next tick.
                self.assignment_run().await;
            }
        }
    }

    /// Whether this worker is the leader (as of its last lock write).
    pub(super) fn is_leader(&self) -> bool {
        self.kcl3_state()
            .is_some_and(|k| k.is_leader.load(Ordering::Relaxed))
    }

    /// Gives the leadership up (shutdown, or repeated failures).
    pub(super) async fn release_leadership(&self) {
        let (Some(k), Ok(fleet)) = (self.kcl3_state(), self.fleet()) else {
            return;
        };
        let mut election = k.leader.lock().await;
        if let Err(e) = election.release(fleet).await {
            tracing::warn!(worker_id = %self.worker_id, error = %e, "releasing the leader lock failed; it expires after its lease duration");
        }
        if k.is_leader.swap(false, Ordering::Relaxed) {
            self.emit(LeaseEvent::LeadershipLost);
        }
    }

    /// One run of the leader's assignment: new leases for new shards, expired and unassigned
    /// leases assigned, and (every few runs) balancing. Three failed runs in a row give the
    /// leadership up, as in the KCL.
    pub(super) async fn assignment_run(self: &Arc<Self>) {
        let Some(k) = self.kcl3_state() else { return };
        if !self.is_leader() || !k.runs_3x() || self.is_stopping() {
            return;
        }
        let _run = k.run_lock.lock().await;
        // The lock as of its last successful write, not the last check: it may have expired
        // since (the KCL checks its local lock's expiry before every run too).
        if !k.leader.lock().await.is_leader() {
            return;
        }
        let scope = metrics::assignment_scope(&self.telemetry);
        let outcome = self.assign_once(k, &scope).await;
        scope.finish(outcome.is_ok());
        match outcome {
            Ok(()) => lock(&k.lam).failures = 0,
            Err(e) => {
                let failures = {
                    let mut lam = lock(&k.lam);
                    lam.failures += 1;
                    lam.failures
                };
                tracing::warn!(worker_id = %self.worker_id, error = %e, failures, "lease assignment failed");
                if failures >= 3 {
                    tracing::warn!(worker_id = %self.worker_id, "three assignment runs failed: giving the leadership up");
                    self.release_leadership().await;
                }
            }
        }
    }

    async fn assign_once(
        self: &Arc<Self>,
        k: &Kcl3State,
        scope: &metrics::Scope<'_>,
    ) -> Result<(), LeaseError> {
        let fleet = self.fleet()?;
        let started = Instant::now();
        let scan = fleet.scan_fleet().await?;
        scope.time(
            lease_assignment_manager::LEASE_AND_WORKER_METRICS_LOAD_TIME,
            started,
        );
        for row in &scan.corrupt {
            tracing::warn!(worker_id = %self.worker_id, error = %row, "unreadable row skipped");
        }
        let now = Instant::now();
        let now_s = k.clock().seconds();
        let max_age =
            i64::try_from(k.settings.worker_metrics_interval.as_secs() * 2).unwrap_or(i64::MAX);
        let workers: Vec<&kinesis_kcl_compat::fleet::WorkerMetricStats> = scan
            .worker_metrics
            .iter()
            .filter(|w| w.is_valid() && !w.is_expired(now_s, max_age) && !w.is_failing())
            .collect();

        // New shards get unowned leases, assigned in this same run.
        let mut leases = scan.leases;
        let created = self.create_missing_leases(&leases).await;
        leases.extend(created);

        let failover = self.settings.failover_time();
        let (planned, balance) = {
            let mut lam = lock(&k.lam);
            let first_run = lam.seen.is_empty();
            let mut seen = BTreeMap::new();
            let mut handoffs = BTreeMap::new();
            let mut planned = Vec::with_capacity(leases.len());
            for lease in &leases {
                let changed = match lam.seen.get(&lease.lease_key) {
                    Some((counter, at)) if *counter == lease.lease_counter => *at,
                    _ => now,
                };
                seen.insert(lease.lease_key.clone(), (lease.lease_counter, changed));
                let blocked = match &lease.checkpoint_owner {
                    Some(previous) => {
                        let pair = (lease.lease_owner.clone(), previous.clone());
                        let deadline = match lam.handoffs.get(&lease.lease_key) {
                            Some((p, deadline)) if *p == pair => *deadline,
                            _ => now
                                .checked_add(k.settings.handoff_timeout.saturating_add(failover))
                                .unwrap_or(now + Duration::from_secs(86_400 * 365)),
                        };
                        handoffs.insert(lease.lease_key.clone(), (pair, deadline));
                        now < deadline
                    }
                    None => false,
                };
                let expired = lease.lease_owner.is_none()
                    || (!first_run && now.duration_since(changed) > failover);
                // As in the KCL, an expired lease is never blocked: during a hand-over the old
                // owner renews it, so a counter that stopped means that owner died, and waiting
                // for the hand-over's timeout would leave the shard unread.
                planned.push((expired, blocked && !expired));
            }
            lam.seen = seen;
            lam.handoffs = handoffs;
            let balance = lam
                .runs
                .is_multiple_of(k.settings.variance_balancing_frequency.max(1));
            lam.runs = lam.runs.wrapping_add(1);
            (planned, balance)
        };
        // Finished shards are not assigned: their holder keeps them until the cleanup.
        let open: Vec<PlannedLease<'_>> = leases
            .iter()
            .zip(&planned)
            .filter(|(l, _)| !l.checkpoint.is_shard_end())
            .map(|(lease, (expired, blocked))| PlannedLease {
                lease,
                expired: *expired,
                blocked: *blocked,
            })
            .collect();
        let max_leases = self.settings.strategy.max_leases_per_worker;
        let moves = assignment::plan(
            &open,
            &workers,
            &k.settings.plan_settings(balance, max_leases),
        );
        if scope.enabled() {
            use lease_assignment_manager as lam;
            let expired = open.iter().filter(|p| p.expired).count();
            let reassigned = moves.iter().filter(|m| !m.expired).count();
            scope.count(MetricsLevel::Summary, lam::TOTAL_LEASES, leases.len());
            scope.count(MetricsLevel::Summary, lam::NUM_WORKERS, workers.len());
            scope.count(MetricsLevel::Summary, lam::EXPIRED_LEASES, expired);
            if balance {
                scope.count(
                    MetricsLevel::Summary,
                    lam::NUM_OF_LEASES_REASSIGNMENT,
                    reassigned,
                );
            }
        }
        let started = Instant::now();
        let mut failed = 0;
        let by_key: BTreeMap<&LeaseKey, &Lease> =
            leases.iter().map(|l| (&l.lease_key, l)).collect();
        for m in moves {
            let Some(lease) = by_key.get(&m.lease_key) else {
                continue;
            };
            if !m.expired
                && lease.lease_owner.as_deref() == Some(m.to.as_str())
                && lease.checkpoint_owner.is_none()
            {
                // Already that worker's: a hand-over to itself would never end.
                continue;
            }
            let graceful = k.settings.graceful_handoff
                && !m.expired
                && lease.lease_owner.is_some()
                && lease.checkpoint_owner.is_none();
            let outcome = if graceful {
                fleet.start_handoff(lease, &m.to).await
            } else {
                fleet.assign_lease(lease, &m.to).await
            };
            match outcome {
                Ok(_) => {
                    tracing::info!(worker_id = %self.worker_id, lease_key = %m.lease_key, to = %m.to, graceful, "lease assigned");
                    self.emit(LeaseEvent::Assigned {
                        key: m.lease_key.clone(),
                        to: m.to.clone(),
                        graceful,
                    });
                }
                Err(e) if e.is_lease_lost() => {
                    failed += 1;
                    tracing::debug!(worker_id = %self.worker_id, lease_key = %m.lease_key, "lease changed before its assignment");
                }
                Err(e) => {
                    failed += 1;
                    tracing::warn!(worker_id = %self.worker_id, lease_key = %m.lease_key, error = %e, "lease assignment write failed");
                }
            }
        }
        scope.count(
            MetricsLevel::Detailed,
            lease_assignment_manager::FAILED_ASSIGNMENT_COUNT,
            failed,
        );
        scope.call(
            lease_assignment_manager::PARALLELY_ASSIGN_LEASES_SUCCESS,
            lease_assignment_manager::PARALLELY_ASSIGN_LEASES_TIME,
            started,
            true,
        );
        self.clean_up(&leases).await;
        Ok(())
    }

    /// Creates unowned leases for the shards ready to consume that have none (the leader's
    /// shard sync); returns them as stored.
    async fn create_missing_leases(&self, leases: &[Lease]) -> Vec<Lease> {
        let rows: Vec<Lease> = {
            let st = self.state();
            let leased: BTreeSet<&LeaseKey> = leases.iter().map(|l| &l.lease_key).collect();
            lineage::shards_ready_to_consume(&st.shards, leases)
                .iter()
                .filter(|s| !leased.contains(&LeaseKey::from(s.id.clone())))
                .map(|s| {
                    let checkpoint = lineage::initial_checkpoint_for_shard(
                        s,
                        &self.settings.initial_position,
                        leases,
                    );
                    lineage::new_lease_for_shard(s, checkpoint)
                })
                .collect()
        };
        let mut created = Vec::new();
        for lease in rows {
            match self.repository.create_lease(&lease).await {
                Ok(stored) => {
                    self.emit(LeaseEvent::Created {
                        key: stored.lease_key.clone(),
                    });
                    created.push(stored);
                }
                Err(e) if e.kind() == LeaseErrorKind::AlreadyExists => {}
                Err(e) => {
                    tracing::warn!(worker_id = %self.worker_id, lease_key = %lease.lease_key, error = %e, "lease creation failed");
                }
            }
        }
        created
    }
}
