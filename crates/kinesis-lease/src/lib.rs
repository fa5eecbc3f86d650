//! Lease coordination and checkpointing in the KCL's DynamoDB lease-table format, so that workers
//! of this workspace and Java KCL workers can share a stream: a `LeaseRepository` trait (DynamoDB
//! and in-memory), the lease coordinator (take, steal, renew, expire, release), assignment
//! strategies, the checkpointer, and shard lineage.
//!
//! This crate is being built (see the project's issue list); no API is published yet.
