//! The CLI's one error type: a message with its cause chain, and the exit code it maps to.

use std::fmt;

use kinesis_client::ErrorKind;
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
        let exit = exit_of_client(err);
        let unknown = if err.is_outcome_unknown() {
            " (the outcome is unknown: the call may have taken effect)"
        } else {
            ""
        };
        Self::new(exit, format!("{context}: {}{unknown}", chain(err)))
    }

    /// A lease table's error, after `context`.
    pub(crate) fn lease(context: impl fmt::Display, err: &LeaseError) -> Self {
        Self::new(exit_of_lease(err), format!("{context}: {}", chain(err)))
    }

    /// Any other error with a cause chain; its exit code is that of the first client or
    /// lease-table error in the chain (a missing stream behind a producer's setup error is
    /// "not found").
    pub(crate) fn other(
        context: impl fmt::Display,
        err: &(dyn std::error::Error + 'static),
    ) -> Self {
        Self::new(exit_of_chain(err), format!("{context}: {}", chain(err)))
    }

    /// The same error, its message after `context`.
    pub(crate) fn context(self, context: impl fmt::Display) -> Self {
        Self::new(self.exit, format!("{context}: {}", self.message))
    }

    pub(crate) fn exit(&self) -> Exit {
        self.exit
    }
}

/// An error and its causes, `error: cause: cause`, leaving out causes its message already
/// says (the workspace's errors carry the SDK's cause in their message).
pub(crate) fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut current = err;
    loop {
        // A client error's message already says the SDK's causes; below it is the SDK's
        // own wording of the same ("service error").
        if current.is::<kinesis_client::Error>() {
            break;
        }
        let Some(cause) = current.source() else { break };
        let said = cause.to_string();
        if !text.contains(&said) {
            text.push_str(": ");
            text.push_str(&said);
        }
        current = cause;
    }
    text
}

/// The exit code of the first client or lease-table error in `err`'s chain.
fn exit_of_chain(err: &(dyn std::error::Error + 'static)) -> Exit {
    let mut next = Some(err);
    while let Some(e) = next {
        if let Some(client) = e.downcast_ref::<kinesis_client::Error>() {
            return exit_of_client(client);
        }
        if let Some(lease) = e.downcast_ref::<LeaseError>() {
            return exit_of_lease(lease);
        }
        next = e.source();
    }
    Exit::Failure
}

fn exit_of_client(err: &kinesis_client::Error) -> Exit {
    match err.kind() {
        ErrorKind::NotFound => Exit::NotFound,
        ErrorKind::InvalidInput | ErrorKind::InvalidArgument => Exit::Usage,
        ErrorKind::ConditionFailed => Exit::Conflict,
        _ => Exit::Failure,
    }
}

fn exit_of_lease(err: &LeaseError) -> Exit {
    match err.kind() {
        LeaseErrorKind::NotFound => Exit::NotFound,
        LeaseErrorKind::LeaseLost | LeaseErrorKind::ConditionFailed => Exit::Conflict,
        LeaseErrorKind::CorruptRow => Exit::CorruptRows,
        _ => Exit::Failure,
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct E(&'static str, Option<Box<E>>);
    impl fmt::Display for E {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.0)
        }
    }
    impl std::error::Error for E {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.1.as_deref().map(|e| e as _)
        }
    }

    #[test]
    fn causes_already_in_the_message_are_not_repeated() {
        let inner = E("connection refused", None);
        let sdk = E("dispatch failure", Some(Box::new(inner)));
        let top = E(
            "ListShards: connection failed: connection refused",
            Some(Box::new(sdk)),
        );
        assert_eq!(
            chain(&top),
            "ListShards: connection failed: connection refused: dispatch failure"
        );
    }
}
