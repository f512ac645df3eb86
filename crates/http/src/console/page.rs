//! What every console page shares: who is signed in (or the redirect to sign in), the checks every form
//! post passes, the layout's data, rendering with the console's security headers, and the one-time display
//! of a new secret.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use gatehouse_app::authorization::Session;
use gatehouse_app::{Actor, AppError};
use gatehouse_domain::User;

use crate::cookies;
use crate::oauth::form::Form;
use crate::oauth::pages::{self, DynPage};
use crate::oauth::session::{self, PostRejection, Visitor};
use crate::state::AppState;

/// The console's pages may run their one script (`/assets/console.js`, the copy buttons) and nothing else;
/// forms post only to this origin; nothing may frame them.
pub const CONSOLE_POLICY: &str =
    "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Where the layout loads the console's script from.
pub const SCRIPT_PATH: &str = "/assets/console.js";
const SCRIPT: &str = include_str!("../../templates/assets/console.js");

/// What the layout shows around every signed-in page: the navigation (with the current entry: `api`,
/// `apps`, `developer`, `profile`, `password` or `admin`), who is signed in, the sign-out form with its
/// CSRF token, and the notice a redirect asked for.
pub struct Chrome {
    pub user_name: String,
    pub user_email: String,
    pub is_admin: bool,
    pub csrf: String,
    pub current: &'static str,
    pub notice: Option<&'static str>,
}

/// A signed-in person on a console page. As an extractor it answers a visitor without a live session with
/// a redirect to the sign-in page, which brings them back here afterwards.
pub struct SignedIn {
    pub session: Session,
    pub user: User,
    pub peer: SocketAddr,
}

impl SignedIn {
    /// The user acting for themself, with every scope: the console is the user in person.
    pub fn actor(&self) -> Actor {
        Actor::operator(&self.user)
    }

    pub fn csrf(&self) -> String {
        self.session.csrf()
    }

    pub fn chrome(&self, current: &'static str, notice: Option<&'static str>) -> Chrome {
        Chrome {
            user_name: self.user.name.clone(),
            user_email: self.user.email.as_str().to_string(),
            is_admin: self.user.is_admin,
            csrf: self.csrf(),
            current,
            notice,
        }
    }

    /// The address the request came from, as the login throttle counts it.
    pub fn client_address(&self, state: &AppState, headers: &HeaderMap) -> std::net::IpAddr {
        crate::client_address::client_address(self.peer.ip(), headers, &state.trusted_proxies)
    }

    /// Parses a form post and checks it as every console post is checked: not cross-site (Fetch
    /// Metadata), and carrying this session's CSRF token.
    // The error is the page to answer with, built once per request on a path that ends the request:
    // boxing it would only add an allocation and noise to every handler.
    #[allow(clippy::result_large_err)]
    pub fn verify_form(&self, headers: &HeaderMap, body: &Bytes) -> Result<Form, Response> {
        let form = Form::parse(headers, body).map_err(|e| error_page(StatusCode::BAD_REQUEST, &e.description))?;
        let csrf = form.get("csrf").map_err(|e| error_page(StatusCode::BAD_REQUEST, &e.description))?;
        session::check_post(headers, vec![Visitor::Session(self.session.clone())], csrf).map_err(rejection_page)?;
        Ok(form)
    }
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|info| info.0)
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)));
        let back_to_sign_in = || sign_in_redirect(parts.uri.path_and_query().map_or("/", |p| p.as_str()));
        let Some(session) = session::current(state, &parts.headers).await.map_err(|e| internal(&e))? else {
            return Err(back_to_sign_in());
        };
        let Some((user_id, _)) = session.user() else { return Err(back_to_sign_in()) };
        match state.app.user(user_id).await.map_err(|e| internal(&e))? {
            Some(user) => Ok(SignedIn { session, user, peer }),
            None => Err(back_to_sign_in()),
        }
    }
}

/// 303 to the sign-in page, which returns to `next` (a local path) once signed in. A form post's target
/// is not a page to return to, so a post goes back to the console's start instead.
pub fn sign_in_redirect(next: &str) -> Response {
    let next = if is_local_path(next) { next } else { "/" };
    let query = form_urlencoded::Serializer::new(String::new()).append_pair("next", next).finish();
    see_other(&format!("/login?{query}"))
}

