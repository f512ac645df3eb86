//! What issued tokens do: OAuth access tokens on `/api/v2` (RFC 9068), revocation (RFC 7009),
//! introspection (RFC 7662), userinfo, `client_credentials`, discovery and the signing keys (JWKS).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::Method;
use serde_json::Value;

use super::support::*;
use crate::harness::{TestServer, json};

#[tokio::test]
async fn an_oauth_bearer_sees_only_the_organization_chosen_at_consent() {
    let world = world().await;
    let body = tokens_for(&world, &world.confidential, "organizations:read teams:read").await;
    let access = body["access_token"].as_str().unwrap();
    let (_, listed) = api(&world, "/api/v2/organizations", access).await;
    let ids: Vec<i64> = listed["organizations"].as_array().unwrap().iter().map(|o| o["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, vec![world.org.0]);
    let (status, _) = api(&world, &format!("/api/v2/organizations/{}", world.other_org), access).await;
    assert_eq!(status, 404);
    let (status, _) = api(&world, &format!("/api/v2/teams?organizationId={}", world.other_org), access).await;
    assert_eq!(status, 404);
    let (status, _) = api(&world, &format!("/api/v2/organizations/{}", world.org), access).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn an_access_token_for_another_audience_or_issuer_is_refused_rfc9068_4() {
    let world = world().await;
    let token = forged(&world, |claims| claims.aud = "another.zone.example".into()).await;
    assert_eq!(api(&world, "/api/v2/users/me", &token).await.0, 401);
    let token = forged(&world, |claims| claims.iss = "https://evil.example".into()).await;
    assert_eq!(api(&world, "/api/v2/users/me", &token).await.0, 401);
    // The control: the same forge with nothing changed is accepted.
    let token = forged(&world, |_| {}).await;
    assert_eq!(api(&world, "/api/v2/users/me", &token).await.0, 200);
}

#[tokio::test]
async fn an_access_token_is_refused_from_the_second_it_expires_rfc9068_4() {
    let world = world().await;
    let body = tokens_for(&world, &world.confidential, "user:read").await;
    let access = body["access_token"].as_str().unwrap();
    world.server.clock.advance_secs(299);
    assert_eq!(api(&world, "/api/v2/users/me", access).await.0, 200);
    world.server.clock.advance_secs(1);
    let (status, body) = api(&world, "/api/v2/users/me", access).await;
    assert_eq!(status, 401, "{body}");
}

#[tokio::test]
async fn a_tampered_jwt_alg_none_hs256_or_an_id_token_is_refused_as_an_access_token_rfc7515() {
    let world = world().await;
    let body = tokens_for(&world, &world.confidential, "user:read").await;
    let access = body["access_token"].as_str().unwrap();
    let parts: Vec<&str> = access.split('.').collect();
    let mut claims = claims_of(access);
    claims["scope"] = "user:read admin:write".into();
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap());
    let tampered = format!("{}.{payload}.{}", parts[0], parts[2]);
    assert_eq!(api(&world, "/api/v2/users/me", &tampered).await.0, 401);
    let mut header = header_of(access);
    header["alg"] = "none".into();
    let none = format!("{}.{payload}.", URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header).unwrap()));
    assert_eq!(api(&world, "/api/v2/users/me", &none).await.0, 401);
    header["alg"] = "HS256".into();
    let hs = format!("{}.{}.{}", URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header).unwrap()), parts[1], parts[2]);
    assert_eq!(api(&world, "/api/v2/users/me", &hs).await.0, 401);
    // An ID token is not an access token (wrong typ and audience).
    let id_token = body.get("id_token").and_then(Value::as_str).map(str::to_string);
    if let Some(id_token) = id_token {
        assert_eq!(api(&world, "/api/v2/users/me", &id_token).await.0, 401);
    }
}

