//! Each conditional lease write, described once: the DynamoDB repository renders it as
//! `ConditionExpression` / `UpdateExpression` text, and the in-memory repository applies the same
//! description to its items, so the two cannot drift apart.

use std::collections::HashMap;

use kinesis_kcl_compat::lease::{AttributeValue, Item, Lease, LeaseKey, ParsedRow, attr};

use crate::error::{LeaseError, LeaseErrorKind};
use crate::repository::CheckpointUpdate;
use crate::repository::kcl3::RowCondition;

/// Reads the item a write left (or a read found) under `key` as a lease.
pub(crate) fn stored_lease(key: &LeaseKey, item: Item) -> Result<Lease, LeaseError> {
    match ParsedRow::from_item(item) {
        Ok(ParsedRow::Lease(lease)) => Ok(lease),
        Ok(ParsedRow::NotALease { entity_type, .. }) => Err(LeaseError::new(
            LeaseErrorKind::CorruptRow,
            Some(key),
            format!(
                "the row is not a lease (entityType {})",
                entity_type.as_str()
            ),
        )),
        Err(e) => Err(LeaseError::new(
            LeaseErrorKind::CorruptRow,
            Some(key),
            format!("the stored row cannot be read as a lease: {e}"),
        )
        .with_source(e)),
    }
}

/// One clause of a condition; a write's clauses all have to hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Condition {
    /// `attribute_exists(leaseKey)`: the item exists.
    Exists,
    /// `attribute_not_exists(leaseKey)`: the item does not exist.
    Absent,
    /// `leaseCounter = :c`.
    CounterIs(u64),
    /// `leaseOwner = :o`, or `attribute_not_exists(leaseOwner)` for `None`.
    OwnerIs(Option<String>),
    /// `checkpointOwner = :o`, or `attribute_not_exists(checkpointOwner)` for `None` (KCL 3.x).
    CheckpointOwnerIs(Option<String>),
    /// `name = :s`: a string attribute of a fleet row.
    Equals(&'static str, String),
}

impl Condition {
    /// Whether the clause holds for `item` (`None`: no item), as DynamoDB evaluates it.
    pub(crate) fn holds(&self, item: Option<&Item>) -> bool {
        match self {
            Condition::Exists => item.is_some(),
            Condition::Absent => item.is_none(),
            Condition::CounterIs(c) => matches!(
                item.and_then(|i| i.get(attr::LEASE_COUNTER)),
                Some(AttributeValue::N(n)) if number_equals(n, *c)
            ),
            Condition::OwnerIs(Some(owner)) => matches!(
                item.and_then(|i| i.get(attr::LEASE_OWNER)),
                Some(AttributeValue::S(o)) if o == owner
            ),
            // A `NULL` attribute exists for `attribute_not_exists`.
            Condition::OwnerIs(None) => item.is_some_and(|i| !i.contains_key(attr::LEASE_OWNER)),
            Condition::CheckpointOwnerIs(Some(owner)) => matches!(
                item.and_then(|i| i.get(attr::CHECKPOINT_OWNER)),
                Some(AttributeValue::S(o)) if o == owner
            ),
            Condition::CheckpointOwnerIs(None) => {
                item.is_some_and(|i| !i.contains_key(attr::CHECKPOINT_OWNER))
            }
            Condition::Equals(name, value) => matches!(
                item.and_then(|i| i.get(*name)),
                Some(AttributeValue::S(v)) if v == value
            ),
        }
    }
}

/// The clauses of a fleet-row condition.
pub(crate) fn row_conditions(condition: &RowCondition) -> Vec<Condition> {
    match condition {
        RowCondition::Always => Vec::new(),
        RowCondition::Absent => vec![Condition::Absent],
        RowCondition::Equals(pairs) => std::iter::once(Condition::Exists)
            .chain(pairs.iter().map(|(n, v)| Condition::Equals(n, v.clone())))
            .collect(),
    }
}

