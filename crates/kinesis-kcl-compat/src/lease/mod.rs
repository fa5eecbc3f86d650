//! The KCL 2.x / 3.x lease row: one DynamoDB item per shard, shared with Java KCL workers.
//!
//! [`Lease`] holds every attribute the KCL writes (names in [`attr`]; the table's shape is in
//! `table` with the `dynamodb` feature), and converts to and from a DynamoDB item ([`Item`]):
//!
//! - [`ParsedRow::from_item`] reads an item. Rows that are not leases (KCL 3.5 keeps worker
//!   metrics, the leader lock and migration state in the same table, marked by `entityType`)
//!   come back as [`ParsedRow::NotALease`], so a scan can skip them. A corrupt lease row is a
//!   [`LeaseRowError`] naming the row, the attribute and the problem. Reading never panics.
//! - [`Lease::to_item`] writes the item the KCL would write for the same lease.
//! - Attributes this crate does not know are kept in [`Lease::extra`] and written back
//!   unchanged, so a newer KCL's additions survive our writes.
//!
//! ```
//! use kinesis_kcl_compat::lease::{Lease, LeaseKey, ParsedRow};
//! use kinesis_kcl_compat::sequence::Checkpoint;
//!
//! let key: LeaseKey = "shardId-000000000001".parse()?;
//! let mut lease = Lease::new(key, Checkpoint::TRIM_HORIZON);
//! lease.lease_owner = Some("worker-1".to_owned());
//! lease.lease_counter = 3;
//!
//! let item = lease.to_item();
//! assert_eq!(item["leaseCounter"].as_n().map(String::as_str), Ok("3"));
//! assert_eq!(ParsedRow::from_item(item)?, ParsedRow::Lease(lease));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Reading rules
//!
//! The reader accepts every row the Java KCL reads and refuses, with a typed error, the rows on
//! which the KCL would fail (a `NullPointerException` or `NumberFormatException` in
//! `DynamoDBLeaseSerializer.fromDynamoRecord`) or that would make a lease meaningless:
//!
//! | attribute | absent | other rules |
//! |---|---|---|
//! | `leaseKey` | error | a shard id or `account:stream:epoch:shardId` |
//! | `leaseCounter` | error | a non-negative integer |
//! | `checkpoint` | error | a sequence number or a sentinel |
//! | `checkpointSubSequenceNumber` | 0 (as the KCL) | ignored for sentinels |
//! | `ownerSwitchesSinceCheckpoint` | 0 (zio-kinesis rows lack it at creation) | |
//! | `pendingCheckpoint` | none; an empty string is none too (as the KCL) | its sub-sequence number defaults to 0 and is dropped without it |
//! | `pendingCheckpointState` | none | B, or the N `toDynamoRecord` writes |
//! | `startingHashKey` / `endingHashKey` | none | both or neither; start ≤ end |
//! | `streamName` / `shardId` | taken from a multi-stream key | must agree with the key |
//!
//! Numbers may be written in any DynamoDB spelling (`"7"`, `"7.0"`, `"7E0"`). An attribute of the
//! wrong DynamoDB type is an error, except that `NULL` counts as absent for optional attributes.
//! A `streamName` or `shardId` on a single-stream row is kept in [`Lease::extra`].

mod error;
mod key;
mod number;
mod value;

pub mod attr;
#[cfg(feature = "dynamodb")]
pub mod dynamodb;
#[cfg(feature = "dynamodb")]
pub mod table;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;

use kinesis_client::{HashKey, HashKeyRange, ShardId};

use crate::sequence::Checkpoint;

pub use error::{AttributeType, LeaseRowError, Problem};
pub use key::{LeaseKey, MultiStreamIdentifier, MultiStreamLeaseKey};
pub use value::AttributeValue;

/// A DynamoDB item: attribute name to value, as `GetItem`, `Scan` and `PutItem` carry it
/// ([`dynamodb`] converts it to and from the AWS SDK's form with the `dynamodb` feature).
pub type Item = HashMap<String, AttributeValue>;

