//! The embedded servers, on their own tokio runtime in a background thread.
//!
//! Their own runtime keeps them running in real time when a test pauses its clock with
//! `tokio::time::pause()`, and lets shutdown end every connection task (open SubscribeToShard
//! bodies included) by shutting that runtime down.

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Mutex;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use axum::Router;
use ferrokinesis::store::StoreOptions;
use futures_util::future::join_all;
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};

use crate::cloudwatch::CloudWatchReceiver;
use crate::conn::{ConnHandle, ConnRegistry, KillableListener};
use crate::faults::{self, Faults};

/// The largest request body the embedded Kinesis accepts (as ferrokinesis's binary: 7 MiB).
const KINESIS_BODY_LIMIT: usize = 7 * 1024 * 1024;

/// How long the servers get to finish once every connection has been reset.
const GRACE: Duration = Duration::from_millis(200);
/// How long runtime shutdown waits for blocking tasks.
const RUNTIME_SHUTDOWN: Duration = Duration::from_millis(250);
/// How long `Drop` waits for the thread (the thread itself is bounded by the two above).
const DROP_WAIT: Duration = Duration::from_secs(1);

/// What to start.
pub(crate) struct EmbeddedConfig {
    /// Kinesis store options; `None` when Kinesis is external.
    pub(crate) kinesis: Option<StoreOptions>,
    pub(crate) dynamodb: bool,
    pub(crate) cloudwatch: bool,
    /// 0 for a current-thread runtime, else the number of worker threads.
    pub(crate) worker_threads: usize,
    /// The ports of Kinesis, DynamoDB and CloudWatch on 127.0.0.1; 0 for any free port.
    pub(crate) ports: Ports,
    /// dynoxide's SQLite file; `None` keeps DynamoDB in memory.
    pub(crate) dynamodb_file: Option<std::path::PathBuf>,
}

/// The ports to listen on; 0 for any free port.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Ports {
    pub(crate) kinesis: u16,
    pub(crate) dynamodb: u16,
    pub(crate) cloudwatch: u16,
}

/// The addresses and handles of the started servers.
pub(crate) struct Started {
    pub(crate) kinesis: Option<(SocketAddr, Faults)>,
    pub(crate) dynamodb: Option<SocketAddr>,
    pub(crate) cloudwatch: Option<(SocketAddr, CloudWatchReceiver)>,
}

struct Stopper {
    shutdown: oneshot::Sender<()>,
    done: mpsc::Receiver<()>,
    done_async: oneshot::Receiver<()>,
    thread: JoinHandle<()>,
}

/// The running servers. Dropping this stops them (waiting at most about a second).
pub(crate) struct EmbeddedServers {
    stopper: Mutex<Option<Stopper>>,
}

impl fmt::Debug for EmbeddedServers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let running = self.stopper.lock().map(|s| s.is_some()).unwrap_or_default();
        f.debug_struct("EmbeddedServers")
            .field("running", &running)
            .finish()
    }
}

fn bind(port: u16) -> Result<std::net::TcpListener, String> {
    let listen = || {
        let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, port))?;
        listener.set_nonblocking(true)?;
        Ok::<_, std::io::Error>(listener)
    };
    listen().map_err(|e| format!("cannot listen on 127.0.0.1:{port}: {e}"))
}

