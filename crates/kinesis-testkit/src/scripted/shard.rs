//! A Kinesis shard answered over a [`Scripted`] connection: `GetShardIterator` and `GetRecords`
//! as the service answers them, for unit tests of code that reads a shard (under virtual time,
//! with every request recorded).
//!
//! Shard [`SHARD`] of stream [`STREAM`]; record `i` has sequence number
//! `FIRST_SEQUENCE_NUMBER + i` ([`sequence_number`]); iterators are `it-<offset>-<request>`.
//!
//! `SubscribeToShard` (enhanced fan-out) is answered too: each subscription is a session of
//! [`SESSION_EVENTS`] events of up to [`EVENT_RECORDS`] records each from its starting
//! position, then it ends, so that a reader subscribes again from the last continuation
//! sequence number, as it does every 5 minutes on AWS. At the end of a closed shard the last
//! event has no continuation sequence number and names the child.
//!
//! ```
//! use kinesis_testkit::scripted::shard::{ScriptedShard, sequence_number};
//!
//! let http = ScriptedShard::open(10).connection();
//! assert_eq!(sequence_number(3), "49003");
//! # let _ = http;
//! ```

use std::sync::atomic::{AtomicUsize, Ordering};

use aws_smithy_eventstream::frame::write_message_to;
use aws_smithy_types::event_stream::{Header, HeaderValue, Message};
use serde_json::{Value, json};

use super::{Answer, Scripted, Seen};

/// The shard's id.
pub const SHARD: &str = "shardId-000000000000";
/// The child a closed shard reports.
pub const CHILD: &str = "shardId-000000000002";
/// The stream's name.
pub const STREAM: &str = "s";
/// The sequence number of record 0.
pub const FIRST_SEQUENCE_NUMBER: u64 = 49_000;

/// Records per event of a scripted subscription.
pub const EVENT_RECORDS: u64 = 4;
/// Events per scripted subscription, after which it ends.
pub const SESSION_EVENTS: usize = 3;

/// The sequence number of record `i`.
pub fn sequence_number(i: u64) -> String {
    (FIRST_SEQUENCE_NUMBER + i).to_string()
}

/// A shard as the service would answer for it: `records` records; iterators are
/// `it-<offset>-<request number>`, so each one handed out is different from every other.
#[derive(Clone, Copy, Debug)]
pub struct ScriptedShard {
    /// How many records the shard holds.
    pub records: u64,
    /// Closed by a reshard: reading to its end gives no next iterator.
    pub closed: bool,
    /// Report the child shard at shard end (some backends do not).
    pub reports_children: bool,
    /// Report `MillisBehindLatest` (1 s per record not yet read); ferrokinesis says 0.
    pub reports_lag: bool,
}

impl ScriptedShard {
    /// An open shard of `records` records.
    pub fn open(records: u64) -> Self {
        Self {
            records,
            closed: false,
            reports_children: true,
            reports_lag: true,
        }
    }

    /// A shard closed by a reshard, of `records` records, whose child is [`CHILD`].
    pub fn closed(records: u64) -> Self {
        Self {
            closed: true,
            ..Self::open(records)
        }
    }

    /// A connection answering with this shard once its script (see [`Scripted::push`])
    /// has run out.
    pub fn connection(self) -> Scripted {
        self.connection_after([])
    }

    /// A connection that first answers with `script`, then with this shard.
    pub fn connection_after(self, script: impl IntoIterator<Item = Answer>) -> Scripted {
        let requests = AtomicUsize::new(0);
        Scripted::new(script)
            .with_responder(move |seen| self.answer(seen, requests.fetch_add(1, Ordering::SeqCst)))
    }

    /// The frames of one subscription from record `offset`: its initial response, then up to
    /// [`SESSION_EVENTS`] events.
    fn session(&self, mut offset: u64) -> Vec<u8> {
        let mut frames = Vec::new();
        write_frame(&mut frames, "initial-response", &json!({}));
        for _ in 0..SESSION_EVENTS {
            let end = (offset + EVENT_RECORDS).min(self.records);
            let records: Vec<Value> = (offset..end).map(record).collect();
            let lag = if self.reports_lag {
                (self.records - end) * 1000
            } else {
                0
            };
            let mut event = json!({"Records": records, "MillisBehindLatest": lag});
            let last = end.checked_sub(1).map_or_else(
                || (FIRST_SEQUENCE_NUMBER.saturating_sub(1)).to_string(),
                sequence_number,
            );
            let finished = self.closed && end == self.records;
            if finished {
                event["ChildShards"] = self.children();
            } else {
                event["ContinuationSequenceNumber"] = json!(last);
            }
            write_frame(&mut frames, "SubscribeToShardEvent", &event);
            offset = end;
            if finished {
                break;
            }
        }
        frames
    }

