//! The messages, their JSON form, and their parsing.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use serde_json::{Map, Value};

use super::error::{MessageError, MessageErrorKind};

/// A record in a `processRecords` message (the Java KCL's `JsonFriendlyRecord`).
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// The payload (base64 on the wire).
    pub data: Bytes,
    /// The partition key.
    pub partition_key: String,
    /// The Kinesis sequence number of the record (of its aggregate, for a KPL user record).
    pub sequence_number: String,
    /// The index of the user record inside its KPL aggregate; 0 (or absent) for a plain record.
    pub sub_sequence_number: Option<u64>,
    /// When Kinesis received the record, in milliseconds since the epoch.
    pub approximate_arrival_timestamp: Option<i64>,
}

impl Record {
    /// A record with no sub-sequence number and no arrival time.
    ///
    /// ```
    /// use kinesis_kcl_compat::multilang::Record;
    ///
    /// let record = Record::new("hello", "key-1", "49590338271490256608559692538361571095921575989136588898")
    ///     .with_sub_sequence_number(0)
    ///     .with_arrival_millis(1_764_000_000_000);
    /// assert_eq!(record.partition_key, "key-1");
    /// ```
    pub fn new(
        data: impl Into<Bytes>,
        partition_key: impl Into<String>,
        sequence_number: impl Into<String>,
    ) -> Self {
        Self {
            data: data.into(),
            partition_key: partition_key.into(),
            sequence_number: sequence_number.into(),
            sub_sequence_number: None,
            approximate_arrival_timestamp: None,
        }
    }

    /// Sets the sub-sequence number.
    #[must_use]
    pub fn with_sub_sequence_number(mut self, sub: u64) -> Self {
        self.sub_sequence_number = Some(sub);
        self
    }

    /// Sets the arrival time, in milliseconds since the epoch.
    #[must_use]
    pub fn with_arrival_millis(mut self, millis: i64) -> Self {
        self.approximate_arrival_timestamp = Some(millis);
        self
    }
}

/// The daemon's answer to a checkpoint request: the position it was asked for, and the simple
/// name of the Java exception when the checkpoint failed (`ShutdownException` when the lease is
/// gone, `ThrottlingException`, `InvalidStateException`, `KinesisClientLibDependencyException`,
/// `IllegalArgumentException` for a position out of range, ...).
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CheckpointResult {
    /// The sequence number of the request; absent when it checkpointed everything delivered.
    pub sequence_number: Option<String>,
    /// The sub-sequence number of the request.
    pub sub_sequence_number: Option<u64>,
    /// The failure, or `None` when the checkpoint was written.
    pub error: Option<String>,
}

impl CheckpointResult {
    /// The answer to `request`: written when `error` is `None`.
    ///
    /// ```
    /// use kinesis_kcl_compat::multilang::{CheckpointRequest, CheckpointResult};
    ///
    /// let request = CheckpointRequest::at("42", Some(3));
    /// let failed = CheckpointResult::answer(&request, Some("ShutdownException".to_owned()));
    /// assert_eq!(failed.error.as_deref(), Some("ShutdownException"));
    /// assert_eq!(failed.sequence_number.as_deref(), Some("42"));
    /// ```
    pub fn answer(request: &CheckpointRequest, error: Option<String>) -> Self {
        Self {
            sequence_number: request.sequence_number.clone(),
            sub_sequence_number: request.sub_sequence_number,
            error,
        }
    }
}

/// A processor's request to checkpoint: a position, or (no sequence number) everything
/// delivered so far.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CheckpointRequest {
    /// The sequence number to checkpoint up to and including; `None` for everything delivered.
    pub sequence_number: Option<String>,
    /// The sub-sequence number inside a KPL aggregate.
    pub sub_sequence_number: Option<u64>,
}

impl CheckpointRequest {
    /// A request for everything delivered so far.
    pub fn everything() -> Self {
        Self::default()
    }

    /// A request for one position.
    pub fn at(sequence_number: impl Into<String>, sub_sequence_number: Option<u64>) -> Self {
        Self {
            sequence_number: Some(sequence_number.into()),
            sub_sequence_number,
        }
    }
}

