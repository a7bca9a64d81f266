//! The SQLite store under `state_dir`: observations, per-probe state, incidents, transitions and
//! the delivery outbox. Owns the schema (append-only migrations in `store/migrations`), WAL mode,
//! file mode 0600, batching, retention and the integrity check at start (`open_checked`: a
//! damaged store is moved aside, never written over). Its size follows change, not runs: the newest
//! `keep_observations` observations per probe, every transition with the observation that caused
//! it, rollups per 5 minutes and per hour (`rollup.rs`), each tier pruned by its own retention.
//! Every text it writes is scrubbed of registered secrets (`redact::scrub`). It must not decide
//! health or routing: callers hand it finished rows.

use serde::Serialize;
use std::path::{Path, PathBuf};

pub mod rollup;
pub use rollup::{RollupRow, Rollups};

/// Append-only migrations; `PRAGMA user_version` records how many ran.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_init.sql"),
    include_str!("migrations/0002_silences_acks.sql"),
    include_str!("migrations/0003_outbox_batches.sql"),
    include_str!("migrations/0004_agents.sql"),
    include_str!("migrations/0005_rollups.sql"),
    include_str!("migrations/0006_metric_names.sql"),
];
pub const DB_FILE: &str = "ledgerd.db";

/// Runs `sql` with `params` and collects every row through `map`.
fn all_rows<T, P: rusqlite::Params>(
    conn: &rusqlite::Connection,
    sql: &str,
    params: P,
    map: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> Result<Vec<T>, StoreError> {
    let mut st = conn.prepare(sql)?;
    let rows = st.query_map(params, map)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Every text the store writes passes here: no registered secret reaches a table (or the file).
fn clean(s: &str) -> String {
    crate::redact::scrub(s).into_owned()
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store directory '{path}': {source}")]
    Dir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("store '{path}': {source}")]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("store: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("{0}")]
    Invalid(String),
    #[error("store: the database at '{0}' is newer than this ledgerd (schema version {1})")]
    TooNew(PathBuf, i64),
}

pub struct Store {
    conn: rusqlite::Connection,
    path: PathBuf,
}

/// One stored observation row.
#[derive(Clone, Debug, Serialize)]
pub struct ObservationRow {
    pub id: i64,
    pub probe: String,
    pub lesson: u32,
    pub ts: i64,
    pub health: String,
    pub summary: String,
    pub body: serde_json::Value,
    pub duration_ms: i64,
    pub late_ms: i64,
    /// The agent the probe belonged to when it ran; null for host-wide probes.
    pub agent: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct StateRow {
    pub probe: String,
    pub state: serde_json::Value,
    pub facts: Option<serde_json::Value>,
    pub updated: i64,
}

#[derive(Clone, Debug, Serialize)]
pub struct IncidentRow {
    pub id: i64,
    pub probe: String,
    pub lesson: u32,
    pub opened: i64,
    pub closed: Option<i64>,
    pub health: String,
    pub summary: String,
    pub acked_by: Option<String>,
    pub acked_at: Option<i64>,
    pub ack_note: Option<String>,
    /// The probe's agent; null for host-wide probes.
    pub agent: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct TransitionRow {
    pub id: i64,
    pub probe: String,
    pub lesson: u32,
    pub ts: i64,
    pub kind: String,
    pub health: String,
    pub summary: String,
    pub incident: Option<i64>,
    pub muted: Option<String>,
    /// The probe's agent; null for host-wide probes.
    pub agent: Option<String>,
    /// The observation that caused the transition (its evidence), kept when observations are
    /// pruned; null for transitions recorded before store version 5.
    pub observation: Option<serde_json::Value>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct SilenceRow {
    pub id: i64,
    pub lesson: Option<u32>,
    pub probe: Option<String>,
    pub tag: Option<String>,
    pub host: Option<String>,
    /// Matches only the probes of this agent.
    pub agent: Option<String>,
    pub reason: String,
    pub created_by: String,
    pub created: i64,
    pub expires: i64,
    pub removed: Option<i64>,
}

/// What a silence is matched against: one probe's lessons, id, tags, agent and the host.
#[derive(Clone, Copy, Debug)]
pub struct SilenceTarget<'a> {
    pub lessons: &'a [u32],
    pub probe: &'a str,
    pub tags: &'a [String],
    pub agent: Option<&'a str>,
    pub host: &'a str,
}

impl SilenceRow {
    /// True when this silence covers the given lesson/probe/tags/host at `now_ms`.
    pub fn matches(
        &self,
        lessons: &[u32],
        probe: &str,
        tags: &[String],
        host: &str,
        now_ms: i64,
    ) -> bool {
        self.covers(
            &SilenceTarget {
                lessons,
                probe,
                tags,
                agent: None,
                host,
            },
            now_ms,
        )
    }

    /// True when this silence covers `t` at `now_ms`. A silence with an agent covers only
    /// that agent's probes (never host-wide ones).
    pub fn covers(&self, t: &SilenceTarget<'_>, now_ms: i64) -> bool {
        self.removed.is_none()
            && self.expires > now_ms
            && self.lesson.is_none_or(|l| t.lessons.contains(&l))
            && self.probe.as_deref().is_none_or(|p| p == t.probe)
            && self.tag.as_ref().is_none_or(|x| t.tags.contains(x))
            && self.host.as_deref().is_none_or(|h| h == t.host)
            && self.agent.as_deref().is_none_or(|a| Some(a) == t.agent)
    }

    /// What it matches, e.g. "agent cs, lesson L19".
    pub fn describe(&self) -> String {
        describe_matchers(
            self.agent.as_deref(),
            self.lesson,
            self.probe.as_deref(),
            self.tag.as_deref(),
            self.host.as_deref(),
        )
    }
}

/// What a silence with these matchers matches, e.g. "agent cs, lesson L19" (the one wording for
/// the store's silences and the config's waivers).
pub fn describe_matchers(
    agent: Option<&str>,
    lesson: Option<u32>,
    probe: Option<&str>,
    tag: Option<&str>,
    host: Option<&str>,
) -> String {
    let v: Vec<String> = [
        agent.map(|a| format!("agent {a}")),
        lesson.map(|l| format!("lesson L{l}")),
        probe.map(|p| format!("probe {p}")),
        tag.map(|t| format!("tag {t}")),
        host.map(|h| format!("host {h}")),
    ]
    .into_iter()
    .flatten()
    .collect();
    v.join(", ")
}

/// A new silence; at least one matcher must be set (checked by `add_silence`).
#[derive(Clone, Debug, Default)]
pub struct NewSilence {
    pub lesson: Option<u32>,
    pub probe: Option<String>,
    pub tag: Option<String>,
    pub host: Option<String>,
    pub agent: Option<String>,
    pub reason: String,
    pub created_by: String,
    pub expires: i64,
}

#[derive(Clone, Debug, Serialize)]
pub struct OutboxRow {
    pub id: i64,
    pub key: String,
    pub channel: String,
    pub created: i64,
    pub payload: String,
    pub status: String,
    pub attempts: i64,
    pub next_at: i64,
    pub last_error: Option<String>,
}

pub fn db_path(state_dir: &Path) -> PathBuf {
    state_dir.join(DB_FILE)
}

/// A damaged store found at start and moved aside (`Store::open_checked`).
#[derive(Debug, Clone)]
pub struct Damaged {
    /// The store file that failed the check.
    pub file: PathBuf,
    /// Where it is now (`<file>.corrupt-<timestamp>`); its `-wal`/`-shm` moved beside it.
    pub moved_to: PathBuf,
    /// What SQLite said.
    pub why: String,
}

/// SQLite calls the file damaged (`SQLITE_CORRUPT`) or not a database (`SQLITE_NOTADB`).
fn is_corruption(e: &StoreError) -> bool {
    let source = match e {
        StoreError::Open { source, .. } | StoreError::Sql(source) => source,
        _ => return false,
    };
    matches!(
        source.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase)
    )
}

/// Renames `file` (and its `-wal`, `-shm`) to `<name>.corrupt-<UTC timestamp>`, never over an
/// existing file; returns the new path of `file`.
fn move_aside(file: &Path) -> Result<PathBuf, StoreError> {
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
    let dir_err = |source| StoreError::Dir {
        path: file.to_path_buf(),
        source,
    };
    let mut suffix = format!("corrupt-{stamp}");
    let mut n = 1;
    let aside = |p: &Path, suffix: &str| {
        let mut name = p.as_os_str().to_os_string();
        name.push(format!(".{suffix}"));
        PathBuf::from(name)
    };
    while aside(file, &suffix).exists() {
        n += 1;
        suffix = format!("corrupt-{stamp}-{n}");
    }
    let moved = aside(file, &suffix);
    std::fs::rename(file, &moved).map_err(dir_err)?;
    for side in ["-wal", "-shm"] {
        let mut p = file.as_os_str().to_os_string();
        p.push(side);
        let p = PathBuf::from(p);
        if p.exists() {
            std::fs::rename(&p, aside(&p, &suffix)).map_err(dir_err)?;
        }
    }
    Ok(moved)
}

/// Page cache of a side connection, KiB (see `Store::open_side`).
pub const SIDE_CACHE_KIB: i64 = 256;

/// Page cache of the recorder's (and the CLI's) connection, KiB, instead of SQLite's 2 MB
/// default. Measured with benches/probe_load at 1,000 probes every 10 s (2026-12-03, same run):
/// peak RSS 25.2-25.4 MB against 26.5-26.9 MB with the default, CPU per run inside the noise
/// (0.069-0.079 against 0.073 ms); the pages it no longer holds are in the kernel's page cache.
pub const CACHE_KIB: i64 = 512;

impl Store {
    /// Opens (creating the directory with mode 0700 and the file with mode 0600) and migrates.
    pub fn open(state_dir: &Path) -> Result<Store, StoreError> {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        if !state_dir.exists() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(state_dir)
                .map_err(|source| StoreError::Dir {
                    path: state_dir.to_path_buf(),
                    source,
                })?;
        }
        let path = db_path(state_dir);
        let conn = rusqlite::Connection::open(&path).map_err(|source| StoreError::Open {
            path: path.clone(),
            source,
        })?;
        for p in [
            path.clone(),
            path.with_extension("db-wal"),
            path.with_extension("db-shm"),
        ] {
            if p.exists() {
                let _ = std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600));
            }
        }
        let mut store = Store { conn, path };
        store.configure()?;
        store.migrate()?;
        Ok(store)
    }

    /// `open` for the daemon's start: also runs `PRAGMA quick_check`. A damaged store (a failed
    /// check, or SQLite calling the file corrupt or not a database) is never written over: the
    /// file and its `-wal`/`-shm` are renamed `<file>.corrupt-<timestamp>` and a fresh store is
    /// created; `Damaged` says where the old one went and why.
    pub fn open_checked(state_dir: &Path) -> Result<(Store, Option<Damaged>), StoreError> {
        let why = match Store::open(state_dir) {
            Ok(s) => match s.quick_check() {
                Ok(None) => return Ok((s, None)),
                Ok(Some(why)) => why,
                Err(e) if is_corruption(&e) => e.to_string(),
                Err(e) => return Err(e),
            },
            Err(e) if is_corruption(&e) => e.to_string(),
            Err(e) => return Err(e),
        };
        let file = db_path(state_dir);
        let moved_to = move_aside(&file)?;
        let store = Store::open(state_dir)?;
        Ok((
            store,
            Some(Damaged {
                file,
                moved_to,
                why,
            }),
        ))
    }

    /// `None` when `PRAGMA quick_check` says "ok", else its first findings.
    pub fn quick_check(&self) -> Result<Option<String>, StoreError> {
        let found: Vec<String> = all_rows(&self.conn, "PRAGMA quick_check(5)", [], |r| r.get(0))?;
        Ok((found != ["ok"]).then(|| found.join("; ")))
    }

    /// Opens an existing store for reading; `None` when there is none yet.
    pub fn open_existing(state_dir: &Path) -> Result<Option<Store>, StoreError> {
        let path = db_path(state_dir);
        if !path.exists() {
            return Ok(None);
        }
        let conn = rusqlite::Connection::open(&path).map_err(|source| StoreError::Open {
            path: path.clone(),
            source,
        })?;
        let store = Store { conn, path };
        store.conn.busy_timeout(std::time::Duration::from_secs(5))?;
        Ok(Some(store))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Opens like `open`, with SQLite's page cache capped at `SIDE_CACHE_KIB` instead of
    /// `CACHE_KIB`: for the daemon's side connections (the web server's, and the one the outbox,
    /// re-posts and digests share), which read a few rows at a time; only the recorder's
    /// connection needs the larger cache.
    pub fn open_side(state_dir: &Path) -> Result<Store, StoreError> {
        let store = Store::open(state_dir)?;
        store
            .conn
            .pragma_update(None, "cache_size", -SIDE_CACHE_KIB)?;
        Ok(store)
    }

    fn configure(&self) -> Result<(), StoreError> {
        self.conn.busy_timeout(std::time::Duration::from_secs(5))?;
        self.conn.pragma_update(None, "journal_mode", "WAL")?;
        self.conn.pragma_update(None, "synchronous", "NORMAL")?;
        self.conn.pragma_update(None, "foreign_keys", "ON")?;
        self.conn.pragma_update(None, "cache_size", -CACHE_KIB)?;
        Ok(())
    }

    fn migrate(&mut self) -> Result<(), StoreError> {
        let version: i64 = self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))?;
        if version > MIGRATIONS.len() as i64 {
            return Err(StoreError::TooNew(self.path.clone(), version));
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version.max(0) as usize) {
            let tx = self.conn.transaction()?;
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", (i + 1) as i64)?;
            tx.commit()?;
        }
        Ok(())
    }

    /// Starts a write batch: everything in it commits together or not at all.
    pub fn batch(&mut self) -> Result<Batch<'_>, StoreError> {
        Ok(Batch {
            tx: self.conn.transaction()?,
        })
    }

    pub fn states(&self) -> Result<Vec<StateRow>, StoreError> {
        all_rows(
            &self.conn,
            "SELECT probe, state, facts, updated FROM probe_state ORDER BY probe",
            [],
            |r| {
                let state: String = r.get(1)?;
                let facts: Option<String> = r.get(2)?;
                Ok(StateRow {
                    probe: r.get(0)?,
                    state: serde_json::from_str(&state).unwrap_or(serde_json::Value::Null),
                    facts: facts.and_then(|f| serde_json::from_str(&f).ok()),
                    updated: r.get(3)?,
                })
            },
        )
    }

    /// The newest observation of each probe.
    pub fn latest_observations(&self) -> Result<Vec<ObservationRow>, StoreError> {
        self.observations_where(
            "id IN (SELECT MAX(id) FROM observations GROUP BY probe) ORDER BY probe",
            rusqlite::params![],
        )
    }

    /// Observations, newest first, optionally for one probe and/or lesson, before `before_id`.
    pub fn observations(
        &self,
        probe: Option<&str>,
        lesson: Option<u32>,
        since_ms: Option<i64>,
        before_id: Option<i64>,
        limit: u32,
    ) -> Result<Vec<ObservationRow>, StoreError> {
        self.observations_where(
            "(?1 IS NULL OR probe = ?1) AND (?2 IS NULL OR lesson = ?2) AND (?3 IS NULL OR ts >= ?3) AND (?4 IS NULL OR id < ?4) ORDER BY id DESC LIMIT ?5",
            rusqlite::params![probe, lesson, since_ms, before_id, limit],
        )
    }

    fn observations_where(
        &self,
        clause: &str,
        params: &[&dyn rusqlite::ToSql],
    ) -> Result<Vec<ObservationRow>, StoreError> {
        let sql = format!(
            "SELECT id, probe, lesson, ts, health, summary, body, duration_ms, late_ms, agent FROM observations WHERE {clause}"
        );
        all_rows(&self.conn, &sql, params, |r| {
            let body: String = r.get(6)?;
            Ok(ObservationRow {
                id: r.get(0)?,
                probe: r.get(1)?,
                lesson: r.get(2)?,
                ts: r.get(3)?,
                health: r.get(4)?,
                summary: r.get(5)?,
                body: serde_json::from_str(&body).unwrap_or(serde_json::Value::Null),
                duration_ms: r.get(7)?,
                late_ms: r.get(8)?,
                agent: r.get(9)?,
            })
        })
    }

    pub fn incidents(
        &self,
        open_only: bool,
        probe: Option<&str>,
        limit: u32,
    ) -> Result<Vec<IncidentRow>, StoreError> {
        self.incidents_for(open_only, probe, None, limit)
    }

    /// Incidents, newest first; `agent` as in `observations_for`.
    pub fn incidents_for(
        &self,
        open_only: bool,
        probe: Option<&str>,
        agent: Option<&str>,
        limit: u32,
    ) -> Result<Vec<IncidentRow>, StoreError> {
        all_rows(
            &self.conn,
            "SELECT id, probe, lesson, opened, closed, health, summary, acked_by, acked_at, ack_note, agent FROM incidents
             WHERE (?1 = 0 OR closed IS NULL) AND (?2 IS NULL OR probe = ?2) AND (?4 IS NULL OR COALESCE(agent, '') = ?4)
             ORDER BY id DESC LIMIT ?3",
            rusqlite::params![open_only as i64, probe, limit, agent],
            incident_row,
        )
    }

    pub fn incident(&self, id: i64) -> Result<Option<IncidentRow>, StoreError> {
        let mut st = self.conn.prepare("SELECT id, probe, lesson, opened, closed, health, summary, acked_by, acked_at, ack_note, agent FROM incidents WHERE id = ?1")?;
        let mut rows = st.query_map([id], incident_row)?;
        Ok(rows.next().transpose()?)
    }

    pub fn transitions(
        &self,
        probe: Option<&str>,
        limit: u32,
    ) -> Result<Vec<TransitionRow>, StoreError> {
        self.transitions_for(probe, None, limit)
    }

    /// Transitions, newest first; `agent` as in `observations_for`.
    pub fn transitions_for(
        &self,
        probe: Option<&str>,
        agent: Option<&str>,
        limit: u32,
    ) -> Result<Vec<TransitionRow>, StoreError> {
        all_rows(
            &self.conn,
            "SELECT id, probe, lesson, ts, kind, health, summary, incident, muted, agent, body FROM transitions WHERE (?1 IS NULL OR probe = ?1) AND (?3 IS NULL OR COALESCE(agent, '') = ?3) ORDER BY id DESC LIMIT ?2",
            rusqlite::params![probe, limit, agent],
            transition_row,
        )
    }

    /// Pending outbox rows due by `now_ms`, oldest first. Only the head of each channel's queue
    /// is returned, so delivery order per channel is kept even across retries.
    pub fn due_outbox(&self, now_ms: i64, limit: u32) -> Result<Vec<OutboxRow>, StoreError> {
        all_rows(
            &self.conn,
            "SELECT id, key, channel, created, payload, status, attempts, next_at, last_error FROM outbox
             WHERE id IN (SELECT MIN(id) FROM outbox WHERE status = 'pending' GROUP BY channel) AND next_at <= ?1
             ORDER BY id LIMIT ?2",
            rusqlite::params![now_ms, limit],
            outbox_row,
        )
    }

    /// Earliest `next_at` among pending rows, to sleep until.
    pub fn next_outbox_at(&self) -> Result<Option<i64>, StoreError> {
        Ok(self.conn.query_row("SELECT MIN(next_at) FROM outbox WHERE id IN (SELECT MIN(id) FROM outbox WHERE status = 'pending' GROUP BY channel)", [], |r| r.get(0))?)
    }

    pub fn outbox_depth(&self) -> Result<i64, StoreError> {
        Ok(self.conn.query_row(
            "SELECT COUNT(*) FROM outbox WHERE status = 'pending'",
            [],
            |r| r.get(0),
        )?)
    }

    /// Pending rows of one channel in delivery order, from `from_id` on.
    pub fn pending_for_channel(
        &self,
        channel: &str,
        from_id: i64,
        limit: u32,
    ) -> Result<Vec<OutboxRow>, StoreError> {
        all_rows(
            &self.conn,
            "SELECT id, key, channel, created, payload, status, attempts, next_at, last_error FROM outbox
             WHERE channel = ?1 AND status = 'pending' AND id >= ?2 ORDER BY id LIMIT ?3",
            rusqlite::params![channel, from_id, limit],
            outbox_row,
        )
    }

    /// Messages (not rows: a grouped message counts once) delivered to a channel since `since_ms`,
    /// and the time of the oldest of them.
    pub fn messages_sent_since(
        &self,
        channel: &str,
        since_ms: i64,
    ) -> Result<(i64, Option<i64>), StoreError> {
        Ok(self.conn.query_row(
            "SELECT COUNT(DISTINCT COALESCE(batch, id)), MIN(sent_at) FROM outbox WHERE channel = ?1 AND status = 'sent' AND sent_at >= ?2",
            rusqlite::params![channel, since_ms],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?)
    }

    /// Marks the rows of one delivered message sent together.
    pub fn mark_sent_batch(
        &self,
        ids: &[i64],
        now_ms: i64,
        receipt: &str,
    ) -> Result<(), StoreError> {
        let Some(&batch) = ids.first() else {
            return Ok(());
        };
        let tx = self.conn.unchecked_transaction()?;
        for id in ids {
            bump(&tx, "alerts_sent:", *id, "sent")?;
            tx.execute(
                "UPDATE outbox SET status = 'sent', sent_at = ?2, receipt = ?3, attempts = attempts + 1, batch = ?4 WHERE id = ?1",
                rusqlite::params![id, now_ms, clean(receipt), batch],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Storm control: takes every pending row of a channel out of the queue (status `held`) and
    /// queues one overflow message in their place, due at `next_at`. Returns the held rows.
    pub fn hold_pending(
        &self,
        channel: &str,
        overflow_key: &str,
        overflow_payload: &dyn Fn(&[OutboxRow]) -> String,
        now_ms: i64,
        next_at: i64,
    ) -> Result<Vec<OutboxRow>, StoreError> {
        let tx = self.conn.unchecked_transaction()?;
        let held: Vec<OutboxRow> = {
            all_rows(
                &tx,
                "SELECT id, key, channel, created, payload, status, attempts, next_at, last_error FROM outbox WHERE channel = ?1 AND status = 'pending' ORDER BY id",
                [channel],
                outbox_row,
            )?
        };
        if held.is_empty() {
            return Ok(held);
        }
        tx.execute(
            "INSERT OR IGNORE INTO outbox (key, channel, created, payload, next_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            rusqlite::params![overflow_key, channel, now_ms, clean(&overflow_payload(&held)), next_at],
        )?;
        let batch = tx.last_insert_rowid();
        for r in &held {
            tx.execute(
                "UPDATE outbox SET status = 'held', batch = ?2 WHERE id = ?1",
                rusqlite::params![r.id, batch],
            )?;
        }
        tx.commit()?;
        Ok(held)
    }

    /// Copies every pending row of `channel` into one row per member queue (`queues`, keys
    /// `<key>@<n>`, same creation and due time) and marks the original `split`, in one
    /// transaction. Returns the rows split.
    pub fn split_pending(&self, channel: &str, queues: &[String]) -> Result<usize, StoreError> {
        let tx = self.conn.unchecked_transaction()?;
        let ids: Vec<i64> = {
            let mut st = tx.prepare_cached(
                "SELECT id FROM outbox WHERE channel = ?1 AND status = 'pending' ORDER BY id",
            )?;
            st.query_map([channel], |r| r.get(0))?
                .collect::<Result<_, _>>()?
        };
        for id in &ids {
            for (n, q) in queues.iter().enumerate() {
                tx.execute(
                    "INSERT OR IGNORE INTO outbox (key, channel, created, payload, next_at)
                     SELECT key || '@' || ?2, ?3, created, payload, next_at FROM outbox WHERE id = ?1",
                    rusqlite::params![id, n as i64, q],
                )?;
            }
            tx.execute("UPDATE outbox SET status = 'split' WHERE id = ?1", [id])?;
        }
        tx.commit()?;
        Ok(ids.len())
    }

    pub fn mark_sent(&self, id: i64, now_ms: i64, receipt: &str) -> Result<(), StoreError> {
        let tx = self.conn.unchecked_transaction()?;
        bump(&tx, "alerts_sent:", id, "sent")?;
        tx.execute("UPDATE outbox SET status = 'sent', sent_at = ?2, receipt = ?3, attempts = attempts + 1 WHERE id = ?1", rusqlite::params![id, now_ms, clean(receipt)])?;
        tx.commit()?;
        Ok(())
    }

    pub fn mark_retry(&self, id: i64, next_at: i64, error: &str) -> Result<(), StoreError> {
        self.conn.execute("UPDATE outbox SET attempts = attempts + 1, next_at = ?2, last_error = ?3 WHERE id = ?1", rusqlite::params![id, next_at, clean(error)])?;
        Ok(())
    }

    pub fn mark_failed(&self, id: i64, error: &str) -> Result<(), StoreError> {
        let tx = self.conn.unchecked_transaction()?;
        bump(&tx, "alerts_failed:", id, "failed")?;
        tx.execute("UPDATE outbox SET status = 'failed', attempts = attempts + 1, last_error = ?2 WHERE id = ?1", rusqlite::params![id, clean(error)])?;
        tx.commit()?;
        Ok(())
    }

    pub fn outbox(&self, limit: u32) -> Result<Vec<OutboxRow>, StoreError> {
        all_rows(
            &self.conn,
            "SELECT id, key, channel, created, payload, status, attempts, next_at, last_error FROM outbox ORDER BY id DESC LIMIT ?1",
            [limit],
            outbox_row,
        )
    }

    /// Applies every tier's retention at `now_ms` (see `Retention`). Transitions outlive the
    /// observations that caused them (they carry them); closed incidents go with their last
    /// transition; each probe's newest observation always stays.
    pub fn prune(&self, now_ms: i64, r: &Retention) -> Result<Pruned, StoreError> {
        let ms = |d: std::time::Duration| now_ms.saturating_sub(d.as_millis() as i64);
        let mut out = Pruned {
            observations: self.conn.execute(
                "DELETE FROM observations WHERE ts < ?1 AND id NOT IN (SELECT MAX(id) FROM observations GROUP BY probe)",
                [ms(r.observations)],
            )?,
            ..Pruned::default()
        };
        out.observations += self.conn.execute(
            "DELETE FROM observations WHERE id IN (SELECT id FROM (SELECT id, row_number() OVER (PARTITION BY probe ORDER BY ts DESC, id DESC) AS n FROM observations) WHERE n > ?1)",
            [r.keep_observations.max(1)],
        )?;
        for (period_s, keep) in [(300, r.rollups_5m), (3600, r.rollups_1h)] {
            out.rollups += self.conn.execute(
                "DELETE FROM rollups WHERE period_s = ?1 AND start < ?2",
                rusqlite::params![period_s, ms(keep)],
            )?;
        }
        out.transitions = self.conn.execute(
            "DELETE FROM transitions WHERE ts < ?1 AND (incident IS NULL OR incident NOT IN (SELECT id FROM incidents WHERE closed IS NULL))",
            [ms(r.transitions)],
        )?;
        self.conn.execute(
            "DELETE FROM incidents WHERE closed IS NOT NULL AND closed < ?1 AND id NOT IN (SELECT incident FROM transitions WHERE incident IS NOT NULL)",
            [ms(r.transitions)],
        )?;
        out.outbox = self.conn.execute(
            "DELETE FROM outbox WHERE (status = 'sent' AND sent_at < ?1) OR (status IN ('split', 'held', 'inhibited') AND created < ?1)",
            [ms(r.observations)],
        )?;
        Ok(out)
    }

    /// Keeps the newest `keep` observations of `probe` (and any sharing the oldest kept time).
    pub fn trim_observations(&self, probe: &str, keep: u32) -> Result<usize, StoreError> {
        trim(&self.conn, probe, keep)
    }

    pub fn set_meta(&self, key: &str, value: &str) -> Result<(), StoreError> {
        self.conn.execute("INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value", rusqlite::params![key, clean(value)])?;
        Ok(())
    }

    /// Channels whose last delivery failed, with the error (`broken: ...` for permanent ones).
    pub fn channel_errors(&self) -> Result<Vec<(String, String)>, StoreError> {
        all_rows(
            &self.conn,
            "SELECT substr(key, 15), value FROM meta WHERE key LIKE 'channel_error:%' AND value <> '' ORDER BY key",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
    }

    pub fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        let mut st = self.conn.prepare("SELECT value FROM meta WHERE key = ?1")?;
        let mut rows = st.query_map([key], |r| r.get(0))?;
        Ok(rows.next().transpose()?)
    }

    pub fn add_silence(&self, s: &NewSilence, now_ms: i64) -> Result<i64, StoreError> {
        if s.lesson.is_none()
            && s.probe.is_none()
            && s.tag.is_none()
            && s.host.is_none()
            && s.agent.is_none()
        {
            return Err(StoreError::Invalid(
                "a silence needs a lesson, probe, tag, host or agent to match".into(),
            ));
        }
        if s.reason.trim().is_empty() {
            return Err(StoreError::Invalid("a silence needs a reason".into()));
        }
        self.conn.execute(
            "INSERT INTO silences (lesson, probe, tag, host, reason, created_by, created, expires, agent) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            rusqlite::params![s.lesson, s.probe, s.tag, s.host, clean(&s.reason), s.created_by, now_ms, s.expires, s.agent],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Silences, newest first; `active_at` keeps only those in force then.
    pub fn silences(&self, active_at: Option<i64>) -> Result<Vec<SilenceRow>, StoreError> {
        all_rows(
            &self.conn,
            "SELECT id, lesson, probe, tag, host, reason, created_by, created, expires, removed, agent FROM silences
             WHERE ?1 IS NULL OR (removed IS NULL AND expires > ?1) ORDER BY id DESC",
            [active_at],
            silence_row,
        )
    }

    pub fn remove_silence(&self, id: i64, now_ms: i64) -> Result<bool, StoreError> {
        let n = self.conn.execute(
            "UPDATE silences SET removed = ?2 WHERE id = ?1 AND removed IS NULL",
            rusqlite::params![id, now_ms],
        )?;
        Ok(n > 0)
    }

    /// Channels that were sent (or are queued) a notification for an incident.
    pub fn incident_channels(&self, incident: i64) -> Result<Vec<String>, StoreError> {
        all_rows(
            &self.conn,
            "SELECT DISTINCT CASE WHEN instr(channel, '@') > 0 THEN substr(channel, 1, instr(channel, '@') - 1) ELSE channel END AS c FROM outbox WHERE key LIKE ?1 ORDER BY c",
            [format!("{incident}:%")],
            |r| r.get(0),
        )
    }

    /// Queues one notification outside a batch (acknowledgements, test alerts).
    pub fn enqueue(
        &self,
        key: &str,
        channel: &str,
        payload: &str,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        enqueue(&self.conn, key, channel, payload, now_ms, now_ms)
    }

    /// The newest outbox row queued for `incident` on `channel` (any event), if any. Keys of an
    /// incident's rows start with `<incident>:`; the range keeps the lookup on the key index.
    pub fn last_outbox_for_incident(
        &self,
        incident: i64,
        channel: &str,
    ) -> Result<Option<OutboxRow>, StoreError> {
        let mut st = self.conn.prepare(
            "SELECT id, key, channel, created, payload, status, attempts, next_at, last_error FROM outbox
             WHERE key >= ?1 AND key < ?2 AND channel = ?3 ORDER BY id DESC LIMIT 1",
        )?;
        let mut rows = st.query_map(
            rusqlite::params![format!("{incident}:"), format!("{incident};"), channel],
            outbox_row,
        )?;
        Ok(rows.next().transpose()?)
    }

    /// Queues a notification only while `incident` is still open, in one statement, so a
    /// re-post can never land behind the incident's resolve notification.
    pub fn enqueue_if_open(
        &self,
        incident: i64,
        key: &str,
        channel: &str,
        payload: &str,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let n = self.conn.execute(
            "INSERT OR IGNORE INTO outbox (key, channel, created, payload, next_at)
             SELECT ?1, ?2, ?3, ?4, ?3 WHERE EXISTS (SELECT 1 FROM incidents WHERE id = ?5 AND closed IS NULL)",
            rusqlite::params![key, channel, now_ms, clean(payload), incident],
        )?;
        Ok(n > 0)
    }

    pub fn ack(
        &self,
        incident: i64,
        by: &str,
        note: Option<&str>,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let n = self.conn.execute(
            "UPDATE incidents SET acked_by = ?2, acked_at = ?3, ack_note = ?4 WHERE id = ?1",
            rusqlite::params![incident, by, now_ms, note.map(clean)],
        )?;
        Ok(n > 0)
    }
}

/// How long each tier is kept (`[daemon]` keys `retention`, `keep_observations`,
/// `retention_5m`, `retention_1h`, `retention_transitions`).
#[derive(Clone, Debug, PartialEq)]
pub struct Retention {
    /// Full observations: at most this old (each probe's newest always stays) ...
    pub observations: std::time::Duration,
    /// ... and at most this many per probe.
    pub keep_observations: u32,
    pub rollups_5m: std::time::Duration,
    pub rollups_1h: std::time::Duration,
    /// Transitions (with their observation) and closed incidents; delivered outbox rows go
    /// with `observations`.
    pub transitions: std::time::Duration,
}

impl Default for Retention {
    fn default() -> Self {
        let day = std::time::Duration::from_secs(86_400);
        Retention {
            observations: day * 14,
            keep_observations: 100,
            rollups_5m: day * 2,
            rollups_1h: day * 90,
            transitions: day * 365,
        }
    }
}

/// Rows removed by one `prune`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pruned {
    pub observations: usize,
    pub rollups: usize,
    pub transitions: usize,
    pub outbox: usize,
}

/// Adds one to the running total `<prefix><channel>` for outbox row `id` unless the row already
/// has `status` (marking twice counts once). A member queue (`am@1`) counts for its channel.
fn bump(
    conn: &rusqlite::Connection,
    prefix: &str,
    id: i64,
    status: &str,
) -> Result<(), StoreError> {
    let mut st = conn.prepare_cached(
        "INSERT INTO counters (name, value)
         SELECT ?1 || CASE WHEN instr(channel, '@') > 0 THEN substr(channel, 1, instr(channel, '@') - 1) ELSE channel END, 1
         FROM outbox WHERE id = ?2 AND status <> ?3
         ON CONFLICT(name) DO UPDATE SET value = value + 1",
    )?;
    st.execute(rusqlite::params![prefix, id, status])?;
    Ok(())
}

/// Queues one notification, due at `next_at`; a duplicate key is ignored (false).
fn enqueue(
    conn: &rusqlite::Connection,
    key: &str,
    channel: &str,
    payload: &str,
    now_ms: i64,
    next_at: i64,
) -> Result<bool, StoreError> {
    let n = conn.execute(
        "INSERT OR IGNORE INTO outbox (key, channel, created, payload, next_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        rusqlite::params![key, channel, now_ms, clean(payload), next_at],
    )?;
    Ok(n > 0)
}

fn trim(conn: &rusqlite::Connection, probe: &str, keep: u32) -> Result<usize, StoreError> {
    let mut st = conn.prepare_cached(
        "DELETE FROM observations WHERE probe = ?1 AND ts < (SELECT ts FROM observations WHERE probe = ?1 ORDER BY ts DESC LIMIT 1 OFFSET ?2)",
    )?;
    Ok(st.execute(rusqlite::params![probe, keep.max(1) - 1])?)
}

/// Worst health of one time bucket (for the dashboard's 24-hour chart).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct HealthBucket {
    /// Bucket index from `since` (bucket start = since + index * width).
    pub index: i64,
    /// Worst health rank in the bucket: 0 ok, 1 unknown, 2 degraded, 3 critical.
    pub worst: u8,
    pub count: i64,
}

/// Per-channel delivery counts from the outbox.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct ChannelCounts {
    pub channel: String,
    pub sent: i64,
    pub failed: i64,
    pub pending: i64,
}

impl Store {
    /// Observations of any of `probes` (all probes when None), newest first, with `ts >= since`
    /// and `id < before`. The web API's lesson filter uses it with the lesson's probes.
    pub fn observations_of(
        &self,
        probes: Option<&[String]>,
        since_ms: Option<i64>,
        before_id: Option<i64>,
        limit: u32,
    ) -> Result<Vec<ObservationRow>, StoreError> {
        self.observations_for(probes, None, since_ms, before_id, limit)
    }

    /// Observations, newest first. `agent`: `None` any, `Some("")` host-wide probes only,
    /// `Some(a)` the probes of agent `a` (as recorded at the time).
    pub fn observations_for(
        &self,
        probes: Option<&[String]>,
        agent: Option<&str>,
        since_ms: Option<i64>,
        before_id: Option<i64>,
        limit: u32,
    ) -> Result<Vec<ObservationRow>, StoreError> {
        let list = probes.map(|p| serde_json::Value::from(p.to_vec()).to_string());
        self.observations_where(
            "(?1 IS NULL OR probe IN (SELECT value FROM json_each(?1))) AND (?2 IS NULL OR ts >= ?2) AND (?3 IS NULL OR id < ?3) AND (?5 IS NULL OR COALESCE(agent, '') = ?5) ORDER BY id DESC LIMIT ?4",
            rusqlite::params![list, since_ms, before_id, limit, agent],
        )
    }

    /// Worst health per bucket of `width_ms` from `since_ms` on, for `probes`, from the 5-minute
    /// rollups (a period counts in the bucket its start falls in; one straddling `since_ms`
    /// counts in the first). Bounded by the number of periods, whatever the number of runs.
    pub fn health_buckets(
        &self,
        probes: &[String],
        since_ms: i64,
        width_ms: i64,
    ) -> Result<Vec<HealthBucket>, StoreError> {
        let list = serde_json::Value::from(probes.to_vec()).to_string();
        all_rows(&self.conn, "SELECT MAX(0, (start - ?2) / ?3) AS b,
                    MAX(CASE WHEN critical > 0 THEN 3 WHEN degraded > 0 THEN 2 WHEN unknown > 0 THEN 1 ELSE 0 END),
                    SUM(runs)
             FROM rollups WHERE probe IN (SELECT value FROM json_each(?1)) AND period_s = 300 AND start > ?2 - 300000
             GROUP BY b ORDER BY b", rusqlite::params![list, since_ms, width_ms.max(1)], |r| {
            Ok(HealthBucket {
                index: r.get(0)?,
                worst: r.get::<_, i64>(1)?.clamp(0, 3) as u8,
                count: r.get(2)?,
            })
        })
    }

    /// Sent and failed notifications per channel since the store was created (running totals
    /// that pruning never lowers; members of a multi-URL channel count under the channel), and
    /// what is pending now.
    pub fn channel_counts(&self) -> Result<Vec<ChannelCounts>, StoreError> {
        all_rows(&self.conn, "WITH c(channel, sent, failed, pending) AS (
                 SELECT substr(name, 13), value, 0, 0 FROM counters WHERE name LIKE 'alerts_sent:%'
                 UNION ALL SELECT substr(name, 15), 0, value, 0 FROM counters WHERE name LIKE 'alerts_failed:%'
                 UNION ALL SELECT CASE WHEN instr(channel, '@') > 0 THEN substr(channel, 1, instr(channel, '@') - 1) ELSE channel END, 0, 0, 1
                     FROM outbox WHERE status = 'pending')
             SELECT channel, SUM(sent), SUM(failed), SUM(pending) FROM c GROUP BY channel ORDER BY channel", [], |r| {
            Ok(ChannelCounts {
                channel: r.get(0)?,
                sent: r.get(1)?,
                failed: r.get(2)?,
                pending: r.get(3)?,
            })
        })
    }

    /// The first notification payload queued for an incident (its firing alert), if any is
    /// still in the outbox.
    pub fn incident_payload(&self, incident: i64) -> Result<Option<String>, StoreError> {
        let mut st = self
            .conn
            .prepare("SELECT payload FROM outbox WHERE key LIKE ?1 ORDER BY id LIMIT 1")?;
        let mut rows = st.query_map([format!("{incident}:%")], |r| r.get(0))?;
        Ok(rows.next().transpose()?)
    }

    /// Time (unix ms) of a probe's newest ok observation; once the kept observations hold none,
    /// the start of the newest 5-minute or hour period that had an ok run.
    pub fn last_ok_observation(&self, probe: &str) -> Result<Option<i64>, StoreError> {
        Ok(self.conn.query_row(
            "SELECT COALESCE((SELECT MAX(ts) FROM observations WHERE probe = ?1 AND health = 'ok'),
                             (SELECT MAX(start) FROM rollups WHERE probe = ?1 AND ok > 0))",
            [probe],
            |r| r.get(0),
        )?)
    }

    /// Incidents of any of `probes`, newest first.
    pub fn incidents_of(
        &self,
        probes: &[String],
        limit: u32,
    ) -> Result<Vec<IncidentRow>, StoreError> {
        let list = serde_json::Value::from(probes.to_vec()).to_string();
        all_rows(
            &self.conn,
            "SELECT id, probe, lesson, opened, closed, health, summary, acked_by, acked_at, ack_note, agent FROM incidents
             WHERE probe IN (SELECT value FROM json_each(?1)) ORDER BY id DESC LIMIT ?2",
            rusqlite::params![list, limit],
            incident_row,
        )
    }

    /// Transitions of any of `probes` (all when None), newest first.
    pub fn transitions_of(
        &self,
        probes: Option<&[String]>,
        limit: u32,
    ) -> Result<Vec<TransitionRow>, StoreError> {
        let list = probes.map(|p| serde_json::Value::from(p.to_vec()).to_string());
        all_rows(
            &self.conn,
            "SELECT id, probe, lesson, ts, kind, health, summary, incident, muted, agent, body FROM transitions WHERE (?1 IS NULL OR probe IN (SELECT value FROM json_each(?1))) ORDER BY id DESC LIMIT ?2",
            rusqlite::params![list, limit],
            transition_row,
        )
    }
}

