//! The invariants of a run, checked from every process's journal and the lease table's
//! history.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use kcl_fleet::fleet::{Accounting, double_processing_ms};
use kcl_fleet::journal::Entry;
use serde_json::{Value, json};

use crate::plan::millis;
use crate::watch::Seen;

/// How much later than the new owner's start a journal line may carry its time and still be
/// read as written before it: two processes write their lines a few milliseconds after what
/// they record.
const JOURNAL_SLACK: Duration = Duration::from_millis(100);
/// What the old owner may take beyond one renew interval to stop delivering: one poll of its
/// fetcher and one scheduling delay.
const DELIVERY_SLACK: Duration = Duration::from_millis(500);

/// What a run observed.
#[derive(Debug)]
pub struct Observed {
    /// Every line of every worker and producer journal.
    pub entries: Vec<Entry>,
    /// Per lease key, every change of owner, counter or checkpoint seen.
    pub history: BTreeMap<String, Vec<Seen>>,
    /// Per lease key, its parent shards.
    pub parents: BTreeMap<String, Vec<String>>,
    /// Per worker id, when it was woken from a freeze (ms since the epoch).
    pub resumed: BTreeMap<String, Vec<u64>>,
    /// The workers' renew interval.
    pub renew_interval: Duration,
    /// When the faults stopped (ms since the epoch).
    pub quiet_at_ms: u64,
    /// How long after that every open lease had a running owner, if it came to that.
    pub owned_after_quiet: Option<Duration>,
    /// The bound on that, and on the time a shard with records waiting stays unread: the
    /// failover time plus one take interval (under the KCL 3.x rules, plus the graceful
    /// hand-off timeout and the failover time: a hand-off whose old owner died holds the
    /// shard until then, as in the KCL).
    pub owned_bound: Duration,
    /// Per process (name and incarnation), the largest resident set seen, in KiB.
    pub rss_kib: BTreeMap<String, u64>,
    /// The bound on a process's resident set, in KiB, unless `rss_bounds_kib` names it.
    pub rss_bound_kib: u64,
    /// Per process, its own bound (a Java worker's), in KiB.
    pub rss_bounds_kib: BTreeMap<String, u64>,
    /// Workers that did not stop cleanly when asked to at the end.
    pub unclean_stops: Vec<String>,
}

/// What the checks found.
#[derive(Debug, Default)]
pub struct Findings {
    /// Records the producers saw acknowledged.
    pub acknowledged: usize,
    /// Acknowledged records no worker consumed.
    pub lost: Vec<String>,
    /// Consumptions beyond the first of a record.
    pub duplicates: usize,
    /// Of those, consumptions of a second copy of a record the producer wrote twice (it
    /// retried a call whose answer was lost).
    pub written_twice: usize,
    /// Redeliveries of a record its first consumer had checkpointed before the redelivering
    /// worker started the shard: not explained by the checkpoints.
    pub unexplained_duplicates: Vec<String>,
    /// Records consumed that no producer saw acknowledged (written by a producer killed before
    /// the answer, or whose answer was lost): of unknown outcome to the producer, not errors.
    pub unacknowledged_consumed: usize,
    /// Records the producers reported failed to their caller.
    pub producer_failures: usize,
    /// First consumptions out of a shard's order, or of a parent's record after a child's
    /// record of the same partition key.
    pub order_violations: Vec<String>,
    /// Checkpoints seen to move backwards in the lease table.
    pub checkpoint_regressions: Vec<String>,
    /// Checkpoints a worker wrote after another worker had started the shard.
    pub stale_checkpoints: Vec<String>,
    /// Records an old owner delivered more than one renew interval after a new owner started
    /// the shard (counted from its wake-up for a frozen worker).
    pub late_deliveries: Vec<String>,
    /// The longest time a former owner kept delivering, per shard (ms).
    pub double_processing_ms: BTreeMap<String, u64>,
    /// Leases left without a running owner for longer than the bound once faults stopped.
    pub unowned: Vec<String>,
    /// Shards with acknowledged records waiting when the faults stopped that no worker read
    /// within the bound.
    pub unread: Vec<String>,
    /// Processes whose resident set went past the bound.
    pub memory: Vec<String>,
    /// Workers that did not stop cleanly.
    pub unclean_stops: Vec<String>,
    /// Shard starts that continued from another holding.
    pub handovers: usize,
}

