//! A second multi-agent host tree (`tests/data/hosts/fleet2/{bad,good}`), built as the product
//! owner's hidden test of issue 8 and unlike `fleet/`: a VPS part with a hub started by its
//! user's crontab `@reboot` line, two systemd OpenClaw agents and a Hermes agent with a fallback
//! chain; a Mac part with one agent run by the per-user LaunchAgent `openclaw gateway install`
//! writes (`~/Library/LaunchAgents/ai.openclaw.gateway.plist`, OpenClaw's default `workspace`)
//! and one by a system LaunchAgent; JSON5 configs, session stores, dotenv and unit-environment
//! credentials, a Claude Code login. The operator's path only: `ledgerd discover --root` writes
//! the config, `ledgerd doctor` accepts it unchanged, `ledgerd check --root` flags every planted
//! violation with its lesson and names its agent or file, and the clean twin raises no alarm.

use crate::fleet_tree::{check_root, discovered, is_live_host_unknown, missed_planted};
use crate::packs::{HOUR, MINUTE, age, age_tree, chmod, copy_tree, lessons_of, text_of};
use crate::support::*;
use base64::Engine as _;
use serde_json::Value;
use std::path::PathBuf;

/// Agent homes of the OpenClaw agents, by agent.
const HOMES: &[(&str, &str)] = &[
    ("orbit", "home/orbit"),
    ("ledger", "home/ledger"),
    ("depot", "home/depot"),
    ("relay", "home/relay"),
    ("concierge", "Users/concierge"),
    ("scout", "Users/scout"),
];

/// A fake JWT (the accounting API's bearer) expiring `in_days` from now.
fn jwt(in_days: i64) -> String {
    let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    let exp = (chrono::Utc::now() + chrono::Duration::days(in_days)).timestamp();
    format!(
        "{}.{}.{}",
        b64(r#"{"alg":"RS256","typ":"JWT"}"#),
        b64(&format!(
            r#"{{"sub":"ledger-xero","exp":{exp},"iss":"https://identity.example.invalid"}}"#
        )),
        "c2lnbmF0dXJlLW5vdC1jaGVja2VkLWluLXRoaXMtZmFrZS10b2tlbg"
    )
}

/// The tree copied under a temp dir with what git cannot hold: a host settled for two days,
/// watchdogs that wrote a minute ago, secret modes, the JWT's expiry relative to now; in `bad`
/// concierge's extensions opened with `chmod 777` (lesson 19) and four agents' configs rewritten
/// within eight minutes, two hours ago (lesson 31).
fn fleet2_host(which: &str) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let host = tmp.path().join("host");
    copy_tree(&data(&format!("hosts/fleet2/{which}")), &host);
    let env = host.join("etc/openclaw/ledger.env");
    let text = std::fs::read_to_string(&env).unwrap();
    let days = if which == "bad" { 1 } else { 90 };
    std::fs::write(&env, text.replace("JWT_PLACEHOLDER", &jwt(days))).unwrap();
    age_tree(&host, 48 * HOUR);
    for (_, home) in HOMES {
        let oc = host.join(home).join(".openclaw");
        chmod(&oc.join("credentials"), 0o700);
        chmod(&oc.join("credentials/slack.json"), 0o600);
        chmod(&oc.join("openclaw.json"), 0o600);
        chmod(&oc.join("plugins"), 0o755);
        age(&oc.join("watchdog-state.json"), MINUTE);
    }
    chmod(&host.join("home/buzz/.hermes/.env"), 0o600);
    chmod(&host.join("home/buzz/.hermes/auth.json"), 0o600);
    chmod(&host.join("home/depot/.openclaw/.env"), 0o600);
    if which == "bad" {
        let ext = host.join("Users/concierge/.openclaw/extensions");
        std::fs::create_dir_all(ext.join("slack-tools")).unwrap();
        chmod(&ext, 0o777);
        for (file, ago) in [
            ("home/orbit/.openclaw/openclaw.json", 125),
            ("home/ledger/.openclaw/openclaw.json", 122),
            ("Users/concierge/.openclaw/openclaw.json", 120),
            ("home/buzz/.hermes/config.yaml", 117),
        ] {
            age(&host.join(file), ago * MINUTE);
        }
    }
    (tmp, host)
}

