//! `mcp`: an MCP tool server as its clients see it. Over Streamable HTTP (one JSON-RPC POST
//! endpoint, answers as JSON or an event stream) or the older SSE transport (a GET event stream
//! that names a message endpoint), it runs `initialize` (keeping the `Mcp-Session-Id`) and then
//! times `tools/list` N times with bearer auth from a file or an environment variable, reporting
//! p50/p95 against a limit (lesson 27: keep tool servers responsive). It sends the same calls,
//! and opens the SSE endpoint, without credentials: anything but 401/403 means auth is not
//! enforced (lesson 13). It reads `MCP_AUTH_MODE`-style settings from the server's env file.
//! Tokens are sent, never shown (only a fingerprint); the server's answers are parsed, not
//! quoted. It only calls `initialize`, `notifications/initialized` and `tools/list`: never a tool.

use super::{Health, Invalid, Observation, Probe, ProbeCx, shown_url};
use crate::read;
use crate::redact::{self, Secret};
use serde::{Deserialize, Deserializer};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mcp {
    /// The server's name in findings ("brain-mcp"). Default: the URL's host and port.
    name: Option<String>,
    /// "streamable_http" (POST JSON-RPC to `url`) or "sse" (GET `url` as an event stream, then
    /// POST to the endpoint it names). Default "streamable_http".
    #[serde(default)]
    transport: Transport,
    /// The MCP endpoint, e.g. "http://127.0.0.1:18820/mcp" or, with transport "sse",
    /// "http://127.0.0.1:18820/sse". Required.
    url: String,
    /// An SSE endpoint that must also refuse a client without credentials (lesson 13), e.g.
    /// the "/sse" that `mcp-remote` uses beside a Streamable-HTTP "/mcp". Default none.
    #[serde(default, deserialize_with = "de_nonempty")]
    sse_url: Option<String>,
    /// File holding the bearer token (whitespace trimmed), e.g. one `lgm_…` key. Default none.
    bearer_token_file: Option<PathBuf>,
    /// Environment variable holding the bearer token. Default none.
    bearer_token_env: Option<String>,
    /// Timed `tools/list` calls per run. Default 5.
    #[serde(default = "default_samples")]
    samples: usize,
    /// Highest acceptable p95 of `tools/list`, e.g. "2s"; slower is degraded (lesson 27).
    /// Default "2s".
    #[serde(default = "default_max_p95", deserialize_with = "crate::duration::de")]
    max_p95: Duration,
    /// Fewest tools the server must list. Default 1.
    #[serde(default = "default_min_tools")]
    min_tools: usize,
    /// Send `initialize` and `tools/list` (and open `sse_url`) without credentials and expect
    /// 401/403 (lesson 13). Default true.
    #[serde(default = "super::yes")]
    check_unauthenticated: bool,
    /// The server's env file (KEY=VALUE lines), e.g. "/opt/compai/services/mcp/.env". Default none.
    #[serde(default, deserialize_with = "de_nonempty")]
    env_file: Option<PathBuf>,
    /// Settings the env file must hold, name -> value, e.g. { MCP_AUTH_MODE = "enforce" }.
    /// Default { MCP_AUTH_MODE = "enforce" } when `env_file` is set.
    #[serde(default)]
    env_expect: BTreeMap<String, String>,
}

#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case")]
enum Transport {
    #[default]
    StreamableHttp,
    Sse,
}

fn default_samples() -> usize {
    5
}
fn default_max_p95() -> Duration {
    Duration::from_secs(2)
}
fn default_min_tools() -> usize {
    1
}

/// An optional path or URL; an empty string (a pack variable left unset) is none.
fn de_nonempty<'de, D: Deserializer<'de>, T: From<String>>(d: D) -> Result<Option<T>, D::Error> {
    let s = Option::<String>::deserialize(d)?;
    Ok(s.filter(|s| !s.trim().is_empty()).map(T::from))
}

/// Largest answer read for one JSON-RPC response.
const MAX_BODY: usize = 4 * 1024 * 1024;
const PROTOCOL_VERSION: &str = "2025-03-26";

impl Probe for Mcp {
    const KIND: &'static str = "mcp";
    const SUMMARY: &'static str = "MCP server: initialize + tools/list latency p50/p95 with auth, refused without it, auth mode in its env file";
    const LESSONS: &'static [u32] = &[27, 13];
    const EXAMPLE: &'static str = r#"[probe.brain_mcp]
lessons = [27, 13]
every = "1m"
name = "brain-mcp"
url = "http://127.0.0.1:18820/mcp"
# the legacy endpoint mcp-remote uses must refuse anonymous clients too
sse_url = "http://127.0.0.1:18820/sse"
bearer_token_file = "/opt/compai/credentials/ledgerd-mcp.key"
samples = 5
max_p95 = "2s"
env_file = "/opt/compai/services/mcp/.env"
env_expect = { MCP_AUTH_MODE = "enforce" }
"#;

