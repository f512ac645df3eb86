use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::Json;
use gatehouse_app::profile::ProfileChanges;
use gatehouse_app::roles::{OrganizationRoleHeld, TeamRoleHeld};
use gatehouse_app::AppError;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::api::views::{self, AuthUser};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, MakeErrorBody};
use crate::extract::{MakeJson, MakeQuery};
use crate::openapi::{Columns, Confirmed};
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MeResponse {
    /// Only the columns asked for with `cols[]`, if any.
    #[schema(value_type = AuthUser)]
    auth_user: Value,
}

/// A user's role in an organization (Make's `userOrganizationRole`).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserOrganizationRole {
    pub user_id: i64,
    pub organization_id: i64,
    /// The role's id in `GET /users/roles`.
    pub users_role_id: i64,
}

/// A user's role in a team (Make's `userTeamRole`).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserTeamRole {
    pub user_id: i64,
    pub team_id: i64,
    /// The role's id in `GET /users/roles`.
    pub users_role_id: i64,
}

pub fn organization_role_view(held: &OrganizationRoleHeld) -> UserOrganizationRole {
    UserOrganizationRole { user_id: held.user_id.0, organization_id: held.organization_id.0, users_role_id: held.role.id() }
}

pub fn team_role_view(held: &TeamRoleHeld) -> UserTeamRole {
    UserTeamRole { user_id: held.user_id.0, team_id: held.team_id.0, users_role_id: held.role.id() }
}

/// The caller's own account, with their organization and team roles (`userOrganizationRoles`,
/// `userTeamRoles`: what Make's SDK tells agents to read their `teamId` from). A credential limited to one
/// organization shows only its roles there.
#[utoipa::path(get, path = "/api/v2/users/me", tag = "users", operation_id = "users-me",
    params(Columns),
    responses((status = 200, description = "The caller's account.", body = MeResponse)))]
pub async fn me(State(state): State<AppState>, caller: Caller, query: MakeQuery) -> ApiResult<Json<MeResponse>> {
    let user = state
        .app
        .user(caller.user_id)
        .await?
        .ok_or_else(|| ApiError::unauthorized("The credential's user no longer exists.", Some("invalid_token")))?;
    let mut auth_user = views::auth_user(&user);
    let wanted = |column: &str| query.cols().is_none_or(|cols| cols.contains(&column));
    if wanted("userOrganizationRoles") {
        let held = state.app.user_organization_roles(&caller, user.id).await?;
        auth_user["userOrganizationRoles"] = views::to_value(held.iter().map(organization_role_view).collect::<Vec<_>>());
    }
    if wanted("userTeamRoles") {
        let held = state.app.user_team_roles(&caller, user.id).await?;
        auth_user["userTeamRoles"] = views::to_value(held.iter().map(team_role_view).collect::<Vec<_>>());
    }
    Ok(Json(MeResponse { auth_user: query.select(auth_user) }))
}

/// `PATCH /users/me`: what a user may change about themself. Ids are the catalogues' (`/enums/*`).
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProfileBody {
    #[serde(default)]
    name: Option<String>,
    /// An ISO 639-1 code of a language the locales are written in (`en`, `cs`, …).
    #[serde(default)]
    language: Option<String>,
    #[serde(default)]
    locale_id: Option<i64>,
    #[serde(default)]
    timezone_id: Option<i64>,
    #[serde(default)]
    country_id: Option<i64>,
}

/// Changes the caller's own name, language, locale, time zone or country.
#[utoipa::path(patch, path = "/api/v2/users/me", tag = "users", operation_id = "users-me-update",
    request_body = ProfileBody,
    responses(
        (status = 200, description = "The account as changed.", body = MeResponse),
        (status = 400, description = "An unknown field, or an id no catalogue has (IM005); nothing is changed.", body = MakeErrorBody),
    ))]
pub async fn update_me(State(state): State<AppState>, caller: Caller, MakeJson(body): MakeJson<ProfileBody>) -> ApiResult<Json<MeResponse>> {
    let changes = ProfileChanges {
        name: body.name,
        language: body.language,
        locale_id: body.locale_id,
        timezone_id: body.timezone_id,
        country_id: body.country_id,
    };
    let user = state.app.update_profile(&caller, changes).await?;
    Ok(Json(MeResponse { auth_user: views::auth_user(&user) }))
}

#[derive(Serialize, ToSchema)]
pub struct AccountDeleted {
    /// The deleted user's id.
    user: i64,
}

/// Deletes the caller's own account. Every credential it had (API tokens, browser sessions, OAuth grants
/// and their tokens) stops working at once on every node. Refused while the caller is the only owner of an
/// organization.
#[utoipa::path(delete, path = "/api/v2/users/me", tag = "users", operation_id = "users-me-delete",
    params(Confirmed),
    responses(
        (status = 200, description = "The account is deleted.", body = AccountDeleted),
        (status = 400, description = "Without confirmed=true (IM004).", body = MakeErrorBody),
        (status = 409, description = "The caller is the only owner of an organization.", body = MakeErrorBody),
    ))]
pub async fn delete_me(State(state): State<AppState>, caller: Caller, query: MakeQuery) -> ApiResult<Json<AccountDeleted>> {
    if !query.is_true("confirmed") {
        return Err(AppError::ConfirmationRequired("your own account").into());
    }
    state.app.delete_own_account(&caller).await?;
    Ok(Json(AccountDeleted { user: caller.user_id.0 }))
}

/// `current-authorization`'s body. The handler writes these bytes itself (see `rendered`); this type
/// describes them, and a test compares the two.
#[derive(Serialize, ToSchema)]
pub struct CurrentAuthorization {
    pub authorization: Authorization,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Authorization {
    /// How the caller authenticated: `token` for an API token, `oauth` for an OAuth access token.
    pub auth_used: &'static str,
    /// The credential's scopes.
    pub scope: Vec<&'static str>,
}

/// `current-authorization` is what a resource server calls on every request to learn what a credential
/// may do. Profiling showed serde_json's escaping of fifty scope names as the largest cost of the request,
/// so a credential's body is rendered once per scope set and shared (see `rendered`), and
/// the fallback writes it into one buffer of exact size, without a JSON tree or a string per scope.
#[utoipa::path(get, path = "/api/v2/users/me/current-authorization", tag = "users",
    operation_id = "users-me-current-authorization",
    responses((status = 200, description = "What the credential may do.", body = CurrentAuthorization)))]
pub async fn current_authorization(caller: Caller) -> Response {
    let body = match caller.authorization_body {
        Some(body) => body,
        None => crate::rendered::current_authorization_body(caller.method.auth_used(), caller.scopes),
    };
    ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], body).into_response()
}
