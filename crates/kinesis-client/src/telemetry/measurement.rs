//! [`Measurement`]: one reported value.

use super::level::{MetricsLevel, Unit};

/// What a value means, for recorders that keep kinds apart (the `metrics` facade has counters,
/// gauges and histograms; CloudWatch aggregates all three into statistic sets).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// How many more of something happened (records processed, leases taken).
    Counter,
    /// The current value of something (leases held, milliseconds behind).
    Gauge,
    /// One sample of a distribution (a call's time, a record's size, a 0/1 success).
    Distribution,
}

/// One value reported through the seam: a metric name, unit, kind, level and dimensions.
///
/// ```
/// use kinesis_client::telemetry::{Kind, Measurement, MetricsLevel, Unit};
///
/// let dims = [("Operation", "RenewAllLeases"), ("WorkerIdentifier", "worker-1")];
/// let m = Measurement::new("CurrentLeases", Unit::Count, Kind::Gauge, MetricsLevel::Summary, &dims, 4.0);
/// assert_eq!(m.dimension("WorkerIdentifier"), Some("worker-1"));
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Measurement<'a> {
    /// The metric name (`RecordsProcessed`, `RenewLease.Time`).
    pub name: &'a str,
    /// Its unit.
    pub unit: Unit,
    /// Its kind.
    pub kind: Kind,
    /// The level it is published at.
    pub level: MetricsLevel,
    /// Its dimensions: `(name, value)` pairs, `Operation` first by convention.
    pub dimensions: &'a [(&'a str, &'a str)],
    /// The value.
    pub value: f64,
}

impl<'a> Measurement<'a> {
    /// A measurement.
    pub const fn new(
        name: &'a str,
        unit: Unit,
        kind: Kind,
        level: MetricsLevel,
        dimensions: &'a [(&'a str, &'a str)],
        value: f64,
    ) -> Self {
        Self {
            name,
            unit,
            kind,
            level,
            dimensions,
            value,
        }
    }

    /// The value of the dimension called `name`.
    pub fn dimension(&self, name: &str) -> Option<&'a str> {
        self.dimensions
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| *v)
    }
}
