//! `/forward-auth`: Gatehouse as the authentication service a reverse proxy asks before it forwards a
//! request (nginx `auth_request`, Traefik `forwardAuth`, Envoy `ext_authz` over HTTP).
//!
//! The original request is read from the proxy's headers: `X-Original-Method` + `X-Original-URI` (nginx),
//! else `X-Forwarded-Method` + `X-Forwarded-Uri` (Traefik), else the method and the path below
//! `/forward-auth` of the check request itself (Envoy's `path_prefix`). They are believed only from a
//! trusted proxy (`serve --trusted-proxy`, loopback by default). The credential is authenticated exactly
//! as on `/api/v2`, the route policy decides which scopes the original request needs, and a 200 carries
//! the caller's identity to the upstream in `X-Gatehouse-*` headers.
//!
//! Every refusal that is not about the credential is a 403, never a 400: nginx turns any answer of an
//! `auth_request` service other than 2xx, 401 and 403 into a 500, which would hide Make's body.

use std::net::SocketAddr;

use gatehouse_app::limits::collecting_quota;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use gatehouse_app::{AuthMethod, OrganizationLimit};
use gatehouse_domain::policy::original_path;
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};

use crate::auth::{Caller, authenticate};
use crate::error::ApiError;
use crate::state::AppState;

pub const PATH: &str = "/forward-auth";

pub const USER: HeaderName = HeaderName::from_static("x-gatehouse-user");
pub const SCOPES: HeaderName = HeaderName::from_static("x-gatehouse-scopes");
pub const AUTH: HeaderName = HeaderName::from_static("x-gatehouse-auth");
pub const CLIENT: HeaderName = HeaderName::from_static("x-gatehouse-client");
pub const ORGANIZATION: HeaderName = HeaderName::from_static("x-gatehouse-organization");
pub const TOKEN_LABEL: HeaderName = HeaderName::from_static("x-gatehouse-token-label");

/// A label is free Unicode text; a header value is visible ASCII. Percent-encoding (RFC 3986) keeps it
/// readable and reversible, and `%` itself is encoded so that decoding is unambiguous.
const LABEL_ESCAPES: &AsciiSet = &CONTROLS.add(b'%').add(b'"').add(b'\\');

/// Both paths: `/forward-auth` (nginx, Traefik) and `/forward-auth/<original path>` (Envoy).
pub fn router() -> Router<AppState> {
    Router::new().route(PATH, any(check)).route("/forward-auth/{*original}", any(check))
}

/// Any method, and the body is never read: the proxy's check request is about another request.
async fn check(State(state): State<AppState>, request: Request) -> Response {
    // Only the head is kept: the body is not `Sync`, and is never read.
    let (parts, _) = request.into_parts();
    // The limits this check counted against are reported on its answer, as on `/api/v2` (nginx passes
    // them on with `auth_request_set`).
    let (decision, quota) = collecting_quota(decide(&state, &parts)).await;
    let mut response = match decision {
        Ok(caller) => identity(&state, &caller),
        Err(error) => error.into_response(),
    };
    if let Some(quota) = quota {
        crate::quota::rate_limit_headers(response.headers_mut(), quota);
    }
    response
}

async fn decide(state: &AppState, request: &Parts) -> Result<Caller, ApiError> {
    let peer = request.extensions.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(peer)| peer.ip());
    // Without a socket (an in-process caller) there is no proxy to trust: fail closed.
    let trusted = peer.is_some_and(|peer| state.trusted_proxies.contains(peer));
    if !trusted {
        return Err(ApiError::forbidden(
            "Forward-auth answers only trusted proxies: add this proxy's address with serve --trusted-proxy.",
        ));
    }
    let headers = &request.headers;
    let (method, uri) = original_request(request).ok_or_else(|| {
        ApiError::forbidden(
            "The original request is missing: send X-Original-Method and X-Original-URI (nginx) or \
             X-Forwarded-Method and X-Forwarded-Uri (Traefik).",
        )
    })?;
    let caller = authenticate(state, headers).await?;
    let path = original_path(uri).map_err(|refusal| ApiError::forbidden(format!("Access denied: {refusal}.")))?;
    let Some(rule) = state.policy.find(method, path) else {
        return Err(ApiError::forbidden(format!("Access denied: no rule of the route policy allows {method} {path}.")));
    };
    let missing = rule.scopes.difference(caller.scopes);
    if !missing.is_empty() {
        return Err(ApiError::insufficient_scope(&missing.to_space_delimited(), method, path));
    }
    state.app.count_forwarded_request(&caller.actor).await?;
    Ok(caller)
}

/// The original method and request-target, from the first convention the check request follows.
fn original_request(request: &Parts) -> Option<(&str, &str)> {
    let headers = &request.headers;
    let pair = |method: &str, uri: &str| Some((header_text(headers, method)?, header_text(headers, uri)?));
    pair("x-original-method", "x-original-uri")
        .or_else(|| pair("x-forwarded-method", "x-forwarded-uri"))
        .or_else(|| {
            // Envoy's ext_authz keeps the method and appends the original path and query to `path_prefix`.
            let path_and_query = request.uri.path_and_query()?.as_str();
            let original = path_and_query.strip_prefix(PATH)?;
            original.starts_with('/').then_some((request.method.as_str(), original))
        })
}

fn header_text<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|value| value.to_str().ok()).filter(|text| !text.is_empty())
}

/// 200 with who is calling. Every header is always present, empty when it does not apply, so that a
/// proxy copying them onto the upstream request replaces any the client sent itself.
fn identity(state: &AppState, caller: &Caller) -> Response {
    let mut response = StatusCode::OK.into_response();
    let headers = response.headers_mut();
    headers.insert(USER, HeaderValue::from(caller.user_id.0));
    headers.insert(AUTH, HeaderValue::from_static(caller.method.auth_used()));
    headers.insert(SCOPES, state.scope_headers.for_scopes(caller.scopes));
    let client = match &caller.method {
        AuthMethod::OAuth { token } => HeaderValue::from_str(&token.claims.client_id).ok(),
        AuthMethod::ApiToken { .. } | AuthMethod::Operator => None,
    };
    headers.insert(CLIENT, client.unwrap_or(HeaderValue::from_static("")));
    let organization = match caller.organizations {
        OrganizationLimit::Only(id) => HeaderValue::from(id.0),
        OrganizationLimit::Any | OrganizationLimit::Nothing => HeaderValue::from_static(""),
    };
    headers.insert(ORGANIZATION, organization);
    let label = caller.api_token.as_ref().and_then(|token| label_value(token.label.as_str()));
    headers.insert(TOKEN_LABEL, label.unwrap_or(HeaderValue::from_static("")));
    response
}

fn label_value(label: &str) -> Option<HeaderValue> {
    let plain = label.bytes().all(|byte| (b' '..=b'~').contains(&byte) && !matches!(byte, b'%' | b'"' | b'\\'));
    if plain {
        // Most labels ("ci", "backup job"): no encoding, no intermediate string.
        return HeaderValue::from_str(label).ok();
    }
    HeaderValue::from_str(&utf8_percent_encode(label, LABEL_ESCAPES).to_string()).ok()
}
