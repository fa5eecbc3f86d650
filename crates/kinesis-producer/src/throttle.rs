//! Per-shard adaptive throttling: [`ThrottleSettings`] and the crate's [`Throttles`].
//!
//! Kinesis takes at most 1000 records and 1 MiB per second per shard. Each shard the producer
//! writes to gets two token buckets (entries and bytes), refilled continuously, holding at most
//! one second's worth, so the producer paces its own `PutRecords` entries instead of having them
//! refused. Several producers writing to one stream share the limit without knowing of each
//! other, so each shard's pace is also scaled by a factor that follows the refusals
//! (`ProvisionedThroughputExceeded`) seen, as zio-kinesis's `DynamicThrottler` does: every update
//! period, `factor = min(1, factor × success rate + allowed error rate)`.
//!
//! [`Throttles`] is a synchronous state machine: every call takes the current instant, so the
//! pipeline decides when to look again and tests need no real time.

use std::collections::HashMap;
use std::time::Duration;

use kinesis_client::ShardId;
use tokio::time::Instant;

const NANOS_PER_SEC: f64 = 1e9;

/// Floating-point slack, in nanoseconds, forgiven when turning a bucket's refill time into an
/// instant, so that an entry is not put off by a whole nanosecond for a rounding error.
const SLACK_NANOS: f64 = 1e-3;

/// The longest wait ever returned (about 31 years): keeps absurd debts from overflowing instants.
const MAX_WAIT_NANOS: f64 = 1e18;

/// How the producer paces what it writes to each shard.
///
/// Each shard gets two token buckets, refilled continuously and holding one second's worth:
/// entries (an aggregated record counts as one) and bytes. Both rates are multiplied by the
/// shard's factor, which starts at 1 and adapts to the share of entries that Kinesis refused as
/// throttled: every [`update_period`](Self::update_period),
/// `factor = min(1, factor × successes / (successes + refusals) + allowed_error_rate)`.
///
/// ```
/// use std::time::Duration;
/// use kinesis_producer::ThrottleSettings;
///
/// let s = ThrottleSettings::default();
/// assert!(s.enabled);
/// assert_eq!(s.records_per_second, 1000);
/// assert_eq!(s.bytes_per_second, 1_048_576);
/// assert_eq!(s.allowed_error_rate, 0.05);
/// assert_eq!(s.update_period, Duration::from_secs(5));
///
/// let shared = ThrottleSettings::default()
///     .with_records_per_second(500)
///     .with_bytes_per_second(512 * 1024);
/// assert_eq!(shared.records_per_second, 500);
/// ```
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq)]
pub struct ThrottleSettings {
    /// Pace the entries per shard. When false, entries go as soon as the batching allows and
    /// only the client's retries deal with refusals. Default true.
    pub enabled: bool,
    /// Entries per second per shard at full rate (an aggregated record is one entry). Default
    /// 1000, the Kinesis per-shard write limit.
    pub records_per_second: u32,
    /// Bytes per second per shard at full rate. Default 1 MiB (1 048 576), the Kinesis per-shard
    /// write limit.
    pub bytes_per_second: u64,
    /// The share of throttled entries tolerated: added to the factor at every update, so a shard
    /// that sees no refusals returns to full rate. Must be in (0, 1]. Default 0.05.
    pub allowed_error_rate: f64,
    /// How often each shard's factor is recomputed from the outcomes seen since the last update;
    /// the first update comes one period after the shard is first used. Default 5 s.
    pub update_period: Duration,
}

impl Default for ThrottleSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            records_per_second: 1000,
            bytes_per_second: 1_048_576,
            allowed_error_rate: 0.05,
            update_period: Duration::from_secs(5),
        }
    }
}

impl ThrottleSettings {
    /// Turns the throttling on or off.
    ///
    /// ```
    /// use kinesis_producer::ThrottleSettings;
    ///
    /// let s = ThrottleSettings::default().with_enabled(false);
    /// assert!(!s.enabled);
    /// ```
    #[must_use]
    pub fn with_enabled(mut self, enabled: bool) -> Self {
        self.enabled = enabled;
        self
    }

    /// Sets the entries per second per shard at full rate (checked, at least 1, when the
    /// producer is built).
    ///
    /// ```
    /// use kinesis_producer::ThrottleSettings;
    ///
    /// let s = ThrottleSettings::default().with_records_per_second(500);
    /// assert_eq!(s.records_per_second, 500);
    /// ```
    #[must_use]
    pub fn with_records_per_second(mut self, records_per_second: u32) -> Self {
        self.records_per_second = records_per_second;
        self
    }

