//! `POST /oauth/v2/revoke` (RFC 7009): the same 200 whatever the token was (§2.2).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use utoipa::ToSchema;

use super::client_auth::authenticate_client;
use super::error::{OAuthErrorBody, OAuthResult, no_store};
use super::form::Form;
use crate::state::AppState;

/// The form of the revocation (RFC 7009 §2.1) and introspection (RFC 7662 §2.1) requests. The handlers
/// read the form themselves (`Form`); this type describes it.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct TokenForm {
    /// An access token or a refresh token.
    token: String,
    /// `access_token` or `refresh_token`: only orders the lookups; the token's shape decides.
    token_type_hint: Option<String>,
    /// `client_secret_post` and public clients: the client's id.
    client_id: Option<String>,
    /// `client_secret_post`: the client's secret.
    client_secret: Option<String>,
}

/// Token revocation: revoking a refresh token revokes its whole family.
#[utoipa::path(post, path = "/oauth/v2/revoke", tag = "oauth", operation_id = "oauth-revoke",
    security(("clientSecretBasic" = []), ()),
    request_body(content = TokenForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Revoked, or was never valid: the answer is the same (RFC 7009 §2.2)."),
        (status = 400, description = "RFC 6749 §5.2 error.", body = OAuthErrorBody),
        (status = 401, description = "Client authentication failed (`invalid_client`).", body = OAuthErrorBody),
        (status = 429, description = "Rate limited (`temporarily_unavailable`, with Retry-After).", body = OAuthErrorBody),
    ))]
pub async fn revoke(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    match handle(&state, &headers, &body).await {
        Ok(()) => {
            let mut response = StatusCode::OK.into_response();
            no_store(response.headers_mut());
            response
        }
        Err(error) => error.into_response(),
    }
}

async fn handle(state: &AppState, headers: &HeaderMap, body: &Bytes) -> OAuthResult<()> {
    let form = Form::parse(headers, body)?;
    let client = authenticate_client(state, headers, &form).await?;
    Ok(state.app.revoke_token(&client, form.require("token")?).await?)
}
