//! The records, and the two writers measured: the producer, and a plain `PutRecords` loop over
//! the AWS SDK.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt};
use kinesis_client::sdk::kinesis;
use kinesis_client::sdk::kinesis::primitives::Blob;
use kinesis_client::sdk::kinesis::types::PutRecordsRequestEntry;
use kinesis_client::{ClientConfig, StreamId, Telemetry};
use kinesis_kcl_compat::metrics::kpl;
use kinesis_metrics::{CloudWatchPublisher, DiscardSink, PublisherSettings};
use kinesis_producer::{
    AggregationSettings, MetricsLevel, ProduceHandle, Producer, ProducerMetrics, ProducerRecord,
    ProducerSettings, ThrottleSettings,
};
use tokio::sync::mpsc;

use crate::{KEYS, PLAIN_BATCH, PLAIN_IN_FLIGHT, RECORD_BYTES, Result};

/// A reproducible mix of `n` (splitmix64's finalizer).
fn mix(n: u64) -> u64 {
    let mut z = n.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Record `n`'s partition key: one of [`KEYS`] keys, picked at random-ish.
pub(crate) fn partition_key(n: u64) -> String {
    format!("user-{}", mix(n) % KEYS)
}

/// Record `n`'s payload: [`RECORD_BYTES`] bytes ending with its number.
pub(crate) fn payload(n: u64) -> Vec<u8> {
    let mut data = vec![b'.'; RECORD_BYTES];
    let mut i = RECORD_BYTES;
    let mut rest = n;
    loop {
        i -= 1;
        data[i] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 || i == 0 {
            break;
        }
    }
    data
}

/// Process CPU time (user + system, every thread), from `/proc/self/stat`; 10 ms resolution.
pub(crate) fn cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name, which is in parentheses: state is the 1st, utime the
    // 12th, stime the 13th.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // USER_HZ is 100 on every Linux the benchmark runs on.
    Some(Duration::from_millis(ticks * 10))
}

/// One measured write of `count` records.
#[derive(Debug)]
pub(crate) struct Written {
    pub(crate) records: u64,
    pub(crate) elapsed: Duration,
    /// Process CPU time spent meanwhile.
    pub(crate) cpu: Option<Duration>,
    /// The producer's metrics (from `shutdown`), for the producer.
    pub(crate) metrics: Option<ProducerMetrics>,
    /// `PutRecords` calls made (the plain loop's; the producer's come with its metrics).
    pub(crate) calls: u64,
    /// The producer: the most records accepted and not yet answered (counted by the task
    /// awaiting the handles in order, so slightly more than the producer held).
    pub(crate) max_outstanding: u64,
}

impl Written {
    pub(crate) fn rate(&self) -> f64 {
        self.records as f64 / self.elapsed.as_secs_f64()
    }

    pub(crate) fn byte_rate(&self) -> f64 {
        (self.records * RECORD_BYTES as u64) as f64 / self.elapsed.as_secs_f64()
    }

    /// CPU seconds per wall second (1.0 = one core busy the whole time).
    pub(crate) fn cores(&self) -> Option<f64> {
        self.cpu
            .map(|c| c.as_secs_f64() / self.elapsed.as_secs_f64())
    }

    pub(crate) fn calls(&self) -> u64 {
        self.metrics
            .as_ref()
            .map_or(self.calls, ProducerMetrics::put_records_calls)
    }
}

/// The producer's settings in this benchmark: the defaults, with aggregation (KPL defaults)
/// or without, and the per-shard throttle off (it paces each shard to the Kinesis limits of
/// 1000 entries and 1 MiB per second, which neither the sink nor the emulator enforce).
pub(crate) fn producer_settings(aggregate: bool) -> ProducerSettings {
    let settings =
        ProducerSettings::default().with_throttle(ThrottleSettings::default().with_enabled(false));
    if aggregate {
        settings.with_aggregation(AggregationSettings::default())
    } else {
        settings
    }
}

/// A producer for `stream`, built (its `ListShards` done) before any timing; with `metered`,
/// its KPL metrics go at DETAILED to a CloudWatch publisher whose calls go nowhere.
pub(crate) async fn build_producer(
    config: &ClientConfig,
    stream: &str,
    settings: ProducerSettings,
    metered: bool,
) -> Result<Producer<Bytes>> {
    let builder = Producer::builder(config, stream.parse::<StreamId>()?).settings(settings);
    let builder = if metered {
        builder.telemetry(Telemetry::new(CloudWatchPublisher::start(
            PublisherSettings::new(kpl::NAMESPACE).with_level(MetricsLevel::Detailed),
            Arc::new(DiscardSink),
        )))
    } else {
        builder
    };
    Ok(builder.build().await?)
}

