//! The forgotten password: asking for a reset link (`/forgot-password`), and setting a new password with
//! it (`/reset-password`). Both pages are for visitors who are not signed in, so their forms carry the
//! pre-login cookie's CSRF token, as the sign-in form does.
//!
//! The mailed link `/reset-password/<secret>` is only a door: its GET moves the secret into an `HttpOnly`
//! cookie and redirects to `/reset-password`, so the secret leaves the address bar (history, a shoulder, a
//! screenshot) before any page is shown. Every browser page answers `Referrer-Policy: no-referrer`.

use std::net::SocketAddr;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use gatehouse_app::AppError;

use super::page::{self, internal, see_other};
use crate::cookies;
use crate::oauth::form::Form;
use crate::oauth::session::{self, Visitor};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "console/forgot_password.html")]
struct ForgotPage<'a> {
    available: bool,
    csrf: &'a str,
    email: &'a str,
    sent: bool,
    message: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "console/reset_password.html")]
struct ResetPage<'a> {
    usable: bool,
    csrf: &'a str,
    message: Option<&'a str>,
}

const DEAD_LINK: &str = "This reset link does not work: it was used, it expired, or it is incomplete. Ask for a new one.";

/// `GET /forgot-password`: the form, or, with no email configured, what to do instead.
pub async fn forgot_page(State(state): State<AppState>) -> Response {
    forgot_form(&state, StatusCode::OK, "", false, None).await
}

async fn forgot_form(state: &AppState, status: StatusCode, email: &str, sent: bool, message: Option<&str>) -> Response {
    if !state.app.mail_available() {
        return page::render(status, &ForgotPage { available: false, csrf: "", email: "", sent: false, message: None });
    }
    let (prelogin, cookie) = match session::start_prelogin(state).await {
        Ok(started) => started,
        Err(error) => return internal(&error),
    };
    let mut response = page::render(status, &ForgotPage { available: true, csrf: prelogin.csrf(), email, sent, message });
    response.headers_mut().append(header::SET_COOKIE, cookie);
    response
}

/// `POST /forgot-password`: the same answer whether or not the account exists.
pub async fn request_link(State(state): State<AppState>, ConnectInfo(peer): ConnectInfo<SocketAddr>, headers: HeaderMap, body: Bytes) -> Response {
    let form = match Form::parse(&headers, &body) {
        Ok(form) => form,
        Err(error) => return page::error_page(StatusCode::BAD_REQUEST, &error.description),
    };
    let email = form.get("email").ok().flatten().unwrap_or("").trim().to_string();
    if let Err(response) = check_anonymous_post(&state, &headers, &form).await {
        return response;
    }
    let client = crate::client_address::client_address(peer.ip(), &headers, &state.trusted_proxies);
    match state.app.request_password_reset(&email, client).await {
        Ok(()) => forgot_form(&state, StatusCode::OK, "", true, None).await,
        Err(AppError::Invalid(detail)) => forgot_form(&state, StatusCode::BAD_REQUEST, &email, false, Some(&detail)).await,
        Err(AppError::RateLimited { detail, .. }) => forgot_form(&state, StatusCode::TOO_MANY_REQUESTS, &email, false, Some(&detail)).await,
        // Mail went away (no SMTP): the page says what to do instead.
        Err(AppError::Forbidden(_)) => forgot_form(&state, StatusCode::OK, "", false, None).await,
        Err(error) => internal(&error),
    }
}

/// `GET /reset-password/{secret}`: the mailed link. Moves the secret into a cookie and leaves for
/// `/reset-password`, so no page is ever shown with the secret in the address bar.
pub async fn open_link(State(state): State<AppState>, Path(secret): Path<String>) -> Response {
    let mut response = see_other("/reset-password");
    match cookies::reset_set_cookie(page::is_secure(&state), &secret) {
        Ok(cookie) => {
            response.headers_mut().append(header::SET_COOKIE, cookie);
            response
        }
        // Not a cookie value: not a secret we sent either.
        Err(_) => reset_form(&state, StatusCode::BAD_REQUEST, false, Some(DEAD_LINK)).await,
    }
}

/// `GET /reset-password`: the new-password form, if the link in the cookie still works.
pub async fn reset_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let usable = match link_secret(&state, &headers) {
        Some(secret) => match state.app.password_reset_usable(&secret).await {
            Ok(usable) => usable,
            Err(error) => return internal(&error),
        },
        None => false,
    };
    if usable {
        reset_form(&state, StatusCode::OK, true, None).await
    } else {
        reset_form(&state, StatusCode::BAD_REQUEST, false, Some(DEAD_LINK)).await
    }
}

async fn reset_form(state: &AppState, status: StatusCode, usable: bool, message: Option<&str>) -> Response {
    if !usable {
        return page::render(status, &ResetPage { usable, csrf: "", message });
    }
    let (prelogin, cookie) = match session::start_prelogin(state).await {
        Ok(started) => started,
        Err(error) => return internal(&error),
    };
    let mut response = page::render(status, &ResetPage { usable, csrf: prelogin.csrf(), message });
    response.headers_mut().append(header::SET_COOKIE, cookie);
    response
}

/// `POST /reset-password`: sets the password once; the user then signs in with it.
pub async fn set_password(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let form = match Form::parse(&headers, &body) {
        Ok(form) => form,
        Err(error) => return page::error_page(StatusCode::BAD_REQUEST, &error.description),
    };
    if let Err(response) = check_anonymous_post(&state, &headers, &form).await {
        return response;
    }
    let Some(secret) = link_secret(&state, &headers) else {
        return reset_form(&state, StatusCode::BAD_REQUEST, false, Some(DEAD_LINK)).await;
    };
    let field = |name: &str| form.get(name).ok().flatten().unwrap_or("").to_string();
    let (password, confirm) = (field("password"), field("confirm"));
    if password != confirm {
        return reset_form(&state, StatusCode::BAD_REQUEST, true, Some("The two passwords differ.")).await;
    }
    match state.app.reset_password_with_token(&secret, password).await {
        Ok(_) => {
            let mut response = see_other("/login?done=password-set");
            if let Ok(clear) = cookies::reset_clear_cookie(page::is_secure(&state)) {
                response.headers_mut().append(header::SET_COOKIE, clear);
            }
            response
        }
        // Either the password broke the policy (the link still works: the form again) or the link is dead.
        Err(AppError::Invalid(detail)) => match state.app.password_reset_usable(&secret).await {
            Ok(usable) => reset_form(&state, StatusCode::BAD_REQUEST, usable, Some(&detail)).await,
            Err(error) => internal(&error),
        },
        Err(error) => internal(&error),
    }
}

fn link_secret(state: &AppState, headers: &HeaderMap) -> Option<String> {
    cookies::named(headers, cookies::reset_name(page::is_secure(state))).into_iter().find(|value| !value.is_empty())
}

/// An anonymous form post's checks: not cross-site, and the CSRF token of the form this visitor was given
/// (their pre-login cookie's, or their session's if they are signed in).
async fn check_anonymous_post(state: &AppState, headers: &HeaderMap, form: &Form) -> Result<(), Response> {
    let current = session::current(state, headers).await.map_err(|e| internal(&e))?;
    let prelogin = session::prelogin(state, headers).await.map_err(|e| internal(&e))?;
    let visitors: Vec<Visitor> = current.map(Visitor::Session).into_iter().chain(prelogin.map(Visitor::PreLogin)).collect();
    let csrf = form.get("csrf").ok().flatten();
    session::check_post(headers, visitors, csrf).map(|_| ()).map_err(page::rejection_page)
}
