//! The Rust record processor runtime against a scripted daemon on in-memory pipes: what it
//! answers, when it checkpoints, and how it stops.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use kinesis_consumer::ConsumerRecord;
use kinesis_kcl_compat::multilang::{
    CheckpointRequest, CheckpointResult, FromProcessor, Record, ToProcessor,
};
use kinesis_lease::checkpointer::CheckpointPolicy;
use kinesis_multilang::processor::{HandlerError, Processor, ProcessorError};
use kinesis_serde::Utf8;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, DuplexStream, Lines};
use tokio::task::JoinHandle;

/// The daemon's side of the pipes.
struct Daemon {
    to_processor: DuplexStream,
    from_processor: Lines<BufReader<DuplexStream>>,
    run: JoinHandle<Result<(), ProcessorError>>,
    seen: Arc<Mutex<Vec<ConsumerRecord<String>>>>,
}

impl Daemon {
    /// Starts a UTF-8 processor with `policy` whose handler records what it sees and fails on
    /// data "fail".
    fn start(policy: CheckpointPolicy) -> Self {
        let (to_processor, processor_in) = tokio::io::duplex(1 << 16);
        let (processor_out, from_processor) = tokio::io::duplex(1 << 16);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        let run = tokio::spawn(async move {
            Processor::new()
                .deserializer(Utf8)
                .checkpoints(policy)
                .run_on(
                    BufReader::new(processor_in),
                    processor_out,
                    move |record: ConsumerRecord<String>| {
                        let sink = sink.clone();
                        async move {
                            if record.data() == "fail" {
                                return Err::<(), HandlerError>("the handler refused it".into());
                            }
                            sink.lock().unwrap().push(record);
                            Ok(())
                        }
                    },
                )
                .await
        });
        Self {
            to_processor,
            from_processor: BufReader::new(from_processor).lines(),
            run,
            seen,
        }
    }

    async fn send(&mut self, message: &ToProcessor) {
        let line = format!("{}\n", message.to_line());
        self.to_processor.write_all(line.as_bytes()).await.unwrap();
    }

    async fn receive(&mut self) -> FromProcessor {
        let line = tokio::time::timeout(Duration::from_secs(5), self.from_processor.next_line())
            .await
            .expect("an answer within 5 s")
            .unwrap()
            .expect("the processor is still talking");
        FromProcessor::parse(&line).unwrap()
    }

    async fn expect_status(&mut self, action: &str) {
        assert_eq!(
            self.receive().await,
            FromProcessor::Status {
                response_for: action.to_owned()
            }
        );
    }

    async fn expect_checkpoint(&mut self, want: CheckpointRequest, error: Option<&str>) {
        let FromProcessor::Checkpoint(request) = self.receive().await else {
            panic!("a checkpoint request");
        };
        assert_eq!(request, want);
        self.send(&ToProcessor::Checkpoint(CheckpointResult::answer(
            &request,
            error.map(str::to_owned),
        )))
        .await;
    }

    async fn initialize(&mut self) {
        self.send(&ToProcessor::Initialize {
            shard_id: "shardId-000000000003".into(),
            sequence_number: Some("TRIM_HORIZON".into()),
            sub_sequence_number: Some(0),
        })
        .await;
        self.expect_status("initialize").await;
    }

    async fn finish(self) -> (Result<(), ProcessorError>, Vec<ConsumerRecord<String>>) {
        drop(self.to_processor);
        let result = self.run.await.unwrap();
        let seen = self.seen.lock().unwrap().clone();
        (result, seen)
    }
}

fn batch(records: &[(&str, u64, &str)]) -> ToProcessor {
    ToProcessor::ProcessRecords {
        records: records
            .iter()
            .map(|(seq, sub, data)| {
                Record::new(data.to_string(), format!("key-{data}"), *seq)
                    .with_sub_sequence_number(*sub)
                    .with_arrival_millis(1_764_000_000_000)
            })
            .collect(),
        millis_behind_latest: Some(0),
    }
}

#[tokio::test]
async fn records_reach_the_handler_and_checkpoints_follow_the_record_count() {
    let mut daemon = Daemon::start(CheckpointPolicy::manual().with_max_records(2));
    daemon.initialize().await;
    daemon
        .send(&batch(&[("10", 0, "a"), ("11", 0, "b"), ("12", 1, "c")]))
        .await;
    // Two records handled: the second is checkpointed before the status.
    daemon
        .expect_checkpoint(CheckpointRequest::at("11", Some(0)), None)
        .await;
    daemon.expect_status("processRecords").await;
    // A shutdown checkpoints the rest.
    daemon.send(&ToProcessor::ShutdownRequested).await;
    daemon
        .expect_checkpoint(CheckpointRequest::at("12", Some(1)), None)
        .await;
    daemon.expect_status("shutdownRequested").await;
    let (result, seen) = daemon.finish().await;
    result.unwrap();
    let data: Vec<&str> = seen.iter().map(|r| r.data().as_str()).collect();
    assert_eq!(data, ["a", "b", "c"]);
    assert_eq!(seen[2].shard_id().as_str(), "shardId-000000000003");
    assert_eq!(seen[2].position().to_string(), "12:1");
    assert_eq!(seen[2].partition_key(), "key-c");
    assert!(seen[2].approximate_arrival_timestamp().is_some());
    assert!(!seen[0].is_aggregated(), "sub-sequence 0 is a plain record");
}

