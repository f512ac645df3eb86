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
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, Method, header};
use axum::routing::{get, post};
use tower_http::cors::{Any, CorsLayer};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::state::{AppState, MAX_BODY_BYTES};

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
        .route("/.well-known/oauth-authorization-server", get(discovery::openid_configuration))
        .layer(cors);
    Router::new()
        // OIDC Core §3.1.2.1: the authorization endpoint takes GET and form POST alike.
        .route("/oauth/v2/authorize", get(authorize::authorize).post(authorize::authorize_post))
        .route("/oauth/v2/authorize/login", post(authorize::login))
        .route("/oauth/v2/authorize/consent", post(authorize::consent))
        // The pages' one stylesheet, so that their CSP can say `style-src 'self'` instead of allowing
        // inline styles.
        .route(pages::STYLESHEET_PATH, get(pages::stylesheet))
        .merge(machine)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(SetResponseHeaderLayer::overriding(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(SetResponseHeaderLayer::overriding(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        .layer(SetResponseHeaderLayer::overriding(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
        ))
        .with_state(state)
}
