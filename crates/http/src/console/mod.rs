//! The web console: server-rendered pages where people sign in, manage their API tokens (Make's
//! `/user/api`), see the apps they authorized, and run the platform. Each page calls the same use case as
//! the API and the CLI; the pages only parse forms and render.
//!
//! Every page works without JavaScript (the one script adds copy buttons), every form carries the
//! session's CSRF token and is refused cross-site, and every response forbids framing and caching (see
//! `page`). One module per area; the routes are listed here, in one place.

pub mod account;
pub mod page;
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
        // The user's own account.
        .route("/user/api", get(tokens::list).post(tokens::create))
        .route("/user/api/new", get(tokens::new_form))
        .route("/user/api/tokens/{created}/delete", get(tokens::delete_confirm).post(tokens::delete))
        .route("/user/profile", get(profile::profile).post(profile::update))
        .route("/user/delete", get(profile::delete_confirm).post(profile::delete))
        .route("/user/password", get(account::password_page).post(account::change_password))
        .route("/user/apps", get(account::authorized_apps))
        .route("/user/apps/{clientId}/revoke", post(account::revoke_app))
}
