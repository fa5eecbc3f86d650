//! The KCL MultiLangDaemon's properties file, read into a [`DaemonConfig`].
//!
//! The file is a Java `.properties` file (`key = value`, `key: value` or `key value`; `#` and
//! `!` comments; a trailing `\` continues a line). The keys are the Java daemon's. Keys this
//! daemon does not apply are reported in [`DaemonConfig::ignored`], never dropped in silence.

use std::fmt;
use std::time::Duration;

use kinesis_client::StreamId;
use kinesis_lease::lineage::InitialPosition;

/// A `key = value` of the file, with its line number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Property {
    /// The key.
    pub key: String,
    /// The value, trimmed, escapes resolved.
    pub value: String,
    /// The line it starts on (1-based).
    pub line: usize,
}

/// A property the daemon read but does not apply, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ignored {
    /// The key.
    pub key: String,
    /// The line (1-based).
    pub line: usize,
    /// Why it has no effect.
    pub reason: String,
}

impl fmt::Display for Ignored {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}: {}", self.line, self.key, self.reason)
    }
}

/// A properties file that cannot configure the daemon: what is wrong, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    message: String,
}

impl ConfigError {
    fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConfigError {}

/// Reads the properties of a Java `.properties` text, in order.
///
/// ```
/// use kinesis_multilang::properties::parse_properties;
///
/// let props = parse_properties("# a comment\nexecutableName = python3 app.py\nstreamName: orders\n");
/// assert_eq!(props[0].key, "executableName");
/// assert_eq!(props[0].value, "python3 app.py");
/// assert_eq!(props[1].line, 3);
/// ```
pub fn parse_properties(text: &str) -> Vec<Property> {
    let mut out = Vec::new();
    let mut lines = text.lines().enumerate();
    while let Some((index, raw)) = lines.next() {
        let start = index + 1;
        let trimmed = raw.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with('!') {
            continue;
        }
        // Continuation: an odd number of trailing backslashes joins the next line.
        let mut logical = trimmed.to_owned();
        while ends_with_continuation(&logical) {
            logical.pop();
            match lines.next() {
                Some((_, next)) => logical.push_str(next.trim_start()),
                None => break,
            }
        }
        let (key, value) = split_key_value(&logical);
        out.push(Property {
            key: unescape(&key),
            value: unescape(value.trim()),
            line: start,
        });
    }
    out
}

fn ends_with_continuation(line: &str) -> bool {
    line.chars().rev().take_while(|c| *c == '\\').count() % 2 == 1
}

/// Splits at the first unescaped `=`, `:` or whitespace (with whitespace around the separator).
fn split_key_value(line: &str) -> (String, &str) {
    let mut key = String::new();
    let mut chars = line.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => {
                key.push(c);
                if let Some((_, escaped)) = chars.next() {
                    key.push(escaped);
                }
            }
            '=' | ':' => return (key, &line[i + 1..]),
            c if c.is_whitespace() => {
                let rest = line[i..].trim_start();
                let rest = rest
                    .strip_prefix('=')
                    .or_else(|| rest.strip_prefix(':'))
                    .unwrap_or(rest);
                return (key, rest);
            }
            c => key.push(c),
        }
    }
    (key, "")
}

fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('f') => out.push('\u{c}'),
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                    Some(decoded) => out.push(decoded),
                    None => {
                        out.push_str("\\u");
                        out.push_str(&hex);
                    }
                }
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

