//! `cargo xtask test`: the test tiers.
//!
//! - `unit`: `cargo test --workspace --lib --bins` (in-crate unit tests only);
//! - `embedded`: `cargo test --workspace` (unit, integration and doc tests; the test kit starts its embedded
//!   emulators because the endpoint variables are removed from the environment); it includes `unit`;
//! - `external`: `cargo xtask emulators up`, `cargo test --workspace --tests` with the emulator endpoints
//!   exported, then the emulators are stopped on every path;
//! - `interop`: our formats checked by independent implementations (see [`crate::interop`]);
//! - `kcl`: Rust workers beside the real Java KCL 2.x/3.x and KPL on one lease table (see
//!   [`crate::kcl`]);
//! - `localstack`: the `external` tier's suites against LocalStack in Docker (started and stopped
//!   here; not part of `all`, which needs no Docker).
//!
//! The `kcl-fleet` crate holds the `kcl` tier's scenarios; the other tiers leave it out.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::util::{self, Error, Result};
use crate::{emulators, interop, kcl, localstack, test_report};

const USAGE: &str = "\
usage: cargo xtask test [--tier unit|embedded|external|interop|kcl|localstack|all] [-- <cargo test args>]

  --tier   which tiers to run; repeat or separate with commas
           (default: all = embedded + external + interop + kcl)
             unit      cargo test --workspace --lib --bins
             embedded  cargo test --workspace            (unit + integration + doc tests, embedded emulators)
             external  cargo test --workspace --tests    against kinesis-local + moto (started and stopped here)
             interop   our KPL aggregates decoded by the aws_kinesis_agg Python package (pinned, in a venv);
                       amazon_kclpy and aws-kcl record processors under our MultiLangDaemon
             kcl       Rust workers beside Java KCL 2.x/3.x workers and the KPL on one lease table
                       (needs a JDK 17+ and Maven; cargo test -p kcl-fleet against kinesis-local + moto)
             localstack cargo test --workspace --tests    against LocalStack (docker/docker-compose.yml,
                       started, waited for and stopped here; needs a Docker engine; not part of `all`)
           (each with --no-fail-fast; `-p <crate>` in the extra args replaces --workspace)
  -- ...   passed to every `cargo test` (e.g. `-- -p kinesis-client -- --nocapture`)

The external and localstack tiers run with RUST_TEST_THREADS=2 (kinesis-local is single-threaded) unless RUST_TEST_THREADS
is set. If `cargo xtask emulators up` already started the emulators, they are reused and left running.
";

/// Test threads for the external tier unless `RUST_TEST_THREADS` is set.
const EXTERNAL_TEST_THREADS: &str = "2";

/// A test tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Tier {
    /// In-crate unit tests.
    Unit,
    /// Everything `cargo test --workspace` runs, with embedded emulators.
    Embedded,
    /// Integration tests against external emulators.
    External,
    /// Our formats checked by independent implementations.
    Interop,
    /// Rust workers beside the real Java KCL and KPL.
    Kcl,
    /// The external tier's suites against LocalStack in Docker.
    Localstack,
}

impl Tier {
    fn label(self) -> &'static str {
        match self {
            Tier::Unit => "unit (lib + bins)",
            Tier::Embedded => "unit + embedded (cargo test --workspace)",
            Tier::External => "external (kinesis-local + moto)",
            Tier::Interop => "interop (aws_kinesis_agg, amazon_kclpy, aws-kcl)",
            Tier::Kcl => "kcl (Java KCL 2.x/3.x + KPL beside Rust)",
            Tier::Localstack => "localstack (Docker)",
        }
    }
}

/// The tiers of `all`, the default.
const ALL: [Tier; 4] = [Tier::Embedded, Tier::External, Tier::Interop, Tier::Kcl];

