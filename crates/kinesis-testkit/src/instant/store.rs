//! The instant server's streams: shards with equal hash-key ranges, records kept in memory as
//! they arrived (the payload as the client's base64 text, never decoded), sequence numbers
//! from a counter per shard.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use md5::{Digest, Md5};

/// A record as stored: what GetRecords gives back.
#[derive(Debug)]
pub(crate) struct StoredRecord {
    /// The position in the shard (0-based); the sequence number is derived from it.
    pub(crate) index: u64,
    /// The payload as the client sent it: base64 text.
    pub(crate) data: Box<str>,
    pub(crate) partition_key: Box<str>,
    /// Milliseconds since the epoch.
    pub(crate) arrival_ms: u64,
}

/// One shard: its hash-key range and its records (or only their count, when records are
/// discarded).
#[derive(Debug)]
pub(crate) struct Shard {
    pub(crate) id: String,
    pub(crate) index: usize,
    pub(crate) start: u128,
    pub(crate) end: u128,
    pub(crate) records: Mutex<ShardLog>,
}

/// A shard's records.
#[derive(Debug, Default)]
pub(crate) struct ShardLog {
    /// How many records the shard ever received.
    pub(crate) count: u64,
    /// The records, unless the server discards them.
    pub(crate) kept: Vec<StoredRecord>,
}

/// One stream.
#[derive(Debug)]
pub(crate) struct Stream {
    pub(crate) name: String,
    pub(crate) arn: String,
    pub(crate) shards: Vec<Shard>,
    pub(crate) created_secs: u64,
}

impl Stream {
    fn new(name: &str, shard_count: usize, account: &str, region: &str) -> Self {
        let shard_count = shard_count.max(1);
        let width = u128::MAX / shard_count as u128;
        let shards = (0..shard_count)
            .map(|i| {
                let start = width * i as u128 + i as u128;
                let end = if i + 1 == shard_count {
                    u128::MAX
                } else {
                    start + width
                };
                Shard {
                    id: format!("shardId-{i:012}"),
                    index: i,
                    start,
                    end,
                    records: Mutex::default(),
                }
            })
            .collect();
        Self {
            name: name.to_owned(),
            arn: format!("arn:aws:kinesis:{region}:{account}:stream/{name}"),
            shards,
            created_secs: now_ms() / 1000,
        }
    }

    /// The shard whose range holds the MD5 of `partition_key` (or `explicit_hash_key`).
    pub(crate) fn shard_for(&self, partition_key: &str, explicit_hash_key: Option<&str>) -> &Shard {
        let hash = explicit_hash_key
            .and_then(|k| k.parse::<u128>().ok())
            .unwrap_or_else(|| u128::from_be_bytes(Md5::digest(partition_key.as_bytes()).into()));
        if self.shards.len() == 1 {
            return &self.shards[0];
        }
        // Equal ranges: the index is the hash divided by the width, clamped for the last shard.
        let width = self.shards[0].end - self.shards[0].start + 1;
        let index = ((hash / width) as usize).min(self.shards.len() - 1);
        &self.shards[index]
    }
}

/// The sequence number of the record at `index` of shard `shard`: 56 digits, increasing within
/// a shard, as Kinesis's are.
pub(crate) fn sequence_number(shard: usize, index: u64) -> String {
    format!("4968{:04}{:048}", shard % 10_000, index)
}

/// The record index a sequence number of [`sequence_number`] names.
pub(crate) fn index_of(sequence_number: &str) -> Option<u64> {
    sequence_number.get(8..)?.parse().ok()
}

/// Milliseconds since the epoch.
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Every stream of a server.
#[derive(Debug)]
pub(crate) struct Store {
    streams: RwLock<HashMap<String, Arc<Stream>>>,
    /// Whether record payloads are dropped after the answer (producer benchmarks).
    pub(crate) discard: bool,
    account: String,
    region: String,
}

impl Store {
    pub(crate) fn new(discard: bool) -> Self {
        Self {
            streams: RwLock::default(),
            discard,
            account: "000000000000".to_owned(),
            region: "us-east-1".to_owned(),
        }
    }

    /// Creates `name` with `shards` shards; false when it exists.
    pub(crate) fn create(&self, name: &str, shards: usize) -> bool {
        let mut streams = self.streams.write().unwrap_or_else(|e| e.into_inner());
        if streams.contains_key(name) {
            return false;
        }
        streams.insert(
            name.to_owned(),
            Arc::new(Stream::new(name, shards, &self.account, &self.region)),
        );
        true
    }

    /// Deletes `name`; false when it does not exist.
    pub(crate) fn delete(&self, name: &str) -> bool {
        self.streams
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(name)
            .is_some()
    }

    /// The stream named by a name or an ARN.
    pub(crate) fn get(&self, name_or_arn: &str) -> Option<Arc<Stream>> {
        let name = name_or_arn
            .rsplit_once(":stream/")
            .map_or(name_or_arn, |(_, n)| n);
        self.streams
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .cloned()
    }

    /// Every stream's name.
    pub(crate) fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .streams
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .keys()
            .cloned()
            .collect();
        names.sort();
        names
    }

    /// How many records all streams received.
    pub(crate) fn total_records(&self) -> u64 {
        self.streams
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .flat_map(|s| s.shards.iter())
            .map(|s| s.records.lock().unwrap_or_else(|e| e.into_inner()).count)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_cover_the_hash_key_space_without_gaps() {
        for n in [1, 2, 3, 4, 7, 64] {
            let stream = Stream::new("s", n, "0", "r");
            assert_eq!(stream.shards[0].start, 0);
            assert_eq!(stream.shards[n - 1].end, u128::MAX);
            for pair in stream.shards.windows(2) {
                assert_eq!(pair[0].end + 1, pair[1].start, "{n} shards");
            }
        }
    }

    #[test]
    fn a_key_goes_to_the_shard_whose_range_holds_its_md5() {
        let stream = Stream::new("s", 4, "0", "r");
        for key in ["a", "b", "key-17", "🦀"] {
            let hash = u128::from_be_bytes(Md5::digest(key.as_bytes()).into());
            let shard = stream.shard_for(key, None);
            assert!(shard.start <= hash && hash <= shard.end, "{key}");
        }
        assert_eq!(stream.shard_for("x", Some("0")).index, 0);
        assert_eq!(stream.shard_for("x", Some(&u128::MAX.to_string())).index, 3);
    }

    #[test]
    fn sequence_numbers_increase_within_a_shard_and_name_their_record() {
        let a = sequence_number(3, 9);
        let b = sequence_number(3, 10);
        assert_eq!(a.len(), 56);
        assert!(a < b);
        assert_eq!(index_of(&b), Some(10));
    }
}
