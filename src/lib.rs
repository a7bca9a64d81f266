//! ledgerd: turns the Failure Ledger's lessons into scheduled probes, records every observation,
//! alerts citing the lesson, and shows a dashboard of violated lessons.
//!
//! # Architecture
//!
//! One direction, no back and forth:
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
//!                              │                 alert::route decides which channels
//!                     alert::outbox ─► channel::<kind>::send()      web (ledger page, API)   cmd (CLI)
//! ```
//!
//! # Code map
//!
//! - `config/`: `raw.rs` (serde mirror), `mod.rs` (typed `Config`, loader, includes, validation),
//!   `error.rs` (`ConfigError` with file, key path, line:column), `env.rs` (`${VAR}`, `*_file`).
//! - `ledger.rs`: `LessonId`, `Lesson`, the catalog compiled in from `checks/ledger.toml`.
//! - `probe/mod.rs`: the `Probe` trait, `Observation`, `Health`, `ProbeCx`; `probe_kinds!`
//!   registers one file per kind (`probe/<kind>.rs`).
//! - `engine/`: `scheduler.rs` (when and how probes run), `state.rs` (pure state machine),
//!   `recorder.rs` (applies observations and writes batches).
//! - `alert/`: `Alert`, the `Channel` trait and `channel_kinds!` (one file per channel kind),
//!   `route.rs` (where), `render.rs` (text), `outbox.rs` (durable delivery and retries).
//! - `store/`: SQLite with append-only migrations in `store/migrations/`.
//! - `status.rs`: lesson state from probe health, shared by CLI and dashboard.
//! - `web/`: axum server (`mod.rs`: routes, security headers), `auth.rs` (token, basic auth,
//!   Host/Origin checks, CSRF), `view.rs` (one snapshot for page, API and metrics), `pages.rs`
//!   (HTML, SVG history, forms), `api.rs` (JSON API, its shapes), `metrics.rs` (/metrics),
//!   `assets/` (CSS, JS, OpenAPI document; embedded). `daemon.rs`: wiring, signals, reload.
//! - `alert/ack.rs`: acknowledging an incident (store + "acknowledged" notifications).
//! - `exec.rs`: read-only child processes for probes. `http_client.rs`: the one HTTP client.
//! - `redact.rs`: `Secret` and fingerprints. `platform.rs`: paths, host name, sd_notify.
//! - `cli.rs` + `cmd/`: the command line, one file per subcommand; `main.rs` maps exit codes.
//!
//! # Invariants
//!
//! - `config` is the only place that knows the file format; everything after it sees typed values.
//! - `probe::*` only looks. It never alerts, never writes the store, never changes what it audits.
//! - `engine::state` does no I/O and never reads the clock: `now` is a parameter.
//! - `alert::route` decides whether and where; a channel file only formats and delivers.
//! - Delivery goes through the durable outbox in the store, so a crash or a dead webhook loses
//!   nothing; retries live once, in `alert::outbox`.
//! - Nothing outside `probe/<kind>.rs` (or `alert/<kind>.rs`) mentions a kind by name.
//! - Secrets are `redact::Secret`: shown only as `sha256:xxxxxxxx` fingerprints.
//! - A failing probe is data; only the daemon's own faults are errors.

pub mod alert;
pub mod cli;
pub mod cmd;
pub mod config;
pub mod daemon;
pub mod engine;
pub mod exec;
pub mod http_client;
pub mod ledger;
pub mod platform;
pub mod probe;
pub mod redact;
pub mod status;
pub mod store;
pub mod web;
