//! [`InMemoryLeaseRepository`]: a lease table in memory, with DynamoDB's semantics, for tests and
//! single-process use.
//!
//! It keeps raw DynamoDB items and applies to them exactly the conditions and updates the
//! DynamoDB repository sends (both are built from one description of each write), so it passes
//! the same conformance suite: rows that are not leases are skipped by scans, corrupt rows are
//! reported, and attributes it does not know survive every write.
//!
//! For tests of code built on a [`LeaseRepository`], it also counts the calls of each method
//! ([`call_count`](InMemoryLeaseRepository::call_count)), can fail the next calls of a method
//! ([`fail_next`](InMemoryLeaseRepository::fail_next)), and accepts raw items
//! ([`put_raw_item`](InMemoryLeaseRepository::put_raw_item)).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use kinesis_kcl_compat::lease::{AttributeValue, Item, Lease, LeaseKey, ParsedRow, attr};

use crate::error::{LeaseError, LeaseErrorKind};
use kinesis_kcl_compat::fleet::WorkerMetricStats;

use crate::repository::dynamodb::write::{self, Condition, Update, stored_lease};
use crate::repository::kcl3::{FleetScan, Kcl3Repository, RowCondition, fleet_scan};
use crate::repository::{BoxFuture, CheckpointUpdate, LeaseRepository, LeaseScan};

/// A method of [`LeaseRepository`], to count its calls or inject failures with
/// [`InMemoryLeaseRepository`].
///
/// ```
/// use kinesis_lease::repository::RepositoryMethod;
///
/// assert_eq!(RepositoryMethod::TakeLease.name(), "take_lease");
/// assert_eq!(RepositoryMethod::ALL.len(), 19);
/// ```
#[non_exhaustive]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RepositoryMethod {
    /// [`LeaseRepository::ensure_table`].
    EnsureTable,
    /// [`LeaseRepository::list_leases`].
    ListLeases,
    /// [`LeaseRepository::get_lease`].
    GetLease,
    /// [`LeaseRepository::create_lease`].
    CreateLease,
    /// [`LeaseRepository::take_lease`].
    TakeLease,
    /// [`LeaseRepository::renew_lease`].
    RenewLease,
    /// [`LeaseRepository::update_checkpoint`].
    UpdateCheckpoint,
    /// [`LeaseRepository::release_lease`].
    ReleaseLease,
    /// [`LeaseRepository::delete_lease`].
    DeleteLease,
    /// [`Kcl3Repository::ensure_lease_owner_index`].
    EnsureLeaseOwnerIndex,
    /// [`Kcl3Repository::lease_keys_of`].
    LeaseKeysOf,
    /// [`Kcl3Repository::scan_fleet`].
    ScanFleet,
    /// [`Kcl3Repository::put_worker_metrics`].
    PutWorkerMetrics,
    /// [`Kcl3Repository::assign_lease`].
    AssignLease,
    /// [`Kcl3Repository::start_handoff`].
    StartHandoff,
    /// [`Kcl3Repository::complete_handoff`].
    CompleteHandoff,
    /// [`Kcl3Repository::get_row`].
    GetRow,
    /// [`Kcl3Repository::put_row`].
    PutRow,
    /// [`Kcl3Repository::delete_row`].
    DeleteRow,
}

impl RepositoryMethod {
    /// Every method.
    pub const ALL: [RepositoryMethod; 19] = [
        RepositoryMethod::EnsureTable,
        RepositoryMethod::ListLeases,
        RepositoryMethod::GetLease,
        RepositoryMethod::CreateLease,
        RepositoryMethod::TakeLease,
        RepositoryMethod::RenewLease,
        RepositoryMethod::UpdateCheckpoint,
        RepositoryMethod::ReleaseLease,
        RepositoryMethod::DeleteLease,
        RepositoryMethod::EnsureLeaseOwnerIndex,
        RepositoryMethod::LeaseKeysOf,
        RepositoryMethod::ScanFleet,
        RepositoryMethod::PutWorkerMetrics,
        RepositoryMethod::AssignLease,
        RepositoryMethod::StartHandoff,
        RepositoryMethod::CompleteHandoff,
        RepositoryMethod::GetRow,
        RepositoryMethod::PutRow,
        RepositoryMethod::DeleteRow,
    ];

