//! PostgreSQL, for several nodes behind one load balancer: what differs from SQLite.

use std::time::Duration;

use sqlx::postgres::{PgListener, PgPoolOptions, PgRow};
use sqlx::{Pool, Postgres};

use crate::api_tokens::insert_api_token_batch;
use crate::backend::{Backend, On, Query, read_column, sqlx_query};
use crate::value::Value;
use crate::group_commit::{Committer, TOKEN_BATCH};
use crate::schema::ColumnType;
use crate::listener::RevocationListener;
use crate::sql_store::SqlStore;
use crate::error::StoreResult;

pub type PostgresStore = SqlStore<Postgres>;

pub(crate) const REVOCATION_CHANNEL: &str = "gatehouse_revocations";

impl SqlStore<Postgres> {
    pub async fn open(url: &str) -> StoreResult<Self> {
        let pool = PgPoolOptions::new().max_connections(16).acquire_timeout(Duration::from_secs(10)).connect(url).await?;
        // sqlx takes a PostgreSQL advisory lock around the migrations, so nodes that start at once apply
        // them exactly once.
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        let tokens = {
            let pool = pool.clone();
            Committer::spawn(TOKEN_BATCH, move |batch| {
                let pool = pool.clone();
                async move { insert_api_token_batch(&pool, batch).await }
            })
        };
        // Writes use the same pool: PostgreSQL runs concurrent writers itself, locking rows, not the file.
        // Rotations are not batched: each is its own transaction, locking only its family's row, because
        // nodes rotate concurrently and a batch would hold many families' locks at once. PostgreSQL already
        // shares one WAL flush among the commits that arrive together.
        let audit = crate::audit::spawn_audit_committer(pool.clone());
        Ok(Self { writer: pool.clone(), pool, tokens, rotations: None, audit })
    }
}

/// `LISTEN` on its own connection: a notification wakes the node's revocation feed at once.
struct PgRevocationListener(PgListener);

#[async_trait::async_trait]
impl RevocationListener for PgRevocationListener {
    async fn wait(&mut self) -> StoreResult<()> {
        self.0.recv().await?;
        Ok(())
    }
}

impl Backend for Postgres {
    const LABEL: &'static str = "postgres";
    const NOTIFY_REVOCATION: Option<&'static str> = Some("SELECT pg_notify('gatehouse_revocations', '')");
    const RESET_SEQUENCE: Option<&'static str> =
        Some("SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)");
    const BULK_BEFORE: &'static [&'static str] = &[];
    const BULK_AFTER: &'static [&'static str] = &[];
    const NUMBERED_BULK_PLACEHOLDERS: bool = true;

    async fn execute<'c>(on: On<'c, Self>, query: Query) -> sqlx::Result<u64> {
        let statement = sqlx_query::<Postgres>(&query);
        let done = match on {
            On::Pool(pool) => statement.execute(pool).await?,
            On::Connection(connection) => statement.execute(connection).await?,
        };
        Ok(done.rows_affected())
    }

    async fn fetch_optional<'c>(on: On<'c, Self>, query: Query) -> sqlx::Result<Option<PgRow>> {
        let statement = sqlx_query::<Postgres>(&query);
        match on {
            On::Pool(pool) => statement.fetch_optional(pool).await,
            On::Connection(connection) => statement.fetch_optional(connection).await,
        }
    }

    async fn fetch_all<'c>(on: On<'c, Self>, query: Query) -> sqlx::Result<Vec<PgRow>> {
        let statement = sqlx_query::<Postgres>(&query);
        match on {
            On::Pool(pool) => statement.fetch_all(pool).await,
            On::Connection(connection) => statement.fetch_all(connection).await,
        }
    }

    fn read(row: &PgRow, column: &str, kind: ColumnType) -> sqlx::Result<Value> {
        read_column(row, column, kind)
    }

    async fn listen(pool: &Pool<Self>) -> StoreResult<Option<Box<dyn RevocationListener>>> {
        let mut listener = PgListener::connect_with(pool).await?;
        listener.listen(REVOCATION_CHANNEL).await?;
        Ok(Some(Box::new(PgRevocationListener(listener)) as Box<dyn RevocationListener>))
    }
}
