use axum::Json;
use gatehouse_domain::ScopeSet;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct ScopeName {
    name: &'static str,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScopeCatalog {
    user_api_token_scopes: Vec<ScopeName>,
}

/// `GET /enums/user-api-token-scopes`: the canonical catalog (aliases are accepted but not listed).
#[utoipa::path(get, path = "/api/v2/enums/user-api-token-scopes", tag = "enums", operation_id = "enums-user-api-token-scopes",
    responses((status = 200, description = "Every scope an API token may carry.", body = ScopeCatalog)))]
pub async fn user_api_token_scopes() -> Json<ScopeCatalog> {
    let user_api_token_scopes = ScopeSet::all_api_scopes().iter().map(|scope| ScopeName { name: scope.name() }).collect();
    Json(ScopeCatalog { user_api_token_scopes })
}
