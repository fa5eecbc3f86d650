//! The assembled tower stack that sends operations.

use std::fmt;

use tower::ServiceExt;
use tower::retry::Retry;

use crate::config::ClientConfig;
use crate::error::Error;
use crate::layer::{
    AttemptTimeout, AttemptTimeoutLayer, RateLimit, RateLimitLayer, RetryPolicy, Trace, TraceLayer,
};
use crate::operation::Operation;
use crate::service::AwsService;

type Layers<C> = Trace<Retry<RetryPolicy, RateLimit<AttemptTimeout<AwsService<C>>>>>;

/// The layered service for one SDK client: tracing, retry, rate limit, attempt timeout.
///
/// Cheap to clone; clones share the retry budget and the rate-limit counts of the
/// [`ClientConfig`] they were made from. Kinesis, DynamoDB and CloudWatch calls each have a stack
/// ([`ClientConfig::kinesis_stack`], [`ClientConfig::dynamodb_stack`]), so lease writes and
/// metric publishing are retried and traced exactly like Kinesis calls.
///
/// ```no_run
/// # async fn run() -> Result<(), kinesis_client::Error> {
/// use kinesis_client::{ClientConfig, Operation, BoxFuture, Error};
///
/// #[derive(Clone, Debug)]
/// struct ListTables;
/// impl Operation for ListTables {
///     type Client = aws_sdk_dynamodb::Client;
///     type Output = usize;
///     const NAME: &'static str = "ListTables";
///     fn invoke(&self, c: &Self::Client) -> BoxFuture<Result<usize, Error>> {
///         let call = c.list_tables().send();
///         Box::pin(async move {
///             let out = call.await.map_err(|e| Error::from_sdk(Self::NAME, e))?;
///             Ok(out.table_names().len())
///         })
///     }
/// }
///
/// let config = ClientConfig::from_env().await?;
/// let tables = config.dynamodb_stack().call(ListTables).await?;
/// # let _ = tables; Ok(()) }
/// ```
#[derive(Clone)]
pub struct Stack<C> {
    service: Layers<C>,
    sdk: C,
}

impl<C> fmt::Debug for Stack<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stack").finish_non_exhaustive()
    }
}

impl<C: Clone + Send + Sync + 'static> Stack<C> {
    /// Wraps `sdk` (which should have its own retries disabled) in the layers configured by
    /// `config`.
    pub fn new(sdk: C, config: &ClientConfig) -> Self {
        let service = tower::ServiceBuilder::new()
            .layer(TraceLayer::with_telemetry(config.telemetry().clone()))
            .layer(tower::retry::RetryLayer::new(config.retry_policy().clone()))
            .layer(RateLimitLayer::new(config.rate_limiter().clone()))
            .layer(AttemptTimeoutLayer::new(config.attempt_timeouts().clone()))
            .service(AwsService::new(sdk.clone()));
        Self { service, sdk }
    }

    /// Sends an operation through the stack.
    ///
    /// # Errors
    ///
    /// The operation's error after the retry policy gave up, classified as described on
    /// [`Error`].
    ///
    /// # Cancel safety
    ///
    /// Dropping the future abandons the call; an attempt already sent may still take effect on the
    /// service, as with any network call.
    pub async fn call<Op: Operation<Client = C>>(&self, op: Op) -> Result<Op::Output, Error> {
        self.service.clone().oneshot(op).await
    }

    /// The SDK client at the bottom of the stack.
    pub fn sdk(&self) -> &C {
        &self.sdk
    }
}
