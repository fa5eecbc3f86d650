//! What the lease coordinator reports through the telemetry seam, under the KCL's names and
//! dimensions, over the in-memory repository under paused tokio time.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use kinesis_client::Telemetry;
use kinesis_client::telemetry::{Event, Measurement, MetricsLevel, Recorder};
use kinesis_kcl_compat::metrics::{dimension, renew_all_leases, shard_sync_task, take_leases};
use kinesis_lease::Balanced;
use kinesis_lease::coordinator::{CoordinatorSettings, LeaseCoordinator, LeaseEvent};
use kinesis_lease::lineage::{InitialPosition, ShardInfo};
use kinesis_lease::repository::InMemoryLeaseRepository;

/// One measurement: operation, worker, name, value.
type Seen = (String, String, String, f64);

#[derive(Debug, Default)]
struct Keep {
    measurements: Mutex<Vec<Seen>>,
    events: Mutex<Vec<String>>,
}

impl Recorder for Keep {
    fn level(&self) -> MetricsLevel {
        MetricsLevel::Detailed
    }
    fn record(&self, m: &Measurement<'_>) {
        self.measurements.lock().unwrap().push((
            m.dimension(dimension::OPERATION)
                .unwrap_or_default()
                .to_owned(),
            m.dimension(dimension::WORKER_IDENTIFIER)
                .unwrap_or_default()
                .to_owned(),
            m.name.to_owned(),
            m.value,
        ));
    }
    fn event(&self, event: &dyn Event) {
        if let Some(e) = event.downcast_ref::<LeaseEvent>() {
            self.events.lock().unwrap().push(format!("{e:?}"));
        }
    }
}

impl Keep {
    fn values(&self, operation: &str, worker: &str, name: &str) -> Vec<f64> {
        self.measurements
            .lock()
            .unwrap()
            .iter()
            .filter(|(o, w, n, _)| o == operation && w == worker && n == name)
            .map(|(_, _, _, v)| *v)
            .collect()
    }
}

fn shard(i: usize) -> ShardInfo {
    ShardInfo::new(format!("shardId-{i:012}").parse().unwrap())
}

fn coordinator(repo: &InMemoryLeaseRepository, id: &str, keep: &Arc<Keep>) -> LeaseCoordinator {
    let c = LeaseCoordinator::builder(Arc::new(repo.clone()), id)
        .strategy(Arc::new(Balanced::with_seed(7)))
        .settings(
            CoordinatorSettings::default().with_initial_position(InitialPosition::TrimHorizon),
        )
        .telemetry(Telemetry::new(Arc::clone(keep)))
        .build();
    c.update_shards((0..4).map(shard).collect::<Vec<_>>().iter());
    let mut acquisitions = c.acquisitions().unwrap();
    // The leases are only counted, not consumed.
    tokio::spawn(async move { while acquisitions.recv().await.is_some() {} });
    c
}

