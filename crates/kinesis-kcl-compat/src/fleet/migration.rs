//! [`ClientVersionMigration`]: the `Migration3.0` row, which says whether the fleet runs the
//! KCL 3.x protocol or a 2.x-compatible one.

use std::collections::HashMap;
use std::fmt;

use super::MIGRATION_KEY;
use super::read::Row;
use crate::lease::{AttributeValue, EntityType, Item, LeaseRowError, attr};

const CLIENT_VERSION: &str = "cv";
const MODIFIED_BY: &str = "mb";
const MODIFIED_AT: &str = "mts";
const HISTORY: &str = "h";

/// How many history entries the KCL keeps.
const HISTORY_LIMIT: usize = 10;

/// The fleet's client version (`ClientVersion.java`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ClientVersion {
    /// `CLIENT_VERSION_INIT`: only in the history of a new row.
    Init,
    /// `CLIENT_VERSION_UPGRADE_FROM_2X`: a 2.x fleet being upgraded; 2.x rules apply.
    UpgradeFrom2x,
    /// `CLIENT_VERSION_2X`: rolled back to 2.x; 2.x rules apply.
    V2x,
    /// `CLIENT_VERSION_3X_WITH_ROLLBACK`: 3.x rules, rollback still possible.
    V3xWithRollback,
    /// `CLIENT_VERSION_3X`: 3.x rules.
    V3x,
    /// A value this crate does not know, kept as written.
    Other(String),
}

impl ClientVersion {
    /// The version written as `s`.
    pub fn from_kcl_str(s: &str) -> Self {
        match s {
            "CLIENT_VERSION_INIT" => Self::Init,
            "CLIENT_VERSION_UPGRADE_FROM_2X" => Self::UpgradeFrom2x,
            "CLIENT_VERSION_2X" => Self::V2x,
            "CLIENT_VERSION_3X_WITH_ROLLBACK" => Self::V3xWithRollback,
            "CLIENT_VERSION_3X" => Self::V3x,
            other => Self::Other(other.to_owned()),
        }
    }

    /// The exact string the KCL writes.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Init => "CLIENT_VERSION_INIT",
            Self::UpgradeFrom2x => "CLIENT_VERSION_UPGRADE_FROM_2X",
            Self::V2x => "CLIENT_VERSION_2X",
            Self::V3xWithRollback => "CLIENT_VERSION_3X_WITH_ROLLBACK",
            Self::V3x => "CLIENT_VERSION_3X",
            Self::Other(s) => s,
        }
    }

    /// Whether workers follow the 3.x rules (leader assignment) under this version.
    pub fn runs_3x(&self) -> bool {
        matches!(self, Self::V3x | Self::V3xWithRollback)
    }
}

impl fmt::Display for ClientVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One entry of the row's history (`h`), newest first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MigrationHistoryEntry {
    /// `cv`.
    pub client_version: ClientVersion,
    /// `mb`: the worker that wrote it.
    pub modified_by: String,
    /// `mts`: epoch milliseconds.
    pub modified_at_ms: i64,
}

/// The `Migration3.0` row (`entityType = CLIENT_VERSION_MIGRATION`).
///
/// A new KCL 3.x application's first worker creates it (a conditional put) with
/// [`ClientVersion::V3x`] and one history entry `CLIENT_VERSION_INIT`:
///
/// ```
/// use kinesis_kcl_compat::fleet::{ClientVersion, ClientVersionMigration};
///
/// let row = ClientVersionMigration::new_3x("w-1", 1_764_000_000_123);
/// assert_eq!(row.client_version, ClientVersion::V3x);
/// assert_eq!(row.history[0].client_version, ClientVersion::Init);
/// let item = row.to_item();
/// assert_eq!(item["cv"].as_s().map(String::as_str), Ok("CLIENT_VERSION_3X"));
/// assert_eq!(ClientVersionMigration::from_item(&item)?, row);
/// # Ok::<(), kinesis_kcl_compat::lease::LeaseRowError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientVersionMigration {
    /// `cv`.
    pub client_version: ClientVersion,
    /// `mb`.
    pub modified_by: String,
    /// `mts`: epoch milliseconds.
    pub modified_at_ms: i64,
    /// `h`, newest first (at most 10).
    pub history: Vec<MigrationHistoryEntry>,
}

impl ClientVersionMigration {
    /// The row a new 3.x application's first worker writes.
    pub fn new_3x(worker_id: impl Into<String>, now_ms: i64) -> Self {
        let worker_id = worker_id.into();
        Self {
            client_version: ClientVersion::V3x,
            modified_by: worker_id.clone(),
            modified_at_ms: now_ms,
            history: vec![MigrationHistoryEntry {
                client_version: ClientVersion::Init,
                modified_by: worker_id,
                modified_at_ms: now_ms,
            }],
        }
    }

    /// The item the KCL writes.
    pub fn to_item(&self) -> Item {
        let s = |v: &str| AttributeValue::S(v.to_owned());
        let entry = |cv: &ClientVersion, mb: &str, mts: i64| {
            HashMap::from([
                (CLIENT_VERSION.to_owned(), s(cv.as_str())),
                (MODIFIED_BY.to_owned(), s(mb)),
                (MODIFIED_AT.to_owned(), AttributeValue::N(mts.to_string())),
            ])
        };
        let mut item = entry(&self.client_version, &self.modified_by, self.modified_at_ms);
        item.insert(attr::LEASE_KEY.to_owned(), s(MIGRATION_KEY));
        item.insert(
            attr::ENTITY_TYPE.to_owned(),
            s(EntityType::ClientVersionMigration.as_str()),
        );
        item.insert(
            HISTORY.to_owned(),
            AttributeValue::L(
                self.history
                    .iter()
                    .take(HISTORY_LIMIT)
                    .map(|h| {
                        AttributeValue::M(entry(
                            &h.client_version,
                            &h.modified_by,
                            h.modified_at_ms,
                        ))
                    })
                    .collect(),
            ),
        );
        item
    }

    /// Reads the row. `cv`, `mb` and `mts` are required, as in the KCL; history entries that
    /// cannot be read are left out, and only the newest 10 are kept.
    ///
    /// # Errors
    ///
    /// A [`LeaseRowError`] naming the attribute that is missing or of another type.
    pub fn from_item(item: &Item) -> Result<Self, LeaseRowError> {
        let row = Row::new(item);
        let history = match item.get(HISTORY) {
            Some(AttributeValue::L(entries)) => entries
                .iter()
                .filter_map(|e| {
                    let m = e.as_m().ok()?;
                    Some(MigrationHistoryEntry {
                        client_version: ClientVersion::from_kcl_str(
                            m.get(CLIENT_VERSION)?.as_s().ok()?,
                        ),
                        modified_by: m.get(MODIFIED_BY)?.as_s().ok()?.clone(),
                        modified_at_ms: super::read::integer(m.get(MODIFIED_AT)?.as_n().ok()?)?,
                    })
                })
                .take(HISTORY_LIMIT)
                .collect(),
            _ => Vec::new(),
        };
        Ok(Self {
            client_version: ClientVersion::from_kcl_str(row.required_s(CLIENT_VERSION)?),
            modified_by: row.required_s(MODIFIED_BY)?.to_owned(),
            modified_at_ms: row.required_i64(MODIFIED_AT)?,
            history,
        })
    }
}
