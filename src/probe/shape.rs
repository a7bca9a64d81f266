//! Response-shape memory for kinds that read a vendor's JSON (`http`): the set of key paths and
//! list lengths seen in good runs, kept in the probe's facts, and the judgement of a new answer
//! against it (lesson 26: "HTTP 200 is not proof of correctness"): a key that disappeared, a
//! list that was full in good runs and is empty on a working day, `count == limit` with no
//! cursor (the rest silently dropped). It judges a parsed document it is given; it does no I/O,
//! and it reports key paths and counts, never values.

use super::Invalid;
use chrono::{DateTime, Datelike, Utc, Weekday};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// `shape = { ... }` on a kind: remember the answer's shape in good runs and report changes.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShapeMemory {
    /// Days on which an empty list is a finding ("mon" … "sun"). Default Monday to Friday.
    #[serde(default = "default_days")]
    pub working_days: Vec<String>,
    /// IANA time zone that decides the day, e.g. "Europe/Madrid". Default "UTC".
    #[serde(default = "default_tz")]
    pub timezone: String,
    /// Key paths never reported as disappeared (`$.debug`, `$.data[].promo`); a path also
    /// covers everything below it. Default none.
    #[serde(default)]
    pub ignore: Vec<String>,
    /// JSONPath of the page's item list, e.g. "$.data": `count == limit` must come with a cursor.
    /// Default none (no pagination check).
    pub page_items: Option<String>,
    /// The page size asked for. Default: the URL's `limit`, `per_page`, `page_size`, `pageSize`,
    /// `perPage`, `max_results` or `$top` query parameter.
    pub page_limit: Option<u64>,
    /// JSONPaths of the next-page link or cursor; one selecting a value that is not null, empty
    /// or false means more pages are announced. Default `$.next`, `$.next_cursor`, `$.nextCursor`,
    /// `$.cursor`, `$.next_page`, `$.next_page_token`, `$.nextPageToken`, `$.links.next`,
    /// `$.meta.next_cursor`, `$.paging.next`, `$.pagination.next`, `$.has_more`, `$.hasMore`.
    #[serde(default = "default_cursors")]
    pub cursor: Vec<String>,
    /// A changed shape (keys gone) seen unchanged in every run for this long becomes the
    /// remembered one: the vendor's change has been reported for that long. Default "7d".
    #[serde(default = "default_adopt", deserialize_with = "crate::duration::de")]
    pub adopt_after: Duration,
}

fn default_days() -> Vec<String> {
    ["mon", "tue", "wed", "thu", "fri"]
        .map(String::from)
        .to_vec()
}
fn default_tz() -> String {
    "UTC".into()
}
fn default_cursors() -> Vec<String> {
    [
        "$.next",
        "$.next_cursor",
        "$.nextCursor",
        "$.cursor",
        "$.next_page",
        "$.next_page_token",
        "$.nextPageToken",
        "$.links.next",
        "$.meta.next_cursor",
        "$.paging.next",
        "$.pagination.next",
        "$.has_more",
        "$.hasMore",
    ]
    .map(String::from)
    .to_vec()
}
fn default_adopt() -> Duration {
    Duration::from_secs(7 * 24 * 3600)
}

/// Query parameters that carry a page size.
const LIMIT_PARAMS: &[&str] = &[
    "limit",
    "per_page",
    "page_size",
    "pageSize",
    "perPage",
    "max_results",
    "$top",
];
/// Deepest key path remembered.
const MAX_DEPTH: usize = 8;
/// Most key paths remembered.
const MAX_PATHS: usize = 512;
/// An object with more keys than this is a map (ids as keys): remembered as `.*`.
const MAX_OBJECT_KEYS: usize = 64;
/// Most paths named in one finding.
const MAX_NAMED: usize = 8;

/// One shape finding: the evidence key and value, and a phrase for the summary.
pub struct Finding {
    pub key: &'static str,
    pub detail: String,
    pub summary: String,
}

