//! The section of docs/benchmarks.md a run writes: the machine, the date, the command, the report.

use std::fmt::Write as _;
use std::fs;
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::util::{self};

use super::*;

// === the section ===

/// Facts about the machine and the run.
#[derive(Debug)]
pub(super) struct RunFacts {
    pub(super) date: String,
    pub(super) cores: usize,
    pub(super) cpu_model: Option<String>,
    pub(super) memory: Option<String>,
    pub(super) kernel: Option<String>,
    pub(super) rustc: Option<String>,
    pub(super) commit: Option<String>,
}

impl RunFacts {
    pub(super) fn collect() -> Self {
        let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let processors = cpuinfo
            .lines()
            .filter(|l| l.starts_with("processor"))
            .count();
        let cores = if processors > 0 {
            processors
        } else {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        };
        let cpu_model = cpuinfo
            .lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_owned());
        let memory = fs::read_to_string("/proc/meminfo").ok().and_then(|m| {
            let kib: f64 = m
                .lines()
                .find(|l| l.starts_with("MemTotal:"))?
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()?;
            Some(format!("{:.1} GiB RAM", kib / 1024.0 / 1024.0))
        });
        let kernel = fs::read_to_string("/proc/sys/kernel/osrelease")
            .ok()
            .map(|k| format!("Linux {}", k.trim()));
        let rustc = util::output(Command::new("rustc").arg("--version"));
        let root = util::workspace_root();
        let commit = util::output(Command::new("git").current_dir(&root).args([
            "rev-parse",
            "--short",
            "HEAD",
        ]))
        .map(|c| {
            let dirty = util::output(
                Command::new("git")
                    .current_dir(&root)
                    .args(["status", "--porcelain"]),
            )
            .is_some_and(|s| !s.is_empty());
            if dirty {
                format!("{c} with uncommitted changes")
            } else {
                c
            }
        });
        Self {
            date: utc_now(),
            cores,
            cpu_model,
            memory,
            kernel,
            rustc,
            commit,
        }
    }

    pub(super) fn machine(&self) -> String {
        let mut parts = vec![format!(
            "{} core{}{}",
            self.cores,
            if self.cores == 1 { "" } else { "s" },
            self.cpu_model
                .as_deref()
                .map(|m| format!(" ({m})"))
                .unwrap_or_default()
        )];
        parts.extend(self.memory.clone());
        parts.extend(self.kernel.clone());
        parts.join(", ")
    }
}

/// The current UTC time as `YYYY-MM-DD HH:MM UTC`.
pub(super) fn utc_now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    utc_from_unix(secs)
}

/// `secs` since the Unix epoch as `YYYY-MM-DD HH:MM UTC` (Howard Hinnant's civil-from-days).
pub(super) fn utc_from_unix(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let (hour, minute) = ((secs % 86_400) / 3600, (secs % 3600) / 60);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02} {hour:02}:{minute:02} UTC")
}

pub(super) fn render_section(
    bench: Benchmark,
    facts: &RunFacts,
    command: &str,
    report: &Report,
) -> String {
    let mut s = String::new();
    let name = bench.name();
    let _ = writeln!(s, "## {name}\n");
    let _ = writeln!(s, "- Date: {}", facts.date);
    let _ = writeln!(s, "- Machine: {}", facts.machine());
    if let Some(rustc) = &facts.rustc {
        let _ = writeln!(s, "- Toolchain: {rustc}");
    }
    if let Some(commit) = &facts.commit {
        let _ = writeln!(s, "- Commit: {commit}");
    }
    if command.starts_with("cargo xtask") {
        let _ = writeln!(s, "- Command: `{command}` (release builds), once\n");
    } else {
        let _ = writeln!(
            s,
            "- Command: `cargo xtask bench {name}`, which runs `{command}` (release profile) once\n"
        );
    }
    let _ = writeln!(s, "| figure | measured | target | |\n|---|---|---|---|");
    for line in &report.summary {
        let verdict = match line.verdict {
            "-" => "-".to_owned(),
            v => format!("**{v}**"),
        };
        let _ = writeln!(
            s,
            "| {} | {} | {} | {verdict} |",
            line.label, line.measured, line.target
        );
    }
    let _ = writeln!(s, "\n{}", report.body.trim_end());
    s
}

pub(super) const HEADER: &str = "\
# Benchmarks

Figures written by `cargo xtask bench <name>`: one run of a release build on the machine named in
each section, against the embedded emulators (no Docker, no AWS). Each run rewrites its own section
only. The emulators run in the benchmark's process and share its cores, so absolute figures say
more about the emulators than about Kinesis; the comparisons within a run are what the targets
judge.
";

/// `existing` with the section of `name` replaced by `section` (or appended).
pub(super) fn replace_section(existing: &str, name: &str, section: &str) -> String {
    let begin = format!("<!-- bench:{name}:begin -->");
    let end = format!("<!-- bench:{name}:end -->");
    let block = format!("{begin}\n{}\n{end}\n", section.trim_end());
    let base = if existing.trim().is_empty() {
        HEADER.to_owned()
    } else {
        existing.to_owned()
    };
    match (base.find(&begin), base.find(&end)) {
        (Some(b), Some(e)) if e > b => {
            let after = &base[e + end.len()..];
            format!(
                "{}{block}{}",
                &base[..b],
                after.strip_prefix('\n').unwrap_or(after)
            )
        }
        _ => format!("{}\n{block}", base.trim_end_matches('\n').to_owned() + "\n"),
    }
}
