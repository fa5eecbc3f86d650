//! `cargo xtask emulators up|down|status`: external emulators on loopback for the external test tier.
//!
//! - kinesis-local 0.6.2 (npm; the engine LocalStack uses for Kinesis): plain HTTP and TLS ports.
//! - moto_server 5.2.5 (PyPI, in a venv): DynamoDB, and CloudWatch for Query/JSON clients.
//! - `interop/emulators/cloudwatch_cbor_shim.py`: CloudWatch Smithy RPC v2 CBOR (what aws-sdk-cloudwatch ≥ 1.100
//!   speaks) translated to moto.
//!
//! Everything is installed on first use into a cache folder (`<repo>/.emulators`, or `KINESIS_EMULATORS_DIR`),
//! which also holds the certificates, PID files (`run/`) and logs (`logs/`). See
//! `/work/shared/reference/emulators.md` Part B for the facts behind each setting.

use std::fs;
use std::io;
use std::os::fd::AsFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::{self, Context, Error, Result};

/// The pinned kinesis-local release (npm).
const KINESIS_LOCAL_VERSION: &str = "0.6.2";
/// The pinned moto release (PyPI).
const MOTO_VERSION: &str = "5.2.5";
/// kinesis-local 0.6.2 hard-codes its bind address; this is the text the sed in emulators.md §2.1/§7 replaces.
const BIND_ANY: &str = r#"Host$().em("0.0.0.0")"#;
/// What [`BIND_ANY`] becomes in the patched copy.
const BIND_LOOPBACK: &str = r#"Host$().em("127.0.0.1")"#;
/// The kinesis-local state-change durations (each 500 ms by default).
const DURATION_VARIABLES: [&str; 10] = [
    "CREATE_STREAM_DURATION",
    "DELETE_STREAM_DURATION",
    "REGISTER_STREAM_CONSUMER_DURATION",
    "DEREGISTER_STREAM_CONSUMER_DURATION",
    "MERGE_SHARDS_DURATION",
    "SPLIT_SHARD_DURATION",
    "UPDATE_SHARD_COUNT_DURATION",
    "UPDATE_STREAM_MODE_DURATION",
    "START_STREAM_ENCRYPTION_DURATION",
    "STOP_STREAM_ENCRYPTION_DURATION",
];
/// SIGTERM grace period before SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(4);

const USAGE: &str = "\
usage: cargo xtask emulators <up|down|status>

  up      install (first use), start kinesis-local, moto and the CloudWatch CBOR shim on 127.0.0.1, and print
          the environment to export:   eval \"$(cargo xtask emulators up)\"
  down    stop them (SIGTERM, grace, SIGKILL)
  status  print each server, its PID, alive/dead and endpoint (exit 1 unless all are alive)

environment (all optional):
  KINESIS_EMULATORS_DIR                cache folder            (default <repo>/.emulators)
  KINESIS_EMULATORS_KINESIS_PORT       kinesis-local plain     (default 4568)
  KINESIS_EMULATORS_KINESIS_TLS_PORT   kinesis-local TLS       (default 4567)
  KINESIS_EMULATORS_MOTO_PORT          moto (DynamoDB, ...)    (default 4566)
  KINESIS_EMULATORS_CLOUDWATCH_PORT    CloudWatch CBOR shim    (default 4582)
  KINESIS_EMULATORS_STATE_DURATION     kinesis-local CREATING/UPDATING/... time (default 100ms)
  KINESIS_EMULATORS_START_TIMEOUT      seconds to wait for the ports (default 60)
  KINESIS_EMULATORS_PYTHON / _NODE / _NPM / _OPENSSL   programs to use (defaults: python3, node, npm, openssl)
";

/// Where the emulators live and which ports they use.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    dir: PathBuf,
    kinesis_port: u16,
    kinesis_tls_port: u16,
    moto_port: u16,
    cloudwatch_port: u16,
    state_duration: String,
    start_timeout: Duration,
    python: String,
    node: String,
    npm: String,
    openssl: String,
}

