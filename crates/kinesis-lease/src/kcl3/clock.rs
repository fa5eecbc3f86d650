//! Wall-clock time for the KCL 3.x rows (`lut`, `slu` and `mts` are epoch seconds or
//! milliseconds that other workers compare with their own clocks).

use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

/// The system's wall clock and monotonic clock, read once per process.
static ORIGIN: OnceLock<(Duration, std::time::Instant)> = OnceLock::new();

/// Epoch time: the system's wall clock, or, when later, the wall clock read once per process and
/// advanced by tokio's clock since.
///
/// Every coordinator of a process therefore agrees on the time, and tests that pause and
/// advance tokio's time see the rows age with it.
#[derive(Clone, Copy, Debug)]
pub struct EpochClock {
    wall: Duration,
    at: Instant,
}

impl EpochClock {
    /// The process's clock.
    pub fn start() -> Self {
        let (wall, at) = *ORIGIN.get_or_init(|| {
            #[allow(
                clippy::disallowed_methods,
                reason = "the KCL 3.x rows carry wall-clock times; read once per process, then advanced by tokio's clock"
            )]
            let origin = (
                SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap_or_default(),
                std::time::Instant::now(),
            );
            origin
        });
        Self {
            wall,
            at: Instant::from_std(at),
        }
    }

    /// The time since the Unix epoch now: the later of the system's wall clock and the wall
    /// clock at the origin advanced by tokio's clock. In production that follows the system's
    /// corrections forward and across a suspended VM (whose monotonic clock stands still); under
    /// paused tokio time, tokio's clock decides.
    pub fn since_epoch(&self) -> Duration {
        let advanced = self.wall + Instant::now().saturating_duration_since(self.at);
        #[allow(
            clippy::disallowed_methods,
            reason = "the KCL 3.x rows carry wall-clock times that other workers compare with theirs"
        )]
        let system = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        advanced.max(system)
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
