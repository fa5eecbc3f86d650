//! The command line itself: help for every command, version, completions, usage errors.

use crate::support::kinesis;

const COMMANDS: &[&[&str]] = &[
    &[],
    &["local"],
    &["stream"],
    &["stream", "list"],
    &["stream", "create"],
    &["stream", "describe"],
    &["stream", "delete"],
    &["stream", "reshard"],
    &["stream", "reshard", "split"],
    &["stream", "reshard", "merge"],
    &["stream", "reshard", "scale"],
    &["stream", "retention"],
    &["stream", "consumers"],
    &["put"],
    &["tail"],
    &["leases"],
    &["leases", "list"],
    &["leases", "show"],
    &["leases", "reset"],
    &["leases", "rewind"],
    &["leases", "release"],
    &["leases", "transfer"],
    &["leases", "delete"],
    &["multilang"],
    &["demo"],
    &["completions"],
];

#[test]
fn every_command_has_help() {
    for command in COMMANDS {
        let out = kinesis().args(*command).arg("--help").output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{command:?}: {out:?}");
        assert!(stdout.contains("Usage: kinesis"), "{command:?}: {stdout}");
    }
}

#[test]
fn version_and_completions() {
    let out = kinesis().arg("--version").output().unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("kinesis {}", env!("CARGO_PKG_VERSION"))
    );
    for shell in ["bash", "zsh", "fish"] {
        let out = kinesis().args(["completions", shell]).output().unwrap();
        assert!(out.status.success(), "{shell}: {out:?}");
        let script = String::from_utf8_lossy(&out.stdout);
        assert!(script.contains("kinesis"), "{shell}");
        assert!(
            script.contains("rewind"),
            "{shell}: the subcommands are completed"
        );
    }
}

#[test]
fn usage_errors_exit_2_with_a_clear_line() {
    for (args, needle) in [
        (&["frobnicate"][..], "unrecognized subcommand"),
        (&["tail"][..], "<STREAM>"),
        (
            &["leases", "reset", "--app", "a"][..],
            "--lease <LEASE_KEY>",
        ),
        (&["put", "s", "--count", "3"][..], "--generate"),
        (&["demo", "--records", "zero"][..], "invalid value"),
        (
            &["-o", "yaml", "stream", "list"][..],
            "invalid value 'yaml'",
        ),
    ] {
        let out = kinesis().args(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains(needle),
            "{args:?}: {needle:?} not in {stderr}"
        );
    }
}