/// What a row of the lease table is (`leases/EntityType.java`, KCL 3.5), from its `entityType`
/// attribute. A row without the attribute is a lease.
///
/// ```
/// use kinesis_kcl_compat::lease::EntityType;
///
/// assert_eq!(EntityType::from_kcl_str("WORKER_METRIC_STATS"), EntityType::WorkerMetricStats);
/// assert_eq!(EntityType::Leader.as_str(), "LEADER");
/// assert_eq!(EntityType::from_kcl_str("SOMETHING_NEW"), EntityType::Other("SOMETHING_NEW".into()));
/// assert!(EntityType::Lease.is_lease());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum EntityType {
    /// `LEASE`: a shard's lease.
    Lease,
    /// `WORKER_METRIC_STATS`: a KCL 3.x worker's utilisation report (`leaseKey` = worker id).
    WorkerMetricStats,
    /// `LEADER`: the leader-election lock.
    Leader,
    /// `STREAM`: stream information of a multi-stream application.
    Stream,
    /// `CLIENT_VERSION_MIGRATION`: the 2.x → 3.x migration state.
    ClientVersionMigration,
    /// `TABLE_MIGRATION`: the KCL 3.5 single-table migration state.
    TableMigration,
    /// A value this crate does not know, kept as written.
    Other(String),
}

impl EntityType {
    /// The type written as `s` (case-sensitive, as the KCL compares it).
    pub fn from_kcl_str(s: &str) -> EntityType {
        match s {
            "LEASE" => EntityType::Lease,
            "WORKER_METRIC_STATS" => EntityType::WorkerMetricStats,
            "LEADER" => EntityType::Leader,
            "STREAM" => EntityType::Stream,
            "CLIENT_VERSION_MIGRATION" => EntityType::ClientVersionMigration,
            "TABLE_MIGRATION" => EntityType::TableMigration,
            other => EntityType::Other(other.to_owned()),
        }
    }

    /// The exact string written in `entityType`.
    pub fn as_str(&self) -> &str {
        match self {
            EntityType::Lease => "LEASE",
            EntityType::WorkerMetricStats => "WORKER_METRIC_STATS",
            EntityType::Leader => "LEADER",
            EntityType::Stream => "STREAM",
            EntityType::ClientVersionMigration => "CLIENT_VERSION_MIGRATION",
            EntityType::TableMigration => "TABLE_MIGRATION",
            EntityType::Other(s) => s,
        }
    }

    /// Whether rows of this type are leases.
    pub fn is_lease(&self) -> bool {
        matches!(self, EntityType::Lease)
    }
}

impl fmt::Display for EntityType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The `pendingCheckpointState` attribute: application state prepared with a two-phase
/// checkpoint.
///
/// The KCL writes it in two ways: its checkpoint update path stores the bytes (B), but
/// `toDynamoRecord` (used when a lease row is created or replaced whole) stores the checkpoint's
/// sub-sequence number as an N instead (and the KCL's own reader then fails on that row). Both
/// are read, and written back as they were.
///
/// ```
/// use kinesis_kcl_compat::lease::PendingCheckpointState;
///
/// let state = PendingCheckpointState::Bytes(b"app-state".to_vec());
/// assert_eq!(state.bytes(), Some(&b"app-state"[..]));
/// assert_eq!(PendingCheckpointState::KclNumber(7).bytes(), None);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum PendingCheckpointState {
    /// The application's bytes (B), as the checkpoint update path writes them.
    Bytes(Vec<u8>),
    /// The number (N) `toDynamoRecord` writes in place of the bytes.
    KclNumber(u64),
}

impl PendingCheckpointState {
    /// The application state, when the row holds it.
    pub fn bytes(&self) -> Option<&[u8]> {
        match self {
            PendingCheckpointState::Bytes(b) => Some(b),
            PendingCheckpointState::KclNumber(_) => None,
        }
    }
}

