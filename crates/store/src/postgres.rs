use std::time::Duration;

use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;

use crate::StoreResult;

/// PostgreSQL (and compatible databases), for several nodes behind one load balancer.
pub struct PostgresStore {
    pub(crate) pool: PgPool,
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
        Ok(Self { pool })
    }
}

crate::sql::sql_store_impl!(PostgresStore, sqlx::Postgres, "postgres");
crate::sql_oauth::sql_oauth_impl!(PostgresStore, sqlx::Postgres);
