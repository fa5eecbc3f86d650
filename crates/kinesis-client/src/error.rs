//! The one error type of the client, and the single place where service errors are classified.

use std::error::Error as StdError;
use std::fmt;

#[cfg(feature = "sdk")]
use aws_sdk_kinesis::error::ProvideErrorMetadata;
#[cfg(feature = "sdk")]
use aws_smithy_runtime_api::client::result::SdkError;

use crate::types::record::PutRecordsOutput;

/// A boxed error, as kept behind [`Error::source`].
pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// What went wrong, named for what the caller should do about it.
///
/// ```
/// use kinesis_client::{ErrorKind, StreamName};
///
/// let err = StreamName::new("").unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::InvalidInput);
/// ```
#[non_exhaustive]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The request was refused before it was sent: an invalid name, key, size or count.
    InvalidInput,
    /// The service throttled the call (`ProvisionedThroughputExceededException`,
    /// `LimitExceededException`, `KMSThrottlingException`, `ThrottlingException`) and the retry
    /// budget is spent.
    Throttled,
    /// A timeout, a dropped connection or a 5xx answer, and the retry budget is spent.
    Transient,
    /// The stream, shard, consumer or table does not exist.
    NotFound,
    /// The resource is not in a state that allows the call (for example a stream that is still
    /// `CREATING`, or a second subscription to the same shard).
    ResourceInUse,
    /// The shard iterator expired; get a new one from the last record delivered.
    ExpiredIterator,
    /// The pagination token expired; restart the listing.
    ExpiredNextToken,
    /// The service refused a parameter.
    InvalidArgument,
    /// The credentials do not allow the call, or a KMS key is unusable.
    AccessDenied,
    /// A DynamoDB conditional write failed: the item changed since it was read.
    ConditionFailed,
    /// Some entries of a `PutRecords` call failed and were not retried further; the error carries
    /// every entry's outcome ([`Error::put_records_output`]).
    PartialFailure,
    /// A wait (for a stream or consumer to become `ACTIVE`, say) ran out of time.
    WaitTimeout,
    /// The service answered with something this client cannot read.
    MalformedResponse,
    /// The client could not be configured (no region, bad endpoint, ...).
    Configuration,
    /// Any other error the service returned; not retried.
    Service,
}

/// How the retry layer treats an error.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum RetryClass {
    Throttling,
    Transient,
    Fatal,
}

/// The error of every call in this crate.
///
/// Its [`Display`](fmt::Display) is this crate's own message; the SDK error, when there is one,
/// is available through [`source`](StdError::source), never in the public signature.
///
/// ```
/// use kinesis_client::{PartitionKey, ErrorKind};
///
/// let err = PartitionKey::new("").unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::InvalidInput);
/// assert!(!err.is_retryable());
/// println!("{err}");
/// ```
pub struct Error {
    kind: ErrorKind,
    class: RetryClass,
    operation: Option<&'static str>,
    code: Option<String>,
    message: String,
    source: Option<BoxError>,
    put_records: Option<Box<PutRecordsOutput>>,
    /// The request may have reached the service and taken effect: no answer came back.
    outcome_unknown: bool,
}

/// Error codes that mean "slow down".
const THROTTLING_CODES: &[&str] = &[
    "ProvisionedThroughputExceededException",
    "LimitExceededException",
    "KMSThrottlingException",
    "ThrottlingException",
    "Throttling",
    "ThrottledException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "RequestThrottled",
    "RequestThrottledException",
    "TransactionInProgressException",
];

/// Error codes that mean "try again": the service had a passing failure.
const TRANSIENT_CODES: &[&str] = &[
    "InternalFailure",
    "InternalFailureException",
    "InternalServerError",
    "InternalServerErrorException",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "RequestTimeout",
    "RequestTimeoutException",
];

impl Error {
    fn new(kind: ErrorKind, class: RetryClass, message: String) -> Self {
        Self {
            kind,
            class,
            operation: None,
            code: None,
            message,
            source: None,
            put_records: None,
            outcome_unknown: false,
        }
    }

    /// Marks the error as one after which the call's effect is unknown.
    #[cfg(feature = "sdk")]
    fn outcome_unknown(mut self) -> Self {
        self.outcome_unknown = true;
        self
    }

