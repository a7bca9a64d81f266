//! `runtime_pin`: asks a runtime that a service depends on for its version (`node --version`,
//! `python3 --version`, ...) on the PATH the service really gets, checks it against a semver
//! requirement, and remembers it so an upgrade is reported as "re-test pinned tools" until it
//! settles (lesson 32: Node 25 broke a streaming CLI). It only runs the version command (argv,
//! clean environment, timeout); it never installs, switches or wraps a runtime.

use super::{Invalid, Observation, Probe, ProbeCx};
use crate::exec::{self, DEFAULT_SERVICE_PATH, ExecError, ExecSpec};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuntimePin {
    /// Program and arguments that print the version, e.g. `["node", "--version"]`. argv[0] is
    /// resolved on the effective PATH (see `path`). Required.
    argv: Vec<String>,
    /// PATH used to resolve argv[0] and handed to the child: the PATH the service gets from its
    /// plist or unit, not the operator's shell. Default `env.PATH`, else `/usr/bin:/bin`.
    path: Option<String>,
    /// The child's whole environment (e.g. `HOME`); nothing is inherited from the daemon.
    /// Default empty.
    #[serde(default)]
    env: BTreeMap<String, String>,
    /// Semver requirement the version must satisfy, e.g. `"^22"` or `">=22, <23"`. Default none
    /// (only version changes are reported).
    require: Option<String>,
    /// When true a missing binary is fine ("node not installed"). Default false.
    #[serde(default)]
    optional: bool,
    /// How long a version change stays degraded before the new version becomes the baseline,
    /// e.g. `"24h"`. Default `"24h"`.
    #[serde(default = "default_settle", deserialize_with = "crate::duration::de")]
    settle_after: Duration,
}

fn default_settle() -> Duration {
    Duration::from_secs(24 * 3600)
}

/// Output kept per stream of the version command.
const MAX_OUTPUT: usize = 16 * 1024;
/// Output shown in evidence when no version could be read.
const SHOWN_OUTPUT: usize = 200;

impl Probe for RuntimePin {
    const KIND: &'static str = "runtime_pin";
    const SUMMARY: &'static str =
        "check a runtime's version on a service's PATH against a semver pin and report upgrades";
    const LESSONS: &'static [u32] = &[32];
    const EXAMPLE: &'static str = r#"[probe.agent_node_pin]
lesson = 32
every = "1h"
# the PATH the LaunchDaemon gives the gateway (from its plist), not your shell's
argv = ["node", "--version"]
path = "/opt/homebrew/bin:/usr/local/bin:/usr/bin:/bin"
env = { HOME = "/Users/cs" }
# summarize threw EPIPE on Node 25; the fleet is pinned to Node 22 LTS
require = "^22"
optional = false
# after an upgrade, stay degraded for a day: re-test pinned tools (summarize-wrapper)
settle_after = "24h"
"#;

    fn validate(&self) -> Vec<Invalid> {
        let mut bad = Vec::new();
        if self.argv.first().is_none_or(|a| a.is_empty()) {
            bad.push(Invalid::new("argv", "must name a program"));
        }
        if let Some(req) = &self.require
            && let Err(e) = semver::VersionReq::parse(req)
        {
            bad.push(Invalid::new(
                "require",
                format!("expected a semver requirement like \"^22\": {e}"),
            ));
        }
        if let (Some(p), Some(e)) = (&self.path, self.env.get("PATH"))
            && p != e
        {
            bad.push(Invalid::new(
                "env.PATH",
                "conflicts with `path`; set only one of them",
            ));
        }
        if self.path.as_deref().is_some_and(str::is_empty) {
            bad.push(Invalid::new("path", "must not be empty"));
        }
        bad
    }

