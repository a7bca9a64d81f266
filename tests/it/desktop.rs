//! The `desktop` channel over a real D-Bus session: the test owns `org.freedesktop.Notifications`
//! on the session bus (the suite runs under `dbus-run-session`, see tests/run.sh; a missing bus is
//! a failure, not a skip) with a fake notification server (zbus), runs the real daemon with a
//! failing probe, and checks the firing and the resolved notification, including that markup in
//! probed text arrives escaped. One test only: a bus name has one owner.

use crate::cli::write_config;
use crate::support::*;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const T: Duration = Duration::from_secs(30);

/// One received `Notify` call.
#[derive(Clone, Debug)]
struct Note {
    app_name: String,
    summary: String,
    body: String,
    expire_timeout: i32,
}

#[derive(Clone, Default)]
struct FakeServer {
    got: Arc<Mutex<Vec<Note>>>,
}

#[zbus::interface(name = "org.freedesktop.Notifications")]
impl FakeServer {
    #[allow(clippy::too_many_arguments)]
    fn notify(
        &self,
        app_name: String,
        _replaces_id: u32,
        _app_icon: String,
        summary: String,
        body: String,
        _actions: Vec<String>,
        _hints: HashMap<String, zbus::OwnedVariant>,
        expire_timeout: i32,
    ) -> u32 {
        let mut got = self.got.lock().unwrap();
        got.push(Note {
            app_name,
            summary,
            body,
            expire_timeout,
        });
        got.len() as u32
    }

    fn get_capabilities(&self) -> Vec<String> {
        vec!["body".into(), "body-markup".into()]
    }

    fn get_server_information(&self) -> (String, String, String, String) {
        (
            "ledgerd-test".into(),
            "ledgerd".into(),
            "0.1".into(),
            "1.2".into(),
        )
    }

    fn close_notification(&self, _id: u32) {}
}

#[test]
fn firing_and_resolved_reach_the_session_notification_server() {
    assert!(
        std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some(),
        "no session bus: run the suite under dbus-run-session (tests/run.sh does)"
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let server = FakeServer::default();
    let got = server.got.clone();
    let _conn = rt
        .block_on(
            zbus::connection::Builder::session()
                .name("org.freedesktop.Notifications")
                .serve_at("/org/freedesktop/Notifications", server)
                .build(),
        )
        .expect("own org.freedesktop.Notifications on the session bus");

    let tmp = tempfile::tempdir().unwrap();
    let flag = tmp.path().join("broken");
    std::fs::write(&flag, "").unwrap();
    let cfg = write_config(
        tmp.path(),
        &format!(
            r#"[probe.vendor_api]
kind = "command"
lesson = 26
every = "1s"
fail_after = 1
resolve_after = 1
argv = ["sh", "-c", "test ! -e '{}' || {{ echo 'reply <b>pwned</b> & more'; exit 1; }}"]

[channel.desk]
kind = "desktop"
group_wait = "0s"
"#,
            flag.display()
        ),
    );
    let mut d = Daemon::start(&cfg, &tmp.path().join("daemon.log"));

    let firing = wait_for("the firing notification", T, || {
        got.lock().unwrap().first().cloned()
    });
    assert_eq!(firing.app_name, "ledgerd", "{firing:?}");
    assert!(
        firing
            .summary
            .starts_with("L26 · HTTP 200 is not proof of correctness — command:vendor_api on "),
        "{firing:?}"
    );
    assert!(
        firing.body.contains("Evidence:") && firing.body.contains("&lt;b&gt;pwned&lt;/b&gt;"),
        "probed markup must arrive escaped: {firing:?}"
    );
    assert!(firing.body.contains(" &amp; more"), "{firing:?}");
    assert!(!firing.body.contains("<b>"), "{firing:?}");
    assert!(firing.body.contains("Fix (ledger): "), "{firing:?}");

    std::fs::remove_file(&flag).unwrap();
    let resolved = wait_for("the resolved notification", T, || {
        got.lock()
            .unwrap()
            .iter()
            .find(|n| n.summary.starts_with("RESOLVED "))
            .cloned()
    });
    assert!(
        resolved.summary.starts_with("RESOLVED L26 · "),
        "{resolved:?}"
    );
    assert_eq!(resolved.app_name, "ledgerd");
    assert!(resolved.expire_timeout > 0, "{resolved:?}");
    assert_eq!(d.stop(), Some(0));
    assert_eq!(
        got.lock().unwrap().len(),
        2,
        "one firing, one resolved: {:#?}",
        got.lock().unwrap()
    );
}
