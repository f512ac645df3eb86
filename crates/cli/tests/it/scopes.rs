//! Make's scope rules: `:read` grants GET, `:write` grants POST, PUT, PATCH and DELETE; administration
//! scopes need a platform administrator.

use reqwest::Method;
use serde_json::json as object;

use crate::harness::{TestServer, assert_make_error, json};

#[tokio::test]
async fn users_me_and_current_authorization_need_only_a_valid_credential() {
    let server = TestServer::start().await;
    let user = server.user("ada@example.com", false).await;
    let scopeless = server.token(&user, &[]).await;
    assert_eq!(server.get("/api/v2/users/me", &scopeless).send().await.unwrap().status(), 200);
    let (status, body) = json(server.get("/api/v2/users/me/current-authorization", &scopeless).send().await.unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(body, object!({ "authorization": { "authUsed": "token", "scope": [] } }));
}

#[tokio::test]
async fn read_scope_grants_get_but_not_write_verbs() {
    let server = TestServer::start().await;
    let user = server.user("ada@example.com", false).await;
    let org = server.org(&user, "Acme").await;
    let reader = server.token(&user, &["teams:read"]).await;
    let (status, _) = json(server.get(&format!("/api/v2/teams?organizationId={org}"), &reader).send().await.unwrap()).await;
    assert_eq!(status, 200);

    let response = server.request(Method::POST, "/api/v2/teams", &reader).json(&object!({ "name": "x", "organizationId": org })).send().await.unwrap();
    let challenge = response.headers()["www-authenticate"].to_str().unwrap().to_string();
    assert!(challenge.contains("error=\"insufficient_scope\"") && challenge.contains("scope=\"teams:write\""), "{challenge}");
    let (status, body) = json(response).await;
    assert_make_error(status, &body, 401, "SC401");
    assert!(body["detail"].as_str().unwrap().contains("teams:write"), "{body}");
}

#[tokio::test]
async fn write_scope_does_not_grant_read() {
    let server = TestServer::start().await;
    let user = server.user("ada@example.com", false).await;
    let org = server.org(&user, "Acme").await;
    let writer = server.token(&user, &["teams:write"]).await;
    let (status, body) = json(server.get(&format!("/api/v2/teams?organizationId={org}"), &writer).send().await.unwrap()).await;
    assert_make_error(status, &body, 401, "SC401");
    assert!(body["detail"].as_str().unwrap().contains("teams:read"));
    let (status, _) = json(server.request(Method::POST, "/api/v2/teams", &writer).json(&object!({ "name": "x", "organizationId": org })).send().await.unwrap()).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn token_management_needs_user_read_to_list_and_user_write_to_change() {
    let server = TestServer::start().await;
    let user = server.user("ada@example.com", false).await;
    let reader = server.token(&user, &["user:read"]).await;
    let writer = server.token(&user, &["user:write"]).await;
    let tokens = "/api/v2/users/me/api-tokens";
    assert_eq!(server.get(tokens, &reader).send().await.unwrap().status(), 200);
    assert_eq!(server.get(tokens, &writer).send().await.unwrap().status(), 401);
    let body = object!({ "label": "x", "scope": [] });
    assert_eq!(server.request(Method::POST, tokens, &reader).json(&body).send().await.unwrap().status(), 401);
    assert_eq!(server.request(Method::POST, tokens, &writer).json(&body).send().await.unwrap().status(), 200);
}

/// Make: a regular user who puts admin scopes on a token and calls admin resources gets 403 Access denied.
#[tokio::test]
async fn admin_scopes_on_a_regular_users_token_get_403_access_denied() {
    let server = TestServer::start().await;
    let user = server.user("ada@example.com", false).await;
    let token = server.token(&user, &["admin:read", "system:read"]).await;
    for path in ["/api/v2/admin/users", "/api/v2/admin/organizations", "/api/v2/admin/system"] {
        let (status, body) = json(server.get(path, &token).send().await.unwrap()).await;
        assert_eq!(status, 403, "{path}");
        assert_eq!(body, object!({ "message": "Permission denied", "detail": "Access denied.", "code": "SC403" }));
    }
}

#[tokio::test]
async fn platform_administrators_use_admin_resources_with_admin_scopes_only() {
    let server = TestServer::start().await;
    let admin = server.user("root@example.com", true).await;
    server.user("ada@example.com", false).await;
    let scoped = server.token(&admin, &["admin:read", "system:read"]).await;
    let (status, body) = json(server.get("/api/v2/admin/users?pg[sortBy]=id", &scoped).send().await.unwrap()).await;
    assert_eq!(status, 200);
    let emails: Vec<&str> = body["users"].as_array().unwrap().iter().map(|u| u["email"].as_str().unwrap()).collect();
    assert_eq!(emails, vec!["root@example.com", "ada@example.com"]);
    let ada_org = server.org(&crate::harness::TestUser { id: gatehouse_domain::UserId(2) }, "Ada's").await;
    let (status, body) = json(server.get("/api/v2/admin/organizations", &scoped).send().await.unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(body["organizations"][0]["id"], ada_org.0, "admins see organizations they do not belong to");
    let (status, body) = json(server.get("/api/v2/admin/system", &scoped).send().await.unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(body["system"]["zone"], crate::harness::ZONE);

    let unscoped = server.token(&admin, &["user:read"]).await;
    let (status, body) = json(server.get("/api/v2/admin/users", &unscoped).send().await.unwrap()).await;
    assert_make_error(status, &body, 401, "SC401");
    assert!(body["detail"].as_str().unwrap().contains("admin:read"));
}

#[tokio::test]
async fn the_scope_enum_lists_the_canonical_catalog() {
    let server = TestServer::start().await;
    let user = server.user("ada@example.com", false).await;
    let token = server.token(&user, &[]).await;
    let (status, body) = json(server.get("/api/v2/enums/user-api-token-scopes", &token).send().await.unwrap()).await;
    assert_eq!(status, 200);
    let names: Vec<&str> = body["userApiTokenScopes"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    for expected in [
        "admin:read", "admin:write", "apps:read", "apps:write", "system:read", "system:write", "analytics:read",
        "connections:read", "connections:write", "custom-property-structures:read", "datastores:write", "devices:read",
        "dlqs:write", "functions:read", "hooks:write", "keys:read", "notifications:write", "organizations:read",
        "organizations:write", "organization-variables:read", "organization-variables:write", "scenarios:read",
        "scenarios:write", "scenarios:run", "sdk-apps:write", "teams:read", "teams:write", "team-variables:read",
        "team-variables:write", "templates:read", "udts:write", "user:read", "user:write",
    ] {
        assert!(names.contains(&expected), "{expected} missing");
    }
    for absent in ["organizations-variables:read", "teams-variables:read", "openid", "organization:read"] {
        assert!(!names.contains(&absent), "{absent} must not be listed");
    }
}

#[tokio::test]
async fn deleting_a_user_stops_their_tokens_on_every_node() {
    let server = TestServer::start().await;
    let root = server.user("root@example.com", true).await;
    let ada = server.user("ada@example.com", false).await;
    let adas = server.token(&ada, &[]).await;
    let other_node = server.another_node().await;
    assert_eq!(server.get("/api/v2/users/me", &adas).send().await.unwrap().status(), 200, "cached");
    assert_eq!(other_node.get("/api/v2/users/me", &adas).send().await.unwrap().status(), 200, "cached on the other node");
    let admin = server.token(&root, &["admin:write", "admin:read"]).await;
    let path = format!("/api/v2/admin/users/{}", ada.id.0);
    let (status, body) = json(server.request(Method::DELETE, &path, &admin).send().await.unwrap()).await;
    assert_make_error(status, &body, 400, "IM004");
    let (status, body) = json(server.request(Method::DELETE, &format!("{path}?confirmed=true"), &admin).send().await.unwrap()).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = json(server.get("/api/v2/users/me", &adas).send().await.unwrap()).await;
    assert_make_error(status, &body, 401, "SC401");
    let (status, body) = json(server.request(Method::DELETE, &format!("{path}?confirmed=true"), &admin).send().await.unwrap()).await;
    assert_make_error(status, &body, 404, "SC404");
    let own = format!("/api/v2/admin/users/{}?confirmed=true", root.id.0);
    let (status, body) = json(server.request(Method::DELETE, &own, &admin).send().await.unwrap()).await;
    assert_make_error(status, &body, 400, "IM005");
    // The deletion is an event on the revocation feed, and a node that caught up with it refuses them too.
    let events = server.store.revocations_after(0, 10).await.unwrap();
    assert!(events.iter().any(|event| event.revoked == gatehouse_store::Revoked::User(ada.id)), "{events:?}");
    other_node.feed_caught_up().await;
    assert_eq!(other_node.get("/api/v2/users/me", &adas).send().await.unwrap().status(), 401, "the other node refuses them too");
}
