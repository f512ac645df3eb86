//! OAuth clients on the API: requests by any user, decisions by administrators, and the user's own grants
//! ("authorized apps").

use axum::extract::{Path, State};
use axum::Json;
use gatehouse_app::clients::{Approval, ClientRegistration};
use gatehouse_domain::oauth::ClientStatus;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::views::{self, ApprovedClient, AuthorizedApp, ClientView, client_view_of};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, MakeErrorBody};
use crate::extract::{MakeJson, MakeQuery};
use crate::openapi::Confirmed;
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RequestBody {
    name: String,
    /// `confidential` or `public`.
    #[serde(rename = "type")]
    client_type: String,
    redirect_uris: Vec<String>,
    scope: Vec<String>,
    #[serde(default)]
    description: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClientRequested {
    client_request: ClientView,
}

/// Asks for an OAuth client; it is `pending` until an administrator decides.
#[utoipa::path(post, path = "/api/v2/oauth/client-requests", tag = "oauth-clients", operation_id = "client-requests-create",
    request_body = RequestBody,
    responses(
        (status = 200, description = "The request, pending.", body = ClientRequested),
        (status = 400, description = "Invalid name, type, redirect URI or scope (IM005).", body = MakeErrorBody),
    ))]
pub async fn request(State(state): State<AppState>, caller: Caller, MakeJson(body): MakeJson<RequestBody>) -> ApiResult<Json<ClientRequested>> {
    let registration = ClientRegistration {
        name: &body.name,
        description: &body.description,
        client_type: &body.client_type,
        redirect_uris: &body.redirect_uris,
        scopes: &body.scope,
    };
    let client = state.app.request_client(&caller.actor, registration).await?;
    Ok(Json(ClientRequested { client_request: client_view_of(&client) }))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClientRequests {
    client_requests: Vec<ClientView>,
}

/// The caller's own client requests, whatever their status.
#[utoipa::path(get, path = "/api/v2/oauth/client-requests", tag = "oauth-clients", operation_id = "client-requests-list",
    responses((status = 200, description = "The caller's requests.", body = ClientRequests)))]
pub async fn my_requests(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<ClientRequests>> {
    let clients = state.app.list_clients(None, Some(caller.user_id)).await?;
    Ok(Json(ClientRequests { client_requests: clients.iter().map(client_view_of).collect() }))
}

#[derive(Serialize, ToSchema)]
pub struct ClientList {
    clients: Vec<ClientView>,
}

/// Every OAuth client, or those in one status.
#[utoipa::path(get, path = "/api/v2/admin/oauth/clients", tag = "admin", operation_id = "admin-clients-list",
    params(("status" = Option<String>, Query, description = "Only the clients in this status: `pending`, `approved` or `rejected`.")),
    responses(
        (status = 200, description = "The clients.", body = ClientList),
        (status = 400, description = "Unknown status (IM005).", body = MakeErrorBody),
    ))]
pub async fn admin_list(State(state): State<AppState>, query: MakeQuery) -> ApiResult<Json<ClientList>> {
    let status = query.get("status").map(ClientStatus::parse).transpose()?;
    let clients = state.app.list_clients(status, None).await?;
    Ok(Json(ClientList { clients: clients.iter().map(client_view_of).collect() }))
}

#[derive(Deserialize, Default, ToSchema)]
pub struct ApproveBody {
    /// The scopes to approve; by default those requested. Never more than requested.
    #[serde(default)]
    scope: Option<Vec<String>>,
    /// Whether the client may use refresh tokens; by default it may.
    #[serde(default, rename = "allowRefresh")]
    allow_refresh: Option<bool>,
}

#[derive(Serialize, ToSchema)]
pub struct ClientApproved {
    client: ApprovedClient,
}

/// Approves a client; a confidential client's secret is in this answer and nowhere else, ever.
#[utoipa::path(post, path = "/api/v2/admin/oauth/clients/{clientId}/approve", tag = "admin", operation_id = "admin-clients-approve",
    params(("clientId" = String, Path, description = "The client's id.")),
    request_body(content = Option<ApproveBody>, description = "Optional: an empty body approves what was requested."),
    responses(
        (status = 200, description = "The approved client, with its secret if it is confidential.", body = ClientApproved),
        (status = 400, description = "Invalid body or scopes beyond those requested (IM005).", body = MakeErrorBody),
        (status = 404, description = "No such client.", body = MakeErrorBody),
    ))]
