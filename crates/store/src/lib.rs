//! Gatehouse's storage: one interface, [`Store`], with an embedded SQLite implementation (the default) and a
//! PostgreSQL one.
//!
//! The interface is one repository trait per concept (users, organizations, API tokens, OAuth clients, …),
//! each in its own module with its SQL, written once for both databases: sqlx's SQLite driver accepts
//! `$N` placeholders, and the SQL sticks to what both understand (`RETURNING`, `ON CONFLICT`, integer times,
//! no `now()`). What differs per database sits behind the `Backend` trait (`backend.rs`, implemented in
//! `sqlite.rs` and `postgres.rs`); the tables are described once, in [`schema`].
//!
//! Lookups return `Result<Option<T>>`: "not found" is an answer, not an error.

use std::sync::Arc;

use async_trait::async_trait;

mod api_tokens;
mod backend;
mod clients;
mod codes;
pub mod copy;
mod group_commit;
mod grants;
mod organizations;
mod postgres;
mod refresh_tokens;
mod revocations;
pub mod schema;
mod sessions;
mod settings;
mod signing_keys;
mod sql_store;
mod sqlite;
mod users;

pub use gatehouse_domain::revocation::Revoked;
pub use grants::GRANT_LAST_USED_RESOLUTION_MILLIS;
pub use organizations::NewOrganization;
pub use postgres::PostgresStore;
pub use refresh_tokens::Rotation;
pub use revocations::{RevocationEvent, RevocationListener};
pub use sql_store::SqlStore;
pub use sqlite::SqliteStore;

/// Every repository trait, for callers that hold a concrete store or a generic one:
/// `use gatehouse_store::repositories::*;`.
pub mod repositories {
    pub use crate::api_tokens::ApiTokenRepository;
    pub use crate::clients::ClientRepository;
    pub use crate::codes::CodeRepository;
    pub use crate::grants::GrantRepository;
    pub use crate::organizations::OrganizationRepository;
    pub use crate::refresh_tokens::RefreshTokenRepository;
    pub use crate::revocations::RevocationRepository;
    pub use crate::sessions::SessionRepository;
    pub use crate::settings::SettingsRepository;
    pub use crate::signing_keys::SigningKeyRepository;
    pub use crate::users::UserRepository;
}

use repositories::*;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule was broken (an email already registered, say). The message names the rule.
    #[error("conflict: {0}")]
    Conflict(&'static str),
    #[error("unsupported database URL {0:?}: use sqlite://PATH or postgres://…")]
    UnsupportedUrl(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    /// A part of the store that runs on its own (the token committer) has stopped.
    #[error("store unavailable: {0}")]
    Unavailable(&'static str),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// The one storage interface: every repository, on one database. Every backend passes the same test suite.
#[async_trait]
pub trait Store:
    SettingsRepository
    + UserRepository
    + OrganizationRepository
    + ApiTokenRepository
    + ClientRepository
    + GrantRepository
    + CodeRepository
    + RefreshTokenRepository
    + SessionRepository
    + SigningKeyRepository
    + RevocationRepository
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

/// Opens the store a URL names, running its migrations: `sqlite://PATH` (created if missing) or
/// `postgres://…` / `postgresql://…`.
pub async fn open(url: &str) -> StoreResult<DynStore> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteStore::open(url).await?))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(PostgresStore::open(url).await?))
    } else {
        Err(StoreError::UnsupportedUrl(url.to_string()))
    }
}
