//! The checkpoint sink of one holding of one lease.

use super::kcl3::Conflict;
use super::*;

/// The sink of one holding of one lease: writes go through the coordinator while that holding
/// lasts.
pub(super) struct HeldSink {
    pub(super) shared: Arc<Shared>,
    pub(super) lease_key: LeaseKey,
    pub(super) generation: u64,
}

impl fmt::Debug for HeldSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LeaseCoordinatorSink")
            .field("worker_id", &self.shared.worker_id)
            .field("lease_key", &self.lease_key)
            .field("generation", &self.generation)
            .finish()
    }
}

impl HeldSink {
    fn not_held(&self) -> LeaseError {
        LeaseError::new(
            LeaseErrorKind::LeaseLost,
            Some(&self.lease_key),
            "this worker no longer holds the lease",
        )
    }

    fn check_key(&self, key: &LeaseKey) -> Result<(), LeaseError> {
        if *key == self.lease_key {
            Ok(())
        } else {
            Err(LeaseError::new(
                LeaseErrorKind::NotFound,
                Some(key),
                "this checkpointer writes another lease",
            ))
        }
    }
}

impl HeldSink {
    /// Takes this holding's write lock (so no renewal runs meanwhile) and returns the lease as
    /// held, or a lost-lease error when this holding has ended.
    async fn lock_held(
        &self,
        lease_key: &LeaseKey,
    ) -> Result<(tokio::sync::OwnedMutexGuard<()>, Lease), LeaseError> {
        self.check_key(lease_key)?;
        let (_, write_lock) = self
            .shared
            .held_lock(lease_key, Some(self.generation))
            .ok_or_else(|| self.not_held())?;
        let guard = write_lock.lock_owned().await;
        let lease = self
            .shared
            .held_lease(lease_key, self.generation)
            .ok_or_else(|| self.not_held())?;
        Ok((guard, lease))
    }

    /// Ends this holding when a write found the lease changed.
    fn on_error(&self, lease_key: &LeaseKey, e: LeaseError) -> LeaseError {
        if e.is_lease_lost() {
            self.shared
                .end_held(lease_key, self.generation, LeaseStatus::Lost);
        }
        e
    }
}

impl CheckpointSink for HeldSink {
    fn write<'a>(
        &'a self,
        lease_key: &'a LeaseKey,
        update: CheckpointUpdate,
    ) -> BoxFuture<'a, Result<WrittenCheckpoint, LeaseError>> {
        Box::pin(async move {
            let (_serialised, lease) = self.lock_held(lease_key).await?;
            let mut update = update;
            // A finished lease is kept (and renewed) until its cleanup, as the KCL keeps it:
            // released, a KCL worker would take it and count it toward its share.
            if update.checkpoint.is_shard_end() {
                update.release = false;
            }
            let release = update.release;
            let at_shard_end = update.checkpoint.is_shard_end();
            let started = Instant::now();
            let mut handing_over = self.shared.handing_over(lease_key, self.generation);
            if handing_over {
                // The new owner is in the row already: the hand-over's own write ends it.
                update.release = false;
            }
            let mut written = self
                .shared
                .repository
                .update_checkpoint(&lease, update.clone())
                .await;
            if let Err(e) = &written
                && e.is_lease_lost()
            {
                // A KCL 3.x leader may have moved the lease (the checkpoint is then written to
                // the row as it is now, with the new owner in it, and the hand-over goes on),
                // or an earlier attempt of this write succeeded (the row is adopted).
                match self
                    .shared
                    .resolve_conflict(lease_key, self.generation)
                    .await
                {
                    Conflict::Lost => {}
                    outcome => {
                        if outcome == Conflict::HandOver {
                            handing_over = true;
                            update.release = false;
                        }
                        if let Some(lease) = self.shared.held_lease(lease_key, self.generation) {
                            written = self
                                .shared
                                .repository
                                .update_checkpoint(&lease, update)
                                .await;
                        }
                    }
                }
            }
            // `UpdateLease` of the shard's task: the KCL writes `SHARD_END` in its
            // `ShutdownTask`, every other checkpoint (a graceful shutdown's last one too, made in
            // `shutdownRequested`) in its `ProcessTask`.
            metrics::checkpoint_write(
                &self.shared.telemetry,
                lease_key.shard_id().as_str(),
                at_shard_end,
                started,
                written.is_ok(),
            );
            let stored = match written {
                Ok(stored) => stored,
                Err(e) => {
                    let e = self.on_error(lease_key, e);
                    self.shared.emit(LeaseEvent::CheckpointFailed {
                        key: lease_key.clone(),
                        kind: e.kind(),
                        message: e.to_string(),
                    });
                    return Err(e);
                }
            };
            self.shared.wrote(&stored, self.generation, false);
            self.shared.emit(LeaseEvent::Checkpointed {
                key: lease_key.clone(),
                checkpoint: stored.checkpoint.clone(),
            });
            if release && handing_over {
                self.shared
                    .complete_handoff_locked(lease_key, self.generation, &stored)
                    .await;
            } else if release {
                self.shared
                    .end_held(lease_key, self.generation, LeaseStatus::Released);
                self.shared.announce_release(lease_key);
            }
            Ok(WrittenCheckpoint::from(&stored))
        })
    }

    fn release<'a>(&'a self, lease_key: &'a LeaseKey) -> BoxFuture<'a, Result<(), LeaseError>> {
        Box::pin(async move {
            let (_serialised, lease) = self.lock_held(lease_key).await?;
            if self.shared.handing_over(lease_key, self.generation) {
                self.shared
                    .complete_handoff_locked(lease_key, self.generation, &lease)
                    .await;
                return Ok(());
            }
            let stored = match self.shared.repository.release_lease(&lease).await {
                Ok(stored) => stored,
                Err(e)
                    if e.is_lease_lost()
                        && self
                            .shared
                            .resolve_conflict(lease_key, self.generation)
                            .await
                            == Conflict::HandOver =>
                {
                    // Moved by the leader meanwhile: end the hand-over instead.
                    if let Some(lease) = self.shared.held_lease(lease_key, self.generation) {
                        self.shared
                            .complete_handoff_locked(lease_key, self.generation, &lease)
                            .await;
                    }
                    return Ok(());
                }
                Err(e) => return Err(self.on_error(lease_key, e)),
            };
            Shared::note_written(&mut self.shared.state(), &stored, Instant::now());
            self.shared
                .end_held(lease_key, self.generation, LeaseStatus::Released);
            self.shared.announce_release(lease_key);
            Ok(())
        })
    }
}
