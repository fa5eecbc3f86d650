//! Part 4, memory: peak RSS while reading the pre-filled stream, by prefetch setting; a child
//! process per case.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use kinesis_consumer::PollingSettings;

use crate::fixture::{Fixture, Handler, consumer_read, plain_read};
use crate::{RECORD_BYTES, RECORDS, Result, SHARDS, emit, note};

/// The memory cases, each in a child process of its own: (case, description).
const MEMORY_CASES: [(&str, &str); 5] = [
    (
        "default-noop",
        "consumer, default prefetch (2 batches of up to 10 000 records per shard), no-op handler",
    ),
    (
        "small-noop",
        "consumer, with_prefetch_batches(1).with_batch_size(1000), no-op handler",
    ),
    (
        "default-slow",
        "consumer, default prefetch, slow handler (1 ms pause every 25 records)",
    ),
    (
        "small-slow",
        "consumer, with_prefetch_batches(1).with_batch_size(1000), slow handler",
    ),
    (
        "plain",
        "plain GetRecords loop (limit 10 000, one task per shard), for reference",
    ),
];

pub(crate) fn run() -> Result<()> {
    eprintln!("== memory (a child process per case)");
    note(
        "memory",
        &format!(
            "Each case in a process of its own (this benchmark re-run with --memory-child): \
             emulators started, the stream filled as for throughput ({RECORDS} records of \
             {RECORD_BYTES} bytes on {SHARDS} shards, {} MiB of payload), then the peak RSS is \
             reset (/proc/self/clear_refs) and the stream read once. baseline = VmRSS before \
             reading; peak = VmHWM after; growth = peak - baseline. The embedded emulators live \
             in the same process, so baseline includes them and the stored stream.",
            RECORDS * RECORD_BYTES / (1024 * 1024)
        ),
    );
    let exe = std::env::current_exe()?;
    for (case, what) in MEMORY_CASES {
        eprintln!("   {case}: {what}");
        let out = Command::new(&exe)
            .args(["--memory-child", case])
            .stdin(Stdio::null())
            .stderr(Stdio::inherit())
            .output()?;
        if !out.status.success() {
            return Err(format!("memory case {case} failed ({})", out.status).into());
        }
        // The child's figures are ours.
        print!("{}", String::from_utf8_lossy(&out.stdout));
        note(&format!("memory.{case}"), what);
    }
    Ok(())
}

/// Kibibytes of a `/proc/self/status` field (`VmRSS`, `VmHWM`).
fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status.lines().find_map(|line| {
        let rest = line.strip_prefix(field)?.strip_prefix(':')?;
        rest.trim().strip_suffix("kB")?.trim().parse().ok()
    })
}

pub(crate) async fn child(case: &str) -> Result<()> {
    let (polling, handler) = match case {
        "default-noop" => (PollingSettings::default(), Some(Handler::NoOp)),
        "small-noop" => (small_prefetch(), Some(Handler::NoOp)),
        "default-slow" => (PollingSettings::default(), Some(Handler::Slow)),
        "small-slow" => (small_prefetch(), Some(Handler::Slow)),
        "plain" => (PollingSettings::default(), None),
        other => return Err(format!("unknown memory case {other:?}").into()),
    };
    let fx = Fixture::start().await?;
    let (stream, targets) = fx.stream(SHARDS).await?;
    let per_shard = fx.fill(&stream, &targets, 0, RECORDS).await?;
    // Let the writes' buffers settle, then measure from here.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let baseline = status_kib("VmRSS").ok_or("no VmRSS in /proc/self/status")?;
    let reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    let started = Instant::now();
    let records = match handler {
        Some(handler) => {
            consumer_read(&fx, &stream, polling, handler, &per_shard, false)
                .await?
                .records
        }
        None => plain_read(&fx, &stream, &per_shard).await?.1,
    };
    let elapsed = started.elapsed();
    let peak = status_kib("VmHWM").ok_or("no VmHWM in /proc/self/status")?;
    let mib = |kib: u64| kib as f64 / 1024.0;
    eprintln!(
        "      {records} records in {:.2} s; RSS {:.1} MiB before, peak {:.1} MiB (growth {:.1} MiB){}",
        elapsed.as_secs_f64(),
        mib(baseline),
        mib(peak),
        mib(peak.saturating_sub(baseline)),
        if reset {
            ""
        } else {
            "; peak not reset: it includes the filling"
        }
    );
    emit(&format!("memory.{case}.baseline"), mib(baseline), "MiB");
    emit(&format!("memory.{case}.peak"), mib(peak), "MiB");
    emit(
        &format!("memory.{case}.growth"),
        mib(peak.saturating_sub(baseline)),
        "MiB",
    );
    emit(
        &format!("memory.{case}.seconds"),
        elapsed.as_secs_f64(),
        "s",
    );
    emit(
        &format!("memory.{case}.peak_reset"),
        if reset { 1.0 } else { 0.0 },
        "bool",
    );
    fx.env.shutdown().await;
    Ok(())
}

fn small_prefetch() -> PollingSettings {
    PollingSettings::default()
        .with_prefetch_batches(1)
        .with_batch_size(1000)
}
