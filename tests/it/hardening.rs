//! Issue 10's hostile inputs against the real binary, one test per row this file covers: a
//! crontab line nested 6,000 deep (row 1), FIFOs and devices where files are expected and the
//! memory of `config_file`'s parsers (rows 2 and 3), a crontab past its cap (row 5), junk as a
//! unit file (row 6), secrets echoed back (row 7), connection floods and fd exhaustion (row 8),
//! and receivers and children that do not stop (row 11). Everything runs in temp dirs against
//! loopback.

use crate::cli::write_config;
use crate::support::*;
use std::path::Path;
use std::time::{Duration, Instant};

/// `ledgerd check --format json` on `cfg`: (exit code, JSON, how long it took).
fn check(cfg: &Path) -> (i32, serde_json::Value, Duration) {
    let start = Instant::now();
    let o = ledgerd(&[
        "check",
        "--format",
        "json",
        "--config",
        cfg.to_str().unwrap(),
    ]);
    let took = start.elapsed();
    let v = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", stdout(&o), stderr(&o)));
    (o.status.code().unwrap_or(-1), v, took)
}

fn observation<'a>(v: &'a serde_json::Value, probe: &str) -> &'a serde_json::Value {
    &v["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["probe"] == probe)
        .unwrap_or_else(|| panic!("no result for {probe}: {v}"))["observation"]
}

/// Row 1: 6,000 nested `$(` in a crontab line was a stack overflow (exit 134); now the probe
/// answers `unknown` naming the nesting limit, and the process exits normally.
#[test]
fn row1_deeply_nested_crontab_line_is_a_finding_not_a_crash() {
    let tmp = tempfile::tempdir().unwrap();
    let line = format!(
        "* * * * * {}echo $X{}\n",
        "$(".repeat(6000),
        ")".repeat(6000)
    );
    std::fs::write(tmp.path().join("ct"), line).unwrap();
    let cfg = write_config(
        tmp.path(),
        "[probe.cron]\nkind = \"cron_env\"\nlesson = 14\ncrontabs = [\"ct\"]\n",
    );
    let (code, v, _) = check(&cfg);
    // `check` exits 1 when a probe could not look (not 134: no crash).
    assert_eq!(code, 1, "{v}");
    let o = observation(&v, "cron");
    assert_eq!(o["health"], "unknown", "{o}");
    let text = o.to_string();
    assert!(
        text.contains("command nesting deeper than 64 levels at line 1"),
        "{o}"
    );
}

/// A binary plist of `n` objects where object i is an array of `fan` references to i+1.
fn bplist_chain(n: usize, fan: u8) -> Vec<u8> {
    let mut body = b"bplist00".to_vec();
    let mut offs = Vec::new();
    for i in 0..n {
        offs.push(u32::try_from(body.len()).unwrap());
        if i + 1 < n {
            body.push(0xA0 | fan);
            for _ in 0..fan {
                body.extend_from_slice(&u32::try_from(i + 1).unwrap().to_be_bytes());
            }
        } else {
            body.push(0xA0);
        }
    }
    let table = body.len() as u64;
    for o in offs {
        body.extend_from_slice(&o.to_be_bytes());
    }
    body.extend_from_slice(&[0, 0, 0, 0, 0, 0, 4, 4]);
    for v in [n as u64, 0, table] {
        body.extend_from_slice(&v.to_be_bytes());
    }
    body
}

/// A launchd plist of 50,000 nested arrays (binary) or 40,000 nested dicts (XML) was a stack
/// overflow (exit 134), and 40 arrays each holding the next twice (2^40 values once the
/// crate copies shared references) took over 1 GB and the whole timeout; now each is a fast
/// `unknown` naming the file and the bound, and the process exits normally.
#[test]
fn deep_and_exploding_plists_are_unknown_not_a_crash() {
    let tmp = tempfile::tempdir().unwrap();
    let xml = format!(
        "<?xml version=\"1.0\"?><plist version=\"1.0\"><dict><key>a</key>{}<true/>{}</dict></plist>",
        "<dict><key>k</key>".repeat(40_000),
        "</dict>".repeat(40_000)
    );
    let cases: [(&str, Vec<u8>, &str); 3] = [
        (
            "deep_b",
            bplist_chain(50_000, 1),
            "nesting deeper than 128 levels",
        ),
        ("deep_x", xml.into_bytes(), "nesting deeper than 128 levels"),
        (
            "laughs",
            bplist_chain(40, 2),
            "expands to more than 100000 values",
        ),
    ];
    let mut cfg = String::new();
    for (name, bytes, _) in &cases {
        std::fs::write(tmp.path().join(format!("{name}.plist")), bytes).unwrap();
        cfg.push_str(&format!(
            "[probe.{name}]\nkind = \"launchd_job\"\nlesson = 3\ndomain = \"daemon\"\nplist = \"{name}.plist\"\ntimeout = \"20s\"\n"
        ));
    }
    let cfg = write_config(tmp.path(), &cfg);
    let (code, v, took) = check(&cfg);
    assert_eq!(code, 1, "{v}");
    assert!(took < Duration::from_secs(15), "{took:?}");
    for (name, _, want) in &cases {
        let o = observation(&v, name);
        assert_eq!(o["health"], "unknown", "{o}");
        let text = o.to_string();
        assert!(
            text.contains(&format!("{name}.plist")) && text.contains(want),
            "{o}"
        );
    }
}

fn mkfifo(p: &Path) {
    nix::unistd::mkfifo(p, nix::sys::stat::Mode::S_IRWXU).unwrap();
}

/// The `listen` address `write_config` chose.
fn base_url(cfg: &Path) -> String {
    let text = std::fs::read_to_string(cfg).unwrap();
    let listen = text
        .lines()
        .find_map(|l| l.strip_prefix("listen = "))
        .unwrap()
        .trim_matches('"');
    format!("http://{listen}")
}

