//! The seeded schedule of a run: what happens to which process, and when.
//!
//! The plan is drawn from the seed alone, before the run starts, so that a seed names one
//! schedule. What an action then meets (which shard is split, whether a worker is already
//! down) depends on the run and is decided by the same seeded generator as it executes.

use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

/// A fault burst on one service, for a while.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Burst {
    /// Kinesis: GetRecords throttled (p = 0.5) and PutRecords entries failed (share 0.2).
    KinesisThrottling,
    /// Kinesis: every operation answered 500 or reset (p = 0.15 each), or its answer lost
    /// after it was applied (p = 0.05).
    KinesisErrors,
    /// DynamoDB: lease writes applied with their answer lost (p = 0.2) or held until they
    /// time out (p = 0.1), scans throttled (p = 0.3).
    DynamoDbFaults,
    /// Both services: 300 ms more on every call.
    Latency,
}

impl Burst {
    /// Its name in the report.
    pub fn name(self) -> &'static str {
        match self {
            Burst::KinesisThrottling => "kinesis-throttling",
            Burst::KinesisErrors => "kinesis-errors",
            Burst::DynamoDbFaults => "dynamodb-faults",
            Burst::Latency => "latency",
        }
    }
}

/// One step of the plan.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// SIGKILL a worker; start it again after `down` (with its old worker id, or a new one).
    KillWorker {
        /// Which worker slot.
        worker: usize,
        /// How long it stays down.
        down: Duration,
        /// Whether it comes back with a new worker id (its old leases then expire).
        new_id: bool,
    },
    /// SIGSTOP a worker for `frozen` (longer than the failover time), then SIGCONT.
    FreezeWorker {
        /// Which worker slot.
        worker: usize,
        /// How long it stays frozen.
        frozen: Duration,
    },
    /// Stop a worker gracefully (it checkpoints and releases its leases) and start it again.
    RestartWorker {
        /// Which worker slot.
        worker: usize,
    },
    /// SIGKILL a producer; start it again after `down` (its unacknowledged records are of
    /// unknown outcome, never counted as written).
    KillProducer {
        /// Which producer slot.
        producer: usize,
        /// How long it stays down.
        down: Duration,
    },
    /// Split an open shard at the middle of its hash key range.
    Split,
    /// Merge two adjacent open shards.
    Merge,
    /// Inject faults for a while.
    Faults {
        /// Which faults.
        burst: Burst,
        /// For how long.
        lasting: Duration,
    },
}

impl Action {
    /// The action as a JSON object, for the report.
    pub fn to_json(&self) -> Value {
        match self {
            Action::KillWorker {
                worker,
                down,
                new_id,
            } => {
                json!({"action": "kill-worker", "worker": worker, "down_ms": millis(*down), "new_id": new_id})
            }
            Action::FreezeWorker { worker, frozen } => {
                json!({"action": "freeze-worker", "worker": worker, "frozen_ms": millis(*frozen)})
            }
            Action::RestartWorker { worker } => {
                json!({"action": "restart-worker", "worker": worker})
            }
            Action::KillProducer { producer, down } => {
                json!({"action": "kill-producer", "producer": producer, "down_ms": millis(*down)})
            }
            Action::Split => json!({"action": "split"}),
            Action::Merge => json!({"action": "merge"}),
            Action::Faults { burst, lasting } => {
                json!({"action": "faults", "burst": burst.name(), "lasting_ms": millis(*lasting)})
            }
        }
    }
}

/// Milliseconds, for the report.
pub fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// The schedule of a run of `length`: actions from 4 s in until 3 s before the end, one every
/// 2 to 6 s.
pub fn plan(
    seed: u64,
    length: Duration,
    workers: usize,
    producers: usize,
    failover: Duration,
) -> Vec<(Duration, Action)> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut at = Duration::from_secs(4);
    let end = length.saturating_sub(Duration::from_secs(3));
    let mut out = Vec::new();
    while at < end {
        let draw = rng.random_range(0..100u32);
        let action = match draw {
            0..20 => Action::KillWorker {
                worker: rng.random_range(0..workers),
                down: Duration::from_millis(rng.random_range(500..4_000)),
                new_id: rng.random_bool(0.5),
            },
            20..35 => Action::FreezeWorker {
                worker: rng.random_range(0..workers),
                frozen: failover + Duration::from_millis(rng.random_range(1_000..3_000)),
            },
            35..45 => Action::RestartWorker {
                worker: rng.random_range(0..workers),
            },
            45..55 => Action::KillProducer {
                producer: rng.random_range(0..producers),
                down: Duration::from_millis(rng.random_range(500..3_000)),
            },
            55..63 => Action::Split,
            63..70 => Action::Merge,
            _ => Action::Faults {
                burst: match rng.random_range(0..4u32) {
                    0 => Burst::KinesisThrottling,
                    1 => Burst::KinesisErrors,
                    2 => Burst::DynamoDbFaults,
                    _ => Burst::Latency,
                },
                lasting: Duration::from_millis(rng.random_range(2_000..6_000)),
            },
        };
        out.push((at, action));
        at += Duration::from_millis(rng.random_range(2_000..6_000));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_names_one_plan() {
        let a = plan(7, Duration::from_secs(120), 3, 2, Duration::from_secs(3));
        assert_eq!(
            a,
            plan(7, Duration::from_secs(120), 3, 2, Duration::from_secs(3))
        );
        assert_ne!(
            a,
            plan(8, Duration::from_secs(120), 3, 2, Duration::from_secs(3))
        );
        assert!(a.len() >= 120 / 6 - 2, "{} actions", a.len());
        assert!(
            a.iter()
                .all(|(at, _)| *at >= Duration::from_secs(4) && *at < Duration::from_secs(117))
        );
    }

    #[test]
    fn freezes_last_longer_than_the_failover_time() {
        let failover = Duration::from_secs(3);
        for seed in 0..50 {
            for (_, action) in plan(seed, Duration::from_secs(60), 3, 2, failover) {
                if let Action::FreezeWorker { frozen, .. } = action {
                    assert!(frozen > failover);
                }
            }
        }
    }
}
