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
use axum::routing::{MethodRouter, get, post};
use tower_http::cors::{Any, CorsLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;

use crate::body_limit;
use crate::state::{AppState, EdgeLimits, MAX_BODY_BYTES};

/// Which of the two surfaces a route belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surface {
    /// Called by clients' code: RFC 6749 JSON, no cookies, so open to any origin (CORS).
    Machine,
    /// Visited by the user's browser: HTML pages with cookies, and no CORS headers at all.
    Browser,
}

pub struct OAuthRoute {
    pub method: Method,
    pub path: &'static str,
    pub surface: Surface,
    handler: fn() -> MethodRouter<AppState>,
}

macro_rules! oauth_route {
    ($method:ident $path:literal, $surface:ident, $handler:expr) => {
        OAuthRoute { method: Method::$method, path: $path, surface: Surface::$surface, handler: || $handler }
    };
}

/// Every OAuth and OpenID Connect route, in one table that the OpenAPI document is checked against.
pub static OAUTH_ROUTES: &[OAuthRoute] = &[
    oauth_route!(POST "/oauth/v2/token",                 Machine, post(token::token)),
    oauth_route!(POST "/oauth/v2/revoke",                Machine, post(revoke::revoke)),
    oauth_route!(POST "/oauth/v2/introspect",            Machine, post(introspect::introspect)),
    oauth_route!(GET  "/oauth/v2/oidc/jwks",             Machine, get(discovery::jwks)),
    oauth_route!(GET  "/oauth/v2/oidc/userinfo",         Machine, get(userinfo::userinfo_get)),
    oauth_route!(POST "/oauth/v2/oidc/userinfo",         Machine, post(userinfo::userinfo_post)),
    oauth_route!(GET  "/.well-known/openid-configuration", Machine, get(discovery::openid_configuration)),
    oauth_route!(GET  "/oauth/v2/oidc/.well-known/openid-configuration", Machine, get(discovery::openid_configuration_make)),
    oauth_route!(GET  "/.well-known/oauth-authorization-server", Machine, get(discovery::authorization_server_metadata)),
    // OIDC Core §3.1.2.1: the authorization endpoint takes GET and form POST alike.
    oauth_route!(GET  "/oauth/v2/authorize",             Browser, get(authorize::authorize)),
    oauth_route!(POST "/oauth/v2/authorize",             Browser, post(authorize::authorize_post)),
    oauth_route!(POST "/oauth/v2/authorize/login",       Browser, post(authorize::login)),
    oauth_route!(POST "/oauth/v2/authorize/consent",     Browser, post(authorize::consent)),
];

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
    let mut machine = Router::new();
    // The pages' one stylesheet, so that their CSP can say `style-src 'self'` instead of allowing inline
    // styles, and the web console's pages, which share the browser surface's bounds and headers. Not OAuth
    // endpoints, so not in the table.
    let mut browser = Router::new().route(pages::STYLESHEET_PATH, get(pages::stylesheet)).merge(crate::console::routes());
    for route in OAUTH_ROUTES {
        match route.surface {
            Surface::Machine => machine = machine.route(route.path, (route.handler)()),
            Surface::Browser => browser = browser.route(route.path, (route.handler)()),
        }
    }
    // Bounded inside the CORS layer, so that a browser's script can read a 408 or 413 too.
    let machine = bounded(machine, state.edge).layer(cors);
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
    let path = request.uri().path();
    // Everything but the machine endpoints is a page: the authorization pages and the console.
    let is_page = path.starts_with("/oauth/v2/authorize") || !(path.starts_with("/oauth/") || path.starts_with("/.well-known/"));
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
