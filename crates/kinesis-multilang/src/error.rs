//! The daemon's error.

use std::fmt;

/// The daemon could not run: what it was doing, and the cause.
#[derive(Debug)]
pub struct DaemonError {
    context: String,
    configuration: bool,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl DaemonError {
    /// The configuration cannot work (the processor's program does not exist, say).
    pub(crate) fn configuration(message: impl Into<String>) -> Self {
        Self {
            context: message.into(),
            configuration: true,
            source: None,
        }
    }

    /// Whether the configuration is at fault, not a service: fix the properties file.
    ///
    /// ```
    /// # fn check(e: &kinesis_multilang::DaemonError) {
    /// if e.is_configuration() {
    ///     eprintln!("fix the properties file: {e}");
    /// }
    /// # }
    /// ```
    pub fn is_configuration(&self) -> bool {
        self.configuration
    }

    pub(crate) fn new(
        context: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self {
            context: context.into(),
            configuration: false,
            source: Some(Box::new(source)),
        }
    }
}

impl fmt::Display for DaemonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.source {
            Some(source) => write!(f, "{}: {source}", self.context),
            None => f.write_str(&self.context),
        }
    }
}

impl std::error::Error for DaemonError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}
