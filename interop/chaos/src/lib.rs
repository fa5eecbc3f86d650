//! The chaos harness behind `cargo xtask chaos` (see the `kinesis-chaos` binary):
//!
//! - [`plan`]: the seeded schedule of kills, freezes, restarts, resharding and fault bursts;
//! - [`run`]: the servers, proxies and processes, and the plan carried out;
//! - [`watch`]: the lease table's history over the run;
//! - [`progress`]: the acknowledged records not consumed yet, followed as the journals grow;
//! - [`check`]: the invariants, from the journals and the table;
//! - [`picture`]: the run as an SVG picture.

#![allow(
    clippy::disallowed_methods,
    reason = "the harness times real processes"
)]
#![allow(
    clippy::cast_precision_loss,
    reason = "the picture's coordinates are approximate"
)]

pub mod check;
pub mod picture;
pub mod plan;
pub mod progress;
pub mod run;
pub mod watch;
