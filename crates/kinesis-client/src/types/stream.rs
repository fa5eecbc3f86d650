//! Stream identifiers: a stream is addressed by name or by ARN everywhere.

use std::fmt;
use std::str::FromStr;

use crate::error::Error;

/// Checks the characters allowed in stream names, shard ids and consumer names.
pub(crate) fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')
}

/// The name of a Kinesis data stream: 1 to 128 characters of `a-z A-Z 0-9 _ . -`.
///
/// ```
/// use kinesis_client::StreamName;
///
/// let name: StreamName = "orders".parse()?;
/// assert_eq!(name.as_str(), "orders");
/// assert!("no spaces".parse::<StreamName>().is_err());
/// # Ok::<(), kinesis_client::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StreamName(String);

impl StreamName {
    /// Validates and wraps a stream name.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) when the name is empty, longer
    /// than 128 characters or contains a character outside `a-z A-Z 0-9 _ . -`.
    pub fn new(name: impl Into<String>) -> Result<Self, Error> {
        let name = name.into();
        if name.is_empty() || name.len() > 128 {
            return Err(Error::invalid_input(format!(
                "stream name must be 1 to 128 characters, got {}",
                name.len()
            )));
        }
        if let Some(c) = name.chars().find(|c| !is_name_char(*c)) {
            return Err(Error::invalid_input(format!(
                "stream name {name:?} contains {c:?}; allowed are a-z A-Z 0-9 _ . -"
            )));
        }
        Ok(Self(name))
    }

    /// The name as a string slice.
    ///
    /// ```
    /// # use kinesis_client::StreamName;
    /// assert_eq!(StreamName::new("s1")?.as_str(), "s1");
    /// # Ok::<(), kinesis_client::Error>(())
    /// ```
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for StreamName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for StreamName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl FromStr for StreamName {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Self::new(s)
    }
}

/// The ARN of a Kinesis data stream, `arn:<partition>:kinesis:<region>:<account>:stream/<name>`.
///
/// ```
/// use kinesis_client::StreamArn;
///
/// let arn: StreamArn = "arn:aws:kinesis:eu-west-1:123456789012:stream/orders".parse()?;
/// assert_eq!(arn.stream_name().as_str(), "orders");
/// assert_eq!(arn.region(), "eu-west-1");
/// assert_eq!(arn.account_id(), "123456789012");
/// # Ok::<(), kinesis_client::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StreamArn {
    arn: String,
    name: StreamName,
    region_end: usize,
    region_start: usize,
    account_start: usize,
}

impl StreamArn {
    /// Parses and validates a stream ARN.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) when the text is not a Kinesis
    /// stream ARN: wrong prefix or service, empty region, an account id that is not 12 digits, or
    /// an invalid stream name.
    pub fn new(arn: impl Into<String>) -> Result<Self, Error> {
        let arn = arn.into();
        let bad = |why: &str| Error::invalid_input(format!("invalid stream ARN {arn:?}: {why}"));
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        if parts.len() != 6 || parts[0] != "arn" {
            return Err(bad(
                "expected arn:<partition>:kinesis:<region>:<account>:stream/<name>",
            ));
        }
        if !parts[1].starts_with("aws") {
            return Err(bad("partition must start with \"aws\""));
        }
        if parts[2] != "kinesis" {
            return Err(bad("service must be \"kinesis\""));
        }
        if parts[3].is_empty()
            || !parts[3]
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return Err(bad("region must be lowercase letters, digits and -"));
        }
        if parts[4].len() != 12 || !parts[4].chars().all(|c| c.is_ascii_digit()) {
            return Err(bad("account id must be 12 digits"));
        }
        let Some(name) = parts[5].strip_prefix("stream/") else {
            return Err(bad("resource must be stream/<name>"));
        };
        let name = StreamName::new(name).map_err(|e| bad(e.message()))?;
        let region_start = parts[0].len() + parts[1].len() + parts[2].len() + 3;
        let region_end = region_start + parts[3].len();
        let account_start = region_end + 1;
        Ok(Self {
            name,
            region_start,
            region_end,
            account_start,
            arn,
        })
    }

    /// The whole ARN.
    pub fn as_str(&self) -> &str {
        &self.arn
    }

    /// The stream name at the end of the ARN.
    pub fn stream_name(&self) -> &StreamName {
        &self.name
    }

    /// The region part of the ARN.
    pub fn region(&self) -> &str {
        &self.arn[self.region_start..self.region_end]
    }

    /// The 12-digit account id of the ARN.
    pub fn account_id(&self) -> &str {
        &self.arn[self.account_start..self.account_start + 12]
    }
}

