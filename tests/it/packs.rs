//! The embedded probe packs end to end through the real binary: every pack validates with
//! `doctor`; the OpenClaw pack flags every planted violation in a fixture host tree with the right
//! lesson and actionable evidence, and nothing on its clean twin; the embedded default self-audit
//! is clean on this machine; and a per-kind matrix (violating, clean, could-not-look) for the host
//! and service-manager kinds. Fixture trees are copied to a temp dir first; modes, mtimes and
//! `/proc/<pid>/fd` socket links, which git cannot hold, are set there.

use crate::support::*;
use serde_json::Value;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

// ---- helpers -------------------------------------------------------------------------------------

/// Copies a directory tree (files keep their permission bits; symlinks are recreated).
pub fn copy_tree(src: &Path, dst: &Path) {
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

pub fn chmod(p: &Path, mode: u32) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Sets a file's or directory's mtime to `ago` before now.
pub fn age(p: &Path, ago: Duration) {
    let f = std::fs::File::open(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    f.set_modified(SystemTime::now() - ago).unwrap();
}

/// Every file and directory below `root` (symlinks excluded) `ago` old.
pub fn age_tree(root: &Path, ago: Duration) {
    for e in std::fs::read_dir(root).unwrap() {
        let e = e.unwrap();
        let ft = e.file_type().unwrap();
        if ft.is_dir() {
            age_tree(&e.path(), ago);
        }
        if !ft.is_symlink() {
            age(&e.path(), ago);
        }
    }
    age(root, ago);
}

/// `proc/<pid>/fd/<n> -> socket:[inode]`, as the kernel shows a process's sockets.
fn socket_link(proc_root: &Path, pid: u32, fd: u32, inode: u64) {
    let dir = proc_root.join(pid.to_string()).join("fd");
    std::fs::create_dir_all(&dir).unwrap();
    std::os::unix::fs::symlink(format!("socket:[{inode}]"), dir.join(fd.to_string())).unwrap();
}

pub const HOUR: Duration = Duration::from_secs(3600);
pub const MINUTE: Duration = Duration::from_secs(60);

/// Runs `ledgerd check --format json` on `config`; returns (exit code, results by probe id).
fn check_json(config: &Path) -> (i32, Vec<Value>, Value) {
    let o = ledgerd(&[
        "check",
        "--format",
        "json",
        "--config",
        config.to_str().unwrap(),
    ]);
    let v: Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", stdout(&o), stderr(&o)));
    let results = v["results"].as_array().unwrap().clone();
    (o.status.code().unwrap_or(-1), results, v)
}

fn result<'a>(results: &'a [Value], probe: &str) -> &'a Value {
    results
        .iter()
        .find(|r| r["probe"] == probe)
        .unwrap_or_else(|| panic!("no result for probe {probe}: {results:#?}"))
}

/// Summary, expected and every evidence value of one result, as one text to search.
pub fn text_of(r: &Value) -> String {
    let o = &r["observation"];
    let mut t = format!(
        "{}\n{}\n",
        o["summary"].as_str().unwrap_or(""),
        o["expected"].as_str().unwrap_or("")
    );
    for e in o["evidence"].as_array().into_iter().flatten() {
        t.push_str(&format!(
            "{}: {}\n",
            e["key"].as_str().unwrap_or(""),
            e["value"].as_str().unwrap_or("")
        ));
    }
    t
}

pub fn lessons_of(r: &Value) -> Vec<u64> {
    r["lessons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_u64().unwrap())
        .collect()
}

fn write(path: &Path, text: &str) -> PathBuf {
    std::fs::write(path, text).unwrap();
    path.to_path_buf()
}

// ---- the OpenClaw fixture host -------------------------------------------------------------------

/// The fixture host tree `which` ("good" or "bad") copied under a temp dir, with what git cannot
/// hold applied: modes, mtimes, socket links. Returns (temp dir, host root).
fn openclaw_host(which: &str) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let host = tmp.path().join("host");
    openclaw_tree(which, "cs", &host);
    (tmp, host)
}

