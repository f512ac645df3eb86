//! Organizations and teams: users see and change only what they belong to; Make's pagination and columns.

use gatehouse_domain::OrgRole;
use reqwest::Method;
use serde_json::json as object;

use crate::harness::{TestServer, assert_make_error, json};

const ORG_SCOPES: &[&str] = &["organizations:read", "organizations:write", "teams:read", "teams:write"];

#[tokio::test]
async fn users_list_only_their_own_organizations() {
    let server = TestServer::start().await;
    let ada = server.user("ada@example.com", false).await;
    let bob = server.user("bob@example.com", false).await;
    let acme = server.org(&ada, "Acme").await;
    server.org(&bob, "Bobco").await;
    let shared = server.org(&bob, "Shared").await;
    server.join(shared, &ada, OrgRole::Member).await;
    let token = server.token(&ada, ORG_SCOPES).await;

    let (status, body) = json(server.get("/api/v2/organizations", &token).send().await.unwrap()).await;
    assert_eq!(status, 200);
    let names: Vec<&str> = body["organizations"].as_array().unwrap().iter().map(|o| o["name"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["Acme", "Shared"]);
    assert_eq!(body["pg"], object!({ "sortBy": "name", "sortDir": "asc", "limit": 10000, "offset": 0 }));

    let (status, body) = json(server.get(&format!("/api/v2/organizations/{acme}"), &token).send().await.unwrap()).await;
    assert_eq!(status, 200);
    let org = &body["organization"];
    assert_eq!(org["id"], acme.0);
    assert_eq!(org["zone"], crate::harness::ZONE);
    assert_eq!(org["license"]["apiLimit"], 60);
    assert!(org["teams"].is_array());
}

#[tokio::test]
async fn pagination_and_columns_accept_encoded_and_bare_brackets() {
    let server = TestServer::start().await;
    let ada = server.user("ada@example.com", false).await;
    for name in ["Charlie", "Alpha", "Bravo"] {
        server.org(&ada, name).await;
    }
    let token = server.token(&ada, ORG_SCOPES).await;
    for query in [
        "pg%5Blimit%5D=2&pg%5Boffset%5D=1&pg%5BsortDir%5D=desc&cols%5B%5D=name&cols%5B%5D=id&unknown=1",
        "pg[limit]=2&pg[offset]=1&pg[sortDir]=desc&cols[]=name&cols[]=id&includeInvitedOrg=true",
    ] {
        let (status, body) = json(server.get(&format!("/api/v2/organizations?{query}"), &token).send().await.unwrap()).await;
        assert_eq!(status, 200, "{query}");
        let orgs = body["organizations"].as_array().unwrap();
        let names: Vec<&str> = orgs.iter().map(|o| o["name"].as_str().unwrap()).collect();
        assert_eq!(names, vec!["Bravo", "Alpha"], "{query}");
        let keys: Vec<&String> = orgs[0].as_object().unwrap().keys().collect();
        assert_eq!(keys, vec!["id", "name"], "{query}");
        assert_eq!(body["pg"]["limit"], 2);
    }
    for bad in ["pg[limit]=0", "pg[limit]=abc", "pg[limit]=10001", "pg[offset]=-1", "pg[sortBy]=password", "pg[sortDir]=up"] {
        let (status, body) = json(server.get(&format!("/api/v2/organizations?{bad}"), &token).send().await.unwrap()).await;
        assert_make_error(status, &body, 400, "IM005");
    }
}

#[tokio::test]
async fn other_peoples_organizations_are_404_not_403() {
    let server = TestServer::start().await;
    let ada = server.user("ada@example.com", false).await;
    let bob = server.user("bob@example.com", false).await;
    let bobs = server.org(&bob, "Bobco").await;
    let token = server.token(&ada, ORG_SCOPES).await;
    for (method, path) in [
        (Method::GET, format!("/api/v2/organizations/{bobs}")),
        (Method::PATCH, format!("/api/v2/organizations/{bobs}")),
        (Method::DELETE, format!("/api/v2/organizations/{bobs}?confirmed=true")),
        (Method::GET, format!("/api/v2/teams?organizationId={bobs}")),
        (Method::GET, "/api/v2/organizations/999999".to_string()),
        (Method::GET, "/api/v2/organizations/not-a-number".to_string()),
    ] {
        let (status, body) = json(server.request(method.clone(), &path, &token).json(&object!({ "name": "x" })).send().await.unwrap()).await;
        assert_make_error(status, &body, 404, "SC404");
    }
    assert!(server.store.organization(bobs).await.unwrap().is_some());
}

#[tokio::test]
async fn only_owners_and_admins_change_an_organization() {
    let server = TestServer::start().await;
    let owner = server.user("owner@example.com", false).await;
    let member = server.user("member@example.com", false).await;
    let admin = server.user("admin@example.com", false).await;
    let org = server.org(&owner, "Acme").await;
    server.join(org, &member, OrgRole::Member).await;
    server.join(org, &admin, OrgRole::Admin).await;
    let path = format!("/api/v2/organizations/{org}");

    let member_token = server.token(&member, ORG_SCOPES).await;
    let (status, body) = json(server.request(Method::PATCH, &path, &member_token).json(&object!({ "name": "Hacked" })).send().await.unwrap()).await;
    assert_make_error(status, &body, 403, "SC403");

    let admin_token = server.token(&admin, ORG_SCOPES).await;
    let (status, body) = json(server.request(Method::PATCH, &path, &admin_token).json(&object!({ "name": "Acme Ltd" })).send().await.unwrap()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["organization"]["name"], "Acme Ltd");
    let (status, body) = json(server.request(Method::PATCH, &path, &admin_token).json(&object!({ "license": { "apiLimit": 1000 } })).send().await.unwrap()).await;
    assert_make_error(status, &body, 403, "SC403");
    let (status, body) = json(server.request(Method::DELETE, &format!("{path}?confirmed=true"), &admin_token).send().await.unwrap()).await;
    assert_make_error(status, &body, 403, "SC403");

    let owner_token = server.token(&owner, ORG_SCOPES).await;
    let (status, body) = json(server.request(Method::DELETE, &path, &owner_token).send().await.unwrap()).await;
    assert_make_error(status, &body, 400, "IM004");
    let (status, body) = json(server.request(Method::DELETE, &format!("{path}?confirmed=true"), &owner_token).send().await.unwrap()).await;
    assert_eq!(status, 200, "{body}");
    assert!(server.store.organization(org).await.unwrap().is_none());
}

/// Make: "Create organizations (admins only)".
#[tokio::test]
async fn only_platform_administrators_create_organizations() {
    let server = TestServer::start().await;
    let ada = server.user("ada@example.com", false).await;
    let root = server.user("root@example.com", true).await;
    let body = object!({ "name": "Newco", "license": { "apiLimit": 240 } });
    let (status, error) = json(server.request(Method::POST, "/api/v2/organizations", &server.token(&ada, ORG_SCOPES).await).json(&body).send().await.unwrap()).await;
    assert_make_error(status, &error, 403, "SC403");
    let token = server.token(&root, ORG_SCOPES).await;
    let (status, created) = json(server.request(Method::POST, "/api/v2/organizations", &token).json(&body).send().await.unwrap()).await;
    assert_eq!(status, 200, "{created}");
    assert_eq!(created["organization"]["license"]["apiLimit"], 240);
    let id = created["organization"]["id"].as_i64().unwrap();
    assert_eq!(server.store.organization_role(gatehouse_domain::OrganizationId(id), root.id).await.unwrap(), Some(OrgRole::Owner));
    let (status, error) = json(server.request(Method::POST, "/api/v2/organizations", &token).json(&object!({ "name": "  " })).send().await.unwrap()).await;
    assert_make_error(status, &error, 400, "IM005");
}

#[tokio::test]
async fn teams_are_listed_created_read_and_deleted_within_the_organization() {
    let server = TestServer::start().await;
    let owner = server.user("owner@example.com", false).await;
    let member = server.user("member@example.com", false).await;
    let org = server.org(&owner, "Acme").await;
    server.join(org, &member, OrgRole::Member).await;
    let token = server.token(&owner, ORG_SCOPES).await;

    let (status, body) = json(server.get("/api/v2/teams", &token).send().await.unwrap()).await;
    assert_make_error(status, &body, 400, "IM005");
    assert!(body["detail"].as_str().unwrap().contains("organizationId"));

    let (status, body) = json(server.request(Method::POST, "/api/v2/teams", &token).json(&object!({ "name": "Ops 🛠", "organizationId": org })).send().await.unwrap()).await;
    assert_eq!(status, 200, "{body}");
    let team = body["team"]["id"].as_i64().unwrap();
    assert_eq!(body["team"], object!({ "id": team, "name": "Ops 🛠", "organizationId": org }));

    let (status, body) = json(server.get(&format!("/api/v2/teams?organizationId={org}&cols[]=id"), &token).send().await.unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(body["teams"], object!([{ "id": team }]));

    let member_token = server.token(&member, ORG_SCOPES).await;
    let (status, body) = json(server.get(&format!("/api/v2/teams/{team}"), &member_token).send().await.unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(body["team"]["name"], "Ops 🛠");
    let (status, body) = json(server.request(Method::DELETE, &format!("/api/v2/teams/{team}?confirmed=true"), &member_token).send().await.unwrap()).await;
    assert_make_error(status, &body, 403, "SC403");
    let (status, body) = json(server.request(Method::POST, "/api/v2/teams", &member_token).json(&object!({ "name": "x", "organizationId": org })).send().await.unwrap()).await;
    assert_make_error(status, &body, 403, "SC403");

    let (status, body) = json(server.request(Method::DELETE, &format!("/api/v2/teams/{team}?confirmed=true"), &token).send().await.unwrap()).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = json(server.get(&format!("/api/v2/teams/{team}"), &token).send().await.unwrap()).await;
    assert_make_error(status, &body, 404, "SC404");

    let outsider = server.user("out@example.com", false).await;
    let other_team = server.team(org, "Hidden").await;
    let (status, body) = json(server.get(&format!("/api/v2/teams/{other_team}"), &server.token(&outsider, ORG_SCOPES).await).send().await.unwrap()).await;
    assert_make_error(status, &body, 404, "SC404");
}

/// Make: per-organization limit of `license.apiLimit` requests a minute; 429 with Make's message and
/// `Retry-After` (reference §5.1).
#[tokio::test]
async fn an_organization_over_its_api_limit_gets_429_until_the_minute_turns() {
    let server = TestServer::start().await;
    let ada = server.user("ada@example.com", false).await;
    let org = server.org(&ada, "Acme").await;
    let team = server.team(org, "Ops").await;
    let mut stored = server.store.organization(org).await.unwrap().unwrap();
    stored.api_limit = 3;
    server.store.update_organization(&stored).await.unwrap();
    let other = server.org(&ada, "Other").await;
    let token = server.token(&ada, ORG_SCOPES).await;

    assert_eq!(server.get(&format!("/api/v2/organizations/{org}"), &token).send().await.unwrap().status(), 200);
    assert_eq!(server.get(&format!("/api/v2/teams?organizationId={org}"), &token).send().await.unwrap().status(), 200);
    assert_eq!(server.get(&format!("/api/v2/teams/{team}"), &token).send().await.unwrap().status(), 200);
    let response = server.get(&format!("/api/v2/organizations/{org}"), &token).send().await.unwrap();
    let retry_after: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    let (status, body) = json(response).await;
    assert_make_error(status, &body, 429, "SC429");
    assert_eq!(body["detail"], "Requests limit for organization exceeded, please try again later.");
    assert_eq!(server.get(&format!("/api/v2/organizations/{other}"), &token).send().await.unwrap().status(), 200, "counted per organization");

    server.clock.advance_secs(60);
    assert_eq!(server.get(&format!("/api/v2/organizations/{org}"), &token).send().await.unwrap().status(), 200);
}
