//! OAuth clients on the API: requests by any user, decisions by administrators, and the user's own grants
//! ("authorized apps").

use axum::extract::{Path, State};
use axum::Json;
use gatehouse_domain::oauth::client::approve as approve_client;
use gatehouse_domain::oauth::{ClientId, ClientStatus, Grant, NewClient, OAuthClient};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::api::views;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{MakeJson, MakeQuery};
use crate::state::AppState;

/// A client as listed. Never its secret (only its approval shows that, once).
pub fn client_view(client: &OAuthClient) -> Value {
    json!({
        "clientId": client.id.as_str(),
        "name": client.name,
        "description": client.description,
        "type": client.client_type.as_str(),
        "redirectUris": client.redirect_uris.iter().map(|u| u.as_str()).collect::<Vec<_>>(),
        "scope": client.scopes.names(),
        "status": client.status.as_str(),
        "ownerId": client.owner.0,
        "allowRefresh": client.allow_refresh,
        "created": client.created.to_iso(),
    })
}

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
    let new = NewClient::new(&body.name, &body.description, &body.client_type, &body.redirect_uris, &body.scope)?;
    let client = new.into_client(caller.user_id, state.clock.now());
    state.store.insert_oauth_client(&client).await?;
    Ok(Json(json!({ "clientRequest": client_view(&client) })))
}

pub async fn my_requests(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Value>> {
    let clients = state.store.list_oauth_clients(None, Some(caller.user_id)).await?;
    Ok(Json(json!({ "clientRequests": clients.iter().map(client_view).collect::<Vec<_>>() })))
}

pub async fn admin_list(State(state): State<AppState>, query: MakeQuery) -> ApiResult<Json<Value>> {
    let status = query.get("status").map(ClientStatus::parse).transpose()?;
    let clients = state.store.list_oauth_clients(status, None).await?;
    Ok(Json(json!({ "clients": clients.iter().map(client_view).collect::<Vec<_>>() })))
}

async fn client_by_path(state: &AppState, id: &str) -> ApiResult<OAuthClient> {
    let not_found = || ApiError::not_found("The client does not exist.");
    let id = ClientId::parse(id).ok_or_else(not_found)?;
    state.store.oauth_client(&id).await?.ok_or_else(not_found)
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
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> ApiResult<Json<Value>> {
    // The body is optional: an empty one approves what was requested.
    let body: ApproveBody = if body.iter().all(u8::is_ascii_whitespace) {
        ApproveBody::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| ApiError::invalid_input(format!("The body is not valid JSON: {e}")))?
    };
    let mut client = client_by_path(&state, &id).await?;
    if client.status == ClientStatus::Approved {
        return Err(ApiError::conflict("The client is already approved; rotate its secret with the CLI."));
    }
    if let Some(names) = body.scope {
        let approved = gatehouse_domain::ScopeSet::parse_names(names.iter().map(String::as_str))?;
        if !approved.is_subset_of(client.scopes) {
            return Err(ApiError::invalid_input("An approval cannot add scopes the client did not request."));
        }
        client.scopes = approved;
    }
    if let Some(allow) = body.allow_refresh {
        client.allow_refresh = allow;
    }
    let secret = approve_client(&mut client);
    state.store.update_oauth_client(&client, state.clock.now()).await?;
    state.oauth.forget_liveness();
    let mut view = client_view(&client);
    view["clientSecret"] = secret.map_or(Value::Null, |s| json!(s.reveal()));
    Ok(Json(json!({ "client": view })))
}

pub async fn reject(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let mut client = client_by_path(&state, &id).await?;
    client.status = ClientStatus::Rejected;
    client.secret_hash = None;
    state.store.update_oauth_client(&client, state.clock.now()).await?;
    // A client rejected after approval loses every token it holds, at once.
    state.store.revoke_client_families(&client.id, state.clock.now()).await?;
    state.oauth.forget_liveness();
    Ok(Json(json!({ "client": client_view(&client) })))
}

pub async fn remove(State(state): State<AppState>, Path(id): Path<String>, query: MakeQuery) -> ApiResult<Json<Value>> {
    let client = client_by_path(&state, &id).await?;
    if !query.is_true("confirmed") {
        return Err(ApiError::confirmation_required("an OAuth client"));
    }
    state.store.delete_oauth_client(&client.id, state.clock.now()).await?;
    state.oauth.forget_liveness();
    Ok(Json(json!({ "client": client.id.as_str() })))
}

fn grant_view(grant: &Grant, client: Option<&OAuthClient>) -> Value {
    json!({
        "clientId": grant.client_id.as_str(),
        "name": client.map(|c| c.name.as_str()),
        "scope": grant.scopes.names(),
        "organizationId": grant.organization_id,
        "created": grant.created.to_iso(),
        "lastUsed": views::iso(grant.last_used),
    })
}

pub async fn authorized_apps(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Value>> {
    let grants = state.store.grants_of_user(caller.user_id).await?;
    let mut listed = Vec::with_capacity(grants.len());
    for grant in &grants {
        let client = state.store.oauth_client(&grant.client_id).await?;
        listed.push(grant_view(grant, client.as_ref()));
    }
    Ok(Json(json!({ "authorizedApps": listed })))
}

/// Make's "revoke from the API access section": the grant and every token issued under it, at once.
pub async fn revoke_authorized_app(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let not_found = || ApiError::not_found("You have not authorized this app.");
    let client_id = ClientId::parse(&id).ok_or_else(not_found)?;
    state.store.revoke_grant(caller.user_id, &client_id, state.clock.now()).await?.ok_or_else(not_found)?;
    state.oauth.forget_liveness();
    Ok(Json(json!({ "authorizedApp": client_id.as_str() })))
}
