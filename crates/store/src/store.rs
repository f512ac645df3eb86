//! The one storage interface, and opening it from a URL.

use std::sync::Arc;

use async_trait::async_trait;

use crate::backend::{Backend, query};
use crate::backend::OpenMode;
use crate::error::{StoreError, StoreResult, redact_url};
use crate::postgres::PostgresStore;
use crate::repositories::*;
use crate::sql_store::SqlStore;
use crate::sqlite::SqliteStore;

/// The one storage interface: every repository, on one database. Every backend passes the same test suite.
#[async_trait]
pub trait Store:
    SettingsRepository
    + UserRepository
    + OrganizationRepository
    + PasswordResetRepository
    + ApiTokenRepository
    + ClientRepository
    + GrantRepository
    + CodeRepository
    + RefreshTokenRepository
    + SessionRepository
    + SigningKeyRepository
    + RevocationRepository
    + AuditRepository
    + RoleRepository
    + crate::backend::PoolStatistics
    + Send
    + Sync
    + 'static
{
    /// `sqlite` or `postgres`, for logs and `/health`.
    fn backend(&self) -> &'static str;

    /// Answers when the database answers a trivial query.
    async fn ping(&self) -> StoreResult<()>;
}

pub type DynStore = Arc<dyn Store>;

/// Opens the store a URL names, running its migrations, and creates it if missing: for `serve`, tests and
/// tools that set up a store. Commands that only use one call [`open_with`] and [`OpenMode::MustExist`].
pub async fn open(url: &str) -> StoreResult<DynStore> {
    open_with(url, OpenMode::CreateIfMissing).await
}

/// Opens the store a URL names, running its migrations: `sqlite://PATH` or `postgres://…` /
/// `postgresql://…`. `mode` says whether a missing store may be created.
pub async fn open_with(url: &str, mode: OpenMode) -> StoreResult<DynStore> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteStore::open(url, mode).await?))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(PostgresStore::open(url, mode).await?))
    } else {
        Err(StoreError::UnsupportedUrl(redact_url(url)))
    }
}

#[async_trait]
impl<DB: Backend> Store for SqlStore<DB> {
    fn backend(&self) -> &'static str {
        DB::LABEL
    }

    async fn ping(&self) -> StoreResult<()> {
        query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}
