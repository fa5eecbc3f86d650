//! The KCL 3.x rows and writes of [`DynamoDbLeaseRepository`]: the lease-owner index, its
//! queries, the leader's assignment and hand-over writes, and the fleet rows.

use std::collections::HashMap;

use kinesis_client::sdk::dynamodb::Client as Sdk;
use kinesis_client::sdk::dynamodb::types::{
    AttributeDefinition, AttributeValue as SdkValue, BillingMode, CreateGlobalSecondaryIndexAction,
    GlobalSecondaryIndexUpdate, IndexStatus, ProvisionedThroughput,
};
use kinesis_client::{BoxFuture as OpFuture, Error, Operation};
use kinesis_kcl_compat::fleet::WorkerMetricStats;
use kinesis_kcl_compat::lease::dynamodb::item_from_sdk;
use kinesis_kcl_compat::lease::{AttributeValue, Item, Lease, LeaseKey, attr, table};
use tokio::time::Instant;

use super::write::{self, Expressions, Update};
use super::{DeleteItem, DynamoDbLeaseRepository, GetItem, PutItem};
use crate::error::{LeaseError, LeaseErrorKind};
use crate::repository::BoxFuture;
use crate::repository::kcl3::{FleetScan, Kcl3Repository, RowCondition, fleet_scan};

impl DynamoDbLeaseRepository {
    async fn index_state(&self) -> Result<IndexState, LeaseError> {
        let op = DescribeIndex {
            table: self.table.clone(),
        };
        Ok(self.stack.call(op).await?)
    }

    async fn put_row_op(&self, item: Item, condition: &RowCondition) -> Result<(), LeaseError> {
        let key = write::row_key(&item)?;
        let mut expr = Expressions::default();
        let condition = expr.condition(&write::row_conditions(condition));
        let op = PutItem {
            table: self.table.clone(),
            item,
            condition,
            names: expr.names,
            values: expr.values,
        };
        match self.stack.call(op).await {
            Ok(()) => Ok(()),
            Err(e) if e.is_condition_failed() => {
                Err(write::row_condition_failed(&key).with_source(e))
            }
            Err(e) => Err(LeaseError::from(e)),
        }
    }
}

