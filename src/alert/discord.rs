//! `discord`: a Discord webhook execution (`POST {webhook_url}?wait=true`) with one embed per
//! alert (title, url, description, colour by health, fields, footer, timestamp) and
//! `allowed_mentions: {"parse": []}` so nothing pings. Probed text is markdown-escaped with
//! mentions broken. Embed limits (10 embeds, 6000 characters in all) are kept by shrinking text.
//! Formats and delivers only; the outbox retries.

use super::chat;
use super::escape::{self, fit};
use super::template::MessageTemplate;
use super::{Alert, Channel, SendCx, SendError, render};
use crate::probe::Invalid;
use crate::redact::Secret;
use serde::Deserialize;
use serde_json::{Value, json};

/// Discord's total for all embeds' titles, descriptions, fields, footers and authors.
const TOTAL: usize = 6000;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Discord {
    /// Webhook URL (`https://discord.com/api/webhooks/<id>/<token>`); a secret
    /// (`webhook_url_file` or `${ENV}`). Required.
    webhook_url: Secret,
    /// Display name override. Default: the webhook's name.
    username: Option<String>,
    /// Avatar image URL override. Default: the webhook's avatar.
    avatar_url: Option<String>,
    /// Post into this thread of a forum or text channel. Default: none.
    thread_id: Option<String>,
    /// minijinja template for the embed description (Discord markdown, values escaped, mentions
    /// broken). Default: the built-in layout.
    template: Option<MessageTemplate>,
}

impl Channel for Discord {
    const KIND: &'static str = "discord";
    const SUMMARY: &'static str =
        "Discord webhook with one embed per alert (colour by health), no mentions";
    const EXAMPLE: &'static str = r##"[channel.ops_discord]
# a secret: prefer webhook_url_file = "/etc/ledgerd/discord.url"
webhook_url = "${DISCORD_WEBHOOK_URL:-https://discord.com/api/webhooks/000/XXXX}"
username = "ledgerd"
# template = "**{{ alert.probe }}** on {{ alert.host }}: {{ alert.summary }}"
"##;

    fn validate(&self) -> Vec<Invalid> {
        let avatar = self.avatar_url.as_deref().map(|u| ("avatar_url", u));
        chat::check_webhook(&self.webhook_url, avatar, self.template.as_ref())
    }

    async fn send(&self, cx: &SendCx<'_>, alerts: &[Alert]) -> Result<String, SendError> {
        let payload = self.payload(alerts)?;
        let mut url = reqwest::Url::parse(self.webhook_url.expose())
            .map_err(|_| SendError::permanent("discord: invalid webhook_url"))?;
        url.query_pairs_mut().append_pair("wait", "true");
        if let Some(t) = &self.thread_id {
            url.query_pairs_mut().append_pair("thread_id", t);
        }
        let req = cx.http.post(url).json(&payload);
        let a = chat::deliver_to(req, cx.timeout, "discord webhook", &self.webhook_url).await?;
        Ok(a.sent(a.json()["id"].as_str()))
    }
}

impl Discord {
    fn payload(&self, alerts: &[Alert]) -> Result<Value, SendError> {
        let embeds = match &self.template {
            Some(t) => {
                let text = t.render(alerts, escape::discord, escape::none)?;
                let first = &alerts[0];
                vec![json!({
                    "title": fit(&render::group_title(alerts), 256, escape::discord),
                    "url": first.url,
                    "description": cut(&text, 4096),
                    "color": chat::group_color(alerts),
                    "timestamp": chat::when(&first.at),
                    "footer": {"text": "ledgerd"},
                })]
            }
            None => {
                // shrink until Discord's 6000-character total holds
                let mut scale = 1.0;
                loop {
                    let e = embeds(alerts, scale);
                    if embeds_len(&e) <= TOTAL || scale < 0.05 {
                        break e;
                    }
                    scale *= 0.7;
                }
            }
        };
        let mut payload = json!({
            "embeds": embeds,
            "allowed_mentions": {"parse": []},
        });
        if alerts.len() > 1
            && let Some(o) = payload.as_object_mut()
        {
            o.insert(
                "content".into(),
                fit(&render::group_title(alerts), 2000, escape::discord).into(),
            );
        }
        let optional = [
            ("username", &self.username),
            ("avatar_url", &self.avatar_url),
        ];
        chat::set_optional(&mut payload, &optional);
        Ok(payload)
    }
}

fn embeds(alerts: &[Alert], scale: f64) -> Vec<Value> {
    let n = |x: usize| ((x as f64 * scale) as usize).max(16);
    let (shown, rest) = if alerts.len() > 10 {
        (&alerts[..9], &alerts[9..])
    } else {
        (alerts, &alerts[..0])
    };
    let per = shown.len().max(1);
    let mut out: Vec<Value> = shown
        .iter()
        .map(|a| embed(a, |x| n(x / per.min(4)).min(x)))
        .collect();
    if !rest.is_empty() {
        let titles: Vec<String> = rest
            .iter()
            .map(|a| format!("• {}", render::title(a)))
            .collect();
        out.push(json!({
            "title": format!("…and {} more", rest.len()),
            "description": fit(&titles.join("\n"), n(1500), escape::discord),
            "color": chat::group_color(rest),
        }));
    }
    out
}

