//! The messages of the KCL MultiLangDaemon protocol: one JSON object per line between the
//! daemon (the Java KCL's `MultiLangDaemon`, or this workspace's) and a record processor running
//! as its child process, one child per shard.
//!
//! The daemon writes [`ToProcessor`] messages to the child's stdin; the child answers each with
//! a [`FromProcessor::Status`] naming the action (`{"action":"status","responseFor":"processRecords"}`)
//! on its stdout, and may, while handling `processRecords`, `shardEnded` or `shutdownRequested`,
//! send [`FromProcessor::Checkpoint`] and read the daemon's [`ToProcessor::Checkpoint`] answer
//! before going on. The daemon sends nothing new until the status arrives.
//!
//! The shapes follow the Java KCL's message classes (`software.amazon.kinesis.multilang.messages`,
//! KCL 3.5.1): field names, `null` for absent values as Jackson writes them, record data in
//! standard base64 without line breaks, arrival times in epoch milliseconds. Parsing is strict
//! about what a field holds and says which field of which action is wrong; it ignores fields it
//! does not know, so that newer daemons and processors can add some.
//!
//! ```
//! use kinesis_kcl_compat::multilang::{FromProcessor, ToProcessor};
//!
//! let line = r#"{"action":"initialize","shardId":"shardId-000000000001","sequenceNumber":"TRIM_HORIZON","subSequenceNumber":0}"#;
//! let message = ToProcessor::parse(line)?;
//! assert_eq!(message.action(), "initialize");
//! assert_eq!(ToProcessor::parse(&message.to_line())?, message);
//!
//! let status = FromProcessor::status_for(&message);
//! assert_eq!(status.to_line(), r#"{"action":"status","responseFor":"initialize"}"#);
//! # Ok::<(), kinesis_kcl_compat::multilang::MessageError>(())
//! ```

mod error;
mod message;

pub use error::{MessageError, MessageErrorKind};
pub use message::{CheckpointRequest, CheckpointResult, FromProcessor, Record, ToProcessor};
