//! `ledgerd doctor`: validate the config and print every error (file, key path, line:column),
//! then warnings, then the agents the probes belong to; exit 78 on errors (or on warnings with
//! `--strict`).

use super::{EXIT_CONFIG, EXIT_OK, Paint};
use crate::cli::Format;
use crate::config;
use std::path::Path;

pub fn run(
    path: Option<&Path>,
    root: Option<&Path>,
    strict: bool,
    format: Format,
    paint: Paint,
) -> anyhow::Result<u8> {
    let origin = config::find(path)
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "<embedded default>".into());
    let mut result = config::load(path);
    if let Ok(c) = &mut result
        && let Err(code) = super::set_root(c, root)
    {
        return Ok(code);
    }
    let (errors, warnings, summary) = match &result {
        Ok(c) => (
            Vec::new(),
            c.warnings.iter().map(|w| w.to_string()).collect::<Vec<_>>(),
            Some(c),
        ),
        Err(e) => (
            e.0.iter().map(|e| e.to_string()).collect(),
            Vec::new(),
            None,
        ),
    };
    let failed = !errors.is_empty() || (strict && !warnings.is_empty());
    if format == Format::Json {
        let errors = match &result {
            Err(e) => {
                e.0.iter()
                    .map(|e| super::json::DoctorError {
                        file: e.file.display().to_string(),
                        key: e.key.clone(),
                        line: e.at.map(|a| a.0),
                        column: e.at.map(|a| a.1),
                        message: e.message.clone(),
                    })
                    .collect()
            }
            Ok(_) => Vec::new(),
        };
        super::json::print(&super::json::DoctorOutput {
            config: origin,
            ok: !failed,
            errors,
            warnings,
            probes: summary.map(|c| c.probes.len()),
            channels: summary.map(|c| c.channels.len()),
            agents: summary.map(agents),
            root: summary.and_then(|c| c.daemon.root.clone()),
        })?;
        return Ok(if failed { EXIT_CONFIG } else { EXIT_OK });
    }
    for e in &errors {
        println!("{} {e}", paint.red("error:"));
    }
    for w in &warnings {
        println!("{} {w}", paint.yellow("warning:"));
    }
    match summary {
        Some(c) => {
            let files: Vec<String> = c.files.iter().map(|f| f.display().to_string()).collect();
            println!(
                "{} {origin}: {} probes, {} channels, {} routes, {} lessons in the catalog (files: {})",
                if failed {
                    paint.red("config not accepted (--strict):")
                } else {
                    paint.green("config ok:")
                },
                c.probes.len(),
                c.channels.len(),
                c.routes.len(),
                c.catalog.len(),
                files.join(", ")
            );
            if let Some(r) = &c.daemon.root {
                println!(
                    "auditing the copied host tree {} (live-host probes report unknown)",
                    r.display()
                );
            }
            let rows = agents(c);
            if rows.is_empty() {
                println!("agents: none (every probe is host-wide)");
            } else {
                let host = c.probes.iter().filter(|p| p.agent.is_none()).count();
                let list: Vec<String> = rows
                    .iter()
                    .map(|r| format!("{} ({} probes)", r.agent, r.probes))
                    .collect();
                println!(
                    "agents: {} — {}; host-wide: {host} probes",
                    rows.len(),
                    list.join(", ")
                );
            }
        }
        None => println!(
            "{} {} error(s) in {origin}",
            paint.red("config invalid:"),
            errors.len()
        ),
    }
    Ok(if failed { EXIT_CONFIG } else { EXIT_OK })
}

/// The agents the probes belong to, each with its probe count and the lessons it guards.
fn agents(c: &config::Config) -> Vec<super::json::DoctorAgent> {
    c.agents()
        .into_iter()
        .map(|a| {
            let probes: Vec<&config::ProbeConfig> = c
                .probes
                .iter()
                .filter(|p| p.agent.as_deref() == Some(a.as_str()))
                .collect();
            let mut lessons: Vec<u32> = probes
                .iter()
                .flat_map(|p| p.lessons.iter().map(|l| l.0))
                .collect();
            lessons.sort_unstable();
            lessons.dedup();
            super::json::DoctorAgent {
                agent: a,
                probes: probes.len(),
                lessons,
            }
        })
        .collect()
}