#[tokio::test]
async fn client_credentials_act_as_the_client_within_its_approval_rfc6749_4_4() {
    let world = world().await;
    let (status, body) = token_request(&world, &world.confidential, &[("grant_type", "client_credentials"), ("scope", "user:read")]).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("refresh_token").is_none());
    let access = body["access_token"].as_str().unwrap();
    assert_eq!(claims_of(access)["sub"], world.confidential.id.as_str());
    let (_, auth) = api(&world, "/api/v2/users/me/current-authorization", access).await;
    assert_eq!(auth["authorization"]["authUsed"], "oauth");
    let (status, body) = token_request(&world, &world.public, &[("grant_type", "client_credentials")]).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("unauthorized_client")));
}

#[tokio::test]
async fn introspection_reports_active_as_a_boolean_and_hides_other_clients_tokens_rfc7662() {
    let world = world().await;
    let body = tokens_for(&world, &world.confidential, "user:read organizations:read").await;
    let access = body["access_token"].as_str().unwrap();
    let (status, info) = json(client_post(&world, "/oauth/v2/introspect", &world.confidential, &[("token", access)]).await).await;
    assert_eq!(status, 200);
    assert_eq!(info["active"], true);
    assert_eq!(info["scope"], "organizations:read user:read");
    assert_eq!(info["client_id"], world.confidential.id.as_str());
    let (_, info) = json(client_post(&world, "/oauth/v2/introspect", &world.confidential, &[("token", body["refresh_token"].as_str().unwrap())]).await).await;
    assert_eq!(info["active"], true);
    let (_, info) = json(client_post(&world, "/oauth/v2/introspect", &world.confidential, &[("token", "garbage")]).await).await;
    assert_eq!(info, serde_json::json!({ "active": false }));
    // Another client learns nothing about this client's tokens.
    let (_, info) = json(client_post(&world, "/oauth/v2/introspect", &world.public, &[("token", access)]).await).await;
    assert_eq!(info["active"], false);
    world.server.clock.advance_secs(300);
    let (_, info) = json(client_post(&world, "/oauth/v2/introspect", &world.confidential, &[("token", access)]).await).await;
    assert_eq!(info["active"], false);
}

#[tokio::test]
async fn revocation_answers_200_even_for_unknown_tokens_and_takes_effect_at_once_rfc7009() {
    let world = world().await;
    let response = client_post(&world, "/oauth/v2/revoke", &world.confidential, &[("token", "not-a-token-we-issued")]).await;
    assert_eq!(response.status().as_u16(), 200);
    // Revoking an access token: that token fails at once; the refresh token still works.
    let body = tokens_for(&world, &world.confidential, "user:read").await;
    let access = body["access_token"].as_str().unwrap();
    let response = client_post(&world, "/oauth/v2/revoke", &world.confidential, &[("token", access), ("token_type_hint", "access_token")]).await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(api(&world, "/api/v2/users/me", access).await.0, 401);
    let (status, refreshed) = refresh(&world, body["refresh_token"].as_str().unwrap(), None).await;
    assert_eq!(status, 200);
    // Revoking the refresh token revokes the family: its access tokens fail at once too (§2.1).
    let fresh_access = refreshed["access_token"].as_str().unwrap();
    assert_eq!(api(&world, "/api/v2/users/me", fresh_access).await.0, 200);
    let response = client_post(&world, "/oauth/v2/revoke", &world.confidential, &[("token", refreshed["refresh_token"].as_str().unwrap())]).await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(api(&world, "/api/v2/users/me", fresh_access).await.0, 401);
}

