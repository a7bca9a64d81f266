//! `http`: one HTTP request and a semantic judgement of the answer (lesson 26: "HTTP 200 is not
//! proof of correctness"). It owns status, header, body and JSON assertions, latency and the body
//! cap. It must not reveal secrets: header values and bearer tokens are sent but only header names
//! are reported, the query string of the URL is never shown, and every configured secret value is
//! redacted from quoted response text. The target being down is `critical`; `unknown` is kept for
//! "could not look" (an unreadable token file, an unset token variable). Point it only at health
//! and read-only endpoints: ledgerd observes, it never changes what it audits.

use super::expect::{self, JsonAssertion, QUOTE_MAX, clip, quote};
use super::shape::ShapeMemory;
use super::{Health, Invalid, Observation, Probe, ProbeCx};
use crate::http_client::{self, ClientOptions};
use crate::redact::{self, Secret};
use regex::Regex;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Http {
    /// URL to request, `http://` or `https://`. Required.
    url: String,
    /// HTTP method. Default "GET".
    #[serde(default = "default_method")]
    method: String,
    /// Extra request headers, name -> value. Values may be secrets (`${ENV}`): they are sent but
    /// never shown, only their names. Default none.
    #[serde(default, deserialize_with = "crate::redact::de_headers")]
    headers: BTreeMap<String, Secret>,
    /// Environment variable holding a bearer token, read at each run and sent as
    /// `Authorization: Bearer …`; never logged. Default none.
    bearer_token_env: Option<String>,
    /// File holding a bearer token (whitespace trimmed), read at each run; relative to the config
    /// file, `~/` allowed; never logged. Default none.
    bearer_token_file: Option<PathBuf>,
    /// Request body as text. Default none (no body).
    body: Option<String>,
    /// Request body as JSON (any TOML value), sent as `application/json`. Default none.
    body_json: Option<Value>,
    /// Status codes that count as passing. Default [200].
    #[serde(default = "default_status")]
    expect_status: Vec<u16>,
    /// Response headers that must be present and match a regex, name -> regex. Default none.
    #[serde(default)]
    expect_headers: BTreeMap<String, String>,
    /// Assertions on the JSON body, each `{ path = "$.x", <checks> }` (see `JsonAssertion`). The
    /// body is parsed once, and only when this list is not empty. Default none.
    #[serde(default)]
    expect_json: Vec<JsonAssertion>,
    /// Substrings the body must contain. Default none.
    #[serde(default)]
    body_contains: Vec<String>,
    /// Regexes the body must match. Default none.
    #[serde(default)]
    body_matches: Vec<String>,
    /// Substrings the body must not contain (an error marker, a login form). Default none.
    #[serde(default)]
    body_not_contains: Vec<String>,
    /// Slowest acceptable answer (headers and body), e.g. "2s"; slower is degraded. Default none.
    #[serde(default, deserialize_with = "crate::duration::de_opt")]
    max_latency: Option<Duration>,
    /// Bytes of body read at most; a longer body is cut and reported as truncated, and JSON
    /// assertions on it fail. Default 1048576 (1 MiB).
    #[serde(default = "default_max_body")]
    max_body_bytes: usize,
    /// Follow up to 5 redirects. Default true; false to assert on a 3xx itself (a login redirect).
    #[serde(default = "super::yes")]
    follow_redirects: bool,
    /// Verify the server's TLS certificate. Default true.
    #[serde(default = "super::yes")]
    verify_tls: bool,
    /// Response-shape memory (lesson 26), e.g. `shape = { page_items = "$.data" }`: the JSON key
    /// paths and list lengths of good runs are remembered, and a key that disappeared or a list
    /// empty on a working day is critical, `count == limit` without a cursor degraded. Its keys:
    /// `working_days`, `timezone`, `ignore`, `page_items`, `page_limit`, `cursor`, `adopt_after`
    /// (see `probe::shape::ShapeMemory`). Default none (nothing remembered).
    shape: Option<ShapeMemory>,
    /// Not configuration: what is built at first use (boxed to keep `AnyProbe` small).
    #[serde(skip)]
    cache: Box<Cache>,
}

/// Built once per probe instance, at first use.
#[derive(Debug, Default)]
struct Cache {
    /// The client for non-default redirect/TLS options.
    client: OnceLock<reqwest::Client>,
    /// Regexes and JSONPaths; `Err` only if `validate()` was bypassed.
    compiled: OnceLock<Result<Compiled, String>>,
    /// `url` parsed (`None` if it does not parse: the request then reports why, every run).
    url: OnceLock<Option<reqwest::Url>>,
    /// "GET http://host/path?…" as shown in summaries and evidence.
    target: OnceLock<String>,
    /// `expectations()`, which depends only on the configuration.
    expected: OnceLock<String>,
}

/// Regexes and JSONPaths of one probe, compiled once.
#[derive(Debug)]
struct Compiled {
    /// Per `expect_json` entry: its path and regexes.
    json: Vec<expect::Compiled>,
    body_matches: Vec<Regex>,
    expect_headers: Vec<(String, Regex)>,
}

fn default_method() -> String {
    "GET".into()
}
fn default_status() -> Vec<u16> {
    vec![200]
}
fn default_max_body() -> usize {
    1024 * 1024
}

/// One failed expectation: the evidence key, the evidence value, and a phrase for the summary.
struct Failure {
    key: String,
    detail: String,
    summary: String,
}

impl Failure {
    fn new(key: impl Into<String>, detail: impl Into<String>, summary: impl Into<String>) -> Self {
        Failure {
            key: key.into(),
            detail: detail.into(),
            summary: summary.into(),
        }
    }
}

