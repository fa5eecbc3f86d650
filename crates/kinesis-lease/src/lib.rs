//! Lease coordination and checkpointing in the KCL's DynamoDB lease-table format, so that
//! workers of this workspace and Java KCL workers can share a stream.
//!
//! - [`LeaseRepository`]: lease storage in the KCL's table format, every write conditional on
//!   the lease counter: [`DynamoDbLeaseRepository`] and [`InMemoryLeaseRepository`], which pass one
//!   conformance suite.
//! - [`strategy`]: which leases a worker wants. [`Balanced`] uses the KCL 2.x taker's targets and
//!   steal rules, so mixed fleets of these workers and Java KCL workers do not fight;
//!   [`Explicit`] takes only the shards it is told; [`AssignmentStrategy`] for your own.
//! - [`lineage`]: parents before children; the initial checkpoint of a new lease.
//! - [`Checkpointer`]: stage positions, checkpoint them through a [`CheckpointSink`] (the
//!   DynamoDB stack retries storage errors; the checkpointer adds none), SHARD_END only once the last record is staged, a final checkpoint and
//!   release in one write, and the lease counter as a fencing token.
//!
//! - [`LeaseCoordinator`]: one per worker; renews, takes (by the strategy) and releases leases on a
//!   schedule, creates leases for new shards, detects lost leases, hands the consumer each
//!   acquired lease with its [`Checkpointer`], and is their [`CheckpointSink`].

pub mod checkpointer;
pub mod coordinator;
mod error;
pub mod kcl3;
pub mod lineage;
pub mod repository;
pub mod strategy;

pub use checkpointer::{CheckpointSink, Checkpointer};
pub use coordinator::{CoordinatorSettings, LeaseCoordinator, LeaseEvent};
pub use error::{LeaseError, LeaseErrorKind};
pub use kcl3::{Kcl3Settings, LeaseProtocol};
pub use repository::{BoxFuture, CheckpointUpdate, LeaseRepository, LeaseScan};
pub use repository::{DynamoDbLeaseRepository, InMemoryLeaseRepository};
pub use strategy::{AssignmentStrategy, Balanced, Explicit, StrategySettings};

// What the repository trait exposes, so that a storage of one's own needs this crate only.
pub use kinesis_kcl_compat::lease::{Lease, LeaseKey, LeaseRowError};
pub use kinesis_kcl_compat::sequence::{Checkpoint, ExtendedSequenceNumber};
