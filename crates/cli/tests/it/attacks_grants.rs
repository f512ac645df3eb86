//! Issue 10's grant holes, attacked over real sockets as an attacker would: each test names the hole and
//! the clause it breaks, and failed against the code before its fix (see `docs/security.md`).

use serde_json::Value;

use crate::harness::json;
use crate::oauth::support::*;

fn refresh_token_of(body: &Value) -> String {
    body["refresh_token"].as_str().unwrap_or_else(|| panic!("no refresh token in {body}")).to_string()
}

fn access_token_of(body: &Value) -> String {
    body["access_token"].as_str().unwrap_or_else(|| panic!("no access token in {body}")).to_string()
}

/// Hole 1, RFC 9700 §4.14.2: the client rotates RT1 to RT2; a thief replays RT1 inside the grace window,
/// gets RT3 and rotates on. When the client presents RT2, the whole family ends, the thief's line with it.
#[tokio::test]
async fn hole1_a_refresh_token_replayed_by_a_thief_in_the_grace_window_ends_the_family_rfc9700_4_14_2() {
    let world = world().await;
    let body = tokens_for(&world, &world.confidential, "user:read").await;
    let rt1 = refresh_token_of(&body);
    let (status, client_side) = refresh(&world, &rt1, None).await;
    assert_eq!(status, 200, "{client_side}");
    let rt2 = refresh_token_of(&client_side);
    world.server.clock.advance_secs(1);
    let (status, thief) = refresh(&world, &rt1, None).await;
    assert_eq!(status, 200, "a retry inside the grace window is answered: {thief}");
    let (status, thief) = refresh(&world, &refresh_token_of(&thief), None).await;
    assert_eq!(status, 200, "{thief}");
    let (rt4, thief_access) = (refresh_token_of(&thief), access_token_of(&thief));
    assert_eq!(api(&world, "/api/v2/users/me", &thief_access).await.0, 200);

    let (status, body) = refresh(&world, &rt2, None).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")));
    let (status, body) = refresh(&world, &rt4, None).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "the family ended");
    assert_eq!(api(&world, "/api/v2/users/me", &thief_access).await.0, 401, "and with it the thief's access token");
}

/// Hole 10, RFC 6749 §4.1.3: the authorization request carried `redirect_uri`, so the token request must
/// repeat it; a code stolen from a redirect cannot be redeemed by leaving it out.
#[tokio::test]
async fn hole10_a_code_exchange_that_leaves_out_the_redirect_uri_is_invalid_grant_rfc6749_4_1_3() {
    let world = world().await;
    let code = code_for(&world, &world.confidential, "user:read").await;
    let params = [("grant_type", "authorization_code"), ("code", code.as_str()), ("code_verifier", VERIFIER)];
    let (status, body) = token_request(&world, &world.confidential, &params).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
    // The refusal left the code unused: the complete request is answered.
    let (status, body) = exchange(&world, &world.confidential, &code).await;
    assert_eq!(status, 200, "{body}");
}

/// Hole 2: the user consents again to the same client for another organization. What the first consent
/// issued must end on every node (through the revocation feed): its refresh token no longer refreshes
/// into the old organization, and its access token stops working, here and on another node that had it
/// cached (RFC 6749 §10.4: refresh tokens are bound to the scope and resource the owner authorized).
#[tokio::test]
async fn hole2_a_new_consent_for_another_organization_ends_the_earlier_consents_tokens_on_every_node_rfc6749_10_4() {
    let world = world().await;
    let other_node = world.server.another_node().await;
    let first = tokens_for(&world, &world.confidential, "user:read teams:read").await;
    let (old_access, old_refresh) = (access_token_of(&first), refresh_token_of(&first));
    let teams_of_first_org = format!("/api/v2/teams?organizationId={}", world.org);
    assert_eq!(api_on(&other_node, &teams_of_first_org, &old_access).await.0, 200, "cached on the other node");

    let mut browser = Browser::new(&world);
    let url = authorize_url(&world, &world.confidential, "user:read teams:read", &[("prompt", "consent")]);
    let location = browser.authorize(&url, world.other_org).await;
    let code = query_param(&location, "code").unwrap_or_else(|| panic!("no code in {location}"));
    let (status, second) = exchange(&world, &world.confidential, &code).await;
    assert_eq!(status, 200, "{second}");

    let (status, body) = refresh(&world, &old_refresh, None).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
    assert_eq!(api(&world, &teams_of_first_org, &old_access).await.0, 401);
    other_node.feed_caught_up().await;
    assert_eq!(api_on(&other_node, &teams_of_first_org, &old_access).await.0, 401, "the other node followed the feed");
    let new_access = access_token_of(&second);
    assert_eq!(api(&world, &format!("/api/v2/teams?organizationId={}", world.other_org), &new_access).await.0, 200);
    assert_eq!(api(&world, &teams_of_first_org, &new_access).await.0, 404);
}

