//! `whatsapp`: WhatsApp Business Cloud API, `POST {api_base}/{api_version}/{phone_number_id}/messages`
//! with `Authorization: Bearer`: a `text` message (`preview_url: false`, body within 4096
//! characters) or, with `template_name`, an approved template message with body parameters (what
//! Meta requires to start a conversation outside the 24-hour window). WhatsApp has no escape
//! syntax: probed text gets a zero-width space after `*`, `_`, `~` and backticks so it cannot
//! format. Graph API rate-limit codes that come back as HTTP 400 are retryable. Formats and
//! delivers only; the outbox retries.

use super::chat;
use super::escape::{self, fit};
use super::template::MessageTemplate;
use super::{Alert, Channel, SendCx, SendError, render};
use crate::probe::Invalid;
use crate::redact::Secret;
use serde::Deserialize;
use serde_json::{Value, json};

/// WhatsApp's limit for a text message body.
const MAX_BODY: usize = 4096;

/// Graph API error codes that mean "later" although the HTTP status is 400: application and
/// business rate limits, spam and pair rate limits, temporary unavailability.
const RETRYABLE_CODES: &[i64] = &[4, 80007, 130429, 131016, 131048, 131056, 133004];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Whatsapp {
    /// Graph API base URL. Default "https://graph.facebook.com" (tests point it at loopback).
    #[serde(default = "default_api_base")]
    api_base: String,
    /// Graph API version. Default "v21.0".
    #[serde(default = "default_api_version")]
    api_version: String,
    /// The sending number's id from WhatsApp Manager (not the phone number). Required.
    phone_number_id: String,
    /// System-user access token with `whatsapp_business_messaging`; a secret
    /// (`access_token_file` or `${ENV}`). Required.
    access_token: Secret,
    /// Recipient phone number with country code (`+4915112345678`). Required.
    to: String,
    /// minijinja template for the text body (WhatsApp formatting; values neutralised). Default:
    /// the built-in layout.
    template: Option<MessageTemplate>,
    /// Send this approved message template instead of text (needed outside the 24-hour
    /// customer-service window). Default: none (a text message).
    template_name: Option<String>,
    /// Language code of `template_name`. Default "en_US".
    #[serde(default = "default_language")]
    template_language: String,
    /// One minijinja expression per body parameter `{{1}}`, `{{2}}`, ... of `template_name`.
    /// Default ["{{ title }}", "{{ alert.url }}"].
    #[serde(default = "default_params")]
    template_params: Vec<MessageTemplate>,
}

fn default_api_base() -> String {
    "https://graph.facebook.com".into()
}
fn default_api_version() -> String {
    "v21.0".into()
}
fn default_language() -> String {
    "en_US".into()
}
fn default_params() -> Vec<MessageTemplate> {
    serde_json::from_value(json!(["{{ title }}", "{{ alert.url }}"])).unwrap_or_default()
}

impl Channel for Whatsapp {
    const KIND: &'static str = "whatsapp";
    const SUMMARY: &'static str =
        "WhatsApp Business Cloud API message (text, or an approved template with parameters)";
    const EXAMPLE: &'static str = r#"[channel.oncall_whatsapp]
phone_number_id = "106540352242922"
# a secret: prefer access_token_file = "/etc/ledgerd/whatsapp.token"
access_token = "${WHATSAPP_TOKEN:-EAAG-replace-me}"
to = "+4915112345678"
# api_version = "v21.0"
# template_name = "ledgerd_alert"       # an approved template: starts conversations
# template_language = "en_US"
# template_params = ["{{ title }}", "{{ alert.url }}"]
"#;

