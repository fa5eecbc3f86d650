//! The `Serializer`, `Deserializer` and `Serde` traits.

use std::sync::Arc;

use bytes::Bytes;

use crate::combinator::{AsTry, Contramap, Map, OrElse, TryContramap, TryMap};
use crate::error::{BoxError, Error};

/// Turns a value into the payload of a Kinesis record.
///
/// `T` is the type of the value; it may be unsized (`str`, `[u8]`), because the value is
/// borrowed: a producer can keep the record (to hand it back if it cannot be delivered)
/// while its payload is in flight.
///
/// # Record size
///
/// Kinesis limits a record to 1 MiB by default (payload plus partition key; streams can be
/// configured for up to 10 MiB). A serializer does not check this: it does not know the
/// partition key or the stream's limit. The client enforces the limit when the record is
/// put (see `PutLimits` in `kinesis-client`), and refuses an oversized record with an error
/// before anything is sent.
///
/// # Errors
///
/// [`serialize`](Serializer::serialize) returns an [`Error`] when the value cannot be
/// represented in the format (non-ASCII text for [`Ascii`](crate::Ascii), a map with
/// non-string keys for JSON, a failing closure).
///
/// # Example
///
/// ```
/// use bytes::Bytes;
/// use kinesis_serde::{Serializer, Utf8};
///
/// fn payload<S: Serializer<str>>(serializer: &S, text: &str) -> Bytes {
///     serializer.serialize(text).expect("valid")
/// }
/// assert_eq!(payload(&Utf8, "héllo"), Bytes::from("héllo"));
/// ```
pub trait Serializer<T: ?Sized> {
    /// Serializes `value` into a record payload.
    ///
    /// # Errors
    ///
    /// When the value cannot be represented in this codec's format; see [`Error`].
    ///
    /// ```
    /// use kinesis_serde::{Raw, Serializer};
    ///
    /// let payload = Raw.serialize(&vec![1u8, 2, 3])?;
    /// assert_eq!(&payload[..], &[1, 2, 3]);
    /// # Ok::<(), kinesis_serde::Error>(())
    /// ```
    fn serialize(&self, value: &T) -> Result<Bytes, Error>;

    /// Serializes a value the caller gives up: the same bytes as
    /// [`serialize`](Self::serialize), without a copy where the codec can take the value over
    /// ([`Raw`](crate::Raw) keeps a `Bytes` or `Vec<u8>` as it is). By default, `serialize`.
    ///
    /// # Errors
    ///
    /// As [`serialize`](Self::serialize).
    ///
    /// ```
    /// use bytes::Bytes;
    /// use kinesis_serde::{Raw, Serializer};
    ///
    /// let value = Bytes::from(vec![1u8, 2, 3]);
    /// let address = value.as_ptr();
    /// let payload = Raw.serialize_owned(value)?;
    /// assert_eq!(payload.as_ptr(), address); // not copied
    /// # Ok::<(), kinesis_serde::Error>(())
    /// ```
    fn serialize_owned(&self, value: T) -> Result<Bytes, Error>
    where
        T: Sized,
    {
        self.serialize(&value)
    }

    /// A serializer of `U` that first turns each value into a `T` with `f`.
    ///
    /// ```
    /// use kinesis_serde::{Serializer, Utf8};
    ///
    /// struct OrderId(u64);
    ///
    /// let serializer = Utf8.contramap(|id: &OrderId| id.0.to_string());
    /// assert_eq!(&serializer.serialize(&OrderId(42))?[..], b"42");
    /// # Ok::<(), kinesis_serde::Error>(())
    /// ```
    fn contramap<U, F>(self, f: F) -> Contramap<Self, F, T>
    where
        Self: Sized,
        T: Sized,
        U: ?Sized,
        F: Fn(&U) -> T,
    {
        Contramap::new(self, f)
    }

    /// A serializer of `U` that first turns each value into a `T` with a fallible `f`.
    ///
    /// An error of `f` becomes an [`Error`] of kind [`Custom`](crate::ErrorKind::Custom) with
    /// the closure's error as its source (an [`Error`] returned by `f` is kept as it is).
    ///
    /// ```
    /// use kinesis_serde::{Ascii, ErrorKind, Serializer};
    ///
    /// let serializer = Ascii.try_contramap(|n: &i64| {
    ///     u32::try_from(*n).map(|n| n.to_string())
    /// });
    /// assert_eq!(&serializer.serialize(&7)?[..], b"7");
    /// assert_eq!(serializer.serialize(&-1).unwrap_err().kind(), ErrorKind::Custom);
    /// # Ok::<(), kinesis_serde::Error>(())
    /// ```
    fn try_contramap<U, E, F>(self, f: F) -> TryContramap<Self, F, T>
    where
        Self: Sized,
        T: Sized,
        U: ?Sized,
        F: Fn(&U) -> Result<T, E>,
        E: Into<BoxError>,
    {
        TryContramap::new(self, f)
    }
}

