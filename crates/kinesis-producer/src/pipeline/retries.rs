//! The engine's clients and how long a failed record waits before it is sent again.

use kinesis_client::{Client, ClientConfig, RetryBudget};

use kinesis_client::Backoff;

/// The engine's clients: shard-map reads retry in the stack; `PutRecords` calls make one attempt
/// each, because the engine retries records itself (per record, within their time to live) and
/// its throttle must learn of throttling at once.
#[derive(Debug, Clone)]
pub(crate) struct Clients {
    pub(crate) reads: Client,
    pub(crate) puts: Client,
    /// The configuration's retry budget, spent by record retries.
    pub(crate) budget: RetryBudget,
}

impl Clients {
    pub(crate) fn new(config: &ClientConfig) -> Self {
        Self {
            reads: Client::new(config),
            puts: Client::new(&config.single_attempt()),
            budget: config.retry_budget().clone(),
        }
    }
}

/// How long the failed records of one answered call wait before they are sent again: the
/// settings' backoff, jittered while the shared retry budget grants retries, its ceiling once it
/// is spent.
///
/// One answered call draws once: the budget is asked once whatever the number of its failed
/// records (it counts retried calls, as the stack's does), and its records with the same number
/// of attempts get the same pause, so that they are sent again together.
#[derive(Debug)]
pub(super) struct RetryPauses {
    budget: RetryBudget,
    /// Whether the budget granted the call's retries (asked on its first retried record).
    granted: Option<bool>,
    /// The pauses drawn for the call, by attempts made.
    draws: Vec<(u32, std::time::Duration)>,
}

impl RetryPauses {
    pub(super) fn new(budget: RetryBudget) -> Self {
        Self {
            budget,
            granted: None,
            draws: Vec::new(),
        }
    }

    /// The answer of another call: its records draw anew.
    pub(super) fn next_call(&mut self) {
        self.granted = None;
        self.draws.clear();
    }

    /// The pause of a record of the current call that made `attempts` attempts.
    pub(super) fn pause(&mut self, backoff: Backoff, attempts: u32) -> std::time::Duration {
        if let Some((_, pause)) = self.draws.iter().find(|(a, _)| *a == attempts) {
            return *pause;
        }
        let budget = &self.budget;
        let granted = *self.granted.get_or_insert_with(|| budget.withdraw());
        let pause = backoff.pause(attempts, granted);
        self.draws.push((attempts, pause));
        pause
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn one_call_draws_once_per_attempt_count() {
        let backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(1));
        let mut p = RetryPauses::new(RetryBudget::new(Duration::from_secs(1), 0, 0.0));
        // An empty budget: the ceilings, the same for the same attempt count.
        assert_eq!(p.pause(backoff, 1), Duration::from_millis(100));
        assert_eq!(p.pause(backoff, 1), Duration::from_millis(100));
        assert_eq!(p.pause(backoff, 3), Duration::from_millis(400));
        p.next_call();
        assert_eq!(p.pause(backoff, 2), Duration::from_millis(200));
    }
}