impl Findings {
    /// How many invariant violations were found.
    pub fn violations(&self) -> usize {
        self.lost.len()
            + self.unexplained_duplicates.len()
            + self.order_violations.len()
            + self.checkpoint_regressions.len()
            + self.stale_checkpoints.len()
            + self.late_deliveries.len()
            + self.unowned.len()
            + self.unread.len()
            + self.memory.len()
            + self.unclean_stops.len()
    }

    /// The findings as JSON (lists cut to their first 50 items, with their full counts).
    pub fn to_json(&self) -> Value {
        fn list(items: &[String]) -> Value {
            json!({"count": items.len(), "first": items.iter().take(50).collect::<Vec<_>>()})
        }
        json!({
            "violations": self.violations(),
            "acknowledged": self.acknowledged,
            "lost": list(&self.lost),
            "duplicates": self.duplicates,
            "written_twice": self.written_twice,
            "unexplained_duplicates": list(&self.unexplained_duplicates),
            "unacknowledged_consumed": self.unacknowledged_consumed,
            "producer_failures": self.producer_failures,
            "order_violations": list(&self.order_violations),
            "checkpoint_regressions": list(&self.checkpoint_regressions),
            "stale_checkpoints": list(&self.stale_checkpoints),
            "late_deliveries": list(&self.late_deliveries),
            "double_processing_ms": self.double_processing_ms,
            "unowned": list(&self.unowned),
            "unread": list(&self.unread),
            "memory": list(&self.memory),
            "unclean_stops": list(&self.unclean_stops),
            "handovers": self.handovers,
        })
    }

    /// One paragraph for the console.
    pub fn summary(&self) -> String {
        format!(
            "acknowledged {}, lost {}, duplicates {} (written twice {}, unexplained {}), consumed without acknowledgement {}, producer failures {}, order violations {}, checkpoint regressions {}, stale checkpoints {}, late deliveries {} (longest double processing {} ms), unowned {}, unread {}, memory {}, unclean stops {}, hand-overs {}",
            self.acknowledged,
            self.lost.len(),
            self.duplicates,
            self.written_twice,
            self.unexplained_duplicates.len(),
            self.unacknowledged_consumed,
            self.producer_failures,
            self.order_violations.len(),
            self.checkpoint_regressions.len(),
            self.stale_checkpoints.len(),
            self.late_deliveries.len(),
            self.double_processing_ms
                .values()
                .max()
                .copied()
                .unwrap_or(0),
            self.unowned.len(),
            self.unread.len(),
            self.memory.len(),
            self.unclean_stops.len(),
            self.handovers,
        )
    }
}

/// Checks every invariant.
pub fn check(observed: &Observed) -> Findings {
    let acknowledged: Vec<String> = observed
        .entries
        .iter()
        .filter(|e| e.event == "put")
        .filter_map(|e| e.str("data").map(str::to_owned))
        .collect();
    let accounting = Accounting::of(&acknowledged, &observed.entries);
    let mut findings = Findings {
        acknowledged: acknowledged.len(),
        lost: accounting.missing.clone(),
        duplicates: accounting.duplicates,
        written_twice: accounting.written_twice,
        unexplained_duplicates: accounting.redelivered_after_checkpoint.clone(),
        unacknowledged_consumed: accounting.unexpected.len(),
        producer_failures: observed
            .entries
            .iter()
            .filter(|e| e.event == "put_failed")
            .count(),
        order_violations: accounting.shard_order_violations.clone(),
        double_processing_ms: double_processing_ms(&observed.entries),
        unclean_stops: observed.unclean_stops.clone(),
        handovers: accounting.handovers,
        ..Findings::default()
    };
    findings
        .order_violations
        .extend(lineage_order(&observed.entries, &observed.parents));
    findings.checkpoint_regressions = checkpoint_regressions(&observed.history);
    findings.stale_checkpoints = stale_checkpoints(&observed.entries, &observed.resumed);
    findings.late_deliveries = late_deliveries(
        &observed.entries,
        &observed.resumed,
        observed.renew_interval + DELIVERY_SLACK,
    );
    match observed.owned_after_quiet {
        Some(took) if took <= observed.owned_bound => {}
        Some(took) => findings.unowned.push(format!(
            "every open lease had a running owner {} ms after the faults stopped, past the bound of {} ms",
            millis(took),
            millis(observed.owned_bound)
        )),
        None => findings.unowned.push(format!(
            "some open lease still had no running owner when the run ended (faults stopped at {})",
            observed.quiet_at_ms
        )),
    }
    findings.unread = unread(
        &observed.entries,
        observed.quiet_at_ms,
        observed.owned_bound,
        &observed.parents,
    );
    findings.memory = memory(
        &observed.rss_kib,
        observed.rss_bound_kib,
        &observed.rss_bounds_kib,
    );
    findings
}

