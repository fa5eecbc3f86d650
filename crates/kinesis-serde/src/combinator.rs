//! Codecs built from other codecs and from closures.
//!
//! You rarely name these types: they are returned by [`Deserializer::map`],
//! [`Deserializer::try_map`], [`Deserializer::as_try`], [`Deserializer::or_else`],
//! [`Serializer::contramap`], [`Serializer::try_contramap`],
//! [`serializer_fn`] and [`deserializer_fn`]. Each is `Clone`, `Send` and `Sync` when the codec
//! and closure inside it are, so a codec built once can be shared by every shard task.
//!
//! ```
//! use bytes::Bytes;
//! use kinesis_serde::combinator::Map;
//! use kinesis_serde::{Deserializer, Utf8};
//!
//! let upper: Map<Utf8, fn(String) -> String, String> = Utf8.map(|s| s.to_uppercase());
//! assert_eq!(upper.deserialize(Bytes::from_static(b"abc"))?, "ABC");
//! # Ok::<(), kinesis_serde::Error>(())
//! ```

use std::fmt;
use std::marker::PhantomData;

use bytes::Bytes;

use crate::error::{BoxError, Direction, Error};
use crate::traits::{Deserializer, Serializer};

/// `PhantomData` that is `Send`, `Sync`, `Clone` and `Copy` whatever `T` is.
type Marker<T> = PhantomData<fn() -> T>;

// === Map ===

/// A deserializer whose values are another's passed through a closure; see
/// [`Deserializer::map`].
///
/// `T` is the inner deserializer's value type.
///
/// ```
/// use bytes::Bytes;
/// use kinesis_serde::{Deserializer, Raw};
///
/// let len = Raw.map(|b: Bytes| b.len());
/// assert_eq!(len.deserialize(Bytes::from_static(b"four"))?, 4);
/// # Ok::<(), kinesis_serde::Error>(())
/// ```
pub struct Map<D, F, T> {
    inner: D,
    f: F,
    _value: Marker<T>,
}

impl<D, F, T> Map<D, F, T> {
    pub(crate) fn new(inner: D, f: F) -> Self {
        Self {
            inner,
            f,
            _value: PhantomData,
        }
    }
}

impl<D, F, T, U> Deserializer<U> for Map<D, F, T>
where
    D: Deserializer<T>,
    F: Fn(T) -> U,
{
    fn deserialize(&self, data: Bytes) -> Result<U, Error> {
        self.inner.deserialize(data).map(&self.f)
    }
}

impl<D: Clone, F: Clone, T> Clone for Map<D, F, T> {
    fn clone(&self) -> Self {
        Self::new(self.inner.clone(), self.f.clone())
    }
}

impl<D: fmt::Debug, F, T> fmt::Debug for Map<D, F, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Map")
            .field("inner", &self.inner)
            .field("f", &std::any::type_name::<F>())
            .finish()
    }
}

// === TryMap ===

/// A deserializer whose values are another's passed through a fallible closure; see
/// [`Deserializer::try_map`].
///
/// `T` is the inner deserializer's value type.
///
/// ```
/// use bytes::Bytes;
/// use kinesis_serde::{Deserializer, Raw};
///
/// let first = Raw.try_map(|b: Bytes| b.first().copied().ok_or("empty record"));
/// assert_eq!(first.deserialize(Bytes::from_static(b"xy"))?, b'x');
/// assert!(first.deserialize(Bytes::new()).is_err());
/// # Ok::<(), kinesis_serde::Error>(())
/// ```
pub struct TryMap<D, F, T> {
    inner: D,
    f: F,
    _value: Marker<T>,
}

impl<D, F, T> TryMap<D, F, T> {
    pub(crate) fn new(inner: D, f: F) -> Self {
        Self {
            inner,
            f,
            _value: PhantomData,
        }
    }
}

impl<D, F, T, U, E> Deserializer<U> for TryMap<D, F, T>
where
    D: Deserializer<T>,
    F: Fn(T) -> Result<U, E>,
    E: Into<BoxError>,
{
    fn deserialize(&self, data: Bytes) -> Result<U, Error> {
        let len = data.len();
        let value = self.inner.deserialize(data)?;
        (self.f)(value).map_err(|e| Error::custom(e).or_context(Direction::Deserialize, Some(len)))
    }
}

impl<D: Clone, F: Clone, T> Clone for TryMap<D, F, T> {
    fn clone(&self) -> Self {
        Self::new(self.inner.clone(), self.f.clone())
    }
}

impl<D: fmt::Debug, F, T> fmt::Debug for TryMap<D, F, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TryMap")
            .field("inner", &self.inner)
            .field("f", &std::any::type_name::<F>())
            .finish()
    }
}

// === AsTry ===

