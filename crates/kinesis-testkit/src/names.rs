//! Unique resource names and per-environment access key ids.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The longest name Kinesis accepts for a stream (DynamoDB accepts 255 for a table).
const MAX_NAME_LEN: usize = 128;

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A random 64-bit value: std's per-instance random hash keys, mixed with the clock,
/// the process id and a process-wide counter.
fn random_u64() -> u64 {
    let mut hasher = RandomState::new().build_hasher();
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    hasher.write_u128(nanos);
    hasher.write_u32(std::process::id());
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    hasher.finish()
}

/// Eight hex digits chosen once per process, so that two processes that share an external
/// emulator (for example test binaries run in parallel by cargo-nextest) never pick the same
/// names.
fn process_tag() -> &'static str {
    static TAG: OnceLock<String> = OnceLock::new();
    TAG.get_or_init(|| format!("{:08x}", random_u64() as u32))
}

/// Returns a fresh name that starts with `prefix` and is valid both as a Kinesis stream name
/// and as a DynamoDB table name.
///
/// The result contains only ASCII letters, digits, `_`, `-` and `.`, is at most 128 characters
/// long and at least 3, and is unique per call and per process: it ends with a random tag
/// chosen once per process and a per-process counter, e.g. `orders-3f9a1c2b-7`. Characters of
/// `prefix` outside that set become `-`, and a long prefix is shortened.
///
/// Use it for every stream, table, consumer and application name a test creates, so that tests
/// running in parallel against the same (external) server never see each other's resources.
///
/// ```
/// let a = kinesis_testkit::unique_name("orders");
/// let b = kinesis_testkit::unique_name("orders");
/// assert_ne!(a, b);
/// assert!(a.starts_with("orders-"));
/// assert!(a.len() <= 128);
/// ```
pub fn unique_name(prefix: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let suffix = format!("-{}-{n}", process_tag());
    let mut name: String = prefix
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.') {
                c
            } else {
                '-'
            }
        })
        .take(MAX_NAME_LEN - suffix.len())
        .collect();
    if name.is_empty() {
        name.push('t');
    }
    name.push_str(&suffix);
    name
}

/// A 12-digit numeric access key id (never all zeros), distinct for every call.
///
/// kinesis-local serves a request signed with a 12-digit access key id from that account's own
/// namespace, so a distinct key per [`TestEnv`](crate::TestEnv) isolates tests that share one
/// external server.
pub(crate) fn account_access_key_id() -> String {
    const LOW: u64 = 100_000_000_000;
    const SPAN: u64 = 900_000_000_000;
    format!("{}", LOW + random_u64() % SPAN)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn valid(name: &str) -> bool {
        (3..=MAX_NAME_LEN).contains(&name.len())
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    }

    #[test]
    fn names_are_valid_for_streams_and_tables() {
        for prefix in [
            "orders",
            "",
            "a b/c:d",
            "é",
            &"x".repeat(300),
            "lease_table.v1",
        ] {
            let name = unique_name(prefix);
            assert!(valid(&name), "{name:?}");
        }
        assert!(unique_name("lease_table.v1").starts_with("lease_table.v1-"));
        assert!(unique_name("a b").starts_with("a-b-"));
    }

    #[test]
    fn names_are_unique() {
        let names: HashSet<String> = (0..10_000).map(|_| unique_name("s")).collect();
        assert_eq!(names.len(), 10_000);
    }

    #[test]
    fn access_key_ids_are_twelve_digits_and_distinct() {
        let keys: HashSet<String> = (0..1_000).map(|_| account_access_key_id()).collect();
        assert!(keys.len() >= 999);
        for key in keys {
            assert_eq!(key.len(), 12);
            assert!(key.bytes().all(|b| b.is_ascii_digit()));
            assert_ne!(key, "000000000000");
        }
    }
}