/// Rows 2 and 3: a FIFO or a device where a unit file, plist, crontab, token file,
/// bearer token file or EnvironmentFile should be. `check` answers on time with `unknown` and
/// the reason for each, never freezing.
#[test]
fn rows2_3_fifos_and_devices_are_unknown_and_check_finishes_on_time() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    std::fs::create_dir(d.join("u")).unwrap();
    mkfifo(&d.join("u/x.service"));
    std::fs::create_dir(d.join("e")).unwrap();
    mkfifo(&d.join("env.fifo"));
    std::fs::write(
        d.join("e/y.service"),
        format!(
            "[Service]\nType=simple\nEnvironmentFile={}\nExecStart=/bin/true\n",
            d.join("env.fifo").display()
        ),
    )
    .unwrap();
    std::fs::create_dir(d.join("LaunchDaemons")).unwrap();
    mkfifo(&d.join("LaunchDaemons/job.plist"));
    mkfifo(&d.join("ct"));
    let rx = Receiver::start();
    let cfg = write_config(
        d,
        &format!(
            r#"[probe.unit]
kind = "systemd_unit"
lesson = 25
timeout = "2s"
unit = "x.service"
unit_dirs = ["u"]
use_systemctl = false

[probe.envfile]
kind = "systemd_unit"
lesson = 25
timeout = "2s"
unit = "y.service"
unit_dirs = ["e"]
use_systemctl = false

[probe.plist]
kind = "launchd_job"
lesson = 3
timeout = "2s"
plist = "LaunchDaemons/job.plist"

[probe.cron]
kind = "cron_env"
lesson = 14
timeout = "2s"
crontabs = ["ct"]

[probe.token]
kind = "token_expiry"
lesson = 10
timeout = "2s"
file = "/dev/zero"
format = "jwt"

[probe.bearer]
kind = "http"
lesson = 26
timeout = "2s"
url = "{}"
bearer_token_file = "/dev/zero"
"#,
            rx.url("/x")
        ),
    );
    let (_, v, took) = check(&cfg);
    assert!(took < Duration::from_secs(10), "check took {took:?}");
    for (probe, needle) in [
        ("unit", "not a regular file (a FIFO)"),
        ("envfile", "env.fifo: not a regular file (a FIFO)"),
        ("plist", "not a regular file (a FIFO)"),
        ("cron", "not a regular file (a FIFO)"),
        ("token", "not a regular file (a character device)"),
        ("bearer", "not a regular file (a character device)"),
    ] {
        let o = observation(&v, probe);
        assert_eq!(o["health"], "unknown", "{probe}: {o}");
        assert!(o.to_string().contains(needle), "{probe}: {o}");
    }
}

/// Row 2 in the daemon: a systemd_unit probe on a FIFO (timeout 2s) is recorded `unknown`
/// within about two seconds while /healthz keeps answering, and SIGTERM ends the daemon on time.
#[test]
fn row2_fifo_unit_in_the_daemon_does_not_freeze_healthz_or_shutdown() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir(tmp.path().join("u")).unwrap();
    mkfifo(&tmp.path().join("u/x.service"));
    let cfg = write_config(
        tmp.path(),
        "[probe.unit]\nkind = \"systemd_unit\"\nlesson = 25\nevery = \"1s\"\ntimeout = \"2s\"\nunit = \"x.service\"\nunit_dirs = [\"u\"]\nuse_systemctl = false\n",
    );
    let base = base_url(&cfg);
    let mut d = Daemon::start(&cfg, &tmp.path().join("log"));
    let started = Instant::now();
    let obs = wait_for(
        "the unit probe's first observation",
        Duration::from_secs(40),
        || {
            let (s, body) = get(&format!("{base}/api/v1/probes/unit"))?;
            (s == 200 && body.contains("not a regular file (a FIFO)")).then_some(body)
        },
    );
    assert!(obs.contains("unknown"), "{obs}");
    // /healthz answers while the probe keeps running every second.
    for _ in 0..5 {
        let t = Instant::now();
        let (s, _) = get(&format!("{base}/healthz")).expect("healthz answers");
        assert_eq!(s, 200);
        assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    }
    assert!(started.elapsed() < Duration::from_secs(40));
    let t = Instant::now();
    assert_eq!(d.stop(), Some(0), "{}", d.log());
    assert!(
        t.elapsed() < Duration::from_secs(10),
        "stop took {:?}",
        t.elapsed()
    );
}

/// Row 5: a crontab past the cap (a job after 3,000 comment lines) is `unknown` "truncated at
/// N", never judged from its first part.
#[test]
fn row5_crontab_past_the_cap_is_truncated_not_ok() {
    let tmp = tempfile::tempdir().unwrap();
    let mut ct = "# a comment line long enough to push the job past the 256 KiB cap of cron_env\n"
        .repeat(3_500);
    ct.push_str("* * * * * /nonexistent/job.sh\n");
    assert!(ct.len() > 256 * 1024);
    std::fs::write(tmp.path().join("ct"), ct).unwrap();
    let cfg = write_config(
        tmp.path(),
        "[probe.cron]\nkind = \"cron_env\"\nlesson = 14\ncrontabs = [\"ct\"]\n",
    );
    let (_, v, _) = check(&cfg);
    let o = observation(&v, "cron");
    assert_eq!(o["health"], "unknown", "{o}");
    assert!(o.to_string().contains("truncated at 262144 bytes"), "{o}");
}

