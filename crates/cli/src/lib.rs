//! The binary's library half: configuration, first-start bootstrap and the server's lifecycle. This is the
//! one place that builds the application state.

pub mod bootstrap;
pub mod config;
pub mod server;
