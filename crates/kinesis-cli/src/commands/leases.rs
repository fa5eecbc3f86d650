//! `kinesis leases`: the lease table of a KCL application (or of this workspace's consumer,
//! which writes the same format): list, show, reset, rewind, release, transfer, delete.
//!
//! Every write is a conditional write on the lease counter as read, as a KCL worker's: when a
//! worker changed the lease in between, nothing is written and the command says so (exit 4).
//! A worker that held a rewound, released or transferred lease loses it at its next renewal.

use std::time::{Duration, SystemTime};

use clap::{Subcommand, ValueEnum};
use kinesis_client::{Client, StreamId};
use kinesis_kcl_compat::sequence::{Checkpoint, ExtendedSequenceNumber};
use kinesis_lease::{
    CheckpointUpdate, DynamoDbLeaseRepository, Lease, LeaseKey, LeaseRepository, LeaseScan,
};
use serde_json::{Value, json};

use crate::commands::stream::stream_id;
use crate::confirm::confirm;
use crate::context::Global;
use crate::error::{CliError, Exit, Result};
use crate::output::{self, Table, or_dash};
use crate::position::{Target, checkpoint_before};
use crate::time::parse_time;

/// The application whose lease table to use.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct App {
    /// The application name (the KCL's `applicationName`).
    #[arg(long, short = 'a', value_name = "APPLICATION")]
    app: String,
    /// The lease table, when it is not named after the application.
    #[arg(long, value_name = "TABLE")]
    table: Option<String>,
}

impl App {
    fn table(&self) -> &str {
        self.table.as_deref().unwrap_or(&self.app)
    }
}

/// Which leases a write applies to.
#[derive(clap::Args, Debug, Clone)]
#[group(required = true, multiple = false)]
pub(crate) struct Which {
    /// The lease key (the shard id, or `account:stream:epoch:shard` in a multi-stream table).
    #[arg(long, value_name = "LEASE_KEY")]
    lease: Option<String>,
    /// Every lease of the table.
    #[arg(long)]
    all: bool,
}

