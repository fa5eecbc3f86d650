//! Why a line is not a message of the protocol.

use std::fmt;

/// What is wrong with a line.
#[non_exhaustive]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum MessageErrorKind {
    /// The line is not a JSON object.
    NotJson,
    /// The object has no `action`, or one this side of the protocol does not take.
    UnknownAction,
    /// A field the action needs is missing.
    MissingField,
    /// A field holds a value of the wrong type or form (a number where a string belongs, bad
    /// base64, a negative sub-sequence number).
    InvalidField,
}

/// A line that is not a message of the protocol: what is wrong, in which action and field.
///
/// The message never contains record data, only names and the offending value's JSON type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageError {
    kind: MessageErrorKind,
    message: String,
}

impl MessageError {
    pub(crate) fn new(kind: MessageErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    /// What is wrong.
    pub fn kind(&self) -> MessageErrorKind {
        self.kind
    }
}

impl fmt::Display for MessageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for MessageError {}
