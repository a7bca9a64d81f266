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
