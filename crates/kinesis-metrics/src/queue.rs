//! [`DropOldest`]: a bounded queue that makes room by dropping its oldest entries, and counts
//! them, so that metrics never hold the application back and never grow without bound.

use std::collections::VecDeque;

/// A queue of at most `capacity` entries; a push into a full queue drops the oldest.
///
/// ```
/// use kinesis_metrics::DropOldest;
///
/// let mut q = DropOldest::new(2);
/// q.push(1);
/// q.push(2);
/// q.push(3);
/// assert_eq!(q.dropped(), 1);
/// assert_eq!(q.take(10), vec![2, 3]);
/// ```
#[derive(Debug)]
pub struct DropOldest<T> {
    items: VecDeque<T>,
    capacity: usize,
    dropped: u64,
}

impl<T> DropOldest<T> {
    /// An empty queue of `capacity` (at least 1).
    pub fn new(capacity: usize) -> Self {
        Self {
            items: VecDeque::new(),
            capacity: capacity.max(1),
            dropped: 0,
        }
    }

    /// Appends `item`, dropping the oldest entry when full.
    pub fn push(&mut self, item: T) {
        if self.items.len() >= self.capacity {
            self.items.pop_front();
            self.dropped += 1;
        }
        self.items.push_back(item);
    }

    /// Puts `items` (taken earlier, oldest first) back at the front, as far as room allows; the
    /// oldest of them are dropped first.
    pub fn put_back(&mut self, items: Vec<T>) {
        let room = self.capacity.saturating_sub(self.items.len());
        let skip = items.len().saturating_sub(room);
        self.dropped += skip as u64;
        for item in items.into_iter().skip(skip).rev() {
            self.items.push_front(item);
        }
    }

    /// Removes and returns up to `n` of the oldest entries.
    pub fn take(&mut self, n: usize) -> Vec<T> {
        let n = n.min(self.items.len());
        self.items.drain(..n).collect()
    }

    /// How many entries are queued.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether the queue is empty.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Entries dropped so far.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_back_keeps_order_and_the_bound() {
        let mut q = DropOldest::new(3);
        for i in 0..3 {
            q.push(i);
        }
        let taken = q.take(2);
        q.push(3);
        q.put_back(taken);
        assert_eq!((q.len(), q.dropped()), (3, 1));
        assert_eq!(q.take(3), vec![1, 2, 3]);
    }
}
