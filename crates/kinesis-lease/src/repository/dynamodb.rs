//! [`DynamoDbLeaseRepository`]: leases in a DynamoDB table of the KCL's format, shared with Java
//! KCL workers.
//!
//! Every call is an [`Operation`] sent through [`ClientConfig::dynamodb_stack`], so throttling
//! and transient failures are retried there (once, by the one retry layer) and a failed condition
//! (`ConditionalCheckFailedException`) is never retried: it becomes
//! [`LeaseErrorKind::LeaseLost`] (or `AlreadyExists` for a create).
//!
//! | method | DynamoDB call | condition |
//! |---|---|---|
//! | `create_lease` | `PutItem` of [`Lease::to_item`] | `attribute_not_exists(leaseKey)` |
//! | `take_lease` | `UpdateItem`, `ALL_NEW` | `attribute_exists(leaseKey) AND leaseCounter = :c` |
//! | `renew_lease`, `update_checkpoint`, `release_lease` | `UpdateItem`, `ALL_NEW` | the same `AND leaseOwner = :o` (or `attribute_not_exists(leaseOwner)` for an unowned lease) |
//! | `delete_lease` | `DeleteItem` | `leaseCounter = :c` |
//! | `get_lease` | `GetItem`, consistent | |
//! | `list_leases` | `Scan`, consistent, every page | |
//!
//! The updates, as the KCL's `DynamoDBLeaseSerializer` makes them:
//!
//! - every update sets `leaseCounter` to the expected value + 1;
//! - take: `SET leaseOwner`, `REMOVE checkpointOwner`, and `ADD ownerSwitchesSinceCheckpoint 1`
//!   when the lease as read had another owner;
//! - checkpoint: `SET checkpoint, checkpointSubSequenceNumber, ownerSwitchesSinceCheckpoint = 0`,
//!   `childShardIds` when given and non-empty (DynamoDB refuses empty sets),
//!   `REMOVE pendingCheckpoint, pendingCheckpointSubSequenceNumber, pendingCheckpointState`, and
//!   `REMOVE leaseOwner` when releasing;
//! - release: `REMOVE leaseOwner, checkpointOwner` (as the KCL's evict does).
//!
//! The item a write leaves is read back from the `ALL_NEW` answer, so the caller gets the true
//! counter and every attribute it did not know about ([`Lease::extra`]). The in-memory repository
//! applies the same descriptions of these writes to its items.

use std::collections::HashMap;
use std::time::Duration;

use kinesis_client::sdk::dynamodb::Client as Sdk;
use kinesis_client::sdk::dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, GlobalSecondaryIndex, KeySchemaElement,
    ProvisionedThroughput, ReturnValue, TableStatus,
};
use kinesis_client::{BoxFuture as OpFuture, ClientConfig, Error, Operation, Stack};
use kinesis_kcl_compat::lease::dynamodb::{item_from_sdk, item_to_sdk};
use kinesis_kcl_compat::lease::{Item, Lease, LeaseKey, ParsedRow, attr, table};
use tokio::time::Instant;

use crate::error::{LeaseError, LeaseErrorKind};
use crate::repository::{BoxFuture, CheckpointUpdate, LeaseRepository, LeaseScan};

mod kcl3;
pub(crate) mod write;

use write::{Condition, Expressions, Update, stored_lease};

/// How a lease table that [`ensure_table`](LeaseRepository::ensure_table) creates is billed.
///
/// ```
/// use kinesis_lease::repository::TableBilling;
///
/// assert_eq!(TableBilling::default(), TableBilling::PayPerRequest);
/// assert_eq!(
///     TableBilling::KCL_PROVISIONED,
///     TableBilling::Provisioned { read_capacity: 10, write_capacity: 10 }
/// );
/// ```
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum TableBilling {
    /// On demand (`PAY_PER_REQUEST`), the KCL's default.
    #[default]
    PayPerRequest,
    /// Provisioned capacity; the `LeaseOwnerToLeaseKeyIndex`, when created, gets the same.
    Provisioned {
        /// Read capacity units.
        read_capacity: i64,
        /// Write capacity units.
        write_capacity: i64,
    },
}

impl TableBilling {
    /// The capacity of a provisioned table the KCL creates: 10 RCU, 10 WCU.
    pub const KCL_PROVISIONED: TableBilling = TableBilling::Provisioned {
        read_capacity: table::DEFAULT_READ_CAPACITY,
        write_capacity: table::DEFAULT_WRITE_CAPACITY,
    };
}

