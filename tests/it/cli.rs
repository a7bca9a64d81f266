//! The CLI end to end: `check` exit codes and output against violating fixtures and their clean
//! twins, `lessons`, `kinds`, `status`, and the embedded default config.

use crate::support::*;
use std::path::Path;

/// Writes a config into `dir` with a state dir inside it.
pub fn write_config(dir: &Path, body: &str) -> std::path::PathBuf {
    let path = dir.join("config.toml");
    let text = format!(
        "[daemon]\nstate_dir = \"{}\"\nlisten = \"127.0.0.1:{}\"\n\n{body}",
        dir.join("state").display(),
        free_port()
    );
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn lessons_lists_all_32_with_rules() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = write_config(tmp.path(), "");
    let o = ledgerd(&["lessons", "--config", cfg.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("32 lessons"));
    assert!(out.contains("L14  Cron is not your shell"));
    assert!(out.contains("L26  HTTP 200 is not proof of correctness"));
    let o = ledgerd(&[
        "lessons",
        "--format",
        "json",
        "--config",
        cfg.to_str().unwrap(),
    ]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let list = v.as_array().unwrap();
    assert_eq!(list.len(), 32);
    assert_eq!(list[31]["rule"], "Pin runtimes that affect IO");
    assert_eq!(list[31]["class"], "process_management");
    assert_eq!(list[13]["state"], "not_guarded");
}

#[test]
fn custom_lessons_from_33_appear_and_can_be_guarded() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = write_config(
        tmp.path(),
        r#"[lesson.33]
title = "Backups were never restored"
fix = "Restore a backup every month"
rule = "An untested backup is a rumour"
class = "process_management"
audience = "agents"

[probe.restore]
kind = "command"
lesson = 33
argv = ["sh", "-c", "exit 1"]
"#,
    );
    let o = ledgerd(&["lessons", "--config", cfg.to_str().unwrap()]);
    assert!(stdout(&o).contains("33 lessons"));
    assert!(stdout(&o).contains("An untested backup is a rumour"));
    let o = ledgerd(&["check", "--config", cfg.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).contains("lessons not holding: L33"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn check_exit_codes_and_filters() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = write_config(
        tmp.path(),
        r#"[probe.good]
kind = "command"
lesson = 4
argv = ["true"]

[probe.bad]
kind = "command"
lesson = 17
argv = ["sh", "-c", "echo vendor said no; exit 2"]
"#,
    );
    let c = cfg.to_str().unwrap();
    let o = ledgerd(&["check", "--config", c]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let out = stdout(&o);
    assert!(
        out.contains("✗ critical")
            && out.contains("L17")
            && out.contains("lesson: Missing APIs require owned adapters"),
        "{out}"
    );
    assert!(out.contains("lessons not holding: L17"));
    let o = ledgerd(&["check", "--config", c, "--lesson", "4"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let o = ledgerd(&["check", "--config", c, "--probe", "bad", "--format", "json"]);
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["violated_lessons"], serde_json::json!([17]));
    assert_eq!(v["results"][0]["observation"]["health"], "critical");
    let o = ledgerd(&["check", "--config", c, "--probe", "nope"]);
    assert_eq!(o.status.code(), Some(2));
    let bad = data("config/invalid/bad_cron.toml");
    let o = ledgerd(&["check", "--config", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(78));
    assert!(stderr(&o).contains("probe.sh.cron"));
}

#[test]
fn a_hanging_probe_is_unknown_and_others_still_report() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = write_config(
        tmp.path(),
        r#"[probe.hangs]
kind = "command"
lesson = 27
timeout = "300ms"
argv = ["sleep", "30"]

[probe.fine]
kind = "command"
lesson = 4
argv = ["true"]
"#,
    );
    let o = ledgerd(&[
        "check",
        "--config",
        cfg.to_str().unwrap(),
        "--format",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let by = |id: &str| {
        v["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["probe"] == id)
            .unwrap()["observation"]
            .clone()
    };
    assert_eq!(by("hangs")["health"], "unknown");
    assert!(
        by("hangs")["summary"]
            .as_str()
            .unwrap()
            .contains("did not finish"),
        "{}",
        by("hangs")
    );
    assert_eq!(by("fine")["health"], "ok");
}

#[test]
fn embedded_default_runs_cleanly_on_this_machine() {
    let tmp = tempfile::tempdir().unwrap();
    // no --config and no config at the standard paths for this HOME: the embedded self-audit
    let home = tmp.path().to_str().unwrap();
    let o = ledgerd_env(&["doctor"], &[("HOME", home), ("XDG_STATE_HOME", home)]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("<embedded default>"), "{}", stdout(&o));
    let o = ledgerd_env(
        &["check", "--format", "json"],
        &[("HOME", home), ("XDG_STATE_HOME", home)],
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", stdout(&o), stderr(&o)));
    let results = v["results"].as_array().unwrap();
    assert!(!results.is_empty());
    for r in results {
        assert_ne!(
            r["observation"]["health"], "unknown",
            "the self-audit must be able to look: {r}"
        );
    }
}

#[test]
fn kinds_lists_probe_and_channel_kinds() {
    let o = ledgerd(&["kinds"]);
    let out = stdout(&o);
    for k in ledgerd::probe::KINDS {
        assert!(out.contains(k.kind), "{}", k.kind);
    }
    assert!(out.contains("webhook") && out.contains("desktop"));
}

/// The schema in `docs/schemas/<name>.schema.json`, its `$defs` checked against the OpenAPI
/// document's components where they share a name (so the CLI and the API cannot drift).
fn cli_schema(name: &str) -> jsonschema::Validator {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join(format!("docs/schemas/{name}.schema.json")))
        .unwrap_or_else(|e| panic!("docs/schemas/{name}.schema.json: {e}"));
    let schema: serde_json::Value = serde_json::from_str(&text).unwrap();
    let api: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("src/web/assets/openapi.json")).unwrap(),
    )
    .unwrap();
    let components = &api["components"]["schemas"];
    for (def, body) in schema["$defs"].as_object().unwrap() {
        if let Some(theirs) = components.get(def) {
            let theirs = serde_json::to_string(theirs)
                .unwrap()
                .replace("#/components/schemas/", "#/$defs/");
            assert_eq!(
                serde_json::to_string(body).unwrap(),
                theirs,
                "{name}.schema.json $defs/{def} differs from the OpenAPI document's"
            );
        }
    }
    jsonschema::validator_for(&schema).unwrap_or_else(|e| panic!("{name}.schema.json: {e}"))
}

fn assert_valid(name: &str, o: &std::process::Output) -> serde_json::Value {
    let v: serde_json::Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{name}: not JSON ({e}): {}", stdout(o)));
    let errors: Vec<String> = cli_schema(name)
        .iter_errors(&v)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{name}: {errors:#?}\n{v:#}");
    v
}

/// Every `--format json` output of the CLI, produced by the real binary, validates against its
/// documented schema; `status` has one shape whether it reads the daemon, the store or nothing.
#[test]
fn every_json_output_matches_its_documented_schema() {
    let tmp = tempfile::tempdir().unwrap();
    let port = free_port();
    let cfg = tmp.path().join("config.toml");
    std::fs::write(
        &cfg,
        format!(
            r#"[daemon]
state_dir = "{}"
listen = "127.0.0.1:{port}"

[probe.good]
kind = "command"
lesson = 4
agent = "cs"
argv = ["true"]
every = "1s"

[probe.bad]
kind = "command"
lesson = 17
argv = ["sh", "-c", "echo vendor said no; exit 2"]
every = "1s"

[probe.trial]
kind = "command"
lesson = 26
mode = "shadow"
argv = ["sh", "-c", "exit 2"]
every = "1s"

[[silence]]
lesson = 17
reason = "vendor outage, ticket 42"
expires = 2099-01-01
"#,
            tmp.path().join("state").display()
        ),
    )
    .unwrap();
    let c = cfg.to_str().unwrap();

    let o = ledgerd(&["check", "--config", c, "--format", "json"]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let v = assert_valid("check", &o);
    assert_eq!(v["results"].as_array().unwrap().len(), 3);

    let o = ledgerd(&["doctor", "--config", c, "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let v = assert_valid("doctor", &o);
    assert_eq!(v["agents"][0]["agent"], "cs");
    let bad = data("config/invalid/bad_cron.toml");
    let o = ledgerd(&[
        "doctor",
        "--config",
        bad.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(78));
    let v = assert_valid("doctor", &o);
    assert!(
        v["errors"][0]["key"].as_str().unwrap().contains("cron"),
        "{v}"
    );

    let o = ledgerd(&["lessons", "--config", c, "--format", "json"]);
    assert_eq!(o.status.code(), Some(0));
    let v = assert_valid("lessons", &o);
    assert!(v.as_array().unwrap().len() >= 32);

    let o = ledgerd(&["silence", "list", "--config", c, "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = assert_valid("silence-list", &o);
    assert_eq!(v[0]["lesson"], 17);

    // no daemon, no store yet: the same shape, no probes
    let o = ledgerd(&["status", "--config", c, "--format", "json"]);
    let v = assert_valid("status", &o);
    assert_eq!(v["source"], "none");

    // the daemon answers: the API's probe objects
    let mut d = Daemon::start(&cfg, &tmp.path().join("d.log"));
    let url = format!("http://127.0.0.1:{port}/api/v1/probes");
    wait_for(
        "all three probes observed",
        std::time::Duration::from_secs(30),
        || {
            let (code, body) = get(&url)?;
            let v: serde_json::Value = serde_json::from_str(&body).ok()?;
            (code == 200 && v.as_array()?.iter().all(|p| !p["latest"].is_null())).then_some(())
        },
    );
    let o = ledgerd(&["status", "--config", c, "--format", "json"]);
    let v = assert_valid("status", &o);
    assert_eq!(v["source"], "api");
    assert_eq!(v["probes"].as_array().unwrap().len(), 3);
    let o = ledgerd(&["shadow", "--config", c, "--format", "json"]);
    let v = assert_valid("shadow", &o);
    assert_eq!(v[0]["probe"], "trial");
    assert!(d.stop().is_some());

    // the daemon is gone: the store, in the same shape
    let o = ledgerd(&["status", "--config", c, "--format", "json"]);
    let v = assert_valid("status", &o);
    assert_eq!(v["source"], "store");
    let bad = v["probes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "bad")
        .unwrap();
    assert_eq!(bad["health"], "critical");
}
