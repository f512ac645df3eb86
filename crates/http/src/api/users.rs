use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::api::views::{self, AuthUser};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::MakeQuery;
use crate::openapi::Columns;
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MeResponse {
    /// Only the columns asked for with `cols[]`, if any.
    #[schema(value_type = AuthUser)]
    auth_user: Value,
}

/// The caller's own account.
#[utoipa::path(get, path = "/api/v2/users/me", tag = "users", operation_id = "users-me",
    params(Columns),
    responses((status = 200, description = "The caller's account.", body = MeResponse)))]
pub async fn me(State(state): State<AppState>, caller: Caller, query: MakeQuery) -> ApiResult<Json<MeResponse>> {
    let user = state
        .app
        .user(caller.user_id)
        .await?
        .ok_or_else(|| ApiError::unauthorized("The credential's user no longer exists.", Some("invalid_token")))?;
    Ok(Json(MeResponse { auth_user: query.select(views::auth_user(&user)) }))
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
