//! Worker and producer processes: each is started and stopped by its own handle, and killed
//! when the handle is dropped.

use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};
use std::{env, fmt, fs, io::Write};

/// The KCL versions of the Java harness, each compiled on its own classpath.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kcl {
    /// The newest KCL 2.x.
    V2,
    /// KCL 3.x in its 2.x-compatible mode (`CLIENT_VERSION_CONFIG_COMPATIBLE_WITH_2X`), the
    /// mode in which 3.x workers share a fleet with 2.x-protocol workers.
    V3Compatible,
    /// KCL 3.x in its own mode (leader-based assignment), for sequential hand-overs only.
    V3,
}

impl Kcl {
    /// The variable that holds the classpath of this version's worker.
    pub fn classpath_variable(self) -> &'static str {
        match self {
            Kcl::V2 => "KCL_FLEET_KCL2_CLASSPATH",
            Kcl::V3Compatible | Kcl::V3 => "KCL_FLEET_KCL3_CLASSPATH",
        }
    }
}

/// What runs a worker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// This crate's `kcl-fleet worker` (KCL 2.x lease rules).
    Rust,
    /// This crate's `kcl-fleet worker --protocol kcl3` (KCL 3.x lease rules).
    RustKcl3,
    /// The Java KCL worker of `interop/kcl-worker`.
    Java(Kcl),
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Kind::Rust => f.write_str("rust"),
            Kind::RustKcl3 => f.write_str("rust-kcl3"),
            Kind::Java(Kcl::V2) => f.write_str("kcl2"),
            Kind::Java(Kcl::V3Compatible) => f.write_str("kcl3-compat"),
            Kind::Java(Kcl::V3) => f.write_str("kcl3"),
        }
    }
}

/// A required variable of the `kcl` tier (set by `cargo xtask test --tier kcl`).
///
/// # Panics
///
/// When it is not set: the scenarios need the Java harness that the xtask builds.
pub fn required_var(name: &str) -> String {
    env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set: the kcl tier needs the Java KCL harness; run `cargo xtask test --tier kcl`"
        )
    })
}

/// Whether the tier's variables are set (the Java harness was built).
pub fn tier_configured() -> bool {
    env::var_os("KCL_FLEET_KCL2_CLASSPATH").is_some()
}

/// The Java executable.
pub fn java() -> String {
    env::var("KCL_FLEET_JAVA").unwrap_or_else(|_| "java".into())
}

/// A running process with a journal.
#[derive(Debug)]
pub struct Process {
    name: String,
    child: Option<Child>,
    stdin: Option<ChildStdin>,
    journal: PathBuf,
    log: PathBuf,
}

impl Process {
    /// Starts `command`, its stdout and stderr appended to `log`, its stdin a pipe.
    ///
    /// # Panics
    ///
    /// When it cannot start.
    pub fn spawn(name: &str, mut command: Command, journal: &Path, log: &Path) -> Self {
        let out = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .unwrap_or_else(|e| panic!("cannot open {}: {e}", log.display()));
        let err = out.try_clone().expect("log handle");
        command
            .stdin(Stdio::piped())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err));
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name} ({command:?}): {e}"));
        let stdin = child.stdin.take();
        Self {
            name: name.to_owned(),
            child: Some(child),
            stdin,
            journal: journal.to_owned(),
            log: log.to_owned(),
        }
    }

    /// The process's name in the scenario.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its journal file.
    pub fn journal(&self) -> &Path {
        &self.journal
    }

    /// Its log file (stdout and stderr).
    pub fn log(&self) -> &Path {
        &self.log
    }

    /// Whether it is still running.
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// Asks it to stop gracefully (`stop` on stdin, then stdin closed) and waits up to
    /// `timeout`; kills it after that. Returns whether it exited by itself with success.
    pub fn stop(&mut self, timeout: Duration) -> bool {
        if let Some(mut stdin) = self.stdin.take() {
            let _ = stdin.write_all(b"stop\n");
            let _ = stdin.flush();
        }
        self.wait(timeout)
    }

    /// Waits up to `timeout` for it to exit; kills it after that. Returns whether it exited by
    /// itself with success.
    pub fn wait(&mut self, timeout: Duration) -> bool {
        let Some(child) = self.child.as_mut() else {
            return false;
        };
        let deadline = Instant::now() + timeout;
        loop {
            match child.try_wait() {
                Ok(Some(status)) => {
                    self.child = None;
                    return status.success();
                }
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(50));
                }
                _ => {
                    self.kill();
                    return false;
                }
            }
        }
    }

    /// Its process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Freezes it (SIGSTOP): it keeps its leases in memory while the others see them expire.
    /// Returns whether the signal was sent.
    pub fn pause(&self) -> bool {
        self.signal("-STOP")
    }

    /// Wakes it after [`pause`](Self::pause) (SIGCONT). Returns whether the signal was sent.
    pub fn resume(&self) -> bool {
        self.signal("-CONT")
    }

    fn signal(&self, signal: &str) -> bool {
        let Some(pid) = self.pid() else {
            return false;
        };
        Command::new("kill")
            .arg(signal)
            .arg(pid.to_string())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// Kills it at once (SIGKILL: a crash, nothing is released) and reaps it.
    pub fn kill(&mut self) {
        self.stdin.take();
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}
