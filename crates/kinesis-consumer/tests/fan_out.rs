//! The consumer in enhanced fan-out mode on the Kinesis and DynamoDB emulators (embedded, or the
//! servers the standard endpoint variables name): the same records as polling, resubscription
//! after the service ends a session, AT_TIMESTAMP in both fetch modes, one registered stream
//! consumer shared by an application's workers, and shard end after a split. The last test
//! subscribes over HTTPS with HTTP/2 (the only way AWS serves SubscribeToShard) to kinesis-local's
//! TLS port; it runs in the external tier.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use futures_util::TryStreamExt;
use kinesis_client::{
    AdminClient, Client, ClientConfig, ConsumerStatus, DisplayErrorChain, ErrorKind, RetryConfig,
    SequenceNumber, ShardId, StreamName, WaitConfig,
};
use kinesis_consumer::{
    Consumer, ConsumerRecord, ConsumerSettings, DiagnosticEvent, FanOutSettings, FetchMode,
};
use kinesis_kcl_compat::sequence::{Checkpoint, ExtendedSequenceNumber};
use kinesis_lease::lineage::InitialPosition;
use kinesis_serde::Utf8;
use kinesis_testkit::{Capability, Service, TestEnv};
use support::{Fixture, Worker, eventually};

/// What [`Fixture::put`] returns: (value, shard, sequence number) in write order.
type Written = Vec<(String, ShardId, SequenceNumber)>;

/// The fixture's settings (trim horizon, fast lease timings) with enhanced fan-out.
fn fan_out(fx: &Fixture, settings: FanOutSettings) -> ConsumerSettings {
    fx.settings()
        .with_fetch_mode(FetchMode::EnhancedFanOut(settings))
}

/// A worker of application `app` (not the fixture's own) on the fixture's stream.
async fn worker_of(fx: &Fixture, app: &str, id: &str, settings: ConsumerSettings) -> Worker {
    let events: Arc<Mutex<Vec<DiagnosticEvent>>> = Arc::default();
    let sink = Arc::clone(&events);
    let consumer = Consumer::builder(&fx.config, &fx.stream, app)
        .worker_id(id)
        .deserializer(Utf8)
        .settings(settings)
        .on_event(move |e| sink.lock().unwrap().push(e.clone()))
        .build()
        .await
        .unwrap();
    Worker::run(consumer, events)
}

/// Asserts that `seen` holds every written record exactly once, each from the shard and with
/// the sequence number it was stored with, and that the records of each partition key arrived
/// in the order they were written.
fn assert_exactly_once_in_order(what: &str, seen: &[ConsumerRecord<String>], written: &[&Written]) {
    let mut index: BTreeMap<&str, (usize, &ShardId, &SequenceNumber)> = BTreeMap::new();
    for (i, (value, shard, seq)) in written.iter().flat_map(|w| w.iter()).enumerate() {
        assert!(
            index.insert(value, (i, shard, seq)).is_none(),
            "{what}: value {value} written twice (test bug)"
        );
    }
    let mut values: Vec<&str> = seen.iter().map(|r| r.data().as_str()).collect();
    values.sort_unstable();
    let mut expected: Vec<&str> = index.keys().copied().collect();
    expected.sort_unstable();
    assert_eq!(values, expected, "{what}: every record exactly once");

    let mut by_key: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for record in seen {
        let (i, shard, seq) = index[record.data().as_str()];
        assert_eq!(
            record.shard_id(),
            shard,
            "{what}: shard of {}",
            record.data()
        );
        assert_eq!(
            record.sequence_number(),
            seq,
            "{what}: sequence number of {}",
            record.data()
        );
        by_key.entry(record.partition_key()).or_default().push(i);
    }
    for (key, order) in by_key {
        assert!(
            order.windows(2).all(|w| w[0] < w[1]),
            "{what}: records of {key} out of write order: {order:?}"
        );
    }
}

/// The values of `seen`, per partition key, in arrival order.
fn per_key(seen: &[ConsumerRecord<String>]) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for record in seen {
        out.entry(record.partition_key().to_owned())
            .or_default()
            .push(record.data().clone());
    }
    out
}