pub async fn approve(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> ApiResult<Json<ClientApproved>> {
    // The body is optional: an empty one approves what was requested.
    let body: ApproveBody = if body.iter().all(u8::is_ascii_whitespace) {
        ApproveBody::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| ApiError::invalid_input(format!("The body is not valid JSON: {e}")))?
    };
    let approval = Approval { scopes: body.scope, allow_refresh: body.allow_refresh };
    let (client, secret) = state.app.approve_client(&id, approval, Some(&caller.actor)).await?;
    let client = ApprovedClient { client: client_view_of(&client), client_secret: secret.map(|secret| secret.reveal()) };
    Ok(Json(ClientApproved { client }))
}

#[derive(Serialize, ToSchema)]
pub struct ClientDecided {
    client: ClientView,
}

/// Rejects a client request.
#[utoipa::path(post, path = "/api/v2/admin/oauth/clients/{clientId}/reject", tag = "admin", operation_id = "admin-clients-reject",
    params(("clientId" = String, Path, description = "The client's id.")),
    responses(
        (status = 200, description = "The rejected client.", body = ClientDecided),
        (status = 404, description = "No such client.", body = MakeErrorBody),
    ))]
pub async fn reject(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<Json<ClientDecided>> {
    let client = state.app.reject_client(&id, Some(&caller.actor)).await?;
    Ok(Json(ClientDecided { client: client_view_of(&client) }))
}

#[derive(Serialize, ToSchema)]
pub struct ClientDeleted {
    /// The deleted client's id.
    client: String,
}

/// Deletes a client, its grants and its tokens.
#[utoipa::path(delete, path = "/api/v2/admin/oauth/clients/{clientId}", tag = "admin", operation_id = "admin-clients-delete",
    params(("clientId" = String, Path, description = "The client's id."), Confirmed),
    responses(
        (status = 200, description = "The client is deleted.", body = ClientDeleted),
        (status = 400, description = "Without confirmed=true (IM004).", body = MakeErrorBody),
        (status = 404, description = "No such client.", body = MakeErrorBody),
    ))]
pub async fn remove(State(state): State<AppState>, caller: Caller, Path(id): Path<String>, query: MakeQuery) -> ApiResult<Json<ClientDeleted>> {
    state.app.find_client(&id).await?;
    if !query.is_true("confirmed") {
        return Err(ApiError::confirmation_required("an OAuth client"));
    }
    let client = state.app.delete_client(&id, Some(&caller.actor)).await?;
    Ok(Json(ClientDeleted { client: client.id.as_str().to_string() }))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizedApps {
    authorized_apps: Vec<AuthorizedApp>,
}

/// The clients the caller has granted access to (Make: "API access" in the profile).
#[utoipa::path(get, path = "/api/v2/users/me/authorized-apps", tag = "users", operation_id = "authorized-apps-list",
    responses((status = 200, description = "The caller's grants.", body = AuthorizedApps)))]
pub async fn authorized_apps(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<AuthorizedApps>> {
    let apps = state.app.authorized_apps(caller.user_id).await?;
    let authorized_apps = apps.iter().map(|app| views::authorized_app(&app.grant, app.client.as_ref())).collect();
    Ok(Json(AuthorizedApps { authorized_apps }))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizedAppRevoked {
    /// The client whose grant was revoked.
    authorized_app: String,
}

/// Make's "revoke from the API access section": the grant and every token issued under it, at once.
#[utoipa::path(delete, path = "/api/v2/users/me/authorized-apps/{clientId}", tag = "users", operation_id = "authorized-apps-revoke",
    params(("clientId" = String, Path, description = "The client's id.")),
    responses(
        (status = 200, description = "The grant and its tokens are revoked.", body = AuthorizedAppRevoked),
        (status = 404, description = "The caller has no grant to this client.", body = MakeErrorBody),
    ))]
pub async fn revoke_authorized_app(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<Json<AuthorizedAppRevoked>> {
    let client_id = state.app.revoke_authorized_app(&caller.actor, &id).await?;
    Ok(Json(AuthorizedAppRevoked { authorized_app: client_id.as_str().to_string() }))
}
