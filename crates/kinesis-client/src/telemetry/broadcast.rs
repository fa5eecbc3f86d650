//! [`Broadcast`]: a recorder that is a typed event stream, so that a component's event stream is
//! a view over the seam rather than a second way of reporting.

use std::fmt;

use tokio::sync::broadcast;

use super::{Event, Measurement, MetricsLevel, Recorder};

/// Sends every event of type `E` that passes through the seam to a [`broadcast`] channel, and
/// ignores measurements and other events. Sending never waits: a receiver that falls behind by
/// the channel's capacity misses the oldest events
/// ([`RecvError::Lagged`](broadcast::error::RecvError::Lagged)).
///
/// ```
/// use kinesis_client::telemetry::{Broadcast, Telemetry};
///
/// #[derive(Clone, Debug, PartialEq)]
/// struct Started(u32);
///
/// let (tx, mut rx) = tokio::sync::broadcast::channel(8);
/// let telemetry = Telemetry::new(Broadcast::<Started>::new(tx));
/// telemetry.event(&Started(7));
/// telemetry.event(&"not a Started");
/// assert_eq!(rx.try_recv().unwrap(), Started(7));
/// assert!(rx.try_recv().is_err());
/// ```
pub struct Broadcast<E> {
    tx: broadcast::Sender<E>,
}

impl<E> Broadcast<E> {
    /// A recorder sending to `tx`.
    pub fn new(tx: broadcast::Sender<E>) -> Self {
        Self { tx }
    }
}

impl<E> fmt::Debug for Broadcast<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Broadcast")
            .field("event", &std::any::type_name::<E>())
            .field("receivers", &self.tx.receiver_count())
            .finish()
    }
}

impl<E: Event + Clone> Recorder for Broadcast<E> {
    fn level(&self) -> MetricsLevel {
        MetricsLevel::None
    }

    fn record(&self, _: &Measurement<'_>) {}

    fn event(&self, event: &dyn Event) {
        if let Some(event) = event.downcast_ref::<E>() {
            // No receiver is not an error.
            let _ = self.tx.send(event.clone());
        }
    }
}
