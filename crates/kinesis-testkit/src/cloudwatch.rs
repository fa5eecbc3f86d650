//! An in-process CloudWatch endpoint that records PutMetricData calls.
//!
//! aws-sdk-cloudwatch 1.100 and later speak Smithy RPC v2 CBOR:
//! `POST /service/GraniteServiceVersion20100801/operation/PutMetricData` with
//! `Content-Type: application/cbor` and `smithy-protocol: rpc-v2-cbor`, gzip-compressed
//! (`Content-Encoding: gzip`) from 10 240 bytes on. The receiver decodes that, stores the
//! data, and answers `200` with an empty CBOR map.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Read;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use ciborium::Value;

const SERVICE_PATH: &str = "/service/GraniteServiceVersion20100801/operation/";
const SMITHY_PROTOCOL: &str = "smithy-protocol";
const RPC_V2_CBOR: &str = "rpc-v2-cbor";
const CONTENT_TYPE_CBOR: &str = "application/cbor";
/// The largest request body accepted after decompression (PutMetricData allows 1 MB).
const MAX_DECODED_BODY: u64 = 16 * 1024 * 1024;

/// One PutMetricData call as it arrived.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct PutMetricData {
    /// The `Namespace`.
    pub namespace: String,
    /// The `MetricData`, in request order.
    pub metric_data: Vec<MetricDatum>,
    /// Whether the body came gzip-compressed (`Content-Encoding: gzip`).
    pub gzip: bool,
}

/// One entry of `MetricData`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct MetricDatum {
    /// The request's `Namespace` (repeated here so a flat list stays self-describing).
    pub namespace: String,
    /// `MetricName`.
    pub metric_name: String,
    /// `Dimensions`, in request order.
    pub dimensions: Vec<Dimension>,
    /// `Timestamp`.
    pub timestamp: Option<SystemTime>,
    /// `Value`.
    pub value: Option<f64>,
    /// `StatisticValues`.
    pub statistic_values: Option<StatisticSet>,
    /// `Values` (empty when absent).
    pub values: Vec<f64>,
    /// `Counts` (empty when absent).
    pub counts: Vec<f64>,
    /// `Unit`, e.g. `Count` or `Milliseconds`.
    pub unit: Option<String>,
    /// `StorageResolution` (1 for high resolution, 60 for standard).
    pub storage_resolution: Option<i64>,
}

impl MetricDatum {
    /// The value of the dimension called `name`, if present.
    pub fn dimension(&self, name: &str) -> Option<&str> {
        self.dimensions
            .iter()
            .find(|d| d.name == name)
            .map(|d| d.value.as_str())
    }
}

/// A `Dimension`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Dimension {
    /// `Name`.
    pub name: String,
    /// `Value`.
    pub value: String,
}

/// `StatisticValues`.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct StatisticSet {
    /// `SampleCount`.
    pub sample_count: f64,
    /// `Sum`.
    pub sum: f64,
    /// `Minimum`.
    pub minimum: f64,
    /// `Maximum`.
    pub maximum: f64,
}

impl StatisticSet {
    /// The set of one value.
    pub fn of(value: f64) -> Self {
        Self {
            sample_count: 1.0,
            sum: value,
            minimum: value,
            maximum: value,
        }
    }

    /// Adds another set's samples.
    pub fn add(&mut self, other: &StatisticSet) {
        self.sample_count += other.sample_count;
        self.sum += other.sum;
        self.minimum = self.minimum.min(other.minimum);
        self.maximum = self.maximum.max(other.maximum);
    }

    /// Whether `other` has the same count, minimum and maximum, and a sum equal up to floating
    /// point rounding (sums added up in another order differ in their last bits).
    pub fn matches(&self, other: &StatisticSet) -> bool {
        let sum_tolerance = 1e-9 * self.sum.abs().max(1.0);
        self.sample_count == other.sample_count
            && self.minimum == other.minimum
            && self.maximum == other.maximum
            && (self.sum - other.sum).abs() <= sum_tolerance
    }
}

/// A metric as CloudWatch keys it: its name, and its dimensions sorted by name.
pub type MetricId = (String, Vec<(String, String)>);

