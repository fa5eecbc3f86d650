//! [`LeaderLock`]: the leader-election lock row, as the DynamoDB Lock Client 1.4 (which the KCL's
//! `DynamoDBLockBasedLeaderDecider` uses) writes it.

use std::collections::HashMap;

use super::LEADER_KEY;
use super::read::Row;
use crate::lease::{AttributeValue, EntityType, Item, LeaseRowError, Problem, attr};

/// `ownerName`: the worker holding the lock.
pub const OWNER_NAME: &str = "ownerName";
/// `leaseDuration`: how long the lock lasts without a heartbeat, in ms, **as a string**.
pub const LEASE_DURATION: &str = "leaseDuration";
/// `recordVersionNumber`: a fresh random string on every acquisition and heartbeat.
pub const RECORD_VERSION_NUMBER: &str = "recordVersionNumber";
/// `isReleased`: present when the lock was released without deleting the row.
pub const IS_RELEASED: &str = "isReleased";

/// The `Leader` row (`leaseKey = "Leader"`, `entityType = LEADER`).
///
/// A waiting worker takes the lock over when it has seen the same
/// [`record_version_number`](Self::record_version_number) for longer than
/// [`lease_duration_ms`](Self::lease_duration_ms); the holder's heartbeat replaces the version
/// number (a conditional update) to keep it. Every attribute is required: a Java KCL worker
/// fails its leader check on a row without one, or with `leaseDuration` as a number.
///
/// ```
/// use kinesis_kcl_compat::fleet::LeaderLock;
///
/// let lock = LeaderLock::new("w-1", 120_000, "3f0c");
/// let read = LeaderLock::from_item(&lock.to_item())?;
/// assert_eq!(read, lock);
/// assert!(!read.released);
/// # Ok::<(), kinesis_kcl_compat::lease::LeaseRowError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaderLock {
    /// `ownerName`.
    pub owner_name: String,
    /// `leaseDuration` in milliseconds.
    pub lease_duration_ms: u64,
    /// `recordVersionNumber`.
    pub record_version_number: String,
    /// Whether `isReleased` is present (the lock is then free).
    pub released: bool,
}

impl LeaderLock {
    /// A lock held by `owner` for `lease_duration_ms`, at version `record_version_number`.
    pub fn new(
        owner: impl Into<String>,
        lease_duration_ms: u64,
        record_version_number: impl Into<String>,
    ) -> Self {
        Self {
            owner_name: owner.into(),
            lease_duration_ms,
            record_version_number: record_version_number.into(),
            released: false,
        }
    }

    /// The item the lock client writes.
    pub fn to_item(&self) -> Item {
        let s = |v: &str| AttributeValue::S(v.to_owned());
        let mut item: Item = HashMap::from([
            (attr::LEASE_KEY.to_owned(), s(LEADER_KEY)),
            (OWNER_NAME.to_owned(), s(&self.owner_name)),
            (
                LEASE_DURATION.to_owned(),
                s(&self.lease_duration_ms.to_string()),
            ),
            (
                RECORD_VERSION_NUMBER.to_owned(),
                s(&self.record_version_number),
            ),
            (attr::ENTITY_TYPE.to_owned(), s(EntityType::Leader.as_str())),
        ]);
        if self.released {
            item.insert(IS_RELEASED.to_owned(), s("1"));
        }
        item
    }

    /// Reads the `Leader` row.
    ///
    /// # Errors
    ///
    /// A [`LeaseRowError`] when an attribute is missing or of another type, or `leaseDuration`
    /// is not a whole number of milliseconds.
    pub fn from_item(item: &Item) -> Result<Self, LeaseRowError> {
        let row = Row::new(item);
        let duration = row.required_s(LEASE_DURATION)?;
        let lease_duration_ms = duration.trim().parse().map_err(|_| {
            row.error(
                LEASE_DURATION,
                Problem::InvalidNumber {
                    value: duration.to_owned(),
                    reason: "not a whole number of milliseconds".to_owned(),
                },
            )
        })?;
        Ok(Self {
            owner_name: row.required_s(OWNER_NAME)?.to_owned(),
            lease_duration_ms,
            record_version_number: row.required_s(RECORD_VERSION_NUMBER)?.to_owned(),
            released: item.contains_key(IS_RELEASED),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_numeric_lease_duration_is_refused() {
        let mut item = LeaderLock::new("w", 1, "v").to_item();
        item.insert(LEASE_DURATION.into(), AttributeValue::N("1".into()));
        let err = LeaderLock::from_item(&item).unwrap_err();
        assert_eq!(
            (err.lease_key(), err.attribute()),
            (Some("Leader"), LEASE_DURATION)
        );
    }

    #[test]
    fn a_released_lock_reads_as_released() {
        let mut lock = LeaderLock::new("w", 1, "v");
        lock.released = true;
        assert!(LeaderLock::from_item(&lock.to_item()).unwrap().released);
    }
}
