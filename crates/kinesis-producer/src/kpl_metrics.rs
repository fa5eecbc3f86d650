//! What the producer's engine reports through the telemetry seam, under the KPL's names, units,
//! levels and dimensions (`kinesis_kcl_compat::metrics::kpl`): each metric without dimensions,
//! then per stream, then (per-shard metrics) per stream and shard, down to the configured
//! granularity, as the KPL publishes them.

use std::time::Duration;

use kinesis_client::Telemetry;
use kinesis_client::telemetry::{Kind, Summary};
use kinesis_kcl_compat::metrics::MetricSpec;
use kinesis_kcl_compat::metrics::kpl::{self, Granularity, dimension};

/// The engine's KPL metrics.
#[derive(Debug, Clone)]
pub(crate) struct KplMetrics {
    telemetry: Telemetry,
    stream: String,
    granularity: Granularity,
}

fn spec(name: &str) -> &'static MetricSpec {
    // Every name used below is in the table (a test checks them all).
    kpl::metric(name).unwrap_or(&kpl::METRICS[0])
}

fn one(value: f64) -> Summary {
    Summary::repeated(value, 1)
}

/// What the records of one shard came to in one batch: added up per record on the hot path,
/// reported once per batch.
#[derive(Debug, Default)]
struct ShardFigures {
    shard: Option<String>,
    buffering: Summary,
    kinesis_records: u64,
    kinesis_bytes: Summary,
    per_kinesis_record: Summary,
    user_bytes: Summary,
    retries: Summary,
    errors: Vec<(String, u64)>,
    expired: u64,
}

/// The per-record figures of one `PutRecords` request (or its answer), by shard.
#[derive(Debug, Default)]
pub(crate) struct BatchFigures {
    shards: Vec<ShardFigures>,
}

impl BatchFigures {
    fn shard(&mut self, shard: Option<&str>) -> &mut ShardFigures {
        let at = match self.shards.iter().position(|f| f.shard.as_deref() == shard) {
            Some(at) => at,
            None => {
                self.shards.push(ShardFigures {
                    shard: shard.map(str::to_owned),
                    ..ShardFigures::default()
                });
                self.shards.len() - 1
            }
        };
        &mut self.shards[at]
    }

    /// A user record sent for the first time after `buffered` in the producer.
    pub(crate) fn buffered(&mut self, shard: Option<&str>, buffered: Duration) {
        self.shard(shard)
            .buffering
            .add(buffered.as_secs_f64() * 1000.0);
    }

    /// A Kinesis record stored in `shard`: `bytes` long, carrying `user_records`.
    pub(crate) fn kinesis_record_put(&mut self, shard: &str, bytes: usize, user_records: usize) {
        let f = self.shard(Some(shard));
        f.kinesis_records += 1;
        f.kinesis_bytes.add(bytes as f64);
        f.per_kinesis_record.add(user_records as f64);
    }

    /// A Kinesis record that failed with `code`.
    pub(crate) fn kinesis_record_failed(&mut self, shard: Option<&str>, code: &str) {
        let f = self.shard(shard);
        match f.errors.iter_mut().find(|(c, _)| c == code) {
            Some((_, n)) => *n += 1,
            None => f.errors.push((code.to_owned(), 1)),
        }
    }

    /// A user record stored in `shard` after `attempts`.
    pub(crate) fn user_record_put(&mut self, shard: &str, bytes: usize, attempts: u32) {
        let f = self.shard(Some(shard));
        f.user_bytes.add(bytes as f64);
        f.retries.add(f64::from(attempts.saturating_sub(1)));
    }

    /// A user record given up after its time to live or its attempts.
    pub(crate) fn expired(&mut self, shard: Option<&str>) {
        self.shard(shard).expired += 1;
    }
}

impl KplMetrics {
    pub(crate) fn new(telemetry: Telemetry, stream: String, granularity: Granularity) -> Self {
        Self {
            telemetry,
            stream,
            granularity,
        }
    }

