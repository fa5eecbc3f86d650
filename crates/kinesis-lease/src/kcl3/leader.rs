//! Leader election with the lock row the KCL 3.x uses (`DynamoDBLockBasedLeaderDecider` on the
//! DynamoDB Lock Client 1.4), so that Rust and Java workers elect one leader between them.
//!
//! - A free lock (no row, or a released one) is taken with a conditional put.
//! - A held lock is taken over only when its `recordVersionNumber` has not changed for longer
//!   than its `leaseDuration`, measured on this worker's clock from when it first saw that
//!   version: the holder is then dead (or cut off).
//! - The holder replaces the version number every heartbeat, conditional on the version it
//!   wrote last and its name; a failed condition means another worker took over, and a holder
//!   that could not heartbeat for the lease duration considers its leadership expired.
//! - [`release`](LeaderElection::release) deletes the row (conditional), so another worker
//!   takes over at its next check rather than after the lease duration.

use std::time::Duration;

use kinesis_kcl_compat::fleet::{LEADER_KEY, LeaderLock, OWNER_NAME, RECORD_VERSION_NUMBER};
use tokio::time::Instant;

use crate::error::{LeaseError, LeaseErrorKind};
use crate::repository::{Kcl3Repository, RowCondition};

/// One worker's side of the election.
#[derive(Debug)]
pub struct LeaderElection {
    worker_id: String,
    lease_duration: Duration,
    held: Option<Held>,
    /// Another holder's version, and when this worker first saw it.
    observed: Option<(String, Instant)>,
}

#[derive(Debug)]
struct Held {
    version: String,
    last_success: Instant,
}

impl LeaderElection {
    /// The election of `worker_id`, writing locks of `lease_duration`.
    pub fn new(worker_id: impl Into<String>, lease_duration: Duration) -> Self {
        Self {
            worker_id: worker_id.into(),
            lease_duration,
            held: None,
            observed: None,
        }
    }

    /// Whether this worker holds the lock, as of its last successful write (without a call).
    pub fn is_leader(&self) -> bool {
        self.held
            .as_ref()
            .is_some_and(|h| h.last_success.elapsed() <= self.lease_duration)
    }

    fn fresh_lock(&self) -> LeaderLock {
        let version = format!("{:032x}", rand::random::<u128>());
        LeaderLock::new(
            self.worker_id.clone(),
            u64::try_from(self.lease_duration.as_millis()).unwrap_or(u64::MAX),
            version,
        )
    }

