//! The engine behind a [`Producer`](crate::Producer): one task that routes accepted records to
//! their predicted shard, aggregates them (when asked), batches them into `PutRecords` calls
//! within the service's limits and the per-shard throttle, keeps calls in flight, retries what
//! failed for a retryable reason, and answers every record exactly once.
//!
//! Order: entries of one shard leave in the order they were accepted, except that a record
//! whose partition key is in a call in flight waits for that call's answer while records of
//! other keys go ahead; so the records of one partition key are stored in order, and a shard
//! can have several calls in flight. Records sent again go to the front of their queue, in the
//! order they were accepted. An aggregate holds many keys: while one is in flight, or parked
//! after it landed on another shard than predicted, nothing else of its shard is sent. What a
//! reshard can still reorder: records that went in the same call after an aggregate that must be
//! sent again, and records a newer shard map routed to a new shard while the aggregate was in
//! flight.

mod accepted;
mod buffer;
mod queue;
mod retries;

pub(crate) use accepted::{Accepted, Command};
pub(crate) use buffer::{Buffer, BufferPermit};
pub(crate) use retries::Clients;
use retries::RetryPauses;

use std::collections::HashMap;
use std::sync::Arc;

use kinesis_client::{
    HashKey, PutRecordsOutput, PutRecordsResultEntry, RecordPosition, ShardId, StreamId,
};
use kinesis_kcl_compat::aggregation::AggregateBuilder;
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::task::JoinSet;
use tokio::time::{Instant, MissedTickBehavior};

use crate::kpl_metrics::{BatchFigures, KplMetrics};

use crate::error::{ProduceError, ProduceErrorKind};
use crate::metrics::{MetricsRecorder, ProducerMetrics};
use crate::record::ProduceResult;
use crate::settings::ProducerSettings;
use crate::shard_map::ShardMap;
use crate::throttle::Throttles;

use queue::*;

/// How many waiting commands the engine takes in before it dispatches.
const COMMANDS_PER_PASS: usize = 1024;

/// A callback for metrics.
pub(crate) type MetricsCallback = Arc<dyn Fn(&ProducerMetrics) + Send + Sync>;

/// The answer to one record.
pub(crate) type Reply = oneshot::Sender<Result<ProduceResult, ProduceError>>;

/// The code of an attempt whose aggregate was stored on a shard that KCL consumers skip it on
/// (the KPL's).
const WRONG_SHARD: &str = "Wrong Shard";

pub(crate) struct Engine {
    clients: Clients,
    /// The pauses of the records of the call being answered.
    pauses: RetryPauses,
    stream: StreamId,
    settings: ProducerSettings,
    buffer: Buffer,
    map: ShardMap,
    throttles: Throttles,
    metrics: Arc<MetricsRecorder>,
    metrics_tx: broadcast::Sender<ProducerMetrics>,
    on_metrics: Option<MetricsCallback>,
    /// The KPL's metrics, through the telemetry seam.
    kpl: KplMetrics,
    /// The queues, by slot.
    queues: Vec<ShardQueue>,
    /// The slot of each queue.
    slots: HashMap<QueueKey, usize>,
    /// The slot of each shard of `map`, by its position there.
    map_slots: Vec<usize>,
    queued_entries: usize,
    queued_bytes: usize,
    in_flight: JoinSet<(Batch, Result<PutRecordsOutput, kinesis_client::Error>)>,
    /// The partition keys of single records in calls in flight.
    keys_in_flight: KeysInFlight,
    /// The number of the next call.
    next_call: u64,
    flushes: Vec<Flush>,
    spare: Spare,
    /// Buffer space of the records answered since it was last given back: records, bytes.
    released: (usize, usize),
    /// Records accepted and not yet answered.
    outstanding: usize,
    next_id: u64,
    refresh: Option<tokio::task::JoinHandle<Result<ShardMap, kinesis_client::Error>>>,
    refresh_wanted: bool,
    /// Aggregates stored on another shard than predicted, waiting for a shard map that lists
    /// that shard, to tell whether it owns all their records (then they are stored; otherwise
    /// KCL consumers drop the whole aggregate, so every record of it is sent again).
    parked: Vec<Parked>,
    /// The queues whose `retries_in_pass` the answer being handled set.
    retried_queues: Vec<usize>,
    closing: bool,
}

