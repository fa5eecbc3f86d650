//! `cargo xtask bench <name>`: runs one benchmark program once (release build), reads the figures
//! it prints (one JSON object per line on stdout) and writes them, with the machine, the date,
//! the command and each figure's target, to its section of `docs/benchmarks.md`.
//!
//! A benchmark program prints two kinds of lines (anything else on stdout is passed through):
//!
//! - a figure: `{"metric":"throughput.ratio","value":0.97,"unit":"x"}` (`value` may be `null`);
//! - a description: `{"note":"throughput","text":"4 shards, 200000 records ..."}`.
//!
//! Adding a benchmark: a variant of [`Benchmark`] with its name, the cargo command that runs it
//! and a report function like [`consumer_report`] or [`producer_report`].

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::util::{self, Context, Error, Result};

const USAGE: &str = "\
usage: cargo xtask bench <benchmark>

benchmarks:
  consumer   the consumer against the embedded emulators: records/s next to a plain GetRecords
             loop, KPL deaggregation on one core, lease hand-over between two workers, peak RSS by
             prefetch setting (cargo bench -p kinesis-consumer --bench consumer; a few minutes
             plus the first release build)
  producer   the producer, with and without KPL aggregation, next to a plain PutRecords loop:
             records/s on one thread into an in-process sink that answers at once, records/s
             into the embedded emulator, peak RSS by buffer setting (cargo bench -p
             kinesis-producer --bench producer; about three minutes plus the first release
             build)

Builds the benchmark in release mode, runs it once, and writes its figures, each next to its
target, to its own section of docs/benchmarks.md (other sections are kept). Nothing is written
when the benchmark fails.
";

/// The file the figures go to, relative to the workspace root.
const OUTPUT: &str = "docs/benchmarks.md";

/// The benchmarks `cargo xtask bench` knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Benchmark {
    /// `crates/kinesis-consumer/benches/consumer/`.
    Consumer,
    /// `crates/kinesis-producer/benches/producer/`.
    Producer,
}

impl Benchmark {
    /// Every benchmark, in the order of the usage text.
    const ALL: &'static [Benchmark] = &[Benchmark::Consumer, Benchmark::Producer];

    /// The name on the command line and in `docs/benchmarks.md`.
    fn name(self) -> &'static str {
        match self {
            Benchmark::Consumer => "consumer",
            Benchmark::Producer => "producer",
        }
    }

    fn parse(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|b| b.name() == name)
    }

    /// The cargo invocation that builds (release) and runs the benchmark program.
    fn command(self) -> Command {
        let mut cmd = util::cargo();
        match self {
            Benchmark::Consumer => {
                cmd.args(["bench", "-p", "kinesis-consumer", "--bench", "consumer"]);
            }
            Benchmark::Producer => {
                cmd.args(["bench", "-p", "kinesis-producer", "--bench", "producer"]);
            }
        }
        cmd
    }

    /// The body of the benchmark's section (below its heading and run facts).
    fn report(self, output: &Output) -> Report {
        match self {
            Benchmark::Consumer => consumer_report(output),
            Benchmark::Producer => producer_report(output),
        }
    }
}

/// Entry point of `cargo xtask bench ...`.
pub(crate) fn main(args: &[String]) -> Result<()> {
    let Some((name, rest)) = args.split_first() else {
        print!("{USAGE}");
        return Ok(());
    };
    if matches!(name.as_str(), "-h" | "--help" | "help") {
        print!("{USAGE}");
        return Ok(());
    }
    let Some(bench) = Benchmark::parse(name) else {
        return Err(Error::with_code(
            format!("unknown benchmark `{name}`\n\n{USAGE}"),
            2,
        ));
    };
    if let Some(extra) = rest.first() {
        return Err(Error::with_code(
            format!("unexpected argument `{extra}`\n\n{USAGE}"),
            2,
        ));
    }
    run(bench)
}

/// Runs `bench`, writes its section and prints a summary of its targets.
fn run(bench: Benchmark) -> Result<()> {
    let mut cmd = bench.command();
    let shown = format!("cargo {}", args_of(&cmd));
    let output = capture(&mut cmd)?;
    let report = bench.report(&output);
    let facts = RunFacts::collect();
    let section = render_section(bench, &facts, &shown, &report);
    let path = util::workspace_root().join(OUTPUT);
    let existing = fs::read_to_string(&path).unwrap_or_default();
    let updated = replace_section(&existing, bench.name(), &section);
    fs::write(&path, updated).context(|| format!("cannot write {}", path.display()))?;

    eprintln!("\n== bench {}: written to {OUTPUT}", bench.name());
    for line in &report.summary {
        eprintln!(
            "  {:<52} {:>22}  {:<18} {}",
            line.label, line.measured, line.target, line.verdict
        );
    }
    let missed = report
        .summary
        .iter()
        .filter(|l| l.verdict == NOT_MET || l.verdict == NOT_MEASURED)
        .count();
    if missed == 0 {
        eprintln!("bench {}: every target met", bench.name());
    } else {
        eprintln!(
            "bench {}: {missed} target(s) not met or not measured",
            bench.name()
        );
    }
    Ok(())
}

/// The arguments of a command, for display.
fn args_of(cmd: &Command) -> String {
    cmd.get_args()
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

// === the benchmark program's output ===

/// One figure.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Figure {
    /// `None` when the program could not measure it (`null`).
    pub(crate) value: Option<f64>,
    pub(crate) unit: String,
}

/// What a benchmark program printed.
#[derive(Debug, Default)]
pub(crate) struct Output {
    pub(crate) figures: BTreeMap<String, Figure>,
    pub(crate) notes: BTreeMap<String, String>,
}

impl Output {
    fn value(&self, metric: &str) -> Option<f64> {
        self.figures.get(metric).and_then(|f| f.value)
    }

