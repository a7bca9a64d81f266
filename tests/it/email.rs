//! The `email` channel through the real daemon and a minimal SMTP relay on 127.0.0.1:0 (plain
//! text, `starttls = "never"`, the loopback case): the first attempt is refused with a
//! transient 451 and retried by the outbox, the mail carries the lesson in its subject and the
//! evidence in its body, and the SMTP password shows up in no log line and nowhere in the store.

use crate::cli::write_config;
use crate::support::*;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const T: Duration = Duration::from_secs(40);
const PASSWORD: &str = "relay-pass-5c4b3a";

/// A relay that answers 451 to the first RCPT it sees, then accepts; records each message.
fn relay() -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let got = Arc::new(Mutex::new(Vec::new()));
    let got2 = got.clone();
    std::thread::spawn(move || {
        let mut refused = false;
        for stream in listener.incoming() {
            let Ok(mut w) = stream else { return };
            let mut r = BufReader::new(w.try_clone().unwrap());
            let _ = w.write_all(b"220 relay.test ESMTP\r\n");
            let mut line = String::new();
            loop {
                line.clear();
                if r.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                let verb = line
                    .split_whitespace()
                    .next()
                    .unwrap_or("")
                    .to_ascii_uppercase();
                let reply: &[u8] = match verb.as_str() {
                    "EHLO" => b"250-relay.test\r\n250 AUTH PLAIN LOGIN\r\n",
                    "AUTH" => b"235 ok\r\n",
                    "RCPT" if !refused => {
                        refused = true;
                        b"451 4.7.1 greylisted, try later\r\n"
                    }
                    "DATA" => {
                        let _ = w.write_all(b"354 go\r\n");
                        let mut msg = String::new();
                        let mut l = String::new();
                        loop {
                            l.clear();
                            if r.read_line(&mut l).unwrap_or(0) == 0 || l == ".\r\n" {
                                break;
                            }
                            msg.push_str(&l);
                        }
                        got2.lock().unwrap().push(msg);
                        b"250 queued\r\n"
                    }
                    "QUIT" => {
                        let _ = w.write_all(b"221 bye\r\n");
                        break;
                    }
                    _ => b"250 ok\r\n",
                };
                let _ = w.write_all(reply);
            }
        }
    });
    (port, got)
}

#[test]
fn mail_is_retried_after_451_and_delivered_without_leaking_the_password() {
    let tmp = tempfile::tempdir().unwrap();
    let (port, got) = relay();
    let flag = tmp.path().join("broken");
    std::fs::write(&flag, "").unwrap();
    std::fs::write(tmp.path().join("smtp.password"), PASSWORD).unwrap();
    let cfg = write_config(
        tmp.path(),
        &format!(
            r#"[probe.vendor_api]
kind = "command"
lesson = 26
every = "1s"
fail_after = 1
argv = ["sh", "-c", "test ! -e '{}' || {{ echo 'data: []'; exit 1; }}"]

[channel.mail]
kind = "email"
group_wait = "0s"
host = "127.0.0.1"
port = {port}
starttls = "never"
username = "ledgerd"
password_file = "smtp.password"
from = "ledgerd <ledgerd@vps-1.test>"
to = ["ops@example.test"]
"#,
            flag.display()
        ),
    );
    let mut d = Daemon::start(&cfg, &tmp.path().join("daemon.log"));
    let msg = wait_for("the mail after one 451", T, || {
        got.lock().unwrap().first().cloned()
    });
    assert!(msg.contains("Subject: [ledgerd] L26 "), "{msg}");
    assert!(msg.contains("To: ops@example.test"), "{msg}");
    assert!(msg.contains("Message-ID: <ledgerd."), "{msg}");
    assert!(msg.contains("Observed: "), "{msg}");
    assert!(msg.contains("data: []"), "{msg}");
    assert_eq!(d.stop(), Some(0));
    let log = d.log();
    assert!(
        log.contains("will retry") && log.contains("(451): 4.7.1 greylisted"),
        "the 451 was logged as a retry:\n{log}"
    );
    assert!(!log.contains(PASSWORD), "password in the log:\n{log}");
    assert!(!msg.contains(PASSWORD));
    for f in std::fs::read_dir(tmp.path().join("state")).unwrap() {
        let bytes = std::fs::read(f.unwrap().path()).unwrap();
        assert!(
            !bytes
                .windows(PASSWORD.len())
                .any(|w| w == PASSWORD.as_bytes()),
            "password in the store"
        );
    }
}
