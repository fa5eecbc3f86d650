//! Part 3, hand-over: the time from worker A's `shutdown()` call to worker B's first record on
//! each shard A released.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::StreamExt;
use kinesis_client::{PartitionKey, PutRecordsEntry, ShardId, StreamName};
use kinesis_consumer::Consumer;
use kinesis_lease::lineage::InitialPosition;

use crate::fixture::{Fixture, payload};
use crate::{HANDOVER_ROUNDS, Result, SHARDS, emit, median, note};

/// When each shard's first record reached a worker after the moment it was armed.
#[derive(Default)]
struct FirstRecords {
    armed: Mutex<Option<Instant>>,
    first: Mutex<BTreeMap<ShardId, Instant>>,
}

impl FirstRecords {
    fn arm(&self) -> Instant {
        let now = Instant::now();
        *self.armed.lock().unwrap_or_else(PoisonError::into_inner) = Some(now);
        now
    }

    fn seen(&self, shard: &ShardId) {
        if self
            .armed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some()
        {
            let now = Instant::now();
            self.first
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .entry(shard.clone())
                .or_insert(now);
        }
    }

    fn get(&self, shard: &ShardId) -> Option<Instant> {
        self.first
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(shard)
            .copied()
    }
}

/// A worker whose shard streams are read by tasks that stage every record.
struct Worker {
    consumer: Consumer<Bytes>,
    first: Arc<FirstRecords>,
    read: Arc<AtomicUsize>,
}

impl Worker {
    async fn start(fx: &Fixture, stream: &StreamName, app: &str, id: &str) -> Result<Worker> {
        // Default settings (and the default Handover::for_table of the application), reading
        // from TRIM_HORIZON.
        let consumer = Consumer::builder(&fx.config, stream, app)
            .worker_id(id)
            .initial_position(InitialPosition::TrimHorizon)
            .build()
            .await?;
        let first = Arc::new(FirstRecords::default());
        let read = Arc::new(AtomicUsize::new(0));
        let mut shards = consumer.shards()?;
        let (f, r) = (Arc::clone(&first), Arc::clone(&read));
        tokio::spawn(async move {
            while let Some(mut shard) = shards.next().await {
                let (f, r) = (Arc::clone(&f), Arc::clone(&r));
                tokio::spawn(async move {
                    let mut noted = false;
                    while let Some(Ok(record)) = shard.next().await {
                        if !noted {
                            f.seen(shard.shard_id());
                            noted = f.get(shard.shard_id()).is_some();
                        }
                        shard.checkpointer().stage(record.position());
                        r.fetch_add(1, Ordering::Relaxed);
                    }
                });
            }
        });
        Ok(Worker {
            consumer,
            first,
            read,
        })
    }

    fn held(&self) -> BTreeSet<ShardId> {
        self.consumer
            .lease_coordinator()
            .held_leases()
            .iter()
            .map(|l| l.shard_id().clone())
            .collect()
    }
}

