//! Extended sequence numbers and checkpoints, ordered exactly as the KCL orders them.
//!
//! A user record is identified within its shard by an [`ExtendedSequenceNumber`]: the sequence
//! number of the Kinesis record that carried it, and its position (sub-sequence number) inside
//! that record when the record was a KPL aggregate. A plain record has sub-sequence number 0.
//!
//! The KCL lease table stores a [`Checkpoint`] in two attributes: `checkpoint` (a decimal sequence
//! number or one of the sentinel strings `TRIM_HORIZON`, `LATEST`, `AT_TIMESTAMP`, `SHARD_END`)
//! and `checkpointSubSequenceNumber`. [`Checkpoint::from_kcl_parts`] and
//! [`Checkpoint::kcl_checkpoint`] / [`Checkpoint::sub_sequence_number`] convert to and from that
//! pair.
//!
//! # Order
//!
//! The order is the KCL's (`ExtendedSequenceNumber.compareTo` in the KCL 2.x/3.x sources):
//!
//! 1. `SHARD_END` is greater than everything else, and equal to itself.
//! 2. The other sentinels are less than every sequence number. Among themselves the KCL maps
//!    `AT_TIMESTAMP` to -3, `TRIM_HORIZON` to -2 and `LATEST` to -1, so
//!    `AT_TIMESTAMP < TRIM_HORIZON < LATEST`.
//! 3. Sequence numbers compare numerically, and on a tie the sub-sequence numbers decide.
//!
//! ```
//! use kinesis_kcl_compat::sequence::{Checkpoint, ExtendedSequenceNumber, Sentinel};
//!
//! let seq: Checkpoint = "49590338271490256608559692538361571095921575989136588898".parse()?;
//! assert!(Checkpoint::Sentinel(Sentinel::AtTimestamp) < Checkpoint::Sentinel(Sentinel::TrimHorizon));
//! assert!(Checkpoint::Sentinel(Sentinel::TrimHorizon) < Checkpoint::Sentinel(Sentinel::Latest));
//! assert!(Checkpoint::Sentinel(Sentinel::Latest) < seq);
//! assert!(seq < Checkpoint::SHARD_END);
//! # Ok::<(), kinesis_client::Error>(())
//! ```

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use kinesis_client::{Error, SequenceNumber};

/// A user record's position in a shard: the sequence number of the Kinesis record that carried
/// it, then its sub-sequence number inside that record (0 for a plain record).
///
/// Ordered by sequence number (numerically), then by sub-sequence number.
///
/// Its text form is the sequence number alone when the sub-sequence number is 0 (which is also
/// how a plain record's position is written), and `<sequence>:<sub-sequence>` otherwise.
///
/// ```
/// use kinesis_kcl_compat::sequence::ExtendedSequenceNumber;
///
/// let a: ExtendedSequenceNumber = "9:3".parse()?;
/// let b: ExtendedSequenceNumber = "10".parse()?;
/// assert_eq!(a.sequence_number().as_str(), "9");
/// assert_eq!(a.sub_sequence_number(), 3);
/// assert_eq!(b.sub_sequence_number(), 0);
/// assert!(a < b); // 9 < 10 numerically, whatever the sub-sequence numbers
/// assert!(a < "9:4".parse()?);
/// assert_eq!(a.to_string(), "9:3");
/// assert_eq!(b.to_string(), "10");
/// # Ok::<(), kinesis_client::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct ExtendedSequenceNumber {
    // Field order matters: the derived order compares the sequence number first.
    sequence_number: SequenceNumber,
    sub_sequence_number: u64,
}

impl ExtendedSequenceNumber {
    /// The position of a user record: `sub_sequence_number` is its index inside the aggregate
    /// that carried it, 0 for a plain record.
    pub fn new(sequence_number: SequenceNumber, sub_sequence_number: u64) -> Self {
        Self {
            sequence_number,
            sub_sequence_number,
        }
    }

