//! The producer's metrics: [`ProducerMetrics`], a snapshot of one producer's activity over an
//! interval, and the recorder the pipeline writes into.

use std::fmt;
use std::iter::Sum;
use std::ops::{Add, AddAssign};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use hdrhistogram::Histogram;
use tokio::time::Instant;

/// Latency histogram range, in milliseconds: 1 ms to one hour.
const LATENCY_MAX_MS: u64 = 3_600_000;
/// Attempts histogram range: 1 to 1000 attempts.
const ATTEMPTS_MAX: u64 = 1_000;
/// Size histograms' range, in bytes: 1 B to 10 MiB.
const SIZE_MAX_BYTES: u64 = 10 * 1024 * 1024;
/// Entries per `PutRecords` call: 1 to 500 (the API's limit).
const BATCH_ENTRIES_MAX: u64 = 500;

/// A histogram tracking `1..=high` with `sigfig` significant digits.
fn histogram(high: u64, sigfig: u8) -> Histogram<u64> {
    // The bounds are constants within hdrhistogram's limits (the tests create every one).
    Histogram::new_with_bounds(1, high, sigfig).expect("valid constant histogram bounds")
}

/// Records `value` clamped into `1..=high` (the histogram's range); never panics.
fn record_clamped(histogram: &mut Histogram<u64>, value: u64) {
    let value = value.clamp(1, histogram.high());
    histogram.saturating_record(value);
}

/// Adds `source` into `target`. Every histogram of one kind has the same bounds (they are only
/// created by [`ProducerMetrics::default`]) and no value beyond them is ever recorded, so this
/// cannot fail; should it ever, the source's values are dropped rather than panicking.
fn merge(target: &mut Histogram<u64>, source: &Histogram<u64>) {
    let merged = target.add(source);
    debug_assert!(merged.is_ok(), "histograms of one kind share their bounds");
}

/// `count` per second over `interval`, `None` for a zero interval.
fn per_second(count: u64, interval: Duration) -> Option<f64> {
    if interval.is_zero() {
        None
    } else {
        Some(count as f64 / interval.as_secs_f64())
    }
}

/// A snapshot of one producer's activity over an interval.
///
/// A producer takes a snapshot every
/// [`metrics_interval`](crate::ProducerSettings::metrics_interval) — and a last one when it
/// shuts down, which [`Producer::shutdown`](crate::Producer::shutdown) returns — and hands
/// each to the [`on_metrics`](crate::ProducerBuilder::on_metrics) callback and to the
/// receivers of [`Producer::metrics`](crate::Producer::metrics). Each snapshot covers only the
/// time since the previous one.
///
/// ```no_run
/// # async fn run(config: kinesis_client::ClientConfig) -> Result<(), Box<dyn std::error::Error>> {
/// use kinesis_client::StreamId;
/// use kinesis_producer::{Producer, ProducerMetrics};
/// use tokio::sync::broadcast::error::RecvError;
///
/// let producer = Producer::builder(&config, "orders".parse::<StreamId>()?)
///     .on_metrics(|metrics| println!("{metrics}"))
///     .build()
///     .await?;
/// let mut snapshots = producer.metrics();
/// tokio::spawn(async move {
///     // Totals since the start, from the snapshot of every interval.
///     let mut total = ProducerMetrics::default();
///     loop {
///         match snapshots.recv().await {
///             Ok(snapshot) => total += snapshot,
///             Err(RecvError::Lagged(_)) => continue, // missed some (the total lacks them)
///             Err(RecvError::Closed) => break,       // the producer has shut down
///         }
///         println!("p99 latency so far: {} ms", total.latency().value_at_quantile(0.99));
///     }
/// });
/// # Ok(()) }
/// ```
///
/// Combine snapshots of several producers, or of several intervals, with `+`, `+=` or
/// [`Sum`]: histograms are merged, counters summed and intervals summed (so the throughput of
/// a sum of consecutive snapshots is the mean throughput over their whole span). The
/// [`Default`] is the empty snapshot, the neutral element of `+`.
///
/// [`Display`](fmt::Display) gives a one-line human summary: interval, records published,
/// throughput, success rate, failures, retries, shard prediction errors, latency percentiles,
/// attempts, mean record and batch sizes and `PutRecords` calls.
///
/// ```
/// use std::time::Duration;
/// use kinesis_producer::ProducerMetrics;
///
/// let metrics = ProducerMetrics::default();
/// assert_eq!(metrics.interval(), Duration::ZERO);
/// assert_eq!(metrics.records_published(), 0);
/// assert_eq!(metrics.success_rate(), 1.0);
///
/// // Snapshots of two producers (here empty ones) add up to one.
/// let total: ProducerMetrics = metrics.clone() + metrics;
/// assert_eq!(total.records_published(), 0);
/// println!("{total}");
/// ```
#[derive(Clone, Debug)]
pub struct ProducerMetrics {
    interval: Duration,
    bytes_published: u64,
    records_failed: u64,
    retried_attempts: u64,
    shard_prediction_errors: u64,
    /// One value per published user record: ms from acceptance to success.
    latency: Histogram<u64>,
    /// One value per published user record: attempts it took.
    attempts: Histogram<u64>,
    /// One value per Kinesis entry sent: its size in bytes.
    record_size: Histogram<u64>,
    /// One value per `PutRecords` call: its payload bytes.
    batch_size: Histogram<u64>,
    /// One value per `PutRecords` call: its entries.
    batch_entries: Histogram<u64>,
}

