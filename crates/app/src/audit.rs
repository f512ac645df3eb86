//! The audit log as use cases: recording an event where each use case happens, and reading the log.
//!
//! **Who** comes from the use case itself (the [`Actor`] it was given, the client at the token endpoint,
//! the account tried at sign-in); `None` for an actor means the operator at the command line.
//!
//! **From where** is the one thing a use case cannot know: the client's address and the request's id belong
//! to the HTTP request. The edge sets them once per request as a tokio task-local ([`with_origin`]) and
//! [`App::audit_event`] reads it. Chosen over a parameter on every use case because:
//! - it is set in exactly one place for every route (API, OAuth, pages), so no handler can forget to pass
//!   it or pass the wrong one, and a route added later is covered without touching it;
//! - the address is not an input of the rule a use case applies (the login throttle, which does decide on
//!   the address, keeps its explicit parameter), so it does not belong in some twenty signatures and their
//!   callers;
//! - outside a request (the command line, first start) there is no origin, and the event says so.
//!
//! The cost of the choice: a task-local does not cross `tokio::spawn`. Every recording call here runs on
//! the request's own task (the hashing that moves to blocking threads records nothing).
//!
//! **A failed write** of an event is logged at error level with the whole event (it holds no secret), and
//! counted ([`App::audit_write_failures`]); the operation it records is not failed. The event is written
//! after the operation's own commit: failing then would tell the caller that something did not happen
//! when it did (a created token whose secret is lost, a rotated refresh token the client never receives).

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::Ordering;

use gatehouse_domain::{
    AuditActor, AuditDetails, AuditEvent, AuditFilter, AuditKind, AuditOrigin, AuditPage, OrgRole, Organization, OrganizationId,
    Page, User, UserId,
};
use tokio::task::futures::TaskLocalFuture;

use crate::actor::{Actor, AuthMethod};
use crate::app::App;
use crate::error::{AppError, AppResult};

tokio::task_local! {
    static ORIGIN: AuditOrigin;
}

/// Runs `future` (a request's handling) with `origin` as where its audit events come from.
pub fn with_origin<F: Future>(origin: AuditOrigin, future: F) -> TaskLocalFuture<AuditOrigin, F> {
    ORIGIN.scope(origin, future)
}

/// Where the current request came from; empty outside a request.
pub fn current_origin() -> AuditOrigin {
    ORIGIN.try_with(AuditOrigin::clone).unwrap_or_default()
}

/// Who an actor is in the audit log.
pub fn audit_actor(actor: Option<&Actor>) -> AuditActor {
    match actor {
        None => AuditActor::Operator { user: None },
        Some(actor) => match &actor.method {
            AuthMethod::Operator => AuditActor::Operator { user: Some(actor.user_id) },
            AuthMethod::ApiToken { .. } => AuditActor::User { id: actor.user_id, client: None },
            AuthMethod::OAuth { token } => AuditActor::User {
                id: actor.user_id,
                client: gatehouse_domain::oauth::ClientId::parse(&token.claims.client_id),
            },
        },
    }
}

/// An event read back, with the names it refers to as they are now (a deleted user or organization has
/// none: the ids stay).
#[derive(Debug, Clone)]
pub struct AuditEntry {
    pub event: AuditEvent,
    pub actor: Option<User>,
    pub organization: Option<Organization>,
}

impl App {
    /// A new event of `kind` by `actor`, now, from where the current request came.
    pub fn audit_event(&self, kind: AuditKind, actor: AuditActor) -> AuditEvent {
        let mut event = AuditEvent::new(kind, actor, self.clock.now(), self.random.as_ref());
        event.origin = current_origin();
        event
    }

    /// Appends an event. A failure is logged with the event and counted, never returned (see the module).
    pub async fn record(&self, event: AuditEvent) {
        if let Err(error) = self.store.append_audit_event(&event).await {
            self.audit_write_failures.fetch_add(1, Ordering::Relaxed);
            tracing::error!(
                %error,
                kind = event.kind.as_str(),
                uuid = %event.uuid,
                actor = ?event.actor,
                origin = ?event.origin,
                organization = ?event.organization,
                details = ?event.details,
                "the audit log could not record an event"
            );
        }
    }

