//! The authorization code flow (RFC 6749 §4.1 with PKCE, RFC 7636) as a browser and a client drive it:
//! authorize, login, consent, the code exchange, client authentication and redirect URI matching.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::Method;

use super::support::*;

#[tokio::test]
async fn code_flow_with_pkce_gives_a_confidential_client_working_tokens_rfc6749_4_1() {
    let world = world().await;
    let url = authorize_url(&world, &world.confidential, "openid profile email user:read organizations:read", &[]);
    let mut browser = Browser::new(&world);
    let (status, page, _) = browser.get(&url).await;
    assert_eq!(status, 200);
    assert!(page.contains("name=\"email\"") && page.contains("name=\"password\"") && page.contains("name=\"csrf\""));
    let (status, page, _) = browser.login(&page, PASSWORD).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("<select id=\"organizationId\" name=\"organizationId\">"));
    assert!(page.contains("value=\"allow\"") && page.contains("value=\"deny\""));
    assert!(page.contains("See your organizations"), "scopes are shown in words");
    let (status, _, location) = browser.consent(&page, world.org, "allow").await;
    assert_eq!(status, 303);
    let location = location.unwrap();
    assert!(location.starts_with(REDIRECT));
    assert_eq!(query_param(&location, "state").as_deref(), Some("xyz"));
    // RFC 9207 §2: the issuer identifies itself on the redirect.
    assert_eq!(query_param(&location, "iss").as_deref(), Some(world.server.base.as_str()));
    let (status, body) = exchange(&world, &world.confidential, &query_param(&location, "code").unwrap()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 300);
    let access = body["access_token"].as_str().unwrap();
    assert!(!is_uuid_v4(access));
    assert_eq!(header_of(access)["typ"], "at+jwt");
    let claims = claims_of(access);
    for claim in ["iss", "sub", "aud", "client_id", "scope", "exp", "iat", "jti"] {
        assert!(!claims[claim].is_null(), "{claim} in {claims}");
    }
    assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 300, "expires_in tells the truth");
    assert_eq!(claims["org_id"], world.org.0);
    assert!(body["refresh_token"].is_string());
    let id_token = claims_of(body["id_token"].as_str().unwrap());
    assert_eq!(id_token["nonce"], "n-0S6_WzA2Mj");
    assert_eq!(id_token["azp"], world.confidential.id.as_str());
    assert!(id_token["at_hash"].is_string() && id_token["auth_time"].is_i64());
    assert_eq!(id_token["email"], world.email.as_str());

    let (status, me) = api(&world, "/api/v2/users/me", access).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["authUser"]["email"], world.email.as_str());
    let (_, auth) = api(&world, "/api/v2/users/me/current-authorization", access).await;
    assert_eq!(auth["authorization"]["authUsed"], "oauth");
    assert_eq!(auth["authorization"]["scope"], serde_json::json!(["organizations:read", "user:read", "openid", "profile", "email"]));
    // Same scope rules as API tokens: teams:read was not granted.
    let (status, _) = api(&world, &format!("/api/v2/teams?organizationId={}", world.org), access).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn a_public_client_needs_no_secret_and_gets_no_refresh_token_rfc7636() {
    let world = world().await;
    let body = tokens_for(&world, &world.public, "openid user:read").await;
    assert!(body["access_token"].is_string());
    assert!(body["id_token"].is_string());
    assert!(body.get("refresh_token").is_none(), "Make's public clients get no refresh token: {body}");
}

#[tokio::test]
async fn a_missing_code_verifier_is_invalid_request_rfc7636_4_4_1() {
    let world = world().await;
    let code = code_for(&world, &world.public, "user:read").await;
    let (status, body) = token_request(&world, &world.public, &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", REDIRECT)]).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_request");
}

