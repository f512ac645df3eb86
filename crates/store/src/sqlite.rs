//! SQLite, the embedded default: what differs from PostgreSQL.

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous};
use sqlx::{Pool, Sqlite};

use crate::api_tokens::insert_api_token_batch;
use crate::backend::{Backend, On, Query, read_column, sqlx_query};
use crate::value::Value;
use crate::group_commit::{Committer, TOKEN_BATCH};
use crate::refresh_tokens::{ROTATION_BATCH, rotate_batch};
use crate::schema::ColumnType;
use crate::listener::RevocationListener;
use crate::sql_store::SqlStore;
use crate::error::StoreResult;

/// The embedded default. WAL with `synchronous = FULL`: a commit is on disk before it is acknowledged, so
/// an acknowledged write survives `kill -9` and power loss.
pub type SqliteStore = SqlStore<Sqlite>;

impl SqlStore<Sqlite> {
    pub async fn open(url: &str) -> StoreResult<Self> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        // Every write, on one connection. SQLite admits one writer at a time; two connections that both want
        // to write wait for each other in SQLite's busy handler, which sleeps in steps of up to 100 ms and so
        // turned a few milliseconds of contention into stalls of hundreds. Queued here instead, writers wait
        // in order, and only as long as the write ahead of them takes.
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options.clone())
            .await?;
        sqlx::migrate!("./migrations/sqlite").run(&writer).await?;
        // Reads: WAL lets them run beside the writer. An in-memory database exists once per connection:
        // readers of their own would see an empty one.
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        let pool = if in_memory { writer.clone() } else { SqlitePoolOptions::new().max_connections(8).connect_with(options).await? };
        let tokens = {
            let writer = writer.clone();
            Committer::spawn(TOKEN_BATCH, move |batch| {
                let writer = writer.clone();
                async move { insert_api_token_batch(&writer, batch).await }
            })
        };
        // Rotations are group-committed too: each is a durable write, and SQLite pays one flush per commit.
        let rotations = {
            let writer = writer.clone();
            Committer::spawn(ROTATION_BATCH, move |batch| {
                let writer = writer.clone();
                async move { rotate_batch(&writer, batch).await }
            })
        };
        let audit = crate::audit::spawn_audit_committer(writer.clone());
        Ok(Self { pool, writer, tokens, rotations: Some(rotations), audit })
    }
}

impl Backend for Sqlite {
    const LABEL: &'static str = "sqlite";
    /// SQLite has no push channel: other processes' writes (the CLI's) are seen by polling.
    const NOTIFY_REVOCATION: Option<&'static str> = None;
    /// AUTOINCREMENT keeps its high-water mark in sqlite_sequence, which explicit ids already advance.
    const RESET_SEQUENCE: Option<&'static str> = None;
    /// A page cache large enough for the token-hash index: a million random hashes otherwise thrash SQLite's
    /// default 2 MiB cache, and a bulk load slows to a crawl. No flush per commit: a bulk load is a fixture
    /// loader, and a crash in the middle only means running it again.
    const BULK_BEFORE: &'static [&'static str] = &["PRAGMA cache_size = -524288", "PRAGMA synchronous = OFF"];
    /// Back to the server's settings, and no large WAL left behind: the next start should not replay it.
    const BULK_AFTER: &'static [&'static str] =
        &["PRAGMA cache_size = -2000", "PRAGMA synchronous = FULL", "PRAGMA wal_checkpoint(TRUNCATE)"];
    /// sqlx binds a `$N` parameter by asking SQLite for its name, a linear search inside SQLite: with the
    /// thousands of values of a bulk statement that is quadratic, and made seeding eight times slower.
    const NUMBERED_BULK_PLACEHOLDERS: bool = false;

    async fn execute<'c>(on: On<'c, Self>, query: Query) -> sqlx::Result<u64> {
        let statement = sqlx_query::<Sqlite>(&query);
        let done = match on {
            On::Pool(pool) => statement.execute(pool).await?,
            On::Connection(connection) => statement.execute(connection).await?,
        };
        Ok(done.rows_affected())
    }

    async fn fetch_optional<'c>(on: On<'c, Self>, query: Query) -> sqlx::Result<Option<SqliteRow>> {
        let statement = sqlx_query::<Sqlite>(&query);
        match on {
            On::Pool(pool) => statement.fetch_optional(pool).await,
            On::Connection(connection) => statement.fetch_optional(connection).await,
        }
    }

    async fn fetch_all<'c>(on: On<'c, Self>, query: Query) -> sqlx::Result<Vec<SqliteRow>> {
        let statement = sqlx_query::<Sqlite>(&query);
        match on {
            On::Pool(pool) => statement.fetch_all(pool).await,
            On::Connection(connection) => statement.fetch_all(connection).await,
        }
    }

    fn read(row: &SqliteRow, column: &str, kind: ColumnType) -> sqlx::Result<Value> {
        read_column(row, column, kind)
    }

    async fn listen(_pool: &Pool<Self>) -> StoreResult<Option<Box<dyn RevocationListener>>> {
        Ok(None)
    }
}
