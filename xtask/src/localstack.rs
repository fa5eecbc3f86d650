//! LocalStack through `docker/docker-compose.yml`, for users with Docker: `cargo xtask
//! localstack up|down`, and the `localstack` test tier (`cargo xtask test --tier localstack`),
//! which starts it, runs the external-tier suites against it and stops it.

use std::process::{Command, Stdio};

use crate::util::{self, Error, Result};

const USAGE: &str = "\
usage: cargo xtask localstack <up|down>

Starts or stops LocalStack (Kinesis, DynamoDB, CloudWatch on 127.0.0.1:4566) with docker/docker-compose.yml.
Needs a running Docker engine; without one, `cargo xtask emulators up` gives the same coverage.
";

/// Exit code when no Docker engine is reachable.
const NO_DOCKER: i32 = 2;

/// Where the compose file publishes LocalStack.
const ENDPOINT: &str = "http://127.0.0.1:4566";

/// Entry point of `cargo xtask localstack ...`.
pub(crate) fn main(args: &[String]) -> Result<()> {
    match args {
        [a] if a == "up" => {
            up()?;
            println!("LocalStack is up on {ENDPOINT} (Kinesis, DynamoDB, CloudWatch):");
            for (name, value) in exports() {
                println!("export {name}={value}");
            }
            Ok(())
        }
        [a] if a == "down" => down(),
        [a] if matches!(a.as_str(), "help" | "-h" | "--help") => {
            print!("{USAGE}");
            Ok(())
        }
        _ => Err(Error::with_code(
            format!("unexpected arguments {args:?}\n\n{USAGE}"),
            2,
        )),
    }
}

/// Starts LocalStack and waits until its health check passes (`docker compose up -d --wait`).
/// Fails at once, with the reason, when no Docker engine or compose is available.
pub(crate) fn up() -> Result<()> {
    util::run(compose()?.args(["up", "-d", "--wait"]))
}

/// Stops and removes LocalStack's container.
pub(crate) fn down() -> Result<()> {
    util::run(compose()?.args(["down", "--remove-orphans"]))
}

/// The variables that point the SDKs and the test kit at LocalStack.
pub(crate) fn exports() -> Vec<(&'static str, String)> {
    let mut vars: Vec<(&'static str, String)> = vec![
        ("AWS_ENDPOINT_URL_KINESIS", ENDPOINT.into()),
        ("AWS_ENDPOINT_URL_DYNAMODB", ENDPOINT.into()),
        ("AWS_ENDPOINT_URL_CLOUDWATCH", ENDPOINT.into()),
    ];
    for service in [
        "KINESIS_TESTKIT_KINESIS_BACKEND",
        "KINESIS_TESTKIT_DYNAMODB_BACKEND",
        "KINESIS_TESTKIT_CLOUDWATCH_BACKEND",
    ] {
        vars.push((service, "localstack".into()));
    }
    vars.extend([
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_DEFAULT_REGION", "us-east-1".into()),
        ("AWS_ACCESS_KEY_ID", "test".into()),
        ("AWS_SECRET_ACCESS_KEY", "test".into()),
        ("AWS_EC2_METADATA_DISABLED", "true".into()),
    ]);
    vars
}

/// Stops LocalStack when dropped, so a failing or panicking test run leaves no container.
pub(crate) struct Guard {
    running: bool,
}

impl Guard {
    /// Starts LocalStack; the guard stops it.
    pub(crate) fn up() -> Result<Self> {
        // Whatever `up` got to before it failed is removed too.
        let mut guard = Self { running: true };
        match up() {
            Ok(()) => Ok(guard),
            Err(e) => {
                let _ = guard.stop();
                Err(e)
            }
        }
    }

    /// Stops LocalStack now (idempotent).
    pub(crate) fn stop(&mut self) -> Result<()> {
        if !std::mem::take(&mut self.running) {
            return Ok(());
        }
        down()
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Err(e) = self.stop() {
            eprintln!("could not stop LocalStack: {e}");
        }
    }
}

/// `docker compose -f docker/docker-compose.yml` (or `docker-compose`), after checking that a
/// Docker engine answers.
fn compose() -> Result<Command> {
    if !quiet("docker", &["info"]) {
        return Err(Error::with_code(
            "no Docker engine is available (`docker info` failed), so LocalStack cannot run here.\n\
             `cargo xtask emulators up` (or `cargo xtask test --tier external`) starts kinesis-local \
             (LocalStack's own Kinesis engine) and moto (DynamoDB, CloudWatch) on 127.0.0.1 without \
             Docker and gives the same test coverage.",
            NO_DOCKER,
        ));
    }
    let compose_file = util::workspace_root().join("docker/docker-compose.yml");
    let mut cmd = if quiet("docker", &["compose", "version"]) {
        let mut c = Command::new("docker");
        c.arg("compose");
        c
    } else if quiet("docker-compose", &["version"]) {
        Command::new("docker-compose")
    } else {
        return Err(Error::with_code(
            "a Docker engine is running but neither `docker compose` nor `docker-compose` is installed",
            NO_DOCKER,
        ));
    };
    cmd.arg("-f").arg(compose_file);
    Ok(cmd)
}

fn quiet(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}
