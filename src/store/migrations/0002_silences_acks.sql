-- ledgerd store, version 2: silences (waivers) and acknowledgement delivery.
CREATE TABLE silences (
    id       INTEGER PRIMARY KEY,
    lesson   INTEGER,                 -- match by lesson, or
    probe    TEXT,                    -- by probe id, or
    tag      TEXT,                    -- by tag, or
    host     TEXT,                    -- by host (NULL matchers match anything; at least one is set)
    reason   TEXT    NOT NULL,
    created_by TEXT  NOT NULL,
    created  INTEGER NOT NULL,
    expires  INTEGER NOT NULL,        -- unix ms; an expired silence lets alerts through
    removed  INTEGER                  -- unix ms when removed early
);
CREATE INDEX silences_expires ON silences (expires);

-- which transitions were silenced or suppressed, and why (silenced alerts are still recorded)
ALTER TABLE transitions ADD COLUMN muted TEXT;
-- whether the incident's notifications were delivered somewhere (for posting acks)
ALTER TABLE incidents ADD COLUMN channels TEXT;
