//! The application layer's one error type. The HTTP edge maps it to Make's `{"message","detail","code"}`
//! on `/api/v2` and to RFC 6749 errors on `/oauth/v2`; the CLI prints its message.

use gatehouse_domain::ValidationError;
use gatehouse_domain::oauth::jose::JoseError;
use gatehouse_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Input that breaks a rule: Make's IM005, or `invalid_request`.
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    NotFound(String),
    /// The caller is known but may not do this.
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Conflict(String),
    /// Make's IM004: a destructive call without `confirmed=true`. Names what would be deleted.
    #[error("deleting {0} needs confirmation")]
    ConfirmationRequired(&'static str),
    #[error("{detail}")]
    RateLimited { detail: String, retry_after_secs: u64 },
    /// The credential is not (or no longer) valid.
    #[error("{0}")]
    Unauthenticated(String),
    /// An OAuth protocol refusal, with its RFC 6749 / RFC 6750 error code.
    #[error("{0}")]
    OAuth(OAuthRefusal),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A failure of ours. Its text is logged at the edge, never shown.
    #[error("internal error: {0}")]
    Internal(String),
}

/// RFC 6749 §5.2 and RFC 6750 §3.1 errors, as the use cases decide them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OAuthRefusal {
    #[error("{0}")]
    InvalidRequest(String),
    #[error("{0}")]
    InvalidGrant(String),
    #[error("{0}")]
    InvalidScope(String),
    #[error("{0}")]
    UnauthorizedClient(String),
    /// RFC 6749 §5.2: answered 401, with a `Basic` challenge when the client tried Basic.
    #[error("{description}")]
    InvalidClient { description: String, basic_challenge: bool },
    #[error("{0}")]
    UnsupportedGrantType(String),
    #[error("{0}")]
    InvalidToken(String),
    #[error("{0}")]
    InsufficientScope(String),
}

pub type AppResult<T> = Result<T, AppError>;

impl From<ValidationError> for AppError {
    fn from(error: ValidationError) -> Self {
        AppError::Invalid(error.0)
    }
}

impl From<JoseError> for AppError {
    fn from(error: JoseError) -> Self {
        AppError::Internal(error.to_string())
    }
}

impl From<OAuthRefusal> for AppError {
    fn from(refusal: OAuthRefusal) -> Self {
        AppError::OAuth(refusal)
    }
}

impl AppError {
    pub fn not_found(detail: impl Into<String>) -> Self {
        AppError::NotFound(detail.into())
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        AppError::Forbidden(detail.into())
    }

    pub fn invalid(detail: impl Into<String>) -> Self {
        AppError::Invalid(detail.into())
    }

    pub fn invalid_grant(detail: impl Into<String>) -> Self {
        AppError::OAuth(OAuthRefusal::InvalidGrant(detail.into()))
    }
}