    fn validate(&self) -> Vec<Invalid> {
        let mut bad = Vec::new();
        for (key, u) in [("url", Some(&self.url)), ("sse_url", self.sse_url.as_ref())] {
            if let Some(u) = u {
                match reqwest::Url::parse(u) {
                    Ok(p) if matches!(p.scheme(), "http" | "https") => {}
                    Ok(p) => bad.push(Invalid::new(
                        key,
                        format!("expected an http or https URL, got scheme {:?}", p.scheme()),
                    )),
                    Err(e) => bad.push(Invalid::new(key, format!("invalid URL: {e}"))),
                }
            }
        }
        if self.bearer_token_file.is_some() && self.bearer_token_env.is_some() {
            bad.push(Invalid::new(
                "bearer_token_file",
                "set only one of bearer_token_file and bearer_token_env",
            ));
        }
        if self.samples == 0 || self.samples > 100 {
            bad.push(Invalid::new("samples", "expected 1 to 100"));
        }
        Invalid::require_longer_than_0s(&mut bad, "max_p95", self.max_p95);
        if !self.env_expect.is_empty() && self.env_file.is_none() {
            bad.push(Invalid::new("env_expect", "needs env_file"));
        }
        bad
    }

    async fn observe(&self, cx: &ProbeCx<'_>) -> Observation {
        let name = self.server_name();
        let deadline = Instant::now() + cx.timeout;
        let mut found = Found::default();

        // 1. the server's env file (lesson 13)
        if let Some(f) = &self.env_file {
            self.check_env_file(cx, f, &name, &mut found).await;
        }

        // 2. the token
        let token = match self.token(cx).await {
            Ok(t) => t,
            Err(e) => {
                found.unknown.push(e);
                None
            }
        };
        let secrets: Vec<String> = token.iter().map(|t| t.expose().to_string()).collect();
        if let Some(t) = &token {
            found.obs_extra.push(("token".into(), t.fingerprint()));
        }

        // 3. authenticated: initialize, then tools/list N times (lesson 27)
        let authed_possible = token.is_some()
            || (self.bearer_token_file.is_none() && self.bearer_token_env.is_none());
        if authed_possible {
            let session = match self.transport {
                Transport::StreamableHttp => {
                    Session::open_http(cx.http, &self.url, token.as_ref(), deadline).await
                }
                Transport::Sse => {
                    Session::open_sse(cx.http, &self.url, token.as_ref(), deadline).await
                }
            };
            match session {
                Err(e) => found.findings.push((
                    Health::Critical,
                    27,
                    "initialize".into(),
                    format!("{name}: initialize failed: {}", redact_all(&e, &secrets)),
                )),
                Ok(s) => {
                    if let Some(id) = &s.session_id {
                        found
                            .obs_extra
                            .push(("mcp_session_id".into(), redact::fingerprint(id)));
                    }
                    let sampled = self.sample_tools_list(s, cx, &secrets, deadline).await;
                    self.judge_tools_list(&name, sampled, &mut found);
                }
            }
        }

        // 4. unauthenticated: must be refused (lesson 13)
        if self.check_unauthenticated {
            self.check_anonymous(cx, &name, deadline, &mut found).await;
        }
        self.summary(&name, &secrets, found)
    }
}

/// What `observe`'s checks found: findings (health, lesson, evidence key, text), what could not
/// be looked at, extra evidence and metrics.
#[derive(Default)]
struct Found {
    findings: Vec<(Health, u32, String, String)>,
    unknown: Vec<String>,
    obs_extra: Vec<(String, String)>,
    metrics: Vec<(&'static str, f64)>,
}

/// What the timed `tools/list` calls gave: each successful call's time, the first call's tool
/// count, and the failure that stopped them, if one did.
struct Sampled {
    times: Vec<Duration>,
    tools: Option<usize>,
    failed: Option<String>,
}

impl Mcp {
    /// The server's name as shown: `name`, else the URL's host:port, else the URL.
    fn server_name(&self) -> String {
        self.name.clone().unwrap_or_else(|| {
            reqwest::Url::parse(&self.url)
                .ok()
                .map(|u| {
                    format!(
                        "{}:{}",
                        u.host_str().unwrap_or("?"),
                        u.port_or_known_default().unwrap_or(0)
                    )
                })
                .unwrap_or_else(|| self.url.clone())
        })
    }