    fn validate(&self) -> Vec<Invalid> {
        let mut p = Vec::new();
        chat::check_url("api_base", &self.api_base, &mut p);
        let version_ok = self
            .api_version
            .strip_prefix('v')
            .is_some_and(|v| !v.is_empty() && v.chars().all(|c| c.is_ascii_digit() || c == '.'));
        if !version_ok {
            p.push(Invalid::new(
                "api_version",
                "expected a version like \"v21.0\"",
            ));
        }
        if self.phone_number_id.is_empty()
            || !self.phone_number_id.chars().all(|c| c.is_ascii_digit())
        {
            p.push(Invalid::new(
                "phone_number_id",
                "expected the numeric phone number id from WhatsApp Manager",
            ));
        }
        let digits = self.to.strip_prefix('+').unwrap_or(&self.to);
        if !(6..=20).contains(&digits.len()) || !digits.chars().all(|c| c.is_ascii_digit()) {
            p.push(Invalid::new(
                "to",
                "expected a phone number with country code, digits only (\"+4915112345678\")",
            ));
        }
        if self.access_token.is_empty() {
            p.push(Invalid::new("access_token", "the access token is empty"));
        }
        if let Some(n) = &self.template_name
            && (n.is_empty()
                || !n
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'))
        {
            p.push(Invalid::new(
                "template_name",
                "expected an approved template name (lowercase letters, digits, '_')",
            ));
        }
        chat::check_template(self.template.as_ref(), &mut p);
        for (i, t) in self.template_params.iter().enumerate() {
            if let Err(e) = t.check() {
                p.push(Invalid::new(format!("template_params[{i}]"), e));
            }
        }
        p
    }

    async fn send(&self, cx: &SendCx<'_>, alerts: &[Alert]) -> Result<String, SendError> {
        let payload = self.payload(alerts)?;
        let url = format!(
            "{}/{}/{}/messages",
            self.api_base.trim_end_matches('/'),
            self.api_version,
            self.phone_number_id
        );
        let req = cx
            .http
            .post(url)
            .bearer_auth(self.access_token.expose())
            .json(&payload);
        let a = chat::deliver_to(req, cx.timeout, "whatsapp", &self.access_token)
            .await
            .map_err(graph_retry)?;
        Ok(a.sent(a.json().pointer("/messages/0/id").and_then(Value::as_str)))
    }
}

/// A Graph API rate limit answered as HTTP 400 is retryable after all.
fn graph_retry(e: SendError) -> SendError {
    if e.retryable {
        return e;
    }
    // the body in the message may be cut; the code comes early in Graph's error object
    let code = e.message.find("\"code\":").and_then(|i| {
        let digits: String = e.message[i + 7..]
            .trim_start()
            .chars()
            .take_while(|c| c.is_ascii_digit())
            .collect();
        digits.parse::<i64>().ok()
    });
    match code {
        Some(c) if RETRYABLE_CODES.contains(&c) => SendError {
            retryable: true,
            ..e
        },
        _ => e,
    }
}

impl Whatsapp {
    fn recipient(&self) -> String {
        self.to.trim_start_matches('+').to_string()
    }

