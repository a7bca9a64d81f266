//! `config_file`: reads one JSON, JSON5, TOML or YAML config (an agent's `openclaw.json`, Hermes'
//! `config.yaml`) and checks what breaks a gateway on its next restart: syntax errors with line and
//! column (lesson 4), forbidden keys left behind by an upgrade such as a top-level `heartbeat`
//! (lesson 28), missing required keys, a JSON Schema, the runtime's own read-only validator, and
//! key paths that disappeared since the last good observation (lesson 16: merge, do not clobber),
//! and policy assertions on values (`expect`, shared with `http`): enabled channels outside an
//! allowlist (5), a retired plugin back (11), plugin entry keys outside the schema (16), modes that
//! prompt on a headless agent (18), a gateway bound off loopback (20), free-tier models (24).
//! It reports key paths, value types and a fingerprint of the file, never values (they may be
//! secrets), and it never edits the file or runs a `--fix`.

use super::expect::{self, JsonAssertion};
use super::json5doc::{self, Json5Error, MAX_NESTING, line_col};
use super::pathglob;
use super::schema;
use super::{Health, Invalid, Observation, Probe, ProbeCx};
use crate::exec::{self, ExecSpec};
use serde::Deserialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// The config file (`~/` and paths relative to the config file are resolved). Required.
    /// A `*` in any segment judges every file it matches (OpenClaw's per-agent session stores,
    /// `~/.openclaw/agents/*/sessions/sessions.json`), each finding naming its file; with a
    /// pattern, `track_keys` is off and `schema`/`validate_command` are not allowed, and no
    /// match is "not present" with `optional`, else critical.
    path: PathBuf,
    /// "auto" (by extension: .json, .json5, .toml, .yaml/.yml), "json", "json5" (comments,
    /// trailing commas, unquoted keys: OpenClaw's `openclaw.json`), "toml", "yaml", "dotenv"
    /// (`KEY=value` lines as one object of strings) or "hermes_env" (Hermes' `~/.hermes/.env` as
    /// its gateway reads it: the dotenv keys plus `platforms.<name>.enabled` for every platform
    /// the variables turn on, and `platforms.api_server.host` from `API_SERVER_HOST`). Values of
    /// the dotenv formats are never quoted in evidence except `*_HOST`, `*_PORT`, `*_ENABLED`.
    /// Default "auto".
    #[serde(default)]
    format: Format,
    /// A JSON Schema the document must match: a file (draft detected from `$schema`, read at
    /// each run) or a schema shipped in the binary, `builtin:NAME` (`builtin:openclaw-2026.9.6`:
    /// OpenClaw's own `openclaw.json` schema at that version, generated from its npm package).
    /// Each violation is reported at its key path, at most 100 counted. Default none.
    schema: Option<String>,
    /// Judge `schema` only when `validate_command` gave no verdict here: its program is not on
    /// the validator's PATH (`validate_if_present`), the probe audits a copied tree (`--root`),
    /// or it could not run. The runtime's own validator knows the version installed; the schema
    /// knows the version it was generated from. Default false (the schema is always judged).
    #[serde(default)]
    schema_if_no_validator: bool,
    /// Key paths that must exist, like `gateway.port` or `agents.list[0].id`; `*` matches any key
    /// or element (the path must match at least once). Default none.
    #[serde(default)]
    require: Vec<String>,
    /// Key paths that must not exist, like `heartbeat` (valid only under `agents.defaults` since
    /// OpenClaw 2026.2) or `plugins.entries.*.source`. Default none.
    #[serde(default)]
    forbid: Vec<String>,
    /// Assertions on values, in the vocabulary of `http`'s `expect_json` (JSONPath; `exists`,
    /// `equals`, `type`, `min_len`/`max_len`, `matches`, `lt`/`gt`, `in`/`not_in`,
    /// `matches_any`/`not_matches_any`, `allowed_keys`/`forbidden_keys` with `enabled_only`,
    /// `optional`); lists may be comma-separated strings taken from vars. A failed assertion is
    /// critical. Default none.
    #[serde(default)]
    expect: Vec<JsonAssertion>,
    /// The runtime's own read-only validator, as argv (never a shell, never `--fix`), e.g.
    /// `["openclaw", "config", "validate", "--json"]`; non-zero exit is critical. Default none.
    validate_command: Option<Vec<String>>,
    /// The validator's whole environment (PATH resolves argv[0]; default PATH `/usr/bin:/bin`).
    /// Default empty.
    #[serde(default)]
    validate_env: BTreeMap<String, String>,
    /// Run `validate_command` only when its program is on the validator's PATH: a host (or a
    /// node path) without the runtime's CLI gets the static checks and a note, not `unknown`.
    /// Default false (a missing validator is unknown).
    #[serde(default)]
    validate_if_present: bool,
    /// Deadline for `validate_command`, e.g. "20s". Default: the probe's timeout.
    #[serde(default, deserialize_with = "crate::duration::de_opt")]
    validate_timeout: Option<Duration>,
    /// Remember the leaf key paths of each good observation and report keys that disappeared
    /// since (degraded until they come back). Array indexes are collapsed to `[]`. Default true
    /// for one file, false (and not allowed) for a `path` with `*`.
    track_keys: Option<bool>,
    /// After this long, a removal nobody reverted is taken as intended: the current keys become
    /// the baseline and the probe is ok again (so a deliberate cleanup does not stay degraded
    /// forever). Default "24h".
    #[serde(default = "default_accept", deserialize_with = "crate::duration::de")]
    accept_removed_after: Duration,
    /// Files larger than this are not parsed (unknown), bytes. Default 8388608 (8 MiB). TOML
    /// files past 1 MiB are not parsed whatever this says (the TOML parser needs ~75 bytes of
    /// memory per byte), nor YAML past 250,000 nodes, nor any document nested past 128 levels.
    #[serde(default = "default_max_bytes")]
    max_file_bytes: u64,
    /// A missing file is fine ("not present", ok) instead of critical: for configs that only
    /// some hosts have, such as ledgerd's own `/etc/ledgerd/config.toml`. Default false.
    #[serde(default)]
    optional: bool,
}

#[derive(Debug, Default, Deserialize, Clone, Copy, PartialEq)]
#[serde(rename_all = "lowercase")]
enum Format {
    #[default]
    Auto,
    Json,
    /// JSON5 (comments, trailing commas, unquoted keys): OpenClaw's `openclaw.json`.
    Json5,
    Toml,
    Yaml,
    /// `KEY=value` lines (`export`, quotes, `#` comments) as one object of strings.
    Dotenv,
    /// Hermes' `.env` with the platforms its gateway derives from it (`hermes_env` module).
    #[serde(rename = "hermes_env")]
    HermesEnv,
}

impl Format {
    fn resolve(self, path: &Path) -> Option<Format> {
        if self != Format::Auto {
            return Some(self);
        }
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "json" => Some(Format::Json),
            "json5" => Some(Format::Json5),
            "toml" => Some(Format::Toml),
            "yaml" | "yml" => Some(Format::Yaml),
            _ => None,
        }
    }
    fn name(self) -> &'static str {
        match self {
            Format::Auto => "auto",
            Format::Json => "json",
            Format::Json5 => "json5",
            Format::Toml => "toml",
            Format::Yaml => "yaml",
            Format::Dotenv => "dotenv",
            Format::HermesEnv => "hermes_env",
        }
    }
}

fn default_accept() -> Duration {
    Duration::from_secs(24 * 3600)
}

fn default_max_bytes() -> u64 {
    8 * 1024 * 1024
}

/// Most files a `path` pattern judges in one run.
const MAX_MATCHED_FILES: usize = 256;
/// Schema errors listed in the summary and evidence.
const SHOWN_SCHEMA_ERRORS: usize = 5;
/// Leaf key paths remembered per observation.
const MAX_TRACKED_KEYS: usize = 20_000;
/// Removed key paths named in the summary.
const SHOWN_REMOVED: usize = 8;
/// Matches of one `forbid` pattern named in the summary and evidence.
const SHOWN_FORBIDDEN: usize = 8;
/// TOML documents past this many bytes are not parsed (unknown): the toml crate builds a spanned
/// tree of its own before the JSON one, ~75 bytes of memory per byte of input at worst (an
/// 8 MiB TOML array peaked at 665 MB, 2 MiB at 155 MB), where JSON and JSON5 stay below ~20
/// and YAML has its parser's node budget.
const TOML_MAX_BYTES: usize = 1024 * 1024;

impl Probe for ConfigFile {
    const KIND: &'static str = "config_file";
    const SUMMARY: &'static str = "parse a JSON/JSON5/TOML/YAML config and check syntax, schema, required and forbidden keys, value assertions (allowlists, denylists, allowed keys), its validator, and keys lost since the last good version";
    const LESSONS: &'static [u32] = &[4, 5, 11, 16, 18, 20, 24, 28];
    const EXAMPLE: &'static str = r#"[probe.hub_openclaw_json]
lessons = [4, 16, 28]
every = "5m"
path = "/Users/hub/.openclaw/openclaw.json"
# openclaw.json is JSON5 (comments, trailing commas, unquoted keys)
format = "json5"
# sections a minimal "fresh" config lacks (the ByteRover clobber, lesson 16)
require = ["gateway.port", "gateway.auth", "channels", "agents.list[0].id", "bindings"]
# the runtime's own read-only check when `openclaw` is on PATH; never `doctor --fix`
validate_command = ["openclaw", "config", "validate", "--json"]
validate_if_present = true
validate_env = { PATH = "/opt/homebrew/bin:/usr/local/bin:/usr/bin:/bin", HOME = "/Users/hub" }
validate_timeout = "30s"
# else OpenClaw's own schema at 2026.9.6, shipped in the binary: every unknown key at its path, such
# as a top-level heartbeat (valid only under agents.defaults, lesson 28) or a plugin entry's
# `source` (lesson 16)
schema = "builtin:openclaw-2026.9.6"
schema_if_no_validator = true
track_keys = true
"#;

