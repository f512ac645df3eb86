//! Every repository trait, for callers that hold a concrete store or a generic one:
//! `use gatehouse_store::repositories::*;`.

pub use crate::api_tokens::ApiTokenRepository;
pub use crate::audit::AuditRepository;
pub use crate::clients::ClientRepository;
pub use crate::codes::CodeRepository;
pub use crate::grants::GrantRepository;
pub use crate::organizations::OrganizationRepository;
pub use crate::password_resets::PasswordResetRepository;
pub use crate::refresh_tokens::RefreshTokenRepository;
pub use crate::revocations::RevocationRepository;
pub use crate::roles::RoleRepository;
pub use crate::sessions::SessionRepository;
pub use crate::settings::SettingsRepository;
pub use crate::signing_keys::SigningKeyRepository;
pub use crate::users::UserRepository;