/// Row 6: 1 MiB of random printable text, or NULs, as a unit file (and as a crontab) is
/// `unknown` "not a unit file" / "not a crontab", never "looks right".
#[test]
fn row6_junk_unit_files_and_crontabs_are_unknown() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir(tmp.path().join("u")).unwrap();
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let junk: String = (0..1 << 20)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let c = (x % 96) as u8;
            if c == 95 { '\n' } else { char::from(b' ' + c) }
        })
        .collect();
    std::fs::write(tmp.path().join("u/x.service"), &junk).unwrap();
    std::fs::write(tmp.path().join("u/z.service"), vec![0u8; 1 << 20]).unwrap();
    std::fs::write(tmp.path().join("ct"), &junk[..200_000]).unwrap();
    let cfg = write_config(
        tmp.path(),
        r#"[probe.junk]
kind = "systemd_unit"
lesson = 25
unit = "x.service"
unit_dirs = ["u"]
use_systemctl = false

[probe.nuls]
kind = "systemd_unit"
lesson = 25
unit = "z.service"
unit_dirs = ["u"]
use_systemctl = false

[probe.cron]
kind = "cron_env"
lesson = 14
crontabs = ["ct"]
"#,
    );
    let (_, v, _) = check(&cfg);
    for (probe, needle) in [
        ("junk", "not a unit file"),
        ("nuls", "not a unit file"),
        ("cron", "not a crontab"),
    ] {
        let o = observation(&v, probe);
        assert_eq!(o["health"], "unknown", "{probe}: {o}");
        assert!(o.to_string().contains(needle), "{probe}: {o}");
    }
}

/// A loopback server that answers every request with 500 and the request itself (request line
/// with the URL, every header including Authorization, the body): a careless API that echoes
/// secrets back.
fn echo_server() -> std::net::SocketAddr {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            std::thread::spawn(move || {
                let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
                let mut req = Vec::new();
                let mut buf = [0u8; 4096];
                while !req.windows(4).any(|w| w == b"\r\n\r\n") && req.len() < 64 * 1024 {
                    match conn.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => req.extend_from_slice(&buf[..n]),
                    }
                }
                let req = String::from_utf8_lossy(&req).into_owned();
                let mut body = format!("you sent:\n{req}");
                // the bare token, and the same in base64, as a careless API might show it
                for line in req.lines() {
                    if let Some(v) = line.to_lowercase().strip_prefix("authorization: bearer ") {
                        let bare = &line[line.len() - v.len()..];
                        use base64::Engine as _;
                        let b64 = base64::engine::general_purpose::STANDARD.encode(bare);
                        body.push_str(&format!("your token: {bare}\nas base64: {b64}\n"));
                    }
                }
                let _ = write!(
                    conn,
                    "HTTP/1.1 500 Internal Server Error\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
            });
        }
    });
    addr
}

