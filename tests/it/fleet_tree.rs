//! The multi-agent fleet host tree (`tests/data/hosts/fleet/{bad,good}`: a VPS part with the hub
//! as root started by cron @reboot, two systemd OpenClaw agents and a Hermes agent, a Mac part with
//! two LaunchDaemon agents, the brain and kit paths) end to end through the real binary, as an operator would use it on a
//! copied host: `ledgerd discover --root` writes the config, `ledgerd doctor` accepts it unchanged,
//! and `ledgerd check --root` flags every planted violation with its lesson and names the agent or
//! file, while the clean twin is all ok except the live-host probes (unknown, "not available under
//! --root"). No `command` probe is generated, and no planted secret leaves the probes.

use crate::packs::{HOUR, MINUTE, age, age_tree, chmod, copy_tree, lessons_of, text_of};
use crate::support::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Agent homes in the tree, by agent.
const HOMES: &[(&str, &str)] = &[
    ("hub", "root"),
    ("finance", "home/finance"),
    ("retail", "home/retail"),
    ("cs", "Users/cs"),
    ("people", "Users/people"),
];

/// The tree copied under a temp dir with what git cannot hold: a settled host (nothing changed
/// for two days, each watchdog wrote a minute ago), secret modes; in `bad` retail's plugins
/// opened up with `chmod 777` (lesson 19) and three configs rewritten at once (lesson 31).
fn fleet_host(which: &str) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let host = tmp.path().join("host");
    copy_tree(&data(&format!("hosts/fleet/{which}")), &host);
    // the brain's documents were verified last week (a fixed date would go stale with time)
    let doc = host.join("opt/brain/brain/knowledge/current-state.md");
    let week_ago = (chrono::Utc::now() - chrono::Duration::days(7)).format("%Y-%m-%d");
    let text = std::fs::read_to_string(&doc).unwrap();
    std::fs::write(&doc, text.replace("LAST_WEEK", &week_ago.to_string())).unwrap();
    age_tree(&host, 48 * HOUR);
    for (_, home) in HOMES {
        let oc = host.join(home).join(".openclaw");
        chmod(&oc.join("credentials"), 0o700);
        chmod(&oc.join("credentials/slack.json"), 0o600);
        chmod(&oc.join("openclaw.json"), 0o600);
        chmod(&oc.join("plugins"), 0o755);
        age(&oc.join("watchdog-state.json"), MINUTE);
    }
    let hermes = host.join("home/marketing/.hermes");
    chmod(&hermes.join(".env"), 0o600);
    chmod(&hermes.join("auth.json"), 0o600);
    if which == "bad" {
        chmod(&host.join("home/retail/.openclaw/plugins"), 0o777);
        // lesson 31: three agents' configs rewritten within ten minutes, three hours ago
        for (home, ago) in [("root", 180), ("home/finance", 176), ("Users/cs", 172)] {
            age(
                &host.join(home).join(".openclaw/openclaw.json"),
                ago * MINUTE,
            );
        }
    }
    (tmp, host)
}

