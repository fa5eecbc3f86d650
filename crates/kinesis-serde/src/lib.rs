//! Record codecs for Kinesis payloads: `Serializer`, `Deserializer` and `Serde` traits with
//! typed, payload-free errors, built-ins for bytes, UTF-8 and ASCII text, JSON and protobuf
//! (behind features), and combinators to map one codec into another.
//!
//! This crate has no AWS dependency. It is being built (see the project's issue list); no API is
//! published yet.
