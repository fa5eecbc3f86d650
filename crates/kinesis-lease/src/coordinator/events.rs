//! What a [`LeaseCoordinator`](super::LeaseCoordinator) tells the consumer: events, acquired
//! leases, and each lease's status.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use kinesis_client::HashKeyRange;
use kinesis_kcl_compat::lease::LeaseKey;
use kinesis_kcl_compat::sequence::Checkpoint;
use tokio::sync::{mpsc, watch};

use crate::checkpointer::Checkpointer;
use crate::error::{LeaseError, LeaseErrorKind};

/// Something that happened to this worker's leases or to the fleet, for logs and metrics.
///
/// Delivered through a [`tokio::sync::broadcast`] channel
/// ([`LeaseCoordinator::events`](super::LeaseCoordinator::events)), never blocking the
/// coordinator: a subscriber that falls more than
/// [`event_capacity`](super::CoordinatorSettings::event_capacity) events behind gets
/// [`RecvError::Lagged`](tokio::sync::broadcast::error::RecvError::Lagged) and misses the oldest
/// ones. Events sent while nobody subscribes are dropped.
#[non_exhaustive]
#[derive(Clone, Debug)]
pub enum LeaseEvent {
    /// A checkpoint of a held lease was written.
    Checkpointed {
        /// The lease.
        key: LeaseKey,
        /// The checkpoint now stored (`SHARD_END` at a shard's end).
        checkpoint: Checkpoint,
    },
    /// A checkpoint write attempt failed (the checkpointer may retry it; a lost lease is never
    /// retried).
    CheckpointFailed {
        /// The lease.
        key: LeaseKey,
        /// The kind of failure.
        kind: LeaseErrorKind,
        /// The error's message.
        message: String,
    },
    /// This worker now holds the lease (taken, created, stolen or resumed after a restart).
    Acquired {
        /// The lease.
        key: LeaseKey,
        /// Its checkpoint when acquired.
        checkpoint: Checkpoint,
    },
    /// A renewal succeeded.
    Renewed {
        /// The lease.
        key: LeaseKey,
    },
    /// A renewal failed with a storage error; the lease is kept (and expires if the errors last
    /// longer than the failover time).
    RenewalFailed {
        /// The lease.
        key: LeaseKey,
        /// The error.
        error: Arc<LeaseError>,
    },
    /// The lease was lost: another worker took it, or this worker could not renew it for longer
    /// than the failover time.
    Lost {
        /// The lease.
        key: LeaseKey,
    },
    /// This worker released the lease (final checkpoint, strategy release, or shutdown).
    Released {
        /// The lease.
        key: LeaseKey,
    },
    /// This worker stole the lease from a live worker.
    Stolen {
        /// The lease.
        key: LeaseKey,
        /// The worker it was taken from.
        from: String,
    },
    /// This worker created the lease for a new shard.
    Created {
        /// The lease.
        key: LeaseKey,
    },
    /// This worker deleted the lease of a finished shard whose children have all started (the
    /// KCL's lease cleanup).
    Deleted {
        /// The lease.
        key: LeaseKey,
    },
    /// A lease owner appeared in the table (between two scans).
    WorkerJoined {
        /// The worker id.
        id: String,
    },
    /// A lease owner disappeared from the table (between two scans).
    WorkerLeft {
        /// The worker id.
        id: String,
    },
    /// A row of the lease table could not be read as a lease (an attribute is missing or of the
    /// wrong type), seen for the first time: its shard is not processed until the row is
    /// repaired (see the operations guide). Reported once per row and problem; the
    /// `CorruptLeaseRows` metric counts the rows at every scan.
    CorruptRow {
        /// The row's lease key, when it has one.
        key: Option<String>,
        /// The attribute at fault.
        attribute: &'static str,
        /// What is wrong with it.
        error: String,
    },
    /// KCL 3.x: the leader asked this worker to hand the lease over; the consumer finishes the
    /// shard with a last checkpoint (status [`LeaseStatus::HandedOver`]).
    HandoffRequested {
        /// The lease.
        key: LeaseKey,
        /// The new owner.
        to: String,
    },
    /// KCL 3.x: this worker handed the lease over (after its last checkpoint, or when the
    /// hand-over timed out).
    HandedOver {
        /// The lease.
        key: LeaseKey,
    },
    /// KCL 3.x: this worker became the leader.
    BecameLeader,
    /// KCL 3.x: this worker is no longer the leader.
    LeadershipLost,
    /// KCL 3.x: as the leader, this worker assigned a lease.
    Assigned {
        /// The lease.
        key: LeaseKey,
        /// Its new owner.
        to: String,
        /// Whether by graceful hand-over (else at once: the lease was expired or unassigned).
        graceful: bool,
    },
}

