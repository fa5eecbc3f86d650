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

mod consumer;
mod output;
mod peers;
mod producer;
mod report;
mod section;

use std::fs;
use std::process::Command;

use crate::util::{self, Context, Error, Result};

use consumer::*;
use output::*;
use peers::{DEFAULT_RECORDS, peers_report};
use producer::*;
use report::*;
use section::*;

const USAGE: &str = "\
usage: cargo xtask bench <benchmark> [--records N]

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
  peers      the producer next to the real KPL, aws-kinesis-agg + boto3 and a plain SDK loop,
             and the consumer next to Java KCL 2.x and 3.x workers, each a process of its own
             on the test kit's instant Kinesis server (leases in the external emulators'
             DynamoDB), 3 rounds round-robin: records/s, CPU per million records, peak RSS, and
             for consumers the time to the first and last record (builds the Java harnesses
             with Maven, a Python venv and the external emulators on first use; --records N
             per run, default 500000; about ten minutes)

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
    /// `bench/peers.rs`: contenders in processes of their own.
    Peers,
}

impl Benchmark {
    /// Every benchmark, in the order of the usage text.
    const ALL: &'static [Benchmark] = &[Benchmark::Consumer, Benchmark::Producer, Benchmark::Peers];

    /// The name on the command line and in `docs/benchmarks.md`.
    fn name(self) -> &'static str {
        match self {
            Benchmark::Consumer => "consumer",
            Benchmark::Producer => "producer",
            Benchmark::Peers => "peers",
        }
    }

    fn parse(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|b| b.name() == name)
    }

    /// The cargo invocation that builds (release) and runs the benchmark program; `None` for
    /// the one the xtask runs itself (`peers`).
    fn command(self) -> Option<Command> {
        let mut cmd = util::cargo();
        match self {
            Benchmark::Consumer => {
                cmd.args(["bench", "-p", "kinesis-consumer", "--bench", "consumer"]);
            }
            Benchmark::Producer => {
                cmd.args(["bench", "-p", "kinesis-producer", "--bench", "producer"]);
            }
            Benchmark::Peers => return None,
        }
        Some(cmd)
    }

    /// The body of the benchmark's section (below its heading and run facts).
    fn report(self, output: &Output) -> Report {
        match self {
            Benchmark::Consumer => consumer_report(output),
            Benchmark::Producer => producer_report(output),
            Benchmark::Peers => peers_report(output),
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
    let mut records = None;
    let mut rest = rest.iter();
    while let Some(arg) = rest.next() {
        match (arg.as_str(), bench) {
            ("--records", Benchmark::Peers) => {
                let n = rest
                    .next()
                    .and_then(|v| v.parse::<u64>().ok())
                    .filter(|n| *n > 0)
                    .ok_or_else(|| {
                        Error::with_code(format!("--records needs a positive number\n\n{USAGE}"), 2)
                    })?;
                records = Some(n);
            }
            _ => {
                return Err(Error::with_code(
                    format!("unexpected argument `{arg}`\n\n{USAGE}"),
                    2,
                ));
            }
        }
    }
    run(bench, records)
}

/// Runs `bench`, writes its section and prints a summary of its targets.
fn run(bench: Benchmark, records: Option<u64>) -> Result<()> {
    let (output, shown) = match bench.command() {
        Some(mut cmd) => {
            let shown = format!("cargo {}", args_of(&cmd));
            (capture(&mut cmd)?, shown)
        }
        None => {
            let records = records.unwrap_or(DEFAULT_RECORDS);
            (
                peers::measure(records)?,
                format!("cargo xtask bench peers --records {records}"),
            )
        }
    };
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

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
            args_of(&Benchmark::Producer.command().unwrap()),
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
            r#"{"metric":"throughput.metered.round1","value":171000,"unit":"records/s"}"#,
            r#"{"metric":"throughput.metered","value":171000,"unit":"records/s"}"#,
            r#"{"metric":"throughput.metrics_cost","value":0.9,"unit":"x"}"#,
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
        assert_eq!(verdicts[1].1, NOT_MET, "{verdicts:?}"); // metrics cost 0.9x < 0.95x
        assert_eq!(verdicts[2].1, NOT_MET); // 900,000 < 1,000,000
        assert_eq!(verdicts[3].1, NOT_MEASURED); // decode_iterate missing
        assert_eq!(verdicts[4].1, MET);
        assert!(
            report
                .body
                .contains("| consumer, KCL metrics DETAILED (records/s) | 171,000 | 171,000 |"),
            "{}",
            report.body
        );
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
    fn reports_the_peer_figures() {
        let mut out = Output::default();
        for (contender, rate, cpu, rss) in [
            ("aggregated", 600_000.0, 2.0, 80.0),
            ("kpl-agg", 100_000.0, 30.0, 400.0),
            ("boto3-agg", 250_000.0, 6.0, 90.0),
        ] {
            for (metric, value) in [("rate", rate), ("cpu_per_million", cpu), ("rss", rss)] {
                assert!(out.take_line(&format!(
                    r#"{{"metric":"producers.{contender}.{metric}","value":{value},"unit":"x"}}"#
                )));
            }
        }
        for (contender, rate, first, cpu, rss) in [
            ("consumer", 200_000.0, 0.3, 2.0, 20.0),
            ("kcl2", 150_000.0, 10.0, 10.0, 300.0),
            ("kcl3", 250_000.0, 40.0, 3.0, 500.0),
        ] {
            for (metric, value) in [
                ("rate", rate),
                ("first", first),
                ("last", first + 1.0),
                ("cpu_per_million", cpu),
                ("rss", rss),
            ] {
                assert!(out.take_line(&format!(
                    r#"{{"metric":"consumers.{contender}.{metric}","value":{value},"unit":"x"}}"#
                )));
            }
        }
        // On kinesis-local: this producer 16,000/s at 5 CPU s per million and 50 MiB, the KPL
        // 8,000/s at 100 s and 500 MiB; the KPL without aggregation failed.
        assert!(out.take_line(r#"{"metric":"emulator.records","value":20000,"unit":"records"}"#));
        for (contender, rate, cpu, rss) in [
            ("aggregated", 16_000.0, 5.0, 50.0),
            ("kpl-agg", 8_000.0, 100.0, 500.0),
        ] {
            for (metric, value) in [("rate", rate), ("cpu_per_million", cpu), ("rss", rss)] {
                assert!(out.take_line(&format!(
                    r#"{{"metric":"emulator.{contender}.{metric}","value":{value},"unit":"x"}}"#
                )));
            }
        }
        assert!(out.take_line(
            r#"{"note":"emulator.kpl.failed","text":"round 1: not finished after 90s; killed"}"#
        ));
        let report = peers_report(&out);
        assert!(
            report.body.contains(
                "| KPL 0.15.12, aggregation | - / - / - | 8,000 | 100.00 | 500.0 MiB | 2.0x | 20.0x | 10.0x |"
            ),
            "{}",
            report.body
        );
        assert!(
            report.body.contains(
                "| KPL 0.15.12, no aggregation | failed: round 1: not finished after 90s; killed |"
            ),
            "{}",
            report.body
        );
        let verdicts: Vec<&str> = report.summary.iter().map(|l| l.verdict).collect();
        // Producers: 6x >= 3x; 15x >= 10x; 5x >= 4x; 2.4x < 3x. Consumers against KCL 2.x:
        // 1.33x >= 1x, 5x >= 2x, 15x >= 4x, 33x >= 5x; against KCL 3.x: 0.8x < 1x, 1.5x < 2x,
        // 25x >= 4x, 133x >= 5x.
        assert_eq!(
            verdicts,
            [
                MET, MET, MET, NOT_MET, MET, MET, MET, MET, NOT_MET, NOT_MET, MET, MET
            ]
        );
        assert!(
            report
                .body
                .contains("| Java KCL 2.7.2, polling | - / - / - | 150,000 | 10.00 s | 11.00 s | 10.00 | 300.0 MiB |"),
            "{}",
            report.body
        );
        assert!(
            report
                .body
                .contains("| KPL 0.15.12, aggregation | - / - / - | 100,000 | 30.00 | 400.0 MiB |"),
            "{}",
            report.body
        );
        assert_eq!(Benchmark::parse("peers"), Some(Benchmark::Peers));
        assert!(Benchmark::Peers.command().is_none());
        let err = main(&["peers".to_owned(), "--records".to_owned(), "0".to_owned()]).unwrap_err();
        assert_eq!(err.code(), 2);
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
            r#"{"metric":"sink.metered.round1","value":441000,"unit":"records/s"}"#,
            r#"{"metric":"sink.metered","value":441000,"unit":"records/s"}"#,
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
        assert_eq!(verdicts[1].1, MET, "{verdicts:?}"); // metrics: 0.98x >= 0.95x
        assert_eq!(verdicts[2].1, MET, "{verdicts:?}"); // 4x >= 3x
        // aggregated-small: 30 MiB > 16 MiB + 10,000 KiB
        assert_eq!(verdicts[3].1, NOT_MET, "{verdicts:?}");
        assert_eq!(verdicts[4].1, "-");
        assert!(
            report
                .body
                .contains(">= 0.95x the producer with aggregation: **met** (0.980x)"),
            "{}",
            report.body
        );
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
            verdicts[3].0,
            "memory: peak RSS growth over 1,000,000 records, default / small buffer"
        );

        out.figures.remove("memory.producer-small.growth");
        assert_eq!(producer_report(&out).summary[3].verdict, NOT_MEASURED);
    }
}
