//! The README's first command: the demo runs to the end, two workers share the shards, one takes
//! over from the other, and every record is read.

use crate::support::kinesis;

#[test]
fn two_workers_read_every_record_and_one_takes_over_from_the_other() {
    // The caller's endpoint variables are kept: embedded emulators by default, the external
    // ones when they are set.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kinesis"))
        .args(["demo", "--records", "60", "--shards", "3"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("Created stream"), "{stdout}");
    assert!(stdout.contains("worker-2 took over its"), "{stdout}");
    assert!(stdout.contains("  worker-1: "), "{stdout}");
    assert!(stdout.contains("  worker-2: "), "{stdout}");
    assert!(stdout.contains("60 of 60 records read"), "{stdout}");
    assert!(stdout.contains(", 0 lost"), "{stdout}");
}

#[test]
fn bad_arguments_exit_with_usage() {
    let out = kinesis().args(["demo", "--records", "1"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--records"));
}
