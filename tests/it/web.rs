//! The web server against a running daemon with planted violations: the JSON API validated
//! against its own OpenAPI document, acknowledgements reaching the channels, `/metrics` accepted
//! by `promtool`, the alert rules checked by `promtool`, auth and cross-site refusals, and a real
//! headless Chromium that must show the violated lessons on top and keep hostile text inert.

use crate::support::*;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const T: Duration = Duration::from_secs(30);
const HOSTILE_SCRIPT: &str = "<script>alert(1)</script>";
const HOSTILE_IMG: &str = "<img src=x onerror=\"document.title='pwned'\">";

/// Writes a config listening on a free loopback port; returns (path, base URL).
fn web_config(dir: &Path, daemon_extra: &str, body: &str) -> (PathBuf, String) {
    let port = free_port();
    let path = dir.join("config.toml");
    std::fs::write(
        &path,
        format!(
            "[daemon]\nstate_dir = \"{}\"\nlisten = \"127.0.0.1:{port}\"\nhost = \"web-test\"\n{daemon_extra}\n\n{body}",
            dir.join("state").display()
        ),
    )
    .unwrap();
    (path, format!("http://127.0.0.1:{port}"))
}

/// Probes that violate lessons 22 (hostile output) and 26 (HTTP 200 with empty data), and one
/// that holds lesson 14. The hostile text comes from a file so no quoting can soften it.
fn planted(dir: &Path, receiver: &Receiver, hook: &Receiver) -> String {
    let hostile = dir.join("hostile.txt");
    std::fs::write(
        &hostile,
        format!("data: [] {HOSTILE_SCRIPT} {HOSTILE_IMG}\n"),
    )
    .unwrap();
    format!(
        r#"[probe.hostile]
kind = "command"
lesson = 22
every = "1s"
fail_after = 1
argv = ["sh", "-c", "cat '{hostile}'; exit 3"]

[probe.vendor_api]
kind = "http"
lesson = 26
every = "1s"
fail_after = 1
url = "{url}"
expect_status = [200]
expect_json = [{{ path = "$.data", min_len = 1 }}]

[probe.cron_env_ok]
kind = "command"
lesson = 14
every = "1s"
argv = ["true"]

[channel.hook]
kind = "webhook"
group_wait = "0s"
url = "{hook}"
"#,
        hostile = hostile.display(),
        url = receiver.url("/v1/orders"),
        hook = hook.url("/hook"),
    )
}

struct Resp {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: String,
}

impl Resp {
    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
    fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    }
}

/// One HTTP request on loopback, redirects not followed.
fn http(method: &str, url: &str, headers: &[(&str, &str)], body: Option<&str>) -> Resp {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        let mut r = client.request(method.parse().unwrap(), url);
        for (k, v) in headers {
            r = r.header(*k, *v);
        }
        if let Some(b) = body {
            r = r.body(b.to_string());
        }
        let resp = r
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
        Resp {
            status: resp.status().as_u16(),
            headers: resp.headers().clone(),
            body: resp.text().await.unwrap(),
        }
    })
}

fn get_json(url: &str) -> serde_json::Value {
    let r = http("GET", url, &[], None);
    assert_eq!(r.status, 200, "GET {url}: {}", r.body);
    r.json()
}

fn wait_ready(base: &str) {
    wait_for("the daemon's /healthz", T, || {
        get(&format!("{base}/healthz")).filter(|(s, _)| *s == 200)
    });
}

/// Waits until both planted violations have open incidents and returns the hostile one's id.
fn wait_violations(base: &str) -> i64 {
    wait_for("open incidents for both planted violations", T, || {
        let v = get_json(&format!("{base}/api/v1/incidents?open=true"));
        let items = v.as_array()?.clone();
        let probes: BTreeSet<&str> = items.iter().filter_map(|i| i["probe"].as_str()).collect();
        if !(probes.contains("hostile") && probes.contains("vendor_api")) {
            return None;
        }
        items
            .iter()
            .find(|i| i["probe"] == "hostile")
            .and_then(|i| i["id"].as_i64())
    })
}