/// The cache folder: `KINESIS_EMULATORS_DIR`, or `<repo>/.emulators`. Emulators, venvs and the
/// Maven artifacts of the Java harness live here.
pub(crate) fn cache_dir() -> PathBuf {
    util::env_nonempty("KINESIS_EMULATORS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| util::workspace_root().join(".emulators"))
}

impl Config {
    /// Reads the configuration from the environment (see [`USAGE`]).
    pub(crate) fn from_env() -> Result<Self> {
        let dir = cache_dir();
        let dir = if dir.is_absolute() {
            dir
        } else {
            std::env::current_dir()?.join(dir)
        };
        let start_timeout = match util::env_nonempty("KINESIS_EMULATORS_START_TIMEOUT") {
            None => 60,
            Some(v) => v.trim().parse().map_err(|_| {
                Error::new(format!(
                    "KINESIS_EMULATORS_START_TIMEOUT={v:?} is not a number of seconds"
                ))
            })?,
        };
        let program = |var: &str, default: &str| {
            util::env_nonempty(var).unwrap_or_else(|| default.to_string())
        };
        let cfg = Self {
            dir,
            kinesis_port: util::env_port("KINESIS_EMULATORS_KINESIS_PORT", 4568)?,
            kinesis_tls_port: util::env_port("KINESIS_EMULATORS_KINESIS_TLS_PORT", 4567)?,
            moto_port: util::env_port("KINESIS_EMULATORS_MOTO_PORT", 4566)?,
            cloudwatch_port: util::env_port("KINESIS_EMULATORS_CLOUDWATCH_PORT", 4582)?,
            state_duration: program("KINESIS_EMULATORS_STATE_DURATION", "100ms"),
            start_timeout: Duration::from_secs(start_timeout),
            python: program("KINESIS_EMULATORS_PYTHON", "python3"),
            node: program("KINESIS_EMULATORS_NODE", "node"),
            npm: program("KINESIS_EMULATORS_NPM", "npm"),
            openssl: program("KINESIS_EMULATORS_OPENSSL", "openssl"),
        };
        let mut ports = cfg.ports();
        ports.sort_unstable();
        ports.dedup();
        if ports.len() != 4 {
            return Err(Error::new(format!(
                "the emulator ports must differ: {:?}",
                cfg.ports()
            )));
        }
        Ok(cfg)
    }

    fn ports(&self) -> Vec<u16> {
        vec![
            self.kinesis_port,
            self.kinesis_tls_port,
            self.moto_port,
            self.cloudwatch_port,
        ]
    }

    fn run_dir(&self) -> PathBuf {
        self.dir.join("run")
    }

    fn log_path(&self, server: Server) -> PathBuf {
        self.dir.join("logs").join(format!("{}.log", server.name()))
    }

    fn pid_path(&self, server: Server) -> PathBuf {
        self.run_dir().join(format!("{}.pid", server.name()))
    }

    fn env_path(&self) -> PathBuf {
        self.run_dir().join("env.sh")
    }

    fn certs_dir(&self) -> PathBuf {
        self.dir.join("certs")
    }

    /// The port of kinesis-local's TLS listener.
    pub(crate) fn kinesis_tls_port(&self) -> u16 {
        self.kinesis_tls_port
    }

    /// The CA that signed kinesis-local's TLS certificate.
    pub(crate) fn ca_pem(&self) -> PathBuf {
        self.certs_dir().join("ca.pem")
    }

    /// The leaf certificate (localhost, 127.0.0.1) and its key, signed by [`Self::ca_pem`].
    pub(crate) fn leaf_pem_and_key(&self) -> (PathBuf, PathBuf) {
        (
            self.certs_dir().join("leaf.pem"),
            self.certs_dir().join("leaf.key"),
        )
    }

    fn venv_python(&self) -> PathBuf {
        self.dir.join("venv").join("bin").join("python")
    }

    fn patched_kinesis_local(&self) -> PathBuf {
        self.dir.join("kinesis-local.js")
    }

    /// The variables a shell (or the external test tier) should export.
    pub(crate) fn exports(&self) -> Vec<(&'static str, String)> {
        vec![
            (
                "AWS_ENDPOINT_URL_KINESIS",
                format!("http://127.0.0.1:{}", self.kinesis_port),
            ),
            (
                "AWS_ENDPOINT_URL_DYNAMODB",
                format!("http://127.0.0.1:{}", self.moto_port),
            ),
            (
                "AWS_ENDPOINT_URL_CLOUDWATCH",
                format!("http://127.0.0.1:{}", self.cloudwatch_port),
            ),
            ("KINESIS_TESTKIT_KINESIS_BACKEND", "kinesis-local".into()),
            ("KINESIS_TESTKIT_DYNAMODB_BACKEND", "moto".into()),
            ("KINESIS_TESTKIT_CLOUDWATCH_BACKEND", "moto".into()),
            (
                "KINESIS_TESTKIT_CA_PEM",
                self.ca_pem().to_string_lossy().into_owned(),
            ),
            (
                "KINESIS_TESTKIT_KINESIS_TLS_ENDPOINT",
                format!("https://localhost:{}", self.kinesis_tls_port),
            ),
            ("AWS_REGION", "us-east-1".into()),
            // boto3 and the AWS CLI read this one rather than AWS_REGION.
            ("AWS_DEFAULT_REGION", "us-east-1".into()),
            ("AWS_ACCESS_KEY_ID", "AKIDEMULATORFAKE".into()),
            ("AWS_SECRET_ACCESS_KEY", "emulator-fake-secret".into()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ]
    }
}

/// One of the processes we run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Server {
    KinesisLocal,
    Moto,
    CloudWatchShim,
}

impl Server {
    const ALL: [Server; 3] = [Server::KinesisLocal, Server::Moto, Server::CloudWatchShim];

    fn name(self) -> &'static str {
        match self {
            Server::KinesisLocal => "kinesis-local",
            Server::Moto => "moto",
            Server::CloudWatchShim => "cloudwatch-shim",
        }
    }

    /// A substring of the process command line that identifies it (guards against reused PIDs).
    fn marker(self) -> &'static str {
        match self {
            Server::KinesisLocal => "kinesis-local.js",
            Server::Moto => "moto_server",
            Server::CloudWatchShim => "cloudwatch_cbor_shim.py",
        }
    }

    fn ports(self, cfg: &Config) -> Vec<u16> {
        match self {
            Server::KinesisLocal => vec![cfg.kinesis_port, cfg.kinesis_tls_port],
            Server::Moto => vec![cfg.moto_port],
            Server::CloudWatchShim => vec![cfg.cloudwatch_port],
        }
    }

    fn endpoints(self, cfg: &Config) -> String {
        match self {
            Server::KinesisLocal => format!(
                "http://127.0.0.1:{}  https://localhost:{}  (Kinesis)",
                cfg.kinesis_port, cfg.kinesis_tls_port
            ),
            Server::Moto => format!(
                "http://127.0.0.1:{}  (DynamoDB; CloudWatch Query/JSON)",
                cfg.moto_port
            ),
            Server::CloudWatchShim => format!(
                "http://127.0.0.1:{}  (CloudWatch rpc-v2-cbor -> moto)",
                cfg.cloudwatch_port
            ),
        }
    }
}