/// Sends records `first..first + count` through `producer` with `send` (waiting when its
/// buffer is full), hands each `ProduceHandle` to a second task that awaits them in order and
/// checks every record was stored, then flushes (so the last records do not wait out the
/// linger time). Timed from the first `send` to the last record's answer; the producer is shut
/// down afterwards (not timed) for its metrics.
///
/// `on_sent` is called after each record is accepted, with the number accepted so far.
pub(crate) async fn produce(
    producer: Producer<Bytes>,
    first: u64,
    count: u64,
    mut on_sent: impl FnMut(u64),
) -> Result<Written> {
    // As many handles in the hand-over as the buffer holds records: the sender is held back by
    // the buffer, not by the counting.
    let (tx, mut rx) = mpsc::channel::<ProduceHandle>(producer.settings().buffer_records);
    let answered = Arc::new(AtomicU64::new(0));
    let counted = Arc::clone(&answered);
    let collector = tokio::spawn(async move {
        let mut stored = 0u64;
        while let Some(handle) = rx.recv().await {
            handle.await?;
            stored += 1;
            counted.store(stored, Ordering::Relaxed);
        }
        Ok::<u64, kinesis_producer::ProduceError>(stored)
    });
    let cpu = cpu_time();
    let started = Instant::now();
    let mut max_outstanding = 0;
    for (sent, n) in (first..first + count).enumerate() {
        let record = ProducerRecord::new(partition_key(n), Bytes::from(payload(n)));
        let handle = producer.send(record).await?;
        tx.send(handle).await.map_err(|_| "the collector stopped")?;
        let sent = sent as u64 + 1;
        max_outstanding = max_outstanding.max(sent - answered.load(Ordering::Relaxed));
        on_sent(sent);
    }
    drop(tx);
    producer.flush().await?;
    let stored = collector.await??;
    let elapsed = started.elapsed();
    let cpu = cpu.zip(cpu_time()).map(|(a, b)| b.saturating_sub(a));
    let metrics = producer.shutdown().await;
    if stored != count {
        return Err(format!("{stored} of {count} records stored").into());
    }
    Ok(Written {
        records: stored,
        elapsed,
        cpu,
        metrics: Some(metrics),
        calls: 0,
        max_outstanding,
    })
}

/// Sends records `first..first + count` with the SDK client directly: `PutRecords` of
/// [`PLAIN_BATCH`] records (built as they are sent), [`PLAIN_IN_FLIGHT`] calls in flight, no
/// retries; fails if any record is not stored.
pub(crate) async fn plain_loop(
    sdk: &kinesis::Client,
    stream: &str,
    first: u64,
    count: u64,
) -> Result<Written> {
    let end = first + count;
    let cpu = cpu_time();
    let started = Instant::now();
    let (records, calls) = futures_util::stream::iter((first..end).step_by(PLAIN_BATCH))
        .map(|start| {
            let entries: Vec<PutRecordsRequestEntry> = (start
                ..(start + PLAIN_BATCH as u64).min(end))
                .map(|n| {
                    PutRecordsRequestEntry::builder()
                        .data(Blob::new(payload(n)))
                        .partition_key(partition_key(n))
                        .build()
                        .expect("data and partition key are set")
                })
                .collect();
            let call = sdk
                .put_records()
                .stream_name(stream)
                .set_records(Some(entries))
                .send();
            async move {
                let out = call.await?;
                let failed = out.failed_record_count().unwrap_or(0);
                if failed > 0 {
                    return Err(format!("{failed} records not stored").into());
                }
                Ok::<u64, crate::BoxError>(out.records().len() as u64)
            }
        })
        .buffer_unordered(PLAIN_IN_FLIGHT)
        .try_fold((0u64, 0u64), |(records, calls), n| async move {
            Ok((records + n, calls + 1))
        })
        .await?;
    let elapsed = started.elapsed();
    let cpu = cpu.zip(cpu_time()).map(|(a, b)| b.saturating_sub(a));
    if records != count {
        return Err(format!("{records} of {count} records stored").into());
    }
    Ok(Written {
        records,
        elapsed,
        cpu,
        metrics: None,
        calls,
        max_outstanding: 0,
    })
}