/// KCL 3.x's per-lease throughput (`throughputKBps`): a moving average in KB/s, a finite double
/// within DynamoDB's number range.
///
/// ```
/// use kinesis_kcl_compat::lease::ThroughputKbps;
///
/// let t = ThroughputKbps::new(12.5).unwrap();
/// assert_eq!(t.get(), 12.5);
/// assert!(ThroughputKbps::new(f64::NAN).is_none());
/// assert!(ThroughputKbps::new(1e300).is_none()); // DynamoDB numbers stop below 1e126
/// assert_eq!(ThroughputKbps::new(1e-200).unwrap().get(), 0.0); // and round tiny values to 0
/// ```
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd)]
pub struct ThroughputKbps(f64);

impl ThroughputKbps {
    /// DynamoDB stores magnitudes below this.
    const LIMIT: f64 = 1e126;
    /// The smallest non-zero magnitude DynamoDB stores.
    const MIN_POSITIVE: f64 = 1e-130;

    /// Wraps `kbps` if DynamoDB can store it: `None` when it is not finite or its magnitude is
    /// 10^126 or more. Magnitudes below 10^-130 become 0.
    pub fn new(kbps: f64) -> Option<Self> {
        if !kbps.is_finite() || kbps.abs() >= Self::LIMIT {
            None
        } else if kbps.abs() < Self::MIN_POSITIVE {
            Some(Self(0.0))
        } else {
            Some(Self(kbps))
        }
    }

    /// The value in KB/s.
    pub fn get(self) -> f64 {
        self.0
    }

    /// The `N` the KCL writes for it.
    ///
    /// ```
    /// use kinesis_kcl_compat::lease::{AttributeValue, ThroughputKbps};
    ///
    /// assert_eq!(ThroughputKbps::new(1.5).unwrap().to_attribute(), AttributeValue::N("1.5".into()));
    /// ```
    pub fn to_attribute(self) -> AttributeValue {
        AttributeValue::N(number::format_f64(self.0))
    }
}

/// One lease row of the KCL lease table, with every attribute the KCL 2.x and 3.x write.
///
/// Fields are public: a lease is plain data, and the lease protocol (conditional writes on
/// [`lease_counter`](Lease::lease_counter)) lives in the `kinesis-lease` crate.
///
/// ```
/// use kinesis_kcl_compat::lease::{attr, Lease, LeaseKey};
/// use kinesis_kcl_compat::sequence::{Checkpoint, ExtendedSequenceNumber};
///
/// let mut lease = Lease::new("shardId-000000000002".parse::<LeaseKey>()?, Checkpoint::LATEST);
/// lease.checkpoint = ExtendedSequenceNumber::new("12345".parse()?, 2).into();
/// lease.parent_shard_ids.insert("shardId-000000000000".parse()?);
///
/// let item = lease.to_item();
/// assert_eq!(item[attr::CHECKPOINT].as_s().map(String::as_str), Ok("12345"));
/// assert_eq!(item[attr::CHECKPOINT_SUB_SEQUENCE_NUMBER].as_n().map(String::as_str), Ok("2"));
/// assert_eq!(item[attr::PARENT_SHARD_ID].as_ss().map(Vec::len), Ok(1));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Lease {
    /// `leaseKey`: the shard (and, in multi-stream applications, the stream).
    pub lease_key: LeaseKey,
    /// `leaseOwner`: the worker holding the lease; `None` when unassigned.
    pub lease_owner: Option<String>,
    /// `leaseCounter`: the fencing counter (a Java `Long`; the KCL never makes it negative).
    pub lease_counter: u64,
    /// `checkpoint` and `checkpointSubSequenceNumber`: how far the shard has been processed.
    pub checkpoint: Checkpoint,
    /// `pendingCheckpoint` and `pendingCheckpointSubSequenceNumber`: a prepared checkpoint.
    pub pending_checkpoint: Option<Checkpoint>,
    /// `pendingCheckpointState`: application state prepared with the pending checkpoint.
    pub pending_checkpoint_state: Option<PendingCheckpointState>,
    /// `ownerSwitchesSinceCheckpoint`: owner changes since the last checkpoint.
    pub owner_switches_since_checkpoint: u64,
    /// `parentShardId`: the shard's parents (one after a split, two after a merge). Not written
    /// when empty.
    pub parent_shard_ids: BTreeSet<ShardId>,
    /// `childShardIds`: the shard's children, known at shard end. Not written when empty.
    pub child_shard_ids: BTreeSet<ShardId>,
    /// `startingHashKey` and `endingHashKey`: the hash keys the shard owns.
    pub hash_key_range: Option<HashKeyRange>,
    /// `throughputKBps` (KCL 3.x).
    pub throughput_kbps: Option<ThroughputKbps>,
    /// `checkpointOwner` (KCL 3.x): the previous owner during a graceful handoff.
    pub checkpoint_owner: Option<String>,
    /// Whether the row carries `entityType = LEASE`. KCL 3.5 writes it on every lease; earlier
    /// versions never do and ignore it. [`Lease::new`] sets it.
    pub entity_type_attribute: bool,
    /// Attributes this crate does not know, written back unchanged. Reading never puts a name
    /// from [`attr::ALL`] here (except `streamName` / `shardId` on a single-stream row), and
    /// [`to_item`](Lease::to_item) ignores such names here: the lease's fields decide them.
    pub extra: BTreeMap<String, AttributeValue>,
}