fn embed(a: &Alert, n: impl Fn(usize) -> usize) -> Value {
    let mut desc = format!(
        "**Observed:** {}",
        fit(&a.summary, n(1500), escape::discord)
    );
    if let Some(e) = &a.expected {
        desc.push_str(&format!(
            "\n**Expected:** {}",
            fit(e, n(600), escape::discord)
        ));
    }
    desc.push_str(&format!(
        "\n**Rule:** {} ({})\n**Fix (ledger):** {}",
        fit(&a.rule, n(300), escape::discord),
        fit(&a.lesson_title, n(300), escape::discord),
        fit(&a.fix, n(600), escape::discord),
    ));
    let mut fields: Vec<Value> = chat::facts(a)
        .into_iter()
        .map(|(label, value)| {
            let inline = !matches!(label, "Acknowledged" | "Suppressed");
            json!({"name": label, "value": fit(&value, n(1024).min(1024), escape::discord), "inline": inline})
        })
        .collect();
    let lines = chat::evidence_lines(a, 15);
    if !lines.is_empty() {
        fields.push(json!({
            "name": "Evidence",
            "value": fit(&lines.join("\n"), n(1024).min(1024), escape::discord),
            "inline": false,
        }));
    }
    json!({
        "title": fit(&render::title(a), n(256).min(256), escape::discord),
        "url": a.url,
        "description": cut(&desc, 4096),
        "color": chat::color(a),
        "fields": fields,
        "footer": {"text": format!("ledgerd · {}", chat::state(a))},
        "timestamp": chat::when(&a.at),
    })
}

/// Characters Discord counts towards the 6000 total.
fn embeds_len(embeds: &[Value]) -> usize {
    let len = |v: &Value| v.as_str().map(|s| s.chars().count()).unwrap_or(0);
    embeds
        .iter()
        .map(|e| {
            len(&e["title"])
                + len(&e["description"])
                + len(&e["footer"]["text"])
                + e["fields"].as_array().map_or(0, |f| {
                    f.iter().map(|x| len(&x["name"]) + len(&x["value"])).sum()
                })
        })
        .sum()
}

/// Cuts already-escaped text at a character boundary, not after a lone backslash.
fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut c: String = s.chars().take(max - 1).collect();
    if c.ends_with('\\') {
        c.pop();
    }
    c.push('…');
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::chat::testkit::*;

    const HOOK_PATH: &str = "/api/webhooks/123/SECRETtok";

    fn channel(cap: &Capture, extra: &str) -> Discord {
        cap.channel(HOOK_PATH, "webhook_url = \"{url}\"", extra)
    }

    #[tokio::test]
    async fn executes_the_webhook_with_an_embed() {
        let cap = Capture::start().await;
        let ch = channel(&cap, "username = \"ledgerd\"");
        let out = cap.answered(&ch, 200, r#"{"id":"987","type":0}"#).await;
        assert_eq!(out, "HTTP 200 message 987");
        let v = cap.last().json_post(&format!("{HOOK_PATH}?wait=true"));
        assert_eq!(v["allowed_mentions"], json!({"parse": []}));
        let e = &v["embeds"][0];
        assert_eq!(e["color"], 0xE01E5A);
        assert_eq!(e["url"], "http://127.0.0.1:9477/probe/agent-crontab");
        assert_eq!(e["timestamp"], "2023-11-14T22:15:20Z");
        assert_eq!(
            e["fields"][0],
            json!({"name": "Lesson", "value": "L14", "inline": true})
        );
        assert_eq!(v["username"], "ledgerd");
        assert_snapshot("discord", &v, &["SECRETtok"]);
    }

    #[tokio::test]
    async fn hostile_text_is_escaped_and_pings_nobody() {
        let cap = Capture::start().await;
        let v = cap.send_json(&channel(&cap, ""), &[hostile_alert()]).await;
        let s = v["embeds"].to_string();
        assert!(!s.contains("@everyone"), "{s}");
        assert!(!s.contains("[click]"), "{s}");
        assert!(!s.contains(" *bold*"), "{s}");
        assert!(s.contains(r"\\*bold\\*"), "{s}");
        assert_eq!(v["allowed_mentions"]["parse"], json!([]));
    }

    #[tokio::test]
    async fn groups_keep_discord_limits() {
        let cap = Capture::start().await;
        let v = cap
            .send_json(&channel(&cap, ""), &[sample_alert(), second_alert()])
            .await;
        assert_eq!(v["embeds"].as_array().unwrap().len(), 2);
        assert_eq!(v["embeds"][1]["color"], 0xECB22E);
        assert_text_starts(&v["content"], "2 alerts on vps-1");
        assert_snapshot("discord-group", &v, &["SECRETtok"]);
        let mut many = Vec::new();
        for i in 0..14 {
            let mut a = hostile_alert();
            a.summary = format!("{i} {}", "x".repeat(3000));
            many.push(a);
        }
        let v = cap.send_json(&channel(&cap, ""), &many).await;
        let embeds = v["embeds"].as_array().unwrap();
        assert_eq!(embeds.len(), 10);
        assert!(embeds_len(embeds) <= TOTAL, "{}", embeds_len(embeds));
        assert_eq!(embeds[9]["title"], "…and 5 more");
    }

    #[tokio::test]
    async fn template_and_classification() {
        let (cap, ch) = start_with(
            channel,
            "template = \"**{{ alert.probe }}**: {{ alert.summary }}\"\nthread_id = \"55\"",
        )
        .await;
        send_with(&ch, &[hostile_alert()]).await.unwrap();
        let r = cap.last();
        assert_eq!(r.uri, format!("{HOOK_PATH}?wait=true&thread_id=55"));
        let d = r.json()["embeds"][0]["description"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(
            d.starts_with("**agent-crontab**: body: \\<@\u{200B}U123\\>")
                || d.starts_with("**agent-crontab**: body: \\<!channel\\>"),
            "{d}"
        );
        assert!(!d.contains("@everyone"));
        assert_classification(&cap, &channel(&cap, "")).await;
    }
}
