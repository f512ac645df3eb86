//! The store's one error type.

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
