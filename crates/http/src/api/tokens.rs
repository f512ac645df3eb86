//! `/users/me/api-tokens`: Make's token CRUD. Tokens are keyed by `created` and never edited.

use axum::extract::{Path, State};
use axum::Json;
use gatehouse_domain::{ApiToken, ApiTokenSecret, NewApiTokenRequest, Timestamp};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::api::views;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::MakeJson;
use crate::state::AppState;

pub async fn list(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Value>> {
    let tokens = state.store.api_tokens_of_user(caller.user_id).await?;
    let listed: Vec<Value> = tokens
        .iter()
        .map(|token| {
            let pending = state.auth.usage.pending_for(&token.hash);
            views::listed_token(token, pending.max(token.last_used))
        })
        .collect();
    Ok(Json(json!({ "apiTokens": listed })))
}

#[derive(Deserialize)]
pub struct CreateTokenBody {
    label: String,
    scope: Vec<String>,
    /// Beyond Make: an optional ISO-8601 expiry.
    #[serde(default)]
    expires: Option<String>,
}

pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    MakeJson(body): MakeJson<CreateTokenBody>,
) -> ApiResult<Json<Value>> {
    if caller.is_oauth() {
        // An API token would outlive the grant and escape its organization limit: an app that was given
        // user:write must not be able to mint one.
        return Err(ApiError::forbidden("OAuth access tokens cannot create API tokens."));
    }
    let now = state.clock.now();
    let expires_at = match body.expires.as_deref() {
        None => None,
        Some(text) => Some(
            Timestamp::parse_iso(text)
                .ok_or_else(|| ApiError::invalid_input("expires must be an ISO-8601 timestamp."))?,
        ),
    };
    let request = NewApiTokenRequest::new(&body.label, &body.scope, expires_at, now)?;
    let (secret, stored) = issue_api_token(&state.store, &state.config.zone, caller.user_id, request, now).await?;
    Ok(Json(json!({
        "apiToken": {
            "token": secret.reveal(),
            "label": stored.label.as_str(),
            "scope": stored.scopes.names(),
            "created": stored.created.to_iso(),
            "expires": views::iso(stored.expires_at),
        }
    })))
}

/// Creates and stores a token for `user` in `zone`; the secret is returned to be shown once. The CLI
/// issues tokens through this too.
pub async fn issue_api_token(
    store: &gatehouse_store::DynStore,
    zone: &str,
    user: gatehouse_domain::UserId,
    request: NewApiTokenRequest,
    now: Timestamp,
) -> Result<(ApiTokenSecret, ApiToken), gatehouse_store::StoreError> {
    let secret = ApiTokenSecret::generate();
    let token = ApiToken {
        user_id: user,
        created: now,
        label: request.label,
        scopes: request.scopes,
        hash: secret.hash(),
        prefix: secret.prefix(),
        zone: zone.to_string(),
        expires_at: request.expires_at,
        last_used: None,
    };
    let stored = store.insert_api_token(&token).await?;
    Ok((secret, stored))
}

pub async fn delete(State(state): State<AppState>, caller: Caller, Path(created): Path<String>) -> ApiResult<Json<Value>> {
    let created = Timestamp::parse_iso(&created).ok_or_else(|| {
        ApiError::invalid_input("A token is identified by its created timestamp, e.g. 2020-03-27T05:53:27.368Z.")
    })?;
    let deleted = state
        .store
        .delete_api_token(caller.user_id, created, state.clock.now())
        .await?
        .ok_or_else(|| ApiError::not_found("No API token of yours was created at that time."))?;
    state.auth.invalidate(&deleted.hash);
    Ok(Json(json!({ "apiToken": deleted.created.to_iso() })))
}
