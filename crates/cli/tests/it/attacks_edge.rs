//! Issue 10, attacked from outside as an attacker would, over raw sockets where the attack lives below
//! HTTP: slow clients (hole 5), refused bodies that must still be answered (hole 11), a redirect URI that a
//! browser reads differently (hole 8), and anonymous requests that must not write (hole 6).

use std::time::{Duration, Instant};

use gatehouse_domain::oauth::{NewClient, RedirectUri};
use gatehouse_http::EdgeLimits;
use reqwest::Method;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::harness::{ClockExt, TestServer, json};
use crate::oauth::support::*;

/// Short bounds, so that every attack is over in a second or two.
const EDGE: EdgeLimits = EdgeLimits {
    header_read_timeout: Duration::from_millis(500),
    idle_timeout: Duration::from_secs(2),
    request_timeout: Duration::from_secs(1),
    max_connections: 48,
    drain_bytes: 16 * 1024 * 1024,
};

/// For the refusals, which must come at once: a request timeout far beyond the bound they are held to, so
/// that a 408 can never pass for one and a slow machine cannot cut the drain short.
const PATIENT: EdgeLimits = EdgeLimits { request_timeout: Duration::from_secs(5), idle_timeout: Duration::from_secs(5), ..EDGE };

async fn connect(server: &TestServer) -> TcpStream {
    TcpStream::connect(server.base.trim_start_matches("http://")).await.unwrap()
}

/// Reads until the server closes the connection (EOF or reset) and returns what it sent, or `None` if the
/// connection is still open after `limit`.
async fn read_until_closed(stream: &mut (impl AsyncReadExt + Unpin), limit: Duration) -> Option<String> {
    let mut received = Vec::new();
    let read = tokio::time::timeout(limit, async {
        let mut buffer = [0u8; 4096];
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => received.extend_from_slice(&buffer[..n]),
            }
        }
    })
    .await;
    read.ok().map(|()| String::from_utf8_lossy(&received).into_owned())
}

/// Reads until a whole response head has arrived (or the connection ends) and returns the text so far.
async fn read_head(stream: &mut tokio::net::tcp::OwnedReadHalf, limit: Duration) -> String {
    let mut received = Vec::new();
    let _ = tokio::time::timeout(limit, async {
        let mut buffer = [0u8; 4096];
        while !received.windows(4).any(|w| w == b"\r\n\r\n") {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => received.extend_from_slice(&buffer[..n]),
            }
        }
    })
    .await;
    String::from_utf8_lossy(&received).into_owned()
}

#[tokio::test]
async fn hole5_partial_request_lines_are_cut_off_connections_are_capped_and_health_keeps_answering() {
    let server = TestServer::start_with_edge(EDGE).await;
    // A client connected before the flood, kept alive.
    let health = server.url("/health");
    assert_eq!(server.http.get(&health).send().await.unwrap().status(), 200);

    let mut slow = Vec::new();
    for _ in 0..120 {
        let mut stream = connect(&server).await;
        stream.write_all(b"GET /health HT").await.unwrap();
        slow.push(stream);
    }
    assert_eq!(server.http.get(&health).send().await.unwrap().status(), 200, "the already-connected client is served");
    assert!(server.open_connections() <= EDGE.max_connections, "{} connections served at once", server.open_connections());

    // Every partial request is cut off, a batch of connections per header timeout.
    let started = Instant::now();
    for stream in &mut slow {
        let closed = read_until_closed(stream, Duration::from_secs(6).saturating_sub(started.elapsed())).await;
        assert!(closed.is_some(), "a partial request line was still held after {:?}", started.elapsed());
        assert!(server.open_connections() <= EDGE.max_connections);
    }
    let fresh = reqwest::Client::new();
    assert_eq!(fresh.get(&health).send().await.unwrap().status(), 200, "a new client is served once the flood is cut off");
}

#[tokio::test]
async fn hole5_drip_fed_headers_are_closed_within_the_header_timeout() {
    let server = TestServer::start_with_edge(EDGE).await;
    let mut stream = connect(&server).await;
    stream.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n").await.unwrap();
    let started = Instant::now();
    // One byte of a header every 100 ms: the connection is never idle, but its headers never end.
    let mut closed_after = None;
    for byte in b"X-Drip: ".iter().cycle().take(40) {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if stream.write_all(&[*byte]).await.is_err() {
            closed_after = Some(started.elapsed());
            break;
        }
        let mut buffer = [0u8; 256];
        if let Ok(Ok(0) | Err(_)) = tokio::time::timeout(Duration::from_millis(1), stream.read(&mut buffer)).await {
            closed_after = Some(started.elapsed());
            break;
        }
    }
    let closed_after = closed_after.expect("the server still reads drip-fed headers after 4 s");
    assert!(closed_after < EDGE.header_read_timeout * 3, "closed after {closed_after:?}");
}

