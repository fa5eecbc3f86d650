//! Which acknowledged records are still unconsumed, kept up to date by reading only what the
//! journals gained since the last look (a long run's journals hold hundreds of thousands of
//! lines: read whole every tick, they would slow the harness down enough to skew what it
//! measures).

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use serde_json::Value;

/// Acknowledged records not consumed yet.
#[derive(Debug, Default)]
pub struct Progress {
    /// Per journal, how many bytes of complete lines were read.
    read: HashMap<PathBuf, u64>,
    consumed: HashSet<String>,
    pending: HashSet<String>,
}

impl Progress {
    /// Reads what `journals` gained since the last call.
    pub fn update<'a>(&mut self, journals: impl IntoIterator<Item = &'a PathBuf>) {
        for path in journals {
            let from = self.read.get(path).copied().unwrap_or(0);
            let to = self.read_from(path, from);
            self.read.insert(path.clone(), to);
        }
    }

    /// Whether every acknowledged record seen so far was consumed.
    pub fn drained(&self) -> bool {
        self.pending.is_empty()
    }

    /// How many acknowledged records seen so far are not consumed yet.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Reads the complete lines of `path` from byte `from`; returns where it stopped.
    fn read_from(&mut self, path: &Path, from: u64) -> u64 {
        let Ok(mut file) = File::open(path) else {
            return from;
        };
        if file.seek(SeekFrom::Start(from)).is_err() {
            return from;
        }
        let mut reader = BufReader::new(file);
        let mut at = from;
        let mut line = String::new();
        loop {
            line.clear();
            match reader.read_line(&mut line) {
                // A line still being written is read next time, whole.
                Ok(n) if n > 0 && line.ends_with('\n') => {
                    at += n as u64;
                    self.line(&line);
                }
                _ => return at,
            }
        }
    }

    fn line(&mut self, line: &str) {
        let Ok(value) = serde_json::from_str::<Value>(line) else {
            return;
        };
        let (Some(event), Some(data)) = (
            value.get("event").and_then(Value::as_str),
            value.get("data").and_then(Value::as_str),
        ) else {
            return;
        };
        match event {
            "put" if !self.consumed.contains(data) => {
                self.pending.insert(data.to_owned());
            }
            "record" => {
                self.pending.remove(data);
                self.consumed.insert(data.to_owned());
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    #[test]
    fn records_are_followed_across_journals_and_partial_lines() {
        let dir = std::env::temp_dir().join(format!("chaos-progress-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let producer = dir.join("p.jsonl");
        let worker = dir.join("w.jsonl");
        let journals = [producer.clone(), worker.clone()];
        std::fs::write(&producer, "{\"event\":\"put\",\"data\":\"a\"}\n").unwrap();
        std::fs::write(
            &worker,
            "{\"event\":\"record\",\"data\":\"b\"}\n{\"event\":\"rec",
        )
        .unwrap();
        let mut p = Progress::default();
        p.update(&journals);
        assert!(!p.drained());
        // The worker's cut line is finished, and b is acknowledged after it was consumed.
        let mut w = std::fs::OpenOptions::new()
            .append(true)
            .open(&worker)
            .unwrap();
        w.write_all(b"ord\",\"data\":\"a\"}\n").unwrap();
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&producer)
            .unwrap();
        f.write_all(b"{\"event\":\"put\",\"data\":\"b\"}\n")
            .unwrap();
        p.update(&journals);
        assert!(p.drained());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