    /// Lesson 13: the server's env file `f` sets what `env_expect` asks (by default
    /// `MCP_AUTH_MODE=enforce`); secret-looking values are shown as fingerprints.
    async fn check_env_file(&self, cx: &ProbeCx<'_>, f: &Path, name: &str, found: &mut Found) {
        let path = cx.resolve(f);
        let mut expect = self.env_expect.clone();
        if expect.is_empty() {
            expect.insert("MCP_AUTH_MODE".into(), "enforce".into());
        }
        let text = match read::text_async(&path, read::SMALL).await {
            Ok(text) => text,
            Err(e) => {
                found.unknown.push(format!("env_file: {e}"));
                return;
            }
        };
        let env = parse_env(&text);
        for (k, want) in &expect {
            let shown = |v: &str| {
                if looks_secret(k) {
                    redact::fingerprint(v)
                } else {
                    format!("{v:?}")
                }
            };
            match env.get(k) {
                Some(v) if v == want => {}
                Some(v) => found.findings.push((
                    Health::Critical,
                    13,
                    "env_file".into(),
                    format!(
                        "{name}: {} sets {k}={} (expected {})",
                        path.display(),
                        shown(v),
                        shown(want)
                    ),
                )),
                None => found.findings.push((
                    Health::Critical,
                    13,
                    "env_file".into(),
                    format!(
                        "{name}: {} lacks {k} (expected {})",
                        path.display(),
                        shown(want)
                    ),
                )),
            }
        }
    }

    /// Times `tools/list` `samples` times in the open session (stopping at the first failure),
    /// then closes it.
    async fn sample_tools_list(
        &self,
        mut s: Session,
        cx: &ProbeCx<'_>,
        secrets: &[String],
        deadline: Instant,
    ) -> Sampled {
        let mut times = Vec::new();
        let mut tools = None;
        let mut failed = None;
        for i in 0..self.samples {
            let started = Instant::now();
            match s.call(cx.http, "tools/list", json!({}), deadline).await {
                Ok(result) => {
                    times.push(started.elapsed());
                    if i == 0 {
                        tools = result
                            .get("tools")
                            .and_then(Value::as_array)
                            .map(|a| a.len());
                    }
                }
                Err(e) => {
                    failed = Some(format!(
                        "tools/list call {} of {} failed: {}",
                        i + 1,
                        self.samples,
                        redact_all(&e, secrets)
                    ));
                    break;
                }
            }
        }
        s.close(cx.http).await;
        Sampled {
            times,
            tools,
            failed,
        }
    }

    /// Lesson 27: judges the sampled `tools/list` calls: failures, p50/p95 against `max_p95`,
    /// and the tool count against `min_tools`.
    fn judge_tools_list(&self, name: &str, sampled: Sampled, found: &mut Found) {
        let Sampled {
            mut times,
            tools,
            failed,
        } = sampled;
        if let Some(f) = failed {
            found.findings.push((
                Health::Critical,
                27,
                "tools_list".into(),
                format!("{name}: {f}"),
            ));
        }
        if !times.is_empty() {
            times.sort();
            let p50 = pctl(&times, 0.50);
            let p95 = pctl(&times, 0.95);
            found
                .metrics
                .push(("tools_list_p50_seconds", p50.as_secs_f64()));
            found
                .metrics
                .push(("tools_list_p95_seconds", p95.as_secs_f64()));
            found.obs_extra.push((
                "latency".into(),
                format!(
                    "tools/list p50 {} p95 {} over {} calls",
                    ms(p50),
                    ms(p95),
                    times.len()
                ),
            ));
            if p95 > self.max_p95 {
                found.findings.push((
                    Health::Degraded,
                    27,
                    "latency".into(),
                    format!(
                        "{name}: tools/list p95 {} over {} calls (p50 {}), limit {}",
                        ms(p95),
                        times.len(),
                        ms(p50),
                        ms(self.max_p95)
                    ),
                ));
            }
        }
        match tools {
            Some(n) if n < self.min_tools => found.findings.push((
                Health::Critical,
                27,
                "tools".into(),
                format!(
                    "{name}: tools/list returned {n} tools (expected at least {})",
                    self.min_tools
                ),
            )),
            Some(n) => found.obs_extra.push(("tools".into(), n.to_string())),
            None if times.is_empty() => {}
            None => found.findings.push((
                Health::Critical,
                27,
                "tools".into(),
                format!("{name}: tools/list result has no tools array"),
            )),
        }
    }

    /// Lesson 13: the same calls, and the SSE endpoint, without credentials must be refused
    /// (401/403).
    async fn check_anonymous(
        &self,
        cx: &ProbeCx<'_>,
        name: &str,
        deadline: Instant,
        found: &mut Found,
    ) {
        let mut anon: Vec<(String, Result<u16, String>)> = Vec::new();
        match self.transport {
            Transport::StreamableHttp => {
                for (method, id) in [("initialize", 1), ("tools/list", 2)] {
                    let body = rpc(id, method, init_params_if(method));
                    anon.push((
                        format!("POST {} {method}", shown_url(&self.url)),
                        status_of(
                            cx.http,
                            reqwest::Method::POST,
                            &self.url,
                            Some(body),
                            deadline,
                        )
                        .await,
                    ));
                }
            }
            Transport::Sse => anon.push((
                format!("GET {}", shown_url(&self.url)),
                status_of(cx.http, reqwest::Method::GET, &self.url, None, deadline).await,
            )),
        }
        if let Some(sse) = &self.sse_url {
            anon.push((
                format!("GET {}", shown_url(sse)),
                status_of(cx.http, reqwest::Method::GET, sse, None, deadline).await,
            ));
        }
        for (what, r) in anon {
            match r {
                Ok(401 | 403) => found.obs_extra.push(("unauthenticated".into(), format!("{what}: refused"))),
                Ok(code) => found.findings.push((
                    Health::Critical,
                    13,
                    "unauthenticated".into(),
                    format!("{name}: {what} without credentials answered {code} (expected 401 or 403): auth is not enforced"),
                )),
                Err(e) => found.unknown.push(format!("{what} without credentials: {e}")),
            }
        }
    }

