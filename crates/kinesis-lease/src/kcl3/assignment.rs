//! The KCL 3.x leader's assignment (`LeaseAssignmentManager` and its deciders), as a pure
//! function: given the leases, which of them have expired, and the active workers' reports, which
//! lease goes to which worker.
//!
//! Two strategies, as in the KCL:
//!
//! - [`Balancing::Utilisation`] (the KCL's default, `WORKER_UTILIZATION_AWARE`): expired and
//!   unassigned leases go to the worker furthest below the fleet's average utilisation; every
//!   [`variance_balancing_frequency`](super::Kcl3Settings::variance_balancing_frequency) runs,
//!   workers outside ±[`rebalance_threshold_percent`](super::Kcl3Settings::rebalance_threshold_percent)
//!   of the average give up throughput to the least loaded (dampened by
//!   [`dampening_percent`](super::Kcl3Settings::dampening_percent)). A worker without a CPU
//!   metric (a "default" worker) is measured by the throughput of its leases.
//! - [`Balancing::LeaseCount`] (KCL 3.4.3's `LEASE_COUNT_BASED`): every worker gets
//!   ⌈leases / workers⌉ at most, moved one at a time from the most to the least loaded.
//!
//! Deliberate differences, each so that leases spread at once where the KCL would leave
//! them uneven for a while:
//!
//! - while no lease has a throughput (a new fleet, idle streams), every lease counts as one unit
//!   of throughput, so that default workers are balanced by lease count (the KCL divides 0 by 0
//!   there and keeps whatever split the first assignment made), to within one lease: each holds
//!   ⌊n/w⌋ or ⌈n/w⌉ of the n leases (a percentage threshold, dampening and a receiver capped
//!   at the average would leave 2, 2 and 4 of 8 as they are);
//! - an idle worker comes first (the KCL ranks it below a lightly loaded one, which can leave it
//!   without leases), and when loads tie the worker with fewer leases does;
//! - the lease-count strategy gives each expired lease to the worker with the fewest (the KCL
//!   fills one worker to the target before the next);
//! - an expired lease goes to a worker other than the owner that stopped renewing it, when there
//!   is one (the KCL may give it back to that owner while its last report is fresh).

use std::collections::{BTreeMap, BTreeSet};

use kinesis_kcl_compat::fleet::WorkerMetricStats;
use kinesis_kcl_compat::lease::{Lease, LeaseKey};

/// The metric a default worker is balanced on: its share of the fleet's throughput.
const THROUGHPUT: &str = "T";

/// How the leader balances leases between workers.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Balancing {
    /// By utilisation (CPU, or the throughput of a worker's leases): the KCL's default.
    #[default]
    Utilisation,
    /// By the number of leases (KCL 3.4.3's `LEASE_COUNT_BASED`).
    LeaseCount,
}

/// The tuning of a plan, with the KCL's defaults.
#[derive(Clone, Debug, PartialEq)]
pub struct PlanSettings {
    /// The strategy.
    pub balancing: Balancing,
    /// Whether this run balances (besides assigning expired leases).
    pub balance: bool,
    /// `reBalanceThresholdPercentage` (10).
    pub rebalance_threshold_percent: f64,
    /// `dampeningPercentage` (60).
    pub dampening_percent: f64,
    /// `allowThroughputOvershoot` (true).
    pub allow_throughput_overshoot: bool,
    /// `maxThroughputPerHostKBps` (unlimited).
    pub max_throughput_per_worker_kbps: f64,
    /// `maxLeasesForWorker` (unlimited).
    pub max_leases_per_worker: usize,
    /// `workerMetricsEMAAlpha` (0.5).
    pub ema_alpha: f64,
}

impl Default for PlanSettings {
    fn default() -> Self {
        Self {
            balancing: Balancing::Utilisation,
            balance: true,
            rebalance_threshold_percent: 10.0,
            dampening_percent: 60.0,
            allow_throughput_overshoot: true,
            max_throughput_per_worker_kbps: f64::MAX,
            max_leases_per_worker: usize::MAX,
            ema_alpha: 0.5,
        }
    }
}

/// A lease as the leader sees it in one run.
#[derive(Clone, Debug)]
pub struct PlannedLease<'a> {
    /// The row.
    pub lease: &'a Lease,
    /// Whether its counter has not moved for the failover time, or it has no owner.
    pub expired: bool,
    /// Whether a hand-over of it is in progress (not timed out, and its old owner still renews
    /// it): it is not moved.
    pub blocked: bool,
}

