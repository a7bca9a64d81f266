//! `http`: placeholder until the kind is written; it reports unknown.

use super::{Observation, Probe, ProbeCx};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Http {}

impl Probe for Http {
    const KIND: &'static str = "http";
    const SUMMARY: &'static str = "not written yet";
    const LESSONS: &'static [u32] = &[];
    const EXAMPLE: &'static str = "[probe.example_http]\nkind = \"http\"\nlesson = 1\n";

    async fn observe(&self, _cx: &ProbeCx<'_>) -> Observation {
        Observation::unknown("not implemented")
    }
}
