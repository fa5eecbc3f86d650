//! The journal of a worker or producer process: one JSON object per line, the same schema for
//! the Rust worker and the Java KCL worker of `interop/kcl-worker`, so that a scenario reads
//! both alike.
//!
//! Every line has `event`, and `time_ms` (milliseconds since the Unix epoch). Worker lines also
//! have `worker`; shard lines `shard`; `record` lines `sequence`, `subsequence`,
//! `partition_key` and `data`; `checkpoint` lines `sequence` and `subsequence` (the KCL's
//! checkpoint string and sub-sequence number).

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Appends lines to a journal file; cheap to clone, safe to share between tasks. Each line is
/// flushed when written, so a process killed with SIGKILL leaves every line it wrote.
#[derive(Clone, Debug)]
pub struct JournalWriter {
    file: Arc<Mutex<File>>,
    worker: Option<String>,
}

impl JournalWriter {
    /// Opens (appends to) `path`; `worker` is added to every line when given.
    ///
    /// # Errors
    ///
    /// The file cannot be opened.
    pub fn open(path: &Path, worker: Option<&str>) -> std::io::Result<Self> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(Self {
            file: Arc::new(Mutex::new(file)),
            worker: worker.map(str::to_owned),
        })
    }

    /// Writes one line: `event` plus `fields` (an object), `worker` and `time_ms`.
    pub fn write(&self, event: &str, fields: Value) {
        let mut line = match fields {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        line.insert("event".into(), json!(event));
        if let Some(worker) = &self.worker {
            line.insert("worker".into(), json!(worker));
        }
        line.insert("time_ms".into(), json!(now_ms()));
        let mut text = Value::Object(line).to_string();
        text.push('\n');
        let mut file = self.file.lock().unwrap_or_else(PoisonError::into_inner);
        // A journal that cannot be written makes the scenario fail on a missing line; nothing
        // better to do here.
        let _ = file.write_all(text.as_bytes());
    }
}

/// One line of a journal.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// The `event` field.
    pub event: String,
    /// The `worker` field, if any.
    pub worker: Option<String>,
    /// The `shard` field, if any.
    pub shard: Option<String>,
    /// The `time_ms` field.
    pub time_ms: u64,
    /// The whole line.
    pub fields: Value,
}

impl Entry {
    /// A string field.
    pub fn str(&self, name: &str) -> Option<&str> {
        self.fields.get(name).and_then(Value::as_str)
    }

    /// A number field.
    pub fn u64(&self, name: &str) -> Option<u64> {
        self.fields.get(name).and_then(Value::as_u64)
    }
}

/// Reads every complete line of the journal at `path` (none when it does not exist yet). A
/// line cut short by a kill is skipped.
pub fn read(path: &Path) -> Vec<Entry> {
    let Ok(file) = File::open(path) else {
        return Vec::new();
    };
    BufReader::new(file)
        .lines()
        .map_while(Result::ok)
        .filter_map(|line| serde_json::from_str::<Value>(&line).ok())
        .filter_map(|fields| {
            Some(Entry {
                event: fields.get("event")?.as_str()?.to_owned(),
                worker: fields
                    .get("worker")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                shard: fields
                    .get("shard")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                time_ms: fields.get("time_ms").and_then(Value::as_u64).unwrap_or(0),
                fields,
            })
        })
        .collect()
}
