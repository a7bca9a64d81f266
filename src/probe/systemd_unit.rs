//! `systemd_unit`: audits one systemd unit (or every unit a `*` pattern matches) on a Linux host
//! (lessons 3, 4 and 25). It owns reading the unit file and its drop-ins with systemd's own syntax
//! rules (sections, `#`/`;` comments, backslash continuation, list keys that accumulate and reset
//! on an empty assignment, drop-ins in lexical order), judging the service-manager contract (Type
//! vs a forking ExecStart, RestartPreventExitStatus for programs that exit 78 on a config error,
//! HOME when ExecStart switches user without User=, EnvironmentFile readability, expected timers)
//! and, when `systemctl` exists, the runtime state and restart rate from `systemctl show`. It must
//! not start, stop, reload or reset anything: only `systemctl show` and `systemctl list-timers`
//! run, and Environment values never leave the probe (names only). Under `--root` the files are
//! read inside the audited tree and systemctl is not asked.

use super::{Health, Invalid, Observation, Probe, ProbeCx};
use crate::exec::{self, ExecSpec};
use crate::read::ReadError;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// PATH used to find `systemctl` when it is given by name.
const SYSTEMCTL_SEARCH_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Properties read from `systemctl show`.
const SHOW_PROPERTIES: &str = "LoadState,ActiveState,SubState,Result,NRestarts,ExecMainStatus,\
ExecMainPID,Type,Environment,FragmentPath,NeedDaemonReload";

/// Keys whose repeated assignments accumulate (and whose empty assignment resets the list).
const LIST_KEYS: &[&str] = &[
    "After",
    "Alias",
    "Also",
    "Before",
    "BindsTo",
    "Conflicts",
    "Environment",
    "EnvironmentFile",
    "ExecCondition",
    "ExecReload",
    "ExecStart",
    "ExecStartPost",
    "ExecStartPre",
    "ExecStop",
    "ExecStopPost",
    "PartOf",
    "PassEnvironment",
    "RequiredBy",
    "Requires",
    "Requisite",
    "RestartForceExitStatus",
    "RestartPreventExitStatus",
    "SuccessExitStatus",
    "UnsetEnvironment",
    "WantedBy",
    "Wants",
];

/// Service types whose main process must not fork away.
const NON_FORKING_TYPES: &[&str] = &["simple", "exec", "notify", "notify-reload", "idle", "dbus"];

/// Drop-ins read per unit (systemd has no limit; a directory of thousands is not a real unit).
const MAX_DROPINS: usize = 256;

/// At most this many NRestarts samples are remembered in facts.
const MAX_SAMPLES: usize = 500;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SystemdUnit {
    /// Unit name, e.g. "openclaw-gateway.service", or a pattern with `*` ("openclaw-*.service")
    /// judging every matching unit in `unit_dirs` (none matching is critical). A masked unit is
    /// a finding only when named; a pattern skips masked units. Required.
    unit: String,
    /// Directories searched for the unit file, highest priority first; drop-ins are read from
    /// `<dir>/<unit>.d/*.conf` in every one of them. Default: ["/etc/systemd/system",
    /// "/run/systemd/system", "/usr/lib/systemd/system", "/lib/systemd/system"].
    #[serde(default = "default_unit_dirs")]
    unit_dirs: Vec<PathBuf>,
    /// Regexes for ExecStart commands that fork or daemonise; with a non-forking Type (simple,
    /// exec, notify, idle) a match is critical. A match containing "openclaw" is waived when the
    /// unit's environment sets OPENCLAW_NO_RESPAWN=1. Default: openclaw ... gateway, --daemon,
    /// a trailing -d, daemonize, nohup, a trailing &.
    #[serde(default = "default_forking")]
    forking_commands: Vec<String>,
    /// Ask `systemctl show` for the runtime state when systemctl exists. Default true; without
    /// systemctl the unit is judged from its files only.
    #[serde(default = "super::yes")]
    use_systemctl: bool,
    /// The systemctl program: a name looked up on /usr/local/sbin:/usr/local/bin:/usr/sbin:
    /// /usr/bin:/sbin:/bin, or an absolute path. Default "systemctl".
    #[serde(default = "default_systemctl")]
    systemctl: String,
    /// More restarts than this (NRestarts growth) within `restart_window` is a crash loop
    /// (critical). Default 3.
    #[serde(default = "default_max_restarts")]
    max_restarts: u64,
    /// Window for `max_restarts`, e.g. "10m". Default "10m".
    #[serde(default = "default_window", deserialize_with = "crate::duration::de")]
    restart_window: Duration,
    /// Restart= without RestartPreventExitStatus= is degraded (a config error, exit 78, would
    /// crash-loop), for units whose ExecStart matches `exit_78_commands` only. Default true.
    #[serde(default = "super::yes")]
    require_restart_prevent_exit_status: bool,
    /// Regexes for ExecStart commands known to exit 78 (EX_CONFIG) on a configuration error, the
    /// only ones `require_restart_prevent_exit_status` applies to: other programs exit with other
    /// codes, and Restart= alone is right for them. Default: openclaw, ledgerd.
    #[serde(default = "default_exit_78")]
    exit_78_commands: Vec<String>,
    /// A unit without User= whose ExecStart switches user with `sudo -u` (without -H/-i) or
    /// `su` (without -/-l) and gets no HOME from Environment= or an EnvironmentFile= is degraded:
    /// the program starts with the wrong HOME (lesson 3). systemd itself sets HOME for every
    /// unit with User= (systemd.exec, "Environment variables in spawned processes"), so User=
    /// alone is never a finding. Default true.
    #[serde(default = "super::yes")]
    require_home: bool,
    /// Timer units that must be installed (a file in `unit_dirs`) and, when systemctl exists,
    /// listed by `systemctl list-timers --all`. Default none.
    #[serde(default)]
    expected_timers: Vec<String>,
}

