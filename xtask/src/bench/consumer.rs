//! The consumer benchmark's report.

use std::fmt::Write as _;

use super::*;

/// The section of the consumer benchmark (`crates/kinesis-consumer/benches/consumer.rs`).
pub(super) fn consumer_report(out: &Output) -> Report {
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
    let metered = out.value("throughput.metered");
    let cost = out.value("throughput.metrics_cost");
    r.target(
        "throughput: metrics cost, consumer with the KCL metrics DETAILED / without",
        format!(
            "{}x ({} vs {} records/s)",
            fixed(cost, 2),
            per_sec(metered),
            per_sec(consumer)
        ),
        Target::AtLeast(0.95),
        ">= 0.95x",
        cost,
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
        (
            "consumer, KCL metrics DETAILED (records/s)",
            "metered",
            metered,
            format!(
                ">= 0.95x the consumer without: **{}** ({}x)",
                Target::AtLeast(0.95).verdict(cost),
                fixed(cost, 2)
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
