//! The protobuf codec (feature `protobuf`).

use std::borrow::Cow;

use bytes::Bytes;
use prost::Message;

use crate::error::{Error, ErrorKind, Location};
use crate::traits::{Deserializer, Serializer};

/// Protocol Buffers through prost, for any `T: prost::Message + Default`.
///
/// Serializing cannot fail. Deserializing decodes from the payload's [`Bytes`] directly, so
/// fields declared as `bytes::Bytes` in your message share the payload's buffer instead of
/// being copied.
///
/// A failure has kind [`ErrorKind::Protobuf`] and, when prost names it, the field that could
/// not be decoded as a [`Location::Field`] path from the outermost message
/// (`Outer.inner.field`). prost does not report byte offsets.
///
/// Requires the `protobuf` feature.
///
/// ```
/// use bytes::Bytes;
/// use kinesis_serde::{Deserializer, ErrorKind, Protobuf, Serializer};
///
/// #[derive(Clone, PartialEq, prost::Message)]
/// struct Reading {
///     #[prost(string, tag = "1")]
///     sensor: String,
///     #[prost(sint64, tag = "2")]
///     value: i64,
/// }
///
/// let reading = Reading { sensor: "t-1".into(), value: -40 };
/// let payload = Protobuf.serialize(&reading)?;
/// let back: Reading = Protobuf.deserialize(payload)?;
/// assert_eq!(back, reading);
///
/// // A string field (tag 1) announcing 5 bytes, followed by only 2.
/// let err = Deserializer::<Reading>::deserialize(&Protobuf, Bytes::from_static(b"\x0a\x05ab"))
///     .unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::Protobuf);
/// assert_eq!(
///     err.to_string(),
///     "cannot deserialize a record of 4 bytes: invalid protobuf message in field `Reading.sensor`"
/// );
/// # Ok::<(), kinesis_serde::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Protobuf;

impl<T: Message> Serializer<T> for Protobuf {
    fn serialize(&self, value: &T) -> Result<Bytes, Error> {
        Ok(Bytes::from(value.encode_to_vec()))
    }
}

impl<T: Message + Default> Deserializer<T> for Protobuf {
    fn deserialize(&self, data: Bytes) -> Result<T, Error> {
        let len = data.len();
        T::decode(data).map_err(|e| {
            let mut error = Error::new(ErrorKind::Protobuf);
            if let Some(path) = field_path(&e.to_string()) {
                error = error.with_location(Location::Field(Cow::Owned(path)));
            }
            error
                .with_input_len(len)
                .with_source_typed(e)
                .deserializing()
        })
    }
}

/// The field path in a `prost::DecodeError`'s message, outermost message first.
///
/// prost does not expose the (message, field) stack it keeps, only its `Display`:
/// `failed to decode Protobuf message: Inner.field: Outer.inner: <description>`, innermost
/// first. Those names are the schema's (`&'static str` in prost), never payload data.
fn field_path(display: &str) -> Option<String> {
    let mut rest = display.strip_prefix("failed to decode Protobuf message: ")?;
    let mut stack: Vec<(&str, &str)> = Vec::new();
    while let Some((segment, tail)) = rest.split_once(": ") {
        let Some((message, field)) = segment.split_once('.') else {
            break;
        };
        if !is_identifier(message) || !is_identifier(field) {
            break;
        }
        stack.push((message, field));
        rest = tail;
    }
    let (outermost, _) = *stack.last()?;
    let mut path = String::from(outermost);
    for (_, field) in stack.iter().rev() {
        path.push('.');
        path.push_str(field);
    }
    Some(path)
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_path_reverses_prosts_stack() {
        assert_eq!(
            field_path(
                "failed to decode Protobuf message: Inner.value: Outer.inner: buffer underflow"
            )
            .as_deref(),
            Some("Outer.inner.value")
        );
        assert_eq!(
            field_path("failed to decode Protobuf message: Reading.sensor: invalid wire type: LengthDelimited (expected Varint)")
                .as_deref(),
            Some("Reading.sensor")
        );
    }

    #[test]
    fn field_path_is_none_without_a_stack() {
        assert_eq!(
            field_path("failed to decode Protobuf message: invalid tag value: 0"),
            None
        );
        assert_eq!(
            field_path("failed to decode Protobuf message: buffer underflow"),
            None
        );
        assert_eq!(field_path("something else"), None);
    }
}
