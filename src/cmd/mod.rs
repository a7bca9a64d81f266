//! Subcommands, one file each, and what they share: exit codes, config loading with error
//! printing, colours. `anyhow` is allowed here and in `main.rs` only. Printing to stdout lives
//! here (a tidy test forbids `println!` elsewhere).

pub mod ack;
pub mod check;
pub mod completions;
pub mod discover;
pub mod doctor;
pub mod json;
pub mod kinds;
pub mod lessons;
pub mod man;
pub mod run;
pub mod shadow;
pub mod silence;
pub mod status;
pub mod test_alert;

use crate::cli::{Cli, ColorChoice, Command};
use crate::config::{self, Config};
use std::io::IsTerminal;

pub const EXIT_OK: u8 = 0;
pub const EXIT_VIOLATION: u8 = 1;
pub const EXIT_ERROR: u8 = 2;
/// EX_CONFIG from sysexits.h: systemd's `RestartPreventExitStatus=78` stops a crash loop on it.
pub const EXIT_CONFIG: u8 = 78;

pub fn dispatch(cli: Cli) -> anyhow::Result<u8> {
    let color = match cli.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
        }
    };
    let paint = Paint { on: color };
    let cfg = cli.config.as_deref();
    let root = cli.root.as_deref();
    match cli.command {
        Command::Run { log_json } => run::run(cfg, root, log_json),
        Command::Check {
            probe,
            lesson,
            agent,
            format,
        } => check::run(cfg, root, &probe, &lesson, &agent, format, paint),
        Command::Doctor { strict, format } => doctor::run(cfg, root, strict, format, paint),
        Command::Discover => discover::run(root),
        Command::Lessons { agent, format } => lessons::run(cfg, agent.as_deref(), format, paint),
        Command::Kinds { examples } => kinds::run(examples),
        Command::Status { agent, format } => status::run(cfg, agent.as_deref(), format, paint),
        Command::Silence { action } => silence::run(cfg, action, paint),
        Command::Shadow { format } => shadow::run(cfg, format, paint),
        Command::TestAlert { channel } => test_alert::run(cfg, &channel),
        Command::Ack { incident, by, note } => ack::run(cfg, incident, by, note.as_deref()),
        Command::Completions { shell } => completions::run(shell),
        Command::Man { dir } => man::run(dir.as_deref()),
    }
}

/// Loads the config or prints every error to stderr; `Err(78)` then.
pub fn load_or_report(path: Option<&std::path::Path>) -> Result<Config, u8> {
    config::load(path).map_err(|errors| {
        for e in &errors.0 {
            eprintln!("error: {}", crate::redact::scrub(&e.to_string()));
        }
        eprintln!(
            "ledgerd: {} config error(s); nothing was started (exit 78)",
            errors.0.len()
        );
        EXIT_CONFIG
    })
}

/// `load_or_report`, then `--root DIR` (when given) replaces `daemon.root`; a root that is not a
/// directory is an error (exit 2).
pub fn load_rooted(
    path: Option<&std::path::Path>,
    root: Option<&std::path::Path>,
) -> Result<Config, u8> {
    let mut config = load_or_report(path)?;
    set_root(&mut config, root)?;
    Ok(config)
}

/// Applies `--root DIR` to a loaded config.
pub fn set_root(config: &mut Config, root: Option<&std::path::Path>) -> Result<(), u8> {
    if let Some(r) = root {
        match config::audit_root(r) {
            Ok(c) => config.daemon.root = Some(c),
            Err(m) => {
                eprintln!("ledgerd: --root: {m}");
                return Err(EXIT_ERROR);
            }
        }
    }
    Ok(())
}

/// ANSI colours when writing to a terminal.
#[derive(Clone, Copy, Debug)]
pub struct Paint {
    pub on: bool,
}

