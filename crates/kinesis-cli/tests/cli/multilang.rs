//! `kinesis multilang`: the properties file's errors and ignored keys, before anything runs.
//! (Real processors run under the daemon in the interop tier.)

use kinesis_testkit::TestEnv;

use crate::support::{file, run};

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_properties_file_is_refused_naming_the_key_and_line() {
    let env = TestEnv::start().await;
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("none.properties");
    run(&env, &["multilang", "-p", &missing.to_string_lossy()]).fails(1, "cannot read");
    let no_exec = file(
        dir.path(),
        "a.properties",
        "streamName = s\napplicationName = a\n",
    );
    run(&env, &["multilang", "-p", &no_exec]).fails(2, "no executableName");
    let bad = file(
        dir.path(),
        "b.properties",
        "executableName = true\nstreamName = s\napplicationName = a\nmaxRecords = lots\n",
    );
    run(&env, &["multilang", "-p", &bad]).fails(2, "line 4: maxRecords must be 1 to 10000");
    let no_program = file(
        dir.path(),
        "c.properties",
        "executableName = no-such-processor --flag\nstreamName = s\napplicationName = a\n",
    );
    run(&env, &["multilang", "-p", &no_program]).fails(
        2,
        "executableName: the program \"no-such-processor\" does not exist in PATH or is not executable",
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn ignored_keys_are_reported_and_a_missing_stream_stops_the_daemon() {
    let env = TestEnv::start().await;
    let dir = tempfile::tempdir().unwrap();
    let stream = env.unique_name("ml-missing");
    let props = file(
        dir.path(),
        "app.properties",
        &format!(
            "executableName = true\nstreamName = {stream}\napplicationName = ml-cli\nmetricsLevel = NONE\nprocessingLanguage = python/3.11\n"
        ),
    );
    let out = run(&env, &["multilang", "-p", &props]);
    out.fails(3, &stream);
    assert!(
        out.stderr
            .contains("ignored line 4: metricsLevel: metrics are not published by this daemon"),
        "{out:#?}"
    );
    assert!(
        !out.stderr.contains("processingLanguage"),
        "accepted: {out:#?}"
    );
}
