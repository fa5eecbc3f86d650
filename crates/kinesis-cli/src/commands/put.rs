//! `kinesis put`: records from arguments, stdin, a file of JSON lines, or a generator, through
//! the producer, with progress and the producer's summary at the end.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use indicatif::{ProgressBar, ProgressStyle};
use kinesis_client::HashKey;
use kinesis_producer::{
    AggregationSettings, ProduceHandle, Producer, ProducerMetrics, ProducerRecord, ProducerSettings,
};
use rand::Rng;
use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::mpsc;

use crate::commands::stream::stream_id;
use crate::context::Global;
use crate::error::{CliError, Exit, Result};
use crate::output;

/// Write records to a stream.
///
/// Records come from the arguments, from `--file` (JSON lines, checked before anything is
/// sent), from `--generate`, or else from the lines of stdin.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// The stream's name or ARN.
    stream: String,
    /// Records to put, one per argument, as UTF-8 text.
    #[arg(conflicts_with_all = ["file", "generate"])]
    records: Vec<String>,
    /// A file of JSON lines, one record per line (the line as is).
    #[arg(long, value_name = "PATH", conflicts_with = "generate")]
    file: Option<PathBuf>,
    /// Generate numbered JSON records (see --count, --size, --rate); without --count, until
    /// Ctrl-C.
    #[arg(long)]
    generate: bool,
    /// How many records to generate.
    #[arg(long, requires = "generate", value_name = "N")]
    count: Option<u64>,
    /// The size of each generated record in bytes (at least the size of its JSON fields).
    #[arg(
        long,
        requires = "generate",
        default_value_t = 100,
        value_name = "BYTES"
    )]
    size: usize,
    /// At most this many records per second (any input).
    #[arg(long, value_name = "PER_SECOND")]
    rate: Option<f64>,
    /// The partition key of every record (default: a random key per record).
    #[arg(long, short = 'k', value_name = "KEY")]
    partition_key: Option<String>,
    /// With --file: the partition key is this top-level field of each JSON line.
    #[arg(
        long,
        value_name = "FIELD",
        requires = "file",
        conflicts_with = "partition_key"
    )]
    key_field: Option<String>,
    /// Route every record by this hash key (decimal, below 2^128) instead of its partition key.
    #[arg(long, value_name = "HASH_KEY")]
    explicit_hash_key: Option<String>,
    /// Send every record as a Kinesis record of its own instead of KPL aggregates.
    #[arg(long)]
    no_aggregation: bool,
    /// No progress bar (it is shown only on a terminal anyway).
    #[arg(long)]
    no_progress: bool,
}

/// The counts of the run, updated as outcomes arrive.
#[derive(Debug, Default)]
struct Tally {
    sent: u64,
    stored: u64,
    failed: u64,
    unknown: u64,
    bytes: u64,
    per_shard: BTreeMap<String, u64>,
    first_error: Option<String>,
}

