//! Every built-in codec gives back what it was given (property tests).

use bytes::Bytes;
use kinesis_serde::{Ascii, Deserializer, Raw, Serializer, Utf8, Utf8Bytes};
use proptest::prelude::*;

proptest! {
    #[test]
    fn raw_bytes(data in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let value = Bytes::from(data.clone());
        let payload = Raw.serialize(&value).unwrap();
        prop_assert_eq!(&payload[..], &data[..]);
        let back: Bytes = Raw.deserialize(payload).unwrap();
        prop_assert_eq!(back, value);
    }

    #[test]
    fn raw_vec(data in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let payload = Raw.serialize(&data).unwrap();
        let back: Vec<u8> = Raw.deserialize(payload).unwrap();
        prop_assert_eq!(&back, &data);
        let from_slice = Raw.serialize(&data[..]).unwrap();
        prop_assert_eq!(&from_slice[..], &data[..]);
    }

    #[test]
    fn utf8_string(text in any::<String>()) {
        let payload = Utf8.serialize(&text).unwrap();
        prop_assert_eq!(&payload[..], text.as_bytes());
        let back: String = Utf8.deserialize(payload.clone()).unwrap();
        prop_assert_eq!(&back, &text);
        let view: Utf8Bytes = Utf8.deserialize(payload).unwrap();
        prop_assert_eq!(view.as_str(), text.as_str());
        let again = Utf8.serialize(&view).unwrap();
        prop_assert_eq!(&again[..], text.as_bytes());
    }

    /// Deserializing arbitrary bytes agrees with the standard library, offset included.
    #[test]
    fn utf8_agrees_with_std(data in proptest::collection::vec(any::<u8>(), 0..256)) {
        let result: Result<String, _> = Utf8.deserialize(Bytes::from(data.clone()));
        match std::str::from_utf8(&data) {
            Ok(s) => prop_assert_eq!(result.unwrap(), s),
            Err(e) => {
                let err = result.unwrap_err();
                prop_assert_eq!(err.kind(), kinesis_serde::ErrorKind::InvalidUtf8);
                prop_assert_eq!(
                    err.location(),
                    Some(&kinesis_serde::Location::Offset(e.valid_up_to()))
                );
                prop_assert_eq!(err.input_len(), Some(data.len()));
            }
        }
    }

    #[test]
    fn ascii_string(text in "[\\x00-\\x7f]{0,512}") {
        let payload = Ascii.serialize(&text).unwrap();
        let back: String = Ascii.deserialize(payload.clone()).unwrap();
        prop_assert_eq!(&back, &text);
        let view: Utf8Bytes = Ascii.deserialize(payload).unwrap();
        prop_assert_eq!(view.as_str(), text.as_str());
    }

    /// Any non-ASCII character is refused both ways, at the offset of its first byte.
    #[test]
    fn ascii_refuses_first_non_ascii(
        prefix in "[\\x00-\\x7f]{0,64}",
        bad in any::<char>().prop_filter("non-ASCII", |c| !c.is_ascii()),
        suffix in any::<String>(),
    ) {
        let text = format!("{prefix}{bad}{suffix}");
        let expected = Some(kinesis_serde::Location::Offset(prefix.len()));
        let ser = Ascii.serialize(&text).unwrap_err();
        prop_assert_eq!(ser.kind(), kinesis_serde::ErrorKind::NotAscii);
        prop_assert_eq!(ser.location(), expected.as_ref());
        let de = Deserializer::<String>::deserialize(&Ascii, Bytes::from(text.clone())).unwrap_err();
        prop_assert_eq!(de.kind(), kinesis_serde::ErrorKind::NotAscii);
        prop_assert_eq!(de.location(), expected.as_ref());
        prop_assert_eq!(de.input_len(), Some(text.len()));
    }
}

#[cfg(feature = "json")]
mod json {
    use std::collections::BTreeMap;

