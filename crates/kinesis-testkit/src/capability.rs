//! Behaviours on which the supported backends differ.

use std::fmt;

use crate::backend::{Backend, Service};

/// A behaviour that some backends have and others lack.
///
/// Ask [`TestEnv::supports`](crate::TestEnv::supports) before relying on one, or skip the test
/// with [`TestEnv::require`](crate::TestEnv::require) /
/// [`require_capability!`](crate::require_capability). The answers come from measurements of
/// ferrokinesis 0.7.0, kinesis-local 0.6.2, dynoxide 3.2.0, moto 5.2.5 and dynalite 4.0.0
/// (see the table in the [crate documentation](crate#capabilities)). An external backend whose
/// name is unknown is assumed to behave like AWS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Capability {
    /// Each [`TestEnv`](crate::TestEnv) has a Kinesis namespace of its own, so ListStreams
    /// shows only its own streams: the embedded server is private to it, and kinesis-local
    /// gives each 12-digit access key id its own account. On AWS only names keep tests apart.
    IsolatedStreams,
    /// SubscribeToShard (enhanced fan-out) works at all.
    EnhancedFanOut,
    /// GetRecords on a closed parent shard returns `ChildShards` with the final (absent)
    /// `NextShardIterator`. ferrokinesis never returns them; discover children with ListShards.
    GetRecordsChildShards,
    /// UpdateShardCount creates children whose `ParentShardId` points at the closed shards.
    /// ferrokinesis creates new root shards instead (SplitShard/MergeShards lineage is fine).
    UpdateShardCountLineage,
    /// ListShards honours `ShardFilter` (e.g. `AT_LATEST` leaves closed shards out).
    ListShardsFilter,
    /// ListShards pages with `MaxResults`, and a follow-up call with only `NextToken` works.
    ListShardsPagination,
    /// Operations other than PutRecord(s) and the consumer operations accept `StreamARN`
    /// instead of `StreamName` (DescribeStreamSummary, GetShardIterator, ListShards, ...).
    StreamArnAddressing,
    /// `MillisBehindLatest` reflects the real lag; ferrokinesis always reports 0.
    MillisBehindLatest,
    /// AT_TIMESTAMP positions with sub-second precision (ferrokinesis truncates arrival times
    /// to whole seconds).
    SubSecondAtTimestamp,
    /// AT_TIMESTAMP with a timestamp after the last record positions at the tip; ferrokinesis
    /// falls back to TRIM_HORIZON.
    AtTimestampAfterTipIsLatest,
    /// A second concurrent SubscribeToShard on the same consumer and shard is rejected with
    /// `ResourceInUseException`.
    DuplicateSubscriptionRejected,
    /// A subscription to a shard closed by a split or merge delivers `ChildShards` and ends.
    /// kinesis-local keeps sending continuation numbers forever.
    EfoShardEnd,
    /// SubscribeToShard starts where its `StartingPosition` says for `AT_SEQUENCE_NUMBER`,
    /// `AFTER_SEQUENCE_NUMBER` and `AT_TIMESTAMP`, so a renewed subscription continues after
    /// the last event's `ContinuationSequenceNumber`. ferrokinesis 0.7.0's request validation
    /// keeps only `StartingPosition.Type` (its SubscribeToShard rule lists no `SequenceNumber`
    /// or `Timestamp` member), so every such subscription starts at TRIM_HORIZON there.
    EfoStartingPosition,
    /// SubscribeToShard sends an `initial-response` frame, so `send()` returns at once
    /// (kinesis-local omits it; the Rust SDK then waits about 1 s for the first event).
    EfoInitialResponse,
    /// The SubscribeToShard session lifetime follows
    /// [`TestEnvBuilder::subscribe_to_shard_session`](crate::TestEnvBuilder::subscribe_to_shard_session)
    /// instead of a fixed 5 minutes.
    ConfigurableEfoSession,
    /// PutRecord(s) beyond 1000 records/s or 1 MiB/s per shard are throttled with
    /// `ProvisionedThroughputExceededException`. The embedded backend does this only when
    /// [`TestEnvBuilder::enforce_limits`](crate::TestEnvBuilder::enforce_limits) is on.
    WriteThrottling,
    /// GetRecords beyond 5 calls/s or 2 MiB/s per shard is throttled. Only AWS does this; on
    /// the embedded backend inject it with [`Faults`](crate::Faults).
    ReadThrottling,
    /// Shard iterators expire after
    /// [`TestEnvBuilder::iterator_ttl`](crate::TestEnvBuilder::iterator_ttl) instead of a
    /// fixed 5 minutes.
    ConfigurableIteratorTtl,
    /// [`TestEnv::faults`](crate::TestEnv::faults) can inject errors, latency and dropped
    /// connections into Kinesis calls, and count them.
    FaultInjection,
    /// A malformed or unknown shard iterator gives HTTP 400 `InvalidArgumentException`
    /// (kinesis-local answers HTTP 500).
    InvalidIteratorIs4xx,
    /// CreateStream accepts an on-demand stream (no shard count). ferrokinesis requires a shard
    /// count and refuses on-demand creation with `ValidationException`.
    OnDemandStreams,
    /// Conditional DynamoDB writes are atomic: of two concurrent conditional updates of one item
    /// with the same condition, exactly one succeeds. moto 5.2.5 checks the condition and applies
    /// the update without a lock on a threaded server, so both can win there.
    AtomicConditionalWrites,
    /// DynamoDB UpdateContinuousBackups (point-in-time recovery) is implemented.
    DynamoDbContinuousBackups,
    /// DynamoDB TransactWriteItems is implemented.
    DynamoDbTransactions,
    /// [`TestEnv::cloudwatch`](crate::TestEnv::cloudwatch) shows the PutMetricData calls that
    /// arrived.
    MetricCapture,
}