/// How [`DynamoDbLeaseRepository::ensure_table`](LeaseRepository::ensure_table) creates the
/// table when it is missing, and how long it waits for it.
///
/// Defaults: on-demand billing, no `LeaseOwnerToLeaseKeyIndex`, no deletion protection, polls
/// `DescribeTable` every second for up to 5 minutes.
///
/// ```
/// use std::time::Duration;
/// use kinesis_lease::repository::{TableBilling, TableOptions};
///
/// let options = TableOptions::default()
///     .with_billing(TableBilling::KCL_PROVISIONED)
///     .with_lease_owner_index(true)
///     .with_poll_interval(Duration::from_millis(100));
/// assert!(options.lease_owner_index());
/// assert_eq!(options.wait_timeout(), Duration::from_secs(300));
/// ```
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableOptions {
    billing: TableBilling,
    lease_owner_index: bool,
    deletion_protection: bool,
    wait_timeout: Duration,
    poll_interval: Duration,
}

impl Default for TableOptions {
    fn default() -> Self {
        Self {
            billing: TableBilling::PayPerRequest,
            lease_owner_index: false,
            deletion_protection: false,
            wait_timeout: Duration::from_secs(300),
            poll_interval: Duration::from_secs(1),
        }
    }
}

impl TableOptions {
    /// Sets the billing mode of a created table.
    #[must_use]
    pub fn with_billing(mut self, billing: TableBilling) -> Self {
        self.billing = billing;
        self
    }

    /// Whether a created table gets the KCL 3.x global secondary index
    /// `LeaseOwnerToLeaseKeyIndex` (hash `leaseOwner`, range `leaseKey`, KEYS_ONLY), which KCL
    /// 3.x workers query. Off by default; a KCL 3.x worker adds it itself when missing.
    #[must_use]
    pub fn with_lease_owner_index(mut self, create: bool) -> Self {
        self.lease_owner_index = create;
        self
    }

    /// Whether a created table has deletion protection. Off by default.
    #[must_use]
    pub fn with_deletion_protection(mut self, enabled: bool) -> Self {
        self.deletion_protection = enabled;
        self
    }

    /// How long to wait for the table to become `ACTIVE`.
    #[must_use]
    pub fn with_wait_timeout(mut self, timeout: Duration) -> Self {
        self.wait_timeout = timeout;
        self
    }

    /// How often to poll `DescribeTable` while waiting.
    #[must_use]
    pub fn with_poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }

    /// The billing mode of a created table.
    pub fn billing(&self) -> TableBilling {
        self.billing
    }

    /// Whether a created table gets `LeaseOwnerToLeaseKeyIndex`.
    pub fn lease_owner_index(&self) -> bool {
        self.lease_owner_index
    }

    /// Whether a created table has deletion protection.
    pub fn deletion_protection(&self) -> bool {
        self.deletion_protection
    }

    /// How long to wait for the table to become `ACTIVE`.
    pub fn wait_timeout(&self) -> Duration {
        self.wait_timeout
    }

    /// How often to poll `DescribeTable` while waiting.
    pub fn poll_interval(&self) -> Duration {
        self.poll_interval
    }
}

/// Leases in a DynamoDB table of the KCL 2.x / 3.x format; see the [module
/// documentation](self) for the calls and conditions.
///
/// Cheap to clone; clones share the client stack (its retry budget and rate limits).
///
/// ```no_run
/// use kinesis_client::ClientConfig;
/// use kinesis_lease::LeaseRepository;
/// use kinesis_lease::repository::{DynamoDbLeaseRepository, TableOptions};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let config = ClientConfig::from_env().await?;
/// // The KCL names the table after the application.
/// let repo = DynamoDbLeaseRepository::with_options(
///     &config,
///     "my-application",
///     TableOptions::default().with_lease_owner_index(true),
/// );
/// let created = repo.ensure_table().await?;
/// let scan = repo.list_leases().await?;
/// println!("created: {created}, {} leases", scan.leases.len());
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct DynamoDbLeaseRepository {
    stack: Stack<Sdk>,
    table: String,
    options: TableOptions,
}