/// Turns the payload of a Kinesis record into a value.
///
/// The payload comes as [`Bytes`]: cloning and slicing it never copies, so a codec can hand
/// back the payload itself ([`Raw`](crate::Raw)) or a view of it
/// ([`Utf8Bytes`](crate::Utf8Bytes)) without allocating.
///
/// One codec may deserialize into several types (like `serde_json::from_slice`, the target
/// type picks the implementation): when the type cannot be inferred, name it, as in
/// `Deserializer::<String>::deserialize(&Utf8, data)` or `let s: String = ...`.
///
/// # Errors
///
/// [`deserialize`](Deserializer::deserialize) returns an [`Error`] when the payload is not a
/// valid value of `T` in this codec's format.
///
/// # Example
///
/// ```
/// use bytes::Bytes;
/// use kinesis_serde::{Deserializer, Utf8};
///
/// fn first_line<D: Deserializer<String>>(d: &D, data: Bytes) -> Option<String> {
///     d.deserialize(data).ok()?.lines().next().map(str::to_owned)
/// }
/// assert_eq!(first_line(&Utf8, Bytes::from("a\nb")), Some("a".to_owned()));
/// ```
pub trait Deserializer<T> {
    /// Deserializes a record payload.
    ///
    /// # Errors
    ///
    /// When the payload is not a valid value of `T` in this codec's format; see [`Error`].
    ///
    /// ```
    /// use bytes::Bytes;
    /// use kinesis_serde::{Deserializer, Utf8};
    ///
    /// let text: String = Utf8.deserialize(Bytes::from_static(b"hello"))?;
    /// assert_eq!(text, "hello");
    /// # Ok::<(), kinesis_serde::Error>(())
    /// ```
    fn deserialize(&self, data: Bytes) -> Result<T, Error>;

    /// A deserializer whose values are those of this one passed through `f`.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use kinesis_serde::{Deserializer, Utf8};
    ///
    /// let lengths = Utf8.map(|s: String| s.chars().count());
    /// assert_eq!(lengths.deserialize(Bytes::from("héllo"))?, 5);
    /// # Ok::<(), kinesis_serde::Error>(())
    /// ```
    fn map<U, F>(self, f: F) -> Map<Self, F, T>
    where
        Self: Sized,
        F: Fn(T) -> U,
    {
        Map::new(self, f)
    }

    /// A deserializer whose values are those of this one passed through a fallible `f`.
    ///
    /// An error of `f` becomes an [`Error`] of kind [`Custom`](crate::ErrorKind::Custom) with
    /// the closure's error as its source and the payload's length (an [`Error`] returned by
    /// `f` is kept as it is).
    ///
    /// ```
    /// use bytes::Bytes;
    /// use kinesis_serde::{Ascii, Deserializer, ErrorKind};
    ///
    /// let numbers = Ascii.try_map(|s: String| s.parse::<u64>());
    /// assert_eq!(numbers.deserialize(Bytes::from_static(b"42"))?, 42);
    ///
    /// let err = numbers.deserialize(Bytes::from_static(b"4x2")).unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::Custom);
    /// assert_eq!(err.to_string(), "cannot deserialize a record of 3 bytes: codec error");
    /// # Ok::<(), kinesis_serde::Error>(())
    /// ```
    fn try_map<U, E, F>(self, f: F) -> TryMap<Self, F, T>
    where
        Self: Sized,
        F: Fn(T) -> Result<U, E>,
        E: Into<BoxError>,
    {
        TryMap::new(self, f)
    }

    /// A deserializer that never fails: each value is this one's result, so that a record
    /// that cannot be decoded reaches the application as an `Err` value instead of ending its
    /// shard's stream.
    ///
    /// The record's position and metadata stay with the value; the error says why, without
    /// the payload. Use it where the application decides per record what a bad one means
    /// (zio-kinesis's `asTry`); for a consumer-wide policy see the consumer's poison-record
    /// setting.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use kinesis_serde::{Ascii, Deserializer, ErrorKind};
    ///
    /// let lenient = Ascii.as_try();
    /// let good: Result<String, _> = lenient.deserialize(Bytes::from_static(b"ok"))?;
    /// assert_eq!(good.ok().as_deref(), Some("ok"));
    ///
    /// let bad: Result<String, _> = lenient.deserialize(Bytes::from_static(b"caf\xc3\xa9"))?;
    /// assert_eq!(bad.unwrap_err().kind(), ErrorKind::NotAscii);
    /// # Ok::<(), kinesis_serde::Error>(())
    /// ```
    // Named as zio-kinesis names it, for users who come from there.
    #[allow(clippy::wrong_self_convention)]
    fn as_try(self) -> AsTry<Self, T>
    where
        Self: Sized,
    {
        AsTry::new(self)
    }

