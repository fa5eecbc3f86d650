//! What only the in-memory repository has: call counts, injected failures, raw-item hooks.

use std::collections::HashMap;

use kinesis_kcl_compat::lease::AttributeValue;
use kinesis_kcl_compat::lease::{Lease, LeaseKey, attr};
use kinesis_kcl_compat::sequence::Checkpoint;
use kinesis_lease::repository::{InMemoryLeaseRepository, RepositoryMethod};
use kinesis_lease::{LeaseErrorKind, LeaseRepository};

fn key(n: u32) -> LeaseKey {
    format!("shardId-{n:012}").parse().unwrap()
}

async fn ready() -> InMemoryLeaseRepository {
    let repo = InMemoryLeaseRepository::new();
    assert!(repo.ensure_table().await.unwrap());
    repo
}

#[tokio::test]
async fn counts_every_call_per_method_including_failures() {
    let repo = ready().await;
    let lease = repo
        .create_lease(&Lease::new(key(1), Checkpoint::TRIM_HORIZON))
        .await
        .unwrap();
    let taken = repo.take_lease(&lease, "a").await.unwrap();
    assert!(repo.take_lease(&lease, "b").await.is_err());
    repo.renew_lease(&taken).await.unwrap();
    repo.list_leases().await.unwrap();

    assert_eq!(repo.call_count(RepositoryMethod::EnsureTable), 1);
    assert_eq!(repo.call_count(RepositoryMethod::CreateLease), 1);
    assert_eq!(repo.call_count(RepositoryMethod::TakeLease), 2);
    assert_eq!(repo.call_count(RepositoryMethod::RenewLease), 1);
    assert_eq!(repo.call_count(RepositoryMethod::ListLeases), 1);
    assert_eq!(repo.call_count(RepositoryMethod::DeleteLease), 0);

    // Clones share the counts.
    let clone = repo.clone();
    clone.get_lease(&key(1)).await.unwrap();
    assert_eq!(repo.call_count(RepositoryMethod::GetLease), 1);

    repo.reset_call_counts();
    for method in RepositoryMethod::ALL {
        assert_eq!(repo.call_count(method), 0, "{method}");
    }
}

#[tokio::test]
async fn injected_failures_hit_only_the_next_calls_of_that_method() {
    let repo = ready().await;
    let lease = repo
        .create_lease(&Lease::new(key(1), Checkpoint::TRIM_HORIZON))
        .await
        .unwrap();
    repo.fail_next(RepositoryMethod::TakeLease, 2);

    for _ in 0..2 {
        let err = repo.take_lease(&lease, "a").await.unwrap_err();
        assert_eq!(err.kind(), LeaseErrorKind::Storage);
        assert!(!err.is_retryable());
        assert!(err.to_string().contains("take_lease"), "{err}");
    }
    // Nothing was written by the failed calls, and other methods were not affected.
    assert_eq!(repo.get_lease(&key(1)).await.unwrap(), Some(lease.clone()));
    let taken = repo.take_lease(&lease, "a").await.unwrap();
    assert_eq!(taken.lease_counter, 1);
    assert_eq!(repo.call_count(RepositoryMethod::TakeLease), 3);
}

#[tokio::test]
async fn injected_failure_of_ensure_table_leaves_no_table() {
    let repo = InMemoryLeaseRepository::new();
    repo.fail_next(RepositoryMethod::EnsureTable, 1);
    assert_eq!(
        repo.ensure_table().await.unwrap_err().kind(),
        LeaseErrorKind::Storage
    );
    assert_eq!(
        repo.list_leases().await.unwrap_err().kind(),
        LeaseErrorKind::NotFound
    );
    assert!(repo.ensure_table().await.unwrap());
}

#[tokio::test]
async fn raw_items_are_stored_and_read_as_they_are() {
    let repo = InMemoryLeaseRepository::new();
    let item = HashMap::from([
        (
            attr::LEASE_KEY.to_owned(),
            AttributeValue::S("worker-1".into()),
        ),
        (
            attr::ENTITY_TYPE.to_owned(),
            AttributeValue::S("WORKER_METRIC_STATS".into()),
        ),
    ]);
    assert_eq!(
        repo.put_raw_item(item.clone()).unwrap_err().kind(),
        LeaseErrorKind::NotFound,
        "no table yet"
    );
    repo.ensure_table().await.unwrap();
    repo.put_raw_item(item.clone()).unwrap();
    assert_eq!(repo.raw_item("worker-1"), Some(item));
    assert!(repo.put_raw_item(HashMap::new()).is_err(), "no leaseKey");

    // The KCL's attribute names on the wire.
    let lease = repo
        .create_lease(&Lease::new(key(2), Checkpoint::TRIM_HORIZON))
        .await
        .unwrap();
    repo.take_lease(&lease, "a").await.unwrap();
    let raw = repo.raw_item("shardId-000000000002").unwrap();
    assert_eq!(raw[attr::LEASE_OWNER], AttributeValue::S("a".into()));
    assert_eq!(raw[attr::LEASE_COUNTER], AttributeValue::N("1".into()));
}

#[tokio::test]
async fn debug_shows_the_table_size() {
    let repo = ready().await;
    repo.create_lease(&Lease::new(key(1), Checkpoint::LATEST))
        .await
        .unwrap();
    let debug = format!("{repo:?}");
    assert!(debug.contains("items: 1"), "{debug}");
}
