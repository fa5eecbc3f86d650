//! The one error type of every codec: what failed and where, never the payload.

use std::borrow::Cow;
use std::error::Error as StdError;
use std::fmt;

/// A boxed error, as kept behind [`Error::source`](StdError::source) and accepted by
/// [`Error::custom`] and the closure-based codecs.
///
/// ```
/// use kinesis_serde::BoxError;
///
/// let e: BoxError = "order id out of range".into();
/// assert_eq!(e.to_string(), "order id out of range");
/// ```
pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// What went wrong.
///
/// ```
/// use bytes::Bytes;
/// use kinesis_serde::{Ascii, Deserializer, ErrorKind};
///
/// let err = Deserializer::<String>::deserialize(&Ascii, Bytes::from_static("naïve".as_bytes()))
///     .unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::NotAscii);
/// ```
#[non_exhaustive]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The bytes are not valid UTF-8.
    InvalidUtf8,
    /// The text holds a byte outside 7-bit ASCII.
    NotAscii,
    /// serde_json could not read the bytes as the target type (syntax error, type mismatch,
    /// truncated input), or could not write the value.
    Json,
    /// prost could not decode the bytes as the target message.
    Protobuf,
    /// A codec of your own (or a combinator's closure) failed.
    Custom,
}

impl ErrorKind {
    fn describe(self) -> &'static str {
        match self {
            Self::InvalidUtf8 => "invalid UTF-8",
            Self::NotAscii => "non-ASCII byte",
            Self::Json => "invalid JSON",
            Self::Protobuf => "invalid protobuf message",
            Self::Custom => "codec error",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

/// Where in the input a codec failed.
///
/// Positions are computed from the payload but never quote it.
///
/// ```
/// use bytes::Bytes;
/// use kinesis_serde::{Deserializer, Location, Utf8};
///
/// let err = Deserializer::<String>::deserialize(&Utf8, Bytes::from_static(b"ab\xffcd"))
///     .unwrap_err();
/// assert_eq!(err.location(), Some(&Location::Offset(2)));
/// assert_eq!(Location::Field("order.id".into()).to_string(), "in field `order.id`");
/// ```
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Location {
    /// The zero-based byte offset of the first byte that could not be accepted.
    Offset(usize),
    /// A one-based line and column, as serde_json reports them (the column counts bytes).
    LineColumn {
        /// One-based line.
        line: usize,
        /// One-based column, in bytes.
        column: usize,
    },
    /// A field of the target type, as a dotted path from the outermost type (for protobuf,
    /// `Message.field.subfield`).
    Field(Cow<'static, str>),
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Offset(offset) => write!(f, "at byte {offset}"),
            Self::LineColumn { line, column } => write!(f, "at line {line}, column {column}"),
            Self::Field(field) => write!(f, "in field `{field}`"),
        }
    }
}

/// Which way a codec was going when it failed.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    Serialize,
    Deserialize,
}

/// The error of every [`Serializer`](crate::Serializer) and
/// [`Deserializer`](crate::Deserializer).
///
/// It says what failed ([`kind`](Error::kind)), where ([`location`](Error::location)) and how
/// long the input was ([`input_len`](Error::input_len)). Neither its
/// [`Display`](fmt::Display) nor its [`Debug`](fmt::Debug) ever shows payload bytes: records
/// routinely carry personal data, and errors end up in logs.
///
/// The underlying error (a [`std::str::Utf8Error`], a `serde_json::Error`, a
/// `prost::DecodeError`, or your own) is kept as [`source`](StdError::source). Be aware that
/// some of those *do* quote the payload in their own `Display` (serde_json quotes unexpected
/// string values, for example), so think before logging the whole source chain of a
/// deserialization error.
///
/// ```
/// use std::error::Error as _;
///
/// use bytes::Bytes;
/// use kinesis_serde::{Deserializer, ErrorKind, Utf8};
///
/// let payload = Bytes::from_static(b"secret \xff");
/// let err = Deserializer::<String>::deserialize(&Utf8, payload).unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::InvalidUtf8);
/// assert_eq!(err.input_len(), Some(8));
/// assert_eq!(err.to_string(), "cannot deserialize a record of 8 bytes: invalid UTF-8 at byte 7");
/// assert!(!format!("{err:?}").contains("secret"));
/// assert!(err.source().is_some());
/// ```
pub struct Error {
    // Boxed so that `Result<T, Error>` stays one pointer wide on the error side.
    inner: Box<Inner>,
}

