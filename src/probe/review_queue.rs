//! `review_queue`: lesson 9, "draft first, approve later, automate last". Reads the factory's
//! review queue (`review/auto-sent/<domain>/<event>.md`) and reports every auto-sent item whose
//! category is not on the promoted list (a configured list, or a list read from the agent
//! factory's YAML), and every governance file that sets `approval_required: false` for a
//! customer-facing, business-system or money class. Evidence names the item path, its domain and
//! category, or the governance file and key path. It reads through the bounded reader only and
//! never moves, approves or edits an item.

use super::{Health, Invalid, Observation, Probe, ProbeCx};
use crate::read;
use regex::Regex;
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewQueue {
    /// The agent or factory domain this queue belongs to; named in findings: the probe's common
    /// `agent` key (or its pack include's `agent` var). Default none.
    agent: Option<String>,
    /// The review folder holding `auto-sent/<domain>/`, e.g. "/opt/compai/brain/review". Give
    /// this and a promoted list, or only `governance`. Default none.
    #[serde(default, deserialize_with = "de_nonempty")]
    queue: Option<PathBuf>,
    /// Domains to look at under `auto-sent/`. Default: every domain folder.
    #[serde(default, deserialize_with = "de_strings")]
    domains: Vec<String>,
    /// Categories promoted to auto-send after their shadow and watch periods. Default none:
    /// nothing may be auto-sent until a category is promoted.
    #[serde(default, deserialize_with = "de_strings")]
    promoted: Vec<String>,
    /// A YAML or JSON file holding the promoted list (the agent factory's `factory.yml`), read
    /// at each run and added to `promoted`; a missing file or key promotes nothing (noted in
    /// the evidence). Default none.
    #[serde(default, deserialize_with = "de_nonempty")]
    promoted_file: Option<PathBuf>,
    /// Dotted key path of the list in `promoted_file`; its items are strings or maps with a
    /// `category` (or `name`) key. Default "promoted_categories".
    #[serde(default = "default_promoted_key")]
    promoted_key: String,
    /// Regex whose first group is an item's category, tried on its text after the front
    /// matter's `category`. Default: a `category: x` / `**Category:** x` line.
    #[serde(default = "default_category_pattern")]
    category_pattern: String,
    /// Governance files (YAML or JSON) where `approval_required: false` must not appear for a
    /// protected class; a file that does not exist is noted and skipped. Default none.
    #[serde(default, deserialize_with = "de_paths")]
    governance: Vec<PathBuf>,
    /// Classes that always need approval, matched against key names on the path to
    /// `approval_required` and against a sibling `risk_class`/`class`/`authority` value. Default
    /// ["customer_facing", "business_system", "money"].
    #[serde(default = "default_protected")]
    protected_classes: Vec<String>,
    /// Most queue items read per run. Default 2000.
    #[serde(default = "default_max_items")]
    max_items: usize,
}

/// An optional path or URL; an empty string (a pack variable left unset) is none.
fn de_nonempty<'de, D: Deserializer<'de>, T: From<String>>(d: D) -> Result<Option<T>, D::Error> {
    let s = Option::<String>::deserialize(d)?;
    Ok(s.filter(|s| !s.trim().is_empty()).map(T::from))
}

/// A list where empty entries (pack variables left unset) are dropped.
fn de_paths<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<PathBuf>, D::Error> {
    Ok(de_strings(d)?.into_iter().map(PathBuf::from).collect())
}

fn de_strings<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let v = Vec::<String>::deserialize(d)?;
    Ok(v.into_iter().filter(|s| !s.trim().is_empty()).collect())
}

fn default_promoted_key() -> String {
    "promoted_categories".into()
}
fn default_category_pattern() -> String {
    r"(?im)^\s*(?:[-*]\s*)?(?:\*\*)?category(?:\*\*)?\s*:\s*(?:\*\*)?\s*`?([A-Za-z0-9_.-]+)".into()
}
fn default_protected() -> Vec<String> {
    vec![
        "customer_facing".into(),
        "business_system".into(),
        "money".into(),
    ]
}
fn default_max_items() -> usize {
    2000
}

const MAX_LISTED: usize = 15;