/// Every text column of every table of the store, and the raw bytes of its files.
fn store_text(state: &Path) -> String {
    let db = rusqlite::Connection::open_with_flags(
        state.join("ledgerd.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let tables: Vec<String> = db
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut all = String::new();
    for t in &tables {
        let mut st = db.prepare(&format!("SELECT * FROM \"{t}\"")).unwrap();
        let n = st.column_count();
        let mut rows = st.query([]).unwrap();
        while let Some(row) = rows.next().unwrap() {
            for i in 0..n {
                use rusqlite::types::ValueRef;
                match row.get_ref(i).unwrap() {
                    ValueRef::Text(b) | ValueRef::Blob(b) => {
                        all.push_str(&String::from_utf8_lossy(b));
                        all.push('\n');
                    }
                    _ => {}
                }
            }
        }
    }
    assert!(all.contains("observations") || !tables.is_empty());
    for entry in std::fs::read_dir(state).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap_or_default();
        all.push_str(&String::from_utf8_lossy(&bytes));
    }
    all
}

/// Row 7: a canary planted through each secret source (`${ENV}` in a URL, `Bearer ${ENV}`, a
/// bearer token file, a `command` probe's `env`, a token file, a channel's `url_file`) appears
/// nowhere: not in the store (every table and the raw files), the daemon's log, any page, API
/// answer or `/metrics`, `check` output, or the webhook payloads.
#[test]
fn row7_canaries_from_every_secret_source_leak_nowhere() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let echo = echo_server();
    let rx = Receiver::start();
    let dead = free_port();
    // the distinctive cores every leak would carry; "cnry" starts each canary
    let cores = [
        "0a1b2c3d4e5f6",
        "9f8e7d6c5b4a",
        "1122334455aa",
        "66778899aabbcc",
        "00ffeeddccbb",
        "abcdef012345",
        "5566778899aa",
    ];
    let env = [
        ("CANARY_URL", "cnryURL0a1b2c3d4e5f6"),
        ("CANARY_AUTH", "cnryAUTH9f8e7d6c5b4a"),
    ];
    std::fs::write(d.join("tok"), "cnryBEARER1122334455aa\n").unwrap();
    // an expired JWT whose signature is the canary
    let jwt = {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        format!(
            "{}.{}.cnryTOKEXP00ffeeddccbb",
            b64.encode(r#"{"alg":"HS256","typ":"JWT"}"#),
            b64.encode(r#"{"exp":1000000000,"sub":"canary"}"#)
        )
    };
    std::fs::write(d.join("tokfile"), format!("{jwt}\n")).unwrap();
    std::fs::write(
        d.join("hook.url"),
        format!("http://{}/hook/cnryHOOKabcdef012345\n", rx.addr),
    )
    .unwrap();
    std::fs::write(
        d.join("dead.url"),
        format!("http://127.0.0.1:{dead}/dead/cnryDEAD5566778899aa\n"),
    )
    .unwrap();
    let cfg = write_config(
        d,
        &format!(
            r#"[probe.echo_env]
kind = "http"
lesson = 26
every = "1s"
url = "http://{echo}/echo/${{CANARY_URL}}?k=${{CANARY_URL}}"
headers = {{ Authorization = "Bearer ${{CANARY_AUTH}}" }}

[probe.echo_file]
kind = "http"
lesson = 26
every = "1s"
url = "http://{echo}/file"
bearer_token_file = "tok"

[probe.cmd_env]
kind = "command"
lesson = 4
every = "1s"
argv = ["env"]
env = {{ PATH = "/usr/bin:/bin", CANARY_CMD = "cnryCMD66778899aabbcc" }}
expect_exit = [3]

[probe.tok]
kind = "token_expiry"
lesson = 10
every = "1s"
file = "tokfile"

[channel.hook]
kind = "webhook"
url_file = "hook.url"
group_wait = "0s"

[channel.deadhook]
kind = "webhook"
url_file = "dead.url"
group_wait = "0s"
"#
        ),
    );
    let assert_clean = |what: &str, text: &str| {
        let lower = text.to_lowercase();
        assert!(!lower.contains("cnry"), "{what} leaks a canary:\n{text}");
        for c in cores {
            assert!(!lower.contains(c), "{what} leaks {c}:\n{text}");
        }
    };

    // check, text and JSON: the echoed request is quoted, the canaries are not
    let cfg_s = cfg.to_str().unwrap();
    for format in ["text", "json"] {
        let o = ledgerd_env(&["check", "--format", format, "--config", cfg_s], &env);
        let out = format!("{}{}", stdout(&o), stderr(&o));
        assert!(out.contains("you sent"), "{out}");
        assert!(out.contains("[redacted sha256:"), "{out}");
        assert_clean(&format!("check --format {format}"), &out);
    }

    let base = base_url(&cfg);
    let mut daemon = Daemon::start_env(&cfg, &d.join("d.log"), &env);
    // alerts for every probe reach the webhook
    wait_for(
        "alerts for all four probes",
        Duration::from_secs(60),
        || {
            let got = serde_json::Value::Array(rx.received()).to_string();
            ["echo_env", "echo_file", "cmd_env", "tok"]
                .iter()
                .all(|p| got.contains(&format!("\"probe\":\"{p}\"")))
                .then_some(())
        },
    );
    // and the dead channel has failed at least once
    wait_for(
        "a failed delivery to the dead webhook",
        Duration::from_secs(30),
        || {
            let (_, body) = get(&format!("{base}/api/v1/summary"))?;
            let s = store_text(&d.join("state"));
            (s.contains("deadhook") && body.contains("probes")).then_some(())
        },
    );
    let payloads = serde_json::Value::Array(rx.received()).to_string();
    assert!(payloads.contains("[redacted sha256:"), "{payloads}");
    assert_clean("webhook payloads", &payloads);

    let mut pages = vec![
        "/".to_string(),
        "/metrics".into(),
        "/lesson/26".into(),
        "/lesson/4".into(),
        "/lesson/10".into(),
    ];
    for p in ["echo_env", "echo_file", "cmd_env", "tok"] {
        pages.push(format!("/probe/{p}"));
        pages.push(format!("/api/v1/probes/{p}"));
        pages.push(format!("/api/v1/observations?probe={p}"));
    }
    for a in [
        "summary",
        "lessons",
        "agents",
        "lessons/26",
        "probes",
        "observations",
        "rollups",
        "incidents",
        "transitions",
        "silences",
    ] {
        pages.push(format!("/api/v1/{a}"));
    }
    let mut seen_redacted = false;
    for p in &pages {
        let (status, body) = get(&format!("{base}{p}")).expect("the daemon answers");
        assert!(status < 500, "{p}: {status} {body}");
        seen_redacted |= body.contains("[redacted sha256:");
        assert_clean(p, &body);
    }
    assert!(seen_redacted, "no page shows a redacted echo");
    assert_eq!(daemon.stop(), Some(0), "{}", daemon.log());
    let log = daemon.log();
    assert!(log.contains("deadhook"), "{log}");
    assert_clean("the daemon's log", &log);
    assert_clean("the store", &store_text(&d.join("state")));
}

fn observation_count(state: &Path) -> i64 {
    rusqlite::Connection::open_with_flags(
        state.join("ledgerd.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .ok()
    .and_then(|c| {
        c.query_row("SELECT COUNT(*) FROM observations", [], |r| r.get(0))
            .ok()
    })
    .unwrap_or(0)
}

/// Row 10: a store whose pages are damaged is found by the check at start, reported naming the
/// file, moved aside byte for byte (`ledgerd.db.corrupt-<timestamp>`), and a fresh store takes
/// observations again.
#[test]
fn row10_a_damaged_store_is_moved_aside_and_a_fresh_one_created() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = write_config(
        tmp.path(),
        "[probe.t]\nkind = \"command\"\nlesson = 4\nevery = \"1s\"\nargv = [\"true\"]\n",
    );
    let state = tmp.path().join("state");
    let mut d = Daemon::start(&cfg, &tmp.path().join("first.log"));
    wait_for("three observations", Duration::from_secs(40), || {
        (observation_count(&state) >= 3).then_some(())
    });
    assert_eq!(d.stop(), Some(0), "{}", d.log());
    // everything in the main file, then damage every page after the first two
    let c = rusqlite::Connection::open(state.join("ledgerd.db")).unwrap();
    c.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);").unwrap();
    drop(c);
    let db = state.join("ledgerd.db");
    let mut bytes = std::fs::read(&db).unwrap();
    assert!(bytes.len() > 3 * 4096, "{}", bytes.len());
    for (i, b) in bytes.iter_mut().enumerate().skip(2 * 4096) {
        *b = (i as u8).wrapping_mul(31) ^ 0xa5;
    }
    std::fs::write(&db, &bytes).unwrap();

    let base = base_url(&cfg);
    let mut d = Daemon::start(&cfg, &tmp.path().join("second.log"));
    wait_for(
        "a fresh store with observations",
        Duration::from_secs(40),
        || (observation_count(&state) >= 1).then_some(()),
    );
    let (status, _) = get(&format!("{base}/healthz")).expect("healthz answers");
    assert_eq!(status, 200);
    let log = d.log();
    assert!(log.contains("the store is damaged"), "{log}");
    assert!(log.contains(&db.display().to_string()), "{log}");
    let aside: Vec<_> = std::fs::read_dir(&state)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("ledgerd.db.corrupt-")
        })
        .collect();
    assert_eq!(aside.len(), 1, "{aside:?}");
    assert_eq!(
        std::fs::read(&aside[0]).unwrap(),
        bytes,
        "moved aside byte for byte"
    );
    assert_eq!(d.stop(), Some(0), "{}", d.log());
}

