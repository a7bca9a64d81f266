//! Issue 9's lessons end to end through the real binary: the OpenClaw pack (per agent) and the kit
//! pack (brain, LLM usage, review queue, connectors, MCP server) on the fixture host trees
//! `tests/data/hosts/agents/{bad,good}`, with loopback stand-ins for the vendor API, the owned
//! adapters and the MCP server, and a usage database generated here with busy-hour failures. The
//! bad tree is flagged per lesson with the subject named; the good twin is silent. No `command`
//! probe is involved.

use crate::support::*;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::Duration;

const VENDOR_TOKEN: &str = "stk-fixture-token-not-a-secret";
const MCP_KEY: &str = "mcp_fixture_key_not_a_secret_0001";

fn copy_tree(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    for e in std::fs::read_dir(src).unwrap() {
        let e = e.unwrap();
        let (from, to) = (e.path(), dst.join(e.file_name()));
        let ft = e.file_type().unwrap();
        if ft.is_dir() {
            copy_tree(&from, &to);
        } else if ft.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(&from).unwrap(), &to).unwrap();
        } else {
            std::fs::copy(&from, &to).unwrap();
        }
    }
}

/// Replaces `from` by `to` in every regular file below `root`.
fn replace_all(root: &Path, from: &str, to: &str) {
    for e in std::fs::read_dir(root).unwrap() {
        let e = e.unwrap();
        let ft = e.file_type().unwrap();
        if ft.is_dir() {
            replace_all(&e.path(), from, to);
        } else if ft.is_file() {
            let t = std::fs::read_to_string(e.path()).unwrap_or_default();
            if t.contains(from) {
                std::fs::write(e.path(), t.replace(from, to)).unwrap();
            }
        }
    }
}

/// Serves an axum router on 127.0.0.1:0 from a background thread with its own runtime.
fn serve(app: axum::Router) -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.set_nonblocking(true).unwrap();
    let addr = l.local_addr().unwrap();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let l = tokio::net::TcpListener::from_std(l).unwrap();
            axum::serve(l, app).await.unwrap();
        });
    });
    addr.to_string()
}

/// The vendor API (Stockagile wants `Token`, and 404s a trailing slash) and the owned adapters.
fn vendor() -> String {
    async fn products(h: HeaderMap, uri: axum::http::Uri) -> Response {
        let auth = h.get("authorization").and_then(|v| v.to_str().ok());
        if auth != Some(&format!("Token {VENDOR_TOKEN}")) {
            return (StatusCode::UNAUTHORIZED, "invalid token header").into_response();
        }
        if uri.path().ends_with('/') {
            return (StatusCode::NOT_FOUND, "not found").into_response();
        }
        axum::Json(json!({"data": [{"sku": "MAR-01"}]})).into_response()
    }
    use axum::routing::get;
    serve(
        axum::Router::new()
            .route("/v2/products", get(products))
            .route("/v2/products/", get(products))
            .route(
                "/leaves/health",
                get(|| async { axum::Json(json!({"session": "valid"})) }),
            )
            .route(
                "/expired/leaves/health",
                get(|| async { axum::response::Redirect::to("/login?next=/leaves") }),
            )
            .route("/holded/health", get(|| async { "ok" })),
    )
}

/// A Streamable-HTTP MCP server; `slow` delays tools/list, `open_sse` forgets auth on /sse.
fn mcp(slow: Duration, open_sse: bool) -> String {
    use axum::routing::{get, post};
    let authed = |h: &HeaderMap| {
        h.get("authorization").and_then(|v| v.to_str().ok()) == Some(&format!("Bearer {MCP_KEY}"))
    };
    let app = axum::Router::new()
        .route(
            "/mcp",
            post(move |h: HeaderMap, body: axum::Json<Value>| async move {
                if !authed(&h) {
                    return (StatusCode::UNAUTHORIZED, "bearer required").into_response();
                }
                let Some(id) = body.get("id").cloned() else {
                    return StatusCode::ACCEPTED.into_response();
                };
                match body["method"].as_str() {
                    Some("initialize") => {
                        let mut r = axum::Json(json!({"jsonrpc":"2.0","id":id,"result":{"protocolVersion":"2025-03-26","capabilities":{"tools":{}},"serverInfo":{"name":"brain","version":"1"}}})).into_response();
                        r.headers_mut().insert("mcp-session-id", "fixture-session".parse().unwrap());
                        r
                    }
                    Some("tools/list") if h.get("mcp-session-id").is_some() => {
                        tokio::time::sleep(slow).await;
                        axum::Json(json!({"jsonrpc":"2.0","id":id,"result":{"tools":[{"name":"skill_read"},{"name":"hr_leaves"}]}})).into_response()
                    }
                    _ => (StatusCode::BAD_REQUEST, "no session").into_response(),
                }
            }),
        )
        .route(
            "/sse",
            get(move |h: HeaderMap| async move {
                if !open_sse && !authed(&h) {
                    return (StatusCode::UNAUTHORIZED, "bearer required").into_response();
                }
                ([("content-type", "text/event-stream")], "event: endpoint\ndata: /messages\n\n")
                    .into_response()
            }),
        );
    serve(app)
}

