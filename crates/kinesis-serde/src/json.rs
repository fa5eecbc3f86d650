//! The JSON codec (feature `json`).

use bytes::Bytes;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::error::Category;

use crate::error::{Error, ErrorKind, Location};
use crate::traits::{Deserializer, Serializer};

/// JSON through serde_json, for any `T: Serialize` / `T: DeserializeOwned`.
///
/// Like `serde_json::from_slice`, the target type picks what to deserialize into; name it
/// when it cannot be inferred. Serializing writes compact JSON.
///
/// A failure has kind [`ErrorKind::Json`], a short safe description of serde_json's
/// category (syntax error, type mismatch, truncated input) and, when deserializing, the line
/// and column serde_json reports. serde_json's own message is kept only as the source, because
/// it may quote the payload (`invalid type: string "…"`).
///
/// Requires the `json` feature.
///
/// ```
/// use bytes::Bytes;
/// use kinesis_serde::{Deserializer, ErrorKind, Json, Location, Serializer};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Debug, PartialEq, Serialize, Deserialize)]
/// struct Order {
///     id: u64,
///     sku: String,
/// }
///
/// let order = Order { id: 7, sku: "A-1".into() };
/// let payload = Json.serialize(&order)?;
/// assert_eq!(&payload[..], br#"{"id":7,"sku":"A-1"}"#);
/// let back: Order = Json.deserialize(payload)?;
/// assert_eq!(back, order);
///
/// let err = Deserializer::<Order>::deserialize(&Json, Bytes::from_static(b"{\"id\": \"x\"}"))
///     .unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::Json);
/// assert_eq!(err.location(), Some(&Location::LineColumn { line: 1, column: 10 }));
/// assert_eq!(
///     err.to_string(),
///     "cannot deserialize a record of 11 bytes: invalid JSON (value does not match the target type) at line 1, column 10"
/// );
/// # Ok::<(), kinesis_serde::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Json;

fn json_error(error: serde_json::Error) -> Error {
    let message = match error.classify() {
        Category::Syntax => "syntax error",
        Category::Data => "value does not match the target type",
        Category::Eof => "unexpected end of input",
        Category::Io => "I/O error",
    };
    let mut out = Error::new(ErrorKind::Json).with_message(message);
    // serde_json reports line 0 when it has no position (errors raised while serializing).
    if error.line() > 0 {
        out = out.with_location(Location::LineColumn {
            line: error.line(),
            column: error.column(),
        });
    }
    out.with_source_typed(error)
}

impl<T: Serialize + ?Sized> Serializer<T> for Json {
    fn serialize(&self, value: &T) -> Result<Bytes, Error> {
        serde_json::to_vec(value)
            .map(Bytes::from)
            .map_err(|e| json_error(e).serializing())
    }
}

impl<T: DeserializeOwned> Deserializer<T> for Json {
    fn deserialize(&self, data: Bytes) -> Result<T, Error> {
        serde_json::from_slice(&data)
            .map_err(|e| json_error(e).with_input_len(data.len()).deserializing())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::error::Error as _;

    use super::*;

    #[test]
    fn syntax_error_has_line_and_column() {
        let err = Deserializer::<serde_json::Value>::deserialize(
            &Json,
            Bytes::from_static(b"{\n  \"a\": 1,\n  oops\n}"),
        )
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Json);
        assert_eq!(
            err.location(),
            Some(&Location::LineColumn { line: 3, column: 3 })
        );
        assert!(err.to_string().contains("syntax error"), "{err}");
    }

    #[test]
    fn truncated_input_is_eof() {
        let err =
            Deserializer::<Vec<u32>>::deserialize(&Json, Bytes::from_static(b"[1, 2")).unwrap_err();
        assert!(err.to_string().contains("unexpected end of input"), "{err}");
    }

    #[test]
    fn serialize_failure_has_no_location() {
        // serde_json refuses maps whose keys are not strings.
        let mut map = BTreeMap::new();
        map.insert(vec![1u8], 1u8);
        let err = Json.serialize(&map).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Json);
        assert_eq!(err.location(), None);
        assert!(
            err.source()
                .unwrap()
                .downcast_ref::<serde_json::Error>()
                .is_some()
        );
        assert!(
            err.to_string()
                .starts_with("cannot serialize a value: invalid JSON")
        );
    }

    #[test]
    fn unsized_values_serialize() {
        assert_eq!(&Json.serialize("a\"b").unwrap()[..], br#""a\"b""#);
        assert_eq!(&Json.serialize(&[1, 2][..]).unwrap()[..], b"[1,2]");
    }
}