fn default_unit_dirs() -> Vec<PathBuf> {
    [
        "/etc/systemd/system",
        "/run/systemd/system",
        "/usr/lib/systemd/system",
        "/lib/systemd/system",
    ]
    .iter()
    .map(PathBuf::from)
    .collect()
}
fn default_forking() -> Vec<String> {
    [
        r"\bopenclaw\b.*\bgateway\b",
        r"--daemon\b",
        r"(?:^|\s)-d\s*$",
        r"daemoni[sz]e",
        r"\bnohup\b",
        r"&\s*$",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}
fn default_exit_78() -> Vec<String> {
    vec![r"\bopenclaw\b".to_string(), r"\bledgerd\b".to_string()]
}
fn default_systemctl() -> String {
    "systemctl".into()
}
fn default_max_restarts() -> u64 {
    3
}
fn default_window() -> Duration {
    Duration::from_secs(600)
}
impl Probe for SystemdUnit {
    const KIND: &'static str = "systemd_unit";
    const SUMMARY: &'static str = "audit a systemd unit: Type vs forking ExecStart, restart loops, RestartPreventExitStatus, HOME, EnvironmentFile, timers";
    const LESSONS: &'static [u32] = &[3, 4, 25];
    const EXAMPLE: &'static str = r#"[probe.hub_gateway_unit]
lessons = [3, 4, 25]
every = "5m"
# the hub gateway on the VPS; openclaw forks unless OPENCLAW_NO_RESPAWN=1 (lesson 25)
unit = "openclaw-gateway.service"
unit_dirs = ["/etc/systemd/system", "/usr/lib/systemd/system", "/lib/systemd/system"]
# read-only: only `systemctl show` and `systemctl list-timers` are run
use_systemctl = true
# the watchdog's rule: 3 restarts in 15 minutes is a crash loop (lesson 4)
max_restarts = 3
restart_window = "15m"
require_restart_prevent_exit_status = true
require_home = true
expected_timers = ["brain-qmd-update.timer", "brain-slack-autocapture.timer"]
"#;

    fn validate(&self) -> Vec<Invalid> {
        let mut bad = Vec::new();
        if self.unit.trim().is_empty() || self.unit.contains('/') {
            bad.push(Invalid::new(
                "unit",
                "must be a unit name like \"openclaw-gateway.service\"",
            ));
        } else if !self.unit.contains('.') {
            bad.push(Invalid::new(
                "unit",
                "must include the unit type suffix, e.g. \".service\"",
            ));
        }
        if self.unit_dirs.is_empty() {
            bad.push(Invalid::new(
                "unit_dirs",
                "must list at least one directory",
            ));
        }
        Invalid::require_regexes(&mut bad, "forking_commands", &self.forking_commands);
        Invalid::require_regexes(&mut bad, "exit_78_commands", &self.exit_78_commands);
        if self.systemctl.trim().is_empty() {
            bad.push(Invalid::new("systemctl", "must name a program"));
        }
        if self.restart_window.is_zero() {
            bad.push(Invalid::new("restart_window", "must be longer than zero"));
        }
        for (i, t) in self.expected_timers.iter().enumerate() {
            if !t.ends_with(".timer") || t.contains('/') {
                bad.push(Invalid::new(
                    format!("expected_timers[{i}]"),
                    "must be a timer unit name ending in \".timer\"",
                ));
            }
        }
        bad
    }

    async fn observe(&self, cx: &ProbeCx<'_>) -> Observation {
        let dirs: Vec<PathBuf> = self.unit_dirs.iter().map(|d| cx.resolve(d)).collect();
        if !self.unit.contains('*') {
            return self.look_unit(&self.unit, true, &dirs, cx).await;
        }
        let names = matching_units(&self.unit, &dirs);
        if names.is_empty() {
            return Observation::critical(format!("no unit matches {}", self.unit))
                .expected(format!(
                    "units matching {} in the unit directories",
                    self.unit
                ))
                .evidence("searched", shown_dirs(&dirs));
        }
        let mut looks = Vec::new();
        for n in names.iter().take(MAX_MATCHED_UNITS) {
            looks.push((n.clone(), self.look_unit(n, false, &dirs, cx).await));
        }
        merge_looks(&self.unit, looks, names.len())
    }
}

/// Units one pattern judges at most.
const MAX_MATCHED_UNITS: usize = 256;

/// Unit names in `dirs` matching a `*` pattern, sorted, each once.
fn matching_units(pattern: &str, dirs: &[PathBuf]) -> Vec<String> {
    let re = format!(
        "^{}$",
        pattern
            .split('*')
            .map(regex::escape)
            .collect::<Vec<_>>()
            .join(".*")
    );
    let Ok(re) = regex::Regex::new(&re) else {
        return Vec::new();
    };
    let mut out = std::collections::BTreeSet::new();
    for d in dirs {
        if let Ok(rd) = std::fs::read_dir(d) {
            for e in rd.flatten().take(10_000) {
                let n = e.file_name().to_string_lossy().into_owned();
                if re.is_match(&n) {
                    out.insert(n);
                }
            }
        }
    }
    out.into_iter().collect()
}

/// One observation for a pattern: the worst unit decides, each unit's findings are named.
fn merge_looks(pattern: &str, looks: Vec<(String, Observation)>, matched: usize) -> Observation {
    let health = looks.iter().fold(Health::Ok, |h, (_, o)| h.worst(o.health));
    let bad: Vec<String> = looks
        .iter()
        .filter(|(_, o)| !o.health.is_ok())
        .map(|(n, o)| format!("{n}: {}", o.summary))
        .collect();
    let summary = if bad.is_empty() {
        format!("{matched} units match {pattern}; all look right")
    } else {
        bad.join("; ")
    };
    let mut o = Observation::new(health, summary)
        .expected("every matching unit: non-forking ExecStart for its Type, RestartPreventExitStatus where the program exits 78, HOME when switching user, active")
        .evidence("units", looks.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(", "));
    if matched > looks.len() {
        o.push_evidence(
            "not_judged",
            format!("{} more units", matched - looks.len()),
        );
    }
    for (n, u) in &looks {
        if u.health.is_ok() {
            continue;
        }
        for e in &u.evidence {
            o.push_evidence(format!("{n}: {}", e.key), &e.value);
        }
    }
    o
}

impl SystemdUnit {
    /// Judges one unit; `named` when the probe names it (a masked unit is then a finding).
    async fn look_unit(
        &self,
        unit: &str,
        named: bool,
        dirs: &[PathBuf],
        cx: &ProbeCx<'_>,
    ) -> Observation {
        let mut f = Findings::default();
        let mut ev: Vec<(String, String)> = Vec::new();
        let (systemctl, runtime) = self.runtime_view(unit, cx, &mut ev).await;

        // The unit file, its drop-ins and its EnvironmentFiles, read off the runtime's threads.
        let fragment = runtime
            .as_ref()
            .and_then(|r| r.get("FragmentPath"))
            .filter(|p| !p.is_empty())
            .map(PathBuf::from);
        let (name, search) = (unit.to_string(), dirs.to_vec());
        let root = cx.root().map(Path::to_path_buf);
        let loaded = match super::blocking(move || {
            load_unit(&name, &search, fragment.as_deref(), root.as_deref()).map(|l| {
                let env = read_environment(&l.unit, root.as_deref());
                (l, env)
            })
        })
        .await
        {
            Ok(Ok(l)) => l,
            Ok(Err(e)) => return self.load_failed(unit, named, e, dirs, ev),
            Err(o) => return o,
        };
        let (loaded, env) = loaded;
        ev.push(("unit_file".into(), loaded.main.display().to_string()));
        for d in &loaded.dropins {
            ev.push(("drop_in".into(), d.display().to_string()));
        }
        push_warnings(&loaded.warnings, &mut ev);
        for (h, msg, at) in &env.findings {
            f.add(*h, msg.clone());
            ev.push(("offending".into(), at.clone()));
        }
        if !env.values.is_empty() {
            ev.push((
                "environment_names".into(),
                env.values.keys().cloned().collect::<Vec<_>>().join(", "),
            ));
        }
        let ty = self.judge_unit(&loaded.unit, &env.values, &mut f, &mut ev);
        let facts = match &runtime {
            Some(rt) => self.judge_runtime(unit, named, rt, cx, &mut f, &mut ev),
            None => None,
        };
        if named {
            self.judge_timers(systemctl.as_deref(), dirs, cx, &mut f, &mut ev)
                .await;
        }

        let mut o = Observation::new(f.health(), f.summary(&format!("{unit}: {ty}")))
            .expected(
                "non-forking ExecStart for its Type, RestartPreventExitStatus with Restart where the program exits 78 on a config error, HOME when switching user, active without a crash loop",
            );
        if f.items.is_empty() {
            o.summary = format!(
                "{unit} looks right (Type={ty}{})",
                runtime
                    .as_ref()
                    .and_then(|r| r.get("ActiveState"))
                    .map(|s| format!(", {s}"))
                    .unwrap_or_default()
            );
        }
        for (k, v) in ev {
            o.push_evidence(k, v);
        }
        if let Some(facts) = facts {
            o = o.facts(facts);
        }
        o
    }
}

/// At most this many parse warnings are shown; the rest are counted.
const MAX_WARNINGS: usize = 20;

fn push_warnings(warnings: &[String], ev: &mut Vec<(String, String)>) {
    for w in warnings.iter().take(MAX_WARNINGS) {
        ev.push(("parse_warning".into(), w.clone()));
    }
    if warnings.len() > MAX_WARNINGS {
        ev.push((
            "parse_warning".into(),
            format!("{} more warnings", warnings.len() - MAX_WARNINGS),
        ));
    }
}

/// The unit's environment (Environment= and readable EnvironmentFile= values; values stay in
/// the probe) and what reading the files found: (health, message, `file:line` of the setting).
#[derive(Default)]
struct Environment {
    values: BTreeMap<String, String>,
    findings: Vec<(Health, String, String)>,
}

/// Reads Environment= and every EnvironmentFile= through the bounded reader. A missing file is
/// critical unless optional (`-`); a FIFO, device or oversized file is unknown even when
/// optional, since what it provides cannot be known.
fn read_environment(unit: &Unit, root: Option<&Path>) -> Environment {
    let mut env = Environment::default();
    for a in unit.list("Service", "Environment") {
        for (k, v) in split_env_assignments(&a.value) {
            env.values.insert(k, v);
        }
    }
    for a in unit.list("Service", "EnvironmentFile") {
        let (optional, raw) = match a.value.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, a.value.as_str()),
        };
        // under --root the file the audited host would read, inside the tree
        let file = match root {
            Some(r) => crate::reroot::under(r, Path::new(raw)),
            None => PathBuf::from(raw),
        };
        match crate::read::text_lossy(&file, crate::read::SMALL) {
            Ok(text) => {
                for (k, v) in parse_env_file(&text) {
                    env.values.entry(k).or_insert(v);
                }
            }
            Err(e) if e.is_missing() => {
                if !optional {
                    env.findings.push((
                        Health::Critical,
                        format!("EnvironmentFile {raw} does not exist"),
                        a.at(),
                    ));
                }
            }
            Err(e @ (ReadError::NotRegular { .. } | ReadError::TooLarge { .. })) => {
                env.findings.push((
                    Health::Unknown,
                    format!("EnvironmentFile {raw}: {}", e.reason()),
                    a.at(),
                ));
            }
            Err(e) => {
                if !optional {
                    env.findings.push((
                        Health::Unknown,
                        format!(
                            "EnvironmentFile {raw} not readable by ledgerd: {}",
                            e.reason()
                        ),
                        a.at(),
                    ));
                }
            }
        }
    }
    env
}

