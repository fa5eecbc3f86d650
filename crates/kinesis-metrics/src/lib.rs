//! CloudWatch publishing of consumer and producer metrics under the KCL and KPL metric names.
//!
//! No API is published yet.
