//! `ledgerd discover [--root DIR]`: finds the OpenClaw and Hermes agents of this host (or of a
//! copied host tree) and prints a complete, commented config for them: one pack include per agent
//! with the values it inferred (agent, user, home, gateway port, workspace, system or user unit or
//! plist or `@reboot` line, node PATH, crontab), the fleet pack once, and the policy values an operator must confirm as
//! `[vars]` with the ledger's defaults. It owns only finding and writing: what the packs check
//! lives in the packs. It reads through `crate::read`, resolves every path with
//! `crate::reroot` (so a link in a copied tree cannot lead out of it), never writes a file and
//! never runs a program; the config goes to stdout. It never emits a `command` probe.

use super::EXIT_OK;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Where agent homes live: Linux users, macOS users, the VPS hub running as root.
const HOME_GLOBS: &[&str] = &["/home", "/Users"];
const ROOT_HOMES: &[&str] = &["/root", "/var/root"];
/// systemd unit directories, highest priority first.
const UNIT_DIRS: &[&str] = &[
    "/etc/systemd/system",
    "/run/systemd/system",
    "/usr/lib/systemd/system",
    "/lib/systemd/system",
];
/// Where a user's own systemd units live, under the home.
const USER_UNIT_DIR: &str = ".config/systemd/user";
/// launchd job directories (system-wide); per-user LaunchAgents are read from each home too.
const PLIST_DIRS: &[&str] = &["/Library/LaunchDaemons", "/Library/LaunchAgents"];
/// Per-user crontabs: Debian, RHEL, macOS (`/usr/lib/cron` is a link to `/var/at`).
const CRONTAB_DIRS: &[&str] = &[
    "/var/spool/cron/crontabs",
    "/var/spool/cron",
    "/usr/lib/cron/tabs",
    "/var/at/tabs",
];
/// OpenClaw's default gateway port.
const DEFAULT_PORT: u16 = 18789;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Runtime {
    OpenClaw,
    Hermes,
}

/// How the agent's gateway is started.
#[derive(Debug, Default)]
struct Start {
    /// systemd unit name and its file (host path).
    unit: Option<(String, PathBuf)>,
    /// launchd plist (host path) and whether it is a LaunchAgent (GUI session).
    plist: Option<(PathBuf, bool)>,
    /// A crontab (host path) with an `@reboot` line starting the gateway.
    reboot: Option<PathBuf>,
    /// PATH the service manager gives it.
    path: Option<String>,
}

/// One agent found.
#[derive(Debug)]
struct Agent {
    id: String,
    runtime: Runtime,
    user: String,
    /// Host path of the home.
    home: PathBuf,
    port: Option<u16>,
    /// Host path of the workspace `openclaw.json` names, when it names one.
    workspace: Option<PathBuf>,
    start: Start,
    /// The agent user's crontab (host path): the one found, else this OS's place for it.
    crontab: PathBuf,
    /// The kit's watchdog writes `~/.openclaw/watchdog-state.json` here.
    watchdog: bool,
    notes: Vec<String>,
}

/// A unit or plist read: the user it runs as, its HOME and PATH, and its name.
#[derive(Debug, Clone)]
struct Job {
    name: String,
    file: PathBuf,
    user: Option<String>,
    home: Option<String>,
    path: Option<String>,
    runtime: Runtime,
    gui: bool,
}

pub fn run(root: Option<&Path>) -> anyhow::Result<u8> {
    let root = match root {
        Some(r) => match crate::config::audit_root(r) {
            Ok(c) => c,
            Err(m) => {
                eprintln!("ledgerd: --root: {m}");
                return Ok(super::EXIT_ERROR);
            }
        },
        None => PathBuf::from("/"),
    };
    let agents = find_agents(&root);
    print!("{}", render(&root, &agents));
    Ok(EXIT_OK)
}

/// The tree's path for a host path.
fn at(root: &Path, host: &Path) -> PathBuf {
    crate::reroot::under(root, host)
}

/// Sorted names of the entries of a host directory in the tree.
fn names(root: &Path, dir: &str) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(at(root, Path::new(dir)))
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| !n.starts_with('.'))
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

