//! The fake consumer (feature `test-util`): records per shard as given, in order, with the
//! records' fields as documented; checkpoints recorded per shard; poison records delivered as
//! the real consumer delivers them; lists and streams as input; `consume_with`'s checkpointing;
//! and an application's handler tested with it.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use futures_util::{StreamExt, stream};
use kinesis_client::Record;
use kinesis_consumer::fake::{FakeConsumer, FakeRecord};
use kinesis_consumer::{
    CheckpointBehaviour, CheckpointPolicy, ConsumerErrorKind, ConsumerRecord, PoisonRecords,
    ShardId, ShardStream, ShardStreamEnd, Utf8, deaggregate,
};
use kinesis_kcl_compat::sequence::Checkpoint;

fn checkpoint(s: &str) -> Checkpoint {
    s.parse().expect("a checkpoint")
}

/// Every checkpoint written for `shard`, as text, with `+release` on the one that released.
fn written<T: Send + 'static>(consumer: &FakeConsumer<T>, shard: &str) -> Vec<String> {
    consumer
        .checkpoints(shard)
        .expect("the shard exists")
        .writes()
        .iter()
        .map(|(_, update)| {
            let release = if update.release { "+release" } else { "" };
            format!("{}{release}", update.checkpoint)
        })
        .collect()
}

/// Reads every shard to its end, in order, staging each record when `stage`; returns the
/// payloads per shard and each stream's end reason.
async fn read_all<T: Clone + Send + 'static>(
    consumer: &FakeConsumer<T>,
    stage: bool,
) -> Vec<(String, Vec<T>, Option<ShardStreamEnd>)> {
    let mut out = Vec::new();
    let mut shards = consumer.shards().expect("shards");
    while let Some(mut shard) = shards.next().await {
        let mut records = Vec::new();
        while let Some(record) = shard.next().await {
            let record = record.expect("a record");
            if stage {
                shard.checkpointer().stage(record.position());
            }
            records.push(record.into_data());
        }
        out.push((shard.shard_id().to_string(), records, shard.end_reason()));
    }
    out
}

#[tokio::test]
async fn records_come_out_per_shard_in_order_with_their_fields() {
    let arrival = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let consumer = FakeConsumer::new()
        .arrival_time(arrival)
        .shard(["a", "b", "c"])
        .shard([
            FakeRecord::new("d").with_partition_key("user-1"),
            FakeRecord::new("e"),
        ])
        .shard(Vec::<&str>::new());
    let ids: Vec<String> = consumer.shard_ids().iter().map(|s| s.to_string()).collect();
    assert_eq!(ids, ["shard0", "shard1", "shard2"]);

    let mut records: Vec<ConsumerRecord<&str>> = Vec::new();
    let mut shards = consumer.shards().unwrap();
    let mut ends = Vec::new();
    while let Some(mut shard) = shards.next().await {
        while let Some(record) = shard.next().await {
            let record = record.unwrap();
            assert_eq!(record.shard_id(), shard.shard_id());
            records.push(record);
        }
        ends.push(shard.end_reason());
    }
    let got: Vec<(String, String, String, &str)> = records
        .iter()
        .map(|r| {
            (
                r.shard_id().to_string(),
                r.sequence_number().to_string(),
                r.partition_key().to_owned(),
                *r.data(),
            )
        })
        .collect();
    let expected = [
        ("shard0", "0", "shard0_0", "a"),
        ("shard0", "1", "shard0_1", "b"),
        ("shard0", "2", "shard0_2", "c"),
        ("shard1", "0", "user-1", "d"),
        ("shard1", "1", "shard1_1", "e"),
    ];
    let expected: Vec<(String, String, String, &str)> = expected
        .iter()
        .map(|(s, q, k, d)| (s.to_string(), q.to_string(), k.to_string(), *d))
        .collect();
    assert_eq!(got, expected);
    for record in &records {
        assert_eq!(record.sub_sequence_number(), None);
        assert!(!record.is_aggregated());
        assert_eq!(record.explicit_hash_key(), None);
        assert_eq!(record.approximate_arrival_timestamp(), Some(arrival));
    }
    // Every stream ends as at a shutdown, the empty shard's too.
    assert_eq!(ends, [Some(ShardStreamEnd::Shutdown); 3]);
}

