//! An *instant* Kinesis server for benchmarks: it answers PutRecords, ListShards and GetRecords
//! from memory with no per-call work beyond parsing the request, so that what a benchmark
//! measures is the client — a producer, a consumer, the KPL, the Java KCL — and not the server.
//!
//! It is not an emulator: no limits, no throttling, no resharding, no enhanced fan-out, no
//! checks of signatures; streams are ACTIVE the moment they are created, with equal hash-key
//! ranges. It speaks the JSON 1.1 protocol (the Rust SDK, boto3, the KPL; the Java SDK with
//! `-Daws.cborEnabled=false`) over HTTP/1.1 and HTTP/2, on a plain port (HTTP/2 with prior
//! knowledge) and, given a certificate, a TLS port (ALPN `h2` and `http/1.1`). Operations:
//! PutRecords, PutRecord, GetShardIterator, GetRecords, ListShards, DescribeStreamSummary,
//! DescribeStream, CreateStream, DeleteStream, ListStreams, DescribeLimits. Any other is
//! answered `UnknownOperationException`, naming it.
//!
//! Payloads are kept as the base64 text the client sent and given back as is; with
//! [`InstantKinesisBuilder::discard_records`] they are not kept at all (producer benchmarks).
//!
//! In a process of its own: the `instant-kinesis` binary of this crate (feature `instant`).
//! In a test or a benchmark:
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! use kinesis_testkit::instant::InstantKinesis;
//!
//! let server = InstantKinesis::builder().stream("bench", 4).start().await?;
//! println!("AWS_ENDPOINT_URL_KINESIS={}", server.endpoint());
//! // ... run the client under test ...
//! server.shutdown().await;
//! # Ok(())
//! # }
//! ```

mod api;
mod store;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;

use self::store::Store;

/// Options of an [`InstantKinesis`]; see [`InstantKinesis::builder`].
#[derive(Debug, Clone)]
pub struct InstantKinesisBuilder {
    host: String,
    port: u16,
    tls: Option<(PathBuf, PathBuf)>,
    tls_port: u16,
    streams: Vec<(String, usize)>,
    discard: bool,
}

impl Default for InstantKinesisBuilder {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".to_owned(),
            port: 0,
            tls: None,
            tls_port: 0,
            streams: Vec::new(),
            discard: false,
        }
    }
}

impl InstantKinesisBuilder {
    /// The plain port (default 0: any free port). The server listens on 127.0.0.1.
    #[must_use]
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Serves TLS too, with the certificate chain and private key in these PEM files, on
    /// `port` (0: any free port).
    #[must_use]
    pub fn tls(
        mut self,
        cert_pem: impl Into<PathBuf>,
        key_pem: impl Into<PathBuf>,
        port: u16,
    ) -> Self {
        self.tls = Some((cert_pem.into(), key_pem.into()));
        self.tls_port = port;
        self
    }

    /// A stream that exists from the start.
    #[must_use]
    pub fn stream(mut self, name: impl Into<String>, shards: usize) -> Self {
        self.streams.push((name.into(), shards));
        self
    }

    /// Keeps no payloads: PutRecords is answered and counted, GetRecords finds nothing.
    #[must_use]
    pub fn discard_records(mut self, discard: bool) -> Self {
        self.discard = discard;
        self
    }

    /// Binds the ports and serves on the current tokio runtime until
    /// [`InstantKinesis::shutdown`] or drop.
    ///
    /// # Errors
    ///
    /// A port that cannot be bound, or a certificate or key that cannot be read.
    pub async fn start(self) -> std::io::Result<InstantKinesis> {
        let store = Arc::new(Store::new(self.discard));
        for (name, shards) in &self.streams {
            store.create(name, *shards);
        }
        let (stop, stopped) = watch::channel(false);
        let plain = TcpListener::bind((self.host.as_str(), self.port)).await?;
        let http = plain.local_addr()?;
        let mut tasks = vec![tokio::spawn(serve(
            plain,
            None,
            Arc::clone(&store),
            stopped.clone(),
        ))];
        let mut https = None;
        if let Some((cert, key)) = &self.tls {
            let acceptor = tls_acceptor(cert, key)?;
            let listener = TcpListener::bind((self.host.as_str(), self.tls_port)).await?;
            https = Some(listener.local_addr()?);
            tasks.push(tokio::spawn(serve(
                listener,
                Some(acceptor),
                Arc::clone(&store),
                stopped.clone(),
            )));
        }
        Ok(InstantKinesis {
            http,
            https,
            store,
            stop,
            tasks,
        })
    }
}

