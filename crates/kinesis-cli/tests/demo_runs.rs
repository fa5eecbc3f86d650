//! The README's first command: the demo runs to the end and reports every record read back.

use std::process::Command;

#[test]
fn the_demo_writes_and_reads_back_every_record() {
    let out = Command::new(env!("CARGO_BIN_EXE_kinesis"))
        // The environment is inherited: embedded emulators by default, the external ones when
        // the endpoint variables are set.
        .args(["demo", "--records", "50", "--shards", "3"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("Created stream"), "{stdout}");
    assert!(stdout.contains("Wrote 50 records"), "{stdout}");
    assert!(
        stdout.contains("Read 50 records back from 3 shards"),
        "{stdout}"
    );
}

#[test]
fn bad_arguments_exit_with_usage() {
    let out = Command::new(env!("CARGO_BIN_EXE_kinesis"))
        .args(["demo", "--records", "zero"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("USAGE"));
}