    /// Sets the bytes per second per shard at full rate (checked, at least 1, when the producer
    /// is built).
    ///
    /// ```
    /// use kinesis_producer::ThrottleSettings;
    ///
    /// let s = ThrottleSettings::default().with_bytes_per_second(512 * 1024);
    /// assert_eq!(s.bytes_per_second, 524_288);
    /// ```
    #[must_use]
    pub fn with_bytes_per_second(mut self, bytes_per_second: u64) -> Self {
        self.bytes_per_second = bytes_per_second;
        self
    }

    /// Sets the share of throttled entries tolerated (checked, in (0, 1], when the producer is
    /// built).
    ///
    /// ```
    /// use kinesis_producer::ThrottleSettings;
    ///
    /// let s = ThrottleSettings::default().with_allowed_error_rate(0.1);
    /// assert_eq!(s.allowed_error_rate, 0.1);
    /// ```
    #[must_use]
    pub fn with_allowed_error_rate(mut self, allowed_error_rate: f64) -> Self {
        self.allowed_error_rate = allowed_error_rate;
        self
    }

    /// Sets how often each shard's factor is recomputed (checked, above zero, when the producer
    /// is built).
    ///
    /// ```
    /// use std::time::Duration;
    /// use kinesis_producer::ThrottleSettings;
    ///
    /// let s = ThrottleSettings::default().with_update_period(Duration::from_secs(1));
    /// assert_eq!(s.update_period, Duration::from_secs(1));
    /// ```
    #[must_use]
    pub fn with_update_period(mut self, update_period: Duration) -> Self {
        self.update_period = update_period;
        self
    }

    /// Checks the settings; the message names the offending field.
    pub(crate) fn validate(&self) -> Result<(), String> {
        if !(self.allowed_error_rate > 0.0 && self.allowed_error_rate <= 1.0) {
            return Err(format!(
                "throttle allowed_error_rate must be in (0, 1], got {}",
                self.allowed_error_rate
            ));
        }
        if self.records_per_second == 0 {
            return Err("throttle records_per_second must be at least 1".into());
        }
        if self.bytes_per_second == 0 {
            return Err("throttle bytes_per_second must be at least 1".into());
        }
        if self.update_period.is_zero() {
            return Err("throttle update_period must be above zero".into());
        }
        Ok(())
    }

    /// The settings with every field that [`validate`](Self::validate) would reject replaced
    /// by its default, so that unchecked settings cannot make the arithmetic misbehave.
    fn sanitized(self) -> Self {
        let default = Self::default();
        Self {
            enabled: self.enabled,
            records_per_second: if self.records_per_second == 0 {
                default.records_per_second
            } else {
                self.records_per_second
            },
            bytes_per_second: if self.bytes_per_second == 0 {
                default.bytes_per_second
            } else {
                self.bytes_per_second
            },
            allowed_error_rate: if self.allowed_error_rate > 0.0 && self.allowed_error_rate <= 1.0 {
                self.allowed_error_rate
            } else {
                default.allowed_error_rate
            },
            update_period: if self.update_period.is_zero() {
                default.update_period
            } else {
                self.update_period
            },
        }
    }
}

/// The throttles of every shard written to, each created on the shard's first use.
#[derive(Debug)]
pub(crate) struct Throttles {
    settings: ThrottleSettings,
    shards: HashMap<ShardId, ShardThrottle>,
}

impl Throttles {
    /// Throttles with these settings. Settings are expected to be validated; a field that
    /// [`ThrottleSettings::validate`] would reject is replaced by its default.
    pub(crate) fn new(settings: ThrottleSettings) -> Self {
        Self {
            settings: settings.sanitized(),
            shards: HashMap::new(),
        }
    }

    /// The earliest instant at which one more entry of `bytes` bytes (one Kinesis entry: an
    /// aggregate counts as ONE record) may be sent to `shard`; `now` when it may go now. Does
    /// not take tokens. When disabled, always `now`.
    ///
    /// An entry larger than a second's worth of bytes may go once the byte bucket is full; it
    /// then leaves the bucket in debt, so the average rate still holds.
    pub(crate) fn ready_at(&mut self, shard: &ShardId, now: Instant, bytes: usize) -> Instant {
        let Some(state) = self.state(shard, now) else {
            return now;
        };
        let offset = state
            .records
            .ready_offset(1.0)
            .max(state.bytes.ready_offset(bytes as f64));
        // NaN (which sane settings cannot produce) counts as ready.
        if offset.is_nan() || offset <= SLACK_NANOS {
            return now;
        }
        let wait = (offset - SLACK_NANOS).ceil().min(MAX_WAIT_NANOS);
        // `as` saturates; `wait` is positive and at most MAX_WAIT_NANOS.
        let ready = state
            .records
            .at
            .checked_add(Duration::from_nanos(wait as u64))
            .unwrap_or(state.records.at);
        ready.max(now)
    }