    /// The method's name, such as `"take_lease"`.
    pub fn name(self) -> &'static str {
        match self {
            RepositoryMethod::EnsureTable => "ensure_table",
            RepositoryMethod::ListLeases => "list_leases",
            RepositoryMethod::GetLease => "get_lease",
            RepositoryMethod::CreateLease => "create_lease",
            RepositoryMethod::TakeLease => "take_lease",
            RepositoryMethod::RenewLease => "renew_lease",
            RepositoryMethod::UpdateCheckpoint => "update_checkpoint",
            RepositoryMethod::ReleaseLease => "release_lease",
            RepositoryMethod::DeleteLease => "delete_lease",
            RepositoryMethod::EnsureLeaseOwnerIndex => "ensure_lease_owner_index",
            RepositoryMethod::LeaseKeysOf => "lease_keys_of",
            RepositoryMethod::ScanFleet => "scan_fleet",
            RepositoryMethod::PutWorkerMetrics => "put_worker_metrics",
            RepositoryMethod::AssignLease => "assign_lease",
            RepositoryMethod::StartHandoff => "start_handoff",
            RepositoryMethod::CompleteHandoff => "complete_handoff",
            RepositoryMethod::GetRow => "get_row",
            RepositoryMethod::PutRow => "put_row",
            RepositoryMethod::DeleteRow => "delete_row",
        }
    }
}

impl fmt::Display for RepositoryMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, Default)]
struct State {
    /// The table's items by `leaseKey`; `None` until `ensure_table` creates the table.
    table: Option<BTreeMap<String, Item>>,
    calls: BTreeMap<RepositoryMethod, u64>,
    failures: BTreeMap<RepositoryMethod, u64>,
}

/// A lease table in memory with DynamoDB's semantics; see the [module documentation](self).
///
/// Like a DynamoDB table of a fresh name, a new repository has no table: call
/// [`ensure_table`](LeaseRepository::ensure_table) first (other methods fail with
/// [`LeaseErrorKind::NotFound`] until then). Clones share the table, the call counts and the
/// injected failures.
///
/// ```
/// use kinesis_kcl_compat::lease::Lease;
/// use kinesis_kcl_compat::sequence::Checkpoint;
/// use kinesis_lease::LeaseRepository;
/// use kinesis_lease::repository::{InMemoryLeaseRepository, RepositoryMethod};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let repo = InMemoryLeaseRepository::new();
/// assert!(repo.ensure_table().await?); // created
///
/// let lease = Lease::new("shardId-000000000000".parse()?, Checkpoint::TRIM_HORIZON);
/// let lease = repo.create_lease(&lease).await?;
/// let taken = repo.take_lease(&lease, "worker-1").await?;
/// assert_eq!(taken.lease_owner.as_deref(), Some("worker-1"));
/// assert_eq!(taken.lease_counter, 1);
///
/// // A stale counter loses.
/// let err = repo.renew_lease(&lease).await.unwrap_err();
/// assert!(err.is_lease_lost());
/// assert_eq!(repo.call_count(RepositoryMethod::RenewLease), 1);
/// # Ok(()) }
/// ```
#[derive(Clone, Default)]
pub struct InMemoryLeaseRepository {
    state: Arc<Mutex<State>>,
}

impl fmt::Debug for InMemoryLeaseRepository {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.lock();
        f.debug_struct("InMemoryLeaseRepository")
            .field("table_exists", &state.table.is_some())
            .field("items", &state.table.as_ref().map_or(0, BTreeMap::len))
            .finish_non_exhaustive()
    }
}

impl InMemoryLeaseRepository {
    /// A repository without a table yet.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// How many times `method` was called on this repository (or a clone), failed calls included.
    ///
    /// ```
    /// use kinesis_lease::LeaseRepository;
    /// use kinesis_lease::repository::{InMemoryLeaseRepository, RepositoryMethod};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let repo = InMemoryLeaseRepository::new();
    /// repo.ensure_table().await.unwrap();
    /// repo.ensure_table().await.unwrap();
    /// assert_eq!(repo.call_count(RepositoryMethod::EnsureTable), 2);
    /// assert_eq!(repo.call_count(RepositoryMethod::ListLeases), 0);
    /// # }
    /// ```
    pub fn call_count(&self, method: RepositoryMethod) -> u64 {
        self.lock().calls.get(&method).copied().unwrap_or(0)
    }

    /// Sets every call count back to 0.
    pub fn reset_call_counts(&self) {
        self.lock().calls.clear();
    }

