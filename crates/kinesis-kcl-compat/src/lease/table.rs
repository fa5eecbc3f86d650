//! The shape of the KCL lease table (`DynamoDBLeaseRefresher`, `DynamoDBLeaseSerializer`), for
//! creating one that Java KCL workers accept.
//!
//! - The table is named after the application by default.
//! - Hash key [`HASH_KEY`] (`leaseKey`, S), no range key.
//! - Billing is on demand by default; provisioned tables start at
//!   [`DEFAULT_READ_CAPACITY`] / [`DEFAULT_WRITE_CAPACITY`] (10 / 10).
//! - KCL 3.x adds the global secondary index [`LEASE_OWNER_INDEX`] (`LeaseOwnerToLeaseKeyIndex`):
//!   hash `leaseOwner` (S), range `leaseKey` (S), projection KEYS_ONLY. Workers query it for the
//!   leases assigned to them.
//!
//! ```
//! use kinesis_kcl_compat::lease::table;
//! use kinesis_client::sdk::dynamodb::types::{KeyType, ProjectionType};
//!
//! let keys = table::key_schema()?;
//! assert_eq!(keys[0].attribute_name(), "leaseKey");
//! assert_eq!(keys[0].key_type(), &KeyType::Hash);
//!
//! let gsi = table::lease_owner_index(None)?;
//! assert_eq!(gsi.index_name(), "LeaseOwnerToLeaseKeyIndex");
//! assert_eq!(
//!     gsi.projection().and_then(|p| p.projection_type()),
//!     Some(&ProjectionType::KeysOnly)
//! );
//!
//! let throughput = table::default_provisioned_throughput()?;
//! assert_eq!((throughput.read_capacity_units(), throughput.write_capacity_units()), (10, 10));
//! assert_eq!(table::attribute_definitions()?.len(), 1);
//! assert_eq!(table::lease_owner_index_attribute_definitions()?.len(), 2);
//! # Ok::<(), kinesis_client::sdk::dynamodb::error::BuildError>(())
//! ```

use kinesis_client::sdk::dynamodb::error::BuildError;
use kinesis_client::sdk::dynamodb::types::{
    AttributeDefinition, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ProvisionedThroughput, ScalarAttributeType,
};

use super::attr;

/// The table's hash key: `leaseKey` (S).
pub const HASH_KEY: &str = attr::LEASE_KEY;
/// The KCL 3.x global secondary index from lease owner to lease key.
pub const LEASE_OWNER_INDEX: &str = "LeaseOwnerToLeaseKeyIndex";
/// The index's hash key: `leaseOwner` (S).
pub const LEASE_OWNER_INDEX_HASH_KEY: &str = attr::LEASE_OWNER;
/// The index's range key: `leaseKey` (S).
pub const LEASE_OWNER_INDEX_RANGE_KEY: &str = attr::LEASE_KEY;
/// Read capacity of a provisioned lease table the KCL creates.
pub const DEFAULT_READ_CAPACITY: i64 = 10;
/// Write capacity of a provisioned lease table the KCL creates.
pub const DEFAULT_WRITE_CAPACITY: i64 = 10;

/// The table's key schema: `leaseKey` as the hash key.
///
/// # Errors
///
/// Only if the SDK's builder refuses its required fields, which are all set.
pub fn key_schema() -> Result<Vec<KeySchemaElement>, BuildError> {
    Ok(vec![key(HASH_KEY, KeyType::Hash)?])
}

/// The attribute definitions of the table: `leaseKey` (S).
///
/// # Errors
///
/// Only if the SDK's builder refuses its required fields, which are all set.
pub fn attribute_definitions() -> Result<Vec<AttributeDefinition>, BuildError> {
    Ok(vec![string_attribute(HASH_KEY)?])
}

/// The attribute definitions the [`LEASE_OWNER_INDEX`] adds: `leaseOwner` (S) and `leaseKey` (S).
///
/// # Errors
///
/// Only if the SDK's builder refuses its required fields, which are all set.
pub fn lease_owner_index_attribute_definitions() -> Result<Vec<AttributeDefinition>, BuildError> {
    Ok(vec![
        string_attribute(LEASE_OWNER_INDEX_HASH_KEY)?,
        string_attribute(LEASE_OWNER_INDEX_RANGE_KEY)?,
    ])
}

/// The provisioned throughput of a KCL-created provisioned table (10 RCU, 10 WCU).
///
/// # Errors
///
/// Only if the SDK's builder refuses its required fields, which are all set.
pub fn default_provisioned_throughput() -> Result<ProvisionedThroughput, BuildError> {
    ProvisionedThroughput::builder()
        .read_capacity_units(DEFAULT_READ_CAPACITY)
        .write_capacity_units(DEFAULT_WRITE_CAPACITY)
        .build()
}

/// The [`LEASE_OWNER_INDEX`] definition: hash `leaseOwner`, range `leaseKey`, KEYS_ONLY.
///
/// Pass the base table's throughput for a provisioned table (the KCL copies it), `None` for an
/// on-demand one.
///
/// # Errors
///
/// Only if the SDK's builder refuses its required fields, which are all set.
pub fn lease_owner_index(
    throughput: Option<ProvisionedThroughput>,
) -> Result<GlobalSecondaryIndex, BuildError> {
    GlobalSecondaryIndex::builder()
        .index_name(LEASE_OWNER_INDEX)
        .key_schema(key(LEASE_OWNER_INDEX_HASH_KEY, KeyType::Hash)?)
        .key_schema(key(LEASE_OWNER_INDEX_RANGE_KEY, KeyType::Range)?)
        .projection(
            Projection::builder()
                .projection_type(ProjectionType::KeysOnly)
                .build(),
        )
        .set_provisioned_throughput(throughput)
        .build()
}

fn key(name: &str, key_type: KeyType) -> Result<KeySchemaElement, BuildError> {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(key_type)
        .build()
}

fn string_attribute(name: &str) -> Result<AttributeDefinition, BuildError> {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
}
