//! Make's roles and memberships: the role catalogue (`/users/roles*`), custom roles (`/users/custom-roles*`),
//! who holds which role where (`/users/{userId}/user-organization-roles*`, `/users/{userId}/user-team-roles*`,
//! and the organization and team sides), the users of an organization or team, invitations and ownership
//! transfer. Every rule is in `gatehouse_app::roles`; these handlers parse and shape Make's JSON.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::Json;
use gatehouse_app::roles::{CatalogueRole, CustomRoleChanges, CustomRoleRequest, RoleQuery};
use gatehouse_domain::roles::{CustomRole, Invitation, Permission, RoleCategory};
use gatehouse_domain::{OrgRole, OrganizationId, TeamId, TeamRole, UserId};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::api::users::{UserOrganizationRole, UserTeamRole, organization_role_view, team_role_view};
use crate::api::views::{self, AuthUser, PageEcho};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, MakeErrorBody};
use crate::extract::{MakeJson, MakeQuery, path_id};
use crate::openapi::{Columns, Paging};
use crate::state::AppState;

/// A role as `GET /users/roles` lists it (Make's `Role`).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoleView {
    id: i64,
    name: String,
    /// A built-in role's machine-readable name; absent for custom roles.
    #[serde(skip_serializing_if = "Option::is_none")]
    identifier: Option<&'static str>,
    /// `organization` or `team`.
    category: &'static str,
    /// Whether users who are not platform administrators may assign it.
    subsidiary: bool,
    /// `system_locked`, `admin_managed` or `custom_managed`.
    management_type: &'static str,
    description: Option<String>,
    /// A custom role's organization; only `GET /users/roles/{id}` shows it.
    #[serde(skip_serializing_if = "Option::is_none")]
    organization_id: Option<i64>,
    /// The names of the permissions it grants.
    permissions: Vec<&'static str>,
}

fn role_view(role: &CatalogueRole, with_organization: bool) -> RoleView {
    let names = role.permissions().iter().map(|permission| permission.name()).collect();
    let (name, identifier, subsidiary, description, organization_id) = match role {
        CatalogueRole::Organization(role) => {
            (role.name().to_string(), Some(role.identifier()), role.subsidiary(), Some(role.description().to_string()), None)
        }
        CatalogueRole::Team(role) => (role.name().to_string(), Some(role.identifier()), true, Some(role.description().to_string()), None),
        CatalogueRole::Custom(role) => (role.name.clone(), None, true, role.description.clone(), Some(role.organization_id.0)),
    };
    RoleView {
        id: role.id(),
        name,
        identifier,
        category: role.category().as_str(),
        subsidiary,
        management_type: role.management_type().as_str(),
        description,
        organization_id: organization_id.filter(|_| with_organization),
        permissions: names,
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoleList {
    /// Only the columns asked for with `cols[]`, if any.
    #[schema(value_type = Vec<RoleView>)]
    users_roles: Vec<Value>,
}

fn optional_category(query: &MakeQuery, key: &str) -> Result<Option<RoleCategory>, ApiError> {
    query.get(key).filter(|text| !text.is_empty()).map(RoleCategory::parse).transpose().map_err(|error| ApiError::invalid_input(error.0))
}

/// The built-in organization and team roles, and the custom roles of the organization (or the team's
/// organization) named.
#[utoipa::path(get, path = "/api/v2/users/roles", tag = "roles", operation_id = "roles-list",
    params(
        ("category" = Option<String>, Query, description = "`organization` or `team`."),
        ("organizationId" = Option<i64>, Query, description = "Include this organization's custom roles."),
        ("teamId" = Option<i64>, Query, description = "Include the custom roles of this team's organization."),
        ("roleId" = Option<i64>, Query, description = "Only this role."),
        ("excludeRole[]" = Option<Vec<i64>>, Query, description = "Roles to leave out."),
        Columns),
    responses(
        (status = 200, description = "The roles.", body = RoleList),
        (status = 400, description = "An unknown category or a malformed id (IM005).", body = MakeErrorBody),
    ))]