impl Probe for Http {
    const KIND: &'static str = "http";
    const SUMMARY: &'static str =
        "request a URL and assert on status, headers, body and JSON content, not just a 200";
    const LESSONS: &'static [u32] = &[10, 26];
    const EXAMPLE: &'static str = r#"[probe.hub_gateway_health]
lesson = 26
every = "30s"
# the hub's OpenClaw gateway; a 200 alone proves nothing, so check what it says
url = "http://127.0.0.1:18789/health"
expect_status = [200]
expect_json = [
  { path = "$.ok", equals = true },
  { path = "$.status", equals = "live" },
]
# the token is read at each run and never shown; only the header name is reported
bearer_token_file = "~/.openclaw/credentials/gateway.token"
max_latency = "2s"
# a login page instead of data means the session behind it expired (lesson 10)
body_not_contains = ["<form"]
"#;

    fn validate(&self) -> Vec<Invalid> {
        let mut bad = Vec::new();
        match reqwest::Url::parse(&self.url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => {}
            Ok(u) => bad.push(Invalid::new(
                "url",
                format!("expected an http or https URL, got scheme {:?}", u.scheme()),
            )),
            Err(e) => bad.push(Invalid::new("url", format!("invalid URL: {e}"))),
        }
        if reqwest::Method::from_bytes(self.method.as_bytes()).is_err() {
            bad.push(Invalid::new(
                "method",
                "expected an HTTP method such as GET or POST",
            ));
        }
        for (name, value) in &self.headers {
            if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
                bad.push(Invalid::new(
                    format!("headers.{name}"),
                    "invalid header name",
                ));
            }
            if reqwest::header::HeaderValue::from_str(value.expose()).is_err() {
                bad.push(Invalid::new(
                    format!("headers.{name}"),
                    "invalid header value (control characters or non-ASCII)",
                ));
            }
            let has_token = self.bearer_token_env.is_some() || self.bearer_token_file.is_some();
            if has_token && name.eq_ignore_ascii_case("authorization") {
                bad.push(Invalid::new(
                    format!("headers.{name}"),
                    "conflicts with bearer_token_env/bearer_token_file; set only one",
                ));
            }
        }
        if self.bearer_token_env.is_some() && self.bearer_token_file.is_some() {
            bad.push(Invalid::new(
                "bearer_token_file",
                "set only one of bearer_token_env and bearer_token_file",
            ));
        }
        if self.bearer_token_env.as_deref() == Some("") {
            bad.push(Invalid::new(
                "bearer_token_env",
                "expected an environment variable name",
            ));
        }
        if self.body.is_some() && self.body_json.is_some() {
            bad.push(Invalid::new(
                "body_json",
                "set only one of body and body_json",
            ));
        }
        Invalid::require_at_least_one(
            &mut bad,
            "expect_status",
            &self.expect_status,
            "status code",
        );
        for (i, code) in self.expect_status.iter().enumerate() {
            if !(100..=599).contains(code) {
                bad.push(Invalid::new(
                    format!("expect_status[{i}]"),
                    format!("expected a status code between 100 and 599, got {code}"),
                ));
            }
        }
        bad.extend(expect::validate_shape(&self.expect_json, "expect_json"));
        Invalid::require_at_least_1(&mut bad, "max_body_bytes", self.max_body_bytes);
        if let Some(s) = &self.shape {
            bad.extend(s.validate("shape"));
        }
        if let Err(mut more) = self.compile() {
            bad.append(&mut more);
        }
        bad
    }

    async fn observe(&self, cx: &ProbeCx<'_>) -> Observation {
        // a loopback endpoint is the machine ledgerd runs on, not the audited tree
        if cx.root().is_some()
            && reqwest::Url::parse(&self.url).is_ok_and(|u| is_loopback_host(u.host_str()))
            && let Some(o) = cx.live_host("a loopback endpoint")
        {
            return o.evidence("url", display_url(&self.url));
        }
        let compiled = match self.compiled() {
            Ok(c) => c,
            Err(e) => return Observation::unknown(format!("invalid probe config: {e}")),
        };
        let Ok(method) = reqwest::Method::from_bytes(self.method.as_bytes()) else {
            return Observation::unknown(format!("invalid method {:?}", self.method));
        };
        let target = self
            .cache
            .target
            .get_or_init(|| format!("{method} {}", display_url(&self.url)));
        let url = self
            .cache
            .url
            .get_or_init(|| reqwest::Url::parse(&self.url).ok());
        let token = match self.bearer_token(cx).await {
            Ok(t) => t,
            Err(why) => return Observation::unknown(why).evidence("request", target),
        };
        let mut secrets: Vec<&str> = self.headers.values().map(Secret::expose).collect();
        if let Some(t) = &token {
            secrets.push(t.expose());
        }

        let req = self.request(cx, method, url.as_ref(), token.as_ref());
        let started = Instant::now();
        let resp = match req.send().await {
            Ok(r) => r,
            Err(e) => return self.send_failed(&e, cx, target, &secrets, started),
        };
        let status = resp.status().as_u16();
        let (location, redirected_to) = redirect_targets(&resp, url.as_ref());
        let mut failures = Vec::new();
        let status_ok = self.expect_status.contains(&status);
        if status_ok {
            check_headers(resp.headers(), compiled, &secrets, &mut failures);
        } else {
            failures.push(Failure::new(
                "expect_status",
                format!("got {status}, expected one of {:?}", self.expect_status),
                format!("HTTP {status} (expected one of {:?})", self.expect_status),
            ));
        }
        let (body, truncated) = match http_client::read_capped(resp, self.max_body_bytes).await {
            Ok(b) => b,
            Err(e) => {
                let why = redact::redact(&describe_send_error(&e, cx.timeout), &secrets);
                return Observation::critical(format!("{target}: reading body: {why}"))
                    .expected(self.expected_text())
                    .evidence("request", target)
                    .evidence("status", status)
                    .metric("latency_seconds", started.elapsed().as_secs_f64())
                    .metric("status_code", f64::from(status));
            }
        };
        let latency = started.elapsed();
        if status_ok {
            let text = String::from_utf8_lossy(&body);
            self.check_body(&text, truncated, &secrets, compiled, &mut failures);
            self.check_json(&body, truncated, &secrets, compiled, &mut failures);
        }
        let slow = self.max_latency.filter(|max| latency > *max);
        let (warnings, shape_facts, notes) = match (&self.shape, status_ok) {
            (Some(shape), true) => {
                let healthy = failures.is_empty() && slow.is_none();
                self.judge_shape(
                    shape,
                    &body,
                    truncated,
                    url.as_ref(),
                    healthy,
                    cx,
                    &mut failures,
                )
            }
            _ => (Vec::new(), None, Vec::new()),
        };
        let answer = Answer {
            target,
            status,
            latency,
            body: &body,
            truncated,
            failures,
            warnings,
            slow,
        };
        let mut obs = self
            .verdict(&answer)
            .expected(self.expected_text())
            .evidence("request", target)
            .evidence("status", status);
        obs = self.request_evidence(obs, token.is_some());
        if let Some(loc) = location.filter(|_| (300..400).contains(&status)) {
            obs = obs.evidence("location", redact::redact(&loc, &secrets));
        }
        if let Some(to) = redirected_to {
            obs = obs.evidence("redirected_to", redact::redact(&to, &secrets));
        }
        for f in answer.failures.iter().chain(&answer.warnings) {
            obs = obs.evidence(&f.key, &f.detail);
        }
        for (k, v) in notes {
            obs = obs.evidence(k, v);
        }
        if let Some(f) = shape_facts {
            obs = obs.facts(serde_json::json!({ "shape": f }));
        }
        self.answer_evidence(obs, &answer, &secrets)
            .metric("latency_seconds", latency.as_secs_f64())
            .metric("status_code", f64::from(status))
    }
}