/// Hole 3: a credential may never create one that holds more than itself. A token holding only
/// `user:write` asks for `organizations:write` and `admin:write`: Make's 403, naming what it lacks.
#[tokio::test]
async fn hole3_an_api_token_cannot_mint_a_wider_api_token_or_client_request() {
    let server = crate::harness::TestServer::start().await;
    let user = server.user("ada@example.com", false).await;
    let token = server.token(&user, &["user:write"]).await;
    for wider in [vec!["organizations:write"], vec!["user:write", "admin:write"]] {
        let body = serde_json::json!({ "label": "wider", "scope": wider });
        let response = server.request(reqwest::Method::POST, "/api/v2/users/me/api-tokens", &token).json(&body).send().await.unwrap();
        let (status, body) = json(response).await;
        crate::harness::assert_make_error(status, &body, 403, "SC403");
        assert!(body["detail"].as_str().unwrap().contains(wider.last().unwrap()), "{body}");
    }
    let body = serde_json::json!({ "label": "same", "scope": ["user:write"] });
    let response = server.request(reqwest::Method::POST, "/api/v2/users/me/api-tokens", &token).json(&body).send().await.unwrap();
    assert_eq!(response.status(), 200, "a token may create one within its own scopes");
    // A client request confers its API scopes on the client (client_credentials act as the owner).
    let body = serde_json::json!({
        "name": "Climber", "type": "confidential", "redirectUris": [REDIRECT], "scope": ["teams:write"]
    });
    let response = server.request(reqwest::Method::POST, "/api/v2/oauth/client-requests", &token).json(&body).send().await.unwrap();
    let (status, body) = json(response).await;
    crate::harness::assert_make_error(status, &body, 403, "SC403");
    assert!(body["detail"].as_str().unwrap().contains("teams:write"), "{body}");
}

/// Hole 4: a user who consented to `openid` alone was asked to confirm their identity. The token may not
/// read their account (`/users/me`, name and email) nor file client requests in their name; with
/// `user:read` it reads. An API token keeps Make's reading: any valid one reads `/users/me`, but every
/// write needs a write scope.
#[tokio::test]
async fn hole4_an_openid_only_oauth_token_neither_reads_the_account_nor_writes_in_the_users_name() {
    let world = world().await;
    let identity_only = access_token_of(&tokens_for(&world, &world.confidential, "openid").await);
    for path in ["/api/v2/users/me", "/api/v2/users/me/current-authorization", "/api/v2/oauth/client-requests"] {
        let (status, body) = api(&world, path, &identity_only).await;
        assert_eq!(status, 401, "{path}: {body}");
        assert_eq!(body["code"], "SC401", "{path}: {body}");
    }
    let request = serde_json::json!({ "name": "X", "type": "public", "redirectUris": [REDIRECT], "scope": ["openid"] });
    let response = world
        .server
        .http
        .post(world.server.url("/api/v2/oauth/client-requests"))
        .header("authorization", format!("Bearer {identity_only}"))
        .json(&request)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);

    let reader = access_token_of(&tokens_for(&world, &world.confidential, "openid user:read").await);
    assert_eq!(api(&world, "/api/v2/users/me", &reader).await.0, 200);

    let owner = crate::harness::TestUser { id: world.user };
    let no_scopes = world.server.token(&owner, &[]).await;
    let (status, body) = json(world.server.get("/api/v2/users/me", &no_scopes).send().await.unwrap()).await;
    assert_eq!(status, 200, "Make: any valid API token reads /users/me: {body}");
    let response = world.server.request(reqwest::Method::POST, "/api/v2/oauth/client-requests", &no_scopes).json(&request).send().await.unwrap();
    assert_eq!(response.status(), 401, "a write needs user:write");
}

