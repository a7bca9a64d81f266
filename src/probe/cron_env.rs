//! `cron_env`: placeholder until the kind is written; it reports unknown.

use super::{Observation, Probe, ProbeCx};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CronEnv {}

impl Probe for CronEnv {
    const KIND: &'static str = "cron_env";
    const SUMMARY: &'static str = "not written yet";
    const LESSONS: &'static [u32] = &[];
    const EXAMPLE: &'static str = "[probe.example_cron_env]\nkind = \"cron_env\"\nlesson = 1\n";

    async fn observe(&self, _cx: &ProbeCx<'_>) -> Observation {
        Observation::unknown("not implemented")
    }
}