/// Processes whose largest resident set passed their bound: their own in `bounds`, or
/// `bound`.
fn memory(
    rss_kib: &BTreeMap<String, u64>,
    bound: u64,
    bounds: &BTreeMap<String, u64>,
) -> Vec<String> {
    rss_kib
        .iter()
        .filter_map(|(process, kib)| {
            let bound = bounds.get(process).copied().unwrap_or(bound);
            (*kib > bound).then(|| {
                format!(
                    "{process}: {} MiB resident, past the bound of {} MiB",
                    kib / 1024,
                    bound / 1024
                )
            })
        })
        .collect()
}

/// Shards with acknowledged records not yet consumed at `quiet_ms` whose next consumption came
/// later than `bound` after they could be read: after `quiet_ms`, and after the first `SHARD_END`
/// of every parent (a child waits for its parents, which may have a backlog of their own).
fn unread(
    entries: &[Entry],
    quiet_ms: u64,
    bound: Duration,
    parents: &BTreeMap<String, Vec<String>>,
) -> Vec<String> {
    let mut finished: HashMap<&str, u64> = HashMap::new();
    for e in entries
        .iter()
        .filter(|e| e.event == "checkpoint" && e.str("sequence") == Some("SHARD_END"))
    {
        if let Some(shard) = e.shard.as_deref() {
            let t = finished.entry(shard).or_insert(e.time_ms);
            *t = (*t).min(e.time_ms);
        }
    }
    let mut first: HashMap<&str, u64> = HashMap::new();
    for e in entries.iter().filter(|e| e.event == "record") {
        if let Some(data) = e.str("data") {
            let t = first.entry(data).or_insert(e.time_ms);
            *t = (*t).min(e.time_ms);
        }
    }
    // Per shard: whether records were waiting, and its first consumption after `quiet_ms`.
    let mut waiting: BTreeMap<&str, Option<u64>> = BTreeMap::new();
    for e in entries.iter().filter(|e| e.event == "put") {
        let (Some(data), Some(shard)) = (e.str("data"), e.str("shard")) else {
            continue;
        };
        if first.get(data).is_none_or(|t| *t > quiet_ms) {
            waiting.entry(shard).or_insert(None);
        }
    }
    for e in entries
        .iter()
        .filter(|e| e.event == "record" && e.time_ms > quiet_ms)
    {
        if let Some(next) = e.shard.as_deref().and_then(|s| waiting.get_mut(s)) {
            *next = Some(next.map_or(e.time_ms, |t| t.min(e.time_ms)));
        }
    }
    let bound = millis(bound);
    waiting
        .into_iter()
        .filter_map(|(shard, next)| {
            let mut readable = quiet_ms;
            for parent in parents.get(shard).into_iter().flatten() {
                match finished.get(parent.as_str()) {
                    Some(&t) => readable = readable.max(t),
                    None if next.is_none() => {
                        return Some(format!(
                            "{shard}: records waiting when the faults stopped, never read: its parent {parent} never finished"
                        ));
                    }
                    None => {}
                }
            }
            match next {
                Some(t) if t.saturating_sub(readable) <= bound => None,
                Some(t) => Some(format!(
                    "{shard}: records waiting when the faults stopped, first read {} ms after it could be (bound {bound} ms)",
                    t - readable
                )),
                None => Some(format!(
                    "{shard}: records waiting when the faults stopped, never read"
                )),
            }
        })
        .collect()
}