/// Waits (polling every 10 ms) until `check` holds or `limit` passes; returns whether it held.
async fn wait_for(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while !check() {
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    true
}

pub(crate) async fn run() -> Result<()> {
    eprintln!("== handover");
    let fx = Fixture::start().await?;
    let (stream, targets) = fx.stream(SHARDS).await?;
    let app = fx.env.unique_name("bench-handover");
    note(
        "handover",
        &format!(
            "{SHARDS} shards; a writer puts {per_shard} records per shard every 20 ms the whole \
             time. Workers A and B of one application in this process, default settings (so the \
             default Handover::for_table, failover 10 s, take interval 20 s), TRIM_HORIZON; \
             readers stage every record. Once each holds {half} leases and both are reading, A's \
             shutdown() is called; for each shard A held, the time from that call to the first \
             record B's reader gets on it. {HANDOVER_ROUNDS} rounds, a new worker A each time \
             (it steals its share from B first).",
            per_shard = 10,
            half = SHARDS / 2
        ),
    );

    // The writer.
    let writing = Arc::new(AtomicBool::new(true));
    let writer = tokio::spawn({
        let (client, stream, targets, writing) = (
            fx.client.clone(),
            stream.clone(),
            targets.clone(),
            Arc::clone(&writing),
        );
        async move {
            let mut n = 0usize;
            let mut tick = tokio::time::interval(Duration::from_millis(20));
            while writing.load(Ordering::Relaxed) {
                tick.tick().await;
                let entries: Vec<PutRecordsEntry> = (0..10 * targets.len())
                    .map(|i| {
                        let (_, hash_key) = &targets[i % targets.len()];
                        n += 1;
                        PutRecordsEntry::new(
                            payload(n),
                            PartitionKey::new(format!("pk-{n}")).expect("a partition key"),
                        )
                        .with_explicit_hash_key(*hash_key)
                    })
                    .collect();
                if let Err(e) = client.put_records(&stream, entries).await {
                    eprintln!("   writer: {e}");
                }
            }
        }
    });

    let b = Worker::start(&fx, &stream, &app, "worker-b").await?;
    let mut all = Vec::new();
    let mut result = Ok(());
    for round in 1..=HANDOVER_ROUNDS {
        let a = Worker::start(&fx, &stream, &app, &format!("worker-a{round}")).await?;
        let half = SHARDS as usize / 2;
        let balancing = Instant::now();
        let balanced = wait_for(Duration::from_secs(90), || {
            a.held().len() == half && b.held().len() == half
        })
        .await;
        let held = a.held();
        eprintln!(
            "   round {round}: A holds {:?}, B holds {:?} after {:.1} s{}",
            held.iter().map(ToString::to_string).collect::<Vec<_>>(),
            b.held().iter().map(ToString::to_string).collect::<Vec<_>>(),
            balancing.elapsed().as_secs_f64(),
            if balanced { "" } else { " (not balanced)" }
        );
        if held.is_empty() {
            result = Err("worker A took no lease".into());
            a.consumer.shutdown().await;
            break;
        }
        // Both are reading: wait until each has read something new.
        let (ra, rb) = (
            a.read.load(Ordering::Relaxed),
            b.read.load(Ordering::Relaxed),
        );
        wait_for(Duration::from_secs(10), || {
            a.read.load(Ordering::Relaxed) > ra && b.read.load(Ordering::Relaxed) > rb
        })
        .await;

        let t0 = b.first.arm();
        let shutdown = tokio::spawn({
            let consumer = a.consumer.clone();
            async move {
                consumer.shutdown().await;
                Instant::now()
            }
        });
        let all_taken = wait_for(Duration::from_secs(30), || {
            held.iter().all(|s| b.first.get(s).is_some())
        })
        .await;
        let shutdown_done = shutdown.await?;
        for shard in &held {
            match b.first.get(shard) {
                Some(at) => {
                    let ms = (at - t0).as_secs_f64() * 1000.0;
                    eprintln!("   round {round}: {shard} first record on B after {ms:.1} ms");
                    emit(&format!("handover.round{round}.{shard}"), ms, "ms");
                    all.push(ms);
                }
                None => {
                    eprintln!("   round {round}: {shard} no record on B within 30 s");
                    emit(&format!("handover.round{round}.{shard}"), f64::NAN, "ms");
                    all.push(f64::INFINITY);
                }
            }
        }
        emit(
            &format!("handover.round{round}.shutdown_call"),
            (shutdown_done - t0).as_secs_f64() * 1000.0,
            "ms",
        );
        if !all_taken {
            result = Err(
                format!("round {round}: B did not read every released shard within 30 s").into(),
            );
        }
        // Re-arm for the next round: B's first records from now on.
        *b.first.armed.lock().unwrap_or_else(PoisonError::into_inner) = None;
        b.first
            .first
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
        // B reads again from its new shards before the next A starts.
        let rb = b.read.load(Ordering::Relaxed);
        wait_for(Duration::from_secs(10), || {
            b.read.load(Ordering::Relaxed) > rb
        })
        .await;
    }
    let max = all.iter().copied().fold(f64::NAN, f64::max);
    emit(
        "handover.max",
        if max.is_finite() { max } else { f64::NAN },
        "ms",
    );
    emit("handover.median", median(&all), "ms");
    writing.store(false, Ordering::Relaxed);
    let _ = writer.await;
    b.consumer.shutdown().await;
    fx.env.shutdown().await;
    result
}
