//! `map`, `try_map`, `contramap`, `try_contramap`, the closure-built codecs and `Codec`.

use std::error::Error as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use kinesis_serde::{
    Ascii, Codec, Deserializer, Error, ErrorKind, Location, Raw, Serde, Serializer, Utf8,
    Utf8Bytes, deserializer_fn, serializer_fn,
};

#[derive(Debug, Clone, PartialEq)]
struct Temperature(i32);

#[derive(Debug)]
struct OutOfRange;

impl std::fmt::Display for OutOfRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("out of range")
    }
}

impl std::error::Error for OutOfRange {}

fn assert_shareable<T: Clone + Send + Sync + 'static>(_: &T) {}

#[test]
fn map_transforms_values_and_passes_errors_through() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&calls);
    let upper = Utf8.map(move |s: String| {
        counted.fetch_add(1, Ordering::Relaxed);
        s.to_uppercase()
    });
    assert_eq!(
        upper.deserialize(Bytes::from_static(b"abc")).unwrap(),
        "ABC"
    );
    assert_eq!(calls.load(Ordering::Relaxed), 1);

    let err = upper
        .deserialize(Bytes::from_static(b"a\xffc"))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidUtf8);
    assert_eq!(err.location(), Some(&Location::Offset(1)));
    assert_eq!(
        calls.load(Ordering::Relaxed),
        1,
        "closure not called on failure"
    );
}

#[test]
fn map_chains() {
    let d = Raw
        .map(|b: Bytes| b.len())
        .map(|n| n * 2)
        .map(|n: usize| n.to_string());
    assert_eq!(d.deserialize(Bytes::from_static(b"abc")).unwrap(), "6");
}

#[test]
fn try_map_turns_closure_errors_into_custom_errors() {
    let temps = Ascii.try_map(|s: String| {
        let n: i32 = s.parse()?;
        if !(-90..=60).contains(&n) {
            return Err(Box::new(OutOfRange) as kinesis_serde::BoxError);
        }
        Ok(Temperature(n))
    });
    assert_eq!(
        temps.deserialize(Bytes::from_static(b"-12")).unwrap(),
        Temperature(-12)
    );

    let err = temps.deserialize(Bytes::from_static(b"999")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Custom);
    assert_eq!(err.input_len(), Some(3));
    assert!(err.source().unwrap().downcast_ref::<OutOfRange>().is_some());
    assert_eq!(
        err.to_string(),
        "cannot deserialize a record of 3 bytes: codec error"
    );

    let err = temps.deserialize(Bytes::from_static(b"warm")).unwrap_err();
    assert!(
        err.source()
            .unwrap()
            .downcast_ref::<std::num::ParseIntError>()
            .is_some()
    );

    // The inner codec's error wins, and the closure never runs.
    let err = temps.deserialize(Bytes::from("−5")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotAscii);
}

#[test]
fn try_map_keeps_an_error_of_this_crate_and_fills_in_the_length() {
    let d = Raw.try_map(|b: Bytes| {
        if b.starts_with(b"v1") {
            Ok(b.slice(2..))
        } else {
            Err(Error::custom("unknown version")
                .with_message("unknown schema version")
                .with_location(Location::Offset(0)))
        }
    });
    let err = d.deserialize(Bytes::from_static(b"v2body")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Custom);
    assert_eq!(err.location(), Some(&Location::Offset(0)));
    assert_eq!(err.input_len(), Some(6));
    assert_eq!(
        err.to_string(),
        "cannot deserialize a record of 6 bytes: unknown schema version at byte 0"
    );
    assert_eq!(err.source().unwrap().to_string(), "unknown version");
}

#[test]
fn contramap_feeds_the_inner_serializer() {
    let ser = Utf8.contramap(|t: &Temperature| format!("{}C", t.0));
    assert_eq!(&ser.serialize(&Temperature(21)).unwrap()[..], b"21C");

    // The inner serializer's errors come through unchanged.
    let ascii = Ascii.contramap(|t: &Temperature| format!("{}°C", t.0));
    let err = ascii.serialize(&Temperature(21)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotAscii);
    assert_eq!(err.location(), Some(&Location::Offset(2)));
}

#[test]
fn contramap_accepts_unsized_inputs() {
    let ser = Raw.contramap(|s: &str| Bytes::copy_from_slice(s.as_bytes()));
    assert_eq!(&ser.serialize("abc").unwrap()[..], b"abc");
}

