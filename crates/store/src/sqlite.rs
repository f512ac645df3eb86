//! SQLite, the embedded default: what differs from PostgreSQL.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous};
use sqlx::{Pool, Sqlite};

use crate::api_tokens::insert_api_token_batch;
use crate::backend::OpenMode;
use crate::backend::{Backend, On, Query, query, read_column, sqlx_query};
use crate::value::Value;
use crate::group_commit::{Committer, TOKEN_BATCH};
use crate::refresh_tokens::{ROTATION_BATCH, rotate_batch};
use crate::schema::ColumnType;
use crate::listener::RevocationListener;
use crate::sql_store::SqlStore;
use crate::error::{StoreError, StoreResult};

/// The embedded default. WAL with `synchronous = FULL`: a commit is on disk before it is acknowledged, so
/// an acknowledged write survives `kill -9` and power loss.
pub type SqliteStore = SqlStore<Sqlite>;

impl SqlStore<Sqlite> {
    /// Opens (with [`OpenMode::CreateIfMissing`], creates) the SQLite file a `sqlite://PATH` URL names and
    /// runs its migrations. Every failure names the file.
    pub async fn open(url: &str, mode: OpenMode) -> StoreResult<Self> {
        let malformed = |reason: String| StoreError::Open {
            location: url.to_string(),
            reason,
            hint: "write sqlite://PATH, e.g. sqlite://./gatehouse.db or sqlite:///var/lib/gatehouse/gatehouse.db",
        };
        let options = SqliteConnectOptions::from_str(url).map_err(|error| malformed(error.to_string()))?;
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        let path = options.get_filename().to_path_buf();
        // `sqlite:` alone would open a private temporary database per connection: the writer would get the
        // tables and the readers would not ("no such table: settings").
        if !in_memory && path.as_os_str().is_empty() {
            return Err(malformed("the URL names no file".into()));
        }
        let location = describe_path(&path);
        if mode == OpenMode::MustExist && !in_memory && !path.exists() {
            return Err(StoreError::Missing { location, reason: "the file does not exist" });
        }
        let options = options
            .create_if_missing(mode == OpenMode::CreateIfMissing)
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
            .await
            .map_err(|error| cannot_open(&location, &error))?;
        if mode == OpenMode::MustExist && !in_memory && !has_gatehouse_tables(&writer).await? {
            return Err(StoreError::Missing { location, reason: "the file holds no Gatehouse tables" });
        }
        sqlx::migrate!("./migrations/sqlite").run(&writer).await?;
        // Reads: WAL lets them run beside the writer. An in-memory database exists once per connection:
        // readers of their own would see an empty one.
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        let pool = if in_memory {
            writer.clone()
        } else {
            SqlitePoolOptions::new().max_connections(8).connect_with(options).await.map_err(|error| cannot_open(&location, &error))?
        };
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

/// The path as given, and where it is when relative: a command run from another directory than the server
/// names a different file.
fn describe_path(path: &Path) -> String {
    match std::path::absolute(path) {
        Ok(absolute) if path.is_relative() => format!("{} ({})", path.display(), absolute.display()),
        _ => path.display().to_string(),
    }
}

/// SQLite says "unable to open database file (code 14)" for a missing directory as for a permission
/// problem, without the path: both are named here.
fn cannot_open(location: &str, error: &sqlx::Error) -> StoreError {
    let reason = error.as_database_error().map_or_else(|| error.to_string(), |database| database.message().to_string());
    StoreError::Open {
        location: location.to_string(),
        reason,
        hint: "check that its directory exists and that this user may read and write the file and the directory",
    }
}

/// Whether an earlier start set this file up (its migrations table is there).
async fn has_gatehouse_tables(pool: &Pool<Sqlite>) -> StoreResult<bool> {
    let row = query("SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'").fetch_one(pool).await?;
    Ok(row.get::<i64>("n")? > 0)
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