/// Row 10: `/healthz` is 503 while store writes fail (a trigger refuses every new observation)
/// and 200 again once they succeed.
#[test]
fn row10_healthz_is_503_while_store_writes_fail() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = write_config(
        tmp.path(),
        "[probe.t]\nkind = \"command\"\nlesson = 4\nevery = \"1s\"\nargv = [\"true\"]\n",
    );
    let state = tmp.path().join("state");
    let base = base_url(&cfg);
    let mut d = Daemon::start(&cfg, &tmp.path().join("d.log"));
    wait_for("an observation", Duration::from_secs(40), || {
        (observation_count(&state) >= 1).then_some(())
    });
    let c = rusqlite::Connection::open(state.join("ledgerd.db")).unwrap();
    c.busy_timeout(Duration::from_secs(5)).unwrap();
    c.execute_batch(
        "CREATE TRIGGER refuse BEFORE INSERT ON observations BEGIN SELECT RAISE(ABORT, 'disk says no'); END;",
    )
    .unwrap();
    let body = wait_for("healthz 503", Duration::from_secs(30), || {
        let (s, body) = get(&format!("{base}/healthz"))?;
        (s == 503).then_some(body)
    });
    assert!(body.contains("store not writable"), "{body}");
    assert!(body.contains("disk says no"), "{body}");
    c.execute_batch("DROP TRIGGER refuse;").unwrap();
    wait_for("healthz 200 again", Duration::from_secs(30), || {
        let (s, _) = get(&format!("{base}/healthz"))?;
        (s == 200).then_some(())
    });
    assert_eq!(d.stop(), Some(0), "{}", d.log());
}

/// A loopback server that reads each request (head and `content-length` body) and answers
/// `status` with a body that claims 1 GiB and streams zeros until the client hangs up.
fn huge_answer_server(status: u16) -> std::net::SocketAddr {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            std::thread::spawn(move || {
                let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
                let mut req = Vec::new();
                let mut buf = [0u8; 8192];
                let head_end = loop {
                    if let Some(i) = req.windows(4).position(|w| w == b"\r\n\r\n") {
                        break i + 4;
                    }
                    match conn.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => req.extend_from_slice(&buf[..n]),
                    }
                };
                let head = String::from_utf8_lossy(&req[..head_end]).to_lowercase();
                let len: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0);
                while req.len() < head_end + len {
                    match conn.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => req.extend_from_slice(&buf[..n]),
                    }
                }
                let gib: u64 = 1 << 30;
                if write!(
                    conn,
                    "HTTP/1.1 {status} X\r\ncontent-type: text/plain\r\ncontent-length: {gib}\r\n\r\n"
                )
                .is_err()
                {
                    return;
                }
                let chunk = vec![b'0'; 64 * 1024];
                let mut sent = 0u64;
                while sent < gib {
                    if conn.write_all(&chunk).is_err() {
                        return;
                    }
                    sent += chunk.len() as u64;
                }
            });
        }
    });
    addr
}

/// Runs `ledgerd <args>` and returns (exit code, stdout + stderr, peak RSS in KiB, time taken).
fn run_measured(args: &[&str]) -> (i32, String, i64, Duration) {
    // Peak RSS through GNU time (tests/run.sh installs it), which forks ledgerd from its own
    // small process. Our own wait4 would not do: Command spawns with vfork, and at exec Linux
    // folds the spawning process's peak (this test binary's, 180 MB while other tests run) into
    // the child's ru_maxrss, so every child measured the same.
    let start = Instant::now();
    let report = tempfile::NamedTempFile::new().unwrap();
    let o = std::process::Command::new("/usr/bin/time")
        .arg("-f")
        .arg("%M")
        .arg("-o")
        .arg(report.path())
        .arg(bin())
        .args(args)
        .env_remove("LEDGERD_CONFIG")
        .env("NO_COLOR", "1")
        .output()
        .expect("/usr/bin/time (Debian package time; tests/run.sh installs it)");
    let took = start.elapsed();
    let mut text = String::from_utf8_lossy(&o.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&o.stderr));
    let rss = std::fs::read_to_string(report.path()).unwrap();
    // GNU time writes "Command exited with non-zero status N" before the figure
    let kib: i64 = rss
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or_else(|| panic!("time's report: {rss:?}"));
    (o.status.code().unwrap_or(-1), text, kib, took)
}

