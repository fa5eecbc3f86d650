//! Lease storage of one's own: the consumer keeps its leases through the `LeaseRepository`
//! trait. Here a decorator around the KCL's DynamoDB table writes an audit line for every
//! change of ownership and every checkpoint; a different store (another database, or
//! `InMemoryLeaseRepository` for a single process) plugs in the same way.
//!
//! ```sh
//! cargo run -p kinesis-examples --bin custom_lease_storage -- <stream> <application>
//! ```
//!
//! Prints `<shard> <data>` per record, and `audit <event> <lease> ...` per lease write, on
//! stdout; stops on SIGTERM or Ctrl-C.

use std::sync::Arc;

use kinesis_consumer::{CheckpointPolicy, ClientConfig, Consumer, InitialPosition, Utf8};
use kinesis_lease::{
    BoxFuture, CheckpointUpdate, DynamoDbLeaseRepository, Lease, LeaseError, LeaseKey,
    LeaseRepository, LeaseScan,
};

/// Writes through to `inner`, and reports each write that succeeded.
#[derive(Debug)]
struct Audited<R> {
    inner: R,
}

impl<R> Audited<R> {
    fn report(&self, event: &str, lease: &Lease) {
        println!(
            "audit {event} {} owner={} checkpoint={}",
            lease.lease_key,
            lease.lease_owner.as_deref().unwrap_or("-"),
            lease.checkpoint
        );
    }
}

impl<R: LeaseRepository> LeaseRepository for Audited<R> {
    fn ensure_table(&self) -> BoxFuture<'_, Result<bool, LeaseError>> {
        self.inner.ensure_table()
    }

    fn list_leases(&self) -> BoxFuture<'_, Result<LeaseScan, LeaseError>> {
        self.inner.list_leases()
    }

    fn get_lease<'a>(
        &'a self,
        key: &'a LeaseKey,
    ) -> BoxFuture<'a, Result<Option<Lease>, LeaseError>> {
        self.inner.get_lease(key)
    }

    fn create_lease<'a>(&'a self, lease: &'a Lease) -> BoxFuture<'a, Result<Lease, LeaseError>> {
        Box::pin(async move {
            let created = self.inner.create_lease(lease).await?;
            self.report("created", &created);
            Ok(created)
        })
    }

    fn take_lease<'a>(
        &'a self,
        lease: &'a Lease,
        owner: &'a str,
    ) -> BoxFuture<'a, Result<Lease, LeaseError>> {
        Box::pin(async move {
            let taken = self.inner.take_lease(lease, owner).await?;
            self.report("taken", &taken);
            Ok(taken)
        })
    }

    // Renewals are not audited: one per held lease every few seconds.
    fn renew_lease<'a>(&'a self, lease: &'a Lease) -> BoxFuture<'a, Result<Lease, LeaseError>> {
        self.inner.renew_lease(lease)
    }

    fn update_checkpoint<'a>(
        &'a self,
        lease: &'a Lease,
        update: CheckpointUpdate,
    ) -> BoxFuture<'a, Result<Lease, LeaseError>> {
        Box::pin(async move {
            let release = update.release;
            let stored = self.inner.update_checkpoint(lease, update).await?;
            self.report(
                if release {
                    "checkpointed-and-released"
                } else {
                    "checkpointed"
                },
                &stored,
            );
            Ok(stored)
        })
    }

    fn release_lease<'a>(&'a self, lease: &'a Lease) -> BoxFuture<'a, Result<Lease, LeaseError>> {
        Box::pin(async move {
            let released = self.inner.release_lease(lease).await?;
            self.report("released", &released);
            Ok(released)
        })
    }

    fn delete_lease<'a>(&'a self, lease: &'a Lease) -> BoxFuture<'a, Result<(), LeaseError>> {
        Box::pin(async move {
            self.inner.delete_lease(lease).await?;
            self.report("deleted", lease);
            Ok(())
        })
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .init();
    let mut args = std::env::args().skip(1);
    let (Some(stream), Some(application)) = (args.next(), args.next()) else {
        return Err("usage: custom_lease_storage <stream> <application>".into());
    };

    let config = ClientConfig::from_env().await?;
    // The KCL's table, named after the application as the KCL names it.
    let table = DynamoDbLeaseRepository::new(&config, &application);
    let consumer: Consumer<String> = Consumer::builder(&config, stream, application)
        .deserializer(Utf8)
        .initial_position(InitialPosition::TrimHorizon)
        .lease_repository(Arc::new(Audited { inner: table }))
        .shutdown_on_signals()
        .build()
        .await?;
    consumer
        .consume_with(CheckpointPolicy::default(), |record| async move {
            println!("{} {}", record.shard_id(), record.data());
            Ok(())
        })
        .await?;
    eprintln!("stopped");
    Ok(())
}