    /// The position of a plain (not aggregated) record: sub-sequence number 0.
    ///
    /// ```
    /// use kinesis_kcl_compat::sequence::ExtendedSequenceNumber;
    ///
    /// let esn = ExtendedSequenceNumber::plain("42".parse()?);
    /// assert_eq!(esn, ExtendedSequenceNumber::new("42".parse()?, 0));
    /// # Ok::<(), kinesis_client::Error>(())
    /// ```
    pub fn plain(sequence_number: SequenceNumber) -> Self {
        Self::new(sequence_number, 0)
    }

    /// The sequence number of the Kinesis record.
    pub fn sequence_number(&self) -> &SequenceNumber {
        &self.sequence_number
    }

    /// The index of the user record inside its aggregate; 0 for a plain record.
    pub fn sub_sequence_number(&self) -> u64 {
        self.sub_sequence_number
    }

    /// Splits the position into its sequence number and sub-sequence number.
    pub fn into_parts(self) -> (SequenceNumber, u64) {
        (self.sequence_number, self.sub_sequence_number)
    }
}

impl From<SequenceNumber> for ExtendedSequenceNumber {
    fn from(sequence_number: SequenceNumber) -> Self {
        Self::plain(sequence_number)
    }
}

impl fmt::Display for ExtendedSequenceNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.sub_sequence_number == 0 {
            write!(f, "{}", self.sequence_number)
        } else {
            write!(f, "{}:{}", self.sequence_number, self.sub_sequence_number)
        }
    }
}

impl FromStr for ExtendedSequenceNumber {
    type Err = Error;

    /// Parses `<sequence>` (sub-sequence number 0) or `<sequence>:<sub-sequence>`.
    fn from_str(s: &str) -> Result<Self, Error> {
        match s.split_once(':') {
            None => Ok(Self::plain(s.parse()?)),
            Some((seq, sub)) => {
                let sub = parse_sub_sequence(sub)?;
                Ok(Self::new(seq.parse()?, sub))
            }
        }
    }
}

/// Parses a sub-sequence number written as a decimal `u64` without sign or leading zeros.
fn parse_sub_sequence(s: &str) -> Result<u64, Error> {
    let well_formed =
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
    if !well_formed {
        return Err(Error::invalid_input(format!(
            "invalid sub-sequence number {s:?}: expected a decimal integer without leading zeros"
        )));
    }
    s.parse().map_err(|_| {
        Error::invalid_input(format!(
            "invalid sub-sequence number {s:?}: larger than 2^64 - 1"
        ))
    })
}

/// The special checkpoint values of the KCL (`SentinelCheckpoint`), written in the lease table's
/// `checkpoint` attribute instead of a sequence number.
///
/// The derived order is the KCL's: `AT_TIMESTAMP < TRIM_HORIZON < LATEST < SHARD_END` (and every
/// sequence number lies between `LATEST` and `SHARD_END`; see [`Checkpoint`]).
///
/// ```
/// use kinesis_kcl_compat::sequence::Sentinel;
///
/// let s: Sentinel = "TRIM_HORIZON".parse()?;
/// assert_eq!(s, Sentinel::TrimHorizon);
/// assert_eq!(Sentinel::ShardEnd.as_str(), "SHARD_END");
/// assert!("trim_horizon".parse::<Sentinel>().is_err()); // the KCL strings are case-sensitive
/// # Ok::<(), kinesis_client::Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub enum Sentinel {
    /// `AT_TIMESTAMP`: start from the first record at or after a timestamp kept in the
    /// configuration (the lease does not store it).
    AtTimestamp,
    /// `TRIM_HORIZON`: start from the oldest record still in the shard.
    TrimHorizon,
    /// `LATEST`: start after the newest record in the shard.
    Latest,
    /// `SHARD_END`: the shard is closed and every record in it has been processed.
    ShardEnd,
}

impl Sentinel {
    /// Every sentinel, in the KCL's order.
    pub const ALL: [Sentinel; 4] = [
        Sentinel::AtTimestamp,
        Sentinel::TrimHorizon,
        Sentinel::Latest,
        Sentinel::ShardEnd,
    ];

