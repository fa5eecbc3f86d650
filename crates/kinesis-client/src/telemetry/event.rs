//! [`Event`]: a typed event passed through the seam by reference.

use std::any::Any;
use std::fmt;

/// A structured event a component reports (a lease taken, a shard started): any `'static`
/// type that is `Debug`, `Send` and `Sync`. A recorder reads the types it knows with
/// [`downcast_ref`](#method.downcast_ref) and ignores the rest.
///
/// ```
/// use kinesis_client::telemetry::Event;
///
/// // Every `'static + Debug + Send + Sync` type is an event.
/// #[derive(Debug)]
/// struct ShardStarted(&'static str);
///
/// let event: &dyn Event = &ShardStarted("shardId-000000000000");
/// assert_eq!(event.downcast_ref::<ShardStarted>().map(|e| e.0), Some("shardId-000000000000"));
/// assert!(event.downcast_ref::<String>().is_none());
/// ```
pub trait Event: Any + fmt::Debug + Send + Sync {
    /// The event as [`Any`], for downcasting.
    fn as_any(&self) -> &dyn Any;
}

impl<T: Any + fmt::Debug + Send + Sync> Event for T {
    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl dyn Event {
    /// The event as a `T`, if it is one.
    pub fn downcast_ref<T: Event>(&self) -> Option<&T> {
        self.as_any().downcast_ref::<T>()
    }
}
