//! The OAuth 2.0 / OpenID Connect domain: clients, authorization requests, PKCE, grants, token families,
//! refresh rotation rules, and JOSE. No HTTP and no SQL here.

pub mod authorize;
pub mod client;
pub mod grant;
pub mod jose;
pub mod pkce;
pub mod prelogin;
pub mod secret;
pub mod settings;

pub use client::{ClientId, ClientStatus, ClientType, NewClient, OAuthClient, RedirectUri};
pub use grant::{
    AuthorizationCode, BrowserSession, Grant, Prompt, RefreshToken, RefreshVerdict, SigningKeyRecord, TokenFamily,
};
pub use pkce::CodeChallenge;
pub use secret::OpaqueSecret;
pub use settings::OAuthSettings;
