//! Signing in and out of the console, the start page, changing one's password, and the apps one has
//! authorized.

use std::net::SocketAddr;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use gatehouse_app::account::PasswordChange;
use gatehouse_app::authorization::LoginOutcome;
use serde::Deserialize;

use super::page::{self, DoneQuery, Chrome, SignedIn, form_message, internal, notice, see_other};
use crate::cookies;
use crate::oauth::form::Form;
use crate::oauth::session::{self, PostRejection, Visitor};
use crate::state::AppState;

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
    done: Option<String>,
}

/// `GET /`: the console starts at the API access page; a visitor signs in first.
pub async fn root(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match session::current(&state, &headers).await {
        Ok(Some(session)) if session.user().is_some() => see_other("/user/api"),
        Ok(_) => see_other("/login"),
        Err(error) => internal(&error),
    }
}

#[derive(Template)]
#[template(path = "console/login.html")]
struct LoginPage<'a> {
    csrf: &'a str,
    next: &'a str,
    email: &'a str,
    notice: Option<&'static str>,
    message: Option<&'a str>,
}

const SIGN_IN_NOTICES: &[(&str, &str)] = &[
    ("signed-out", "You are signed out."),
    ("password-set", "Your password is set. Sign in with it."),
    ("account-deleted", "Your account is deleted, with every token and app access it had."),
];

/// `GET /login`. An anonymous visitor gets a signed pre-login cookie, whose CSRF token the form carries;
/// nothing is stored until the password is proven.
pub async fn login_page(State(state): State<AppState>, headers: HeaderMap, Query(query): Query<NextQuery>) -> Response {
    let next = query.next.as_deref().filter(|next| page::is_local_path(next)).unwrap_or("/user/api");
    match session::current(&state, &headers).await {
        Ok(Some(session)) if session.user().is_some() => return see_other(next),
        Ok(_) => {}
        Err(error) => return internal(&error),
    }
    let notice = notice(query.done.as_deref(), SIGN_IN_NOTICES);
    fresh_login_form(&state, StatusCode::OK, next, "", notice, None).await
}

async fn fresh_login_form(
    state: &AppState,
    status: StatusCode,
    next: &str,
    email: &str,
    notice: Option<&'static str>,
    message: Option<&str>,
) -> Response {
    let (prelogin, cookie) = match session::start_prelogin(state).await {
        Ok(started) => started,
        Err(error) => return internal(&error),
    };
    let mut response = page::render(status, &LoginPage { csrf: prelogin.csrf(), next, email, notice, message });
    response.headers_mut().append(header::SET_COOKIE, cookie);
    response
}

/// `POST /login`: the same throttle, argon2id check and session rotation as the OAuth login form.
pub async fn login(State(state): State<AppState>, ConnectInfo(peer): ConnectInfo<SocketAddr>, headers: HeaderMap, body: Bytes) -> Response {
    let form = match Form::parse(&headers, &body) {
        Ok(form) => form,
        Err(error) => return page::error_page(StatusCode::BAD_REQUEST, &error.description),
    };
    let field = |name: &str| form.get(name).ok().flatten().unwrap_or("").to_string();
    let (email, password) = (field("email"), field("password"));
    let next = form.get("next").ok().flatten().filter(|next| page::is_local_path(next)).unwrap_or("/user/api").to_string();
    let current = match session::current(&state, &headers).await {
        Ok(current) => current,
        Err(error) => return internal(&error),
    };
    let prelogin = match session::prelogin(&state, &headers).await {
        Ok(prelogin) => prelogin,
        Err(error) => return internal(&error),
    };
    let visitors: Vec<Visitor> = current.map(Visitor::Session).into_iter().chain(prelogin.map(Visitor::PreLogin)).collect();
    let csrf = form.get("csrf").ok().flatten();
    let visitor = match session::check_post(&headers, visitors, csrf) {
        Ok(visitor) => visitor,
        // The form sat open longer than its pre-login cookie lives: a new form, not a dead end.
        Err(PostRejection::NoSession | PostRejection::BadCsrf) => {
            let message = "The sign-in form expired. Enter your password again.";
            return fresh_login_form(&state, StatusCode::FORBIDDEN, &next, &email, None, Some(message)).await;
        }
        Err(rejection) => return page::rejection_page(rejection),
    };
    let client = crate::client_address::client_address(peer.ip(), &headers, &state.trusted_proxies);
    match state.app.sign_in(visitor.session(), &email, password, client).await {
        Err(error) => internal(&error),
        Ok(LoginOutcome::Throttled { retry_after_secs }) => {
            let minutes = (retry_after_secs + 59) / 60;
            let message = format!("Too many failed sign-ins. Try again in {minutes} minutes.");
            let mut response = page::render(
                StatusCode::TOO_MANY_REQUESTS,
                &LoginPage { csrf: &visitor.csrf(), next: &next, email: &email, notice: None, message: Some(&message) },
            );
            if let Ok(value) = HeaderValue::from_str(&retry_after_secs.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            response
        }
        Ok(LoginOutcome::Refused) => page::render(
            StatusCode::UNAUTHORIZED,
            &LoginPage {
                csrf: &visitor.csrf(),
                next: &next,
                email: &email,
                notice: None,
                message: Some("The email or password is incorrect."),
            },
        ),
        Ok(LoginOutcome::SignedIn(session)) => {
            let mut response = see_other(&next);
            response.headers_mut().append(header::SET_COOKIE, session::cookie(&state, &session));
            response
        }
    }
}

/// `POST /logout`: ends the session everywhere and clears the cookie.
pub async fn logout(State(state): State<AppState>, signed_in: SignedIn, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(response) = signed_in.verify_form(&headers, &body) {
        return response;
    }
    if let Err(error) = state.app.sign_out(&signed_in.session).await {
        return internal(&error);
    }
    let mut response = see_other("/login?done=signed-out");
    if let Ok(clear) = cookies::session_clear_cookie(page::is_secure(&state)) {
        response.headers_mut().append(header::SET_COOKIE, clear);
    }
    response
}

#[derive(Template)]
#[template(path = "console/password.html")]
struct PasswordPage<'a> {
    chrome: Chrome,
    message: Option<&'a str>,
}

