//! A consumer without Kinesis, for the unit tests of an application's record processing
//! (feature `test-util`): records are given per shard, and come out as the real consumer
//! delivers them.
//!
//! [`FakeConsumer`] hands out the real [`ShardStream`]s (through the real [`Shards`]), with
//! their real [`Checkpointer`]s, and runs
//! [`consume_with`](FakeConsumer::consume_with) with the real one's checkpointing: code written
//! for a [`Consumer`](crate::Consumer) runs on it unchanged. Every checkpoint is written to an
//! [`InMemoryCheckpointSink`] per shard, for the test to read.
//!
//! - Shards are named `shard0`, `shard1`, ... in the order they were given.
//! - The records of a shard have the sequence numbers `0`, `1`, ... (their index in the
//!   shard), no sub-sequence number, the partition key `<shard>_<index>` (`shard0_0`) unless one
//!   was given with [`FakeRecord::with_partition_key`], and the current time as their arrival
//!   time (by tokio's clock, see [`FakeConsumer::arrival_time`]) unless one is set.
//! - Payloads are given as values (delivered as they are) or as bytes
//!   ([`raw_shard`](FakeConsumer::raw_shard)), which the consumer's
//!   [`deserializer`](FakeConsumer::deserializer) turns into values exactly as the real consumer
//!   does: a payload it rejects is an `Err` item of kind [`ConsumerErrorKind::Deserialize`]
//!   carrying the record's position and bytes, and the stream goes on after it.
//! - A shard stream ends after the last record of its shard, as at a shutdown:
//!   [`end_reason`](ShardStream::end_reason) is [`ShardStreamEnd::Shutdown`], and the last
//!   staged position is checkpointed with the lease's release. With
//!   [`ending_with_shard_end`](FakeConsumer::ending_with_shard_end) it ends as a shard that was
//!   split or merged instead ([`ShardStreamEnd::ShardEnd`]; the checkpoint of the last record
//!   becomes `SHARD_END`).
//! - [`Shards`] ends once every shard stream has ended (or was dropped) and its final checkpoint
//!   was written: the test reads the checkpoints after that.
//!
//! # Example
//!
//! A function of the application, which processes one shard, tested without Kinesis:
//!
//! ```
//! use std::collections::BTreeMap;
//! use std::sync::{Arc, Mutex};
//!
//! use futures_util::StreamExt;
//! use kinesis_consumer::fake::FakeConsumer;
//! use kinesis_consumer::{Checkpoint, ShardStream};
//!
//! #[derive(Debug, Clone)]
//! struct Order {
//!     customer: String,
//!     amount: u64,
//! }
//!
//! /// The application's processing: totals per customer, each order staged once counted and
//! /// a checkpoint every 2 orders.
//! async fn count_orders(mut shard: ShardStream<Order>, totals: Arc<Mutex<BTreeMap<String, u64>>>) {
//!     let mut counted = 0;
//!     while let Some(record) = shard.next().await {
//!         let Ok(record) = record else { continue };
//!         *totals.lock().unwrap().entry(record.data().customer.clone()).or_default() +=
//!             record.data().amount;
//!         shard.checkpointer().stage(record.position());
//!         counted += 1;
//!         if counted % 2 == 0 {
//!             shard.checkpointer().checkpoint().await.expect("checkpointed");
//!         }
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let order = |customer: &str, amount| Order { customer: customer.into(), amount };
//! let consumer = FakeConsumer::new()
//!     .shard([order("ann", 10), order("bob", 5), order("ann", 1)])
//!     .shard([order("bob", 7)]);
//! let totals = Arc::new(Mutex::new(BTreeMap::new()));
//! let mut shards = consumer.shards()?;
//! while let Some(shard) = shards.next().await {
//!     tokio::spawn(count_orders(shard, Arc::clone(&totals)));
//! }
//! // `shards` ended: every shard was processed and its final checkpoint written.
//! assert_eq!(*totals.lock().unwrap(), BTreeMap::from([("ann".into(), 11), ("bob".into(), 12)]));
//! assert_eq!(consumer.last_checkpoint("shard0"), Some("2".parse::<Checkpoint>()?));
//! assert_eq!(consumer.last_checkpoint("shard1"), Some("0".parse::<Checkpoint>()?));
//! // shard0: "1" after two orders, then "2" with the release at the end.
//! let writes = consumer.checkpoints("shard0").unwrap().writes();
//! assert_eq!(writes.len(), 2);
//! assert!(consumer.checkpointer("shard1").unwrap().is_released());
//! # Ok(())
//! # }
//! ```