/// The shards for which `events` hold a subscription event, and the number of poll events.
fn fetch_events(events: &[DiagnosticEvent]) -> (BTreeSet<String>, usize) {
    let mut subscribed = BTreeSet::new();
    let mut polls = 0;
    for event in events {
        match event {
            DiagnosticEvent::SubscriptionEvent { shard_id, .. } => {
                subscribed.insert(shard_id.to_string());
            }
            DiagnosticEvent::PollComplete { .. } => polls += 1,
            _ => {}
        }
    }
    (subscribed, polls)
}

/// The shards of `written`, as strings.
fn shards_of(written: &Written) -> BTreeSet<String> {
    written.iter().map(|(_, s, _)| s.to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_and_fan_out_deliver_the_same_records() {
    let env = TestEnv::start().await;
    if !env.require(Capability::EnhancedFanOut) {
        return;
    }
    let fx = Fixture::with_env(env, 3).await;
    let before = fx.put((0..90).map(|i| format!("v{i:03}")), 15).await;
    assert_eq!(shards_of(&before).len(), 3, "the keys reach every shard");

    let polling = worker_of(&fx, &fx.env.unique_name("app-a"), "poller", fx.settings()).await;
    let fanning = worker_of(
        &fx,
        &fx.env.unique_name("app-b"),
        "subscriber",
        fan_out(&fx, FanOutSettings::default()),
    )
    .await;
    // More records while both read.
    let during = fx.put((90..150).map(|i| format!("v{i:03}")), 15).await;
    eventually(
        "150 records on both workers",
        Duration::from_secs(60),
        || polling.count() >= 150 && fanning.count() >= 150,
    )
    .await;
    // Give both a moment to show that nothing comes twice.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let polling = polling.shutdown().await;
    let fanning = fanning.shutdown().await;

    let polled = polling.seen.lock().unwrap().clone();
    let pushed = fanning.seen.lock().unwrap().clone();
    assert_exactly_once_in_order("polling", &polled, &[&before, &during]);
    assert_exactly_once_in_order("fan-out", &pushed, &[&before, &during]);
    assert_eq!(per_key(&polled), per_key(&pushed), "the same order per key");

    let (subscribed, polls) = fetch_events(&fanning.events.lock().unwrap());
    assert_eq!(
        subscribed,
        shards_of(&before),
        "subscription events from every shard"
    );
    assert_eq!(polls, 0, "the fan-out worker never polls");
    let (subscribed, polls) = fetch_events(&polling.events.lock().unwrap());
    assert!(subscribed.is_empty(), "the polling worker never subscribes");
    assert!(polls > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_arrive_once_and_in_order_across_subscription_renewals() {
    // Sessions of 2 s instead of AWS's 5 minutes: the fetcher renews them several times.
    let env = TestEnv::builder()
        .subscribe_to_shard_session(Duration::from_secs(2))
        .start()
        .await;
    // Renewing needs the session to end (ferrokinesis only) and the new subscription to start
    // after the continuation sequence number (not ferrokinesis: it restarts at TRIM_HORIZON).
    if !env.require(Capability::ConfigurableEfoSession)
        || !env.require(Capability::EfoStartingPosition)
        || !env.require(Capability::FaultInjection)
    {
        return;
    }
    let fx = Fixture::with_env(env, 2).await;
    let mut written = vec![fx.put((0..40).map(|i| format!("r{i:04}")), 8).await];
    let worker = fx
        .worker_with("w1", fan_out(&fx, FanOutSettings::default()))
        .await;
    let subscribes = || fx.env.faults().calls("SubscribeToShard");

    // Keep writing until each of the two shards has been subscribed to four times (three
    // renewals each on average), then once more.
    let mut next = 40;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while subscribes() < 8 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {} SubscribeToShard calls after 60 s",
            subscribes()
        );
        written.push(
            fx.put((next..next + 10).map(|i| format!("r{i:04}")), 8)
                .await,
        );
        next += 10;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    written.push(
        fx.put((next..next + 10).map(|i| format!("r{i:04}")), 8)
            .await,
    );
    next += 10;
    eventually(
        &format!("all {next} records"),
        Duration::from_secs(30),
        || worker.count() >= next,
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let worker = worker.shutdown().await;

    let all: Vec<&Written> = written.iter().collect();
    assert_exactly_once_in_order("fan-out", &worker.seen.lock().unwrap(), &all);
    let events = worker.events.lock().unwrap();
    let retries: Vec<_> = events
        .iter()
        .filter(|e| matches!(e, DiagnosticEvent::FetchRetry { .. }))
        .collect();
    assert!(
        retries.is_empty(),
        "a session that ends cleanly is renewed without a retry: {retries:?}"
    );
    // Each shard stream ran through every renewal: one stream per shard.
    let streams = worker.streams.lock().unwrap();
    assert_eq!(streams.len(), 2);
    assert!(streams.values().all(|n| *n == 1), "{streams:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_timestamp_skips_older_records_when_polling() {
    at_timestamp_skips_older_records(TestEnv::start().await, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_timestamp_skips_older_records_in_fan_out() {
    let env = TestEnv::start().await;
    if !env.require(Capability::EnhancedFanOut) || !env.require(Capability::EfoStartingPosition) {
        return;
    }
    at_timestamp_skips_older_records(env, true).await;
}

/// Records written more than a second before a timestamp are skipped by a worker whose
/// initial position is AT_TIMESTAMP; those written after it, before and after the worker
/// started, are delivered.
async fn at_timestamp_skips_older_records(env: TestEnv, fan_out: bool) {
    let what = if fan_out { "fan-out" } else { "polling" };
    let fx = Fixture::with_env(env, 2).await;
    let old = fx.put((0..30).map(|i| format!("old{i:03}")), 10).await;
    // Arrival times have whole-second precision on ferrokinesis (truncated, so an old record
    // looks older, never newer): leave more than a second on each side of the boundary.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    #[allow(
        clippy::disallowed_methods,
        reason = "the emulator stamps arrivals with the wall clock"
    )]
    let boundary = SystemTime::now();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let new = fx.put((0..30).map(|i| format!("new{i:03}")), 10).await;
    // ferrokinesis starts a shard with no record at or after the timestamp at its trim horizon
    // (AWS at its tip): make sure every shard has one before the worker starts.
    assert_eq!(
        shards_of(&new),
        shards_of(&old),
        "new records on every shard"
    );

    let mut settings = fx
        .settings()
        .with_initial_position(InitialPosition::AtTimestamp(boundary));
    if fan_out {
        settings = settings.with_fetch_mode(FetchMode::EnhancedFanOut(FanOutSettings::default()));
    }
    let worker = fx.worker_with("w1", settings).await;
    let live = fx.put((0..10).map(|i| format!("live{i:03}")), 10).await;
    eventually("the 40 newer records", Duration::from_secs(60), || {
        worker.count() >= 40
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let worker = worker.shutdown().await;

    let seen = worker.seen.lock().unwrap();
    assert_exactly_once_in_order(what, &seen, &[&new, &live]);
    for record in seen.iter() {
        let arrived = record
            .approximate_arrival_timestamp()
            .expect("an arrival timestamp");
        assert!(
            arrived >= boundary,
            "{what}: {} arrived at {arrived:?}, before the boundary {boundary:?}",
            record.data()
        );
    }
    let (subscribed, polls) = fetch_events(&worker.events.lock().unwrap());
    if fan_out {
        assert_eq!(
            subscribed,
            shards_of(&new),
            "{what}: subscribed to every shard"
        );
        assert_eq!(polls, 0);
    } else {
        assert!(subscribed.is_empty() && polls > 0, "{what}: polled");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_stream_consumer_is_shared_and_deregistered_on_shutdown_when_asked() {
    let env = TestEnv::start().await;
    if !env.require(Capability::EnhancedFanOut) {
        return;
    }
    let fx = Fixture::with_env(env, 2).await;
    let first_batch = fx.put((0..40).map(|i| format!("a{i:03}")), 8).await;
    assert_eq!(shards_of(&first_batch).len(), 2);
    let registered = || async {
        fx.admin
            .list_stream_consumers(&fx.stream)
            .try_collect::<Vec<_>>()
            .await
            .unwrap()
    };
    assert!(registered().await.is_empty());

    // The first worker registers the application's consumer; it leaves it registered.
    let w1 = fx
        .worker_with("w1", fan_out(&fx, FanOutSettings::default()))
        .await;
    let consumers = registered().await;
    assert_eq!(consumers.len(), 1, "{consumers:?}");
    assert_eq!(consumers[0].name, fx.app, "named after the application");
    let consumer = fx
        .admin
        .describe_stream_consumer_by_name(&fx.stream, &fx.app)
        .await
        .unwrap();
    assert_eq!(consumer.arn, consumers[0].arn);
    assert_eq!(consumer.status, ConsumerStatus::Active);

    // The second worker finds and uses it; it deregisters it when it shuts down.
    let w2 = fx
        .worker_with(
            "w2",
            fan_out(
                &fx,
                FanOutSettings::default().with_deregister_on_shutdown(true),
            ),
        )
        .await;
    let consumers = registered().await;
    assert_eq!(consumers.len(), 1, "registered once: {consumers:?}");
    assert_eq!(consumers[0].arn, consumer.arn, "the same consumer");

    // The two share the shards (the second steals one), each through a subscription.
    eventually(
        "the second worker subscribed to a shard",
        Duration::from_secs(60),
        || !fetch_events(&w2.events.lock().unwrap()).0.is_empty(),
    )
    .await;
    assert!(!fetch_events(&w1.events.lock().unwrap()).0.is_empty());
    let values = |w: &Worker| -> BTreeSet<String> { w.values().into_iter().collect() };
    eventually(
        "the first 40 records between them",
        Duration::from_secs(30),
        || values(&w1).union(&values(&w2)).count() >= 40,
    )
    .await;
    let expected: BTreeSet<String> = first_batch.iter().map(|(v, _, _)| v.clone()).collect();
    let read: BTreeSet<String> = values(&w1).union(&values(&w2)).cloned().collect();
    assert_eq!(read, expected);

    let w1 = w1.shutdown().await;
    drop(w1);
    let consumers = registered().await;
    assert_eq!(consumers.len(), 1, "still registered: {consumers:?}");

    // The second worker takes over the first one's shard through the same consumer.
    let already = w2.count();
    let second_batch = fx.put((0..40).map(|i| format!("b{i:03}")), 8).await;
    eventually("the next 40 records on w2", Duration::from_secs(30), || {
        let seen = w2.values();
        second_batch.iter().all(|(v, _, _)| seen.contains(v))
    })
    .await;
    assert!(w2.count() >= already + 40);
    assert_eq!(
        fetch_events(&w2.events.lock().unwrap()).0,
        shards_of(&first_batch),
        "w2 subscribed to both shards"
    );

    w2.shutdown().await;
    assert!(registered().await.is_empty(), "deregistered at shutdown");
    let gone = fx
        .admin
        .describe_stream_consumer_by_name(&fx.stream, &fx.app)
        .await
        .unwrap_err();
    assert_eq!(gone.kind(), ErrorKind::NotFound);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_split_shard_ends_at_shard_end_and_its_children_follow() {
    let env = TestEnv::start().await;
    if !env.require(Capability::EfoShardEnd) {
        return;
    }
    let fx = Fixture::with_env(env, 2).await;
    let shards: Vec<_> = fx
        .client
        .list_shards(&fx.stream, None)
        .try_collect()
        .await
        .unwrap();
    let parent = shards[0].clone();
    let other = shards[1].id().clone();

    let before = fx.put((0..60).map(|i| format!("a{i:03}")), 24).await;
    assert_eq!(shards_of(&before).len(), 2);
    let worker = fx
        .worker_with("w1", fan_out(&fx, FanOutSettings::default()))
        .await;
    eventually(
        "the 60 records before the split",
        Duration::from_secs(30),
        || worker.count() >= 60,
    )
    .await;

    fx.admin
        .split_shard(&fx.stream, parent.id(), parent.hash_key_range().midpoint())
        .await
        .unwrap();
    let children: BTreeSet<String> = fx
        .client
        .list_shards(&fx.stream, None)
        .try_collect::<Vec<_>>()
        .await
        .unwrap()
        .iter()
        .filter(|s| s.parent_shard_id() == Some(parent.id()))
        .map(|s| s.id().to_string())
        .collect();
    assert_eq!(children.len(), 2);

    let after = fx.put((0..60).map(|i| format!("b{i:03}")), 24).await;
    let mut expected_shards = children.clone();
    expected_shards.insert(other.to_string());
    assert_eq!(
        shards_of(&after),
        expected_shards,
        "new records reach both children and the other shard, none the closed parent"
    );
    eventually("all 120 records", Duration::from_secs(60), || {
        worker.count() >= 120
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let worker = worker.shutdown().await;

    // Nothing lost or repeated; per key, the parent's records before the children's.
    assert_exactly_once_in_order("fan-out", &worker.seen.lock().unwrap(), &[&before, &after]);

    // The parent's lease is at SHARD_END; every other lease at its shard's last record.
    let mut last: BTreeMap<String, Checkpoint> = BTreeMap::new();
    for (_, shard, seq) in before.iter().chain(&after) {
        last.insert(
            shard.to_string(),
            Checkpoint::from(ExtendedSequenceNumber::plain(seq.clone())),
        );
    }
    last.insert(parent.id().to_string(), Checkpoint::SHARD_END);
    let leases = fx.leases().await;
    let checkpoints: BTreeMap<String, Checkpoint> = leases
        .iter()
        .map(|(k, l)| (k.clone(), l.checkpoint.clone()))
        .collect();
    assert_eq!(checkpoints, last);
    for child in &children {
        let parents: Vec<String> = leases[child]
            .parent_shard_ids
            .iter()
            .map(|p| p.to_string())
            .collect();
        assert_eq!(parents, [parent.id().to_string()], "lineage of {child}");
    }
    assert!(leases.values().all(|l| l.lease_owner.is_none()), "released");

    // The parent's stream ended with its children; the children started after that.
    let events = worker.events.lock().unwrap();
    let ended = events
        .iter()
        .position(|e| matches!(e, DiagnosticEvent::ShardEnded { shard_id, .. } if shard_id == parent.id()))
        .expect("the parent's shard end");
    let DiagnosticEvent::ShardEnded {
        children: reported, ..
    } = &events[ended]
    else {
        unreachable!()
    };
    let reported: BTreeSet<String> = reported.iter().map(ToString::to_string).collect();
    assert_eq!(reported, children);
    for child in &children {
        let started = events
            .iter()
            .position(|e| matches!(e, DiagnosticEvent::ShardStarted { shard_id, .. } if shard_id.as_str() == child))
            .unwrap_or_else(|| panic!("{child} started"));
        assert!(started > ended, "{child} started before its parent ended");
    }
    let streams = worker.streams.lock().unwrap();
    assert_eq!(streams.len(), 4, "{streams:?}");
    assert!(streams.values().all(|n| *n == 1), "{streams:?}");
}

/// AWS serves SubscribeToShard only over HTTP/2 with TLS. kinesis-local's TLS port does the
/// same (ALPN `h2`), with a certificate from the CA that `cargo xtask emulators up` generates:
/// trusting that CA through `ClientConfigBuilder::trust_ca_pem`, a fan-out worker reads every
/// record over HTTPS, its subscriptions multiplexed on one HTTP/2 connection. Runs in the
/// external tier; elsewhere it is skipped with a printed line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fan_out_worker_reads_over_https_with_http2() {
    let env = TestEnv::start().await;
    let Some((url, ca_pem)) = env.kinesis_tls_endpoint() else {
        skip(&format!(
            "a Kinesis TLS endpoint (KINESIS_TESTKIT_KINESIS_TLS_ENDPOINT and \
             KINESIS_TESTKIT_CA_PEM, exported by `cargo xtask emulators up`), which {} lacks",
            env.backend(Service::Kinesis)
        ));
        return;
    };
    if !env.require(Capability::EnhancedFanOut) {
        return;
    }
    let (url, ca_pem) = (url.to_owned(), ca_pem.to_owned());
    let ca = std::fs::read(&ca_pem)
        .unwrap_or_else(|e| panic!("the CA of the TLS endpoint, {}: {e}", ca_pem.display()));
    let tls_config = |trust: bool| {
        let mut builder = ClientConfig::builder()
            .sdk_config(env.sdk_config())
            .kinesis_endpoint(url.clone())
            .wait(WaitConfig::default().with_poll_interval(Duration::from_millis(50)));
        if trust {
            builder = builder.trust_ca_pem(ca.clone());
        } else {
            builder = builder.retry(RetryConfig::default().with_max_attempts(1));
        }
        builder.build()
    };
    // Without the CA the server's certificate is refused: the endpoint really is TLS.
    let untrusted = tls_config(false).await.unwrap();
    let refused = Client::new(&untrusted)
        .describe_stream_summary(&"any-stream".parse::<StreamName>().unwrap())
        .await
        .unwrap_err();
    let chain = DisplayErrorChain(&refused).to_string();
    assert!(
        chain.contains("UnknownIssuer"),
        "refused for its certificate: {chain}"
    );

    let config = tls_config(true).await.unwrap();
    // The stream is created over plain HTTP, then everything goes over TLS.
    let mut fx = Fixture::with_env(env, 3).await;
    fx.client = Client::new(&config);
    fx.admin = AdminClient::new(&config);
    fx.config = config;
    let before = fx.put((0..30).map(|i| format!("t{i:03}")), 9).await;
    assert_eq!(shards_of(&before).len(), 3);
    let tls_port = url
        .rsplit(':')
        .next()
        .and_then(|p| p.trim_end_matches('/').parse::<u16>().ok())
        .expect("the TLS endpoint has a port");
    let connections_before = established_connections_to(tls_port);

    let worker = fx
        .worker_with("w1", fan_out(&fx, FanOutSettings::default()))
        .await;
    let during = fx.put((30..60).map(|i| format!("t{i:03}")), 9).await;
    eventually("60 records over TLS", Duration::from_secs(90), || {
        worker.count() >= 60
    })
    .await;
    // Three subscriptions are open now (one per shard), yet this process holds one connection
    // to the TLS port (besides any it held before): HTTP/2 multiplexes them.
    let (subscribed, _) = fetch_events(&worker.events.lock().unwrap());
    assert_eq!(subscribed, shards_of(&before), "subscribed to every shard");
    let connections = established_connections_to(tls_port);
    assert!(
        connections <= connections_before + 1,
        "{connections} connections to port {tls_port} (before: {connections_before}) \
         for 3 open subscriptions: not HTTP/2"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let worker = worker.shutdown().await;
    assert_exactly_once_in_order(
        "fan-out over TLS",
        &worker.seen.lock().unwrap(),
        &[&before, &during],
    );
}

/// Prints `skipped: <test> needs <what>` past the test harness's output capture, as
/// `TestEnv::require` does.
fn skip(what: &str) {
    let thread = std::thread::current();
    let line = format!(
        "skipped: {} needs {what}\n",
        thread.name().unwrap_or("this test")
    );
    let _ = std::io::Write::write_all(&mut std::io::stderr(), line.as_bytes());
}

/// The established TCP connections from a local client to `port` on this machine (Linux
/// `/proc/net/tcp{,6}`: remote port `port`, state `01`).
fn established_connections_to(port: u16) -> usize {
    let remote = format!(":{port:04X}");
    let count = |table: String| {
        table
            .lines()
            .skip(1)
            .filter(|line| {
                let fields: Vec<&str> = line.split_whitespace().collect();
                fields.len() > 3 && fields[2].ends_with(&remote) && fields[3] == "01"
            })
            .count()
    };
    ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .filter_map(|table| std::fs::read_to_string(table).ok())
        .map(count)
        .sum()
}
