//! `/organizations`: users see and change only the organizations they belong to.

use axum::extract::{Path, State};
use axum::Json;
use gatehouse_app::directory::{OrganizationChanges, OrganizationRequest};
use gatehouse_domain::OrganizationId;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::api::views;
use crate::auth::Caller;
use crate::error::ApiResult;
use crate::extract::{MakeJson, MakeQuery, page_echo, path_id};
use crate::state::AppState;

pub async fn list(State(state): State<AppState>, caller: Caller, query: MakeQuery) -> ApiResult<Json<Value>> {
    let page = query.page()?;
    let orgs = state.app.organizations_of(&caller, page).await?;
    let listed: Vec<Value> = orgs.iter().map(|org| query.select(views::organization(org))).collect();
    Ok(Json(json!({ "organizations": listed, "pg": page_echo(page) })))
}

pub async fn detail(State(state): State<AppState>, caller: Caller, Path(id): Path<String>, query: MakeQuery) -> ApiResult<Json<Value>> {
    let (org, teams) = state.app.organization_detail(&caller, OrganizationId(path_id(&id, "organization")?)).await?;
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

/// Make: "Create organizations (admins only)".
pub async fn create(State(state): State<AppState>, caller: Caller, MakeJson(body): MakeJson<CreateBody>) -> ApiResult<Json<Value>> {
    let request = OrganizationRequest {
        name: body.name,
        timezone: body.timezone,
        country: body.country,
        api_limit: body.license.and_then(|license| license.api_limit),
    };
    let org = state.app.create_organization(&caller, request).await?;
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
    let changes = OrganizationChanges {
        name: body.name,
        timezone: body.timezone,
        country: body.country,
        api_limit: body.license.and_then(|license| license.api_limit),
    };
    let org = state.app.update_organization(&caller, OrganizationId(path_id(&id, "organization")?), changes).await?;
    Ok(Json(json!({ "organization": views::organization(&org) })))
}

pub async fn remove(State(state): State<AppState>, caller: Caller, Path(id): Path<String>, query: MakeQuery) -> ApiResult<Json<Value>> {
    let id = state.app.delete_organization(&caller, OrganizationId(path_id(&id, "organization")?), query.is_true("confirmed")).await?;
    Ok(Json(json!({ "organization": id })))
}