    async fn observe(&self, cx: &ProbeCx<'_>) -> Observation {
        if let Some(o) = cx.live_host("running the runtime") {
            return o;
        }
        let path = self.effective_path().to_string();
        let mut env = self.env.clone();
        env.insert("PATH".into(), path.clone());
        let name = self.argv.first().map(String::as_str).unwrap_or("runtime");
        let spec = ExecSpec {
            argv: &self.argv,
            env,
            cwd: None,
            timeout: cx.timeout,
            max_output_bytes: MAX_OUTPUT,
        };
        let out = match exec::run(&spec).await {
            Ok(o) => o,
            Err(ExecError::NotFound(..)) => return self.missing(name, &path),
            Err(e) => {
                return Observation::unknown(format!("could not run {name}: {e}"))
                    .evidence("path", &path);
            }
        };
        let text = format!("{}\n{}", out.stdout, out.stderr);
        let program = out.program.display().to_string();
        if out.code != Some(0) {
            let code = out.exit();
            return Observation::unknown(format!("{} exited {code}", self.argv.join(" ")))
                .evidence("program", &program)
                .evidence("path", &path)
                .evidence("exit_code", code)
                .evidence("output", shown(&text));
        }
        let Some(version) = parse_version(&text) else {
            return Observation::unknown(format!(
                "no version in the output of {}",
                self.argv.join(" ")
            ))
            .evidence("program", &program)
            .evidence("path", &path)
            .evidence("output", shown(&text));
        };
        self.judge(name, &version, cx)
            .evidence("program", &program)
            .evidence("path", &path)
    }
}

impl RuntimePin {
    fn effective_path(&self) -> &str {
        self.path
            .as_deref()
            .or(self.env.get("PATH").map(String::as_str))
            .unwrap_or(DEFAULT_SERVICE_PATH)
    }

    /// A pinned runtime missing from the PATH its service gets is a real violation, not a
    /// failure to look: the service's tools fail on their next call, exactly as after a bad
    /// upgrade. So it is critical, unless the pin is marked `optional`.
    fn missing(&self, name: &str, path: &str) -> Observation {
        let obs = if self.optional {
            Observation::ok(format!("{name} not installed (optional)"))
        } else {
            Observation::critical(format!("{name} not found on PATH {path}"))
        };
        let obs = obs.evidence("path", path);
        match &self.require {
            Some(r) => obs.expected(format!("{name} {r} on PATH")),
            None => obs,
        }
    }

    fn judge(&self, name: &str, version: &semver::Version, cx: &ProbeCx<'_>) -> Observation {
        let change = track(cx.prior, version, cx.now, self.settle_after);
        let unmet = self
            .require
            .as_deref()
            .and_then(|r| semver::VersionReq::parse(r).ok())
            .filter(|req| !req.matches(version));
        let mut obs = if let Some(req) = &unmet {
            Observation::critical(format!("{name} {version} does not satisfy {req}"))
        } else if let Some(from) = &change.pending_from {
            Observation::degraded(format!(
                "runtime changed from {from} to {version}: re-test pinned tools"
            ))
        } else {
            let pin = self
                .require
                .as_deref()
                .map(|r| format!(", satisfies {r}"))
                .unwrap_or_default();
            Observation::ok(format!("{name} {version}{pin}"))
        };
        if let Some(r) = &self.require {
            obs = obs.expected(format!("{name} {r}"));
        }
        obs = obs
            .evidence("version", version)
            .evidence("baseline", &change.baseline);
        if let Some(r) = &self.require {
            obs = obs.evidence("require", r);
        }
        if let Some(at) = change.changed_at {
            obs = obs.evidence("changed_at", at.to_rfc3339());
        }
        obs.facts(serde_json::json!({
            "baseline": change.baseline.to_string(),
            "current": version.to_string(),
            "changed_at": change.changed_at.map(|t| t.to_rfc3339()),
        }))
    }
}

/// The outcome of comparing this run's version with the remembered baseline.
#[derive(Debug, PartialEq)]
struct Change {
    baseline: semver::Version,
    /// When the current version was first seen while differing from the baseline.
    changed_at: Option<DateTime<Utc>>,
    /// The baseline, while a change has not settled yet.
    pending_from: Option<semver::Version>,
}

/// Baseline logic. Facts are `{baseline, current, changed_at}`. A version that differs from the
/// baseline starts (or restarts, if it changed again) the settle clock; once `settle` has passed
/// since the change it becomes the baseline. Going back to the baseline clears the change.
fn track(
    prior: Option<&serde_json::Value>,
    current: &semver::Version,
    now: DateTime<Utc>,
    settle: Duration,
) -> Change {
    let field = |k: &str| prior.and_then(|p| p.get(k)).and_then(|v| v.as_str());
    let Some(baseline) = field("baseline").and_then(|b| semver::Version::parse(b).ok()) else {
        return settled(current);
    };
    if &baseline == current {
        return settled(current);
    }
    let same_as_last =
        field("current").and_then(|c| semver::Version::parse(c).ok()) == Some(current.clone());
    let since = field("changed_at")
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
        .filter(|_| same_as_last)
        .unwrap_or(now);
    let settle = chrono::Duration::from_std(settle).unwrap_or(chrono::Duration::MAX);
    if now.signed_duration_since(since) >= settle {
        return settled(current);
    }
    Change {
        baseline: baseline.clone(),
        changed_at: Some(since),
        pending_from: Some(baseline),
    }
}

