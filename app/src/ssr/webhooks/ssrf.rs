//! The SSRF guard: endpoint URLs may not reach paybus's own network. Checked twice — when an
//! endpoint is saved (scheme, credentials, literal addresses, `localhost` names) and when a
//! message is sent (every address the host resolves to), and the connection goes to the address
//! that was checked (the resolver below is the client's only resolver), so a DNS answer that
//! changes between check and connect cannot smuggle in an internal address.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::Url;

/// Longest endpoint URL accepted.
pub const MAX_URL_LEN: usize = 2048;

/// Why an address may not be a webhook target; `None` when it is a public address.
pub fn forbidden_ip(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => forbidden_v6(v6),
    }
}

fn in_v4(ip: Ipv4Addr, net: [u8; 4], prefix: u32) -> bool {
    let mask = if prefix == 0 { 0 } else { u32::MAX << (32 - prefix) };
    (u32::from(ip) & mask) == (u32::from(Ipv4Addr::from(net)) & mask)
}

fn forbidden_v4(ip: Ipv4Addr) -> Option<&'static str> {
    const TABLE: &[([u8; 4], u32, &str)] = &[
        ([0, 0, 0, 0], 8, "an unspecified address"),
        ([10, 0, 0, 0], 8, "a private address"),
        ([100, 64, 0, 0], 10, "a carrier-grade NAT address"),
        ([127, 0, 0, 0], 8, "a loopback address"),
        ([169, 254, 0, 0], 16, "a link-local address"),
        ([172, 16, 0, 0], 12, "a private address"),
        ([192, 0, 0, 0], 24, "a reserved address"),
        ([192, 0, 2, 0], 24, "a documentation address"),
        ([192, 88, 99, 0], 24, "a reserved address"),
        ([192, 168, 0, 0], 16, "a private address"),
        ([198, 18, 0, 0], 15, "a benchmarking address"),
        ([198, 51, 100, 0], 24, "a documentation address"),
        ([203, 0, 113, 0], 24, "a documentation address"),
        ([224, 0, 0, 0], 4, "a multicast address"),
        ([240, 0, 0, 0], 4, "a reserved address"),
    ];
    TABLE.iter().find(|(net, prefix, _)| in_v4(ip, *net, *prefix)).map(|(_, _, why)| *why)
}

fn forbidden_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let s = ip.segments();
    // Addresses that carry an IPv4 address inside are judged by it.
    if let Some(v4) = ip.to_ipv4_mapped() {
        return forbidden_v4(v4);
    }
    if ip.is_unspecified() {
        return Some("an unspecified address");
    }
    if ip.is_loopback() {
        return Some("a loopback address");
    }
    // ::a.b.c.d (IPv4-compatible, deprecated) and 64:ff9b::a.b.c.d (NAT64).
    let embedded = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    if s[..6] == [0, 0, 0, 0, 0, 0] || s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] || s[..6] == [0x64, 0xff9b, 1, 0, 0, 0] {
        return forbidden_v4(embedded).or(Some("an address translated to IPv4"));
    }
    let first = s[0];
    if first & 0xfe00 == 0xfc00 {
        return Some("a unique-local (private) address");
    }
    if first & 0xffc0 == 0xfe80 {
        return Some("a link-local address");
    }
    if first & 0xffc0 == 0xfec0 {
        return Some("a site-local address");
    }
    if first & 0xff00 == 0xff00 {
        return Some("a multicast address");
    }
    if first == 0x2001 && s[1] == 0x0db8 {
        return Some("a documentation address");
    }
    if first == 0x2001 && s[1] == 0 {
        return Some("a Teredo tunnel address");
    }
    if first == 0x2002 {
        // 6to4: 2002:AABB:CCDD::/48 carries A.B.C.D.
        let v4 = Ipv4Addr::new((s[1] >> 8) as u8, s[1] as u8, (s[2] >> 8) as u8, s[2] as u8);
        return forbidden_v4(v4).map(|_| "a 6to4 address of a private network");
    }
    if first == 0x0100 && s[1..4] == [0, 0, 0] {
        return Some("a discard-only address");
    }
    None
}