    fn validate(&self) -> Vec<Invalid> {
        let mut bad = Vec::new();
        if self.path.as_os_str().is_empty() {
            bad.push(Invalid::new("path", "must name a file"));
        } else if self.format.resolve(&self.path).is_none() {
            bad.push(Invalid::new(
                "format",
                "cannot tell the format from the file extension; set \"json\", \"toml\" or \"yaml\"",
            ));
        }
        for (key, list) in [("require", &self.require), ("forbid", &self.forbid)] {
            for (i, p) in list.iter().enumerate() {
                if let Err(e) = parse_key_path(p) {
                    bad.push(Invalid::new(format!("{key}[{i}]"), e));
                }
            }
        }
        match &self.validate_command {
            Some(argv) if argv.first().is_none_or(|a| a.is_empty()) => {
                bad.push(Invalid::new("validate_command", "must name a program"));
            }
            None if !self.validate_env.is_empty()
                || self.validate_timeout.is_some()
                || self.validate_if_present =>
            {
                bad.push(Invalid::new(
                    "validate_command",
                    "expected a command when validate_env, validate_timeout or validate_if_present is set",
                ));
            }
            _ => {}
        }
        if let Some(schema) = &self.schema
            && let Err(e) = schema::Source::parse(schema)
        {
            bad.push(Invalid::new("schema", e));
        }
        if self.schema_if_no_validator && (self.schema.is_none() || self.validate_command.is_none())
        {
            bad.push(Invalid::new(
                "schema_if_no_validator",
                "needs both schema and validate_command",
            ));
        }
        Invalid::require_at_least_1(&mut bad, "max_file_bytes", self.max_file_bytes);
        if pathglob::is_pattern(&self.path) {
            let per_file = [
                ("track_keys", self.track_keys == Some(true)),
                ("schema", self.schema.is_some()),
                ("validate_command", self.validate_command.is_some()),
            ];
            for (key, set) in per_file {
                if set {
                    bad.push(Invalid::new(
                        key,
                        "not with a `*` in path (each match is judged by the assertions alone)",
                    ));
                }
            }
        }
        bad.extend(expect::validate(&self.expect, "expect"));
        bad
    }

    async fn observe(&self, cx: &ProbeCx<'_>) -> Observation {
        let path = cx.resolve(&self.path);
        if pathglob::is_pattern(&self.path) {
            return self.observe_each(cx, path).await;
        }
        let shown = path.display().to_string();
        let Some(format) = self.format.resolve(&path) else {
            return Observation::unknown(format!("cannot tell the format of {shown}"));
        };
        let text = match self.read_text(&path, &shown).await {
            Ok(t) => t,
            Err(o) => return o,
        };
        let file_name = path
            .file_name()
            .map_or(shown.clone(), |n| n.to_string_lossy().into_owned());
        // Parsing, the key checks, assertions and leaf key paths run on the blocking pool (an
        // 8 MiB document takes seconds to parse in a debug build). The one tree comes back only
        // when a schema may judge it after the validator, and goes on to the blocking pool again
        // for that, never copied.
        let this = self.clone();
        let work = super::blocking(move || this.judge(format, text)).await;
        let base = |o: Observation, fp: &str| {
            o.evidence("path", &shown)
                .evidence("format", format.name())
                .evidence("sha256", fp)
        };
        let Judged { fp, parsed } = match work {
            Ok(j) => j,
            Err(o) => return o.evidence("path", &shown),
        };
        let (mut f, keys, doc) = match parsed {
            Ok(x) => x,
            Err(NotParsed::Syntax(e)) => {
                return base(
                    Observation::critical(format!(
                        "{file_name}:{}:{}: {}",
                        e.line, e.column, e.message
                    )),
                    &fp,
                )
                .expected(format!("valid {}", format.name()))
                .evidence("line", e.line)
                .evidence("column", e.column);
            }
            Err(NotParsed::Budget(why)) => {
                // the file may well be valid: nothing is judged, and it says why
                return base(
                    Observation::unknown(format!("{file_name}: not parsed: {why}")),
                    &fp,
                )
                .expected(format!("valid {}", format.name()));
            }
        };
        let mut verdict = false;
        if let Some(argv) = &self.validate_command {
            if cx.root().is_some() {
                // the runtime installed here is not the audited tree's; its file is still judged
                f.evidence
                    .push(("validator".into(), super::NOT_UNDER_ROOT.into()));
            } else {
                verdict = self.run_validator(argv, cx, &mut f).await;
            }
        }
        if let (Some(schema), Some(doc)) = (&self.schema, doc) {
            if self.schema_if_no_validator && verdict {
                f.evidence.push((
                    "schema".into(),
                    format!("{schema}: not judged, the validator answered"),
                ));
                // a large tree is freed off the runtime's threads too
                let _freed = tokio::task::spawn_blocking(move || drop(doc));
            } else {
                check_schema(schema, cx, doc, &mut f).await;
            }
        }
        let (removed, removed_since) = self.track_removed(cx, &keys, &mut f);
        let obs = self.headline(f, &file_name, format, keys.len(), |o| base(o, &fp));
        self.remember(obs, cx, &keys, &removed, removed_since, &fp)
            .metric("leaf_keys", keys.len() as f64)
    }
}

impl ConfigFile {
    fn tracks_keys(&self) -> bool {
        self.track_keys
            .unwrap_or_else(|| !pathglob::is_pattern(&self.path))
    }

    /// Every file a `path` with `*` matches, each parsed and judged by `require`, `forbid` and
    /// `expect`; findings name their file.
    async fn observe_each(&self, cx: &ProbeCx<'_>, pattern: PathBuf) -> Observation {
        let shown = pattern.display().to_string();
        let (files, more) =
            match super::blocking(move || pathglob::files(&pattern, MAX_MATCHED_FILES)).await {
                Ok(found) => found,
                Err(o) => return o.evidence("path", &shown),
            };
        let files: Vec<PathBuf> = files.into_iter().map(|f| cx.reanchor(f)).collect();
        if files.is_empty() {
            let obs = if self.optional {
                Observation::ok(format!("no file matches {shown} (optional)"))
            } else {
                Observation::critical(format!("no file matches {shown}"))
                    .expected("at least one file matches")
            };
            return obs.evidence("path", &shown);
        }
        let mut f = Findings::default();
        for file in &files {
            self.judge_one(file, &mut f).await;
        }
        let health = f.health();
        let mut obs = if health == Health::Ok {
            Observation::ok(format!("{} file(s) matching {shown} pass", files.len()))
        } else {
            let lines = match health {
                Health::Critical => &f.critical,
                Health::Degraded => &f.degraded,
                _ => &f.unknown,
            };
            Observation::new(health, lines.join("; "))
        };
        obs = obs
            .expected(self.expectation())
            .evidence("path", &shown)
            .evidence("files", files.len());
        if more {
            obs = obs.evidence(
                "not_judged",
                format!("more than {MAX_MATCHED_FILES} files match; the first are judged"),
            );
        }
        for (k, v) in &f.evidence {
            obs.push_evidence(k.clone(), v);
        }
        obs.metric("files", files.len() as f64)
    }

    /// One match of a `path` pattern: read, parsed and judged, its findings prefixed with it.
    async fn judge_one(&self, file: &Path, f: &mut Findings) {
        let shown = file.display().to_string();
        let Some(format) = self.format.resolve(file) else {
            f.unknown.push(format!("cannot tell the format of {shown}"));
            return;
        };
        let text = match read_bounded(file, self.max_file_bytes).await {
            Ok(t) => t,
            // gone between listing and reading: nothing to judge
            Err(Read::Missing) => return,
            Err(Read::Unreadable(e)) => {
                f.unknown.push(format!("cannot read {shown}: {e}"));
                return;
            }
        };
        let this = self.clone();
        let parsed = match super::blocking(move || this.judge(format, text)).await {
            Ok(j) => j.parsed,
            Err(o) => {
                f.unknown.push(format!("{shown}: {}", o.summary));
                return;
            }
        };
        match parsed {
            Ok((one, _, _)) => {
                f.critical
                    .extend(one.critical.iter().map(|l| format!("{shown}: {l}")));
                f.degraded
                    .extend(one.degraded.iter().map(|l| format!("{shown}: {l}")));
                f.unknown
                    .extend(one.unknown.iter().map(|l| format!("{shown}: {l}")));
                f.evidence.extend(
                    one.evidence
                        .into_iter()
                        .map(|(k, v)| (k, format!("{shown}: {v}"))),
                );
            }
            Err(NotParsed::Syntax(e)) => f
                .critical
                .push(format!("{shown}:{}:{}: {}", e.line, e.column, e.message)),
            Err(NotParsed::Budget(why)) => f.unknown.push(format!("{shown}: not parsed: {why}")),
        }
    }