impl Probe for ReviewQueue {
    const KIND: &'static str = "review_queue";
    const SUMMARY: &'static str = "auto-sent review items outside the promoted categories; approval switched off for customer-facing or money classes";
    const LESSONS: &'static [u32] = &[9];
    const EXAMPLE: &'static str = r#"[probe.cs_review_queue]
lesson = 9
every = "15m"
agent = "cs"
# only categories that passed shadow mode and a 48 h watch may be auto-sent
queue = "/opt/compai/brain/review"
domains = ["cs"]
promoted = ["order_status"]
promoted_file = "/opt/compai/factories/cs/factory.yml"
promoted_key = "autonomy.promoted_categories"
governance = ["/opt/compai/governance.yml"]
"#;

    fn validate(&self) -> Vec<Invalid> {
        let mut bad = Vec::new();
        if self.queue.is_none() && self.governance.is_empty() {
            bad.push(Invalid::new(
                "queue",
                "expected `queue` (with a promoted list) or `governance` files",
            ));
        }
        if self.queue.is_none() && (!self.promoted.is_empty() || self.promoted_file.is_some()) {
            bad.push(Invalid::new(
                "queue",
                "promoted categories given but no queue",
            ));
        }
        if let Err(e) = Regex::new(&self.category_pattern) {
            bad.push(Invalid::new(
                "category_pattern",
                format!("invalid regex: {e}"),
            ));
        } else if Regex::new(&self.category_pattern).is_ok_and(|r| r.captures_len() < 2) {
            bad.push(Invalid::new(
                "category_pattern",
                "expected a capture group holding the category",
            ));
        }
        if self.protected_classes.is_empty() && !self.governance.is_empty() {
            bad.push(Invalid::new(
                "protected_classes",
                "expected at least one class",
            ));
        }
        Invalid::require_at_least_1(&mut bad, "max_items", self.max_items);
        bad
    }

    async fn observe(&self, cx: &ProbeCx<'_>) -> Observation {
        let queue = self.queue.as_ref().map(|q| cx.resolve(q));
        let promoted_file = self.promoted_file.as_ref().map(|p| cx.resolve(p));
        let gov: Vec<PathBuf> = self.governance.iter().map(|g| cx.resolve(g)).collect();
        let mut this = self.clone();
        // the agent comes from the probe's common `agent` key (or its pack include's var)
        if let Some(a) = cx.agent {
            this.agent = Some(a.to_string());
        }
        match tokio::task::spawn_blocking(move || {
            this.look(queue.as_deref(), promoted_file.as_deref(), &gov)
        })
        .await
        {
            Ok(o) => o,
            Err(e) => Observation::unknown(format!("review queue check failed: {e}")),
        }
    }
}

/// A YAML or JSON document, by extension (`.json` is JSON, everything else YAML).
fn parse_doc(path: &Path) -> Result<Value, String> {
    let text = read::text(path, read::SMALL).map_err(|e| e.to_string())?;
    let is_json = path.extension().is_some_and(|e| e == "json");
    if is_json {
        serde_json::from_str(&text)
            .map_err(|e| format!("{}: not JSON at line {}: {e}", path.display(), e.line()))
    } else {
        serde_saphyr::from_str::<Value>(&text).map_err(|e| {
            let msg = e.to_string();
            format!(
                "{}: not YAML: {}",
                path.display(),
                msg.lines().next().unwrap_or("")
            )
        })
    }
}

fn at_path<'a>(doc: &'a Value, dotted: &str) -> Option<&'a Value> {
    dotted
        .split('.')
        .filter(|s| !s.is_empty())
        .try_fold(doc, |v, k| v.get(k))
}

