//! OAuth clients: requests, approval by administrators (the secret shown once), and rejection or deletion
//! revoking everything issued to the client. Secrets rotated by another writer: `nodes.rs`.

use reqwest::Method;

use super::support::*;
use crate::harness::{assert_make_error, json};

/// A platform administrator's API token with these scopes.
async fn administrator(world: &World, scopes: &[&str]) -> String {
    let admin = world.server.user("root@example.com", true).await;
    world.server.token(&admin, scopes).await
}

#[tokio::test]
async fn client_requests_are_approved_by_administrators_and_the_secret_is_shown_once() {
    let world = world().await;
    let owner = crate::harness::TestUser { id: world.user };
    // Filing a request writes in the user's name: user:write (issue 10, hole 4).
    let token = world.server.token(&owner, &["user:read", "user:write"]).await;
    let body = serde_json::json!({ "name": "My app", "type": "confidential", "redirectUris": [REDIRECT], "scope": ["user:read"], "description": "d" });
    let (status, created) = json(world.server.request(Method::POST, "/api/v2/oauth/client-requests", &token).json(&body).send().await.unwrap()).await;
    assert_eq!(status, 200, "{created}");
    assert_eq!(created["clientRequest"]["status"], "requested");
    let id = created["clientRequest"]["clientId"].as_str().unwrap().to_string();
    let path = format!("/api/v2/admin/oauth/clients/{id}/approve");
    let (status, _) = json(world.server.request(Method::POST, &path, &token).send().await.unwrap()).await;
    assert_eq!(status, 401, "a regular user's token lacks admin scopes");
    let admin_token = administrator(&world, &["admin:read", "admin:write"]).await;
    let (status, approved) = json(world.server.request(Method::POST, &path, &admin_token).send().await.unwrap()).await;
    assert_eq!(status, 200, "{approved}");
    assert_eq!(approved["client"]["status"], "approved");
    assert_eq!(approved["client"]["clientSecret"].as_str().unwrap().len(), 43);
    let (_, listed) = json(world.server.get("/api/v2/admin/oauth/clients?status=approved", &admin_token).send().await.unwrap()).await;
    assert!(listed["clients"].as_array().unwrap().iter().all(|c| c.get("clientSecret").is_none()));
}

#[tokio::test]
async fn rejecting_an_approved_client_revokes_its_tokens_at_once() {
    let world = world().await;
    let body = tokens_for(&world, &world.confidential, "user:read").await;
    let access = body["access_token"].as_str().unwrap();
    assert_eq!(api(&world, "/api/v2/users/me", access).await.0, 200);
    let admin_token = administrator(&world, &["admin:write"]).await;
    let path = format!("/api/v2/admin/oauth/clients/{}/reject", world.confidential.id);
    let (status, _) = json(world.server.request(Method::POST, &path, &admin_token).send().await.unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(api(&world, "/api/v2/users/me", access).await.0, 401);
    let (status, body) = refresh(&world, body["refresh_token"].as_str().unwrap(), None).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")));
}

#[tokio::test]
async fn deleting_a_client_needs_confirmation_and_revokes_its_tokens_at_once() {
    let world = world().await;
    let body = tokens_for(&world, &world.confidential, "user:read").await;
    let access = body["access_token"].as_str().unwrap();
    assert_eq!(api(&world, "/api/v2/users/me", access).await.0, 200);
    let admin_token = administrator(&world, &["admin:write"]).await;
    let path = format!("/api/v2/admin/oauth/clients/{}", world.confidential.id);
    let (status, refused) = json(world.server.request(Method::DELETE, &path, &admin_token).send().await.unwrap()).await;
    assert_make_error(status, &refused, 400, "IM004");
    assert_eq!(api(&world, "/api/v2/users/me", access).await.0, 200, "nothing is deleted unconfirmed");
    let confirmed = format!("{path}?confirmed=true");
    let (status, deleted) = json(world.server.request(Method::DELETE, &confirmed, &admin_token).send().await.unwrap()).await;
    assert_eq!(status, 200, "{deleted}");
    assert_eq!(api(&world, "/api/v2/users/me", access).await.0, 401);
    let (status, body) = refresh(&world, body["refresh_token"].as_str().unwrap(), None).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")));
    let (status, again) = json(world.server.request(Method::DELETE, &confirmed, &admin_token).send().await.unwrap()).await;
    assert_make_error(status, &again, 404, "SC404");
}
