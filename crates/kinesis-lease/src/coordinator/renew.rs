//! Renewing the held leases.

use kinesis_client::telemetry::MetricsLevel;
use kinesis_kcl_compat::metrics::renew_all_leases;

use super::kcl3::Conflict;
use super::*;

impl Shared {
    /// Runs a take pass whenever another worker announces a release on the [`Handover`]: after
    /// a short pause that gathers a burst of releases (a shutting-down worker releases all its
    /// leases at once) into one scan.
    pub(super) async fn take_on_handover(
        self: Arc<Self>,
        mut heard: broadcast::Receiver<Released>,
    ) {
        let mut stop = self.stop.subscribe();
        loop {
            let from_other = tokio::select! {
                biased;
                _ = stop.wait_for(|s| *s) => break,
                heard = heard.recv() => match heard {
                    Ok(released) => released.worker_id != self.worker_id,
                    Err(broadcast::error::RecvError::Lagged(_)) => true,
                    Err(broadcast::error::RecvError::Closed) => break,
                },
            };
            if !from_other {
                continue;
            }
            tokio::select! {
                biased;
                _ = stop.wait_for(|s| *s) => break,
                () = tokio::time::sleep(HANDOVER_GATHER) => {}
            }
            // Announcements heard meanwhile are covered by the pass below.
            heard = heard.resubscribe();
            self.refresh_and_take().await;
        }
    }

    /// Runs `pass` every `period` (the first run one period from now) until shutdown. A pass in
    /// progress is never cancelled; a late tick delays the following ones.
    pub(super) async fn every<F, Fut>(self: Arc<Self>, period: Duration, pass: F)
    where
        F: Fn(Arc<Self>) -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        // A zero period (a setting of zero) would make tokio panic.
        let period = period.max(Duration::from_millis(1));
        let mut ticks = tokio::time::interval_at(Instant::now() + period, period);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut stop = self.stop.subscribe();
        loop {
            tokio::select! {
                biased;
                _ = stop.wait_for(|s| *s) => break,
                _ = ticks.tick() => {}
            }
            pass(Arc::clone(&self)).await;
        }
    }

    pub(super) async fn renew_all(self: &Arc<Self>) {
        let now = Instant::now();
        let (since, leases) = {
            let mut st = self.state();
            let since = st
                .last_renew_pass
                .replace(now)
                .unwrap_or_else(|| now - self.settings.renew_interval());
            let leases: Vec<(LeaseKey, u64)> = st
                .held
                .iter()
                .map(|(k, h)| (k.clone(), h.generation))
                .collect();
            (since, leases)
        };
        let scope = metrics::renew_scope(&self.telemetry, &self.worker_id);
        let outcomes = Arc::new(Mutex::new(Vec::with_capacity(leases.len())));
        // Collected first: a lazy iterator over a borrow would make this future not `Send`.
        let renewals: Vec<_> = leases
            .iter()
            .map(|(k, g)| {
                let outcomes = Arc::clone(&outcomes);
                let scope = &scope;
                async move {
                    let started = Instant::now();
                    let outcome = self.renew_one(k, *g, since).await;
                    if outcome != Renewal::Skipped {
                        scope.call(
                            renew_all_leases::RENEW_LEASE_SUCCESS,
                            renew_all_leases::RENEW_LEASE_TIME,
                            started,
                            outcome == Renewal::Renewed,
                        );
                    }
                    lock(&outcomes).push(outcome);
                }
            })
            .collect();
        bounded(renewals, self.settings.max_concurrent_writes).await;
        if scope.enabled() {
            let outcomes = lock(&outcomes);
            let lost = outcomes.iter().filter(|o| **o == Renewal::Lost).count();
            let failed = outcomes.contains(&Renewal::Failed);
            let current = self.state().held.len();
            scope.count(MetricsLevel::Summary, renew_all_leases::LOST_LEASES, lost);
            scope.count(
                MetricsLevel::Summary,
                renew_all_leases::CURRENT_LEASES,
                current,
            );
            scope.finish(!failed);
        }
    }

    /// Whether the failover time has passed since the last successful write of the lease
    /// held as `generation`: to the other workers it has expired.
    fn expired_locally(&self, key: &LeaseKey, generation: u64) -> bool {
        self.state()
            .held
            .get(key)
            .filter(|h| h.generation == generation)
            .is_some_and(|h| h.last_success.elapsed() > self.settings.failover_time())
    }

    pub(super) async fn renew_one(
        self: &Arc<Self>,
        key: &LeaseKey,
        generation: u64,
        since: Instant,
    ) -> Renewal {
        let Some((_, write_lock)) = self.held_lock(key, Some(generation)) else {
            return Renewal::Skipped;
        };
        let _serialised = write_lock.lock().await;
        let lease = {
            let mut st = self.state();
            let Some(held) = st.held.get_mut(key).filter(|h| h.generation == generation) else {
                return Renewal::Skipped;
            };
            if held.last_other_write > since {
                // Checkpointed (or taken) since the previous pass: that write renewed it.
                return Renewal::Skipped;
            }
            // A lease being handed over is renewed too, as the KCL does, until the final
            // checkpoint ends the hand-over: the leader reads a counter that stops moving as
            // an old owner that died, and gives the lease to the new owner at once.
            let mut lease = held.lease.clone();
            if let Some(t) = self.throughput_for_renewal(held) {
                lease.throughput_kbps = Some(t);
            }
            lease
        };
        match self.repository.renew_lease(&lease).await {
            Ok(stored) => {
                self.wrote(&stored, generation, true);
                self.emit(LeaseEvent::Renewed { key: key.clone() });
                Renewal::Renewed
            }
            Err(e) if e.is_lease_lost() => {
                drop(_serialised);
                // A conflict that keeps the lease (a hand-over going on, a row that could not be
                // read) keeps it only until the failover time has passed since the last
                // successful write, as any failed renewal does: to the others it has expired.
                if self.resolve_conflict(key, generation).await == Conflict::Lost
                    || self.expired_locally(key, generation)
                {
                    self.end_held(key, generation, LeaseStatus::Lost);
                    Renewal::Lost
                } else {
                    Renewal::Failed
                }
            }
            Err(e) => {
                tracing::warn!(worker_id = %self.worker_id, lease_key = %key, error = %e, "lease renewal failed");
                self.emit(LeaseEvent::RenewalFailed {
                    key: key.clone(),
                    error: Arc::new(e),
                });
                if self.expired_locally(key, generation) {
                    self.end_held(key, generation, LeaseStatus::Lost);
                    Renewal::Lost
                } else {
                    Renewal::Failed
                }
            }
        }
    }
}

/// What renewing one lease came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Renewal {
    /// No write was needed (a checkpoint renewed it, a hand-over ends it, or it is gone).
    Skipped,
    /// Renewed.
    Renewed,
    /// The write failed; the lease is kept.
    Failed,
    /// The lease is lost.
    Lost,
}