    /// Makes the next `count` calls of `method` fail with a [`LeaseErrorKind::Storage`] error
    /// (not retryable), without touching the table, as if the storage had failed. Adds to
    /// failures already pending for `method`.
    ///
    /// ```
    /// use kinesis_lease::{LeaseErrorKind, LeaseRepository};
    /// use kinesis_lease::repository::{InMemoryLeaseRepository, RepositoryMethod};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let repo = InMemoryLeaseRepository::new();
    /// repo.ensure_table().await.unwrap();
    /// repo.fail_next(RepositoryMethod::ListLeases, 1);
    /// let err = repo.list_leases().await.unwrap_err();
    /// assert_eq!(err.kind(), LeaseErrorKind::Storage);
    /// assert!(repo.list_leases().await.is_ok()); // only the next one failed
    /// # }
    /// ```
    pub fn fail_next(&self, method: RepositoryMethod, count: u64) {
        *self.lock().failures.entry(method).or_insert(0) += count;
    }

    /// Test hook: stores `item` as it is, with no condition, like an unconditional DynamoDB
    /// `PutItem` (replacing any item with the same `leaseKey`). Use it to put rows that are not
    /// leases (KCL 3.x worker metrics, say) or corrupt rows into the table.
    ///
    /// # Errors
    ///
    /// [`LeaseErrorKind::NotFound`] before the table exists, and [`LeaseErrorKind::Storage`] when
    /// the item has no string `leaseKey` (DynamoDB would refuse it).
    ///
    /// ```
    /// use std::collections::HashMap;
    /// use kinesis_kcl_compat::lease::AttributeValue;
    /// use kinesis_lease::LeaseRepository;
    /// use kinesis_lease::repository::InMemoryLeaseRepository;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let repo = InMemoryLeaseRepository::new();
    /// repo.ensure_table().await.unwrap();
    /// repo.put_raw_item(HashMap::from([
    ///     ("leaseKey".to_owned(), AttributeValue::S("worker-1".into())),
    ///     ("entityType".to_owned(), AttributeValue::S("WORKER_METRIC_STATS".into())),
    /// ]))
    /// .unwrap();
    /// let scan = repo.list_leases().await.unwrap();
    /// assert_eq!((scan.leases.len(), scan.skipped_non_leases), (0, 1));
    /// # }
    /// ```
    pub fn put_raw_item(&self, item: Item) -> Result<(), LeaseError> {
        let key = write::row_key(&item)?;
        let mut state = self.lock();
        let table = state.table.as_mut().ok_or_else(no_table)?;
        table.insert(key, item);
        Ok(())
    }

    /// Test hook: the item stored under `lease_key`, as it is (`None` when there is none, or no
    /// table).
    ///
    /// ```
    /// use kinesis_lease::repository::InMemoryLeaseRepository;
    ///
    /// let repo = InMemoryLeaseRepository::new();
    /// assert!(repo.raw_item("shardId-000000000000").is_none());
    /// ```
    pub fn raw_item(&self, lease_key: &str) -> Option<Item> {
        self.lock().table.as_ref()?.get(lease_key).cloned()
    }

    /// Counts the call, takes an injected failure if one is pending, then runs `f` on the table
    /// (`None` while it does not exist).
    fn call_raw<T>(
        &self,
        method: RepositoryMethod,
        f: impl FnOnce(&mut Option<BTreeMap<String, Item>>) -> Result<T, LeaseError>,
    ) -> Result<T, LeaseError> {
        let mut state = self.lock();
        *state.calls.entry(method).or_insert(0) += 1;
        if let Some(pending) = state.failures.get_mut(&method).filter(|n| **n > 0) {
            *pending -= 1;
            return Err(LeaseError::new(
                LeaseErrorKind::Storage,
                None,
                format!("injected failure of {method}"),
            ));
        }
        f(&mut state.table)
    }

    /// [`call_raw`](Self::call_raw) on an existing table.
    fn call<T>(
        &self,
        method: RepositoryMethod,
        f: impl FnOnce(&mut BTreeMap<String, Item>) -> Result<T, LeaseError>,
    ) -> Result<T, LeaseError> {
        self.call_raw(method, |table| f(table.as_mut().ok_or_else(no_table)?))
    }

