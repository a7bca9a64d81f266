//! `ledgerd ack <incident>`: acknowledge through the running daemon's API (so the
//! acknowledgement goes out at once), or, with no daemon answering, directly in the store (the
//! daemon's outbox sends it within half a minute of starting or waking).

use super::{EXIT_ERROR, EXIT_OK};
use std::path::Path;

pub fn run(
    path: Option<&Path>,
    incident: i64,
    by: Option<String>,
    note: Option<&str>,
) -> anyhow::Result<u8> {
    let config = match super::load_or_report(path) {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    let by = super::actor(by);
    if let Some(answer) = via_api(&config, incident, &by, note) {
        return Ok(match answer {
            Ok(text) => {
                println!(
                    "incident #{incident} acknowledged by {by} (via the running daemon){text}"
                );
                EXIT_OK
            }
            Err(e) => {
                eprintln!("ledgerd: {e}");
                EXIT_ERROR
            }
        });
    }
    let store = crate::store::Store::open(&config.daemon.state_dir)?;
    match crate::delivery::ack::acknowledge(
        &store,
        &config,
        incident,
        &by,
        note,
        chrono::Utc::now(),
    ) {
        Ok(outcome) => {
            println!(
                "incident #{incident} acknowledged by {by}; notified channels: {}",
                super::names_or_none(&outcome.queued)
            );
            Ok(EXIT_OK)
        }
        Err(e) => {
            eprintln!("ledgerd: {e}");
            Ok(EXIT_ERROR)
        }
    }
}

/// `None` when no daemon answers; otherwise its verdict.
fn via_api(
    config: &crate::config::Config,
    incident: i64,
    by: &str,
    note: Option<&str>,
) -> Option<Result<String, String>> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .ok()?;
    let url = format!(
        "{}/api/v1/incidents/{incident}/ack",
        super::api_base(config)
    );
    rt.block_on(async {
        let mut req = crate::http_client::shared()
            .post(&url)
            .timeout(std::time::Duration::from_millis(2000))
            .json(&serde_json::json!({ "by": by, "note": note }));
        if let Some(t) = &config.daemon.auth_token {
            req = req.bearer_auth(t.expose());
        }
        let resp = req.send().await.ok()?;
        let status = resp.status();
        let cap = crate::http_client::API_BODY_CAP;
        let (bytes, cut) = crate::http_client::read_capped(resp, cap)
            .await
            .unwrap_or_default();
        if cut {
            return Some(Err(format!(
                "the daemon's answer is longer than {cap} bytes; cut"
            )));
        }
        let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
        if status.is_success() {
            let queued = body
                .get("queued")
                .and_then(|q| q.as_array())
                .map(|a| {
                    a.iter()
                        .filter_map(|c| c.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default();
            Some(Ok(if queued.is_empty() {
                String::new()
            } else {
                format!("; notified channels: {queued}")
            }))
        } else {
            let msg = body
                .get("error")
                .and_then(|e| e.as_str())
                .map(str::to_string)
                .unwrap_or_else(|| format!("HTTP {}", status.as_u16()));
            Some(Err(format!("acknowledging incident #{incident}: {msg}")))
        }
    })
}