impl Default for ProducerMetrics {
    /// The empty snapshot: a zero interval, no activity.
    ///
    /// ```
    /// use kinesis_producer::ProducerMetrics;
    ///
    /// let empty = ProducerMetrics::default();
    /// assert_eq!(empty.put_records_calls(), 0);
    /// assert!(empty.latency().is_empty());
    /// ```
    fn default() -> Self {
        Self {
            interval: Duration::ZERO,
            bytes_published: 0,
            records_failed: 0,
            retried_attempts: 0,
            shard_prediction_errors: 0,
            latency: histogram(LATENCY_MAX_MS, 3),
            attempts: histogram(ATTEMPTS_MAX, 2),
            record_size: histogram(SIZE_MAX_BYTES, 3),
            batch_size: histogram(SIZE_MAX_BYTES, 3),
            batch_entries: histogram(BATCH_ENTRIES_MAX, 3),
        }
    }
}

impl ProducerMetrics {
    /// The time this snapshot covers (the sum of the intervals of combined snapshots).
    ///
    /// ```
    /// use std::time::Duration;
    /// use kinesis_producer::ProducerMetrics;
    ///
    /// assert_eq!(ProducerMetrics::default().interval(), Duration::ZERO);
    /// ```
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// User records stored in the stream. Each user record of a KPL aggregate counts as one.
    ///
    /// ```
    /// use kinesis_producer::ProducerMetrics;
    ///
    /// let metrics = ProducerMetrics::default();
    /// assert_eq!(metrics.records_published(), metrics.latency().len());
    /// ```
    pub fn records_published(&self) -> u64 {
        self.attempts.len()
    }

    /// User payload bytes stored in the stream (the data of the published user records, not
    /// counting partition keys or aggregation overhead).
    ///
    /// ```
    /// use kinesis_producer::ProducerMetrics;
    ///
    /// assert_eq!(ProducerMetrics::default().bytes_published(), 0);
    /// ```
    pub fn bytes_published(&self) -> u64 {
        self.bytes_published
    }

    /// User records that failed for good: their last attempt failed and they were handed back
    /// to the caller.
    ///
    /// ```
    /// use kinesis_producer::ProducerMetrics;
    ///
    /// assert_eq!(ProducerMetrics::default().records_failed(), 0);
    /// ```
    pub fn records_failed(&self) -> u64 {
        self.records_failed
    }

    /// Failed attempts that were retried, counted per user record (a failed aggregate of 10
    /// user records that is retried counts 10). Records sent again because their aggregate was
    /// stored where KCL consumers skip it (another shard than predicted, after a reshard) count
    /// too.
    ///
    /// ```
    /// use kinesis_producer::ProducerMetrics;
    ///
    /// assert_eq!(ProducerMetrics::default().retried_attempts(), 0);
    /// ```
    pub fn retried_attempts(&self) -> u64 {
        self.retried_attempts
    }

    /// `PutRecords` calls that got a response (whether or not every entry succeeded).
    ///
    /// ```
    /// use kinesis_producer::ProducerMetrics;
    ///
    /// let metrics = ProducerMetrics::default();
    /// assert_eq!(metrics.put_records_calls(), metrics.batch_entries().len());
    /// ```
    pub fn put_records_calls(&self) -> u64 {
        self.batch_entries.len()
    }

    /// User records that Kinesis stored in another shard than the producer predicted from its
    /// shard map (a sign that the stream was resharded and the map is being refreshed).
    ///
    /// ```
    /// use kinesis_producer::ProducerMetrics;
    ///
    /// assert_eq!(ProducerMetrics::default().shard_prediction_errors(), 0);
    /// ```
    pub fn shard_prediction_errors(&self) -> u64 {
        self.shard_prediction_errors
    }

    /// The share of user-record attempts that succeeded, in `0.0..=1.0`:
    /// `published / (published + retried_attempts + failed)` — every retried attempt and every
    /// record failed for good is one failed attempt. `1.0` when nothing was attempted.
    ///
    /// ```
    /// use kinesis_producer::ProducerMetrics;
    ///
    /// assert_eq!(ProducerMetrics::default().success_rate(), 1.0);
    /// ```
    pub fn success_rate(&self) -> f64 {
        let published = self.records_published();
        let attempts = published
            .saturating_add(self.retried_attempts)
            .saturating_add(self.records_failed);
        if attempts == 0 {
            1.0
        } else {
            published as f64 / attempts as f64
        }
    }

    /// User records published per second over the interval; `None` for a zero interval.
    ///
    /// ```
    /// use kinesis_producer::ProducerMetrics;
    ///
    /// assert_eq!(ProducerMetrics::default().records_per_second(), None);
    /// ```
    pub fn records_per_second(&self) -> Option<f64> {
        per_second(self.records_published(), self.interval)
    }

