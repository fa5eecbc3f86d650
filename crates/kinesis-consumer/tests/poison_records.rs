//! Records whose payload cannot be deserialized, under `consume_with`'s policies, on the
//! emulators: failing stops at the record (and a restart stops there again), skipping hands it
//! to the dead-letter handler with its bytes, reports it, and moves the checkpoint past it. And
//! a shard stream says why it ended.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt as _;
use kinesis_client::{PartitionKey, PutRecordsEntry, SequenceNumber};
use kinesis_consumer::{
    CheckpointPolicy, Consumer, ConsumerErrorKind, DiagnosticEvent, PoisonRecords, ShardStreamEnd,
};
use kinesis_kcl_compat::sequence::{Checkpoint, ExtendedSequenceNumber};
use kinesis_serde::Utf8;
use support::{Fixture, eventually};

/// What the dead-letter handler got: the bytes, the position, the error's message.
type DeadLettered = (Vec<u8>, ExtendedSequenceNumber, String);

/// Writes `good-0`, `good-1`, bytes that are not UTF-8, `good-2`, `good-3` to a 1-shard
/// stream; returns the poison record's and the last record's sequence numbers.
async fn stream_with_poison(fx: &Fixture) -> (SequenceNumber, SequenceNumber) {
    fx.put(["good-0".to_owned(), "good-1".to_owned()], 1).await;
    let poison = fx
        .client
        .put_record(
            &fx.stream,
            PutRecordsEntry::new(vec![0xff, 0xfe, 0x00], PartitionKey::new("key-0").unwrap()),
        )
        .await
        .unwrap();
    let rest = fx.put(["good-2".to_owned(), "good-3".to_owned()], 1).await;
    (poison.sequence_number, rest[1].2.clone())
}

async fn consumer(
    fx: &Fixture,
    policy: PoisonRecords,
    events: Arc<Mutex<Vec<DiagnosticEvent>>>,
) -> Consumer<String> {
    Consumer::builder(&fx.config, &fx.stream, fx.app.clone())
        .worker_id("w-poison")
        .deserializer(Utf8)
        .settings(fx.settings())
        .on_poison_record(policy)
        .on_event(move |e| events.lock().unwrap().push(e.clone()))
        .build()
        .await
        .unwrap()
}

/// What the test handler saw.
type Seen = Arc<Mutex<Vec<String>>>;
/// A record handler of `consume_with`.
type Handled = std::future::Ready<Result<(), kinesis_consumer::HandlerError>>;