impl EmbeddedServers {
    /// Binds the listeners on 127.0.0.1 and starts the servers on a new runtime thread.
    pub(crate) async fn start(config: EmbeddedConfig) -> Result<(Self, Started), String> {
        let ports = config.ports;
        let kinesis = match config.kinesis {
            Some(options) => Some((bind(ports.kinesis)?, options, Faults::default())),
            None => None,
        };
        let dynamodb = match config.dynamodb {
            true => Some(bind(ports.dynamodb)?),
            false => None,
        };
        let cloudwatch = match config.cloudwatch {
            true => Some((bind(ports.cloudwatch)?, CloudWatchReceiver::new())),
            false => None,
        };
        let addr = |l: &std::net::TcpListener| l.local_addr().map_err(|e| e.to_string());
        let started = Started {
            kinesis: match &kinesis {
                Some((l, _, faults)) => Some((addr(l)?, faults.clone())),
                None => None,
            },
            dynamodb: match &dynamodb {
                Some(l) => Some(addr(l)?),
                None => None,
            },
            cloudwatch: match &cloudwatch {
                Some((l, receiver)) => Some((addr(l)?, receiver.clone())),
                None => None,
            },
        };

        let (ready_tx, ready_rx) = oneshot::channel::<Result<(), String>>();
        let (shutdown_tx, shutdown_rx) = oneshot::channel::<()>();
        let (done_tx, done_rx) = mpsc::channel::<()>();
        let (done_async_tx, done_async_rx) = oneshot::channel::<()>();
        let worker_threads = config.worker_threads;
        let servers = Servers {
            kinesis,
            dynamodb,
            dynamodb_file: config.dynamodb_file,
            cloudwatch,
        };
        let thread = std::thread::Builder::new()
            .name("kinesis-testkit-emulators".to_owned())
            .spawn(move || {
                let runtime = if worker_threads == 0 {
                    tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                } else {
                    tokio::runtime::Builder::new_multi_thread()
                        .worker_threads(worker_threads)
                        .thread_name("kinesis-testkit-emulator-worker")
                        .enable_all()
                        .build()
                };
                match runtime {
                    Ok(runtime) => {
                        runtime.block_on(servers.run(ready_tx, shutdown_rx));
                        runtime.shutdown_timeout(RUNTIME_SHUTDOWN);
                    }
                    Err(err) => {
                        let _ =
                            ready_tx.send(Err(format!("cannot build the emulator runtime: {err}")));
                    }
                }
                let _ = done_tx.send(());
                let _ = done_async_tx.send(());
            })
            .map_err(|e| format!("cannot spawn the emulator thread: {e}"))?;
        let this = Self {
            stopper: Mutex::new(Some(Stopper {
                shutdown: shutdown_tx,
                done: done_rx,
                done_async: done_async_rx,
                thread,
            })),
        };
        match ready_rx.await {
            Ok(Ok(())) => Ok((this, started)),
            Ok(Err(err)) => Err(err),
            Err(_) => Err("the emulator thread ended before the servers started".to_owned()),
        }
    }

    fn take(&self) -> Option<Stopper> {
        self.stopper
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
    }

    /// Stops the servers and waits for their thread without blocking the caller's runtime.
    pub(crate) async fn shutdown(self) {
        let Some(stopper) = self.take() else { return };
        let _ = stopper.shutdown.send(());
        // The thread's own shutdown is bounded in real time (GRACE + RUNTIME_SHUTDOWN), so
        // this needs no timer of ours, which a paused test clock would distort.
        let _ = stopper.done_async.await;
        join(stopper.thread);
    }
}

fn join(thread: JoinHandle<()>) {
    if thread.join().is_err() {
        tracing::error!("kinesis-testkit: the emulator thread panicked");
    }
}

impl Drop for EmbeddedServers {
    fn drop(&mut self) {
        let Some(stopper) = self.take() else { return };
        let _ = stopper.shutdown.send(());
        match stopper.done.recv_timeout(DROP_WAIT) {
            Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => join(stopper.thread),
            Err(mpsc::RecvTimeoutError::Timeout) => {
                // Not expected: the thread bounds its own shutdown. Leave it to finish alone
                // rather than hang the test.
                tracing::warn!(
                    "kinesis-testkit: the emulators did not stop within {DROP_WAIT:?}; detaching their thread"
                );
            }
        }
    }
}

struct Servers {
    kinesis: Option<(std::net::TcpListener, StoreOptions, Faults)>,
    dynamodb: Option<std::net::TcpListener>,
    dynamodb_file: Option<std::path::PathBuf>,
    cloudwatch: Option<(std::net::TcpListener, CloudWatchReceiver)>,
}