impl DynamoDbLeaseRepository {
    /// A repository on the table `table_name` with the default [`TableOptions`].
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), kinesis_client::Error> {
    /// let config = kinesis_client::ClientConfig::from_env().await?;
    /// let repo = kinesis_lease::repository::DynamoDbLeaseRepository::new(&config, "my-app");
    /// assert_eq!(repo.table_name(), "my-app");
    /// # Ok(()) }
    /// ```
    pub fn new(config: &ClientConfig, table_name: impl Into<String>) -> Self {
        Self::with_options(config, table_name, TableOptions::default())
    }

    /// A repository on the table `table_name`, created (when missing) as `options` say.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), kinesis_client::Error> {
    /// use kinesis_lease::repository::{DynamoDbLeaseRepository, TableBilling, TableOptions};
    ///
    /// let config = kinesis_client::ClientConfig::from_env().await?;
    /// let options = TableOptions::default().with_billing(TableBilling::KCL_PROVISIONED);
    /// let repo = DynamoDbLeaseRepository::with_options(&config, "my-app", options);
    /// # let _ = repo; Ok(()) }
    /// ```
    pub fn with_options(
        config: &ClientConfig,
        table_name: impl Into<String>,
        options: TableOptions,
    ) -> Self {
        Self {
            stack: config.dynamodb_stack(),
            table: table_name.into(),
            options,
        }
    }

    /// The lease table's name.
    pub fn table_name(&self) -> &str {
        &self.table
    }

    /// The options for creating the table.
    pub fn options(&self) -> &TableOptions {
        &self.options
    }

    /// `DescribeTable`: the table's status, `None` when it does not exist.
    async fn table_status(&self) -> Result<Option<TableStatus>, LeaseError> {
        let op = DescribeTable {
            table: self.table.clone(),
        };
        match self.stack.call(op).await {
            Ok(status) => Ok(Some(status)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Polls until the table is `ACTIVE` (or `UPDATING`, which serves requests too).
    async fn wait_until_active(&self) -> Result<(), LeaseError> {
        let deadline = Instant::now() + self.options.wait_timeout;
        loop {
            match self.table_status().await? {
                Some(TableStatus::Active | TableStatus::Updating) => return Ok(()),
                // Just created: DescribeTable may not see the table for a moment.
                Some(TableStatus::Creating) | None => {}
                Some(other) => return Err(self.unusable(&other)),
            }
            if Instant::now() >= deadline {
                return Err(LeaseError::new(
                    LeaseErrorKind::Storage,
                    None,
                    format!(
                        "the lease table {} did not become ACTIVE within {:?}",
                        self.table, self.options.wait_timeout
                    ),
                ));
            }
            tokio::time::sleep(self.options.poll_interval).await;
        }
    }

    fn unusable(&self, status: &TableStatus) -> LeaseError {
        LeaseError::new(
            LeaseErrorKind::Storage,
            None,
            format!("the lease table {} is {}", self.table, status.as_str()),
        )
    }

    fn create_table_op(&self) -> Result<CreateTable, LeaseError> {
        let build = |e: kinesis_client::sdk::dynamodb::error::BuildError| {
            LeaseError::new(
                LeaseErrorKind::Storage,
                None,
                format!("CreateTable could not be built: {e}"),
            )
        };
        let throughput = match self.options.billing {
            TableBilling::PayPerRequest => None,
            TableBilling::Provisioned {
                read_capacity,
                write_capacity,
            } => Some(
                ProvisionedThroughput::builder()
                    .read_capacity_units(read_capacity)
                    .write_capacity_units(write_capacity)
                    .build()
                    .map_err(build)?,
            ),
        };
        let mut attributes = table::attribute_definitions().map_err(build)?;
        let index = if self.options.lease_owner_index {
            for a in table::lease_owner_index_attribute_definitions().map_err(build)? {
                if !attributes
                    .iter()
                    .any(|d| d.attribute_name() == a.attribute_name())
                {
                    attributes.push(a);
                }
            }
            Some(table::lease_owner_index(throughput.clone()).map_err(build)?)
        } else {
            None
        };
        Ok(CreateTable {
            table: self.table.clone(),
            key_schema: table::key_schema().map_err(build)?,
            attributes,
            throughput,
            index,
            deletion_protection: self.options.deletion_protection,
        })
    }

    /// Every item of the table: a consistent `Scan`, every page.
    async fn scan_items(&self) -> Result<Vec<Item>, LeaseError> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let op = Scan {
                table: self.table.clone(),
                start: start.take(),
            };
            let (page, last) = self.stack.call(op).await?;
            items.extend(page);
            match last {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(items),
            }
        }
    }

    /// A conditional `UpdateItem` returning the item it leaves.
    async fn update(&self, lease: &Lease, update: Update) -> Result<Lease, LeaseError> {
        let mut expr = Expressions::default();
        let condition = expr.condition(&update.conditions);
        let update_expression = update.update_expression(&mut expr);
        let op = UpdateItem {
            table: self.table.clone(),
            key: lease.lease_key.to_string(),
            update_expression,
            condition,
            names: expr.names,
            values: expr.values,
        };
        match self.stack.call(op).await {
            Ok(Some(item)) => stored_lease(&lease.lease_key, item),
            Ok(None) => Err(LeaseError::new(
                LeaseErrorKind::Storage,
                Some(&lease.lease_key),
                "UpdateItem returned no attributes",
            )),
            Err(e) if e.is_condition_failed() => {
                Err(LeaseError::lease_lost(&lease.lease_key).with_source(e))
            }
            Err(e) => Err(LeaseError::from(e).with_lease_key(&lease.lease_key)),
        }
    }
}

impl LeaseRepository for DynamoDbLeaseRepository {
    fn ensure_table(&self) -> BoxFuture<'_, Result<bool, LeaseError>> {
        Box::pin(async move {
            match self.table_status().await? {
                Some(TableStatus::Active | TableStatus::Updating) => return Ok(false),
                Some(TableStatus::Creating) => {
                    self.wait_until_active().await?;
                    return Ok(false);
                }
                Some(other) => return Err(self.unusable(&other)),
                None => {}
            }
            let created = match self.stack.call(self.create_table_op()?).await {
                Ok(()) => true,
                // Another worker created it first.
                Err(e) if e.kind() == kinesis_client::ErrorKind::ResourceInUse => false,
                Err(e) => return Err(e.into()),
            };
            self.wait_until_active().await?;
            Ok(created)
        })
    }

    fn list_leases(&self) -> BoxFuture<'_, Result<LeaseScan, LeaseError>> {
        Box::pin(async move {
            let mut scan = LeaseScan::default();
            for item in self.scan_items().await? {
                match ParsedRow::from_item(item) {
                    Ok(ParsedRow::Lease(lease)) => scan.leases.push(lease),
                    Ok(ParsedRow::NotALease { .. }) => scan.skipped_non_leases += 1,
                    Err(e) => scan.corrupt.push(e),
                }
            }
            Ok(scan)
        })
    }

    fn get_lease<'a>(
        &'a self,
        key: &'a LeaseKey,
    ) -> BoxFuture<'a, Result<Option<Lease>, LeaseError>> {
        Box::pin(async move {
            let op = GetItem {
                table: self.table.clone(),
                key: key.to_string(),
            };
            let item = self
                .stack
                .call(op)
                .await
                .map_err(|e| LeaseError::from(e).with_lease_key(key))?;
            match item.map(ParsedRow::from_item) {
                None | Some(Ok(ParsedRow::NotALease { .. })) => Ok(None),
                Some(Ok(ParsedRow::Lease(lease))) => Ok(Some(lease)),
                Some(Err(e)) => Err(LeaseError::new(
                    LeaseErrorKind::CorruptRow,
                    Some(key),
                    format!("the stored row cannot be read as a lease: {e}"),
                )
                .with_source(e)),
            }
        })
    }

    fn create_lease<'a>(&'a self, lease: &'a Lease) -> BoxFuture<'a, Result<Lease, LeaseError>> {
        Box::pin(async move {
            let item = lease.to_item();
            let mut expr = Expressions::default();
            let condition = expr.condition(&[Condition::Absent]);
            let op = PutItem {
                table: self.table.clone(),
                item: item.clone(),
                condition,
                names: expr.names,
                values: expr.values,
            };
            match self.stack.call(op).await {
                Ok(()) => stored_lease(&lease.lease_key, item),
                Err(e) if e.is_condition_failed() => {
                    Err(LeaseError::already_exists(&lease.lease_key).with_source(e))
                }
                Err(e) => Err(LeaseError::from(e).with_lease_key(&lease.lease_key)),
            }
        })
    }

    fn take_lease<'a>(
        &'a self,
        lease: &'a Lease,
        owner: &'a str,
    ) -> BoxFuture<'a, Result<Lease, LeaseError>> {
        Box::pin(self.update(lease, Update::take(lease, owner)))
    }

    fn renew_lease<'a>(&'a self, lease: &'a Lease) -> BoxFuture<'a, Result<Lease, LeaseError>> {
        Box::pin(self.update(lease, Update::renew(lease)))
    }

    fn update_checkpoint<'a>(
        &'a self,
        lease: &'a Lease,
        update: CheckpointUpdate,
    ) -> BoxFuture<'a, Result<Lease, LeaseError>> {
        Box::pin(self.update(lease, Update::checkpoint(lease, &update)))
    }

    fn release_lease<'a>(&'a self, lease: &'a Lease) -> BoxFuture<'a, Result<Lease, LeaseError>> {
        Box::pin(self.update(lease, Update::release(lease)))
    }

    fn delete_lease<'a>(&'a self, lease: &'a Lease) -> BoxFuture<'a, Result<(), LeaseError>> {
        Box::pin(async move {
            let mut expr = Expressions::default();
            let condition = expr.condition(&[Condition::CounterIs(lease.lease_counter)]);
            let op = DeleteItem {
                table: self.table.clone(),
                key: lease.lease_key.to_string(),
                condition,
                names: expr.names,
                values: expr.values,
            };
            match self.stack.call(op).await {
                Ok(()) => Ok(()),
                Err(e) if e.is_condition_failed() => {
                    Err(LeaseError::lease_lost(&lease.lease_key).with_source(e))
                }
                Err(e) => Err(LeaseError::from(e).with_lease_key(&lease.lease_key)),
            }
        })
    }

    fn kcl3(&self) -> Option<&dyn crate::repository::Kcl3Repository> {
        Some(self)
    }
}