/// Whether `next` may be returned to after sign-in: a path on this site, never another origin (an open
/// redirect would let a phishing link bounce through us), so neither `//host` nor `/\host` nor a scheme.
pub fn is_local_path(next: &str) -> bool {
    next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && !next.chars().any(|c| c.is_control() || c == '\\')
}

/// 303 See Other: after a form post, the browser gets the next page, so a reload never posts again.
pub fn see_other(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

/// Renders a console page with the console's headers: its CSP, never cached, never framed.
pub fn render(status: StatusCode, template: &dyn DynPage) -> Response {
    let html = match template.render_page() {
        Ok(html) => html,
        Err(error) => return internal(&error),
    };
    let mut response = (status, Html(html)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONSOLE_POLICY));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// A page that says what went wrong, in the console's design, with the console's policy like every
/// console page.
pub fn error_page(status: StatusCode, message: &str) -> Response {
    let title = match status {
        StatusCode::NOT_FOUND => "Not found",
        StatusCode::FORBIDDEN => "Not allowed",
        StatusCode::TOO_MANY_REQUESTS => "Too many attempts",
        StatusCode::METHOD_NOT_ALLOWED => "Not available",
        status if status.is_server_error() => "Server error",
        _ => "That did not work",
    };
    let mut response = pages::error_titled(status, title, message);
    response.headers_mut().insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONSOLE_POLICY));
    response
}

/// A failure of ours: logged, and never shown.
pub fn internal(cause: &dyn std::fmt::Display) -> Response {
    tracing::error!(%cause, "internal error on a console page");
    error_page(StatusCode::INTERNAL_SERVER_ERROR, "The server failed to handle the request. Try again later.")
}

/// A console path asked with a method it does not take (`POST /`, `DELETE /login`…): a page that says so.
pub async fn method_not_allowed() -> Response {
    error_page(StatusCode::METHOD_NOT_ALLOWED, "This page cannot be used that way. Go back and use its links and buttons.")
}

/// An application error on a page that has no form to show it on.
pub fn app_error(error: &AppError) -> Response {
    match error {
        AppError::Invalid(detail) | AppError::Conflict(detail) => error_page(StatusCode::BAD_REQUEST, detail),
        AppError::NotFound(detail) => error_page(StatusCode::NOT_FOUND, detail),
        AppError::Forbidden(detail) => error_page(StatusCode::FORBIDDEN, detail),
        AppError::Unauthenticated(_) => sign_in_redirect("/"),
        AppError::RateLimited { detail, .. } => error_page(StatusCode::TOO_MANY_REQUESTS, detail),
        other => internal(other),
    }
}

/// The message a form shows for an application error it can show, or the error page for one it cannot.
// The error is the page to answer with, built once per request on a path that ends the request:
// boxing it would only add an allocation and noise to every handler.
#[allow(clippy::result_large_err)]
pub fn form_message(error: AppError) -> Result<String, Response> {
    match error {
        AppError::Invalid(detail) | AppError::Conflict(detail) | AppError::Forbidden(detail) => Ok(detail),
        other => Err(app_error(&other)),
    }
}

pub fn rejection_page(rejection: PostRejection) -> Response {
    match rejection {
        PostRejection::CrossSite => error_page(StatusCode::FORBIDDEN, "Cross-site form submissions are refused."),
        PostRejection::NoSession => error_page(StatusCode::BAD_REQUEST, "Your session has expired. Sign in again."),
        PostRejection::BadCsrf => error_page(StatusCode::FORBIDDEN, "The form is stale or was not sent by this site. Reload the page and try again."),
    }
}

/// A new secret, shown once on the page a redirect leads to: sealed to the session (see
/// `gatehouse_domain::sealed`) in a cookie that only the next page reads, then cleared.
pub struct Reveal;

impl Reveal {
    /// The `Set-Cookie` that carries `value` to the next page.
    // The error is the page to answer with, built once per request on a path that ends the request:
    // boxing it would only add an allocation and noise to every handler.
    #[allow(clippy::result_large_err)]
    pub fn carry(state: &AppState, signed_in: &SignedIn, purpose: &str, value: &str) -> Result<HeaderValue, Response> {
        let sealed = state.app.seal_for_session(&signed_in.session, purpose, value).map_err(|e| internal(&e))?;
        cookies::reveal_set_cookie(is_secure(state), &sealed).map_err(|e| internal(&e))
    }

