//! The telemetry seam: one small interface every crate of the workspace reports into.
//!
//! Components (the operation stack, the lease coordinator, the consumer's shard tasks, the
//! producer's engine) hold a [`Telemetry`] handle and report two things through it:
//!
//! - **measurements** ([`Measurement`]): a named value with a [`Unit`], a [`Kind`] (counter,
//!   gauge or distribution), a [`MetricsLevel`] and dimensions, under the names the Java KCL and
//!   KPL publish (listed in `kinesis_kcl_compat::metrics`);
//! - **events** ([`Event`]): the typed events each crate already defines (the coordinator's lease
//!   events, the consumer's diagnostic events), passed by reference and read back with
//!   [`downcast_ref`](trait.Event.html#method.downcast_ref).
//!
//! A [`Recorder`] receives both. `kinesis-metrics` implements recorders that publish to
//! CloudWatch, write CloudWatch embedded-metric-format lines, or feed the `metrics` facade; the
//! consumer's and coordinator's event streams are recorders too. The default handle,
//! [`Telemetry::none`], holds no recorder: every report is one branch on an `Option` and nothing
//! is built.
//!
//! ```
//! use std::sync::{Arc, Mutex};
//! use kinesis_client::telemetry::{Event, Kind, Measurement, MetricsLevel, Recorder, Telemetry, Unit};
//!
//! #[derive(Debug, Default)]
//! struct Sum(Mutex<f64>);
//!
//! impl Recorder for Sum {
//!     fn level(&self) -> MetricsLevel {
//!         MetricsLevel::Summary
//!     }
//!     fn record(&self, m: &Measurement<'_>) {
//!         if m.name == "RecordsProcessed" {
//!             *self.0.lock().unwrap() += m.value;
//!         }
//!     }
//! }
//!
//! let sum = Arc::new(Sum::default());
//! let telemetry = Telemetry::new(Arc::clone(&sum));
//! let dims = [("Operation", "ProcessTask")];
//! telemetry.count(MetricsLevel::Summary, "RecordsProcessed", &dims, 3);
//! telemetry.count(MetricsLevel::Detailed, "NotKept", &dims, 1); // above the recorder's level
//! assert_eq!(*sum.0.lock().unwrap(), 3.0);
//!
//! // The default reports nowhere and costs one branch.
//! Telemetry::none().count(MetricsLevel::Summary, "RecordsProcessed", &dims, 3);
//! ```

#[cfg(feature = "sdk")]
mod broadcast;
mod event;
mod level;
mod measurement;
mod summary;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

#[cfg(feature = "sdk")]
pub use broadcast::Broadcast;
pub use event::Event;
pub use level::{MetricsLevel, Unit, UnknownName};
pub use measurement::{Kind, Measurement};
pub use summary::Summary;

/// Receives what components report through a [`Telemetry`] handle.
///
/// Calls come from the reporting task, inline: a recorder must not block (aggregate in memory,
/// hand over to a channel). Measurements above [`level`](Recorder::level) are not passed to it.
pub trait Recorder: Send + Sync + fmt::Debug + 'static {
    /// The most detailed level this recorder keeps; [`MetricsLevel::None`] keeps no measurement
    /// (a recorder of events only).
    fn level(&self) -> MetricsLevel;

    /// One measurement at or below [`level`](Recorder::level).
    fn record(&self, measurement: &Measurement<'_>);

    /// Many samples of one measurement at once (`measurement.value` is not meaningful). The
    /// default passes [`Summary::samples`] to [`record`](Recorder::record) one by one; a recorder
    /// that aggregates adds the summary directly.
    fn record_summary(&self, measurement: &Measurement<'_>, summary: &Summary) {
        for value in summary.samples() {
            self.record(&Measurement {
                value,
                ..*measurement
            });
        }
    }

    /// One event. The default ignores it.
    fn event(&self, event: &dyn Event) {
        let _ = event;
    }
}

impl<R: Recorder + ?Sized> Recorder for Arc<R> {
    fn level(&self) -> MetricsLevel {
        (**self).level()
    }
    fn record(&self, measurement: &Measurement<'_>) {
        (**self).record(measurement);
    }
    fn record_summary(&self, measurement: &Measurement<'_>, summary: &Summary) {
        (**self).record_summary(measurement, summary);
    }
    fn event(&self, event: &dyn Event) {
        (**self).event(event);
    }
}

