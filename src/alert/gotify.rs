//! `gotify`: `POST {url}/message` with the application token in the `X-Gotify-Key` header and
//! `{"title", "message", "priority", "extras"}`; extras set `client::display.contentType =
//! "text/plain"` (probed text is never rendered as markdown) and
//! `client::notification.click.url` to the dashboard. Formats and delivers only; the outbox
//! retries.

use super::chat;
use super::escape::{self, fit};
use super::template::MessageTemplate;
use super::{Alert, Channel, SendCx, SendError, render};
use crate::probe::Invalid;
use crate::redact::Secret;
use serde::Deserialize;
use serde_json::{Value, json};

/// Messages longer than this are cut (Gotify has no hard limit; phones show little).
const MAX_MESSAGE: usize = 8000;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Gotify {
    /// The Gotify server (`https://gotify.example.com`, with a sub-path if proxied). Required.
    url: String,
    /// Application token, sent as `X-Gotify-Key`; a secret (`token_file` or `${ENV}`).
    /// Required.
    token: Secret,
    /// Priority of critical alerts (Gotify 0-10; Android: 8+ is loud). Default 8; degraded
    /// alerts get 5, resolved and acknowledged 2.
    #[serde(default = "default_priority")]
    critical_priority: u8,
    /// minijinja template for the message (plain text). Default: the built-in body.
    template: Option<MessageTemplate>,
}

fn default_priority() -> u8 {
    8
}

impl Channel for Gotify {
    const KIND: &'static str = "gotify";
    const SUMMARY: &'static str = "Gotify POST /message (X-Gotify-Key), plain-text message, priority by health, click to dashboard";
    const EXAMPLE: &'static str = r#"[channel.gotify]
url = "https://gotify.example.com"
# a secret: prefer token_file = "/etc/ledgerd/gotify.token"
token = "${GOTIFY_TOKEN:-AbCdEf123456}"
critical_priority = 8
# template = "{{ alert.probe }} on {{ alert.host }}: {{ alert.summary }}"
"#;

    fn validate(&self) -> Vec<Invalid> {
        let mut p = Vec::new();
        chat::check_url("url", &self.url, &mut p);
        if self.token.is_empty() {
            p.push(Invalid::new("token", "the application token is empty"));
        }
        if self.critical_priority > 10 {
            p.push(Invalid::new("critical_priority", "expected 0 to 10"));
        }
        chat::check_template(self.template.as_ref(), &mut p);
        p
    }

    async fn send(&self, cx: &SendCx<'_>, alerts: &[Alert]) -> Result<String, SendError> {
        let payload = self.payload(alerts)?;
        let url = format!("{}/message", self.url.trim_end_matches('/'));
        let req = cx
            .http
            .post(url)
            .header("X-Gotify-Key", self.token.expose())
            .json(&payload);
        let a = chat::deliver_to(req, cx.timeout, "gotify", &self.token).await?;
        Ok(a.sent(a.json()["id"].as_i64()))
    }
}

impl Gotify {
    fn payload(&self, alerts: &[Alert]) -> Result<Value, SendError> {
        let message = match &self.template {
            Some(t) => t.render(alerts, escape::plain, escape::plain)?,
            None => render::group_body(alerts),
        };
        Ok(json!({
            "title": fit(&render::group_title(alerts), 250, escape::plain),
            "message": fit(&message, MAX_MESSAGE, escape::plain),
            "priority": chat::priority(alerts, [2, 4, 5, self.critical_priority]),
            "extras": {
                "client::display": {"contentType": "text/plain"},
                "client::notification": {"click": {"url": alerts[0].url}},
            },
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::Event;
    use crate::alert::chat::testkit::*;

    fn channel(cap: &Capture, extra: &str) -> Gotify {
        cap.channel(
            "/gotify/",
            "url = \"{url}\"\ntoken = \"SECRETappkey\"",
            extra,
        )
    }

    #[tokio::test]
    async fn posts_message_with_the_key_header() {
        let cap = Capture::start().await;
        let out = cap
            .answered(&channel(&cap, ""), 200, r#"{"id":25,"appid":5}"#)
            .await;
        assert_eq!(out, "HTTP 200 message 25");
        let r = cap.last();
        r.assert_json_post("/gotify/message");
        assert_eq!(r.header("x-gotify-key"), Some("SECRETappkey"));
        let v = r.json();
        assert_eq!(v["priority"], 8);
        assert_eq!(v["extras"]["client::display"]["contentType"], "text/plain");
        assert_eq!(
            v["extras"]["client::notification"]["click"]["url"],
            "http://127.0.0.1:9477/probe/agent-crontab"
        );
        assert_snapshot("gotify", &v, &["SECRETappkey"]);
    }

    #[tokio::test]
    async fn hostile_plain_text_groups_and_template() {
        let cap = Capture::start().await;
        let v = cap.send_json(&channel(&cap, ""), &[hostile_alert()]).await;
        assert_eq!(v["extras"]["client::display"]["contentType"], "text/plain");
        assert!(v["message"].as_str().unwrap().contains(HOSTILE));
        let mut resolved = sample_alert();
        resolved.event = Event::Resolved;
        let v = cap
            .send_json(
                &channel(&cap, "critical_priority = 10"),
                &[resolved, second_alert()],
            )
            .await;
        assert_eq!(v["priority"], 5);
        assert_text_starts(&v["title"], "2 alerts on vps-1");
        assert_snapshot("gotify-group", &v, &["SECRETappkey"]);
        let ch = channel(&cap, "template = \"{{ alert.probe }}!\"");
        send_with(&ch, &[sample_alert()]).await.unwrap();
        assert_eq!(cap.last().json()["message"], "agent-crontab!");
        let e = parse::<Gotify>("url = \"http://x\"\ntoken = \"t\"\ncritical_priority = 11")
            .unwrap_err();
        assert_eq!(e[0].key, "critical_priority");
    }

    #[tokio::test]
    async fn answers_are_classified() {
        let cap = Capture::start().await;
        assert_classification(&cap, &channel(&cap, "")).await;
    }
}