/// What `judge` found, and the facts to keep.
pub struct Verdict {
    pub critical: Vec<Finding>,
    pub degraded: Vec<Finding>,
    /// Notes for the evidence (shape learned, adopted, empty on a day off).
    pub notes: Vec<(&'static str, String)>,
    /// The `shape` value to keep in facts.
    pub facts: Value,
}

fn weekday(s: &str) -> Option<Weekday> {
    s.trim().parse::<Weekday>().ok()
}

impl ShapeMemory {
    /// Load-time checks; keys are named under `key` (e.g. "shape").
    pub fn validate(&self, key: &str) -> Vec<Invalid> {
        let mut bad = Vec::new();
        for (i, d) in self.working_days.iter().enumerate() {
            if weekday(d).is_none() {
                bad.push(Invalid::new(
                    format!("{key}.working_days[{i}]"),
                    format!("expected a weekday such as \"mon\", got {d:?}"),
                ));
            }
        }
        if self.timezone.parse::<chrono_tz::Tz>().is_err() {
            bad.push(Invalid::new(
                format!("{key}.timezone"),
                format!(
                    "unknown time zone {:?} (expected e.g. \"Europe/Madrid\")",
                    self.timezone
                ),
            ));
        }
        if let Some(p) = &self.page_items
            && let Err(e) = super::expect::parse_path(p)
        {
            bad.push(Invalid::new(
                format!("{key}.page_items"),
                format!("invalid JSONPath: {e}"),
            ));
        }
        for (i, p) in self.cursor.iter().enumerate() {
            if let Err(e) = super::expect::parse_path(p) {
                bad.push(Invalid::new(
                    format!("{key}.cursor[{i}]"),
                    format!("invalid JSONPath: {e}"),
                ));
            }
        }
        if self.page_limit == Some(0) {
            bad.push(Invalid::new(
                format!("{key}.page_limit"),
                "must be at least 1",
            ));
        }
        bad
    }

    fn working_day(&self, now: DateTime<Utc>) -> bool {
        let tz: chrono_tz::Tz = self.timezone.parse().unwrap_or(chrono_tz::UTC);
        let day = now.with_timezone(&tz).weekday();
        self.working_days.iter().any(|d| weekday(d) == Some(day))
    }

    fn ignored(&self, path: &str) -> bool {
        self.ignore.iter().any(|i| {
            path == i
                || path
                    .strip_prefix(i.as_str())
                    .is_some_and(|r| r.starts_with('.') || r.starts_with('['))
        })
    }

