use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

use gatehouse_domain::ApiToken;

use crate::group_commit::{Committer, TOKEN_BATCH};
use crate::sql_oauth::{ROTATION_BATCH, RotationJob};
use crate::{Rotation, StoreResult};

/// The embedded default. WAL with `synchronous = FULL`: a commit is on disk before it is acknowledged, so
/// an acknowledged write survives `kill -9` and power loss.
pub struct SqliteStore {
    /// Reads. WAL lets them run beside the writer.
    pub(crate) pool: SqlitePool,
    /// Every write, on one connection. SQLite admits one writer at a time; two connections that both want
    /// to write wait for each other in SQLite's busy handler, which sleeps in steps of up to 100 ms and
    /// so turned a few milliseconds of contention into stalls of hundreds. Queued here instead, writers
    /// wait in order, and only as long as the write ahead of them takes.
    pub(crate) writer: SqlitePool,
    /// Token creation goes through one group committer (see `group_commit`).
    pub(crate) tokens: Committer<ApiToken, StoreResult<ApiToken>>,
    /// So do refresh-token rotations: each is a durable write, and SQLite pays one flush per commit.
    pub(crate) rotations: Option<Committer<RotationJob, StoreResult<Rotation>>>,
}

impl SqliteStore {
    pub async fn open(url: &str) -> StoreResult<Self> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options.clone())
            .await?;
        sqlx::migrate!("./migrations/sqlite").run(&writer).await?;
        // An in-memory database exists once per connection: readers of their own would see an empty one.
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        let pool = if in_memory {
            writer.clone()
        } else {
            SqlitePoolOptions::new().max_connections(8).connect_with(options).await?
        };
        let tokens = token_committer(writer.clone());
        let rotations = Some(rotation_committer(writer.clone()));
        Ok(Self { pool, writer, tokens, rotations })
    }
}

fn token_committer(pool: SqlitePool) -> Committer<ApiToken, StoreResult<ApiToken>> {
    Committer::spawn(TOKEN_BATCH, move |batch| {
        let pool = pool.clone();
        async move { SqliteStore::insert_api_token_batch(&pool, batch).await }
    })
}

fn rotation_committer(pool: SqlitePool) -> Committer<RotationJob, StoreResult<Rotation>> {
    Committer::spawn(ROTATION_BATCH, move |batch| {
        let pool = pool.clone();
        async move { SqliteStore::rotate_batch(&pool, batch).await }
    })
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