/// Copies a tree renaming the fixture's agent "cs" to `agent`: in file names (`cs`,
/// `openclaw-cs.service`, `workspace-cs`, ...) and as a whole word in text files.
fn copy_tree_as(src: &Path, dst: &Path, agent: &str) {
    let word = regex::Regex::new(r"\bcs\b").unwrap();
    std::fs::create_dir_all(dst).unwrap();
    for e in std::fs::read_dir(src).unwrap() {
        let e = e.unwrap();
        let name = e.file_name().to_string_lossy().into_owned();
        let (from, to) = (e.path(), dst.join(word.replace_all(&name, agent).as_ref()));
        let ft = e.file_type().unwrap();
        if ft.is_dir() {
            copy_tree_as(&from, &to, agent);
        } else if ft.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(&from).unwrap(), &to).unwrap();
        } else {
            let bytes = std::fs::read(&from).unwrap();
            match String::from_utf8(bytes) {
                Ok(text) => std::fs::write(&to, word.replace_all(&text, agent).as_bytes()).unwrap(),
                Err(e) => std::fs::write(&to, e.into_bytes()).unwrap(),
            }
            let mode = std::fs::metadata(&from).unwrap().permissions().mode();
            chmod(&to, mode);
        }
    }
}

/// The fixture host tree `which` at `host` for one OpenClaw agent named `agent` (the fixture's
/// "cs" renamed), with what git cannot hold applied: modes, mtimes, socket links.
pub fn openclaw_tree(which: &str, agent: &str, host: &Path) {
    copy_tree_as(&data(&format!("hosts/openclaw/{which}")), host, agent);
    let oc = host.join(format!("home/{agent}/.openclaw"));
    // a settled host: nothing changed for two days, the watchdog wrote a minute ago
    age_tree(host, 48 * HOUR);
    chmod(&oc.join("credentials"), 0o700);
    chmod(&oc.join("credentials/slack.json"), 0o600);
    chmod(&oc.join("openclaw.json"), 0o600);
    chmod(&oc.join("plugins"), 0o755);
    age(&oc.join("watchdog-state.json"), MINUTE);
    let proc_root = host.join("proc");
    std::fs::create_dir_all(proc_root.join("1/fd")).unwrap();
    socket_link(&proc_root, 4242, 3, 50001);
    if which == "bad" {
        // lesson 19: the rushed `chmod -R 777` on plugins, credentials opened up
        chmod(&oc.join("plugins"), 0o777);
        chmod(&oc.join("credentials"), 0o755);
        // lesson 28: the watchdog stopped three hours ago
        age(&oc.join("watchdog-state.json"), 3 * HOUR);
        // lesson 31: config, SOUL and company core all changed two minutes ago
        for f in [
            "openclaw.json".to_string(),
            format!("workspace-{agent}/SOUL.md"),
            format!("workspace-{agent}/COMPANY_CORE.md"),
        ] {
            age(&oc.join(f), 2 * MINUTE);
        }
        // lesson 25: the respawned child holds the same port
        socket_link(&proc_root, 4343, 3, 50002);
    }
}

/// A config including the OpenClaw pack for agent "cs" against `host`, its health at `health`.
fn openclaw_config(tmp: &Path, host: &Path, health: &str) -> PathBuf {
    let h = host.display();
    write(
        &tmp.join("config.toml"),
        &format!(
            r#"include = [{{ path = "builtin:openclaw.toml", prefix = "cs_", vars = {{ agent = "cs", home = "/home/cs", home_root = "/home", gateway_port = 18791, root = "{h}", health_url = "{health}", node_path = "{h}/usr/local/bin:/usr/bin:/bin", use_systemd = true, use_launchd = true, use_proc = true, use_systemctl = false, sustain = "0s", use_knowledge = false }} }}]
[daemon]
state_dir = "{}"
listen = "127.0.0.1:{}"
"#,
            tmp.join("state").display(),
            free_port()
        ),
    )
}

