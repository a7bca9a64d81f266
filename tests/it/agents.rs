//! Agents as a dimension, end to end through the real binary: a fleet config generated from the
//! OpenClaw pack (included once per agent, each agent with its own copy of the fixture host tree,
//! the violating twin for some agents and the clean twin for the others). `doctor` lists the
//! agents; `check`, `status` and `lessons` narrow to one agent and carry it in JSON; the daemon
//! stores it, the API filters by it, `/metrics` labels by it; a silence by agent mutes only that
//! agent; a real Alertmanager receives the `agent` label; and the ledger page's lesson × agent
//! matrix shows each violation in the right agent's row and lesson column (headless Chromium).

use crate::packs::openclaw_tree;
use crate::support::*;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

const T: Duration = Duration::from_secs(90);

/// The lessons the violating twin breaks (tests/it/packs.rs plants one violation per lesson).
pub const BAD_LESSONS: &[u32] = &[3, 4, 12, 14, 19, 20, 25, 28, 31, 32];

/// A generated fleet: one host tree per agent under `dir`, the pack included once per agent.
pub struct Fleet {
    pub config: PathBuf,
    pub listen: String,
    /// Keeps the gateway stand-ins alive: one answers live, one answers 200 but not live.
    _gateways: (Receiver, Receiver),
}

/// Agent names: the ledger's seven, then `agent-08`... up to `n`.
pub fn agent_names(n: usize) -> Vec<String> {
    let seven = ["hub", "retail", "cs", "finance", "ops", "research", "sales"];
    (0..n)
        .map(|i| match seven.get(i) {
            Some(s) => s.to_string(),
            None => format!("agent-{:02}", i + 1),
        })
        .collect()
}

