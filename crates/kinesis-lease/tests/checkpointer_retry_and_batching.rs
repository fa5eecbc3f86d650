//! The checkpointer's failures (a storage error is returned after one write, a lost lease is
//! sticky) and its batching policy, under virtual time.

mod checkpointer_support;

use std::time::Duration;

use checkpointer_support::{FakeSink, Outcome, checkpointer, esn, seq};
use kinesis_lease::LeaseErrorKind;
use kinesis_lease::checkpointer::{BatchingCheckpointer, CheckpointPolicy};
use tokio::time::Instant;

// === Failures ===

#[tokio::test(start_paused = true)]
async fn lease_lost_is_not_retried_and_is_sticky() {
    let sink = FakeSink::new();
    let cp = checkpointer(&sink);
    sink.script([Outcome::LeaseLost]);
    cp.stage(esn(1));
    let err = cp.checkpoint().await.unwrap_err();
    assert!(err.is_lease_lost());
    assert_eq!(sink.attempts().len(), 1, "never retried");
    assert!(cp.is_lease_lost());
    assert_eq!(cp.staged(), Some(esn(1)));

    // Sticky: no more calls reach the sink, whatever is asked.
    cp.stage(esn(2));
    assert!(cp.checkpoint().await.unwrap_err().is_lease_lost());
    assert!(
        cp.checkpoint_and_release()
            .await
            .unwrap_err()
            .is_lease_lost()
    );
    let batching = BatchingCheckpointer::new(cp.clone(), CheckpointPolicy::default());
    assert!(
        batching
            .record_processed(esn(3))
            .await
            .unwrap_err()
            .is_lease_lost()
    );
    assert!(batching.checkpoint().await.unwrap_err().is_lease_lost());
    assert_eq!(sink.attempts().len(), 1);
    assert!(sink.writes().is_empty());
}

