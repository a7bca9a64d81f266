//! `credentials`: every credential each agent on a host can use, and how they relate (lessons 1,
//! 2 and 10). It finds agent homes (globs such as `/home/*`, `/Users/*`), reads the credential
//! stores of the runtimes living there (OpenClaw `auth-profiles.json`, `.openclaw/.env` and the
//! `env` block of `openclaw.json`; Claude Code `~/.claude.json` `oauthAccount` and
//! `~/.claude/.credentials.json`; Codex `~/.codex/auth.json`; `~/.mcp-auth/**/*_tokens.json`;
//! Hermes `.hermes/.env` and `auth.json`) and the environment service managers give them (plist
//! `EnvironmentVariables`, unit `Environment=`/`EnvironmentFile=`). It reports one fingerprint
//! used by two or more agents (L1), each agent's effective credential per provider by the
//! runtime's documented precedence and every source it shadows with a different fingerprint
//! (L2), subscription OAuth tokens (`sk-ant-oat01-`) on headless agents (L1), and expiry of
//! credentials that carry one and have no refresh path (L10). It keeps only `sha256:`
//! fingerprints, file paths and key names: never a value, never a prefix of one. It only reads.
//!
//! Precedence, highest first (the shadow rule of lesson 2), per runtime:
//! - OpenClaw (`docs/help/environment.md`, `src/agents/model-auth.ts` in openclaw/openclaw; the
//!   ledger's 11b L2): the Claude CLI login (`~/.claude.json` `oauthAccount` with
//!   `~/.claude/.credentials.json`) for Anthropic, then `auth-profiles.json` profiles of the
//!   provider, then the process environment (unit/plist), then `~/.openclaw/.env`, then the
//!   `env` block of `openclaw.json`, then `models.providers.<p>.apiKey`.
//! - Hermes (`hermes_cli/env_loader.py` in NousResearch/hermes-agent): `auth.json` provider
//!   tokens, then `~/.hermes/.env` (loaded with override, so it beats the process environment),
//!   then the process environment.
//! - Claude Code (its authentication docs): `ANTHROPIC_AUTH_TOKEN`, `ANTHROPIC_API_KEY`,
//!   `CLAUDE_CODE_OAUTH_TOKEN`, then the `/login` subscription credentials.
//! - Codex: `auth.json` ChatGPT tokens, then `auth.json` `OPENAI_API_KEY`, then the environment.
//!
//! An OAuth access token stored beside its refresh token is refreshed by its runtime, so its
//! expiry is shown, not judged; a token with an expiry and no refresh path is judged.

use super::{Health, Invalid, Observation, Probe, ProbeCx};
use crate::read;
use crate::tokens::parse_dotenv;
use chrono::{DateTime, TimeDelta, Utc};
use serde::Deserialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    /// Agent homes: paths or patterns with `*` in any segment ("/home/*", "/Users/*", "/root").
    /// A match is an agent when it holds `.openclaw`, `.hermes`, `.claude.json`, `.claude`,
    /// `.codex` or `.mcp-auth`; the agent's name is the directory's name.
    homes: Vec<String>,
    /// launchd plists whose `EnvironmentVariables` an agent's process gets (patterns allowed). A
    /// plist belongs to the agent whose home is its `EnvironmentVariables.HOME`, else whose name
    /// is its `UserName`. Default none.
    #[serde(default)]
    plists: Vec<String>,
    /// systemd units whose `Environment=`/`EnvironmentFile=` an agent's process gets (patterns
    /// allowed). A unit belongs to the agent whose home is its `Environment=HOME=`, else whose
    /// name is its `User=`. Default none.
    #[serde(default)]
    units: Vec<String>,
    /// Agents (by name) a person works at: a subscription OAuth token there is expected. Every
    /// other agent is headless. An entry may hold several names separated by commas (a var).
    /// Default none.
    #[serde(default)]
    interactive: Vec<String>,
    /// Degraded when a credential without a refresh path expires within this. Default "7d".
    #[serde(default = "default_warn", deserialize_with = "crate::duration::de")]
    warn_before: Duration,
}

fn default_warn() -> Duration {
    Duration::from_secs(7 * 86_400)
}

/// Most homes, files per pattern and directory entries walked: a pattern never walks a disk.
const MAX_MATCHES: usize = 512;
/// Deepest `.mcp-auth` walk.
const MCP_DEPTH: usize = 4;
/// Values shorter than this are settings, not credentials (`DEBUG_TOKEN=1`).
const MIN_SECRET_CHARS: usize = 12;
/// The Anthropic subscription (Claude Pro/Max) OAuth token prefix.
const OAUTH_PREFIX: &str = "sk-ant-oat01-";

impl Probe for Credentials {
    const KIND: &'static str = "credentials";
    const SUMMARY: &'static str = "credentials each agent can use: shared across agents, shadowed by precedence, subscription OAuth on headless agents, expiry (fingerprints only)";
    const LESSONS: &'static [u32] = &[1, 2, 10];
    const EXAMPLE: &'static str = r#"[probe.fleet_credentials]
lessons = [1, 2, 10]
every = "15m"
# every agent home on this host (the Mac mini's agents are macOS users; the hub runs as root)
homes = ["/Users/*", "/home/*", "/root"]
# the environment launchd and systemd give the gateways
plists = ["/Library/LaunchDaemons/ai.openclaw.*.plist"]
units = ["/etc/systemd/system/openclaw-*.service"]
# the founder's own account: a person logs in there, a subscription token is expected
interactive = ["founder"]
warn_before = "3d"
"#;

    fn validate(&self) -> Vec<Invalid> {
        let mut bad = Vec::new();
        Invalid::require_at_least_one(&mut bad, "homes", &self.homes, "path or pattern");
        for (key, list) in [
            ("homes", &self.homes),
            ("plists", &self.plists),
            ("units", &self.units),
        ] {
            for (i, p) in list.iter().enumerate() {
                if p.is_empty() {
                    bad.push(Invalid::new(format!("{key}[{i}]"), "must not be empty"));
                } else if p.contains(['?', '[', '{']) {
                    bad.push(Invalid::new(
                        format!("{key}[{i}]"),
                        "only `*` is supported in patterns",
                    ));
                }
            }
        }
        Invalid::require_longer_than_0s(&mut bad, "warn_before", self.warn_before);
        bad
    }

    async fn observe(&self, cx: &ProbeCx<'_>) -> Observation {
        let homes: Vec<PathBuf> = self
            .homes
            .iter()
            .map(|h| cx.resolve(Path::new(h)))
            .collect();
        let plists: Vec<PathBuf> = self
            .plists
            .iter()
            .map(|p| cx.resolve(Path::new(p)))
            .collect();
        let units: Vec<PathBuf> = self
            .units
            .iter()
            .map(|p| cx.resolve(Path::new(p)))
            .collect();
        let root = cx.root().map(Path::to_path_buf);
        let gathered =
            tokio::task::spawn_blocking(move || gather(&homes, &plists, &units, root.as_deref()))
                .await;
        match gathered {
            Ok(g) => self.judge(g, cx.now),
            Err(e) => Observation::unknown(format!("credential scan failed: {e}")),
        }
    }
}

