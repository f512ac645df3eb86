//! Bad input never produces a 500, a panic or a hang: thousands of malformed requests, each answered with a
//! clear error in Make's schema (or a success where the input happens to be valid).

use std::time::Duration;

use reqwest::Method;
use serde_json::Value;

use crate::harness::{TestServer, json};

/// A small deterministic generator (xorshift), so a failure reproduces from its seed.
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }

    fn text(&mut self, max: usize) -> String {
        let alphabet = ["a", "Z", "0", "-", ":", "%", "%5B", "%5D", "[", "]", "é", "🚀", "\u{202e}", "%00", "%ff", "/", ".", "..", "*", "&", "=", " ", "+", "'", "\""];
        (0..self.below(max + 1)).map(|_| self.pick(&alphabet)).collect()
    }
}

const PATHS: &[&str] = &[
    "/api/v2/users/me",
    "/api/v2/users/me/current-authorization",
    "/api/v2/users/me/api-tokens",
    "/api/v2/users/me/api-tokens/{x}",
    "/api/v2/enums/user-api-token-scopes",
    "/api/v2/organizations",
    "/api/v2/organizations/{x}",
    "/api/v2/teams",
    "/api/v2/teams/{x}",
    "/api/v2/admin/users",
    "/api/v2/{x}",
    "/health",
    "/{x}",
];

fn percent_safe(text: &str) -> String {
    // Keep the request line valid: encode what a URL cannot carry raw.
    text.chars()
        .map(|c| if c.is_ascii_alphanumeric() || "-._~%[]:*&=+/".contains(c) { c.to_string() } else { format!("%{:02X}", c as u32 & 0xff) })
        .collect()
}

#[tokio::test]
async fn two_thousand_malformed_requests_never_get_a_5xx() {
    let server = TestServer::start().await;
    let user = server.user("ada@example.com", true).await;
    let org = server.org(&user, "Acme").await;
    server.team(org, "Ops").await;
    let scopes: Vec<&str> = gatehouse_domain::ScopeSet::all_api_scopes().names();
    // Created a second after START, so the sweep's DELETE of START's key answers 404 and the token lives on.
    server.clock.advance_secs(1);
    let token = server.token(&user, &scopes).await;
    let mut noise = Noise(0x9e37_79b9_7f4a_7c15);
    let ids = ["1", "0", "-1", "99999999999999999999", "abc", "1.5", "%20", "2026-01-01T00:00:00.000Z", "ﾟ"];
    let bodies = [
        "",
        "{",
        "null",
        "[]",
        "{\"label\":null,\"scope\":null}",
        "{\"label\":\"x\",\"scope\":[1,2,3]}",
        "{\"name\":\"\\u0000\",\"organizationId\":\"1\"}",
        "{\"name\":\"x\",\"organizationId\":1e400}",
        "{\"license\":{\"apiLimit\":-5}}",
        "\u{feff}{\"label\":\"bom\",\"scope\":[]}",
    ];
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    for round in 0..2000 {
        let method = noise.pick(&["GET", "POST", "PATCH", "DELETE", "PUT", "HEAD", "OPTIONS"]);
        let template = noise.pick(PATHS);
        let segment = if noise.below(2) == 0 { noise.pick(&ids).to_string() } else { percent_safe(&noise.text(12)) };
        let path = template.replace("{x}", &segment);
        let query = percent_safe(&noise.text(20));
        let url = format!("{}{}?{}", server.base, path, query);
        let mut request = server.http.request(Method::from_bytes(method.as_bytes()).unwrap(), &url);
        request = match noise.below(6) {
            0 => request,
            1 => request.header("authorization", format!("Token {token}")),
            2 => request.header("authorization", format!("{} {}", noise.pick(&["Token", "Bearer", "token", "Basic", ""]), percent_safe(&noise.text(40)))),
            3 => request.header("authorization", format!("Token {token}")).header("authorization", "Token x"),
            _ => request.header("authorization", format!("Token {token}")),
        };
        let body = match noise.below(12) {
            10 => deep.clone(),
            11 => noise.text(200),
            index => bodies[index % bodies.len()].to_string(),
        };
        let content_type = noise.pick(&["application/json", "application/json; charset=utf-8", "text/plain", "application/x-www-form-urlencoded", "application/jsonc", ""]);
        if !content_type.is_empty() {
            request = request.header("content-type", content_type);
        }
        let response = tokio::time::timeout(Duration::from_secs(10), request.body(body.clone()).send())
            .await
            .unwrap_or_else(|_| panic!("round {round}: hang on {method} {url}"))
            .unwrap_or_else(|error| panic!("round {round}: {method} {url}: {error}"));
        let status = response.status().as_u16();
        assert!(status < 500, "round {round}: {method} {url} body {body:?} → {status}");
        let is_page = response.headers().get("content-type").is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
        if method != "HEAD" && status >= 400 && is_page {
            // The console's pages (`/`, `/login`…) answer browsers with a page that says what went wrong; the
            // API's paths never do.
            assert!(!path.starts_with("/api/"), "round {round}: {method} {url}: an HTML error on the API");
            let page = response.text().await.unwrap();
            assert!(page.contains("<h1"), "round {round}: {method} {url}: an empty page: {page}");
        } else if method != "HEAD" && status >= 400 {
            let (_, error) = json(response).await;
            assert!(error["message"].is_string() && error["code"].is_string() && error["detail"].is_string(), "round {round}: {error}");
        }
    }
    // And the server still works (with a fresh token: the sweep may well have deleted the first one, whose
    // `created` is one of the ids it tries).
    let fresh = server.token(&user, &[]).await;
    let (status, body): (u16, Value) = json(server.get("/api/v2/users/me", &fresh).send().await.unwrap()).await;
    assert_eq!(status, 200, "{body}");
}