/// What the daemon runs, read from the properties file.
#[non_exhaustive]
#[derive(Clone, Debug)]
pub struct DaemonConfig {
    /// The record processor's command line (`executableName`, split at spaces as the Java
    /// daemon splits it).
    pub command: Vec<String>,
    /// The stream (`streamArn`, else `streamName`).
    pub stream: StreamId,
    /// The application (`applicationName`): the lease table's name unless `tableName` is set.
    pub application_name: String,
    /// The lease table (`tableName`).
    pub table_name: Option<String>,
    /// This worker's identifier (`workerId`); a random one when absent.
    pub worker_id: Option<String>,
    /// Where new leases start (`initialPositionInStream`: `TRIM_HORIZON` or `LATEST`, the
    /// default).
    pub initial_position: InitialPosition,
    /// The region (`regionName`); the default chain's when absent.
    pub region: Option<String>,
    /// Records per `GetRecords` call and per `processRecords` message (`maxRecords`).
    pub max_records: Option<u32>,
    /// The pause between polls of a shard that is caught up (`idleTimeBetweenReadsInMillis`).
    pub idle_time_between_reads: Option<Duration>,
    /// How long a lease lives without renewal (`failoverTimeMillis`).
    pub failover_time: Option<Duration>,
    /// How often the shard list is read (`shardSyncIntervalMillis`).
    pub shard_sync_interval: Option<Duration>,
    /// Enhanced fan-out through a consumer of this name (`retrievalMode = FANOUT`, with
    /// `consumerName` or else the application name).
    pub fan_out_consumer: Option<String>,
    /// How long a processor may take to answer a message (`timeoutInSeconds`); unbounded when
    /// absent, as in the Java daemon.
    pub response_timeout: Option<Duration>,
    /// The properties read but not applied.
    pub ignored: Vec<Ignored>,
}

/// Keys read but without effect here, with the reason given to the operator.
const NO_EFFECT: &[(&str, &str)] = &[
    (
        "processingLanguage",
        "informational (the Java daemon adds it to its user agent)",
    ),
    (
        "maxActiveThreads",
        "not needed: processors run as tokio tasks, one child process per shard",
    ),
    (
        "callProcessRecordsEvenForEmptyRecordList",
        "empty batches are never sent to processors",
    ),
    (
        "validateSequenceNumberBeforeCheckpointing",
        "checkpoints are always validated against the records delivered",
    ),
    (
        "parentShardPollIntervalMillis",
        "children start as soon as their parents' SHARD_END checkpoints are written",
    ),
    (
        "cleanupLeasesUponShardCompletion",
        "finished leases are cleaned up as the consumer's lease coordinator decides",
    ),
    (
        "taskBackoffTimeMillis",
        "retries use the client's backoff and retry budget",
    ),
    (
        "metricsBufferTimeMillis",
        "metrics are not published by this daemon",
    ),
    (
        "metricsMaxQueueSize",
        "metrics are not published by this daemon",
    ),
    ("metricsLevel", "metrics are not published by this daemon"),
    (
        "metricsEnabledDimensions",
        "metrics are not published by this daemon",
    ),
];