/// A deserializer whose values are another's results, so that it never fails; see
/// [`Deserializer::as_try`].
///
/// ```
/// use bytes::Bytes;
/// use kinesis_serde::combinator::AsTry;
/// use kinesis_serde::{Deserializer, Utf8};
///
/// let lenient: AsTry<Utf8, String> = Utf8.as_try();
/// let value: Result<String, _> = lenient.deserialize(Bytes::from_static(&[0xff]))?;
/// assert!(value.is_err());
/// # Ok::<(), kinesis_serde::Error>(())
/// ```
///
/// `T` is the inner deserializer's value type.
pub struct AsTry<D, T> {
    inner: D,
    _value: Marker<T>,
}

impl<D, T> AsTry<D, T> {
    pub(crate) fn new(inner: D) -> Self {
        Self {
            inner,
            _value: PhantomData,
        }
    }
}

impl<D, T> Deserializer<Result<T, Error>> for AsTry<D, T>
where
    D: Deserializer<T>,
{
    fn deserialize(&self, data: Bytes) -> Result<Result<T, Error>, Error> {
        Ok(self.inner.deserialize(data))
    }
}

impl<D: Clone, T> Clone for AsTry<D, T> {
    fn clone(&self) -> Self {
        Self::new(self.inner.clone())
    }
}

impl<D: fmt::Debug, T> fmt::Debug for AsTry<D, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsTry").field("inner", &self.inner).finish()
    }
}

// === OrElse ===

/// A deserializer that tries another when the first fails; see [`Deserializer::or_else`].
///
/// ```
/// use bytes::Bytes;
/// use kinesis_serde::combinator::OrElse;
/// use kinesis_serde::{Ascii, Deserializer, Utf8};
///
/// let text: OrElse<Ascii, Utf8> = Deserializer::<String>::or_else(Ascii, Utf8);
/// let value: String = text.deserialize(Bytes::from("café"))?;
/// assert_eq!(value, "café");
/// # Ok::<(), kinesis_serde::Error>(())
/// ```
#[derive(Clone, Copy, Debug)]
pub struct OrElse<D, A> {
    first: D,
    alternative: A,
}

impl<D, A> OrElse<D, A> {
    pub(crate) fn new(first: D, alternative: A) -> Self {
        Self { first, alternative }
    }
}

impl<D, A, T> Deserializer<T> for OrElse<D, A>
where
    D: Deserializer<T>,
    A: Deserializer<T>,
{
    fn deserialize(&self, data: Bytes) -> Result<T, Error> {
        match self.first.deserialize(data.clone()) {
            Ok(value) => Ok(value),
            Err(_) => self.alternative.deserialize(data),
        }
    }
}

// === Contramap ===

/// A serializer that turns each value into the input of another with a closure; see
/// [`Serializer::contramap`].
///
/// `T` is the inner serializer's value type.
///
/// ```
/// use kinesis_serde::{Serializer, Utf8};
///
/// let ser = Utf8.contramap(|n: &u16| n.to_string());
/// assert_eq!(&ser.serialize(&443)?[..], b"443");
/// # Ok::<(), kinesis_serde::Error>(())
/// ```
pub struct Contramap<S, F, T> {
    inner: S,
    f: F,
    _value: Marker<T>,
}

impl<S, F, T> Contramap<S, F, T> {
    pub(crate) fn new(inner: S, f: F) -> Self {
        Self {
            inner,
            f,
            _value: PhantomData,
        }
    }
}

impl<S, F, T, U> Serializer<U> for Contramap<S, F, T>
where
    S: Serializer<T>,
    F: Fn(&U) -> T,
    U: ?Sized,
{
    fn serialize(&self, value: &U) -> Result<Bytes, Error> {
        self.inner.serialize(&(self.f)(value))
    }
}

impl<S: Clone, F: Clone, T> Clone for Contramap<S, F, T> {
    fn clone(&self) -> Self {
        Self::new(self.inner.clone(), self.f.clone())
    }
}

impl<S: fmt::Debug, F, T> fmt::Debug for Contramap<S, F, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Contramap")
            .field("inner", &self.inner)
            .field("f", &std::any::type_name::<F>())
            .finish()
    }
}

// === TryContramap ===

/// A serializer that turns each value into the input of another with a fallible closure; see
/// [`Serializer::try_contramap`].
///
/// `T` is the inner serializer's value type.
///
/// ```
/// use kinesis_serde::{Serializer, Utf8};
///
/// let ser = Utf8.try_contramap(|v: &Vec<u8>| String::from_utf8(v.clone()));
/// assert_eq!(&ser.serialize(&b"ok".to_vec())?[..], b"ok");
/// assert!(ser.serialize(&vec![0xff]).is_err());
/// # Ok::<(), kinesis_serde::Error>(())
/// ```
pub struct TryContramap<S, F, T> {
    inner: S,
    f: F,
    _value: Marker<T>,
}