    /// The value carried for `purpose`, if this request carries one, with the `Set-Cookie` that clears it:
    /// a reload shows nothing.
    pub fn take(state: &AppState, signed_in: &SignedIn, headers: &HeaderMap, purpose: &str) -> Option<(String, HeaderValue)> {
        let value = cookies::named(headers, cookies::reveal_name(is_secure(state)))
            .iter()
            .find_map(|sealed| state.app.open_for_session(&signed_in.session, purpose, sealed))?;
        let clear = cookies::reveal_clear_cookie(is_secure(state)).ok()?;
        Some((value, clear))
    }
}

pub fn is_secure(state: &AppState) -> bool {
    state.issuer().starts_with("https://")
}

/// `?done=<key>`: what the redirect after a form post says happened (see [`notice`]).
#[derive(serde::Deserialize)]
pub struct DoneQuery {
    done: Option<String>,
}

impl DoneQuery {
    pub fn done(&self) -> Option<&str> {
        self.done.as_deref()
    }
}

/// A short success message named by a fixed key in the query (`?done=deleted`): the redirect after a form
/// post says what happened, without carrying any text of the visitor's.
pub fn notice(done: Option<&str>, messages: &[(&str, &'static str)]) -> Option<&'static str> {
    let done = done?;
    messages.iter().find(|(key, _)| *key == done).map(|(_, message)| *message)
}

/// `GET /assets/console.js`: the console's one script (the copy buttons). Everything works without it.
pub async fn script() -> Response {
    let mut response = SCRIPT.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/javascript; charset=utf-8"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    response
}

const FAVICON: &str = include_str!("../../templates/assets/favicon.svg");

/// `GET /assets/favicon.svg`: browsers ask for an icon on every page; without one they log a 404.
pub async fn favicon() -> Response {
    let mut response = FAVICON.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/svg+xml"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=86400"));
    response
}

/// A timestamp as the console shows it: a date and a time to the minute, in UTC.
pub fn when(timestamp: gatehouse_domain::Timestamp) -> String {
    let iso = timestamp.to_iso();
    // "2026-12-01T05:22:43.000Z" → "2026-12-01 05:22 UTC"
    match (iso.get(..10), iso.get(11..16)) {
        (Some(date), Some(time)) => format!("{date} {time} UTC"),
        _ => iso,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_returned_to_after_sign_in() {
        for good in ["/", "/user/api", "/user/api?x=1"] {
            assert!(is_local_path(good), "{good}");
        }
        for bad in ["https://evil.example/", "//evil.example/", "/\\evil.example", "evil", "", "/\r\nSet-Cookie:x", "javascript:alert(1)"] {
            assert!(!is_local_path(bad), "{bad:?}");
        }
    }

    #[test]
    fn a_redirect_to_sign_in_keeps_a_local_next_and_drops_a_foreign_one() {
        let location = |response: Response| response.headers()[header::LOCATION].to_str().expect("text").to_string();
        assert_eq!(location(sign_in_redirect("/user/api?a=b")), "/login?next=%2Fuser%2Fapi%3Fa%3Db");
        assert_eq!(location(sign_in_redirect("//evil.example")), "/login?next=%2F");
    }

    #[test]
    fn console_error_pages_carry_the_console_policy() {
        let response = error_page(StatusCode::FORBIDDEN, "No.");
        assert_eq!(response.headers()[header::CONTENT_SECURITY_POLICY], CONSOLE_POLICY);
        assert_eq!(internal(&"boom").headers()[header::CONTENT_SECURITY_POLICY], CONSOLE_POLICY);
    }

    #[test]
    fn notices_come_only_from_the_fixed_list() {
        let messages = [("deleted", "The token was deleted.")];
        assert_eq!(notice(Some("deleted"), &messages), Some("The token was deleted."));
        assert_eq!(notice(Some("<script>"), &messages), None);
        assert_eq!(notice(None, &messages), None);
    }

    #[test]
    fn times_are_shown_to_the_minute_in_utc() {
        assert_eq!(when(gatehouse_domain::Timestamp::from_millis(0)), "1970-01-01 00:00 UTC");
    }
}