impl Http {
    /// The compiled expectations (compiled once; the error joins every invalid key).
    fn compiled(&self) -> Result<&Compiled, &String> {
        self.cache
            .compiled
            .get_or_init(|| {
                self.compile().map_err(|bad| {
                    bad.iter()
                        .map(|b| format!("{}: {}", b.key, b.message))
                        .collect::<Vec<_>>()
                        .join("; ")
                })
            })
            .as_ref()
    }

    /// The request: method and URL, the timeout, the configured headers, the bearer token and
    /// the body.
    fn request(
        &self,
        cx: &ProbeCx<'_>,
        method: reqwest::Method,
        url: Option<&reqwest::Url>,
        token: Option<&Secret>,
    ) -> reqwest::RequestBuilder {
        let req = match url {
            Some(u) => self.client(cx).request(method, u.clone()),
            None => self.client(cx).request(method, &self.url),
        };
        let mut req = req.timeout(cx.timeout);
        for (name, value) in &self.headers {
            req = req.header(name.as_str(), value.expose());
        }
        if let Some(t) = token {
            req = req.bearer_auth(t.expose());
        }
        if let Some(b) = &self.body {
            req = req.body(b.clone());
        } else if let Some(j) = &self.body_json {
            req = req.json(j);
        }
        req
    }

    /// The request could not be sent or got no answer: critical, or unknown when the request
    /// itself could not be built.
    fn send_failed(
        &self,
        e: &reqwest::Error,
        cx: &ProbeCx<'_>,
        target: &str,
        secrets: &[&str],
        started: Instant,
    ) -> Observation {
        let why = redact::redact(&describe_send_error(e, cx.timeout), secrets);
        let health = if e.is_builder() {
            Health::Unknown
        } else {
            Health::Critical
        };
        Observation::new(health, format!("{target}: {why}"))
            .expected(self.expected_text())
            .evidence("request", target)
            .evidence("error", why)
            .metric("latency_seconds", started.elapsed().as_secs_f64())
    }

