//! `skills`: lesson 15, "procedures must be shared infrastructure". Lists the skills in one
//! agent's workspace folders (`skills/<slug>/SKILL.md`, or `skills/<category>/<slug>/SKILL.md`
//! as Hermes keeps them) and reports every slug the shared brain's
//! skills folder (`knowledge/skills/<slug>/SKILL.md`) lacks, naming the agent and the slug; with
//! `require_local` it also reports shared skills the agent's workspace lacks. A workspace skill
//! that is a symlink into the shared folder counts as shared. It only lists directories and
//! checks that `SKILL.md` is a regular file; it never reads a skill's text or copies anything.

use super::{Health, Invalid, Observation, Probe, ProbeCx};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Skills {
    /// The agent whose workspace this is, named in every finding: the probe's common `agent` key
    /// (or its pack include's `agent` var), which the loader hands to the kind at run time.
    #[serde(default)]
    agent: Option<String>,
    /// The agent's skill folders, each holding `<slug>/SKILL.md`, e.g.
    /// ["~/.openclaw/skills", "~/.openclaw/workspace-cs/skills"]. A folder that does not exist
    /// holds no skills. Required.
    workspace: Vec<PathBuf>,
    /// The shared brain's skills folder, e.g. "/opt/brain/brain/knowledge/skills". Required.
    shared: PathBuf,
    /// Also report shared skills missing from the agent's workspace (for fleets that copy
    /// canonical skills to every node). Default false (canonical skills are served, not copied).
    #[serde(default)]
    require_local: bool,
    /// Slugs never reported (an agent-private experiment, a vendored skill). Default none.
    #[serde(default)]
    ignore: Vec<String>,
    /// Most skills listed per folder (a runaway folder stops there and says so). Default 5000.
    #[serde(default = "default_max")]
    max_skills: usize,
}

fn default_max() -> usize {
    5000
}

/// Most slugs named in evidence; the count is always given.
const MAX_LISTED: usize = 20;

impl Probe for Skills {
    const KIND: &'static str = "skills";
    const SUMMARY: &'static str =
        "skills in an agent's workspace that the shared brain's skills folder lacks (and back)";
    const LESSONS: &'static [u32] = &[15];
    const EXAMPLE: &'static str = r#"[probe.cs_skills]
lesson = 15
every = "6h"
agent = "cs"
# a skill only this agent has is a procedure the rest of the fleet cannot use
workspace = ["/home/cs/.openclaw/skills", "/home/cs/.openclaw/workspace-cs/skills"]
shared = "/opt/brain/brain/knowledge/skills"
ignore = ["scratch"]
"#;

    fn validate(&self) -> Vec<Invalid> {
        let mut bad = Vec::new();
        if self.agent.as_deref().is_some_and(|a| a.trim().is_empty()) {
            bad.push(Invalid::new("agent", "expected the agent's name"));
        }
        Invalid::require_at_least_one(&mut bad, "workspace", &self.workspace, "skills folder");
        Invalid::require_at_least_1(&mut bad, "max_skills", self.max_skills);
        bad
    }

    async fn observe(&self, cx: &ProbeCx<'_>) -> Observation {
        let ws: Vec<PathBuf> = self.workspace.iter().map(|p| cx.resolve(p)).collect();
        let shared = cx.resolve(&self.shared);
        let mut this = self.clone();
        // the agent comes from the probe's common `agent` key (or its pack include's var)
        if let Some(a) = cx.agent {
            this.agent = Some(a.to_string());
        }
        match tokio::task::spawn_blocking(move || this.look(&ws, &shared)).await {
            Ok(o) => o,
            Err(e) => Observation::unknown(format!("skills check failed: {e}")),
        }
    }
}

/// Skills found in one folder: slug -> (skill dir, resolves into the shared folder).
struct Listing {
    skills: BTreeMap<String, PathBuf>,
    capped: bool,
}

/// Lists `<dir>/<slug>/SKILL.md`. `Ok(None)` when the folder does not exist.
fn list(dir: &Path, max: usize) -> Result<Option<Listing>, String> {
    let rd = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("{}: {e}", dir.display())),
    };
    let mut skills = BTreeMap::new();
    let mut capped = false;
    for e in rd.flatten() {
        if skills.len() >= max {
            capped = true;
            break;
        }
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let p = e.path();
        // follows a symlinked skill dir: SKILL.md must be a regular file
        if std::fs::metadata(p.join("SKILL.md")).is_ok_and(|m| m.is_file()) {
            skills.insert(name, p);
        } else if p.is_dir()
            && let Ok(inner) = std::fs::read_dir(&p)
        {
            // a category folder (Hermes: skills/<category>/<skill>/SKILL.md)
            for e in inner.flatten().take(max) {
                let slug = e.file_name().to_string_lossy().into_owned();
                let q = e.path();
                if !slug.starts_with('.')
                    && std::fs::metadata(q.join("SKILL.md")).is_ok_and(|m| m.is_file())
                {
                    skills.insert(slug, q);
                }
            }
        }
    }
    Ok(Some(Listing { skills, capped }))
}