/// What [`up`] did.
#[derive(Debug)]
pub(crate) struct Running {
    /// True when all servers were already running (started earlier) and were left as they were.
    pub(crate) reused: bool,
    /// The processes started by this call (so the caller can reap them after stopping).
    children: Vec<Child>,
}

/// Stops the emulators this process started when dropped, or earlier through [`Guard::stop`].
#[derive(Debug)]
pub(crate) struct Guard {
    cfg: Config,
    running: Option<Running>,
}

impl Guard {
    /// Takes responsibility for stopping what `running` started (nothing, if it reused running servers).
    pub(crate) fn new(cfg: Config, running: Running) -> Self {
        Self {
            cfg,
            running: (!running.reused).then_some(running),
        }
    }

    /// Stops the emulators now (idempotent).
    pub(crate) fn stop(&mut self) -> Result<()> {
        let Some(mut running) = self.running.take() else {
            return Ok(());
        };
        let result = down(&self.cfg);
        for child in &mut running.children {
            // Reap, so that no zombie stays behind while we keep running.
            let _ = child.try_wait();
        }
        result
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Err(err) = self.stop() {
            eprintln!("error while stopping the emulators: {err}");
        }
    }
}

/// Entry point of `cargo xtask emulators ...`.
pub(crate) fn main(args: &[String]) -> Result<()> {
    let cfg = Config::from_env()?;
    match args.first().map(String::as_str) {
        Some("up") if args.len() == 1 => {
            up(&cfg, true)?;
            for (name, value) in cfg.exports() {
                println!("export {name}={}", shell_quote(&value));
            }
            eprintln!(
                "(the same lines are in {}; use: eval \"$(cargo xtask emulators up)\")",
                cfg.env_path().display()
            );
            Ok(())
        }
        Some("down") if args.len() == 1 => down(&cfg),
        Some("status") if args.len() == 1 => {
            if status(&cfg) {
                Ok(())
            } else {
                Err(Error::with_code("not all emulators are running", 1))
            }
        }
        Some("help" | "--help" | "-h") => {
            print!("{USAGE}");
            Ok(())
        }
        _ => Err(Error::with_code(
            format!("unexpected arguments {args:?}\n\n{USAGE}"),
            2,
        )),
    }
}