    /// A conditional update, as DynamoDB's `UpdateItem` with `ALL_NEW`.
    fn update(
        &self,
        method: RepositoryMethod,
        lease: &Lease,
        update: &Update,
    ) -> Result<Lease, LeaseError> {
        self.call(method, |table| {
            let key = lease.lease_key.to_string();
            let current = table.get_mut(&key);
            if !write::all_hold(&update.conditions, current.as_deref()) {
                return Err(LeaseError::lease_lost(&lease.lease_key));
            }
            let item = current.ok_or_else(|| LeaseError::lease_lost(&lease.lease_key))?;
            update
                .apply(item)
                .map_err(|m| LeaseError::new(LeaseErrorKind::Storage, Some(&lease.lease_key), m))?;
            stored_lease(&lease.lease_key, item.clone())
        })
    }
}

fn no_table() -> LeaseError {
    LeaseError::new(
        LeaseErrorKind::NotFound,
        None,
        "the lease table does not exist (call ensure_table first)",
    )
}

impl LeaseRepository for InMemoryLeaseRepository {
    fn ensure_table(&self) -> BoxFuture<'_, Result<bool, LeaseError>> {
        Box::pin(async move {
            self.call_raw(RepositoryMethod::EnsureTable, |table| {
                let created = table.is_none();
                table.get_or_insert_with(BTreeMap::new);
                Ok(created)
            })
        })
    }

    fn list_leases(&self) -> BoxFuture<'_, Result<LeaseScan, LeaseError>> {
        Box::pin(async move {
            self.call(RepositoryMethod::ListLeases, |table| {
                let mut scan = LeaseScan::default();
                for item in table.values() {
                    match ParsedRow::from_item(item.clone()) {
                        Ok(ParsedRow::Lease(lease)) => scan.leases.push(lease),
                        Ok(ParsedRow::NotALease { .. }) => scan.skipped_non_leases += 1,
                        Err(e) => scan.corrupt.push(e),
                    }
                }
                Ok(scan)
            })
        })
    }

    fn get_lease<'a>(
        &'a self,
        key: &'a LeaseKey,
    ) -> BoxFuture<'a, Result<Option<Lease>, LeaseError>> {
        Box::pin(async move {
            self.call(RepositoryMethod::GetLease, |table| {
                match table
                    .get(&key.to_string())
                    .cloned()
                    .map(ParsedRow::from_item)
                {
                    None | Some(Ok(ParsedRow::NotALease { .. })) => Ok(None),
                    Some(Ok(ParsedRow::Lease(lease))) => Ok(Some(lease)),
                    Some(Err(e)) => Err(LeaseError::new(
                        LeaseErrorKind::CorruptRow,
                        Some(key),
                        format!("the stored row cannot be read as a lease: {e}"),
                    )
                    .with_source(e)),
                }
            })
        })
    }

    fn create_lease<'a>(&'a self, lease: &'a Lease) -> BoxFuture<'a, Result<Lease, LeaseError>> {
        Box::pin(async move {
            self.call(RepositoryMethod::CreateLease, |table| {
                let key = lease.lease_key.to_string();
                if !Condition::Absent.holds(table.get(&key)) {
                    return Err(LeaseError::already_exists(&lease.lease_key));
                }
                let item = lease.to_item();
                table.insert(key, item.clone());
                stored_lease(&lease.lease_key, item)
            })
        })
    }

    fn take_lease<'a>(
        &'a self,
        lease: &'a Lease,
        owner: &'a str,
    ) -> BoxFuture<'a, Result<Lease, LeaseError>> {
        Box::pin(async move {
            self.update(
                RepositoryMethod::TakeLease,
                lease,
                &Update::take(lease, owner),
            )
        })
    }

    fn renew_lease<'a>(&'a self, lease: &'a Lease) -> BoxFuture<'a, Result<Lease, LeaseError>> {
        Box::pin(
            async move { self.update(RepositoryMethod::RenewLease, lease, &Update::renew(lease)) },
        )
    }

    fn update_checkpoint<'a>(
        &'a self,
        lease: &'a Lease,
        update: CheckpointUpdate,
    ) -> BoxFuture<'a, Result<Lease, LeaseError>> {
        Box::pin(async move {
            self.update(
                RepositoryMethod::UpdateCheckpoint,
                lease,
                &Update::checkpoint(lease, &update),
            )
        })
    }

    fn release_lease<'a>(&'a self, lease: &'a Lease) -> BoxFuture<'a, Result<Lease, LeaseError>> {
        Box::pin(async move {
            self.update(
                RepositoryMethod::ReleaseLease,
                lease,
                &Update::release(lease),
            )
        })
    }

    fn delete_lease<'a>(&'a self, lease: &'a Lease) -> BoxFuture<'a, Result<(), LeaseError>> {
        Box::pin(async move {
            self.call(RepositoryMethod::DeleteLease, |table| {
                let key = lease.lease_key.to_string();
                if !Condition::CounterIs(lease.lease_counter).holds(table.get(&key)) {
                    return Err(LeaseError::lease_lost(&lease.lease_key));
                }
                table.remove(&key);
                Ok(())
            })
        })
    }

    fn kcl3(&self) -> Option<&dyn Kcl3Repository> {
        Some(self)
    }
}

