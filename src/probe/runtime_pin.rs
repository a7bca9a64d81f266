//! `runtime_pin`: placeholder until the kind is written; it reports unknown.

use super::{Observation, Probe, ProbeCx};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuntimePin {}

impl Probe for RuntimePin {
    const KIND: &'static str = "runtime_pin";
    const SUMMARY: &'static str = "not written yet";
    const LESSONS: &'static [u32] = &[];
    const EXAMPLE: &'static str =
        "[probe.example_runtime_pin]\nkind = \"runtime_pin\"\nlesson = 1\n";

    async fn observe(&self, _cx: &ProbeCx<'_>) -> Observation {
        Observation::unknown("not implemented")
    }
}