#[tokio::test(start_paused = true)]
async fn the_arrival_time_is_the_current_time_by_tokios_clock_by_default() {
    let input = stream::iter([0u64, 10]).then(|delay| async move {
        tokio::time::sleep(Duration::from_secs(delay)).await;
        delay
    });
    let consumer = FakeConsumer::new().shard_from_stream(input);
    let mut shards = consumer.shards().unwrap();
    let mut shard = shards.next().await.unwrap();
    let first = shard.next().await.unwrap().unwrap();
    let second = shard.next().await.unwrap().unwrap();
    let first = first.approximate_arrival_timestamp().unwrap();
    let second = second.approximate_arrival_timestamp().unwrap();
    // A wall-clock time (after 2020), advancing with the virtual clock.
    assert!(first > SystemTime::UNIX_EPOCH + Duration::from_secs(1_577_836_800));
    assert_eq!(
        second.duration_since(first).unwrap(),
        Duration::from_secs(10)
    );
}

#[tokio::test]
async fn checkpointed_from_iterables_the_last_record_of_each_shard_is_checkpointed() {
    let consumer = FakeConsumer::from_iterables([vec![1, 2, 3], vec![4, 5], vec![6]]);
    let got = read_all(&consumer, true).await;
    let expected = vec![
        (
            "shard0".to_string(),
            vec![1, 2, 3],
            Some(ShardStreamEnd::Shutdown),
        ),
        (
            "shard1".to_string(),
            vec![4, 5],
            Some(ShardStreamEnd::Shutdown),
        ),
        (
            "shard2".to_string(),
            vec![6],
            Some(ShardStreamEnd::Shutdown),
        ),
    ];
    assert_eq!(got, expected);
    // One final write per shard, of its last record, releasing the lease.
    assert_eq!(written(&consumer, "shard0"), ["2+release"]);
    assert_eq!(written(&consumer, "shard1"), ["1+release"]);
    assert_eq!(written(&consumer, "shard2"), ["0+release"]);
    for shard in ["shard0", "shard1", "shard2"] {
        assert!(consumer.checkpointer(shard).unwrap().is_released());
        assert_eq!(consumer.checkpoints(shard).unwrap().releases(), 1);
    }
}

#[tokio::test]
async fn checkpointed_from_streams_the_last_record_of_each_shard_is_checkpointed() {
    let consumer = FakeConsumer::from_streams([
        stream::iter(vec!["a", "b"]).boxed(),
        stream::iter(vec!["c", "d", "e"]).boxed(),
    ]);
    let got = read_all(&consumer, true).await;
    assert_eq!(got[0].1, ["a", "b"]);
    assert_eq!(got[1].1, ["c", "d", "e"]);
    assert_eq!(consumer.last_checkpoint("shard0"), Some(checkpoint("1")));
    assert_eq!(consumer.last_checkpoint("shard1"), Some(checkpoint("2")));
}

#[tokio::test]
async fn not_checkpointed_from_iterables_the_records_come_out_and_nothing_is_written() {
    let consumer = FakeConsumer::from_iterables([vec![1, 2], vec![3]]);
    let got = read_all(&consumer, false).await;
    assert_eq!(got[0].1, [1, 2]);
    assert_eq!(got[1].1, [3]);
    for shard in ["shard0", "shard1"] {
        assert!(written(&consumer, shard).is_empty());
        assert_eq!(consumer.last_checkpoint(shard), None);
        // The lease is released without a checkpoint.
        assert_eq!(consumer.checkpoints(shard).unwrap().releases(), 1);
        assert!(consumer.checkpointer(shard).unwrap().is_released());
    }
}

#[tokio::test]
async fn not_checkpointed_from_streams_the_records_come_out() {
    let consumer = FakeConsumer::new()
        .shard_from_stream(stream::iter(vec![
            FakeRecord::new(1).with_partition_key("k"),
        ]))
        .shard_from_stream(stream::iter(vec![2, 3]));
    let got = read_all(&consumer, false).await;
    assert_eq!(got[0].1, [1]);
    assert_eq!(got[1].1, [2, 3]);
    assert!(written(&consumer, "shard0").is_empty());
    assert!(written(&consumer, "shard1").is_empty());
}