impl Drop for Engine {
    /// Senders waiting for buffer space get `Closed` rather than wait forever: the space held by
    /// records the engine did not answer is never given back.
    fn drop(&mut self) {
        self.buffer.records.close();
        self.buffer.bytes.close();
    }
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("stream", &self.stream)
            .field("queued_entries", &self.queued_entries)
            .field("in_flight", &self.in_flight.len())
            .field("keys_in_flight", &self.keys_in_flight.len())
            .finish_non_exhaustive()
    }
}

impl Engine {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        clients: Clients,
        stream: StreamId,
        settings: ProducerSettings,
        buffer: Buffer,
        map: ShardMap,
        metrics: Arc<MetricsRecorder>,
        metrics_tx: broadcast::Sender<ProducerMetrics>,
        on_metrics: Option<MetricsCallback>,
        kpl: KplMetrics,
    ) -> Self {
        let throttles = Throttles::new(settings.throttle.clone());
        let pauses = RetryPauses::new(clients.budget.clone());
        let mut engine = Self {
            clients,
            pauses,
            stream,
            settings,
            buffer,
            map,
            throttles,
            metrics,
            metrics_tx,
            on_metrics,
            kpl,
            queues: Vec::new(),
            slots: HashMap::new(),
            map_slots: Vec::new(),
            queued_entries: 0,
            queued_bytes: 0,
            in_flight: JoinSet::new(),
            keys_in_flight: KeysInFlight::default(),
            next_call: 0,
            flushes: Vec::new(),
            outstanding: 0,
            spare: Spare::default(),
            released: (0, 0),
            next_id: 0,
            refresh: None,
            refresh_wanted: false,
            parked: Vec::new(),
            retried_queues: Vec::new(),
            closing: false,
        };
        engine.index_queues();
        engine
    }

    /// The slot of the queue for `key`, made if missing.
    fn slot(&mut self, key: &QueueKey) -> usize {
        if let Some(&slot) = self.slots.get(key) {
            return slot;
        }
        let slot = self.queues.len();
        self.queues.push(ShardQueue::new(key.clone()));
        self.slots.insert(key.clone(), slot);
        slot
    }

    /// Indexes the queues and the map's shards after either changed.
    fn index_queues(&mut self) {
        self.slots = (0..)
            .zip(&self.queues)
            .map(|(slot, q)| (q.key.clone(), slot))
            .collect();
        let ids: Vec<ShardId> = self.map.shards().cloned().collect();
        self.map_slots = ids.iter().map(|id| self.slot(&Some(id.clone()))).collect();
    }

    /// The slot of the queue of the shard predicted for `hash`.
    fn slot_for(&mut self, hash: HashKey) -> usize {
        match self.map.position_for(hash) {
            Some(i) => self.map_slots[i],
            None => self.slot(&None),
        }
    }

    /// Runs until closed and everything accepted is answered; returns the last metrics.
    pub(crate) async fn run(
        mut self,
        mut commands: mpsc::UnboundedReceiver<Command>,
    ) -> ProducerMetrics {
        let start = Instant::now();
        let mut refresh_tick = tokio::time::interval_at(
            start + self.settings.shard_map_refresh,
            self.settings.shard_map_refresh,
        );
        refresh_tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut metrics_tick = tokio::time::interval_at(
            start + self.settings.metrics_interval,
            self.settings.metrics_interval,
        );
        metrics_tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut input_open = true;
        loop {
            let wake = self.next_wake();
            tokio::select! {
                biased;
                Some(done) = self.in_flight.join_next(), if !self.in_flight.is_empty() => {
                    match done {
                        Ok((batch, result)) => self.complete(batch, result),
                        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                        Err(_) => {}
                    }
                }
                refreshed = async { self.refresh.as_mut().expect("checked").await }, if self.refresh.is_some() => {
                    self.refresh = None;
                    match refreshed {
                        Ok(Ok(map)) => self.apply_map(map),
                        Ok(Err(e)) => {
                            tracing::warn!(stream = %self.stream, error = %e, "reading the shard map failed; keeping the old one");
                            self.refresh_for_parked();
                        }
                        Err(e) => {
                            tracing::warn!(stream = %self.stream, error = %e, "reading the shard map did not finish; keeping the old one");
                            self.refresh_for_parked();
                        }
                    }
                }
                command = commands.recv(), if input_open => {
                    // Take what else is waiting too (up to a bound), then dispatch once.
                    let mut next = command;
                    let now = Instant::now();
                    let mut received = 0;
                    for taken in 1..=COMMANDS_PER_PASS {
                        match next {
                            Some(Command::Record(mut record)) => {
                                record.id = self.next_id;
                                self.next_id += 1;
                                self.outstanding += 1;
                                received += 1;
                                self.route(record, false, now);
                            }
                            Some(Command::Flush(done)) => self.flushes.push(Flush {
                                upto: self.next_id,
                                remaining: self.outstanding,
                                done,
                            }),
                            Some(Command::Close) | None => {
                                input_open = false;
                                self.closing = true;
                                break;
                            }
                        }
                        if taken == COMMANDS_PER_PASS {
                            // The rest waits for the next pass.
                            break;
                        }
                        match commands.try_recv() {
                            Ok(command) => next = Some(command),
                            Err(_) => break,
                        }
                    }
                    self.kpl.received(received);
                }
                () = sleep_until_opt(wake), if wake.is_some() => {}
                _ = refresh_tick.tick() => self.refresh_wanted = true,
                _ = metrics_tick.tick() => self.emit_metrics(),
            }
            if self.refresh_wanted && self.refresh.is_none() {
                self.refresh_wanted = false;
                let (client, stream) = (self.clients.reads.clone(), self.stream.clone());
                self.refresh = Some(tokio::spawn(async move {
                    ShardMap::read(&client, &stream).await
                }));
            }
            let (records, bytes) = std::mem::take(&mut self.released);
            self.buffer.release(records, bytes);
            self.dispatch(Instant::now());
            self.answer_flushes();
            if self.closing && self.outstanding == 0 && self.in_flight.is_empty() {
                break;
            }
        }
        if let Some(refresh) = self.refresh.take() {
            refresh.abort();
        }
        let last = self.metrics.take(Instant::now());
        self.publish(&last);
        last
    }

    fn emit_metrics(&self) {
        let metrics = self.metrics.take(Instant::now());
        self.publish(&metrics);
    }

    fn publish(&self, metrics: &ProducerMetrics) {
        if let Some(callback) = &self.on_metrics {
            callback(metrics);
        }
        let _ = self.metrics_tx.send(metrics.clone());
    }

    /// Everything goes out as soon as it may (no linger): on shutdown, for a flush, or when the
    /// buffer is nearly full.
    fn flushing(&self) -> bool {
        self.closing || !self.flushes.is_empty() || self.buffer.nearly_full()
    }

    /// Answers the flushes whose records are all answered.
    fn answer_flushes(&mut self) {
        if self.flushes.iter().all(|f| f.remaining > 0) {
            return;
        }
        let (done, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut self.flushes)
            .into_iter()
            .partition(|f| f.remaining == 0);
        self.flushes = waiting;
        for flush in done {
            let _ = flush.done.send(());
        }
    }

    /// A record was answered.
    fn finished(&mut self, record: &Accepted) {
        let id = record.id;
        self.released.0 += 1;
        self.released.1 += record.permit.bytes as usize;
        self.outstanding -= 1;
        for flush in &mut self.flushes {
            if id < flush.upto {
                flush.remaining -= 1;
            }
        }
    }

    // --- routing ---

    /// The pause before a record's next attempt (`attempts` made so far).
    fn retry_pause(&mut self, attempts: u32) -> std::time::Duration {
        self.pauses.pause(self.settings.retry_backoff(), attempts)
    }

    /// Puts a record into its predicted shard's queue (aggregating when asked). A retry goes to
    /// the front of its queue, after a pause.
    fn route(&mut self, record: Accepted, retry: bool, now: Instant) {
        let slot = self.slot_for(record.hash);
        let aggregate = self
            .settings
            .aggregation
            .as_ref()
            .filter(|_| self.queues[slot].key.is_some() && !retry);
        if let Some(aggregation) = aggregate {
            let (max_size, max_records) = (aggregation.max_size, aggregation.max_records);
            let user = record.user_record();
            let alone = AggregateBuilder::size_alone(user);
            if alone <= max_size {
                let queue = &mut self.queues[slot];
                if let Some(open) = &mut queue.open
                    && open.members.len() < max_records
                    && open.builder.try_add_record(user, max_size).is_some()
                {
                    open.members.push(record);
                    return;
                }
                if let Some(full) = queue.open.take() {
                    // Full: nothing can join it, so it does not linger.
                    let mut sealed = Self::seal(full, self.settings.linger, &mut self.spare);
                    sealed.not_before = now;
                    self.queued_entries += 1;
                    self.queued_bytes += sealed.size();
                    queue.entries.push_back(sealed);
                }
                // The linger counts from when the engine opened the aggregate: with a backlog of
                // commands, counting from acceptance would seal every aggregate at once.
                let (mut builder, mut members) = self.spare.take();
                builder.add_record(user);
                // Room for as many records of this size as fit.
                members.reserve((max_size / alone).clamp(1, max_records));
                members.push(record);
                queue.open = Some(OpenAggregate {
                    builder,
                    members,
                    opened_at: now,
                });
                return;
            }
        }
        let not_before = if retry {
            now + self.retry_pause(record.attempts)
        } else {
            now + self.settings.linger
        };
        let entry = Entry::single(record, not_before, retry);
        self.queued_entries += 1;
        self.queued_bytes += entry.size();
        let queue = &mut self.queues[slot];
        if retry {
            // After the records this answer already put back: they keep their order.
            let at = queue.retries_in_pass.min(queue.entries.len());
            queue.entries.insert(at, entry);
            queue.retries_in_pass += 1;
            if queue.retries_in_pass == 1 {
                self.retried_queues.push(slot);
            }
        } else {
            queue.entries.push_back(entry);
        }
    }

    /// A new answer is handled: its records sent again go to the very front of their queues.
    fn new_pass(&mut self) {
        for slot in self.retried_queues.drain(..) {
            if let Some(queue) = self.queues.get_mut(slot) {
                queue.retries_in_pass = 0;
            }
        }
    }

    /// Parked aggregates wait for a shard map: the next read starts after a pause.
    fn refresh_for_parked(&mut self) {
        if self.parked.is_empty() || self.refresh.is_some() {
            return;
        }
        let retry = self.settings.retry_base_delay;
        let (client, stream) = (self.clients.reads.clone(), self.stream.clone());
        self.refresh = Some(tokio::spawn(async move {
            tokio::time::sleep(retry).await;
            ShardMap::read(&client, &stream).await
        }));
    }

    /// Turns an open aggregate into an entry: one aggregate record (encoded when its call is
    /// made), or the record itself when alone (as the KPL does).
    fn seal(open: OpenAggregate, linger: std::time::Duration, spare: &mut Spare) -> Entry {
        let not_before = open.opened_at + linger;
        let OpenAggregate {
            mut builder,
            members,
            ..
        } = open;
        if members.len() == 1 {
            builder.clear();
            spare.put_builder(builder);
            let record = members.into_iter().next().expect("checked");
            return Entry::single(record, not_before, false);
        }
        // Kinesis counts the aggregate's bytes and its partition key: the first record's.
        let size = builder.encoded_size() + members[0].key.byte_len();
        Entry {
            size,
            aggregate: Some(builder),
            members: Members::from_vec(members),
            aggregated: true,
            not_before,
            retry_pause: false,
        }
    }

    /// A new shard map: settle the parked aggregates, and re-route the queues of shards that
    /// closed.
    fn apply_map(&mut self, map: ShardMap) {
        self.new_pass();
        self.map = map;
        // Every parked aggregate is settled below, ahead of the records its queue held back,
        // or parked again.
        for queue in &mut self.queues {
            queue.parked = false;
        }
        self.index_queues();
        let now = Instant::now();
        let mut figures = self.kpl.enabled().then(BatchFigures::default);
        let mut waiting = Vec::new();
        for parked in std::mem::take(&mut self.parked) {
            let range = self.map.range_of(&parked.position.shard_id);
            let ttl = self.settings.record_ttl;
            let overdue = parked
                .members
                .iter()
                .any(|m| now.saturating_duration_since(m.accepted_at) >= ttl);
            if range.is_none() && !overdue {
                // This map is older than the shard the aggregate landed on.
                if let Some(&slot) = self.slots.get(&parked.predicted) {
                    self.queues[slot].parked = true;
                }
                waiting.push(parked);
                continue;
            }
            // KCL consumers drop an aggregate whole when one of its records belongs to another
            // shard: its records are stored only if the shard it landed on owns every one.
            let owned = range.is_some_and(|r| parked.members.iter().all(|m| r.contains(m.hash)));
            let Parked {
                position, members, ..
            } = parked;
            if owned {
                for (sub, record) in (0u64..).zip(members) {
                    if let Some(f) = &mut figures {
                        let shard = position.shard_id.as_str();
                        f.user_record_put(shard, record.data.len(), record.attempts);
                    }
                    self.succeed(record, &position, Some(sub), now);
                }
                continue;
            }
            tracing::info!(stream = %self.stream, shard_id = %position.shard_id, sequence_number = %position.sequence_number, records = members.len(), "aggregate stored on another shard than predicted holds records of other shards (or that shard is not listed in time); sending all of them again");
            let cause = format!(
                "an attempt stored the record in stream {} on shard {} at {}, inside a KPL aggregate holding records of other shards, which KCL consumers skip (other readers may deliver it)",
                self.stream, position.shard_id, position.sequence_number
            );
            for mut record in members {
                record.maybe_stored.get_or_insert_with(|| cause.clone());
                self.retry(record, WRONG_SHARD, now, figures.as_mut());
            }
        }
        self.parked = waiting;
        self.new_pass();
        // Queues of shards no longer open (and of no shard) are emptied and removed, unless a
        // call of theirs is in flight (then the next map deals with them).
        let (stale, kept): (Vec<ShardQueue>, Vec<ShardQueue>) = std::mem::take(&mut self.queues)
            .into_iter()
            .partition(|q| q.calls == 0 && q.key.as_ref().is_none_or(|s| !self.map.is_open(s)));
        self.queues = kept;
        self.index_queues();
        let mut records = Vec::new();
        for queue in stale {
            for entry in queue.entries {
                self.queued_entries -= 1;
                self.queued_bytes -= entry.size();
                records.extend(entry.members);
            }
            if let Some(open) = queue.open {
                records.extend(open.members);
            }
        }
        for record in records {
            self.route(record, false, now);
        }
        let map = &self.map;
        self.throttles.retain(&|s: &ShardId| map.is_open(s));
        if let Some(figures) = figures {
            self.kpl.report_batch(&figures);
        }
        self.refresh_for_parked();
    }

    // --- sending ---

    /// When the engine must look again: the earliest linger end, retry pause or throttle slot.
    fn next_wake(&mut self) -> Option<Instant> {
        let flushing = self.flushing();
        let now = Instant::now();
        let mut wake: Option<Instant> = None;
        let mut consider = |t: Instant| {
            wake = Some(wake.map_or(t, |w| w.min(t)));
        };
        for queue in &self.queues {
            if queue.held() {
                continue;
            }
            if let Some(open) = &queue.open {
                consider(if flushing {
                    now
                } else {
                    open.opened_at + self.settings.linger
                });
            }
            if let Some(head) = queue.entries.front() {
                let mut at = if flushing && !head.retry_pause {
                    now
                } else {
                    head.not_before
                };
                if let Some(shard) = &queue.key {
                    at = at.max(self.throttles.ready_at(shard, now, head.size()));
                }
                // With calls of the queue in flight, what is due and still here waits for a
                // key in flight (or a free slot): their answers wake the loop.
                if queue.calls == 0 || at > now {
                    consider(at);
                }
            }
        }
        // Nothing to send while every call slot is taken: completions wake the loop.
        if self.in_flight.len() >= self.settings.max_in_flight {
            return None;
        }
        wake
    }

    /// Sends what may go now, in as many calls as free slots allow.
    fn dispatch(&mut self, now: Instant) {
        let flushing = self.flushing();
        // Seal aggregates whose linger ended (or all, when flushing).
        let linger = self.settings.linger;
        let mut sealed = 0;
        let mut sealed_bytes = 0;
        for queue in &mut self.queues {
            if queue
                .open
                .as_ref()
                .is_some_and(|o| flushing || o.opened_at + linger <= now)
            {
                let entry =
                    Self::seal(queue.open.take().expect("checked"), linger, &mut self.spare);
                sealed += 1;
                sealed_bytes += entry.size();
                queue.entries.push_back(entry);
            }
        }
        self.queued_entries += sealed;
        self.queued_bytes += sealed_bytes;
        while self.in_flight.len() < self.settings.max_in_flight {
            // Enough is queued to fill a call: records go before their linger ends. What is
            // left after the full calls waits for more or for its linger (no call of a few).
            let volume = self.queued_entries >= self.settings.max_batch_entries
                || self.queued_bytes >= self.settings.max_batch_bytes;
            let call = self.next_call;
            let mut batch = Batch {
                entries: Vec::new(),
                spent: Vec::new(),
                queues: Vec::new(),
            };
            let mut bytes = 0;
            let mut blocked = KeySet::default();
            for queue in &mut self.queues {
                if queue.held() {
                    continue;
                }
                // Other calls of this queue are in flight: records of their keys wait, and so
                // do later records of those keys (`blocked`); an aggregate waits for them all.
                let shared = queue.calls > 0;
                blocked.clear();
                let mut took = false;
                let mut took_aggregate = false;
                let mut index = 0;
                while let Some(head) = queue.entries.get(index) {
                    let due = if head.retry_pause {
                        head.not_before <= now
                    } else {
                        flushing || volume || head.not_before <= now
                    };
                    if !due
                        || batch.entries.len() >= self.settings.max_batch_entries
                        || bytes + head.size() > self.settings.max_batch_bytes
                    {
                        break;
                    }
                    match head.single_key() {
                        None if shared || index > 0 => break,
                        Some(key)
                            if blocked.contains(&key)
                                || !self.keys_in_flight.free_for(key, call) =>
                        {
                            blocked.insert(key);
                            index += 1;
                            if blocked.len() >= self.settings.max_batch_entries {
                                break;
                            }
                            continue;
                        }
                        _ => {}
                    }
                    if let Some(shard) = &queue.key {
                        if self.throttles.ready_at(shard, now, head.size()) > now {
                            break;
                        }
                        self.throttles.take(shard, now, head.size());
                    }
                    let entry = queue.entries.remove(index).expect("checked");
                    match entry.single_key() {
                        Some(key) => self.keys_in_flight.add(key, call),
                        None => took_aggregate = true,
                    }
                    bytes += entry.size();
                    batch.entries.push((queue.key.clone(), entry));
                    took = true;
                }
                if took {
                    queue.calls += 1;
                    if took_aggregate {
                        queue.aggregate_calls += 1;
                    }
                    batch.queues.push((queue.key.clone(), took_aggregate));
                }
            }
            if batch.entries.is_empty() {
                break;
            }
            self.next_call += 1;
            self.send(batch, bytes);
        }
    }

    fn send(&mut self, mut batch: Batch, bytes: usize) {
        self.queued_entries -= batch.entries.len();
        self.queued_bytes -= bytes;
        let now = Instant::now();
        let kpl = self.kpl.enabled().then(|| self.kpl.clone());
        let mut figures = kpl.as_ref().map(|_| BatchFigures::default());
        let mut user_records = 0;
        let outgoing: Vec<Outgoing> = batch
            .entries
            .iter_mut()
            .map(|(key, e)| {
                for m in &mut e.members {
                    m.attempts += 1;
                    if m.attempts == 1
                        && let Some(figures) = &mut figures
                    {
                        let shard = key.as_ref().map(ShardId::as_str);
                        figures.buffered(shard, now.saturating_duration_since(m.accepted_at));
                    }
                }
                user_records += e.members.len();
                self.metrics.entry_sent(e.size());
                e.take_outgoing()
            })
            .collect();
        self.metrics.put_records_call(outgoing.len(), bytes);
        if let (Some(kpl), Some(figures)) = (&kpl, &figures) {
            kpl.request(outgoing.len(), user_records);
            kpl.pending(self.outstanding as u64);
            kpl.report_batch(figures);
        }
        let (client, stream) = (self.clients.puts.clone(), self.stream.clone());
        self.in_flight.spawn(async move {
            let entries = outgoing
                .into_iter()
                .map(|o| o.into_entry(&mut batch.spent))
                .collect();
            let result = client.put_records(stream, entries).await;
            if let Some(kpl) = kpl {
                kpl.request_time(now.elapsed());
            }
            (batch, result)
        });
    }

    // --- answers ---

    fn complete(
        &mut self,
        mut batch: Batch,
        result: Result<PutRecordsOutput, kinesis_client::Error>,
    ) {
        self.new_pass();
        for builder in batch.spent.drain(..) {
            self.spare.put_builder(builder);
        }
        let mut figures = self.kpl.enabled().then(BatchFigures::default);
        self.answer(batch, result, figures.as_mut());
        if let Some(figures) = figures {
            self.kpl.report_batch(&figures);
        }
    }

    fn answer(
        &mut self,
        batch: Batch,
        result: Result<PutRecordsOutput, kinesis_client::Error>,
        mut figures: Option<&mut BatchFigures>,
    ) {
        let now = Instant::now();
        self.pauses.next_call();
        for (key, aggregate) in &batch.queues {
            if let Some(&slot) = self.slots.get(key) {
                let queue = &mut self.queues[slot];
                queue.calls -= 1;
                if *aggregate {
                    queue.aggregate_calls -= 1;
                }
            }
        }
        for (_, entry) in &batch.entries {
            if let Some(key) = entry.single_key() {
                self.keys_in_flight.remove(key);
            }
        }
        let outcomes: Vec<PutRecordsResultEntry> = match result {
            Ok(output) => output.into_entries(),
            Err(e) => match e.put_records_output() {
                Some(output) => output.entries().to_vec(),
                None => {
                    // The whole call failed.
                    let retryable = e.is_retryable();
                    let code = e.code().unwrap_or("RequestFailed");
                    let unknown = e.is_outcome_unknown().then(|| {
                        format!(
                            "an attempt got no answer ({e}), so the record may have been stored"
                        )
                    });
                    for (key, entry) in batch.entries {
                        if let Some(f) = figures.as_deref_mut() {
                            f.kinesis_record_failed(key.as_ref().map(ShardId::as_str), code);
                        }
                        for mut record in entry.members {
                            if let Some(cause) = &unknown {
                                record.maybe_stored.get_or_insert_with(|| cause.clone());
                            }
                            if retryable {
                                self.retry(record, code, now, figures.as_deref_mut());
                            } else {
                                self.finished(&record);
                                self.metrics.failed(1);
                                let mut error = ProduceError::new(
                                    ProduceErrorKind::Kinesis,
                                    format!("PutRecords to stream {} failed: {e}", self.stream),
                                );
                                if let Some(code) = e.code() {
                                    error = error.with_code(code);
                                }
                                record.fail(error);
                            }
                        }
                    }
                    return;
                }
            },
        };
        let mut mispredicted = 0u64;
        for ((key, entry), outcome) in batch.entries.into_iter().zip(outcomes) {
            match outcome {
                PutRecordsResultEntry::Stored(position) => {
                    if let Some(f) = figures.as_deref_mut() {
                        f.kinesis_record_put(
                            position.shard_id.as_str(),
                            entry.size(),
                            entry.members.len(),
                        );
                    }
                    let mut wrong_shard = false;
                    if let Some(predicted) = &key {
                        self.throttles.record_success(predicted, now);
                        if *predicted != position.shard_id {
                            mispredicted += entry.members.len() as u64;
                            wrong_shard = true;
                        }
                    }
                    if entry.aggregated && wrong_shard {
                        if let Some(&slot) = self.slots.get(&key) {
                            self.queues[slot].parked = true;
                        }
                        self.parked.push(Parked {
                            predicted: key,
                            position,
                            members: entry.members.into_iter().collect(),
                        });
                        continue;
                    }
                    let aggregated = entry.aggregated;
                    let mut members = entry.members;
                    for (i, record) in (0u64..).zip(members.drain(..)) {
                        if let Some(f) = figures.as_deref_mut() {
                            f.user_record_put(
                                position.shard_id.as_str(),
                                record.data.len(),
                                record.attempts,
                            );
                        }
                        self.succeed(record, &position, aggregated.then_some(i), now);
                    }
                    if members.spilled() {
                        self.spare.put_members(members.into_vec());
                    }
                }
                PutRecordsResultEntry::Failed {
                    error_code,
                    error_message,
                    ..
                } => {
                    if let Some(f) = figures.as_deref_mut() {
                        f.kinesis_record_failed(key.as_ref().map(ShardId::as_str), &error_code);
                    }
                    let classified =
                        kinesis_client::Error::from_code(&error_code, &error_message, None);
                    if let Some(predicted) = &key
                        && classified.is_throttling()
                    {
                        self.throttles.record_throttled(predicted, now);
                        tracing::trace!(shard_id = %predicted, factor = self.throttles.factor(predicted), "shard throttled");
                    }
                    for record in entry.members {
                        if classified.is_retryable() {
                            self.retry(record, &error_code, now, figures.as_deref_mut());
                        } else {
                            self.finished(&record);
                            self.metrics.failed(1);
                            record.fail(
                                ProduceError::new(
                                    ProduceErrorKind::Refused,
                                    format!("Kinesis refused the record: {error_message}"),
                                )
                                .with_code(error_code.clone()),
                            );
                        }
                    }
                }
            }
        }
        if mispredicted > 0 {
            self.metrics.mispredicted(mispredicted);
            tracing::debug!(stream = %self.stream, records = mispredicted, "records landed on another shard than predicted; reading the shard map");
            self.refresh_wanted = true;
        }
    }

    /// Answers a stored record.
    fn succeed(
        &mut self,
        record: Accepted,
        position: &RecordPosition,
        sub: Option<u64>,
        now: Instant,
    ) {
        self.finished(&record);
        self.metrics.published(
            now.saturating_duration_since(record.accepted_at),
            record.attempts,
            record.data.len(),
        );
        let _ = record.reply.send(Ok(ProduceResult {
            shard_id: position.shard_id.clone(),
            sequence_number: position.sequence_number.clone(),
            sub_sequence_number: sub,
            attempts: record.attempts,
        }));
    }

    /// Retries a record after a pause, or fails it when its time or attempts ran out.
    fn retry(
        &mut self,
        record: Accepted,
        code: &str,
        now: Instant,
        figures: Option<&mut BatchFigures>,
    ) {
        let expired = record.attempts >= self.settings.max_attempts
            || now.saturating_duration_since(record.accepted_at) >= self.settings.record_ttl;
        if expired {
            self.finished(&record);
            self.metrics.failed(1);
            if let Some(f) = figures {
                f.expired(None);
            }
            let attempts = record.attempts;
            let limit = if attempts >= self.settings.max_attempts {
                "max_attempts reached"
            } else {
                "record_ttl ran out"
            };
            record.fail(
                ProduceError::new(
                    ProduceErrorKind::RetriesExhausted,
                    format!(
                        "not stored in stream {} after {attempts} attempts ({limit}); the last failed",
                        self.stream
                    ),
                )
                .with_code(code),
            );
            return;
        }
        self.metrics.retried(1);
        self.route(record, true, now);
    }
}

async fn sleep_until_opt(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