/// `discover --root`, then `doctor` on its output unchanged; returns the config file.
pub(crate) fn discovered(tmp: &Path, host: &Path) -> (PathBuf, String) {
    let o = ledgerd(&["discover", "--root", host.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    let config = tmp.join("discovered.toml");
    std::fs::write(&config, &text).unwrap();
    let d = ledgerd(&["doctor", "--config", config.to_str().unwrap()]);
    assert_eq!(
        d.status.code(),
        Some(0),
        "doctor refused the discovered config:\n{}{}\n{text}",
        stdout(&d),
        stderr(&d)
    );
    (config, text)
}

/// `check --root --format json`: (exit code, results, whole stdout).
pub(crate) fn check_root(config: &Path, host: &Path) -> (i32, Vec<Value>, String) {
    let o = ledgerd(&[
        "check",
        "--root",
        host.to_str().unwrap(),
        "--format",
        "json",
        "--config",
        config.to_str().unwrap(),
    ]);
    let out = stdout(&o);
    let v: Value =
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}{}", stderr(&o)));
    let results = v["results"].as_array().unwrap().clone();
    (o.status.code().unwrap_or(-1), results, out)
}

fn is_live_host_unknown_or_ok(r: &Value) -> bool {
    r["observation"]["health"] == "ok" || is_live_host_unknown(r)
}

pub(crate) fn is_live_host_unknown(r: &Value) -> bool {
    r["observation"]["health"] == "unknown"
        && r["observation"]["summary"]
            .as_str()
            .is_some_and(|s| s.contains("not available under --root"))
}

#[test]
fn discover_finds_every_agent_and_how_it_starts() {
    let (tmp, host) = fleet_host("good");
    let (_, text) = discovered(tmp.path(), &host);
    for (agent, home) in HOMES {
        assert!(
            text.contains(&format!("prefix = \"{agent}_\"")),
            "{agent} not discovered:\n{text}"
        );
        assert!(text.contains(&format!("home = \"/{home}\"")), "{text}");
    }
    for needle in [
        "builtin:fleet.toml",
        "gateway_port = 18789",
        "gateway_port = 18794",
        "gateway_port = 18791",
        "unit = \"openclaw-finance.service\"",
        "prefix = \"marketing_\", vars = { agent = \"marketing\"",
        "hermes_path = \"/home/marketing/.local/bin:/usr/local/bin:/usr/bin:/bin\"",
        "builtin:host.toml",
        "plist = \"/Library/LaunchDaemons/ai.openclaw.cs.plist\"",
        "cron @reboot in /var/spool/cron/crontabs/root",
        "crontab = \"/usr/lib/cron/tabs/cs\"",
        "node_path = \"/opt/homebrew/bin:/usr/local/bin:/usr/bin:/bin\"",
        "CONFIRM",
        "allowed_channels = \"slack\"",
        "free_model_patterns",
    ] {
        assert!(text.contains(needle), "missing {needle:?}:\n{text}");
    }
    // the hub is started by cron @reboot: neither unit nor plist is expected of it
    let hub = text
        .lines()
        .find(|l| l.contains("prefix = \"hub_\""))
        .unwrap();
    assert!(
        hub.contains("use_systemd = \"false\"")
            && hub.contains("use_launchd = \"false\"")
            && hub.contains("gateway_user = \"root\""),
        "{hub}"
    );
    assert!(!text.contains("\"command\""), "{text}");
    // a root that is not a directory is refused, never audited as "/"
    let missing = tmp.path().join("no-such-tree");
    for cmd in ["discover", "check", "doctor"] {
        let o = ledgerd(&[cmd, "--root", missing.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(2), "{cmd}: {}", stderr(&o));
    }
}

#[test]
fn the_clean_twin_is_all_ok_but_the_live_host_probes() {
    let (tmp, host) = fleet_host("good");
    let (config, _) = discovered(tmp.path(), &host);
    let (code, results, _) = check_root(&config, &host);
    assert!(results.len() > 50, "{}", results.len());
    let bad: Vec<String> = results
        .iter()
        .filter(|r| r["observation"]["health"] != "ok" && !is_live_host_unknown(r))
        .map(|r| {
            format!(
                "{} {}: {}",
                r["probe"],
                r["observation"]["health"],
                text_of(r)
            )
        })
        .collect();
    assert!(
        bad.is_empty(),
        "false alarms on the clean twin:\n{}",
        bad.join("\n")
    );
    assert!(results.iter().all(|r| r["kind"] != "command"));
    // the live-host probes answered unknown (so `check` exits 1), nothing else did
    let live: Vec<&str> = results
        .iter()
        .filter(|r| is_live_host_unknown(r))
        .map(|r| r["kind"].as_str().unwrap())
        .collect();
    for k in &live {
        assert!(
            [
                "process",
                "listen_ports",
                "resources",
                "runtime_pin",
                "http"
            ]
            .contains(k),
            "{k} reported a live-host unknown"
        );
    }
    assert!(!live.is_empty());
    assert_eq!(code, 1);
}

/// (lesson, probe id, text the finding must contain: the agent, file or key it is about).
const PLANTED: &[(u64, &str, &str)] = &[
    (1, "fleet_credentials", "used by 2 agents (finance, retail)"),
    (
        2,
        "fleet_credentials",
        "ai.openclaw.cs.plist EnvironmentVariables.ANTHROPIC_API_KEY",
    ),
    (10, "fleet_credentials", "L10 expired people"),
    (3, "people_gateway_launchd", "HOME missing"),
    (
        4,
        "finance_gateway_unit",
        "without RestartPreventExitStatus",
    ),
    (25, "retail_gateway_unit", "Type=simple but ExecStart forks"),
    (5, "hub_openclaw_channels", "mattermost"),
    (11, "retail_openclaw_retired", "openclaw-supermemory"),
    // without the OpenClaw CLI (under --root it is never run), OpenClaw's own schema at 2026.9.6
    (
        16,
        "finance_openclaw_json",
        "plugins.entries.@byterover/byterover.source: unknown key",
    ),
    (18, "people_openclaw_permissions", "approve-reads"),
    (20, "finance_openclaw_bind", "lan"),
    (24, "cs_openclaw_free_models", ":free"),
    // a session pinned to a free tier (modelOverride in the session store) bypasses the routes
    (
        24,
        "retail_openclaw_session_models",
        "home/retail/.openclaw/agents/retail/sessions/sessions.json: $['agent:retail:slack:channel:c07ret41l']['modelOverride'] is string \"meta-llama/llama-3.3-70b-instruct:free\"",
    ),
    (
        30,
        "retail_model_swap",
        "agent retail session agent:retail:slack:channel:c07ret41l: session model override anthropic/claude-sonnet-4-5 → openrouter/meta-llama/llama-3.3-70b-instruct:free (changed 2026-09-20 10:00 UTC)",
    ),
    (
        28,
        "hub_openclaw_json",
        "1 schema violation(s) (builtin:openclaw-2026.9.6): heartbeat: unknown key",
    ),
    (14, "finance_agent_cron_env", "SHOPIFY_TOKEN"),
    (19, "retail_openclaw_modes", "home/retail/.openclaw/plugins"),
    (22, "people_soul", "Security & Safety"),
    (7, "cs_memory", "Returns are accepted within 30 days"),
    (15, "hub_skills", "vip-returns"),
    (18, "marketing_hermes_approvals", "manual"),
    (10, "marketing_hermes_auth_expiry", "auth.json"),
    // the retired SuperMemory back as the memory provider, and installed as a user plugin
    (11, "marketing_hermes_retired", "supermemory"),
    (
        11,
        "marketing_hermes_retired_installed",
        "plugins/supermemory/plugin.yaml",
    ),
    // .env alone turns Telegram and the API server on, the API server on every interface
    (
        5,
        "marketing_hermes_env_platforms",
        "$['platforms'] has keys outside the allowed set: api_server, telegram",
    ),
    (
        20,
        "marketing_hermes_env_bind",
        "$.platforms.api_server.host is string \"0.0.0.0\"",
    ),
    (
        30,
        "cs_model_swap",
        "agent cs: primary model anthropic/claude-sonnet-4-5 → openai/gpt-5.4 (changed 2026-09-01 07:00 UTC) with no prompt edit and no evaluation record since",
    ),
    (8, "brain_freshness", "current-state.md"),
    (31, "fleet_rollout", "3 agents changed within 15m at "),
    (31, "fleet_rollout", "(cs, finance, root)"),
    (
        31,
        "fleet_rollout",
        "agent retail still on 1.3 while 4 others are on 1.4 in COMPANY_CORE.md",
    ),
    (
        31,
        "finance_agent_changes",
        "config changed without a backup",
    ),
];

/// Each planted (lesson, probe, needle) the results do not flag: the probe missing, not degraded
/// or critical, not citing the lesson, or not saying the needle.
pub(crate) fn missed_planted(results: &[Value], planted: &[(u64, &str, &str)]) -> Vec<String> {
    let mut missed = Vec::new();
    for (lesson, probe, needle) in planted {
        let Some(r) = results.iter().find(|r| r["probe"] == *probe) else {
            missed.push(format!("L{lesson} {probe}: no such probe"));
            continue;
        };
        let t = text_of(r);
        let health = r["observation"]["health"].as_str().unwrap_or("");
        if !["degraded", "critical"].contains(&health)
            || !lessons_of(r).contains(lesson)
            || !t.contains(needle)
        {
            missed.push(format!(
                "L{lesson} {probe} ({health}) lacks {needle:?}:\n{t}"
            ));
        }
    }
    missed
}

#[test]
fn every_planted_violation_is_flagged_with_its_lesson_and_subject() {
    let (tmp, host) = fleet_host("bad");
    let (config, _) = discovered(tmp.path(), &host);
    let (code, results, out) = check_root(&config, &host);
    assert_eq!(code, 1);
    let missed = missed_planted(&results, PLANTED);
    assert!(missed.is_empty(), "{}", missed.join("\n"));
    // fingerprints only: no planted secret leaves the probes
    for (_, home) in HOMES {
        let profile = std::fs::read_dir(host.join(home).join(".openclaw/agents"))
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path()
            .join("agent/auth-profiles.json");
        let v: Value = serde_json::from_str(&std::fs::read_to_string(profile).unwrap()).unwrap();
        let key = v["profiles"]["anthropic:default"]["key"].as_str().unwrap();
        assert!(!out.contains(&key[..30]), "a secret in the check output");
    }
    for prefix in [
        "sk-ant-api03-",
        "xoxb-",
        "shpat_",
        "eyJ",
        "AAFixtureToken",
        "fixture-api-server-key",
    ] {
        assert!(!out.contains(prefix), "{prefix} in the check output");
    }
}

#[test]
fn live_host_probes_report_unknown_under_root_and_links_stay_inside() {
    let (tmp, host) = fleet_host("good");
    let cfg = tmp.path().join("c.toml");
    std::fs::write(
        &cfg,
        r#"[probe.p]
kind = "process"
lesson = 3
name = "openclaw-gateway"

[probe.u]
kind = "systemd_unit"
lesson = 4
unit = "openclaw-*.service"
use_systemctl = true
"#,
    )
    .unwrap();
    let (_, results, _) = check_root(&cfg, &host);
    let p = results.iter().find(|r| r["probe"] == "p").unwrap();
    assert!(is_live_host_unknown(p), "{p:#}");
    // `daemon.root` in the config does the same as --root
    let rooted = tmp.path().join("rooted.toml");
    let text = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(
        &rooted,
        format!(
            "[daemon]\nroot = {:?}\n\n{text}",
            host.display().to_string()
        ),
    )
    .unwrap();
    let o = ledgerd(&[
        "check",
        "--format",
        "json",
        "--config",
        rooted.to_str().unwrap(),
    ]);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(
        v["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(is_live_host_unknown_or_ok),
        "{v:#}"
    );
    let d = ledgerd(&["doctor", "--config", rooted.to_str().unwrap()]);
    assert!(
        stdout(&d).contains("auditing the copied host tree"),
        "{}",
        stdout(&d)
    );
    let u = results.iter().find(|r| r["probe"] == "u").unwrap();
    let t = text_of(u);
    assert_eq!(u["observation"]["health"], "ok", "{t}");
    assert!(
        t.contains("openclaw-finance.service, openclaw-retail.service"),
        "{t}"
    );
    // a link in the tree to this host's /etc/hostname is followed inside the tree, where that
    // file does not exist: the unit's EnvironmentFile is missing, not this host's file read
    assert!(Path::new("/etc/hostname").exists());
    std::os::unix::fs::symlink("/etc/hostname", host.join("etc/openclaw/escape.env")).unwrap();
    std::os::unix::fs::symlink(
        "../../../../../etc/hostname",
        host.join("etc/openclaw/up.env"),
    )
    .unwrap();
    let unit = host.join("etc/systemd/system/openclaw-finance.service");
    let text = std::fs::read_to_string(&unit).unwrap().replace(
        "EnvironmentFile=/etc/openclaw/finance.env",
        "EnvironmentFile=/etc/openclaw/escape.env\nEnvironmentFile=/etc/openclaw/up.env",
    );
    std::fs::write(&unit, text).unwrap();
    let (_, results, _) = check_root(&cfg, &host);
    let u = results.iter().find(|r| r["probe"] == "u").unwrap();
    let t = text_of(u);
    assert_eq!(u["observation"]["health"], "critical", "{t}");
    assert!(
        t.contains("EnvironmentFile /etc/openclaw/escape.env does not exist"),
        "{t}"
    );
    assert!(
        t.contains("EnvironmentFile /etc/openclaw/up.env does not exist"),
        "{t}"
    );
}
