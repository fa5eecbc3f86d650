//! A scripted HTTP connection under the real AWS SDK, for unit tests under virtual time.
//!
//! The embedded emulators answer over real sockets in real time. A test that pauses tokio's
//! clock (`#[tokio::test(start_paused = true)]`) and wants to assert *when* calls are made —
//! backoffs, rate limits, poll intervals, timeouts — needs an in-process answer instead: a
//! [`Scripted`] connection is the SDK's HTTP client, answers each request with the next
//! canned [`Answer`] (or a responder function once the script runs out), and records every
//! request it saw, with its operation, JSON body and the virtual [`Instant`] it arrived at.
//! Everything above the socket is real: the SDK serializes the request and parses the answer
//! (errors included) as it would in production, and any layers of yours see real SDK
//! results.
//!
//! ```
//! use kinesis_testkit::scripted::{Answer, Scripted};
//! use serde_json::json;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! tokio::time::pause();
//! let http = Scripted::new([
//!     Answer::error(400, "ProvisionedThroughputExceededException"),
//!     Answer::ok(json!({"ShardIterator": "it-1"})),
//! ]);
//! let kinesis = aws_sdk_kinesis::Client::new(&http.sdk_config());
//!
//! let call = || {
//!     kinesis
//!         .get_shard_iterator()
//!         .stream_name("orders")
//!         .shard_id("shardId-000000000000")
//!         .shard_iterator_type(aws_sdk_kinesis::types::ShardIteratorType::TrimHorizon)
//!         .send()
//! };
//! let throttled = call().await.unwrap_err();
//! assert!(throttled.into_service_error().is_provisioned_throughput_exceeded_exception());
//! let out = call().await.unwrap();
//! assert_eq!(out.shard_iterator(), Some("it-1"));
//!
//! let seen = http.seen();
//! assert_eq!(seen.len(), 2);
//! assert_eq!(seen[1].operation, "GetShardIterator");
//! assert_eq!(seen[1].body["ShardIteratorType"], "TRIM_HORIZON");
//! # }
//! ```
//!
//! The connection speaks the AWS JSON 1.1 protocol (Kinesis, DynamoDB); `operation` is taken
//! from the `X-Amz-Target` header.

pub mod shard;

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use tokio::time::Instant;

/// One canned answer of a [`Scripted`] connection.
///
/// ```
/// use kinesis_testkit::scripted::Answer;
/// use serde_json::json;
///
/// let records = Answer::ok(json!({"Records": [], "NextShardIterator": "it-2"}));
/// let throttled = Answer::error(400, "ProvisionedThroughputExceededException");
/// let unavailable = Answer::json(503, json!({"__type": "ServiceUnavailable"}));
/// let timed_out = Answer::Hang; // only a timeout ends this request
/// # let _ = (records, throttled, unavailable, timed_out);
/// ```
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// An HTTP response with this status and body, sent as `application/x-amz-json-1.1`.
    Json(u16, String),
    /// No answer at all: the request waits (24 hours of virtual time) until the caller's
    /// timeout ends it.
    Hang,
    /// This answer, after a pause (the service's latency; virtual time under a paused clock).
    After(Duration, Box<Answer>),
    /// HTTP 200 with this `application/vnd.amazon.eventstream` body: the frames of a
    /// `SubscribeToShard` subscription, which ends where the body does (as a session does
    /// after 5 minutes on AWS). See [`shard::ScriptedShard`] for one made from a shard.
    EventStream(Vec<u8>),
}

impl Answer {
    /// HTTP 200 with this JSON body.
    ///
    /// ```
    /// use kinesis_testkit::scripted::Answer;
    ///
    /// let answer = Answer::ok(serde_json::json!({"ShardIterator": "it-1"}));
    /// assert_eq!(answer, Answer::Json(200, r#"{"ShardIterator":"it-1"}"#.to_owned()));
    /// ```
    pub fn ok(body: serde_json::Value) -> Self {
        Self::json(200, body)
    }

    /// This HTTP status with this JSON body.
    ///
    /// ```
    /// use kinesis_testkit::scripted::Answer;
    ///
    /// let answer = Answer::json(500, serde_json::json!({"__type": "InternalFailure"}));
    /// assert!(matches!(answer, Answer::Json(500, _)));
    /// ```
    pub fn json(status: u16, body: serde_json::Value) -> Self {
        Answer::Json(status, body.to_string())
    }

    /// An AWS error: this HTTP status with the body `{"__type": code, "message": "scripted"}`,
    /// which the SDK parses into the modelled error of that code (or an unhandled one with
    /// that code).
    ///
    /// ```
    /// use kinesis_testkit::scripted::Answer;
    ///
    /// let expired = Answer::error(400, "ExpiredIteratorException");
    /// assert_eq!(
    ///     expired,
    ///     Answer::Json(400, r#"{"__type":"ExpiredIteratorException","message":"scripted"}"#.into())
    /// );
    /// ```
    pub fn error(status: u16, code: &str) -> Self {
        Self::json(
            status,
            serde_json::json!({"__type": code, "message": "scripted"}),
        )
    }

