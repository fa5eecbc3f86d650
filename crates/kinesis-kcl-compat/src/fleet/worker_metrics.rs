//! [`WorkerMetricStats`]: a KCL 3.x worker's utilisation report, which the leader needs before
//! it assigns the worker any lease.

use std::collections::{BTreeMap, HashMap};

use super::read::{Row, integer};
use crate::lease::{
    AttributeValue, EntityType, Item, LeaseRowError, attr, format_number, number_f64,
};

/// The short name of the CPU metric (`WorkerMetricType.CPU`).
pub const CPU: &str = "C";

const LAST_UPDATE_TIME: &str = "lut";
const METRIC_STATS: &str = "sts";
const OPERATING_RANGE: &str = "opr";
const PROPERTIES: &str = "properties";
const SUPPORT_CODE: &str = "sup";
const SUPPORT_CODE_UPDATE: &str = "slu";

/// The support code a KCL 3.5.1 worker reports: the last of its breaking features
/// (`SINGLE_TABLE_MIGRATION` = 1).
pub const SUPPORT_CODE_3_5: i64 = 1;

/// How many values of each metric a report keeps (`noOfPersistedMetricsPerWorkerMetrics`).
pub const PERSISTED_VALUES: usize = 10;

/// A worker's row in single-table mode (`entityType = WORKER_METRIC_STATS`, `leaseKey` = the
/// worker id, the same string as its `leaseOwner`).
///
/// - `lut`: the report's time, epoch **seconds**; a leader ignores rows older than 60 s.
/// - `sts`: per metric short name ([`CPU`] is `"C"`), the last values in percent, oldest first;
///   `-1` stands for a failed capture, and a worker whose last value is `-1` gets no leases.
/// - `opr`: per metric, the operating range: `[max utilisation]`, 100 for the CPU.
/// - `sup` / `slu`: the support code and when it was last written (3.5).
///
/// A worker with empty `sts` and `opr` is a "default" worker: the leader balances it by the
/// throughput of its leases (the Java KCL reports so off EC2, ECS and EKS).
///
/// ```
/// use kinesis_kcl_compat::fleet::{CPU, WorkerMetricStats};
///
/// let mut stats = WorkerMetricStats::default_worker("w-1", 1_764_000_000);
/// stats.push_value(CPU, 12.5);
/// assert_eq!(stats.metric_stats[CPU], vec![12.5]);
/// assert_eq!(stats.operating_range[CPU], vec![100]);
/// assert!(!stats.is_failing());
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct WorkerMetricStats {
    /// The worker id (`leaseKey`).
    pub worker_id: String,
    /// `lut`: epoch seconds of the report.
    pub last_update_time: i64,
    /// `sts`: metric short name to its last values, oldest first.
    pub metric_stats: BTreeMap<String, Vec<f64>>,
    /// `opr`: metric short name to `[max utilisation, ...]`.
    pub operating_range: BTreeMap<String, Vec<i64>>,
    /// `properties` (the KCL never writes it; kept when read).
    pub properties: Option<BTreeMap<String, String>>,
    /// `sup`.
    pub support_code: Option<i64>,
    /// `slu`: epoch seconds.
    pub support_code_updated: Option<i64>,
}

impl WorkerMetricStats {
    /// A report with no metric yet (a "default" worker), at `now_seconds`, with the support
    /// code of KCL 3.5.
    pub fn default_worker(worker_id: impl Into<String>, now_seconds: i64) -> Self {
        Self {
            worker_id: worker_id.into(),
            last_update_time: now_seconds,
            metric_stats: BTreeMap::new(),
            operating_range: BTreeMap::new(),
            properties: None,
            support_code: Some(SUPPORT_CODE_3_5),
            support_code_updated: Some(now_seconds),
        }
    }

    /// Appends `value` (percent, or −1 for a failed capture, rounded to 6 decimals as the KCL
    /// rounds) to `metric`, keeping the last [`PERSISTED_VALUES`], and sets its operating range
    /// to `[100]` if it has none.
    pub fn push_value(&mut self, metric: &str, value: f64) {
        let values = self.metric_stats.entry(metric.to_owned()).or_default();
        values.push((value * 1e6).round() / 1e6);
        if values.len() > PERSISTED_VALUES {
            let excess = values.len() - PERSISTED_VALUES;
            values.drain(..excess);
        }
        self.operating_range
            .entry(metric.to_owned())
            .or_insert_with(|| vec![100]);
    }

    /// Whether this is a "default" worker (no metric), which the leader balances by throughput.
    pub fn is_default_worker(&self) -> bool {
        (self.metric_stats.is_empty() && self.operating_range.is_empty())
            || self.metric_stats.contains_key("THROUGHPUT")
    }

    /// Whether the leader accepts the row (`isValidWorkerMetric`): every metric has an operating
    /// range whose first value is not 0.
    pub fn is_valid(&self) -> bool {
        if self.is_default_worker() {
            return true;
        }
        self.metric_stats
            .keys()
            .all(|m| self.operating_range.contains_key(m))
            && self
                .operating_range
                .values()
                .all(|r| r.first().is_some_and(|max| *max != 0))
    }

    /// Whether the last value of some metric is −1 (a failed capture): the leader then gives
    /// this worker no lease.
    pub fn is_failing(&self) -> bool {
        !self.is_default_worker()
            && self
                .metric_stats
                .values()
                .any(|v| v.last().is_some_and(|x| *x == -1.0))
    }

    /// Whether the report is older than `max_age_seconds` at `now_seconds` (the leader uses
    /// 2 × the report period, 60 s).
    pub fn is_expired(&self, now_seconds: i64, max_age_seconds: i64) -> bool {
        now_seconds - self.last_update_time > max_age_seconds
    }

