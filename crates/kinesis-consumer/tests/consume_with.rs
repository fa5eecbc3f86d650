//! `Consumer::consume_with` on the emulators: every record of every shard handled, checkpoints
//! batched, and a clean stop and restart after a handler error with nothing lost.

mod support;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kinesis_consumer::{CheckpointPolicy, Consumer, ConsumerErrorKind};
use kinesis_kcl_compat::sequence::{Checkpoint, ExtendedSequenceNumber};
use kinesis_serde::Utf8;
use support::{Fixture, eventually};

async fn consumer(fx: &Fixture, id: &str) -> Consumer<String> {
    Consumer::builder(&fx.config, &fx.stream, fx.app.clone())
        .worker_id(id)
        .deserializer(Utf8)
        .settings(fx.settings())
        .build()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consume_with_handles_every_record_of_every_shard() {
    let fx = Fixture::new(2).await;
    let written = fx.put((0..40).map(|i| format!("v{i}")), 8).await;
    let c = consumer(&fx, "w1").await;
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let sink = Arc::clone(&seen);
    let run = tokio::spawn({
        let c = c.clone();
        async move {
            c.consume_with(CheckpointPolicy::default().with_max_records(10), move |r| {
                let sink = Arc::clone(&sink);
                async move {
                    sink.lock().unwrap().push(r.into_data());
                    Ok(())
                }
            })
            .await
        }
    });
    eventually("all 40", Duration::from_secs(30), || {
        seen.lock().unwrap().len() >= 40
    })
    .await;
    c.shutdown().await;
    run.await.unwrap().unwrap();
    let got: BTreeSet<String> = seen.lock().unwrap().iter().cloned().collect();
    assert_eq!(got.len(), 40);
    assert_eq!(seen.lock().unwrap().len(), 40);
    // Checkpointed at each shard's last record, and released.
    for (_, lease) in fx.leases().await {
        let last = written
            .iter()
            .filter(|(_, s, _)| *s == *lease.lease_key.shard_id())
            .map(|(_, _, seq)| seq.clone())
            .next_back()
            .unwrap();
        assert_eq!(
            lease.checkpoint,
            Checkpoint::from(ExtendedSequenceNumber::plain(last))
        );
        assert_eq!(lease.lease_owner, None);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_handler_error_a_restart_consumes_everything_not_yet_handled() {
    let fx = Fixture::new(2).await;
    fx.put((0..50).map(|i| format!("v{i}")), 10).await;
    let handled: Arc<Mutex<Vec<String>>> = Arc::default();

    let c = consumer(&fx, "w1").await;
    let sink = Arc::clone(&handled);
    let err = c
        .consume_with(CheckpointPolicy::default().with_max_records(5), move |r| {
            let sink = Arc::clone(&sink);
            async move {
                if r.data() == "v31" {
                    return Err("v31 cannot be handled yet".into());
                }
                sink.lock().unwrap().push(r.into_data());
                Ok(())
            }
        })
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ConsumerErrorKind::Handler);
    assert!(err.record_position().is_some());
    // The consumer stopped cleanly: every lease released.
    assert!(fx.leases().await.values().all(|l| l.lease_owner.is_none()));

    let again = consumer(&fx, "w1").await;
    let sink = Arc::clone(&handled);
    let run = tokio::spawn({
        let again = again.clone();
        async move {
            again
                .consume_with(CheckpointPolicy::default(), move |r| {
                    let sink = Arc::clone(&sink);
                    async move {
                        sink.lock().unwrap().push(r.into_data());
                        Ok(())
                    }
                })
                .await
        }
    });
    eventually(
        "v31 handled after the restart",
        Duration::from_secs(30),
        || handled.lock().unwrap().iter().any(|v| v == "v31"),
    )
    .await;
    eventually("all 50 handled", Duration::from_secs(30), || {
        handled
            .lock()
            .unwrap()
            .iter()
            .collect::<BTreeSet<_>>()
            .len()
            == 50
    })
    .await;
    again.shutdown().await;
    run.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partitioned_checkpoints_checkpoint_before_a_second_record_of_a_key() {
    use kinesis_consumer::CheckpointBehaviour;
    use kinesis_lease::LeaseRepository;

    let fx = Fixture::new(1).await;
    let keys = ["key1", "key2", "key1", "key3", "key2"];
    let mut written = Vec::new();
    for (i, key) in keys.iter().enumerate() {
        let stored = fx
            .client
            .put_record(
                &fx.stream,
                kinesis_client::PutRecordsEntry::new(
                    format!("m{i}"),
                    kinesis_client::PartitionKey::new(*key).unwrap(),
                ),
            )
            .await
            .unwrap();
        written.push(stored.sequence_number);
    }
    let c = consumer(&fx, "w1").await;
    let repository = Arc::new(fx.repository());
    // What the lease table held when each record was handled.
    let checkpoints: Arc<Mutex<Vec<Checkpoint>>> = Arc::default();
    let sink = Arc::clone(&checkpoints);
    let run = tokio::spawn({
        let c = c.clone();
        async move {
            c.consume_with(
                // Neither count nor time: only the partition keys make checkpoints.
                CheckpointBehaviour::PartitionedByKey(CheckpointPolicy::manual()),
                move |_record| {
                    let (sink, repository) = (Arc::clone(&sink), Arc::clone(&repository));
                    async move {
                        let leases = repository.list_leases().await?.leases;
                        sink.lock().unwrap().push(leases[0].checkpoint.clone());
                        Ok(())
                    }
                },
            )
            .await
        }
    });
    eventually("all five handled", Duration::from_secs(30), || {
        checkpoints.lock().unwrap().len() >= 5
    })
    .await;
    c.shutdown().await;
    run.await.unwrap().unwrap();
    let at = |i: usize| Checkpoint::from(ExtendedSequenceNumber::plain(written[i].clone()));
    let seen = checkpoints.lock().unwrap().clone();
    // m0 key1 and m1 key2: nothing yet; m2 key1 again: m1 checkpointed first; m3 key3: no
    // write; m4 key2 (handled since m1's checkpoint? no: m2 and m3 were): m3 checkpointed.
    assert_eq!(seen[0], Checkpoint::TRIM_HORIZON);
    assert_eq!(seen[1], Checkpoint::TRIM_HORIZON);
    assert_eq!(seen[2], at(1));
    assert_eq!(seen[3], at(1));
    assert_eq!(
        seen[4],
        at(1),
        "key2 was not handled since the last checkpoint"
    );
    // The final checkpoint at shutdown covers everything.
    assert_eq!(fx.leases().await.values().next().unwrap().checkpoint, at(4));
}
