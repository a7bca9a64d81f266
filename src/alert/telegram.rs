//! `telegram`: Bot API `sendMessage` (`POST {api_base}/bot<token>/sendMessage`) with
//! `parse_mode = "HTML"`: every value is HTML-escaped (`&amp;`, `&lt;`, `&gt;`, `&quot;`), so
//! probed text cannot open a tag, a link or a mention; link previews are off. Messages stay within
//! Telegram's 4096 characters. Formats and delivers only; the outbox retries (Telegram's
//! `parameters.retry_after` is honoured). The token is in the URL path: it never reaches an error.

use super::chat;
use super::escape::{self, fit};
use super::template::MessageTemplate;
use super::{Alert, Channel, Event, SendCx, SendError, render};
use crate::probe::Invalid;
use crate::redact::Secret;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// Telegram's limit for a message's text.
const MAX_TEXT: usize = 4096;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Telegram {
    /// Bot token from @BotFather (`123456:ABC...`); a secret (`bot_token_file` or `${ENV}`).
    /// Required.
    bot_token: Secret,
    /// Target chat: a numeric id (`-1001234567890`) or `@channelusername`. Required.
    chat_id: ChatId,
    /// Topic of a forum supergroup. Default: none (the main thread).
    message_thread_id: Option<i64>,
    /// Send silently (no sound) for resolved, acknowledged and digest messages. Default false.
    #[serde(default)]
    quiet_when_resolved: bool,
    /// Bot API base URL. Default "https://api.telegram.org" (tests point it at loopback).
    #[serde(default = "default_api_base")]
    api_base: String,
    /// minijinja template for the text (Telegram HTML; values HTML-escaped). Default: built-in.
    template: Option<MessageTemplate>,
}

#[derive(Debug, Deserialize, Serialize, Clone)]
#[serde(untagged)]
enum ChatId {
    Id(i64),
    Name(String),
}

fn default_api_base() -> String {
    "https://api.telegram.org".into()
}

impl Channel for Telegram {
    const KIND: &'static str = "telegram";
    const SUMMARY: &'static str = "Telegram Bot API sendMessage (HTML, escaped), no link previews";
    const EXAMPLE: &'static str = r#"[channel.ops_telegram]
# a secret: prefer bot_token_file = "/etc/ledgerd/telegram.token"
bot_token = "${TELEGRAM_BOT_TOKEN:-123456:replace-me}"
chat_id = -1001234567890          # or "@channelusername"
# message_thread_id = 42          # a forum topic
# quiet_when_resolved = true
# template = "<b>{{ title }}</b>\n{{ alert.summary }}\n<a href=\"{{ alert.url }}\">dashboard</a>"
"#;

    fn validate(&self) -> Vec<Invalid> {
        let mut p = Vec::new();
        chat::check_url("api_base", &self.api_base, &mut p);
        let t = self.bot_token.expose();
        if t.is_empty() || t.contains(['/', ' ', '?', '#']) {
            p.push(Invalid::new(
                "bot_token",
                format!("not a bot token ({})", self.bot_token.fingerprint()),
            ));
        }
        if let ChatId::Name(n) = &self.chat_id
            && !(n.starts_with('@') || n.parse::<i64>().is_ok())
        {
            p.push(Invalid::new(
                "chat_id",
                "expected a numeric chat id or '@channelusername'",
            ));
        }
        chat::check_template(self.template.as_ref(), &mut p);
        p
    }

    async fn send(&self, cx: &SendCx<'_>, alerts: &[Alert]) -> Result<String, SendError> {
        let payload = self.payload(alerts)?;
        let url = format!(
            "{}/bot{}/sendMessage",
            self.api_base.trim_end_matches('/'),
            self.bot_token.expose()
        );
        let req = cx.http.post(url).json(&payload);
        let what = format!("telegram bot {}", self.bot_token.fingerprint());
        let a = chat::deliver(req, cx.timeout, &what).await?;
        let v = a.json();
        if v.get("ok") == Some(&Value::Bool(false)) {
            // a 200 that is not a success is not proof (lesson 26)
            return Err(SendError::permanent(format!(
                "{what}: {}",
                crate::redact::truncate(v["description"].as_str().unwrap_or("ok: false"), 200)
            )));
        }
        Ok(a.sent(v.pointer("/result/message_id").and_then(Value::as_i64)))
    }
}

