//! The producer's buffer as the engine sees it, and the space one record holds in it.

use std::sync::Arc;

use tokio::sync::Semaphore;

/// Buffer space held by an accepted record (one record, and `bytes`) until it is answered:
/// taken from the buffer's semaphores by the producer, given back by the engine, in bulk.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BufferPermit {
    pub(crate) bytes: u32,
}

/// The producer's buffer as the engine sees it: how much of it is free.
#[derive(Debug, Clone)]
pub(crate) struct Buffer {
    pub(crate) records: Arc<Semaphore>,
    pub(crate) bytes: Arc<Semaphore>,
    pub(super) records_capacity: usize,
    pub(super) bytes_capacity: usize,
}

impl Buffer {
    pub(crate) fn new(records: usize, bytes: usize) -> Self {
        Self {
            records: Arc::new(Semaphore::new(records)),
            bytes: Arc::new(Semaphore::new(bytes)),
            records_capacity: records,
            bytes_capacity: bytes,
        }
    }

    /// Gives back the space of `records` answered records holding `bytes`.
    pub(crate) fn release(&self, records: usize, bytes: usize) {
        if records > 0 {
            self.records.add_permits(records);
            self.bytes.add_permits(bytes);
        }
    }

    /// At most an eighth of the buffer is free: senders wait (or soon will), and no record
    /// can join what lingers, so lingering would only slow them down.
    pub(super) fn nearly_full(&self) -> bool {
        self.records.available_permits().saturating_mul(8) <= self.records_capacity
            || self.bytes.available_permits().saturating_mul(8) <= self.bytes_capacity
    }
}
