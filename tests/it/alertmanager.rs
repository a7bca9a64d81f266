//! The `alertmanager` channel against a real Prometheus Alertmanager (Debian package
//! `prometheus-alertmanager`, installed by tests/run.sh) started by the test on loopback: the
//! alert shows up through Alertmanager's API with the lesson's labels, stays active past its
//! first `endsAt` because the daemon re-posts it, and is resolved when the probe recovers. And
//! an HA pair (`urls = [...]`): two Alertmanagers clustered on loopback, routing to a loopback
//! webhook with `deploy/fleet/alertmanager.yml`: one notification per alert, the alert visible
//! and resolved on both, and still delivered with one member down. `AmCluster` is shared with
//! the Prometheus fleet test (tests/it/fleet.rs).

use crate::cli::write_config;
use crate::support::*;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const T: Duration = Duration::from_secs(30);

/// A running Alertmanager; killed on drop.
pub struct Alertmanager {
    child: Option<Child>,
    pub port: u16,
    log: std::path::PathBuf,
}

impl Alertmanager {
    pub fn start(dir: &Path) -> Alertmanager {
        let config = dir.join("alertmanager.yml");
        std::fs::write(
            &config,
            "route:\n  receiver: blackhole\n  group_wait: 0s\n  group_interval: 1s\n  repeat_interval: 1h\nreceivers:\n  - name: blackhole\n",
        )
        .unwrap();
        let storage = dir.join("am-data");
        std::fs::create_dir_all(&storage).unwrap();
        let port = free_port();
        let log = dir.join("alertmanager.log");
        let child = Command::new("prometheus-alertmanager")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.path={}", storage.display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--cluster.listen-address=")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("start prometheus-alertmanager (tests/run.sh installs it)");
        let am = Alertmanager {
            child: Some(child),
            port,
            log,
        };
        wait_for("alertmanager /-/ready", T, || {
            get(&am.url("/-/ready")).and_then(|(s, _)| (s == 200).then_some(()))
        });
        am
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Active (not yet ended) alerts of the probe, as Alertmanager reports them; `None` when
    /// Alertmanager did not answer, so a dead Alertmanager never passes for "resolved".
    pub fn alerts_of(&self, probe: &str) -> Option<Vec<serde_json::Value>> {
        self.alerts_where("probe", probe)
    }

    /// Active alerts whose label `key` is `value`; `None` when Alertmanager did not answer.
    pub fn alerts_where(&self, key: &str, value: &str) -> Option<Vec<serde_json::Value>> {
        let Some((200, body)) = get(&self.url("/api/v2/alerts?active=true")) else {
            return None;
        };
        let all: Vec<serde_json::Value> = serde_json::from_str(&body).ok()?;
        Some(
            all.into_iter()
                .filter(|a| a["labels"][key] == value)
                .collect(),
        )
    }

    /// Kills the process (a member going down).
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Alertmanager {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Renders one of `deploy/fleet/*` with `${NAME}` replaced; panics on a placeholder left over.
pub fn render_fleet(file: &str, vars: &[(&str, String)]) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("deploy/fleet")
        .join(file);
    let mut text = std::fs::read_to_string(&path).unwrap();
    for (k, v) in vars {
        text = text.replace(&format!("${{{k}}}"), v);
    }
    let body: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        !body.contains("${"),
        "{file}: a placeholder is left: {body}"
    );
    text
}

/// Two Alertmanagers clustered on loopback (gossip on free ports; a 5 s peer timeout: the second
/// member waits that long for the first one's gossiped notification, and 2 s proved too short
/// on a loaded machine, where both notified once), both
/// loading `deploy/fleet/alertmanager.yml` routed to `webhook`.
pub struct AmCluster {
    pub members: Vec<Alertmanager>,
}

