//! A user's own account: their details (`PATCH /users/me`, the console's profile page) and deleting it.

use gatehouse_domain::catalogue;
use gatehouse_domain::identity::parse_name;
use gatehouse_domain::{AuditDetails, AuditKind, User};

use crate::actor::Actor;
use crate::app::App;
use crate::error::{AppError, AppResult};
use crate::invalidation::Invalidation;

/// Changes a user makes to their own details; `None` keeps a field. Ids are the catalogues' (see
/// `gatehouse_domain::catalogue` and `GET /api/v2/enums/*`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProfileChanges {
    pub name: Option<String>,
    /// An ISO 639-1 code the locales are written in (`catalogue::languages()`).
    pub language: Option<String>,
    pub locale_id: Option<i64>,
    pub timezone_id: Option<i64>,
    pub country_id: Option<i64>,
}

impl ProfileChanges {
    fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

impl App {
    /// Changes the actor's own name, language, locale, time zone or country. Every value is checked
    /// before anything is written, so a bad one changes nothing.
    pub async fn update_profile(&self, actor: &Actor, changes: ProfileChanges) -> AppResult<User> {
        let gone = || AppError::Unauthenticated("The credential's user no longer exists.".into());
        let mut user = self.store.user_by_id(actor.user_id).await?.ok_or_else(gone)?;
        if changes.is_empty() {
            return Ok(user);
        }
        if let Some(name) = &changes.name {
            user.name = parse_name(name, "user")?;
        }
        if let Some(language) = &changes.language {
            user.language = catalogue::parse_language(language)?.to_string();
        }
        if let Some(id) = changes.locale_id {
            user.locale = catalogue::locale_by_id(id)?.code.to_string();
        }
        if let Some(id) = changes.timezone_id {
            user.timezone = catalogue::timezone_by_id(id)?.code.to_string();
        }
        if let Some(id) = changes.country_id {
            user.country = Some(catalogue::country_by_id(id)?.alpha2.to_string());
        }
        if !self.store.update_profile(&user).await? {
            return Err(gone());
        }
        let details = AuditDetails::new().target(user.id.0).user(user.id).name(&user.name);
        self.audit(AuditKind::UserProfileUpdated, Some(actor), None, details).await;
        Ok(user)
    }

    /// Deletes the actor's own account, with everything it holds: API tokens, browser sessions, OAuth
    /// grants and their tokens, memberships. The store records the user's revocation in the same
    /// transaction, so every node drops the user's cached credentials (as `delete_user`).
    ///
    /// Refused while the user is the only owner of an organization: the organization would be left with
    /// nobody who may delete it or name another owner. Transfer ownership, or delete it, first.
    pub async fn delete_own_account(&self, actor: &Actor) -> AppResult<()> {
        let user = self
            .store
            .user_by_id(actor.user_id)
            .await?
            .ok_or_else(|| AppError::Unauthenticated("The credential's user no longer exists.".into()))?;
        self.refuse_if_sole_owner(&user).await?;
        if !self.store.delete_user(user.id, self.clock.now()).await? {
            return Err(AppError::not_found("The user does not exist."));
        }
        self.apply(&[Invalidation::User(user.id)]);
        let details = AuditDetails::new().target(user.id.0).user(user.id).email(&user.email).name(&user.name);
        self.audit(AuditKind::UserDeleted, Some(actor), None, details).await;
        Ok(())
    }

    /// Refuses to delete a user who is the only owner of an organization (their own deletion, or an
    /// administrator's or operator's).
    pub(crate) async fn refuse_if_sole_owner(&self, user: &User) -> AppResult<()> {
        let orphaned = self.store.organizations_solely_owned_by(user.id).await?;
        if orphaned.is_empty() {
            return Ok(());
        }
        let ids: Vec<String> = orphaned.iter().map(ToString::to_string).collect();
        Err(AppError::Conflict(format!(
            "{} is the only owner of organization {}: transfer the ownership or delete the organization first.",
            user.email.as_str(),
            ids.join(", ")
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directory::OrganizationRequest;
    use crate::testing::TestApp;

    #[tokio::test]
    async fn a_profile_change_is_checked_whole_before_anything_is_written() {
        let app = TestApp::new().await;
        let ada = app.user("ada@example.com", false).await;
        let actor = Actor::operator(&ada);
        let prague = catalogue::timezone_by_code("Europe/Prague").unwrap().id;
        let bad = ProfileChanges { name: Some("Ada L.".into()), timezone_id: Some(prague), country_id: Some(0), ..Default::default() };
        assert!(matches!(app.update_profile(&actor, bad).await, Err(AppError::Invalid(_))));
        assert_eq!(app.store.user_by_id(ada.id).await.unwrap().unwrap().name, ada.name, "nothing written");

        let good = ProfileChanges {
            name: Some(" Ada L. ".into()),
            language: Some("cs".into()),
            locale_id: Some(3),
            timezone_id: Some(prague),
            country_id: Some(catalogue::country_by_code("CZ").unwrap().id),
        };
        let user = app.update_profile(&actor, good).await.unwrap();
        assert_eq!((user.name.as_str(), user.language.as_str(), user.locale.as_str()), ("Ada L.", "cs", "cs"));
        assert_eq!((user.timezone.as_str(), user.country.as_deref()), ("Europe/Prague", Some("CZ")));
        let stored = app.store.user_by_id(ada.id).await.unwrap().unwrap();
        assert_eq!(stored.timezone, "Europe/Prague");
    }

    #[tokio::test]
    async fn the_only_owner_of_an_organization_cannot_delete_their_account() {
        let app = TestApp::new().await;
        let ada = app.user("ada@example.com", false).await;
        let org = app.create_organization_for(ada.id, OrganizationRequest { name: "Acme".into(), ..Default::default() }).await.unwrap();
        let actor = Actor::operator(&ada);
        assert!(matches!(app.delete_own_account(&actor).await, Err(AppError::Conflict(_))));
        app.delete_organization_by_operator(org.id).await.unwrap();
        app.delete_own_account(&actor).await.unwrap();
        assert!(app.store.user_by_id(ada.id).await.unwrap().is_none());
    }
}
