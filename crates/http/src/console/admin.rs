//! Administration, for platform administrators only (everyone else gets a 403 page): the landing page and
//! the users (create, make administrator, unlock, delete). Each action is the use case the CLI's `user`
//! commands call.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use gatehouse_domain::{Page as Paging, UserId};
use serde::Deserialize;

use super::page::{self, Chrome, SignedIn, form_message, notice, see_other};
use crate::state::AppState;

#[derive(Deserialize)]
pub struct DoneQuery {
    done: Option<String>,
}

/// Only platform administrators pass; the answer to anyone else is a 403 page, not a redirect.
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
    let notice = notice(query.done.as_deref(), USER_NOTICES);
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