/// Validates `instance` against the schema the OpenAPI document declares for `path`, `method`
/// and `status`, with the document's components resolvable.
fn conforms(
    doc: &serde_json::Value,
    path: &str,
    method: &str,
    status: u16,
    instance: &serde_json::Value,
) {
    let escaped = path
        .replace('~', "~0")
        .replace('/', "~1")
        .replace('{', "%7B")
        .replace('}', "%7D");
    let mut schema = doc.clone();
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema".into();
    schema["$ref"] =
        format!("#/paths/{escaped}/{method}/responses/{status}/content/application~1json/schema")
            .into();
    assert!(
        doc["paths"][path][method]["responses"][status.to_string()]["content"]["application/json"]
            ["schema"]
            .is_object(),
        "the OpenAPI document has no JSON schema for {method} {path} {status}"
    );
    let v = jsonschema::validator_for(&schema).unwrap_or_else(|e| panic!("schema for {path}: {e}"));
    let errors: Vec<String> = v
        .iter_errors(instance)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{method} {path} {status} does not match the OpenAPI document:\n{}\n{instance:#}",
        errors.join("\n")
    );
}

/// Both planted violations reached the webhook: as two messages or one grouped message (the
/// recorder writes runs that finish together in one batch, and the outbox groups what is due).
fn both_told(hook: &Receiver) -> usize {
    hook.wait_until("alerts for L26 and L22", T, |got| {
        let text = serde_json::to_string(got).unwrap();
        text.contains("L26 ·") && text.contains("L22 ·")
    })
    .len()
}

