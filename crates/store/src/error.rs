//! The store's one error type.

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule was broken (an email already registered, say). The message names the rule.
    #[error("conflict: {0}")]
    Conflict(&'static str),
    /// The URL is not one the store understands; it is shown with any password masked.
    #[error("unsupported database URL {0:?}: use sqlite://PATH (e.g. sqlite://./gatehouse.db) or postgres://USER@HOST:PORT/DATABASE")]
    UnsupportedUrl(String),
    /// Opened with [`crate::OpenMode::MustExist`], and there is no store there: no file, or a database
    /// that Gatehouse never set up.
    #[error("no Gatehouse store at {location}: {reason}")]
    Missing { location: String, reason: &'static str },
    /// The store could not be opened or reached. `location` is the file or `host:port` (never a password),
    /// `hint` says what to check.
    #[error("cannot open the store at {location}: {reason}; {hint}")]
    Open { location: String, reason: String, hint: &'static str },
    /// A copy would lose data (an empty or missing source, a non-empty target): nothing was written.
    #[error("{0}")]
    Refused(String),
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

/// A database URL fit for a message or a log: the password (`user:password@`) replaced by `***`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_string() };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    // The last `@` ends the credentials: a password may itself hold an unescaped `@`.
    let Some(at) = authority.rfind('@') else { return url.to_string() };
    let (credentials, host) = authority.split_at(at);
    match credentials.split_once(':') {
        Some((user, _password)) => format!("{scheme}://{user}:***{host}{tail}"),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn passwords_in_urls_are_masked_and_the_rest_kept() {
        assert_eq!(redact_url("postgres://app:s3cr%40t@db.internal:5432/gh?sslmode=require"), "postgres://app:***@db.internal:5432/gh?sslmode=require");
        assert_eq!(redact_url("postgres://app:p@ss@db:5432/gh"), "postgres://app:***@db:5432/gh");
        assert_eq!(redact_url("postgres://app@db/gh"), "postgres://app@db/gh");
        assert_eq!(redact_url("sqlite://./gatehouse.db"), "sqlite://./gatehouse.db");
        assert_eq!(redact_url("sqlite:"), "sqlite:");
    }
}