    /// Reads the file through the bounded reader; a missing or unreadable file is the
    /// observation itself.
    async fn read_text(&self, path: &Path, shown: &str) -> Result<String, Observation> {
        match read_bounded(path, self.max_file_bytes).await {
            Ok(t) => Ok(t),
            Err(Read::Missing) if self.optional => {
                Err(Observation::ok(format!("not present (optional): {shown}"))
                    .evidence("path", shown))
            }
            Err(Read::Missing) => {
                // A gateway without its config crash-loops: this is the failure, not a blind spot.
                Err(
                    Observation::critical(format!("config file missing: {shown}"))
                        .expected("the config file exists")
                        .evidence("path", shown),
                )
            }
            Err(Read::Unreadable(e)) => {
                Err(Observation::unknown(format!("cannot read {shown}: {e}"))
                    .evidence("path", shown))
            }
        }
    }

    /// Key paths that disappeared since the last good version (lesson 16), and since when; a
    /// removal older than `accept_removed_after` is taken as intended.
    fn track_removed(
        &self,
        cx: &ProbeCx<'_>,
        keys: &BTreeSet<String>,
        f: &mut Findings,
    ) -> (Vec<String>, i64) {
        let mut removed = if self.tracks_keys() {
            removed_keys(cx.prior, keys)
        } else {
            Vec::new()
        };
        // when did the keys go missing (kept in facts while degraded)?
        let removed_since = cx
            .prior
            .and_then(|p| p.get("removed_since"))
            .and_then(Value::as_i64)
            .filter(|_| !removed.is_empty())
            .unwrap_or(cx.now.timestamp());
        let accepted = !removed.is_empty()
            && cx.now.timestamp() - removed_since >= self.accept_removed_after.as_secs() as i64;
        if accepted {
            f.evidence.push((
                "accepted_removal".into(),
                format!(
                    "keys missing for longer than {} are taken as intended: {}",
                    humantime::format_duration(self.accept_removed_after),
                    removed.join(", ")
                ),
            ));
            removed.clear();
        }
        if !removed.is_empty() {
            let names: Vec<&str> = removed
                .iter()
                .take(SHOWN_REMOVED)
                .map(String::as_str)
                .collect();
            let more = removed.len().saturating_sub(SHOWN_REMOVED);
            let tail = if more > 0 {
                format!(" (+{more} more)")
            } else {
                String::new()
            };
            f.degraded.push(format!(
                "keys disappeared since the last good version: {}{tail}",
                names.join(", ")
            ));
            f.evidence.push(("removed_keys".into(), removed.join(", ")));
        }

        (removed, removed_since)
    }

    /// The observation's health and summary from the findings, with their evidence.
    fn headline(
        &self,
        f: Findings,
        file_name: &str,
        format: Format,
        leaf_keys: usize,
        base: impl FnOnce(Observation) -> Observation,
    ) -> Observation {
        let health = f.health();
        let mut obs = if health == Health::Ok {
            Observation::ok(format!(
                "{file_name} is valid {} with {leaf_keys} leaf keys",
                format.name(),
            ))
        } else {
            let lines = match health {
                Health::Critical => &f.critical,
                Health::Degraded => &f.degraded,
                _ => &f.unknown,
            };
            Observation::new(health, format!("{file_name}: {}", lines.join("; ")))
        };
        obs = base(obs).expected(self.expectation());
        for (k, v) in &f.evidence {
            obs.push_evidence(k.clone(), v);
        }
        obs
    }

    /// Facts for the next run: the keys of a good version, or the last good keys and since when
    /// some are missing. Only good versions are remembered, so a clobbered file keeps being
    /// compared with the last good one until the keys come back.
    fn remember(
        &self,
        obs: Observation,
        cx: &ProbeCx<'_>,
        keys: &BTreeSet<String>,
        removed: &[String],
        removed_since: i64,
        fp: &str,
    ) -> Observation {
        if obs.health == Health::Ok && self.tracks_keys() {
            let kept: Vec<&String> = keys.iter().take(MAX_TRACKED_KEYS).collect();
            obs.facts(serde_json::json!({ "keys": kept, "sha256": fp }))
        } else if !removed.is_empty()
            && let Some(mut baseline) = cx.prior.cloned()
            && let Some(map) = baseline.as_object_mut()
        {
            // keep the last good keys as the baseline, and remember since when they are missing
            map.insert("removed_since".into(), removed_since.into());
            obs.facts(baseline)
        } else {
            obs
        }
    }
}

/// Problems by health, plus evidence lines.
#[derive(Default)]
struct Findings {
    critical: Vec<String>,
    degraded: Vec<String>,
    unknown: Vec<String>,
    evidence: Vec<(String, String)>,
}

impl Findings {
    fn health(&self) -> Health {
        if !self.critical.is_empty() {
            Health::Critical
        } else if !self.degraded.is_empty() {
            Health::Degraded
        } else if !self.unknown.is_empty() {
            Health::Unknown
        } else {
            Health::Ok
        }
    }
}

impl ConfigFile {
    fn expectation(&self) -> String {
        let mut parts = vec!["parses".to_string()];
        if !self.require.is_empty() {
            parts.push(format!("has {}", self.require.join(", ")));
        }
        if !self.forbid.is_empty() {
            parts.push(format!("lacks {}", self.forbid.join(", ")));
        }
        for a in &self.expect {
            parts.extend(a.describe());
        }
        if self.schema.is_some() {
            parts.push("matches its schema".into());
        }
        if self.validate_command.is_some() {
            parts.push("passes its validator".into());
        }
        parts.join("; ")
    }

    /// The blocking half of a run: fingerprint, parse, keys, assertions and leaf key paths of
    /// `text`. The document tree is freed here unless a schema is to judge it.
    fn judge(&self, format: Format, text: String) -> Judged {
        let fp = crate::redact::fingerprint(&text);
        let doc = match parse(format, &text) {
            Ok(v) => v,
            Err(e) => {
                return Judged { fp, parsed: Err(e) };
            }
        };
        drop(text);
        let mut f = Findings::default();
        self.check_keys(&doc, &mut f);
        self.check_expect(&doc, format, &mut f);
        let keys = leaf_paths(&doc);
        let doc = self.schema.is_some().then_some(doc);
        Judged {
            fp,
            parsed: Ok((f, keys, doc)),
        }
    }

    fn check_keys(&self, doc: &Value, f: &mut Findings) {
        for p in &self.forbid {
            let Ok(segs) = parse_key_path(p) else {
                continue;
            };
            // a pattern like `*` on a huge document matches everything: name the first few
            let (found, total) = matches(doc, &segs, SHOWN_FORBIDDEN);
            for (at, v) in &found {
                f.critical.push(format!("forbidden key {at} present"));
                f.evidence
                    .push(("forbidden_key".into(), format!("{at} ({})", type_name(v))));
            }
            if total > found.len() {
                f.critical.push(format!(
                    "{} more forbidden keys matching {p} present",
                    total - found.len()
                ));
            }
        }
        for p in &self.require {
            let Ok(segs) = parse_key_path(p) else {
                continue;
            };
            if matches(doc, &segs, 1).1 == 0 {
                f.critical.push(format!("required key {p} missing"));
                f.evidence.push(("missing_key".into(), p.clone()));
            }
        }
    }

    fn check_expect(&self, doc: &Value, format: Format, f: &mut Findings) {
        if self.expect.is_empty() {
            return;
        }
        let compiled = match expect::compile(&self.expect, "expect") {
            Ok(c) => c,
            Err(bad) => {
                f.unknown
                    .extend(bad.into_iter().map(|i| format!("{}: {}", i.key, i.message)));
                return;
            }
        };
        // values under secret-looking keys are never quoted
        let mut secrets = Vec::new();
        if matches!(format, Format::Dotenv | Format::HermesEnv) {
            super::hermes_env::secret_values(doc, &mut secrets);
        } else {
            secret_values(doc, false, &mut secrets);
        }
        for (i, (a, c)) in self.expect.iter().zip(&compiled).enumerate() {
            if let Some((detail, summary)) = a.check(c, doc, &secrets) {
                f.critical.push(summary);
                f.evidence.push((format!("expect[{i}]"), detail));
            }
        }
    }

