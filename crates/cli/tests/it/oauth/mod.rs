//! The OAuth 2.0 / OpenID Connect authorization server, driven as a browser and a client would. Time is
//! the server's mock clock: nothing sleeps.

pub(crate) mod support;

mod clients;
mod code_flow;
mod refresh;
mod tokens;