// ---- what was found ------------------------------------------------------------------------------

/// Where a credential sits, in the order the precedence rules name them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Src {
    ClaudeLogin,
    AuthProfile,
    HermesAuth,
    CodexTokens,
    CodexKey,
    HermesDotenv,
    ProcessEnv,
    OpenclawDotenv,
    OpenclawConfigEnv,
    OpenclawProviderKey,
    /// A channel's own token in `openclaw.json` (`channels.slack.botToken`): shared or not (L1),
    /// never part of a model provider's precedence chain.
    OpenclawChannelToken,
    McpTokens,
}

#[derive(Clone, Debug)]
struct Cred {
    agent: String,
    src: Src,
    /// File and key, e.g. "/Users/cs/.claude.json oauthAccount".
    place: String,
    /// Environment variable name, when it is one (for the precedence of Claude Code).
    var: Option<String>,
    provider: String,
    fp: String,
    subscription_oauth: bool,
    expires: Option<DateTime<Utc>>,
    refreshable: bool,
}

#[derive(Debug, Default)]
struct Gathered {
    /// `--root`: the audited tree every read resolves under (`crate::reroot`).
    root: Option<PathBuf>,
    agents: BTreeMap<String, BTreeSet<&'static str>>,
    creds: Vec<Cred>,
    /// Files that exist but could not be read or parsed: (path, why).
    unreadable: Vec<(String, String)>,
    plists_unattached: Vec<String>,
}

impl Gathered {
    /// Where the audited host would read `p`: inside the tree under --root (links followed
    /// there), else `p` itself.
    fn at(&self, p: &Path) -> PathBuf {
        match &self.root {
            Some(r) => crate::reroot::under(r, p),
            None => p.to_path_buf(),
        }
    }

    /// `path` read (under --root) by `read`; `None` once a failure is noted.
    fn read<T>(
        &mut self,
        path: &Path,
        read: impl FnOnce(&Path) -> Result<T, read::ReadError>,
    ) -> Option<T> {
        read(&self.at(path)).map_err(|e| self.note(path, e)).ok()
    }

    /// Notes a file that exists but could not be read or parsed.
    fn note(&mut self, path: &Path, why: impl std::fmt::Display) {
        self.unreadable
            .push((path.display().to_string(), why.to_string()));
    }
}

struct Agent {
    name: String,
    home: PathBuf,
    runtimes: BTreeSet<&'static str>,
}

/// Every credential in the agent homes, launchd plists and systemd units the settings name
/// (read under `root` when given).
fn gather(
    homes: &[PathBuf],
    plists: &[PathBuf],
    units: &[PathBuf],
    root: Option<&Path>,
) -> Gathered {
    let mut g = Gathered {
        root: root.map(Path::to_path_buf),
        ..Gathered::default()
    };
    let agents = find_agents(homes, &g);
    for a in &agents {
        g.agents.insert(a.name.clone(), a.runtimes.clone());
        read_home(a, &mut g);
    }
    read_plists(plists, &agents, &mut g);
    read_units(units, &agents, &mut g);
    g
}

/// The agent homes the patterns name: directories holding at least one runtime's marker
/// (`.openclaw`, `.hermes`, `.claude.json`, ...), each home once.
fn find_agents(homes: &[PathBuf], g: &Gathered) -> Vec<Agent> {
    let mut agents: Vec<Agent> = Vec::new();
    for pattern in homes {
        for home in expand(pattern) {
            let home = g.at(&home);
            if !home.is_dir() || agents.iter().any(|a| a.home == home) {
                continue;
            }
            let mut runtimes = BTreeSet::new();
            for (marker, rt) in [
                (".openclaw", "openclaw"),
                (".hermes", "hermes"),
                (".claude.json", "claude_code"),
                (".claude", "claude_code"),
                (".codex", "codex"),
                (".mcp-auth", "mcp"),
            ] {
                if home.join(marker).exists() {
                    runtimes.insert(rt);
                }
            }
            if runtimes.is_empty() {
                continue;
            }
            let name = home
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "/".into());
            agents.push(Agent {
                name,
                home,
                runtimes,
            });
        }
    }
    agents
}

/// `p` as the audited host reads it: inside `tree` under --root, else `p` itself.
fn reroot(tree: Option<&Path>, p: &str) -> PathBuf {
    match tree {
        Some(r) => crate::reroot::under(r, Path::new(p)),
        None => PathBuf::from(p),
    }
}

/// The agent a service runs as: by its HOME (rerooted under `tree`), else by user name.
fn find_agent<'a>(
    agents: &'a [Agent],
    tree: Option<&Path>,
    home: Option<&str>,
    user: Option<&str>,
) -> Option<&'a Agent> {
    if let Some(h) = home {
        let h = reroot(tree, h);
        if let Some(a) = agents.iter().find(|a| a.home == h) {
            return Some(a);
        }
    }
    user.and_then(|u| agents.iter().find(|a| a.name == u))
}

/// launchd plists: the `EnvironmentVariables` of each, attached to the agent it runs as.
fn read_plists(plists: &[PathBuf], agents: &[Agent], g: &mut Gathered) {
    let tree = g.root.clone();
    for pattern in plists {
        for path in expand(pattern) {
            let Some(bytes) = g.read(&path, |p| read::bytes(p, read::SMALL)) else {
                continue;
            };
            let d = match crate::plistdoc::parse(&bytes) {
                Ok(plist::Value::Dictionary(d)) => d,
                Ok(_) => {
                    g.note(&path, "not a plist dictionary");
                    continue;
                }
                Err(e) => {
                    g.note(&path, e);
                    continue;
                }
            };
            let env: Vec<(String, String)> = d
                .get("EnvironmentVariables")
                .and_then(|v| v.as_dictionary())
                .map(|e| {
                    e.iter()
                        .filter_map(|(k, v)| v.as_string().map(|s| (k.clone(), s.to_string())))
                        .collect()
                })
                .unwrap_or_default();
            let home = env
                .iter()
                .find(|(k, _)| k == "HOME")
                .map(|(_, v)| v.as_str());
            let user = d.get("UserName").and_then(|v| v.as_string());
            match find_agent(agents, tree.as_deref(), home, user) {
                Some(a) => {
                    for (k, v) in &env {
                        push_env(
                            g,
                            a,
                            Src::ProcessEnv,
                            &format!("{} EnvironmentVariables.{k}", path.display()),
                            k,
                            v,
                        );
                    }
                }
                None => g.plists_unattached.push(path.display().to_string()),
            }
        }
    }
}

