//! The shipped service files pass ledgerd's own service-manager probes, and the daemon speaks
//! sd_notify (READY, then WATCHDOG pings) the way the systemd unit's `Type=notify` and
//! `WatchdogSec` expect, without needing systemd.

use crate::cli::write_config;
use crate::support::*;
use std::path::Path;
use std::time::Duration;

#[test]
fn shipped_unit_and_plist_pass_our_own_probes() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tmp = tempfile::tempdir().unwrap();
    let cfg = write_config(
        tmp.path(),
        &format!(
            r#"[probe.unit]
kind = "systemd_unit"
lessons = [3, 4, 25]
unit = "ledgerd.service"
unit_dirs = ["{}"]
use_systemctl = false

[probe.plist]
kind = "launchd_job"
lesson = 3
plist = "{}"
domain = "daemon"
runtime_dirs = ["/usr/local/bin"]
"#,
            root.join("deploy/systemd").display(),
            root.join("deploy/launchd/com.ledgerd.daemon.plist")
                .display()
        ),
    );
    let o = ledgerd(&["check", "--config", cfg.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let unit = std::fs::read_to_string(root.join("deploy/systemd/ledgerd.service")).unwrap();
    for line in [
        "Type=notify",
        "ExecStartPre=/usr/local/bin/ledgerd doctor",
        "RestartPreventExitStatus=78",
        "WatchdogSec=",
        "ExecReload=",
        "LimitNOFILE=",
    ] {
        assert!(unit.contains(line), "{line}");
    }
}

#[test]
fn sd_notify_ready_then_watchdog() {
    use std::os::unix::net::UnixDatagram;
    let tmp = tempfile::tempdir().unwrap();
    let sock_path = tmp.path().join("notify.sock");
    let sock = UnixDatagram::bind(&sock_path).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let cfg = write_config(
        tmp.path(),
        "[probe.sh]\nkind = \"command\"\nlesson = 4\nargv = [\"true\"]\n",
    );
    let log = std::fs::File::create(tmp.path().join("d.log")).unwrap();
    let mut child = std::process::Command::new(bin())
        .args(["run", "--config", cfg.to_str().unwrap()])
        .env("NOTIFY_SOCKET", &sock_path)
        .env("WATCHDOG_USEC", "400000")
        .stderr(log)
        .spawn()
        .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 512];
    while !(got.iter().any(|m: &String| m.contains("READY=1"))
        && got.iter().filter(|m| m.contains("WATCHDOG=1")).count() >= 2)
    {
        let n = sock.recv(&mut buf).expect("a notification within 20 s");
        got.push(String::from_utf8_lossy(&buf[..n]).into_owned());
        assert!(got.len() < 100, "{got:?}");
    }
    let ready = got.iter().position(|m| m.contains("READY=1")).unwrap();
    let first_watchdog = got.iter().position(|m| m.contains("WATCHDOG=1")).unwrap();
    assert!(ready < first_watchdog, "READY comes first: {got:?}");
    #[allow(unsafe_code)]
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
}

/// The `sh` block under `heading` in deploy/README.md, one command per line.
fn readme_block(readme: &str, heading: &str) -> Vec<String> {
    let section = readme
        .split(heading)
        .nth(1)
        .unwrap_or_else(|| panic!("deploy/README.md has {heading}"));
    let block = section.split("```sh\n").nth(1).unwrap();
    let block = block.split("```").next().unwrap();
    block
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect()
}