impl SystemdUnit {
    /// The systemctl program (when used and present) and `systemctl show` of the unit.
    async fn runtime_view(
        &self,
        unit: &str,
        cx: &ProbeCx<'_>,
        ev: &mut Vec<(String, String)>,
    ) -> (Option<PathBuf>, Option<BTreeMap<String, String>>) {
        if self.use_systemctl && cx.root().is_some() {
            ev.push(("systemctl".into(), super::NOT_UNDER_ROOT.into()));
            return (None, None);
        }
        let systemctl = if self.use_systemctl {
            exec::which(&self.systemctl, SYSTEMCTL_SEARCH_PATH)
        } else {
            None
        };
        if self.use_systemctl && systemctl.is_none() {
            ev.push(("systemctl".into(), "systemctl not available".into()));
        }
        let mut runtime = None;
        if let Some(prog) = &systemctl {
            let argv = [
                prog.display().to_string(),
                "show".into(),
                unit.to_string(),
                "--no-pager".into(),
                "-p".into(),
                SHOW_PROPERTIES.into(),
            ];
            match run_systemctl(&argv, cx.timeout).await {
                Ok(text) => runtime = Some(parse_show(&text)),
                Err(e) => ev.push(("systemctl".into(), format!("systemctl show failed: {e}"))),
            }
        }
        (systemctl, runtime)
    }

    /// The observation when the unit file could not be loaded.
    fn load_failed(
        &self,
        unit: &str,
        named: bool,
        e: LoadError,
        dirs: &[PathBuf],
        ev: Vec<(String, String)>,
    ) -> Observation {
        match e {
            LoadError::Unreadable(e) => super::unreadable("unit file", &e),
            LoadError::NotAUnit(path, why) => {
                Observation::unknown(format!("{}: not a unit file: {why}", path.display()))
                    .expected("a systemd unit file with a [Unit] or [Service] section")
                    .evidence("path", path.display())
            }
            // a unit matched by a pattern and masked is off by design, not a finding
            LoadError::Masked(path) if !named => Observation::ok(format!(
                "{unit} is masked (matched by a pattern; not judged)"
            ))
            .evidence("unit_file", format!("{} -> /dev/null", path.display())),
            LoadError::Masked(path) => Observation::critical(format!("{unit} is masked"))
                .expected("unit installed and not masked")
                .evidence("unit_file", format!("{} -> /dev/null", path.display())),
            LoadError::Missing => {
                let mut o = Observation::critical(format!("{unit}: unit not installed"))
                    .expected(format!("{unit} in one of the unit directories"))
                    .evidence("searched", shown_dirs(dirs));
                for (k, v) in ev {
                    o.push_evidence(k, v);
                }
                o
            }
        }
    }