impl Capability {
    /// Every capability, in declaration order.
    pub const ALL: [Capability; 25] = [
        Capability::IsolatedStreams,
        Capability::EnhancedFanOut,
        Capability::GetRecordsChildShards,
        Capability::UpdateShardCountLineage,
        Capability::ListShardsFilter,
        Capability::ListShardsPagination,
        Capability::StreamArnAddressing,
        Capability::MillisBehindLatest,
        Capability::SubSecondAtTimestamp,
        Capability::AtTimestampAfterTipIsLatest,
        Capability::DuplicateSubscriptionRejected,
        Capability::EfoShardEnd,
        Capability::EfoStartingPosition,
        Capability::EfoInitialResponse,
        Capability::ConfigurableEfoSession,
        Capability::WriteThrottling,
        Capability::ReadThrottling,
        Capability::ConfigurableIteratorTtl,
        Capability::FaultInjection,
        Capability::InvalidIteratorIs4xx,
        Capability::OnDemandStreams,
        Capability::AtomicConditionalWrites,
        Capability::DynamoDbContinuousBackups,
        Capability::DynamoDbTransactions,
        Capability::MetricCapture,
    ];

    /// The service whose backend decides this capability.
    pub fn service(self) -> Service {
        match self {
            Capability::DynamoDbContinuousBackups
            | Capability::DynamoDbTransactions
            | Capability::AtomicConditionalWrites => Service::DynamoDb,
            Capability::MetricCapture => Service::CloudWatch,
            _ => Service::Kinesis,
        }
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// A family of backends that behave alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Profile {
    Ferrokinesis,
    KinesisLocal,
    Dynoxide,
    Moto,
    Dynalite,
    CloudWatchReceiver,
    /// Real AWS, or an external backend of unknown name (assumed AWS-like).
    AwsLike,
}

fn profile(backend: &Backend) -> Profile {
    match backend {
        Backend::Embedded {
            name: "ferrokinesis",
        } => Profile::Ferrokinesis,
        Backend::Embedded { name: "dynoxide" } => Profile::Dynoxide,
        Backend::Embedded { .. } => Profile::CloudWatchReceiver,
        Backend::External { name } => match name.as_deref() {
            // LocalStack runs kinesis-local (kinesis-mock) for Kinesis, and moto for DynamoDB.
            Some("kinesis-local" | "kinesis-mock") => Profile::KinesisLocal,
            Some("localstack") => Profile::KinesisLocal,
            Some("moto") => Profile::Moto,
            Some("dynalite") => Profile::Dynalite,
            _ => Profile::AwsLike,
        },
    }
}

/// Whether `backend` (the backend of `capability.service()`) has `capability`.
/// `enforce_limits` is the embedded Kinesis store's setting.
pub(crate) fn supports(capability: Capability, backend: &Backend, enforce_limits: bool) -> bool {
    use Capability as C;
    use Profile as P;
    let profile = profile(backend);
    // LocalStack serves DynamoDB from moto, so for DynamoDB it answers as moto does.
    let profile = match (capability.service(), profile, backend.name()) {
        (Service::DynamoDb, P::KinesisLocal, "localstack") => P::Moto,
        (_, profile, _) => profile,
    };
    match capability {
        C::IsolatedStreams => matches!(profile, P::Ferrokinesis | P::KinesisLocal),
        C::EnhancedFanOut => matches!(profile, P::Ferrokinesis | P::KinesisLocal | P::AwsLike),
        C::GetRecordsChildShards
        | C::UpdateShardCountLineage
        | C::ListShardsFilter
        | C::ListShardsPagination
        | C::StreamArnAddressing
        | C::MillisBehindLatest
        | C::SubSecondAtTimestamp
        | C::AtTimestampAfterTipIsLatest
        | C::DuplicateSubscriptionRejected
        | C::EfoStartingPosition => matches!(profile, P::KinesisLocal | P::AwsLike),
        C::EfoShardEnd | C::EfoInitialResponse | C::InvalidIteratorIs4xx => {
            matches!(profile, P::Ferrokinesis | P::AwsLike)
        }
        C::WriteThrottling => match profile {
            P::Ferrokinesis => enforce_limits,
            P::AwsLike => true,
            _ => false,
        },
        C::ReadThrottling => profile == P::AwsLike,
        C::OnDemandStreams => matches!(profile, P::KinesisLocal | P::AwsLike),
        C::ConfigurableEfoSession | C::ConfigurableIteratorTtl | C::FaultInjection => {
            profile == P::Ferrokinesis
        }
        C::DynamoDbContinuousBackups => matches!(profile, P::Moto | P::AwsLike),
        C::DynamoDbTransactions => matches!(profile, P::Dynoxide | P::Moto | P::AwsLike),
        C::AtomicConditionalWrites => matches!(profile, P::Dynoxide | P::Dynalite | P::AwsLike),
        C::MetricCapture => profile == P::CloudWatchReceiver,
    }
}

/// Skips the rest of a test, with a message on stderr, when the [`TestEnv`](crate::TestEnv)'s
/// backend lacks a [`Capability`].
///
/// `require_capability!(env, cap)` returns `()` from the enclosing function;
/// `require_capability!(env, cap, value)` returns `value` (e.g. `Ok(())`). See
/// [`TestEnv::require`](crate::TestEnv::require) for the message.
///
/// ```no_run
/// use kinesis_testkit::{Capability, TestEnv, require_capability};
///
/// # async fn example() {
/// let env = TestEnv::start().await;
/// require_capability!(env, Capability::GetRecordsChildShards);
/// // ... the rest runs only where GetRecords reports child shards ...
/// # }
/// ```
#[macro_export]
macro_rules! require_capability {
    ($env:expr, $capability:expr $(,)?) => {
        if !$env.require($capability) {
            return;
        }
    };
    ($env:expr, $capability:expr, $ret:expr $(,)?) => {
        if !$env.require($capability) {
            return $ret;
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn external(name: &str) -> Backend {
        Backend::External {
            name: Some(name.to_owned()),
        }
    }

    #[test]
    fn ferrokinesis_and_kinesis_local_are_complementary() {
        let ferro = Backend::Embedded {
            name: "ferrokinesis",
        };
        let local = external("kinesis-local");
        for cap in [
            Capability::GetRecordsChildShards,
            Capability::UpdateShardCountLineage,
            Capability::ListShardsFilter,
            Capability::ListShardsPagination,
            Capability::StreamArnAddressing,
            Capability::MillisBehindLatest,
            Capability::SubSecondAtTimestamp,
            Capability::DuplicateSubscriptionRejected,
            Capability::EfoStartingPosition,
        ] {
            assert!(!supports(cap, &ferro, false), "{cap}");
            assert!(supports(cap, &local, false), "{cap}");
        }
        for cap in [
            Capability::EfoShardEnd,
            Capability::EfoInitialResponse,
            Capability::ConfigurableEfoSession,
            Capability::ConfigurableIteratorTtl,
            Capability::FaultInjection,
            Capability::InvalidIteratorIs4xx,
        ] {
            assert!(supports(cap, &ferro, false), "{cap}");
            assert!(!supports(cap, &local, false), "{cap}");
        }
        for cap in [Capability::EnhancedFanOut, Capability::IsolatedStreams] {
            assert!(supports(cap, &ferro, false), "{cap}");
            assert!(supports(cap, &local, false), "{cap}");
        }
    }

    #[test]
    fn write_throttling_follows_enforce_limits() {
        let ferro = Backend::Embedded {
            name: "ferrokinesis",
        };
        assert!(!supports(Capability::WriteThrottling, &ferro, false));
        assert!(supports(Capability::WriteThrottling, &ferro, true));
        assert!(!supports(
            Capability::WriteThrottling,
            &external("kinesis-local"),
            true
        ));
    }

    #[test]
    fn unknown_external_backends_are_aws_like() {
        let unknown = Backend::External { name: None };
        let aws = external("aws");
        for cap in [
            Capability::GetRecordsChildShards,
            Capability::EfoShardEnd,
            Capability::ReadThrottling,
            Capability::WriteThrottling,
        ] {
            assert!(supports(cap, &unknown, false), "{cap}");
            assert!(supports(cap, &aws, false), "{cap}");
        }
        for cap in [
            Capability::ConfigurableEfoSession,
            Capability::FaultInjection,
            Capability::ConfigurableIteratorTtl,
            Capability::IsolatedStreams,
        ] {
            assert!(!supports(cap, &unknown, false), "{cap}");
        }
    }

    #[test]
    fn dynamodb_and_cloudwatch_capabilities() {
        let dynoxide = Backend::Embedded { name: "dynoxide" };
        assert!(!supports(
            Capability::DynamoDbContinuousBackups,
            &dynoxide,
            false
        ));
        assert!(supports(Capability::DynamoDbTransactions, &dynoxide, false));
        assert!(supports(
            Capability::DynamoDbContinuousBackups,
            &external("moto"),
            false
        ));
        assert!(supports(
            Capability::DynamoDbContinuousBackups,
            &external("localstack"),
            false
        ));
        assert!(!supports(
            Capability::DynamoDbTransactions,
            &external("dynalite"),
            false
        ));
        let receiver = Backend::Embedded {
            name: "cloudwatch-receiver",
        };
        assert!(supports(Capability::MetricCapture, &receiver, false));
        assert!(!supports(
            Capability::MetricCapture,
            &external("moto"),
            false
        ));
    }

    #[test]
    fn all_lists_every_capability_once() {
        let set: std::collections::HashSet<_> = Capability::ALL.iter().collect();
        assert_eq!(set.len(), Capability::ALL.len());
    }
}
