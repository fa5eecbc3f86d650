//! Local aggregation: every value recorded during one interval for one metric (name, unit and
//! dimensions) becomes one statistic set (sample count, sum, minimum, maximum), as the KCL's
//! `CWPublisherRunnable` and the KPL aggregate before they call `PutMetricData`.

use std::collections::HashMap;

use kinesis_client::telemetry::Summary;
use kinesis_kcl_compat::metrics::Unit;

/// What identifies one metric: its name, unit and dimensions (sorted by name).
///
/// ```
/// use kinesis_kcl_compat::metrics::Unit;
/// use kinesis_metrics::MetricKey;
///
/// let a = MetricKey::new("RecordsProcessed", Unit::Count, [("ShardId", "shardId-1"), ("Operation", "ProcessTask")]);
/// let b = MetricKey::new("RecordsProcessed", Unit::Count, [("Operation", "ProcessTask"), ("ShardId", "shardId-1")]);
/// assert_eq!(a, b);
/// assert_eq!(a.dimensions()[0].0, "Operation");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MetricKey {
    name: String,
    unit: Unit,
    dimensions: Vec<(String, String)>,
}

impl MetricKey {
    /// The key of metric `name` in `unit` with `dimensions` (their order does not matter).
    pub fn new<'a>(
        name: impl Into<String>,
        unit: Unit,
        dimensions: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Self {
        let mut dimensions: Vec<(String, String)> = dimensions
            .into_iter()
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
            .collect();
        dimensions.sort();
        dimensions.dedup_by(|a, b| a.0 == b.0);
        Self {
            name: name.into(),
            unit,
            dimensions,
        }
    }

    /// The metric's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The unit.
    pub fn unit(&self) -> Unit {
        self.unit
    }

    /// The dimensions, sorted by name.
    pub fn dimensions(&self) -> &[(String, String)] {
        &self.dimensions
    }
}

/// A CloudWatch statistic set: what one interval's values of one metric add up to.
///
/// ```
/// use kinesis_metrics::StatisticSet;
///
/// let mut s = StatisticSet::of(3.0);
/// s.add(5.0);
/// s.add(1.0);
/// assert_eq!((s.sample_count, s.sum, s.minimum, s.maximum), (3.0, 9.0, 1.0, 5.0));
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StatisticSet {
    /// How many values.
    pub sample_count: f64,
    /// Their sum.
    pub sum: f64,
    /// The smallest.
    pub minimum: f64,
    /// The largest.
    pub maximum: f64,
}

impl StatisticSet {
    /// The set of one value.
    pub fn of(value: f64) -> Self {
        Self {
            sample_count: 1.0,
            sum: value,
            minimum: value,
            maximum: value,
        }
    }

    /// The set of a summary's samples (`None` when it has none).
    pub fn of_summary(summary: &Summary) -> Option<Self> {
        (!summary.is_empty()).then_some(Self {
            sample_count: summary.count as f64,
            sum: summary.sum,
            minimum: summary.min,
            maximum: summary.max,
        })
    }

    /// Adds another set's samples.
    pub fn merge(&mut self, other: &StatisticSet) {
        self.sample_count += other.sample_count;
        self.sum += other.sum;
        self.minimum = self.minimum.min(other.minimum);
        self.maximum = self.maximum.max(other.maximum);
    }

    /// Adds a value.
    pub fn add(&mut self, value: f64) {
        self.sample_count += 1.0;
        self.sum += value;
        self.minimum = self.minimum.min(value);
        self.maximum = self.maximum.max(value);
    }
}

/// Statistic sets of the current interval, one per metric, bounded in the number of metrics.
///
/// ```
/// use kinesis_kcl_compat::metrics::Unit;
/// use kinesis_metrics::{Aggregator, MetricKey};
///
/// let mut agg = Aggregator::new(2);
/// let key = MetricKey::new("Time", Unit::Milliseconds, [("Operation", "ProcessTask")]);
/// agg.record(key.clone(), 4.0);
/// agg.record(key.clone(), 6.0);
/// agg.record(MetricKey::new("A", Unit::Count, []), 1.0);
/// agg.record(MetricKey::new("B", Unit::Count, []), 1.0); // a third metric: dropped
/// assert_eq!(agg.dropped(), 1);
/// let drained = agg.drain();
/// assert_eq!(drained.len(), 2);
/// assert!(agg.drain().is_empty());
/// ```
#[derive(Debug)]
pub struct Aggregator {
    current: HashMap<MetricKey, StatisticSet>,
    max_metrics: usize,
    dropped: u64,
}

impl Aggregator {
    /// An aggregator of at most `max_metrics` distinct metrics per interval.
    pub fn new(max_metrics: usize) -> Self {
        Self {
            current: HashMap::new(),
            max_metrics,
            dropped: 0,
        }
    }

    /// Adds `value` to `key`'s set. A value that is not finite, or of a new metric when the
    /// interval already holds `max_metrics`, is dropped and counted.
    pub fn record(&mut self, key: MetricKey, value: f64) {
        self.record_set(key, StatisticSet::of(value));
    }

    /// Adds the samples of `set` to `key`'s set, under the same rules (a set whose numbers are
    /// not finite is dropped and counted as its samples).
    pub fn record_set(&mut self, key: MetricKey, set: StatisticSet) {
        let finite = [set.sample_count, set.sum, set.minimum, set.maximum]
            .iter()
            .all(|v| v.is_finite());
        if !finite {
            self.dropped += set.sample_count.max(1.0) as u64;
            return;
        }
        if let Some(current) = self.current.get_mut(&key) {
            current.merge(&set);
        } else if self.current.len() < self.max_metrics {
            self.current.insert(key, set);
        } else {
            self.dropped += set.sample_count as u64;
        }
    }

    /// The interval's sets, sorted by key; the aggregator starts a new interval.
    pub fn drain(&mut self) -> Vec<(MetricKey, StatisticSet)> {
        let mut sets: Vec<(MetricKey, StatisticSet)> = self.current.drain().collect();
        sets.sort_by(|a, b| a.0.cmp(&b.0));
        sets
    }

    /// Values dropped so far.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
}