    /// Runs the validator; true when it gave a verdict (valid or not).
    async fn run_validator(&self, argv: &[String], cx: &ProbeCx<'_>, f: &mut Findings) -> bool {
        let spec = ExecSpec {
            argv,
            env: self.validate_env.clone(),
            cwd: None,
            timeout: self.validate_timeout.unwrap_or(cx.timeout),
            max_output_bytes: 64 * 1024,
        };
        let name = argv.join(" ");
        match exec::run(&spec).await {
            Err(e @ exec::ExecError::NotFound(..)) if self.validate_if_present => {
                f.evidence
                    .push(("validator".into(), format!("skipped: {e}")));
                false
            }
            Err(e) => {
                f.unknown.push(format!("could not run validator: {e}"));
                false
            }
            Ok(out) if out.code == Some(0) => {
                // `openclaw config validate --json` exits 0 and answers {"valid": false, ...}:
                // the verdict is in the JSON, not the exit code
                if let Some(issues) = invalid_verdict(&out.stdout) {
                    f.critical
                        .push(format!("`{name}` says invalid: {}", issues.join("; ")));
                    f.evidence.push((
                        "validate_issues".into(),
                        crate::redact::truncate(&issues.join("; "), 300),
                    ));
                }
                true
            }
            Ok(out) => {
                let code = out.exit();
                match invalid_verdict(&out.stdout) {
                    Some(issues) => {
                        f.critical
                            .push(format!("`{name}` exited {code}: {}", issues.join("; ")));
                        f.evidence.push((
                            "validate_issues".into(),
                            crate::redact::truncate(&issues.join("; "), 300),
                        ));
                    }
                    None => f.critical.push(format!("`{name}` exited {code}")),
                }
                f.evidence.push(("validate_exit_code".into(), code));
                let text = format!("{}{}", out.stdout, out.stderr);
                if !text.trim().is_empty() {
                    f.evidence.push((
                        "validate_output".into(),
                        crate::redact::truncate(text.trim(), 300),
                    ));
                }
                true
            }
        }
    }
}

enum Read {
    Missing,
    Unreadable(String),
}

/// The document through the one bounded reader, on the blocking pool: a FIFO or device is
/// refused without blocking, a file past `max` is "truncated at N" (never parsed in part).
async fn read_bounded(path: &Path, max: u64) -> Result<String, Read> {
    // Invalid UTF-8 is reported by the parser as a syntax error at its position.
    crate::read::text_lossy_async(path, max)
        .await
        .map_err(|e| match e {
            e if e.is_missing() => Read::Missing,
            e => Read::Unreadable(e.reason()),
        })
}