struct Inner {
    kind: ErrorKind,
    direction: Option<Direction>,
    location: Option<Location>,
    input_len: Option<usize>,
    message: Option<Cow<'static, str>>,
    source: Option<BoxError>,
    // The type name of the source, for `Debug` (the source's own `Debug` may quote the payload).
    source_type: Option<&'static str>,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind) -> Self {
        Self {
            inner: Box::new(Inner {
                kind,
                direction: None,
                location: None,
                input_len: None,
                message: None,
                source: None,
                source_type: None,
            }),
        }
    }

    pub(crate) fn with_source_typed<E>(mut self, source: E) -> Self
    where
        E: StdError + Send + Sync + 'static,
    {
        self.inner.source_type = Some(std::any::type_name::<E>());
        self.inner.source = Some(Box::new(source));
        self
    }

    pub(crate) fn with_input_len(mut self, len: usize) -> Self {
        self.inner.input_len = Some(len);
        self
    }

    pub(crate) fn serializing(mut self) -> Self {
        self.inner.direction = Some(Direction::Serialize);
        self
    }

    pub(crate) fn deserializing(mut self) -> Self {
        self.inner.direction = Some(Direction::Deserialize);
        self
    }

    /// Fills in what a combinator knows and the error does not say yet.
    pub(crate) fn or_context(mut self, direction: Direction, input_len: Option<usize>) -> Self {
        if self.inner.direction.is_none() {
            self.inner.direction = Some(direction);
        }
        if self.inner.input_len.is_none() {
            self.inner.input_len = input_len;
        }
        self
    }

    /// The error of a codec of your own, keeping `source` as [`source`](StdError::source).
    ///
    /// If `source` already is an [`Error`] of this crate, it is returned unchanged (so a
    /// closure that calls another codec keeps that codec's kind and location).
    ///
    /// The source's own message does not appear in this error's `Display`; add a message that
    /// says what failed with [`with_message`](Error::with_message), and where with
    /// [`with_location`](Error::with_location).
    ///
    /// ```
    /// use std::error::Error as _;
    ///
    /// use kinesis_serde::{Error, ErrorKind, Location};
    ///
    /// let parse = "12x".parse::<u64>().unwrap_err();
    /// let err = Error::custom(parse)
    ///     .with_message("order id is not a number")
    ///     .with_location(Location::Field("id".into()));
    /// assert_eq!(err.kind(), ErrorKind::Custom);
    /// assert_eq!(err.to_string(), "order id is not a number in field `id`");
    /// assert!(err.source().is_some());
    ///
    /// // An error of this crate passes through unchanged.
    /// let inner = Error::custom("x").with_location(Location::Offset(3));
    /// assert_eq!(Error::custom(inner).location(), Some(&Location::Offset(3)));
    /// ```
    pub fn custom<E>(source: E) -> Self
    where
        E: Into<BoxError>,
    {
        let source_type = std::any::type_name::<E>();
        let source: BoxError = source.into();
        match source.downcast::<Error>() {
            Ok(error) => *error,
            Err(source) => {
                let mut error = Self::new(ErrorKind::Custom);
                error.inner.source = Some(source);
                error.inner.source_type = Some(source_type);
                error
            }
        }
    }

    /// Adds a message that says what failed. It is shown by `Display`, so it must not contain
    /// payload data.
    ///
    /// For [`ErrorKind::Custom`] the message replaces the generic "codec error"; for other
    /// kinds it is shown in parentheses after the kind.
    ///
    /// ```
    /// use kinesis_serde::Error;
    ///
    /// let err = Error::custom("unsupported version byte").with_message("unsupported schema version");
    /// assert_eq!(err.to_string(), "unsupported schema version");
    /// ```
    #[must_use]
    pub fn with_message(mut self, message: impl Into<Cow<'static, str>>) -> Self {
        self.inner.message = Some(message.into());
        self
    }

    /// Adds where the codec failed.
    ///
    /// ```
    /// use kinesis_serde::{Error, Location};
    ///
    /// let err = Error::custom("bad magic number").with_location(Location::Offset(0));
    /// assert_eq!(err.location(), Some(&Location::Offset(0)));
    /// assert_eq!(err.to_string(), "codec error at byte 0");
    /// ```
    #[must_use]
    pub fn with_location(mut self, location: Location) -> Self {
        self.inner.location = Some(location);
        self
    }

    /// What went wrong.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use kinesis_serde::{Deserializer, ErrorKind, Utf8};
    ///
    /// let err = Deserializer::<String>::deserialize(&Utf8, Bytes::from_static(b"\xc3")).unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::InvalidUtf8);
    /// ```
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// Where in the input the codec failed, when it knows.
    ///
    /// ```
    /// use kinesis_serde::{Ascii, Location, Serializer};
    ///
    /// let err = Ascii.serialize("abc€").unwrap_err();
    /// assert_eq!(err.location(), Some(&Location::Offset(3)));
    /// ```
    pub fn location(&self) -> Option<&Location> {
        self.inner.location.as_ref()
    }

    /// The length in bytes of the input that failed: the record's payload when
    /// deserializing, the text when serializing text. `None` when unknown.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use kinesis_serde::{Deserializer, Utf8};
    ///
    /// let err = Deserializer::<String>::deserialize(&Utf8, Bytes::from_static(b"ok\xff")).unwrap_err();
    /// assert_eq!(err.input_len(), Some(3));
    /// ```
    pub fn input_len(&self) -> Option<usize> {
        self.inner.input_len
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        match (inner.direction, inner.input_len) {
            (Some(Direction::Deserialize), Some(len)) => {
                write!(f, "cannot deserialize a record of {len} bytes: ")?;
            }
            (Some(Direction::Deserialize), None) => f.write_str("cannot deserialize a record: ")?,
            (Some(Direction::Serialize), Some(len)) => {
                write!(f, "cannot serialize a value of {len} bytes: ")?;
            }
            (Some(Direction::Serialize), None) => f.write_str("cannot serialize a value: ")?,
            (None, _) => {}
        }
        match (&inner.message, inner.kind) {
            (Some(message), ErrorKind::Custom) => f.write_str(message)?,
            (Some(message), kind) => write!(f, "{kind} ({message})")?,
            (None, kind) => write!(f, "{kind}")?,
        }
        if let Some(location) = &inner.location {
            write!(f, " {location}")?;
        }
        Ok(())
    }
}

