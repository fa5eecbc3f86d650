//! The picture of a run, as SVG: per shard, the records acknowledged but not yet consumed over
//! time; per lease, its owner over time; and when each action happened.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;

use kcl_fleet::journal::Entry;

use crate::watch::Seen;

const WIDTH: f64 = 1400.0;
const LEFT: f64 = 190.0;
const RIGHT: f64 = 20.0;
const LAG_TOP: f64 = 60.0;
const LAG_HEIGHT: f64 = 260.0;
const ROW: f64 = 18.0;

/// Colours for shards and owners, in turn.
const PALETTE: [&str; 10] = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf",
];

/// Per shard, the number of acknowledged records not yet consumed, once a second from
/// `start_ms` to `end_ms`.
pub fn lag_per_shard(entries: &[Entry], start_ms: u64, end_ms: u64) -> BTreeMap<String, Vec<u64>> {
    let mut consumed: HashMap<&str, u64> = HashMap::new();
    for e in entries.iter().filter(|e| e.event == "record") {
        if let Some(data) = e.str("data") {
            let t = consumed.entry(data).or_insert(e.time_ms);
            *t = (*t).min(e.time_ms);
        }
    }
    let seconds = usize::try_from((end_ms.saturating_sub(start_ms)) / 1000 + 1).unwrap_or(0);
    let mut out: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for e in entries.iter().filter(|e| e.event == "put") {
        let (Some(data), Some(shard)) = (e.str("data"), e.str("shard")) else {
            continue;
        };
        let series = out
            .entry(shard.to_owned())
            .or_insert_with(|| vec![0; seconds + 1]);
        let bucket = |t: u64| {
            usize::try_from(t.saturating_sub(start_ms).div_ceil(1000))
                .unwrap_or(seconds)
                .min(seconds)
        };
        series[bucket(e.time_ms)] += 1;
        if let Some(t) = consumed.get(data) {
            series[bucket((*t).max(e.time_ms))] -= 1;
        }
    }
    out.into_iter()
        .map(|(shard, deltas)| {
            let mut level = 0i64;
            let levels = deltas
                .iter()
                .take(seconds)
                .map(|d| {
                    level += d;
                    u64::try_from(level.max(0)).unwrap_or(0)
                })
                .collect();
            (shard, levels)
        })
        .collect()
}

