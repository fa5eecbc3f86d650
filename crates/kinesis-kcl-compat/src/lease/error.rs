//! The error of reading a corrupt lease row.

use std::fmt;

use super::AttributeValue;

/// The type of a DynamoDB attribute value, as DynamoDB names it (`S`, `N`, `SS`, ...).
///
/// ```
/// use kinesis_kcl_compat::lease::{AttributeType, AttributeValue};
///
/// assert_eq!(AttributeType::of(&AttributeValue::N("1".into())), AttributeType::N);
/// assert_eq!(AttributeType::Ss.to_string(), "SS");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AttributeType {
    /// String.
    S,
    /// Number (decimal text).
    N,
    /// Binary.
    B,
    /// String set.
    Ss,
    /// Number set.
    Ns,
    /// Binary set.
    Bs,
    /// Map.
    M,
    /// List.
    L,
    /// Boolean.
    Bool,
    /// Null.
    Null,
}

impl AttributeType {
    /// The type of `value`.
    pub fn of(value: &AttributeValue) -> AttributeType {
        match value {
            AttributeValue::S(_) => AttributeType::S,
            AttributeValue::N(_) => AttributeType::N,
            AttributeValue::B(_) => AttributeType::B,
            AttributeValue::Ss(_) => AttributeType::Ss,
            AttributeValue::Ns(_) => AttributeType::Ns,
            AttributeValue::Bs(_) => AttributeType::Bs,
            AttributeValue::M(_) => AttributeType::M,
            AttributeValue::L(_) => AttributeType::L,
            AttributeValue::Bool(_) => AttributeType::Bool,
            AttributeValue::Null(_) => AttributeType::Null,
        }
    }

    /// The type's name as DynamoDB writes it in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            AttributeType::S => "S",
            AttributeType::N => "N",
            AttributeType::B => "B",
            AttributeType::Ss => "SS",
            AttributeType::Ns => "NS",
            AttributeType::Bs => "BS",
            AttributeType::M => "M",
            AttributeType::L => "L",
            AttributeType::Bool => "BOOL",
            AttributeType::Null => "NULL",
        }
    }
}

impl fmt::Display for AttributeType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What is wrong with one attribute of a lease row.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Problem {
    /// A required attribute is absent.
    Missing,
    /// The attribute has another DynamoDB type than the KCL writes.
    WrongType {
        /// The type (or one of the types) the KCL writes there.
        expected: AttributeType,
        /// The type found.
        found: AttributeType,
    },
    /// A number attribute that cannot be read as the number it should be.
    InvalidNumber {
        /// The attribute's text.
        value: String,
        /// Why it was refused, e.g. "not an integer", "negative".
        reason: String,
    },
    /// A string attribute whose text is not valid there: a malformed checkpoint, sequence number,
    /// shard id, hash key or lease key.
    InvalidValue {
        /// The attribute's text.
        value: String,
        /// Why it was refused.
        reason: String,
    },
    /// The attribute only makes sense with another one, which is absent.
    Unpaired {
        /// The attribute that should be present too.
        missing: &'static str,
    },
    /// The attribute contradicts another attribute of the row (e.g. `shardId` against the
    /// multi-stream `leaseKey`).
    Inconsistent {
        /// What it should have been, given the rest of the row.
        expected: String,
        /// What it is.
        found: String,
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Missing => f.write_str("missing"),
            Problem::WrongType { expected, found } => {
                write!(f, "expected type {expected}, found {found}")
            }
            Problem::InvalidNumber { value, reason } => {
                write!(f, "invalid number {value:?}: {reason}")
            }
            Problem::InvalidValue { value, reason } => {
                write!(f, "invalid value {value:?}: {reason}")
            }
            Problem::Unpaired { missing } => write!(f, "present without {missing}"),
            Problem::Inconsistent { expected, found } => {
                write!(
                    f,
                    "expected {expected:?} from the rest of the row, found {found:?}"
                )
            }
        }
    }
}

/// A lease row that cannot be read: which row, which attribute, and what is wrong with it.
///
/// ```
/// use std::collections::HashMap;
/// use kinesis_kcl_compat::lease::{attr, AttributeValue, ParsedRow, Problem};
///
/// let item = HashMap::from([
///     (attr::LEASE_KEY.to_owned(), AttributeValue::S("shardId-000000000001".into())),
///     (attr::LEASE_COUNTER.to_owned(), AttributeValue::S("7".into())),
///     (attr::CHECKPOINT.to_owned(), AttributeValue::S("TRIM_HORIZON".into())),
/// ]);
/// let err = ParsedRow::from_item(item).unwrap_err();
/// assert_eq!(err.lease_key(), Some("shardId-000000000001"));
/// assert_eq!(err.attribute(), attr::LEASE_COUNTER);
/// assert!(matches!(err.problem(), Problem::WrongType { .. }));
/// assert_eq!(
///     err.to_string(),
///     "lease row \"shardId-000000000001\": attribute leaseCounter: expected type N, found S"
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaseRowError {
    lease_key: Option<String>,
    attribute: &'static str,
    problem: Problem,
}

impl LeaseRowError {
    pub(crate) fn new(lease_key: Option<&str>, attribute: &'static str, problem: Problem) -> Self {
        Self {
            lease_key: lease_key.map(str::to_owned),
            attribute,
            problem,
        }
    }

    /// The row's `leaseKey`, when it is a readable string.
    pub fn lease_key(&self) -> Option<&str> {
        self.lease_key.as_deref()
    }

    /// The name of the attribute at fault (one of the [`attr`](super::attr) constants).
    pub fn attribute(&self) -> &'static str {
        self.attribute
    }

    /// What is wrong with it.
    pub fn problem(&self) -> &Problem {
        &self.problem
    }
}

impl fmt::Display for LeaseRowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.lease_key {
            Some(key) => write!(f, "lease row {key:?}")?,
            None => f.write_str("lease row with unreadable leaseKey")?,
        }
        write!(f, ": attribute {}: {}", self.attribute, self.problem)
    }
}

impl std::error::Error for LeaseRowError {}