impl PlannedLease<'_> {
    /// The worker processing it: the previous owner during a hand-over, else the owner.
    fn actual_owner(&self) -> Option<&str> {
        self.lease
            .checkpoint_owner
            .as_deref()
            .or(self.lease.lease_owner.as_deref())
    }
}

/// One move of the plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Move {
    /// The lease.
    pub lease_key: LeaseKey,
    /// Its new owner.
    pub to: String,
    /// Whether the lease was expired or unassigned (then it is assigned at once; otherwise
    /// handed over gracefully).
    pub expired: bool,
}

struct Worker<'a> {
    id: &'a str,
    /// Metric to its current value (extrapolated as the plan assigns leases).
    values: BTreeMap<String, f64>,
    /// Metric to its maximum.
    ranges: BTreeMap<String, f64>,
    leases: BTreeSet<usize>,
    throughput: f64,
    queued: bool,
}

/// Plans the moves of one run: expired and unassigned leases first (oldest first), then, when
/// `settings.balance`, the balancing moves. `workers` are the active workers' reports (valid,
/// fresh and not failing); leases of other owners count toward the averages but only active
/// workers receive leases.
pub fn plan(
    leases: &[PlannedLease<'_>],
    workers: &[&WorkerMetricStats],
    settings: &PlanSettings,
) -> Vec<Move> {
    if workers.is_empty() {
        return Vec::new();
    }
    match settings.balancing {
        Balancing::Utilisation => Utilisation::new(leases, workers, settings).run(),
        Balancing::LeaseCount => lease_count(leases, workers, settings),
    }
}

struct Utilisation<'p, 'a> {
    leases: &'p [PlannedLease<'a>],
    settings: &'p PlanSettings,
    throughput: Vec<f64>,
    workers: Vec<Worker<'p>>,
    fleet_average: BTreeMap<String, f64>,
    /// Average throughput per worker: the fleet's over the active workers.
    target: f64,
    leases_per_worker: f64,
    /// No lease has a throughput: every lease is one unit, and default workers are balanced
    /// by lease count.
    uniform: bool,
    moves: Vec<Move>,
}

