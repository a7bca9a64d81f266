//! `ntfy`: publishes as JSON to the server's root URL (`{"topic", "title", "message",
//! "priority", "tags", "click", "actions", "markdown": false}`), with an optional access token
//! (`Authorization: Bearer`) or user and password. Markdown stays off, so probed text is plain
//! text; the message is kept under ntfy's 4096-byte limit (beyond it ntfy turns the message into
//! an attachment). Formats and delivers only; the outbox retries.

use super::chat;
use super::escape::{self, fit};
use super::template::MessageTemplate;
use super::{Alert, Channel, Event, SendCx, SendError, render};
use crate::probe::Invalid;
use crate::redact::Secret;
use serde::Deserialize;
use serde_json::{Value, json};

/// ntfy's message size limit, in bytes, minus a margin.
const MAX_MESSAGE_BYTES: usize = 4000;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ntfy {
    /// Server and topic, `https://ntfy.sh/ledgerd-ops-4f2a`; on a public server the topic is the
    /// password, so this is a secret (`url_file` or `${ENV}`). Required.
    url: Secret,
    /// Access token (`tk_...`), sent as `Authorization: Bearer`; a secret (`token_file`).
    /// Default: none (an empty value counts as none).
    token: Option<Secret>,
    /// User for basic auth instead of a token. Default: none.
    username: Option<String>,
    /// Password for `username`; a secret (`password_file`). Default: none.
    password: Option<Secret>,
    /// minijinja template for the message (plain text). Default: the built-in body.
    template: Option<MessageTemplate>,
}

impl Channel for Ntfy {
    const KIND: &'static str = "ntfy";
    const SUMMARY: &'static str =
        "ntfy publish (JSON): title, plain message, priority by health, tags, click to dashboard";
    const EXAMPLE: &'static str = r#"[channel.phone]
# server + topic; a secret on public servers: url_file = "/etc/ledgerd/ntfy.url" works too
url = "${NTFY_URL:-https://ntfy.sh/ledgerd-example-topic}"
# token = "${NTFY_TOKEN:-}"        # or token_file = "/etc/ledgerd/ntfy.token"
# template = "{{ alert.probe }} on {{ alert.host }}: {{ alert.summary }}"
"#;

    fn validate(&self) -> Vec<Invalid> {
        let mut p = Vec::new();
        chat::check_url("url", self.url.expose(), &mut p);
        if p.is_empty() && split(self.url.expose()).is_none() {
            p.push(Invalid::new(
                "url",
                "expected the server URL followed by a topic (letters, digits, '-', '_'), e.g. https://ntfy.sh/mytopic",
            ));
        }
        if self.username.is_some() != self.password.is_some() {
            p.push(Invalid::new(
                "password",
                "set both 'username' and 'password'",
            ));
        }
        if self.token.is_some() && self.username.is_some() {
            p.push(Invalid::new(
                "token",
                "set either 'token' or 'username'/'password', not both",
            ));
        }
        chat::check_template(self.template.as_ref(), &mut p);
        p
    }

    async fn send(&self, cx: &SendCx<'_>, alerts: &[Alert]) -> Result<String, SendError> {
        let Some((base, topic)) = split(self.url.expose()) else {
            return Err(SendError::permanent("ntfy: url has no topic"));
        };
        let payload = self.payload(&topic, alerts)?;
        let mut req = cx.http.post(base).json(&payload);
        if let Some(t) = self.token.as_ref().filter(|t| !t.is_empty()) {
            req = req.bearer_auth(t.expose());
        } else if let (Some(u), Some(pw)) = (&self.username, &self.password) {
            req = req.basic_auth(u, Some(pw.expose()));
        }
        let a = chat::deliver_to(req, cx.timeout, "ntfy", &self.url).await?;
        Ok(a.sent(a.json()["id"].as_str()))
    }
}

impl Ntfy {
    fn payload(&self, topic: &str, alerts: &[Alert]) -> Result<Value, SendError> {
        let first = &alerts[0];
        let message = match &self.template {
            Some(t) => t.render(alerts, escape::plain, escape::plain)?,
            None => render::group_body(alerts),
        };
        let mut tags = vec![emoji(alerts).to_string()];
        for a in alerts {
            let l = format!("L{}", a.lesson);
            if !tags.contains(&l) {
                tags.push(l);
            }
        }
        tags.truncate(6);
        Ok(json!({
            "topic": topic,
            "title": fit(&render::group_title(alerts), 250, escape::plain),
            "message": fit_bytes(&message, MAX_MESSAGE_BYTES),
            "priority": priority(alerts),
            "tags": tags,
            "click": first.url,
            "actions": [{"action": "view", "label": "Dashboard", "url": first.url, "clear": false}],
            "markdown": false,
        }))
    }
}

