//! The `kcl` tier: Rust workers beside the real Java KCL (2.x and 3.x) and the real KPL, as
//! separate processes on one stream and one lease table (kinesis-local + moto), and a Rust
//! record processor under the real Java MultiLangDaemon.
//!
//! The Java harness (`interop/kcl-worker`, `interop/multilang/daemon`) is resolved by Maven into
//! a local repository in the emulators' cache folder and compiled with `javac` there: the first
//! run downloads, later runs are offline. The scenarios are the tests of the `kcl-fleet` crate,
//! run with the classpaths in `KCL_FLEET_*` variables, and the `java_daemon` tests of
//! `multilang-interop` with `MULTILANG_JAVA_CLASSPATH`. Without Java or Maven the tier fails and
//! says so.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::emulators;
use crate::util::{self, Context, Error, Result};

/// The KCL versions the harness is built for: the newest 2.x and 3.x that Maven Central serves.
pub(crate) const KCL2_VERSION: &str = "2.7.2";
/// See [`KCL2_VERSION`].
pub(crate) const KCL3_VERSION: &str = "3.5.1";

/// The `amazon-kinesis-client-multilang` release of the MultiLangDaemon scenarios (the newest
/// whose jar and pom Maven Central serves here); pinned in `interop/multilang/daemon/pom.xml`.
pub(crate) const MULTILANG_VERSION: &str = "3.1.3";

/// The crate whose tests are the scenarios.
pub(crate) const PACKAGE: &str = "kcl-fleet";

/// The test target of `multilang-interop` that runs the Java MultiLangDaemon.
const JAVA_DAEMON_TEST: &str = "java_daemon";

/// Test threads: each scenario runs up to four JVMs on a 2-core machine.
const TEST_THREADS: &str = "1";

/// A compiled entry point: its classpath (classes first).
struct Built {
    classpath: String,
}

fn require_tools() -> Result<()> {
    let mut missing = Vec::new();
    if !util::have_program("java", &["-version"]) {
        missing.push("java");
    }
    if !util::have_program("javac", &["-version"]) {
        missing.push("javac");
    }
    if !util::have_program("mvn", &["-v"]) {
        missing.push("mvn");
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(Error::new(format!(
            "the kcl tier needs a JDK 17+ and Maven to run the Java KCL and KPL; missing: {}",
            missing.join(", ")
        )))
    }
}

/// Resolves the dependencies of `pom` (with `-D` properties) into the cache's Maven repository
/// and compiles the Java files under `sources` (if any) into `out`; skipped when the inputs
/// are unchanged since the last build.
fn build(
    name: &str,
    pom: &Path,
    properties: &[(&str, &str)],
    sources: Option<&Path>,
) -> Result<Built> {
    let out = emulators::cache_dir().join("kcl-worker").join(name);
    let classes = out.join("classes");
    let cp_file = out.join("classpath.txt");
    let stamp_file = out.join(".xtask-stamp");
    let mut java_files = Vec::new();
    if let Some(sources) = sources {
        collect_java(sources, &mut java_files)?;
    }
    java_files.sort();
    let mut stamp = fs::read_to_string(pom).context(|| format!("reading {}", pom.display()))?;
    for (k, v) in properties {
        stamp.push_str(&format!("\n-D{k}={v}"));
    }
    for file in &java_files {
        stamp.push_str(&format!("\n== {}\n", file.display()));
        stamp
            .push_str(&fs::read_to_string(file).context(|| format!("reading {}", file.display()))?);
    }
    let deps = || fs::read_to_string(&cp_file).map(|s| s.trim().to_owned());
    if fs::read_to_string(&stamp_file).ok().as_deref() == Some(stamp.as_str())
        && let Ok(deps) = deps()
    {
        return Ok(Built {
            classpath: format!("{}:{deps}", classes.display()),
        });
    }
    let t = Instant::now();
    if out.exists() {
        fs::remove_dir_all(&out)?;
    }
    fs::create_dir_all(&classes)?;
    let repo = emulators::cache_dir().join("maven");
    eprintln!(
        "kcl tier: resolving {name} with Maven into {}",
        repo.display()
    );
    let mut mvn = Command::new("mvn");
    mvn.args(["-B", "-q", "-f"])
        .arg(pom)
        .arg(format!("-Dmaven.repo.local={}", repo.display()))
        .arg(format!("-Dmdep.outputFile={}", cp_file.display()));
    for (k, v) in properties {
        mvn.arg(format!("-D{k}={v}"));
    }
    mvn.arg("dependency:build-classpath").stdin(Stdio::null());
    util::run(&mut mvn)?;
    let deps = deps().context(|| format!("reading {}", cp_file.display()))?;
    if !java_files.is_empty() {
        let mut javac = Command::new("javac");
        javac
            .args(["--release", "17", "-nowarn", "-d"])
            .arg(&classes)
            .arg("-cp")
            .arg(&deps)
            .args(&java_files)
            .stdin(Stdio::null());
        util::run(&mut javac)?;
    }
    fs::write(&stamp_file, stamp)?;
    eprintln!("  built {name} in {}", util::secs(t.elapsed()));
    Ok(Built {
        classpath: format!("{}:{deps}", classes.display()),
    })
}

