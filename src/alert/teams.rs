//! `teams`: a Microsoft Teams Workflows (Power Automate "When a Teams webhook request is
//! received") webhook carrying an Adaptive Card 1.4 attachment:
//! `{"type":"message","attachments":[{"contentType":"application/vnd.microsoft.card.adaptive",
//! "content":{...}}]}`. Probed text in `TextBlock`/`FactSet` (which render a markdown subset) is
//! markdown-escaped, `{{DATE()}}` functions included. Formats and delivers only; the outbox
//! retries.

use super::chat::{self, Tone};
use super::escape::{self, fit};
use super::template::MessageTemplate;
use super::{Alert, Channel, SendCx, SendError, render};
use crate::probe::Invalid;
use crate::redact::Secret;
use serde::Deserialize;
use serde_json::{Value, json};

/// Alerts shown in full in one card; the rest are listed by title.
const MAX_DETAILED: usize = 10;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Teams {
    /// The Workflows webhook URL (`https://prod-00.westeurope.logic.azure.com/workflows/...` or
    /// `https://<tenant>.environment.api.powerplatform.com/...`); a secret (`webhook_url_file` or
    /// `${ENV}`). Required.
    webhook_url: Secret,
    /// minijinja template for the card's text block (Adaptive Card markdown, values escaped).
    /// Default: the built-in card.
    template: Option<MessageTemplate>,
}

impl Channel for Teams {
    const KIND: &'static str = "teams";
    const SUMMARY: &'static str = "Microsoft Teams Workflows webhook with an Adaptive Card (facts, evidence, dashboard button)";
    const EXAMPLE: &'static str = r#"[channel.ops_teams]
# a secret: prefer webhook_url_file = "/etc/ledgerd/teams.url"
webhook_url = "${TEAMS_WEBHOOK_URL:-https://prod-00.westeurope.logic.azure.com/workflows/000/triggers/manual/paths/invoke}"
# template = "**{{ alert.probe }}** on {{ alert.host }}: {{ alert.summary }}"
"#;

    fn validate(&self) -> Vec<Invalid> {
        chat::check_webhook(&self.webhook_url, None, self.template.as_ref())
    }

    async fn send(&self, cx: &SendCx<'_>, alerts: &[Alert]) -> Result<String, SendError> {
        let payload = self.payload(alerts)?;
        let a = chat::post_webhook(cx, "teams webhook", &self.webhook_url, &payload).await?;
        Ok(a.status_line())
    }
}

impl Teams {
    fn payload(&self, alerts: &[Alert]) -> Result<Value, SendError> {
        let e = escape::markdown;
        let first = &alerts[0];
        let mut body = vec![json!({
            "type": "TextBlock",
            "text": fit(&render::group_title(alerts), 400, e),
            "size": "Large",
            "weight": "Bolder",
            "wrap": true,
            "color": text_color(chat::group_tone(alerts)),
        })];
        match &self.template {
            Some(t) => body.push(json!({
                "type": "TextBlock",
                "text": t.render(alerts, escape::markdown, escape::none)?,
                "wrap": true,
            })),
            None => {
                for a in alerts.iter().take(MAX_DETAILED) {
                    body.push(alert_container(a, alerts.len() > 1));
                }
                if alerts.len() > MAX_DETAILED {
                    let rest = chat::fitted_title_lines(&alerts[MAX_DETAILED..], 300, e);
                    body.push(json!({
                        "type": "TextBlock",
                        "text": format!("**…and {} more**\n\n{}", rest.len(), rest.join("\n")),
                        "wrap": true,
                    }));
                }
            }
        }
        let card = json!({
            "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
            "type": "AdaptiveCard",
            "version": "1.4",
            "msteams": {"width": "Full"},
            "body": body,
            "actions": [{
                "type": "Action.OpenUrl",
                "title": "Open the dashboard",
                "url": first.url,
            }],
        });
        Ok(json!({
            "type": "message",
            "attachments": [{
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": null,
                "content": card,
            }],
        }))
    }
}