impl Kcl3Repository for InMemoryLeaseRepository {
    fn ensure_lease_owner_index(&self) -> BoxFuture<'_, Result<bool, LeaseError>> {
        // Queries by owner filter the items: there is no index to build.
        Box::pin(async move { self.call(RepositoryMethod::EnsureLeaseOwnerIndex, |_| Ok(false)) })
    }

    fn lease_keys_of<'a>(
        &'a self,
        owner: &'a str,
    ) -> BoxFuture<'a, Result<Vec<LeaseKey>, LeaseError>> {
        Box::pin(async move {
            self.call(RepositoryMethod::LeaseKeysOf, |table| {
                Ok(table
                    .values()
                    .filter(|item| {
                        matches!(item.get(attr::LEASE_OWNER), Some(AttributeValue::S(o)) if o == owner)
                    })
                    .filter_map(|item| match item.get(attr::LEASE_KEY) {
                        Some(AttributeValue::S(k)) => k.parse().ok(),
                        _ => None,
                    })
                    .collect())
            })
        })
    }

    fn scan_fleet(&self) -> BoxFuture<'_, Result<FleetScan, LeaseError>> {
        Box::pin(async move {
            self.call(RepositoryMethod::ScanFleet, |table| {
                Ok(fleet_scan(table.values().cloned()))
            })
        })
    }

    fn put_worker_metrics<'a>(
        &'a self,
        stats: &'a WorkerMetricStats,
    ) -> BoxFuture<'a, Result<(), LeaseError>> {
        Box::pin(async move {
            self.call(RepositoryMethod::PutWorkerMetrics, |table| {
                table.insert(stats.worker_id.clone(), stats.to_item());
                Ok(())
            })
        })
    }

    fn assign_lease<'a>(
        &'a self,
        lease: &'a Lease,
        owner: &'a str,
    ) -> BoxFuture<'a, Result<Lease, LeaseError>> {
        Box::pin(async move {
            self.update(
                RepositoryMethod::AssignLease,
                lease,
                &Update::assign(lease, owner),
            )
        })
    }

    fn start_handoff<'a>(
        &'a self,
        lease: &'a Lease,
        to: &'a str,
    ) -> BoxFuture<'a, Result<Lease, LeaseError>> {
        Box::pin(async move {
            self.update(
                RepositoryMethod::StartHandoff,
                lease,
                &Update::start_handoff(lease, to),
            )
        })
    }

    fn complete_handoff<'a>(
        &'a self,
        lease: &'a Lease,
        from: &'a str,
    ) -> BoxFuture<'a, Result<Lease, LeaseError>> {
        Box::pin(async move {
            self.update(
                RepositoryMethod::CompleteHandoff,
                lease,
                &Update::complete_handoff(lease, from),
            )
        })
    }

    fn get_row<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Item>, LeaseError>> {
        Box::pin(async move {
            self.call(RepositoryMethod::GetRow, |table| {
                Ok(table.get(key).cloned())
            })
        })
    }

    fn put_row<'a>(
        &'a self,
        item: Item,
        condition: RowCondition,
    ) -> BoxFuture<'a, Result<(), LeaseError>> {
        Box::pin(async move {
            self.call(RepositoryMethod::PutRow, |table| {
                let key = write::row_key(&item)?;
                if !write::all_hold(&write::row_conditions(&condition), table.get(&key)) {
                    return Err(write::row_condition_failed(&key));
                }
                table.insert(key, item);
                Ok(())
            })
        })
    }

    fn delete_row<'a>(
        &'a self,
        key: &'a str,
        condition: RowCondition,
    ) -> BoxFuture<'a, Result<(), LeaseError>> {
        Box::pin(async move {
            self.call(RepositoryMethod::DeleteRow, |table| {
                if !write::all_hold(&write::row_conditions(&condition), table.get(key)) {
                    return Err(write::row_condition_failed(key));
                }
                table.remove(key);
                Ok(())
            })
        })
    }
}
