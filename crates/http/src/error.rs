//! One error type for `/api/v2`, rendered in Make's schema. Internal errors are logged here, at the edge,
//! and never leak into a body.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use gatehouse_domain::ValidationError;
use gatehouse_app::AppError;
use gatehouse_store::StoreError;
use serde::Serialize;

/// The `WWW-Authenticate` challenge for every 401: both schemes this API accepts (RFC 9110 §11.6.1).
pub const CHALLENGE_REALM: &str = "gatehouse";

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: &'static str,
    pub detail: String,
    pub code: &'static str,
    /// RFC 6750 §3 error code for the `WWW-Authenticate` challenge, when this is an authentication error.
    pub challenge: Option<Challenge>,
    pub retry_after_secs: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct Challenge {
    pub error: Option<&'static str>,
    pub scope: Option<String>,
}

/// Make's error body on `/api/v2`; the OpenAPI document describes errors with this type.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = MakeError)]
pub struct MakeErrorBody<'a> {
    /// A short title, such as "Invalid input parameters".
    message: &'a str,
    /// What went wrong, for a person to read.
    detail: &'a str,
    /// Make's error code, such as `IM005` or `SC401`.
    code: &'a str,
}

impl ApiError {
    fn new(status: StatusCode, message: &'static str, code: &'static str, detail: impl Into<String>) -> Self {
        Self { status, message, detail: detail.into(), code, challenge: None, retry_after_secs: None }
    }

    /// Missing, malformed, unknown, expired, deleted or foreign credentials.
    pub fn unauthorized(detail: impl Into<String>, error: Option<&'static str>) -> Self {
        let mut this = Self::new(StatusCode::UNAUTHORIZED, "Unauthorized", "SC401", detail);
        this.challenge = Some(Challenge { error, scope: None });
        this
    }

    /// A valid credential without the scope the endpoint needs. Make answers 401 here (see
    /// docs/compatibility.md); the challenge still carries RFC 6750's `insufficient_scope`.
    pub fn insufficient_scope(scope: &str, method: &str, path: &str) -> Self {
        let mut this = Self::new(
            StatusCode::UNAUTHORIZED,
            "Insufficient scope",
            "SC401",
            format!("The credential lacks the scope {scope}, which {method} {path} requires."),
        );
        this.challenge = Some(Challenge { error: Some("insufficient_scope"), scope: Some(scope.to_string()) });
        this
    }

    /// Make's own words for administration resources and resources the caller may not change.
    pub fn access_denied() -> Self {
        Self::new(StatusCode::FORBIDDEN, "Permission denied", "SC403", "Access denied.")
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "Permission denied", "SC403", detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "Not found", "SC404", detail)
    }

    /// Make's IM005 "Invalid Input Parameters".
    pub fn invalid_input(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "Invalid input parameters", "IM005", detail)
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        let mut this = Self::new(StatusCode::BAD_REQUEST, "Bad request", "SC400", detail);
        this.challenge = None;
        this
    }

    /// Make's IM004 "Confirmation Required": destructive calls need `confirmed=true`.
    pub fn confirmation_required(what: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "Confirmation required",
            "IM004",
            format!("Deleting {what} cannot be undone: repeat the request with confirmed=true."),
        )
    }

    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "Conflict", "SC409", detail)
    }

    pub fn payload_too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Payload too large",
            "SC413",
            format!("The request body exceeds the limit of {limit} bytes."),
        )
    }

    pub fn unsupported_media_type(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "Unsupported media type", "SC415", detail)
    }

    pub fn method_not_allowed() -> Self {
        Self::new(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed", "SC405", "This endpoint does not support this HTTP method.")
    }

    pub fn too_many_requests(detail: impl Into<String>, retry_after_secs: u64) -> Self {
        let mut this = Self::new(StatusCode::TOO_MANY_REQUESTS, "Too many requests", "SC429", detail);
        this.retry_after_secs = Some(retry_after_secs);
        this
    }

    pub fn unavailable(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "Service unavailable", "SC503", detail)
    }

    /// Logs the cause and answers a body that says nothing about it.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(%cause, "internal error");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "Internal server error", "SC500", "The server failed to handle the request.")
    }

    /// A body for a status produced below the handlers (a timeout, say), in Make's schema.
    pub fn for_status(status: StatusCode) -> Self {
        match status {
            StatusCode::NOT_FOUND => Self::not_found("The requested resource does not exist."),
            StatusCode::METHOD_NOT_ALLOWED => Self::method_not_allowed(),
            StatusCode::PAYLOAD_TOO_LARGE => Self::payload_too_large(crate::state::MAX_BODY_BYTES),
            StatusCode::REQUEST_TIMEOUT => Self::new(status, "Request timeout", "SC408", "The request took too long."),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => Self::unsupported_media_type("Send the body as application/json."),
            status if status.is_server_error() => Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Internal server error",
                "SC500",
                "The server failed to handle the request.",
            ),
            _ => Self::bad_request("The request is malformed."),
        }
    }
}

impl From<ValidationError> for ApiError {
    fn from(error: ValidationError) -> Self {
        Self::invalid_input(error.0)
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Conflict(rule) => Self::conflict(format!("Conflict: {rule}.")),
            other => Self::internal(&other),
        }
    }
}

impl From<AppError> for ApiError {
    fn from(error: AppError) -> Self {
        match error {
            AppError::Invalid(detail) => Self::invalid_input(detail),
            AppError::NotFound(detail) => Self::not_found(detail),
            AppError::Forbidden(detail) => Self::forbidden(detail),
            AppError::Conflict(detail) => Self::conflict(detail),
            AppError::ConfirmationRequired(what) => Self::confirmation_required(what),
            AppError::RateLimited { detail, retry_after_secs } => Self::too_many_requests(detail, retry_after_secs),
            AppError::Unauthenticated(detail) => Self::unauthorized(detail, Some("invalid_token")),
            AppError::OAuth(refusal) => Self::invalid_input(refusal.to_string()),
            AppError::Store(error) => error.into(),
            AppError::Internal(cause) => Self::internal(&cause),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = MakeErrorBody { message: self.message, detail: &self.detail, code: self.code };
        let mut response = (self.status, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        if let Some(challenge) = &self.challenge {
            let mut params = format!("realm=\"{CHALLENGE_REALM}\"");
            if let Some(error) = challenge.error {
                params.push_str(&format!(", error=\"{error}\""));
            }
            if let Some(scope) = &challenge.scope {
                params.push_str(&format!(", scope=\"{scope}\""));
            }
            let value = format!("Token {params}, Bearer {params}");
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.insert(header::WWW_AUTHENTICATE, value);
            }
        }
        if let Some(secs) = self.retry_after_secs {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