// Written by hand: the derived form would print the source's `Debug`, which may quote the
// payload (serde_json's does).
impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        f.debug_struct("Error")
            .field("kind", &inner.kind)
            .field("direction", &inner.direction)
            .field("location", &inner.location)
            .field("input_len", &inner.input_len)
            .field("message", &inner.message)
            .field("source", &inner.source_type)
            .finish()
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.inner
            .source
            .as_deref()
            .map(|source| source as &(dyn StdError + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_is_send_sync_static_and_small() {
        fn assert_traits<T: Send + Sync + 'static>() {}
        assert_traits::<Error>();
        assert_eq!(std::mem::size_of::<Error>(), std::mem::size_of::<usize>());
    }

    #[test]
    fn display_without_direction_is_the_kind_and_location() {
        let err = Error::new(ErrorKind::NotAscii).with_location(Location::Offset(4));
        assert_eq!(err.to_string(), "non-ASCII byte at byte 4");
    }

    #[test]
    fn display_names_direction_and_length() {
        let err = Error::new(ErrorKind::Json)
            .with_message("syntax error")
            .with_location(Location::LineColumn { line: 2, column: 7 })
            .with_input_len(40)
            .deserializing();
        assert_eq!(
            err.to_string(),
            "cannot deserialize a record of 40 bytes: invalid JSON (syntax error) at line 2, column 7"
        );
        let err = Error::new(ErrorKind::Custom).serializing();
        assert_eq!(err.to_string(), "cannot serialize a value: codec error");
    }

    #[test]
    fn custom_keeps_source_and_names_its_type_in_debug() {
        let parse = "x".parse::<u8>().unwrap_err();
        let err = Error::custom(parse.clone());
        let source = err.source().expect("source kept");
        assert_eq!(source.to_string(), parse.to_string());
        let debug = format!("{err:?}");
        assert!(debug.contains("ParseIntError"), "{debug}");
        assert!(!debug.contains("invalid digit"), "{debug}");
    }

    #[test]
    fn custom_passes_our_error_through() {
        let ours = Error::new(ErrorKind::InvalidUtf8).with_location(Location::Offset(9));
        let again = Error::custom(ours);
        assert_eq!(again.kind(), ErrorKind::InvalidUtf8);
        assert_eq!(again.location(), Some(&Location::Offset(9)));
        assert!(again.source().is_none());
    }

    #[test]
    fn or_context_fills_only_missing_parts() {
        let err = Error::new(ErrorKind::Custom)
            .with_input_len(3)
            .serializing()
            .or_context(Direction::Deserialize, Some(10));
        assert_eq!(err.inner.direction, Some(Direction::Serialize));
        assert_eq!(err.input_len(), Some(3));
        let err = Error::new(ErrorKind::Custom).or_context(Direction::Deserialize, Some(10));
        assert_eq!(err.inner.direction, Some(Direction::Deserialize));
        assert_eq!(err.input_len(), Some(10));
    }
}