#[derive(Subcommand, Debug)]
pub(crate) enum Command {
    /// A table of every lease: owner, counter, checkpoint, parents and children, and with
    /// --stream how far each checkpoint is behind the tip of its shard.
    List {
        #[command(flatten)]
        app: App,
        /// The stream the application reads: adds each lease's lag (one GetRecords call per
        /// unfinished lease).
        #[arg(long, short = 's', value_name = "STREAM")]
        stream: Option<String>,
    },
    /// Every attribute of one lease.
    Show {
        #[command(flatten)]
        app: App,
        /// The lease key.
        lease: String,
    },
    /// Set checkpoints back to the start (TRIM_HORIZON) or to the tip (LATEST) of their shards.
    Reset {
        #[command(flatten)]
        app: App,
        #[command(flatten)]
        which: Which,
        /// Where the consumer starts again.
        #[arg(long, value_enum, default_value_t = ResetTo::TrimHorizon)]
        to: ResetTo,
        /// Do not ask for confirmation.
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Set checkpoints so that the consumer starts again at a time or at a record.
    Rewind {
        #[command(flatten)]
        app: App,
        #[command(flatten)]
        which: Which,
        /// The stream the application reads (the lease table does not name it).
        #[arg(long, short = 's', value_name = "STREAM")]
        stream: String,
        /// Start at the first record that arrived at or after this time (RFC 3339, seconds
        /// since the epoch, or a time ago such as 2h).
        #[arg(
            long,
            value_name = "TIME",
            conflicts_with = "to_sequence",
            required_unless_present = "to_sequence"
        )]
        to_time: Option<String>,
        /// Start at this record of the lease's shard: `SEQUENCE`, or `SEQUENCE:SUB` inside a
        /// KPL aggregate (with --lease only).
        #[arg(long, value_name = "SEQUENCE", conflicts_with = "all")]
        to_sequence: Option<String>,
        /// Do not ask for confirmation.
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Clear a lease's owner, so that any worker takes it at once.
    Release {
        #[command(flatten)]
        app: App,
        /// The lease key.
        lease: String,
        /// Do not ask for confirmation.
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Give a lease to a worker (the new owner must be running to renew it).
    Transfer {
        #[command(flatten)]
        app: App,
        /// The lease key.
        lease: String,
        /// The worker identifier of the new owner.
        #[arg(long, value_name = "WORKER_ID")]
        to: String,
        /// Do not ask for confirmation.
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Delete a lease (for a shard that no longer exists). Workers create leases again for
    /// shards that still exist, at their initial position.
    Delete {
        #[command(flatten)]
        app: App,
        /// The lease key.
        lease: String,
        /// Do not ask for confirmation.
        #[arg(long, short = 'y')]
        yes: bool,
    },
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum ResetTo {
    /// The oldest record still retained.
    TrimHorizon,
    /// Only records written after the consumer starts again.
    Latest,
}

/// One planned write.
#[derive(Debug)]
enum Action {
    Checkpoint(Checkpoint),
    Release,
    Transfer(String),
    Delete,
}

#[derive(Debug)]
struct Change {
    lease: Lease,
    action: Action,
}

pub(crate) async fn run(global: &Global, command: Command) -> Result<()> {
    let config = global.client_config().await?;
    let repo = |app: &App| DynamoDbLeaseRepository::new(&config, app.table());
    match command {
        Command::List { app, stream } => {
            let lag = match stream {
                Some(stream) => Some((Client::new(&config), stream_id(&stream)?)),
                None => None,
            };
            list(global, &repo(&app), app.table(), lag.as_ref()).await
        }
        Command::Show { app, lease } => {
            let repo = repo(&app);
            let lease = get(&repo, app.table(), &lease).await?;
            if global.json() {
                output::json(&lease_json(&lease));
            } else {
                output::text(&lease_text(&lease));
            }
            Ok(())
        }
        Command::Reset {
            app,
            which,
            to,
            yes,
        } => {
            let repo = repo(&app);
            let leases = select(&repo, app.table(), &which).await?;
            let checkpoint = match to {
                ResetTo::TrimHorizon => Checkpoint::TRIM_HORIZON,
                ResetTo::Latest => Checkpoint::LATEST,
            };
            let changes = leases
                .into_iter()
                .map(|lease| Change {
                    lease,
                    action: Action::Checkpoint(checkpoint.clone()),
                })
                .collect();
            apply(global, &repo, app.table(), changes, yes).await
        }
        Command::Rewind {
            app,
            which,
            stream,
            to_time,
            to_sequence,
            yes,
        } => {
            let repo = repo(&app);
            let stream = stream_id(&stream)?;
            let target = match (to_time, to_sequence) {
                (Some(time), _) => Target::Time(
                    parse_time(&time, SystemTime::now())
                        .map_err(|e| CliError::usage(format!("bad --to-time: {e}")))?,
                ),
                (None, Some(seq)) => Target::Record(
                    seq.parse::<ExtendedSequenceNumber>()
                        .map_err(|e| CliError::usage(format!("bad --to-sequence {seq:?}: {e}")))?,
                ),
                (None, None) => return Err(CliError::usage("give --to-time or --to-sequence")),
            };
            let leases = select(&repo, app.table(), &which).await?;
            let client = Client::new(&config);
            let mut changes = Vec::new();
            for lease in leases {
                if let Some(change) = rewind_change(&client, &stream, lease, &target).await? {
                    changes.push(change);
                }
            }
            apply(global, &repo, app.table(), changes, yes).await
        }
        Command::Release { app, lease, yes } => {
            let repo = repo(&app);
            let lease = get(&repo, app.table(), &lease).await?;
            if lease.lease_owner.is_none() {
                println!("Lease {} has no owner; nothing to do.", lease.lease_key);
                return Ok(());
            }
            let changes = vec![Change {
                lease,
                action: Action::Release,
            }];
            apply(global, &repo, app.table(), changes, yes).await
        }
        Command::Transfer {
            app,
            lease,
            to,
            yes,
        } => {
            let repo = repo(&app);
            let lease = get(&repo, app.table(), &lease).await?;
            let changes = vec![Change {
                lease,
                action: Action::Transfer(to),
            }];
            apply(global, &repo, app.table(), changes, yes).await
        }
        Command::Delete { app, lease, yes } => {
            let repo = repo(&app);
            let lease = get(&repo, app.table(), &lease).await?;
            let changes = vec![Change {
                lease,
                action: Action::Delete,
            }];
            apply(global, &repo, app.table(), changes, yes).await
        }
    }
}

async fn scan(repo: &dyn LeaseRepository, table: &str) -> Result<LeaseScan> {
    repo.list_leases().await.map_err(|e| table_error(table, &e))
}

/// A lease table's error; a missing table gets a hint.
fn table_error(table: &str, e: &kinesis_lease::LeaseError) -> CliError {
    let err = CliError::lease(format!("reading the lease table {table}"), e);
    if err.exit() == Exit::NotFound {
        return CliError::not_found(format!(
            "the lease table {table} does not exist (the KCL names it after the application; --table names another): {}",
            crate::error::chain(e)
        ));
    }
    err
}

fn parse_key(text: &str) -> Result<LeaseKey> {
    text.parse::<LeaseKey>()
        .map_err(|e| CliError::usage(format!("bad lease key {text:?}: {e}")))
}

async fn get(repo: &dyn LeaseRepository, table: &str, key: &str) -> Result<Lease> {
    let key = parse_key(key)?;
    repo.get_lease(&key)
        .await
        .map_err(|e| table_error(table, &e))?
        .ok_or_else(|| CliError::not_found(format!("the lease table {table} has no lease {key}")))
}

async fn select(repo: &dyn LeaseRepository, table: &str, which: &Which) -> Result<Vec<Lease>> {
    match &which.lease {
        Some(key) => Ok(vec![get(repo, table, key).await?]),
        None => {
            let scan = scan(repo, table).await?;
            if let Some(bad) = scan.corrupt.first() {
                return Err(CliError::new(
                    Exit::CorruptRows,
                    format!(
                        "the lease table {table} has {} rows that are not readable leases (the first: {bad}); repair or delete them, or name one lease with --lease",
                        scan.corrupt.len()
                    ),
                ));
            }
            let mut leases = scan.leases;
            leases.sort_by_key(|l| l.lease_key.to_string());
            Ok(leases)
        }
    }
}

async fn rewind_change(
    client: &Client,
    stream: &StreamId,
    lease: Lease,
    target: &Target,
) -> Result<Option<Change>> {
    let shard = lease.lease_key.shard_id().clone();
    if let Some(multi) = lease.lease_key.stream()
        && multi.stream_name() != stream.name()
    {
        // A multi-stream table: only the leases of the stream named.
        return Ok(None);
    }
    let resolved = checkpoint_before(
        client,
        stream,
        &shard,
        target.clone(),
        Duration::from_secs(300),
    )
    .await
    .map_err(|e| e.context(format!("lease {}", lease.lease_key)))?;
    if resolved.first.is_none() && lease.checkpoint.is_shard_end() {
        // The shard ended before that time: it stays finished.
        return Ok(None);
    }
    Ok(Some(Change {
        lease,
        action: Action::Checkpoint(resolved.checkpoint),
    }))
}

fn describe(change: &Change) -> String {
    let lease = &change.lease;
    let owner = match &lease.lease_owner {
        Some(owner) => format!(" (held by {owner}, who loses it)"),
        None => String::new(),
    };
    match &change.action {
        Action::Checkpoint(to) => format!(
            "{}: checkpoint {} -> {to}{owner}",
            lease.lease_key, lease.checkpoint
        ),
        Action::Release => format!(
            "{}: owner {} -> none",
            lease.lease_key,
            or_dash(lease.lease_owner.as_ref())
        ),
        Action::Transfer(to) => format!(
            "{}: owner {} -> {to}",
            lease.lease_key,
            or_dash(lease.lease_owner.as_ref())
        ),
        Action::Delete => format!(
            "{}: delete (checkpoint {}{owner})",
            lease.lease_key, lease.checkpoint
        ),
    }
}

/// Why a planned write was not made.
enum Skipped {
    /// The lease's owner or checkpoint changed since the plan was shown.
    Conflict(String),
    /// The lease table failed.
    Failed(kinesis_lease::LeaseError),
}

/// Re-reads the lease just before writing, so that a running worker's renewals (which only
/// move the counter) do not turn every write into a conflict; a changed owner or checkpoint
/// does, as does a write that loses the conditional race.
async fn write(repo: &dyn LeaseRepository, change: &Change) -> std::result::Result<(), Skipped> {
    let planned = &change.lease;
    let fresh = repo
        .get_lease(&planned.lease_key)
        .await
        .map_err(Skipped::Failed)?
        .ok_or_else(|| Skipped::Conflict("deleted since it was read".to_owned()))?;
    if fresh.lease_owner != planned.lease_owner {
        return Err(Skipped::Conflict(format!(
            "its owner changed since it was read ({} -> {})",
            or_dash(planned.lease_owner.as_ref()),
            or_dash(fresh.lease_owner.as_ref())
        )));
    }
    if fresh.checkpoint != planned.checkpoint {
        return Err(Skipped::Conflict(format!(
            "its checkpoint changed since it was read ({} -> {})",
            planned.checkpoint, fresh.checkpoint
        )));
    }
    write_lease(repo, &fresh, &change.action)
        .await
        .map_err(|e| match e.kind() {
            kinesis_lease::LeaseErrorKind::LeaseLost => {
                Skipped::Conflict("a worker wrote it at the same moment".to_owned())
            }
            _ => Skipped::Failed(e),
        })
}

async fn write_lease(
    repo: &dyn LeaseRepository,
    lease: &Lease,
    action: &Action,
) -> std::result::Result<(), kinesis_lease::LeaseError> {
    match action {
        Action::Checkpoint(checkpoint) => repo
            .update_checkpoint(
                lease,
                CheckpointUpdate {
                    checkpoint: checkpoint.clone(),
                    child_shard_ids: None,
                    // The holder loses the lease; whoever takes it next starts at the new
                    // checkpoint.
                    release: lease.lease_owner.is_some(),
                },
            )
            .await
            .map(drop),
        Action::Release => repo.release_lease(lease).await.map(drop),
        Action::Transfer(owner) => repo.take_lease(lease, owner).await.map(drop),
        Action::Delete => repo.delete_lease(lease).await,
    }
}

/// Shows the plan, asks, writes each change conditionally, and reports.
async fn apply(
    global: &Global,
    repo: &dyn LeaseRepository,
    table: &str,
    changes: Vec<Change>,
    yes: bool,
) -> Result<()> {
    if changes.is_empty() {
        if global.json() {
            output::json(&json!({ "table": table, "changed": [], "conflicts": [] }));
        } else {
            println!("Nothing to change in {table}.");
        }
        return Ok(());
    }
    let plan: Vec<String> = changes.iter().map(describe).collect();
    if !global.json() || !yes {
        eprintln!("In lease table {table}:");
        for line in &plan {
            eprintln!("  {line}");
        }
    }
    confirm(
        format!("Write {} change(s) to {table}?", changes.len()),
        yes,
    )
    .await?;
    let mut changed = Vec::new();
    let mut conflicts = Vec::new();
    let mut failures = Vec::new();
    for (change, line) in changes.iter().zip(plan) {
        match write(repo, change).await {
            Ok(()) => changed.push(line),
            Err(Skipped::Conflict(why)) => {
                conflicts.push(format!("{}: {why}; not written", change.lease.lease_key))
            }
            Err(Skipped::Failed(e)) => failures.push(format!(
                "{}: {}",
                change.lease.lease_key,
                crate::error::chain(&e)
            )),
        }
    }
    if global.json() {
        output::json(&json!({
            "table": table,
            "changed": changed,
            "conflicts": conflicts,
            "failures": failures,
        }));
    } else {
        for line in &changed {
            println!("Changed {line}");
        }
    }
    if !failures.is_empty() {
        return Err(CliError::failure(format!(
            "{} of {} writes failed: {}",
            failures.len(),
            changes.len(),
            failures.join("; ")
        )));
    }
    if !conflicts.is_empty() {
        return Err(CliError::new(
            Exit::Conflict,
            format!(
                "{} of {} leases changed since they were read; run the command again: {}",
                conflicts.len(),
                changes.len(),
                conflicts.join("; ")
            ),
        ));
    }
    Ok(())
}

/// How far a lease's checkpoint is behind the tip of its shard.
#[derive(Clone, Debug, PartialEq)]
enum Lag {
    /// Milliseconds behind the newest record, as Kinesis reports for the next record to read.
    Behind(i64),
    /// The shard was read to its end.
    Finished,
    /// It could not be measured (the shard is gone, the checkpoint is outside retention, ...).
    Unknown(String),
}

impl std::fmt::Display for Lag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Lag::Behind(ms) => write!(f, "{:.1} s", *ms as f64 / 1000.0),
            Lag::Finished => f.write_str("done"),
            Lag::Unknown(_) => f.write_str("?"),
        }
    }
}

