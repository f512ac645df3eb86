//! Browser sessions at the edge: the cookie that carries a session's secret (`HttpOnly; SameSite=Lax`,
//! plus `Secure` and the `__Host-` prefix under an https issuer), and the checks every form post passes.
//! The sessions themselves are the application's.

use axum::http::{HeaderMap, HeaderValue};
use gatehouse_app::AppResult;
use gatehouse_app::authorization::Session;
use gatehouse_domain::UserId;

use crate::cookies;
use crate::state::AppState;

fn secure(state: &AppState) -> bool {
    state.issuer().starts_with("https://")
}

/// The live session the request's cookie names, if any.
pub async fn current(state: &AppState, headers: &HeaderMap) -> AppResult<Option<Session>> {
    for value in cookies::named(headers, cookies::session_name(secure(state))) {
        if let Some(session) = state.app.session(&value).await? {
            return Ok(Some(session));
        }
    }
    Ok(None)
}

/// The `Set-Cookie` value that hands a session to the browser.
pub fn cookie(state: &AppState, session: &Session) -> HeaderValue {
    let ttl = state.app.settings.oauth.session_ttl_secs;
    cookies::session_set_cookie(secure(state), &session.secret.reveal(), ttl).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// A new session (anonymous, or signed in now), with its `Set-Cookie` value.
pub async fn create(state: &AppState, user: Option<UserId>) -> AppResult<(Session, HeaderValue)> {
    let session = state.app.create_session(user).await?;
    let value = cookie(state, &session);
    Ok((session, value))
}

/// Why a form post is refused before anything else is looked at.
pub enum PostRejection {
    CrossSite,
    NoSession,
    BadCsrf,
}

/// Every state-changing form post: not cross-site (Fetch Metadata), a live session, and its CSRF token.
pub fn check_post(headers: &HeaderMap, session: Option<&Session>, csrf: Option<&str>) -> Result<(), PostRejection> {
    if headers.get("sec-fetch-site").is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"cross-site")) {
        return Err(PostRejection::CrossSite);
    }
    let session = session.ok_or(PostRejection::NoSession)?;
    match csrf {
        Some(presented) if session.csrf_matches(presented) => Ok(()),
        _ => Err(PostRejection::BadCsrf),
    }
}
