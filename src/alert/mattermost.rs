//! `mattermost`: a Mattermost incoming webhook with `text` and one message attachment per alert
//! (`color`, `title`/`title_link`, `text`, `fields`, `footer`, `ts`). Probed text is
//! markdown-escaped and `@` mentions are broken (a zero-width space after `@`), so `@channel` or
//! `@all` in a response body notifies nobody. Formats and delivers only; the outbox retries.

use super::chat;
use super::escape::{self, fit};
use super::template::MessageTemplate;
use super::{Alert, Channel, SendCx, SendError, render};
use crate::probe::Invalid;
use crate::redact::Secret;
use serde::Deserialize;
use serde_json::{Value, json};

/// Alerts shown as attachments in one grouped message; the rest are listed by title.
const MAX_DETAILED: usize = 10;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mattermost {
    /// Incoming webhook URL (`https://chat.example.com/hooks/<key>`); a secret
    /// (`webhook_url_file` or `${ENV}`). Required.
    webhook_url: Secret,
    /// Channel override (`town-square`, `@user` for a DM), if the webhook allows it. Default: the
    /// webhook's channel.
    channel: Option<String>,
    /// Display name override, if the server allows it. Default: the webhook's.
    username: Option<String>,
    /// Avatar URL override, if the server allows it. Default: the webhook's.
    icon_url: Option<String>,
    /// minijinja template for the message `text` (Mattermost markdown, values escaped and
    /// mentions broken); with a template no attachments are sent. Default: the built-in layout.
    template: Option<MessageTemplate>,
}

impl Channel for Mattermost {
    const KIND: &'static str = "mattermost";
    const SUMMARY: &'static str =
        "Mattermost incoming webhook with coloured attachments and fields, no mentions";
    const EXAMPLE: &'static str = r#"[channel.ops_mattermost]
# a secret: prefer webhook_url_file = "/etc/ledgerd/mattermost.url"
webhook_url = "${MATTERMOST_WEBHOOK_URL:-https://chat.example.com/hooks/xxxxxxxxxxxxxxxxxxxxxxxxxx}"
# channel = "ops-alerts"
username = "ledgerd"
# template = "**{{ title }}**\n{{ alert.summary }}\n[dashboard]({{ alert.url }})"
"#;

    fn validate(&self) -> Vec<Invalid> {
        let icon = self.icon_url.as_deref().map(|u| ("icon_url", u));
        chat::check_webhook(&self.webhook_url, icon, self.template.as_ref())
    }

    async fn send(&self, cx: &SendCx<'_>, alerts: &[Alert]) -> Result<String, SendError> {
        let payload = self.payload(alerts)?;
        let a = chat::post_webhook(cx, "mattermost webhook", &self.webhook_url, &payload).await?;
        Ok(a.status_line())
    }
}

impl Mattermost {
    fn payload(&self, alerts: &[Alert]) -> Result<Value, SendError> {
        let e = escape::mattermost;
        let mut p = match &self.template {
            Some(t) => json!({"text": t.render(alerts, e, escape::none)?}),
            None => {
                let mut attachments: Vec<Value> =
                    alerts.iter().take(MAX_DETAILED).map(attachment).collect();
                if alerts.len() > MAX_DETAILED {
                    let rest = chat::fitted_title_lines(&alerts[MAX_DETAILED..], 300, e);
                    attachments.push(json!({
                        "fallback": format!("…and {} more", rest.len()),
                        "color": format!("#{:06X}", chat::group_color(&alerts[MAX_DETAILED..])),
                        "title": format!("…and {} more", rest.len()),
                        "text": rest.join("\n"),
                    }));
                }
                json!({
                    "text": format!("#### {}", fit(&render::group_title(alerts), 1000, e)),
                    "attachments": attachments,
                })
            }
        };
        chat::set_optional(
            &mut p,
            &[
                ("channel", &self.channel),
                ("username", &self.username),
                ("icon_url", &self.icon_url),
            ],
        );
        Ok(p)
    }
}