/// The status of a lease this worker acquired.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LeaseStatus {
    /// Held: process the shard.
    Held,
    /// The coordinator is shutting down: stop processing, then call
    /// [`Checkpointer::checkpoint_and_release`] (within the
    /// [`release_timeout`](super::CoordinatorSettings::release_timeout)).
    ShuttingDown,
    /// Lost to another worker (or expired): stop processing, do not checkpoint.
    Lost,
    /// Released by this worker.
    Released,
    /// The shard was finished and its lease deleted by the cleanup.
    Deleted,
    /// KCL 3.x: the leader moved the lease to another worker. Stop processing, then call
    /// [`Checkpointer::checkpoint_and_release`] (within the
    /// [`handoff_timeout`](crate::Kcl3Settings::handoff_timeout)): that last checkpoint hands
    /// the lease over, and the new owner starts from it.
    HandedOver,
}

/// Counts the bytes the consumer processed from one lease, so that under the KCL 3.x rules
/// its renewals report the lease's throughput (`throughputKBps`), which the leader balances on.
/// Cheap to clone.
///
/// ```
/// use kinesis_lease::coordinator::LeaseThroughput;
///
/// let t = LeaseThroughput::default();
/// t.record(1024);
/// t.record(1024);
/// assert_eq!(t.take(), 2048);
/// assert_eq!(t.take(), 0);
/// ```
#[derive(Clone, Debug, Default)]
pub struct LeaseThroughput {
    bytes: Arc<std::sync::atomic::AtomicU64>,
}

impl LeaseThroughput {
    /// Adds `bytes` processed.
    pub fn record(&self, bytes: u64) {
        self.bytes
            .fetch_add(bytes, std::sync::atomic::Ordering::Relaxed);
    }

    /// The bytes recorded since the previous call.
    pub fn take(&self) -> u64 {
        self.bytes.swap(0, std::sync::atomic::Ordering::Relaxed)
    }
}

/// A watch on one acquired lease's [`LeaseStatus`]: resolves when the lease stops being simply
/// held. Cheap to clone.
///
/// ```
/// use kinesis_lease::coordinator::{LeaseSignal, LeaseStatus};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let (tx, signal) = LeaseSignal::channel();
/// assert_eq!(signal.status(), LeaseStatus::Held);
/// tx.send_replace(LeaseStatus::Lost);
/// assert_eq!(signal.clone().ended().await, LeaseStatus::Lost);
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct LeaseSignal {
    rx: watch::Receiver<LeaseStatus>,
}

impl LeaseSignal {
    /// A sender and its signal, starting at [`LeaseStatus::Held`] (for tests of consumers).
    pub fn channel() -> (watch::Sender<LeaseStatus>, LeaseSignal) {
        let (tx, rx) = watch::channel(LeaseStatus::Held);
        (tx, LeaseSignal { rx })
    }

    /// The current status.
    pub fn status(&self) -> LeaseStatus {
        *self.rx.borrow()
    }

    /// Whether the lease is no longer simply held.
    pub fn is_ended(&self) -> bool {
        self.status() != LeaseStatus::Held
    }

    /// Waits until the status is no longer [`LeaseStatus::Held`] and returns it. If the
    /// coordinator is gone without saying, returns [`LeaseStatus::Lost`].
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: it only reads the status.
    pub async fn ended(&mut self) -> LeaseStatus {
        match self.rx.wait_for(|s| *s != LeaseStatus::Held).await {
            Ok(s) => *s,
            Err(_) => LeaseStatus::Lost,
        }
    }
}

/// A lease this worker acquired: start processing its shard from `checkpoint`.
#[non_exhaustive]
#[derive(Debug)]
pub struct AcquiredLease {
    /// The lease (shard).
    pub lease_key: LeaseKey,
    /// The shard's hash key range, when the lease row records it (the consumer drops
    /// aggregated user records outside it, as the KCL does).
    pub hash_key_range: Option<HashKeyRange>,
    /// Its checkpoint when acquired: where processing resumes.
    pub checkpoint: Checkpoint,
    /// Resolves when the lease is lost, released, or the coordinator shuts down.
    pub signal: LeaseSignal,
    /// The lease's checkpointer, writing through the coordinator.
    pub checkpointer: Checkpointer,
    /// Where the consumer counts the bytes it processed from the lease.
    pub throughput: LeaseThroughput,
}

/// The stream of [`AcquiredLease`]s of a coordinator
/// ([`LeaseCoordinator::acquisitions`](super::LeaseCoordinator::acquisitions)).
///
/// Bounded ([`acquisition_capacity`](super::CoordinatorSettings::acquisition_capacity)): when
/// the consumer does not keep up, the coordinator's take pass waits (renewals go on). Ends when
/// the coordinator shut down or was dropped.
#[derive(Debug)]
pub struct Acquisitions {
    pub(super) rx: mpsc::Receiver<AcquiredLease>,
}

impl Acquisitions {
    /// The next acquired lease; `None` once the coordinator is gone.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe (as [`mpsc::Receiver::recv`]).
    pub async fn recv(&mut self) -> Option<AcquiredLease> {
        self.rx.recv().await
    }

    /// The next acquired lease if one is waiting.
    pub fn try_recv(&mut self) -> Option<AcquiredLease> {
        self.rx.try_recv().ok()
    }
}

impl futures_util::Stream for Acquisitions {
    type Item = AcquiredLease;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<AcquiredLease>> {
        self.rx.poll_recv(cx)
    }
}
