//! Lease keys: a shard id, or `account:stream:epoch:shardId` in multi-stream applications.

use std::fmt;
use std::str::FromStr;

use kinesis_client::{Error, ShardId, StreamName};

/// A stream as a multi-stream KCL application names it: `accountId:streamName:creationEpoch`
/// (`common/StreamIdentifier.java`, `serialize`).
///
/// This is the value of the lease's `streamName` attribute and of the `StreamId` metric
/// dimension. The account id is one or more decimal digits (the KCL does not insist on twelve),
/// the creation epoch a positive number of seconds without leading zeros that fits a Java `long`.
///
/// ```
/// use kinesis_kcl_compat::lease::MultiStreamIdentifier;
///
/// let id: MultiStreamIdentifier = "123456789012:orders:1700000000".parse()?;
/// assert_eq!(id.account_id(), "123456789012");
/// assert_eq!(id.stream_name().as_str(), "orders");
/// assert_eq!(id.creation_epoch(), 1_700_000_000);
/// assert_eq!(id.to_string(), "123456789012:orders:1700000000");
/// assert!("123456789012:orders:0".parse::<MultiStreamIdentifier>().is_err());
/// # Ok::<(), kinesis_client::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MultiStreamIdentifier {
    account_id: String,
    stream_name: StreamName,
    creation_epoch: u64,
}

impl MultiStreamIdentifier {
    /// Validates and assembles a stream identifier.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](kinesis_client::ErrorKind::InvalidInput) when the account id
    /// is not one or more decimal digits, or the creation epoch is 0 or above `i64::MAX`.
    ///
    /// ```
    /// use kinesis_kcl_compat::lease::MultiStreamIdentifier;
    ///
    /// let id = MultiStreamIdentifier::new("123456789012", "orders".parse()?, 1_700_000_000)?;
    /// assert_eq!(id.to_string(), "123456789012:orders:1700000000");
    /// assert!(MultiStreamIdentifier::new("12ab", "orders".parse()?, 1).is_err());
    /// # Ok::<(), kinesis_client::Error>(())
    /// ```
    pub fn new(
        account_id: impl Into<String>,
        stream_name: StreamName,
        creation_epoch: u64,
    ) -> Result<Self, Error> {
        let account_id = account_id.into();
        if account_id.is_empty() || !account_id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::invalid_input(format!(
                "invalid account id {account_id:?}: expected decimal digits"
            )));
        }
        if creation_epoch == 0 || creation_epoch > i64::MAX as u64 {
            return Err(Error::invalid_input(format!(
                "invalid stream creation epoch {creation_epoch}: expected 1 to 2^63 - 1"
            )));
        }
        Ok(Self {
            account_id,
            stream_name,
            creation_epoch,
        })
    }

    /// The AWS account id that owns the stream.
    pub fn account_id(&self) -> &str {
        &self.account_id
    }

    /// The stream's name.
    pub fn stream_name(&self) -> &StreamName {
        &self.stream_name
    }

    /// The stream's creation time, in seconds since the Unix epoch.
    pub fn creation_epoch(&self) -> u64 {
        self.creation_epoch
    }
}

impl fmt::Display for MultiStreamIdentifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}",
            self.account_id, self.stream_name, self.creation_epoch
        )
    }
}

impl fmt::Debug for MultiStreamIdentifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.to_string(), f)
    }
}

impl FromStr for MultiStreamIdentifier {
    type Err = Error;

    /// Parses `accountId:streamName:creationEpoch`.
    fn from_str(s: &str) -> Result<Self, Error> {
        let bad = |why: String| {
            Error::invalid_input(format!(
                "invalid stream identifier {s:?}: {why}; expected accountId:streamName:creationEpoch"
            ))
        };
        let parts: Vec<&str> = s.split(':').collect();
        let [account, name, epoch] = parts[..] else {
            return Err(bad(format!("{} colon-separated parts", parts.len())));
        };
        let name = StreamName::new(name).map_err(|e| bad(e.message().to_owned()))?;
        let epoch = parse_epoch(epoch).map_err(bad)?;
        Self::new(account, name, epoch).map_err(|e| bad(e.message().to_owned()))
    }
}

