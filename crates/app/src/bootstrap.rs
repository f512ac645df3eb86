//! First start on an empty store: an administrator, an organization, a team and an all-scopes API token,
//! shown once.

use gatehouse_domain::{NewApiTokenRequest, ScopeSet, password};
use serde::Serialize;

use crate::app::App;
use crate::directory::OrganizationRequest;
use crate::error::AppResult;

pub const ADMIN_EMAIL: &str = "admin@gatehouse.local";

#[derive(Debug, Serialize)]
pub struct FirstStart {
    pub email: String,
    pub password: String,
    pub token: String,
    #[serde(rename = "userId")]
    pub user_id: i64,
    #[serde(rename = "organizationId")]
    pub organization_id: i64,
    #[serde(rename = "teamId")]
    pub team_id: i64,
}

impl App {
    /// Creates the first administrator when the store has no user; `None` otherwise.
    pub async fn first_start(&self) -> AppResult<Option<FirstStart>> {
        if self.store.count_users().await? > 0 {
            return Ok(None);
        }
        let password = password::generate(self.random.as_ref());
        let user = self.create_user("Administrator", ADMIN_EMAIL, Some(password.clone()), true).await?;
        let org = self
            .create_organization_for(user.id, OrganizationRequest { name: "Default organization".into(), ..Default::default() })
            .await?;
        let team = self.create_team_in(org.id, "Default team").await?;
        self.add_team_member(team.id, user.id).await?;
        let now = self.clock.now();
        let scope_names = ScopeSet::all_api_scopes().names();
        let request = NewApiTokenRequest::new("first-start administrator token", &scope_names, None, now)?;
        let (secret, token) = self.store_api_token(user.id, request, now).await?;
        self.record_token_event(gatehouse_domain::AuditKind::ApiTokenCreated, None, &token).await;
        Ok(Some(FirstStart {
            email: ADMIN_EMAIL.into(),
            password,
            token: secret.reveal(),
            user_id: user.id.0,
            organization_id: org.id.0,
            team_id: team.id.0,
        }))
    }
}