// ---------------------------------------------------------------------------------------------
// The DynamoDB calls, as operations of the client stack.

fn key_item(key: &str) -> HashMap<String, AttributeValue> {
    HashMap::from([(
        attr::LEASE_KEY.to_owned(),
        AttributeValue::S(key.to_owned()),
    )])
}

fn non_empty<K, V>(map: HashMap<K, V>) -> Option<HashMap<K, V>> {
    (!map.is_empty()).then_some(map)
}

/// `DescribeTable`: the table's status.
#[derive(Clone, Debug)]
struct DescribeTable {
    table: String,
}

impl Operation for DescribeTable {
    type Client = Sdk;
    type Output = TableStatus;
    const NAME: &'static str = "DescribeTable";

    fn invoke(&self, sdk: &Sdk) -> OpFuture<Result<TableStatus, Error>> {
        let call = sdk.describe_table().table_name(&self.table).send();
        Box::pin(async move {
            let out = call.await.map_err(|e| Error::from_sdk(Self::NAME, e))?;
            out.table()
                .and_then(|t| t.table_status())
                .cloned()
                .ok_or_else(|| {
                    Error::from_code(
                        "MalformedResponse",
                        "DescribeTable returned no table status",
                        None,
                    )
                })
        })
    }
}

/// `CreateTable` of a lease table.
#[derive(Clone, Debug)]
struct CreateTable {
    table: String,
    key_schema: Vec<KeySchemaElement>,
    attributes: Vec<AttributeDefinition>,
    throughput: Option<ProvisionedThroughput>,
    index: Option<GlobalSecondaryIndex>,
    deletion_protection: bool,
}