/// Writes the fleet: `agents`, of which `bad` run on the violating twin. `extra` is appended to
/// the config (channels, routes).
pub fn fleet(dir: &Path, agents: &[String], bad: &[&str], extra: &str) -> Fleet {
    let live = Receiver::start();
    live.set_reply("application/json", r#"{"ok":true,"status":"live"}"#);
    let broken = Receiver::start();
    broken.set_reply(
        "application/json",
        r#"{"ok":false,"status":"config-invalid"}"#,
    );
    let mut includes = String::new();
    for (i, a) in agents.iter().enumerate() {
        let is_bad = bad.contains(&a.as_str());
        let root = dir.join("hosts").join(a);
        openclaw_tree(if is_bad { "bad" } else { "good" }, a, &root);
        let health = if is_bad { &broken } else { &live }.url("/health");
        let h = root.display();
        // the fixture's gateway listens on 18791 (its /proc/net/tcp): every copy keeps that port
        includes.push_str(&format!(
            "  {{ path = \"builtin:openclaw.toml\", prefix = \"{p}_\", vars = {{ agent = \"{a}\", home = \"/home/{a}\", home_root = \"/home\", gateway_port = 18791, root = \"{h}\", health_url = \"{health}\", node_path = \"{h}/usr/local/bin:/usr/bin:/bin\", use_systemd = true, use_launchd = true, use_proc = true, use_systemctl = false, sustain = \"0s\", use_knowledge = false }} }},\n",
            p = a.replace('-', "_"),
        ));
        let _ = i;
    }
    let shared = dir.join("shared");
    std::fs::create_dir_all(&shared).unwrap();
    let port = free_port();
    let config = dir.join("config.toml");
    std::fs::write(
        &config,
        format!(
            "include = [\n{includes}]\n[daemon]\nstate_dir = \"{}\"\nlisten = \"127.0.0.1:{port}\"\nhost = \"vps-1\"\n\n# a host-wide probe: the matrix's \"host\" row\n[probe.host_disk]\nkind = \"file_mode\"\nlesson = 19\nevery = \"1h\"\npaths = [\"{}\"]\n\n{extra}",
            dir.join("state").display(),
            shared.display(),
        ),
    )
    .unwrap();
    Fleet {
        config,
        listen: format!("http://127.0.0.1:{port}"),
        _gateways: (live, broken),
    }
}

fn json_of(args: &[&str]) -> (i32, Value) {
    let o = ledgerd(args);
    let v = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{args:?}: {e}: {}{}", stdout(&o), stderr(&o)));
    (o.status.code().unwrap_or(-1), v)
}

#[test]
fn doctor_lists_agents_and_check_status_lessons_narrow_to_one() {
    let tmp = tempfile::tempdir().unwrap();
    let names = agent_names(3);
    let f = fleet(tmp.path(), &names, &["cs"], "");
    let cfg = f.config.to_str().unwrap();

    let o = ledgerd(&["doctor", "--config", cfg]);
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("agents: 3 — cs ("), "{out}");
    assert!(out.contains("hub (") && out.contains("retail ("), "{out}");
    assert!(out.contains("host-wide: 1 probes"), "{out}");
    let (_, doc) = json_of(&["doctor", "--format", "json", "--config", cfg]);
    let listed: Vec<&str> = doc["agents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["agent"].as_str().unwrap())
        .collect();
    assert_eq!(listed, ["cs", "hub", "retail"]);

    // check --agent: only that agent's probes, each carrying it; its lessons violated
    let (code, v) = json_of(&[
        "check", "--agent", "cs", "--format", "json", "--config", cfg,
    ]);
    assert_eq!(code, 1, "{v:#}");
    let results = v["results"].as_array().unwrap();
    assert!(!results.is_empty());
    for r in results {
        assert_eq!(r["agent"], "cs", "{r:#}");
        assert!(r["probe"].as_str().unwrap().starts_with("cs_"), "{r:#}");
    }
    let rows = v["agents"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{rows:#?}");
    let violated: BTreeSet<u64> = rows[0]["lessons"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["state"] == "violated" || l["state"] == "at_risk")
        .map(|l| l["number"].as_u64().unwrap())
        .collect();
    for l in BAD_LESSONS {
        assert!(violated.contains(&(*l as u64)), "cs L{l}: {violated:?}");
    }
    // a clean agent's check holds (lesson 12 aside: its disk check reads this machine's real
    // disk, which may be full)
    let (_, v) = json_of(&[
        "check", "--agent", "hub", "--format", "json", "--config", cfg,
    ]);
    let results = v["results"].as_array().unwrap();
    assert!(results.iter().all(|r| r["agent"] == "hub"));
    for r in results
        .iter()
        .filter(|r| r["probe"] != "hub_gateway_resources")
    {
        assert_eq!(r["observation"]["health"], "ok", "{r:#}");
    }
    // host-wide only, and a typo is an error naming the agents
    let (_, v) = json_of(&["check", "--agent", "-", "--format", "json", "--config", cfg]);
    let ids: Vec<&str> = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["probe"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["host_disk"]);
    let o = ledgerd(&["check", "--agent", "cx", "--config", cfg]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("no probe belongs to agent 'cx' (agents: cs, hub, retail"),
        "{}",
        stderr(&o)
    );
    let o = ledgerd(&["check", "--agent", "cs", "--config", cfg]);
    assert!(stdout(&o).contains("agent cs)"), "{}", stdout(&o));

    // status and lessons read the store a daemon wrote
    let mut d = Daemon::start(&f.config, &tmp.path().join("d.log"));
    let api = format!("{}/api/v1", f.listen);
    wait_for("every probe observed", T, || {
        let (s, body) = get(&format!("{api}/probes"))?;
        let v: Value = serde_json::from_str(&body).ok()?;
        (s == 200 && v.as_array()?.iter().all(|p| !p["latest"].is_null())).then_some(())
    });
    d.stop();
    let (_, v) = json_of(&[
        "status", "--agent", "cs", "--format", "json", "--config", cfg,
    ]);
    // the store's view, in the API's probe shape (docs/schemas/status.schema.json)
    assert_eq!(v["source"], "store", "{v:#}");
    let probes = v["probes"].as_array().unwrap();
    assert!(!probes.is_empty(), "{v:#}");
    assert!(probes.iter().all(|p| p["agent"] == "cs"), "{v:#}");
    assert!(probes.iter().all(|p| p["latest"]["agent"] == "cs"), "{v:#}");
    let o = ledgerd(&["status", "--agent", "retail", "--config", cfg]);
    let out = stdout(&o);
    assert!(out.contains("retail_gateway_health"), "{out}");
    assert!(!out.contains("cs_gateway_health"), "{out}");

    let (_, v) = json_of(&["lessons", "--format", "json", "--config", cfg]);
    let l19 = v
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["number"] == 19)
        .unwrap();
    assert_eq!(l19["agents"]["cs"]["state"], "violated", "{l19:#}");
    assert_eq!(l19["agents"]["hub"]["state"], "holding", "{l19:#}");
    let (_, v) = json_of(&[
        "lessons", "--agent", "hub", "--format", "json", "--config", cfg,
    ]);
    let l19 = v
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["number"] == 19)
        .unwrap();
    assert_eq!(l19["state"], "holding", "{l19:#}");
    assert!(
        l19["probes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p.as_str().unwrap().starts_with("hub_")),
        "{l19:#}"
    );
    let o = ledgerd(&["lessons", "--config", cfg]);
    assert!(
        stdout(&o).contains("agents: cs ✗ violated"),
        "{}",
        stdout(&o)
    );
}

/// Alerts a webhook got for `probe` (single-alert messages carry the alert at the top level,
/// grouped ones under `alerts`).
fn alerts_for(hook: &Receiver, probe: &str) -> Vec<Value> {
    hook.received()
        .into_iter()
        .flat_map(|m| match m["alerts"].as_array() {
            Some(all) => all.clone(),
            None => vec![m],
        })
        .filter(|a| a["probe"] == probe)
        .collect()
}

#[test]
fn alerts_routes_silences_api_and_metrics_by_agent() {
    let tmp = tempfile::tempdir().unwrap();
    let am = crate::alertmanager::Alertmanager::start(tmp.path());
    let hook = Receiver::start();
    let cs_owner = Receiver::start();
    // the pack raises a dozen alerts per violating agent at once: no storm cap in this test,
    // which checks routing by agent (the cap is tested in alerts.rs)
    let names = agent_names(4); // hub, retail, cs, finance
    let f = fleet(
        tmp.path(),
        &names,
        &["cs", "finance"],
        &format!(
            r#"[channel.am]
kind = "alertmanager"
group_wait = "0s"
max_per_minute = 1000
url = "{am}"

[channel.hook]
kind = "webhook"
group_wait = "0s"
max_per_minute = 1000
url = "{hook}"

[channel.cs_owner]
kind = "webhook"
group_wait = "0s"
max_per_minute = 1000
url = "{cs}"

[[route]]
to = ["am", "hook"]
fail_after = 1

[[route]]
agents = ["cs"]
to = ["cs_owner"]
fail_after = 1
"#,
            am = am.url(""),
            hook = hook.url("/all"),
            cs = cs_owner.url("/cs"),
        ),
    );
    let cfg = f.config.to_str().unwrap();
    // finance's lesson 19 is waived for a week; nobody else's
    let o = ledgerd(&[
        "silence",
        "add",
        "--agent",
        "finance",
        "--lesson",
        "19",
        "--for",
        "7d",
        "--reason",
        "finance plugins being reinstalled",
        "--by",
        "ana",
        "--config",
        cfg,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = ledgerd(&["silence", "list", "--config", cfg]);
    assert!(
        stdout(&o).contains("agent finance, lesson L19"),
        "{}",
        stdout(&o)
    );
    let o = ledgerd(&[
        "silence", "add", "--agent", "fnance", "--for", "1h", "--reason", "x", "--config", cfg,
    ]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "a typo is refused: {}",
        stderr(&o)
    );

    let _d = Daemon::start(&f.config, &tmp.path().join("d.log"));
    let api = format!("{}/api/v1", f.listen);
    let get_json = |path: &str| -> Value {
        let (s, body) = get(&format!("{api}{path}")).expect("the API answers");
        assert!(s == 200 || s == 404, "{path}: {s} {body}");
        serde_json::from_str(&body).unwrap()
    };

    // cs's lesson-19 probe fires to everyone routed, naming the agent
    let cs19 = wait_for("cs's lesson 19 alert at the webhook", T, || {
        alerts_for(&hook, "cs_openclaw_modes").into_iter().next()
    });
    assert_eq!(cs19["agent"], "cs", "{cs19:#}");
    // the message's text names the agent (a single alert's title, or each alert's in a group)
    let msg = hook
        .received()
        .into_iter()
        .find(|m| {
            m["text"]
                .as_str()
                .is_some_and(|t| t.contains("cs_openclaw_modes"))
        })
        .unwrap();
    let text = format!(
        "{}\n{}",
        msg["title"].as_str().unwrap(),
        msg["text"].as_str().unwrap()
    );
    assert!(
        text.contains("file_mode:cs_openclaw_modes (agent cs) on vps-1")
            && text.contains("\nAgent: cs\n"),
        "{text}"
    );
    // finance's other lessons alert; its lesson 19 is recorded, muted by the silence
    wait_for("finance's lesson 28 alert", T, || {
        alerts_for(&hook, "finance_watchdog_heartbeat")
            .into_iter()
            .next()
    });
    let muted = wait_for("finance's muted lesson-19 transition", T, || {
        let v = get_json("/transitions?agent=finance&limit=1000");
        v.as_array()?
            .iter()
            .find(|t| t["probe"] == "finance_openclaw_modes")
            .cloned()
    });
    assert!(
        muted["muted"]
            .as_str()
            .is_some_and(|m| m.contains("silence #1 by ana")),
        "{muted:#}"
    );
    assert_eq!(muted["agent"], "finance");
    assert!(
        alerts_for(&hook, "finance_openclaw_modes").is_empty(),
        "the silence by agent mutes finance's lesson 19"
    );
    // the probes' API shows who is silenced: finance's L19 probe, not cs's
    let probes = get_json("/probes?agent=finance");
    let fin = probes
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "finance_openclaw_modes")
        .unwrap();
    assert_eq!(fin["silenced_by"]["agent"], "finance", "{fin:#}");
    let cs = get_json("/probes/cs_openclaw_modes");
    assert!(cs["silenced_by"].is_null(), "{cs:#}");
    assert_eq!(cs["agent"], "cs");

    // [[route]] agents = ["cs"]: the CS owner hears about cs only
    wait_for("the cs owner's alert", T, || {
        alerts_for(&cs_owner, "cs_openclaw_modes")
            .into_iter()
            .next()
    });
    let to_owner: Vec<Value> = cs_owner
        .received()
        .into_iter()
        .flat_map(|m| match m["alerts"].as_array() {
            Some(all) => all.clone(),
            None => vec![m],
        })
        .collect();
    assert!(to_owner.iter().all(|a| a["agent"] == "cs"), "{to_owner:#?}");

    // a real Alertmanager has the agent label
    let in_am = wait_for("cs's alert in alertmanager", T, || {
        am.alerts_of("cs_openclaw_modes")?.into_iter().next()
    });
    assert_eq!(in_am["labels"]["agent"], "cs", "{in_am:#}");
    assert_eq!(in_am["labels"]["lesson"], "19");
    let fin28 = wait_for("finance's alert in alertmanager", T, || {
        am.alerts_of("finance_watchdog_heartbeat")?
            .into_iter()
            .next()
    });
    assert_eq!(fin28["labels"]["agent"], "finance", "{fin28:#}");
    assert!(
        am.alerts_of("finance_openclaw_modes").unwrap().is_empty(),
        "silenced for finance"
    );

    // API filters
    let obs = get_json("/observations?agent=finance&limit=1000");
    let items = obs["items"].as_array().unwrap();
    assert!(!items.is_empty());
    assert!(items.iter().all(|o| o["agent"] == "finance"), "{obs:#}");
    let host_only = get_json("/observations?agent=-&limit=1000");
    assert!(
        host_only["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|o| o["probe"] == "host_disk" && o["agent"].is_null()),
        "{host_only:#}"
    );
    let inc = get_json("/incidents?agent=cs&open=true");
    assert!(!inc.as_array().unwrap().is_empty());
    assert!(inc.as_array().unwrap().iter().all(|i| i["agent"] == "cs"));
    let rows = get_json("/agents");
    let order: Vec<Value> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["agent"].clone())
        .collect();
    assert_eq!(
        order,
        [
            Value::from("cs"),
            "finance".into(),
            "hub".into(),
            "retail".into(),
            Value::Null
        ]
    );
    let state = |agent: &str, n: u64| -> String {
        let l = get_json(&format!("/lessons?agent={agent}"));
        l.as_array()
            .unwrap()
            .iter()
            .find(|l| l["number"] == n)
            .unwrap()["state"]
            .as_str()
            .unwrap()
            .to_string()
    };
    wait_for("hub's lessons all observed", T, || {
        (state("hub", 28) == "holding").then_some(())
    });
    assert_eq!(state("cs", 19), "violated");
    assert_eq!(state("hub", 19), "holding");
    assert_eq!(state("-", 19), "holding", "the host-wide probe");
    let (s, _) = get(&format!("{api}/lessons?agent=nobody")).unwrap();
    assert_eq!(s, 404);

    // metrics: agent labels, one per-agent lesson series per (agent, lesson, state)
    let (_, m) = get(&format!("{}/metrics", f.listen)).unwrap();
    assert!(
        m.contains(r#"ledgerd_lesson_state{agent="cs",lesson="19",state="violated"} 1"#),
        "{m}"
    );
    assert!(
        m.contains(r#"ledgerd_lesson_state{agent="hub",lesson="19",state="holding"} 1"#),
        "{m}"
    );
    assert!(
        m.contains(r#"ledgerd_probe_health{probe="cs_openclaw_modes",lesson="19",kind="file_mode",agent="cs"} 2"#),
        "{m}"
    );
    assert!(
        m.contains(r#"ledgerd_probe_health{probe="host_disk",lesson="19",kind="file_mode"} 0"#),
        "{m}"
    );
    let per_agent = m
        .lines()
        .filter(|l| l.starts_with("ledgerd_lesson_state{agent="))
        .count();
    let guarded: usize = rows
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| !r["agent"].is_null())
        .map(|r| {
            r["lessons"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|l| l["state"] != "not_guarded")
                .count()
        })
        .sum();
    assert_eq!(
        per_agent,
        guarded * 4,
        "agents × guarded lessons × 4 states"
    );
}

/// One row of the matrix in a DOM: `(lesson, cell class)` for each cell, in column order.
fn matrix_row(dom: &str, row_id: &str) -> Vec<(u64, String)> {
    let start = dom
        .find(&format!("<tr id=\"agent-{row_id}\">"))
        .unwrap_or_else(|| panic!("no matrix row for {row_id}"));
    let row = &dom[start..];
    let row = &row[..row.find("</tr>").unwrap()];
    let re = regex::Regex::new(r#"<td class="(st-[a-z-]+)" data-lesson="(\d+)">"#).unwrap();
    re.captures_iter(row)
        .map(|c| (c[2].parse().unwrap(), c[1].to_string()))
        .collect()
}

/// The column order of the matrix's header.
fn matrix_columns(dom: &str) -> Vec<u64> {
    let head = &dom[dom.find("<table class=\"mx\">").expect("the matrix")..];
    let head = &head[..head.find("</thead>").unwrap()];
    let re = regex::Regex::new(r#"<a href="/lesson/(\d+)""#).unwrap();
    re.captures_iter(head)
        .map(|c| c[1].parse().unwrap())
        .collect()
}

/// The matrix for a generated fleet of `n` agents (every third one on the violating twin) in
/// headless Chromium: every cell is in its agent's row and its lesson's column and says the state
/// the API reports; the bad agents' planted lessons are violated, the clean agents' hold. Writes
/// a screenshot (and, with LEDGERD_DOCS_SHOTS=<dir>, copies it there) and prints page weight and
/// render times.
fn matrix_in_chromium(n: usize, window: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let names = agent_names(n);
    let bad: Vec<&str> = names
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 3 == 2 || *i == 3)
        .map(|(_, a)| a.as_str())
        .collect();
    let f = fleet(tmp.path(), &names, &bad, "");
    let _d = Daemon::start(&f.config, &tmp.path().join("d.log"));
    let api = format!("{}/api/v1", f.listen);
    wait_for("every probe observed", Duration::from_secs(120), || {
        let (s, body) = get(&format!("{api}/probes"))?;
        let v: Value = serde_json::from_str(&body).ok()?;
        (s == 200 && v.as_array()?.iter().all(|p| !p["latest"].is_null())).then_some(())
    });
    let rows: Value = serde_json::from_str(&get(&format!("{api}/agents")).unwrap().1).unwrap();

    // server side: weight and time of the ledger page
    let t0 = std::time::Instant::now();
    let (status, html) = get(&format!("{}/", f.listen)).unwrap();
    let served = t0.elapsed();
    assert_eq!(status, 200);

    let profile = tmp.path().join("chromium");
    let dom = crate::web::chromium(
        &profile,
        &[
            "--virtual-time-budget=1000",
            "--dump-dom",
            &format!("{}/", f.listen),
        ],
    );
    let cols = matrix_columns(&dom);
    assert_eq!(cols.len(), 32, "every lesson of the catalog is a column");
    for r in rows.as_array().unwrap() {
        let id = r["agent"].as_str().unwrap_or("-");
        let cells = matrix_row(&dom, id);
        let lessons: Vec<u64> = cells.iter().map(|(l, _)| *l).collect();
        assert_eq!(
            lessons, cols,
            "row {id}: a cell per column, in column order"
        );
        for (cell, want) in cells.iter().zip(r["lessons"].as_array().unwrap()) {
            assert_eq!(cell.0, want["number"].as_u64().unwrap());
            let state = want["state"].as_str().unwrap().replace('_', "-");
            assert_eq!(cell.1, format!("st-{state}"), "row {id}, L{}", cell.0);
        }
        if let Some(a) = r["agent"].as_str() {
            for l in BAD_LESSONS {
                let (_, cls) = cells.iter().find(|(x, _)| *x == *l as u64).unwrap();
                if bad.contains(&a) {
                    assert!(
                        cls == "st-violated" || cls == "st-at-risk",
                        "{a} L{l}: {cls}"
                    );
                } else if *l != 12 {
                    // (lesson 12 reads this machine's real disk, which may be full)
                    assert_eq!(cls, "st-holding", "{a} L{l}");
                }
            }
        }
    }
    // a cell names its state in words, not colour alone, and links to the row's probes
    assert!(dom.contains(&format!(
        "<td class=\"st-violated\" data-lesson=\"19\"><a href=\"/agent/{}#L19\"><span aria-hidden=\"true\">✖</span> violated</a></td>",
        bad[0]
    )));
    // the compact tiles: each failing probe once per tile, naming its agent
    let tile19 = dom
        .split("<article class=\"vtile ")
        .find(|t| t.contains("id=\"L19\""))
        .expect("lesson 19's tile");
    for a in &bad {
        let probe = format!("href=\"/probe/{}_openclaw_modes\"", a.replace('-', "_"));
        assert_eq!(
            tile19.matches(&probe).count(),
            2,
            "{a}: the probe link and its evidence link"
        );
        assert!(tile19.contains(&format!("<a class=\"ag\" href=\"/agent/{a}\">{a}</a>")));
    }
    assert!(
        !tile19.contains("hub_openclaw_modes"),
        "clean agents are not listed"
    );
    // the agent page: its lessons, anchored for the matrix's links
    let page = crate::web::chromium(
        &profile,
        &["--dump-dom", &format!("{}/agent/{}", f.listen, bad[0])],
    );
    assert!(page.contains("id=\"L19\""), "{page}");
    assert!(page.contains("Silence "), "{page}");

    let shot = tmp.path().join("matrix.png");
    let t0 = std::time::Instant::now();
    crate::web::chromium(
        &profile,
        &[
            "--hide-scrollbars",
            &format!("--screenshot={}", shot.display()),
            &format!("--window-size={window}"),
            &format!("{}/", f.listen),
        ],
    );
    let rendered = t0.elapsed();
    let png = std::fs::read(&shot).expect("a screenshot");
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 20_000,
        "{} bytes",
        png.len()
    );
    println!(
        "matrix with {n} agents ({} probes): page {} bytes, served in {} ms; headless Chromium load + screenshot {} ms ({window})",
        rows.as_array()
            .unwrap()
            .iter()
            .map(|r| r["probes"].as_u64().unwrap())
            .sum::<u64>(),
        html.len(),
        served.as_millis(),
        rendered.as_millis()
    );
    if let Some(dir) = std::env::var_os("LEDGERD_DOCS_SHOTS") {
        let to = Path::new(&dir).join(format!("matrix-{n}-agents.png"));
        std::fs::copy(&shot, &to).unwrap();
        let shot = tmp.path().join("agent.png");
        crate::web::chromium(
            &profile,
            &[
                "--hide-scrollbars",
                &format!("--screenshot={}", shot.display()),
                "--window-size=1400,1400",
                &format!("{}/agent/{}", f.listen, bad[0]),
            ],
        );
        if n == 7 {
            std::fs::copy(&shot, Path::new(&dir).join("agent-page.png")).unwrap();
        }
    }
}

#[test]
fn matrix_shows_each_violation_in_its_agents_row_and_lessons_column_7_agents() {
    matrix_in_chromium(7, "1400,1500");
}

#[test]
fn matrix_stays_usable_at_50_agents() {
    matrix_in_chromium(50, "1400,1500");
}
