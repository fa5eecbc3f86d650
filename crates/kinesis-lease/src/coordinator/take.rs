//! Refreshing the lease table and taking leases by the assignment strategy.

use kinesis_client::telemetry::MetricsLevel;
use kinesis_kcl_compat::metrics::{shard_sync_task, take_leases};

use super::*;

impl Shared {
    /// One pass; returns whether the lease table could be read.
    pub(super) async fn refresh_and_take(self: &Arc<Self>) -> bool {
        let _pass = self.take_lock.lock().await;
        // Under the KCL 3.x rules there is no taker, and no `TakeLeases` metrics.
        let runs_3x = self.kcl3_state().is_some_and(Kcl3State::runs_3x);
        let no_metrics = Telemetry::none();
        let scope = metrics::take_scope(
            if runs_3x {
                &no_metrics
            } else {
                &self.telemetry
            },
            &self.worker_id,
        );
        let started = Instant::now();
        let scan = self.repository.list_leases().await;
        scope.call(
            take_leases::LIST_LEASES_SUCCESS,
            take_leases::LIST_LEASES_TIME,
            started,
            scan.is_ok(),
        );
        let scan = match scan {
            Ok(scan) => scan,
            Err(e) => {
                tracing::warn!(worker_id = %self.worker_id, error = %e, "lease table scan failed");
                scope.finish(false);
                return false;
            }
        };
        self.report_corrupt_rows(&scan.corrupt, &scope);
        let now = Instant::now();
        self.state().last_table_read = Some(now);
        let leases = scan.leases;
        let (lost, resumed) = self.refresh(&leases, now);
        for (key, generation) in lost {
            self.end_held(&key, generation, LeaseStatus::Lost);
        }
        for lease in resumed {
            // This worker wrote nothing of it since it restarted: to the others it may look
            // expired and be taken any moment. Renewed first (conditional on the counter just
            // read), it is held only while it is still this worker's.
            let sent = Instant::now();
            match self.repository.renew_lease(&lease).await {
                Ok(stored) => {
                    let acquired = self.register(stored, sent);
                    self.deliver_when_ready(acquired, &leases).await;
                }
                Err(e) if e.is_lease_lost() => {
                    tracing::info!(worker_id = %self.worker_id, lease_key = %lease.lease_key, "a lease this worker owned before it restarted was taken meanwhile");
                }
                Err(e) => {
                    tracing::warn!(worker_id = %self.worker_id, lease_key = %lease.lease_key, error = %e, "renewing a lease to resume it failed; trying again at the next pass");
                }
            }
        }
        self.deliver_unblocked(&leases).await;
        if self.is_stopping() || runs_3x {
            // Under the KCL 3.x rules only the leader assigns.
            return true;
        }
        let (assignment, new_leases) = self.assign(&leases, now);
        if scope.enabled() {
            let to_take = assignment.take.len() + assignment.steal.len();
            self.take_figures(&leases, now).report(&scope, to_take);
        }
        let (taken, untaken) = self.apply(&leases, assignment, new_leases, &scope).await;
        scope.count(MetricsLevel::Summary, take_leases::TAKEN_LEASES, taken);
        scope.count(MetricsLevel::Summary, take_leases::UNTAKEN_LEASES, untaken);
        scope.finish(true);
        self.clean_up(&leases).await;
        true
    }

    /// Reports each unreadable row once (a WARN line and a [`LeaseEvent::CorruptRow`]), and
    /// how many there are at every scan (`CorruptLeaseRows`).
    fn report_corrupt_rows(
        &self,
        rows: &[kinesis_kcl_compat::lease::LeaseRowError],
        scope: &metrics::Scope<'_>,
    ) {
        scope.count(
            MetricsLevel::Summary,
            metrics::CORRUPT_LEASE_ROWS,
            rows.len(),
        );
        let now: BTreeSet<String> = rows.iter().map(ToString::to_string).collect();
        let new: Vec<&kinesis_kcl_compat::lease::LeaseRowError> = {
            let mut st = self.state();
            let new = rows
                .iter()
                .filter(|r| !st.corrupt.contains(&r.to_string()))
                .collect();
            st.corrupt = now;
            new
        };
        for row in new {
            tracing::warn!(worker_id = %self.worker_id, error = %row, "unreadable lease row skipped; its shard is not processed until the row is repaired");
            self.emit(LeaseEvent::CorruptRow {
                key: row.lease_key().map(str::to_owned),
                attribute: row.attribute(),
                error: row.to_string(),
            });
        }
    }

