//! [`Checkpointer`](crate::checkpointer::Checkpointer), the checkpointing handle of one shard's lease, and its builder.

use std::collections::BTreeSet;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use kinesis_client::ShardId;
use kinesis_kcl_compat::lease::LeaseKey;
use kinesis_kcl_compat::sequence::{Checkpoint, ExtendedSequenceNumber};

use crate::error::{LeaseError, LeaseErrorKind};
use crate::repository::CheckpointUpdate;

use super::{CheckpointSink, WrittenCheckpoint};

/// The checkpointing handle of one shard's lease: cheap to clone (an [`Arc`] inside), `Send` and
/// `Sync`, so that the processing task, a timer task and the consumer can share it.
///
/// See the [module documentation](crate::checkpointer) for the model. In short:
///
/// - [`stage`](Self::stage) remembers a position (last wins, no I/O);
/// - [`checkpoint`](Self::checkpoint) writes the last staged position;
/// - [`checkpoint_and_release`](Self::checkpoint_and_release) is the final write when processing
///   stops;
/// - [`mark_shard_end`](Self::mark_shard_end) and [`mark_lease_lost`](Self::mark_lease_lost) are
///   fed by the consumer and the lease coordinator.
///
/// Writes are serialised: a second [`checkpoint`](Self::checkpoint) waits for the one in flight.
///
/// ```
/// use std::sync::Arc;
///
/// use kinesis_kcl_compat::sequence::{Checkpoint, ExtendedSequenceNumber};
/// use kinesis_lease::checkpointer::{Checkpointer, InMemoryCheckpointSink};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let sink = Arc::new(InMemoryCheckpointSink::new());
/// let checkpointer = Checkpointer::builder("shardId-000000000000".parse()?, sink)
///     .initial_checkpoint(Checkpoint::TRIM_HORIZON)
///     .build();
/// let handle = checkpointer.clone(); // e.g. for another task
/// handle.stage(ExtendedSequenceNumber::plain("42".parse()?));
/// checkpointer.checkpoint().await?;
/// assert_eq!(checkpointer.last_checkpoint(), Some("42".parse()?));
/// assert_eq!(checkpointer.fencing_token(), Some(1));
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Checkpointer {
    inner: Arc<Inner>,
}

struct Inner {
    lease_key: LeaseKey,
    sink: Arc<dyn CheckpointSink>,
    state: Mutex<State>,
    // NOTE: held (owned) by the task performing a write, so that writes are serialised even when
    // the caller that started one stopped waiting for it.
    write_lock: Arc<tokio::sync::Mutex<()>>,
}

#[derive(Debug)]
struct State {
    staged: Option<ExtendedSequenceNumber>,
    last_checkpoint: Option<Checkpoint>,
    lease_counter: Option<u64>,
    shard_end: Option<ShardEnd>,
    lease_lost: bool,
    released: bool,
}

#[derive(Debug)]
struct ShardEnd {
    /// The last record the consumer delivered from this shard; `None` when it delivered none.
    last: Option<ExtendedSequenceNumber>,
    child_shard_ids: BTreeSet<ShardId>,
}

/// What one write attempt will do, decided under the state lock.
#[derive(Debug)]
enum Plan {
    Nothing,
    Write {
        update: CheckpointUpdate,
        /// The staged position being written, to clear it afterwards if it was not replaced.
        staged: Option<ExtendedSequenceNumber>,
    },
    Release,
}

impl State {
    /// Whether the shard ended and every record the consumer delivered was checkpointed.
    fn fully_processed(&self) -> bool {
        match &self.shard_end {
            None => false,
            // NOTE: zio-kinesis requires "no last checkpoint either" here; but if the consumer
            // delivered nothing since this lease was taken, everything after the lease's
            // checkpoint has been processed, whatever that checkpoint was.
            Some(ShardEnd { last: None, .. }) => true,
            Some(ShardEnd {
                last: Some(last), ..
            }) => self
                .last_checkpoint
                .as_ref()
                .and_then(Checkpoint::sequence)
                .is_some_and(|c| c >= last),
        }
    }

    fn is_finished(&self) -> bool {
        self.last_checkpoint
            .as_ref()
            .is_some_and(Checkpoint::is_shard_end)
    }

    fn update(&self, checkpoint: Checkpoint, release: bool) -> CheckpointUpdate {
        let child_shard_ids = match &self.shard_end {
            Some(end) if checkpoint.is_shard_end() && !end.child_shard_ids.is_empty() => {
                Some(end.child_shard_ids.clone())
            }
            _ => None,
        };
        CheckpointUpdate {
            checkpoint,
            child_shard_ids,
            release,
        }
    }

