//! Browser sessions at the edge: the cookie that carries a session's secret (`HttpOnly; SameSite=Lax`,
//! plus `Secure` and the `__Host-` prefix under an https issuer), and the checks every form post passes.
//! The sessions themselves are the application's. Before sign-in a browser holds only a signed, stateless
//! pre-login cookie, so an anonymous request writes nothing durable.

use axum::http::{HeaderMap, HeaderValue};
use gatehouse_app::AppResult;
use gatehouse_app::authorization::Session;
use gatehouse_domain::oauth::prelogin::PreLogin;

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

/// The valid pre-login cookie the request carries, if any.
pub async fn prelogin(state: &AppState, headers: &HeaderMap) -> AppResult<Option<PreLogin>> {
    for value in cookies::named(headers, cookies::prelogin_name(secure(state))) {
        if let Some(prelogin) = state.app.prelogin(&value).await? {
            return Ok(Some(prelogin));
        }
    }
    Ok(None)
}

/// A new pre-login cookie, with its `Set-Cookie` value. Nothing is stored.
pub async fn start_prelogin(state: &AppState) -> AppResult<(PreLogin, HeaderValue)> {
    let prelogin = state.app.start_prelogin().await?;
    let ttl = (prelogin.expires_at.as_secs() - state.app.now().as_secs()).max(0);
    let value = cookies::prelogin_set_cookie(secure(state), &prelogin.value, ttl).unwrap_or_else(|_| HeaderValue::from_static(""));
    Ok((prelogin, value))
}

/// Who is posting a form: a signed-in session's browser, or an anonymous one with a pre-login cookie.
pub enum Visitor {
    Session(Session),
    PreLogin(PreLogin),
}

impl Visitor {
    pub fn csrf(&self) -> String {
        match self {
            Self::Session(session) => session.csrf(),
            Self::PreLogin(prelogin) => prelogin.csrf().to_string(),
        }
    }

    fn csrf_matches(&self, presented: &str) -> bool {
        match self {
            Self::Session(session) => session.csrf_matches(presented),
            Self::PreLogin(prelogin) => prelogin.csrf_matches(presented),
        }
    }

    pub fn session(&self) -> Option<&Session> {
        match self {
            Self::Session(session) => Some(session),
            Self::PreLogin(_) => None,
        }
    }
}

/// Why a form post is refused before anything else is looked at.
pub enum PostRejection {
    CrossSite,
    NoSession,
    BadCsrf,
}

/// Every state-changing form post: not cross-site (Fetch Metadata), a live session or a valid pre-login
/// cookie, and the CSRF token of the form rendered for it. Returns the one the token matched.
pub fn check_post(headers: &HeaderMap, visitors: Vec<Visitor>, csrf: Option<&str>) -> Result<Visitor, PostRejection> {
    if headers.get("sec-fetch-site").is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"cross-site")) {
        return Err(PostRejection::CrossSite);
    }
    if visitors.is_empty() {
        return Err(PostRejection::NoSession);
    }
    let presented = csrf.ok_or(PostRejection::BadCsrf)?;
    visitors.into_iter().find(|visitor| visitor.csrf_matches(presented)).ok_or(PostRejection::BadCsrf)
}
