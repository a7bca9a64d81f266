//! The engine: `scheduler` decides when each probe runs and runs it safely (timeout, panic,
//! concurrency); `state` is the pure state machine; `recorder` applies observations to state and
//! writes them, with transitions and queued alerts, to the store in batches.

pub mod recorder;
pub mod scheduler;
pub mod state;
