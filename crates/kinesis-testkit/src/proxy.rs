//! A fault-injecting HTTP proxy in front of any Kinesis, DynamoDB or CloudWatch endpoint.
//!
//! The embedded Kinesis applies [`Faults`] on its own server; the proxy applies the same rules
//! in front of any server: the embedded DynamoDB and CloudWatch, kinesis-local, moto,
//! LocalStack. Point the code under test at [`FaultProxy::endpoint`] instead of the server.

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::conn::ConnRegistry;
use crate::embedded::serve_killable;
use crate::env::StartError;
use crate::faults::{self, Faults};

/// How long the proxy waits for the server's answer to begin (its body may then stream for
/// longer: a `SubscribeToShard` session lasts minutes).
const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(60);
/// How long `stop` waits for the proxy's thread once every connection has been reset.
const STOP_WAIT: Duration = Duration::from_secs(1);

/// A programmable HTTP proxy that passes requests on to one server and injects [`Faults`] on
/// the way: errors, latency, resets, timeouts before the request reaches the server, answers
/// lost after the server applied it, and partial `PutRecords` failures.
///
/// It listens on `127.0.0.1` and runs on a thread and tokio runtime of its own, so it keeps
/// real time when a test pauses its clock. Rules are matched by operation: the `X-Amz-Target`
/// operation for Kinesis and DynamoDB (`GetRecords`, `UpdateItem`, ...), the Smithy RPC v2
/// operation for CloudWatch (`PutMetricData`). Requests are passed on unchanged, `Host` and
/// signature included: the emulators do not check signatures, AWS would.
///
/// Dropping the proxy stops it (see [`stop`](Self::stop)).
///
/// ```no_run
/// use kinesis_testkit::{Fault, FaultProxy, FaultRule, TestEnv};
///
/// # async fn example() {
/// let env = TestEnv::builder().embedded_only().start().await;
/// // DynamoDB behind a proxy: one conditional write in five is applied and its answer lost.
/// let proxy = FaultProxy::start(env.dynamodb_endpoint()).unwrap();
/// proxy.faults().seed(42);
/// proxy
///     .faults()
///     .add(FaultRule::new("UpdateItem", Fault::answer_lost()).with_probability(0.2));
/// // ... run the code under test with its DynamoDB endpoint set to proxy.endpoint() ...
/// # }
/// ```
pub struct FaultProxy {
    endpoint: String,
    upstream: String,
    faults: Faults,
    stopper: Mutex<Option<Stopper>>,
}

struct Stopper {
    shutdown: oneshot::Sender<()>,
    thread: JoinHandle<()>,
}

impl fmt::Debug for FaultProxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FaultProxy")
            .field("endpoint", &self.endpoint)
            .field("upstream", &self.upstream)
            .field("faults", &self.faults)
            .finish()
    }
}

/// What every request handler shares.
struct Forwarder {
    upstream: String,
    faults: Faults,
    client: Client<HttpConnector, Body>,
}

impl FaultProxy {
    /// Starts a proxy on a free port of `127.0.0.1` in front of `upstream`
    /// (`http://host:port`).
    ///
    /// # Errors
    ///
    /// `upstream` is not a plain `http://` URL, or the proxy cannot listen.
    pub fn start(upstream: &str) -> Result<Self, StartError> {
        Self::start_on(upstream, 0)
    }

