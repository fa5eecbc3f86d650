//! `cargo xtask deps`: the dependency checks that work offline, without installing a tool.
//!
//! - **Unused dependencies**: a `[dependencies]` entry of a workspace crate whose name (with `_`
//!   for `-`) its sources never mention.
//! - **Licenses**: every package in `Cargo.lock` whose sources cargo downloaded has a license
//!   expression that [`ALLOWED_LICENSES`] satisfies (read from its own `Cargo.toml` in the cargo
//!   registry).
//! - **Duplicate versions**: a package in `Cargo.lock` at two versions fails unless it is one of
//!   [`KNOWN_DUPLICATES`], which upstream crates pull in at different versions.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use crate::manifest;
use crate::util::{self, Context, Error, Result};

/// The licenses a dependency may be under (SPDX identifiers).
const ALLOWED_LICENSES: &[&str] = &[
    "Apache-2.0",
    "Apache-2.0 WITH LLVM-exception",
    "MIT",
    "MIT-0",
    "BSD-2-Clause",
    "BSD-3-Clause",
    "ISC",
    "OpenSSL",
    "Unicode-3.0",
    "Unicode-DFS-2016",
    "Zlib",
    "CC0-1.0",
    "0BSD",
    "BSL-1.0",
    "MPL-2.0",
    "Unlicense",
    "BlueOak-1.0.0",
];

/// Packages that the AWS SDK, rustls and the emulators pull in at two versions; a new duplicate
/// fails the check until it is looked at.
const KNOWN_DUPLICATES: &[&str] = &[
    "aws-smithy-eventstream",
    "base64",
    "block-buffer",
    "cpufeatures",
    "crypto-common",
    "digest",
    "embedded-io",
    // hashbrown's hasher: 0.15 (the DynamoDB emulator's rusqlite) and 0.16 (metrics-util, a
    // test-only dependency of kinesis-metrics).
    "foldhash",
    "getrandom",
    "hashbrown",
    "http",
    "http-body",
    "r-efi",
    "rand",
    "rand_core",
    "syn",
    "windows-sys",
];

/// Entry point of `cargo xtask deps` (also a step of `ci`).
pub(crate) fn run() -> Result<()> {
    let root = util::workspace_root();
    let mut problems = Vec::new();
    problems.extend(unused_dependencies(&root)?);
    let lock =
        fs::read_to_string(root.join("Cargo.lock")).context(|| "cannot read Cargo.lock".into())?;
    let packages = parse_lock(&lock);
    problems.extend(duplicates(&packages));
    let (license_problems, checked, absent) = licenses(&packages);
    problems.extend(license_problems);
    eprintln!(
        "deps: {} packages in Cargo.lock, {checked} licenses checked ({absent} packages not downloaded on this platform)",
        packages.len()
    );
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::new(format!(
            "deps: {} problem(s):\n  {}",
            problems.len(),
            problems.join("\n  ")
        )))
    }
}

/// `[dependencies]` entries that no source file of their crate names.
fn unused_dependencies(root: &Path) -> Result<Vec<String>> {
    let registries = registry_source_dirs();
    let mut problems = Vec::new();
    let manifests = manifest::member_manifests(root)?;
    for manifest in manifests {
        let text = fs::read_to_string(&manifest)
            .context(|| format!("cannot read {}", manifest.display()))?;
        let dir = manifest.parent().unwrap_or(root);
        let mut sources = String::new();
        for sub in ["src", "benches", "tests", "examples"] {
            read_rust_files(&dir.join(sub), &mut sources);
        }
        for dep in manifest::keys(&text, "dependencies") {
            let ident = lib_name(&registries, &dep).unwrap_or_else(|| dep.replace('-', "_"));
            if !mentions(&sources, &ident) {
                problems.push(format!(
                    "{}: dependency `{dep}` is not used by its sources",
                    manifest.strip_prefix(root).unwrap_or(&manifest).display()
                ));
            }
        }
    }
    Ok(problems)
}

/// The library name of a registry package that sets its own (`rustls-webpki` is `webpki`),
/// from any downloaded version's manifest.
fn lib_name(registries: &[PathBuf], package: &str) -> Option<String> {
    for registry in registries {
        let Ok(entries) = fs::read_dir(registry) else {
            continue;
        };
        for entry in entries.filter_map(|e| e.ok()) {
            let dir = entry.file_name().to_string_lossy().into_owned();
            let is_version = dir
                .strip_prefix(package)
                .and_then(|rest| rest.strip_prefix('-'))
                .is_some_and(|v| v.starts_with(|c: char| c.is_ascii_digit()));
            if !is_version {
                continue;
            }
            let text = fs::read_to_string(entry.path().join("Cargo.toml")).ok()?;
            return Some(
                manifest::value(&text, "lib", "name").unwrap_or_else(|| package.replace('-', "_")),
            );
        }
    }
    None
}

/// Whether `sources` name the crate `ident` as a path (`ident::`) or in a `use`/`extern crate`.
fn mentions(sources: &str, ident: &str) -> bool {
    sources.match_indices(ident).any(|(i, _)| {
        let before = sources[..i].chars().next_back();
        let after = &sources[i + ident.len()..];
        let starts_word = !before.is_some_and(|c| c.is_alphanumeric() || c == '_');
        starts_word
            && (after.starts_with("::")
                || after.starts_with(';')
                || after.starts_with(" as ")
                || after.starts_with('}'))
    })
}

fn read_rust_files(dir: &Path, out: &mut String) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.filter_map(|e| e.ok()) {
        let path = entry.path();
        if path.is_dir() {
            read_rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs")
            && let Ok(text) = fs::read_to_string(&path)
        {
            out.push_str(&text);
            out.push('\n');
        }
    }
}

