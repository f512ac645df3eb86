//! Make's API-token lifecycle: created once, shown once, stored hashed, listed masked, keyed by `created`.

use reqwest::Method;
use serde_json::{Value, json as object};

use crate::harness::{ClockExt, START, TestServer, assert_make_error, json};

const TOKENS: &str = "/api/v2/users/me/api-tokens";
const UUID_V4: &str = r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$";

fn is_uuid_v4(text: &str) -> bool {
    // The SDK's own pattern, checked by hand to avoid a regex dependency.
    let bytes = text.as_bytes();
    let _ = UUID_V4;
    text.len() == 36
        && [8, 13, 18, 23].iter().all(|&i| bytes[i] == b'-')
        && bytes[14] == b'4'
        && matches!(bytes[19], b'8' | b'9' | b'a' | b'b')
        && text.chars().enumerate().all(|(i, c)| [8, 13, 18, 23].contains(&i) || c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
}

async fn create(server: &TestServer, token: &str, body: Value) -> (u16, Value) {
    json(server.request(Method::POST, TOKENS, token).json(&body).send().await.unwrap()).await
}

async fn setup() -> (TestServer, String) {
    let server = TestServer::start().await;
    let user = server.user("ada@example.com", false).await;
    // Every API scope: a token may only create tokens within its own scopes (issue 10, hole 3).
    let token = server.token(&user, &gatehouse_domain::ScopeSet::all_api_scopes().names()).await;
    (server, token)
}

#[tokio::test]
async fn create_returns_a_uuid_v4_once_and_the_list_masks_it() {
    let (server, token) = setup().await;
    let (status, body) = create(&server, &token, object!({ "label": "CI deploys", "scope": ["scenarios:read", "scenarios:run"] })).await;
    assert_eq!(status, 200, "{body}");
    let created = &body["apiToken"];
    let plain = created["token"].as_str().unwrap();
    assert!(is_uuid_v4(plain), "{plain}");
    assert_eq!(created["label"], "CI deploys");
    assert_eq!(created["scope"], object!(["scenarios:read", "scenarios:run"]));
    // The setup token holds START for this user, so this one moves on by a millisecond.
    assert_eq!(created["created"], START.plus_millis(1).to_iso());

    let (status, listed) = json(server.get(TOKENS, &token).send().await.unwrap()).await;
    assert_eq!(status, 200);
    let entry = listed["apiTokens"].as_array().unwrap().iter().find(|t| t["label"] == "CI deploys").expect("listed").clone();
    let masked = entry["token"].as_str().unwrap();
    assert_eq!(&masked[..9], &plain[..9], "first group stays readable");
    assert!(!masked.contains(&plain[9..]), "the rest is masked: {masked}");
    assert_eq!(masked, format!("{}-****-****-****-************", &plain[..8]));
    assert_eq!(entry["scope"], object!(["scenarios:read", "scenarios:run"]));
    assert!(!listed.to_string().contains(plain), "the plain value never appears in a listing");

    // The new token works, with exactly its scopes.
    let (status, auth) = json(server.get("/api/v2/users/me/current-authorization", plain).send().await.unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(auth["authorization"], object!({ "authUsed": "token", "scope": ["scenarios:read", "scenarios:run"] }));
}

#[tokio::test]
async fn tokens_are_stored_only_as_hashes() {
    let (server, token) = setup().await;
    let (_, body) = create(&server, &token, object!({ "label": "x", "scope": [] })).await;
    let plain = body["apiToken"]["token"].as_str().unwrap().to_string();
    let stored = server.store.api_tokens_of_user(gatehouse_domain::UserId(1)).await.unwrap();
    assert_eq!(stored.len(), 2);
    let debug = format!("{stored:?}");
    assert!(!debug.contains(&plain) && !debug.contains(&plain.replace('-', "")), "plain token in stored row");
    let secret = gatehouse_domain::ApiTokenSecret::parse(&plain).unwrap();
    assert!(stored.iter().any(|t| t.hash.matches(&secret.hash())));
}

/// Make keys tokens by `created`, so tokens made in the same millisecond must still get distinct keys.
/// Token creation is group-committed: concurrent requests share a transaction. Within one batch the rule
/// still holds — every token of a user gets its own `created` — and each answer comes after its row is
/// committed, so every token answered is already stored and already authenticates.
#[tokio::test]
async fn created_is_unique_per_user_even_for_concurrent_creations_in_one_millisecond() {
    let server = TestServer::start().await;
    let ada = server.user("ada@example.com", false).await;
    let bob = server.user("bob@example.com", false).await;
    let ada_token = server.token(&ada, &["user:read", "user:write"]).await;
    let bob_token = server.token(&bob, &["user:read", "user:write"]).await;
    // The clock stands still: every request asks for the same millisecond.
    let requests = (0..24).map(|i| {
        let token = if i % 2 == 0 { &ada_token } else { &bob_token };
        let label = if i % 2 == 0 { "ada" } else { "bob" };
        create(&server, token, object!({ "label": format!("{label} {i}"), "scope": ["user:read"] }))
    });
    let answers = futures_util::future::join_all(requests).await;

    for (user, label) in [(&ada, "ada"), (&bob, "bob")] {
        let mut created: Vec<String> = answers
            .iter()
            .filter(|(_, body)| body["apiToken"]["label"].as_str().is_some_and(|l| l.starts_with(label)))
            .map(|(status, body)| {
                assert_eq!(*status, 200, "{body}");
                body["apiToken"]["created"].as_str().unwrap().to_string()
            })
            .collect();
        created.sort();
        // The setup token holds START; the twelve new ones take the next twelve milliseconds.
        let expected: Vec<String> = (1..13).map(|i| START.plus_millis(i).to_iso()).collect();
        assert_eq!(created, expected, "{label}");
        let mut stored: Vec<_> = server.store.api_tokens_of_user(user.id).await.unwrap().into_iter().map(|t| t.created).collect();
        stored.sort();
        assert_eq!(stored.len(), 13, "{label}: every answered token is committed");
        assert_eq!(stored, (0..13).map(|i| START.plus_millis(i)).collect::<Vec<_>>(), "{label}: the first token holds START");
    }
    // A creation after the burst, still in the same millisecond, takes the next free key.
    let (status, body) = create(&server, &ada_token, object!({ "label": "ada later", "scope": [] })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["apiToken"]["created"], START.plus_millis(13).to_iso());
    for (_, body) in &answers {
        let plain = body["apiToken"]["token"].as_str().unwrap();
        let status = server.get("/api/v2/users/me/current-authorization", plain).send().await.unwrap().status();
        assert_eq!(status, 200);
    }
}

#[tokio::test]
async fn delete_by_created_stops_the_token_at_once() {
    let (server, token) = setup().await;
    let (_, body) = create(&server, &token, object!({ "label": "doomed", "scope": [] })).await;
    let doomed = body["apiToken"]["token"].as_str().unwrap().to_string();
    let created = body["apiToken"]["created"].as_str().unwrap().to_string();
    assert_eq!(server.get("/api/v2/users/me", &doomed).send().await.unwrap().status(), 200, "warms the cache");

    // Colons percent-encoded, as clients that encode path segments send them.
    let path = format!("{TOKENS}/{}", created.replace(':', "%3A"));
    let (status, body) = json(server.request(Method::DELETE, &path, &token).send().await.unwrap()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["apiToken"], created);

    let (status, body) = json(server.get("/api/v2/users/me", &doomed).send().await.unwrap()).await;
    assert_make_error(status, &body, 401, "SC401");
    let (status, body) = json(server.request(Method::DELETE, &format!("{TOKENS}/{created}"), &token).send().await.unwrap()).await;
    assert_make_error(status, &body, 404, "SC404");
}

#[tokio::test]
async fn delete_with_a_malformed_key_is_400_and_cannot_touch_another_users_token() {
    let (server, token) = setup().await;
    let (status, body) = json(server.request(Method::DELETE, &format!("{TOKENS}/yesterday"), &token).send().await.unwrap()).await;
    assert_make_error(status, &body, 400, "IM005");

    let other = server.user("bob@example.com", false).await;
    let bobs = server.token(&other, &["user:read"]).await;
    // Bob's token was created at START too; Ada deleting START deletes only her own.
    let (status, _) = json(server.request(Method::DELETE, &format!("{TOKENS}/{}", START.to_iso()), &token).send().await.unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(server.get("/api/v2/users/me", &bobs).send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn tokens_are_never_editable() {
    let (server, token) = setup().await;
    let path = format!("{TOKENS}/{}", START.to_iso());
    for method in [Method::PUT, Method::PATCH] {
        let (status, body) = json(server.request(method, &path, &token).json(&object!({ "scope": ["admin:write"] })).send().await.unwrap()).await;
        assert_make_error(status, &body, 405, "SC405");
    }
}

#[tokio::test]
async fn last_used_is_tracked_without_a_write_per_request() {
    let (server, token) = setup().await;
    server.clock.advance_secs(10);
    assert_eq!(server.get("/api/v2/users/me", &token).send().await.unwrap().status(), 200);
    let stored = server.store.api_tokens_of_user(gatehouse_domain::UserId(1)).await.unwrap();
    assert_eq!(stored[0].last_used, None, "no write on the request path");

    let (_, listed) = json(server.get(TOKENS, &token).send().await.unwrap()).await;
    assert_eq!(listed["apiTokens"][0]["lastUsed"], server.clock.now_iso_plus(0), "listing sees pending uses");

    server.state().app.usage.flush(&server.store).await;
    let stored = server.store.api_tokens_of_user(gatehouse_domain::UserId(1)).await.unwrap();
    assert_eq!(stored[0].last_used.map(|t| t.to_iso()), Some(server.clock.now_iso_plus(0)));
}

#[tokio::test]
async fn unicode_labels_are_kept() {
    let (server, token) = setup().await;
    let label = "Déploiement 🚀 生产 — naïve";
    let (status, body) = create(&server, &token, object!({ "label": label, "scope": [] })).await;
    assert_eq!(status, 200);
    assert_eq!(body["apiToken"]["label"], label);
    let (_, listed) = json(server.get(TOKENS, &token).send().await.unwrap()).await;
    assert!(listed["apiTokens"].as_array().unwrap().iter().any(|t| t["label"] == label));
}

#[tokio::test]
async fn validation_errors_are_400_im005() {
    let (server, token) = setup().await;
    let cases = [
        object!({ "scope": [] }),                                          // no label
        object!({ "label": "x" }),                                         // no scope
        object!({ "label": "", "scope": [] }),                             // empty label
        object!({ "label": "a\u{0007}b", "scope": [] }),                   // control character
        object!({ "label": "x".repeat(256), "scope": [] }),                // too long
        object!({ "label": "x", "scope": ["scenarios:fly"] }),             // unknown scope
        object!({ "label": "x", "scope": "scenarios:read" }),              // not an array
        object!({ "label": "x", "scope": ["openid"] }),                    // OAuth-only scope
        object!({ "label": 42, "scope": [] }),                             // wrong type
        object!({ "label": "x", "scope": [], "expires": "tomorrow" }),     // bad expiry
        object!({ "label": "x", "scope": [], "expires": START.to_iso() }), // expiry not in the future
    ];
    for case in cases {
        let (status, body) = create(&server, &token, case.clone()).await;
        assert_make_error(status, &body, 400, "IM005");
        let _ = case;
    }
}

#[tokio::test]
async fn a_thousand_scopes_are_handled() {
    let (server, token) = setup().await;
    let unknown: Vec<String> = (0..1000).map(|i| format!("made-up-{i}:read")).collect();
    let (status, body) = create(&server, &token, object!({ "label": "x", "scope": unknown })).await;
    assert_make_error(status, &body, 400, "IM005");
    assert!(body["detail"].as_str().unwrap().len() < 1000, "the error names a few, not a thousand");

    let repeated: Vec<&str> = std::iter::repeat_n("teams:read", 1000).collect();
    let (status, body) = create(&server, &token, object!({ "label": "x", "scope": repeated })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["apiToken"]["scope"], object!(["teams:read"]));
}

/// Make's documents spell some scopes two ways; both name one canonical scope.
#[tokio::test]
async fn scope_aliases_are_stored_under_their_canonical_name() {
    let (server, token) = setup().await;
    let (status, body) = create(&server, &token, object!({ "label": "x", "scope": ["organizations-variables:read", "teams-variables:read", "team-variables:write"] })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["apiToken"]["scope"], object!(["organization-variables:read", "team-variables:read", "team-variables:write"]));
}

#[tokio::test]
async fn bodies_that_are_not_json_are_refused_clearly() {
    let (server, token) = setup().await;
    let invalid = server.request(Method::POST, TOKENS, &token).header("content-type", "application/json").body("{\"label\": ").send().await.unwrap();
    let (status, body) = json(invalid).await;
    assert_make_error(status, &body, 400, "IM005");

    let wrong_type = server.request(Method::POST, TOKENS, &token).header("content-type", "text/plain").body("{\"label\":\"x\",\"scope\":[]}").send().await.unwrap();
    let (status, body) = json(wrong_type).await;
    assert_make_error(status, &body, 415, "SC415");

    let form = server.request(Method::POST, TOKENS, &token).form(&[("label", "x")]).send().await.unwrap();
    let (status, body) = json(form).await;
    assert_make_error(status, &body, 415, "SC415");
}

#[tokio::test]
async fn a_ten_megabyte_body_is_413() {
    let (server, token) = setup().await;
    let huge = format!("{{\"label\":\"{}\",\"scope\":[]}}", "x".repeat(10 * 1024 * 1024));
    let response = server.request(Method::POST, TOKENS, &token).header("content-type", "application/json").body(huge).send().await.unwrap();
    let (status, body) = json(response).await;
    assert_make_error(status, &body, 413, "SC413");

    // Without a Content-Length (chunked), the limit still holds while reading.
    let chunks = futures_chunks(10 * 1024 * 1024);
    let response = server
        .request(Method::POST, TOKENS, &token)
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(chunks))
        .send()
        .await
        .unwrap();
    let (status, body) = json(response).await;
    assert_make_error(status, &body, 413, "SC413");
    // Nothing was stored.
    assert_eq!(server.store.api_tokens_of_user(gatehouse_domain::UserId(1)).await.unwrap().len(), 1);
}

fn futures_chunks(total: usize) -> impl futures_util::Stream<Item = Result<Vec<u8>, std::io::Error>> + Send + 'static {
    let chunk = 64 * 1024;
    futures_util::stream::iter((0..total / chunk).map(move |index| {
        let mut bytes = vec![b'x'; chunk];
        if index == 0 {
            bytes[..10].copy_from_slice(b"{\"label\":\"");
        }
        Ok(bytes)
    }))
}