/// Sends the head of a form post declaring `declared` bytes, then its body a byte every 100 ms: never idle,
/// never done. Returns what the server answered before closing, and when it closed.
async fn partial_body(server: &TestServer, path: &str, declared: u64) -> (String, Duration) {
    let (mut reader, mut writer) = connect(server).await.into_split();
    let head = format!("POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {declared}\r\n\r\n");
    writer.write_all(head.as_bytes()).await.unwrap();
    let dripping = tokio::spawn(async move {
        for _ in 0..declared - 1 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if writer.write_all(b"a").await.is_err() {
                break;
            }
        }
    });
    let started = Instant::now();
    let answer = read_until_closed(&mut reader, Duration::from_secs(4)).await;
    dripping.abort();
    let answer = answer.unwrap_or_else(|| panic!("{path}: a trickled body was still being read after 4 s"));
    (answer, started.elapsed())
}

#[tokio::test]
async fn hole5_a_partial_body_on_the_token_endpoint_and_the_login_form_is_cut_off() {
    let server = TestServer::start_with_edge(EDGE).await;
    for path in ["/oauth/v2/token", "/oauth/v2/authorize/login"] {
        let (answer, after) = partial_body(&server, path, 100).await;
        assert!(after < EDGE.request_timeout * 2, "{path}: cut off after {after:?}");
        assert!(answer.is_empty() || answer.starts_with("HTTP/1.1 408"), "{path}: {answer}");
    }
}

#[tokio::test]
async fn hole5_a_declared_100_mb_body_is_refused_at_once_in_each_surfaces_format_rfc6749_5_2() {
    let server = TestServer::start_with_edge(PATIENT).await;
    for (path, json_error) in [("/oauth/v2/token", true), ("/oauth/v2/revoke", true), ("/oauth/v2/authorize/login", false)] {
        let mut stream = connect(&server).await;
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\nOrigin: https://spa.example\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 104857600\r\nConnection: close\r\n\r\n"
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        let (mut reader, _writer) = stream.into_split();
        let started = Instant::now();
        let head = read_head(&mut reader, Duration::from_secs(3)).await;
        assert!(started.elapsed() < Duration::from_secs(2), "{path}: answered after {:?}", started.elapsed());
        assert!(head.starts_with("HTTP/1.1 413"), "{path}: {head}");
        let mut rest = Vec::new();
        let _ = tokio::time::timeout(Duration::from_millis(300), reader.read_to_end(&mut rest)).await;
        let text = format!("{head}{}", String::from_utf8_lossy(&rest));
        if json_error {
            assert!(text.contains("\"error\":\"invalid_request\""), "{path}: {text}");
            assert!(text.to_ascii_lowercase().contains("access-control-allow-origin: *"), "{path}: a browser's script cannot read it: {text}");
            assert!(text.contains("error_description"), "{path}: {text}");
        } else {
            assert!(text.to_ascii_lowercase().contains("content-type: text/html"), "{path}: {text}");
        }
    }
}