    /// Starts a proxy on `port` of `127.0.0.1` (0 for a free port) in front of `upstream`.
    ///
    /// # Errors
    ///
    /// `upstream` is not a plain `http://` URL, or the proxy cannot listen on the port.
    pub fn start_on(upstream: &str, port: u16) -> Result<Self, StartError> {
        let upstream = upstream.trim_end_matches('/').to_owned();
        let uri: Uri = upstream
            .parse()
            .map_err(|e| format!("the proxy's upstream {upstream:?} is not a URL: {e}"))?;
        if uri.scheme_str() != Some("http") || uri.authority().is_none() {
            return Err(format!(
                "the proxy's upstream {upstream:?} must be http://host:port (the proxy does not speak TLS)"
            )
            .into());
        }
        let listener = std::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
            .map_err(|e| format!("the proxy cannot listen on 127.0.0.1:{port}: {e}"))?;
        listener
            .set_nonblocking(true)
            .map_err(|e| format!("the proxy's listener: {e}"))?;
        let addr = listener
            .local_addr()
            .map_err(|e| format!("the proxy's listener: {e}"))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("the proxy's runtime: {e}"))?;
        let faults = Faults::default();
        let forwarder = Arc::new(Forwarder {
            upstream: upstream.clone(),
            faults: faults.clone(),
            client: Client::builder(TokioExecutor::new()).build_http(),
        });
        let (shutdown, stop) = oneshot::channel();
        let thread = std::thread::Builder::new()
            .name(format!("kinesis-testkit-proxy-{}", addr.port()))
            .spawn(move || runtime.block_on(serve(listener, forwarder, stop)))
            .map_err(|e| format!("the proxy's thread: {e}"))?;
        Ok(Self {
            endpoint: format!("http://{addr}"),
            upstream,
            faults,
            stopper: Mutex::new(Some(Stopper { shutdown, thread })),
        })
    }

    /// The proxy's URL, `http://127.0.0.1:<port>`: the endpoint to give the code under test.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The server the proxy passes requests on to.
    pub fn upstream(&self) -> &str {
        &self.upstream
    }

    /// The proxy's fault rules and call counts.
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// Stops the proxy: resets every open connection and waits for its thread (about a second
    /// at most). Called again, or on drop, it does nothing more.
    pub fn stop(&self) {
        let stopper = self
            .stopper
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        let Some(stopper) = stopper else {
            return;
        };
        let _ = stopper.shutdown.send(());
        let deadline = std::time::Instant::now() + STOP_WAIT;
        while !stopper.thread.is_finished() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        if stopper.thread.is_finished() {
            let _ = stopper.thread.join();
        } else {
            tracing::warn!(
                "kinesis-testkit: the proxy in front of {} did not stop within {STOP_WAIT:?}",
                self.upstream
            );
        }
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Runs on the proxy's runtime until `stop` fires.
async fn serve(
    listener: std::net::TcpListener,
    forwarder: Arc<Forwarder>,
    stop: oneshot::Receiver<()>,
) {
    let listener = match TcpListener::from_std(listener) {
        Ok(listener) => listener,
        Err(err) => {
            tracing::warn!(%err, "kinesis-testkit: the proxy cannot register its listener");
            return;
        }
    };
    let registry = ConnRegistry::default();
    let router = Router::new().fallback(handle).with_state(forwarder);
    let (signal_tx, signal_rx) = oneshot::channel::<()>();
    let server = tokio::spawn(serve_killable(
        "fault-proxy",
        listener,
        router,
        registry.clone(),
        async move {
            let _ = signal_rx.await;
        },
    ));
    // An error means the owner is gone without a signal: stop as well.
    let _ = stop.await;
    let _ = signal_tx.send(());
    registry.kill_all();
    let _ = tokio::time::timeout(STOP_WAIT / 2, server).await;
}

async fn handle(State(forwarder): State<Arc<Forwarder>>, request: Request) -> Response {
    let faults = forwarder.faults.clone();
    faults::apply(&faults, request, |request| forwarder.forward(request)).await
}

impl Forwarder {
    /// Passes `request` on to the server and streams its answer back.
    async fn forward(&self, request: Request) -> Response {
        let (mut parts, body) = request.into_parts();
        let path = parts
            .uri
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_owned();
        parts.uri = match format!("{}{path}", self.upstream).parse() {
            Ok(uri) => uri,
            Err(err) => {
                return bad_gateway(&format!(
                    "kinesis-testkit proxy: {}{path} is not a URL: {err}",
                    self.upstream
                ));
            }
        };
        let request = Request::from_parts(parts, body);
        match tokio::time::timeout(UPSTREAM_TIMEOUT, self.client.request(request)).await {
            Ok(Ok(response)) => response.map(Body::new),
            Ok(Err(err)) => bad_gateway(&format!(
                "kinesis-testkit proxy: the request to {} failed: {err}",
                self.upstream
            )),
            Err(_) => bad_gateway(&format!(
                "kinesis-testkit proxy: {} did not answer within {UPSTREAM_TIMEOUT:?}",
                self.upstream
            )),
        }
    }
}

/// HTTP 502 with the cause, as a proxy answers when it cannot reach its server.
fn bad_gateway(message: &str) -> Response {
    tracing::warn!("{message}");
    faults::error_response(StatusCode::BAD_GATEWAY, "InternalFailure", message, false)
}