/// A message from the daemon to a record processor.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ToProcessor {
    /// The processor's shard, and the checkpoint it starts after (a sequence number or a
    /// sentinel such as `TRIM_HORIZON`).
    Initialize {
        /// The shard id.
        shard_id: String,
        /// The lease's checkpoint.
        sequence_number: Option<String>,
        /// Its sub-sequence number.
        sub_sequence_number: Option<u64>,
    },
    /// Records to process.
    ProcessRecords {
        /// The records, oldest first.
        records: Vec<Record>,
        /// How far behind the tip of the shard the batch is.
        millis_behind_latest: Option<i64>,
    },
    /// The answer to a [`FromProcessor::Checkpoint`].
    Checkpoint(CheckpointResult),
    /// The lease was lost: the processor cannot checkpoint any more.
    LeaseLost,
    /// The shard was read to its end: the processor should checkpoint (`SHARD_END`) now.
    ShardEnded,
    /// The worker is stopping: the processor may checkpoint now.
    ShutdownRequested,
    /// The version 1 shutdown (`reason` `TERMINATE` or `ZOMBIE`), still understood by
    /// processors written for it.
    Shutdown {
        /// The reason.
        reason: Option<String>,
    },
}

/// A message from a record processor to the daemon.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FromProcessor {
    /// A checkpoint request; the daemon answers with [`ToProcessor::Checkpoint`].
    Checkpoint(CheckpointRequest),
    /// The processor finished the action it was given.
    Status {
        /// The action finished (`initialize`, `processRecords`, `leaseLost`, `shardEnded`,
        /// `shutdownRequested`, `shutdown`).
        response_for: String,
    },
}

impl ToProcessor {
    /// The `action` value of the message.
    pub fn action(&self) -> &'static str {
        match self {
            Self::Initialize { .. } => "initialize",
            Self::ProcessRecords { .. } => "processRecords",
            Self::Checkpoint(_) => "checkpoint",
            Self::LeaseLost => "leaseLost",
            Self::ShardEnded => "shardEnded",
            Self::ShutdownRequested => "shutdownRequested",
            Self::Shutdown { .. } => "shutdown",
        }
    }

    /// The message as one line of JSON (without the line break), as the Java daemon writes it.
    pub fn to_line(&self) -> String {
        let mut o = Obj::new(self.action());
        match self {
            Self::Initialize {
                shard_id,
                sequence_number,
                sub_sequence_number,
            } => {
                o.string("shardId", Some(shard_id));
                o.string("sequenceNumber", sequence_number.as_deref());
                o.number("subSequenceNumber", sub_sequence_number.map(Value::from));
            }
            Self::ProcessRecords {
                records,
                millis_behind_latest,
            } => {
                let records: Vec<String> = records.iter().map(record_json).collect();
                o.raw("records", format!("[{}]", records.join(",")));
                o.number("millisBehindLatest", millis_behind_latest.map(Value::from));
            }
            Self::Checkpoint(result) => {
                o.string("sequenceNumber", result.sequence_number.as_deref());
                o.number(
                    "subSequenceNumber",
                    result.sub_sequence_number.map(Value::from),
                );
                o.string("error", result.error.as_deref());
            }
            Self::ShardEnded => o.string("checkpoint", Some("SHARD_END")),
            Self::Shutdown { reason } => o.string("reason", reason.as_deref()),
            Self::LeaseLost | Self::ShutdownRequested => {}
        }
        o.finish()
    }

    /// Reads one line written by a daemon.
    ///
    /// # Errors
    ///
    /// [`MessageError`] naming the action and field at fault.
    pub fn parse(line: &str) -> Result<Self, MessageError> {
        let (action, fields) = object(line)?;
        Self::parse_fields(&action, &fields).map_err(|e| e.in_action(&action))
    }

    fn parse_fields(action: &str, fields: &Map<String, Value>) -> Result<Self, MessageError> {
        let f = Fields {
            action,
            map: fields,
        };
        Ok(match action {
            "initialize" => Self::Initialize {
                shard_id: f.required_string("shardId")?,
                sequence_number: f.string("sequenceNumber")?,
                sub_sequence_number: f.unsigned("subSequenceNumber")?,
            },
            "processRecords" => {
                let records = match fields.get("records") {
                    None | Some(Value::Null) => Vec::new(),
                    Some(Value::Array(items)) => items
                        .iter()
                        .enumerate()
                        .map(|(i, item)| parse_record(i, item))
                        .collect::<Result<_, _>>()?,
                    Some(other) => return Err(f.invalid("records", "an array", other)),
                };
                Self::ProcessRecords {
                    records,
                    millis_behind_latest: f.signed("millisBehindLatest")?,
                }
            }
            "checkpoint" => Self::Checkpoint(CheckpointResult {
                sequence_number: f.string("sequenceNumber")?,
                sub_sequence_number: f.unsigned("subSequenceNumber")?,
                error: f.string("error")?,
            }),
            "leaseLost" => Self::LeaseLost,
            "shardEnded" => Self::ShardEnded,
            "shutdownRequested" => Self::ShutdownRequested,
            "shutdown" => Self::Shutdown {
                reason: f.string("reason")?,
            },
            other => {
                return Err(MessageError::new(
                    MessageErrorKind::UnknownAction,
                    format!("unknown action {other:?} from the daemon"),
                ));
            }
        })
    }
}

