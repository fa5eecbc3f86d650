//! Part 3, memory: peak RSS while a million records go into the sink, by buffer setting; a
//! child process per case.

use std::process::{Command, Stdio};
use std::time::Duration;

use crate::sink::{InstantSink, STREAM};
use crate::workload::{build_producer, plain_loop, produce, producer_settings};
use crate::{MEMORY_RECORDS, RECORD_BYTES, Result, emit, note};

const MIB: usize = 1024 * 1024;
/// How long the sink holds back each answer here: a network round trip, so that the producer's
/// buffer fills up (into the instant sink, the producer without aggregation sends each full
/// batch at once and holds a few hundred records at most).
const SINK_LATENCY: Duration = Duration::from_millis(20);
/// The small buffer: records, bytes.
const SMALL_BUFFER: (usize, usize) = (10_000, 8 * MIB);

/// The memory cases, each in a child process of its own: (case, description).
pub(crate) const MEMORY_CASES: [(&str, &str); 5] = [
    (
        "aggregated-default",
        "producer, aggregation, default buffer (65 536 records, 64 MiB)",
    ),
    (
        "aggregated-small",
        "producer, aggregation, with_buffer(10_000, 8 MiB)",
    ),
    (
        "producer-default",
        "producer, no aggregation, default buffer (65 536 records, 64 MiB)",
    ),
    (
        "producer-small",
        "producer, no aggregation, with_buffer(10_000, 8 MiB)",
    ),
    (
        "plain",
        "plain PutRecords loop (500 records per call, 24 in flight), for reference",
    ),
];

pub(crate) fn run() -> Result<()> {
    eprintln!("== memory (a child process per case)");
    note(
        "memory",
        &format!(
            "Each case in a process of its own (this benchmark re-run with --memory-child), on \
             the current-thread runtime: the sink and the writer set up, then the peak RSS is \
             reset (/proc/self/clear_refs) and {MEMORY_RECORDS} records of {RECORD_BYTES} \
             bytes ({} MiB of payload) written as in part 1, every handle awaited, into the \
             sink of part 1 holding back each answer for {} ms (a network round trip; its work \
             is done at once), so that records wait in the producer: at most 24 calls of 500 \
             entries per {} ms get through, fewer without aggregation when a partition key is \
             in a call in flight (a key is in one call at a time). baseline = VmRSS before writing; peak = VmHWM after; growth \
             = peak - baseline; the peak is also read once each quarter of the records was \
             accepted. The sink keeps nothing, so growth is what the writer holds. \
             \"outstanding\": the most records accepted by the producer and not yet answered \
             (counted by the task awaiting the handles, so a little above what the producer \
             held).",
            MEMORY_RECORDS as usize * RECORD_BYTES / MIB,
            SINK_LATENCY.as_millis(),
            SINK_LATENCY.as_millis()
        ),
    );
    emit("memory.records", MEMORY_RECORDS as f64, "records");
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
    let writer = match case {
        "aggregated-default" => Some(producer_settings(true)),
        "aggregated-small" => {
            Some(producer_settings(true).with_buffer(SMALL_BUFFER.0, SMALL_BUFFER.1))
        }
        "producer-default" => Some(producer_settings(false)),
        "producer-small" => {
            Some(producer_settings(false).with_buffer(SMALL_BUFFER.0, SMALL_BUFFER.1))
        }
        "plain" => None,
        other => return Err(format!("unknown memory case {other:?}").into()),
    };
    let sink = InstantSink::with_latency(SINK_LATENCY);
    let config = sink.client_config().await?;
    let producer = match &writer {
        Some(settings) => Some(build_producer(&config, STREAM, settings.clone(), false).await?),
        None => None,
    };
    let sdk = config.kinesis_sdk();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let baseline = status_kib("VmRSS").ok_or("no VmRSS in /proc/self/status")?;
    let reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    // The peak so far once each quarter of the records was accepted: memory bounded by the
    // buffer stops rising once the buffer has filled, long before the end.
    let mut quarter_peaks = Vec::new();
    let written = match producer {
        Some(producer) => {
            produce(producer, 0, MEMORY_RECORDS, |sent| {
                if (sent * 4).is_multiple_of(MEMORY_RECORDS) {
                    quarter_peaks.push(status_kib("VmHWM"));
                }
            })
            .await?
        }
        None => plain_loop(&sdk, STREAM, 0, MEMORY_RECORDS).await?,
    };
    let peak = status_kib("VmHWM").ok_or("no VmHWM in /proc/self/status")?;
    let mib = |kib: u64| kib as f64 / 1024.0;
    eprintln!(
        "      {} records in {:.2} s ({:.0}/s); RSS {:.1} MiB before, peak {:.1} MiB (growth {:.1} MiB; peak once each quarter was accepted: {}), at most {} records outstanding{}",
        written.records,
        written.elapsed.as_secs_f64(),
        written.rate(),
        mib(baseline),
        mib(peak),
        mib(peak.saturating_sub(baseline)),
        quarter_peaks
            .iter()
            .map(|p| p.map_or("-".to_owned(), |p| format!("{:.1}", mib(p))))
            .collect::<Vec<_>>()
            .join(" / "),
        written.max_outstanding,
        if reset {
            ""
        } else {
            "; peak not reset: it includes the setup"
        }
    );
    emit(&format!("memory.{case}.baseline"), mib(baseline), "MiB");
    emit(&format!("memory.{case}.peak"), mib(peak), "MiB");
    emit(
        &format!("memory.{case}.growth"),
        mib(peak.saturating_sub(baseline)),
        "MiB",
    );
    for (quarter, peak) in (1..).zip(&quarter_peaks) {
        if let Some(peak) = peak {
            emit(&format!("memory.{case}.peak_q{quarter}"), mib(*peak), "MiB");
        }
    }
    if let Some(settings) = &writer {
        emit(
            &format!("memory.{case}.buffer_records"),
            settings.buffer_records as f64,
            "records",
        );
        emit(
            &format!("memory.{case}.buffer_bytes"),
            settings.buffer_bytes as f64 / MIB as f64,
            "MiB",
        );
        emit(
            &format!("memory.{case}.outstanding"),
            written.max_outstanding as f64,
            "records",
        );
    }
    emit(
        &format!("memory.{case}.records_per_second"),
        written.rate(),
        "records/s",
    );
    emit(
        &format!("memory.{case}.seconds"),
        written.elapsed.as_secs_f64(),
        "s",
    );
    emit(
        &format!("memory.{case}.peak_reset"),
        if reset { 1.0 } else { 0.0 },
        "bool",
    );
    Ok(())
}