impl DaemonConfig {
    /// Reads the configuration from the properties of a file.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] for a missing `executableName`, `applicationName` or stream, and for a
    /// value that cannot be read (naming the key, its line and the value).
    ///
    /// ```
    /// use kinesis_multilang::properties::{DaemonConfig, parse_properties};
    ///
    /// let text = "executableName = python3 app.py\nstreamName = orders\napplicationName = audit\n\
    ///             maxRecords = 500\nAwsCredentialsProvider = DefaultCredentialsProvider\nmetricsLevel = NONE\n";
    /// let config = DaemonConfig::from_properties(&parse_properties(text))?;
    /// assert_eq!(config.command, ["python3", "app.py"]);
    /// assert_eq!(config.max_records, Some(500));
    /// assert_eq!(config.ignored.len(), 1);
    /// assert_eq!(config.ignored[0].key, "metricsLevel");
    /// # Ok::<(), kinesis_multilang::properties::ConfigError>(())
    /// ```
    pub fn from_properties(properties: &[Property]) -> Result<Self, ConfigError> {
        let get = |key: &str| {
            properties
                .iter()
                .rev()
                .find(|p| p.key == key && !p.value.is_empty())
        };
        let required = |key: &str| {
            get(key).ok_or_else(|| ConfigError::new(format!("the properties file has no {key}")))
        };
        let millis = |key: &str| -> Result<Option<Duration>, ConfigError> {
            get(key)
                .map(|p| {
                    p.value
                        .parse::<u64>()
                        .ok()
                        .filter(|ms| *ms > 0)
                        .map(Duration::from_millis)
                        .ok_or_else(|| {
                            ConfigError::new(format!(
                                "line {}: {key} must be a positive number of milliseconds, not {:?}",
                                p.line, p.value
                            ))
                        })
                })
                .transpose()
        };

        let executable = required("executableName")?;
        let command: Vec<String> = executable
            .value
            .split(' ')
            .filter(|part| !part.is_empty())
            .map(str::to_owned)
            .collect();
        let stream_text = get("streamArn")
            .or_else(|| get("streamName"))
            .ok_or_else(|| {
                ConfigError::new("the properties file has no streamName or streamArn")
            })?;
        let stream: StreamId = stream_text.value.parse().map_err(|e| {
            ConfigError::new(format!(
                "line {}: {} {:?} is not a stream name or ARN: {e}",
                stream_text.line, stream_text.key, stream_text.value
            ))
        })?;
        let application_name = required("applicationName")?.value.clone();
        let initial_position = match get("initialPositionInStream") {
            None => InitialPosition::Latest,
            Some(p) => match p.value.as_str() {
                "LATEST" => InitialPosition::Latest,
                "TRIM_HORIZON" => InitialPosition::TrimHorizon,
                other => {
                    return Err(ConfigError::new(format!(
                        "line {}: initialPositionInStream {other:?} is not supported (TRIM_HORIZON or LATEST)",
                        p.line
                    )));
                }
            },
        };
        let max_records = get("maxRecords")
            .map(|p| {
                p.value
                    .parse::<u32>()
                    .ok()
                    .filter(|n| (1..=10_000).contains(n))
                    .ok_or_else(|| {
                        ConfigError::new(format!(
                            "line {}: maxRecords must be 1 to 10000, not {:?}",
                            p.line, p.value
                        ))
                    })
            })
            .transpose()?;
        let fan_out_consumer = match get("retrievalMode").map(|p| (p, p.value.as_str())) {
            None | Some((_, "POLLING" | "DEFAULT")) => None,
            Some((_, "FANOUT")) => Some(
                get("consumerName").map_or_else(|| application_name.clone(), |p| p.value.clone()),
            ),
            Some((p, other)) => {
                return Err(ConfigError::new(format!(
                    "line {}: retrievalMode {other:?} is not one of FANOUT, POLLING, DEFAULT",
                    p.line
                )));
            }
        };
        let response_timeout = get("timeoutInSeconds")
            .map(|p| {
                p.value
                    .parse::<u64>()
                    .ok()
                    .filter(|s| *s > 0)
                    .map(Duration::from_secs)
                    .ok_or_else(|| {
                        ConfigError::new(format!(
                            "line {}: timeoutInSeconds must be a positive number of seconds, not {:?}",
                            p.line, p.value
                        ))
                    })
            })
            .transpose()?;

        const APPLIED: &[&str] = &[
            "executableName",
            "streamName",
            "streamArn",
            "applicationName",
            "tableName",
            "workerId",
            "initialPositionInStream",
            "regionName",
            "maxRecords",
            "idleTimeBetweenReadsInMillis",
            "failoverTimeMillis",
            "shardSyncIntervalMillis",
            "retrievalMode",
            "consumerName",
            "timeoutInSeconds",
        ];
        let mut ignored = Vec::new();
        for p in properties {
            if APPLIED.contains(&p.key.as_str()) {
                continue;
            }
            let reason = if p.key == "AwsCredentialsProvider" {
                if p.value == "DefaultCredentialsProvider" {
                    continue;
                }
                "only the default credential chain is used (AWS_PROFILE, environment, instance role)".to_owned()
            } else if let Some((_, why)) = NO_EFFECT.iter().find(|(k, _)| *k == p.key) {
                if matches!(p.key.as_str(), "processingLanguage") {
                    continue;
                }
                (*why).to_owned()
            } else {
                "not supported by this daemon".to_owned()
            };
            ignored.push(Ignored {
                key: p.key.clone(),
                line: p.line,
                reason,
            });
        }

        Ok(Self {
            command,
            stream,
            application_name,
            table_name: get("tableName").map(|p| p.value.clone()),
            worker_id: get("workerId").map(|p| p.value.clone()),
            initial_position,
            region: get("regionName").map(|p| p.value.clone()),
            max_records,
            idle_time_between_reads: millis("idleTimeBetweenReadsInMillis")?,
            failover_time: millis("failoverTimeMillis")?,
            shard_sync_interval: millis("shardSyncIntervalMillis")?,
            fan_out_consumer,
            response_timeout,
            ignored,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_properties_syntax() {
        let text = "! comment\n  key1=a\nkey2 : b c \nkey3 d\nlong = one \\\n    two\nesc = tab\\there\\u0041\nempty\n";
        let props = parse_properties(text);
        let pairs: Vec<(&str, &str, usize)> = props
            .iter()
            .map(|p| (p.key.as_str(), p.value.as_str(), p.line))
            .collect();
        assert_eq!(
            pairs,
            [
                ("key1", "a", 2),
                ("key2", "b c", 3),
                ("key3", "d", 4),
                ("long", "one two", 5),
                ("esc", "tab\there\u{41}", 7),
                ("empty", "", 8),
            ]
        );
    }

    fn config(text: &str) -> Result<DaemonConfig, ConfigError> {
        DaemonConfig::from_properties(&parse_properties(text))
    }

    const BASE: &str =
        "executableName = python3  app.py\nstreamName = orders\napplicationName = audit\n";

    #[test]
    fn the_kcl_sample_keys_are_applied_or_reported() {
        let c = config(&format!(
            "{BASE}initialPositionInStream = TRIM_HORIZON\nregionName = eu-west-1\nfailoverTimeMillis = 10000\n\
             idleTimeBetweenReadsInMillis = 250\nmaxRecords = 100\ntimeoutInSeconds = 30\nworkerId = w1\n\
             processingLanguage = python/3.8\nmaxActiveThreads = -1\nclientVersionConfig = CLIENT_VERSION_CONFIG_3x\n"
        ))
        .unwrap();
        assert_eq!(c.command, ["python3", "app.py"]);
        assert_eq!(c.stream.name().as_str(), "orders");
        assert_eq!(c.initial_position, InitialPosition::TrimHorizon);
        assert_eq!(c.region.as_deref(), Some("eu-west-1"));
        assert_eq!(c.failover_time, Some(Duration::from_secs(10)));
        assert_eq!(c.idle_time_between_reads, Some(Duration::from_millis(250)));
        assert_eq!(c.max_records, Some(100));
        assert_eq!(c.response_timeout, Some(Duration::from_secs(30)));
        assert_eq!(c.worker_id.as_deref(), Some("w1"));
        let ignored: Vec<&str> = c.ignored.iter().map(|i| i.key.as_str()).collect();
        assert_eq!(ignored, ["maxActiveThreads", "clientVersionConfig"]);
        assert!(
            c.ignored[1]
                .to_string()
                .contains("line 13: clientVersionConfig: not supported")
        );
    }

    #[test]
    fn bad_files_say_which_key_and_line() {
        let missing = config("streamName = s\napplicationName = a\n").unwrap_err();
        assert!(
            missing.to_string().contains("no executableName"),
            "{missing}"
        );
        let no_stream = config("executableName = x\napplicationName = a\n").unwrap_err();
        assert!(no_stream.to_string().contains("no streamName or streamArn"));
        let bad = config(&format!("{BASE}maxRecords = lots\n")).unwrap_err();
        assert!(
            bad.to_string()
                .contains("line 4: maxRecords must be 1 to 10000"),
            "{bad}"
        );
        let bad = config(&format!("{BASE}initialPositionInStream = AT_TIMESTAMP\n")).unwrap_err();
        assert!(bad.to_string().contains("AT_TIMESTAMP"), "{bad}");
        let bad = config(&format!("{BASE}failoverTimeMillis = 10s\n")).unwrap_err();
        assert!(
            bad.to_string().contains("line 4: failoverTimeMillis"),
            "{bad}"
        );
        let zero = config(&format!("{BASE}shardSyncIntervalMillis = 0\n")).unwrap_err();
        assert!(
            zero.to_string().contains("must be a positive number"),
            "{zero}"
        );
        let fanout = config(&format!("{BASE}retrievalMode = FANOUT\n")).unwrap();
        assert_eq!(fanout.fan_out_consumer.as_deref(), Some("audit"));
    }
}
