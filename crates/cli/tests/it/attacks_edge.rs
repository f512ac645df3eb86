//! Issue 10, attacked from outside as an attacker would, over raw sockets where the attack lives below
//! HTTP: slow clients (hole 5), refused bodies that must still be answered (hole 11), a redirect URI that a
//! browser reads differently (hole 8), and anonymous requests that must not write (hole 6).

use gatehouse_domain::oauth::{NewClient, RedirectUri};
use reqwest::Method;

use crate::harness::{ClockExt, json};
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