/// A running instant server. Dropping it stops it.
#[derive(Debug)]
pub struct InstantKinesis {
    http: SocketAddr,
    https: Option<SocketAddr>,
    store: Arc<Store>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl InstantKinesis {
    /// Options: no streams, plain HTTP on any free port of 127.0.0.1, records kept.
    pub fn builder() -> InstantKinesisBuilder {
        InstantKinesisBuilder::default()
    }

    /// The plain endpoint, e.g. `http://127.0.0.1:41234`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.http)
    }

    /// The plain address.
    pub fn http_addr(&self) -> SocketAddr {
        self.http
    }

    /// The TLS address, if TLS was asked for.
    pub fn https_addr(&self) -> Option<SocketAddr> {
        self.https
    }

    /// How many records the server received, over all streams.
    pub fn records_received(&self) -> u64 {
        self.store.total_records()
    }

    /// Stops accepting connections and ends the open ones.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        for task in self.tasks.drain(..) {
            let _ = task.await;
        }
    }
}

impl Drop for InstantKinesis {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        for task in &self.tasks {
            task.abort();
        }
    }
}

fn tls_acceptor(cert: &PathBuf, key: &PathBuf) -> std::io::Result<TlsAcceptor> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let invalid = |what: &str, path: &PathBuf, e: &dyn std::fmt::Display| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("cannot read the {what} {}: {e}", path.display()),
        )
    };
    let chain = CertificateDer::pem_file_iter(cert)
        .map_err(|e| invalid("certificate", cert, &e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid("certificate", cert, &e))?;
    let key_der = PrivateKeyDer::from_pem_file(key).map_err(|e| invalid("private key", key, &e))?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| invalid("TLS configuration for", cert, &e))?
        .with_no_client_auth()
        .with_single_cert(chain, key_der)
        .map_err(|e| invalid("certificate and key", cert, &e))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

async fn serve(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    store: Arc<Store>,
    mut stopped: watch::Receiver<bool>,
) {
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stopped.wait_for(|s| *s) => return,
        };
        let Ok((stream, _)) = accepted else { continue };
        let _ = stream.set_nodelay(true);
        let store = Arc::clone(&store);
        let tls = tls.clone();
        let mut stopped = stopped.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| handle(Arc::clone(&store), request));
            let builder = auto::Builder::new(TokioExecutor::new());
            match tls {
                Some(acceptor) => {
                    let Ok(stream) = acceptor.accept(stream).await else {
                        return;
                    };
                    let connection = builder.serve_connection(TokioIo::new(stream), service);
                    tokio::select! {
                        _ = connection => {}
                        _ = stopped.wait_for(|s| *s) => {}
                    }
                }
                None => {
                    let connection = builder.serve_connection(TokioIo::new(stream), service);
                    tokio::select! {
                        _ = connection => {}
                        _ = stopped.wait_for(|s| *s) => {}
                    }
                }
            }
        });
    }
}

async fn handle(
    store: Arc<Store>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let target = request
        .headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = match request.into_body().collect().await {
        Ok(body) => body.to_bytes(),
        Err(e) => {
            return Ok(answer(
                StatusCode::BAD_REQUEST,
                api::ApiError {
                    status: 400,
                    kind: "SerializationException",
                    message: format!("the request body could not be read: {e}"),
                }
                .body(),
            ));
        }
    };
    Ok(match api::handle(&store, &target, &body) {
        Ok(body) => answer(StatusCode::OK, body),
        Err(e) => answer(
            StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST),
            e.body(),
        ),
    })
}

fn answer(status: StatusCode, body: Vec<u8>) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/x-amz-json-1.1"),
    );
    response
}
