//! Config validation through the real binary: every fixture in tests/data/config/invalid makes
//! `ledgerd doctor` exit 78 and print each `# error:` line of its header; every valid fixture,
//! the example config and every kind's EXAMPLE pass.

use crate::support::*;

fn expected_errors(text: &str) -> Vec<String> {
    text.lines()
        .take_while(|l| l.starts_with('#'))
        .filter_map(|l| l.strip_prefix("# error: "))
        .map(str::to_string)
        .collect()
}

#[test]
fn every_invalid_fixture_fails_doctor_with_its_errors() {
    let dir = data("config/invalid");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("toml") {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        let want = expected_errors(&String::from_utf8_lossy(&bytes));
        assert!(
            !want.is_empty(),
            "{} has no '# error:' header",
            path.display()
        );
        let o = ledgerd(&["doctor", "--config", path.to_str().unwrap()]);
        let out = stdout(&o);
        assert_eq!(o.status.code(), Some(78), "{}: {out}", path.display());
        for w in &want {
            assert!(
                out.contains(w.as_str()),
                "{}: expected {w:?} in:\n{out}",
                path.display()
            );
        }
        let errors = out.lines().filter(|l| l.starts_with("error: ")).count();
        assert_eq!(
            errors,
            want.len(),
            "{}: every error listed once, no extra:\n{out}",
            path.display()
        );
        checked += 1;
    }
    assert!(checked >= 12, "only {checked} fixtures found");
}

#[test]
fn valid_fixtures_pass_doctor() {
    for entry in std::fs::read_dir(data("config/valid")).unwrap() {
        let path = entry.unwrap().path();
        let o = ledgerd_env(
            &["doctor", "--config", path.to_str().unwrap()],
            &[("HOME", "/tmp")],
        );
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}: {}{}",
            path.display(),
            stdout(&o),
            stderr(&o)
        );
    }
}

