//! `cargo xtask fuzz`: runs the cargo-fuzz targets in `fuzz/` for a bounded time each.

use std::time::Instant;

use crate::util::{self, Error, Result};

const USAGE: &str = "\
usage: cargo xtask fuzz [--seconds N] [TARGET...]

Runs each fuzz target (default: all of them) for N seconds (default 60) with cargo-fuzz,
starting from the committed seeds in fuzz/seeds/<target> and the local corpus in
fuzz/corpus/<target>. Installs cargo-fuzz (pinned) when it is missing. A crash fails the
command; the crashing input is left in fuzz/artifacts/<target>.

cargo-fuzz needs nightly-only compiler flags; RUSTC_BOOTSTRAP=1 lets the stable toolchain
accept them, so no nightly toolchain is needed.
";

/// The fuzz targets, as in `fuzz/Cargo.toml`.
pub(crate) const TARGETS: &[&str] = &["aggregate_decode", "lease_row", "multilang_message"];

const CARGO_FUZZ_VERSION: &str = "0.13.2";

/// Entry point of `cargo xtask fuzz ...`.
pub(crate) fn main(args: &[String]) -> Result<()> {
    let mut seconds = 60u64;
    let mut targets = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "-h" | "--help" | "help" => {
                print!("{USAGE}");
                return Ok(());
            }
            "--seconds" => {
                let v = it.next().ok_or_else(|| {
                    Error::with_code(format!("--seconds needs a value\n\n{USAGE}"), 2)
                })?;
                seconds = v.parse().ok().filter(|s| *s > 0).ok_or_else(|| {
                    Error::with_code(format!("--seconds takes a positive number, got {v:?}"), 2)
                })?;
            }
            t if TARGETS.contains(&t) => targets.push(t.to_string()),
            other => {
                return Err(Error::with_code(
                    format!("unknown fuzz target or option `{other}`\n\n{USAGE}"),
                    2,
                ));
            }
        }
    }
    if targets.is_empty() {
        targets = TARGETS.iter().map(|t| t.to_string()).collect();
    }
    run(&targets, seconds)
}

/// Runs `targets` for `seconds` each.
pub(crate) fn run(targets: &[String], seconds: u64) -> Result<()> {
    ensure_cargo_fuzz()?;
    let dir = util::workspace_root().join("fuzz");
    for target in targets {
        let t = Instant::now();
        let corpus = dir.join("corpus").join(target);
        std::fs::create_dir_all(&corpus)?;
        let mut cmd = util::cargo();
        cmd.current_dir(&dir)
            .env("RUSTC_BOOTSTRAP", "1")
            .args(["fuzz", "run", target.as_str()])
            .arg(&corpus);
        let seeds = dir.join("seeds").join(target);
        if seeds.is_dir() {
            cmd.arg(&seeds);
        }
        cmd.args(["--", &format!("-max_total_time={seconds}"), "-max_len=4096"]);
        util::run(&mut cmd)?;
        eprintln!(
            "fuzz target {target}: clean for {seconds} s ({} in all)",
            util::secs(t.elapsed())
        );
    }
    Ok(())
}

fn ensure_cargo_fuzz() -> Result<()> {
    let installed = util::output(util::cargo().args(["fuzz", "--version"]));
    if installed.is_some() {
        return Ok(());
    }
    eprintln!("installing cargo-fuzz {CARGO_FUZZ_VERSION}");
    util::run(util::cargo().args([
        "install",
        "--locked",
        "--version",
        CARGO_FUZZ_VERSION,
        "cargo-fuzz",
    ]))?;
    Ok(())
}
