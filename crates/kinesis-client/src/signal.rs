//! [`shutdown_signal`]: the process signals that ask a service to stop.

/// Completes when the process is asked to stop: SIGTERM (what container orchestrators and
/// systemd send) or SIGINT (Ctrl-C) on Unix, Ctrl-C elsewhere. Hand it to the consumer's or the
/// producer's `shutdown_on` so that the process stops gracefully: the consumer checkpoints and
/// releases its leases, the producer delivers (or hands back) everything it accepted.
///
/// If a handler cannot be installed (the signal is reserved by the process), that is logged at
/// WARN and the other signal still counts.
///
/// # Cancel safety
///
/// Cancel safe; each call listens anew.
///
/// ```no_run
/// # async fn run() {
/// kinesis_client::shutdown_signal().await;
/// println!("stopping");
/// # }
/// ```
pub async fn shutdown_signal() {
    let interrupt = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "cannot listen for Ctrl-C (SIGINT)");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => tracing::info!("SIGINT received: shutting down"),
        () = terminate => tracing::info!("SIGTERM received: shutting down"),
    }
}
