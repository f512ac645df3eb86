//! `/organizations`: users see and change only the organizations they belong to.

use axum::extract::{Path, State};
use axum::Json;
use gatehouse_domain::identity::{DEFAULT_API_LIMIT, parse_name};
use gatehouse_domain::{OrgRole, Organization, Page, SortDir, SortKey};
use gatehouse_store::NewOrganization;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::api::views;
use crate::auth::{Caller, OrganizationLimit};
use crate::error::{ApiError, ApiResult};
use crate::extract::{MakeJson, MakeQuery, page_echo, path_id};
use crate::state::AppState;

pub async fn list(State(state): State<AppState>, caller: Caller, query: MakeQuery) -> ApiResult<Json<Value>> {
    let page = query.page()?;
    let orgs = state.store.organizations_of_user(caller.user_id, page).await?;
    let listed: Vec<Value> = orgs
        .iter()
        .filter(|org| caller.reaches_organization(org.id))
        .map(|org| query.select(views::organization(org)))
        .collect();
    Ok(Json(json!({ "organizations": listed, "pg": page_echo(page) })))
}

/// The organization and the caller's role in it. Outsiders get 404, not 403: Make hides existence. Every
/// request that reaches an organization's resources passes here, so this is where its rate limit counts.
pub(crate) async fn membership(state: &AppState, caller: &Caller, id: i64) -> ApiResult<(Organization, OrgRole)> {
    let not_found = || ApiError::not_found("The organization does not exist.");
    // An OAuth grant reaches only the organization chosen at consent; others look nonexistent.
    if !caller.reaches_organization(id) {
        return Err(not_found());
    }
    let role = state.store.organization_role(id, caller.user_id).await?.ok_or_else(not_found)?;
    let org = state.store.organization(id).await?.ok_or_else(not_found)?;
    count_request(state, &org)?;
    Ok((org, role))
}

/// Make's per-organization limit (`license.apiLimit` per minute), with Make's own message.
pub(crate) fn count_request(state: &AppState, org: &Organization) -> ApiResult<()> {
    state.organization_limits.check(org.id, org.api_limit, state.clock.now()).map_err(|exceeded| {
        ApiError::too_many_requests(
            "Requests limit for organization exceeded, please try again later.",
            exceeded.retry_after_secs,
        )
    })
}

pub async fn detail(State(state): State<AppState>, caller: Caller, Path(id): Path<String>, query: MakeQuery) -> ApiResult<Json<Value>> {
    let (org, _) = membership(&state, &caller, path_id(&id, "organization")?).await?;
    let teams = state.store.teams_of_organization(org.id, Page { sort_by: SortKey::Id, sort_dir: SortDir::Asc, ..Page::default() }).await?;
    let mut body = views::organization(&org);
    body["teams"] = teams.iter().map(|team| json!({ "id": team.id, "name": team.name })).collect();
    Ok(Json(json!({ "organization": query.select(body) })))
}

#[derive(Deserialize)]
pub struct LicenseBody {
    #[serde(rename = "apiLimit")]
    api_limit: Option<i64>,
}

#[derive(Deserialize)]
pub struct CreateBody {
    name: String,
    #[serde(default)]
    timezone: Option<String>,
    #[serde(default)]
    country: Option<String>,
    #[serde(default)]
    license: Option<LicenseBody>,
}

fn check_api_limit(limit: i64) -> ApiResult<i64> {
    if (1..=1_000_000).contains(&limit) { Ok(limit) } else { Err(ApiError::invalid_input("license.apiLimit must be from 1 to 1000000.")) }
}

/// Make: "Create organizations (admins only)".
pub async fn create(State(state): State<AppState>, caller: Caller, MakeJson(body): MakeJson<CreateBody>) -> ApiResult<Json<Value>> {
    if !caller.is_admin {
        return Err(ApiError::forbidden("Only platform administrators can create organizations."));
    }
    if caller.organizations != OrganizationLimit::Any {
        return Err(ApiError::forbidden("This OAuth grant is limited to one organization and cannot create others."));
    }
    let api_limit = match body.license.and_then(|license| license.api_limit) {
        Some(limit) => check_api_limit(limit)?,
        None => DEFAULT_API_LIMIT,
    };
    let new = NewOrganization {
        name: parse_name(&body.name, "organization")?,
        zone: state.config.zone.clone(),
        api_limit,
        timezone: body.timezone.unwrap_or_else(|| "UTC".into()),
        country: body.country,
    };
    let org = state.store.create_organization(&new, caller.user_id, state.clock.now()).await?;
    Ok(Json(json!({ "organization": views::organization(&org) })))
}

#[derive(Deserialize)]
pub struct UpdateBody {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    timezone: Option<String>,
    #[serde(default)]
    country: Option<String>,
    #[serde(default)]
    license: Option<LicenseBody>,
}

pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    MakeJson(body): MakeJson<UpdateBody>,
) -> ApiResult<Json<Value>> {
    let (mut org, role) = membership(&state, &caller, path_id(&id, "organization")?).await?;
    if !role.can_manage() {
        return Err(ApiError::forbidden("Only the organization's owners and admins can change it."));
    }
    if let Some(name) = body.name {
        org.name = parse_name(&name, "organization")?;
    }
    if let Some(timezone) = body.timezone {
        org.timezone = parse_name(&timezone, "time zone")?;
    }
    if let Some(country) = body.country {
        org.country = Some(parse_name(&country, "country")?);
    }
    if let Some(limit) = body.license.and_then(|license| license.api_limit) {
        // The limit is the platform's to set, as a plan is on make.com.
        if !caller.is_admin {
            return Err(ApiError::forbidden("Only platform administrators can change license.apiLimit."));
        }
        org.api_limit = check_api_limit(limit)?;
    }
    state.store.update_organization(&org).await?;
    Ok(Json(json!({ "organization": views::organization(&org) })))
}

pub async fn remove(State(state): State<AppState>, caller: Caller, Path(id): Path<String>, query: MakeQuery) -> ApiResult<Json<Value>> {
    let (org, role) = membership(&state, &caller, path_id(&id, "organization")?).await?;
    if role != OrgRole::Owner {
        return Err(ApiError::forbidden("Only the organization's owners can delete it."));
    }
    if !query.is_true("confirmed") {
        return Err(ApiError::confirmation_required("an organization"));
    }
    state.store.delete_organization(org.id).await?;
    Ok(Json(json!({ "organization": org.id })))
}
