//! The store's contract, checked directly, on whichever backend the suite runs (SQLite, or PostgreSQL with
//! `GATEHOUSE_TEST_POSTGRES_URL`): both must behave exactly alike.

use gatehouse_domain::api_token::TokenLabel;
use gatehouse_domain::identity::NewUser;
use gatehouse_domain::oauth::client::approve;
use gatehouse_domain::oauth::{ClientId, ClientStatus, NewClient, OAuthClient, OpaqueSecret, RefreshToken, TokenFamily};
use gatehouse_domain::{FamilyId, GrantId, ApiToken, ApiTokenSecret, NewApiTokenRequest, OrgRole, Page, ScopeSet, SortDir, SortKey, Timestamp, UserId};
use crate::harness::issue_api_token;
use gatehouse_store::{Revoked, StoreError};

use crate::harness::{START, TestServer};

#[tokio::test]
async fn duplicate_emails_conflict_case_insensitively() {
    let server = TestServer::start().await;
    server.user("ada@example.com", false).await;
    let again = NewUser::new("Ada", "ADA@example.com", None, false).unwrap();
    let result = server.store.create_user(&again, START).await;
    assert!(matches!(result, Err(StoreError::Conflict(_))), "{result:?}");
}

#[tokio::test]
async fn roles_upsert_and_deleting_an_organization_cascades() {
    let server = TestServer::start().await;
    let ada = server.user("ada@example.com", false).await;
    let bob = server.user("bob@example.com", false).await;
    let org = server.org(&ada, "Acme").await;
    let team = server.team(org, "Ops").await;
    server.store.set_organization_role(org, bob.id, OrgRole::Member).await.unwrap();
    server.store.set_organization_role(org, bob.id, OrgRole::Admin).await.unwrap();
    assert_eq!(server.store.organization_role(org, bob.id).await.unwrap(), Some(OrgRole::Admin));
    server.store.add_team_member(team, bob.id).await.unwrap();
    server.store.add_team_member(team, bob.id).await.unwrap();
    assert!(server.store.delete_organization(org).await.unwrap());
    assert!(server.store.team(team).await.unwrap().is_none());
    assert_eq!(server.store.organization_role(org, bob.id).await.unwrap(), None);
    assert!(!server.store.delete_organization(org).await.unwrap());
}

#[tokio::test]
async fn pages_sort_by_name_or_id_in_both_directions() {
    let server = TestServer::start().await;
    let ada = server.user("ada@example.com", false).await;
    for name in ["beta", "Alpha", "gamma", "alpha"] {
        server.org(&ada, name).await;
    }
    let names = |orgs: Vec<gatehouse_domain::Organization>| orgs.into_iter().map(|o| o.name).collect::<Vec<_>>();
    let by_id_desc = Page { limit: 10, offset: 0, sort_by: SortKey::Id, sort_dir: SortDir::Desc };
    assert_eq!(names(server.store.organizations_of_user(ada.id, by_id_desc).await.unwrap()), ["alpha", "gamma", "Alpha", "beta"]);
    let by_name = Page { limit: 10, offset: 0, sort_by: SortKey::Name, sort_dir: SortDir::Asc };
    // Bytewise on both backends: uppercase before lowercase.
    assert_eq!(names(server.store.organizations_of_user(ada.id, by_name).await.unwrap()), ["Alpha", "alpha", "beta", "gamma"]);
    let second_page = Page { limit: 2, offset: 2, sort_by: SortKey::Id, sort_dir: SortDir::Asc };
    assert_eq!(names(server.store.organizations_of_user(ada.id, second_page).await.unwrap()), ["gamma", "alpha"]);
}

#[tokio::test]
async fn the_revocation_feed_is_ordered_and_pruned() {
    let server = TestServer::start().await;
    let ada = server.user("ada@example.com", false).await;
    let head = server.store.last_revocation_id().await.unwrap();
    let mut hashes = Vec::new();
    for i in 0..3 {
        let request = NewApiTokenRequest::new("x", &[] as &[&str], None, START).unwrap();
        let (secret, token): (ApiTokenSecret, _) = issue_api_token(&server.store, "z", ada.id, request, START).await.unwrap();
        hashes.push(secret.hash());
        server.store.delete_api_token(ada.id, token.created, START.plus_secs(i)).await.unwrap().expect("deleted");
    }
    let events = server.store.revocations_after(head, 10).await.unwrap();
    let revoked: Vec<Revoked> = events.iter().map(|e| e.revoked.clone()).collect();
    assert_eq!(revoked, hashes.iter().map(|h| Revoked::ApiToken(*h)).collect::<Vec<_>>());
    assert!(events.windows(2).all(|pair| pair[0].id < pair[1].id));
    assert_eq!(server.store.revocations_after(events[1].id, 10).await.unwrap().len(), 1);
    assert_eq!(server.store.prune_revocations(Timestamp::from_millis(START.as_millis() + 1500)).await.unwrap(), 2);
    assert_eq!(server.store.revocations_after(head, 10).await.unwrap().len(), 1);
}