    /// Judges `doc` against the remembered shape (`prior` is the kind's previous facts, holding
    /// `shape`). `healthy`: the answer passed every other check, so it may teach the memory.
    pub fn judge(
        &self,
        doc: &Value,
        prior: Option<&Value>,
        url: Option<&reqwest::Url>,
        healthy: bool,
        now: DateTime<Utc>,
    ) -> Verdict {
        let mut v = Verdict {
            critical: Vec::new(),
            degraded: Vec::new(),
            notes: Vec::new(),
            facts: Value::Null,
        };
        let mut keys = BTreeSet::new();
        let mut lists = BTreeMap::new();
        collect(doc, "$", 0, &mut keys, &mut lists);
        self.check_page(doc, url, &mut v);

        let before = prior.and_then(|p| p.get("shape")).filter(|s| s.is_object());
        let Some(before) = before else {
            v.facts = if healthy {
                v.notes.push((
                    "shape",
                    format!("learned {} key paths, {} lists", keys.len(), lists.len()),
                ));
                shape_facts(&keys, &lists, &BTreeMap::new(), now)
            } else {
                Value::Null
            };
            return v;
        };
        let old_keys: BTreeSet<String> = strings(before.get("keys"));
        let old_lists: BTreeMap<String, u64> = before
            .get("lists")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .filter_map(|(k, n)| Some((k.clone(), n.as_u64()?)))
                    .collect()
            })
            .unwrap_or_default();
        // below a list that is empty now nothing can be seen: not "gone"
        let empty_now: Vec<String> = lists
            .iter()
            .filter(|(_, n)| **n == 0)
            .map(|(p, _)| format!("{p}[]"))
            .collect();
        let gone: Vec<&String> = old_keys
            .iter()
            .filter(|k| !keys.contains(*k) && !self.ignored(k))
            .filter(|k| !empty_now.iter().any(|e| k.starts_with(e.as_str())))
            .collect();
        // name only the top of each vanished subtree
        let top: Vec<&String> = gone
            .iter()
            .filter(|k| {
                !gone
                    .iter()
                    .any(|p| *p != **k && k.starts_with(p.as_str()) && is_below(k, p))
            })
            .copied()
            .collect();
        let pending_since = before
            .get("pending")
            .filter(|p| strings(p.get("keys")) == keys)
            .and_then(|p| p.get("since"))
            .and_then(Value::as_str)
            .and_then(super::docmeta::parse_date);
        let adopt =
            chrono::Duration::from_std(self.adopt_after).unwrap_or(chrono::Duration::days(7));
        if !top.is_empty() && pending_since.is_some_and(|s| now - s >= adopt) {
            v.notes.push((
                "shape",
                format!(
                    "adopted the new shape after {} without {}",
                    humantime::format_duration(self.adopt_after),
                    list(&top)
                ),
            ));
            v.facts = shape_facts(&keys, &lists, &old_lists, now);
            return v;
        }
        if !top.is_empty() {
            v.critical.push(Finding {
                key: "shape.keys",
                detail: format!(
                    "gone since the good runs: {} ({} of {} remembered key paths)",
                    list(&top),
                    gone.len(),
                    old_keys.len()
                ),
                summary: format!("key {} disappeared from the answer", list(&top)),
            });
        }
        self.check_lists(&lists, &old_lists, now, &mut v);
        if top.is_empty() && v.critical.is_empty() && v.degraded.is_empty() && healthy {
            let mut merged = old_keys.clone();
            merged.extend(keys.iter().cloned());
            v.facts = shape_facts(&merged, &lists, &old_lists, now);
        } else {
            // keep the good runs' shape; remember since when this one is seen
            let since = pending_since.unwrap_or(now);
            let mut kept = before.clone();
            if let Some(m) = kept.as_object_mut() {
                if top.is_empty() {
                    m.remove("pending");
                } else {
                    m.insert(
                        "pending".into(),
                        json!({ "since": since.to_rfc3339(), "keys": keys }),
                    );
                }
            }
            v.facts = kept;
        }
        v
    }

    /// A list full in good runs and empty now: critical on a working day, a note on a day off.
    fn check_lists(
        &self,
        lists: &BTreeMap<String, u64>,
        old_lists: &BTreeMap<String, u64>,
        now: DateTime<Utc>,
        v: &mut Verdict,
    ) {
        let working = self.working_day(now);
        for (path, n) in lists {
            let was = old_lists.get(path).copied().unwrap_or(0);
            if *n == 0 && was > 0 && !self.ignored(path) {
                if working {
                    v.critical.push(Finding {
                        key: "shape.lists",
                        detail: format!("{path}: 0 items on a working day (good runs had {was})"),
                        summary: format!("{path} is empty on a working day (good runs had {was})"),
                    });
                } else {
                    v.notes.push((
                        "shape",
                        format!("{path}: 0 items on a day off (good runs had {was})"),
                    ));
                }
            }
        }
    }

    /// `count == limit` with no cursor: the rest of the data is silently cut off.
    fn check_page(&self, doc: &Value, url: Option<&reqwest::Url>, v: &mut Verdict) {
        let Some(items) = self.page_items.as_deref() else {
            return;
        };
        let Ok(path) = super::expect::parse_path(items) else {
            return;
        };
        let Some(count) = path
            .query(doc)
            .all()
            .first()
            .and_then(|n| n.as_array())
            .map(Vec::len)
        else {
            return;
        };
        let limit = self.page_limit.or_else(|| {
            url.and_then(|u| {
                u.query_pairs()
                    .find(|(k, _)| LIMIT_PARAMS.contains(&k.as_ref()))
                    .and_then(|(_, val)| val.parse().ok())
            })
        });
        let Some(limit) = limit else {
            return;
        };
        let announced = self.cursor.iter().any(|c| {
            super::expect::parse_path(c).is_ok_and(|p| {
                p.query(doc).all().iter().any(|n| match n {
                    Value::Null | Value::Bool(false) => false,
                    Value::String(s) => !s.is_empty(),
                    _ => true,
                })
            })
        });
        if count as u64 == limit && !announced {
            v.degraded.push(Finding {
                key: "shape.page",
                detail: format!(
                    "{items} has {count} items = the page limit {limit}, and no cursor or next link ({})",
                    self.cursor.join(", ")
                ),
                summary: format!(
                    "{items} has exactly the page limit ({limit}) and no cursor: later pages are silently dropped"
                ),
            });
        }
    }
}

