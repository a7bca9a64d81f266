//! The lesson catalog: `LessonId`, `Lesson` and the 32 lessons of the Failure Ledger compiled in
//! from `checks/ledger.toml`, plus operator lessons numbered 33 and up. It must not know about
//! probes, state or alerts; others look lessons up here.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// The embedded catalog text.
pub const LEDGER_TOML: &str = include_str!("../checks/ledger.toml");
/// Lessons 1..=32 are the published ledger; operators number their own from 33.
pub const BUILTIN_LESSONS: u32 = 32;

/// A lesson number. Construction through the catalog guarantees it exists.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LessonId(pub u32);

impl fmt::Display for LessonId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "L{}", self.0)
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Lesson {
    pub number: u32,
    /// What failed.
    pub title: String,
    pub fix: String,
    /// The one-rule lesson.
    pub rule: String,
    /// One of the ledger's failure classes (auth, memory, process_management, ...).
    pub class: String,
    /// brain, agents, tools or scheduled_workflows.
    pub audience: String,
    /// True where the ledger does not group this lesson and the audience is our reading.
    #[serde(default)]
    pub audience_inferred: bool,
    /// Default owner role for incident notes.
    #[serde(default = "default_owner")]
    pub owner: String,
}

fn default_owner() -> String {
    "platform".into()
}

/// The failure classes the ledger names.
pub const CLASSES: &[&str] = &[
    "auth",
    "memory",
    "process_management",
    "stale_docs",
    "unsafe_autonomy",
    "api_drift",
    "permissions",
    "model_routing",
    "human_adoption",
];
pub const AUDIENCES: &[&str] = &["brain", "agents", "tools", "scheduled_workflows"];

#[derive(Clone, Debug)]
pub struct Catalog {
    lessons: BTreeMap<u32, Lesson>,
}

#[derive(Deserialize)]
struct CatalogFile {
    lesson: Vec<Lesson>,
}

impl Catalog {
    /// The 32 built-in lessons. The embedded file is checked by a unit test, so a parse failure
    /// here is a build defect; it still degrades to an empty catalog rather than panicking.
    pub fn builtin() -> Catalog {
        let lessons = toml::from_str::<CatalogFile>(LEDGER_TOML)
            .map(|f| f.lesson)
            .unwrap_or_default();
        Catalog {
            lessons: lessons.into_iter().map(|l| (l.number, l)).collect(),
        }
    }

    /// Adds an operator lesson; the caller has checked the number is above 32 and unused.
    pub fn add(&mut self, lesson: Lesson) {
        self.lessons.insert(lesson.number, lesson);
    }

    pub fn get(&self, n: u32) -> Option<&Lesson> {
        self.lessons.get(&n)
    }

    pub fn id(&self, n: u32) -> Option<LessonId> {
        self.lessons.get(&n).map(|l| LessonId(l.number))
    }

    pub fn iter(&self) -> impl Iterator<Item = &Lesson> {
        self.lessons.values()
    }

    pub fn len(&self) -> usize {
        self.lessons.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lessons.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_catalog_has_all_32_lessons_with_known_classes() {
        let parsed: CatalogFile = toml::from_str(LEDGER_TOML).expect("ledger.toml parses");
        assert_eq!(parsed.lesson.len(), 32);
        let c = Catalog::builtin();
        for n in 1..=32 {
            let l = c.get(n).unwrap_or_else(|| panic!("lesson {n} missing"));
            assert!(
                CLASSES.contains(&l.class.as_str()),
                "lesson {n} class {}",
                l.class
            );
            assert!(AUDIENCES.contains(&l.audience.as_str()));
            assert!(!l.rule.is_empty() && !l.fix.is_empty() && !l.title.is_empty());
        }
        assert_eq!(
            c.get(14).map(|l| l.rule.as_str()),
            Some("Cron is not your shell")
        );
        assert_eq!(
            c.get(26).map(|l| l.rule.as_str()),
            Some("HTTP 200 is not proof of correctness")
        );
    }
}
