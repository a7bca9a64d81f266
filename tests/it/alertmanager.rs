//! The `alertmanager` channel against a real Prometheus Alertmanager (Debian package
//! `prometheus-alertmanager`, installed by tests/run.sh) started by the test on loopback: the
//! alert shows up through Alertmanager's API with the lesson's labels, stays active past its
//! first `endsAt` because the daemon re-posts it, and is resolved when the probe recovers.

use crate::cli::write_config;
use crate::support::*;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const T: Duration = Duration::from_secs(30);

/// A running Alertmanager; killed on drop.
pub struct Alertmanager {
    child: Child,
    port: u16,
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
        let am = Alertmanager { child, port, log };
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
        let Some((200, body)) = get(&self.url("/api/v2/alerts")) else {
            return None;
        };
        let all: Vec<serde_json::Value> = serde_json::from_str(&body).ok()?;
        Some(
            all.into_iter()
                .filter(|a| a["labels"]["probe"] == probe)
                .collect(),
        )
    }
}

impl Drop for Alertmanager {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
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
