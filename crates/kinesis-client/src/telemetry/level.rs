//! The unit and level of a measurement, as CloudWatch and the KCL name them.

use std::fmt;
use std::str::FromStr;

/// The CloudWatch unit of a metric.
///
/// ```
/// use kinesis_client::telemetry::Unit;
///
/// assert_eq!(Unit::Milliseconds.as_str(), "Milliseconds");
/// assert_eq!("Bytes".parse::<Unit>(), Ok(Unit::Bytes));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Unit {
    /// `Count`.
    Count,
    /// `Milliseconds`.
    Milliseconds,
    /// `Bytes`.
    Bytes,
}

impl Unit {
    /// The unit's name as CloudWatch spells it.
    pub const fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Milliseconds => "Milliseconds",
            Unit::Bytes => "Bytes",
        }
    }
}

impl fmt::Display for Unit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Unit {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, UnknownName> {
        match s {
            "Count" => Ok(Unit::Count),
            "Milliseconds" => Ok(Unit::Milliseconds),
            "Bytes" => Ok(Unit::Bytes),
            _ => Err(UnknownName(s.to_owned())),
        }
    }
}

/// A name that is not one of the expected ones (a unit or a metrics level).
///
/// ```
/// use kinesis_client::telemetry::MetricsLevel;
///
/// let err = "VERBOSE".parse::<MetricsLevel>().unwrap_err();
/// assert_eq!(err.to_string(), "unknown name \"VERBOSE\"");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownName(pub String);

impl fmt::Display for UnknownName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown name {:?}", self.0)
    }
}

impl std::error::Error for UnknownName {}

/// How much the KCL publishes (`metrics/MetricsLevel.java`): each metric has a level, and it is
/// published when the configured level [`enables`](MetricsLevel::enables) it.
///
/// The default configured level is [`MetricsLevel::Detailed`] (everything).
///
/// ```
/// use kinesis_client::telemetry::MetricsLevel;
///
/// assert!(MetricsLevel::Detailed.enables(MetricsLevel::Summary));
/// assert!(MetricsLevel::Summary.enables(MetricsLevel::Summary));
/// assert!(!MetricsLevel::Summary.enables(MetricsLevel::Detailed));
/// assert!(!MetricsLevel::None.enables(MetricsLevel::Summary));
/// assert_eq!("summary".parse::<MetricsLevel>(), Ok(MetricsLevel::Summary));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum MetricsLevel {
    /// `NONE`: publish nothing.
    None,
    /// `SUMMARY`: only the metrics marked summary.
    Summary,
    /// `DETAILED`: every metric (the KCL default).
    #[default]
    Detailed,
}

impl MetricsLevel {
    /// The level's name as the KCL configuration spells it.
    pub const fn as_str(self) -> &'static str {
        match self {
            MetricsLevel::None => "NONE",
            MetricsLevel::Summary => "SUMMARY",
            MetricsLevel::Detailed => "DETAILED",
        }
    }

    /// The KCL's numeric value of the level (NONE = `i32::MAX`, SUMMARY = 10000,
    /// DETAILED = 9000); a metric is published when its value is at least the configured one.
    pub const fn value(self) -> i32 {
        match self {
            MetricsLevel::None => i32::MAX,
            MetricsLevel::Summary => 10_000,
            MetricsLevel::Detailed => 9_000,
        }
    }

    /// Whether a worker configured at `self` publishes a metric of level `metric`.
    ///
    /// A metric's level is never `None`; a configured level of `None` publishes nothing.
    pub const fn enables(self, metric: MetricsLevel) -> bool {
        !matches!(self, MetricsLevel::None)
            && !matches!(metric, MetricsLevel::None)
            && metric.value() >= self.value()
    }
}

impl fmt::Display for MetricsLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for MetricsLevel {
    type Err = UnknownName;
    /// Parses `NONE`, `SUMMARY` or `DETAILED`, ignoring case as `MetricsLevel.fromName` does.
    fn from_str(s: &str) -> Result<Self, UnknownName> {
        match s.to_ascii_uppercase().as_str() {
            "NONE" => Ok(MetricsLevel::None),
            "SUMMARY" => Ok(MetricsLevel::Summary),
            "DETAILED" => Ok(MetricsLevel::Detailed),
            _ => Err(UnknownName(s.to_owned())),
        }
    }
}