/// The ancestors of every shard, from the lease table's parents.
fn ancestors(parents: &BTreeMap<String, Vec<String>>) -> HashMap<String, BTreeSet<String>> {
    let mut out = HashMap::new();
    for shard in parents.keys() {
        let mut seen = BTreeSet::new();
        let mut todo: Vec<&String> = parents.get(shard).into_iter().flatten().collect();
        while let Some(p) = todo.pop() {
            if seen.insert(p.clone()) {
                todo.extend(parents.get(p).into_iter().flatten());
            }
        }
        out.insert(shard.clone(), seen);
    }
    out
}

/// Per partition key, a first consumption of a record from a parent shard after one from its
/// child: the consumer must finish a parent before it starts the children.
fn lineage_order(entries: &[Entry], parents: &BTreeMap<String, Vec<String>>) -> Vec<String> {
    let ancestors = ancestors(parents);
    let mut records: Vec<&Entry> = entries.iter().filter(|e| e.event == "record").collect();
    records.sort_by_key(|e| e.time_ms);
    let mut seen = BTreeSet::new();
    let mut last_shard: HashMap<&str, &str> = HashMap::new();
    let mut out = Vec::new();
    for e in records {
        let (Some(data), Some(shard), Some(key)) =
            (e.str("data"), e.shard.as_deref(), e.str("partition_key"))
        else {
            continue;
        };
        if !seen.insert(data) {
            continue;
        }
        if let Some(last) = last_shard.get(key)
            && *last != shard
            && ancestors.get(*last).is_some_and(|a| a.contains(shard))
        {
            out.push(format!(
                "{key}: {data} from {shard} consumed after a record of its descendant {last}"
            ));
        }
        last_shard.insert(key, shard);
    }
    out
}

/// Checkpoints that moved backwards between two scans of the table.
fn checkpoint_regressions(history: &BTreeMap<String, Vec<Seen>>) -> Vec<String> {
    let mut out = Vec::new();
    for (key, changes) in history {
        for pair in changes.windows(2) {
            if pair[1].checkpoint < pair[0].checkpoint {
                out.push(format!(
                    "{key}: checkpoint {} (owner {:?}, counter {}) after {} (owner {:?}, counter {})",
                    pair[1].checkpoint.kcl_checkpoint(),
                    pair[1].owner,
                    pair[1].counter,
                    pair[0].checkpoint.kcl_checkpoint(),
                    pair[0].owner,
                    pair[0].counter,
                ));
            }
        }
    }
    out
}

/// Whether `worker` was woken from a freeze within `(from, to]`: its journal times in that
/// span may lag what they record by the length of the freeze.
fn woken_between(resumed: &BTreeMap<String, Vec<u64>>, worker: &str, from: u64, to: u64) -> bool {
    resumed
        .get(worker)
        .is_some_and(|times| times.iter().any(|t| *t > from && *t <= to))
}

/// Per shard, every `initialized` line: (time, worker).
fn starts(entries: &[Entry]) -> HashMap<&str, Vec<(u64, &str)>> {
    let mut out: HashMap<&str, Vec<(u64, &str)>> = HashMap::new();
    for e in entries.iter().filter(|e| e.event == "initialized") {
        if let (Some(shard), Some(worker)) = (e.shard.as_deref(), e.worker.as_deref()) {
            out.entry(shard).or_default().push((e.time_ms, worker));
        }
    }
    for list in out.values_mut() {
        list.sort_unstable();
    }
    out
}

/// Successful checkpoints by a worker after another worker started the shard (and before it
/// started the shard again itself).
fn stale_checkpoints(entries: &[Entry], resumed: &BTreeMap<String, Vec<u64>>) -> Vec<String> {
    let starts = starts(entries);
    let slack = millis(JOURNAL_SLACK);
    let mut out = Vec::new();
    for e in entries.iter().filter(|e| e.event == "checkpoint") {
        let (Some(shard), Some(worker)) = (e.shard.as_deref(), e.worker.as_deref()) else {
            continue;
        };
        let Some(&(started, by)) = starts
            .get(shard)
            .and_then(|list| list.iter().rev().find(|(t, _)| *t <= e.time_ms))
        else {
            continue;
        };
        if by != worker
            && started + slack < e.time_ms
            && !woken_between(resumed, worker, started, e.time_ms)
        {
            out.push(format!(
                "{shard}: {worker} checkpointed {} at {} although {by} had started the shard at {started}",
                e.str("sequence").unwrap_or("?"),
                e.time_ms
            ));
        }
    }
    out
}