    /// The exact string the KCL writes in the `checkpoint` attribute.
    pub fn as_str(self) -> &'static str {
        match self {
            Sentinel::AtTimestamp => "AT_TIMESTAMP",
            Sentinel::TrimHorizon => "TRIM_HORIZON",
            Sentinel::Latest => "LATEST",
            Sentinel::ShardEnd => "SHARD_END",
        }
    }

    /// The sentinel written as `s`, if `s` is one of the four KCL strings (case-sensitive).
    pub fn from_kcl_str(s: &str) -> Option<Sentinel> {
        Sentinel::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

impl fmt::Display for Sentinel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Sentinel {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Sentinel::from_kcl_str(s).ok_or_else(|| {
            Error::invalid_input(format!(
                "invalid checkpoint sentinel {s:?}: expected TRIM_HORIZON, LATEST, AT_TIMESTAMP or SHARD_END"
            ))
        })
    }
}

/// What a KCL lease records as processed: a sentinel or the position of the last user record
/// processed ("up to and including").
///
/// Ordered as the KCL orders checkpoints (see the [module documentation](self)):
/// `AT_TIMESTAMP < TRIM_HORIZON < LATEST < every sequence number < SHARD_END`.
///
/// Its text form ([`Display`](fmt::Display) / [`FromStr`]) is the sentinel's KCL string, or the
/// [`ExtendedSequenceNumber`] text (`<sequence>` or `<sequence>:<sub-sequence>`). The lease table
/// keeps the sub-sequence number in its own attribute: use [`Checkpoint::from_kcl_parts`],
/// [`Checkpoint::kcl_checkpoint`] and [`Checkpoint::sub_sequence_number`] for it.
///
/// ```
/// use kinesis_kcl_compat::sequence::{Checkpoint, ExtendedSequenceNumber, Sentinel};
///
/// // From a KCL lease row: checkpoint = "1234", checkpointSubSequenceNumber = 2.
/// let c = Checkpoint::from_kcl_parts("1234", 2)?;
/// assert_eq!(c, Checkpoint::Sequence(ExtendedSequenceNumber::new("1234".parse()?, 2)));
/// assert_eq!((c.kcl_checkpoint(), c.sub_sequence_number()), ("1234", 2));
///
/// let end = Checkpoint::from_kcl_parts("SHARD_END", 0)?;
/// assert_eq!(end, Checkpoint::SHARD_END);
/// assert!(end.is_shard_end());
/// assert_eq!("LATEST".parse::<Checkpoint>()?, Checkpoint::Sentinel(Sentinel::Latest));
/// assert!("latest".parse::<Checkpoint>().is_err());
/// # Ok::<(), kinesis_client::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub enum Checkpoint {
    /// One of the KCL's special values.
    Sentinel(Sentinel),
    /// The position of the last user record processed.
    Sequence(ExtendedSequenceNumber),
}

impl Checkpoint {
    /// `TRIM_HORIZON`.
    pub const TRIM_HORIZON: Checkpoint = Checkpoint::Sentinel(Sentinel::TrimHorizon);
    /// `LATEST`.
    pub const LATEST: Checkpoint = Checkpoint::Sentinel(Sentinel::Latest);
    /// `AT_TIMESTAMP`.
    pub const AT_TIMESTAMP: Checkpoint = Checkpoint::Sentinel(Sentinel::AtTimestamp);
    /// `SHARD_END`.
    pub const SHARD_END: Checkpoint = Checkpoint::Sentinel(Sentinel::ShardEnd);

    /// Reads the pair of lease attributes `checkpoint` (a sentinel string or a decimal sequence
    /// number) and `checkpointSubSequenceNumber` (0 when the attribute is absent).
    ///
    /// A sub-sequence number given with a sentinel is ignored: the KCL always writes 0 there and
    /// gives it no meaning.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](kinesis_client::ErrorKind::InvalidInput) when `checkpoint` is
    /// neither one of the four sentinel strings nor a valid sequence number.
    pub fn from_kcl_parts(checkpoint: &str, sub_sequence_number: u64) -> Result<Self, Error> {
        if let Some(sentinel) = Sentinel::from_kcl_str(checkpoint) {
            return Ok(Checkpoint::Sentinel(sentinel));
        }
        let seq = SequenceNumber::new(checkpoint).map_err(|_| {
            Error::invalid_input(format!(
                "invalid checkpoint {checkpoint:?}: expected a sequence number or one of \
                 TRIM_HORIZON, LATEST, AT_TIMESTAMP, SHARD_END"
            ))
        })?;
        Ok(Checkpoint::Sequence(ExtendedSequenceNumber::new(
            seq,
            sub_sequence_number,
        )))
    }