    /// The observation from what the checks found: the worst finding leads, else the first thing
    /// that could not be looked at, else ok; secrets redacted throughout.
    fn summary(&self, name: &str, secrets: &[String], found: Found) -> Observation {
        let Found {
            mut findings,
            unknown,
            obs_extra,
            metrics,
        } = found;
        findings.sort_by_key(|f| std::cmp::Reverse(f.0.rank()));
        let mut obs = if let Some(o) = super::led_by(&findings, |f| f.0, |f| f.3.clone()) {
            o
        } else if let Some(u) = unknown.first() {
            Observation::unknown(format!("{name}: cannot look: {}", redact_all(u, secrets)))
        } else {
            let lat = obs_extra
                .iter()
                .find(|(k, _)| k == "latency")
                .map_or(String::new(), |(_, v)| format!("; {v}"));
            Observation::ok(format!("{name}: answers with auth, refuses without{lat}"))
        };
        obs = obs
            .expected(format!(
                "initialize and tools/list with auth, p95 at most {}; 401/403 without",
                ms(self.max_p95)
            ))
            .evidence("server", name)
            .evidence("url", shown_url(&self.url));
        for (_, lesson, key, d) in &findings {
            obs = obs.evidence(key, format!("lesson {lesson}: {d}"));
        }
        for u in unknown.iter().take(3) {
            obs = obs.evidence("unknown", redact_all(u, secrets));
        }
        for (k, v) in obs_extra {
            obs = obs.evidence(k, v);
        }
        for (k, v) in metrics {
            obs = obs.metric(k, v);
        }
        obs
    }
    async fn token(&self, cx: &ProbeCx<'_>) -> Result<Option<Secret>, String> {
        if let Some(var) = &self.bearer_token_env {
            return match std::env::var(var) {
                Ok(v) if !v.trim().is_empty() => Ok(Some(Secret::new(v.trim()))),
                _ => Err(format!(
                    "bearer_token_env: environment variable {var} is unset or empty"
                )),
            };
        }
        if let Some(p) = &self.bearer_token_file {
            let path = cx.resolve(p);
            return match read::text_async(&path, read::SMALL).await {
                Ok(v) if !v.trim().is_empty() => Ok(Some(Secret::new(v.trim()))),
                Ok(_) => Err(format!("bearer_token_file: {} is empty", path.display())),
                Err(e) => Err(format!("bearer_token_file: {e}")),
            };
        }
        Ok(None)
    }
}

fn looks_secret(key: &str) -> bool {
    let k = key.to_ascii_uppercase();
    ["TOKEN", "SECRET", "KEY", "PASSWORD", "PASS"]
        .iter()
        .any(|s| k.contains(s))
}

fn redact_all(s: &str, secrets: &[String]) -> String {
    let refs: Vec<&str> = secrets.iter().map(String::as_str).collect();
    redact::redact(s, &refs)
}

/// `KEY=VALUE` lines; `export`, quotes and comments handled.
fn parse_env(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let l = line.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let l = l.strip_prefix("export ").unwrap_or(l);
        if let Some((k, v)) = l.split_once('=') {
            let v = v.trim();
            let v = if let Some(q) = v.strip_prefix('"').and_then(|r| r.split('"').next()) {
                q.to_string()
            } else if let Some(q) = v.strip_prefix('\'').and_then(|r| r.split('\'').next()) {
                q.to_string()
            } else {
                v.split(" #").next().unwrap_or("").trim().to_string()
            };
            out.insert(k.trim().to_string(), v);
        }
    }
    out
}

fn ms(d: Duration) -> String {
    format!("{}ms", d.as_millis())
}

