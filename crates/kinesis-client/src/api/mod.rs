//! The Kinesis API: operations, the data-plane [`Client`](crate::Client) and the
//! [`AdminClient`](crate::AdminClient).

pub(crate) mod client;
pub mod data;
pub(crate) mod paginate;
pub(crate) mod position;
pub(crate) mod subscribe;
