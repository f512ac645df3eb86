//! `POST /oauth/v2/token` (RFC 6749 §3.2): the authorization code grant with PKCE, refresh with rotation,
//! and client credentials.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use gatehouse_domain::oauth::grant::judge_refresh;
use gatehouse_store::Rotation;
use gatehouse_domain::oauth::secret::random_id;
use gatehouse_domain::oauth::{ClientType, OAuthClient, OpaqueSecret, RefreshToken, RefreshVerdict, TokenFamily};
use gatehouse_domain::{ScopeSet, Timestamp, User};
use serde_json::{Value, json};

use super::client_auth::authenticate_client;
use super::error::{OAuthError, OAuthResult, json_no_store};
use super::form::Form;
use super::issue::{self, Subject, has};
use super::runtime::TokenCheck;
use crate::state::AppState;

pub async fn token(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    json_no_store(handle(&state, &headers, &body).await)
}

async fn handle(state: &AppState, headers: &HeaderMap, body: &Bytes) -> OAuthResult<Value> {
    let form = Form::parse(headers, body)?;
    let grant_type = form.require("grant_type")?;
    let client = authenticate_client(state, headers, &form).await?;
    match grant_type {
        "authorization_code" => authorization_code(state, &client, &form).await,
        "refresh_token" => refresh(state, &client, &form).await,
        "client_credentials" => client_credentials(state, &client, &form).await,
        other => Err(OAuthError::unsupported_grant_type(format!("The grant type {other:?} is not supported."))),
    }
}

fn internal(check: TokenCheck) -> OAuthError {
    match check {
        TokenCheck::Internal(cause) => OAuthError::internal(&cause),
        TokenCheck::Invalid(reason) => OAuthError::internal(&reason),
    }
}

/// RFC 6749 §4.1.3 and RFC 7636 §4.6.
async fn authorization_code(state: &AppState, client: &OAuthClient, form: &Form) -> OAuthResult<Value> {
    let runtime = &state.oauth;
    let now = state.clock.now();
    let invalid = || OAuthError::invalid_grant("The authorization code is invalid, expired or already used.");
    let code_text = form.require("code")?;
    let verifier = form.get("code_verifier")?;
    let redirect_uri = form.get("redirect_uri")?;
    let secret = OpaqueSecret::parse(code_text).ok_or_else(invalid)?;
    let code = state.store.code_by_hash(&secret.hash()).await?.ok_or_else(invalid)?;
    if !code.hash.matches(&secret.hash()) || code.client_id != client.id {
        return Err(invalid());
    }
    if code.used_at.is_some() {
        // RFC 6749 §4.1.2 and RFC 9700 §4.5: a replayed code revokes everything issued from it.
        revoke_family(state, &code.family_id, now).await?;
        tracing::warn!(client_id = %client.id, "authorization code replayed; its tokens are revoked");
        return Err(invalid());
    }
    if code.is_expired(now) {
        return Err(invalid());
    }
    match redirect_uri {
        Some(uri) if uri == code.redirect_uri.as_str() => {}
        None if client.redirect_uris.len() == 1 => {}
        Some(_) => return Err(OAuthError::invalid_grant("redirect_uri does not match the authorization request.")),
        None => return Err(OAuthError::invalid_request("The redirect_uri parameter is required.")),
    }
    let verifier = verifier.ok_or_else(|| OAuthError::invalid_request("The code_verifier parameter is required (PKCE)."))?;
    if !code.challenge.verify(verifier) {
        return Err(OAuthError::invalid_grant("The code_verifier does not match the code_challenge."));
    }
    // Checks passed: now take the code. Of two racing exchanges exactly one wins; the loser is a replay.
    if !state.store.consume_code(&code.hash, now).await? {
        revoke_family(state, &code.family_id, now).await?;
        return Err(invalid());
    }
    let grant = state.store.grant_by_id(code.grant_id).await?.ok_or_else(|| OAuthError::invalid_grant("The consent was revoked."))?;
    let user = state.store.user_by_id(code.user_id).await?.ok_or_else(invalid)?;
    let ring = runtime.ring().await.map_err(internal)?;
    let subject = Subject {
        client,
        user: Some(&user),
        scopes: code.scopes,
        organization_id: code.organization_id,
        family_id: &code.family_id,
        auth_time: Some(code.auth_time),
    };
    let (access, _) = issue::access_token(runtime, &ring, &subject, now)?;
    let mut body = token_body(state, &access, code.scopes);
    if has(code.scopes, "openid") {
        let id = issue::id_token(runtime, &ring, client, &user, code.scopes, code.nonce.clone(), code.auth_time, &access, now)?;
        body["id_token"] = json!(id);
    }
    if issue::gets_refresh_token(runtime, client) {
        let (secret, row) = issue::refresh_token(
            runtime, client, &user, grant.id, &code.family_id, None, code.scopes, code.organization_id, code.auth_time, now,
        );
        state.store.insert_refresh_token(&row).await?;
        body["refresh_token"] = json!(secret.reveal());
    }
    state.store.touch_grant(grant.id, now).await?;
    Ok(body)
}

