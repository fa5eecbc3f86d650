//! The Java KCL's MultiLangDaemon (`software.amazon.kinesis:amazon-kinesis-client-multilang`)
//! as a process of a scenario: its classpath from `MULTILANG_JAVA_CLASSPATH`, which `cargo xtask
//! test --tier kcl` resolves with Maven.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::TryStreamExt;
use kinesis_client::{Client, StreamId};
use kinesis_lease::lineage::new_lease_for_shard;
use kinesis_lease::{Checkpoint, DynamoDbLeaseRepository, LeaseRepository};
use kinesis_testkit::TestEnv;

use crate::required_var;

/// The MultiLangDaemon's main class.
const MAIN_CLASS: &str = "software.amazon.kinesis.multilang.MultiLangDaemon";

/// How long a graceful shutdown may take before the daemon is killed.
const STOP_WITHIN: Duration = Duration::from_secs(60);

/// The properties the Java daemon needs beyond those both daemons read: the test kit's
/// endpoints and credentials, no metrics, a graceful shutdown on SIGTERM (its default grace
/// is 0 ms: it would not wait for the processors), and the 2.x-compatible lease protocol.
pub fn java_properties(env: &TestEnv) -> String {
    let mut text = String::new();
    let _ = writeln!(text, "regionName = {}", env.region());
    let _ = writeln!(text, "kinesisEndpoint = {}", env.kinesis_endpoint());
    let _ = writeln!(text, "dynamoDBEndpoint = {}", env.dynamodb_endpoint());
    text.push_str(
        "AWSCredentialsProvider = EnvironmentVariableCredentialsProvider\n\
         metricsLevel = NONE\n\
         shutdownGraceMillis = 30000\n\
         clientVersionConfig = CLIENT_VERSION_CONFIG_COMPATIBLE_WITH_2X\n",
    );
    text
}

/// Creates the lease table of `application` with a lease at `TRIM_HORIZON` for every shard of
/// `stream`, as a worker of the application would. The Java KCL waits a random 1–30 s before it
/// creates leases in an empty table (so that a fleet starting together does not race); with
/// the leases there it starts at once.
pub async fn seed_leases(env: &TestEnv, application: &str, stream: &str) {
    let config = crate::client_config(env).await;
    let repo = DynamoDbLeaseRepository::new(&config, application);
    repo.ensure_table().await.expect("the lease table");
    let shards: Vec<_> = Client::new(&config)
        .list_shards(stream.parse::<StreamId>().expect("stream name"), None)
        .try_collect()
        .await
        .expect("the stream's shards");
    for shard in &shards {
        repo.create_lease(&new_lease_for_shard(shard, Checkpoint::TRIM_HORIZON))
            .await
            .expect("a lease");
    }
}

/// The Java MultiLangDaemon running as a child process; killed when dropped.
#[derive(Debug)]
pub struct JavaDaemon {
    child: Option<Child>,
    log: PathBuf,
}

impl JavaDaemon {
    /// Starts the daemon with the properties `text` (written to `<dir>/<name>.properties`), its
    /// output in `<dir>/<name>.log`. It signs with the test environment's access key, so that
    /// it sees the environment's streams.
    pub fn start(env: &TestEnv, dir: &Path, name: &str, text: &str) -> Self {
        let properties = dir.join(format!("{name}.properties"));
        fs::write(&properties, text).expect("the properties file");
        let log = dir.join(format!("{name}.log"));
        let out = fs::File::create(&log).expect("the daemon's log");
        let err = out.try_clone().expect("the daemon's log");
        let java = std::env::var("KCL_FLEET_JAVA").unwrap_or_else(|_| "java".into());
        let child = Command::new(java)
            .arg("-cp")
            .arg(required_var("MULTILANG_JAVA_CLASSPATH"))
            .arg(MAIN_CLASS)
            .arg("-p")
            .arg(&properties)
            .env("AWS_ACCESS_KEY_ID", env.access_key_id())
            .env("AWS_SECRET_ACCESS_KEY", "multilang-test-secret")
            .stdin(Stdio::null())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            .spawn()
            .expect("java starts");
        eprintln!(
            "started the Java MultiLangDaemon {name}; log in {}",
            log.display()
        );
        Self {
            child: Some(child),
            log,
        }
    }

    /// Its log.
    pub fn log(&self) -> &Path {
        &self.log
    }

    /// Sends SIGTERM (the daemon's shutdown hook asks every processor to checkpoint and
    /// stop) and waits for the process to end (at most 60 s, then kills it).
    pub fn stop(mut self) -> Stopped {
        let started = Instant::now();
        let Some(mut child) = self.child.take() else {
            return Stopped {
                exited: false,
                graceful: false,
                after: Duration::ZERO,
            };
        };
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status();
        let exited = loop {
            match child.try_wait() {
                Ok(Some(_)) => break true,
                Ok(None) if started.elapsed() < STOP_WITHIN => {
                    std::thread::sleep(Duration::from_millis(100));
                }
                _ => {
                    let _ = child.kill();
                    let _ = child.wait();
                    break false;
                }
            }
        };
        let log = fs::read_to_string(&self.log).unwrap_or_default();
        Stopped {
            exited,
            // The shutdown hook's graceful shutdown ran to its end. (KCL 3.1.3 then reports
            // `LeaderDecider uninitialized` and forces the scheduler's final shutdown at the
            // failover time, after the processors got `shutdownRequested` and checkpointed.)
            graceful: log.contains("Process shutdown is complete"),
            after: started.elapsed(),
        }
    }
}

/// How a [`JavaDaemon`] ended.
#[derive(Debug, Clone, Copy)]
pub struct Stopped {
    /// It exited within 60 s of SIGTERM (else it was killed).
    pub exited: bool,
    /// Its shutdown hook's graceful shutdown completed: every processor got
    /// `shutdownRequested`.
    pub graceful: bool,
    /// From SIGTERM to its end.
    pub after: Duration,
}

impl Drop for JavaDaemon {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