    /// An error for input refused before anything was sent.
    pub fn invalid_input(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidInput, RetryClass::Fatal, message.into())
    }

    /// An error for a configuration problem.
    pub fn configuration(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Configuration, RetryClass::Fatal, message.into())
    }

    #[cfg(feature = "sdk")]
    pub(crate) fn malformed_response(message: impl Into<String>) -> Self {
        Self::new(
            ErrorKind::MalformedResponse,
            RetryClass::Fatal,
            message.into(),
        )
    }

    #[cfg(feature = "sdk")]
    pub(crate) fn wait_timeout(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::WaitTimeout, RetryClass::Fatal, message.into())
    }

    #[cfg(feature = "sdk")]
    pub(crate) fn attempt_timeout(operation: &'static str, after: std::time::Duration) -> Self {
        Self::new(
            ErrorKind::Transient,
            RetryClass::Transient,
            format!("attempt timed out after {after:?}"),
        )
        .with_operation(operation)
        .outcome_unknown()
    }

    #[cfg(feature = "sdk")]
    pub(crate) fn partial_failure(operation: &'static str, output: PutRecordsOutput) -> Self {
        let failed: Vec<&str> = output.failed().map(|(_, code, _)| code).collect();
        let class = classify_entry_codes(failed.iter().copied());
        let mut codes: Vec<&str> = failed.clone();
        codes.sort_unstable();
        codes.dedup();
        let mut err = Self::new(
            ErrorKind::PartialFailure,
            class,
            format!(
                "{} of {} records failed ({})",
                failed.len(),
                output.entries().len(),
                codes.join(", ")
            ),
        )
        .with_operation(operation);
        err.put_records = Some(Box::new(output));
        err
    }

    /// Builds an error from a service error code and message, classified as the retry layer
    /// would. Used by operations and test doubles that see raw error codes.
    ///
    /// ```
    /// use kinesis_client::{Error, ErrorKind};
    ///
    /// let e = Error::from_code("ProvisionedThroughputExceededException", "slow down", Some(400));
    /// assert!(e.is_throttling() && e.is_retryable());
    /// assert_eq!(Error::from_code("ResourceNotFoundException", "", Some(400)).kind(), ErrorKind::NotFound);
    /// assert!(Error::from_code("Whatever", "", Some(503)).is_retryable());
    /// ```
    pub fn from_code(code: &str, message: &str, http_status: Option<u16>) -> Self {
        let (kind, class) = classify_code(code, http_status);
        let mut e = Self::new(
            kind,
            class,
            if message.is_empty() {
                code.to_owned()
            } else {
                format!("{code}: {message}")
            },
        );
        e.code = Some(code.to_owned());
        e
    }

    #[cfg(feature = "sdk")]
    /// Maps an SDK error of the operation `operation`: the one place SDK errors are classified.
    pub fn from_sdk<E, R>(operation: &'static str, err: SdkError<E, R>) -> Self
    where
        E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
        R: RawResponse + fmt::Debug + Send + Sync + 'static,
    {
        // What the SDK knows of the cause ("tcp connect error: Connection refused (os error
        // 111)", "no credentials in the chain", a parse error), so that the message says it.
        let cause = StdError::source(&err)
            .map(|s| format!(": {}", DisplayErrorChain(s)))
            .unwrap_or_default();
        let mut e = match &err {
            SdkError::ConstructionFailure(_) => Self::new(
                ErrorKind::InvalidInput,
                RetryClass::Fatal,
                format!("request could not be built{cause}"),
            ),
            SdkError::TimeoutError(_) => Self::new(
                ErrorKind::Transient,
                RetryClass::Transient,
                format!("timed out (the SDK's operation timeout){cause}"),
            )
            .outcome_unknown(),
            SdkError::DispatchFailure(d) => {
                let what = if d.is_timeout() {
                    "connection timed out"
                } else if d.is_io() {
                    "connection failed"
                } else {
                    "request could not be sent"
                };
                let class = if d.is_user() {
                    RetryClass::Fatal
                } else {
                    RetryClass::Transient
                };
                let kind = if d.is_user() {
                    ErrorKind::Configuration
                } else {
                    ErrorKind::Transient
                };
                let e = Self::new(kind, class, format!("{what}{cause}"));
                // A request timed out or cut off while in flight may have been applied; one
                // whose connection was refused was never sent.
                if (d.is_timeout() || d.is_io()) && !connection_refused(&err) {
                    e.outcome_unknown()
                } else {
                    e
                }
            }
            SdkError::ResponseError(r) => {
                let status = r.raw().http_status();
                // A body that stopped coming (the connection broke, or stalled below the SDK's
                // minimum throughput) is a network failure, not a malformed answer.
                let cut_off = status.is_some() && body_cut_off(&err);
                let class = if cut_off || status.is_some_and(|s| s >= 500) {
                    RetryClass::Transient
                } else {
                    RetryClass::Fatal
                };
                let kind = if class == RetryClass::Transient {
                    ErrorKind::Transient
                } else {
                    ErrorKind::MalformedResponse
                };
                let what = match status {
                    Some(status) if cut_off => {
                        format!("response cut off while it was read (HTTP {status}){cause}")
                    }
                    Some(status) => format!("unreadable response (HTTP {status}){cause}"),
                    None => format!("unreadable event-stream message{cause}"),
                };
                // The service received the request; what it did is unknown.
                Self::new(kind, class, what).outcome_unknown()
            }
            SdkError::ServiceError(s) => {
                let status = s.raw().http_status();
                match s.err().code() {
                    Some(code) => Self::from_code(code, s.err().message().unwrap_or(""), status),
                    // A proxy, a wrong endpoint path or a gateway answered, not the service.
                    None => Self::from_code(
                        "Unknown",
                        &format!(
                            "HTTP {} without an AWS error code{cause}",
                            status.map_or_else(|| "status unknown".to_owned(), |s| s.to_string())
                        ),
                        status,
                    ),
                }
            }
            _ => Self::new(
                ErrorKind::Service,
                RetryClass::Fatal,
                format!("unknown SDK error: {err}{cause}"),
            ),
        };
        e.operation = Some(operation);
        e.source = Some(Box::new(err));
        e
    }

    #[must_use]
    #[cfg(feature = "sdk")]
    pub(crate) fn with_source(mut self, source: BoxError) -> Self {
        self.source = Some(source);
        self
    }

    #[must_use]
    #[cfg(feature = "sdk")]
    pub(crate) fn with_operation(mut self, operation: &'static str) -> Self {
        self.operation = Some(operation);
        self
    }

    /// What went wrong.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// This crate's message, without the operation name or source.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The operation that failed, such as `"GetRecords"`, when the error came from a call.
    pub fn operation(&self) -> Option<&'static str> {
        self.operation
    }

    /// The service's error code, such as `"ResourceNotFoundException"`, when the service sent one.
    pub fn code(&self) -> Option<&str> {
        self.code.as_deref()
    }

    /// Whether the call may have taken effect although it failed: it timed out, the connection
    /// broke while it was in flight, or the answer could not be read. A write that failed so
    /// may have been stored; report it as of unknown outcome, never as not stored.
    ///
    /// ```
    /// use kinesis_client::Error;
    ///
    /// // An answer from the service is a known outcome.
    /// assert!(!Error::from_code("InternalFailure", "", Some(500)).is_outcome_unknown());
    /// ```
    pub fn is_outcome_unknown(&self) -> bool {
        self.outcome_unknown
    }

    /// Whether the call may succeed if made again later (throttling or a transient failure).
    pub fn is_retryable(&self) -> bool {
        self.class != RetryClass::Fatal
    }

    /// Whether the service asked the caller to slow down.
    pub fn is_throttling(&self) -> bool {
        self.class == RetryClass::Throttling
    }

    /// Whether the failure was transient: a timeout, a dropped connection or a 5xx answer.
    pub fn is_transient(&self) -> bool {
        self.class == RetryClass::Transient
    }

    /// Whether the stream, shard, consumer or table does not exist.
    pub fn is_not_found(&self) -> bool {
        self.kind == ErrorKind::NotFound
    }

    /// Whether the shard iterator expired.
    pub fn is_expired_iterator(&self) -> bool {
        self.kind == ErrorKind::ExpiredIterator
    }

    /// Whether the input was refused before anything was sent.
    pub fn is_invalid_input(&self) -> bool {
        self.kind == ErrorKind::InvalidInput
    }

    /// Whether a DynamoDB conditional write failed.
    pub fn is_condition_failed(&self) -> bool {
        self.kind == ErrorKind::ConditionFailed
    }

    /// Whether some entries of a `PutRecords` call failed.
    pub fn is_partial_failure(&self) -> bool {
        self.kind == ErrorKind::PartialFailure
    }

    /// For a [`ErrorKind::PartialFailure`], every entry's outcome: the stored ones and the failed
    /// ones with their error codes.
    pub fn put_records_output(&self) -> Option<&PutRecordsOutput> {
        self.put_records.as_deref()
    }

    /// Takes the `PutRecords` outcome out of a partial failure, to resend the failed entries.
    pub fn into_put_records_output(self) -> Option<PutRecordsOutput> {
        self.put_records.map(|b| *b)
    }

    #[cfg(feature = "sdk")]
    pub(crate) fn retry_class(&self) -> RetryClass {
        self.class
    }
}