impl AmCluster {
    pub fn start(dir: &Path, webhook: &str) -> AmCluster {
        let config = dir.join("alertmanager.yml");
        std::fs::write(
            &config,
            render_fleet(
                "alertmanager.yml",
                &[
                    ("GROUP_WAIT", "0s".into()),
                    ("GROUP_INTERVAL", "1s".into()),
                    ("WEBHOOK_URL", webhook.into()),
                ],
            ),
        )
        .unwrap();
        let gossip = [free_port(), free_port()];
        let members: Vec<Alertmanager> = (0..2)
            .map(|i| {
                let storage = dir.join(format!("am{i}-data"));
                std::fs::create_dir_all(&storage).unwrap();
                let port = free_port();
                let log = dir.join(format!("alertmanager-{i}.log"));
                let child = Command::new("prometheus-alertmanager")
                    .arg(format!("--config.file={}", config.display()))
                    .arg(format!("--storage.path={}", storage.display()))
                    .arg(format!("--web.listen-address=127.0.0.1:{port}"))
                    .arg(format!("--cluster.listen-address=127.0.0.1:{}", gossip[i]))
                    .arg(format!("--cluster.peer=127.0.0.1:{}", gossip[1 - i]))
                    .arg("--cluster.peer-timeout=5s")
                    .arg("--cluster.gossip-interval=50ms")
                    .arg("--cluster.pushpull-interval=1s")
                    .arg("--cluster.settle-timeout=2s")
                    .arg("--cluster.reconnect-interval=1s")
                    .stdout(Stdio::null())
                    .stderr(std::fs::File::create(&log).unwrap())
                    .spawn()
                    .expect("start prometheus-alertmanager (tests/run.sh installs it)");
                Alertmanager {
                    child: Some(child),
                    port,
                    log,
                }
            })
            .collect();
        let c = AmCluster { members };
        for am in &c.members {
            wait_for("an alertmanager /-/ready", T, || {
                get(&am.url("/-/ready")).and_then(|(s, _)| (s == 200).then_some(()))
            });
            // the cluster is formed: each member sees two ready peers
            wait_for("the alertmanager cluster to form", T, || {
                let (s, body) = get(&am.url("/api/v2/status"))?;
                let v: serde_json::Value = serde_json::from_str(&body).ok()?;
                (s == 200
                    && v["cluster"]["status"] == "ready"
                    && v["cluster"]["peers"].as_array()?.len() == 2)
                    .then_some(())
            });
        }
        c
    }

    pub fn urls(&self) -> Vec<String> {
        self.members.iter().map(|m| m.url("")).collect()
    }

    pub fn logs(&self) -> String {
        self.members
            .iter()
            .map(|m| m.log())
            .collect::<Vec<_>>()
            .join("\n---\n")
    }
}

/// Webhook notifications (Alertmanager's webhook payloads) for alerts with label `key` = `value`
/// and the given status ("firing" or "resolved").
pub fn notifications(hook: &Receiver, key: &str, value: &str, status: &str) -> usize {
    hook.received()
        .iter()
        .filter(|n| {
            n["alerts"].as_array().is_some_and(|alerts| {
                alerts
                    .iter()
                    .any(|a| a["labels"][key] == value && a["status"] == status)
            })
        })
        .count()
}

fn parse_ts(v: &serde_json::Value) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap())
        .unwrap()
        .with_timezone(&chrono::Utc)
}

#[test]
fn alert_is_visible_with_lesson_labels_reposted_then_resolved() {
    let tmp = tempfile::tempdir().unwrap();
    let am = Alertmanager::start(tmp.path());
    let flag = tmp.path().join("broken");
    std::fs::write(&flag, "").unwrap();
    let cfg = write_config(
        tmp.path(),
        &format!(
            r#"[probe.vendor_api]
kind = "command"
lesson = 26
every = "1s"
fail_after = 1
resolve_after = 1
argv = ["sh", "-c", "test ! -e '{flag}' || {{ echo 'data: []'; exit 1; }}"]

[channel.am]
kind = "alertmanager"
group_wait = "0s"
url = "{url}"
labels = {{ team = "ops" }}
repost_every = "1s"
"#,
            flag = flag.display(),
            url = am.url("")
        ),
    );
    let mut d = Daemon::start(&cfg, &tmp.path().join("daemon.log"));

    let first = wait_for("the alert in alertmanager", T, || {
        am.alerts_of("vendor_api")?.into_iter().next()
    });
    let labels = &first["labels"];
    assert_eq!(labels["alertname"], "LedgerLessonViolated", "{first:#}");
    assert_eq!(labels["lesson"], "26");
    assert_eq!(labels["kind"], "command");
    assert_eq!(labels["team"], "ops");
    assert!(
        labels["host"].as_str().is_some_and(|h| !h.is_empty()),
        "{first:#}"
    );
    assert!(
        labels["severity"] == "critical" || labels["severity"] == "warning",
        "{first:#}"
    );
    assert_eq!(first["status"]["state"], "active", "{first:#}");
    assert!(
        first["annotations"]["summary"]
            .as_str()
            .unwrap()
            .starts_with("HTTP 200 is not proof of correctness: "),
        "{first:#}"
    );
    assert!(
        first["annotations"]["description"]
            .as_str()
            .unwrap()
            .contains("data: []"),
        "{first:#}"
    );
    assert!(
        first["generatorURL"]
            .as_str()
            .unwrap()
            .ends_with("/probe/vendor_api")
    );

    // re-posted while firing: still active after the first post's endsAt has passed
    let first_end = parse_ts(&first["endsAt"]);
    let later = wait_for("a re-post past the first endsAt", T, || {
        let now = chrono::Utc::now();
        let a = am.alerts_of("vendor_api")?.into_iter().next()?;
        (now > first_end && parse_ts(&a["endsAt"]) > now).then_some(a)
    });
    assert_eq!(later["status"]["state"], "active", "{later:#}");
    assert_eq!(
        later["startsAt"], first["startsAt"],
        "the same alert, not a new one"
    );

    // recovery: Alertmanager reports the alert ended (gone from the active list)
    std::fs::remove_file(&flag).unwrap();
    wait_for("the alert to be resolved", T, || {
        am.alerts_of("vendor_api")?.is_empty().then_some(())
    });
    assert_eq!(d.stop(), Some(0));
    assert_eq!(
        am.alerts_of("vendor_api"),
        Some(Vec::new()),
        "nothing re-fired after the resolve: {:#?}\n{}",
        am.alerts_of("vendor_api"),
        std::fs::read_to_string(&am.log).unwrap_or_default()
    );
    let log = d.log();
    assert!(
        !log.contains("permanent failure"),
        "alertmanager rejected a post:\n{log}"
    );
}

