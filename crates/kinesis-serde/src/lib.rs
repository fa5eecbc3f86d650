//! Record codecs for Kinesis payloads.
//!
//! A Kinesis record carries an opaque payload of bytes. This crate turns your values into
//! payloads and back: a [`Serializer<T>`] for producers, a [`Deserializer<T>`] for consumers,
//! and [`Serde<T>`] for a codec that does both. It is pure and synchronous and has no AWS
//! dependency; `kinesis-producer` and `kinesis-consumer` take any codec built here.
//!
//! # Quick start
//!
//! ```
//! use bytes::Bytes;
//! use kinesis_serde::{Deserializer, Serializer, Utf8};
//!
//! // Producer side: value -> payload.
//! let payload: Bytes = Utf8.serialize("hello, kinesis")?;
//!
//! // Consumer side: payload -> value. The target type picks the implementation.
//! let text: String = Utf8.deserialize(payload)?;
//! assert_eq!(text, "hello, kinesis");
//!
//! // Adapt a codec to your own type.
//! let lengths = Utf8.map(|s: String| s.len());
//! assert_eq!(lengths.deserialize(Bytes::from_static(b"four"))?, 4);
//! # Ok::<(), kinesis_serde::Error>(())
//! ```
//!
//! # Built-in codecs
//!
//! Every built-in is a zero-sized `Copy` value; pass it where a codec is wanted.
//!
//! | Codec        | Types                                   | Fails when                         | Feature    |
//! |--------------|-----------------------------------------|------------------------------------|------------|
//! | [`Raw`]      | [`Bytes`], `Vec<u8>`, `[u8]`             | never                              |            |
//! | [`Utf8`]     | `String`, [`Utf8Bytes`], `str`           | the payload is not UTF-8           |            |
//! | [`Ascii`]    | `String`, [`Utf8Bytes`], `str`           | a byte is above `0x7F`             |            |
//! | `Json`       | any `Serialize` / `DeserializeOwned`     | serde_json fails                   | `json`     |
//! | `Protobuf`   | any `prost::Message + Default`           | prost cannot decode the payload    | `protobuf` |
//!
//! # Feature flags
//!
//! No feature is enabled by default: the crate then depends on `bytes` only, and a service
//! that reads raw or text records pulls in neither serde_json nor prost.
//!
//! - `json`: the `Json` codec, with serde and serde_json.
//! - `protobuf`: the `Protobuf` codec, with prost (without its `derive` feature; enable it in
//!   your own crate to derive messages).
//!
//! The crates are not on crates.io; depend on this one from the repository (see the README's
//! "Depending on the crates"):
//!
//! ```toml
//! [dependencies]
//! kinesis-serde = { git = "https://github.com/kinesis-rs/kinesis-rs", features = ["json"] }
//! ```
//!
//! # Cheap deserialization
//!
//! A payload arrives as [`Bytes`], which is reference-counted: cloning or slicing it never
//! copies. [`Raw`] hands back the payload itself, and [`Utf8`] and [`Ascii`] can hand back a
//! [`Utf8Bytes`], a validated view of the payload that derefs to `str`. Deserializing into
//! `String` or `Vec<u8>` takes over the payload's buffer when nothing else shares it, and
//! copies otherwise.
//!
//! ```
//! use bytes::Bytes;
//! use kinesis_serde::{Deserializer, Utf8, Utf8Bytes};
//!
//! let payload = Bytes::from(String::from("{\"id\":1}"));
//! let text: Utf8Bytes = Utf8.deserialize(payload.clone())?;
//! assert_eq!(text.as_ptr(), payload.as_ptr());
//! # Ok::<(), kinesis_serde::Error>(())
//! ```
//!
//! # Errors
//!
//! Every codec fails with the one [`Error`] of this crate. It tells what failed
//! ([`ErrorKind`]), where ([`Location`]: a byte offset, a JSON line and column, a protobuf
//! field) and the payload's length, and keeps the underlying error as its
//! [`source`](std::error::Error::source). Its `Display` and `Debug` never show payload bytes,
//! so it is safe to log.
//!
//! ```
//! use bytes::Bytes;
//! use kinesis_serde::{Ascii, Deserializer, ErrorKind, Location};
//!
//! let err = Deserializer::<String>::deserialize(&Ascii, Bytes::from("password: hünter2"))
//!     .unwrap_err();
//! assert_eq!(err.kind(), ErrorKind::NotAscii);
//! assert_eq!(err.location(), Some(&Location::Offset(11)));
//! assert_eq!(err.to_string(), "cannot deserialize a record of 18 bytes: non-ASCII byte at byte 11");
//! ```
//!
//! # Record size
//!
//! Kinesis limits a record to 1 MiB by default, payload plus partition key (a stream can be
//! configured for up to 10 MiB). Serializers do not check this: they know neither the
//! partition key nor the stream's limit. The client enforces it when a record is put
//! (`PutLimits` in `kinesis-client`) and refuses an oversized record before sending it.
//!
//! # Writing your own codec
//!
//! For a one-off, adapt a built-in with [`Deserializer::map`] / [`Deserializer::try_map`]
//! and [`Serializer::contramap`] / [`Serializer::try_contramap`], or build one from a closure
//! with [`deserializer_fn`] / [`serializer_fn`]. Pair a serializer and a deserializer into a
//! [`Serde`] with [`Codec`].
//!
//! ```
//! use bytes::Bytes;
//! use kinesis_serde::{deserializer_fn, serializer_fn, Codec, Deserializer, Serializer};
//!
//! // Big-endian u64 counters.
//! let counters = Codec::new(
//!     serializer_fn(|n: &u64| Ok::<_, kinesis_serde::Error>(Bytes::copy_from_slice(&n.to_be_bytes()))),
//!     deserializer_fn(|b: Bytes| <[u8; 8]>::try_from(&b[..]).map(u64::from_be_bytes)),
//! );
//! let payload = counters.serialize(&1_000)?;
//! assert_eq!(counters.deserialize(payload)?, 1_000);
//! # Ok::<(), kinesis_serde::Error>(())
//! ```
//!
//! For a reusable codec, implement the traits on your own type. Make it `Clone + Send +
//! Sync + 'static` (a unit struct is ideal): the consumer shares one codec across the tasks
//! of all its shards. Report failures with [`Error::custom`], saying what failed with
//! [`Error::with_message`] and where with [`Error::with_location`], and never put payload
//! data in the message.
//!
//! ```
//! use bytes::{BufMut, Bytes, BytesMut};
//! use kinesis_serde::{Deserializer, Error, Location, Serde, Serializer};
//!
//! /// Comma-separated `(latitude, longitude)` pairs.
//! #[derive(Clone, Copy, Debug, Default)]
//! struct LatLon;
//!
//! impl Serializer<(f64, f64)> for LatLon {
//!     fn serialize(&self, &(lat, lon): &(f64, f64)) -> Result<Bytes, Error> {
//!         let mut out = BytesMut::new();
//!         out.put_slice(format!("{lat},{lon}").as_bytes());
//!         Ok(out.freeze())
//!     }
//! }
//!
//! impl Deserializer<(f64, f64)> for LatLon {
//!     fn deserialize(&self, data: Bytes) -> Result<(f64, f64), Error> {
//!         let text = std::str::from_utf8(&data).map_err(Error::custom)?;
//!         let (lat, lon) = text
//!             .split_once(',')
//!             .ok_or_else(|| Error::custom("no comma").with_message("expected `lat,lon`"))?;
//!         let lat = lat.parse().map_err(|e| {
//!             Error::custom(e).with_location(Location::Field("latitude".into()))
//!         })?;
//!         let lon = lon.parse().map_err(|e| {
//!             Error::custom(e).with_location(Location::Field("longitude".into()))
//!         })?;
//!         Ok((lat, lon))
//!     }
//! }
//!
//! fn assert_serde<C: Serde<(f64, f64)> + Clone + Send + Sync + 'static>(_: &C) {}
//! assert_serde(&LatLon);
//!
//! let payload = LatLon.serialize(&(52.37, 4.89))?;
//! assert_eq!(LatLon.deserialize(payload)?, (52.37, 4.89));
//! let err = LatLon.deserialize(Bytes::from_static(b"52.37,east")).unwrap_err();
//! assert_eq!(err.to_string(), "codec error in field `longitude`");
//! # Ok::<(), kinesis_serde::Error>(())
//! ```
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod combinator;
mod error;
#[cfg(feature = "json")]
mod json;
#[cfg(feature = "protobuf")]
mod protobuf;
mod raw;
mod text;
mod traits;
mod utf8_bytes;

pub use bytes::Bytes;

pub use crate::combinator::{Codec, deserializer_fn, serializer_fn};
pub use crate::error::{BoxError, Error, ErrorKind, Location};
#[cfg(feature = "json")]
#[cfg_attr(docsrs, doc(cfg(feature = "json")))]
pub use crate::json::Json;
#[cfg(feature = "protobuf")]
#[cfg_attr(docsrs, doc(cfg(feature = "protobuf")))]
pub use crate::protobuf::Protobuf;
pub use crate::raw::Raw;
pub use crate::text::{Ascii, Utf8};
pub use crate::traits::{Deserializer, Serde, Serializer};
pub use crate::utf8_bytes::Utf8Bytes;
