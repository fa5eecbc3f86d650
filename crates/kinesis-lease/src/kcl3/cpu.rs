//! The CPU utilisation a KCL 3.x worker reports (worker metric `C`), measured as the Java KCL
//! measures it: from cgroup v2 (`cpu.stat` against `cpu.max`), cgroup v1 (`cpuacct.usage`
//! against the CFS quota), or `/proc/stat` (busy time over total time of the whole machine).
//!
//! Each source is a pure computation over the files' text ([`CpuCounters`]), so it is tested
//! without the files; [`CpuSampler`] reads the files of the machine it runs on.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where the CPU figures come from, in the order [`CpuSampler::detect`] tries them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CpuSource {
    /// cgroup v2: `<root>/cpu.stat` (`usage_usec`), `<root>/cpu.max` and
    /// `<root>/cpuset.cpus.effective`.
    CgroupV2 {
        /// The cgroup folder (`/sys/fs/cgroup`).
        root: PathBuf,
    },
    /// cgroup v1: `<root>/cpu/cpuacct.usage` (ns), `<root>/cpu/cpu.cfs_quota_us`,
    /// `<root>/cpu/cpu.cfs_period_us` and `<root>/cpuset/cpuset.effective_cpus`.
    CgroupV1 {
        /// The cgroup folder (`/sys/fs/cgroup`).
        root: PathBuf,
    },
    /// The first line of `/proc/stat`: the whole machine.
    ProcStat {
        /// The file (`/proc/stat`).
        path: PathBuf,
    },
}

/// One reading of a source: CPU time used so far and what it is compared with.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum CpuCounters {
    /// CPU time used by the cgroup (µs), and the number of cores it may use.
    Cgroup {
        /// CPU time used so far, in microseconds.
        used_micros: u64,
        /// The cores the cgroup may use (the quota, or the effective CPU set).
        cores: f64,
    },
    /// `/proc/stat`: `user + nice + system + idle + iowait` and `idle` (in ticks).
    Machine {
        /// `user + nice + system + idle + iowait`.
        total: u64,
        /// `idle`.
        idle: u64,
        /// `iowait`.
        iowait: u64,
    },
}

/// The number of CPUs of a cpuset list such as `0-4,6,8-10` (9), as the KCL counts them.
///
/// ```
/// use kinesis_lease::kcl3::cpu::cpus_in_set;
///
/// assert_eq!(cpus_in_set("0-7"), Some(8));
/// assert_eq!(cpus_in_set("0-4,6,8-10"), Some(9));
/// assert_eq!(cpus_in_set("x"), None);
/// ```
pub fn cpus_in_set(set: &str) -> Option<u32> {
    let mut sum = 0u32;
    for group in set.trim().split(',') {
        match group.split_once('-') {
            Some((a, b)) => {
                let (a, b): (u32, u32) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
                sum = sum.checked_add(b.checked_sub(a)?.checked_add(1)?)?;
            }
            None => {
                group.trim().parse::<u32>().ok()?;
                sum = sum.checked_add(1)?;
            }
        }
    }
    Some(sum)
}

/// Reads `/proc/stat`'s first line (`cpu  user nice system idle iowait ...`).
///
/// ```
/// use kinesis_lease::kcl3::cpu::{CpuCounters, parse_proc_stat};
///
/// let c = parse_proc_stat("cpu  100 5 50 800 45 0 0 0 0 0").unwrap();
/// assert_eq!(c, CpuCounters::Machine { total: 1000, idle: 800, iowait: 45 });
/// ```
pub fn parse_proc_stat(first_line: &str) -> Option<CpuCounters> {
    let mut fields = first_line.split_whitespace();
    if fields.next()? != "cpu" {
        return None;
    }
    let mut next = || fields.next()?.parse::<u64>().ok();
    let (user, nice, system, idle, iowait) = (next()?, next()?, next()?, next()?, next()?);
    let total = user
        .checked_add(nice)?
        .checked_add(system)?
        .checked_add(idle)?
        .checked_add(iowait)?;
    Some(CpuCounters::Machine {
        total,
        idle,
        iowait,
    })
}

