//! `/teams`: an organization's members see its teams; its owners and admins create and delete them.

use axum::extract::{Path, State};
use axum::Json;
use gatehouse_domain::{OrganizationId, TeamId};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::api::views;
use crate::auth::Caller;
use crate::error::ApiResult;
use crate::extract::{MakeJson, MakeQuery, page_echo, path_id};
use crate::state::AppState;

pub async fn list(State(state): State<AppState>, caller: Caller, query: MakeQuery) -> ApiResult<Json<Value>> {
    let org_id = query.required_id("organizationId")?;
    let page = query.page()?;
    let teams = state.app.teams_of(&caller, OrganizationId(org_id), page).await?;
    let listed: Vec<Value> = teams.iter().map(|team| query.select(views::team(team))).collect();
    Ok(Json(json!({ "teams": listed, "pg": page_echo(page) })))
}

pub async fn detail(State(state): State<AppState>, caller: Caller, Path(id): Path<String>, query: MakeQuery) -> ApiResult<Json<Value>> {
    let (team, _) = state.app.visible_team(&caller, TeamId(path_id(&id, "team")?)).await?;
    Ok(Json(json!({ "team": query.select(views::team(&team)) })))
}

#[derive(Deserialize)]
pub struct CreateBody {
    name: String,
    #[serde(rename = "organizationId")]
    organization_id: i64,
}

pub async fn create(State(state): State<AppState>, caller: Caller, MakeJson(body): MakeJson<CreateBody>) -> ApiResult<Json<Value>> {
    let team = state.app.create_team(&caller, OrganizationId(body.organization_id), &body.name).await?;
    Ok(Json(json!({ "team": views::team(&team) })))
}

pub async fn remove(State(state): State<AppState>, caller: Caller, Path(id): Path<String>, query: MakeQuery) -> ApiResult<Json<Value>> {
    let id = state.app.delete_team(&caller, TeamId(path_id(&id, "team")?), query.is_true("confirmed")).await?;
    Ok(Json(json!({ "team": id })))
}
