//! What the producer's engine reports through the telemetry seam, under the KPL's names, units,
//! levels and dimensions (`kinesis_kcl_compat::metrics::kpl`): each metric without dimensions,
//! then per stream, then (per-shard metrics) per stream and shard, down to the configured
//! granularity, as the KPL publishes them.

use std::time::Duration;

use kinesis_client::Telemetry;
use kinesis_client::telemetry::{Kind, Measurement};
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

impl KplMetrics {
    pub(crate) fn new(telemetry: Telemetry, stream: String, granularity: Granularity) -> Self {
        Self {
            telemetry,
            stream,
            granularity,
        }
    }

    /// Reports `value` of `name` at every level down to the granularity: no dimension, the
    /// stream, and (when `shard` is given) the stream and shard; `extra` is added at each.
    fn report(
        &self,
        name: &str,
        kind: Kind,
        shard: Option<&str>,
        extra: Option<(&'static str, &str)>,
        value: f64,
    ) {
        let spec = spec(name);
        if !self.telemetry.is_enabled(spec.level) {
            return;
        }
        let mut dims: [(&str, &str); 3] = [("", ""); 3];
        let mut len = 0;
        if let Some(e) = extra {
            dims[0] = e;
            len = 1;
        }
        let emit = |dims: &[(&str, &str)]| {
            self.telemetry.record(&Measurement::new(
                name, spec.unit, kind, spec.level, dims, value,
            ));
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

    /// Whether any KPL metric is kept (cheap check before a loop).
    pub(crate) fn enabled(&self) -> bool {
        self.telemetry
            .is_enabled(kinesis_client::telemetry::MetricsLevel::Summary)
    }

    /// A record accepted (`UserRecordsReceived`, per stream).
    pub(crate) fn received(&self) {
        self.report(kpl::USER_RECORDS_RECEIVED, Kind::Counter, None, None, 1.0);
    }

    /// User records accepted and not answered yet (`UserRecordsPending`, per stream).
    pub(crate) fn pending(&self, records: u64) {
        self.report(
            kpl::USER_RECORDS_PENDING,
            Kind::Gauge,
            None,
            None,
            records as f64,
        );
    }

    /// A user record sent for the first time, after `buffered` in the producer
    /// (`BufferingTime`, per shard).
    pub(crate) fn buffered(&self, shard: Option<&str>, buffered: Duration) {
        let ms = buffered.as_secs_f64() * 1000.0;
        self.report(kpl::BUFFERING_TIME, Kind::Distribution, shard, None, ms);
    }

    /// A `PutRecords` request of `entries` Kinesis records carrying `user_records` user
    /// records (per stream).
    pub(crate) fn request(&self, entries: usize, user_records: usize) {
        self.report(
            kpl::KINESIS_RECORDS_PER_PUT_RECORDS_REQUEST,
            Kind::Distribution,
            None,
            None,
            entries as f64,
        );
        self.report(
            kpl::USER_RECORDS_PER_PUT_RECORDS_REQUEST,
            Kind::Distribution,
            None,
            None,
            user_records as f64,
        );
    }

    /// A `PutRecords` request answered after `took` (`RequestTime`, per stream).
    pub(crate) fn request_time(&self, took: Duration) {
        let ms = took.as_secs_f64() * 1000.0;
        self.report(kpl::REQUEST_TIME, Kind::Distribution, None, None, ms);
    }

    /// A Kinesis record stored in `shard`: `bytes` long, carrying `user_records` (per shard).
    pub(crate) fn kinesis_record_put(&self, shard: &str, bytes: usize, user_records: usize) {
        let s = Some(shard);
        self.report(kpl::KINESIS_RECORDS_PUT, Kind::Counter, s, None, 1.0);
        self.report(
            kpl::KINESIS_RECORDS_DATA_PUT,
            Kind::Distribution,
            s,
            None,
            bytes as f64,
        );
        self.report(
            kpl::USER_RECORDS_PER_KINESIS_RECORD,
            Kind::Distribution,
            s,
            None,
            user_records as f64,
        );
        self.report(kpl::ALL_ERRORS, Kind::Counter, s, None, 0.0);
    }

    /// A Kinesis record that failed with `code` (`ErrorsByCode`, `AllErrors`, per shard when
    /// its shard was predicted).
    pub(crate) fn kinesis_record_failed(&self, shard: Option<&str>, code: &str) {
        self.report(
            kpl::ERRORS_BY_CODE,
            Kind::Counter,
            shard,
            Some((dimension::ERROR_CODE, code)),
            1.0,
        );
        self.report(kpl::ALL_ERRORS, Kind::Counter, shard, None, 1.0);
    }

    /// A user record stored in `shard` after `attempts`: `UserRecordsPut`,
    /// `UserRecordsDataPut` and `RetriesPerRecord` (per shard).
    pub(crate) fn user_record_put(&self, shard: &str, bytes: usize, attempts: u32) {
        let s = Some(shard);
        self.report(kpl::USER_RECORDS_PUT, Kind::Counter, s, None, 1.0);
        self.report(
            kpl::USER_RECORDS_DATA_PUT,
            Kind::Distribution,
            s,
            None,
            bytes as f64,
        );
        let retries = f64::from(attempts.saturating_sub(1));
        self.report(
            kpl::RETRIES_PER_RECORD,
            Kind::Distribution,
            s,
            None,
            retries,
        );
    }

    /// A user record given up after its time to live or its attempts (`UserRecordExpired`,
    /// per shard when predicted).
    pub(crate) fn expired(&self, shard: Option<&str>) {
        self.report(kpl::USER_RECORD_EXPIRED, Kind::Counter, shard, None, 1.0);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use kinesis_client::telemetry::{MetricsLevel, Recorder};

    use super::*;

    #[derive(Debug, Default)]
    struct Keep(Mutex<Vec<(String, Vec<String>)>>);

    impl Recorder for Keep {
        fn level(&self) -> MetricsLevel {
            MetricsLevel::Detailed
        }
        fn record(&self, m: &Measurement<'_>) {
            let dims = m
                .dimensions
                .iter()
                .map(|(n, v)| format!("{n}={v}"))
                .collect();
            self.0.lock().unwrap().push((m.name.to_owned(), dims));
        }
    }

    fn metrics(granularity: Granularity) -> (KplMetrics, Arc<Keep>) {
        let keep = Arc::new(Keep::default());
        let m = KplMetrics::new(Telemetry::new(Arc::clone(&keep)), "s".into(), granularity);
        (m, keep)
    }

    #[test]
    fn every_level_down_to_the_granularity() {
        let (m, keep) = metrics(Granularity::Shard);
        m.user_record_put("shardId-1", 10, 1);
        m.received();
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
        m.kinesis_record_failed(Some("shardId-1"), "ProvisionedThroughputExceededException");
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