#[test]
fn ha_pair_gets_every_alert_notifies_once_and_survives_a_dead_member() {
    let tmp = tempfile::tempdir().unwrap();
    let hook = Receiver::start();
    let mut cluster = AmCluster::start(tmp.path(), &hook.url("/hook"));
    let flags = [tmp.path().join("broken-1"), tmp.path().join("broken-2")];
    std::fs::write(&flags[0], "").unwrap();
    let urls = cluster.urls();
    let probe = |name: &str, flag: &Path| {
        format!(
            r#"[probe.{name}]
kind = "command"
lesson = 26
every = "1s"
fail_after = 1
resolve_after = 1
argv = ["sh", "-c", "test ! -e '{}' || {{ echo 'data: []'; exit 1; }}"]
"#,
            flag.display()
        )
    };
    let cfg = write_config(
        tmp.path(),
        &format!(
            "{}\n{}\n[channel.am]\nkind = \"alertmanager\"\ngroup_wait = \"0s\"\nurls = [\"{}\", \"{}\"]\nrepost_every = \"2s\"\n",
            probe("api_one", &flags[0]),
            probe("api_two", &flags[1]),
            urls[0],
            urls[1]
        ),
    );
    let mut d = Daemon::start(&cfg, &tmp.path().join("daemon.log"));
    let diag =
        |c: &AmCluster, d: &Daemon| format!("{:#?}\n{}\n{}", hook.received(), c.logs(), d.log());

    // posted to both members: visible on each
    for am in &cluster.members {
        wait_for("the alert on every member", T, || {
            am.alerts_of("api_one")?.first().cloned()
        });
    }
    // notified once: the second member waits its peer timeout (5 s), sees the first member's
    // notification in the gossiped log and stays quiet. Watch past that, bounded.
    wait_for("the notification", T, || {
        (notifications(&hook, "probe", "api_one", "firing") >= 1).then_some(())
    });
    let watch_until = std::time::Instant::now() + Duration::from_secs(8);
    while std::time::Instant::now() < watch_until {
        assert_eq!(
            notifications(&hook, "probe", "api_one", "firing"),
            1,
            "deduplicated by the cluster: {}",
            diag(&cluster, &d)
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    // resolves on both
    std::fs::remove_file(&flags[0]).unwrap();
    for am in &cluster.members {
        wait_for("the alert resolved on every member", T, || {
            am.alerts_of("api_one")?.is_empty().then_some(())
        });
    }
    wait_for("the resolved notification", T, || {
        (notifications(&hook, "probe", "api_one", "resolved") >= 1).then_some(())
    });

    // one member down: a new alert still reaches the other and is delivered
    cluster.members[0].kill();
    std::fs::write(&flags[1], "").unwrap();
    let alive = &cluster.members[1];
    wait_for("the alert on the surviving member", T, || {
        alive.alerts_of("api_two")?.first().cloned()
    });
    wait_for("the notification with one member down", T, || {
        (notifications(&hook, "probe", "api_two", "firing") >= 1).then_some(())
    });
    // the dead member's queue is retried on its own; nothing was given up on
    let log = d.log();
    assert!(
        log.contains("will retry"),
        "the dead member is retried: {}",
        diag(&cluster, &d)
    );
    assert!(!log.contains("permanent failure"), "{}", diag(&cluster, &d));
    assert_eq!(d.stop(), Some(0));
}
