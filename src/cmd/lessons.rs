//! `ledgerd lessons`: the catalog (32 lessons plus the config's own), each with the probes that
//! guard it and its current state from the store.

use super::{EXIT_OK, Paint};
use crate::cli::Format;
use std::path::Path;

pub fn run(path: Option<&Path>, format: Format, paint: Paint) -> anyhow::Result<u8> {
    let config = match super::load_or_report(path) {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    let health = super::stored_health(&config);
    let states = crate::status::lessons(&config, &health);
    if format == Format::Json {
        let v: Vec<serde_json::Value> = config
            .catalog
            .iter()
            .zip(states.iter())
            .map(|(l, s)| serde_json::json!({
                "number": l.number, "title": l.title, "fix": l.fix, "rule": l.rule, "class": l.class,
                "audience": l.audience, "audience_inferred": l.audience_inferred, "owner": l.owner,
                "probes": s.probes, "state": s.state,
            }))
            .collect();
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(EXIT_OK);
    }
    for (l, s) in config.catalog.iter().zip(states.iter()) {
        println!(
            "{} {}  {}",
            paint.bold(&format!("L{:<3}", l.number)),
            l.rule,
            paint.dim(&format!(
                "[{} · {}]",
                l.class.replace('_', " "),
                l.audience.replace('_', " ")
            ))
        );
        println!("      failed: {}", l.title);
        println!("      fix:    {}", l.fix);
        let probes = if s.probes.is_empty() {
            "none".to_string()
        } else {
            s.probes.join(", ")
        };
        println!("      state:  {}   probes: {probes}", paint.state(s.state));
    }
    println!("{} lessons", config.catalog.len());
    Ok(EXIT_OK)
}