pub(crate) async fn run(global: &Global, args: Args) -> Result<()> {
    let id = stream_id(&args.stream)?;
    if let Some(key) = &args.partition_key {
        check_partition_key(key)?;
    }
    if let Some(key) = &args.explicit_hash_key {
        key.parse::<HashKey>()
            .map_err(|e| CliError::usage(format!("bad --explicit-hash-key {key:?}: {e}")))?;
    }
    if let Some(rate) = args.rate
        && !(rate.is_finite() && rate > 0.0)
    {
        return Err(CliError::usage(format!(
            "--rate must be a positive number of records per second, got {rate}"
        )));
    }
    if let Some(path) = &args.file {
        check_json_lines(path, args.key_field.as_deref()).await?;
    }

    let config = global.client_config().await?;
    let mut settings = ProducerSettings::default();
    if !args.no_aggregation {
        settings = settings.with_aggregation(AggregationSettings::default());
    }
    let metrics = Arc::new(Mutex::new(ProducerMetrics::default()));
    let sink = metrics.clone();
    let producer: Producer<Bytes> = Producer::builder(&config, id.clone())
        .settings(settings)
        .on_metrics(move |m| {
            let mut total = sink.lock().unwrap_or_else(PoisonError::into_inner);
            *total = std::mem::take(&mut *total) + m.clone();
        })
        .build()
        .await
        .map_err(|e| CliError::other(format!("starting the producer for {id}"), &e))?;

    let progress = progress_bar(&args, global);
    let tally = Arc::new(Mutex::new(Tally::default()));
    let (handles_tx, handles_rx) = mpsc::channel::<ProduceHandle>(65_536);
    let collector = tokio::spawn(collect(handles_rx, tally.clone(), progress.clone()));

    let started = Instant::now();
    // An input error stops the input, not the delivery: what was accepted is still delivered
    // and reported below.
    let (interrupted, input_error) = {
        let feed = feed(&args, &producer, &handles_tx, &tally, started);
        tokio::pin!(feed);
        tokio::select! {
            result = &mut feed => (false, result.err()),
            () = kinesis_client::shutdown_signal() => (true, None),
        }
    };
    drop(handles_tx);
    // Everything accepted is delivered (or answered with its reason) before this returns.
    producer.shutdown().await;
    let _ = collector.await;
    progress.finish_and_clear();
    let elapsed = started.elapsed();

    let tally = std::mem::take(&mut *tally.lock().unwrap_or_else(PoisonError::into_inner));
    let metrics = std::mem::take(&mut *metrics.lock().unwrap_or_else(PoisonError::into_inner));
    report(global, &id.to_string(), &tally, &metrics, elapsed);
    if let Some(error) = input_error {
        return Err(error.context(format!(
            "stopped after {} records ({} stored)",
            tally.sent, tally.stored
        )));
    }
    if interrupted {
        return Err(CliError::new(
            Exit::Interrupted,
            format!(
                "interrupted: {} of the records read so far were stored",
                tally.stored
            ),
        ));
    }
    if tally.failed + tally.unknown > 0 {
        return Err(CliError::failure(format!(
            "{} records failed and {} have an unknown outcome; the first error: {}",
            tally.failed,
            tally.unknown,
            tally.first_error.as_deref().unwrap_or("-")
        )));
    }
    Ok(())
}

fn check_partition_key(key: &str) -> Result<()> {
    let chars = key.chars().count();
    if chars == 0 || chars > 256 {
        return Err(CliError::usage(format!(
            "a partition key has 1 to 256 characters; {key:?} has {chars}"
        )));
    }
    Ok(())
}

/// Reads the whole file once, so that a bad line is reported before any record is sent.
async fn check_json_lines(path: &PathBuf, key_field: Option<&str>) -> Result<()> {
    let file = tokio::fs::File::open(path)
        .await
        .map_err(|e| CliError::failure(format!("cannot open {}: {e}", path.display())))?;
    let mut lines = BufReader::new(file).lines();
    let mut number = 0u64;
    while let Some(line) = lines
        .next_line()
        .await
        .map_err(|e| CliError::failure(format!("cannot read {}: {e}", path.display())))?
    {
        number += 1;
        if line.trim().is_empty() {
            continue;
        }
        let value: serde_json::Value = serde_json::from_str(&line).map_err(|e| {
            CliError::usage(format!(
                "{} line {number} is not JSON ({e}); nothing was sent",
                path.display()
            ))
        })?;
        if let Some(field) = key_field {
            let key = key_of(&value, field).ok_or_else(|| {
                CliError::usage(format!(
                    "{} line {number} has no string or number field {field:?} for the partition key; nothing was sent",
                    path.display()
                ))
            })?;
            check_partition_key(&key).map_err(|e| {
                CliError::usage(format!(
                    "{} line {number}: {e}; nothing was sent",
                    path.display()
                ))
            })?;
        }
    }
    Ok(())
}

