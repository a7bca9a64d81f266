//! Who may talk to the web server: bearer token or basic auth (Argon2 PHC hash) when configured,
//! on every route but `/healthz`; a Host check against DNS rebinding when there is no auth;
//! cross-site protection for state-changing requests (Origin, Sec-Fetch-Site) and the per-daemon
//! CSRF token the HTML forms carry. Argon2 runs off the runtime (`Verifier`: blocking pool,
//! cached per credential under a salted hash, failures rate-limited per client). It must not
//! render pages or touch the store.

use crate::config::Daemon;
/// Kept for callers that hash through `web::auth`; the home is `crate::password`.
pub use crate::password::hash_password;
use axum::http::{HeaderMap, Method, header};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
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
    /// Too many failed passwords from this client: 429, try again after the window.
    TooManyFailures(Duration),
}

/// What a request's credentials still need after the cheap checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credentials {
    /// No auth configured, or a valid bearer token.
    Accepted,
    /// A basic-auth user and password: verified by `Verifier` (Argon2, off the runtime).
    Basic { user: String, password: String },
}

/// Checks the credentials of a request against the daemon's auth settings without the
/// expensive part: a bearer token is compared here, a basic-auth password is handed back for
/// `Verifier::verify`.
pub fn check_credentials(daemon: &Daemon, headers: &HeaderMap) -> Result<Credentials, Refusal> {
    if !daemon.auth_required() {
        return Ok(Credentials::Accepted);
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
            return Ok(Credentials::Accepted);
        }
        return Err(Refusal::Unauthorized);
    }
    if scheme.eq_ignore_ascii_case("basic") && daemon.basic_auth.is_some() {
        use base64::Engine;
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(rest)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or(Refusal::Unauthorized)?;
        let (user, password) = decoded.split_once(':').ok_or(Refusal::Unauthorized)?;
        return Ok(Credentials::Basic {
            user: user.to_string(),
            password: password.to_string(),
        });
    }
    Err(Refusal::Unauthorized)
}

/// Failed passwords a client may send per `FAILURE_WINDOW` before it gets 429.
pub const MAX_FAILURES: u32 = 10;
/// The window of `MAX_FAILURES`.
pub const FAILURE_WINDOW: Duration = Duration::from_secs(60);
/// Verdicts kept (per credential, keyed by a salted hash) and for how long.
const CACHE_ENTRIES: usize = 1024;
const CACHE_TTL: Duration = Duration::from_secs(600);
/// Clients tracked for failures; past it the oldest windows are forgotten.
const CLIENTS: usize = 4096;

/// Basic-auth verification that never blocks the runtime: Argon2 runs on the blocking pool, one
/// at a time (each takes ~19 MiB and a core), verdicts are cached per credential under a salted
/// SHA-256 of user and password (never the plaintext), and a client past `MAX_FAILURES` failed
/// passwords in `FAILURE_WINDOW` is refused (429) without hashing anything.
pub struct Verifier {
    salt: [u8; 16],
    cache: Mutex<HashMap<[u8; 32], (bool, Instant)>>,
    failures: Mutex<HashMap<Option<IpAddr>, (u32, Instant)>>,
    permits: Arc<tokio::sync::Semaphore>,
    /// Argon2 verifications run so far (tests and metrics).
    pub verifications: AtomicU64,
}

impl Default for Verifier {
    fn default() -> Self {
        Verifier {
            salt: rand::random(),
            cache: Mutex::new(HashMap::new()),
            failures: Mutex::new(HashMap::new()),
            permits: Arc::new(tokio::sync::Semaphore::new(1)),
            verifications: AtomicU64::new(0),
        }
    }
}

