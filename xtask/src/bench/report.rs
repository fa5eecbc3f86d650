//! A report: the figures next to their targets, and the number formats it uses.

// === the report ===

pub(super) const MET: &str = "met";
pub(super) const NOT_MET: &str = "not met";
pub(super) const NOT_MEASURED: &str = "not measured";

/// A figure's target.
#[derive(Debug, Clone, Copy)]
pub(super) enum Target {
    AtLeast(f64),
    Below(f64),
}

impl Target {
    pub(super) fn verdict(self, value: Option<f64>) -> &'static str {
        match (self, value) {
            (_, None) => NOT_MEASURED,
            (Target::AtLeast(t), Some(v)) if v >= t => MET,
            (Target::Below(t), Some(v)) if v < t => MET,
            _ => NOT_MET,
        }
    }
}

/// One line of a section's summary table.
#[derive(Debug)]
pub(super) struct SummaryLine {
    pub(super) label: String,
    pub(super) measured: String,
    pub(super) target: String,
    pub(super) verdict: &'static str,
}

/// A benchmark's section: a summary of its targets, then the details in Markdown.
#[derive(Debug, Default)]
pub(super) struct Report {
    pub(super) summary: Vec<SummaryLine>,
    pub(super) body: String,
}

impl Report {
    pub(super) fn target(
        &mut self,
        label: &str,
        measured: String,
        target: Target,
        shown: &str,
        value: Option<f64>,
    ) {
        self.summary.push(SummaryLine {
            label: label.to_owned(),
            measured,
            target: shown.to_owned(),
            verdict: target.verdict(value),
        });
    }

    pub(super) fn no_target(&mut self, label: &str, measured: String) {
        self.summary.push(SummaryLine {
            label: label.to_owned(),
            measured,
            target: "none".to_owned(),
            verdict: "-",
        });
    }
}

/// `1234567.8` as `1,234,568`.
pub(super) fn thousands(v: f64) -> String {
    if !v.is_finite() {
        return "-".to_owned();
    }
    let digits = format!("{:.0}", v.abs());
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if v < 0.0 { format!("-{out}") } else { out }
}

pub(super) fn fixed(v: Option<f64>, decimals: usize) -> String {
    match v {
        Some(v) if v.is_finite() => format!("{v:.decimals$}"),
        _ => "-".to_owned(),
    }
}

pub(super) fn per_sec(v: Option<f64>) -> String {
    v.map(thousands).unwrap_or_else(|| "-".to_owned())
}
