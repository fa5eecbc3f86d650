//! Health and readiness: a snapshot of what a worker holds, how far behind each shard is, and
//! when its loops last worked ([`Consumer::health`](crate::Consumer::health)).
//!
//! Shard tasks keep their progress on a [`ShardBoard`] shared with the consumer; a snapshot
//! reads it and the lease coordinator's state under their locks and makes no call, so an HTTP
//! health endpoint may take one per request.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use kinesis_client::{ShardId, StreamId};
use kinesis_lease::coordinator::{CoordinatorHealth, HealthProblem};
use tokio::time::Instant;

/// How long a shard task may go without an answer from Kinesis, while not waiting on the
/// application, before [`ConsumerHealth::problems`] reports it (retries of a failing call
/// are logged at WARN meanwhile).
pub const FETCH_STALL: Duration = Duration::from_secs(60);

/// A worker's health; see [`Consumer::health`](crate::Consumer::health).
///
/// ```no_run
/// # async fn run(consumer: kinesis_consumer::Consumer<bytes::Bytes>) {
/// // In a readiness or liveness endpoint:
/// let health = consumer.health();
/// if !health.is_ready() {
///     // 503: not started yet, shutting down, or the lease table was never read.
/// }
/// for problem in health.problems() {
///     tracing::warn!(%problem, "consumer unhealthy");
/// }
/// let lag = health.max_millis_behind_latest(); // also in CloudWatch as MillisBehindLatest
/// # let _ = lag; }
/// ```
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq)]
pub struct ConsumerHealth {
    /// The stream.
    pub stream: StreamId,
    /// The application (the lease table's name).
    pub application_name: String,
    /// The leases: what this worker holds, and when it last renewed them and read the table.
    pub leases: CoordinatorHealth,
    /// The shards this worker reads now, sorted by id.
    pub shards: Vec<ShardHealth>,
}

/// One shard being read, in a [`ConsumerHealth`].
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq)]
pub struct ShardHealth {
    /// The shard.
    pub shard_id: ShardId,
    /// How far behind the tip of the shard the last answer was (`None` before the first,
    /// or when the backend did not say).
    pub millis_behind_latest: Option<i64>,
    /// Time since the last answer from Kinesis (`None`: none yet).
    pub since_last_answer: Option<Duration>,
    /// Time since the application last accepted records of this shard (`None`: none yet).
    pub since_last_delivery: Option<Duration>,
    /// How long the shard task has been waiting for the application to take its next batch
    /// (`None`: it is not waiting): a slow or stuck handler, or a stream nobody reads.
    pub waiting_on_application: Option<Duration>,
    /// Records handed to the application since this worker took the lease.
    pub records_delivered: u64,
    /// Time since this worker started reading the shard.
    pub reading_for: Duration,
}

/// Something a [`ConsumerHealth`] found wrong.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConsumerProblem {
    /// A problem of the lease coordination.
    Leases(HealthProblem),
    /// A shard task had no answer from Kinesis for longer than [`FETCH_STALL`] while not
    /// waiting on the application.
    ShardNotFetching {
        /// The shard.
        shard_id: ShardId,
        /// Time since its last answer, or since it started when it never had one.
        since: Duration,
    },
}

impl fmt::Display for ConsumerProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Leases(p) => p.fmt(f),
            Self::ShardNotFetching { shard_id, since } => write!(
                f,
                "shard {shard_id} has had no answer from Kinesis for {since:?}"
            ),
        }
    }
}

impl ConsumerHealth {
    /// Ready to process: the worker started, is not shutting down, and read the lease table
    /// (holding no lease is ready: other workers may hold them all).
    pub fn is_ready(&self) -> bool {
        self.leases.is_ready()
    }

    /// What is wrong, lease problems first; empty when all is well.
    pub fn problems(&self) -> Vec<ConsumerProblem> {
        let mut problems: Vec<ConsumerProblem> = self
            .leases
            .problems()
            .into_iter()
            .map(ConsumerProblem::Leases)
            .collect();
        for shard in &self.shards {
            if shard.waiting_on_application.is_some() {
                continue;
            }
            let since = shard.since_last_answer.unwrap_or(shard.reading_for);
            if since > FETCH_STALL {
                problems.push(ConsumerProblem::ShardNotFetching {
                    shard_id: shard.shard_id.clone(),
                    since,
                });
            }
        }
        problems
    }

