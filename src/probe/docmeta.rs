//! Document metadata shared by the kinds that read prompts, memory files and config snapshots:
//! markdown YAML front matter, the date formats people write in it, and timestamps embedded in
//! backup file names (`openclaw.json.bak-20260512T1000`). It only parses text it is given; it
//! never reads files (kinds read through `crate::read`) and never judges what it finds.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde_json::Value;

/// Splits a markdown text into its YAML front matter (between a first line `---` and the next
/// `---` or `...`) and the body. No front matter: `(None, text)`.
pub fn split_front_matter(text: &str) -> (Option<&str>, &str) {
    let t = text.strip_prefix('\u{feff}').unwrap_or(text);
    let Some(rest) = t
        .strip_prefix("---\n")
        .or_else(|| t.strip_prefix("---\r\n"))
    else {
        return (None, t);
    };
    let mut offset = 0;
    for line in rest.split_inclusive('\n') {
        let l = line.trim_end();
        if l == "---" || l == "..." {
            return (Some(&rest[..offset]), &rest[offset + line.len()..]);
        }
        offset += line.len();
    }
    (None, t)
}

/// The front matter parsed as YAML; `None` when there is none or it is not a YAML mapping.
pub fn front_matter(text: &str) -> Option<Value> {
    let (fm, _) = split_front_matter(text);
    let v: Value = serde_saphyr::from_str(fm?).ok()?;
    v.is_object().then_some(v)
}

/// A date or date-time as people write it: RFC 3339, "2026-05-01 10:00[:00]", "2026-05-01".
pub fn parse_date(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    for f in ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, f) {
            return Some(t.and_utc());
        }
    }
    let d = NaiveDate::parse_from_str(s.get(..10).unwrap_or(s), "%Y-%m-%d").ok()?;
    d.and_hms_opt(0, 0, 0).map(|t| t.and_utc())
}

/// A date value of a parsed document (a string in one of `parse_date`'s formats).
pub fn value_date(v: &Value) -> Option<DateTime<Utc>> {
    match v {
        Value::String(s) => parse_date(s),
        _ => None,
    }
}

/// A timestamp embedded in a backup's name after `base` (`openclaw.json.bak-20260512T1000`,
/// `.bak.2026-05-12T10:00:00Z`, `.bak-1778580000` in Unix seconds or milliseconds). UTC.
pub fn name_timestamp(name: &str, base: &str) -> Option<DateTime<Utc>> {
    let rest = name.strip_prefix(base)?;
    let rest = rest.trim_start_matches(|c: char| !c.is_ascii_digit());
    let token: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | ':' | '.' | '_'))
        .collect();
    let token = token.trim_end_matches(['.', '-', '_']);
    if let Some(t) = parse_date(token) {
        return Some(t);
    }
    let compact: String = token
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == 'T')
        .collect();
    for f in ["%Y%m%dT%H%M%S", "%Y%m%dT%H%M"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(&compact, f) {
            return Some(t.and_utc());
        }
    }
    let digits: String = compact.chars().filter(char::is_ascii_digit).collect();
    match digits.len() {
        14 => NaiveDateTime::parse_from_str(&digits, "%Y%m%d%H%M%S")
            .ok()
            .map(|t| t.and_utc()),
        12 => NaiveDateTime::parse_from_str(&digits, "%Y%m%d%H%M")
            .ok()
            .map(|t| t.and_utc()),
        8 => NaiveDate::parse_from_str(&digits, "%Y%m%d")
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|t| t.and_utc()),
        10 => DateTime::from_timestamp(digits.parse().ok()?, 0),
        13 => DateTime::from_timestamp_millis(digits.parse().ok()?),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn front_matter_and_dates() {
        let fm = front_matter("---\nversion: 1.4\nupdated: 2026-05-12\n---\n# Soul\n").unwrap();
        assert_eq!(fm["version"], 1.4);
        assert_eq!(
            value_date(&fm["updated"]).unwrap().to_rfc3339(),
            "2026-05-12T00:00:00+00:00"
        );
        assert!(front_matter("# no front matter\n").is_none());
        assert_eq!(split_front_matter("---\nunclosed\n").0, None);
    }

    #[test]
    fn backup_names_carry_times() {
        let b = "openclaw.json";
        let t = |n: &str| name_timestamp(n, b).map(|t| t.to_rfc3339());
        for (name, want) in [
            (
                "openclaw.json.bak-20260512T1000",
                "2026-05-12T10:00:00+00:00",
            ),
            (
                "openclaw.json.bak-2026-05-12T10:00:00Z",
                "2026-05-12T10:00:00+00:00",
            ),
            (
                "openclaw.json.bak.20260512-101500",
                "2026-05-12T10:15:00+00:00",
            ),
            ("openclaw.json.bak-1778580000", "2026-05-12T10:00:00+00:00"),
        ] {
            assert_eq!(t(name).as_deref(), Some(want), "{name}");
        }
        assert_eq!(t("openclaw.json.bak"), None);
        assert_eq!(t("openclaw.json.bak.1"), None);
        assert_eq!(t("other.json.bak-20260512"), None);
    }
}
