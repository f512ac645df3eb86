//! `POST /oauth/v2/introspect` (RFC 7662): what an active token is, or `{"active": false}` (§2.2).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use gatehouse_app::token_status::Introspection;
use serde_json::{Value, json};

use super::client_auth::authenticate_client;
use super::error::{OAuthResult, json_no_store};
use super::form::Form;
use crate::state::AppState;

pub async fn introspect(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    json_no_store(handle(&state, &headers, &body).await)
}

async fn handle(state: &AppState, headers: &HeaderMap, body: &Bytes) -> OAuthResult<Value> {
    let form = Form::parse(headers, body)?;
    let client = authenticate_client(state, headers, &form).await?;
    let token = form.require("token")?;
    Ok(match state.app.introspect(&client, token).await? {
        None => json!({ "active": false }),
        Some(Introspection::RefreshToken { scopes, client_id, user_id, issued_at, expires_at, organization_id }) => json!({
            "active": true,
            "token_type": "refresh_token",
            "scope": scopes.to_space_delimited(),
            "client_id": client_id.as_str(),
            "sub": user_id.0.to_string(),
            "iss": state.issuer(),
            "iat": issued_at.as_secs(),
            "exp": expires_at.as_secs(),
            "org_id": organization_id,
        }),
        Some(Introspection::AccessToken { claims, username }) => {
            let mut body = json!({
                "active": true,
                "token_type": "Bearer",
                "scope": claims.scope,
                "client_id": claims.client_id,
                "sub": claims.sub,
                "aud": claims.aud,
                "iss": claims.iss,
                "iat": claims.iat,
                "exp": claims.exp,
                "jti": claims.jti,
                "org_id": claims.org_id,
            });
            if let Some(username) = username {
                body["username"] = json!(username);
            }
            body
        }
    })
}
