//! `connectors`: reads a connector / adapter registry (a folder of JSON files, one per connector,
//! or one JSON file holding a list) and checks each entry the ledger's way. An owned adapter must
//! declare a health URL and an owner role, and its health URL must answer 2xx (lesson 17). A
//! connector's smoke request is sent with its declared auth scheme (`Token`, `Bearer`,
//! `x-api-key` or a named header); 401/403/404 is reported with the scheme's name and whether the
//! URL ends in `/` (lesson 6). A session-backed adapter that answers with a login page, a redirect
//! or 401/403 is `blocked_reauth_required`, with its runbook (lesson 10). Redirects are never
//! followed. Credentials are sent, never shown (a fingerprint at most); bodies are not quoted.
//!
//! Registry entry (JSON):
//! `{"name","owned":bool,"session":bool,"health_url","owner_role","runbook","unit",
//!   "smoke":{"url","method","expect_status":[200],
//!            "auth":{"scheme":"Token|Bearer|x-api-key|header","header","token_file","token_env"}}}`
//! (`owner` is accepted for `owner_role`, `health` for `health_url`).

use super::{Health, Invalid, Observation, Probe, ProbeCx, shown_url};
use crate::http_client::{self, ClientOptions};
use crate::read;
use crate::redact::{self, Secret};
use serde::Deserialize;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Connectors {
    /// The registry: a folder of `*.json` files (one connector each, or a list each), or one
    /// JSON file (a list, or `{"connectors": [...]}`). Required.
    registry: PathBuf,
    /// Send each connector's smoke request and each adapter's health request. Default true.
    #[serde(default = "super::yes")]
    requests: bool,
    /// Phrases of a login page (case-insensitive) that mark a session-backed adapter's answer
    /// as a re-login. Default ["<form", "login", "sign in", "password"] (any two, or a form with a
    /// password field).
    #[serde(default = "default_login_markers")]
    login_markers: Vec<String>,
    /// Most connectors judged per run. Default 200.
    #[serde(default = "default_max")]
    max_connectors: usize,
    /// Not configuration: the no-redirect client, built at first use.
    #[serde(skip)]
    client: OnceLock<reqwest::Client>,
}

fn default_login_markers() -> Vec<String> {
    ["<form", "login", "sign in", "password"]
        .map(String::from)
        .to_vec()
}
fn default_max() -> usize {
    200
}

const BODY_CAP: usize = 256 * 1024;

impl Probe for Connectors {
    const KIND: &'static str = "connectors";
    const SUMMARY: &'static str = "connector registry: owned adapters declare health and owner; smoke requests with the declared auth scheme; session adapters that need a re-login";
    const LESSONS: &'static [u32] = &[17, 6, 10];
    const EXAMPLE: &'static str = r#"[probe.connectors]
lessons = [17, 6, 10]
every = "30m"
# one JSON file per connector: name, owned, session, health_url, owner_role, runbook, smoke.auth
registry = "/opt/compai/connectors"
"#;

    fn validate(&self) -> Vec<Invalid> {
        let mut bad = Vec::new();
        Invalid::require_at_least_one(&mut bad, "login_markers", &self.login_markers, "phrase");
        Invalid::require_at_least_1(&mut bad, "max_connectors", self.max_connectors);
        bad
    }