pub async fn list(State(state): State<AppState>, caller: Caller, query: MakeQuery) -> ApiResult<Json<RoleList>> {
    let exclude = query
        .all("excludeRole[]")
        .into_iter()
        .chain(query.all("excludeRole"))
        .map(|text| text.parse::<i64>().map_err(|_| ApiError::invalid_input("excludeRole[] must be role ids.")))
        .collect::<Result<Vec<_>, _>>()?;
    let role_query = RoleQuery {
        category: optional_category(&query, "category")?,
        organization: query.optional_id("organizationId")?.map(OrganizationId),
        team: query.optional_id("teamId")?.map(TeamId),
        exclude,
        only: query.optional_id("roleId")?,
    };
    let roles = state.app.role_catalogue(&caller, role_query).await?;
    let users_roles = roles.iter().map(|role| query.select(views::to_value(role_view(role, false)))).collect();
    Ok(Json(RoleList { users_roles }))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoleFound {
    users_role: RoleView,
}

/// One role with its permissions.
#[utoipa::path(get, path = "/api/v2/users/roles/{id}", tag = "roles", operation_id = "roles-detail",
    params(("id" = i64, Path, minimum = 1, description = "The role's id.")),
    responses(
        (status = 200, description = "The role.", body = RoleFound),
        (status = 404, description = "No such role, or a custom role of an organization the caller is not in.", body = MakeErrorBody),
    ))]
pub async fn detail(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<Json<RoleFound>> {
    let role = state.app.catalogue_role(&caller, path_id(&id, "role")?).await?;
    Ok(Json(RoleFound { users_role: role_view(&role, true) }))
}

/// A permission a role may grant (Make's `RolePermission`).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PermissionView {
    id: i64,
    name: &'static str,
    note: &'static str,
    /// The group it is shown in.
    category: &'static str,
    /// `organization` or `team`.
    role_category: &'static str,
    label: &'static str,
    custom_roles_hidden: bool,
    /// Permissions a role must also grant to grant this one.
    requires: &'static [&'static str],
}

fn permission_view(permission: Permission) -> PermissionView {
    PermissionView {
        id: permission.id(),
        name: permission.name(),
        note: permission.note(),
        category: permission.group(),
        role_category: permission.role_category().as_str(),
        label: permission.label(),
        custom_roles_hidden: false,
        requires: permission.requires(),
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PermissionList {
    users_roles_permissions: Vec<PermissionView>,
}

/// Every permission a role may grant.
#[utoipa::path(get, path = "/api/v2/users/roles/permissions", tag = "roles", operation_id = "roles-permissions",
    params(("roleCategory" = Option<String>, Query, description = "`organization` or `team`.")),
    responses(
        (status = 200, description = "The permissions.", body = PermissionList),
        (status = 400, description = "An unknown category (IM005).", body = MakeErrorBody),
    ))]
pub async fn permissions(query: MakeQuery) -> ApiResult<Json<PermissionList>> {
    let category = optional_category(&query, "roleCategory")?;
    let users_roles_permissions = Permission::ALL
        .iter()
        .copied()
        .filter(|permission| category.is_none_or(|category| permission.role_category() == category))
        .map(permission_view)
        .collect();
    Ok(Json(PermissionList { users_roles_permissions }))
}

/// A custom role (Make's `CustomRole`).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CustomRoleView {
    id: i64,
    name: String,
    category: &'static str,
    /// Always `custom_managed`.
    management_type: &'static str,
    description: Option<String>,
    organization_id: i64,
    permissions: Vec<NamedPermission>,
}

#[derive(Serialize, ToSchema)]
pub struct NamedPermission {
    id: i64,
    name: &'static str,
}

fn custom_role_view(role: &CustomRole) -> CustomRoleView {
    CustomRoleView {
        id: role.id,
        name: role.name.clone(),
        category: role.category.as_str(),
        management_type: "custom_managed",
        description: role.description.clone(),
        organization_id: role.organization_id.0,
        permissions: role.permissions.iter().map(|permission| NamedPermission { id: permission.id(), name: permission.name() }).collect(),
    }
}

#[derive(Serialize, ToSchema)]
pub struct CustomRoleSaved {
    role: CustomRoleView,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CustomRoleList {
    custom_roles: Vec<CustomRoleView>,
}

/// An organization's custom roles.
#[utoipa::path(get, path = "/api/v2/users/custom-roles", tag = "roles", operation_id = "custom-roles-list",
    params(("organizationId" = i64, Query, minimum = 1, description = "The organization.")),
    responses(
        (status = 200, description = "Its custom roles.", body = CustomRoleList),
        (status = 404, description = "No such organization, or the caller is not a member.", body = MakeErrorBody),
    ))]