impl Paint {
    fn wrap(&self, code: &str, s: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
    pub fn red(&self, s: &str) -> String {
        self.wrap("31", s)
    }
    pub fn yellow(&self, s: &str) -> String {
        self.wrap("33", s)
    }
    pub fn green(&self, s: &str) -> String {
        self.wrap("32", s)
    }
    pub fn dim(&self, s: &str) -> String {
        self.wrap("2", s)
    }
    pub fn bold(&self, s: &str) -> String {
        self.wrap("1", s)
    }
    /// A health word with a symbol, so colour is never the only signal.
    pub fn health(&self, h: crate::probe::Health) -> String {
        use crate::probe::Health::*;
        match h {
            Ok => self.green("✓ ok"),
            Degraded => self.yellow("! degraded"),
            Critical => self.red("✗ critical"),
            Unknown => self.dim("? unknown"),
        }
    }
    pub fn state(&self, s: crate::status::LessonState) -> String {
        use crate::status::LessonState::*;
        match s {
            Violated => self.red("✗ violated"),
            AtRisk => self.yellow("! at risk"),
            Unknown => self.dim("? unknown"),
            Holding => self.green("✓ holding"),
            NotGuarded => self.dim("- not guarded"),
        }
    }
}

/// Base URL of the running daemon's API on this host (`daemon.listen`, with an unspecified
/// address replaced by loopback).
pub fn api_base(config: &Config) -> String {
    let mut addr = config.daemon.listen;
    if addr.ip().is_unspecified() {
        addr.set_ip(if addr.is_ipv4() {
            std::net::Ipv4Addr::LOCALHOST.into()
        } else {
            std::net::Ipv6Addr::LOCALHOST.into()
        });
    }
    format!("http://{addr}")
}

/// Who is acting: `--by`, else $USER, else "cli".
pub fn actor(by: Option<String>) -> String {
    by.filter(|b| !b.trim().is_empty())
        .or_else(|| std::env::var("USER").ok().filter(|u| !u.is_empty()))
        .unwrap_or_else(|| "cli".into())
}

/// Latest health per probe from the store, if the store exists and is readable.
pub fn stored_health(config: &Config) -> std::collections::HashMap<String, crate::probe::Health> {
    let mut out = std::collections::HashMap::new();
    if let Ok(Some(store)) = crate::store::Store::open_existing(&config.daemon.state_dir)
        && let Ok(rows) = store.latest_observations()
    {
        for r in rows {
            if let Some(h) = crate::probe::Health::parse(&r.health) {
                out.insert(r.probe, h);
            }
        }
    }
    out
}

/// `load_or_report`, then `agent_arg` on the loaded config: what `status` and `lessons` start with.
pub fn load_with_agent(
    path: Option<&std::path::Path>,
    agent: Option<&str>,
) -> Result<(Config, Option<Option<String>>), u8> {
    let config = load_or_report(path)?;
    let only = agent_arg(&config, agent)?;
    Ok((config, only))
}

/// Resolves one optional `--agent` value: `None` when not given (every probe), `Some(None)` for
/// `-` (host-wide probes), `Some(Some(agent))` otherwise; `Err(exit code)` as `agent_args`.
pub fn agent_arg(config: &Config, agent: Option<&str>) -> Result<Option<Option<String>>, u8> {
    match agent {
        None => Ok(None),
        Some(a) => Ok(agent_args(config, &[a.to_string()])?.pop()),
    }
}

/// The names an unknown one was looked for among, for an error message: `a, b` or `none`.
pub fn names_or_none<S: AsRef<str>>(names: &[S]) -> String {
    if names.is_empty() {
        return "none".to_string();
    }
    let names: Vec<&str> = names.iter().map(AsRef::as_ref).collect();
    names.join(", ")
}

/// Resolves `--agent` values: `-` is the host-wide probes (`None`), anything else must be an
/// agent some probe belongs to. Prints the problem and returns `Err(exit code)` otherwise.
pub fn agent_args(config: &Config, args: &[String]) -> Result<Vec<Option<String>>, u8> {
    let known = config.agents();
    args.iter()
        .map(|a| match a.as_str() {
            "-" => Ok(None),
            a if known.iter().any(|k| k == a) => Ok(Some(a.to_string())),
            a => {
                eprintln!(
                    "ledgerd: no probe belongs to agent '{a}' (agents: {}; `-` for host-wide probes)",
                    names_or_none(&known)
                );
                Err(EXIT_ERROR)
            }
        })
        .collect()
}