    /// zio-kinesis's `DefaultCheckpointer.doCheckpoint`, decided without I/O.
    fn plan(&mut self, release: bool) -> Plan {
        match self.staged.clone() {
            // SHARD_END was written: nothing may follow it (it would move the checkpoint back).
            Some(_) if self.is_finished() => {
                self.staged = None;
                if release {
                    Plan::Release
                } else {
                    Plan::Nothing
                }
            }
            Some(staged) => {
                let at_end = self
                    .shard_end
                    .as_ref()
                    .and_then(|end| end.last.as_ref())
                    .is_some_and(|last| staged >= *last);
                let checkpoint = if at_end {
                    Checkpoint::SHARD_END
                } else {
                    Checkpoint::Sequence(staged.clone())
                };
                if !release && self.last_checkpoint.as_ref() == Some(&checkpoint) {
                    self.staged = None;
                    return Plan::Nothing;
                }
                Plan::Write {
                    update: self.update(checkpoint, release),
                    staged: Some(staged),
                }
            }
            None if release && !self.is_finished() && self.fully_processed() => Plan::Write {
                update: self.update(Checkpoint::SHARD_END, true),
                staged: None,
            },
            None if release => Plan::Release,
            None => Plan::Nothing,
        }
    }
}

impl Checkpointer {
    /// The error a write would fail with now: the lease was lost or released.
    pub(super) fn check_writable(&self) -> Result<(), LeaseError> {
        let st = self.inner.state();
        if st.lease_lost {
            return Err(LeaseError::lease_lost(&self.inner.lease_key));
        }
        if st.released {
            return Err(self.inner.released_error());
        }
        Ok(())
    }
}

impl Inner {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn released_error(&self) -> LeaseError {
        LeaseError::new(
            LeaseErrorKind::LeaseLost,
            Some(&self.lease_key),
            "the lease was released by this worker",
        )
    }

    /// Records the outcome of a write attempt.
    fn record(&self, plan: Plan, result: &Result<Option<WrittenCheckpoint>, LeaseError>) {
        let mut st = self.state();
        match result {
            Ok(written) => {
                if let Some(written) = *written {
                    st.lease_counter = Some(written.lease_counter);
                }
                match plan {
                    Plan::Write { update, staged } => {
                        // A position staged while the write was in flight is kept for the next
                        // checkpoint.
                        if staged.is_some() && st.staged == staged {
                            st.staged = None;
                        }
                        tracing::debug!(lease_key = %self.lease_key, checkpoint = %update.checkpoint, release = update.release, "checkpoint written");
                        st.last_checkpoint = Some(update.checkpoint);
                        st.released |= update.release;
                    }
                    Plan::Release => {
                        tracing::debug!(lease_key = %self.lease_key, "lease released");
                        st.released = true;
                    }
                    Plan::Nothing => {}
                }
            }
            Err(e) => {
                if e.is_lease_lost() {
                    tracing::info!(lease_key = %self.lease_key, error = %e, "lease lost while checkpointing");
                    st.lease_lost = true;
                }
            }
        }
    }
}

impl Checkpointer {
    /// A builder for the checkpointer of the lease `lease_key`, writing through `sink`.
    ///
    /// ```
    /// use std::sync::Arc;
    ///
    /// use kinesis_lease::checkpointer::{Checkpointer, InMemoryCheckpointSink};
    ///
    /// let checkpointer =
    ///     Checkpointer::builder("shardId-000000000000".parse()?, Arc::new(InMemoryCheckpointSink::new()))
    ///         .build();
    /// assert_eq!(checkpointer.staged(), None);
    /// # Ok::<(), kinesis_client::Error>(())
    /// ```
    pub fn builder(lease_key: LeaseKey, sink: Arc<dyn CheckpointSink>) -> CheckpointerBuilder {
        CheckpointerBuilder {
            lease_key,
            sink,
            initial_checkpoint: None,
            lease_counter: None,
        }
    }

    /// The lease this checkpointer writes to.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use kinesis_lease::checkpointer::{Checkpointer, InMemoryCheckpointSink};
    /// let checkpointer =
    ///     Checkpointer::builder("shardId-000000000003".parse()?, Arc::new(InMemoryCheckpointSink::new()))
    ///         .build();
    /// assert_eq!(checkpointer.lease_key().shard_id().as_str(), "shardId-000000000003");
    /// # Ok::<(), kinesis_client::Error>(())
    /// ```
    pub fn lease_key(&self) -> &LeaseKey {
        &self.inner.lease_key
    }