impl Operation for CreateTable {
    type Client = Sdk;
    type Output = ();
    const NAME: &'static str = "CreateTable";

    fn invoke(&self, sdk: &Sdk) -> OpFuture<Result<(), Error>> {
        let billing = if self.throughput.is_some() {
            BillingMode::Provisioned
        } else {
            BillingMode::PayPerRequest
        };
        let call = sdk
            .create_table()
            .table_name(&self.table)
            .set_key_schema(Some(self.key_schema.clone()))
            .set_attribute_definitions(Some(self.attributes.clone()))
            .billing_mode(billing)
            .set_provisioned_throughput(self.throughput.clone())
            .set_global_secondary_indexes(self.index.clone().map(|i| vec![i]))
            .set_deletion_protection_enabled(self.deletion_protection.then_some(true))
            .send();
        Box::pin(async move {
            call.await
                .map(|_| ())
                .map_err(|e| Error::from_sdk(Self::NAME, e))
        })
    }
}

/// `GetItem` with a consistent read.
#[derive(Clone, Debug)]
struct GetItem {
    table: String,
    key: String,
}

impl Operation for GetItem {
    type Client = Sdk;
    type Output = Option<Item>;
    const NAME: &'static str = "GetItem";

    fn invoke(&self, sdk: &Sdk) -> OpFuture<Result<Option<Item>, Error>> {
        let call = sdk
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_item(&self.key)))
            .consistent_read(true)
            .send();
        Box::pin(async move {
            let out = call.await.map_err(|e| Error::from_sdk(Self::NAME, e))?;
            Ok(out.item.filter(|i| !i.is_empty()).map(item_from_sdk))
        })
    }
}