impl Telegram {
    fn payload(&self, alerts: &[Alert]) -> Result<Value, SendError> {
        let text = match &self.template {
            Some(t) => cut_html(&t.render(alerts, escape::html, escape::html)?),
            None => html_text(alerts),
        };
        let quiet = self.quiet_when_resolved
            && alerts.iter().all(|a| {
                matches!(
                    a.event,
                    Event::Resolved | Event::Acknowledged | Event::Digest
                )
            });
        let mut p = json!({
            "chat_id": self.chat_id,
            "text": text,
            "parse_mode": "HTML",
            "link_preview_options": {"is_disabled": true},
        });
        if let Some(o) = p.as_object_mut() {
            if let Some(t) = self.message_thread_id {
                o.insert("message_thread_id".into(), t.into());
            }
            if quiet {
                o.insert("disable_notification".into(), true.into());
            }
        }
        Ok(p)
    }
}

/// The built-in layout, shrunk until it fits Telegram's limit.
fn html_text(alerts: &[Alert]) -> String {
    chat::shrink_to_fit(alerts, MAX_TEXT, layout, escape::html)
}

fn layout(alerts: &[Alert], shown: usize, scale: f64) -> String {
    let n = |x: usize| ((x as f64 * scale) as usize).max(24);
    let e = escape::html;
    let mut out = String::new();
    if alerts.len() > 1 {
        out.push_str(&format!(
            "<b>{}</b>\n\n",
            fit(&render::group_title(alerts), 300, e)
        ));
    }
    for (i, a) in alerts.iter().take(shown).enumerate() {
        if i > 0 {
            out.push_str("\n\n");
        }
        out.push_str(&format!(
            "{} <b>{}</b>\n<i>{}</i> ({})\n",
            icon(a),
            fit(&render::title(a), n(400), e),
            fit(&a.rule, n(300), e),
            fit(&a.lesson_title, n(300), e),
        ));
        // the title names the lesson; list them all when there are several
        let skip = usize::from(a.lessons.len() <= 1);
        for (label, value) in chat::facts(a).into_iter().skip(skip) {
            out.push_str(&format!("{label}: {}\n", fit(&value, n(300), e)));
        }
        out.push_str(&format!(
            "<b>Observed:</b> {}\n",
            fit(&a.summary, n(1200), e)
        ));
        if let Some(x) = &a.expected {
            out.push_str(&format!("<b>Expected:</b> {}\n", fit(x, n(500), e)));
        }
        let lines = chat::evidence_lines(a, 15);
        if !lines.is_empty() {
            out.push_str(&format!(
                "<b>Evidence:</b>\n<pre>{}</pre>\n",
                fit(&lines.join("\n"), n(1200), e)
            ));
        }
        out.push_str(&format!(
            "<b>Fix (ledger):</b> {}\n",
            fit(&a.fix, n(500), e)
        ));
        out.push_str(&format!(
            "<a href=\"{}\">Open the dashboard</a>",
            escape::html(&a.url)
        ));
    }
    if alerts.len() > shown {
        let rest = chat::title_lines(&alerts[shown..], "•");
        let more = alerts.len() - shown;
        out.push_str(&format!(
            "\n\n<b>…and {more} more</b>\n{}",
            fit(&rest, n(800), e)
        ));
    }
    out
}

fn icon(a: &Alert) -> &'static str {
    match chat::state(a) {
        "critical" => "🔴",
        "degraded" => "🟠",
        "resolved" => "✅",
        "acknowledged" => "👀",
        _ => "⚪",
    }
}

/// Keeps rendered template output within the limit: cut at the last line end that fits (a tag
/// left open there would make Telegram refuse the message, so templates should close tags per
/// line), or, with no line end, drop the tags.
fn cut_html(s: &str) -> String {
    if s.chars().count() <= MAX_TEXT {
        return s.to_string();
    }
    let cut: String = s.chars().take(MAX_TEXT - 1).collect();
    match cut.rfind('\n') {
        Some(i) => format!("{}…", &cut[..i]),
        None => fit(&strip_tags(&cut), MAX_TEXT, escape::none),
    }
}