pub async fn custom_list(State(state): State<AppState>, caller: Caller, query: MakeQuery) -> ApiResult<Json<CustomRoleList>> {
    let org = OrganizationId(query.required_id("organizationId")?);
    let roles = state.app.role_catalogue(&caller, RoleQuery { organization: Some(org), ..RoleQuery::default() }).await?;
    let custom_roles = roles
        .iter()
        .filter_map(|role| match role {
            CatalogueRole::Custom(role) => Some(custom_role_view(role)),
            _ => None,
        })
        .collect();
    Ok(Json(CustomRoleList { custom_roles }))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CustomRoleCreateBody {
    name: String,
    /// `organization` or `team`.
    category: String,
    organization_id: i64,
    #[serde(default)]
    description: Option<String>,
    /// Ids of `GET /users/roles/permissions`, of the role's category.
    #[serde(default)]
    permissions: Vec<i64>,
}

/// Creates a custom role (`organization:roles:manage`).
#[utoipa::path(post, path = "/api/v2/users/custom-roles", tag = "roles", operation_id = "custom-roles-create",
    request_body = CustomRoleCreateBody,
    responses(
        (status = 200, description = "The new role.", body = CustomRoleSaved),
        (status = 400, description = "A bad name, category or permission (IM005).", body = MakeErrorBody),
        (status = 403, description = "The caller's role does not manage roles there.", body = MakeErrorBody),
    ))]
pub async fn custom_create(
    State(state): State<AppState>,
    caller: Caller,
    MakeJson(body): MakeJson<CustomRoleCreateBody>,
) -> ApiResult<Json<CustomRoleSaved>> {
    let request = CustomRoleRequest {
        organization: OrganizationId(body.organization_id),
        name: body.name,
        category: RoleCategory::parse(&body.category).map_err(|error| ApiError::invalid_input(error.0))?,
        description: body.description,
        permissions: body.permissions,
    };
    let role = state.app.create_custom_role(&caller, request).await?;
    Ok(Json(CustomRoleSaved { role: custom_role_view(&role) }))
}

/// `description: null` clears it; a missing field keeps it.
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(deserializer).map(Some)
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CustomRoleUpdateBody {
    organization_id: i64,
    #[serde(default)]
    name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    description: Option<Option<String>>,
    /// Replaces the permissions.
    #[serde(default)]
    permissions: Option<Vec<i64>>,
}

/// Changes a custom role (`organization:roles:manage`).
#[utoipa::path(patch, path = "/api/v2/users/custom-roles/{id}", tag = "roles", operation_id = "custom-roles-update",
    params(("id" = i64, Path, minimum = 1, description = "The custom role's id.")),
    request_body = CustomRoleUpdateBody,
    responses(
        (status = 200, description = "The role as changed.", body = CustomRoleSaved),
        (status = 404, description = "No such custom role in the organization.", body = MakeErrorBody),
    ))]
pub async fn custom_update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    MakeJson(body): MakeJson<CustomRoleUpdateBody>,
) -> ApiResult<Json<CustomRoleSaved>> {
    let changes = CustomRoleChanges { name: body.name, description: body.description, permissions: body.permissions };
    let role = state.app.update_custom_role(&caller, OrganizationId(body.organization_id), path_id(&id, "role")?, changes).await?;
    Ok(Json(CustomRoleSaved { role: custom_role_view(&role) }))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CustomRoleDeleteBody {
    organization_id: i64,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CustomRoleDeleted {
    role_id: i64,
}

/// Deletes a custom role (`organization:roles:manage`).
#[utoipa::path(delete, path = "/api/v2/users/custom-roles/{id}", tag = "roles", operation_id = "custom-roles-delete",
    params(("id" = i64, Path, minimum = 1, description = "The custom role's id.")),
    request_body = CustomRoleDeleteBody,
    responses(
        (status = 200, description = "The role is deleted.", body = CustomRoleDeleted),
        (status = 404, description = "No such custom role in the organization.", body = MakeErrorBody),
    ))]
pub async fn custom_delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    MakeJson(body): MakeJson<CustomRoleDeleteBody>,
) -> ApiResult<Json<CustomRoleDeleted>> {
    let role_id = state.app.delete_custom_role(&caller, OrganizationId(body.organization_id), path_id(&id, "role")?).await?;
    Ok(Json(CustomRoleDeleted { role_id }))
}