/// The SVG picture.
pub fn svg(
    title: &str,
    lag: &BTreeMap<String, Vec<u64>>,
    owners: &BTreeMap<String, Vec<Seen>>,
    actions: &[(u64, String)],
    start_ms: u64,
    end_ms: u64,
) -> String {
    let span = (end_ms.saturating_sub(start_ms)).max(1) as f64;
    let x = |t: u64| LEFT + (t.saturating_sub(start_ms) as f64 / span) * (WIDTH - LEFT - RIGHT);
    let owners_top = LAG_TOP + LAG_HEIGHT + 50.0;
    let height = owners_top + ROW * owners.len() as f64 + 40.0;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" font-family="sans-serif" font-size="11">"#
    );
    let _ = writeln!(
        s,
        r#"<rect width="100%" height="100%" fill="white"/><text x="10" y="20" font-size="14">{}</text>"#,
        escape(title)
    );
    // Actions: a vertical line each, across both panels.
    for (at, label) in actions {
        let ax = x(*at);
        let _ = writeln!(
            s,
            r##"<line x1="{ax:.1}" y1="{LAG_TOP}" x2="{ax:.1}" y2="{:.1}" stroke="#ccc"><title>{}</title></line>"##,
            height - 30.0,
            escape(label)
        );
    }
    // Lag panel.
    let max = lag.values().flatten().copied().max().unwrap_or(0).max(1) as f64;
    let _ = writeln!(
        s,
        r#"<text x="10" y="{}">records acknowledged, not yet consumed (max {max})</text>"#,
        LAG_TOP - 8.0
    );
    let _ = writeln!(
        s,
        r#"<rect x="{LEFT}" y="{LAG_TOP}" width="{}" height="{LAG_HEIGHT}" fill="none" stroke="black"/>"#,
        WIDTH - LEFT - RIGHT
    );
    for (i, (shard, series)) in lag.iter().enumerate() {
        let colour = PALETTE[i % PALETTE.len()];
        let points: Vec<String> = series
            .iter()
            .enumerate()
            .map(|(sec, v)| {
                let t = start_ms + sec as u64 * 1000;
                let y = LAG_TOP + LAG_HEIGHT - (*v as f64 / max) * LAG_HEIGHT;
                format!("{:.1},{y:.1}", x(t))
            })
            .collect();
        let _ = writeln!(
            s,
            r#"<polyline fill="none" stroke="{colour}" stroke-width="1.2" points="{}"><title>{}</title></polyline>"#,
            points.join(" "),
            escape(shard)
        );
        let _ = writeln!(
            s,
            r#"<text x="10" y="{:.1}" fill="{colour}">{}</text>"#,
            LAG_TOP + 14.0 + 13.0 * i as f64,
            escape(short(shard))
        );
    }
    // Owners panel.
    let _ = writeln!(
        s,
        r#"<text x="10" y="{}">lease owners (grey: none)</text>"#,
        owners_top - 8.0
    );
    let mut colours: BTreeMap<&str, &str> = BTreeMap::new();
    for (row, (lease, changes)) in owners.iter().enumerate() {
        let y = owners_top + ROW * row as f64;
        let _ = writeln!(
            s,
            r#"<text x="10" y="{:.1}">{}</text>"#,
            y + ROW - 5.0,
            escape(short(lease))
        );
        for (i, seen) in changes.iter().enumerate() {
            let until = changes.get(i + 1).map_or(end_ms, |next| next.at_ms);
            let colour = match &seen.owner {
                None => "#ddd",
                Some(owner) => {
                    let next = colours.len();
                    colours
                        .entry(owner.as_str())
                        .or_insert(PALETTE[next % PALETTE.len()])
                }
            };
            let (x1, x2) = (x(seen.at_ms), x(until));
            let label = format!(
                "{lease}: {} from {} ms, checkpoint {}",
                seen.owner.as_deref().unwrap_or("none"),
                seen.at_ms.saturating_sub(start_ms),
                seen.checkpoint.kcl_checkpoint()
            );
            let _ = writeln!(
                s,
                r#"<rect x="{x1:.1}" y="{y:.1}" width="{:.1}" height="{:.1}" fill="{colour}"><title>{}</title></rect>"#,
                (x2 - x1).max(0.5),
                ROW - 3.0,
                escape(&label)
            );
        }
    }
    let legend_y = height - 12.0;
    let mut lx = LEFT;
    for (owner, colour) in &colours {
        let _ = writeln!(
            s,
            r#"<rect x="{lx:.1}" y="{:.1}" width="10" height="10" fill="{colour}"/><text x="{:.1}" y="{legend_y:.1}">{}</text>"#,
            legend_y - 9.0,
            lx + 13.0,
            escape(owner)
        );
        lx += 20.0 + 7.0 * owner.len() as f64;
    }
    s.push_str("</svg>\n");
    s
}

/// `shardId-000000000004` as `shard 4`.
fn short(shard: &str) -> &str {
    shard.trim_start_matches("shardId-").trim_start_matches('0')
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entry(event: &str, time_ms: u64, fields: serde_json::Value) -> Entry {
        Entry {
            event: event.into(),
            worker: None,
            shard: fields
                .get("shard")
                .and_then(|s| s.as_str())
                .map(str::to_owned),
            time_ms,
            fields,
        }
    }

    #[test]
    fn lag_counts_acknowledged_records_until_their_first_consumption() {
        let entries = vec![
            entry("put", 1_000, json!({"data": "a", "shard": "s"})),
            entry("put", 1_000, json!({"data": "b", "shard": "s"})),
            entry("record", 2_500, json!({"data": "a", "shard": "s"})),
            entry("record", 9_000, json!({"data": "a", "shard": "s"})),
        ];
        let lag = lag_per_shard(&entries, 0, 4_000);
        // b is never consumed; a is consumed in the fourth second.
        assert_eq!(lag["s"], vec![0, 2, 2, 1, 1]);
    }
}