fn find_agents(root: &Path) -> Vec<Agent> {
    let jobs = find_jobs(root);
    let reboots = find_reboots(root);
    let mut homes: Vec<(String, PathBuf)> = Vec::new();
    for base in HOME_GLOBS {
        for n in names(root, base) {
            if n != "Shared" {
                homes.push((n.clone(), Path::new(base).join(&n)));
            }
        }
    }
    for h in ROOT_HOMES {
        homes.push(("root".into(), PathBuf::from(h)));
    }
    let mut agents = Vec::new();
    for (user, home) in homes {
        for (marker, runtime) in [
            (".openclaw", Runtime::OpenClaw),
            (".hermes", Runtime::Hermes),
        ] {
            if !at(root, &home.join(marker)).is_dir() {
                continue;
            }
            agents.push(agent(root, &user, &home, runtime, &jobs, &reboots));
        }
    }
    // two agents may not share an id (a prefix): number the later ones
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for a in &mut agents {
        let n = seen.entry(a.id.clone()).or_insert(0);
        *n += 1;
        if *n > 1 {
            a.id = format!("{}{}", a.id, n);
        }
    }
    agents
}

/// Everything known about one agent home.
fn agent(
    root: &Path,
    user: &str,
    home: &Path,
    runtime: Runtime,
    jobs: &[Job],
    reboots: &[(String, PathBuf, String)],
) -> Agent {
    let home_s = home.display().to_string();
    let mine = |j: &&Job| {
        j.runtime == runtime
            && (j.home.as_deref() == Some(home_s.as_str())
                || j.user.as_deref() == Some(user)
                || (user == "root" && j.user.is_none() && !j.name.ends_with(".plist")))
    };
    let mut start = Start::default();
    let mut notes = Vec::new();
    let mine_jobs: Vec<&Job> = jobs.iter().filter(mine).collect();
    for j in &mine_jobs {
        if j.file.extension().is_some_and(|e| e == "plist") {
            start.plist.get_or_insert((j.file.clone(), j.gui));
        } else {
            start.unit.get_or_insert((j.name.clone(), j.file.clone()));
        }
        if start.path.is_none() {
            start.path = j.path.clone();
        }
    }
    let gateway = match runtime {
        Runtime::OpenClaw => "openclaw",
        Runtime::Hermes => "hermes",
    };
    let reboot = reboots
        .iter()
        .find(|(u, _, line)| u == user && line.contains(gateway));
    if let Some((_, tab, _)) = reboot {
        start.reboot = Some(tab.clone());
    }
    let crontab = crontab_of(root, user, home, reboot.map(|r| r.1.clone()));
    let config = match runtime {
        Runtime::OpenClaw => openclaw_config(root, home, &mut notes),
        Runtime::Hermes => None,
    };
    let port = config
        .as_ref()
        .and_then(|v| gateway_port(v, home, &mut notes));
    if start.unit.is_none() && start.plist.is_none() && start.reboot.is_none() {
        notes.push(format!(
            "no {gateway} unit, launchd plist or @reboot crontab line found for this agent: how does it start?"
        ));
    }
    // the agent id: the user, except for root (the VPS hub), named by its unit or plist
    let id = if user == "root" {
        mine_jobs
            .iter()
            .find_map(|j| job_suffix(&j.name))
            .or_else(|| reboot.and_then(|(_, _, l)| reboot_name(l)))
            .unwrap_or_else(|| "hub".into())
    } else {
        user.to_string()
    };
    let workspace = config.as_ref().and_then(|v| workspace_of(v, &id, home));
    Agent {
        id: sanitize(&id),
        runtime,
        user: user.to_string(),
        home: home.to_path_buf(),
        port,
        workspace,
        start,
        crontab,
        watchdog: at(root, &home.join(".openclaw/watchdog-state.json")).is_file(),
        notes,
    }
}

/// `openclaw-hub.service` → hub, `ai.openclaw.cs.plist` → cs.
fn job_suffix(name: &str) -> Option<String> {
    let n = name.trim_end_matches(".service").trim_end_matches(".plist");
    n.strip_prefix("openclaw-")
        .or_else(|| n.strip_prefix("hermes-"))
        .or_else(|| n.strip_prefix("ai.openclaw."))
        .filter(|s| !s.is_empty() && *s != "gateway")
        .map(String::from)
}

