//! Failures say what failed and where, keep the cause as `source()`, and never show payload
//! data in `Display` or `Debug`.

use std::error::Error as _;

use bytes::Bytes;
use kinesis_serde::{
    Ascii, Deserializer, Error, ErrorKind, Location, Raw, Serializer, Utf8, Utf8Bytes,
};
use proptest::prelude::*;

/// Asserts that neither `Display` nor `Debug` of `err` contains `secret`.
fn assert_hidden(err: &Error, secret: &str) {
    let display = err.to_string();
    let debug = format!("{err:?}");
    let alternate = format!("{err:#?}");
    assert!(
        !display.contains(secret),
        "Display shows the payload: {display}"
    );
    assert!(!debug.contains(secret), "Debug shows the payload: {debug}");
    assert!(
        !alternate.contains(secret),
        "Debug shows the payload: {alternate}"
    );
}

#[test]
fn invalid_utf8_has_kind_offset_length_and_source() {
    let payload = Bytes::from_static(b"SECRET-TOKEN \xe2\x28\xa1 tail");
    let err = Deserializer::<String>::deserialize(&Utf8, payload.clone()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidUtf8);
    assert_eq!(err.location(), Some(&Location::Offset(13)));
    assert_eq!(err.input_len(), Some(payload.len()));
    assert_eq!(
        err.to_string(),
        "cannot deserialize a record of 21 bytes: invalid UTF-8 at byte 13"
    );
    let source = err.source().expect("source kept");
    let utf8 = source
        .downcast_ref::<std::str::Utf8Error>()
        .expect("a Utf8Error");
    assert_eq!(utf8.valid_up_to(), 13);
    assert_hidden(&err, "SECRET");
    assert_hidden(&err, "tail");

    // The zero-copy target reports the same.
    let err = Deserializer::<Utf8Bytes>::deserialize(&Utf8, payload).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidUtf8);
    assert_eq!(err.location(), Some(&Location::Offset(13)));
    assert_hidden(&err, "SECRET");
}

#[test]
fn non_ascii_has_kind_and_offset_both_ways() {
    let text = "SECRET-TOKEN: naïve";
    let err = Deserializer::<String>::deserialize(&Ascii, Bytes::from(text)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotAscii);
    assert_eq!(err.location(), Some(&Location::Offset(16)));
    assert_eq!(err.input_len(), Some(text.len()));
    assert_hidden(&err, "SECRET");
    assert_hidden(&err, "na");

    let err = Ascii.serialize(text).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotAscii);
    assert_eq!(err.location(), Some(&Location::Offset(16)));
    assert!(
        err.to_string()
            .starts_with("cannot serialize a value of 20 bytes"),
        "{err}"
    );
    assert_hidden(&err, "SECRET");
}

#[test]
fn custom_errors_keep_the_source_out_of_display() {
    // A closure whose error quotes the payload, as careless code does.
    let parse =
        Utf8.try_map(|s: String| s.parse::<u32>().map_err(|_| format!("not a number: {s}")));
    let err = parse
        .deserialize(Bytes::from_static(b"SECRET-TOKEN"))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Custom);
    assert_eq!(err.input_len(), Some(12));
    assert!(err.source().unwrap().to_string().contains("SECRET-TOKEN"));
    assert_hidden(&err, "SECRET");
}

#[test]
fn raw_never_fails() {
    for payload in [&b""[..], b"\xff\xfe", b"anything"] {
        let out: Bytes = Raw.deserialize(Bytes::copy_from_slice(payload)).unwrap();
        assert_eq!(&out[..], payload);
    }
}