use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use bytes::Bytes;
use futures_core::Stream;
use futures_util::StreamExt as _;
use kinesis_client::{Record, SequenceNumber, ShardId, Telemetry};
use kinesis_kcl_compat::sequence::{Checkpoint, ExtendedSequenceNumber};
use kinesis_lease::checkpointer::InMemoryCheckpointSink;
use kinesis_lease::{Checkpointer, CoordinatorSettings};
use kinesis_serde::Deserializer;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::consume_with::{CheckpointBehaviour, HandlerError, Poison, PoisonRecords, consume};
use crate::deaggregate::convert;
use crate::error::{ConsumerError, ConsumerErrorKind};
use crate::events::Diagnostics;
use crate::metrics::ShardMetrics;
use crate::record::ConsumerRecord;
use crate::shard::{Delivery, Ends, ShardStream, ShardStreamEnd};
use crate::shards::{Lifecycle, Shards};

/// One record given to a [`FakeConsumer`]: its payload (a value, or bytes for a
/// [`raw_shard`](FakeConsumer::raw_shard)) and optionally its partition key.
///
/// A payload converts into a record (`From`), so a shard is given as a list of payloads; a
/// `FakeRecord` is needed only to choose the partition key. (When nothing else tells the
/// payload type, a shard of `FakeRecord`s needs it named: `FakeConsumer::<u32>::new()`.)
///
/// ```
/// use kinesis_consumer::fake::{FakeConsumer, FakeRecord};
///
/// let consumer = FakeConsumer::new()
///     // Partition keys shard0_0 and shard0_1:
///     .shard(["a", "b"])
///     // Partition keys user-1 and user-2:
///     .shard([
///         FakeRecord::new("c").with_partition_key("user-1"),
///         FakeRecord::new("d").with_partition_key("user-2"),
///     ]);
/// # let _ = consumer;
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FakeRecord<T> {
    data: T,
    partition_key: Option<String>,
}

impl<T> FakeRecord<T> {
    /// A record of `data`, with the partition key `<shard>_<index>`.
    pub fn new(data: T) -> Self {
        Self {
            data,
            partition_key: None,
        }
    }

    /// The same record with the partition key `partition_key`.
    #[must_use]
    pub fn with_partition_key(mut self, partition_key: impl Into<String>) -> Self {
        self.partition_key = Some(partition_key.into());
        self
    }
}

impl<T> From<T> for FakeRecord<T> {
    /// A record of `data`, with the partition key `<shard>_<index>`.
    fn from(data: T) -> Self {
        Self::new(data)
    }
}

/// The records of one shard, as given.
type Input<T> = Pin<Box<dyn Stream<Item = FakeRecord<T>> + Send>>;

/// The records of one shard: values, or bytes to deserialize.
enum Payloads<T> {
    Values(Input<T>),
    Raw(Input<Bytes>),
}

/// One shard of a [`FakeConsumer`].
struct FakeShard {
    shard_id: ShardId,
    sink: Arc<InMemoryCheckpointSink>,
    checkpointer: Checkpointer,
}

/// A consumer of records given per shard, for tests: the same [`Shards`], [`ShardStream`]s,
/// [`ConsumerRecord`]s, [`Checkpointer`]s and [`consume_with`](Self::consume_with) as a
/// [`Consumer`](crate::Consumer)'s, without Kinesis or a lease table. See the
/// [module documentation](self) for the records it makes and how its streams end.
///
/// Configure it like a builder, then take its shards once ([`shards`](Self::shards) or
/// [`consume_with`](Self::consume_with)), then read the checkpoints
/// ([`last_checkpoint`](Self::last_checkpoint), [`checkpoints`](Self::checkpoints),
/// [`checkpointer`](Self::checkpointer)).
///
/// ```
/// use kinesis_consumer::fake::FakeConsumer;
/// use kinesis_consumer::{CheckpointPolicy, Checkpoint};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let consumer = FakeConsumer::from_iterables([vec![1, 2, 3], vec![4, 5]]);
/// consumer
///     .consume_with(CheckpointPolicy::default(), |record| async move {
///         assert!(*record.data() > 0);
///         Ok(())
///     })
///     .await?;
/// assert_eq!(consumer.last_checkpoint("shard0"), Some("2".parse::<Checkpoint>()?));
/// assert_eq!(consumer.last_checkpoint("shard1"), Some("1".parse::<Checkpoint>()?));
/// # Ok(())
/// # }
/// ```
pub struct FakeConsumer<T> {
    shards: Vec<FakeShard>,
    /// The shards' records, until [`shards`](Self::shards) takes them.
    inputs: Mutex<Option<Vec<Payloads<T>>>>,
    deserializer: Option<Arc<dyn Deserializer<T> + Send + Sync>>,
    arrival_time: Option<SystemTime>,
    shard_end: bool,
    poison_records: PoisonRecords,
    control: Arc<Control>,
}