impl<'p, 'a> Utilisation<'p, 'a> {
    fn new(
        leases: &'p [PlannedLease<'a>],
        stats: &'p [&'p WorkerMetricStats],
        settings: &'p PlanSettings,
    ) -> Self {
        let known: Vec<f64> = leases
            .iter()
            .filter_map(|l| l.lease.throughput_kbps.map(|t| t.get()))
            .collect();
        let average = if known.is_empty() {
            0.0
        } else {
            known.iter().sum::<f64>() / known.len() as f64
        };
        // No lease has a throughput yet (a new fleet, or idle streams): every lease counts as
        // one unit, so that default workers are balanced by lease count until throughputs are
        // known (the KCL divides 0 by 0 there and leaves the first split as it is).
        let (average, uniform) = if average > 0.0 {
            (average, false)
        } else {
            (1.0, true)
        };
        let throughput: Vec<f64> = leases
            .iter()
            .map(|l| match l.lease.throughput_kbps {
                Some(t) if !uniform => t.get(),
                _ => average,
            })
            .collect();
        let target = average * leases.len() as f64 / stats.len() as f64;
        let mut workers: Vec<Worker<'p>> = stats
            .iter()
            .map(|s| Worker {
                id: s.worker_id.as_str(),
                values: BTreeMap::new(),
                ranges: BTreeMap::new(),
                leases: BTreeSet::new(),
                throughput: 0.0,
                queued: true,
            })
            .collect();
        for (i, l) in leases.iter().enumerate() {
            if let Some(w) = l
                .actual_owner()
                .and_then(|o| workers.iter_mut().find(|w| w.id == o))
            {
                w.leases.insert(i);
                w.throughput += throughput[i];
            }
        }
        for (w, s) in workers.iter_mut().zip(stats) {
            if s.is_default_worker() {
                let share = if target > 0.0 {
                    100.0 * w.throughput / target
                } else {
                    0.0
                };
                w.values.insert(THROUGHPUT.to_owned(), share);
                w.ranges.insert(THROUGHPUT.to_owned(), 100.0);
            } else {
                for (m, range) in &s.operating_range {
                    if s.metric_stats.contains_key(m) {
                        w.values.insert(m.clone(), s.average(m, settings.ema_alpha));
                        w.ranges
                            .insert(m.clone(), range.first().copied().unwrap_or(100) as f64);
                    }
                }
            }
        }
        let mut sums: BTreeMap<String, (f64, usize)> = BTreeMap::new();
        for w in &workers {
            for (m, v) in &w.values {
                let e = sums.entry(m.clone()).or_insert((0.0, 0));
                e.0 += v;
                e.1 += 1;
            }
        }
        let fleet_average = sums
            .into_iter()
            .map(|(m, (s, n))| (m, s / n as f64))
            .collect();
        let leases_per_worker = ((leases.len() / workers.len()).max(1)) as f64;
        let mut plan = Self {
            leases,
            settings,
            throughput,
            workers,
            fleet_average,
            target,
            leases_per_worker,
            uniform,
            moves: Vec::new(),
        };
        for i in 0..plan.workers.len() {
            plan.workers[i].queued = plan.eligible(i);
        }
        plan
    }

    fn eligible(&self, w: usize) -> bool {
        let w = &self.workers[w];
        w.throughput <= self.settings.max_throughput_per_worker_kbps
            && w.leases.len() < self.settings.max_leases_per_worker
    }

    /// How far below the fleet's average the worker is (as a share of its own load): the KCL's
    /// `computePercentageToReachAverage`.
    fn room(&self, w: usize) -> f64 {
        let mut room = f64::MAX;
        for (m, v) in &self.workers[w].values {
            let average = self.fleet_average.get(m).copied().unwrap_or(0.0);
            // An idle worker has the most room (the KCL counts it as room for 100 % more, less
            // than a lightly loaded worker, which can starve it).
            let r = if *v == 0.0 {
                f64::MAX
            } else {
                (average - v) / v
            };
            room = room.min(r);
        }
        room
    }

    /// Takes the queued worker with the most room (ties: fewer leases, then id).
    fn poll(&mut self) -> Option<usize> {
        self.poll_except(None)
    }

    /// [`poll`](Self::poll), skipping `except` when another worker is queued.
    fn poll_except(&mut self, except: Option<usize>) -> Option<usize> {
        let others = (0..self.workers.len()).any(|w| self.workers[w].queued && Some(w) != except);
        let best = (0..self.workers.len())
            .filter(|w| self.workers[*w].queued && !(others && Some(*w) == except))
            .max_by(|a, b| {
                self.room(*a)
                    .total_cmp(&self.room(*b))
                    .then(
                        self.workers[*b]
                            .leases
                            .len()
                            .cmp(&self.workers[*a].leases.len()),
                    )
                    .then(self.workers[*b].id.cmp(self.workers[*a].id))
            })?;
        self.workers[best].queued = false;
        Some(best)
    }

    /// How much giving lease `l` adds to metric `m` of a worker.
    /// When default workers are balanced by lease count (no lease has a throughput) and `m`
    /// is their metric: the share of one lease, in the metric's unit (percent of the target).
    fn lease_share(&self, m: &str) -> Option<f64> {
        (self.uniform && m == THROUGHPUT && self.target > 0.0).then(|| 100.0 / self.target)
    }

    fn increase(&self, l: usize, m: &str) -> f64 {
        let average = self.fleet_average.get(m).copied().unwrap_or(0.0);
        if self.target > 0.0 {
            self.throughput[l] * average / self.target
        } else {
            average / self.leases_per_worker
        }
    }

    fn assign(&mut self, l: usize, w: usize, expired: bool) {
        let lease = &self.leases[l];
        let pending = expired && lease.lease.checkpoint_owner.is_some();
        let current = self.workers.iter().position(|x| x.leases.contains(&l));
        if !pending && current == Some(w) {
            self.workers[w].queued = self.eligible(w);
            return;
        }
        let metrics: Vec<String> = self.workers[w].values.keys().cloned().collect();
        for m in metrics {
            let inc = self.increase(l, &m);
            if let Some(v) = self.workers[w].values.get_mut(&m) {
                *v += inc;
            }
        }
        if let Some(c) = current {
            self.workers[c].leases.remove(&l);
            self.workers[c].throughput -= self.throughput[l];
        }
        self.workers[w].leases.insert(l);
        self.workers[w].throughput += self.throughput[l];
        self.moves.retain(|m| m.lease_key != lease.lease.lease_key);
        self.moves.push(Move {
            lease_key: lease.lease.lease_key.clone(),
            to: self.workers[w].id.to_owned(),
            expired,
        });
        self.workers[w].queued = self.eligible(w);
    }

    fn run(mut self) -> Vec<Move> {
        let mut expired: Vec<usize> = (0..self.leases.len())
            .filter(|i| self.leases[*i].expired && !self.leases[*i].blocked)
            .collect();
        // Unassigned first, then the longest expired: the caller orders expired leases so.
        expired.sort_by_key(|i| self.leases[*i].lease.lease_owner.is_some());
        for l in expired {
            // An expired lease's owner stopped renewing it: it goes to another worker when
            // there is one (the KCL may give it back to that owner while its report is fresh,
            // which delays the failover by up to a minute).
            let owner = self.workers.iter().position(|w| w.leases.contains(&l));
            let Some(w) = self.poll_except(owner) else {
                break;
            };
            self.assign(l, w, true);
        }
        if self.settings.balance {
            self.balance();
        }
        self.moves
    }

    fn balance(&mut self) {
        let threshold = self.settings.rebalance_threshold_percent / 100.0;
        let dampening = self.settings.dampening_percent / 100.0;
        let mut best: Vec<(usize, f64)> = Vec::new();
        let mut best_sum = -1.0;
        for (m, average) in self.fleet_average.clone() {
            let having: Vec<usize> = (0..self.workers.len())
                .filter(|w| self.workers[*w].values.contains_key(&m))
                .collect();
            let (mut upper, mut lower) = (average * (1.0 + threshold), average * (1.0 - threshold));
            if let Some(per_lease) = self.lease_share(&m) {
                // Lease counts: balanced when every worker holds ⌊target⌋ or ⌈target⌉ leases
                // (a percentage of a small count would move a lease back and forth, or never).
                let (most, least) = (self.target.ceil(), self.target.floor());
                (upper, lower) = ((most + 0.5) * per_lease, (least - 0.5) * per_lease);
            }
            let mut triggered = false;
            let mut sources = Vec::new();
            for &w in &having {
                let v = self.workers[w].values[&m];
                // A default worker's range is the target (100 %): by lease count, ⌈target⌉ is
                // within bounds.
                let above_range = self.lease_share(&m).is_none()
                    && v > self.workers[w].ranges.get(&m).copied().unwrap_or(f64::MAX);
                if v > upper || v < lower || above_range {
                    triggered = true;
                }
                if v >= upper || above_range {
                    sources.push(w);
                }
            }
            if !triggered {
                continue;
            }
            if sources.is_empty()
                && let Some(most) = having.iter().copied().max_by(|a, b| {
                    self.workers[*a].values[&m].total_cmp(&self.workers[*b].values[&m])
                })
            {
                sources.push(most);
            }
            let take: Vec<(usize, f64)> = sources
                .iter()
                .filter_map(|&w| {
                    let v = self.workers[w].values[&m];
                    (v > 0.0).then(|| {
                        (
                            w,
                            self.workers[w].throughput * ((v - average) / v) * dampening,
                        )
                    })
                })
                .collect();
            let sum: f64 = take.iter().map(|(_, t)| t).sum();
            if sum > best_sum {
                best = take;
                best_sum = sum;
            }
        }
        best.sort_by(|a, b| b.1.total_cmp(&a.1));
        for (w, amount) in best {
            // Smallest first (the KCL picks in random order): the most leases fit under the
            // amount, and a receiver near the average can still take one.
            let mut owned: Vec<usize> = self.workers[w]
                .leases
                .iter()
                .copied()
                .filter(|l| !self.leases[*l].blocked)
                .collect();
            owned.sort_by(|a, b| self.throughput[*a].total_cmp(&self.throughput[*b]));
            if owned.is_empty() {
                continue;
            }
            let mut pick = Vec::new();
            if self.workers[w].throughput == 0.0 {
                pick.push(owned[0]);
            } else {
                let mut remaining = amount;
                for &l in &owned {
                    if remaining - self.throughput[l] > 0.0 {
                        remaining -= self.throughput[l];
                        pick.push(l);
                    }
                }
                if pick.is_empty()
                    && self.settings.allow_throughput_overshoot
                    && let Some(least) = owned
                        .iter()
                        .copied()
                        .min_by(|a, b| self.throughput[*a].total_cmp(&self.throughput[*b]))
                {
                    pick.push(least);
                }
            }
            for l in pick {
                let Some(to) = self.poll() else { break };
                let overloads = self.workers[to].values.iter().any(|(m, v)| {
                    let after = v + self.increase(l, m);
                    if let Some(per_lease) = self.lease_share(m) {
                        // Lease counts: a receiver may reach ⌈target⌉ leases.
                        return after > self.target.ceil() * per_lease + 1e-9;
                    }
                    after > self.fleet_average.get(m).copied().unwrap_or(0.0)
                        || after > self.workers[to].ranges.get(m).copied().unwrap_or(f64::MAX)
                });
                if overloads {
                    break;
                }
                self.assign(l, to, false);
            }
        }
    }
}