    /// Reports `summary` of `name` at every level down to the granularity: no dimension, the
    /// stream, and (when `shard` is given) the stream and shard; `extra` is added at each.
    fn report(
        &self,
        name: &str,
        kind: Kind,
        shard: Option<&str>,
        extra: Option<(&'static str, &str)>,
        summary: &Summary,
    ) {
        let spec = spec(name);
        if summary.is_empty() || !self.telemetry.is_enabled(spec.level) {
            return;
        }
        let mut dims: [(&str, &str); 3] = [("", ""); 3];
        let mut len = 0;
        if let Some(e) = extra {
            dims[0] = e;
            len = 1;
        }
        let emit = |dims: &[(&str, &str)]| {
            self.telemetry
                .summary(spec.level, name, spec.unit, kind, dims, summary);
        };
        emit(&dims[..len]);
        if self.granularity == Granularity::Global {
            return;
        }
        dims[len] = (dimension::STREAM_NAME, &self.stream);
        emit(&dims[..=len]);
        if let (Granularity::Shard, Some(shard)) = (self.granularity, shard) {
            dims[len + 1] = (dimension::SHARD_ID, shard);
            emit(&dims[..len + 2]);
        }
    }

    /// Whether any KPL metric is kept (cheap check before adding figures up).
    pub(crate) fn enabled(&self) -> bool {
        self.telemetry
            .is_enabled(kinesis_client::telemetry::MetricsLevel::Summary)
    }

    /// `records` accepted (`UserRecordsReceived`, per stream, one sample of 1 each).
    pub(crate) fn received(&self, records: u64) {
        self.report(
            kpl::USER_RECORDS_RECEIVED,
            Kind::Counter,
            None,
            None,
            &Summary::repeated(1.0, records),
        );
    }

    /// User records accepted and not answered yet (`UserRecordsPending`, per stream).
    pub(crate) fn pending(&self, records: u64) {
        self.report(
            kpl::USER_RECORDS_PENDING,
            Kind::Gauge,
            None,
            None,
            &one(records as f64),
        );
    }

    /// A `PutRecords` request of `entries` Kinesis records carrying `user_records` user
    /// records (per stream).
    pub(crate) fn request(&self, entries: usize, user_records: usize) {
        self.report(
            kpl::KINESIS_RECORDS_PER_PUT_RECORDS_REQUEST,
            Kind::Distribution,
            None,
            None,
            &one(entries as f64),
        );
        self.report(
            kpl::USER_RECORDS_PER_PUT_RECORDS_REQUEST,
            Kind::Distribution,
            None,
            None,
            &one(user_records as f64),
        );
    }

    /// A `PutRecords` request answered after `took` (`RequestTime`, per stream).
    pub(crate) fn request_time(&self, took: Duration) {
        self.report(
            kpl::REQUEST_TIME,
            Kind::Distribution,
            None,
            None,
            &one(took.as_secs_f64() * 1000.0),
        );
    }

    /// Reports what `figures` added up, per shard: `BufferingTime`; `KinesisRecordsPut`,
    /// `KinesisRecordsDataPut`, `UserRecordsPerKinesisRecord` and `AllErrors` (0 for each
    /// stored Kinesis record, 1 for each failed one, which also counts in `ErrorsByCode`);
    /// `UserRecordsPut`, `UserRecordsDataPut`, `RetriesPerRecord`; `UserRecordExpired`.
    pub(crate) fn report_batch(&self, figures: &BatchFigures) {
        for f in &figures.shards {
            let s = f.shard.as_deref();
            self.report(
                kpl::BUFFERING_TIME,
                Kind::Distribution,
                s,
                None,
                &f.buffering,
            );
            let stored = Summary::repeated(1.0, f.kinesis_records);
            self.report(kpl::KINESIS_RECORDS_PUT, Kind::Counter, s, None, &stored);
            self.report(
                kpl::KINESIS_RECORDS_DATA_PUT,
                Kind::Distribution,
                s,
                None,
                &f.kinesis_bytes,
            );
            self.report(
                kpl::USER_RECORDS_PER_KINESIS_RECORD,
                Kind::Distribution,
                s,
                None,
                &f.per_kinesis_record,
            );
            let mut all_errors = Summary::repeated(0.0, f.kinesis_records);
            for (code, n) in &f.errors {
                let errors = Summary::repeated(1.0, *n);
                self.report(
                    kpl::ERRORS_BY_CODE,
                    Kind::Counter,
                    s,
                    Some((dimension::ERROR_CODE, code)),
                    &errors,
                );
                for _ in 0..*n {
                    all_errors.add(1.0);
                }
            }
            self.report(kpl::ALL_ERRORS, Kind::Counter, s, None, &all_errors);
            self.report(
                kpl::USER_RECORDS_PUT,
                Kind::Counter,
                s,
                None,
                &Summary::repeated(1.0, f.user_bytes.count),
            );
            self.report(
                kpl::USER_RECORDS_DATA_PUT,
                Kind::Distribution,
                s,
                None,
                &f.user_bytes,
            );
            self.report(
                kpl::RETRIES_PER_RECORD,
                Kind::Distribution,
                s,
                None,
                &f.retries,
            );
            self.report(
                kpl::USER_RECORD_EXPIRED,
                Kind::Counter,
                s,
                None,
                &Summary::repeated(1.0, f.expired),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use kinesis_client::telemetry::{Measurement, MetricsLevel, Recorder};

    use super::*;

    #[derive(Debug, Default)]
    /// Keeps each reported (name, dimensions) once, and every sample's name and value.
    struct Keep(Mutex<Vec<(String, Vec<String>)>>, Mutex<Vec<(String, f64)>>);

    impl Recorder for Keep {
        fn level(&self) -> MetricsLevel {
            MetricsLevel::Detailed
        }
        fn record(&self, m: &Measurement<'_>) {
            let dims: Vec<String> = m
                .dimensions
                .iter()
                .map(|(n, v)| format!("{n}={v}"))
                .collect();
            let mut seen = self.0.lock().unwrap();
            if !seen.iter().any(|(n, d)| n == m.name && *d == dims) {
                seen.push((m.name.to_owned(), dims));
            }
            self.1.lock().unwrap().push((m.name.to_owned(), m.value));
        }
    }

    fn metrics(granularity: Granularity) -> (KplMetrics, Arc<Keep>) {
        let keep = Arc::new(Keep(Mutex::default(), Mutex::default()));
        let m = KplMetrics::new(Telemetry::new(Arc::clone(&keep)), "s".into(), granularity);
        (m, keep)
    }

    #[test]
    fn every_level_down_to_the_granularity() {
        let (m, keep) = metrics(Granularity::Shard);
        let mut figures = BatchFigures::default();
        figures.user_record_put("shardId-1", 10, 1);
        m.report_batch(&figures);
        m.received(1);
        let seen = keep.0.lock().unwrap().clone();
        let put: Vec<&Vec<String>> = seen
            .iter()
            .filter(|(n, _)| n == "UserRecordsPut")
            .map(|(_, d)| d)
            .collect();
        assert_eq!(
            put,
            [
                &vec![],
                &vec!["StreamName=s".to_owned()],
                &vec!["StreamName=s".to_owned(), "ShardId=shardId-1".to_owned()]
            ]
        );
        let received = seen
            .iter()
            .filter(|(n, _)| n == "UserRecordsReceived")
            .count();
        assert_eq!(received, 2, "a per-stream metric has no shard level");

        let (m, keep) = metrics(Granularity::Global);
        let mut figures = BatchFigures::default();
        figures.kinesis_record_failed(Some("shardId-1"), "ProvisionedThroughputExceededException");
        m.report_batch(&figures);
        let seen = keep.0.lock().unwrap().clone();
        assert_eq!(
            seen,
            [
                (
                    "ErrorsByCode".to_owned(),
                    vec!["ErrorCode=ProvisionedThroughputExceededException".to_owned()]
                ),
                ("AllErrors".to_owned(), vec![]),
            ]
        );
    }

    #[test]
    fn a_batch_is_reported_as_the_per_record_samples_would_be() {
        let (m, keep) = metrics(Granularity::Global);
        let mut figures = BatchFigures::default();
        for (bytes, attempts) in [(10, 1), (30, 3), (20, 1)] {
            figures.user_record_put("shardId-1", bytes, attempts);
        }
        figures.kinesis_record_put("shardId-1", 70, 3);
        m.report_batch(&figures);
        let values = keep.1.lock().unwrap().clone();
        let of = |name: &str| -> Vec<f64> {
            values
                .iter()
                .filter(|(n, _)| n == name)
                .map(|(_, v)| *v)
                .collect()
        };
        assert_eq!(of("UserRecordsPut"), [1.0, 1.0, 1.0]);
        let mut bytes = of("UserRecordsDataPut");
        bytes.sort_by(f64::total_cmp);
        assert_eq!(bytes, [10.0, 20.0, 30.0]);
        let retries: f64 = of("RetriesPerRecord").iter().sum();
        assert_eq!(retries, 2.0);
        assert_eq!(of("AllErrors"), [0.0]);
    }

    #[test]
    fn every_name_is_a_kpl_metric() {
        for name in [
            kpl::USER_RECORDS_RECEIVED,
            kpl::USER_RECORDS_PENDING,
            kpl::BUFFERING_TIME,
            kpl::KINESIS_RECORDS_PER_PUT_RECORDS_REQUEST,
            kpl::USER_RECORDS_PER_PUT_RECORDS_REQUEST,
            kpl::REQUEST_TIME,
            kpl::KINESIS_RECORDS_PUT,
            kpl::KINESIS_RECORDS_DATA_PUT,
            kpl::USER_RECORDS_PER_KINESIS_RECORD,
            kpl::ALL_ERRORS,
            kpl::ERRORS_BY_CODE,
            kpl::USER_RECORDS_PUT,
            kpl::USER_RECORDS_DATA_PUT,
            kpl::RETRIES_PER_RECORD,
            kpl::USER_RECORD_EXPIRED,
        ] {
            assert!(kpl::metric(name).is_some(), "{name}");
        }
    }
}
