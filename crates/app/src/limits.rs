//! Which limits apply, and the use cases that count against them: Make's per-organization limit, the
//! optional per-token and per-client limits, and the token endpoint's per-client limit. The login throttle
//! is in `throttle`. Counting itself is in `rate_limit`.

use std::cell::Cell;

use gatehouse_domain::{Organization, Timestamp, TokenHash};

use crate::app::App;
use crate::error::{AppError, AppResult};
use crate::rate_limit::{Quota, Rule};

/// Make's own words for its 429 (reference §3.4).
pub const ORGANIZATION_LIMIT_DETAIL: &str = "Requests limit for organization exceeded, please try again later.";

tokio::task_local! {
    /// The tightest quota counted while handling the current request, for the `RateLimit-*` headers. The
    /// HTTP layer opens the scope around a request; use cases that count write to it. A task-local rather
    /// than a return value threaded through every use case that reaches an organization.
    static REQUEST_QUOTA: Cell<Option<Quota>>;
}

/// Runs `future` (one request) collecting the tightest quota any limit reported while it ran.
pub async fn collecting_quota<F: Future>(future: F) -> (F::Output, Option<Quota>) {
    REQUEST_QUOTA
        .scope(Cell::new(None), async move {
            let output = future.await;
            (output, REQUEST_QUOTA.with(Cell::get))
        })
        .await
}

fn report(quota: Quota) {
    let _ = REQUEST_QUOTA.try_with(|slot| {
        let tighter = slot.get().is_none_or(|seen| !quota.allowed || (seen.allowed && quota.remaining < seen.remaining));
        if tighter {
            slot.set(Some(quota));
        }
    });
}

fn refused(detail: &str, quota: Quota) -> AppError {
    AppError::RateLimited { detail: detail.into(), retry_after_secs: quota.reset_secs }
}

impl App {
    /// Make's per-organization limit: `license.apiLimit` requests a minute, counted before the work.
    pub(crate) async fn count_organization_request(&self, org: &Organization, now: Timestamp) -> AppResult<()> {
        let rule = Rule::per_minute("org", u64::try_from(org.api_limit).unwrap_or(0));
        let quota = self.limiter.hit(rule, &org.id.to_string(), now).await;
        report(quota);
        if quota.allowed { Ok(()) } else { Err(refused(ORGANIZATION_LIMIT_DETAIL, quota)) }
    }

    /// The optional per-token and per-client limits on `/api/v2`, counted once the credential is known.
    /// `token` identifies the credential (the hash of what was presented); `client` is the OAuth client.
    /// `token` gives the credential's hash, asked for only when a per-token limit is set: hashing is a
    /// measurable share of the hot path, and most deployments set no such limit.
    pub async fn count_credential(&self, token: impl FnOnce() -> TokenHash, client: Option<&str>) -> AppResult<()> {
        let now = self.clock.now();
        if let Some(limit) = self.settings.limits.per_token_per_minute {
            let quota = self.limiter.hit(Rule::per_minute("token", limit), &token().to_hex(), now).await;
            report(quota);
            if !quota.allowed {
                return Err(refused("Requests limit for this token exceeded, please try again later.", quota));
            }
        }
        if let (Some(limit), Some(client)) = (self.settings.limits.per_client_per_minute, client) {
            let quota = self.limiter.hit(Rule::per_minute("client", limit), client, now).await;
            report(quota);
            if !quota.allowed {
                return Err(refused("Requests limit for this OAuth client exceeded, please try again later.", quota));
            }
        }
        Ok(())
    }

    /// The token endpoint, per presented client id, counted before the client's secret is checked.
    pub(crate) async fn count_token_request(&self, client_id: &str) -> AppResult<()> {
        let rule = Rule::per_minute("token-endpoint", self.settings.limits.token_endpoint_per_client_per_minute);
        let quota = self.limiter.hit(rule, client_id, self.clock.now()).await;
        if quota.allowed {
            Ok(())
        } else {
            Err(refused("Too many token requests for this client, please try again later.", quota))
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::actor::Actor;
    use crate::directory::OrganizationRequest;
    use crate::testing::TestApp;

    use super::*;

    #[tokio::test]
    async fn the_organization_limit_counts_by_the_injected_clock_and_reports_its_quota() {
        let app = TestApp::new().await;
        let user = app.user("ada@example.com", true).await;
        let org = app
            .create_organization_for(user.id, OrganizationRequest { name: "A".into(), api_limit: Some(2), ..Default::default() })
            .await
            .unwrap();
        let actor = Actor::operator(&user);
        let (first, quota) = collecting_quota(app.membership(&actor, org.id)).await;
        assert!(first.is_ok());
        assert_eq!(quota.map(|q| (q.limit, q.remaining)), Some((2, 1)));
        app.membership(&actor, org.id).await.unwrap();
        let (third, quota) = collecting_quota(app.membership(&actor, org.id)).await;
        assert!(matches!(third, Err(AppError::RateLimited { .. })));
        assert_eq!(quota.map(|q| (q.remaining, q.allowed)), Some((0, false)));
        app.clock.advance_secs(60);
        assert!(app.membership(&actor, org.id).await.is_ok(), "a new minute");
    }
}