#[tokio::test]
async fn last_used_never_moves_backwards() {
    let server = TestServer::start().await;
    let ada = server.user("ada@example.com", false).await;
    let request = NewApiTokenRequest::new("x", &[] as &[&str], None, START).unwrap();
    let (secret, _) = issue_api_token(&server.store, "z", ada.id, request, START).await.unwrap();
    let later = START.plus_secs(10);
    server.store.record_api_token_use(&[(secret.hash(), later)]).await.unwrap();
    server.store.record_api_token_use(&[(secret.hash(), START.plus_secs(5))]).await.unwrap();
    let stored = server.store.api_token_by_hash(&secret.hash()).await.unwrap().unwrap();
    assert_eq!(stored.last_used, Some(later));
}

/// Rotations that arrive together may share one transaction (SQLite's group commit). One that fails must
/// fail alone: its partial work is rolled back and the others are stored.
#[tokio::test]
async fn a_failed_rotation_takes_no_other_rotation_with_it() {
    use gatehouse_store::Rotation;
    let world = crate::oauth::support::world().await;
    let store = &world.server.store;
    let now = gatehouse_domain::Clock::now(&world.server.clock);
    let mut parents = Vec::new();
    for _ in 0..2 {
        let body = crate::oauth::support::tokens_for(&world, &world.confidential, "user:read").await;
        let secret = gatehouse_domain::oauth::OpaqueSecret::parse(body["refresh_token"].as_str().unwrap()).unwrap();
        parents.push(store.refresh_token_by_hash(&secret.hash()).await.unwrap().unwrap());
    }
    let successor_of = |parent: &gatehouse_domain::oauth::RefreshToken| {
        let mut next = parent.clone();
        next.hash = gatehouse_domain::oauth::OpaqueSecret::generate(&gatehouse_domain::OsRandom).hash();
        next.parent_hash = Some(parent.hash);
        next
    };
    // The first successor reuses the second parent's hash: its insert breaks the primary key.
    let mut clashing = successor_of(&parents[0]);
    clashing.hash = parents[1].hash;
    let good = successor_of(&parents[1]);
    let (failed, rotated) = tokio::join!(
        store.rotate_refresh_token(&parents[0].hash, &clashing, 30, now),
        store.rotate_refresh_token(&parents[1].hash, &good, 30, now),
    );
    assert!(failed.is_err(), "{failed:?}");
    assert_eq!(rotated.unwrap(), Rotation::Rotated);
    assert!(store.refresh_token_by_hash(&good.hash).await.unwrap().is_some(), "the good rotation was stored");
    let untouched = store.refresh_token_by_hash(&parents[0].hash).await.unwrap().unwrap();
    assert_eq!(untouched.used_at, None, "the failed rotation's partial work was rolled back");
    let retry = successor_of(&parents[0]);
    assert_eq!(store.rotate_refresh_token(&parents[0].hash, &retry, 30, now).await.unwrap(), Rotation::Rotated);
}

async fn approved_client(server: &TestServer, owner: UserId) -> OAuthClient {
    let mut client = NewClient::new("App", "An app", "confidential", &["https://app.example.com/cb"], &["user:read"])
        .expect("valid client")
        .into_client(owner, START, &gatehouse_domain::OsRandom);
    approve(&mut client, &gatehouse_domain::OsRandom);
    server.store.insert_oauth_client(&client).await.unwrap();
    client
}

fn family(id: &str, client: &OAuthClient, user: UserId, grant: Option<GrantId>) -> TokenFamily {
    TokenFamily { id: id.into(), client_id: client.id.clone(), user_id: Some(user), grant_id: grant, created: START, revoked_at: None }
}

fn refresh(family: &TokenFamily, grant: GrantId) -> RefreshToken {
    RefreshToken {
        hash: OpaqueSecret::generate(&gatehouse_domain::OsRandom).hash(),
        family_id: family.id.clone(),
        parent_hash: None,
        client_id: family.client_id.clone(),
        user_id: family.user_id.unwrap(),
        grant_id: grant,
        scopes: ScopeSet::parse_names(["user:read"]).unwrap(),
        organization_id: None,
        auth_time: START,
        created: START,
        expires_at: START.plus_secs(3600),
        used_at: None,
        revoked_at: None,
    }
}

