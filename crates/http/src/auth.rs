//! Credentials at the edge: the `Authorization` header parsed once, the credential verified by the
//! application, and the [`Caller`] that handlers receive, with its `current-authorization` body.

use std::collections::HashMap;
use std::ops::Deref;
use std::sync::RwLock;

use axum::body::Bytes;
use axum::http::{HeaderMap, header};
use gatehouse_app::authentication::ApiTokenRefusal;
use gatehouse_app::Actor;
use gatehouse_domain::api_token::TokenFormatError;
use gatehouse_domain::{ApiTokenSecret, ScopeSet};

use crate::api::users::current_authorization_body;
use crate::error::ApiError;
use crate::state::AppState;

/// Who is calling, with what scopes. Built once per request by the route's requirement layer.
#[derive(Debug, Clone)]
pub struct Caller {
    pub actor: Actor,
    /// The `current-authorization` body, rendered once per scope set and shared (see [`RenderedBodies`]);
    /// `None` past the bound of distinct sets.
    pub authorization_body: Option<Bytes>,
}

impl Deref for Caller {
    type Target = Actor;
    fn deref(&self) -> &Actor {
        &self.actor
    }
}

/// `current-authorization` bodies, one per way of authenticating and distinct scope set, shared by every
/// credential with that set, so that the hot path sends shared bytes. Rendering is HTTP's: the verified
/// credentials in the application's caches hold no body. Bounded: past `MAX_RENDERED` distinct sets,
/// bodies are rendered per request.
#[derive(Default)]
pub struct RenderedBodies(RwLock<HashMap<(&'static str, ScopeSet), Bytes>>);

const MAX_RENDERED: usize = 4096;

impl RenderedBodies {
    pub fn for_scopes(&self, auth_used: &'static str, scopes: ScopeSet) -> Option<Bytes> {
        let key = (auth_used, scopes);
        if let Some(body) = self.0.read().unwrap_or_else(|poisoned| poisoned.into_inner()).get(&key) {
            return Some(body.clone());
        }
        let mut rendered = self.0.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        if rendered.len() >= MAX_RENDERED {
            return None;
        }
        let body = rendered.entry(key).or_insert_with(|| current_authorization_body(auth_used, scopes));
        Some(body.clone())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_with_the_same_scopes_share_one_rendered_body() {
        let rendered = RenderedBodies::default();
        let first = rendered.for_scopes("token", ScopeSet::all_api_scopes()).expect("kept");
        let second = rendered.for_scopes("token", ScopeSet::all_api_scopes()).expect("kept");
        assert_eq!(first.as_ptr(), second.as_ptr(), "one allocation for every token with these scopes");
    }

    #[test]
    fn rendered_bodies_are_bounded() {
        let rendered = RenderedBodies::default();
        let first_twelve: Vec<_> = ScopeSet::catalog().take(12).collect();
        for bits in 0..MAX_RENDERED {
            let mut scopes = ScopeSet::EMPTY;
            for (index, scope) in first_twelve.iter().enumerate() {
                if bits & (1 << index) != 0 {
                    scopes.insert(*scope);
                }
            }
            assert!(rendered.for_scopes("token", scopes).is_some());
        }
        assert!(rendered.for_scopes("token", ScopeSet::all_api_scopes()).is_none(), "past the bound: rendered per request");
    }

    #[test]
    fn bodies_are_kept_apart_by_how_the_caller_authenticated() {
        let rendered = RenderedBodies::default();
        let token = rendered.for_scopes("token", ScopeSet::all_api_scopes()).expect("kept");
        let oauth = rendered.for_scopes("oauth", ScopeSet::all_api_scopes()).expect("kept");
        assert!(token.starts_with(br#"{"authorization":{"authUsed":"token""#));
        assert!(oauth.starts_with(br#"{"authorization":{"authUsed":"oauth""#));
    }
}