#[tokio::test]
async fn a_wrong_code_verifier_is_invalid_grant_and_does_not_burn_the_code_rfc7636_4_6() {
    let world = world().await;
    let code = code_for(&world, &world.confidential, "user:read").await;
    let wrong = format!("{VERIFIER}x");
    let (status, body) = token_request(
        &world,
        &world.confidential,
        &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", REDIRECT), ("code_verifier", &wrong)],
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_grant");
    // A failed attempt does not burn the code for its rightful holder.
    let (status, _) = exchange(&world, &world.confidential, &code).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn plain_or_missing_code_challenges_are_refused_by_redirect_rfc7636_4_3() {
    let world = world().await;
    let mut browser = Browser::new(&world);
    for extra in [[("code_challenge_method", "plain")], [("code_challenge", "")]] {
        let (status, _, location) = browser.get(&authorize_url(&world, &world.confidential, "user:read", &extra)).await;
        assert_eq!(status, 302);
        let location = location.unwrap();
        assert!(location.starts_with(REDIRECT));
        assert_eq!(query_param(&location, "error").as_deref(), Some("invalid_request"));
        assert_eq!(query_param(&location, "state").as_deref(), Some("xyz"));
        assert_eq!(query_param(&location, "iss").as_deref(), Some(world.server.base.as_str()));
    }
}

#[tokio::test]
async fn a_redirect_uri_differing_by_one_character_is_never_redirected_to_rfc6749_4_1_2_1() {
    let world = world().await;
    let mut browser = Browser::new(&world);
    for uri in ["http://127.0.0.1:9/callbacK", "http://127.0.0.1:9/callback/", "http://127.0.0.1:9/callback?x=1", "http://127.0.0.1:90/callback"] {
        let (status, page, location) = browser.get(&authorize_url(&world, &world.confidential, "user:read", &[("redirect_uri", uri)])).await;
        assert_eq!(status, 400, "{uri}");
        assert!(location.is_none(), "{uri} redirected");
        assert!(page.contains("redirect_uri"), "{page}");
    }
}

#[tokio::test]
async fn an_unknown_client_is_shown_a_page_never_redirected_rfc6749_4_1_2_1() {
    let world = world().await;
    let unknown = Client { id: "no-such-client".into(), secret: None };
    let mut browser = Browser::new(&world);
    let (status, page, location) = browser.get(&authorize_url(&world, &unknown, "user:read", &[])).await;
    assert_eq!(status, 400);
    assert!(location.is_none());
    assert!(page.contains("unknown"));
}

#[tokio::test]
async fn an_unknown_client_or_a_wrong_secret_is_invalid_client_rfc6749_5_2() {
    let world = world().await;
    let code = code_for(&world, &world.confidential, "user:read").await;
    let unknown = Client { id: "no-such-client".into(), secret: Some("x".repeat(43)) };
    let (status, body) = exchange(&world, &unknown, &code).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")));
    let wrong = Client { id: world.confidential.id.clone(), secret: Some(URL_SAFE_NO_PAD.encode([7u8; 32])) };
    let (status, body) = exchange(&world, &wrong, &code).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")));
    // Basic authentication failing answers with a Basic challenge (RFC 6749 §5.2).
    let response = world
        .server
        .http
        .post(world.server.url("/oauth/v2/token"))
        .basic_auth(&world.confidential.id, Some("wrong"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&[("grant_type", "client_credentials")]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);
    assert!(response.headers().get("www-authenticate").unwrap().to_str().unwrap().starts_with("Basic"));
    // The right secret in Basic works.
    let response = world
        .server
        .http
        .post(world.server.url("/oauth/v2/token"))
        .basic_auth(&world.confidential.id, world.confidential.secret.as_deref())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&code_grant(&code)))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
}

#[tokio::test]
async fn code_replay_revokes_tokens_issued_from_it_rfc6749_4_1_2() {
    let world = world().await;
    let code = code_for(&world, &world.confidential, "user:read").await;
    let (status, first) = exchange(&world, &world.confidential, &code).await;
    assert_eq!(status, 200);
    let access = first["access_token"].as_str().unwrap();
    assert_eq!(api(&world, "/api/v2/users/me", access).await.0, 200);
    let (status, body) = exchange(&world, &world.confidential, &code).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")));
    // At once, not at expiry.
    assert_eq!(api(&world, "/api/v2/users/me", access).await.0, 401);
    let (status, body) = refresh(&world, first["refresh_token"].as_str().unwrap(), None).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")));
}

#[tokio::test]
async fn an_expired_code_is_invalid_grant_rfc6749_4_1_2() {
    let world = world().await;
    let code = code_for(&world, &world.confidential, "user:read").await;
    world.server.clock.advance_secs(301);
    let (status, body) = exchange(&world, &world.confidential, &code).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")));
}

#[tokio::test]
async fn scopes_beyond_the_clients_approval_are_invalid_scope_rfc6749_3_3() {
    let world = world().await;
    let mut browser = Browser::new(&world);
    let (status, _, location) = browser.get(&authorize_url(&world, &world.confidential, "user:read admin:write", &[])).await;
    assert_eq!(status, 302);
    let location = location.unwrap();
    assert_eq!(query_param(&location, "error").as_deref(), Some("invalid_scope"));
    // client_credentials cannot exceed the approval either.
    let (status, body) = token_request(&world, &world.confidential, &[("grant_type", "client_credentials"), ("scope", "admin:write")]).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_scope")));
}

#[tokio::test]
async fn consent_is_remembered_and_prompt_consent_none_and_login_behave_oidc_core_3_1_2_1() {
    let world = world().await;
    let mut browser = Browser::new(&world);
    let location = browser.authorize(&authorize_url(&world, &world.confidential, "user:read", &[]), world.org).await;
    assert!(query_param(&location, "code").is_some());
    // Remembered: straight back with a code.
    let (status, _, location) = browser.get(&authorize_url(&world, &world.confidential, "user:read", &[])).await;
    assert_eq!(status, 302);
    assert!(query_param(&location.unwrap(), "code").is_some());
    // prompt=consent shows the page again.
    let (status, page, _) = browser.get(&authorize_url(&world, &world.confidential, "user:read", &[("prompt", "consent")])).await;
    assert_eq!(status, 200);
    assert!(page.contains("name=\"decision\""));
    // New scopes ask again; prompt=none cannot, so it answers consent_required.
    let (status, _, location) = browser.get(&authorize_url(&world, &world.confidential, "user:read teams:read", &[("prompt", "none")])).await;
    assert_eq!(status, 302);
    assert_eq!(query_param(&location.unwrap(), "error").as_deref(), Some("consent_required"));
    let (_, _, location) = browser.get(&authorize_url(&world, &world.confidential, "user:read", &[("prompt", "none")])).await;
    assert!(query_param(&location.unwrap(), "code").is_some());
    // Without a session, prompt=none is login_required.
    let mut stranger = Browser::new(&world);
    let (_, _, location) = stranger.get(&authorize_url(&world, &world.confidential, "user:read", &[("prompt", "none")])).await;
    assert_eq!(query_param(&location.unwrap(), "error").as_deref(), Some("login_required"));
    // prompt=login asks for the password again.
    let (status, page, _) = browser.get(&authorize_url(&world, &world.confidential, "user:read", &[("prompt", "login")])).await;
    assert_eq!(status, 200);
    assert!(page.contains("name=\"password\""));
    // Deny goes back with access_denied.
    let (_, page, _) = browser.get(&authorize_url(&world, &world.confidential, "user:read", &[("prompt", "consent")])).await;
    let (_, _, location) = browser.consent(&page, world.org, "deny").await;
    assert_eq!(query_param(&location.unwrap(), "error").as_deref(), Some("access_denied"));
}

#[tokio::test]
async fn the_authorization_endpoint_also_takes_a_form_post_oidc_core_3_1_2_1() {
    let world = world().await;
    let url = authorize_url(&world, &world.confidential, "user:read", &[]);
    let query = url.split_once('?').unwrap().1.to_string();
    let mut browser = Browser::new(&world);
    let (status, page, _) = browser.post("/oauth/v2/authorize", query, &[]).await;
    assert_eq!(status, 200);
    assert!(page.contains("name=\"password\""));
    let (status, _, location) = browser.login(&page, PASSWORD).await;
    assert_eq!(status, 200, "consent page next");
    assert!(location.is_none());
}

#[tokio::test]
async fn login_is_throttled_per_account_after_repeated_failures() {
    let world = world().await;
    let url = authorize_url(&world, &world.confidential, "user:read", &[]);
    let mut browser = Browser::new(&world);
    let (_, mut page, _) = browser.get(&url).await;
    for _ in 0..5 {
        let (status, next, _) = browser.login(&page, "wrong password!").await;
        assert_eq!(status, 401);
        page = next;
    }
    let (status, next, _) = browser.login(&page, PASSWORD).await;
    assert_eq!(status, 429, "even the right password waits");
    world.server.clock.advance_secs(15 * 60);
    let (status, _, _) = browser.login(&next, PASSWORD).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn login_is_throttled_per_client_address_across_accounts() {
    let world = world().await;
    let url = authorize_url(&world, &world.confidential, "user:read", &[]);
    let mut browser = Browser::new(&world);
    let (_, mut page, _) = browser.get(&url).await;
    // Twenty failures spread over twenty accounts: no account reaches its own limit, the address does.
    for n in 0..20 {
        let (status, next, _) = browser.login_as(&page, &format!("guess{n}@example.com"), "wrong password!").await;
        assert_eq!(status, 401);
        page = next;
    }
    let (status, _, _) = browser.login(&page, PASSWORD).await;
    assert_eq!(status, 429);
}

#[tokio::test]
async fn forged_csrf_or_cross_site_login_posts_are_refused() {
    let world = world().await;
    let url = authorize_url(&world, &world.confidential, "user:read", &[]);
    let mut browser = Browser::new(&world);
    let (_, page, _) = browser.get(&url).await;
    let forged = form(&[("csrf", "forged"), ("request", &hidden(&page, "request")), ("email", &world.email), ("password", PASSWORD)]);
    let (status, _, _) = browser.post("/oauth/v2/authorize/login", forged, &[]).await;
    assert_eq!(status, 403);
    let genuine = form(&[("csrf", &hidden(&page, "csrf")), ("request", &hidden(&page, "request")), ("email", &world.email), ("password", PASSWORD)]);
    let (status, _, _) = browser.post("/oauth/v2/authorize/login", genuine.clone(), &[("sec-fetch-site", "cross-site")]).await;
    assert_eq!(status, 403);
    let mut stranger = Browser::new(&world);
    let (status, _, _) = stranger.post("/oauth/v2/authorize/login", genuine, &[]).await;
    assert_eq!(status, 400, "no session, no post");
    let (status, page, _) = browser.get(&url).await;
    assert_eq!(status, 200);
    let (status, _, _) = browser.login(&page, PASSWORD).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn machine_endpoints_answer_cors_preflights_and_the_cookie_pages_do_not() {
    let world = world().await;
    let preflight = |path: &str| {
        world
            .server
            .http
            .request(Method::OPTIONS, world.server.url(path))
            .header("origin", "https://spa.example")
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type")
            .send()
    };
    let response = preflight("/oauth/v2/token").await.unwrap();
    assert_eq!(response.headers().get("access-control-allow-origin").map(|v| v.to_str().unwrap()), Some("*"));
    let response = preflight("/oauth/v2/authorize/login").await.unwrap();
    assert!(response.headers().get("access-control-allow-origin").is_none());
}