/// What stops the shard tasks, and where they are.
#[derive(Debug)]
struct Control {
    /// Set by a shutdown: every shard stream ends.
    stop: watch::Sender<bool>,
    /// `Running` until the shards are taken, `ShuttingDown` while shard streams are open,
    /// `ShutDown` once every final checkpoint was written.
    lifecycle: watch::Sender<Lifecycle>,
}

impl Control {
    async fn shutdown(&self) {
        self.stop.send_replace(true);
        let mut lifecycle = self.lifecycle.subscribe();
        if *lifecycle.borrow_and_update() == Lifecycle::Running {
            // Not started: the shard streams will end at once when it is.
            return;
        }
        let _ = lifecycle.wait_for(|l| *l == Lifecycle::ShutDown).await;
    }
}

impl<T> std::fmt::Debug for FakeConsumer<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeConsumer")
            .field(
                "shards",
                &self.shards.iter().map(|s| &s.shard_id).collect::<Vec<_>>(),
            )
            .field("deserializer", &self.deserializer.is_some())
            .field("arrival_time", &self.arrival_time)
            .field("shard_end", &self.shard_end)
            .field("poison_records", &self.poison_records)
            .finish_non_exhaustive()
    }
}

impl<T: Send + 'static> Default for FakeConsumer<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Send + 'static> FakeConsumer<T> {
    /// A consumer without shards; add them with [`shard`](Self::shard) and the other shard
    /// methods.
    ///
    /// ```
    /// use kinesis_consumer::fake::FakeConsumer;
    ///
    /// let consumer = FakeConsumer::new().shard(["a", "b"]).shard(["c"]);
    /// assert_eq!(consumer.shard_ids().len(), 2);
    /// ```
    pub fn new() -> Self {
        Self {
            shards: Vec::new(),
            inputs: Mutex::new(Some(Vec::new())),
            deserializer: None,
            arrival_time: None,
            shard_end: false,
            poison_records: PoisonRecords::default(),
            control: Arc::new(Control {
                stop: watch::Sender::new(false),
                lifecycle: watch::Sender::new(Lifecycle::Running),
            }),
        }
    }

    /// A consumer with one shard per list: `shard0` has the records of the first, and so on
    /// (zio-kinesis's `shardsFromIterables`).
    ///
    /// ```
    /// use kinesis_consumer::fake::FakeConsumer;
    ///
    /// let consumer = FakeConsumer::from_iterables([vec!["a", "b"], vec!["c"]]);
    /// let ids: Vec<String> = consumer.shard_ids().iter().map(|id| id.to_string()).collect();
    /// assert_eq!(ids, ["shard0", "shard1"]);
    /// ```
    pub fn from_iterables<L>(lists: impl IntoIterator<Item = L>) -> Self
    where
        L: IntoIterator<Item: Into<FakeRecord<T>>>,
    {
        lists.into_iter().fold(Self::new(), Self::shard)
    }

    /// A consumer with one shard per stream: `shard0` has the records of the first, and so on
    /// (zio-kinesis's `shardsFromStreams`). See
    /// [`shard_from_stream`](Self::shard_from_stream).
    ///
    /// ```
    /// use futures_util::stream;
    /// use kinesis_consumer::fake::FakeConsumer;
    ///
    /// let consumer = FakeConsumer::from_streams([stream::iter(vec![1, 2]), stream::iter(vec![3])]);
    /// assert_eq!(consumer.shard_ids().len(), 2);
    /// ```
    pub fn from_streams<S>(streams: impl IntoIterator<Item = S>) -> Self
    where
        S: Stream<Item: Into<FakeRecord<T>>> + Send + 'static,
    {
        streams
            .into_iter()
            .fold(Self::new(), Self::shard_from_stream)
    }

    /// Adds a shard with these records, in order: payloads, or [`FakeRecord`]s.
    ///
    /// ```
    /// use kinesis_consumer::fake::FakeConsumer;
    ///
    /// let consumer = FakeConsumer::new().shard(vec![1, 2, 3]);
    /// assert_eq!(consumer.shard_ids()[0].as_str(), "shard0");
    /// ```
    pub fn shard(self, records: impl IntoIterator<Item: Into<FakeRecord<T>>>) -> Self {
        let records: Vec<FakeRecord<T>> = records.into_iter().map(Into::into).collect();
        self.add(Payloads::Values(Box::pin(futures_util::stream::iter(
            records,
        ))))
    }