#[cfg(feature = "sdk")]
/// The raw response types the SDK pairs with its errors: an HTTP response, or an event-stream
/// message (which has no status of its own).
pub trait RawResponse {
    /// The HTTP status, when there is one.
    fn http_status(&self) -> Option<u16>;
}

#[cfg(feature = "sdk")]
impl RawResponse for aws_smithy_runtime_api::http::Response {
    fn http_status(&self) -> Option<u16> {
        Some(self.status().as_u16())
    }
}

#[cfg(feature = "sdk")]
impl RawResponse for aws_smithy_types::event_stream::RawMessage {
    fn http_status(&self) -> Option<u16> {
        None
    }
}

fn classify_code(code: &str, http_status: Option<u16>) -> (ErrorKind, RetryClass) {
    if THROTTLING_CODES.contains(&code) {
        return (ErrorKind::Throttled, RetryClass::Throttling);
    }
    if TRANSIENT_CODES.contains(&code) {
        return (ErrorKind::Transient, RetryClass::Transient);
    }
    let kind = match code {
        "ResourceNotFoundException" => ErrorKind::NotFound,
        "ResourceInUseException" => ErrorKind::ResourceInUse,
        "ExpiredIteratorException" => ErrorKind::ExpiredIterator,
        "ExpiredNextTokenException" => ErrorKind::ExpiredNextToken,
        "InvalidArgumentException" | "ValidationException" | "SerializationException" => {
            ErrorKind::InvalidArgument
        }
        "AccessDeniedException"
        | "UnrecognizedClientException"
        | "InvalidSignatureException"
        | "IncompleteSignature"
        | "MissingAuthenticationToken"
        | "ExpiredTokenException"
        | "KMSAccessDeniedException"
        | "KMSDisabledException"
        | "KMSInvalidStateException"
        | "KMSNotFoundException"
        | "KMSOptInRequired" => ErrorKind::AccessDenied,
        "ConditionalCheckFailedException" => ErrorKind::ConditionFailed,
        _ => ErrorKind::Service,
    };
    match http_status {
        Some(s) if s >= 500 && kind == ErrorKind::Service => {
            (ErrorKind::Transient, RetryClass::Transient)
        }
        _ => (kind, RetryClass::Fatal),
    }
}