/// systemd units: `Environment=` lines and `EnvironmentFile=` files of each, attached to the
/// agent it runs as.
fn read_units(units: &[PathBuf], agents: &[Agent], g: &mut Gathered) {
    let tree = g.root.clone();
    for pattern in units {
        for path in expand(pattern) {
            let Some(text) = g.read(&path, |p| read::text_lossy(p, read::SMALL)) else {
                continue;
            };
            let unit = parse_unit(&text);
            let home = unit
                .env
                .iter()
                .find(|(k, _, _)| k == "HOME")
                .map(|(_, v, _)| v.clone());
            let user_home = unit.user.as_deref().map(|u| {
                if u == "root" {
                    "/root".to_string()
                } else {
                    String::new()
                }
            });
            let a = find_agent(
                agents,
                tree.as_deref(),
                home.as_deref()
                    .or(user_home.as_deref().filter(|h| !h.is_empty())),
                unit.user.as_deref(),
            );
            let Some(a) = a else {
                g.plists_unattached.push(path.display().to_string());
                continue;
            };
            for (k, v, line) in &unit.env {
                push_env(
                    g,
                    a,
                    Src::ProcessEnv,
                    &format!("{}:{line} Environment={k}", path.display()),
                    k,
                    v,
                );
            }
            read_unit_env_files(&unit, &path, a, tree.as_deref(), g);
        }
    }
}

/// The `EnvironmentFile=` files of one unit (a missing optional one is fine).
fn read_unit_env_files(unit: &Unit, path: &Path, a: &Agent, tree: Option<&Path>, g: &mut Gathered) {
    for (file, optional) in &unit.env_files {
        let p = reroot(tree, file);
        match read::text_lossy(&p, read::SMALL) {
            Ok(t) => {
                for (line, k, v) in parse_dotenv(&t) {
                    push_env(
                        g,
                        a,
                        Src::ProcessEnv,
                        &format!(
                            "{}:{line} {k} (EnvironmentFile= of {})",
                            p.display(),
                            path.display()
                        ),
                        &k,
                        &v,
                    );
                }
            }
            Err(read::ReadError::Missing { .. }) if *optional => {}
            Err(e) => g.note(&p, e),
        }
    }
}

/// The credentials stored in one agent's home, runtime by runtime.
fn read_home(a: &Agent, g: &mut Gathered) {
    read_claude_login(a, g);
    read_openclaw_profiles(a, g);
    read_openclaw_dotenv(a, g);
    read_openclaw_config(a, g);
    read_codex(a, g);
    read_hermes(a, g);
    read_mcp_tokens(a, g);
}

/// Claude Code login: the account (its uuid identifies the subscription) and the token file.
fn read_claude_login(a: &Agent, g: &mut Gathered) {
    let h = &a.home;
    if let Some(v) = read_json(&h.join(".claude.json"), g)
        && let Some(acct) = v.get("oauthAccount")
    {
        let id = ["accountUuid", "emailAddress"]
            .iter()
            .find_map(|k| acct.get(*k).and_then(Value::as_str));
        if let Some(id) = id {
            g.creds.push(cred(
                a,
                Src::ClaudeLogin,
                format!("{} oauthAccount", h.join(".claude.json").display()),
                None,
                "anthropic",
                id,
            ));
        }
    }
    if let Some(v) = read_json(&h.join(".claude/.credentials.json"), g)
        && let Some(o) = v.get("claudeAiOauth")
    {
        let place = format!(
            "{} claudeAiOauth.accessToken",
            h.join(".claude/.credentials.json").display()
        );
        if let Some(t) = o.get("accessToken").and_then(Value::as_str) {
            let mut c = cred(a, Src::ClaudeLogin, place, None, "anthropic", t);
            c.expires = o.get("expiresAt").and_then(crate::tokens::expiry_of_value);
            c.refreshable = has_text(o, "refreshToken");
            g.creds.push(c);
        }
    }
}

/// OpenClaw auth profiles (`agents/*/agent/auth-profiles.json`): keys and tokens, with expiry
/// and refresh.
fn read_openclaw_profiles(a: &Agent, g: &mut Gathered) {
    let oc = a.home.join(".openclaw");
    for path in expand(&oc.join("agents/*/agent/auth-profiles.json")) {
        let Some(v) = read_json(&path, g) else {
            continue;
        };
        let Some(profiles) = v.get("profiles").and_then(Value::as_object) else {
            continue;
        };
        for (id, p) in profiles {
            let provider = p
                .get("provider")
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| id.split(':').next().unwrap_or(id).to_string());
            for field in ["key", "token", "access"] {
                if let Some(s) = secret_at(p, field) {
                    let mut c = cred(
                        a,
                        Src::AuthProfile,
                        format!("{} profiles.{id}.{field}", path.display()),
                        None,
                        &provider,
                        s,
                    );
                    c.expires = p
                        .get("expires")
                        .and_then(crate::tokens::expiry_of_value)
                        .or(c.expires);
                    c.refreshable = has_text(p, "refresh");
                    g.creds.push(c);
                }
            }
        }
    }
}

/// OpenClaw's `.env`: each variable, or the file noted unreadable.
fn read_openclaw_dotenv(a: &Agent, g: &mut Gathered) {
    read_dotenv(&a.home.join(".openclaw/.env"), Src::OpenclawDotenv, a, g);
}

/// `openclaw.json`: its `env` (or `env.vars`) entries and literal `models.providers.*.apiKey`s.
fn read_openclaw_config(a: &Agent, g: &mut Gathered) {
    let oc = a.home.join(".openclaw");
    let ocj = oc.join("openclaw.json");
    if ocj.exists() {
        match read::text_lossy(&g.at(&ocj), read::LARGE) {
            Ok(t) => match super::json5doc::parse(&t) {
                Ok(v) => {
                    if let Some(env) = v.get("env").and_then(Value::as_object) {
                        let vars = env.get("vars").and_then(Value::as_object).unwrap_or(env);
                        for (k, val) in vars {
                            if let Some(s) = val.as_str() {
                                push_env(
                                    g,
                                    a,
                                    Src::OpenclawConfigEnv,
                                    &format!("{} env.{k}", ocj.display()),
                                    k,
                                    s,
                                );
                            }
                        }
                    }
                    if let Some(ps) = v.pointer("/models/providers").and_then(Value::as_object) {
                        for (p, body) in ps {
                            if let Some(s) = literal_secret_at(body, "apiKey") {
                                g.creds.push(cred(
                                    a,
                                    Src::OpenclawProviderKey,
                                    format!("{} models.providers.{p}.apiKey", ocj.display()),
                                    None,
                                    p,
                                    s,
                                ));
                            }
                        }
                    }
                    read_channel_tokens(a, g, &ocj, &v);
                }
                Err(e) => g.note(&ocj, format!("not JSON5: {e}")),
            },
            Err(e) => g.note(&ocj, e),
        }
    }
}

