//! Administration, for platform administrators only (everyone else gets a 403 page): the landing page and
//! the users (create, make administrator, unlock, delete). Each action is the use case the CLI's `user`
//! commands call.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::http::header;
use gatehouse_app::clients::Approval;
use gatehouse_domain::oauth::ClientStatus;
use gatehouse_domain::{Page as Paging, UserId};

use super::page::{self, DoneQuery, Chrome, Reveal, SignedIn, form_message, notice, see_other};
use crate::state::AppState;

/// Only platform administrators pass; the answer to anyone else is a 403 page, not a redirect.
#[allow(clippy::result_large_err)]
fn administrator(signed_in: &SignedIn) -> Result<(), Response> {
    if signed_in.user.is_admin {
        Ok(())
    } else {
        Err(page::error_page(StatusCode::FORBIDDEN, "Only platform administrators may open the administration pages."))
    }
}

#[derive(Template)]
#[template(path = "console/admin.html")]
struct AdminPage {
    chrome: Chrome,
}

/// `GET /admin`.
pub async fn landing(signed_in: SignedIn) -> Response {
    if let Err(response) = administrator(&signed_in) {
        return response;
    }
    page::render(StatusCode::OK, &AdminPage { chrome: signed_in.chrome("admin", None) })
}

#[derive(Template)]
#[template(path = "console/admin_users.html")]
struct UsersPage<'a> {
    chrome: Chrome,
    users: Vec<UserRow>,
    message: Option<&'a str>,
    name: &'a str,
    email: &'a str,
}

struct UserRow {
    id: i64,
    name: String,
    email: String,
    is_admin: bool,
    is_self: bool,
    created: String,
}

const USER_NOTICES: &[(&str, &str)] = &[
    ("created", "The user was created."),
    ("admin", "The user is now a platform administrator."),
    ("unlocked", "The user's sign-in limits were lifted."),
    ("deleted", "The user was deleted and signed out everywhere."),
];

/// `GET /admin/users`.
pub async fn users(State(state): State<AppState>, signed_in: SignedIn, Query(query): Query<DoneQuery>) -> Response {
    if let Err(response) = administrator(&signed_in) {
        return response;
    }
    let notice = notice(query.done(), USER_NOTICES);
    users_page(&state, &signed_in, StatusCode::OK, notice, None, "", "").await
}

async fn users_page(
    state: &AppState,
    signed_in: &SignedIn,
    status: StatusCode,
    notice: Option<&'static str>,
    message: Option<&str>,
    name: &str,
    email: &str,
) -> Response {
    let listed = match state.app.list_users(Paging { limit: Paging::MAX_LIMIT, offset: 0, ..Paging::default() }).await {
        Ok(users) => users,
        Err(error) => return page::app_error(&error),
    };
    let users = listed
        .into_iter()
        .map(|user| UserRow {
            id: user.id.0,
            is_self: user.id == signed_in.user.id,
            name: user.name,
            email: user.email.as_str().to_string(),
            is_admin: user.is_admin,
            created: page::when(user.created),
        })
        .collect();
    page::render(status, &UsersPage { chrome: signed_in.chrome("admin", notice), users, message, name, email })
}

/// `POST /admin/users`: name, email, password, and the administrator checkbox.
pub async fn create_user(State(state): State<AppState>, signed_in: SignedIn, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(response) = administrator(&signed_in) {
        return response;
    }
    let form = match signed_in.verify_form(&headers, &body) {
        Ok(form) => form,
        Err(response) => return response,
    };
    let field = |name: &str| form.get(name).ok().flatten().unwrap_or("").trim().to_string();
    let (name, email, password) = (field("name"), field("email"), form.get("password").ok().flatten().unwrap_or("").to_string());
    let admin = form.get("admin").ok().flatten().is_some();
    let password = (!password.is_empty()).then_some(password);
    match state.app.create_user(&name, &email, password, admin).await {
        Ok(_) => see_other("/admin/users?done=created"),
        Err(error) => match form_message(error) {
            Ok(message) => users_page(&state, &signed_in, StatusCode::BAD_REQUEST, None, Some(&message), &name, &email).await,
            Err(response) => response,
        },
    }
}

/// `POST /admin/users/{id}/{action}`: `admin` (make administrator), `unlock`, `delete`.
pub async fn user_action(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path((id, action)): Path<(i64, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(response) = administrator(&signed_in) {
        return response;
    }
    if let Err(response) = signed_in.verify_form(&headers, &body) {
        return response;
    }
    let id = UserId(id);
    let done = match action.as_str() {
        "admin" => state.app.set_platform_admin(id, true).await.map(|()| "admin"),
        "unlock" => match state.app.user(id).await {
            Ok(Some(user)) => state.app.unlock_user(user.email.as_str()).await.map(|()| "unlocked"),
            Ok(None) => Err(gatehouse_app::AppError::not_found("The user does not exist.")),
            Err(error) => Err(error),
        },
        "delete" => state.app.delete_user(id, Some(&signed_in.actor())).await.map(|()| "deleted"),
        _ => return page::error_page(StatusCode::NOT_FOUND, "There is no such action."),
    };
    match done {
        Ok(done) => see_other(&format!("/admin/users?done={done}")),
        Err(error) => match form_message(error) {
            Ok(message) => users_page(&state, &signed_in, StatusCode::BAD_REQUEST, None, Some(&message), "", "").await,
            Err(response) => response,
        },
    }
}

#[derive(Template)]
#[template(path = "console/admin_clients.html")]
struct ClientsPage<'a> {
    chrome: Chrome,
    requests: Vec<ClientRow>,
    new_secret: Option<String>,
    message: Option<&'a str>,
}

