//! The OAuth 2.0 / OpenID Connect authorization server: one module per endpoint, RFC 6749 §5.2 errors,
//! and the runtime the API's bearer check shares.

pub mod authorize;
pub mod client_auth;
pub mod discovery;
pub mod error;
pub mod form;
pub mod introspect;
pub mod pages;
pub mod revoke;
pub mod session;
pub mod token;
pub mod userinfo;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tower_http::cors::{Any, CorsLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;

use crate::body_limit;
use crate::state::{AppState, EdgeLimits, MAX_BODY_BYTES};

/// The OAuth routes. They sit outside the `/api/v2` error layer: they answer RFC 6749 JSON or HTML pages,
/// never Make's error schema.
pub fn router(state: AppState) -> Router {
    // The machine endpoints answer browsers' cross-origin calls (a public SPA client exchanges its code from
    // the browser). They use no cookies, so any origin may call them; the browser-facing pages below do
    // use cookies and send no CORS headers at all.
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        .max_age(std::time::Duration::from_secs(600));
    let machine = Router::new()
        .route("/oauth/v2/token", post(token::token))
        .route("/oauth/v2/revoke", post(revoke::revoke))
        .route("/oauth/v2/introspect", post(introspect::introspect))
        .route("/oauth/v2/oidc/jwks", get(discovery::jwks))
        .route("/oauth/v2/oidc/userinfo", get(userinfo::userinfo).post(userinfo::userinfo))
        .route("/.well-known/openid-configuration", get(discovery::openid_configuration))
        .route("/oauth/v2/oidc/.well-known/openid-configuration", get(discovery::openid_configuration))
        .route("/.well-known/oauth-authorization-server", get(discovery::openid_configuration));
    // Bounded inside the CORS layer, so that a browser's script can read a 408 or 413 too.
    let machine = bounded(machine, state.edge).layer(cors);
    let browser = Router::new()
        // OIDC Core §3.1.2.1: the authorization endpoint takes GET and form POST alike.
        .route("/oauth/v2/authorize", get(authorize::authorize).post(authorize::authorize_post))
        .route("/oauth/v2/authorize/login", post(authorize::login))
        .route("/oauth/v2/authorize/consent", post(authorize::consent))
        // The pages' one stylesheet, so that their CSP can say `style-src 'self'` instead of allowing
        // inline styles.
        .route(pages::STYLESHEET_PATH, get(pages::stylesheet));
    bounded(browser, state.edge)
        .merge(machine)
        .layer(SetResponseHeaderLayer::overriding(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(SetResponseHeaderLayer::overriding(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        .layer(SetResponseHeaderLayer::overriding(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
        ))
        .with_state(state)
}

/// The bounds every OAuth route lives within (issue 10, hole 5): a slow body (a login form or token request
/// trickled a byte at a time) is cut off with 408, and an oversized one refused with 413.
fn bounded(routes: Router<AppState>, edge: EdgeLimits) -> Router<AppState> {
    routes
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, edge.request_timeout))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn_with_state(edge, refuse_oversized))
}

/// A declared body larger than any OAuth request is refused before it is read: with an RFC 6749 error on
/// the machine endpoints, a plain page on the browser's. Then drained, so the answer arrives (see
/// `body_limit`). An undeclared (chunked) body found too large while being read gets the same answer in
/// place of axum's plain-text one.
async fn refuse_oversized(State(limits): State<EdgeLimits>, request: Request, next: Next) -> Response {
    let is_page = request.uri().path().starts_with("/oauth/v2/authorize") || request.uri().path() == pages::STYLESHEET_PATH;
    if body_limit::declared_too_large(request.headers()) {
        body_limit::drain(request.into_body(), &limits);
        return too_large(is_page);
    }
    let response = next.run(body_limit::drain_if_refused(request, &limits)).await;
    let is_plain_refusal = response.status() == StatusCode::PAYLOAD_TOO_LARGE
        && response.headers().get(header::CONTENT_TYPE).is_some_and(|value| value.as_bytes().starts_with(b"text/plain"));
    if is_plain_refusal { too_large(is_page) } else { response }
}

fn too_large(is_page: bool) -> Response {
    let detail = format!("The request body exceeds the limit of {MAX_BODY_BYTES} bytes.");
    if is_page {
        pages::error(StatusCode::PAYLOAD_TOO_LARGE, &detail)
    } else {
        error::OAuthError::new(StatusCode::PAYLOAD_TOO_LARGE, "invalid_request", detail).into_response()
    }
}
