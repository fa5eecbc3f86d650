//! `cargo xtask localstack up|down`: LocalStack through `docker/docker-compose.yml`, for users with Docker.

use std::process::{Command, Stdio};

use crate::util::{self, Error, Result};

const USAGE: &str = "\
usage: cargo xtask localstack <up|down>

Starts or stops LocalStack (Kinesis, DynamoDB, CloudWatch on 127.0.0.1:4566) with docker/docker-compose.yml.
Needs a running Docker engine; without one, `cargo xtask emulators up` gives the same coverage.
";

/// Exit code when no Docker engine is reachable.
const NO_DOCKER: i32 = 2;

/// Entry point of `cargo xtask localstack ...`.
pub(crate) fn main(args: &[String]) -> Result<()> {
    let action = match args {
        [a] if a == "up" => ["up", "-d", "--wait"].as_slice(),
        [a] if a == "down" => ["down", "--remove-orphans"].as_slice(),
        [a] if matches!(a.as_str(), "help" | "-h" | "--help") => {
            print!("{USAGE}");
            return Ok(());
        }
        _ => {
            return Err(Error::with_code(
                format!("unexpected arguments {args:?}\n\n{USAGE}"),
                2,
            ));
        }
    };
    let engine = quiet("docker", &["info"]);
    if !engine {
        return Err(Error::with_code(
            "no Docker engine is available (`docker info` failed), so LocalStack cannot run here.\n\
             `cargo xtask emulators up` starts kinesis-local (LocalStack's own Kinesis engine) and moto \
             (DynamoDB, CloudWatch) on 127.0.0.1 without Docker and gives the same test coverage.",
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
    cmd.arg("-f").arg(&compose_file).args(action);
    util::run(&mut cmd)?;
    if args[0] == "up" {
        println!("LocalStack is up on http://127.0.0.1:4566 (Kinesis, DynamoDB, CloudWatch):");
        for service in ["KINESIS", "DYNAMODB", "CLOUDWATCH"] {
            println!("export AWS_ENDPOINT_URL_{service}=http://127.0.0.1:4566");
        }
        println!("export AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test");
        println!("export AWS_EC2_METADATA_DISABLED=true");
    }
    Ok(())
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
