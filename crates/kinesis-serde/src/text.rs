//! The UTF-8 and ASCII text codecs.

use bytes::Bytes;

use crate::error::{Error, ErrorKind, Location};
use crate::traits::{Deserializer, Serializer};
use crate::utf8_bytes::{Utf8Bytes, invalid_utf8};

/// UTF-8 text.
///
/// Deserializing validates the payload and fails with
/// [`ErrorKind::InvalidUtf8`] at the offset of the first invalid byte.
///
/// | Type                         | Serialize                  | Deserialize                          |
/// |------------------------------|----------------------------|--------------------------------------|
/// | [`Utf8Bytes`]                | shares the buffer, no copy | shares the payload, no copy          |
/// | `String`                     | copies                     | reuses the buffer if not shared, else copies |
/// | `str`                        | copies                     | —                                    |
///
/// Serializing cannot fail: Rust strings are always UTF-8.
///
/// ```
/// use bytes::Bytes;
/// use kinesis_serde::{Deserializer, ErrorKind, Serializer, Utf8, Utf8Bytes};
///
/// let payload = Utf8.serialize("grüße")?;
/// let text: String = Utf8.deserialize(payload.clone())?;
/// assert_eq!(text, "grüße");
/// let view: Utf8Bytes = Utf8.deserialize(payload)?;
/// assert_eq!(view, "grüße");
///
/// let err = Deserializer::<String>::deserialize(&Utf8, Bytes::from_static(b"gr\xfc\xdfe"))
///     .unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::InvalidUtf8);
/// assert_eq!(err.to_string(), "cannot deserialize a record of 5 bytes: invalid UTF-8 at byte 2");
/// # Ok::<(), kinesis_serde::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Utf8;

impl Serializer<str> for Utf8 {
    fn serialize(&self, value: &str) -> Result<Bytes, Error> {
        Ok(Bytes::copy_from_slice(value.as_bytes()))
    }
}

impl Serializer<String> for Utf8 {
    fn serialize(&self, value: &String) -> Result<Bytes, Error> {
        Ok(Bytes::copy_from_slice(value.as_bytes()))
    }
}

impl Serializer<Utf8Bytes> for Utf8 {
    fn serialize(&self, value: &Utf8Bytes) -> Result<Bytes, Error> {
        Ok(value.as_bytes_buf().clone())
    }
}

impl Deserializer<String> for Utf8 {
    fn deserialize(&self, data: Bytes) -> Result<String, Error> {
        let len = data.len();
        String::from_utf8(Vec::from(data))
            .map_err(|e| invalid_utf8(e.utf8_error(), len).deserializing())
    }
}

impl Deserializer<Utf8Bytes> for Utf8 {
    fn deserialize(&self, data: Bytes) -> Result<Utf8Bytes, Error> {
        Utf8Bytes::from_utf8(data).map_err(Error::deserializing)
    }
}

/// 7-bit ASCII text.
///
/// Both ways, a byte above `0x7F` fails with [`ErrorKind::NotAscii`] at its offset (unlike
/// zio-kinesis, whose ASCII serializer used the platform's default charset, and whose
/// deserializer replaced such bytes). The types and their copying are those of
/// [`Utf8`].
///
/// ```
/// use bytes::Bytes;
/// use kinesis_serde::{Ascii, Deserializer, ErrorKind, Location, Serializer};
///
/// let payload = Ascii.serialize("GET /")?;
/// let text: String = Ascii.deserialize(payload)?;
/// assert_eq!(text, "GET /");
///
/// let err = Ascii.serialize("café").unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::NotAscii);
/// assert_eq!(err.location(), Some(&Location::Offset(3)));
/// assert_eq!(err.to_string(), "cannot serialize a value of 5 bytes: non-ASCII byte at byte 3");
/// # Ok::<(), kinesis_serde::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Ascii;

/// The offset of the first byte above `0x7F`, if any.
fn first_non_ascii(bytes: &[u8]) -> Option<usize> {
    if bytes.is_ascii() {
        None
    } else {
        bytes.iter().position(|b| !b.is_ascii())
    }
}