    use bytes::Bytes;
    use kinesis_serde::{Deserializer, Json, Serializer};
    use proptest::prelude::*;
    use serde::{Deserialize, Serialize};

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct Order {
        id: u64,
        customer: String,
        lines: Vec<Line>,
        note: Option<String>,
        tags: BTreeMap<String, i32>,
    }

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct Line {
        sku: String,
        quantity: u32,
        discount: i16,
    }

    fn line() -> impl Strategy<Value = Line> {
        (any::<String>(), any::<u32>(), any::<i16>()).prop_map(|(sku, quantity, discount)| Line {
            sku,
            quantity,
            discount,
        })
    }

    fn order() -> impl Strategy<Value = Order> {
        (
            any::<u64>(),
            any::<String>(),
            proptest::collection::vec(line(), 0..5),
            proptest::option::of(any::<String>()),
            proptest::collection::btree_map(any::<String>(), any::<i32>(), 0..5),
        )
            .prop_map(|(id, customer, lines, note, tags)| Order {
                id,
                customer,
                lines,
                note,
                tags,
            })
    }

    proptest! {
        #[test]
        fn json_struct(order in order()) {
            let payload = Json.serialize(&order).unwrap();
            let back: Order = Json.deserialize(payload.clone()).unwrap();
            prop_assert_eq!(&back, &order);
            // The payload is plain JSON that serde_json reads the same way.
            let direct: Order = serde_json::from_slice(&payload).unwrap();
            prop_assert_eq!(direct, order);
        }

        #[test]
        fn json_value_from_borrowed_str(text in any::<String>()) {
            let payload = Json.serialize(text.as_str()).unwrap();
            let back: String = Json.deserialize(payload).unwrap();
            prop_assert_eq!(back, text);
        }

        /// Arbitrary bytes never panic the JSON deserializer.
        #[test]
        fn json_arbitrary_bytes_do_not_panic(data in proptest::collection::vec(any::<u8>(), 0..128)) {
            let _ = Deserializer::<serde_json::Value>::deserialize(&Json, Bytes::from(data));
        }
    }
}

#[cfg(feature = "protobuf")]
mod protobuf {
    use bytes::Bytes;
    use kinesis_serde::{Deserializer, Protobuf, Serializer};
    use proptest::prelude::*;
    use prost::Message;

    #[derive(Clone, PartialEq, prost::Message)]
    struct Event {
        #[prost(string, tag = "1")]
        name: String,
        #[prost(uint64, tag = "2")]
        at: u64,
        #[prost(sint32, repeated, tag = "3")]
        deltas: Vec<i32>,
        #[prost(bytes = "bytes", tag = "4")]
        blob: Bytes,
        #[prost(message, optional, tag = "5")]
        origin: Option<Origin>,
        #[prost(bool, tag = "6")]
        replay: bool,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    struct Origin {
        #[prost(string, tag = "1")]
        host: String,
        #[prost(fixed32, tag = "2")]
        port: u32,
    }

    fn event() -> impl Strategy<Value = Event> {
        (
            any::<String>(),
            any::<u64>(),
            proptest::collection::vec(any::<i32>(), 0..16),
            proptest::collection::vec(any::<u8>(), 0..64),
            proptest::option::of((any::<String>(), any::<u32>())),
            any::<bool>(),
        )
            .prop_map(|(name, at, deltas, blob, origin, replay)| Event {
                name,
                at,
                deltas,
                blob: Bytes::from(blob),
                origin: origin.map(|(host, port)| Origin { host, port }),
                replay,
            })
    }

    proptest! {
        #[test]
        fn protobuf_message(event in event()) {
            let payload = Protobuf.serialize(&event).unwrap();
            prop_assert_eq!(&payload[..], &event.encode_to_vec()[..]);
            let back: Event = Protobuf.deserialize(payload).unwrap();
            prop_assert_eq!(back, event);
        }

        /// Arbitrary bytes never panic the protobuf deserializer.
        #[test]
        fn protobuf_arbitrary_bytes_do_not_panic(data in proptest::collection::vec(any::<u8>(), 0..128)) {
            let _ = Deserializer::<Event>::deserialize(&Protobuf, Bytes::from(data));
        }
    }
}