impl Lease {
    /// A new, unowned lease as the KCL's shard syncer creates it: counter 0, no owner switches,
    /// no parents, children or hash keys yet, and `entityType = LEASE`.
    ///
    /// ```
    /// use kinesis_kcl_compat::lease::Lease;
    /// use kinesis_kcl_compat::sequence::Checkpoint;
    ///
    /// let lease = Lease::new("shardId-000000000003".parse()?, Checkpoint::TRIM_HORIZON);
    /// assert_eq!(lease.shard_id().as_str(), "shardId-000000000003");
    /// assert_eq!((lease.lease_owner, lease.lease_counter), (None, 0));
    /// # Ok::<(), kinesis_client::Error>(())
    /// ```
    pub fn new(lease_key: LeaseKey, checkpoint: Checkpoint) -> Self {
        Self {
            lease_key,
            lease_owner: None,
            lease_counter: 0,
            checkpoint,
            pending_checkpoint: None,
            pending_checkpoint_state: None,
            owner_switches_since_checkpoint: 0,
            parent_shard_ids: BTreeSet::new(),
            child_shard_ids: BTreeSet::new(),
            hash_key_range: None,
            throughput_kbps: None,
            checkpoint_owner: None,
            entity_type_attribute: true,
            extra: BTreeMap::new(),
        }
    }

    /// The shard the lease is for.
    pub fn shard_id(&self) -> &ShardId {
        self.lease_key.shard_id()
    }