fn silence_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<SilenceRow> {
    Ok(SilenceRow {
        id: r.get(0)?,
        lesson: r.get(1)?,
        probe: r.get(2)?,
        tag: r.get(3)?,
        host: r.get(4)?,
        reason: r.get(5)?,
        created_by: r.get(6)?,
        created: r.get(7)?,
        expires: r.get(8)?,
        removed: r.get(9)?,
        agent: r.get(10)?,
    })
}

fn transition_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<TransitionRow> {
    Ok(TransitionRow {
        id: r.get(0)?,
        probe: r.get(1)?,
        lesson: r.get(2)?,
        ts: r.get(3)?,
        kind: r.get(4)?,
        health: r.get(5)?,
        summary: r.get(6)?,
        incident: r.get(7)?,
        muted: r.get(8)?,
        agent: r.get(9)?,
        observation: r
            .get::<_, Option<String>>(10)?
            .and_then(|b| serde_json::from_str(&b).ok()),
    })
}

fn outbox_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<OutboxRow> {
    Ok(OutboxRow {
        id: r.get(0)?,
        key: r.get(1)?,
        channel: r.get(2)?,
        created: r.get(3)?,
        payload: r.get(4)?,
        status: r.get(5)?,
        attempts: r.get(6)?,
        next_at: r.get(7)?,
        last_error: r.get(8)?,
    })
}

