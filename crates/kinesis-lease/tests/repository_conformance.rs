//! The `LeaseRepository` conformance suite, written once and run against every implementation:
//! the in-memory repository and the DynamoDB repository (embedded dynoxide by default; an
//! external server such as moto when `AWS_ENDPOINT_URL_DYNAMODB` / `AWS_ENDPOINT_URL` is set).
//!
//! Each behaviour is an `async fn(&Fixture)` below; `conformance!` turns each into one test per
//! implementation (`memory::<name>` and `dynamodb::<name>`).

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use kinesis_client::{ClientConfig, HashKeyRange, ShardId};
use kinesis_kcl_compat::lease::AttributeValue;
use kinesis_kcl_compat::lease::{Item, Lease, LeaseKey, PendingCheckpointState, attr};
use kinesis_kcl_compat::sequence::{Checkpoint, ExtendedSequenceNumber};
use kinesis_lease::repository::{DynamoDbLeaseRepository, InMemoryLeaseRepository, TableOptions};
use kinesis_lease::{CheckpointUpdate, LeaseErrorKind, LeaseRepository};
use kinesis_testkit::{Capability, TestEnv};

/// A repository under test, and a way to write raw items into its table.
struct Fixture {
    repo: Arc<dyn LeaseRepository>,
    raw: Raw,
    /// Whether concurrent conditional writes are atomic (false on moto, which races).
    atomic: bool,
    // Kept alive for the test's duration (it owns the embedded servers).
    _env: Option<TestEnv>,
}

enum Raw {
    Memory(InMemoryLeaseRepository),
    DynamoDb {
        sdk: kinesis_client::sdk::dynamodb::Client,
        table: String,
    },
}

impl Fixture {
    async fn memory() -> Self {
        let repo = InMemoryLeaseRepository::new();
        Self {
            repo: Arc::new(repo.clone()),
            raw: Raw::Memory(repo),
            atomic: true,
            _env: None,
        }
    }

    async fn dynamodb() -> Self {
        let env = TestEnv::start().await;
        let config = ClientConfig::builder()
            .sdk_config(env.sdk_config())
            .build()
            .await
            .unwrap();
        let table = env.unique_name("leases");
        let repo = DynamoDbLeaseRepository::with_options(
            &config,
            table.clone(),
            TableOptions::default().with_poll_interval(Duration::from_millis(20)),
        );
        Self {
            repo: Arc::new(repo),
            raw: Raw::DynamoDb {
                sdk: env.dynamodb_sdk().clone(),
                table,
            },
            atomic: env.supports(Capability::AtomicConditionalWrites),
            _env: Some(env),
        }
    }

    /// The repository, with its table created.
    async fn ready(&self) -> &dyn LeaseRepository {
        self.repo.ensure_table().await.unwrap();
        &*self.repo
    }

    /// Stores `item` unconditionally, bypassing the repository.
    async fn put_raw(&self, item: Item) {
        match &self.raw {
            Raw::Memory(repo) => repo.put_raw_item(item).unwrap(),
            Raw::DynamoDb { sdk, table } => {
                sdk.put_item()
                    .table_name(table)
                    .set_item(Some(kinesis_kcl_compat::lease::dynamodb::item_to_sdk(item)))
                    .send()
                    .await
                    .unwrap();
            }
        }
    }
}

macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let fixture = super::Fixture::memory().await;
                    super::$name(&fixture).await;
                }
            )*
        }
        mod dynamodb {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let fixture = super::Fixture::dynamodb().await;
                    super::$name(&fixture).await;
                }
            )*
        }
    };
}