/// `https://host/sub/topic` into (`https://host/sub/`, `topic`).
fn split(url: &str) -> Option<(reqwest::Url, String)> {
    let mut u = reqwest::Url::parse(url).ok()?;
    let topic = u.path_segments()?.rfind(|s| !s.is_empty())?.to_string();
    if topic.len() > 64
        || !topic
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return None;
    }
    let path = u.path().trim_end_matches('/').to_string();
    let base = &path[..path.len() - topic.len()];
    u.set_path(if base.is_empty() { "/" } else { base });
    u.set_query(None);
    Some((u, topic))
}

/// 5 critical, 4 degraded, 3 unknown/test/reminder of those, 2 resolved/acknowledged/digest.
fn priority(alerts: &[Alert]) -> u8 {
    chat::priority(alerts, [2, 3, 4, 5])
}

fn emoji(alerts: &[Alert]) -> &'static str {
    match priority(alerts) {
        5 => "rotating_light",
        4 => "warning",
        _ if alerts.iter().all(|a| a.event == Event::Resolved) => "white_check_mark",
        _ if alerts.iter().all(|a| a.event == Event::Acknowledged) => "eyes",
        _ => "information_source",
    }
}

fn fit_bytes(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max - '…'.len_utf8();
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::chat::testkit::*;

    fn channel(cap: &Capture, extra: &str) -> Ntfy {
        cap.channel("/sub/ledgerd-SECRETtopic", "url = \"{url}\"", extra)
    }

    #[tokio::test]
    async fn publishes_json_to_the_root() {
        let (cap, ch) = start_with(channel, "token = \"tk_SECRETtoken\"").await;
        let out = cap
            .answered(&ch, 200, r#"{"id":"abc123","event":"message"}"#)
            .await;
        assert_eq!(out, "HTTP 200 message abc123");
        let r = cap.last();
        r.assert_json_post("/sub/");
        assert_eq!(r.header("authorization"), Some("Bearer tk_SECRETtoken"));
        let mut v = r.json();
        assert_eq!(v["topic"], "ledgerd-SECRETtopic");
        assert_eq!(v["priority"], 5);
        assert_eq!(v["markdown"], false);
        assert_eq!(v["click"], "http://127.0.0.1:9477/probe/agent-crontab");
        assert_eq!(v["tags"], json!(["rotating_light", "L14"]));
        // the topic is a secret on public servers: keep it out of the snapshot
        v["topic"] = "<topic>".into();
        assert_snapshot("ntfy", &v, &["SECRETtopic", "SECRETtoken"]);
    }

    #[tokio::test]
    async fn hostile_text_is_plain_and_groups_fit() {
        let (cap, ch) = start_with(channel, "username = \"u\"\npassword = \"SECRETpw\"").await;
        send_with(&ch, &[hostile_alert()]).await.unwrap();
        let r = cap.last();
        assert!(r.header("authorization").unwrap().starts_with("Basic "));
        let v = r.json();
        assert_eq!(v["markdown"], false);
        assert!(v["message"].as_str().unwrap().contains(HOSTILE));
        let mut resolved = sample_alert();
        resolved.event = Event::Resolved;
        send_with(&ch, &[resolved, second_alert()]).await.unwrap();
        let mut v = cap.last().json();
        assert_eq!(v["priority"], 4);
        assert_text_starts(&v["title"], "2 alerts on vps-1");
        v["topic"] = "<topic>".into();
        assert_snapshot("ntfy-group", &v, &["SECRETtopic", "SECRETpw"]);
        let many: Vec<Alert> = (0..40).map(|_| hostile_alert()).collect();
        send_with(&ch, &many).await.unwrap();
        assert!(cap.last().json()["message"].as_str().unwrap().len() <= MAX_MESSAGE_BYTES);
    }

    #[tokio::test]
    async fn template_validation_and_classification() {
        let (cap, ch) = start_with(
            channel,
            "template = \"{{ alert.probe }}: {{ alert.summary }}\"",
        )
        .await;
        send_with(&ch, &[sample_alert()]).await.unwrap();
        assert_eq!(
            cap.last().json()["message"],
            "agent-crontab: 1 job lacks SHOPIFY_TOKEN"
        );
        assert_eq!(
            parse::<Ntfy>("url = \"https://ntfy.sh/\"").unwrap_err()[0].key,
            "url"
        );
        assert_eq!(
            parse::<Ntfy>("url = \"https://ntfy.sh/a\"\nusername = \"u\"").unwrap_err()[0].key,
            "password"
        );
        let (base, topic) = split("https://ntfy.sh/alerts").unwrap();
        assert_eq!(
            (base.as_str(), topic.as_str()),
            ("https://ntfy.sh/", "alerts")
        );
        assert_classification(&cap, &channel(&cap, "")).await;
    }
}
