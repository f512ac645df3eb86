//! The one implementation of every repository: [`SqlStore`], generic over the database. `sqlite.rs` and
//! `postgres.rs` open it and supply what differs.

use gatehouse_domain::{ApiToken, Page, SortDir, SortKey};
use sqlx::Pool;

use crate::group_commit::Committer;
use crate::rotation::{Rotation, RotationJob};
use crate::error::StoreResult;

/// A store on one database. Use [`crate::SqliteStore`] or [`crate::PostgresStore`] to name one.
pub struct SqlStore<DB: sqlx::Database> {
    /// Reads.
    pub(crate) pool: Pool<DB>,
    /// Writes. On SQLite one connection (see `SqliteStore::open`); on PostgreSQL the same pool as reads.
    pub(crate) writer: Pool<DB>,
    /// Token creation goes through one group committer (see `group_commit`).
    pub(crate) tokens: Committer<ApiToken, StoreResult<ApiToken>>,
    /// Refresh-token rotations, where they are batched (SQLite); `None`: each is its own transaction.
    pub(crate) rotations: Option<Committer<RotationJob, StoreResult<Rotation>>>,
    /// Audit events are appended through a group committer too (see `audit`; spelled out here, not as
    /// `audit::AuditCommitter`, because `audit` implements its repository on this type).
    pub(crate) audit: Committer<gatehouse_domain::AuditEvent, StoreResult<()>>,
}


/// `ORDER BY … LIMIT … OFFSET …` for a page. Columns come from an enum, never from the request.
pub(crate) fn page_clause(page: Page, table_alias: &str) -> String {
    let column = match page.sort_by {
        SortKey::Id => "id",
        SortKey::Name => "name",
    };
    let direction = match page.sort_dir {
        SortDir::Asc => "ASC",
        SortDir::Desc => "DESC",
    };
    format!(" ORDER BY {table_alias}{column} {direction}, {table_alias}id ASC LIMIT {} OFFSET {}", page.limit, page.offset)
}

// Here rather than beside the trait in `backend`, which the store's modules import: `backend` importing
// `SqlStore` would close a cycle through them.
impl<DB: crate::backend::Backend> crate::backend::PoolStatistics for SqlStore<DB> {
    fn pool_stats(&self) -> Vec<crate::backend::PoolStats> {
        let stats = |pool: &'static str, of: &Pool<DB>| crate::backend::PoolStats {
            pool,
            size: of.size(),
            idle: u32::try_from(of.num_idle()).unwrap_or(u32::MAX),
            max: of.options().get_max_connections(),
        };
        if DB::LABEL == "postgres" {
            vec![stats("shared", &self.pool)]
        } else {
            vec![stats("reads", &self.pool), stats("writes", &self.writer)]
        }
    }
}
