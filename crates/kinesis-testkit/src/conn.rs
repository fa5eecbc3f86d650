//! A TCP listener for `axum::serve` whose connections can be reset from a handler or all at
//! once at shutdown.
//!
//! axum gives a handler no access to its socket. Each accepted stream is therefore wrapped in
//! [`KillableIo`], and its [`ConnHandle`] reaches handlers as `ConnectInfo<ConnHandle>`. Killing
//! a handle makes the stream's next read or write fail; hyper then drops the connection, and
//! because `SO_LINGER` is set to zero first, the peer sees a TCP reset instead of a response.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use futures_util::task::AtomicWaker;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

#[derive(Debug, Default)]
struct ConnState {
    killed: AtomicBool,
    read_waker: AtomicWaker,
    write_waker: AtomicWaker,
}

/// A handle on one accepted connection.
#[derive(Debug, Clone)]
pub(crate) struct ConnHandle {
    state: Arc<ConnState>,
}

impl ConnHandle {
    /// Resets the connection: its pending and future reads and writes fail.
    pub(crate) fn kill(&self) {
        self.state.killed.store(true, Ordering::SeqCst);
        self.state.read_waker.wake();
        self.state.write_waker.wake();
    }
}

impl Connected<IncomingStream<'_, KillableListener>> for ConnHandle {
    fn connect_info(stream: IncomingStream<'_, KillableListener>) -> Self {
        stream.io().handle()
    }
}

/// The live connections of one listener.
#[derive(Debug, Clone, Default)]
pub(crate) struct ConnRegistry {
    conns: Arc<Mutex<Vec<Weak<ConnState>>>>,
}

impl ConnRegistry {
    fn register(&self, state: &Arc<ConnState>) {
        let mut conns = self.conns.lock().unwrap_or_else(|e| e.into_inner());
        conns.retain(|c| c.strong_count() > 0);
        conns.push(Arc::downgrade(state));
    }

    /// Resets every live connection (used at shutdown, so that open SubscribeToShard bodies do
    /// not hold the graceful shutdown).
    pub(crate) fn kill_all(&self) {
        let conns = std::mem::take(&mut *self.conns.lock().unwrap_or_else(|e| e.into_inner()));
        for state in conns.iter().filter_map(Weak::upgrade) {
            ConnHandle { state }.kill();
        }
    }
}

/// A `TcpListener` whose accepted streams are [`KillableIo`].
#[derive(Debug)]
pub(crate) struct KillableListener {
    inner: TcpListener,
    registry: ConnRegistry,
}

impl KillableListener {
    pub(crate) fn new(inner: TcpListener, registry: ConnRegistry) -> Self {
        Self { inner, registry }
    }
}

impl Listener for KillableListener {
    type Io = KillableIo;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.inner.accept().await {
                Ok((stream, addr)) => {
                    let _ = stream.set_nodelay(true);
                    let state = Arc::new(ConnState::default());
                    self.registry.register(&state);
                    let io = KillableIo {
                        inner: stream,
                        state,
                        reset: false,
                    };
                    return (io, addr);
                }
                Err(err) => {
                    // Out of file descriptors and the like: back off as axum's own listener does.
                    tracing::debug!(%err, "kinesis-testkit: accept failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// An accepted stream that fails with `ConnectionReset` once its [`ConnHandle`] is killed.
#[derive(Debug)]
pub(crate) struct KillableIo {
    inner: TcpStream,
    state: Arc<ConnState>,
    reset: bool,
}

impl KillableIo {
    fn handle(&self) -> ConnHandle {
        ConnHandle {
            state: Arc::clone(&self.state),
        }
    }

    /// Registers `waker` and reports whether the connection has been killed; on the first
    /// detection, arranges for the socket to be closed with a reset.
    fn killed(&mut self, direction: Direction, cx: &Context<'_>) -> bool {
        let waker = match direction {
            Direction::Read => &self.state.read_waker,
            Direction::Write => &self.state.write_waker,
        };
        waker.register(cx.waker());
        if !self.state.killed.load(Ordering::SeqCst) {
            return false;
        }
        if !self.reset {
            self.reset = true;
            // A zero linger makes close() send RST; it never blocks with a zero timeout.
            #[allow(deprecated)]
            let _ = self.inner.set_linger(Some(Duration::ZERO));
        }
        true
    }
}

#[derive(Debug, Clone, Copy)]
enum Direction {
    Read,
    Write,
}

fn reset_error() -> io::Error {
    io::Error::new(
        io::ErrorKind::ConnectionReset,
        "connection reset by kinesis-testkit",
    )
}

impl AsyncRead for KillableIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.killed(Direction::Read, cx) {
            return Poll::Ready(Err(reset_error()));
        }
        Pin::new(&mut this.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for KillableIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.killed(Direction::Write, cx) {
            return Poll::Ready(Err(reset_error()));
        }
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.killed(Direction::Write, cx) {
            return Poll::Ready(Err(reset_error()));
        }
        Pin::new(&mut this.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.killed(Direction::Write, cx) {
            return Poll::Ready(Err(reset_error()));
        }
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.killed(Direction::Write, cx) {
            return Poll::Ready(Err(reset_error()));
        }
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}