    /// Adds a shard whose records come from `records`: each is delivered as soon as the stream
    /// yields it, and the shard stream ends when it ends. A stream that never ends keeps its
    /// shard open until [`shutdown`](Self::shutdown).
    ///
    /// ```
    /// use futures_util::{StreamExt, stream};
    /// use kinesis_consumer::fake::FakeConsumer;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// // The test writes the shard's records while the application reads them.
    /// let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    /// let consumer = FakeConsumer::new().shard_from_stream(stream::poll_fn(move |cx| rx.poll_recv(cx)));
    /// let mut shards = consumer.shards()?;
    /// let mut shard = shards.next().await.expect("one shard");
    /// tx.send("a")?;
    /// assert_eq!(*shard.next().await.unwrap()?.data(), "a");
    /// drop(tx); // the shard ends after "a"
    /// assert!(shard.next().await.is_none());
    /// # Ok(())
    /// # }
    /// ```
    pub fn shard_from_stream(
        self,
        records: impl Stream<Item: Into<FakeRecord<T>>> + Send + 'static,
    ) -> Self {
        self.add(Payloads::Values(Box::pin(records.map(Into::into))))
    }

    /// Adds a shard of payloads as bytes, which the consumer's
    /// [`deserializer`](Self::deserializer) deserializes as the real consumer does (KPL
    /// aggregates are split as well). A payload it rejects is an `Err` item of kind
    /// [`ConsumerErrorKind::Deserialize`], with the record's position and bytes.
    ///
    /// Taking the shards fails with [`ConsumerErrorKind::Usage`] when no deserializer was set.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use futures_util::StreamExt;
    /// use kinesis_consumer::fake::FakeConsumer;
    /// use kinesis_consumer::{ConsumerErrorKind, Utf8};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let consumer: FakeConsumer<String> = FakeConsumer::new()
    ///     .deserializer(Utf8)
    ///     .raw_shard([Bytes::from("text"), Bytes::from_static(&[0xff]), Bytes::from("more")]);
    /// let mut shards = consumer.shards()?;
    /// let mut shard = shards.next().await.expect("one shard");
    /// assert_eq!(shard.next().await.unwrap()?.data(), "text");
    /// let poison = shard.next().await.unwrap().unwrap_err();
    /// assert_eq!(poison.kind(), ConsumerErrorKind::Deserialize);
    /// assert_eq!(poison.record_position(), Some(&"1".parse()?));
    /// assert_eq!(&poison.raw_record().unwrap().data()[..], [0xff]);
    /// assert_eq!(shard.next().await.unwrap()?.data(), "more");
    /// # Ok(())
    /// # }
    /// ```
    pub fn raw_shard(self, records: impl IntoIterator<Item: Into<FakeRecord<Bytes>>>) -> Self {
        let records: Vec<FakeRecord<Bytes>> = records.into_iter().map(Into::into).collect();
        self.add(Payloads::Raw(Box::pin(futures_util::stream::iter(records))))
    }

    /// Adds a shard of payloads as bytes from a stream: [`raw_shard`](Self::raw_shard) as
    /// [`shard_from_stream`](Self::shard_from_stream).
    ///
    /// ```
    /// use bytes::Bytes;
    /// use futures_util::stream;
    /// use kinesis_consumer::Utf8;
    /// use kinesis_consumer::fake::FakeConsumer;
    ///
    /// let consumer: FakeConsumer<String> = FakeConsumer::new()
    ///     .deserializer(Utf8)
    ///     .raw_shard_from_stream(stream::iter(vec![Bytes::from("a"), Bytes::from("b")]));
    /// # let _ = consumer;
    /// ```
    pub fn raw_shard_from_stream(
        self,
        records: impl Stream<Item: Into<FakeRecord<Bytes>>> + Send + 'static,
    ) -> Self {
        self.add(Payloads::Raw(Box::pin(records.map(Into::into))))
    }

    /// How the payloads of [`raw_shard`](Self::raw_shard)s become values: the application's
    /// deserializer, as given to
    /// [`ConsumerBuilder::deserializer`](crate::ConsumerBuilder::deserializer).
    ///
    /// ```
    /// use kinesis_consumer::fake::FakeConsumer;
    /// use kinesis_serde::Json;
    ///
    /// let consumer: FakeConsumer<serde_json::Value> = FakeConsumer::new()
    ///     .deserializer(Json)
    ///     .raw_shard([bytes::Bytes::from(r#"{"id": 1}"#)]);
    /// # let _ = consumer;
    /// ```
    pub fn deserializer(
        mut self,
        deserializer: impl Deserializer<T> + Send + Sync + 'static,
    ) -> Self {
        self.deserializer = Some(Arc::new(deserializer));
        self
    }

    /// Every record's approximate arrival time. Default: the current time when the record is
    /// taken from its list or stream, by tokio's clock (the wall clock when the shards were
    /// taken, advanced by tokio's clock since): under paused time, arrival times follow the
    /// virtual clock.
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// use kinesis_consumer::fake::FakeConsumer;
    ///
    /// let consumer = FakeConsumer::new()
    ///     .arrival_time(SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000))
    ///     .shard(["a"]);
    /// # let _ = consumer;
    /// ```
    pub fn arrival_time(mut self, at: SystemTime) -> Self {
        self.arrival_time = Some(at);
        self
    }

