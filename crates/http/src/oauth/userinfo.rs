//! `GET|POST /oauth/v2/oidc/userinfo` (OIDC Core §5.3). Standard clients send the access token (which must
//! carry `openid`); Make documents sending the ID token instead, so that is accepted too.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method};
use axum::response::Response;
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::error::{OAuthError, OAuthErrorBody, OAuthResult, json_no_store};
use super::form::Form;
use crate::credentials::{self, CredentialError, Presented};
use crate::state::AppState;

/// OIDC Core §5.3.2: the user's claims, by the scopes granted.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserInfo {
    /// The user's id.
    sub: String,
    /// `name`, `locale`, `zoneinfo` and `updated_at` with the `profile` scope; `email` with `email`.
    #[serde(flatten)]
    #[schema(value_type = UserInfoClaims)]
    claims: Map<String, Value>,
}

/// The profile claims userinfo may carry (OIDC Core §5.1); the handler's claims come from
/// `gatehouse_app::issue::profile_claims`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct UserInfoClaims {
    name: Option<String>,
    locale: Option<String>,
    /// An IANA time zone name.
    zoneinfo: Option<String>,
    /// Seconds since the epoch.
    updated_at: Option<i64>,
    email: Option<String>,
}

#[utoipa::path(get, path = "/oauth/v2/oidc/userinfo", tag = "oidc", operation_id = "oidc-userinfo",
    security(("bearerAuth" = ["openid"]), ("oauth2" = ["openid"])),
    responses(
        (status = 200, description = "The user's claims; never cached.", body = UserInfo),
        (status = 400, description = "More than one token, or a malformed header (`invalid_request`).", body = OAuthErrorBody),
        (status = 401, description = "No token, or an invalid one (`invalid_token`), with a Bearer challenge.", body = OAuthErrorBody),
        (status = 403, description = "The access token lacks `openid` (`insufficient_scope`).", body = OAuthErrorBody),
    ))]
pub async fn userinfo_get(state: State<AppState>, method: Method, headers: HeaderMap, body: Bytes) -> Response {
    userinfo(state, method, headers, body).await
}

/// POST takes the access token in the form body too (RFC 6750 §2.2).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct UserInfoForm {
    /// The access token, when it is not in the Authorization header.
    access_token: Option<String>,
}

#[utoipa::path(post, path = "/oauth/v2/oidc/userinfo", tag = "oidc", operation_id = "oidc-userinfo-post",
    security(("bearerAuth" = ["openid"]), ("oauth2" = ["openid"])),
    request_body(content = Option<UserInfoForm>, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "The user's claims; never cached.", body = UserInfo),
        (status = 400, description = "More than one token, or a malformed header or body (`invalid_request`).", body = OAuthErrorBody),
        (status = 401, description = "No token, or an invalid one (`invalid_token`), with a Bearer challenge.", body = OAuthErrorBody),
        (status = 403, description = "The access token lacks `openid` (`insufficient_scope`).", body = OAuthErrorBody),
    ))]
pub async fn userinfo_post(state: State<AppState>, method: Method, headers: HeaderMap, body: Bytes) -> Response {
    userinfo(state, method, headers, body).await
}

async fn userinfo(State(state): State<AppState>, method: Method, headers: HeaderMap, body: Bytes) -> Response {
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

async fn handle(state: &AppState, method: &Method, headers: &HeaderMap, body: &Bytes) -> OAuthResult<UserInfo> {
    let token = bearer(method, headers, body)?;
    let (user, claims) = state.app.userinfo(&token).await?;
    Ok(UserInfo { sub: user.id.0.to_string(), claims })
}
