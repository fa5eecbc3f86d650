//! A scripted [`CheckpointSink`] for the checkpointer tests, timed with `tokio::time`.

// Each test binary uses part of this module.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kinesis_kcl_compat::lease::LeaseKey;
use kinesis_kcl_compat::sequence::{Checkpoint, ExtendedSequenceNumber};
use kinesis_lease::checkpointer::{CheckpointSink, Checkpointer, WrittenCheckpoint};
use kinesis_lease::{BoxFuture, CheckpointUpdate, LeaseError, LeaseErrorKind};
use tokio::time::Instant;

/// What the next call to the sink does.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Outcome {
    Succeed,
    StorageError,
    LeaseLost,
}

#[derive(Debug, Default)]
struct State {
    counter: u64,
    script: VecDeque<Outcome>,
    delay: Duration,
    /// Successful writes.
    writes: Vec<CheckpointUpdate>,
    /// Every call (writes and releases), with its start time.
    attempts: Vec<Instant>,
    releases: usize,
}

#[derive(Debug, Default)]
pub(crate) struct FakeSink {
    state: Mutex<State>,
}

impl FakeSink {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// The next calls have these outcomes (then they succeed).
    pub(crate) fn script(&self, outcomes: impl IntoIterator<Item = Outcome>) {
        self.state.lock().unwrap().script.extend(outcomes);
    }

    /// Every call takes this long (virtual time).
    pub(crate) fn set_delay(&self, delay: Duration) {
        self.state.lock().unwrap().delay = delay;
    }

    pub(crate) fn writes(&self) -> Vec<CheckpointUpdate> {
        self.state.lock().unwrap().writes.clone()
    }

    pub(crate) fn checkpoints(&self) -> Vec<Checkpoint> {
        self.writes().into_iter().map(|w| w.checkpoint).collect()
    }

    pub(crate) fn attempts(&self) -> Vec<Instant> {
        self.state.lock().unwrap().attempts.clone()
    }

    pub(crate) fn releases(&self) -> usize {
        self.state.lock().unwrap().releases
    }

    fn call(&self, key: &LeaseKey) -> (Duration, Result<u64, LeaseError>) {
        let mut st = self.state.lock().unwrap();
        st.attempts.push(Instant::now());
        let outcome = st.script.pop_front().unwrap_or(Outcome::Succeed);
        let result = match outcome {
            Outcome::Succeed => {
                st.counter += 1;
                Ok(st.counter)
            }
            Outcome::StorageError => Err(LeaseError::new(
                LeaseErrorKind::Storage,
                Some(key),
                "injected storage failure",
            )),
            Outcome::LeaseLost => Err(LeaseError::lease_lost(key)),
        };
        (st.delay, result)
    }
}

impl CheckpointSink for FakeSink {
    fn write<'a>(
        &'a self,
        lease_key: &'a LeaseKey,
        update: CheckpointUpdate,
    ) -> BoxFuture<'a, Result<WrittenCheckpoint, LeaseError>> {
        Box::pin(async move {
            let (delay, result) = self.call(lease_key);
            tokio::time::sleep(delay).await;
            let counter = result?;
            let mut st = self.state.lock().unwrap();
            if update.release {
                st.releases += 1;
            }
            st.writes.push(update);
            Ok(WrittenCheckpoint::new(counter))
        })
    }

    fn release<'a>(&'a self, lease_key: &'a LeaseKey) -> BoxFuture<'a, Result<(), LeaseError>> {
        Box::pin(async move {
            let (delay, result) = self.call(lease_key);
            tokio::time::sleep(delay).await;
            result?;
            self.state.lock().unwrap().releases += 1;
            Ok(())
        })
    }
}

/// A plain record's position.
pub(crate) fn esn(n: u64) -> ExtendedSequenceNumber {
    ExtendedSequenceNumber::plain(n.to_string().parse().unwrap())
}

/// A plain record's position as a checkpoint.
pub(crate) fn seq(n: u64) -> Checkpoint {
    Checkpoint::Sequence(esn(n))
}

/// A checkpointer for `shardId-000000000001` writing to `sink`.
pub(crate) fn checkpointer(sink: &Arc<FakeSink>) -> Checkpointer {
    Checkpointer::builder("shardId-000000000001".parse().unwrap(), sink.clone()).build()
}