#[test]
fn try_contramap_turns_closure_errors_into_custom_errors() {
    let ser = Utf8.try_contramap(|t: &Temperature| {
        if t.0 < -273 {
            Err(OutOfRange)
        } else {
            Ok(t.0.to_string())
        }
    });
    assert_eq!(&ser.serialize(&Temperature(-1)).unwrap()[..], b"-1");
    let err = ser.serialize(&Temperature(-300)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Custom);
    assert_eq!(err.to_string(), "cannot serialize a value: codec error");
    assert!(err.source().unwrap().downcast_ref::<OutOfRange>().is_some());
}

#[test]
fn closure_codecs() {
    let ser = serializer_fn(|t: &Temperature| {
        i8::try_from(t.0).map(|n| Bytes::copy_from_slice(&n.to_be_bytes()))
    });
    let de = deserializer_fn(|b: Bytes| match &b[..] {
        [n] => Ok(Temperature(i32::from(*n as i8))),
        _ => Err(format!("expected 1 byte, got {}", b.len())),
    });
    assert_eq!(&ser.serialize(&Temperature(-3)).unwrap()[..], &[0xfd]);
    assert_eq!(
        de.deserialize(Bytes::from_static(&[0xfd])).unwrap(),
        Temperature(-3)
    );

    let err = ser.serialize(&Temperature(1000)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Custom);
    assert!(err.to_string().starts_with("cannot serialize"), "{err}");

    let err = de.deserialize(Bytes::from_static(b"xy")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Custom);
    assert_eq!(err.input_len(), Some(2));
    assert_eq!(err.source().unwrap().to_string(), "expected 1 byte, got 2");
}

#[test]
fn closure_codec_can_delegate_to_a_built_in_and_keep_its_error() {
    // Skip a 1-byte header, then read UTF-8 text.
    let de =
        deserializer_fn(|b: Bytes| Deserializer::<Utf8Bytes>::deserialize(&Utf8, b.slice(1..)));
    let err = de
        .deserialize(Bytes::from_static(b"\x01ab\xff"))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidUtf8);
    assert_eq!(
        err.location(),
        Some(&Location::Offset(2)),
        "offset within the slice"
    );
    // The built-in already knew the (sliced) length and the direction.
    assert_eq!(err.input_len(), Some(3));
    assert!(
        err.to_string()
            .starts_with("cannot deserialize a record of 3 bytes")
    );
}

#[test]
fn codec_pairs_a_serializer_and_a_deserializer() {
    let codec = Codec::new(
        Utf8.contramap(|t: &Temperature| t.0.to_string()),
        Utf8.try_map(|s: String| s.parse().map(Temperature)),
    );
    fn round_trip<C: Serde<Temperature>>(codec: &C, t: &Temperature) -> Temperature {
        codec.deserialize(codec.serialize(t).unwrap()).unwrap()
    }
    assert_eq!(round_trip(&codec, &Temperature(7)), Temperature(7));

    let (ser, de) = codec.clone().into_parts();
    assert_eq!(&ser.serialize(&Temperature(8)).unwrap()[..], b"8");
    assert!(de.deserialize(Bytes::from_static(b"x")).is_err());
}

#[test]
fn every_codec_is_clone_send_sync_static() {
    assert_shareable(&Raw);
    assert_shareable(&Utf8);
    assert_shareable(&Ascii);
    assert_shareable(&Utf8.map(|s: String| s.len()));
    assert_shareable(&Utf8.try_map(|s: String| s.parse::<u8>()));
    assert_shareable(&Utf8.contramap(|n: &u8| n.to_string()));
    assert_shareable(&Utf8.try_contramap(|n: &i8| u8::try_from(*n).map(|n| n.to_string())));
    assert_shareable(&serializer_fn(|b: &[u8]| {
        Ok::<_, Error>(Bytes::copy_from_slice(b))
    }));
    assert_shareable(&deserializer_fn(|b: Bytes| Ok::<_, Error>(b.len())));
    assert_shareable(&Codec::new(Raw, Utf8));
    assert_eq!(std::mem::size_of::<Raw>(), 0);
    assert_eq!(std::mem::size_of::<Utf8>(), 0);
    assert_eq!(std::mem::size_of::<Ascii>(), 0);
    #[cfg(feature = "json")]
    {
        assert_shareable(&kinesis_serde::Json);
        assert_eq!(std::mem::size_of::<kinesis_serde::Json>(), 0);
    }
    #[cfg(feature = "protobuf")]
    {
        assert_shareable(&kinesis_serde::Protobuf);
        assert_eq!(std::mem::size_of::<kinesis_serde::Protobuf>(), 0);
    }
}

