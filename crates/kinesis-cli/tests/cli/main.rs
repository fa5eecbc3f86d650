//! The `kinesis` command, run as a process against the test kit's servers (embedded in the test
//! process, or the external ones the endpoint variables name).

#![allow(
    clippy::disallowed_methods,
    reason = "the tests wait on real processes in real time"
)]

mod args;
mod demo;
mod leases;
mod local;
mod multilang;
mod put_tail;
mod stream;
mod support;