    /// This answer, given `latency` after the request arrived.
    ///
    /// ```
    /// use std::time::Duration;
    /// use kinesis_testkit::scripted::Answer;
    ///
    /// let slow = Answer::ok(serde_json::json!({})).after(Duration::from_millis(50));
    /// assert!(matches!(slow, Answer::After(d, _) if d == Duration::from_millis(50)));
    /// ```
    pub fn after(self, latency: Duration) -> Self {
        Answer::After(latency, Box::new(self))
    }
}

/// A request as it reached a [`Scripted`] connection.
///
/// ```
/// use kinesis_testkit::scripted::Seen;
///
/// fn get_records_iterators(seen: &[Seen]) -> Vec<String> {
///     seen.iter()
///         .filter(|s| s.operation == "GetRecords")
///         .map(|s| s.body["ShardIterator"].as_str().unwrap_or_default().to_owned())
///         .collect()
/// }
/// # assert!(get_records_iterators(&[]).is_empty());
/// ```
#[non_exhaustive]
#[derive(Clone, Debug)]
pub struct Seen {
    /// The operation, from the `X-Amz-Target` header: `"GetRecords"`, `"PutItem"`, ...
    pub operation: String,
    /// The JSON body (`Null` when there was none, or it was not JSON).
    pub body: serde_json::Value,
    /// When the request arrived, on tokio's clock (virtual under `tokio::time::pause`).
    pub at: Instant,
}

/// A function answering the requests the script has no answer for.
type Responder = Arc<dyn Fn(&Seen) -> Answer + Send + Sync>;

#[derive(Default)]
struct State {
    script: VecDeque<Answer>,
    responder: Option<Responder>,
    seen: Vec<Seen>,
}

/// An HTTP client for the AWS SDK that answers from a script and records every request.
///
/// Answers are given in order; once the script has run out, the responder (if any) answers;
/// a request nobody answers panics with the operation's name. Clones share the script and
/// the record, so keep one to inspect what was sent after handing another to the SDK.
///
/// A responder may keep state, to play a service that answers from the request:
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use kinesis_testkit::scripted::{Answer, Scripted};
/// use serde_json::json;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let calls = Arc::new(AtomicUsize::new(0));
/// let counted = Arc::clone(&calls);
/// let http = Scripted::default().with_responder(move |seen| {
///     let n = counted.fetch_add(1, Ordering::SeqCst);
///     let iterator = seen.body["ShardIterator"].as_str().unwrap_or_default();
///     Answer::ok(json!({"Records": [], "NextShardIterator": format!("{iterator}-{n}")}))
/// });
/// let kinesis = aws_sdk_kinesis::Client::new(&http.sdk_config());
/// let out = kinesis.get_records().shard_iterator("it").send().await.unwrap();
/// assert_eq!(out.next_shard_iterator(), Some("it-0"));
/// assert_eq!(calls.load(Ordering::SeqCst), 1);
/// # }
/// ```
#[derive(Clone, Default)]
pub struct Scripted {
    state: Arc<Mutex<State>>,
}

impl fmt::Debug for Scripted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state();
        f.debug_struct("Scripted")
            .field("script", &state.script)
            .field("responder", &state.responder.is_some())
            .field("seen", &state.seen)
            .finish()
    }
}

impl Scripted {
    /// A connection giving these answers, in order.
    ///
    /// ```
    /// use kinesis_testkit::scripted::{Answer, Scripted};
    ///
    /// let http = Scripted::new([Answer::error(503, "ServiceUnavailable"), Answer::Hang]);
    /// assert!(http.seen().is_empty());
    /// ```
    pub fn new(script: impl IntoIterator<Item = Answer>) -> Self {
        let s = Self::default();
        s.state().script = script.into_iter().collect();
        s
    }

    /// Answers every request the script has no answer for with `responder`, which sees the
    /// request (already recorded).
    ///
    /// ```
    /// use kinesis_testkit::scripted::{Answer, Scripted};
    ///
    /// let always_throttled = Scripted::default()
    ///     .with_responder(|_| Answer::error(400, "ProvisionedThroughputExceededException"));
    /// # let _ = always_throttled;
    /// ```
    #[must_use]
    pub fn with_responder(
        self,
        responder: impl Fn(&Seen) -> Answer + Send + Sync + 'static,
    ) -> Self {
        self.state().responder = Some(Arc::new(responder));
        self
    }

