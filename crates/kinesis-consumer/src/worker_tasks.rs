//! The worker's background tasks: the coordinator's start, the dispatch of acquired leases to
//! shard tasks, the periodic shard sync and the forwarding of lease events as diagnostics.

use std::collections::BTreeSet;
use std::sync::Arc;

use futures_util::StreamExt as _;
use kinesis_client::{Client, Shard, ShardId, StreamId};
use kinesis_lease::coordinator::{Acquisitions, LeaseCoordinator};
use tokio::sync::{Notify, broadcast, mpsc, watch};
use tokio::task::JoinHandle;
use tracing::Instrument as _;

use crate::consumer::FanOut;
use crate::error::ConsumerError;
use crate::events::{DiagnosticEvent, Diagnostics};
use crate::fetch::fanout::FanOutFetcher;
use crate::fetch::polling::PollingFetcher;
use crate::fetch::{FetchContext, Fetcher};
use crate::metrics::{self, ShardMetrics};
use crate::settings::FetchMode;
use crate::shard::{self, ShardContext, ShardStream};

/// A started coordinator's outputs: its acquisitions, the shards it was told of, and the task
/// that forwards its events as diagnostics.
pub(crate) struct Started {
    pub(crate) acquisitions: Acquisitions,
    pub(crate) known: BTreeSet<ShardId>,
    pub(crate) forward: JoinHandle<()>,
}

/// Tells the coordinator the stream's shards and starts it (it ensures the lease table and
/// takes its first leases).
pub(crate) async fn start_coordinator(
    client: &Client,
    stream: &StreamId,
    coordinator: &LeaseCoordinator,
    diagnostics: &Diagnostics,
    stop: &watch::Sender<bool>,
) -> Result<Started, ConsumerError> {
    let listing = tokio::time::Instant::now();
    let shards = list_shards(client, stream).await;
    // The first shard sync.
    metrics::shard_sync(diagnostics.telemetry(), listing, shards.is_ok());
    let shards = shards.map_err(|e| {
        ConsumerError::kinesis_while(format_args!("cannot list the shards of stream {stream}"), e)
    })?;
    let known: BTreeSet<_> = shards.iter().map(|s| s.id().clone()).collect();
    coordinator.update_shards(shards.iter());
    let acquisitions = coordinator
        .acquisitions()
        .expect("a new coordinator's acquisitions are not taken");
    let forward = tokio::spawn(
        forward_lease_events(coordinator.events(), diagnostics.clone(), stop.subscribe())
            .in_current_span(),
    );
    coordinator
        .start()
        .await
        .map_err(|e| ConsumerError::lease_while("cannot start the lease coordinator", e))?;
    Ok(Started {
        acquisitions,
        known,
        forward,
    })
}

/// Starts a shard task (with its fetcher) for every lease the coordinator hands over, and
/// offers its stream to the user.
pub(crate) async fn dispatch_acquisitions<T: Send + 'static>(
    ctx: Arc<ShardContext<T>>,
    mut acquisitions: Acquisitions,
    fetch_mode: FetchMode,
    fan_out: Option<FanOut>,
    shards_tx: mpsc::Sender<ShardStream<T>>,
) {
    while let Some(lease) = acquisitions.recv().await {
        let fetch = FetchContext {
            client: ctx.fetch_client.clone(),
            budget: ctx.retry_budget.clone(),
            stream: ctx.stream.clone(),
            shard: lease.lease_key.shard_id().clone(),
            diagnostics: ctx.diagnostics.clone(),
            metrics: ShardMetrics::new(
                ctx.diagnostics.telemetry().clone(),
                lease.lease_key.shard_id().clone(),
            ),
        };
        let make = |position| match (&fetch_mode, &fan_out) {
            (FetchMode::EnhancedFanOut(fo), Some(f)) => Fetcher::FanOut(FanOutFetcher::new(
                fetch,
                fo,
                f.arn.clone(),
                f.limiter.clone(),
                position,
            )),
            (FetchMode::Polling(p), _) => {
                Fetcher::Polling(PollingFetcher::new(fetch, p.clone(), position))
            }
            _ => Fetcher::Polling(PollingFetcher::new(fetch, Default::default(), position)),
        };
        let stream = shard::start(Arc::clone(&ctx), lease, make);
        // Nobody takes shard streams any more: dropping it checkpoints and releases its lease.
        let _ = shards_tx.send(stream).await;
    }
}

pub(crate) async fn list_shards(
    client: &Client,
    stream: &StreamId,
) -> Result<Vec<Shard>, kinesis_client::Error> {
    let mut out = Vec::new();
    let mut pages = client.list_shards(stream.clone(), None);
    while let Some(shard) = pages.next().await {
        out.push(shard?);
    }
    Ok(out)
}

pub(crate) async fn forward_lease_events(
    mut events: broadcast::Receiver<kinesis_lease::LeaseEvent>,
    diagnostics: Diagnostics,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            biased;
            event = events.recv() => match event {
                Ok(event) => diagnostics.emit_lease(event),
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(missed = n, "lease events were dropped: the diagnostics could not keep up");
                }
                Err(broadcast::error::RecvError::Closed) => break,
            },
            _ = stop.wait_for(|s| *s) => {
                // Deliver what the shutdown itself produced, then stop.
                while let Ok(event) = events.try_recv() {
                    diagnostics.emit_lease(event);
                }
                break;
            }
        }
    }
}

/// Reads the shard list every `interval`, and at once when a shard ended; feeds the
/// coordinator (which creates leases for ready shards) and takes at once when it changed.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn sync_shards(
    client: Client,
    stream: StreamId,
    coordinator: LeaseCoordinator,
    diagnostics: Diagnostics,
    mut known: BTreeSet<kinesis_client::ShardId>,
    interval: std::time::Duration,
    wake: Arc<Notify>,
    mut stop: watch::Receiver<bool>,
) {
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let woken = tokio::select! {
            biased;
            _ = stop.wait_for(|s| *s) => break,
            () = wake.notified() => true,
            _ = ticks.tick() => false,
        };
        let started = tokio::time::Instant::now();
        let shards = list_shards(&client, &stream).await;
        metrics::shard_sync(diagnostics.telemetry(), started, shards.is_ok());
        let shards = match shards {
            Ok(shards) => shards,
            Err(e) => {
                tracing::warn!(stream = %stream, error = %e, "listing shards failed; trying again at the next sync");
                continue;
            }
        };
        let mut changed = false;
        for shard in &shards {
            if known.insert(shard.id().clone()) {
                changed = true;
                diagnostics.emit(DiagnosticEvent::NewShardDetected {
                    shard_id: shard.id().clone(),
                });
            }
        }
        coordinator.update_shards(shards.iter());
        if changed || woken {
            coordinator.take_now().await;
        }
    }
}