/// (lesson, probe id, a needle the evidence must contain) for every planted violation.
const PLANTED: &[(u64, &str, &str)] = &[
    (3, "cs_gateway_launchd", "EnvironmentVariables.HOME missing"),
    (3, "cs_gateway_process", "HOME=/root"),
    (3, "cs_gateway_unit", "sudo -u cs"),
    (4, "cs_openclaw_json", "cron: Unrecognized key: \"jobs\""),
    (4, "cs_openclaw_json", "Unrecognized key"),
    (
        5,
        "cs_openclaw_channels",
        "$['channels'] has keys outside the allowed set: mattermost",
    ),
    (
        11,
        "cs_openclaw_retired",
        "has forbidden keys: openclaw-supermemory",
    ),
    (
        16,
        "cs_openclaw_json",
        "plugins.entries.@byterover/byterover: Unrecognized key: \"source\"",
    ),
    (
        18,
        "cs_openclaw_permissions",
        "\"approve-reads\" (expected in [approve-all])",
    ),
    (
        18,
        "cs_openclaw_exec_approvals",
        "$.defaults.ask is string \"on-miss\"",
    ),
    (
        20,
        "cs_openclaw_bind",
        "$.gateway.bind is string \"lan\" (expected in [loopback])",
    ),
    (24, "cs_openclaw_free_models", "qwen3-coder:free"),
    (4, "cs_gateway_unit", "RestartPreventExitStatus"),
    (12, "cs_gateway_resources", "openclaw-gateway pid 4242 ("),
    (
        12,
        "cs_gateway_resources",
        "uid 1001) RSS 3.50GiB (max 2GiB)",
    ),
    (12, "cs_gateway_resources", "memory available 4.0%"),
    (14, "cs_agent_cron_env", "$HELPDESK_API_URL"),
    (14, "cs_agent_cron_env", "cs-ticket-monitor.sh:5"),
    (19, "cs_openclaw_modes", ".openclaw/plugins: mode 0777"),
    (19, "cs_openclaw_modes", ".openclaw/credentials: mode 0755"),
    (
        20,
        "cs_gateway_ports",
        "0.0.0.0:18791 listens beyond loopback",
    ),
    (
        25,
        "cs_gateway_ports",
        "two processes listen for one service on port 18791",
    ),
    (
        25,
        "cs_gateway_unit",
        "openclaw gateway without OPENCLAW_NO_RESPAWN=1",
    ),
    (25, "cs_gateway_process", "2 processes match"),
    (26, "cs_gateway_health", "$.ok"),
    (28, "cs_openclaw_json", "Unrecognized key: \"heartbeat\""),
    (28, "cs_watchdog_heartbeat", "last heartbeat 3h "),
    (28, "cs_watchdog_heartbeat", "current_version"),
    (31, "cs_agent_changes", "config changed without a backup"),
    (31, "cs_agent_changes", "workspace-cs/SOUL.md"),
    (
        30,
        "cs_model_swap",
        "agent cs: primary model openai/gpt-5.4 → anthropic/claude-sonnet-4-5 (changed 2026-11-01 09:00 UTC)",
    ),
    (30, "cs_model_swap", "no evaluation record"),
    (32, "cs_node_pin", "node 25.6.1 does not satisfy ^22"),
];