impl FromProcessor {
    /// The status that answers `message`.
    pub fn status_for(message: &ToProcessor) -> Self {
        Self::Status {
            response_for: message.action().to_owned(),
        }
    }

    /// The `action` value of the message.
    pub fn action(&self) -> &'static str {
        match self {
            Self::Checkpoint(_) => "checkpoint",
            Self::Status { .. } => "status",
        }
    }

    /// The message as one line of JSON (without the line break), with exactly the fields the
    /// Java daemon reads (it refuses unknown ones).
    pub fn to_line(&self) -> String {
        let mut o = Obj::new(self.action());
        match self {
            Self::Checkpoint(request) => {
                o.string("sequenceNumber", request.sequence_number.as_deref());
                o.number(
                    "subSequenceNumber",
                    request.sub_sequence_number.map(Value::from),
                );
            }
            Self::Status { response_for } => o.string("responseFor", Some(response_for)),
        }
        o.finish()
    }

    /// Reads one line written by a record processor. A checkpoint's position may be named
    /// `sequenceNumber` (what the KCL's processors send) or `checkpoint` (what the protocol's
    /// description shows).
    ///
    /// # Errors
    ///
    /// [`MessageError`] naming the action and field at fault.
    pub fn parse(line: &str) -> Result<Self, MessageError> {
        let (action, fields) = object(line)?;
        Self::parse_fields(&action, &fields).map_err(|e| e.in_action(&action))
    }

    fn parse_fields(action: &str, fields: &Map<String, Value>) -> Result<Self, MessageError> {
        let f = Fields {
            action,
            map: fields,
        };
        match action {
            "checkpoint" => {
                let sequence_number = match f.string("sequenceNumber")? {
                    Some(s) => Some(s),
                    None => f.string("checkpoint")?,
                };
                Ok(Self::Checkpoint(CheckpointRequest {
                    sequence_number,
                    sub_sequence_number: f.unsigned("subSequenceNumber")?,
                }))
            }
            "status" => Ok(Self::Status {
                response_for: f.required_string("responseFor")?,
            }),
            other => Err(MessageError::new(
                MessageErrorKind::UnknownAction,
                format!("unknown action {other:?} from the record processor"),
            )),
        }
    }
}