fn dump(results: &[Value]) -> String {
    results
        .iter()
        .filter(|r| r["observation"]["health"] != "ok" && !is_live_host_unknown(r))
        .map(|r| {
            format!(
                "{} {} {:?}: {}",
                r["probe"],
                r["observation"]["health"],
                lessons_of(r),
                text_of(r)
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn fleet2_discover_finds_each_agent_how_it_starts_and_its_workspace() {
    let (tmp, host) = fleet2_host("good");
    let (_, text) = discovered(tmp.path(), &host);
    for (agent, home) in HOMES {
        assert!(
            text.contains(&format!("prefix = \"{agent}_\"")),
            "{agent} not discovered:\n{text}"
        );
        assert!(text.contains(&format!("home = \"/{home}\"")), "{text}");
    }
    for needle in [
        "prefix = \"buzz_\", vars = { agent = \"buzz\"",
        "gateway_port = 19101",
        "gateway_port = 19112",
        "unit = \"openclaw-depot.service\"",
        "cron @reboot in /var/spool/cron/crontabs/orbit",
        "plist = \"/Users/concierge/Library/LaunchAgents/ai.openclaw.gateway.plist\"",
        "plist = \"/Library/LaunchAgents/ai.openclaw.scout.plist\"",
        // the user unit `openclaw onboard` writes, judged from its file
        "systemd user unit /home/relay/.config/systemd/user/openclaw-gateway.service",
        "unit = \"openclaw-gateway.service\", use_systemctl = \"false\"",
        // OpenClaw's default workspace, read from agents.defaults.workspace
        "workspace = \"/Users/concierge/.openclaw/workspace\"",
    ] {
        assert!(text.contains(needle), "missing {needle:?}:\n{text}");
    }
    let orbit = text
        .lines()
        .find(|l| l.contains("prefix = \"orbit_\""))
        .unwrap();
    assert!(
        orbit.contains("use_systemd = \"false\"") && orbit.contains("use_launchd = \"false\""),
        "{orbit}"
    );
    // the ledger's layout (workspace-<agent>) is the pack's default: not repeated
    let ledger = text
        .lines()
        .find(|l| l.contains("prefix = \"ledger_\""))
        .unwrap();
    assert!(!ledger.contains("workspace ="), "{ledger}");
    assert!(!text.contains("\"command\""), "{text}");
}

#[test]
fn fleet2_clean_twin_raises_no_alarm() {
    let (tmp, host) = fleet2_host("good");
    let (config, _) = discovered(tmp.path(), &host);
    let (code, results, _) = check_root(&config, &host);
    assert!(results.len() > 80, "{}", results.len());
    let alarms = dump(&results);
    assert!(
        alarms.is_empty(),
        "false alarms on the clean twin:\n{alarms}"
    );
    for r in results.iter().filter(|r| is_live_host_unknown(r)) {
        let k = r["kind"].as_str().unwrap();
        assert!(
            [
                "process",
                "listen_ports",
                "resources",
                "runtime_pin",
                "http"
            ]
            .contains(&k),
            "{k} reported a live-host unknown"
        );
    }
    assert!(results.iter().all(|r| r["kind"] != "command"));
    // only the live-host probes' unknowns keep `check` from exiting 0
    assert_eq!(code, 1);
}

/// (lesson, probe id, text the finding must contain: the agent, file or key it is about).
const PLANTED: &[(u64, &str, &str)] = &[
    (1, "fleet_credentials", "used by 2 agents (depot, ledger)"),
    (
        1,
        "fleet_credentials",
        "home/depot/.openclaw/.env:2 ANTHROPIC_API_KEY",
    ),
    // scout's Slack bot token pasted into concierge's openclaw.json
    (
        1,
        "fleet_credentials",
        "used by 2 agents (concierge, scout)",
    ),
    (
        1,
        "fleet_credentials",
        "Users/concierge/.openclaw/openclaw.json channels.slack.botToken",
    ),
    (
        2,
        "fleet_credentials",
        "L2 shadowed scout openclaw/anthropic: effective ",
    ),
    (
        2,
        "fleet_credentials",
        "Users/scout/.claude.json oauthAccount",
    ),
    (10, "fleet_credentials", "L10 expiring ledger: "),
    (10, "fleet_credentials", "ledger.env:4 XERO_ACCESS_TOKEN"),
    (5, "orbit_openclaw_channels", "telegram"),
    (
        11,
        "depot_openclaw_retired",
        "$['plugins']['slots']['memory'] is string \"openclaw-supermemory\"",
    ),
    (11, "depot_openclaw_retired", "$['plugins']['allow'][2]"),
    (
        11,
        "depot_openclaw_retired_installed",
        "extensions/openclaw-supermemory/openclaw.plugin.json",
    ),
    (
        16,
        "ledger_openclaw_json",
        "plugins.entries.@byterover/byterover.version: unknown key",
    ),
    (
        18,
        "scout_openclaw_exec_approvals",
        "$.defaults.ask is string \"on-miss\"",
    ),
    // an agent's own ask overrides the defaults, in exec-approvals.json and in openclaw.json
    (
        18,
        "relay_openclaw_exec_approvals",
        "$['agents']['relay']['ask'] is string \"on-miss\"",
    ),
    (
        18,
        "orbit_openclaw_permissions",
        "$['agents']['list'][0]['tools']['exec']['ask'] is string \"always\"",
    ),
    (20, "depot_openclaw_bind", "\"lan\""),
    // lan without gateway.auth: the bind finding says so itself
    (
        20,
        "depot_openclaw_bind",
        "gateway bound off loopback without gateway.auth.mode",
    ),
    // buzz's api_server listens on every interface; telegram enabled beside the allowed slack
    (
        20,
        "buzz_hermes_bind",
        "$['gateway']['api_server']['host'] is string \"0.0.0.0\"",
    ),
    (
        5,
        "buzz_hermes_platforms",
        "$['platforms'] has keys outside the allowed set: telegram",
    ),
    (
        24,
        "concierge_openclaw_free_models",
        "$['agents']['list'][0]['model']['fallbacks'][0] is string \"openrouter/qwen/qwen3-235b-a22b:free\"",
    ),
    (
        24,
        "relay_openclaw_free_models",
        "$.agents.defaults.model is string \"openrouter/meta-llama/llama-3.3-70b-instruct:free\"",
    ),
    (
        24,
        "buzz_hermes_free_models",
        "$['fallback_providers'][0]['model'] is string \"deepseek/deepseek-chat-v3.1:free\"",
    ),
    (28, "orbit_openclaw_json", "gateway.heartbeat: unknown key"),
    (
        30,
        "scout_model_swap",
        "agent scout: primary model anthropic/claude-sonnet-4-5 → google/gemini-2.5-pro (changed 2026-09-10 09:00 UTC) with no prompt edit and no evaluation record since",
    ),
    (31, "fleet_rollout", "4 agents changed within 15m at "),
    // scout's runtime left behind (openclaw.json meta.lastTouchedVersion)
    (
        31,
        "fleet_rollout",
        "agent scout still on 2026.9.1 while 5 others are on 2026.9.6 in openclaw.json",
    ),
    (31, "fleet_rollout", "(buzz, concierge, ledger, orbit)"),
    (
        31,
        "fleet_rollout",
        "agent depot still on 2.0 while 5 others are on 2.1 in COMPANY_CORE.md",
    ),
    (
        30,
        "buzz_hermes_model_swap",
        "agent buzz: primary model anthropic/claude-sonnet-4.5 → openai/gpt-5.4 (changed 2026-09-10 09:00 UTC) with no prompt edit and no evaluation record since",
    ),
    (
        31,
        "ledger_agent_changes",
        "config changed without a backup",
    ),
    (31, "buzz_hermes_changes", "config changed without a backup"),
    (3, "scout_gateway_launchd", "PATH lacks /opt/homebrew/bin"),
    (4, "ledger_gateway_unit", "without RestartPreventExitStatus"),
    (25, "depot_gateway_unit", "Type=simple but ExecStart forks"),
    (25, "relay_gateway_unit", "Type=simple but ExecStart forks"),
    (4, "relay_gateway_unit", "without RestartPreventExitStatus"),
    (14, "ledger_agent_cron_env", "$QUICKBOOKS_TOKEN"),
    (
        19,
        "concierge_openclaw_modes",
        "Users/concierge/.openclaw/extensions",
    ),
];

#[test]
fn fleet2_every_planted_violation_is_flagged_with_its_lesson_and_subject() {
    let (tmp, host) = fleet2_host("bad");
    let (config, _) = discovered(tmp.path(), &host);
    let (code, results, out) = check_root(&config, &host);
    assert_eq!(code, 1);
    let missed = missed_planted(&results, PLANTED);
    assert!(missed.is_empty(), "{}", missed.join("\n"));
    // every alarm is a planted one: no probe outside the list above is degraded or critical
    let planted: Vec<&str> = PLANTED.iter().map(|p| p.1).collect();
    let extra: Vec<String> = results
        .iter()
        .filter(|r| {
            ["degraded", "critical"].contains(&r["observation"]["health"].as_str().unwrap_or(""))
                && !planted.contains(&r["probe"].as_str().unwrap_or(""))
        })
        .map(|r| format!("{} {}", r["probe"], text_of(r)))
        .collect();
    // depot's missing gateway.auth is also a config finding (lessons 4/16/28), beside lesson 20's
    assert_eq!(
        extra
            .iter()
            .map(|e| e.split(' ').next().unwrap())
            .collect::<Vec<_>>(),
        [
            "\"depot_openclaw_json\"",
            "\"orbit_agent_changes\"",
            "\"concierge_agent_changes\""
        ],
        "{}",
        extra.join("\n")
    );
    // fingerprints only: no planted secret leaves the probes
    for (_, home) in HOMES {
        let Ok(rd) = std::fs::read_dir(host.join(home).join(".openclaw/agents")) else {
            continue;
        };
        for e in rd.flatten() {
            let Ok(t) = std::fs::read_to_string(e.path().join("agent/auth-profiles.json")) else {
                continue;
            };
            let v: Value = serde_json::from_str(&t).unwrap();
            let key = v["profiles"]["anthropic:default"]["key"].as_str().unwrap();
            assert!(!out.contains(&key[..30]), "a secret in the check output");
        }
    }
    for prefix in [
        "sk-ant-api03-",
        "sk-ant-oat01-",
        "sk-or-v1-",
        "xoxb-",
        "eyJ",
        "qbo_",
        "AAH4fq9",
        "xapp-1-",
    ] {
        assert!(!out.contains(prefix), "{prefix} in the check output");
    }
}