/// Reads one record after the checkpoint and takes the `MillisBehindLatest` of the answer.
async fn lag_of(client: &Client, stream: &StreamId, lease: &Lease) -> Lag {
    use kinesis_client::StartingPosition;
    use kinesis_kcl_compat::sequence::Sentinel;
    let position = match (lease.checkpoint.sequence(), lease.checkpoint.sentinel()) {
        (Some(esn), _) => StartingPosition::AfterSequenceNumber(esn.sequence_number().clone()),
        (None, Some(Sentinel::ShardEnd)) => return Lag::Finished,
        (None, Some(Sentinel::Latest)) => return Lag::Behind(0),
        _ => StartingPosition::TrimHorizon,
    };
    let shard = lease.lease_key.shard_id();
    let read = async {
        let iterator = client.get_shard_iterator(stream, shard, position).await?;
        client.get_records(&iterator, Some(1)).await
    };
    match read.await {
        Ok(out) if out.is_shard_end() && out.records().is_empty() => Lag::Finished,
        Ok(out) => out.millis_behind_latest().map_or_else(
            || Lag::Unknown("no MillisBehindLatest".to_owned()),
            Lag::Behind,
        ),
        Err(e) => Lag::Unknown(e.to_string()),
    }
}

async fn list(
    global: &Global,
    repo: &dyn LeaseRepository,
    table: &str,
    lag: Option<&(Client, StreamId)>,
) -> Result<()> {
    let scan = scan(repo, table).await?;
    let mut leases: Vec<&Lease> = scan.leases.iter().collect();
    leases.sort_by_key(|l| l.lease_key.to_string());
    let mut lags = Vec::with_capacity(leases.len());
    if let Some((client, stream)) = lag {
        for lease in &leases {
            lags.push(Some(lag_of(client, stream, lease).await));
        }
    } else {
        lags.resize(leases.len(), None);
    }
    if global.json() {
        output::json(&json!({
            "table": table,
            "leases": leases.iter().zip(&lags).map(|(l, lag)| {
                let mut value = lease_json(l);
                match lag {
                    Some(Lag::Behind(ms)) => value["millis_behind_latest"] = json!(ms),
                    Some(Lag::Finished) => value["finished"] = json!(true),
                    Some(Lag::Unknown(why)) => value["lag_unknown"] = json!(why),
                    None => {}
                }
                value
            }).collect::<Vec<_>>(),
            "skipped_non_lease_rows": scan.skipped_non_leases,
            "corrupt_rows": scan.corrupt.iter().map(|e| json!({
                "lease_key": e.lease_key(),
                "attribute": e.attribute(),
                "problem": e.to_string(),
            })).collect::<Vec<_>>(),
        }));
    } else {
        let mut header = vec![
            "LEASE KEY",
            "OWNER",
            "COUNTER",
            "CHECKPOINT",
            "PARENTS",
            "CHILDREN",
        ];
        if lag.is_some() {
            header.push("LAG");
        }
        let mut t = Table::new(header);
        for (lease, lag) in leases.iter().zip(&lags) {
            let mut checkpoint = lease.checkpoint.to_string();
            if let Some(pending) = &lease.pending_checkpoint {
                checkpoint.push_str(&format!(" (pending {pending})"));
            }
            let mut row = vec![
                lease.lease_key.to_string(),
                or_dash(lease.lease_owner.as_ref()),
                lease.lease_counter.to_string(),
                checkpoint,
                join(lease.parent_shard_ids.iter()),
                join(lease.child_shard_ids.iter()),
            ];
            if let Some(lag) = lag {
                row.push(lag.to_string());
            }
            t.row(row);
        }
        if t.is_empty() {
            println!("No leases in {table}.");
        } else {
            output::text(&t.render());
        }
        let owned = leases.iter().filter(|l| l.lease_owner.is_some()).count();
        let workers: std::collections::BTreeSet<_> = leases
            .iter()
            .filter_map(|l| l.lease_owner.as_deref())
            .collect();
        println!(
            "{} leases, {owned} owned by {} workers; {} other rows (KCL 3.x worker metrics and coordinator state) skipped",
            leases.len(),
            workers.len(),
            scan.skipped_non_leases
        );
        for bad in &scan.corrupt {
            eprintln!("kinesis: unreadable lease row: {bad}");
        }
    }
    if !scan.corrupt.is_empty() {
        return Err(CliError::new(
            Exit::CorruptRows,
            format!(
                "the lease table {table} has {} rows that are not readable leases",
                scan.corrupt.len()
            ),
        ));
    }
    Ok(())
}

