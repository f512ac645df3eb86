//! PostgreSQL, for several nodes behind one load balancer: what differs from SQLite.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgConnection, PgListener, PgPoolOptions, PgRow};
use sqlx::{Connection, Pool, Postgres};

use crate::api_tokens::insert_api_token_batch;
use crate::backend::{Backend, On, Query, read_column, sqlx_query};
use crate::value::Value;
use crate::group_commit::{Committer, TOKEN_BATCH};
use crate::schema::ColumnType;
use crate::listener::RevocationListener;
use crate::sql_store::SqlStore;
use crate::backend::OpenMode;
use crate::error::{StoreError, StoreResult, redact_url};

pub type PostgresStore = SqlStore<Postgres>;

pub(crate) const REVOCATION_CHANNEL: &str = "gatehouse_revocations";

/// How long the first connection may take. A pool would retry a refused or unanswered connection until its
/// acquire timeout and then say only "pool timed out"; one plain connection fails fast, with the reason.
const FIRST_CONNECTION_WITHIN: Duration = Duration::from_secs(3);

impl SqlStore<Postgres> {
    /// Connects to the database a `postgres://` URL names and runs its migrations. Every failure names
    /// `host:port/database` (never the password) and says what to check.
    pub async fn open(url: &str, mode: OpenMode) -> StoreResult<Self> {
        let options = PgConnectOptions::from_str(url).map_err(|error| StoreError::Open {
            location: redact_url(url),
            reason: error.to_string(),
            hint: "write postgres://USER[:PASSWORD]@HOST:PORT/DATABASE",
        })?;
        let location = describe(&options);
        let mut first = match tokio::time::timeout(FIRST_CONNECTION_WITHIN, PgConnection::connect_with(&options)).await {
            Ok(Ok(connection)) => connection,
            Ok(Err(error)) => return Err(cannot_connect(location, &error)),
            Err(_) => {
                return Err(StoreError::Open {
                    location,
                    reason: format!("no answer within {} s", FIRST_CONNECTION_WITHIN.as_secs()),
                    hint: "check that PostgreSQL runs there and that this machine can reach it (host, port, firewall)",
                });
            }
        };
        let set_up: bool = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL").fetch_one(&mut first).await?;
        let _ = first.close().await;
        if mode == OpenMode::MustExist && !set_up {
            return Err(StoreError::Missing { location, reason: "the database has no Gatehouse tables" });
        }
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await
            .map_err(|error| cannot_connect(location.clone(), &error))?;
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

/// `host:port/database`, or the socket: where the store is, without the credentials.
fn describe(options: &PgConnectOptions) -> String {
    let database = options.get_database().unwrap_or(options.get_username());
    match options.get_socket() {
        Some(socket) => format!("{} (socket), database {database}", socket.display()),
        None => format!("{}:{}/{database}", options.get_host(), options.get_port()),
    }
}

/// A failed connection, with what to check: the network for an I/O error, the URL's credentials and
/// database for an error PostgreSQL answered.
fn cannot_connect(location: String, error: &sqlx::Error) -> StoreError {
    match error {
        sqlx::Error::Io(io) => StoreError::Open {
            location,
            reason: io.to_string(),
            hint: "check that PostgreSQL runs there and listens on that port",
        },
        sqlx::Error::Database(database) => StoreError::Open {
            location,
            reason: database.message().to_string(),
            hint: "check the user, the password and the database name in the URL",
        },
        sqlx::Error::Tls(tls) => StoreError::Open { location, reason: tls.to_string(), hint: "check the URL's sslmode and the server's certificate" },
        other => StoreError::Open { location, reason: other.to_string(), hint: "check the URL and that PostgreSQL runs there" },
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
