//! The producers of `cargo xtask bench peers` on a second server: kinesis-local over TLS, the
//! Kinesis emulator of the external test tier (and of LocalStack). It does the work of a
//! server (it keeps every record, computes sequence numbers, answers from its store), at 6,000
//! to 20,000 records/s on this kind of machine (one call of 5 MiB of aggregates takes it about a
//! second, a call of one 50 KB aggregate about a quarter of one): every producer is bounded by
//! it, so records/s here tell what a producer gets from a slow server, and CPU and memory what
//! it costs while it waits. Under 24 calls of 500 records in flight it stalls answers for
//! seconds, and it slows down as it fills: a run that fails is reported with its cause. Fewer
//! records per run than on the instant server.
//!
//! moto is not a contender's server here: it serves plain HTTP only, and the KPL speaks HTTPS
//! alone.

use super::*;

/// Records per run on kinesis-local (at most the run's `--records`).
const EMULATOR_RECORDS: u64 = 20_000;
/// A run on kinesis-local not finished after this long is killed and reported as failed: the
/// KPL without aggregation has been seen to let most records time out there.
const LIMIT: Duration = Duration::from_secs(90);

/// Starts the external emulators, makes the stream, runs the producer rounds on kinesis-local
/// (a contender that fails is reported, not fatal), stops the emulators; adds the figures to
/// `out` under `emulator.*`.
pub(super) fn measure(out: &mut Output, cfg: &emulators::Config, base: &Setup) -> Result<()> {
    eprintln!("== bench peers: producers on kinesis-local (TLS)");
    let running = emulators::up(cfg, false)?;
    let mut guard = emulators::Guard::new(cfg.clone(), running);
    let tls_port = cfg.kinesis_tls_port();
    let setup = Setup {
        bench_exe: base.bench_exe.clone(),
        kpl_classpath: base.kpl_classpath.clone(),
        python: base.python.clone(),
        ca: base.ca.clone(),
        endpoint: format!("https://localhost:{tls_port}"),
        tls_port,
        records: EMULATOR_RECORDS.min(base.records),
        limit: LIMIT,
    };
    let measured = create_stream(&setup).and_then(|()| {
        emit(out, "emulator.records", setup.records as f64, "records");
        producer_rounds(&setup, out, "emulator", true)
    });
    let stopped = guard.stop();
    measured.and(stopped)
}

/// Makes the stream on kinesis-local (kept as it is when there).
fn create_stream(setup: &Setup) -> Result<()> {
    let mut cmd = Command::new(&setup.bench_exe);
    cmd.arg("--peer-child")
        .arg("create-stream")
        .arg(&setup.endpoint)
        .arg(&setup.ca)
        .arg(STREAM)
        .arg(SHARDS.to_string());
    run_process(cmd)
        .map(drop)
        .map_err(|e| Error::new(format!("creating {STREAM} on kinesis-local: {e}")))
}

/// The section of the report: the producers on kinesis-local, with the ratios of this
/// producer's figures to each other contender's.
pub(super) fn report(out: &Output, b: &mut String) {
    let Some(records) = out.value("emulator.records") else {
        return;
    };
    let rate = |c: &str| out.value(&format!("emulator.{c}.rate"));
    let cpu = |c: &str| out.value(&format!("emulator.{c}.cpu_per_million"));
    let rss = |c: &str| out.value(&format!("emulator.{c}.rss"));
    let _ = writeln!(
        b,
        "\n### Producers on kinesis-local\n\n{} records per run into kinesis-local 0.6.2 over \
         TLS (the external emulator tier's Kinesis, a {SHARDS}-shard stream that keeps every \
         record), the same contenders, settings and rounds as above. The server bounds every \
         producer here (it stores 6,000 to 20,000 records/s on this machine, by how it is \
         called), so records/s say what each gets from a slow server, and CPU and memory what each costs meanwhile. \
         Ratios: the other contender's figure over this producer's (aggregating), for CPU \
         and RSS; this producer's over the other's for records/s.\n",
        thousands(records)
    );
    let _ = writeln!(
        b,
        "| contender | records/s (rounds) | records/s | CPU s per million | peak RSS | speed ratio | CPU ratio | RSS ratio |\n|---|---|---:|---:|---:|---:|---:|---:|"
    );
    let ours = "aggregated";
    for (key, label) in CONTENDERS {
        if let Some(reason) = out.note(&format!("emulator.{key}.failed")) {
            let _ = writeln!(
                b,
                "| {label} | failed: {} | - | - | - | - | - | - |",
                condensed(reason)
            );
            continue;
        }
        let ratio = |a: Option<f64>, b: Option<f64>| {
            if key == ours {
                "-".to_owned()
            } else {
                format!("{}x", fixed(a.zip(b).map(|(a, b)| a / b), 1))
            }
        };
        let _ = writeln!(
            b,
            "| {label} | {} | {} | {} | {} MiB | {} | {} | {} |",
            rounds_cell(out, &format!("emulator.{key}")),
            rate(key).map_or("-".to_owned(), thousands),
            fixed(cpu(key), 2),
            fixed(rss(key), 1),
            ratio(rate(ours), rate(key)),
            ratio(cpu(key), cpu(ours)),
            ratio(rss(key), rss(ours)),
        );
    }
}

/// A failure's reason on one table row: its first line, and the last line of the contender's
/// output that names an error or a timeout (else its last line), at most 300 characters.
fn condensed(reason: &str) -> String {
    let lines: Vec<&str> = reason
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let first = lines.first().copied().unwrap_or("");
    let telling = lines[1.min(lines.len())..]
        .iter()
        .rev()
        .find(|l| {
            let l = l.to_ascii_lowercase();
            l.contains("error") || l.contains("timed out") || l.contains("timeout")
        })
        .or(lines.last().filter(|_| lines.len() > 1));
    let mut text = match telling {
        Some(line) => format!("{first} {line}"),
        None => first.to_owned(),
    };
    if text.chars().count() > 300 {
        text = text.chars().take(299).collect::<String>() + "…";
    }
    text.replace('|', "\\|")
}

#[cfg(test)]
mod tests {
    use super::condensed;

    #[test]
    fn a_failure_fits_on_one_row() {
        let reason = "round 1: exited with exit status: 1; its last lines:\nResolved remote host\n\
                      Error message: curlCode: 28, Timeout was reached\n0 response headers:";
        assert_eq!(
            condensed(reason),
            "round 1: exited with exit status: 1; its last lines: Error message: curlCode: 28, \
             Timeout was reached"
        );
        assert_eq!(
            condensed("round 2: not finished after 90s; killed"),
            "round 2: not finished after 90s; killed"
        );
        assert_eq!(condensed("a | b"), "a \\| b");
    }
}