fn join<T: std::fmt::Display>(items: impl Iterator<Item = T>) -> String {
    let items: Vec<String> = items.map(|i| i.to_string()).collect();
    if items.is_empty() {
        "-".to_owned()
    } else {
        items.join(",")
    }
}

fn lease_json(lease: &Lease) -> Value {
    json!({
        "lease_key": lease.lease_key.to_string(),
        "lease_owner": lease.lease_owner,
        "lease_counter": lease.lease_counter,
        "checkpoint": lease.checkpoint.kcl_checkpoint(),
        "checkpoint_sub_sequence_number": lease.checkpoint.sub_sequence_number(),
        "pending_checkpoint": lease.pending_checkpoint.as_ref().map(|c| c.to_string()),
        "owner_switches_since_checkpoint": lease.owner_switches_since_checkpoint,
        "parent_shard_ids": lease.parent_shard_ids.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        "child_shard_ids": lease.child_shard_ids.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        "starting_hash_key": lease.hash_key_range.map(|r| r.start().to_string()),
        "ending_hash_key": lease.hash_key_range.map(|r| r.end().to_string()),
        "checkpoint_owner": lease.checkpoint_owner,
        "other_attributes": lease.extra.keys().collect::<Vec<_>>(),
    })
}

fn lease_text(lease: &Lease) -> String {
    let mut out = String::new();
    let mut line = |name: &str, value: String| out.push_str(&format!("{name:<32} {value}\n"));
    line("leaseKey", lease.lease_key.to_string());
    line("leaseOwner", or_dash(lease.lease_owner.as_ref()));
    line("leaseCounter", lease.lease_counter.to_string());
    line("checkpoint", lease.checkpoint.kcl_checkpoint().to_owned());
    line(
        "checkpointSubSequenceNumber",
        lease.checkpoint.sub_sequence_number().to_string(),
    );
    line(
        "pendingCheckpoint",
        or_dash(lease.pending_checkpoint.as_ref()),
    );
    line(
        "ownerSwitchesSinceCheckpoint",
        lease.owner_switches_since_checkpoint.to_string(),
    );
    line("parentShardId", join(lease.parent_shard_ids.iter()));
    line("childShardIds", join(lease.child_shard_ids.iter()));
    line(
        "hashKeyRange",
        or_dash(
            lease
                .hash_key_range
                .map(|r| format!("{}..={}", r.start(), r.end())),
        ),
    );
    line("checkpointOwner", or_dash(lease.checkpoint_owner.as_ref()));
    if !lease.extra.is_empty() {
        line("other attributes", join(lease.extra.keys()));
    }
    out
}