    /// Adds an answer at the end of the script, while the connection is in use.
    ///
    /// ```
    /// use kinesis_testkit::scripted::{Answer, Scripted};
    ///
    /// let http = Scripted::default();
    /// http.push(Answer::ok(serde_json::json!({})));
    /// ```
    pub fn push(&self, answer: Answer) {
        self.state().script.push_back(answer);
    }

    /// Every request so far, oldest first.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use kinesis_testkit::scripted::{Answer, Scripted};
    ///
    /// let http = Scripted::new([Answer::ok(serde_json::json!({"StreamNames": []}))]);
    /// let kinesis = aws_sdk_kinesis::Client::new(&http.sdk_config());
    /// kinesis.list_streams().send().await.unwrap();
    /// assert_eq!(http.seen()[0].operation, "ListStreams");
    /// # }
    /// ```
    pub fn seen(&self) -> Vec<Seen> {
        self.state().seen.clone()
    }

    /// The requests of one operation so far, oldest first.
    ///
    /// ```
    /// use kinesis_testkit::scripted::Scripted;
    ///
    /// let http = Scripted::default();
    /// assert!(http.seen_for("GetRecords").is_empty());
    /// ```
    pub fn seen_for(&self, operation: &str) -> Vec<Seen> {
        self.state()
            .seen
            .iter()
            .filter(|s| s.operation == operation)
            .cloned()
            .collect()
    }

    /// An SDK configuration whose clients send every request to this connection: region
    /// `us-east-1`, fixed test credentials, and the SDK's own retries disabled (so each
    /// attempt a layer of yours makes is one request here). Endpoints are not resolved to
    /// anything real; nothing leaves the process.
    ///
    /// ```
    /// use kinesis_testkit::scripted::Scripted;
    ///
    /// let http = Scripted::default();
    /// let config = http.sdk_config();
    /// assert_eq!(config.region().unwrap().as_ref(), "us-east-1");
    /// let kinesis = aws_sdk_kinesis::Client::new(&config);
    /// # let _ = kinesis;
    /// ```
    pub fn sdk_config(&self) -> SdkConfig {
        let credentials = Credentials::new(
            "scripted-access-key",
            "scripted-secret",
            None,
            None,
            "kinesis-testkit-scripted",
        );
        SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(SharedCredentialsProvider::new(credentials))
            .retry_config(RetryConfig::disabled())
            .http_client(self.clone())
            .build()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panicking responder poisons the lock; the record is still consistent.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn answer(&self, seen: Seen) -> Answer {
        let responder = {
            let mut state = self.state();
            state.seen.push(seen.clone());
            if let Some(answer) = state.script.pop_front() {
                return answer;
            }
            state.responder.clone()
        };
        // Called without the lock, so a responder may inspect the connection.
        match responder {
            Some(f) => f(&seen),
            None => panic!("no scripted answer for {}", seen.operation),
        }
    }
}

impl HttpConnector for Scripted {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let operation = request
            .headers()
            .get("x-amz-target")
            .unwrap_or_default()
            .rsplit('.')
            .next()
            .unwrap_or_default()
            .to_owned();
        let body = request
            .body()
            .bytes()
            .and_then(|b| serde_json::from_slice(b).ok())
            .unwrap_or(serde_json::Value::Null);
        let seen = Seen {
            operation,
            body,
            at: Instant::now(),
        };
        respond(self.answer(seen))
    }
}

/// The HTTP response of an answer, when it is due.
fn respond(answer: Answer) -> HttpConnectorFuture {
    match answer {
        Answer::Json(status, body) => HttpConnectorFuture::ready(Ok(json_response(status, body))),
        Answer::Hang => HttpConnectorFuture::new(async {
            tokio::time::sleep(Duration::from_secs(24 * 3600)).await;
            panic!("a hanging scripted request was never timed out")
        }),
        Answer::EventStream(frames) => {
            let mut response = HttpResponse::new(
                200u16.try_into().expect("200 is a valid status"),
                SdkBody::from(frames),
            );
            response
                .headers_mut()
                .insert("content-type", "application/vnd.amazon.eventstream");
            HttpConnectorFuture::ready(Ok(response))
        }
        Answer::After(latency, answer) => HttpConnectorFuture::new(async move {
            tokio::time::sleep(latency).await;
            respond(*answer).await
        }),
    }
}

fn json_response(status: u16, body: String) -> HttpResponse {
    let status = status
        .try_into()
        .unwrap_or_else(|_| 500u16.try_into().expect("500 is a valid status"));
    let mut response = HttpResponse::new(status, SdkBody::from(body));
    response
        .headers_mut()
        .insert("content-type", "application/x-amz-json-1.1");
    response
}

impl HttpClient for Scripted {
    fn http_connector(
        &self,
        _settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(self.clone())
    }
}
