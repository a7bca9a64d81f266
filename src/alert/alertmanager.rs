//! `alertmanager`: POSTs Alertmanager v2 postable alerts (`<url>/api/v2/alerts`) with the labels
//! `alertname`, `lesson`, `probe`, `host`, `severity`, `kind`, `agent` (when the probe belongs to
//! one; plus configured extras), the
//! lesson's rule, body, fix and dashboard link as annotations, `startsAt` = since and an `endsAt`:
//! for a firing alert three `repost_every` periods ahead (the daemon re-posts open incidents,
//! `delivery::repost`, so a live alert never expires while a dead ledgerd's alerts do), for a
//! resolved one the time of recovery. An HA cluster is `urls = [...]`: every alert goes to every
//! member (Alertmanager's clients must send to all; the cluster deduplicates notifications), each
//! member through its own outbox queue, so a dead member is retried on its own and never holds
//! up the others. Formats and delivers only; the outbox retries.

use super::{Alert, Channel, Event, SendCx, SendError, render};
use crate::probe::{Health, Invalid};
use crate::redact::Secret;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

/// Labels ledgerd sets itself; `labels` may not override them.
const OWN_LABELS: &[&str] = &[
    "alertname",
    "lesson",
    "probe",
    "host",
    "severity",
    "kind",
    "agent",
];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Alertmanager {
    /// Alertmanager's base URL, e.g. "http://127.0.0.1:9093" (with any `--web.route-prefix`);
    /// ledgerd POSTs to `<url>/api/v2/alerts`. Set `url` or `urls`. Credentials go in
    /// `basic_auth_*` or `bearer_token`, not in the URL.
    #[serde(default)]
    url: Option<String>,
    /// The members of an HA cluster, e.g. `["http://am-1:9093", "http://am-2:9093"]`: every alert
    /// is posted to each (independently retried). Set `url` or `urls`.
    #[serde(default)]
    urls: Vec<String>,
    /// Value of the `alertname` label. Default "LedgerLessonViolated".
    #[serde(default = "default_alertname")]
    alertname: String,
    /// Extra labels on every alert, e.g. `{ team = "ops" }`. Default none.
    #[serde(default)]
    labels: BTreeMap<String, String>,
    /// How often the daemon posts a still-firing alert again; each post sets `endsAt` three
    /// periods ahead, so the alert stays active while ledgerd runs. At least "1s". Default "2m".
    #[serde(
        default = "default_repost_every",
        deserialize_with = "crate::duration::de"
    )]
    repost_every: Duration,
    /// User for HTTP basic auth. Default none.
    basic_auth_user: Option<String>,
    /// Password for HTTP basic auth (a secret; `basic_auth_password_file` works). Default none.
    basic_auth_password: Option<Secret>,
    /// Bearer token (a secret; `bearer_token_file` works). Default none.
    bearer_token: Option<Secret>,
    /// The severities posted as firing per alert series (host, probe), as bits: `WARNING` and
    /// `CRITICAL`. An end is posted only for a severity that was posted: ending a series
    /// Alertmanager never had makes a member list it as resolved in its next notification, and
    /// in an HA pair the two members then disagree and both notify. Empty after a restart or a
    /// reload: then both severities are ended, as before.
    #[serde(skip)]
    posted: std::sync::Mutex<HashMap<String, u8>>,
}

const WARNING: u8 = 1;
const CRITICAL: u8 = 2;

fn default_alertname() -> String {
    "LedgerLessonViolated".into()
}

fn default_repost_every() -> Duration {
    Duration::from_secs(120)
}

fn valid_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Alertmanager's severity words: a critical probe pages, anything else warns.
fn severity(h: Health) -> &'static str {
    match h {
        Health::Critical => "critical",
        Health::Degraded | Health::Unknown | Health::Ok => "warning",
    }
}

impl Alertmanager {
    /// The base URLs: `urls`, or the one `url`.
    fn bases(&self) -> Vec<&str> {
        if self.urls.is_empty() {
            self.url.iter().map(String::as_str).collect()
        } else {
            self.urls.iter().map(String::as_str).collect()
        }
    }

    fn endpoint(&self, member: usize) -> String {
        let bases = self.bases();
        let base = bases.get(member).or(bases.first()).copied().unwrap_or("");
        format!("{}/api/v2/alerts", base.trim_end_matches('/'))
    }

