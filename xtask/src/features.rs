//! `cargo xtask features`: every combination of a crate's features that a user can pick builds
//! (`cargo check --lib` per combination, default features off), so that a feature gate that
//! forgets an import or leaves dead code is found before a user finds it.

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::manifest;
use crate::util::{self, Context, Error, Result};

/// A crate with features, and the features (without `default`).
#[derive(Debug, PartialEq, Eq)]
struct Crate {
    name: String,
    features: Vec<String>,
}

/// Entry point of `cargo xtask features` (also a step of `ci`).
pub(crate) fn run() -> Result<()> {
    let crates = workspace_crates(&util::workspace_root())?;
    for krate in &crates {
        for combination in powerset(&krate.features) {
            let mut cmd = util::cargo();
            cmd.args(["check", "--quiet", "--lib", "-p", &krate.name]);
            cmd.arg("--no-default-features");
            if !combination.is_empty() {
                cmd.args(["--features", &combination.join(",")]);
            }
            check_without_warnings(&mut cmd)?;
        }
    }
    Ok(())
}

/// Runs a `cargo check`; its warnings (only the workspace's own: cargo caps dependencies'
/// lints) fail it as `-D warnings` would, without changing the flags every artifact is built
/// with.
fn check_without_warnings(cmd: &mut Command) -> Result<()> {
    eprintln!("$ {}", util::display_command(cmd));
    let out = cmd
        .stderr(Stdio::piped())
        .output()
        .context(|| format!("cannot run `{}`", util::display_command(cmd)))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprint!("{stderr}");
    if !out.status.success() {
        return Err(Error::new(format!(
            "`{}` failed ({})",
            util::display_command(cmd),
            out.status
        )));
    }
    if stderr.lines().any(|l| l.starts_with("warning:")) {
        return Err(Error::new(format!(
            "`{}` reported warnings",
            util::display_command(cmd)
        )));
    }
    Ok(())
}

/// The workspace members that declare features.
fn workspace_crates(root: &Path) -> Result<Vec<Crate>> {
    let mut out = Vec::new();
    for path in manifest::member_manifests(root)? {
        let text =
            fs::read_to_string(&path).context(|| format!("cannot read {}", path.display()))?;
        if let Some(krate) = parse_manifest(&text)
            && !krate.features.is_empty()
        {
            out.push(krate);
        }
    }
    Ok(out)
}

/// The package name and the feature names (without `default`) of a manifest.
fn parse_manifest(text: &str) -> Option<Crate> {
    Some(Crate {
        name: manifest::value(text, "package", "name")?,
        features: manifest::keys(text, "features")
            .into_iter()
            .filter(|f| f != "default")
            .collect(),
    })
}

/// Every subset of `features`, the empty one first.
fn powerset(features: &[String]) -> Vec<Vec<String>> {
    let n = features.len().min(10);
    (0u32..(1 << n))
        .map(|mask| {
            (0..n)
                .filter(|i| mask & (1 << i) != 0)
                .map(|i| features[i].clone())
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_names_and_features() {
        let text = r#"
[package]
name = "kinesis-client"
version.workspace = true

[features]
default = ["sdk"]
## The SDK.
sdk = [
  "dep:aws-config",
]
cloudwatch = ["sdk", "dep:aws-sdk-cloudwatch"]

[dependencies]
name = "not this one"
"#;
        assert_eq!(
            parse_manifest(text),
            Some(Crate {
                name: "kinesis-client".into(),
                features: vec!["sdk".into(), "cloudwatch".into()],
            })
        );
    }

    #[test]
    fn every_subset_once() {
        let f: Vec<String> = vec!["a".into(), "b".into()];
        assert_eq!(
            powerset(&f),
            vec![
                vec![],
                vec!["a".to_string()],
                vec!["b".to_string()],
                vec!["a".to_string(), "b".to_string()]
            ]
        );
    }
}