#[test]
fn one_codec_serves_many_threads() {
    let codec = Utf8.try_map(|s: String| s.parse::<u32>());
    let handles: Vec<_> = (0..4u32)
        .map(|shard| {
            let codec = codec.clone();
            std::thread::spawn(move || {
                (0..100u32)
                    .map(|i| {
                        codec
                            .deserialize(Bytes::from((shard * 1000 + i).to_string()))
                            .unwrap()
                    })
                    .sum::<u32>()
            })
        })
        .collect();
    let total: u32 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    let expected: u32 = (0..4u32)
        .flat_map(|s| (0..100u32).map(move |i| s * 1000 + i))
        .sum();
    assert_eq!(total, expected);
}

#[test]
fn boxed_codecs_mix_behind_one_type() {
    let codecs: Vec<Box<dyn Deserializer<String> + Send + Sync>> = vec![
        Box::new(Utf8),
        Box::new(Ascii),
        Box::new(Raw.map(|b: Bytes| format!("{} bytes", b.len()))),
    ];
    let out: Vec<String> = codecs
        .iter()
        .map(|c| c.deserialize(Bytes::from_static(b"abc")).unwrap())
        .collect();
    assert_eq!(out, ["abc", "abc", "3 bytes"]);
}

#[test]
fn debug_names_the_parts_without_calling_anything() {
    let d = Utf8.map(|s: String| s.len());
    let debug = format!("{d:?}");
    assert!(debug.starts_with("Map { inner: Utf8, f: "), "{debug}");
    let c = Codec::new(Raw, Utf8);
    assert_eq!(
        format!("{c:?}"),
        "Codec { serializer: Raw, deserializer: Utf8 }"
    );
}

#[test]
fn as_try_turns_every_failure_into_a_value() {
    let lenient = Ascii.try_map(|s: String| s.parse::<i32>()).as_try();
    assert_shareable(&lenient);

    let good = lenient.deserialize(Bytes::from_static(b"-7")).unwrap();
    assert_eq!(good.unwrap(), -7);

    // Neither a codec failure nor a closure failure escapes as an error of the deserializer.
    let not_ascii = lenient
        .deserialize(Bytes::from_static(&[0xc3, 0xa9]))
        .unwrap();
    assert_eq!(not_ascii.unwrap_err().kind(), ErrorKind::NotAscii);
    let not_a_number = lenient.deserialize(Bytes::from_static(b"seven")).unwrap();
    let err = not_a_number.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Custom);
    assert_eq!(err.input_len(), Some(5));
}

#[test]
fn or_else_falls_back_on_the_same_payload_and_reports_the_last_error() {
    let tried = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&tried);
    let celsius = Ascii.try_map(|s: String| s.parse::<i32>()).map(Temperature);
    let tagged = deserializer_fn(move |b: Bytes| {
        counted.fetch_add(1, Ordering::Relaxed);
        match b.strip_prefix(b"C=") {
            Some(rest) => std::str::from_utf8(rest)
                .map_err(|_| OutOfRange)?
                .parse::<i32>()
                .map(Temperature)
                .map_err(|_| OutOfRange),
            None => Err(OutOfRange),
        }
    });
    let either = celsius.or_else(tagged);
    assert_shareable(&either);

    // The first codec succeeds: the alternative is not tried.
    assert_eq!(
        either.deserialize(Bytes::from_static(b"21")).unwrap(),
        Temperature(21)
    );
    assert_eq!(tried.load(Ordering::Relaxed), 0);

    // The first fails: the alternative sees the whole payload.
    assert_eq!(
        either.deserialize(Bytes::from_static(b"C=-3")).unwrap(),
        Temperature(-3)
    );
    assert_eq!(tried.load(Ordering::Relaxed), 1);

    // Both fail: the alternative's error is the one returned.
    let err = either.deserialize(Bytes::from_static(b"warm")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Custom);
    assert_eq!(err.source().unwrap().to_string(), "out of range");
    assert_eq!(tried.load(Ordering::Relaxed), 2);
}
