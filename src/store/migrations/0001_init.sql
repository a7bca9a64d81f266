-- ledgerd store, version 1. Append-only: never edit a released migration, add the next file.
CREATE TABLE observations (
    id          INTEGER PRIMARY KEY,
    probe       TEXT    NOT NULL,
    lesson      INTEGER NOT NULL,
    ts          INTEGER NOT NULL,            -- unix milliseconds, start of the run
    health      TEXT    NOT NULL,            -- ok | degraded | critical | unknown
    summary     TEXT    NOT NULL,
    body        TEXT    NOT NULL,            -- the Observation as JSON (evidence, metrics, facts)
    duration_ms INTEGER NOT NULL,
    late_ms     INTEGER NOT NULL DEFAULT 0   -- how late the run started against its schedule
);
CREATE INDEX observations_probe_ts ON observations (probe, ts);
CREATE INDEX observations_ts ON observations (ts);

CREATE TABLE probe_state (
    probe   TEXT PRIMARY KEY,
    state   TEXT NOT NULL,                   -- engine::state::ProbeState as JSON
    facts   TEXT,                            -- latest Observation.facts, handed back as ProbeCx::prior
    updated INTEGER NOT NULL
);

CREATE TABLE incidents (
    id        INTEGER PRIMARY KEY,
    probe     TEXT    NOT NULL,
    lesson    INTEGER NOT NULL,
    opened    INTEGER NOT NULL,
    closed    INTEGER,
    health    TEXT    NOT NULL,
    summary   TEXT    NOT NULL,
    acked_by  TEXT,
    acked_at  INTEGER,
    ack_note  TEXT
);
CREATE INDEX incidents_probe ON incidents (probe, opened);

CREATE TABLE transitions (
    id       INTEGER PRIMARY KEY,
    probe    TEXT    NOT NULL,
    lesson   INTEGER NOT NULL,
    ts       INTEGER NOT NULL,
    kind     TEXT    NOT NULL,               -- fired | escalated | reminder | resolved
    health   TEXT    NOT NULL,
    summary  TEXT    NOT NULL,
    incident INTEGER REFERENCES incidents (id)
);
CREATE INDEX transitions_probe_ts ON transitions (probe, ts);

CREATE TABLE outbox (
    id         INTEGER PRIMARY KEY,          -- delivery order per channel
    key        TEXT    NOT NULL UNIQUE,      -- idempotency key: incident/transition/channel
    channel    TEXT    NOT NULL,
    created    INTEGER NOT NULL,
    payload    TEXT    NOT NULL,             -- alert::Alert as JSON
    status     TEXT    NOT NULL DEFAULT 'pending', -- pending | sent | failed
    attempts   INTEGER NOT NULL DEFAULT 0,
    next_at    INTEGER NOT NULL,
    last_error TEXT,
    sent_at    INTEGER,
    receipt    TEXT
);
CREATE INDEX outbox_pending ON outbox (status, channel, id);

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
