//! Gatehouse's HTTP edge: the routes, the credential extractor, and the mapping of every error to Make's
//! `{"message","detail","code"}` schema on `/api/v2`.
//!
//! Handlers are thin adapters: they parse input, call one use case of [`gatehouse_app::App`], and shape
//! Make's JSON. What each endpoint requires is declared once, next to its route, in [`routes::API_ROUTES`].

pub mod api;
pub mod auth;
pub mod body_limit;
pub mod client_address;
pub mod origin;
pub mod console;
pub mod cookies;
pub mod credentials;
pub mod error;
pub mod extract;
pub mod forward_auth;
pub mod metrics;
pub mod oauth;
pub mod openapi;
pub mod quota;
pub mod rendered;
pub mod request_id;
pub mod request_log;
pub mod revocation;
pub mod routes;
pub mod scope_header;
pub mod state;

pub use routes::router;
pub use state::{AppState, EdgeLimits};