// Who holds which role where.

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrganizationRoleList {
    user_organization_roles: Vec<UserOrganizationRole>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrganizationRoleFound {
    user_organization_role: UserOrganizationRole,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TeamRoleList {
    user_team_roles: Vec<UserTeamRole>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TeamRoleFound {
    user_team_role: UserTeamRole,
}

fn user_id(text: &str) -> Result<UserId, ApiError> {
    Ok(UserId(path_id(text, "user")?))
}

/// A user's organization roles, in the organizations the caller shares with them and may see members of.
#[utoipa::path(get, path = "/api/v2/users/{userId}/user-organization-roles", tag = "memberships",
    operation_id = "user-organization-roles-list",
    params(("userId" = i64, Path, minimum = 1, description = "The user's id.")),
    responses((status = 200, description = "The roles.", body = OrganizationRoleList)))]
pub async fn user_organization_roles(State(state): State<AppState>, caller: Caller, Path(user): Path<String>) -> ApiResult<Json<OrganizationRoleList>> {
    let held = state.app.user_organization_roles(&caller, user_id(&user)?).await?;
    Ok(Json(OrganizationRoleList { user_organization_roles: held.iter().map(organization_role_view).collect() }))
}

/// One user's role in one organization.
#[utoipa::path(get, path = "/api/v2/users/{userId}/user-organization-roles/{organizationId}", tag = "memberships",
    operation_id = "user-organization-roles-detail",
    params(("userId" = i64, Path, minimum = 1, description = "The user's id."), ("organizationId" = i64, Path, minimum = 1, description = "The organization's id.")),
    responses(
        (status = 200, description = "The role.", body = OrganizationRoleFound),
        (status = 404, description = "Not a member, or not visible to the caller.", body = MakeErrorBody),
    ))]
pub async fn user_organization_role(
    State(state): State<AppState>,
    caller: Caller,
    Path((user, org)): Path<(String, String)>,
) -> ApiResult<Json<OrganizationRoleFound>> {
    let org = OrganizationId(path_id(&org, "organization")?);
    let held = state.app.user_organization_role(&caller, user_id(&user)?, org).await?;
    Ok(Json(OrganizationRoleFound { user_organization_role: organization_role_view(&held) }))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoleBody {
    /// A role id of `GET /users/roles`. Make: an empty body removes the user.
    #[serde(default)]
    users_role_id: Option<i64>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrganizationRoleSet {
    /// Null when the user was removed.
    user_organization_role: Option<UserOrganizationRole>,
}

fn organization_role(id: i64) -> Result<OrgRole, ApiError> {
    OrgRole::by_id(id).ok_or_else(|| ApiError::invalid_input(format!("usersRoleId {id} is not an organization role of GET /users/roles.")))
}

fn team_role(id: i64) -> Result<TeamRole, ApiError> {
    TeamRole::by_id(id).ok_or_else(|| ApiError::invalid_input(format!("usersRoleId {id} is not a team role of GET /users/roles.")))
}

/// Sets a member's organization role (`organization:members:manage`); an empty body removes them
/// (Make's behaviour). The owner role moves only by a transfer; the last owner is never demoted.
#[utoipa::path(post, path = "/api/v2/users/{userId}/user-organization-roles/{organizationId}", tag = "memberships",
    operation_id = "user-organization-roles-set",
    params(("userId" = i64, Path, minimum = 1, description = "The user's id."), ("organizationId" = i64, Path, minimum = 1, description = "The organization's id.")),
    request_body = RoleBody,
    responses(
        (status = 200, description = "The role as set.", body = OrganizationRoleSet),
        (status = 403, description = "The caller's role does not manage users, or the change needs an owner.", body = MakeErrorBody),
        (status = 409, description = "It would leave the organization without an owner.", body = MakeErrorBody),
    ))]
