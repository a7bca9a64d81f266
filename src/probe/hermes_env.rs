//! The dotenv views `config_file` judges: a dotenv file as one JSON object of strings, and Hermes'
//! `~/.hermes/.env` as its gateway reads it, where a token alone turns a platform on
//! (`TELEGRAM_BOT_TOKEN` starts Telegram even when `config.yaml` never names it) and
//! `API_SERVER_HOST` moves the API server's listener. The mapping mirrors Hermes'
//! `gateway/config.py` (`_apply_env_overrides`); it only reads text handed to it, never a file,
//! and the derived `platforms` objects carry `enabled` and `host`, never a token.

use crate::tokens::parse_dotenv;
use serde_json::{Map, Value, json};

/// Platforms a set of non-empty variables turns on (all of them must be set).
const BY_VARIABLES: &[(&str, &[&str])] = &[
    ("telegram", &["TELEGRAM_BOT_TOKEN"]),
    ("discord", &["DISCORD_BOT_TOKEN"]),
    ("slack", &["SLACK_BOT_TOKEN"]),
    ("mattermost", &["MATTERMOST_TOKEN"]),
    ("homeassistant", &["HASS_TOKEN"]),
    ("sms", &["TWILIO_ACCOUNT_SID"]),
    (
        "whatsapp_cloud",
        &[
            "WHATSAPP_CLOUD_PHONE_NUMBER_ID",
            "WHATSAPP_CLOUD_ACCESS_TOKEN",
        ],
    ),
    ("signal", &["SIGNAL_HTTP_URL", "SIGNAL_ACCOUNT"]),
    (
        "email",
        &[
            "EMAIL_ADDRESS",
            "EMAIL_PASSWORD",
            "EMAIL_IMAP_HOST",
            "EMAIL_SMTP_HOST",
        ],
    ),
    (
        "dingtalk",
        &["DINGTALK_CLIENT_ID", "DINGTALK_CLIENT_SECRET"],
    ),
    ("feishu", &["FEISHU_APP_ID", "FEISHU_APP_SECRET"]),
    ("wecom", &["WECOM_BOT_ID", "WECOM_SECRET"]),
    (
        "wecom_callback",
        &["WECOM_CALLBACK_CORP_ID", "WECOM_CALLBACK_CORP_SECRET"],
    ),
];

/// Platforms a truthy flag turns on.
const BY_FLAG: &[(&str, &str)] = &[
    ("whatsapp", "WHATSAPP_ENABLED"),
    ("webhook", "WEBHOOK_ENABLED"),
    ("msgraph_webhook", "MSGRAPH_WEBHOOK_ENABLED"),
];

/// The API server starts from the environment only with a usable key (Hermes' startup guard:
/// at least 16 characters).
const API_KEY_MIN: usize = 16;

/// Keys whose values may be quoted in evidence; every other value is treated as a secret.
const SHOWN_SUFFIXES: &[&str] = &["_HOST", "_PORT", "_ENABLED"];

/// `KEY=value` lines as one object; a later line for the same key wins, as in a shell.
pub fn dotenv_doc(text: &str) -> Value {
    let mut map = Map::new();
    for (_, k, v) in parse_dotenv(text) {
        map.insert(k, Value::String(v));
    }
    Value::Object(map)
}

/// The dotenv object plus `platforms`: `{name: {enabled: true}}` for each platform the variables
/// turn on, `api_server` with `host` when `API_SERVER_HOST` is set beside a usable key.
pub fn hermes_env_doc(text: &str) -> Value {
    let mut doc = dotenv_doc(text);
    let Value::Object(map) = &mut doc else {
        return doc;
    };
    let set = |k: &str| {
        map.get(k)
            .and_then(Value::as_str)
            .is_some_and(|v| !v.trim().is_empty())
    };
    let truthy = |k: &str| {
        map.get(k).and_then(Value::as_str).is_some_and(|v| {
            matches!(
                v.trim().to_ascii_lowercase().as_str(),
                "1" | "true" | "yes" | "on"
            )
        })
    };
    let mut platforms = Map::new();
    for (name, vars) in BY_VARIABLES {
        if vars.iter().all(|k| set(k)) {
            platforms.insert((*name).into(), json!({ "enabled": true }));
        }
    }
    if set("MATRIX_ACCESS_TOKEN") || set("MATRIX_PASSWORD") {
        platforms.insert("matrix".into(), json!({ "enabled": true }));
    }
    for (name, flag) in BY_FLAG {
        if truthy(flag) {
            platforms.insert((*name).into(), json!({ "enabled": true }));
        }
    }
    let key_usable = map
        .get("API_SERVER_KEY")
        .and_then(Value::as_str)
        .is_some_and(|k| k.trim().chars().count() >= API_KEY_MIN);
    if key_usable {
        let mut api = json!({ "enabled": true });
        if let Some(host) = map.get("API_SERVER_HOST").and_then(Value::as_str)
            && !host.is_empty()
        {
            api["host"] = Value::String(host.to_string());
        }
        platforms.insert("api_server".into(), api);
    }
    map.insert("platforms".into(), Value::Object(platforms));
    doc
}

/// The values of a dotenv object that evidence must never quote: all but `*_HOST`, `*_PORT` and
/// `*_ENABLED`.
pub fn secret_values<'v>(doc: &'v Value, out: &mut Vec<&'v str>) {
    let Value::Object(map) = doc else {
        return;
    };
    for (k, v) in map {
        if let Value::String(s) = v
            && !s.is_empty()
            && !SHOWN_SUFFIXES.iter().any(|x| k.ends_with(x))
        {
            out.push(s);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_turn_platforms_on_and_the_api_host_needs_a_usable_key() {
        let doc = hermes_env_doc(
            "# hub\nexport TELEGRAM_BOT_TOKEN='123:abc'\nSLACK_BOT_TOKEN=\nSIGNAL_HTTP_URL=http://x\n\
             WEBHOOK_ENABLED=yes\nWHATSAPP_ENABLED=false\nAPI_SERVER_KEY=0123456789abcdef\n\
             API_SERVER_HOST=0.0.0.0\nMATRIX_PASSWORD=pw\n",
        );
        let p = &doc["platforms"];
        let on: Vec<&str> = p
            .as_object()
            .map(|m| m.keys().map(String::as_str).collect())
            .unwrap_or_default();
        // an empty token, half of Signal's pair and a false flag turn nothing on
        assert_eq!(on, ["api_server", "matrix", "telegram", "webhook"]);
        assert_eq!(p["api_server"]["host"], "0.0.0.0");
        assert_eq!(doc["TELEGRAM_BOT_TOKEN"], "123:abc");
        // a short key does not start the API server, so its host binds nothing
        let doc = hermes_env_doc("API_SERVER_KEY=short\nAPI_SERVER_HOST=0.0.0.0\n");
        assert!(doc["platforms"].get("api_server").is_none(), "{doc}");
    }

    #[test]
    fn only_host_port_and_flag_values_may_be_shown() {
        let doc = dotenv_doc(
            "API_SERVER_HOST=0.0.0.0\nAPI_SERVER_PORT=8642\nX_TOKEN=t0k\nEMAIL_ADDRESS=a@b\n",
        );
        let mut s = Vec::new();
        secret_values(&doc, &mut s);
        s.sort_unstable();
        assert_eq!(s, ["a@b", "t0k"]);
    }
}
