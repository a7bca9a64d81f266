//! Plumbing shared by the chat channels (slack, discord, telegram, teams, mattermost, ntfy,
//! gotify, whatsapp): sending one HTTP request and classifying the answer with
//! `SendError::from_status` (never a retry loop: the outbox retries), what a send reports
//! (`HTTP 200 message <id>`), the checks of the URL and template keys they share, the state word
//! and colour of an alert, and the short facts every layout shows. It must not build a vendor's
//! payload and never formats a URL or token into an error (reqwest errors are stripped of their
//! URL).

use super::template::MessageTemplate;
use super::{Alert, Event, SendCx, SendError};
use crate::probe::{Health, Invalid};
use crate::redact::Secret;
use std::time::Duration;

/// A receiver's answer to a successful (2xx) request.
pub struct Answer {
    pub status: u16,
    pub body: String,
}

impl Answer {
    /// The body as JSON; `Null` when it is not JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or(serde_json::Value::Null)
    }

    /// What a send reports: `HTTP 200 message <id>` when the receiver named the message it
    /// made, else `HTTP 200`.
    pub fn sent(&self, id: Option<impl std::fmt::Display>) -> String {
        match id {
            Some(id) => format!("{} message {id}", self.status_line()),
            None => self.status_line(),
        }
    }

    /// What a send reports when the receiver names no message: `HTTP 200`.
    pub fn status_line(&self) -> String {
        format!("HTTP {}", self.status)
    }
}

/// Sends `req` (with the channel's timeout) and classifies the answer: 2xx is `Ok`; 408, 429 and
/// 5xx are retryable (with `Retry-After` when given); other 4xx are permanent. `what` names the
/// receiver in messages (`slack webhook sha256:ab12…`), never its URL.
pub async fn deliver(
    req: reqwest::RequestBuilder,
    timeout: Duration,
    what: &str,
) -> Result<Answer, SendError> {
    let resp = req
        .timeout(timeout)
        .send()
        .await
        .map_err(SendError::from_reqwest)
        .map_err(|e| SendError {
            message: format!("{what}: {}", e.message),
            ..e
        })?;
    let status = resp.status();
    let retry_after = resp.headers().get(reqwest::header::RETRY_AFTER).cloned();
    let (body, _) =
        crate::http_client::text_capped(resp, crate::http_client::RECEIVER_BODY_CAP).await;
    match SendError::from_status(status, retry_after.as_ref(), &body) {
        Some(e) => Err(SendError {
            message: format!("{what}: {}", e.message),
            // some APIs (Telegram, Discord) give the delay only in the JSON body
            retry_after: e.retry_after.or_else(|| body_retry_after(&body)),
            ..e
        }),
        None => Ok(Answer {
            status: status.as_u16(),
            body,
        }),
    }
}

/// `deliver`, naming the receiver by what it is and the fingerprint of its secret
/// (`slack webhook sha256:ab12…`), never the secret itself.
pub async fn deliver_to(
    req: reqwest::RequestBuilder,
    timeout: Duration,
    name: &str,
    secret: &Secret,
) -> Result<Answer, SendError> {
    deliver(req, timeout, &format!("{name} {}", secret.fingerprint())).await
}

/// Posts `payload` as JSON to a webhook whose URL is the secret; `name` says what it is
/// (`teams webhook`).
pub async fn post_webhook(
    cx: &SendCx<'_>,
    name: &str,
    url: &Secret,
    payload: &serde_json::Value,
) -> Result<Answer, SendError> {
    let req = cx.http.post(url.expose()).json(payload);
    deliver_to(req, cx.timeout, name, url).await
}

/// `{"parameters":{"retry_after":N}}` (Telegram) or `{"retry_after":N.N}` (Discord).
fn body_retry_after(body: &str) -> Option<Duration> {
    let v: serde_json::Value = serde_json::from_str(body).ok()?;
    let n = v
        .pointer("/parameters/retry_after")
        .or_else(|| v.get("retry_after"))?
        .as_f64()?;
    (n.is_finite() && n >= 0.0).then(|| Duration::from_secs_f64(n.min(86_400.0)))
}