/// Nearest-rank percentile of sorted durations.
fn pctl(sorted: &[Duration], q: f64) -> Duration {
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn init_params_if(method: &str) -> Value {
    if method == "initialize" {
        json!({
            "protocolVersion": PROTOCOL_VERSION,
            "capabilities": {},
            "clientInfo": {"name": "ledgerd", "version": env!("CARGO_PKG_VERSION")},
        })
    } else {
        json!({})
    }
}

fn rpc(id: u64, method: &str, params: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
}

fn left(deadline: Instant) -> Duration {
    deadline
        .saturating_duration_since(Instant::now())
        .max(Duration::from_millis(1))
}

/// The status of a request without credentials; the body is not read (an SSE stream that
/// forgets auth would never end).
async fn status_of(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    body: Option<Value>,
    deadline: Instant,
) -> Result<u16, String> {
    let mut req = http
        .request(method, url)
        .timeout(left(deadline))
        .header("accept", "application/json, text/event-stream");
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.map_err(|e| send_error(&e))?;
    Ok(resp.status().as_u16())
}

/// Sends `req` before the deadline; an answer other than 2xx is an error (`HTTP 503`, after
/// `what: ` when given).
async fn send_ok(
    req: reqwest::RequestBuilder,
    deadline: Instant,
    what: Option<&str>,
) -> Result<reqwest::Response, String> {
    let resp = tokio::time::timeout(left(deadline), req.send())
        .await
        .map_err(|_| "timed out".to_string())?
        .map_err(|e| send_error(&e))?;
    let status = resp.status().as_u16();
    if !(200..300).contains(&status) {
        return Err(match what {
            Some(w) => format!("{w}: HTTP {status}"),
            None => format!("HTTP {status}"),
        });
    }
    Ok(resp)
}

fn send_error(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        "connection failed".into()
    } else {
        let mut s = e.to_string();
        if let Some(src) = std::error::Error::source(e) {
            s.push_str(&format!(": {src}"));
        }
        s
    }
}

/// Incremental server-sent-events parser: bytes in, complete events (event name, data) out.
#[derive(Default)]
struct SseParser {
    buf: String,
    event: String,
    data: Vec<String>,
}

impl SseParser {
    fn push(&mut self, bytes: &[u8]) -> Vec<(String, String)> {
        self.buf.push_str(&String::from_utf8_lossy(bytes));
        let mut out = Vec::new();
        while let Some(nl) = self.buf.find('\n') {
            let line: String = self.buf.drain(..=nl).collect();
            let line = line.trim_end_matches(['\n', '\r']);
            if line.is_empty() {
                if !self.data.is_empty() {
                    let ev = if self.event.is_empty() {
                        "message".to_string()
                    } else {
                        std::mem::take(&mut self.event)
                    };
                    out.push((ev, self.data.join("\n")));
                    self.data.clear();
                }
                self.event.clear();
            } else if let Some(v) = line.strip_prefix("data:") {
                self.data.push(v.strip_prefix(' ').unwrap_or(v).to_string());
            } else if let Some(v) = line.strip_prefix("event:") {
                self.event = v.trim().to_string();
            }
        }
        out
    }
}

/// One open MCP session.
struct Session {
    /// Where JSON-RPC messages are POSTed.
    endpoint: String,
    token: Option<Secret>,
    session_id: Option<String>,
    next_id: u64,
    /// With transport "sse": the open event stream where answers arrive.
    stream: Option<(reqwest::Response, SseParser)>,
}

impl Session {
    fn post(
        &self,
        http: &reqwest::Client,
        body: &Value,
        deadline: Instant,
    ) -> reqwest::RequestBuilder {
        let mut req = http
            .post(&self.endpoint)
            .timeout(left(deadline))
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", PROTOCOL_VERSION)
            .json(body);
        if let Some(t) = &self.token {
            req = req.bearer_auth(t.expose());
        }
        if let Some(id) = &self.session_id {
            req = req.header("mcp-session-id", id);
        }
        req
    }

