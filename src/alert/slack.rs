//! `slack`: a Slack incoming webhook carrying Block Kit (header, section with mrkdwn fields,
//! rich_text for probed text, context with the dashboard link) and a fallback `text`. Probed text
//! never reaches mrkdwn unescaped: `&`, `<`, `>` become entities (no `<!channel>`, no links) and
//! free text (observed, expected, evidence) goes into `rich_text` elements, which Slack does not
//! parse for markup. Formats and delivers only; the outbox retries.

use super::chat;
use super::escape::{self, fit};
use super::template::MessageTemplate;
use super::{Alert, Channel, SendCx, SendError, render};
use crate::probe::Invalid;
use crate::redact::Secret;
use serde::Deserialize;
use serde_json::{Value, json};

/// Alerts shown in full in one grouped message; the rest are listed by title.
const MAX_DETAILED: usize = 8;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Slack {
    /// Incoming webhook URL (`https://hooks.slack.com/services/...`); a secret
    /// (`webhook_url_file` or `${ENV}`). Required.
    webhook_url: Secret,
    /// Channel override (`#ops`); honoured only by legacy webhooks. Default: the webhook's.
    channel: Option<String>,
    /// Display name override; legacy webhooks only. Default: the app's name.
    username: Option<String>,
    /// Emoji shown as the avatar (`:rotating_light:`); legacy webhooks only. Default: none.
    icon_emoji: Option<String>,
    /// minijinja template for the message text (mrkdwn, values escaped for Slack). Default: the
    /// built-in Block Kit layout.
    template: Option<MessageTemplate>,
}

impl Channel for Slack {
    const KIND: &'static str = "slack";
    const SUMMARY: &'static str =
        "Slack incoming webhook with Block Kit (header, fields, evidence, dashboard link)";
    const EXAMPLE: &'static str = r##"[channel.ops_slack]
# a secret: prefer webhook_url_file = "/etc/ledgerd/slack.url"
webhook_url = "${SLACK_WEBHOOK_URL:-https://hooks.slack.com/services/T000/B000/XXXX}"
# channel = "#ops"               # legacy webhooks only, like username and icon_emoji
# username = "ledgerd"
# icon_emoji = ":rotating_light:"
# template = "*{{ title }}*\n{{ alert.summary }}\n<{{ alert.url }}|dashboard>"
"##;

    fn validate(&self) -> Vec<Invalid> {
        chat::check_webhook(&self.webhook_url, None, self.template.as_ref())
    }

    async fn send(&self, cx: &SendCx<'_>, alerts: &[Alert]) -> Result<String, SendError> {
        let payload = self.payload(alerts)?;
        let a = chat::post_webhook(cx, "slack webhook", &self.webhook_url, &payload).await?;
        Ok(format!("HTTP {} {}", a.status, a.body.trim()))
    }
}

impl Slack {
    fn payload(&self, alerts: &[Alert]) -> Result<Value, SendError> {
        let title = render::group_title(alerts);
        let mut blocks = vec![json!({
            "type": "header",
            "text": {"type": "plain_text", "text": fit(&title, 150, escape::none), "emoji": true},
        })];
        let fallback;
        if let Some(t) = &self.template {
            let text = t.render(alerts, escape::slack, escape::slack)?;
            blocks.push(json!({
                "type": "section",
                "text": {"type": "mrkdwn", "text": truncate_rendered(&text, 3000)},
            }));
            fallback = truncate_rendered(&text, 3000);
        } else {
            for (i, a) in alerts.iter().take(MAX_DETAILED).enumerate() {
                if i > 0 || alerts.len() > 1 {
                    blocks.push(json!({"type": "divider"}));
                }
                blocks.extend(alert_blocks(a, alerts.len() > 1));
            }
            if alerts.len() > MAX_DETAILED {
                let rest = &alerts[MAX_DETAILED..];
                let list = chat::title_lines(rest, "•");
                blocks.push(json!({
                    "type": "section",
                    "text": {"type": "mrkdwn", "text": fit(
                        &format!("…and {} more:\n{list}", rest.len()),
                        3000,
                        escape::slack,
                    )},
                }));
            }
            fallback = fit(&title, 3000, escape::slack);
        }
        let first = &alerts[0];
        blocks.push(json!({
            "type": "context",
            "elements": [{
                "type": "mrkdwn",
                "text": format!(
                    "<{}|Open the dashboard> · ledgerd on {} · {}",
                    escape::slack(&first.url),
                    escape::slack(&first.host),
                    chat::when(&first.at),
                ),
            }],
        }));
        let mut payload = json!({ "text": fallback, "blocks": blocks });
        chat::set_optional(
            &mut payload,
            &[
                ("channel", &self.channel),
                ("username", &self.username),
                ("icon_emoji", &self.icon_emoji),
            ],
        );
        Ok(payload)
    }
}