/// The cores a cgroup v2 `cpu.max` line (`$MAX $PERIOD`, `$MAX` may be `max`) allows;
/// `None` for `max` (then the effective CPU set decides).
///
/// ```
/// use kinesis_lease::kcl3::cpu::parse_cpu_max;
///
/// assert_eq!(parse_cpu_max("150000 100000"), Some(Some(1.5)));
/// assert_eq!(parse_cpu_max("max 100000"), Some(None));
/// ```
pub fn parse_cpu_max(line: &str) -> Option<Option<f64>> {
    let mut parts = line.split_whitespace();
    let max = parts.next()?;
    let period: f64 = parts.next()?.parse().ok()?;
    if max == "max" {
        return Some(None);
    }
    let max: f64 = max.parse().ok()?;
    (period > 0.0).then_some(Some(max / period))
}

/// The utilisation in percent between two readings `wall` apart, as the KCL computes it:
///
/// - cgroup: CPU time used over wall time, divided by the cores allowed, capped at 100;
/// - machine: `(Δtotal − Δidle) / Δtotal`, and 0 when nothing changed (or `iowait` went back,
///   which the kernel allows on an idle machine).
///
/// ```
/// use std::time::Duration;
/// use kinesis_lease::kcl3::cpu::{CpuCounters, utilisation};
///
/// let a = CpuCounters::Cgroup { used_micros: 1_000_000, cores: 2.0 };
/// let b = CpuCounters::Cgroup { used_micros: 2_000_000, cores: 2.0 };
/// assert_eq!(utilisation(a, b, Duration::from_secs(1)), Some(50.0));
///
/// let a = CpuCounters::Machine { total: 1000, idle: 800, iowait: 0 };
/// let b = CpuCounters::Machine { total: 1100, idle: 875, iowait: 0 };
/// assert_eq!(utilisation(a, b, Duration::from_secs(1)), Some(25.0));
/// ```
pub fn utilisation(previous: CpuCounters, current: CpuCounters, wall: Duration) -> Option<f64> {
    match (previous, current) {
        (
            CpuCounters::Cgroup {
                used_micros: before,
                ..
            },
            CpuCounters::Cgroup { used_micros, cores },
        ) => {
            let wall = wall.as_secs_f64() * 1e6;
            if wall <= 0.0 || cores <= 0.0 {
                return None;
            }
            let used = used_micros.saturating_sub(before) as f64;
            Some((used / wall / cores * 100.0).min(100.0))
        }
        (
            CpuCounters::Machine {
                total: t0,
                idle: i0,
                iowait: w0,
            },
            CpuCounters::Machine {
                total,
                idle,
                iowait,
            },
        ) => {
            let d_total = total.abs_diff(t0);
            let d_idle = idle.abs_diff(i0);
            if d_total == 0 || (d_total < d_idle && iowait < w0) {
                return Some(0.0);
            }
            let busy = d_total.saturating_sub(d_idle) as f64;
            Some((busy / d_total as f64 * 100.0).clamp(0.0, 100.0))
        }
        _ => None,
    }
}

/// Reads a [`CpuSource`] and turns successive readings into utilisation percentages.
#[derive(Debug)]
pub struct CpuSampler {
    source: CpuSource,
    previous: Option<(CpuCounters, tokio::time::Instant)>,
}

impl CpuSampler {
    /// The source of this machine, in the KCL's order: cgroup v2, cgroup v1, `/proc/stat`;
    /// `None` when none is readable (then the worker reports no CPU metric and the leader
    /// balances it by throughput, as a KCL worker off EC2/ECS/EKS).
    pub fn detect() -> Option<CpuSampler> {
        let root = PathBuf::from("/sys/fs/cgroup");
        let candidates = [
            CpuSource::CgroupV2 { root: root.clone() },
            CpuSource::CgroupV1 { root },
            CpuSource::ProcStat {
                path: PathBuf::from("/proc/stat"),
            },
        ];
        candidates
            .into_iter()
            .find(|s| read(s).is_some())
            .map(CpuSampler::new)
    }

