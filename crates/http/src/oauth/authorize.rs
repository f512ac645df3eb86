//! `GET /oauth/v2/authorize` and its login and consent forms (RFC 6749 §4.1.1–4.1.2, OIDC Core §3.1.2).
//!
//! The authorization request is carried through the forms as its original query (a hidden input) and
//! validated again on every step, so nothing about it is trusted from the browser.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use gatehouse_domain::oauth::authorize::{self, AuthorizationRequest, AuthorizeError, RawParams, RedirectError};
use gatehouse_domain::oauth::grant::needs_consent;
use gatehouse_domain::oauth::secret::random_id;
use gatehouse_domain::oauth::{AuthorizationCode, OpaqueSecret, TokenFamily};
use gatehouse_domain::{Email, Page, SortDir, SortKey, User, password};

use super::form::Form;
use super::pages::{self, ConsentView};
use super::runtime::{MAX_FAILURES_PER_ACCOUNT, MAX_FAILURES_PER_ADDRESS};
use super::session::{self, PostRejection, Session};
use crate::state::AppState;

type Outcome = Result<Response, Response>;

fn internal(cause: &dyn std::fmt::Display) -> Response {
    tracing::error!(%cause, "internal error at the authorization endpoint");
    pages::error(StatusCode::INTERNAL_SERVER_ERROR, "The server failed to handle the request. Try again later.")
}