/// The blocks of one alert: (in groups, a linked title), fields, observed/expected/evidence as
/// rich text, the fix.
fn alert_blocks(a: &Alert, grouped: bool) -> Vec<Value> {
    let mut out = Vec::new();
    if grouped {
        out.push(json!({
            "type": "section",
            "text": {"type": "mrkdwn", "text": format!(
                "*<{}|{}>*",
                escape::slack(&a.url),
                fit(&render::title(a), 2900, escape::slack),
            )},
        }));
    }
    let fields: Vec<Value> = chat::facts(a)
        .into_iter()
        .take(10)
        .map(|(label, value)| {
            json!({"type": "mrkdwn", "text": format!("*{label}*\n{}", fit(&value, 1900, escape::slack))})
        })
        .collect();
    out.push(json!({
        "type": "section",
        "text": {"type": "mrkdwn", "text": format!(
            "*{}*: {}",
            fit(&a.rule, 500, escape::slack),
            fit(&a.lesson_title, 2400, escape::slack),
        )},
        "fields": fields,
    }));
    // rich_text: literal text, Slack parses no markup in it
    let mut elements = vec![label_run("Observed: "), text_run(&a.summary, 2000)];
    if let Some(e) = &a.expected {
        elements.push(text_run("\n", 1));
        elements.push(label_run("Expected: "));
        elements.push(text_run(e, 1000));
    }
    let mut rich = vec![json!({"type": "rich_text_section", "elements": elements})];
    let lines = chat::evidence_lines(a, 20);
    if !lines.is_empty() {
        rich.push(json!({
            "type": "rich_text_preformatted",
            "elements": [text_run(&lines.join("\n"), 2500)],
        }));
    }
    out.push(json!({"type": "rich_text", "elements": rich}));
    out.push(json!({
        "type": "section",
        "text": {"type": "mrkdwn", "text": format!("*Fix (ledger)*: {}", fit(&a.fix, 2800, escape::slack))},
    }));
    out
}

fn label_run(s: &str) -> Value {
    json!({"type": "text", "text": s, "style": {"bold": true}})
}

fn text_run(s: &str, max: usize) -> Value {
    json!({"type": "text", "text": fit(s, max, escape::none)})
}