impl fmt::Display for StreamArn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.arn)
    }
}

impl fmt::Debug for StreamArn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.arn, f)
    }
}

impl FromStr for StreamArn {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Self::new(s)
    }
}

/// A stream addressed by name or by ARN.
///
/// Every API of this workspace that names a stream takes a `StreamId`, so either form works.
/// Parsing text that starts with `arn:` gives an ARN, anything else a name.
///
/// ```
/// use kinesis_client::StreamId;
///
/// let by_name: StreamId = "orders".parse()?;
/// let by_arn: StreamId = "arn:aws:kinesis:us-east-1:123456789012:stream/orders".parse()?;
/// assert_eq!(by_name.name(), by_arn.name());
/// assert!(by_arn.arn().is_some());
/// # Ok::<(), kinesis_client::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum StreamId {
    /// The stream's name, resolved in the client's account and region.
    Name(StreamName),
    /// The stream's ARN.
    Arn(StreamArn),
}

impl StreamId {
    /// The stream name, taken from the ARN when addressed by ARN.
    pub fn name(&self) -> &StreamName {
        match self {
            StreamId::Name(n) => n,
            StreamId::Arn(a) => a.stream_name(),
        }
    }

    /// The ARN, when the stream is addressed by ARN.
    pub fn arn(&self) -> Option<&StreamArn> {
        match self {
            StreamId::Name(_) => None,
            StreamId::Arn(a) => Some(a),
        }
    }

    /// The `(StreamName, StreamARN)` request parameters: exactly one of them is set.
    #[cfg(feature = "sdk")]
    pub(crate) fn params(&self) -> (Option<String>, Option<String>) {
        match self {
            StreamId::Name(n) => (Some(n.as_str().to_owned()), None),
            StreamId::Arn(a) => (None, Some(a.as_str().to_owned())),
        }
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StreamId::Name(n) => fmt::Display::fmt(n, f),
            StreamId::Arn(a) => fmt::Display::fmt(a, f),
        }
    }
}

impl fmt::Debug for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StreamId::Name(n) => fmt::Debug::fmt(n, f),
            StreamId::Arn(a) => fmt::Debug::fmt(a, f),
        }
    }
}

impl FromStr for StreamId {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        if s.starts_with("arn:") {
            StreamArn::new(s).map(StreamId::Arn)
        } else {
            StreamName::new(s).map(StreamId::Name)
        }
    }
}

impl TryFrom<&str> for StreamId {
    type Error = Error;
    fn try_from(s: &str) -> Result<Self, Error> {
        s.parse()
    }
}

impl TryFrom<String> for StreamId {
    type Error = Error;
    fn try_from(s: String) -> Result<Self, Error> {
        s.parse()
    }
}

impl From<StreamName> for StreamId {
    fn from(n: StreamName) -> Self {
        StreamId::Name(n)
    }
}

impl From<StreamArn> for StreamId {
    fn from(a: StreamArn) -> Self {
        StreamId::Arn(a)
    }
}

impl From<&StreamName> for StreamId {
    fn from(n: &StreamName) -> Self {
        StreamId::Name(n.clone())
    }
}

impl From<&StreamArn> for StreamId {
    fn from(a: &StreamArn) -> Self {
        StreamId::Arn(a.clone())
    }
}

impl From<&StreamId> for StreamId {
    fn from(s: &StreamId) -> Self {
        s.clone()
    }
}

/// The ARN of a registered enhanced fan-out consumer,
/// `arn:...:kinesis:<region>:<account>:stream/<stream>/consumer/<name>:<epoch>`.
///
/// ```
/// use kinesis_client::ConsumerArn;
///
/// let arn = ConsumerArn::new("arn:aws:kinesis:us-east-1:123456789012:stream/s/consumer/app:1700000000")?;
/// assert!(arn.as_str().ends_with("consumer/app:1700000000"));
/// assert!(ConsumerArn::new("nonsense").is_err());
/// # Ok::<(), kinesis_client::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConsumerArn(String);

