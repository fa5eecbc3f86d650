//! The `cargo package` step of `cargo xtask ci`: every library crate as it would be published,
//! then checked from its package alone.
//!
//! `cargo package` verifies each package by building it in a workspace of its own, where its
//! dependencies resolve to other features than in this workspace or in the other packages' —
//! the SDK's crates were compiled six times over, for most of ten minutes. Here the packages are
//! made without that build, unpacked side by side into `target/package/check` with each one's
//! dependencies on the others patched to the unpacked sources, and each is checked there on its
//! own with its default features (`cargo check -p`, as a user's build would resolve it). Its
//! dependencies resolve as they do for `cargo xtask features`, which checks the same feature
//! set in this workspace, so their metadata is reused and only the packaged crates compile.
//! What a package misses — a file it includes, a version on a dependency, a feature a
//! dependency needs — fails here as it would for a user.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::{self, Context, Error, Result};

/// The members that are not published: the workspace's tools, harnesses and examples.
const UNPUBLISHED: [&str; 5] = [
    "xtask",
    "kcl-fleet",
    "kinesis-chaos",
    "kinesis-examples",
    "multilang-interop",
];

/// Packages every published crate and checks each from the packages alone.
pub(crate) fn run() -> Result<()> {
    let root = util::workspace_root();
    let target = util::env_nonempty("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let packages = target.join("package");
    if packages.exists() {
        fs::remove_dir_all(&packages)
            .context(|| format!("cannot remove {}", packages.display()))?;
    }

    let mut package = util::cargo();
    package.args(["package", "--workspace", "--no-verify", "--allow-dirty"]);
    for member in UNPUBLISHED {
        package.args(["--exclude", member]);
    }
    util::run(&mut package)?;

    let check = packages.join("check");
    fs::create_dir_all(&check).context(|| format!("cannot create {}", check.display()))?;
    let mut unpacked = Vec::new();
    for archive in crate_archives(&packages)? {
        util::run(
            Command::new("tar")
                .arg("-xzmf")
                .arg(&archive)
                .arg("-C")
                .arg(&check),
        )?;
        let dir = archive
            .file_stem()
            .map(|stem| stem.to_string_lossy().into_owned())
            .ok_or_else(|| Error::new(format!("{}: no file name", archive.display())))?;
        unpacked.push(Unpacked::read(&check, dir)?);
    }
    if unpacked.is_empty() {
        return Err(Error::new(format!(
            "cargo package wrote no .crate file into {}",
            packages.display()
        )));
    }

    let root_manifest = fs::read_to_string(root.join("Cargo.toml"))
        .context(|| format!("cannot read {}", root.join("Cargo.toml").display()))?;
    let manifest = check.join("Cargo.toml");
    fs::write(&manifest, check_workspace(&unpacked, &root_manifest))
        .context(|| format!("cannot write {}", manifest.display()))?;
    // The workspace's lock file: the packages are checked against the versions it is tested with.
    fs::copy(root.join("Cargo.lock"), check.join("Cargo.lock"))
        .context(|| format!("cannot copy Cargo.lock into {}", check.display()))?;

    for package in &unpacked {
        util::run(
            util::cargo()
                .arg("check")
                .arg("--manifest-path")
                .arg(&manifest)
                .arg("--target-dir")
                .arg(&target)
                .args(["-p", &package.name]),
        )
        .map_err(|e| Error::new(format!("the package of {} alone: {e}", package.name)))?;
    }
    Ok(())
}

/// The `.crate` files `cargo package` wrote, sorted.
fn crate_archives(packages: &Path) -> Result<Vec<PathBuf>> {
    let mut archives: Vec<PathBuf> = fs::read_dir(packages)
        .context(|| format!("cannot list {}", packages.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "crate"))
        .collect();
    archives.sort();
    Ok(archives)
}

/// A package unpacked into the check workspace.
struct Unpacked {
    /// The crate's name.
    name: String,
    /// Its directory, relative to the check workspace (`<name>-<version>`).
    dir: String,
}

impl Unpacked {
    fn read(check: &Path, dir: String) -> Result<Self> {
        let path = check.join(&dir).join("Cargo.toml");
        let text =
            fs::read_to_string(&path).context(|| format!("cannot read {}", path.display()))?;
        let name = crate::manifest::value(&text, "package", "name")
            .ok_or_else(|| Error::new(format!("{}: no package name", path.display())))?;
        Ok(Self { name, dir })
    }
}

/// The manifest of the check workspace: the unpacked packages as members, each one's
/// dependencies on the others patched to their unpacked sources, and this workspace's
/// profiles (so that what `cargo xtask features` compiled is reused).
fn check_workspace(packages: &[Unpacked], root_manifest: &str) -> String {
    let mut manifest = String::from(
        "# Written by `cargo xtask ci`: the published packages, each checked alone.\n\
         [workspace]\nresolver = \"2\"\nmembers = [\n",
    );
    for package in packages {
        manifest.push_str(&format!("  \"{}\",\n", package.dir));
    }
    manifest.push_str("]\n\n[patch.crates-io]\n");
    for package in packages {
        manifest.push_str(&format!(
            "{} = {{ path = \"{}\" }}\n",
            package.name, package.dir
        ));
    }
    for table in profile_tables(root_manifest) {
        manifest.push('\n');
        manifest.push_str(&table);
    }
    manifest
}

/// The text of every `[profile...]` table of a manifest, each from its header to the next table.
fn profile_tables(manifest: &str) -> Vec<String> {
    let mut tables = Vec::new();
    let mut current: Option<String> = None;
    for line in manifest.lines() {
        if line.trim_start().starts_with('[') {
            tables.extend(current.take());
            if line.trim_start().starts_with("[profile") {
                current = Some(String::new());
            }
        }
        if let Some(table) = current.as_mut() {
            table.push_str(line);
            table.push('\n');
        }
    }
    tables.extend(current);
    tables
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_check_workspace_patches_every_package_and_keeps_the_profiles() {
        let root = "[workspace]\nmembers = [\"crates/*\"]\n\n[profile.dev]\ndebug = \"line-tables-only\"\n\n\
                    [workspace.lints.rust]\nunsafe_code = \"forbid\"\n\n[profile.dev.package.\"*\"]\ndebug = false\n";
        let packages = [
            Unpacked {
                name: "kinesis-client".into(),
                dir: "kinesis-client-0.1.0".into(),
            },
            Unpacked {
                name: "kinesis-lease".into(),
                dir: "kinesis-lease-0.1.0".into(),
            },
        ];
        let manifest = check_workspace(&packages, root);
        assert!(
            manifest.contains(
                "members = [\n  \"kinesis-client-0.1.0\",\n  \"kinesis-lease-0.1.0\",\n]"
            )
        );
        assert!(manifest.contains("kinesis-lease = { path = \"kinesis-lease-0.1.0\" }\n"));
        assert!(manifest.contains("[profile.dev]\ndebug = \"line-tables-only\"\n"));
        assert!(manifest.contains("[profile.dev.package.\"*\"]\ndebug = false\n"));
        assert!(!manifest.contains("unsafe_code"), "{manifest}");
    }
}