#[tokio::test(start_paused = true)]
async fn renew_and_take_passes_report_under_the_kcl_names() {
    let repo = InMemoryLeaseRepository::new();
    let keep = Arc::new(Keep::default());
    let mut events = {
        let one = coordinator(&repo, "worker-1", &keep);
        let events = one.events();
        one.start().await.unwrap();
        tokio::time::sleep(Duration::from_secs(30)).await;

        // One worker took the four leases and renews them.
        let taken: f64 = keep
            .values(
                take_leases::OPERATION,
                "worker-1",
                take_leases::TAKEN_LEASES,
            )
            .iter()
            .sum();
        assert_eq!(taken, 4.0);
        assert_eq!(
            keep.values(take_leases::OPERATION, "worker-1", take_leases::NUM_WORKERS)
                .first(),
            Some(&1.0)
        );
        assert!(
            keep.values(
                take_leases::OPERATION,
                "worker-1",
                take_leases::LIST_LEASES_SUCCESS
            )
            .iter()
            .all(|v| *v == 1.0)
        );
        // Created for this worker (the KCL creates them unowned, then takes them).
        assert_eq!(
            keep.values(
                shard_sync_task::OPERATION,
                "",
                shard_sync_task::CREATE_LEASE_SUCCESS
            ),
            vec![1.0; 4]
        );
        assert_eq!(
            keep.values(
                renew_all_leases::OPERATION,
                "worker-1",
                renew_all_leases::CURRENT_LEASES
            )
            .last(),
            Some(&4.0)
        );
        assert!(
            keep.values(
                renew_all_leases::OPERATION,
                "worker-1",
                renew_all_leases::RENEW_LEASE_SUCCESS
            )
            .iter()
            .all(|v| *v == 1.0)
        );
        assert!(
            keep.values(
                renew_all_leases::OPERATION,
                "worker-1",
                renew_all_leases::SUCCESS
            )
            .iter()
            .all(|v| *v == 1.0)
        );

        // A second worker steals its share; the first reports what it lost.
        let two = coordinator(&repo, "worker-2", &keep);
        two.start().await.unwrap();
        tokio::time::sleep(Duration::from_secs(120)).await;
        let lost: f64 = keep
            .values(
                renew_all_leases::OPERATION,
                "worker-1",
                renew_all_leases::LOST_LEASES,
            )
            .iter()
            .sum();
        let stolen: f64 = keep
            .values(
                take_leases::OPERATION,
                "worker-2",
                take_leases::TAKEN_LEASES,
            )
            .iter()
            .sum();
        assert_eq!(lost, 2.0, "worker-1 loses what worker-2 steals");
        assert_eq!(stolen, 2.0);
        assert_eq!(
            keep.values(take_leases::OPERATION, "worker-2", take_leases::NUM_WORKERS)
                .last(),
            Some(&2.0)
        );
        assert_eq!(
            keep.values(
                renew_all_leases::OPERATION,
                "worker-1",
                renew_all_leases::CURRENT_LEASES
            )
            .last(),
            Some(&2.0)
        );
        two.shutdown().await;
        one.shutdown().await;
        events
    };

    // The event stream is a view over the same seam: what it delivered, the recorder saw.
    let mut streamed = Vec::new();
    while let Ok(e) = events.try_recv() {
        streamed.push(format!("{e:?}"));
    }
    // (The recorder saw both workers' events, the stream only worker-1's.)
    let mut recorded = keep.events.lock().unwrap().clone();
    assert!(streamed.len() > 4, "{streamed:?}");
    for e in &streamed {
        let at = recorded.iter().position(|r| r == e);
        assert!(at.is_some(), "{e} was streamed but not recorded");
        recorded.remove(at.unwrap());
    }
}

#[tokio::test(start_paused = true)]
async fn a_summary_recorder_gets_no_detailed_metric() {
    #[derive(Debug, Default)]
    struct Names(Mutex<Vec<(String, MetricsLevel)>>);
    impl Recorder for Names {
        fn level(&self) -> MetricsLevel {
            MetricsLevel::Summary
        }
        fn record(&self, m: &Measurement<'_>) {
            self.0.lock().unwrap().push((m.name.to_owned(), m.level));
        }
    }
    let repo = InMemoryLeaseRepository::new();
    let names = Arc::new(Names::default());
    let c = LeaseCoordinator::builder(Arc::new(repo.clone()), "w")
        .settings(
            CoordinatorSettings::default().with_initial_position(InitialPosition::TrimHorizon),
        )
        .telemetry(Telemetry::new(Arc::clone(&names)))
        .build();
    c.update_shards([shard(0)].iter());
    let mut acquisitions = c.acquisitions().unwrap();
    tokio::spawn(async move { while acquisitions.recv().await.is_some() {} });
    c.start().await.unwrap();
    tokio::time::sleep(Duration::from_secs(30)).await;
    c.shutdown().await;
    let names = names.0.lock().unwrap().clone();
    assert!(
        names
            .iter()
            .any(|(n, _)| n == renew_all_leases::CURRENT_LEASES)
    );
    assert!(
        names.iter().all(|(_, l)| *l == MetricsLevel::Summary),
        "{names:?}"
    );
    assert!(
        !names
            .iter()
            .any(|(n, _)| n == renew_all_leases::RENEW_LEASE_TIME)
    );
}