struct Inner {
    requests: Mutex<Vec<PutMetricData>>,
    /// The number of requests received, for [`CloudWatchReceiver::wait_for_requests`].
    count: tokio::sync::watch::Sender<usize>,
}

/// The PutMetricData calls received by the embedded CloudWatch endpoint (see
/// [`TestEnv::cloudwatch`](crate::TestEnv::cloudwatch)). Cheap to clone.
#[derive(Clone)]
pub struct CloudWatchReceiver {
    inner: Arc<Inner>,
}

impl fmt::Debug for CloudWatchReceiver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CloudWatchReceiver")
            .field("requests", &self.lock().len())
            .finish()
    }
}

impl CloudWatchReceiver {
    pub(crate) fn new() -> Self {
        Self {
            inner: Arc::new(Inner {
                requests: Mutex::new(Vec::new()),
                count: tokio::sync::watch::Sender::new(0),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Vec<PutMetricData>> {
        self.inner
            .requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// Every PutMetricData call received so far, in arrival order.
    pub fn requests(&self) -> Vec<PutMetricData> {
        self.lock().clone()
    }

    /// Every datum received so far, across calls, in arrival order.
    pub fn metric_data(&self) -> Vec<MetricDatum> {
        self.lock()
            .iter()
            .flat_map(|r| r.metric_data.iter().cloned())
            .collect()
    }

    /// Every metric of `namespace` received so far, with its samples added up over the calls
    /// (a datum sent as a single value counts as one sample; one sent as `Values` is not
    /// counted).
    pub fn totals(&self, namespace: &str) -> BTreeMap<MetricId, StatisticSet> {
        let mut totals: BTreeMap<MetricId, StatisticSet> = BTreeMap::new();
        for d in self
            .metric_data()
            .into_iter()
            .filter(|d| d.namespace == namespace)
        {
            let Some(set) = d.statistic_values.or(d.value.map(StatisticSet::of)) else {
                continue;
            };
            let mut dims: Vec<(String, String)> = d
                .dimensions
                .iter()
                .map(|x| (x.name.clone(), x.value.clone()))
                .collect();
            dims.sort();
            totals
                .entry((d.metric_name, dims))
                .and_modify(|t| t.add(&set))
                .or_insert(set);
        }
        totals
    }

    /// Forgets everything received so far.
    pub fn clear(&self) {
        let mut requests = self.lock();
        requests.clear();
        self.inner.count.send_replace(0);
    }

    /// Waits until at least `n` calls have arrived (since the start or the last
    /// [`clear`](Self::clear)) and returns them all. It uses no timer, so it works under
    /// `tokio::time::pause()`; bound it with `tokio::time::timeout` if it may never happen.
    pub async fn wait_for_requests(&self, n: usize) -> Vec<PutMetricData> {
        let mut rx = self.inner.count.subscribe();
        // The sender lives in `inner`, which `self` keeps alive, so this cannot fail.
        let _ = rx.wait_for(|count| *count >= n).await;
        self.requests()
    }

    fn record(&self, request: PutMetricData) {
        let mut requests = self.lock();
        requests.push(request);
        let count = requests.len();
        drop(requests);
        self.inner.count.send_replace(count);
    }

    /// The receiver's axum router.
    pub(crate) fn router(&self) -> Router {
        let receiver = self.clone();
        Router::new().fallback(
            move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                let receiver = receiver.clone();
                async move { receiver.handle(&method, &uri, &headers, &body) }
            },
        )
    }

    fn handle(&self, method: &Method, uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Response {
        let operation = uri.path().strip_prefix(SERVICE_PATH).unwrap_or("");
        if method != Method::POST || operation != "PutMetricData" {
            return error(
                StatusCode::BAD_REQUEST,
                "UnknownOperationException",
                &format!(
                    "the kinesis-testkit CloudWatch receiver implements only PutMetricData, not {method} {}",
                    uri.path()
                ),
            );
        }
        let protocol = headers.get(SMITHY_PROTOCOL).and_then(|v| v.to_str().ok());
        if protocol != Some(RPC_V2_CBOR) {
            return error(
                StatusCode::BAD_REQUEST,
                "SerializationException",
                "missing header smithy-protocol: rpc-v2-cbor",
            );
        }
        let gzip = headers
            .get(header::CONTENT_ENCODING)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.split(',').any(|e| e.trim().eq_ignore_ascii_case("gzip")));
        let decoded;
        let body = if gzip {
            match gunzip(body) {
                Ok(bytes) => {
                    decoded = bytes;
                    &decoded[..]
                }
                Err(message) => {
                    return error(StatusCode::BAD_REQUEST, "SerializationException", &message);
                }
            }
        } else {
            body
        };
        match decode_put_metric_data(body, gzip) {
            Ok(request) => {
                self.record(request);
                cbor_response(StatusCode::OK, vec![0xa0])
            }
            Err(DecodeError(code, message)) => error(StatusCode::BAD_REQUEST, code, &message),
        }
    }
}

fn gunzip(body: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(body)
        .take(MAX_DECODED_BODY)
        .read_to_end(&mut out)
        .map_err(|e| format!("invalid gzip body: {e}"))?;
    Ok(out)
}

fn cbor_response(status: StatusCode, body: Vec<u8>) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(CONTENT_TYPE_CBOR),
    );
    headers.insert(SMITHY_PROTOCOL, HeaderValue::from_static(RPC_V2_CBOR));
    response
}

/// An RPC v2 CBOR error: a CBOR map with `__type` and `message`.
fn error(status: StatusCode, code: &str, message: &str) -> Response {
    let value = Value::Map(vec![
        ("__type".into(), code.into()),
        ("message".into(), message.into()),
    ]);
    let mut body = Vec::new();
    // Writing a Value into a Vec cannot fail.
    let _ = ciborium::into_writer(&value, &mut body);
    cbor_response(status, body)
}

struct DecodeError(&'static str, String);

fn invalid(message: impl Into<String>) -> DecodeError {
    DecodeError("InvalidParameterValueException", message.into())
}

fn missing(field: &str) -> DecodeError {
    DecodeError(
        "MissingRequiredParameterException",
        format!("missing required parameter {field}"),
    )
}

fn entries(value: &Value, what: &str) -> Result<Vec<(String, Value)>, DecodeError> {
    let Value::Map(map) = value else {
        return Err(invalid(format!("{what} must be a map")));
    };
    Ok(map
        .iter()
        .filter_map(|(k, v)| k.as_text().map(|k| (k.to_owned(), v.clone())))
        .collect())
}

fn text(value: &Value, field: &str) -> Result<String, DecodeError> {
    value
        .as_text()
        .map(str::to_owned)
        .ok_or_else(|| invalid(format!("{field} must be a string")))
}

fn number(value: &Value, field: &str) -> Result<f64, DecodeError> {
    match value {
        Value::Float(f) => Ok(*f),
        Value::Integer(i) => Ok(i128::from(*i) as f64),
        _ => Err(invalid(format!("{field} must be a number"))),
    }
}

fn integer(value: &Value, field: &str) -> Result<i64, DecodeError> {
    match value {
        Value::Integer(i) => {
            i64::try_from(*i).map_err(|_| invalid(format!("{field} is out of range")))
        }
        _ => Err(invalid(format!("{field} must be an integer"))),
    }
}

fn numbers(value: &Value, field: &str) -> Result<Vec<f64>, DecodeError> {
    let Value::Array(items) = value else {
        return Err(invalid(format!("{field} must be a list")));
    };
    items.iter().map(|v| number(v, field)).collect()
}

/// A CBOR timestamp: tag 1 around epoch seconds (float or integer); an untagged number is
/// accepted too.
fn timestamp(value: &Value) -> Result<SystemTime, DecodeError> {
    let inner = match value {
        Value::Tag(1, inner) => inner.as_ref(),
        other => other,
    };
    let secs = number(inner, "Timestamp")?;
    if !secs.is_finite() {
        return Err(invalid("Timestamp must be finite"));
    }
    let offset = Duration::try_from_secs_f64(secs.abs())
        .map_err(|_| invalid("Timestamp is out of range"))?;
    let time = if secs >= 0.0 {
        UNIX_EPOCH.checked_add(offset)
    } else {
        UNIX_EPOCH.checked_sub(offset)
    };
    time.ok_or_else(|| invalid("Timestamp is out of range"))
}

fn decode_statistic_set(value: &Value) -> Result<StatisticSet, DecodeError> {
    let (mut sample_count, mut sum, mut minimum, mut maximum) = (None, None, None, None);
    for (key, value) in entries(value, "StatisticValues")? {
        let slot = match key.as_str() {
            "SampleCount" => &mut sample_count,
            "Sum" => &mut sum,
            "Minimum" => &mut minimum,
            "Maximum" => &mut maximum,
            _ => continue,
        };
        *slot = Some(number(&value, &key)?);
    }
    Ok(StatisticSet {
        sample_count: sample_count.ok_or_else(|| missing("StatisticValues.SampleCount"))?,
        sum: sum.ok_or_else(|| missing("StatisticValues.Sum"))?,
        minimum: minimum.ok_or_else(|| missing("StatisticValues.Minimum"))?,
        maximum: maximum.ok_or_else(|| missing("StatisticValues.Maximum"))?,
    })
}

fn decode_dimension(value: &Value) -> Result<Dimension, DecodeError> {
    let (mut name, mut dim_value) = (None, None);
    for (key, value) in entries(value, "Dimension")? {
        match key.as_str() {
            "Name" => name = Some(text(&value, "Dimension.Name")?),
            "Value" => dim_value = Some(text(&value, "Dimension.Value")?),
            _ => {}
        }
    }
    Ok(Dimension {
        name: name.ok_or_else(|| missing("Dimension.Name"))?,
        value: dim_value.ok_or_else(|| missing("Dimension.Value"))?,
    })
}

fn decode_datum(value: &Value, namespace: &str) -> Result<MetricDatum, DecodeError> {
    let mut datum = MetricDatum {
        namespace: namespace.to_owned(),
        metric_name: String::new(),
        dimensions: Vec::new(),
        timestamp: None,
        value: None,
        statistic_values: None,
        values: Vec::new(),
        counts: Vec::new(),
        unit: None,
        storage_resolution: None,
    };
    let mut has_name = false;
    for (key, value) in entries(value, "MetricDatum")? {
        if value.is_null() {
            continue;
        }
        match key.as_str() {
            "MetricName" => {
                datum.metric_name = text(&value, "MetricName")?;
                has_name = true;
            }
            "Dimensions" => {
                let Value::Array(items) = &value else {
                    return Err(invalid("Dimensions must be a list"));
                };
                datum.dimensions = items
                    .iter()
                    .map(decode_dimension)
                    .collect::<Result<_, _>>()?;
            }
            "Timestamp" => datum.timestamp = Some(timestamp(&value)?),
            "Value" => datum.value = Some(number(&value, "Value")?),
            "StatisticValues" => datum.statistic_values = Some(decode_statistic_set(&value)?),
            "Values" => datum.values = numbers(&value, "Values")?,
            "Counts" => datum.counts = numbers(&value, "Counts")?,
            "Unit" => datum.unit = Some(text(&value, "Unit")?),
            "StorageResolution" => {
                datum.storage_resolution = Some(integer(&value, "StorageResolution")?);
            }
            _ => {}
        }
    }
    if !has_name {
        return Err(missing("MetricData.member.MetricName"));
    }
    Ok(datum)
}

/// Decodes a PutMetricData request body (already decompressed). `EntityMetricData` and
/// `StrictEntityValidation` are accepted and ignored.
fn decode_put_metric_data(body: &[u8], gzip: bool) -> Result<PutMetricData, DecodeError> {
    let value: Value = ciborium::from_reader(body)
        .map_err(|e| DecodeError("SerializationException", format!("invalid CBOR body: {e}")))?;
    let mut namespace = None;
    let mut raw_data = None;
    for (key, value) in entries(&value, "the request")? {
        match key.as_str() {
            "Namespace" => namespace = Some(text(&value, "Namespace")?),
            "MetricData" => raw_data = Some(value),
            _ => {}
        }
    }
    let namespace = namespace.ok_or_else(|| missing("Namespace"))?;
    let metric_data = match raw_data {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| decode_datum(item, &namespace))
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(invalid("MetricData must be a list")),
    };
    Ok(PutMetricData {
        namespace,
        metric_data,
        gzip,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(value: &Value) -> Vec<u8> {
        let mut out = Vec::new();
        ciborium::into_writer(value, &mut out).unwrap();
        out
    }

    fn map(entries: Vec<(&str, Value)>) -> Value {
        Value::Map(entries.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    #[test]
    fn decodes_every_field() {
        let body = encode(&map(vec![
            ("Namespace", "App".into()),
            (
                "MetricData",
                Value::Array(vec![map(vec![
                    ("MetricName", "Latency".into()),
                    (
                        "Dimensions",
                        Value::Array(vec![map(vec![
                            ("Name", "Shard".into()),
                            ("Value", "shardId-0".into()),
                        ])]),
                    ),
                    (
                        "Timestamp",
                        Value::Tag(1, Box::new(Value::Float(1_700_000_000.5))),
                    ),
                    (
                        "StatisticValues",
                        map(vec![
                            ("SampleCount", Value::Float(2.0)),
                            ("Sum", Value::Float(3.0)),
                            ("Minimum", Value::Float(1.0)),
                            ("Maximum", Value::Integer(2.into())),
                        ]),
                    ),
                    ("Values", Value::Array(vec![Value::Float(1.5)])),
                    ("Counts", Value::Array(vec![Value::Float(4.0)])),
                    ("Unit", "Milliseconds".into()),
                    ("StorageResolution", Value::Integer(1.into())),
                ])]),
            ),
        ]));
        let request = decode_put_metric_data(&body, false).ok().unwrap();
        assert_eq!(request.namespace, "App");
        let datum = &request.metric_data[0];
        assert_eq!(datum.metric_name, "Latency");
        assert_eq!(datum.dimension("Shard"), Some("shardId-0"));
        assert_eq!(
            datum.timestamp,
            Some(UNIX_EPOCH + Duration::from_millis(1_700_000_000_500))
        );
        assert_eq!(
            datum.statistic_values,
            Some(StatisticSet {
                sample_count: 2.0,
                sum: 3.0,
                minimum: 1.0,
                maximum: 2.0
            })
        );
        assert_eq!(datum.values, vec![1.5]);
        assert_eq!(datum.counts, vec![4.0]);
        assert_eq!(datum.unit.as_deref(), Some("Milliseconds"));
        assert_eq!(datum.storage_resolution, Some(1));
        assert_eq!(datum.value, None);
    }

    #[test]
    fn rejects_bad_bodies() {
        let no_namespace = encode(&map(vec![("MetricData", Value::Array(vec![]))]));
        let err = decode_put_metric_data(&no_namespace, false).err().unwrap();
        assert_eq!(err.0, "MissingRequiredParameterException");
        let err = decode_put_metric_data(b"\xff\x00", false).err().unwrap();
        assert_eq!(err.0, "SerializationException");
        let no_name = encode(&map(vec![
            ("Namespace", "A".into()),
            (
                "MetricData",
                Value::Array(vec![map(vec![("Value", Value::Float(1.0))])]),
            ),
        ]));
        let err = decode_put_metric_data(&no_name, false).err().unwrap();
        assert_eq!(err.0, "MissingRequiredParameterException");
    }

    #[test]
    fn other_operations_get_a_cbor_error() {
        let receiver = CloudWatchReceiver::new();
        let uri: Uri = "/service/GraniteServiceVersion20100801/operation/ListMetrics"
            .parse()
            .unwrap();
        let response = receiver.handle(&Method::POST, &uri, &HeaderMap::new(), &[]);
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/cbor");
        assert_eq!(response.headers()[SMITHY_PROTOCOL], "rpc-v2-cbor");
        assert!(receiver.requests().is_empty());
    }
}