    /// The headline: the first failure (critical), else the shape warnings or a slow answer
    /// (degraded), else ok with the status, latency and checks passed.
    fn verdict(&self, a: &Answer<'_>) -> Observation {
        match (a.failures.first(), a.slow) {
            (Some(first), _) => {
                let mut s = first.summary.clone();
                if a.failures.len() > 1 {
                    s.push_str(&format!(" (+{} more failed)", a.failures.len() - 1));
                }
                Observation::critical(s)
            }
            (None, _) if !a.warnings.is_empty() => Observation::degraded(
                a.warnings
                    .iter()
                    .map(|w| w.summary.as_str())
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
            (None, Some(max)) => Observation::degraded(format!(
                "{}: slow answer, {} (expected at most {})",
                a.target,
                fmt_latency(a.latency),
                humantime::format_duration(max)
            )),
            (None, None) => Observation::ok(format!(
                "{}: {} in {}, {} checks passed",
                a.target,
                a.status,
                fmt_latency(a.latency),
                self.check_count()
            )),
        }
    }

    /// The names of the headers sent (values never), `authorization` when a token was.
    fn request_evidence(&self, obs: Observation, token: bool) -> Observation {
        let mut sent: Vec<&str> = self.headers.keys().map(String::as_str).collect();
        if token {
            sent.push("authorization");
        }
        if sent.is_empty() {
            obs
        } else {
            obs.evidence("request_headers", sent.join(", "))
        }
    }

    /// The answer's own evidence: how slow it was, its size, whether it was truncated, and a
    /// quote of the body when a check failed.
    fn answer_evidence(
        &self,
        mut obs: Observation,
        a: &Answer<'_>,
        secrets: &[&str],
    ) -> Observation {
        if let Some(max) = a.slow {
            obs = obs.evidence(
                "max_latency",
                format!(
                    "took {}, expected at most {}",
                    fmt_latency(a.latency),
                    humantime::format_duration(max)
                ),
            );
        }
        obs = obs.evidence("body_bytes", a.body.len());
        if a.truncated {
            obs = obs.evidence(
                "body_truncated",
                format!("body exceeded max_body_bytes {}", self.max_body_bytes),
            );
        }
        let text = String::from_utf8_lossy(a.body);
        if !a.failures.is_empty() && !text.trim().is_empty() {
            obs = obs.evidence("body", clip(text.trim(), secrets, QUOTE_MAX * 2));
        }
        obs
    }

    /// The shared client when the options are the defaults; otherwise one built for this probe.
    fn client<'a>(&'a self, cx: &'a ProbeCx<'_>) -> &'a reqwest::Client {
        let opts = ClientOptions {
            follow_redirects: self.follow_redirects,
            verify_tls: self.verify_tls,
        };
        if opts == ClientOptions::default() {
            return cx.http;
        }
        self.cache
            .client
            .get_or_init(|| http_client::build_with(opts))
    }

    fn compile(&self) -> Result<Compiled, Vec<Invalid>> {
        let mut bad = Vec::new();
        let json = match expect::compile(&self.expect_json, "expect_json") {
            Ok(j) => j,
            Err(more) => {
                bad.extend(more);
                Vec::new()
            }
        };
        let mut body_matches = Vec::new();
        for (i, re) in self.body_matches.iter().enumerate() {
            match Regex::new(re) {
                Ok(r) => body_matches.push(r),
                Err(e) => bad.push(Invalid::new(
                    format!("body_matches[{i}]"),
                    format!("invalid regex: {e}"),
                )),
            }
        }
        let mut expect_headers = Vec::new();
        for (name, re) in &self.expect_headers {
            if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
                bad.push(Invalid::new(
                    format!("expect_headers.{name}"),
                    "invalid header name",
                ));
                continue;
            }
            match Regex::new(re) {
                Ok(r) => expect_headers.push((name.clone(), r)),
                Err(e) => bad.push(Invalid::new(
                    format!("expect_headers.{name}"),
                    format!("invalid regex: {e}"),
                )),
            }
        }
        if bad.is_empty() {
            Ok(Compiled {
                json,
                body_matches,
                expect_headers,
            })
        } else {
            Err(bad)
        }
    }

    /// The bearer token, read now. `Err` says why it could not be read, naming the variable or
    /// path, never a value.
    async fn bearer_token(&self, cx: &ProbeCx<'_>) -> Result<Option<Secret>, String> {
        if let Some(var) = &self.bearer_token_env {
            return match std::env::var(var) {
                Ok(v) if !v.trim().is_empty() => Ok(Some(Secret::new(v.trim()))),
                Ok(_) => Err(format!(
                    "bearer_token_env: environment variable {var} is empty"
                )),
                Err(std::env::VarError::NotPresent) => Err(format!(
                    "bearer_token_env: environment variable {var} is not set"
                )),
                Err(std::env::VarError::NotUnicode(_)) => Err(format!(
                    "bearer_token_env: environment variable {var} is not valid UTF-8"
                )),
            };
        }
        if let Some(p) = &self.bearer_token_file {
            let path = cx.resolve(p);
            return match crate::read::text_async(&path, crate::read::SMALL).await {
                Ok(v) if !v.trim().is_empty() => Ok(Some(Secret::new(v.trim()))),
                Ok(_) => Err(format!("bearer_token_file: {} is empty", path.display())),
                Err(e) => Err(format!(
                    "bearer_token_file: cannot read {}: {}",
                    path.display(),
                    e.reason()
                )),
            };
        }
        Ok(None)
    }

    fn check_body(
        &self,
        text: &str,
        truncated: bool,
        secrets: &[&str],
        compiled: &Compiled,
        failures: &mut Vec<Failure>,
    ) {
        let note = if truncated {
            format!(" (body truncated at {} bytes)", self.max_body_bytes)
        } else {
            String::new()
        };
        for (i, s) in self.body_contains.iter().enumerate() {
            if !text.contains(s.as_str()) {
                let s = quote(s, secrets, QUOTE_MAX);
                failures.push(Failure::new(
                    format!("body_contains[{i}]"),
                    format!("body lacks {s}{note}"),
                    format!("body lacks {s}"),
                ));
            }
        }
        for (i, re) in compiled.body_matches.iter().enumerate() {
            if !re.is_match(text) {
                failures.push(Failure::new(
                    format!("body_matches[{i}]"),
                    format!("body does not match /{re}/{note}"),
                    format!("body does not match /{re}/"),
                ));
            }
        }
        for (i, s) in self.body_not_contains.iter().enumerate() {
            if let Some(at) = text.find(s.as_str()) {
                let q = quote(s, secrets, QUOTE_MAX);
                failures.push(Failure::new(
                    format!("body_not_contains[{i}]"),
                    format!(
                        "body contains {q} at byte {at}: {}",
                        quote(excerpt(text, at, s.len()), secrets, QUOTE_MAX)
                    ),
                    format!("body contains {q}"),
                ));
            }
        }
    }

    fn check_json(
        &self,
        body: &[u8],
        truncated: bool,
        secrets: &[&str],
        compiled: &Compiled,
        failures: &mut Vec<Failure>,
    ) {
        if self.expect_json.is_empty() {
            return;
        }
        if truncated {
            let msg = format!(
                "body exceeded cap of {} bytes (max_body_bytes); JSON assertions not evaluated",
                self.max_body_bytes
            );
            failures.push(Failure::new(
                "expect_json",
                msg,
                format!("body exceeded cap of {} bytes", self.max_body_bytes),
            ));
            return;
        }
        let doc: Value = match serde_json::from_slice(body) {
            Ok(d) => d,
            Err(e) => {
                failures.push(Failure::new(
                    "expect_json",
                    format!("body is not JSON: {e}"),
                    format!("body is not JSON ({e})"),
                ));
                return;
            }
        };
        for (i, (a, c)) in self.expect_json.iter().zip(&compiled.json).enumerate() {
            if let Some((detail, summary)) = a.check(c, &doc, secrets) {
                failures.push(Failure::new(format!("expect_json[{i}]"), detail, summary));
            }
        }
    }

    /// Judges the answer's shape against the good runs' (critical findings join `failures`);
    /// returns the degraded findings, the shape facts to keep and notes for the evidence.
    #[allow(clippy::too_many_arguments)]
    fn judge_shape(
        &self,
        shape: &ShapeMemory,
        body: &[u8],
        truncated: bool,
        url: Option<&reqwest::Url>,
        healthy: bool,
        cx: &ProbeCx<'_>,
        failures: &mut Vec<Failure>,
    ) -> (Vec<Failure>, Option<Value>, Vec<(&'static str, String)>) {
        let doc: Value = match serde_json::from_slice(body) {
            Ok(d) if !truncated => d,
            _ => {
                failures.push(Failure::new(
                    "shape",
                    "body is not complete JSON: its shape cannot be compared",
                    "body is not JSON (shape memory)",
                ));
                return (Vec::new(), None, Vec::new());
            }
        };
        let v = shape.judge(&doc, cx.prior, url, healthy, cx.now);
        for f in v.critical {
            failures.push(Failure::new(f.key, f.detail, f.summary));
        }
        let warnings = v
            .degraded
            .into_iter()
            .map(|f| Failure::new(f.key, f.detail, f.summary))
            .collect();
        let facts = (!v.facts.is_null()).then_some(v.facts);
        (warnings, facts, v.notes)
    }

    /// Number of configured checks, for the ok summary.
    fn check_count(&self) -> usize {
        1 + self.expect_headers.len()
            + self.expect_json.len()
            + self.body_contains.len()
            + self.body_matches.len()
            + self.body_not_contains.len()
    }

    /// `expectations()`, computed at first use.
    fn expected_text(&self) -> &str {
        self.cache.expected.get_or_init(|| self.expectations())
    }

    /// What a passing answer looks like, in one line.
    fn expectations(&self) -> String {
        let mut parts = vec![format!("status in {:?}", self.expect_status)];
        for a in &self.expect_json {
            parts.extend(a.describe());
        }
        for name in self.expect_headers.keys() {
            parts.push(format!("header {name} matches"));
        }
        if !self.body_contains.is_empty() || !self.body_matches.is_empty() {
            parts.push("body contains/matches".into());
        }
        if !self.body_not_contains.is_empty() {
            parts.push("body without forbidden text".into());
        }
        if let Some(max) = self.max_latency {
            parts.push(format!("latency <= {}", humantime::format_duration(max)));
        }
        redact::truncate(&parts.join("; "), 300)
    }
}

