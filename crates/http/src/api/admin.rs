//! Administration resources: platform administrators only, with administration scopes.

use axum::extract::{Path, State};
use axum::Json;
use gatehouse_domain::UserId;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::api::views::{self, AdminUser, OrganizationView, PageEcho};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, MakeErrorBody};
use crate::extract::{MakeQuery, path_id};
use crate::openapi::{Columns, Confirmed, Paging};
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct UserList {
    /// Only the columns asked for with `cols[]`, if any.
    #[schema(value_type = Vec<AdminUser>)]
    users: Vec<Value>,
    pg: PageEcho,
}

/// Every user of the platform.
#[utoipa::path(get, path = "/api/v2/admin/users", tag = "admin", operation_id = "admin-users-list",
    params(Paging, Columns),
    responses(
        (status = 200, description = "A page of users.", body = UserList),
        (status = 400, description = "Invalid paging (IM005).", body = MakeErrorBody),
    ))]
pub async fn users(State(state): State<AppState>, query: MakeQuery) -> ApiResult<Json<UserList>> {
    let page = query.page()?;
    let users = state.app.list_users(page).await?;
    let users = users
        .iter()
        .map(|user| query.select(views::to_value(AdminUser { user: views::auth_user_view(user), is_admin: user.is_admin })))
        .collect();
    Ok(Json(UserList { users, pg: views::page_echo(page) }))
}

#[derive(Serialize, ToSchema)]
pub struct AllOrganizations {
    /// Only the columns asked for with `cols[]`, if any.
    #[schema(value_type = Vec<OrganizationView>)]
    organizations: Vec<Value>,
    pg: PageEcho,
}

/// Every organization of the platform.
#[utoipa::path(get, path = "/api/v2/admin/organizations", tag = "admin", operation_id = "admin-organizations-list",
    params(Paging, Columns),
    responses(
        (status = 200, description = "A page of organizations.", body = AllOrganizations),
        (status = 400, description = "Invalid paging (IM005).", body = MakeErrorBody),
    ))]
pub async fn organizations(State(state): State<AppState>, query: MakeQuery) -> ApiResult<Json<AllOrganizations>> {
    let page = query.page()?;
    let orgs = state.app.all_organizations(page).await?;
    let organizations = orgs.iter().map(|org| query.select(views::organization(org))).collect();
    Ok(Json(AllOrganizations { organizations, pg: views::page_echo(page) }))
}

#[derive(Serialize, ToSchema)]
pub struct UserDeleted {
    /// The deleted user's id.
    user: i64,
}

/// Deletes a user platform-wide: their tokens stop working on every node.
#[utoipa::path(delete, path = "/api/v2/admin/users/{id}", tag = "admin", operation_id = "admin-users-delete",
    params(("id" = i64, Path, minimum = 1, description = "The user's id."), Confirmed),
    responses(
        (status = 200, description = "The user is deleted.", body = UserDeleted),
        (status = 400, description = "Without confirmed=true (IM004), or the caller's own account (IM005).", body = MakeErrorBody),
        (status = 404, description = "No such user.", body = MakeErrorBody),
    ))]
pub async fn delete_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    query: MakeQuery,
) -> ApiResult<Json<UserDeleted>> {
    let id = UserId(path_id(&id, "user")?);
    if id == caller.user_id {
        return Err(ApiError::invalid_input("Administrators cannot delete their own account here."));
    }
    if !query.is_true("confirmed") {
        return Err(ApiError::confirmation_required("a user"));
    }
    state.app.delete_user(id, Some(&caller)).await?;
    Ok(Json(UserDeleted { user: id.0 }))
}

#[derive(Serialize, ToSchema)]
pub struct SystemSettings {
    /// The zone API tokens are issued for.
    zone: String,
    /// The OAuth issuer.
    issuer: String,
    /// `sqlite` or `postgres`.
    backend: &'static str,
    version: &'static str,
}

#[derive(Serialize, ToSchema)]
pub struct SystemView {
    system: SystemSettings,
}

/// Platform settings (read-only): what `system:read` covers here.
#[utoipa::path(get, path = "/api/v2/admin/system", tag = "admin", operation_id = "admin-system",
    responses((status = 200, description = "The platform's settings.", body = SystemView)))]
pub async fn system(State(state): State<AppState>) -> Json<SystemView> {
    Json(SystemView {
        system: SystemSettings {
            zone: state.app.settings.zone.clone(),
            issuer: state.app.settings.issuer.clone(),
            backend: state.app.store.backend(),
            version: env!("CARGO_PKG_VERSION"),
        },
    })
}