/// Checks an `http(s)` URL key; the message never shows the value (it may hold a token).
pub fn check_url(key: &str, url: &str, problems: &mut Vec<Invalid>) {
    match reqwest::Url::parse(url) {
        Ok(u) if u.scheme() == "http" || u.scheme() == "https" => {}
        Ok(_) => problems.push(Invalid::new(key, "expected an http:// or https:// URL")),
        Err(e) => problems.push(Invalid::new(
            key,
            format!("invalid URL ({}): {e}", crate::redact::fingerprint(url)),
        )),
    }
}

/// The checks of a chat webhook channel: its `webhook_url`, the image URL key it may have
/// (`("icon_url", url)`), then its template.
pub fn check_webhook(
    url: &Secret,
    image: Option<(&str, &str)>,
    template: Option<&MessageTemplate>,
) -> Vec<Invalid> {
    let mut p = Vec::new();
    check_url("webhook_url", url.expose(), &mut p);
    if let Some((key, u)) = image {
        check_url(key, u, &mut p);
    }
    check_template(template, &mut p);
    p
}

/// Checks the optional `template` key (a minijinja message template).
pub fn check_template(template: Option<&MessageTemplate>, problems: &mut Vec<Invalid>) {
    if let Some(t) = template
        && let Err(e) = t.check()
    {
        problems.push(Invalid::new("template", e));
    }
}

/// The word a message leads with: `critical`, `degraded`, `resolved`, `acknowledged`, ...
pub fn state(a: &Alert) -> &'static str {
    match a.event {
        Event::Resolved => "resolved",
        Event::Acknowledged => "acknowledged",
        Event::Test => "test",
        Event::Overflow => "held back",
        _ => a.health.as_str(),
    }
}

/// How an alert should look: vendors name these differently (colours, card styles, emoji).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Tone {
    Good,
    Info,
    Neutral,
    Warning,
    Bad,
}

/// Red critical, orange degraded, grey unknown, green resolved, blue acknowledged or test.
pub fn tone(a: &Alert) -> Tone {
    match a.event {
        Event::Resolved => Tone::Good,
        Event::Acknowledged | Event::Test => Tone::Info,
        _ => match a.health {
            Health::Critical => Tone::Bad,
            Health::Degraded => Tone::Warning,
            Health::Ok => Tone::Good,
            Health::Unknown => Tone::Neutral,
        },
    }
}

/// The tone of a grouped message: the worst alert's.
pub fn group_tone(alerts: &[Alert]) -> Tone {
    alerts.iter().map(tone).max().unwrap_or(Tone::Neutral)
}

/// The priority of a push notification, numbered by the vendor as `[quiet, normal, high,
/// urgent]`: the highest of its alerts', each quiet when resolved, acknowledged or a digest,
/// normal for a test, a held-back summary or unknown health, high when degraded, urgent when
/// critical; normal without alerts.
pub fn priority(alerts: &[Alert], [quiet, normal, high, urgent]: [u8; 4]) -> u8 {
    alerts
        .iter()
        .map(|a| match a.event {
            Event::Resolved | Event::Acknowledged | Event::Digest => quiet,
            Event::Test | Event::Overflow => normal,
            _ => match a.health {
                Health::Critical => urgent,
                Health::Degraded => high,
                _ => normal,
            },
        })
        .max()
        .unwrap_or(normal)
}

/// Colour of a tone as 0xRRGGBB.
pub fn rgb(t: Tone) -> u32 {
    match t {
        Tone::Good => 0x2EB67D,
        Tone::Info => 0x3B82F6,
        Tone::Neutral => 0x9CA3AF,
        Tone::Warning => 0xECB22E,
        Tone::Bad => 0xE01E5A,
    }
}

/// Colour of an alert as 0xRRGGBB.
pub fn color(a: &Alert) -> u32 {
    rgb(tone(a))
}

/// The colour of a grouped message: the worst alert's.
pub fn group_color(alerts: &[Alert]) -> u32 {
    rgb(group_tone(alerts))
}

