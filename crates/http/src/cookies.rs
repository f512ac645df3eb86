//! Cookies (RFC 6265), read and written with the `cookie` crate: reading a named cookie from the request,
//! and the browser session's `Set-Cookie`.

use axum::http::header::InvalidHeaderValue;
use axum::http::{HeaderMap, HeaderValue, header};
use cookie::{Cookie, SameSite};

/// Every value of the cookie `name`, in the order the request sent them. A browser may send one name
/// twice (two paths, or a stale cookie beside a fresh one, RFC 6265 §5.4), so the caller tries each.
/// `Cookie` headers that are not text, and pairs the crate cannot parse, are skipped: a broken cookie of
/// another site's script must not hide ours.
pub fn named(headers: &HeaderMap, name: &str) -> Vec<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .filter(|cookie| cookie.name() == name)
        .map(|cookie| cookie.value().to_string())
        .collect()
}

/// The session cookie's name. `__Host-` (RFC 6265bis §4.1.3.2) binds it to this host and path `/`, so a
/// sibling subdomain cannot plant one; browsers accept the prefix only on a `Secure` cookie, so it is used
/// only under an https issuer.
pub fn session_name(secure: bool) -> &'static str {
    if secure { "__Host-gatehouse_session" } else { "gatehouse_session" }
}

/// The pre-login cookie's name (see `gatehouse_domain::oauth::prelogin`), prefixed like the session's.
pub fn prelogin_name(secure: bool) -> &'static str {
    if secure { "__Host-gatehouse_prelogin" } else { "gatehouse_prelogin" }
}

/// `Set-Cookie` for a browser session: no script reads it (`HttpOnly`), cross-site subrequests and posts do
/// not carry it (`SameSite=Lax`), the whole authorization endpoint sees it (`Path=/`), and it ends with the
/// session (`Max-Age`). `Secure` under an https issuer.
pub fn session_set_cookie(secure: bool, value: &str, max_age_secs: i64) -> Result<HeaderValue, InvalidHeaderValue> {
    set_cookie(session_name(secure), secure, value, max_age_secs)
}

/// `Set-Cookie` for a pre-login cookie, with the same attributes as the session's.
pub fn prelogin_set_cookie(secure: bool, value: &str, max_age_secs: i64) -> Result<HeaderValue, InvalidHeaderValue> {
    set_cookie(prelogin_name(secure), secure, value, max_age_secs)
}

/// The one-time reveal cookie's name (see `console::page::Reveal`), prefixed like the session's.
pub fn reveal_name(secure: bool) -> &'static str {
    if secure { "__Host-gatehouse_reveal" } else { "gatehouse_reveal" }
}

/// How long a sealed new secret waits for the page the redirect leads to.
const REVEAL_MAX_AGE_SECS: i64 = 120;

/// `Set-Cookie` carrying a sealed new secret across one redirect. `SameSite=Strict`: only a navigation
/// within this site reads it.
pub fn reveal_set_cookie(secure: bool, sealed: &str) -> Result<HeaderValue, InvalidHeaderValue> {
    build(reveal_name(secure), secure, sealed, REVEAL_MAX_AGE_SECS, SameSite::Strict)
}

/// `Set-Cookie` that deletes the reveal cookie once its page has been shown.
pub fn reveal_clear_cookie(secure: bool) -> Result<HeaderValue, InvalidHeaderValue> {
    build(reveal_name(secure), secure, "", 0, SameSite::Strict)
}

/// The password-reset cookie's name (see `console::password_reset`), prefixed like the session's.
pub fn reset_name(secure: bool) -> &'static str {
    if secure { "__Host-gatehouse_reset" } else { "gatehouse_reset" }
}

/// A reset link works 30 minutes; its secret in a cookie never outlives that.
const RESET_MAX_AGE_SECS: i64 = 30 * 60;

/// `Set-Cookie` carrying a reset link's secret out of the address bar, to the page that sets the password.
/// `SameSite=Lax`, not `Strict`: the link is opened from a mail client, a cross-site navigation, and the
/// redirect that follows belongs to it; the form's post is same-site either way.
pub fn reset_set_cookie(secure: bool, secret: &str) -> Result<HeaderValue, InvalidHeaderValue> {
    build(reset_name(secure), secure, secret, RESET_MAX_AGE_SECS, SameSite::Lax)
}

/// `Set-Cookie` that deletes the reset cookie once the password is set.
pub fn reset_clear_cookie(secure: bool) -> Result<HeaderValue, InvalidHeaderValue> {
    build(reset_name(secure), secure, "", 0, SameSite::Lax)
}