    fn labels(&self, a: &Alert, severity: &str) -> Map<String, Value> {
        let mut l = Map::new();
        for (k, v) in &self.labels {
            l.insert(k.clone(), v.clone().into());
        }
        l.insert("alertname".into(), self.alertname.clone().into());
        l.insert("lesson".into(), a.lesson.to_string().into());
        for (k, v) in [("probe", &a.probe), ("host", &a.host), ("kind", &a.kind)] {
            if !v.is_empty() {
                l.insert(k.into(), v.clone().into());
            }
        }
        if let Some(agent) = a.agent.as_deref().filter(|x| !x.is_empty()) {
            l.insert("agent".into(), agent.into());
        }
        l.insert("severity".into(), severity.into());
        l
    }

    fn annotations(a: &Alert) -> Map<String, Value> {
        let mut m = Map::new();
        let summary = if a.rule.is_empty() {
            a.summary.clone()
        } else {
            format!("{}: {}", a.rule, a.summary)
        };
        m.insert("summary".into(), summary.into());
        m.insert(
            "description".into(),
            render::group_body(std::slice::from_ref(a)).into(),
        );
        if !a.fix.is_empty() {
            m.insert("fix".into(), a.fix.clone().into());
        }
        if !a.url.is_empty() {
            m.insert("dashboard_url".into(), a.url.clone().into());
        }
        if a.incident != 0 {
            m.insert("incident".into(), a.incident.to_string().into());
        }
        if let Some(ack) = &a.ack {
            m.insert("acknowledged_by".into(), ack.by.clone().into());
        }
        m
    }

    /// The postable alerts for `alerts` at `now`. A resolved alert ends each severity this
    /// channel posted for it (both when it does not know, after a restart). A critical firing
    /// alert also ends its "warning" twin when one was posted (the probe escalated from
    /// degraded).
    pub fn postable(&self, alerts: &[Alert], now: DateTime<Utc>) -> Vec<Value> {
        let ahead = chrono::Duration::from_std(self.repost_every.saturating_mul(3))
            .unwrap_or(chrono::Duration::minutes(6));
        let mut out = Vec::new();
        for a in alerts {
            let one = |severity: &str, ends: DateTime<Utc>| {
                let mut v = json!({
                    "labels": self.labels(a, severity),
                    "annotations": Self::annotations(a),
                    "startsAt": ts(a.since.min(ends)),
                    "endsAt": ts(ends),
                });
                if !a.url.is_empty() {
                    v["generatorURL"] = a.url.clone().into();
                }
                v
            };
            let series = format!("{}\u{0}{}", a.host, a.probe);
            let mut posted = self.posted.lock().unwrap_or_else(|e| e.into_inner());
            if a.event == Event::Resolved {
                let ended = a.at.min(now).max(a.since);
                // kept, not removed: each HA member's delivery of this resolve asks the same question
                let bits = posted.get(&series).copied().unwrap_or(WARNING | CRITICAL);
                for (bit, sev) in [(CRITICAL, "critical"), (WARNING, "warning")] {
                    if bits & bit != 0 {
                        out.push(one(sev, ended));
                    }
                }
                continue;
            }
            let sev = severity(a.health);
            out.push(one(sev, now + ahead));
            let bits = posted.entry(series).or_insert(0);
            if sev == "critical" {
                *bits |= CRITICAL;
                if *bits & WARNING != 0 {
                    out.push(one("warning", now));
                }
            } else {
                *bits |= WARNING;
            }
        }
        out
    }
}

impl Channel for Alertmanager {
    const KIND: &'static str = "alertmanager";
    const SUMMARY: &'static str = "Prometheus Alertmanager (POST /api/v2/alerts; labels lesson, probe, host, severity; re-posted while firing, endsAt on resolve)";
    const EXAMPLE: &'static str = r#"[channel.am]
url = "http://127.0.0.1:9093"
# an HA cluster instead: every alert goes to every member
# urls = ["http://127.0.0.1:9093", "http://127.0.0.1:9094"]
alertname = "LedgerLessonViolated"
labels = { team = "ops" }
repost_every = "2m"
# basic_auth_user = "ledgerd"
# basic_auth_password_file = "/etc/ledgerd/am.password"
# bearer_token_file = "/etc/ledgerd/am.token"
"#;