#[test]
fn api_matches_openapi_acks_notify_and_metrics_pass_promtool() {
    let tmp = tempfile::tempdir().unwrap();
    let vendor = Receiver::start();
    vendor.set_reply("application/json", "{\"data\":[]}");
    let hook = Receiver::start();
    let (cfg, base) = web_config(tmp.path(), "", &planted(tmp.path(), &vendor, &hook));
    let _d = Daemon::start(&cfg, &tmp.path().join("d.log"));
    wait_ready(&base);
    let incident = wait_violations(&base);
    both_told(&hook);

    let doc = get_json(&format!("{base}/api/v1/openapi.json"));
    assert_eq!(doc["openapi"], "3.1.0");
    let api = |p: &str| format!("{base}/api/v1{p}");
    let mut covered: BTreeSet<(String, String)> = BTreeSet::new();
    let mut check = |method: &str,
                     template: &str,
                     url: &str,
                     body: Option<&str>,
                     status: u16|
     -> serde_json::Value {
        let headers: &[(&str, &str)] = if body.is_some() {
            &[("content-type", "application/json")]
        } else {
            &[]
        };
        let r = http(&method.to_uppercase(), &api(url), headers, body);
        assert_eq!(r.status, status, "{method} {url}: {}", r.body);
        covered.insert((template.to_string(), method.to_string()));
        if r.body.is_empty() {
            return serde_json::Value::Null;
        }
        let v = r.json();
        conforms(&doc, template, method, status, &v);
        v
    };

    let summary = check("get", "/summary", "/summary", None, 200);
    assert_eq!(summary["violated"], 2, "{summary}");
    assert_eq!(summary["lessons_total"], 32);
    let lessons = check("get", "/lessons", "/lessons", None, 200);
    let l22 = lessons
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["number"] == 22)
        .unwrap();
    assert_eq!(l22["state"], "violated");
    assert!(l22["since"].is_i64() && l22["checked"].is_i64(), "{l22}");
    check("get", "/lessons/{n}", "/lessons/26", None, 200);
    check("get", "/lessons", "/lessons?agent=-", None, 200);
    check("get", "/lessons", "/lessons?agent=nobody", None, 404);
    let rows = check("get", "/agents", "/agents", None, 200);
    assert_eq!(
        rows.as_array().unwrap().len(),
        1,
        "no agents: only the host-wide row {rows}"
    );
    assert!(
        rows[0]["agent"].is_null() && rows[0]["violated"] == 2,
        "{rows}"
    );
    check("get", "/probes", "/probes?agent=nobody", None, 404);
    check("get", "/lessons/{n}", "/lessons/99", None, 404);
    check("get", "/lessons/{n}", "/lessons/x", None, 400);
    let probes = check("get", "/probes", "/probes", None, 200);
    let vendor_p = probes
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "vendor_api")
        .unwrap();
    assert_eq!(vendor_p["health"], "critical", "{vendor_p}");
    assert_eq!(vendor_p["stale"], false);
    let p = check("get", "/probes/{id}", "/probes/hostile", None, 200);
    assert!(
        p["latest"]["body"]["evidence"]
            .to_string()
            .contains("alert(1)"),
        "{p}"
    );
    check("get", "/probes/{id}", "/probes/nope", None, 404);

    // pagination: two pages of two, older ids on the second
    wait_for("three observations of the hostile probe", T, || {
        let v = get_json(&api("/observations?probe=hostile&limit=3"));
        (v["items"].as_array()?.len() == 3).then_some(())
    });
    let page1 = check(
        "get",
        "/observations",
        "/observations?probe=hostile&limit=2",
        None,
        200,
    );
    let items1 = page1["items"].as_array().unwrap();
    assert_eq!(items1.len(), 2);
    let before = page1["next_before"].as_i64().expect("a next page");
    let page2 = check(
        "get",
        "/observations",
        &format!("/observations?probe=hostile&limit=2&before={before}"),
        None,
        200,
    );
    for o in page2["items"].as_array().unwrap() {
        assert!(o["id"].as_i64().unwrap() < before);
        assert_eq!(o["probe"], "hostile");
    }
    let by_lesson = check(
        "get",
        "/observations",
        "/observations?lesson=26&since=2020-01-01T00:00:00Z",
        None,
        200,
    );
    assert!(
        by_lesson["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|o| o["probe"] == "vendor_api")
    );
    check("get", "/observations", "/observations?limit=0", None, 400);
    check(
        "get",
        "/incidents",
        "/incidents?open=true&probe=hostile",
        None,
        200,
    );
    check("get", "/incidents", "/incidents?open=maybe", None, 400);
    check(
        "get",
        "/transitions",
        "/transitions?probe=hostile",
        None,
        200,
    );
    check("get", "/transitions", "/transitions?limit=x", None, 400);
    let tr = get_json(&api("/transitions?probe=hostile"));
    assert!(
        tr[0]["observation"]["evidence"]
            .to_string()
            .contains("alert(1)"),
        "a transition keeps the evidence of the observation behind it: {tr}"
    );
    let r5 = check("get", "/rollups", "/rollups?probe=hostile", None, 200);
    let runs: i64 = r5
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["runs"].as_i64().unwrap())
        .sum();
    assert!(runs >= 1, "5-minute rollups of the hostile probe: {r5}");
    assert!(r5[0]["critical"].as_i64().unwrap() >= 1, "{r5}");
    check(
        "get",
        "/rollups",
        "/rollups?lesson=26&period=1h&since=2020-01-01T00:00:00Z",
        None,
        200,
    );
    check("get", "/rollups", "/rollups?period=1d", None, 400);

    // ack: stored, and an "acknowledged" notification reaches the channel that got the alert
    let acked = check(
        "post",
        "/incidents/{id}/ack",
        &format!("/incidents/{incident}/ack"),
        Some(r#"{"by":"ana","note":"looking at the parser"}"#),
        200,
    );
    assert_eq!(acked["incident"]["acked_by"], "ana");
    assert_eq!(acked["queued"], serde_json::json!(["hook"]));
    let got = wait_for("the acknowledgement at the webhook", T, || {
        let all = hook.received();
        all.iter()
            .any(|a| a["event"] == "acknowledged")
            .then_some(all)
    });
    let ack = got.iter().find(|a| a["event"] == "acknowledged").unwrap();
    assert_eq!(ack["probe"], "hostile", "{ack}");
    check(
        "post",
        "/incidents/{id}/ack",
        "/incidents/999999/ack",
        Some(r#"{"by":"ana"}"#),
        404,
    );
    check(
        "post",
        "/incidents/{id}/ack",
        &format!("/incidents/{incident}/ack"),
        Some(r#"{"by":""}"#),
        400,
    );
    let r = http(
        "POST",
        &api(&format!("/incidents/{incident}/ack")),
        &[("content-type", "text/plain")],
        Some("by=ana"),
    );
    assert_eq!(
        r.status, 415,
        "a non-JSON API POST (a cross-site form) is refused"
    );

    // silences
    let s = check(
        "post",
        "/silences",
        "/silences",
        Some(r#"{"probe":"vendor_api","reason":"vendor migrating","by":"ana","duration":"1h"}"#),
        201,
    );
    let sid = s["id"].as_i64().unwrap();
    check(
        "post",
        "/silences",
        "/silences",
        Some(r#"{"probe":"nope","reason":"x","by":"ana","duration":"1h"}"#),
        404,
    );
    check(
        "post",
        "/silences",
        "/silences",
        Some(r#"{"probe":"vendor_api","reason":"x","by":"ana"}"#),
        400,
    );
    let list = check("get", "/silences", "/silences?active=true", None, 200);
    assert!(list.as_array().unwrap().iter().any(|x| x["id"] == sid));
    check("get", "/silences", "/silences?active=perhaps", None, 400);
    check(
        "delete",
        "/silences/{id}",
        &format!("/silences/{sid}"),
        None,
        204,
    );
    check(
        "delete",
        "/silences/{id}",
        &format!("/silences/{sid}"),
        None,
        404,
    );
    check("get", "/openapi.json", "/openapi.json", None, 200);

    // every documented operation was exercised, and nothing undocumented was
    let documented: BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(p, ops)| {
            ops.as_object()
                .unwrap()
                .keys()
                .map(move |m| (p.clone(), m.clone()))
        })
        .collect();
    assert_eq!(
        covered, documented,
        "the test and the OpenAPI document disagree on the endpoints"
    );

    // metrics: OpenMetrics by default; promtool accepts the classic text of a real scrape
    let m = http("GET", &format!("{base}/metrics"), &[], None);
    assert_eq!(m.status, 200);
    assert_eq!(
        m.header("content-type"),
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    for needle in [
        "ledgerd_lesson_state{lesson=\"22\",state=\"violated\"} 1",
        "ledgerd_lesson_state{lesson=\"14\",state=\"holding\"} 1",
        "ledgerd_probe_health{probe=\"vendor_api\",lesson=\"26\",kind=\"http\"} 2",
        "ledgerd_probe_health{probe=\"cron_env_ok\",lesson=\"14\",kind=\"command\"} 0",
        "ledgerd_probe_last_success_timestamp_seconds{probe=\"cron_env_ok\"}",
        "ledgerd_probe_duration_seconds_bucket{",
        "ledgerd_scheduler_lateness_seconds_count",
        "ledgerd_alerts_sent_total{channel=\"hook\"}",
        "ledgerd_outbox_depth",
        "ledgerd_up 1",
        "# EOF",
    ] {
        assert!(
            m.body.contains(needle),
            "/metrics lacks {needle}:\n{}",
            m.body
        );
    }
    let classic = http(
        "GET",
        &format!("{base}/metrics"),
        &[("accept", "text/plain; version=0.0.4")],
        None,
    );
    assert!(
        classic
            .header("content-type")
            .starts_with("text/plain; version=0.0.4")
    );
    let out = promtool(&["check", "metrics"], Some(&classic.body));
    assert!(
        out.status.success(),
        "promtool check metrics: {}{}",
        stdout(&out),
        stderr(&out)
    );
    let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/prometheus/ledgerd-rules.yml");
    let out = promtool(&["check", "rules", rules.to_str().unwrap()], None);
    assert!(
        out.status.success(),
        "promtool check rules: {}{}",
        stdout(&out),
        stderr(&out)
    );
    let dash: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/grafana/ledgerd-fleet.json"),
        )
        .unwrap(),
    )
    .unwrap();
    assert!(dash["panels"].as_array().unwrap().len() >= 5);

    // status uses the running daemon's API
    let o = ledgerd(&["status", "--config", cfg.to_str().unwrap()]);
    assert!(
        stdout(&o).contains("(from the running daemon)"),
        "{}",
        stdout(&o)
    );
    assert!(stdout(&o).contains("vendor_api"), "{}", stdout(&o));
}

fn promtool(args: &[&str], stdin: Option<&str>) -> std::process::Output {
    use std::io::Write;
    let mut c = Command::new("promtool")
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("promtool (Debian package prometheus; tests/run.sh installs it)");
    if let Some(s) = stdin {
        c.stdin.take().unwrap().write_all(s.as_bytes()).unwrap();
    }
    drop(c.stdin.take());
    c.wait_with_output().unwrap()
}

#[test]
fn auth_non_loopback_token_basic_and_cross_site() {
    let tmp = tempfile::tempdir().unwrap();
    // a non-loopback bind without auth never starts (the config check runs before any bind)
    let open = tmp.path().join("open.toml");
    std::fs::write(
        &open,
        format!(
            "[daemon]\nstate_dir = \"{}\"\nlisten = \"0.0.0.0:9477\"\n",
            tmp.path().join("s0").display()
        ),
    )
    .unwrap();
    let o = ledgerd(&["run", "--config", open.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(78), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("daemon.listen: 0.0.0.0:9477 is not a loopback address"),
        "{err}"
    );
    assert!(
        err.contains("daemon.auth_token_file") && err.contains("lessons 13 and 20"),
        "{err}"
    );

    // with a token (and basic auth): 401 without, 200 with; /healthz stays open
    let token = "s3cr3t-token-0123456789";
    std::fs::write(tmp.path().join("token"), format!("{token}\n")).unwrap();
    let hash = ledgerd::password::hash_password("correct horse").unwrap();
    let (cfg, base) = web_config(
        tmp.path(),
        &format!(
            "auth_token_file = \"token\"\nbasic_auth_user = \"ana\"\nbasic_auth_password_hash = \"{hash}\""
        ),
        "[probe.ok]\nkind = \"command\"\nlesson = 14\nevery = \"1s\"\nargv = [\"true\"]\n",
    );
    let _d = Daemon::start(&cfg, &tmp.path().join("d.log"));
    wait_ready(&base);
    let bearer = format!("Bearer {token}");
    for path in [
        "/",
        "/api/v1/probes",
        "/metrics",
        "/probe/ok",
        "/assets/app.js",
    ] {
        let r = http("GET", &format!("{base}{path}"), &[], None);
        assert_eq!(r.status, 401, "{path} without credentials");
        assert!(r.header("www-authenticate").starts_with("Basic"), "{path}");
        let r = http(
            "GET",
            &format!("{base}{path}"),
            &[("authorization", "Bearer wrong-token-0123456789")],
            None,
        );
        assert_eq!(r.status, 401, "{path} with a wrong token");
        let r = http(
            "GET",
            &format!("{base}{path}"),
            &[("authorization", &bearer)],
            None,
        );
        assert_eq!(r.status, 200, "{path} with the token");
    }
    let basic = |u: &str, p: &str| {
        use base64::Engine;
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"))
        )
    };
    assert_eq!(
        http(
            "GET",
            &format!("{base}/"),
            &[("authorization", &basic("ana", "correct horse"))],
            None
        )
        .status,
        200
    );
    assert_eq!(
        http(
            "GET",
            &format!("{base}/"),
            &[("authorization", &basic("ana", "wrong"))],
            None
        )
        .status,
        401
    );
    assert_eq!(
        http("GET", &format!("{base}/healthz"), &[], None).status,
        200
    );
    assert!(
        !std::fs::read_to_string(tmp.path().join("d.log"))
            .unwrap()
            .contains(token),
        "token in the log"
    );

    // state changes: cross-site refused even with credentials; forms need the CSRF token
    let origin = base.clone();
    let json = r#"{"probe":"ok","reason":"r","by":"ana","duration":"1h"}"#;
    let cross = http(
        "POST",
        &format!("{base}/api/v1/silences"),
        &[
            ("authorization", &bearer),
            ("content-type", "application/json"),
            ("origin", "https://evil.example"),
        ],
        Some(json),
    );
    assert_eq!(cross.status, 403, "{}", cross.body);
    let cross = http(
        "POST",
        &format!("{base}/api/v1/silences"),
        &[
            ("authorization", &bearer),
            ("content-type", "application/json"),
            ("sec-fetch-site", "cross-site"),
        ],
        Some(json),
    );
    assert_eq!(cross.status, 403, "{}", cross.body);
    let same = http(
        "POST",
        &format!("{base}/api/v1/silences"),
        &[
            ("authorization", &bearer),
            ("content-type", "application/json"),
            ("origin", &origin),
            ("sec-fetch-site", "same-origin"),
        ],
        Some(json),
    );
    assert_eq!(same.status, 201, "{}", same.body);
    let form = "reason=maintenance&by=ana&duration=1h";
    let no_csrf = http(
        "POST",
        &format!("{base}/probe/ok/silence"),
        &[
            ("authorization", &bearer),
            ("content-type", "application/x-www-form-urlencoded"),
            ("origin", &origin),
        ],
        Some(form),
    );
    assert_eq!(
        no_csrf.status, 403,
        "a form without the CSRF token: {}",
        no_csrf.body
    );
    let page = http(
        "GET",
        &format!("{base}/probe/ok"),
        &[("authorization", &bearer)],
        None,
    )
    .body;
    let csrf = scrape_csrf(&page);
    let ok = http(
        "POST",
        &format!("{base}/probe/ok/silence"),
        &[
            ("authorization", &bearer),
            ("content-type", "application/x-www-form-urlencoded"),
            ("origin", &origin),
        ],
        Some(&format!("{form}&csrf={csrf}")),
    );
    assert_eq!(ok.status, 303, "{}", ok.body);
    assert_eq!(ok.header("location"), "/probe/ok");
    let evil = http(
        "POST",
        &format!("{base}/probe/ok/silence"),
        &[
            ("authorization", &bearer),
            ("content-type", "application/x-www-form-urlencoded"),
            ("origin", "null"),
        ],
        Some(&format!("{form}&csrf={csrf}")),
    );
    assert_eq!(evil.status, 403, "an opaque origin is refused");
}

#[test]
fn loopback_without_auth_refuses_foreign_host_names() {
    let tmp = tempfile::tempdir().unwrap();
    let (cfg, base) = web_config(tmp.path(), "", "");
    let _d = Daemon::start(&cfg, &tmp.path().join("d.log"));
    wait_ready(&base);
    let r = http(
        "GET",
        &format!("{base}/"),
        &[("host", "attacker.example")],
        None,
    );
    assert_eq!(r.status, 403, "DNS rebinding: a foreign Host is refused");
    let r = http("GET", &format!("{base}/"), &[], None);
    assert_eq!(r.status, 200);
    let csp = r.header("content-security-policy");
    assert!(
        csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert_eq!(r.header("x-content-type-options"), "nosniff");
    assert_eq!(r.header("referrer-policy"), "no-referrer");
    assert!(!r.body.contains("<script>"), "no inline script");
    assert!(!r.body.contains("style=\""), "no inline style");
}

fn scrape_csrf(page: &str) -> String {
    let re = regex::Regex::new(r#"name="csrf" value="([0-9a-f]{32})""#).unwrap();
    re.captures(page).expect("a CSRF token in the page")[1].to_string()
}

/// Runs headless Chromium with a deadline; returns stdout.
pub fn chromium(profile: &Path, args: &[&str]) -> String {
    let mut c = Command::new("chromium");
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
    ])
    .arg(format!("--user-data-dir={}", profile.display()))
    .args(args)
    .env_remove("DBUS_SESSION_BUS_ADDRESS")
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::null());
    let mut child = c
        .spawn()
        .expect("chromium (Debian package chromium; tests/run.sh installs it)");
    let mut out = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut out, &mut s).ok();
        s
    });
    let end = Instant::now() + Duration::from_secs(60);
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if Instant::now() > end {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within 60 s: {args:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    reader.join().unwrap()
}

#[test]
fn chromium_shows_violations_first_acks_from_the_page_and_keeps_hostile_text_inert() {
    let tmp = tempfile::tempdir().unwrap();
    let vendor = Receiver::start();
    vendor.set_reply("application/json", "{\"data\":[]}");
    let hook = Receiver::start();
    let (cfg, base) = web_config(tmp.path(), "", &planted(tmp.path(), &vendor, &hook));
    let _d = Daemon::start(&cfg, &tmp.path().join("d.log"));
    wait_ready(&base);
    let incident = wait_violations(&base);
    let told = both_told(&hook);
    let profile = tmp.path().join("chromium");

    let dom = chromium(
        &profile,
        &[
            "--virtual-time-budget=2000",
            "--dump-dom",
            &format!("{base}/"),
        ],
    );
    assert!(dom.contains("lessons guarded, 2 violated"), "{dom}");
    // the lesson × agent matrix first: here only the host-wide row, each cell icon + state text
    let grid = dom
        .split("<table class=\"mx\">")
        .nth(1)
        .expect("the lesson × agent matrix");
    assert!(grid.contains(">host (no agent)</a>"), "{grid}");
    for (lesson, state) in [(22, "violated"), (26, "violated"), (14, "holding")] {
        let cell = format!(
            "<td class=\"st-{state}\" data-lesson=\"{lesson}\"><a href=\"/agent/-#L{lesson}\"><span aria-hidden=\"true\">"
        );
        assert!(grid.contains(&cell), "L{lesson} {state}: {grid}");
    }
    assert!(grid.contains("<span aria-hidden=\"true\">○</span> not guarded"));
    // then the violated lessons as compact tiles: one line per failing probe with its
    // freshness, the evidence on the probe's page; holding lessons are only in the matrix
    let tiles: Vec<&str> = dom.split("<article class=\"vtile ").skip(1).collect();
    assert_eq!(tiles.len(), 2, "{dom}");
    assert!(
        tiles[0].starts_with("st-violated") && tiles[1].starts_with("st-violated"),
        "{dom}"
    );
    assert!(
        tiles[0].contains("id=\"L22\""),
        "lesson 22 before 26: {}",
        tiles[0]
    );
    assert_eq!(
        tiles[0].matches("<li class=\"fail\">").count(),
        1,
        "{}",
        tiles[0]
    );
    assert!(
        tiles[0].contains("<a class=\"ev\" href=\"/probe/hostile\">evidence</a>"),
        "{}",
        tiles[0]
    );
    assert!(tiles[0].contains("checked <time"), "{}", tiles[0]);
    assert!(tiles[0].contains("since <time"), "{}", tiles[0]);
    assert!(
        tiles[1].contains("/probe/vendor_api"),
        "the http probe: {}",
        tiles[1]
    );
    // hostile output is never an element, never executed (its text is on the probe page)
    assert_eq!(
        dom.matches("<script").count(),
        1,
        "only the page's own script: {dom}"
    );
    assert!(
        !dom.contains("<img src=\"x\"") && !dom.contains("<img src=x"),
        "{dom}"
    );
    assert!(
        !dom.contains("<title>pwned"),
        "the hostile onerror ran: {dom}"
    );
    assert!(
        dom.contains("<title>2 violated, 0 at risk · ledgerd · web-test</title>"),
        "{dom}"
    );

    // acknowledge exactly as the browser's form does: form-encoded, CSRF token from the page,
    // same Origin; then the page in Chromium says who acknowledged
    let page = http("GET", &format!("{base}/probe/hostile"), &[], None).body;
    assert!(
        page.contains(&format!("action=\"/incident/{incident}/ack\"")),
        "{page}"
    );
    let csrf = scrape_csrf(&page);
    let r = http(
        "POST",
        &format!("{base}/incident/{incident}/ack"),
        &[
            ("content-type", "application/x-www-form-urlencoded"),
            ("origin", &base),
            ("sec-fetch-site", "same-origin"),
        ],
        Some(&format!(
            "csrf={csrf}&back=%2Fprobe%2Fhostile&by=Ana+Ops&note=parser+fix+in+review"
        )),
    );
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(
        r.header("location"),
        format!("/probe/hostile#incident-{incident}")
    );
    let dom = chromium(&profile, &["--dump-dom", &format!("{base}/probe/hostile")]);
    assert!(dom.contains("acknowledged by Ana Ops"), "{dom}");
    assert!(
        dom.contains("<dl class=\"evidence\">") && dom.contains("exit_code"),
        "the evidence: {dom}"
    );
    assert!(
        dom.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{dom}"
    );
    assert!(
        dom.contains("&lt;img src=x onerror=\"document.title='pwned'\"&gt;"),
        "{dom}"
    );
    assert!(
        dom.contains("<svg class=\"chart\""),
        "the 24-hour history: {dom}"
    );
    assert!(!dom.contains("<title>pwned"), "{dom}");
    let dom = chromium(&profile, &["--dump-dom", &format!("{base}/")]);
    assert!(dom.contains("acknowledged by Ana Ops"), "{dom}");
    // the acknowledgement notice follows the alerts
    hook.wait_count(told + 1, T);

    let shot = tmp.path().join("dashboard.png");
    chromium(
        &profile,
        &[
            "--hide-scrollbars",
            &format!("--screenshot={}", shot.display()),
            "--window-size=1280,1600",
            &format!("{base}/"),
        ],
    );
    let png = std::fs::read(&shot).expect("a screenshot");
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 10_000,
        "screenshot of {} bytes",
        png.len()
    );
    if let Some(dest) = std::env::var_os("LEDGERD_SCREENSHOT") {
        std::fs::copy(&shot, dest).unwrap();
    }
}