/// The `leaseKey` of a row to write, or the storage error DynamoDB would give without one.
pub(crate) fn row_key(item: &Item) -> Result<String, LeaseError> {
    match item.get(attr::LEASE_KEY) {
        Some(AttributeValue::S(k)) => Ok(k.clone()),
        _ => Err(LeaseError::new(
            LeaseErrorKind::Storage,
            None,
            "the row has no string leaseKey",
        )),
    }
}

/// The error of a fleet-row write whose condition failed.
pub(crate) fn row_condition_failed(key: &str) -> LeaseError {
    LeaseError::new(
        LeaseErrorKind::ConditionFailed,
        None,
        format!("the row {key:?} was not as expected (another worker wrote it first)"),
    )
}

/// Whether all clauses hold for `item`.
pub(crate) fn all_hold(conditions: &[Condition], item: Option<&Item>) -> bool {
    conditions.iter().all(|c| c.holds(item))
}

/// DynamoDB compares numbers by value: `"7"`, `"7.0"` and `"7E0"` all equal 7.
fn number_equals(n: &str, expected: u64) -> bool {
    match n.trim().parse::<u64>() {
        Ok(v) => v == expected,
        // Counters stay far below 2^53, where f64 is exact.
        Err(_) => n.trim().parse::<f64>().is_ok_and(|v| v == expected as f64),
    }
}

/// A conditional `UpdateItem` of one lease.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Update {
    /// Every clause must hold.
    pub(crate) conditions: Vec<Condition>,
    /// `SET name = value`.
    pub(crate) set: Vec<(&'static str, AttributeValue)>,
    /// `ADD name 1` (a missing attribute counts as 0).
    pub(crate) add_one: Vec<&'static str>,
    /// `REMOVE name`.
    pub(crate) remove: Vec<&'static str>,
}

