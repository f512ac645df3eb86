//! Gatehouse's integration tests: one binary (every file in `tests/` would link separately and slowly).
//! Each test drives real HTTP against a real socket.

// Tests fail by panicking, and the harness reads the real clock to bound its waits.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::disallowed_methods, clippy::disallowed_types)]

mod harness;
mod postgres;

mod api_tokens;
mod audit;
mod architecture;
mod attacks_grants;
mod attacks_edge;
mod authentication;
mod cli;
mod cli_admin;
mod cli_safety;
mod console_admin;
mod console_developer;
mod console_password_reset;
mod console_tokens;
mod forward_auth;
mod mail;
mod nodes;
mod oauth;
mod observability;
mod openapi;
mod organizations_and_teams;
mod rate_limits;
mod roles;
mod scopes;
mod store_conformance;
mod ugly_input;
