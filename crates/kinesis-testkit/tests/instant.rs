//! The instant server answers the AWS SDK as Kinesis would, for what benchmarks use: records put
//! come back from GetRecords in order, with their sequence numbers, on the shard their key hashes
//! to.

#![cfg(feature = "instant")]

use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::{PutRecordsRequestEntry, ShardIteratorType};
use kinesis_testkit::instant::InstantKinesis;

async fn client(server: &InstantKinesis) -> aws_sdk_kinesis::Client {
    let config = aws_sdk_kinesis::Config::builder()
        .behavior_version(aws_sdk_kinesis::config::BehaviorVersion::latest())
        .region(aws_sdk_kinesis::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_kinesis::config::Credentials::new(
            "AKIDINSTANT",
            "secret",
            None,
            None,
            "test",
        ))
        .endpoint_url(server.endpoint())
        .build();
    aws_sdk_kinesis::Client::from_conf(config)
}

#[tokio::test]
async fn records_put_come_back_in_order_on_the_shard_of_their_key() {
    let server = InstantKinesis::builder()
        .stream("bench", 3)
        .start()
        .await
        .unwrap();
    let kinesis = client(&server).await;

    let entries: Vec<PutRecordsRequestEntry> = (0..300)
        .map(|i| {
            PutRecordsRequestEntry::builder()
                .partition_key(format!("key-{}", i % 17))
                .data(Blob::new(format!("n={i}")))
                .build()
                .unwrap()
        })
        .collect();
    let put = kinesis
        .put_records()
        .stream_name("bench")
        .set_records(Some(entries))
        .send()
        .await
        .unwrap();
    assert_eq!(put.failed_record_count(), Some(0));
    assert_eq!(put.records().len(), 300);
    assert_eq!(server.records_received(), 300);

    let shards = kinesis
        .list_shards()
        .stream_name("bench")
        .send()
        .await
        .unwrap()
        .shards()
        .to_vec();
    assert_eq!(shards.len(), 3);

    let mut read = 0;
    for shard in &shards {
        let mut iterator = kinesis
            .get_shard_iterator()
            .stream_name("bench")
            .shard_id(shard.shard_id())
            .shard_iterator_type(ShardIteratorType::TrimHorizon)
            .send()
            .await
            .unwrap()
            .shard_iterator()
            .map(str::to_owned);
        let mut last_n = None;
        while let Some(it) = iterator.take() {
            let page = kinesis
                .get_records()
                .shard_iterator(it)
                .limit(40)
                .send()
                .await
                .unwrap();
            if page.records().is_empty() {
                break;
            }
            for record in page.records() {
                let data = String::from_utf8(record.data().as_ref().to_vec()).unwrap();
                let n: usize = data.strip_prefix("n=").unwrap().parse().unwrap();
                // The answer to PutRecords named this shard and this sequence number.
                let answered = &put.records()[n];
                assert_eq!(answered.shard_id(), Some(shard.shard_id()));
                assert_eq!(answered.sequence_number(), Some(record.sequence_number()));
                assert!(
                    last_n.is_none_or(|last| last < n),
                    "in order on {}",
                    shard.shard_id()
                );
                last_n = Some(n);
                read += 1;
            }
            iterator = page.next_shard_iterator().map(str::to_owned);
        }
    }
    assert_eq!(read, 300);

    // AFTER_SEQUENCE_NUMBER resumes after a record; LATEST finds nothing old.
    let first = &put.records()[0];
    let after = kinesis
        .get_shard_iterator()
        .stream_name("bench")
        .shard_id(first.shard_id().unwrap())
        .shard_iterator_type(ShardIteratorType::AfterSequenceNumber)
        .starting_sequence_number(first.sequence_number().unwrap())
        .send()
        .await
        .unwrap();
    let page = kinesis
        .get_records()
        .shard_iterator(after.shard_iterator().unwrap())
        .limit(1)
        .send()
        .await
        .unwrap();
    assert!(page.records()[0].sequence_number() > first.sequence_number().unwrap());
    let latest = kinesis
        .get_shard_iterator()
        .stream_name("bench")
        .shard_id(first.shard_id().unwrap())
        .shard_iterator_type(ShardIteratorType::Latest)
        .send()
        .await
        .unwrap();
    let page = kinesis
        .get_records()
        .shard_iterator(latest.shard_iterator().unwrap())
        .send()
        .await
        .unwrap();
    assert!(page.records().is_empty());
    server.shutdown().await;
}

#[tokio::test]
async fn what_it_does_not_serve_is_a_clear_error() {
    let server = InstantKinesis::builder().start().await.unwrap();
    let kinesis = client(&server).await;
    let missing = kinesis
        .put_record()
        .stream_name("nope")
        .partition_key("k")
        .data(Blob::new("x"))
        .send()
        .await
        .unwrap_err();
    assert!(
        missing
            .into_service_error()
            .is_resource_not_found_exception(),
        "an unknown stream"
    );
    let unknown = kinesis
        .register_stream_consumer()
        .stream_arn("arn:aws:kinesis:us-east-1:000000000000:stream/s")
        .consumer_name("c")
        .send()
        .await
        .unwrap_err();
    let message = format!("{:?}", unknown.into_service_error());
    assert!(message.contains("RegisterStreamConsumer"), "{message}");

    // Streams can also be made by CreateStream, ACTIVE at once.
    kinesis
        .create_stream()
        .stream_name("made")
        .shard_count(2)
        .send()
        .await
        .unwrap();
    let summary = kinesis
        .describe_stream_summary()
        .stream_name("made")
        .send()
        .await
        .unwrap();
    let summary = summary.stream_description_summary().unwrap();
    assert_eq!(summary.open_shard_count(), 2);
    assert_eq!(summary.stream_status().as_str(), "ACTIVE");
}