#[test]
fn openclaw_pack_flags_every_planted_violation_with_its_lesson() {
    let (tmp, host) = openclaw_host("bad");
    let gateway = Receiver::start();
    // answers 200, but says it is not live: a 200 alone proves nothing (lesson 26)
    gateway.set_reply(
        "application/json",
        r#"{"ok":false,"status":"config-invalid"}"#,
    );
    let cfg = openclaw_config(tmp.path(), &host, &gateway.url("/health"));
    let (code, results, v) = check_json(&cfg);
    assert_eq!(code, 1, "{v:#}");
    for (lesson, probe, needle) in PLANTED {
        let r = result(&results, probe);
        assert!(
            lessons_of(r).contains(lesson),
            "{probe} must cite lesson {lesson}: {r:#}"
        );
        assert_ne!(
            r["observation"]["health"], "ok",
            "{probe} (lesson {lesson}) must flag the planted violation: {r:#}"
        );
        assert_ne!(r["observation"]["health"], "unknown", "{r:#}");
        let text = text_of(r);
        assert!(
            text.contains(needle),
            "{probe} (lesson {lesson}): evidence lacks {needle:?}:\n{text}"
        );
    }
    // every lesson the pack must cite is reported as not holding
    let violated: Vec<u64> = v["violated_lessons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_u64().unwrap())
        .collect();
    for l in [3, 4, 5, 11, 12, 14, 16, 18, 19, 20, 24, 25, 28, 30, 31, 32] {
        assert!(
            violated.contains(&l),
            "lesson {l} not violated: {violated:?}"
        );
    }
    // the secrets in the fixture never reach the output
    let all = serde_json::to_string(&v).unwrap();
    assert!(!all.contains("fixture-not-a-real-token"), "{all}");
    assert!(!all.contains("fixture-token-not-a-secret"), "{all}");
}

#[test]
fn openclaw_pack_is_silent_on_the_clean_twin() {
    let (tmp, host) = openclaw_host("good");
    let gateway = Receiver::start();
    gateway.set_reply("application/json", r#"{"ok":true,"status":"live"}"#);
    let cfg = openclaw_config(tmp.path(), &host, &gateway.url("/health"));
    let (code, results, v) = check_json(&cfg);
    // every probe of the pack ran (launchd and systemd both on for the fixture) and holds
    assert_eq!(results.len(), 21, "{v:#}");
    for r in &results {
        assert_eq!(r["observation"]["health"], "ok", "{r:#}");
    }
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["violated_lessons"], serde_json::json!([]));
    assert_eq!(
        gateway.received().len(),
        1,
        "the health endpoint was asked once"
    );
}

// ---- every embedded pack validates ---------------------------------------------------------------

#[test]
fn every_embedded_pack_validates_with_doctor() {
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state");
    let doctor = |name: &str, body: &str| {
        let p = write(
            &tmp.path().join(format!("{name}.toml")),
            &format!("{body}\n[daemon]\nstate_dir = \"{}\"\n", state.display()),
        );
        let o = ledgerd(&[
            "doctor",
            "--format",
            "json",
            "--config",
            p.to_str().unwrap(),
        ]);
        let v: Value = serde_json::from_slice(&o.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}{}", stdout(&o), stderr(&o)));
        (o.status.code(), v)
    };
    for (name, body, probes) in [
        ("host", r#"include = ["builtin:host.toml"]"#, 10),
        (
            "openclaw",
            r#"include = [{ path = "builtin:openclaw.toml", prefix = "cs_", vars = { agent = "cs", use_systemd = true, use_launchd = true, use_proc = true } }]"#,
            24,
        ),
        (
            "hermes",
            r#"include = [{ path = "builtin:hermes.toml", prefix = "mkt_", vars = { agent = "marketing", use_proc = true, use_skills_check = true } }]"#,
            18,
        ),
        ("kit", r#"include = ["builtin:kit.toml"]"#, 5),
        ("fleet", r#"include = ["builtin:fleet.toml"]"#, 2),
    ] {
        let (code, v) = doctor(name, body);
        assert_eq!(code, Some(0), "{name}: {v:#}");
        assert_eq!(v["ok"], true, "{name}: {v:#}");
        // host.toml's port probe is linux-only
        let expect = if name == "host" && cfg!(target_os = "linux") {
            probes + 1
        } else {
            probes
        };
        assert_eq!(v["probes"], expect, "{name}: {v:#}");
    }
    // all three together, two OpenClaw agents with their own prefixes
    let (code, v) = doctor(
        "all",
        r#"include = ["builtin:host.toml", "builtin:fleet.toml", { path = "builtin:openclaw.toml", prefix = "hub_", vars = { agent = "hub", home = "/root", gateway_port = 18789 } }, { path = "builtin:openclaw.toml", prefix = "cs_", vars = { agent = "cs", home = "/Users/cs", gateway_port = 18791 } }, { path = "builtin:hermes.toml", prefix = "mkt_", vars = { agent = "marketing" } }, "builtin:kit.toml"]"#,
    );
    assert_eq!(code, Some(0), "{v:#}");
    // a pack without its required variable names it
    let (code, v) = doctor(
        "no_agent",
        r#"include = [{ path = "builtin:openclaw.toml", prefix = "x_" }]"#,
    );
    assert_eq!(code, Some(78), "{v:#}");
    assert!(
        v["errors"].to_string().contains("'agent' is not set"),
        "{v:#}"
    );
}

// ---- the embedded default ------------------------------------------------------------------------

#[test]
fn embedded_default_self_audit_is_clean_and_can_look_everywhere() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().to_str().unwrap();
    let env = [("HOME", home), ("XDG_STATE_HOME", home)];
    let o = ledgerd_env(&["doctor"], &env);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("builtin:host.toml"), "{}", stdout(&o));
    let started = std::time::Instant::now();
    let o = ledgerd_env(&["check", "--format", "json"], &env);
    let elapsed = started.elapsed();
    let v: Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", stdout(&o), stderr(&o)));
    for r in v["results"].as_array().unwrap() {
        assert_eq!(r["observation"]["health"], "ok", "{r:#}");
    }
    assert_eq!(o.status.code(), Some(0), "{v:#}");
    // nothing slow: the whole self-audit well under one probe timeout
    assert!(elapsed < Duration::from_secs(8), "took {elapsed:?}");
}

// ---- per-kind matrix: violating, clean, could not look -------------------------------------------

/// Writes a config with one probe body, runs `check --format json`, returns (exit, the result).
fn one(dir: &Path, name: &str, body: &str) -> (i32, Value) {
    let p = write(
        &dir.join(format!("{name}.toml")),
        &format!(
            "[daemon]\nstate_dir = \"{}\"\n\n[probe.{name}]\n{body}\n",
            dir.join("state").display()
        ),
    );
    let (code, results, _) = check_json(&p);
    assert_eq!(results.len(), 1);
    (code, results[0].clone())
}

/// Asserts health, the cited lesson and a needle in the evidence.
fn expect(r: &(i32, Value), health: &str, lesson: u64, needle: &str) {
    let (code, r) = r;
    assert_eq!(r["observation"]["health"], health, "{r:#}");
    assert!(lessons_of(r).contains(&lesson), "{r:#}");
    assert!(text_of(r).contains(needle), "{needle:?} not in {r:#}");
    assert_eq!(*code, if health == "ok" { 0 } else { 1 }, "{r:#}");
}

#[test]
fn kind_matrix_systemd_unit() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let body = |tree: &str| {
        format!(
            "kind = \"systemd_unit\"\nlessons = [25, 4, 3]\nunit = \"openclaw-cs.service\"\nunit_dirs = [\"{}\"]\nuse_systemctl = false",
            data(&format!("hosts/openclaw/{tree}/etc/systemd/system")).display()
        )
    };
    expect(
        &one(d, "bad", &body("bad")),
        "critical",
        25,
        "Type=simple but ExecStart forks",
    );
    expect(&one(d, "good", &body("good")), "ok", 25, "looks right");
    // a unit path that cannot be read as a file: could not look
    std::fs::create_dir_all(d.join("units/openclaw-cs.service")).unwrap();
    let b = format!(
        "kind = \"systemd_unit\"\nlesson = 25\nunit = \"openclaw-cs.service\"\nunit_dirs = [\"{}\"]\nuse_systemctl = false",
        d.join("units").display()
    );
    expect(
        &one(d, "unreadable", &b),
        "unknown",
        25,
        "cannot read unit file",
    );
}

#[test]
fn kind_matrix_launchd_job() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let body = |plist: &Path| {
        format!(
            "kind = \"launchd_job\"\nlesson = 3\nplist = \"{}\"\nruntime_dirs = [\"/opt/homebrew/bin\"]\nexpect_user = \"cs\"\nhome_root = \"/home\"",
            plist.display()
        )
    };
    let plist = |tree: &str| {
        data(&format!(
            "hosts/openclaw/{tree}/Library/LaunchDaemons/ai.openclaw.cs.plist"
        ))
    };
    expect(
        &one(d, "bad", &body(&plist("bad"))),
        "critical",
        3,
        "EnvironmentVariables.HOME missing",
    );
    if !cfg!(target_os = "macos") {
        // on macOS launchctl would judge the real system domain
        expect(
            &one(d, "good", &body(&plist("good"))),
            "ok",
            3,
            "set up for its service manager",
        );
    }
    std::fs::create_dir_all(d.join("LaunchDaemons/ai.openclaw.cs.plist")).unwrap();
    let r = one(
        d,
        "unreadable",
        &body(&d.join("LaunchDaemons/ai.openclaw.cs.plist")),
    );
    expect(&r, "unknown", 3, "ai.openclaw.cs.plist");
}