/// The issues of a validator's JSON verdict when it says `"valid": false` (each as "path:
/// message"); `None` when the output is not such a verdict.
fn invalid_verdict(stdout: &str) -> Option<Vec<String>> {
    let start = stdout.find('{')?;
    let end = stdout.rfind('}')?;
    let v: Value = serde_json::from_str(stdout.get(start..=end)?).ok()?;
    if v.get("valid") != Some(&Value::Bool(false)) {
        return None;
    }
    let list = v
        .get("issues")
        .or_else(|| v.get("errors"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut issues: Vec<String> = list
        .iter()
        .map(|i| match i {
            Value::String(s) => s.clone(),
            other => {
                let path = other.get("path").map(|p| match p {
                    Value::String(s) => s.clone(),
                    Value::Array(a) => a
                        .iter()
                        .map(|x| x.as_str().map_or(x.to_string(), str::to_string))
                        .collect::<Vec<_>>()
                        .join("."),
                    x => x.to_string(),
                });
                let msg = other
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or("invalid");
                match path {
                    Some(p) if !p.is_empty() => format!("{p}: {msg}"),
                    _ => msg.to_string(),
                }
            }
        })
        .collect();
    if issues.is_empty() {
        issues.push("valid: false".into());
    }
    Some(issues)
}

/// String values below keys that look secret (token, secret, password, key).
fn secret_values<'v>(v: &'v Value, secret: bool, out: &mut Vec<&'v str>) {
    match v {
        Value::String(s) if secret && !s.is_empty() => out.push(s),
        Value::Array(a) => a.iter().for_each(|x| secret_values(x, secret, out)),
        Value::Object(o) => {
            for (k, x) in o {
                let k = k.to_ascii_lowercase();
                let looks = ["token", "secret", "password", "apikey", "api_key", "key"]
                    .iter()
                    .any(|w| k.contains(w));
                secret_values(x, secret || looks, out);
            }
        }
        _ => {}
    }
}

/// A syntax error at a 1-based line and column.
#[derive(Debug)]
struct SyntaxError {
    line: usize,
    column: usize,
    message: String,
}

/// Why a document has no tree: a syntax error (critical: the runtime would not load it either),
/// or a parser budget it exceeds, nesting or size (unknown: it may well be valid, it was not
/// judged).
#[derive(Debug)]
enum NotParsed {
    Syntax(SyntaxError),
    Budget(String),
}

/// What the blocking half of a run hands back: the file's fingerprint, and the findings and leaf
/// key paths of its document and the document itself when a schema is to judge it (or why there
/// is none).
struct Judged {
    fp: String,
    parsed: Result<(Findings, BTreeSet<String>, Option<Value>), NotParsed>,
}

/// Parses `text` into one JSON tree, with memory proportional to the input (each format goes
/// straight into `serde_json::Value`, never through a second tree) and bounded nesting.
fn parse(format: Format, text: &str) -> Result<Value, NotParsed> {
    match format {
        Format::Dotenv => Ok(super::hermes_env::dotenv_doc(text)),
        Format::HermesEnv => Ok(super::hermes_env::hermes_env_doc(text)),
        Format::Json | Format::Auto => serde_json::from_str(text).map_err(json_error),
        Format::Json5 => json5doc::parse(text).map_err(|e| match e {
            e @ Json5Error::TooDeep { .. } => NotParsed::Budget(e.to_string()),
            Json5Error::Syntax {
                line,
                column,
                message,
            } => NotParsed::Syntax(SyntaxError {
                line,
                column,
                message,
            }),
        }),
        Format::Toml if text.len() > TOML_MAX_BYTES => Err(NotParsed::Budget(format!(
            "{} bytes is past the TOML parsing budget of {TOML_MAX_BYTES} bytes (1 MiB)",
            text.len()
        ))),
        // straight into a JSON tree (a `toml::Table` converted afterwards held both at once)
        Format::Toml => match toml::from_str::<Value>(text) {
            Ok(mut v) => {
                if !v.is_object() {
                    v = Value::Object(serde_json::Map::new());
                }
                toml_datetimes_to_strings(&mut v);
                Ok(v)
            }
            Err(e) => {
                let message = e.message().trim().replace('\n', " ");
                let (line, column) = e.span().map_or((0, 0), |s| line_col(text, s.start));
                if message.contains("recursion") {
                    return Err(NotParsed::Budget(format!(
                        "nested deeper than the TOML parser allows at line {line}, column {column}"
                    )));
                }
                Err(NotParsed::Syntax(SyntaxError {
                    line,
                    column,
                    message,
                }))
            }
        },
        Format::Yaml => serde_saphyr::from_str::<Value>(text).map_err(|e| {
            let (line, column) = e
                .location()
                .map_or((0, 0), |l| (l.line() as usize, l.column() as usize));
            if let Some(why) = yaml_budget(&e) {
                return NotParsed::Budget(format!("{why} at line {line}, column {column}"));
            }
            let plain = e
                .without_snippet()
                .render_with_options(serde_saphyr::render_options! {
                    snippets: serde_saphyr::SnippetMode::Off,
                });
            let message = plain
                .rfind(" at line ")
                .map_or(plain.as_str(), |i| &plain[..i])
                .trim()
                .replace('\n', " ");
            if message.contains("recursion limit") {
                return NotParsed::Budget(format!(
                    "nested deeper than the YAML parser allows at line {line}, column {column}"
                ));
            }
            NotParsed::Syntax(SyntaxError {
                line,
                column,
                message,
            })
        }),
    }
}

fn json_error(e: serde_json::Error) -> NotParsed {
    let full = e.to_string();
    let message = full
        .rfind(" at line ")
        .map_or(full.as_str(), |i| &full[..i])
        .to_string();
    if message == "recursion limit exceeded" {
        return NotParsed::Budget(format!(
            "nested deeper than {MAX_NESTING} levels at line {}, column {}",
            e.line(),
            e.column()
        ));
    }
    NotParsed::Syntax(SyntaxError {
        line: e.line(),
        column: e.column(),
        message,
    })
}

/// The YAML parser's budget that `e` reports exceeded, in words: the budget bounds memory and
/// time (nodes, events, aliases, depth), so past it the file is not judged, not called invalid.
fn yaml_budget(e: &serde_saphyr::Error) -> Option<String> {
    use serde_saphyr::Error as E;
    use serde_saphyr::budget::BudgetBreach as B;
    let mut e = e;
    loop {
        match e {
            E::WithSnippet { error, .. } | E::AliasError { error, .. } => e = error,
            E::Budget { breach, .. } => {
                let b = serde_saphyr::budget::Budget::default();
                return Some(match breach {
                    B::Nodes { .. } => format!("more than {} YAML nodes", b.max_nodes),
                    B::Events { .. } => format!("more than {} YAML events", b.max_events),
                    B::Depth { .. } => format!("nested deeper than {} levels", b.max_depth),
                    B::Aliases { .. } => format!("more than {} YAML aliases", b.max_aliases),
                    B::Anchors { .. } => format!("more than {} YAML anchors", b.max_anchors),
                    other => format!("beyond the YAML parser's budget ({other:?})"),
                });
            }
            _ => return None,
        }
    }
}

/// TOML datetimes reach a JSON tree as `{"$__toml_private_datetime": "…"}`: the string itself,
/// as `toml::Value`'s display gave it before.
fn toml_datetimes_to_strings(v: &mut Value) {
    const FIELD: &str = "$__toml_private_datetime";
    match v {
        Value::Object(m) => {
            if m.len() == 1
                && let Some(Value::String(s)) = m.get_mut(FIELD)
            {
                let s = std::mem::take(s);
                *v = Value::String(s);
                return;
            }
            m.values_mut().for_each(toml_datetimes_to_strings);
        }
        Value::Array(a) => a.iter_mut().for_each(toml_datetimes_to_strings),
        _ => {}
    }
}

/// Schema violations shown in the summary; up to [`SHOWN_SCHEMA_EVIDENCE`] are kept as evidence.
const SHOWN_SCHEMA_EVIDENCE: usize = 20;

/// Judges the document against `schema` (`builtin:NAME`, compiled once per process, or a file
/// read and compiled at each run), on the blocking pool.
async fn check_schema(schema: &str, cx: &ProbeCx<'_>, doc: Value, f: &mut Findings) {
    let source = match schema::Source::parse(schema) {
        Ok(s) => s,
        Err(e) => {
            f.unknown.push(format!("schema {schema}: {e}"));
            return;
        }
    };
    let (shown, file) = match source {
        schema::Source::Builtin(name) => (format!("builtin:{name}"), None),
        schema::Source::File(p) => {
            let path = cx.resolve(Path::new(p));
            (path.display().to_string(), Some(path))
        }
    };
    let name = shown.clone();
    let outcome = tokio::task::spawn_blocking(move || {
        let validator = match file {
            None => schema::builtin(name.trim_start_matches("builtin:"))?,
            Some(path) => {
                let text = crate::read::text_lossy(&path, crate::read::LARGE)
                    .map_err(|e| format!("cannot read: {}", e.reason()))?;
                let schema: Value =
                    serde_json::from_str(&text).map_err(|e| format!("not valid JSON: {e}"))?;
                std::sync::Arc::new(schema::compile(&schema)?)
            }
        };
        Ok::<_, String>(schema::violations(&validator, &doc, schema::MAX_VIOLATIONS))
    })
    .await;
    match outcome {
        Err(e) => f.unknown.push(format!("schema check did not finish: {e}")),
        Ok(Err(e)) => {
            f.unknown.push(format!("schema {shown} {e}"));
            f.evidence.push(("schema".into(), shown));
        }
        Ok(Ok((found, _))) if found.is_empty() => {
            f.evidence
                .push(("schema".into(), format!("{shown}: matches")));
        }
        Ok(Ok((found, more))) => {
            let count = if more {
                format!("{}+", found.len())
            } else {
                found.len().to_string()
            };
            let first: Vec<String> = found
                .iter()
                .take(SHOWN_SCHEMA_ERRORS)
                .map(ToString::to_string)
                .collect();
            let rest = found.len().saturating_sub(SHOWN_SCHEMA_ERRORS);
            let tail = match (rest, more) {
                (0, false) => String::new(),
                (n, false) => format!(" (+{n} more)"),
                (n, true) => format!(" (+{n} more and others not counted)"),
            };
            f.critical.push(format!(
                "{count} schema violation(s) ({shown}): {}{tail}",
                first.join("; ")
            ));
            f.evidence.push(("schema".into(), shown));
            for v in found.iter().take(SHOWN_SCHEMA_EVIDENCE) {
                f.evidence.push(("schema_error".into(), v.to_string()));
            }
        }
    }
}

/// One step of a key path.
#[derive(Debug, Clone, PartialEq)]
enum Seg {
    Key(String),
    Index(usize),
    /// `*` or `[*]`: any key of an object or element of an array.
    Any,
}

/// Parses `a.b[0].c`, `plugins.entries.*.source`, `[0].id`, `list[*]`.
fn parse_key_path(s: &str) -> Result<Vec<Seg>, String> {
    let err = |m: &str| format!("invalid key path '{s}': {m}");
    if s.trim().is_empty() {
        return Err(err("empty"));
    }
    let mut segs = Vec::new();
    for (n, part) in s.split('.').enumerate() {
        let (name, mut rest) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if name.contains(']') {
            return Err(err("unexpected ]"));
        }
        match name {
            "" if n == 0 && !rest.is_empty() => {}
            "" => return Err(err("empty key between dots")),
            "*" => segs.push(Seg::Any),
            k => segs.push(Seg::Key(k.to_string())),
        }
        while !rest.is_empty() {
            let close = rest
                .find(']')
                .filter(|_| rest.starts_with('['))
                .ok_or_else(|| err("expected [index]"))?;
            let inner = &rest[1..close];
            segs.push(match inner {
                "*" => Seg::Any,
                i => Seg::Index(
                    i.parse()
                        .map_err(|_| err("expected a number or * inside []"))?,
                ),
            });
            rest = &rest[close + 1..];
        }
    }
    Ok(segs)
}

/// The first `keep` concrete paths (and their values) that `segs` matches in `doc`, and how
/// many match in all.
fn matches<'v>(doc: &'v Value, segs: &[Seg], keep: usize) -> (Vec<(String, &'v Value)>, usize) {
    let mut out = Matches {
        found: Vec::new(),
        total: 0,
        keep,
    };
    walk(doc, segs, String::new(), &mut out);
    (out.found, out.total)
}

struct Matches<'v> {
    found: Vec<(String, &'v Value)>,
    total: usize,
    keep: usize,
}

fn walk<'v>(v: &'v Value, segs: &[Seg], at: String, out: &mut Matches<'v>) {
    let Some((first, rest)) = segs.split_first() else {
        out.total += 1;
        if out.found.len() < out.keep {
            out.found.push((at, v));
        }
        return;
    };
    let key = |k: &str| {
        if at.is_empty() {
            k.to_string()
        } else {
            format!("{at}.{k}")
        }
    };
    match (first, v) {
        (Seg::Key(k), Value::Object(m)) => {
            if let Some(child) = m.get(k) {
                walk(child, rest, key(k), out);
            }
        }
        (Seg::Index(i), Value::Array(a)) => {
            if let Some(child) = a.get(*i) {
                walk(child, rest, format!("{at}[{i}]"), out);
            }
        }
        (Seg::Any, Value::Object(m)) => {
            for (k, child) in m {
                walk(child, rest, key(k), out);
            }
        }
        (Seg::Any, Value::Array(a)) => {
            for (i, child) in a.iter().enumerate() {
                walk(child, rest, format!("{at}[{i}]"), out);
            }
        }
        _ => {}
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Leaf key paths with array indexes collapsed (`agents.list[].id`), so reordering a list is not
/// a loss. Empty objects and arrays count as leaves.
fn leaf_paths(doc: &Value) -> BTreeSet<String> {
    fn go(v: &Value, at: &str, out: &mut BTreeSet<String>) {
        if out.len() >= MAX_TRACKED_KEYS {
            return;
        }
        match v {
            Value::Object(m) if !m.is_empty() => {
                for (k, child) in m {
                    let p = if at.is_empty() {
                        k.clone()
                    } else {
                        format!("{at}.{k}")
                    };
                    go(child, &p, out);
                }
            }
            Value::Array(a) if !a.is_empty() => {
                for child in a {
                    go(child, &format!("{at}[]"), out);
                }
            }
            _ if at.is_empty() => {}
            _ => {
                out.insert(at.to_string());
            }
        }
    }
    let mut out = BTreeSet::new();
    go(doc, "", &mut out);
    out
}

/// Key paths of the last good observation that are gone now, each reported at the highest
/// ancestor that vanished entirely (`gateway` rather than every `gateway.*` leaf).
fn removed_keys(prior: Option<&Value>, now: &BTreeSet<String>) -> Vec<String> {
    let Some(before) = prior.and_then(|p| p.get("keys")).and_then(Value::as_array) else {
        return Vec::new();
    };
    let mut present: BTreeSet<&str> = BTreeSet::new();
    for k in now {
        for a in ancestors(k) {
            present.insert(a);
        }
    }
    let mut out: BTreeSet<String> = BTreeSet::new();
    for k in before.iter().filter_map(Value::as_str) {
        if now.contains(k) {
            continue;
        }
        // A former leaf that is now a parent (e.g. `{}` that gained keys) is not a loss.
        if present.contains(k) {
            continue;
        }
        if let Some(top) = ancestors(k).into_iter().find(|a| !present.contains(a)) {
            out.insert(top.to_string());
        }
    }
    out.into_iter().collect()
}

/// `a.b[].c` → `a`, `a.b`, `a.b[]`, `a.b[].c`.
fn ancestors(k: &str) -> Vec<&str> {
    let mut out: Vec<&str> = k
        .char_indices()
        .filter(|&(i, c)| i > 0 && (c == '.' || c == '['))
        .map(|(i, _)| &k[..i])
        .collect();
    out.push(k);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::testkit::{self, assert_finding, ev, look_in, look_with};
    use std::os::unix::fs::PermissionsExt;

    const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/hosts/config_file");

    fn probe(src: &str) -> ConfigFile {
        testkit::parse(src)
    }

    #[tokio::test]
    async fn forbidden_top_level_heartbeat_is_critical() {
        let p =
            probe("path = \"bad/openclaw.json\"\nforbid = [\"heartbeat\", \"gateway.heartbeat\"]");
        let o = look_in(&p, Path::new(FIXTURES)).await;
        assert_finding(&o, Health::Critical, "forbidden key heartbeat present");
        assert_eq!(ev(&o, "forbidden_key"), ["heartbeat (object)"]);
        // Never a value: the fixture's token does not leak.
        assert!(!format!("{o:?}").contains("fixture-token"));

        let good = probe(
            "path = \"good/openclaw.json\"\nforbid = [\"heartbeat\"]\nrequire = [\"agents.defaults.heartbeat.every\", \"agents.list[0].id\"]",
        );
        let o = look_in(&good, Path::new(FIXTURES)).await;
        assert_eq!(o.health, Health::Ok, "{o:?}");
        assert!(ev(&o, "sha256")[0].starts_with("sha256:"));
    }

    #[tokio::test]
    async fn syntax_errors_carry_line_and_column() {
        let p = probe("path = \"bad/openclaw-broken.json\"");
        let o = look_in(&p, Path::new(FIXTURES)).await;
        testkit::assert_starts(&o, Health::Critical, "openclaw-broken.json:4:5: ");

        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("c.toml"),
            "[gateway]\nport = 18789\nbind = \n",
        )
        .unwrap();
        let o = look_in(&probe("path = \"c.toml\""), dir.path()).await;
        testkit::assert_starts(&o, Health::Critical, "c.toml:3:");

        std::fs::write(dir.path().join("c.yaml"), "gateway:\n  port: 1\n bad: [\n").unwrap();
        let o = look_in(&probe("path = \"c.yaml\""), dir.path()).await;
        testkit::assert_starts(&o, Health::Critical, "c.yaml:");
        assert!(!ev(&o, "line").is_empty());
    }

    #[tokio::test]
    async fn yaml_and_toml_good_files_are_ok_and_require_missing_is_critical() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("config.yaml"),
            "model:\n  default: claude-sonnet\nterminal:\n  backend: local\nplatforms: [slack]\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("config.toml"),
            "model = \"gpt-5\"\n[mcp_servers.brain]\nurl = \"http://127.0.0.1:18820\"\nsince = 2026-05-01T00:00:00Z\n",
        )
        .unwrap();
        let y = probe("path = \"config.yaml\"\nrequire = [\"model.default\", \"platforms[0]\"]");
        let o = look_in(&y, dir.path()).await;
        assert_eq!(o.health, Health::Ok, "{o:?}");
        let keys = o.facts.as_ref().unwrap()["keys"].clone();
        assert_eq!(
            keys,
            serde_json::json!(["model.default", "platforms[]", "terminal.backend"])
        );
        let t = probe("path = \"config.toml\"\nrequire = [\"mcp_servers.*.url\"]");
        assert_eq!(look_in(&t, dir.path()).await.health, Health::Ok);
        // a TOML datetime is a string leaf, as in the file (not the toml crate's private map)
        let o = look_in(&t, dir.path()).await;
        assert_eq!(
            o.facts.as_ref().unwrap()["keys"],
            serde_json::json!(["mcp_servers.brain.since", "mcp_servers.brain.url", "model"])
        );

        let missing =
            probe("path = \"config.yaml\"\nrequire = [\"model.fallback\", \"model.default\"]");
        let o = look_in(&missing, dir.path()).await;
        assert_eq!(o.health, Health::Critical);
        assert_eq!(
            o.summary,
            "config.yaml: required key model.fallback missing"
        );
        assert_eq!(ev(&o, "missing_key"), ["model.fallback"]);
        assert!(o.facts.is_none());
    }

    #[tokio::test]
    async fn schema_pass_fail_and_broken_schema() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(
            d.join("schema.json"),
            r#"{"$schema": "https://json-schema.org/draft/2020-12/schema",
                "type": "object", "required": ["gateway"],
                "properties": {"gateway": {"type": "object",
                  "properties": {"port": {"type": "integer"}, "token": {"type": "integer"}}}}}"#,
        )
        .unwrap();
        std::fs::write(d.join("broken-schema.json"), r#"{"type": 12}"#).unwrap();
        std::fs::write(d.join("ok.json"), r#"{"gateway": {"port": 18789}}"#).unwrap();
        std::fs::write(
            d.join("bad.json"),
            r#"{"gateway": {"port": "18789", "token": "s3cret-value"}}"#,
        )
        .unwrap();
        let o = look_in(&probe("path = \"ok.json\"\nschema = \"schema.json\""), d).await;
        assert_eq!(o.health, Health::Ok, "{o:?}");

        let o = look_in(&probe("path = \"bad.json\"\nschema = \"schema.json\""), d).await;
        assert_finding(&o, Health::Critical, "2 schema violation(s)");
        assert!(o.summary.contains("gateway.port: "), "{}", o.summary);
        assert!(o.summary.contains("gateway.token: "), "{}", o.summary);
        assert!(!format!("{o:?}").contains("s3cret-value"));

        let o = look_in(
            &probe("path = \"ok.json\"\nschema = \"broken-schema.json\""),
            d,
        )
        .await;
        assert_finding(&o, Health::Unknown, "does not compile");
    }

    #[tokio::test]
    async fn builtin_openclaw_schema_judges_keys_when_the_validator_cannot() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let good = "// hub\n{\n  gateway: { port: 18789, bind: \"loopback\", auth: { mode: \"token\" } },\n  agents: { defaults: { heartbeat: { every: \"30m\" } }, list: [{ id: \"hub\" }] },\n  channels: { slack: { enabled: true, dmPolicy: \"allowlist\" } },\n  plugins: { entries: { acpx: { enabled: true, hooks: {}, subagent: {}, config: {} } } },\n  cron: { enabled: true },\n}\n";
        std::fs::write(d.join("good.json"), good).unwrap();
        std::fs::write(
            d.join("bad.json"),
            good.replace(
                "cron: { enabled: true }",
                "cron: { jobs: [] }, heartbeat: {}",
            )
            .replace(
                "subagent: {},",
                "subagent: {}, source: \"git+https://sk-ant-secret@x\",",
            )
            .replace("bind: \"loopback\"", "bind: \"everywhere\""),
        )
        .unwrap();
        let bin = d.join("openclaw");
        std::fs::write(&bin, "#!/bin/sh\necho '{\"valid\":true}'\n").unwrap();
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
        let cfg = |file: &str, validator: &str| {
            probe(&format!(
                "path = \"{file}\"\nformat = \"json5\"\nschema = \"builtin:openclaw-2026.9.6\"\nschema_if_no_validator = true\nvalidate_command = [\"{validator}\", \"config\", \"validate\", \"--json\"]\nvalidate_if_present = true\nvalidate_env = {{ PATH = \"{}:/usr/bin:/bin\" }}",
                d.display()
            ))
        };
        // no CLI here: OpenClaw's own schema judges every key
        let o = look_in(&cfg("good.json", "openclaw-not-installed"), d).await;
        assert_eq!(o.health, Health::Ok, "{o:?}");
        assert_eq!(ev(&o, "schema"), ["builtin:openclaw-2026.9.6: matches"]);
        let o = look_in(&cfg("bad.json", "openclaw-not-installed"), d).await;
        assert_eq!(o.health, Health::Critical, "{o:?}");
        for want in [
            "4 schema violation(s) (builtin:openclaw-2026.9.6)",
            "heartbeat: unknown key",
            "cron.jobs: unknown key",
            "plugins.entries.acpx.source: unknown key",
            "gateway.bind: ",
        ] {
            assert!(o.summary.contains(want), "{want}: {}", o.summary);
        }
        assert_eq!(ev(&o, "schema_error").len(), 4);
        assert!(!format!("{o:?}").contains("sk-ant-secret"));
        assert!(!format!("{o:?}").contains("everywhere"));
        // the CLI answered: its verdict stands, the schema of one version is not judged
        let o = look_in(&cfg("bad.json", "openclaw"), d).await;
        assert_eq!(o.health, Health::Ok, "{o:?}");
        assert_eq!(
            ev(&o, "schema"),
            ["builtin:openclaw-2026.9.6: not judged, the validator answered"]
        );
        // a document breaking thousands of rules is counted up to the bound
        let many: serde_json::Map<String, Value> =
            (0..150).map(|i| (format!("k{i}"), Value::Null)).collect();
        std::fs::write(d.join("many.json"), Value::Object(many).to_string()).unwrap();
        let o = look_in(
            &probe("path = \"many.json\"\nschema = \"builtin:openclaw-2026.9.6\""),
            d,
        )
        .await;
        assert_eq!(o.health, Health::Critical, "{o:?}");
        assert!(
            o.summary.starts_with("many.json: 100+ schema violation(s)")
                && o.summary.ends_with("(+95 more and others not counted)"),
            "{}",
            o.summary
        );
        assert_eq!(ev(&o, "schema_error").len(), SHOWN_SCHEMA_EVIDENCE);
        // configuration mistakes are refused before any run
        let bad =
            testkit::invalid::<ConfigFile>("path = \"a.json\"\nschema = \"builtin:openclaw-1.0\"");
        assert!(bad[0].message.contains("builtin:openclaw-2026.9.6"));
        let bad = testkit::invalid::<ConfigFile>(
            "path = \"a.json\"\nschema = \"builtin:openclaw-2026.9.6\"\nschema_if_no_validator = true",
        );
        assert_eq!(bad[0].key, "schema_if_no_validator");
    }

    #[tokio::test]
    async fn disappeared_keys_since_last_good_are_degraded() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("openclaw.json");
        std::fs::write(
            &f,
            r#"{"gateway": {"port": 18789, "auth": {"token": "x"}}, "channels": {"slack": {"enabled": true}},
                "agents": {"list": [{"id": "hub"}, {"id": "cs"}]}}"#,
        )
        .unwrap();
        let p = probe("path = \"openclaw.json\"");
        let good = look_in(&p, dir.path()).await;
        assert_eq!(good.health, Health::Ok);
        let facts = good.facts.clone().unwrap();

        // The ByteRover clobber: a minimal config replaced the file.
        std::fs::write(&f, r#"{"plugins": {"entries": {"byterover": {"enabled": true}}}, "agents": {"list": [{"id": "hub"}]}}"#).unwrap();
        let o = look_with(&p, dir.path(), Some(&facts), chrono::Utc::now()).await;
        assert_eq!(o.health, Health::Degraded, "{o:?}");
        assert_eq!(ev(&o, "removed_keys"), ["channels, gateway"]);
        let kept = o
            .facts
            .clone()
            .expect("the baseline is carried while degraded");
        assert_eq!(
            kept["keys"], facts["keys"],
            "a degraded version must not become the baseline"
        );
        assert!(kept["removed_since"].is_i64());
        // still missing a day later: taken as intended, the new keys become the baseline
        let mut later = kept.clone();
        later["removed_since"] = (chrono::Utc::now().timestamp() - 25 * 3600).into();
        let o = look_with(&p, dir.path(), Some(&later), chrono::Utc::now()).await;
        assert_eq!(o.health, Health::Ok, "{o:?}");
        assert!(ev(&o, "accepted_removal")[0].contains("channels, gateway"));
        assert!(o.facts.as_ref().unwrap().get("removed_since").is_none());

        // Keys back: ok again.
        std::fs::write(&f, r#"{"gateway": {"port": 1, "auth": {"token": "y"}}, "channels": {"slack": {"enabled": false}}, "agents": {"list": []}, "new": 1}"#).unwrap();
        let o = look_with(&p, dir.path(), Some(&facts), chrono::Utc::now()).await;
        assert_eq!(o.health, Health::Degraded, "{o:?}");
        assert_eq!(ev(&o, "removed_keys"), ["agents.list[]"]);
    }

    #[tokio::test]
    async fn validate_command_missing_and_unreadable_files() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("openclaw.json"), r#"{"gateway": {"port": 18789}}"#).unwrap();
        let bin = d.join("openclaw");
        std::fs::write(
            &bin,
            "#!/bin/sh\nif [ \"$MODE\" = bad ]; then echo 'Unrecognized key: heartbeat' >&2; exit 78; fi\necho '{\"valid\":true}'\n",
        )
        .unwrap();
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
        let cfg = |mode: &str| {
            probe(&format!(
                "path = \"openclaw.json\"\nvalidate_command = [\"openclaw\", \"config\", \"validate\", \"--json\"]\nvalidate_env = {{ PATH = \"{}:/usr/bin:/bin\", MODE = \"{mode}\" }}\nvalidate_timeout = \"5s\"",
                d.display()
            ))
        };
        assert_eq!(look_in(&cfg("good"), d).await.health, Health::Ok);
        let o = look_in(&cfg("bad"), d).await;
        assert_finding(&o, Health::Critical, "exited 78");
        assert!(ev(&o, "validate_output")[0].contains("Unrecognized key"));
        // a validator that is not installed: unknown, or skipped with a note when optional
        let absent = "path = \"openclaw.json\"\nvalidate_command = [\"openclaw-not-installed\"]";
        assert_eq!(look_in(&probe(absent), d).await.health, Health::Unknown);
        let o = look_in(&probe(&format!("{absent}\nvalidate_if_present = true")), d).await;
        assert_eq!(o.health, Health::Ok, "{o:?}");
        assert!(ev(&o, "validator")[0].starts_with("skipped: 'openclaw-not-installed' not found"));

        let o = look_in(&probe("path = \"gone/openclaw.json\""), d).await;
        testkit::assert_starts(&o, Health::Critical, "config file missing");
        let o = look_in(&probe("path = \"gone/config.toml\"\noptional = true"), d).await;
        testkit::assert_starts(&o, Health::Ok, "not present (optional)");
        // optional only forgives absence: a broken file is still judged
        std::fs::write(d.join("broken.json"), "{").unwrap();
        let o = look_in(&probe("path = \"broken.json\"\noptional = true"), d).await;
        assert_eq!(o.health, Health::Critical, "{o:?}");

        // Tests run as root, so a mode-000 file is still readable: a directory in place of the
        // file is the unreadable case.
        std::fs::create_dir(d.join("dir.json")).unwrap();
        let o = look_in(&probe("path = \"dir.json\""), d).await;
        assert_eq!(o.health, Health::Unknown, "{o:?}");
    }

    #[test]
    fn key_paths_parse_and_bad_ones_are_invalid() {
        assert_eq!(
            parse_key_path("agents.list[0].id").unwrap(),
            [
                Seg::Key("agents".into()),
                Seg::Key("list".into()),
                Seg::Index(0),
                Seg::Key("id".into())
            ]
        );
        assert_eq!(parse_key_path("[*]").unwrap(), [Seg::Any]);
        assert_eq!(parse_key_path("a.*.b").unwrap().len(), 3);
        for bad in ["", "a..b", "a[", "a[x]", "a]b"] {
            assert!(parse_key_path(bad).is_err(), "{bad}");
        }
        let keys = testkit::invalid_keys::<ConfigFile>(
            "path = \"x.conf\"\nforbid = [\"ok\", \"a..b\"]\nvalidate_env = { A = \"b\" }",
        );
        assert_eq!(keys, ["format", "forbid[1]", "validate_command"]);
    }

    /// OpenClaw's openclaw.json is JSON5: comments, trailing commas and unquoted keys parse; a
    /// real syntax error still has its line and column. Policy assertions name key paths.
    #[tokio::test]
    async fn json5_and_policy_assertions() {
        let d = tempfile::tempdir().unwrap();
        let good = "// the hub\n{\n  gateway: { port: 18789, bind: 'loopback', auth: { mode: 'token', token: 'fixture-secret-token' }, },\n  channels: { slack: { enabled: true }, mattermost: { enabled: false } },\n  plugins: { entries: { acpx: { enabled: true, config: { permissionMode: 'approve-all' } } } },\n  agents: { defaults: { model: { primary: 'anthropic/claude-sonnet-4-5', fallbacks: ['openai/gpt-5.4'] } } },\n}\n";
        std::fs::write(d.path().join("good.json"), good).unwrap();
        let bad = good
            .replace("bind: 'loopback'", "bind: 'lan'")
            .replace(
                "mattermost: { enabled: false }",
                "mattermost: { enabled: true }",
            )
            .replace(
                "config: { permissionMode",
                "source: 'npm:x', config: { permissionMode",
            )
            .replace("'openai/gpt-5.4'", "'openrouter/qwen/qwen3:free'")
            .replace("'approve-all'", "'approve-reads'");
        std::fs::write(d.path().join("bad.json"), bad).unwrap();
        std::fs::write(d.path().join("broken.json"), "{\n  a: 1,\n  b: ,\n}\n").unwrap();
        let src = |file: &str| {
            format!(
                r#"path = "{file}"
format = "json5"
expect = [
  {{ path = "$.gateway.bind", in = "loopback, auto", optional = true }},
  {{ path = "$.channels", allowed_keys = "slack", enabled_only = true }},
  {{ path = "$.plugins.entries.*", allowed_keys = ["enabled", "hooks", "subagent", "config"] }},
  {{ path = "$.plugins.entries.*.config.permissionMode", in = ["approve-all"], optional = true }},
  {{ path = "$.agents.defaults.model.fallbacks[*]", not_matches_any = ":free$", optional = true }},
  {{ path = "$.gateway.auth.token", equals = "other" }},
]"#
            )
        };
        let o = look_in(
            &probe(&src("good.json").replace(
                "{ path = \"$.gateway.auth.token\", equals = \"other\" },\n",
                "",
            )),
            d.path(),
        )
        .await;
        assert_eq!(o.health, Health::Ok, "{o:?}");
        assert_eq!(ev(&o, "format"), ["json5"]);
        let o = look_in(&probe(&src("bad.json")), d.path()).await;
        assert_eq!(o.health, Health::Critical, "{o:?}");
        let all = format!("{o:?}");
        for needle in [
            "$.gateway.bind is string \\\"lan\\\" (expected in [loopback, auto])",
            "$['channels'] has keys outside the allowed set: mattermost",
            "$['plugins']['entries']['acpx'] has keys outside the allowed set: source",
            "permissionMode'] is string \\\"approve-reads\\\"",
            "qwen3:free",
        ] {
            assert!(all.contains(needle), "{needle} not in {all}");
        }
        // a value under a secret-looking key is never quoted
        testkit::assert_lacks(&all, &["fixture-secret-token"]);
        let o = look_in(
            &probe("path = \"broken.json\"\nformat = \"json5\""),
            d.path(),
        )
        .await;
        testkit::assert_starts(&o, Health::Critical, "broken.json:3:");
        // strict JSON stays strict
        let o = look_in(&probe("path = \"good.json\"\nformat = \"json\""), d.path()).await;
        assert_eq!(o.health, Health::Critical, "{o:?}");
    }

    /// A validator that exits 0 but says {"valid": false} is believed, not its exit code.
    #[tokio::test]
    async fn validator_verdict_is_read_from_its_json() {
        assert_eq!(
            invalid_verdict(
                "noise\n{\"valid\": false, \"issues\": [{\"path\": \"cron\", \"message\": \"Unrecognized key: \\\"jobs\\\"\"}]}\n"
            ),
            Some(vec!["cron: Unrecognized key: \"jobs\"".to_string()])
        );
        assert_eq!(invalid_verdict("{\"valid\": true, \"issues\": []}"), None);
        assert_eq!(invalid_verdict("not json"), None);
    }

    /// Issue 10 row 3: nesting past the parsers' limits is `unknown` naming the limit, never a
    /// crash (100,000 `[` in a JSON5 file overflowed the stack and aborted the process) and
    /// never a syntax finding; nesting at the limit still parses.
    #[tokio::test]
    async fn nesting_past_the_limit_is_unknown_not_a_crash() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        // a comment makes it JSON5 proper, so the JSON5 parser is the one asked
        std::fs::write(d.join("deep.json5"), format!("// hostile\n{deep}")).unwrap();
        std::fs::write(d.join("deep.json"), &deep).unwrap();
        std::fs::write(d.join("deep.yaml"), &deep).unwrap();
        std::fs::write(d.join("deep.toml"), format!("a = {deep}\n")).unwrap();
        for (file, needle) in [
            (
                "deep.json5",
                "nested deeper than 128 levels at line 2, column 129",
            ),
            ("deep.json", "nested deeper than 128 levels at line 1"),
            ("deep.yaml", "nested deeper than"),
            ("deep.toml", "nested deeper than the TOML parser allows"),
        ] {
            let o = look_in(&probe(&format!("path = \"{file}\"")), d).await;
            assert_eq!(o.health, Health::Unknown, "{file}: {o:?}");
            assert!(
                o.summary.starts_with(&format!("{file}: not parsed: ")),
                "{o:?}"
            );
            assert!(o.summary.contains(needle), "{file}: {}", o.summary);
            assert!(o.facts.is_none());
        }
        // exactly at the limit, with strings and comments holding brackets: parsed
        let at = format!(
            "// [[[ not counted\n{}\"]]]\", '[[' /* {{{{ */ {}",
            "[".repeat(MAX_NESTING),
            "]".repeat(MAX_NESTING)
        );
        std::fs::write(d.join("at.json5"), at).unwrap();
        let o = look_in(&probe("path = \"at.json5\""), d).await;
        assert_eq!(o.health, Health::Ok, "{o:?}");
    }

    /// A YAML document past the YAML parser's node budget is `unknown` naming the budget (it
    /// was reported as a critical syntax error "budget breached"); so is TOML past 1 MiB (an
    /// 8 MiB TOML file peaked at 665 MB).
    #[tokio::test]
    async fn yaml_and_toml_past_their_budgets_are_unknown() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("big.yaml"), "- 0\n".repeat(300_000)).unwrap();
        let o = look_in(&probe("path = \"big.yaml\""), dir.path()).await;
        testkit::assert_starts(
            &o,
            Health::Unknown,
            "big.yaml: not parsed: more than 250000 YAML nodes at line ",
        );
        let toml = format!("a = [{}0]\n", "0,".repeat(TOML_MAX_BYTES / 2));
        std::fs::write(dir.path().join("big.toml"), &toml).unwrap();
        let o = look_in(&probe("path = \"big.toml\""), dir.path()).await;
        assert_eq!(o.health, Health::Unknown, "{o:?}");
        assert_eq!(
            o.summary,
            format!(
                "big.toml: not parsed: {} bytes is past the TOML parsing budget of 1048576 bytes (1 MiB)",
                toml.len()
            )
        );
        // at the budget it is parsed
        let toml = format!("a = [{}0]\n", "0,".repeat(TOML_MAX_BYTES / 2 - 4));
        assert!(toml.len() <= TOML_MAX_BYTES);
        std::fs::write(dir.path().join("big.toml"), &toml).unwrap();
        let o = look_in(&probe("path = \"big.toml\""), dir.path()).await;
        assert_eq!(o.health, Health::Ok, "{o:?}");
    }

    /// A `forbid` pattern matching a huge number of keys names the first few and counts the
    /// rest, instead of one summary line per match.
    #[tokio::test]
    async fn forbid_matches_are_capped() {
        let dir = tempfile::tempdir().unwrap();
        let body: Vec<String> = (0..5000).map(|i| format!("\"k{i}\": {i}")).collect();
        std::fs::write(dir.path().join("c.json"), format!("{{{}}}", body.join(","))).unwrap();
        let o = look_in(&probe("path = \"c.json\"\nforbid = [\"*\"]"), dir.path()).await;
        assert_eq!(o.health, Health::Critical, "{o:?}");
        assert_eq!(ev(&o, "forbidden_key").len(), SHOWN_FORBIDDEN);
        assert!(
            o.summary
                .ends_with("; 4992 more forbidden keys matching * present"),
            "{}",
            o.summary
        );
    }

    /// OpenClaw's per-agent session store (`agents/<agentId>/sessions/sessions.json`: session key
    /// → entry), with a model override on one session.
    fn session_store(dir: &Path, agent: &str, model: &str) {
        let s = dir.join("agents").join(agent).join("sessions");
        std::fs::create_dir_all(&s).unwrap();
        std::fs::write(
            s.join("sessions.json"),
            format!(
                r#"{{
  "agent:{agent}:main": {{ "sessionId": "6f1c0e52-4d1b-4c55-9d0e-1a2b3c4d5e6f", "updatedAt": 1790000000000, "chatType": "direct" }},
  "agent:{agent}:slack:channel:c0123abc": {{
    "sessionId": "0b7e2d9a-7c1f-4e8b-a2d4-5f6e7d8c9b0a",
    "updatedAt": 1790003600000,
    "providerOverride": "openrouter",
    "modelOverride": "{model}",
    "modelOverrideSource": "user",
    "inputTokens": 1200,
    "outputTokens": 300
  }}
}}"#
            ),
        )
        .unwrap();
    }

    #[tokio::test]
    async fn a_path_pattern_judges_every_match_and_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        session_store(d, "cs", "anthropic/claude-sonnet-4-5");
        session_store(d, "retail", "meta-llama/llama-3.3-70b-instruct:free");
        let src = "path = \"agents/*/sessions/sessions.json\"\nformat = \"json\"\noptional = true\n\
                   expect = [{ path = \"$.*.modelOverride\", not_matches_any = \":free$\", optional = true }]";
        let p = probe(src);
        let o = look_in(&p, d).await;
        assert_finding(
            &o,
            Health::Critical,
            "agents/retail/sessions/sessions.json: ",
        );
        assert!(
            o.summary.contains(
                "$['agent:retail:slack:channel:c0123abc']['modelOverride'] is string \"meta-llama/llama-3.3-70b-instruct:free\""
            ),
            "{o:?}"
        );
        assert!(!o.summary.contains("agents/cs/"), "{o:?}");
        assert_eq!(ev(&o, "files"), ["2"]);

        // no free override left: ok, every match judged
        session_store(d, "retail", "openai/gpt-5.4");
        let o = look_in(&p, d).await;
        assert_finding(&o, Health::Ok, "2 file(s) matching ");

        // one store broken: critical at its line, the other still judged
        std::fs::write(
            d.join("agents/cs/sessions/sessions.json"),
            "{\n  \"a\": ,\n}",
        )
        .unwrap();
        let o = look_in(&p, d).await;
        assert_finding(&o, Health::Critical, "agents/cs/sessions/sessions.json:2:");

        // one store too large to read: unknown, said of that file
        let small = probe(&format!("{src}\nmax_file_bytes = 100"));
        session_store(d, "cs", "x");
        let o = look_in(&small, d).await;
        assert_eq!(o.health, Health::Unknown, "{o:?}");
        assert!(o.summary.contains("cannot read "), "{o:?}");

        // nothing matches: optional is ok, else critical
        let empty = tempfile::tempdir().unwrap();
        let o = look_in(&p, empty.path()).await;
        assert_finding(&o, Health::Ok, "no file matches ");
        let required = probe(&src.replace("optional = true\n", ""));
        let o = look_in(&required, empty.path()).await;
        assert_finding(&o, Health::Critical, "no file matches ");

        // under --root the pattern is expanded inside the tree
        let tree = tempfile::tempdir().unwrap();
        session_store(&tree.path().join("srv"), "retail", "qwen/qwen3-coder:free");
        let rooted = probe(&src.replace("path = \"agents/*", "path = \"/srv/agents/*"));
        let o = testkit::look_under(&rooted, tree.path()).await;
        assert_finding(
            &o,
            Health::Critical,
            &format!(
                "{}/srv/agents/retail/sessions/sessions.json: ",
                tree.path().display()
            ),
        );
    }

    #[test]
    fn a_path_pattern_refuses_per_file_settings() {
        let keys = testkit::invalid_keys::<ConfigFile>(
            "path = \"/a/*/s.json\"\ntrack_keys = true\nschema = \"s.json\"\nvalidate_command = [\"true\"]",
        );
        assert_eq!(keys, ["track_keys", "schema", "validate_command"]);
        // a pattern alone is fine, and tracks no keys
        assert!(!probe("path = \"/a/*/s.json\"").tracks_keys());
        assert!(probe("path = \"/a/s.json\"").tracks_keys());
    }
}