    /// Takes the tokens of an entry of `bytes` bytes sent to `shard` now.
    pub(crate) fn take(&mut self, shard: &ShardId, now: Instant, bytes: usize) {
        if let Some(state) = self.state(shard, now) {
            state.records.take(1.0);
            state.bytes.take(bytes as f64);
        }
    }

    /// Feedback: an entry to `shard` was stored.
    pub(crate) fn record_success(&mut self, shard: &ShardId, now: Instant) {
        if let Some(state) = self.state(shard, now) {
            state.successes = state.successes.saturating_add(1);
        }
    }

    /// Feedback: an entry to `shard` was refused as throttled (`ProvisionedThroughputExceeded`).
    pub(crate) fn record_throttled(&mut self, shard: &ShardId, now: Instant) {
        if let Some(state) = self.state(shard, now) {
            state.failures = state.failures.saturating_add(1);
        }
    }

    /// The shard's current factor (1.0 = full rate), as of the last call about the shard; 1.0
    /// for a shard not used yet.
    pub(crate) fn factor(&self, shard: &ShardId) -> f64 {
        self.shards.get(shard).map_or(1.0, |s| s.factor)
    }

    /// Drops the state of shards not in `open` (after a reshard).
    pub(crate) fn retain(&mut self, open: &dyn Fn(&ShardId) -> bool) {
        self.shards.retain(|shard, _| open(shard));
    }

    /// The shard's throttle brought up to `now` (created on first use); `None` when disabled.
    fn state(&mut self, shard: &ShardId, now: Instant) -> Option<&mut ShardThrottle> {
        if !self.settings.enabled {
            return None;
        }
        let settings = &self.settings;
        if !self.shards.contains_key(shard) {
            self.shards
                .insert(shard.clone(), ShardThrottle::new(settings, now));
        }
        let state = self.shards.get_mut(shard)?;
        state.advance(settings, now);
        Some(state)
    }
}

/// One shard's buckets, factor and outcome counters.
#[derive(Debug)]
struct ShardThrottle {
    records: Bucket,
    bytes: Bucket,
    factor: f64,
    successes: u64,
    failures: u64,
    /// The next factor update; `None` when it would lie beyond what an `Instant` holds.
    next_update: Option<Instant>,
}

impl ShardThrottle {
    fn new(settings: &ThrottleSettings, now: Instant) -> Self {
        Self {
            records: Bucket::full(f64::from(settings.records_per_second), now),
            bytes: Bucket::full(settings.bytes_per_second as f64, now),
            factor: 1.0,
            successes: 0,
            failures: 0,
            next_update: now.checked_add(settings.update_period),
        }
    }

    /// Applies the factor updates due by `now`, then refills the buckets up to `now`.
    ///
    /// Updates are applied lazily, giving the factors that updates on time would have given:
    /// the buckets are refilled at the old rate up to the update instant, and each later
    /// period that ended without outcomes (the shard was idle) counts as a success rate of 1
    /// (the factor reached after those is applied from the last of them).
    fn advance(&mut self, settings: &ThrottleSettings, now: Instant) {
        if let Some(first) = self.next_update
            && now >= first
        {
            // The period that ended at `first` holds the counted outcomes.
            self.records.advance(first);
            self.bytes.advance(first);
            let total = self.successes.saturating_add(self.failures);
            let rate = if total == 0 {
                1.0
            } else {
                self.successes as f64 / total as f64
            };
            self.set_factor(
                settings,
                (self.factor * rate + settings.allowed_error_rate).min(1.0),
            );
            self.successes = 0;
            self.failures = 0;

            // Any further periods that ended by `now` saw no outcomes: each adds the allowed
            // error rate, as `min(1, f + a)` repeated k times is `min(1, f + k·a)`.
            let period = settings.update_period.as_nanos().max(1);
            let since = now.saturating_duration_since(first).as_nanos();
            let further = since / period;
            let mut last = first;
            if further > 0 {
                let rem = since % period;
                // `rem` < `period`, whose whole seconds fit in a u64.
                let rem = Duration::new(
                    u64::try_from(rem / 1_000_000_000).unwrap_or(u64::MAX),
                    u32::try_from(rem % 1_000_000_000).unwrap_or(0),
                );
                last = now.checked_sub(rem).unwrap_or(now);
                self.records.advance(last);
                self.bytes.advance(last);
                self.set_factor(
                    settings,
                    (self.factor + further as f64 * settings.allowed_error_rate).min(1.0),
                );
            }
            self.next_update = last.checked_add(settings.update_period);
        }
        self.records.advance(now);
        self.bytes.advance(now);
    }

