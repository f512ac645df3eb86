//! One module per resource. Each handler parses, asks the store, and shapes Make's JSON.

pub mod admin;
pub mod audit;
pub mod enums;
pub mod health;
pub mod oauth_clients;
pub mod organizations;
pub mod roles;
pub mod teams;
pub mod tokens;
pub mod users;
pub mod views;