fn incident_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<IncidentRow> {
    Ok(IncidentRow {
        id: r.get(0)?,
        probe: r.get(1)?,
        lesson: r.get(2)?,
        opened: r.get(3)?,
        closed: r.get(4)?,
        health: r.get(5)?,
        summary: r.get(6)?,
        acked_by: r.get(7)?,
        acked_at: r.get(8)?,
        ack_note: r.get(9)?,
        agent: r.get(10)?,
    })
}

/// A write transaction. Dropping it without `commit` rolls everything back.
pub struct Batch<'a> {
    tx: rusqlite::Transaction<'a>,
}

pub struct NewObservation<'a> {
    pub probe: &'a str,
    pub lesson: u32,
    pub ts: i64,
    pub health: &'a str,
    pub summary: &'a str,
    pub body: &'a str,
    pub duration_ms: i64,
    pub late_ms: i64,
    pub agent: Option<&'a str>,
}

impl Batch<'_> {
    pub fn observation(&self, o: &NewObservation<'_>) -> Result<i64, StoreError> {
        let mut st = self.tx.prepare_cached("INSERT INTO observations (probe, lesson, ts, health, summary, body, duration_ms, late_ms, agent) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)")?;
        st.execute(rusqlite::params![
            o.probe,
            o.lesson,
            o.ts,
            o.health,
            clean(o.summary),
            clean(o.body),
            o.duration_ms,
            o.late_ms,
            o.agent
        ])?;
        Ok(self.tx.last_insert_rowid())
    }

    /// Keeps the newest `keep` observations of `probe` (see `Store::trim_observations`).
    pub fn trim_observations(&self, probe: &str, keep: u32) -> Result<usize, StoreError> {
        trim(&self.tx, probe, keep)
    }

    /// Saves a probe's state; `facts` None keeps the stored facts.
    pub fn state(
        &self,
        probe: &str,
        state: &str,
        facts: Option<&str>,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let mut st = self.tx.prepare_cached(
            "INSERT INTO probe_state (probe, state, facts, updated) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(probe) DO UPDATE SET state = excluded.state, facts = COALESCE(excluded.facts, probe_state.facts), updated = excluded.updated",
        )?;
        st.execute(rusqlite::params![
            probe,
            clean(state),
            facts.map(clean),
            now_ms
        ])?;
        Ok(())
    }

    pub fn open_incident(
        &self,
        probe: &str,
        lesson: u32,
        opened: i64,
        health: &str,
        summary: &str,
        agent: Option<&str>,
    ) -> Result<i64, StoreError> {
        self.tx.execute("INSERT INTO incidents (probe, lesson, opened, health, summary, agent) VALUES (?1, ?2, ?3, ?4, ?5, ?6)", rusqlite::params![probe, lesson, opened, health, clean(summary), agent])?;
        Ok(self.tx.last_insert_rowid())
    }

    pub fn update_incident(&self, id: i64, health: &str, summary: &str) -> Result<(), StoreError> {
        self.tx.execute(
            "UPDATE incidents SET health = ?2, summary = ?3 WHERE id = ?1",
            rusqlite::params![id, health, clean(summary)],
        )?;
        Ok(())
    }

    pub fn close_incident(&self, id: i64, closed: i64) -> Result<(), StoreError> {
        self.tx.execute(
            "UPDATE incidents SET closed = ?2 WHERE id = ?1",
            rusqlite::params![id, closed],
        )?;
        Ok(())
    }

    /// Records a transition; `muted` says why no notification went out (silence, shadow mode,
    /// a failing parent), if so; `observation` is the JSON of the observation that caused it.
    #[allow(clippy::too_many_arguments)]
    pub fn transition(
        &self,
        probe: &str,
        lesson: u32,
        ts: i64,
        kind: &str,
        health: &str,
        summary: &str,
        incident: Option<i64>,
        muted: Option<&str>,
        agent: Option<&str>,
        observation: Option<&str>,
    ) -> Result<i64, StoreError> {
        self.tx.execute(
            "INSERT INTO transitions (probe, lesson, ts, kind, health, summary, incident, muted, agent, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            rusqlite::params![probe, lesson, ts, kind, health, clean(summary), incident, muted.map(clean), agent, observation.map(clean)],
        )?;
        Ok(self.tx.last_insert_rowid())
    }

    /// Channels queued a notification for an incident so far (for resolve and ack messages).
    pub fn incident_channels(&self, incident: i64) -> Result<Vec<String>, StoreError> {
        let mut st = self.tx.prepare_cached(
            "SELECT DISTINCT CASE WHEN instr(channel, '@') > 0 THEN substr(channel, 1, instr(channel, '@') - 1) ELSE channel END AS c FROM outbox WHERE key LIKE ?1 ORDER BY c",
        )?;
        let rows = st.query_map([format!("{incident}:%")], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Inhibits a probe's notifications still waiting in the outbox (its parent failed).
    pub fn inhibit_pending(&self, probe: &str, why: &str) -> Result<usize, StoreError> {
        Ok(self.tx.execute(
            "UPDATE outbox SET status = 'inhibited', last_error = ?2 WHERE status = 'pending' AND json_extract(payload, '$.probe') = ?1",
            rusqlite::params![probe, clean(why)],
        )?)
    }

    /// Who acknowledged an incident, if anyone.
    pub fn acked_by(&self, incident: i64) -> Result<Option<String>, StoreError> {
        let mut st = self
            .tx
            .prepare_cached("SELECT acked_by FROM incidents WHERE id = ?1")?;
        let mut rows = st.query_map([incident], |r| r.get::<_, Option<String>>(0))?;
        Ok(rows.next().transpose()?.flatten())
    }

    pub fn silences_active(&self, now_ms: i64) -> Result<Vec<SilenceRow>, StoreError> {
        let mut st = self.tx.prepare_cached(
            "SELECT id, lesson, probe, tag, host, reason, created_by, created, expires, removed, agent FROM silences WHERE removed IS NULL AND expires > ?1",
        )?;
        let rows = st.query_map([now_ms], silence_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Queues one notification, due at `next_at` (its channel's `group_wait` after now); a
    /// duplicate key is ignored (idempotent).
    pub fn enqueue(
        &self,
        key: &str,
        channel: &str,
        payload: &str,
        now_ms: i64,
        next_at: i64,
    ) -> Result<bool, StoreError> {
        enqueue(&self.tx, key, channel, payload, now_ms, next_at)
    }

    pub fn commit(self) -> Result<(), StoreError> {
        Ok(self.tx.commit()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn side_connections_have_the_small_page_cache_and_the_recorders_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let cache = |s: &Store| -> i64 {
            s.conn
                .pragma_query_value(None, "cache_size", |r| r.get(0))
                .unwrap()
        };
        let main = Store::open(dir.path()).unwrap();
        let side = Store::open_side(dir.path()).unwrap();
        assert_eq!(cache(&side), -SIDE_CACHE_KIB);
        assert_eq!(cache(&main), -CACHE_KIB, "the recorder's");
    }

    #[test]
    fn a_file_that_is_not_a_database_is_moved_aside_and_a_clean_store_passes() {
        let dir = tempfile::tempdir().unwrap();
        let (s, damaged) = Store::open_checked(dir.path()).unwrap();
        assert!(damaged.is_none());
        assert_eq!(s.quick_check().unwrap(), None);
        drop(s);
        let junk = b"this is not an SQLite database, only text pretending to be one".repeat(100);
        std::fs::write(db_path(dir.path()), &junk).unwrap();
        let (s, damaged) = Store::open_checked(dir.path()).unwrap();
        let d = damaged.expect("reported");
        assert_eq!(d.file, db_path(dir.path()));
        assert!(
            d.moved_to.to_string_lossy().contains("ledgerd.db.corrupt-"),
            "{d:?}"
        );
        assert_eq!(std::fs::read(&d.moved_to).unwrap(), junk);
        assert_eq!(s.quick_check().unwrap(), None);
        assert!(s.states().unwrap().is_empty());
    }

    #[test]
    fn open_migrates_sets_mode_and_keeps_order_per_channel() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let sd = dir.path().join("state");
        let mut s = Store::open(&sd).unwrap();
        let mode = std::fs::metadata(s.path()).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let b = s.batch().unwrap();
        b.observation(&NewObservation {
            probe: "p",
            lesson: 26,
            ts: 1,
            health: "critical",
            summary: "x",
            body: "{}",
            duration_ms: 1,
            late_ms: 0,
            agent: None,
        })
        .unwrap();
        assert!(b.enqueue("k1", "ops", "{}", 10, 10).unwrap());
        assert!(
            !b.enqueue("k1", "ops", "{}", 10, 10).unwrap(),
            "duplicate key ignored"
        );
        b.enqueue("k2", "ops", "{}", 10, 10).unwrap();
        b.enqueue("k3", "desk", "{}", 10, 10).unwrap();
        b.commit().unwrap();
        let due = s.due_outbox(100, 10).unwrap();
        assert_eq!(
            due.iter().map(|r| r.key.as_str()).collect::<Vec<_>>(),
            vec!["k1", "k3"]
        );
        s.mark_retry(due[0].id, 1000, "HTTP 503").unwrap();
        let due = s.due_outbox(100, 10).unwrap();
        assert_eq!(
            due.iter().map(|r| r.key.as_str()).collect::<Vec<_>>(),
            vec!["k3"],
            "k2 waits behind k1"
        );
        drop(s);
        let s = Store::open(&sd).unwrap();
        assert_eq!(s.latest_observations().unwrap().len(), 1);
        assert_eq!(s.outbox_depth().unwrap(), 3);
    }

    #[test]
    fn retention_prunes_old_observations_but_keeps_each_probes_newest() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(dir.path()).unwrap();
        let b = s.batch().unwrap();
        for (probe, ts) in [("a", 100), ("a", 200), ("a", 5000), ("b", 100)] {
            b.observation(&NewObservation {
                probe,
                lesson: 4,
                ts,
                health: "ok",
                summary: "",
                body: "{}",
                duration_ms: 0,
                late_ms: 0,
                agent: (probe == "a").then_some("cs"),
            })
            .unwrap();
        }
        b.commit().unwrap();
        assert_eq!(
            s.prune(
                1000,
                &Retention {
                    observations: std::time::Duration::ZERO,
                    ..Retention::default()
                }
            )
            .unwrap()
            .observations,
            2,
            "a@100 and a@200 go; b@100 is b's newest and stays"
        );
        let left: Vec<(String, i64)> = s
            .observations(None, None, None, None, 10)
            .unwrap()
            .into_iter()
            .map(|o| (o.probe, o.ts))
            .collect();
        assert_eq!(left, vec![("b".to_string(), 100), ("a".to_string(), 5000)]);
        let agent_of = |a: Option<&str>| -> Vec<String> {
            s.observations_for(None, a, None, None, 10)
                .unwrap()
                .into_iter()
                .map(|o| format!("{}:{}", o.probe, o.agent.unwrap_or_default()))
                .collect()
        };
        assert_eq!(agent_of(Some("cs")), vec!["a:cs"]);
        assert_eq!(agent_of(Some("")), vec!["b:"], "'' = host-wide probes");
        assert!(agent_of(Some("hub")).is_empty());
    }

    #[test]
    fn silences_by_agent_cover_only_that_agents_probes() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).unwrap();
        let id = s
            .add_silence(
                &NewSilence {
                    lesson: Some(19),
                    agent: Some("cs".into()),
                    reason: "rotating keys".into(),
                    created_by: "ops".into(),
                    expires: 10_000,
                    ..Default::default()
                },
                0,
            )
            .unwrap();
        let row = s.silences(Some(5)).unwrap().remove(0);
        assert_eq!((row.id, row.agent.as_deref()), (id, Some("cs")));
        assert_eq!(row.describe(), "agent cs, lesson L19");
        let target = |agent, lessons: &'static [u32]| SilenceTarget {
            lessons,
            probe: "x",
            tags: &[],
            agent,
            host: "h",
        };
        assert!(row.covers(&target(Some("cs"), &[19, 4]), 5));
        assert!(!row.covers(&target(Some("finance"), &[19]), 5));
        assert!(
            !row.covers(&target(None, &[19]), 5),
            "host-wide probes stay loud"
        );
        assert!(!row.covers(&target(Some("cs"), &[4]), 5));
        assert!(!row.covers(&target(Some("cs"), &[19]), 10_000), "expired");
    }

    #[test]
    fn delivery_totals_never_decrease_when_rows_are_pruned() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(dir.path()).unwrap();
        let b = s.batch().unwrap();
        for k in ["a", "b", "c", "d"] {
            b.enqueue(k, "ops", "{}", 10, 10).unwrap();
        }
        b.enqueue("m", "am@1", "{}", 10, 10).unwrap();
        b.commit().unwrap();
        let ids: Vec<i64> = s
            .outbox(10)
            .unwrap()
            .into_iter()
            .rev()
            .map(|r| r.id)
            .collect();
        s.mark_sent_batch(&ids[0..2], 20, "ok").unwrap();
        s.mark_sent(ids[2], 20, "ok").unwrap();
        s.mark_sent(ids[2], 21, "twice").unwrap();
        s.mark_failed(ids[3], "HTTP 404").unwrap();
        s.mark_sent(ids[4], 20, "ok").unwrap();
        let counts = |s: &Store| -> Vec<(String, i64, i64, i64)> {
            s.channel_counts()
                .unwrap()
                .into_iter()
                .map(|c| (c.channel, c.sent, c.failed, c.pending))
                .collect()
        };
        let want = vec![("am".to_string(), 1, 0, 0), ("ops".to_string(), 3, 1, 0)];
        assert_eq!(counts(&s), want, "a member queue counts for its channel");
        let pruned = s
            .prune(
                1_000_000,
                &Retention {
                    observations: std::time::Duration::ZERO,
                    ..Retention::default()
                },
            )
            .unwrap();
        assert_eq!(pruned.outbox, 4, "the sent rows are gone");
        assert_eq!(counts(&s), want, "the totals are not");
    }

    #[test]
    fn a_cluster_channel_is_split_into_independent_member_queues() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(dir.path()).unwrap();
        let b = s.batch().unwrap();
        b.enqueue("7:1:am", "am", "{\"n\":1}", 10, 10).unwrap();
        b.enqueue("7:2:am", "am", "{\"n\":2}", 20, 20).unwrap();
        b.commit().unwrap();
        let queues = ["am@0".to_string(), "am@1".to_string()];
        assert_eq!(s.split_pending("am", &queues).unwrap(), 2);
        assert_eq!(s.split_pending("am", &queues).unwrap(), 0, "split once");
        let heads = |s: &Store| -> Vec<(String, String)> {
            s.due_outbox(100, 10)
                .unwrap()
                .into_iter()
                .map(|r| (r.channel, r.key))
                .collect()
        };
        assert_eq!(
            heads(&s),
            [
                ("am@0".to_string(), "7:1:am@0".to_string()),
                ("am@1".to_string(), "7:1:am@1".to_string())
            ]
        );
        // member 0 is down and backs off; member 1 goes on with the next row
        let h0 = s.due_outbox(100, 10).unwrap()[0].id;
        let h1 = s.due_outbox(100, 10).unwrap()[1].id;
        s.mark_retry(h0, 10_000, "connection refused").unwrap();
        s.mark_sent(h1, 50, "ok").unwrap();
        assert_eq!(heads(&s), [("am@1".to_string(), "7:2:am@1".to_string())]);
        assert_eq!(s.incident_channels(7).unwrap(), ["am"]);
        assert_eq!(s.outbox_depth().unwrap(), 3);
    }
}