/// A cheap-clone handle that components report into; it fans out to its recorders.
///
/// [`Telemetry::none`] (the [`Default`]) has none, and every report is a no-op.
///
/// ```
/// use kinesis_client::telemetry::{MetricsLevel, Telemetry};
///
/// let t = Telemetry::none();
/// assert!(!t.is_enabled(MetricsLevel::Summary));
/// assert!(!t.has_recorders());
/// ```
#[derive(Clone, Default)]
pub struct Telemetry {
    inner: Option<Arc<Recorders>>,
}

struct Recorders {
    all: Vec<Arc<dyn Recorder>>,
    /// The most detailed level any recorder keeps.
    level: MetricsLevel,
}

impl fmt::Debug for Telemetry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner {
            None => f.write_str("Telemetry(none)"),
            Some(r) => f.debug_tuple("Telemetry").field(&r.all).finish(),
        }
    }
}

/// The more detailed of two levels (`None` < `Summary` < `Detailed`).
fn most_detailed(a: MetricsLevel, b: MetricsLevel) -> MetricsLevel {
    if a.enables(MetricsLevel::Detailed) || b.enables(MetricsLevel::Detailed) {
        MetricsLevel::Detailed
    } else if a.enables(MetricsLevel::Summary) || b.enables(MetricsLevel::Summary) {
        MetricsLevel::Summary
    } else {
        MetricsLevel::None
    }
}

impl Telemetry {
    /// A handle with no recorder: reports cost one branch.
    pub const fn none() -> Self {
        Self { inner: None }
    }

    /// A handle reporting to `recorder`.
    pub fn new(recorder: impl Recorder) -> Self {
        Self::none().with(recorder)
    }

    /// This handle's recorders and `recorder`.
    ///
    /// ```
    /// use kinesis_client::telemetry::{Measurement, MetricsLevel, Recorder, Telemetry};
    ///
    /// #[derive(Debug)]
    /// struct Noop(MetricsLevel);
    /// impl Recorder for Noop {
    ///     fn level(&self) -> MetricsLevel { self.0 }
    ///     fn record(&self, _: &Measurement<'_>) {}
    /// }
    ///
    /// let t = Telemetry::new(Noop(MetricsLevel::Summary)).with(Noop(MetricsLevel::Detailed));
    /// assert!(t.is_enabled(MetricsLevel::Detailed));
    /// ```
    #[must_use]
    pub fn with(self, recorder: impl Recorder) -> Self {
        let recorder: Arc<dyn Recorder> = Arc::new(recorder);
        let (mut all, level) = match self.inner {
            None => (Vec::new(), MetricsLevel::None),
            Some(r) => (r.all.clone(), r.level),
        };
        let level = most_detailed(level, recorder.level());
        all.push(recorder);
        Self {
            inner: Some(Arc::new(Recorders { all, level })),
        }
    }

    /// This handle's recorders and `other`'s.
    #[must_use]
    pub fn and(self, other: &Telemetry) -> Self {
        let Some(theirs) = &other.inner else {
            return self;
        };
        let mut merged = self;
        for r in &theirs.all {
            merged = merged.with(Arc::clone(r));
        }
        merged
    }

    /// Whether any recorder is attached.
    pub fn has_recorders(&self) -> bool {
        self.inner.is_some()
    }

    /// Whether a measurement of `level` reaches any recorder: check it before computing a costly
    /// value.
    #[inline]
    pub fn is_enabled(&self, level: MetricsLevel) -> bool {
        match &self.inner {
            None => false,
            Some(r) => r.level.enables(level),
        }
    }

    /// Passes `measurement` to every recorder whose level enables it.
    #[inline]
    pub fn record(&self, measurement: &Measurement<'_>) {
        if let Some(r) = &self.inner
            && r.level.enables(measurement.level)
        {
            for recorder in &r.all {
                if recorder.level().enables(measurement.level) {
                    recorder.record(measurement);
                }
            }
        }
    }