    fn validate(&self) -> Vec<Invalid> {
        let mut out = Vec::new();
        let (key, urls): (&str, Vec<(String, &String)>) = match (&self.url, self.urls.is_empty()) {
            (Some(_), false) => {
                out.push(Invalid::new("urls", "set either url or urls, not both"));
                ("urls", Vec::new())
            }
            (None, true) => {
                out.push(Invalid::new(
                    "url",
                    "missing: set url (one Alertmanager) or urls (the members of an HA cluster)",
                ));
                ("url", Vec::new())
            }
            (Some(u), true) => ("url", vec![("url".to_string(), u)]),
            (None, false) => (
                "urls",
                self.urls
                    .iter()
                    .enumerate()
                    .map(|(i, u)| (format!("urls[{i}]"), u))
                    .collect(),
            ),
        };
        for (k, url) in &urls {
            match reqwest::Url::parse(url) {
                Ok(u) if u.scheme() != "http" && u.scheme() != "https" => {
                    out.push(Invalid::new(k, "expected an http:// or https:// URL"));
                }
                Ok(u) if !u.username().is_empty() || u.password().is_some() => {
                    out.push(Invalid::new(
                        k,
                        "put credentials in basic_auth_user/basic_auth_password, not in the URL",
                    ))
                }
                Ok(u) if u.query().is_some() || u.fragment().is_some() => out.push(Invalid::new(
                    k,
                    "expected a base URL without query or fragment (ledgerd appends /api/v2/alerts)",
                )),
                Ok(_) => {}
                Err(e) => out.push(Invalid::new(k, format!("invalid URL: {e}"))),
            }
        }
        for (i, (k, u)) in urls.iter().enumerate() {
            if urls[..i]
                .iter()
                .any(|(_, v)| v.trim_end_matches('/') == u.trim_end_matches('/'))
            {
                out.push(Invalid::new(k, format!("duplicate member of {key}")));
            }
        }
        if self.alertname.trim().is_empty() {
            out.push(Invalid::new("alertname", "must not be empty"));
        }
        for name in self.labels.keys() {
            if !valid_label_name(name) {
                out.push(Invalid::new(
                    format!("labels.{name}"),
                    "label names are letters, digits and '_', not starting with a digit",
                ));
            } else if OWN_LABELS.contains(&name.as_str()) {
                out.push(Invalid::new(
                    format!("labels.{name}"),
                    format!("'{name}' is set by ledgerd (use `alertname` for the alert name)"),
                ));
            }
        }
        if self.repost_every < Duration::from_secs(1) {
            out.push(Invalid::new("repost_every", "must be at least 1s"));
        }
        match (&self.basic_auth_user, &self.basic_auth_password) {
            (Some(_), None) => out.push(Invalid::new(
                "basic_auth_password",
                "basic_auth_user needs basic_auth_password",
            )),
            (None, Some(_)) => out.push(Invalid::new(
                "basic_auth_user",
                "basic_auth_password needs basic_auth_user",
            )),
            _ => {}
        }
        if self.bearer_token.is_some() && self.basic_auth_user.is_some() {
            out.push(Invalid::new(
                "bearer_token",
                "set either bearer_token or basic auth, not both",
            ));
        }
        out
    }

    fn repost_every(&self) -> Option<Duration> {
        Some(self.repost_every)
    }

    fn members(&self) -> usize {
        self.bases().len().max(1)
    }