#[tokio::test]
async fn hole5_an_undeclared_oversized_body_is_refused_in_rfc6749_form_too() {
    let server = TestServer::start_with_edge(EDGE).await;
    let body = vec![b'a'; 100 * 1024];
    let stream = futures_util::stream::iter(body.chunks(8 * 1024).map(|chunk| Ok::<_, std::io::Error>(chunk.to_vec())).collect::<Vec<_>>());
    let response = server
        .http
        .post(server.url("/oauth/v2/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .unwrap();
    let (status, error) = json(response).await;
    assert_eq!(status, 413, "{error}");
    assert_eq!(error["error"], "invalid_request", "{error}");
}

/// Writes a body of `size` bytes, declared up front or chunked, while reading; returns the response head.
async fn refused_while_writing(server: &TestServer, path: &str, headers: &str, size: usize, chunked: bool) -> String {
    let stream = connect(server).await;
    let (mut reader, mut writer) = stream.into_split();
    let framing = if chunked { "Transfer-Encoding: chunked".to_string() } else { format!("Content-Length: {size}") };
    let head = format!("POST {path} HTTP/1.1\r\nHost: x\r\n{headers}{framing}\r\n\r\n");
    writer.write_all(head.as_bytes()).await.unwrap();
    // The writer goes on as fetch does, whatever the server answers; a write error ends it.
    let writing = tokio::spawn(async move {
        let chunk = vec![b'a'; 64 * 1024];
        let mut sent = 0;
        while sent < size {
            let part = &chunk[..chunk.len().min(size - sent)];
            let framed = if chunked { [format!("{:x}\r\n", part.len()).as_bytes(), part, b"\r\n"].concat() } else { part.to_vec() };
            if writer.write_all(&framed).await.is_err() {
                return Err(sent);
            }
            sent += part.len();
        }
        if chunked && writer.write_all(b"0\r\n\r\n").await.is_err() {
            return Err(sent);
        }
        Ok(writer)
    });
    let head = read_head(&mut reader, Duration::from_secs(5)).await;
    let written = writing.await.unwrap();
    assert!(written.is_ok(), "{path}: the connection was reset after {:?} bytes", written.err());
    head
}

#[tokio::test]
async fn hole11_a_refused_8_mb_body_still_gets_its_413_rfc9110_15_5_14() {
    let server = TestServer::start_with_edge(PATIENT).await;
    let eight_mb = 8 * 1024 * 1024;
    for (path, content_type) in [
        ("/api/v2/users/me/api-tokens", "application/json"),
        ("/oauth/v2/token", "application/x-www-form-urlencoded"),
        ("/oauth/v2/authorize/login", "application/x-www-form-urlencoded"),
    ] {
        let head = refused_while_writing(&server, path, &format!("Content-Type: {content_type}\r\n"), eight_mb, false).await;
        assert!(head.starts_with("HTTP/1.1 413"), "{path}: {head:?}");
    }
}

#[tokio::test]
async fn hole11_a_chunked_body_refused_while_being_read_still_gets_its_413() {
    let server = TestServer::start_with_edge(PATIENT).await;
    let user = server.user("ada@example.com", false).await;
    let token = server.token(&user, &["user:write"]).await;
    for (path, headers) in [
        ("/api/v2/users/me/api-tokens", format!("Content-Type: application/json\r\nAuthorization: Token {token}\r\n")),
        ("/oauth/v2/token", "Content-Type: application/x-www-form-urlencoded\r\n".to_string()),
    ] {
        let head = refused_while_writing(&server, path, &headers, 8 * 1024 * 1024, true).await;
        assert!(head.starts_with("HTTP/1.1 413"), "{path}: {head:?}");
    }
}

#[tokio::test]
async fn hole8_a_backslash_redirect_uri_is_refused_at_registration_and_at_authorization_rfc9700_4_1_3() {
    let world = world().await;
    let owner = crate::harness::TestUser { id: world.user };
    // Filing a client request is a write (user:write, issue 10 hole 4).
    let token = world.server.token(&owner, &["user:read", "user:write"]).await;
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
    gatehouse_store::copy::open(&server.database_url, gatehouse_store::OpenMode::MustExist).await.unwrap().count_rows("oauth_sessions").await.unwrap()
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

#[tokio::test]
async fn hole6_a_prelogin_cookie_from_one_node_opens_on_another_sharing_the_store() {
    let world = world().await;
    let node_b = world.server.another_node().await;
    let url = authorize_url(&world, &world.confidential, "openid user:read", &[]);
    // Node B signs its first cookie before node A has needed the key: both must settle on the stored one.
    let from_b = node_b.http.get(node_b.url(url.trim_start_matches(&world.server.base))).send().await.unwrap();
    let cookie = from_b.headers().get("set-cookie").unwrap().to_str().unwrap().split(';').next().unwrap().to_string();
    let page = from_b.text().await.unwrap();
    let body = form(&[("csrf", &hidden(&page, "csrf")), ("request", &hidden(&page, "request")), ("email", &world.email), ("password", PASSWORD)]);
    let on_a = world
        .server
        .http
        .post(world.server.url("/oauth/v2/authorize/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("cookie", cookie)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(on_a.status(), 200);
    assert!(on_a.text().await.unwrap().contains("name=\"decision\""), "node A opened node B's cookie");
}