fn handled() -> (
    Seen,
    impl Fn(kinesis_consumer::ConsumerRecord<String>) -> Handled + Send + Sync + 'static,
) {
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let sink = Arc::clone(&seen);
    (seen, move |r| {
        sink.lock().unwrap().push(r.into_data());
        std::future::ready(Ok(()))
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn by_default_consume_with_stops_at_a_poison_record_every_time() {
    let fx = Fixture::new(1).await;
    let (poison, _) = stream_with_poison(&fx).await;
    for run in 0..2 {
        let c = consumer(&fx, PoisonRecords::default(), Arc::default()).await;
        let (seen, handler) = handled();
        let err = tokio::time::timeout(
            Duration::from_secs(30),
            c.consume_with(CheckpointPolicy::default(), handler),
        )
        .await
        .expect("consume_with stops within 30 s")
        .unwrap_err();
        assert_eq!(err.kind(), ConsumerErrorKind::Deserialize);
        assert_eq!(
            err.record_position(),
            Some(&ExtendedSequenceNumber::plain(poison.clone()))
        );
        // The message says why, the record comes along.
        assert!(err.to_string().contains("UTF-8"), "{err}");
        assert_eq!(
            err.raw_record().map(|r| r.data().to_vec()),
            Some(vec![0xff, 0xfe, 0x00])
        );
        let expected: &[&str] = if run == 0 { &["good-0", "good-1"] } else { &[] };
        assert_eq!(*seen.lock().unwrap(), expected, "run {run}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_letter_policy_hands_the_bytes_over_and_moves_past_the_record() {
    let fx = Fixture::new(1).await;
    let (poison, last) = stream_with_poison(&fx).await;
    let dead: Arc<Mutex<Vec<DeadLettered>>> = Arc::default();
    let dead_sink = Arc::clone(&dead);
    let policy = PoisonRecords::dead_letter(move |raw, error| {
        let dead_sink = Arc::clone(&dead_sink);
        async move {
            dead_sink.lock().unwrap().push((
                raw.data().to_vec(),
                raw.position(),
                error.to_string(),
            ));
        }
    });
    let events: Arc<Mutex<Vec<DiagnosticEvent>>> = Arc::default();
    let c = consumer(&fx, policy, Arc::clone(&events)).await;
    let (seen, handler) = handled();
    let run = tokio::spawn({
        let c = c.clone();
        async move { c.consume_with(CheckpointPolicy::default(), handler).await }
    });
    eventually("the four good records", Duration::from_secs(30), || {
        seen.lock().unwrap().len() == 4
    })
    .await;
    c.shutdown().await;
    run.await.unwrap().unwrap();

    assert_eq!(
        *seen.lock().unwrap(),
        ["good-0", "good-1", "good-2", "good-3"]
    );
    let dead = dead.lock().unwrap().clone();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].0, [0xff, 0xfe, 0x00]);
    assert_eq!(dead[0].1, ExtendedSequenceNumber::plain(poison.clone()));
    assert!(dead[0].2.contains("UTF-8"), "{}", dead[0].2);
    let skipped: Vec<ExtendedSequenceNumber> = events
        .lock()
        .unwrap()
        .iter()
        .filter_map(|e| match e {
            DiagnosticEvent::PoisonRecordSkipped { position, .. } => Some(position.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(skipped, [ExtendedSequenceNumber::plain(poison)]);
    // The checkpoint is past it: a restart has nothing to do.
    let leases = fx.leases().await;
    let lease = leases.values().next().unwrap();
    assert_eq!(
        lease.checkpoint,
        Checkpoint::from(ExtendedSequenceNumber::plain(last))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shard_stream_says_why_it_ended() {
    let fx = Fixture::new(1).await;
    fx.put(["a".to_owned()], 1).await;
    let c = consumer(&fx, PoisonRecords::default(), Arc::default()).await;
    let mut shards = c.shards().unwrap();
    let mut shard = tokio::time::timeout(Duration::from_secs(30), shards.next())
        .await
        .unwrap()
        .unwrap();
    let first = tokio::time::timeout(Duration::from_secs(30), shard.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    shard.checkpointer().stage(first.position());
    assert_eq!(shard.end_reason(), None, "open");
    let stopping = tokio::spawn({
        let c = c.clone();
        async move { c.shutdown().await }
    });
    while tokio::time::timeout(Duration::from_secs(30), shard.next())
        .await
        .unwrap()
        .is_some()
    {}
    assert_eq!(shard.end_reason(), Some(ShardStreamEnd::Shutdown));
    drop(shard);
    stopping.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_as_try_a_poison_record_arrives_as_an_error_value_in_its_place() {
    let fx = Fixture::new(1).await;
    let (poison, _) = stream_with_poison(&fx).await;
    let c: Consumer<Result<String, kinesis_serde::Error>> =
        Consumer::builder(&fx.config, &fx.stream, fx.app.clone())
            .worker_id("w-as-try")
            .deserializer(kinesis_serde::Deserializer::<String>::as_try(Utf8))
            .settings(fx.settings())
            .build()
            .await
            .unwrap();
    let mut shards = c.shards().unwrap();
    let mut shard = tokio::time::timeout(Duration::from_secs(30), shards.next())
        .await
        .unwrap()
        .unwrap();
    let mut got = Vec::new();
    while got.len() < 5 {
        let record = tokio::time::timeout(Duration::from_secs(30), shard.next())
            .await
            .expect("five records within 30 s")
            .unwrap()
            .unwrap();
        got.push((record.position(), record.into_data()));
    }
    let values: Vec<Result<&str, kinesis_serde::ErrorKind>> = got
        .iter()
        .map(|(_, v)| v.as_deref().map_err(|e| e.kind()))
        .collect();
    assert_eq!(
        values,
        [
            Ok("good-0"),
            Ok("good-1"),
            Err(kinesis_serde::ErrorKind::InvalidUtf8),
            Ok("good-2"),
            Ok("good-3")
        ]
    );
    assert_eq!(got[2].0, ExtendedSequenceNumber::plain(poison));
    c.shutdown().await;
}