/// The PID of `server` if its PID file names a live process that is really that server.
fn running_pid(cfg: &Config, server: Server) -> Option<u32> {
    let pid: u32 = fs::read_to_string(cfg.pid_path(server))
        .ok()?
        .trim()
        .parse()
        .ok()?;
    let ours = util::cmdline(pid).is_some_and(|c| c.contains(server.marker()));
    (ours && util::is_alive(pid)).then_some(pid)
}

/// Installs what is missing and starts the servers; `detached` puts them in their own process group so they
/// outlive this command (for `up`); otherwise they share ours, so Ctrl-C or a CI timeout reaches them too.
pub(crate) fn up(cfg: &Config, detached: bool) -> Result<Running> {
    let alive: Vec<Server> = Server::ALL
        .into_iter()
        .filter(|s| running_pid(cfg, *s).is_some())
        .collect();
    let same_config = fs::read_to_string(cfg.env_path()).is_ok_and(|e| e == env_file(cfg));
    if alive.len() == Server::ALL.len() && same_config {
        eprintln!("emulators already running (see `cargo xtask emulators status`); reusing them");
        return Ok(Running {
            reused: true,
            children: Vec::new(),
        });
    }
    if !alive.is_empty() {
        eprintln!(
            "emulators are partly running or were started with other settings: restarting them"
        );
        down(cfg)?;
    }
    let started = Instant::now();
    install(cfg)?;
    let installed = started.elapsed();
    let mut children = Vec::new();
    let result = start_all(cfg, detached, &mut children);
    if let Err(err) = result {
        let _ = down(cfg);
        for child in &mut children {
            let _ = child.try_wait();
        }
        return Err(err);
    }
    eprintln!(
        "emulators up in {} (install/check {}, start {})",
        util::secs(started.elapsed()),
        util::secs(installed),
        util::secs(started.elapsed() - installed)
    );
    Ok(Running {
        reused: false,
        children,
    })
}

fn start_all(cfg: &Config, detached: bool, children: &mut Vec<Child>) -> Result<()> {
    for port in cfg.ports() {
        if util::port_listening(port) {
            return Err(Error::new(format!(
                "port {port} is already in use by a process not started by xtask; stop it or \
                 choose other ports (KINESIS_EMULATORS_*_PORT, see `cargo xtask emulators help`)"
            )));
        }
    }
    fs::create_dir_all(cfg.run_dir())?;
    fs::create_dir_all(cfg.dir.join("logs"))?;
    let _ = fs::remove_file(cfg.env_path());
    let started = Instant::now();
    for server in Server::ALL {
        let mut cmd = command_for(cfg, server);
        let log_path = cfg.log_path(server);
        let log = fs::File::create(&log_path)
            .context(|| format!("cannot create {}", log_path.display()))?;
        cmd.stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        if detached {
            cmd.process_group(0);
        }
        let child = cmd.spawn().context(|| {
            format!(
                "cannot start {} ({})",
                server.name(),
                util::display_command(&cmd)
            )
        })?;
        fs::write(cfg.pid_path(server), format!("{}\n", child.id()))?;
        eprintln!("started {} (pid {})", server.name(), child.id());
        children.push(child);
    }
    for (server, child) in Server::ALL.into_iter().zip(children.iter_mut()) {
        for port in server.ports(cfg) {
            wait_for_port(cfg, server, child, port, started)?;
        }
        eprintln!(
            "  {} listening after {}",
            server.name(),
            util::secs(started.elapsed())
        );
    }
    check_loopback_only(cfg)?;
    fs::write(cfg.env_path(), env_file(cfg))?;
    for server in Server::ALL {
        eprintln!("  {:<16} {}", server.name(), server.endpoints(cfg));
    }
    Ok(())
}

