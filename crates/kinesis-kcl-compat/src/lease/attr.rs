//! The attribute names of the KCL lease table, exactly as the KCL writes them
//! (`DynamoDBLeaseSerializer`, `DynamoDBMultiStreamLeaseSerializer`). Names are case-sensitive.
//!
//! Every other part of the workspace names lease attributes through these constants.
//!
//! ```
//! use kinesis_kcl_compat::lease::attr;
//!
//! assert_eq!(attr::PARENT_SHARD_ID, "parentShardId"); // singular, although it holds a set
//! assert_eq!(attr::STREAM_NAME, "streamName"); // holds `account:stream:epoch`
//! assert!(attr::ALL.contains(&attr::ENTITY_TYPE));
//! ```

/// `leaseKey` (S): the table's hash key; the shard id, or `account:stream:epoch:shardId` for
/// multi-stream applications.
pub const LEASE_KEY: &str = "leaseKey";
/// `leaseOwner` (S, optional): the worker holding the lease; absent when unassigned.
pub const LEASE_OWNER: &str = "leaseOwner";
/// `leaseCounter` (N): the fencing counter every write is conditional on (a Java `Long`).
pub const LEASE_COUNTER: &str = "leaseCounter";
/// `checkpoint` (S): a decimal sequence number or `TRIM_HORIZON` / `LATEST` / `AT_TIMESTAMP` /
/// `SHARD_END`.
pub const CHECKPOINT: &str = "checkpoint";
/// `checkpointSubSequenceNumber` (N): the position inside a KPL aggregate; 0 otherwise.
pub const CHECKPOINT_SUB_SEQUENCE_NUMBER: &str = "checkpointSubSequenceNumber";
/// `pendingCheckpoint` (S, optional): a prepared, not yet committed checkpoint.
pub const PENDING_CHECKPOINT: &str = "pendingCheckpoint";
/// `pendingCheckpointSubSequenceNumber` (N, optional): its sub-sequence number.
pub const PENDING_CHECKPOINT_SUB_SEQUENCE_NUMBER: &str = "pendingCheckpointSubSequenceNumber";
/// `pendingCheckpointState` (B, optional): application state prepared with the checkpoint. The
/// KCL's `toDynamoRecord` writes an N here (the checkpoint's sub-sequence number) while its update
/// path writes the bytes.
pub const PENDING_CHECKPOINT_STATE: &str = "pendingCheckpointState";
/// `ownerSwitchesSinceCheckpoint` (N): owner changes since the last checkpoint.
pub const OWNER_SWITCHES_SINCE_CHECKPOINT: &str = "ownerSwitchesSinceCheckpoint";
/// `parentShardId` (SS, optional): the shard's one or two parents. **Singular** name.
pub const PARENT_SHARD_ID: &str = "parentShardId";
/// `childShardIds` (SS, optional): the shard's children, written at shard end (KCL ≥ 2.3).
pub const CHILD_SHARD_IDS: &str = "childShardIds";
/// `startingHashKey` (S, optional): first hash key of the shard, decimal (KCL ≥ 2.3).
pub const STARTING_HASH_KEY: &str = "startingHashKey";
/// `endingHashKey` (S, optional): last hash key of the shard, decimal (KCL ≥ 2.3).
pub const ENDING_HASH_KEY: &str = "endingHashKey";
/// `throughputKBps` (N, a double, optional): KCL 3.x's moving average of the lease's throughput.
pub const THROUGHPUT_KBPS: &str = "throughputKBps";
/// `checkpointOwner` (S, optional): KCL 3.x graceful handoff, the previous owner that may still
/// checkpoint while `leaseOwner` names the next one.
pub const CHECKPOINT_OWNER: &str = "checkpointOwner";
/// `entityType` (S, optional): what the row is (KCL 3.5); absent means a lease.
pub const ENTITY_TYPE: &str = "entityType";
/// `streamName` (S, multi-stream only): the stream identifier `account:stream:epoch` (the name
/// is kept "for legacy reasons").
pub const STREAM_NAME: &str = "streamName";
/// `shardId` (S, multi-stream only): the shard id part of the lease key.
pub const SHARD_ID: &str = "shardId";

/// Every attribute a lease row may have, in the order above.
pub const ALL: [&str; 18] = [
    LEASE_KEY,
    LEASE_OWNER,
    LEASE_COUNTER,
    CHECKPOINT,
    CHECKPOINT_SUB_SEQUENCE_NUMBER,
    PENDING_CHECKPOINT,
    PENDING_CHECKPOINT_SUB_SEQUENCE_NUMBER,
    PENDING_CHECKPOINT_STATE,
    OWNER_SWITCHES_SINCE_CHECKPOINT,
    PARENT_SHARD_ID,
    CHILD_SHARD_IDS,
    STARTING_HASH_KEY,
    ENDING_HASH_KEY,
    THROUGHPUT_KBPS,
    CHECKPOINT_OWNER,
    ENTITY_TYPE,
    STREAM_NAME,
    SHARD_ID,
];
