//! The errors of lease storage and coordination.

use std::fmt;

use kinesis_kcl_compat::lease::LeaseKey;

/// What went wrong with a lease operation, named for what the caller should do.
#[non_exhaustive]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum LeaseErrorKind {
    /// The lease changed since it was read (its counter or owner moved): another worker took it,
    /// or this worker's view is stale. Never retried blindly: the caller stops processing the
    /// shard or re-reads the lease.
    LeaseLost,
    /// `create_lease` found a lease with that key already.
    AlreadyExists,
    /// The lease (or the table) does not exist.
    NotFound,
    /// A row of the table could not be read as a lease.
    CorruptRow,
    /// The storage failed (throttling, network, service error) after the retry layer gave up.
    Storage,
    /// A conditional write of a KCL 3.x fleet row (the leader lock, the migration state) found
    /// the row other than expected: another worker wrote it first.
    ConditionFailed,
    /// The repository does not store the KCL 3.x fleet rows
    /// ([`LeaseRepository::kcl3`](crate::LeaseRepository::kcl3) is `None`).
    Unsupported,
}

/// An error of a [`LeaseRepository`](crate::LeaseRepository) or of lease coordination.
///
/// One pointer wide, so `Result<T, LeaseError>` stays small on hot paths.
pub struct LeaseError {
    inner: Box<Inner>,
}

struct Inner {
    kind: LeaseErrorKind,
    lease_key: Option<LeaseKey>,
    message: String,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl LeaseError {
    /// An error of `kind` about the lease `lease_key`.
    pub fn new(
        kind: LeaseErrorKind,
        lease_key: Option<&LeaseKey>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            inner: Box::new(Inner {
                kind,
                lease_key: lease_key.cloned(),
                message: message.into(),
                source: None,
            }),
        }
    }

    /// The lease changed since it was read.
    pub fn lease_lost(lease_key: &LeaseKey) -> Self {
        Self::new(
            LeaseErrorKind::LeaseLost,
            Some(lease_key),
            "the lease changed since it was read (counter or owner moved)",
        )
    }

    /// A lease with that key exists already.
    pub fn already_exists(lease_key: &LeaseKey) -> Self {
        Self::new(
            LeaseErrorKind::AlreadyExists,
            Some(lease_key),
            "the lease exists already",
        )
    }

    /// Attaches the underlying error.
    #[must_use]
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.inner.source = Some(Box::new(source));
        self
    }

    /// Names the lease concerned (for errors converted from a storage error, which have none).
    #[must_use]
    pub fn with_lease_key(mut self, lease_key: &LeaseKey) -> Self {
        self.inner.lease_key = Some(lease_key.clone());
        self
    }

    /// What went wrong.
    pub fn kind(&self) -> LeaseErrorKind {
        self.inner.kind
    }

    /// The lease concerned, when there is one.
    pub fn lease_key(&self) -> Option<&LeaseKey> {
        self.inner.lease_key.as_ref()
    }

    /// Whether the lease was lost (changed under this worker).
    pub fn is_lease_lost(&self) -> bool {
        self.inner.kind == LeaseErrorKind::LeaseLost
    }

    /// Whether the operation may succeed if tried again later.
    pub fn is_retryable(&self) -> bool {
        if self.inner.kind != LeaseErrorKind::Storage {
            return false;
        }
        self.inner
            .source
            .as_deref()
            .and_then(|s| s.downcast_ref::<kinesis_client::Error>())
            .is_some_and(kinesis_client::Error::is_retryable)
    }
}

impl From<kinesis_client::Error> for LeaseError {
    fn from(e: kinesis_client::Error) -> Self {
        let kind = if e.is_not_found() {
            LeaseErrorKind::NotFound
        } else {
            LeaseErrorKind::Storage
        };
        Self {
            inner: Box::new(Inner {
                kind,
                lease_key: None,
                message: e.to_string(),
                source: Some(Box::new(e)),
            }),
        }
    }
}

impl fmt::Display for LeaseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner.lease_key {
            Some(k) => write!(f, "lease {k}: {}", self.inner.message),
            None => f.write_str(&self.inner.message),
        }
    }
}

impl fmt::Debug for LeaseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LeaseError")
            .field("kind", &self.inner.kind)
            .field("lease_key", &self.inner.lease_key)
            .field("message", &self.inner.message)
            .field("source", &self.inner.source)
            .finish()
    }
}

impl std::error::Error for LeaseError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner
            .source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}
