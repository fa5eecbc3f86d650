//! A record the producer accepted, and the commands its handles send to the engine.

use bytes::Bytes;
use kinesis_client::{HashKey, PartitionKey, PutRecordsEntry};
use kinesis_kcl_compat::aggregation::UserRecord;
use tokio::sync::oneshot;
use tokio::time::Instant;

use crate::error::ProduceError;

use super::*;

/// One user record accepted by the producer.
#[derive(Debug)]
pub(crate) struct Accepted {
    pub(crate) data: Bytes,
    pub(crate) key: PartitionKey,
    /// The effective hash key: the explicit one, or the MD5 of the partition key.
    pub(crate) hash: HashKey,
    /// Whether `hash` is an explicit hash key (to send along).
    pub(crate) explicit: bool,
    pub(crate) accepted_at: Instant,
    pub(crate) attempts: u32,
    /// The engine's number for it (order of arrival), for flushes.
    pub(crate) id: u64,
    pub(crate) reply: Reply,
    /// Given back when the record is answered.
    pub(crate) permit: BufferPermit,
    /// Why an earlier attempt may have stored it, as a clause (an attempt got no answer, or
    /// stored it where KCL consumers skip it), if one did.
    pub(crate) maybe_stored: Option<String>,
}

impl Accepted {
    pub(super) fn explicit_hash_key(&self) -> Option<HashKey> {
        self.explicit.then_some(self.hash)
    }

    /// The record as the aggregate builder reads it.
    pub(super) fn user_record(&self) -> UserRecord<'_> {
        UserRecord::new(&self.data, &self.key)
            .with_optional_explicit_hash_key(self.explicit_hash_key())
    }

    pub(super) fn entry(&self) -> PutRecordsEntry {
        let entry = PutRecordsEntry::new(self.data.clone(), self.key.clone());
        match self.explicit_hash_key() {
            Some(k) => entry.with_explicit_hash_key(k),
            None => entry,
        }
    }

    pub(super) fn fail(self, error: ProduceError) {
        let error = match &self.maybe_stored {
            Some(cause) => error.outcome_unknown(cause),
            None => error,
        };
        let _ = self.reply.send(Err(error.with_record(
            self.data,
            self.key.as_str().to_owned(),
            self.attempts,
        )));
    }
}

/// What the producer's handles send to the engine.
#[derive(Debug)]
pub(crate) enum Command {
    Record(Accepted),
    /// Answer once every record accepted before it was answered.
    Flush(oneshot::Sender<()>),
    /// Stop accepting; deliver everything, then end.
    Close,
}