#[tokio::test]
async fn a_stream_input_is_delivered_as_it_comes_and_ends_the_shard_when_it_ends() {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let consumer =
        FakeConsumer::new().shard_from_stream(stream::poll_fn(move |cx| rx.poll_recv(cx)));
    let mut shards = consumer.shards().unwrap();
    let mut shard = shards.next().await.unwrap();
    for i in 0..3u32 {
        tx.send(i * 10).unwrap();
        let record = shard.next().await.unwrap().unwrap();
        assert_eq!(*record.data(), i * 10);
        assert_eq!(record.sequence_number().to_string(), i.to_string());
        shard.checkpointer().stage(record.position());
    }
    shard.checkpointer().checkpoint().await.unwrap();
    assert_eq!(consumer.last_checkpoint("shard0"), Some(checkpoint("2")));
    drop(tx);
    assert!(shard.next().await.is_none());
    assert_eq!(shard.end_reason(), Some(ShardStreamEnd::Shutdown));
    assert!(shards.next().await.is_none());
    // "2" was written already: the final write only releases.
    assert_eq!(written(&consumer, "shard0"), ["2"]);
    assert_eq!(consumer.checkpoints("shard0").unwrap().releases(), 1);
}

#[tokio::test]
async fn a_payload_that_does_not_deserialize_surfaces_as_in_the_real_consumer() {
    let arrival = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let payloads = [
        Bytes::from("first"),
        Bytes::from_static(&[0xff, 0xfe]),
        Bytes::from("third"),
    ];
    let consumer: FakeConsumer<String> = FakeConsumer::new()
        .deserializer(Utf8)
        .arrival_time(arrival)
        .raw_shard(payloads.clone());
    let mut shards = consumer.shards().unwrap();
    let mut shard = shards.next().await.unwrap();
    let mut items = Vec::new();
    while let Some(item) = shard.next().await {
        items.push(item);
    }
    assert_eq!(items.len(), 3, "the stream goes on after a poison record");

    // What the real consumer makes of the same Kinesis records (its conversion, exposed as
    // `deaggregate`).
    let shard_id: ShardId = "shard0".parse().unwrap();
    let kinesis_records: Vec<Record> = payloads
        .iter()
        .enumerate()
        .map(|(i, data)| {
            Record::new(
                data.clone(),
                format!("shard0_{i}"),
                i.to_string().parse().unwrap(),
            )
            .with_approximate_arrival_timestamp(arrival)
        })
        .collect();
    let real = deaggregate::<String>(&shard_id, kinesis_records, &Utf8);
    assert_eq!(real.len(), items.len());
    for (fake, real) in items.iter().zip(&real) {
        match (fake, real) {
            (Ok(fake), Ok(real)) => assert_eq!(fake, real),
            (Err(fake), Err(real)) => {
                assert_eq!(fake.kind(), ConsumerErrorKind::Deserialize);
                assert_eq!(fake.kind(), real.kind());
                assert_eq!(fake.to_string(), real.to_string());
                assert_eq!(fake.shard_id(), real.shard_id());
                assert_eq!(fake.record_position(), real.record_position());
                assert_eq!(fake.raw_record(), real.raw_record());
                assert_eq!(
                    fake.raw_record().unwrap().data(),
                    &Bytes::from_static(&[0xff, 0xfe])
                );
                assert!(std::error::Error::source(fake).is_some());
            }
            (fake, real) => panic!("fake {fake:?}, real {real:?}"),
        }
    }
    assert_eq!(
        items[1].as_ref().unwrap_err().record_position(),
        Some(&"1".parse().unwrap())
    );
}

