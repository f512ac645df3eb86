//! `POST /oauth/v2/revoke` (RFC 7009). Revoking a refresh token revokes its whole family, so the access
//! tokens issued from the same grant fail at once (§2.1); revoking an access token revokes that token.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use gatehouse_domain::Timestamp;
use gatehouse_domain::oauth::OpaqueSecret;
use gatehouse_domain::oauth::jose::{ACCESS_TOKEN_TYP, AccessTokenClaims};

use super::client_auth::authenticate_client;
use super::error::{OAuthResult, no_store};
use super::form::Form;
use crate::state::AppState;

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
    let token = form.require("token")?;
    let now = state.clock.now();
    // The hint only orders the lookups (§2.1); both kinds are tried. Unknown tokens, and tokens of other
    // clients, get the same 200 (§2.2), so the endpoint tells nothing about tokens it did not issue to you.
    if let Some(secret) = OpaqueSecret::parse(token) {
        if let Some(row) = state.store.refresh_token_by_hash(&secret.hash()).await?
            && row.client_id == client.id
        {
            state.store.revoke_family(&row.family_id, now).await?;
            state.oauth.forget_liveness();
        }
        return Ok(());
    }
    // An access token: the signature must be ours, but an expired one needs no revoking.
    if let Ok(claims) = state.oauth.verify_jwt::<AccessTokenClaims>(token, ACCESS_TOKEN_TYP, None).await
        && claims.client_id == client.id.as_str()
    {
        state.store.revoke_access_token(&claims.jti, Timestamp::from_millis(claims.exp.saturating_mul(1000)), now).await?;
        state.oauth.forget_liveness();
    }
    Ok(())
}