/// RFC 3339 to the second, UTC.
pub fn when(t: &chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Short (label, raw value) facts of one alert, in display order; values are not escaped.
pub fn facts(a: &Alert) -> Vec<(&'static str, String)> {
    let mut out = vec![
        (
            "Lesson",
            if a.lessons.len() > 1 {
                let all: Vec<String> = a.lessons.iter().map(|l| format!("L{l}")).collect();
                format!("L{} ({})", a.lesson, all.join(", "))
            } else {
                format!("L{}", a.lesson)
            },
        ),
        ("Probe", format!("{} ({})", a.probe, a.kind)),
        ("Host", a.host.clone()),
        ("State", state(a).to_string()),
        (
            if a.event == Event::Resolved {
                "Failing since"
            } else {
                "Since"
            },
            when(&a.since),
        ),
    ];
    if a.incident > 0 {
        out.push(("Incident", format!("#{}", a.incident)));
    }
    if let Some(ack) = &a.ack {
        out.push((
            "Acknowledged",
            format!(
                "by {} at {}{}",
                ack.by,
                when(&ack.at),
                ack.note
                    .as_ref()
                    .map(|n| format!(": {n}"))
                    .unwrap_or_default()
            ),
        ));
    }
    if !a.suppressed.is_empty() {
        out.push(("Suppressed", a.suppressed.join(", ")));
    }
    out
}

/// Evidence as `key: value` lines, at most `max` of them (then `… N more`).
pub fn evidence_lines(a: &Alert, max: usize) -> Vec<String> {
    let mut out: Vec<String> = a
        .evidence
        .iter()
        .take(max)
        .map(|e| format!("{}: {}", e.key, e.value))
        .collect();
    if a.evidence.len() > max {
        out.push(format!("… {} more", a.evidence.len() - max));
    }
    out
}

/// Sets the optional string keys that have a value (`username`, `icon_url`, ...) on a payload
/// object.
pub fn set_optional(payload: &mut serde_json::Value, keys: &[(&str, &Option<String>)]) {
    if let Some(o) = payload.as_object_mut() {
        for (k, v) in keys {
            if let Some(v) = v {
                o.insert(k.to_string(), serde_json::Value::String(v.clone()));
            }
        }
    }
}

/// The titles of `alerts` (not escaped), one a line after `bullet`: the list of the alerts a
/// grouped message does not show in detail.
pub fn title_lines(alerts: &[Alert], bullet: &str) -> String {
    let lines: Vec<String> = alerts
        .iter()
        .map(|a| format!("{bullet} {}", super::render::title(a)))
        .collect();
    lines.join("\n")
}

/// The titles of `alerts`, each escaped with `esc` and cut to `max` characters, after `- `: the
/// list of the alerts a grouped message does not show in detail, for layouts that escape per
/// title.
pub fn fitted_title_lines(alerts: &[Alert], max: usize, esc: fn(&str) -> String) -> Vec<String> {
    alerts
        .iter()
        .map(|a| {
            format!(
                "- {}",
                super::escape::fit(&super::render::title(a), max, esc)
            )
        })
        .collect()
}

/// Shrinks a text layout until it fits `max` characters: first the per-field lengths (`scale`
/// from 1.0 down to 0.2), then the number of alerts shown in detail (from at most 10 down to 1).
/// `layout(alerts, shown, scale)` renders; when even one alert does not fit, the group title
/// alone (escaped with `esc`).
pub fn shrink_to_fit(
    alerts: &[Alert],
    max: usize,
    layout: fn(&[Alert], usize, f64) -> String,
    esc: fn(&str) -> String,
) -> String {
    let mut scale = 1.0;
    let mut shown = alerts.len().min(10);
    for _ in 0..40 {
        let t = layout(alerts, shown, scale);
        if t.chars().count() <= max {
            return t;
        }
        if scale > 0.2 {
            scale *= 0.7;
        } else if shown > 1 {
            shown -= 1;
        } else {
            break;
        }
    }
    super::escape::fit(&super::render::group_title(alerts), max, esc)
}

#[cfg(test)]
pub mod testkit {
    //! Test helpers for channel modules: sample alerts, a loopback receiver capturing requests
    //! (axum on 127.0.0.1:0), snapshot files under tests/data/snapshots/.

    use crate::alert::{Ack, Alert, Event, SendCx, SendError};
    use crate::probe::{Evidence, Health};
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    pub const HOSTILE: &str =
        "<!channel> <@U123> *bold* [click](http://evil) @everyone <b>x</b> &amp;";

    pub fn sample_alert() -> Alert {
        Alert {
            event: Event::Firing,
            lesson: 14,
            lessons: vec![14],
            rule: "Cron is not your shell".into(),
            lesson_title: "Cron jobs failed because env vars were missing".into(),
            fix: "Source config explicitly inside cron scripts".into(),
            probe: "agent-crontab".into(),
            kind: "cron_env".into(),
            host: "vps-1".into(),
            agent: None,
            health: Health::Critical,
            summary: "1 job lacks SHOPIFY_TOKEN".into(),
            expected: Some("every variable a job uses is set".into()),
            evidence: vec![Evidence {
                key: "crontab:3".into(),
                value: "uses $SHOPIFY_TOKEN".into(),
            }],
            since: chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
            at: chrono::DateTime::from_timestamp(1_700_000_120, 0).unwrap(),
            url: "http://127.0.0.1:9477/probe/agent-crontab".into(),
            incident: 7,
            ack: None,
            suppressed: Vec::new(),
            class: String::new(),
            owner: String::new(),
        }
    }

    /// An alert whose probed text (summary, expected, evidence) is hostile markup.
    pub fn hostile_alert() -> Alert {
        let mut a = sample_alert();
        a.summary = format!("body: {HOSTILE}");
        a.expected = Some(HOSTILE.into());
        a.evidence = vec![Evidence {
            key: "body".into(),
            value: HOSTILE.into(),
        }];
        a
    }

    /// A second, different alert for grouped messages.
    pub fn second_alert() -> Alert {
        let mut a = sample_alert();
        a.event = Event::Firing;
        a.lesson = 26;
        a.lessons = vec![26, 4];
        a.rule = "HTTP 200 is not proof of correctness".into();
        a.probe = "hub_gateway".into();
        a.kind = "http".into();
        a.health = Health::Degraded;
        a.summary = "status 200 but $.ok is false".into();
        a.url = "http://127.0.0.1:9477/probe/hub_gateway".into();
        a.incident = 8;
        a.ack = Some(Ack {
            by: "ana".into(),
            at: chrono::DateTime::from_timestamp(1_700_000_060, 0).unwrap(),
            note: Some("looking".into()),
        });
        a
    }

    #[derive(Clone, Debug)]
    pub struct Request {
        pub method: String,
        /// Path and query.
        pub uri: String,
        pub headers: Vec<(String, String)>,
        pub body: Vec<u8>,
    }

    impl Request {
        pub fn header(&self, name: &str) -> Option<&str> {
            self.headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        }
        pub fn json(&self) -> serde_json::Value {
            serde_json::from_slice(&self.body).expect("JSON body")
        }
        /// Asserts this was a JSON `POST` to `uri` (path and query).
        #[track_caller]
        pub fn assert_json_post(&self, uri: &str) {
            assert_eq!(self.method, "POST");
            assert_eq!(self.uri, uri);
            let ct = self.header("content-type").unwrap_or_default();
            assert!(ct.starts_with("application/json"), "content-type {ct:?}");
        }
        /// `assert_json_post(uri)`, then the body.
        #[track_caller]
        pub fn json_post(&self, uri: &str) -> serde_json::Value {
            self.assert_json_post(uri);
            self.json()
        }
    }

    /// Status, headers and body the capture answers with.
    type Reply = (u16, Vec<(String, String)>, String);

    #[derive(Clone)]
    pub struct Capture {
        pub addr: std::net::SocketAddr,
        got: Arc<Mutex<Vec<Request>>>,
        reply: Arc<Mutex<Reply>>,
    }

    impl Capture {
        /// Serves on 127.0.0.1:0 on the test's runtime, answering 200 `{"ok":true}`.
        pub async fn start() -> Capture {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let c = Capture {
                addr,
                got: Arc::new(Mutex::new(Vec::new())),
                reply: Arc::new(Mutex::new((200, Vec::new(), "{\"ok\":true}".into()))),
            };
            let c2 = c.clone();
            let app = axum::Router::new().fallback(move |req: axum::extract::Request| {
                let c = c2.clone();
                async move {
                    let (parts, body) = req.into_parts();
                    let body = axum::body::to_bytes(body, 1 << 20).await.unwrap();
                    c.got.lock().unwrap().push(Request {
                        method: parts.method.to_string(),
                        uri: parts.uri.to_string(),
                        headers: parts
                            .headers
                            .iter()
                            .map(|(k, v)| {
                                (k.to_string(), v.to_str().unwrap_or_default().to_string())
                            })
                            .collect(),
                        body: body.to_vec(),
                    });
                    let (status, headers, text) = c.reply.lock().unwrap().clone();
                    let mut resp = axum::response::Response::new(axum::body::Body::from(text));
                    *resp.status_mut() = axum::http::StatusCode::from_u16(status).unwrap();
                    for (k, v) in headers {
                        resp.headers_mut().insert(
                            axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                            axum::http::HeaderValue::from_str(&v).unwrap(),
                        );
                    }
                    resp
                }
            });
            tokio::spawn(async move {
                axum::serve(listener, app).await.unwrap();
            });
            c
        }

        pub fn url(&self, path: &str) -> String {
            format!("http://{}{}", self.addr, path)
        }

        pub fn reply(&self, status: u16, headers: &[(&str, &str)], body: &str) {
            *self.reply.lock().unwrap() = (
                status,
                headers
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                body.to_string(),
            );
        }

        pub fn requests(&self) -> Vec<Request> {
            self.got.lock().unwrap().clone()
        }

        pub fn last(&self) -> Request {
            self.requests().last().cloned().expect("a request")
        }

        /// Parses channel `C` from `toml_text`, with `{url}` replaced by this server's URL at
        /// `path` and `extra` appended as further lines; panics on an invalid table.
        pub fn channel<C: crate::alert::Channel>(
            &self,
            path: &str,
            toml_text: &str,
            extra: &str,
        ) -> C {
            let text = toml_text.replace("{url}", &self.url(path));
            parse::<C>(&format!("{text}\n{extra}")).unwrap()
        }

        /// Answers the next request with `status` and `body`, sends the sample alert through `ch`
        /// (which must succeed) and returns what the send reports (`HTTP 200 message 42`).
        pub async fn answered<C: crate::alert::Channel>(
            &self,
            ch: &C,
            status: u16,
            body: &str,
        ) -> String {
            self.reply(status, &[], body);
            send_with(ch, &[sample_alert()]).await.unwrap()
        }

        /// Sends `alerts` through `ch` (which must succeed) and returns the JSON body this server
        /// received last.
        pub async fn send_json<C: crate::alert::Channel>(
            &self,
            ch: &C,
            alerts: &[Alert],
        ) -> serde_json::Value {
            send_with(ch, alerts).await.unwrap();
            self.last().json()
        }
    }

    /// A capture started on the test's runtime and the channel `channel(&cap, extra)` builds
    /// pointed at it.
    pub async fn start_with<C>(channel: fn(&Capture, &str) -> C, extra: &str) -> (Capture, C) {
        let cap = Capture::start().await;
        let ch = channel(&cap, extra);
        (cap, ch)
    }

    /// Sends the hostile alert through the channel `channel(&cap, "template = \"<template>\"")`
    /// builds (`template` holds no quote or backslash) and returns the capture and the JSON body
    /// it received.
    pub async fn send_templated<C: crate::alert::Channel>(
        channel: fn(&Capture, &str) -> C,
        template: &str,
    ) -> (Capture, serde_json::Value) {
        let (cap, ch) = start_with(channel, &format!("template = \"{template}\"")).await;
        let v = cap.send_json(&ch, &[hostile_alert()]).await;
        (cap, v)
    }

    pub async fn send_with<C: crate::alert::Channel>(
        ch: &C,
        alerts: &[Alert],
    ) -> Result<String, SendError> {
        let http = crate::http_client::shared();
        ch.send(&send_cx(&http, "test", "idem-1"), alerts).await
    }

    /// What a test sends with: member 0 of `channel_id` through `http`, a 10 s timeout.
    pub fn send_cx<'a>(
        http: &'a reqwest::Client,
        channel_id: &'a str,
        idempotency_key: &'a str,
    ) -> SendCx<'a> {
        SendCx {
            member: 0,
            channel_id,
            http,
            timeout: Duration::from_secs(10),
            idempotency_key,
        }
    }

    /// Asserts that a JSON value is a string starting with `prefix`.
    #[track_caller]
    pub fn assert_text_starts(v: &serde_json::Value, prefix: &str) {
        let s = v.as_str().unwrap_or_else(|| panic!("not a string: {v}"));
        assert!(s.starts_with(prefix), "{prefix:?} does not start {s:?}");
    }

    /// The keys a channel's table was refused at, in order; none when it was valid.
    pub fn refused_keys<C>(parsed: Result<C, Vec<crate::probe::Invalid>>) -> Vec<String> {
        parsed
            .err()
            .unwrap_or_default()
            .into_iter()
            .map(|i| i.key)
            .collect()
    }

    /// Parses a channel's TOML table as the loader does (kind-specific keys only) and validates.
    pub fn parse<C: crate::alert::Channel>(
        toml_text: &str,
    ) -> Result<C, Vec<crate::probe::Invalid>> {
        let v: toml::Value = toml::from_str(toml_text).unwrap();
        super::super::parse_kind::<C>(v)
    }

    /// Compares `value` with tests/data/snapshots/<name>.json (written when missing or when
    /// LEDGERD_UPDATE_SNAPSHOTS=1, then the test fails once so the new file is reviewed).
    pub fn assert_snapshot(name: &str, value: &serde_json::Value, secrets: &[&str]) {
        let text = serde_json::to_string_pretty(value).unwrap() + "\n";
        for s in secrets {
            assert!(!text.contains(s), "snapshot {name} contains a secret");
        }
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/snapshots")
            .join(format!("{name}.json"));
        let update = std::env::var("LEDGERD_UPDATE_SNAPSHOTS").is_ok_and(|v| v == "1");
        match std::fs::read_to_string(&path) {
            Ok(old) if !update => assert_eq!(
                old, text,
                "payload of {name} changed; review and re-run with LEDGERD_UPDATE_SNAPSHOTS=1"
            ),
            _ => {
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(&path, &text).unwrap();
                assert!(
                    update,
                    "snapshot {} written; review it and re-run",
                    path.display()
                );
            }
        }
    }

    /// The retry classification every channel must keep: 500 retryable, 429 with Retry-After,
    /// 400/401/404 permanent. `make` builds the channel pointed at the capture.
    pub async fn assert_classification<C: crate::alert::Channel>(cap: &Capture, ch: &C) {
        let a = [sample_alert()];
        cap.reply(500, &[], "{\"ok\":false}");
        let e = send_with(ch, &a).await.unwrap_err();
        assert!(e.retryable, "500 must be retryable: {e:?}");
        cap.reply(429, &[("retry-after", "7")], "{\"ok\":false}");
        let e = send_with(ch, &a).await.unwrap_err();
        assert!(e.retryable, "429 must be retryable");
        assert_eq!(e.retry_after, Some(Duration::from_secs(7)));
        for s in [400, 401, 404] {
            cap.reply(s, &[], "{\"ok\":false,\"description\":\"nope\"}");
            let e = send_with(ch, &a).await.unwrap_err();
            assert!(!e.retryable, "{s} must be permanent: {e:?}");
            assert!(e.message.contains(&s.to_string()), "{}", e.message);
            assert!(!e.message.contains("127.0.0.1"), "{}", e.message);
        }
        cap.reply(200, &[], "{\"ok\":true}");
    }
}