#[tokio::test]
async fn consume_with_fails_on_a_poison_record_by_default_and_skips_it_when_asked() {
    let poisoned = || {
        FakeConsumer::<String>::new().deserializer(Utf8).raw_shard([
            Bytes::from("a"),
            Bytes::from_static(&[0xff]),
            Bytes::from("c"),
        ])
    };
    let handled = Arc::new(Mutex::new(Vec::new()));
    let handler = |handled: Arc<Mutex<Vec<String>>>| {
        move |record: ConsumerRecord<String>| {
            let handled = Arc::clone(&handled);
            async move {
                handled.lock().unwrap().push(record.into_data());
                Ok(())
            }
        }
    };

    let consumer = poisoned();
    let err = consumer
        .consume_with(CheckpointPolicy::default(), handler(Arc::clone(&handled)))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ConsumerErrorKind::Deserialize);
    assert_eq!(err.record_position(), Some(&"1".parse().unwrap()));
    assert_eq!(*handled.lock().unwrap(), ["a"]);
    // A restart would resume at the poison record.
    assert_eq!(written(&consumer, "shard0"), ["0+release"]);

    handled.lock().unwrap().clear();
    let dead_letters = Arc::new(Mutex::new(Vec::new()));
    let consumer = poisoned().on_poison_record(PoisonRecords::dead_letter({
        let dead_letters = Arc::clone(&dead_letters);
        move |raw, _| {
            let dead_letters = Arc::clone(&dead_letters);
            async move { dead_letters.lock().unwrap().push(raw.data().clone()) }
        }
    }));
    consumer
        .consume_with(CheckpointPolicy::default(), handler(Arc::clone(&handled)))
        .await
        .unwrap();
    assert_eq!(*handled.lock().unwrap(), ["a", "c"]);
    assert_eq!(*dead_letters.lock().unwrap(), [Bytes::from_static(&[0xff])]);
    assert_eq!(written(&consumer, "shard0"), ["2+release"]);
}

#[tokio::test]
async fn raw_shards_need_a_deserializer_and_shards_are_taken_once() {
    let consumer: FakeConsumer<String> = FakeConsumer::new().raw_shard([Bytes::from("a")]);
    let err = consumer.shards().unwrap_err();
    assert_eq!(err.kind(), ConsumerErrorKind::Usage);

    let consumer = FakeConsumer::new().shard([1]);
    let _shards = consumer.shards().unwrap();
    assert_eq!(
        consumer.shards().unwrap_err().kind(),
        ConsumerErrorKind::Usage
    );
    let err = consumer
        .consume_with(CheckpointPolicy::default(), |_| async { Ok(()) })
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ConsumerErrorKind::Usage);
}

#[tokio::test]
async fn ending_with_shard_end_writes_shard_end_once_the_last_record_is_staged() {
    let consumer = FakeConsumer::new()
        .ending_with_shard_end()
        .shard([1, 2])
        .shard([3, 4]);
    let mut shards = consumer.shards().unwrap();
    // shard0: every record staged; shard1: only the first.
    let mut n = 0;
    while let Some(mut shard) = shards.next().await {
        let mut first = true;
        while let Some(record) = shard.next().await {
            let record = record.unwrap();
            if n == 0 || first {
                shard.checkpointer().stage(record.position());
            }
            first = false;
        }
        assert_eq!(shard.end_reason(), Some(ShardStreamEnd::ShardEnd));
        assert!(shard.checkpointer().is_shard_ended());
        n += 1;
    }
    assert_eq!(written(&consumer, "shard0"), ["SHARD_END+release"]);
    // Not every record processed: the shard is not finished.
    assert_eq!(written(&consumer, "shard1"), ["0+release"]);
}

#[tokio::test]
async fn a_dropped_shard_stream_checkpoints_what_was_staged() {
    let consumer = FakeConsumer::new().shard([1, 2, 3, 4]).shard([5]);
    let mut shards = consumer.shards().unwrap();
    let mut shard0 = shards.next().await.unwrap();
    let record = shard0.next().await.unwrap().unwrap();
    shard0.checkpointer().stage(record.position());
    drop(shard0);
    let mut shard1 = shards.next().await.unwrap();
    while shard1.next().await.is_some() {}
    drop(shard1);
    assert!(shards.next().await.is_none());
    assert_eq!(written(&consumer, "shard0"), ["0+release"]);
    assert!(written(&consumer, "shard1").is_empty());
}