    /// User payload bytes published per second over the interval; `None` for a zero interval.
    ///
    /// ```
    /// use kinesis_producer::ProducerMetrics;
    ///
    /// assert_eq!(ProducerMetrics::default().bytes_per_second(), None);
    /// ```
    pub fn bytes_per_second(&self) -> Option<f64> {
        per_second(self.bytes_published, self.interval)
    }

    /// Latency in milliseconds from the producer accepting a user record to Kinesis storing
    /// it, one value per published user record; tracks 1 ms to 1 hour with 3 significant
    /// digits. Latencies are rounded up to whole milliseconds (so a sub-millisecond one counts
    /// as 1 ms) and longer ones are clamped to one hour.
    ///
    /// ```
    /// use kinesis_producer::ProducerMetrics;
    ///
    /// let metrics = ProducerMetrics::default();
    /// let p99_ms = metrics.latency().value_at_quantile(0.99);
    /// assert_eq!(p99_ms, 0); // nothing recorded
    /// ```
    pub fn latency(&self) -> &Histogram<u64> {
        &self.latency
    }

    /// Attempts each published user record took (1 = first time), one value per published
    /// user record; tracks 1 to 1000 with 2 significant digits (more are clamped to 1000).
    ///
    /// ```
    /// use kinesis_producer::ProducerMetrics;
    ///
    /// let metrics = ProducerMetrics::default();
    /// let needed_a_retry = metrics.attempts().count_between(2, 1000);
    /// assert_eq!(needed_a_retry, 0);
    /// ```
    pub fn attempts(&self) -> &Histogram<u64> {
        &self.attempts
    }

    /// Size in bytes of each Kinesis entry sent (data plus partition key; a KPL aggregate is
    /// one entry), one value per entry per attempt; tracks 1 B to 10 MiB with 3 significant
    /// digits.
    ///
    /// ```
    /// use kinesis_producer::ProducerMetrics;
    ///
    /// assert_eq!(ProducerMetrics::default().record_size().mean(), 0.0);
    /// ```
    pub fn record_size(&self) -> &Histogram<u64> {
        &self.record_size
    }

    /// Payload bytes of each `PutRecords` call, one value per call; tracks 1 B to 10 MiB with
    /// 3 significant digits.
    ///
    /// ```
    /// use kinesis_producer::ProducerMetrics;
    ///
    /// assert_eq!(ProducerMetrics::default().batch_size().max(), 0);
    /// ```
    pub fn batch_size(&self) -> &Histogram<u64> {
        &self.batch_size
    }

    /// Entries of each `PutRecords` call, one value per call; tracks 1 to 500 exactly.
    ///
    /// ```
    /// use kinesis_producer::ProducerMetrics;
    ///
    /// assert!(ProducerMetrics::default().batch_entries().is_empty());
    /// ```
    pub fn batch_entries(&self) -> &Histogram<u64> {
        &self.batch_entries
    }
}

impl AddAssign<&ProducerMetrics> for ProducerMetrics {
    /// Adds another snapshot into this one: histograms merged, counters and intervals summed.
    ///
    /// ```
    /// use kinesis_producer::ProducerMetrics;
    ///
    /// let mut total = ProducerMetrics::default();
    /// let snapshot = ProducerMetrics::default();
    /// total += &snapshot;
    /// assert_eq!(total.records_published(), 0);
    /// ```
    fn add_assign(&mut self, rhs: &ProducerMetrics) {
        self.interval = self.interval.saturating_add(rhs.interval);
        self.bytes_published = self.bytes_published.saturating_add(rhs.bytes_published);
        self.records_failed = self.records_failed.saturating_add(rhs.records_failed);
        self.retried_attempts = self.retried_attempts.saturating_add(rhs.retried_attempts);
        self.shard_prediction_errors = self
            .shard_prediction_errors
            .saturating_add(rhs.shard_prediction_errors);
        merge(&mut self.latency, &rhs.latency);
        merge(&mut self.attempts, &rhs.attempts);
        merge(&mut self.record_size, &rhs.record_size);
        merge(&mut self.batch_size, &rhs.batch_size);
        merge(&mut self.batch_entries, &rhs.batch_entries);
    }
}

impl AddAssign for ProducerMetrics {
    /// Adds another snapshot into this one: histograms merged, counters and intervals summed.
    ///
    /// ```
    /// use kinesis_producer::ProducerMetrics;
    ///
    /// let mut total = ProducerMetrics::default();
    /// total += ProducerMetrics::default();
    /// assert_eq!(total.put_records_calls(), 0);
    /// ```
    fn add_assign(&mut self, rhs: ProducerMetrics) {
        *self += &rhs;
    }
}

impl Add for ProducerMetrics {
    type Output = ProducerMetrics;