    fn note(&self, key: &str) -> Option<&str> {
        self.notes.get(key).map(String::as_str)
    }

    /// Figures whose name starts with `prefix`, in name order.
    fn with_prefix<'a>(
        &'a self,
        prefix: &'a str,
    ) -> impl Iterator<Item = (&'a str, &'a Figure)> + 'a {
        self.figures
            .range(prefix.to_owned()..)
            .take_while(move |(k, _)| k.starts_with(prefix))
            .map(|(k, f)| (k.as_str(), f))
    }

    /// Takes one line of the program's stdout; returns false when it is not one of ours.
    fn take_line(&mut self, line: &str) -> bool {
        let Some(fields) = parse_flat_json(line) else {
            return false;
        };
        let text = |key: &str| match fields.get(key) {
            Some(Json::Str(s)) => Some(s.clone()),
            _ => None,
        };
        if let (Some(metric), Some(value)) = (text("metric"), fields.get("value")) {
            let value = match value {
                Json::Num(n) => Some(*n),
                _ => None,
            };
            let unit = text("unit").unwrap_or_default();
            self.figures.insert(metric, Figure { value, unit });
            true
        } else if let (Some(key), Some(body)) = (text("note"), text("text")) {
            self.notes.insert(key, body);
            true
        } else {
            false
        }
    }
}

/// Runs the program with its stdout read line by line (figures collected, other lines shown on
/// stderr) and stderr inherited; fails when it fails.
fn capture(cmd: &mut Command) -> Result<Output> {
    eprintln!("$ {}", util::display_command(cmd));
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context(|| "cannot start cargo".to_string())?;
    let mut output = Output::default();
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines() {
            let line = line?;
            if output.take_line(&line) {
                eprintln!("   > {line}");
            } else {
                eprintln!("{line}");
            }
        }
    }
    let status = child.wait()?;
    if !status.success() {
        return Err(Error::new(format!(
            "`{}` failed ({status}); {OUTPUT} was not changed",
            util::display_command(cmd)
        )));
    }
    if output.figures.is_empty() {
        return Err(Error::new(format!(
            "`{}` printed no figures; {OUTPUT} was not changed",
            util::display_command(cmd)
        )));
    }
    Ok(output)
}

/// A JSON value of a flat object (no nesting: the benchmark programs print nothing else).
#[derive(Debug, Clone, PartialEq)]
#[allow(dead_code)] // a boolean's value is read by the tests only
pub(crate) enum Json {
    Str(String),
    Num(f64),
    Bool(bool),
    Null,
}

/// Parses one flat JSON object (`{"key": "text" | number | true | false | null, ...}`);
/// `None` for anything else.
pub(crate) fn parse_flat_json(line: &str) -> Option<BTreeMap<String, Json>> {
    let mut p = Parser {
        chars: line.trim().chars().peekable(),
    };
    p.expect('{')?;
    let mut out = BTreeMap::new();
    p.skip_ws();
    if p.chars.peek() == Some(&'}') {
        p.chars.next();
        return p.at_end().then_some(out);
    }
    loop {
        p.skip_ws();
        let key = p.string()?;
        p.skip_ws();
        p.expect(':')?;
        p.skip_ws();
        let value = p.value()?;
        out.insert(key, value);
        p.skip_ws();
        match p.chars.next()? {
            ',' => continue,
            '}' => break,
            _ => return None,
        }
    }
    p.at_end().then_some(out)
}

struct Parser<'a> {
    chars: std::iter::Peekable<std::str::Chars<'a>>,
}

impl Parser<'_> {
    fn skip_ws(&mut self) {
        while self.chars.peek().is_some_and(|c| c.is_whitespace()) {
            self.chars.next();
        }
    }

    fn expect(&mut self, c: char) -> Option<()> {
        (self.chars.next()? == c).then_some(())
    }

    fn at_end(&mut self) -> bool {
        self.skip_ws();
        self.chars.peek().is_none()
    }

    fn string(&mut self) -> Option<String> {
        self.expect('"')?;
        let mut s = String::new();
        loop {
            match self.chars.next()? {
                '"' => return Some(s),
                '\\' => match self.chars.next()? {
                    '"' => s.push('"'),
                    '\\' => s.push('\\'),
                    '/' => s.push('/'),
                    'n' => s.push('\n'),
                    'r' => s.push('\r'),
                    't' => s.push('\t'),
                    'b' => s.push('\u{8}'),
                    'f' => s.push('\u{c}'),
                    'u' => {
                        let hex: String =
                            (0..4).map(|_| self.chars.next()).collect::<Option<_>>()?;
                        let code = u32::from_str_radix(&hex, 16).ok()?;
                        s.push(char::from_u32(code).unwrap_or('\u{fffd}'));
                    }
                    _ => return None,
                },
                c => s.push(c),
            }
        }
    }

    fn value(&mut self) -> Option<Json> {
        match *self.chars.peek()? {
            '"' => self.string().map(Json::Str),
            't' | 'f' | 'n' => {
                let mut word = String::new();
                while self.chars.peek().is_some_and(|c| c.is_ascii_alphabetic()) {
                    word.push(self.chars.next()?);
                }
                match word.as_str() {
                    "true" => Some(Json::Bool(true)),
                    "false" => Some(Json::Bool(false)),
                    "null" => Some(Json::Null),
                    _ => None,
                }
            }
            _ => {
                let mut number = String::new();
                while self
                    .chars
                    .peek()
                    .is_some_and(|c| c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E'))
                {
                    number.push(self.chars.next()?);
                }
                number.parse().ok().map(Json::Num)
            }
        }
    }
}

// === the report ===

const MET: &str = "met";
const NOT_MET: &str = "not met";
const NOT_MEASURED: &str = "not measured";

/// A figure's target.
#[derive(Debug, Clone, Copy)]
enum Target {
    AtLeast(f64),
    Below(f64),
}