    /// Checks the lock: keeps it if held (with a heartbeat), takes it when free or expired.
    /// Returns whether this worker is the leader now.
    ///
    /// # Errors
    ///
    /// A storage error, or a lock row that cannot be read (reported; this worker is then not
    /// the leader).
    pub async fn check(&mut self, repository: &dyn Kcl3Repository) -> Result<bool, LeaseError> {
        if self.held.is_some() {
            self.heartbeat(repository).await?;
            if self.is_leader() {
                return Ok(true);
            }
        }
        let current = match repository.get_row(LEADER_KEY).await? {
            None => None,
            Some(item) => Some(LeaderLock::from_item(&item).map_err(|e| {
                LeaseError::new(
                    LeaseErrorKind::CorruptRow,
                    None,
                    format!("the leader lock cannot be read: {e}"),
                )
                .with_source(e)
            })?),
        };
        let condition = match &current {
            None => RowCondition::Absent,
            Some(lock) if lock.released => RowCondition::Equals(vec![(
                kinesis_kcl_compat::fleet::IS_RELEASED,
                "1".to_owned(),
            )]),
            Some(lock) if lock.owner_name == self.worker_id => {
                // Written by this worker before a restart: take it back at once.
                RowCondition::Equals(vec![(
                    RECORD_VERSION_NUMBER,
                    lock.record_version_number.clone(),
                )])
            }
            Some(lock) => {
                let now = Instant::now();
                let expired = match &self.observed {
                    Some((version, since)) if *version == lock.record_version_number => {
                        now.duration_since(*since) > Duration::from_millis(lock.lease_duration_ms)
                    }
                    _ => {
                        self.observed = Some((lock.record_version_number.clone(), now));
                        false
                    }
                };
                if !expired {
                    return Ok(false);
                }
                tracing::info!(
                    worker_id = %self.worker_id,
                    previous = %lock.owner_name,
                    "the leader lock expired: taking it over"
                );
                RowCondition::Equals(vec![(
                    RECORD_VERSION_NUMBER,
                    lock.record_version_number.clone(),
                )])
            }
        };
        let lock = self.fresh_lock();
        // The lock lasts from when the write was sent, not from when it was answered.
        let sent = Instant::now();
        match repository.put_row(lock.to_item(), condition).await {
            Ok(()) => {
                tracing::info!(worker_id = %self.worker_id, "became the leader");
                self.held = Some(Held {
                    version: lock.record_version_number,
                    last_success: sent,
                });
                self.observed = None;
                Ok(true)
            }
            Err(e) if e.kind() == LeaseErrorKind::ConditionFailed => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Renews a held lock. A failed condition (another worker took it) drops it; so does a
    /// lock not renewed for the lease duration.
    ///
    /// # Errors
    ///
    /// A storage error (the lock is kept until it expires).
    pub async fn heartbeat(&mut self, repository: &dyn Kcl3Repository) -> Result<(), LeaseError> {
        let Some(held) = &self.held else {
            return Ok(());
        };
        if held.last_success.elapsed() > self.lease_duration {
            tracing::warn!(worker_id = %self.worker_id, "leadership expired: no heartbeat succeeded for the lease duration");
            self.held = None;
            return Ok(());
        }
        let lock = self.fresh_lock();
        let condition = RowCondition::Equals(vec![
            (RECORD_VERSION_NUMBER, held.version.clone()),
            (OWNER_NAME, self.worker_id.clone()),
        ]);
        let sent = Instant::now();
        match repository.put_row(lock.to_item(), condition).await {
            Ok(()) => {
                self.held = Some(Held {
                    version: lock.record_version_number,
                    last_success: sent,
                });
                Ok(())
            }
            Err(e) if e.kind() == LeaseErrorKind::ConditionFailed => {
                tracing::warn!(worker_id = %self.worker_id, "lost the leader lock to another worker");
                self.held = None;
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// Gives the lock up (deletes the row if this worker still holds it).
    ///
    /// # Errors
    ///
    /// A storage error; the lock then expires after the lease duration.
    pub async fn release(&mut self, repository: &dyn Kcl3Repository) -> Result<(), LeaseError> {
        let Some(held) = self.held.take() else {
            return Ok(());
        };
        let condition = RowCondition::Equals(vec![
            (RECORD_VERSION_NUMBER, held.version),
            (OWNER_NAME, self.worker_id.clone()),
        ]);
        match repository.delete_row(LEADER_KEY, condition).await {
            Ok(()) => {
                tracing::info!(worker_id = %self.worker_id, "released the leader lock");
                Ok(())
            }
            Err(e) if e.kind() == LeaseErrorKind::ConditionFailed => Ok(()),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::LeaseRepository;
    use crate::repository::InMemoryLeaseRepository;

    #[tokio::test(start_paused = true)]
    async fn one_leader_and_a_takeover_after_the_lease_duration() {
        let repo = InMemoryLeaseRepository::new();
        repo.ensure_table().await.unwrap();
        let d = Duration::from_secs(10);
        let (mut a, mut b) = (LeaderElection::new("a", d), LeaderElection::new("b", d));
        assert!(a.check(&repo).await.unwrap());
        assert!(!b.check(&repo).await.unwrap());
        // a heartbeats: b never takes over.
        for _ in 0..5 {
            tokio::time::advance(Duration::from_secs(4)).await;
            assert!(a.check(&repo).await.unwrap());
            assert!(!b.check(&repo).await.unwrap());
        }
        // a stops: b takes over once the version is older than the lease duration.
        tokio::time::advance(Duration::from_secs(9)).await;
        assert!(!b.check(&repo).await.unwrap());
        tokio::time::advance(Duration::from_secs(2)).await;
        assert!(b.check(&repo).await.unwrap());
        // a wakes up: its heartbeat fails and it is not the leader.
        assert!(!a.check(&repo).await.unwrap());
        assert!(b.is_leader() && !a.is_leader());
    }

    #[tokio::test(start_paused = true)]
    async fn a_released_lock_is_taken_at_once() {
        let repo = InMemoryLeaseRepository::new();
        repo.ensure_table().await.unwrap();
        let d = Duration::from_secs(10);
        let (mut a, mut b) = (LeaderElection::new("a", d), LeaderElection::new("b", d));
        assert!(a.check(&repo).await.unwrap());
        a.release(&repo).await.unwrap();
        assert!(b.check(&repo).await.unwrap());
        let lock = LeaderLock::from_item(&repo.raw_item(LEADER_KEY).unwrap()).unwrap();
        assert_eq!(
            (lock.owner_name.as_str(), lock.lease_duration_ms),
            ("b", 10_000)
        );
    }
}