/// `Set-Cookie` that deletes the session cookie (signing out).
pub fn session_clear_cookie(secure: bool) -> Result<HeaderValue, InvalidHeaderValue> {
    build(session_name(secure), secure, "", 0, SameSite::Lax)
}

fn set_cookie(name: &'static str, secure: bool, value: &str, max_age_secs: i64) -> Result<HeaderValue, InvalidHeaderValue> {
    build(name, secure, value, max_age_secs, SameSite::Lax)
}

fn build(name: &'static str, secure: bool, value: &str, max_age_secs: i64, same_site: SameSite) -> Result<HeaderValue, InvalidHeaderValue> {
    let max_age = cookie::time::Duration::seconds(max_age_secs);
    let cookie = Cookie::build((name, value))
        .path("/")
        .http_only(true)
        .same_site(same_site)
        .max_age(max_age)
        .secure(secure)
        .build();
    HeaderValue::from_str(&cookie.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&[u8]]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(header::COOKIE, HeaderValue::from_bytes(value).expect("a header value"));
        }
        headers
    }

    #[test]
    fn a_named_cookie_is_found_among_others_and_across_headers() {
        let request = headers(&[b"theme=dark; gatehouse_session=abc", b"gatehouse_session=def;other=1"]);
        assert_eq!(named(&request, "gatehouse_session"), ["abc", "def"]);
        assert_eq!(named(&request, "theme"), ["dark"]);
        assert!(named(&request, "missing").is_empty());
    }

    #[test]
    fn names_are_case_sensitive_and_prefixes_distinct() {
        let request = headers(&[b"Gatehouse_Session=a; __Host-gatehouse_session=b"]);
        assert!(named(&request, "gatehouse_session").is_empty());
        assert_eq!(named(&request, "__Host-gatehouse_session"), ["b"]);
    }

    #[test]
    fn broken_pairs_and_non_text_headers_are_skipped() {
        let request = headers(&[b"=nameless; novalue; gatehouse_session=ok", b"gatehouse_session=\xff"]);
        assert_eq!(named(&request, "gatehouse_session"), ["ok"]);
    }

    #[test]
    fn the_session_cookie_is_http_only_lax_path_root_with_max_age() {
        let value = session_set_cookie(false, "secret", 3600).expect("a header value");
        let cookie = Cookie::parse(value.to_str().expect("text")).expect("a cookie");
        assert_eq!((cookie.name(), cookie.value()), ("gatehouse_session", "secret"));
        assert_eq!(cookie.http_only(), Some(true));
        assert_eq!(cookie.same_site(), Some(SameSite::Lax));
        assert_eq!(cookie.path(), Some("/"));
        assert_eq!(cookie.max_age(), Some(cookie::time::Duration::seconds(3600)));
        assert_eq!(cookie.secure(), None, "no Secure over plain http: the browser would drop the cookie");
    }

    #[test]
    fn the_reveal_cookie_is_strict_short_lived_and_clearable() {
        let value = reveal_set_cookie(true, "sealed").expect("a header value");
        let cookie = Cookie::parse(value.to_str().expect("text")).expect("a cookie");
        assert_eq!((cookie.name(), cookie.value()), ("__Host-gatehouse_reveal", "sealed"));
        assert_eq!(cookie.same_site(), Some(SameSite::Strict));
        assert_eq!((cookie.http_only(), cookie.secure()), (Some(true), Some(true)));
        assert_eq!(cookie.max_age(), Some(cookie::time::Duration::seconds(REVEAL_MAX_AGE_SECS)));
        let cleared = Cookie::parse(reveal_clear_cookie(false).expect("a value").to_str().expect("text").to_string()).expect("a cookie");
        assert_eq!((cleared.name(), cleared.value()), ("gatehouse_reveal", ""));
        assert_eq!(cleared.max_age(), Some(cookie::time::Duration::ZERO));
    }

    #[test]
    fn under_https_the_session_cookie_is_secure_and_host_prefixed() {
        let value = session_set_cookie(true, "secret", 60).expect("a header value");
        let cookie = Cookie::parse(value.to_str().expect("text")).expect("a cookie");
        assert_eq!(cookie.name(), "__Host-gatehouse_session");
        assert_eq!(cookie.secure(), Some(true));
        assert_eq!(cookie.path(), Some("/"), "__Host- requires Path=/");
        assert_eq!(cookie.domain(), None, "__Host- forbids Domain");
    }
}
