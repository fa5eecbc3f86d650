//! The lease protocol at scale, in virtual time: fleets of coordinators over one in-memory lease
//! table, with the KCL's default timings. For each size and protocol it measures how long the
//! fleet takes to balance (every lease owned by a live worker, each worker within the split the
//! protocol guarantees) from a cold start, after a worker joins, after one shuts down (releasing
//! its leases) and after one crashes (no release, no renewal), then counts the lease table
//! calls of ten steady minutes and compares them with what the timings predict.
//!
//! By default the small sizes run and assert. `LEASE_SCALE_FULL=1` runs every size (100, 1000
//! and 4000 shards; 2, 20 and 100 workers) under both protocols and prints the table that
//! `docs/leases.md` quotes:
//!
//! ```text
//! LEASE_SCALE_FULL=1 cargo test --release -p kinesis-lease --test coordinator_scale -- --nocapture
//! ```
//!
//! `LEASE_SCALE_PROTOCOL` (`kcl2`, `kcl2-no-probes` or `kcl3`) runs one protocol only,
//! `LEASE_SCALE_SHARDS` (say `100,1000`) those sizes only, and
//! `LEASE_SCALE_LIMIT_SECS` bounds each wait for balance (virtual seconds, default 4 hours).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use kinesis_lease::coordinator::{
    AcquiredLease, CoordinatorSettings, LeaseCoordinator, LeaseStatus,
};
use kinesis_lease::kcl3::Kcl3Settings;
use kinesis_lease::lineage::{InitialPosition, ShardInfo};
use kinesis_lease::repository::{InMemoryLeaseRepository, RepositoryMethod};
use kinesis_lease::{Balanced, LeaseProtocol, LeaseRepository};
use tokio::time::Instant;

/// Workers start this far apart, as real ones do.
const STAGGER: Duration = Duration::from_millis(137);
/// How often the observer reads the table while waiting for balance.
const POLL: Duration = Duration::from_secs(1);
/// The steady-state window whose calls are counted.
const STEADY: Duration = Duration::from_secs(600);
const RENEW: f64 = 3.308;
const TAKE: f64 = 20.05;
/// A lease row's size, as written by the KCL (about 300 bytes with a checkpoint).
const ROW_BYTES: f64 = 300.0;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Protocol {
    /// The KCL 2.x rules, with or without the expiry probes (on by default).
    Kcl2 {
        probes: bool,
    },
    Kcl3,
}

impl Protocol {
    const ALL: [Self; 3] = [
        Self::Kcl2 { probes: true },
        Self::Kcl2 { probes: false },
        Self::Kcl3,
    ];

    fn name(self) -> &'static str {
        match self {
            Self::Kcl2 { probes: true } => "KCL 2.x",
            Self::Kcl2 { probes: false } => "KCL 2.x, no probes",
            Self::Kcl3 => "KCL 3.x",
        }
    }

    fn key(self) -> &'static str {
        match self {
            Self::Kcl2 { probes: true } => "kcl2",
            Self::Kcl2 { probes: false } => "kcl2-no-probes",
            Self::Kcl3 => "kcl3",
        }
    }

    fn settings(self) -> CoordinatorSettings {
        let (protocol, probes) = match self {
            Self::Kcl2 { probes } => (LeaseProtocol::Kcl2, probes),
            Self::Kcl3 => (
                LeaseProtocol::Kcl3(Kcl3Settings::default().with_cpu_metric(false)),
                true,
            ),
        };
        CoordinatorSettings::default()
            .with_initial_position(InitialPosition::TrimHorizon)
            .with_protocol(protocol)
            .with_expiry_probes(probes)
    }

    /// Whether a worker holding `count` of `n` leases split over `w` workers is where the
    /// protocol leaves it: under the KCL 2.x rules, ⌊n / w⌋ or ⌈n / w⌉; under the KCL 3.x
    /// leader's (utilisation, each idle lease one unit), that or within the rebalance threshold
    /// (±10 %) of the average.
    fn balanced(self, count: usize, n: usize, w: usize) -> bool {
        if (n / w..=n.div_ceil(w)).contains(&count) {
            return true;
        }
        let average = n as f64 / w as f64;
        self == Self::Kcl3 && (average * 0.9..=average * 1.1).contains(&(count as f64))
    }
}

/// Workers sharing one lease table.
struct Fleet {
    protocol: Protocol,
    repo: InMemoryLeaseRepository,
    shards: Vec<ShardInfo>,
    settings: CoordinatorSettings,
    live: Vec<LeaseCoordinator>,
    started: usize,
}

