//! `/users/me/api-tokens`: Make's token CRUD. Tokens are keyed by `created` and never edited.

use axum::extract::{Path, State};
use axum::Json;
use gatehouse_app::api_tokens::TokenRequest;
use gatehouse_domain::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::views::{self, ListedToken};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, MakeErrorBody};
use crate::extract::MakeJson;
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenList {
    api_tokens: Vec<ListedToken>,
}

/// The caller's API tokens, masked.
#[utoipa::path(get, path = "/api/v2/users/me/api-tokens", tag = "api-tokens", operation_id = "api-tokens-list",
    responses((status = 200, description = "The caller's tokens.", body = TokenList)))]
pub async fn list(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<TokenList>> {
    let tokens = state.app.list_api_tokens(caller.user_id).await?;
    let api_tokens = tokens.iter().map(|listed| views::listed_token_view(&listed.token, listed.last_used)).collect();
    Ok(Json(TokenList { api_tokens }))
}

#[derive(Deserialize, ToSchema)]
pub struct CreateTokenBody {
    label: String,
    /// Scope names from `GET /enums/user-api-token-scopes`; never more than the caller's own.
    scope: Vec<String>,
    /// Beyond Make: an optional ISO-8601 expiry.
    #[serde(default)]
    #[schema(format = DateTime)]
    expires: Option<String>,
}

/// A new token: its secret is in this answer and nowhere else, ever.
#[derive(Serialize, ToSchema)]
pub struct CreatedToken {
    /// The secret: a version 4 UUID, sent as `Authorization: Token <uuid>`.
    #[schema(format = "uuid")]
    token: String,
    label: String,
    scope: Vec<&'static str>,
    #[schema(format = DateTime)]
    created: String,
    #[schema(format = DateTime)]
    expires: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenCreated {
    api_token: CreatedToken,
}

/// Creates an API token for the caller, with at most the caller's scopes.
#[utoipa::path(post, path = "/api/v2/users/me/api-tokens", tag = "api-tokens", operation_id = "api-tokens-create",
    request_body = CreateTokenBody,
    responses(
        (status = 200, description = "The new token, with its secret.", body = TokenCreated),
        (status = 400, description = "Invalid label, scope or expiry (IM005).", body = MakeErrorBody),
    ))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    MakeJson(body): MakeJson<CreateTokenBody>,
) -> ApiResult<Json<TokenCreated>> {
    let expires_at = match body.expires.as_deref() {
        None => None,
        Some(text) => Some(
            Timestamp::parse_iso(text).ok_or_else(|| ApiError::invalid_input("expires must be an ISO-8601 timestamp."))?,
        ),
    };
    let request = TokenRequest { label: &body.label, scopes: &body.scope, expires_at };
    let (secret, stored) = state.app.issue_api_token(&caller, request).await?;
    Ok(Json(TokenCreated {
        api_token: CreatedToken {
            token: secret.reveal(),
            label: stored.label.as_str().to_string(),
            scope: stored.scopes.names(),
            created: stored.created.to_iso(),
            expires: stored.expires_at.map(Timestamp::to_iso),
        },
    }))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenDeleted {
    /// The deleted token's `created`.
    #[schema(format = DateTime)]
    api_token: String,
}

/// Deletes one of the caller's tokens; it stops working on every node.
#[utoipa::path(delete, path = "/api/v2/users/me/api-tokens/{created}", tag = "api-tokens", operation_id = "api-tokens-delete",
    params(("created" = String, Path, format = DateTime, description = "The token's `created` timestamp, e.g. 2020-03-27T05:53:27.368Z.")),
    responses(
        (status = 200, description = "The token is deleted.", body = TokenDeleted),
        (status = 400, description = "Not a timestamp (IM005).", body = MakeErrorBody),
        (status = 404, description = "No such token of the caller's.", body = MakeErrorBody),
    ))]
pub async fn delete(State(state): State<AppState>, caller: Caller, Path(created): Path<String>) -> ApiResult<Json<TokenDeleted>> {
    let created = Timestamp::parse_iso(&created).ok_or_else(|| {
        ApiError::invalid_input("A token is identified by its created timestamp, e.g. 2020-03-27T05:53:27.368Z.")
    })?;
    let deleted = state.app.delete_api_token(&caller.actor, created).await?;
    Ok(Json(TokenDeleted { api_token: deleted.created.to_iso() }))
}