fn strip_tags(s: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::chat::testkit::*;

    const TOKEN: &str = "123456:SECRETtoken";

    fn channel(cap: &Capture, extra: &str) -> Telegram {
        cap.channel(
            "",
            &format!("bot_token = \"{TOKEN}\"\nchat_id = -100123\napi_base = \"{{url}}\""),
            extra,
        )
    }

    #[tokio::test]
    async fn calls_send_message_with_html() {
        let cap = Capture::start().await;
        let ch = channel(&cap, "message_thread_id = 9");
        let out = cap
            .answered(&ch, 200, r#"{"ok":true,"result":{"message_id":42}}"#)
            .await;
        assert_eq!(out, "HTTP 200 message 42");
        let v = cap.last().json_post(&format!("/bot{TOKEN}/sendMessage"));
        assert_eq!(v["chat_id"], -100123);
        assert_eq!(v["parse_mode"], "HTML");
        assert_eq!(v["link_preview_options"]["is_disabled"], true);
        assert_eq!(v["message_thread_id"], 9);
        let t = v["text"].as_str().unwrap();
        assert!(t.starts_with("🔴 <b>L14 · Cron is not your shell"), "{t}");
        assert!(t.contains("<a href=\"http://127.0.0.1:9477/probe/agent-crontab\">"));
        assert_snapshot("telegram", &v, &["SECRETtoken"]);
    }

    #[tokio::test]
    async fn hostile_text_is_html_escaped() {
        let cap = Capture::start().await;
        let t = cap.send_json(&channel(&cap, ""), &[hostile_alert()]).await["text"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(!t.contains("<b>x</b>"), "{t}");
        assert!(!t.contains("<@U123>"), "{t}");
        assert!(t.contains("&lt;b&gt;x&lt;/b&gt; &amp;amp;"), "{t}");
        // only ledgerd's own tags remain
        let tags: std::collections::BTreeSet<&str> = t
            .split('<')
            .skip(1)
            .map(|s| s.split(['>', ' ']).next().unwrap())
            .collect();
        for tag in &tags {
            assert!(
                ["b", "/b", "i", "/i", "pre", "/pre", "a", "/a"].contains(tag),
                "{tag}"
            );
        }
    }

    #[tokio::test]
    async fn groups_and_fits_the_limit() {
        let cap = Capture::start().await;
        let v = cap
            .send_json(
                &channel(&cap, "quiet_when_resolved = true"),
                &[sample_alert(), second_alert()],
            )
            .await;
        let t = v["text"].as_str().unwrap();
        assert!(t.starts_with("<b>2 alerts on vps-1"), "{t}");
        assert!(t.contains("hub_gateway") && t.contains("agent-crontab"));
        assert!(v.get("disable_notification").is_none());
        assert_snapshot("telegram-group", &v, &["SECRETtoken"]);
        let many: Vec<Alert> = (0..30)
            .map(|_| {
                let mut a = hostile_alert();
                a.summary = "&".repeat(3000);
                a.event = Event::Resolved;
                a
            })
            .collect();
        let v = cap
            .send_json(&channel(&cap, "quiet_when_resolved = true"), &many)
            .await;
        assert!(v["text"].as_str().unwrap().chars().count() <= MAX_TEXT);
        assert_eq!(v["disable_notification"], true);
    }

    #[tokio::test]
    async fn template_classification_and_ok_false() {
        let (cap, v) =
            send_templated(channel, "<b>{{ alert.probe }}</b> {{ alert.summary }}").await;
        let t = v["text"].as_str().unwrap().to_string();
        assert!(
            t.starts_with("<b>agent-crontab</b> body: &lt;!channel&gt;"),
            "{t}"
        );
        let ch = channel(&cap, "");
        assert_classification(&cap, &ch).await;
        cap.reply(
            429,
            &[],
            r#"{"ok":false,"error_code":429,"parameters":{"retry_after":31}}"#,
        );
        let e = send_with(&ch, &[sample_alert()]).await.unwrap_err();
        assert!(e.retryable);
        assert_eq!(e.retry_after, Some(std::time::Duration::from_secs(31)));
        assert!(!e.message.contains("SECRETtoken"));
        cap.reply(
            200,
            &[],
            r#"{"ok":false,"description":"Bad Request: chat not found"}"#,
        );
        let e = send_with(&ch, &[sample_alert()]).await.unwrap_err();
        assert!(
            !e.retryable && e.message.contains("chat not found"),
            "{e:?}"
        );
        // a dead receiver: the error names the bot by fingerprint, never the token
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dead = parse::<Telegram>(&format!(
            "bot_token = \"{TOKEN}\"\nchat_id = \"@ops\"\napi_base = \"http://127.0.0.1:{port}\""
        ))
        .unwrap();
        let e = send_with(&dead, &[sample_alert()]).await.unwrap_err();
        assert!(e.retryable && !e.message.contains("SECRETtoken"), "{e:?}");
        assert!(parse::<Telegram>("bot_token = \"a/b\"\nchat_id = \"ops\"").is_err());
    }
}