const PASSWORD_NOTICES: &[(&str, &str)] = &[("changed", "Your password is changed. Every other session has been signed out.")];

/// `GET /user/password`.
pub async fn password_page(signed_in: SignedIn, Query(query): Query<DoneQuery>) -> Response {
    let chrome = signed_in.chrome("password", notice(query.done(), PASSWORD_NOTICES));
    page::render(StatusCode::OK, &PasswordPage { chrome, message: None })
}

/// `POST /user/password`: the current password, and the new one twice.
pub async fn change_password(State(state): State<AppState>, signed_in: SignedIn, headers: HeaderMap, body: Bytes) -> Response {
    let form = match signed_in.verify_form(&headers, &body) {
        Ok(form) => form,
        Err(response) => return response,
    };
    let field = |name: &str| form.get(name).ok().flatten().unwrap_or("").to_string();
    let (current, new_password, confirm) = (field("current"), field("password"), field("confirm"));
    let again = |status: StatusCode, message: &str| {
        page::render(status, &PasswordPage { chrome: signed_in.chrome("password", None), message: Some(message) })
    };
    if new_password != confirm {
        return again(StatusCode::BAD_REQUEST, "The two new passwords differ.");
    }
    let peer = signed_in.client_address(&state, &headers);
    match state.app.change_password(&signed_in.session, current, new_password, peer).await {
        Ok(PasswordChange::Changed(session)) => {
            let mut response = see_other("/user/password?done=changed");
            response.headers_mut().append(header::SET_COOKIE, session::cookie(&state, &session));
            response
        }
        Ok(PasswordChange::WrongCurrentPassword) => again(StatusCode::BAD_REQUEST, "The current password is incorrect."),
        Ok(PasswordChange::Throttled { retry_after_secs }) => {
            let minutes = (retry_after_secs + 59) / 60;
            again(StatusCode::TOO_MANY_REQUESTS, &format!("Too many wrong passwords. Try again in {minutes} minutes."))
        }
        Err(error) => match form_message(error) {
            Ok(message) => again(StatusCode::BAD_REQUEST, &message),
            Err(response) => response,
        },
    }
}

#[derive(Template)]
#[template(path = "console/authorized_apps.html")]
struct AuthorizedAppsPage {
    chrome: Chrome,
    apps: Vec<AuthorizedAppRow>,
}

struct AuthorizedAppRow {
    client_id: String,
    name: String,
    scopes: Vec<&'static str>,
    organization: String,
    since: String,
    last_used: String,
}

const APPS_NOTICES: &[(&str, &str)] = &[("revoked", "Access revoked. The app's tokens no longer work.")];

/// `GET /user/apps`: every app the user has let in, with what it may do and where.
pub async fn authorized_apps(State(state): State<AppState>, signed_in: SignedIn, Query(query): Query<DoneQuery>) -> Response {
    let apps = match state.app.authorized_apps(signed_in.user.id).await {
        Ok(apps) => apps,
        Err(error) => return page::app_error(&error),
    };
    let mut rows = Vec::with_capacity(apps.len());
    for app in apps {
        let organization = match app.grant.organization_id {
            None => "None".to_string(),
            Some(id) => match state.app.organization_by_id(id).await {
                Ok(organization) => organization.name,
                Err(_) => format!("Organization {id}"),
            },
        };
        rows.push(AuthorizedAppRow {
            client_id: app.grant.client_id.to_string(),
            name: app.client.map_or_else(|| app.grant.client_id.to_string(), |client| client.name),
            scopes: app.grant.scopes.names(),
            organization,
            since: page::when(app.grant.created),
            last_used: app.grant.last_used.map_or_else(|| "Never".to_string(), page::when),
        });
    }
    let chrome = signed_in.chrome("apps", notice(query.done(), APPS_NOTICES));
    page::render(StatusCode::OK, &AuthorizedAppsPage { chrome, apps: rows })
}

/// `POST /user/apps/{clientId}/revoke`: ends the grant and every token issued under it, on every node.
pub async fn revoke_app(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(client_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(response) = signed_in.verify_form(&headers, &body) {
        return response;
    }
    match state.app.revoke_authorized_app(&signed_in.actor(), &client_id).await {
        Ok(_) => see_other("/user/apps?done=revoked"),
        Err(error) => page::app_error(&error),
    }
}
