//! The formats shared with the Java KCL and KPL, byte for byte: KPL aggregated records
//! (encode/decode), effective hash keys, extended sequence numbers and checkpoint sentinels, the
//! KCL 2.x/3.x DynamoDB lease row, KCL metric names, and (feature `multilang`) the messages of the
//! KCL MultiLangDaemon protocol.

pub mod aggregation;
pub mod fleet;
pub mod hash;
pub mod lease;
pub mod metrics;
#[cfg(feature = "multilang")]
pub mod multilang;
pub mod sequence;
