//! The local demo: emulators, a stream, records written and read back.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use futures_util::TryStreamExt;
use kinesis_client::{
    AdminClient, Client, ClientConfig, Error, PartitionKey, PutRecordsEntry, PutRecordsResultEntry,
    StartingPosition, StreamMode, StreamName, WaitConfig,
};
use kinesis_testkit::{Service, TestEnv};

/// What the demo does.
#[derive(Debug)]
pub(crate) struct Options {
    records: usize,
    shards: u32,
}

impl Options {
    pub(crate) fn parse(args: &[String]) -> Result<Self, String> {
        let mut options = Options {
            records: 100,
            shards: 2,
        };
        let mut it = args.iter();
        while let Some(flag) = it.next() {
            let mut value = |name: &str| -> Result<u64, String> {
                let v = it.next().ok_or_else(|| format!("{name} needs a value"))?;
                v.parse()
                    .map_err(|_| format!("{name} takes a positive number, got {v:?}"))
            };
            match flag.as_str() {
                "--records" => options.records = value("--records")? as usize,
                "--shards" => options.shards = value("--shards")? as u32,
                other => return Err(format!("unknown option {other:?}")),
            }
        }
        if options.records == 0 || options.records > 100_000 {
            return Err("--records must be 1 to 100000".into());
        }
        if options.shards == 0 || options.shards > 50 {
            return Err("--shards must be 1 to 50".into());
        }
        Ok(options)
    }
}

pub(crate) async fn run(options: Options) -> Result<(), Error> {
    let env = TestEnv::start().await;
    println!(
        "Kinesis:  {} ({})",
        env.kinesis_endpoint(),
        env.backend(Service::Kinesis)
    );
    println!(
        "DynamoDB: {} ({})",
        env.dynamodb_endpoint(),
        env.backend(Service::DynamoDb)
    );

    let config = ClientConfig::builder()
        .sdk_config(env.sdk_config())
        .kinesis_endpoint(env.kinesis_endpoint())
        .dynamodb_endpoint(env.dynamodb_endpoint())
        .wait(WaitConfig::default().with_poll_interval(Duration::from_millis(50)))
        .build()
        .await?;
    let client = Client::new(&config);
    let admin = AdminClient::new(&config);

    let name: StreamName = env.unique_name("demo").parse()?;
    let started = Instant::now();
    let summary = admin
        .create_stream(
            &name,
            StreamMode::Provisioned {
                shard_count: options.shards,
            },
        )
        .await?;
    println!(
        "Created stream {} with {} shards in {:?}",
        summary.name,
        summary.open_shard_count,
        started.elapsed()
    );

    let entries: Vec<PutRecordsEntry> = (0..options.records)
        .map(|i| {
            let key = PartitionKey::new(format!("customer-{}", i % 10))?;
            Ok(PutRecordsEntry::new(format!("order {i}"), key))
        })
        .collect::<Result<_, Error>>()?;
    let started = Instant::now();
    let mut per_shard: BTreeMap<String, usize> = BTreeMap::new();
    for batch in entries.chunks(500) {
        let out = client.put_records(&name, batch.to_vec()).await?;
        for e in out.entries() {
            if let PutRecordsResultEntry::Stored(p) = e {
                *per_shard.entry(p.shard_id.to_string()).or_default() += 1;
            }
        }
    }
    println!(
        "Wrote {} records in {:?}: {}",
        options.records,
        started.elapsed(),
        per_shard
            .iter()
            .map(|(s, n)| format!("{s}={n}"))
            .collect::<Vec<_>>()
            .join(", ")
    );

    let started = Instant::now();
    let shards: Vec<_> = client.list_shards(&name, None).try_collect().await?;
    let mut read = 0;
    for shard in &shards {
        let mut it = client
            .get_shard_iterator(&name, shard.id(), StartingPosition::TrimHorizon)
            .await?;
        let mut in_shard = Vec::new();
        loop {
            let mut out = client.get_records(&it, None).await?;
            let records = out.take_records();
            let done = records.is_empty();
            in_shard.extend(records);
            match out.next_shard_iterator() {
                Some(next) if !done => it = next.clone(),
                _ => break,
            }
        }
        if let (Some(first), Some(last)) = (in_shard.first(), in_shard.last()) {
            println!(
                "  {}: {} records, first {:?} (key {}), last {:?}",
                shard.id(),
                in_shard.len(),
                String::from_utf8_lossy(first.data()),
                first.partition_key(),
                String::from_utf8_lossy(last.data()),
            );
        }
        read += in_shard.len();
    }
    println!(
        "Read {read} records back from {} shards in {:?}",
        shards.len(),
        started.elapsed()
    );
    if read != options.records {
        return Err(Error::invalid_input(format!(
            "wrote {} records but read {read}",
            options.records
        )));
    }

    admin.delete_stream(&name).await?;
    println!("Deleted stream {name}; stopping the emulators.");
    env.shutdown().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn options_are_checked() {
        let o = Options::parse(&args(&["--records", "5", "--shards", "3"])).unwrap();
        assert_eq!((o.records, o.shards), (5, 3));
        assert!(Options::parse(&args(&["--records"])).is_err());
        assert!(Options::parse(&args(&["--records", "x"])).is_err());
        assert!(Options::parse(&args(&["--shards", "0"])).is_err());
        assert!(Options::parse(&args(&["--bogus"])).is_err());
    }
}
