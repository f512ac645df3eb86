//! `/organizations`: users see and change only the organizations they belong to.

use axum::extract::{Path, State};
use axum::Json;
use gatehouse_app::directory::{OrganizationChanges, OrganizationRequest};
use gatehouse_domain::OrganizationId;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::api::views::{self, OrganizationDetail, OrganizationView, PageEcho, TeamName};
use crate::auth::Caller;
use crate::error::{ApiResult, MakeErrorBody};
use crate::extract::{MakeJson, MakeQuery, path_id};
use crate::openapi::{Columns, Confirmed, Paging};
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct OrganizationList {
    /// Only the columns asked for with `cols[]`, if any.
    #[schema(value_type = Vec<OrganizationView>)]
    organizations: Vec<Value>,
    pg: PageEcho,
}

/// The organizations the caller belongs to.
#[utoipa::path(get, path = "/api/v2/organizations", tag = "organizations", operation_id = "organizations-list",
    params(Paging, Columns),
    responses(
        (status = 200, description = "A page of the caller's organizations.", body = OrganizationList),
        (status = 400, description = "Invalid paging (IM005).", body = MakeErrorBody),
    ))]
pub async fn list(State(state): State<AppState>, caller: Caller, query: MakeQuery) -> ApiResult<Json<OrganizationList>> {
    let page = query.page()?;
    let orgs = state.app.organizations_of(&caller, page).await?;
    let organizations = orgs.iter().map(|org| query.select(views::organization(org))).collect();
    Ok(Json(OrganizationList { organizations, pg: views::page_echo(page) }))
}

#[derive(Serialize, ToSchema)]
pub struct OrganizationFound {
    /// Only the columns asked for with `cols[]`, if any.
    #[schema(value_type = OrganizationDetail)]
    organization: Value,
}

/// One organization the caller belongs to, with its teams.
#[utoipa::path(get, path = "/api/v2/organizations/{id}", tag = "organizations", operation_id = "organizations-detail",
    params(("id" = i64, Path, minimum = 1, description = "The organization's id."), Columns),
    responses(
        (status = 200, description = "The organization.", body = OrganizationFound),
        (status = 404, description = "No such organization, or the caller is not a member.", body = MakeErrorBody),
    ))]
pub async fn detail(State(state): State<AppState>, caller: Caller, Path(id): Path<String>, query: MakeQuery) -> ApiResult<Json<OrganizationFound>> {
    let (org, teams) = state.app.organization_detail(&caller, OrganizationId(path_id(&id, "organization")?)).await?;
    let mut body = views::organization(&org);
    let teams: Vec<TeamName> = teams.iter().map(|team| TeamName { id: team.id.0, name: team.name.clone() }).collect();
    body["teams"] = views::to_value(teams);
    Ok(Json(OrganizationFound { organization: query.select(body) }))
}

#[derive(Deserialize, ToSchema)]
pub struct LicenseBody {
    /// Requests per minute for the whole organization.
    #[serde(rename = "apiLimit")]
    api_limit: Option<i64>,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateBody {
    name: String,
    /// Make's way: an id of `GET /enums/timezones`. Wins over `timezone`.
    #[serde(default)]
    timezone_id: Option<i64>,
    /// Make's way: an id of `GET /enums/countries`. Wins over `country`.
    #[serde(default)]
    country_id: Option<i64>,
    /// An id of `GET /enums/imt-regions`.
    #[serde(default)]
    region_id: Option<i64>,
    /// An IANA time zone name.
    #[serde(default)]
    timezone: Option<String>,
    /// An ISO 3166-1 code.
    #[serde(default)]
    country: Option<String>,
    #[serde(default)]
    license: Option<LicenseBody>,
}

#[derive(Serialize, ToSchema)]
pub struct OrganizationSaved {
    organization: OrganizationView,
}

/// Make: "Create organizations (admins only)".
#[utoipa::path(post, path = "/api/v2/organizations", tag = "organizations", operation_id = "organizations-create",
    request_body = CreateBody,
    responses(
        (status = 200, description = "The new organization.", body = OrganizationSaved),
        (status = 400, description = "Invalid name, time zone, country or limit (IM005).", body = MakeErrorBody),
        (status = 403, description = "The caller may not create organizations.", body = MakeErrorBody),
    ))]
