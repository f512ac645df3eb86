//! What forward-auth asks of the application beyond authenticating: counting the request against Make's
//! per-organization limit.
//!
//! A request through a proxy names no organization Gatehouse can see (the path is the upstream's), so it is
//! counted only when the credential itself is limited to exactly one organization: an OAuth access token
//! granted for the organization chosen at consent. API tokens and client-credentials tokens reach every
//! organization of their user, so no single organization's quota is theirs to spend, and forward-auth
//! does not count them. The counting is the same in-memory counter `/api/v2` uses (`rate_limit`).

use crate::actor::{Actor, OrganizationLimit};
use crate::app::App;
use crate::error::{AppError, AppResult};

impl App {
    /// Counts one forwarded request against the organization the credential is limited to, if it is
    /// limited to exactly one; refuses it with Make's 429 once the organization's minute is spent.
    pub async fn count_forwarded_request(&self, actor: &Actor) -> AppResult<()> {
        let OrganizationLimit::Only(id) = actor.organizations else {
            return Ok(());
        };
        let Some(organization) = self.store.organization(id).await? else {
            // The grant outlived its organization: nothing it reached is left.
            return Err(AppError::Forbidden("The organization this credential was granted for no longer exists.".into()));
        };
        self.count_organization_request(&organization, self.clock.now()).await
    }
}