#[tokio::test(start_paused = true)]
async fn lease_lost_reported_by_the_coordinator_is_sticky() {
    let sink = FakeSink::new();
    let cp = checkpointer(&sink);
    cp.stage(esn(1));
    cp.mark_lease_lost();
    assert_eq!(
        cp.checkpoint().await.unwrap_err().kind(),
        LeaseErrorKind::LeaseLost
    );
    assert!(sink.attempts().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_storage_error_is_returned_after_one_write_and_the_position_stays_staged() {
    // The repository's stack retries storage errors; the checkpointer adds no retries.
    let sink = FakeSink::new();
    let cp = checkpointer(&sink);
    sink.script([Outcome::StorageError]);
    cp.stage(esn(1));
    let start = Instant::now();
    let err = cp.checkpoint().await.unwrap_err();
    assert_eq!(err.kind(), LeaseErrorKind::Storage);
    assert_eq!(sink.attempts().len(), 1, "one write");
    assert_eq!(Instant::now(), start, "no waiting");
    assert!(!cp.is_lease_lost());
    assert_eq!(cp.staged(), Some(esn(1)), "still staged");
    // The next checkpoint writes it.
    cp.checkpoint().await.unwrap();
    assert_eq!(sink.checkpoints(), vec![seq(1)]);
    assert_eq!(cp.staged(), None);
}

#[tokio::test(start_paused = true)]
async fn a_lease_lost_after_a_storage_error_is_sticky() {
    let sink = FakeSink::new();
    let cp = checkpointer(&sink);
    sink.script([Outcome::StorageError, Outcome::LeaseLost]);
    cp.stage(esn(1));
    assert_eq!(
        cp.checkpoint().await.unwrap_err().kind(),
        LeaseErrorKind::Storage
    );
    assert!(cp.checkpoint().await.unwrap_err().is_lease_lost());
    assert!(cp.checkpoint().await.unwrap_err().is_lease_lost());
    assert_eq!(sink.attempts().len(), 2);
}

#[tokio::test(start_paused = true)]
async fn release_is_not_retried_and_may_be_repeated() {
    let sink = FakeSink::new();
    let cp = checkpointer(&sink);
    sink.script([Outcome::StorageError]);
    cp.stage(esn(4));
    assert!(cp.checkpoint_and_release().await.is_err());
    assert_eq!(sink.attempts().len(), 1);
    assert!(!cp.is_released());
    assert_eq!(cp.staged(), Some(esn(4)));
    cp.checkpoint_and_release().await.unwrap();
    assert_eq!(sink.checkpoints(), vec![seq(4)]);
    assert!(cp.is_released());
}

// === Batching ===

#[tokio::test(start_paused = true)]
async fn batching_checkpoints_on_count() {
    let sink = FakeSink::new();
    let batching = BatchingCheckpointer::new(
        checkpointer(&sink),
        CheckpointPolicy::default().with_max_records(3),
    );
    let mut triggered = Vec::new();
    for n in 1..=7 {
        triggered.push(batching.record_processed(esn(n)).await.unwrap());
    }
    assert_eq!(triggered, [false, false, true, false, false, true, false]);
    assert_eq!(sink.checkpoints(), vec![seq(3), seq(6)]);
    assert_eq!(batching.pending_records(), 1);
    assert_eq!(batching.checkpointer().staged(), Some(esn(7)));
}

#[tokio::test(start_paused = true)]
async fn batching_checkpoints_on_time_with_tick() {
    let sink = FakeSink::new();
    let batching = BatchingCheckpointer::new(
        checkpointer(&sink),
        CheckpointPolicy::default()
            .with_max_records(1_000)
            .with_max_interval(Duration::from_secs(5)),
    );
    let start = Instant::now();
    batching.record_processed(esn(1)).await.unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    batching.record_processed(esn(2)).await.unwrap();
    assert!(sink.writes().is_empty());

    batching.tick().await.unwrap();
    assert_eq!(Instant::now() - start, Duration::from_secs(5));
    assert_eq!(sink.checkpoints(), vec![seq(2)]);

    // The next tick is 5 s after that checkpoint; with nothing staged it writes nothing.
    batching.tick().await.unwrap();
    assert_eq!(Instant::now() - start, Duration::from_secs(10));
    assert_eq!(sink.checkpoints(), vec![seq(2)]);
}

#[tokio::test(start_paused = true)]
async fn batching_checkpoints_on_time_when_records_keep_coming() {
    let sink = FakeSink::new();
    let batching = BatchingCheckpointer::new(
        checkpointer(&sink),
        CheckpointPolicy::manual().with_max_interval(Duration::from_secs(5)),
    );
    let mut triggered = Vec::new();
    for n in 1..=12 {
        triggered.push(batching.record_processed(esn(n)).await.unwrap());
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    // Records at t = 0..=11 s: the one at t = 5 s and the one at t = 10 s trigger.
    let fired: Vec<u64> = (1..=12).filter(|n| triggered[*n as usize - 1]).collect();
    assert_eq!(fired, vec![6, 11]);
    assert_eq!(sink.checkpoints(), vec![seq(6), seq(11)]);
}

#[tokio::test(start_paused = true)]
async fn batching_tick_in_select_with_a_record_stream() {
    let sink = FakeSink::new();
    let batching = BatchingCheckpointer::new(
        checkpointer(&sink),
        CheckpointPolicy::default()
            .with_max_records(100)
            .with_max_interval(Duration::from_secs(5)),
    );
    let (tx, mut rx) = tokio::sync::mpsc::channel(16);
    tokio::spawn(async move {
        for n in 1..=3u64 {
            tokio::time::sleep(Duration::from_secs(1)).await;
            tx.send(n).await.unwrap();
        }
        tokio::time::sleep(Duration::from_secs(20)).await; // idle, then end
    });
    let start = Instant::now();
    loop {
        tokio::select! {
            record = rx.recv() => match record {
                Some(n) => { batching.record_processed(esn(n)).await.unwrap(); }
                None => break,
            },
            result = batching.tick() => result.unwrap(),
        }
    }
    assert_eq!(Instant::now() - start, Duration::from_secs(23));
    assert_eq!(
        sink.checkpoints(),
        vec![seq(3)],
        "the idle shard checkpointed at t = 5 s"
    );
    assert_eq!(sink.attempts()[0] - start, Duration::from_secs(5));
}

#[tokio::test(start_paused = true)]
async fn a_checkpoint_restarts_the_time_limit() {
    let sink = FakeSink::new();
    let batching = BatchingCheckpointer::new(
        checkpointer(&sink),
        CheckpointPolicy::manual().with_max_interval(Duration::from_secs(5)),
    );
    let start = Instant::now();
    let ticker = tokio::spawn({
        let batching = batching.clone();
        async move { batching.tick().await }
    });
    tokio::time::sleep(Duration::from_secs(3)).await;
    batching.record_processed(esn(1)).await.unwrap();
    batching.checkpoint().await.unwrap(); // at t = 3 s: the time limit moves to t = 8 s
    batching.record_processed(esn(2)).await.unwrap();
    ticker.await.unwrap().unwrap();
    assert_eq!(Instant::now() - start, Duration::from_secs(8));
    assert_eq!(sink.checkpoints(), vec![seq(1), seq(2)]);
}
