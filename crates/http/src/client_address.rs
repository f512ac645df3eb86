//! Who is at the other end: the socket's peer, unless the peer is a proxy the operator trusts, in which
//! case the address that proxy saw, read from `Forwarded` (RFC 7239) or `X-Forwarded-For` from the right,
//! skipping every hop that is itself trusted. A header from an untrusted peer is whatever an attacker
//! wants it to be, so it is never read.

use std::net::IpAddr;

use axum::http::HeaderMap;
use forwarded_header_value::{ForwardedHeaderValue, Identifier};
use ipnet::IpNet;

/// The proxies whose forwarding headers are believed. Loopback by default: a proxy on the same host.
#[derive(Debug, Clone)]
pub struct TrustedProxies(Vec<IpNet>);

impl Default for TrustedProxies {
    fn default() -> Self {
        Self::loopback()
    }
}

impl TrustedProxies {
    pub fn loopback() -> Self {
        let nets = ["127.0.0.0/8", "::1/128"].iter().filter_map(|text| text.parse().ok()).collect();
        Self(nets)
    }

    pub fn none() -> Self {
        Self(Vec::new())
    }

    /// Addresses or CIDR ranges (`10.0.0.0/8`, `192.0.2.7`, `::1`). The error names the entry.
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<Self, String> {
        let mut nets = Vec::with_capacity(entries.len());
        for entry in entries {
            let text = entry.as_ref().trim();
            let net = match text.parse::<IpNet>() {
                Ok(net) => net,
                Err(_) => text
                    .parse::<IpAddr>()
                    .map(IpNet::from)
                    .map_err(|_| format!("{text:?} is not an IP address or a CIDR range (e.g. 10.0.0.0/8)"))?,
            };
            nets.push(net);
        }
        Ok(Self(nets))
    }

    pub fn contains(&self, address: IpAddr) -> bool {
        let address = canonical(address);
        self.0.iter().any(|net| net.contains(&address))
    }
}

/// An IPv4-mapped IPv6 address is the IPv4 address it maps.
fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
        v4 => v4,
    }
}

/// The hops a request passed through, nearest last, as the forwarding headers list them.
fn forwarded_hops(headers: &HeaderMap) -> Vec<IpAddr> {
    let forwarded: Vec<IpAddr> = headers
        .get_all("forwarded")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .filter_map(|text| ForwardedHeaderValue::from_forwarded(text).ok())
        .flat_map(|value| {
            value
                .iter()
                .filter_map(|stanza| match &stanza.forwarded_for {
                    Some(Identifier::SocketAddr(address)) => Some(address.ip()),
                    Some(Identifier::IpAddr(address)) => Some(*address),
                    _ => None,
                })
                .collect::<Vec<_>>()
        })
        .collect();
    if !forwarded.is_empty() {
        return forwarded;
    }
    headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|text| text.split(','))
        .filter_map(|hop| {
            let hop = hop.trim();
            hop.parse::<IpAddr>()
                .ok()
                .or_else(|| hop.parse::<std::net::SocketAddr>().ok().map(|address| address.ip()))
        })
        .collect()
}

/// The client's address: walks from the peer back through trusted proxies only.
pub fn client_address(peer: IpAddr, headers: &HeaderMap, trusted: &TrustedProxies) -> IpAddr {
    let peer = canonical(peer);
    if !trusted.contains(peer) {
        return peer;
    }
    let mut client = peer;
    for hop in forwarded_hops(headers).into_iter().rev() {
        client = canonical(hop);
        if !trusted.contains(client) {
            break;
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, value.parse().expect("header value"));
        }
        map
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("address")
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_claims() {
        let trusted = TrustedProxies::loopback();
        let claims = headers(&[("x-forwarded-for", "1.2.3.4"), ("forwarded", "for=5.6.7.8")]);
        assert_eq!(client_address(ip("203.0.113.9"), &claims, &trusted), ip("203.0.113.9"));
    }

    #[test]
    fn behind_a_trusted_proxy_the_rightmost_untrusted_hop_is_the_client() {
        let trusted = TrustedProxies::parse(&["127.0.0.1", "10.0.0.0/8"]).expect("valid");
        // The attacker prepends a spoofed address; the proxies append what they saw.
        let chain = headers(&[("x-forwarded-for", "6.6.6.6, 198.51.100.4, 10.1.2.3")]);
        assert_eq!(client_address(ip("127.0.0.1"), &chain, &trusted), ip("198.51.100.4"));
    }

    #[test]
    fn forwarded_is_read_before_x_forwarded_for_rfc7239() {
        let trusted = TrustedProxies::loopback();
        let both = headers(&[("forwarded", "for=198.51.100.4;proto=https"), ("x-forwarded-for", "6.6.6.6")]);
        assert_eq!(client_address(ip("127.0.0.1"), &both, &trusted), ip("198.51.100.4"));
        let v6 = headers(&[("forwarded", "for=\"[2001:db8::1]:4711\"")]);
        assert_eq!(client_address(ip("::1"), &v6, &trusted), ip("2001:db8::1"));
    }

    #[test]
    fn garbage_in_the_headers_leaves_the_peer() {
        let trusted = TrustedProxies::loopback();
        let junk = headers(&[("x-forwarded-for", "not-an-address, ")]);
        assert_eq!(client_address(ip("127.0.0.1"), &junk, &trusted), ip("127.0.0.1"));
        assert!(TrustedProxies::parse(&["10.0.0.0/33"]).is_err());
        assert!(TrustedProxies::parse(&["example.com"]).is_err());
    }

    #[test]
    fn ipv4_mapped_peers_match_ipv4_ranges() {
        let trusted = TrustedProxies::loopback();
        assert!(trusted.contains(ip("::ffff:127.0.0.1")));
    }
}
