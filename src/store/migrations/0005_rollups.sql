-- ledgerd store, version 5: size bounded by change, not by runs.
-- Observations keep only the newest `daemon.keep_observations` per probe; a transition keeps the
-- observation that caused it (its evidence) in `body`, so pruning observations never loses why an
-- incident opened; history comes from per-probe rollups; delivery counters never go down.
ALTER TABLE transitions ADD COLUMN body TEXT;

CREATE TABLE rollups (
    probe        TEXT    NOT NULL,
    period_s     INTEGER NOT NULL,          -- 300 (5 min) or 3600 (1 h)
    start        INTEGER NOT NULL,          -- unix ms, start of the period (aligned to period_s)
    lesson       INTEGER NOT NULL,
    runs         INTEGER NOT NULL,
    ok           INTEGER NOT NULL,
    degraded     INTEGER NOT NULL,
    critical     INTEGER NOT NULL,
    unknown      INTEGER NOT NULL,
    p50_us       INTEGER NOT NULL,          -- run duration percentiles (microseconds)
    p95_us       INTEGER NOT NULL,
    max_us       INTEGER NOT NULL,
    late_max_ms  INTEGER NOT NULL,
    metrics      TEXT,                      -- {"name": [min, max], ...} of the runs' metrics
    sketch       BLOB,                      -- duration histogram (hour rows), to resume after a restart
    PRIMARY KEY (probe, period_s, start)
) WITHOUT ROWID;

-- running totals that must never decrease (alerts sent/failed per channel), whatever is pruned
CREATE TABLE counters (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO counters (name, value)
    SELECT 'alerts_sent:' || channel, COUNT(*) FROM outbox WHERE status = 'sent' GROUP BY channel;
INSERT INTO counters (name, value)
    SELECT 'alerts_failed:' || channel, COUNT(*) FROM outbox WHERE status = 'failed' GROUP BY channel;