    /// The largest `MillisBehindLatest` of the shards read now (`None` when none reported
    /// one).
    pub fn max_millis_behind_latest(&self) -> Option<i64> {
        self.shards
            .iter()
            .filter_map(|s| s.millis_behind_latest)
            .max()
    }
}

// === The board the shard tasks write ===

#[derive(Debug, Clone)]
struct Progress {
    /// Tells this task's entry from a later task's of the same shard.
    task: u64,
    started: Instant,
    millis_behind_latest: Option<i64>,
    last_answer: Option<Instant>,
    last_delivery: Option<Instant>,
    waiting_since: Option<Instant>,
    records_delivered: u64,
}

/// The progress of every shard task of one worker.
#[derive(Debug, Clone, Default)]
pub(crate) struct ShardBoard {
    shards: Arc<Mutex<BTreeMap<ShardId, Progress>>>,
    tasks: Arc<AtomicU64>,
}

impl ShardBoard {
    fn lock(&self) -> MutexGuard<'_, BTreeMap<ShardId, Progress>> {
        self.shards.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Registers a shard task; its entry goes when the returned handle is dropped.
    pub(crate) fn register(&self, shard_id: &ShardId) -> ShardProgress {
        let task = self.tasks.fetch_add(1, Ordering::Relaxed);
        self.lock().insert(
            shard_id.clone(),
            Progress {
                task,
                started: Instant::now(),
                millis_behind_latest: None,
                last_answer: None,
                last_delivery: None,
                waiting_since: None,
                records_delivered: 0,
            },
        );
        ShardProgress {
            board: self.clone(),
            shard_id: shard_id.clone(),
            task,
        }
    }

    /// The shards, as of now.
    pub(crate) fn snapshot(&self) -> Vec<ShardHealth> {
        let now = Instant::now();
        let since = |t: Instant| now.saturating_duration_since(t);
        self.lock()
            .iter()
            .map(|(shard_id, p)| ShardHealth {
                shard_id: shard_id.clone(),
                millis_behind_latest: p.millis_behind_latest,
                since_last_answer: p.last_answer.map(since),
                since_last_delivery: p.last_delivery.map(since),
                waiting_on_application: p.waiting_since.map(since),
                records_delivered: p.records_delivered,
                reading_for: since(p.started),
            })
            .collect()
    }
}

/// One shard task's entry on the board.
#[derive(Debug)]
pub(crate) struct ShardProgress {
    board: ShardBoard,
    shard_id: ShardId,
    task: u64,
}

impl ShardProgress {
    fn update(&self, f: impl FnOnce(&mut Progress)) {
        if let Some(p) = self.board.lock().get_mut(&self.shard_id)
            && p.task == self.task
        {
            f(p);
        }
    }

    /// An answer from Kinesis (records or none).
    pub(crate) fn answered(&self, millis_behind_latest: Option<i64>) {
        self.update(|p| {
            p.last_answer = Some(Instant::now());
            if millis_behind_latest.is_some() {
                p.millis_behind_latest = millis_behind_latest;
            }
        });
    }

    /// The task starts waiting for the application to take a batch.
    pub(crate) fn waiting_on_application(&self) {
        self.update(|p| p.waiting_since = Some(Instant::now()));
    }

    /// The application took `records` records (or the wait ended without it).
    pub(crate) fn delivered(&self, records: usize) {
        self.update(|p| {
            p.waiting_since = None;
            if records > 0 {
                p.last_delivery = Some(Instant::now());
                p.records_delivered += records as u64;
            }
        });
    }
}

impl Drop for ShardProgress {
    fn drop(&mut self) {
        let mut shards = self.board.lock();
        if shards
            .get(&self.shard_id)
            .is_some_and(|p| p.task == self.task)
        {
            shards.remove(&self.shard_id);
        }
    }
}
