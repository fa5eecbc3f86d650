//! [`Handover`]: released leases announced to the other workers of a lease table, so that they
//! take them at once instead of at their next take tick.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Mutex, OnceLock, PoisonError};

use kinesis_kcl_compat::lease::LeaseKey;
use tokio::sync::broadcast;

/// How many announcements a slow listener may fall behind before it only learns that it missed
/// some (it then takes anyway).
const CAPACITY: usize = 1024;

/// One released lease, as announced on a [`Handover`].
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Released {
    /// The lease released (its owner is cleared in the table).
    pub lease_key: LeaseKey,
    /// The worker that released it.
    pub worker_id: String,
}

impl Released {
    /// An announcement that `worker_id` released `lease_key`.
    pub fn new(lease_key: LeaseKey, worker_id: impl Into<String>) -> Self {
        Self {
            lease_key,
            worker_id: worker_id.into(),
        }
    }
}

/// A channel on which the coordinators of one lease table announce the leases they release
/// (on shutdown, or when the strategy gives one up), so that the others run a take pass at
/// once: a released lease changes hands in milliseconds instead of up to one take interval
/// (20 s by default), and steady state costs nothing (no extra DynamoDB reads; one scan per
/// announcement burst).
///
/// A `Handover` reaches the coordinators of one process. [`Handover::for_table`] gives every
/// caller in the process the same channel for a table name, which is what the consumer uses.
/// To reach workers in other processes, bridge it: forward what
/// [`subscribe`](Self::subscribe) yields to your own bus and [`announce`](Self::announce) what
/// arrives from it. Workers that hear nothing (Java KCL workers, unbridged processes) still take
/// released leases at their next take tick.
///
/// A cheap-clone handle.
///
/// ```
/// use kinesis_lease::coordinator::{Handover, Released};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let handover = Handover::for_table("my-application");
/// let mut heard = Handover::for_table("my-application").subscribe();
/// handover.announce(Released::new("shardId-000000000001".parse().unwrap(), "worker-1"));
/// let released = heard.recv().await.unwrap();
/// assert_eq!(released.worker_id, "worker-1");
/// # }
/// ```
#[derive(Clone)]
pub struct Handover {
    tx: broadcast::Sender<Released>,
}

impl fmt::Debug for Handover {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handover")
            .field("listeners", &self.tx.receiver_count())
            .finish()
    }
}

impl Default for Handover {
    fn default() -> Self {
        Self::new()
    }
}

impl Handover {
    /// A new channel of its own (share it by cloning).
    pub fn new() -> Self {
        let (tx, _) = broadcast::channel(CAPACITY);
        Self { tx }
    }

    /// The process-wide channel of the lease table `table`: every call with the same name
    /// returns a handle to the same channel.
    pub fn for_table(table: &str) -> Self {
        static TABLES: OnceLock<Mutex<HashMap<String, Handover>>> = OnceLock::new();
        let mut tables = TABLES
            .get_or_init(Mutex::default)
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        tables.entry(table.to_owned()).or_default().clone()
    }

    /// Announces a released lease to every subscriber. Never blocks; without subscribers it
    /// does nothing.
    pub fn announce(&self, released: Released) {
        // An error only means nobody listens.
        let _ = self.tx.send(released);
    }

    /// Listens to announcements made from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Released> {
        self.tx.subscribe()
    }

    /// Whether two handles are the same channel.
    pub fn same_channel(&self, other: &Handover) -> bool {
        self.tx.same_channel(&other.tx)
    }
}