/// Runs one README line with its absolute paths under `prefix` and the built binary in place of
/// the release artifact; returns false when the line needs something this machine lacks.
fn run_install_line(line: &str, prefix: &Path) -> bool {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let first = line.split_whitespace().next().unwrap();
    if matches!(first, "systemctl" | "launchctl" | "plutil") {
        return false; // the real service manager: not on this machine / not in a test
    }
    let p = prefix.display().to_string();
    let mut cmd = line.to_string();
    // the release artifact: the suite's own build of the same binary
    cmd = cmd.replace("target/release/ledgerd", bin());
    for abs in ["/usr/local/", "/etc/", "/usr/share/", "/Library/"] {
        cmd = cmd.replace(&format!(" {abs}"), &format!(" {p}{abs}"));
    }
    let cmd = cmd
        .strip_prefix("/usr/local/")
        .map_or(cmd.clone(), |rest| format!("{p}/usr/local/{rest}"));
    if first == "systemd-analyze" {
        if std::process::Command::new("systemd-analyze")
            .arg("--version")
            .output()
            .is_err()
        {
            return false;
        }
        // the unit names /usr/local/bin/ledgerd, installed here under the prefix
        let unit = prefix.join("etc/systemd/system/ledgerd.service");
        let text = std::fs::read_to_string(&unit).unwrap();
        std::fs::write(
            &unit,
            text.replace("/usr/local/bin/", &format!("{p}/usr/local/bin/")),
        )
        .unwrap();
    }
    let o = std::process::Command::new("sh")
        .args(["-c", &cmd])
        .current_dir(root)
        .env_remove("LEDGERD_CONFIG")
        .env("HOME", prefix)
        .env("XDG_STATE_HOME", prefix)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{line}\n(as {cmd})\n{}{}",
        stdout(&o),
        stderr(&o)
    );
    true
}

#[test]
fn deploy_readme_steps_work_in_a_temp_prefix() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("deploy/README.md")).unwrap();

    // systemd: binary, config, doctor, unit, systemd-analyze verify, completions, man pages
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path();
    let lines = readme_block(&readme, "## systemd (Linux)");
    let ran: Vec<&String> = lines.iter().filter(|l| run_install_line(l, p)).collect();
    assert!(ran.iter().any(|l| l.contains("doctor")), "{lines:?}");
    assert!(
        ran.len() + 3 >= lines.len(),
        "only systemctl lines may be skipped: {ran:?}"
    );
    for f in [
        "usr/local/bin/ledgerd",
        "etc/ledgerd/config.toml",
        "etc/systemd/system/ledgerd.service",
        "usr/share/bash-completion/completions/ledgerd",
        "usr/local/share/man/man1/ledgerd.1",
        "usr/local/share/man/man1/ledgerd-doctor.1",
    ] {
        assert!(p.join(f).is_file(), "{f}");
    }
    use std::os::unix::fs::PermissionsExt;
    let mode = |f: &str| std::fs::metadata(p.join(f)).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode("usr/local/bin/ledgerd"), 0o755);
    assert_eq!(mode("etc/ledgerd/config.toml"), 0o640);
    assert_eq!(mode("etc/ledgerd"), 0o750);

    // launchd: the same up to `launchctl`; the installed plist passes our launchd_job probe
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path();
    // a directory every macOS has
    std::fs::create_dir_all(p.join("Library/LaunchDaemons")).unwrap();
    let lines = readme_block(&readme, "## launchd (macOS)");
    let ran = lines.iter().filter(|l| run_install_line(l, p)).count();
    assert!(ran + 3 >= lines.len(), "{lines:?}");
    let plist = p.join("Library/LaunchDaemons/com.ledgerd.daemon.plist");
    assert!(plist.is_file());
    assert!(p.join("usr/local/etc/ledgerd/config.toml").is_file());
    let cfg = write_config(
        p,
        &format!(
            "[probe.ledgerd_plist]\nkind = \"launchd_job\"\nlesson = 3\nplist = \"{}\"\n\
             domain = \"daemon\"\nruntime_dirs = [\"/usr/local/bin\"]\n",
            plist.display()
        ),
    );
    let o = ledgerd(&["check", "--config", cfg.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    // and the probe does catch a broken plist (no HOME for the job)
    let text = std::fs::read_to_string(&plist).unwrap();
    std::fs::write(
        &plist,
        text.replace("<key>HOME</key>\n    <string>/var/root</string>\n", ""),
    )
    .unwrap();
    let o = ledgerd(&["check", "--config", cfg.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}{}", stdout(&o), stderr(&o));
}
