//! [`BatchingCheckpointer`]: checkpoints every N records or T time, by [`CheckpointPolicy`].

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use kinesis_kcl_compat::sequence::ExtendedSequenceNumber;
use tokio::time::Instant;

use crate::error::LeaseError;

use super::Checkpointer;

/// When a [`BatchingCheckpointer`] checkpoints: after `max_records` records or `max_interval`
/// since the last checkpoint, whichever comes first. Either limit can be switched off.
///
/// The default is 1,000 records or 5 seconds. A shard takes at most 1,000 records a second, so
/// this costs at most about one lease write a second per shard while a failover reprocesses at
/// most a few seconds of records. (zio-kinesis's `CheckpointBehaviour.default` uses 200 records
/// or 5 minutes, and its early README "1000 records or 5 seconds"; the KCL leaves it to the
/// application, its samples checkpoint every 60 seconds.)
///
/// ```
/// use std::time::Duration;
///
/// use kinesis_lease::checkpointer::CheckpointPolicy;
///
/// let policy = CheckpointPolicy::default();
/// assert_eq!(policy.max_records(), Some(1_000));
/// assert_eq!(policy.max_interval(), Some(Duration::from_secs(5)));
///
/// let policy = CheckpointPolicy::default()
///     .with_max_records(200)
///     .with_max_interval(Duration::from_secs(300));
/// assert_eq!(policy.max_records(), Some(200));
///
/// let manual = CheckpointPolicy::manual();
/// assert_eq!((manual.max_records(), manual.max_interval()), (None, None));
/// ```
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckpointPolicy {
    max_records: Option<u64>,
    max_interval: Option<Duration>,
}

impl Default for CheckpointPolicy {
    fn default() -> Self {
        Self {
            max_records: Some(1_000),
            max_interval: Some(Duration::from_secs(5)),
        }
    }
}

impl CheckpointPolicy {
    /// Neither limit: checkpoints only when asked to.
    pub fn manual() -> Self {
        Self {
            max_records: None,
            max_interval: None,
        }
    }

    /// Checkpoint after this many records (0 is taken as 1: after every record).
    #[must_use]
    pub fn with_max_records(mut self, max_records: u64) -> Self {
        self.max_records = Some(max_records.max(1));
        self
    }

    /// No limit on the number of records.
    #[must_use]
    pub fn without_max_records(mut self) -> Self {
        self.max_records = None;
        self
    }

    /// Checkpoint when this much time has passed since the last checkpoint (at least one
    /// millisecond).
    #[must_use]
    pub fn with_max_interval(mut self, max_interval: Duration) -> Self {
        self.max_interval = Some(max_interval.max(Duration::from_millis(1)));
        self
    }

    /// No time limit.
    #[must_use]
    pub fn without_max_interval(mut self) -> Self {
        self.max_interval = None;
        self
    }

    /// The record limit.
    pub fn max_records(&self) -> Option<u64> {
        self.max_records
    }

    /// The time limit.
    pub fn max_interval(&self) -> Option<Duration> {
        self.max_interval
    }
}

/// A [`Checkpointer`](crate::checkpointer::Checkpointer) driven by a [`CheckpointPolicy`]: [`record_processed`] stages each record
/// and checkpoints when the record limit is reached (or the time limit passed), [`tick`] waits
/// for the time limit of an idle shard. Cheap to clone; the clones share the counters.
///
/// Both limits count from the last checkpoint made through this handle (by either trigger or
/// [`checkpoint`](Self::checkpoint)), whether it succeeded or not.
///
/// [`record_processed`]: Self::record_processed
/// [`tick`]: Self::tick
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
///
/// use kinesis_lease::checkpointer::{BatchingCheckpointer, CheckpointPolicy, Checkpointer, InMemoryCheckpointSink};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let sink = Arc::new(InMemoryCheckpointSink::new());
/// let checkpointer = Checkpointer::builder("shardId-000000000000".parse()?, sink.clone()).build();
/// let batching = BatchingCheckpointer::new(checkpointer, CheckpointPolicy::default().with_max_records(2));
/// let (tx, mut records) = tokio::sync::mpsc::channel::<String>(8);
/// for seq in ["1", "2", "3"] {
///     tx.send(seq.to_owned()).await?;
/// }
/// drop(tx);
/// loop {
///     tokio::select! {
///         record = records.recv() => match record {
///             Some(seq) => {
///                 // ... process the record, then:
///                 batching.record_processed(seq.parse()?).await?;
///             }
///             None => break,
///         },
///         result = batching.tick() => result?,
///     }
/// }
/// assert_eq!(sink.writes().len(), 1); // after record 2
/// batching.checkpointer().checkpoint_and_release().await?; // writes 3
/// assert_eq!(sink.writes().len(), 2);
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct BatchingCheckpointer {
    checkpointer: Checkpointer,
    policy: CheckpointPolicy,
    batch: Arc<Mutex<Batch>>,
}