struct ClientRow {
    id: String,
    name: String,
    owner: String,
    client_type: &'static str,
    redirect_uris: Vec<String>,
    scopes: Vec<&'static str>,
    description: String,
}

const CLIENT_NOTICES: &[(&str, &str)] = &[("approved", "The app was approved."), ("rejected", "The app was rejected.")];

/// What carries an approved client's secret to the page that shows it once.
const NEW_CLIENT_SECRET: &str = "admin-new-client-secret";

/// `GET /admin/clients`: the review queue, with the new secret of a client just approved, once.
pub async fn clients(State(state): State<AppState>, signed_in: SignedIn, headers: HeaderMap, Query(query): Query<DoneQuery>) -> Response {
    if let Err(response) = administrator(&signed_in) {
        return response;
    }
    let revealed = Reveal::take(&state, &signed_in, &headers, NEW_CLIENT_SECRET);
    let notice = notice(query.done(), CLIENT_NOTICES);
    let mut response = clients_page(&state, &signed_in, StatusCode::OK, notice, revealed.as_ref().map(|(secret, _)| secret.clone()), None).await;
    if let Some((_, clear)) = revealed {
        response.headers_mut().append(header::SET_COOKIE, clear);
    }
    response
}

async fn clients_page(
    state: &AppState,
    signed_in: &SignedIn,
    status: StatusCode,
    notice: Option<&'static str>,
    new_secret: Option<String>,
    message: Option<&str>,
) -> Response {
    let requested = match state.app.list_clients(Some(ClientStatus::Requested), None).await {
        Ok(clients) => clients,
        Err(error) => return page::app_error(&error),
    };
    let mut requests = Vec::with_capacity(requested.len());
    for client in requested {
        let owner = match state.app.user(client.owner).await {
            Ok(Some(user)) => user.email.as_str().to_string(),
            Ok(None) => format!("user {}", client.owner.0),
            Err(error) => return page::app_error(&error),
        };
        requests.push(ClientRow {
            id: client.id.to_string(),
            name: client.name,
            owner,
            client_type: client.client_type.as_str(),
            redirect_uris: client.redirect_uris.iter().map(|uri| uri.as_str().to_string()).collect(),
            scopes: client.scopes.names(),
            description: client.description,
        });
    }
    page::render(status, &ClientsPage { chrome: signed_in.chrome("admin", notice), requests, new_secret, message })
}

/// `POST /admin/clients/{id}/approve`: the requested scopes; a confidential client's secret is shown
/// once, on the page the redirect leads to.
pub async fn approve_client(State(state): State<AppState>, signed_in: SignedIn, Path(id): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(response) = administrator(&signed_in) {
        return response;
    }
    if let Err(response) = signed_in.verify_form(&headers, &body) {
        return response;
    }
    let approval = Approval { scopes: None, allow_refresh: None };
    match state.app.approve_client(&id, approval, Some(&signed_in.actor())).await {
        Ok((_, None)) => see_other("/admin/clients?done=approved"),
        Ok((_, Some(secret))) => match Reveal::carry(&state, &signed_in, NEW_CLIENT_SECRET, &secret.reveal()) {
            Ok(cookie) => {
                let mut response = see_other("/admin/clients?done=approved");
                response.headers_mut().append(header::SET_COOKIE, cookie);
                response
            }
            Err(response) => response,
        },
        Err(error) => match form_message(error) {
            Ok(message) => clients_page(&state, &signed_in, StatusCode::BAD_REQUEST, None, None, Some(&message)).await,
            Err(response) => response,
        },
    }
}

/// `POST /admin/clients/{id}/reject`: with the reason its owner will read.
pub async fn reject_client(State(state): State<AppState>, signed_in: SignedIn, Path(id): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(response) = administrator(&signed_in) {
        return response;
    }
    let form = match signed_in.verify_form(&headers, &body) {
        Ok(form) => form,
        Err(response) => return response,
    };
    let reason = form.get("reason").ok().flatten().unwrap_or("").to_string();
    match state.app.reject_client_with_reason(&id, &reason, Some(&signed_in.actor())).await {
        Ok(_) => see_other("/admin/clients?done=rejected"),
        Err(error) => match form_message(error) {
            Ok(message) => clients_page(&state, &signed_in, StatusCode::BAD_REQUEST, None, None, Some(&message)).await,
            Err(response) => response,
        },
    }
}

#[derive(Template)]
#[template(path = "console/admin_organizations.html")]
struct OrganizationsPage {
    chrome: Chrome,
    organizations: Vec<OrganizationRow>,
}

struct OrganizationRow {
    id: i64,
    name: String,
    zone: String,
    members: Vec<(String, String, &'static str)>,
}

/// `GET /admin/organizations`: every organization, and its members with their roles.
pub async fn organizations(State(state): State<AppState>, signed_in: SignedIn) -> Response {
    if let Err(response) = administrator(&signed_in) {
        return response;
    }
    let all = Paging { limit: Paging::MAX_LIMIT, offset: 0, ..Paging::default() };
    let overviews = match state.app.organization_overviews(all).await {
        Ok(overviews) => overviews,
        Err(error) => return page::app_error(&error),
    };
    let mut organizations = Vec::with_capacity(overviews.len());
    for overview in overviews {
        let organization = overview.organization;
        let members = match state.app.organization_members(organization.id, all).await {
            Ok(members) => members,
            Err(error) => return page::app_error(&error),
        };
        organizations.push(OrganizationRow {
            id: organization.id.0,
            name: organization.name,
            zone: organization.zone,
            members: members
                .into_iter()
                .map(|member| (member.user.name, member.user.email.as_str().to_string(), member.role.as_str()))
                .collect(),
        });
    }
    page::render(StatusCode::OK, &OrganizationsPage { chrome: signed_in.chrome("admin", None), organizations })
}