/// `k` lies below `p` (`$.a.b` below `$.a`, `$.a[].x` below `$.a`).
fn is_below(k: &str, p: &str) -> bool {
    k.strip_prefix(p)
        .is_some_and(|r| r.starts_with('.') || r.starts_with('['))
}

fn strings(v: Option<&Value>) -> BTreeSet<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

fn list(paths: &[&String]) -> String {
    let mut s: Vec<&str> = paths.iter().take(MAX_NAMED).map(|p| p.as_str()).collect();
    let more = paths.len().saturating_sub(MAX_NAMED);
    let more = if more > 0 {
        format!(" (+{more} more)")
    } else {
        String::new()
    };
    s.sort();
    format!("{}{more}", s.join(", "))
}

/// The facts kept: key paths, and per list the last length seen above zero (an empty answer
/// on a day off does not make "empty" normal).
fn shape_facts(
    keys: &BTreeSet<String>,
    lists: &BTreeMap<String, u64>,
    old_lists: &BTreeMap<String, u64>,
    now: DateTime<Utc>,
) -> Value {
    let mut l = Map::new();
    for (p, n) in lists {
        let keep = if *n == 0 {
            old_lists.get(p).copied().unwrap_or(0)
        } else {
            *n
        };
        l.insert(p.clone(), json!(keep));
    }
    json!({ "keys": keys, "lists": l, "learned_at": now.to_rfc3339() })
}

