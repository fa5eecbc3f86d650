//! The lease table over a run: scanned every 250 ms straight from the server (not through the
//! fault proxies), each lease's owner, counter and checkpoint kept every time one changes.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use kcl_fleet::journal::now_ms;
use kinesis_client::ClientConfig;
use kinesis_kcl_compat::lease::Lease;
use kinesis_kcl_compat::sequence::Checkpoint;
use kinesis_lease::{DynamoDbLeaseRepository, LeaseRepository};
use tokio::task::JoinHandle;

/// How often the table is scanned.
const SCAN_EVERY: Duration = Duration::from_millis(250);

/// One lease as one scan saw it.
#[derive(Clone, Debug, PartialEq)]
pub struct Seen {
    /// When (milliseconds since the Unix epoch).
    pub at_ms: u64,
    /// Its owner.
    pub owner: Option<String>,
    /// Its lease counter.
    pub counter: u64,
    /// Its checkpoint.
    pub checkpoint: Checkpoint,
}

#[derive(Debug, Default)]
struct State {
    /// Per lease key, every change seen.
    history: BTreeMap<String, Vec<Seen>>,
    /// Per lease key, its parents (from the table).
    parents: BTreeMap<String, Vec<String>>,
    latest: Vec<Lease>,
    latest_at_ms: u64,
    scans: u64,
    failed_scans: u64,
}

/// Scans the lease table until dropped.
#[derive(Debug)]
pub struct TableWatch {
    state: Arc<Mutex<State>>,
    task: JoinHandle<()>,
}

impl TableWatch {
    /// Starts scanning `table`.
    pub fn start(config: &ClientConfig, table: &str) -> Self {
        let repository = DynamoDbLeaseRepository::new(config, table);
        let state = Arc::new(Mutex::new(State::default()));
        let shared = Arc::clone(&state);
        let task = tokio::spawn(async move {
            loop {
                let scan = repository.list_leases().await;
                let at_ms = now_ms();
                {
                    let mut s = shared.lock().unwrap_or_else(PoisonError::into_inner);
                    match scan {
                        Ok(scan) => {
                            for lease in &scan.leases {
                                let key = lease.lease_key.to_string();
                                let seen = Seen {
                                    at_ms,
                                    owner: lease.lease_owner.clone(),
                                    counter: lease.lease_counter,
                                    checkpoint: lease.checkpoint.clone(),
                                };
                                let changes = s.history.entry(key.clone()).or_default();
                                let changed = changes.last().is_none_or(|last| {
                                    (&last.owner, last.counter, &last.checkpoint)
                                        != (&seen.owner, seen.counter, &seen.checkpoint)
                                });
                                if changed {
                                    changes.push(seen);
                                }
                                s.parents.insert(
                                    key,
                                    lease
                                        .parent_shard_ids
                                        .iter()
                                        .map(ToString::to_string)
                                        .collect(),
                                );
                            }
                            s.latest = scan.leases;
                            s.latest_at_ms = at_ms;
                            s.scans += 1;
                        }
                        Err(_) => s.failed_scans += 1,
                    }
                }
                tokio::time::sleep(SCAN_EVERY).await;
            }
        });
        Self { state, task }
    }

    fn with<R>(&self, f: impl FnOnce(&State) -> R) -> R {
        f(&self.state.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// The leases of the latest scan, and when it was made.
    pub fn latest(&self) -> (u64, Vec<Lease>) {
        self.with(|s| (s.latest_at_ms, s.latest.clone()))
    }

    /// Per lease key, every change seen.
    pub fn history(&self) -> BTreeMap<String, Vec<Seen>> {
        self.with(|s| s.history.clone())
    }

    /// Per lease key, its parent shards.
    pub fn parents(&self) -> BTreeMap<String, Vec<String>> {
        self.with(|s| s.parents.clone())
    }

    /// Scans made and scans that failed.
    pub fn scans(&self) -> (u64, u64) {
        self.with(|s| (s.scans, s.failed_scans))
    }
}

impl Drop for TableWatch {
    fn drop(&mut self) {
        self.task.abort();
    }
}
