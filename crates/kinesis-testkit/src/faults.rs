//! Server-side fault injection for the embedded Kinesis emulator.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::conn::ConnHandle;

const TARGET_PREFIX: &str = "Kinesis_20131202.";
const CONTENT_TYPE_JSON: &str = "application/x-amz-json-1.1";
const CONTENT_TYPE_CBOR: &str = "application/x-amz-cbor-1.1";

/// What an injected fault does to a matching request.
///
/// Build one with the constructors ([`Fault::throttle`], [`Fault::internal_failure`],
/// [`Fault::drop_connection`], ...) and add it with a [`FaultRule`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Fault {
    /// Answer with a Kinesis error instead of calling the emulator: HTTP `status`, header
    /// `x-amzn-ErrorType: code`, and body `{"__type": code, "message": message}` in the
    /// request's encoding (`application/x-amz-json-1.1`, or CBOR for a CBOR request). The SDK
    /// parses it like a real error: a modelled code becomes the typed variant, e.g.
    /// `GetRecordsError::ProvisionedThroughputExceededException`, and
    /// `ProvideErrorMetadata::code()` returns `code`.
    ServiceError {
        /// The HTTP status (an invalid one is sent as 500).
        status: u16,
        /// The error code, e.g. `ProvisionedThroughputExceededException`.
        code: String,
        /// The error message.
        message: String,
    },
    /// Wait this long (in real time: the emulator has its own runtime), then let the request
    /// through.
    Latency(Duration),
    /// Reset the TCP connection without sending a response. The SDK reports
    /// `SdkError::DispatchFailure`, whose `ConnectorError::is_io()` is true. The emulator does
    /// not process the request.
    DropConnection,
}

impl Fault {
    /// HTTP 400 `ProvisionedThroughputExceededException` (the per-shard read or write limit).
    pub fn throttle() -> Self {
        Self::service_error(
            400,
            "ProvisionedThroughputExceededException",
            "Rate exceeded for shard (injected by kinesis-testkit).",
        )
    }

    /// HTTP 400 `LimitExceededException` (a control-plane or subscription rate limit).
    pub fn limit_exceeded() -> Self {
        Self::service_error(
            400,
            "LimitExceededException",
            "Rate exceeded (injected by kinesis-testkit).",
        )
    }

    /// HTTP 400 `ExpiredIteratorException`.
    pub fn expired_iterator() -> Self {
        Self::service_error(
            400,
            "ExpiredIteratorException",
            "Iterator expired (injected by kinesis-testkit).",
        )
    }

    /// HTTP 500 `InternalFailure`.
    pub fn internal_failure() -> Self {
        Self::service_error(
            500,
            "InternalFailure",
            "Internal failure (injected by kinesis-testkit).",
        )
    }

    /// HTTP 503 `ServiceUnavailable`.
    pub fn service_unavailable() -> Self {
        Self::service_error(
            503,
            "ServiceUnavailable",
            "Service unavailable (injected by kinesis-testkit).",
        )
    }

    /// Any Kinesis error: HTTP `status` with error code `code`.
    ///
    /// # Panics
    ///
    /// If `status` is not a valid HTTP status code (100–999).
    pub fn service_error(status: u16, code: impl Into<String>, message: impl Into<String>) -> Self {
        assert!(
            StatusCode::from_u16(status).is_ok(),
            "{status} is not a valid HTTP status code"
        );
        Fault::ServiceError {
            status,
            code: code.into(),
            message: message.into(),
        }
    }

    /// Delay the request by `delay`, then let it through.
    pub fn latency(delay: Duration) -> Self {
        Fault::Latency(delay)
    }

    /// Reset the connection without a response.
    pub fn drop_connection() -> Self {
        Fault::DropConnection
    }
}

/// When a [`Fault`] applies: to which operation, after how many requests, how many times.
///
/// Rules are consulted in the order they were added; the first rule that matches a request
/// and still has a count left fires, and no other rule does. A rule whose count is used up stays
/// listed (so [`RuleHandle::fired`] keeps working) but never fires again.
///
/// ```
/// use kinesis_testkit::{Fault, FaultRule};
///
/// // The next two GetRecords calls are throttled, then GetRecords works again.
/// let rule = FaultRule::new("GetRecords", Fault::throttle()).times(2);
/// // Every call, of any operation, takes 100 ms longer.
/// let slow = FaultRule::any_operation(Fault::latency(std::time::Duration::from_millis(100)));
/// # let _ = (rule, slow);
/// ```
#[derive(Debug, Clone)]
pub struct FaultRule {
    operation: Option<String>,
    fault: Fault,
    times: Option<u64>,
    after: u64,
}