    /// The figures the KCL's taker reports, from the scan and the local view.
    fn take_figures(&self, leases: &[Lease], now: Instant) -> metrics::TakeFigures {
        let st = self.state();
        let failover = self.settings.failover_time();
        let last_change = |l: &Lease| st.seen.get(&l.lease_key).and_then(|s| s.last_change);
        let expired = leases
            .iter()
            .filter(|l| !l.checkpoint.is_shard_end())
            .filter(|l| {
                l.lease_owner.is_none()
                    || last_change(l).is_none_or(|c| now.saturating_duration_since(c) > failover)
            })
            .count();
        let very_old = leases
            .iter()
            .filter(|l| !l.checkpoint.is_shard_end())
            .filter(|l| metrics::is_very_old(last_change(l), failover, now))
            .count();
        let mut workers = st.owners.clone();
        workers.insert(self.worker_id.clone());
        metrics::TakeFigures {
            total: leases.len(),
            expired,
            workers: workers.len(),
            held: st.held.len(),
            very_old,
            max_for_worker: self.settings.strategy.max_leases_per_worker,
        }
    }

    /// Updates the local view from a scan: last-change instants, worker diffs, lost leases (to
    /// end) and own leases not held (to resume).
    pub(super) fn refresh(
        &self,
        leases: &[Lease],
        now: Instant,
    ) -> (Vec<(LeaseKey, u64)>, Vec<Lease>) {
        let me = self.worker_id.as_str();
        let mut st = self.state();
        let mut seen = BTreeMap::new();
        for lease in leases {
            let last_change = match st.seen.get(&lease.lease_key) {
                Some(prev) if prev.counter == lease.lease_counter => prev.last_change,
                None if lease.lease_owner.is_none() => None,
                _ => Some(now),
            };
            seen.insert(
                lease.lease_key.clone(),
                Seen {
                    counter: lease.lease_counter,
                    last_change,
                },
            );
        }
        st.seen = seen;
        probe::plan(&mut st, me, leases, now, self);

        let owners: BTreeSet<String> = leases
            .iter()
            .filter(|l| !l.checkpoint.is_shard_end())
            .filter_map(|l| l.lease_owner.clone())
            .collect();
        let previous = std::mem::replace(&mut st.owners, owners);
        for id in st.owners.difference(&previous) {
            self.emit(LeaseEvent::WorkerJoined { id: id.clone() });
        }
        for id in previous.difference(&st.owners) {
            self.emit(LeaseEvent::WorkerLeft { id: id.clone() });
        }

        let by_key: BTreeMap<&LeaseKey, &Lease> =
            leases.iter().map(|l| (&l.lease_key, l)).collect();
        let mut lost = Vec::new();
        for (key, held) in &mut st.held {
            match by_key.get(key) {
                Some(row) if row.lease_owner.as_deref() == Some(me) => {
                    if row.lease_counter > held.lease.lease_counter {
                        held.lease = (*row).clone();
                    }
                }
                // A KCL 3.x leader moves it to another worker: the hand-over (noticed by the
                // next write, or in progress) ends it after the last checkpoint.
                Some(row) if held.handing_over || row.checkpoint_owner.as_deref() == Some(me) => {}
                _ => lost.push((key.clone(), held.generation)),
            }
        }
        let resumed = if st.stopping {
            Vec::new()
        } else {
            leases
                .iter()
                .filter(|l| {
                    l.lease_owner.as_deref() == Some(me)
                        && l.checkpoint_owner.is_none()
                        && !l.checkpoint.is_shard_end()
                        && !st.held.contains_key(&l.lease_key)
                })
                .cloned()
                .collect()
        };
        (lost, resumed)
    }

    /// Asks the strategy; returns its assignment and the rows of the leases to create.
    pub(super) fn assign(&self, leases: &[Lease], now: Instant) -> (Assignment, Vec<Lease>) {
        let st = self.state();
        let views: Vec<LeaseView<'_>> = leases
            .iter()
            .map(
                |l| match st.seen.get(&l.lease_key).and_then(|s| s.last_change) {
                    Some(changed) => LeaseView::observed(l, changed, now),
                    None => LeaseView::new(l, Duration::MAX),
                },
            )
            .collect();
        let leased: BTreeSet<&LeaseKey> = leases.iter().map(|l| &l.lease_key).collect();
        let ready = lineage::shards_ready_to_consume(&st.shards, leases);
        let unleased: Vec<LeaseKey> = ready
            .iter()
            .map(|s| LeaseKey::from(s.id.clone()))
            .filter(|k| !leased.contains(k))
            .collect();
        let snapshot = Snapshot::new(&self.worker_id, &views, &unleased, &self.settings.strategy);
        let assignment = self.strategy.assign(&snapshot);
        let new_lease = |shard: &ShardInfo, owner: Option<String>| {
            let checkpoint = lineage::initial_checkpoint_for_shard(
                shard,
                &self.settings.initial_position,
                leases,
            );
            let mut lease = lineage::new_lease_for_shard(shard, checkpoint);
            lease.lease_owner = owner;
            lease
        };
        let mut new_leases: Vec<Lease> = assignment
            .create
            .iter()
            .filter_map(|key| {
                let shard = ready
                    .iter()
                    .find(|s| LeaseKey::from(s.id.clone()) == *key)?;
                Some(new_lease(shard, Some(self.worker_id.clone())))
            })
            .collect();
        // The children of a finished shard get a lease even when this worker does not want
        // them, without an owner, as the KCL's shard-end task creates them: a KCL worker relies
        // on the parent's holder for that (its shard sync does not create them), and takes them
        // from there.
        let finished: BTreeSet<&kinesis_client::ShardId> = leases
            .iter()
            .filter(|l| l.checkpoint.is_shard_end())
            .map(Lease::shard_id)
            .collect();
        new_leases.extend(
            ready
                .iter()
                .filter(|s| {
                    let key = LeaseKey::from(s.id.clone());
                    !leased.contains(&key)
                        && !assignment.create.contains(&key)
                        && s.parents.iter().any(|p| finished.contains(p))
                })
                .map(|s| new_lease(s, None)),
        );
        (assignment, new_leases)
    }