#[tokio::test]
async fn shutdown_ends_open_shards_and_checkpoints_what_was_staged() {
    let consumer = FakeConsumer::new()
        .shard_from_stream(stream::iter([1, 2]).chain(stream::pending()))
        .shard([3]);
    let mut shards = consumer.shards().unwrap();
    let mut shard0 = shards.next().await.unwrap();
    let record = shard0.next().await.unwrap().unwrap();
    shard0.checkpointer().stage(record.position());
    let reader = tokio::spawn(async move {
        let mut rest = Vec::new();
        while let Some(record) = shard0.next().await {
            rest.push(record.unwrap().into_data());
        }
        (rest, shard0.end_reason())
    });
    let mut shard1 = shards.next().await.unwrap();
    assert_eq!(*shard1.next().await.unwrap().unwrap().data(), 3);
    let reader1 = tokio::spawn(async move {
        while shard1.next().await.is_some() {}
        shard1.end_reason()
    });
    consumer.shutdown().await;
    let (rest, end) = reader.await.unwrap();
    // Record 2 may have been delivered before the shutdown; nothing after it exists.
    assert!(rest.is_empty() || rest == [2], "{rest:?}");
    assert_eq!(end, Some(ShardStreamEnd::Shutdown));
    assert_eq!(reader1.await.unwrap(), Some(ShardStreamEnd::Shutdown));
    assert!(shards.next().await.is_none());
    assert_eq!(written(&consumer, "shard0"), ["0+release"]);
}

#[tokio::test(start_paused = true)]
async fn shutdown_waits_at_most_the_release_timeout_for_streams_nobody_reads() {
    // shard0 still has records to deliver; shard1's were all delivered.
    let consumer = FakeConsumer::new().shard([1, 2, 3]).shard([4]);
    let mut shards = consumer.shards().unwrap();
    let mut held = Vec::new();
    while held.len() < 2 {
        let mut shard = shards.next().await.unwrap();
        let record = shard.next().await.unwrap().unwrap();
        shard.checkpointer().stage(record.position());
        held.push(shard);
    }
    let started = tokio::time::Instant::now();
    consumer.shutdown().await;
    // Neither stream was read to its end: the final checkpoints waited for the release timeout.
    assert_eq!(started.elapsed(), Duration::from_secs(10));
    assert_eq!(written(&consumer, "shard0"), ["0+release"]);
    assert_eq!(written(&consumer, "shard1"), ["0+release"]);
    // The streams end at once, without the records not yet delivered.
    for mut shard in held {
        assert!(shard.next().await.is_none());
        assert_eq!(shard.end_reason(), Some(ShardStreamEnd::Shutdown));
    }
    assert!(shards.next().await.is_none());
}

#[tokio::test(start_paused = true)]
async fn consume_with_checkpoints_every_n_records_and_at_the_end() {
    let consumer = FakeConsumer::from_iterables([vec![1, 2, 3, 4, 5], vec![6, 7]]);
    consumer
        .consume_with(CheckpointPolicy::default().with_max_records(2), |_| async {
            Ok(())
        })
        .await
        .unwrap();
    assert_eq!(written(&consumer, "shard0"), ["1", "3", "4+release"]);
    // "1" was written with the batch: the final write only releases.
    assert_eq!(written(&consumer, "shard1"), ["1"]);
    assert!(consumer.checkpointer("shard1").unwrap().is_released());
}

#[tokio::test(start_paused = true)]
async fn consume_with_checkpoints_every_interval_in_virtual_time() {
    // Records at 0 s, 3 s and 11 s; a checkpoint every 5 s (at 5 s, 10 s, ...).
    let delays = [0u64, 3, 8];
    let input = stream::iter(delays.into_iter().enumerate()).then(|(i, delay)| async move {
        tokio::time::sleep(Duration::from_secs(delay)).await;
        i
    });
    let consumer = FakeConsumer::new().shard_from_stream(input);
    let policy = CheckpointPolicy::default()
        .with_max_records(1000)
        .with_max_interval(Duration::from_secs(5));
    consumer
        .consume_with(policy, |_| async { Ok(()) })
        .await
        .unwrap();
    // At 5 s records 0 and 1 were processed: "1"; at 10 s nothing new; the end writes "2"
    // and releases.
    assert_eq!(written(&consumer, "shard0"), ["1", "2+release"]);
}

