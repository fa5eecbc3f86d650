//! The interop tier: our formats checked by independent implementations.
//!
//! - KPL aggregation: aggregates written by our encoder are decoded by the `aws_kinesis_agg`
//!   Python package (the other direction, their aggregates through our decoder, runs in the
//!   ordinary test tier from committed vectors).
//!
//! The Python packages are pinned in `interop/kpl-aggregation/requirements.txt` and installed into
//! a venv in the emulators' cache folder on first use.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::util::{self, Error, Result};

/// Runs every interop check.
pub(crate) fn run() -> Result<()> {
    kpl_aggregation()
}

/// A venv with the packages of `requirements`, reinstalled when the file changes.
fn venv(name: &str, requirements: &Path) -> Result<PathBuf> {
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
