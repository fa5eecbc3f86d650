//! [`Summary`]: many samples of one metric, reported at once.

/// The count, sum, minimum and maximum of samples that a component adds up itself before it
/// reports them (the values of every record of a batch), so that a hot path pays one report per
/// batch instead of one per record. A CloudWatch statistic set says exactly this much.
///
/// ```
/// use kinesis_client::telemetry::Summary;
///
/// let mut s = Summary::default();
/// for v in [4.0, 1.0, 7.0] {
///     s.add(v);
/// }
/// assert_eq!((s.count, s.sum, s.min, s.max), (3, 12.0, 1.0, 7.0));
/// // Samples with the same count, sum, minimum and maximum, for a recorder that needs values.
/// let samples: Vec<f64> = s.samples().collect();
/// assert_eq!(samples, [1.0, 7.0, 4.0]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Summary {
    /// How many samples.
    pub count: u64,
    /// Their sum.
    pub sum: f64,
    /// The smallest (meaningless when `count` is 0).
    pub min: f64,
    /// The largest (meaningless when `count` is 0).
    pub max: f64,
}

impl Default for Summary {
    fn default() -> Self {
        Self {
            count: 0,
            sum: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
        }
    }
}

impl Summary {
    /// The summary of `count` samples, each `value`.
    pub fn repeated(value: f64, count: u64) -> Self {
        Self {
            count,
            sum: value * count as f64,
            min: value,
            max: value,
        }
    }

    /// Adds a sample.
    #[inline]
    pub fn add(&mut self, value: f64) {
        self.count += 1;
        self.sum += value;
        self.min = self.min.min(value);
        self.max = self.max.max(value);
    }

    /// Whether there are no samples.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// `count` values with this summary's count, sum, minimum and maximum: the minimum, the
    /// maximum, and the mean of the rest for the others.
    pub fn samples(&self) -> impl Iterator<Item = f64> {
        let (first, second, rest) = match self.count {
            0 => (None, None, 0),
            1 => (Some(self.sum), None, 0),
            n => (Some(self.min), Some(self.max), n - 2),
        };
        let mean = if rest > 0 {
            (self.sum - self.min - self.max) / rest as f64
        } else {
            0.0
        };
        first
            .into_iter()
            .chain(second)
            .chain(std::iter::repeat_n(mean, rest as usize))
    }
}
