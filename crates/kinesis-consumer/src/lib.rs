//! The consumer: parallel per-shard streams of deserialized records over polling or enhanced
//! fan-out, with checkpointing, lease coordination, resharding, graceful shutdown and
//! diagnostic events.
//!
//! This crate is being built (see the project's issue list); no API is published yet.
