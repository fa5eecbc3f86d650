//! Project automation, run as `cargo xtask <command>` (alias in `.cargo/config.toml`).
//!
//! Standard library only, so it builds in seconds. Each command lives in its own module; add new ones as a
//! module plus a line in [`main`] and in [`USAGE`].

#![allow(
    clippy::disallowed_methods,
    reason = "the xtask times and waits on real processes"
)]

mod bench;
mod chaos;
mod ci;
mod deps;
mod emulators;
mod features;
mod fuzz;
mod interop;
mod kcl;
mod localstack;
mod manifest;
mod package;
mod test;
mod test_report;
mod util;

use std::process::ExitCode;

const USAGE: &str = "\
usage: cargo xtask <command> [args]

commands:
  ci                        fmt --check, clippy -D warnings, doc -D warnings, then all test tiers
  test [--tier T] [-- ...]  test tiers: unit | embedded | external | interop | kcl | localstack | all (default all)
  deps                      unused dependencies, licenses and duplicate versions (offline)
  features                  cargo check of every feature combination of every crate
  package                   cargo package of every published crate, each package checked alone
  fuzz [--seconds N] [T..]  run the cargo-fuzz targets for N seconds each (default 60)
  chaos [--seconds N] [--seed S]
                            workers and producers as processes under kills, freezes,
                            resharding and faults; every acknowledged record accounted for
  bench consumer|producer   run a benchmark once (release) and write docs/benchmarks.md
  emulators up|down|status  kinesis-local + moto + CloudWatch CBOR shim on 127.0.0.1 (no Docker)
  localstack up|down        LocalStack via docker/docker-compose.yml (needs a Docker engine)
  help                      this text

`cargo xtask <command> help` shows a command's options.
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (command, rest) = match args.split_first() {
        Some((c, rest)) => (c.as_str(), rest),
        None => ("help", &[][..]),
    };
    let result = match command {
        "help" | "-h" | "--help" => {
            print!("{USAGE}");
            Ok(())
        }
        "bench" => bench::main(rest),
        "chaos" => chaos::main(rest),
        "ci" => ci::main(rest),
        "test" => test::main(rest),
        "deps" => deps::run(),
        "features" => features::run(),
        "package" => package::run(),
        "fuzz" => fuzz::main(rest),
        "emulators" => emulators::main(rest),
        "localstack" => localstack::main(rest),
        other => Err(util::Error::with_code(
            format!("unknown command `{other}`\n\n{USAGE}"),
            2,
        )),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::from(u8::try_from(err.code()).unwrap_or(1))
        }
    }
}
