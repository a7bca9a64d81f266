//! `token_expiry`: placeholder until the kind is written; it reports unknown.

use super::{Observation, Probe, ProbeCx};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenExpiry {}

impl Probe for TokenExpiry {
    const KIND: &'static str = "token_expiry";
    const SUMMARY: &'static str = "not written yet";
    const LESSONS: &'static [u32] = &[];
    const EXAMPLE: &'static str =
        "[probe.example_token_expiry]\nkind = \"token_expiry\"\nlesson = 1\n";

    async fn observe(&self, _cx: &ProbeCx<'_>) -> Observation {
        Observation::unknown("not implemented")
    }
}
