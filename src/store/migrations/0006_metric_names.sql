-- ledgerd store, version 6: rollup rows store their metrics packed, with names interned here
-- (store/rollup.rs, `encode_metrics`): at 1,000 probes the JSON of two metrics was about half of
-- every 5-minute row. Rows written before keep their JSON text and are still read.
CREATE TABLE metric_names (
    id   INTEGER PRIMARY KEY,
    name TEXT    NOT NULL UNIQUE
);
