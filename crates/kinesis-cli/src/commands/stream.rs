//! `kinesis stream`: list, create, describe, reshard, retention, consumers, delete.

use clap::Subcommand;
use futures_util::TryStreamExt;
use kinesis_client::{
    AdminClient, Client, HashKey, Shard, ShardId, StreamId, StreamMode, StreamSummary,
};
use serde_json::{Value, json};

use crate::confirm::confirm;
use crate::context::Global;
use crate::error::{CliError, Result};
use crate::output::{self, Table, or_dash};
use crate::time::format_time;

#[derive(Subcommand, Debug)]
pub(crate) enum Command {
    /// List the streams of the account and region.
    List,
    /// Create a stream and wait until it is ACTIVE.
    Create {
        /// The stream's name.
        stream: String,
        /// The number of shards of a provisioned stream.
        #[arg(long, default_value_t = 1, conflicts_with = "on_demand")]
        shards: u32,
        /// An on-demand stream instead of a provisioned one.
        #[arg(long)]
        on_demand: bool,
        /// The retention period in hours (24 to 8760), set after creation.
        #[arg(long, value_name = "HOURS")]
        retention_hours: Option<u32>,
    },
    /// Describe a stream and its shards: hash-key ranges, parents, open or closed.
    Describe {
        /// The stream's name or ARN.
        stream: String,
    },
    /// Delete a stream (and its enhanced fan-out consumers) and wait until it is gone.
    Delete {
        /// The stream's name or ARN.
        stream: String,
        /// Do not ask for confirmation.
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Split, merge or scale a stream's shards, and wait until it is ACTIVE again.
    #[command(subcommand)]
    Reshard(Reshard),
    /// Set the retention period.
    Retention {
        /// The stream's name or ARN.
        stream: String,
        /// The new retention period in hours (24 to 8760).
        hours: u32,
    },
    /// List, register or deregister the stream's enhanced fan-out consumers.
    Consumers {
        /// The stream's name or ARN.
        stream: String,
        /// Register a consumer of this name and wait until it is ACTIVE.
        #[arg(long, value_name = "NAME", conflicts_with = "deregister")]
        register: Option<String>,
        /// Deregister the consumer of this name.
        #[arg(long, value_name = "NAME")]
        deregister: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub(crate) enum Reshard {
    /// Split one open shard in two at a hash key (default: the middle of its range).
    Split {
        /// The stream's name or ARN.
        stream: String,
        /// The shard to split.
        shard: String,
        /// The first hash key of the second child (decimal, inside the shard's range).
        #[arg(long, value_name = "HASH_KEY")]
        at: Option<String>,
    },
    /// Merge two open shards with adjacent hash-key ranges.
    Merge {
        /// The stream's name or ARN.
        stream: String,
        /// One shard.
        shard: String,
        /// The shard whose range is adjacent to it.
        adjacent: String,
    },
    /// Set the number of open shards (UpdateShardCount, uniform scaling).
    Scale {
        /// The stream's name or ARN.
        stream: String,
        /// The target number of open shards.
        shards: u32,
    },
}

pub(crate) fn stream_id(text: &str) -> Result<StreamId> {
    text.parse::<StreamId>()
        .map_err(|e| CliError::usage(format!("bad stream name or ARN {text:?}: {e}")))
}

fn shard_id(text: &str) -> Result<ShardId> {
    ShardId::new(text).map_err(|e| CliError::usage(format!("bad shard id {text:?}: {e}")))
}

pub(crate) async fn run(global: &Global, command: Command) -> Result<()> {
    let config = global.client_config().await?;
    let admin = AdminClient::new(&config);
    let client = Client::new(&config);
    match command {
        Command::List => list(global, &admin).await,
        Command::Create {
            stream,
            shards,
            on_demand,
            retention_hours,
        } => {
            let id = stream_id(&stream)?;
            let mode = if on_demand {
                StreamMode::OnDemand
            } else {
                StreamMode::Provisioned {
                    shard_count: shards,
                }
            };
            let summary = admin
                .create_stream(id.name(), mode)
                .await
                .map_err(|e| CliError::client(format!("creating stream {stream}"), &e))?;
            if let Some(hours) = retention_hours {
                set_retention(&admin, &client, &id, hours).await?;
            }
            let summary = if retention_hours.is_some() {
                describe_summary(&client, &id).await?
            } else {
                summary
            };
            print_summary(global, "Created stream", &summary, None);
            Ok(())
        }
        Command::Describe { stream } => {
            let id = stream_id(&stream)?;
            let summary = describe_summary(&client, &id).await?;
            let shards = list_shards(&client, &id).await?;
            print_summary(global, "Stream", &summary, Some(&shards));
            Ok(())
        }
        Command::Delete { stream, yes } => {
            let id = stream_id(&stream)?;
            // Fails with "not found" before asking, for a stream that does not exist.
            let summary = describe_summary(&client, &id).await?;
            confirm(
                format!(
                    "Delete stream {} ({} open shards, {} fan-out consumers) and every record in it?",
                    summary.name,
                    summary.open_shard_count,
                    or_dash(summary.consumer_count)
                ),
                yes,
            )
            .await?;
            admin
                .delete_stream(&id)
                .await
                .map_err(|e| CliError::client(format!("deleting stream {stream}"), &e))?;
            if global.json() {
                output::json(&json!({ "deleted": summary.name.as_str() }));
            } else {
                println!("Deleted stream {}", summary.name);
            }
            Ok(())
        }
        Command::Reshard(reshard) => run_reshard(global, &admin, &client, reshard).await,
        Command::Retention { stream, hours } => {
            let id = stream_id(&stream)?;
            let before = set_retention(&admin, &client, &id, hours).await?;
            if global.json() {
                output::json(
                    &json!({ "stream": id.name().as_str(), "retention_hours": hours, "previous_retention_hours": before }),
                );
            } else {
                println!(
                    "Retention of {} set to {hours} hours (was {before})",
                    id.name()
                );
            }
            Ok(())
        }
        Command::Consumers {
            stream,
            register,
            deregister,
        } => consumers(global, &admin, &stream, register, deregister).await,
    }
}

async fn list(global: &Global, admin: &AdminClient) -> Result<()> {
    let streams: Vec<_> = admin
        .list_streams()
        .try_collect()
        .await
        .map_err(|e| CliError::client("listing streams", &e))?;
    if global.json() {
        let rows: Vec<Value> = streams
            .iter()
            .map(|s| {
                json!({
                    "name": s.name.as_str(),
                    "arn": s.arn.as_ref().map(|a| a.as_str()),
                    "status": s.status.as_ref().map(|s| s.as_str()),
                    "on_demand": s.on_demand,
                    "created": s.created.map(format_time),
                })
            })
            .collect();
        output::json(&Value::Array(rows));
        return Ok(());
    }
    let mut table = Table::new(vec!["NAME", "STATUS", "MODE", "CREATED"]);
    for s in &streams {
        table.row(vec![
            s.name.to_string(),
            or_dash(s.status.as_ref()),
            mode_name(s.on_demand),
            or_dash(s.created.map(format_time)),
        ]);
    }
    if table.is_empty() {
        println!("No streams.");
    } else {
        output::text(&table.render());
    }
    Ok(())
}

fn mode_name(on_demand: Option<bool>) -> String {
    match on_demand {
        Some(true) => "ON_DEMAND".to_owned(),
        Some(false) => "PROVISIONED".to_owned(),
        None => "-".to_owned(),
    }
}

pub(crate) async fn describe_summary(client: &Client, id: &StreamId) -> Result<StreamSummary> {
    client
        .describe_stream_summary(id)
        .await
        .map_err(|e| CliError::client(format!("describing stream {id}"), &e))
}

pub(crate) async fn list_shards(client: &Client, id: &StreamId) -> Result<Vec<Shard>> {
    client
        .list_shards(id, None)
        .try_collect()
        .await
        .map_err(|e| CliError::client(format!("listing the shards of {id}"), &e))
}

fn print_summary(global: &Global, title: &str, s: &StreamSummary, shards: Option<&[Shard]>) {
    if global.json() {
        let mut value = json!({
            "name": s.name.as_str(),
            "arn": s.arn.as_ref().map(|a| a.as_str()),
            "status": s.status.as_str(),
            "on_demand": s.on_demand,
            "open_shard_count": s.open_shard_count,
            "retention_hours": s.retention_period_hours,
            "consumer_count": s.consumer_count,
            "encrypted": s.encrypted,
            "created": s.created.map(format_time),
        });
        if let Some(shards) = shards {
            value["shards"] = Value::Array(shards.iter().map(shard_json).collect());
        }
        output::json(&value);
        return;
    }
    println!("{title} {}", s.name);
    println!(
        "  ARN:        {}",
        or_dash(s.arn.as_ref().map(|a| a.as_str()))
    );
    println!("  Status:     {}", s.status);
    println!("  Mode:       {}", mode_name(s.on_demand));
    println!("  Open shards: {}", s.open_shard_count);
    println!("  Retention:  {} hours", s.retention_period_hours);
    println!("  Consumers:  {}", or_dash(s.consumer_count));
    println!("  Encrypted:  {}", if s.encrypted { "yes" } else { "no" });
    println!("  Created:    {}", or_dash(s.created.map(format_time)));
    if let Some(shards) = shards {
        println!();
        output::text(&shard_table(shards).render());
    }
}

fn shard_state(shard: &Shard) -> &'static str {
    if shard.is_open() { "OPEN" } else { "CLOSED" }
}

fn parents(shard: &Shard) -> String {
    let parents: Vec<&str> = shard.parents().map(ShardId::as_str).collect();
    if parents.is_empty() {
        "-".to_owned()
    } else {
        parents.join(",")
    }
}

/// The share of the hash-key space a range covers, in percent.
fn key_share(shard: &Shard) -> f64 {
    let range = shard.hash_key_range();
    let width = range.end().get() - range.start().get();
    width as f64 / u128::MAX as f64 * 100.0
}

fn shard_table(shards: &[Shard]) -> Table {
    let mut table = Table::new(vec![
        "SHARD",
        "STATE",
        "PARENTS",
        "KEYS",
        "STARTING HASH KEY",
        "ENDING HASH KEY",
    ]);
    for shard in shards {
        let range = shard.hash_key_range();
        table.row(vec![
            shard.id().to_string(),
            shard_state(shard).to_owned(),
            parents(shard),
            format!("{:.1}%", key_share(shard)),
            range.start().to_string(),
            range.end().to_string(),
        ]);
    }
    table
}

fn shard_json(shard: &Shard) -> Value {
    let range = shard.hash_key_range();
    json!({
        "shard_id": shard.id().as_str(),
        "state": shard_state(shard),
        "parents": shard.parents().map(ShardId::as_str).collect::<Vec<_>>(),
        "starting_hash_key": range.start().to_string(),
        "ending_hash_key": range.end().to_string(),
        "starting_sequence_number": shard.starting_sequence_number().as_str(),
        "ending_sequence_number": shard.ending_sequence_number().map(|s| s.as_str()),
    })
}

async fn run_reshard(
    global: &Global,
    admin: &AdminClient,
    client: &Client,
    reshard: Reshard,
) -> Result<()> {
    let (id, what) = match reshard {
        Reshard::Split { stream, shard, at } => {
            let id = stream_id(&stream)?;
            let shard = shard_id(&shard)?;
            let shards = list_shards(client, &id).await?;
            let found = shards
                .iter()
                .find(|s| *s.id() == shard)
                .ok_or_else(|| CliError::not_found(format!("stream {id} has no shard {shard}")))?;
            if !found.is_open() {
                return Err(CliError::usage(format!(
                    "shard {shard} of {id} is closed; only open shards can be split"
                )));
            }
            let range = found.hash_key_range();
            let at = match at {
                Some(text) => {
                    let key: HashKey = text.parse().map_err(|e| {
                        CliError::usage(format!("bad hash key {text:?} for --at: {e}"))
                    })?;
                    if key.get() <= range.start().get() || key.get() > range.end().get() {
                        return Err(CliError::usage(format!(
                            "hash key {key} is not inside shard {shard}'s range after its first key ({}..={})",
                            range.start(),
                            range.end()
                        )));
                    }
                    key
                }
                None => range.midpoint(),
            };
            admin
                .split_shard(&id, &shard, at)
                .await
                .map_err(|e| CliError::client(format!("splitting {shard} of {id} at {at}"), &e))?;
            (id, format!("Split {shard} at hash key {at}"))
        }
        Reshard::Merge {
            stream,
            shard,
            adjacent,
        } => {
            let id = stream_id(&stream)?;
            let (a, b) = (shard_id(&shard)?, shard_id(&adjacent)?);
            admin
                .merge_shards(&id, &a, &b)
                .await
                .map_err(|e| CliError::client(format!("merging {a} and {b} of {id}"), &e))?;
            (id, format!("Merged {a} and {b}"))
        }
        Reshard::Scale { stream, shards } => {
            let id = stream_id(&stream)?;
            admin
                .update_shard_count(&id, shards)
                .await
                .map_err(|e| CliError::client(format!("scaling {id} to {shards} shards"), &e))?;
            (id, format!("Scaled to {shards} open shards"))
        }
    };
    let shards = list_shards(client, &id).await?;
    if global.json() {
        output::json(&json!({
            "stream": id.name().as_str(),
            "shards": shards.iter().map(shard_json).collect::<Vec<_>>(),
        }));
    } else {
        println!("{what}; stream {} is ACTIVE.\n", id.name());
        output::text(&shard_table(&shards).render());
    }
    Ok(())
}

/// Sets the retention period, increasing or decreasing it as needed; returns the one before.
async fn set_retention(
    admin: &AdminClient,
    client: &Client,
    id: &StreamId,
    hours: u32,
) -> Result<u32> {
    let before = describe_summary(client, id).await?.retention_period_hours;
    let result = match hours.cmp(&before) {
        std::cmp::Ordering::Greater => admin.increase_retention_period(id, hours).await,
        std::cmp::Ordering::Less => admin.decrease_retention_period(id, hours).await,
        std::cmp::Ordering::Equal => Ok(()),
    };
    result.map_err(|e| {
        CliError::client(
            format!("setting the retention of {id} to {hours} hours"),
            &e,
        )
    })?;
    Ok(before)
}

async fn consumers(
    global: &Global,
    admin: &AdminClient,
    stream: &str,
    register: Option<String>,
    deregister: Option<String>,
) -> Result<()> {
    let id = stream_id(stream)?;
    if let Some(name) = register {
        let consumer = admin
            .register_stream_consumer(&id, &name)
            .await
            .map_err(|e| CliError::client(format!("registering consumer {name} on {id}"), &e))?;
        let consumer = admin
            .wait_until_consumer_active(&consumer.arn)
            .await
            .map_err(|e| CliError::client(format!("waiting for consumer {name} on {id}"), &e))?;
        if !global.json() {
            println!("Registered consumer {name}: {}", consumer.arn.as_str());
        }
    }
    if let Some(name) = deregister {
        let consumer = admin
            .describe_stream_consumer_by_name(&id, &name)
            .await
            .map_err(|e| CliError::client(format!("finding consumer {name} of {id}"), &e))?;
        admin
            .deregister_stream_consumer(&consumer.arn)
            .await
            .map_err(|e| CliError::client(format!("deregistering consumer {name} of {id}"), &e))?;
        if !global.json() {
            println!("Deregistered consumer {name}");
        }
    }
    let consumers: Vec<_> = admin
        .list_stream_consumers(&id)
        .try_collect()
        .await
        .map_err(|e| CliError::client(format!("listing the consumers of {id}"), &e))?;
    if global.json() {
        output::json(&Value::Array(
            consumers
                .iter()
                .map(|c| {
                    json!({
                        "name": c.name,
                        "arn": c.arn.as_str(),
                        "status": c.status.as_str(),
                        "created": c.created.map(format_time),
                    })
                })
                .collect(),
        ));
        return Ok(());
    }
    let mut table = Table::new(vec!["NAME", "STATUS", "CREATED", "ARN"]);
    for c in &consumers {
        table.row(vec![
            c.name.clone(),
            c.status.to_string(),
            or_dash(c.created.map(format_time)),
            c.arn.as_str().to_owned(),
        ]);
    }
    if table.is_empty() {
        println!("No enhanced fan-out consumers on {}.", id.name());
    } else {
        output::text(&table.render());
    }
    Ok(())
}