pub async fn set_user_organization_role(
    State(state): State<AppState>,
    caller: Caller,
    Path((user, org)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult<Json<OrganizationRoleSet>> {
    let (user, org) = (user_id(&user)?, OrganizationId(path_id(&org, "organization")?));
    // Make: "If you send an empty request body, the user … will be removed from the organization."
    let body: RoleBody = if body.iter().all(u8::is_ascii_whitespace) {
        RoleBody { users_role_id: None }
    } else {
        serde_json::from_slice(&body).map_err(|error| ApiError::invalid_input(format!("Invalid body: {error}")))?
    };
    match body.users_role_id {
        Some(id) => {
            let held = state.app.set_user_organization_role(&caller, user, org, organization_role(id)?).await?;
            Ok(Json(OrganizationRoleSet { user_organization_role: Some(organization_role_view(&held)) }))
        }
        None => {
            state.app.remove_from_organization(&caller, user, org).await?;
            Ok(Json(OrganizationRoleSet { user_organization_role: None }))
        }
    }
}

/// Removes a user from an organization and its teams: leaving (the caller themself), or removal
/// (`organization:members:manage`). Their OAuth consents for it end on every node.
#[utoipa::path(delete, path = "/api/v2/users/{userId}/user-organization-roles/{organizationId}", tag = "memberships",
    operation_id = "user-organization-roles-remove",
    params(("userId" = i64, Path, minimum = 1, description = "The user's id."), ("organizationId" = i64, Path, minimum = 1, description = "The organization's id.")),
    responses(
        (status = 200, description = "The user is removed.", body = OrganizationRoleSet),
        (status = 409, description = "The user is the organization's only owner.", body = MakeErrorBody),
    ))]
pub async fn remove_user_organization_role(
    State(state): State<AppState>,
    caller: Caller,
    Path((user, org)): Path<(String, String)>,
) -> ApiResult<Json<OrganizationRoleSet>> {
    state.app.remove_from_organization(&caller, user_id(&user)?, OrganizationId(path_id(&org, "organization")?)).await?;
    Ok(Json(OrganizationRoleSet { user_organization_role: None }))
}

/// Every member's role in the organization (`organization:members:view`).
#[utoipa::path(get, path = "/api/v2/organizations/{id}/user-organization-roles", tag = "memberships",
    operation_id = "organization-user-roles-list",
    params(("id" = i64, Path, minimum = 1, description = "The organization's id."), Paging),
    responses((status = 200, description = "The roles.", body = OrganizationRoleList)))]
pub async fn organization_roles(State(state): State<AppState>, caller: Caller, Path(id): Path<String>, query: MakeQuery) -> ApiResult<Json<OrganizationRoleList>> {
    let held = state.app.organization_roles(&caller, OrganizationId(path_id(&id, "organization")?), query.page()?).await?;
    Ok(Json(OrganizationRoleList { user_organization_roles: held.iter().map(organization_role_view).collect() }))
}

/// One member's role, from the organization's side.
#[utoipa::path(get, path = "/api/v2/organizations/{id}/user-organization-roles/{userId}", tag = "memberships",
    operation_id = "organization-user-roles-detail",
    params(("id" = i64, Path, minimum = 1, description = "The organization's id."), ("userId" = i64, Path, minimum = 1, description = "The user's id.")),
    responses((status = 200, description = "The role.", body = OrganizationRoleFound)))]
pub async fn organization_role_of_user(
    State(state): State<AppState>,
    caller: Caller,
    Path((org, user)): Path<(String, String)>,
) -> ApiResult<Json<OrganizationRoleFound>> {
    let held = state.app.user_organization_role(&caller, user_id(&user)?, OrganizationId(path_id(&org, "organization")?)).await?;
    Ok(Json(OrganizationRoleFound { user_organization_role: organization_role_view(&held) }))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TransferBody {
    /// The member who becomes an owner.
    user_id: i64,
}

/// Makes another member an owner; the caller, an owner, becomes an admin (Make's transfer).
#[utoipa::path(post, path = "/api/v2/organizations/{id}/user-organization-roles/transfer", tag = "memberships",
    operation_id = "organization-transfer-ownership",
    params(("id" = i64, Path, minimum = 1, description = "The organization's id.")),
    request_body = TransferBody,
    responses(
        (status = 200, description = "The new owner's role.", body = OrganizationRoleFound),
        (status = 403, description = "The caller is not an owner.", body = MakeErrorBody),
        (status = 404, description = "The new owner is not a member.", body = MakeErrorBody),
    ))]
pub async fn transfer_ownership(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    MakeJson(body): MakeJson<TransferBody>,
) -> ApiResult<Json<OrganizationRoleFound>> {
    let org = OrganizationId(path_id(&id, "organization")?);
    let to = UserId(body.user_id);
    state.app.transfer_ownership(&caller, org, to).await?;
    let held = state.app.user_organization_role(&caller, to, org).await?;
    Ok(Json(OrganizationRoleFound { user_organization_role: organization_role_view(&held) }))
}

