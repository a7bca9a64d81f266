//! ledgerd: turns the Failure Ledger's lessons into scheduled probes, records every observation,
//! alerts citing the lesson, and shows a dashboard of violated lessons.
//! (Architecture notes are written out below once the wiring exists.)

pub mod exec;
pub mod http_client;
pub mod ledger;
pub mod probe;
pub mod redact;