#[derive(Debug)]
struct Batch {
    records: u64,
    deadline: Option<Instant>,
}

impl BatchingCheckpointer {
    /// Drives `checkpointer` by `policy`; the time limit counts from now.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use kinesis_lease::checkpointer::{BatchingCheckpointer, CheckpointPolicy, Checkpointer, InMemoryCheckpointSink};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let checkpointer =
    /// #     Checkpointer::builder("shardId-000000000000".parse()?, Arc::new(InMemoryCheckpointSink::new()))
    /// #         .build();
    /// let batching = BatchingCheckpointer::new(checkpointer, CheckpointPolicy::default());
    /// assert!(batching.next_deadline().is_some());
    /// # Ok(())
    /// # }
    /// ```
    pub fn new(checkpointer: Checkpointer, policy: CheckpointPolicy) -> Self {
        let deadline = policy.max_interval.map(|d| Instant::now() + d);
        Self {
            checkpointer,
            policy,
            batch: Arc::new(Mutex::new(Batch {
                records: 0,
                deadline,
            })),
        }
    }

    fn batch(&self) -> MutexGuard<'_, Batch> {
        self.batch.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The checkpointer driven.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use kinesis_lease::checkpointer::{BatchingCheckpointer, CheckpointPolicy, Checkpointer, InMemoryCheckpointSink};
    /// # let checkpointer =
    /// #     Checkpointer::builder("shardId-000000000000".parse()?, Arc::new(InMemoryCheckpointSink::new()))
    /// #         .build();
    /// let batching = BatchingCheckpointer::new(checkpointer, CheckpointPolicy::manual());
    /// batching.checkpointer().stage("4".parse()?);
    /// # Ok::<(), kinesis_client::Error>(())
    /// ```
    pub fn checkpointer(&self) -> &Checkpointer {
        &self.checkpointer
    }

    /// The policy.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use kinesis_lease::checkpointer::{BatchingCheckpointer, CheckpointPolicy, Checkpointer, InMemoryCheckpointSink};
    /// # let checkpointer =
    /// #     Checkpointer::builder("shardId-000000000000".parse()?, Arc::new(InMemoryCheckpointSink::new()))
    /// #         .build();
    /// let batching = BatchingCheckpointer::new(checkpointer, CheckpointPolicy::manual());
    /// assert_eq!(batching.policy(), &CheckpointPolicy::manual());
    /// # Ok::<(), kinesis_client::Error>(())
    /// ```
    pub fn policy(&self) -> &CheckpointPolicy {
        &self.policy
    }

    /// Records processed since the last checkpoint.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use kinesis_lease::checkpointer::{BatchingCheckpointer, CheckpointPolicy, Checkpointer, InMemoryCheckpointSink};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let checkpointer =
    /// #     Checkpointer::builder("shardId-000000000000".parse()?, Arc::new(InMemoryCheckpointSink::new()))
    /// #         .build();
    /// let batching = BatchingCheckpointer::new(checkpointer, CheckpointPolicy::manual());
    /// batching.record_processed("1".parse()?).await?;
    /// assert_eq!(batching.pending_records(), 1);
    /// # Ok(())
    /// # }
    /// ```
    pub fn pending_records(&self) -> u64 {
        self.batch().records
    }

    /// When the time limit falls (`None` without one).
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use kinesis_lease::checkpointer::{BatchingCheckpointer, CheckpointPolicy, Checkpointer, InMemoryCheckpointSink};
    /// # let checkpointer =
    /// #     Checkpointer::builder("shardId-000000000000".parse()?, Arc::new(InMemoryCheckpointSink::new()))
    /// #         .build();
    /// let batching = BatchingCheckpointer::new(checkpointer, CheckpointPolicy::manual());
    /// assert_eq!(batching.next_deadline(), None);
    /// # Ok::<(), kinesis_client::Error>(())
    /// ```
    pub fn next_deadline(&self) -> Option<Instant> {
        self.batch().deadline
    }

