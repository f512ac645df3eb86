//! `GET /oauth/v2/authorize` and its login and consent forms (RFC 6749 §4.1.1–4.1.2, OIDC Core §3.1.2).
//!
//! The authorization request is carried through the forms as its original query (a hidden input) and
//! validated again on every step, so nothing about it is trusted from the browser.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use gatehouse_app::authorization::{self, ConsentOutcome, Decision, LoginOutcome, Session};
use gatehouse_domain::oauth::authorize::{AuthorizationRequest, AuthorizeError, RawParams, RedirectError};
use gatehouse_domain::oauth::prelogin::PreLogin;

use super::form::Form;
use super::pages::{self, ConsentView};
use super::session::{self, PostRejection, Visitor};
use crate::state::AppState;

type Outcome = Result<Response, Response>;

/// The authorization request (RFC 6749 §4.1.1, RFC 7636 §4.3, OIDC Core §3.1.2.1), in the query of a GET
/// or the form of a POST. The domain reads it (`AuthorizationRequest`); this type describes it.
#[derive(utoipa::IntoParams, utoipa::ToSchema)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct AuthorizationParams {
    /// Always `code`.
    response_type: String,
    client_id: String,
    /// One of the client's registered redirect URIs; may be left out when it has exactly one.
    redirect_uri: Option<String>,
    /// Space-delimited scopes, at most those the client was approved for.
    scope: String,
    /// Returned as it is with the code or the error.
    state: Option<String>,
    /// The PKCE challenge (RFC 7636 §4.2); required of public clients.
    code_challenge: Option<String>,
    /// Only `S256`.
    code_challenge_method: Option<String>,
    /// Only `query`.
    response_mode: Option<String>,
    /// `none`, `login`, `consent` or `select_account`, space-delimited.
    prompt: Option<String>,
    /// Seconds since the user last signed in, at most.
    max_age: Option<u64>,
    /// Copied into the ID token.
    nonce: Option<String>,
    /// Fills in the login form's email.
    login_hint: Option<String>,
}

/// The sign-in form that the login page posts. A browser's, with the page's CSRF token and cookie.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct LoginForm {
    /// The token the login page carries, bound to the browser's cookie.
    csrf: String,
    /// The authorization request's query, as the page carries it.
    request: String,
    email: String,
    #[schema(format = Password)]
    password: String,
}

/// The consent form that the consent page posts. A browser's, with the page's CSRF token and cookie.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct ConsentForm {
    /// The token the consent page carries, bound to the session.
    csrf: String,
    /// The authorization request's query, as the page carries it.
    request: String,
    /// `allow` or `deny`.
    decision: String,
    /// The organization the grant is limited to, when the user belongs to several.
    #[schema(rename = "organizationId")]
    organization_id: Option<i64>,
}

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
    params.push(("iss", state.issuer()));
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
    match state.app.validate_authorization(params).await {
        Ok(Ok(request)) => Ok(request),
        Ok(Err(AuthorizeError::Unsafe(error))) => Err(pages::error(StatusCode::BAD_REQUEST, &error.0)),
        Ok(Err(AuthorizeError::Redirect(error))) => Err(redirect_error(state, &error, see_other)),
        Err(error) => Err(internal(&error)),
    }
}

/// The authorization endpoint, for a browser: a login page, a consent page, or a redirect to the client with
/// a code or an error.
#[utoipa::path(get, path = "/oauth/v2/authorize", tag = "oauth", operation_id = "oauth-authorize",
    params(AuthorizationParams),
    responses(
        (status = 200, description = "The login or consent page.", content_type = "text/html"),
        (status = 302, description = "To the client's redirect URI, with `code` and `state`, or `error` (RFC 6749 §4.1.2), and `iss` (RFC 9207)."),
        (status = 400, description = "A page saying why: the client or redirect URI is unknown, so nothing is sent to it (RFC 6749 §4.1.2.1).", content_type = "text/html"),
    ))]
pub async fn authorize(State(state): State<AppState>, headers: HeaderMap, RawQuery(query): RawQuery) -> Response {
    start(&state, &headers, RawParams::parse(query.as_deref().unwrap_or(""))).await
}

