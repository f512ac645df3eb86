//! OAuth clients on the API: requests by any user, decisions by administrators, and the user's own grants
//! ("authorized apps").

use axum::extract::{Path, State};
use axum::Json;
use gatehouse_app::clients::{Approval, ClientRegistration};
use gatehouse_domain::oauth::ClientStatus;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::api::views::{self, client_view};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{MakeJson, MakeQuery};
use crate::state::AppState;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestBody {
    name: String,
    #[serde(rename = "type")]
    client_type: String,
    redirect_uris: Vec<String>,
    scope: Vec<String>,
    #[serde(default)]
    description: String,
}

pub async fn request(State(state): State<AppState>, caller: Caller, MakeJson(body): MakeJson<RequestBody>) -> ApiResult<Json<Value>> {
    let registration = ClientRegistration {
        name: &body.name,
        description: &body.description,
        client_type: &body.client_type,
        redirect_uris: &body.redirect_uris,
        scopes: &body.scope,
    };
    let client = state.app.request_client(&caller.actor, registration).await?;
    Ok(Json(json!({ "clientRequest": client_view(&client) })))
}

pub async fn my_requests(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Value>> {
    let clients = state.app.list_clients(None, Some(caller.user_id)).await?;
    Ok(Json(json!({ "clientRequests": clients.iter().map(client_view).collect::<Vec<_>>() })))
}

pub async fn admin_list(State(state): State<AppState>, query: MakeQuery) -> ApiResult<Json<Value>> {
    let status = query.get("status").map(ClientStatus::parse).transpose()?;
    let clients = state.app.list_clients(status, None).await?;
    Ok(Json(json!({ "clients": clients.iter().map(client_view).collect::<Vec<_>>() })))
}

#[derive(Deserialize, Default)]
pub struct ApproveBody {
    /// The scopes to approve; by default those requested. Never more than requested.
    #[serde(default)]
    scope: Option<Vec<String>>,
    #[serde(default, rename = "allowRefresh")]
    allow_refresh: Option<bool>,
}

/// Approves a client; a confidential client's secret is in this answer and nowhere else, ever.
pub async fn approve(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> ApiResult<Json<Value>> {
    // The body is optional: an empty one approves what was requested.
    let body: ApproveBody = if body.iter().all(u8::is_ascii_whitespace) {
        ApproveBody::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| ApiError::invalid_input(format!("The body is not valid JSON: {e}")))?
    };
    let approval = Approval { scopes: body.scope, allow_refresh: body.allow_refresh };
    let (client, secret) = state.app.approve_client(&id, approval, Some(&caller.actor)).await?;
    let mut view = client_view(&client);
    view["clientSecret"] = secret.map_or(Value::Null, |s| json!(s.reveal()));
    Ok(Json(json!({ "client": view })))
}

pub async fn reject(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let client = state.app.reject_client(&id, Some(&caller.actor)).await?;
    Ok(Json(json!({ "client": client_view(&client) })))
}

pub async fn remove(State(state): State<AppState>, caller: Caller, Path(id): Path<String>, query: MakeQuery) -> ApiResult<Json<Value>> {
    state.app.find_client(&id).await?;
    if !query.is_true("confirmed") {
        return Err(ApiError::confirmation_required("an OAuth client"));
    }
    let client = state.app.delete_client(&id, Some(&caller.actor)).await?;
    Ok(Json(json!({ "client": client.id.as_str() })))
}

pub async fn authorized_apps(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Value>> {
    let apps = state.app.authorized_apps(caller.user_id).await?;
    let listed: Vec<Value> = apps.iter().map(|app| views::authorized_app(&app.grant, app.client.as_ref())).collect();
    Ok(Json(json!({ "authorizedApps": listed })))
}

/// Make's "revoke from the API access section": the grant and every token issued under it, at once.
pub async fn revoke_authorized_app(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let client_id = state.app.revoke_authorized_app(&caller.actor, &id).await?;
    Ok(Json(json!({ "authorizedApp": client_id.as_str() })))
}