/// What one request got back, for the verdict and its evidence.
struct Answer<'a> {
    target: &'a str,
    status: u16,
    latency: std::time::Duration,
    body: &'a [u8],
    truncated: bool,
    failures: Vec<Failure>,
    warnings: Vec<Failure>,
    slow: Option<std::time::Duration>,
}

/// Where a redirect points (not followed) and where one led (followed): a login page means the
/// session behind the endpoint expired (lesson 10).
fn redirect_targets(
    resp: &reqwest::Response,
    asked: Option<&reqwest::Url>,
) -> (Option<String>, Option<String>) {
    let location = resp
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|loc| resp.url().join(loc).ok())
        .map(|u| display_url(u.as_str()));
    let redirected_to = asked
        .is_some_and(|asked| asked != resp.url())
        .then(|| display_url(resp.url().as_str()));
    (location, redirected_to)
}

/// Checks `expect_headers`; values of headers whose name looks secret show only a fingerprint.
fn check_headers(
    headers: &reqwest::header::HeaderMap,
    compiled: &Compiled,
    secrets: &[&str],
    failures: &mut Vec<Failure>,
) {
    for (name, re) in &compiled.expect_headers {
        let key = format!("expect_headers.{name}");
        let Some(value) = headers.get(name.as_str()) else {
            failures.push(Failure::new(
                key,
                format!("header {name} missing, expected /{re}/"),
                format!("response lacks header {name}"),
            ));
            continue;
        };
        let text = String::from_utf8_lossy(value.as_bytes());
        if re.is_match(&text) {
            continue;
        }
        let got = if looks_secret(name) {
            redact::fingerprint(&text)
        } else {
            quote(&text, secrets, QUOTE_MAX)
        };
        failures.push(Failure::new(
            key,
            format!("header {name}: expected /{re}/, got {got}"),
            format!("header {name} is {got} (expected /{re}/)"),
        ));
    }
}

fn looks_secret(header: &str) -> bool {
    let h = header.to_ascii_lowercase();
    ["auth", "cookie", "token", "secret", "key", "session"]
        .iter()
        .any(|s| h.contains(s))
}

