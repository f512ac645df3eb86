use axum::extract::State;
use axum::Json;
use serde_json::{Value, json};

use crate::api::views;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::MakeQuery;
use crate::state::AppState;

pub async fn me(State(state): State<AppState>, caller: Caller, query: MakeQuery) -> ApiResult<Json<Value>> {
    let user = state
        .store
        .user_by_id(caller.user_id)
        .await?
        .ok_or_else(|| ApiError::unauthorized("The credential's user no longer exists.", Some("invalid_token")))?;
    Ok(Json(json!({ "authUser": query.select(views::auth_user(&user)) })))
}

pub async fn current_authorization(caller: Caller) -> Json<Value> {
    Json(json!({
        "authorization": {
            "authUsed": caller.method.auth_used(),
            "scope": caller.scopes.names(),
        }
    }))
}