    /// A sampler of `source`.
    pub fn new(source: CpuSource) -> CpuSampler {
        CpuSampler {
            source,
            previous: None,
        }
    }

    /// The source.
    pub fn source(&self) -> &CpuSource {
        &self.source
    }

    /// Reads the source: the utilisation since the previous call in percent, `Some(0.0)` on
    /// the first call (as the KCL), and `None` when the source cannot be read (the KCL reports
    /// such a failure as −1).
    pub fn sample(&mut self) -> Option<f64> {
        let now = tokio::time::Instant::now();
        let current = read(&self.source)?;
        let value = match self.previous {
            None => Some(0.0),
            Some((before, at)) => utilisation(before, current, now.duration_since(at)),
        };
        self.previous = Some((current, now));
        value
    }
}

fn first_line(path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines().next().map(str::to_owned)
}

fn read(source: &CpuSource) -> Option<CpuCounters> {
    match source {
        CpuSource::ProcStat { path } => parse_proc_stat(&first_line(path)?),
        CpuSource::CgroupV2 { root } => {
            let stat = std::fs::read_to_string(root.join("cpu.stat")).ok()?;
            let used_micros = stat
                .lines()
                .find_map(|l| l.strip_prefix("usage_usec "))?
                .trim()
                .parse()
                .ok()?;
            let cores = match parse_cpu_max(&first_line(&root.join("cpu.max"))?)? {
                Some(cores) => cores,
                None => f64::from(cpus_in_set(&first_line(
                    &root.join("cpuset.cpus.effective"),
                )?)?),
            };
            Some(CpuCounters::Cgroup { used_micros, cores })
        }
        CpuSource::CgroupV1 { root } => {
            let nanos: u64 = first_line(&root.join("cpu/cpuacct.usage"))?
                .trim()
                .parse()
                .ok()?;
            let quota: i64 = first_line(&root.join("cpu/cpu.cfs_quota_us"))?
                .trim()
                .parse()
                .ok()?;
            let period: i64 = first_line(&root.join("cpu/cpu.cfs_period_us"))?
                .trim()
                .parse()
                .ok()?;
            let cores = if quota == -1 || period <= 0 {
                f64::from(cpus_in_set(&first_line(
                    &root.join("cpuset/cpuset.effective_cpus"),
                )?)?)
            } else {
                quota as f64 / period as f64
            };
            Some(CpuCounters::Cgroup {
                used_micros: nanos / 1000,
                cores,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cgroup_over_its_quota_reports_100() {
        let a = CpuCounters::Cgroup {
            used_micros: 0,
            cores: 0.5,
        };
        let b = CpuCounters::Cgroup {
            used_micros: 2_000_000,
            cores: 0.5,
        };
        assert_eq!(utilisation(a, b, Duration::from_secs(1)), Some(100.0));
    }

    #[test]
    fn an_unchanged_proc_stat_reports_0() {
        let a = parse_proc_stat("cpu 1 2 3 4 5").unwrap();
        assert_eq!(utilisation(a, a, Duration::from_secs(1)), Some(0.0));
    }

    #[test]
    fn bad_lines_are_none() {
        assert_eq!(parse_proc_stat("intr 1 2 3 4 5"), None);
        assert_eq!(parse_proc_stat("cpu 1 2"), None);
        assert_eq!(parse_cpu_max("100000"), None);
        assert_eq!(parse_cpu_max("1 0"), None);
        assert_eq!(cpus_in_set("3-1"), None);
    }

    #[test]
    fn the_files_of_a_fake_cgroup_v2_are_read() {
        let dir = std::env::temp_dir().join(format!("kcl3-cpu-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("cpu.stat"), "usage_usec 5000\nuser_usec 1\n").unwrap();
        std::fs::write(dir.join("cpu.max"), "max 100000\n").unwrap();
        std::fs::write(dir.join("cpuset.cpus.effective"), "0-3\n").unwrap();
        let counters = read(&CpuSource::CgroupV2 { root: dir.clone() });
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(
            counters,
            Some(CpuCounters::Cgroup {
                used_micros: 5000,
                cores: 4.0
            })
        );
    }
}
