//! `POST /oauth/v2/introspect` (RFC 7662). A client may introspect the tokens issued to it; anything else
//! is `{"active": false}` (§2.2), which is also the answer for unknown, expired and revoked tokens.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use gatehouse_domain::oauth::grant::judge_refresh;
use gatehouse_domain::oauth::{OpaqueSecret, RefreshVerdict};
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
    let inactive = json!({ "active": false });
    let now = state.clock.now();
    if let Some(secret) = OpaqueSecret::parse(token) {
        let Some(row) = state.store.refresh_token_by_hash(&secret.hash()).await? else { return Ok(inactive) };
        let live_family = state.store.family(&row.family_id).await?.is_some_and(|f| f.revoked_at.is_none());
        let live_grant = state.store.grant_by_id(row.grant_id).await?.is_some();
        if row.client_id != client.id
            || !live_family
            || !live_grant
            || judge_refresh(&row, now, state.oauth.settings.refresh_grace_secs) != RefreshVerdict::Rotate
        {
            return Ok(inactive);
        }
        return Ok(json!({
            "active": true,
            "token_type": "refresh_token",
            "scope": row.scopes.to_space_delimited(),
            "client_id": row.client_id.as_str(),
            "sub": row.user_id.0.to_string(),
            "iss": state.oauth.issuer,
            "iat": row.created.as_secs(),
            "exp": row.expires_at.as_secs(),
            "org_id": row.organization_id,
        }));
    }
    match state.oauth.verify_access_token(token).await {
        Ok((verified, principal)) if verified.claims.client_id == client.id.as_str() => {
            let claims = &verified.claims;
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
            if !verified.is_client_credentials() {
                body["username"] = json!(&*principal.email);
            }
            Ok(body)
        }
        _ => Ok(inactive),
    }
}
