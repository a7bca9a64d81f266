//! `webhook`: a generic JSON POST of the whole alert (plus `title` and `text`), with optional
//! extra headers. Formats and delivers only; the outbox retries.

use super::{Alert, Channel, SendCx, SendError, render};
use crate::probe::Invalid;
use crate::redact::Secret;
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Webhook {
    /// Where to POST; may hold a token, so it is a secret (`url_file` or `${ENV}` work too).
    url: Secret,
    /// Extra headers (values are secrets: never logged).
    #[serde(default, deserialize_with = "crate::redact::de_headers")]
    headers: BTreeMap<String, Secret>,
}

impl Channel for Webhook {
    const KIND: &'static str = "webhook";
    const SUMMARY: &'static str =
        "POST the alert as JSON (lesson, rule, probe, agent, host, health, evidence, title, text)";
    const EXAMPLE: &'static str = r#"[channel.ops_webhook]
url = "http://127.0.0.1:8788/ledgerd"     # or url_file = "/etc/ledgerd/webhook.url"
headers = { Authorization = "Bearer ${LEDGERD_WEBHOOK_TOKEN:-dev}" }
"#;

    fn validate(&self) -> Vec<Invalid> {
        let mut p = Vec::new();
        super::chat::check_url("url", self.url.expose(), &mut p);
        p
    }

    async fn send(&self, cx: &SendCx<'_>, alerts: &[Alert]) -> Result<String, SendError> {
        // One alert: its fields at the top level. Always: `alerts` (all of them), `title`, `text`.
        let mut payload = match alerts {
            [one] => serde_json::to_value(one),
            _ => Ok(serde_json::json!({ "group": true, "count": alerts.len() })),
        }
        .map_err(|e| SendError::permanent(format!("encoding alert: {e}")))?;
        if let Some(obj) = payload.as_object_mut() {
            obj.insert(
                "alerts".into(),
                serde_json::to_value(alerts).unwrap_or_default(),
            );
            obj.insert("title".into(), render::group_title(alerts).into());
            obj.insert("text".into(), render::group_body(alerts).into());
            obj.insert("idempotency_key".into(), cx.idempotency_key.into());
            if let [one] = alerts {
                // always present: the agent, or null for a host-wide probe
                obj.insert("agent".into(), one.agent.clone().into());
            }
        }
        let mut req = cx
            .http
            .post(self.url.expose())
            .timeout(cx.timeout)
            .header("Idempotency-Key", cx.idempotency_key)
            .json(&payload);
        for (k, v) in &self.headers {
            req = req.header(k, v.expose());
        }
        let resp = req.send().await.map_err(|e| {
            SendError::retry(format!(
                "POST to webhook {}: {}",
                self.url.fingerprint(),
                e.without_url()
            ))
        })?;
        let (status, note) = SendError::check_answer(resp).await?;
        Ok(format!("HTTP {status}{note}"))
    }
}