/// A user's team roles, in the organizations the caller shares with them and may see members of.
#[utoipa::path(get, path = "/api/v2/users/{userId}/user-team-roles", tag = "memberships", operation_id = "user-team-roles-list",
    params(("userId" = i64, Path, minimum = 1, description = "The user's id.")),
    responses((status = 200, description = "The roles.", body = TeamRoleList)))]
pub async fn user_team_roles(State(state): State<AppState>, caller: Caller, Path(user): Path<String>) -> ApiResult<Json<TeamRoleList>> {
    let held = state.app.user_team_roles(&caller, user_id(&user)?).await?;
    Ok(Json(TeamRoleList { user_team_roles: held.iter().map(team_role_view).collect() }))
}

/// One user's role in one team.
#[utoipa::path(get, path = "/api/v2/users/{userId}/user-team-roles/{teamId}", tag = "memberships", operation_id = "user-team-roles-detail",
    params(("userId" = i64, Path, minimum = 1, description = "The user's id."), ("teamId" = i64, Path, minimum = 1, description = "The team's id.")),
    responses((status = 200, description = "The role.", body = TeamRoleFound)))]
pub async fn user_team_role(State(state): State<AppState>, caller: Caller, Path((user, team)): Path<(String, String)>) -> ApiResult<Json<TeamRoleFound>> {
    let held = state.app.user_team_role(&caller, user_id(&user)?, TeamId(path_id(&team, "team")?)).await?;
    Ok(Json(TeamRoleFound { user_team_role: team_role_view(&held) }))
}

/// Adds a member of the team's organization to the team with a role, or changes it
/// (`team:members:manage`). An empty body removes them (as Make does for organizations).
#[utoipa::path(post, path = "/api/v2/users/{userId}/user-team-roles/{teamId}", tag = "memberships", operation_id = "user-team-roles-set",
    params(("userId" = i64, Path, minimum = 1, description = "The user's id."), ("teamId" = i64, Path, minimum = 1, description = "The team's id.")),
    request_body = RoleBody,
    responses(
        (status = 200, description = "The role as set.", body = TeamRoleFound),
        (status = 403, description = "The caller's role does not manage the team's users.", body = MakeErrorBody),
    ))]
pub async fn set_user_team_role(
    State(state): State<AppState>,
    caller: Caller,
    Path((user, team)): Path<(String, String)>,
    MakeJson(body): MakeJson<RoleBody>,
) -> ApiResult<Json<TeamRoleFound>> {
    let (user, team) = (user_id(&user)?, TeamId(path_id(&team, "team")?));
    let id = body.users_role_id.ok_or_else(|| ApiError::invalid_input("usersRoleId is required: a team role of GET /users/roles."))?;
    let held = state.app.set_user_team_role(&caller, user, team, team_role(id)?).await?;
    Ok(Json(TeamRoleFound { user_team_role: team_role_view(&held) }))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TeamRoleRemoved {
    /// Always null.
    user_team_role: Option<UserTeamRole>,
}

/// Removes a user from a team: leaving (the caller themself), or removal (`team:members:manage`).
#[utoipa::path(delete, path = "/api/v2/users/{userId}/user-team-roles/{teamId}", tag = "memberships", operation_id = "user-team-roles-remove",
    params(("userId" = i64, Path, minimum = 1, description = "The user's id."), ("teamId" = i64, Path, minimum = 1, description = "The team's id.")),
    responses((status = 200, description = "The user is removed from the team.", body = TeamRoleRemoved)))]
pub async fn remove_user_team_role(State(state): State<AppState>, caller: Caller, Path((user, team)): Path<(String, String)>) -> ApiResult<Json<TeamRoleRemoved>> {
    state.app.remove_from_team(&caller, user_id(&user)?, TeamId(path_id(&team, "team")?)).await?;
    Ok(Json(TeamRoleRemoved { user_team_role: None }))
}

/// Every member's role in the team (`team:members:view`).
#[utoipa::path(get, path = "/api/v2/teams/{id}/user-team-roles", tag = "memberships", operation_id = "team-user-roles-list",
    params(("id" = i64, Path, minimum = 1, description = "The team's id."), Paging),
    responses((status = 200, description = "The roles.", body = TeamRoleList)))]