/// Keys of a channel's config (or of one of its `accounts`) that hold its secret.
const CHANNEL_SECRET_KEYS: &[&str] = &[
    "botToken",
    "appToken",
    "userToken",
    "token",
    "signingSecret",
    "webhookSecret",
    "accessToken",
    "password",
];

/// The channels' own tokens in `openclaw.json` (`channels.<name>.botToken`, and per account under
/// `channels.<name>.accounts.<id>`): one bot token in two agents splits its events between them
/// (lesson 1). `${VAR}` references are resolved elsewhere (the environment), not here.
fn read_channel_tokens(a: &Agent, g: &mut Gathered, ocj: &Path, v: &Value) {
    let Some(chs) = v.get("channels").and_then(Value::as_object) else {
        return;
    };
    for (name, body) in chs {
        let mut places: Vec<(String, &Value)> = vec![(format!("channels.{name}"), body)];
        if let Some(accts) = body.get("accounts").and_then(Value::as_object) {
            for (id, acct) in accts {
                places.push((format!("channels.{name}.accounts.{id}"), acct));
            }
        }
        for (at, obj) in places {
            for key in CHANNEL_SECRET_KEYS {
                if let Some(s) = literal_secret_at(obj, key) {
                    g.creds.push(cred(
                        a,
                        Src::OpenclawChannelToken,
                        format!("{} {at}.{key}", ocj.display()),
                        None,
                        name,
                        s,
                    ));
                }
            }
        }
    }
}

/// Codex `auth.json`: access and refresh tokens, and an `OPENAI_API_KEY`.
fn read_codex(a: &Agent, g: &mut Gathered) {
    let h = &a.home;
    let codex = h.join(".codex/auth.json");
    if let Some(v) = read_json(&codex, g) {
        if let Some(tokens) = v.get("tokens") {
            let place = format!("{} tokens.", codex.display());
            push_token_pair(a, g, Src::CodexTokens, &place, tokens, "openai");
        }
        if let Some(k) = secret_at(&v, "OPENAI_API_KEY") {
            g.creds.push(cred(
                a,
                Src::CodexKey,
                format!("{} OPENAI_API_KEY", codex.display()),
                None,
                "openai",
                k,
            ));
        }
    }
}

/// Hermes: its `.env` and the provider tokens and keys in `auth.json`.
fn read_hermes(a: &Agent, g: &mut Gathered) {
    let h = &a.home;
    let hermes = h.join(".hermes");
    read_dotenv(&hermes.join(".env"), Src::HermesDotenv, a, g);
    let hauth = hermes.join("auth.json");
    if let Some(v) = read_json(&hauth, g)
        && let Some(ps) = v.get("providers").and_then(Value::as_object)
    {
        for (p, body) in ps {
            let tokens = body.get("tokens").unwrap_or(body);
            for field in ["access_token", "api_key", "agent_key"] {
                if let Some(t) = secret_at(tokens, field) {
                    let mut c = cred(
                        a,
                        Src::HermesAuth,
                        format!("{} providers.{p}.{field}", hauth.display()),
                        None,
                        provider_of_hermes(p),
                        t,
                    );
                    c.refreshable = has_text(tokens, "refresh_token");
                    if let Some(e) = ["expires_at", "expires"]
                        .iter()
                        .find_map(|k| tokens.get(*k).or_else(|| body.get(*k)))
                        .and_then(crate::tokens::expiry_of_value)
                    {
                        c.expires = Some(e);
                    }
                    g.creds.push(c);
                }
            }
        }
    }
}

/// MCP OAuth tokens (mcp-remote): `~/.mcp-auth/<version>/<hash>_tokens.json`.
fn read_mcp_tokens(a: &Agent, g: &mut Gathered) {
    let h = &a.home;
    let mut mcp = Vec::new();
    walk(&h.join(".mcp-auth"), MCP_DEPTH, &mut mcp);
    for path in mcp {
        if !path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().ends_with("_tokens.json"))
        {
            continue;
        }
        let Some(v) = read_json(&path, g) else {
            continue;
        };
        let place = format!("{} ", path.display());
        push_token_pair(a, g, Src::McpTokens, &place, &v, "mcp");
    }
}

/// The OAuth token pair in `tokens` (`access_token`, `refresh_token`), named `<place><key>`: the
/// access token (refreshable when a refresh token is there) and the refresh token, single-use:
/// a copy shared between agents kills both (L1).
fn push_token_pair(
    a: &Agent,
    g: &mut Gathered,
    src: Src,
    place: &str,
    tokens: &Value,
    provider: &str,
) {
    let token = |key: &str| tokens.get(key).and_then(Value::as_str);
    if let Some(t) = token("access_token") {
        let mut c = cred(a, src, format!("{place}access_token"), None, provider, t);
        c.refreshable = has_text(tokens, "refresh_token");
        g.creds.push(c);
    }
    if let Some(t) = secret_at(tokens, "refresh_token") {
        let mut c = cred(a, src, format!("{place}refresh_token"), None, provider, t);
        c.refreshable = true;
        c.expires = None;
        g.creds.push(c);
    }
}

/// The string at `key` of `v` when it is long enough to be a secret.
fn secret_at<'v>(v: &'v Value, key: &str) -> Option<&'v str> {
    v.get(key)
        .and_then(Value::as_str)
        .filter(|s| s.len() >= MIN_SECRET_CHARS)
}

/// `secret_at`, unless the value is a `${VAR}` reference rather than the secret itself.
fn literal_secret_at<'v>(v: &'v Value, key: &str) -> Option<&'v str> {
    secret_at(v, key).filter(|s| !s.starts_with("${"))
}

/// Each variable of a dotenv file (`<path>:<line> <NAME>`) as a credential of `src`; an
/// unreadable file is noted, a missing one is not.
fn read_dotenv(path: &Path, src: Src, a: &Agent, g: &mut Gathered) {
    match read::text_lossy(&g.at(path), read::SMALL) {
        Ok(t) => {
            for (line, k, v) in parse_dotenv(&t) {
                let place = format!("{}:{line} {k}", path.display());
                push_env(g, a, src, &place, &k, &v);
            }
        }
        Err(read::ReadError::Missing { .. }) => {}
        Err(e) => g.note(path, e),
    }
}

/// Whether `v` holds a non-empty string at `key` (a refresh token is there).
fn has_text(v: &Value, key: &str) -> bool {
    v.get(key)
        .and_then(Value::as_str)
        .is_some_and(|s| !s.is_empty())
}