impl FaultRule {
    /// A rule for one Kinesis operation, named as in the `X-Amz-Target` header without the
    /// `Kinesis_20131202.` prefix: `GetRecords`, `PutRecords`, `SubscribeToShard`, ...
    /// It fires on every matching request until limited with [`times`](Self::times).
    pub fn new(operation: impl Into<String>, fault: Fault) -> Self {
        Self {
            operation: Some(operation.into()),
            fault,
            times: None,
            after: 0,
        }
    }

    /// A rule for every Kinesis operation.
    pub fn any_operation(fault: Fault) -> Self {
        Self {
            operation: None,
            fault,
            times: None,
            after: 0,
        }
    }

    /// Fire at most `n` times.
    pub fn times(mut self, n: u64) -> Self {
        self.times = Some(n);
        self
    }

    /// Fire on every matching request (the default).
    pub fn always(mut self) -> Self {
        self.times = None;
        self
    }

    /// Let the first `n` requests that reach this rule through before firing (a request
    /// reaches a rule when it matches and no earlier rule fired on it).
    pub fn after(mut self, n: u64) -> Self {
        self.after = n;
        self
    }
}

type Rewrite = Arc<dyn Fn(&mut serde_json::Value) + Send + Sync>;

enum Action {
    Fault(Fault),
    Rewrite(Rewrite),
}

struct ActiveRule {
    operation: Option<String>,
    action: Action,
    remaining: Option<u64>,
    skip: u64,
    shared: Arc<RuleShared>,
}

impl ActiveRule {
    fn matches(&self, operation: &str) -> bool {
        self.operation.as_deref().is_none_or(|op| op == operation)
    }
}

#[derive(Debug)]
struct RuleShared {
    id: u64,
    fired: AtomicU64,
}

#[derive(Default)]
struct FaultState {
    next_id: u64,
    rules: Vec<ActiveRule>,
    calls: HashMap<String, u64>,
}

/// The fault-injection handle of an embedded Kinesis emulator (see
/// [`TestEnv::faults`](crate::TestEnv::faults)).
///
/// It is cheap to clone; every clone controls the same server. Rules take effect on the next
/// request. The handle also counts, per operation, every request that reached the server,
/// including the ones a fault answered.
#[derive(Clone, Default)]
pub struct Faults {
    state: Arc<Mutex<FaultState>>,
}

impl fmt::Debug for Faults {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.lock();
        f.debug_struct("Faults")
            .field("rules", &state.rules.len())
            .field("calls", &state.calls)
            .finish()
    }
}

/// A rule added to [`Faults`]: tells how often it fired, and removes it.
#[derive(Debug, Clone)]
pub struct RuleHandle {
    faults: Faults,
    shared: Arc<RuleShared>,
}

impl RuleHandle {
    /// How many requests this rule has acted on so far.
    pub fn fired(&self) -> u64 {
        self.shared.fired.load(Ordering::SeqCst)
    }

    /// Removes the rule; requests it would have matched go to later rules or the emulator.
    pub fn remove(&self) {
        let id = self.shared.id;
        self.faults.lock().rules.retain(|r| r.shared.id != id);
    }
}

/// What the middleware does with one request.
struct Decision {
    fault: Option<Fault>,
    rewrites: Vec<Rewrite>,
}

