//! Redirect-URI registration and matching (domain/oauth/client.rs). Invariants: no panic; what is
//! accepted round-trips byte for byte and matches only itself (RFC 9700 §4.1.3), and an accepted `http` URI
//! reaches a loopback host as a browser's WHATWG parser reads it (RFC 8252 §7.3).
#![no_main]

use gatehouse_domain::oauth::client::RedirectUri;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(uri) = RedirectUri::parse(text) else { return };
    assert_eq!(uri.as_str(), text);
    if text.starts_with("http:") {
        let parsed = url::Url::parse(text).ok();
        let host = parsed.as_ref().and_then(|url| url.host_str().map(str::to_owned));
        assert!(
            matches!(host.as_deref(), Some("127.0.0.1" | "[::1]" | "localhost")),
            "accepted {text:?} but a browser would go to {host:?}"
        );
    }
    if text.starts_with("https:") {
        let parsed = url::Url::parse(text);
        assert!(parsed.as_ref().is_ok_and(|url| url.host_str().is_some_and(|h| !h.is_empty())), "accepted {text:?}, unparseable by a browser");
    }
});