fn key_of(value: &serde_json::Value, field: &str) -> Option<String> {
    match value.get(field)? {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn progress_bar(args: &Args, global: &Global) -> ProgressBar {
    if args.no_progress || global.json() {
        return ProgressBar::hidden();
    }
    let total = if args.generate {
        args.count
    } else if !args.records.is_empty() {
        Some(args.records.len() as u64)
    } else {
        None
    };
    // Drawn on stderr, and only when it is a terminal.
    let bar = match total {
        Some(n) => ProgressBar::new(n),
        None => ProgressBar::new_spinner(),
    };
    let template = match total {
        Some(_) => "{bar:30} {pos}/{len} stored {msg} [{elapsed_precise}, {per_sec}]",
        None => "{spinner} {pos} stored {msg} [{elapsed_precise}, {per_sec}]",
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// Awaits every record's outcome in order of sending and counts it.
async fn collect(
    mut handles: mpsc::Receiver<ProduceHandle>,
    tally: Arc<Mutex<Tally>>,
    progress: ProgressBar,
) {
    while let Some(handle) = handles.recv().await {
        let outcome = handle.await;
        let mut t = tally.lock().unwrap_or_else(PoisonError::into_inner);
        match outcome {
            Ok(stored) => {
                t.stored += 1;
                *t.per_shard
                    .entry(stored.shard_id().to_string())
                    .or_default() += 1;
                progress.inc(1);
            }
            Err(e) => {
                if e.kind() == kinesis_producer::ProduceErrorKind::OutcomeUnknown {
                    t.unknown += 1;
                } else {
                    t.failed += 1;
                }
                if t.first_error.is_none() {
                    t.first_error = Some(crate::error::chain(&e));
                }
                progress.set_message(format!("{} failed", t.failed + t.unknown));
            }
        }
    }
}

/// Sends every input record; returns when the input ends.
async fn feed(
    args: &Args,
    producer: &Producer<Bytes>,
    handles: &mpsc::Sender<ProduceHandle>,
    tally: &Mutex<Tally>,
    started: Instant,
) -> Result<()> {
    let mut pacer = Pacer::new(args.rate, tokio::time::Instant::from_std(started));
    let mut send = async |key: Option<String>, data: Bytes| -> Result<()> {
        pacer.wait().await;
        let key = key
            .or_else(|| args.partition_key.clone())
            .unwrap_or_else(random_key);
        let len = data.len() as u64;
        let mut record = ProducerRecord::new(key, data);
        if let Some(hash) = &args.explicit_hash_key {
            record = record.with_explicit_hash_key(hash.clone());
        }
        let handle = producer.send(record).await.map_err(|e| {
            CliError::other(format!("sending a record to {}", producer.stream()), &e)
        })?;
        {
            let mut t = tally.lock().unwrap_or_else(PoisonError::into_inner);
            t.sent += 1;
            t.bytes += len;
        }
        // The collector ends only after this sender is dropped, so this cannot fail.
        let _ = handles.send(handle).await;
        Ok(())
    };

    if args.generate {
        let mut n = 0u64;
        while args.count.is_none_or(|count| n < count) {
            send(None, generated(n, args.size)).await?;
            n += 1;
        }
    } else if !args.records.is_empty() {
        for record in &args.records {
            send(None, Bytes::from(record.clone())).await?;
        }
    } else if let Some(path) = &args.file {
        let file = tokio::fs::File::open(path)
            .await
            .map_err(|e| CliError::failure(format!("cannot open {}: {e}", path.display())))?;
        let mut lines = BufReader::new(file).lines();
        while let Some(line) = lines
            .next_line()
            .await
            .map_err(|e| CliError::failure(format!("cannot read {}: {e}", path.display())))?
        {
            if line.trim().is_empty() {
                continue;
            }
            let key = match &args.key_field {
                Some(field) => serde_json::from_str::<serde_json::Value>(&line)
                    .ok()
                    .and_then(|v| key_of(&v, field)),
                None => None,
            };
            send(key, Bytes::from(line)).await?;
        }
    } else {
        let mut lines = BufReader::new(tokio::io::stdin()).lines();
        while let Some(line) = lines
            .next_line()
            .await
            .map_err(|e| CliError::failure(format!("cannot read stdin: {e}")))?
        {
            send(None, Bytes::from(line)).await?;
        }
    }
    Ok(())
}

fn random_key() -> String {
    format!("{:016x}", rand::rng().random::<u64>())
}

/// A numbered JSON record of `size` bytes (or just its fields when they are longer).
fn generated(n: u64, size: usize) -> Bytes {
    let at = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let head = format!(r#"{{"n":{n},"at":{at},"pad":""#);
    let pad = size.saturating_sub(head.len() + 2);
    let mut text = head;
    text.extend(std::iter::repeat_n('x', pad));
    text.push_str("\"}");
    Bytes::from(text)
}

/// Keeps the sending at or below a rate: record `i` leaves no earlier than `i / rate` after
/// the start.
struct Pacer {
    rate: Option<f64>,
    started: tokio::time::Instant,
    sent: u64,
}

impl Pacer {
    fn new(rate: Option<f64>, started: tokio::time::Instant) -> Self {
        Self {
            rate,
            started,
            sent: 0,
        }
    }

    async fn wait(&mut self) {
        if let Some(rate) = self.rate {
            let due = self.started + Duration::from_secs_f64(self.sent as f64 / rate);
            tokio::time::sleep_until(due).await;
        }
        self.sent += 1;
    }
}

fn report(
    global: &Global,
    stream: &str,
    tally: &Tally,
    metrics: &ProducerMetrics,
    elapsed: Duration,
) {
    let secs = elapsed.as_secs_f64();
    if global.json() {
        output::json(&json!({
            "stream": stream,
            "sent": tally.sent,
            "stored": tally.stored,
            "failed": tally.failed,
            "unknown": tally.unknown,
            "bytes": tally.bytes,
            "seconds": secs,
            "records_per_second": if secs > 0.0 { tally.stored as f64 / secs } else { 0.0 },
            "per_shard": tally.per_shard,
            "put_records_calls": metrics.put_records_calls(),
            "retried_attempts": metrics.retried_attempts(),
            "first_error": tally.first_error,
        }));
        return;
    }
    let rate = if secs > 0.0 {
        tally.stored as f64 / secs
    } else {
        0.0
    };
    println!(
        "Put {} records ({} bytes) to {stream} in {secs:.2} s: {} stored, {} failed, {} unknown ({rate:.0} records/s)",
        tally.sent, tally.bytes, tally.stored, tally.failed, tally.unknown
    );
    for (shard, count) in &tally.per_shard {
        println!("  {shard}: {count}");
    }
    println!(
        "Producer: {} PutRecords calls, {} retried attempts, {} shard prediction errors",
        metrics.put_records_calls(),
        metrics.retried_attempts(),
        metrics.shard_prediction_errors()
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_records_have_the_asked_size_and_are_json() {
        let record = generated(7, 100);
        assert_eq!(record.len(), 100);
        let value: serde_json::Value = serde_json::from_slice(&record).unwrap();
        assert_eq!(value["n"], 7);
        // Smaller than its fields: the fields only.
        assert!(serde_json::from_slice::<serde_json::Value>(&generated(1, 5)).is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn the_pacer_keeps_the_rate() {
        let started = tokio::time::Instant::now();
        let mut pacer = Pacer::new(Some(10.0), started);
        for _ in 0..21 {
            pacer.wait().await;
        }
        // Record 21 leaves 20 / 10 per second after the start.
        assert_eq!(started.elapsed(), Duration::from_secs(2));
        let mut unpaced = Pacer::new(None, tokio::time::Instant::now());
        let before = tokio::time::Instant::now();
        for _ in 0..1000 {
            unpaced.wait().await;
        }
        assert_eq!(before.elapsed(), Duration::ZERO);
    }
}
