//! `ledgerd check`: run the selected probes once, now, and print what they see. Exit 0 when all
//! are ok, 1 when any lesson is violated or at risk (or a probe could not look), 78 on config
//! errors. Uses stored facts as priors when a store exists, and writes nothing. What it prints
//! is scrubbed of registered secrets.

use super::{EXIT_OK, EXIT_VIOLATION, Paint};
use crate::cli::Format;
use crate::config::Config;
use crate::engine::scheduler::observe_once;
use crate::probe::{Health, Observation};
use std::collections::{BTreeSet, HashMap};
use std::path::Path;

/// Runs the selected probes once and prints what they see; returns the exit code.
pub fn run(
    path: Option<&Path>,
    root: Option<&Path>,
    probes: &[String],
    lessons: &[u32],
    agents: &[String],
    format: Format,
    paint: Paint,
) -> anyhow::Result<u8> {
    let config = match super::load_rooted(path, root) {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    let agents = match super::agent_args(&config, agents) {
        Ok(a) => a,
        Err(code) => return Ok(code),
    };
    for p in probes {
        if !config.probes.iter().any(|c| &c.id == p) {
            eprintln!("ledgerd: no probe '{p}' in the config");
            return Ok(super::EXIT_ERROR);
        }
    }
    let selected = select(&config, probes, lessons, &agents);
    let results = observe_selected(&config, &selected)?;
    let health: HashMap<String, Health> = results
        .iter()
        .map(|(i, o)| (config.probes[*i].id.clone(), o.health))
        .collect();
    let mut violated: BTreeSet<u32> = BTreeSet::new();
    for (i, o) in &results {
        if !o.health.is_ok() {
            violated.extend(config.probes[*i].lessons.iter().map(|l| l.0));
        }
    }
    let exit = if violated.is_empty() {
        EXIT_OK
    } else {
        EXIT_VIOLATION
    };
    if format == Format::Json {
        print_json(&config, &results, &health, &violated)?;
    } else {
        print_text(&config, &results, &violated, paint);
    }
    Ok(exit)
}

/// The indexes of the probes selected by id, lesson and agent (an empty filter selects all).
fn select(
    config: &Config,
    probes: &[String],
    lessons: &[u32],
    agents: &[Option<String>],
) -> Vec<usize> {
    config
        .probes
        .iter()
        .enumerate()
        .filter(|(_, p)| probes.is_empty() || probes.contains(&p.id))
        .filter(|(_, p)| lessons.is_empty() || p.lessons.iter().any(|l| lessons.contains(&l.0)))
        .filter(|(_, p)| agents.is_empty() || agents.contains(&p.agent))
        .map(|(i, _)| i)
        .collect()
}

/// Runs the selected probes once, `concurrency` at a time, on a runtime of its own, with the
/// facts a store holds (if one exists) as priors.
fn observe_selected(
    config: &Config,
    selected: &[usize],
) -> anyhow::Result<Vec<(usize, Observation)>> {
    let priors: HashMap<String, serde_json::Value> =
        crate::store::Store::open_existing(&config.daemon.state_dir)
            .ok()
            .flatten()
            .and_then(|s| s.states().ok())
            .map(|rows| {
                rows.into_iter()
                    .filter_map(|r| r.facts.map(|f| (r.probe, f)))
                    .collect()
            })
            .unwrap_or_default();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let http = crate::http_client::shared();
    let results: Vec<(usize, Observation)> = rt.block_on(async {
        let sem = tokio::sync::Semaphore::new(config.daemon.concurrency);
        let futs = selected.iter().map(|&i| {
            let (sem, http, config, priors) = (&sem, &http, &config, &priors);
            async move {
                let _permit = sem.acquire().await;
                (
                    i,
                    observe_once(config, i, http, priors.get(&config.probes[i].id)).await,
                )
            }
        });
        futures::future::join_all(futs).await
    });
    // A probe that timed out may have left a blocking thread behind: do not wait for it.
    rt.shutdown_timeout(std::time::Duration::from_millis(200));
    Ok(results)
}

/// Prints the results as one JSON document (`json::CheckOutput`).
fn print_json(
    config: &Config,
    results: &[(usize, Observation)],
    health: &HashMap<String, Health>,
    violated: &BTreeSet<u32>,
) -> anyhow::Result<()> {
    let out = super::json::CheckOutput {
        host: config.daemon.host.clone(),
        root: config.daemon.root.clone(),
        results: results
            .iter()
            .map(|(i, o)| {
                let p = &config.probes[*i];
                super::json::CheckResult {
                    probe: p.id.clone(),
                    kind: p.kind().to_string(),
                    agent: p.agent.clone(),
                    lessons: p.lessons.clone(),
                    shadow: p.mode == crate::config::Mode::Shadow,
                    observation: o.clone(),
                }
            })
            .collect(),
        lessons: crate::status::lessons_where(config, health, |p| health.contains_key(&p.id))
            .into_iter()
            .filter(|l| !l.probes.is_empty())
            .collect(),
        agents: agent_rows(config, health),
        violated_lessons: violated.iter().copied().collect(),
    };
    super::json::print(&out)?;
    Ok(())
}

/// Prints one line per probe, worst first (with the lesson's rule, the expectation and the
/// evidence when it is not ok), then the counts and the lessons not holding.
fn print_text(
    config: &Config,
    results: &[(usize, Observation)],
    violated: &BTreeSet<u32>,
    paint: Paint,
) {
    let mut sorted = results.to_vec();
    sorted.sort_by_key(|(i, o)| {
        (
            std::cmp::Reverse(o.health.rank()),
            config.probes[*i].primary_lesson(),
            config.probes[*i].id.clone(),
        )
    });
    for (i, o) in &sorted {
        let p = &config.probes[*i];
        let lessons: Vec<String> = p.lessons.iter().map(|l| l.to_string()).collect();
        let rule = config
            .catalog
            .get(p.primary_lesson().0)
            .map(|l| l.rule.as_str())
            .unwrap_or("");
        let agent = p
            .agent
            .as_deref()
            .map(|a| format!(" agent {a}"))
            .unwrap_or_default();
        say(format!(
            "{:<12} {:<8} {} {}  {}",
            paint.health(o.health),
            lessons.join(","),
            paint.bold(&p.id),
            paint.dim(&format!("({}{agent})", p.kind())),
            o.summary
        ));
        if !o.health.is_ok() {
            say(format!("             lesson: {rule}"));
            if let Some(e) = &o.expected {
                say(format!("             expected: {e}"));
            }
            for e in &o.evidence {
                say(format!("             {}: {}", e.key, e.value));
            }
        }
    }
    let count = |h: Health| results.iter().filter(|(_, o)| o.health == h).count();
    let v: Vec<String> = violated.iter().map(|l| format!("L{l}")).collect();
    say(format!(
        "{} probes: {} ok, {} degraded, {} critical, {} unknown{}",
        results.len(),
        count(Health::Ok),
        count(Health::Degraded),
        count(Health::Critical),
        count(Health::Unknown),
        if v.is_empty() {
            String::from(" — all lessons hold")
        } else {
            format!(" — lessons not holding: {}", v.join(", "))
        }
    ));
}

/// Prints one line (or the JSON document) scrubbed of registered secrets.
fn say(text: String) {
    println!("{}", crate::redact::scrub(&text));
}

/// Per agent among the probes that ran (host-wide probes as agent null): the lessons they guard
/// and their state.
fn agent_rows(
    config: &crate::config::Config,
    health: &HashMap<String, Health>,
) -> Vec<super::json::AgentLessons> {
    let mut agents: Vec<Option<String>> = config
        .probes
        .iter()
        .filter(|p| health.contains_key(&p.id))
        .map(|p| p.agent.clone())
        .collect();
    agents.sort();
    agents.dedup();
    agents
        .into_iter()
        .map(|a| {
            let lessons: Vec<super::json::AgentLesson> =
                crate::status::lessons_where(config, health, |p| {
                    p.agent == a && health.contains_key(&p.id)
                })
                .into_iter()
                .filter(|l| !l.probes.is_empty())
                .map(|l| super::json::AgentLesson {
                    number: l.number,
                    state: l.state,
                    probes: l.probes,
                })
                .collect();
            super::json::AgentLessons { agent: a, lessons }
        })
        .collect()
}
