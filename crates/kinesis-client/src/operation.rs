//! Every AWS call is an [`Operation`] value sent through the tower stack.

use std::future::Future;
use std::pin::Pin;

use crate::error::Error;
use crate::types::shard::ShardId;
use crate::types::stream::{ConsumerArn, StreamId};

/// A boxed, sendable future, as returned by [`Operation::invoke`].
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// One AWS call: its name, the resource it touches, and how to send it with an SDK client.
///
/// Operations are plain values. The [`Stack`](crate::Stack) sends them through the layers that
/// every call shares (tracing, retry, rate limits, attempt timeouts), so none of that logic lives
/// in an operation. Other crates of the workspace define their own operations (lease writes on
/// DynamoDB, metric publishing on CloudWatch) and send them through the same stack.
///
/// ```
/// use kinesis_client::{BoxFuture, Error, Operation};
///
/// /// Lists the DynamoDB tables of the account (first page only).
/// #[derive(Clone, Debug)]
/// struct ListTables;
///
/// impl Operation for ListTables {
///     type Client = aws_sdk_dynamodb::Client;
///     type Output = Vec<String>;
///     const NAME: &'static str = "ListTables";
///
///     fn invoke(&self, client: &Self::Client) -> BoxFuture<Result<Vec<String>, Error>> {
///         let call = client.list_tables().send();
///         Box::pin(async move {
///             let out = call.await.map_err(|e| Error::from_sdk(Self::NAME, e))?;
///             Ok(out.table_names.unwrap_or_default())
///         })
///     }
/// }
/// ```
pub trait Operation: Clone + Send + Sync + 'static {
    /// The SDK client that sends the call.
    type Client: Clone + Send + Sync + 'static;
    /// What a successful call yields.
    type Output: Send + 'static;
    /// The API name, such as `"GetRecords"`: used for rate limits, tracing and errors.
    const NAME: &'static str;

    /// Sends one attempt of the call.
    fn invoke(&self, client: &Self::Client) -> BoxFuture<Result<Self::Output, Error>>;

    /// The stream the call addresses, if any (for per-stream rate limits and tracing).
    fn stream(&self) -> Option<&StreamId> {
        None
    }

    /// The shard the call addresses, if any (for per-shard rate limits and tracing).
    fn shard(&self) -> Option<&ShardId> {
        None
    }

    /// The enhanced fan-out consumer the call addresses, if any.
    fn consumer(&self) -> Option<&ConsumerArn> {
        None
    }

    /// Inspects a successful attempt. An operation whose success can be partial (`PutRecords`)
    /// turns it into an error here and narrows itself to what is left to send; the retry layer
    /// then decides, from the error's class, whether to send the rest again.
    ///
    /// The default accepts every successful output as it is.
    fn check_output(&mut self, output: Self::Output) -> Result<Self::Output, Error> {
        Ok(output)
    }
}
