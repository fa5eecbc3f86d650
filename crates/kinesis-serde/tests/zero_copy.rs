//! Deserializing does not copy the payload where the target type can share it.

use bytes::Bytes;
use kinesis_serde::{Ascii, Deserializer, Raw, Serializer, Utf8, Utf8Bytes};

fn payload(text: &str) -> Bytes {
    // Heap-backed and shared (a clone is kept), like a record in a batch.
    Bytes::from(text.as_bytes().to_vec())
}

#[test]
fn raw_returns_the_same_bytes() {
    let input = payload("raw payload");
    let out: Bytes = Raw.deserialize(input.clone()).unwrap();
    assert_eq!(out.as_ptr(), input.as_ptr());
    assert_eq!(out.len(), input.len());
}

#[test]
fn raw_returns_the_same_slice_of_a_larger_buffer() {
    let batch = payload("header|record-one|record-two");
    let record = batch.slice(7..17);
    let out: Bytes = Raw.deserialize(record.clone()).unwrap();
    assert_eq!(out.as_ptr(), record.as_ptr());
    assert_eq!(&out[..], b"record-one");
}

#[test]
fn utf8_and_ascii_views_share_the_payload() {
    let input = payload("text payload");
    let utf8: Utf8Bytes = Utf8.deserialize(input.clone()).unwrap();
    assert_eq!(utf8.as_ptr(), input.as_ptr());
    let ascii: Utf8Bytes = Ascii.deserialize(input.clone()).unwrap();
    assert_eq!(ascii.as_ptr(), input.as_ptr());
    assert_eq!(ascii.into_bytes().as_ptr(), input.as_ptr());
}

#[test]
fn serializing_shared_buffers_does_not_copy() {
    let bytes = payload("out");
    assert_eq!(Raw.serialize(&bytes).unwrap().as_ptr(), bytes.as_ptr());
    let text = Utf8Bytes::from(String::from("out"));
    assert_eq!(Utf8.serialize(&text).unwrap().as_ptr(), text.as_ptr());
}

#[test]
fn owned_targets_copy_a_shared_payload() {
    let input = payload("shared");
    let s: String = Utf8.deserialize(input.clone()).unwrap();
    assert_ne!(s.as_ptr(), input.as_ptr());
    assert_eq!(s, "shared");
}

#[cfg(feature = "protobuf")]
#[test]
fn protobuf_bytes_fields_share_the_payload() {
    use kinesis_serde::Protobuf;

    #[derive(Clone, PartialEq, prost::Message)]
    struct Blob {
        #[prost(bytes = "bytes", tag = "1")]
        data: Bytes,
    }

    let encoded = Protobuf
        .serialize(&Blob {
            data: Bytes::from_static(&[7u8; 100]),
        })
        .unwrap();
    let input = Bytes::from(encoded.to_vec());
    let blob: Blob = Protobuf.deserialize(input.clone()).unwrap();
    // Tag byte and one-byte length precede the field's data.
    assert_eq!(blob.data.as_ptr(), input[2..].as_ptr());
}