fn provider_of_hermes(p: &str) -> &str {
    match p {
        "openai-codex" => "openai",
        "anthropic" | "claude" => "anthropic",
        other => other,
    }
}

/// A JSON (or JSON5) file; `None` when absent (silently) or unreadable (noted).
fn read_json(path: &Path, g: &mut Gathered) -> Option<Value> {
    match read::text_lossy(&g.at(path), read::SMALL) {
        Ok(t) => match super::json5doc::parse(&t) {
            Ok(v) => Some(v),
            Err(e) => {
                g.note(path, format!("not JSON: {e}"));
                None
            }
        },
        Err(read::ReadError::Missing { .. }) => None,
        Err(e) => {
            g.note(path, e);
            None
        }
    }
}

fn cred(
    a: &Agent,
    src: Src,
    place: String,
    var: Option<String>,
    provider: &str,
    value: &str,
) -> Cred {
    let value = value.trim();
    crate::redact::register(value);
    let expires = jwt_exp(value);
    Cred {
        agent: a.name.clone(),
        src,
        place,
        var,
        provider: provider.to_string(),
        fp: crate::redact::fingerprint(value),
        subscription_oauth: value.starts_with(OAUTH_PREFIX),
        expires,
        refreshable: false,
    }
}

fn jwt_exp(value: &str) -> Option<DateTime<Utc>> {
    crate::tokens::jwt_claims(value)
        .and_then(|c| c.get("exp").and_then(crate::tokens::expiry_of_value))
}

/// Which provider an environment variable authenticates, when it holds a credential at all.
fn env_provider(key: &str) -> Option<String> {
    let k = key.to_ascii_uppercase();
    match k.as_str() {
        "ANTHROPIC_API_KEY" | "ANTHROPIC_AUTH_TOKEN" | "CLAUDE_CODE_OAUTH_TOKEN" => {
            return Some("anthropic".into());
        }
        "OPENAI_API_KEY" | "CODEX_API_KEY" => return Some("openai".into()),
        _ => {}
    }
    for suffix in [
        "_API_KEY",
        "_ACCESS_TOKEN",
        "_AUTH_TOKEN",
        "_BOT_TOKEN",
        "_APP_TOKEN",
        "_TOKEN",
        "_SECRET",
        "_KEY",
    ] {
        if let Some(p) = k.strip_suffix(suffix)
            && !p.is_empty()
        {
            return Some(p.to_ascii_lowercase());
        }
    }
    None
}

fn push_env(g: &mut Gathered, a: &Agent, src: Src, place: &str, key: &str, value: &str) {
    let value = value.trim();
    if value.len() < MIN_SECRET_CHARS || value.starts_with("${") {
        return;
    }
    if let Some(provider) = env_provider(key) {
        g.creds.push(cred(
            a,
            src,
            place.to_string(),
            Some(key.to_ascii_uppercase()),
            &provider,
            value,
        ));
    }
}

// ---- small parsers -------------------------------------------------------------------------------

struct Unit {
    user: Option<String>,
    /// (key, value, line)
    env: Vec<(String, String, usize)>,
    /// (path, optional `-` prefix)
    env_files: Vec<(String, bool)>,
}

/// The `[Service]` keys of a unit file that shape its process environment.
fn parse_unit(text: &str) -> Unit {
    let mut u = Unit {
        user: None,
        env: Vec::new(),
        env_files: Vec::new(),
    };
    let mut in_service = false;
    for (i, line) in text.lines().enumerate() {
        let l = line.trim();
        if l.starts_with('[') {
            in_service = l == "[Service]";
            continue;
        }
        if !in_service || l.starts_with('#') || l.starts_with(';') {
            continue;
        }
        let Some((k, v)) = l.split_once('=') else {
            continue;
        };
        match k.trim() {
            "User" => u.user = Some(v.trim().to_string()),
            "Environment" => {
                for word in unit_words(v) {
                    if let Some((ek, ev)) = word.split_once('=') {
                        u.env.push((ek.to_string(), ev.to_string(), i + 1));
                    }
                }
            }
            "EnvironmentFile" => {
                let v = v.trim();
                let (path, optional) = match v.strip_prefix('-') {
                    Some(p) => (p, true),
                    None => (v, false),
                };
                u.env_files.push((path.to_string(), optional));
            }
            _ => {}
        }
    }
    u
}

/// Splits `"A=b c" D=e` into words, honouring double and single quotes.
fn unit_words(v: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut any = false;
    for c in v.trim().chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (None, '"' | '\'') => {
                quote = Some(c);
                any = true;
            }
            (None, c) if c.is_whitespace() => {
                if any || !cur.is_empty() {
                    words.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            (_, c) => cur.push(c),
        }
    }
    if any || !cur.is_empty() {
        words.push(cur);
    }
    words
}

/// Expands `*` in any segment of an absolute or relative path, bounded by `MAX_MATCHES`; only
/// paths that exist.
pub(super) fn expand(pattern: &Path) -> Vec<PathBuf> {
    let mut out = super::pathglob::expand(pattern, MAX_MATCHES, MAX_MATCHES);
    out.retain(|p| p.exists());
    out
}

/// Regular files below `dir`, at most `depth` levels, bounded by `MAX_MATCHES`; links not followed.
fn walk(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.take(MAX_MATCHES).flatten() {
        if out.len() >= MAX_MATCHES {
            return;
        }
        let Ok(ft) = e.file_type() else { continue };
        if ft.is_dir() && depth > 0 {
            walk(&e.path(), depth - 1, out);
        } else if ft.is_file() {
            out.push(e.path());
        }
    }
}

// ---- judging -------------------------------------------------------------------------------------

/// The precedence chains of a runtime for one provider: ranks, highest first; sources in one rank
/// are alternatives (profiles rotated by the runtime), not shadows.
fn chain(runtime: &str, provider: &str) -> Vec<Vec<(Src, Option<&'static str>)>> {
    match runtime {
        "openclaw" => {
            let mut c = Vec::new();
            if provider == "anthropic" {
                c.push(vec![(Src::ClaudeLogin, None)]);
            }
            c.push(vec![(Src::AuthProfile, None)]);
            c.push(vec![(Src::ProcessEnv, None)]);
            c.push(vec![(Src::OpenclawDotenv, None)]);
            c.push(vec![(Src::OpenclawConfigEnv, None)]);
            c.push(vec![(Src::OpenclawProviderKey, None)]);
            c
        }
        "hermes" => vec![
            vec![(Src::HermesAuth, None)],
            vec![(Src::HermesDotenv, None)],
            vec![(Src::ProcessEnv, None)],
        ],
        "claude_code" if provider == "anthropic" => vec![
            vec![(Src::ProcessEnv, Some("ANTHROPIC_AUTH_TOKEN"))],
            vec![(Src::ProcessEnv, Some("ANTHROPIC_API_KEY"))],
            vec![(Src::ProcessEnv, Some("CLAUDE_CODE_OAUTH_TOKEN"))],
            vec![(Src::ClaudeLogin, None)],
        ],
        "codex" if provider == "openai" => vec![
            vec![(Src::CodexTokens, None)],
            vec![(Src::CodexKey, None)],
            vec![(Src::ProcessEnv, Some("OPENAI_API_KEY"))],
        ],
        _ => Vec::new(),
    }
}