    /// The unit's own contract: Type vs a forking ExecStart (lesson 25), Restart without
    /// RestartPreventExitStatus (lesson 4), a user switch without HOME (lesson 3). Returns the Type.
    fn judge_unit<'u>(
        &self,
        unit: &'u Unit,
        env: &BTreeMap<String, String>,
        f: &mut Findings,
        ev: &mut Vec<(String, String)>,
    ) -> &'u str {
        let no_respawn = env.get("OPENCLAW_NO_RESPAWN").is_some_and(|v| v == "1");
        let ty_assign = unit.get("Service", "Type");
        let ty = ty_assign.map_or("simple", |a| a.value.as_str());
        if NON_FORKING_TYPES.contains(&ty)
            && let Some((a, why)) = self.forking_exec(unit, no_respawn, f, ev)
        {
            f.add(
                Health::Critical,
                format!("Type={ty} but ExecStart forks ({why})"),
            );
            ev.push(("offending".into(), a.at()));
            if let Some(t) = ty_assign {
                ev.push(("offending".into(), t.at()));
            }
        }
        // the reverse mismatch: told not to respawn, the gateway stays in the foreground, and
        // Type=forking waits for a parent that never exits
        if ty == "forking"
            && no_respawn
            && let Some((a, why)) = self.forking_exec(unit, false, f, ev)
            && why.starts_with("openclaw gateway")
        {
            f.add(
                Health::Critical,
                "Type=forking but ExecStart stays in the foreground (openclaw gateway with OPENCLAW_NO_RESPAWN=1 does not fork: systemd waits for it to exit and fails the start after TimeoutStartSec)".to_string(),
            );
            ev.push(("offending".into(), a.at()));
            if let Some(t) = ty_assign {
                ev.push(("offending".into(), t.at()));
            }
        }
        if self.require_restart_prevent_exit_status
            && let Some(r) = unit.get("Service", "Restart")
            && r.value != "no"
            && unit.list("Service", "RestartPreventExitStatus").is_empty()
            && self.exits_78(unit)
        {
            f.add(
                Health::Degraded,
                format!(
                    "Restart={} without RestartPreventExitStatus= (a config error, exit 78, will crash-loop)",
                    r.value
                ),
            );
            ev.push(("offending".into(), r.at()));
        }
        // systemd sets HOME for User=; only a user switch inside ExecStart loses it
        if self.require_home
            && unit.get("Service", "User").is_none()
            && !env.contains_key("HOME")
            && let Some((a, how)) = switches_user(unit)
        {
            f.add(
                Health::Degraded,
                format!(
                    "ExecStart switches user with {how} without User= and gets no HOME from Environment= or EnvironmentFile= (the program starts with the wrong HOME)"
                ),
            );
            ev.push(("offending".into(), a.at()));
        }
        ty
    }

    /// True when an ExecStart runs a program known to exit 78 on a config error.
    fn exits_78(&self, unit: &Unit) -> bool {
        let res: Vec<regex::Regex> = self
            .exit_78_commands
            .iter()
            .filter_map(|r| regex::Regex::new(r).ok())
            .collect();
        unit.list("Service", "ExecStart")
            .iter()
            .any(|a| res.iter().any(|re| re.is_match(&a.value)))
    }

    /// The first ExecStart that forks, and why. The command line and the script of an inline
    /// `sh -c '…'` are read by the shell reader (a trailing `&` inside the script forks too);
    /// a line nested too deep to read is an unknown finding.
    fn forking_exec<'u>(
        &self,
        unit: &'u Unit,
        no_respawn: bool,
        f: &mut Findings,
        ev: &mut Vec<(String, String)>,
    ) -> Option<(&'u Assign, String)> {
        let patterns: Vec<(String, regex::Regex)> = self
            .forking_commands
            .iter()
            .filter_map(|p| regex::Regex::new(p).ok().map(|r| (p.clone(), r)))
            .collect();
        for a in unit.list("Service", "ExecStart") {
            let cmd = a.value.trim_start_matches(['@', '-', ':', '+', '!']);
            let lexed = crate::shell::command_line(cmd);
            if let Some(why) = lexed.finding() {
                f.add(Health::Unknown, format!("ExecStart not read: {why}"));
                ev.push(("offending".into(), a.at()));
                continue;
            }
            let texts: Vec<&str> = std::iter::once(cmd)
                .chain(
                    lexed
                        .commands
                        .iter()
                        .filter_map(|c| crate::shell::inline_script(&c.words)),
                )
                .collect();
            for (p, re) in &patterns {
                let Some(m) = texts.iter().find_map(|t| re.find(t)) else {
                    continue;
                };
                let is_openclaw = m.as_str().contains("openclaw");
                if is_openclaw && no_respawn {
                    continue;
                }
                let why = if is_openclaw {
                    "openclaw gateway without OPENCLAW_NO_RESPAWN=1".to_string()
                } else {
                    format!("matches /{p}/")
                };
                return Some((a, why));
            }
        }
        None
    }

    /// Runtime state and restart rate from `systemctl show`; returns the facts to remember.
    fn judge_runtime(
        &self,
        unit: &str,
        named: bool,
        rt: &BTreeMap<String, String>,
        cx: &ProbeCx<'_>,
        f: &mut Findings,
        ev: &mut Vec<(String, String)>,
    ) -> Option<serde_json::Value> {
        let get = |k: &str| rt.get(k).map(String::as_str).unwrap_or("");
        let (active, sub, result) = (get("ActiveState"), get("SubState"), get("Result"));
        ev.push((
            "state".into(),
            format!(
                "LoadState={} ActiveState={active} SubState={sub} Result={result} ExecMainStatus={} MainPID={}",
                get("LoadState"),
                get("ExecMainStatus"),
                get("ExecMainPID")
            ),
        ));
        if get("NeedDaemonReload") == "yes" {
            ev.push((
                "need_daemon_reload".into(),
                "unit files changed since systemd loaded them".into(),
            ));
        }
        if get("LoadState") == "masked" && named {
            f.add(Health::Critical, format!("{unit} is masked"));
        }
        if result == "start-limit-hit" {
            f.add(
                Health::Critical,
                "start limit hit: systemd gave up restarting the unit",
            );
        } else if active == "failed" {
            f.add(Health::Critical, format!("unit failed (Result={result})"));
        } else if !result.is_empty() && result != "success" {
            f.add(
                Health::Critical,
                format!(
                    "last run ended with Result={result} (ExecMainStatus={})",
                    get("ExecMainStatus")
                ),
            );
        }
        let n = get("NRestarts").parse::<u64>().ok()?;
        ev.push(("n_restarts".into(), n.to_string()));
        let now = cx.now.timestamp();
        let (growth, samples) =
            restart_growth(cx.prior, now, n, self.restart_window.as_secs() as i64);
        if growth > self.max_restarts {
            f.add(
                Health::Critical,
                format!(
                    "crash loop: {growth} restarts within {}",
                    humantime::format_duration(self.restart_window)
                ),
            );
        }
        Some(serde_json::json!({ "restart_samples": samples }))
    }

    /// Expected timers: installed, and listed by `systemctl list-timers` when it exists.
    async fn judge_timers(
        &self,
        systemctl: Option<&Path>,
        dirs: &[PathBuf],
        cx: &ProbeCx<'_>,
        f: &mut Findings,
        ev: &mut Vec<(String, String)>,
    ) {
        if self.expected_timers.is_empty() {
            return;
        }
        let mut listed = None;
        if let Some(prog) = systemctl {
            let argv = [
                prog.display().to_string(),
                "list-timers".into(),
                "--all".into(),
                "--no-legend".into(),
                "--no-pager".into(),
            ];
            match run_systemctl(&argv, cx.timeout).await {
                Ok(t) => listed = Some(t),
                Err(e) => ev.push((
                    "systemctl".into(),
                    format!("systemctl list-timers failed: {e}"),
                )),
            }
        }
        for t in &self.expected_timers {
            if !dirs.iter().any(|d| d.join(t).exists()) {
                f.add(Health::Critical, format!("timer {t} not installed"));
            } else if let Some(text) = &listed
                && !text.split_whitespace().any(|w| w == t)
            {
                f.add(
                    Health::Critical,
                    format!("timer {t} not listed by systemctl list-timers"),
                );
            }
        }
    }
}

/// The first ExecStart that switches user without setting HOME: `sudo -u X` without -H/-i/
/// --set-home/--login, or `su X` without -/-l/--login. Returns it and how ("sudo -u cs").
fn switches_user(unit: &Unit) -> Option<(&Assign, String)> {
    for a in unit.list("Service", "ExecStart") {
        let cmd = a.value.trim_start_matches(['@', '-', ':', '+', '!']);
        for c in crate::shell::command_line(cmd).commands {
            let w = &c.words;
            let Some(i) = w.iter().position(|x| {
                x.rsplit('/')
                    .next()
                    .is_some_and(|b| b == "sudo" || b == "su")
            }) else {
                continue;
            };
            let args = &w[i + 1..];
            let is_sudo = w[i].ends_with("sudo");
            if is_sudo {
                let sets_home = args.iter().any(|x| {
                    matches!(x.as_str(), "-H" | "-i" | "--set-home" | "--login")
                        || (x.starts_with('-')
                            && !x.starts_with("--")
                            && (x.contains('H') || x.contains('i')))
                });
                if let Some(j) = args.iter().position(|x| x == "-u")
                    && !sets_home
                {
                    let who = args.get(j + 1).map_or("?", String::as_str);
                    return Some((a, format!("sudo -u {who}")));
                }
            } else {
                let login = args
                    .iter()
                    .any(|x| matches!(x.as_str(), "-" | "-l" | "--login"));
                if !login {
                    let who = args
                        .iter()
                        .find(|x| !x.starts_with('-'))
                        .map_or("root", String::as_str);
                    return Some((a, format!("su {who}")));
                }
            }
        }
    }
    None
}

/// Problems found so far; the worst decides the health.
#[derive(Default)]
struct Findings {
    items: Vec<(Health, String)>,
}