/// Records an old owner delivered more than `bound` after a new owner started the shard, or
/// after the old owner woke from a freeze, whichever is later.
fn late_deliveries(
    entries: &[Entry],
    resumed: &BTreeMap<String, Vec<u64>>,
    bound: Duration,
) -> Vec<String> {
    let starts = starts(entries);
    let bound = millis(bound);
    let mut out = Vec::new();
    for e in entries.iter().filter(|e| e.event == "record") {
        let (Some(shard), Some(worker)) = (e.shard.as_deref(), e.worker.as_deref()) else {
            continue;
        };
        let Some(list) = starts.get(shard) else {
            continue;
        };
        // The latest start of the shard before this delivery.
        let Some(&(started, by)) = list.iter().rev().find(|(t, _)| *t <= e.time_ms) else {
            continue;
        };
        if by == worker {
            continue;
        }
        let woke = resumed
            .get(worker)
            .and_then(|times| times.iter().copied().filter(|t| *t <= e.time_ms).max())
            .unwrap_or(0);
        let from = started.max(woke);
        if e.time_ms > from + bound {
            out.push(format!(
                "{shard}: {worker} delivered {} {} ms after {by} started the shard{}",
                e.str("data").unwrap_or("?"),
                e.time_ms - started,
                if woke > started {
                    format!(" ({} ms after it woke)", e.time_ms - woke)
                } else {
                    String::new()
                }
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use kinesis_kcl_compat::sequence::Checkpoint;

    use super::*;

    fn entry(event: &str, worker: &str, shard: &str, time_ms: u64, fields: Value) -> Entry {
        Entry {
            event: event.into(),
            worker: Some(worker.into()),
            shard: Some(shard.into()),
            time_ms,
            fields,
        }
    }

    fn started(worker: &str, shard: &str, at: u64) -> Entry {
        entry("initialized", worker, shard, at, json!({}))
    }

    fn record(worker: &str, shard: &str, at: u64, data: &str, key: &str) -> Entry {
        entry(
            "record",
            worker,
            shard,
            at,
            json!({"data": data, "partition_key": key, "sequence": "1"}),
        )
    }

    #[test]
    fn a_checkpoint_by_a_former_owner_is_stale_unless_it_just_woke() {
        let entries = vec![
            started("a", "s", 0),
            started("b", "s", 1_000),
            entry("checkpoint", "a", "s", 1_050, json!({"sequence": "9"})),
            entry("checkpoint", "a", "s", 2_000, json!({"sequence": "10"})),
            entry("checkpoint", "b", "s", 2_100, json!({"sequence": "11"})),
        ];
        let none = BTreeMap::new();
        let found = stale_checkpoints(&entries, &none);
        // Within the journal slack the line may predate the take; a second later it may not.
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].contains("a checkpointed 10"), "{found:?}");
        let woke = BTreeMap::from([("a".to_owned(), vec![1_900])]);
        assert!(stale_checkpoints(&entries, &woke).is_empty());
    }

    #[test]
    fn a_former_owner_may_deliver_for_one_renew_interval_after_the_take_or_its_wake_up() {
        let entries = vec![
            started("a", "s", 0),
            started("b", "s", 1_000),
            record("a", "s", 1_500, "r-1", "k"),
            record("a", "s", 2_500, "r-2", "k"),
        ];
        let bound = Duration::from_millis(1_000);
        let found = late_deliveries(&entries, &BTreeMap::new(), bound);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].contains("r-2"), "{found:?}");
        let woke = BTreeMap::from([("a".to_owned(), vec![2_000])]);
        assert!(late_deliveries(&entries, &woke, bound).is_empty());
    }

    #[test]
    fn a_parent_record_after_a_child_record_of_the_same_key_is_out_of_order() {
        let parents = BTreeMap::from([
            ("child".to_owned(), vec!["parent".to_owned()]),
            ("parent".to_owned(), vec![]),
        ]);
        let entries = vec![
            record("a", "parent", 1, "r-1", "k"),
            record("a", "child", 2, "r-2", "k"),
            record("b", "parent", 3, "r-0", "k"),
            // Another key may interleave freely.
            record("b", "parent", 4, "q-0", "other"),
        ];
        let found = lineage_order(&entries, &parents);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].contains("r-0"), "{found:?}");
    }

    /// A producer's journal line: `data` stored on `shard`.
    fn put(data: &str, shard: &str) -> Entry {
        Entry {
            event: "put".into(),
            worker: None,
            shard: None,
            time_ms: 0,
            fields: json!({"data": data, "shard": shard}),
        }
    }

    #[test]
    fn a_shard_with_records_waiting_must_be_read_within_the_bound() {
        let entries = vec![
            put("a-1", "s1"),
            put("a-2", "s2"),
            put("a-3", "s3"),
            record("w", "s1", 500, "a-1", "k"),
            record("w", "s2", 1_000 + 9_000, "a-2", "k"),
            record("w", "s3", 1_000 + 2_000, "a-3", "k"),
        ];
        // s1 was read before the quiet; s3 within the bound; s2 past it.
        let found = unread(&entries, 1_000, Duration::from_secs(5), &BTreeMap::new());
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].starts_with("s2"), "{found:?}");
    }

    #[test]
    fn a_child_must_be_read_within_the_bound_of_its_parents_finishing() {
        let shard_end = |shard: &str, time_ms| Entry {
            event: "checkpoint".into(),
            worker: Some("w".into()),
            shard: Some(shard.into()),
            time_ms,
            fields: json!({"sequence": "SHARD_END"}),
        };
        let entries = vec![
            put("a-1", "p"),
            put("a-2", "c1"),
            put("a-3", "c2"),
            put("a-4", "orphan"),
            // The parent drains its backlog for 60 s after the quiet, then its children follow:
            // c1 within the bound of that, c2 past it.
            put("a-5", "p"),
            record("w", "p", 1_000 + 500, "a-5", "k"),
            record("w", "p", 1_000 + 59_000, "a-1", "k"),
            shard_end("p", 1_000 + 60_000),
            record("w", "c1", 1_000 + 63_000, "a-2", "k"),
            record("w", "c2", 1_000 + 70_000, "a-3", "k"),
        ];
        let parents = BTreeMap::from([
            ("c1".to_owned(), vec!["p".to_owned()]),
            ("c2".to_owned(), vec!["p".to_owned()]),
            ("orphan".to_owned(), vec!["gone".to_owned()]),
        ]);
        let found = unread(&entries, 1_000, Duration::from_secs(5), &parents);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(
            found[0].starts_with("c2: ") && found[0].contains("10000 ms after"),
            "{found:?}"
        );
        assert!(found[1].contains("parent gone never finished"), "{found:?}");
    }

    #[test]
    fn a_checkpoint_moving_backwards_is_a_regression() {
        let seen = |at_ms, checkpoint: &str| Seen {
            at_ms,
            owner: Some("a".into()),
            counter: at_ms,
            checkpoint: Checkpoint::from_kcl_parts(checkpoint, 0).unwrap(),
        };
        let history = BTreeMap::from([(
            "s".to_owned(),
            vec![seen(1, "TRIM_HORIZON"), seen(2, "200"), seen(3, "150")],
        )]);
        let found = checkpoint_regressions(&history);
        assert_eq!(found.len(), 1, "{found:?}");
        let history = BTreeMap::from([(
            "s".to_owned(),
            vec![seen(1, "200"), seen(2, "1000"), seen(3, "SHARD_END")],
        )]);
        assert!(checkpoint_regressions(&history).is_empty());
    }

    #[test]
    fn a_process_is_held_to_its_own_memory_bound_or_the_run_s() {
        let rss = BTreeMap::from([
            ("w0#1".to_owned(), 300 * 1024),
            ("j2#1".to_owned(), 300 * 1024),
            ("j2#2".to_owned(), 600 * 1024),
        ]);
        let java = BTreeMap::from([
            ("j2#1".to_owned(), 512 * 1024),
            ("j2#2".to_owned(), 512 * 1024),
        ]);
        assert_eq!(
            memory(&rss, 256 * 1024, &java),
            [
                "j2#2: 600 MiB resident, past the bound of 512 MiB",
                "w0#1: 300 MiB resident, past the bound of 256 MiB"
            ]
        );
    }
}