    /// The shard streams end as shards that were split or merged, rather than as at a
    /// shutdown: [`end_reason`](ShardStream::end_reason) is [`ShardStreamEnd::ShardEnd`], and a
    /// checkpoint of a shard's last record is written as `SHARD_END` (with no child shards).
    /// As with the real consumer, the end is known once the shard's last record was delivered:
    /// a checkpoint of that record made before the application asked for the next one may
    /// still be a sequence number; the final checkpoint is `SHARD_END` either way.
    ///
    /// ```
    /// use futures_util::StreamExt;
    /// use kinesis_consumer::fake::FakeConsumer;
    /// use kinesis_consumer::{Checkpoint, ShardStreamEnd};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let consumer = FakeConsumer::new().ending_with_shard_end().shard(["a", "b"]);
    /// let mut shards = consumer.shards()?;
    /// let mut shard = shards.next().await.expect("one shard");
    /// while let Some(record) = shard.next().await {
    ///     shard.checkpointer().stage(record?.position());
    /// }
    /// assert_eq!(shard.end_reason(), Some(ShardStreamEnd::ShardEnd));
    /// drop(shard);
    /// assert!(shards.next().await.is_none());
    /// assert_eq!(consumer.last_checkpoint("shard0"), Some(Checkpoint::SHARD_END));
    /// # Ok(())
    /// # }
    /// ```
    pub fn ending_with_shard_end(mut self) -> Self {
        self.shard_end = true;
        self
    }

    /// What [`consume_with`](Self::consume_with) does with a record whose payload cannot be
    /// deserialized, as [`ConsumerBuilder::on_poison_record`](crate::ConsumerBuilder::on_poison_record).
    /// Default: [`PoisonRecords::Fail`].
    ///
    /// ```
    /// use kinesis_consumer::PoisonRecords;
    /// use kinesis_consumer::fake::FakeConsumer;
    ///
    /// let consumer: FakeConsumer<String> = FakeConsumer::new().on_poison_record(PoisonRecords::skip());
    /// # let _ = consumer;
    /// ```
    pub fn on_poison_record(mut self, policy: PoisonRecords) -> Self {
        self.poison_records = policy;
        self
    }

    fn add(mut self, payloads: Payloads<T>) -> Self {
        let shard_id = ShardId::new(format!("shard{}", self.shards.len()))
            .expect("shard<n> is a valid shard id");
        let sink = Arc::new(InMemoryCheckpointSink::new());
        let checkpointer = Checkpointer::builder(shard_id.clone().into(), sink.clone())
            .initial_checkpoint(Checkpoint::TRIM_HORIZON)
            .lease_counter(0)
            .build();
        self.shards.push(FakeShard {
            shard_id,
            sink,
            checkpointer,
        });
        self.inputs
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .get_or_insert_with(Vec::new)
            .push(payloads);
        self
    }

    /// The shards, in the order they were given: `shard0`, `shard1`, ...
    pub fn shard_ids(&self) -> Vec<ShardId> {
        self.shards.iter().map(|s| s.shard_id.clone()).collect()
    }