    /// Records an event that concerns a user's own account (their tokens, their sign-ins, their consents):
    /// every organization the user belongs to now sees it in its log.
    pub(crate) async fn record_for_user(&self, mut event: AuditEvent, user: UserId) {
        let page = Page { limit: Page::MAX_LIMIT, offset: 0, ..Page::default() };
        match self.store.organizations_of_user(user, page).await {
            Ok(organizations) => event.visible_to = organizations.into_iter().map(|org| org.id).collect(),
            // Still recorded, in the platform's log: better than not at all.
            Err(error) => tracing::error!(%error, kind = event.kind.as_str(), "the audit log could not read the user's organizations"),
        }
        self.record(event).await;
    }

    /// The one-line hook for a use case: records `kind` by `by` (`None`: the operator at the command line),
    /// in `organization` if it happened in one.
    pub async fn audit(&self, kind: AuditKind, by: Option<&Actor>, organization: Option<OrganizationId>, details: AuditDetails) {
        let event = self.audit_event(kind, audit_actor(by)).in_organization(organization).with(details);
        self.record(event).await;
    }

    /// An organization's audit log (Make: `GET /audit-logs/organization/{organizationId}`), for its owners
    /// and admins, and for platform administrators. Outsiders are told it does not exist; members who do
    /// not manage it are refused (Make answers 403). A credential limited to another organization cannot
    /// reach it at all.
    pub async fn organization_audit_log(
        &self,
        actor: &Actor,
        organization: OrganizationId,
        mut filter: AuditFilter,
        page: AuditPage,
    ) -> AppResult<(Organization, Vec<AuditEntry>)> {
        let not_found = || AppError::not_found("The organization does not exist.");
        if !actor.reaches_organization(organization) {
            return Err(not_found());
        }
        let role = self.store.organization_role(organization, actor.user_id).await?;
        let org = match role {
            Some(_) => self.membership(actor, organization).await?.0,
            None if actor.is_admin => self.store.organization(organization).await?.ok_or_else(not_found)?,
            None => return Err(not_found()),
        };
        if !actor.is_admin && !role.is_some_and(OrgRole::can_manage) {
            return Err(AppError::forbidden("Only the organization's owners and admins can read its audit log."));
        }
        filter.organization = Some(org.id);
        let events = self.store.audit_events(&filter, page).await?;
        Ok((org, self.audit_entries(events).await?))
    }

    /// The whole platform's audit log: administrators (the route checks), and the operator.
    pub async fn audit_log(&self, filter: AuditFilter, page: AuditPage) -> AppResult<Vec<AuditEntry>> {
        let events = self.store.audit_events(&filter, page).await?;
        self.audit_entries(events).await
    }

    /// Looks up each user and organization a page of events names, once.
    async fn audit_entries(&self, events: Vec<AuditEvent>) -> AppResult<Vec<AuditEntry>> {
        let mut users: HashMap<UserId, Option<User>> = HashMap::new();
        let mut organizations: HashMap<OrganizationId, Option<Organization>> = HashMap::new();
        let mut entries = Vec::with_capacity(events.len());
        for event in events {
            let actor = match event.actor.user_id() {
                Some(id) => match users.get(&id) {
                    Some(user) => user.clone(),
                    None => {
                        let user = self.store.user_by_id(id).await?;
                        users.insert(id, user.clone());
                        user
                    }
                },
                None => None,
            };
            let organization = match event.organization {
                Some(id) => match organizations.get(&id) {
                    Some(org) => org.clone(),
                    None => {
                        let org = self.store.organization(id).await?;
                        organizations.insert(id, org.clone());
                        org
                    }
                },
                None => None,
            };
            entries.push(AuditEntry { event, actor, organization });
        }
        Ok(entries)
    }
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use gatehouse_domain::{AuditActor, AuditKind, AuditOrigin, OrgRole, Timestamp};

    use super::*;
    use crate::actor::OrganizationLimit;
    use crate::api_tokens::TokenRequest;
    use crate::authorization::LoginOutcome;
    use crate::clients::{Approval, ClientRegistration};
    use crate::directory::OrganizationRequest;
    use crate::testing::{REDIRECT_URI, START, TestApp, VERIFIER};
    use crate::token_endpoint::CodeExchange;

    const PASSWORD: &str = "correct horse battery staple";

    fn origin() -> AuditOrigin {
        AuditOrigin::new(Some("203.0.113.7".parse().expect("address")), Some("req-42"))
    }

