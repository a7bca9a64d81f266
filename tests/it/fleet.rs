//! Prometheus end to end (issue 12 item 6): a real Prometheus (Debian's `prometheus` package)
//! scrapes two ledgerd daemons configured as two hosts from `deploy/fleet/` (vps-a violates
//! lesson 26, vps-b holds), evaluates the shipped `deploy/prometheus/ledgerd-rules.yml` every
//! second and sends to the Alertmanager HA pair of tests/it/alertmanager.rs. `LessonViolated`
//! fires for host vps-a and lesson 26 only and reaches the webhook behind the pair; stopping
//! vps-b's daemon fires `LedgerdDown` for vps-b. The rules are the shipped file with only its
//! `for:` durations shortened (checked line by line), so the test runs in seconds.

use crate::alertmanager::{AmCluster, notifications, render_fleet};
use crate::support::*;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const T: Duration = Duration::from_secs(45);

/// A running Prometheus; killed on drop.
struct Prometheus {
    child: Child,
    port: u16,
    log: std::path::PathBuf,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Prometheus {
    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Firing alerts named `name`, as Prometheus reports them.
    fn firing(&self, name: &str) -> Option<Vec<serde_json::Value>> {
        let (200, body) = get(&self.url("/api/v1/alerts"))? else {
            return None;
        };
        let v: serde_json::Value = serde_json::from_str(&body).ok()?;
        Some(
            v["data"]["alerts"]
                .as_array()?
                .iter()
                .filter(|a| a["labels"]["alertname"] == name && a["state"] == "firing")
                .cloned()
                .collect(),
        )
    }
}

/// The shipped rules with every `for:` shortened to `for_`; nothing else may differ.
fn short_rules(for_: &str) -> String {
    let shipped = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/prometheus/ledgerd-rules.yml"),
    )
    .unwrap();
    let out: Vec<String> = shipped
        .lines()
        .map(|l| match l.trim_start().strip_prefix("for: ") {
            Some(_) => format!("{}for: {for_}", &l[..l.len() - l.trim_start().len()]),
            None => l.to_string(),
        })
        .collect();
    let changed = shipped.lines().zip(&out).filter(|(a, b)| a != b).count();
    assert!(
        changed >= 2,
        "expected the rules to have for: durations to shorten"
    );
    out.join("\n") + "\n"
}

fn start_host(dir: &Path, name: &str, gateway: &Receiver, am: &[String]) -> (Daemon, u16) {
    let port = free_port();
    let d = dir.join(name);
    std::fs::create_dir_all(&d).unwrap();
    let cfg = d.join("ledgerd.toml");
    std::fs::write(
        &cfg,
        render_fleet(
            &format!("{name}.toml"),
            &[
                ("LISTEN", format!("127.0.0.1:{port}")),
                ("STATE_DIR", d.join("state").display().to_string()),
                ("GATEWAY_URL", gateway.url("/health")),
                ("AM_1_URL", am[0].clone()),
                ("AM_2_URL", am[1].clone()),
            ],
        ),
    )
    .unwrap();
    let daemon = Daemon::start(&cfg, &d.join("daemon.log"));
    wait_for("the host's /metrics", T, || {
        get(&format!("http://127.0.0.1:{port}/metrics")).and_then(|(s, _)| (s == 200).then_some(()))
    });
    (daemon, port)
}