/// Row 3: a `config_file` probe's memory is proportional to its file. `ledgerd check` on 8 MiB
/// of JSON and of JSON5 in the worst shape for a JSON tree (`[0,0,…]`: 32 bytes of tree per 2
/// bytes of input) peaks under 24× the file above `check` on an empty file (~17× measured; it
/// was ~97× before, 8 MB → 774 MB); YAML past its parser's node budget and TOML past 1 MiB are
/// `unknown` naming the budget (an 8 MiB TOML array peaked at 665 MB), and so is JSON5 nested
/// 100,000 deep (it overflowed the stack and aborted the process).
#[test]
fn row3_config_file_memory_is_proportional_to_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let size: usize = 8 * 1024 * 1024 - 64; // under the default max_file_bytes
    let zeros = |len: usize| format!("[{}0]", "0,".repeat((len - 3) / 2));
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let files = [
        "empty.json",
        "big.json",
        "big.json5",
        "big.yaml",
        "big.toml",
        "deep.json5",
    ];
    for file in files {
        let text = match file {
            "empty.json" => "{}".to_string(),
            "big.json" => zeros(size),
            // a comment makes it JSON5 proper: the JSON5 parser reads it, not the strict one
            "big.json5" => format!("// json5\n{}", zeros(size - 9)),
            "big.yaml" => "- 0\n".repeat(size / 4),
            "big.toml" => format!("a = {}\n", zeros(size - 5)),
            _ => format!("// json5\n{deep}"),
        };
        let dir = tmp.path().join(file.replace('.', "_"));
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(dir.join(file), text).unwrap();
    }
    drop(deep);
    // (the texts are dropped before any child is spawned: a child's peak counts what it shared
    // with this process at fork)
    let mut peak = std::collections::BTreeMap::new();
    for file in files {
        let dir = tmp.path().join(file.replace('.', "_"));
        let cfg = write_config(
            &dir,
            &format!(
                "[probe.cf]\nkind = \"config_file\"\nlesson = 4\ntimeout = \"300s\"\npath = \"{file}\"\n"
            ),
        );
        let (code, out, rss_kib, _) = run_measured(&["check", "--config", cfg.to_str().unwrap()]);
        let want = match file {
            "empty.json" | "big.json" | "big.json5" => "leaf keys",
            "big.yaml" => "not parsed: more than 250000 YAML nodes at line 250000",
            "big.toml" => "past the TOML parsing budget of 1048576 bytes (1 MiB)",
            _ => "not parsed: nested deeper than 128 levels at line 2, column 129",
        };
        assert!(out.contains(want), "{file} (exit {code}): {out}");
        assert!(code == 0 || code == 1, "{file}: exit {code}: {out}");
        peak.insert(file, rss_kib);
    }
    let base = peak["empty.json"];
    for (file, kib) in &peak {
        let over = (kib - base) * 1024;
        let ratio = over as f64 / size as f64;
        assert!(
            ratio < 24.0,
            "{file}: peak {kib} KiB, {ratio:.1}× the file over {base} KiB"
        );
    }
    // the worst shape does cost memory: the measure measures
    assert!(peak["big.json"] - base > (size / 1024) as i64, "{peak:?}");
}

/// Row 11: receivers that answer with 1 GiB (a webhook and Alertmanager answering 200, a webhook
/// answering 500) are read up to the cap, the cut is reported, and memory stays bounded.
#[test]
fn row11_receiver_answers_are_capped_and_the_cut_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let ok = huge_answer_server(200);
    let bad = huge_answer_server(500);
    let cfg = write_config(
        tmp.path(),
        &format!(
            "[channel.hook]\nkind = \"webhook\"\nurl = \"http://{ok}/hook\"\n\n[channel.am]\nkind = \"alertmanager\"\nurl = \"http://{ok}\"\n\n[channel.badhook]\nkind = \"webhook\"\nurl = \"http://{bad}/hook\"\n"
        ),
    );
    for (channel, code, needle) in [
        ("hook", 0, "HTTP 200 (answer cut at 65536 bytes)"),
        ("am", 0, "(answer cut at 65536 bytes)"),
        ("badhook", 1, "(answer cut at 65536 bytes)"),
    ] {
        let (got, out, rss_kib, took) = run_measured(&[
            "test-alert",
            "--channel",
            channel,
            "--config",
            cfg.to_str().unwrap(),
        ]);
        assert_eq!(got, code, "{channel}: {out}");
        assert!(out.contains(needle), "{channel}: {out}");
        // a debug build under load peaks at ~150 MiB here; reading the 1 GiB answer would be ~1 GiB+
        assert!(rss_kib < 320 * 1024, "{channel}: peak RSS {rss_kib} KiB");
        assert!(took < Duration::from_secs(15), "{channel}: took {took:?}");
    }
}

/// Row 11: the command line reading the daemon's API (`ledgerd status` against something on
/// `daemon.listen` that answers 1 GiB) reads at most its cap, says so, and falls back to the
/// store with bounded memory.
#[test]
fn row11_the_api_client_caps_the_daemons_answer() {
    let tmp = tempfile::tempdir().unwrap();
    let fake = huge_answer_server(200);
    let cfg = tmp.path().join("config.toml");
    std::fs::write(
        &cfg,
        format!(
            "[daemon]\nstate_dir = \"{}\"\nlisten = \"{fake}\"\n\n[probe.t]\nkind = \"command\"\nlesson = 4\nargv = [\"true\"]\n",
            tmp.path().join("state").display()
        ),
    )
    .unwrap();
    let (_, out, rss_kib, took) = run_measured(&["status", "--config", cfg.to_str().unwrap()]);
    assert!(out.contains("cut and not used"), "{out}");
    assert!(rss_kib < 160 * 1024, "peak RSS {rss_kib} KiB");
    assert!(took < Duration::from_secs(20), "took {took:?}");
}

/// Row 11: a `command` probe that forks a sleeper and outlives its timeout: the whole process
/// group is killed, the grandchild included.
#[test]
fn row11_a_command_timeout_kills_the_grandchild_too() {
    let tmp = tempfile::tempdir().unwrap();
    let pidfile = tmp.path().join("pid");
    let cfg = write_config(
        tmp.path(),
        &format!(
            "[probe.fork]\nkind = \"command\"\nlesson = 4\ntimeout = \"1s\"\nargv = [\"sh\", \"-c\", \"sleep 300 & echo $! > '{}'; wait\"]\n",
            pidfile.display()
        ),
    );
    let (_, v, took) = check(&cfg);
    let o = observation(&v, "fork");
    assert_eq!(o["health"], "unknown", "{o}");
    assert!(took < Duration::from_secs(10), "{took:?}");
    let pid = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .to_string();
    wait_for(
        "the grandchild to be killed",
        Duration::from_secs(10),
        || {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let state = stat.rsplit(')').next().unwrap_or("").trim_start();
            (stat.is_empty() || state.starts_with('Z') || state.starts_with('X')).then_some(())
        },
    );
}

/// Whether the server closed `s` (EOF or reset) within `within`; false if it is still open.
fn closed_within(s: &mut std::net::TcpStream, within: Duration) -> bool {
    use std::io::Read;
    s.set_read_timeout(Some(within)).unwrap();
    let mut b = [0u8; 64];
    match s.read(&mut b) {
        Ok(0) => true,
        Ok(_) => true,
        Err(e) => !matches!(
            e.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ),
    }
}

