//! `/teams`: an organization's members see its teams; its owners and admins create and delete them.

use axum::extract::{Path, State};
use axum::Json;
use gatehouse_domain::Team;
use gatehouse_domain::identity::parse_name;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::api::organizations::membership;
use crate::api::views;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{MakeJson, MakeQuery, page_echo, path_id};
use crate::state::AppState;

pub async fn list(State(state): State<AppState>, caller: Caller, query: MakeQuery) -> ApiResult<Json<Value>> {
    let org_id = query.required_id("organizationId")?;
    let page = query.page()?;
    let (org, _) = membership(&state, &caller, org_id).await?;
    let teams = state.store.teams_of_organization(org.id, page).await?;
    let listed: Vec<Value> = teams.iter().map(|team| query.select(views::team(team))).collect();
    Ok(Json(json!({ "teams": listed, "pg": page_echo(page) })))
}

async fn visible_team(state: &AppState, caller: &Caller, id: &str) -> ApiResult<(Team, gatehouse_domain::OrgRole)> {
    let not_found = || ApiError::not_found("The team does not exist.");
    let team = state.store.team(path_id(id, "team")?).await?.ok_or_else(not_found)?;
    if !caller.reaches_organization(team.organization_id) {
        return Err(not_found());
    }
    let role = state.store.organization_role(team.organization_id, caller.user_id).await?.ok_or_else(not_found)?;
    let org = state.store.organization(team.organization_id).await?.ok_or_else(not_found)?;
    crate::api::organizations::count_request(state, &org)?;
    Ok((team, role))
}

pub async fn detail(State(state): State<AppState>, caller: Caller, Path(id): Path<String>, query: MakeQuery) -> ApiResult<Json<Value>> {
    let (team, _) = visible_team(&state, &caller, &id).await?;
    Ok(Json(json!({ "team": query.select(views::team(&team)) })))
}

#[derive(Deserialize)]
pub struct CreateBody {
    name: String,
    #[serde(rename = "organizationId")]
    organization_id: i64,
}

pub async fn create(State(state): State<AppState>, caller: Caller, MakeJson(body): MakeJson<CreateBody>) -> ApiResult<Json<Value>> {
    let name = parse_name(&body.name, "team")?;
    let (org, role) = membership(&state, &caller, body.organization_id).await?;
    if !role.can_manage() {
        return Err(ApiError::forbidden("Only the organization's owners and admins can create teams."));
    }
    let team = state.store.create_team(org.id, &name, state.clock.now()).await?;
    state.store.add_team_member(team.id, caller.user_id).await?;
    Ok(Json(json!({ "team": views::team(&team) })))
}

pub async fn remove(State(state): State<AppState>, caller: Caller, Path(id): Path<String>, query: MakeQuery) -> ApiResult<Json<Value>> {
    let (team, role) = visible_team(&state, &caller, &id).await?;
    if !role.can_manage() {
        return Err(ApiError::forbidden("Only the organization's owners and admins can delete teams."));
    }
    if !query.is_true("confirmed") {
        return Err(ApiError::confirmation_required("a team"));
    }
    state.store.delete_team(team.id).await?;
    Ok(Json(json!({ "team": team.id })))
}
