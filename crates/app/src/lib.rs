//! Gatehouse's use cases, each written once: issuing and deleting API tokens, requesting and deciding OAuth
//! clients, the authorization-code, refresh and client-credentials grants, revocation and introspection,
//! signing-key rotation, users, organizations, teams and members.
//!
//! The HTTP API, the CLI and the web pages are adapters around [`App`]: they parse, call one method, and
//! render. Time and randomness come in through [`App::new`], so every rule here is tested with a mock clock
//! and a seeded generator. A use case that makes a cached answer stale reports it to [`App::apply`], the one
//! place where a node's caches learn of changes; the revocation feed from other nodes goes through it too.

pub mod account;
pub mod actor;
pub mod api_tokens;
pub mod app;
pub mod audit;
pub mod authentication;
pub mod authorization;
pub mod bootstrap;
pub mod caches;
pub mod clients;
pub mod directory;
pub mod error;
pub mod forward_auth;
pub mod grants;
pub mod invalidation;
pub mod issue;
pub mod keys;
pub mod limits;
pub mod mail;
pub mod password_resets;
pub mod profile;
pub mod rate_limit;
pub mod roles;
pub mod signing;
pub mod smtp;
pub mod throttle;
pub mod token_endpoint;
pub mod token_status;
pub mod usage;

pub use actor::{Actor, AuthMethod, OrganizationLimit};
pub use app::{App, Settings};
pub use error::{AppError, AppResult, OAuthRefusal};
pub use invalidation::Invalidation;

#[cfg(test)]
pub(crate) mod testing;
