//! RFC 6749 §5.2 error responses for the token, revocation and introspection endpoints, and RFC 6750 §3
//! errors for userinfo. Internal errors are logged here and never described in a body.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use gatehouse_domain::oauth::jose::JoseError;
use gatehouse_app::{AppError, OAuthRefusal};
use gatehouse_store::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

/// The error body of RFC 6749 §5.2 (and RFC 6750 §3, RFC 7009 §2.2.1, RFC 7662 §2.3).
#[derive(Debug, Serialize, ToSchema)]
pub struct OAuthErrorBody<'a> {
    /// An RFC 6749 §5.2 error code, such as `invalid_request`, `invalid_client`, `invalid_grant`,
    /// `unauthorized_client`, `unsupported_grant_type`, `invalid_scope`; `invalid_token` and
    /// `insufficient_scope` at userinfo (RFC 6750 §3.1); `temporarily_unavailable` when rate limited;
    /// `server_error`.
    pub error: &'a str,
    /// What went wrong, for the client's developer to read.
    pub error_description: &'a str,
}

#[derive(Debug)]
pub struct OAuthError {
    pub status: StatusCode,
    pub error: &'static str,
    pub description: String,
    /// RFC 6749 §5.2: a failed `client_secret_basic` answers 401 with a `WWW-Authenticate: Basic` challenge.
    pub basic_challenge: bool,
    /// RFC 6750 §3: userinfo answers with a `Bearer` challenge.
    pub bearer_challenge: bool,
    /// RFC 6750 §3.1: the challenge to a request that carried no credential names no error code.
    pub bare_challenge: bool,
    /// A rate limit refused the request: `Retry-After` in seconds.
    pub retry_after_secs: Option<u64>,
}

impl OAuthError {
    pub fn new(status: StatusCode, error: &'static str, description: impl Into<String>) -> Self {
        Self { status, error, description: description.into(), basic_challenge: false, bearer_challenge: false, bare_challenge: false, retry_after_secs: None }
    }

    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }

    pub fn invalid_client(description: impl Into<String>, basic: bool) -> Self {
        let mut this = Self::new(StatusCode::UNAUTHORIZED, "invalid_client", description);
        this.basic_challenge = basic;
        this
    }

    pub fn invalid_grant(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_grant", description)
    }

    pub fn invalid_scope(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_scope", description)
    }

    pub fn unauthorized_client(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "unauthorized_client", description)
    }

    pub fn unsupported_grant_type(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "unsupported_grant_type", description)
    }

    /// RFC 6750 §3.1.
    pub fn invalid_token(description: impl Into<String>) -> Self {
        let mut this = Self::new(StatusCode::UNAUTHORIZED, "invalid_token", description);
        this.bearer_challenge = true;
        this
    }

    /// RFC 6750 §3.1: "If the request lacks any authentication information (e.g., the client was unaware
    /// that authentication is necessary …), the resource server SHOULD NOT include an error code or other
    /// error information" in the challenge.
    pub fn bearer_required(description: impl Into<String>) -> Self {
        let mut this = Self::invalid_token(description);
        this.bare_challenge = true;
        this
    }

    pub fn insufficient_scope(description: impl Into<String>) -> Self {
        let mut this = Self::new(StatusCode::FORBIDDEN, "insufficient_scope", description);
        this.bearer_challenge = true;
        this
    }

    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(%cause, "internal error at the OAuth endpoints");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "server_error", "The server failed to handle the request.")
    }
}

impl From<StoreError> for OAuthError {
    fn from(error: StoreError) -> Self {
        Self::internal(&error)
    }
}

impl From<JoseError> for OAuthError {
    fn from(error: JoseError) -> Self {
        Self::internal(&error)
    }
}

impl From<AppError> for OAuthError {
    fn from(error: AppError) -> Self {
        match error {
            AppError::OAuth(refusal) => match refusal {
                OAuthRefusal::InvalidRequest(d) => Self::invalid_request(d),
                OAuthRefusal::InvalidGrant(d) => Self::invalid_grant(d),
                OAuthRefusal::InvalidScope(d) => Self::invalid_scope(d),
                OAuthRefusal::UnauthorizedClient(d) => Self::unauthorized_client(d),
                OAuthRefusal::UnsupportedGrantType(d) => Self::unsupported_grant_type(d),
                OAuthRefusal::InvalidClient { description, basic_challenge } => Self::invalid_client(description, basic_challenge),
                OAuthRefusal::InvalidToken(d) => Self::invalid_token(d),
                OAuthRefusal::InsufficientScope(d) => Self::insufficient_scope(d),
            },
            AppError::Invalid(d) => Self::invalid_request(d),
            AppError::Unauthenticated(d) => Self::invalid_token(d),
            AppError::Store(error) => error.into(),
            // RFC 6749 defines no code for a rate limit; RFC 6585 §4's 429 with `Retry-After` says it, and
            // `temporarily_unavailable` is the code RFC 6749 §4.1.2.1 uses for "try later".
            AppError::RateLimited { detail, retry_after_secs } => {
                let mut this = Self::new(StatusCode::TOO_MANY_REQUESTS, "temporarily_unavailable", detail);
                this.retry_after_secs = Some(retry_after_secs);
                this
            }
            other => Self::internal(&other),
        }
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = OAuthErrorBody { error: self.error, error_description: &self.description };
        let mut response = (self.status, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        no_store(headers);
        if let Some(secs) = self.retry_after_secs {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if self.basic_challenge {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"gatehouse\""));
        }
        if self.bearer_challenge {
            let value = if self.bare_challenge {
                "Bearer realm=\"gatehouse\"".to_string()
            } else {
                format!("Bearer realm=\"gatehouse\", error=\"{}\"", self.error)
            };
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.insert(header::WWW_AUTHENTICATE, value);
            }
        }
        response
    }
}

/// RFC 6749 §5.1: responses carrying tokens or credentials must not be cached.
pub fn no_store(headers: &mut axum::http::HeaderMap) {
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}

pub type OAuthResult<T> = Result<T, OAuthError>;

/// An endpoint's answer, never cached (RFC 6749 §5.1): its JSON body, or its error.
pub fn json_no_store<T: Serialize>(result: OAuthResult<T>) -> axum::response::Response {
    match result {
        Ok(body) => {
            let mut response = axum::Json(body).into_response();
            no_store(response.headers_mut());
            response
        }
        Err(error) => error.into_response(),
    }
}