/// `... >> /var/log/openclaw-hub.log` → hub.
fn reboot_name(line: &str) -> Option<String> {
    let re = regex::Regex::new(r"openclaw-([a-z][a-z0-9_]*)\.log").ok()?;
    re.captures(line).map(|c| c[1].to_string())
}

/// A probe id prefix: lowercase letters, digits and `_`.
fn sanitize(s: &str) -> String {
    let out: String = s
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if out.starts_with(|c: char| c.is_ascii_alphabetic()) {
        out
    } else {
        format!("a{out}")
    }
}

/// The agent's crontab: the one found (with its @reboot line, or any existing one), else where
/// this OS keeps it (macOS for homes under /Users).
fn crontab_of(root: &Path, user: &str, home: &Path, reboot: Option<PathBuf>) -> PathBuf {
    if let Some(t) = reboot {
        return t;
    }
    for d in CRONTAB_DIRS {
        let p = Path::new(d).join(user);
        if at(root, &p).is_file() {
            return p;
        }
    }
    if home.starts_with("/Users") || home.starts_with("/var/root") {
        Path::new("/usr/lib/cron/tabs").join(user)
    } else {
        Path::new("/var/spool/cron/crontabs").join(user)
    }
}

/// `~/.openclaw/openclaw.json` (JSON5), or a note saying why it could not be read.
fn openclaw_config(root: &Path, home: &Path, notes: &mut Vec<String>) -> Option<serde_json::Value> {
    let file = home.join(".openclaw/openclaw.json");
    let text = match crate::read::text(&at(root, &file), crate::read::LARGE) {
        Ok(t) => t,
        Err(e) => {
            notes.push(format!("cannot read {}: {}", file.display(), e.reason()));
            return None;
        }
    };
    match crate::probe::json5doc::parse(&text) {
        Ok(v) => Some(v),
        Err(e) => {
            notes.push(format!("{} is not valid JSON5: {e}", file.display()));
            None
        }
    }
}

/// `gateway.port` of the agent's `openclaw.json`.
fn gateway_port(v: &serde_json::Value, home: &Path, notes: &mut Vec<String>) -> Option<u16> {
    let port = v
        .pointer("/gateway/port")
        .and_then(serde_json::Value::as_u64)
        .and_then(|p| u16::try_from(p).ok());
    if port.is_none() {
        notes.push(format!(
            "{} sets no gateway.port: OpenClaw's default {DEFAULT_PORT} assumed",
            home.join(".openclaw/openclaw.json").display()
        ));
    }
    port
}

