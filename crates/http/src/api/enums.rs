use axum::Json;
use gatehouse_domain::ScopeSet;
use serde_json::{Value, json};

/// `GET /enums/user-api-token-scopes`: the canonical catalog (aliases are accepted but not listed).
pub async fn user_api_token_scopes() -> Json<Value> {
    let scopes: Vec<Value> = ScopeSet::all_api_scopes().iter().map(|scope| json!({ "name": scope.name() })).collect();
    Json(json!({ "userApiTokenScopes": scopes }))
}