    /// The DynamoDB item of this lease, as the KCL's `toDynamoRecord` writes it (with
    /// `streamName` and `shardId` for a multi-stream key), plus the [`extra`](Lease::extra)
    /// attributes.
    ///
    /// Absent options and empty sets are not written, so an item holds no empty set (which
    /// DynamoDB refuses) and no `NULL`.
    pub fn to_item(&self) -> Item {
        let multi_stream = matches!(self.lease_key, LeaseKey::MultiStream(_));
        let mut item: Item = self
            .extra
            .iter()
            .filter(|(name, _)| {
                // A known attribute is the field's to write, or not to write when it is absent.
                let single_stream_extra = !multi_stream
                    && (name.as_str() == attr::STREAM_NAME || name.as_str() == attr::SHARD_ID);
                single_stream_extra || !attr::ALL.contains(&name.as_str())
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let s = |v: &str| AttributeValue::S(v.to_owned());
        let n = |v: u64| AttributeValue::N(v.to_string());
        let mut put = |name: &str, value: AttributeValue| {
            item.insert(name.to_owned(), value);
        };

        put(attr::LEASE_KEY, s(&self.lease_key.to_string()));
        if let Some(owner) = &self.lease_owner {
            put(attr::LEASE_OWNER, s(owner));
        }
        put(attr::LEASE_COUNTER, n(self.lease_counter));
        put(attr::CHECKPOINT, s(self.checkpoint.kcl_checkpoint()));
        put(
            attr::CHECKPOINT_SUB_SEQUENCE_NUMBER,
            n(self.checkpoint.sub_sequence_number()),
        );
        if let Some(pending) = &self.pending_checkpoint {
            put(attr::PENDING_CHECKPOINT, s(pending.kcl_checkpoint()));
            put(
                attr::PENDING_CHECKPOINT_SUB_SEQUENCE_NUMBER,
                n(pending.sub_sequence_number()),
            );
        }
        match &self.pending_checkpoint_state {
            Some(PendingCheckpointState::Bytes(b)) => {
                put(attr::PENDING_CHECKPOINT_STATE, AttributeValue::B(b.clone()));
            }
            Some(PendingCheckpointState::KclNumber(v)) => {
                put(attr::PENDING_CHECKPOINT_STATE, n(*v))
            }
            None => {}
        }
        put(
            attr::OWNER_SWITCHES_SINCE_CHECKPOINT,
            n(self.owner_switches_since_checkpoint),
        );
        let set = |ids: &BTreeSet<ShardId>| {
            AttributeValue::Ss(ids.iter().map(|id| id.as_str().to_owned()).collect())
        };
        if !self.parent_shard_ids.is_empty() {
            put(attr::PARENT_SHARD_ID, set(&self.parent_shard_ids));
        }
        if !self.child_shard_ids.is_empty() {
            put(attr::CHILD_SHARD_IDS, set(&self.child_shard_ids));
        }
        if let Some(range) = &self.hash_key_range {
            put(attr::STARTING_HASH_KEY, s(&range.start().to_string()));
            put(attr::ENDING_HASH_KEY, s(&range.end().to_string()));
        }
        if let Some(t) = self.throughput_kbps {
            put(
                attr::THROUGHPUT_KBPS,
                AttributeValue::N(number::format_f64(t.get())),
            );
        }
        if let Some(owner) = &self.checkpoint_owner {
            put(attr::CHECKPOINT_OWNER, s(owner));
        }
        if self.entity_type_attribute {
            put(attr::ENTITY_TYPE, s(EntityType::Lease.as_str()));
        }
        if let LeaseKey::MultiStream(key) = &self.lease_key {
            put(attr::STREAM_NAME, s(&key.stream().to_string()));
            put(attr::SHARD_ID, s(key.shard_id().as_str()));
        }
        item
    }
}

/// A row of the lease table, read: a lease, or another kind of row to skip.
///
/// ```
/// use std::collections::HashMap;
/// use kinesis_kcl_compat::lease::{attr, AttributeValue, EntityType, ParsedRow};
///
/// // A KCL 3.5 worker-metrics row in the lease table.
/// let item = HashMap::from([
///     (attr::LEASE_KEY.to_owned(), AttributeValue::S("worker-7".into())),
///     (attr::ENTITY_TYPE.to_owned(), AttributeValue::S("WORKER_METRIC_STATS".into())),
///     ("lut".to_owned(), AttributeValue::N("1700000000".into())),
/// ]);
/// let row = ParsedRow::from_item(item)?;
/// assert_eq!(
///     row,
///     ParsedRow::NotALease {
///         entity_type: EntityType::WorkerMetricStats,
///         lease_key: Some("worker-7".to_owned()),
///     }
/// );
/// assert!(row.into_lease().is_none());
/// # Ok::<(), kinesis_kcl_compat::lease::LeaseRowError>(())
/// ```
// Nearly every row of a lease table is a lease, so boxing it would only add an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum ParsedRow {
    /// A lease (no `entityType`, or `entityType = LEASE`).
    Lease(Lease),
    /// A row of another type, which lease scans skip.
    NotALease {
        /// Its `entityType`.
        entity_type: EntityType,
        /// Its `leaseKey`, when that is a string.
        lease_key: Option<String>,
    },
}

impl ParsedRow {
    /// Reads a lease-table item. See the [module documentation](self) for the rules.
    ///
    /// # Errors
    ///
    /// A [`LeaseRowError`] naming the row's `leaseKey` (when it is a string), the attribute, and
    /// the [`Problem`]: a required attribute missing, a wrong DynamoDB type, an unreadable number,
    /// checkpoint, shard id or hash key, or attributes that contradict each other.
    pub fn from_item(mut item: Item) -> Result<ParsedRow, LeaseRowError> {
        let raw_key = match item.get(attr::LEASE_KEY) {
            Some(AttributeValue::S(k)) => Some(k.clone()),
            _ => None,
        };
        let reader = Reader {
            key: raw_key.as_deref(),
        };

        let entity_type = reader.optional_s(&mut item, attr::ENTITY_TYPE)?;
        if let Some(entity_type) = entity_type.as_deref().map(EntityType::from_kcl_str)
            && !entity_type.is_lease()
        {
            return Ok(ParsedRow::NotALease {
                entity_type,
                lease_key: raw_key,
            });
        }

        let key_text = reader.required_s(&mut item, attr::LEASE_KEY)?;
        let lease_key: LeaseKey = key_text.parse().map_err(|e: kinesis_client::Error| {
            reader.invalid(attr::LEASE_KEY, &key_text, e.message())
        })?;

        let lease_owner = reader.optional_s(&mut item, attr::LEASE_OWNER)?;
        let lease_counter = reader.required_u64(&mut item, attr::LEASE_COUNTER)?;

        let checkpoint_text = reader.required_s(&mut item, attr::CHECKPOINT)?;
        let checkpoint_sub = reader
            .optional_u64(&mut item, attr::CHECKPOINT_SUB_SEQUENCE_NUMBER)?
            .unwrap_or(0);
        let checkpoint = reader.checkpoint(attr::CHECKPOINT, &checkpoint_text, checkpoint_sub)?;

        let pending_text = reader
            .optional_s(&mut item, attr::PENDING_CHECKPOINT)?
            .filter(|p| !p.is_empty());
        let pending_sub = reader
            .optional_u64(&mut item, attr::PENDING_CHECKPOINT_SUB_SEQUENCE_NUMBER)?
            .unwrap_or(0);
        let pending_checkpoint = pending_text
            .map(|p| reader.checkpoint(attr::PENDING_CHECKPOINT, &p, pending_sub))
            .transpose()?;

        let pending_checkpoint_state = match reader.take(&mut item, attr::PENDING_CHECKPOINT_STATE)
        {
            None => None,
            Some(AttributeValue::B(b)) => Some(PendingCheckpointState::Bytes(b)),
            Some(AttributeValue::N(v)) => Some(PendingCheckpointState::KclNumber(
                reader.u64_value(attr::PENDING_CHECKPOINT_STATE, &v)?,
            )),
            Some(other) => {
                return Err(reader.wrong_type(
                    attr::PENDING_CHECKPOINT_STATE,
                    AttributeType::B,
                    &other,
                ));
            }
        };

        let owner_switches_since_checkpoint = reader
            .optional_u64(&mut item, attr::OWNER_SWITCHES_SINCE_CHECKPOINT)?
            .unwrap_or(0);
        let parent_shard_ids = reader.shard_set(&mut item, attr::PARENT_SHARD_ID)?;
        let child_shard_ids = reader.shard_set(&mut item, attr::CHILD_SHARD_IDS)?;

        let start = reader
            .optional_s(&mut item, attr::STARTING_HASH_KEY)?
            .filter(|s| !s.is_empty());
        let end = reader
            .optional_s(&mut item, attr::ENDING_HASH_KEY)?
            .filter(|s| !s.is_empty());
        let hash_key_range = match (start, end) {
            (None, None) => None,
            (Some(_), None) => {
                return Err(reader.error(
                    attr::STARTING_HASH_KEY,
                    Problem::Unpaired {
                        missing: attr::ENDING_HASH_KEY,
                    },
                ));
            }
            (None, Some(_)) => {
                return Err(reader.error(
                    attr::ENDING_HASH_KEY,
                    Problem::Unpaired {
                        missing: attr::STARTING_HASH_KEY,
                    },
                ));
            }
            (Some(start), Some(end)) => {
                let start_key = reader.hash_key(attr::STARTING_HASH_KEY, &start)?;
                let end_key = reader.hash_key(attr::ENDING_HASH_KEY, &end)?;
                Some(HashKeyRange::new(start_key, end_key).map_err(|_| {
                    reader.invalid(
                        attr::ENDING_HASH_KEY,
                        &end,
                        &format!("below startingHashKey {start}"),
                    )
                })?)
            }
        };

        let throughput_kbps = match reader.take(&mut item, attr::THROUGHPUT_KBPS) {
            None => None,
            Some(AttributeValue::N(v)) => {
                let value = number::parse_f64(&v)
                    .map_err(|p| reader.invalid_number(attr::THROUGHPUT_KBPS, &v, p))?;
                Some(ThroughputKbps::new(value).ok_or_else(|| {
                    reader.invalid_number(
                        attr::THROUGHPUT_KBPS,
                        &v,
                        number::NumberProblem::TooLarge,
                    )
                })?)
            }
            Some(other) => {
                return Err(reader.wrong_type(attr::THROUGHPUT_KBPS, AttributeType::N, &other));
            }
        };
        let checkpoint_owner = reader.optional_s(&mut item, attr::CHECKPOINT_OWNER)?;

        if let LeaseKey::MultiStream(key) = &lease_key {
            let stream = key.stream().to_string();
            reader.agrees(&mut item, attr::STREAM_NAME, &stream)?;
            reader.agrees(&mut item, attr::SHARD_ID, key.shard_id().as_str())?;
        }

        Ok(ParsedRow::Lease(Lease {
            lease_key,
            lease_owner,
            lease_counter,
            checkpoint,
            pending_checkpoint,
            pending_checkpoint_state,
            owner_switches_since_checkpoint,
            parent_shard_ids,
            child_shard_ids,
            hash_key_range,
            throughput_kbps,
            checkpoint_owner,
            entity_type_attribute: entity_type.is_some(),
            extra: item.into_iter().collect(),
        }))
    }