    async fn observe(&self, cx: &ProbeCx<'_>) -> Observation {
        let registry = cx.resolve(&self.registry);
        let deadline = Instant::now() + cx.timeout;
        let entries = match load_registry(&registry).await {
            Ok(e) => e,
            Err(e) => {
                return Observation::unknown(format!("cannot read the registry: {e}"))
                    .evidence("registry", registry.display());
            }
        };
        let client = self.client.get_or_init(|| {
            http_client::build_with(ClientOptions {
                follow_redirects: false,
                verify_tls: true,
            })
        });
        let mut pass = Pass {
            probe: self,
            client,
            cx,
            deadline,
            findings: Vec::new(),
            unknown: Vec::new(),
        };
        let mut judged = 0usize;
        for (file, key, entry) in entries.iter().take(self.max_connectors) {
            judged += 1;
            pass.entry(file, key, entry).await;
        }
        let (mut findings, unknown) = (pass.findings, pass.unknown);

        findings.sort_by_key(|f| std::cmp::Reverse(f.0.rank()));
        let mut obs = if let Some(o) = super::led_by(&findings, |f| f.0, |f| f.3.clone()) {
            o
        } else if let Some(u) = unknown.first() {
            Observation::unknown(format!("cannot judge {u}"))
        } else if entries.len() > self.max_connectors {
            // a partial read is not judged clean: the entries past the cap may be the bad ones
            Observation::unknown(format!(
                "not judged: {} connectors, more than max_connectors ({}); the first {judged} pass",
                entries.len(),
                self.max_connectors
            ))
        } else {
            Observation::ok(format!(
                "{judged} connector(s): adapters declared, smoke requests pass"
            ))
        };
        obs = obs
            .expected("owned adapters with health_url and owner_role; smoke 2xx with the declared scheme; session adapters logged in")
            .evidence("registry", registry.display());
        for (_, lesson, key, d) in findings.iter().take(20) {
            obs = obs.evidence(key, format!("lesson {lesson}: {d}"));
        }
        for u in unknown.iter().take(3) {
            obs = obs.evidence("unknown", u);
        }
        if entries.len() > self.max_connectors {
            obs = obs.evidence(
                "max_connectors",
                format!(
                    "judged the first {} of {}",
                    self.max_connectors,
                    entries.len()
                ),
            );
        }
        obs.metric("connectors", judged as f64)
            .metric("findings", findings.len() as f64)
    }
}

/// A finding: its health, the lesson it checks, its evidence key and what was seen.
type Finding = (Health, u32, String, String);

/// One `observe` pass over the registry: what every entry's checks share, and what they found
/// (findings, and entries that could not be judged).
struct Pass<'a, 'c> {
    probe: &'a Connectors,
    client: &'a reqwest::Client,
    cx: &'a ProbeCx<'c>,
    deadline: Instant,
    findings: Vec<Finding>,
    unknown: Vec<String>,
}

