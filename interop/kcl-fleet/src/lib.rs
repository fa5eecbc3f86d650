//! Rust and Java KCL workers of one application on one lease table.
//!
//! The `kcl` test tier (`cargo xtask test --tier kcl`) runs the scenarios in `tests/`: each
//! starts real Java KCL workers (`interop/kcl-worker`, KCL 2.x and 3.x), the real KPL, and Rust
//! workers (this crate's `kcl-fleet` binary) as separate processes against kinesis-local and
//! moto, then accounts for every record written. The harness here is what those scenarios
//! share:
//!
//! - [`journal`]: the JSON-lines journal every worker and producer writes;
//! - [`process`]: starting and stopping worker processes, each by its own handle;
//! - [`fleet`]: one scenario's stream, application, workers and record accounting;
//! - [`leases`]: the lease table watched while a scenario runs (owners over time), and its raw
//!   rows.

#![allow(
    clippy::disallowed_methods,
    reason = "the harness times real worker processes"
)]

pub mod fleet;
pub mod journal;
pub mod leases;
pub mod process;
