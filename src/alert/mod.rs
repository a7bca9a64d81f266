//! Alerts: the `Alert` a transition produces, the `Channel` trait every delivery kind implements,
//! and the `channel_kinds!` list that generates `AnyChannel` and `CHANNEL_KINDS`. A channel kind
//! lives in one file beside this one; it only formats and delivers. Whether and where to send is
//! `route`'s job; retries live once, in the store's outbox, never in a channel.

use crate::probe::{Evidence, Health, Invalid};
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::fmt::Debug;
use std::future::Future;
use std::time::Duration;

pub mod chat;
pub mod escape;
pub mod render;
pub mod template;

mod alertmanager;
mod desktop;
mod discord;
mod email;
mod gotify;
mod incident_note;
mod mattermost;
mod ntfy;
mod slack;
mod teams;
mod telegram;
mod webhook;
mod whatsapp;

/// What happened to a probe's lesson.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Event {
    Firing,
    Resolved,
    Reminder,
    /// Someone acknowledged the incident (`Alert::ack` says who and when).
    Acknowledged,
    /// A line of the daily digest of open violations.
    Digest,
    /// The storm cap held messages back; `summary` says how many and which lessons (lesson 5).
    Overflow,
    Test,
}

impl Event {
    pub fn as_str(self) -> &'static str {
        match self {
            Event::Firing => "firing",
            Event::Resolved => "resolved",
            Event::Reminder => "reminder",
            Event::Acknowledged => "acknowledged",
            Event::Digest => "digest",
            Event::Overflow => "overflow",
            Event::Test => "test",
        }
    }
}

/// Everything a message says. Built by the engine from a transition; rendered by channels.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub event: Event,
    /// The primary lesson, then all lessons the probe cites.
    pub lesson: u32,
    pub lessons: Vec<u32>,
    /// The one-rule lesson.
    pub rule: String,
    /// What failed, in the ledger's words.
    pub lesson_title: String,
    /// The ledger's fix.
    pub fix: String,
    /// The lesson's failure class (auth, permissions, ...).
    #[serde(default)]
    pub class: String,
    /// The lesson's default owner role (for incident notes).
    #[serde(default)]
    pub owner: String,
    pub probe: String,
    pub kind: String,
    pub host: String,
    /// The agent the probe belongs to; absent for host-wide probes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    pub health: Health,
    /// What was observed.
    pub summary: String,
    pub expected: Option<String>,
    pub evidence: Vec<Evidence>,
    /// When the probe started failing (firing) or recovered (resolved).
    pub since: DateTime<Utc>,
    pub at: DateTime<Utc>,
    /// Link to the probe's page on the dashboard.
    pub url: String,
    /// Incident number in the store (0 for test alerts).
    pub incident: i64,
    /// Who acknowledged the incident, when an acknowledgement exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ack: Option<Ack>,
    /// Children whose alerts this alert's failure suppresses (`depends_on`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub suppressed: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Ack {
    pub by: String,
    pub at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A delivery problem. `retryable` ones go back to the outbox with backoff.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct SendError {
    pub retryable: bool,
    pub message: String,
    /// A receiver's `Retry-After`, when it gave one.
    pub retry_after: Option<Duration>,
}

impl SendError {
    pub fn retry(message: impl Into<String>) -> Self {
        SendError {
            retryable: true,
            message: message.into(),
            retry_after: None,
        }
    }
    pub fn permanent(message: impl Into<String>) -> Self {
        SendError {
            retryable: false,
            message: message.into(),
            retry_after: None,
        }
    }
    /// Classifies an HTTP answer: 2xx is not an error; 408, 429 and 5xx are retryable; other 4xx
    /// are permanent (the channel is misconfigured).
    pub fn from_status(
        status: reqwest::StatusCode,
        retry_after: Option<&reqwest::header::HeaderValue>,
        body: &str,
    ) -> Option<Self> {
        if status.is_success() {
            return None;
        }
        let message = format!(
            "HTTP {}: {}",
            status.as_u16(),
            crate::redact::truncate(body.trim(), 200)
        );
        let retry_after = retry_after
            .and_then(|v| v.to_str().ok())
            .and_then(|s| s.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let retryable =
            status.is_server_error() || status.as_u16() == 429 || status.as_u16() == 408;
        Some(SendError {
            retryable,
            message,
            retry_after,
        })
    }
    /// Reads a receiver's answer (at most `RECEIVER_BODY_CAP`) and classifies it as
    /// `from_status` does: `Ok` with the status and a note when the body was cut; the error's
    /// message carries the same note.
    pub async fn check_answer(resp: reqwest::Response) -> Result<(u16, String), SendError> {
        let status = resp.status();
        let retry_after = resp.headers().get(reqwest::header::RETRY_AFTER).cloned();
        let cap = crate::http_client::RECEIVER_BODY_CAP;
        let (text, cut) = crate::http_client::text_capped(resp, cap).await;
        let note = crate::http_client::cut_note(cut, cap);
        match SendError::from_status(status, retry_after.as_ref(), &text) {
            Some(e) => Err(SendError {
                message: format!("{}{note}", e.message),
                ..e
            }),
            None => Ok((status.as_u16(), note)),
        }
    }
    /// Classifies a transport error: always retryable (timeouts, refused connections).
    /// The URL is left out: webhook URLs and bot tokens in paths are secrets.
    pub fn from_reqwest(e: reqwest::Error) -> Self {
        SendError::retry(format!("{}", e.without_url()))
    }
}

/// What a delivery needs besides the alert.
pub struct SendCx<'a> {
    pub channel_id: &'a str,
    pub http: &'a reqwest::Client,
    pub timeout: Duration,
    /// Stable per (alert, channel): receivers that support idempotency keys get it.
    pub idempotency_key: &'a str,
    /// Which of the channel's `members()` to deliver to (0 for single-receiver channels).
    pub member: usize,
}