/// The kit's usage database: a week of calls. Good: the CS drafter on Anthropic and internal
/// work on the Codex subscription. Bad: internal summaries on a cheap route that fails in
/// Madrid's working hours and falls back to the same provider, a free-tier route, and no traffic
/// on the subscription.
fn usage_db(path: &Path, bad: bool) {
    // git keeps no empty folders: the fixture's state/ may not exist in a clean clone
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let c = rusqlite::Connection::open(path).unwrap();
    c.execute_batch(
        "PRAGMA journal_mode=WAL;
         CREATE TABLE llm_usage (id INTEGER PRIMARY KEY AUTOINCREMENT, ts TEXT NOT NULL,
           provider TEXT NOT NULL, model TEXT NOT NULL, tokens_in INTEGER DEFAULT 0,
           tokens_out INTEGER DEFAULT 0, cost_usd REAL DEFAULT 0.0, latency_ms INTEGER DEFAULT 0,
           caller TEXT, ok INTEGER DEFAULT 1, error TEXT);",
    )
    .unwrap();
    let now = chrono::Utc::now();
    let day0 = now.date_naive().and_hms_opt(0, 0, 0).unwrap().and_utc();
    let ins = |at: chrono::DateTime<chrono::Utc>,
               p: &str,
               m: &str,
               caller: &str,
               ok: bool,
               lat: i64,
               cost: f64| {
        c.execute(
            "INSERT INTO llm_usage (ts, provider, model, cost_usd, latency_ms, caller, ok, error) VALUES (?1,?2,?3,?4,?5,?6,?7,?8)",
            rusqlite::params![at.to_rfc3339(), p, m, cost, lat, caller, ok as i64, if ok { None } else { Some("HTTP 429: rate limit exceeded for key sk-or-fixture-123456") }],
        )
        .unwrap();
    };
    for day in 1..=5 {
        for hour in 0..24i64 {
            let at = day0 - chrono::Duration::days(day) + chrono::Duration::hours(hour);
            ins(
                at,
                "anthropic",
                "sonnet-4.5",
                "cs-factory:drafter",
                true,
                1100,
                0.02,
            );
            // Madrid (UTC+1/+2) working hours, roughly 08:00-16:00 UTC
            let busy = (8..16).contains(&hour);
            for k in 0..3i64 {
                let t = at + chrono::Duration::minutes(k * 15);
                if !bad {
                    ins(
                        t,
                        "openai-codex",
                        "gpt-5.4",
                        "hub:summaries",
                        true,
                        1500,
                        0.0,
                    );
                } else if busy && k < 2 {
                    ins(t, "qwen", "qwen-turbo", "hub:summaries", false, 9000, 0.0);
                    ins(
                        t + chrono::Duration::seconds(4),
                        "qwen",
                        "qwen-plus",
                        "hub:summaries",
                        true,
                        2500,
                        0.002,
                    );
                } else {
                    ins(t, "qwen", "qwen-turbo", "hub:summaries", true, 800, 0.0001);
                }
            }
            if bad && hour % 6 == 0 {
                ins(
                    at,
                    "openrouter",
                    "meta-llama/llama-3.3-70b:free",
                    "marketing:captions",
                    true,
                    1300,
                    0.0,
                );
            }
        }
    }
}

struct Host {
    _tmp: tempfile::TempDir,
    config: PathBuf,
}

fn host(which: &str) -> Host {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("host");
    copy_tree(&data(&format!("hosts/agents/{which}")), &root);
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    replace_all(&root, "TODAY", &today);
    let vendor = vendor();
    replace_all(&root.join("opt/compai/connectors"), "LOOPBACK", &vendor);
    usage_db(&root.join("opt/compai/state/llm-usage.db"), which == "bad");
    let mcp = if which == "bad" {
        mcp(Duration::from_millis(250), true)
    } else {
        mcp(Duration::ZERO, false)
    };
    let r = root.display();
    let config = tmp.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            r#"include = [
  {{ path = "builtin:openclaw.toml", prefix = "cs_", vars = {{ agent = "cs", home = "/home/cs", root = "{r}", use_systemd = false, use_launchd = false, use_proc = false, use_watchdog = false, untrusted_input = true }} }},
  {{ path = "builtin:kit.toml", prefix = "kit_", vars = {{ root = "{r}", subscription_route = "openai-codex/*", mcp_url = "http://{mcp}/mcp", mcp_sse_url = "http://{mcp}/sse", mcp_max_p95 = "150ms", review_domain = "cs" }} }},
]
[daemon]
state_dir = "{}"
listen = "127.0.0.1:{}"
"#,
            tmp.path().join("state").display(),
            free_port()
        ),
    )
    .unwrap();
    Host { _tmp: tmp, config }
}

fn check(config: &Path) -> Vec<Value> {
    let o = ledgerd(&[
        "check",
        "--format",
        "json",
        "--config",
        config.to_str().unwrap(),
    ]);
    let v: Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", stdout(&o), stderr(&o)));
    let all = serde_json::to_string(&v).unwrap();
    for secret in [VENDOR_TOKEN, MCP_KEY, "sk-or-fixture-123456"] {
        assert!(!all.contains(secret), "{secret} leaked: {all}");
    }
    v["results"].as_array().unwrap().clone()
}

