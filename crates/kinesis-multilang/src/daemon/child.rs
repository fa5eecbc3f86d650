//! One record processor process: its stdin for messages, its stdout for answers, its stderr
//! logged.

use std::process::Stdio;
use std::time::Duration;

use kinesis_kcl_compat::multilang::{FromProcessor, ToProcessor};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

/// How long a processor gets to exit after its stdin is closed, before it is killed.
const EXIT_GRACE: Duration = Duration::from_secs(10);

/// Why talking to a processor failed.
#[derive(Debug)]
pub(crate) enum ChildError {
    /// The process could not be started.
    Spawn(String),
    /// Its stdin is closed (it exited).
    Write(String),
    /// Its stdout ended (it exited) before the answer.
    Exited(String),
    /// No answer within the response timeout.
    Timeout(Duration),
    /// It answered a different action than the one sent.
    WrongStatus { expected: String, got: String },
}

impl std::fmt::Display for ChildError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Spawn(e) => write!(f, "cannot start the record processor: {e}"),
            Self::Write(e) => write!(f, "cannot write to the record processor: {e}"),
            Self::Exited(e) => write!(f, "the record processor stopped answering: {e}"),
            Self::Timeout(t) => write!(f, "the record processor did not answer within {t:?}"),
            Self::WrongStatus { expected, got } => {
                write!(f, "the record processor answered {got:?} to {expected:?}")
            }
        }
    }
}

/// A running record processor.
pub(crate) struct ChildProcess {
    shard_id: String,
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Lines<BufReader<ChildStdout>>,
    stderr: Option<tokio::task::JoinHandle<()>>,
}

impl ChildProcess {
    /// Starts `command` (program and arguments) for `shard_id`.
    pub(crate) fn spawn(command: &[String], shard_id: &str) -> Result<Self, ChildError> {
        let (program, args) = command
            .split_first()
            .ok_or_else(|| ChildError::Spawn("executableName is empty".to_owned()))?;
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| ChildError::Spawn(format!("{}: {e}", command.join(" "))))?;
        let stdin = child.stdin.take();
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| ChildError::Spawn("no stdout".to_owned()))?;
        let stderr = child.stderr.take().map(|stderr| {
            let shard_id = shard_id.to_owned();
            tokio::spawn(async move {
                let mut lines = BufReader::new(stderr).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    tracing::info!(shard_id = %shard_id, "record processor stderr: {line}");
                }
            })
        });
        Ok(Self {
            shard_id: shard_id.to_owned(),
            child,
            stdin,
            stdout: BufReader::new(stdout).lines(),
            stderr,
        })
    }

    /// Writes one message line.
    pub(crate) async fn send(&mut self, message: &ToProcessor) -> Result<(), ChildError> {
        let stdin = self
            .stdin
            .as_mut()
            .ok_or_else(|| ChildError::Write("stdin already closed".to_owned()))?;
        let mut line = message.to_line();
        line.push('\n');
        stdin
            .write_all(line.as_bytes())
            .await
            .map_err(|e| ChildError::Write(e.to_string()))?;
        stdin
            .flush()
            .await
            .map_err(|e| ChildError::Write(e.to_string()))
    }

    /// The next message, skipping lines that are not messages (as the Java daemon does: they
    /// are logged). `timeout` bounds the wait.
    pub(crate) async fn receive(
        &mut self,
        timeout: Option<Duration>,
    ) -> Result<FromProcessor, ChildError> {
        loop {
            let next = self.stdout.next_line();
            let line = match timeout {
                Some(t) => tokio::time::timeout(t, next)
                    .await
                    .map_err(|_| ChildError::Timeout(t))?,
                None => next.await,
            };
            let line = match line {
                Ok(Some(line)) => line,
                Ok(None) => return Err(ChildError::Exited(self.exit_description())),
                Err(e) => return Err(ChildError::Exited(e.to_string())),
            };
            if line.trim().is_empty() {
                continue;
            }
            match FromProcessor::parse(&line) {
                Ok(message) => return Ok(message),
                Err(e) => {
                    tracing::warn!(
                        shard_id = %self.shard_id,
                        "skipping a line of the record processor's stdout that is not a message ({e}): {}",
                        preview(&line)
                    );
                }
            }
        }
    }

    fn exit_description(&mut self) -> String {
        match self.child.try_wait() {
            Ok(Some(status)) => format!("it exited with {status}"),
            _ => "its stdout was closed".to_owned(),
        }
    }

    /// Closes stdin, waits for the process to exit (killing it after a grace period), and
    /// drains its output.
    pub(crate) async fn finish(mut self) {
        drop(self.stdin.take());
        // Drain stdout so that a processor blocked on a full pipe can exit.
        let drain = async {
            while let Ok(Some(line)) = self.stdout.next_line().await {
                if !line.trim().is_empty() {
                    tracing::debug!(shard_id = %self.shard_id, "record processor output after its last action: {}", preview(&line));
                }
            }
        };
        let _ = tokio::time::timeout(EXIT_GRACE, drain).await;
        match tokio::time::timeout(EXIT_GRACE, self.child.wait()).await {
            Ok(Ok(status)) => {
                tracing::info!(shard_id = %self.shard_id, "record processor exited with {status}");
            }
            Ok(Err(e)) => {
                tracing::warn!(shard_id = %self.shard_id, "waiting for the record processor failed: {e}");
            }
            Err(_) => {
                tracing::warn!(shard_id = %self.shard_id, "record processor did not exit within {EXIT_GRACE:?}; killing it");
                let _ = self.child.kill().await;
            }
        }
        if let Some(stderr) = self.stderr.take() {
            let _ = tokio::time::timeout(Duration::from_secs(1), stderr).await;
        }
    }

    /// Kills the process at once (after a failure).
    pub(crate) async fn kill(mut self) {
        let _ = self.child.kill().await;
        if let Some(stderr) = self.stderr.take() {
            let _ = tokio::time::timeout(Duration::from_secs(1), stderr).await;
        }
    }
}

/// The start of a line, for logs.
fn preview(line: &str) -> String {
    const MAX: usize = 200;
    if line.len() <= MAX {
        return line.to_owned();
    }
    let mut end = MAX;
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes)", &line[..end], line.len())
}