#[cfg(feature = "sdk")]
/// The retry class of a set of failed `PutRecords` entry codes: throttling if any entry was
/// throttled, transient if any had a passing failure, fatal only if all are fatal.
pub(crate) fn classify_entry_codes<'a>(codes: impl Iterator<Item = &'a str>) -> RetryClass {
    let mut class = RetryClass::Fatal;
    for code in codes {
        match classify_code(code, None).1 {
            RetryClass::Throttling => return RetryClass::Throttling,
            RetryClass::Transient => class = RetryClass::Transient,
            RetryClass::Fatal => {}
        }
    }
    class
}

#[cfg(feature = "sdk")]
/// Whether `err`'s causes include a refused TCP connection: nothing was sent.
fn connection_refused(err: &(dyn StdError + 'static)) -> bool {
    let mut next = Some(err);
    while let Some(e) = next {
        if e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::ConnectionRefused)
        {
            return true;
        }
        next = e.source();
    }
    false
}

#[cfg(feature = "sdk")]
/// Whether reading a response's body failed on the way (an I/O error, or the SDK's stalled
/// stream protection: a body below its minimum throughput) rather than on its content.
fn body_cut_off(err: &(dyn StdError + 'static)) -> bool {
    let mut next = Some(err);
    while let Some(e) = next {
        // The SDK's throughput error type is private: its message is what identifies it.
        if e.downcast_ref::<std::io::Error>().is_some()
            || e.to_string()
                .starts_with("minimum throughput was specified")
        {
            return true;
        }
        next = e.source();
    }
    false
}

#[cfg(feature = "sdk")]
/// Whether one `PutRecords` entry failure is worth sending again.
pub(crate) fn entry_code_is_retryable(code: &str) -> bool {
    classify_code(code, None).1 != RetryClass::Fatal
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(op) = self.operation {
            write!(f, "{op}: ")?;
        }
        f.write_str(&self.message)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("kind", &self.kind)
            .field("operation", &self.operation)
            .field("code", &self.code)
            .field("message", &self.message);
        if let Some(out) = &self.put_records {
            d.field("failed_entries", &out.failed_count());
        }
        if let Some(source) = &self.source {
            d.field("source", source);
        }
        d.finish()
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn StdError + 'static))
    }
}

