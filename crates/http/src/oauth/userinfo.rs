//! `GET|POST /oauth/v2/oidc/userinfo` (OIDC Core §5.3). Standard clients send the access token (which must
//! carry `openid`); Make documents sending the ID token instead, so that is accepted too.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method};
use axum::response::Response;
use gatehouse_domain::oauth::ClientId;
use gatehouse_domain::oauth::jose::{ACCESS_TOKEN_TYP, ID_TOKEN_TYP, IdTokenClaims};
use gatehouse_domain::UserId;
use serde_json::{Value, json};

use super::error::{OAuthError, OAuthResult, json_no_store};
use super::form::Form;
use super::issue::{has, profile_claims};
use super::runtime::TokenCheck;
use crate::credentials::{self, CredentialError, Presented};
use crate::state::AppState;

pub async fn userinfo(State(state): State<AppState>, method: Method, headers: HeaderMap, body: Bytes) -> Response {
    json_no_store(handle(&state, &method, &headers, &body).await)
}

/// RFC 6750 §2.1 (header) and §2.2 (form body, POST only); never the query string, so no token lands in
/// a log. Exactly one method may be used (§2).
fn bearer(method: &Method, headers: &HeaderMap, body: &Bytes) -> OAuthResult<String> {
    let from_header = match credentials::presented(headers) {
        Ok(Presented::Bearer(token)) => Some(token.to_string()),
        Err(CredentialError::Missing) => None,
        // RFC 6750 §3.1: more than one credential is an invalid_request.
        Err(CredentialError::Repeated) => return Err(OAuthError::invalid_request("Send the token once.")),
        Err(CredentialError::NotText) => return Err(OAuthError::invalid_request("Malformed Authorization header.")),
        Ok(Presented::Token(_) | Presented::Basic { .. }) | Err(_) => {
            return Err(OAuthError::invalid_token("Use Authorization: Bearer <token>."));
        }
    };
    let from_body = if *method == Method::POST && !body.is_empty() {
        Form::parse(headers, body)?.get("access_token")?.map(str::to_string)
    } else {
        None
    };
    match (from_header, from_body) {
        (Some(_), Some(_)) => Err(OAuthError::invalid_request("Send the token once.")),
        (Some(token), None) | (None, Some(token)) => Ok(token),
        (None, None) => Err(OAuthError::bearer_required("A bearer token is required.")),
    }
}

fn refused(check: TokenCheck) -> OAuthError {
    match check {
        TokenCheck::Invalid(_) => OAuthError::invalid_token("The token is invalid, expired or revoked."),
        TokenCheck::Internal(cause) => OAuthError::internal(&cause),
    }
}

async fn handle(state: &AppState, method: &Method, headers: &HeaderMap, body: &Bytes) -> OAuthResult<Value> {
    let token = bearer(method, headers, body)?;
    let (user_id, scopes) = if peek_typ(&token).is_some_and(|typ| typ.eq_ignore_ascii_case(ACCESS_TOKEN_TYP) || typ.eq_ignore_ascii_case("application/at+jwt")) {
        let (verified, principal) = state.oauth.verify_access_token(&token).await.map_err(refused)?;
        let scopes = verified.scopes;
        if verified.is_client_credentials() {
            return Err(OAuthError::invalid_token("A client credentials token has no user."));
        }
        if !has(scopes, "openid") {
            return Err(OAuthError::insufficient_scope("The access token was not granted the openid scope."));
        }
        (principal.user_id, scopes)
    } else {
        // Make: `Authorization: Bearer <id_token>`. The ID token is as good as the consent behind it.
        let claims: IdTokenClaims = state.oauth.verify_jwt(&token, ID_TOKEN_TYP, None).await.map_err(refused)?;
        let invalid = || OAuthError::invalid_token("The token is invalid, expired or revoked.");
        let user_id = claims.sub.parse::<i64>().map(UserId).map_err(|_| invalid())?;
        let client_id = ClientId::parse(&claims.aud).ok_or_else(invalid)?;
        let grant = state.store.live_grant(user_id, &client_id).await?.ok_or_else(invalid)?;
        (user_id, grant.scopes)
    };
    let user = state.store.user_by_id(user_id).await?.ok_or_else(|| OAuthError::invalid_token("The user no longer exists."))?;
    let mut body = json!({ "sub": user.id.0.to_string() });
    for (key, value) in profile_claims(&user, scopes) {
        body[key] = value;
    }
    Ok(body)
}

/// The `typ` of a JWT's header, unverified: only to choose which verification applies.
fn peek_typ(token: &str) -> Option<String> {
    jsonwebtoken::decode_header(token).ok().and_then(|header| header.typ)
}