#[tokio::test]
async fn consume_with_partitioned_by_key_checkpoints_before_a_key_comes_again() {
    let consumer = FakeConsumer::<u32>::new().shard([
        FakeRecord::new(1).with_partition_key("a"),
        FakeRecord::new(2).with_partition_key("b"),
        FakeRecord::new(3).with_partition_key("a"),
        FakeRecord::new(4).with_partition_key("c"),
    ]);
    consumer
        .consume_with(
            CheckpointBehaviour::PartitionedByKey(CheckpointPolicy::default()),
            |_| async { Ok(()) },
        )
        .await
        .unwrap();
    // Before the second "a", the records up to "b" are checkpointed.
    assert_eq!(written(&consumer, "shard0"), ["1", "3+release"]);
}

#[tokio::test]
async fn a_failing_handler_stops_every_shard_and_returns_its_error() {
    // shard0 fails at its third record, which comes once shard1's record was handled; shard1
    // never ends unless stopped.
    let (handled_tx, handled_rx) = tokio::sync::oneshot::channel::<()>();
    let handled_tx = Mutex::new(Some(handled_tx));
    let consumer = FakeConsumer::new()
        .shard_from_stream(
            stream::iter([1, 2])
                .chain(stream::once(async move {
                    let _ = handled_rx.await;
                    3
                }))
                .chain(stream::iter([4])),
        )
        .shard_from_stream(stream::iter([10]).chain(stream::pending()));
    let err = consumer
        .consume_with(CheckpointPolicy::default(), move |record| {
            let result = match *record.data() {
                3 => Err("cannot handle 3".into()),
                10 => {
                    if let Some(tx) = handled_tx.lock().unwrap().take() {
                        let _ = tx.send(());
                    }
                    Ok(())
                }
                _ => Ok(()),
            };
            async move { result }
        })
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ConsumerErrorKind::Handler);
    assert_eq!(err.shard_id().map(|s| s.as_str()), Some("shard0"));
    assert_eq!(err.record_position(), Some(&"2".parse().unwrap()));
    assert_eq!(written(&consumer, "shard0"), ["1+release"]);
    // shard1 was shut down; its handled record was checkpointed.
    assert_eq!(written(&consumer, "shard1"), ["0+release"]);
}

/// An application's code, as it would be in its own crate: a deserializer of its records, a
/// function that processes a shard stream and a `consume_with` handler. Neither knows about
/// the fake.
mod orders {
    use std::collections::BTreeMap;
    use std::sync::{Arc, Mutex};

    use futures_util::StreamExt;
    use kinesis_consumer::{ConsumerRecord, Deserializer, HandlerError, ShardStream, Utf8};

    #[derive(Debug, Clone, PartialEq, Eq)]
    pub(crate) struct Order {
        pub(crate) customer: String,
        pub(crate) amount: u64,
    }

    pub(crate) type Totals = Arc<Mutex<BTreeMap<String, u64>>>;

    /// `customer:amount`, as UTF-8.
    pub(crate) fn deserializer() -> impl Deserializer<Order> + Send + Sync + 'static {
        Utf8.try_map(|text: String| {
            let (customer, amount) = text.split_once(':').ok_or("no ':'")?;
            let amount = amount.parse::<u64>().map_err(|e| e.to_string())?;
            Ok::<_, String>(Order {
                customer: customer.to_owned(),
                amount,
            })
        })
    }

    /// Adds each order to its customer's total and stages it; skips unreadable records (staging
    /// them too, so a restart moves past them); checkpoints every 2 orders. Returns how many
    /// were skipped.
    pub(crate) async fn count_orders(mut shard: ShardStream<Order>, totals: Totals) -> usize {
        let mut skipped = 0;
        let mut counted = 0;
        while let Some(item) = shard.next().await {
            match item {
                Ok(record) => {
                    let order = record.data();
                    *totals
                        .lock()
                        .unwrap()
                        .entry(order.customer.clone())
                        .or_default() += order.amount;
                    shard.checkpointer().stage(record.position());
                    counted += 1;
                    if counted % 2 == 0 {
                        shard.checkpointer().checkpoint().await.expect("checkpoint");
                    }
                }
                Err(e) => {
                    skipped += 1;
                    if let Some(position) = e.record_position() {
                        shard.checkpointer().stage(position.clone());
                    }
                }
            }
        }
        skipped
    }

    /// The same totals, as a `consume_with` handler; an order of more than 1000 is refused.
    pub(crate) async fn handle(
        totals: Totals,
        record: ConsumerRecord<Order>,
    ) -> Result<(), HandlerError> {
        let order = record.into_data();
        if order.amount > 1000 {
            return Err(format!("order of {} refused", order.amount).into());
        }
        *totals.lock().unwrap().entry(order.customer).or_default() += order.amount;
        Ok(())
    }
}