impl Fleet {
    fn new(protocol: Protocol, shards: usize) -> Self {
        Self {
            protocol,
            repo: InMemoryLeaseRepository::new(),
            shards: (0..shards)
                .map(|i| ShardInfo::new(format!("shardId-{i:012}").parse().unwrap()))
                .collect(),
            settings: protocol.settings(),
            live: Vec::new(),
            started: 0,
        }
    }

    /// Starts one more worker, whose consumer ends each lease with a final checkpoint (and
    /// release) unless it was lost.
    async fn join(&mut self) {
        let n = self.started;
        self.started += 1;
        let c = LeaseCoordinator::builder(Arc::new(self.repo.clone()), format!("w{n:03}"))
            .strategy(Arc::new(Balanced::with_seed(n as u64)))
            .settings(self.settings.clone())
            .build();
        c.update_shards(self.shards.iter());
        let mut acquisitions = c.acquisitions().unwrap();
        tokio::spawn(async move {
            while let Some(AcquiredLease {
                signal,
                checkpointer,
                ..
            }) = acquisitions.recv().await
            {
                let mut signal = signal;
                tokio::spawn(async move {
                    if signal.ended().await != LeaseStatus::Lost {
                        let _ = checkpointer.checkpoint_and_release().await;
                    }
                });
            }
        });
        c.start().await.unwrap();
        self.live.push(c);
    }

    /// Shuts the worker at `index` of the live ones down (its leases released).
    async fn stop(&mut self, index: usize) {
        let c = self.live.remove(index);
        c.shutdown().await;
    }

    /// Drops the worker at `index`: its loops end, nothing is released.
    fn crash(&mut self, index: usize) {
        drop(self.live.remove(index));
    }

    /// Whether every lease is owned by a live worker, none is being handed over, and each live
    /// worker's share is balanced ([`Protocol::balanced`]).
    async fn balanced(&self) -> bool {
        let scan = self.repo.list_leases().await.unwrap();
        if scan.leases.len() != self.shards.len() {
            return false;
        }
        let mut counts: BTreeMap<&str, usize> =
            self.live.iter().map(|c| (c.worker_id(), 0)).collect();
        for lease in &scan.leases {
            if lease.checkpoint_owner.is_some() {
                return false;
            }
            match lease.lease_owner.as_deref().and_then(|o| counts.get_mut(o)) {
                Some(n) => *n += 1,
                None => return false,
            }
        }
        let (n, w) = (self.shards.len(), self.live.len());
        counts.values().all(|&c| self.protocol.balanced(c, n, w))
    }

    /// Virtual time until balanced, polled every second; `None` after `limit`.
    async fn until_balanced(&self, since: Instant, limit: Duration) -> Option<Duration> {
        loop {
            if self.balanced().await {
                return Some(since.elapsed());
            }
            if since.elapsed() > limit {
                return None;
            }
            tokio::time::sleep(POLL).await;
        }
    }

    async fn shutdown(self) {
        for c in self.live {
            c.shutdown().await;
        }
    }
}

/// What one run measured.
#[derive(Debug)]
struct Run {
    protocol: Protocol,
    shards: usize,
    workers: usize,
    start: Option<Duration>,
    join: Option<Duration>,
    stop: Option<Duration>,
    crash: Option<Duration>,
    /// Calls per second in steady state, by method.
    rates: BTreeMap<RepositoryMethod, f64>,
}

async fn run(protocol: Protocol, shards: usize, workers: usize, limit: Duration) -> Run {
    let mut fleet = Fleet::new(protocol, shards);
    let t0 = Instant::now();
    for _ in 0..workers {
        fleet.join().await;
        tokio::time::sleep(STAGGER).await;
    }
    let start = fleet.until_balanced(t0, limit).await;

    // Steady state: no observer reads while the calls are counted.
    tokio::time::sleep(Duration::from_secs(30)).await;
    fleet.repo.reset_call_counts();
    tokio::time::sleep(STEADY).await;
    let rates = RepositoryMethod::ALL
        .iter()
        .map(|m| (*m, fleet.repo.call_count(*m) as f64 / STEADY.as_secs_f64()))
        .filter(|(_, r)| *r > 0.0)
        .collect();

    let t = Instant::now();
    fleet.join().await;
    let join = fleet.until_balanced(t, limit).await;

    // Neither the first worker (the KCL 3.x leader) nor the newest.
    let t = Instant::now();
    fleet.stop(1).await;
    let stop = fleet.until_balanced(t, limit).await;

    let t = Instant::now();
    fleet.crash(fleet.live.len() - 1);
    let crash = fleet.until_balanced(t, limit).await;

    fleet.shutdown().await;
    Run {
        protocol,
        shards,
        workers,
        start,
        join,
        stop,
        crash,
        rates,
    }
}

