//! Every log line of a worker says where it comes from: the consumer's tasks run in a
//! `kinesis_consumer{application, stream, worker_id}` span, each shard task in a child
//! `shard{shard_id}` span, and the lease coordinator's tasks in `lease_coordinator{worker_id}`.

mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kinesis_consumer::Consumer;
use kinesis_serde::Utf8;
use support::{Fixture, eventually};

/// A writer into a shared buffer, for the subscriber.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

// One thread, so that the test's subscriber sees every task.
#[tokio::test(flavor = "current_thread")]
async fn shard_and_worker_context_is_on_every_line() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_max_level(tracing::Level::INFO)
        .with_ansi(false)
        .finish();
    let _default = tracing::subscriber::set_default(subscriber);

    let fx = Fixture::new(1).await;
    fx.put(["a".to_owned(), "b".to_owned()], 2).await;
    let c: Consumer<String> = Consumer::builder(&fx.config, &fx.stream, fx.app.clone())
        .worker_id("w-log")
        .deserializer(Utf8)
        .settings(fx.settings())
        .build()
        .await
        .unwrap();
    let mut shards = c.shards().unwrap();
    use futures_util::StreamExt as _;
    let mut shard = shards.next().await.unwrap();
    let mut seen = 0;
    while seen < 2 {
        let record = tokio::time::timeout(Duration::from_secs(30), shard.next())
            .await
            .expect("records within 30 s")
            .unwrap()
            .unwrap();
        shard.checkpointer().stage(record.position());
        seen += 1;
    }
    drop(shard);
    c.shutdown().await;
    eventually(
        "the shard task's last line",
        Duration::from_secs(10),
        || captured.text().contains("stopped processing the shard"),
    )
    .await;

    let text = captured.text();
    let worker = format!(
        "kinesis_consumer{{application={} stream={} worker_id=w-log}}",
        fx.app, fx.stream
    );
    let started = text
        .lines()
        .find(|l| l.contains("processing the shard") && !l.contains("stopped"))
        .unwrap_or_else(|| panic!("no shard start line in:\n{text}"));
    assert!(
        started.contains(&worker) && started.contains(":shard{shard_id=shardId-000000000000}"),
        "{started}"
    );
    let acquired = text
        .lines()
        .find(|l| l.contains("lease acquired"))
        .unwrap_or_else(|| panic!("no lease line in:\n{text}"));
    assert!(acquired.contains(&worker), "{acquired}");
    let coordinator_line = text
        .lines()
        .find(|l| l.contains("lease_coordinator{worker_id=w-log}"));
    assert!(
        coordinator_line.is_some()
            || text
                .lines()
                .filter(|l| l.contains("lease"))
                .all(|l| l.contains(&worker)),
        "lease lines without their worker:\n{text}"
    );
}
