//! The instant sink: an HTTP client for the AWS SDK that plays a 4-shard stream in this process
//! and answers every request at once, without keeping anything.
//!
//! It is `kinesis_testkit::scripted::Scripted`'s idea (and its SDK configuration: region,
//! test credentials, the SDK's retries off) without its record of every request: `Scripted`
//! parses each body into a `serde_json::Value` and keeps it, so producing a million records
//! through it would keep every payload (hundreds of MiB) and spend much of the time building
//! JSON trees. Everything above the socket is real: the SDK serializes each request (JSON,
//! base64) and signs it (SigV4, a SHA-256 of the body), the client's stack runs, and the SDK
//! parses each answer.
//!
//! For the memory cases, the answers can be held back for a while, as a network round trip
//! would, so that the producer's buffer fills up.
//!
//! `ListShards` answers 4 shards splitting the hash key space evenly. `PutRecords` stores
//! every entry: on the shard owning its explicit hash key (or the MD5 of its partition key),
//! with increasing sequence numbers; it only counts what it stored.

use std::borrow::Cow;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use kinesis_client::sdk::smithy_types::body::SdkBody;
use kinesis_client::{ClientConfig, RetryConfig};
use kinesis_kcl_compat::hash::partition_key_hash;
use kinesis_testkit::scripted::Scripted;
use serde::Deserialize;

use crate::{Result, SHARDS};

/// The sink's stream name (any name is accepted).
pub(crate) const STREAM: &str = "instant-sink";

/// What the sink stored.
#[derive(Debug, Default)]
struct Counters {
    calls: AtomicU64,
    entries: AtomicU64,
    sequence: AtomicU64,
    per_shard: [AtomicU64; SHARDS as usize],
}

/// The in-process stream; clones share the counters.
#[derive(Clone, Debug, Default)]
pub(crate) struct InstantSink {
    counters: Arc<Counters>,
    /// How long each answer is held back (none: answered at once).
    latency: Option<Duration>,
}

impl InstantSink {
    /// A sink that holds every answer back for `latency`, as a network round trip would (the
    /// work is still done at once).
    pub(crate) fn with_latency(latency: Duration) -> Self {
        Self {
            latency: Some(latency),
            ..Self::default()
        }
    }

    /// A client configuration whose every request goes to this sink: the client's default
    /// retry and rate limits (`PutRecords` has no client-side quota; `ListShards` 100/s).
    pub(crate) async fn client_config(&self) -> Result<ClientConfig> {
        let sdk = Scripted::default()
            .sdk_config()
            .to_builder()
            .http_client(self.clone())
            .build();
        Ok(ClientConfig::builder()
            .sdk_config(sdk)
            .retry(RetryConfig::default())
            .build()
            .await?)
    }

    /// `PutRecords` calls answered so far.
    pub(crate) fn calls(&self) -> u64 {
        self.counters.calls.load(Ordering::Relaxed)
    }

    /// Entries stored so far (an aggregate counts as one).
    pub(crate) fn entries(&self) -> u64 {
        self.counters.entries.load(Ordering::Relaxed)
    }

    /// Entries stored so far, per shard.
    pub(crate) fn per_shard(&self) -> Vec<u64> {
        self.counters
            .per_shard
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .collect()
    }

    fn answer(&self, operation: &str, body: &[u8]) -> (u16, String) {
        match operation {
            "ListShards" => (200, list_shards()),
            "PutRecords" => match serde_json::from_slice::<PutRecordsRequest<'_>>(body) {
                Ok(request) => (200, self.put_records(&request)),
                Err(e) => (
                    400,
                    format!(
                        r#"{{"__type":"SerializationException","message":"{}"}}"#,
                        e.to_string().replace('"', "'")
                    ),
                ),
            },
            other => (
                400,
                format!(r#"{{"__type":"UnknownOperationException","message":"{other}"}}"#),
            ),
        }
    }