impl Skills {
    /// The shared folder does not exist: critical when the agent has skills of its own (they are
    /// siloed) or must mirror the shared ones; an agent with no skills at all has nothing siloed.
    fn no_shared_folder(&self, workspace: &[PathBuf], shared: &Path) -> Observation {
        let agent = self.agent.as_deref().unwrap_or("(none)");
        let own: BTreeSet<String> = workspace
            .iter()
            .filter_map(|d| list(d, self.max_skills).ok().flatten())
            .flat_map(|l| l.skills.into_keys())
            .filter(|s| !self.ignore.iter().any(|i| i == s))
            .collect();
        if own.is_empty() && !self.require_local {
            return Observation::ok(format!(
                "agent {agent} has no skills of its own and no shared skills folder ({}): nothing siloed",
                shared.display()
            ));
        }
        let mut o = Observation::critical(format!(
            "agent {agent}: shared skills folder {} does not exist",
            shared.display()
        ));
        for slug in own.iter().take(20) {
            o.push_evidence("only_local", slug);
        }
        o
    }

    fn look(&self, workspace: &[PathBuf], shared: &Path) -> Observation {
        let agent = self.agent.as_deref().unwrap_or("(none)");
        let expected = if self.require_local {
            format!(
                "every skill of agent {agent} in {} and back",
                shared.display()
            )
        } else {
            format!("every skill of agent {agent} also in {}", shared.display())
        };
        let base = |o: Observation| {
            o.expected(expected.clone())
                .evidence("agent", agent)
                .evidence("shared", shared.display())
        };
        let shared_list = match list(shared, self.max_skills) {
            Ok(Some(l)) => l,
            Ok(None) => return base(self.no_shared_folder(workspace, shared)),
            Err(e) => return base(Observation::unknown(format!("cannot list {e}"))),
        };
        let shared_real = std::fs::canonicalize(shared).unwrap_or_else(|_| shared.to_path_buf());
        let mut local: BTreeMap<String, PathBuf> = BTreeMap::new();
        let mut capped = shared_list.capped;
        let mut unreadable = Vec::new();
        for dir in workspace {
            // the workspace folder is the shared one (a `brain/` symlink): nothing is local
            if std::fs::canonicalize(dir).is_ok_and(|d| d == shared_real) {
                continue;
            }
            match list(dir, self.max_skills) {
                Ok(Some(l)) => {
                    capped |= l.capped;
                    for (slug, p) in l.skills {
                        local.entry(slug).or_insert(p);
                    }
                }
                Ok(None) => {}
                Err(e) => unreadable.push(e),
            }
        }
        let ignored = |s: &str| self.ignore.iter().any(|i| i == s);
        let only_local: Vec<(&String, &PathBuf)> = local
            .iter()
            .filter(|(slug, p)| {
                !ignored(slug)
                    && !shared_list.skills.contains_key(*slug)
                    && !std::fs::canonicalize(p).is_ok_and(|r| r.starts_with(&shared_real))
            })
            .collect();
        let local_slugs: BTreeSet<&String> = local.keys().collect();
        let only_shared: Vec<&String> = if self.require_local {
            shared_list
                .skills
                .keys()
                .filter(|s| !ignored(s) && !local_slugs.contains(s))
                .collect()
        } else {
            Vec::new()
        };

        let mut obs = if only_local.is_empty() && only_shared.is_empty() {
            if let Some(u) = unreadable.first() {
                Observation::unknown(format!("agent {agent}: cannot list {u}"))
            } else {
                Observation::ok(format!(
                    "agent {agent}: {} workspace skill(s), all shared ({} in the brain)",
                    local.len(),
                    shared_list.skills.len()
                ))
            }
        } else {
            let mut parts = Vec::new();
            if !only_local.is_empty() {
                let names: Vec<&str> = only_local.iter().map(|(s, _)| s.as_str()).collect();
                parts.push(format!(
                    "{} skill(s) only in agent {agent}'s workspace: {}",
                    only_local.len(),
                    shown(&names)
                ));
            }
            if !only_shared.is_empty() {
                let names: Vec<&str> = only_shared.iter().map(|s| s.as_str()).collect();
                parts.push(format!(
                    "{} shared skill(s) missing from agent {agent}'s workspace: {}",
                    only_shared.len(),
                    shown(&names)
                ));
            }
            Observation::new(Health::Degraded, parts.join("; "))
        };
        obs = base(obs);
        for (slug, p) in only_local.iter().take(MAX_LISTED) {
            obs = obs.evidence(
                "only_local",
                format!("skill {slug} of agent {agent}: {}/SKILL.md", p.display()),
            );
        }
        for slug in only_shared.iter().take(MAX_LISTED) {
            obs = obs.evidence("only_shared", format!("skill {slug}"));
        }
        for u in unreadable.iter().take(3) {
            obs = obs.evidence("unreadable", u);
        }
        if capped {
            obs = obs.evidence(
                "max_skills",
                format!("stopped at {} skills per folder", self.max_skills),
            );
        }
        obs.metric("local_skills", local.len() as f64)
            .metric("shared_skills", shared_list.skills.len() as f64)
            .metric("only_local", only_local.len() as f64)
    }
}

