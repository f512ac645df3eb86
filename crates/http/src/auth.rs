//! Credentials at the edge: the `Authorization` header parsed once, the credential verified by the
//! application, and the [`Caller`] that handlers receive, with its `current-authorization` body.

use std::ops::Deref;

use axum::body::Bytes;
use axum::http::{HeaderMap, header};
use gatehouse_app::authentication::ApiTokenRefusal;
use gatehouse_app::Actor;
use gatehouse_domain::api_token::TokenFormatError;
use gatehouse_domain::ApiTokenSecret;

use crate::error::ApiError;
use crate::state::AppState;

/// Who is calling, with what scopes. Built once per request by the route's requirement layer.
#[derive(Debug, Clone)]
pub struct Caller {
    pub actor: Actor,
    /// The `current-authorization` body, rendered once per scope set and shared (see `rendered`);
    /// `None` past the bound of distinct sets.
    pub authorization_body: Option<Bytes>,
}

impl Deref for Caller {
    type Target = Actor;
    fn deref(&self) -> &Actor {
        &self.actor
    }
}

/// A credential as presented, before verification.
enum Presented<'a> {
    ApiToken(ApiTokenSecret),
    Bearer(&'a str),
}

/// Authenticates the request's one credential, or says in Make's words why not.
pub async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<Caller, ApiError> {
    let actor = match parse_authorization(headers)? {
        Presented::ApiToken(secret) => match state.app.authenticate_api_token(&secret).await? {
            Ok((actor, _)) => actor,
            Err(refusal) => return Err(api_token_refused(refusal)),
        },
        Presented::Bearer(value) => {
            if ApiTokenSecret::parse(value).is_ok() {
                return Err(ApiError::unauthorized(
                    "API tokens are sent with the Token scheme: Authorization: Token <api-token>. \
                     Bearer is for OAuth access tokens.",
                    Some("invalid_token"),
                ));
            }
            match state.app.authenticate_access_token(value).await? {
                Ok(actor) => actor,
                Err(reason) => {
                    tracing::debug!(reason, "access token refused");
                    return Err(ApiError::unauthorized("The access token is invalid, expired or revoked.", Some("invalid_token")));
                }
            }
        }
    };
    let authorization_body = state.rendered.for_scopes(actor.method.auth_used(), actor.scopes);
    Ok(Caller { actor, authorization_body })
}

fn api_token_refused(refusal: ApiTokenRefusal) -> ApiError {
    let detail = match refusal {
        ApiTokenRefusal::UnknownOrDeleted => "The API token is invalid or has been deleted.",
        ApiTokenRefusal::OtherZone => "The API token was issued for another zone. Generate a token in this zone.",
        ApiTokenRefusal::Expired => "The API token has expired.",
    };
    ApiError::unauthorized(detail, Some("invalid_token"))
}

/// Parses the one `Authorization` header. The scheme is case-insensitive (RFC 9110 §11.1); the value is
/// the part after a single run of spaces.
fn parse_authorization(headers: &HeaderMap) -> Result<Presented<'_>, ApiError> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Err(ApiError::unauthorized(
            "Authentication is required: send Authorization: Token <api-token> or Bearer <access-token>.",
            None,
        ));
    };
    if values.next().is_some() {
        // RFC 6750 §3.1: a request with more than one credential is an invalid_request, answered 400.
        let mut error = ApiError::bad_request("Send exactly one Authorization header.");
        error.challenge = Some(crate::error::Challenge { error: Some("invalid_request"), scope: None });
        return Err(error);
    }
    let malformed = || {
        ApiError::unauthorized(
            "The Authorization header is malformed: use Authorization: Token <api-token>.",
            Some("invalid_request"),
        )
    };
    let text = value.to_str().map_err(|_| malformed())?;
    let (scheme, credential) = text.split_once(' ').ok_or_else(malformed)?;
    let credential = credential.trim_start_matches(' ');
    if credential.is_empty() || credential.contains(' ') {
        return Err(malformed());
    }
    if scheme.eq_ignore_ascii_case("token") {
        match ApiTokenSecret::parse(credential) {
            Ok(secret) => Ok(Presented::ApiToken(secret)),
            Err(TokenFormatError::NotVersion4) => Err(ApiError::unauthorized(
                "The API token is not a valid token: API tokens are version 4 UUIDs.",
                Some("invalid_token"),
            )),
            Err(TokenFormatError::NotAUuid) => Err(ApiError::unauthorized(
                "The API token is not a valid token: API tokens are UUIDs.",
                Some("invalid_token"),
            )),
        }
    } else if scheme.eq_ignore_ascii_case("bearer") {
        Ok(Presented::Bearer(credential))
    } else {
        Err(malformed())
    }
}