conformance!(
    ensure_table_is_idempotent,
    calls_before_ensure_table_find_no_table,
    create_then_get,
    create_twice_is_already_exists,
    get_of_a_missing_lease_is_none,
    take_from_nobody_sets_owner_and_increments_counter,
    take_with_stale_counter_is_lease_lost,
    take_of_a_missing_lease_is_lease_lost,
    steal_bumps_owner_switches,
    renew_by_owner_increments_counter,
    renew_by_non_owner_is_lease_lost,
    renew_with_stale_counter_is_lease_lost,
    renew_of_unowned_lease_expects_no_owner,
    checkpoint_sets_checkpoint_and_clears_pending,
    checkpoint_with_release_clears_owner_in_the_same_write,
    checkpoint_by_non_owner_is_lease_lost,
    release_clears_owner_and_increments_counter,
    release_with_stale_counter_is_lease_lost,
    delete_with_current_counter_removes_the_lease,
    delete_with_stale_counter_is_lease_lost,
    list_skips_non_leases_and_reports_corrupt_rows,
    get_of_a_corrupt_row_is_corrupt_row,
    unknown_attributes_survive_every_write,
    multi_stream_leases_round_trip,
    a_write_the_storage_refuses_is_a_storage_error,
    concurrent_takes_have_exactly_one_winner,
    kcl3_index_query_finds_an_owners_leases,
    kcl3_assign_moves_the_lease_and_clears_a_handoff,
    kcl3_handoff_keeps_the_counter_until_the_old_owner_completes_it,
    kcl3_a_renewal_during_a_handoff_needs_the_handoff_as_read,
    kcl3_fleet_rows_are_written_under_their_conditions,
);

// ---------------------------------------------------------------------------------------------
// Helpers

fn key(n: u32) -> LeaseKey {
    format!("shardId-{n:012}").parse().unwrap()
}

fn shard(n: u32) -> ShardId {
    ShardId::new(format!("shardId-{n:012}")).unwrap()
}

fn new_lease(n: u32) -> Lease {
    Lease::new(key(n), Checkpoint::TRIM_HORIZON)
}

fn sequence(seq: &str, sub: u64) -> Checkpoint {
    ExtendedSequenceNumber::new(seq.parse().unwrap(), sub).into()
}

fn checkpoint_update(cp: Checkpoint) -> CheckpointUpdate {
    CheckpointUpdate {
        checkpoint: cp,
        child_shard_ids: None,
        release: false,
    }
}

/// A created lease taken by `owner`.
async fn held(repo: &dyn LeaseRepository, n: u32, owner: &str) -> Lease {
    let lease = repo.create_lease(&new_lease(n)).await.unwrap();
    repo.take_lease(&lease, owner).await.unwrap()
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_owned())
}

