//! `ledgerd status`: the last state of every probe, read from the store.

use super::{EXIT_OK, Paint};
use crate::cli::Format;
use std::path::Path;

pub fn run(path: Option<&Path>, format: Format, paint: Paint) -> anyhow::Result<u8> {
    let config = match super::load_or_report(path) {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    let Some(store) = crate::store::Store::open_existing(&config.daemon.state_dir)? else {
        println!(
            "no store at {} yet: has `ledgerd run` started?",
            crate::store::db_path(&config.daemon.state_dir).display()
        );
        return Ok(EXIT_OK);
    };
    let latest = store.latest_observations()?;
    let states = store.states()?;
    let open = store.incidents(true, None, 1000)?;
    if format == Format::Json {
        let v =
            serde_json::json!({"observations": latest, "states": states, "open_incidents": open});
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(EXIT_OK);
    }
    let now = chrono::Utc::now().timestamp_millis();
    for p in &config.probes {
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
                    "{:<12} L{:<3} {:<28} {:<8} {}  {}",
                    paint.health(h),
                    p.primary_lesson().0,
                    p.id,
                    st.unwrap_or_default(),
                    o.summary,
                    paint.dim(&format!("({} ago)", humantime::format_duration(age)))
                );
            }
            None => println!(
                "{:<12} L{:<3} {:<28} not run yet",
                paint.dim("- pending"),
                p.primary_lesson().0,
                p.id
            ),
        }
    }
    println!("{} open incident(s)", open.len());
    Ok(EXIT_OK)
}