    /// The value the leader balances on: the exponential moving average (α) of the metric's
    /// values, skipping −1; 0 without values.
    pub fn average(&self, metric: &str, alpha: f64) -> f64 {
        let mut average: Option<f64> = None;
        for v in self.metric_stats.get(metric).into_iter().flatten() {
            if *v == -1.0 {
                continue;
            }
            average = Some(match average {
                None => *v,
                Some(a) => alpha * v + (1.0 - alpha) * a,
            });
        }
        average.unwrap_or(0.0)
    }

    /// The item the KCL writes (single-table mode).
    pub fn to_item(&self) -> Item {
        let numbers = |values: &mut dyn Iterator<Item = String>| {
            AttributeValue::L(values.map(AttributeValue::N).collect())
        };
        let mut item: Item = HashMap::new();
        item.insert(
            attr::LEASE_KEY.to_owned(),
            AttributeValue::S(self.worker_id.clone()),
        );
        item.insert(
            attr::ENTITY_TYPE.to_owned(),
            AttributeValue::S(EntityType::WorkerMetricStats.as_str().to_owned()),
        );
        item.insert(
            LAST_UPDATE_TIME.to_owned(),
            AttributeValue::N(self.last_update_time.to_string()),
        );
        item.insert(
            METRIC_STATS.to_owned(),
            AttributeValue::M(
                self.metric_stats
                    .iter()
                    .map(|(k, v)| (k.clone(), numbers(&mut v.iter().map(|x| format_number(*x)))))
                    .collect(),
            ),
        );
        item.insert(
            OPERATING_RANGE.to_owned(),
            AttributeValue::M(
                self.operating_range
                    .iter()
                    .map(|(k, v)| (k.clone(), numbers(&mut v.iter().map(i64::to_string))))
                    .collect(),
            ),
        );
        if let Some(properties) = &self.properties {
            item.insert(
                PROPERTIES.to_owned(),
                AttributeValue::M(
                    properties
                        .iter()
                        .map(|(k, v)| (k.clone(), AttributeValue::S(v.clone())))
                        .collect(),
                ),
            );
        }
        if let Some(code) = self.support_code {
            item.insert(SUPPORT_CODE.to_owned(), AttributeValue::N(code.to_string()));
        }
        if let Some(at) = self.support_code_updated {
            item.insert(
                SUPPORT_CODE_UPDATE.to_owned(),
                AttributeValue::N(at.to_string()),
            );
        }
        item
    }

    /// Reads a worker-metrics row (single-table mode).
    ///
    /// # Errors
    ///
    /// A [`LeaseRowError`] when `leaseKey` or `lut` is missing, or an attribute has another type
    /// than the KCL writes (the Java leader skips such a row too).
    pub fn from_item(item: &Item) -> Result<Self, LeaseRowError> {
        let row = Row::new(item);
        let worker_id = row.required_s(attr::LEASE_KEY)?.to_owned();
        let last_update_time = row.required_i64(LAST_UPDATE_TIME)?;
        let mut metric_stats = BTreeMap::new();
        for (k, v) in row.optional_m(METRIC_STATS)?.into_iter().flatten() {
            metric_stats.insert(k.clone(), row.numbers(METRIC_STATS, v, number_f64)?);
        }
        let mut operating_range = BTreeMap::new();
        for (k, v) in row.optional_m(OPERATING_RANGE)?.into_iter().flatten() {
            operating_range.insert(k.clone(), row.numbers(OPERATING_RANGE, v, integer)?);
        }
        let properties = row.optional_m(PROPERTIES)?.map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_s().ok().map(|s| (k.clone(), s.clone())))
                .collect()
        });
        Ok(Self {
            worker_id,
            last_update_time,
            metric_stats,
            operating_range,
            properties,
            support_code: row.optional_i64(SUPPORT_CODE)?,
            support_code_updated: row.optional_i64(SUPPORT_CODE_UPDATE)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kcl_row_reads_back_as_written() {
        let mut stats = WorkerMetricStats::default_worker("w", 100);
        for v in 0..12 {
            stats.push_value(CPU, f64::from(v) + 0.1234567);
        }
        assert_eq!(stats.metric_stats[CPU].len(), PERSISTED_VALUES);
        assert_eq!(stats.metric_stats[CPU][0], 2.123457);
        assert_eq!(WorkerMetricStats::from_item(&stats.to_item()), Ok(stats));
    }

    #[test]
    fn validity_failure_and_expiry_follow_the_kcl() {
        let mut stats = WorkerMetricStats::default_worker("w", 100);
        assert!(stats.is_default_worker() && stats.is_valid() && !stats.is_failing());
        stats.push_value(CPU, -1.0);
        assert!(stats.is_failing());
        stats.push_value(CPU, 50.0);
        assert!(!stats.is_failing());
        assert_eq!(stats.average(CPU, 0.5), 50.0);
        stats.operating_range.insert(CPU.into(), vec![0]);
        assert!(!stats.is_valid());
        assert!(stats.is_expired(161, 60) && !stats.is_expired(160, 60));
    }

    #[test]
    fn a_wrong_type_is_an_error_naming_the_attribute() {
        let mut item = WorkerMetricStats::default_worker("w", 1).to_item();
        item.insert("lut".into(), AttributeValue::S("1".into()));
        let err = WorkerMetricStats::from_item(&item).unwrap_err();
        assert_eq!((err.lease_key(), err.attribute()), (Some("w"), "lut"));
    }
}