fn check_ascii(bytes: &[u8]) -> Result<(), Error> {
    match first_non_ascii(bytes) {
        None => Ok(()),
        Some(offset) => Err(Error::new(ErrorKind::NotAscii)
            .with_location(Location::Offset(offset))
            .with_input_len(bytes.len())),
    }
}

impl Serializer<str> for Ascii {
    fn serialize(&self, value: &str) -> Result<Bytes, Error> {
        check_ascii(value.as_bytes()).map_err(Error::serializing)?;
        Ok(Bytes::copy_from_slice(value.as_bytes()))
    }
}

impl Serializer<String> for Ascii {
    fn serialize(&self, value: &String) -> Result<Bytes, Error> {
        Serializer::<str>::serialize(self, value)
    }
}

impl Serializer<Utf8Bytes> for Ascii {
    fn serialize(&self, value: &Utf8Bytes) -> Result<Bytes, Error> {
        check_ascii(value.as_bytes()).map_err(Error::serializing)?;
        Ok(value.as_bytes_buf().clone())
    }
}

impl Deserializer<String> for Ascii {
    fn deserialize(&self, data: Bytes) -> Result<String, Error> {
        check_ascii(&data).map_err(Error::deserializing)?;
        // ASCII is UTF-8, so this cannot fail; it is checked again rather than assumed
        // because the crate forbids `unsafe`.
        Utf8.deserialize(data)
    }
}

impl Deserializer<Utf8Bytes> for Ascii {
    fn deserialize(&self, data: Bytes) -> Result<Utf8Bytes, Error> {
        check_ascii(&data).map_err(Error::deserializing)?;
        Utf8.deserialize(data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_string_reuses_an_unshared_buffer() {
        let vec = "unshared".as_bytes().to_vec();
        let ptr = vec.as_ptr();
        let s: String = Utf8.deserialize(Bytes::from(vec)).unwrap();
        assert_eq!(s.as_ptr(), ptr);
    }

    #[test]
    fn utf8_bytes_serialize_shares_the_buffer() {
        let text = Utf8Bytes::from(String::from("shared"));
        assert_eq!(Utf8.serialize(&text).unwrap().as_ptr(), text.as_ptr());
        assert_eq!(Ascii.serialize(&text).unwrap().as_ptr(), text.as_ptr());
    }

    #[test]
    fn invalid_utf8_reports_offset_length_and_direction() {
        let err = Deserializer::<Utf8Bytes>::deserialize(&Utf8, Bytes::from_static(b"abc\x80"))
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidUtf8);
        assert_eq!(err.location(), Some(&Location::Offset(3)));
        assert_eq!(
            err.to_string(),
            "cannot deserialize a record of 4 bytes: invalid UTF-8 at byte 3"
        );
    }

    #[test]
    fn truncated_utf8_is_invalid_at_the_start_of_the_sequence() {
        // "é" is C3 A9; cut after the first byte.
        let err =
            Deserializer::<String>::deserialize(&Utf8, Bytes::from_static(b"caf\xc3")).unwrap_err();
        assert_eq!(err.location(), Some(&Location::Offset(3)));
    }

    #[test]
    fn ascii_rejects_valid_utf8_that_is_not_ascii() {
        let err = Deserializer::<String>::deserialize(&Ascii, Bytes::from("añb")).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotAscii);
        assert_eq!(err.location(), Some(&Location::Offset(1)));
        assert_eq!(err.input_len(), Some(4));
    }

    #[test]
    fn ascii_accepts_control_characters_and_del() {
        let all: Vec<u8> = (0u8..=0x7f).collect();
        let s: String = Ascii.deserialize(Bytes::from(all.clone())).unwrap();
        assert_eq!(s.as_bytes(), &all[..]);
        assert_eq!(Ascii.serialize(&s).unwrap(), Bytes::from(all));
    }
}