    /// Stages `position` for the next checkpoint: no I/O, never fails, and the last stage wins,
    /// whether or not it is later than the one it replaces (as in zio-kinesis: with parallel
    /// processing the caller decides what is safe to checkpoint).
    ///
    /// Staging after the lease was lost or released has no effect on the lease; the next
    /// [`checkpoint`](Self::checkpoint) reports the lost lease.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use kinesis_lease::checkpointer::{Checkpointer, InMemoryCheckpointSink};
    /// use kinesis_kcl_compat::sequence::ExtendedSequenceNumber;
    ///
    /// # let checkpointer =
    /// #     Checkpointer::builder("shardId-000000000000".parse()?, Arc::new(InMemoryCheckpointSink::new()))
    /// #         .build();
    /// checkpointer.stage("7:2".parse()?); // sub-record 2 of the aggregate with sequence number 7
    /// checkpointer.stage(ExtendedSequenceNumber::plain("5".parse()?));
    /// assert_eq!(checkpointer.staged(), Some("5".parse()?)); // last wins
    /// # Ok::<(), kinesis_client::Error>(())
    /// ```
    pub fn stage(&self, position: ExtendedSequenceNumber) {
        self.inner.state().staged = Some(position);
    }

    /// Runs `processing` and stages `position` if it returns `Ok`; returns its result.
    ///
    /// # Cancel safety
    ///
    /// The position is staged in the same poll in which `processing` completes, so a caller that
    /// is cancelled after the processing succeeded still has it staged (zio-kinesis's "even if
    /// the fiber is interrupted afterwards"). Dropping the future before `processing` completes
    /// drops `processing` and stages nothing.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use kinesis_lease::checkpointer::{Checkpointer, InMemoryCheckpointSink};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let checkpointer =
    /// #     Checkpointer::builder("shardId-000000000000".parse()?, Arc::new(InMemoryCheckpointSink::new()))
    /// #         .build();
    /// let failed: Result<(), &str> = checkpointer.stage_on_success(async { Err("boom") }, "1".parse()?).await;
    /// assert!(failed.is_err());
    /// assert_eq!(checkpointer.staged(), None);
    ///
    /// let n = checkpointer.stage_on_success(async { Ok::<_, &str>(3) }, "2".parse()?).await?;
    /// assert_eq!(n, 3);
    /// assert_eq!(checkpointer.staged(), Some("2".parse()?));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn stage_on_success<T, E>(
        &self,
        processing: impl Future<Output = Result<T, E>>,
        position: ExtendedSequenceNumber,
    ) -> Result<T, E> {
        let output = processing.await;
        if output.is_ok() {
            self.stage(position);
        }
        output
    }

    /// The position staged and not yet written, if any.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use kinesis_lease::checkpointer::{Checkpointer, InMemoryCheckpointSink};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let checkpointer =
    /// #     Checkpointer::builder("shardId-000000000000".parse()?, Arc::new(InMemoryCheckpointSink::new()))
    /// #         .build();
    /// checkpointer.stage("9".parse()?);
    /// assert_eq!(checkpointer.staged(), Some("9".parse()?));
    /// checkpointer.checkpoint().await?;
    /// assert_eq!(checkpointer.staged(), None);
    /// # Ok(())
    /// # }
    /// ```
    pub fn staged(&self) -> Option<ExtendedSequenceNumber> {
        self.inner.state().staged.clone()
    }

    /// The last checkpoint written (or the lease's checkpoint given to the builder): a position,
    /// or `SHARD_END` once that was written.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use kinesis_lease::checkpointer::{Checkpointer, InMemoryCheckpointSink};
    /// use kinesis_kcl_compat::sequence::Checkpoint;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let checkpointer =
    ///     Checkpointer::builder("shardId-000000000000".parse()?, Arc::new(InMemoryCheckpointSink::new()))
    ///         .initial_checkpoint(Checkpoint::TRIM_HORIZON)
    ///         .build();
    /// assert_eq!(checkpointer.last_checkpoint(), Some(Checkpoint::TRIM_HORIZON));
    /// checkpointer.stage("11".parse()?);
    /// checkpointer.checkpoint().await?;
    /// assert_eq!(checkpointer.last_checkpoint(), Some("11".parse()?));
    /// # Ok(())
    /// # }
    /// ```
    pub fn last_checkpoint(&self) -> Option<Checkpoint> {
        self.inner.state().last_checkpoint.clone()
    }

    /// The lease counter after the last successful write (or the one given to the builder): a
    /// fencing token for sinks of processed data that must reject writes of a previous owner.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use kinesis_lease::checkpointer::{Checkpointer, InMemoryCheckpointSink};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let checkpointer =
    ///     Checkpointer::builder("shardId-000000000000".parse()?, Arc::new(InMemoryCheckpointSink::new()))
    ///         .lease_counter(0)
    ///         .build();
    /// assert_eq!(checkpointer.fencing_token(), Some(0));
    /// checkpointer.stage("1".parse()?);
    /// checkpointer.checkpoint().await?;
    /// assert_eq!(checkpointer.fencing_token(), Some(1));
    /// # Ok(())
    /// # }
    /// ```
    pub fn fencing_token(&self) -> Option<u64> {
        self.inner.state().lease_counter
    }

    /// Whether the lease was lost: every write fails from then on.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use kinesis_lease::checkpointer::{Checkpointer, InMemoryCheckpointSink};
    /// # let checkpointer =
    /// #     Checkpointer::builder("shardId-000000000000".parse()?, Arc::new(InMemoryCheckpointSink::new()))
    /// #         .build();
    /// assert!(!checkpointer.is_lease_lost());
    /// checkpointer.mark_lease_lost();
    /// assert!(checkpointer.is_lease_lost());
    /// # Ok::<(), kinesis_client::Error>(())
    /// ```
    pub fn is_lease_lost(&self) -> bool {
        self.inner.state().lease_lost
    }

    /// Whether the lease was released by [`checkpoint_and_release`](Self::checkpoint_and_release).
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use kinesis_lease::checkpointer::{Checkpointer, InMemoryCheckpointSink};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let checkpointer =
    /// #     Checkpointer::builder("shardId-000000000000".parse()?, Arc::new(InMemoryCheckpointSink::new()))
    /// #         .build();
    /// assert!(!checkpointer.is_released());
    /// checkpointer.checkpoint_and_release().await?;
    /// assert!(checkpointer.is_released());
    /// # Ok(())
    /// # }
    /// ```
    pub fn is_released(&self) -> bool {
        self.inner.state().released
    }

    /// Whether the consumer reported the end of the shard.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use kinesis_lease::checkpointer::{Checkpointer, InMemoryCheckpointSink};
    /// # let checkpointer =
    /// #     Checkpointer::builder("shardId-000000000000".parse()?, Arc::new(InMemoryCheckpointSink::new()))
    /// #         .build();
    /// assert!(!checkpointer.is_shard_ended());
    /// checkpointer.mark_shard_end(None, []);
    /// assert!(checkpointer.is_shard_ended());
    /// # Ok::<(), kinesis_client::Error>(())
    /// ```
    pub fn is_shard_ended(&self) -> bool {
        self.inner.state().shard_end.is_some()
    }

    /// Called by the consumer when it has read the shard to its end: `last` is the position of
    /// the last record it delivered to the processor from this lease (`None` when it delivered
    /// none), `child_shard_ids` the shard's children (written with `SHARD_END`).
    ///
    /// From then on, a write of `last` (or of a later position) is written as `SHARD_END`, and
    /// [`checkpoint_and_release`](Self::checkpoint_and_release) writes `SHARD_END` when nothing is
    /// staged and `last` was written already (or is `None`). A second call replaces the first.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use kinesis_lease::checkpointer::{Checkpointer, InMemoryCheckpointSink};
    /// use kinesis_kcl_compat::sequence::Checkpoint;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let checkpointer =
    /// #     Checkpointer::builder("shardId-000000000000".parse()?, Arc::new(InMemoryCheckpointSink::new()))
    /// #         .build();
    /// checkpointer.mark_shard_end(Some("20".parse()?), ["shardId-000000000002".parse()?]);
    /// checkpointer.stage("20".parse()?);
    /// checkpointer.checkpoint().await?;
    /// assert_eq!(checkpointer.last_checkpoint(), Some(Checkpoint::SHARD_END));
    /// # Ok(())
    /// # }
    /// ```
    pub fn mark_shard_end(
        &self,
        last: Option<ExtendedSequenceNumber>,
        child_shard_ids: impl IntoIterator<Item = ShardId>,
    ) {
        let end = ShardEnd {
            last,
            child_shard_ids: child_shard_ids.into_iter().collect(),
        };
        self.inner.state().shard_end = Some(end);
    }

    /// Called by the lease coordinator when it finds the lease lost (a renewal failed its
    /// condition, or the lease expired): every later write fails with
    /// [`LeaseErrorKind::LeaseLost`](crate::LeaseErrorKind::LeaseLost).
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use kinesis_lease::checkpointer::{Checkpointer, InMemoryCheckpointSink};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let checkpointer =
    /// #     Checkpointer::builder("shardId-000000000000".parse()?, Arc::new(InMemoryCheckpointSink::new()))
    /// #         .build();
    /// checkpointer.mark_lease_lost();
    /// checkpointer.stage("1".parse()?);
    /// let err = checkpointer.checkpoint().await.unwrap_err();
    /// assert!(err.is_lease_lost());
    /// # Ok(())
    /// # }
    /// ```
    pub fn mark_lease_lost(&self) {
        self.inner.state().lease_lost = true;
    }

    /// Writes the last staged position to the lease (as `SHARD_END` when it is the shard's last
    /// record after [`mark_shard_end`](Self::mark_shard_end)).
    ///
    /// Nothing is written when nothing was staged since the last write. On success the staged
    /// position is cleared, unless another one was staged while the write was in flight (that
    /// one is kept for the next checkpoint). On failure it is left staged.
    ///
    /// One write, which the DynamoDB repository's stack retries on throttling and transient
    /// failures (see the module documentation); this call adds no retries of its own. Calls are
    /// serialised: a call waits for a write in flight.
    ///
    /// # Errors
    ///
    /// - [`LeaseErrorKind::LeaseLost`](crate::LeaseErrorKind::LeaseLost) when the lease was lost (now or before: it is sticky) or
    ///   released; the processor should stop processing the shard.
    /// - [`LeaseErrorKind::Storage`](crate::LeaseErrorKind::Storage) when the write failed (after the stack's retries), or any
    ///   other error of the sink; the position stays staged for the next checkpoint.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe. A write attempt in progress runs to completion on a tokio task even if this
    /// future is dropped, and records its outcome (the lease counter must not get out of step
    /// with the table). The staged position is
    /// kept until a write of it succeeds. Outside a tokio runtime the attempt runs inline and is
    /// dropped with the future; the conditional write makes repeating it harmless.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use kinesis_lease::checkpointer::{Checkpointer, InMemoryCheckpointSink};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let sink = Arc::new(InMemoryCheckpointSink::new());
    /// let checkpointer = Checkpointer::builder("shardId-000000000000".parse()?, sink.clone()).build();
    /// checkpointer.stage("1".parse()?);
    /// checkpointer.checkpoint().await?;
    /// checkpointer.checkpoint().await?; // nothing new staged: no write
    /// assert_eq!(sink.writes().len(), 1);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn checkpoint(&self) -> Result<(), LeaseError> {
        self.attempt(false).await
    }

    /// The final write when the shard's processing stops (shard end, shutdown, rebalancing):
    /// writes the staged position (as `SHARD_END` when it is the shard's last record) and
    /// releases the lease in the same conditional write. With nothing staged, it writes
    /// `SHARD_END` and releases when the shard ended and every delivered record was checkpointed
    /// (or none was delivered); otherwise it only releases the lease. The lease coordinator
    /// keeps a lease whose checkpoint becomes `SHARD_END` instead of releasing it (held and
    /// renewed until its cleanup, as the KCL keeps finished leases); a custom sink receives
    /// `release: true` and decides for itself.
    ///
    /// One attempt, not retried (as in zio-kinesis: a shutdown is bounded in time); a failure
    /// leaves the staged position and the lease as they were, so the call may be repeated. A call
    /// after the lease was released does nothing.
    ///
    /// # Errors
    ///
    /// [`LeaseErrorKind::LeaseLost`](crate::LeaseErrorKind::LeaseLost) when the lease was lost (now or before), or the sink's
    /// error.
    ///
    /// # Cancel safety
    ///
    /// As [`checkpoint`](Self::checkpoint): a write in progress completes even if this future is
    /// dropped.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use kinesis_lease::checkpointer::{Checkpointer, InMemoryCheckpointSink};
    /// use kinesis_kcl_compat::sequence::Checkpoint;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let sink = Arc::new(InMemoryCheckpointSink::new());
    /// let checkpointer = Checkpointer::builder("shardId-000000000000".parse()?, sink.clone()).build();
    /// checkpointer.stage("3".parse()?);
    /// checkpointer.checkpoint_and_release().await?;
    /// let (_, update) = &sink.writes()[0];
    /// assert_eq!(update.checkpoint, "3".parse::<Checkpoint>()?);
    /// assert!(update.release);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn checkpoint_and_release(&self) -> Result<(), LeaseError> {
        self.attempt(true).await
    }

    /// One write attempt: zio-kinesis's `doCheckpoint(release)`.
    async fn attempt(&self, release: bool) -> Result<(), LeaseError> {
        let guard = Arc::clone(&self.inner.write_lock).lock_owned().await;
        let plan = {
            let mut st = self.inner.state();
            if st.lease_lost {
                return Err(LeaseError::lease_lost(&self.inner.lease_key));
            }
            if st.released {
                return if release {
                    Ok(())
                } else {
                    Err(self.inner.released_error())
                };
            }
            st.plan(release)
        };
        if matches!(plan, Plan::Nothing) {
            return Ok(());
        }
        let inner = Arc::clone(&self.inner);
        let write = async move {
            let _serialised = guard;
            let result = match &plan {
                Plan::Write { update, .. } => inner
                    .sink
                    .write(&inner.lease_key, update.clone())
                    .await
                    .map(Some),
                Plan::Release => inner.sink.release(&inner.lease_key).await.map(|()| None),
                Plan::Nothing => Ok(None),
            };
            inner.record(plan, &result);
            result.map(drop)
        };
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => match handle.spawn(write).await {
                Ok(result) => result,
                Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                Err(_) => Err(LeaseError::new(
                    LeaseErrorKind::Storage,
                    Some(&self.inner.lease_key),
                    "the checkpoint write was cancelled (the runtime is shutting down)",
                )),
            },
            Err(_) => write.await,
        }
    }
}