/// Displays an error with its whole chain of sources, for logs.
///
/// ```
/// use kinesis_client::{DisplayErrorChain, StreamName};
///
/// let err = StreamName::new("").unwrap_err();
/// println!("{}", DisplayErrorChain(&err));
/// ```
#[derive(Debug)]
pub struct DisplayErrorChain<'a>(pub &'a (dyn StdError + 'static));

impl fmt::Display for DisplayErrorChain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut next = self.0.source();
        while let Some(e) = next {
            write!(f, ": {e}")?;
            next = e.source();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_classified() {
        for code in [
            "ProvisionedThroughputExceededException",
            "LimitExceededException",
            "KMSThrottlingException",
            "ThrottlingException",
        ] {
            let e = Error::from_code(code, "", Some(400));
            assert!(e.is_throttling(), "{code}");
            assert_eq!(e.kind(), ErrorKind::Throttled);
        }
        assert!(Error::from_code("InternalFailure", "", Some(500)).is_transient());
        assert!(Error::from_code("SomethingNew", "", Some(502)).is_transient());
        let fatal = Error::from_code("SomethingNew", "", Some(400));
        assert!(!fatal.is_retryable());
        assert_eq!(fatal.kind(), ErrorKind::Service);
        assert!(!Error::from_code("KMSAccessDeniedException", "", Some(400)).is_retryable());
        assert!(Error::from_code("ExpiredIteratorException", "", Some(400)).is_expired_iterator());
        assert!(!Error::from_code("ResourceNotFoundException", "", Some(400)).is_retryable());
    }

    /// An error with a cause, as the SDK's body errors chain them.
    #[derive(Debug)]
    struct Chained(&'static str, Option<Box<dyn StdError + Send + Sync>>);

    impl fmt::Display for Chained {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.0)
        }
    }

    impl StdError for Chained {
        fn source(&self) -> Option<&(dyn StdError + 'static)> {
            self.1.as_deref().map(|e| e as &(dyn StdError + 'static))
        }
    }

    #[test]
    #[cfg(feature = "sdk")]
    fn a_body_that_stopped_coming_is_told_from_one_that_came_malformed() {
        let reset = Chained(
            "response body",
            Some(Box::new(std::io::Error::from(
                std::io::ErrorKind::ConnectionReset,
            ))),
        );
        assert!(body_cut_off(&reset));
        let stalled = Chained(
            "response body",
            Some(Box::new(Chained(
                "minimum throughput was specified at 1 B/s, but throughput of 0 B/s was observed",
                None,
            ))),
        );
        assert!(body_cut_off(&stalled));
        let malformed = Chained(
            "failed to parse the response",
            Some(Box::new(Chained("expected value at line 1 column 1", None))),
        );
        assert!(!body_cut_off(&malformed));
    }

    #[test]
    fn entry_codes_take_the_most_retryable_class() {
        let c = classify_entry_codes(["KMSAccessDeniedException", "InternalFailure"].into_iter());
        assert_eq!(c, RetryClass::Transient);
        let c = classify_entry_codes(
            ["InternalFailure", "ProvisionedThroughputExceededException"].into_iter(),
        );
        assert_eq!(c, RetryClass::Throttling);
        assert_eq!(
            classify_entry_codes(["KMSDisabledException"].into_iter()),
            RetryClass::Fatal
        );
    }

    #[test]
    fn display_is_our_own_message() {
        let e = Error::from_code("ResourceNotFoundException", "Stream x not found", Some(400))
            .with_operation("GetRecords");
        assert_eq!(
            e.to_string(),
            "GetRecords: ResourceNotFoundException: Stream x not found"
        );
    }
}