pub async fn team_roles(State(state): State<AppState>, caller: Caller, Path(id): Path<String>, query: MakeQuery) -> ApiResult<Json<TeamRoleList>> {
    let team = TeamId(path_id(&id, "team")?);
    let users = state.app.team_users(&caller, team, query.page()?).await?;
    let user_team_roles = users.iter().map(|(user, role)| UserTeamRole { user_id: user.id.0, team_id: team.0, users_role_id: role.id() }).collect();
    Ok(Json(TeamRoleList { user_team_roles }))
}

/// One member's role, from the team's side.
#[utoipa::path(get, path = "/api/v2/teams/{id}/user-team-roles/{userId}", tag = "memberships", operation_id = "team-user-roles-detail",
    params(("id" = i64, Path, minimum = 1, description = "The team's id."), ("userId" = i64, Path, minimum = 1, description = "The user's id.")),
    responses((status = 200, description = "The role.", body = TeamRoleFound)))]
pub async fn team_role_of_user(State(state): State<AppState>, caller: Caller, Path((team, user)): Path<(String, String)>) -> ApiResult<Json<TeamRoleFound>> {
    let held = state.app.user_team_role(&caller, user_id(&user)?, TeamId(path_id(&team, "team")?)).await?;
    Ok(Json(TeamRoleFound { user_team_role: team_role_view(&held) }))
}

/// A user of an organization or team, with their role there.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MemberView {
    #[serde(flatten)]
    user: AuthUser,
    /// The role's id in `GET /users/roles`.
    users_role_id: i64,
}

#[derive(Serialize, ToSchema)]
pub struct UserList {
    /// Only the columns asked for with `cols[]`, if any.
    #[schema(value_type = Vec<MemberView>)]
    users: Vec<Value>,
    pg: PageEcho,
}

/// The users of an organization (`organizationId`, `organization:members:view`) or a team (`teamId`,
/// `team:members:view`), with their roles there.
#[utoipa::path(get, path = "/api/v2/users", tag = "memberships", operation_id = "users-list",
    params(
        ("organizationId" = Option<i64>, Query, description = "The organization whose users to list."),
        ("teamId" = Option<i64>, Query, description = "The team whose users to list."),
        Paging, Columns),
    responses(
        (status = 200, description = "A page of users.", body = UserList),
        (status = 400, description = "Neither organizationId nor teamId (IM005).", body = MakeErrorBody),
    ))]
pub async fn users(State(state): State<AppState>, caller: Caller, query: MakeQuery) -> ApiResult<Json<UserList>> {
    let page = query.page()?;
    let members: Vec<MemberView> = match (query.optional_id("organizationId")?, query.optional_id("teamId")?) {
        (Some(org), _) => state
            .app
            .organization_users(&caller, OrganizationId(org), page)
            .await?
            .iter()
            .map(|(user, role)| MemberView { user: views::auth_user_view(user), users_role_id: role.id() })
            .collect(),
        (None, Some(team)) => state
            .app
            .team_users(&caller, TeamId(team), page)
            .await?
            .iter()
            .map(|(user, role)| MemberView { user: views::auth_user_view(user), users_role_id: role.id() })
            .collect(),
        (None, None) => return Err(ApiError::invalid_input("Name the organizationId or the teamId whose users to list.")),
    };
    let users = members.into_iter().map(|member| query.select(views::to_value(member))).collect();
    Ok(Json(UserList { users, pg: views::page_echo(page) }))
}

// Invitations.

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InvitationView {
    id: i64,
    organization_id: i64,
    /// The organization's name, for the invitee.
    #[serde(skip_serializing_if = "Option::is_none")]
    organization_name: Option<String>,
    email: String,
    users_role_id: i64,
    #[schema(format = DateTime)]
    created: String,
}