fn alert_container(a: &Alert, grouped: bool) -> Value {
    let e = escape::markdown;
    let mut items = Vec::new();
    if grouped {
        items.push(json!({
            "type": "TextBlock",
            "text": format!("[{}]({})", fit(&render::title(a), 300, e), a.url),
            "weight": "Bolder",
            "wrap": true,
        }));
    }
    items.push(json!({
        "type": "TextBlock",
        "text": format!("_{}_ ({})", fit(&a.rule, 300, e), fit(&a.lesson_title, 300, e)),
        "wrap": true,
        "isSubtle": true,
        "spacing": "None",
    }));
    let facts: Vec<Value> = chat::facts(a)
        .into_iter()
        .map(|(t, v)| json!({"title": t, "value": fit(&v, 500, e)}))
        .collect();
    items.push(json!({"type": "FactSet", "facts": facts}));
    items.push(json!({
        "type": "TextBlock",
        "text": format!("**Observed:** {}", fit(&a.summary, 1500, e)),
        "wrap": true,
    }));
    if let Some(x) = &a.expected {
        items.push(json!({
            "type": "TextBlock",
            "text": format!("**Expected:** {}", fit(x, 800, e)),
            "wrap": true,
            "spacing": "Small",
        }));
    }
    if !a.evidence.is_empty() {
        let mut facts: Vec<Value> = a
            .evidence
            .iter()
            .take(15)
            .map(|x| json!({"title": fit(&x.key, 100, e), "value": fit(&x.value, 500, e)}))
            .collect();
        if a.evidence.len() > 15 {
            facts.push(json!({"title": "…", "value": format!("{} more", a.evidence.len() - 15)}));
        }
        items.push(json!({
            "type": "TextBlock",
            "text": "Evidence",
            "weight": "Bolder",
            "wrap": true,
        }));
        items.push(json!({"type": "FactSet", "facts": facts, "spacing": "None"}));
    }
    items.push(json!({
        "type": "TextBlock",
        "text": format!("**Fix (ledger):** {}", fit(&a.fix, 800, e)),
        "wrap": true,
    }));
    json!({
        "type": "Container",
        "style": container_style(chat::tone(a)),
        "separator": grouped,
        "items": items,
    })
}

fn text_color(t: Tone) -> &'static str {
    match t {
        Tone::Bad => "Attention",
        Tone::Warning => "Warning",
        Tone::Good => "Good",
        Tone::Info => "Accent",
        Tone::Neutral => "Default",
    }
}

fn container_style(t: Tone) -> &'static str {
    match t {
        Tone::Bad => "attention",
        Tone::Warning => "warning",
        Tone::Good => "good",
        Tone::Info => "accent",
        Tone::Neutral => "emphasis",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::chat::testkit::*;

    const PATH: &str = "/workflows/abc/triggers/manual/paths/invoke?api-version=1&sig=SECRETsig";

    fn channel(cap: &Capture, extra: &str) -> Teams {
        cap.channel(PATH, "webhook_url = \"{url}\"", extra)
    }

    #[tokio::test]
    async fn posts_an_adaptive_card_message() {
        let cap = Capture::start().await;
        assert_eq!(cap.answered(&channel(&cap, ""), 202, "").await, "HTTP 202");
        let v = cap.last().json_post(PATH);
        assert_eq!(v["type"], "message");
        let att = &v["attachments"][0];
        assert_eq!(
            att["contentType"],
            "application/vnd.microsoft.card.adaptive"
        );
        let card = &att["content"];
        assert_eq!(card["type"], "AdaptiveCard");
        assert_eq!(card["version"], "1.4");
        assert_eq!(card["body"][0]["type"], "TextBlock");
        assert_eq!(card["body"][0]["color"], "Attention");
        assert_eq!(card["actions"][0]["type"], "Action.OpenUrl");
        assert_eq!(
            card["actions"][0]["url"],
            "http://127.0.0.1:9477/probe/agent-crontab"
        );
        assert_snapshot("teams", &v, &["SECRETsig"]);
    }

    #[tokio::test]
    async fn hostile_text_is_markdown_escaped() {
        let cap = Capture::start().await;
        let mut a = hostile_alert();
        a.summary.push_str(" {{DATE(2017-02-14T06:08:39Z, SHORT)}}");
        let s = cap.send_json(&channel(&cap, ""), &[a]).await.to_string();
        assert!(!s.contains("[click]"), "{s}");
        assert!(!s.contains(" *bold*"), "{s}");
        assert!(!s.contains("{{DATE"), "{s}");
        assert!(!s.contains("<b>"), "{s}");
        assert!(s.contains(r"\\*bold\\*"), "{s}");
    }

    #[tokio::test]
    async fn groups_in_containers() {
        let cap = Capture::start().await;
        let v = cap
            .send_json(&channel(&cap, ""), &[sample_alert(), second_alert()])
            .await;
        let body = v["attachments"][0]["content"]["body"]
            .as_array()
            .unwrap()
            .clone();
        assert_eq!(body.len(), 3);
        assert_eq!(body[1]["type"], "Container");
        assert_eq!(body[1]["style"], "attention");
        assert_eq!(body[2]["style"], "warning");
        assert_snapshot("teams-group", &v, &["SECRETsig"]);
        let many: Vec<Alert> = (0..13).map(|_| sample_alert()).collect();
        let s = cap.send_json(&channel(&cap, ""), &many).await.to_string();
        assert!(s.contains("…and 3 more"));
    }

    #[tokio::test]
    async fn template_and_classification() {
        let (cap, v) = send_templated(channel, "**{{ alert.probe }}** {{ alert.summary }}").await;
        let t = v["attachments"][0]["content"]["body"][1]["text"]
            .as_str()
            .unwrap();
        assert!(
            t.starts_with(r"**agent-crontab** body: \<!channel\> \<@U123\> \*bold\*"),
            "{t}"
        );
        assert_classification(&cap, &channel(&cap, "")).await;
    }
}