    /// Stages `position` (a record just processed) and checkpoints if the policy says so: the
    /// record limit is reached or the time limit has passed. Returns whether it checkpointed.
    ///
    /// # Errors
    ///
    /// As [`Checkpointer::checkpoint`](crate::checkpointer::Checkpointer::checkpoint); [`LeaseErrorKind::LeaseLost`](crate::LeaseErrorKind::LeaseLost) at once (without staging)
    /// once the lease was lost or released.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: the position is staged before any await, and the checkpoint it may start is
    /// cancel-safe.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use kinesis_lease::checkpointer::{BatchingCheckpointer, CheckpointPolicy, Checkpointer, InMemoryCheckpointSink};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let checkpointer =
    /// #     Checkpointer::builder("shardId-000000000000".parse()?, Arc::new(InMemoryCheckpointSink::new()))
    /// #         .build();
    /// let batching = BatchingCheckpointer::new(checkpointer, CheckpointPolicy::manual().with_max_records(2));
    /// assert!(!batching.record_processed("1".parse()?).await?);
    /// assert!(batching.record_processed("2".parse()?).await?);
    /// assert_eq!(batching.checkpointer().last_checkpoint(), Some("2".parse()?));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn record_processed(
        &self,
        position: ExtendedSequenceNumber,
    ) -> Result<bool, LeaseError> {
        self.checkpointer.check_writable()?;
        self.checkpointer.stage(position);
        let due = {
            let mut batch = self.batch();
            batch.records += 1;
            self.policy.max_records.is_some_and(|n| batch.records >= n)
                || batch.deadline.is_some_and(|d| Instant::now() >= d)
        };
        if due {
            self.checkpoint().await?;
        }
        Ok(due)
    }

    /// Waits for the time limit, then checkpoints (a no-op when nothing is staged). Never
    /// completes without a time limit. Use it in a `select!` with the record stream so that an
    /// idle shard still checkpoints what it staged.
    ///
    /// # Errors
    ///
    /// As [`Checkpointer::checkpoint`](crate::checkpointer::Checkpointer::checkpoint).
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: dropping it while it waits loses nothing, and the checkpoint it may have
    /// started is cancel-safe.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use std::time::Duration;
    /// # use kinesis_lease::checkpointer::{BatchingCheckpointer, CheckpointPolicy, Checkpointer, InMemoryCheckpointSink};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let checkpointer =
    /// #     Checkpointer::builder("shardId-000000000000".parse()?, Arc::new(InMemoryCheckpointSink::new()))
    /// #         .build();
    /// let policy = CheckpointPolicy::manual().with_max_interval(Duration::from_millis(10));
    /// let batching = BatchingCheckpointer::new(checkpointer, policy);
    /// batching.record_processed("1".parse()?).await?;
    /// batching.tick().await?; // about 10 ms later
    /// assert_eq!(batching.checkpointer().last_checkpoint(), Some("1".parse()?));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn tick(&self) -> Result<(), LeaseError> {
        loop {
            let Some(deadline) = self.batch().deadline else {
                return std::future::pending().await;
            };
            tokio::time::sleep_until(deadline).await;
            // A checkpoint made meanwhile moved the deadline: wait for the new one.
            if self.batch().deadline == Some(deadline) {
                return self.checkpoint().await;
            }
        }
    }

    /// Checkpoints now and restarts both limits.
    ///
    /// # Errors
    ///
    /// As [`Checkpointer::checkpoint`](crate::checkpointer::Checkpointer::checkpoint).
    ///
    /// # Cancel safety
    ///
    /// As [`Checkpointer::checkpoint`](crate::checkpointer::Checkpointer::checkpoint).
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use kinesis_lease::checkpointer::{BatchingCheckpointer, CheckpointPolicy, Checkpointer, InMemoryCheckpointSink};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let checkpointer =
    /// #     Checkpointer::builder("shardId-000000000000".parse()?, Arc::new(InMemoryCheckpointSink::new()))
    /// #         .build();
    /// let batching = BatchingCheckpointer::new(checkpointer, CheckpointPolicy::default());
    /// batching.record_processed("1".parse()?).await?;
    /// batching.checkpoint().await?;
    /// assert_eq!(batching.pending_records(), 0);
    /// assert_eq!(batching.checkpointer().last_checkpoint(), Some("1".parse()?));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn checkpoint(&self) -> Result<(), LeaseError> {
        {
            let mut batch = self.batch();
            batch.records = 0;
            batch.deadline = self.policy.max_interval.map(|d| Instant::now() + d);
        }
        self.checkpointer.checkpoint().await
    }
}