impl Pass<'_, '_> {
    /// Checks one registry entry: its declarations (lesson 17), then, when requests are on, its
    /// health endpoint (lessons 10/17) and its smoke request (lesson 6).
    async fn entry(&mut self, file: &Path, key: &str, entry: &Value) {
        let name = entry
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("(unnamed)")
            .to_string();
        let at = format!("{}: {key}", file.display());
        let owned = entry.get("owned").and_then(Value::as_bool).unwrap_or(false)
            || entry
                .get("type")
                .and_then(Value::as_str)
                .is_some_and(|t| t.contains("adapter"));
        let session = entry
            .get("session")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let health_url = str_of(entry, &["health_url", "health"]);
        let owner = str_of(entry, &["owner_role", "owner"]);
        let runbook = str_of(entry, &["runbook"]);

        // lesson 17: owned adapters declare health and owner
        if owned || session {
            let mut missing = Vec::new();
            if health_url.is_none() {
                missing.push("health_url");
            }
            if owner.is_none() {
                missing.push("owner_role");
            }
            if session && runbook.is_none() {
                missing.push("runbook");
            }
            if !missing.is_empty() {
                self.findings.push((
                    Health::Degraded,
                    17,
                    "registry".into(),
                    format!(
                        "adapter {name} ({at}) lacks {}",
                        missing
                            .iter()
                            .map(|m| format!("{key}.{m}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            }
        }
        if !self.probe.requests {
            return;
        }
        if let Some(h) = &health_url {
            self.health(&name, h, session, runbook.as_deref()).await;
        }
        if let Some(smoke) = entry.get("smoke").filter(|s| s.is_object()) {
            self.smoke(file, key, &name, &at, smoke).await;
        }
    }

    /// Lessons 10 / 17: the adapter's health endpoint `h` answers 2xx, and a session adapter's
    /// is not a login page.
    async fn health(&mut self, name: &str, h: &str, session: bool, runbook: Option<&str>) {
        match get(self.client, h, None, self.deadline).await {
            Err(e) => self.findings.push((
                Health::Critical,
                if session { 10 } else { 17 },
                "health".into(),
                format!("adapter {name}: GET {} failed: {e}", shown_url(h)),
            )),
            Ok(r) => {
                let login = self.probe.looks_like_login(&r);
                if session && (login.is_some() || matches!(r.status, 401 | 403)) {
                    let why = login.unwrap_or_else(|| format!("HTTP {}", r.status));
                    self.findings.push((
                        Health::Critical,
                        10,
                        "blocked_reauth_required".into(),
                        format!(
                            "adapter {name}: blocked_reauth_required: {} answered {why}; runbook: {}",
                            shown_url(h),
                            runbook.unwrap_or("(none declared)")
                        ),
                    ));
                } else if !(200..300).contains(&r.status) {
                    self.findings.push((
                        Health::Critical,
                        if session { 10 } else { 17 },
                        "health".into(),
                        format!(
                            "adapter {name}: {} answered HTTP {}",
                            shown_url(h),
                            r.status
                        ),
                    ));
                }
            }
        }
    }

    /// Lesson 6: the entry's smoke request, sent with the declared auth scheme.
    async fn smoke(&mut self, file: &Path, key: &str, name: &str, at: &str, smoke: &Value) {
        let Some(url) = smoke.get("url").and_then(Value::as_str) else {
            self.findings.push((
                Health::Degraded,
                6,
                "registry".into(),
                format!("connector {name} ({at}): {key}.smoke.url missing"),
            ));
            return;
        };
        let auth = smoke.get("auth").cloned().unwrap_or(Value::Null);
        let scheme = auth
            .get("scheme")
            .and_then(Value::as_str)
            .unwrap_or("none")
            .to_string();
        let header = match header_for(&scheme, &auth) {
            Ok(h) => h,
            Err(e) => {
                self.findings.push((
                    Health::Degraded,
                    6,
                    "registry".into(),
                    format!("connector {name} ({at}): {key}.smoke.auth: {e}"),
                ));
                return;
            }
        };
        let token = match header {
            None => None,
            Some(_) => match token_of(&auth, file, self.cx).await {
                Ok(t) => Some(t),
                Err(e) => {
                    self.unknown.push(format!("connector {name}: {e}"));
                    return;
                }
            },
        };
        let sent = header
            .as_ref()
            .zip(token.as_ref())
            .map(|((h, prefix), t)| (h.clone(), format!("{prefix}{}", t.expose())));
        let expect = expect_status(smoke);
        let secrets: Vec<&str> = token.iter().map(Secret::expose).collect();
        match get(self.client, url, sent.as_ref(), self.deadline).await {
            Err(e) => self.findings.push((
                Health::Critical,
                6,
                "smoke".into(),
                redact::redact(
                    &format!(
                        "connector {name}: GET {} with scheme {scheme} failed: {e}",
                        shown_url(url)
                    ),
                    &secrets,
                ),
            )),
            Ok(r) if expect.contains(&r.status) => {}
            Ok(r) => {
                let hint = match r.status {
                    401 | 403 => " (the vendor may expect another auth scheme)",
                    404 => " (check the trailing slash and the endpoint's key scope)",
                    300..=399 => " (redirected)",
                    _ => "",
                };
                let slash = if reqwest::Url::parse(url).is_ok_and(|u| u.path().ends_with('/')) {
                    "ends in /"
                } else {
                    "does not end in /"
                };
                self.findings.push((
                    Health::Critical,
                    6,
                    "smoke".into(),
                    format!(
                        "connector {name}: GET {} with scheme {scheme} answered {}{hint}; the URL {slash}{}",
                        shown_url(url),
                        r.status,
                        token
                            .as_ref()
                            .map(|t| format!("; credential {}", t.fingerprint()))
                            .unwrap_or_default()
                    ),
                ));
            }
        }
    }
}

/// The smoke request's accepted statuses (`expect_status`, default `[200]`).
fn expect_status(smoke: &Value) -> Vec<u16> {
    smoke
        .get("expect_status")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_u64)
                .filter_map(|n| u16::try_from(n).ok())
                .collect()
        })
        .filter(|v: &Vec<u16>| !v.is_empty())
        .unwrap_or_else(|| vec![200])
}

fn str_of(v: &Value, keys: &[&str]) -> Option<String> {
    keys.iter()
        .find_map(|k| v.get(*k).and_then(Value::as_str))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// (header name, value prefix) for a scheme; `None` for "none".
fn header_for(scheme: &str, auth: &Value) -> Result<Option<(String, &'static str)>, String> {
    Ok(match scheme.to_ascii_lowercase().as_str() {
        "none" => None,
        "token" => Some(("authorization".into(), "Token ")),
        "bearer" => Some(("authorization".into(), "Bearer ")),
        "x-api-key" => Some(("x-api-key".into(), "")),
        "header" => {
            let h = auth
                .get("header")
                .and_then(Value::as_str)
                .ok_or("scheme \"header\" needs `header` (its name)")?;
            if reqwest::header::HeaderName::from_bytes(h.as_bytes()).is_err() {
                return Err(format!("invalid header name {h:?}"));
            }
            Some((h.to_string(), ""))
        }
        other => {
            return Err(format!(
                "unknown scheme {other:?} (expected Token, Bearer, x-api-key, header or none)"
            ));
        }
    })
}

async fn token_of(auth: &Value, registry_file: &Path, cx: &ProbeCx<'_>) -> Result<Secret, String> {
    if let Some(var) = auth.get("token_env").and_then(Value::as_str) {
        return match std::env::var(var) {
            Ok(v) if !v.trim().is_empty() => Ok(Secret::new(v.trim())),
            _ => Err(format!("token_env {var} is unset or empty")),
        };
    }
    if let Some(f) = auth.get("token_file").and_then(Value::as_str) {
        let dir = registry_file.parent().unwrap_or(Path::new("/"));
        // relative to the registry file; an absolute path lies under `--root` when auditing a tree
        let path = cx.resolve_inner(Path::new(f), dir);
        return match read::text_async(&path, read::SMALL).await {
            Ok(v) if !v.trim().is_empty() => Ok(Secret::new(v.trim())),
            Ok(_) => Err(format!("token_file {} is empty", path.display())),
            Err(e) => Err(format!("token_file: {e}")),
        };
    }
    Err("auth declares a scheme but neither token_file nor token_env".into())
}

/// Registry entries: (file, key path, entry).
async fn load_registry(path: &Path) -> Result<Vec<(PathBuf, String, Value)>, String> {
    let meta = tokio::fs::metadata(path)
        .await
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let mut files = Vec::new();
    if meta.is_dir() {
        let mut rd = tokio::fs::read_dir(path)
            .await
            .map_err(|e| format!("{}: {e}", path.display()))?;
        while let Ok(Some(e)) = rd.next_entry().await {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "json") {
                files.push(p);
            }
            if files.len() > 10_000 {
                break;
            }
        }
        files.sort();
    } else {
        files.push(path.to_path_buf());
    }
    let mut out = Vec::new();
    for f in files {
        let text = read::text_async(&f, read::SMALL)
            .await
            .map_err(|e| e.to_string())?;
        let v: Value = serde_json::from_str(&text)
            .map_err(|e| format!("{}: not JSON at line {}: {e}", f.display(), e.line()))?;
        match v {
            Value::Array(a) => {
                for (i, e) in a.into_iter().enumerate() {
                    out.push((f.clone(), format!("[{i}]"), e));
                }
            }
            Value::Object(ref m) if m.get("connectors").is_some_and(Value::is_array) => {
                if let Some(Value::Array(a)) = m.get("connectors") {
                    for (i, e) in a.iter().enumerate() {
                        out.push((f.clone(), format!("connectors[{i}]"), e.clone()));
                    }
                }
            }
            Value::Object(_) => out.push((f.clone(), "$".into(), v)),
            _ => return Err(format!("{}: expected an object or a list", f.display())),
        }
    }
    Ok(out)
}

struct Answer {
    status: u16,
    location: Option<String>,
    body: String,
}

async fn get(
    client: &reqwest::Client,
    url: &str,
    header: Option<&(String, String)>,
    deadline: Instant,
) -> Result<Answer, String> {
    let left = deadline
        .saturating_duration_since(Instant::now())
        .max(Duration::from_millis(1));
    let mut req = client.get(url).timeout(left);
    if let Some((h, v)) = header {
        req = req.header(h.as_str(), v.as_str());
    }
    let resp = req.send().await.map_err(|e| {
        if e.is_timeout() {
            "timed out".to_string()
        } else if e.is_connect() {
            "connection failed".to_string()
        } else if e.is_builder() {
            "invalid URL".to_string()
        } else {
            "request failed".to_string()
        }
    })?;
    let status = resp.status().as_u16();
    let location = resp
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(|l| {
            resp.url()
                .join(l)
                .map(|u| shown_url(u.as_str()))
                .unwrap_or_default()
        });
    let (body, _) = http_client::read_capped(resp, BODY_CAP)
        .await
        .map_err(|_| "reading the body failed".to_string())?;
    Ok(Answer {
        status,
        location,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

impl Connectors {
    /// Why an answer is a login page or a login redirect, if it is.
    fn looks_like_login(&self, r: &Answer) -> Option<String> {
        if (300..400).contains(&r.status) {
            return Some(format!(
                "a {} redirect to {}",
                r.status,
                r.location.as_deref().unwrap_or("(no location)")
            ));
        }
        let lower = r.body.to_lowercase();
        let hits = self
            .login_markers
            .iter()
            .filter(|m| lower.contains(&m.to_lowercase()))
            .count();
        let form_pw = lower.contains("<form") && lower.contains("type=\"password\"");
        (hits >= 2.min(self.login_markers.len()) || form_pw)
            .then(|| format!("HTTP {} with a login page", r.status))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::testkit::{self, assert_finding, assert_health, look_in, text};
    use axum::http::{HeaderMap, StatusCode};
    use axum::response::{IntoResponse, Redirect, Response};
    use axum::routing::get as aget;
    use std::net::SocketAddr;

    const TOKEN: &str = "stk-fixture-0123456789abcdef";

    async fn serve() -> SocketAddr {
        async fn stock(h: HeaderMap, uri: axum::http::Uri) -> Response {
            let auth = h.get("authorization").and_then(|v| v.to_str().ok());
            if auth != Some(&format!("Token {TOKEN}")) {
                return (StatusCode::UNAUTHORIZED, "bad auth").into_response();
            }
            if uri.path().ends_with('/') {
                return (StatusCode::NOT_FOUND, "no").into_response();
            }
            axum::Json(serde_json::json!({"data": [1]})).into_response()
        }
        let app = axum::Router::new()
            .route("/v2/products", aget(stock))
            .route("/v2/products/", aget(stock))
            .route("/leaves/health", aget(|| async { "ok" }))
            .route(
                "/expired/health",
                aget(|| async { Redirect::to("/login?next=/leaves") }),
            )
            .route(
                "/page/health",
                aget(|| async {
                    "<html><form action=/login><input type=\"password\" name=pw></form></html>"
                }),
            );
        testkit::serve(app).await
    }

    fn probe() -> Connectors {
        testkit::parse("registry = \"connectors\"")
    }

    fn write(dir: &Path, name: &str, v: serde_json::Value) {
        std::fs::create_dir_all(dir.join("connectors")).unwrap();
        std::fs::write(dir.join("connectors").join(name), v.to_string()).unwrap();
    }

    fn good(dir: &Path, addr: SocketAddr) {
        std::fs::create_dir_all(dir.join("connectors")).unwrap();
        std::fs::write(dir.join("connectors/stockagile.token"), TOKEN).unwrap();
        write(
            dir,
            "stockagile.json",
            serde_json::json!({"name": "stockagile", "smoke": {"url": format!("http://{addr}/v2/products"), "auth": {"scheme": "Token", "token_file": "stockagile.token"}}}),
        );
        write(
            dir,
            "hr-leaves.json",
            serde_json::json!({"name": "hr-leaves", "owned": true, "session": true, "health_url": format!("http://{addr}/leaves/health"), "owner_role": "people-ops", "runbook": "https://wiki.example/relogin-accounting", "unit": "hr-leaves.service"}),
        );
    }

    #[tokio::test]
    async fn declared_adapters_and_passing_smoke_are_ok() {
        let d = tempfile::tempdir().unwrap();
        let addr = serve().await;
        good(d.path(), addr);
        let o = look_in(&probe(), d.path()).await;
        assert_health(&o, Health::Ok);
        assert_eq!(
            o.summary,
            "2 connector(s): adapters declared, smoke requests pass"
        );
    }

    /// More connectors than `max_connectors`, the first of them fine: not judged clean.
    #[tokio::test]
    async fn a_registry_past_max_connectors_is_unknown_not_ok() {
        let d = tempfile::tempdir().unwrap();
        let addr = serve().await;
        good(d.path(), addr);
        let mut p = probe();
        p.max_connectors = 1;
        let o = look_in(&p, d.path()).await;
        assert_health(&o, Health::Unknown);
        assert!(
            o.summary
                .starts_with("not judged: 2 connectors, more than max_connectors (1)"),
            "{}",
            o.summary
        );
    }

    #[tokio::test]
    async fn wrong_scheme_trailing_slash_expired_session_and_undeclared_adapter() {
        let d = tempfile::tempdir().unwrap();
        let addr = serve().await;
        good(d.path(), addr);
        std::fs::write(d.path().join("connectors/richpanel.token"), TOKEN).unwrap();
        write(
            d.path(),
            "stockagile.json",
            serde_json::json!([
                {"name": "stockagile", "smoke": {"url": format!("http://{addr}/v2/products/"), "auth": {"scheme": "Token", "token_file": "stockagile.token"}}},
                {"name": "stockagile-bearer", "smoke": {"url": format!("http://{addr}/v2/products"), "auth": {"scheme": "Bearer", "token_file": "richpanel.token"}}}
            ]),
        );
        write(
            d.path(),
            "hr-leaves.json",
            serde_json::json!({"name": "hr-leaves", "owned": true, "session": true, "health_url": format!("http://{addr}/expired/health"), "owner_role": "people-ops", "runbook": "https://wiki.example/relogin-accounting"}),
        );
        write(
            d.path(),
            "holded-scraper.json",
            serde_json::json!({"name": "holded-scraper", "type": "owned_adapter", "session": true, "health_url": format!("http://{addr}/page/health")}),
        );
        let o = look_in(&probe(), d.path()).await;
        assert_health(&o, Health::Critical);
        let t = text(&o);
        assert!(
            t.contains("lesson 6: connector stockagile: GET http://127.0.0.1:")
                && t.contains("/v2/products/ with scheme Token answered 404 (check the trailing slash and the endpoint's key scope); the URL ends in /"),
            "{t}"
        );
        assert!(
            t.contains("connector stockagile-bearer: GET") && t.contains("with scheme Bearer answered 401 (the vendor may expect another auth scheme); the URL does not end in /; credential sha256:"),
            "{t}"
        );
        assert!(
            t.contains("lesson 10: adapter hr-leaves: blocked_reauth_required: ")
                && t.contains("answered a 303 redirect to http://127.0.0.1:")
                && t.contains("runbook: https://wiki.example/relogin-accounting"),
            "{t}"
        );
        assert!(
            t.contains("blocked_reauth_required: ")
                && t.contains(
                    "/page/health answered HTTP 200 with a login page; runbook: (none declared)"
                ),
            "{t}"
        );
        assert!(
            t.contains("lesson 17: adapter holded-scraper (")
                && t.contains("lacks $.owner_role, $.runbook"),
            "{t}"
        );
        assert!(!t.contains(TOKEN), "{t}");
    }

    #[tokio::test]
    async fn missing_registry_or_token_is_unknown() {
        let d = tempfile::tempdir().unwrap();
        let o = look_in(&probe(), d.path()).await;
        assert_eq!(o.health, Health::Unknown, "{o:?}");
        write(
            d.path(),
            "x.json",
            serde_json::json!({"name": "x", "smoke": {"url": "http://127.0.0.1:9/", "auth": {"scheme": "x-api-key", "token_file": "nope.token"}}}),
        );
        let o = look_in(&probe(), d.path()).await;
        assert_finding(&o, Health::Unknown, "nope.token: no such file");
    }

    #[test]
    fn schemes_map_to_headers() {
        let a = serde_json::json!({"header": "X-Shopify-Access-Token"});
        assert_eq!(
            header_for("Token", &a).unwrap(),
            Some(("authorization".to_string(), "Token "))
        );
        assert_eq!(
            header_for("header", &a).unwrap(),
            Some(("X-Shopify-Access-Token".to_string(), ""))
        );
        assert!(header_for("basic", &a).is_err());
        let keys = testkit::invalid_keys::<Connectors>(
            "registry = \"r\"\nlogin_markers = []\nmax_connectors = 0",
        );
        assert_eq!(keys, ["login_markers", "max_connectors"]);
    }
}