/// The text around a match, on char boundaries.
fn excerpt(text: &str, at: usize, len: usize) -> &str {
    let mut start = at.saturating_sub(40);
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    let mut end = (at + len + 40).min(text.len());
    while !text.is_char_boundary(end) {
        end += 1;
    }
    &text[start..end]
}

/// The URL as shown in reports: no password, no query string (it may carry an API key).
/// `localhost`, 127.0.0.0/8 or ::1.
fn is_loopback_host(h: Option<&str>) -> bool {
    let Some(h) = h else { return false };
    let h = h.trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost")
        || h.parse::<std::net::IpAddr>().is_ok_and(|a| a.is_loopback())
}

fn display_url(raw: &str) -> String {
    let Ok(mut u) = reqwest::Url::parse(raw) else {
        return "<invalid url>".into();
    };
    let _ = u.set_password(None);
    let had_query = u.query().is_some();
    u.set_query(None);
    u.set_fragment(None);
    let mut s = u.to_string();
    if had_query {
        s.push_str("?…");
    }
    s
}

fn fmt_latency(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{} ms", d.as_millis())
    } else {
        format!("{:.2} s", d.as_secs_f64())
    }
}

/// Why a request failed, without the URL (reqwest's own message includes it, query and all).
fn describe_send_error(e: &reqwest::Error, timeout: Duration) -> String {
    use std::error::Error as _;
    use std::io::ErrorKind;
    if e.is_timeout() {
        return format!("timed out after {}", humantime::format_duration(timeout));
    }
    let mut cause: Option<&(dyn std::error::Error + 'static)> = e.source();
    let mut innermost = None;
    while let Some(c) = cause {
        if let Some(io) = c.downcast_ref::<std::io::Error>() {
            match io.kind() {
                ErrorKind::ConnectionRefused => return "connection refused".into(),
                ErrorKind::ConnectionReset => return "connection reset".into(),
                ErrorKind::TimedOut => return "timed out".into(),
                ErrorKind::HostUnreachable | ErrorKind::NetworkUnreachable => {
                    return "host unreachable".into();
                }
                _ => {}
            }
        }
        innermost = Some(c);
        cause = c.source();
    }
    if e.is_redirect() {
        return "too many redirects".into();
    }
    match innermost {
        Some(c) => c.to_string(),
        None if e.is_connect() => "connection failed".into(),
        None if e.is_body() => "body read failed".into(),
        None => "request failed".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::testkit::{self, assert_finding, look, one};
    use axum::Json;
    use axum::http::{HeaderMap, StatusCode};
    use axum::routing::get;
    use serde_json::json;
    use std::net::SocketAddr;
    use std::path::Path;

    const TOKEN: &str = "tok-9f8e7d6c5b4a-very-secret";

    /// A real server on 127.0.0.1:0 with one route per scenario.
    async fn serve() -> SocketAddr {
        let app = axum::Router::new()
            .route(
                "/empty",
                get(|| async { Json(json!({"ok": true, "data": []})) }),
            )
            .route(
                "/data",
                get(|| async {
                    Json(json!({"ok": true, "status": "live", "data": [{"id": 1, "price": 2.5}, {"id": 2, "price": 4}]}))
                }),
            )
            .route(
                "/down",
                get(|| async { (StatusCode::SERVICE_UNAVAILABLE, "upstream unavailable") }),
            )
            .route(
                "/auth",
                get(|headers: HeaderMap| async move {
                    let sent = headers
                        .get("authorization")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("");
                    if sent == format!("Bearer {TOKEN}") {
                        // Echo the token back, as a careless API might: it must be redacted.
                        (
                            StatusCode::OK,
                            Json(json!({"ok": false, "session": format!("expired for {TOKEN}")})),
                        )
                    } else {
                        (StatusCode::UNAUTHORIZED, Json(json!({"error": "no token"})))
                    }
                }),
            )
            .route(
                "/leaves",
                get(|| async { axum::response::Redirect::to("/login?next=%2Fleaves") }),
            )
            .route("/login", get(|| async { "<form action=/login>" }))
            .route(
                "/big",
                get(|| async { format!("[{}1]", "1,".repeat(40_000)) }),
            );
        testkit::serve(app).await
    }

    fn probe(src: &str) -> Http {
        testkit::parse(src)
    }

    #[tokio::test]
    async fn empty_data_array_is_critical_despite_200() {
        let addr = serve().await;
        let p = probe(&format!(
            r#"url = "http://{addr}/empty"
expect_json = [{{ path = "$.ok", equals = true }}, {{ path = "$.data", type = "array", min_len = 1 }}]"#
        ));
        let o = look(&p).await;
        assert_eq!(o.health, Health::Critical, "{o:?}");
        assert_eq!(o.summary, "$.data has 0 items (expected min_len 1)");
        assert_eq!(
            one(&o, "expect_json[1]"),
            "$.data: expected min_len 1, got array of 0"
        );
        assert_eq!(one(&o, "status"), "200");
        assert!(o.metrics.iter().any(|m| m.name == "latency_seconds"));
        assert!(
            o.metrics
                .iter()
                .any(|m| m.name == "status_code" && m.value == 200.0)
        );
    }

    #[tokio::test]
    async fn real_data_is_ok() {
        let addr = serve().await;
        let p = probe(&format!(
            r#"url = "http://{addr}/data?api_key=abc"
expect_json = [
  {{ path = "$.data", min_len = 1, max_len = 10 }},
  {{ path = "$.status", equals = "live", matches = "^li" }},
  {{ path = "$.data[*].price", gt = 0, lt = 100, type = "number" }},
  {{ path = "$.data[0].id", equals = 1.0 }},
  {{ path = "$.error", exists = false }},
]
expect_headers = {{ content-type = "json" }}
body_contains = ["live"]
body_matches = ['"id":\s*2']
body_not_contains = ["<form"]
max_latency = "5s""#
        ));
        let o = look(&p).await;
        assert_finding(&o, Health::Ok, "200");
        // The query string (it may carry a key) is never shown.
        assert!(!format!("{o:?}").contains("abc"), "{o:?}");
    }

    #[tokio::test]
    async fn failed_node_in_a_list_is_named_by_location() {
        let addr = serve().await;
        let p = probe(&format!(
            r#"url = "http://{addr}/data"
expect_json = [{{ path = "$.data[*].price", gt = 3 }}]"#
        ));
        let o = look(&p).await;
        assert_eq!(o.health, Health::Critical);
        assert_eq!(
            one(&o, "expect_json[0]"),
            "$['data'][0]['price']: expected gt 3, got number 2.5"
        );
    }

    #[tokio::test]
    async fn status_503_is_critical() {
        let addr = serve().await;
        let p = probe(&format!(r#"url = "http://{addr}/down""#));
        let o = look(&p).await;
        assert_eq!(o.health, Health::Critical);
        assert_eq!(o.summary, "HTTP 503 (expected one of [200])");
        assert!(one(&o, "body").contains("upstream unavailable"));
    }

    #[tokio::test]
    async fn connection_refused_is_critical() {
        let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = dead.local_addr().unwrap().port();
        drop(dead);
        let p = probe(&format!(r#"url = "http://127.0.0.1:{port}/health""#));
        let o = look(&p).await;
        assert_eq!(o.health, Health::Critical, "{o:?}");
        assert_eq!(
            o.summary,
            format!("GET http://127.0.0.1:{port}/health: connection refused")
        );
    }

    #[tokio::test]
    async fn login_redirect_is_reported_followed_or_not() {
        let addr = serve().await;
        // Not followed (own client, built once): the 303 itself fails, naming its target.
        let p = probe(&format!(
            r#"url = "http://{addr}/leaves"
follow_redirects = false"#
        ));
        let o = look(&p).await;
        assert_eq!(o.health, Health::Critical, "{o:?}");
        assert_eq!(o.summary, "HTTP 303 (expected one of [200])");
        assert_eq!(one(&o, "location"), format!("http://{addr}/login?…"));
        assert_eq!(look(&p).await.health, Health::Critical);

        // Followed (shared client): a 200 login page, caught by body_not_contains.
        let p = probe(&format!(
            r#"url = "http://{addr}/leaves"
body_not_contains = ["<form"]"#
        ));
        let o = look(&p).await;
        assert_eq!(o.health, Health::Critical, "{o:?}");
        assert_eq!(o.summary, r#"body contains "<form""#);
        assert_eq!(one(&o, "redirected_to"), format!("http://{addr}/login?…"));
    }

    #[tokio::test]
    async fn slow_answer_is_degraded() {
        let addr = serve().await;
        let p = probe(&format!(
            r#"url = "http://{addr}/data"
max_latency = "1ns""#
        ));
        let o = look(&p).await;
        assert_eq!(o.health, Health::Degraded, "{o:?}");
        assert!(one(&o, "max_latency").contains("expected at most 1ns"));
    }

    #[tokio::test]
    async fn bearer_token_from_env_is_sent_and_never_shown() {
        let addr = serve().await;
        let var = "LEDGERD_TEST_HTTP_BEARER";
        // SAFETY: this variable is set once, only by this test, before any read of it.
        #[allow(unsafe_code)]
        unsafe {
            std::env::set_var(var, TOKEN)
        };
        let p = probe(&format!(
            r#"url = "http://{addr}/auth"
bearer_token_env = "{var}"
headers = {{ x-api-key = "{TOKEN}" }}
expect_json = [{{ path = "$.ok", equals = true }}, {{ path = "$.session", equals = "live" }}]"#
        ));
        // The probe's own Debug (logged on config errors) hides header values too.
        assert!(!format!("{p:?}").contains(TOKEN));
        let o = look(&p).await;
        // 200, not 401: the server saw the right token.
        assert_eq!(one(&o, "status"), "200", "{o:?}");
        assert_eq!(o.health, Health::Critical);
        assert_eq!(one(&o, "request_headers"), "x-api-key, authorization");
        assert!(
            one(&o, "expect_json[1]").contains("[redacted sha256:"),
            "{o:?}"
        );
        let debug = format!("{o:?}");
        assert!(!debug.contains(TOKEN), "{debug}");
        assert!(!serde_json::to_string(&o).unwrap().contains(TOKEN));

        // Without the token the server answers 401.
        let anon = probe(&format!(r#"url = "http://{addr}/auth""#));
        assert_eq!(one(&look(&anon).await, "status"), "401");
    }

    #[tokio::test]
    async fn unreadable_token_file_or_unset_var_is_unknown() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("gateway.token");
        let p = probe(&format!(
            r#"url = "http://127.0.0.1:9/health"
bearer_token_file = "{}""#,
            missing.display()
        ));
        let o = look(&p).await;
        assert_finding(&o, Health::Unknown, &missing.display().to_string());
        assert!(o.summary.contains("no such file"), "{o:?}");

        let p = probe(
            r#"url = "http://127.0.0.1:9/health"
bearer_token_env = "LEDGERD_TEST_SURELY_UNSET_VAR""#,
        );
        let o = look(&p).await;
        assert_finding(&o, Health::Unknown, "LEDGERD_TEST_SURELY_UNSET_VAR");
    }

    #[tokio::test]
    async fn body_over_the_cap_is_truncated_and_fails_json_assertions() {
        let addr = serve().await;
        let p = probe(&format!(
            r#"url = "http://{addr}/big"
max_body_bytes = 1000
expect_json = [{{ path = "$", min_len = 1 }}]"#
        ));
        let o = look(&p).await;
        assert_eq!(o.health, Health::Critical);
        assert_eq!(o.summary, "body exceeded cap of 1000 bytes");
        assert_eq!(one(&o, "body_bytes"), "1000");
        assert!(one(&o, "body_truncated").contains("1000"));

        // Without JSON assertions a long body is only noted.
        let p = probe(&format!(
            r#"url = "http://{addr}/big"
max_body_bytes = 1000"#
        ));
        let o = look(&p).await;
        assert_eq!(o.health, Health::Ok, "{o:?}");
        assert!(one(&o, "body_truncated").contains("1000"));
    }

    /// A vendor on 127.0.0.1 that answers two good pages of orders, then `{"data":[]}` with 200.
    async fn vendor() -> SocketAddr {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicUsize, Ordering};
        let calls = Arc::new(AtomicUsize::new(0));
        let app = axum::Router::new().route(
            "/orders",
            get(move || {
                let n = calls.fetch_add(1, Ordering::SeqCst);
                async move {
                    if n < 2 {
                        Json(json!({"data": [{"id": 1, "total": 9.5}], "meta": {"count": 1}, "next_cursor": null}))
                    } else {
                        Json(json!({"data": []}))
                    }
                }
            }),
        );
        testkit::serve(app).await
    }

    async fn look_at(p: &Http, prior: Option<&Value>, now: &str) -> Observation {
        let now = chrono::DateTime::parse_from_rfc3339(now).unwrap().to_utc();
        crate::probe::testkit::look_with(p, Path::new("/"), prior, now).await
    }

    #[tokio::test]
    async fn vendor_answering_empty_200_after_good_runs_is_critical() {
        let addr = vendor().await;
        let p = probe(&format!(
            r#"url = "http://{addr}/orders?since=yesterday"
shape = {{ timezone = "Europe/Madrid" }}"#
        ));
        // Wednesday: two good answers teach the shape
        let first = look_at(&p, None, "2026-05-13T09:00:00Z").await;
        assert_eq!(first.health, Health::Ok, "{first:?}");
        assert!(
            one(&first, "shape").starts_with("learned 7 key paths"),
            "{first:?}"
        );
        let facts = first.facts.clone().unwrap();
        let second = look_at(&p, Some(&facts), "2026-05-13T09:05:00Z").await;
        assert_eq!(second.health, Health::Ok, "{second:?}");
        let facts = second.facts.clone().unwrap();
        // then 200 with nothing in it
        let o = look_at(&p, Some(&facts), "2026-05-13T09:10:00Z").await;
        assert_eq!(o.health, Health::Critical, "{o:?}");
        assert_eq!(
            o.summary,
            "key $.meta, $.next_cursor disappeared from the answer (+1 more failed)"
        );
        assert_eq!(
            one(&o, "shape.lists"),
            "$.data: 0 items on a working day (good runs had 1)"
        );
        assert_eq!(one(&o, "status"), "200");
        // a bad answer teaches nothing: the good runs' shape is kept
        assert_eq!(
            o.facts.as_ref().unwrap()["shape"]["keys"],
            facts["shape"]["keys"]
        );
    }

    #[tokio::test]
    async fn full_page_without_cursor_is_degraded() {
        let addr = serve().await;
        let p = probe(&format!(
            r#"url = "http://{addr}/data?limit=2"
shape = {{ page_items = "$.data" }}"#
        ));
        let o = look_at(&p, None, "2026-05-13T09:00:00Z").await;
        assert_eq!(o.health, Health::Degraded, "{o:?}");
        assert_eq!(
            o.summary,
            "$.data has exactly the page limit (2) and no cursor: later pages are silently dropped"
        );
    }

    #[test]
    fn validate_reports_bad_jsonpath_regex_and_empty_assertion() {
        let keys = testkit::invalid_keys::<Http>(
            r#"url = "http://127.0.0.1:18789/health"
expect_json = [
  { path = "$.[", exists = true },
  { path = "$.ok", matches = "(" },
  { path = "$.ok" },
]
body_matches = ["ok", "["]"#,
        );
        assert_eq!(
            keys,
            [
                "expect_json[2]",
                "expect_json[0].path",
                "expect_json[1].matches",
                "body_matches[1]"
            ]
        );
        let keys = testkit::invalid_keys::<Http>(
            r#"url = "ftp://x"
bearer_token_env = "A"
bearer_token_file = "/b"
expect_status = [99]"#,
        );
        assert_eq!(keys, ["url", "bearer_token_file", "expect_status[0]"]);
        assert!(toml::from_str::<Http>("url = \"http://x\"\nmax_latency = \"fast\"").is_err());
    }

    #[test]
    fn clip_never_leaves_part_of_a_secret_at_the_cut() {
        let text = format!("{}{TOKEN} and more", "a".repeat(115));
        let c = clip(&text, &[TOKEN], 120);
        assert!(!c.contains(&TOKEN[..5]), "{c}");
        assert!(
            c.ends_with(&format!("… ({} chars)", text.chars().count())),
            "{c}"
        );
    }

    #[test]
    fn display_url_hides_password_and_query() {
        assert_eq!(
            display_url("https://u:pw@h.example/x?key=s3cret#frag"),
            "https://u@h.example/x?…"
        );
    }
}
