//! Per-channel message templates (minijinja): the optional `template` key every chat channel
//! accepts. Owns compiling (at config load, so a syntax error is a config error at
//! `channel.<id>.template`) and rendering with a context whose strings are *already escaped* for
//! the channel's markup. It must not format default layouts or deliver anything.
//!
//! The context: `alerts` (every alert in the message), `alert` (the first), `title` (the
//! message title), `text` (the default plain body), `count`. Each alert has every `Alert` field
//! (`lesson`, `rule`, `probe`, `host`, `health`, `summary`, `expected`, `evidence` as a list of
//! `{key, value}`, `since`, `at`, `url`, `fix`, `ack`, `suppressed`, ...) plus its own `title`.
//! Every string value is escaped with the channel's escaper (for example Telegram HTML entities,
//! Slack `&lt;`), so template authors write markup freely around values and a probed body cannot
//! inject any. Values are escaped, the template text is not.

use super::{Alert, SendError, render};
use serde::Deserialize;
use serde_json::Value as Json;

/// A template source from config. Compiled at load by `check`, rendered at each send.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(transparent)]
pub struct MessageTemplate(String);

impl MessageTemplate {
    #[cfg(test)]
    pub fn new(src: &str) -> Self {
        MessageTemplate(src.to_string())
    }

    /// Compiles the template; the error names the line. For `validate()` under key `template`.
    pub fn check(&self) -> Result<(), String> {
        env()
            .template_from_str(&self.0)
            .map(|_| ())
            .map_err(|e| format!("invalid template: {e}"))
    }

    /// Renders the alerts with strings escaped by `esc` (and the dashboard `url` by `esc_url`).
    pub fn render(
        &self,
        alerts: &[Alert],
        esc: fn(&str) -> String,
        esc_url: fn(&str) -> String,
    ) -> Result<String, SendError> {
        let env = env();
        let tpl = env
            .template_from_str(&self.0)
            .map_err(|e| SendError::permanent(format!("template: {e}")))?;
        let ctx = context(alerts, esc, esc_url);
        tpl.render(minijinja::Value::from(minijinja::value::Serde(ctx)))
            .map(|s| s.trim().to_string())
            .map_err(|e| SendError::permanent(format!("rendering template: {e}")))
    }
}

fn env() -> minijinja::Environment<'static> {
    let mut env = minijinja::Environment::new();
    // values are escaped by us, per markup; minijinja's HTML auto-escape would double it
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    env
}

/// The template context as JSON, strings escaped.
pub fn context(alerts: &[Alert], esc: fn(&str) -> String, esc_url: fn(&str) -> String) -> Json {
    let items: Vec<Json> = alerts
        .iter()
        .map(|a| {
            let mut v = serde_json::to_value(a).unwrap_or(Json::Null);
            escape_tree(&mut v, esc, esc_url, "");
            if let Some(o) = v.as_object_mut() {
                o.insert("title".into(), Json::String(esc(&render::title(a))));
            }
            v
        })
        .collect();
    serde_json::json!({
        "alert": items.first().cloned().unwrap_or(Json::Null),
        "alerts": items,
        "title": esc(&render::group_title(alerts)),
        "text": esc(&render::group_body(alerts)),
        "count": alerts.len(),
    })
}

fn escape_tree(v: &mut Json, esc: fn(&str) -> String, esc_url: fn(&str) -> String, key: &str) {
    match v {
        Json::String(s) => {
            *s = if key == "url" { esc_url(s) } else { esc(s) };
        }
        Json::Array(items) => {
            for i in items {
                escape_tree(i, esc, esc_url, key);
            }
        }
        Json::Object(map) => {
            for (k, i) in map.iter_mut() {
                escape_tree(i, esc, esc_url, k);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::chat::testkit::{hostile_alert, sample_alert};
    use crate::alert::escape;

    #[test]
    fn syntax_errors_are_reported_with_the_line() {
        let t = MessageTemplate::new("ok\n{{ alert.summary ");
        let e = t.check().unwrap_err();
        assert!(e.starts_with("invalid template: "), "{e}");
        assert!(e.contains("line 2") || e.contains(":2"), "{e}");
        assert!(MessageTemplate::new("{{ title }}").check().is_ok());
    }

    #[test]
    fn renders_escaped_values_not_escaped_template() {
        let t = MessageTemplate::new(
            "<b>{{ alert.title }}</b> {{ alert.summary }} {% for e in alert.evidence %}[{{ e.value }}]{% endfor %} {{ count }}",
        );
        let out = t
            .render(&[hostile_alert()], escape::html, escape::html)
            .unwrap();
        assert!(out.starts_with("<b>"), "{out}");
        assert!(out.contains("&lt;!channel&gt;"), "{out}");
        assert!(!out.contains("<@U123>"), "{out}");
        assert!(out.ends_with(" 1"), "{out}");
    }

    #[test]
    fn grouped_context_has_every_alert() {
        let t = MessageTemplate::new("{{ title }}|{% for a in alerts %}{{ a.probe }};{% endfor %}");
        let mut b = sample_alert();
        b.probe = "second".into();
        let out = t
            .render(&[sample_alert(), b], escape::none, escape::none)
            .unwrap();
        assert!(out.contains("2 alerts on vps-1"), "{out}");
        assert!(out.ends_with("agent-crontab;second;"), "{out}");
    }

    #[test]
    fn url_uses_its_own_escaper() {
        let t = MessageTemplate::new("{{ alert.url }} {{ alert.probe }}");
        let mut a = sample_alert();
        a.url = "http://h/probe/a_b".into();
        a.probe = "a_b".into();
        let out = t.render(&[a], escape::markdown, escape::none).unwrap();
        assert_eq!(out, r"http://h/probe/a_b a\_b");
    }
}