    async fn open_http(
        http: &reqwest::Client,
        url: &str,
        token: Option<&Secret>,
        deadline: Instant,
    ) -> Result<Session, String> {
        let mut s = Session {
            endpoint: url.to_string(),
            token: token.cloned(),
            session_id: None,
            next_id: 1,
            stream: None,
        };
        let body = rpc(0, "initialize", init_params_if("initialize"));
        let resp = send_ok(s.post(http, &body, deadline), deadline, None).await?;
        s.session_id = resp
            .headers()
            .get("mcp-session-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let answer = read_answer(resp, 0, deadline).await?;
        check_result(&answer)?;
        s.notify_initialized(http, deadline).await;
        Ok(s)
    }

    async fn open_sse(
        http: &reqwest::Client,
        url: &str,
        token: Option<&Secret>,
        deadline: Instant,
    ) -> Result<Session, String> {
        let mut req = http
            .get(url)
            .header("accept", "text/event-stream")
            .timeout(left(deadline));
        if let Some(t) = token {
            req = req.bearer_auth(t.expose());
        }
        let mut resp = send_ok(req, deadline, Some("GET event stream")).await?;
        let base = resp.url().clone();
        let mut parser = SseParser::default();
        let mut endpoint = None;
        let mut read = 0usize;
        while endpoint.is_none() {
            let waiting = Waiting {
                timeout: "timed out waiting for the endpoint event",
                ended: "event stream ended before the endpoint event",
                too_much: "event stream sent no endpoint event in 4 MiB",
            };
            for (ev, data) in
                next_events(&mut resp, &mut parser, &mut read, deadline, waiting).await?
            {
                if ev == "endpoint" {
                    endpoint = Some(
                        base.join(data.trim())
                            .map_err(|e| format!("bad endpoint event: {e}"))?
                            .to_string(),
                    );
                }
            }
        }
        let mut s = Session {
            endpoint: endpoint.unwrap_or_default(),
            token: token.cloned(),
            session_id: None,
            next_id: 1,
            stream: Some((resp, parser)),
        };
        let answer = s
            .call_raw(http, "initialize", init_params_if("initialize"), deadline)
            .await?;
        check_result(&answer)?;
        s.notify_initialized(http, deadline).await;
        Ok(s)
    }

    async fn notify_initialized(&self, http: &reqwest::Client, deadline: Instant) {
        let body = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
        let _ = tokio::time::timeout(left(deadline), self.post(http, &body, deadline).send()).await;
    }

    /// Sends a request and returns the whole JSON-RPC answer.
    async fn call_raw(
        &mut self,
        http: &reqwest::Client,
        method: &str,
        params: Value,
        deadline: Instant,
    ) -> Result<Value, String> {
        let id = self.next_id;
        self.next_id += 1;
        let body = rpc(id, method, params);
        let resp = send_ok(self.post(http, &body, deadline), deadline, None).await?;
        match &mut self.stream {
            None => read_answer(resp, id, deadline).await,
            Some((stream, parser)) => {
                drop(resp);
                let mut read = 0usize;
                loop {
                    let waiting = Waiting {
                        timeout: "timed out waiting for the answer",
                        ended: "event stream ended",
                        too_much: "no answer in 4 MiB of events",
                    };
                    let events = next_events(stream, parser, &mut read, deadline, waiting).await?;
                    if let Some(v) = answer_among(events, id) {
                        return Ok(v);
                    }
                }
            }
        }
    }

    /// Sends a request and returns its `result`.
    async fn call(
        &mut self,
        http: &reqwest::Client,
        method: &str,
        params: Value,
        deadline: Instant,
    ) -> Result<Value, String> {
        let answer = self.call_raw(http, method, params, deadline).await?;
        check_result(&answer)?;
        Ok(answer.get("result").cloned().unwrap_or(Value::Null))
    }

    /// Ends a Streamable-HTTP session (DELETE with the session id); drops an SSE stream.
    async fn close(self, http: &reqwest::Client) {
        if self.stream.is_none()
            && let Some(id) = &self.session_id
        {
            let _ = tokio::time::timeout(Duration::from_secs(2), async {
                let mut req = http.delete(&self.endpoint).header("mcp-session-id", id);
                if let Some(t) = &self.token {
                    req = req.bearer_auth(t.expose());
                }
                req.send().await
            })
            .await;
        }
    }
}

fn check_result(answer: &Value) -> Result<(), String> {
    if let Some(e) = answer.get("error") {
        let code = e.get("code").and_then(Value::as_i64).unwrap_or(0);
        return Err(format!("JSON-RPC error {code}"));
    }
    if answer.get("result").is_none() {
        return Err("answer has no result".into());
    }
    Ok(())
}

/// Reads a POST's answer: JSON, or an event stream read until the message with `id`.
/// What a wait on an event stream says when it times out, when the stream ends, and when 4 MiB
/// pass without what it waits for.
struct Waiting {
    timeout: &'static str,
    ended: &'static str,
    too_much: &'static str,
}

/// The events in the next chunk of an event stream, counting the bytes in `read`.
async fn next_events(
    resp: &mut reqwest::Response,
    parser: &mut SseParser,
    read: &mut usize,
    deadline: Instant,
    waiting: Waiting,
) -> Result<Vec<(String, String)>, String> {
    let chunk = tokio::time::timeout(left(deadline), resp.chunk())
        .await
        .map_err(|_| waiting.timeout.to_string())?
        .map_err(|e| send_error(&e))?
        .ok_or(waiting.ended)?;
    *read += chunk.len();
    if *read > MAX_BODY {
        return Err(waiting.too_much.into());
    }
    Ok(parser.push(&chunk))
}

/// The JSON-RPC answer with `id` among the events' data, if there.
fn answer_among(events: Vec<(String, String)>, id: u64) -> Option<Value> {
    events
        .into_iter()
        .filter_map(|(_, data)| serde_json::from_str::<Value>(&data).ok())
        .find(|v| v.get("id").and_then(Value::as_u64) == Some(id))
}

async fn read_answer(
    mut resp: reqwest::Response,
    id: u64,
    deadline: Instant,
) -> Result<Value, String> {
    let is_sse = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.starts_with("text/event-stream"));
    let mut parser = SseParser::default();
    let mut body = Vec::new();
    loop {
        let chunk = tokio::time::timeout(left(deadline), resp.chunk())
            .await
            .map_err(|_| "timed out reading the answer".to_string())?
            .map_err(|e| send_error(&e))?;
        let Some(chunk) = chunk else { break };
        if body.len() + chunk.len() > MAX_BODY {
            return Err("answer larger than 4 MiB".into());
        }
        if is_sse && let Some(v) = answer_among(parser.push(&chunk), id) {
            return Ok(v);
        }
        body.extend_from_slice(&chunk);
    }
    if is_sse {
        return Err("event stream ended without the answer".into());
    }
    serde_json::from_slice(&body).map_err(|e| format!("answer is not JSON: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::testkit::{self, assert_finding, assert_health, look_in, text};
    use axum::extract::{Query, State};
    use axum::http::{HeaderMap, StatusCode};
    use axum::response::{IntoResponse, Response};
    use axum::routing::{get, post};
    use std::net::SocketAddr;
    use std::sync::{Arc, Mutex};

    const KEY: &str = "lgm_0123456789abcdef0123456789abcdef";

    #[derive(Clone, Default)]
    struct Srv {
        /// tools/list delay
        slow: Duration,
        /// the /sse endpoint forgets to check auth
        sse_open: bool,
        /// legacy transport: session id -> sender into that session's event stream
        streams: Arc<Mutex<BTreeMap<String, tokio::sync::mpsc::UnboundedSender<String>>>>,
        sessions: Arc<Mutex<u32>>,
    }

    fn authed(h: &HeaderMap) -> bool {
        h.get("authorization").and_then(|v| v.to_str().ok()) == Some(&format!("Bearer {KEY}"))
    }

    fn answer(id: &Value, method: &str) -> Value {
        match method {
            "initialize" => {
                json!({"jsonrpc":"2.0","id":id,"result":{"protocolVersion":PROTOCOL_VERSION,"capabilities":{"tools":{}},"serverInfo":{"name":"brain","version":"1"}}})
            }
            "tools/list" => {
                json!({"jsonrpc":"2.0","id":id,"result":{"tools":[{"name":"skill_read"},{"name":"hr_leaves"}]}})
            }
            _ => json!({"jsonrpc":"2.0","id":id,"error":{"code":-32601,"message":"no"}}),
        }
    }

    async fn mcp_post(State(s): State<Srv>, h: HeaderMap, body: axum::Json<Value>) -> Response {
        if !authed(&h) {
            return (StatusCode::UNAUTHORIZED, "missing bearer").into_response();
        }
        let method = body["method"].as_str().unwrap_or("").to_string();
        if body.get("id").is_none() {
            return StatusCode::ACCEPTED.into_response();
        }
        if method == "initialize" {
            let mut n = s.sessions.lock().unwrap();
            *n += 1;
            let mut r = axum::Json(answer(&body["id"], &method)).into_response();
            r.headers_mut()
                .insert("mcp-session-id", format!("sess-{n}").parse().unwrap());
            return r;
        }
        if h.get("mcp-session-id").is_none() {
            return (StatusCode::BAD_REQUEST, "no session").into_response();
        }
        if !s.slow.is_zero() {
            tokio::time::sleep(s.slow).await;
        }
        // answer as an event stream, as Streamable HTTP servers may
        let ev = format!("event: message\ndata: {}\n\n", answer(&body["id"], &method));
        ([("content-type", "text/event-stream")], ev).into_response()
    }

    async fn sse_get(State(s): State<Srv>, h: HeaderMap) -> Response {
        if !s.sse_open && !authed(&h) {
            return (StatusCode::UNAUTHORIZED, "missing bearer").into_response();
        }
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<String>();
        let sid = format!("s{}", s.streams.lock().unwrap().len() + 1);
        tx.send(format!(
            "event: endpoint\ndata: /messages?sessionId={sid}\n\n"
        ))
        .unwrap();
        s.streams.lock().unwrap().insert(sid, tx);
        let stream = futures::stream::unfold(rx, |mut rx| async move {
            rx.recv()
                .await
                .map(|m| (Ok::<_, std::convert::Infallible>(m), rx))
        });
        (
            [("content-type", "text/event-stream")],
            axum::body::Body::from_stream(stream),
        )
            .into_response()
    }

    async fn sse_post(
        State(s): State<Srv>,
        h: HeaderMap,
        Query(q): Query<BTreeMap<String, String>>,
        body: axum::Json<Value>,
    ) -> Response {
        if !authed(&h) {
            return StatusCode::UNAUTHORIZED.into_response();
        }
        let tx = s.streams.lock().unwrap().get(&q["sessionId"]).cloned();
        if let (Some(tx), Some(_)) = (tx, body.get("id")) {
            let method = body["method"].as_str().unwrap_or("");
            tx.send(format!(
                "event: message\ndata: {}\n\n",
                answer(&body["id"], method)
            ))
            .unwrap();
        }
        StatusCode::ACCEPTED.into_response()
    }

    async fn serve(srv: Srv) -> SocketAddr {
        let app = axum::Router::new()
            .route("/mcp", post(mcp_post))
            .route("/sse", get(sse_get))
            .route("/messages", post(sse_post))
            .with_state(srv);
        testkit::serve(app).await
    }

    fn probe(src: &str) -> Mcp {
        testkit::parse(src)
    }

    fn setup() -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("mcp.key"), format!("{KEY}\n")).unwrap();
        std::fs::write(
            d.path().join("mcp.env"),
            "# brain MCP\nexport MCP_AUTH_MODE=enforce\nMCP_PORT=18820\n",
        )
        .unwrap();
        d
    }

