//! Issue 10, attacked from outside as an attacker would, over raw sockets where the attack lives below
//! HTTP: slow clients (hole 5), refused bodies that must still be answered (hole 11), a redirect URI that a
//! browser reads differently (hole 8), and anonymous requests that must not write (hole 6).

use gatehouse_domain::oauth::{NewClient, RedirectUri};
use reqwest::Method;

use crate::harness::{ClockExt, TestServer, json};
use crate::oauth::support::*;

#[tokio::test]
async fn hole8_a_backslash_redirect_uri_is_refused_at_registration_and_at_authorization_rfc9700_4_1_3() {
    let world = world().await;
    let owner = crate::harness::TestUser { id: world.user };
    let token = world.server.token(&owner, &["user:read"]).await;
    let foreign = "http://evil.example\\@localhost/cb";
    for uri in [foreign, "http://evil.example@localhost/cb", "https://APP.example.com/cb"] {
        let body = serde_json::json!({ "name": "Evil", "type": "public", "redirectUris": [uri], "scope": ["user:read"] });
        let (status, answer) = json(world.server.request(Method::POST, "/api/v2/oauth/client-requests", &token).json(&body).send().await.unwrap()).await;
        assert_eq!(status, 400, "{uri}: {answer}");
    }

    // A client registered before the rule, with the URI stored as it was then: no code goes there.
    let mut client = NewClient::new("Old app", "", "public", &[REDIRECT], &["user:read"])
        .unwrap()
        .into_client(world.user, world.server.clock.now_ts(), &gatehouse_domain::OsRandom);
    client.redirect_uris = vec![RedirectUri::from_stored(foreign.to_string())];
    let _ = gatehouse_domain::oauth::client::approve(&mut client, &gatehouse_domain::OsRandom);
    world.server.store.insert_oauth_client(&client).await.unwrap();
    let old = Client { id: client.id.as_str().to_string(), secret: None };
    for redirect in [Some(foreign), None] {
        let extra = [("redirect_uri", redirect.unwrap_or(""))];
        let url = authorize_url(&world, &old, "user:read", &extra);
        let response = world.server.http.get(&url).send().await.unwrap();
        assert_eq!(response.status(), 400, "{redirect:?}");
        assert!(response.headers().get("location").is_none(), "{redirect:?}: redirected to {:?}", response.headers().get("location"));
    }
}

async fn session_rows(server: &TestServer) -> i64 {
    gatehouse_store::copy::open(&server.database_url).await.unwrap().count_rows("oauth_sessions").await.unwrap()
}

#[tokio::test]
async fn hole6_cookieless_authorize_requests_write_no_session_and_the_code_flow_still_works() {
    let world = world().await;
    let url = authorize_url(&world, &world.confidential, "openid user:read", &[]);
    let before = session_rows(&world.server).await;
    for _ in 0..40 {
        let response = world.server.http.get(&url).send().await.unwrap();
        assert_eq!(response.status(), 200);
        let cookie = response.headers().get("set-cookie").unwrap().to_str().unwrap().to_string();
        assert!(cookie.starts_with("gatehouse_prelogin=") && cookie.contains("HttpOnly"), "{cookie}");
    }
    assert_eq!(session_rows(&world.server).await, before, "anonymous requests wrote sessions");

    // The whole flow still works: the durable session appears at sign-in, not before.
    let mut browser = Browser::new(&world);
    let (status, page, _) = browser.get(&url).await;
    assert_eq!(status, 200);
    assert_eq!(session_rows(&world.server).await, before);
    let (status, page, _) = browser.login(&page, PASSWORD).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(session_rows(&world.server).await, before + 1);
    let (_, _, location) = browser.consent(&page, world.org, "allow").await;
    let code = query_param(&location.unwrap(), "code").unwrap();
    let (status, tokens) = exchange(&world, &world.confidential, &code).await;
    assert_eq!(status, 200, "{tokens}");
}

#[tokio::test]
async fn hole6_a_tampered_or_missing_prelogin_cookie_is_refused_at_the_login_form() {
    let world = world().await;
    let url = authorize_url(&world, &world.confidential, "openid user:read", &[]);
    let response = world.server.http.get(&url).send().await.unwrap();
    let cookie = response.headers().get("set-cookie").unwrap().to_str().unwrap().split(';').next().unwrap().to_string();
    let page = response.text().await.unwrap();
    let body = form(&[("csrf", &hidden(&page, "csrf")), ("request", &hidden(&page, "request")), ("email", &world.email), ("password", PASSWORD)]);
    let post = |cookie: Option<String>| {
        let mut request = world
            .server
            .http
            .post(world.server.url("/oauth/v2/authorize/login"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.clone());
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        request.send()
    };
    // A later expiry, the signature kept; a flipped signature; another cookie's signature; none at all.
    let (name, value) = cookie.split_once('=').unwrap();
    let parts: Vec<&str> = value.split('.').collect();
    let extended = format!("{name}={}.{}.{}.{}", parts[0], parts[1].parse::<i64>().unwrap() + 86_400_000, parts[2], parts[3]);
    let flipped = format!("{name}={}{}", &value[..value.len() - 1], if value.ends_with('A') { 'B' } else { 'A' });
    let other = world.server.http.get(&url).send().await.unwrap();
    let other = other.headers().get("set-cookie").unwrap().to_str().unwrap().split(';').next().unwrap().to_string();
    for forged in [Some(extended), Some(flipped), Some(other), None] {
        let response = post(forged.clone()).await.unwrap();
        let status = response.status().as_u16();
        assert!(status == 400 || status == 403, "{forged:?}: {status}");
        assert!(response.headers().get("set-cookie").is_none(), "{forged:?} signed in");
    }
    assert_eq!(session_rows(&world.server).await, 0);
    // The genuine cookie signs in.
    let response = post(Some(cookie)).await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.text().await.unwrap().contains("name=\"decision\""), "the consent page");
    assert_eq!(session_rows(&world.server).await, 1);
}
