//! Alerts end to end against a loopback receiver: grouping, the storm cap, durable delivery
//! across SIGKILL with the receiver down, silences (and their expiry), shadow mode,
//! dependencies, and `test-alert`.

use crate::cli::write_config;
use crate::support::*;
use std::path::Path;
use std::time::Duration;

const T: Duration = Duration::from_secs(40);

/// A probe that fails while `flag` exists.
fn flag_probe(id: &str, lesson: u32, flag: &Path, extra: &str) -> String {
    format!(
        r#"[probe.{id}]
kind = "command"
lesson = {lesson}
every = "1s"
jitter = "50ms"
fail_after = 1
resolve_after = 1
argv = ["sh", "-c", "if [ -e '{}' ]; then echo '{id} is broken'; exit 1; fi"]
{extra}
"#,
        flag.display()
    )
}

fn hook(rx: &Receiver, extra: &str) -> String {
    format!(
        "[channel.hook]\nkind = \"webhook\"\nurl = \"{}\"\n{extra}\n",
        rx.url("/hook")
    )
}

fn db(dir: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open(dir.join("state/ledgerd.db")).unwrap()
}

fn count(dir: &Path, sql: &str) -> i64 {
    let Ok(c) = rusqlite::Connection::open_with_flags(
        dir.join("state/ledgerd.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    ) else {
        return 0;
    };
    c.query_row(sql, [], |r| r.get(0)).unwrap_or(0)
}

#[test]
fn alerts_within_group_wait_arrive_as_one_message() {
    let tmp = tempfile::tempdir().unwrap();
    let rx = Receiver::start();
    let flag = tmp.path().join("broken");
    std::fs::write(&flag, "").unwrap();
    let probes: String = ["a", "b", "c"]
        .iter()
        .map(|id| flag_probe(id, 14, &flag, ""))
        .collect();
    let cfg = write_config(
        tmp.path(),
        &format!("{probes}\n{}", hook(&rx, "group_wait = \"3s\"")),
    );
    let _d = Daemon::start(&cfg, &tmp.path().join("d.log"));
    let got = rx.wait_count(1, T);
    let m = &got[0];
    assert_eq!(m["group"], true, "{m}");
    assert_eq!(m["count"], 3, "{m}");
    assert_eq!(m["alerts"].as_array().unwrap().len(), 3);
    assert!(
        m["title"].as_str().unwrap().starts_with("3 alerts on "),
        "{m}"
    );
    assert!(
        m["text"]
            .as_str()
            .unwrap()
            .contains("L14 · Cron is not your shell"),
        "{m}"
    );
}

#[test]
fn a_storm_of_200_flapping_probes_stays_under_the_cap() {
    let tmp = tempfile::tempdir().unwrap();
    let rx = Receiver::start();
    let flag = tmp.path().join("broken");
    let probes: String = (0..200)
        .map(|i| flag_probe(&format!("p{i:03}"), 5, &flag, ""))
        .collect();
    let cfg = write_config(
        tmp.path(),
        &format!(
            "{probes}\n{}",
            hook(
                &rx,
                "group_wait = \"0s\"\ngroup_max = 5\nmax_per_minute = 4"
            )
        ),
    );
    let mut d = Daemon::start(&cfg, &tmp.path().join("d.log"));
    wait_for("first observations of all 200 probes", T, || {
        (count(tmp.path(), "SELECT COUNT(DISTINCT probe) FROM observations") >= 200).then_some(())
    });
    // flap: every probe fails, recovers, fails
    for on in [true, false, true] {
        let seen = count(tmp.path(), "SELECT COUNT(*) FROM transitions");
        if on {
            std::fs::write(&flag, "").unwrap();
        } else {
            std::fs::remove_file(&flag).unwrap();
        }
        wait_for("200 transitions", T, || {
            (count(tmp.path(), "SELECT COUNT(*) FROM transitions") >= seen + 200).then_some(())
        });
    }
    wait_for("held rows", T, || {
        (count(
            tmp.path(),
            "SELECT COUNT(*) FROM outbox WHERE status = 'held'",
        ) > 0)
            .then_some(())
    });
    let got = rx.received();
    assert!(
        got.len() <= 4,
        "at most max_per_minute messages in the first minute, got {}",
        got.len()
    );
    // everything not in those few messages is held (summarised) or queued behind the summary
    let delivered: usize = got
        .iter()
        .map(|m| m["alerts"].as_array().map_or(1, |a| a.len()))
        .sum();
    let waiting = count(
        tmp.path(),
        "SELECT COUNT(*) FROM outbox WHERE status IN ('held', 'pending') AND key NOT LIKE 'overflow:%'",
    );
    assert!(delivered <= 20, "{delivered}");
    assert!(
        waiting as usize + delivered >= 600,
        "the storm was held back, not sent: {waiting} waiting, {delivered} delivered"
    );
    assert_eq!(d.stop(), Some(0));
    // the overflow summary is queued for when the minute frees up, naming lesson 5 and the count
    let c = db(tmp.path());
    let payload: String = c
        .query_row(
            "SELECT payload FROM outbox WHERE key LIKE 'overflow:%' ORDER BY id LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&payload).unwrap();
    assert_eq!(v["event"], "overflow");
    assert_eq!(v["lesson"], 5);
    assert!(
        v["summary"]
            .as_str()
            .unwrap()
            .contains("held back by the storm cap"),
        "{v}"
    );
}

#[test]
fn nothing_is_lost_or_repeated_across_sigkill_with_the_receiver_down() {
    let tmp = tempfile::tempdir().unwrap();
    let rx = Receiver::start();
    rx.set_status(503);
    let flag_a = tmp.path().join("a-broken");
    let flag_b = tmp.path().join("b-broken");
    let cfg = write_config(
        tmp.path(),
        &format!(
            "{}{}\n{}",
            flag_probe("first", 14, &flag_a, ""),
            flag_probe("second", 26, &flag_b, ""),
            hook(&rx, "group_wait = \"0s\"")
        ),
    );
    let mut d = Daemon::start(&cfg, &tmp.path().join("d1.log"));
    std::fs::write(&flag_a, "").unwrap();
    wait_for("first queued", T, || {
        (count(tmp.path(), "SELECT COUNT(*) FROM outbox") >= 1).then_some(())
    });
    std::fs::write(&flag_b, "").unwrap();
    wait_for("second queued and a failed attempt", T, || {
        (count(tmp.path(), "SELECT COUNT(*) FROM outbox") >= 2
            && count(tmp.path(), "SELECT MAX(attempts) FROM outbox") >= 1)
            .then_some(())
    });
    d.kill9();
    assert!(rx.received().is_empty());
    rx.set_status(200);
    let mut d = Daemon::start(&cfg, &tmp.path().join("d2.log"));
    let got = rx.wait_count(2, T);
    assert_eq!(got[0]["probe"], "first", "order kept: {got:#?}");
    assert_eq!(got[1]["probe"], "second", "order kept: {got:#?}");
    // restart once more: what the receiver acknowledged is never sent again
    assert_eq!(d.stop(), Some(0));
    let n = count(tmp.path(), "SELECT COUNT(*) FROM observations");
    let _d = Daemon::start(&cfg, &tmp.path().join("d3.log"));
    wait_for("more observations", T, || {
        (count(tmp.path(), "SELECT COUNT(*) FROM observations") >= n + 4).then_some(())
    });
    assert_eq!(rx.received().len(), 2, "{:#?}", rx.received());
}

#[test]
fn silenced_alerts_are_recorded_not_sent_and_expiry_lets_them_through() {
    let tmp = tempfile::tempdir().unwrap();
    let rx = Receiver::start();
    let flag = tmp.path().join("broken");
    let cfg = write_config(
        tmp.path(),
        &format!(
            "{}\n{}",
            flag_probe("plugins", 19, &flag, "tags = [\"mac-mini\"]"),
            hook(&rx, "group_wait = \"0s\"")
        ),
    );
    let c = cfg.to_str().unwrap();
    let o = ledgerd(&[
        "silence",
        "add",
        "--config",
        c,
        "--tag",
        "mac-mini",
        "--for",
        "4s",
        "--reason",
        "chmod fix rolling out",
        "--by",
        "ana",
    ]);
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    let o = ledgerd(&["silence", "list", "--config", c]);
    assert!(
        stdout(&o).contains("tag mac-mini") && stdout(&o).contains("by ana: chmod fix rolling out"),
        "{}",
        stdout(&o)
    );
    std::fs::write(&flag, "").unwrap();
    let _d = Daemon::start(&cfg, &tmp.path().join("d.log"));
    wait_for("a muted transition", T, || {
        (count(
            tmp.path(),
            "SELECT COUNT(*) FROM transitions WHERE muted LIKE 'silence #1 by ana%'",
        ) >= 1)
            .then_some(())
    });
    assert!(rx.received().is_empty(), "silenced: {:#?}", rx.received());
    // after the silence expires, the still-open incident is announced once
    let got = rx.wait_count(1, T);
    assert_eq!(got[0]["event"], "firing");
    assert_eq!(got[0]["lesson"], 19);
    let o = ledgerd(&["silence", "list", "--all", "--config", c]);
    assert!(stdout(&o).contains("expired"), "{}", stdout(&o));
}

#[test]
fn config_waivers_silence_until_their_date() {
    let tmp = tempfile::tempdir().unwrap();
    let rx = Receiver::start();
    let flag = tmp.path().join("broken");
    std::fs::write(&flag, "").unwrap();
    let cfg = write_config(
        tmp.path(),
        &format!(
            "{}{}\n{}\n[[silence]]\nlesson = 19\nreason = \"shared plugin dir until the migration\"\nexpires = 2099-01-01\n\n[[silence]]\nprobe = \"other\"\nreason = \"old waiver\"\nexpires = 2020-01-01\n",
            flag_probe("plugins", 19, &flag, ""),
            flag_probe("other", 4, &flag, ""),
            hook(&rx, "group_wait = \"0s\"")
        ),
    );
    let o = ledgerd(&["doctor", "--config", cfg.to_str().unwrap()]);
    assert!(
        stdout(&o).contains("silence[1]: expired on 2020-01-01"),
        "{}",
        stdout(&o)
    );
    let _d = Daemon::start(&cfg, &tmp.path().join("d.log"));
    let got = rx.wait_count(1, T);
    assert_eq!(
        got[0]["probe"], "other",
        "the expired waiver lets its alert through"
    );
    wait_for("the waived transition recorded", T, || {
        (count(tmp.path(), "SELECT COUNT(*) FROM transitions WHERE probe = 'plugins' AND muted LIKE '%shared plugin dir%'") >= 1).then_some(())
    });
    assert!(rx.received().iter().all(|a| a["probe"] != "plugins"));
}

#[test]
fn shadow_probes_never_notify_and_report_what_they_would_have_sent() {
    let tmp = tempfile::tempdir().unwrap();
    let rx = Receiver::start();
    let flag = tmp.path().join("broken");
    std::fs::write(&flag, "").unwrap();
    let cfg = write_config(
        tmp.path(),
        &format!(
            "{}{}\n{}",
            flag_probe("draft", 9, &flag, "mode = \"shadow\""),
            flag_probe("real", 4, &flag, ""),
            hook(&rx, "group_wait = \"0s\"")
        ),
    );
    let mut d = Daemon::start(&cfg, &tmp.path().join("d.log"));
    let got = rx.wait_count(1, T);
    assert_eq!(got[0]["probe"], "real");
    wait_for("shadow transition", T, || {
        (count(
            tmp.path(),
            "SELECT COUNT(*) FROM transitions WHERE probe = 'draft'",
        ) >= 1)
            .then_some(())
    });
    assert_eq!(d.stop(), Some(0));
    assert!(rx.received().iter().all(|a| a["probe"] != "draft"));
    let o = ledgerd(&["shadow", "--config", cfg.to_str().unwrap()]);
    assert!(
        stdout(&o).contains("draft") && stdout(&o).contains("would have alerted 1 time(s)"),
        "{}",
        stdout(&o)
    );
    assert!(stdout(&o).contains("last: exit code 1"), "{}", stdout(&o));
}

#[test]
fn a_failing_parent_suppresses_its_children_and_names_them() {
    let tmp = tempfile::tempdir().unwrap();
    let rx = Receiver::start();
    let flag = tmp.path().join("broken");
    std::fs::write(&flag, "").unwrap();
    let cfg = write_config(
        tmp.path(),
        &format!(
            "{}{}\n{}",
            flag_probe("gateway", 26, &flag, ""),
            flag_probe("skills", 27, &flag, "depends_on = [\"gateway\"]"),
            hook(&rx, "group_wait = \"2s\"")
        ),
    );
    let mut d = Daemon::start(&cfg, &tmp.path().join("d.log"));
    let got = rx.wait_count(1, T);
    // the child failed too, but its alert was muted or inhibited while waiting in group_wait
    wait_for("the child's muted transition or inhibited alert", T, || {
        let muted = count(
            tmp.path(),
            "SELECT COUNT(*) FROM transitions WHERE probe = 'skills' AND muted LIKE 'parent probe%'",
        );
        let inhibited = count(
            tmp.path(),
            "SELECT COUNT(*) FROM outbox WHERE status = 'inhibited' AND json_extract(payload, '$.probe') = 'skills'",
        );
        (muted + inhibited >= 1).then_some(())
    });
    assert_eq!(d.stop(), Some(0));
    for m in rx.received() {
        for a in m["alerts"].as_array().unwrap() {
            assert_eq!(a["probe"], "gateway", "the child is suppressed: {m}");
            assert_eq!(a["suppressed"], serde_json::json!(["skills"]));
        }
    }
    assert!(
        got[0]["text"]
            .as_str()
            .unwrap()
            .contains("Suppressed while this fails: skills")
    );
}

#[test]
fn test_alert_reports_the_receivers_answer() {
    let tmp = tempfile::tempdir().unwrap();
    let rx = Receiver::start();
    let cfg = write_config(
        tmp.path(),
        &format!(
            "[probe.x]\nkind = \"command\"\nlesson = 4\nargv = [\"true\"]\n\n{}",
            hook(&rx, "")
        ),
    );
    let o = ledgerd(&[
        "test-alert",
        "--config",
        cfg.to_str().unwrap(),
        "--channel",
        "hook",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert!(
        stdout(&o).contains("delivered to 'hook' (webhook): HTTP 200"),
        "{}",
        stdout(&o)
    );
    let got = rx.wait_count(1, T);
    assert_eq!(got[0]["event"], "test");
    assert!(got[0]["title"].as_str().unwrap().starts_with("TEST L26"));
    rx.set_status(404);
    let o = ledgerd(&[
        "test-alert",
        "--config",
        cfg.to_str().unwrap(),
        "--channel",
        "hook",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).contains("HTTP 404") && stdout(&o).contains("permanent"),
        "{}",
        stdout(&o)
    );
    let o = ledgerd(&[
        "test-alert",
        "--config",
        cfg.to_str().unwrap(),
        "--channel",
        "nope",
    ]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn reminders_repeat_until_acknowledged_and_the_ack_is_posted() {
    let tmp = tempfile::tempdir().unwrap();
    let rx = Receiver::start();
    let flag = tmp.path().join("broken");
    std::fs::write(&flag, "").unwrap();
    let cfg = write_config(
        tmp.path(),
        &format!(
            "{}\n{}\n[[route]]\nto = [\"hook\"]\nremind_every = \"2s\"\n",
            flag_probe("inbox", 23, &flag, ""),
            hook(&rx, "group_wait = \"0s\"")
        ),
    );
    let mut d = Daemon::start(&cfg, &tmp.path().join("d.log"));
    let got = rx.wait_count(2, T);
    assert_eq!(got[0]["event"], "firing");
    assert_eq!(got[1]["event"], "reminder", "{}", got[1]);
    assert!(
        got[1]["title"]
            .as_str()
            .unwrap()
            .starts_with("STILL FAILING L23")
    );
    let incident = got[0]["incident"].as_i64().unwrap();
    let o = ledgerd(&[
        "ack",
        &incident.to_string(),
        "--config",
        cfg.to_str().unwrap(),
        "--by",
        "Ana Ops",
        "--note",
        "on it",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert!(
        stdout(&o).contains("acknowledged by Ana Ops"),
        "{}",
        stdout(&o)
    );
    let acked = wait_for("the acknowledgement message", T, || {
        rx.received()
            .into_iter()
            .find(|m| m["event"] == "acknowledged")
    });
    assert_eq!(acked["ack"]["by"], "Ana Ops");
    assert_eq!(acked["ack"]["note"], "on it");
    assert!(
        acked["text"]
            .as_str()
            .unwrap()
            .contains("Acknowledged by Ana Ops")
    );
    // no reminders after the ack
    let n = rx.received().len();
    let obs = count(tmp.path(), "SELECT COUNT(*) FROM observations");
    wait_for("several more runs", T, || {
        (count(tmp.path(), "SELECT COUNT(*) FROM observations") >= obs + 4).then_some(())
    });
    let after: Vec<_> = rx.received().into_iter().skip(n).collect();
    assert!(after.iter().all(|m| m["event"] != "reminder"), "{after:#?}");
    assert!(
        count(
            tmp.path(),
            "SELECT COUNT(*) FROM transitions WHERE muted = 'acknowledged by Ana Ops'"
        ) >= 1
    );
    assert_eq!(d.stop(), Some(0));
    // acknowledging again, or a closed/unknown incident, is a clear error
    let o = ledgerd(&["ack", "999", "--config", cfg.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn daily_digest_lists_open_violations_once() {
    let tmp = tempfile::tempdir().unwrap();
    let rx = Receiver::start();
    let flag = tmp.path().join("broken");
    std::fs::write(&flag, "").unwrap();
    let probes = format!(
        "{}{}",
        flag_probe("crontab", 14, &flag, ""),
        flag_probe("plugins", 19, &flag, "")
    );
    let cfg = write_config(
        tmp.path(),
        &format!(
            "{probes}\n{}",
            hook(&rx, "group_wait = \"0s\"\ngroup_max = 1")
        ),
    );
    let mut d = Daemon::start(&cfg, &tmp.path().join("d1.log"));
    rx.wait_count(2, T);
    assert_eq!(d.stop(), Some(0));
    // a digest at 00:00 UTC is due as soon as the daemon starts (once per day)
    let text = std::fs::read_to_string(&cfg).unwrap().replace(
        "group_max = 1",
        "group_max = 20\ndigest_at = \"00:00\"\ndigest_timezone = \"UTC\"",
    );
    std::fs::write(&cfg, text).unwrap();
    let mut d = Daemon::start(&cfg, &tmp.path().join("d2.log"));
    let digest = wait_for("the digest", T, || {
        rx.received()
            .into_iter()
            .find(|m| m["alerts"][0]["event"] == "digest")
    });
    assert_eq!(digest["count"], 2, "{digest}");
    assert!(
        digest["title"]
            .as_str()
            .unwrap()
            .starts_with("2 open violations on "),
        "{digest}"
    );
    let lessons: Vec<i64> = digest["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["lesson"].as_i64().unwrap())
        .collect();
    assert_eq!(lessons, vec![14, 19], "worst first, then by lesson");
    assert_eq!(d.stop(), Some(0));
    let _d = Daemon::start(&cfg, &tmp.path().join("d3.log"));
    let n = count(tmp.path(), "SELECT COUNT(*) FROM observations");
    wait_for("more runs", T, || {
        (count(tmp.path(), "SELECT COUNT(*) FROM observations") >= n + 4).then_some(())
    });
    let digests = rx
        .received()
        .iter()
        .filter(|m| m["alerts"][0]["event"] == "digest")
        .count();
    assert_eq!(digests, 1, "once a day, also across restarts");
}

#[test]
fn a_broken_channel_shows_up_as_a_problem_of_the_daemon() {
    let tmp = tempfile::tempdir().unwrap();
    let rx = Receiver::start();
    rx.set_status(404);
    let flag = tmp.path().join("broken");
    std::fs::write(&flag, "").unwrap();
    let cfg = write_config(
        tmp.path(),
        &format!(
            "{}\n{}",
            flag_probe("api", 26, &flag, ""),
            hook(&rx, "group_wait = \"0s\"")
        ),
    );
    let mut d = Daemon::start(&cfg, &tmp.path().join("d.log"));
    wait_for("the permanent failure", T, || {
        (count(
            tmp.path(),
            "SELECT COUNT(*) FROM outbox WHERE status = 'failed'",
        ) >= 1)
            .then_some(())
    });
    let listen = std::fs::read_to_string(&cfg)
        .unwrap()
        .lines()
        .find_map(|l| {
            l.strip_prefix("listen = \"")
                .map(|r| r.trim_end_matches('"').to_string())
        })
        .unwrap();
    let (status, page) = wait_for("the dashboard", T, || get(&format!("http://{listen}/")));
    assert_eq!(status, 200);
    assert!(
        page.contains("Alerts are not getting through") && page.contains("<b>hook</b> is broken"),
        "{page}"
    );
    let o = ledgerd(&["status", "--config", cfg.to_str().unwrap()]);
    assert!(
        stdout(&o).contains("channel 'hook' is broken: broken: HTTP 404"),
        "{}",
        stdout(&o)
    );
    assert!(
        d.log().contains("permanent failure; channel marked broken"),
        "{}",
        d.log()
    );
    assert_eq!(d.stop(), Some(0));
}