/// The contents of `run/env.sh`: the export lines for `cfg`.
fn env_file(cfg: &Config) -> String {
    let mut env = String::from("# written by `cargo xtask emulators up`\n");
    for (name, value) in cfg.exports() {
        env.push_str(&format!("export {name}={}\n", shell_quote(&value)));
    }
    env
}

fn command_for(cfg: &Config, server: Server) -> Command {
    match server {
        Server::KinesisLocal => {
            let mut cmd = Command::new(&cfg.node);
            cmd.arg(cfg.patched_kinesis_local())
                .current_dir(&cfg.dir)
                .env(
                    "KINESIS_MOCK_CERT_PATH",
                    cfg.certs_dir().join("kinesis-cert.json"),
                )
                .env("KINESIS_MOCK_PLAIN_PORT", cfg.kinesis_port.to_string())
                .env("KINESIS_MOCK_TLS_PORT", cfg.kinesis_tls_port.to_string())
                .env("LOG_LEVEL", "WARN")
                .env("SHARD_LIMIT", "10000")
                .env("ON_DEMAND_STREAM_COUNT_LIMIT", "1000")
                .env("AWS_REGION", "us-east-1")
                .env("AWS_ACCOUNT_ID", "000000000000");
            for var in DURATION_VARIABLES {
                cmd.env(var, &cfg.state_duration);
            }
            cmd
        }
        Server::Moto => {
            let mut cmd = Command::new(cfg.dir.join("venv").join("bin").join("moto_server"));
            cmd.args(["-H", "127.0.0.1", "-p", &cfg.moto_port.to_string()])
                .current_dir(&cfg.dir);
            cmd
        }
        Server::CloudWatchShim => {
            let mut cmd = Command::new(cfg.venv_python());
            cmd.arg(shim_script())
                .args(["--host", "127.0.0.1"])
                .args(["--port", &cfg.cloudwatch_port.to_string()])
                .args(["--moto", &format!("http://127.0.0.1:{}", cfg.moto_port)])
                .env("PYTHONUNBUFFERED", "1")
                .current_dir(&cfg.dir);
            cmd
        }
    }
}

fn shim_script() -> PathBuf {
    util::workspace_root().join("interop/emulators/cloudwatch_cbor_shim.py")
}