#[test]
fn prometheus_scrapes_two_hosts_fires_lesson_violated_and_ledgerd_down_through_the_ha_pair() {
    let tmp = tempfile::tempdir().unwrap();
    let hook = Receiver::start();
    let cluster = AmCluster::start(tmp.path(), &hook.url("/hook"));
    let am_urls = cluster.urls();
    let broken = Receiver::start();
    broken.set_reply("application/json", r#"{"ok":true,"data":[]}"#);
    let healthy = Receiver::start();
    healthy.set_reply("application/json", r#"{"ok":true,"data":[1,2,3]}"#);
    let (_a, port_a) = start_host(tmp.path(), "host-a", &broken, &am_urls);
    let (mut b, port_b) = start_host(tmp.path(), "host-b", &healthy, &am_urls);

    let rules = tmp.path().join("ledgerd-rules.yml");
    std::fs::write(&rules, short_rules("2s")).unwrap();
    let prom_cfg = tmp.path().join("prometheus.yml");
    std::fs::write(
        &prom_cfg,
        render_fleet(
            "prometheus.yml",
            &[
                ("SCRAPE_INTERVAL", "1s".into()),
                ("EVALUATION_INTERVAL", "1s".into()),
                ("RULES_FILE", rules.display().to_string()),
                ("AM_1", format!("127.0.0.1:{}", cluster.members[0].port)),
                ("AM_2", format!("127.0.0.1:{}", cluster.members[1].port)),
                ("HOST_A", format!("127.0.0.1:{port_a}")),
                ("HOST_B", format!("127.0.0.1:{port_b}")),
            ],
        ),
    )
    .unwrap();
    let check = Command::new("promtool")
        .args(["check", "config"])
        .arg(&prom_cfg)
        .output()
        .expect("promtool (tests/run.sh installs prometheus)");
    assert!(
        check.status.success(),
        "{}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
    let port = free_port();
    let log = tmp.path().join("prometheus.log");
    let data = tmp.path().join("prom-data");
    let prom = Prometheus {
        child: Command::new("prometheus")
            .arg(format!("--config.file={}", prom_cfg.display()))
            .arg(format!("--storage.tsdb.path={}", data.display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--rules.alert.resend-delay=1s")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("start prometheus (tests/run.sh installs the prometheus package)"),
        port,
        log,
    };
    let diag = || {
        format!(
            "prometheus:\n{}\nalertmanagers:\n{}\nwebhook: {:#?}",
            std::fs::read_to_string(&prom.log).unwrap_or_default(),
            cluster.logs(),
            hook.received()
        )
    };
    wait_for("prometheus /-/ready", T, || {
        get(&prom.url("/-/ready")).and_then(|(s, _)| (s == 200).then_some(()))
    });
    wait_for("both hosts scraped up", T, || {
        let (_, body) = get(&prom.url("/api/v1/query?query=up%7Bjob%3D%22ledgerd%22%7D"))?;
        let v: serde_json::Value = serde_json::from_str(&body).ok()?;
        let r = v["data"]["result"].as_array()?;
        (r.len() == 2 && r.iter().all(|s| s["value"][1] == "1")).then_some(())
    });

    // LessonViolated: lesson 26 on vps-a only, with the lesson's rule joined in
    let fired = wait_for("LessonViolated firing in prometheus", T, || {
        prom.firing("LessonViolated").filter(|v| !v.is_empty())
    });
    assert_eq!(fired.len(), 1, "{fired:#?}");
    let labels = &fired[0]["labels"];
    assert_eq!(labels["host"], "vps-a", "{fired:#?}");
    assert_eq!(labels["lesson"], "26", "{fired:#?}");
    assert_eq!(
        labels["rule"], "HTTP 200 is not proof of correctness",
        "{fired:#?}"
    );
    // ... and it reaches the Alertmanager pair and, once, the webhook behind it
    for am in &cluster.members {
        wait_for("LessonViolated on every alertmanager", T, || {
            am.alerts_where("alertname", "LessonViolated")?
                .into_iter()
                .find(|a| a["labels"]["host"] == "vps-a" && a["labels"]["lesson"] == "26")
        });
    }
    wait_for("the LessonViolated notification", T, || {
        (notifications(&hook, "alertname", "LessonViolated", "firing") >= 1).then_some(())
    });
    assert!(
        hook.received().iter().all(|n| n["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["labels"]["host"] != "vps-b")),
        "nothing fired for the healthy host: {}",
        diag()
    );
    // ledgerd's own alert for the same violation went to the pair too (channel `urls`)
    wait_for("ledgerd's own alert at the webhook", T, || {
        (notifications(&hook, "alertname", "LedgerLessonViolated", "firing") >= 1).then_some(())
    });

    // one host's ledgerd stops: LedgerdDown for that host
    assert_eq!(b.stop(), Some(0));
    let down = wait_for("LedgerdDown firing in prometheus", T, || {
        prom.firing("LedgerdDown").filter(|v| !v.is_empty())
    });
    assert!(
        down.iter().all(|a| a["labels"]["host"] == "vps-b"),
        "{down:#?}"
    );
    wait_for("the LedgerdDown notification", T, || {
        hook.received()
            .iter()
            .any(|n| {
                n["alerts"].as_array().is_some_and(|a| {
                    a.iter().any(|a| {
                        a["labels"]["alertname"] == "LedgerdDown"
                            && a["labels"]["host"] == "vps-b"
                            && a["status"] == "firing"
                    })
                })
            })
            .then_some(())
    });
    assert_eq!(
        notifications(&hook, "alertname", "LessonViolated", "firing"),
        1,
        "one notification through the pair: {}",
        diag()
    );
}
