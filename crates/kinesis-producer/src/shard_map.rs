//! [`ShardMap`]: which open shard owns a hash key, from `ListShards`.

use futures_util::TryStreamExt;
use kinesis_client::{Client, HashKey, HashKeyRange, ShardId, StreamId};

/// The stream's open shards, sorted by their first hash key, and the ranges of every shard
/// listed (closed ones too).
#[derive(Debug, Clone)]
pub(crate) struct ShardMap {
    shards: Vec<(HashKeyRange, ShardId)>,
    listed: Vec<(ShardId, HashKeyRange)>,
}

impl ShardMap {
    /// Reads the open shards of `stream`.
    pub(crate) async fn read(
        client: &Client,
        stream: &StreamId,
    ) -> Result<Self, kinesis_client::Error> {
        let shards: Vec<kinesis_client::Shard> = client
            .list_shards(stream.clone(), None)
            .try_collect()
            .await?;
        let listed: Vec<(ShardId, HashKeyRange)> = shards
            .iter()
            .map(|s| (s.id().clone(), s.hash_key_range()))
            .collect();
        let mut open: Vec<(HashKeyRange, ShardId)> = shards
            .into_iter()
            .filter(|s| s.is_open())
            .map(|s| (s.hash_key_range(), s.id().clone()))
            .collect();
        open.sort_by_key(|(r, _)| r.start());
        if open.is_empty() {
            return Err(kinesis_client::Error::invalid_input(format!(
                "stream {stream} has no open shard"
            )));
        }
        Ok(Self {
            shards: open,
            listed,
        })
    }

    /// The position (in [`shards`](Self::shards)) of the open shard owning `key`; `None` only
    /// for a map with a gap (mid-reshard).
    pub(crate) fn position_for(&self, key: HashKey) -> Option<usize> {
        let i = self
            .shards
            .partition_point(|(r, _)| r.start() <= key)
            .checked_sub(1)?;
        self.shards[i].0.contains(key).then_some(i)
    }

    /// The open shards, by their first hash key.
    pub(crate) fn shards(&self) -> impl Iterator<Item = &ShardId> {
        self.shards.iter().map(|(_, id)| id)
    }

    /// The hash key range of `shard`, open or closed, if the listing has it (`None`: the map
    /// is older than the shard).
    pub(crate) fn range_of(&self, shard: &ShardId) -> Option<HashKeyRange> {
        self.listed
            .iter()
            .find(|(id, _)| id == shard)
            .map(|(_, range)| *range)
    }

    /// Whether `shard` is open in this map.
    pub(crate) fn is_open(&self, shard: &ShardId) -> bool {
        self.shards.iter().any(|(_, id)| id == shard)
    }

    /// How many open shards.
    pub(crate) fn len(&self) -> usize {
        self.shards.len()
    }
}