/// The same request as a form post (OIDC Core §3.1.2.1). It changes nothing by itself, so it needs no CSRF
/// token: everything that changes state happens on the login and consent forms.
#[utoipa::path(post, path = "/oauth/v2/authorize", tag = "oauth", operation_id = "oauth-authorize-post",
    request_body(content = AuthorizationParams, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "The login or consent page.", content_type = "text/html"),
        (status = 302, description = "To the client's redirect URI, with `code` and `state`, or `error` (RFC 6749 §4.1.2), and `iss` (RFC 9207)."),
        (status = 400, description = "A page saying why: the client or redirect URI is unknown, so nothing is sent to it (RFC 6749 §4.1.2.1).", content_type = "text/html"),
    ))]
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
    // An anonymous browser that already holds a pre-login cookie keeps it, so two tabs do not invalidate
    // each other's login forms.
    let prelogin = match session {
        Some(_) => None,
        None => match session::prelogin(state, headers).await {
            Ok(prelogin) => prelogin,
            Err(error) => return internal(&error),
        },
    };
    proceed(state, &request, session, prelogin, None, false, false).await.unwrap_or_else(|response| response)
}

/// Renders the application's decision: the login page (its CSRF token bound to the session, or to a
/// stateless pre-login cookie when nobody is signed in), the consent page, or a redirect to the client.
async fn proceed(
    state: &AppState,
    request: &AuthorizationRequest,
    session: Option<Session>,
    prelogin: Option<PreLogin>,
    set_cookie: Option<HeaderValue>,
    fresh_login: bool,
    see_other: bool,
) -> Outcome {
    let decision = state.app.decide(request, session.as_ref(), fresh_login).await.map_err(|e| internal(&e))?;
    let mut response = match decision {
        Decision::LoginRequired => {
            return Err(error_for(state, request, "login_required", "The user is not signed in.", see_other));
        }
        Decision::ConsentRequired => {
            return Err(error_for(state, request, "consent_required", "The user has not consented to these scopes.", see_other));
        }
        Decision::AccountGone => return Err(pages::error(StatusCode::BAD_REQUEST, "Your account no longer exists.")),
        Decision::Login => {
            // Nothing durable for an anonymous visitor (issue 10, hole 6): the form's CSRF token is bound
            // to a signed cookie, and the session row is written only once the password checks out.
            let (csrf, cookie) = match (session, prelogin) {
                (Some(session), _) => (session.csrf(), set_cookie),
                (None, Some(prelogin)) => (prelogin.csrf().to_string(), set_cookie),
                (None, None) => {
                    let (prelogin, cookie) = session::start_prelogin(state).await.map_err(|e| internal(&e))?;
                    (prelogin.csrf().to_string(), Some(cookie))
                }
            };
            let mut response = pages::login(
                StatusCode::OK,
                &csrf,
                &request.raw.to_query(),
                &request.client.name,
                request.login_hint.as_deref(),
                None,
            );
            with_cookie(&mut response, cookie);
            return Ok(response);
        }
        Decision::Consent(view) => {
            let Some(session) = session.as_ref() else { return Err(internal(&"consent without a session")) };
            consent_page(request, session, &view, None, StatusCode::OK)
        }
        Decision::Code(code) => code_redirect(state, request, &code, see_other),
    };
    with_cookie(&mut response, set_cookie);
    Ok(response)
}

fn with_cookie(response: &mut Response, cookie: Option<HeaderValue>) {
    if let Some(cookie) = cookie {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
}

fn consent_page(
    request: &AuthorizationRequest,
    session: &Session,
    view: &authorization::ConsentView,
    message: Option<&str>,
    status: StatusCode,
) -> Response {
    pages::consent(
        status,
        &ConsentView {
            csrf: &session.csrf(),
            request: &request.raw.to_query(),
            client_name: &request.client.name,
            client_description: &request.client.description,
            user_email: view.user.email.as_str(),
            scopes: request.scopes,
            organizations: &view.organizations,
            selected: view.selected,
            message,
        },
    )
}

/// RFC 6749 §4.1.2: the code, `state`, and (RFC 9207 §2) our issuer, so the client can detect mix-up.
fn code_redirect(state: &AppState, request: &AuthorizationRequest, code: &str, see_other: bool) -> Response {
    let mut params = vec![("code", code)];
    if let Some(value) = &request.state {
        params.push(("state", value));
    }
    params.push(("iss", state.issuer()));
    redirect_to(request.redirect_uri.as_str(), &params, see_other)
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
async fn form_post(state: &AppState, headers: &HeaderMap, body: &Bytes) -> Result<(Form, Visitor, AuthorizationRequest), Response> {
    let form = Form::parse(headers, body).map_err(|e| pages::error(StatusCode::BAD_REQUEST, &e.description))?;
    let session = session::current(state, headers).await.map_err(|e| internal(&e))?;
    let prelogin = session::prelogin(state, headers).await.map_err(|e| internal(&e))?;
    let visitors: Vec<Visitor> = session.map(Visitor::Session).into_iter().chain(prelogin.map(Visitor::PreLogin)).collect();
    let csrf = form.get("csrf").map_err(|e| pages::error(StatusCode::BAD_REQUEST, &e.description))?;
    let visitor = session::check_post(headers, visitors, csrf).map_err(rejection_page)?;
    let raw = form.get("request").ok().flatten().unwrap_or("");
    let request = validated(state, &RawParams::parse(raw), true).await?;
    Ok((form, visitor, request))
}

/// The login page's form: for the browser on the authorization page, not for API clients.
#[utoipa::path(post, path = "/oauth/v2/authorize/login", tag = "oauth-pages", operation_id = "oauth-authorize-login",
    request_body(content = LoginForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "The consent page.", content_type = "text/html"),
        (status = 303, description = "To the client's redirect URI, with a code or an error."),
        (status = 400, description = "A page saying why the form was refused.", content_type = "text/html"),
        (status = 401, description = "The login page again: the email or password is incorrect.", content_type = "text/html"),
        (status = 403, description = "A page: the CSRF token or cookie does not match.", content_type = "text/html"),
        (status = 429, description = "The login page again: too many failed sign-ins, with Retry-After.", content_type = "text/html"),
    ))]
