//! `cargo xtask ci`: formatting, lints, docs, then the test tiers, with a timing per step.

use std::time::{Duration, Instant};

use crate::util::{self, Error, Result};
use crate::{chaos, deps, features, fuzz, package, test};

const USAGE: &str = "\
usage: cargo xtask ci [--tier ...] [-- <cargo test args>]

Runs, in order (a failing step does not stop the later ones):
  cargo fmt --all -- --check
  cargo clippy --workspace --all-targets --all-features -- -D warnings
  cargo doc --workspace --no-deps --all-features (RUSTDOCFLAGS=\"-D warnings\")
  cargo xtask features                        (every feature combination of every crate builds)
  cargo xtask deps                            (unused dependencies, licenses, duplicate versions)
  cargo package --workspace --no-verify       (every library crate packages; each package is then
                                              checked alone, its siblings patched to their packages)
  cargo xtask test [--tier ...] [-- ...]     (default: all tiers)
  cargo xtask chaos --seconds 60 --seed 1     (processes under faults; skipped when --tier is given)
  cargo xtask fuzz --seconds 20               (every fuzz target; skipped when --tier is given)
";

/// Seconds each fuzz target runs in `ci`: a smoke run that keeps the targets building and the
/// seeds clean; `cargo xtask fuzz` runs longer.
const CI_FUZZ_SECONDS: u64 = 20;

/// Entry point of `cargo xtask ci ...`.
pub(crate) fn main(args: &[String]) -> Result<()> {
    if args
        .iter()
        .take_while(|a| *a != "--")
        .any(|a| matches!(a.as_str(), "-h" | "--help" | "help"))
    {
        print!("{USAGE}");
        return Ok(());
    }
    let opts = test::Options::parse(args)?;
    let started = Instant::now();
    let mut steps: Vec<(String, Duration, Option<String>)> = Vec::new();
    let mut step = |name: &str, f: &mut dyn FnMut() -> Result<()>| {
        eprintln!("\n== ci: {name} ==");
        let t = Instant::now();
        let outcome = f();
        steps.push((
            name.to_string(),
            t.elapsed(),
            outcome.err().map(|e| e.to_string()),
        ));
    };

    step("cargo fmt --check", &mut || {
        util::run(util::cargo().args(["fmt", "--all", "--", "--check"]))
    });
    step("cargo clippy -D warnings", &mut || {
        util::run(util::cargo().args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--all-features",
            "--",
            "-D",
            "warnings",
        ]))
    });
    step("cargo doc -D warnings", &mut || {
        util::run(
            util::cargo()
                .args(["doc", "--workspace", "--no-deps", "--all-features"])
                .env("RUSTDOCFLAGS", "-D warnings"),
        )
    });
    step("feature combinations", &mut features::run);
    step("dependencies", &mut deps::run);
    step("cargo package", &mut package::run);
    let tiers = test::run_tiers(&opts);
    let tier_given = args
        .iter()
        .take_while(|a| *a != "--")
        .any(|a| a.starts_with("--tier"));
    if !tier_given {
        step("chaos (60 s, seed 1)", &mut || {
            chaos::run(&[
                "--seconds".to_owned(),
                chaos::CI_SECONDS.to_owned(),
                "--seed".to_owned(),
                chaos::CI_SEED.to_owned(),
            ])
        });
        step("fuzz smoke", &mut || {
            let targets: Vec<String> = fuzz::TARGETS.iter().map(|t| t.to_string()).collect();
            fuzz::run(&targets, CI_FUZZ_SECONDS)
        });
    }

    eprintln!("\n== ci summary ==");
    for (name, elapsed, failure) in &steps {
        eprintln!(
            "  {:<44} {:<7} {:>8}{}",
            name,
            if failure.is_none() { "ok" } else { "FAILED" },
            util::secs(*elapsed),
            failure
                .as_deref()
                .map(|f| format!("  ({})", f.lines().next().unwrap_or_default()))
                .unwrap_or_default()
        );
    }
    for tier in &tiers {
        eprintln!("  {}", tier.line());
    }
    eprintln!(
        "  {:<44} {:<7} {:>8}",
        "total",
        "",
        util::secs(started.elapsed())
    );
    let failed = steps.iter().filter(|s| s.2.is_some()).count()
        + tiers.iter().filter(|t| t.failure.is_some()).count();
    if failed == 0 {
        eprintln!("ci: all steps passed");
        Ok(())
    } else {
        Err(Error::new(format!("ci: {failed} step(s) failed")))
    }
}
