//! The daemon end to end: scheduled probes, webhook alerts citing the lesson, resolution,
//! restarts that do not repeat alerts, SIGTERM, SIGHUP reload with a bad config, the store.

use crate::cli::write_config;
use crate::support::*;
use std::time::Duration;

const T: Duration = Duration::from_secs(30);

/// A probe that fails while `flag` exists.
fn flag_probe(flag: &std::path::Path) -> String {
    format!(
        r#"[probe.vendor_api]
kind = "command"
lesson = 26
every = "1s"
fail_after = 1
resolve_after = 1
argv = ["sh", "-c", "if [ -e '{}' ]; then echo 'data: []'; exit 1; fi; echo ok"]
"#,
        flag.display()
    )
}

#[test]
fn fires_resolves_and_does_not_repeat_across_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let hook = Receiver::start();
    let vendor = Receiver::start();
    vendor.set_reply("application/json", r#"{"ok":true,"data":[]}"#);
    let cfg = write_config(
        tmp.path(),
        &format!(
            r#"[probe.vendor_api]
kind = "http"
lesson = 26
every = "1s"
fail_after = 2
resolve_after = 2
url = "{}"
expect_json = [{{ path = "$.data", min_len = 1 }}]

[channel.hook]
kind = "webhook"
group_wait = "0s"
url = "{}"
"#,
            vendor.url("/v1/orders"),
            hook.url("/hook")
        ),
    );
    let mut d = Daemon::start(&cfg, &tmp.path().join("d1.log"));
    let got = hook.wait_count(1, T);
    let a = &got[0];
    assert_eq!(a["event"], "firing", "{a}");
    assert_eq!(a["lesson"], 26);
    assert_eq!(a["rule"], "HTTP 200 is not proof of correctness");
    assert_eq!(a["probe"], "vendor_api");
    assert_eq!(a["health"], "critical");
    assert!(
        a["title"]
            .as_str()
            .unwrap()
            .starts_with("L26 · HTTP 200 is not proof of correctness — http:vendor_api on "),
        "{a}"
    );
    let text = a["text"].as_str().unwrap();
    assert!(text.contains("Observed: $.data has 0 items"), "{text}");
    assert!(
        text.contains("Fix (ledger): Monitor successful semantic calls"),
        "{text}"
    );
    assert!(text.contains("Since: "), "{text}");
    assert!(
        a["url"].as_str().unwrap().ends_with("/probe/vendor_api"),
        "{a}"
    );

    // restart while still failing: no second firing alert
    assert_eq!(d.stop(), Some(0));
    let obs_before = count_observations(tmp.path());
    let mut d = Daemon::start(&cfg, &tmp.path().join("d2.log"));
    wait_for("new observations after restart", T, || {
        (count_observations(tmp.path()) >= obs_before + 3).then_some(())
    });
    assert_eq!(
        hook.received().len(),
        1,
        "a restart must not repeat the firing alert: {:#?}",
        hook.received()
    );

    // the vendor answers with real data again: resolved after resolve_after successes
    vendor.set_reply("application/json", r#"{"ok":true,"data":[{"id":7}]}"#);
    let got = hook.wait_count(2, T);
    assert_eq!(got[1]["event"], "resolved", "{}", got[1]);
    assert_eq!(got[1]["lesson"], 26);
    assert!(
        got[1]["title"]
            .as_str()
            .unwrap()
            .starts_with("RESOLVED L26")
    );
    assert_eq!(d.stop(), Some(0));
    assert!(d.log().contains("stopped"), "{}", d.log());
    assert_eq!(hook.received().len(), 2, "{:#?}", hook.received());
}

fn count_observations(dir: &std::path::Path) -> i64 {
    let db = dir.join("state/ledgerd.db");
    let Ok(c) =
        rusqlite::Connection::open_with_flags(&db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
    else {
        return 0;
    };
    c.query_row("SELECT COUNT(*) FROM observations", [], |r| r.get(0))
        .unwrap_or(0)
}

#[test]
fn store_file_is_private_and_status_reads_it() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let flag = tmp.path().join("absent");
    let cfg = write_config(tmp.path(), &flag_probe(&flag));
    let mut d = Daemon::start(&cfg, &tmp.path().join("d.log"));
    wait_for("an observation", T, || {
        (count_observations(tmp.path()) >= 1).then_some(())
    });
    assert_eq!(d.stop(), Some(0));
    let mode = std::fs::metadata(tmp.path().join("state/ledgerd.db"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
    let o = ledgerd(&["status", "--config", cfg.to_str().unwrap()]);
    assert!(stdout(&o).contains("vendor_api"), "{}", stdout(&o));
    assert!(stdout(&o).contains("✓ ok"), "{}", stdout(&o));
}

#[test]
fn invalid_reload_keeps_the_last_good_config() {
    let tmp = tempfile::tempdir().unwrap();
    let flag = tmp.path().join("absent");
    let cfg = write_config(tmp.path(), &flag_probe(&flag));
    let mut d = Daemon::start(&cfg, &tmp.path().join("d.log"));
    wait_for("an observation", T, || {
        (count_observations(tmp.path()) >= 1).then_some(())
    });
    let good = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(&cfg, format!("{good}\n[probe.broken]\nkind = \"command\"\nlesson = 4\nevery = \"often\"\nargv = [\"true\"]\n")).unwrap();
    let pid = d.child.as_ref().unwrap().id() as i32;
    #[allow(unsafe_code)]
    unsafe {
        libc::kill(pid, libc::SIGHUP);
    }
    wait_for("the rejected reload in the log", T, || {
        d.log().contains("config reload rejected").then_some(())
    });
    assert!(d.log().contains("probe.broken.every"), "{}", d.log());
    let n = count_observations(tmp.path());
    wait_for("observations continuing on the old config", T, || {
        (count_observations(tmp.path()) > n + 1).then_some(())
    });
    assert_eq!(d.stop(), Some(0));
}

#[test]
fn config_error_exits_78_before_starting() {
    let bad = data("config/invalid/many_errors.toml");
    let o = ledgerd(&["run", "--config", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(78));
    assert!(stderr(&o).contains("daemon.listen"), "{}", stderr(&o));
}
