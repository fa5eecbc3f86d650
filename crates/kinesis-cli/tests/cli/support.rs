//! Running `kinesis` against a test environment.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use kinesis_testkit::{Service, TestEnv};

/// The `kinesis` binary with no AWS variables of the caller's environment.
pub(crate) fn kinesis() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_kinesis"));
    for (key, _) in std::env::vars() {
        if key.starts_with("AWS_") || key.starts_with("KINESIS_TESTKIT_") {
            command.env_remove(key);
        }
    }
    command.stdin(Stdio::null());
    command
}

/// `kinesis` pointed at `env`'s servers.
pub(crate) fn kinesis_at(env: &TestEnv) -> Command {
    let mut command = kinesis();
    command
        .env("AWS_ENDPOINT_URL_KINESIS", env.endpoint(Service::Kinesis))
        .env("AWS_ENDPOINT_URL_DYNAMODB", env.endpoint(Service::DynamoDb))
        .env(
            "AWS_ENDPOINT_URL_CLOUDWATCH",
            env.endpoint(Service::CloudWatch),
        )
        .env("AWS_REGION", env.region())
        .env("AWS_ACCESS_KEY_ID", env.access_key_id())
        .env("AWS_SECRET_ACCESS_KEY", "kinesis-testkit-secret")
        .env("AWS_EC2_METADATA_DISABLED", "true");
    command
}

/// What a run printed and how it ended.
#[derive(Debug)]
pub(crate) struct Run {
    pub(crate) code: Option<i32>,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Run {
    fn of(output: Output) -> Self {
        Self {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Asserts exit 0 and returns stdout.
    #[track_caller]
    pub(crate) fn ok(&self) -> &str {
        assert_eq!(self.code, Some(0), "{self:#?}");
        &self.stdout
    }

    /// Asserts the exit code and that stderr holds one line saying `needle`.
    #[track_caller]
    pub(crate) fn fails(&self, code: i32, needle: &str) {
        assert_eq!(self.code, Some(code), "{self:#?}");
        assert!(self.stderr.contains(needle), "{needle:?} not in {self:#?}");
    }

    /// stdout as one JSON document.
    #[track_caller]
    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_str(self.ok()).unwrap_or_else(|e| panic!("{e}: {self:#?}"))
    }

    /// stdout as JSON lines.
    #[track_caller]
    pub(crate) fn json_lines(&self) -> Vec<serde_json::Value> {
        self.ok()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    }
}

/// Runs `kinesis args...` against `env`.
pub(crate) fn run(env: &TestEnv, args: &[&str]) -> Run {
    Run::of(kinesis_at(env).args(args).output().expect("run kinesis"))
}

/// Runs `kinesis <line>` against `env`, the line split at whitespace.
pub(crate) fn sh(env: &TestEnv, line: &str) -> Run {
    let args: Vec<&str> = line.split_whitespace().collect();
    run(env, &args)
}

/// Runs `kinesis args...` against `env` with `input` on stdin.
pub(crate) fn run_with_stdin(env: &TestEnv, args: &[&str], input: &str) -> Run {
    use std::io::Write;
    let mut child = kinesis_at(env)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn kinesis");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write stdin");
    Run::of(child.wait_with_output().expect("wait for kinesis"))
}

/// Writes `text` to a file of `dir` and returns its path as a string.
pub(crate) fn file(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write file");
    path.to_string_lossy().into_owned()
}

/// A stream of `shards` shards, ACTIVE, with a unique name.
pub(crate) async fn stream(env: &TestEnv, prefix: &str, shards: i32) -> String {
    let name = env.unique_name(prefix);
    env.create_stream(&name, shards)
        .await
        .expect("create stream");
    name
}

/// Whether the `stream consumers -o json` answer has no consumer `name`, or has it only while
/// it is being deleted.
pub(crate) fn consumer_gone(answer: &serde_json::Value, name: &str) -> bool {
    answer
        .as_array()
        .expect("a JSON array")
        .iter()
        .all(|c| c["name"] != name || c["status"] == "DELETING")
}
