//! Paginated listings as streams.

use std::collections::VecDeque;
use std::fmt;
use std::task::{Context, Poll};

use crate::error::Error;
use crate::operation::BoxFuture;

/// Fetches one page: given the next token (`None` for the first page), the items and the token of
/// the page after it.
pub(crate) type FetchPage<T> = Box<dyn FnMut(Option<String>) -> PageFuture<T> + Send>;

/// One page of items and the token of the page after it.
pub(crate) type PageFuture<T> = BoxFuture<Result<(Vec<T>, Option<String>), Error>>;

/// Turns a paginated API into a stream of items, fetching the next page only when the items of
/// the previous one have been taken.
pub(crate) struct Paginator<T> {
    fetch: FetchPage<T>,
    buffered: VecDeque<T>,
    in_flight: Option<PageFuture<T>>,
    next_token: Option<String>,
    started: bool,
    finished: bool,
}

impl<T> Paginator<T> {
    pub(crate) fn new(fetch: FetchPage<T>) -> Self {
        Self {
            fetch,
            buffered: VecDeque::new(),
            in_flight: None,
            next_token: None,
            started: false,
            finished: false,
        }
    }

    pub(crate) fn poll_next_item(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<T, Error>>> {
        loop {
            if let Some(item) = self.buffered.pop_front() {
                return Poll::Ready(Some(Ok(item)));
            }
            if self.finished {
                return Poll::Ready(None);
            }
            if self.in_flight.is_none() {
                if self.started && self.next_token.is_none() {
                    self.finished = true;
                    return Poll::Ready(None);
                }
                self.started = true;
                self.in_flight = Some((self.fetch)(self.next_token.take()));
            }
            let page = self.in_flight.as_mut().expect("set above");
            let result = std::task::ready!(page.as_mut().poll(cx));
            self.in_flight = None;
            match result {
                Ok((items, token)) => {
                    self.buffered.extend(items);
                    self.next_token = token.filter(|t| !t.is_empty());
                }
                Err(e) => {
                    self.finished = true;
                    return Poll::Ready(Some(Err(e)));
                }
            }
        }
    }
}

macro_rules! paginated_stream {
    ($(#[$doc:meta])* $name:ident, $item:ty) => {
        $(#[$doc])*
        ///
        /// Each page is one call through the client's stack (retried and rate-limited); the next
        /// page is requested only when the items of the previous one have been taken. An error
        /// ends the stream after it is yielded.
        ///
        /// # Cancel safety
        ///
        /// Dropping a pending `next()` loses nothing: a page in flight is kept and resumed.
        pub struct $name {
            inner: crate::api::paginate::Paginator<$item>,
        }

        impl $name {
            pub(crate) fn new(fetch: crate::api::paginate::FetchPage<$item>) -> Self {
                Self { inner: crate::api::paginate::Paginator::new(fetch) }
            }
        }

        impl futures_core::Stream for $name {
            type Item = Result<$item, crate::Error>;
            fn poll_next(
                mut self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<Option<Self::Item>> {
                self.inner.poll_next_item(cx)
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($name)).finish_non_exhaustive()
            }
        }
    };
}
pub(crate) use paginated_stream;

impl<T> fmt::Debug for Paginator<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Paginator")
            .field("buffered", &self.buffered.len())
            .field("finished", &self.finished)
            .finish_non_exhaustive()
    }
}