/// Reads a creation epoch: decimal digits without leading zeros (so that printing it again gives
/// the same key).
fn parse_epoch(s: &str) -> Result<u64, String> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("creation epoch {s:?} is not a decimal number"));
    }
    if s.len() > 1 && s.starts_with('0') {
        return Err(format!("creation epoch {s:?} has leading zeros"));
    }
    s.parse()
        .map_err(|_| format!("creation epoch {s:?} is too large"))
}

/// The lease key of one shard of a multi-stream application:
/// `accountId:streamName:creationEpoch:shardId` (`leases/MultiStreamLease.java`).
///
/// ```
/// use kinesis_kcl_compat::lease::MultiStreamLeaseKey;
///
/// let key: MultiStreamLeaseKey = "111111111:multiStreamTest-1:12345:shardId-000000000336".parse()?;
/// assert_eq!(key.stream().account_id(), "111111111");
/// assert_eq!(key.stream().stream_name().as_str(), "multiStreamTest-1");
/// assert_eq!(key.stream().creation_epoch(), 12345);
/// assert_eq!(key.shard_id().as_str(), "shardId-000000000336");
/// assert_eq!(key.to_string(), "111111111:multiStreamTest-1:12345:shardId-000000000336");
/// # Ok::<(), kinesis_client::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MultiStreamLeaseKey {
    stream: MultiStreamIdentifier,
    shard_id: ShardId,
}

impl MultiStreamLeaseKey {
    /// The key of `shard_id` in `stream`.
    ///
    /// ```
    /// use kinesis_kcl_compat::lease::{LeaseKey, MultiStreamLeaseKey};
    ///
    /// let key = MultiStreamLeaseKey::new("1:orders:2".parse()?, "shardId-000000000004".parse()?);
    /// let key = LeaseKey::from(key);
    /// assert_eq!(key.stream().map(|s| s.to_string()), Some("1:orders:2".to_owned()));
    /// assert_eq!(key.to_string(), "1:orders:2:shardId-000000000004");
    /// # Ok::<(), kinesis_client::Error>(())
    /// ```
    pub fn new(stream: MultiStreamIdentifier, shard_id: ShardId) -> Self {
        Self { stream, shard_id }
    }

    /// The stream part, `accountId:streamName:creationEpoch`.
    pub fn stream(&self) -> &MultiStreamIdentifier {
        &self.stream
    }

    /// The shard part.
    pub fn shard_id(&self) -> &ShardId {
        &self.shard_id
    }
}

impl fmt::Display for MultiStreamLeaseKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.stream, self.shard_id)
    }
}

impl fmt::Debug for MultiStreamLeaseKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.to_string(), f)
    }
}

impl FromStr for MultiStreamLeaseKey {
    type Err = Error;

    /// Parses `accountId:streamName:creationEpoch:shardId`.
    fn from_str(s: &str) -> Result<Self, Error> {
        let bad = |why: &str| {
            Error::invalid_input(format!(
                "invalid multi-stream lease key {s:?}: {why}; expected \
                 accountId:streamName:creationEpoch:shardId"
            ))
        };
        // Neither stream names nor shard ids contain ':', so the last colon ends the stream part.
        let Some((stream, shard)) = s.rsplit_once(':') else {
            return Err(bad("no colon"));
        };
        let stream: MultiStreamIdentifier = stream.parse().map_err(|e: Error| bad(e.message()))?;
        let shard_id = ShardId::new(shard).map_err(|e| bad(e.message()))?;
        Ok(Self::new(stream, shard_id))
    }
}

