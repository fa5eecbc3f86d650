//! One module per command.

pub(crate) mod completions;
pub(crate) mod leases;
pub(crate) mod local;
pub(crate) mod multilang;
pub(crate) mod put;
pub(crate) mod stream;
pub(crate) mod tail;