/// Whether `host` names this machine by definition (RFC 6761: `localhost` and `*.localhost`).
fn is_localhost_name(host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    host == "localhost" || host.ends_with(".localhost") || host == "localhost.localdomain"
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlProblem {
    #[error("url is not a valid absolute URL")]
    Unparseable,
    #[error("url must be at most {MAX_URL_LEN} characters")]
    TooLong,
    #[error("url must use http or https")]
    Scheme,
    #[error("url must not contain a username or password")]
    Credentials,
    #[error("url has no host")]
    NoHost,
    #[error("url points at {0}; webhook targets must be public")]
    Forbidden(&'static str),
}

impl UrlProblem {
    pub fn code(&self) -> &'static str {
        match self {
            UrlProblem::Forbidden(_) => "url_forbidden",
            _ => "url_invalid",
        }
    }
}

/// The checks that need no DNS: run when an endpoint is created or changed, and before each send.
/// `allow_private` (`PAYBUS_ALLOW_PRIVATE_WEBHOOK_TARGETS`) lifts the address checks only.
pub fn validate_url(raw: &str, allow_private: bool) -> Result<Url, UrlProblem> {
    let raw = raw.trim();
    if raw.len() > MAX_URL_LEN {
        return Err(UrlProblem::TooLong);
    }
    let url = Url::parse(raw).map_err(|_| UrlProblem::Unparseable)?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(UrlProblem::Scheme);
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(UrlProblem::Credentials);
    }
    let host = url.host().ok_or(UrlProblem::NoHost)?;
    if allow_private {
        return Ok(url);
    }
    match host {
        url::Host::Ipv4(v4) => {
            if let Some(why) = forbidden_ip(IpAddr::V4(v4)) {
                return Err(UrlProblem::Forbidden(why));
            }
        }
        url::Host::Ipv6(v6) => {
            if let Some(why) = forbidden_ip(IpAddr::V6(v6)) {
                return Err(UrlProblem::Forbidden(why));
            }
        }
        url::Host::Domain(name) => {
            if is_localhost_name(name) {
                return Err(UrlProblem::Forbidden("a loopback address"));
            }
        }
    }
    Ok(url)
}

/// The error a guarded lookup fails with; the sender recognises it in the error chain.
#[derive(Debug, thiserror::Error)]
#[error("refused: {host} resolves to {ip}, {why}")]
pub struct Refused {
    pub host: String,
    pub ip: IpAddr,
    pub why: &'static str,
}