impl<S, F, T> TryContramap<S, F, T> {
    pub(crate) fn new(inner: S, f: F) -> Self {
        Self {
            inner,
            f,
            _value: PhantomData,
        }
    }
}

impl<S, F, T, U, E> Serializer<U> for TryContramap<S, F, T>
where
    S: Serializer<T>,
    F: Fn(&U) -> Result<T, E>,
    E: Into<BoxError>,
    U: ?Sized,
{
    fn serialize(&self, value: &U) -> Result<Bytes, Error> {
        let value =
            (self.f)(value).map_err(|e| Error::custom(e).or_context(Direction::Serialize, None))?;
        self.inner.serialize(&value)
    }
}

impl<S: Clone, F: Clone, T> Clone for TryContramap<S, F, T> {
    fn clone(&self) -> Self {
        Self::new(self.inner.clone(), self.f.clone())
    }
}

impl<S: fmt::Debug, F, T> fmt::Debug for TryContramap<S, F, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TryContramap")
            .field("inner", &self.inner)
            .field("f", &std::any::type_name::<F>())
            .finish()
    }
}

// === SerializerFn ===

/// A serializer made from a closure; see [`serializer_fn`].
///
/// ```
/// use bytes::Bytes;
/// use kinesis_serde::combinator::SerializerFn;
/// use kinesis_serde::{serializer_fn, Serializer};
///
/// let be: SerializerFn<_> = serializer_fn(|n: &u32| {
///     Ok::<_, kinesis_serde::Error>(Bytes::copy_from_slice(&n.to_be_bytes()))
/// });
/// assert_eq!(&be.serialize(&1)?[..], &[0, 0, 0, 1]);
/// # Ok::<(), kinesis_serde::Error>(())
/// ```
#[derive(Clone, Copy)]
pub struct SerializerFn<F> {
    f: F,
}

/// Builds a [`Serializer`] from a closure that turns a borrowed value into a payload.
///
/// The closure may fail with any error that converts into a [`BoxError`] (a `&str`, a
/// `String`, any `std::error::Error + Send + Sync`); it becomes an [`Error`] of kind
/// [`Custom`](crate::ErrorKind::Custom) with that error as its source. An [`Error`] of this
/// crate is kept as it is.
///
/// ```
/// use bytes::Bytes;
/// use kinesis_serde::{serializer_fn, ErrorKind, Serializer};
///
/// // A one-byte version header in front of the text.
/// let versioned = serializer_fn(|s: &str| {
///     if s.is_empty() {
///         return Err("empty message");
///     }
///     let mut out = Vec::with_capacity(1 + s.len());
///     out.push(1u8);
///     out.extend_from_slice(s.as_bytes());
///     Ok(Bytes::from(out))
/// });
/// assert_eq!(&versioned.serialize("hi")?[..], b"\x01hi");
/// assert_eq!(versioned.serialize("").unwrap_err().kind(), ErrorKind::Custom);
/// # Ok::<(), kinesis_serde::Error>(())
/// ```
pub fn serializer_fn<T, E, F>(f: F) -> SerializerFn<F>
where
    T: ?Sized,
    F: Fn(&T) -> Result<Bytes, E>,
    E: Into<BoxError>,
{
    SerializerFn { f }
}

impl<T, E, F> Serializer<T> for SerializerFn<F>
where
    T: ?Sized,
    F: Fn(&T) -> Result<Bytes, E>,
    E: Into<BoxError>,
{
    fn serialize(&self, value: &T) -> Result<Bytes, Error> {
        (self.f)(value).map_err(|e| Error::custom(e).or_context(Direction::Serialize, None))
    }
}

impl<F> fmt::Debug for SerializerFn<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SerializerFn")
            .field("f", &std::any::type_name::<F>())
            .finish()
    }
}

// === DeserializerFn ===

/// A deserializer made from a closure; see [`deserializer_fn`].
///
/// ```
/// use bytes::Bytes;
/// use kinesis_serde::combinator::DeserializerFn;
/// use kinesis_serde::{deserializer_fn, Deserializer};
///
/// let len: DeserializerFn<_> = deserializer_fn(|b: Bytes| Ok::<_, kinesis_serde::Error>(b.len()));
/// assert_eq!(len.deserialize(Bytes::from_static(b"abc"))?, 3);
/// # Ok::<(), kinesis_serde::Error>(())
/// ```
#[derive(Clone, Copy)]
pub struct DeserializerFn<F> {
    f: F,
}