    pub(super) async fn apply(
        self: &Arc<Self>,
        leases: &[Lease],
        assignment: Assignment,
        new: Vec<Lease>,
        scope: &metrics::Scope<'_>,
    ) -> (usize, usize) {
        let (mut taken, mut untaken) = (0, 0);
        let sync_scope = metrics::shard_sync_scope(&self.telemetry);
        let by_key: BTreeMap<&LeaseKey, &Lease> =
            leases.iter().map(|l| (&l.lease_key, l)).collect();
        for lease in new {
            if self.is_stopping() {
                return (taken, untaken);
            }
            let started = Instant::now();
            let result = self.repository.create_lease(&lease).await;
            sync_scope.call(
                shard_sync_task::CREATE_LEASE_SUCCESS,
                shard_sync_task::CREATE_LEASE_TIME,
                started,
                result.is_ok()
                    || result
                        .as_ref()
                        .is_err_and(|e| e.kind() == LeaseErrorKind::AlreadyExists),
            );
            metrics::created_at(&sync_scope, &lease.checkpoint);
            match result {
                Ok(stored) if stored.lease_owner.is_none() => {
                    self.emit(LeaseEvent::Created {
                        key: stored.lease_key.clone(),
                    });
                }
                Ok(stored) => {
                    // Created for this worker: the KCL creates it unowned and takes it.
                    taken += 1;
                    self.emit(LeaseEvent::Created {
                        key: stored.lease_key.clone(),
                    });
                    let acquired = self.register(stored, started);
                    self.deliver_when_ready(acquired, leases).await;
                }
                Err(e) if e.kind() == LeaseErrorKind::AlreadyExists => {
                    tracing::debug!(worker_id = %self.worker_id, lease_key = %lease.lease_key, "lease created by another worker first");
                }
                Err(e) => {
                    tracing::warn!(worker_id = %self.worker_id, lease_key = %lease.lease_key, error = %e, "lease creation failed");
                }
            }
        }
        let takes = assignment.take.iter().map(|k| (k, None));
        let steals = assignment
            .steal
            .iter()
            .map(|s| (&s.lease_key, Some(s.from.as_str())));
        for (key, from) in takes.chain(steals) {
            if self.is_stopping() {
                return (taken, untaken);
            }
            let Some(lease) = by_key.get(key) else {
                continue;
            };
            if self.state().held.contains_key(key) {
                continue;
            }
            let started = Instant::now();
            let result = self.repository.take_lease(lease, &self.worker_id).await;
            // As the KCL: a take that lost the race succeeded as a call.
            scope.call(
                take_leases::TAKE_LEASE_SUCCESS,
                take_leases::TAKE_LEASE_TIME,
                started,
                result.is_ok() || result.as_ref().is_err_and(LeaseError::is_lease_lost),
            );
            match result {
                Ok(stored) => {
                    taken += 1;
                    if let Some(from) = from {
                        self.emit(LeaseEvent::Stolen {
                            key: key.clone(),
                            from: from.to_owned(),
                        });
                    }
                    let acquired = self.register(stored, started);
                    self.deliver_when_ready(acquired, leases).await;
                }
                Err(e) if e.is_lease_lost() => {
                    untaken += 1;
                    tracing::debug!(worker_id = %self.worker_id, lease_key = %key, "lease taken by another worker first");
                }
                Err(e) => {
                    tracing::warn!(worker_id = %self.worker_id, lease_key = %key, error = %e, "lease take failed");
                }
            }
        }
        for key in &assignment.release {
            let generation = self.state().held.get(key).map(|h| h.generation);
            if let Some(generation) = generation {
                self.release_held(key, generation, ReleaseMode::Strategy)
                    .await;
            }
        }
        (taken, untaken)
    }
}