#[tokio::test]
async fn an_applications_shard_processing_is_tested_with_the_fake() {
    let consumer = FakeConsumer::new()
        .deserializer(orders::deserializer())
        .raw_shard([
            Bytes::from("ann:10"),
            Bytes::from("bob:5"),
            Bytes::from("not an order"),
            Bytes::from("ann:1"),
        ])
        .raw_shard([Bytes::from("bob:7")]);
    let totals = orders::Totals::default();
    let mut shards = consumer.shards().unwrap();
    let mut tasks = Vec::new();
    while let Some(shard) = shards.next().await {
        tasks.push(tokio::spawn(orders::count_orders(
            shard,
            Arc::clone(&totals),
        )));
    }
    let mut skipped = 0;
    for task in tasks {
        skipped += task.await.unwrap();
    }
    assert_eq!(skipped, 1);
    assert_eq!(
        *totals.lock().unwrap(),
        BTreeMap::from([("ann".to_string(), 11), ("bob".to_string(), 12)])
    );
    // shard0: "1" after two orders; the last order, "3", with the release.
    assert_eq!(written(&consumer, "shard0"), ["1", "3+release"]);
    assert_eq!(written(&consumer, "shard1"), ["0+release"]);
}

#[tokio::test]
async fn an_applications_handler_is_tested_with_the_fake_consume_with() {
    use orders::Order;
    let order = |customer: &str, amount| Order {
        customer: customer.into(),
        amount,
    };
    let consumer = FakeConsumer::new()
        .shard([order("ann", 10), order("bob", 5), order("ann", 1)])
        .shard([order("bob", 7)]);
    let totals = orders::Totals::default();
    consumer
        .consume_with(CheckpointPolicy::default(), {
            let totals = Arc::clone(&totals);
            move |record| orders::handle(Arc::clone(&totals), record)
        })
        .await
        .unwrap();
    assert_eq!(
        *totals.lock().unwrap(),
        BTreeMap::from([("ann".to_string(), 11), ("bob".to_string(), 12)])
    );
    assert_eq!(consumer.last_checkpoint("shard0"), Some(checkpoint("2")));
    assert_eq!(consumer.last_checkpoint("shard1"), Some(checkpoint("0")));

    // A refused order: the handler's error, and the checkpoint stays before it.
    let consumer = FakeConsumer::new().shard([order("ann", 10), order("bob", 5000)]);
    let err = consumer
        .consume_with(CheckpointPolicy::default(), |record| {
            orders::handle(orders::Totals::default(), record)
        })
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ConsumerErrorKind::Handler);
    assert!(err.to_string().contains("order of 5000 refused"), "{err}");
    assert_eq!(consumer.last_checkpoint("shard0"), Some(checkpoint("0")));
}

/// The shard stream type is the real one: a function written for the real consumer's streams
/// takes the fake's.
#[tokio::test]
async fn the_fake_gives_the_real_types() {
    async fn first<T>(mut shard: ShardStream<T>) -> Option<ConsumerRecord<T>> {
        shard.next().await?.ok()
    }
    let consumer = FakeConsumer::new().shard(["x"]);
    let mut shards: kinesis_consumer::Shards<&str> = consumer.shards().unwrap();
    let shard = shards.next().await.unwrap();
    let checkpointer: &kinesis_consumer::Checkpointer = shard.checkpointer();
    assert_eq!(
        checkpointer.lease_key().shard_id().as_str(),
        shard.shard_id().as_str()
    );
    assert_eq!(*first(shard).await.unwrap().data(), "x");
}
