//! One module per command group. Each command parses its arguments, calls one use case of
//! [`gatehouse_app::App`], and prints plain values on stdout, or JSON with `--json`.

pub mod audit;
pub mod clients;
pub mod completions;
pub mod context;
pub mod directory;
pub mod keys;
pub mod migrate;
pub mod openapi;
pub mod password;
pub mod policy;
pub mod serve;
pub mod tokens;

pub use context::{CliError, CliResult, Context};