fn invitation_view(invitation: &Invitation, organization_name: Option<String>) -> InvitationView {
    InvitationView {
        id: invitation.id,
        organization_id: invitation.organization_id.0,
        organization_name,
        email: invitation.email.as_str().to_string(),
        users_role_id: invitation.role.id(),
        created: invitation.created.to_iso(),
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InviteBody {
    email: String,
    /// An organization role of `GET /users/roles` other than Owner.
    users_role_id: i64,
    /// Make sends the invitee's name; it is not kept (the invitee names themself).
    #[serde(default)]
    #[allow(dead_code)]
    name: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct InvitationSaved {
    invitation: InvitationView,
}

/// Invites an email to the organization (`organization:members:manage`). The invitee accepts with
/// `POST /organizations/{id}/accept-invitation`, signed in with that email. No email is sent.
#[utoipa::path(post, path = "/api/v2/organizations/{id}/invite", tag = "memberships", operation_id = "organization-invite",
    params(("id" = i64, Path, minimum = 1, description = "The organization's id.")),
    request_body = InviteBody,
    responses(
        (status = 200, description = "The invitation.", body = InvitationSaved),
        (status = 409, description = "The email already belongs to a member.", body = MakeErrorBody),
    ))]
pub async fn invite(State(state): State<AppState>, caller: Caller, Path(id): Path<String>, MakeJson(body): MakeJson<InviteBody>) -> ApiResult<Json<InvitationSaved>> {
    let org = OrganizationId(path_id(&id, "organization")?);
    let invitation = state.app.invite_to_organization(&caller, org, &body.email, organization_role(body.users_role_id)?).await?;
    Ok(Json(InvitationSaved { invitation: invitation_view(&invitation, None) }))
}

#[derive(Serialize, ToSchema)]
pub struct InvitationList {
    invitations: Vec<InvitationView>,
}

/// The organization's pending invitations (`organization:members:view`).
#[utoipa::path(get, path = "/api/v2/organizations/{id}/invitations", tag = "memberships", operation_id = "organization-invitations",
    params(("id" = i64, Path, minimum = 1, description = "The organization's id.")),
    responses((status = 200, description = "The invitations.", body = InvitationList)))]
pub async fn organization_invitations(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<Json<InvitationList>> {
    let invitations = state.app.organization_invitations(&caller, OrganizationId(path_id(&id, "organization")?)).await?;
    Ok(Json(InvitationList { invitations: invitations.iter().map(|invitation| invitation_view(invitation, None)).collect() }))
}

/// The invitations waiting for the caller's email.
#[utoipa::path(get, path = "/api/v2/users/me/invitations", tag = "memberships", operation_id = "users-me-invitations",
    responses((status = 200, description = "The invitations.", body = InvitationList)))]
pub async fn my_invitations(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<InvitationList>> {
    let pending = state.app.my_invitations(&caller).await?;
    Ok(Json(InvitationList { invitations: pending.iter().map(|(invitation, org)| invitation_view(invitation, Some(org.name.clone()))).collect() }))
}

/// Accepts the invitation to this organization waiting for the caller's email: the caller joins with its role.
#[utoipa::path(post, path = "/api/v2/organizations/{id}/accept-invitation", tag = "memberships", operation_id = "organization-accept-invitation",
    params(("id" = i64, Path, minimum = 1, description = "The organization's id.")),
    responses(
        (status = 200, description = "The caller's role in the organization.", body = OrganizationRoleFound),
        (status = 404, description = "No invitation for the caller's email.", body = MakeErrorBody),
    ))]
pub async fn accept_invitation(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<Json<OrganizationRoleFound>> {
    let held = state.app.accept_invitation(&caller, OrganizationId(path_id(&id, "organization")?)).await?;
    Ok(Json(OrganizationRoleFound { user_organization_role: organization_role_view(&held) }))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InvitationDeleted {
    invitation: i64,
}

/// Declines (the invitee) or withdraws (`organization:members:manage`) an invitation.
#[utoipa::path(delete, path = "/api/v2/organizations/{id}/invitations/{invitationId}", tag = "memberships", operation_id = "organization-invitation-delete",
    params(("id" = i64, Path, minimum = 1, description = "The organization's id."), ("invitationId" = i64, Path, minimum = 1, description = "The invitation's id.")),
    responses((status = 200, description = "The invitation is gone.", body = InvitationDeleted)))]
pub async fn delete_invitation(State(state): State<AppState>, caller: Caller, Path((org, invitation)): Path<(String, String)>) -> ApiResult<Json<InvitationDeleted>> {
    let invitation = path_id(&invitation, "invitation")?;
    state.app.delete_invitation(&caller, OrganizationId(path_id(&org, "organization")?), invitation).await?;
    Ok(Json(InvitationDeleted { invitation }))
}