    fn set_factor(&mut self, settings: &ThrottleSettings, factor: f64) {
        self.factor = factor;
        self.records
            .set_rate(f64::from(settings.records_per_second) * factor);
        self.bytes
            .set_rate(settings.bytes_per_second as f64 * factor);
    }
}

/// A token bucket refilled continuously at `rate` tokens per second, holding at most one
/// second's worth.
///
/// It is kept in the time domain: `empty_nanos` is when, relative to `at`, the level was (or,
/// in debt, will be) zero, so the level at `at` is `rate × −empty_nanos / 10⁹`; the bucket is
/// full when `empty_nanos` is −10⁹ (one second ago). Refilling is then a subtraction of the
/// elapsed time, and pacing at exact instants stays exact.
#[derive(Clone, Copy, Debug)]
struct Bucket {
    /// Tokens per second, and so the capacity (one second's worth), at the current factor.
    rate: f64,
    /// The instant the state refers to; never moves backwards.
    at: Instant,
    /// When the level is zero, in nanoseconds after `at` (negative: before); at least −10⁹.
    empty_nanos: f64,
}

impl Bucket {
    fn full(rate: f64, now: Instant) -> Self {
        Self {
            rate,
            at: now,
            empty_nanos: -NANOS_PER_SEC,
        }
    }

    /// Refills up to `now` (a `now` before `at` changes nothing).
    fn advance(&mut self, now: Instant) {
        if now > self.at {
            let elapsed = now.saturating_duration_since(self.at).as_nanos() as f64;
            self.empty_nanos = (self.empty_nanos - elapsed).max(-NANOS_PER_SEC);
            self.at = now;
        }
    }

    /// Nanoseconds after `at` at which `tokens` will be available; at most a full bucket is
    /// asked for, so that an entry larger than the capacity can go once the bucket is full.
    fn ready_offset(&self, tokens: f64) -> f64 {
        self.empty_nanos + (tokens * NANOS_PER_SEC / self.rate).min(NANOS_PER_SEC)
    }

    /// Takes `tokens`, all of them, even beyond the level (the bucket goes into debt).
    fn take(&mut self, tokens: f64) {
        self.empty_nanos += tokens * NANOS_PER_SEC / self.rate;
    }