/// Appends parameters to a redirect URI that may already have a query (RFC 6749 §3.1.2: it must be kept).
fn redirect_to(uri: &str, params: &[(&str, &str)], see_other: bool) -> Response {
    let mut location = uri.to_string();
    if !params.is_empty() {
        location.push(if uri.contains('?') { '&' } else { '?' });
        location.push_str(&form_urlencoded::Serializer::new(String::new()).extend_pairs(params).finish());
    }
    let status = if see_other { StatusCode::SEE_OTHER } else { StatusCode::FOUND };
    let mut response = status.into_response();
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// An error reported to the client, with `state` and, per RFC 9207, `iss`.
fn redirect_error(state: &AppState, error: &RedirectError, see_other: bool) -> Response {
    let mut params = vec![("error", error.error), ("error_description", error.description.as_str())];
    if let Some(value) = &error.state {
        params.push(("state", value));
    }
    params.push(("iss", &state.config.issuer));
    redirect_to(error.redirect_uri.as_str(), &params, see_other)
}

fn error_for(state: &AppState, request: &AuthorizationRequest, error: &'static str, description: &str, see_other: bool) -> Response {
    redirect_error(
        state,
        &RedirectError {
            redirect_uri: request.redirect_uri.clone(),
            state: request.state.clone(),
            error,
            description: description.to_string(),
        },
        see_other,
    )
}

async fn validated(state: &AppState, params: &RawParams, see_other: bool) -> Result<AuthorizationRequest, Response> {
    let client_id = authorize::client_id_of(params).map_err(|e| pages::error(StatusCode::BAD_REQUEST, &e.0))?;
    let client = state.store.oauth_client(&client_id).await.map_err(|e| internal(&e))?;
    authorize::validate(params, client).map_err(|error| match error {
        AuthorizeError::Unsafe(error) => pages::error(StatusCode::BAD_REQUEST, &error.0),
        AuthorizeError::Redirect(error) => redirect_error(state, &error, see_other),
    })
}

pub async fn authorize(State(state): State<AppState>, headers: HeaderMap, RawQuery(query): RawQuery) -> Response {
    start(&state, &headers, RawParams::parse(query.as_deref().unwrap_or(""))).await
}

/// The same request as a form post (OIDC Core §3.1.2.1). It changes nothing by itself, so it needs no CSRF
/// token: everything that changes state happens on the login and consent forms.
pub async fn authorize_post(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    match Form::parse(&headers, &body) {
        Ok(form) => start(&state, &headers, RawParams(form.0)).await,
        Err(error) => pages::error(StatusCode::BAD_REQUEST, &error.description),
    }
}

async fn start(state: &AppState, headers: &HeaderMap, params: RawParams) -> Response {
    let request = match validated(state, &params, false).await {
        Ok(request) => request,
        Err(response) => return response,
    };
    let session = match session::current(state, headers).await {
        Ok(session) => session,
        Err(error) => return internal(&error),
    };
    proceed(state, &request, session, None, false, false).await.unwrap_or_else(|response| response)
}

/// Login if needed, then consent if needed, then the code. `fresh_login` is set right after the user
/// signed in on this request, so `prompt=login` and `max_age` are satisfied.
async fn proceed(
    state: &AppState,
    request: &AuthorizationRequest,
    session: Option<Session>,
    set_cookie: Option<HeaderValue>,
    fresh_login: bool,
    see_other: bool,
) -> Outcome {
    let now = state.clock.now();
    let logged_in = session.as_ref().and_then(Session::user);
    let must_login = match logged_in {
        None => true,
        Some(_) if fresh_login => false,
        Some((_, auth_time)) => {
            request.prompt.login
                || request.max_age.is_some_and(|max_age| now.as_millis() - auth_time.as_millis() > max_age.saturating_mul(1000))
        }
    };
    if must_login {
        if request.prompt.none {
            return Err(error_for(state, request, "login_required", "The user is not signed in.", see_other));
        }
        let (session, cookie) = match session {
            Some(session) => (session, set_cookie),
            None => {
                let (session, cookie) = session::create(state, None).await.map_err(|e| internal(&e))?;
                (session, Some(cookie))
            }
        };
        let mut response = pages::login(
            StatusCode::OK,
            &session.csrf(),
            &request.raw.to_query(),
            &request.client.name,
            request.login_hint.as_deref(),
            None,
        );
        with_cookie(&mut response, cookie);
        return Ok(response);
    }
    let Some(session) = session else { return Err(internal(&"logged in without a session")) };
    let Some((user_id, auth_time)) = session.user() else { return Err(internal(&"logged in without a user")) };
    let user = state.store.user_by_id(user_id).await.map_err(|e| internal(&e))?;
    let Some(user) = user else {
        return Err(pages::error(StatusCode::BAD_REQUEST, "Your account no longer exists."));
    };
    let remembered = state.store.live_grant(user.id, &request.client.id).await.map_err(|e| internal(&e))?;
    let mut response = if needs_consent(remembered.as_ref(), request.scopes, request.prompt) {
        if request.prompt.none {
            return Err(error_for(state, request, "consent_required", "The user has not consented to these scopes.", see_other));
        }
        consent_page(state, request, &session, &user, remembered.and_then(|g| g.organization_id), None, StatusCode::OK).await?
    } else {
        let grant = remembered.ok_or_else(|| internal(&"consent remembered without a grant"))?;
        issue_code(state, request, &user, grant.id, grant.organization_id, auth_time, see_other).await?
    };
    with_cookie(&mut response, set_cookie);
    Ok(response)
}

fn with_cookie(response: &mut Response, cookie: Option<HeaderValue>) {
    if let Some(cookie) = cookie {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
}

async fn organizations_of(state: &AppState, user: &User) -> Result<Vec<gatehouse_domain::Organization>, Response> {
    let page = Page { sort_by: SortKey::Name, sort_dir: SortDir::Asc, ..Page::default() };
    state.store.organizations_of_user(user.id, page).await.map_err(|e| internal(&e))
}

async fn consent_page(
    state: &AppState,
    request: &AuthorizationRequest,
    session: &Session,
    user: &User,
    selected: Option<i64>,
    message: Option<&str>,
    status: StatusCode,
) -> Outcome {
    let organizations = organizations_of(state, user).await?;
    Ok(pages::consent(
        status,
        &ConsentView {
            csrf: &session.csrf(),
            request: &request.raw.to_query(),
            client_name: &request.client.name,
            client_description: &request.client.description,
            user_email: user.email.as_str(),
            scopes: request.scopes,
            organizations: &organizations,
            selected,
            message,
        },
    ))
}

/// RFC 6749 §4.1.2: a single-use code bound to the client, the redirect URI and the PKCE challenge.
async fn issue_code(
    state: &AppState,
    request: &AuthorizationRequest,
    user: &User,
    grant_id: i64,
    organization_id: Option<i64>,
    auth_time: gatehouse_domain::Timestamp,
    see_other: bool,
) -> Outcome {
    let now = state.clock.now();
    let family = TokenFamily {
        id: random_id(),
        client_id: request.client.id.clone(),
        user_id: Some(user.id),
        grant_id: Some(grant_id),
        created: now,
        revoked_at: None,
    };
    state.store.insert_family(&family).await.map_err(|e| internal(&e))?;
    let secret = OpaqueSecret::generate();
    let code = AuthorizationCode {
        hash: secret.hash(),
        client_id: request.client.id.clone(),
        user_id: user.id,
        grant_id,
        family_id: family.id,
        redirect_uri: request.redirect_uri.clone(),
        scopes: request.scopes,
        organization_id,
        challenge: request.challenge.clone(),
        nonce: request.nonce.clone(),
        auth_time,
        created: now,
        expires_at: now.plus_secs(state.oauth.settings.code_ttl_secs),
        used_at: None,
    };
    state.store.insert_code(&code).await.map_err(|e| internal(&e))?;
    let code_text = secret.reveal();
    let mut params = vec![("code", code_text.as_str())];
    if let Some(value) = &request.state {
        params.push(("state", value));
    }
    // RFC 9207 §2: identify ourselves, so the client can detect mix-up attacks.
    params.push(("iss", &state.config.issuer));
    Ok(redirect_to(request.redirect_uri.as_str(), &params, see_other))
}

fn rejection_page(rejection: PostRejection) -> Response {
    match rejection {
        PostRejection::CrossSite => pages::error(StatusCode::FORBIDDEN, "Cross-site form submissions are refused."),
        PostRejection::NoSession => {
            pages::error(StatusCode::BAD_REQUEST, "Your session has expired. Go back to the application and start again.")
        }
        PostRejection::BadCsrf => pages::error(StatusCode::FORBIDDEN, "The form is stale or was not sent by this site. Start again."),
    }
}

/// Parses a browser form post and runs the checks every post needs.
async fn form_post(state: &AppState, headers: &HeaderMap, body: &Bytes) -> Result<(Form, Session, AuthorizationRequest), Response> {
    let form = Form::parse(headers, body).map_err(|e| pages::error(StatusCode::BAD_REQUEST, &e.description))?;
    let session = session::current(state, headers).await.map_err(|e| internal(&e))?;
    let csrf = form.get("csrf").map_err(|e| pages::error(StatusCode::BAD_REQUEST, &e.description))?;
    session::check_post(headers, session.as_ref(), csrf).map_err(rejection_page)?;
    let Some(session) = session else { return Err(rejection_page(PostRejection::NoSession)) };
    let raw = form.get("request").ok().flatten().unwrap_or("");
    let request = validated(state, &RawParams::parse(raw), true).await?;
    Ok((form, session, request))
}

pub async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (form, session, request) = match form_post(&state, &headers, &body).await {
        Ok(parts) => parts,
        Err(response) => return response,
    };
    let now = state.clock.now();
    let email_text = form.get("email").ok().flatten().unwrap_or("").to_string();
    let password_text = form.get("password").ok().flatten().unwrap_or("").to_string();
    let retry = |status: StatusCode, message: &str| {
        pages::login(status, &session.csrf(), &request.raw.to_query(), &request.client.name, Some(&email_text), Some(message))
    };
    let email = Email::parse(&email_text).ok();
    // The socket peer, never X-Forwarded-For: a header is whatever the attacker wants it to be.
    let keys = vec![
        (format!("account:{}", email.as_ref().map_or(email_text.to_lowercase(), |e| e.as_str().to_string())), MAX_FAILURES_PER_ACCOUNT),
        (format!("address:{}", peer.ip()), MAX_FAILURES_PER_ADDRESS),
    ];
    if let Some(wait) = state.oauth.throttle.retry_after(&keys, now) {
        let mut response = retry(StatusCode::TOO_MANY_REQUESTS, &format!("Too many failed sign-ins. Try again in {} minutes.", (wait + 59) / 60));
        if let Ok(value) = HeaderValue::from_str(&wait.to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        return response;
    }
    let user = match &email {
        Some(email) => match state.store.user_by_email(email).await {
            Ok(user) => user,
            Err(error) => return internal(&error),
        },
        None => None,
    };
    if !verify_password(&state, user.as_ref(), password_text).await {
        state.oauth.throttle.record_failure(&keys, now);
        tracing::info!(peer = %peer.ip(), "failed sign-in at the authorization endpoint");
        return retry(StatusCode::UNAUTHORIZED, "The email or password is incorrect.");
    }
    let Some(user) = user else { return internal(&"verified a password without a user") };
    state.oauth.throttle.clear(&keys[0].0);
    // A new session id at login, so a session planted before login is worth nothing (session fixation).
    if let Err(error) = state.store.delete_session(&session.record.hash).await {
        return internal(&error);
    }
    let (session, cookie) = match session::create(&state, Some(user.id)).await {
        Ok(created) => created,
        Err(error) => return internal(&error),
    };
    proceed(&state, &request, Some(session), Some(cookie), true, true).await.unwrap_or_else(|response| response)
}

/// argon2id off the async threads, at most two at once. An unknown account is checked against a dummy
/// hash so that it takes as long as a wrong password.
async fn verify_password(state: &AppState, user: Option<&User>, presented: String) -> bool {
    let Ok(_permit) = state.oauth.hashing.acquire().await else { return false };
    let phc = user.and_then(|u| u.password_hash.clone());
    let known = phc.is_some();
    let phc = phc.unwrap_or_else(|| password::dummy_hash().to_string());
    let verified = tokio::task::spawn_blocking(move || password::verify(&presented, &phc)).await.unwrap_or(false);
    verified && known
}

pub async fn consent(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let (form, session, request) = match form_post(&state, &headers, &body).await {
        Ok(parts) => parts,
        Err(response) => return response,
    };
    let Some((user_id, auth_time)) = session.user() else {
        return pages::error(StatusCode::BAD_REQUEST, "You are not signed in. Go back to the application and start again.");
    };
    let user = match state.store.user_by_id(user_id).await {
        Ok(Some(user)) => user,
        Ok(None) => return pages::error(StatusCode::BAD_REQUEST, "Your account no longer exists."),
        Err(error) => return internal(&error),
    };
    match form.get("decision").ok().flatten() {
        Some("allow") => {}
        Some("deny") => return error_for(&state, &request, "access_denied", "The user denied access.", true),
        _ => return pages::error(StatusCode::BAD_REQUEST, "Choose Allow or Deny."),
    }
    let organizations = match organizations_of(&state, &user).await {
        Ok(orgs) => orgs,
        Err(response) => return response,
    };
    let chosen = form.get("organizationId").ok().flatten().and_then(|v| v.parse::<i64>().ok());
    let organization_id = match (organizations.is_empty(), chosen) {
        (true, _) => None,
        (false, Some(id)) if organizations.iter().any(|org| org.id == id) => Some(id),
        (false, _) => {
            return consent_page(&state, &request, &session, &user, None, Some("Choose one of your organizations."), StatusCode::BAD_REQUEST)
                .await
                .unwrap_or_else(|response| response);
        }
    };
    let now = state.clock.now();
    // Consent accumulates for the same organization; choosing another organization starts afresh.
    let scopes = match state.store.live_grant(user.id, &request.client.id).await {
        Ok(Some(grant)) if grant.organization_id == organization_id => grant.scopes.union(request.scopes),
        Ok(_) => request.scopes,
        Err(error) => return internal(&error),
    };
    let grant = match state.store.save_grant(user.id, &request.client.id, organization_id, scopes, now).await {
        Ok(grant) => grant,
        Err(error) => return internal(&error),
    };
    issue_code(&state, &request, &user, grant.id, organization_id, auth_time, true).await.unwrap_or_else(|response| response)
}
