//! The formats shared with the Java KCL and KPL, byte for byte: KPL aggregated records
//! (encode/decode), effective hash keys, extended sequence numbers and checkpoint sentinels, the
//! KCL 2.x/3.x DynamoDB lease row, and KCL metric names.

pub mod aggregation;
pub mod fleet;
pub mod hash;
pub mod lease;
pub mod metrics;
pub mod sequence;