fn num(v: u64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

#[track_caller]
fn assert_kind<T: std::fmt::Debug>(
    result: Result<T, kinesis_lease::LeaseError>,
    kind: LeaseErrorKind,
) {
    match result {
        Ok(v) => panic!("expected a {kind:?} error, got Ok({v:?})"),
        Err(e) => assert_eq!(e.kind(), kind, "unexpected error: {e}"),
    }
}

// ---------------------------------------------------------------------------------------------
// The suite

async fn ensure_table_is_idempotent(f: &Fixture) {
    assert!(
        f.repo.ensure_table().await.unwrap(),
        "the first call creates the table"
    );
    assert!(!f.repo.ensure_table().await.unwrap(), "the second finds it");
    let scan = f.repo.list_leases().await.unwrap();
    assert!(scan.leases.is_empty());
    assert_eq!(scan.skipped_non_leases, 0);
}

async fn calls_before_ensure_table_find_no_table(f: &Fixture) {
    assert_kind(f.repo.get_lease(&key(0)).await, LeaseErrorKind::NotFound);
    assert_kind(f.repo.list_leases().await, LeaseErrorKind::NotFound);
}

async fn create_then_get(f: &Fixture) {
    let repo = f.ready().await;
    let mut lease = new_lease(1);
    lease.parent_shard_ids = BTreeSet::from([shard(0)]);
    lease.hash_key_range = Some(
        HashKeyRange::new(
            "0".parse().unwrap(),
            "170141183460469231731687303715884105727".parse().unwrap(),
        )
        .unwrap(),
    );
    let created = repo.create_lease(&lease).await.unwrap();
    assert_eq!(created, lease);
    assert_eq!(
        repo.get_lease(&lease.lease_key).await.unwrap(),
        Some(lease.clone())
    );
    let scan = repo.list_leases().await.unwrap();
    assert_eq!(scan.leases, vec![lease]);
}

async fn create_twice_is_already_exists(f: &Fixture) {
    let repo = f.ready().await;
    let lease = repo.create_lease(&new_lease(1)).await.unwrap();
    let taken = repo.take_lease(&lease, "a").await.unwrap();
    let err = repo.create_lease(&new_lease(1)).await.unwrap_err();
    assert_eq!(err.kind(), LeaseErrorKind::AlreadyExists);
    assert_eq!(err.lease_key(), Some(&key(1)));
    // The existing lease is untouched.
    assert_eq!(repo.get_lease(&key(1)).await.unwrap(), Some(taken));
}

async fn get_of_a_missing_lease_is_none(f: &Fixture) {
    let repo = f.ready().await;
    assert_eq!(repo.get_lease(&key(7)).await.unwrap(), None);
}

async fn take_from_nobody_sets_owner_and_increments_counter(f: &Fixture) {
    let repo = f.ready().await;
    let mut lease = new_lease(1);
    // A KCL 3.x handoff left a checkpoint owner: taking clears it.
    lease.checkpoint_owner = Some("old-worker".to_owned());
    let lease = repo.create_lease(&lease).await.unwrap();
    let taken = repo.take_lease(&lease, "worker-a").await.unwrap();
    assert_eq!(taken.lease_owner.as_deref(), Some("worker-a"));
    assert_eq!(taken.lease_counter, 1);
    assert_eq!(
        taken.owner_switches_since_checkpoint, 0,
        "no previous owner: not a switch"
    );
    assert_eq!(taken.checkpoint_owner, None);
    assert_eq!(taken.checkpoint, Checkpoint::TRIM_HORIZON);
    assert_eq!(repo.get_lease(&key(1)).await.unwrap(), Some(taken));
}

async fn take_with_stale_counter_is_lease_lost(f: &Fixture) {
    let repo = f.ready().await;
    let lease = repo.create_lease(&new_lease(1)).await.unwrap();
    let taken = repo.take_lease(&lease, "a").await.unwrap();
    let err = repo.take_lease(&lease, "b").await.unwrap_err();
    assert!(err.is_lease_lost(), "{err}");
    assert_eq!(err.lease_key(), Some(&key(1)));
    assert_eq!(repo.get_lease(&key(1)).await.unwrap(), Some(taken));
}

async fn take_of_a_missing_lease_is_lease_lost(f: &Fixture) {
    let repo = f.ready().await;
    assert_kind(
        repo.take_lease(&new_lease(3), "a").await,
        LeaseErrorKind::LeaseLost,
    );
    assert_eq!(
        repo.get_lease(&key(3)).await.unwrap(),
        None,
        "take never creates a lease"
    );
}

async fn steal_bumps_owner_switches(f: &Fixture) {
    let repo = f.ready().await;
    let a = held(repo, 1, "a").await;
    let stolen = repo.take_lease(&a, "b").await.unwrap();
    assert_eq!(stolen.lease_owner.as_deref(), Some("b"));
    assert_eq!(stolen.lease_counter, 2);
    assert_eq!(stolen.owner_switches_since_checkpoint, 1);
    let back = repo.take_lease(&stolen, "a").await.unwrap();
    assert_eq!(back.owner_switches_since_checkpoint, 2);
    // Taking a lease one already holds is not a switch.
    let again = repo.take_lease(&back, "a").await.unwrap();
    assert_eq!(again.owner_switches_since_checkpoint, 2);
    assert_eq!(again.lease_counter, 4);
}

async fn renew_by_owner_increments_counter(f: &Fixture) {
    let repo = f.ready().await;
    let lease = held(repo, 1, "a").await;
    let renewed = repo.renew_lease(&lease).await.unwrap();
    assert_eq!(renewed.lease_counter, lease.lease_counter + 1);
    assert_eq!(renewed.lease_owner.as_deref(), Some("a"));
    let renewed = repo.renew_lease(&renewed).await.unwrap();
    assert_eq!(renewed.lease_counter, lease.lease_counter + 2);
    assert_eq!(repo.get_lease(&key(1)).await.unwrap(), Some(renewed));
}

async fn renew_by_non_owner_is_lease_lost(f: &Fixture) {
    let repo = f.ready().await;
    let lease = held(repo, 1, "a").await;
    let mut pretender = lease.clone();
    pretender.lease_owner = Some("b".to_owned());
    assert_kind(
        repo.renew_lease(&pretender).await,
        LeaseErrorKind::LeaseLost,
    );
    assert_eq!(repo.get_lease(&key(1)).await.unwrap(), Some(lease));
}

async fn renew_with_stale_counter_is_lease_lost(f: &Fixture) {
    let repo = f.ready().await;
    let lease = held(repo, 1, "a").await;
    let renewed = repo.renew_lease(&lease).await.unwrap();
    assert_kind(repo.renew_lease(&lease).await, LeaseErrorKind::LeaseLost);
    // Stolen meanwhile: the old owner's renew fails.
    let stolen = repo.take_lease(&renewed, "b").await.unwrap();
    assert_kind(repo.renew_lease(&renewed).await, LeaseErrorKind::LeaseLost);
    assert_eq!(repo.get_lease(&key(1)).await.unwrap(), Some(stolen));
}

async fn renew_of_unowned_lease_expects_no_owner(f: &Fixture) {
    let repo = f.ready().await;
    let lease = repo.create_lease(&new_lease(1)).await.unwrap();
    let renewed = repo.renew_lease(&lease).await.unwrap();
    assert_eq!(
        (renewed.lease_owner.as_deref(), renewed.lease_counter),
        (None, 1)
    );
    // Someone took it: the unowned view no longer matches even with the current counter.
    let taken = repo.take_lease(&renewed, "a").await.unwrap();
    let mut unowned = taken.clone();
    unowned.lease_owner = None;
    assert_kind(repo.renew_lease(&unowned).await, LeaseErrorKind::LeaseLost);
}

async fn checkpoint_sets_checkpoint_and_clears_pending(f: &Fixture) {
    let repo = f.ready().await;
    let mut lease = new_lease(1);
    lease.pending_checkpoint = Some(sequence(
        "49590338271490256608559692538361571095921575989136588898",
        0,
    ));
    lease.pending_checkpoint_state = Some(PendingCheckpointState::Bytes(b"state".to_vec()));
    let lease = repo.create_lease(&lease).await.unwrap();
    assert!(lease.pending_checkpoint.is_some());
    let a = repo.take_lease(&lease, "a").await.unwrap();
    let b = repo.take_lease(&a, "b").await.unwrap();
    assert_eq!(b.owner_switches_since_checkpoint, 1);

    let cp = sequence(
        "49590338271490256608559692538361571095921575989136588898",
        3,
    );
    let update = CheckpointUpdate {
        checkpoint: cp.clone(),
        child_shard_ids: Some(BTreeSet::from([shard(4), shard(5)])),
        release: false,
    };
    let written = repo.update_checkpoint(&b, update).await.unwrap();
    assert_eq!(written.checkpoint, cp);
    assert_eq!(written.checkpoint.sub_sequence_number(), 3);
    assert_eq!(written.owner_switches_since_checkpoint, 0);
    assert_eq!(written.pending_checkpoint, None);
    assert_eq!(written.pending_checkpoint_state, None);
    assert_eq!(
        written.child_shard_ids,
        BTreeSet::from([shard(4), shard(5)])
    );
    assert_eq!(written.lease_owner.as_deref(), Some("b"));
    assert_eq!(written.lease_counter, b.lease_counter + 1);
    assert_eq!(
        repo.get_lease(&key(1)).await.unwrap(),
        Some(written.clone())
    );

    // Without children, the stored children stay.
    let end = repo
        .update_checkpoint(&written, checkpoint_update(Checkpoint::SHARD_END))
        .await
        .unwrap();
    assert!(end.checkpoint.is_shard_end());
    assert_eq!(end.child_shard_ids, BTreeSet::from([shard(4), shard(5)]));
}

async fn checkpoint_with_release_clears_owner_in_the_same_write(f: &Fixture) {
    let repo = f.ready().await;
    let lease = held(repo, 1, "a").await;
    let update = CheckpointUpdate {
        checkpoint: Checkpoint::SHARD_END,
        child_shard_ids: None,
        release: true,
    };
    let written = repo.update_checkpoint(&lease, update).await.unwrap();
    assert_eq!(written.lease_owner, None);
    assert_eq!(written.lease_counter, lease.lease_counter + 1);
    assert_eq!(written.checkpoint, Checkpoint::SHARD_END);
    assert_eq!(
        repo.get_lease(&key(1)).await.unwrap(),
        Some(written.clone())
    );
    // Anyone can take it now.
    let taken = repo.take_lease(&written, "b").await.unwrap();
    assert_eq!(
        taken.owner_switches_since_checkpoint, 0,
        "taken from nobody"
    );
}

async fn checkpoint_by_non_owner_is_lease_lost(f: &Fixture) {
    let repo = f.ready().await;
    let lease = held(repo, 1, "a").await;
    let mut other = lease.clone();
    other.lease_owner = Some("b".to_owned());
    let update = checkpoint_update(sequence("100", 0));
    assert_kind(
        repo.update_checkpoint(&other, update.clone()).await,
        LeaseErrorKind::LeaseLost,
    );
    let renewed = repo.renew_lease(&lease).await.unwrap();
    assert_kind(
        repo.update_checkpoint(&lease, update).await,
        LeaseErrorKind::LeaseLost,
    );
    let stored = repo.get_lease(&key(1)).await.unwrap().unwrap();
    assert_eq!(stored, renewed);
    assert_eq!(stored.checkpoint, Checkpoint::TRIM_HORIZON);
}

async fn release_clears_owner_and_increments_counter(f: &Fixture) {
    let repo = f.ready().await;
    let lease = held(repo, 1, "a").await;
    let released = repo.release_lease(&lease).await.unwrap();
    assert_eq!(released.lease_owner, None);
    assert_eq!(released.lease_counter, lease.lease_counter + 1);
    assert_eq!(released.checkpoint, lease.checkpoint);
    assert_eq!(repo.get_lease(&key(1)).await.unwrap(), Some(released));
}

async fn release_with_stale_counter_is_lease_lost(f: &Fixture) {
    let repo = f.ready().await;
    let lease = held(repo, 1, "a").await;
    let stolen = repo.take_lease(&lease, "b").await.unwrap();
    assert_kind(repo.release_lease(&lease).await, LeaseErrorKind::LeaseLost);
    assert_eq!(repo.get_lease(&key(1)).await.unwrap(), Some(stolen));
}

async fn delete_with_current_counter_removes_the_lease(f: &Fixture) {
    let repo = f.ready().await;
    let lease = held(repo, 1, "a").await;
    repo.delete_lease(&lease).await.unwrap();
    assert_eq!(repo.get_lease(&key(1)).await.unwrap(), None);
    // Gone: deleting again finds nothing to match.
    assert_kind(repo.delete_lease(&lease).await, LeaseErrorKind::LeaseLost);
}

async fn delete_with_stale_counter_is_lease_lost(f: &Fixture) {
    let repo = f.ready().await;
    let lease = repo.create_lease(&new_lease(1)).await.unwrap();
    let taken = repo.take_lease(&lease, "a").await.unwrap();
    assert_kind(repo.delete_lease(&lease).await, LeaseErrorKind::LeaseLost);
    assert_eq!(repo.get_lease(&key(1)).await.unwrap(), Some(taken));
}

async fn list_skips_non_leases_and_reports_corrupt_rows(f: &Fixture) {
    let repo = f.ready().await;
    let a = held(repo, 1, "a").await;
    let b = repo.create_lease(&new_lease(2)).await.unwrap();
    // A KCL 3.5 worker-metrics row and a leader row.
    f.put_raw(HashMap::from([
        (attr::LEASE_KEY.to_owned(), s("worker-1")),
        (attr::ENTITY_TYPE.to_owned(), s("WORKER_METRIC_STATS")),
        ("lut".to_owned(), num(1_700_000_000)),
    ]))
    .await;
    f.put_raw(HashMap::from([
        (attr::LEASE_KEY.to_owned(), s("Leader")),
        (attr::ENTITY_TYPE.to_owned(), s("LEADER")),
    ]))
    .await;
    // A lease row without a checkpoint: corrupt.
    f.put_raw(HashMap::from([
        (attr::LEASE_KEY.to_owned(), s("shardId-000000000009")),
        (attr::LEASE_COUNTER.to_owned(), num(3)),
    ]))
    .await;

    let mut scan = repo.list_leases().await.unwrap();
    scan.leases.sort_by_key(|l| l.lease_key.to_string());
    assert_eq!(scan.leases, vec![a, b]);
    assert_eq!(scan.skipped_non_leases, 2);
    assert_eq!(scan.corrupt.len(), 1);
    assert_eq!(scan.corrupt[0].lease_key(), Some("shardId-000000000009"));
    assert_eq!(scan.corrupt[0].attribute(), attr::CHECKPOINT);
}

async fn get_of_a_corrupt_row_is_corrupt_row(f: &Fixture) {
    let repo = f.ready().await;
    f.put_raw(HashMap::from([
        (attr::LEASE_KEY.to_owned(), s("shardId-000000000009")),
        (attr::LEASE_COUNTER.to_owned(), s("not a number")),
        (attr::CHECKPOINT.to_owned(), s("TRIM_HORIZON")),
    ]))
    .await;
    let err = repo.get_lease(&key(9)).await.unwrap_err();
    assert_eq!(err.kind(), LeaseErrorKind::CorruptRow);
    assert_eq!(err.lease_key(), Some(&key(9)));
    assert!(std::error::Error::source(&err).is_some());
}

async fn unknown_attributes_survive_every_write(f: &Fixture) {
    let repo = f.ready().await;
    let mut lease = new_lease(1);
    lease
        .extra
        .insert("futureKclAttribute".to_owned(), s("keep me"));
    lease.extra.insert("futureNumber".to_owned(), num(42));
    let expected = lease.extra.clone();
    let check = |l: &Lease, step: &str| assert_eq!(l.extra, expected, "after {step}");

    let lease = repo.create_lease(&lease).await.unwrap();
    check(&lease, "create");
    let lease = repo.take_lease(&lease, "a").await.unwrap();
    check(&lease, "take");
    let lease = repo.take_lease(&lease, "b").await.unwrap();
    check(&lease, "steal");
    let lease = repo.renew_lease(&lease).await.unwrap();
    check(&lease, "renew");
    let lease = repo
        .update_checkpoint(&lease, checkpoint_update(sequence("12345", 0)))
        .await
        .unwrap();
    check(&lease, "checkpoint");
    let lease = repo.release_lease(&lease).await.unwrap();
    check(&lease, "release");
    let stored = repo.get_lease(&key(1)).await.unwrap().unwrap();
    check(&stored, "get");
    assert_eq!(stored, lease);
    let scan = repo.list_leases().await.unwrap();
    check(&scan.leases[0], "list");
}

async fn multi_stream_leases_round_trip(f: &Fixture) {
    let repo = f.ready().await;
    let key: LeaseKey = "123456789012:orders:1700000000:shardId-000000000003"
        .parse()
        .unwrap();
    let lease = repo
        .create_lease(&Lease::new(key.clone(), Checkpoint::LATEST))
        .await
        .unwrap();
    let taken = repo.take_lease(&lease, "a").await.unwrap();
    assert_eq!(taken.lease_key, key);
    assert_eq!(repo.get_lease(&key).await.unwrap(), Some(taken.clone()));
    let released = repo.release_lease(&taken).await.unwrap();
    repo.delete_lease(&released).await.unwrap();
    assert_eq!(repo.get_lease(&key).await.unwrap(), None);
}

async fn concurrent_takes_have_exactly_one_winner(f: &Fixture) {
    if !f.atomic {
        eprintln!(
            "skipped: concurrent_takes_have_exactly_one_winner needs AtomicConditionalWrites, \
             which this DynamoDB backend lacks"
        );
        return;
    }
    let repo = f.ready().await;
    for round in 0..25u32 {
        let lease = if round % 2 == 0 {
            repo.create_lease(&new_lease(round)).await.unwrap()
        } else {
            // A steal race: both try to take a lease a third worker holds.
            held(repo, round, "holder").await
        };
        let tasks: Vec<_> = ["a", "b"]
            .into_iter()
            .map(|owner| {
                let repo = Arc::clone(&f.repo);
                let lease = lease.clone();
                tokio::spawn(async move { (owner, repo.take_lease(&lease, owner).await) })
            })
            .collect();
        let mut winners = Vec::new();
        for task in tasks {
            let (owner, result) = task.await.unwrap();
            match result {
                Ok(l) => winners.push((owner, l)),
                Err(e) => assert!(e.is_lease_lost(), "round {round}: {e}"),
            }
        }
        assert_eq!(winners.len(), 1, "round {round}: exactly one take wins");
        let (owner, won) = winners.pop().unwrap();
        assert_eq!(won.lease_owner.as_deref(), Some(owner));
        assert_eq!(won.lease_counter, lease.lease_counter + 1);
        assert_eq!(repo.get_lease(&lease.lease_key).await.unwrap(), Some(won));
    }
}

async fn a_write_the_storage_refuses_is_a_storage_error(f: &Fixture) {
    let repo = f.ready().await;
    // A row whose ownerSwitchesSinceCheckpoint is a string: a steal's `ADD 1` is refused.
    f.put_raw(HashMap::from([
        (attr::LEASE_KEY.to_owned(), s("shardId-000000000001")),
        (attr::LEASE_OWNER.to_owned(), s("a")),
        (attr::LEASE_COUNTER.to_owned(), num(5)),
        (attr::CHECKPOINT.to_owned(), s("TRIM_HORIZON")),
        (attr::OWNER_SWITCHES_SINCE_CHECKPOINT.to_owned(), s("two")),
    ]))
    .await;
    let mut lease = new_lease(1);
    lease.lease_owner = Some("a".to_owned());
    lease.lease_counter = 5;
    let err = repo.take_lease(&lease, "b").await.unwrap_err();
    assert_eq!(err.kind(), LeaseErrorKind::Storage, "{err}");
    assert_eq!(err.lease_key(), Some(&key(1)));
    assert!(!err.is_retryable());
    if !matches!(f.raw, Raw::Memory(_)) {
        let source = std::error::Error::source(&err).expect("the client error is kept");
        assert!(source.downcast_ref::<kinesis_client::Error>().is_some());
    }
}

// ---------------------------------------------------------------------------------------------
// KCL 3.x rows and writes

async fn kcl3_index_query_finds_an_owners_leases(f: &Fixture) {
    let repo = f.ready().await;
    let k3 = repo.kcl3().expect("KCL 3.x support");
    k3.ensure_lease_owner_index().await.unwrap();
    held(repo, 1, "w1").await;
    held(repo, 2, "w2").await;
    held(repo, 3, "w1").await;
    let mut keys = k3.lease_keys_of("w1").await.unwrap();
    keys.sort();
    assert_eq!(keys, vec![key(1), key(3)]);
    assert!(k3.lease_keys_of("nobody").await.unwrap().is_empty());
}

async fn kcl3_assign_moves_the_lease_and_clears_a_handoff(f: &Fixture) {
    let repo = f.ready().await;
    let k3 = repo.kcl3().unwrap();
    let free = repo.create_lease(&new_lease(1)).await.unwrap();
    let assigned = k3.assign_lease(&free, "w1").await.unwrap();
    assert_eq!(assigned.lease_owner.as_deref(), Some("w1"));
    assert_eq!(
        (
            assigned.lease_counter,
            assigned.owner_switches_since_checkpoint
        ),
        (1, 0)
    );
    // As read before the assignment: the owner condition fails.
    assert!(
        k3.assign_lease(&free, "w2")
            .await
            .unwrap_err()
            .is_lease_lost()
    );
    let handing = k3.start_handoff(&assigned, "w2").await.unwrap();
    let moved = k3.assign_lease(&handing, "w3").await.unwrap();
    assert_eq!(moved.lease_owner.as_deref(), Some("w3"));
    assert_eq!(moved.checkpoint_owner, None);
    assert_eq!(
        (moved.lease_counter, moved.owner_switches_since_checkpoint),
        (2, 1)
    );
}

async fn kcl3_handoff_keeps_the_counter_until_the_old_owner_completes_it(f: &Fixture) {
    let repo = f.ready().await;
    let k3 = repo.kcl3().unwrap();
    let lease = held(repo, 1, "old").await;
    let handing = k3.start_handoff(&lease, "new").await.unwrap();
    assert_eq!(handing.lease_owner.as_deref(), Some("new"));
    assert_eq!(handing.checkpoint_owner.as_deref(), Some("old"));
    assert_eq!(handing.lease_counter, lease.lease_counter);
    // A second hand-over of the same lease is refused (one is in progress).
    assert!(
        k3.start_handoff(&handing, "other")
            .await
            .unwrap_err()
            .is_lease_lost()
    );
    // The old owner checkpoints (the row's owner is the new one), then completes.
    let checkpointed = repo
        .update_checkpoint(&handing, checkpoint_update(sequence("42", 0)))
        .await
        .unwrap();
    assert!(
        k3.complete_handoff(&checkpointed, "someone-else")
            .await
            .unwrap_err()
            .is_lease_lost()
    );
    let done = k3.complete_handoff(&checkpointed, "old").await.unwrap();
    assert_eq!(done.lease_owner.as_deref(), Some("new"));
    assert_eq!(done.checkpoint_owner, None);
    assert_eq!(done.checkpoint, sequence("42", 0));
    assert_eq!(done.lease_counter, checkpointed.lease_counter + 1);
}

async fn kcl3_a_renewal_during_a_handoff_needs_the_handoff_as_read(f: &Fixture) {
    let repo = f.ready().await;
    let k3 = repo.kcl3().unwrap();
    let lease = held(repo, 1, "old").await;
    let handing = k3.start_handoff(&lease, "new").await.unwrap();
    // The old owner's renewal (owner "old", no checkpointOwner expected) fails: it reads why...
    assert!(repo.renew_lease(&lease).await.unwrap_err().is_lease_lost());
    // ...then renews the row as it is now, the hand-over in place (as the KCL's renewer does),
    // so that the leader sees it alive.
    let renewed = repo.renew_lease(&handing).await.unwrap();
    assert_eq!(renewed.lease_counter, handing.lease_counter + 1);
    assert_eq!(renewed.lease_owner.as_deref(), Some("new"));
    assert_eq!(renewed.checkpoint_owner.as_deref(), Some("old"));
    // A renewal from a stale read of the hand-over fails too.
    assert!(
        repo.renew_lease(&handing)
            .await
            .unwrap_err()
            .is_lease_lost()
    );
}

async fn kcl3_fleet_rows_are_written_under_their_conditions(f: &Fixture) {
    use kinesis_kcl_compat::fleet::{
        LEADER_KEY, LeaderLock, RECORD_VERSION_NUMBER, WorkerMetricStats,
    };
    use kinesis_lease::repository::RowCondition;
    let repo = f.ready().await;
    let k3 = repo.kcl3().unwrap();
    let lock = LeaderLock::new("w1", 120_000, "v1");
    k3.put_row(lock.to_item(), RowCondition::Absent)
        .await
        .unwrap();
    let again = k3
        .put_row(
            LeaderLock::new("w2", 120_000, "v2").to_item(),
            RowCondition::Absent,
        )
        .await;
    assert_eq!(again.unwrap_err().kind(), LeaseErrorKind::ConditionFailed);
    let stale = RowCondition::Equals(vec![(RECORD_VERSION_NUMBER, "v0".to_owned())]);
    let refused = k3
        .put_row(LeaderLock::new("w2", 120_000, "v2").to_item(), stale)
        .await;
    assert_eq!(refused.unwrap_err().kind(), LeaseErrorKind::ConditionFailed);
    let current = RowCondition::Equals(vec![(RECORD_VERSION_NUMBER, "v1".to_owned())]);
    k3.put_row(LeaderLock::new("w2", 120_000, "v2").to_item(), current)
        .await
        .unwrap();
    let read = LeaderLock::from_item(&k3.get_row(LEADER_KEY).await.unwrap().unwrap()).unwrap();
    assert_eq!(read, LeaderLock::new("w2", 120_000, "v2"));
    // Reports: an upsert, read back by the scan beside the leases; lease scans skip both rows.
    let mut stats = WorkerMetricStats::default_worker("w2", 1_764_000_000);
    stats.push_value("C", 12.5);
    k3.put_worker_metrics(&stats).await.unwrap();
    k3.put_worker_metrics(&stats).await.unwrap();
    held(repo, 1, "w2").await;
    let scan = k3.scan_fleet().await.unwrap();
    assert_eq!(
        (scan.leases.len(), scan.worker_metrics.clone()),
        (1, vec![stats])
    );
    assert_eq!(repo.list_leases().await.unwrap().skipped_non_leases, 2);
    let v2 = RowCondition::Equals(vec![(RECORD_VERSION_NUMBER, "v2".to_owned())]);
    k3.delete_row(LEADER_KEY, v2).await.unwrap();
    assert!(k3.get_row(LEADER_KEY).await.unwrap().is_none());
}