/// KCL 3.4.3's `LEASE_COUNT_BASED` decider.
fn lease_count(
    leases: &[PlannedLease<'_>],
    workers: &[&WorkerMetricStats],
    settings: &PlanSettings,
) -> Vec<Move> {
    let n = workers.len();
    let target = if n >= leases.len() {
        1
    } else {
        leases.len().div_ceil(n)
    }
    .min(settings.max_leases_per_worker);
    let mut owned: BTreeMap<&str, Vec<usize>> = workers
        .iter()
        .map(|w| (w.worker_id.as_str(), Vec::new()))
        .collect();
    for (i, l) in leases.iter().enumerate() {
        if let Some(list) = l.actual_owner().and_then(|o| owned.get_mut(o)) {
            list.push(i);
        }
    }
    let mut moves: Vec<Move> = Vec::new();
    let give = |moves: &mut Vec<Move>, l: usize, to: &str, expired: bool| {
        moves.retain(|m| m.lease_key != leases[l].lease.lease_key);
        moves.push(Move {
            lease_key: leases[l].lease.lease_key.clone(),
            to: to.to_owned(),
            expired,
        });
    };
    // Expired and unassigned leases, each to the worker with the fewest below the target (the
    // KCL fills one worker to the target before the next: 2/2/1/0 for 5 leases on 4 workers),
    // other than the owner that stopped renewing it when there is one.
    for l in (0..leases.len()).filter(|l| leases[*l].expired && !leases[*l].blocked) {
        let owner = leases[l].actual_owner();
        let pick = |skip_owner: bool| {
            owned
                .iter()
                .filter(|(w, v)| v.len() < target && !(skip_owner && Some(**w) == owner))
                .min_by_key(|(w, v)| (v.len(), **w))
                .map(|(w, _)| *w)
        };
        let Some(w) = pick(true).or_else(|| pick(false)) else {
            break;
        };
        if let Some(from) = owner.and_then(|o| owned.get_mut(o)) {
            from.retain(|x| *x != l);
        }
        if let Some(v) = owned.get_mut(w) {
            v.push(l);
        }
        give(&mut moves, l, w, true);
    }
    if settings.balance {
        loop {
            let mut by_count: Vec<&str> = owned.keys().copied().collect();
            by_count.sort_by_key(|w| (owned[w].len(), *w));
            let (Some(&low), Some(&high)) = (by_count.first(), by_count.last()) else {
                break;
            };
            if owned[low].len() >= target || owned[high].len() <= target {
                break;
            }
            let Some(pos) = owned[high].iter().position(|l| !leases[*l].blocked) else {
                break;
            };
            let l = owned
                .get_mut(high)
                .map(|v| v.remove(pos))
                .unwrap_or_default();
            if let Some(v) = owned.get_mut(low) {
                v.push(l);
            }
            give(&mut moves, l, low, false);
        }
    }
    moves
}

#[cfg(test)]
mod tests {
    use super::*;
    use kinesis_kcl_compat::fleet::CPU;
    use kinesis_kcl_compat::lease::ThroughputKbps;
    use kinesis_kcl_compat::sequence::Checkpoint;

    fn lease(n: usize, owner: Option<&str>, kbps: Option<f64>) -> Lease {
        let mut l = Lease::new(
            format!("shardId-{n:012}").parse().unwrap(),
            Checkpoint::TRIM_HORIZON,
        );
        l.lease_owner = owner.map(str::to_owned);
        l.throughput_kbps = kbps.and_then(ThroughputKbps::new);
        l
    }

    fn planned(leases: &[Lease]) -> Vec<PlannedLease<'_>> {
        leases
            .iter()
            .map(|l| PlannedLease {
                lease: l,
                expired: l.lease_owner.is_none(),
                blocked: false,
            })
            .collect()
    }

    fn counts(leases: &[Lease], moves: &[Move]) -> BTreeMap<String, usize> {
        let mut c = BTreeMap::new();
        for l in leases {
            let owner = moves
                .iter()
                .find(|m| m.lease_key == l.lease_key)
                .map(|m| m.to.clone())
                .or(l.lease_owner.clone());
            if let Some(o) = owner {
                *c.entry(o).or_insert(0) += 1;
            }
        }
        c
    }

    #[test]
    fn a_new_fleet_of_default_workers_starts_evenly_split() {
        let leases: Vec<Lease> = (0..7).map(|n| lease(n, None, None)).collect();
        let a = WorkerMetricStats::default_worker("a", 0);
        let b = WorkerMetricStats::default_worker("b", 0);
        let c = WorkerMetricStats::default_worker("c", 0);
        let moves = plan(&planned(&leases), &[&a, &b, &c], &PlanSettings::default());
        assert_eq!(moves.len(), 7);
        assert!(moves.iter().all(|m| m.expired));
        let c = counts(&leases, &moves);
        assert_eq!(
            c.values().copied().collect::<Vec<_>>(),
            vec![3, 2, 2],
            "{c:?}"
        );
    }

    #[test]
    fn a_hot_cpu_worker_gives_throughput_to_a_cold_one() {
        let leases: Vec<Lease> = (0..6).map(|n| lease(n, Some("hot"), Some(100.0))).collect();
        let mut hot = WorkerMetricStats::default_worker("hot", 0);
        hot.push_value(CPU, 90.0);
        let mut cold = WorkerMetricStats::default_worker("cold", 0);
        cold.push_value(CPU, 10.0);
        let moves = plan(&planned(&leases), &[&hot, &cold], &PlanSettings::default());
        assert!(
            !moves.is_empty() && moves.iter().all(|m| m.to == "cold" && !m.expired),
            "{moves:?}"
        );
        assert!(moves.len() < 6, "dampened: {moves:?}");
    }

    #[test]
    fn no_balancing_inside_the_threshold() {
        let leases: Vec<Lease> = (0..4)
            .map(|n| lease(n, Some(if n % 2 == 0 { "a" } else { "b" }), Some(10.0)))
            .collect();
        let mut a = WorkerMetricStats::default_worker("a", 0);
        a.push_value(CPU, 50.0);
        let mut b = WorkerMetricStats::default_worker("b", 0);
        b.push_value(CPU, 52.0);
        assert!(plan(&planned(&leases), &[&a, &b], &PlanSettings::default()).is_empty());
    }

    #[test]
    fn idle_default_workers_end_within_one_lease_of_each_other() {
        let owners = ["a", "a", "b", "b", "c", "c", "c", "c"];
        let leases: Vec<Lease> = (0..8).map(|n| lease(n, Some(owners[n]), None)).collect();
        let (a, b, c) = (
            WorkerMetricStats::default_worker("a", 0),
            WorkerMetricStats::default_worker("b", 0),
            WorkerMetricStats::default_worker("c", 0),
        );
        // 2, 2 and 4 of 8: one lease moves off the worker with 4 (its excess, dampened, is
        // under one lease; the receiver may reach 3, the count's ceiling).
        let moves = plan(&planned(&leases), &[&a, &b, &c], &PlanSettings::default());
        assert_eq!(moves.len(), 1, "{moves:?}");
        let after = counts(&leases, &moves);
        assert_eq!(after["c"], 3);
        assert_eq!(after["a"] + after["b"], 5);
        // 3, 3 and 2: balanced; nothing moves back and forth.
        let owners = ["a", "a", "a", "b", "b", "b", "c", "c"];
        let leases: Vec<Lease> = (0..8).map(|n| lease(n, Some(owners[n]), None)).collect();
        let moves = plan(&planned(&leases), &[&a, &b, &c], &PlanSettings::default());
        assert!(moves.is_empty(), "{moves:?}");
    }

    #[test]
    fn lease_count_moves_from_the_most_to_the_least_loaded() {
        let leases: Vec<Lease> = (0..6).map(|n| lease(n, Some("a"), None)).collect();
        let a = WorkerMetricStats::default_worker("a", 0);
        let b = WorkerMetricStats::default_worker("b", 0);
        let settings = PlanSettings {
            balancing: Balancing::LeaseCount,
            ..PlanSettings::default()
        };
        let moves = plan(&planned(&leases), &[&a, &b], &settings);
        assert_eq!(moves.len(), 3);
        assert_eq!(counts(&leases, &moves)["b"], 3);
    }
}
