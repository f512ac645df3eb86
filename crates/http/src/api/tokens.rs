//! `/users/me/api-tokens`: Make's token CRUD. Tokens are keyed by `created` and never edited.

use axum::extract::{Path, State};
use axum::Json;
use gatehouse_app::api_tokens::TokenRequest;
use gatehouse_domain::Timestamp;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::api::views;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::MakeJson;
use crate::state::AppState;

pub async fn list(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Value>> {
    let tokens = state.app.list_api_tokens(caller.user_id).await?;
    let listed: Vec<Value> = tokens.iter().map(|listed| views::listed_token(&listed.token, listed.last_used)).collect();
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
    let expires_at = match body.expires.as_deref() {
        None => None,
        Some(text) => Some(
            Timestamp::parse_iso(text).ok_or_else(|| ApiError::invalid_input("expires must be an ISO-8601 timestamp."))?,
        ),
    };
    let request = TokenRequest { label: &body.label, scopes: &body.scope, expires_at };
    let (secret, stored) = state.app.issue_api_token(&caller, request).await?;
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

pub async fn delete(State(state): State<AppState>, caller: Caller, Path(created): Path<String>) -> ApiResult<Json<Value>> {
    let created = Timestamp::parse_iso(&created).ok_or_else(|| {
        ApiError::invalid_input("A token is identified by its created timestamp, e.g. 2020-03-27T05:53:27.368Z.")
    })?;
    let deleted = state.app.delete_api_token(&caller.actor, created).await?;
    Ok(Json(json!({ "apiToken": deleted.created.to_iso() })))
}
