//! The KCL MultiLangDaemon protocol, both ways.
//!
//! The Java KCL's `MultiLangDaemon` runs a KCL worker and, for each shard it holds, a child
//! process — the record processor, written in any language (Python with `amazon_kclpy`, Node
//! with `aws-kcl`, Ruby, .NET) — that it talks to with JSON lines on the child's stdin and
//! stdout ([`kinesis_kcl_compat::multilang`] holds the messages).
//!
//! # A daemon without a JVM
//!
//! [`Daemon`] is that daemon on this workspace's consumer: it reads the same properties file
//! ([`properties`]), starts the same processors unchanged, sends them the same messages, and
//! applies their checkpoints to the same lease table — so Java KCL workers, this workspace's
//! workers and this daemon can share an application. `kinesis multilang --properties
//! app.properties` runs it.
//!
//! What a processor sees, per shard: `initialize` (its shard and checkpoint), `processRecords`
//! for each batch of records (up to `maxRecords`), and at the end one of `shardEnded` (it
//! should checkpoint: the checkpoint becomes `SHARD_END` and the children start),
//! `shutdownRequested` (the worker stops or hands the lease over; it may checkpoint) or
//! `leaseLost` (it cannot checkpoint). Its checkpoint requests are checked against the records
//! delivered and answered with the Java KCL's exception names (`ShutdownException`,
//! `ThrottlingException`, `IllegalArgumentException`, ...).
//!
//! # A Rust record processor
//!
//! [`processor::Processor`] makes a Rust binary a record processor under either daemon, with
//! the handler shape of `Consumer::consume_with`: teams that keep the Java KCL write their
//! processing in Rust.
//!
//! # Differences from the Java daemon
//!
//! Where it differs from the Java daemon, on purpose: a processor that exits, hangs beyond
//! `timeoutInSeconds` or answers out of turn costs only its shard — it is killed and its lease
//! released with its last checkpoint, so the shard restarts with a new processor — where the
//! Java daemon stops the whole worker. Lines on a processor's stdout that are not messages are
//! skipped and logged, and its stderr is logged, as the Java daemon does.

mod daemon;
mod error;
pub mod processor;
pub mod properties;

pub use daemon::Daemon;
pub use error::DaemonError;