#[test]
fn strict_fails_on_warnings() {
    let path = data("config/valid/minimal.toml");
    let o = ledgerd(&["doctor", "--strict", "--config", path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(78));
    assert!(stdout(&o).contains("lessons have no probe"));
}

#[test]
fn every_kind_example_loads_through_the_real_loader() {
    let tmp = tempfile::tempdir().unwrap();
    let o = ledgerd(&["kinds", "--examples"]);
    assert!(o.status.success());
    // gather each example from the library directly, write one config per example
    for k in ledgerd::probe::KINDS {
        let path = tmp.path().join(format!("{}.toml", k.kind));
        std::fs::write(&path, k.example()).unwrap();
        let o = ledgerd_env(
            &["doctor", "--config", path.to_str().unwrap()],
            &[("LEDGERD_WEBHOOK_TOKEN", "t")],
        );
        assert_eq!(
            o.status.code(),
            Some(0),
            "example of kind {}:\n{}\n{}",
            k.kind,
            stdout(&o),
            stderr(&o)
        );
        assert!(stdout(&o).contains(k.kind) || stdout(&o).contains("config ok"));
    }
    for k in ledgerd::alert::CHANNEL_KINDS {
        let path = tmp.path().join(format!("channel-{}.toml", k.kind));
        std::fs::write(
            &path,
            format!(
                "[probe.sh]\nkind = \"command\"\nlesson = 4\nargv = [\"true\"]\n\n{}",
                k.example()
            ),
        )
        .unwrap();
        let o = ledgerd_env(
            &["doctor", "--config", path.to_str().unwrap()],
            &[("LEDGERD_WEBHOOK_TOKEN", "t")],
        );
        assert_eq!(
            o.status.code(),
            Some(0),
            "example of channel {}:\n{}\n{}",
            k.kind,
            stdout(&o),
            stderr(&o)
        );
    }
}

#[test]
fn example_config_validates_as_is_and_fully_uncommented() {
    let example = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config.example.toml"),
    )
    .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let as_is = tmp.path().join("as-is.toml");
    std::fs::write(&as_is, &example).unwrap();
    let o = ledgerd(&["doctor", "--config", as_is.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    // uncomment lines of the form "#key = value" / "#[table]" (documentation lines use "# ")
    let uncommented: String = example
        .lines()
        .map(|l| {
            l.strip_prefix('#')
                .filter(|r| !r.starts_with(' ') && !r.is_empty() && !r.starts_with('#'))
                .unwrap_or(l)
        })
        .collect::<Vec<_>>()
        .join("\n");
    assert_ne!(
        uncommented, example,
        "the example has optional lines to uncomment"
    );
    let full = tmp.path().join("full.toml");
    std::fs::write(&full, uncommented).unwrap();
    std::fs::write(tmp.path().join("webhook.url"), "http://127.0.0.1:9/hook").unwrap();
    std::fs::write(tmp.path().join("web.token"), "0123456789abcdef-web").unwrap();
    let o = ledgerd_env(
        &["doctor", "--config", full.to_str().unwrap()],
        &[("LEDGERD_WEBHOOK_TOKEN", "t")],
    );
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
}

#[test]
fn the_readme_config_example_is_valid() {
    let readme =
        std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
            .unwrap();
    let section = readme.split("## Config").nth(1).unwrap();
    let block = section
        .split("```toml\n")
        .nth(1)
        .unwrap()
        .split("```")
        .next()
        .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let secret = tmp.path().join("slack.url");
    std::fs::write(&secret, "https://hooks.slack.com/services/T0/B0/x").unwrap();
    let cfg = tmp.path().join("config.toml");
    std::fs::write(
        &cfg,
        block.replace("/etc/ledgerd/slack.url", secret.to_str().unwrap()),
    )
    .unwrap();
    let o = ledgerd(&["doctor", "--config", cfg.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
}

/// Runs `ledgerd doctor` with a deadline: a config read that blocks (a FIFO) fails the test
/// instead of hanging it.
fn doctor_within(config: &std::path::Path, deadline: std::time::Duration) -> (Option<i32>, String) {
    let mut child = std::process::Command::new(bin())
        .args(["doctor", "--config", config.to_str().unwrap()])
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let end = std::time::Instant::now() + deadline;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let out = child.wait_with_output().unwrap();
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            return (status.code(), text);
        }
        if std::time::Instant::now() > end {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "doctor still running after {deadline:?} on {}",
                config.display()
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn fifo_includes_secrets_and_configs_are_config_errors_not_hangs() {
    let tmp = tempfile::tempdir().unwrap();
    let fifo = tmp.path().join("pipe");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let cases = [
        (
            "include.toml",
            "include = [\"pipe\"]\n".to_string(),
            "include[0]: cannot include",
        ),
        (
            "secret.toml",
            "[channel.ops]\nkind = \"webhook\"\nurl_file = \"pipe\"\n".to_string(),
            "channel.ops.url_file: cannot read secret file",
        ),
        (
            "token.toml",
            "[daemon]\nauth_token_file = \"pipe\"\n".to_string(),
            "daemon.auth_token_file: cannot read token file",
        ),
    ];
    for (name, text, want) in cases {
        let cfg = tmp.path().join(name);
        std::fs::write(&cfg, text).unwrap();
        let (code, out) = doctor_within(&cfg, std::time::Duration::from_secs(20));
        assert_eq!(code, Some(78), "{name}: {out}");
        assert!(out.contains(want), "{name}: expected {want:?} in {out}");
        assert!(
            out.contains("pipe") && out.contains("not a regular file (a FIFO)"),
            "{name}: names the file and why: {out}"
        );
    }
    // the main config itself
    let (code, out) = doctor_within(&fifo, std::time::Duration::from_secs(20));
    assert_eq!(code, Some(78), "{out}");
    assert!(out.contains("not a regular file (a FIFO)"), "{out}");
}

/// A probe citing a ledger lesson its kind cannot check is named by `doctor` (the lesson would look
/// held while nothing watches it); `command` may cite any lesson; lessons 33+ are the operator's.
#[test]
fn doctor_warns_when_a_kind_cannot_check_the_cited_lesson() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("c.toml");
    std::fs::write(
        &path,
        format!(
            r#"[daemon]
state_dir = "{}"
[lesson.40]
title = "t"
fix = "f"
rule = "r"
class = "auth"
audience = "agents"
[probe.beat]
kind = "heartbeat"
lessons = [28, 23, 40]
path = "/tmp/x"
interval = "5m"
[probe.script]
kind = "command"
lesson = 23
argv = ["true"]
"#,
            tmp.path().join("state").display()
        ),
    )
    .unwrap();
    let o = ledgerd(&["doctor", "--config", path.to_str().unwrap()]);
    let out = stdout(&o) + &stderr(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(
        out.contains("probe.beat")
            && out.contains("cites lesson 23 but a heartbeat probe cannot check it"),
        "{out}"
    );
    assert!(!out.contains("cites lesson 40"), "{out}");
    assert!(!out.contains("probe.script: cites"), "{out}");
    let o = ledgerd(&["doctor", "--strict", "--config", path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(78));
}
