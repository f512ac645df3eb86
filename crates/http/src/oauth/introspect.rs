//! `POST /oauth/v2/introspect` (RFC 7662): what an active token is, or `{"active": false}` (§2.2).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use gatehouse_app::token_status::Introspection;
use serde::Serialize;
use utoipa::ToSchema;

use super::client_auth::authenticate_client;
use super::error::{OAuthErrorBody, OAuthResult, json_no_store};
use super::form::Form;
use super::revoke::TokenForm;
use crate::state::AppState;

/// RFC 7662 §2.2. An inactive token is `{"active": false}` and nothing else.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct IntrospectionBody {
    active: bool,
    /// `Bearer` for an access token, `refresh_token` for a refresh token.
    #[serde(skip_serializing_if = "Option::is_none")]
    token_type: Option<&'static str>,
    /// Space-delimited scopes.
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_id: Option<String>,
    /// The user's id, or the client's for client credentials.
    #[serde(skip_serializing_if = "Option::is_none")]
    sub: Option<String>,
    /// Access tokens: the zone the token is for.
    #[serde(skip_serializing_if = "Option::is_none")]
    aud: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    iss: Option<String>,
    /// Seconds since the epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    iat: Option<i64>,
    /// Seconds since the epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    exp: Option<i64>,
    /// Access tokens: the token's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    jti: Option<String>,
    /// The organization the user chose at consent, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    org_id: Option<i64>,
    /// Access tokens issued to a user: the user's email.
    #[serde(skip_serializing_if = "Option::is_none")]
    username: Option<String>,
}

/// Token introspection: only the client a token was issued to learns about it.
#[utoipa::path(post, path = "/oauth/v2/introspect", tag = "oauth", operation_id = "oauth-introspect",
    security(("clientSecretBasic" = []), ()),
    request_body(content = TokenForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "What the token is, or that it is not active; never cached.", body = IntrospectionBody),
        (status = 400, description = "RFC 6749 §5.2 error.", body = OAuthErrorBody),
        (status = 401, description = "Client authentication failed (`invalid_client`).", body = OAuthErrorBody),
        (status = 429, description = "Rate limited (`temporarily_unavailable`, with Retry-After).", body = OAuthErrorBody),
    ))]
pub async fn introspect(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    json_no_store(handle(&state, &headers, &body).await)
}

async fn handle(state: &AppState, headers: &HeaderMap, body: &Bytes) -> OAuthResult<IntrospectionBody> {
    let form = Form::parse(headers, body)?;
    let client = authenticate_client(state, headers, &form).await?;
    let token = form.require("token")?;
    Ok(match state.app.introspect(&client, token).await? {
        None => IntrospectionBody::default(),
        Some(Introspection::RefreshToken { scopes, client_id, user_id, issued_at, expires_at, organization_id }) => IntrospectionBody {
            active: true,
            token_type: Some("refresh_token"),
            scope: Some(scopes.to_space_delimited()),
            client_id: Some(client_id.as_str().to_string()),
            sub: Some(user_id.0.to_string()),
            iss: Some(state.issuer().to_string()),
            iat: Some(issued_at.as_secs()),
            exp: Some(expires_at.as_secs()),
            org_id: organization_id.map(|id| id.0),
            ..IntrospectionBody::default()
        },
        Some(Introspection::AccessToken { claims, username }) => IntrospectionBody {
            active: true,
            token_type: Some("Bearer"),
            scope: Some(claims.scope),
            client_id: Some(claims.client_id),
            sub: Some(claims.sub),
            aud: Some(claims.aud),
            iss: Some(claims.iss),
            iat: Some(claims.iat),
            exp: Some(claims.exp),
            jti: Some(claims.jti.0),
            org_id: claims.org_id.map(|id| id.0),
            username,
        },
    })
}