fn rate(run: &Run, m: RepositoryMethod) -> f64 {
    run.rates.get(&m).copied().unwrap_or(0.0)
}

/// Read units of one consistent scan of `rows` rows.
fn scan_units(rows: usize) -> f64 {
    (rows as f64 * ROW_BYTES / 4096.0).ceil()
}

/// Write and read units per second.
fn units(run: &Run) -> (f64, f64) {
    use RepositoryMethod as M;
    let writes: f64 = run
        .rates
        .iter()
        .filter(|(m, _)| {
            !matches!(
                m,
                M::ListLeases | M::GetLease | M::LeaseKeysOf | M::ScanFleet | M::GetRow
            )
        })
        .map(|(_, r)| r)
        .sum();
    let reads = rate(run, M::ListLeases) * scan_units(run.shards)
        + rate(run, M::ScanFleet) * scan_units(run.shards + run.workers + 2)
        + rate(run, M::GetLease)
        + rate(run, M::GetRow)
        + rate(run, M::LeaseKeysOf) * 0.5;
    (writes, reads)
}

/// The calls per second the KCL's timings predict: under 2.x, a scan per worker per take
/// interval and a renewal per lease per renew interval; under 3.x, the same renewals, a leader
/// scan and a lock check per worker every 20 s, an index query per worker every 9.975 s and a
/// report per worker every 30 s.
fn predicted(run: &Run) -> f64 {
    let (n, w) = (run.shards as f64, run.workers as f64);
    match run.protocol {
        Protocol::Kcl2 { .. } => n / RENEW + w / TAKE,
        Protocol::Kcl3 => n / RENEW + 1.0 / 20.0 + w / 20.0 + w / 9.975 + w / 30.0,
    }
}

fn secs(d: Option<Duration>) -> String {
    d.map_or_else(|| "—".to_owned(), |d| format!("{:.0}", d.as_secs_f64()))
}

fn table(runs: &[Run]) -> String {
    use RepositoryMethod as M;
    let mut out = String::new();
    out.push_str(
        "| protocol | shards | workers | start (s) | join (s) | stop (s) | crash (s) \
         | renewals/s | scans/s | probes/s | queries/s | other/s | calls/s (KCL formula) \
         | calls per shard-hour | WCU/s | RCU/s |\n",
    );
    out.push_str("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    for r in runs {
        let total: f64 = r.rates.values().sum();
        let renew = rate(r, M::RenewLease);
        let scans = rate(r, M::ListLeases) + rate(r, M::ScanFleet);
        let probes = rate(r, M::GetLease);
        let queries = rate(r, M::LeaseKeysOf);
        let other = (total - renew - scans - probes - queries).max(0.0);
        let (wcu, rcu) = units(r);
        writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {:.1} | {:.2} | {:.1} | {:.2} | {:.2} | {:.1} ({:.1}) | {:.0} | {:.1} | {:.1} |",
            r.protocol.name(),
            r.shards,
            r.workers,
            secs(r.start),
            secs(r.join),
            secs(r.stop),
            secs(r.crash),
            renew,
            scans,
            probes,
            queries,
            other,
            total,
            predicted(r),
            total * 3600.0 / r.shards as f64,
            wcu,
            rcu,
        )
        .unwrap();
    }
    out
}

/// Within `tolerance` (a fraction) of `predicted`.
fn near(measured: f64, predicted: f64, tolerance: f64, what: &str) {
    assert!(
        (measured - predicted).abs() <= predicted * tolerance,
        "{what}: measured {measured:.3}/s, predicted {predicted:.3}/s"
    );
}

