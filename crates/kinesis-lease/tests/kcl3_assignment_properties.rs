//! Properties of the KCL 3.x leader's plan (`kcl3::assignment::plan`), for any number of
//! workers, leases and loads: every lease ends up with an active worker, a new fleet starts
//! evenly split, repeated runs converge, and the lease-count strategy respects its target.

use std::collections::BTreeMap;

use kinesis_kcl_compat::fleet::WorkerMetricStats;
use kinesis_kcl_compat::lease::{Lease, ThroughputKbps};
use kinesis_kcl_compat::sequence::Checkpoint;
use kinesis_lease::kcl3::Balancing;
use kinesis_lease::kcl3::assignment::{PlanSettings, PlannedLease, plan};
use proptest::prelude::*;

fn worker_id(w: usize) -> String {
    format!("w{w}")
}

fn leases(owners: &[Option<usize>], kbps: &[f64]) -> Vec<Lease> {
    owners
        .iter()
        .enumerate()
        .map(|(i, o)| {
            let mut l = Lease::new(
                format!("shardId-{i:012}").parse().unwrap(),
                Checkpoint::TRIM_HORIZON,
            );
            l.lease_owner = o.map(worker_id);
            l.throughput_kbps = ThroughputKbps::new(kbps[i % kbps.len()]);
            l
        })
        .collect()
}

/// Runs the plan `runs` times (balancing every run), applying its moves; returns the leases and
/// how many moves the last run made.
fn converge(
    mut table: Vec<Lease>,
    workers: usize,
    balancing: Balancing,
    runs: usize,
) -> (Vec<Lease>, usize) {
    let stats: Vec<WorkerMetricStats> = (0..workers)
        .map(|w| WorkerMetricStats::default_worker(worker_id(w), 0))
        .collect();
    let refs: Vec<&WorkerMetricStats> = stats.iter().collect();
    let settings = PlanSettings {
        balancing,
        ..PlanSettings::default()
    };
    let mut last = 0;
    for _ in 0..runs {
        let planned: Vec<PlannedLease<'_>> = table
            .iter()
            .map(|l| PlannedLease {
                lease: l,
                expired: l.lease_owner.is_none(),
                blocked: false,
            })
            .collect();
        let moves = plan(&planned, &refs, &settings);
        last = moves.len();
        let moves: BTreeMap<_, _> = moves.into_iter().map(|m| (m.lease_key, m.to)).collect();
        for l in &mut table {
            if let Some(to) = moves.get(&l.lease_key) {
                l.lease_owner = Some(to.clone());
            }
        }
        if last == 0 {
            break;
        }
    }
    (table, last)
}

fn counts(table: &[Lease], workers: usize) -> Vec<usize> {
    (0..workers)
        .map(|w| {
            table
                .iter()
                .filter(|l| l.lease_owner.as_deref() == Some(worker_id(w).as_str()))
                .count()
        })
        .collect()
}

proptest! {
    #[test]
    fn a_new_fleet_starts_evenly_split(workers in 1usize..8, n in 0usize..40, balancing in prop::bool::ANY) {
        let balancing = if balancing { Balancing::Utilisation } else { Balancing::LeaseCount };
        let table = leases(&vec![None; n], &[0.0]);
        let (table, _) = converge(table, workers, balancing, 1);
        prop_assert!(table.iter().all(|l| l.lease_owner.is_some()));
        let c = counts(&table, workers);
        prop_assert!(c.iter().max().unwrap() - c.iter().min().unwrap() <= 1, "{c:?}");
    }

    #[test]
    fn lease_count_balancing_respects_its_target(
        workers in 1usize..8,
        owners in prop::collection::vec(prop::option::of(0usize..8), 0..40),
    ) {
        let owners: Vec<Option<usize>> = owners.into_iter().map(|o| o.map(|w| w % workers)).collect();
        let n = owners.len();
        let (table, last) = converge(leases(&owners, &[1.0]), workers, Balancing::LeaseCount, 50);
        prop_assert_eq!(last, 0, "no convergence");
        prop_assert!(table.iter().all(|l| l.lease_owner.is_some()));
        let target = if workers >= n { 1 } else { n.div_ceil(workers) };
        let c = counts(&table, workers);
        prop_assert!(c.iter().all(|x| *x <= target), "{c:?} target {target}");
    }

    #[test]
    fn utilisation_balancing_converges_near_the_average(
        workers in 2usize..6,
        owners in prop::collection::vec(0usize..6, 1..40),
        kbps in prop::collection::vec(1.0f64..100.0, 1..5),
    ) {
        let owners: Vec<Option<usize>> = owners.into_iter().map(|w| Some(w % workers)).collect();
        let table = leases(&owners, &kbps);
        let (table, last) = converge(table, workers, Balancing::Utilisation, 200);
        prop_assert_eq!(last, 0, "no convergence");
        // Balanced as far as the KCL's rules allow: the most loaded worker is within the
        // threshold of the average, or giving its smallest lease to the least loaded worker would
        // put that one above the average (the receiver must stay at or below it).
        let total: f64 = table.iter().map(|l| l.throughput_kbps.unwrap().get()).sum();
        let average = total / workers as f64;
        let load = |w: usize| -> f64 {
            table
                .iter()
                .filter(|l| l.lease_owner.as_deref() == Some(worker_id(w).as_str()))
                .map(|l| l.throughput_kbps.unwrap().get())
                .sum()
        };
        let loads: Vec<f64> = (0..workers).map(load).collect();
        let (most, least) = (
            (0..workers).max_by(|a, b| loads[*a].total_cmp(&loads[*b])).unwrap(),
            (0..workers).min_by(|a, b| loads[*a].total_cmp(&loads[*b])).unwrap(),
        );
        let smallest = table
            .iter()
            .filter(|l| l.lease_owner.as_deref() == Some(worker_id(most).as_str()))
            .map(|l| l.throughput_kbps.unwrap().get())
            .fold(f64::MAX, f64::min);
        prop_assert!(
            loads[most] <= average * 1.1 + 1e-9 || loads[least] + smallest > average - 1e-9,
            "loads {loads:?}, average {average}"
        );
    }
}
