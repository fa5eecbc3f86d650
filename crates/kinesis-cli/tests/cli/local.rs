//! `kinesis local` in the background, used by other processes through the variables it
//! prints, stopped by SIGTERM, and started again on the same data directory.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::kinesis;

/// The background server; killed if the test ends early.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(data: &Path, env_file: &Path) -> Server {
    let child = kinesis()
        .args([
            "local",
            "--kinesis-port",
            "0",
            "--dynamodb-port",
            "0",
            "--cloudwatch-port",
            "0",
        ])
        .arg("--data-dir")
        .arg(data)
        .arg("--env-file")
        .arg(env_file)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let server = Server(child);
    let deadline = Instant::now() + Duration::from_secs(30);
    while !env_file.exists() {
        assert!(
            Instant::now() < deadline,
            "kinesis local wrote no env file in 30 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    server
}

/// `kinesis <line>` with the variables of the env file, as `source FILE` would set them;
/// asserts exit 0 and returns stdout.
fn client(env_file: &Path, line: &str) -> String {
    let mut command: Command = kinesis();
    let text = std::fs::read_to_string(env_file).unwrap();
    for line in text.lines() {
        let (name, value) = line.trim_start_matches("export ").split_once('=').unwrap();
        command.env(name, value);
    }
    let out = command.args(line.split_whitespace()).output().unwrap();
    assert!(out.status.success(), "kinesis {line}: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

fn stop(mut server: Server) {
    let pid = server.0.id().to_string();
    let status = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = server.0.try_wait().unwrap() {
            assert!(
                status.success(),
                "kinesis local exits 0 on SIGTERM: {status}"
            );
            return;
        }
        assert!(
            Instant::now() < deadline,
            "kinesis local did not stop within 20 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_second_process_uses_the_local_servers_and_the_data_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let env_file = dir.path().join("local.env");

    let server = start(&data, &env_file);
    let text = std::fs::read_to_string(&env_file).unwrap();
    for name in [
        "AWS_ENDPOINT_URL_KINESIS",
        "AWS_ENDPOINT_URL_DYNAMODB",
        "AWS_ENDPOINT_URL_CLOUDWATCH",
        "AWS_REGION",
    ] {
        assert!(text.contains(&format!("export {name}=")), "{text}");
    }
    assert!(text.contains("http://127.0.0.1:"), "{text}");

    client(&env_file, "stream create local-orders --shards 2");
    client(&env_file, "put local-orders -k k one two three");
    let read = client(
        &env_file,
        "tail local-orders --from trim-horizon --app local-app --raw -n 3 --timeout 60s",
    );
    assert_eq!(read, "one\ntwo\nthree\n");
    stop(server);
    assert!(!env_file.exists(), "the env file is removed on exit");

    // Started again on the same directory: the stream, its records and the lease table are
    // there.
    let server = start(&data, &env_file);
    let listed = client(&env_file, "stream list");
    assert!(listed.contains("local-orders"), "{listed}");
    let read = client(
        &env_file,
        "tail local-orders --from trim-horizon --raw -n 3 --timeout 60s",
    );
    assert_eq!(read, "one\ntwo\nthree\n");
    let leases = client(&env_file, "leases list --app local-app");
    assert!(leases.contains("shardId-000000000000"), "{leases}");
    stop(server);
}

#[test]
fn a_port_in_use_is_a_clear_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let out = kinesis()
        .args([
            "local",
            "--kinesis-port",
            &port,
            "--dynamodb-port",
            "0",
            "--cloudwatch-port",
            "0",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("cannot listen on 127.0.0.1:{port}")),
        "{stderr}"
    );
}
