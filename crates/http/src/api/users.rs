use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{Value, json};

use crate::api::views;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::MakeQuery;
use crate::state::AppState;

pub async fn me(State(state): State<AppState>, caller: Caller, query: MakeQuery) -> ApiResult<Json<Value>> {
    let user = state
        .app
        .user(caller.user_id)
        .await?
        .ok_or_else(|| ApiError::unauthorized("The credential's user no longer exists.", Some("invalid_token")))?;
    Ok(Json(json!({ "authUser": query.select(views::auth_user(&user)) })))
}

/// `current-authorization` is what a resource server calls on every request to learn what a credential
/// may do. Profiling showed serde_json's escaping of fifty scope names as the largest cost of the request,
/// so a credential's body is rendered once per scope set and shared (see `rendered`), and
/// the fallback writes it into one buffer of exact size, without a JSON tree or a string per scope.
pub async fn current_authorization(caller: Caller) -> Response {
    let body = match caller.authorization_body {
        Some(body) => body,
        None => crate::rendered::current_authorization_body(caller.method.auth_used(), caller.scopes),
    };
    ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], body).into_response()
}
