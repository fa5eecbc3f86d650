//! Per-shard checkpointing: stage positions while records are processed, write them to the
//! shard's lease.
//!
//! # Overview
//!
//! A [`Checkpointer`] is the handle a shard's processing code gets for the lease it holds. The
//! processor [stages](crate::checkpointer::Checkpointer::stage) the position of each record once it is done with it
//! (no I/O, the last stage wins), and [checkpoints](crate::checkpointer::Checkpointer::checkpoint) from time to time:
//! the last staged position is then written to the lease in the KCL's format (`checkpoint` and
//! `checkpointSubSequenceNumber`), so that whoever processes the shard next (this worker after a
//! restart, another worker of this crate, or a Java KCL worker) resumes after it. Records
//! processed but not staged, or staged but not written, are processed again after a failover:
//! delivery is at least once.
//!
//! The checkpointer does not talk to DynamoDB. It hands every write to a [`CheckpointSink`],
//! which the lease coordinator implements over
//! [`LeaseRepository::update_checkpoint`](crate::LeaseRepository::update_checkpoint) (a write
//! conditional on the lease counter that increments it, as the KCL's `DynamoDBCheckpointer`
//! does). A sink tells a lost lease ([`LeaseError::is_lease_lost`](crate::LeaseError::is_lease_lost)) from a storage failure:
//!
//! - a storage failure ([`LeaseErrorKind::Storage`](crate::LeaseErrorKind::Storage)) is returned by
//!   [`checkpoint`](crate::checkpointer::Checkpointer::checkpoint) as it is: the DynamoDB repository's stack has
//!   already retried it (the configuration's `RetryConfig`: attempts, the workspace's backoff,
//!   the shared budget), so one checkpoint makes at most `max_attempts` writes; the staged
//!   position stays for the next checkpoint;
//! - a lost lease is never retried and is sticky: from then on every write of the checkpointer
//!   fails with [`LeaseErrorKind::LeaseLost`](crate::LeaseErrorKind::LeaseLost), and the processor should stop processing the
//!   shard (another worker owns it now).
//!
//! # Shard end
//!
//! When the consumer reads a shard to its end it tells the checkpointer the position of the last
//! record it delivered ([`Checkpointer::mark_shard_end`](crate::checkpointer::Checkpointer::mark_shard_end)). From then on a write of that position
//! (or of a later one) is written as `SHARD_END` instead, which is what lets the child shards be
//! processed (the KCL's parent-before-child rule). As in the KCL, `SHARD_END` is written only
//! once the last record has been staged: a checkpoint of an earlier record stays a sequence
//! number.
//!
//! # Final checkpoint
//!
//! When a shard's processing stops for any reason (shard end, shutdown, rebalancing), the
//! consumer calls [`Checkpointer::checkpoint_and_release`](crate::checkpointer::Checkpointer::checkpoint_and_release), which writes the staged position
//! and gives up the lease in one conditional write. With nothing staged at a shard that ended
//! and was fully processed it writes `SHARD_END` and releases; otherwise it only releases.
//!
//! # Batching
//!
//! [`BatchingCheckpointer`] drives [`checkpoint`](crate::checkpointer::Checkpointer::checkpoint) by a
//! [`CheckpointPolicy`]: every N records or every T, whichever comes first.
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//!
//! use kinesis_kcl_compat::sequence::{Checkpoint, ExtendedSequenceNumber};
//! use kinesis_lease::checkpointer::{Checkpointer, InMemoryCheckpointSink};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let sink = Arc::new(InMemoryCheckpointSink::new());
//! let checkpointer = Checkpointer::builder("shardId-000000000000".parse()?, sink.clone()).build();
//!
//! for seq in ["100", "101", "102"] {
//!     // ... process the record, then:
//!     checkpointer.stage(ExtendedSequenceNumber::plain(seq.parse()?));
//! }
//! checkpointer.checkpoint().await?;
//! assert_eq!(sink.last_checkpoint(), Some("102".parse::<Checkpoint>()?));
//!
//! // The shard ended after record 102: the final checkpoint writes SHARD_END and releases.
//! checkpointer.mark_shard_end(Some(ExtendedSequenceNumber::plain("102".parse()?)), []);
//! checkpointer.checkpoint_and_release().await?;
//! assert_eq!(sink.last_checkpoint(), Some(Checkpoint::SHARD_END));
//! assert!(checkpointer.is_released());
//! # Ok(())
//! # }
//! ```

mod batching;
mod handle;
mod in_memory;
mod sink;

pub use batching::{BatchingCheckpointer, CheckpointPolicy};
pub use handle::{Checkpointer, CheckpointerBuilder};
pub use in_memory::InMemoryCheckpointSink;
pub use sink::{CheckpointSink, WrittenCheckpoint};
