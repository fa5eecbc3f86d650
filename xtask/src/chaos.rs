//! `cargo xtask chaos`: builds the worker and producer binary (`kcl-fleet`) and the harness
//! (`kinesis-chaos`), then runs the harness.

use std::path::PathBuf;

use crate::util::{self, Error, Result};
use crate::{emulators, kcl};

const USAGE: &str = "\
usage: cargo xtask chaos [--seconds N] [--seed S] [--protocol kcl2|kcl3] [--out DIR]
                         [--workers W] [--producers P] [--shards K] [--rate R]
                         [--failover-millis F] [--rss-bound-mib M] [--java-workers J]

Consumer workers (W, default 3) and producers (P, default 2, R records a second each, default
50) run as processes on one stream of K shards (default 4) and one lease table, through fault
proxies in front of the embedded Kinesis and DynamoDB. For N seconds (default 60), on a
schedule drawn from the seed S (default 1), workers are killed (SIGKILL) and restarted,
frozen (SIGSTOP) past their failover time F (default 3000 ms) and woken, restarted
gracefully; producers are killed; shards are split and merged; bursts of throttling, errors,
resets, lost answers, timeouts and latency hit Kinesis and DynamoDB. Then the faults stop,
every process runs, and every acknowledged record must be consumed.

Writes DIR/report.json and DIR/run.svg (default DIR: target/chaos/seed-S). Fails when an
invariant was violated: a record lost, a duplicate the checkpoints do not explain, a record
out of order, a checkpoint moved backwards or written by a former owner, a former owner still
delivering past one renew interval, a lease unowned past the failover time and a take
interval once the faults stopped, a process past M MiB resident (default 256), a worker that
did not stop cleanly.

With --java-workers J (default 0), the last J of the W workers run the Java KCL beside the Rust
ones on the same lease table: KCL 2.x under --protocol kcl2, KCL 3.x in its own mode under
kcl3. The KCL worker harness (interop/kcl-worker) is built with Maven first, as for
`cargo xtask test --tier kcl`; a Java worker's resident set is bounded by --java-rss-bound-mib
(default 512), its heap by --java-heap-mib (default 192). Kinesis is then kinesis-local (started
as by `cargo xtask emulators up`) behind the proxy, since the Java KCL ends a closed shard only
on the ChildShards the embedded Kinesis does not give; the lease table stays the embedded
DynamoDB. --kinesis embedded keeps the embedded Kinesis.
";

/// The seed and length of the run in `cargo xtask ci`.
pub(crate) const CI_SEED: &str = "1";
pub(crate) const CI_SECONDS: &str = "60";

/// Entry point of `cargo xtask chaos ...`.
pub(crate) fn main(args: &[String]) -> Result<()> {
    if args
        .iter()
        .any(|a| matches!(a.as_str(), "-h" | "--help" | "help"))
    {
        print!("{USAGE}");
        return Ok(());
    }
    if args.iter().any(|a| a == "--bin") {
        return Err(Error::with_code(
            "--bin is chosen by the xtask (the kcl-fleet it builds)",
            2,
        ));
    }
    run(args)
}

/// Builds both binaries and runs the harness with `args`.
pub(crate) fn run(args: &[String]) -> Result<()> {
    util::run(util::cargo().args([
        "build",
        "--package",
        "kcl-fleet",
        "--bin",
        "kcl-fleet",
        "--package",
        "kinesis-chaos",
        "--bin",
        "kinesis-chaos",
    ]))?;
    let target = util::env_nonempty("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| util::workspace_root().join("target"));
    let debug = if target.is_absolute() {
        target.join("debug")
    } else {
        util::workspace_root().join(target).join("debug")
    };
    let mut command = std::process::Command::new(debug.join("kinesis-chaos"));
    command
        .current_dir(util::workspace_root())
        .arg("--bin")
        .arg(debug.join("kcl-fleet"))
        .args(args);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("AWS_ENDPOINT_URL") {
            command.env_remove(name);
        }
    }
    if value(args, "--java-workers").is_none_or(|n| n == "0") {
        return util::run(&mut command);
    }
    // The Java KCL worker harness on the KCL of the rules, built with Maven.
    let (variable, version) = if value(args, "--protocol") == Some("kcl3") {
        ("KCL_FLEET_KCL3_CLASSPATH", kcl::KCL3_VERSION)
    } else {
        ("KCL_FLEET_KCL2_CLASSPATH", kcl::KCL2_VERSION)
    };
    command.env(variable, kcl::kcl_worker_classpath(version)?);
    if value(args, "--kinesis").is_some() {
        return util::run(&mut command);
    }
    // The Java KCL ends a closed shard on the `ChildShards` of its last GetRecords answer, which
    // the embedded Kinesis does not give: Kinesis is kinesis-local, the lease table stays the
    // embedded DynamoDB.
    let cfg = emulators::Config::from_env()?;
    let running = emulators::up(&cfg, false)?;
    let mut guard = emulators::Guard::new(cfg.clone(), running);
    for (name, value) in cfg.exports() {
        if name.starts_with("AWS_ENDPOINT_URL_KINESIS")
            || name.starts_with("KINESIS_TESTKIT_KINESIS")
        {
            command.env(name, value);
        }
    }
    command.args(["--kinesis", "external"]);
    let ran = util::run(&mut command);
    ran.and(guard.stop())
}

/// The value after `flag` in `args`.
fn value<'a>(args: &'a [String], flag: &str) -> Option<&'a str> {
    args.iter()
        .position(|a| a == flag)
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
}
