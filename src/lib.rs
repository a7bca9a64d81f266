//! ledgerd: turns the Failure Ledger's lessons into scheduled probes, records every observation,
//! alerts citing the lesson, and shows a dashboard of violated lessons.
//!
//! # Architecture
//!
//! One direction, no back and forth (the full design: `docs/ARCHITECTURE.md`):
//!
//! ```text
//! config.toml + includes ─► config (parse once, typed, every error with its path; exit 78)
//!                              │
//!                     engine::scheduler (every/cron, coalesced ticks, timeout, concurrency)
//!                              │ runs
//!                     probe::<kind>::observe() ─► Observation {health, summary, evidence, metrics, facts}
//!                              │ (channel)
//!                     engine::recorder ─ engine::state::step (pure) ─► store (one transaction per batch:
//!                              │          observations, state, incidents, transitions, outbox rows)
//!                              │ hands alerts down
//!                     delivery::route decides which channels; silences, shadow mode and failing
//!                     parents mute; delivery::outbox (group_wait, storm cap, retries)
//!                              ─► alert::<kind>::send(); delivery::digest, repost, ack
//!                     web (ledger page, API, /metrics)   cmd (CLI)
//! ```
//!
//! # Layers
//!
//! The house drawn from the imports. A module may `use` only modules of a lower layer; a file
//! never imports a file that imports it back. `tests/it/tidy.rs` reads this list and checks every
//! `crate::` path outside `#[cfg(test)]` against it, so a new top-level module must be added here.
//!
//! - layer 10: `cmd`, `fuzzing`
//! - layer 9: `daemon`
//! - layer 8: `web`
//! - layer 7: `shared`
//! - layer 6: `engine`
//! - layer 5: `delivery`, `status`
//! - layer 4: `config`
//! - layer 3: `alert`, `store`
//! - layer 2: `probe`
//! - layer 1: `cli`, `duration`, `exec`, `http_client`, `ledger`, `password`, `platform`, `plistdoc`,
//!   `proc`, `redact`, `reroot`, `shell`, `tokens`
//! - layer 0: `patterns`, `read`
//!
//! Rooms: a probe kind (`probe/<kind>.rs`) imports only the probe contract (`probe/mod.rs` and
//! the helper modules in `probe/`) and the leaves (layers 0 and 1); a channel kind (`alert/<kind>.rs`)
//! only `alert`'s helpers, the probe contract and the leaves.
//!
//! # Code map
//!
//! - `config/`: `mod.rs` (typed `Config`, `load*`), `load.rs` (bounded reads, TOML, assembly,
//!   warnings), `includes.rs` (includes, `[vars]`, expansion), `probes.rs`, `channels.rs`
//!   (channels, routes, waivers), `daemon.rs` (`[daemon]`), `raw.rs` (serde mirror), `error.rs`
//!   (`ConfigError` with file, key path, line:column), `env.rs` (`${VAR}`, `*_file`).
//! - `duration.rs`: the one duration parser. `password.rs`: Argon2 hash check and hashing.
//! - `ledger.rs`: `LessonId`, `Lesson`, the catalog compiled in from `checks/ledger.toml`.
//! - `probe/mod.rs`: the `Probe` trait, `Observation`, `Health`, `ProbeCx`; `probe_kinds!`
//!   registers one file per kind (`probe/<kind>.rs`). Helpers shared by kinds are `pub mod`:
//!   `expect.rs` (JSON assertions), `shape.rs` (response-shape memory kept in facts),
//!   `docmeta.rs` (front matter, dates, timestamps in backup names), `json5doc.rs` (the one
//!   JSON5 parser, nesting bounded before the json5 crate recurses), `hermes_env.rs` (dotenv as
//!   a document; Hermes' `.env` with the platforms its gateway derives from it), `pathglob.rs`
//!   (bounded `*` paths, the one glob-to-regex), `scriptscan.rs` (what a job's script needs
//!   from its environment, read through `crate::shell`). A kind remembers what it saw
//!   across runs in `Observation::facts`, handed back as `ProbeCx::prior`.
//! - `engine/`: `scheduler.rs` (when and how probes run), `state.rs` (pure state machine),
//!   `recorder.rs` (applies observations and writes batches), `thresholds` (effective thresholds).
//! - `delivery/`: `About::alert` (the one place an `Alert` is built), `route.rs` (where),
//!   `outbox.rs` (durable delivery: grouping, storm cap, retries), `ack.rs` (acknowledgements),
//!   `digest.rs` (daily digest), `repost.rs` (re-posting firing alerts to Alertmanager).
//! - `alert/`: `Alert`, the `Channel` trait and `channel_kinds!` (one private `mod` + one file per
//!   channel kind: webhook, slack, discord, telegram, teams, mattermost, ntfy, gotify, whatsapp,
//!   email, desktop, alertmanager, incident_note). Helpers are `pub mod`: `render.rs` (plain
//!   text), `escape.rs` (per-markup escaping of probed text), `template.rs` (minijinja overrides),
//!   `chat.rs` (shared delivery for chat webhooks).
//! - `store/`: SQLite with append-only migrations in `store/migrations/`.
//! - `status.rs`: lesson state from probe health, shared by CLI and dashboard.
//! - `web/`: axum server (`mod.rs`: routes, security headers; `serve.rs`: accept loop, header and
//!   idle timeouts, connection cap, EMFILE as the daemon's own fault), `auth.rs` (token, basic auth,
//!   Host/Origin checks, CSRF), `view.rs` (one snapshot for page, API and metrics), `pages.rs`
//!   (display structs for the HTML pages, SVG history, forms), `render.rs` + `templates/`
//!   (minijinja templates, embedded, auto-escaped by `alert::escape::html`), `api.rs` (JSON API, its shapes), `metrics.rs` (/metrics),
//!   `assets/` (CSS, JS, OpenAPI document; embedded). `daemon.rs`: wiring, signals, reload.
//! - `shared.rs`: `Shared` (config, store, liveness) and `RunMetrics`, read by web and daemon.
//! - `exec.rs`: read-only child processes for probes. `http_client.rs`: the one HTTP client.
//! - `redact.rs`: `Secret`, fingerprints and the one redaction registry (`register`, `scrub`).
//!   `platform.rs`: paths, host name, sd_notify.
//! - `fuzzing.rs` (feature `fuzzing` only): entry points for the fuzz targets in `fuzz/`.
//! - `tokens.rs`: JWT claims, expiry values and dotenv parsing shared by the credential kinds.
//! - `patterns.rs`: every static regular expression (compiled with `expect`, forced by one test).
//! - `proc.rs`: the one reader of a proc tree (pids, comm, cmdline, status, environ, sockets,
//!   meminfo/loadavg/vmstat/net/tcp), through `read.rs`; used by `process`, `listen_ports`, `resources`.
//! - `plistdoc.rs`: the one plist parser (nesting and binary expansion bounded before `plist`).
//! - `read.rs`: the one bounded file reader (regular files only, a cap, "truncated at N").
//! - `reroot.rs`: the one re-anchoring of paths under an audited tree (`--root DIR`): `..` and
//!   symlinks stay inside it. Used by every kind through `ProbeCx::resolve`/`resolve_inner`.
//! - `shell.rs`: the shell reader (simple commands, variables, heredocs; iterative, depth-limited),
//!   shared by the kinds that read command lines (`cron_env`, `systemd_unit`, `launchd_job`).
//! - `cli.rs` + `cmd/`: the command line, one file per subcommand; `main.rs` maps exit codes.
//!
//! # Invariants
//!
//! - `config` is the only place that knows the file format; everything after it sees typed values.
//! - `probe::*` only looks. It never alerts, never writes the store, never changes what it audits.
//! - `engine::state` does no I/O and never reads the clock: `now` is a parameter.
//! - `delivery::route` decides whether and where; a channel file only formats and delivers.
//! - Delivery goes through the durable outbox in the store, so a crash or a dead webhook loses
//!   nothing; retries live once, in `delivery::outbox`.
//! - Nothing outside `probe/<kind>.rs` (or `alert/<kind>.rs`) mentions a kind by name.
//! - Secrets are `redact::Secret`: shown only as `sha256:xxxxxxxx` fingerprints. Every secret
//!   value (`*_file`, `${ENV}`, token files, `command` env) is registered with `redact`, and
//!   `redact::scrub` runs centrally on observations, store writes, web responses, logs and
//!   `check` output.
//! - A failing probe is data; only the daemon's own faults are errors.
//! - Every alert cites its lesson (`L14 · Cron is not your shell — …`); an incident is announced
//!   once (restarts, reloads and floods do not repeat it) and never silently dropped: a muted
//!   incident is announced when its mute ends, a held storm is summarised in one message.

#![cfg_attr(not(test), forbid(unsafe_code))]

pub mod alert;
pub mod cli;
pub mod cmd;
pub mod config;
pub mod daemon;
pub mod delivery;
pub mod duration;
pub mod engine;
pub mod exec;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
pub mod http_client;
pub mod ledger;
pub mod password;
pub mod patterns;
pub mod platform;
pub mod plistdoc;
pub mod probe;
pub mod proc;
pub mod read;
pub mod redact;
pub mod reroot;
pub mod shared;
pub mod shell;
pub mod status;
pub mod store;
pub mod tokens;
pub mod web;