impl Findings {
    fn add(&mut self, h: Health, msg: impl Into<String>) {
        self.items.push((h, msg.into()));
    }
    fn health(&self) -> Health {
        self.items
            .iter()
            .fold(Health::Ok, |acc, (h, _)| acc.worst(*h))
    }
    fn summary(&self, ok: &str) -> String {
        if self.items.is_empty() {
            return ok.to_string();
        }
        let mut items: Vec<&(Health, String)> = self.items.iter().collect();
        items.sort_by_key(|(h, _)| std::cmp::Reverse(h.rank()));
        items
            .iter()
            .map(|(_, m)| m.as_str())
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// The unit directories searched, for evidence: `/etc/systemd/system, /usr/lib/systemd/system`.
fn shown_dirs(dirs: &[PathBuf]) -> String {
    let shown: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
    shown.join(", ")
}

async fn run_systemctl(argv: &[String], timeout: Duration) -> Result<String, String> {
    let spec = ExecSpec {
        argv,
        env: BTreeMap::from([("PATH".to_string(), SYSTEMCTL_SEARCH_PATH.to_string())]),
        cwd: None,
        timeout,
        max_output_bytes: 256 * 1024,
    };
    match exec::run(&spec).await {
        Ok(out) if out.code == Some(0) => Ok(out.stdout),
        Ok(out) => Err(format!("exit {}: {}", out.exit(), out.first_error())),
        Err(e) => Err(e.to_string()),
    }
}

/// `Key=Value` lines of `systemctl show`. Environment is kept but only its names are ever shown.
fn parse_show(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

/// Adds the current NRestarts sample to the remembered ones (dropping those older than the
/// window, and all of them when the counter went down) and returns the growth within the window.
fn restart_growth(
    prior: Option<&serde_json::Value>,
    now: i64,
    n: u64,
    window_secs: i64,
) -> (u64, Vec<(i64, u64)>) {
    let mut samples: Vec<(i64, u64)> = prior
        .and_then(|p| p.get("restart_samples"))
        .and_then(|s| serde_json::from_value(s.clone()).ok())
        .unwrap_or_default();
    samples.retain(|(t, _)| *t <= now && now - *t <= window_secs);
    if samples.iter().any(|(_, m)| *m > n) {
        samples.clear();
    }
    samples.push((now, n));
    if samples.len() > MAX_SAMPLES {
        samples.drain(..samples.len() - MAX_SAMPLES);
    }
    let base = samples.iter().map(|s| s.1).min().unwrap_or(n);
    (n - base, samples)
}

/// One assignment, with where it came from.
#[derive(Debug, Clone)]
struct Assign {
    key: String,
    value: String,
    file: PathBuf,
    line: usize,
}

impl Assign {
    /// `path:line: Key=value` for evidence; never used for Environment values.
    fn at(&self) -> String {
        format!(
            "{}:{}: {}={}",
            self.file.display(),
            self.line,
            self.key,
            self.value
        )
    }
}

/// The effective settings of a unit after the main file and its drop-ins.
#[derive(Debug, Default)]
struct Unit {
    keys: BTreeMap<(String, String), Vec<Assign>>,
}

impl Unit {
    fn apply(&mut self, section: &str, key: &str, a: Assign) {
        let slot = self
            .keys
            .entry((section.to_string(), key.to_string()))
            .or_default();
        if a.value.is_empty() {
            slot.clear();
        } else if LIST_KEYS.contains(&key) {
            slot.push(a);
        } else {
            *slot = vec![a];
        }
    }
    fn get(&self, section: &str, key: &str) -> Option<&Assign> {
        self.list(section, key).last()
    }
    fn list(&self, section: &str, key: &str) -> &[Assign] {
        self.keys
            .get(&(section.to_string(), key.to_string()))
            .map_or(&[], Vec::as_slice)
    }
    fn apply_text(&mut self, text: &str, file: &Path, warnings: &mut Vec<String>) {
        for e in parse_unit_text(text, warnings, file) {
            self.apply(
                &e.section,
                &e.key,
                Assign {
                    key: e.key.clone(),
                    value: e.value,
                    file: file.to_path_buf(),
                    line: e.line,
                },
            );
        }
    }
}

struct Entry {
    section: String,
    key: String,
    value: String,
    line: usize,
}

/// Parses unit-file text per systemd.syntax(7). Lines systemd would ignore with a warning are
/// reported in `warnings`.
fn parse_unit_text(text: &str, warnings: &mut Vec<String>, file: &Path) -> Vec<Entry> {
    let mut out = Vec::new();
    let mut section = String::new();
    let mut pending: Option<(usize, String)> = None;
    let mut logical: Vec<(usize, String)> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let lineno = i + 1;
        let t = raw.trim();
        if t.starts_with('#') || t.starts_with(';') {
            // A comment ends nothing: inside a continuation it is skipped.
            continue;
        }
        let (start, mut acc) = pending.take().unwrap_or((lineno, String::new()));
        let body = raw.trim_end();
        if let Some(cont) = body.strip_suffix('\\') {
            acc.push_str(cont);
            acc.push(' ');
            pending = Some((start, acc));
            continue;
        }
        acc.push_str(body);
        logical.push((start, acc));
    }
    if let Some(p) = pending {
        logical.push(p);
    }
    for (line, l) in logical {
        let l = l.trim();
        if l.is_empty() {
            continue;
        }
        if let Some(rest) = l.strip_prefix('[') {
            match rest.strip_suffix(']') {
                Some(name) => section = name.trim().to_string(),
                None => warnings.push(format!("{}:{line}: bad section header", file.display())),
            }
            continue;
        }
        match l.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => out.push(Entry {
                section: section.clone(),
                key: k.trim().to_string(),
                value: v.trim().to_string(),
                line,
            }),
            _ => warnings.push(format!(
                "{}:{line}: not a Key=value assignment",
                file.display()
            )),
        }
    }
    out
}

/// Splits one `Environment=` value into assignments: words separated by whitespace, with double
/// or single quotes grouping.
fn split_env_assignments(value: &str) -> Vec<(String, String)> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut in_word = false;
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), '\\') => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            (Some(_), c) => cur.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            (None, c) => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    words
        .into_iter()
        .filter_map(|w| {
            w.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
        })
        .filter(|(k, _)| !k.is_empty())
        .collect()
}

/// `KEY=VALUE` lines of an EnvironmentFile (comments `#`/`;`, optional quotes).
fn parse_env_file(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with(';'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| {
            let k = k.trim().trim_start_matches("export ").trim();
            let v = v.trim();
            let v = v
                .strip_prefix('"')
                .and_then(|x| x.strip_suffix('"'))
                .or_else(|| v.strip_prefix('\'').and_then(|x| x.strip_suffix('\'')))
                .unwrap_or(v);
            (k.to_string(), v.to_string())
        })
        .filter(|(k, _)| !k.is_empty())
        .collect()
}

struct Loaded {
    unit: Unit,
    main: PathBuf,
    dropins: Vec<PathBuf>,
    warnings: Vec<String>,
}

enum LoadError {
    Missing,
    Masked(PathBuf),
    /// A stat error, a FIFO or device, a file past the cap, invalid UTF-8.
    Unreadable(ReadError),
    /// Read, but not plausibly a unit file (junk, NULs, no known section).
    NotAUnit(PathBuf, String),
}

/// Sections a unit file may have; a main file with entries in none of them is not a unit file.
const UNIT_SECTIONS: &[&str] = &[
    "Unit",
    "Service",
    "Install",
    "Timer",
    "Socket",
    "Mount",
    "Automount",
    "Swap",
    "Path",
    "Slice",
    "Scope",
];

/// Why `text` (already parsed into `unit` with `warnings`) is not plausibly a unit file.
fn implausible(text: &str, unit: &Unit, warnings: usize) -> Option<String> {
    if text.contains('\0') {
        return Some("the file contains NUL bytes".into());
    }
    let known = unit
        .keys
        .keys()
        .filter(|(section, _)| UNIT_SECTIONS.contains(&section.as_str()))
        .count();
    if known == 0 {
        return Some("no [Unit]/[Service] section".into());
    }
    (warnings > 10 && warnings > known)
        .then(|| format!("{warnings} lines are not Key=value assignments ({known} settings)"))
}

/// `foo@bar.service` → `foo@.service`.
fn template_of(unit: &str) -> Option<String> {
    let (prefix, rest) = unit.split_once('@')?;
    let (instance, suffix) = rest.rsplit_once('.')?;
    (!instance.is_empty()).then(|| format!("{prefix}@.{suffix}"))
}

