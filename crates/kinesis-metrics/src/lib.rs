//! CloudWatch publishing of consumer and producer metrics under the KCL and KPL metric names.
//!
//! This crate is being built (see the project's issue list); no API is published yet.
