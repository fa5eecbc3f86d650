//! Fault injection: the rules, and how a request that matches one is answered. The embedded
//! Kinesis applies them on the server ([`middleware`]); the [`FaultProxy`](crate::FaultProxy)
//! applies them in front of any server ([`apply`]).

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::conn::ConnHandle;

const CONTENT_TYPE_JSON: &str = "application/x-amz-json-1.1";
const CONTENT_TYPE_JSON_1_0: &str = "application/x-amz-json-1.0";
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
    /// Hold the request this long without passing it on, then reset the connection: a request
    /// that timed out before it reached the server. It is never applied. A client whose own
    /// timeout is shorter gives up first.
    Timeout(Duration),
    /// Pass the request on, wait for the server's whole answer, then reset the connection
    /// instead of answering: the request is applied and its answer is lost, the ambiguous case
    /// a client must report as unknown.
    AnswerLost,
    /// For `PutRecords` in JSON: each entry fails with probability `share` (drawn from the
    /// rules' seeded generator, see [`Faults::seed`]). A failed entry is not passed on, so it
    /// is not written, and its result is `ProvisionedThroughputExceededException` with
    /// `FailedRecordCount` counting it, as Kinesis answers a partial failure. Other operations
    /// and CBOR requests pass through unchanged.
    PartialFailure {
        /// The probability that one entry fails, from 0 to 1.
        share: f64,
    },
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

    /// Hold the request for `after`, never apply it, then reset the connection.
    pub fn timeout(after: Duration) -> Self {
        Fault::Timeout(after)
    }

    /// Apply the request, then reset the connection instead of answering.
    pub fn answer_lost() -> Self {
        Fault::AnswerLost
    }

    /// Fail each entry of a `PutRecords` with probability `share`.
    ///
    /// # Panics
    ///
    /// If `share` is not within 0 to 1.
    pub fn partial_failure(share: f64) -> Self {
        assert!(
            (0.0..=1.0).contains(&share),
            "a partial failure's share is from 0 to 1, got {share}"
        );
        Fault::PartialFailure { share }
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
    probability: f64,
}

impl FaultRule {
    /// A rule for one operation, named as in the `X-Amz-Target` header without the service
    /// prefix: `GetRecords`, `PutRecords`, `SubscribeToShard`, and through the
    /// [`FaultProxy`](crate::FaultProxy) DynamoDB's `UpdateItem`, `Scan`, ... or CloudWatch's
    /// `PutMetricData`. It fires on every matching request until limited with
    /// [`times`](Self::times).
    pub fn new(operation: impl Into<String>, fault: Fault) -> Self {
        Self {
            operation: Some(operation.into()),
            fault,
            times: None,
            after: 0,
            probability: 1.0,
        }
    }

    /// A rule for every operation.
    pub fn any_operation(fault: Fault) -> Self {
        Self {
            operation: None,
            fault,
            times: None,
            after: 0,
            probability: 1.0,
        }
    }

