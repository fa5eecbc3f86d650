//! One record processor process: its stdin for messages, its stdout for answers, its stderr
//! logged.
//!
//! Its stdout and stderr are read all the time by tasks of their own, whatever the daemon is
//! doing, so that the processor never blocks on a full pipe (a processor that logs to stdout
//! while the daemon writes a large batch to its stdin would otherwise wait on the daemon
//! forever, and the daemon on it).

use std::process::Stdio;
use std::time::Duration;

use kinesis_kcl_compat::multilang::{FromProcessor, MessageError, ToProcessor};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::mpsc;

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

/// What the processor wrote on stdout: a message, or a line that names the checkpoint action
/// but cannot be read as one (answered with `IllegalArgumentException`, as the Java daemon's
/// lenient reader would reject its values).
#[derive(Debug)]
pub(crate) enum Received {
    Message(FromProcessor),
    BadCheckpoint(MessageError),
}

/// A running record processor.
pub(crate) struct ChildProcess {
    shard_id: String,
    /// The response timeout, for error messages.
    timeout: Option<Duration>,
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: mpsc::UnboundedReceiver<Received>,
    readers: Vec<tokio::task::JoinHandle<()>>,
}

/// Reads `stream` line by line (invalid UTF-8 replaced, never stopping at it) until it ends.
async fn read_lines(stream: impl AsyncRead + Unpin, mut each: impl FnMut(String) -> bool) {
    let mut reader = BufReader::new(stream);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match reader.read_until(b'\n', &mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {
                let line = String::from_utf8_lossy(&buf);
                let line = line.trim_end_matches(['\n', '\r']).to_owned();
                if !each(line) {
                    return;
                }
            }
        }
    }
}

impl ChildProcess {
    /// Starts `command` (program and arguments) for `shard_id`.
    pub(crate) fn spawn(
        command: &[String],
        shard_id: &str,
        timeout: Option<Duration>,
    ) -> Result<Self, ChildError> {
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
        let mut readers = Vec::new();
        // Only messages reach the daemon (they come in answer to its own, so they are few);
        // other lines are logged and dropped here, so that the pipe is always drained.
        let (tx, rx) = mpsc::unbounded_channel();
        let shard = shard_id.to_owned();
        readers.push(tokio::spawn(async move {
            read_lines(stdout, |line| {
                if line.trim().is_empty() {
                    return true;
                }
                let received = match FromProcessor::parse(&line) {
                    Ok(message) => Received::Message(message),
                    Err(e) if e.action() == Some("checkpoint") => Received::BadCheckpoint(e),
                    Err(e) => {
                        tracing::warn!(
                            shard_id = %shard,
                            "skipping a line of the record processor's stdout that is not a message ({e}): {}",
                            preview(&line)
                        );
                        return true;
                    }
                };
                // A closed channel (the daemon is done with this processor): drain the rest.
                let _ = tx.send(received);
                true
            })
            .await;
        }));
        if let Some(stderr) = child.stderr.take() {
            let shard_id = shard_id.to_owned();
            readers.push(tokio::spawn(async move {
                read_lines(stderr, |line| {
                    tracing::info!(shard_id = %shard_id, "record processor stderr: {line}");
                    true
                })
                .await;
            }));
        }
        Ok(Self {
            shard_id: shard_id.to_owned(),
            timeout,
            child,
            stdin,
            stdout: rx,
            readers,
        })
    }

    /// Writes one message line, within the response timeout when there is one.
    pub(crate) async fn send(&mut self, message: &ToProcessor) -> Result<(), ChildError> {
        let timeout = self.timeout;
        let stdin = self
            .stdin
            .as_mut()
            .ok_or_else(|| ChildError::Write("stdin already closed".to_owned()))?;
        let mut line = message.to_line();
        line.push('\n');
        let write = async {
            stdin.write_all(line.as_bytes()).await?;
            stdin.flush().await
        };
        match timeout {
            Some(t) => tokio::time::timeout(t, write)
                .await
                .map_err(|_| ChildError::Timeout(t))?,
            None => write.await,
        }
        .map_err(|e| ChildError::Write(e.to_string()))
    }

    /// The next message (lines that are not messages were logged and skipped by the reader,
    /// as the Java daemon does). `deadline` bounds the wait.
    pub(crate) async fn receive(
        &mut self,
        deadline: Option<tokio::time::Instant>,
    ) -> Result<Received, ChildError> {
        let next = match deadline {
            Some(d) => tokio::time::timeout_at(d, self.stdout.recv())
                .await
                .map_err(|_| ChildError::Timeout(self.timeout.unwrap_or_default()))?,
            None => self.stdout.recv().await,
        };
        next.ok_or_else(|| ChildError::Exited(self.exit_description()))
    }

    fn exit_description(&mut self) -> String {
        match self.child.try_wait() {
            Ok(Some(status)) => format!("it exited with {status}"),
            _ => "its stdout was closed".to_owned(),
        }
    }

    /// Closes stdin, waits for the process to exit (killing it after a grace period), and
    /// lets the readers finish.
    pub(crate) async fn finish(mut self) {
        drop(self.stdin.take());
        // The rest of stdout is drained by its reader; nobody reads the channel any more.
        self.stdout.close();
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
        self.join_readers().await;
    }

    /// Kills the process at once (after a failure).
    pub(crate) async fn kill(mut self) {
        let _ = self.child.kill().await;
        self.stdout.close();
        self.join_readers().await;
    }

    async fn join_readers(&mut self) {
        for reader in self.readers.drain(..) {
            // The pipes close with the process; a grandchild holding them open is not waited for.
            if tokio::time::timeout(Duration::from_secs(1), reader)
                .await
                .is_err()
            {
                tracing::debug!(shard_id = %self.shard_id, "a pipe of the record processor is still open");
            }
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
