//! The CLI's one error type: a message with its cause chain, and the exit code it maps to.

use std::fmt;

use kinesis_client::{DisplayErrorChain, ErrorKind};
use kinesis_lease::{LeaseError, LeaseErrorKind};

/// The exit codes, as docs/cli.md lists them.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Exit {
    /// A call failed (the service, the network, a file), or the outcome is unknown.
    Failure = 1,
    /// The command line is wrong (clap exits with 2 for its own errors too).
    Usage = 2,
    /// The stream, shard, consumer, lease table or lease does not exist.
    NotFound = 3,
    /// A lease changed between reading and writing it (another worker or operator wrote first);
    /// nothing was written.
    Conflict = 4,
    /// The operator declined the confirmation; nothing was written.
    Declined = 5,
    /// The lease table holds rows that cannot be read as leases (the readable ones are shown).
    CorruptRows = 6,
    /// Interrupted by Ctrl-C or SIGTERM before the command finished.
    Interrupted = 130,
}

/// An error that ends the command: one line for the operator, and an exit code.
#[derive(Debug)]
pub(crate) struct CliError {
    exit: Exit,
    message: String,
}

pub(crate) type Result<T, E = CliError> = std::result::Result<T, E>;

impl CliError {
    pub(crate) fn new(exit: Exit, message: impl Into<String>) -> Self {
        Self {
            exit,
            message: message.into(),
        }
    }

    pub(crate) fn usage(message: impl Into<String>) -> Self {
        Self::new(Exit::Usage, message)
    }

    pub(crate) fn failure(message: impl Into<String>) -> Self {
        Self::new(Exit::Failure, message)
    }

    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self::new(Exit::NotFound, message)
    }

    /// A Kinesis or DynamoDB call's error, after `context` ("describing stream orders").
    pub(crate) fn client(context: impl fmt::Display, err: &kinesis_client::Error) -> Self {
        let exit = match err.kind() {
            ErrorKind::NotFound => Exit::NotFound,
            ErrorKind::InvalidInput | ErrorKind::InvalidArgument => Exit::Usage,
            ErrorKind::ConditionFailed => Exit::Conflict,
            _ => Exit::Failure,
        };
        let unknown = if err.is_outcome_unknown() {
            " (the outcome is unknown: the call may have taken effect)"
        } else {
            ""
        };
        Self::new(
            exit,
            format!("{context}: {}{unknown}", DisplayErrorChain(err)),
        )
    }

    /// A lease table's error, after `context`.
    pub(crate) fn lease(context: impl fmt::Display, err: &LeaseError) -> Self {
        let exit = match err.kind() {
            LeaseErrorKind::NotFound => Exit::NotFound,
            LeaseErrorKind::LeaseLost | LeaseErrorKind::ConditionFailed => Exit::Conflict,
            LeaseErrorKind::CorruptRow => Exit::CorruptRows,
            _ => Exit::Failure,
        };
        Self::new(exit, format!("{context}: {}", DisplayErrorChain(err)))
    }

    /// Any other error with a cause chain.
    pub(crate) fn other(
        context: impl fmt::Display,
        err: &(dyn std::error::Error + 'static),
    ) -> Self {
        Self::failure(format!("{context}: {}", DisplayErrorChain(err)))
    }

    pub(crate) fn exit(&self) -> Exit {
        self.exit
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}
