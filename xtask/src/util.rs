//! Shared helpers: errors, running commands, process ids, ports and small text utilities.

use std::ffi::OsStr;
use std::fmt;
use std::fs;
use std::io::{self, Read, Seek, SeekFrom};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// An error that ends the xtask with a message and an exit code.
#[derive(Debug)]
pub(crate) struct Error {
    message: String,
    code: i32,
}

impl Error {
    /// A failure (exit code 1).
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self::with_code(message, 1)
    }

    /// A failure with a specific exit code.
    pub(crate) fn with_code(message: impl Into<String>, code: i32) -> Self {
        Self {
            message: message.into(),
            code,
        }
    }

    /// The exit code the process should end with.
    pub(crate) fn code(&self) -> i32 {
        self.code
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<io::Error> for Error {
    fn from(err: io::Error) -> Self {
        Self::new(err.to_string())
    }
}

/// The result type of every xtask step.
pub(crate) type Result<T, E = Error> = std::result::Result<T, E>;

/// Adds a short description of what was being done to an I/O error.
pub(crate) trait Context<T> {
    /// Wraps the error as `"{what}: {err}"`.
    fn context(self, what: impl FnOnce() -> String) -> Result<T>;
}

impl<T, E: fmt::Display> Context<T> for std::result::Result<T, E> {
    fn context(self, what: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|err| Error::new(format!("{}: {err}", what())))
    }
}

/// The workspace root (the parent of the xtask crate).
pub(crate) fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

/// The cargo executable that started us (falls back to `cargo` on PATH).
pub(crate) fn cargo() -> Command {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(workspace_root());
    cmd
}

/// Renders a command line for log messages.
pub(crate) fn display_command(cmd: &Command) -> String {
    let mut parts = vec![cmd.get_program().to_string_lossy().into_owned()];
    parts.extend(cmd.get_args().map(|a| {
        let a = a.to_string_lossy();
        if a.is_empty() || a.contains(char::is_whitespace) {
            format!("'{a}'")
        } else {
            a.into_owned()
        }
    }));
    parts.join(" ")
}

/// Runs a command with inherited stdio and returns its exit status.
pub(crate) fn run_status(cmd: &mut Command) -> Result<ExitStatus> {
    eprintln!("$ {}", display_command(cmd));
    cmd.status()
        .context(|| format!("cannot run `{}`", cmd.get_program().to_string_lossy()))
}

/// Runs a command with inherited stdio and fails unless it exits successfully.
pub(crate) fn run(cmd: &mut Command) -> Result<()> {
    let status = run_status(cmd)?;
    if status.success() {
        Ok(())
    } else {
        Err(Error::new(format!(
            "`{}` failed ({status})",
            display_command(cmd)
        )))
    }
}

/// Runs a command quietly and returns its trimmed stdout if it succeeds.
pub(crate) fn output(cmd: &mut Command) -> Option<String> {
    let out = cmd
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Whether `program` can be started (`program --version` or the given probe succeeds).
pub(crate) fn have_program(program: impl AsRef<OsStr>, probe: &[&str]) -> bool {
    Command::new(program)
        .args(probe)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The scheduler state of a process (the field after the command name in `/proc/<pid>/stat`).
pub(crate) fn process_state(pid: u32) -> Option<char> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may itself contain spaces or parentheses.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().next()?.chars().next()
}

/// Whether a process exists and is not a zombie (an exited process nobody has reaped yet).
pub(crate) fn is_alive(pid: u32) -> bool {
    matches!(process_state(pid), Some(state) if state != 'Z' && state != 'X')
}

/// The command line of a process, arguments joined by spaces.
pub(crate) fn cmdline(pid: u32) -> Option<String> {
    let raw = fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    Some(
        raw.split(|b| *b == 0)
            .map(String::from_utf8_lossy)
            .collect::<Vec<_>>()
            .join(" "),
    )
}

/// Sends a signal (`TERM`, `KILL`, ...) with the `kill` utility; std has no portable API for it.
pub(crate) fn signal(pid: u32, signal: &str) -> bool {
    Command::new("kill")
        .args(["-s", signal, &pid.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Stops a process: SIGTERM, up to `grace` for it to exit, then SIGKILL. Returns how it ended.
pub(crate) fn terminate(pid: u32, grace: Duration) -> &'static str {
    if !is_alive(pid) {
        return "already stopped";
    }
    signal(pid, "TERM");
    if wait_until(grace, || !is_alive(pid)) {
        return "stopped (SIGTERM)";
    }
    signal(pid, "KILL");
    if wait_until(Duration::from_secs(5), || !is_alive(pid)) {
        "killed (SIGKILL after grace period)"
    } else {
        "STILL RUNNING after SIGKILL"
    }
}

/// Polls `done` every 50 ms until it returns true or `timeout` passes.
pub(crate) fn wait_until(timeout: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if done() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        thread::sleep(Duration::from_millis(50));
    }
}

/// Whether a TCP socket listens on `port` (any address), judged from `/proc/net/tcp{,6}` without connecting;
/// falls back to a connection attempt on 127.0.0.1 where those tables do not exist.
///
/// Not connecting matters: a TCP connection closed without a TLS handshake makes kinesis-local's graceful
/// shutdown hang (it then ignores SIGTERM), so its TLS port must never be probed that way.
pub(crate) fn port_listening(port: u16) -> bool {
    match listening_addresses(port) {
        Some(listeners) => !listeners.is_empty(),
        None => port_open(port),
    }
}

/// Whether something accepts TCP connections on 127.0.0.1:`port`.
pub(crate) fn port_open(port: u16) -> bool {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    TcpStream::connect_timeout(&addr, Duration::from_millis(250)).is_ok()
}

/// Local addresses (as `ip:port` text) of listening TCP sockets on `port`, from `/proc/net/tcp{,6}`.
/// Returns `None` when the tables cannot be read (not Linux).
pub(crate) fn listening_addresses(port: u16) -> Option<Vec<String>> {
    let mut found = Vec::new();
    let mut readable = false;
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = fs::read_to_string(table) else {
            continue;
        };
        readable = true;
        found.extend(parse_proc_net_tcp(&text, port));
    }
    readable.then_some(found)
}

/// Parses a `/proc/net/tcp` or `/proc/net/tcp6` table; returns listeners (state 0A) on `port`.
pub(crate) fn parse_proc_net_tcp(text: &str, port: u16) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines().skip(1) {
        let mut fields = line.split_whitespace();
        let (Some(_slot), Some(local), Some(_remote), Some(state)) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        let Some((addr_hex, port_hex)) = local.split_once(':') else {
            continue;
        };
        if state != "0A" || u16::from_str_radix(port_hex, 16).ok() != Some(port) {
            continue;
        }
        out.push(format!("{}:{port}", decode_proc_addr(addr_hex)));
    }
    out
}

