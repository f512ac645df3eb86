//! `/teams`: an organization's members see its teams; its owners and admins create and delete them.

use axum::extract::{Path, State};
use axum::Json;
use gatehouse_domain::{OrganizationId, TeamId};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::api::views::{self, PageEcho, TeamView};
use crate::auth::Caller;
use crate::error::{ApiResult, MakeErrorBody};
use crate::extract::{MakeJson, MakeQuery, path_id};
use crate::openapi::{Columns, Confirmed, Paging};
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct TeamList {
    /// Only the columns asked for with `cols[]`, if any.
    #[schema(value_type = Vec<TeamView>)]
    teams: Vec<Value>,
    pg: PageEcho,
}

/// An organization's teams, for its members.
#[utoipa::path(get, path = "/api/v2/teams", tag = "teams", operation_id = "teams-list",
    params(("organizationId" = i64, Query, minimum = 1, description = "The organization whose teams to list."), Paging, Columns),
    responses(
        (status = 200, description = "A page of the organization's teams.", body = TeamList),
        (status = 400, description = "Missing organizationId or invalid paging (IM005).", body = MakeErrorBody),
        (status = 404, description = "No such organization, or the caller is not a member.", body = MakeErrorBody),
    ))]
pub async fn list(State(state): State<AppState>, caller: Caller, query: MakeQuery) -> ApiResult<Json<TeamList>> {
    let org_id = query.required_id("organizationId")?;
    let page = query.page()?;
    let teams = state.app.teams_of(&caller, OrganizationId(org_id), page).await?;
    let teams = teams.iter().map(|team| query.select(views::team(team))).collect();
    Ok(Json(TeamList { teams, pg: views::page_echo(page) }))
}

#[derive(Serialize, ToSchema)]
pub struct TeamFound {
    /// Only the columns asked for with `cols[]`, if any.
    #[schema(value_type = TeamView)]
    team: Value,
}

/// One team of an organization the caller belongs to.
#[utoipa::path(get, path = "/api/v2/teams/{id}", tag = "teams", operation_id = "teams-detail",
    params(("id" = i64, Path, minimum = 1, description = "The team's id."), Columns),
    responses(
        (status = 200, description = "The team.", body = TeamFound),
        (status = 404, description = "No such team, or the caller is not a member of its organization.", body = MakeErrorBody),
    ))]
pub async fn detail(State(state): State<AppState>, caller: Caller, Path(id): Path<String>, query: MakeQuery) -> ApiResult<Json<TeamFound>> {
    let (team, _) = state.app.visible_team(&caller, TeamId(path_id(&id, "team")?)).await?;
    Ok(Json(TeamFound { team: query.select(views::team(&team)) }))
}

#[derive(Deserialize, ToSchema)]
pub struct CreateBody {
    name: String,
    #[serde(rename = "organizationId")]
    organization_id: i64,
}

#[derive(Serialize, ToSchema)]
pub struct TeamCreated {
    team: TeamView,
}

/// Creates a team: the organization's owners and admins only.
#[utoipa::path(post, path = "/api/v2/teams", tag = "teams", operation_id = "teams-create",
    request_body = CreateBody,
    responses(
        (status = 200, description = "The new team.", body = TeamCreated),
        (status = 400, description = "Invalid name (IM005).", body = MakeErrorBody),
        (status = 403, description = "The caller may not manage this organization's teams.", body = MakeErrorBody),
        (status = 404, description = "No such organization, or the caller is not a member.", body = MakeErrorBody),
    ))]
pub async fn create(State(state): State<AppState>, caller: Caller, MakeJson(body): MakeJson<CreateBody>) -> ApiResult<Json<TeamCreated>> {
    let team = state.app.create_team(&caller, OrganizationId(body.organization_id), &body.name).await?;
    Ok(Json(TeamCreated { team: views::team_view(&team) }))
}

#[derive(Serialize, ToSchema)]
pub struct TeamDeleted {
    /// The deleted team's id.
    team: i64,
}

/// Deletes a team: the organization's owners and admins only.
#[utoipa::path(delete, path = "/api/v2/teams/{id}", tag = "teams", operation_id = "teams-delete",
    params(("id" = i64, Path, minimum = 1, description = "The team's id."), Confirmed),
    responses(
        (status = 200, description = "The team is deleted.", body = TeamDeleted),
        (status = 400, description = "Without confirmed=true (IM004).", body = MakeErrorBody),
        (status = 403, description = "The caller may not manage this organization's teams.", body = MakeErrorBody),
        (status = 404, description = "No such team, or the caller is not a member of its organization.", body = MakeErrorBody),
    ))]
pub async fn remove(State(state): State<AppState>, caller: Caller, Path(id): Path<String>, query: MakeQuery) -> ApiResult<Json<TeamDeleted>> {
    let id = state.app.delete_team(&caller, TeamId(path_id(&id, "team")?), query.is_true("confirmed")).await?;
    Ok(Json(TeamDeleted { team: id.0 }))
}