    /// Passes `summary`, many samples of one measurement, to every recorder whose level
    /// enables it (nothing when it is empty).
    #[inline]
    pub fn summary(
        &self,
        level: MetricsLevel,
        name: &str,
        unit: Unit,
        kind: Kind,
        dimensions: &[(&str, &str)],
        summary: &Summary,
    ) {
        if summary.is_empty() || !self.is_enabled(level) {
            return;
        }
        let m = Measurement::new(name, unit, kind, level, dimensions, summary.sum);
        if let Some(r) = &self.inner {
            for recorder in &r.all {
                if recorder.level().enables(level) {
                    recorder.record_summary(&m, summary);
                }
            }
        }
    }

    /// Passes `event` to every recorder.
    #[inline]
    pub fn event(&self, event: &dyn Event) {
        if let Some(r) = &self.inner {
            for recorder in &r.all {
                recorder.event(event);
            }
        }
    }

    /// Records a counter: `n` more of `name`.
    #[inline]
    pub fn count(&self, level: MetricsLevel, name: &str, dimensions: &[(&str, &str)], n: u64) {
        if self.is_enabled(level) {
            self.record(&Measurement::new(
                name,
                Unit::Count,
                Kind::Counter,
                level,
                dimensions,
                n as f64,
            ));
        }
    }

    /// Records the outcome of an operation as the KCL does: `1` for success, `0` for failure
    /// (a count whose average is the success rate).
    #[inline]
    pub fn success(&self, level: MetricsLevel, name: &str, dimensions: &[(&str, &str)], ok: bool) {
        if self.is_enabled(level) {
            let value = if ok { 1.0 } else { 0.0 };
            self.record(&Measurement::new(
                name,
                Unit::Count,
                Kind::Distribution,
                level,
                dimensions,
                value,
            ));
        }
    }

    /// Records a duration in milliseconds (fractions kept).
    #[inline]
    pub fn time(
        &self,
        level: MetricsLevel,
        name: &str,
        dimensions: &[(&str, &str)],
        elapsed: Duration,
    ) {
        if self.is_enabled(level) {
            let ms = elapsed.as_secs_f64() * 1000.0;
            self.record(&Measurement::new(
                name,
                Unit::Milliseconds,
                Kind::Distribution,
                level,
                dimensions,
                ms,
            ));
        }
    }

    /// Records a gauge: the current value of `name` (leases held, lag).
    #[inline]
    pub fn gauge(
        &self,
        level: MetricsLevel,
        name: &str,
        unit: Unit,
        dimensions: &[(&str, &str)],
        value: f64,
    ) {
        if self.is_enabled(level) {
            self.record(&Measurement::new(
                name,
                unit,
                Kind::Gauge,
                level,
                dimensions,
                value,
            ));
        }
    }

    /// Records one value of a distribution (a size, records per batch).
    #[inline]
    pub fn distribution(
        &self,
        level: MetricsLevel,
        name: &str,
        unit: Unit,
        dimensions: &[(&str, &str)],
        value: f64,
    ) {
        if self.is_enabled(level) {
            self.record(&Measurement::new(
                name,
                unit,
                Kind::Distribution,
                level,
                dimensions,
                value,
            ));
        }
    }
}

impl<R: Recorder> From<R> for Telemetry {
    fn from(recorder: R) -> Self {
        Telemetry::new(recorder)
    }
}

#[cfg(test)]
mod tests;

/// What the operation stack reports for every AWS call, at the DETAILED level, with one
/// dimension, `Operation`, naming the API (`GetRecords`, `PutRecords`, `UpdateItem`,
/// `PutMetricData`). The Java KCL and KPL have no equivalent; a dashboard of theirs ignores them.
///
/// ```
/// use kinesis_client::telemetry::call;
///
/// assert_eq!(call::METRICS, ["Success", "Time", "Throttles", "Retries"]);
/// ```
pub mod call {
    use super::MetricsLevel;

    /// The level of every call metric.
    pub const LEVEL: MetricsLevel = MetricsLevel::Detailed;
    /// The dimension naming the API.
    pub const OPERATION: &str = "Operation";
    /// 1 when the call succeeded (after retries), 0 when it failed (Count).
    pub const SUCCESS: &str = "Success";
    /// The call's time, retries and backoff included (Milliseconds).
    pub const TIME: &str = "Time";
    /// Attempts the service throttled (Count).
    pub const THROTTLES: &str = "Throttles";
    /// Attempts retried (Count).
    pub const RETRIES: &str = "Retries";
    /// Every call metric.
    pub const METRICS: [&str; 4] = [SUCCESS, TIME, THROTTLES, RETRIES];
}