    async fn every_event(app: &TestApp) -> Vec<AuditEvent> {
        let page = AuditPage { limit: 10_000, offset: 0, oldest_first: true };
        app.audit_log(AuditFilter::default(), page).await.expect("the log").into_iter().map(|entry| entry.event).collect()
    }

    fn only(events: &[AuditEvent], kind: AuditKind) -> Vec<&AuditEvent> {
        events.iter().filter(|event| event.kind == kind).collect()
    }

    fn one(events: &[AuditEvent], kind: AuditKind) -> &AuditEvent {
        let found = only(events, kind);
        assert_eq!(found.len(), 1, "exactly one {kind}: {events:#?}");
        found[0]
    }

    /// Issue 14: each event the issue names is recorded where its use case lives, with who, when, from
    /// where and what, and none of them holds a secret (token, password, client secret, code, refresh
    /// token, access token).
    #[tokio::test]
    async fn every_event_type_is_recorded_with_who_when_where_and_what_and_no_secret() {
        let app = TestApp::new().await;
        let mut secrets: Vec<String> = vec![PASSWORD.to_string()];
        let at = START.plus_secs(100);
        app.clock.set(at);
        let ip: IpAddr = "203.0.113.7".parse().expect("address");
        with_origin(origin(), async {
            // Users, organizations, roles (the operator's way).
            let owner = app.create_user("Owner", "owner@example.com", Some(PASSWORD.into()), true).await.expect("owner");
            let bob = app.create_user("Bob", "bob@example.com", None, false).await.expect("bob");
            let org = app.create_organization_for(owner.id, OrganizationRequest { name: "Acme".into(), ..Default::default() }).await.expect("org");
            app.set_organization_role(org.id, bob.id, OrgRole::Member).await.expect("added");
            app.set_organization_role(org.id, bob.id, OrgRole::Admin).await.expect("changed");

            // API tokens: one made by the operator, then one made and deleted through an API token.
            let scopes = vec!["user:read".to_string(), "user:write".to_string()];
            let request = TokenRequest { label: "ci", scopes: &scopes, expires_at: None };
            let (first, _) = app.issue_api_token(&Actor::operator(&owner), request).await.expect("token");
            secrets.push(first.reveal());
            let (token_actor, _) = app.authenticate_api_token(&first).await.expect("store").expect("valid");
            let narrow = vec!["user:read".to_string()];
            let request = TokenRequest { label: "deploy", scopes: &narrow, expires_at: None };
            let (second, stored) = app.issue_api_token(&token_actor, request).await.expect("token");
            secrets.push(second.reveal());
            app.delete_api_token(&token_actor, stored.created).await.expect("deleted");

            // OAuth clients: requested, approved by an administrator, secret rotated, rejected, deleted.
            let uris = vec![REDIRECT_URI.to_string()];
            let client_scopes = vec!["user:read".to_string()];
            let registration = ClientRegistration {
                name: "Requested app",
                description: "",
                client_type: "confidential",
                redirect_uris: &uris,
                scopes: &client_scopes,
            };
            let requested = app.request_client(&token_actor, registration).await.expect("requested");
            let admin = Actor::operator(&owner);
            let (_, secret) = app.approve_client(requested.id.as_str(), Approval::default(), Some(&admin)).await.expect("approved");
            secrets.extend(secret.map(|secret| secret.reveal()));
            let (_, rotated) = app.rotate_client_secret(requested.id.as_str(), Some(&admin)).await.expect("rotated");
            secrets.push(rotated.reveal());
            app.reject_client(requested.id.as_str(), Some(&admin)).await.expect("rejected");
            app.delete_client(requested.id.as_str(), None).await.expect("deleted");

            // Consent, a code replayed, a refresh token replayed, the grant revoked.
            let consented = app.consented("user:read").await;
            let code = app.code(&consented, "user:read").await;
            secrets.push(code.clone());
            let exchange = CodeExchange { code: &code, redirect_uri: Some(REDIRECT_URI), code_verifier: Some(VERIFIER) };
            let tokens = app.exchange_code(&consented.client, exchange).await.expect("exchanged");
            secrets.push(tokens.access_token.clone());
            assert!(app.exchange_code(&consented.client, exchange).await.is_err(), "a replayed code is refused");
            let fresh = app.tokens(&consented, "user:read").await;
            let refresh = fresh.refresh_token.clone().expect("a refresh token");
            secrets.push(refresh.clone());
            let rotated = app.refresh(&consented.client, &refresh, None).await.expect("rotated");
            secrets.extend(rotated.refresh_token.clone());
            app.clock.advance_secs(app.settings.oauth.refresh_grace_secs + 1);
            assert!(app.refresh(&consented.client, &refresh, None).await.is_err(), "a replayed refresh token is refused");
            let ada = app.user_by_email("ada@example.com").await.expect("ada");
            app.revoke_authorized_app(&Actor::operator(&ada), consented.client.id.as_str()).await.expect("revoked");

            // Sign-ins: a failure, a success, and the throttle.
            assert!(matches!(app.sign_in(None, "owner@example.com", "wrong".into(), ip).await.expect("store"), LoginOutcome::Refused));
            assert!(matches!(app.sign_in(None, "owner@example.com", PASSWORD.into(), ip).await.expect("store"), LoginOutcome::SignedIn(_)));
            for _ in 0..8 {
                app.sign_in(None, "owner@example.com", "wrong".into(), ip).await.expect("store");
            }

            // Signing keys, and a user deleted.
            let kids = app.rotate_keys().await.expect("rotated");
            app.delete_user(bob.id, Some(&admin)).await.expect("deleted");

            let events = every_event(&app).await;
            for kind in [
                AuditKind::UserCreated,
                AuditKind::OrganizationCreated,
                AuditKind::MemberAdded,
                AuditKind::OrganizationRoleChanged,
                AuditKind::ApiTokenCreated,
                AuditKind::ApiTokenDeleted,
                AuditKind::OAuthClientRequested,
                AuditKind::OAuthClientApproved,
                AuditKind::OAuthClientSecretRotated,
                AuditKind::OAuthClientRejected,
                AuditKind::OAuthClientDeleted,
                AuditKind::OAuthGrantGiven,
                AuditKind::AuthorizationCodeReplayed,
                AuditKind::RefreshTokenReplayed,
                AuditKind::OAuthGrantRevoked,
                AuditKind::LoginFailed,
                AuditKind::LoginSucceeded,
                AuditKind::LoginThrottled,
                AuditKind::SigningKeyRotated,
                AuditKind::SigningKeyGenerated,
                AuditKind::UserDeleted,
            ] {
                assert!(!only(&events, kind).is_empty(), "{kind} was recorded");
            }

            // When: the injected clock. Where: the request's origin.
            for event in &events {
                assert!(event.at >= at, "{event:?}");
                assert_eq!(event.origin, origin(), "{event:?}");
            }

            // Who and what, event by event.
            let created = only(&events, AuditKind::ApiTokenCreated);
            assert_eq!(created[0].actor, AuditActor::Operator { user: Some(owner.id) });
            assert_eq!(created[1].actor, AuditActor::User { id: owner.id, client: None });
            assert_eq!(created[1].details.target_id.as_deref(), Some(stored.created.to_iso().as_str()));
            assert_eq!(created[1].details.facts()["label"], "deploy");
            assert_eq!(created[1].details.facts()["scopes"], serde_json::json!(["user:read"]));
            let deleted = one(&events, AuditKind::ApiTokenDeleted);
            assert_eq!(deleted.details.target_user, Some(owner.id));
            assert!(deleted.visible_to.is_empty(), "read back without its links");

            let changed = one(&events, AuditKind::OrganizationRoleChanged);
            assert_eq!(changed.organization, Some(org.id));
            assert_eq!(changed.actor, AuditActor::Operator { user: None });
            assert_eq!(changed.details.target_user, Some(bob.id));
            assert_eq!(changed.details.facts()["version"], serde_json::json!({ "from": "member", "to": "admin" }));
            let added = only(&events, AuditKind::MemberAdded);
            assert!(added.iter().any(|event| event.details.target_user == Some(bob.id) && event.organization == Some(org.id)));

            let requested_event = one(&events, AuditKind::OAuthClientRequested);
            assert_eq!(requested_event.details.target_client.as_ref(), Some(&requested.id));
            assert_eq!(requested_event.actor, AuditActor::User { id: owner.id, client: None });
            let approved = only(&events, AuditKind::OAuthClientApproved);
            assert!(approved.iter().any(|event| event.actor == AuditActor::Operator { user: Some(owner.id) }));
            assert_eq!(one(&events, AuditKind::OAuthClientDeleted).actor, AuditActor::Operator { user: None });

            let given = only(&events, AuditKind::OAuthGrantGiven);
            assert!(given.iter().all(|event| event.actor == AuditActor::User { id: ada.id, client: None }));
            assert!(given.iter().all(|event| event.details.target_client.as_ref() == Some(&consented.client.id)));
            let code_replay = one(&events, AuditKind::AuthorizationCodeReplayed);
            assert_eq!(code_replay.actor, AuditActor::Client(consented.client.id.clone()));
            assert_eq!(code_replay.details.target_user, Some(ada.id));
            let refresh_replay = one(&events, AuditKind::RefreshTokenReplayed);
            assert_eq!(refresh_replay.actor, AuditActor::Client(consented.client.id.clone()));
            assert!(refresh_replay.at > at, "recorded at the replay, after the clock moved");
            assert_eq!(one(&events, AuditKind::OAuthGrantRevoked).actor, AuditActor::Operator { user: Some(ada.id) });

            let failed = only(&events, AuditKind::LoginFailed);
            assert!(failed.len() >= 4, "each refused password: {}", failed.len());
            assert_eq!(failed[0].actor, AuditActor::Anonymous { account: gatehouse_domain::Email::parse("owner@example.com").ok() });
            assert_eq!(failed[0].details.target_user, Some(owner.id));
            assert_eq!(one(&events, AuditKind::LoginSucceeded).actor, AuditActor::User { id: owner.id, client: None });
            assert_eq!(one(&events, AuditKind::LoginThrottled).details.target_user, None, "once a minute, whatever the flood");

            let rotation = one(&events, AuditKind::SigningKeyRotated);
            let recorded_kids: Vec<String> = rotation.details.facts()["kids"]
                .as_array()
                .expect("kids")
                .iter()
                .filter_map(|kid| kid.as_str().map(str::to_string))
                .collect();
            assert_eq!(recorded_kids, kids.iter().map(|kid| kid.as_str().to_string()).collect::<Vec<_>>());
            assert_eq!(only(&events, AuditKind::SigningKeyGenerated)[0].actor, AuditActor::System);
            let user_deleted = one(&events, AuditKind::UserDeleted);
            assert_eq!(user_deleted.details.facts()["email"], "bob@example.com", "who the user was outlives the user");

            // Never a secret, in any field.
            let everything = format!("{events:?}");
            for secret in &secrets {
                assert!(!everything.contains(secret.as_str()), "a secret in the audit log: {secret}");
            }
        })
        .await;
    }

