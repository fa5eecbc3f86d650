//! Wall-clock time for the KCL 3.x rows (`lut`, `slu` and `mts` are epoch seconds or
//! milliseconds that other workers compare with their own clocks).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

/// Epoch time read from the system once (at [`start`](Self::start)), then advanced by tokio's
/// clock, so that tests which pause and advance tokio's time see the rows age with it.
#[derive(Clone, Copy, Debug)]
pub struct EpochClock {
    wall: Duration,
    at: Instant,
}

impl EpochClock {
    /// Reads the system's wall clock now. Call within a tokio runtime.
    pub fn start() -> Self {
        #[allow(
            clippy::disallowed_methods,
            reason = "the KCL 3.x rows carry wall-clock times; read once, then advanced by tokio's clock"
        )]
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Self {
            wall,
            at: Instant::now(),
        }
    }

    /// The time since the Unix epoch now.
    pub fn since_epoch(&self) -> Duration {
        self.wall + self.at.elapsed()
    }

    /// Epoch seconds now.
    pub fn seconds(&self) -> i64 {
        i64::try_from(self.since_epoch().as_secs()).unwrap_or(i64::MAX)
    }

    /// Epoch milliseconds now.
    pub fn millis(&self) -> i64 {
        i64::try_from(self.since_epoch().as_millis()).unwrap_or(i64::MAX)
    }
}
