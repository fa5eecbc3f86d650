//! A snapshot of what a coordinator holds and how recently its loops worked, for health and
//! readiness checks ([`LeaseCoordinator::health`]).

use kinesis_kcl_compat::sequence::Checkpoint;

use super::*;

/// What a coordinator holds and when its loops last worked; see [`LeaseCoordinator::health`].
///
/// The durations are ages, measured on the worker's monotonic clock when the snapshot was
/// taken.
///
/// ```
/// use std::sync::Arc;
/// use kinesis_lease::coordinator::{HealthProblem, LeaseCoordinator};
/// use kinesis_lease::InMemoryLeaseRepository;
///
/// let coordinator = LeaseCoordinator::builder(Arc::new(InMemoryLeaseRepository::new()), "w-1").build();
/// let health = coordinator.health();
/// assert!(!health.is_ready());
/// assert_eq!(health.problems(), vec![HealthProblem::NotStarted]);
/// ```
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq)]
pub struct CoordinatorHealth {
    /// This worker's id.
    pub worker_id: String,
    /// Whether [`start`](LeaseCoordinator::start) was called.
    pub started: bool,
    /// Whether [`shutdown`](LeaseCoordinator::shutdown) was called.
    pub shutting_down: bool,
    /// The leases this worker holds, sorted by key.
    pub leases: Vec<LeaseHealth>,
    /// Time since the last renew pass started (`None` before the first).
    pub since_renew_pass: Option<Duration>,
    /// Time since the lease table was last read successfully (`None` before the first read).
    pub since_table_read: Option<Duration>,
    /// Leases in the table at its last read.
    pub leases_in_table: usize,
    /// Workers owning leases at the table's last read, this one included.
    pub workers: usize,
    /// The rows of the lease table that could not be read at its last read, each with the
    /// attribute at fault; their shards are not processed until they are repaired.
    pub corrupt_rows: Vec<String>,
    /// The failover time the bounds below are measured against.
    pub failover_time: Duration,
    /// The take interval (a table read is due this often).
    pub take_interval: Duration,
}

/// One held lease in a [`CoordinatorHealth`].
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq)]
pub struct LeaseHealth {
    /// The lease (its shard).
    pub lease_key: LeaseKey,
    /// The checkpoint as this worker last wrote or read it.
    pub checkpoint: Checkpoint,
    /// Time since the last successful write of the lease (renewal, checkpoint or take).
    pub since_renewal: Duration,
    /// Whether the consumer reads it; `false` while it waits for its parent shards to finish.
    pub reading: bool,
    /// Whether a KCL 3.x leader asked this worker to hand it over.
    pub handing_over: bool,
}

/// Something a [`CoordinatorHealth`] found wrong.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HealthProblem {
    /// The coordinator was not started.
    NotStarted,
    /// The coordinator is shutting down.
    ShuttingDown,
    /// The renew loop has not run for longer than the failover time: other workers will take
    /// this worker's leases (the runtime is blocked or starved).
    RenewLoopStalled {
        /// Time since the last renew pass.
        since: Duration,
    },
    /// The lease table was not read for longer than the take interval plus the failover time
    /// (or never since the start): DynamoDB is unreachable or refuses the worker.
    TableUnread {
        /// Time since the last successful read; `None`: never.
        since: Option<Duration>,
    },
    /// A held lease was not written successfully for more than half the failover time: it
    /// is about to expire for the other workers.
    LeaseNotRenewed {
        /// The lease.
        lease_key: LeaseKey,
        /// Time since its last successful write.
        since: Duration,
    },
    /// Rows of the lease table cannot be read; their shards are not processed.
    CorruptRows {
        /// The rows, each with the attribute at fault.
        rows: Vec<String>,
    },
}

impl fmt::Display for HealthProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotStarted => f.write_str("the lease coordinator has not started"),
            Self::ShuttingDown => f.write_str("the lease coordinator is shutting down"),
            Self::RenewLoopStalled { since } => write!(
                f,
                "no lease renewal pass for {since:?}, longer than the failover time: the runtime is blocked or starved"
            ),
            Self::TableUnread { since: None } => {
                f.write_str("the lease table has not been read since the start")
            }
            Self::TableUnread { since: Some(since) } => {
                write!(f, "the lease table was last read {since:?} ago")
            }
            Self::LeaseNotRenewed { lease_key, since } => {
                write!(f, "lease {lease_key} was last renewed {since:?} ago")
            }
            Self::CorruptRows { rows } => {
                write!(
                    f,
                    "{} unreadable lease row(s): {}",
                    rows.len(),
                    rows.join("; ")
                )
            }
        }
    }
}

impl CoordinatorHealth {
    /// Ready to process: started, not shutting down, and the lease table was read once.
    /// (A worker holding no lease is ready: its peers may hold them all.)
    pub fn is_ready(&self) -> bool {
        self.started && !self.shutting_down && self.since_table_read.is_some()
    }

    /// What is wrong, most serious first; empty when all is well.
    pub fn problems(&self) -> Vec<HealthProblem> {
        let mut problems = Vec::new();
        if !self.started {
            problems.push(HealthProblem::NotStarted);
            return problems;
        }
        if self.shutting_down {
            problems.push(HealthProblem::ShuttingDown);
        }
        if let Some(since) = self.since_renew_pass.filter(|s| *s > self.failover_time) {
            problems.push(HealthProblem::RenewLoopStalled { since });
        }
        let table_bound = self.take_interval + self.failover_time;
        if self.since_table_read.is_none_or(|s| s > table_bound) {
            problems.push(HealthProblem::TableUnread {
                since: self.since_table_read,
            });
        }
        for lease in &self.leases {
            if lease.since_renewal > self.failover_time / 2 {
                problems.push(HealthProblem::LeaseNotRenewed {
                    lease_key: lease.lease_key.clone(),
                    since: lease.since_renewal,
                });
            }
        }
        if !self.corrupt_rows.is_empty() {
            problems.push(HealthProblem::CorruptRows {
                rows: self.corrupt_rows.clone(),
            });
        }
        problems
    }
}

impl LeaseCoordinator {
    /// A snapshot of the leases this worker holds and of how recently its loops worked, for
    /// a health or readiness endpoint: see [`CoordinatorHealth::is_ready`] and
    /// [`CoordinatorHealth::problems`]. Cheap: it reads the coordinator's state under its lock
    /// and makes no call.
    pub fn health(&self) -> CoordinatorHealth {
        let shared = &self.handle.shared;
        let now = Instant::now();
        let st = shared.state();
        let mut leases: Vec<LeaseHealth> = st
            .held
            .values()
            .map(|h| LeaseHealth {
                lease_key: h.lease.lease_key.clone(),
                checkpoint: h.lease.checkpoint.clone(),
                since_renewal: now.saturating_duration_since(h.last_success),
                reading: h.delivered,
                handing_over: h.handing_over,
            })
            .collect();
        leases.sort_by(|a, b| a.lease_key.cmp(&b.lease_key));
        CoordinatorHealth {
            worker_id: shared.worker_id.clone(),
            started: self.handle.started.load(Ordering::SeqCst),
            shutting_down: st.stopping,
            leases,
            since_renew_pass: st.last_renew_pass.map(|t| now.saturating_duration_since(t)),
            since_table_read: st.last_table_read.map(|t| now.saturating_duration_since(t)),
            leases_in_table: st.seen.len(),
            workers: st.owners.iter().filter(|o| **o != shared.worker_id).count() + 1,
            corrupt_rows: st.corrupt.iter().cloned().collect(),
            failover_time: shared.settings.failover_time(),
            take_interval: shared.settings.take_interval(),
        }
    }
}