fn token_body(state: &AppState, access: &str, scopes: ScopeSet) -> Value {
    json!({
        "access_token": access,
        "token_type": "Bearer",
        // Exactly the lifetime in the token's exp - iat.
        "expires_in": state.oauth.settings.access_token_ttl_secs,
        "scope": scopes.to_space_delimited(),
    })
}

async fn revoke_family(state: &AppState, family: &str, now: Timestamp) -> OAuthResult<()> {
    state.store.revoke_family(family, now).await?;
    state.oauth.forget_liveness();
    Ok(())
}

/// RFC 6749 §6, with rotation (RFC 9700 §4.14.2).
async fn refresh(state: &AppState, client: &OAuthClient, form: &Form) -> OAuthResult<Value> {
    let runtime = &state.oauth;
    let now = state.clock.now();
    let invalid = || OAuthError::invalid_grant("The refresh token is invalid, expired or revoked.");
    let secret = OpaqueSecret::parse(form.require("refresh_token")?).ok_or_else(invalid)?;
    let requested = form.get("scope")?;
    let token = state.store.refresh_token_by_hash(&secret.hash()).await?.ok_or_else(invalid)?;
    if !token.hash.matches(&secret.hash()) || token.client_id != client.id {
        return Err(invalid());
    }
    // RFC 6749 §6: the scope may only narrow.
    let scopes = match requested {
        Some(text) => {
            let asked = ScopeSet::parse_delimited(text).map_err(|e| OAuthError::invalid_scope(e.0))?;
            if !asked.is_subset_of(token.scopes) {
                return Err(OAuthError::invalid_scope(format!(
                    "A refresh cannot add scopes: {} was not granted.",
                    asked.difference(token.scopes).to_space_delimited()
                )));
            }
            asked
        }
        None => token.scopes,
    };
    // A first judgement from what we read, to refuse early without minting anything; the store makes the
    // binding decision atomically below, since another node may rotate the same token meanwhile.
    match judge_refresh(&token, now, runtime.settings.refresh_grace_secs) {
        RefreshVerdict::Revoked | RefreshVerdict::Expired => Err(invalid()),
        RefreshVerdict::Replay => {
            revoke_family(state, &token.family_id, now).await?;
            tracing::warn!(client_id = %client.id, "refresh token replayed after the grace window; family revoked");
            Err(invalid())
        }
        RefreshVerdict::Rotate | RefreshVerdict::GraceRetry => rotate(state, client, &token, scopes, now).await,
    }
}