pub async fn create(State(state): State<AppState>, caller: Caller, MakeJson(body): MakeJson<CreateBody>) -> ApiResult<Json<OrganizationSaved>> {
    let request = OrganizationRequest {
        name: body.name,
        timezone: body.timezone,
        country: body.country,
        timezone_id: body.timezone_id,
        country_id: body.country_id,
        region_id: body.region_id,
        api_limit: body.license.and_then(|license| license.api_limit),
    };
    let org = state.app.create_organization(&caller, request).await?;
    Ok(Json(OrganizationSaved { organization: views::organization_view(&org) }))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpdateBody {
    #[serde(default)]
    name: Option<String>,
    /// An id of `GET /enums/timezones`. Wins over `timezone`.
    #[serde(default)]
    timezone_id: Option<i64>,
    /// An id of `GET /enums/countries`. Wins over `country`.
    #[serde(default)]
    country_id: Option<i64>,
    /// An IANA time zone name.
    #[serde(default)]
    timezone: Option<String>,
    /// An ISO 3166-1 alpha-2 code.
    #[serde(default)]
    country: Option<String>,
    #[serde(default)]
    license: Option<LicenseBody>,
}

/// Changes an organization: its owners and admins only.
#[utoipa::path(patch, path = "/api/v2/organizations/{id}", tag = "organizations", operation_id = "organizations-update",
    params(("id" = i64, Path, minimum = 1, description = "The organization's id.")),
    request_body = UpdateBody,
    responses(
        (status = 200, description = "The organization as changed.", body = OrganizationSaved),
        (status = 400, description = "Invalid name, time zone, country or limit (IM005).", body = MakeErrorBody),
        (status = 403, description = "The caller may not change this organization.", body = MakeErrorBody),
        (status = 404, description = "No such organization, or the caller is not a member.", body = MakeErrorBody),
    ))]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    MakeJson(body): MakeJson<UpdateBody>,
) -> ApiResult<Json<OrganizationSaved>> {
    let changes = OrganizationChanges {
        name: body.name,
        timezone: body.timezone,
        country: body.country,
        timezone_id: body.timezone_id,
        country_id: body.country_id,
        api_limit: body.license.and_then(|license| license.api_limit),
    };
    let org = state.app.update_organization(&caller, OrganizationId(path_id(&id, "organization")?), changes).await?;
    Ok(Json(OrganizationSaved { organization: views::organization_view(&org) }))
}

#[derive(Serialize, ToSchema)]
pub struct OrganizationDeleted {
    /// The deleted organization's id.
    organization: i64,
}

/// Deletes an organization, its teams and memberships: its owners only.
#[utoipa::path(delete, path = "/api/v2/organizations/{id}", tag = "organizations", operation_id = "organizations-delete",
    params(("id" = i64, Path, minimum = 1, description = "The organization's id."), Confirmed),
    responses(
        (status = 200, description = "The organization is deleted.", body = OrganizationDeleted),
        (status = 400, description = "Without confirmed=true (IM004).", body = MakeErrorBody),
        (status = 403, description = "The caller may not delete this organization.", body = MakeErrorBody),
        (status = 404, description = "No such organization, or the caller is not a member.", body = MakeErrorBody),
    ))]
pub async fn remove(State(state): State<AppState>, caller: Caller, Path(id): Path<String>, query: MakeQuery) -> ApiResult<Json<OrganizationDeleted>> {
    let id = state.app.delete_organization(&caller, OrganizationId(path_id(&id, "organization")?), query.is_true("confirmed")).await?;
    Ok(Json(OrganizationDeleted { organization: id.0 }))
}
