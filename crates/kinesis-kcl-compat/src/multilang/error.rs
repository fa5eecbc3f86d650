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
    action: Option<String>,
}

impl MessageError {
    pub(crate) fn new(kind: MessageErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            action: None,
        }
    }

    pub(crate) fn in_action(mut self, action: &str) -> Self {
        self.action = Some(action.to_owned());
        self
    }

    /// The line's `action`, when it had a readable one: a daemon answers a `checkpoint` request
    /// it cannot read with an error rather than skipping it, so that the processor does not
    /// wait for an answer forever.
    ///
    /// ```
    /// use kinesis_kcl_compat::multilang::FromProcessor;
    ///
    /// let err = FromProcessor::parse(r#"{"action":"checkpoint","subSequenceNumber":-1}"#).unwrap_err();
    /// assert_eq!(err.action(), Some("checkpoint"));
    /// assert_eq!(FromProcessor::parse("junk").unwrap_err().action(), None);
    /// ```
    pub fn action(&self) -> Option<&str> {
        self.action.as_deref()
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