/// What `look` found: findings (health, evidence key, text), what could not be read, notes, the
/// auto-sent items judged and whether `max_items` stopped the reading.
#[derive(Default)]
struct Found {
    findings: Vec<(Health, &'static str, String)>,
    unknown: Vec<String>,
    notes: Vec<String>,
    items: usize,
    capped: bool,
}

impl ReviewQueue {
    fn look(
        &self,
        queue: Option<&Path>,
        promoted_file: Option<&Path>,
        governance: &[PathBuf],
    ) -> Observation {
        let who = super::agent_prefix(self.agent.as_deref());
        let mut found = Found::default();
        if let Some(queue) = queue
            && let Some(promoted) = self.promoted_set(promoted_file, &mut found)
        {
            self.judge_queue(queue, &promoted, &who, &mut found);
        }
        self.judge_governance(governance, &who, &mut found);
        let Found {
            findings,
            unknown,
            notes,
            items,
            capped,
        } = found;

        let mut obs = if let Some(o) = super::led_by(&findings, |f| f.0, |f| f.2.clone()) {
            o
        } else if let Some(u) = unknown.first() {
            Observation::unknown(format!("{who}cannot judge: {u}"))
        } else if capped {
            // a partial read is not judged clean: the items past the cap may be the bad ones
            Observation::unknown(format!(
                "{who}not judged: the queue holds more than max_items ({}); the first {items} auto-sent item(s) are in promoted categories",
                self.max_items
            ))
        } else {
            Observation::ok(format!(
                "{who}{items} auto-sent item(s), all in promoted categories; {} governance file(s) keep approval on",
                governance.len()
            ))
        };
        obs = obs.expected(
            "auto-sent items only in promoted categories; approval_required true for protected classes",
        );
        if let Some(a) = &self.agent {
            obs = obs.evidence("agent", a);
        }
        for (_, key, detail) in findings.iter().take(MAX_LISTED) {
            obs = obs.evidence(*key, detail);
        }
        if findings.len() > MAX_LISTED {
            obs = obs.evidence("more", format!("{} more", findings.len() - MAX_LISTED));
        }
        for u in unknown.iter().take(3) {
            obs = obs.evidence("unreadable", u);
        }
        for n in notes.iter().take(3) {
            obs = obs.evidence("note", n);
        }
        if capped {
            obs = obs.evidence(
                "max_items",
                format!("stopped at {} items; not all were judged", self.max_items),
            );
        }
        obs.metric("auto_sent_items", items as f64)
            .metric("findings", findings.len() as f64)
    }

    /// The promoted categories (lowercased): the configured list plus the list at
    /// `promoted_key` in `promoted_file`; `None` when that file cannot be used (then the queue is
    /// not judged).
    fn promoted_set(
        &self,
        promoted_file: Option<&Path>,
        found: &mut Found,
    ) -> Option<BTreeSet<String>> {
        let mut promoted: BTreeSet<String> =
            self.promoted.iter().map(|c| c.to_lowercase()).collect();
        let Some(pf) = promoted_file else {
            return Some(promoted);
        };
        match parse_doc(pf) {
            Err(e) if e.ends_with("no such file") => found.notes.push(format!(
                "{}: no such file; nothing is promoted",
                pf.display()
            )),
            Ok(doc) => match at_path(&doc, &self.promoted_key) {
                Some(Value::Array(list)) => {
                    for v in list {
                        let c = match v {
                            Value::String(s) => Some(s.clone()),
                            Value::Object(m) => m
                                .get("category")
                                .or_else(|| m.get("name"))
                                .and_then(Value::as_str)
                                .map(str::to_string),
                            _ => None,
                        };
                        if let Some(c) = c {
                            promoted.insert(c.to_lowercase());
                        }
                    }
                }
                Some(Value::Null) => {}
                Some(_) => {
                    found.unknown.push(format!(
                        "{}: {} is not a list",
                        pf.display(),
                        self.promoted_key
                    ));
                    return None;
                }
                None => found.notes.push(format!(
                    "{}: no key {}; nothing is promoted",
                    pf.display(),
                    self.promoted_key
                )),
            },
            Err(e) => {
                found.unknown.push(e);
                return None;
            }
        }
        Some(promoted)
    }

    /// The domains to read under `auto`: the configured ones, else its subfolders, sorted.
    fn domains(&self, auto: &Path, found: &mut Found) -> Vec<String> {
        if !self.domains.is_empty() {
            return self.domains.clone();
        }
        match std::fs::read_dir(auto) {
            Ok(rd) => {
                let mut d: Vec<String> = rd
                    .flatten()
                    .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect();
                d.sort();
                d
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => {
                found.unknown.push(format!("{}: {e}", auto.display()));
                Vec::new()
            }
        }
    }

    /// Reports every auto-sent item (at most `max_items`) whose category is not promoted.
    fn judge_queue(&self, queue: &Path, promoted: &BTreeSet<String>, who: &str, found: &mut Found) {
        let re = Regex::new(&self.category_pattern).ok();
        let auto = queue.join("auto-sent");
        let domains = self.domains(&auto, found);
        'domains: for domain in &domains {
            let dir = auto.join(domain);
            let mut files: Vec<PathBuf> = match std::fs::read_dir(&dir) {
                Ok(rd) => rd
                    .flatten()
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|x| x == "md" || x == "json"))
                    .collect(),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => {
                    found.unknown.push(format!("{}: {e}", dir.display()));
                    continue;
                }
            };
            files.sort();
            for f in files {
                if found.items >= self.max_items {
                    found.capped = true;
                    break 'domains;
                }
                found.items += 1;
                let text = match read::text_lossy(&f, read::SMALL) {
                    Ok(t) => t,
                    Err(e) => {
                        found.unknown.push(e.to_string());
                        continue;
                    }
                };
                let category = category_of(&f, &text, re.as_ref());
                let ok = category
                    .as_deref()
                    .is_some_and(|c| promoted.contains(&c.to_lowercase()));
                if !ok {
                    let c = category.unwrap_or_else(|| "(none)".into());
                    found.findings.push((
                        Health::Critical,
                        "auto_sent",
                        format!(
                            "{who}{} auto-sent in domain {domain} with category {c}, not promoted",
                            f.display()
                        ),
                    ));
                }
            }
        }
    }

    /// Reports every governance file key that sets `approval_required: false` for a protected
    /// class.
    fn judge_governance(&self, governance: &[PathBuf], who: &str, found: &mut Found) {
        for g in governance {
            match parse_doc(g) {
                Ok(doc) => {
                    let mut hits = Vec::new();
                    walk_approval(&doc, "", &[], &self.protected_classes, &mut hits);
                    for (path, class) in hits {
                        found.findings.push((
                            Health::Critical,
                            "governance",
                            format!("{who}{}: {path} = false for class {class}", g.display()),
                        ));
                    }
                }
                Err(e) if e.ends_with("no such file") => found.notes.push(e),
                Err(e) => found.unknown.push(e),
            }
        }
    }
}

