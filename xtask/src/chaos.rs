//! `cargo xtask chaos`: builds the worker and producer binary (`kcl-fleet`) and the harness
//! (`kinesis-chaos`), then runs the harness.

use std::path::PathBuf;

use crate::util::{self, Error, Result};

const USAGE: &str = "\
usage: cargo xtask chaos [--seconds N] [--seed S] [--protocol kcl2|kcl3] [--out DIR]
                         [--workers W] [--producers P] [--shards K] [--rate R]
                         [--failover-millis F] [--rss-bound-mib M]

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
    util::run(&mut command)
}
