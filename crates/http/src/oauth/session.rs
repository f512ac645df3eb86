//! Browser sessions at the authorization endpoint: a random secret in an `HttpOnly; SameSite=Lax` cookie
//! (plus `Secure` under an https issuer), stored hashed in the store so every node sees it. The CSRF token
//! is derived from the session secret and compared in constant time.

use axum::http::{HeaderMap, HeaderValue};
use gatehouse_domain::oauth::secret::constant_time_eq;
use gatehouse_domain::oauth::{BrowserSession, OpaqueSecret};
use gatehouse_domain::{Timestamp, UserId};

use crate::cookies;
use crate::state::AppState;

pub struct Session {
    pub secret: OpaqueSecret,
    pub record: BrowserSession,
}

impl Session {
    pub fn csrf(&self) -> String {
        self.secret.derive("gatehouse-csrf")
    }

    pub fn user(&self) -> Option<(UserId, Timestamp)> {
        self.record.user_id.zip(self.record.auth_time)
    }
}

fn secure(state: &AppState) -> bool {
    state.config.issuer.starts_with("https://")
}

pub async fn current(state: &AppState, headers: &HeaderMap) -> Result<Option<Session>, gatehouse_store::StoreError> {
    let now = state.clock.now();
    for value in cookies::named(headers, cookies::session_name(secure(state))) {
        let Some(secret) = OpaqueSecret::parse(&value) else { continue };
        if let Some(record) = state.store.session(&secret.hash()).await?
            && record.expires_at > now
        {
            return Ok(Some(Session { secret, record }));
        }
    }
    Ok(None)
}

/// A new session (anonymous, or logged in at `now`), stored, with its `Set-Cookie` value.
pub async fn create(
    state: &AppState,
    user: Option<UserId>,
) -> Result<(Session, HeaderValue), gatehouse_store::StoreError> {
    let now = state.clock.now();
    let secret = OpaqueSecret::generate();
    let ttl = state.oauth.settings.session_ttl_secs;
    let record = BrowserSession {
        hash: secret.hash(),
        user_id: user,
        auth_time: user.map(|_| now),
        created: now,
        expires_at: now.plus_secs(ttl),
    };
    state.store.insert_session(&record).await?;
    let value = cookies::session_set_cookie(secure(state), &secret.reveal(), ttl).unwrap_or_else(|_| HeaderValue::from_static(""));
    Ok((Session { secret, record }, value))
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
        Some(presented) if constant_time_eq(presented, &session.csrf()) => Ok(()),
        _ => Err(PostRejection::BadCsrf),
    }
}