fn shown(names: &[&str]) -> String {
    let mut s = names
        .iter()
        .take(MAX_LISTED)
        .copied()
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > MAX_LISTED {
        s.push_str(&format!(" +{}", names.len() - MAX_LISTED));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::testkit::{self, assert_finding, look_in, text};

    fn skill(root: &Path, rel: &str) {
        let d = root.join(rel);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("SKILL.md"), "# skill\n").unwrap();
    }

    fn probe(extra: &str) -> Skills {
        testkit::parse(&format!(
            "agent = \"cs\"\nworkspace = [\"home/cs/.openclaw/skills\", \"home/cs/.openclaw/workspace-cs/skills\"]\nshared = \"brain/knowledge/skills\"\n{extra}"
        ))
    }

    #[tokio::test]
    async fn shared_skills_are_ok_and_a_local_only_skill_is_degraded() {
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        skill(r, "brain/knowledge/skills/refund-policy");
        skill(r, "brain/knowledge/skills/order-status");
        skill(r, "home/cs/.openclaw/skills/refund-policy");
        // a symlink into the brain is shared
        std::fs::create_dir_all(r.join("home/cs/.openclaw/workspace-cs/skills")).unwrap();
        std::os::unix::fs::symlink(
            r.join("brain/knowledge/skills/order-status"),
            r.join("home/cs/.openclaw/workspace-cs/skills/order-status"),
        )
        .unwrap();
        // a directory without SKILL.md is not a skill
        std::fs::create_dir_all(r.join("home/cs/.openclaw/skills/notes")).unwrap();
        // a skill inside a category folder counts by its own slug
        skill(r, "home/cs/.openclaw/skills/support/refund-policy");
        let o = look_in(&probe(""), r).await;
        assert_eq!(o.health, Health::Ok, "{o:?}");
        assert_eq!(
            o.summary,
            "agent cs: 2 workspace skill(s), all shared (2 in the brain)"
        );

        skill(r, "home/cs/.openclaw/workspace-cs/skills/vip-returns");
        skill(r, "home/cs/.openclaw/skills/scratch");
        let o = look_in(&probe("ignore = [\"scratch\"]"), r).await;
        assert_eq!(o.health, Health::Degraded, "{o:?}");
        assert_eq!(
            o.summary,
            "1 skill(s) only in agent cs's workspace: vip-returns"
        );
        let t = text(&o);
        testkit::assert_contains(&t, &["agent: cs"]);
        assert!(
            t.contains("only_local: skill vip-returns of agent cs: ")
                && t.contains("workspace-cs/skills/vip-returns/SKILL.md"),
            "{t}"
        );
    }

    #[tokio::test]
    async fn reverse_direction_when_configured() {
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        skill(r, "brain/knowledge/skills/refund-policy");
        skill(r, "brain/knowledge/skills/brand-voice");
        skill(r, "home/cs/.openclaw/skills/refund-policy");
        assert_eq!(look_in(&probe(""), r).await.health, Health::Ok);
        let o = look_in(&probe("require_local = true"), r).await;
        assert_finding(
            &o,
            Health::Degraded,
            "1 shared skill(s) missing from agent cs's workspace: brand-voice",
        );
    }

    #[tokio::test]
    async fn missing_shared_folder_is_critical_and_unlistable_is_unknown() {
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        // no brain and no skills of its own (a host without a shared brain): nothing siloed
        std::fs::create_dir_all(r.join("home/cs/.openclaw/workspace-cs/skills")).unwrap();
        let o = look_in(&probe(""), r).await;
        assert_finding(&o, Health::Ok, "no skills of its own");
        // ...unless it must mirror the shared skills
        let o = look_in(&probe("require_local = true"), r).await;
        assert_finding(&o, Health::Critical, "shared skills folder");
        skill(r, "home/cs/.openclaw/skills/refund-policy");
        let o = look_in(&probe(""), r).await;
        assert_finding(&o, Health::Critical, "shared skills folder");
        // the shared path is a file: cannot list it
        std::fs::create_dir_all(r.join("brain/knowledge")).unwrap();
        std::fs::write(r.join("brain/knowledge/skills"), "x").unwrap();
        let o = look_in(&probe(""), r).await;
        assert_eq!(o.health, Health::Unknown, "{o:?}");
    }

    #[test]
    fn validate_names_the_key() {
        let keys = testkit::invalid_keys::<Skills>(
            "agent = \"\"\nworkspace = []\nshared = \"x\"\nmax_skills = 0",
        );
        assert_eq!(keys, ["agent", "workspace", "max_skills"]);
    }
}