#[tokio::test]
async fn revoking_an_authorized_app_stops_its_tokens_at_once() {
    let world = world().await;
    let body = tokens_for(&world, &world.confidential, "user:read").await;
    let access = body["access_token"].as_str().unwrap();
    let owner = crate::harness::TestUser { id: world.user };
    let api_token = world.server.token(&owner, &["user:read", "user:write"]).await;
    let (status, apps) = json(world.server.get("/api/v2/users/me/authorized-apps", &api_token).send().await.unwrap()).await;
    assert_eq!(status, 200);
    let app = &apps["authorizedApps"][0];
    assert_eq!(app["clientId"], world.confidential.id.as_str());
    assert_eq!(app["organizationId"], world.org.0);
    assert_eq!(app["scope"], serde_json::json!(["user:read"]));
    assert!(app["lastUsed"].is_string());
    let path = format!("/api/v2/users/me/authorized-apps/{}", world.confidential.id);
    let (status, _) = json(world.server.request(Method::DELETE, &path, &api_token).send().await.unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(api(&world, "/api/v2/users/me", access).await.0, 401);
    let (status, _) = refresh(&world, body["refresh_token"].as_str().unwrap(), None).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn userinfo_accepts_the_access_token_and_the_id_token_oidc_core_5_3() {
    let world = world().await;
    let body = tokens_for(&world, &world.confidential, "openid profile email user:read").await;
    let id_token = body["id_token"].as_str().unwrap();
    for token in [body["access_token"].as_str().unwrap(), id_token] {
        let response = world.server.http.get(world.server.url("/oauth/v2/oidc/userinfo")).bearer_auth(token).send().await.unwrap();
        let (status, info) = json(response).await;
        assert_eq!(status, 200, "{info}");
        assert_eq!(info["sub"], claims_of(id_token)["sub"]);
        assert_eq!(info["email"], world.email.as_str());
        assert_eq!(info["name"], "Ada");
    }
    let response = world
        .server
        .http
        .post(world.server.url("/oauth/v2/oidc/userinfo"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&[("access_token", body["access_token"].as_str().unwrap())]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let response = world.server.http.get(world.server.url("/oauth/v2/oidc/userinfo")).bearer_auth("nope").send().await.unwrap();
    assert_eq!(response.status().as_u16(), 401);
    assert!(response.headers().get("www-authenticate").unwrap().to_str().unwrap().contains("invalid_token"));
    // Without openid, the access token does not reach userinfo.
    let plain = tokens_for(&world, &world.public, "user:read").await;
    let response = world.server.http.get(world.server.url("/oauth/v2/oidc/userinfo")).bearer_auth(plain["access_token"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 403);
}

#[tokio::test]
async fn discovery_and_metadata_describe_what_is_really_supported_rfc8414() {
    let world = world().await;
    for path in ["/.well-known/openid-configuration", "/oauth/v2/oidc/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"] {
        let (status, meta) = json(world.server.http.get(world.server.url(path)).send().await.unwrap()).await;
        assert_eq!(status, 200);
        assert_eq!(meta["issuer"], world.server.base.as_str());
        assert_eq!(meta["grant_types_supported"], serde_json::json!(["authorization_code", "refresh_token", "client_credentials"]));
        assert_eq!(meta["code_challenge_methods_supported"], serde_json::json!(["S256"]));
        assert_eq!(meta["authorization_response_iss_parameter_supported"], true);
        assert_eq!(meta["token_endpoint_auth_methods_supported"], serde_json::json!(["client_secret_post", "client_secret_basic", "none"]));
        assert_eq!(meta["token_endpoint"], format!("{}/oauth/v2/token", world.server.base));
    }
    let (status, jwks) = json(world.server.http.get(world.server.url("/oauth/v2/oidc/jwks")).send().await.unwrap()).await;
    assert_eq!(status, 200);
    let key = &jwks["keys"][0];
    for member in ["kid", "kty", "n", "e", "alg", "use"] {
        assert!(key[member].is_string(), "{member}");
    }
    assert_eq!(key["alg"], "RS256");
}

#[tokio::test]
async fn key_rotation_keeps_the_old_key_published_until_its_tokens_expire() {
    let world = world().await;
    let body = tokens_for(&world, &world.confidential, "user:read").await;
    let access = body["access_token"].as_str().unwrap();
    let settings = world.server.state().app.settings.oauth.clone();
    let kids = world.server.state().app.rotate_keys().await.unwrap();
    assert_eq!(kids.len(), 1, "RS256 alone by default");
    let kid = &kids[0];
    world.server.state().app.reload_keys().await.unwrap();
    let (_, jwks) = json(world.server.http.get(world.server.url("/oauth/v2/oidc/jwks")).send().await.unwrap()).await;
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 2);
    assert_eq!(api(&world, "/api/v2/users/me", access).await.0, 200, "old tokens still verify");
    let newer = tokens_for(&world, &world.confidential, "user:read").await;
    assert_eq!(header_of(newer["access_token"].as_str().unwrap())["kid"], kid.as_str());
    world.server.clock.advance_secs(settings.key_retirement_secs());
    world.server.state().app.reload_keys().await.unwrap();
    let (_, jwks) = json(world.server.http.get(world.server.url("/oauth/v2/oidc/jwks")).send().await.unwrap()).await;
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 1);
}

/// RFC 9068 §2.1 lets the server choose the access tokens' algorithm (RS256 must merely be supported). With
/// ES256 chosen, access tokens are ES256 under a published P-256 key, ID tokens stay RS256 (Make), and both
/// kinds are accepted where they were before; rotation renews both keys.
#[tokio::test]
async fn es256_access_tokens_when_chosen_with_rs256_id_tokens_rfc9068_2_1() {
    let settings = gatehouse_domain::oauth::OAuthSettings {
        access_token_algorithm: gatehouse_domain::oauth::jose::SigningAlgorithm::Es256,
        ..Default::default()
    };
    let world = world_on(TestServer::start_configured(crate::harness::ZONE, settings.clone()).await).await;
    let body = tokens_for(&world, &world.confidential, "openid user:read").await;
    let access = body["access_token"].as_str().unwrap();
    let (_, jwks) = json(world.server.http.get(world.server.url("/oauth/v2/oidc/jwks")).send().await.unwrap()).await;
    let keys = jwks["keys"].as_array().unwrap();
    let access_header = header_of(access);
    assert_eq!(access_header["alg"], "ES256");
    let signer = keys.iter().find(|key| key["kid"] == access_header["kid"]).expect("the access token's key is published");
    assert_eq!((signer["kty"].as_str(), signer["crv"].as_str()), (Some("EC"), Some("P-256")));
    let id_header = header_of(body["id_token"].as_str().unwrap());
    assert_eq!(id_header["alg"], "RS256", "ID tokens stay RS256");
    assert!(keys.iter().any(|key| key["kid"] == id_header["kid"] && key["kty"] == "RSA"));
    assert_eq!(api(&world, "/api/v2/users/me", access).await.0, 200);
    let response = client_post(&world, "/oauth/v2/introspect", &world.confidential, &[("token", access)]).await;
    let (_, introspected) = json(response).await;
    assert_eq!(introspected["active"], true);
    let (status, refreshed) = refresh(&world, body["refresh_token"].as_str().unwrap(), None).await;
    assert_eq!(status, 200);
    assert_eq!(header_of(refreshed["access_token"].as_str().unwrap())["alg"], "ES256");
    let kids = world.server.state().app.rotate_keys().await.unwrap();
    assert_eq!(kids.len(), 2, "one new key per algorithm in use");
    world.server.state().app.reload_keys().await.unwrap();
    let (_, jwks) = json(world.server.http.get(world.server.url("/oauth/v2/oidc/jwks")).send().await.unwrap()).await;
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 4, "old keys stay published until their tokens expire");
    assert_eq!(api(&world, "/api/v2/users/me", access).await.0, 200, "tokens signed before rotation still verify");
    let newer = tokens_for(&world, &world.confidential, "openid user:read").await;
    assert!(kids.iter().any(|kid| header_of(newer["access_token"].as_str().unwrap())["kid"] == kid.as_str()));
}