    fn put_records(&self, request: &PutRecordsRequest<'_>) -> String {
        let c = &self.counters;
        let n = request.records.len();
        let first = c.sequence.fetch_add(n as u64, Ordering::Relaxed);
        c.calls.fetch_add(1, Ordering::Relaxed);
        c.entries.fetch_add(n as u64, Ordering::Relaxed);
        let mut out = String::with_capacity(48 + n * 100);
        out.push_str(r#"{"FailedRecordCount":0,"Records":["#);
        for (i, entry) in request.records.iter().enumerate() {
            let hash = match &entry.explicit_hash_key {
                Some(k) => k.parse::<u128>().unwrap_or(0),
                None => partition_key_hash(&entry.partition_key).get(),
            };
            let shard = shard_of(hash);
            c.per_shard[shard].fetch_add(1, Ordering::Relaxed);
            if i > 0 {
                out.push(',');
            }
            out.push_str(r#"{"SequenceNumber":""#);
            push_sequence_number(&mut out, first + i as u64 + 1);
            out.push_str(r#"","ShardId":""#);
            out.push_str(SHARD_IDS[shard]);
            out.push_str(r#""}"#);
        }
        out.push_str("]}");
        out
    }
}

/// The shard owning a hash key: the space is split into [`SHARDS`] equal ranges.
fn shard_of(hash: u128) -> usize {
    let width = u128::MAX / u128::from(SHARDS) + 1;
    ((hash / width) as usize).min(SHARDS as usize - 1)
}

/// The shards' ids, by index.
const SHARD_IDS: [&str; SHARDS as usize] = [
    "shardId-000000000000",
    "shardId-000000000001",
    "shardId-000000000002",
    "shardId-000000000003",
];

fn shard_id(shard: usize) -> &'static str {
    SHARD_IDS[shard]
}

/// Appends sequence number `n` as Kinesis writes them: 56 digits (here "4959", zeros, then `n`
/// in 20 digits), without the formatting machinery, which would cost the sink more than the
/// rest of its answer.
fn push_sequence_number(out: &mut String, n: u64) {
    let mut digits = [b'0'; 20];
    let (mut i, mut v) = (digits.len(), n);
    while v > 0 {
        i -= 1;
        digits[i] = b'0' + (v % 10) as u8;
        v /= 10;
    }
    out.push_str("4959");
    out.push_str("00000000000000000000000000000000");
    out.push_str(std::str::from_utf8(&digits).expect("ASCII digits"));
}

fn list_shards() -> String {
    let width = u128::MAX / u128::from(SHARDS) + 1;
    let shards: Vec<String> = (0..SHARDS as usize)
        .map(|i| {
            let start = width * i as u128;
            let end = if i + 1 == SHARDS as usize {
                u128::MAX
            } else {
                start + width - 1
            };
            let mut first = String::new();
            push_sequence_number(&mut first, 0);
            format!(
                r#"{{"ShardId":"{}","HashKeyRange":{{"StartingHashKey":"{start}","EndingHashKey":"{end}"}},"SequenceNumberRange":{{"StartingSequenceNumber":"{first}"}}}}"#,
                shard_id(i),
            )
        })
        .collect();
    format!(r#"{{"Shards":[{}]}}"#, shards.join(","))
}

/// The fields of a `PutRecords` request the sink reads (the payloads are skipped unparsed).
#[derive(Deserialize)]
struct PutRecordsRequest<'a> {
    #[serde(rename = "Records", borrow)]
    records: Vec<RequestEntry<'a>>,
}

#[derive(Deserialize)]
struct RequestEntry<'a> {
    #[serde(rename = "PartitionKey", borrow)]
    partition_key: Cow<'a, str>,
    #[serde(rename = "ExplicitHashKey", borrow, default)]
    explicit_hash_key: Option<Cow<'a, str>>,
}

impl HttpConnector for InstantSink {
    fn call(
        &self,
        request: aws_smithy_runtime_api::client::orchestrator::HttpRequest,
    ) -> HttpConnectorFuture {
        let operation = request
            .headers()
            .get("x-amz-target")
            .unwrap_or_default()
            .rsplit('.')
            .next()
            .unwrap_or_default()
            .to_owned();
        let body = request.body().bytes().unwrap_or_default();
        let (status, answer) = self.answer(&operation, body);
        let status = status.try_into().expect("a valid status");
        let mut response = HttpResponse::new(status, SdkBody::from(answer));
        response
            .headers_mut()
            .insert("content-type", "application/x-amz-json-1.1");
        match self.latency {
            None => HttpConnectorFuture::ready(Ok(response)),
            Some(latency) => HttpConnectorFuture::new(async move {
                tokio::time::sleep(latency).await;
                Ok(response)
            }),
        }
    }
}

impl HttpClient for InstantSink {
    fn http_connector(
        &self,
        _settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(self.clone())
    }
}

/// Checks the sink's routing; run once before measuring.
pub(crate) fn check() {
    assert_eq!(shard_of(0), 0);
    assert_eq!(shard_of(u128::MAX), SHARDS as usize - 1);
    let width = u128::MAX / u128::from(SHARDS) + 1;
    assert_eq!(shard_of(width - 1), 0);
    assert_eq!(shard_of(width), 1);
    let body = br#"{"Records":[{"Data":"AAAA","PartitionKey":"a"},{"Data":"AA==","PartitionKey":"b","ExplicitHashKey":"0"}],"StreamName":"s"}"#;
    let sink = InstantSink::default();
    let (status, answer) = sink.answer("PutRecords", body);
    assert_eq!(status, 200, "{answer}");
    let parsed: serde_json::Value = serde_json::from_str(&answer).expect("JSON");
    assert_eq!(parsed["Records"].as_array().map(Vec::len), Some(2));
    assert_eq!(parsed["Records"][1]["ShardId"], "shardId-000000000000");
    let mut sequence = String::new();
    push_sequence_number(&mut sequence, 1234);
    assert_eq!(sequence.len(), 56);
    assert!(sequence.starts_with("4959") && sequence.ends_with("0001234"));
    assert_eq!(
        parsed["Records"][0]["SequenceNumber"]
            .as_str()
            .map(str::len),
        Some(56)
    );
    let shards: serde_json::Value = serde_json::from_str(&list_shards()).expect("JSON");
    assert_eq!(
        shards["Shards"].as_array().map(Vec::len),
        Some(SHARDS as usize)
    );
}