    /// The value of the lease's `checkpoint` attribute: the sentinel string or the decimal
    /// sequence number.
    pub fn kcl_checkpoint(&self) -> &str {
        match self {
            Checkpoint::Sentinel(s) => s.as_str(),
            Checkpoint::Sequence(esn) => esn.sequence_number().as_str(),
        }
    }

    /// The value of the lease's `checkpointSubSequenceNumber` attribute: 0 for a sentinel.
    pub fn sub_sequence_number(&self) -> u64 {
        match self {
            Checkpoint::Sentinel(_) => 0,
            Checkpoint::Sequence(esn) => esn.sub_sequence_number(),
        }
    }

    /// The sentinel, if this checkpoint is one.
    pub fn sentinel(&self) -> Option<Sentinel> {
        match self {
            Checkpoint::Sentinel(s) => Some(*s),
            Checkpoint::Sequence(_) => None,
        }
    }

    /// The position, if this checkpoint is one.
    pub fn sequence(&self) -> Option<&ExtendedSequenceNumber> {
        match self {
            Checkpoint::Sentinel(_) => None,
            Checkpoint::Sequence(esn) => Some(esn),
        }
    }

    /// Whether this is `SHARD_END`: the shard was read to its end.
    pub fn is_shard_end(&self) -> bool {
        matches!(self, Checkpoint::Sentinel(Sentinel::ShardEnd))
    }
}

impl From<ExtendedSequenceNumber> for Checkpoint {
    fn from(esn: ExtendedSequenceNumber) -> Self {
        Checkpoint::Sequence(esn)
    }
}

impl From<Sentinel> for Checkpoint {
    fn from(s: Sentinel) -> Self {
        Checkpoint::Sentinel(s)
    }
}

/// Where a checkpoint falls in the KCL order: the three starting sentinels, then every
/// sequence number, then `SHARD_END`.
fn rank(c: &Checkpoint) -> u8 {
    match c {
        Checkpoint::Sentinel(Sentinel::AtTimestamp) => 0,
        Checkpoint::Sentinel(Sentinel::TrimHorizon) => 1,
        Checkpoint::Sentinel(Sentinel::Latest) => 2,
        Checkpoint::Sequence(_) => 3,
        Checkpoint::Sentinel(Sentinel::ShardEnd) => 4,
    }
}

impl Ord for Checkpoint {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Checkpoint::Sequence(a), Checkpoint::Sequence(b)) => a.cmp(b),
            _ => rank(self).cmp(&rank(other)),
        }
    }
}

impl PartialOrd for Checkpoint {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Checkpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Checkpoint::Sentinel(s) => fmt::Display::fmt(s, f),
            Checkpoint::Sequence(esn) => fmt::Display::fmt(esn, f),
        }
    }
}

impl FromStr for Checkpoint {
    type Err = Error;

    /// Parses a sentinel string (`TRIM_HORIZON`, `LATEST`, `AT_TIMESTAMP`, `SHARD_END`), a
    /// sequence number, or `<sequence>:<sub-sequence>`.
    fn from_str(s: &str) -> Result<Self, Error> {
        if let Some(sentinel) = Sentinel::from_kcl_str(s) {
            return Ok(Checkpoint::Sentinel(sentinel));
        }
        s.parse::<ExtendedSequenceNumber>()
            .map(Checkpoint::Sequence)
            .map_err(|_| {
                Error::invalid_input(format!(
                    "invalid checkpoint {s:?}: expected TRIM_HORIZON, LATEST, AT_TIMESTAMP, \
                     SHARD_END, <sequence> or <sequence>:<sub-sequence>"
                ))
            })
    }
}