    /// The combination of two snapshots: histograms merged, counters and intervals summed.
    ///
    /// ```
    /// use kinesis_producer::ProducerMetrics;
    ///
    /// let total = ProducerMetrics::default() + ProducerMetrics::default();
    /// assert_eq!(total.records_failed(), 0);
    /// ```
    fn add(mut self, rhs: ProducerMetrics) -> ProducerMetrics {
        self += &rhs;
        self
    }
}

impl Add<&ProducerMetrics> for ProducerMetrics {
    type Output = ProducerMetrics;

    /// The combination of two snapshots: histograms merged, counters and intervals summed.
    ///
    /// ```
    /// use kinesis_producer::ProducerMetrics;
    ///
    /// let snapshot = ProducerMetrics::default();
    /// let total = ProducerMetrics::default() + &snapshot;
    /// assert_eq!(total.retried_attempts(), 0);
    /// ```
    fn add(mut self, rhs: &ProducerMetrics) -> ProducerMetrics {
        self += rhs;
        self
    }
}

impl Sum for ProducerMetrics {
    /// The combination of all snapshots; the empty snapshot for none.
    ///
    /// ```
    /// use kinesis_producer::ProducerMetrics;
    ///
    /// let snapshots = vec![ProducerMetrics::default(), ProducerMetrics::default()];
    /// let total: ProducerMetrics = snapshots.into_iter().sum();
    /// assert_eq!(total.records_published(), 0);
    /// ```
    fn sum<I: Iterator<Item = ProducerMetrics>>(iter: I) -> ProducerMetrics {
        iter.fold(ProducerMetrics::default(), Add::add)
    }
}

impl<'a> Sum<&'a ProducerMetrics> for ProducerMetrics {
    /// The combination of all snapshots; the empty snapshot for none.
    ///
    /// ```
    /// use kinesis_producer::ProducerMetrics;
    ///
    /// let snapshots = [ProducerMetrics::default(), ProducerMetrics::default()];
    /// let total: ProducerMetrics = snapshots.iter().sum();
    /// assert_eq!(total.put_records_calls(), 0);
    /// ```
    fn sum<I: Iterator<Item = &'a ProducerMetrics>>(iter: I) -> ProducerMetrics {
        iter.fold(ProducerMetrics::default(), Add::add)
    }
}

/// Bytes with a binary unit: `512 B`, `1.50 KiB`, `10.00 MiB`.
struct HumanBytes(f64);

impl fmt::Display for HumanBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
        let mut value = self.0;
        if value < 1024.0 {
            return write!(f, "{value:.0} B");
        }
        let mut unit = UNITS[0];
        for next in UNITS {
            if value < 1024.0 {
                break;
            }
            value /= 1024.0;
            unit = next;
        }
        write!(f, "{value:.2} {unit}")
    }
}

impl fmt::Display for ProducerMetrics {
    /// A one-line human summary, for example
    /// `interval 10.000 s: 1200 records published (120.0 records/s, 33.75 KiB/s), success rate
    /// 98.36 %, 0 failed, 20 retried attempts, 0 shard prediction errors, latency ms mean 12.3 /
    /// p50 11 / p95 30 / p99 45 / max 60, attempts max 3, mean record size 288 B, mean batch
    /// size 14.06 KiB (50.0 entries), 24 PutRecords calls (2.4 calls/s)`.
    ///
    /// ```
    /// use kinesis_producer::ProducerMetrics;
    ///
    /// let summary = ProducerMetrics::default().to_string();
    /// assert!(summary.contains("0 records published"));
    /// assert!(summary.contains("success rate 100.00 %"));
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let published = self.records_published();
        write!(
            f,
            "interval {:.3} s: {published} records published",
            self.interval.as_secs_f64()
        )?;
        match (self.records_per_second(), self.bytes_per_second()) {
            (Some(records), Some(bytes)) => {
                write!(f, " ({records:.1} records/s, {}/s)", HumanBytes(bytes))?;
            }
            _ => write!(f, " (no throughput: zero interval)")?,
        }
        write!(
            f,
            ", success rate {:.2} %, {} failed, {} retried attempts, {} shard prediction errors",
            self.success_rate() * 100.0,
            self.records_failed,
            self.retried_attempts,
            self.shard_prediction_errors
        )?;
        if self.latency.is_empty() {
            write!(f, ", latency n/a")?;
        } else {
            write!(
                f,
                ", latency ms mean {:.1} / p50 {} / p95 {} / p99 {} / max {}",
                self.latency.mean(),
                self.latency.value_at_quantile(0.50),
                self.latency.value_at_quantile(0.95),
                self.latency.value_at_quantile(0.99),
                self.latency.max()
            )?;
        }
        if !self.attempts.is_empty() {
            write!(f, ", attempts max {}", self.attempts.max())?;
        }
        if !self.record_size.is_empty() {
            write!(
                f,
                ", mean record size {}",
                HumanBytes(self.record_size.mean())
            )?;
        }
        if !self.batch_size.is_empty() {
            write!(
                f,
                ", mean batch size {} ({:.1} entries)",
                HumanBytes(self.batch_size.mean()),
                self.batch_entries.mean()
            )?;
        }
        let calls = self.put_records_calls();
        write!(f, ", {calls} PutRecords calls")?;
        if let Some(per_second) = per_second(calls, self.interval) {
            write!(f, " ({per_second:.1} calls/s)")?;
        }
        Ok(())
    }
}