/// A conditional `PutItem`.
#[derive(Clone, Debug)]
struct PutItem {
    table: String,
    item: Item,
    condition: String,
    names: HashMap<String, String>,
    values: Item,
}

impl Operation for PutItem {
    type Client = Sdk;
    type Output = ();
    const NAME: &'static str = "PutItem";

    fn invoke(&self, sdk: &Sdk) -> OpFuture<Result<(), Error>> {
        let call = sdk
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item_to_sdk(self.item.clone())))
            .set_condition_expression((!self.condition.is_empty()).then(|| self.condition.clone()))
            .set_expression_attribute_names(non_empty(self.names.clone()))
            .set_expression_attribute_values(non_empty(item_to_sdk(self.values.clone())))
            .send();
        Box::pin(async move {
            call.await
                .map(|_| ())
                .map_err(|e| Error::from_sdk(Self::NAME, e))
        })
    }
}

/// A conditional `UpdateItem` returning the new item (`ALL_NEW`).
#[derive(Clone, Debug)]
struct UpdateItem {
    table: String,
    key: String,
    update_expression: String,
    condition: String,
    names: HashMap<String, String>,
    values: Item,
}

impl Operation for UpdateItem {
    type Client = Sdk;
    type Output = Option<Item>;
    const NAME: &'static str = "UpdateItem";

    fn invoke(&self, sdk: &Sdk) -> OpFuture<Result<Option<Item>, Error>> {
        let call = sdk
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_item(&self.key)))
            .update_expression(&self.update_expression)
            .condition_expression(&self.condition)
            .set_expression_attribute_names(non_empty(self.names.clone()))
            .set_expression_attribute_values(non_empty(item_to_sdk(self.values.clone())))
            .return_values(ReturnValue::AllNew)
            .send();
        Box::pin(async move {
            let out = call.await.map_err(|e| Error::from_sdk(Self::NAME, e))?;
            Ok(out.attributes.map(item_from_sdk))
        })
    }
}

/// A conditional `DeleteItem`.
#[derive(Clone, Debug)]
struct DeleteItem {
    table: String,
    key: String,
    condition: String,
    names: HashMap<String, String>,
    values: Item,
}

impl Operation for DeleteItem {
    type Client = Sdk;
    type Output = ();
    const NAME: &'static str = "DeleteItem";

    fn invoke(&self, sdk: &Sdk) -> OpFuture<Result<(), Error>> {
        let call = sdk
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key_item(&self.key)))
            .set_condition_expression((!self.condition.is_empty()).then(|| self.condition.clone()))
            .set_expression_attribute_names(non_empty(self.names.clone()))
            .set_expression_attribute_values(non_empty(item_to_sdk(self.values.clone())))
            .send();
        Box::pin(async move {
            call.await
                .map(|_| ())
                .map_err(|e| Error::from_sdk(Self::NAME, e))
        })
    }
}

/// One page of a consistent `Scan`: its items and the key to continue from.
#[derive(Clone, Debug)]
struct Scan {
    table: String,
    start: Option<HashMap<String, AttributeValue>>,
}

impl Operation for Scan {
    type Client = Sdk;
    type Output = (Vec<Item>, Option<HashMap<String, AttributeValue>>);
    const NAME: &'static str = "Scan";

    fn invoke(&self, sdk: &Sdk) -> OpFuture<Result<Self::Output, Error>> {
        let call = sdk
            .scan()
            .table_name(&self.table)
            .consistent_read(true)
            .set_exclusive_start_key(self.start.clone())
            .send();
        Box::pin(async move {
            let out = call.await.map_err(|e| Error::from_sdk(Self::NAME, e))?;
            let items = out.items.unwrap_or_default();
            Ok((
                items.into_iter().map(item_from_sdk).collect(),
                out.last_evaluated_key,
            ))
        })
    }
}