    /// Changes the rate (and with it the capacity), keeping the tokens held (or owed) but at
    /// most the new capacity.
    fn set_rate(&mut self, rate: f64) {
        self.empty_nanos = (self.empty_nanos * self.rate / rate).max(-NANOS_PER_SEC);
        self.rate = rate;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: usize = 1_048_576;

    fn shard(n: u32) -> ShardId {
        ShardId::new(format!("shardId-{n:012}")).expect("valid shard id")
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn ns(n: u64) -> Duration {
        Duration::from_nanos(n)
    }

    /// Settings whose byte limit never binds, to look at the entry pacing alone.
    fn entries_only() -> ThrottleSettings {
        ThrottleSettings::default().with_bytes_per_second(u64::MAX)
    }

    /// Settings whose entry limit never binds, to look at the byte pacing alone.
    fn bytes_only() -> ThrottleSettings {
        ThrottleSettings::default().with_records_per_second(u32::MAX)
    }

    /// Sends `n` entries of `bytes` at `at`, checking each may go then.
    fn send_now(t: &mut Throttles, s: &ShardId, at: Instant, n: usize, bytes: usize) {
        for i in 0..n {
            assert_eq!(
                t.ready_at(s, at, bytes),
                at,
                "entry {i} of {n} should go now"
            );
            t.take(s, at, bytes);
        }
    }

    fn assert_factor(t: &Throttles, s: &ShardId, expected: f64) {
        let f = t.factor(s);
        assert!(
            (f - expected).abs() < 1e-9,
            "factor {f}, expected {expected}"
        );
    }

    // --- settings ---

    #[test]
    fn defaults_and_builders() {
        let d = ThrottleSettings::default();
        assert!(d.enabled);
        assert_eq!(d.records_per_second, 1000);
        assert_eq!(d.bytes_per_second, 1_048_576);
        assert_eq!(d.allowed_error_rate, 0.05);
        assert_eq!(d.update_period, Duration::from_secs(5));
        assert_eq!(d.validate(), Ok(()));

        let s = ThrottleSettings::default()
            .with_enabled(false)
            .with_records_per_second(10)
            .with_bytes_per_second(20)
            .with_allowed_error_rate(1.0)
            .with_update_period(ms(1));
        assert_eq!(
            s,
            ThrottleSettings {
                enabled: false,
                records_per_second: 10,
                bytes_per_second: 20,
                allowed_error_rate: 1.0,
                update_period: ms(1),
            }
        );
        assert_eq!(
            s.validate(),
            Ok(()),
            "an error rate of exactly 1 is allowed"
        );
    }

    #[test]
    fn validate_rejects_each_bad_field() {
        let d = ThrottleSettings::default();
        for (bad, field) in [
            (d.clone().with_allowed_error_rate(0.0), "allowed_error_rate"),
            (
                d.clone().with_allowed_error_rate(-0.1),
                "allowed_error_rate",
            ),
            (
                d.clone().with_allowed_error_rate(1.01),
                "allowed_error_rate",
            ),
            (
                d.clone().with_allowed_error_rate(f64::NAN),
                "allowed_error_rate",
            ),
            (d.clone().with_records_per_second(0), "records_per_second"),
            (d.clone().with_bytes_per_second(0), "bytes_per_second"),
            (
                d.clone().with_update_period(Duration::ZERO),
                "update_period",
            ),
        ] {
            let message = bad.validate().expect_err(field);
            assert!(message.contains(field), "{message:?} names {field}");
        }
    }

    #[test]
    fn unvalidated_bad_settings_do_not_panic() {
        let bad = ThrottleSettings {
            enabled: true,
            records_per_second: 0,
            bytes_per_second: 0,
            allowed_error_rate: f64::NAN,
            update_period: Duration::ZERO,
        };
        let mut t = Throttles::new(bad);
        let s = shard(0);
        let t0 = Instant::now();
        // The defaults stand in: 1000 entries per second.
        send_now(&mut t, &s, t0, 1000, 1);
        assert_eq!(t.ready_at(&s, t0, 1), t0 + ms(1));
        t.record_throttled(&s, t0);
        t.ready_at(&s, t0 + Duration::from_secs(5), 1);
        assert_factor(&t, &s, 0.05);
    }

    // --- the factor: zio-kinesis's ShardThrottlerTest ---

    #[test]
    fn no_traffic_keeps_full_rate_after_one_period() {
        let mut t = Throttles::new(ThrottleSettings::default());
        let s = shard(0);
        let t0 = Instant::now();
        t.ready_at(&s, t0, 0); // first use
        t.ready_at(&s, t0 + Duration::from_secs(5), 0);
        assert_factor(&t, &s, 1.0);
        t.ready_at(&s, t0 + Duration::from_secs(60), 0);
        assert_factor(&t, &s, 1.0);
    }

    #[test]
    fn only_successes_keep_full_rate() {
        let mut t = Throttles::new(ThrottleSettings::default());
        let s = shard(0);
        let t0 = Instant::now();
        for _ in 0..100 {
            t.record_success(&s, t0);
        }
        t.ready_at(&s, t0 + Duration::from_secs(5), 0);
        assert_factor(&t, &s, 1.0);
    }

    #[test]
    fn throttles_to_the_expected_values() {
        let mut t = Throttles::new(ThrottleSettings::default().with_allowed_error_rate(0.1));
        let s = shard(0);
        let t0 = Instant::now();
        let period = Duration::from_secs(5);
        for _ in 0..100 {
            t.record_success(&s, t0);
            t.record_throttled(&s, t0);
        }
        // Not before the period has ended.
        t.ready_at(&s, t0 + period - ns(1), 0);
        assert_factor(&t, &s, 1.0);
        // 1.0 × 0.5 + 0.1
        t.ready_at(&s, t0 + period, 0);
        assert_factor(&t, &s, 0.6);
        for _ in 0..100 {
            t.record_success(&s, t0 + period);
            t.record_throttled(&s, t0 + period);
        }
        // 0.6 × 0.5 + 0.1
        t.ready_at(&s, t0 + 2 * period, 0);
        assert_factor(&t, &s, 0.4);
    }

    #[test]
    fn outcomes_count_in_the_period_they_happen_in() {
        let mut t = Throttles::new(ThrottleSettings::default().with_allowed_error_rate(0.1));
        let s = shard(0);
        let t0 = Instant::now();
        let period = Duration::from_secs(5);
        t.record_success(&s, t0);
        // Reported after the first period ended: counts towards the second one.
        t.record_throttled(&s, t0 + period);
        assert_factor(&t, &s, 1.0);
        t.ready_at(&s, t0 + 2 * period, 0);
        // 1.0 × 0 + 0.1
        assert_factor(&t, &s, 0.1);
    }

    #[test]
    fn idle_periods_recover_the_rate() {
        let mut t = Throttles::new(ThrottleSettings::default().with_allowed_error_rate(0.1));
        let s = shard(0);
        let t0 = Instant::now();
        let period = Duration::from_secs(5);
        for _ in 0..100 {
            t.record_success(&s, t0);
            t.record_throttled(&s, t0);
        }
        // Three periods end before the shard is looked at again: the counted one (0.6), then
        // two without outcomes (+0.1 each), as if the updates had run on time.
        t.ready_at(&s, t0 + 3 * period + ms(1), 0);
        assert_factor(&t, &s, 0.8);
        // The next update is still on the period grid: t0 + 4 periods.
        t.ready_at(&s, t0 + 4 * period - ns(1), 0);
        assert_factor(&t, &s, 0.8);
        t.ready_at(&s, t0 + 4 * period, 0);
        assert_factor(&t, &s, 0.9);
        // Long idle: back to full rate, never above.
        t.ready_at(&s, t0 + 1000 * period, 0);
        assert_factor(&t, &s, 1.0);
    }

    // --- pacing ---

    #[test]
    fn paces_1000_entries_per_second() {
        let mut t = Throttles::new(entries_only());
        let s = shard(0);
        let t0 = Instant::now();
        // A full bucket: one second's worth at once.
        send_now(&mut t, &s, t0, 1000, 10);
        // Then one every millisecond.
        assert_eq!(t.ready_at(&s, t0, 10), t0 + ms(1));
        assert_eq!(t.ready_at(&s, t0, 10), t0 + ms(1), "ready_at takes nothing");
        assert_eq!(t.ready_at(&s, t0 + ns(999_999), 10), t0 + ms(1));
        for k in 1..=2000 {
            let at = t0 + ms(k);
            assert_eq!(t.ready_at(&s, at, 10), at);
            t.take(&s, at, 10);
            assert_eq!(t.ready_at(&s, at, 10), at + ms(1));
        }
        // Half a second idle refills half the bucket.
        let later = t0 + ms(2000 + 500);
        send_now(&mut t, &s, later, 500, 10);
        assert_eq!(t.ready_at(&s, later, 10), later + ms(1));
    }

    #[test]
    fn the_burst_is_one_seconds_worth() {
        let mut t = Throttles::new(entries_only());
        let s = shard(0);
        let t0 = Instant::now();
        t.ready_at(&s, t0, 0);
        // A long idle time does not bank more than one second's worth.
        let later = t0 + Duration::from_secs(3600);
        send_now(&mut t, &s, later, 1000, 0);
        assert_eq!(t.ready_at(&s, later, 0), later + ms(1));
    }

    #[test]
    fn paces_one_mebibyte_per_second() {
        let mut t = Throttles::new(bytes_only());
        let s = shard(0);
        let t0 = Instant::now();
        // 16 entries of 64 KiB: one second's worth.
        send_now(&mut t, &s, t0, 16, 65_536);
        // The next 64 KiB after 1/16 s, a single byte after 10⁹ / 2²⁰ ns (rounded up).
        assert_eq!(
            t.ready_at(&s, t0, 65_536),
            t0 + ms(62) + Duration::from_micros(500)
        );
        assert_eq!(t.ready_at(&s, t0, 1), t0 + ns(954));
        assert_eq!(t.ready_at(&s, t0, 1024), t0 + ns(976_563));
        // A steady 64 KiB every 62.5 ms.
        for k in 1..=32u32 {
            let at = t0 + k * Duration::from_micros(62_500);
            assert_eq!(t.ready_at(&s, at, 65_536), at);
            t.take(&s, at, 65_536);
        }
        // 32 × 64 KiB sent in 2 s on top of the first second's worth: the bucket is empty.
        let end = t0 + Duration::from_secs(2);
        assert_eq!(
            t.ready_at(&s, end, 65_536),
            end + Duration::from_micros(62_500)
        );
        // Fractional nanoseconds are not lost: 1 KiB at a time for 1 s is exactly 1 MiB.
        let mut t = Throttles::new(bytes_only());
        send_now(&mut t, &s, t0, 1024, 1024);
        let mut at = t0;
        for _ in 0..1024 {
            at = t.ready_at(&s, at, 1024);
            t.take(&s, at, 1024);
        }
        assert_eq!(at, t0 + Duration::from_secs(1));
    }

    #[test]
    fn both_limits_apply() {
        let mut t = Throttles::new(ThrottleSettings::default());
        let s = shard(0);
        let t0 = Instant::now();
        // Small entries: the entry limit binds.
        send_now(&mut t, &s, t0, 1000, 100);
        assert_eq!(t.ready_at(&s, t0, 100), t0 + ms(1));
        // Large entries: the byte limit binds.
        let t1 = t0 + Duration::from_secs(10);
        send_now(&mut t, &s, t1, 2, 524_288);
        assert_eq!(t.ready_at(&s, t1, 524_288), t1 + ms(500));
    }

    #[test]
    fn the_factor_scales_the_pace() {
        // One refusal and no success with an allowed error rate of 0.5: factor 0.5.
        let mut t = Throttles::new(ThrottleSettings::default().with_allowed_error_rate(0.5));
        let s = shard(0);
        let t0 = Instant::now();
        t.record_throttled(&s, t0);
        let t1 = t0 + Duration::from_secs(5);
        assert_eq!(t.ready_at(&s, t1, 0), t1);
        assert_factor(&t, &s, 0.5);
        // 500 entries per second, a burst of 500.
        send_now(&mut t, &s, t1, 500, 0);
        assert_eq!(t.ready_at(&s, t1, 0), t1 + ms(2));
        // 512 KiB per second.
        let t2 = t1 + Duration::from_secs(2);
        send_now(&mut t, &s, t2, 1, MIB / 2);
        assert_eq!(t.ready_at(&s, t2, 1024), t2 + ns(1_953_125));
        assert_eq!(t.ready_at(&s, t2, 65_536), t2 + ms(125));
        // Back to full rate (0.5 × 1 + 0.5) at the next update.
        let t3 = t0 + Duration::from_secs(10);
        t.ready_at(&s, t3, 0);
        assert_factor(&t, &s, 1.0);
        // The entry bucket was full at half rate (500 entries) when the factor rose: the 500
        // tokens are kept, in a bucket that now holds 1000 and refills at 1000 per second.
        send_now(&mut t, &s, t3, 500, 0);
        assert_eq!(t.ready_at(&s, t3, 0), t3 + ms(1));
    }

    #[test]
    fn inexact_rates_do_not_drift() {
        // ShardThrottlerTest's 0.6: 600 entries per second, 1/600 s apart (not whole ns).
        let mut t = Throttles::new(entries_only().with_allowed_error_rate(0.1));
        let s = shard(0);
        let t0 = Instant::now();
        for _ in 0..100 {
            t.record_success(&s, t0);
            t.record_throttled(&s, t0);
        }
        let t1 = t0 + Duration::from_secs(5);
        t.ready_at(&s, t1, 0);
        assert_factor(&t, &s, 0.6);
        send_now(&mut t, &s, t1, 600, 0);
        let mut at = t1;
        for _ in 0..600 {
            let next = t.ready_at(&s, at, 0);
            let gap = next - at;
            assert!(gap == ns(1_666_666) || gap == ns(1_666_667), "{gap:?}");
            at = next;
            t.take(&s, at, 0);
        }
        // 600 more in exactly one second, give or take the last rounding.
        let total = at - t1;
        assert!(
            total >= Duration::from_secs(1) && total <= Duration::from_secs(1) + ns(1),
            "{total:?}"
        );
    }

    #[test]
    fn a_lower_factor_drops_tokens_beyond_the_new_capacity() {
        let mut t = Throttles::new(entries_only().with_allowed_error_rate(0.5));
        let s = shard(0);
        let t0 = Instant::now();
        t.record_throttled(&s, t0);
        // Full (1000 entries) when the factor drops to 0.5: 500 remain.
        let t1 = t0 + Duration::from_secs(5);
        send_now(&mut t, &s, t1, 500, 0);
        assert_eq!(t.ready_at(&s, t1, 0), t1 + ms(2));
    }

    #[test]
    fn large_entries_do_not_deadlock() {
        let mut t = Throttles::new(bytes_only());
        let s = shard(0);
        let t0 = Instant::now();
        let big = 3 * MIB;
        // Larger than the bucket: goes when the bucket is full...
        assert_eq!(t.ready_at(&s, t0, big), t0);
        // ... and leaves it in debt: 2 s until empty, 3 s until full again.
        t.take(&s, t0, big);
        assert_eq!(
            t.ready_at(&s, t0, 1024),
            t0 + Duration::from_secs(2) + ns(976_563)
        );
        assert_eq!(t.ready_at(&s, t0, big), t0 + Duration::from_secs(3));
        // A stream of them keeps 1 MiB/s on average.
        let mut at = t0;
        for k in 1..=10u32 {
            at = t.ready_at(&s, at, big);
            assert_eq!(at, t0 + k * Duration::from_secs(3));
            t.take(&s, at, big);
        }
        // A partly drained bucket makes a large entry wait until it is full again.
        let mut t = Throttles::new(bytes_only());
        send_now(&mut t, &s, t0, 1, MIB / 2);
        assert_eq!(t.ready_at(&s, t0, big), t0 + ms(500));
        // Even an absurd entry is paced, not a panic.
        let t1 = t0 + Duration::from_secs(1);
        assert_eq!(t.ready_at(&s, t1, usize::MAX), t1);
        t.take(&s, t1, usize::MAX);
        assert!(t.ready_at(&s, t1, 1) > t1 + Duration::from_secs(3600));
    }

    #[test]
    fn disabled_means_no_pacing() {
        let mut t = Throttles::new(ThrottleSettings::default().with_enabled(false));
        let s = shard(0);
        let t0 = Instant::now();
        send_now(&mut t, &s, t0, 10_000, MIB);
        assert_eq!(t.ready_at(&s, t0, 10 * MIB), t0);
        for _ in 0..100 {
            t.record_throttled(&s, t0);
        }
        assert_eq!(
            t.ready_at(&s, t0 + Duration::from_secs(60), 1),
            t0 + Duration::from_secs(60)
        );
        assert_factor(&t, &s, 1.0);
    }

    #[test]
    fn shards_are_independent() {
        let mut t = Throttles::new(ThrottleSettings::default().with_allowed_error_rate(0.1));
        let (a, b) = (shard(0), shard(1));
        let t0 = Instant::now();
        send_now(&mut t, &a, t0, 1000, 1);
        assert_eq!(t.ready_at(&a, t0, 1), t0 + ms(1));
        send_now(&mut t, &b, t0, 1000, 1);
        for _ in 0..10 {
            t.record_throttled(&a, t0);
            t.record_success(&b, t0);
        }
        let t1 = t0 + Duration::from_secs(5);
        t.ready_at(&a, t1, 0);
        t.ready_at(&b, t1, 0);
        assert_factor(&t, &a, 0.1);
        assert_factor(&t, &b, 1.0);
        assert_factor(&t, &shard(2), 1.0);
    }

    #[test]
    fn retain_drops_closed_shards() {
        let mut t = Throttles::new(ThrottleSettings::default().with_allowed_error_rate(0.1));
        let (parent, kept) = (shard(0), shard(1));
        let t0 = Instant::now();
        for s in [&parent, &kept] {
            send_now(&mut t, s, t0, 1000, 1);
            t.record_throttled(s, t0);
        }
        let t1 = t0 + Duration::from_secs(5);
        t.ready_at(&parent, t1, 0);
        t.ready_at(&kept, t1, 0);
        send_now(&mut t, &parent, t1, 100, 1);
        send_now(&mut t, &kept, t1, 100, 1);

        t.retain(&|s: &ShardId| *s != parent);
        // The dropped shard starts afresh: full rate, full bucket.
        assert_factor(&t, &parent, 1.0);
        send_now(&mut t, &parent, t1, 1000, 1);
        // The kept one keeps its factor and its (empty) bucket: 100 per second.
        assert_factor(&t, &kept, 0.1);
        assert_eq!(t.ready_at(&kept, t1, 1), t1 + ms(10));
    }

    #[test]
    fn instants_out_of_order_do_not_panic_or_stall() {
        let mut t = Throttles::new(entries_only());
        let s = shard(0);
        let t0 = Instant::now();
        let t1 = t0 + Duration::from_secs(1);
        t.ready_at(&s, t1, 0);
        // An earlier instant than seen before: the tokens held may still go.
        assert_eq!(t.ready_at(&s, t0, 0), t0);
        send_now(&mut t, &s, t0, 1000, 0);
        // Refills are counted from the latest instant seen.
        assert_eq!(t.ready_at(&s, t0, 0), t1 + ms(1));
        assert_eq!(t.ready_at(&s, t1 + ms(1), 0), t1 + ms(1));
    }
}
