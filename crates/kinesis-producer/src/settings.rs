//! [`ProducerSettings`] and [`AggregationSettings`].

use kinesis_kcl_compat::metrics::kpl::Granularity;
use std::time::Duration;

use kinesis_client::Backoff;

use crate::error::{ProduceError, ProduceErrorKind};
use crate::throttle::ThrottleSettings;

const MIB: usize = 1024 * 1024;

/// KPL aggregation: user records packed into one Kinesis record per predicted shard.
///
/// ```
/// use kinesis_producer::AggregationSettings;
///
/// let a = AggregationSettings::default();
/// assert_eq!(a.max_size, 51_200); // the KPL's AggregationMaxSize
/// ```
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AggregationSettings {
    /// The largest aggregate, in bytes (magic, protobuf and checksum, plus the partition key).
    /// Default 51 200, the KPL's `AggregationMaxSize`; at most the maximum record size.
    pub max_size: usize,
    /// The most user records in one aggregate. Default 4 294 967 295 (the KPL's).
    pub max_records: usize,
}

impl Default for AggregationSettings {
    fn default() -> Self {
        Self {
            max_size: 51_200,
            max_records: u32::MAX as usize,
        }
    }
}

impl AggregationSettings {
    /// Sets the largest aggregate in bytes.
    #[must_use]
    pub fn with_max_size(mut self, bytes: usize) -> Self {
        self.max_size = bytes;
        self
    }

    /// Sets the most user records per aggregate (at least 1).
    #[must_use]
    pub fn with_max_records(mut self, records: usize) -> Self {
        self.max_records = records.max(1);
        self
    }
}

/// The producer's settings.
///
/// ```
/// use std::time::Duration;
/// use kinesis_producer::{AggregationSettings, ProducerSettings};
///
/// let s = ProducerSettings::default()
///     .with_aggregation(AggregationSettings::default())
///     .with_linger(Duration::from_millis(50));
/// assert_eq!(s.max_batch_entries, 500);
/// assert_eq!(s.max_batch_bytes, 5 * 1024 * 1024);
/// assert_eq!(s.max_record_size, 1024 * 1024);
/// ```
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq)]
pub struct ProducerSettings {
    /// The most records accepted and not yet stored or failed; `produce` waits beyond it.
    /// Default 65 536.
    pub buffer_records: usize,
    /// The most payload bytes accepted and not yet stored or failed. Default 64 MiB.
    pub buffer_bytes: usize,
    /// How long a record may wait for more to fill its batch (and aggregate). Default 100 ms,
    /// the KPL's `RecordMaxBufferedTime`. A full aggregate does not wait, nor does anything
    /// while at most an eighth of the buffer is free (no more records could join it).
    pub linger: Duration,
    /// The most `PutRecords` calls in flight. Default 24.
    pub max_in_flight: usize,
    /// Entries per `PutRecords` call, 1 to 500. Default 500.
    pub max_batch_entries: usize,
    /// Bytes (payloads plus partition keys) per `PutRecords` call. Default 5 MiB; at most 10 MiB
    /// for streams whose limit was raised. Must match the client's
    /// [`PutLimits`](kinesis_client::PutLimits).
    pub max_batch_bytes: usize,
    /// The stream's maximum record size (payload plus partition key). Default 1 MiB; at most
    /// 10 MiB for streams whose limit was raised.
    pub max_record_size: usize,
    /// KPL aggregation; `None` (the default) sends every record alone.
    pub aggregation: Option<AggregationSettings>,
    /// Per-shard throttling.
    pub throttle: ThrottleSettings,
    /// How long a record may be retried after it was accepted. Default 30 s, the KPL's
    /// `RecordTtl`.
    pub record_ttl: Duration,
    /// The most `PutRecords` attempts per record. Default 10.
    pub max_attempts: u32,
    /// The ceiling of the first pause before a record's retry; doubled per attempt, the pause
    /// itself is random below it (full jitter). Default 100 ms.
    pub retry_base_delay: Duration,
    /// The largest ceiling of a pause before a retry. Default 5 s.
    pub retry_max_delay: Duration,
    /// How often the shard map is read (it is also read at once after a misprediction).
    /// Default 30 s.
    pub shard_map_refresh: Duration,
    /// How often metrics are emitted. Default 30 s.
    pub metrics_interval: Duration,
    /// How finely the KPL metrics reported through the telemetry seam are broken down
    /// (`MetricsGranularity`): every metric is reported without dimensions, and, from
    /// [`Granularity::Stream`] on, with `StreamName`, and at [`Granularity::Shard`] (the KPL's
    /// default) per-shard metrics also with `StreamName` and `ShardId`.
    pub metrics_granularity: Granularity,
}