/// Parsed `test` options (shared with `ci`).
#[derive(Debug, Clone)]
pub(crate) struct Options {
    /// The tiers to run, in order, without redundant ones.
    pub(crate) tiers: Vec<Tier>,
    /// Arguments after `--`, passed to `cargo test`.
    pub(crate) cargo_args: Vec<String>,
}

impl Options {
    /// Parses `[--tier X]... [-- args...]`.
    pub(crate) fn parse(args: &[String]) -> Result<Self> {
        let mut tiers = Vec::new();
        let mut cargo_args = Vec::new();
        let mut it = args.iter();
        while let Some(arg) = it.next() {
            let value = match arg.as_str() {
                "--" => {
                    cargo_args.extend(it.by_ref().cloned());
                    break;
                }
                "--tier" => it
                    .next()
                    .ok_or_else(|| usage_error("--tier needs a value"))?
                    .clone(),
                other if other.starts_with("--tier=") => other["--tier=".len()..].to_string(),
                "-h" | "--help" | "help" => {
                    return Err(Error::with_code(USAGE.trim_end(), 0));
                }
                other => return Err(usage_error(&format!("unexpected argument `{other}`"))),
            };
            for name in value.split(',').map(str::trim) {
                match name {
                    "unit" => tiers.push(Tier::Unit),
                    "embedded" => tiers.push(Tier::Embedded),
                    "external" => tiers.push(Tier::External),
                    "interop" => tiers.push(Tier::Interop),
                    "kcl" => tiers.push(Tier::Kcl),
                    "localstack" => tiers.push(Tier::Localstack),
                    "all" => tiers.extend(ALL),
                    other => return Err(usage_error(&format!("unknown tier `{other}`"))),
                }
            }
        }
        if tiers.is_empty() {
            tiers = ALL.to_vec();
        }
        tiers.sort_unstable();
        tiers.dedup();
        if tiers.contains(&Tier::Embedded) {
            // `cargo test --workspace` already runs the unit tests.
            tiers.retain(|t| *t != Tier::Unit);
        }
        Ok(Self { tiers, cargo_args })
    }
}

fn usage_error(message: &str) -> Error {
    Error::with_code(format!("{message}\n\n{USAGE}"), 2)
}

/// How one tier went.
#[derive(Debug)]
pub(crate) struct TierResult {
    /// Which tier.
    pub(crate) tier: Tier,
    /// Wall time.
    pub(crate) elapsed: Duration,
    /// `None` when it passed, otherwise why not.
    pub(crate) failure: Option<String>,
}

impl TierResult {
    /// A summary for the tier: one line, then (on failure) the failing tests and their messages.
    pub(crate) fn line(&self) -> String {
        format!(
            "{:<44} {:<7} {:>8}{}",
            self.tier.label(),
            if self.failure.is_none() {
                "ok"
            } else {
                "FAILED"
            },
            util::secs(self.elapsed),
            self.failure
                .as_deref()
                .map(|f| format!("  ({f})"))
                .unwrap_or_default()
        )
    }
}

/// Entry point of `cargo xtask test ...`.
pub(crate) fn main(args: &[String]) -> Result<()> {
    let opts = match Options::parse(args) {
        Err(err) if err.code() == 0 => {
            println!("{err}");
            return Ok(());
        }
        other => other?,
    };
    let results = run_tiers(&opts);
    print_summary(&results);
    let failed = results.iter().filter(|r| r.failure.is_some()).count();
    if failed == 0 {
        Ok(())
    } else {
        Err(Error::new(format!("{failed} test tier(s) failed")))
    }
}

/// Prints the per-tier summary.
pub(crate) fn print_summary(results: &[TierResult]) {
    eprintln!("\n== test tiers ==");
    for r in results {
        eprintln!("  {}", r.line());
    }
}