/// Key paths (`$.data`, `$.data[]`, `$.data[].id`) and the lengths of lists not inside lists.
fn collect(
    v: &Value,
    path: &str,
    depth: usize,
    keys: &mut BTreeSet<String>,
    lists: &mut BTreeMap<String, u64>,
) {
    if depth > MAX_DEPTH || keys.len() >= MAX_PATHS {
        return;
    }
    match v {
        Value::Object(m) => {
            let as_map = m.len() > MAX_OBJECT_KEYS
                || (!m.is_empty()
                    && m.keys()
                        .all(|k| k.starts_with(|c: char| c.is_ascii_digit())));
            for (k, child) in m {
                let p = if as_map {
                    format!("{path}.*")
                } else {
                    format!("{path}.{k}")
                };
                keys.insert(p.clone());
                collect(child, &p, depth + 1, keys, lists);
            }
        }
        Value::Array(a) => {
            if !path.contains("[]") {
                lists.insert(path.to_string(), a.len() as u64);
            }
            let p = format!("{path}[]");
            if !a.is_empty() {
                keys.insert(p.clone());
            }
            for child in a.iter().take(64) {
                collect(child, &p, depth + 1, keys, lists);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn memory(src: &str) -> ShapeMemory {
        let m: ShapeMemory = toml::from_str(src).unwrap();
        assert!(m.validate("shape").is_empty(), "{:?}", m.validate("shape"));
        m
    }

    fn at(s: &str) -> DateTime<Utc> {
        super::super::docmeta::parse_date(s).unwrap()
    }

    #[test]
    fn learns_then_reports_gone_keys_and_empty_lists() {
        let m = memory("");
        let good = json!({"data": [{"id": 1, "total": 3.5}], "meta": {"count": 1}});
        let wed = at("2026-05-13T10:00:00Z");
        let v = m.judge(&good, None, None, true, wed);
        assert!(v.critical.is_empty() && v.degraded.is_empty());
        let prior = json!({ "shape": v.facts });
        // the same shape again: nothing to report
        let v = m.judge(&good, Some(&prior), None, true, wed);
        assert!(v.critical.is_empty());
        // the vendor renamed total and dropped meta
        let changed = json!({"data": [{"id": 1, "amount": 3.5}]});
        let v = m.judge(&changed, Some(&prior), None, true, wed);
        assert_eq!(v.critical.len(), 1);
        assert_eq!(
            v.critical[0].summary,
            "key $.data[].total, $.meta disappeared from the answer"
        );
        // empty on a Wednesday vs a Sunday
        let empty = json!({"data": [], "meta": {"count": 0}});
        let v = m.judge(&empty, Some(&prior), None, true, wed);
        assert_eq!(
            v.critical
                .iter()
                .map(|f| f.summary.as_str())
                .collect::<Vec<_>>(),
            ["$.data is empty on a working day (good runs had 1)"]
        );
        let v = m.judge(&empty, Some(&prior), None, true, at("2026-05-17T10:00:00Z"));
        assert!(v.critical.is_empty());
        // the remembered length survives the empty Sunday
        assert_eq!(v.facts["lists"]["$.data"], 1);
    }

    #[test]
    fn a_changed_shape_is_adopted_after_a_while() {
        let m = memory("adopt_after = \"1d\"");
        let t = at("2026-05-13T10:00:00Z");
        let v = m.judge(&json!({"a": 1, "b": 2}), None, None, true, t);
        let mut prior = json!({ "shape": v.facts });
        let new = json!({"a": 1});
        // reported when it changes and 2 h later, adopted after a day
        for hours in [0, 2] {
            let later = t + chrono::Duration::hours(hours);
            let v = m.judge(&new, Some(&prior), None, true, later);
            assert_eq!(v.critical.len(), 1, "after {hours} h");
            prior = json!({ "shape": v.facts });
        }
        let v = m.judge(
            &new,
            Some(&prior),
            None,
            true,
            t + chrono::Duration::hours(25),
        );
        assert!(v.critical.is_empty());
        assert!(
            v.notes[0]
                .1
                .starts_with("adopted the new shape after 1day without $.b")
        );
    }

    #[test]
    fn full_page_without_cursor_is_reported() {
        let m = memory("page_items = \"$.data\"");
        let url = reqwest::Url::parse("https://vendor.test/orders?limit=2").unwrap();
        let t = at("2026-05-13T10:00:00Z");
        let full = json!({"data": [1, 2]});
        let v = m.judge(&full, None, Some(&url), true, t);
        assert_eq!(v.degraded.len(), 1, "count == limit, no cursor");
        let v = m.judge(
            &json!({"data": [1, 2], "next_cursor": "abc"}),
            None,
            Some(&url),
            true,
            t,
        );
        assert!(v.degraded.is_empty());
        let v = m.judge(
            &json!({"data": [1, 2], "has_more": false}),
            None,
            Some(&url),
            true,
            t,
        );
        assert_eq!(v.degraded.len(), 1);
        let v = m.judge(&json!({"data": [1]}), None, Some(&url), true, t);
        assert!(v.degraded.is_empty());
    }

    #[test]
    fn validate_names_the_key() {
        let m: ShapeMemory =
            toml::from_str("working_days = [\"mon\", \"payday\"]\ntimezone = \"Mars/Base\"\npage_items = \"$[\"\npage_limit = 0").unwrap();
        let keys: Vec<String> = m.validate("shape").into_iter().map(|b| b.key).collect();
        assert_eq!(
            keys,
            [
                "shape.working_days[1]",
                "shape.timezone",
                "shape.page_items",
                "shape.page_limit"
            ]
        );
    }
}