/// Hole 7: whoever can sign an access token (a leaked signing key) must not borrow a live family for
/// another subject. The liveness check ties the family to its `sub` and `client_id`.
#[tokio::test]
async fn hole7_a_token_signed_for_the_administrator_on_someone_elses_live_family_is_refused() {
    let world = world().await;
    let admin = world.server.user("root@example.com", true).await;
    let as_admin = forged(&world, |claims| claims.sub = admin.id.0.to_string()).await;
    assert_eq!(api(&world, "/api/v2/users/me", &as_admin).await.0, 401);
    let control = forged(&world, |_| {}).await;
    assert_eq!(api(&world, "/api/v2/users/me", &control).await.0, 200);
}

/// Hole 7: a store written before encryption at rest (signing keys in clear, as the old code wrote them)
/// is encrypted in place when a node starts with a secrets key; tokens issued before the upgrade still
/// verify, and refreshing still works.
#[tokio::test]
async fn hole7_upgrading_a_store_encrypts_its_signing_keys_in_place_and_old_tokens_still_verify() {
    use gatehouse_domain::secrets::is_sealed;
    let old = crate::harness::TestServer::start_with_key_protection(gatehouse_app::keys::KeyProtection::InsecurePlaintext).await;
    let world = world_on(old).await;
    let body = tokens_for(&world, &world.confidential, "user:read").await;
    let (access, refresh_token) = (access_token_of(&body), refresh_token_of(&body));
    let clear = world.server.store.signing_keys().await.unwrap();
    assert!(!clear.is_empty() && clear.iter().all(|key| !is_sealed(&key.private_pkcs8)), "the old code's rows");

    let mut config = world.server.state().app.settings.clone();
    config.key_protection = crate::harness::test_key_protection();
    let upgraded = crate::harness::TestServer::start_over(world.server.database_url.clone(), world.server.clock.clone(), config).await;
    let stored = upgraded.store.signing_keys().await.unwrap();
    assert_eq!(stored.iter().map(|key| key.kid.clone()).collect::<Vec<_>>(), clear.iter().map(|key| key.kid.clone()).collect::<Vec<_>>());
    assert!(stored.iter().all(|key| is_sealed(&key.private_pkcs8)), "encrypted in place");
    assert_eq!(api_on(&upgraded, "/api/v2/users/me", &access).await.0, 200, "a token from before the upgrade");
    let params = [("grant_type", "refresh_token"), ("refresh_token", refresh_token.as_str())];
    let (status, body) = token_request_to(&upgraded, &world.confidential, &params).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(api_on(&upgraded, "/api/v2/users/me", &access_token_of(&body)).await.0, 200);
}

/// Hole 7: without a secrets key, outside the named development mode, `serve` refuses to start, with a
/// clear error and a non-zero exit.
#[tokio::test]
async fn hole7_serve_refuses_to_start_without_a_secrets_key() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}/gatehouse.db", dir.path().display());
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .args(["serve", "--listen", "127.0.0.1:0", "--database", &database])
        .env_remove("GATEHOUSE_SECRETS_KEY")
        .env_remove("GATEHOUSE_SECRETS_KEY_FILE")
        .env_remove("GATEHOUSE_DEV_MODE")
        .env_remove("GATEHOUSE_CONFIG")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(stderr.contains("GATEHOUSE_SECRETS_KEY") && stderr.contains("--insecure-dev-keys"), "{stderr}");
}