    async fn send(&self, cx: &SendCx<'_>, alerts: &[Alert]) -> Result<String, SendError> {
        let body = self.postable(alerts, Utc::now());
        let endpoint = self.endpoint(cx.member);
        let mut req = cx.http.post(&endpoint).timeout(cx.timeout).json(&body);
        if let Some(t) = &self.bearer_token {
            req = req.bearer_auth(t.expose());
        } else if let (Some(u), Some(p)) = (&self.basic_auth_user, &self.basic_auth_password) {
            req = req.basic_auth(u, Some(p.expose()));
        }
        let resp = req.send().await.map_err(|e| {
            SendError::retry(format!(
                "POST to alertmanager {}: {}",
                endpoint,
                e.without_url()
            ))
        })?;
        let (status, note) = SendError::check_answer(resp).await?;
        Ok(format!(
            "HTTP {status}, {} postable alerts{note}",
            body.len()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::Evidence;

    fn alert(event: Event, health: Health) -> Alert {
        Alert {
            event,
            lesson: 26,
            lessons: vec![26],
            rule: "HTTP 200 is not proof of correctness".into(),
            lesson_title: "A gateway answered 200 while broken".into(),
            fix: "Check the body, not only the status".into(),
            probe: "hub".into(),
            kind: "http".into(),
            host: "vps-1".into(),
            agent: None,
            health,
            summary: "status 'degraded' in body".into(),
            expected: Some("$.status == live".into()),
            evidence: vec![Evidence {
                key: "body".into(),
                value: "{\"status\":\"degraded\"}".into(),
            }],
            since: DateTime::from_timestamp(1_000, 0).unwrap(),
            at: DateTime::from_timestamp(1_060, 0).unwrap(),
            url: "http://127.0.0.1:9477/probe/hub".into(),
            incident: 7,
            ack: None,
            suppressed: Vec::new(),
            class: String::new(),
            owner: String::new(),
        }
    }

    fn channel(extra: &str) -> Result<Alertmanager, Vec<Invalid>> {
        let v: toml::Value =
            toml::from_str(&format!("url = \"http://127.0.0.1:9093/\"\n{extra}")).unwrap();
        super::super::parse_kind::<Alertmanager>(v)
    }

    #[test]
    fn firing_payload_has_labels_annotations_and_ends_ahead() {
        let am = channel("labels = { team = \"ops\" }\nrepost_every = \"10s\"").unwrap();
        let now = DateTime::from_timestamp(2_000, 0).unwrap();
        let p = am.postable(&[alert(Event::Firing, Health::Degraded)], now);
        assert_eq!(p.len(), 1);
        let a = &p[0];
        assert_eq!(
            a["labels"],
            json!({"alertname": "LedgerLessonViolated", "lesson": "26", "probe": "hub",
                   "host": "vps-1", "severity": "warning", "kind": "http", "team": "ops"})
        );
        let mut of_cs = alert(Event::Firing, Health::Degraded);
        of_cs.agent = Some("cs".into());
        assert_eq!(am.postable(&[of_cs], now)[0]["labels"]["agent"], "cs");
        assert_eq!(
            a["annotations"]["summary"],
            "HTTP 200 is not proof of correctness: status 'degraded' in body"
        );
        assert!(
            a["annotations"]["description"]
                .as_str()
                .unwrap()
                .contains("Evidence:")
        );
        assert_eq!(
            a["annotations"]["fix"],
            "Check the body, not only the status"
        );
        assert_eq!(
            a["annotations"]["dashboard_url"],
            "http://127.0.0.1:9477/probe/hub"
        );
        assert_eq!(a["startsAt"], "1970-01-01T00:16:40.000Z");
        assert_eq!(a["endsAt"], "1970-01-01T00:33:50.000Z", "now + 3 × 10s");
        assert_eq!(a["generatorURL"], "http://127.0.0.1:9477/probe/hub");
        assert_eq!(am.endpoint(0), "http://127.0.0.1:9093/api/v2/alerts");
        assert_eq!(am.members(), 1);
    }

    #[test]
    fn warning_twins_are_ended_only_when_posted_and_an_unknown_series_ends_both() {
        let now = DateTime::from_timestamp(2_000, 0).unwrap();
        let sev = |p: &[Value]| -> Vec<String> {
            p.iter()
                .map(|v| v["labels"]["severity"].as_str().unwrap().to_string())
                .collect()
        };
        // straight to critical: no warning twin was ever posted, so none is ended (an HA
        // member would list the never-fired twin as resolved and notify a second time)
        let am = channel("").unwrap();
        let p = am.postable(&[alert(Event::Firing, Health::Critical)], now);
        assert_eq!(sev(&p), ["critical"]);
        assert_eq!(p[0]["endsAt"], "1970-01-01T00:39:20.000Z", "now + 3 × 2m");
        let r = am.postable(&[alert(Event::Resolved, Health::Ok)], now);
        assert_eq!(sev(&r), ["critical"]);
        assert!(r.iter().all(|v| v["endsAt"] == "1970-01-01T00:17:40.000Z"));
        // the same resolve delivered to the second HA member: the same answer
        let r2 = am.postable(&[alert(Event::Resolved, Health::Ok)], now);
        assert_eq!(sev(&r2), ["critical"]);

        // degraded, then escalated: the critical post ends the warning twin; resolve ends both
        let am = channel("").unwrap();
        let u = am.postable(&[alert(Event::Reminder, Health::Unknown)], now);
        assert_eq!(sev(&u), ["warning"]);
        let p = am.postable(&[alert(Event::Firing, Health::Critical)], now);
        assert_eq!(sev(&p), ["critical", "warning"]);
        assert_eq!(p[1]["endsAt"], "1970-01-01T00:33:20.000Z", "ended now");
        let r = am.postable(&[alert(Event::Resolved, Health::Ok)], now);
        assert_eq!(sev(&r), ["critical", "warning"]);

        // a resolve this channel knows nothing of (after a restart) ends both
        let am = channel("").unwrap();
        let r = am.postable(&[alert(Event::Resolved, Health::Ok)], now);
        assert_eq!(sev(&r), ["critical", "warning"]);
    }

    #[test]
    fn validation_names_the_key() {
        use crate::alert::chat::testkit::refused_keys;
        let keys = |extra: &str| refused_keys(channel(extra));
        assert_eq!(keys("labels = { severity = \"x\" }"), ["labels.severity"]);
        assert_eq!(keys("labels = { \"1a\" = \"x\" }"), ["labels.1a"]);
        assert_eq!(keys("repost_every = \"100ms\""), ["repost_every"]);
        let ha = |toml_text: &str| {
            super::super::parse_kind::<Alertmanager>(toml::from_str(toml_text).unwrap())
        };
        let two = ha("urls = [\"http://127.0.0.1:9093\", \"http://127.0.0.1:9094/\"]").unwrap();
        assert_eq!(two.members(), 2);
        assert_eq!(two.endpoint(1), "http://127.0.0.1:9094/api/v2/alerts");
        let errs = |t: &str| refused_keys(ha(t));
        assert_eq!(
            errs("url = \"http://a:1\"\nurls = [\"http://b:1\"]"),
            ["urls"]
        );
        assert_eq!(errs("alertname = \"x\""), ["url"]);
        assert_eq!(
            errs("urls = [\"http://a:1\", \"ftp://b\", \"http://a:1/\"]"),
            ["urls[1]", "urls[2]"]
        );
        assert_eq!(keys("basic_auth_user = \"u\""), ["basic_auth_password"]);
        assert_eq!(
            keys("bearer_token = \"t\"\nbasic_auth_user = \"u\"\nbasic_auth_password = \"p\""),
            ["bearer_token"]
        );
        let v: toml::Value = toml::from_str("url = \"http://u:p@127.0.0.1:9093\"").unwrap();
        let e = super::super::parse_kind::<Alertmanager>(v).unwrap_err();
        assert_eq!(e[0].key, "url");
        assert!(!e[0].message.contains(":p@"));
    }

    /// The real HTTP exchange against a loopback receiver: method, path, auth header, body.
    #[tokio::test]
    async fn posts_the_array_with_auth_to_the_v2_path() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            loop {
                let n = s.read(&mut chunk).await.unwrap();
                buf.extend_from_slice(&chunk[..n]);
                let text = String::from_utf8_lossy(&buf).to_string();
                if let Some(head_end) = text.find("\r\n\r\n") {
                    let len: usize = text
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse().unwrap())
                        })
                        .unwrap_or(0);
                    if buf.len() >= head_end + 4 + len {
                        break;
                    }
                }
                assert!(n > 0, "connection closed early");
            }
            s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                .await
                .unwrap();
            String::from_utf8(buf).unwrap()
        });
        let v: toml::Value = toml::from_str(&format!(
            "url = \"http://{addr}\"\nbearer_token = \"am-token-123\""
        ))
        .unwrap();
        let am = super::super::parse_kind::<Alertmanager>(v).unwrap();
        let http = crate::http_client::shared();
        let cx = SendCx {
            timeout: Duration::from_secs(5),
            ..crate::alert::chat::testkit::send_cx(&http, "am", "7:1:am")
        };
        let receipt = am
            .send(&cx, &[alert(Event::Firing, Health::Degraded)])
            .await
            .unwrap();
        assert_eq!(receipt, "HTTP 200, 1 postable alerts");
        let req = server.await.unwrap();
        assert!(req.starts_with("POST /api/v2/alerts HTTP/1.1\r\n"), "{req}");
        assert!(
            req.to_ascii_lowercase()
                .contains("authorization: bearer am-token-123")
        );
        let body = &req[req.find("\r\n\r\n").unwrap() + 4..];
        let v: Value = serde_json::from_str(body).unwrap();
        assert_eq!(v.as_array().unwrap().len(), 1);
        assert_eq!(v[0]["labels"]["lesson"], "26");
        assert!(!format!("{am:?}").contains("am-token-123"));
    }
}
