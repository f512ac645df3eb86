//! Administration resources: platform administrators only, with administration scopes.

use axum::extract::State;
use axum::Json;
use serde_json::{Value, json};

use crate::api::views;
use crate::error::ApiResult;
use crate::extract::{MakeQuery, page_echo};
use crate::state::AppState;

pub async fn users(State(state): State<AppState>, query: MakeQuery) -> ApiResult<Json<Value>> {
    let page = query.page()?;
    let users = state.store.list_users(page).await?;
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
    let orgs = state.store.list_organizations(page).await?;
    let listed: Vec<Value> = orgs.iter().map(|org| query.select(views::organization(org))).collect();
    Ok(Json(json!({ "organizations": listed, "pg": page_echo(page) })))
}

/// Deletes a user platform-wide: their tokens stop working on every node within the revocation feed's
/// interval. An administrator cannot delete themselves, so a platform never loses its last way in by accident.
pub async fn delete_user(
    State(state): State<AppState>,
    caller: crate::auth::Caller,
    axum::extract::Path(id): axum::extract::Path<String>,
    query: MakeQuery,
) -> ApiResult<Json<Value>> {
    let id = crate::extract::path_id(&id, "user")?;
    if id == caller.user_id.0 {
        return Err(crate::error::ApiError::invalid_input("Administrators cannot delete their own account here."));
    }
    if !query.is_true("confirmed") {
        return Err(crate::error::ApiError::confirmation_required("a user"));
    }
    if !state.store.delete_user(gatehouse_domain::UserId(id), state.clock.now()).await? {
        return Err(crate::error::ApiError::not_found("The user does not exist."));
    }
    state.auth.invalidate_all();
    Ok(Json(json!({ "user": id })))
}

/// Platform settings (read-only): what `system:read` covers here.
pub async fn system(State(state): State<AppState>) -> Json<Value> {
    Json(json!({
        "system": {
            "zone": state.config.zone,
            "issuer": state.config.issuer,
            "backend": state.store.backend(),
            "version": env!("CARGO_PKG_VERSION"),
        }
    }))
}