/// Mints the new pair, then lets the store decide, under the family's lock, whether this request rotates
/// the token, retries a rotation inside the grace window, or replays it (RFC 9700 §4.14.2).
async fn rotate(state: &AppState, client: &OAuthClient, old: &RefreshToken, scopes: ScopeSet, now: Timestamp) -> OAuthResult<Value> {
    let runtime = &state.oauth;
    let invalid = || OAuthError::invalid_grant("The refresh token is invalid, expired or revoked.");
    let grant = state.store.grant_by_id(old.grant_id).await?.ok_or_else(invalid)?;
    let user: User = state.store.user_by_id(old.user_id).await?.ok_or_else(invalid)?;
    let ring = runtime.ring().await.map_err(internal)?;
    let subject = Subject {
        client,
        user: Some(&user),
        scopes,
        organization_id: old.organization_id,
        family_id: &old.family_id,
        auth_time: Some(old.auth_time),
    };
    let (access, _) = issue::access_token(runtime, &ring, &subject, now)?;
    let mut body = token_body(state, &access, scopes);
    // OIDC Core §12.2: a refresh may return a new ID token, without a nonce.
    if has(scopes, "openid") {
        let id = issue::id_token(runtime, &ring, client, &user, scopes, None, old.auth_time, &access, now)?;
        body["id_token"] = json!(id);
    }
    // RFC 6749 §6: the new refresh token keeps the original scope.
    let (secret, row) = issue::refresh_token(
        runtime, client, &user, grant.id, &old.family_id, Some(old.hash), old.scopes, old.organization_id, old.auth_time, now,
    );
    match state.store.rotate_refresh_token(&old.hash, &row, runtime.settings.refresh_grace_secs, now).await? {
        Rotation::Rotated | Rotation::Retried => {}
        Rotation::Replayed => {
            revoke_family(state, &old.family_id, now).await?;
            tracing::warn!(client_id = %client.id, "refresh token replayed; family revoked");
            return Err(invalid());
        }
        Rotation::Revoked => return Err(invalid()),
    }
    // The store noted the grant's use in the rotation's own commit.
    body["refresh_token"] = json!(secret.reveal());
    Ok(body)
}

/// The family a client's `client_credentials` tokens share. Creating a family per grant cost a durable write
/// (an fsync on SQLite) per token request; one live family per client costs a read. Revoking the client
/// (rejection, deletion) revokes this family with every token in it; revoking one access token (RFC 7009)
/// revokes only that token, by its `jti`. A revoked family is replaced by a new one on the next grant.
async fn client_credentials_family(state: &AppState, client: &OAuthClient, now: Timestamp) -> OAuthResult<String> {
    let runtime = &state.oauth;
    if let Some(id) = runtime.client_families.get(client.id.as_str())
        && state.store.family(&id).await?.is_some_and(|family| family.revoked_at.is_none())
    {
        return Ok(id);
    }
    let family = TokenFamily { id: random_id(), client_id: client.id.clone(), user_id: None, grant_id: None, created: now, revoked_at: None };
    state.store.insert_family(&family).await?;
    runtime.client_families.insert(client.id.as_str().to_string(), family.id.clone());
    Ok(family.id)
}

/// RFC 6749 §4.4: a confidential client acting as itself, within the scopes it was approved for.
async fn client_credentials(state: &AppState, client: &OAuthClient, form: &Form) -> OAuthResult<Value> {
    if client.client_type != ClientType::Confidential {
        return Err(OAuthError::unauthorized_client("Only confidential clients may use client_credentials."));
    }
    let runtime = &state.oauth;
    let now = state.clock.now();
    let scopes = match form.get("scope")? {
        Some(text) => {
            let asked = ScopeSet::parse_delimited(text).map_err(|e| OAuthError::invalid_scope(e.0))?;
            if !asked.is_subset_of(client.scopes) || asked.iter().any(|s| !s.is_api_scope()) {
                return Err(OAuthError::invalid_scope(format!(
                    "The client is not approved for: {}.",
                    asked.difference(client.scopes.intersection(ScopeSet::all_api_scopes())).to_space_delimited()
                )));
            }
            asked
        }
        None => client.scopes.intersection(ScopeSet::all_api_scopes()),
    };
    let family_id = client_credentials_family(state, client, now).await?;
    let ring = runtime.ring().await.map_err(internal)?;
    let subject = Subject { client, user: None, scopes, organization_id: None, family_id: &family_id, auth_time: None };
    let (access, _) = issue::access_token(runtime, &ring, &subject, now)?;
    Ok(token_body(state, &access, scopes))
}
