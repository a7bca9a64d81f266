//! `config_file`: placeholder until the kind is written; it reports unknown.

use super::{Observation, Probe, ProbeCx};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {}

impl Probe for ConfigFile {
    const KIND: &'static str = "config_file";
    const SUMMARY: &'static str = "not written yet";
    const LESSONS: &'static [u32] = &[];
    const EXAMPLE: &'static str =
        "[probe.example_config_file]\nkind = \"config_file\"\nlesson = 1\n";

    async fn observe(&self, _cx: &ProbeCx<'_>) -> Observation {
        Observation::unknown("not implemented")
    }
}
