//! The daemon's error.

use std::fmt;

/// The daemon could not run: what it was doing, and the cause.
#[derive(Debug)]
pub struct DaemonError {
    context: String,
    source: Box<dyn std::error::Error + Send + Sync>,
}

impl DaemonError {
    pub(crate) fn new(
        context: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self {
            context: context.into(),
            source: Box::new(source),
        }
    }
}

impl fmt::Display for DaemonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.context, self.source)
    }
}

impl std::error::Error for DaemonError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.source)
    }
}