#[cfg(test)]
mod tests {
    use kinesis_lease::InMemoryLeaseRepository;
    use kinesis_lease::lineage::{ShardInfo, new_lease_for_shard};

    use super::*;

    fn global() -> Global {
        Global {
            region: None,
            endpoint_url: None,
            output: crate::output::Format::Json,
            verbose: 0,
        }
    }

    /// An in-memory lease table with one unowned lease, of `shardId-000000000000`.
    async fn one_lease(checkpoint: Checkpoint) -> (InMemoryLeaseRepository, Lease) {
        let repo = InMemoryLeaseRepository::new();
        repo.ensure_table().await.unwrap();
        let shard = ShardInfo::new("shardId-000000000000".parse().unwrap());
        let created = repo
            .create_lease(&new_lease_for_shard(&shard, checkpoint))
            .await
            .unwrap();
        (repo, created)
    }

    #[tokio::test]
    async fn a_lease_changed_since_it_was_read_is_a_conflict_and_is_not_written() {
        let (repo, created) = one_lease(Checkpoint::TRIM_HORIZON).await;
        // The operator read it; then a worker took it.
        let read = created.clone();
        let taken = repo.take_lease(&created, "worker-1").await.unwrap();
        let changes = vec![Change {
            lease: read,
            action: Action::Checkpoint(Checkpoint::LATEST),
        }];
        let err = apply(&global(), &repo, "t", changes, true)
            .await
            .unwrap_err();
        assert_eq!(err.exit(), Exit::Conflict);
        assert!(
            err.to_string().contains(
                "shardId-000000000000: its owner changed since it was read (- -> worker-1)"
            ),
            "{err}"
        );
        let stored = repo.get_lease(&created.lease_key).await.unwrap().unwrap();
        assert_eq!(stored, taken, "nothing was written");
    }