    /// Outside a request (the command line) there is no origin, and the event says so.
    #[tokio::test]
    async fn an_event_outside_a_request_has_no_origin() {
        let app = TestApp::new().await;
        app.create_user("Ada", "ada@example.com", None, false).await.expect("created");
        let events = every_event(&app).await;
        let created = one(&events, AuditKind::UserCreated);
        assert_eq!(created.origin, AuditOrigin::default());
        assert_eq!(created.actor, AuditActor::Operator { user: None });
        assert_eq!(created.at, START);
    }

    /// Text typed in the email field that is not an email address may be a password in the wrong field:
    /// it is never kept.
    #[tokio::test]
    async fn a_failed_sign_in_keeps_the_account_tried_only_when_it_is_an_email_address() {
        let app = TestApp::new().await;
        let ip: IpAddr = "198.51.100.1".parse().expect("address");
        app.sign_in(None, "nobody@example.com", "x".into(), ip).await.expect("store");
        app.sign_in(None, "hunter2-typed-in-the-wrong-field", "x".into(), ip).await.expect("store");
        let events = every_event(&app).await;
        let failed = only(&events, AuditKind::LoginFailed);
        assert_eq!(failed.len(), 2);
        assert_eq!(failed[0].actor, AuditActor::Anonymous { account: gatehouse_domain::Email::parse("nobody@example.com").ok() });
        assert_eq!(failed[0].origin.address, Some(ip), "the address the throttle counted");
        assert_eq!(failed[1].actor, AuditActor::Anonymous { account: None });
        assert!(!format!("{events:?}").contains("hunter2"));
    }