    /// The stream of the shard streams, as [`Consumer::shards`](crate::Consumer::shards): one
    /// [`ShardStream`] per shard, in order. It ends once every shard stream has ended (or was
    /// dropped) and its final checkpoint was written, so process the shard streams while
    /// reading it (spawn them, or process each before taking the next), not after collecting
    /// it. Call within a tokio runtime.
    ///
    /// # Errors
    ///
    /// [`ConsumerErrorKind::Usage`] when the shards were taken already (by `shards` or
    /// [`consume_with`](Self::consume_with)), or when a [`raw_shard`](Self::raw_shard) has no
    /// [`deserializer`](Self::deserializer).
    ///
    /// ```
    /// use futures_util::StreamExt;
    /// use kinesis_consumer::fake::FakeConsumer;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let consumer = FakeConsumer::new().shard(["a", "b"]);
    /// let mut shards = consumer.shards()?;
    /// while let Some(mut shard) = shards.next().await {
    ///     while let Some(record) = shard.next().await {
    ///         let record = record?;
    ///         println!("{} {}: {}", record.shard_id(), record.partition_key(), record.data());
    ///     }
    /// }
    /// assert!(consumer.shards().is_err());
    /// # Ok(())
    /// # }
    /// ```
    pub fn shards(&self) -> Result<Shards<T>, ConsumerError> {
        let has_raw =
            |inputs: &Vec<Payloads<T>>| inputs.iter().any(|p| matches!(p, Payloads::Raw(_)));
        let inputs = {
            let mut inputs = self.inputs.lock().unwrap_or_else(PoisonError::into_inner);
            if self.deserializer.is_none() && inputs.as_ref().is_some_and(has_raw) {
                return Err(ConsumerError::new(
                    ConsumerErrorKind::Usage,
                    "the fake consumer has shards of bytes but no deserializer",
                ));
            }
            inputs.take().ok_or_else(|| {
                ConsumerError::new(
                    ConsumerErrorKind::Usage,
                    "the fake consumer's shards were taken already",
                )
            })?
        };
        let (shards_tx, shards_rx) = tokio::sync::mpsc::channel(self.shards.len().max(1));
        self.control.lifecycle.send_replace(Lifecycle::ShuttingDown);
        let shards = Shards::new(shards_rx, self.control.lifecycle.subscribe());
        #[allow(
            clippy::disallowed_methods,
            reason = "records carry wall-clock arrival times, as Kinesis stamps them; read once, then advanced by tokio's clock"
        )]
        let clock = (SystemTime::now(), Instant::now());
        let mut tasks = JoinSet::new();
        for (shard, payloads) in self.shards.iter().zip(inputs) {
            // One record per batch: each is delivered as soon as its input yields it.
            let (stream, ends, done) = ShardStream::channel(
                shard.shard_id.clone(),
                shard.checkpointer.clone(),
                ShardMetrics::new(Telemetry::none(), shard.shard_id.clone()),
                1,
            );
            let task = ShardTask {
                shard_id: shard.shard_id.clone(),
                checkpointer: shard.checkpointer.clone(),
                deserializer: self.deserializer.clone(),
                arrival_time: self
                    .arrival_time
                    .map_or(Arrival::Clock(clock), Arrival::Fixed),
                shard_end: self.shard_end,
            };
            tasks.spawn(task.run(payloads, ends, done, self.control.stop.subscribe()));
            shards_tx
                .try_send(stream)
                .expect("the channel has room for every shard");
        }
        let control = Arc::clone(&self.control);
        tokio::spawn(async move {
            while let Some(finished) = tasks.join_next().await {
                if let Err(e) = finished
                    && e.is_panic()
                {
                    // Its stream ended without an end reason, and without a final checkpoint.
                    tracing::error!(error = %e, "a fake shard's input or deserializer panicked");
                }
            }
            control.lifecycle.send_replace(Lifecycle::ShutDown);
        });
        Ok(shards)
    }

    /// Runs `handler` on every record of every shard, as
    /// [`Consumer::consume_with`](crate::Consumer::consume_with) does (the same code): shards
    /// in parallel, records of one shard in order, each record staged once its handler
    /// succeeded, checkpoints by `checkpoints`, poison records by
    /// [`on_poison_record`](Self::on_poison_record).
    ///
    /// Returns `Ok(())` once every shard's records were handled and its final checkpoint
    /// written. When a handler fails, or a record cannot be read, every shard stream ends as at
    /// a shutdown (what was staged is checkpointed) and the error is returned.
    ///
    /// # Errors
    ///
    /// As `Consumer::consume_with`: [`ConsumerErrorKind::Handler`] with the handler's error as
    /// the source, [`ConsumerErrorKind::Deserialize`] for a poison record under
    /// [`PoisonRecords::Fail`]; and [`ConsumerErrorKind::Usage`] as [`shards`](Self::shards).
    ///
    /// ```
    /// use kinesis_consumer::fake::FakeConsumer;
    /// use kinesis_consumer::{CheckpointPolicy, Checkpoint, ConsumerErrorKind};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let consumer = FakeConsumer::new().shard([1, 2, 3, 4]);
    /// let failed = consumer
    ///     .consume_with(CheckpointPolicy::default(), |record| async move {
    ///         match *record.data() {
    ///             3 => Err("cannot handle 3".into()),
    ///             _ => Ok(()),
    ///         }
    ///     })
    ///     .await
    ///     .unwrap_err();
    /// assert_eq!(failed.kind(), ConsumerErrorKind::Handler);
    /// // Records 0 and 1 were handled: a restart resumes at record 2, the one that failed.
    /// assert_eq!(consumer.last_checkpoint("shard0"), Some("1".parse::<Checkpoint>()?));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn consume_with<F, Fut>(
        &self,
        checkpoints: impl Into<CheckpointBehaviour>,
        handler: F,
    ) -> Result<(), ConsumerError>
    where
        F: Fn(ConsumerRecord<T>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), HandlerError>> + Send + 'static,
    {
        let shards = self.shards()?;
        let poison = Poison {
            policy: self.poison_records.clone(),
            diagnostics: Diagnostics::new(1, None, Telemetry::none()),
        };
        let control = Arc::clone(&self.control);
        consume(
            shards,
            checkpoints.into(),
            handler,
            poison,
            move || async move { control.shutdown().await },
        )
        .await
    }

    /// Ends every shard stream now, as [`Consumer::shutdown`](crate::Consumer::shutdown) does:
    /// records not yet delivered are dropped, [`end_reason`](ShardStream::end_reason) is
    /// [`ShardStreamEnd::Shutdown`] (unless the stream had ended already), and the last staged
    /// position is checkpointed once the application is done with the stream (it read its end,
    /// or dropped it), or after the lease's release timeout (10 s, by tokio's clock) if it does
    /// not read it. Returns once every final checkpoint was written (at once when the shards
    /// were not taken yet; they then end without records).
    ///
    /// ```
    /// use futures_util::{StreamExt, stream};
    /// use kinesis_consumer::fake::FakeConsumer;
    /// use kinesis_consumer::{Checkpoint, ShardStreamEnd};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// // A shard whose records never end.
    /// let consumer = FakeConsumer::new().shard_from_stream(stream::iter(["a"]).chain(stream::pending()));
    /// let mut shards = consumer.shards()?;
    /// let mut shard = shards.next().await.expect("one shard");
    /// let record = shard.next().await.unwrap()?;
    /// shard.checkpointer().stage(record.position());
    /// let reader = tokio::spawn(async move {
    ///     while shard.next().await.is_some() {}
    ///     shard.end_reason()
    /// });
    /// consumer.shutdown().await;
    /// assert_eq!(reader.await?, Some(ShardStreamEnd::Shutdown));
    /// assert_eq!(consumer.last_checkpoint("shard0"), Some("0".parse::<Checkpoint>()?));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn shutdown(&self) {
        self.control.shutdown().await;
    }

    fn find(&self, shard_id: &str) -> Option<&FakeShard> {
        self.shards.iter().find(|s| s.shard_id.as_str() == shard_id)
    }

    /// The checkpoints written for `shard_id` (`None` for a shard that does not exist): every
    /// write ([`writes`](InMemoryCheckpointSink::writes), each with whether it released the
    /// lease), the last one, and the number of releases.
    ///
    /// ```
    /// # use kinesis_consumer::fake::FakeConsumer;
    /// # use kinesis_consumer::CheckpointPolicy;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let consumer = FakeConsumer::new().shard([1, 2, 3]);
    /// consumer
    ///     .consume_with(CheckpointPolicy::default().with_max_records(2), |_| async { Ok(()) })
    ///     .await?;
    /// let sink = consumer.checkpoints("shard0").expect("shard0");
    /// let written: Vec<String> = sink.writes().iter().map(|(_, u)| u.checkpoint.to_string()).collect();
    /// assert_eq!(written, ["1", "2"]);
    /// assert!(sink.writes()[1].1.release);
    /// assert_eq!(sink.releases(), 1);
    /// assert!(consumer.checkpoints("shard9").is_none());
    /// # Ok(())
    /// # }
    /// ```
    pub fn checkpoints(&self, shard_id: &str) -> Option<&InMemoryCheckpointSink> {
        self.find(shard_id).map(|s| &*s.sink)
    }

    /// The last checkpoint written for `shard_id`: `None` before any (and for a shard that does
    /// not exist).
    ///
    /// ```
    /// use kinesis_consumer::fake::FakeConsumer;
    ///
    /// let consumer = FakeConsumer::new().shard(["a"]);
    /// assert_eq!(consumer.last_checkpoint("shard0"), None);
    /// ```
    pub fn last_checkpoint(&self, shard_id: &str) -> Option<Checkpoint> {
        self.checkpoints(shard_id)?.last_checkpoint()
    }

    /// The checkpointer of `shard_id`, the one its [`ShardStream`] has: what is staged, whether
    /// the lease was released.
    ///
    /// ```
    /// use kinesis_consumer::fake::FakeConsumer;
    ///
    /// let consumer = FakeConsumer::new().shard(["a"]);
    /// let checkpointer = consumer.checkpointer("shard0").expect("shard0");
    /// assert_eq!(checkpointer.staged(), None);
    /// assert!(!checkpointer.is_released());
    /// ```
    pub fn checkpointer(&self, shard_id: &str) -> Option<&Checkpointer> {
        self.find(shard_id).map(|s| &s.checkpointer)
    }
}

