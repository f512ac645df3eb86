//! Administration resources: platform administrators only, with administration scopes.

use axum::extract::{Path, State};
use axum::Json;
use gatehouse_domain::UserId;
use serde_json::{Value, json};

use crate::api::views;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{MakeQuery, page_echo, path_id};
use crate::state::AppState;

pub async fn users(State(state): State<AppState>, query: MakeQuery) -> ApiResult<Json<Value>> {
    let page = query.page()?;
    let users = state.app.list_users(page).await?;
    let listed: Vec<Value> = users
        .iter()
        .map(|user| {
            let mut view = views::auth_user(user);
            view["isAdmin"] = json!(user.is_admin);
            query.select(view)
        })
        .collect();
    Ok(Json(json!({ "users": listed, "pg": page_echo(page) })))
}

pub async fn organizations(State(state): State<AppState>, query: MakeQuery) -> ApiResult<Json<Value>> {
    let page = query.page()?;
    let orgs = state.app.all_organizations(page).await?;
    let listed: Vec<Value> = orgs.iter().map(|org| query.select(views::organization(org))).collect();
    Ok(Json(json!({ "organizations": listed, "pg": page_echo(page) })))
}

/// Deletes a user platform-wide: their tokens stop working on every node.
pub async fn delete_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    query: MakeQuery,
) -> ApiResult<Json<Value>> {
    let id = UserId(path_id(&id, "user")?);
    if id == caller.user_id {
        return Err(ApiError::invalid_input("Administrators cannot delete their own account here."));
    }
    if !query.is_true("confirmed") {
        return Err(ApiError::confirmation_required("a user"));
    }
    state.app.delete_user(id, Some(&caller)).await?;
    Ok(Json(json!({ "user": id.0 })))
}

/// Platform settings (read-only): what `system:read` covers here.
pub async fn system(State(state): State<AppState>) -> Json<Value> {
    Json(json!({
        "system": {
            "zone": state.app.settings.zone,
            "issuer": state.app.settings.issuer,
            "backend": state.app.store.backend(),
            "version": env!("CARGO_PKG_VERSION"),
        }
    }))
}