    fn payload(&self, alerts: &[Alert]) -> Result<Value, SendError> {
        if let Some(name) = &self.template_name {
            let n = self.template_params.len().max(1);
            let params = self
                .template_params
                .iter()
                .map(|t| {
                    t.render(alerts, escape::whatsapp, escape::none)
                        .map(|s| json!({"type": "text", "text": param(&s, (1000 / n).min(500))}))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let mut template = json!({
                "name": name,
                "language": {"code": self.template_language},
            });
            if !params.is_empty()
                && let Some(o) = template.as_object_mut()
            {
                o.insert(
                    "components".into(),
                    json!([{"type": "body", "parameters": params}]),
                );
            }
            return Ok(json!({
                "messaging_product": "whatsapp",
                "recipient_type": "individual",
                "to": self.recipient(),
                "type": "template",
                "template": template,
            }));
        }
        let body = match &self.template {
            Some(t) => cut(&t.render(alerts, escape::whatsapp, escape::none)?),
            None => text_body(alerts),
        };
        Ok(json!({
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": self.recipient(),
            "type": "text",
            "text": {"preview_url": false, "body": body},
        }))
    }
}

/// The built-in layout, shrunk until it fits 4096 characters.
fn text_body(alerts: &[Alert]) -> String {
    chat::shrink_to_fit(alerts, MAX_BODY, layout, escape::whatsapp)
}

fn layout(alerts: &[Alert], shown: usize, scale: f64) -> String {
    let n = |x: usize| ((x as f64 * scale) as usize).max(24);
    let e = escape::whatsapp;
    let mut out = String::new();
    if alerts.len() > 1 {
        out.push_str(&format!(
            "*{}*\n\n",
            fit(&render::group_title(alerts), 300, e)
        ));
    }
    for (i, a) in alerts.iter().take(shown).enumerate() {
        if i > 0 {
            out.push_str("\n\n");
        }
        out.push_str(&format!(
            "*{}*\n_{}_\n",
            fit(&render::title(a), n(400), e),
            fit(&a.lesson_title, n(300), e)
        ));
        for (label, value) in chat::facts(a) {
            out.push_str(&format!("{label}: {}\n", fit(&value, n(300), e)));
        }
        out.push_str(&format!("*Observed:* {}\n", fit(&a.summary, n(1200), e)));
        if let Some(x) = &a.expected {
            out.push_str(&format!("*Expected:* {}\n", fit(x, n(500), e)));
        }
        let lines = chat::evidence_lines(a, 15);
        if !lines.is_empty() {
            out.push_str("*Evidence:*\n");
            for l in lines {
                out.push_str(&format!("- {}\n", fit(&l, n(300), e)));
            }
        }
        out.push_str(&format!("*Fix (ledger):* {}\n", fit(&a.fix, n(500), e)));
        out.push_str(&a.url);
    }
    if alerts.len() > shown {
        let rest = chat::title_lines(&alerts[shown..], "-");
        let more = alerts.len() - shown;
        out.push_str(&format!(
            "\n\n*…and {more} more*\n{}",
            fit(&rest, n(800), e)
        ));
    }
    out
}

fn cut(s: &str) -> String {
    if s.chars().count() <= MAX_BODY {
        return s.to_string();
    }
    let c: String = s.chars().take(MAX_BODY - 1).collect();
    format!("{c}…")
}

/// Template parameters may hold no newline or tab and no more than four spaces in a row.
fn param(s: &str, max: usize) -> String {
    let mut out = String::new();
    let mut spaces = 0;
    for c in s.chars() {
        let c = if c == '\n' || c == '\t' || c == '\r' {
            ' '
        } else {
            c
        };
        if c == ' ' {
            spaces += 1;
            if spaces > 1 {
                continue;
            }
        } else {
            spaces = 0;
        }
        out.push(c);
    }
    fit(out.trim(), max, escape::none)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::chat::testkit::*;

    fn channel(cap: &Capture, extra: &str) -> Whatsapp {
        cap.channel("", "api_base = \"{url}\"\nphone_number_id = \"1065\"\naccess_token = \"EAAG-SECRET\"\nto = \"+4915112345678\"", extra)
    }

    #[tokio::test]
    async fn sends_a_text_message() {
        let cap = Capture::start().await;
        let answer = r#"{"messaging_product":"whatsapp","contacts":[{"input":"4915112345678","wa_id":"4915112345678"}],"messages":[{"id":"wamid.X1"}]}"#;
        let out = cap.answered(&channel(&cap, ""), 200, answer).await;
        assert_eq!(out, "HTTP 200 message wamid.X1");
        let r = cap.last();
        r.assert_json_post("/v21.0/1065/messages");
        assert_eq!(r.header("authorization"), Some("Bearer EAAG-SECRET"));
        let v = r.json();
        assert_eq!(v["messaging_product"], "whatsapp");
        assert_eq!(v["recipient_type"], "individual");
        assert_eq!(v["to"], "4915112345678");
        assert_eq!(v["type"], "text");
        assert_eq!(v["text"]["preview_url"], false);
        assert_text_starts(&v["text"]["body"], "*L14 · Cron is not your shell");
        assert_snapshot("whatsapp", &v, &["EAAG-SECRET"]);
    }

    #[tokio::test]
    async fn sends_a_template_message() {
        let (cap, ch) = start_with(channel, "api_version = \"v22.0\"\ntemplate_name = \"ledgerd_alert\"\ntemplate_language = \"de\"\ntemplate_params = [\"{{ alert.probe }}\", \"{{ alert.summary }}\"]").await;
        send_with(&ch, &[hostile_alert()]).await.unwrap();
        let r = cap.last();
        assert_eq!(r.uri, "/v22.0/1065/messages");
        let v = r.json();
        assert_eq!(v["type"], "template");
        assert_eq!(v["template"]["name"], "ledgerd_alert");
        assert_eq!(v["template"]["language"]["code"], "de");
        let params = &v["template"]["components"][0];
        assert_eq!(params["type"], "body");
        assert_eq!(
            params["parameters"][0],
            json!({"type": "text", "text": "agent-crontab"})
        );
        let p1 = params["parameters"][1]["text"].as_str().unwrap();
        assert!(!p1.contains("*bold*") && !p1.contains('\n'), "{p1}");
        let mut b = sample_alert();
        b.summary = "a\nb\t\tc      d".into();
        let v = cap.send_json(&ch, &[b]).await;
        assert_eq!(
            v["template"]["components"][0]["parameters"][1]["text"],
            "a b c d"
        );
        send_with(
            &channel(&cap, "template_name = \"ledgerd_alert\""),
            &[sample_alert()],
        )
        .await
        .unwrap();
        assert_snapshot("whatsapp-template", &cap.last().json(), &["EAAG-SECRET"]);
    }

    #[tokio::test]
    async fn hostile_text_does_not_format_and_groups_fit() {
        let cap = Capture::start().await;
        let body = cap.send_json(&channel(&cap, ""), &[hostile_alert()]).await["text"]["body"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(!body.contains("*bold*"), "{body}");
        assert!(body.contains("*\u{200B}bold*\u{200B}"));
        let v = cap
            .send_json(&channel(&cap, ""), &[sample_alert(), second_alert()])
            .await;
        assert_text_starts(&v["text"]["body"], "*2 alerts on vps-1");
        assert_snapshot("whatsapp-group", &v, &["EAAG-SECRET"]);
        let many: Vec<Alert> = (0..25)
            .map(|_| {
                let mut a = hostile_alert();
                a.summary = "_".repeat(3000);
                a
            })
            .collect();
        let body = cap.send_json(&channel(&cap, ""), &many).await["text"]["body"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(body.chars().count() <= MAX_BODY);
        let ch = channel(
            &cap,
            "template = \"{{ alert.probe }}: {{ alert.summary }}\"",
        );
        send_with(&ch, &[sample_alert()]).await.unwrap();
        assert_eq!(
            cap.last().json()["text"]["body"],
            "agent-crontab: 1 job lacks SHOPIFY_TOKEN"
        );
    }

    #[tokio::test]
    async fn answers_are_classified_with_graph_rate_limits() {
        let (cap, ch) = start_with(channel, "").await;
        assert_classification(&cap, &ch).await;
        cap.reply(400, &[], r#"{"error":{"message":"(#130429) Rate limit hit","type":"OAuthException","code": 130429,"error_data":{"messaging_product":"whatsapp","details":"Cloud API message throughput has been reached. Try again later."},"fbtrace_id":"AbCdEfGhIjKlMnOpQrStUvWx"}}"#);
        assert!(
            send_with(&ch, &[sample_alert()])
                .await
                .unwrap_err()
                .retryable
        );
        cap.reply(
            400,
            &[],
            r#"{"error":{"message":"Invalid parameter","code":100}}"#,
        );
        assert!(
            !send_with(&ch, &[sample_alert()])
                .await
                .unwrap_err()
                .retryable
        );
        for bad in [
            "to = \"abc\"",
            "phone_number_id = \"x\"",
            "api_version = \"21\"",
        ] {
            let text = format!(
                "phone_number_id = \"1065\"\naccess_token = \"t\"\nto = \"+4915112345678\"\n{bad}"
            );
            let key = bad.split(' ').next().unwrap();
            let text = text
                .lines()
                .filter(|l| !l.starts_with(key) || *l == bad)
                .collect::<Vec<_>>()
                .join("\n");
            let e = parse::<Whatsapp>(&text).unwrap_err();
            assert_eq!(e[0].key, key);
        }
    }
}
