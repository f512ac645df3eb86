//! How a credential is presented and refused: every path answers 401 (or 400) in Make's schema.

use reqwest::Method;

use crate::harness::{ClockExt, TestServer, assert_make_error, json};

const ME: &str = "/api/v2/users/me";

#[tokio::test]
async fn a_valid_token_returns_the_user() {
    let server = TestServer::start().await;
    let user = server.user("ada@example.com", false).await;
    let token = server.token(&user, &[]).await;
    let (status, body) = json(server.get(ME, &token).send().await.unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(body["authUser"]["email"], "ada@example.com");
    assert_eq!(body["authUser"]["id"], user.id.0);
    for field in ["name", "language", "timezoneId", "localeId", "countryId", "features", "avatar", "timezone", "locale"] {
        assert!(body["authUser"].get(field).is_some(), "authUser.{field} missing: {body}");
    }
}

#[tokio::test]
async fn a_missing_header_is_401_with_a_challenge_for_both_schemes() {
    let server = TestServer::start().await;
    let response = server.http.get(server.url(ME)).send().await.unwrap();
    let challenge = response.headers().get("www-authenticate").expect("challenge").to_str().unwrap().to_string();
    assert!(challenge.starts_with("Token realm=") && challenge.contains("Bearer realm="), "{challenge}");
    let (status, body) = json(response).await;
    assert_make_error(status, &body, 401, "SC401");
}

/// RFC 9110 §11.1: the authentication scheme name is case-insensitive.
#[tokio::test]
async fn the_scheme_name_is_case_insensitive_rfc9110_11_1() {
    let server = TestServer::start().await;
    let user = server.user("ada@example.com", false).await;
    let token = server.token(&user, &[]).await;
    for scheme in ["token", "TOKEN", "ToKeN"] {
        let response = server.http.get(server.url(ME)).header("authorization", format!("{scheme} {token}")).send().await.unwrap();
        assert_eq!(response.status(), 200, "scheme {scheme}");
    }
    let upper = server.http.get(server.url(ME)).header("authorization", format!("Token {}", token.to_uppercase())).send().await.unwrap();
    assert_eq!(upper.status(), 200, "hex case must not matter");
}

#[tokio::test]
async fn malformed_credentials_are_401() {
    let server = TestServer::start().await;
    let cases = [
        "Token",
        "Token ",
        "Token c232ab00-9414-11ec-b3c8-9f6bdeced846", // version 1 UUID
        "Token 12345678-12ef-abcd-1234-1234567890ab", // Make's doc example: not v4
        "Token not-a-uuid",
        "Token c232ab0094144c11b3c89f6bdeced846",
        "Token a b",
        "Basic YWRhOnNlY3JldA==",
        "c232ab00-9414-4c11-b3c8-9f6bdeced846",
        "Token 🚀🚀🚀",
    ];
    for header in cases {
        let response = server.http.get(server.url(ME)).header("authorization", header).send().await.unwrap();
        assert!(response.headers().contains_key("www-authenticate"), "{header}");
        let (status, body) = json(response).await;
        assert_make_error(status, &body, 401, "SC401");
    }
}

#[tokio::test]
async fn non_utf8_header_bytes_are_401_not_500() {
    let server = TestServer::start().await;
    let value = reqwest::header::HeaderValue::from_bytes(b"Token \xff\xfe").unwrap();
    let (status, body) = json(server.http.get(server.url(ME)).header("authorization", value).send().await.unwrap()).await;
    assert_make_error(status, &body, 401, "SC401");
}

#[tokio::test]
async fn an_unknown_v4_token_is_401() {
    let server = TestServer::start().await;
    let (status, body) = json(server.get(ME, &uuid::Uuid::new_v4().to_string()).send().await.unwrap()).await;
    assert_make_error(status, &body, 401, "SC401");
}

/// Bearer is for OAuth access tokens; the official SDK sends `Token` for anything shaped like a UUIDv4.
#[tokio::test]
async fn an_api_token_sent_as_bearer_is_401_and_says_why() {
    let server = TestServer::start().await;
    let user = server.user("ada@example.com", false).await;
    let token = server.token(&user, &[]).await;
    let response = server.http.get(server.url(ME)).header("authorization", format!("Bearer {token}")).send().await.unwrap();
    let (status, body) = json(response).await;
    assert_make_error(status, &body, 401, "SC401");
    assert!(body["detail"].as_str().unwrap().contains("Token scheme"), "{body}");
}

/// RFC 6750 §3.1: more than one credential in a request is an invalid_request (400).
#[tokio::test]
async fn two_authorization_headers_are_400_rfc6750_3_1() {
    let server = TestServer::start().await;
    let user = server.user("ada@example.com", false).await;
    let token = server.token(&user, &[]).await;
    let response = server
        .http
        .get(server.url(ME))
        .header("authorization", format!("Token {token}"))
        .header("authorization", format!("Token {token}"))
        .send()
        .await
        .unwrap();
    let challenge = response.headers().get("www-authenticate").unwrap().to_str().unwrap().to_string();
    assert!(challenge.contains("invalid_request"), "{challenge}");
    let (status, body) = json(response).await;
    assert_make_error(status, &body, 400, "SC400");
}

#[tokio::test]
async fn an_expired_token_is_401() {
    let server = TestServer::start().await;
    let user = server.user("ada@example.com", false).await;
    let token = server.token(&user, &["user:write", "user:read"]).await;
    let expires = server.clock.now_iso_plus(3_600_000);
    let (status, body) = json(
        server
            .request(Method::POST, "/api/v2/users/me/api-tokens", &token)
            .json(&serde_json::json!({ "label": "short-lived", "scope": [], "expires": expires }))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["apiToken"]["expires"], expires);
    let short_lived = body["apiToken"]["token"].as_str().unwrap().to_string();
    assert_eq!(server.get(ME, &short_lived).send().await.unwrap().status(), 200);
    server.clock.advance_millis(3_600_000 - 1);
    assert_eq!(server.get(ME, &short_lived).send().await.unwrap().status(), 200, "valid until the last millisecond");
    server.clock.advance_millis(1);
    let (status, body) = json(server.get(ME, &short_lived).send().await.unwrap()).await;
    assert_make_error(status, &body, 401, "SC401");
    assert!(body["detail"].as_str().unwrap().contains("expired"), "{body}");
}

/// Make: "If you have access to multiple Make zones, generate separate tokens for each of them".
#[tokio::test]
async fn a_token_from_another_zone_is_401() {
    let server = TestServer::start().await;
    let user = server.user("ada@example.com", false).await;
    let foreign = server.token_in_zone(&user, &[], "eu1.make.com").await;
    let (status, body) = json(server.get(ME, &foreign).send().await.unwrap()).await;
    assert_make_error(status, &body, 401, "SC401");
    assert!(body["detail"].as_str().unwrap().contains("zone"), "{body}");
}

#[tokio::test]
async fn health_needs_no_credential() {
    let server = TestServer::start().await;
    let (status, body) = json(server.http.get(server.url("/health")).send().await.unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "ok");
    assert!(body["backend"] == "sqlite" || body["backend"] == "postgres");
}

#[tokio::test]
async fn unknown_routes_are_404_and_wrong_methods_405_in_makes_schema() {
    let server = TestServer::start().await;
    let user = server.user("ada@example.com", false).await;
    let token = server.token(&user, &[]).await;
    let (status, body) = json(server.get("/api/v2/nothing-here", &token).send().await.unwrap()).await;
    assert_make_error(status, &body, 404, "SC404");
    let (status, body) = json(server.get("/API/V2/USERS/ME", &token).send().await.unwrap()).await;
    assert_make_error(status, &body, 404, "SC404");
    let response = server.request(Method::PUT, ME, &token).send().await.unwrap();
    assert_eq!(response.headers()["allow"], "GET, HEAD, PATCH, DELETE", "RFC 9110 §15.5.6");
    let (status, body) = json(response).await;
    assert_make_error(status, &body, 405, "SC405");
    let response = server.request(Method::PUT, "/api/v2/users/me/api-tokens", &token).send().await.unwrap();
    assert_eq!(response.headers()["allow"], "GET, HEAD, POST");
}

/// Issue 12: authentication before routing. A caller without a valid credential is told so on every
/// `/api/v2` path, served or not, and whatever the method; only a known caller learns what exists (404,
/// 405). Make's MCP server, given a wrong key and a path we do not serve, must report the key.
#[tokio::test]
async fn authentication_comes_before_routing_on_every_api_path() {
    let server = TestServer::start().await;
    let user = server.user("ada@example.com", false).await;
    let token = server.token(&user, &[]).await;
    let wrong_key = "3f2b1c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d";
    let unserved = [
        (Method::GET, "/api/v2/nothing-here"),
        (Method::GET, "/api/v2/scenarios?teamId=1"),
        (Method::POST, "/api/v2/hooks"),
        (Method::GET, "/api/v2"),
        (Method::PUT, ME),
        (Method::DELETE, "/api/v2/enums/user-api-token-scopes"),
    ];
    for (method, path) in &unserved {
        let (status, body) = json(server.http.request(method.clone(), server.url(path)).send().await.unwrap()).await;
        assert_make_error(status, &body, 401, "SC401");
        assert!(body["detail"].as_str().unwrap().contains("Authentication is required"), "{method} {path}: {body}");
        let (status, body) = json(server.request(method.clone(), path, wrong_key).send().await.unwrap()).await;
        assert_make_error(status, &body, 401, "SC401");
        assert_eq!(body["detail"], "The API token is invalid or has been deleted.", "{method} {path}");
        let (status, body) = json(server.request(method.clone(), path, "not-a-token").send().await.unwrap()).await;
        assert_eq!(status, 401, "{method} {path} with a malformed credential: {body}");
    }
    // Once the caller is known, the path's existence is answered.
    let (status, body) = json(server.get("/api/v2/scenarios?teamId=1", &token).send().await.unwrap()).await;
    assert_make_error(status, &body, 404, "SC404");
    let (status, body) = json(server.request(Method::PUT, ME, &token).send().await.unwrap()).await;
    assert_make_error(status, &body, 405, "SC405");
    // Outside /api/v2 nothing changes: the public document and unknown paths elsewhere.
    assert_eq!(server.http.get(server.url("/api/v2/openapi.json")).send().await.unwrap().status(), 200);
    assert_eq!(server.http.post(server.url("/api/v2/openapi.json")).send().await.unwrap().status(), 405);
    assert_eq!(server.http.get(server.url("/no/such/path")).send().await.unwrap().status(), 404);
    assert_eq!(server.http.get(server.url("/api/v2x/users/me")).send().await.unwrap().status(), 404);
}

#[tokio::test]
async fn responses_carry_security_headers() {
    let server = TestServer::start().await;
    let response = server.http.get(server.url(ME)).send().await.unwrap();
    let headers = response.headers();
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["cache-control"], "no-store");
    assert!(headers["content-security-policy"].to_str().unwrap().contains("frame-ancestors 'none'"));
}

/// RFC 6750 §3.1: "If the request lacks any authentication information …, the resource server SHOULD NOT
/// include an error code or other error information" in its challenge. A token that is sent and refused
/// is still named `invalid_token`.
#[tokio::test]
async fn rfc6750_3_1_userinfo_without_a_credential_is_challenged_without_an_error_code() {
    let server = TestServer::start().await;
    let userinfo = server.url("/oauth/v2/oidc/userinfo");
    let response = server.http.get(&userinfo).send().await.unwrap();
    assert_eq!(response.status(), 401);
    let challenge = response.headers().get("www-authenticate").expect("challenge").to_str().unwrap().to_string();
    assert!(challenge.starts_with("Bearer realm="), "{challenge}");
    assert!(!challenge.contains("error"), "no error code without a credential: {challenge}");

    let response = server.http.get(&userinfo).bearer_auth("not-a-token").send().await.unwrap();
    assert_eq!(response.status(), 401);
    let challenge = response.headers().get("www-authenticate").expect("challenge").to_str().unwrap().to_string();
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
}
