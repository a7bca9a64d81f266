//! The foundation's five probe kinds through the real binary (`ledgerd check`), each against a
//! violating fixture and its clean twin: lesson 26 (http), 14 (cron_env), 32 (runtime_pin),
//! 1/10 (token_expiry) and 4 (config_file).

use crate::cli::write_config;
use crate::support::*;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

fn check_json(cfg: &Path) -> (i32, serde_json::Value) {
    let o = ledgerd(&[
        "check",
        "--format",
        "json",
        "--config",
        cfg.to_str().unwrap(),
    ]);
    let v = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", stdout(&o), stderr(&o)));
    (o.status.code().unwrap_or(-1), v)
}

fn obs<'a>(v: &'a serde_json::Value, probe: &str) -> &'a serde_json::Value {
    &v["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["probe"] == probe)
        .unwrap_or_else(|| panic!("no result for {probe}: {v}"))["observation"]
}

fn evidence_text(o: &serde_json::Value) -> String {
    o["evidence"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| {
                    format!(
                        "{}: {}",
                        e["key"].as_str().unwrap_or(""),
                        e["value"].as_str().unwrap_or("")
                    )
                })
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default()
}

#[test]
fn lesson_26_http_200_with_empty_data_fires_and_real_data_is_silent() {
    let rx = Receiver::start();
    rx.set_reply("application/json", r#"{"ok":true,"data":[]}"#);
    let tmp = tempfile::tempdir().unwrap();
    let cfg = write_config(
        tmp.path(),
        &format!(
            r#"[probe.orders_api]
kind = "http"
lesson = 26
url = "{}"
expect_json = [{{ path = "$.data", min_len = 1 }}]
"#,
            rx.url("/orders")
        ),
    );
    let (code, v) = check_json(&cfg);
    assert_eq!(code, 1, "{v}");
    assert_eq!(v["violated_lessons"], serde_json::json!([26]));
    let o = obs(&v, "orders_api");
    assert_eq!(o["health"], "critical");
    assert!(
        o["summary"]
            .as_str()
            .unwrap()
            .contains("$.data has 0 items"),
        "{o}"
    );
    // text output names the lesson and its rule
    let out = stdout(&ledgerd(&["check", "--config", cfg.to_str().unwrap()]));
    assert!(
        out.contains("L26") && out.contains("HTTP 200 is not proof of correctness"),
        "{out}"
    );

    rx.set_reply("application/json", r#"{"ok":true,"data":[{"id":1}]}"#);
    let (code, v) = check_json(&cfg);
    assert_eq!(code, 0, "{v}");
    assert_eq!(obs(&v, "orders_api")["health"], "ok");
}

#[test]
fn lesson_14_cron_job_missing_env_and_node_fires_and_fixed_twin_is_silent() {
    let tmp = tempfile::tempdir().unwrap();
    let empty_path = tmp.path().join("empty-bin");
    std::fs::create_dir(&empty_path).unwrap();
    let probe = |twin: &str| {
        let dir = data(&format!("hosts/cron_env/{twin}"));
        format!(
            r#"[probe.agent_crontab]
kind = "cron_env"
lesson = 14
crontabs = ["{crontab}"]
script_root = "{root}"
cron_path = "{path}"
"#,
            crontab = dir.join("crontab").display(),
            root = dir.display(),
            path = empty_path.display()
        )
    };
    let cfg = write_config(tmp.path(), &probe("bad"));
    let (code, v) = check_json(&cfg);
    assert_eq!(code, 1, "{v}");
    let o = obs(&v, "agent_crontab");
    assert_eq!(o["health"], "critical");
    let text = format!("{} {}", o["summary"], evidence_text(o));
    assert!(text.contains("SHOPIFY_TOKEN"), "{text}");
    assert!(text.contains("node"), "{text}");
    assert_eq!(v["violated_lessons"], serde_json::json!([14]));

    let good = tempfile::tempdir().unwrap();
    let cfg = write_config(good.path(), &probe("good"));
    let (code, v) = check_json(&cfg);
    assert_eq!(code, 0, "{v}");
    assert_eq!(obs(&v, "agent_crontab")["health"], "ok");
}

fn fake_node(dir: &Path, version: &str) {
    let p = dir.join("node");
    std::fs::write(&p, format!("#!/bin/sh\necho {version}\n")).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn lesson_32_node_25_against_pin_22_fires_and_22_is_silent() {
    let tmp = tempfile::tempdir().unwrap();
    let bin = tmp.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    fake_node(&bin, "v25.6.1");
    let cfg = write_config(
        tmp.path(),
        &format!(
            r#"[probe.node_pin]
kind = "runtime_pin"
lesson = 32
argv = ["node", "--version"]
path = "{}:/usr/bin:/bin"
require = "^22"
"#,
            bin.display()
        ),
    );
    let (code, v) = check_json(&cfg);
    assert_eq!(code, 1, "{v}");
    let o = obs(&v, "node_pin");
    assert_eq!(o["health"], "critical");
    assert!(o["summary"].as_str().unwrap().contains("25.6.1"), "{o}");
    assert!(
        evidence_text(o).contains(&bin.join("node").display().to_string()),
        "{o}"
    );
    assert_eq!(v["violated_lessons"], serde_json::json!([32]));

    // the fixed twin: rewrite the binary in a fresh file (no in-place edit of a running file)
    std::fs::remove_file(bin.join("node")).unwrap();
    fake_node(&bin, "v22.11.0");
    let (code, v) = check_json(&cfg);
    assert_eq!(code, 0, "{v}");
    assert_eq!(obs(&v, "node_pin")["health"], "ok");
}

#[test]
fn lessons_1_and_10_expired_jwt_is_critical_and_cert_in_3_days_is_degraded() {
    use chrono::Datelike;
    let tmp = tempfile::tempdir().unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    let end = chrono::Utc::now() + chrono::TimeDelta::days(3);
    params.not_after = rcgen::date_time_ymd(end.year(), end.month() as u8, end.day() as u8);
    let cert = params.self_signed(&key).unwrap();
    let pem = tmp.path().join("mcp.pem");
    std::fs::write(&pem, cert.pem()).unwrap();
    let jwt = data("creds/expired.jwt");
    let token_text = std::fs::read_to_string(&jwt).unwrap();
    let cfg = write_config(
        tmp.path(),
        &format!(
            r#"[probe.agent_token]
kind = "token_expiry"
lessons = [1, 10]
file = "{}"

[probe.mcp_cert]
kind = "token_expiry"
lesson = 10
pem_file = "{}"
warn_before = "7d"
"#,
            jwt.display(),
            pem.display()
        ),
    );
    let o = ledgerd(&[
        "check",
        "--format",
        "json",
        "--config",
        cfg.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let raw = stdout(&o);
    assert!(
        !raw.contains(token_text.trim()),
        "the token must never be printed"
    );
    let v: serde_json::Value = serde_json::from_str(&raw).unwrap();
    assert_eq!(obs(&v, "agent_token")["health"], "critical");
    assert!(
        evidence_text(obs(&v, "agent_token")).contains("sha256:"),
        "a fingerprint, not the value"
    );
    assert_eq!(obs(&v, "mcp_cert")["health"], "degraded");
    assert_eq!(v["violated_lessons"], serde_json::json!([1, 10]));
    let text = stdout(&ledgerd(&["check", "--config", cfg.to_str().unwrap()]));
    assert!(
        text.contains("✗ critical") && text.contains("! degraded"),
        "{text}"
    );
    assert!(!text.contains(token_text.trim()));
}

#[test]
fn lesson_4_forbidden_key_and_syntax_error_fire_and_good_config_is_silent() {
    let tmp = tempfile::tempdir().unwrap();
    let probe = |id: &str, path: &Path| {
        format!(
            r#"[probe.{id}]
kind = "config_file"
lesson = 4
path = "{}"
forbid = ["heartbeat"]
"#,
            path.display()
        )
    };
    let bad = data("hosts/config_file/bad/openclaw.json");
    let broken = data("hosts/config_file/bad/openclaw-broken.json");
    let good = data("hosts/config_file/good/openclaw.json");
    let cfg = write_config(
        tmp.path(),
        &format!(
            "{}\n{}\n{}",
            probe("forbidden", &bad),
            probe("broken", &broken),
            probe("good", &good)
        ),
    );
    let (code, v) = check_json(&cfg);
    assert_eq!(code, 1);
    let o = obs(&v, "forbidden");
    assert_eq!(o["health"], "critical");
    assert!(
        format!("{} {}", o["summary"], evidence_text(o)).contains("heartbeat"),
        "{o}"
    );
    let o = obs(&v, "broken");
    assert_eq!(o["health"], "critical");
    assert!(
        o["summary"]
            .as_str()
            .unwrap()
            .contains("openclaw-broken.json:4:5"),
        "{o}"
    );
    assert_eq!(obs(&v, "good")["health"], "ok");
    assert_eq!(v["violated_lessons"], serde_json::json!([4]));
}
