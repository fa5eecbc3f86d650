//! [`WorkerMetricsReporter`]: what a worker reports about itself, as the KCL's
//! `WorkerMetricStatsManager` computes it: the CPU is captured every second, and each report
//! carries the mean of the captures since the previous report (−1 when none succeeded), keeping
//! the last ten reports' values.

use kinesis_kcl_compat::fleet::{CPU, WorkerMetricStats};

use super::cpu::CpuSampler;

/// Builds a worker's reports; see the [module documentation](self).
///
/// ```
/// use kinesis_lease::kcl3::metrics::WorkerMetricsReporter;
///
/// // Without a CPU source the worker is a "default" worker: empty metrics.
/// let mut reporter = WorkerMetricsReporter::new("w-1", None);
/// reporter.capture();
/// let report = reporter.report(1_764_000_000);
/// assert!(report.is_default_worker());
/// assert_eq!((report.last_update_time, report.support_code_updated), (1_764_000_000, Some(1_764_000_000)));
/// ```
#[derive(Debug)]
pub struct WorkerMetricsReporter {
    cpu: Option<CpuSampler>,
    captures: Vec<f64>,
    stats: WorkerMetricStats,
}

impl WorkerMetricsReporter {
    /// A reporter for `worker_id`, measuring the CPU with `cpu` (`None`: no CPU metric).
    pub fn new(worker_id: impl Into<String>, cpu: Option<CpuSampler>) -> Self {
        Self {
            cpu,
            captures: Vec::new(),
            stats: WorkerMetricStats::default_worker(worker_id, 0),
        }
    }

    /// Whether the reports carry a CPU metric.
    pub fn measures_cpu(&self) -> bool {
        self.cpu.is_some()
    }

    /// Captures the CPU once (a failed read is left out; a report without any capture says −1).
    pub fn capture(&mut self) {
        if let Some(value) = self.cpu.as_mut().and_then(CpuSampler::sample) {
            // The KCL keeps at most 300 captures between two reports.
            if self.captures.len() < 300 {
                self.captures.push(value);
            }
        }
    }

    /// The report at `now_seconds`: the captures' mean appended to the CPU values.
    pub fn report(&mut self, now_seconds: i64) -> WorkerMetricStats {
        if self.cpu.is_some() {
            let value = if self.captures.is_empty() {
                -1.0
            } else {
                self.captures.iter().sum::<f64>() / self.captures.len() as f64
            };
            self.captures.clear();
            self.stats.push_value(CPU, value);
        }
        self.stats.last_update_time = now_seconds;
        self.stats.support_code_updated = Some(now_seconds);
        self.stats.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kcl3::cpu::CpuSource;

    #[test]
    fn a_report_without_a_capture_says_minus_one() {
        let source = CpuSource::ProcStat {
            path: std::path::PathBuf::from("/nonexistent/proc/stat"),
        };
        let mut reporter = WorkerMetricsReporter::new("w", Some(CpuSampler::new(source)));
        reporter.capture();
        let report = reporter.report(5);
        assert_eq!(report.metric_stats[CPU], vec![-1.0]);
        assert!(report.is_failing());
    }
}