#[cfg(feature = "json")]
mod json {
    use super::*;
    use kinesis_serde::Json;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)] // only the failures are of interest
    struct Payment {
        card: u64,
        amount: u32,
    }

    #[test]
    fn type_mismatch_hides_the_value_serde_json_quotes() {
        let payload = Bytes::from_static(br#"{"amount": 12, "card": "SECRET-4111"}"#);
        let err = Deserializer::<Payment>::deserialize(&Json, payload.clone()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Json);
        assert_eq!(
            err.location(),
            Some(&Location::LineColumn {
                line: 1,
                column: 36
            })
        );
        assert_eq!(err.input_len(), Some(payload.len()));
        // serde_json's own message quotes the value...
        let source = err.source().unwrap();
        assert!(source.to_string().contains("SECRET-4111"), "{source}");
        assert!(source.downcast_ref::<serde_json::Error>().is_some());
        // ...ours does not.
        assert_hidden(&err, "SECRET");
        assert_eq!(
            err.to_string(),
            "cannot deserialize a record of 37 bytes: invalid JSON (value does not match the target type) at line 1, column 36"
        );
    }

    #[test]
    fn syntax_error_has_line_and_column() {
        let payload = Bytes::from_static(b"{\"card\": 4111,\n \"amount\": SECRET}");
        let err = Deserializer::<Payment>::deserialize(&Json, payload).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Json);
        assert_eq!(
            err.location(),
            Some(&Location::LineColumn {
                line: 2,
                column: 12
            })
        );
        assert!(err.to_string().contains("(syntax error)"), "{err}");
        assert_hidden(&err, "SECRET");
    }

    #[test]
    fn missing_field_and_truncation() {
        let err =
            Deserializer::<Payment>::deserialize(&Json, Bytes::from_static(br#"{"card": 1}"#))
                .unwrap_err();
        assert!(
            err.to_string().contains("does not match the target type"),
            "{err}"
        );
        let err = Deserializer::<Payment>::deserialize(&Json, Bytes::from_static(br#"{"card": "#))
            .unwrap_err();
        assert!(err.to_string().contains("unexpected end of input"), "{err}");
        let err = Deserializer::<Payment>::deserialize(&Json, Bytes::new()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Json);
        assert_eq!(err.input_len(), Some(0));
    }
}

#[cfg(feature = "protobuf")]
mod protobuf {
    use super::*;
    use kinesis_serde::Protobuf;

    #[derive(Clone, PartialEq, prost::Message)]
    struct Outer {
        #[prost(string, tag = "1")]
        label: String,
        #[prost(message, optional, tag = "2")]
        inner: Option<Inner>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    struct Inner {
        #[prost(uint64, tag = "1")]
        value: u64,
    }

    #[test]
    fn truncated_nested_field_names_the_path() {
        // label = "SECRET-TOKEN", then `inner` (tag 2, length 2) holding tag 1 (varint)
        // whose varint never ends.
        let mut payload = vec![0x0a, 12];
        payload.extend_from_slice(b"SECRET-TOKEN");
        payload.extend_from_slice(&[0x12, 0x02, 0x08, 0xff]);
        let err = Deserializer::<Outer>::deserialize(&Protobuf, Bytes::from(payload.clone()))
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Protobuf);
        assert_eq!(
            err.location(),
            Some(&Location::Field("Outer.inner.value".into()))
        );
        assert_eq!(err.input_len(), Some(payload.len()));
        assert!(
            err.source()
                .unwrap()
                .downcast_ref::<prost::DecodeError>()
                .is_some()
        );
        assert_hidden(&err, "SECRET");
    }

    #[test]
    fn garbage_is_a_protobuf_error() {
        // Tag 0 is never valid.
        let err = Deserializer::<Outer>::deserialize(&Protobuf, Bytes::from_static(b"\x00SECRET"))
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Protobuf);
        assert_eq!(err.location(), None);
        assert_eq!(
            err.to_string(),
            "cannot deserialize a record of 7 bytes: invalid protobuf message"
        );
        assert_hidden(&err, "SECRET");
    }

    #[test]
    fn invalid_utf8_in_a_string_field_is_a_protobuf_error() {
        let err =
            Deserializer::<Outer>::deserialize(&Protobuf, Bytes::from_static(b"\x0a\x03S\xffS"))
                .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Protobuf);
        assert_eq!(err.location(), Some(&Location::Field("Outer.label".into())));
    }
}

proptest! {
    /// Whatever the secret and wherever the bad byte, errors never quote the payload: two
    /// payloads that differ only in their content (same length, bad byte at the same place)
    /// give the same `Display` and `Debug`.
    #[test]
    fn no_payload_in_text_errors(
        secret in "[A-Z]{12}",
        bad in 0x80u8..=0xff,
        at_start in any::<bool>(),
    ) {
        let build = |secret: &str, bad: u8| {
            let mut payload = Vec::new();
            if at_start {
                payload.push(bad);
                payload.extend_from_slice(secret.as_bytes());
            } else {
                payload.extend_from_slice(secret.as_bytes());
                payload.push(bad);
            }
            Bytes::from(payload)
        };
        let payload = build(&secret, bad);
        let other = build("zzzzzzzzzzzz", 0xff);
        let errors = |payload: &Bytes| {
            [
                Deserializer::<String>::deserialize(&Utf8, payload.clone()).unwrap_err(),
                Deserializer::<Utf8Bytes>::deserialize(&Ascii, payload.clone()).unwrap_err(),
            ]
        };
        for (err, twin) in errors(&payload).iter().zip(errors(&other).iter()) {
            let display = err.to_string();
            let debug = format!("{err:?}");
            prop_assert!(!display.contains(&secret));
            prop_assert!(!debug.contains(&secret));
            prop_assert!(!display.contains("\\x") && !debug.contains("\\x"));
            prop_assert_eq!(&display, &twin.to_string());
            prop_assert_eq!(&debug, &format!("{twin:?}"));
        }
    }
}
