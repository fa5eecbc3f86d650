//! [`MetricsFacade`]: the seam's measurements as `metrics` crate counters, gauges and
//! histograms, for whatever exporter the application installed: Prometheus
//! (`metrics-exporter-prometheus`), CloudWatch embedded metric format log lines
//! (`metrics_cloudwatch_embedded`, no API calls), StatsD, OpenTelemetry bridges.

use std::collections::HashSet;
use std::sync::Mutex;

use kinesis_client::telemetry::{Kind, Measurement, MetricsLevel, Recorder, Unit};
use metrics::{Key, Label, Metadata};

/// Forwards every measurement to the `metrics` crate's current recorder: a [`Kind::Counter`]
/// becomes a counter increment, a [`Kind::Gauge`] a gauge, a [`Kind::Distribution`] a histogram
/// value; the dimensions become labels and the unit is described once per metric name.
///
/// ```
/// use kinesis_client::Telemetry;
/// use kinesis_client::telemetry::MetricsLevel;
/// use kinesis_metrics::MetricsFacade;
///
/// // With an exporter installed (`metrics_exporter_prometheus::PrometheusBuilder::new()
/// // .install()`, or `metrics_cloudwatch_embedded::Builder::new().cloudwatch_namespace("my-app")
/// // .init()`), hand the consumer or producer builder this telemetry:
/// let telemetry = Telemetry::new(MetricsFacade::new(MetricsLevel::Summary));
/// # let _ = telemetry;
/// ```
#[derive(Debug)]
pub struct MetricsFacade {
    level: MetricsLevel,
    described: Mutex<HashSet<String>>,
}

static METADATA: Metadata<'static> =
    Metadata::new(module_path!(), metrics::Level::INFO, Some(module_path!()));

fn unit(unit: Unit) -> metrics::Unit {
    match unit {
        Unit::Count => metrics::Unit::Count,
        Unit::Milliseconds => metrics::Unit::Milliseconds,
        Unit::Bytes => metrics::Unit::Bytes,
    }
}

impl MetricsFacade {
    /// Forwards measurements up to `level`.
    pub fn new(level: MetricsLevel) -> Self {
        Self {
            level,
            described: Mutex::new(HashSet::new()),
        }
    }
}

impl Recorder for MetricsFacade {
    fn level(&self) -> MetricsLevel {
        self.level
    }

    fn record(&self, m: &Measurement<'_>) {
        if !self.level.enables(m.level) {
            return;
        }
        let labels: Vec<Label> = m
            .dimensions
            .iter()
            .map(|(n, v)| Label::new((*n).to_owned(), (*v).to_owned()))
            .collect();
        let key = Key::from_parts(m.name.to_owned(), labels);
        let first = self
            .described
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(m.name.to_owned());
        metrics::with_recorder(|r| {
            let name = key.name_shared();
            match m.kind {
                Kind::Counter => {
                    if first {
                        r.describe_counter(name.clone(), Some(unit(m.unit)), "".into());
                    }
                    // Counts are whole numbers; a negative or fractional one is not a count.
                    r.register_counter(&key, &METADATA)
                        .increment(m.value.max(0.0) as u64);
                }
                Kind::Gauge => {
                    if first {
                        r.describe_gauge(name.clone(), Some(unit(m.unit)), "".into());
                    }
                    r.register_gauge(&key, &METADATA).set(m.value);
                }
                _ => {
                    if first {
                        r.describe_histogram(name.clone(), Some(unit(m.unit)), "".into());
                    }
                    r.register_histogram(&key, &METADATA).record(m.value);
                }
            }
        });
    }
}
