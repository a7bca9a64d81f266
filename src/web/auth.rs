//! Who may talk to the web server: bearer token or basic auth (Argon2 PHC hash) when configured,
//! on every route but `/healthz`; a Host check against DNS rebinding when there is no auth;
//! cross-site protection for state-changing requests (Origin, Sec-Fetch-Site) and the per-daemon
//! CSRF token the HTML forms carry. It must not render pages or touch the store.

use crate::config::Daemon;
/// Kept for callers that hash through `web::auth`; the home is `crate::password`.
pub use crate::password::hash_password;
use axum::http::{HeaderMap, Method, header};
use subtle::ConstantTimeEq;

/// Constant-time equality of two secrets (length leaks, content does not).
pub fn secret_eq(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No or wrong credentials: 401 with a challenge.
    Unauthorized,
    /// A cross-site or rebinding attempt: 403.
    Forbidden(&'static str),
}

/// Checks the credentials of a request against the daemon's auth settings. `Ok` when auth is
/// not configured or the request carries a valid token or user/password.
pub fn check_credentials(daemon: &Daemon, headers: &HeaderMap) -> Result<(), Refusal> {
    if !daemon.auth_required() {
        return Ok(());
    }
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return Err(Refusal::Unauthorized);
    };
    let (scheme, rest) = value.trim().split_once(' ').unwrap_or((value, ""));
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        if let Some(t) = &daemon.auth_token
            && secret_eq(rest, t.expose())
        {
            return Ok(());
        }
        return Err(Refusal::Unauthorized);
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let Some(basic) = &daemon.basic_auth else {
            return Err(Refusal::Unauthorized);
        };
        use base64::Engine;
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(rest)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or(Refusal::Unauthorized)?;
        let (user, password) = decoded.split_once(':').ok_or(Refusal::Unauthorized)?;
        // verify the password even for a wrong user, so timing does not reveal user names
        let password_ok = verify_password(password, basic.password_hash.expose());
        if secret_eq(user, &basic.user) && password_ok {
            return Ok(());
        }
    }
    Err(Refusal::Unauthorized)
}

fn verify_password(password: &str, phc: &str) -> bool {
    use argon2::PasswordVerifier;
    let Ok(hash) = argon2::PasswordHash::new(phc) else {
        return false;
    };
    argon2::Argon2::default()
        .verify_password(password.as_bytes(), &hash)
        .is_ok()
}

/// The challenge for a 401.
pub fn challenge(daemon: &Daemon) -> &'static str {
    if daemon.basic_auth.is_some() {
        "Basic realm=\"ledgerd\", charset=\"UTF-8\""
    } else {
        "Bearer realm=\"ledgerd\""
    }
}

/// Without auth the server trusts loopback; a browser tricked by DNS rebinding would still send
/// a foreign Host name, so only loopback addresses and `localhost` are accepted as Host then.
pub fn check_host(daemon: &Daemon, headers: &HeaderMap) -> Result<(), Refusal> {
    if daemon.auth_required() {
        return Ok(());
    }
    let Some(host) = headers.get(header::HOST).and_then(|v| v.to_str().ok()) else {
        return Ok(()); // HTTP/1.0 clients without Host: not a browser
    };
    if host_is_loopback(host) {
        Ok(())
    } else {
        Err(Refusal::Forbidden(
            "Host is not a loopback name; without daemon.auth_token_file the server only answers loopback names",
        ))
    }
}

fn host_is_loopback(host: &str) -> bool {
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else {
        host.rsplit_once(':').map_or(host, |(h, _)| h)
    };
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// State-changing requests must come from this origin: a cross-site `Sec-Fetch-Site`, or an
/// `Origin` that is not this server's Host, is refused.
pub fn check_same_origin(method: &Method, headers: &HeaderMap) -> Result<(), Refusal> {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(());
    }
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok())
        && !matches!(site, "same-origin" | "none")
    {
        return Err(Refusal::Forbidden("cross-site request refused"));
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("null");
        let host = headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let origin_host = origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"))
            .unwrap_or("");
        if origin_host.is_empty() || !origin_host.eq_ignore_ascii_case(host) {
            return Err(Refusal::Forbidden("cross-origin request refused"));
        }
    }
    Ok(())
}

/// A fresh random CSRF token (hex, 128 bits), made once per daemon start and kept in memory.
pub fn new_csrf_token() -> String {
    use rand::RngCore;
    let mut b = [0u8; 16];
    rand::rng().fill_bytes(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn daemon(token: Option<&str>, basic: Option<(&str, &str)>) -> Daemon {
        Daemon {
            listen: "127.0.0.1:9477".parse().unwrap(),
            state_dir: "/tmp".into(),
            host: "h".into(),
            concurrency: 1,
            retention: Default::default(),
            dashboard_url: String::new(),
            default_timeout: std::time::Duration::from_secs(1),
            auth_token: token.map(crate::redact::Secret::new),
            basic_auth: basic.map(|(u, p)| crate::config::BasicAuth {
                user: u.into(),
                password_hash: crate::redact::Secret::new(hash_password(p).unwrap()),
            }),
            root: None,
        }
    }

    fn h(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut m = HeaderMap::new();
        for (k, v) in pairs {
            m.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        m
    }

    #[test]
    fn bearer_and_basic() {
        let d = daemon(Some("0123456789abcdef"), Some(("ana", "pw")));
        assert_eq!(check_credentials(&d, &h(&[])), Err(Refusal::Unauthorized));
        assert!(check_credentials(&d, &h(&[("authorization", "Bearer 0123456789abcdef")])).is_ok());
        assert!(
            check_credentials(&d, &h(&[("authorization", "Bearer 0123456789abcdeX")])).is_err()
        );
        // ana:pw
        assert!(check_credentials(&d, &h(&[("authorization", "Basic YW5hOnB3")])).is_ok());
        // ana:px
        assert!(check_credentials(&d, &h(&[("authorization", "Basic YW5hOnB4")])).is_err());
        assert!(check_credentials(&daemon(None, None), &h(&[])).is_ok());
        assert!(
            crate::password::check_password_hash(
                "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"
            )
            .is_ok()
        );
        assert!(crate::password::check_password_hash("hunter2").is_err());
    }

    #[test]
    fn cross_site_and_rebinding() {
        let post = Method::POST;
        let same = h(&[
            ("host", "127.0.0.1:9477"),
            ("origin", "http://127.0.0.1:9477"),
        ]);
        assert!(check_same_origin(&post, &same).is_ok());
        let evil = h(&[
            ("host", "127.0.0.1:9477"),
            ("origin", "https://evil.example"),
        ]);
        assert!(check_same_origin(&post, &evil).is_err());
        let null = h(&[("host", "127.0.0.1:9477"), ("origin", "null")]);
        assert!(check_same_origin(&post, &null).is_err());
        let site = h(&[("sec-fetch-site", "cross-site")]);
        assert!(check_same_origin(&post, &site).is_err());
        assert!(check_same_origin(&Method::GET, &site).is_ok());
        let d = daemon(None, None);
        assert!(check_host(&d, &h(&[("host", "localhost:9477")])).is_ok());
        assert!(check_host(&d, &h(&[("host", "[::1]:9477")])).is_ok());
        assert!(check_host(&d, &h(&[("host", "evil.example:9477")])).is_err());
        assert!(
            check_host(
                &daemon(Some("0123456789abcdef"), None),
                &h(&[("host", "evil.example")])
            )
            .is_ok()
        );
        assert_eq!(new_csrf_token().len(), 32);
    }
}