/// Writes a JSON object with its fields in the order given (as Jackson writes a class's
/// properties), `null` for absent values.
struct Obj(Vec<(&'static str, String)>);

impl Obj {
    fn new(action: &'static str) -> Self {
        let mut o = Self(Vec::new());
        o.value("action", Value::from(action));
        o
    }

    fn value(&mut self, key: &'static str, value: Value) {
        self.raw(key, value.to_string());
    }

    /// A field whose value is already JSON text.
    fn raw(&mut self, key: &'static str, json: String) {
        self.0.push((key, json));
    }

    fn string(&mut self, key: &'static str, value: Option<&str>) {
        self.value(key, value.map_or(Value::Null, Value::from));
    }

    fn number(&mut self, key: &'static str, value: Option<Value>) {
        self.value(key, value.unwrap_or(Value::Null));
    }

    fn finish(self) -> String {
        let fields: Vec<String> = self
            .0
            .into_iter()
            .map(|(key, json)| format!("{}:{json}", Value::from(key)))
            .collect();
        format!("{{{}}}", fields.join(","))
    }
}

fn record_json(record: &Record) -> String {
    let mut o = Obj::new("record");
    o.value("data", Value::from(STANDARD.encode(&record.data)));
    o.string("partitionKey", Some(&record.partition_key));
    o.string("sequenceNumber", Some(&record.sequence_number));
    o.number(
        "approximateArrivalTimestamp",
        record.approximate_arrival_timestamp.map(Value::from),
    );
    o.number(
        "subSequenceNumber",
        record.sub_sequence_number.map(Value::from),
    );
    o.finish()
}

fn object(line: &str) -> Result<(String, Map<String, Value>), MessageError> {
    let value: Value = serde_json::from_str(line.trim()).map_err(|e| {
        MessageError::new(
            MessageErrorKind::NotJson,
            format!("not a JSON message ({e})"),
        )
    })?;
    let Value::Object(map) = value else {
        return Err(MessageError::new(
            MessageErrorKind::NotJson,
            format!("not a JSON object but {}", json_type(&value)),
        ));
    };
    match map.get("action") {
        Some(Value::String(action)) => Ok((action.clone(), map)),
        Some(other) => Err(MessageError::new(
            MessageErrorKind::UnknownAction,
            format!("\"action\" is {}, not a string", json_type(other)),
        )),
        None => Err(MessageError::new(
            MessageErrorKind::UnknownAction,
            "a message without \"action\"",
        )),
    }
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The fields of one message, read as Jackson reads them: strings from strings or numbers,
/// integers from numbers or decimal strings, `null` as absent.
struct Fields<'a> {
    action: &'a str,
    map: &'a Map<String, Value>,
}

impl Fields<'_> {
    fn invalid(&self, field: &str, want: &str, got: &Value) -> MessageError {
        MessageError::new(
            MessageErrorKind::InvalidField,
            format!(
                "{:?} of a {:?} message must be {want}, not {}",
                field,
                self.action,
                json_type(got)
            ),
        )
    }

    fn string(&self, field: &str) -> Result<Option<String>, MessageError> {
        match self.map.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(other) => Err(self.invalid(field, "a string", other)),
        }
    }

    fn required_string(&self, field: &str) -> Result<String, MessageError> {
        self.string(field)?.ok_or_else(|| {
            MessageError::new(
                MessageErrorKind::MissingField,
                format!("a {:?} message needs {field:?}", self.action),
            )
        })
    }

    fn signed(&self, field: &str) -> Result<Option<i64>, MessageError> {
        match self.map.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(v @ Value::Number(n)) => n
                .as_i64()
                .map(Some)
                .ok_or_else(|| self.invalid(field, "an integer", v)),
            Some(v @ Value::String(s)) => s
                .parse()
                .map(Some)
                .map_err(|_| self.invalid(field, "an integer", v)),
            Some(other) => Err(self.invalid(field, "an integer", other)),
        }
    }

    fn unsigned(&self, field: &str) -> Result<Option<u64>, MessageError> {
        match self.map.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(v @ Value::Number(n)) => n
                .as_u64()
                .map(Some)
                .ok_or_else(|| self.invalid(field, "a non-negative integer", v)),
            Some(v @ Value::String(s)) => s
                .parse()
                .map(Some)
                .map_err(|_| self.invalid(field, "a non-negative integer", v)),
            Some(other) => Err(self.invalid(field, "a non-negative integer", other)),
        }
    }
}

fn parse_record(index: usize, item: &Value) -> Result<Record, MessageError> {
    let Value::Object(map) = item else {
        return Err(MessageError::new(
            MessageErrorKind::InvalidField,
            format!(
                "record {index} of a \"processRecords\" message is {}, not an object",
                json_type(item)
            ),
        ));
    };
    let action = format!("processRecords\" record {index} \"");
    let f = Fields {
        action: &action,
        map,
    };
    let data = match map.get("data") {
        None | Some(Value::Null) => Bytes::new(),
        Some(Value::String(text)) => {
            let decoded = STANDARD.decode(text).or_else(|_| {
                // MIME base64 may carry line breaks; the Java daemon writes none.
                let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
                STANDARD.decode(compact)
            });
            Bytes::from(decoded.map_err(|e| {
                MessageError::new(
                    MessageErrorKind::InvalidField,
                    format!("\"data\" of record {index} is not base64 ({e})"),
                )
            })?)
        }
        Some(other) => return Err(f.invalid("data", "a base64 string", other)),
    };
    Ok(Record {
        data,
        partition_key: f.required_string("partitionKey")?,
        sequence_number: f.required_string("sequenceNumber")?,
        sub_sequence_number: f.unsigned("subSequenceNumber")?,
        approximate_arrival_timestamp: f.signed("approximateArrivalTimestamp")?,
    })
}