/// Row 8: with `max_connections = 4`, four silent connections are held and the fifth is closed
/// at once; the four are closed after `header_timeout` (1s here), not before, and the server
/// answers again afterwards.
#[test]
fn row8_connection_cap_and_header_timeout() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("config.toml");
    let port = free_port();
    std::fs::write(
        &cfg,
        format!(
            "[daemon]\nstate_dir = \"{}\"\nlisten = \"127.0.0.1:{port}\"\nmax_connections = 4\nheader_timeout = \"1s\"\nidle_timeout = \"30s\"\n",
            tmp.path().join("state").display()
        ),
    )
    .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let mut d = Daemon::start(&cfg, &tmp.path().join("d.log"));
    wait_for("healthz", Duration::from_secs(30), || {
        get(&format!("{base}/healthz")).filter(|(s, _)| *s == 200)
    });
    let opened = Instant::now();
    let mut idle: Vec<std::net::TcpStream> = (0..4)
        .map(|_| std::net::TcpStream::connect(("127.0.0.1", port)).unwrap())
        .collect();
    let mut fifth = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    assert!(
        closed_within(&mut fifth, Duration::from_millis(800)),
        "the connection past the cap was not closed at once"
    );
    assert!(opened.elapsed() < Duration::from_millis(900));
    // the four are still open (well before the header timeout)...
    for s in &mut idle {
        assert!(
            !closed_within(s, Duration::from_millis(10)),
            "closed too early"
        );
    }
    // ...and closed after it
    for s in &mut idle {
        assert!(closed_within(s, Duration::from_secs(5)), "never closed");
    }
    let took = opened.elapsed();
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(5),
        "{took:?}"
    );
    let (s, _) = get(&format!("{base}/healthz")).expect("answers again");
    assert_eq!(s, 200);
    let (_, metrics) = get(&format!("{base}/metrics")).unwrap();
    assert!(
        metrics.contains("ledgerd_web_connections_refused_total 1"),
        "{metrics}"
    );
    assert_eq!(d.stop(), Some(0), "{}", d.log());
}

/// Row 8: 32 requests with wrong basic-auth passwords in flight do not stall the runtime:
/// `/healthz` answers each time within 500 ms meanwhile, and the flood gets 401s, then 429s.
#[test]
fn row8_healthz_answers_while_wrong_passwords_are_verified() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("config.toml");
    let port = free_port();
    let hash = ledgerd::password::hash_password("the-right-password").unwrap();
    std::fs::write(
        &cfg,
        format!(
            "[daemon]\nstate_dir = \"{}\"\nlisten = \"127.0.0.1:{port}\"\nbasic_auth_user = \"ana\"\nbasic_auth_password_hash = \"{hash}\"\n",
            tmp.path().join("state").display()
        ),
    )
    .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let mut d = Daemon::start(&cfg, &tmp.path().join("d.log"));
    wait_for("healthz", Duration::from_secs(30), || {
        get(&format!("{base}/healthz")).filter(|(s, _)| *s == 200)
    });
    let flood: Vec<_> = (0..32)
        .map(|i| {
            let url = format!("{base}/api/v1/summary");
            std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async {
                    reqwest::Client::new()
                        .get(&url)
                        .basic_auth("ana", Some(format!("wrong-{i}")))
                        .send()
                        .await
                        .map(|r| r.status().as_u16())
                        .unwrap_or(0)
                })
            })
        })
        .collect();
    // /healthz over a plain socket, so only the server's time is measured
    let mut worst = Duration::ZERO;
    for _ in 0..10 {
        use std::io::{Read, Write};
        let t = Instant::now();
        let mut c = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        c.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut answer = String::new();
        c.read_to_string(&mut answer).unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        worst = worst.max(t.elapsed());
    }
    let statuses: Vec<u16> = flood.into_iter().map(|h| h.join().unwrap()).collect();
    assert!(worst < Duration::from_millis(500), "healthz took {worst:?}");
    assert!(
        statuses.iter().all(|s| *s == 401 || *s == 429),
        "{statuses:?}"
    );
    assert!(statuses.contains(&429), "{statuses:?}");
    // the right password still works (verified once, then cached)
    let ok = {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            reqwest::Client::new()
                .get(format!("{base}/api/v1/summary"))
                .basic_auth("ana", Some("the-right-password"))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        })
    };
    // from this client the window may still be closed: 429 is the rate limit, not a wrong answer
    assert!(ok == 200 || ok == 429, "{ok}");
    assert_eq!(d.stop(), Some(0), "{}", d.log());
}

