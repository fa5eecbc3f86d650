//! Just enough TOML to read the workspace's and the registry's `Cargo.toml` files: the keys of a
//! table and the string value of one key, and where the workspace members' manifests are. The
//! xtask stays standard-library only.

use std::fs;
use std::path::{Path, PathBuf};

use crate::util::{Context, Result};

/// The manifests of the workspace's members (`crates/*`, `interop/*`, `xtask`), sorted.
pub(crate) fn member_manifests(root: &Path) -> Result<Vec<PathBuf>> {
    let mut manifests = vec![root.join("xtask/Cargo.toml")];
    for dir in ["crates", "interop"] {
        let entries = fs::read_dir(root.join(dir)).context(|| format!("cannot list {dir}"))?;
        manifests.extend(
            entries
                .filter_map(|e| e.ok())
                .map(|e| e.path().join("Cargo.toml"))
                .filter(|p| p.is_file()),
        );
    }
    manifests.sort();
    Ok(manifests)
}

/// The keys of the table `[name]`, in order (`bytes.workspace = true` is the key `bytes`).
/// Indented lines (the items of a multi-line array) and comments are not keys.
pub(crate) fn keys(manifest: &str, table: &str) -> Vec<String> {
    entries(manifest, table).map(|(key, _)| key).collect()
}

/// The string value of `key` in the table `[name]`.
pub(crate) fn value(manifest: &str, table: &str, key: &str) -> Option<String> {
    entries(manifest, table)
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.trim().trim_matches('"').to_string())
}

/// (key, raw value) of each line `key = value` or `key.x = value` directly in `[table]`.
fn entries<'a>(manifest: &'a str, table: &'a str) -> impl Iterator<Item = (String, &'a str)> {
    let mut in_table = false;
    manifest.lines().filter_map(move |line| {
        if let Some(header) = line.trim().strip_prefix('[') {
            in_table = header.trim_end_matches(']') == table;
            return None;
        }
        if !in_table || line.starts_with(char::is_whitespace) || line.starts_with('#') {
            return None;
        }
        let (left, value) = line.split_once('=')?;
        let key = left.split('.').next()?.trim().trim_matches('"');
        (!key.is_empty()).then(|| (key.to_string(), value))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANIFEST: &str = r#"
[package]
name = "kinesis-client"
license = "MIT OR Apache-2.0"
version.workspace = true

[features]
default = ["sdk"]
## The SDK.
sdk = [
  "dep:aws-config",
]
cloudwatch = ["sdk"]

[dependencies]
bytes.workspace = true
"md-5" = "0.10"
# a comment = no key
tokio = { workspace = true }

[dev-dependencies]
proptest = "1"
"#;

    #[test]
    fn reads_keys_and_values() {
        assert_eq!(keys(MANIFEST, "features"), ["default", "sdk", "cloudwatch"]);
        assert_eq!(keys(MANIFEST, "dependencies"), ["bytes", "md-5", "tokio"]);
        assert_eq!(
            value(MANIFEST, "package", "name").as_deref(),
            Some("kinesis-client")
        );
        assert_eq!(
            value(MANIFEST, "package", "license").as_deref(),
            Some("MIT OR Apache-2.0")
        );
        assert_eq!(value(MANIFEST, "lib", "name"), None);
    }
}
