//! A scripted HTTP connector under the real SDK: canned answers in order, every request
//! recorded with the virtual time it arrived at. It lets unit tests run the real SDK
//! (serialization, error parsing) under `tokio::time::pause()`, where a real socket could not be
//! used.

#![allow(dead_code, unreachable_pub)]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use kinesis_client::{ClientConfig, RetryConfig, layer::RateLimits};
use tokio::time::Instant;

/// One canned answer.
#[derive(Clone, Debug)]
pub enum Answer {
    /// An HTTP response with this status and JSON body.
    Json(u16, String),
    /// No answer at all: the request hangs.
    Hang,
}

impl Answer {
    pub fn ok(body: serde_json::Value) -> Self {
        Answer::Json(200, body.to_string())
    }
    pub fn error(status: u16, code: &str) -> Self {
        Answer::Json(
            status,
            serde_json::json!({"__type": code, "message": "scripted"}).to_string(),
        )
    }
}

/// A request as it reached the connector.
#[derive(Clone, Debug)]
pub struct Seen {
    pub operation: String,
    pub body: serde_json::Value,
    pub at: Instant,
}

#[derive(Debug, Default)]
struct State {
    script: VecDeque<Answer>,
    responder: Option<Responder>,
    seen: Vec<Seen>,
}

type Responder = fn(&Seen) -> Answer;

/// The connector; clones share the script and the record.
#[derive(Clone, Debug, Default)]
pub struct Scripted {
    state: Arc<Mutex<State>>,
}

impl Scripted {
    /// Answers in this order; after the script runs out, `responder` (if any) answers.
    pub fn new(script: impl IntoIterator<Item = Answer>) -> Self {
        let s = Self::default();
        s.state.lock().unwrap().script = script.into_iter().collect();
        s
    }

    /// Answers every request (after the script) with `f`.
    pub fn with_responder(self, f: Responder) -> Self {
        self.state.lock().unwrap().responder = Some(f);
        self
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.state.lock().unwrap().seen.clone()
    }

    /// A client configuration whose SDK clients talk to this connector.
    pub async fn config(&self, retry: RetryConfig, limits: RateLimits) -> ClientConfig {
        let sdk = aws_config::SdkConfig::builder()
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(
                aws_credential_types::provider::SharedCredentialsProvider::new(
                    aws_credential_types::Credentials::for_tests(),
                ),
            )
            .http_client(self.clone())
            .time_source(aws_smithy_async::time::SystemTimeSource::new())
            .sleep_impl(aws_smithy_async::rt::sleep::default_async_sleep().unwrap())
            .behavior_version(aws_config::BehaviorVersion::latest())
            .build();
        ClientConfig::builder()
            .sdk_config(sdk)
            .retry(retry)
            .rate_limits(limits)
            .build()
            .await
            .unwrap()
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
        let answer = {
            let mut state = self.state.lock().unwrap();
            state.seen.push(seen.clone());
            match state.script.pop_front() {
                Some(a) => a,
                None => match state.responder {
                    Some(f) => f(&seen),
                    None => panic!("no scripted answer for {}", seen.operation),
                },
            }
        };
        match answer {
            Answer::Json(status, body) => {
                let mut response =
                    HttpResponse::new(status.try_into().unwrap(), SdkBody::from(body));
                response
                    .headers_mut()
                    .insert("content-type", "application/x-amz-json-1.1");
                HttpConnectorFuture::ready(Ok(response))
            }
            Answer::Hang => HttpConnectorFuture::new(async {
                tokio::time::sleep(Duration::from_secs(24 * 3600)).await;
                unreachable!("a hanging request is always timed out first")
            }),
        }
    }
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

/// A `DescribeStreamSummary` answer for an active stream called `name`.
pub fn summary(name: &str) -> Answer {
    Answer::ok(serde_json::json!({
        "StreamDescriptionSummary": {
            "StreamName": name,
            "StreamARN": format!("arn:aws:kinesis:us-east-1:123456789012:stream/{name}"),
            "StreamStatus": "ACTIVE",
            "RetentionPeriodHours": 24,
            "StreamCreationTimestamp": 1.7e9,
            "EnhancedMonitoring": [],
            "OpenShardCount": 1
        }
    }))
}

/// Clients of this crate pointed at a test kit's emulators (embedded, or the external servers
/// the standard endpoint variables name).
pub async fn clients(
    env: &kinesis_testkit::TestEnv,
) -> (kinesis_client::Client, kinesis_client::AdminClient) {
    let config = ClientConfig::builder()
        .sdk_config(env.sdk_config())
        .kinesis_endpoint(env.kinesis_endpoint())
        .dynamodb_endpoint(env.dynamodb_endpoint())
        .wait(kinesis_client::WaitConfig::default().with_poll_interval(Duration::from_millis(50)))
        .build()
        .await
        .unwrap();
    (
        kinesis_client::Client::new(&config),
        kinesis_client::AdminClient::new(&config),
    )
}

/// Reads a shard from `position` until a read comes back empty (or the shard ends), at most
/// `max_reads` reads.
pub async fn read_all(
    client: &kinesis_client::Client,
    stream: &kinesis_client::StreamId,
    shard: &kinesis_client::ShardId,
    position: kinesis_client::StartingPosition,
) -> Vec<kinesis_client::Record> {
    let mut it = client
        .get_shard_iterator(stream, shard, position)
        .await
        .unwrap();
    let mut all = Vec::new();
    for _ in 0..50 {
        let mut out = client.get_records(&it, None).await.unwrap();
        let records = out.take_records();
        let empty = records.is_empty();
        all.extend(records);
        match out.next_shard_iterator() {
            Some(next) if !empty => it = next.clone(),
            _ => break,
        }
    }
    all
}