fn attachment(a: &Alert) -> Value {
    let e = escape::mattermost;
    let mut text = format!(
        "_{}_ ({})\n**Observed:** {}",
        fit(&a.rule, 300, e),
        fit(&a.lesson_title, 300, e),
        fit(&a.summary, 2000, e)
    );
    if let Some(x) = &a.expected {
        text.push_str(&format!("\n**Expected:** {}", fit(x, 800, e)));
    }
    let lines = chat::evidence_lines(a, 20);
    if !lines.is_empty() {
        text.push_str("\n**Evidence:**");
        for l in lines {
            text.push_str(&format!("\n\\- {}", fit(&l, 500, e)));
        }
    }
    text.push_str(&format!(
        "\n**Fix (ledger):** {}\n[Open the dashboard]({})",
        fit(&a.fix, 800, e),
        a.url
    ));
    let fields: Vec<Value> = chat::facts(a)
        .into_iter()
        .map(|(t, v)| {
            let short = !matches!(t, "Acknowledged" | "Suppressed");
            json!({"short": short, "title": t, "value": fit(&v, 500, e)})
        })
        .collect();
    json!({
        "fallback": fit(&render::title(a), 500, escape::plain),
        "color": format!("#{:06X}", chat::color(a)),
        "title": fit(&render::title(a), 500, e),
        "title_link": a.url,
        "text": text,
        "fields": fields,
        "footer": format!("ledgerd · {}", chat::state(a)),
        "ts": a.at.timestamp(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::chat::testkit::*;

    const PATH: &str = "/hooks/SECRETkey123";

    fn channel(cap: &Capture, extra: &str) -> Mattermost {
        cap.channel(PATH, "webhook_url = \"{url}\"", extra)
    }

    #[tokio::test]
    async fn posts_text_and_attachments() {
        let (cap, ch) = start_with(channel, "channel = \"ops\"\nusername = \"ledgerd\"").await;
        assert_eq!(cap.answered(&ch, 200, "ok").await, "HTTP 200");
        let v = cap.last().json_post(PATH);
        assert_eq!(v["channel"], "ops");
        assert_eq!(v["username"], "ledgerd");
        let at = &v["attachments"][0];
        assert_eq!(at["color"], "#E01E5A");
        assert_eq!(
            at["title_link"],
            "http://127.0.0.1:9477/probe/agent-crontab"
        );
        assert_eq!(
            at["fields"][0],
            json!({"short": true, "title": "Lesson", "value": "L14"})
        );
        assert!(at["fallback"].as_str().unwrap().starts_with("L14 · "));
        assert_snapshot("mattermost", &v, &["SECRETkey123"]);
    }

    #[tokio::test]
    async fn hostile_text_neither_formats_nor_mentions() {
        let cap = Capture::start().await;
        let v = cap.send_json(&channel(&cap, ""), &[hostile_alert()]).await;
        let s = v["attachments"].to_string();
        assert!(!s.contains("@everyone") && !s.contains("@U123"), "{s}");
        assert!(!s.contains("[click]"), "{s}");
        assert!(s.contains(r"\\*bold\\*"), "{s}");
        assert!(s.contains("@\u{200B}everyone"));
    }

    #[tokio::test]
    async fn groups_as_attachments() {
        let cap = Capture::start().await;
        let v = cap
            .send_json(&channel(&cap, ""), &[sample_alert(), second_alert()])
            .await;
        assert_eq!(v["attachments"].as_array().unwrap().len(), 2);
        assert_text_starts(&v["text"], "#### 2 alerts on vps-1");
        assert_eq!(v["attachments"][1]["color"], "#ECB22E");
        assert_snapshot("mattermost-group", &v, &["SECRETkey123"]);
        let many: Vec<Alert> = (0..12).map(|_| sample_alert()).collect();
        let v = cap.send_json(&channel(&cap, ""), &many).await;
        assert_eq!(v["attachments"].as_array().unwrap().len(), 11);
    }

    #[tokio::test]
    async fn template_and_classification() {
        let (cap, v) = send_templated(channel, "**{{ alert.probe }}** {{ alert.summary }}").await;
        let t = v["text"].as_str().unwrap();
        assert!(
            t.starts_with("**agent-crontab** body: \\<!channel\\> \\<@\u{200B}U123\\>"),
            "{t}"
        );
        assert!(v.get("attachments").is_none());
        assert_classification(&cap, &channel(&cap, "")).await;
    }
}
