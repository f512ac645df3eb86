use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

use crate::StoreResult;

/// The embedded default. WAL with `synchronous = FULL`: a commit is on disk before it is acknowledged, so
/// an acknowledged write survives `kill -9` and power loss.
pub struct SqliteStore {
    pub(crate) pool: SqlitePool,
}

impl SqliteStore {
    pub async fn open(url: &str) -> StoreResult<Self> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new().max_connections(8).connect_with(options).await?;
        sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
        Ok(Self { pool })
    }
}

impl SqliteStore {
    /// SQLite has no push channel: other processes' writes (the CLI's) are seen by polling.
    async fn listen_for_revocations(&self) -> StoreResult<Option<Box<dyn crate::RevocationListener>>> {
        Ok(None)
    }
}

// AUTOINCREMENT keeps its high-water mark in sqlite_sequence, which explicit ids already advance.
crate::sql::sql_store_impl!(SqliteStore, sqlx::Sqlite, "sqlite", notify: None, reset_sequence: None);
crate::sql_oauth::sql_oauth_impl!(SqliteStore, sqlx::Sqlite);
