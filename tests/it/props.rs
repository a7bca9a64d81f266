//! Property tests (proptest) of invariants that a table of cases cannot cover: the state machine
//! fires at most once per incident and a resolve always follows a fire, and no escaper lets
//! probed text become live markup. They call the library's pure functions directly; nothing
//! here touches the network or the disk.

use chrono::{DateTime, Utc};
use ledgerd::alert::escape;
use ledgerd::engine::state::{ProbeState, Status, Thresholds, Transition, step};
use ledgerd::probe::Health;
use proptest::prelude::*;
use std::time::Duration;

fn health() -> impl Strategy<Value = Health> {
    prop_oneof![
        3 => Just(Health::Ok),
        1 => Just(Health::Degraded),
        2 => Just(Health::Critical),
        1 => Just(Health::Unknown),
    ]
}

fn thresholds() -> impl Strategy<Value = Thresholds> {
    (
        0u32..5,
        0u32..5,
        prop::option::of(1u64..400),
        0u32..6,
        1u32..12,
    )
        .prop_map(|(f, r, remind, flap_failures, flap_window)| Thresholds {
            fail_after: f,
            resolve_after: r,
            remind_every: remind.map(Duration::from_secs),
            flap_failures,
            flap_window,
        })
}

fn at(i: usize, gap: u64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000 + (i as i64) * gap as i64, 0).unwrap_or_default()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// Transitions form the language (open (escalate|remind)* resolve)*: an incident opens once
    /// (fired or flapping), only an open incident escalates, reminds or resolves, and the state
    /// agrees with the last transition.
    #[test]
    fn state_machine_fires_once_per_incident_and_resolve_follows_fire(
        th in thresholds(),
        seq in prop::collection::vec(health(), 1..120),
        gap in 1u64..200,
    ) {
        let mut s = ProbeState::default();
        let mut open = false;
        for (i, h) in seq.iter().enumerate() {
            let (next, t) = step(&s, *h, &th, at(i, gap));
            match t {
                Some(Transition::Fired | Transition::Flapping) => {
                    prop_assert!(!open, "opened twice without a resolve at step {i}");
                    prop_assert!(!h.is_ok(), "opened on an ok observation at step {i}");
                    open = true;
                }
                Some(Transition::Escalated | Transition::Reminder) => {
                    prop_assert!(open, "escalated/reminded with no open incident at step {i}");
                    prop_assert!(!h.is_ok());
                }
                Some(Transition::Resolved) => {
                    prop_assert!(open, "resolved with no open incident at step {i}");
                    prop_assert!(h.is_ok(), "resolved on a failing observation at step {i}");
                    open = false;
                }
                Some(Transition::Unmuted) => prop_assert!(false, "step never unmutes"),
                None => {}
            }
            prop_assert_eq!(next.status == Status::Firing, open, "status disagrees at step {}", i);
            s = next;
        }
    }

    /// With fail_after = n and no flap detection, n failures in a row always open an incident
    /// and n - 1 never do.
    #[test]
    fn fail_after_is_exact(n in 1u32..6, extra in 0usize..4) {
        let th = Thresholds { fail_after: n, resolve_after: 1, remind_every: None, flap_failures: 0, flap_window: 10 };
        let mut s = ProbeState::default();
        let mut fired_at = None;
        for i in 0..(n as usize + extra) {
            let (next, t) = step(&s, Health::Critical, &th, at(i, 10));
            if t == Some(Transition::Fired) { fired_at = Some(i); }
            s = next;
        }
        prop_assert_eq!(fired_at, Some(n as usize - 1));
    }

    /// HTML: no raw `<`, `>` or `"` survives, and every `&` starts one of the entities the
    /// escaper writes, so no tag, attribute break or entity of the input is live.
    #[test]
    fn html_escape_leaves_no_live_markup(s in any::<String>()) {
        let e = escape::html(&s);
        prop_assert!(!e.contains(['<', '>', '"']), "{:?}", e);
        for (i, _) in e.match_indices('&') {
            let rest = &e[i..];
            prop_assert!(
                ["&amp;", "&lt;", "&gt;", "&quot;", "&#39;", "&#x27;"].iter().any(|x| rest.starts_with(x)),
                "bare & at {} in {:?}", i, e
            );
        }
    }

    /// Slack: no `<` or `>` (mentions `<!channel>`, `<@U1>`, links `<url|x>` need them).
    #[test]
    fn slack_escape_leaves_no_control_characters(s in any::<String>()) {
        let e = escape::slack(&s);
        prop_assert!(!e.contains(['<', '>']), "{:?}", e);
    }

    /// Markdown dialects: every inline markup character is preceded by a backslash that is not
    /// itself escaped, and no line starts a heading (`#` then a blank) or a list item.
    #[test]
    fn markdown_escape_leaves_no_live_markup(s in "[a-z0-9 #*_`~\\[\\]<>|{}\\\\().+\\-@\n]{0,80}") {
        for e in [escape::markdown(&s), escape::discord(&s), escape::mattermost(&s)] {
            let chars: Vec<char> = e.chars().collect();
            let mut i = 0;
            while i < chars.len() {
                let c = chars[i];
                if c == '\\' {
                    i += 2; // an escape and what it escapes
                    continue;
                }
                prop_assert!(
                    !['`', '*', '_', '~', '[', ']', '<', '>', '|', '{', '}'].contains(&c),
                    "live {:?} at {} in {:?}", c, i, e
                );
                i += 1;
            }
            for line in e.split('\n') {
                let body = line.trim_start_matches([' ', '\t']);
                let heading = body.starts_with('#')
                    && matches!(body.trim_start_matches('#').chars().next(), None | Some(' ' | '\t'));
                prop_assert!(!heading && !body.starts_with(['-', '+']), "line {:?} in {:?}", line, e);
            }
        }
    }

    /// Discord and Mattermost: no `@` that could start a mention is directly followed by a
    /// letter (`@everyone`, `@here`, `@channel`, `@user`).
    #[test]
    fn mentions_are_broken(s in "[a-z @.]{0,40}") {
        for e in [escape::discord(&s), escape::mattermost(&s)] {
            let chars: Vec<char> = e.chars().collect();
            for (i, c) in chars.iter().enumerate() {
                let after_word = i > 0 && chars[i - 1].is_alphanumeric();
                if *c == '@' && !after_word {
                    prop_assert!(chars.get(i + 1).is_none_or(|n| !n.is_alphanumeric()), "{:?}", e);
                }
            }
        }
    }

    /// `fit` never exceeds its limit and never cuts inside an escape sequence.
    #[test]
    fn fit_stays_within_the_limit(s in any::<String>(), max in 0usize..64) {
        let e = escape::fit(&s, max, escape::html);
        prop_assert!(e.chars().count() <= max.max(1), "{} > {}: {:?}", e.chars().count(), max, e);
        let body = e.trim_end_matches('…');
        prop_assert!(!body.contains(['<', '>', '"']));
        if let Some(amp) = body.rfind('&') {
            prop_assert!(body[amp..].contains(';'), "cut inside an entity: {:?}", e);
        }
    }
}
