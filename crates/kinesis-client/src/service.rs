//! The innermost service: hands an operation to its SDK client.

use std::task::{Context, Poll};

use tower::Service;

use crate::error::Error;
use crate::operation::{BoxFuture, Operation};

/// A tower [`Service`] that sends any [`Operation`] whose client is `C`.
///
/// SDK clients are shared internally and always ready, so this service is cheap to clone and
/// its `poll_ready` never waits. It sends exactly one attempt: retries belong to the
/// retry layer ([`RetryPolicy`](crate::layer::RetryPolicy)) above it, and the SDK's own retries are disabled by
/// [`ClientConfig`](crate::ClientConfig).
///
/// ```
/// use kinesis_client::AwsService;
///
/// # fn make(sdk: aws_sdk_kinesis::Client) {
/// let service = AwsService::new(sdk);
/// # let _ = service; }
/// ```
#[derive(Clone, Debug)]
pub struct AwsService<C> {
    client: C,
}

impl<C> AwsService<C> {
    /// Wraps an SDK client.
    pub fn new(client: C) -> Self {
        Self { client }
    }

    /// The SDK client.
    pub fn get_ref(&self) -> &C {
        &self.client
    }
}

impl<C, Op> Service<Op> for AwsService<C>
where
    Op: Operation<Client = C>,
    C: Clone + Send + Sync + 'static,
{
    type Response = Op::Output;
    type Error = Error;
    type Future = BoxFuture<Result<Op::Output, Error>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, op: Op) -> Self::Future {
        op.invoke(&self.client)
    }
}