impl Faults {
    fn lock(&self) -> MutexGuard<'_, FaultState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn push(
        &self,
        operation: Option<String>,
        action: Action,
        times: Option<u64>,
        after: u64,
    ) -> RuleHandle {
        let mut state = self.lock();
        state.next_id += 1;
        let shared = Arc::new(RuleShared {
            id: state.next_id,
            fired: AtomicU64::new(0),
        });
        state.rules.push(ActiveRule {
            operation,
            action,
            remaining: times,
            skip: after,
            shared: Arc::clone(&shared),
        });
        RuleHandle {
            faults: self.clone(),
            shared,
        }
    }

    /// Adds a fault rule.
    pub fn add(&self, rule: FaultRule) -> RuleHandle {
        self.push(
            rule.operation,
            Action::Fault(rule.fault),
            rule.times,
            rule.after,
        )
    }

    /// Rewrites the JSON body of every successful `operation` response with `rewrite` (for
    /// example to set `MillisBehindLatest`, which ferrokinesis always reports as 0).
    ///
    /// Rewrites apply only to `application/x-amz-json-1.1` responses (what the Rust SDK asks
    /// for), never to SubscribeToShard event streams. They are independent of fault rules:
    /// every matching rewrite applies, in the order added.
    pub fn rewrite_response(
        &self,
        operation: impl Into<String>,
        rewrite: impl Fn(&mut serde_json::Value) + Send + Sync + 'static,
    ) -> RuleHandle {
        self.push(
            Some(operation.into()),
            Action::Rewrite(Arc::new(rewrite)),
            None,
            0,
        )
    }

    /// Makes every GetRecords response report `MillisBehindLatest = millis`.
    pub fn set_millis_behind_latest(&self, millis: i64) -> RuleHandle {
        self.rewrite_response("GetRecords", move |body| {
            if let Some(map) = body.as_object_mut() {
                map.insert("MillisBehindLatest".to_owned(), millis.into());
            }
        })
    }

    /// Removes every rule and rewrite. Call counts are kept.
    pub fn clear(&self) {
        self.lock().rules.clear();
    }

    /// How many `operation` requests reached the server so far, including those a fault
    /// answered.
    pub fn calls(&self, operation: &str) -> u64 {
        self.lock().calls.get(operation).copied().unwrap_or(0)
    }

    /// The number of requests per operation that reached the server so far.
    pub fn all_calls(&self) -> HashMap<String, u64> {
        self.lock().calls.clone()
    }

    /// Sets every call count back to zero.
    pub fn reset_calls(&self) {
        self.lock().calls.clear();
    }

    fn decide(&self, operation: &str) -> Decision {
        let mut state = self.lock();
        *state.calls.entry(operation.to_owned()).or_default() += 1;
        let mut decision = Decision {
            fault: None,
            rewrites: Vec::new(),
        };
        for rule in state.rules.iter_mut() {
            if !rule.matches(operation) {
                continue;
            }
            match &rule.action {
                Action::Rewrite(rewrite) => {
                    rule.shared.fired.fetch_add(1, Ordering::SeqCst);
                    decision.rewrites.push(Arc::clone(rewrite));
                }
                Action::Fault(fault) => {
                    if decision.fault.is_some() || rule.remaining == Some(0) {
                        continue;
                    }
                    if rule.skip > 0 {
                        rule.skip -= 1;
                        continue;
                    }
                    if let Some(remaining) = rule.remaining.as_mut() {
                        *remaining -= 1;
                    }
                    rule.shared.fired.fetch_add(1, Ordering::SeqCst);
                    decision.fault = Some(fault.clone());
                }
            }
        }
        decision
    }
}

/// The `Kinesis_20131202.<Op>` operation of a request, if any.
fn operation(headers: &HeaderMap) -> Option<&str> {
    headers
        .get("x-amz-target")?
        .to_str()
        .ok()?
        .strip_prefix(TARGET_PREFIX)
}

fn media_type(headers: &HeaderMap) -> &str {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(str::trim)
        .unwrap_or("")
}

fn request_id() -> String {
    let a = crate::names::account_access_key_id();
    let b = crate::names::account_access_key_id();
    format!("testkit-{a}-{b}")
}

/// An error response in the Kinesis wire format (JSON, or CBOR for a CBOR request).
fn error_response(status: StatusCode, code: &str, message: &str, cbor: bool) -> Response {
    let (content_type, body) = if cbor {
        let value = ciborium::Value::Map(vec![
            ("__type".into(), code.into()),
            ("message".into(), message.into()),
        ]);
        let mut body = Vec::new();
        // Writing a Value into a Vec cannot fail.
        let _ = ciborium::into_writer(&value, &mut body);
        (CONTENT_TYPE_CBOR, body)
    } else {
        let body = serde_json::json!({ "__type": code, "message": message });
        (CONTENT_TYPE_JSON, body.to_string().into_bytes())
    };
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(value) = HeaderValue::from_str(code) {
        headers.insert("x-amzn-ErrorType", value);
    }
    if let Ok(value) = HeaderValue::from_str(&request_id()) {
        headers.insert("x-amzn-RequestId", value);
    }
    response
}