fn in_rank(c: &Cred, rank: &[(Src, Option<&str>)]) -> bool {
    rank.iter()
        .any(|(s, var)| c.src == *s && var.is_none_or(|v| c.var.as_deref() == Some(v)))
}

fn short(d: TimeDelta) -> String {
    let s = d.num_seconds().abs();
    if s >= 2 * 86_400 {
        format!("{}d", s / 86_400)
    } else if s >= 3600 {
        format!("{}h", s / 3600)
    } else {
        format!("{}m", s / 60)
    }
}

impl Credentials {
    fn judge(&self, g: Gathered, now: DateTime<Utc>) -> Observation {
        if g.agents.is_empty() {
            let mut o = Observation::unknown("no agent homes found (no .openclaw, .hermes, .claude, .codex or .mcp-auth under the homes)")
                .evidence("homes", self.homes.join(", "));
            for (p, why) in &g.unreadable {
                o.push_evidence("unreadable", format!("{p}: {why}"));
            }
            return o;
        }
        let mut f = Findings {
            health: Health::Ok,
            ev: Vec::new(),
            counts: BTreeMap::new(),
        };
        shared_between_agents(&g, &mut f);
        self.subscription_on_headless(&g, &mut f);
        effective_and_shadowed(&g, &mut f);
        self.expiring(&g, now, &mut f);
        for (p, why) in &g.unreadable {
            f.flag(
                Health::Unknown,
                "unreadable",
                "unreadable".into(),
                format!("{p}: {why}"),
            );
        }
        for p in &g.plists_unattached {
            f.ev.push(("no agent for".into(), p.clone()));
        }
        let Findings {
            health,
            mut ev,
            counts,
        } = f;
        let agents = g.agents.len();
        let n = g.creds.len();
        let summary = if counts.is_empty() {
            format!(
                "{n} credentials across {agents} agents: none shared, none shadowed, none expiring"
            )
        } else {
            let parts: Vec<String> = counts.iter().map(|(k, v)| format!("{v} {k}")).collect();
            format!(
                "{n} credentials across {agents} agents: {}",
                parts.join(", ")
            )
        };
        // findings first, then the effective credentials
        ev.sort_by_key(|(k, _)| !(k.starts_with('L') || k == "unreadable"));
        let mut o = Observation::new(health, summary).expected(format!(
            "one credential per agent, no shadowed sources, API keys on headless agents, nothing expiring within {}",
            humantime::format_duration(self.warn_before)
        ));
        for (k, v) in ev {
            o.push_evidence(k, v);
        }
        o.metric("credentials", n as f64)
            .metric("agents", agents as f64)
    }

    /// L1: subscription OAuth on a headless agent (one not listed as interactive).
    fn subscription_on_headless(&self, g: &Gathered, f: &mut Findings) {
        for c in &g.creds {
            let interactive = self
                .interactive
                .iter()
                .flat_map(|s| s.split(','))
                .any(|s| s.trim() == c.agent);
            if c.subscription_oauth && !interactive {
                f.flag(
                    Health::Degraded,
                    "subscription OAuth on headless (L1)",
                    format!("L1 subscription OAuth {}", c.agent),
                    format!("{} {} is a sk-ant-oat01 subscription token on a headless agent; use an API key (sk-ant-api03)", c.place, c.fp),
                );
            }
        }
    }

    /// L10: expiry of credentials with no refresh path (expired, or within `warn_before`).
    fn expiring(&self, g: &Gathered, now: DateTime<Utc>, f: &mut Findings) {
        let warn = TimeDelta::from_std(self.warn_before).unwrap_or(TimeDelta::MAX);
        for c in &g.creds {
            let Some(exp) = c.expires else { continue };
            let left = exp - now;
            let at = exp.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
            if c.refreshable {
                continue;
            }
            if left <= TimeDelta::zero() {
                f.flag(
                    Health::Critical,
                    "expired (L10)",
                    format!("L10 expired {}", c.agent),
                    format!("{} {} expired {} ago ({at})", c.place, c.fp, short(left)),
                );
            } else if left < warn {
                f.flag(
                    Health::Degraded,
                    "expiring (L10)",
                    format!("L10 expiring {}", c.agent),
                    format!("{} {} expires in {} ({at})", c.place, c.fp, short(left)),
                );
            }
        }
    }
}

/// What the judge has found so far: the worst health, a count per kind of finding, and the
/// evidence (findings and effective credentials).
struct Findings {
    health: Health,
    ev: Vec<(String, String)>,
    counts: BTreeMap<&'static str, usize>,
}

impl Findings {
    /// One finding: the health at least `h`, one more of `kind`, and its evidence.
    fn flag(&mut self, h: Health, kind: &'static str, key: String, text: String) {
        self.health = self.health.worst(h);
        *self.counts.entry(kind).or_default() += 1;
        self.ev.push((key, text));
    }
}

/// L1: one fingerprint in two or more agents (refresh tokens included: single-use).
fn shared_between_agents(g: &Gathered, f: &mut Findings) {
    let mut by_fp: BTreeMap<&str, Vec<&Cred>> = BTreeMap::new();
    for c in &g.creds {
        by_fp.entry(c.fp.as_str()).or_default().push(c);
    }
    for (fp, cs) in &by_fp {
        let agents: BTreeSet<&str> = cs.iter().map(|c| c.agent.as_str()).collect();
        if agents.len() >= 2 {
            let places: Vec<String> = cs
                .iter()
                .map(|c| format!("{}: {}", c.agent, c.place))
                .collect();
            f.flag(
                Health::Critical,
                "shared (L1)",
                format!("L1 shared {fp}"),
                format!(
                    "used by {} agents ({}): {}",
                    agents.len(),
                    agents.iter().copied().collect::<Vec<_>>().join(", "),
                    places.join("; ")
                ),
            );
        }
    }
}