    /// Serves `srv`, then looks with the probe `conf` writes for its address, from `d`.
    /// Serves `srv` and looks with the probe table `conf`, `{addr}` replaced by its address.
    async fn look_at(srv: Srv, d: &tempfile::TempDir, conf: &str) -> Observation {
        let addr = serve(srv).await;
        look_in(&probe(&conf.replace("{addr}", &addr.to_string())), d.path()).await
    }

    #[tokio::test]
    async fn responsive_server_that_enforces_auth_is_ok() {
        let d = setup();
        let o = look_at(Srv::default(), &d, "name = \"brain-mcp\"\nurl = \"http://{addr}/mcp\"\nsse_url = \"http://{addr}/sse\"\nbearer_token_file = \"mcp.key\"\nenv_file = \"mcp.env\"\nsamples = 4").await;
        assert_health(&o, Health::Ok);
        let t = text(&o);
        testkit::assert_contains(&t, &["tools: 2", "over 4 calls", "/sse: refused"]);
        assert!(!t.contains(KEY), "{t}");
        assert!(t.contains(&redact::fingerprint(KEY)), "{t}");
    }

    #[tokio::test]
    async fn legacy_sse_transport_works() {
        let d = setup();
        let o = look_at(Srv::default(), &d, "transport = \"sse\"\nurl = \"http://{addr}/sse\"\nbearer_token_file = \"mcp.key\"\nsamples = 3").await;
        assert_health(&o, Health::Ok);
        assert!(text(&o).contains("over 3 calls"), "{}", text(&o));
    }