    /// Make: only an organization's owners and admins read its audit log (403 otherwise); outsiders are
    /// told it does not exist; platform administrators read any; a grant limited to another organization
    /// reaches nothing. The log shows what members did on their own accounts.
    #[tokio::test]
    async fn an_organizations_log_is_for_its_owners_admins_and_platform_administrators() {
        let app = TestApp::new().await;
        let owner = app.user("owner@example.com", false).await;
        let member = app.user("member@example.com", false).await;
        let outsider = app.user("outsider@example.com", false).await;
        let platform_admin = app.user("root@example.com", true).await;
        let org = app.create_organization_for(owner.id, OrganizationRequest { name: "Acme".into(), ..Default::default() }).await.expect("org");
        let other = app.create_organization_for(owner.id, OrganizationRequest { name: "Other".into(), ..Default::default() }).await.expect("org");
        app.set_organization_role(org.id, member.id, OrgRole::Member).await.expect("member");
        let scopes = vec!["user:read".to_string()];
        let (outsider_secret, _) = app
            .issue_api_token(&Actor::operator(&outsider), TokenRequest { label: "elsewhere", scopes: &scopes, expires_at: None })
            .await
            .expect("token");
        let (member_secret, _) = app
            .issue_api_token(&Actor::operator(&member), TokenRequest { label: "mine", scopes: &scopes, expires_at: None })
            .await
            .expect("token");
        let read = |actor: Actor| {
            let app = &app;
            async move { app.organization_audit_log(&actor, org.id, AuditFilter::default(), AuditPage::default()).await }
        };
        let (_, entries) = read(Actor::operator(&owner)).await.expect("the owner reads it");
        let kinds: Vec<AuditKind> = entries.iter().map(|entry| entry.event.kind).collect();
        assert!(kinds.contains(&AuditKind::MemberAdded) && kinds.contains(&AuditKind::ApiTokenCreated), "{kinds:?}");
        let labels: Vec<String> = entries.iter().filter_map(|entry| entry.event.details.facts().get("label").map(|l| l.to_string())).collect();
        assert_eq!(labels, vec!["\"mine\"".to_string()], "a member's token, not an outsider's");
        assert!(entries.windows(2).all(|pair| pair[0].event.at >= pair[1].event.at), "newest first");
        assert!(matches!(read(Actor::operator(&member)).await, Err(AppError::Forbidden(_))));
        assert!(matches!(read(Actor::operator(&outsider)).await, Err(AppError::NotFound(_))));
        assert!(read(Actor::operator(&platform_admin)).await.is_ok());
        let mut limited = Actor::operator(&platform_admin);
        limited.organizations = OrganizationLimit::Only(other.id);
        assert!(matches!(read(limited).await, Err(AppError::NotFound(_))), "a grant limited to another organization");
        let secrets = [outsider_secret.reveal(), member_secret.reveal()];
        let shown = format!("{entries:?}");
        assert!(secrets.iter().all(|secret| !shown.contains(secret.as_str())));
    }