impl Target {
    fn verdict(self, value: Option<f64>) -> &'static str {
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
struct SummaryLine {
    label: String,
    measured: String,
    target: String,
    verdict: &'static str,
}

/// A benchmark's section: a summary of its targets, then the details in Markdown.
#[derive(Debug, Default)]
struct Report {
    summary: Vec<SummaryLine>,
    body: String,
}

impl Report {
    fn target(
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

    fn no_target(&mut self, label: &str, measured: String) {
        self.summary.push(SummaryLine {
            label: label.to_owned(),
            measured,
            target: "none".to_owned(),
            verdict: "-",
        });
    }
}

/// `1234567.8` as `1,234,568`.
fn thousands(v: f64) -> String {
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

fn fixed(v: Option<f64>, decimals: usize) -> String {
    match v {
        Some(v) if v.is_finite() => format!("{v:.decimals$}"),
        _ => "-".to_owned(),
    }
}

fn per_sec(v: Option<f64>) -> String {
    v.map(thousands).unwrap_or_else(|| "-".to_owned())
}

/// The section of the consumer benchmark (`crates/kinesis-consumer/benches/consumer.rs`).
fn consumer_report(out: &Output) -> Report {
    let mut r = Report::default();
    let mut b = String::new();
    if let Some(setup) = out.note("setup") {
        let _ = writeln!(b, "Setup: {setup}.\n");
    }

    // 1. throughput
    let ratio = out.value("throughput.ratio");
    let plain = out.value("throughput.plain");
    let consumer = out.value("throughput.consumer");
    r.target(
        "throughput: consumer / plain GetRecords loop",
        format!(
            "{}x ({} vs {} records/s)",
            fixed(ratio, 2),
            per_sec(consumer),
            per_sec(plain)
        ),
        Target::AtLeast(0.9),
        ">= 0.9x",
        ratio,
    );
    let _ = writeln!(b, "### 1. Throughput: records/s to a no-op handler\n");
    if let Some(n) = out.note("throughput") {
        let _ = writeln!(b, "{n}\n");
    }
    let rounds: Vec<String> = out
        .with_prefix("throughput.plain.round")
        .map(|(k, _)| k.trim_start_matches("throughput.plain.").to_owned())
        .collect();
    let _ = writeln!(
        b,
        "| reader | {} | median | target |",
        rounds
            .iter()
            .map(|r| r.replace("round", "round "))
            .collect::<Vec<_>>()
            .join(" | ")
    );
    let _ = writeln!(b, "|---|{}---:|---|", "---:|".repeat(rounds.len()));
    for (label, key, median, target) in [
        ("plain GetRecords loop", "plain", plain, "-".to_owned()),
        (
            "consumer (records/s)",
            "consumer",
            consumer,
            format!(
                ">= 0.9x the plain loop: **{}** ({}x)",
                Target::AtLeast(0.9).verdict(ratio),
                fixed(ratio, 2)
            ),
        ),
    ] {
        let cells: Vec<String> = rounds
            .iter()
            .map(|round| per_sec(out.value(&format!("throughput.{key}.{round}"))))
            .collect();
        let _ = writeln!(
            b,
            "| {label} | {} | {} | {target} |",
            cells.join(" | "),
            per_sec(median)
        );
    }
    let _ = writeln!(
        b,
        "\nThe consumer's time includes `build()` (median {} ms: describe the stream, read the \
         lease table, list shards, create and take the leases).\n",
        fixed(out.value("throughput.consumer_build"), 0)
    );

    // 2. deaggregation
    let _ = writeln!(b, "### 2. KPL deaggregation on one core\n");
    if let Some(n) = out.note("deaggregation") {
        let _ = writeln!(b, "{n}\n");
    }
    let _ = writeln!(
        b,
        "| path | median | min | max | target |\n|---|---:|---:|---:|---|"
    );
    for (label, key) in [
        (
            "decode + build records (the consumer's work)",
            "build_records",
        ),
        ("decode + iterate (Raw)", "decode_iterate"),
    ] {
        let median = out.value(&format!("deaggregation.{key}"));
        let verdict = Target::AtLeast(1e6).verdict(median);
        let _ = writeln!(
            b,
            "| {label} | {} | {} | {} | >= 1,000,000 sub-records/s: **{verdict}** |",
            per_sec(median),
            per_sec(out.value(&format!("deaggregation.{key}.min"))),
            per_sec(out.value(&format!("deaggregation.{key}.max"))),
        );
        r.target(
            &format!("deaggregation: {label}"),
            format!("{} sub-records/s", per_sec(median)),
            Target::AtLeast(1e6),
            ">= 1,000,000/s",
            median,
        );
    }
    let _ = writeln!(b);

    // 3. hand-over
    let _ = writeln!(b, "### 3. Lease hand-over between two workers\n");
    if let Some(n) = out.note("handover") {
        let _ = writeln!(b, "{n}\n");
    }
    let _ = writeln!(
        b,
        "| round | shard released by A | A's `shutdown()` call to B's first record | target |\n|---|---|---:|---|"
    );
    let mut shutdowns = Vec::new();
    for (key, figure) in out.with_prefix("handover.round") {
        let rest = key.trim_start_matches("handover.");
        let Some((round, what)) = rest.split_once('.') else {
            continue;
        };
        if what == "shutdown_call" {
            shutdowns.push(format!(
                "{} {} ms",
                round.replace("round", "round "),
                fixed(figure.value, 0)
            ));
            continue;
        }
        let verdict = Target::Below(1000.0).verdict(figure.value);
        let _ = writeln!(
            b,
            "| {} | {what} | {} ms | < 1 s: **{verdict}** |",
            round.trim_start_matches("round"),
            fixed(figure.value, 1)
        );
    }
    let max = out.value("handover.max");
    let _ = writeln!(
        b,
        "| all | max | **{} ms** | < 1 s: **{}** |",
        fixed(max, 1),
        Target::Below(1000.0).verdict(max)
    );
    let _ = writeln!(
        b,
        "\nMedian over all released shards: {} ms. A's `shutdown()` call itself returned after: {}. \
         Most of the wait is deliberate: a coordinator that hears a release waits 50 ms for \
         further announcements before it scans the lease table and takes; then B's shard task \
         calls GetShardIterator at A's final checkpoint and GetRecords.\n",
        fixed(out.value("handover.median"), 1),
        if shutdowns.is_empty() {
            "-".to_owned()
        } else {
            shutdowns.join(", ")
        }
    );
    r.target(
        "hand-over: worst shard, shutdown() to B's first record",
        format!("{} ms", fixed(max, 1)),
        Target::Below(1000.0),
        "< 1 s",
        max,
    );

    // 4. memory
    let _ = writeln!(b, "### 4. Memory: peak RSS by prefetch setting\n");
    if let Some(n) = out.note("memory") {
        let _ = writeln!(b, "{n}\n");
    }
    let _ = writeln!(
        b,
        "| case | baseline RSS | peak RSS | growth | read time |\n|---|---:|---:|---:|---:|"
    );
    let cases = [
        "default-noop",
        "small-noop",
        "default-slow",
        "small-slow",
        "plain",
    ];
    for case in cases {
        let v = |what: &str| out.value(&format!("memory.{case}.{what}"));
        let label = out
            .note(&format!("memory.{case}"))
            .unwrap_or(case)
            .to_owned();
        let reset = if v("peak_reset") == Some(0.0) {
            " (peak not reset after filling)"
        } else {
            ""
        };
        let _ = writeln!(
            b,
            "| {label}{reset} | {} MiB | {} MiB | {} MiB | {} s |",
            fixed(v("baseline"), 1),
            fixed(v("peak"), 1),
            fixed(v("growth"), 1),
            fixed(v("seconds"), 2)
        );
    }
    let peak = |case: &str| out.value(&format!("memory.{case}.peak"));
    let growth = |case: &str| out.value(&format!("memory.{case}.growth"));
    let _ = writeln!(
        b,
        "\nNo target. Per shard the consumer holds at most about `prefetch_batches + 2` batches \
         of converted records: those waiting in the shard stream's channel (`prefetch_batches`), \
         the one the shard task is waiting to hand over, and the one the reader is iterating \
         (plus, while a call is in flight, the `GetRecords` response being converted). Default \
         settings: (2 + 2) x 10,000 x {shards} shards = up to 160,000 records here, most of this \
         200,000-record stream; `with_prefetch_batches(1).with_batch_size(1000)`: (1 + 2) x \
         1,000 x {shards} = 12,000 records. The slow handler (1 ms pause every 25 records) keeps \
         the buffers full, so its rows show each bound; the no-op handler keeps up with the \
         fetching, so less is held. The small setting costs speed (read time column): with 1,000 \
         records per call and at most 5 `GetRecords` calls per second per shard (the client's \
         rate limit, as on AWS), a shard delivers at most 5,000 records/s. Growth over the baseline with the slow handler: default {} \
         MiB, small {} MiB (peaks {} and {} MiB); with the no-op handler: default {} MiB, small {} \
         MiB. The plain loop ({} MiB growth) holds one response per shard at a time. The baseline \
         includes the emulators, the stored stream and whatever the allocator kept from filling \
         it, which reading may reuse, so growth is a lower bound of what reading allocated; the \
         cases differ only in how they read, so their peaks compare directly.",
        per_case(growth("default-slow")),
        per_case(growth("small-slow")),
        per_case(peak("default-slow")),
        per_case(peak("small-slow")),
        per_case(growth("default-noop")),
        per_case(growth("small-noop")),
        per_case(growth("plain")),
        shards = 4,
    );
    r.no_target(
        "memory: peak RSS, default vs small prefetch (slow handler)",
        format!(
            "{} vs {} MiB",
            per_case(peak("default-slow")),
            per_case(peak("small-slow"))
        ),
    );
    r.body = b;
    r
}

fn per_case(v: Option<f64>) -> String {
    fixed(v, 1)
}

/// The producer's writers: metric key, label.
const PRODUCER_WRITERS: [(&str, &str); 3] = [
    ("plain", "plain PutRecords loop (SDK)"),
    ("producer", "producer, no aggregation"),
    ("aggregated", "producer, KPL aggregation"),
];

/// Target: the aggregated producer into the instant sink, on one thread.
const SINK_TARGET: f64 = 500_000.0;
/// Target: the aggregated producer into the emulator, over the plain loop.
const EMULATOR_TARGET: f64 = 3.0;
/// Memory bound per record the buffer admits, and the constant, in MiB.
const MEMORY_PER_RECORD_MIB: f64 = 1.0 / 1024.0;
const MEMORY_CONSTANT_MIB: f64 = 16.0;
/// The producer's memory cases (each with a bound) and the reference case.
const PRODUCER_MEMORY_CASES: [&str; 4] = [
    "aggregated-default",
    "aggregated-small",
    "producer-default",
    "producer-small",
];

/// Payload bytes per second as `12.3 MB/s`.
fn mb_per_sec(v: Option<f64>) -> String {
    match v {
        Some(v) if v.is_finite() => format!("{:.1} MB/s", v / 1e6),
        _ => "-".to_owned(),
    }
}

/// The rounds (`round1`, ...) present under `prefix` (`sink.plain.round`).
fn rounds_of(out: &Output, prefix: &str) -> Vec<String> {
    out.with_prefix(prefix)
        .filter_map(|(k, _)| k.strip_prefix(prefix))
        .filter(|r| r.chars().all(|c| c.is_ascii_digit()))
        .map(|r| format!("round{r}"))
        .collect()
}

/// A writers' table (part 1 or 2) with the rounds, medians and the target column.
fn writers_table(b: &mut String, out: &Output, part: &str, target_of: &dyn Fn(&str) -> String) {
    let rounds = rounds_of(out, &format!("{part}.plain.round"));
    let mut header = vec!["writer".to_owned()];
    header.extend(rounds.iter().map(|r| r.replace("round", "round ")));
    header.extend(
        [
            "median records/s",
            "payload",
            "µs per record",
            "cores",
            "PutRecords calls",
            "Kinesis entries",
            "target",
        ]
        .map(str::to_owned),
    );
    let _ = writeln!(b, "| {} |", header.join(" | "));
    let _ = writeln!(b, "|---|{}---|", "---:|".repeat(header.len() - 2));
    for (key, label) in PRODUCER_WRITERS {
        let v = |what: &str| out.value(&format!("{part}.{key}{what}"));
        let median = v("");
        let mut row = vec![label.to_owned()];
        row.extend(rounds.iter().map(|round| per_sec(v(&format!(".{round}")))));
        row.extend([
            per_sec(median),
            mb_per_sec(v(".bytes")),
            fixed(median.map(|r| 1e6 / r), 2),
            fixed(v(".cores"), 2),
            per_sec(v(".calls")),
            per_sec(v(".entries")),
            target_of(key),
        ]);
        let _ = writeln!(b, "| {} |", row.join(" | "));
    }
}

/// The section of the producer benchmark (`crates/kinesis-producer/benches/producer/`).
fn producer_report(out: &Output) -> Report {
    let mut r = Report::default();
    let mut b = String::new();
    if let Some(setup) = out.note("setup") {
        let _ = writeln!(b, "Setup: {setup}.\n");
    }

    // 1. sink
    let aggregated = out.value("sink.aggregated");
    let sink_verdict = Target::AtLeast(SINK_TARGET).verdict(aggregated);
    r.target(
        "sink: producer with aggregation, one thread",
        format!(
            "{} records/s ({})",
            per_sec(aggregated),
            mb_per_sec(out.value("sink.aggregated.bytes"))
        ),
        Target::AtLeast(SINK_TARGET),
        ">= 500,000 records/s",
        aggregated,
    );
    let _ = writeln!(b, "### 1. Into an instant sink, on one thread\n");
    if let Some(n) = out.note("sink") {
        let _ = writeln!(b, "{n}\n");
    }
    writers_table(&mut b, out, "sink", &|key| match key {
        "aggregated" => format!(">= 500,000 records/s: **{sink_verdict}**"),
        _ => "-".to_owned(),
    });
    let entries = out.value("sink.aggregated.entries");
    let per_call = entries
        .zip(out.value("sink.aggregated.calls"))
        .map(|(e, c)| e / c);
    let _ = writeln!(
        b,
        "\n\"µs per record\" is the median's inverse: with the sink answering on the same \
         thread, the thread's whole time per record (the writer, the SDK's serializing, \
         signing and parsing, and the sink). \"payload\" counts the records' bytes. With \
         aggregation, {} user records per Kinesis entry (aggregate) and {} entries per \
         PutRecords call{}",
        fixed(
            out.value("sink.records").zip(entries).map(|(r, e)| r / e),
            0
        ),
        fixed(per_call, 1),
        if per_call.is_some_and(|c| c < 10.0) {
            ": a full aggregate goes out at once rather than wait for its linger time, and a \
             shard has one call in flight, so with the sink answering at once a call carries \
             what filled up while the shard's previous call was out."
        } else {
            "."
        }
    );
    if sink_verdict == NOT_MET {
        let _ = writeln!(
            b,
            "\nNot met. Where the time went in a `perf` profile of the aggregated sink run \
             (2026-11-27, after the changes that took it from 151,000 to about 450,000 records/s \
             on this machine; not re-run by this command): MD5 about 18 % of the thread (the \
             partition key of every record, for its shard, and the checksum of every \
             aggregate: the KPL format's own cost, about 350 ns per record at this machine's \
             500 MB/s), the SDK's serializing and signing (SHA-256 of each body) about 15 %, \
             allocating and freeing about 14 %, the caller's `send` about 20 % (the MD5 above \
             included), adding records to aggregates and answering them the rest. The figures \
             of this machine (a 2-core VM) vary by about 20 % from one run to the next.\n"
        );
    } else {
        let _ = writeln!(b);
    }

    // 2. emulator
    let ratio = out.value("emulator.ratio.aggregated");
    let emulator_verdict = Target::AtLeast(EMULATOR_TARGET).verdict(ratio);
    r.target(
        "emulator: producer with aggregation / plain PutRecords loop",
        format!(
            "{}x ({} vs {} records/s)",
            fixed(ratio, 2),
            per_sec(out.value("emulator.aggregated")),
            per_sec(out.value("emulator.plain"))
        ),
        Target::AtLeast(EMULATOR_TARGET),
        ">= 3x",
        ratio,
    );
    let _ = writeln!(b, "### 2. Into the embedded emulator\n");
    if let Some(n) = out.note("emulator") {
        let _ = writeln!(b, "{n}\n");
    }
    writers_table(&mut b, out, "emulator", &|key| match key {
        "aggregated" => format!(
            ">= 3x the plain loop: **{emulator_verdict}** ({}x)",
            fixed(ratio, 2)
        ),
        "producer" => format!(
            "none ({}x the plain loop)",
            fixed(out.value("emulator.ratio.producer"), 2)
        ),
        _ => "-".to_owned(),
    });
    let _ = writeln!(
        b,
        "\n\"µs per record\" is the median's inverse (wall time); \"cores\" here is the whole \
         process, the emulator's threads included. The emulator's work is per Kinesis entry \
         and per call as much as per byte, so aggregates of a few hundred records each cost it \
         far less than as many records sent alone. Without \
         aggregation, the producer keeps one call in flight per shard (4 here, to keep each \
         shard's records in order) where the plain loop keeps 24, and its own work per record \
         competes with the emulator for the same cores."
    );
    if emulator_verdict == NOT_MET {
        let _ = writeln!(
            b,
            "\nNot met: with aggregation the emulator has little to do (the whole process used \
             {} cores), and the producer is held back by its own work per record on its one \
             thread, as in part 1 ({} records/s here, {} into the instant sink); the plain loop \
             is held back by the emulator's work per entry. How far apart they are depends on \
             how much of the machine the emulator gets: on a busier machine the plain loop is \
             slower and the ratio higher.",
            fixed(out.value("emulator.aggregated.cores"), 2),
            per_sec(out.value("emulator.aggregated")),
            per_sec(out.value("sink.aggregated")),
        );
    }
    let _ = writeln!(b);

    // 3. memory
    let _ = writeln!(b, "### 3. Memory: peak RSS by buffer setting\n");
    if let Some(n) = out.note("memory") {
        let _ = writeln!(b, "{n}\n");
    }
    let _ = writeln!(
        b,
        "| case | baseline RSS | peak RSS | growth | peak once 1/4, 1/2, 3/4, all accepted | most outstanding | growth per outstanding record | records/s | bound: 16 MiB + 1 KiB x buffer_records | |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"
    );
    let mut verdicts = Vec::new();
    for case in PRODUCER_MEMORY_CASES.iter().copied().chain(["plain"]) {
        let v = |what: &str| out.value(&format!("memory.{case}.{what}"));
        let label = out
            .note(&format!("memory.{case}"))
            .unwrap_or(case)
            .to_owned();
        let reset = if v("peak_reset") == Some(0.0) {
            " (peak not reset before writing)"
        } else {
            ""
        };
        let quarters: Vec<String> = (1..=4)
            .filter_map(|q| v(&format!("peak_q{q}")))
            .map(|p| format!("{p:.1}"))
            .collect();
        let (bound, verdict) = match v("buffer_records") {
            Some(records) => {
                let bound = MEMORY_CONSTANT_MIB + records * MEMORY_PER_RECORD_MIB;
                let verdict = Target::AtLeast(0.0).verdict(v("growth").map(|g| bound - g));
                verdicts.push(verdict);
                (format!("{bound:.1} MiB"), format!("**{verdict}**"))
            }
            None => ("-".to_owned(), "-".to_owned()),
        };
        let per_record = v("growth")
            .zip(v("outstanding"))
            .filter(|(_, n)| *n > 0.0)
            .map(|(g, n)| g * 1024.0 * 1024.0 / n);
        let _ = writeln!(
            b,
            "| {label}{reset} | {} MiB | {} MiB | {} MiB | {} | {} | {} | {} | {bound} | {verdict} |",
            fixed(v("baseline"), 1),
            fixed(v("peak"), 1),
            fixed(v("growth"), 1),
            if quarters.is_empty() {
                "-".to_owned()
            } else {
                format!("{} MiB", quarters.join(" / "))
            },
            v("outstanding").map_or("-".to_owned(), thousands),
            per_record.map_or("-".to_owned(), |p| format!("{p:.0} B")),
            per_sec(v("records_per_second")),
        );
    }
    let growth = |case: &str| per_case(out.value(&format!("memory.{case}.growth")));
    let _ = writeln!(
        b,
        "\nTarget, as we read \"bounded by the buffer settings plus a constant\": growth at most \
         16 MiB plus 1 KiB per record the buffer admits. With these 100-byte records (about \
         111 bytes with the partition key) the record bound is the one that binds: 65,536 x \
         111 bytes is 7 MiB, far below the default 64 MiB byte bound, and 10,000 x 111 bytes \
         is 1 MiB of the small buffer's 8 MiB. The peaks read at each quarter show whether the \
         memory stops rising once the buffer is full rather than growing with the records \
         written. The buffer counts payload and partition key bytes; what the process holds \
         per buffered record is several times that (\"growth per outstanding record\": the \
         record and its key, its answer channel and handle, its place in a shard's queue or \
         aggregate, its copy in an encoded aggregate and in a request body while a call is in \
         flight). How full the buffer gets depends on how fast the producer gets records \
         through (\"most outstanding\"). Growth with the default and the small buffer: {} and \
         {} MiB without aggregation, {} and {} MiB with it. A full aggregate goes out at \
         once, and with at most an eighth of the buffer free nothing waits for its linger \
         time, so a small buffer holds the producer back only by the calls it keeps in \
         flight (the records/s column). The plain loop ({} MiB) holds its 24 calls in flight.",
        growth("producer-default"),
        growth("producer-small"),
        growth("aggregated-default"),
        growth("aggregated-small"),
        growth("plain"),
    );
    let memory_verdict =
        if verdicts.len() < PRODUCER_MEMORY_CASES.len() || verdicts.contains(&NOT_MEASURED) {
            NOT_MEASURED
        } else if verdicts.contains(&NOT_MET) {
            NOT_MET
        } else {
            MET
        };
    r.summary.push(SummaryLine {
        label: format!(
            "memory: peak RSS growth over {} records, default / small buffer",
            per_sec(out.value("memory.records"))
        ),
        measured: format!(
            "aggregation {} / {} MiB; none {} / {} MiB",
            growth("aggregated-default"),
            growth("aggregated-small"),
            growth("producer-default"),
            growth("producer-small"),
        ),
        target: "<= 16 MiB + 1 KiB x buffer_records".to_owned(),
        verdict: memory_verdict,
    });
    for (part, what) in [
        ("sink", "sink: producer without aggregation vs plain loop"),
        (
            "emulator",
            "emulator: producer without aggregation vs plain loop",
        ),
    ] {
        r.no_target(
            what,
            format!(
                "{} vs {} records/s ({}x)",
                per_sec(out.value(&format!("{part}.producer"))),
                per_sec(out.value(&format!("{part}.plain"))),
                fixed(out.value(&format!("{part}.ratio.producer")), 2)
            ),
        );
    }
    r.body = b;
    r
}

// === the section ===

/// Facts about the machine and the run.
#[derive(Debug)]
struct RunFacts {
    date: String,
    cores: usize,
    cpu_model: Option<String>,
    memory: Option<String>,
    kernel: Option<String>,
    rustc: Option<String>,
    commit: Option<String>,
}

impl RunFacts {
    fn collect() -> Self {
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

    fn machine(&self) -> String {
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
fn utc_now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    utc_from_unix(secs)
}

/// `secs` since the Unix epoch as `YYYY-MM-DD HH:MM UTC` (Howard Hinnant's civil-from-days).
fn utc_from_unix(secs: u64) -> String {
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

fn render_section(bench: Benchmark, facts: &RunFacts, command: &str, report: &Report) -> String {
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
    let _ = writeln!(
        s,
        "- Command: `cargo xtask bench {name}`, which runs `{command}` (release profile) once\n"
    );
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

const HEADER: &str = "\
# Benchmarks

Figures written by `cargo xtask bench <name>`: one run of a release build on the machine named in
each section, against the embedded emulators (no Docker, no AWS). Each run rewrites its own section
only. The emulators run in the benchmark's process and share its cores, so absolute figures say
more about the emulators than about Kinesis; the comparisons within a run are what the targets
judge.
";

/// `existing` with the section of `name` replaced by `section` (or appended).
fn replace_section(existing: &str, name: &str, section: &str) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_benchmark_lines() {
        let mut out = Output::default();
        assert!(out.take_line(r#"{"metric":"throughput.ratio","value":0.97,"unit":"x"}"#));
        assert!(out.take_line(r#"{"metric":"handover.max","value":null,"unit":"ms"}"#));
        assert!(out.take_line(r#"{"note":"setup","text":"a \"quoted\" \\ text\nwith é"}"#));
        assert!(!out.take_line("   Compiling kinesis-consumer"));
        assert!(!out.take_line(r#"{"metric":"x"}"#));
        assert!(!out.take_line(r#"{"metric":"x","value":1} trailing"#));
        assert_eq!(out.value("throughput.ratio"), Some(0.97));
        assert_eq!(out.value("handover.max"), None);
        assert_eq!(out.figures["handover.max"].unit, "ms");
        assert_eq!(out.note("setup"), Some("a \"quoted\" \\ text\nwith é"));
        assert_eq!(
            parse_flat_json(r#"{ "a" : -1.5e3 , "b": true, "c": "\u0041" }"#),
            Some(BTreeMap::from([
                ("a".to_owned(), Json::Num(-1500.0)),
                ("b".to_owned(), Json::Bool(true)),
                ("c".to_owned(), Json::Str("A".to_owned())),
            ]))
        );
        assert_eq!(parse_flat_json("{}"), Some(BTreeMap::new()));
        assert_eq!(parse_flat_json(r#"{"a":{"b":1}}"#), None);
    }

    #[test]
    fn judges_targets() {
        assert_eq!(Target::AtLeast(0.9).verdict(Some(0.9)), MET);
        assert_eq!(Target::AtLeast(0.9).verdict(Some(0.89)), NOT_MET);
        assert_eq!(Target::Below(1000.0).verdict(Some(999.9)), MET);
        assert_eq!(Target::Below(1000.0).verdict(Some(1000.0)), NOT_MET);
        assert_eq!(Target::Below(1000.0).verdict(None), NOT_MEASURED);
    }

    #[test]
    fn formats_numbers_and_dates() {
        assert_eq!(thousands(1_234_567.6), "1,234,568");
        assert_eq!(thousands(999.0), "999");
        assert_eq!(thousands(1000.0), "1,000");
        assert_eq!(utc_from_unix(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc_from_unix(951_782_400), "2000-02-29 00:00 UTC");
        assert_eq!(
            utc_from_unix(1_767_225_600 + 3_600 + 120),
            "2026-01-01 01:02 UTC"
        );
    }

    #[test]
    fn replaces_only_its_own_section() {
        let first = replace_section("", "consumer", "## consumer\n\nv1\n");
        assert!(first.starts_with("# Benchmarks"));
        assert!(first.contains(
            "<!-- bench:consumer:begin -->\n## consumer\n\nv1\n<!-- bench:consumer:end -->\n"
        ));
        let both = replace_section(&first, "producer", "## producer\n\np1");
        let again = replace_section(&both, "consumer", "## consumer\n\nv2");
        assert!(again.contains("v2") && !again.contains("v1"));
        assert!(again.contains("p1"));
        assert!(again.find("consumer:begin") < again.find("producer:begin"));
        assert_eq!(
            replace_section(&again, "consumer", "## consumer\n\nv2"),
            again
        );
    }

    #[test]
    fn knows_its_benchmarks() {
        assert_eq!(Benchmark::parse("consumer"), Some(Benchmark::Consumer));
        assert_eq!(Benchmark::parse("producer"), Some(Benchmark::Producer));
        assert_eq!(
            args_of(&Benchmark::Producer.command()),
            "bench -p kinesis-producer --bench producer"
        );
        assert_eq!(Benchmark::parse("nope"), None);
        let err = main(&["nope".to_owned()]).unwrap_err();
        assert_eq!(err.code(), 2);
        assert!(err.to_string().contains("consumer"));
        assert!(main(&[]).is_ok());
    }

    #[test]
    fn reports_the_consumer_figures() {
        let mut out = Output::default();
        for line in [
            r#"{"metric":"throughput.plain.round1","value":200000,"unit":"records/s"}"#,
            r#"{"metric":"throughput.consumer.round1","value":190000,"unit":"records/s"}"#,
            r#"{"metric":"throughput.plain","value":200000,"unit":"records/s"}"#,
            r#"{"metric":"throughput.consumer","value":190000,"unit":"records/s"}"#,
            r#"{"metric":"throughput.ratio","value":0.95,"unit":"x"}"#,
            r#"{"metric":"deaggregation.build_records","value":900000,"unit":"sub-records/s"}"#,
            r#"{"metric":"handover.round1.shardId-000000000001","value":40.5,"unit":"ms"}"#,
            r#"{"metric":"handover.round1.shutdown_call","value":60,"unit":"ms"}"#,
            r#"{"metric":"handover.max","value":40.5,"unit":"ms"}"#,
            r#"{"metric":"memory.default-slow.peak","value":300,"unit":"MiB"}"#,
        ] {
            assert!(out.take_line(line));
        }
        let report = consumer_report(&out);
        let verdicts: Vec<(&str, &str)> = report
            .summary
            .iter()
            .map(|l| (l.label.as_str(), l.verdict))
            .collect();
        assert_eq!(verdicts[0].1, MET);
        assert_eq!(verdicts[1].1, NOT_MET); // 900,000 < 1,000,000
        assert_eq!(verdicts[2].1, NOT_MEASURED); // decode_iterate missing
        assert_eq!(verdicts[3].1, MET);
        assert!(
            report
                .body
                .contains("| 1 | shardId-000000000001 | 40.5 ms | < 1 s: **met** |")
        );
        assert!(report.body.contains("round 1 60 ms"));
        let facts = RunFacts {
            date: "2026-01-01 00:00 UTC".into(),
            cores: 2,
            cpu_model: Some("CPU".into()),
            memory: None,
            kernel: None,
            rustc: None,
            commit: None,
        };
        let section = render_section(Benchmark::Consumer, &facts, "cargo bench", &report);
        assert!(section.starts_with("## consumer\n"));
        assert!(section.contains("- Machine: 2 cores (CPU)"));
        assert!(section.contains("| throughput: consumer / plain GetRecords loop | 0.95x (190,000 vs 200,000 records/s) | >= 0.9x | **met** |"));
    }

    #[test]
    fn reports_the_producer_figures() {
        let mut out = Output::default();
        for line in [
            r#"{"metric":"sink.records","value":1000000,"unit":"records"}"#,
            r#"{"metric":"sink.plain.round1","value":400000,"unit":"records/s"}"#,
            r#"{"metric":"sink.plain","value":400000,"unit":"records/s"}"#,
            r#"{"metric":"sink.aggregated.round1","value":450000,"unit":"records/s"}"#,
            r#"{"metric":"sink.aggregated","value":450000,"unit":"records/s"}"#,
            r#"{"metric":"sink.aggregated.bytes","value":45000000,"unit":"B/s"}"#,
            r#"{"metric":"sink.aggregated.entries","value":2500,"unit":"entries"}"#,
            r#"{"metric":"sink.aggregated.calls","value":2000,"unit":"calls"}"#,
            r#"{"metric":"emulator.plain","value":40000,"unit":"records/s"}"#,
            r#"{"metric":"emulator.aggregated","value":160000,"unit":"records/s"}"#,
            r#"{"metric":"emulator.ratio.aggregated","value":4,"unit":"x"}"#,
            r#"{"metric":"memory.records","value":1000000,"unit":"records"}"#,
            r#"{"metric":"memory.aggregated-default.growth","value":30,"unit":"MiB"}"#,
            r#"{"metric":"memory.aggregated-default.buffer_records","value":65536,"unit":"records"}"#,
            r#"{"metric":"memory.aggregated-default.outstanding","value":32768,"unit":"records"}"#,
            r#"{"metric":"memory.aggregated-default.peak_q1","value":40,"unit":"MiB"}"#,
            r#"{"metric":"memory.aggregated-small.growth","value":30,"unit":"MiB"}"#,
            r#"{"metric":"memory.aggregated-small.buffer_records","value":10000,"unit":"records"}"#,
            r#"{"metric":"memory.producer-default.growth","value":50,"unit":"MiB"}"#,
            r#"{"metric":"memory.producer-default.buffer_records","value":65536,"unit":"records"}"#,
            r#"{"metric":"memory.producer-small.growth","value":10,"unit":"MiB"}"#,
            r#"{"metric":"memory.producer-small.buffer_records","value":10000,"unit":"records"}"#,
        ] {
            assert!(out.take_line(line), "{line}");
        }
        let report = producer_report(&out);
        let verdicts: Vec<(&str, &str)> = report
            .summary
            .iter()
            .map(|l| (l.label.as_str(), l.verdict))
            .collect();
        assert_eq!(verdicts[0].1, NOT_MET, "{verdicts:?}"); // 450,000 < 500,000
        assert_eq!(verdicts[1].1, MET, "{verdicts:?}"); // 4x >= 3x
        // aggregated-small: 30 MiB > 16 MiB + 10,000 KiB
        assert_eq!(verdicts[2].1, NOT_MET, "{verdicts:?}");
        assert_eq!(verdicts[3].1, "-");
        assert!(
            report.body.contains(">= 500,000 records/s: **not met**"),
            "{}",
            report.body
        );
        assert!(report.body.contains("400 user records per Kinesis entry"));
        assert!(
            report.body.contains("| 80.0 MiB | **met** |"),
            "{}",
            report.body
        );
        assert!(report.body.contains("| 25.8 MiB | **not met** |"));
        assert!(report.body.contains("| 960 B |"), "{}", report.body);
        assert!(report.body.contains("| 40.0 MiB |"));
        assert_eq!(
            verdicts[2].0,
            "memory: peak RSS growth over 1,000,000 records, default / small buffer"
        );

        out.figures.remove("memory.producer-small.growth");
        assert_eq!(producer_report(&out).summary[2].verdict, NOT_MEASURED);
    }
}