/// An item's category: JSON `category`, front matter `category`, then the pattern.
fn category_of(path: &Path, text: &str, re: Option<&Regex>) -> Option<String> {
    if path.extension().is_some_and(|x| x == "json") {
        return serde_json::from_str::<Value>(text)
            .ok()?
            .get("category")?
            .as_str()
            .map(str::to_string);
    }
    if let Some(rest) = text.strip_prefix("---\n")
        && let Some(end) = rest.find("\n---")
        && let Ok(fm) = serde_saphyr::from_str::<Value>(&rest[..end])
        && let Some(c) = fm.get("category").and_then(Value::as_str)
    {
        return Some(c.to_string());
    }
    re?.captures(text)?.get(1).map(|m| m.as_str().to_string())
}

/// Finds `approval_required: false` whose key path or sibling class names a protected class.
fn walk_approval(
    v: &Value,
    path: &str,
    ancestors: &[String],
    protected: &[String],
    out: &mut Vec<(String, String)>,
) {
    match v {
        Value::Object(m) => {
            let sibling_class: Vec<String> = ["risk_class", "class", "authority", "risk"]
                .iter()
                .filter_map(|k| m.get(*k).and_then(Value::as_str))
                .map(str::to_lowercase)
                .collect();
            if m.get("approval_required") == Some(&Value::Bool(false)) {
                let names: Vec<String> = ancestors
                    .iter()
                    .map(|a| a.to_lowercase())
                    .chain(sibling_class.iter().cloned())
                    .collect();
                if let Some(class) = protected
                    .iter()
                    .find(|p| names.iter().any(|n| n.contains(&p.to_lowercase())))
                {
                    let at = if path.is_empty() {
                        "approval_required".to_string()
                    } else {
                        format!("{path}.approval_required")
                    };
                    out.push((at, class.clone()));
                }
            }
            for (k, child) in m {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                let mut anc = ancestors.to_vec();
                anc.push(k.clone());
                walk_approval(child, &p, &anc, protected, out);
            }
        }
        Value::Array(a) => {
            for (i, child) in a.iter().enumerate() {
                walk_approval(child, &format!("{path}[{i}]"), ancestors, protected, out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::testkit::{self, assert_finding, look_in, put, text};

    /// A tree with the queue's `items` (path below `review/`, text), `factory.yml` promoting
    /// order_status and tracking_link, and `governance.yml`.
    fn queue(items: &[(&str, &str)], governance: &str) -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        for (rel, text) in items {
            put(d.path(), &format!("review/{rel}"), text);
        }
        put(d.path(), "factory.yml", FACTORY);
        put(d.path(), "governance.yml", governance);
        d
    }

    fn probe(src: &str) -> ReviewQueue {
        testkit::parse(src)
    }

    const ITEM: &str = "# Review required · evt-1\n\n## Decision summary\n\n- **Action:** `auto_send`\n- **Category:** order_status\n";
    const PROBE: &str = r#"agent = "cs"
queue = "review"
promoted_file = "factory.yml"
promoted_key = "autonomy.promoted_categories"
governance = ["governance.yml"]
"#;
    const FACTORY: &str = "domain: cs\nautonomy:\n  promoted_categories:\n    - order_status\n    - { category: tracking_link, promoted_at: 2026-06-01 }\n";
    const GOV_OK: &str = "kind: GovernancePack\nauthority_matrix:\n  read_only:\n    approval_required: false\n  customer_facing:\n    approval_required: true\nloops:\n  - id: weekly-digest\n    risk_class: internal_knowledge\n    approval_required: false\n";

    #[tokio::test]
    async fn promoted_items_and_approval_on_are_ok() {
        let items = [
            ("auto-sent/cs/evt-1.md", ITEM),
            (
                "auto-sent/cs/evt-2.md",
                "---\ncategory: tracking_link\n---\n# Review\n",
            ),
            ("pending/cs/evt-3.md", "- **Category:** refund\n"),
        ];
        let d = queue(&items, GOV_OK);
        let o = look_in(&probe(PROBE), d.path()).await;
        assert_finding(&o, Health::Ok, "2 auto-sent item(s)");
    }

    /// A queue longer than `max_items` whose first items are fine is not judged clean: the
    /// items past the cap are unread.
    #[tokio::test]
    async fn a_queue_past_max_items_is_unknown_not_ok() {
        let items = [
            ("auto-sent/cs/evt-1.md", ITEM),
            ("auto-sent/cs/evt-2.md", ITEM),
        ];
        let d = queue(&items, GOV_OK);
        let o = look_in(&probe(&format!("{PROBE}\nmax_items = 1")), d.path()).await;
        assert_finding(&o, Health::Unknown, "more than max_items (1)");
        let o = look_in(&probe(PROBE), d.path()).await;
        assert_finding(&o, Health::Ok, "2 auto-sent item(s)");
    }

    #[tokio::test]
    async fn unpromoted_category_and_approval_off_are_critical() {
        let items = [
            ("auto-sent/cs/evt-1.md", ITEM),
            (
                "auto-sent/cs/evt-9.md",
                "# Review\n- **Category:** international_shipping\n",
            ),
            ("auto-sent/finance/evt-4.md", "# no category\n"),
        ];
        let governance = "authority_matrix:\n  customer_facing:\n    approval_required: false\nloops:\n  - id: refunds\n    risk_class: money\n    approval_required: false\n";
        let d = queue(&items, governance);
        let o = look_in(&probe(PROBE), d.path()).await;
        let t = testkit::assert_says(
            &o,
            Health::Critical,
            &[
                "evt-9.md auto-sent in domain cs with category international_shipping, not promoted",
                "evt-4.md auto-sent in domain finance with category (none)",
                "governance.yml: authority_matrix.customer_facing.approval_required = false for class customer_facing",
                "loops[0].approval_required = false for class money",
            ],
        );
        testkit::assert_lacks(&t, &["evt-1.md"]);
    }

    #[tokio::test]
    async fn nothing_promoted_flags_every_item_and_a_broken_list_is_unknown() {
        let d = tempfile::tempdir().unwrap();
        put(d.path(), "review/auto-sent/cs/evt-1.md", ITEM);
        let p = probe(
            r#"queue = "review"
promoted_file = "factory.yml"
"#,
        );
        // no factory file: nothing is promoted, so the auto-sent item is a violation
        let o = look_in(&p, d.path()).await;
        assert_eq!(o.health, Health::Critical, "{o:?}");
        assert!(
            text(&o).contains("factory.yml: no such file; nothing is promoted"),
            "{o:?}"
        );
        put(d.path(), "factory.yml", "domain: cs\n");
        let o = look_in(&p, d.path()).await;
        assert_eq!(o.health, Health::Critical, "{o:?}");
        assert!(
            text(&o).contains("no key promoted_categories; nothing is promoted"),
            "{o:?}"
        );
        put(d.path(), "factory.yml", "promoted_categories: 3\n");
        let o = look_in(&p, d.path()).await;
        assert_finding(&o, Health::Unknown, "promoted_categories is not a list");
        put(d.path(), "factory.yml", "promoted_categories: [\n");
        let o = look_in(&p, d.path()).await;
        assert_finding(&o, Health::Unknown, "not YAML");
    }

    #[test]
    fn validate_names_the_key() {
        let keys = testkit::invalid_keys::<ReviewQueue>("queue = \"r\"\ncategory_pattern = \"x\"");
        assert_eq!(keys, ["category_pattern"]);
        assert_eq!(testkit::invalid_keys::<ReviewQueue>("")[0], "queue");
    }
}