/// The workspace `openclaw.json` gives the agent (host path): its `agents.list` entry's
/// `workspace` (the entry with its id, else the default one, else the only one), else
/// `agents.defaults.workspace`; `~` is the agent's home. OpenClaw's own default is
/// `~/.openclaw/workspace`, the ledger's layout `~/.openclaw/workspace-<agent>`: the file decides.
fn workspace_of(v: &serde_json::Value, id: &str, home: &Path) -> Option<PathBuf> {
    let list = v
        .pointer("/agents/list")
        .and_then(serde_json::Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let entry = list
        .iter()
        .find(|e| e.get("id").and_then(|i| i.as_str()) == Some(id))
        .or_else(|| {
            list.iter()
                .find(|e| e.get("default").and_then(serde_json::Value::as_bool) == Some(true))
        })
        .or_else(|| list.first().filter(|_| list.len() == 1));
    let ws = entry
        .and_then(|e| e.get("workspace"))
        .or_else(|| v.pointer("/agents/defaults/workspace"))
        .and_then(serde_json::Value::as_str)?;
    let path = if let Some(rest) = ws.strip_prefix("~/") {
        home.join(rest)
    } else if ws.starts_with('/') {
        PathBuf::from(ws)
    } else {
        return None;
    };
    // `..` would leave the home: keep the pack's default rather than guess
    (!path
        .components()
        .any(|c| c == std::path::Component::ParentDir))
    .then_some(path)
}

/// The runtime a service unit's file name says it starts (`openclaw-*.service`,
/// `hermes-*.service`), if any.
fn unit_runtime(name: &str) -> Option<Runtime> {
    if !name.ends_with(".service") {
        return None;
    }
    if name.starts_with("openclaw-") {
        Some(Runtime::OpenClaw)
    } else if name.starts_with("hermes-") {
        Some(Runtime::Hermes)
    } else {
        None
    }
}

/// Every OpenClaw/Hermes unit and plist on the host.
fn find_jobs(root: &Path) -> Vec<Job> {
    let mut jobs: Vec<Job> = Vec::new();
    for d in UNIT_DIRS {
        for n in names(root, d) {
            let Some(runtime) = unit_runtime(&n) else {
                continue;
            };
            if jobs.iter().any(|j| j.name == n) {
                continue;
            }
            let file = Path::new(d).join(&n);
            if let Some(j) = read_unit(root, &file, &n, runtime) {
                jobs.push(j);
            }
        }
    }
    jobs.extend(find_user_units(root));
    let mut plist_dirs: Vec<(PathBuf, bool)> = PLIST_DIRS
        .iter()
        .map(|d| (PathBuf::from(d), d.ends_with("LaunchAgents")))
        .collect();
    for n in names(root, "/Users") {
        plist_dirs.push((
            Path::new("/Users").join(n).join("Library/LaunchAgents"),
            true,
        ));
    }
    for (d, gui) in plist_dirs {
        for n in names(root, &d.display().to_string()) {
            if !(n.starts_with("ai.openclaw.") && n.ends_with(".plist")) {
                continue;
            }
            if let Some(j) = read_plist(root, &d.join(&n), &n, gui) {
                jobs.push(j);
            }
        }
    }
    jobs
}

/// systemd user units (`~/.config/systemd/user/openclaw-gateway.service`, what `openclaw onboard`
/// and `openclaw gateway install` write on Linux): they run as the home's user, with its HOME.
fn find_user_units(root: &Path) -> Vec<Job> {
    let mut homes: Vec<(String, PathBuf)> = Vec::new();
    for base in HOME_GLOBS {
        for n in names(root, base) {
            homes.push((n.clone(), Path::new(base).join(n)));
        }
    }
    for h in ROOT_HOMES {
        homes.push(("root".into(), PathBuf::from(h)));
    }
    let mut jobs = Vec::new();
    for (user, home) in homes {
        let dir = home.join(USER_UNIT_DIR);
        for n in names(root, &dir.display().to_string()) {
            let Some(runtime) = unit_runtime(&n) else {
                continue;
            };
            if let Some(mut j) = read_unit(root, &dir.join(&n), &n, runtime) {
                j.user.get_or_insert_with(|| user.clone());
                j.home.get_or_insert_with(|| home.display().to_string());
                jobs.push(j);
            }
        }
    }
    jobs
}

/// Whether a unit file (host path) is a systemd user unit.
fn is_user_unit(file: &Path) -> bool {
    file.parent().is_some_and(|d| d.ends_with(USER_UNIT_DIR))
}

/// `User=`, `Environment=HOME=`/`PATH=` of a unit (main file only; drop-ins are the probe's).
fn read_unit(root: &Path, file: &Path, name: &str, runtime: Runtime) -> Option<Job> {
    let text = crate::read::text_lossy(&at(root, file), crate::read::SMALL).ok()?;
    let mut job = Job {
        name: name.to_string(),
        file: file.to_path_buf(),
        user: None,
        home: None,
        path: None,
        runtime,
        gui: false,
    };
    for line in text.lines().map(str::trim) {
        if let Some(u) = line.strip_prefix("User=") {
            job.user = Some(u.trim().to_string()).filter(|u| !u.is_empty());
        } else if let Some(env) = line.strip_prefix("Environment=") {
            for word in env.split_whitespace() {
                let word = word.trim_matches('"');
                if let Some(h) = word.strip_prefix("HOME=") {
                    job.home = Some(h.to_string());
                } else if let Some(p) = word.strip_prefix("PATH=") {
                    job.path = Some(p.to_string());
                }
            }
        }
    }
    Some(job)
}

/// `UserName` and `EnvironmentVariables.{HOME,PATH}` of a launchd plist.
fn read_plist(root: &Path, file: &Path, name: &str, gui: bool) -> Option<Job> {
    let bytes = crate::read::bytes(&at(root, file), crate::read::SMALL).ok()?;
    let plist::Value::Dictionary(d) = crate::plistdoc::parse(&bytes).ok()? else {
        return None;
    };
    let env = d
        .get("EnvironmentVariables")
        .and_then(|v| v.as_dictionary());
    let get_env = |k: &str| {
        env.and_then(|e| e.get(k))
            .and_then(|v| v.as_string())
            .map(String::from)
    };
    Some(Job {
        name: name.to_string(),
        file: file.to_path_buf(),
        user: d
            .get("UserName")
            .and_then(|v| v.as_string())
            .map(String::from),
        home: get_env("HOME"),
        path: get_env("PATH"),
        runtime: Runtime::OpenClaw,
        gui,
    })
}

/// `@reboot` lines that start a gateway: (user, crontab host path, line).
fn find_reboots(root: &Path) -> Vec<(String, PathBuf, String)> {
    let mut out = Vec::new();
    for d in CRONTAB_DIRS {
        for user in names(root, d) {
            let file = Path::new(d).join(&user);
            let Ok(text) = crate::read::text_lossy(&at(root, &file), crate::read::SMALL) else {
                continue;
            };
            for line in text.lines().map(str::trim) {
                if line.starts_with("@reboot") && line.contains("gateway") {
                    out.push((user.clone(), file.clone(), line.to_string()));
                }
            }
        }
    }
    out
}

/// A TOML string literal.
fn q(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

fn render(root: &Path, agents: &[Agent]) -> String {
    let mut out = String::new();
    let host = if root == Path::new("/") {
        "this host".to_string()
    } else {
        format!("the host tree {}", root.display())
    };
    let _ = writeln!(
        out,
        "# ledgerd config for {host}, written by `ledgerd discover` (ledgerd {}).",
        env!("CARGO_PKG_VERSION")
    );
    out.push_str(
        "# It found the agents below from their homes (~/.openclaw, ~/.hermes), their systemd units,\n\
         # launchd plists and @reboot crontab lines. Check it with `ledgerd doctor`, look once with\n\
         # `ledgerd check`, then run the daemon. Lines marked CONFIRM hold the ledger's defaults for\n\
         # policy only you know: change them to your own values before trusting an alert.\n",
    );
    if root != Path::new("/") {
        let _ = writeln!(
            out,
            "# Audit the copied tree with `ledgerd check --root {}`; probes that need the live host\n\
             # (processes, listeners, systemctl, launchctl, resources) then report unknown.",
            root.display()
        );
    }
    out.push_str("\n[daemon]\ninclude = [\n");
    out.push_str(
        "  # host-wide facts judged once: shared credentials, shadowed credentials, expiring tokens\n",
    );
    out.push_str("  \"builtin:fleet.toml\",\n");
    out.push_str("  # the host itself: runtimes, crontabs, file modes, loopback ports, headroom\n");
    out.push_str("  \"builtin:host.toml\",\n");
    render_kit(&mut out, root);
    for a in agents {
        render_agent(&mut out, a);
    }
    out.push_str("]\n\n");
    render_vars(&mut out);
    out
}

/// The shared brain and the kit (`/opt/brain/brain`, `/opt/compai`, LESSONS.md §1 layout): one
/// `builtin:kit.toml` include when either exists, each of its probes switched on only when what it
/// reads is there (the usage database, the review queue, the connectors, the MCP server's env).
fn render_kit(out: &mut String, root: &Path) {
    let brain = "/opt/brain/brain";
    let kit = "/opt/compai";
    let has = |p: &str| at(root, Path::new(p)).exists();
    if !has(brain) && !has(kit) {
        return;
    }
    let on = |p: String| if has(&p) { "true" } else { "false" };
    let _ = writeln!(
        out,
        "  # the shared brain and the kit: brain freshness, LLM routes, review queue, connectors, MCP\n  \
         # (a probe is off when what it reads was not found)\n  \
         {{ path = \"builtin:kit.toml\", vars = {{ brain = {}, kit = {}, use_brain_freshness = \"{}\", \
         use_llm_usage = \"{}\", use_review_queue = \"{}\", use_connectors = \"{}\", use_mcp = \"{}\" }} }},",
        q(brain),
        q(kit),
        on(format!("{brain}/knowledge")),
        on(format!("{kit}/state/llm-usage.db")),
        on(format!("{kit}/brain/review")),
        on(format!("{kit}/connectors")),
        on(format!("{kit}/services/mcp/.env")),
    );
}

fn render_agent(out: &mut String, a: &Agent) {
    let (pack, what) = match a.runtime {
        Runtime::OpenClaw => ("builtin:openclaw.toml", "OpenClaw"),
        Runtime::Hermes => ("builtin:hermes.toml", "Hermes"),
    };
    let home = a.home.display().to_string();
    let home_root = a
        .home
        .parent()
        .map_or("/".to_string(), |p| p.display().to_string());
    let mut vars: Vec<(&str, String)> = vec![
        ("agent", q(&a.id)),
        ("home", q(&home)),
        ("home_root", q(&home_root)),
    ];
    let mut how = Vec::new();
    if a.runtime == Runtime::OpenClaw {
        vars.push(("gateway_port", a.port.unwrap_or(DEFAULT_PORT).to_string()));
        vars.push(("gateway_user", q(&a.user)));
        let unit = a.start.unit.as_ref();
        let plist = a.start.plist.as_ref();
        vars.push(("use_systemd", q(&unit.is_some().to_string())));
        vars.push(("use_launchd", q(&plist.is_some().to_string())));
        if let Some((name, file)) = unit {
            vars.push(("unit", q(name)));
            if is_user_unit(file) {
                // the system manager does not know it: judge its files (the pack looks in the
                // home's unit folder too); `systemctl --user` needs the user's session bus
                vars.push(("use_systemctl", q("false")));
                how.push(format!("systemd user unit {}", file.display()));
            } else {
                how.push(format!("systemd unit {}", file.display()));
            }
        }
        if let Some((file, gui)) = plist {
            vars.push(("plist", q(&file.display().to_string())));
            vars.push(("needs_gui", q(&gui.to_string())));
            how.push(format!(
                "{} {}",
                if *gui { "LaunchAgent" } else { "LaunchDaemon" },
                file.display()
            ));
        }
        if let Some(p) = &a.start.path {
            vars.push(("node_path", q(p)));
        }
        vars.push(("crontab", q(&a.crontab.display().to_string())));
        vars.push(("use_watchdog", q(&a.watchdog.to_string())));
        let default_ws = a.home.join(format!(".openclaw/workspace-{}", a.id));
        if let Some(ws) = a.workspace.as_ref().filter(|w| **w != default_ws) {
            vars.push(("workspace", q(&ws.display().to_string())));
        }
    }
    if a.runtime == Runtime::Hermes {
        if let Some((_, file)) = &a.start.unit {
            how.push(format!("systemd unit {}", file.display()));
        }
        if let Some(p) = &a.start.path {
            vars.push(("hermes_path", q(p)));
        }
    }
    if let Some(tab) = &a.start.reboot {
        how.push(format!("cron @reboot in {}", tab.display()));
    }
    let _ = writeln!(
        out,
        "  # {what} agent {} (user {}, home {home}){}",
        a.id,
        a.user,
        if how.is_empty() {
            String::new()
        } else {
            format!(": {}", how.join(", "))
        }
    );
    for n in &a.notes {
        let _ = writeln!(out, "  # note: {n}");
    }
    let vars: Vec<String> = vars.iter().map(|(k, v)| format!("{k} = {v}")).collect();
    let _ = writeln!(
        out,
        "  {{ path = {}, prefix = {}, vars = {{ {} }} }},",
        q(pack),
        q(&format!("{}_", a.id)),
        vars.join(", ")
    );
}

/// The policy values every pack reads, with the ledger's defaults, each to confirm.
fn render_vars(out: &mut String) {
    out.push_str("[vars]\n");
    out.push_str("# --- where agent homes live: Linux users, macOS users, the VPS hub as root ------------\n");
    out.push_str("fleet_homes = \"/home/*\"\nfleet_mac_homes = \"/Users/*\"\nfleet_root_home = \"/root\"\n\n");
    out.push_str("# --- policy: the ledger's defaults. CONFIRM each one for your fleet ---------------------\n");
    for (k, v, why) in POLICY {
        let _ = writeln!(out, "# CONFIRM: {why}");
        let _ = writeln!(out, "{k} = {}", q(v));
    }
}

/// (var, the ledger's default, what it decides).
const POLICY: &[(&str, &str, &str)] = &[
    (
        "allowed_channels",
        "slack",
        "channels every agent may have enabled, comma-separated (lesson 5); the hub also talks to the founder on whatsapp: set allowed_channels in its include's vars",
    ),
    (
        "retired_plugins",
        "openclaw-supermemory,supermemory",
        "components you retired that must not come back in plugins.entries (lesson 11)",
    ),
    (
        "allowed_binds",
        "loopback",
        "gateway.bind values allowed (lesson 20; lan means every interface)",
    ),
    (
        "headless_permission_modes",
        "approve-all",
        "permission modes that never wait for a person on a headless agent (lesson 18)",
    ),
    (
        "prompting_approval_modes",
        "manual",
        "Hermes approval modes that wait for a person (lesson 18)",
    ),
    (
        "free_model_patterns",
        ":free$",
        "model ids that are free tiers, as regexes, comma-separated (lesson 24)",
    ),
    (
        "node_require",
        "^22",
        "the Node range the gateways are pinned to (lesson 32; 11c prerequisites: Node 22 LTS)",
    ),
    (
        "gateway_max_rss",
        "2GiB",
        "memory ceiling of one gateway (lesson 12: ~1 GB per agent)",
    ),
    (
        "fleet_interactive",
        "founder",
        "the one agent a person works at, where a subscription OAuth login is expected (lessons 1, 2)",
    ),
    (
        "fleet_token_warn",
        "3d",
        "how long before a token without a refresh path expires to warn (lesson 10)",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_suffixes() {
        assert_eq!(job_suffix("openclaw-hub.service").as_deref(), Some("hub"));
        assert_eq!(job_suffix("ai.openclaw.cs.plist").as_deref(), Some("cs"));
        assert_eq!(job_suffix("openclaw-gateway.service"), None);
        assert_eq!(
            reboot_name("@reboot cd $HOME/hub && nohup openclaw gateway run --force >> /var/log/openclaw-hub.log 2>&1 &").as_deref(),
            Some("hub")
        );
        assert_eq!(sanitize("Retail-2"), "retail_2");
        assert_eq!(sanitize("9x"), "a9x");
    }

    #[test]
    fn user_units_are_told_apart() {
        assert!(is_user_unit(Path::new(
            "/home/relay/.config/systemd/user/openclaw-gateway.service"
        )));
        assert!(!is_user_unit(Path::new(
            "/etc/systemd/system/openclaw-relay.service"
        )));
    }

    #[test]
    fn workspace_from_openclaw_json() {
        let home = Path::new("/Users/cs");
        let v = |t: &str| json5::from_str::<serde_json::Value>(t).unwrap();
        // OpenClaw's default workspace, named in agents.defaults
        let d = v(
            r#"{ agents: { defaults: { workspace: "~/.openclaw/workspace" }, list: [{ id: "cs" }] } }"#,
        );
        assert_eq!(
            workspace_of(&d, "cs", home),
            Some(PathBuf::from("/Users/cs/.openclaw/workspace"))
        );
        // the agent's own list entry wins, then the default entry
        let l = v(
            r#"{ agents: { defaults: { workspace: "~/w" }, list: [{ id: "x", default: true, workspace: "/srv/x" }, { id: "cs", workspace: "~/.openclaw/ws-cs" }] } }"#,
        );
        assert_eq!(
            workspace_of(&l, "cs", home),
            Some(PathBuf::from("/Users/cs/.openclaw/ws-cs"))
        );
        assert_eq!(workspace_of(&l, "hub", home), Some(PathBuf::from("/srv/x")));
        // none named, a relative one, one leaving the home through ..: the pack's default stays
        assert_eq!(workspace_of(&v("{ agents: {} }"), "cs", home), None);
        let rel = v(r#"{ agents: { defaults: { workspace: "ws" } } }"#);
        assert_eq!(workspace_of(&rel, "cs", home), None);
        let up = v(r#"{ agents: { defaults: { workspace: "~/../other/ws" } } }"#);
        assert_eq!(workspace_of(&up, "cs", home), None);
    }
}