#[test]
fn kind_matrix_file_mode() {
    let (tmp, host) = openclaw_host("bad");
    let d = tmp.path();
    let oc = host.join("home/cs/.openclaw");
    let body = |oc: &Path| {
        format!(
            "kind = \"file_mode\"\nlesson = 19\npaths = [\"{0}/plugins\"]\nsecret_paths = [\"{0}/credentials\"]",
            oc.display()
        )
    };
    expect(
        &one(d, "bad", &body(&oc)),
        "critical",
        19,
        "mode 0777 (world-writable)",
    );
    let (tmp2, host2) = openclaw_host("good");
    expect(
        &one(tmp2.path(), "good", &body(&host2.join("home/cs/.openclaw"))),
        "ok",
        19,
        "no unsafe modes",
    );
    expect(
        &one(d, "missing", &body(&d.join("nowhere"))),
        "unknown",
        19,
        "path does not exist",
    );
}

#[test]
fn kind_matrix_listen_ports() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    // the listen_ports fixtures: 18789 on 0.0.0.0 and 18790 twice in bad; loopback in good
    let body = |proc_root: &Path| {
        format!(
            "kind = \"listen_ports\"\nlessons = [20, 25]\nproc_root = \"{}\"\nloopback_only = [\"18789-18799\"]",
            proc_root.display()
        )
    };
    expect(
        &one(d, "bad", &body(&data("hosts/listen_ports/bad/proc"))),
        "critical",
        20,
        "0.0.0.0:18789 listens beyond loopback",
    );
    expect(
        &one(d, "good", &body(&data("hosts/listen_ports/good/proc"))),
        "ok",
        20,
        "all as expected",
    );
    expect(
        &one(d, "missing", &body(&d.join("no-proc"))),
        "unknown",
        20,
        "cannot read",
    );
}