/// Runs every requested tier (a failing tier does not stop the next one).
pub(crate) fn run_tiers(opts: &Options) -> Vec<TierResult> {
    opts.tiers
        .iter()
        .map(|&tier| {
            eprintln!("\n== tier: {} ==", tier.label());
            let started = Instant::now();
            let outcome = match tier {
                Tier::Unit => run_cargo_test(&["--workspace", "--lib", "--bins"], opts, &[]),
                Tier::Embedded => run_cargo_test(&["--workspace"], opts, &[]),
                Tier::External => external(opts),
                Tier::Interop => interop::run(&opts.cargo_args),
                Tier::Kcl => kcl::run(&opts.cargo_args),
                Tier::Localstack => against_localstack(opts),
            };
            TierResult {
                tier,
                elapsed: started.elapsed(),
                failure: outcome.err().map(|e| e.to_string()),
            }
        })
        .collect()
}

fn external(opts: &Options) -> Result<()> {
    with_external_emulators(EXTERNAL_TEST_THREADS, Vec::new(), |env| {
        run_cargo_test(&["--workspace", "--tests"], opts, env)
    })
}

/// Starts LocalStack (failing at once without Docker), runs the external tier's suites against
/// it, and stops it on every path.
fn against_localstack(opts: &Options) -> Result<()> {
    let mut guard = localstack::Guard::up()?;
    let mut env: Vec<(String, String)> = localstack::exports()
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    if std::env::var_os("RUST_TEST_THREADS").is_none() {
        env.push(("RUST_TEST_THREADS".into(), EXTERNAL_TEST_THREADS.into()));
    }
    let tested = run_cargo_test(&["--workspace", "--tests"], opts, &env);
    let stopped = guard.stop();
    tested.and(stopped)
}

/// Starts (or reuses) kinesis-local + moto, runs `tests` with their variables plus `extra_env`
/// (and `RUST_TEST_THREADS=threads` unless set), and stops what it started on every path.
pub(crate) fn with_external_emulators(
    threads: &str,
    extra_env: Vec<(String, String)>,
    tests: impl FnOnce(&[(String, String)]) -> Result<()>,
) -> Result<()> {
    let cfg = emulators::Config::from_env()?;
    let running = emulators::up(&cfg, false)?;
    if running.reused {
        eprintln!("(reusing emulators started earlier; they stay running)");
    }
    let mut guard = emulators::Guard::new(cfg.clone(), running);
    let mut env: Vec<(String, String)> = cfg
        .exports()
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    env.extend(extra_env);
    if std::env::var_os("RUST_TEST_THREADS").is_none() {
        env.push(("RUST_TEST_THREADS".into(), threads.into()));
    }
    let tested = tests(&env);
    // Stop explicitly so errors are reported here; the guard's Drop covers panics and early returns.
    let stopped = guard.stop();
    tested.and(stopped)
}

/// Variables that select emulators or endpoints: removed for the embedded tier, replaced for the external one.
fn is_endpoint_variable(name: &str) -> bool {
    name.starts_with("AWS_ENDPOINT_URL")
        || (name.starts_with("KINESIS_TESTKIT_")
            && (name.ends_with("_BACKEND")
                || name.ends_with("_ENDPOINT")
                || name == "KINESIS_TESTKIT_CA_PEM"))
}

fn run_cargo_test(base: &[&str], opts: &Options, env: &[(String, String)]) -> Result<()> {
    let mut cmd = util::cargo();
    // Run every test binary even when one fails, so a tier reports all its failures at once.
    // Every feature on, as clippy and doc have it in `cargo xtask ci`: one feature set, one build.
    cmd.args(["test", "--no-fail-fast", "--all-features"]);
    if selects_packages(&opts.cargo_args) {
        // `--workspace` would override the caller's `-p`.
        cmd.args(base.iter().filter(|a| **a != "--workspace"));
    } else {
        cmd.args(base);
        // The kcl tier's scenarios need the Java harness, the interop tier's the processors'
        // libraries; those tiers run them.
        cmd.args([
            "--exclude",
            kcl::PACKAGE,
            "--exclude",
            interop::MULTILANG_PACKAGE,
        ]);
    }
    cmd.args(&opts.cargo_args);
    clean_env(&mut cmd);
    cmd.envs(env.iter().map(|(k, v)| (k, v)));
    test_report::run(&mut cmd)
}

