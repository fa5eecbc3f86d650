//! `kinesis-chaos`: consumer workers and producers as real processes on one stream and one
//! lease table, through fault proxies in front of the embedded Kinesis and DynamoDB, killed,
//! frozen past their failover time, restarted and resharded on a seeded schedule; then every
//! acknowledged record is accounted for. Run it with `cargo xtask chaos`.
//!
//! ```text
//! kinesis-chaos --bin PATH/kcl-fleet [--seconds 60] [--seed 1] [--out DIR] [--workers 3]
//!   [--producers 2] [--shards 4] [--rate 50] [--failover-millis 3000] [--protocol kcl2|kcl3]
//!   [--rss-bound-mib 256] [--java-workers 0] [--java-heap-mib 192] [--java-rss-bound-mib 512]
//!   [--kinesis embedded|external]
//! ```
//!
//! With `--java-workers J`, the last J workers run the Java KCL (its harness in
//! `interop/kcl-worker`, whose classpath `KCL_FLEET_KCL2_CLASSPATH` or
//! `KCL_FLEET_KCL3_CLASSPATH` gives), on the same lease table. With `--kinesis external`, the
//! proxy stands in front of the Kinesis `AWS_ENDPOINT_URL_KINESIS` names (kinesis-local: the
//! Java KCL ends a closed shard only on the `ChildShards` the embedded one does not give).
//!
//! It writes `report.json` (the findings, the events, the figures) and `run.svg` (lag per
//! shard and lease owners over time) to `--out` (default `target/chaos/seed-<seed>`), and exits
//! with status 1 when an invariant was violated, 2 when the run could not be made.

#![allow(
    clippy::disallowed_methods,
    reason = "the harness times real processes"
)]

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[tokio::main]
async fn main() -> ExitCode {
    let options = match options(std::env::args().skip(1).collect()) {
        Ok(options) => options,
        Err(e) => {
            eprintln!("kinesis-chaos: {e}");
            return ExitCode::from(2);
        }
    };
    let out = options.out.clone();
    match kinesis_chaos::run::run(options).await {
        Ok(report) => {
            let violations = report["findings"]["violations"]
                .as_u64()
                .unwrap_or(u64::MAX);
            println!("{}", report["summary"].as_str().unwrap_or_default());
            println!(
                "report: {}, picture: {}",
                out.join("report.json").display(),
                out.join("run.svg").display()
            );
            if violations == 0 {
                ExitCode::SUCCESS
            } else {
                println!(
                    "{violations} violations; replay with: {}",
                    report["replay"].as_str().unwrap_or_default()
                );
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("kinesis-chaos: the run could not be made: {e}");
            ExitCode::from(2)
        }
    }
}

fn options(args: Vec<String>) -> Result<kinesis_chaos::run::Options, String> {
    let mut map = HashMap::new();
    let mut it = args.into_iter();
    while let Some(flag) = it.next() {
        let name = flag
            .strip_prefix("--")
            .ok_or_else(|| format!("expected --name, got {flag:?}"))?
            .to_owned();
        let value = it.next().ok_or_else(|| format!("--{name} needs a value"))?;
        map.insert(name, value);
    }
    let number = |name: &str, default: u64| -> Result<u64, String> {
        map.get(name).map_or(Ok(default), |v| {
            v.parse()
                .map_err(|_| format!("--{name} takes a number, got {v:?}"))
        })
    };
    let seed = number("seed", 1)?;
    let protocol = map
        .get("protocol")
        .cloned()
        .unwrap_or_else(|| "kcl2".into());
    if protocol != "kcl2" && protocol != "kcl3" {
        return Err(format!("--protocol is kcl2 or kcl3, got {protocol:?}"));
    }
    let workers = usize::try_from(number("workers", 3)?.max(2)).unwrap_or(2);
    let java_workers = usize::try_from(number("java-workers", 0)?).unwrap_or(usize::MAX);
    if java_workers >= workers {
        return Err(format!(
            "--java-workers ({java_workers}) must leave at least one of the {workers} workers to Rust"
        ));
    }
    let java = if java_workers == 0 {
        None
    } else {
        // The harness of `interop/kcl-worker`, built by `cargo xtask chaos` on the KCL of the rules.
        let variable = if protocol == "kcl3" {
            "KCL_FLEET_KCL3_CLASSPATH"
        } else {
            "KCL_FLEET_KCL2_CLASSPATH"
        };
        let classpath = std::env::var(variable).map_err(|_| {
            format!(
                "--java-workers needs the Java KCL worker harness: {variable} is not set (`cargo xtask chaos` builds it and sets it)"
            )
        })?;
        Some(kinesis_chaos::run::JavaWorkers {
            count: java_workers,
            classpath,
            java: std::env::var("KCL_FLEET_JAVA").unwrap_or_else(|_| "java".into()),
            heap_mib: number("java-heap-mib", 192)?,
            rss_bound_mib: number("java-rss-bound-mib", 512)?,
        })
    };
    let producers = usize::try_from(number("producers", 2)?.max(1)).unwrap_or(1);
    Ok(kinesis_chaos::run::Options {
        seconds: number("seconds", 60)?,
        seed,
        out: map.get("out").map_or_else(
            || PathBuf::from(format!("target/chaos/seed-{seed}")),
            PathBuf::from,
        ),
        bin: PathBuf::from(
            map.get("bin")
                .ok_or("--bin (the kcl-fleet binary) is required")?,
        ),
        workers,
        producers,
        shards: u32::try_from(number("shards", 4)?.clamp(1, 8)).unwrap_or(4),
        rate: number("rate", 50)?.max(1),
        failover: Duration::from_millis(number("failover-millis", 3_000)?.max(300)),
        protocol,
        rss_bound_mib: number("rss-bound-mib", 256)?,
        java,
        external_kinesis: match map.get("kinesis").map(String::as_str) {
            None | Some("embedded") => false,
            Some("external") => true,
            Some(other) => {
                return Err(format!("--kinesis is embedded or external, got {other:?}"));
            }
        },
    })
}