    /// A deserializer that tries this one and, when it fails, `alternative` on the same
    /// payload; when both fail, the alternative's error is returned (as zio-kinesis's
    /// `orElse`).
    ///
    /// A payload is reference-counted, so trying a second codec copies nothing. Typical uses:
    /// reading a stream during a format migration (new format, else old), or a lenient
    /// fallback.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use kinesis_serde::{Ascii, Deserializer, Raw};
    ///
    /// #[derive(Debug, PartialEq)]
    /// enum Reading { Number(u64), Other(usize) }
    ///
    /// let numbers = Ascii.try_map(|s: String| s.parse::<u64>()).map(Reading::Number);
    /// let anything = Raw.map(|b: Bytes| Reading::Other(b.len()));
    /// let readings = numbers.or_else(anything);
    ///
    /// assert_eq!(readings.deserialize(Bytes::from_static(b"42"))?, Reading::Number(42));
    /// assert_eq!(readings.deserialize(Bytes::from_static(b"n/a"))?, Reading::Other(3));
    /// # Ok::<(), kinesis_serde::Error>(())
    /// ```
    fn or_else<D>(self, alternative: D) -> OrElse<Self, D>
    where
        Self: Sized,
        D: Deserializer<T>,
    {
        OrElse::new(self, alternative)
    }
}

/// A codec that both serializes and deserializes `T`.
///
/// Implemented for every type that implements [`Serializer<T>`] and [`Deserializer<T>`];
/// there is nothing to implement. Build one from a separate serializer and deserializer with
/// [`Codec`](crate::Codec).
///
/// ```
/// use kinesis_serde::{Serde, Utf8};
///
/// fn round_trip<C: Serde<String>>(codec: &C, s: &String) -> String {
///     codec.deserialize(codec.serialize(s).unwrap()).unwrap()
/// }
/// assert_eq!(round_trip(&Utf8, &"héllo".to_owned()), "héllo");
/// ```
pub trait Serde<T>: Serializer<T> + Deserializer<T> {}

impl<T, C> Serde<T> for C where C: Serializer<T> + Deserializer<T> + ?Sized {}

// === impl Serializer / Deserializer for references and smart pointers ===

impl<T: ?Sized, S: Serializer<T> + ?Sized> Serializer<T> for &S {
    fn serialize(&self, value: &T) -> Result<Bytes, Error> {
        (**self).serialize(value)
    }

    fn serialize_owned(&self, value: T) -> Result<Bytes, Error>
    where
        T: Sized,
    {
        (**self).serialize_owned(value)
    }
}

impl<T: ?Sized, S: Serializer<T> + ?Sized> Serializer<T> for Box<S> {
    fn serialize(&self, value: &T) -> Result<Bytes, Error> {
        (**self).serialize(value)
    }

    fn serialize_owned(&self, value: T) -> Result<Bytes, Error>
    where
        T: Sized,
    {
        (**self).serialize_owned(value)
    }
}

impl<T: ?Sized, S: Serializer<T> + ?Sized> Serializer<T> for Arc<S> {
    fn serialize(&self, value: &T) -> Result<Bytes, Error> {
        (**self).serialize(value)
    }

    fn serialize_owned(&self, value: T) -> Result<Bytes, Error>
    where
        T: Sized,
    {
        (**self).serialize_owned(value)
    }
}

impl<T, D: Deserializer<T> + ?Sized> Deserializer<T> for &D {
    fn deserialize(&self, data: Bytes) -> Result<T, Error> {
        (**self).deserialize(data)
    }
}

impl<T, D: Deserializer<T> + ?Sized> Deserializer<T> for Box<D> {
    fn deserialize(&self, data: Bytes) -> Result<T, Error> {
        (**self).deserialize(data)
    }
}

impl<T, D: Deserializer<T> + ?Sized> Deserializer<T> for Arc<D> {
    fn deserialize(&self, data: Bytes) -> Result<T, Error> {
        (**self).deserialize(data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Raw, Utf8};

    #[test]
    fn traits_are_object_safe_and_pointers_delegate() {
        let de: Box<dyn Deserializer<String> + Send + Sync> = Box::new(Utf8);
        assert_eq!(de.deserialize(Bytes::from_static(b"x")).unwrap(), "x");
        let ser: Arc<dyn Serializer<[u8]> + Send + Sync> = Arc::new(Raw);
        assert_eq!(ser.serialize(b"ab").unwrap(), Bytes::from_static(b"ab"));
        let by_ref: &dyn Deserializer<Bytes> = &Raw;
        assert_eq!(
            (&by_ref).deserialize(Bytes::from_static(b"y")).unwrap(),
            Bytes::from_static(b"y")
        );
    }
}