fn n(v: u64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

impl Update {
    /// The item exists and its counter is the one `lease` was read with; the counter goes up by
    /// one. With `check_owner`, the owner must also be `lease`'s.
    fn guarded(lease: &Lease, check_owner: bool) -> Self {
        let mut conditions = vec![Condition::Exists, Condition::CounterIs(lease.lease_counter)];
        if check_owner {
            conditions.push(Condition::OwnerIs(lease.lease_owner.clone()));
        }
        Self {
            conditions,
            set: vec![(attr::LEASE_COUNTER, n(lease.lease_counter + 1))],
            ..Self::default()
        }
    }

    /// Take (or steal) for `owner`. `ownerSwitchesSinceCheckpoint` goes up by one when `lease`
    /// had another owner (as the KCL's `getDynamoTakeLeaseUpdate` decides, from the lease as
    /// read; the counter condition makes that the stored owner).
    pub(crate) fn take(lease: &Lease, owner: &str) -> Self {
        let mut u = Self::guarded(lease, false);
        u.set
            .push((attr::LEASE_OWNER, AttributeValue::S(owner.to_owned())));
        u.remove.push(attr::CHECKPOINT_OWNER);
        if lease.lease_owner.as_deref().is_some_and(|old| old != owner) {
            u.add_one.push(attr::OWNER_SWITCHES_SINCE_CHECKPOINT);
        }
        u
    }

    /// Renew by the owner, conditional on `checkpointOwner` as read: when a KCL 3.x leader has
    /// asked for a hand-over since, the renewal fails and the worker reads why; once the worker
    /// knows, it renews the lease during the hand-over (as the KCL does), so that the leader
    /// sees it alive. Writes `throughputKBps` when the lease has one.
    pub(crate) fn renew(lease: &Lease) -> Self {
        let mut u = Self::guarded(lease, true);
        u.conditions
            .push(Condition::CheckpointOwnerIs(lease.checkpoint_owner.clone()));
        if let Some(t) = lease.throughput_kbps {
            u.set.push((attr::THROUGHPUT_KBPS, t.to_attribute()));
        }
        u
    }

    /// KCL 3.x leader: give `lease` to `owner` (`assignLease`), conditional on the owner and
    /// `checkpointOwner` as read.
    pub(crate) fn assign(lease: &Lease, owner: &str) -> Self {
        let mut u = Self {
            conditions: vec![
                Condition::Exists,
                Condition::OwnerIs(lease.lease_owner.clone()),
                Condition::CheckpointOwnerIs(lease.checkpoint_owner.clone()),
            ],
            ..Self::default()
        };
        u.set
            .push((attr::LEASE_OWNER, AttributeValue::S(owner.to_owned())));
        u.remove.push(attr::CHECKPOINT_OWNER);
        u.add_one.push(attr::LEASE_COUNTER);
        let changes_owner = lease.lease_owner.as_deref().is_some_and(|o| o != owner)
            || lease.checkpoint_owner.as_deref() == Some(owner);
        if changes_owner {
            u.add_one.push(attr::OWNER_SWITCHES_SINCE_CHECKPOINT);
        }
        u
    }

    /// KCL 3.x leader: ask the owner to hand `lease` to `to` after its last checkpoint
    /// (`initiateGracefulLeaseHandoff`); the counter does not change.
    pub(crate) fn start_handoff(lease: &Lease, to: &str) -> Self {
        let mut u = Self {
            conditions: vec![
                Condition::Exists,
                Condition::OwnerIs(lease.lease_owner.clone()),
                Condition::CheckpointOwnerIs(None),
            ],
            ..Self::default()
        };
        u.set
            .push((attr::LEASE_OWNER, AttributeValue::S(to.to_owned())));
        if let Some(old) = &lease.lease_owner {
            u.set
                .push((attr::CHECKPOINT_OWNER, AttributeValue::S(old.clone())));
        }
        u
    }

    /// KCL 3.x previous owner `from`: end a hand-over after the last checkpoint.
    pub(crate) fn complete_handoff(lease: &Lease, from: &str) -> Self {
        let mut u = Self {
            conditions: vec![
                Condition::Exists,
                Condition::OwnerIs(lease.lease_owner.clone()),
                Condition::CheckpointOwnerIs(Some(from.to_owned())),
            ],
            ..Self::default()
        };
        u.remove.push(attr::CHECKPOINT_OWNER);
        u.add_one.push(attr::LEASE_COUNTER);
        u
    }

    /// Checkpoint by the owner.
    pub(crate) fn checkpoint(lease: &Lease, update: &CheckpointUpdate) -> Self {
        let mut u = Self::guarded(lease, true);
        u.set.push((
            attr::CHECKPOINT,
            AttributeValue::S(update.checkpoint.kcl_checkpoint().to_owned()),
        ));
        u.set.push((
            attr::CHECKPOINT_SUB_SEQUENCE_NUMBER,
            n(update.checkpoint.sub_sequence_number()),
        ));
        u.set.push((attr::OWNER_SWITCHES_SINCE_CHECKPOINT, n(0)));
        if let Some(children) = update.child_shard_ids.as_ref().filter(|c| !c.is_empty()) {
            u.set.push((
                attr::CHILD_SHARD_IDS,
                AttributeValue::Ss(children.iter().map(|c| c.as_str().to_owned()).collect()),
            ));
        }
        u.remove.extend([
            attr::PENDING_CHECKPOINT,
            attr::PENDING_CHECKPOINT_SUB_SEQUENCE_NUMBER,
            attr::PENDING_CHECKPOINT_STATE,
        ]);
        if update.release {
            u.remove.push(attr::LEASE_OWNER);
        }
        u
    }

    /// Release by the owner: the owner (and any `checkpointOwner` of a KCL 3.x handoff) goes.
    pub(crate) fn release(lease: &Lease) -> Self {
        let mut u = Self::guarded(lease, true);
        u.remove.extend([attr::LEASE_OWNER, attr::CHECKPOINT_OWNER]);
        u
    }

    /// Applies the actions to `item`, as DynamoDB would (the conditions are checked by the
    /// caller). On error `item` is unchanged.
    pub(crate) fn apply(&self, item: &mut Item) -> Result<(), String> {
        let mut next = item.clone();
        for (name, value) in &self.set {
            next.insert((*name).to_owned(), value.clone());
        }
        for name in &self.add_one {
            let value = match next.get(*name) {
                None => 1,
                Some(AttributeValue::N(v)) => v
                    .trim()
                    .parse::<u64>()
                    .map_err(|_| format!("ADD 1 to {name}: cannot add to {v}"))?
                    .checked_add(1)
                    .ok_or_else(|| format!("ADD 1 to {name}: overflow"))?,
                Some(_) => {
                    return Err(format!(
                        "ValidationException: an operand in the update expression has an \
                         incorrect data type ({name})"
                    ));
                }
            };
            next.insert((*name).to_owned(), n(value));
        }
        for name in &self.remove {
            next.remove(*name);
        }
        *item = next;
        Ok(())
    }

    /// The `UpdateExpression`, registering names and values in `expr`.
    pub(crate) fn update_expression(&self, expr: &mut Expressions) -> String {
        let mut clauses = Vec::new();
        if !self.set.is_empty() {
            let parts: Vec<String> = self
                .set
                .iter()
                .map(|(name, value)| format!("{} = {}", expr.name(name), expr.value(value.clone())))
                .collect();
            clauses.push(format!("SET {}", parts.join(", ")));
        }
        if !self.add_one.is_empty() {
            let parts: Vec<String> = self
                .add_one
                .iter()
                .map(|name| format!("{} {}", expr.name(name), expr.value(n(1))))
                .collect();
            clauses.push(format!("ADD {}", parts.join(", ")));
        }
        if !self.remove.is_empty() {
            let parts: Vec<String> = self.remove.iter().map(|name| expr.name(name)).collect();
            clauses.push(format!("REMOVE {}", parts.join(", ")));
        }
        clauses.join(" ")
    }
}

/// The placeholders of one request: `#attributeName` for every name (all KCL attribute names are
/// alphanumeric), `:vN` for values.
#[derive(Clone, Debug, Default)]
pub(crate) struct Expressions {
    pub(crate) names: HashMap<String, String>,
    pub(crate) values: HashMap<String, AttributeValue>,
}

impl Expressions {
    /// The placeholder of an attribute name.
    pub(crate) fn name(&mut self, name: &str) -> String {
        let placeholder = format!("#{name}");
        self.names.insert(placeholder.clone(), name.to_owned());
        placeholder
    }

    /// A new placeholder for `value`.
    pub(crate) fn value(&mut self, value: AttributeValue) -> String {
        let placeholder = format!(":v{}", self.values.len());
        self.values.insert(placeholder.clone(), value);
        placeholder
    }

    /// The `ConditionExpression` of `conditions`.
    pub(crate) fn condition(&mut self, conditions: &[Condition]) -> String {
        let parts: Vec<String> = conditions
            .iter()
            .map(|c| match c {
                Condition::Exists => format!("attribute_exists({})", self.name(attr::LEASE_KEY)),
                Condition::Absent => {
                    format!("attribute_not_exists({})", self.name(attr::LEASE_KEY))
                }
                Condition::CounterIs(v) => {
                    format!("{} = {}", self.name(attr::LEASE_COUNTER), self.value(n(*v)))
                }
                Condition::OwnerIs(Some(o)) => format!(
                    "{} = {}",
                    self.name(attr::LEASE_OWNER),
                    self.value(AttributeValue::S(o.clone()))
                ),
                Condition::OwnerIs(None) => {
                    format!("attribute_not_exists({})", self.name(attr::LEASE_OWNER))
                }
                Condition::CheckpointOwnerIs(Some(o)) => format!(
                    "{} = {}",
                    self.name(attr::CHECKPOINT_OWNER),
                    self.value(AttributeValue::S(o.clone()))
                ),
                Condition::CheckpointOwnerIs(None) => {
                    format!(
                        "attribute_not_exists({})",
                        self.name(attr::CHECKPOINT_OWNER)
                    )
                }
                Condition::Equals(name, v) => format!(
                    "{} = {}",
                    self.name(name),
                    self.value(AttributeValue::S(v.clone()))
                ),
            })
            .collect();
        parts.join(" AND ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kinesis_kcl_compat::sequence::Checkpoint;

    fn lease(owner: Option<&str>, counter: u64) -> Lease {
        let mut l = Lease::new(
            "shardId-000000000001".parse().unwrap(),
            Checkpoint::TRIM_HORIZON,
        );
        l.lease_owner = owner.map(str::to_owned);
        l.lease_counter = counter;
        l
    }

    #[test]
    fn steal_expression() {
        let u = Update::take(&lease(Some("a"), 4), "b");
        let mut e = Expressions::default();
        let cond = e.condition(&u.conditions);
        let update = u.update_expression(&mut e);
        assert_eq!(cond, "attribute_exists(#leaseKey) AND #leaseCounter = :v0");
        assert_eq!(
            update,
            "SET #leaseCounter = :v1, #leaseOwner = :v2 ADD #ownerSwitchesSinceCheckpoint :v3 \
             REMOVE #checkpointOwner"
        );
        assert_eq!(e.values[":v0"], AttributeValue::N("4".into()));
        assert_eq!(e.values[":v1"], AttributeValue::N("5".into()));
    }

    #[test]
    fn renew_of_unowned_lease_expects_no_owner() {
        let u = Update::renew(&lease(None, 0));
        let mut e = Expressions::default();
        assert_eq!(
            e.condition(&u.conditions),
            "attribute_exists(#leaseKey) AND #leaseCounter = :v0 AND \
             attribute_not_exists(#leaseOwner) AND attribute_not_exists(#checkpointOwner)"
        );
    }

    #[test]
    fn kcl3_assignment_and_handoff_expressions() {
        let mut e = Expressions::default();
        let u = Update::assign(&lease(Some("a"), 4), "b");
        assert_eq!(
            e.condition(&u.conditions),
            "attribute_exists(#leaseKey) AND #leaseOwner = :v0 AND \
             attribute_not_exists(#checkpointOwner)"
        );
        assert_eq!(
            u.update_expression(&mut e),
            "SET #leaseOwner = :v1 ADD #leaseCounter :v2, #ownerSwitchesSinceCheckpoint :v3 \
             REMOVE #checkpointOwner"
        );
        let mut e = Expressions::default();
        let u = Update::start_handoff(&lease(Some("a"), 4), "b");
        assert_eq!(
            u.update_expression(&mut e),
            "SET #leaseOwner = :v0, #checkpointOwner = :v1"
        );
        assert_eq!(e.values[":v1"], AttributeValue::S("a".into()));
        let mut handed = lease(Some("b"), 4);
        handed.checkpoint_owner = Some("a".into());
        let u = Update::complete_handoff(&handed, "a");
        let mut item = handed.to_item();
        assert!(all_hold(&u.conditions, Some(&item)));
        u.apply(&mut item).unwrap();
        assert!(!item.contains_key(attr::CHECKPOINT_OWNER));
        assert_eq!(item[attr::LEASE_COUNTER], AttributeValue::N("5".into()));
    }

    #[test]
    fn numbers_compare_by_value() {
        assert!(number_equals("7", 7));
        assert!(number_equals("7.0", 7));
        assert!(number_equals("7E0", 7));
        assert!(!number_equals("8", 7));
        assert!(!number_equals("x", 7));
    }
}