/// The axum middleware that applies [`Faults`] to the ferrokinesis router.
pub(crate) async fn middleware(
    State(faults): State<Faults>,
    request: Request,
    next: Next,
) -> Response {
    let Some(operation) = operation(request.headers()).map(str::to_owned) else {
        return next.run(request).await;
    };
    let decision = faults.decide(&operation);
    match decision.fault {
        Some(Fault::ServiceError {
            status,
            code,
            message,
        }) => {
            let cbor = media_type(request.headers()) == CONTENT_TYPE_CBOR;
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return error_response(status, &code, &message, cbor);
        }
        Some(Fault::DropConnection) => {
            if let Some(ConnectInfo(conn)) = request.extensions().get::<ConnectInfo<ConnHandle>>() {
                conn.kill();
            }
            // Never delivered: the connection fails on the first write of this response.
            return error_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalFailure",
                "connection dropped by kinesis-testkit",
                false,
            );
        }
        Some(Fault::Latency(delay)) => tokio::time::sleep(delay).await,
        None => {}
    }
    let response = next.run(request).await;
    if decision.rewrites.is_empty() {
        return response;
    }
    rewrite(response, &decision.rewrites).await
}

async fn rewrite(response: Response, rewrites: &[Rewrite]) -> Response {
    if !response.status().is_success() || media_type(response.headers()) != CONTENT_TYPE_JSON {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let bytes = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(bytes) => bytes,
        Err(err) => {
            return error_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalFailure",
                &format!("kinesis-testkit could not read the response to rewrite it: {err}"),
                false,
            );
        }
    };
    let Ok(mut value) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    for rewrite in rewrites {
        rewrite(&mut value);
    }
    let body = value.to_string();
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_fire_in_order_with_counts() {
        let faults = Faults::default();
        let first = faults.add(FaultRule::new("GetRecords", Fault::throttle()).times(2));
        let second = faults.add(
            FaultRule::any_operation(Fault::internal_failure())
                .after(1)
                .times(1),
        );
        let fired: Vec<Option<Fault>> = (0..4).map(|_| faults.decide("GetRecords").fault).collect();
        assert_eq!(fired[0], Some(Fault::throttle()));
        assert_eq!(fired[1], Some(Fault::throttle()));
        // The second rule lets through the first request that reaches it.
        assert_eq!(fired[2], None);
        assert_eq!(fired[3], Some(Fault::internal_failure()));
        assert_eq!(first.fired(), 2);
        assert_eq!(second.fired(), 1);
        assert_eq!(faults.calls("GetRecords"), 4);
        assert_eq!(faults.calls("PutRecords"), 0);
    }

    #[test]
    fn the_skipped_requests_of_after_count_only_matching_ones() {
        let faults = Faults::default();
        faults.add(FaultRule::new("PutRecords", Fault::drop_connection()).after(1));
        assert_eq!(faults.decide("GetRecords").fault, None);
        assert_eq!(faults.decide("PutRecords").fault, None);
        assert_eq!(
            faults.decide("PutRecords").fault,
            Some(Fault::DropConnection)
        );
        assert_eq!(
            faults.decide("PutRecords").fault,
            Some(Fault::DropConnection)
        );
    }

    #[test]
    fn remove_and_clear() {
        let faults = Faults::default();
        let rule = faults.add(FaultRule::any_operation(Fault::throttle()));
        faults.add(FaultRule::new("ListShards", Fault::limit_exceeded()));
        rule.remove();
        assert_eq!(faults.decide("GetRecords").fault, None);
        assert_eq!(
            faults.decide("ListShards").fault,
            Some(Fault::limit_exceeded())
        );
        faults.clear();
        assert_eq!(faults.decide("ListShards").fault, None);
        assert_eq!(faults.calls("ListShards"), 2);
        faults.reset_calls();
        assert!(faults.all_calls().is_empty());
    }

    #[test]
    #[should_panic(expected = "not a valid HTTP status code")]
    fn invalid_status_panics() {
        let _ = Fault::service_error(42, "X", "y");
    }

    #[test]
    fn operation_is_read_from_the_target_header() {
        let mut headers = HeaderMap::new();
        assert_eq!(operation(&headers), None);
        headers.insert(
            "x-amz-target",
            HeaderValue::from_static("Kinesis_20131202.GetRecords"),
        );
        assert_eq!(operation(&headers), Some("GetRecords"));
        headers.insert(
            "x-amz-target",
            HeaderValue::from_static("DynamoDB_20120810.GetItem"),
        );
        assert_eq!(operation(&headers), None);
    }

    #[test]
    fn cbor_errors_are_cbor_maps() {
        let response = error_response(StatusCode::BAD_REQUEST, "LimitExceededException", "m", true);
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "application/x-amz-cbor-1.1"
        );
        assert_eq!(
            response.headers()["x-amzn-ErrorType"],
            "LimitExceededException"
        );
    }
}