    /// The lease, if the row is one.
    pub fn into_lease(self) -> Option<Lease> {
        match self {
            ParsedRow::Lease(lease) => Some(lease),
            ParsedRow::NotALease { .. } => None,
        }
    }
}

/// Takes attributes out of an item one by one, turning every problem into a [`LeaseRowError`]
/// for the row being read.
struct Reader<'a> {
    key: Option<&'a str>,
}

impl Reader<'_> {
    fn error(&self, attribute: &'static str, problem: Problem) -> LeaseRowError {
        LeaseRowError::new(self.key, attribute, problem)
    }

    fn wrong_type(
        &self,
        attribute: &'static str,
        expected: AttributeType,
        found: &AttributeValue,
    ) -> LeaseRowError {
        self.error(
            attribute,
            Problem::WrongType {
                expected,
                found: AttributeType::of(found),
            },
        )
    }

    fn invalid(&self, attribute: &'static str, value: &str, reason: &str) -> LeaseRowError {
        self.error(
            attribute,
            Problem::InvalidValue {
                value: value.to_owned(),
                reason: reason.to_owned(),
            },
        )
    }

    fn invalid_number(
        &self,
        attribute: &'static str,
        value: &str,
        problem: number::NumberProblem,
    ) -> LeaseRowError {
        self.error(
            attribute,
            Problem::InvalidNumber {
                value: value.to_owned(),
                reason: problem.to_string(),
            },
        )
    }

    /// Removes the attribute; `NULL` counts as absent.
    fn take(&self, item: &mut Item, attribute: &'static str) -> Option<AttributeValue> {
        match item.remove(attribute) {
            Some(AttributeValue::Null(_)) | None => None,
            Some(v) => Some(v),
        }
    }

    fn optional_s(
        &self,
        item: &mut Item,
        attribute: &'static str,
    ) -> Result<Option<String>, LeaseRowError> {
        match self.take(item, attribute) {
            None => Ok(None),
            Some(AttributeValue::S(s)) => Ok(Some(s)),
            Some(other) => Err(self.wrong_type(attribute, AttributeType::S, &other)),
        }
    }

    fn required_s(
        &self,
        item: &mut Item,
        attribute: &'static str,
    ) -> Result<String, LeaseRowError> {
        match item.remove(attribute) {
            None => Err(self.error(attribute, Problem::Missing)),
            Some(AttributeValue::S(s)) => Ok(s),
            Some(other) => Err(self.wrong_type(attribute, AttributeType::S, &other)),
        }
    }

    fn u64_value(&self, attribute: &'static str, text: &str) -> Result<u64, LeaseRowError> {
        number::parse_u64(text).map_err(|p| self.invalid_number(attribute, text, p))
    }

    fn optional_u64(
        &self,
        item: &mut Item,
        attribute: &'static str,
    ) -> Result<Option<u64>, LeaseRowError> {
        match self.take(item, attribute) {
            None => Ok(None),
            Some(AttributeValue::N(v)) => self.u64_value(attribute, &v).map(Some),
            Some(other) => Err(self.wrong_type(attribute, AttributeType::N, &other)),
        }
    }

    fn required_u64(&self, item: &mut Item, attribute: &'static str) -> Result<u64, LeaseRowError> {
        match item.remove(attribute) {
            None => Err(self.error(attribute, Problem::Missing)),
            Some(AttributeValue::N(v)) => self.u64_value(attribute, &v),
            Some(other) => Err(self.wrong_type(attribute, AttributeType::N, &other)),
        }
    }

    fn checkpoint(
        &self,
        attribute: &'static str,
        text: &str,
        sub_sequence_number: u64,
    ) -> Result<Checkpoint, LeaseRowError> {
        Checkpoint::from_kcl_parts(text, sub_sequence_number)
            .map_err(|e| self.invalid(attribute, text, e.message()))
    }

    fn hash_key(&self, attribute: &'static str, text: &str) -> Result<HashKey, LeaseRowError> {
        text.parse::<HashKey>()
            .map_err(|e| self.invalid(attribute, text, e.message()))
    }

    fn shard_set(
        &self,
        item: &mut Item,
        attribute: &'static str,
    ) -> Result<BTreeSet<ShardId>, LeaseRowError> {
        match self.take(item, attribute) {
            None => Ok(BTreeSet::new()),
            Some(AttributeValue::Ss(ids)) => ids
                .iter()
                .map(|id| {
                    ShardId::new(id.as_str()).map_err(|e| self.invalid(attribute, id, e.message()))
                })
                .collect(),
            Some(other) => Err(self.wrong_type(attribute, AttributeType::Ss, &other)),
        }
    }

    /// Checks that a multi-stream attribute, when present, matches the lease key.
    fn agrees(
        &self,
        item: &mut Item,
        attribute: &'static str,
        expected: &str,
    ) -> Result<(), LeaseRowError> {
        match self.optional_s(item, attribute)? {
            Some(found) if found != expected => Err(self.error(
                attribute,
                Problem::Inconsistent {
                    expected: expected.to_owned(),
                    found,
                },
            )),
            _ => Ok(()),
        }
    }
}

/// Reads an `N` as a finite `f64` (any DynamoDB spelling).
pub(crate) fn number_f64(n: &str) -> Option<f64> {
    number::parse_f64(n).ok()
}

/// Writes a finite `f64` as an `N` that reads back as the same value.
pub(crate) fn format_number(value: f64) -> String {
    number::format_f64(value)
}
