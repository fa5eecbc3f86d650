//! `cargo xtask ci`: formatting, lints, docs, then the test tiers, with a timing per step.

use std::time::{Duration, Instant};

use crate::util::{self, Error, Result};
use crate::{chaos, deps, features, fuzz, test};

const USAGE: &str = "\
usage: cargo xtask ci [--tier ...] [-- <cargo test args>]

Runs, in order (a failing step does not stop the later ones):
  cargo fmt --all -- --check
  cargo clippy --workspace --all-targets --all-features -- -D warnings
  cargo doc --workspace --no-deps --all-features (RUSTDOCFLAGS=\"-D warnings\")
  cargo xtask features                        (every feature combination of every crate builds)
  cargo xtask deps                            (unused dependencies, licenses, duplicate versions)
  cargo package --workspace                   (every library crate packages and builds on its own)
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
    step("cargo package", &mut || {
        // Each crate as it would be published: its manifest with versions on the workspace
        // dependencies, its files, and a build of the package alone. The tools of the
        // workspace and its examples are not published.
        clear_packaged_sources()?;
        util::run(util::cargo().args([
            "package",
            "--workspace",
            "--exclude",
            "xtask",
            "--exclude",
            "kcl-fleet",
            "--exclude",
            "kinesis-chaos",
            "--exclude",
            "kinesis-examples",
            "--exclude",
            "multilang-interop",
            "--allow-dirty",
        ]))
    });
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

/// Removes what an earlier `cargo package` left of this workspace's own packages: the
/// packages and the local registry in `target/package`, the sources cargo unpacked from them
/// into `$CARGO_HOME/registry/src/-<hash>/<crate>-<version>`, and the fingerprints of their
/// builds in `target/debug`. Cargo takes a registry package of an unchanged version as
/// unchanged — it neither unpacks nor rebuilds it — so a later run would verify each crate
/// against the others' old sources.
fn clear_packaged_sources() -> util::Result<()> {
    let target = util::env_nonempty("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| util::workspace_root().join("target"));
    let remove = |path: &std::path::Path| {
        std::fs::remove_dir_all(path)
            .map_err(|e| util::Error::new(format!("cannot remove {}: {e}", path.display())))
    };
    let packages = target.join("package");
    if packages.exists() {
        remove(&packages)?;
    }
    // A build of a packaged crate lists the unpacked sources in its dep-info file; its
    // fingerprint goes, so that cargo builds it again from the new sources.
    let debug = target.join("debug");
    if let Ok(deps) = std::fs::read_dir(debug.join("deps")) {
        for entry in deps.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(stem) = name.strip_suffix(".d") else {
                continue;
            };
            if !stem.starts_with("kinesis_") {
                continue;
            }
            let from_registry = std::fs::read_to_string(entry.path())
                .is_ok_and(|text| text.contains("/registry/src/-"));
            if from_registry {
                let fingerprint = debug.join(".fingerprint").join(stem.replace('_', "-"));
                if fingerprint.exists() {
                    remove(&fingerprint)?;
                }
            }
        }
    }
    let home = util::env_nonempty("CARGO_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| util::env_nonempty("HOME").map(|h| std::path::Path::new(&h).join(".cargo")));
    let Some(home) = home else { return Ok(()) };
    let Ok(registries) = std::fs::read_dir(home.join("registry").join("src")) else {
        return Ok(());
    };
    for registry in registries.flatten() {
        // Local overlays (the packages of a workspace) are named `-<hash>`; crates.io's are not.
        if !registry.file_name().to_string_lossy().starts_with('-') {
            continue;
        }
        let Ok(crates) = std::fs::read_dir(registry.path()) else {
            continue;
        };
        for unpacked in crates.flatten() {
            if unpacked
                .file_name()
                .to_string_lossy()
                .starts_with("kinesis-")
            {
                std::fs::remove_dir_all(unpacked.path()).map_err(|e| {
                    util::Error::new(format!("cannot remove {}: {e}", unpacked.path().display()))
                })?;
            }
        }
    }
    Ok(())
}