#[tokio::test]
async fn rejecting_a_client_clears_its_secret_and_revokes_its_families_at_once() {
    let server = TestServer::start().await;
    let ada = server.user("ada@example.com", false).await;
    let client = approved_client(&server, ada.id).await;
    assert!(client.secret_hash.is_some());
    let grant = server.store.save_grant(ada.id, &client.id, None, client.scopes, START).await.unwrap();
    let live = family("fam-live", &client, ada.id, Some(grant.id));
    server.store.insert_family(&live).await.unwrap();
    let token = refresh(&live, grant.id);
    server.store.insert_refresh_token(&token).await.unwrap();
    let head = server.store.last_revocation_id().await.unwrap();

    let later = START.plus_secs(1);
    let rejected = server.store.reject_client(&client.id, later).await.unwrap().expect("the client exists");
    assert_eq!(rejected.status, ClientStatus::Rejected);
    assert_eq!(rejected.secret_hash, None);
    let stored = server.store.oauth_client(&client.id).await.unwrap().expect("still stored");
    assert_eq!((stored.status, stored.secret_hash), (ClientStatus::Rejected, None));
    assert_eq!(server.store.family(&"fam-live".into()).await.unwrap().expect("family").revoked_at, Some(later));
    assert_eq!(server.store.refresh_token_by_hash(&token.hash).await.unwrap().expect("token").revoked_at, Some(later));
    assert!(server.store.live_access_token_family(&"fam-live".into(), &"any-jti".into()).await.unwrap().is_none());
    let events: Vec<Revoked> = server.store.revocations_after(head, 10).await.unwrap().into_iter().map(|e| e.revoked).collect();
    assert_eq!(events, [Revoked::Client(client.id.clone())]);

    let unknown = ClientId::from_stored("no-such-client".into());
    assert!(server.store.reject_client(&unknown, later).await.unwrap().is_none());
}

#[tokio::test]
async fn oauth_revocations_reach_the_feed_as_what_they_revoke() {
    let server = TestServer::start().await;
    let ada = server.user("ada@example.com", false).await;
    let client = approved_client(&server, ada.id).await;
    let grant = server.store.save_grant(ada.id, &client.id, None, client.scopes, START).await.unwrap();
    server.store.insert_family(&family("fam-a", &client, ada.id, Some(grant.id))).await.unwrap();
    server.store.insert_family(&family("fam-b", &client, ada.id, Some(grant.id))).await.unwrap();
    let head = server.store.last_revocation_id().await.unwrap();

    assert!(server.store.revoke_family(&"fam-a".into(), START).await.unwrap());
    server.store.revoke_access_token(&"jti-1".into(), START.plus_secs(60), START).await.unwrap();
    assert_eq!(server.store.revoke_grant(ada.id, &client.id, START).await.unwrap(), Some(vec![FamilyId::from("fam-b")]));
    assert_eq!(server.store.revoke_client_families(&client.id, START).await.unwrap(), 0);

    let events: Vec<Revoked> = server.store.revocations_after(head, 10).await.unwrap().into_iter().map(|e| e.revoked).collect();
    assert_eq!(
        events,
        [
            Revoked::Family("fam-a".into()),
            Revoked::AccessToken("jti-1".into()),
            Revoked::Grant(grant.id),
            Revoked::Client(client.id.clone()),
        ]
    );
}

#[tokio::test]
async fn bulk_inserts_store_every_row_as_given() {
    let server = TestServer::start().await;
    let ada = server.user("ada@example.com", false).await;
    let scopes = ScopeSet::parse_names(["user:read"]).unwrap();
    let secrets: Vec<ApiTokenSecret> = (0..1500).map(|_| ApiTokenSecret::generate(&gatehouse_domain::OsRandom)).collect();
    let tokens: Vec<ApiToken> = secrets
        .iter()
        .enumerate()
        .map(|(index, secret)| ApiToken {
            user_id: ada.id,
            created: Timestamp::from_millis(1_600_000_000_000 + index as i64),
            label: TokenLabel::from_stored(format!("seed {index}")),
            scopes,
            hash: secret.hash(),
            prefix: secret.prefix(),
            zone: "z".into(),
            expires_at: None,
            last_used: None,
        })
        .collect();
    server.store.insert_api_tokens_bulk(&tokens).await.unwrap();
    assert_eq!(server.store.api_tokens_of_user(ada.id).await.unwrap().len(), 1500);
    let stored = server.store.api_token_by_hash(&secrets[1234].hash()).await.unwrap().expect("stored");
    assert_eq!((stored.created, stored.label.as_str()), (tokens[1234].created, "seed 1234"));

    let client = approved_client(&server, ada.id).await;
    let grant = server.store.save_grant(ada.id, &client.id, None, client.scopes, START).await.unwrap();
    let families: Vec<TokenFamily> = (0..1200).map(|i| family(&format!("fam-{i}"), &client, ada.id, Some(grant.id))).collect();
    let refresh_tokens: Vec<RefreshToken> = families.iter().map(|f| refresh(f, grant.id)).collect();
    server.store.insert_families_bulk(&families).await.unwrap();
    server.store.insert_refresh_tokens_bulk(&refresh_tokens).await.unwrap();
    let last = server.store.refresh_token_by_hash(&refresh_tokens[1199].hash).await.unwrap().expect("stored");
    assert_eq!(last.family_id.as_str(), "fam-1199");
    assert!(server.store.live_access_token_family(&"fam-1199".into(), &"jti".into()).await.unwrap().is_some());
}
