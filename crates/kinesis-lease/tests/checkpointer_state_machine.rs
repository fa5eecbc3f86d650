//! The checkpointer's state machine: zio-kinesis's `DefaultCheckpointerTest` cases, and staging,
//! concurrency and fencing.

mod checkpointer_support;

use std::time::Duration;

use checkpointer_support::{FakeSink, Outcome, checkpointer, esn, seq};
use kinesis_kcl_compat::sequence::Checkpoint;
use kinesis_lease::checkpointer::Checkpointer;

// === DefaultCheckpointerTest ===

#[tokio::test(start_paused = true)]
async fn checkpoints_the_last_staged_record() {
    let sink = FakeSink::new();
    let cp = checkpointer(&sink);
    cp.stage(esn(0));
    cp.stage(esn(1));
    cp.checkpoint().await.unwrap();
    assert_eq!(sink.checkpoints(), vec![seq(1)]);
    assert_eq!(cp.last_checkpoint(), Some(seq(1)));
}

#[tokio::test(start_paused = true)]
async fn does_not_checkpoint_the_same_staged_checkpoint_twice() {
    let sink = FakeSink::new();
    let cp = checkpointer(&sink);
    cp.stage(esn(1));
    cp.checkpoint().await.unwrap();
    cp.checkpoint().await.unwrap();
    assert_eq!(sink.checkpoints(), vec![seq(1)]);
    assert_eq!(sink.attempts().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn does_not_reset_the_last_staged_checkpoint_when_checkpointing_fails() {
    let sink = FakeSink::new();
    let cp = Checkpointer::builder("shardId-000000000001".parse().unwrap(), sink.clone()).build();
    sink.script([Outcome::StorageError]);
    cp.stage(esn(1));
    let err = cp.checkpoint().await.unwrap_err();
    assert!(!err.is_lease_lost());
    assert_eq!(cp.staged(), Some(esn(1)));
    assert!(sink.checkpoints().is_empty());

    cp.checkpoint().await.unwrap();
    assert_eq!(sink.checkpoints(), vec![seq(1)]);
    assert_eq!(cp.staged(), None);
}

#[tokio::test(start_paused = true)]
async fn preserves_the_last_staged_checkpoint_while_checkpointing() {
    let sink = FakeSink::new();
    sink.set_delay(Duration::from_secs(10));
    let cp = checkpointer(&sink);
    cp.stage(esn(1));
    let writer = tokio::spawn({
        let cp = cp.clone();
        async move { cp.checkpoint().await }
    });
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(sink.attempts().len(), 1, "the write is in flight");
    cp.stage(esn(2));
    writer.await.unwrap().unwrap();
    assert_eq!(sink.checkpoints(), vec![seq(1)]);
    assert_eq!(
        cp.staged(),
        Some(esn(2)),
        "the stage during the write is kept"
    );

    cp.checkpoint().await.unwrap();
    assert_eq!(sink.checkpoints(), vec![seq(1), seq(2)]);
    assert_eq!(cp.staged(), None);
}

#[tokio::test(start_paused = true)]
async fn checkpoints_shard_end_when_the_last_sequence_number_is_checkpointed_after_seeing_the_shards_end()
 {
    let sink = FakeSink::new();
    let cp = checkpointer(&sink);
    cp.mark_shard_end(Some(esn(2)), ["shardId-000000000004".parse().unwrap()]);
    cp.stage(esn(2));
    cp.checkpoint().await.unwrap();
    let writes = sink.writes();
    assert_eq!(writes.len(), 1);
    assert_eq!(writes[0].checkpoint, Checkpoint::SHARD_END);
    assert!(!writes[0].release);
    assert_eq!(
        writes[0].child_shard_ids,
        Some(
            ["shardId-000000000004".parse().unwrap()]
                .into_iter()
                .collect()
        )
    );
    assert_eq!(cp.last_checkpoint(), Some(Checkpoint::SHARD_END));
}

#[tokio::test(start_paused = true)]
async fn checkpoints_shard_end_after_the_last_sequence_number_is_checkpointed_when_seeing_the_shards_end()
 {
    let sink = FakeSink::new();
    let cp = checkpointer(&sink);
    cp.stage(esn(2));
    cp.checkpoint().await.unwrap();
    cp.mark_shard_end(Some(esn(2)), []);
    cp.checkpoint_and_release().await.unwrap();
    let writes = sink.writes();
    assert_eq!(writes.len(), 2);
    assert_eq!(writes[0].checkpoint, seq(2));
    assert!(!writes[0].release);
    assert_eq!(writes[1].checkpoint, Checkpoint::SHARD_END);
    assert!(writes[1].release);
    assert_eq!(writes[1].child_shard_ids, None);
    assert!(cp.is_released());
}

#[tokio::test(start_paused = true)]
async fn does_not_checkpoint_shard_end_when_the_last_record_has_not_yet_been_staged_after_seeing_the_shards_end()
 {
    let sink = FakeSink::new();
    let cp = checkpointer(&sink);
    cp.mark_shard_end(Some(esn(2)), []);
    cp.stage(esn(1));
    cp.checkpoint().await.unwrap();
    assert_eq!(sink.checkpoints(), vec![seq(1)]);

    // Releasing now must not claim SHARD_END either: record 2 was not processed.
    cp.checkpoint_and_release().await.unwrap();
    assert_eq!(sink.checkpoints(), vec![seq(1)]);
    assert_eq!(sink.releases(), 1);
}

#[tokio::test(start_paused = true)]
async fn checkpoints_shard_end_on_releasing_when_the_last_record_is_staged_after_seeing_the_shards_end()
 {
    let sink = FakeSink::new();
    let cp = checkpointer(&sink);
    cp.mark_shard_end(Some(esn(2)), []);
    cp.stage(esn(2));
    cp.checkpoint_and_release().await.unwrap();
    let writes = sink.writes();
    assert_eq!(
        writes.len(),
        1,
        "one write: checkpoint and release together"
    );
    assert_eq!(writes[0].checkpoint, Checkpoint::SHARD_END);
    assert!(writes[0].release);
}

#[tokio::test(start_paused = true)]
async fn checkpoints_shard_end_on_releasing_after_an_empty_poll() {
    let sink = FakeSink::new();
    let cp = checkpointer(&sink);
    cp.mark_shard_end(None, []);
    cp.checkpoint_and_release().await.unwrap();
    let writes = sink.writes();
    assert_eq!(writes.len(), 1);
    assert_eq!(writes[0].checkpoint, Checkpoint::SHARD_END);
    assert!(writes[0].release);
}

// === Final checkpoint ===

#[tokio::test(start_paused = true)]
async fn release_without_anything_staged_only_releases() {
    let sink = FakeSink::new();
    let cp = checkpointer(&sink);
    cp.checkpoint_and_release().await.unwrap();
    assert!(sink.writes().is_empty());
    assert_eq!(sink.releases(), 1);
    assert!(cp.is_released());

    // Idempotent; later checkpoints fail as the lease is no longer held.
    cp.checkpoint_and_release().await.unwrap();
    assert_eq!(sink.releases(), 1);
    cp.stage(esn(3));
    assert!(cp.checkpoint().await.unwrap_err().is_lease_lost());
}

#[tokio::test(start_paused = true)]
async fn release_writes_the_staged_position_in_the_same_write() {
    let sink = FakeSink::new();
    let cp = checkpointer(&sink);
    cp.stage(esn(5));
    cp.checkpoint_and_release().await.unwrap();
    let writes = sink.writes();
    assert_eq!(writes.len(), 1);
    assert_eq!(writes[0].checkpoint, seq(5));
    assert!(writes[0].release);
    assert_eq!(sink.attempts().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn nothing_is_written_after_shard_end() {
    let sink = FakeSink::new();
    let cp = checkpointer(&sink);
    cp.mark_shard_end(Some(esn(2)), []);
    cp.stage(esn(2));
    cp.checkpoint().await.unwrap();
    cp.stage(esn(1)); // would move the checkpoint back from SHARD_END
    cp.checkpoint().await.unwrap();
    cp.checkpoint_and_release().await.unwrap();
    assert_eq!(sink.checkpoints(), vec![Checkpoint::SHARD_END]);
    assert_eq!(sink.releases(), 1);
}

// === Staging ===

#[tokio::test(start_paused = true)]
async fn stage_on_success_stages_only_on_success() {
    let sink = FakeSink::new();
    let cp = checkpointer(&sink);

    let r: Result<(), &str> = cp.stage_on_success(async { Err("failed") }, esn(1)).await;
    assert!(r.is_err());
    assert_eq!(cp.staged(), None);

    let r = cp.stage_on_success(async { Ok::<_, ()>(7) }, esn(2)).await;
    assert_eq!(r, Ok(7));
    assert_eq!(cp.staged(), Some(esn(2)));

    // Cancelled before the processing completed: nothing staged.
    let slow = cp.stage_on_success(
        async {
            tokio::time::sleep(Duration::from_secs(10)).await;
            Ok::<_, ()>(())
        },
        esn(3),
    );
    assert!(
        tokio::time::timeout(Duration::from_secs(1), slow)
            .await
            .is_err()
    );
    assert_eq!(cp.staged(), Some(esn(2)));

    cp.checkpoint().await.unwrap();
    assert_eq!(sink.checkpoints(), vec![seq(2)]);
}

#[tokio::test(start_paused = true)]
async fn stage_is_last_wins() {
    let sink = FakeSink::new();
    let cp = checkpointer(&sink);
    cp.stage(esn(5));
    cp.stage(esn(3));
    cp.checkpoint().await.unwrap();
    assert_eq!(sink.checkpoints(), vec![seq(3)]);
}

#[tokio::test(start_paused = true)]
async fn concurrent_stage_during_a_slow_write_is_preserved() {
    let sink = FakeSink::new();
    sink.set_delay(Duration::from_secs(30));
    let cp = checkpointer(&sink);
    cp.stage(esn(10));
    let writer = tokio::spawn({
        let cp = cp.clone();
        async move { cp.checkpoint().await }
    });
    let stager = tokio::spawn({
        let cp = cp.clone();
        async move {
            for n in 11..=20 {
                tokio::time::sleep(Duration::from_secs(1)).await;
                cp.stage(esn(n));
            }
        }
    });
    // A second checkpoint waits for the first write to finish, then writes the newest stage.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let second = tokio::spawn({
        let cp = cp.clone();
        async move {
            tokio::time::sleep(Duration::from_secs(15)).await;
            cp.checkpoint().await
        }
    });
    writer.await.unwrap().unwrap();
    stager.await.unwrap();
    second.await.unwrap().unwrap();
    assert_eq!(sink.checkpoints(), vec![seq(10), seq(20)]);
    assert_eq!(cp.staged(), None);
    assert_eq!(cp.last_checkpoint(), Some(seq(20)));
}

#[tokio::test(start_paused = true)]
async fn a_write_completes_when_the_caller_is_cancelled() {
    let sink = FakeSink::new();
    sink.set_delay(Duration::from_secs(10));
    let cp = checkpointer(&sink);
    cp.stage(esn(1));
    assert!(
        tokio::time::timeout(Duration::from_secs(1), cp.checkpoint())
            .await
            .is_err()
    );
    // The write in flight holds the write lock; the next checkpoint waits for it and finds
    // nothing left to write.
    cp.checkpoint().await.unwrap();
    assert_eq!(sink.checkpoints(), vec![seq(1)]);
    assert_eq!(sink.attempts().len(), 1);
    assert_eq!(cp.staged(), None);
    assert_eq!(cp.fencing_token(), Some(1));
}

// === Fencing ===

#[tokio::test(start_paused = true)]
async fn fencing_token_increases_with_each_write() {
    let sink = FakeSink::new();
    let cp = checkpointer(&sink);
    assert_eq!(cp.fencing_token(), None);
    let mut tokens = Vec::new();
    for n in 1..=3 {
        cp.stage(esn(n));
        cp.checkpoint().await.unwrap();
        tokens.push(cp.fencing_token().unwrap());
    }
    assert!(tokens.windows(2).all(|w| w[0] < w[1]), "{tokens:?}");

    // A failed write leaves it as it was.
    sink.script([Outcome::LeaseLost]);
    cp.stage(esn(4));
    assert!(cp.checkpoint().await.is_err());
    assert_eq!(cp.fencing_token(), tokens.last().copied());
}

#[test]
fn checkpointer_is_send_sync_clone() {
    fn assert_traits<T: Send + Sync + Clone + 'static>() {}
    assert_traits::<Checkpointer>();
    assert_traits::<kinesis_lease::checkpointer::BatchingCheckpointer>();
}