fn wait_for_port(
    cfg: &Config,
    server: Server,
    child: &mut Child,
    port: u16,
    started: Instant,
) -> Result<()> {
    let deadline = started + cfg.start_timeout;
    loop {
        if util::port_listening(port) {
            return Ok(());
        }
        let log = cfg.log_path(server);
        if let Ok(Some(status)) = child.try_wait() {
            return Err(Error::new(format!(
                "{} exited ({status}) before listening on 127.0.0.1:{port}; last lines of {}:\n{}",
                server.name(),
                log.display(),
                util::tail(&log, 30)
            )));
        }
        if Instant::now() >= deadline {
            return Err(Error::new(format!(
                "{} did not listen on 127.0.0.1:{port} within {}s; last lines of {}:\n{}",
                server.name(),
                cfg.start_timeout.as_secs(),
                log.display(),
                util::tail(&log, 30)
            )));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Fails if any emulator port has a listener on a non-loopback address (e.g. the bind patch did not take).
fn check_loopback_only(cfg: &Config) -> Result<()> {
    for port in cfg.ports() {
        let Some(listeners) = util::listening_addresses(port) else {
            return Ok(()); // no /proc/net/tcp: nothing to check with
        };
        let exposed: Vec<_> = listeners
            .iter()
            .filter(|a| !util::is_loopback_listener(a))
            .collect();
        if !exposed.is_empty() {
            return Err(Error::new(format!(
                "port {port} is listening on a non-loopback address {exposed:?}; refusing to run"
            )));
        }
    }
    Ok(())
}

/// Stops every server whose PID file names a live process of that server, then removes the run state.
pub(crate) fn down(cfg: &Config) -> Result<()> {
    let targets: Vec<(Server, u32)> = Server::ALL
        .into_iter()
        .rev()
        .filter_map(|s| running_pid(cfg, s).map(|pid| (s, pid)))
        .collect();
    for (_, pid) in &targets {
        util::signal(*pid, "TERM");
    }
    util::wait_until(STOP_GRACE, || {
        targets.iter().all(|(_, pid)| !util::is_alive(*pid))
    });
    let mut failed = Vec::new();
    for (server, pid) in &targets {
        let how = if util::is_alive(*pid) {
            util::terminate(*pid, Duration::ZERO)
        } else {
            "stopped (SIGTERM)"
        };
        eprintln!("{:<16} pid {pid:<8} {how}", server.name());
        if util::is_alive(*pid) {
            failed.push(server.name());
        }
    }
    for server in Server::ALL {
        let path = cfg.pid_path(server);
        if path.exists() && !targets.iter().any(|(s, _)| *s == server) {
            eprintln!("{:<16} not running (stale PID file removed)", server.name());
        }
        if !failed.contains(&server.name()) {
            let _ = fs::remove_file(path);
        }
    }
    if targets.is_empty() {
        eprintln!("no emulators were running");
    }
    let _ = fs::remove_file(cfg.env_path());
    if failed.is_empty() {
        Ok(())
    } else {
        Err(Error::new(format!("could not stop {failed:?}")))
    }
}

/// Prints each server's state; returns whether all are alive.
pub(crate) fn status(cfg: &Config) -> bool {
    let mut all = true;
    for server in Server::ALL {
        let recorded = fs::read_to_string(cfg.pid_path(server))
            .ok()
            .map(|s| s.trim().to_string());
        let (pid, state) = match (running_pid(cfg, server), recorded) {
            (Some(pid), _) => (pid.to_string(), "alive"),
            (None, Some(pid)) => (pid, "dead"),
            (None, None) => ("-".to_string(), "not started"),
        };
        all &= state == "alive";
        println!(
            "{:<16} pid {pid:<8} {state:<12} {}",
            server.name(),
            server.endpoints(cfg)
        );
    }
    println!(
        "cache: {}  logs: {}",
        cfg.dir.display(),
        cfg.dir.join("logs").display()
    );
    all
}

// ---------------------------------------------------------------------------------------------------------------
// Installation

fn install(cfg: &Config) -> Result<()> {
    fs::create_dir_all(&cfg.dir).context(|| format!("cannot create {}", cfg.dir.display()))?;
    install_kinesis_local(cfg)?;
    install_moto(cfg)?;
    patch_kinesis_local(cfg)?;
    certificates(cfg)?;
    if !shim_script().is_file() {
        return Err(Error::new(format!("missing {}", shim_script().display())));
    }
    Ok(())
}

/// A command whose stdout goes to our stderr, so `up`'s stdout carries only the export lines.
fn quiet(program: impl AsRef<std::ffi::OsStr>) -> Result<Command> {
    let mut cmd = Command::new(program);
    cmd.stdout(Stdio::from(io::stderr().as_fd().try_clone_to_owned()?));
    cmd.stdin(Stdio::null());
    Ok(cmd)
}

fn install_kinesis_local(cfg: &Config) -> Result<()> {
    let npm_dir = cfg.dir.join("npm");
    let manifest = npm_dir.join("node_modules/kinesis-local/package.json");
    if installed_npm_version(&manifest).as_deref() == Some(KINESIS_LOCAL_VERSION) {
        return Ok(());
    }
    if !util::have_program(&cfg.node, &["--version"])
        || !util::have_program(&cfg.npm, &["--version"])
    {
        return Err(Error::new(
            "kinesis-local needs Node.js: `node` and `npm` must be on PATH (or set KINESIS_EMULATORS_NODE/_NPM)",
        ));
    }
    let t = Instant::now();
    eprintln!(
        "installing kinesis-local@{KINESIS_LOCAL_VERSION} (npm) into {}",
        npm_dir.display()
    );
    fs::create_dir_all(&npm_dir)?;
    fs::write(
        npm_dir.join("package.json"),
        format!(
            "{{\"name\":\"kinesis-rs-emulators\",\"private\":true,\"dependencies\":{{\"kinesis-local\":\"{KINESIS_LOCAL_VERSION}\"}}}}\n"
        ),
    )?;
    util::run(
        quiet(&cfg.npm)?
            .args(["install", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(&npm_dir),
    )?;
    match installed_npm_version(&manifest) {
        Some(v) if v == KINESIS_LOCAL_VERSION => {
            eprintln!("  kinesis-local installed in {}", util::secs(t.elapsed()));
            Ok(())
        }
        other => Err(Error::new(format!(
            "npm did not install kinesis-local {KINESIS_LOCAL_VERSION} (found {other:?})"
        ))),
    }
}

fn installed_npm_version(manifest: &Path) -> Option<String> {
    let text = fs::read_to_string(manifest).ok()?;
    let after = &text[text.find("\"version\"")? + "\"version\"".len()..];
    let start = after.find('"')? + 1;
    let len = after[start..].find('"')?;
    Some(after[start..start + len].to_string())
}

fn install_moto(cfg: &Config) -> Result<()> {
    let venv = cfg.dir.join("venv");
    let stamp = venv.join(format!(".xtask-moto-{MOTO_VERSION}"));
    if stamp.exists() && cfg.venv_python().exists() {
        return Ok(());
    }
    let t = Instant::now();
    if !cfg.venv_python().exists() {
        if !util::have_program(&cfg.python, &["--version"]) {
            return Err(Error::new(format!(
                "moto needs Python 3: `{}` not found (set KINESIS_EMULATORS_PYTHON)",
                cfg.python
            )));
        }
        eprintln!("creating the Python venv {}", venv.display());
        util::run(
            quiet(&cfg.python)?
                .args(["-m", "venv", "--clear"])
                .arg(&venv),
        )?;
    }
    eprintln!(
        "installing moto[server]=={MOTO_VERSION} (pip) into {}",
        venv.display()
    );
    util::run(quiet(cfg.venv_python())?.args([
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        &format!("moto[server]=={MOTO_VERSION}"),
    ]))?;
    let check = format!(
        "import moto, boto3, botocore.parsers, botocore.serialize; \
         assert moto.__version__ == '{MOTO_VERSION}', moto.__version__; \
         botocore.parsers.RpcV2CBORParser; botocore.serialize.RpcV2CBORSerializer"
    );
    util::run(quiet(cfg.venv_python())?.args(["-c", &check]))?;
    fs::write(&stamp, "")?;
    eprintln!("  moto installed in {}", util::secs(t.elapsed()));
    Ok(())
}

/// Writes `kinesis-local.js`: the bundle with its hard-coded 0.0.0.0 bind replaced by 127.0.0.1 (the same
/// replacement as `sed 's/Host\$()\.em("0\.0\.0\.0")/Host$().em("127.0.0.1")/'`), and verifies it.
fn patch_kinesis_local(cfg: &Config) -> Result<()> {
    let original = cfg.dir.join("npm/node_modules/kinesis-local/main.js");
    let js =
        fs::read_to_string(&original).context(|| format!("cannot read {}", original.display()))?;
    let patched = patch_bind(&js).map_err(|e| {
        Error::new(format!(
            "cannot patch kinesis-local's bind address in {}: {e}",
            original.display()
        ))
    })?;
    let target = cfg.patched_kinesis_local();
    if fs::read_to_string(&target).ok().as_deref() != Some(patched.as_str()) {
        fs::write(&target, &patched)?;
    }
    // Verify what is on disk, not what we meant to write.
    let written = fs::read_to_string(&target)?;
    if written.matches(BIND_LOOPBACK).count() != 1 || written.contains(BIND_ANY) {
        return Err(Error::new(format!(
            "the bind patch did not apply to {}",
            target.display()
        )));
    }
    Ok(())
}

fn patch_bind(js: &str) -> std::result::Result<String, String> {
    match js.matches(BIND_ANY).count() {
        1 => Ok(js.replacen(BIND_ANY, BIND_LOOPBACK, 1)),
        n => Err(format!(
            "expected exactly one `{BIND_ANY}`, found {n} (is this kinesis-local {KINESIS_LOCAL_VERSION}?)"
        )),
    }
}

/// Makes sure a CA, a leaf certificate for localhost/127.0.0.1 and kinesis-local's cert JSON exist.
pub(crate) fn certificates(cfg: &Config) -> Result<()> {
    let dir = cfg.certs_dir();
    let json = dir.join("kinesis-cert.json");
    let files = ["ca.pem", "leaf.pem", "leaf.key"].map(|f| dir.join(f));
    let have_openssl = util::have_program(&cfg.openssl, &["version"]);
    let fresh = files.iter().all(|f| f.exists())
        && json.exists()
        && (!have_openssl
            || util::output(
                Command::new(&cfg.openssl)
                    .args(["x509", "-checkend", "86400", "-noout", "-in"])
                    .arg(&files[1]),
            )
            .is_some());
    if fresh {
        return Ok(());
    }
    fs::create_dir_all(&dir)?;
    let t = Instant::now();
    if have_openssl {
        openssl_certificates(cfg, &dir)?;
    } else {
        eprintln!(
            "openssl not found; generating certificates with python `cryptography` from the moto venv"
        );
        util::run(
            quiet(cfg.venv_python())?
                .arg(util::workspace_root().join("interop/emulators/gen_certs.py"))
                .arg(&dir),
        )?;
    }
    let cert = fs::read_to_string(&files[1])?;
    let key = fs::read_to_string(&files[2])?;
    fs::write(
        &json,
        format!(
            "{{\"server\":{{\"cert\":{},\"key\":{}}}}}\n",
            util::json_string(&cert),
            util::json_string(&key)
        ),
    )?;
    eprintln!(
        "generated a CA and a leaf certificate (localhost, 127.0.0.1) in {} ({})",
        dir.display(),
        util::secs(t.elapsed())
    );
    Ok(())
}

fn openssl_certificates(cfg: &Config, dir: &Path) -> Result<()> {
    let conf = dir.join("openssl.cnf");
    fs::write(
        &conf,
        "[req]\ndistinguished_name = dn\n[dn]\n\
         [v3_ca]\nbasicConstraints = critical, CA:TRUE\nkeyUsage = critical, keyCertSign, cRLSign\n\
         subjectKeyIdentifier = hash\n\
         [v3_leaf]\nbasicConstraints = critical, CA:FALSE\nkeyUsage = critical, digitalSignature, keyEncipherment\n\
         extendedKeyUsage = serverAuth\nsubjectAltName = DNS:localhost, IP:127.0.0.1\n\
         subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n",
    )?;
    let openssl = || -> Result<Command> {
        let mut cmd = quiet(&cfg.openssl)?;
        cmd.current_dir(dir).stderr(Stdio::piped());
        Ok(cmd)
    };
    let run = |cmd: &mut Command| -> Result<()> {
        let out = cmd
            .output()
            .context(|| format!("cannot run {}", cfg.openssl))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(Error::new(format!(
                "`{}` failed: {}",
                util::display_command(cmd),
                String::from_utf8_lossy(&out.stderr).trim()
            )))
        }
    };
    // Arguments are split on whitespace, so no value below may contain a space.
    for args in [
        "req -x509 -new -newkey rsa:2048 -nodes -sha256 -days 3650 -keyout ca.key -out ca.pem \
         -subj /CN=kinesis-rs-local-emulators-CA -config openssl.cnf -extensions v3_ca",
        "req -new -newkey rsa:2048 -nodes -sha256 -keyout leaf.key -out leaf.csr -subj /CN=localhost \
         -config openssl.cnf",
        "x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -CAserial ca.srl -sha256 \
         -days 825 -extfile openssl.cnf -extensions v3_leaf -out leaf.pem",
    ] {
        run(openssl()?.args(args.split_whitespace()))?;
    }
    run(openssl()?.args(["verify", "-CAfile", "ca.pem", "leaf.pem"]))?;
    Ok(())
}

/// Quotes a value for a POSIX shell `export` line.
fn shell_quote(value: &str) -> String {
    if !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@,+".contains(c))
    {
        value.to_string()
    } else {
        format!("'{}'", value.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patches_exactly_one_bind() {
        let js = r#"a;Host$().em("0.0.0.0");b"#;
        assert_eq!(patch_bind(js).unwrap(), r#"a;Host$().em("127.0.0.1");b"#);
        assert!(patch_bind("nothing here").is_err());
        assert!(patch_bind(&format!("{BIND_ANY}{BIND_ANY}")).is_err());
    }

    #[test]
    fn reads_npm_version() {
        let dir = std::env::temp_dir().join(format!("xtask-npm-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let manifest = dir.join("package.json");
        fs::write(
            &manifest,
            "{\n  \"name\": \"kinesis-local\",\n  \"version\": \"0.6.2\"\n}",
        )
        .unwrap();
        assert_eq!(installed_npm_version(&manifest).as_deref(), Some("0.6.2"));
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn quotes_for_the_shell() {
        assert_eq!(
            shell_quote("http://127.0.0.1:4568"),
            "http://127.0.0.1:4568"
        );
        assert_eq!(shell_quote("/a b/c'd"), r"'/a b/c'\''d'");
        assert_eq!(shell_quote(""), "''");
    }
}
