//! Expiry probes: how a worker notices soon that another worker stopped renewing, without
//! scanning the table more often.
//!
//! A Java KCL worker that stops, gracefully or not, leaves its leases owned: the others may take
//! them only once they have seen each lease's counter unchanged for the failover time (the
//! KCL's rule, which this workspace keeps). Scanning at the take interval alone, that takes
//! between one and two take intervals after the stop (20 to 40 s with the KCL's defaults).
//!
//! Between scans, the coordinator reads one lease of each of the [`RING`] owners that follow it
//! in the order of worker ids, wrapping around (one `GetItem` each), every two renew intervals:
//! a live owner renews at least once in that time. So every owner is watched by the [`RING`]
//! workers before it, and a fleet makes `RING` probes per worker per period however large it
//! is, not one per pair of workers. When a probed
//! counter has not moved, its owner has probably stopped: the coordinator scans at once (so
//! that every lease's current counter is seen from now on), and runs a take pass once the
//! failover time has passed since that scan, when the stopped owner's leases have expired by
//! the KCL's rule. A false alarm (a renewal late under load) costs one scan and one take pass
//! that finds nothing to take.

use std::collections::BTreeMap;
use std::sync::Arc;

use kinesis_kcl_compat::lease::{Lease, LeaseKey};
use tokio::time::{Instant, MissedTickBehavior};

use super::{Shared, State};
use crate::strategy::LeaseView;

/// How many other owners a worker probes: the ones after it in the order of worker ids.
pub(super) const RING: usize = 2;

/// The margin added to the failover time before the follow-up take pass.
const MARGIN: std::time::Duration = std::time::Duration::from_millis(50);

/// One probed lease of another owner.
#[derive(Debug, Clone)]
pub(super) struct Probe {
    key: LeaseKey,
    counter: u64,
    /// When this worker first saw `counter` (a live owner changes it within two renew
    /// intervals of that, not necessarily before the next probe).
    since: Instant,
    /// Already reported as stopped (until the counter moves again).
    stale: bool,
}

/// Chooses, after a scan, one open lease of each of the [`RING`] other owners after this worker
/// whose lease has not expired in this worker's view; keeps the probes whose lease and counter
/// are unchanged.
pub(super) fn plan(st: &mut State, me: &str, leases: &[Lease], now: Instant, shared: &Shared) {
    let mut probes: BTreeMap<String, Probe> = BTreeMap::new();
    let mut open: Vec<&Lease> = leases
        .iter()
        .filter(|l| !l.checkpoint.is_shard_end())
        .collect();
    open.sort_by(|a, b| a.lease_key.cmp(&b.lease_key));
    for lease in open {
        let Some(owner) = lease.lease_owner.as_deref() else {
            continue;
        };
        if owner == me || probes.contains_key(owner) {
            continue;
        }
        let expired = st
            .seen
            .get(&lease.lease_key)
            .and_then(|s| s.last_change)
            .is_some_and(|changed| {
                LeaseView::observed(lease, changed, now).is_expired(&shared.settings.strategy)
            });
        if expired {
            continue;
        }
        let same = st
            .probes
            .get(owner)
            .filter(|p| p.key == lease.lease_key && p.counter == lease.lease_counter);
        let stale = same.is_some_and(|p| p.stale);
        let since = same.map_or(now, |p| p.since);
        probes.insert(
            owner.to_owned(),
            Probe {
                key: lease.lease_key.clone(),
                counter: lease.lease_counter,
                since,
                stale,
            },
        );
    }
    // The ring: the owners after this worker's id, then from the first, RING of them.
    let mut owners: Vec<&String> = probes.keys().collect();
    owners.sort();
    let start = owners.partition_point(|o| o.as_str() < me);
    let watched: Vec<String> = owners
        .iter()
        .cycle()
        .skip(start)
        .take(RING.min(owners.len()))
        .map(|o| (*o).clone())
        .collect();
    probes.retain(|owner, _| watched.contains(owner));
    st.probes = probes;
}

impl Shared {
    /// Probes every other owner each `period`; after a stale probe, scans and schedules a take
    /// pass once the failover time has passed. Runs until shutdown.
    pub(super) async fn probe_loop(self: Arc<Self>, period: std::time::Duration) {
        let mut ticks = tokio::time::interval_at(Instant::now() + period, period);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut stop = self.stop.subscribe();
        let mut follow_up: Option<Instant> = None;
        loop {
            let at = follow_up.unwrap_or_else(|| Instant::now() + period * 4);
            let due = tokio::select! {
                biased;
                _ = stop.wait_for(|s| *s) => break,
                () = tokio::time::sleep_until(at), if follow_up.is_some() => true,
                _ = ticks.tick() => false,
            };
            if due {
                follow_up = None;
                self.refresh_and_take().await;
                continue;
            }
            if self.probe_once().await {
                tracing::info!(worker_id = %self.worker_id, "a lease owner stopped renewing; scanning now and taking after the failover time");
                self.refresh_and_take().await;
                let due = Instant::now() + self.settings.failover_time() + MARGIN;
                follow_up = Some(follow_up.map_or(due, |f| f.min(due)));
            }
        }
    }

    /// Reads each probed lease once; returns whether one was unchanged since it was last seen
    /// (newly stale).
    async fn probe_once(&self) -> bool {
        let probes: Vec<(String, Probe)> = self
            .state()
            .probes
            .iter()
            .map(|(o, p)| (o.clone(), p.clone()))
            .collect();
        let mut newly_stale = false;
        for (owner, probe) in probes {
            let read = match self.repository.get_lease(&probe.key).await {
                Ok(read) => read,
                Err(e) => {
                    tracing::debug!(worker_id = %self.worker_id, lease_key = %probe.key, error = %e, "expiry probe failed");
                    continue;
                }
            };
            let mut st = self.state();
            match read {
                Some(lease)
                    if lease.lease_owner.as_deref() == Some(owner.as_str())
                        && lease.lease_counter == probe.counter =>
                {
                    // Unchanged for two renew intervals: the owner has probably stopped.
                    let window = self.settings.renew_interval() * 2;
                    if let Some(p) = st.probes.get_mut(&owner)
                        && !p.stale
                        && p.since.elapsed() >= window
                    {
                        p.stale = true;
                        newly_stale = true;
                    }
                }
                Some(lease) if lease.lease_owner.as_deref() == Some(owner.as_str()) => {
                    if let Some(p) = st.probes.get_mut(&owner) {
                        p.counter = lease.lease_counter;
                        p.since = Instant::now();
                        p.stale = false;
                    }
                }
                // Taken, released or deleted: the next scan chooses again.
                _ => {
                    st.probes.remove(&owner);
                }
            }
        }
        newly_stale
    }
}