/// Count of `t`'s observations in `health` whose summary contains `needle` (empty: any).
fn observations_of(state: &Path, health: &str, needle: &str) -> i64 {
    rusqlite::Connection::open_with_flags(
        state.join("ledgerd.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .ok()
    .and_then(|c| {
        c.query_row(
            "SELECT COUNT(*) FROM observations WHERE probe = 't' AND health = ?1 AND instr(summary, ?2) > 0",
            [health, needle],
            |r| r.get(0),
        )
        .ok()
    })
    .unwrap_or(0)
}

/// Row 8: a daemon out of file descriptors reports its own fault, not every lesson violated.
/// The running daemon's soft open-files limit is lowered to what it holds plus four, and idle
/// connections take the rest: `accept` fails with EMFILE and the `command` probe cannot spawn.
/// Its observations meanwhile are `unknown` naming the daemon's fault, never critical or
/// degraded; once the connections close, `/healthz` is 503 naming the fault and `/metrics` says
/// `ledgerd_fd_exhausted 1`.
#[test]
#[allow(unsafe_code)]
fn row8_fd_exhaustion_is_the_daemons_fault_not_a_finding() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("config.toml");
    let state = tmp.path().join("state");
    let port = free_port();
    std::fs::write(
        &cfg,
        format!(
            "[daemon]\nstate_dir = \"{}\"\nlisten = \"127.0.0.1:{port}\"\nheader_timeout = \"120s\"\nidle_timeout = \"120s\"\n\n[probe.t]\nkind = \"command\"\nlesson = 4\nevery = \"1s\"\nargv = [\"true\"]\n",
            state.display()
        ),
    )
    .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let mut d = Daemon::start(&cfg, &tmp.path().join("d.log"));
    wait_for("healthz", Duration::from_secs(30), || {
        get(&format!("{base}/healthz")).filter(|(s, _)| *s == 200)
    });
    wait_for("a first ok run", Duration::from_secs(30), || {
        (observations_of(&state, "ok", "") > 0).then_some(())
    });
    let pid = d.child.as_ref().unwrap().id() as libc::pid_t;
    let open = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count() as u64;
    let mut old = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    let low = |old: &libc::rlimit| libc::rlimit {
        rlim_cur: open + 4,
        rlim_max: old.rlim_max,
    };
    // SAFETY: prlimit with valid pointers to rlimit values that outlive the calls
    assert_eq!(
        unsafe { libc::prlimit(pid, libc::RLIMIT_NOFILE, std::ptr::null(), &mut old) },
        0
    );
    let new = low(&old);
    // SAFETY: as above
    assert_eq!(
        unsafe { libc::prlimit(pid, libc::RLIMIT_NOFILE, &new, std::ptr::null_mut()) },
        0
    );
    let idle: Vec<std::net::TcpStream> = (0..32)
        .map(|_| std::net::TcpStream::connect(("127.0.0.1", port)).unwrap())
        .collect();
    wait_for(
        "a run that could not look for want of file descriptors",
        Duration::from_secs(30),
        || (observations_of(&state, "unknown", "out of file descriptors") > 0).then_some(()),
    );
    drop(idle);
    let (_, body) = wait_for("healthz 503", Duration::from_secs(8), || {
        get(&format!("{base}/healthz")).filter(|(s, _)| *s == 503)
    });
    assert!(
        body.contains("out of file descriptors (ledgerd's own fault)"),
        "{body}"
    );
    let (_, metrics) = get(&format!("{base}/metrics")).unwrap();
    assert!(metrics.contains("ledgerd_fd_exhausted 1"), "{metrics}");
    assert!(d.log().contains("out_of_file_descriptors"), "{}", d.log());
    for health in ["critical", "degraded"] {
        assert_eq!(observations_of(&state, health, ""), 0, "{health}");
    }
    assert_eq!(d.stop(), Some(0), "{}", d.log());
}

/// Rows 1 and 3, found again in agents' own files: a `.claude.json` or `openclaw.json` nested
/// 300,000 deep overflowed the stack of `credentials`, `model_swap` and `discover` (abort, exit
/// 134: the JSON5 parser recurses without a limit), and a long token file kept `token_expiry`
/// on the runtime's thread for minutes registering it with the redactor (its timeout could not
/// fire). Now each is a finding naming the nesting limit, `check` answers within its timeouts,
/// and `discover` notes the file and goes on.
#[test]
fn rows1_3_deep_agent_files_and_long_credentials_are_findings_not_crashes() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let home = d.join("root/home/ana");
    std::fs::create_dir_all(home.join(".openclaw")).unwrap();
    let deep = "[".repeat(300_000);
    std::fs::write(home.join(".claude.json"), &deep).unwrap();
    std::fs::write(
        home.join(".openclaw/openclaw.json"),
        format!("// hostile\n{deep}"),
    )
    .unwrap();
    // 600,000 letters and digits with no repeated run: a "credential" file just under its cap
    let mut x: u64 = 7;
    let long: String = (0..600_000)
        .map(|_| {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            char::from(b"abcdefghijkmnpqrstuvwxyz23456789"[(x >> 59) as usize])
        })
        .collect();
    std::fs::write(d.join("tok"), &long).unwrap();
    // and a launchd plist nested 50,000 deep where credentials and discover read plists
    let daemons = d.join("root/Library/LaunchDaemons");
    std::fs::create_dir_all(&daemons).unwrap();
    std::fs::write(
        daemons.join("ai.openclaw.deep.plist"),
        bplist_chain(50_000, 1),
    )
    .unwrap();
    let cfg = write_config(
        d,
        &format!(
            r#"[probe.creds]
kind = "credentials"
lessons = [1, 2, 10]
timeout = "10s"
homes = ["{home}"]
plists = ["{root}/Library/LaunchDaemons/ai.openclaw.*.plist"]

[probe.swap]
kind = "model_swap"
lesson = 30
timeout = "10s"
config = "{home}/.openclaw/openclaw.json"
prompts = ["{home}/.openclaw/SOUL.md"]

[probe.rollout]
kind = "change_window"
lessons = [31]
timeout = "10s"
files = ["{root}/home/*/.openclaw/openclaw.json"]
versioned_key = "version"

[probe.token]
kind = "token_expiry"
lesson = 10
timeout = "5s"
file = "tok"
"#,
            home = home.display(),
            root = d.join("root").display()
        ),
    );
    let (code, v, took) = check(&cfg);
    assert!(code == 0 || code == 1, "exit {code}: {v}");
    assert!(took < Duration::from_secs(60), "check took {took:?}");
    let creds = observation(&v, "creds").to_string();
    assert!(creds.contains("nested deeper than 128 levels"), "{creds}");
    let swap = observation(&v, "swap");
    assert_eq!(swap["health"], "unknown", "{swap}");
    assert!(
        swap.to_string().contains("nested deeper than 128 levels"),
        "{swap}"
    );
    let token = observation(&v, "token");
    assert_eq!(token["health"], "unknown", "{token}");
    let all = v.to_string();
    assert!(
        !all.contains(&long[..24]),
        "the token file's text leaked: {token}"
    );

    let o = ledgerd(&["discover", "--root", d.join("root").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("nested deeper than 128 levels"),
        "{}",
        stdout(&o)
    );
}
