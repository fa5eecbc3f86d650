//! Identifiers and values of the Kinesis API, validated when they are made.

pub(crate) mod record;
pub(crate) mod shard;
pub(crate) mod stream;