impl Verifier {
    /// `Ok` when `user`/`password` match `basic`; `client` is the peer address.
    pub async fn verify(
        &self,
        basic: &crate::config::BasicAuth,
        user: &str,
        password: &str,
        client: Option<IpAddr>,
    ) -> Result<(), Refusal> {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update(self.salt);
        h.update(basic.password_hash.expose().as_bytes());
        h.update([0]);
        h.update(user.as_bytes());
        h.update([0]);
        h.update(password.as_bytes());
        let key: [u8; 32] = h.finalize().into();
        let now = Instant::now();
        let cached = lock(&self.cache)
            .get(&key)
            .filter(|(_, at)| now.duration_since(*at) < CACHE_TTL)
            .map(|(ok, _)| *ok);
        if cached == Some(true) {
            return Ok(());
        }
        self.limited(client)?;
        let ok = match cached {
            Some(ok) => ok,
            None => {
                let Ok(_permit) = self.permits.clone().acquire_owned().await else {
                    return Err(Refusal::Unauthorized);
                };
                // the failures of the requests queued before this one count too
                self.limited(client)?;
                self.verifications.fetch_add(1, Ordering::Relaxed);
                let (phc, pw) = (
                    basic.password_hash.expose().to_string(),
                    password.to_string(),
                );
                // verify the password even for a wrong user, so timing does not reveal user names
                let password_ok = tokio::task::spawn_blocking(move || verify_password(&pw, &phc))
                    .await
                    .unwrap_or(false);
                let ok = password_ok && secret_eq(user, &basic.user);
                let mut cache = lock(&self.cache);
                if cache.len() >= CACHE_ENTRIES {
                    cache.retain(|_, (_, at)| now.duration_since(*at) < CACHE_TTL);
                    if cache.len() >= CACHE_ENTRIES {
                        cache.clear();
                    }
                }
                cache.insert(key, (ok, now));
                ok
            }
        };
        if ok {
            return Ok(());
        }
        let mut failures = lock(&self.failures);
        if failures.len() >= CLIENTS && !failures.contains_key(&client) {
            failures.retain(|_, (_, since)| now.duration_since(*since) < FAILURE_WINDOW);
            if failures.len() >= CLIENTS {
                failures.clear();
            }
        }
        let e = failures.entry(client).or_insert((0, now));
        if now.duration_since(e.1) >= FAILURE_WINDOW {
            *e = (0, now);
        }
        e.0 += 1;
        Err(Refusal::Unauthorized)
    }
}

impl Verifier {
    /// `TooManyFailures` when `client` is past `MAX_FAILURES` in the current window.
    fn limited(&self, client: Option<IpAddr>) -> Result<(), Refusal> {
        let now = Instant::now();
        match lock(&self.failures).get(&client) {
            Some((n, since))
                if *n >= MAX_FAILURES && now.duration_since(*since) < FAILURE_WINDOW =>
            {
                Err(Refusal::TooManyFailures(
                    FAILURE_WINDOW.saturating_sub(now.duration_since(*since)),
                ))
            }
            _ => Ok(()),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
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
            web: Default::default(),
        }
    }

    fn h(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut m = HeaderMap::new();
        for (k, v) in pairs {
            m.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        m
    }

    #[tokio::test]
    async fn bearer_and_basic_cached_and_rate_limited() {
        let d = daemon(Some("0123456789abcdef"), Some(("ana", "pw")));
        assert_eq!(check_credentials(&d, &h(&[])), Err(Refusal::Unauthorized));
        assert_eq!(
            check_credentials(&d, &h(&[("authorization", "Bearer 0123456789abcdef")])),
            Ok(Credentials::Accepted)
        );
        assert!(
            check_credentials(&d, &h(&[("authorization", "Bearer 0123456789abcdeX")])).is_err()
        );
        assert_eq!(
            check_credentials(&daemon(None, None), &h(&[])),
            Ok(Credentials::Accepted)
        );
        // ana:pw
        let Ok(Credentials::Basic { user, password }) =
            check_credentials(&d, &h(&[("authorization", "Basic YW5hOnB3")]))
        else {
            panic!("basic credentials")
        };
        let basic = d.basic_auth.clone().unwrap();
        let v = Verifier::default();
        let me = Some(IpAddr::from([127, 0, 0, 1]));
        assert_eq!(v.verify(&basic, &user, &password, me).await, Ok(()));
        assert_eq!(v.verify(&basic, &user, &password, me).await, Ok(()));
        assert_eq!(v.verifications.load(Ordering::Relaxed), 1, "cached");
        // a wrong password: cached too, and counted per client until 429
        assert_eq!(
            v.verify(&basic, "ana", "px", me).await,
            Err(Refusal::Unauthorized)
        );
        assert_eq!(v.verifications.load(Ordering::Relaxed), 2);
        for i in 1..MAX_FAILURES {
            assert_eq!(
                v.verify(&basic, "ana", &format!("px{i}"), me).await,
                Err(Refusal::Unauthorized)
            );
        }
        let n = v.verifications.load(Ordering::Relaxed);
        assert!(matches!(
            v.verify(&basic, "ana", "another", me).await,
            Err(Refusal::TooManyFailures(_))
        ));
        assert_eq!(v.verifications.load(Ordering::Relaxed), n, "no hashing");
        // another client is not affected; the right password still works from the cache
        let other = Some(IpAddr::from([127, 0, 0, 2]));
        assert_eq!(
            v.verify(&basic, "ana", "px", other).await,
            Err(Refusal::Unauthorized)
        );
        assert_eq!(v.verify(&basic, "ana", "pw", me).await, Ok(()));
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