pub async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (form, visitor, request) = match form_post(&state, &headers, &body).await {
        Ok(parts) => parts,
        Err(response) => return response,
    };
    let email = form.get("email").ok().flatten().unwrap_or("").to_string();
    let password = form.get("password").ok().flatten().unwrap_or("").to_string();
    let retry = |status: StatusCode, message: &str| {
        pages::login(status, &visitor.csrf(), &request.raw.to_query(), &request.client.name, Some(&email), Some(message))
    };
    // The socket peer, unless it is a trusted proxy: a header from anyone else is whatever they want it to be.
    let client = crate::client_address::client_address(peer.ip(), &headers, &state.trusted_proxies);
    match state.app.sign_in(visitor.session(), &email, password, client).await {
        Err(error) => internal(&error),
        Ok(LoginOutcome::Throttled { retry_after_secs }) => {
            let minutes = (retry_after_secs + 59) / 60;
            let mut response = retry(StatusCode::TOO_MANY_REQUESTS, &format!("Too many failed sign-ins. Try again in {minutes} minutes."));
            if let Ok(value) = HeaderValue::from_str(&retry_after_secs.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            response
        }
        Ok(LoginOutcome::Refused) => retry(StatusCode::UNAUTHORIZED, "The email or password is incorrect."),
        Ok(LoginOutcome::SignedIn(session)) => {
            let cookie = session::cookie(&state, &session);
            proceed(&state, &request, Some(*session), None, Some(cookie), true, true).await.unwrap_or_else(|response| response)
        }
    }
}

/// The consent page's form: for the browser on the authorization page, not for API clients.
#[utoipa::path(post, path = "/oauth/v2/authorize/consent", tag = "oauth-pages", operation_id = "oauth-authorize-consent",
    request_body(content = ConsentForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "To the client's redirect URI, with a code, or `access_denied`."),
        (status = 400, description = "A page saying why the form was refused.", content_type = "text/html"),
        (status = 403, description = "A page: the CSRF token or cookie does not match.", content_type = "text/html"),
    ))]
pub async fn consent(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let (form, visitor, request) = match form_post(&state, &headers, &body).await {
        Ok(parts) => parts,
        Err(response) => return response,
    };
    let Some(session) = visitor.session().filter(|session| session.user().is_some()) else {
        return pages::error(StatusCode::BAD_REQUEST, "You are not signed in. Go back to the application and start again.");
    };
    match form.get("decision").ok().flatten() {
        Some("allow") => {}
        Some("deny") => return error_for(&state, &request, "access_denied", "The user denied access.", true),
        _ => return pages::error(StatusCode::BAD_REQUEST, "Choose Allow or Deny."),
    }
    let chosen = form.get("organizationId").ok().flatten().and_then(|v| v.parse::<i64>().ok()).map(gatehouse_domain::OrganizationId);
    match state.app.consent(&request, session, chosen).await {
        Err(error) => internal(&error),
        Ok(ConsentOutcome::AccountGone) => pages::error(StatusCode::BAD_REQUEST, "Your account no longer exists."),
        Ok(ConsentOutcome::ChooseOrganization(view)) => {
            consent_page(&request, session, &view, Some("Choose one of your organizations."), StatusCode::BAD_REQUEST)
        }
        Ok(ConsentOutcome::Code(code)) => code_redirect(&state, &request, &code, true),
    }
}