impl Kcl3Repository for DynamoDbLeaseRepository {
    fn ensure_lease_owner_index(&self) -> BoxFuture<'_, Result<bool, LeaseError>> {
        Box::pin(async move {
            let state = self.index_state().await?;
            let created = if state.index.is_none() {
                let op = CreateIndex {
                    table: self.table.clone(),
                    throughput: state.throughput,
                };
                match self.stack.call(op).await {
                    Ok(()) => true,
                    // Another worker asked first.
                    Err(e) if e.kind() == kinesis_client::ErrorKind::ResourceInUse => false,
                    Err(e) if e.message().contains("already exists") => false,
                    Err(e) => return Err(e.into()),
                }
            } else {
                false
            };
            let deadline = Instant::now() + self.options.wait_timeout;
            loop {
                if self.index_state().await?.index == Some(IndexStatus::Active) {
                    return Ok(created);
                }
                if Instant::now() >= deadline {
                    return Err(LeaseError::new(
                        LeaseErrorKind::Storage,
                        None,
                        format!(
                            "the index {} of {} did not become ACTIVE within {:?}",
                            table::LEASE_OWNER_INDEX,
                            self.table,
                            self.options.wait_timeout
                        ),
                    ));
                }
                tokio::time::sleep(self.options.poll_interval).await;
            }
        })
    }

    fn lease_keys_of<'a>(
        &'a self,
        owner: &'a str,
    ) -> BoxFuture<'a, Result<Vec<LeaseKey>, LeaseError>> {
        Box::pin(async move {
            let mut keys = Vec::new();
            let mut start = None;
            loop {
                let op = QueryOwner {
                    table: self.table.clone(),
                    owner: owner.to_owned(),
                    start: start.take(),
                };
                let (items, last) = self.stack.call(op).await?;
                keys.extend(
                    items
                        .into_iter()
                        .filter_map(|item| match item.get(attr::LEASE_KEY) {
                            Some(AttributeValue::S(k)) => k.parse().ok(),
                            _ => None,
                        }),
                );
                match last {
                    Some(key) if !key.is_empty() => start = Some(key),
                    _ => return Ok(keys),
                }
            }
        })
    }

    fn scan_fleet(&self) -> BoxFuture<'_, Result<FleetScan, LeaseError>> {
        Box::pin(async move { Ok(fleet_scan(self.scan_items().await?)) })
    }

    fn put_worker_metrics<'a>(
        &'a self,
        stats: &'a WorkerMetricStats,
    ) -> BoxFuture<'a, Result<(), LeaseError>> {
        Box::pin(self.put_row_op(stats.to_item(), &RowCondition::Always))
    }

    fn assign_lease<'a>(
        &'a self,
        lease: &'a Lease,
        owner: &'a str,
    ) -> BoxFuture<'a, Result<Lease, LeaseError>> {
        Box::pin(self.update(lease, Update::assign(lease, owner)))
    }

    fn start_handoff<'a>(
        &'a self,
        lease: &'a Lease,
        to: &'a str,
    ) -> BoxFuture<'a, Result<Lease, LeaseError>> {
        Box::pin(self.update(lease, Update::start_handoff(lease, to)))
    }

    fn complete_handoff<'a>(
        &'a self,
        lease: &'a Lease,
        from: &'a str,
    ) -> BoxFuture<'a, Result<Lease, LeaseError>> {
        Box::pin(self.update(lease, Update::complete_handoff(lease, from)))
    }

    fn get_row<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Item>, LeaseError>> {
        Box::pin(async move {
            let op = GetItem {
                table: self.table.clone(),
                key: key.to_owned(),
            };
            Ok(self.stack.call(op).await?)
        })
    }

    fn put_row<'a>(
        &'a self,
        item: Item,
        condition: RowCondition,
    ) -> BoxFuture<'a, Result<(), LeaseError>> {
        Box::pin(async move { self.put_row_op(item, &condition).await })
    }

    fn delete_row<'a>(
        &'a self,
        key: &'a str,
        condition: RowCondition,
    ) -> BoxFuture<'a, Result<(), LeaseError>> {
        Box::pin(async move {
            let mut expr = Expressions::default();
            let condition = expr.condition(&write::row_conditions(&condition));
            let op = DeleteItem {
                table: self.table.clone(),
                key: key.to_owned(),
                condition,
                names: expr.names,
                values: expr.values,
            };
            match self.stack.call(op).await {
                Ok(()) => Ok(()),
                Err(e) if e.is_condition_failed() => {
                    Err(write::row_condition_failed(key).with_source(e))
                }
                Err(e) => Err(LeaseError::from(e)),
            }
        })
    }
}

/// What `DescribeTable` says about the lease-owner index, and the throughput a new index
/// copies (`None` for an on-demand table).
#[derive(Clone, Debug)]
struct IndexState {
    index: Option<IndexStatus>,
    throughput: Option<ProvisionedThroughput>,
}

/// `DescribeTable`, for the lease-owner index.
#[derive(Clone, Debug)]
struct DescribeIndex {
    table: String,
}

impl Operation for DescribeIndex {
    type Client = Sdk;
    type Output = IndexState;
    const NAME: &'static str = "DescribeTable";