/// Whether cargo arguments (before a `--`) pick packages with `-p` / `--package`.
fn selects_packages(cargo_args: &[String]) -> bool {
    cargo_args
        .iter()
        .take_while(|a| *a != "--")
        .any(|a| a.starts_with("-p") || a.starts_with("--package"))
}

/// `cargo test --no-fail-fast --all-features -p <package> [--test <test>] <cargo_args>` with a
/// clean environment plus `env`, through the test report.
pub(crate) fn package_tests(
    package: &str,
    test: Option<&str>,
    cargo_args: &[String],
    env: &[(String, String)],
) -> Result<()> {
    let mut cmd = util::cargo();
    cmd.args(["test", "--no-fail-fast", "--all-features", "-p", package]);
    if let Some(test) = test {
        cmd.args(["--test", test]);
    }
    cmd.args(cargo_args);
    clean_env(&mut cmd);
    cmd.envs(env.iter().map(|(k, v)| (k, v)));
    crate::test_report::run(&mut cmd)
}

pub(crate) fn clean_env(cmd: &mut Command) {
    for (name, _) in std::env::vars_os() {
        if is_endpoint_variable(&name.to_string_lossy()) {
            cmd.env_remove(name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &[&str]) -> Vec<String> {
        s.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn parses_tiers_and_passthrough() {
        let o = Options::parse(&[]).unwrap();
        assert_eq!(
            o.tiers,
            vec![Tier::Embedded, Tier::External, Tier::Interop, Tier::Kcl]
        );
        let o = Options::parse(&args(&["--tier", "unit"])).unwrap();
        assert_eq!(o.tiers, vec![Tier::Unit]);
        let o = Options::parse(&args(&[
            "--tier=external,unit",
            "--",
            "-p",
            "x",
            "--",
            "--nocapture",
        ]))
        .unwrap();
        assert_eq!(o.tiers, vec![Tier::Unit, Tier::External]);
        assert_eq!(o.cargo_args, args(&["-p", "x", "--", "--nocapture"]));
        let o = Options::parse(&args(&["--tier", "localstack"])).unwrap();
        assert_eq!(o.tiers, vec![Tier::Localstack]);
        assert!(!ALL.contains(&Tier::Localstack), "`all` needs no Docker");
        let o = Options::parse(&args(&["--tier", "unit", "--tier", "embedded"])).unwrap();
        assert_eq!(o.tiers, vec![Tier::Embedded]);
        assert_eq!(
            Options::parse(&args(&["--tier", "nope"]))
                .unwrap_err()
                .code(),
            2
        );
        assert_eq!(Options::parse(&args(&["--bogus"])).unwrap_err().code(), 2);
    }

    #[test]
    fn notices_package_selection() {
        assert!(selects_packages(&args(&["-p", "xtask"])));
        assert!(selects_packages(&args(&["--package=xtask"])));
        assert!(!selects_packages(&args(&["--", "-p"])));
        assert!(!selects_packages(&args(&["--release"])));
    }

    #[test]
    fn recognises_endpoint_variables() {
        assert!(is_endpoint_variable("AWS_ENDPOINT_URL_KINESIS"));
        assert!(is_endpoint_variable("AWS_ENDPOINT_URL"));
        assert!(is_endpoint_variable("KINESIS_TESTKIT_CA_PEM"));
        assert!(is_endpoint_variable("KINESIS_TESTKIT_KINESIS_BACKEND"));
        assert!(is_endpoint_variable("KINESIS_TESTKIT_KINESIS_TLS_ENDPOINT"));
        assert!(!is_endpoint_variable("KINESIS_TESTKIT_LOG"));
        assert!(!is_endpoint_variable("AWS_REGION"));
    }
}
