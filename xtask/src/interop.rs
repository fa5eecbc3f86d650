//! The interop tier: our formats checked by independent implementations.
//!
//! - KPL aggregation: aggregates written by our encoder are decoded by the `aws_kinesis_agg`
//!   Python package (the other direction, their aggregates through our decoder, runs in the
//!   ordinary test tier from committed vectors).
//! - MultiLang: record processors written on the KCL's own libraries — Python `amazon_kclpy`
//!   and Node `aws-kcl` — run by this workspace's MultiLangDaemon (`cargo test -p
//!   multilang-interop --test processors` against the embedded emulators; the crate's
//!   `java_daemon` tests need the JVM and run in the kcl tier).
//!
//! The Python packages are pinned in `interop/kpl-aggregation/requirements.txt` and installed into
//! a venv in the emulators' cache folder on first use. `amazon_kclpy` is taken from its PyPI
//! source distribution (its installer downloads the Java KCL's jars, which a daemon without a
//! JVM does not need), `aws-kcl` from npm at the version in
//! `interop/multilang/processors/node/package.json`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::util::{self, Error, Result};

/// The crate of the multilang scenarios; the other tiers leave it out.
pub(crate) const MULTILANG_PACKAGE: &str = "multilang-interop";

/// The `amazon_kclpy` release whose Python sources the Python processor runs on.
const KCLPY_VERSION: &str = "3.2.0";

/// Runs every interop check (each even when an earlier one failed).
pub(crate) fn run(cargo_args: &[String]) -> Result<()> {
    let aggregation = kpl_aggregation();
    let multilang = multilang(cargo_args);
    aggregation.and(multilang)
}

/// Installs the processors' libraries and runs the multilang scenarios.
fn multilang(cargo_args: &[String]) -> Result<()> {
    let root = util::workspace_root();
    let cache = crate::emulators::cache_dir().join("multilang");
    fs::create_dir_all(&cache)?;

    // amazon_kclpy's Python sources, from its sdist on PyPI.
    let python = venv(
        "interop-venv",
        &root.join("interop/kpl-aggregation/requirements.txt"),
    )?;
    let kclpy = cache.join(format!("amazon_kclpy-{KCLPY_VERSION}"));
    if !kclpy.join("amazon_kclpy").join("kcl.py").exists() {
        let t = Instant::now();
        let downloads = cache.join("pypi");
        util::run(
            Command::new(&python)
                .args([
                    "-m",
                    "pip",
                    "download",
                    "--quiet",
                    "--disable-pip-version-check",
                    "--no-deps",
                    "--no-binary",
                    ":all:",
                ])
                .arg(format!("amazon_kclpy=={KCLPY_VERSION}"))
                .arg("-d")
                .arg(&downloads)
                .stdin(Stdio::null()),
        )?;
        let sdist = downloads.join(format!("amazon_kclpy-{KCLPY_VERSION}.tar.gz"));
        util::run(
            Command::new("tar")
                .arg("xzf")
                .arg(&sdist)
                .arg("-C")
                .arg(&cache)
                .stdin(Stdio::null()),
        )?;
        eprintln!(
            "  amazon_kclpy {KCLPY_VERSION} sources in {}",
            util::secs(t.elapsed())
        );
    }

    // aws-kcl from npm, reinstalled when package.json changes.
    let node_src = root.join("interop/multilang/processors/node/package.json");
    let node_dir = cache.join("node");
    let wanted = fs::read_to_string(&node_src)?;
    let stamp = node_dir.join(".xtask-package");
    if fs::read_to_string(&stamp).ok().as_deref() != Some(wanted.as_str()) {
        let t = Instant::now();
        fs::create_dir_all(&node_dir)?;
        fs::write(node_dir.join("package.json"), &wanted)?;
        util::run(
            Command::new("npm")
                .args(["install", "--no-audit", "--no-fund", "--loglevel=error"])
                .current_dir(&node_dir)
                .stdin(Stdio::null()),
        )?;
        fs::write(&stamp, &wanted)?;
        eprintln!("  aws-kcl installed in {}", util::secs(t.elapsed()));
    }

    let env = [
        (
            "MULTILANG_PYTHONPATH".to_owned(),
            kclpy.display().to_string(),
        ),
        (
            "MULTILANG_NODE_PATH".to_owned(),
            node_dir.join("node_modules").display().to_string(),
        ),
    ];
    crate::test::package_tests(MULTILANG_PACKAGE, Some("processors"), cargo_args, &env)
}

/// A venv with the packages of `requirements`, reinstalled when the file changes.
pub(crate) fn venv(name: &str, requirements: &Path) -> Result<PathBuf> {
    let venv = crate::emulators::cache_dir().join(name);
    let python = venv.join("bin").join("python");
    let wanted = fs::read_to_string(requirements)
        .map_err(|e| Error::new(format!("cannot read {}: {e}", requirements.display())))?;
    let stamp = venv.join(".xtask-requirements");
    if python.exists() && fs::read_to_string(&stamp).ok().as_deref() == Some(wanted.as_str()) {
        return Ok(python);
    }
    let t = Instant::now();
    let system_python =
        util::env_nonempty("KINESIS_EMULATORS_PYTHON").unwrap_or_else(|| "python3".into());
    eprintln!("creating the Python venv {}", venv.display());
    util::run(
        Command::new(&system_python)
            .args(["-m", "venv", "--clear"])
            .arg(&venv)
            .stdin(Stdio::null()),
    )?;
    util::run(
        Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "-r",
            ])
            .arg(requirements)
            .stdin(Stdio::null()),
    )?;
    fs::write(&stamp, wanted)?;
    eprintln!("  installed in {}", util::secs(t.elapsed()));
    Ok(python)
}

fn kpl_aggregation() -> Result<()> {
    let root = util::workspace_root();
    let folder = root.join("interop/kpl-aggregation");
    let python = venv("interop-venv", &folder.join("requirements.txt"))?;
    let out = root.join("target/interop/kpl-aggregation");
    if out.exists() {
        fs::remove_dir_all(&out)?;
    }
    fs::create_dir_all(&out)?;
    util::run(
        util::cargo()
            .args([
                "run",
                "--quiet",
                "-p",
                "kinesis-kcl-compat",
                "--example",
                "write_aggregates",
                "--",
            ])
            .arg(&out),
    )?;
    util::run(
        Command::new(&python)
            .arg(folder.join("decode_ours.py"))
            .arg(&out)
            .stdin(Stdio::null()),
    )
}
