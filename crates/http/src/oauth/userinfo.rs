//! `GET|POST /oauth/v2/oidc/userinfo` (OIDC Core §5.3). Standard clients send the access token (which must
//! carry `openid`); Make documents sending the ID token instead, so that is accepted too.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method};
use axum::response::Response;
use serde_json::{Value, json};

use super::error::{OAuthError, OAuthResult, json_no_store};
use super::form::Form;
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

async fn handle(state: &AppState, method: &Method, headers: &HeaderMap, body: &Bytes) -> OAuthResult<Value> {
    let token = bearer(method, headers, body)?;
    let (user, claims) = state.app.userinfo(&token).await?;
    let mut body = json!({ "sub": user.id.0.to_string() });
    for (key, value) in claims {
        body[key] = value;
    }
    Ok(body)
}
