//! `command`: the escape hatch. Runs a read-only command (argv, no shell, clean environment,
//! timeout, bounded output) and judges its exit code and output; its `env` values are secrets
//! to the redactor. It must never be pointed at a
//! `--fix`: ledgerd only observes, and the example says so.

use super::{Health, Invalid, Observation, Probe, ProbeCx};
use crate::exec::{self, ExecSpec};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Command {
    /// Program and arguments; argv[0] is looked up on `env.PATH` (default `/usr/bin:/bin`).
    argv: Vec<String>,
    /// The child's whole environment; nothing is inherited from the daemon. Values may be
    /// secrets: each is registered with the redactor as it is read (except `PATH`, `HOME` and
    /// the like, and values under 8 characters), so output that echoes one shows a fingerprint.
    #[serde(default, deserialize_with = "secret_env")]
    env: BTreeMap<String, String>,
    /// Working directory (relative to the config file).
    cwd: Option<PathBuf>,
    /// Exit codes that count as passing. Default `[0]`.
    #[serde(default = "default_exit")]
    expect_exit: Vec<i32>,
    /// Substrings that must appear in stdout+stderr.
    #[serde(default)]
    expect_output_contains: Vec<String>,
    /// Regexes that must match stdout+stderr.
    #[serde(default)]
    expect_output_matches: Vec<String>,
    /// Regexes that must not match stdout+stderr.
    #[serde(default)]
    forbid_output_matches: Vec<String>,
    /// Health when an expectation fails: "critical" (default) or "degraded".
    #[serde(default = "default_fail")]
    on_fail: FailHealth,
    /// Output kept per stream, bytes. Default 65536.
    #[serde(default = "default_max")]
    max_output_bytes: usize,
}

#[derive(Debug, Deserialize, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum FailHealth {
    Critical,
    Degraded,
}

/// Reads `env` and registers its values with the redactor (`redact::register_env`).
fn secret_env<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<BTreeMap<String, String>, D::Error> {
    let env = BTreeMap::<String, String>::deserialize(d)?;
    for (k, v) in &env {
        crate::redact::register_env(k, v);
    }
    Ok(env)
}

fn default_exit() -> Vec<i32> {
    vec![0]
}
fn default_fail() -> FailHealth {
    FailHealth::Critical
}
fn default_max() -> usize {
    65536
}

impl Probe for Command {
    const KIND: &'static str = "command";
    const SUMMARY: &'static str =
        "run a read-only command (argv, clean env, timeout) and check exit code and output";
    // what the operator's own command checks: no lesson of its own, and never in a shipped config
    const LESSONS: &'static [u32] = &[];
    const EXAMPLE: &'static str = r#"[probe.gateway_config_validate]
lesson = 4
every = "5m"
# argv, never a shell; never a command that changes anything (no --fix)
argv = ["openclaw", "config", "validate", "--json"]
env = { PATH = "/usr/local/bin:/usr/bin:/bin", HOME = "/home/agent" }
expect_exit = [0]
expect_output_contains = ['"valid":true']
forbid_output_matches = ["(?i)error"]
on_fail = "critical"
"#;

    fn validate(&self) -> Vec<Invalid> {
        let mut bad = Vec::new();
        if self.argv.is_empty() || self.argv[0].is_empty() {
            bad.push(Invalid::new("argv", "must name a program"));
        }
        Invalid::require_regexes(
            &mut bad,
            "expect_output_matches",
            &self.expect_output_matches,
        );
        Invalid::require_regexes(
            &mut bad,
            "forbid_output_matches",
            &self.forbid_output_matches,
        );
        Invalid::require_at_least_1(&mut bad, "max_output_bytes", self.max_output_bytes);
        bad
    }

    async fn observe(&self, cx: &ProbeCx<'_>) -> Observation {
        let cwd = self.cwd.as_ref().map(|c| cx.resolve(c));
        let spec = ExecSpec {
            argv: &self.argv,
            env: self.env.clone(),
            cwd: cwd.as_deref(),
            timeout: cx.timeout,
            max_output_bytes: self.max_output_bytes,
        };
        let out = match exec::run(&spec).await {
            Ok(o) => o,
            Err(e) => return Observation::unknown(format!("could not run: {e}")),
        };
        let text = format!("{}{}", out.stdout, out.stderr);
        let fail = match self.on_fail {
            FailHealth::Critical => Health::Critical,
            FailHealth::Degraded => Health::Degraded,
        };
        let mut problems: Vec<String> = Vec::new();
        match out.code {
            Some(c) if self.expect_exit.contains(&c) => {}
            Some(c) => problems.push(format!(
                "exit code {c}, expected one of {:?}",
                self.expect_exit
            )),
            None => problems.push("killed by a signal".into()),
        }
        for s in &self.expect_output_contains {
            if !text.contains(s.as_str()) {
                problems.push(format!("output lacks {s:?}"));
            }
        }
        for re in &self.expect_output_matches {
            if regex::Regex::new(re).is_ok_and(|r| !r.is_match(&text)) {
                problems.push(format!("output does not match /{re}/"));
            }
        }
        for re in &self.forbid_output_matches {
            if let Some(m) = regex::Regex::new(re)
                .ok()
                .and_then(|r| r.find(&text).map(|m| m.as_str().to_string()))
            {
                problems.push(format!("output matches forbidden /{re}/: {m:?}"));
            }
        }
        let mut obs = if problems.is_empty() {
            Observation::ok(format!(
                "{} exited {}",
                self.argv[0],
                out.code.unwrap_or(-1)
            ))
        } else {
            Observation::new(fail, problems.join("; "))
        };
        obs = obs
            .expected(format!("exit in {:?}", self.expect_exit))
            .evidence("program", out.program.display())
            .evidence("exit_code", out.exit())
            .metric("duration_seconds", out.elapsed.as_secs_f64());
        if !problems.is_empty() && !text.trim().is_empty() {
            obs = obs.evidence("output", text.trim());
        }
        if out.truncated {
            obs = obs.evidence("output_truncated_at_bytes", self.max_output_bytes);
        }
        obs
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::testkit::{self, assert_finding, look};

    fn probe(toml_src: &str) -> Command {
        testkit::parse(toml_src)
    }

    #[tokio::test]
    async fn ok_critical_and_unknown() {
        let ok = probe(
            r#"argv = ["sh", "-c", "echo all good"]
expect_output_contains = ["good"]"#,
        );
        assert_eq!(look(&ok).await.health, Health::Ok);

        let bad = probe(r#"argv = ["sh", "-c", "echo boom; exit 3"]"#);
        let o = look(&bad).await;
        assert_finding(&o, Health::Critical, "exit code 3");
        testkit::assert_ev(&o, "output", "boom");

        let missing = probe(r#"argv = ["no-such-binary-ledgerd"]"#);
        assert_eq!(look(&missing).await.health, Health::Unknown);
    }

    #[test]
    fn invalid_regex_is_reported_with_its_key() {
        let bad = testkit::invalid::<Command>(
            r#"argv = ["true"]
forbid_output_matches = ["ok", "("]"#,
        );
        assert_eq!(bad.len(), 1);
        assert_eq!(bad[0].key, "forbid_output_matches[1]");
    }
}