/// Finds the unit file (first directory wins; a template for an instance; systemd's own
/// FragmentPath as a last resort) and applies its drop-ins in lexical order.
fn load_unit(
    name: &str,
    dirs: &[PathBuf],
    fragment: Option<&Path>,
    root: Option<&Path>,
) -> Result<Loaded, LoadError> {
    // under --root a unit file or drop-in that is a link is followed inside the tree
    let inside = |p: &Path| match root {
        Some(r) => crate::reroot::under(r, p),
        None => p.to_path_buf(),
    };
    let mut names = vec![name.to_string()];
    if let Some(t) = template_of(name) {
        names.push(t);
    }
    let mut main: Option<PathBuf> = None;
    'find: for n in &names {
        for d in dirs {
            let p = d.join(n);
            match std::fs::symlink_metadata(&p) {
                Ok(m) => {
                    if m.file_type().is_symlink()
                        && std::fs::read_link(&p).is_ok_and(|t| t == Path::new("/dev/null"))
                    {
                        return Err(LoadError::Masked(p));
                    }
                    main = Some(p);
                    break 'find;
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(LoadError::Unreadable(ReadError::Io {
                        message: e.to_string(),
                        path: p,
                    }));
                }
            }
        }
    }
    if main.is_none() {
        main = fragment.filter(|p| p.exists()).map(Path::to_path_buf);
    }
    let main = main.ok_or(LoadError::Missing)?;
    let text =
        crate::read::text(&inside(&main), crate::read::SMALL).map_err(LoadError::Unreadable)?;
    let mut unit = Unit::default();
    let mut warnings = Vec::new();
    unit.apply_text(&text, &main, &mut warnings);
    if let Some(why) = implausible(&text, &unit, warnings.len()) {
        return Err(LoadError::NotAUnit(main, why));
    }

    // Drop-ins: a file name in a higher-priority directory hides the same name further down.
    let mut by_name: BTreeMap<String, PathBuf> = BTreeMap::new();
    for n in &names {
        for d in dirs {
            let dd = d.join(format!("{n}.d"));
            let Ok(rd) = std::fs::read_dir(inside(&dd)) else {
                continue;
            };
            for e in rd.flatten() {
                let fname = e.file_name().to_string_lossy().into_owned();
                if fname.ends_with(".conf") {
                    by_name.entry(fname).or_insert_with(|| e.path());
                }
                // past the cap the effective unit is unknown: the drop-ins left out (the last
                // one applied wins) could change anything, so none is judged
                if by_name.len() > MAX_DROPINS {
                    return Err(LoadError::Unreadable(ReadError::Io {
                        message: format!(
                            "more than {MAX_DROPINS} drop-ins (.conf); the effective unit is not judged"
                        ),
                        path: dd,
                    }));
                }
            }
        }
    }
    let mut dropins = Vec::new();
    // A drop-in that cannot be read leaves the effective unit unknown: not judged without it.
    for p in by_name.into_values() {
        let t =
            crate::read::text(&inside(&p), crate::read::SMALL).map_err(LoadError::Unreadable)?;
        unit.apply_text(&t, &p, &mut warnings);
        dropins.push(p);
    }
    Ok(Loaded {
        unit,
        main,
        dropins,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;
    use std::path::Path;

    use crate::probe::testkit::{self, assert_finding, ev, look, look_under, look_with};

    fn probe(toml_src: &str) -> SystemdUnit {
        testkit::parse(toml_src)
    }

    fn write(p: &Path, text: &str) {
        testkit::write(p, text, 0o644);
    }

    /// Writes `text` as the gateway's unit file in `dir` and looks at it there.
    async fn look_at_unit(dir: &Path, text: &str) -> Observation {
        write(&dir.join("openclaw-gateway.service"), text);
        look(&files_only(dir, "")).await
    }

    fn files_only(dir: &Path, extra: &str) -> SystemdUnit {
        probe(&format!(
            "unit = \"openclaw-gateway.service\"\nunit_dirs = [{:?}]\nuse_systemctl = false\n{extra}",
            dir.display().to_string()
        ))
    }

    const GOOD: &str = "[Unit]\nDescription=OpenClaw hub gateway\nAfter=network-online.target\n\n\
[Service]\n# openclaw forks unless told not to\nType=simple\nUser=hub\n\
Environment=HOME=/home/hub \"PATH=/usr/local/bin:/usr/bin:/bin\"\n\
Environment=OPENCLAW_NO_RESPAWN=1\n\
ExecStart=/usr/local/bin/openclaw \\\n    gateway run --force\n\
Restart=on-failure\nRestartPreventExitStatus=78\n\n[Install]\nWantedBy=multi-user.target\n";

    #[tokio::test]
    async fn good_unit_is_ok_and_notes_missing_systemctl() {
        let tmp = tempfile::tempdir().unwrap();
        write(&tmp.path().join("openclaw-gateway.service"), GOOD);
        let p = probe(&format!(
            "unit = \"openclaw-gateway.service\"\nunit_dirs = [{:?}]\nsystemctl = \"/nonexistent/systemctl\"",
            tmp.path().display().to_string()
        ));
        let o = look(&p).await;
        assert_eq!(o.health, Health::Ok, "{o:?}");
        assert!(ev(&o, "systemctl").contains(&"systemctl not available"));
        // Names only, never values.
        let names = ev(&o, "environment_names").join("");
        assert!(names.contains("OPENCLAW_NO_RESPAWN") && names.contains("HOME"));
        assert!(!o.evidence.iter().any(|e| e.value.contains("/home/hub")));
    }

    /// Type=forking is the workaround for a gateway that forks; with OPENCLAW_NO_RESPAWN=1 it
    /// does not, and the start times out.
    #[tokio::test]
    async fn type_forking_with_a_gateway_told_not_to_respawn_is_critical() {
        let tmp = tempfile::tempdir().unwrap();
        let forking = GOOD.replace("Type=simple", "Type=forking");
        let o = look_at_unit(tmp.path(), &forking).await;
        assert_finding(
            &o,
            Health::Critical,
            "Type=forking but ExecStart stays in the foreground (openclaw gateway with OPENCLAW_NO_RESPAWN=1",
        );
        testkit::assert_ev(&o, "offending", "openclaw-gateway.service:7: Type=forking");
        // without the variable the gateway forks, which is what Type=forking expects
        let workaround = forking.replace("Environment=OPENCLAW_NO_RESPAWN=1\n", "");
        let o = look_at_unit(tmp.path(), &workaround).await;
        assert_eq!(o.health, Health::Ok, "{o:?}");
    }

    #[tokio::test]
    async fn type_simple_with_forking_gateway_is_critical_with_line() {
        let tmp = tempfile::tempdir().unwrap();
        let bad = GOOD.replace("Environment=OPENCLAW_NO_RESPAWN=1\n", "");
        let o = look_at_unit(tmp.path(), &bad).await;
        assert_finding(
            &o,
            Health::Critical,
            "Type=simple but ExecStart forks (openclaw gateway without OPENCLAW_NO_RESPAWN=1)",
        );
        // ExecStart starts on line 10 and continues on 11.
        testkit::assert_ev(
            &o,
            "offending",
            "openclaw-gateway.service:10: ExecStart=/usr/local/bin/openclaw",
        );
    }

    #[tokio::test]
    async fn inline_shell_scripts_are_read_and_deep_nesting_is_unknown() {
        let tmp = tempfile::tempdir().unwrap();
        let unit = tmp.path().join("openclaw-gateway.service");
        write(
            &unit,
            "[Service]\nExecStart=/bin/sh -c \"/usr/bin/worker --once &\"\nRestart=no\n",
        );
        let o = look(&files_only(tmp.path(), "")).await;
        assert_finding(&o, Health::Critical, "ExecStart forks (matches /&\\s*$/)");
        let deep = format!("{}echo{}", "$(".repeat(6000), ")".repeat(6000));
        write(
            &unit,
            &format!("[Service]\nExecStart=/bin/sh -c \"{deep}\"\nRestart=no\n"),
        );
        let o = look(&files_only(tmp.path(), "")).await;
        assert_finding(&o, Health::Unknown, "command nesting deeper than 64 levels");
    }

    /// Issue 10 rows 2, 3 and 6: a FIFO, a device or junk where the unit file, a drop-in or an
    /// EnvironmentFile should be is `unknown` with the reason, never a hang or "looks right".
    #[tokio::test]
    async fn fifos_devices_and_junk_are_unknown() {
        let tmp = tempfile::tempdir().unwrap();
        let unit = tmp.path().join("openclaw-gateway.service");
        nix::unistd::mkfifo(&unit, nix::sys::stat::Mode::S_IRWXU).unwrap();
        let o = look(&files_only(tmp.path(), "")).await;
        assert_finding(&o, Health::Unknown, "not a regular file (a FIFO)");
        std::fs::remove_file(&unit).unwrap();
        std::os::unix::fs::symlink("/dev/zero", &unit).unwrap();
        let o = look(&files_only(tmp.path(), "")).await;
        assert!(o.summary.contains("a character device"), "{}", o.summary);
        std::fs::remove_file(&unit).unwrap();
        // 1 MiB of printable junk, then NULs: not a unit file.
        let junk: String = (0..1 << 20)
            .map(|i: u32| char::from(b' ' + (i.wrapping_mul(2_654_435_761) >> 7) as u8 % 94))
            .collect();
        write(&unit, &junk);
        let o = look(&files_only(tmp.path(), "")).await;
        assert_finding(&o, Health::Unknown, "not a unit file");
        write(&unit, &"\0".repeat(4096));
        let o = look(&files_only(tmp.path(), "")).await;
        assert!(
            o.summary
                .contains("not a unit file: the file contains NUL bytes"),
            "{}",
            o.summary
        );
        // A FIFO drop-in and a FIFO EnvironmentFile (even optional) are unknown too.
        let fifo = tmp.path().join("env.fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        write(
            &unit,
            &GOOD.replace(
                "[Service]\n",
                &format!("[Service]\nEnvironmentFile=-{}\n", fifo.display()),
            ),
        );
        let o = look(&files_only(tmp.path(), "")).await;
        assert_finding(&o, Health::Unknown, "env.fifo: not a regular file (a FIFO)");
        write(&unit, GOOD);
        let dropin = tmp.path().join("openclaw-gateway.service.d/x.conf");
        std::fs::create_dir_all(dropin.parent().unwrap()).unwrap();
        nix::unistd::mkfifo(&dropin, nix::sys::stat::Mode::S_IRWXU).unwrap();
        let o = look(&files_only(tmp.path(), "")).await;
        assert_finding(&o, Health::Unknown, "x.conf: not a regular file (a FIFO)");
    }

    /// 300 drop-ins: the 256 first were applied and the rest (the last applied wins) silently
    /// left out, so a forking Type in zz.conf was judged "looks right"; now unknown.
    #[tokio::test]
    async fn dropins_past_the_cap_are_unknown_not_judged_without_them() {
        let tmp = tempfile::tempdir().unwrap();
        write(&tmp.path().join("openclaw-gateway.service"), GOOD);
        let d = tmp.path().join("openclaw-gateway.service.d");
        for i in 0..300 {
            write(
                &d.join(format!("{i:03}.conf")),
                "[Service]\nEnvironment=A=1\n",
            );
        }
        write(&d.join("zz.conf"), "[Service]\nType=forking\n");
        let o = look(&files_only(tmp.path(), "")).await;
        assert_finding(&o, Health::Unknown, "more than 256 drop-ins (.conf)");
        assert!(o.summary.contains("openclaw-gateway.service.d"), "{o:?}");
    }

    #[tokio::test]
    async fn dropins_reset_lists_and_apply_in_order() {
        let tmp = tempfile::tempdir().unwrap();
        let high = tmp.path().join("etc");
        let low = tmp.path().join("lib");
        // Main file: no Type (defaults to simple), a daemonising command.
        write(
            &low.join("openclaw-gateway.service"),
            "[Service]\nExecStart=/usr/bin/somed --daemon\nRestart=always\nRestartPreventExitStatus=78\n",
        );
        // 10-reset.conf empties ExecStart and sets a clean one; 20 switches to forking; the
        // lower-priority 20-type.conf is hidden by the higher one.
        write(
            &high.join("openclaw-gateway.service.d/10-exec.conf"),
            "[Service]\nExecStart=\nExecStart=/usr/bin/somed --foreground\n",
        );
        write(
            &low.join("openclaw-gateway.service.d/20-type.conf"),
            "[Service]\nType=forking\n",
        );
        write(
            &high.join("openclaw-gateway.service.d/20-type.conf"),
            "; nothing here\n",
        );
        let p = probe(&format!(
            "unit = \"openclaw-gateway.service\"\nunit_dirs = [{:?}, {:?}]\nuse_systemctl = false",
            high.display().to_string(),
            low.display().to_string()
        ));
        let o = look(&p).await;
        assert_eq!(o.health, Health::Ok, "{o:?}");
        assert_eq!(ev(&o, "drop_in").len(), 2);

        // Without the reset the daemonising ExecStart stays and Type stays simple.
        write(
            &high.join("openclaw-gateway.service.d/10-exec.conf"),
            "[Service]\nExecStart=/usr/bin/somed --foreground\n",
        );
        let o = look(&p).await;
        assert_finding(&o, Health::Critical, "matches /--daemon\\b/");
    }

    #[tokio::test]
    async fn degraded_restart_without_prevent_and_user_switch_without_home() {
        let tmp = tempfile::tempdir().unwrap();
        // User= alone is fine: systemd sets HOME for it
        let o = look_at_unit(tmp.path(), "[Service]\nType=forking\nUser=hub\nExecStart=/usr/local/bin/openclaw gateway run\nRestart=always\n").await;
        assert_finding(&o, Health::Degraded, "RestartPreventExitStatus");
        assert!(!o.summary.contains("HOME"), "{}", o.summary);
        // sudo -u without User= loses HOME (lesson 3); sudo -H and su - keep it
        let o = look_at_unit(tmp.path(), "[Service]\nType=forking\nExecStart=/usr/bin/sudo -u hub /usr/local/bin/openclaw gateway run\nRestart=always\nRestartPreventExitStatus=78\n").await;
        assert_finding(&o, Health::Degraded, "sudo -u hub");
        for ok in [
            "/usr/bin/sudo -H -u hub /usr/local/bin/openclaw gateway run",
            "/bin/su - hub -c '/usr/local/bin/openclaw gateway run'",
        ] {
            let o = look_at_unit(
                tmp.path(),
                &format!("[Service]\nType=forking\nExecStart={ok}\n"),
            )
            .await;
            assert_eq!(o.health, Health::Ok, "{ok}: {o:?}");
        }
        // a program not known to exit 78 needs no RestartPreventExitStatus
        let o = look_at_unit(tmp.path(), "[Service]\nType=simple\nUser=www\nExecStart=/usr/sbin/nginx -g 'daemon off;'\nRestart=always\n").await;
        assert_eq!(o.health, Health::Ok, "{o:?}");

        // HOME from an optional-but-present EnvironmentFile, and an exit-78 guard: ok.
        let envf = tmp.path().join("hub.env");
        write(
            &envf,
            "# agent env\nHOME=\"/home/hub\"\nSLACK_TOKEN=xoxb-1\n",
        );
        let o = look_at_unit(tmp.path(), &format!(
                "[Service]\nType=forking\nUser=hub\nEnvironmentFile=-{}\nEnvironmentFile=-/nonexistent/optional.env\nExecStart=/usr/local/bin/openclaw gateway run\nRestart=always\nRestartPreventExitStatus=78\n",
                envf.display()
            )).await;
        assert_eq!(o.health, Health::Ok, "{o:?}");
        assert!(!o.evidence.iter().any(|e| e.value.contains("xoxb")));
    }

    #[tokio::test]
    async fn missing_unit_and_env_file_are_critical() {
        let tmp = tempfile::tempdir().unwrap();
        let o = look(&files_only(tmp.path(), "")).await;
        assert_finding(&o, Health::Critical, "unit not installed");

        let o = look_at_unit(tmp.path(), "[Service]\nType=forking\nEnvironmentFile=/etc/openclaw/hub.env\nExecStart=/usr/local/bin/openclaw gateway run\n").await;
        assert_finding(
            &o,
            Health::Critical,
            "EnvironmentFile /etc/openclaw/hub.env does not exist",
        );
        assert!(ev(&o, "offending")[0].contains(":3: EnvironmentFile=/etc/openclaw/hub.env"));
    }

    #[tokio::test]
    async fn masked_unit_is_critical_and_unreadable_dir_is_unknown() {
        let tmp = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink("/dev/null", tmp.path().join("openclaw-gateway.service"))
            .unwrap();
        let o = look(&files_only(tmp.path(), "")).await;
        assert_finding(&o, Health::Critical, "masked");

        // A unit "file" that is a directory cannot be read: unknown, not critical.
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir(tmp.path().join("openclaw-gateway.service")).unwrap();
        let o = look(&files_only(tmp.path(), "")).await;
        assert_eq!(o.health, Health::Unknown, "{o:?}");
    }

    /// A fake `systemctl` that prints `show.txt` for `show` and `timers.txt` for `list-timers`.
    fn fake_systemctl(dir: &Path, show: &str, timers: &str) -> PathBuf {
        write(&dir.join("show.txt"), show);
        write(&dir.join("timers.txt"), timers);
        let prog = dir.join("systemctl");
        write(
            &prog,
            &format!(
                "#!/bin/sh\ncase \"$1\" in\n show) cat {0}/show.txt ;;\n list-timers) cat {0}/timers.txt ;;\n *) exit 1 ;;\nesac\n",
                dir.display()
            ),
        );
        std::fs::set_permissions(&prog, std::fs::Permissions::from_mode(0o755)).unwrap();
        prog
    }

    fn show(active: &str, result: &str, n: u64) -> String {
        format!(
            "Type=simple\nRestart=on-failure\nNRestarts={n}\nResult={result}\nExecMainStatus=78\nExecMainPID=0\nLoadState=loaded\nActiveState={active}\nSubState=dead\nEnvironment=HOME=/home/hub SECRET_TOKEN=abc\n"
        )
    }

    #[tokio::test]
    async fn systemctl_state_restarts_and_timers() {
        let tmp = tempfile::tempdir().unwrap();
        let units = tmp.path().join("units");
        write(&units.join("openclaw-gateway.service"), GOOD);
        write(
            &units.join("brain-qmd-update.timer"),
            "[Timer]\nOnCalendar=*:0/15\n",
        );
        let bin = tmp.path().join("bin");
        let prog = fake_systemctl(
            &bin,
            &show("active", "success", 2),
            "Mon 2026-07-20 10:15:00 UTC 5min left - - brain-qmd-update.timer brain-qmd-update.service\n",
        );
        let p = probe(&format!(
            "unit = \"openclaw-gateway.service\"\nunit_dirs = [{:?}]\nsystemctl = {:?}\nexpected_timers = [\"brain-qmd-update.timer\"]",
            units.display().to_string(),
            prog.display().to_string()
        ));
        let t0 = chrono::Utc::now();
        let o = look_with(&p, Path::new("/"), None, t0).await;
        assert_eq!(o.health, Health::Ok, "{o:?}");
        assert_eq!(ev(&o, "n_restarts"), vec!["2"]);
        assert!(!o.evidence.iter().any(|e| e.value.contains("abc")));
        let facts = o.facts.clone().unwrap();

        // Five minutes later NRestarts jumped by 4 (> max_restarts 3): crash loop.
        fake_systemctl(
            &bin,
            &show("activating", "success", 6),
            "brain-qmd-update.timer\n",
        );
        let t1 = t0 + chrono::Duration::minutes(5);
        let o = look_with(&p, Path::new("/"), Some(&facts), t1).await;
        assert_finding(&o, Health::Critical, "crash loop: 4 restarts");

        // Same jump but the earlier sample is outside the window: no crash loop.
        let t2 = t0 + chrono::Duration::minutes(30);
        let o = look_with(&p, Path::new("/"), Some(&facts), t2).await;
        assert_eq!(o.health, Health::Ok, "{o:?}");

        // Failed with start-limit-hit, and the timer vanished from list-timers.
        fake_systemctl(&bin, &show("failed", "start-limit-hit", 6), "\n");
        let o = look(&p).await;
        assert_finding(&o, Health::Critical, "start limit hit");
        assert!(
            o.summary
                .contains("timer brain-qmd-update.timer not listed")
        );
    }

    #[test]
    fn parser_handles_comments_continuations_and_env_quotes() {
        let mut w = Vec::new();
        let e = parse_unit_text(
            "[Service]\n; c\nExecStart=/bin/a \\\n# comment inside\n  b \\\n  c\nbogus line\n",
            &mut w,
            Path::new("x"),
        );
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].value, "/bin/a    b    c");
        assert_eq!(e[0].line, 3);
        assert_eq!(w.len(), 1);
        let env = split_env_assignments(r#"A=1 "B=two words" 'C=x"y' D="q""#);
        assert_eq!(
            env,
            vec![
                ("A".into(), "1".into()),
                ("B".into(), "two words".into()),
                ("C".into(), "x\"y".into()),
                ("D".into(), "q".into()),
            ]
        );
        assert_eq!(
            template_of("openclaw@hub.service").as_deref(),
            Some("openclaw@.service")
        );
    }

    #[test]
    fn validate_reports_bad_keys() {
        let keys = testkit::invalid_keys::<SystemdUnit>(
            "unit = \"gateway\"\nforking_commands = [\"(\"]\nexpected_timers = [\"x.service\"]\nrestart_window = \"0s\"",
        );
        assert_eq!(
            keys,
            vec![
                "unit",
                "forking_commands[0]",
                "restart_window",
                "expected_timers[0]"
            ]
        );
    }

    #[tokio::test]
    async fn a_pattern_judges_every_match_and_skips_masked_units() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        write(
            &d.join("openclaw-a.service"),
            "[Service]\nType=forking\nExecStart=/usr/local/bin/openclaw gateway run\nRestart=always\nRestartPreventExitStatus=78\n",
        );
        std::os::unix::fs::symlink("/dev/null", d.join("openclaw-old.service")).unwrap();
        let pat = |u: &str| {
            probe(&format!(
                "unit = \"{u}\"\nunit_dirs = [{:?}]\nuse_systemctl = false\n",
                d.display().to_string()
            ))
        };
        let o = look(&pat("openclaw-*.service")).await;
        assert_finding(&o, Health::Ok, "2 units match");
        // named, a masked unit is a finding
        let o = look(&pat("openclaw-old.service")).await;
        assert_finding(&o, Health::Critical, "masked");
        // a bad match is named in the pattern's finding
        write(
            &d.join("openclaw-b.service"),
            "[Service]\nType=simple\nExecStart=/usr/local/bin/openclaw gateway run\n",
        );
        let o = look(&pat("openclaw-*.service")).await;
        testkit::assert_starts(&o, Health::Critical, "openclaw-b.service: ");
        // nothing matching is critical
        let o = look(&pat("hermes-*.service")).await;
        assert_eq!(o.health, Health::Critical, "{o:?}");
        // a pattern that cannot be read is unknown
        write(&d.join("x-1.service"), "not a unit at all");
        let o = look(&pat("x-*.service")).await;
        assert_eq!(o.health, Health::Unknown, "{o:?}");
    }

    #[tokio::test]
    async fn under_root_files_resolve_inside_the_tree_and_systemctl_is_not_asked() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        write(
            &root.join("etc/systemd/system/openclaw-hub.service"),
            "[Service]\nType=forking\nEnvironmentFile=/etc/openclaw/hub.env\nEnvironmentFile=/etc/openclaw/link.env\nExecStart=/usr/local/bin/openclaw gateway run\nRestart=always\nRestartPreventExitStatus=78\n",
        );
        write(&root.join("etc/openclaw/hub.env"), "HOME=/root\n");
        // a link to this host's /etc/hostname stays in the tree, where it does not exist
        std::os::unix::fs::symlink("/etc/hostname", root.join("etc/openclaw/link.env")).unwrap();
        let p = probe(
            "unit = \"openclaw-hub.service\"\nunit_dirs = [\"/etc/systemd/system\"]\nuse_systemctl = true\n",
        );
        let o = look_under(&p, root).await;
        assert_finding(
            &o,
            Health::Critical,
            "EnvironmentFile /etc/openclaw/link.env does not exist",
        );
        let t = testkit::evidence(&o);
        testkit::assert_contains(&t, &["systemctl -> not available under --root"]);
        assert!(
            t.contains(&root.join("etc/systemd/system").display().to_string()),
            "{t}"
        );
    }
}