    /// The listing's filters: kind, actor, time window, and paging.
    #[tokio::test]
    async fn the_log_filters_by_kind_actor_and_time_and_pages() {
        let app = TestApp::new().await;
        let ada = app.user("ada@example.com", false).await;
        let scopes = vec!["user:read".to_string()];
        for n in 0..3 {
            app.clock.advance_secs(10);
            let label = format!("t{n}");
            app.issue_api_token(&Actor::operator(&ada), TokenRequest { label: &label, scopes: &scopes, expires_at: None })
                .await
                .expect("token");
        }
        app.create_user("Bob", "bob@example.com", None, false).await.expect("bob");
        let filter = AuditFilter { kinds: vec![AuditKind::ApiTokenCreated], actor_user: Some(ada.id), ..AuditFilter::default() };
        let all = app.audit_log(filter.clone(), AuditPage::default()).await.expect("log");
        assert_eq!(all.len(), 3);
        assert_eq!(all[0].event.details.facts()["label"], "t2", "newest first");
        assert_eq!(all[0].actor.as_ref().map(|user| user.id), Some(ada.id), "the actor's name is looked up");
        let since = AuditFilter { since: Some(START.plus_secs(20)), until: Some(START.plus_secs(20)), ..filter.clone() };
        let window = app.audit_log(since, AuditPage::default()).await.expect("log");
        assert_eq!(window.len(), 1);
        assert_eq!(window[0].event.details.facts()["label"], "t1");
        let second = app.audit_log(filter, AuditPage { offset: 1, limit: 1, oldest_first: false }).await.expect("log");
        assert_eq!(second[0].event.details.facts()["label"], "t1");
        let at: Timestamp = second[0].event.at;
        assert_eq!(at, START.plus_secs(20));
    }
}
