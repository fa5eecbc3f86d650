//! The lease table while a scenario runs: a watcher that scans it every 200 ms and keeps each
//! lease's owners over time, and the raw rows (attribute names and DynamoDB types) for
//! comparing what each kind of worker writes.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use kinesis_client::ClientConfig;
use kinesis_kcl_compat::lease::dynamodb::item_from_sdk;
use kinesis_kcl_compat::lease::{AttributeType, Item, Lease};
use kinesis_lease::{DynamoDbLeaseRepository, LeaseRepository};
use tokio::task::JoinHandle;

/// How often the watcher scans.
const SCAN_EVERY: Duration = Duration::from_millis(200);

#[derive(Debug, Default)]
struct History {
    latest: Vec<Lease>,
    /// Per lease key: (when, owner) each time the owner was seen to change.
    owners: BTreeMap<String, Vec<(Instant, Option<String>)>>,
    scans: usize,
}

/// Scans the lease table every 200 ms until dropped.
#[derive(Debug)]
pub struct LeaseWatch {
    history: Arc<Mutex<History>>,
    task: JoinHandle<()>,
}

impl LeaseWatch {
    /// Starts watching the table `table`.
    pub fn start(config: &ClientConfig, table: &str) -> Self {
        let repository = DynamoDbLeaseRepository::new(config, table);
        let history = Arc::new(Mutex::new(History::default()));
        let shared = Arc::clone(&history);
        let task = tokio::spawn(async move {
            loop {
                if let Ok(scan) = repository.list_leases().await {
                    let now = Instant::now();
                    let mut h = shared.lock().unwrap_or_else(PoisonError::into_inner);
                    for lease in &scan.leases {
                        let key = lease.lease_key.to_string();
                        let changes = h.owners.entry(key).or_default();
                        if changes.last().map(|(_, o)| o) != Some(&lease.lease_owner) {
                            changes.push((now, lease.lease_owner.clone()));
                        }
                    }
                    h.latest = scan.leases;
                    h.scans += 1;
                }
                tokio::time::sleep(SCAN_EVERY).await;
            }
        });
        Self { history, task }
    }

    fn with<R>(&self, f: impl FnOnce(&History) -> R) -> R {
        f(&self.history.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// The leases of the latest scan.
    pub fn latest(&self) -> Vec<Lease> {
        self.with(|h| h.latest.clone())
    }

    /// How many times a lease changed hands from one owner to another (or to none and then to
    /// another), over the whole run: the first owner of each lease is not counted.
    pub fn owner_switches(&self) -> usize {
        self.with(|h| {
            h.owners
                .values()
                .map(|changes| {
                    changes
                        .iter()
                        .filter_map(|(_, o)| o.as_ref())
                        .collect::<Vec<_>>()
                        .windows(2)
                        .filter(|w| w[0] != w[1])
                        .count()
                })
                .sum()
        })
    }

    /// Waits (scanning) until `done` holds for the latest scan, at most `timeout`; returns how
    /// long it took, or `None`.
    pub async fn wait_for(
        &self,
        timeout: Duration,
        done: impl Fn(&[Lease]) -> bool,
    ) -> Option<Duration> {
        let started = Instant::now();
        let first_scan = self.with(|h| h.scans);
        loop {
            let (ok, scans) = self.with(|h| (done(&h.latest), h.scans));
            if ok && scans > first_scan {
                return Some(started.elapsed());
            }
            if started.elapsed() > timeout {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for LeaseWatch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The open (not `SHARD_END`) leases per owner (`-` for none).
pub fn open_by_owner(leases: &[Lease]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for lease in leases.iter().filter(|l| !l.checkpoint.is_shard_end()) {
        *counts
            .entry(lease.lease_owner.clone().unwrap_or_else(|| "-".into()))
            .or_insert(0) += 1;
    }
    counts
}

/// Whether every open lease is owned by one of `owners`.
pub fn all_open_owned_by(leases: &[Lease], owners: &[&str]) -> bool {
    !leases.is_empty()
        && leases
            .iter()
            .filter(|l| !l.checkpoint.is_shard_end())
            .all(|l| {
                l.lease_owner
                    .as_deref()
                    .is_some_and(|o| owners.contains(&o))
            })
}

/// A raw row reduced to its shape: attribute name → DynamoDB type.
pub type RowShape = BTreeMap<String, &'static str>;

/// Every row of `table` (all pages), as raw attribute maps.
///
/// # Panics
///
/// When the scan fails.
pub async fn raw_rows(config: &ClientConfig, table: &str) -> Vec<Item> {
    let sdk = config.dynamodb_sdk();
    let mut rows = Vec::new();
    let mut start = None;
    loop {
        let page = sdk
            .scan()
            .table_name(table)
            .consistent_read(true)
            .set_exclusive_start_key(start)
            .send()
            .await
            .unwrap_or_else(|e| panic!("scan of the lease table {table} failed: {e:?}"));
        rows.extend(
            page.items
                .unwrap_or_default()
                .into_iter()
                .map(item_from_sdk),
        );
        match page.last_evaluated_key {
            Some(key) if !key.is_empty() => start = Some(key),
            _ => break,
        }
    }
    rows
}

/// The shape of a row.
pub fn shape(row: &Item) -> RowShape {
    row.iter()
        .map(|(k, v)| (k.clone(), AttributeType::of(v).as_str()))
        .collect()
}

/// The attribute names of a set of shapes.
pub fn names(shapes: &[RowShape]) -> BTreeSet<String> {
    shapes.iter().flat_map(|s| s.keys().cloned()).collect()
}
