//! [`Producer::send_all`]: an async stream of records into the producer, with back-pressure.

use std::fmt;

use futures_util::StreamExt;
use futures_util::stream::{FuturesUnordered, Stream};

use crate::error::ProduceError;
use crate::producer::Producer;
use crate::record::ProducerRecord;

/// How [`Producer::send_all`] went: every record it took from the stream was stored, or is
/// here with the reason.
#[derive(Debug)]
pub struct SendAllError {
    stored: u64,
    failures: Vec<ProduceError>,
}

impl SendAllError {
    /// The records stored before the stream was stopped.
    pub fn stored(&self) -> u64 {
        self.stored
    }

    /// Every record that was taken from the stream and not stored, each with its cause and
    /// (where it was accepted) the record itself ([`ProduceError::into_record`]).
    pub fn failures(&self) -> &[ProduceError] {
        &self.failures
    }

    /// The failures, to send again or park elsewhere.
    pub fn into_failures(self) -> Vec<ProduceError> {
        self.failures
    }
}

impl fmt::Display for SendAllError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} record(s) of the stream not stored ({} stored); the first: {}",
            self.failures.len(),
            self.stored,
            self.failures
                .first()
                .map_or_else(String::new, ToString::to_string)
        )
    }
}

impl std::error::Error for SendAllError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.failures
            .first()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl<T: Send + 'static> Producer<T> {
    /// Produces every record of `records`, in order, and resolves when each is stored: the
    /// number stored. This is the producer as a sink for an async stream (zio-kinesis's
    /// `Producer.sink`).
    ///
    /// The stream is read as fast as the producer accepts records: when its buffer is full,
    /// the stream is not polled (back-pressure). Outcomes are awaited while the stream is read,
    /// so what is held is bounded by the producer's buffer, not by the stream's length.
    ///
    /// # Errors
    ///
    /// At the first record that is not stored (refused as invalid, or failed after its
    /// retries), no further record is taken from the stream; the records already accepted are
    /// still awaited, and [`SendAllError`] returns every one that was not stored, each with its
    /// cause and record. Nothing taken from the stream is dropped unreported.
    ///
    /// # Cancel safety
    ///
    /// As [`produce`](Self::produce): records already accepted are still sent when the future
    /// is dropped; their outcomes are lost.
    ///
    /// ```no_run
    /// # async fn run(producer: kinesis_producer::Producer<String>) -> Result<(), kinesis_producer::SendAllError> {
    /// use futures_util::{StreamExt, stream};
    /// use kinesis_producer::ProducerRecord;
    ///
    /// let lines = stream::iter(["a", "b", "c"])
    ///     .map(|line| ProducerRecord::new(line, line.to_owned()));
    /// let stored = producer.send_all(lines).await?;
    /// assert_eq!(stored, 3);
    /// # Ok(()) }
    /// ```
    pub async fn send_all<S>(&self, records: S) -> Result<u64, SendAllError>
    where
        S: Stream<Item = ProducerRecord<T>>,
    {
        let mut records = std::pin::pin!(records);
        let mut outcomes = FuturesUnordered::new();
        let mut stored = 0u64;
        let mut failures = Vec::new();
        let mut input_done = false;
        loop {
            tokio::select! {
                // Answers first, so the set of outstanding outcomes stays small.
                biased;
                Some(outcome) = outcomes.next(), if !outcomes.is_empty() => match outcome {
                    Ok(_) => stored += 1,
                    Err(e) => failures.push(e),
                },
                next = records.next(), if !input_done && failures.is_empty() => match next {
                    Some(record) => match self.send(record).await {
                        Ok(handle) => outcomes.push(handle),
                        Err(e) => failures.push(e),
                    },
                    None => input_done = true,
                },
                else => break,
            }
        }
        if failures.is_empty() {
            Ok(stored)
        } else {
            Err(SendAllError { stored, failures })
        }
    }
}