impl fmt::Debug for Checkpointer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Checkpointer")
            .field("lease_key", &self.inner.lease_key)
            .field("sink", &self.inner.sink)
            .field("state", &*self.inner.state())
            .finish()
    }
}

/// Builds a [`Checkpointer`](crate::checkpointer::Checkpointer); see [`Checkpointer::builder`](crate::checkpointer::Checkpointer::builder).
///
/// ```
/// use std::sync::Arc;
///
/// use kinesis_kcl_compat::sequence::Checkpoint;
/// use kinesis_lease::checkpointer::{Checkpointer, InMemoryCheckpointSink};
///
/// let checkpointer =
///     Checkpointer::builder("shardId-000000000000".parse()?, Arc::new(InMemoryCheckpointSink::new()))
///         .initial_checkpoint("1234".parse()?) // the lease's checkpoint when it was taken
///         .lease_counter(17) // the lease's counter when it was taken
///         .build();
/// assert_eq!(checkpointer.last_checkpoint(), Some("1234".parse::<Checkpoint>()?));
/// assert_eq!(checkpointer.fencing_token(), Some(17));
/// # Ok::<(), kinesis_client::Error>(())
/// ```
#[must_use]
#[derive(Debug)]
pub struct CheckpointerBuilder {
    lease_key: LeaseKey,
    sink: Arc<dyn CheckpointSink>,
    initial_checkpoint: Option<Checkpoint>,
    lease_counter: Option<u64>,
}

impl CheckpointerBuilder {
    /// The lease's checkpoint when it was taken: the initial
    /// [`last_checkpoint`](crate::checkpointer::Checkpointer::last_checkpoint). Default: none.
    pub fn initial_checkpoint(mut self, checkpoint: Checkpoint) -> Self {
        self.initial_checkpoint = Some(checkpoint);
        self
    }

    /// The lease's counter when it was taken: the initial
    /// [`fencing_token`](crate::checkpointer::Checkpointer::fencing_token). Default: none.
    pub fn lease_counter(mut self, lease_counter: u64) -> Self {
        self.lease_counter = Some(lease_counter);
        self
    }

    /// The checkpointer.
    pub fn build(self) -> Checkpointer {
        Checkpointer {
            inner: Arc::new(Inner {
                lease_key: self.lease_key,
                sink: self.sink,
                state: Mutex::new(State {
                    staged: None,
                    last_checkpoint: self.initial_checkpoint,
                    lease_counter: self.lease_counter,
                    shard_end: None,
                    lease_lost: false,
                    released: false,
                }),
                write_lock: Arc::new(tokio::sync::Mutex::new(())),
            }),
        }
    }
}
