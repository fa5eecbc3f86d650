//! `Utf8Bytes`: text that shares the record's buffer.

use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;

use bytes::Bytes;
use bytes_utils::Str;

use crate::error::{Error, ErrorKind, Location};

/// UTF-8 text that shares its buffer with the record it came from.
///
/// A `Utf8Bytes` is a [`Bytes`] known to hold valid UTF-8. It derefs to [`str`], so every
/// `str` method works on it; cloning and [`into_bytes`](Utf8Bytes::into_bytes) never copy.
/// [`Utf8`](crate::Utf8) and [`Ascii`](crate::Ascii) deserialize into it without copying the
/// payload; use `String` instead when you need to own or modify the text.
///
/// ```
/// use bytes::Bytes;
/// use kinesis_serde::{Deserializer, Utf8, Utf8Bytes};
///
/// let payload = Bytes::from_static("héllo wörld".as_bytes());
/// let text: Utf8Bytes = Utf8.deserialize(payload.clone())?;
/// assert_eq!(text.as_ptr(), payload.as_ptr()); // no copy
/// assert_eq!(text.split(' ').count(), 2);     // a `str` method
/// assert_eq!(text, "héllo wörld");
/// # Ok::<(), kinesis_serde::Error>(())
/// ```
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Utf8Bytes(Str);

impl Utf8Bytes {
    /// Text from a `&'static str`, without copying.
    ///
    /// ```
    /// use kinesis_serde::Utf8Bytes;
    ///
    /// const GREETING: &str = "hello";
    /// let text = Utf8Bytes::from_static(GREETING);
    /// assert_eq!(text.as_ptr(), GREETING.as_ptr());
    /// ```
    pub fn from_static(text: &'static str) -> Self {
        Self(Str::from_static(text))
    }

    /// Checks that `bytes` hold UTF-8 and wraps them, without copying.
    ///
    /// # Errors
    ///
    /// An [`Error`] of kind [`InvalidUtf8`](ErrorKind::InvalidUtf8) at the offset of the first
    /// invalid byte.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use kinesis_serde::{ErrorKind, Location, Utf8Bytes};
    ///
    /// let text = Utf8Bytes::from_utf8(Bytes::from_static(b"ok"))?;
    /// assert_eq!(text.as_str(), "ok");
    ///
    /// let err = Utf8Bytes::from_utf8(Bytes::from_static(b"o\xffk")).unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::InvalidUtf8);
    /// assert_eq!(err.location(), Some(&Location::Offset(1)));
    /// # Ok::<(), kinesis_serde::Error>(())
    /// ```
    pub fn from_utf8(bytes: Bytes) -> Result<Self, Error> {
        let len = bytes.len();
        Str::from_inner(bytes)
            .map(Self)
            .map_err(|e| invalid_utf8(e.utf8_error(), len))
    }

    /// The text as a `&str`.
    ///
    /// ```
    /// use kinesis_serde::Utf8Bytes;
    ///
    /// assert_eq!(Utf8Bytes::from_static("abc").as_str(), "abc");
    /// ```
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The underlying buffer, without copying.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use kinesis_serde::Utf8Bytes;
    ///
    /// let bytes: Bytes = Utf8Bytes::from_static("abc").into_bytes();
    /// assert_eq!(bytes, Bytes::from_static(b"abc"));
    /// ```
    pub fn into_bytes(self) -> Bytes {
        self.0.into_inner()
    }

    /// A reference to the underlying buffer.
    ///
    /// ```
    /// use kinesis_serde::Utf8Bytes;
    ///
    /// let text = Utf8Bytes::from_static("abc");
    /// let shared = text.as_bytes_buf().clone(); // a reference-count increment, no copy
    /// assert_eq!(shared.as_ptr(), text.as_ptr());
    /// ```
    pub fn as_bytes_buf(&self) -> &Bytes {
        self.0.inner()
    }
}

pub(crate) fn invalid_utf8(error: std::str::Utf8Error, len: usize) -> Error {
    Error::new(ErrorKind::InvalidUtf8)
        .with_location(Location::Offset(error.valid_up_to()))
        .with_input_len(len)
        .with_source_typed(error)
}

impl Deref for Utf8Bytes {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Utf8Bytes {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl AsRef<[u8]> for Utf8Bytes {
    fn as_ref(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl Borrow<str> for Utf8Bytes {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Utf8Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.as_str(), f)
    }
}

impl fmt::Debug for Utf8Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl From<String> for Utf8Bytes {
    /// Takes over the string's buffer, without copying.
    fn from(text: String) -> Self {
        Self(Str::from(text))
    }
}

impl From<&'static str> for Utf8Bytes {
    fn from(text: &'static str) -> Self {
        Self::from_static(text)
    }
}

impl From<Utf8Bytes> for Bytes {
    fn from(text: Utf8Bytes) -> Self {
        text.into_bytes()
    }
}

impl From<Utf8Bytes> for String {
    fn from(text: Utf8Bytes) -> Self {
        text.as_str().to_owned()
    }
}

impl TryFrom<Bytes> for Utf8Bytes {
    type Error = Error;

    fn try_from(bytes: Bytes) -> Result<Self, Error> {
        Self::from_utf8(bytes)
    }
}

impl PartialEq<str> for Utf8Bytes {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Utf8Bytes {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for Utf8Bytes {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other.as_str()
    }
}

impl PartialEq<Utf8Bytes> for str {
    fn eq(&self, other: &Utf8Bytes) -> bool {
        self == other.as_str()
    }
}

impl PartialEq<Utf8Bytes> for &str {
    fn eq(&self, other: &Utf8Bytes) -> bool {
        *self == other.as_str()
    }
}

impl PartialEq<Utf8Bytes> for String {
    fn eq(&self, other: &Utf8Bytes) -> bool {
        self.as_str() == other.as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_string_takes_over_the_buffer() {
        let s = String::from("owned text");
        let ptr = s.as_ptr();
        let text = Utf8Bytes::from(s);
        assert_eq!(text.as_ptr(), ptr);
        assert_eq!(text.clone().into_bytes().as_ptr(), ptr);
    }

    #[test]
    fn comparisons_and_formatting_follow_str() {
        let text = Utf8Bytes::from("b");
        let a = Utf8Bytes::from_static("a");
        assert!(a < text);
        assert_eq!(text, "b");
        assert_eq!("b", text);
        assert_eq!(text, String::from("b"));
        assert_eq!(format!("{text} {text:?}"), "b \"b\"");
        assert_eq!(String::from(text.clone()), "b");
        assert_eq!(Utf8Bytes::default(), "");
    }

    #[test]
    fn try_from_rejects_invalid_utf8_with_offset() {
        let err = Utf8Bytes::try_from(Bytes::from_static(b"abc\xe2\x82")).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidUtf8);
        assert_eq!(err.location(), Some(&Location::Offset(3)));
        assert_eq!(err.input_len(), Some(5));
    }
}
