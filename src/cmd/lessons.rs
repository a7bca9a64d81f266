//! `ledgerd lessons`: the catalog (32 lessons plus the config's own), each with the probes that
//! guard it and its current state from the store, overall and per agent (`--agent` narrows the
//! state and probes to one agent's, or `-` to the host-wide probes).

use super::{EXIT_OK, Paint};
use crate::cli::Format;
use crate::status::{LessonState, of_agent};
use std::path::Path;

pub fn run(
    path: Option<&Path>,
    agent: Option<&str>,
    format: Format,
    paint: Paint,
) -> anyhow::Result<u8> {
    let (config, only) = match super::load_with_agent(path, agent) {
        Ok(v) => v,
        Err(code) => return Ok(code),
    };
    let health = super::stored_health(&config);
    let states = match &only {
        None => crate::status::lessons(&config, &health),
        Some(a) => crate::status::lessons_where(&config, &health, of_agent(a.as_deref())),
    };
    // per agent, only where the agent guards the lesson
    let rows = crate::status::by_agent(&config, &health);
    let per_agent = |i: usize| -> Vec<(String, LessonState)> {
        rows.iter()
            .filter(|r| only.is_none() || only.as_ref() == Some(&r.agent))
            .filter_map(|r| {
                let s = r.lessons.get(i)?;
                (s.state != LessonState::NotGuarded)
                    .then(|| (r.agent.clone().unwrap_or_else(|| "host".into()), s.state))
            })
            .collect()
    };
    if format == Format::Json {
        let v: Vec<super::json::LessonEntry> = config
            .catalog
            .iter()
            .zip(states.iter())
            .enumerate()
            .map(|(i, (l, s))| {
                let agents: std::collections::BTreeMap<String, super::json::AgentState> = rows
                    .iter()
                    .filter(|r| r.agent.is_some())
                    .filter(|r| only.is_none() || only.as_ref() == Some(&r.agent))
                    .filter_map(|r| {
                        let st = r.lessons.get(i)?;
                        (st.state != LessonState::NotGuarded).then(|| {
                            (
                                r.agent.clone().unwrap_or_default(),
                                super::json::AgentState {
                                    state: st.state,
                                    probes: st.probes.clone(),
                                },
                            )
                        })
                    })
                    .collect();
                super::json::LessonEntry {
                    lesson: l.clone(),
                    probes: s.probes.clone(),
                    state: s.state,
                    agents,
                }
            })
            .collect();
        super::json::print(&v)?;
        return Ok(EXIT_OK);
    }
    for (i, (l, s)) in config.catalog.iter().zip(states.iter()).enumerate() {
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
        let probes = super::names_or_none(&s.probes);
        println!("      state:  {}   probes: {probes}", paint.state(s.state));
        let agents = per_agent(i);
        if !config.agents().is_empty() && !agents.is_empty() {
            let cells: Vec<String> = agents
                .iter()
                .map(|(a, st)| format!("{a} {}", paint.state(*st)))
                .collect();
            println!("      agents: {}", cells.join(", "));
        }
    }
    match &only {
        None => println!("{} lessons", config.catalog.len()),
        Some(a) => println!(
            "{} lessons, state over {}'s probes",
            config.catalog.len(),
            a.as_deref().unwrap_or("the host-wide")
        ),
    }
    Ok(EXIT_OK)
}