/// What a [`MetricsRecorder`] guards: the metrics since `since`.
#[derive(Debug)]
struct Current {
    since: Instant,
    metrics: ProducerMetrics,
}

/// The recorder the pipeline writes into: thread-safe, cheap (one uncontended lock per call)
/// and never panicking (values beyond a histogram's range are clamped into it).
/// [`take`](Self::take) swaps out the metrics since the previous take.
#[derive(Debug)]
pub(crate) struct MetricsRecorder {
    current: Mutex<Current>,
}

impl MetricsRecorder {
    /// A recorder whose first interval starts at `now`.
    pub(crate) fn new(now: Instant) -> Self {
        Self {
            current: Mutex::new(Current {
                since: now,
                metrics: ProducerMetrics::default(),
            }),
        }
    }

    /// Runs `f` on the current metrics. A poisoned lock is used anyway: every update leaves
    /// the metrics consistent enough to report.
    fn with<R>(&self, f: impl FnOnce(&mut Current) -> R) -> R {
        let mut current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut current)
    }

    /// One user record published: `latency` from acceptance to success, the `attempts` it took
    /// (the successful one included) and its payload `user_bytes`.
    pub(crate) fn published(&self, latency: Duration, attempts: u32, user_bytes: usize) {
        // Whole milliseconds, rounded up (a 0.3 ms latency counts as 1 ms).
        let nanos = latency.as_nanos();
        let millis = u64::try_from(nanos.div_ceil(1_000_000)).unwrap_or(u64::MAX);
        self.with(|current| {
            let metrics = &mut current.metrics;
            record_clamped(&mut metrics.latency, millis);
            record_clamped(&mut metrics.attempts, u64::from(attempts));
            metrics.bytes_published = metrics
                .bytes_published
                .saturating_add(u64::try_from(user_bytes).unwrap_or(u64::MAX));
        });
    }

    /// `records` user records failed for good (handed back to the caller).
    pub(crate) fn failed(&self, records: u64) {
        self.with(|current| {
            current.metrics.records_failed = current.metrics.records_failed.saturating_add(records);
        });
    }

    /// A failed attempt of `records` user records that will be retried.
    pub(crate) fn retried(&self, records: u64) {
        self.with(|current| {
            current.metrics.retried_attempts =
                current.metrics.retried_attempts.saturating_add(records);
        });
    }

    /// One `PutRecords` call answered, of `entries` entries and `payload_bytes` bytes.
    pub(crate) fn put_records_call(&self, entries: usize, payload_bytes: usize) {
        let entries = u64::try_from(entries).unwrap_or(u64::MAX);
        let payload_bytes = u64::try_from(payload_bytes).unwrap_or(u64::MAX);
        self.with(|current| {
            record_clamped(&mut current.metrics.batch_entries, entries);
            record_clamped(&mut current.metrics.batch_size, payload_bytes);
        });
    }

    /// One Kinesis entry of `bytes` bytes sent (an aggregate is one entry).
    pub(crate) fn entry_sent(&self, bytes: usize) {
        let bytes = u64::try_from(bytes).unwrap_or(u64::MAX);
        self.with(|current| record_clamped(&mut current.metrics.record_size, bytes));
    }

    /// `records` user records stored in another shard than predicted.
    pub(crate) fn mispredicted(&self, records: u64) {
        self.with(|current| {
            current.metrics.shard_prediction_errors = current
                .metrics
                .shard_prediction_errors
                .saturating_add(records);
        });
    }

    /// Swap-and-reset: the metrics since the previous take (or creation), with that interval;
    /// the next interval starts at `now`.
    pub(crate) fn take(&self, now: Instant) -> ProducerMetrics {
        // Allocate the fresh histograms outside the lock.
        let fresh = ProducerMetrics::default();
        let (mut metrics, since) = self.with(|current| {
            let since = std::mem::replace(&mut current.since, now);
            (std::mem::replace(&mut current.metrics, fresh), since)
        });
        metrics.interval = now.saturating_duration_since(since);
        metrics
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn start() -> Instant {
        Instant::now()
    }

    #[test]
    fn every_histogram_can_be_created() {
        let metrics = ProducerMetrics::default();
        assert_eq!(metrics.latency().high(), LATENCY_MAX_MS);
        assert_eq!(metrics.latency().sigfig(), 3);
        assert_eq!(metrics.attempts().high(), ATTEMPTS_MAX);
        assert_eq!(metrics.attempts().sigfig(), 2);
        assert_eq!(metrics.record_size().high(), SIZE_MAX_BYTES);
        assert_eq!(metrics.batch_size().high(), SIZE_MAX_BYTES);
        assert_eq!(metrics.batch_entries().high(), BATCH_ENTRIES_MAX);
        for h in [
            metrics.latency(),
            metrics.attempts(),
            metrics.record_size(),
            metrics.batch_size(),
            metrics.batch_entries(),
        ] {
            assert_eq!(h.low(), 1);
            assert!(h.is_empty());
        }
    }

    #[test]
    fn records_and_takes() {
        let t0 = start();
        let recorder = MetricsRecorder::new(t0);
        recorder.published(Duration::from_millis(10), 1, 100);
        recorder.published(Duration::from_millis(20), 1, 200);
        recorder.published(Duration::from_millis(30), 3, 300);
        recorder.retried(2);
        recorder.failed(1);
        recorder.mispredicted(4);
        recorder.entry_sent(150);
        recorder.entry_sent(250);
        recorder.put_records_call(2, 400);
        recorder.put_records_call(1, 350);

        let metrics = recorder.take(t0 + Duration::from_secs(2));
        assert_eq!(metrics.interval(), Duration::from_secs(2));
        assert_eq!(metrics.records_published(), 3);
        assert_eq!(metrics.bytes_published(), 600);
        assert_eq!(metrics.records_failed(), 1);
        assert_eq!(metrics.retried_attempts(), 2);
        assert_eq!(metrics.shard_prediction_errors(), 4);
        assert_eq!(metrics.put_records_calls(), 2);
        assert_eq!(metrics.latency().len(), 3);
        assert_eq!(metrics.latency().min(), 10);
        assert_eq!(metrics.latency().max(), 30);
        assert_eq!(metrics.latency().mean(), 20.0);
        assert_eq!(metrics.latency().value_at_quantile(0.5), 20);
        assert_eq!(metrics.attempts().max(), 3);
        assert_eq!(metrics.attempts().count_at(1), 2);
        assert_eq!(metrics.record_size().len(), 2);
        assert_eq!(metrics.record_size().mean(), 200.0);
        assert_eq!(metrics.batch_size().len(), 2);
        assert_eq!(metrics.batch_size().mean(), 375.0);
        assert_eq!(metrics.batch_entries().count_at(2), 1);
        assert_eq!(metrics.batch_entries().count_at(1), 1);
        assert_eq!(metrics.records_per_second(), Some(1.5));
        assert_eq!(metrics.bytes_per_second(), Some(300.0));
        // 3 published of 3 + 2 retried + 1 failed attempts.
        assert_eq!(metrics.success_rate(), 0.5);
    }

    #[test]
    fn take_resets_and_starts_the_next_interval() {
        let t0 = start();
        let recorder = MetricsRecorder::new(t0);
        recorder.published(Duration::from_millis(5), 1, 10);
        recorder.failed(1);
        recorder.retried(1);
        recorder.mispredicted(1);
        recorder.entry_sent(10);
        recorder.put_records_call(1, 10);
        let first = recorder.take(t0 + Duration::from_secs(1));
        assert_eq!(first.records_published(), 1);

        let second = recorder.take(t0 + Duration::from_secs(4));
        assert_eq!(second.interval(), Duration::from_secs(3));
        assert_eq!(second.records_published(), 0);
        assert_eq!(second.bytes_published(), 0);
        assert_eq!(second.records_failed(), 0);
        assert_eq!(second.retried_attempts(), 0);
        assert_eq!(second.shard_prediction_errors(), 0);
        assert_eq!(second.put_records_calls(), 0);
        assert!(second.latency().is_empty());
        assert!(second.attempts().is_empty());
        assert!(second.record_size().is_empty());
        assert!(second.batch_size().is_empty());
        assert!(second.batch_entries().is_empty());
        assert_eq!(second.records_per_second(), Some(0.0));

        recorder.published(Duration::from_millis(7), 2, 70);
        let third = recorder.take(t0 + Duration::from_secs(5));
        assert_eq!(third.interval(), Duration::from_secs(1));
        assert_eq!(third.records_published(), 1);
        assert_eq!(third.latency().max(), 7);
    }

    #[test]
    fn take_with_an_earlier_instant_gives_a_zero_interval() {
        let t0 = start();
        let recorder = MetricsRecorder::new(t0 + Duration::from_secs(1));
        let metrics = recorder.take(t0);
        assert_eq!(metrics.interval(), Duration::ZERO);
    }

    #[test]
    fn recorder_is_shared_across_threads() {
        let t0 = start();
        let recorder = std::sync::Arc::new(MetricsRecorder::new(t0));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let recorder = recorder.clone();
                std::thread::spawn(move || {
                    for _ in 0..250 {
                        recorder.published(Duration::from_millis(1), 1, 1);
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        let metrics = recorder.take(t0 + Duration::from_secs(1));
        assert_eq!(metrics.records_published(), 1000);
        assert_eq!(metrics.bytes_published(), 1000);
    }

    #[test]
    fn add_combines_counts_histograms_and_intervals() {
        let t0 = start();
        let a = MetricsRecorder::new(t0);
        a.published(Duration::from_millis(10), 1, 100);
        a.retried(1);
        a.mispredicted(1);
        a.entry_sent(100);
        a.put_records_call(1, 100);
        let a = a.take(t0 + Duration::from_secs(10));

        let b = MetricsRecorder::new(t0);
        b.published(Duration::from_millis(30), 2, 300);
        b.published(Duration::from_millis(50), 1, 500);
        b.failed(2);
        b.entry_sent(300);
        b.entry_sent(500);
        b.put_records_call(2, 800);
        let b = b.take(t0 + Duration::from_secs(5));

        let check = |sum: &ProducerMetrics| {
            assert_eq!(sum.interval(), Duration::from_secs(15));
            assert_eq!(sum.records_published(), 3);
            assert_eq!(sum.bytes_published(), 900);
            assert_eq!(sum.records_failed(), 2);
            assert_eq!(sum.retried_attempts(), 1);
            assert_eq!(sum.shard_prediction_errors(), 1);
            assert_eq!(sum.put_records_calls(), 2);
            assert_eq!(sum.latency().len(), 3);
            assert_eq!(sum.latency().min(), 10);
            assert_eq!(sum.latency().max(), 50);
            assert_eq!(sum.latency().mean(), 30.0);
            assert_eq!(sum.attempts().len(), 3);
            assert_eq!(sum.attempts().max(), 2);
            assert_eq!(sum.record_size().len(), 3);
            assert_eq!(sum.batch_size().len(), 2);
            assert_eq!(sum.batch_entries().len(), 2);
            assert_eq!(sum.records_per_second(), Some(0.2));
            assert_eq!(sum.bytes_per_second(), Some(60.0));
            // 3 published of 3 + 1 retried + 2 failed attempts.
            assert_eq!(sum.success_rate(), 0.5);
        };

        check(&(a.clone() + b.clone()));
        check(&(b.clone() + &a));
        let mut assigned = a.clone();
        assigned += b.clone();
        check(&assigned);
        let mut assigned = ProducerMetrics::default();
        assigned += &a;
        assigned += &b;
        check(&assigned);
        check(&[a.clone(), b.clone()].iter().sum());
        check(&vec![a.clone(), b.clone()].into_iter().sum());

        // The empty snapshot is neutral.
        let same = a.clone() + ProducerMetrics::default();
        assert_eq!(same.interval(), a.interval());
        assert_eq!(same.records_published(), a.records_published());
        assert_eq!(same.latency(), a.latency());
        assert_eq!(same.record_size(), a.record_size());
        let none: ProducerMetrics = std::iter::empty::<ProducerMetrics>().sum();
        assert_eq!(none.records_published(), 0);
        assert_eq!(none.interval(), Duration::ZERO);
    }

    #[test]
    fn nothing_happened() {
        let t0 = start();
        let metrics = MetricsRecorder::new(t0).take(t0 + Duration::from_secs(1));
        assert_eq!(metrics.success_rate(), 1.0);
        assert_eq!(metrics.records_per_second(), Some(0.0));
        assert_eq!(metrics.bytes_per_second(), Some(0.0));

        let empty = ProducerMetrics::default();
        assert_eq!(empty.success_rate(), 1.0);
        assert_eq!(empty.records_per_second(), None);
        assert_eq!(empty.bytes_per_second(), None);
    }

    #[test]
    fn zero_interval_has_no_throughput() {
        let t0 = start();
        let recorder = MetricsRecorder::new(t0);
        recorder.published(Duration::from_millis(1), 1, 10);
        recorder.put_records_call(1, 10);
        let metrics = recorder.take(t0);
        assert_eq!(metrics.interval(), Duration::ZERO);
        assert_eq!(metrics.records_published(), 1);
        assert_eq!(metrics.records_per_second(), None);
        assert_eq!(metrics.bytes_per_second(), None);
        let summary = metrics.to_string();
        assert!(
            summary.contains("no throughput: zero interval"),
            "{summary}"
        );
        assert!(!summary.contains("calls/s"), "{summary}");
    }

    #[test]
    fn success_rate_edge_cases() {
        let t0 = start();
        let only_failures = MetricsRecorder::new(t0);
        only_failures.failed(3);
        only_failures.retried(5);
        assert_eq!(only_failures.take(t0).success_rate(), 0.0);

        let all_good = MetricsRecorder::new(t0);
        all_good.published(Duration::from_millis(1), 1, 1);
        assert_eq!(all_good.take(t0).success_rate(), 1.0);

        let saturated = MetricsRecorder::new(t0);
        saturated.published(Duration::from_millis(1), 1, 1);
        saturated.retried(u64::MAX);
        saturated.failed(u64::MAX);
        let rate = saturated.take(t0).success_rate();
        assert!((0.0..1e-18).contains(&rate), "{rate}");
    }

    #[test]
    fn out_of_range_values_are_clamped_without_panicking() {
        let t0 = start();
        let recorder = MetricsRecorder::new(t0);
        recorder.published(Duration::ZERO, 0, 0);
        recorder.published(Duration::from_nanos(300_000), 1, 1);
        recorder.published(Duration::MAX, u32::MAX, usize::MAX);
        recorder.published(Duration::from_secs(7200), 5_000, 1);
        recorder.entry_sent(0);
        recorder.entry_sent(usize::MAX);
        recorder.put_records_call(0, 0);
        recorder.put_records_call(usize::MAX, usize::MAX);
        recorder.put_records_call(501, 11 * 1024 * 1024);
        recorder.failed(u64::MAX);
        recorder.failed(u64::MAX);
        recorder.retried(u64::MAX);
        recorder.retried(1);
        recorder.mispredicted(u64::MAX);
        recorder.mispredicted(u64::MAX);
        let metrics = recorder.take(t0 + Duration::from_secs(1));

        assert_eq!(metrics.records_published(), 4);
        assert_eq!(metrics.bytes_published(), u64::MAX);
        assert_eq!(metrics.records_failed(), u64::MAX);
        assert_eq!(metrics.retried_attempts(), u64::MAX);
        assert_eq!(metrics.shard_prediction_errors(), u64::MAX);

        let latency = metrics.latency();
        assert_eq!(
            latency.min(),
            1,
            "zero and sub-millisecond latencies count as 1 ms"
        );
        assert_eq!(latency.count_at(1), 2);
        assert!(latency.equivalent(latency.max(), LATENCY_MAX_MS));
        assert_eq!(latency.count_at(LATENCY_MAX_MS), 2);

        let attempts = metrics.attempts();
        assert_eq!(attempts.min(), 1);
        assert!(attempts.equivalent(attempts.max(), ATTEMPTS_MAX));
        assert_eq!(attempts.count_at(ATTEMPTS_MAX), 2);

        for sizes in [metrics.record_size(), metrics.batch_size()] {
            assert_eq!(sizes.min(), 1);
            assert!(sizes.equivalent(sizes.max(), SIZE_MAX_BYTES));
        }
        assert_eq!(metrics.batch_size().count_at(SIZE_MAX_BYTES), 2);
        assert_eq!(metrics.batch_entries().min(), 1);
        assert_eq!(metrics.batch_entries().max(), BATCH_ENTRIES_MAX);
        assert_eq!(metrics.batch_entries().count_at(BATCH_ENTRIES_MAX), 2);

        // Saturated snapshots still add and display.
        let doubled = metrics.clone() + metrics;
        assert_eq!(doubled.records_failed(), u64::MAX);
        assert_eq!(doubled.records_published(), 8);
        assert!(!doubled.to_string().is_empty());
    }

    #[test]
    fn latency_is_rounded_up_to_whole_milliseconds() {
        let t0 = start();
        let recorder = MetricsRecorder::new(t0);
        recorder.published(Duration::from_micros(1_001), 1, 1);
        recorder.published(Duration::from_millis(2), 1, 1);
        let metrics = recorder.take(t0);
        assert_eq!(metrics.latency().count_at(2), 2);
    }

    #[test]
    fn display_contains_the_key_figures() {
        let t0 = start();
        let recorder = MetricsRecorder::new(t0);
        for ms in 1..=100 {
            recorder.published(
                Duration::from_millis(ms),
                if ms == 100 { 3 } else { 1 },
                1024,
            );
        }
        recorder.retried(4);
        recorder.failed(1);
        recorder.mispredicted(2);
        for _ in 0..100 {
            recorder.entry_sent(1024);
        }
        for _ in 0..4 {
            recorder.put_records_call(25, 1536);
        }
        let summary = recorder.take(t0 + Duration::from_secs(10)).to_string();

        for figure in [
            "interval 10.000 s",
            "100 records published",
            "10.0 records/s",
            "10.00 KiB/s",
            // 100 / (100 + 4 + 1)
            "success rate 95.24 %",
            "1 failed",
            "4 retried attempts",
            "2 shard prediction errors",
            "latency ms mean 50.5 / p50 50 / p95 95 / p99 99 / max 100",
            "attempts max 3",
            "mean record size 1.00 KiB",
            "mean batch size 1.50 KiB (25.0 entries)",
            "4 PutRecords calls (0.4 calls/s)",
        ] {
            assert!(
                summary.contains(figure),
                "{figure:?} missing from {summary:?}"
            );
        }
        assert!(!summary.contains('\n'));
    }

    #[test]
    fn display_of_the_empty_snapshot() {
        let summary = ProducerMetrics::default().to_string();
        assert!(summary.contains("interval 0.000 s"), "{summary}");
        assert!(summary.contains("0 records published"), "{summary}");
        assert!(summary.contains("success rate 100.00 %"), "{summary}");
        assert!(summary.contains("latency n/a"), "{summary}");
        assert!(summary.contains("0 PutRecords calls"), "{summary}");
    }

    #[test]
    fn human_bytes() {
        assert_eq!(HumanBytes(0.0).to_string(), "0 B");
        assert_eq!(HumanBytes(1023.0).to_string(), "1023 B");
        assert_eq!(HumanBytes(1536.0).to_string(), "1.50 KiB");
        assert_eq!(HumanBytes(10.0 * 1024.0 * 1024.0).to_string(), "10.00 MiB");
        assert_eq!(
            HumanBytes(3.0 * 1024.0 * 1024.0 * 1024.0).to_string(),
            "3.00 GiB"
        );
        assert!(HumanBytes(f64::MAX).to_string().ends_with(" TiB"));
    }
}