/// L2: the effective credential per agent, runtime and provider (as evidence), and the
/// sources it shadows.
fn effective_and_shadowed(g: &Gathered, f: &mut Findings) {
    for (agent, runtimes) in &g.agents {
        let mine: Vec<&Cred> = g.creds.iter().filter(|c| &c.agent == agent).collect();
        let providers: BTreeSet<&str> = mine.iter().map(|c| c.provider.as_str()).collect();
        for rt in runtimes {
            for p in &providers {
                let ranks = chain(rt, p);
                let present: Vec<(usize, &Cred)> = mine
                    .iter()
                    .filter(|c| c.provider == *p && !c.place.ends_with("refresh_token"))
                    .filter_map(|c| ranks.iter().position(|r| in_rank(c, r)).map(|i| (i, *c)))
                    .collect();
                let Some(top) = present.iter().map(|(i, _)| *i).min() else {
                    continue;
                };
                let eff: Vec<&Cred> = present
                    .iter()
                    .filter(|(i, _)| *i == top)
                    .map(|(_, c)| *c)
                    .collect();
                let eff_fps: BTreeSet<&str> = eff.iter().map(|c| c.fp.as_str()).collect();
                let e = eff[0];
                f.ev.push((
                    format!("effective {agent} {rt}/{p}"),
                    format!("{} {}", e.place, e.fp),
                ));
                for (i, c) in &present {
                    if *i > top && !eff_fps.contains(c.fp.as_str()) {
                        f.flag(
                            Health::Degraded,
                            "shadowed (L2)",
                            format!("L2 shadowed {agent} {rt}/{p}"),
                            format!(
                                "effective {} {}, shadows {} {}",
                                e.place, e.fp, c.place, c.fp
                            ),
                        );
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::testkit::{self, assert_health, look_under, text};
    use base64::Engine as _;

    fn jwt(exp: i64) -> String {
        let e = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        format!(
            "{}.{}.{}",
            e.encode(r#"{"alg":"none"}"#),
            e.encode(format!(r#"{{"exp":{exp},"sub":"fixture"}}"#)),
            e.encode("sig-not-checked")
        )
    }

    fn probe(extra: &str) -> Credentials {
        testkit::parse(&format!(
            "homes = [\"/home/*\", \"/Users/*\", \"/root\"]\nplists = [\"/Library/LaunchDaemons/ai.openclaw.*.plist\"]\nunits = [\"/etc/systemd/system/openclaw-*.service\"]\nwarn_before = \"3d\"\n{extra}"
        ))
    }

    /// A temporary tree holding the clean fixture.
    fn clean_tree() -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        clean(d.path());
        d
    }

    /// Looks at `d` with the default probe and asserts the health and the phrases; the text.
    async fn says(d: &tempfile::TempDir, want: Health, needles: &[&str]) -> String {
        let o = look_under(&probe(""), d.path()).await;
        testkit::assert_says(&o, want, needles)
    }

    /// A clean two-agent host: each agent its own key, nothing shadowed, nothing expiring.
    fn clean(root: &Path) {
        testkit::put(
            root,
            "root/.openclaw/agents/main/agent/auth-profiles.json",
            r#"{"version":1,"profiles":{"anthropic:default":{"type":"api_key","provider":"anthropic","key":"sk-ant-api03-hub-fixture-not-a-key"}}}"#,
        );
        testkit::put(
            root,
            "Users/cs/.openclaw/agents/main/agent/auth-profiles.json",
            r#"{"version":1,"profiles":{"anthropic:default":{"type":"api_key","provider":"anthropic","key":"sk-ant-api03-cs-fixture-not-a-key"}}}"#,
        );
        testkit::put(
            root,
            "Users/cs/.openclaw/openclaw.json",
            "// JSON5\n{ gateway: { port: 18791, }, }\n",
        );
        testkit::put(
            root,
            "Library/LaunchDaemons/ai.openclaw.cs.plist",
            r#"<?xml version="1.0" encoding="UTF-8"?>
<plist version="1.0"><dict><key>UserName</key><string>cs</string><key>EnvironmentVariables</key><dict><key>HOME</key><string>/Users/cs</string><key>PATH</key><string>/usr/bin:/bin</string></dict></dict></plist>"#,
        );
        testkit::put(
            root,
            "etc/systemd/system/openclaw-hub.service",
            "[Service]\nUser=root\nEnvironmentFile=-/etc/openclaw/hub.env\n",
        );
    }

    #[tokio::test]
    async fn clean_host_is_ok() {
        let d = clean_tree();
        let o = look_under(&probe(""), d.path()).await;
        assert_health(&o, Health::Ok);
        assert!(
            o.summary.contains("2 credentials across 2 agents"),
            "{}",
            text(&o)
        );
        assert!(
            text(&o).contains("effective cs openclaw/anthropic"),
            "{}",
            text(&o)
        );
    }

    /// Codex's and mcp-remote's OAuth pairs: a refresh token copied between agents is shared
    /// (single-use: both die), named by file and key, never shown.
    #[tokio::test]
    async fn copied_oauth_refresh_tokens_are_shared() {
        let d = clean_tree();
        let codex = r#"{"tokens":{"access_token":"codex-access-fixture-1","refresh_token":"codex-refresh-fixture-shared"}}"#;
        testkit::put(d.path(), "root/.codex/auth.json", codex);
        testkit::put(d.path(), "Users/cs/.codex/auth.json", codex);
        let mcp = r#"{"access_token":"mcp-access-fixture-9","refresh_token":"mcp-refresh-fixture-shared"}"#;
        testkit::put(d.path(), "root/.mcp-auth/v1/abc_tokens.json", mcp);
        testkit::put(d.path(), "Users/cs/.mcp-auth/v1/abc_tokens.json", mcp);
        let t = says(
            &d,
            Health::Critical,
            &[
                "root/.codex/auth.json tokens.refresh_token",
                "Users/cs/.codex/auth.json tokens.refresh_token",
                "root/.mcp-auth/v1/abc_tokens.json refresh_token",
            ],
        )
        .await;
        testkit::assert_lacks(
            &t,
            &["codex-refresh-fixture", "mcp-refresh-fixture", "fixture-1"],
        );
    }

    #[tokio::test]
    async fn shared_token_is_critical_and_names_agents_files_and_keys() {
        let d = clean_tree();
        // the hub's key copied into finance's dotenv and the hub's unit EnvironmentFile
        testkit::put(
            d.path(),
            "home/finance/.openclaw/.env",
            "export ANTHROPIC_API_KEY=\"sk-ant-api03-hub-fixture-not-a-key\"\n",
        );
        let t = says(
            &d,
            Health::Critical,
            &[
                "L1 shared sha256:",
                "used by 2 agents (finance, root)",
                "home/finance/.openclaw/.env:1 ANTHROPIC_API_KEY",
            ],
        )
        .await;
        assert!(!t.contains("sk-ant-api03-hub"), "never the value: {t}");
    }

    /// One Slack bot token in two agents' openclaw.json (one per account): shared, never shown;
    /// distinct tokens and `${VAR}` references are fine.
    #[tokio::test]
    async fn shared_channel_token_in_openclaw_json() {
        let d = clean_tree();
        testkit::put(
            d.path(),
            "Users/cs/.openclaw/openclaw.json",
            "{ gateway: { port: 18791 }, channels: { slack: { botToken: \"xoxb-111-222-fixtureSharedBot\", appToken: \"${SLACK_APP_TOKEN}\" } } }\n",
        );
        testkit::put(
            d.path(),
            "root/.openclaw/openclaw.json",
            "{ channels: { defaults: { groupPolicy: \"allowlist\" }, slack: { accounts: { ops: { botToken: \"xoxb-111-222-fixtureSharedBot\" } } }, telegram: { botToken: \"7301:fixture-telegram-own\" } } }\n",
        );
        let t = says(
            &d,
            Health::Critical,
            &[
                "used by 2 agents (cs, root)",
                "Users/cs/.openclaw/openclaw.json channels.slack.botToken",
                "root/.openclaw/openclaw.json channels.slack.accounts.ops.botToken",
            ],
        )
        .await;
        assert!(!t.contains("fixtureSharedBot"), "never the value: {t}");
        assert!(
            !t.contains("L2 shadowed"),
            "a channel token shadows no model key: {t}"
        );
        // each agent its own bot token: nothing shared
        testkit::put(
            d.path(),
            "root/.openclaw/openclaw.json",
            "{ channels: { slack: { botToken: \"xoxb-111-333-fixtureRootBot\" } } }\n",
        );
        assert_health(&look_under(&probe(""), d.path()).await, Health::Ok);
    }

    #[tokio::test]
    async fn shadowed_env_key_is_degraded_with_both_fingerprints() {
        let d = clean_tree();
        // the cached Claude login outranks the profile and the plist's key (11b L2)
        testkit::put(
            d.path(),
            "Users/cs/.claude.json",
            r#"{"oauthAccount":{"accountUuid":"0000-cs-account","emailAddress":"cs@example.invalid"}}"#,
        );
        testkit::put(
            d.path(),
            "Library/LaunchDaemons/ai.openclaw.cs.plist",
            r#"<?xml version="1.0" encoding="UTF-8"?>
<plist version="1.0"><dict><key>UserName</key><string>cs</string><key>EnvironmentVariables</key><dict><key>HOME</key><string>/Users/cs</string><key>ANTHROPIC_API_KEY</key><string>sk-ant-api03-cs-plist-fixture-key</string></dict></dict></plist>"#,
        );
        let t = says(
            &d,
            Health::Degraded,
            &[
                "L2 shadowed cs openclaw/anthropic",
                ".claude.json oauthAccount sha256:",
            ],
        )
        .await;
        assert!(
            t.contains("shadows ")
                && t.contains(
                    "ai.openclaw.cs.plist EnvironmentVariables.ANTHROPIC_API_KEY sha256:"
                ),
            "{t}"
        );
    }

    #[tokio::test]
    async fn subscription_oauth_on_headless_and_expiry() {
        let d = clean_tree();
        let soon = Utc::now().timestamp() + 86_400;
        let gone = Utc::now().timestamp() - 3600;
        testkit::put(
            d.path(),
            "home/retail/.openclaw/agents/main/agent/auth-profiles.json",
            &format!(
                r#"{{"profiles":{{"anthropic:sub":{{"type":"token","provider":"anthropic","token":"sk-ant-oat01-retail-fixture-token","expires":{}}}}}}}"#,
                soon * 1000
            ),
        );
        testkit::put(
            d.path(),
            "home/mkt/.hermes/.env",
            &format!("GATEWAY_SESSION_TOKEN={}\n", jwt(gone)),
        );
        // the founder is interactive: a subscription token there is fine
        testkit::put(
            d.path(),
            "Users/founder/.claude/.credentials.json",
            r#"{"claudeAiOauth":{"accessToken":"sk-ant-oat01-founder-fixture","refreshToken":"r-founder-fixture-refresh","expiresAt":1}}"#,
        );
        let o = look_under(&probe("interactive = [\"founder\"]"), d.path()).await;
        let t = testkit::assert_says(&o, Health::Critical, &["L1 subscription OAuth retail"]);
        testkit::assert_lacks(&t, &["L1 subscription OAuth founder"]);
        assert!(
            t.contains("L10 expiring retail") && t.contains("expires in 23h"),
            "{t}"
        );
        assert!(
            t.contains("L10 expired mkt") && t.contains("GATEWAY_SESSION_TOKEN"),
            "{t}"
        );
        // a refreshable access token past its expiry is the runtime's business
        testkit::assert_lacks(&t, &["L10 expired founder"]);
    }

    #[tokio::test]
    async fn nothing_to_look_at_or_unreadable_is_unknown() {
        let d = tempfile::tempdir().unwrap();
        let o = look_under(&probe(""), d.path()).await;
        assert_health(&o, Health::Unknown);
        clean(d.path());
        testkit::put(d.path(), "root/.codex/auth.json", "{ not json");
        let o = look_under(&probe(""), d.path()).await;
        assert_health(&o, Health::Unknown);
        assert!(
            text(&o).contains("root/.codex/auth.json: not JSON"),
            "{}",
            text(&o)
        );
    }

    #[test]
    fn dotenv_lines() {
        let t = "# c\nexport A_KEY=\"x y\" \nB_TOKEN='q'\nC_SECRET=abc # note\nbad line\n=x\n";
        let v = parse_dotenv(t);
        assert_eq!(
            v,
            vec![
                (2, "A_KEY".into(), "x y".into()),
                (3, "B_TOKEN".into(), "q".into()),
                (4, "C_SECRET".into(), "abc".into())
            ]
        );
    }

    #[test]
    fn unit_environment() {
        let u = parse_unit(
            "[Unit]\nUser=x\n[Service]\nUser=cs\nEnvironment=\"HOME=/home/cs\" A=b\nEnvironmentFile=-/etc/x.env\n",
        );
        assert_eq!(u.user.as_deref(), Some("cs"));
        assert_eq!(u.env[0].0, "HOME");
        assert_eq!(u.env[1], ("A".into(), "b".into(), 5));
        assert_eq!(u.env_files, vec![("/etc/x.env".into(), true)]);
    }

    #[test]
    fn providers_of_variables() {
        assert_eq!(
            env_provider("ANTHROPIC_API_KEY").as_deref(),
            Some("anthropic")
        );
        assert_eq!(
            env_provider("OPENROUTER_API_KEY").as_deref(),
            Some("openrouter")
        );
        assert_eq!(env_provider("SLACK_BOT_TOKEN").as_deref(), Some("slack"));
        assert_eq!(env_provider("HOME"), None);
        assert_eq!(env_provider("PATH"), None);
    }
}