/// The outbox queue of one member of a channel: the channel id for a single-receiver channel
/// (or member 0 of one queued before it had more), `<id>@<member>` otherwise.
pub fn queue_name(channel: &str, member: usize, members: usize) -> String {
    if members <= 1 {
        channel.to_string()
    } else {
        format!("{channel}@{member}")
    }
}

/// The channel id and member of an outbox queue name (`am@1` → ("am", 1)). Channel ids never
/// contain '@' (config checks them), so a plain id is member 0.
pub fn parse_queue(queue: &str) -> (&str, usize) {
    match queue.rsplit_once('@') {
        Some((ch, m)) => match m.parse() {
            Ok(m) => (ch, m),
            Err(_) => (queue, 0),
        },
        None => (queue, 0),
    }
}

/// An alert channel kind: one file, registered in `channel_kinds!`.
pub trait Channel: DeserializeOwned + Debug + Send + Sync + 'static {
    const KIND: &'static str;
    const SUMMARY: &'static str;
    /// A commented `[channel.<id>]` table without its `kind` key, which
    /// `ChannelKindInfo::example` adds from `KIND`; a test loads the result through the real loader.
    const EXAMPLE: &'static str;
    fn validate(&self) -> Vec<Invalid> {
        Vec::new()
    }
    /// For receivers that forget a firing alert unless it is posted again (Alertmanager's
    /// resolve timeout): how often the daemon re-queues still-open incidents (`delivery::repost`).
    fn repost_every(&self) -> Option<Duration> {
        None
    }
    /// How many receivers every message goes to, each with its own outbox queue (so each is
    /// retried on its own and a dead one never holds up the others): an HA cluster's members.
    fn members(&self) -> usize {
        1
    }
    /// Delivers one message: a single alert, or several grouped (`group_wait`, digests).
    /// `alerts` is never empty. `Ok` carries a short description of the receiver's answer.
    fn send(
        &self,
        cx: &SendCx<'_>,
        alerts: &[Alert],
    ) -> impl Future<Output = Result<String, SendError>> + Send;
}

#[derive(Clone, Copy, Debug)]
pub struct ChannelKindInfo {
    pub kind: &'static str,
    pub summary: &'static str,
    /// The kind's `EXAMPLE`: its table without the `kind` key.
    pub table: &'static str,
}

impl ChannelKindInfo {
    /// The example config: `table` with `kind = "<kind>"` as its first key.
    pub fn example(&self) -> String {
        crate::probe::with_kind(self.table, self.kind)
    }
}

/// A channel kind's table through the one kind parser (`probe::parse_kind`).
fn parse_kind<C: Channel>(value: toml::Value) -> Result<C, Vec<Invalid>> {
    crate::probe::parse_kind(value, C::validate)
}

macro_rules! channel_kinds {
    ($($module:ident :: $ty:ident),* $(,)?) => {
        #[derive(Debug)]
        pub enum AnyChannel {
            $($ty($module::$ty),)*
        }

        pub const CHANNEL_KINDS: &[ChannelKindInfo] = &[
            $(ChannelKindInfo {
                kind: <$module::$ty as Channel>::KIND,
                summary: <$module::$ty as Channel>::SUMMARY,
                table: <$module::$ty as Channel>::EXAMPLE,
            },)*
        ];

        impl AnyChannel {
            pub fn parse(kind: &str, value: toml::Value) -> Option<Result<AnyChannel, Vec<Invalid>>> {
                $(if kind == <$module::$ty as Channel>::KIND {
                    return Some(parse_kind::<$module::$ty>(value).map(AnyChannel::$ty));
                })*
                None
            }

            pub fn kind(&self) -> &'static str {
                match self {
                    $(AnyChannel::$ty(_) => <$module::$ty as Channel>::KIND,)*
                }
            }

            pub fn repost_every(&self) -> Option<Duration> {
                match self {
                    $(AnyChannel::$ty(c) => c.repost_every(),)*
                }
            }

            pub fn members(&self) -> usize {
                match self {
                    $(AnyChannel::$ty(c) => c.members().max(1),)*
                }
            }

            pub async fn send(&self, cx: &SendCx<'_>, alerts: &[Alert]) -> Result<String, SendError> {
                if alerts.is_empty() {
                    return Ok("nothing to send".into());
                }
                match self {
                    $(AnyChannel::$ty(c) => c.send(cx, alerts).await,)*
                }
            }
        }
    };
}

// The registry: one line per kind (the `mod` line above plus one here).
channel_kinds! {
    alertmanager::Alertmanager,
    desktop::Desktop,
    discord::Discord,
    email::Email,
    gotify::Gotify,
    incident_note::IncidentNote,
    mattermost::Mattermost,
    ntfy::Ntfy,
    slack::Slack,
    teams::Teams,
    telegram::Telegram,
    webhook::Webhook,
    whatsapp::Whatsapp,
}

pub fn channel_kind_names() -> Vec<&'static str> {
    CHANNEL_KINDS.iter().map(|k| k.kind).collect()
}