/// Decodes the little-endian-per-word hex address used by `/proc/net/tcp{,6}`.
fn decode_proc_addr(hex: &str) -> String {
    let bytes: Vec<u8> = (0..hex.len() / 2)
        .filter_map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok())
        .collect();
    // Each 32-bit word is stored in host (little-endian) order.
    let fixed: Vec<u8> = bytes
        .chunks(4)
        .flat_map(|w| w.iter().rev().copied())
        .collect();
    match fixed.len() {
        4 => format!("{}.{}.{}.{}", fixed[0], fixed[1], fixed[2], fixed[3]),
        16 => {
            let mut octets = [0u8; 16];
            octets.copy_from_slice(&fixed);
            format!("[{}]", std::net::Ipv6Addr::from(octets))
        }
        _ => hex.to_string(),
    }
}

/// Whether a `listening_addresses` entry is on a loopback address.
pub(crate) fn is_loopback_listener(addr: &str) -> bool {
    addr.starts_with("127.") || addr.starts_with("[::1]") || addr.starts_with("[::ffff:127.")
}

/// The last `lines` lines of a (log) file, or a note that it cannot be read.
pub(crate) fn tail(path: &Path, lines: usize) -> String {
    let Ok(mut file) = fs::File::open(path) else {
        return format!("(no log at {})", path.display());
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let _ = file.seek(SeekFrom::Start(len.saturating_sub(16 * 1024)));
    let mut buf = Vec::new();
    let _ = file.read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf);
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Escapes a string as a JSON string literal (with the quotes).
pub(crate) fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Formats a duration as seconds with one decimal.
pub(crate) fn secs(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}

/// Reads an environment variable, treating an empty value as unset.
pub(crate) fn env_nonempty(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// Reads a port number from an environment variable, or returns `default`.
pub(crate) fn env_port(name: &str, default: u16) -> Result<u16> {
    match env_nonempty(name) {
        None => Ok(default),
        Some(v) => v
            .trim()
            .parse()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| Error::new(format!("{name}={v:?} is not a TCP port number"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_net_tcp_listeners() {
        let tcp = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
   0: 0100007F:11D8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0\n\
   1: 00000000:07E8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1 0 100 0 0 10 0\n\
   2: 0100007F:11D8 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 3 1 0 100 0 0 10 0\n";
        assert_eq!(parse_proc_net_tcp(tcp, 4568), vec!["127.0.0.1:4568"]);
        assert_eq!(parse_proc_net_tcp(tcp, 2024), vec!["0.0.0.0:2024"]);
        assert!(parse_proc_net_tcp(tcp, 1).is_empty());
        let tcp6 = "header\n   0: 00000000000000000000000001000000:11D8 00000000000000000000000000000000:0000 0A 0\n\
   1: 00000000000000000000000000000000:11D7 00000000000000000000000000000000:0000 0A 0\n";
        assert_eq!(parse_proc_net_tcp(tcp6, 4568), vec!["[::1]:4568"]);
        assert_eq!(parse_proc_net_tcp(tcp6, 4567), vec!["[::]:4567"]);
        assert!(is_loopback_listener("127.0.0.1:4568"));
        assert!(is_loopback_listener("[::1]:4568"));
        assert!(!is_loopback_listener("0.0.0.0:4568"));
        assert!(!is_loopback_listener("[::]:4567"));
    }

    #[test]
    fn escapes_json() {
        assert_eq!(
            json_string("a\"b\\c\n-----\u{1}"),
            "\"a\\\"b\\\\c\\n-----\\u0001\""
        );
    }

    #[test]
    fn reads_own_process_state() {
        let pid = std::process::id();
        assert!(is_alive(pid));
        assert!(cmdline(pid).is_some());
        assert!(!is_alive(u32::MAX));
    }
}
