//! First start on an empty store: an administrator, an organization, a team and an all-scopes API token,
//! shown once.

use gatehouse_domain::identity::{DEFAULT_API_LIMIT, NewUser};
use gatehouse_domain::{ApiTokenSecret, NewApiTokenRequest, ScopeSet, Timestamp, password};
use gatehouse_http::api::tokens::issue_api_token;
use gatehouse_store::{DynStore, NewOrganization, StoreError};
use serde::Serialize;

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

/// Creates the first administrator when the store has no user; returns `None` otherwise.
pub async fn first_start(store: &DynStore, zone: &str, now: Timestamp) -> Result<Option<FirstStart>, StoreError> {
    if store.count_users().await? > 0 {
        return Ok(None);
    }
    let password = password::generate();
    let hash = {
        let password = password.clone();
        tokio::task::spawn_blocking(move || password::hash(&password))
            .await
            .map_err(|error| StoreError::Corrupt(format!("password hashing failed: {error}")))?
    };
    let new_user = NewUser::new("Administrator", ADMIN_EMAIL, Some(hash), true)
        .map_err(|error| StoreError::Corrupt(error.0))?;
    let user = store.create_user(&new_user, now).await?;
    let org = store
        .create_organization(
            &NewOrganization {
                name: "Default organization".into(),
                zone: zone.to_string(),
                api_limit: DEFAULT_API_LIMIT,
                timezone: "UTC".into(),
                country: None,
            },
            user.id,
            now,
        )
        .await?;
    let team = store.create_team(org.id, "Default team", now).await?;
    store.add_team_member(team.id, user.id).await?;
    let scope_names = ScopeSet::all_api_scopes().names();
    let request = NewApiTokenRequest::new("first-start administrator token", &scope_names, None, now)
        .map_err(|error| StoreError::Corrupt(error.0))?;
    let (secret, _): (ApiTokenSecret, _) = issue_api_token(store, zone, user.id, request, now).await?;
    Ok(Some(FirstStart {
        email: ADMIN_EMAIL.into(),
        password,
        token: secret.reveal(),
        user_id: user.id.0,
        organization_id: org.id,
        team_id: team.id,
    }))
}
