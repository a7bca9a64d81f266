//! `desktop`: a desktop notification through the session D-Bus (`org.freedesktop.Notifications`,
//! notify-rust). Formats and delivers only; with no session bus the send fails and is retried.

use super::{Alert, Channel, Event, SendCx, SendError, render};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Desktop {
    /// Application name shown by the notification server. Default "ledgerd".
    #[serde(default = "default_app")]
    app_name: String,
    /// How long the notification stays, in milliseconds; 0 = until dismissed. Default 0 for
    /// critical, 10000 otherwise.
    timeout_ms: Option<u32>,
}

fn default_app() -> String {
    "ledgerd".into()
}

impl Channel for Desktop {
    const KIND: &'static str = "desktop";
    const SUMMARY: &'static str = "desktop notification via the session D-Bus (notify-rust)";
    const EXAMPLE: &'static str = r#"[channel.desk]
app_name = "ledgerd"
"#;

    async fn send(&self, _cx: &SendCx<'_>, alerts: &[Alert]) -> Result<String, SendError> {
        let Some(alert) = alerts.first() else {
            return Ok("nothing to send".into());
        };
        let mut n = notify_rust::Notification::new();
        let timeout = self.timeout_ms.unwrap_or(
            if alert.health == crate::probe::Health::Critical && alert.event == Event::Firing {
                0
            } else {
                10_000
            },
        );
        n.appname(&self.app_name)
            .summary(&render::group_title(alerts))
            .body(&plain(&render::group_body(alerts)))
            .timeout(if timeout == 0 {
                notify_rust::Timeout::Never
            } else {
                notify_rust::Timeout::Milliseconds(timeout)
            });
        let handle = n
            .show_async()
            .await
            .map_err(|e| SendError::retry(format!("desktop notification: {e}")))?;
        Ok(format!("notification id {}", handle.id()))
    }
}

/// Notification servers may interpret a subset of HTML in the body; escape it so probed text
/// stays text.
fn plain(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