    fn invoke(&self, sdk: &Sdk) -> OpFuture<Result<IndexState, Error>> {
        let call = sdk.describe_table().table_name(&self.table).send();
        Box::pin(async move {
            let out = call.await.map_err(|e| Error::from_sdk(Self::NAME, e))?;
            let Some(t) = out.table() else {
                return Err(Error::from_code(
                    "MalformedResponse",
                    "DescribeTable returned no table",
                    None,
                ));
            };
            let index = t
                .global_secondary_indexes()
                .iter()
                .find(|i| i.index_name() == Some(table::LEASE_OWNER_INDEX))
                .map(|i| i.index_status().cloned().unwrap_or(IndexStatus::Creating));
            let on_demand = t
                .billing_mode_summary()
                .and_then(|b| b.billing_mode())
                .is_some_and(|m| *m == BillingMode::PayPerRequest);
            let throughput = match t.provisioned_throughput() {
                Some(p) if !on_demand && p.read_capacity_units().unwrap_or(0) > 0 => {
                    ProvisionedThroughput::builder()
                        .read_capacity_units(p.read_capacity_units().unwrap_or(0))
                        .write_capacity_units(p.write_capacity_units().unwrap_or(0))
                        .build()
                        .ok()
                }
                _ => None,
            };
            Ok(IndexState { index, throughput })
        })
    }
}

/// `UpdateTable` creating the lease-owner index, as the KCL 3.x does.
#[derive(Clone, Debug)]
struct CreateIndex {
    table: String,
    throughput: Option<ProvisionedThroughput>,
}

impl Operation for CreateIndex {
    type Client = Sdk;
    type Output = ();
    const NAME: &'static str = "UpdateTable";

    fn invoke(&self, sdk: &Sdk) -> OpFuture<Result<(), Error>> {
        let built = (|| {
            let index = table::lease_owner_index(self.throughput.clone())?;
            let mut create = CreateGlobalSecondaryIndexAction::builder()
                .index_name(table::LEASE_OWNER_INDEX)
                .set_key_schema(Some(index.key_schema().to_vec()))
                .set_provisioned_throughput(self.throughput.clone());
            if let Some(p) = index.projection() {
                create = create.projection(p.clone());
            }
            let attributes: Vec<AttributeDefinition> =
                table::lease_owner_index_attribute_definitions()?;
            Ok::<_, kinesis_client::sdk::dynamodb::error::BuildError>((create.build()?, attributes))
        })();
        let (create, attributes) = match built {
            Ok(b) => b,
            Err(e) => {
                let e = Error::from_code(
                    "InvalidRequest",
                    &format!("UpdateTable could not be built: {e}"),
                    None,
                );
                return Box::pin(async move { Err(e) });
            }
        };
        let call = sdk
            .update_table()
            .table_name(&self.table)
            .set_attribute_definitions(Some(attributes))
            .global_secondary_index_updates(
                GlobalSecondaryIndexUpdate::builder().create(create).build(),
            )
            .send();
        Box::pin(async move {
            call.await
                .map(|_| ())
                .map_err(|e| Error::from_sdk(Self::NAME, e))
        })
    }
}

/// One page of a `Query` of the lease-owner index: the keys of `owner`'s leases.
#[derive(Clone, Debug)]
struct QueryOwner {
    table: String,
    owner: String,
    start: Option<HashMap<String, SdkValue>>,
}

impl Operation for QueryOwner {
    type Client = Sdk;
    type Output = (Vec<Item>, Option<HashMap<String, SdkValue>>);
    const NAME: &'static str = "Query";

    fn invoke(&self, sdk: &Sdk) -> OpFuture<Result<Self::Output, Error>> {
        let call = sdk
            .query()
            .table_name(&self.table)
            .index_name(table::LEASE_OWNER_INDEX)
            .key_condition_expression("#o = :o")
            .expression_attribute_names("#o", attr::LEASE_OWNER)
            .expression_attribute_values(":o", SdkValue::S(self.owner.clone()))
            .set_exclusive_start_key(self.start.clone())
            .send();
        Box::pin(async move {
            let out = call.await.map_err(|e| Error::from_sdk(Self::NAME, e))?;
            Ok((
                out.items
                    .unwrap_or_default()
                    .into_iter()
                    .map(item_from_sdk)
                    .collect(),
                out.last_evaluated_key,
            ))
        })
    }
}