fn result<'a>(results: &'a [Value], probe: &str) -> &'a Value {
    results
        .iter()
        .find(|r| r["probe"] == probe)
        .unwrap_or_else(|| panic!("no result for {probe}: {results:#?}"))
}

fn text_of(r: &Value) -> String {
    let o = &r["observation"];
    let mut t = format!("{}\n", o["summary"].as_str().unwrap_or(""));
    for e in o["evidence"].as_array().into_iter().flatten() {
        t.push_str(&format!(
            "{}: {}\n",
            e["key"].as_str().unwrap_or(""),
            e["value"].as_str().unwrap_or("")
        ));
    }
    t
}

/// The probes this issue adds, in the two packs.
const PROBES: &[&str] = &[
    "cs_soul",
    "cs_memory",
    "cs_skills",
    "kit_brain_freshness",
    "kit_llm_routes",
    "kit_review_queue",
    "kit_connectors",
    "kit_mcp_server",
];

/// (lesson, probe, needle naming the subject) for each planted violation.
const PLANTED: &[(u64, &str, &str)] = &[
    (22, "cs_soul", "lacks section \"Security & Safety\""),
    (
        22,
        "cs_soul",
        "lacks section \"Customer Message Processing\" (the agent reads untrusted input)",
    ),
    (22, "cs_soul", "has 1 of 4 required phrases"),
    (23, "cs_soul", "agent: cs"),
    (7, "cs_memory", "\"- Ana Ruiz is the CEO.\" appears 4 times"),
    (
        7,
        "cs_memory",
        "memory-hygiene job jobs[1] \"SuperMemory Dedup\" (id d3e4b5) is disabled",
    ),
    (15, "cs_skills", "skill vip-returns of agent cs"),
    (
        8,
        "kit_brain_freshness",
        "policies.md: stale since 2026-02-09 (stale_after 30)",
    ),
    (
        8,
        "kit_brain_freshness",
        "launch-checklist.md: missing source_of_truth, last_verified, stale_after, confidence",
    ),
    (
        21,
        "kit_llm_routes",
        "collapses at peak: caller hub:summaries route qwen/qwen-turbo",
    ),
    (
        21,
        "kit_llm_routes",
        "caller hub:summaries fell back from qwen/qwen-turbo to qwen/qwen-plus",
    ),
    (
        29,
        "kit_llm_routes",
        "paid subscription route openai-codex/* carried no calls",
    ),
    (
        24,
        "kit_llm_routes",
        "caller marketing:captions uses free-tier route openrouter/meta-llama/llama-3.3-70b:free",
    ),
    (
        9,
        "kit_review_queue",
        "evt-1002.md auto-sent in domain cs with category international_shipping, not promoted",
    ),
    (
        9,
        "kit_review_queue",
        "authority_matrix.customer_facing.approval_required = false for class customer_facing",
    ),
    (6, "kit_connectors", "connector stockagile: GET"),
    (6, "kit_connectors", "with scheme Bearer answered 401"),
    (6, "kit_connectors", "the URL ends in /"),
    (
        10,
        "kit_connectors",
        "adapter hr-leaves: blocked_reauth_required",
    ),
    (
        10,
        "kit_connectors",
        "runbook: https://wiki.example/runbooks/relogin-accounting",
    ),
    (17, "kit_connectors", "adapter holded-scraper"),
    (17, "kit_connectors", "lacks $.health_url, $.owner_role"),
    (27, "kit_mcp_server", "tools/list p95 2"),
    (
        13,
        "kit_mcp_server",
        "/sse without credentials answered 200 (expected 401 or 403): auth is not enforced",
    ),
    (
        13,
        "kit_mcp_server",
        "sets MCP_AUTH_MODE=\"off\" (expected \"enforce\")",
    ),
];

#[test]
fn agent_lessons_are_flagged_on_the_bad_tree_with_their_subject() {
    let h = host("bad");
    let results = check(&h.config);
    for (lesson, probe, needle) in PLANTED {
        let r = result(&results, probe);
        let lessons: Vec<u64> = r["lessons"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l.as_u64().unwrap())
            .collect();
        assert!(
            lessons.contains(lesson),
            "{probe} must cite lesson {lesson}: {r:#}"
        );
        let health = r["observation"]["health"].as_str().unwrap();
        assert!(
            health == "degraded" || health == "critical",
            "{probe} (lesson {lesson}) must flag the planted violation: {r:#}"
        );
        let text = text_of(r);
        assert!(
            text.contains(needle),
            "{probe} (lesson {lesson}): evidence lacks {needle:?}:\n{text}"
        );
    }
}

#[test]
fn agent_lessons_are_silent_on_the_good_twin() {
    let h = host("good");
    let results = check(&h.config);
    for p in PROBES {
        let r = result(&results, p);
        assert_eq!(r["observation"]["health"], "ok", "{p}: {}", text_of(r));
    }
}