fn check(r: &Run) {
    use RepositoryMethod as M;
    let what = format!("{} {}×{}", r.protocol.name(), r.shards, r.workers);
    let (n, w) = (r.shards as f64, r.workers as f64);
    let take = Duration::from_secs_f64(TAKE);
    let failover = Duration::from_secs(10);
    let (start, join, stop, crash) = (
        r.start.expect("balanced after the start"),
        r.join.expect("balanced after a join"),
        r.stop.expect("balanced after a shutdown"),
        r.crash.expect("balanced after a crash"),
    );
    near(
        rate(r, M::RenewLease),
        n / RENEW,
        0.05,
        &format!("{what}: renewals"),
    );
    match r.protocol {
        Protocol::Kcl2 { probes } => {
            // A newcomer steals one lease per take interval (the KCL's
            // maxLeasesToStealAtOneTime): the first worker to tick takes every lease, the others
            // steal their share.
            let steals = r.shards.div_ceil(r.workers) as u32;
            assert!(start <= take * (steals + 2), "{what}: start took {start:?}");
            let steals = r.shards.div_ceil(r.workers + 1) as u32;
            assert!(join <= take * (steals + 2), "{what}: join took {join:?}");
            // Released leases are free: taken at the next take pass.
            assert!(stop <= take + POLL, "{what}: stop took {stop:?}");
            // Expired after the failover time; noticed by a probe, or at a take pass.
            let bound = if probes {
                failover * 2 + take
            } else {
                failover + take * 2
            };
            assert!(crash <= bound + POLL, "{what}: crash took {crash:?}");
            near(
                rate(r, M::ListLeases),
                w / TAKE,
                0.05,
                &format!("{what}: scans"),
            );
            // Each worker probes the two owners after it (fewer when there are fewer).
            let expected = if probes {
                w * (w - 1.0).min(2.0) / (2.0 * RENEW)
            } else {
                0.0
            };
            near(
                rate(r, M::GetLease),
                expected,
                0.05,
                &format!("{what}: probes"),
            );
            let total: f64 = r.rates.values().sum();
            near(
                total - rate(r, M::GetLease),
                predicted(r),
                0.02,
                &format!("{what}: calls besides probes"),
            );
        }
        Protocol::Kcl3 => {
            // The leader assigns every unowned lease at its first run.
            assert!(start <= take * 2, "{what}: start took {start:?}");
            // A stopping worker deletes its report: the leader's next run (every 20 s) gives
            // its released leases to the others, who find them at their next index query
            // (every 10 s).
            assert!(
                stop <= Duration::from_secs(30) + POLL,
                "{what}: stop took {stop:?}"
            );
            assert!(
                crash <= Duration::from_secs(120),
                "{what}: crash took {crash:?}"
            );
            assert!(
                join <= Duration::from_secs(600),
                "{what}: join took {join:?}"
            );
            let total: f64 = r.rates.values().sum();
            assert!(
                total <= predicted(r) * 1.02,
                "{what}: {total:.2} calls/s, predicted {:.2}",
                predicted(r)
            );
        }
    }
}

#[tokio::test(start_paused = true)]
async fn small_fleets_balance_and_cost_what_the_timings_predict() {
    let limit = Duration::from_secs(3600);
    let mut runs = Vec::new();
    for protocol in Protocol::ALL {
        for workers in [2, 20] {
            // Without probes only the crash differs, and it differs most in a larger fleet.
            if protocol == (Protocol::Kcl2 { probes: false }) && workers == 2 {
                continue;
            }
            runs.push(run(protocol, 100, workers, limit).await);
        }
    }
    eprintln!("{}", table(&runs));
    for r in &runs {
        check(r);
    }
}

#[tokio::test(start_paused = true)]
async fn the_full_matrix() {
    if std::env::var_os("LEASE_SCALE_FULL").is_none() {
        return;
    }
    let limit = Duration::from_secs(
        std::env::var("LEASE_SCALE_LIMIT_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(4 * 3600),
    );
    // `LEASE_SCALE_PROTOCOL=kcl2|kcl2-no-probes|kcl3` runs one protocol only.
    let only = std::env::var("LEASE_SCALE_PROTOCOL").ok();
    // `LEASE_SCALE_SHARDS=100,1000` runs those sizes only.
    let sizes: Vec<usize> = std::env::var("LEASE_SCALE_SHARDS")
        .ok()
        .map(|s| s.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![100, 1000, 4000]);
    let mut runs = Vec::new();
    for protocol in Protocol::ALL {
        if only.as_deref().is_some_and(|o| o != protocol.key()) {
            continue;
        }
        for &shards in &sizes {
            for workers in [2, 20, 100] {
                let r = run(protocol, shards, workers, limit).await;
                eprintln!("{r:?}");
                runs.push(r);
            }
        }
    }
    println!("{}", table(&runs));
}