#[test]
fn kind_matrix_process() {
    let (tmp, host) = openclaw_host("bad");
    let d = tmp.path();
    let body = |proc_root: &Path| {
        format!(
            "kind = \"process\"\nlessons = [3, 25]\nproc_root = \"{}\"\nname = \"openclaw-gatewa\"\nmin_count = 1\nmax_count = 1\nexpect_home = \"/home/cs\"\nrequire_supervisor = true",
            proc_root.display()
        )
    };
    expect(
        &one(d, "bad", &body(&host.join("proc"))),
        "critical",
        3,
        "HOME mismatch",
    );
    let (tmp2, host2) = openclaw_host("good");
    expect(
        &one(tmp2.path(), "good", &body(&host2.join("proc"))),
        "ok",
        3,
        "1 matching processes (pids 4242)",
    );
    expect(
        &one(d, "missing", &body(&d.join("no-proc"))),
        "unknown",
        3,
        "cannot read",
    );
}

#[test]
fn kind_matrix_resources() {
    let (tmp, host) = openclaw_host("bad");
    let d = tmp.path();
    let body = |proc_root: &Path, mount: &Path| {
        format!(
            "kind = \"resources\"\nlesson = 12\nproc_root = \"{}\"\nmounts = [\"{}\"]\nmin_mem_available_percent = 15\nprocess_rss = [{{ name = \"openclaw-gateway\", max_rss = \"2GiB\" }}]\nsustain = \"0s\"",
            proc_root.display(),
            mount.display()
        )
    };
    expect(
        &one(d, "bad", &body(&host.join("proc"), &host)),
        "degraded",
        12,
        "RSS 3.50GiB (max 2GiB)",
    );
    let (tmp2, host2) = openclaw_host("good");
    expect(
        &one(tmp2.path(), "good", &body(&host2.join("proc"), &host2)),
        "ok",
        12,
        "within thresholds",
    );
    expect(
        &one(d, "missing", &body(&d.join("no-proc"), &d.join("no-mount"))),
        "unknown",
        12,
        "cannot statvfs",
    );
}