fn collect_java(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    for entry in fs::read_dir(dir).context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            collect_java(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "java") {
            out.push(path);
        }
    }
    Ok(())
}

/// The KPL harness (`interop/kcl-worker/kpl`: `KplProducer`, `KplBench`), built; its classpath.
pub(crate) fn kpl_classpath() -> Result<String> {
    require_tools()?;
    let folder = util::workspace_root().join("interop/kcl-worker");
    Ok(build(
        "kpl",
        &folder.join("kpl/pom.xml"),
        &[],
        Some(&folder.join("kpl/src/main/java")),
    )?
    .classpath)
}

/// The KCL worker harness (`interop/kcl-worker`: `KclWorker`) on KCL `version`, built; its
/// classpath.
pub(crate) fn kcl_worker_classpath(version: &str) -> Result<String> {
    require_tools()?;
    let folder = util::workspace_root().join("interop/kcl-worker");
    Ok(build(
        &format!("kcl-{version}"),
        &folder.join("pom.xml"),
        &[("kcl.version", version)],
        Some(&folder.join("src/main/java")),
    )?
    .classpath)
}

/// Builds the Java harness and returns the variables the scenarios read.
pub(crate) fn harness_env() -> Result<Vec<(String, String)>> {
    let kcl2 = kcl_worker_classpath(KCL2_VERSION)?;
    let kcl3 = kcl_worker_classpath(KCL3_VERSION)?;
    let kpl = kpl_classpath()?;
    let multilang = build(
        &format!("multilang-{MULTILANG_VERSION}"),
        &util::workspace_root().join("interop/multilang/daemon/pom.xml"),
        &[("multilang.version", MULTILANG_VERSION)],
        None,
    )?;
    Ok(vec![
        ("KCL_FLEET_KCL2_CLASSPATH".into(), kcl2),
        ("KCL_FLEET_KCL3_CLASSPATH".into(), kcl3),
        ("KCL_FLEET_KPL_CLASSPATH".into(), kpl),
        ("MULTILANG_JAVA_CLASSPATH".into(), multilang.classpath),
        (
            "KCL_FLEET_OUT".into(),
            util::workspace_root()
                .join("target/kcl-fleet")
                .display()
                .to_string(),
        ),
    ])
}

/// Runs the tier: builds the harness, starts (or reuses) the external emulators, runs the
/// scenarios with `cargo test -p kcl-fleet` and `cargo test -p multilang-interop --test
/// java_daemon` (both, even when the first fails), stops the emulators.
pub(crate) fn run(cargo_args: &[String]) -> Result<()> {
    let harness = harness_env()?;
    crate::test::with_external_emulators(TEST_THREADS, harness, |env| {
        let fleet = crate::test::package_tests(PACKAGE, None, cargo_args, env);
        let multilang = crate::test::package_tests(
            crate::interop::MULTILANG_PACKAGE,
            Some(JAVA_DAEMON_TEST),
            cargo_args,
            env,
        );
        fleet.and(multilang)
    })
}