impl Servers {
    /// Runs on the emulator runtime: starts the servers, reports readiness, waits for the
    /// shutdown signal (or for the owner to disappear), then stops them.
    async fn run(
        self,
        ready: oneshot::Sender<Result<(), String>>,
        shutdown: oneshot::Receiver<()>,
    ) {
        let (stop_tx, stop_rx) = watch::channel(false);
        let stop_signal = move || {
            let mut rx = stop_rx.clone();
            async move {
                let _ = rx.wait_for(|stop| *stop).await;
            }
        };
        let registry = ConnRegistry::default();
        let mut tasks = Vec::new();
        let mut failure = None;

        if let Some((listener, options, faults)) = self.kinesis {
            match TcpListener::from_std(listener) {
                Ok(listener) => {
                    let (router, _store) = ferrokinesis::create_app(options);
                    let router = router
                        .layer(axum::middleware::from_fn_with_state(
                            faults,
                            faults::middleware,
                        ))
                        // A full PutRecords (5 MiB of data, base64 in JSON) is about 7 MB: the
                        // limit ferrokinesis's own binary sets, not axum's 2 MB default.
                        .layer(axum::extract::DefaultBodyLimit::max(KINESIS_BODY_LIMIT));
                    tasks.push(tokio::spawn(serve_killable(
                        "ferrokinesis",
                        listener,
                        router,
                        registry.clone(),
                        stop_signal(),
                    )));
                }
                Err(err) => failure = Some(format!("cannot register the Kinesis listener: {err}")),
            }
        }
        if let Some(listener) = self.dynamodb {
            let database = match &self.dynamodb_file {
                Some(path) => dynoxide::Database::new(&path.to_string_lossy()),
                None => dynoxide::Database::memory(),
            };
            match (TcpListener::from_std(listener), database) {
                (Ok(listener), Ok(db)) => {
                    let signal = stop_signal();
                    tasks.push(tokio::spawn(async move {
                        if let Err(err) =
                            dynoxide::server::serve_with_shutdown(listener, db, signal).await
                        {
                            tracing::warn!(%err, "kinesis-testkit: dynoxide stopped with an error");
                        }
                    }));
                }
                (Err(err), _) => {
                    failure = Some(format!("cannot register the DynamoDB listener: {err}"));
                }
                (_, Err(err)) => failure = Some(format!("cannot open dynoxide's database: {err}")),
            }
        }
        if let Some((listener, receiver)) = self.cloudwatch {
            match TcpListener::from_std(listener) {
                Ok(listener) => {
                    tasks.push(tokio::spawn(serve_killable(
                        "cloudwatch-receiver",
                        listener,
                        receiver.router(),
                        registry.clone(),
                        stop_signal(),
                    )));
                }
                Err(err) => {
                    failure = Some(format!("cannot register the CloudWatch listener: {err}"));
                }
            }
        }

        match failure {
            Some(err) => {
                let _ = ready.send(Err(err));
            }
            None => {
                let _ = ready.send(Ok(()));
                // An error means the owner is gone without a signal: stop as well.
                let _ = shutdown.await;
            }
        }

        let _ = stop_tx.send(true);
        registry.kill_all();
        if tokio::time::timeout(GRACE, join_all(tasks)).await.is_err() {
            tracing::debug!(
                "kinesis-testkit: servers still draining; the runtime shutdown ends them"
            );
        }
    }
}

pub(crate) async fn serve_killable(
    name: &'static str,
    listener: TcpListener,
    router: Router,
    registry: ConnRegistry,
    signal: impl Future<Output = ()> + Send + 'static,
) {
    let listener = KillableListener::new(listener, registry);
    let service = router.into_make_service_with_connect_info::<ConnHandle>();
    if let Err(err) = axum::serve(listener, service)
        .with_graceful_shutdown(signal)
        .await
    {
        tracing::warn!(%err, "kinesis-testkit: {name} stopped with an error");
    }
}