/// The `leaseKey` of a lease row: a shard id in a single-stream application, or a
/// [`MultiStreamLeaseKey`] in a multi-stream one.
///
/// Parsing tells them apart by the colon, which shard ids never contain.
///
/// ```
/// use kinesis_kcl_compat::lease::LeaseKey;
///
/// let single: LeaseKey = "shardId-000000000001".parse()?;
/// assert!(matches!(single, LeaseKey::Shard(_)));
/// let multi: LeaseKey = "123456789012:orders:1700000000:shardId-000000000001".parse()?;
/// assert!(matches!(multi, LeaseKey::MultiStream(_)));
/// assert_eq!(single.shard_id(), multi.shard_id());
/// assert_eq!(multi.to_string(), "123456789012:orders:1700000000:shardId-000000000001");
/// assert!("not a key!".parse::<LeaseKey>().is_err());
/// # Ok::<(), kinesis_client::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LeaseKey {
    /// A single-stream application's key: the shard id.
    Shard(ShardId),
    /// A multi-stream application's key.
    MultiStream(MultiStreamLeaseKey),
}

impl LeaseKey {
    /// The shard the lease is for.
    pub fn shard_id(&self) -> &ShardId {
        match self {
            LeaseKey::Shard(id) => id,
            LeaseKey::MultiStream(key) => key.shard_id(),
        }
    }

    /// The stream, for a multi-stream key.
    pub fn stream(&self) -> Option<&MultiStreamIdentifier> {
        match self {
            LeaseKey::Shard(_) => None,
            LeaseKey::MultiStream(key) => Some(key.stream()),
        }
    }

    /// The key for a sibling shard: same stream, another shard id. Child leases are keyed this
    /// way at shard end.
    ///
    /// ```
    /// use kinesis_kcl_compat::lease::LeaseKey;
    ///
    /// let key: LeaseKey = "1:s:2:shardId-000000000001".parse()?;
    /// let child = key.with_shard_id("shardId-000000000005".parse()?);
    /// assert_eq!(child.to_string(), "1:s:2:shardId-000000000005");
    /// # Ok::<(), kinesis_client::Error>(())
    /// ```
    pub fn with_shard_id(&self, shard_id: ShardId) -> LeaseKey {
        match self {
            LeaseKey::Shard(_) => LeaseKey::Shard(shard_id),
            LeaseKey::MultiStream(key) => {
                LeaseKey::MultiStream(MultiStreamLeaseKey::new(key.stream().clone(), shard_id))
            }
        }
    }
}

impl From<ShardId> for LeaseKey {
    fn from(id: ShardId) -> Self {
        LeaseKey::Shard(id)
    }
}

impl From<MultiStreamLeaseKey> for LeaseKey {
    fn from(key: MultiStreamLeaseKey) -> Self {
        LeaseKey::MultiStream(key)
    }
}

impl fmt::Display for LeaseKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LeaseKey::Shard(id) => fmt::Display::fmt(id, f),
            LeaseKey::MultiStream(key) => fmt::Display::fmt(key, f),
        }
    }
}

impl fmt::Debug for LeaseKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.to_string(), f)
    }
}

impl FromStr for LeaseKey {
    type Err = Error;

    /// Parses a shard id, or `accountId:streamName:creationEpoch:shardId` when the text has a
    /// colon.
    fn from_str(s: &str) -> Result<Self, Error> {
        if s.contains(':') {
            s.parse().map(LeaseKey::MultiStream)
        } else {
            ShardId::new(s).map(LeaseKey::Shard).map_err(|e| {
                Error::invalid_input(format!(
                    "invalid lease key {s:?}: not a shard id ({}) and no colon for a \
                     multi-stream key",
                    e.message()
                ))
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_multi_stream_keys() {
        for bad in [
            ":",
            "1:s:2",
            "1:s:2:",
            ":s:2:shardId-1",
            "a:s:2:shardId-1",
            "1::2:shardId-1",
            "1:s::shardId-1",
            "1:s:0:shardId-1",
            "1:s:02:shardId-1",
            "1:s:-2:shardId-1",
            "1:s:9223372036854775808:shardId-1",
            "1:s:99999999999999999999999:shardId-1",
            "1:s p:2:shardId-1",
            "1:s:2:shard id",
            "1:s:2:x:shardId-1",
        ] {
            assert!(bad.parse::<LeaseKey>().is_err(), "{bad}");
        }
        assert!(
            "1:s:9223372036854775807:shardId-1"
                .parse::<LeaseKey>()
                .is_ok()
        );
    }
}