/// Builds a [`Deserializer`] from a closure that turns a payload into a value.
///
/// The closure may fail with any error that converts into a [`BoxError`]; it becomes an
/// [`Error`] of kind [`Custom`](crate::ErrorKind::Custom) with that error as its source and
/// the payload's length. An [`Error`] of this crate is kept as it is (its length filled in if
/// it has none).
///
/// ```
/// use bytes::Bytes;
/// use kinesis_serde::{deserializer_fn, Deserializer, ErrorKind};
///
/// // A big-endian u32 counter.
/// let counter = deserializer_fn(|b: Bytes| {
///     <[u8; 4]>::try_from(&b[..]).map(u32::from_be_bytes)
/// });
/// assert_eq!(counter.deserialize(Bytes::from_static(&[0, 0, 1, 0]))?, 256);
///
/// let err = counter.deserialize(Bytes::from_static(b"toolong")).unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::Custom);
/// assert_eq!(err.input_len(), Some(7));
/// # Ok::<(), kinesis_serde::Error>(())
/// ```
pub fn deserializer_fn<T, E, F>(f: F) -> DeserializerFn<F>
where
    F: Fn(Bytes) -> Result<T, E>,
    E: Into<BoxError>,
{
    DeserializerFn { f }
}

impl<T, E, F> Deserializer<T> for DeserializerFn<F>
where
    F: Fn(Bytes) -> Result<T, E>,
    E: Into<BoxError>,
{
    fn deserialize(&self, data: Bytes) -> Result<T, Error> {
        let len = data.len();
        (self.f)(data).map_err(|e| Error::custom(e).or_context(Direction::Deserialize, Some(len)))
    }
}

impl<F> fmt::Debug for DeserializerFn<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeserializerFn")
            .field("f", &std::any::type_name::<F>())
            .finish()
    }
}

// === Codec ===

/// A [`Serde`](crate::Serde) made of a serializer and a deserializer.
///
/// Use it to pair codecs built separately, for example a mapped deserializer with the
/// matching contramapped serializer.
///
/// ```
/// use bytes::Bytes;
/// use kinesis_serde::{Codec, Deserializer, Serde, Serializer, Utf8};
///
/// #[derive(Debug, PartialEq)]
/// struct Sku(String);
///
/// let skus = Codec::new(
///     Utf8.contramap(|s: &Sku| s.0.clone()),
///     Utf8.map(Sku),
/// );
/// fn assert_serde<C: Serde<Sku>>(_: &C) {}
/// assert_serde(&skus);
///
/// let payload = skus.serialize(&Sku("A-1".into()))?;
/// assert_eq!(skus.deserialize(payload)?, Sku("A-1".into()));
/// # Ok::<(), kinesis_serde::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct Codec<S, D> {
    serializer: S,
    deserializer: D,
}

impl<S, D> Codec<S, D> {
    /// Pairs `serializer` with `deserializer`.
    ///
    /// ```
    /// use kinesis_serde::{Codec, Raw, Utf8};
    ///
    /// let codec = Codec::new(Raw, Utf8);
    /// # let _ = codec;
    /// ```
    pub fn new(serializer: S, deserializer: D) -> Self {
        Self {
            serializer,
            deserializer,
        }
    }

    /// The serializer.
    ///
    /// ```
    /// use kinesis_serde::{Codec, Raw, Serializer, Utf8};
    ///
    /// let codec = Codec::new(Raw, Utf8);
    /// assert_eq!(&codec.serializer().serialize(b"x".as_slice())?[..], b"x");
    /// # Ok::<(), kinesis_serde::Error>(())
    /// ```
    pub fn serializer(&self) -> &S {
        &self.serializer
    }

    /// The deserializer.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use kinesis_serde::{Codec, Deserializer, Raw, Utf8};
    ///
    /// let codec = Codec::new(Raw, Utf8);
    /// let s: String = codec.deserializer().deserialize(Bytes::from_static(b"x"))?;
    /// assert_eq!(s, "x");
    /// # Ok::<(), kinesis_serde::Error>(())
    /// ```
    pub fn deserializer(&self) -> &D {
        &self.deserializer
    }

    /// The serializer and the deserializer.
    ///
    /// ```
    /// use kinesis_serde::{Codec, Raw, Utf8};
    ///
    /// let (_raw, _utf8): (Raw, Utf8) = Codec::new(Raw, Utf8).into_parts();
    /// ```
    pub fn into_parts(self) -> (S, D) {
        (self.serializer, self.deserializer)
    }
}

impl<T: ?Sized, S: Serializer<T>, D> Serializer<T> for Codec<S, D> {
    fn serialize(&self, value: &T) -> Result<Bytes, Error> {
        self.serializer.serialize(value)
    }

    fn serialize_owned(&self, value: T) -> Result<Bytes, Error>
    where
        T: Sized,
    {
        self.serializer.serialize_owned(value)
    }
}

impl<T, S, D: Deserializer<T>> Deserializer<T> for Codec<S, D> {
    fn deserialize(&self, data: Bytes) -> Result<T, Error> {
        self.deserializer.deserialize(data)
    }
}