    #[tokio::test]
    async fn slow_server_is_degraded_with_p95() {
        let d = setup();
        let srv = Srv {
            slow: Duration::from_millis(150),
            ..Srv::default()
        };
        let o = look_at(srv, &d, "url = \"http://{addr}/mcp\"\nbearer_token_file = \"mcp.key\"\nsamples = 3\nmax_p95 = \"50ms\"").await;
        assert_health(&o, Health::Degraded);
        assert!(o.summary.contains("tools/list p95 1"), "{o:?}");
        assert!(o.summary.contains("over 3 calls"), "{o:?}");
        assert!(o.summary.contains("limit 50ms"), "{o:?}");
    }

    #[tokio::test]
    async fn sse_endpoint_that_forgets_auth_and_auth_mode_off_are_critical() {
        let d = setup();
        std::fs::write(d.path().join("mcp.env"), "MCP_AUTH_MODE=\"off\"\n").unwrap();
        let srv = Srv {
            sse_open: true,
            ..Srv::default()
        };
        let o = look_at(srv, &d, "name = \"brain-mcp\"\nurl = \"http://{addr}/mcp\"\nsse_url = \"http://{addr}/sse\"\nbearer_token_file = \"mcp.key\"\nenv_file = \"mcp.env\"").await;
        assert_health(&o, Health::Critical);
        let t = text(&o);
        assert!(
            t.contains("lesson 13: brain-mcp: GET http://127.0.0.1:")
                && t.contains("/sse without credentials answered 200 (expected 401 or 403): auth is not enforced"),
            "{t}"
        );
        testkit::assert_contains(&t, &["sets MCP_AUTH_MODE=\"off\" (expected \"enforce\")"]);
    }

    #[tokio::test]
    async fn wrong_token_is_critical_and_missing_token_or_down_server_reported() {
        let d = setup();
        std::fs::write(d.path().join("bad.key"), "lgm_wrong_key_000000000000000000").unwrap();
        let o = look_at(
            Srv::default(),
            &d,
            "url = \"http://{addr}/mcp\"\nbearer_token_file = \"bad.key\"",
        )
        .await;
        assert_finding(&o, Health::Critical, "initialize failed: HTTP 401");
        assert!(!text(&o).contains("lgm_wrong_key"), "{o:?}");
        // the token file is missing and the server is down: nothing can be judged
        let p = probe(
            "url = \"http://127.0.0.1:9/mcp\"\nbearer_token_file = \"none.key\"\ncheck_unauthenticated = false",
        );
        let o = look_in(&p, d.path()).await;
        assert_finding(&o, Health::Unknown, "none.key: no such file");
    }

    #[test]
    fn validate_names_the_key() {
        let keys = testkit::invalid_keys::<Mcp>(
            "url = \"ftp://x\"\nbearer_token_file = \"a\"\nbearer_token_env = \"B\"\nsamples = 0\nenv_expect = { A = \"b\" }",
        );
        assert_eq!(keys, ["url", "bearer_token_file", "samples", "env_expect"]);
    }

    #[test]
    fn sse_parser_joins_chunks() {
        let mut p = SseParser::default();
        assert!(p.push(b"event: endpoint\nda").is_empty());
        let ev = p.push(b"ta: /messages?sessionId=1\n\ndata: {\"id\":1}\n\n");
        assert_eq!(
            ev,
            [
                ("endpoint".to_string(), "/messages?sessionId=1".to_string()),
                ("message".to_string(), "{\"id\":1}".to_string())
            ]
        );
    }
}