fn settled(v: &semver::Version) -> Change {
    Change {
        baseline: v.clone(),
        changed_at: None,
        pending_from: None,
    }
}

/// Reads the first version-looking number in a tool's output: `v25.6.1`, `Python 3.11.7`,
/// `go version go1.22.3 linux/amd64`, `1.2` (→ 1.2.0), `22` (→ 22.0.0), `v22.0.0-rc.1`.
fn parse_version(text: &str) -> Option<semver::Version> {
    static RE: std::sync::LazyLock<Option<regex::Regex>> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:-([0-9A-Za-z][0-9A-Za-z.-]*))?").ok()
    });
    let caps = RE.as_ref()?.captures(text)?;
    let num = |i: usize| -> Option<u64> {
        caps.get(i)
            .map_or(Some(0), |m| m.as_str().parse::<u64>().ok())
    };
    let mut v = semver::Version::new(num(1)?, num(2)?, num(3)?);
    if let Some(pre) = caps.get(4) {
        // A suffix that is not a valid prerelease (`1.2.3-linux`) is dropped, not fatal.
        v.pre = semver::Prerelease::new(pre.as_str().trim_end_matches(['.', '-']))
            .unwrap_or(semver::Prerelease::EMPTY);
    }
    Some(v)
}

fn shown(text: &str) -> String {
    crate::redact::truncate(text.trim(), SHOWN_OUTPUT)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::Health;
    use crate::probe::testkit::{self, assert_finding, look_with};
    use std::os::unix::fs::PermissionsExt;
    use std::path::Path;

    fn probe(src: &str) -> RuntimePin {
        testkit::parse(src)
    }

    fn fake_bin(dir: &Path, name: &str, script: &str) {
        let p = dir.join(name);
        std::fs::write(&p, format!("#!/bin/sh\n{script}\n")).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    fn node_probe(dir: &Path, extra: &str) -> RuntimePin {
        probe(&format!(
            "argv = [\"node\", \"--version\"]\npath = \"{}:/usr/bin:/bin\"\n{extra}",
            dir.display()
        ))
    }

    #[tokio::test]
    async fn requirement_not_met_is_critical_and_met_is_ok() {
        let dir = tempfile::tempdir().unwrap();
        fake_bin(dir.path(), "node", "echo v25.6.1");
        let p = node_probe(dir.path(), "require = \"^22\"");
        assert!(p.validate().is_empty());
        let o = look_with(&p, Path::new("/"), None, Utc::now()).await;
        assert_eq!(o.health, Health::Critical, "{o:?}");
        assert_eq!(o.summary, "node 25.6.1 does not satisfy ^22");
        let program = dir.path().join("node").display().to_string();
        assert!(
            o.evidence
                .iter()
                .any(|e| e.key == "program" && e.value == program)
        );

        fake_bin(dir.path(), "node", "echo v22.11.0");
        let o = look_with(&p, Path::new("/"), None, Utc::now()).await;
        assert_eq!(o.health, Health::Ok, "{o:?}");
        assert_eq!(o.facts.as_ref().unwrap()["baseline"], "22.11.0");
    }

    #[tokio::test]
    async fn version_change_degrades_until_settled() {
        let dir = tempfile::tempdir().unwrap();
        fake_bin(dir.path(), "node", "echo v22.12.0 >&2");
        let p = node_probe(
            dir.path(),
            "require = \">=22, <23\"\nsettle_after = \"24h\"",
        );
        let t0 = Utc::now();
        let prior =
            serde_json::json!({"baseline": "22.11.0", "current": "22.11.0", "changed_at": null});

        let o = look_with(&p, Path::new("/"), Some(&prior), t0).await;
        assert_eq!(o.health, Health::Degraded, "{o:?}");
        assert_eq!(
            o.summary,
            "runtime changed from 22.11.0 to 22.12.0: re-test pinned tools"
        );
        let facts = o.facts.clone().unwrap();
        assert_eq!(facts["baseline"], "22.11.0");
        assert_eq!(facts["current"], "22.12.0");
        assert_eq!(facts["changed_at"], t0.to_rfc3339());

        // Still within settle_after: degraded, and the change time is kept.
        let later = t0 + chrono::Duration::hours(23);
        let o = look_with(&p, Path::new("/"), Some(&facts), later).await;
        assert_eq!(o.health, Health::Degraded);
        assert_eq!(o.facts.as_ref().unwrap()["changed_at"], t0.to_rfc3339());

        // Past settle_after: the new version is the baseline.
        let settled = t0 + chrono::Duration::hours(25);
        let o = look_with(&p, Path::new("/"), Some(&facts), settled).await;
        assert_eq!(o.health, Health::Ok, "{o:?}");
        assert_eq!(o.facts.as_ref().unwrap()["baseline"], "22.12.0");
        assert!(o.facts.as_ref().unwrap()["changed_at"].is_null());
    }

    #[test]
    fn changing_again_restarts_the_clock_and_rollback_clears_it() {
        let t0 = Utc::now();
        let day = Duration::from_secs(86400);
        let v = |s: &str| semver::Version::parse(s).unwrap();
        let prior = serde_json::json!({"baseline": "22.11.0", "current": "22.12.0",
            "changed_at": (t0 - chrono::Duration::hours(20)).to_rfc3339()});
        let c = track(Some(&prior), &v("22.13.0"), t0, day);
        assert_eq!(c.changed_at, Some(t0));
        assert_eq!(c.pending_from, Some(v("22.11.0")));
        let c = track(Some(&prior), &v("22.11.0"), t0, day);
        assert_eq!(c, settled(&v("22.11.0")));
        assert_eq!(track(None, &v("1.0.0"), t0, day), settled(&v("1.0.0")));
    }

    #[tokio::test]
    async fn missing_binary_is_critical_unless_optional_and_garbage_is_unknown() {
        let dir = tempfile::tempdir().unwrap();
        let p = probe(&format!(
            "argv = [\"node\", \"--version\"]\npath = \"{}\"\nrequire = \"^22\"",
            dir.path().display()
        ));
        let o = look_with(&p, Path::new("/"), None, Utc::now()).await;
        assert_finding(&o, Health::Critical, "not found on PATH");

        let p = probe(&format!(
            "argv = [\"node\", \"--version\"]\nenv = {{ PATH = \"{}\" }}\noptional = true",
            dir.path().display()
        ));
        assert!(p.validate().is_empty());
        let o = look_with(&p, Path::new("/"), None, Utc::now()).await;
        assert_eq!(o.health, Health::Ok);
        assert_eq!(o.summary, "node not installed (optional)");

        fake_bin(
            dir.path(),
            "node",
            "echo 'segmentation fault, no digits here'",
        );
        let o = look_with(&p, Path::new("/"), None, Utc::now()).await;
        assert_eq!(o.health, Health::Unknown, "{o:?}");
        assert!(o.evidence.iter().any(|e| e.key == "output"));

        fake_bin(dir.path(), "node", "echo v22.1.0; exit 3");
        let o = look_with(&p, Path::new("/"), None, Utc::now()).await;
        assert_eq!(o.health, Health::Unknown, "{o:?}");
    }

    #[test]
    fn version_parsing_table() {
        let cases = [
            ("v25.6.1\n", Some("25.6.1")),
            ("Python 3.11.7", Some("3.11.7")),
            ("go version go1.22.3 linux/amd64", Some("1.22.3")),
            ("1.2", Some("1.2.0")),
            ("22", Some("22.0.0")),
            ("v22.0.0-rc.1", Some("22.0.0-rc.1")),
            ("openclaw 2026.2.12 (abc123)", Some("2026.2.12")),
            ("rustc 1.95.0 (abcdef 2026-01-01)", Some("1.95.0")),
            ("no version", None),
            ("", None),
        ];
        for (input, want) in cases {
            let got = parse_version(input).map(|v| v.to_string());
            assert_eq!(got.as_deref(), want, "input {input:?}");
        }
    }

    #[test]
    fn invalid_requirement_and_conflicting_path() {
        let keys = testkit::invalid_keys::<RuntimePin>(
            "argv = [\"node\"]\nrequire = \"twenty-two\"\npath = \"/a\"\nenv = { PATH = \"/b\" }",
        );
        assert_eq!(keys, ["require", "env.PATH"]);
        assert!(toml::from_str::<RuntimePin>("argv = [\"x\"]\nsettle_after = \"soon\"").is_err());
    }
}
