//! The raw-bytes codec.

use bytes::Bytes;

use crate::error::Error;
use crate::traits::{Deserializer, Serializer};

/// The payload as it is: no format, no validation, no failure.
///
/// | Type        | Serialize                  | Deserialize                                   |
/// |-------------|----------------------------|-----------------------------------------------|
/// | [`Bytes`]   | shares the buffer, no copy | returns the payload itself, no copy           |
/// | `Vec<u8>`   | copies                     | reuses the buffer if it is not shared, else copies |
/// | `[u8]`      | copies                     | —                                             |
///
/// `Raw` is a zero-sized `Copy` value: pass it by value wherever a codec is wanted.
///
/// ```
/// use bytes::Bytes;
/// use kinesis_serde::{Deserializer, Raw, Serializer};
///
/// let payload = Bytes::from_static(b"\x00\x01binary");
/// let same: Bytes = Raw.deserialize(payload.clone())?;
/// assert_eq!(same.as_ptr(), payload.as_ptr()); // not copied
///
/// let vec: Vec<u8> = Raw.deserialize(payload.clone())?;
/// assert_eq!(Raw.serialize(&vec)?, payload);
/// # Ok::<(), kinesis_serde::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Raw;

impl Serializer<Bytes> for Raw {
    fn serialize(&self, value: &Bytes) -> Result<Bytes, Error> {
        Ok(value.clone())
    }

    fn serialize_owned(&self, value: Bytes) -> Result<Bytes, Error> {
        Ok(value)
    }
}

impl Serializer<Vec<u8>> for Raw {
    fn serialize(&self, value: &Vec<u8>) -> Result<Bytes, Error> {
        Ok(Bytes::copy_from_slice(value))
    }

    fn serialize_owned(&self, value: Vec<u8>) -> Result<Bytes, Error> {
        Ok(Bytes::from(value))
    }
}

impl Serializer<[u8]> for Raw {
    fn serialize(&self, value: &[u8]) -> Result<Bytes, Error> {
        Ok(Bytes::copy_from_slice(value))
    }
}

impl Deserializer<Bytes> for Raw {
    fn deserialize(&self, data: Bytes) -> Result<Bytes, Error> {
        Ok(data)
    }
}

impl Deserializer<Vec<u8>> for Raw {
    fn deserialize(&self, data: Bytes) -> Result<Vec<u8>, Error> {
        Ok(Vec::from(data))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_round_trip_shares_the_buffer_both_ways() {
        let payload = Bytes::from(vec![1u8, 2, 3, 4]);
        let out: Bytes = Raw.deserialize(payload.clone()).unwrap();
        assert_eq!(out.as_ptr(), payload.as_ptr());
        let back = Raw.serialize(&out).unwrap();
        assert_eq!(back.as_ptr(), payload.as_ptr());
    }

    #[test]
    fn vec_reuses_an_unshared_buffer() {
        let vec = vec![9u8; 64];
        let ptr = vec.as_ptr();
        let out: Vec<u8> = Raw.deserialize(Bytes::from(vec)).unwrap();
        assert_eq!(out.as_ptr(), ptr);
        assert_eq!(out, vec![9u8; 64]);
    }

    #[test]
    fn vec_copies_a_shared_buffer() {
        let payload = Bytes::from(vec![5u8; 8]);
        let out: Vec<u8> = Raw.deserialize(payload.clone()).unwrap();
        assert_ne!(out.as_ptr(), payload.as_ptr());
        assert_eq!(out, payload);
    }

    #[test]
    fn empty_payload() {
        let out: Bytes = Raw.deserialize(Bytes::new()).unwrap();
        assert!(out.is_empty());
        assert!(Raw.serialize(&[][..]).unwrap().is_empty());
    }
}
