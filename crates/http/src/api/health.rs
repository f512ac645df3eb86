use axum::extract::State;
use axum::Json;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::state::AppState;

/// For load balancers: no authentication; 200 when the store answers, 503 when it does not.
pub async fn health(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    state.app.store.ping().await.map_err(|error| {
        tracing::warn!(%error, "health check: store unavailable");
        ApiError::unavailable("The store is unavailable.")
    })?;
    // "shared": rate limits are counted in Redis, across nodes; "local": on this node only (no Redis
    // configured, or Redis unreachable, in which case limits still hold per node).
    let rate_limits = state.app.limiter.mode().as_str();
    Ok(Json(json!({ "status": "ok", "backend": state.app.store.backend(), "rateLimits": rate_limits })))
}