    fn children(&self) -> Value {
        if self.reports_children {
            json!([{
                "ShardId": CHILD,
                "ParentShards": [SHARD],
                "HashKeyRange": {
                    "StartingHashKey": "0",
                    "EndingHashKey": "170141183460469231731687303715884105727"
                }
            }])
        } else {
            json!([])
        }
    }

    fn answer(&self, seen: &Seen, n: usize) -> Answer {
        let body = &seen.body;
        match seen.operation.as_str() {
            "GetShardIterator" => {
                assert_eq!(body["ShardId"], SHARD);
                assert_eq!(body["StreamName"], STREAM);
                let at = || {
                    let s = body["StartingSequenceNumber"].as_str().unwrap();
                    s.parse::<u64>().unwrap() - FIRST_SEQUENCE_NUMBER
                };
                let offset = match body["ShardIteratorType"].as_str().unwrap() {
                    "TRIM_HORIZON" => 0,
                    "LATEST" => self.records,
                    "AT_SEQUENCE_NUMBER" => at(),
                    "AFTER_SEQUENCE_NUMBER" => at() + 1,
                    other => panic!("unexpected iterator type {other}"),
                };
                Answer::ok(json!({"ShardIterator": format!("it-{offset}-{n}")}))
            }
            "GetRecords" => {
                let iterator = body["ShardIterator"].as_str().unwrap();
                let offset: u64 = iterator.split('-').nth(1).unwrap().parse().unwrap();
                let limit = body["Limit"].as_u64().unwrap();
                let end = (offset + limit).min(self.records);
                let records: Vec<Value> = (offset..end).map(record).collect();
                let lag = if self.reports_lag {
                    (self.records - end) * 1000
                } else {
                    0
                };
                let mut out = json!({"Records": records, "MillisBehindLatest": lag});
                if self.closed && end == self.records {
                    out["ChildShards"] = self.children();
                } else {
                    out["NextShardIterator"] = json!(format!("it-{end}-{n}"));
                }
                Answer::ok(out)
            }
            "SubscribeToShard" => {
                assert_eq!(body["ShardId"], SHARD);
                let position = &body["StartingPosition"];
                let at = || {
                    let s = position["SequenceNumber"].as_str().unwrap();
                    s.parse::<u64>().unwrap() - FIRST_SEQUENCE_NUMBER
                };
                let offset = match position["Type"].as_str().unwrap() {
                    "TRIM_HORIZON" => 0,
                    "LATEST" => self.records,
                    "AT_SEQUENCE_NUMBER" => at(),
                    "AFTER_SEQUENCE_NUMBER" => at() + 1,
                    other => panic!("unexpected starting position {other}"),
                };
                Answer::EventStream(self.session(offset))
            }
            other => panic!("unexpected operation {other} for a scripted shard"),
        }
    }
}

/// Record `i` of the shard, as the service lists it.
fn record(i: u64) -> Value {
    json!({
        "SequenceNumber": sequence_number(i),
        "Data": "ZGF0YQ==",
        "PartitionKey": format!("k{i}"),
        "ApproximateArrivalTimestamp": 1.7e9,
    })
}

/// Appends one event-stream frame: an event of type `event_type` with a JSON payload.
fn write_frame(frames: &mut Vec<u8>, event_type: &'static str, payload: &Value) {
    let message = Message::new(payload.to_string().into_bytes())
        .add_header(Header::new(
            ":message-type",
            HeaderValue::String("event".into()),
        ))
        .add_header(Header::new(
            ":event-type",
            HeaderValue::String(event_type.into()),
        ))
        .add_header(Header::new(
            ":content-type",
            HeaderValue::String("application/json".into()),
        ));
    write_message_to(&message, frames).expect("a small frame is always written");
}