/// Cuts rendered (already escaped) template output on a line end where possible.
fn truncate_rendered(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let cut: String = s.chars().take(max - 1).collect();
    match cut.rfind('\n') {
        Some(i) if i > max / 2 => format!("{}…", &cut[..i]),
        // never leave half an entity
        _ => match cut.rfind('&') {
            Some(i) if !cut[i..].contains(';') => format!("{}…", &cut[..i]),
            _ => format!("{cut}…"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::chat::testkit::*;

    const HOOK_PATH: &str = "/services/T000/B000/SECRETxyz";

    fn channel(cap: &Capture, extra: &str) -> Slack {
        cap.channel(HOOK_PATH, "webhook_url = \"{url}\"", extra)
    }

    #[tokio::test]
    async fn posts_block_kit_to_the_webhook() {
        let (cap, ch) = start_with(
            channel,
            "username = \"ledgerd\"\nicon_emoji = \":rotating_light:\"",
        )
        .await;
        let out = send_with(&ch, &[sample_alert()]).await.unwrap();
        assert!(out.starts_with("HTTP 200"));
        let v = cap.last().json_post(HOOK_PATH);
        assert_eq!(v["blocks"][0]["type"], "header");
        assert_eq!(v["blocks"][0]["text"]["type"], "plain_text");
        assert_eq!(v["blocks"][1]["type"], "section");
        assert_eq!(v["blocks"][1]["fields"][0]["type"], "mrkdwn");
        assert_eq!(v["blocks"][1]["fields"][0]["text"], "*Lesson*\nL14");
        assert_eq!(
            v["blocks"].as_array().unwrap().last().unwrap()["type"],
            "context"
        );
        assert_text_starts(&v["text"], "L14 · Cron is not your shell");
        assert_eq!(v["username"], "ledgerd");
        assert!(v.get("channel").is_none());
        assert_snapshot("slack", &v, &["SECRETxyz"]);
    }

    #[tokio::test]
    async fn hostile_text_stays_text() {
        let cap = Capture::start().await;
        let v = cap.send_json(&channel(&cap, ""), &[hostile_alert()]).await;
        // anything Slack parses as mrkdwn holds no raw < > (no mention, no link)
        fn mrkdwn_texts(v: &Value, out: &mut Vec<String>) {
            match v {
                Value::Object(o) => {
                    if o.get("type") == Some(&json!("mrkdwn")) {
                        out.push(o["text"].as_str().unwrap().to_string());
                    }
                    o.values().for_each(|x| mrkdwn_texts(x, out));
                }
                Value::Array(a) => a.iter().for_each(|x| mrkdwn_texts(x, out)),
                _ => {}
            }
        }
        let mut texts = Vec::new();
        mrkdwn_texts(&v, &mut texts);
        for t in &texts {
            assert!(!t.contains("<!channel>") && !t.contains("<@U123>"), "{t}");
            assert!(!t.contains("<b>"), "{t}");
        }
        // the probed text sits in rich_text runs, verbatim
        let rich = v["blocks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["type"] == "rich_text")
            .unwrap();
        assert!(rich.to_string().contains("<!channel> <@U123> *bold*"));
    }

    #[tokio::test]
    async fn groups_several_alerts_in_one_message() {
        let cap = Capture::start().await;
        let v = cap
            .send_json(&channel(&cap, ""), &[sample_alert(), second_alert()])
            .await;
        assert_eq!(cap.requests().len(), 1);
        let header = v["blocks"][0]["text"]["text"].as_str().unwrap();
        assert!(header.starts_with("2 alerts on vps-1"), "{header}");
        let s = v.to_string();
        assert!(s.contains("agent-crontab") && s.contains("hub_gateway"));
        assert!(s.contains("by ana at"));
        assert_snapshot("slack-group", &v, &["SECRETxyz"]);
        let many: Vec<Alert> = (0..12).map(|_| sample_alert()).collect();
        let v = cap.send_json(&channel(&cap, ""), &many).await;
        assert!(v["blocks"].as_array().unwrap().len() <= 50);
        assert!(v.to_string().contains("…and 4 more"));
    }

    #[tokio::test]
    async fn template_renders_escaped_values() {
        let (_cap, v) = send_templated(channel, "*{{ alert.probe }}* {{ alert.summary }}").await;
        let t = v["blocks"][1]["text"]["text"].as_str().unwrap();
        assert!(
            t.starts_with("*agent-crontab* body: &lt;!channel&gt; &lt;@U123&gt;"),
            "{t}"
        );
        let e = parse::<Slack>("webhook_url = \"http://x/\"\ntemplate = \"{% if %}\"").unwrap_err();
        assert_eq!(e[0].key, "template");
    }

    #[tokio::test]
    async fn answers_are_classified() {
        let cap = Capture::start().await;
        assert_classification(&cap, &channel(&cap, "")).await;
        let e = parse::<Slack>("webhook_url = \"ftp://x\"").unwrap_err();
        assert_eq!(e[0].key, "webhook_url");
    }
}