    /// Fire on each request that reaches the rule with probability `p` only (drawn from the
    /// rules' seeded generator, see [`Faults::seed`]); a request it spares goes on to later
    /// rules. Counts ([`times`](Self::times), [`after`](Self::after)) apply to the requests it
    /// would fire on.
    ///
    /// # Panics
    ///
    /// If `p` is not within 0 to 1.
    pub fn with_probability(mut self, p: f64) -> Self {
        assert!(
            (0.0..=1.0).contains(&p),
            "a rule's probability is from 0 to 1, got {p}"
        );
        self.probability = p;
        self
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
    probability: f64,
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

struct FaultState {
    next_id: u64,
    rules: Vec<ActiveRule>,
    calls: HashMap<String, u64>,
    random: SplitMix64,
}

impl Default for FaultState {
    fn default() -> Self {
        Self {
            next_id: 0,
            rules: Vec::new(),
            calls: HashMap::new(),
            random: SplitMix64(DEFAULT_SEED),
        }
    }
}

/// The seed of a [`Faults`] whose [`seed`](Faults::seed) was never set.
const DEFAULT_SEED: u64 = 0x005E_ED0F_FA17;

/// The rules' random draws: SplitMix64, small and the same on every platform, so that a seed
/// gives the same faults for the same sequence of requests.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A draw from [0, 1).
    fn unit(&mut self) -> f64 {
        // The top 53 bits make an exact f64 fraction.
        #[allow(clippy::cast_precision_loss, reason = "53 bits are exact in an f64")]
        let fraction = (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        fraction
    }

    /// True with probability `p`; a certain outcome draws nothing.
    fn chance(&mut self, p: f64) -> bool {
        if p >= 1.0 {
            return true;
        }
        if p <= 0.0 {
            return false;
        }
        self.unit() < p
    }
}

/// The fault-injection handle of an embedded Kinesis emulator (see
/// [`TestEnv::faults`](crate::TestEnv::faults)) or of a [`FaultProxy`](crate::FaultProxy).
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
        probability: f64,
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
            probability,
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
            rule.probability,
        )
    }

    /// Restarts the rules' random draws ([`FaultRule::with_probability`],
    /// [`Fault::partial_failure`]) from `seed`: the same seed and the same requests in the same
    /// order give the same faults.
    pub fn seed(&self, seed: u64) {
        self.lock().random = SplitMix64(seed);
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
            1.0,
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
        let mut guard = self.lock();
        let state = &mut *guard;
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
                    if decision.fault.is_some()
                        || rule.remaining == Some(0)
                        || !state.random.chance(rule.probability)
                    {
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

    /// Which entries of a `PutRecords` of `count` entries fail, each with probability `share`.
    fn failing_entries(&self, count: usize, share: f64) -> Vec<bool> {
        let mut state = self.lock();
        (0..count).map(|_| state.random.chance(share)).collect()
    }
}

/// The operation of a request, if it names one: `<Service>.<Op>` in `X-Amz-Target` (Kinesis,
/// DynamoDB, awsJson CloudWatch), or `/service/<Service>/operation/<Op>` (Smithy RPC v2 CBOR,
/// as aws-sdk-cloudwatch sends `PutMetricData`).
fn operation<'a>(headers: &'a HeaderMap, path: &'a str) -> Option<&'a str> {
    if let Some(target) = headers.get("x-amz-target").and_then(|v| v.to_str().ok()) {
        return target
            .rsplit_once('.')
            .map(|(_, op)| op)
            .filter(|op| !op.is_empty());
    }
    let (_, op) = path.split_once("/operation/")?;
    (!op.is_empty() && !op.contains('/')).then_some(op)
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
pub(crate) fn error_response(
    status: StatusCode,
    code: &str,
    message: &str,
    cbor: bool,
) -> Response {
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
    apply(&faults, request, |request| next.run(request)).await
}

/// Answers `request` as the first of `faults`' rules that fires says, passing it on with
/// `forward` where the fault lets it through (or where no rule fires), then applies the
/// response rewrites. A request that names no operation is passed on untouched.
pub(crate) async fn apply<F, Fut>(faults: &Faults, request: Request, forward: F) -> Response
where
    F: FnOnce(Request) -> Fut,
    Fut: Future<Output = Response>,
{
    let Some(operation) = operation(request.headers(), request.uri().path()).map(str::to_owned)
    else {
        return forward(request).await;
    };
    let decision = faults.decide(&operation);
    let conn = request
        .extensions()
        .get::<ConnectInfo<ConnHandle>>()
        .map(|ConnectInfo(conn)| conn.clone());
    let response = match decision.fault {
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
            return reset(conn.as_ref(), "connection dropped by kinesis-testkit");
        }
        Some(Fault::Timeout(after)) => {
            tokio::time::sleep(after).await;
            return reset(conn.as_ref(), "request held and dropped by kinesis-testkit");
        }
        Some(Fault::AnswerLost) => {
            let response = forward(request).await;
            // The server has answered, so it has applied the request; the answer is dropped.
            let _ = axum::body::to_bytes(response.into_body(), usize::MAX).await;
            return reset(conn.as_ref(), "answer dropped by kinesis-testkit");
        }
        Some(Fault::Latency(delay)) => {
            tokio::time::sleep(delay).await;
            forward(request).await
        }
        Some(Fault::PartialFailure { share })
            if operation == "PutRecords"
                && matches!(
                    media_type(request.headers()),
                    CONTENT_TYPE_JSON | CONTENT_TYPE_JSON_1_0
                ) =>
        {
            partial_put_records(faults, request, share, forward).await
        }
        Some(Fault::PartialFailure { .. }) | None => forward(request).await,
    };
    if decision.rewrites.is_empty() {
        return response;
    }
    rewrite(response, &decision.rewrites).await
}

/// Resets the request's connection; the response returned is never delivered (the connection
/// fails on its first write).
fn reset(conn: Option<&ConnHandle>, why: &str) -> Response {
    if let Some(conn) = conn {
        conn.kill();
    }
    error_response(
        StatusCode::INTERNAL_SERVER_ERROR,
        "InternalFailure",
        why,
        false,
    )
}

/// The result of an entry failed by [`Fault::PartialFailure`].
fn failed_entry() -> serde_json::Value {
    serde_json::json!({
        "ErrorCode": "ProvisionedThroughputExceededException",
        "ErrorMessage": "Rate exceeded for shard (partial failure injected by kinesis-testkit).",
    })
}

/// A `PutRecords` whose failing entries are taken out before it is passed on, and put back as
/// failed results in the answer.
async fn partial_put_records<F, Fut>(
    faults: &Faults,
    request: Request,
    share: f64,
    forward: F,
) -> Response
where
    F: FnOnce(Request) -> Fut,
    Fut: Future<Output = Response>,
{
    let (mut parts, body) = request.into_parts();
    let bytes = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(bytes) => bytes,
        Err(err) => {
            return error_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalFailure",
                &format!("kinesis-testkit could not read the PutRecords request: {err}"),
                false,
            );
        }
    };
    let parsed = serde_json::from_slice::<serde_json::Value>(&bytes).ok();
    let Some((mut value, count)) = parsed.and_then(|value| {
        let count = value.get("Records")?.as_array()?.len();
        Some((value, count))
    }) else {
        // Not a PutRecords the test kit understands: the server says what is wrong with it.
        return forward(Request::from_parts(parts, Body::from(bytes))).await;
    };
    let failing = faults.failing_entries(count, share);
    let injected = failing.iter().filter(|f| **f).count();
    if injected == 0 {
        return forward(Request::from_parts(parts, Body::from(bytes))).await;
    }
    if injected == count {
        let body = serde_json::json!({
            "FailedRecordCount": count,
            "Records": vec![failed_entry(); count],
        });
        let mut response = Response::new(Body::from(body.to_string()));
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(CONTENT_TYPE_JSON),
        );
        return response;
    }
    if let Some(entries) = value.get_mut("Records").and_then(|r| r.as_array_mut()) {
        let mut fails = failing.iter();
        entries.retain(|_| !fails.next().copied().unwrap_or(false));
    }
    parts.headers.remove(header::CONTENT_LENGTH);
    let response = forward(Request::from_parts(parts, Body::from(value.to_string()))).await;
    if !response.status().is_success() {
        // The whole call failed: nothing of it was written, as the client is told.
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let answer = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(bytes) => bytes,
        Err(err) => {
            return reset(
                None,
                &format!("kinesis-testkit could not read the PutRecords answer: {err}"),
            );
        }
    };
    let Ok(mut answer_value) = serde_json::from_slice::<serde_json::Value>(&answer) else {
        return Response::from_parts(parts, Body::from(answer));
    };
    let upstream: Vec<serde_json::Value> = answer_value
        .get_mut("Records")
        .and_then(|r| r.as_array_mut())
        .map(std::mem::take)
        .unwrap_or_default();
    let upstream_failed = answer_value
        .get("FailedRecordCount")
        .and_then(serde_json::Value::as_u64)
        .unwrap_or(0);
    let mut upstream = upstream.into_iter();
    let merged: Vec<serde_json::Value> = failing
        .iter()
        .map(|fails| {
            if *fails {
                failed_entry()
            } else {
                upstream.next().unwrap_or_else(failed_entry)
            }
        })
        .collect();
    if let Some(map) = answer_value.as_object_mut() {
        map.insert("Records".to_owned(), merged.into());
        map.insert(
            "FailedRecordCount".to_owned(),
            (upstream_failed + injected as u64).into(),
        );
    }
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(answer_value.to_string()))
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
    fn operation_is_read_from_the_target_header_or_the_path() {
        let mut headers = HeaderMap::new();
        assert_eq!(operation(&headers, "/"), None);
        assert_eq!(
            operation(
                &headers,
                "/service/GraniteServiceVersion20100801/operation/PutMetricData"
            ),
            Some("PutMetricData")
        );
        headers.insert(
            "x-amz-target",
            HeaderValue::from_static("Kinesis_20131202.GetRecords"),
        );
        assert_eq!(operation(&headers, "/"), Some("GetRecords"));
        headers.insert(
            "x-amz-target",
            HeaderValue::from_static("DynamoDB_20120810.GetItem"),
        );
        assert_eq!(operation(&headers, "/"), Some("GetItem"));
    }

    #[test]
    fn probabilities_and_partial_failures_follow_the_seed() {
        let draw = |seed: u64| {
            let faults = Faults::default();
            faults.seed(seed);
            faults.add(FaultRule::new("GetRecords", Fault::throttle()).with_probability(0.3));
            let fired: Vec<bool> = (0..200)
                .map(|_| faults.decide("GetRecords").fault.is_some())
                .collect();
            (fired, faults.failing_entries(500, 0.1))
        };
        let (fired, failing) = draw(7);
        assert_eq!((fired.clone(), failing.clone()), draw(7));
        assert_ne!(fired, draw(8).0);
        let hits = fired.iter().filter(|f| **f).count();
        assert!((30..=90).contains(&hits), "{hits} of 200 at p = 0.3");
        let failed = failing.iter().filter(|f| **f).count();
        assert!((20..=80).contains(&failed), "{failed} of 500 at 0.1");
    }

    #[test]
    fn a_rule_spared_by_its_probability_leaves_the_request_to_the_next_rule() {
        let faults = Faults::default();
        faults.add(FaultRule::any_operation(Fault::throttle()).with_probability(0.0));
        faults.add(FaultRule::any_operation(Fault::internal_failure()));
        assert_eq!(
            faults.decide("PutRecords").fault,
            Some(Fault::internal_failure())
        );
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
