//! `ledgerd status`: the last state of every probe. Asks the running daemon's API first
//! (`GET /api/v1/probes`, short timeout, with the bearer token when configured) so it shows what
//! the dashboard shows, staleness included; reads the store when no daemon answers. Each line
//! names the probe's agent (`-` for host-wide); `--agent` keeps one agent's probes.

use super::{EXIT_OK, Paint};
use crate::cli::Format;
use std::path::Path;

pub fn run(
    path: Option<&Path>,
    agent: Option<&str>,
    format: Format,
    paint: Paint,
) -> anyhow::Result<u8> {
    // `--agent cs`: only cs's probes; `--agent -`: only host-wide ones
    let (config, only) = match super::load_with_agent(path, agent) {
        Ok(v) => v,
        Err(code) => return Ok(code),
    };
    let keep = |a: &Option<String>| only.as_ref().is_none_or(|o| o == a);
    if let Some(mut probes) = from_api(&config) {
        probes.retain(|p| keep(&p.agent));
        return print_api(&config, &probes, format, paint);
    }
    let Some(store) = crate::store::Store::open_existing(&config.daemon.state_dir)? else {
        if format == Format::Json {
            super::json::print(&super::json::StatusOutput {
                source: "none",
                probes: Vec::new(),
            })?;
        } else {
            println!(
                "no store at {} yet: has `ledgerd run` started?",
                crate::store::db_path(&config.daemon.state_dir).display()
            );
        }
        return Ok(EXIT_OK);
    };
    if format == Format::Json {
        // the same probe objects the API serves, built from the same snapshot
        let now = chrono::Utc::now().timestamp_millis();
        let snap = crate::web::view::snapshot(std::sync::Arc::new(config), &store, now, now);
        let probes = snap
            .probes
            .iter()
            .filter(|p| keep(&p.agent))
            .map(crate::web::api::ProbeJson::from_view)
            .collect();
        super::json::print(&super::json::StatusOutput {
            source: "store",
            probes,
        })?;
        return Ok(EXIT_OK);
    }
    let mine: Vec<&crate::config::ProbeConfig> =
        config.probes.iter().filter(|p| keep(&p.agent)).collect();
    let is_mine = |id: &str| mine.iter().any(|p| p.id == id);
    let mut latest = store.latest_observations()?;
    latest.retain(|o| is_mine(&o.probe));
    let mut states = store.states()?;
    states.retain(|s| is_mine(&s.probe));
    let mut open = store.incidents(true, None, 1000)?;
    open.retain(|i| is_mine(&i.probe));
    let now = chrono::Utc::now().timestamp_millis();
    for p in mine {
        let obs = latest.iter().find(|o| o.probe == p.id);
        let st = states.iter().find(|s| s.probe == p.id).and_then(|s| {
            s.state
                .get("status")
                .and_then(|v| v.as_str())
                .map(str::to_string)
        });
        match obs {
            Some(o) => {
                let h =
                    crate::probe::Health::parse(&o.health).unwrap_or(crate::probe::Health::Unknown);
                let age = std::time::Duration::from_secs(((now - o.ts).max(0) / 1000) as u64);
                println!(
                    "{:<12} L{:<3} {:<10} {:<28} {:<8} {}  {}",
                    paint.health(h),
                    p.primary_lesson().0,
                    p.agent.as_deref().unwrap_or("-"),
                    p.id,
                    st.unwrap_or_default(),
                    o.summary,
                    paint.dim(&format!("({} ago)", humantime::format_duration(age)))
                );
            }
            None => println!(
                "{:<12} L{:<3} {:<10} {:<28} not run yet",
                paint.dim("- pending"),
                p.primary_lesson().0,
                p.agent.as_deref().unwrap_or("-"),
                p.id
            ),
        }
    }
    println!("{} open incident(s)", open.len());
    print_channel_errors(&config, paint);
    Ok(EXIT_OK)
}

/// Channels whose alerts are not getting through: a problem of ledgerd itself.
fn print_channel_errors(config: &crate::config::Config, paint: Paint) {
    let Ok(Some(store)) = crate::store::Store::open_existing(&config.daemon.state_dir) else {
        return;
    };
    for (channel, error) in store.channel_errors().unwrap_or_default() {
        let what = if error.starts_with("broken") {
            "is broken"
        } else {
            "is failing (retrying)"
        };
        println!("{} channel '{channel}' {what}: {error}", paint.red("✗"));
    }
}

/// The daemon's view of every probe, when a daemon answers on `daemon.listen` within a second
/// or two.
fn from_api(config: &crate::config::Config) -> Option<Vec<crate::web::api::ProbeJson>> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .ok()?;
    let url = format!("{}/api/v1/probes", super::api_base(config));
    rt.block_on(async {
        let mut req = crate::http_client::shared()
            .get(&url)
            .timeout(std::time::Duration::from_millis(1500));
        if let Some(t) = &config.daemon.auth_token {
            req = req.bearer_auth(t.expose());
        }
        let resp = req.send().await.ok()?;
        if !resp.status().is_success() {
            return None;
        }
        let cap = crate::http_client::API_BODY_CAP;
        let (body, cut) = crate::http_client::read_capped(resp, cap).await.ok()?;
        if cut {
            eprintln!(
                "ledgerd: the daemon's answer from {url} is longer than {cap} bytes: cut and not used; reading the store instead"
            );
            return None;
        }
        serde_json::from_slice(&body).ok()
    })
}

fn print_api(
    config: &crate::config::Config,
    probes: &[crate::web::api::ProbeJson],
    format: Format,
    paint: Paint,
) -> anyhow::Result<u8> {
    if format == Format::Json {
        super::json::print(&super::json::StatusOutput {
            source: "api",
            probes: probes.to_vec(),
        })?;
        return Ok(EXIT_OK);
    }
    let mut open = 0;
    for p in probes {
        let lesson = p.lessons.first().copied().unwrap_or(0);
        if p.open_incident.is_some() {
            open += 1;
        }
        let stale = if p.stale {
            paint.red(" STALE")
        } else {
            String::new()
        };
        match (&p.health, &p.latest) {
            (Some(h), Some(o)) => {
                let h = crate::probe::Health::parse(h).unwrap_or(crate::probe::Health::Unknown);
                let age =
                    std::time::Duration::from_secs(p.age_seconds.unwrap_or(0.0).max(0.0) as u64);
                println!(
                    "{:<12} L{:<3} {:<10} {:<28} {:<8} {}  {}{stale}",
                    paint.health(h),
                    lesson,
                    p.agent.as_deref().unwrap_or("-"),
                    p.id,
                    p.status,
                    o.get("summary").and_then(|s| s.as_str()).unwrap_or(""),
                    paint.dim(&format!("({} ago)", humantime::format_duration(age)))
                );
            }
            _ => println!(
                "{:<12} L{:<3} {:<10} {:<28} not run yet{stale}",
                paint.dim("- pending"),
                lesson,
                p.agent.as_deref().unwrap_or("-"),
                p.id
            ),
        }
    }
    println!("{open} open incident(s) (from the running daemon)");
    print_channel_errors(config, paint);
    Ok(EXIT_OK)
}