/// The HTTP client's resolver: the system's lookup, then every address checked. One forbidden
/// address refuses the host (a name mixing public and internal addresses is not trusted).
#[derive(Debug, Clone, Copy)]
pub struct GuardedResolver {
    pub allow_private: bool,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if !allow_private {
                for addr in &addrs {
                    if let Some(why) = forbidden_ip(addr.ip()) {
                        return Err(Box::new(Refused { host: host.clone(), ip: addr.ip(), why }) as Box<dyn std::error::Error + Send + Sync>);
                    }
                }
            }
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// The guard's refusal somewhere in an error's chain, if that is why a request failed.
pub fn refusal_in(err: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = current {
        if let Some(r) = e.downcast_ref::<Refused>() {
            return Some(r.to_string());
        }
        current = e.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_validation_table() {
        let refused = |raw: &str| validate_url(raw, false).err();
        let table: &[(&str, Option<&str>)] = &[
            ("https://hooks.example.com/paybus", None),
            ("http://hooks.example.com:8080/x?y=1", None),
            ("https://93.184.216.34/x", None),
            ("https://[2606:2800:220:1:248:1893:25c8:1946]/x", None),
            ("ftp://hooks.example.com/", Some("url_invalid")),
            ("file:///etc/passwd", Some("url_invalid")),
            ("hooks.example.com/x", Some("url_invalid")),
            ("https://user:pass@hooks.example.com/", Some("url_invalid")),
            ("http://127.0.0.1/", Some("url_forbidden")),
            ("http://127.1.2.3:9000/", Some("url_forbidden")),
            ("http://[::1]/", Some("url_forbidden")),
            ("http://10.0.0.1/", Some("url_forbidden")),
            ("http://172.16.5.4/", Some("url_forbidden")),
            ("http://172.31.255.255/", Some("url_forbidden")),
            ("http://192.168.1.1/", Some("url_forbidden")),
            ("http://169.254.169.254/latest/meta-data/", Some("url_forbidden")),
            ("http://100.64.0.1/", Some("url_forbidden")),
            ("http://0.0.0.0/", Some("url_forbidden")),
            ("http://[::]/", Some("url_forbidden")),
            ("http://[fc00::1]/", Some("url_forbidden")),
            ("http://[fd12:3456::1]/", Some("url_forbidden")),
            ("http://[fe80::1]/", Some("url_forbidden")),
            ("http://[::ffff:127.0.0.1]/", Some("url_forbidden")),
            ("http://[::ffff:10.0.0.1]/", Some("url_forbidden")),
            ("http://[::ffff:169.254.169.254]/", Some("url_forbidden")),
            ("http://[64:ff9b::a9fe:a9fe]/", Some("url_forbidden")),
            ("http://[2002:7f00:1::]/", Some("url_forbidden")),
            ("http://2130706433/", Some("url_forbidden")),
            ("http://0x7f.0.0.1/", Some("url_forbidden")),
            ("http://localhost:3000/", Some("url_forbidden")),
            ("http://LOCALHOST./", Some("url_forbidden")),
            ("http://api.localhost/", Some("url_forbidden")),
        ];
        for (raw, expected) in table {
            assert_eq!(refused(raw).map(|p| p.code()), *expected, "{raw}");
        }
        assert_eq!(validate_url(&format!("https://x.example.com/{}", "a".repeat(3000)), false), Err(UrlProblem::TooLong));
    }

    #[test]
    fn the_allow_flag_lifts_the_address_checks_but_not_the_scheme_rules() {
        assert!(validate_url("http://127.0.0.1:9000/hook", true).is_ok());
        assert!(validate_url("http://localhost/hook", true).is_ok());
        assert_eq!(validate_url("ftp://127.0.0.1/", true), Err(UrlProblem::Scheme));
    }

    #[test]
    fn public_addresses_pass_and_internal_ones_name_their_kind() {
        for ip in ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "100.128.0.1", "172.32.0.1"] {
            assert_eq!(forbidden_ip(ip.parse().unwrap()), None, "{ip}");
        }
        assert_eq!(forbidden_ip("169.254.169.254".parse().unwrap()), Some("a link-local address"));
        assert_eq!(forbidden_ip("::ffff:192.168.0.1".parse().unwrap()), Some("a private address"));
        assert_eq!(forbidden_ip("ff02::1".parse().unwrap()), Some("a multicast address"));
    }

    #[tokio::test]
    async fn the_resolver_refuses_a_name_that_resolves_to_loopback() {
        use reqwest::dns::Resolve;
        let name: reqwest::dns::Name = "localhost".parse().unwrap();
        let err = match (GuardedResolver { allow_private: false }).resolve(name).await {
            Err(e) => e,
            Ok(_) => panic!("localhost must be refused"),
        };
        assert!(refusal_in(err.as_ref()).unwrap().contains("loopback"), "{err}");
        let name: reqwest::dns::Name = "localhost".parse().unwrap();
        assert!((GuardedResolver { allow_private: true }).resolve(name).await.is_ok());
    }
}