impl ConsumerArn {
    /// Validates and wraps a consumer ARN.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) unless the text is a Kinesis ARN
    /// whose resource is `stream/<name>/consumer/<name>:<epoch>`.
    pub fn new(arn: impl Into<String>) -> Result<Self, Error> {
        let arn = arn.into();
        let ok = arn.starts_with("arn:")
            && arn.split(':').nth(2) == Some("kinesis")
            && arn.contains(":stream/")
            && arn.contains("/consumer/")
            && arn.len() <= 2048;
        if ok {
            Ok(Self(arn))
        } else {
            Err(Error::invalid_input(format!(
                "invalid consumer ARN {arn:?}: expected arn:...:kinesis:<region>:<account>:stream/<stream>/consumer/<name>:<epoch>"
            )))
        }
    }

    /// The whole ARN.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ConsumerArn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ConsumerArn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl FromStr for ConsumerArn {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Self::new(s)
    }
}

/// A stream given to a builder: a [`StreamId`], [`StreamName`] or [`StreamArn`], or text (a name
/// or an ARN) that is checked when the builder builds, so that a builder chain stays free of
/// `?` and a bad name is still refused before anything is sent.
///
/// ```
/// use kinesis_client::{IntoStreamId, StreamId};
///
/// assert_eq!("orders".into_stream_id().unwrap(), "orders".parse::<StreamId>().unwrap());
/// let err = "no spaces allowed".into_stream_id().unwrap_err();
/// assert!(err.is_invalid_input());
/// ```
pub trait IntoStreamId {
    /// The stream, or why the text is not a stream name or ARN.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) for text that is neither.
    fn into_stream_id(self) -> Result<StreamId, Error>;
}

impl<T: Into<StreamId>> IntoStreamId for T {
    fn into_stream_id(self) -> Result<StreamId, Error> {
        Ok(self.into())
    }
}

impl IntoStreamId for &str {
    fn into_stream_id(self) -> Result<StreamId, Error> {
        self.parse()
    }
}

impl IntoStreamId for String {
    fn into_stream_id(self) -> Result<StreamId, Error> {
        self.parse()
    }
}

impl IntoStreamId for &String {
    fn into_stream_id(self) -> Result<StreamId, Error> {
        self.parse()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_names_are_validated() {
        assert!(StreamName::new("a").is_ok());
        assert!(StreamName::new("a".repeat(128)).is_ok());
        assert!(StreamName::new("a".repeat(129)).is_err());
        assert!(StreamName::new("").is_err());
        assert!(StreamName::new("a/b").is_err());
        assert!(StreamName::new("Orders_2024-v1.0").is_ok());
    }

    #[test]
    fn arns_are_parsed() {
        let arn = StreamArn::new("arn:aws-cn:kinesis:cn-north-1:000000000000:stream/x").unwrap();
        assert_eq!(arn.region(), "cn-north-1");
        assert_eq!(arn.account_id(), "000000000000");
        assert_eq!(arn.stream_name().as_str(), "x");
        for bad in [
            "arn:aws:sqs:us-east-1:123456789012:stream/x",
            "arn:aws:kinesis:us-east-1:12345:stream/x",
            "arn:aws:kinesis::123456789012:stream/x",
            "arn:aws:kinesis:us-east-1:123456789012:table/x",
            "arn:aws:kinesis:us-east-1:123456789012:stream/",
            "arn:aws:kinesis:us-east-1:123456789012:stream/a b",
            "kinesis",
        ] {
            assert!(StreamArn::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn stream_ids_parse_both_forms() {
        let id: StreamId = "arn:aws:kinesis:us-east-1:123456789012:stream/s"
            .parse()
            .unwrap();
        assert_eq!(
            id.params(),
            (
                None,
                Some("arn:aws:kinesis:us-east-1:123456789012:stream/s".into())
            )
        );
        let id: StreamId = "s".parse().unwrap();
        assert_eq!(id.params(), (Some("s".into()), None));
        assert!("arn:bogus".parse::<StreamId>().is_err());
    }
}