/// (name, version) of every `[[package]]` of a lock file.
fn parse_lock(lock: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut name = None;
    for line in lock.lines() {
        if line == "[[package]]" {
            name = None;
        } else if let Some(v) = line.strip_prefix("name = ") {
            name = Some(v.trim_matches('"').to_string());
        } else if let Some(v) = line.strip_prefix("version = ")
            && let Some(n) = name.take()
        {
            out.push((n, v.trim_matches('"').to_string()));
        }
    }
    out
}

fn duplicates(packages: &[(String, String)]) -> Vec<String> {
    let mut versions: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (n, v) in packages {
        versions.entry(n).or_default().insert(v);
    }
    versions
        .into_iter()
        .filter(|(n, v)| v.len() > 1 && !KNOWN_DUPLICATES.contains(n))
        .map(|(n, v)| {
            format!(
                "`{n}` is in Cargo.lock at {} versions ({}): align them, or add it to KNOWN_DUPLICATES with the reason",
                v.len(),
                v.into_iter().collect::<Vec<_>>().join(", ")
            )
        })
        .collect()
}

/// Checks the license of every downloaded registry package; returns the problems, how many
/// were checked and how many were not downloaded.
fn licenses(packages: &[(String, String)]) -> (Vec<String>, usize, usize) {
    let registries = registry_source_dirs();
    let (mut problems, mut checked, mut absent) = (Vec::new(), 0, 0);
    for (name, version) in packages {
        // Path packages (the workspace's own) and packages for other platforms are not there.
        let Some(manifest) = registries
            .iter()
            .map(|r| r.join(format!("{name}-{version}/Cargo.toml")))
            .find(|p| p.is_file())
        else {
            absent += 1;
            continue;
        };
        let text = fs::read_to_string(&manifest).unwrap_or_default();
        checked += 1;
        match manifest::value(&text, "package", "license") {
            Some(expr) if license_allowed(&expr) => {}
            Some(expr) => {
                problems.push(format!("{name} {version}: license `{expr}` is not allowed"))
            }
            None => problems.push(format!("{name} {version}: no license expression")),
        }
    }
    (problems, checked, absent)
}

fn registry_source_dirs() -> Vec<PathBuf> {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")));
    let Some(src) = home.map(|h| h.join("registry/src")) else {
        return Vec::new();
    };
    fs::read_dir(src)
        .map(|entries| entries.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default()
}

/// Whether an SPDX expression (`A OR B`, `A AND (B OR C)`, `A/B` the old way) is satisfied by
/// [`ALLOWED_LICENSES`].
fn license_allowed(expr: &str) -> bool {
    let spaced = expr
        .replace('(', " ( ")
        .replace(')', " ) ")
        .replace('/', " OR ");
    let tokens: Vec<&str> = spaced.split_whitespace().collect();
    let mut pos = 0;
    let ok = parse_or(&tokens, &mut pos);
    ok && pos == tokens.len()
}

fn parse_or(t: &[&str], pos: &mut usize) -> bool {
    let mut ok = parse_and(t, pos);
    while t.get(*pos) == Some(&"OR") {
        *pos += 1;
        ok |= parse_and(t, pos);
    }
    ok
}

fn parse_and(t: &[&str], pos: &mut usize) -> bool {
    let mut ok = parse_atom(t, pos);
    while t.get(*pos) == Some(&"AND") {
        *pos += 1;
        ok &= parse_atom(t, pos);
    }
    ok
}

fn parse_atom(t: &[&str], pos: &mut usize) -> bool {
    match t.get(*pos) {
        Some(&"(") => {
            *pos += 1;
            let ok = parse_or(t, pos);
            if t.get(*pos) == Some(&")") {
                *pos += 1;
                ok
            } else {
                false
            }
        }
        Some(id) => {
            *pos += 1;
            let mut license = id.to_string();
            if t.get(*pos) == Some(&"WITH") {
                license = format!("{license} WITH {}", t.get(*pos + 1).unwrap_or(&""));
                *pos += 2;
            }
            ALLOWED_LICENSES.contains(&license.as_str())
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn license_expressions() {
        assert!(license_allowed("MIT OR Apache-2.0"));
        assert!(license_allowed("MIT/Apache-2.0"));
        assert!(license_allowed("(MIT OR Apache-2.0) AND Unicode-3.0"));
        assert!(license_allowed("Apache-2.0 WITH LLVM-exception"));
        assert!(license_allowed("ISC AND (Apache-2.0 OR ISC) AND OpenSSL"));
        assert!(!license_allowed("GPL-3.0"));
        assert!(!license_allowed("MIT AND GPL-3.0"));
        assert!(license_allowed("MIT OR GPL-3.0"));
        assert!(!license_allowed("(MIT"));
    }

    #[test]
    fn reads_lock_packages_and_finds_duplicates() {
        let lock = "[[package]]\nname = \"a\"\nversion = \"1.0.0\"\n\n[[package]]\nname = \"a\"\nversion = \"2.0.0\"\ndependencies = [\n \"b\",\n]\n";
        let p = parse_lock(lock);
        assert_eq!(p.len(), 2);
        assert_eq!(duplicates(&p).len(), 1);
    }

    #[test]
    fn a_crate_is_mentioned_only_as_a_path_or_import() {
        assert!(mentions("use tokio::sync;", "tokio"));
        assert!(mentions("x = bytes::Bytes::new()", "bytes"));
        assert!(!mentions("let my_tokio_thing = 1;", "tokio"));
        assert!(!mentions("// tokio runtime", "tokio"));
    }
}