/// The pack's `gateway_user` scopes its RSS limit: another agent user's probe does not judge the
/// cs gateway (uid 1001) that is over the limit, and cs's own does.
#[test]
fn openclaw_pack_weighs_only_its_own_users_gateway() {
    let (tmp, host) = openclaw_host("bad");
    let gateway = Receiver::start();
    let cfg = openclaw_config(tmp.path(), &host, &gateway.url("/health"));
    let text = std::fs::read_to_string(&cfg).unwrap();
    for (user, over) in [("1002", false), ("1001", true)] {
        write(
            &cfg,
            &text.replace(
                "use_knowledge = false",
                &format!("use_knowledge = false, gateway_user = \"{user}\""),
            ),
        );
        let (_, results, _) = check_json(&cfg);
        let r = result(&results, "cs_gateway_resources");
        let t = text_of(r);
        assert_eq!(t.contains("RSS 3.50GiB (max 2GiB)"), over, "{user}: {t}");
        if !over {
            assert!(t.contains("no such process of user 1002"), "{t}");
        }
    }
}

#[test]
fn kind_matrix_heartbeat() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    for which in ["bad", "good"] {
        std::fs::create_dir_all(d.join(which)).unwrap();
        std::fs::copy(
            data(&format!("hosts/heartbeat/{which}/heartbeat.json")),
            d.join(which).join("heartbeat.json"),
        )
        .unwrap();
    }
    // the watchdog wrote good a minute ago and bad three hours ago
    age(&d.join("good/heartbeat.json"), MINUTE);
    age(&d.join("bad/heartbeat.json"), 3 * HOUR);
    let body = |p: &Path| {
        format!(
            "kind = \"heartbeat\"\nlesson = 28\npath = \"{}\"\ninterval = \"5m\"\nschema = \"{}\"\nforbid_keys = [\"gateway.heartbeat\"]",
            p.display(),
            data("hosts/heartbeat/watchdog-state.schema.json").display()
        )
    };
    let bad = one(d, "bad", &body(&d.join("bad/heartbeat.json")));
    expect(&bad, "critical", 28, "last heartbeat 3h ");
    assert!(text_of(&bad.1).contains("gateway.heartbeat"), "{:#}", bad.1);
    expect(
        &one(d, "good", &body(&d.join("good/heartbeat.json"))),
        "ok",
        28,
        // "1m ago", or "1m 2s ago" when the machine is slow between ageing and checking
        "last heartbeat 1m",
    );
    std::fs::create_dir_all(d.join("dir.json")).unwrap();
    expect(
        &one(d, "unreadable", &body(&d.join("dir.json"))),
        "unknown",
        28,
        "cannot read",
    );
}

#[test]
fn kind_matrix_change_window() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    for which in ["bad", "good"] {
        copy_tree(
            &data(&format!("hosts/change_window/{which}")),
            &d.join(which),
        );
        age_tree(&d.join(which), 48 * HOUR);
    }
    // four agents' configs changed in the same ten minutes, no validation between
    for agent in ["cs", "hub", "finance", "retail"] {
        age(
            &d.join(format!("bad/agents/{agent}/openclaw.json")),
            10 * MINUTE,
        );
    }
    // the clean twin changed one agent, then validated
    age(&d.join("good/agents/cs/openclaw.json"), 10 * MINUTE);
    let body = |root: &Path| {
        format!(
            "kind = \"change_window\"\nlessons = [31, 16]\nfiles = [\"{}/agents/*/openclaw.json\"]\nmax_changes = 3\nwindow = \"15m\"",
            root.display()
        )
    };
    let bad = one(d, "bad", &body(&d.join("bad")));
    expect(&bad, "critical", 31, "roll out swarm changes in waves");
    assert!(
        text_of(&bad.1).contains("agents/finance/openclaw.json"),
        "{:#}",
        bad.1
    );
    expect(
        &one(d, "good", &body(&d.join("good"))),
        "ok",
        31,
        "1 changed within 15m",
    );
    expect(
        &one(d, "none", &body(&d.join("nowhere"))),
        "unknown",
        31,
        "no files match",
    );
}
