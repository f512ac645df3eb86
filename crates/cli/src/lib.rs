//! The binary's library half: the arguments, one module per command group, configuration and the
//! server's lifecycle. This is the one place that builds the application.

pub mod args;
pub mod commands;
pub mod config;
pub mod server;
