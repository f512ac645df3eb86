//! Credentials at the edge: the `Authorization` header parsed once, the credential verified by the
//! application, and the [`Caller`] that handlers receive, with its `current-authorization` body.

use std::ops::Deref;
use std::sync::Arc;

use axum::body::Bytes;
use axum::http::HeaderMap;
use gatehouse_app::authentication::ApiTokenRefusal;
use gatehouse_app::caches::VerifiedApiToken;
use gatehouse_app::{Actor, AuthMethod};
use gatehouse_domain::api_token::TokenFormatError;
use gatehouse_domain::{ApiTokenSecret, TokenHash};

use crate::credentials::{self, CredentialError, Presented};
use crate::error::ApiError;
use crate::metrics::AuthOutcome;
use crate::state::AppState;

/// Who is calling, with what scopes. Built once per request by the route's requirement layer.
#[derive(Debug, Clone)]
pub struct Caller {
    pub actor: Actor,
    /// The `current-authorization` body, rendered once per scope set and shared (see `rendered`);
    /// `None` past the bound of distinct sets.
    pub authorization_body: Option<Bytes>,
    /// The verified API token behind an API-token caller (forward-auth hands its label on).
    pub api_token: Option<Arc<VerifiedApiToken>>,
}

impl Deref for Caller {
    type Target = Actor;
    fn deref(&self) -> &Actor {
        &self.actor
    }
}

/// Authenticates the request's one credential, or says in Make's words why not.
pub async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<Caller, ApiError> {
    let mut api_token = None;
    let metrics = &state.metrics;
    let presented = parse_authorization(headers).inspect_err(|_| metrics.authentication(AuthOutcome::of_unreadable(headers)))?;
    let (actor, credential, client) = match presented {
        Presented::Token(secret) => {
            let hash = secret.hash();
            let verdict = state.app.authenticate_api_token_hash(hash).await;
            match verdict.inspect_err(|_| metrics.authentication(AuthOutcome::Error))? {
                Ok((actor, verified)) => {
                    api_token = Some(verified);
                    (actor, Credential::Hashed(hash), None)
                }
                Err(refusal) => {
                    metrics.authentication(match refusal {
                        ApiTokenRefusal::UnknownOrDeleted => AuthOutcome::Unknown,
                        ApiTokenRefusal::OtherZone => AuthOutcome::WrongZone,
                        ApiTokenRefusal::Expired => AuthOutcome::Expired,
                    });
                    return Err(api_token_refused(refusal));
                }
            }
        }
        Presented::Basic { .. } => {
            metrics.authentication(AuthOutcome::Malformed);
            return Err(malformed());
        }
        Presented::Bearer(value) => {
            if ApiTokenSecret::parse(value).is_ok() {
                metrics.authentication(AuthOutcome::Malformed);
                return Err(ApiError::unauthorized(
                    "API tokens are sent with the Token scheme: Authorization: Token <api-token>. \
                     Bearer is for OAuth access tokens.",
                    Some("invalid_token"),
                ));
            }
            let verdict = state.app.authenticate_access_token(value).await;
            match verdict.inspect_err(|_| metrics.authentication(AuthOutcome::Error))? {
                Ok(actor) => {
                    let client = match &actor.method {
                        AuthMethod::OAuth { token } => Some(token.claims.client_id.clone()),
                        _ => None,
                    };
                    (actor, Credential::Bearer(value), client)
                }
                Err(reason) => {
                    metrics.authentication(AuthOutcome::of_access_token_refusal(reason));
                    tracing::debug!(reason, "access token refused");
                    return Err(ApiError::unauthorized("The access token is invalid, expired or revoked.", Some("invalid_token")));
                }
            }
        }
    };
    metrics.authentication(AuthOutcome::Accepted);
    let credential_hash = || match credential {
        Credential::Hashed(hash) => hash,
        Credential::Bearer(value) => TokenHash::of_bytes(value.as_bytes()),
    };
    state.app.count_credential(credential_hash, client.as_deref()).await?;
    let authorization_body = state.rendered.for_scopes(actor.method.auth_used(), actor.scopes);
    Ok(Caller { actor, authorization_body, api_token })
}

/// What the per-token rate limit is keyed by: an API token's hash, already computed to verify it, or an
/// access token, hashed only if a per-token limit asks for it.
#[derive(Clone, Copy)]
enum Credential<'a> {
    Hashed(TokenHash),
    Bearer(&'a str),
}

fn api_token_refused(refusal: ApiTokenRefusal) -> ApiError {
    let detail = match refusal {
        ApiTokenRefusal::UnknownOrDeleted => "The API token is invalid or has been deleted.",
        ApiTokenRefusal::OtherZone => "The API token was issued for another zone. Generate a token in this zone.",
        ApiTokenRefusal::Expired => "The API token has expired.",
    };
    ApiError::unauthorized(detail, Some("invalid_token"))
}

/// The one `Authorization` header, as the API answers it: `Token` or `Bearer`, refusals in Make's schema.
fn parse_authorization(headers: &HeaderMap) -> Result<Presented<'_>, ApiError> {
    match credentials::presented(headers) {
        Ok(presented) => Ok(presented),
        Err(CredentialError::Missing) => Err(ApiError::unauthorized(
            "Authentication is required: send Authorization: Token <api-token> or Bearer <access-token>.",
            None,
        )),
        Err(CredentialError::Repeated) => {
            // RFC 6750 §3.1: a request with more than one credential is an invalid_request, answered 400.
            let mut error = ApiError::bad_request("Send exactly one Authorization header.");
            error.challenge = Some(crate::error::Challenge { error: Some("invalid_request"), scope: None });
            Err(error)
        }
        Err(CredentialError::Token(TokenFormatError::NotVersion4)) => Err(ApiError::unauthorized(
            "The API token is not a valid token: API tokens are version 4 UUIDs.",
            Some("invalid_token"),
        )),
        Err(CredentialError::Token(TokenFormatError::NotAUuid)) => Err(ApiError::unauthorized(
            "The API token is not a valid token: API tokens are UUIDs.",
            Some("invalid_token"),
        )),
        Err(CredentialError::NotText | CredentialError::Malformed | CredentialError::UnknownScheme | CredentialError::Basic(_)) => {
            Err(malformed())
        }
    }
}

fn malformed() -> ApiError {
    ApiError::unauthorized(
        "The Authorization header is malformed: use Authorization: Token <api-token>.",
        Some("invalid_request"),
    )
}
