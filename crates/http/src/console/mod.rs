//! The web console: server-rendered pages where people sign in, manage their API tokens (Make's
//! `/user/api`), see the apps they authorized, and run the platform. Each page calls the same use case as
//! the API and the CLI; the pages only parse forms and render.
//!
//! Every page works without JavaScript (the one script adds copy buttons), every form carries the
//! session's CSRF token and is refused cross-site, and every response forbids framing and caching (see
//! `page`). One module per area; the routes are listed here, in one place.

pub mod account;
pub mod admin;
pub mod developer;
pub mod page;
pub mod password_reset;
pub mod profile;
pub mod tokens;

use axum::Router;
use axum::routing::{get, post};

use crate::state::AppState;

/// Every console route. Mounted beside the OAuth pages, with the same bounds and security headers.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(page::SCRIPT_PATH, get(page::script))
        .route("/assets/favicon.svg", get(page::favicon))
        // Browsers ask for /favicon.ico whatever the page links; answer with the icon rather than a 404.
        .route("/favicon.ico", get(page::favicon))
        .route("/", get(account::root))
        // Signing in and out.
        .route("/login", get(account::login_page).post(account::login))
        .route("/logout", post(account::logout))
        // The forgotten password (anonymous): the request form, the mailed link, the new password.
        .route("/forgot-password", get(password_reset::forgot_page).post(password_reset::request_link))
        .route("/reset-password", get(password_reset::reset_page).post(password_reset::set_password))
        .route("/reset-password/{secret}", get(password_reset::open_link))
        // The user's own account.
        .route("/user/api", get(tokens::list).post(tokens::create))
        .route("/user/api/new", get(tokens::new_form))
        .route("/user/api/tokens/{created}/delete", get(tokens::delete_confirm).post(tokens::delete))
        .route("/user/profile", get(profile::profile).post(profile::update))
        .route("/user/delete", get(profile::delete_confirm).post(profile::delete))
        .route("/user/password", get(account::password_page).post(account::change_password))
        .route("/user/apps", get(account::authorized_apps))
        .route("/user/apps/{clientId}/revoke", post(account::revoke_app))
        // OAuth apps, for developers.
        .route("/developer/apps", get(developer::list).post(developer::request))
        .route("/developer/apps/new", get(developer::new_form))
        .route("/developer/apps/{clientId}/secret", post(developer::rotate_secret))
        // Administration (platform administrators only).
        .route("/admin", get(admin::landing))
        .route("/admin/users", get(admin::users).post(admin::create_user))
        .route("/admin/users/{id}/{action}", post(admin::user_action))
        .route("/admin/organizations", get(admin::organizations))
        .route("/admin/clients", get(admin::clients))
        .route("/admin/clients/{id}/approve", post(admin::approve_client))
        .route("/admin/clients/{id}/reject", post(admin::reject_client))
        // After every route, so it applies to each of them: a page, not an empty 405.
        .method_not_allowed_fallback(page::method_not_allowed)
}