    #[tokio::test]
    async fn a_renewal_between_reading_and_writing_is_not_a_conflict() {
        let (repo, created) = one_lease(Checkpoint::TRIM_HORIZON).await;
        let held = repo.take_lease(&created, "worker-1").await.unwrap();
        // The operator read it; then the worker renewed it (the counter moved).
        let read = held.clone();
        let renewed = repo.renew_lease(&held).await.unwrap();
        assert!(renewed.lease_counter > read.lease_counter);
        let changes = vec![Change {
            lease: read,
            action: Action::Transfer("worker-2".into()),
        }];
        apply(&global(), &repo, "t", changes, true).await.unwrap();
        let stored = repo.get_lease(&held.lease_key).await.unwrap().unwrap();
        assert_eq!(stored.lease_owner.as_deref(), Some("worker-2"));
    }

    #[tokio::test]
    async fn a_rewind_of_a_held_lease_takes_it_from_its_owner() {
        let (repo, created) = one_lease(Checkpoint::LATEST).await;
        let held = repo.take_lease(&created, "worker-1").await.unwrap();
        let changes = vec![Change {
            lease: held.clone(),
            action: Action::Checkpoint(Checkpoint::TRIM_HORIZON),
        }];
        apply(&global(), &repo, "t", changes, true).await.unwrap();
        let stored = repo.get_lease(&held.lease_key).await.unwrap().unwrap();
        assert_eq!(stored.checkpoint, Checkpoint::TRIM_HORIZON);
        assert_eq!(
            stored.lease_owner, None,
            "the holder loses it at its next renewal"
        );
        assert!(stored.lease_counter > held.lease_counter);
        // The old holder's renewal now fails.
        let renewal = repo.renew_lease(&held).await.unwrap_err();
        assert_eq!(renewal.kind(), kinesis_lease::LeaseErrorKind::LeaseLost);
    }
}