impl Default for ProducerSettings {
    fn default() -> Self {
        Self {
            buffer_records: 65_536,
            buffer_bytes: 64 * MIB,
            linger: Duration::from_millis(100),
            max_in_flight: 24,
            max_batch_entries: 500,
            max_batch_bytes: 5 * MIB,
            max_record_size: MIB,
            aggregation: None,
            throttle: ThrottleSettings::default(),
            record_ttl: Duration::from_secs(30),
            max_attempts: 10,
            retry_base_delay: Duration::from_millis(100),
            retry_max_delay: Duration::from_secs(5),
            shard_map_refresh: Duration::from_secs(30),
            metrics_interval: Duration::from_secs(30),
            metrics_granularity: Granularity::Shard,
        }
    }
}

impl ProducerSettings {
    /// Sets the buffer bounds.
    #[must_use]
    pub fn with_buffer(mut self, records: usize, bytes: usize) -> Self {
        self.buffer_records = records;
        self.buffer_bytes = bytes;
        self
    }

    /// Sets the linger time.
    #[must_use]
    pub fn with_linger(mut self, linger: Duration) -> Self {
        self.linger = linger;
        self
    }

    /// Sets the most calls in flight.
    #[must_use]
    pub fn with_max_in_flight(mut self, calls: usize) -> Self {
        self.max_in_flight = calls;
        self
    }

    /// Sets the batch limits (entries, bytes).
    #[must_use]
    pub fn with_batch_limits(mut self, entries: usize, bytes: usize) -> Self {
        self.max_batch_entries = entries;
        self.max_batch_bytes = bytes;
        self
    }

    /// Sets the stream's maximum record size.
    #[must_use]
    pub fn with_max_record_size(mut self, bytes: usize) -> Self {
        self.max_record_size = bytes;
        self
    }

    /// Turns KPL aggregation on.
    #[must_use]
    pub fn with_aggregation(mut self, aggregation: AggregationSettings) -> Self {
        self.aggregation = Some(aggregation);
        self
    }

    /// Sets the throttling.
    #[must_use]
    pub fn with_throttle(mut self, throttle: ThrottleSettings) -> Self {
        self.throttle = throttle;
        self
    }

    /// Sets the retry limits: time to live and attempts.
    #[must_use]
    pub fn with_retry_limits(mut self, ttl: Duration, max_attempts: u32) -> Self {
        self.record_ttl = ttl;
        self.max_attempts = max_attempts;
        self
    }

    /// Sets the retry pauses.
    #[must_use]
    pub fn with_retry_delays(mut self, base: Duration, max: Duration) -> Self {
        self.retry_base_delay = base;
        self.retry_max_delay = max.max(base);
        self
    }

    /// Sets how often the shard map is read.
    #[must_use]
    pub fn with_shard_map_refresh(mut self, interval: Duration) -> Self {
        self.shard_map_refresh = interval;
        self
    }

    /// Sets how often metrics are emitted.
    #[must_use]
    pub fn with_metrics_interval(mut self, interval: Duration) -> Self {
        self.metrics_interval = interval;
        self
    }

    /// Sets the granularity of the KPL metrics.
    #[must_use]
    pub fn with_metrics_granularity(mut self, granularity: Granularity) -> Self {
        self.metrics_granularity = granularity;
        self
    }

    /// Checks the settings against the service's limits.
    pub(crate) fn validate(&self) -> Result<(), ProduceError> {
        let bad = |m: String| Err(ProduceError::new(ProduceErrorKind::Setup, m));
        if self.buffer_records == 0 || self.buffer_bytes == 0 {
            return bad("the buffer must hold at least one record and one byte".into());
        }
        if !(1..=500).contains(&self.max_batch_entries) {
            return bad(format!(
                "max_batch_entries must be 1 to 500, got {}",
                self.max_batch_entries
            ));
        }
        if !(1..=10 * MIB).contains(&self.max_batch_bytes) {
            return bad(format!(
                "max_batch_bytes must be 1 to 10 MiB, got {}",
                self.max_batch_bytes
            ));
        }
        if !(1..=10 * MIB).contains(&self.max_record_size) {
            return bad(format!(
                "max_record_size must be 1 to 10 MiB, got {}",
                self.max_record_size
            ));
        }
        if self.max_record_size > self.max_batch_bytes {
            return bad("max_record_size exceeds max_batch_bytes".into());
        }
        if self.buffer_bytes < self.max_record_size {
            return bad("buffer_bytes must hold at least one record of max_record_size".into());
        }
        if self.max_in_flight == 0 || self.max_attempts == 0 {
            return bad("max_in_flight and max_attempts must be at least 1".into());
        }
        if let Some(a) = &self.aggregation
            && !(64..=self.max_record_size).contains(&a.max_size)
        {
            return bad(format!(
                "the aggregate size must be 64 bytes to max_record_size, got {}",
                a.max_size
            ));
        }
        self.throttle
            .validate()
            .map_err(|m| ProduceError::new(ProduceErrorKind::Setup, m))
    }

    /// The backoff of record retries: the ceiling before retry `n` is `retry_base_delay × 2^(n−1)`
    /// up to `retry_max_delay`, and the pause is jittered below it.
    pub(crate) fn retry_backoff(&self) -> Backoff {
        Backoff::new(self.retry_base_delay, self.retry_max_delay)
    }
}