/// What feeds one fake shard stream.
struct ShardTask<T> {
    shard_id: ShardId,
    checkpointer: Checkpointer,
    deserializer: Option<Arc<dyn Deserializer<T> + Send + Sync>>,
    arrival_time: Arrival,
    shard_end: bool,
}

/// The records' arrival time.
#[derive(Clone, Copy)]
enum Arrival {
    Fixed(SystemTime),
    /// The wall clock at the instant, advanced by tokio's clock.
    Clock((SystemTime, Instant)),
}

impl Arrival {
    fn now(self) -> SystemTime {
        match self {
            Arrival::Fixed(at) => at,
            Arrival::Clock((wall, at)) => wall + at.elapsed(),
        }
    }
}

/// Why a fake shard stopped feeding its stream.
enum Stop {
    /// Its records ran out.
    Exhausted,
    /// A shutdown.
    Shutdown,
    /// The application dropped the stream.
    Dropped,
}

impl<T: Send + 'static> ShardTask<T> {
    /// Delivers the shard's records, ends the stream, waits for the application to be done with
    /// it, and writes the final checkpoint, as a shard task of the real consumer does.
    async fn run(
        self,
        mut payloads: Payloads<T>,
        ends: Ends<T>,
        mut done: oneshot::Receiver<()>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let Ends { tx, discard, end } = ends;
        let mut index: u64 = 0;
        let mut last_delivered: Option<ExtendedSequenceNumber> = None;
        let stop = loop {
            let delivery = tokio::select! {
                biased;
                _ = shutdown.wait_for(|s| *s) => break Stop::Shutdown,
                _ = &mut done => break Stop::Dropped,
                delivery = self.next(&mut payloads, index) => delivery,
            };
            let Some(delivery) = delivery else {
                break Stop::Exhausted;
            };
            index += 1;
            if let Some(last) = delivery.iter().rev().find_map(|r| match r {
                Ok(record) => Some(record.position()),
                Err(e) => e.record_position().cloned(),
            }) {
                last_delivered = Some(last);
            }
            if delivery.is_empty() {
                continue;
            }
            tokio::select! {
                biased;
                _ = shutdown.wait_for(|s| *s) => break Stop::Shutdown,
                sent = tx.send(delivery) => if sent.is_err() {
                    break Stop::Dropped;
                },
            }
        };
        match stop {
            Stop::Exhausted if self.shard_end => {
                self.checkpointer.mark_shard_end(last_delivered, []);
                let _ = end.set(ShardStreamEnd::ShardEnd);
            }
            Stop::Exhausted => {
                let _ = end.set(ShardStreamEnd::Shutdown);
            }
            Stop::Shutdown => {
                let _ = end.set(ShardStreamEnd::Shutdown);
                // The stream ends at once, dropping what it buffered.
                discard.store(true, Ordering::Release);
            }
            Stop::Dropped => {}
        }
        drop(tx);
        if !matches!(stop, Stop::Dropped) {
            // Until the application is done with the stream, so that the final checkpoint
            // covers the last record it staged. A shutdown ends the stream at once, and waits
            // for an application that does not read it at most the release timeout, as the real
            // consumer's shard task does.
            let release_timeout = CoordinatorSettings::default().release_timeout;
            let mut deadline =
                matches!(stop, Stop::Shutdown).then(|| Instant::now() + release_timeout);
            loop {
                tokio::select! {
                    biased;
                    _ = &mut done => break,
                    _ = shutdown.wait_for(|s| *s), if deadline.is_none() => {
                        discard.store(true, Ordering::Release);
                        deadline = Some(Instant::now() + release_timeout);
                    }
                    () = tokio::time::sleep_until(deadline.unwrap_or_else(Instant::now)), if deadline.is_some() => break,
                }
            }
        }
        match self.checkpointer.checkpoint_and_release().await {
            Ok(()) => {}
            Err(e) if e.is_lease_lost() => {}
            Err(e) => {
                tracing::warn!(shard_id = %self.shard_id, error = %e, "final checkpoint failed");
            }
        }
    }

    /// The record at `index` of the shard, converted; `None` once the records ran out.
    async fn next(&self, payloads: &mut Payloads<T>, index: u64) -> Option<Delivery<T>> {
        let sequence_number =
            SequenceNumber::new(index.to_string()).expect("an index is a sequence number");
        let default_key = || format!("{}_{index}", self.shard_id);
        let arrival = || self.arrival_time.now();
        match payloads {
            Payloads::Values(input) => {
                let record = input.next().await?;
                Some(vec![Ok(ConsumerRecord {
                    shard_id: self.shard_id.clone(),
                    sequence_number,
                    sub_sequence_number: None,
                    partition_key: record.partition_key.unwrap_or_else(default_key),
                    explicit_hash_key: None,
                    approximate_arrival_timestamp: Some(arrival()),
                    data: record.data,
                })])
            }
            Payloads::Raw(input) => {
                let record = input.next().await?;
                let deserializer = self
                    .deserializer
                    .as_deref()
                    .expect("checked when the shards were taken");
                let record = Record::new(
                    record.data,
                    record.partition_key.unwrap_or_else(default_key),
                    sequence_number,
                )
                .with_approximate_arrival_timestamp(arrival());
                // As the real shard task converts what it fetched.
                Some(convert(&self.shard_id, None, vec![record], &mut None, deserializer).0)
            }
        }
    }
}
