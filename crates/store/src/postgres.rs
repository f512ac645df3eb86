use std::time::Duration;

use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;

use gatehouse_domain::ApiToken;

use crate::group_commit::{Committer, TOKEN_BATCH};
use crate::sql_oauth::RotationJob;
use crate::{Rotation, StoreResult};

/// PostgreSQL (and compatible databases), for several nodes behind one load balancer.
pub struct PostgresStore {
    pub(crate) pool: PgPool,
    /// Writes use the same pool: PostgreSQL runs concurrent writers itself, locking rows, not the file.
    pub(crate) writer: PgPool,
    /// Token creation goes through one group committer (see `group_commit`).
    pub(crate) tokens: Committer<ApiToken, StoreResult<ApiToken>>,
    /// None: each rotation is its own transaction, locking only its family's row, because nodes rotate
    /// concurrently and a batch would hold many families' locks at once. PostgreSQL already shares one
    /// WAL flush among the commits that arrive together.
    pub(crate) rotations: Option<Committer<RotationJob, StoreResult<Rotation>>>,
}

impl PostgresStore {
    pub async fn open(url: &str) -> StoreResult<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await?;
        // sqlx takes a PostgreSQL advisory lock around the migrations, so nodes that start at once
        // apply them exactly once.
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        let tokens = token_committer(pool.clone());
        Ok(Self { writer: pool.clone(), pool, tokens, rotations: None })
    }
}

fn token_committer(pool: PgPool) -> Committer<ApiToken, StoreResult<ApiToken>> {
    Committer::spawn(TOKEN_BATCH, move |batch| {
        let pool = pool.clone();
        async move { PostgresStore::insert_api_token_batch(&pool, batch).await }
    })
}

pub(crate) const REVOCATION_CHANNEL: &str = "gatehouse_revocations";

/// `LISTEN` on its own connection: a notification wakes the node's revocation feed at once.
struct PgRevocationListener(sqlx::postgres::PgListener);

#[async_trait::async_trait]
impl crate::RevocationListener for PgRevocationListener {
    async fn wait(&mut self) -> StoreResult<()> {
        self.0.recv().await?;
        Ok(())
    }
}

impl PostgresStore {
    async fn listen_for_revocations(&self) -> StoreResult<Option<Box<dyn crate::RevocationListener>>> {
        let mut listener = sqlx::postgres::PgListener::connect_with(&self.pool).await?;
        listener.listen(REVOCATION_CHANNEL).await?;
        Ok(Some(Box::new(PgRevocationListener(listener))))
    }
}

crate::sql::sql_store_impl!(
    PostgresStore,
    sqlx::Postgres,
    "postgres",
    notify: Some("SELECT pg_notify('gatehouse_revocations', '')"),
    reset_sequence: Some(
        "SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
    )
);
crate::sql_oauth::sql_oauth_impl!(PostgresStore, sqlx::Postgres);