#[tokio::test(start_paused = true)]
async fn checkpoints_follow_the_interval_after_a_batch() {
    let mut daemon =
        Daemon::start(CheckpointPolicy::manual().with_max_interval(Duration::from_secs(5)));
    daemon.initialize().await;
    daemon.send(&batch(&[("10", 0, "a")])).await;
    daemon.expect_status("processRecords").await;
    tokio::time::advance(Duration::from_secs(6)).await;
    daemon.send(&batch(&[("11", 0, "b")])).await;
    daemon
        .expect_checkpoint(CheckpointRequest::at("11", Some(0)), None)
        .await;
    daemon.expect_status("processRecords").await;
    let (result, _) = daemon.finish().await;
    result.unwrap();
}

#[tokio::test]
async fn a_shard_end_checkpoints_everything_and_a_lost_lease_nothing() {
    let mut daemon = Daemon::start(CheckpointPolicy::manual());
    daemon.initialize().await;
    daemon.send(&batch(&[("10", 0, "a")])).await;
    daemon.expect_status("processRecords").await;
    daemon.send(&ToProcessor::ShardEnded).await;
    daemon
        .expect_checkpoint(CheckpointRequest::everything(), None)
        .await;
    daemon.expect_status("shardEnded").await;
    daemon.finish().await.0.unwrap();

    let mut daemon = Daemon::start(CheckpointPolicy::manual());
    daemon.initialize().await;
    daemon.send(&batch(&[("10", 0, "a")])).await;
    daemon.expect_status("processRecords").await;
    daemon.send(&ToProcessor::LeaseLost).await;
    daemon.expect_status("leaseLost").await;
    daemon.finish().await.0.unwrap();
}

#[tokio::test]
async fn a_shutdown_exception_ends_checkpointing_and_throttling_tries_again() {
    let mut daemon = Daemon::start(CheckpointPolicy::manual().with_max_records(1));
    daemon.initialize().await;
    daemon.send(&batch(&[("10", 0, "a")])).await;
    daemon
        .expect_checkpoint(
            CheckpointRequest::at("10", Some(0)),
            Some("ThrottlingException"),
        )
        .await;
    daemon.expect_status("processRecords").await;
    daemon.send(&batch(&[("11", 0, "b")])).await;
    // Still counted since the refused one: tried again.
    daemon
        .expect_checkpoint(
            CheckpointRequest::at("11", Some(0)),
            Some("ShutdownException"),
        )
        .await;
    daemon.expect_status("processRecords").await;
    daemon.send(&batch(&[("12", 0, "c")])).await;
    // The lease moved on: no more requests.
    daemon.expect_status("processRecords").await;
    daemon.send(&ToProcessor::ShutdownRequested).await;
    daemon.expect_status("shutdownRequested").await;
    daemon.finish().await.0.unwrap();
}

#[tokio::test]
async fn a_handler_error_or_an_unreadable_record_ends_the_run_with_its_cause() {
    let mut daemon = Daemon::start(CheckpointPolicy::manual());
    daemon.initialize().await;
    daemon
        .send(&batch(&[("10", 0, "a"), ("11", 0, "fail")]))
        .await;
    let err = daemon.run.await.unwrap().unwrap_err();
    assert_eq!(
        err.to_string(),
        "the handler failed on record 11: the handler refused it"
    );

    let mut daemon = Daemon::start(CheckpointPolicy::manual());
    daemon.initialize().await;
    daemon
        .send(&ToProcessor::ProcessRecords {
            records: vec![Record::new(&b"\xff\xfe"[..], "k", "10")],
            millis_behind_latest: None,
        })
        .await;
    let err = daemon.run.await.unwrap().unwrap_err();
    assert!(
        err.to_string()
            .starts_with("record 10:0 of shardId-000000000003 cannot be deserialized"),
        "{err}"
    );
}

#[tokio::test]
async fn a_line_that_is_not_a_message_ends_the_run() {
    let mut daemon = Daemon::start(CheckpointPolicy::manual());
    daemon.to_processor.write_all(b"hello\n").await.unwrap();
    let err = daemon.run.await.unwrap().unwrap_err();
    assert!(
        err.to_string()
            .starts_with("the daemon sent a line that is not a message: not a JSON message"),
        "{err}"
    );
}
