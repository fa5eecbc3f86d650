//! `instant-kinesis`: the test kit's instant Kinesis server as a process of its own, for
//! benchmarks that run clients in other processes (the KPL, boto3, the Java KCL).
//!
//! ```text
//! instant-kinesis [--port P] [--tls-port Q --cert CERT.pem --key KEY.pem]
//!                 [--stream NAME:SHARDS]... [--discard] [--threads N]
//! ```
//!
//! It prints `http=<endpoint>` (and `https=<endpoint>`) on stdout once it listens, then serves
//! until SIGTERM, SIGINT or the end of its stdin; at the end it prints `records=<count>`.

use std::process::ExitCode;

use kinesis_testkit::instant::InstantKinesis;
use tokio::io::AsyncReadExt;

const USAGE: &str = "usage: instant-kinesis [--port P] [--tls-port Q --cert CERT.pem --key KEY.pem] [--stream NAME:SHARDS]... [--discard] [--threads N]";

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("instant-kinesis: {e}\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<(), String> {
    let mut builder = InstantKinesis::builder();
    let mut threads = 1usize;
    let (mut cert, mut key, mut tls_port) = (None, None, 0u16);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--port" => {
                let v = value()?;
                builder = builder.port(v.parse().map_err(|_| format!("--port {v}: not a port"))?);
            }
            "--tls-port" => {
                let v = value()?;
                tls_port = v
                    .parse()
                    .map_err(|_| format!("--tls-port {v}: not a port"))?;
            }
            "--cert" => cert = Some(value()?),
            "--key" => key = Some(value()?),
            "--stream" => {
                let v = value()?;
                let (name, shards) = v
                    .split_once(':')
                    .and_then(|(n, s)| Some((n.to_owned(), s.parse::<usize>().ok()?)))
                    .ok_or_else(|| format!("--stream {v}: expected NAME:SHARDS"))?;
                builder = builder.stream(name, shards);
            }
            "--discard" => builder = builder.discard_records(true),
            "--threads" => {
                let v = value()?;
                threads = v
                    .parse()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| format!("--threads {v}: expected a positive number"))?;
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    match (cert, key) {
        (Some(cert), Some(key)) => builder = builder.tls(cert, key, tls_port),
        (None, None) => {}
        _ => return Err("--cert and --key go together".to_owned()),
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    runtime.block_on(async move {
        let server = builder.start().await.map_err(|e| e.to_string())?;
        println!("http={}", server.endpoint());
        if let Some(addr) = server.https_addr() {
            println!("https=https://localhost:{}", addr.port());
        }
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                .map_err(|e| format!("cannot handle SIGTERM: {e}"))?;
        let stdin_closed = async {
            let mut stdin = tokio::io::stdin();
            let mut buf = [0u8; 64];
            while matches!(stdin.read(&mut buf).await, Ok(n) if n > 0) {}
        };
        tokio::select! {
            _ = terminate.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
            () = stdin_closed => {}
        }
        println!("records={}", server.records_received());
        server.shutdown().await;
        Ok(())
    })
}
