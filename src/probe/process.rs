//! `process`: finds running processes in a proc tree (`/proc/<pid>/{comm,cmdline,status,environ}`)
//! and judges how many there are, whose they are, which `HOME` they run with and whether a
//! service manager is among their ancestors (lessons 3 and 25: a gateway started by `nohup` and
//! `sudo -u` has the wrong HOME and does not survive a reboot; a forking gateway leaves two copies
//! or an orphan). It only reads the proc tree: it never signals, restarts or adopts a process, and
//! of a process's environment it shows `HOME` and nothing else.

use super::users::{self, UserSpec};
use super::{Health, Invalid, Observation, Probe, ProbeCx};
use crate::proc::{Proc as ProcTree, status_field};
use serde::Deserialize;
use std::path::PathBuf;

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Process {
    /// Root of the proc file system. Default "/proc"; tests point it at a fixture tree.
    #[serde(default = "super::proc_root")]
    proc_root: PathBuf,
    /// A process matches when its `comm` equals this (the kernel cuts `comm` to 15 bytes).
    /// At least one of `name` and `argv_matches` is required; both must hold when both are set.
    name: Option<String>,
    /// A process matches when this regex matches its command line (arguments joined by spaces).
    argv_matches: Option<String>,
    /// Expected owner of every matching process: a user name or a numeric uid, compared with
    /// the real uid in `status`. Default: not checked.
    user: Option<UserSpec>,
    /// Count only processes owned by this user (a name or a uid, real uid in `status`): on a host
    /// running one gateway per agent user, each agent's probe counts its own. Empty or absent:
    /// every user's. A name unknown on this host is unknown (nothing to count against).
    owned_by: Option<UserSpec>,
    /// Fewest matching processes that is healthy. Default 1.
    #[serde(default = "default_min")]
    min_count: usize,
    /// Most matching processes that is healthy ("exactly one gateway" = min 1, max 1).
    /// Default: no limit.
    max_count: Option<usize>,
    /// `HOME` every matching process must have in its environment (lesson 3). Default: not
    /// checked. Only the `HOME` value is ever shown, never other variables.
    expect_home: Option<String>,
    /// Report matching processes with no service manager (systemd, launchd, supervisord, or a
    /// PID 1 named systemd/init) among their ancestors as orphans (degraded). Default false.
    #[serde(default)]
    require_supervisor: bool,
}

fn default_min() -> usize {
    1
}

/// Ancestors with these `comm` names are service managers at any depth.
const MANAGERS: &[&str] = &["systemd", "launchd", "supervisord"];
/// PID 1 with one of these names is a service manager too.
const INIT_MANAGERS: &[&str] = &["systemd", "init"];
/// Flags whose next argument (or `=value`) is a secret.
const SECRET_FLAGS: &[&str] = &[
    "token", "password", "passwd", "api-key", "api_key", "apikey",
];
/// Key fragments that make a `KEY=value` argument look secret.
const SECRET_WORDS: &[&str] = &[
    "TOKEN",
    "SECRET",
    "PASSWORD",
    "PASSWD",
    "API_KEY",
    "APIKEY",
    "AUTH",
    "CREDENTIAL",
    "PRIVATE",
];
/// Longest ancestry walked before giving up (a proc tree is never this deep).
const MAX_DEPTH: usize = 128;
/// Most processes described in evidence.
const MAX_LISTED: usize = 10;
/// Longest argv shown.
const MAX_ARGV_CHARS: usize = 200;

impl Probe for Process {
    const KIND: &'static str = "process";
    const SUMMARY: &'static str =
        "count matching processes and check their user, HOME and service-manager ancestry";
    const LESSONS: &'static [u32] = &[3, 25];
    const EXAMPLE: &'static str = r#"[probe.hub_gateway_process]
lessons = [3, 25]
every = "1m"
# exactly one hub gateway, owned by the hub user, with the hub's HOME (lesson 3: `sudo -u`
# without HOME made the agent read the wrong SOUL.md), started by a service manager
argv_matches = 'openclaw(-gateway)?\s.*gateway run'
user = "hub"
min_count = 1
max_count = 1
expect_home = "/home/hub"
require_supervisor = true
"#;

    fn validate(&self) -> Vec<Invalid> {
        let mut bad = Vec::new();
        if self.name.is_none() && self.argv_matches.is_none() {
            bad.push(Invalid::new(
                "name",
                "expected `name` or `argv_matches` to select processes",
            ));
        }
        if let Some(n) = &self.name
            && n.is_empty()
        {
            bad.push(Invalid::new("name", "must not be empty"));
        }
        if let Some(re) = &self.argv_matches {
            Invalid::require_regex(&mut bad, "argv_matches", re);
        }
        if let Some(UserSpec::Name(n)) = &self.user
            && n.is_empty()
        {
            bad.push(Invalid::new("user", "expected a user name or uid"));
        }
        for (key, u) in [("user", &self.user), ("owned_by", &self.owned_by)] {
            bad.extend(u.as_ref().and_then(|u| u.invalid(key)));
        }
        if let Some(max) = self.max_count
            && max < self.min_count
        {
            bad.push(Invalid::new(
                "max_count",
                format!("must be at least min_count ({})", self.min_count),
            ));
        }
        if let Some(h) = &self.expect_home
            && !h.starts_with('/')
        {
            bad.push(Invalid::new("expect_home", "expected an absolute path"));
        }
        bad
    }

    async fn observe(&self, cx: &ProbeCx<'_>) -> Observation {
        if let Some(o) = cx.live_host("processes") {
            return o;
        }
        if !cfg!(target_os = "linux") && self.proc_root == super::proc_root() {
            return Observation::unsupported_os("linux");
        }
        let this = self.clone();
        match tokio::task::spawn_blocking(move || this.look()).await {
            Ok(o) => o,
            Err(e) => Observation::unknown(format!("process scan failed: {e}")),
        }
    }
}

/// What was read about one matching process.
struct Proc {
    pid: u32,
    uid: Option<u32>,
    argv: String,
    /// `Ok(Some(home))`, `Ok(None)` when HOME is unset, `Err` when environ is unreadable.
    home: Result<Option<String>, String>,
}

impl Process {
    fn look(&self) -> Observation {
        let tree = ProcTree::at(&self.proc_root);
        let pids = match tree.pids() {
            Ok(p) => p,
            Err(e) => {
                return Observation::unknown(e).evidence("proc_root", self.proc_root.display());
            }
        };
        let argv_re = match self.argv_matches.as_deref().map(regex::Regex::new) {
            Some(Ok(r)) => Some(r),
            Some(Err(e)) => return Observation::unknown(format!("invalid argv_matches: {e}")),
            None => None,
        };
        let owner = match self.owned_by.as_ref().filter(|u| !u.is_empty()) {
            None => None,
            Some(u) => match u.uid() {
                Some(uid) => Some(uid),
                None => {
                    return Observation::unknown(format!(
                        "owned_by: user {} does not exist on this host",
                        u.label()
                    ));
                }
            },
        };

        let mut found = Vec::new();
        for pid in pids {
            // A process can exit between listing and reading: skip what vanished.
            let Some(comm) = tree.comm(pid) else {
                continue;
            };
            if self.name.as_ref().is_some_and(|n| *n != comm) {
                continue;
            }
            let argv = tree.cmdline(pid).unwrap_or_default();
            if argv_re.as_ref().is_some_and(|r| !r.is_match(&argv)) {
                continue;
            }
            let status = tree.status(pid).unwrap_or_default();
            let uid = status_field(&status, "Uid")
                .and_then(|v| v.split_whitespace().next()?.parse().ok());
            if owner.is_some() && uid != owner {
                continue;
            }
            let home = if self.expect_home.is_some() {
                tree.environ_var(pid, "HOME")
            } else {
                Ok(None)
            };
            found.push(Proc {
                pid,
                uid,
                argv,
                home,
            });
        }
        self.judge(&found)
    }

    /// Judges the matching processes: their count, user, HOME and supervisor.
    fn judge(&self, found: &[Proc]) -> Observation {
        let mut problems: Vec<(Health, String)> = Vec::new();
        let mut undetermined: Vec<String> = Vec::new();
        let n = found.len();
        let pid_list = found
            .iter()
            .map(|p| p.pid.to_string())
            .collect::<Vec<_>>()
            .join(", ");

        if n < self.min_count {
            problems.push((
                Health::Critical,
                if n == 0 {
                    "no process matches".to_string()
                } else {
                    format!(
                        "{n} processes match, expected at least {} (pids {pid_list})",
                        self.min_count
                    )
                },
            ));
        }
        if let Some(max) = self.max_count
            && n > max
        {
            problems.push((
                Health::Critical,
                format!("{n} processes match, expected at most {max} (pids {pid_list})"),
            ));
        }

        self.check_user(found, &mut problems, &mut undetermined);

        self.check_home(found, &mut problems, &mut undetermined);

        let orphans = self.check_supervisors(found, &mut problems, &mut undetermined);

        let mut obs = if let Some(o) = super::of_problems(&problems) {
            o
        } else if !undetermined.is_empty() {
            Observation::unknown(format!(
                "{n} matching processes; {}",
                undetermined.join("; ")
            ))
        } else {
            Observation::ok(format!("{n} matching processes (pids {pid_list})"))
        };
        obs = obs
            .expected(self.expectation())
            .metric("matching_processes", n as f64);
        if !problems.is_empty() {
            for u in &undetermined {
                obs = obs.evidence("not_judged", u);
            }
        }
        if !found.is_empty() {
            obs = obs.evidence("pids", &pid_list);
        }
        for p in found.iter().take(MAX_LISTED) {
            let mut desc = format!(
                "user {}; argv {}",
                users::describe(p.uid),
                redact_argv(&p.argv)
            );
            if let Ok(Some(h)) = &p.home {
                desc.push_str(&format!("; HOME {h}"));
            }
            if orphans.contains(&p.pid) {
                desc.push_str("; no service manager among ancestors");
            }
            obs = obs.evidence(format!("pid {}", p.pid), desc);
        }
        obs
    }

    /// `user`: every matching process runs as that user (undetermined when the user does not
    /// exist on this host).
    fn check_user(
        &self,
        found: &[Proc],
        problems: &mut Vec<(Health, String)>,
        undetermined: &mut Vec<String>,
    ) {
        if let Some(user) = &self.user {
            match user.uid() {
                Some(want) => {
                    let wrong: Vec<String> = found
                        .iter()
                        .filter(|p| p.uid != Some(want))
                        .map(|p| format!("{} as {}", p.pid, users::describe(p.uid)))
                        .collect();
                    if !wrong.is_empty() {
                        problems.push((
                            Health::Critical,
                            format!(
                                "wrong user: pid {} (expected {})",
                                wrong.join(", "),
                                users::describe(Some(want))
                            ),
                        ));
                    }
                }
                None => {
                    undetermined.push(format!("user {} does not exist on this host", user.label()))
                }
            }
        }
    }

    /// `expect_home`: every matching process has that HOME in its environment.
    fn check_home(
        &self,
        found: &[Proc],
        problems: &mut Vec<(Health, String)>,
        undetermined: &mut Vec<String>,
    ) {
        if let Some(want) = &self.expect_home {
            let mut wrong = Vec::new();
            for p in found {
                match &p.home {
                    Ok(Some(h)) if h == want => {}
                    Ok(Some(h)) => wrong.push(format!("{} has HOME={h}", p.pid)),
                    Ok(None) => wrong.push(format!("{} has no HOME", p.pid)),
                    Err(e) => {
                        undetermined.push(format!("cannot read environ of pid {}: {e}", p.pid))
                    }
                }
            }
            if !wrong.is_empty() {
                problems.push((
                    Health::Critical,
                    format!("HOME mismatch: pid {} (expected {want})", wrong.join(", ")),
                ));
            }
        }
    }

    /// `require_supervisor`: every matching process has a service manager among its
    /// ancestors; returns the orphans' pids.
    fn check_supervisors(
        &self,
        found: &[Proc],
        problems: &mut Vec<(Health, String)>,
        undetermined: &mut Vec<String>,
    ) -> Vec<u32> {
        let mut orphans: Vec<u32> = Vec::new();
        if !self.require_supervisor {
            return orphans;
        }
        for p in found {
            match self.supervised(p.pid) {
                Ok(true) => {}
                Ok(false) => orphans.push(p.pid),
                Err(e) => undetermined.push(e),
            }
        }
        if !orphans.is_empty() {
            let list = orphans
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(", ");
            problems.push((
                Health::Degraded,
                format!("orphan not under a service manager: pid {list}"),
            ));
        }
        orphans
    }

    fn expectation(&self) -> String {
        let mut parts = Vec::new();
        match self.max_count {
            Some(max) if max == self.min_count => parts.push(format!("exactly {max} matching")),
            Some(max) => parts.push(format!("{}..={max} matching", self.min_count)),
            None => parts.push(format!("at least {} matching", self.min_count)),
        }
        if let Some(n) = &self.name {
            parts.push(format!("comm {n}"));
        }
        if let Some(r) = &self.argv_matches {
            parts.push(format!("argv /{r}/"));
        }
        if let Some(u) = &self.user {
            parts.push(format!("user {}", u.label()));
        }
        if let Some(h) = &self.expect_home {
            parts.push(format!("HOME {h}"));
        }
        if self.require_supervisor {
            parts.push("under a service manager".into());
        }
        parts.join(", ")
    }

    /// Supervised when the process's cgroup names a systemd `.service` unit; an orphan when
    /// systemd runs the host and the process sits in a login session's `.scope` (started by hand,
    /// `nohup`, reparented to PID 1). Without cgroup information, follows PPid up to PID 1 looking
    /// for a service manager. `Err` when the chain cannot be read.
    fn supervised(&self, pid: u32) -> Result<bool, String> {
        let tree = ProcTree::at(&self.proc_root);
        if let Some(cg) = tree.cgroup(pid)
            && !cg.is_empty()
        {
            let paths: Vec<&str> = cg.lines().filter_map(|l| l.splitn(3, ':').nth(2)).collect();
            if paths
                .iter()
                .any(|p| p.split('/').any(|seg| seg.ends_with(".service")))
            {
                return Ok(true);
            }
            let init = tree.comm(1).unwrap_or_default();
            if init == "systemd"
                && paths
                    .iter()
                    .any(|p| p.split('/').any(|seg| seg.ends_with(".scope")))
            {
                return Ok(false);
            }
        }
        let mut cur = pid;
        for _ in 0..MAX_DEPTH {
            let status = tree
                .status(cur)
                .map_err(|e| format!("cannot trace ancestry of pid {pid} at pid {cur}: {e}"))?;
            let ppid: u32 = status_field(&status, "PPid")
                .and_then(|v| v.trim().parse().ok())
                .ok_or_else(|| format!("no PPid for pid {cur} (ancestry of pid {pid})"))?;
            if cur != pid {
                let comm = tree.comm(cur).unwrap_or_default();
                if MANAGERS.contains(&comm.as_str())
                    || (cur == 1 && INIT_MANAGERS.contains(&comm.as_str()))
                {
                    return Ok(true);
                }
            }
            if cur == 1 || ppid == 0 {
                return Ok(false);
            }
            cur = ppid;
        }
        Err(format!("ancestry of pid {pid} deeper than {MAX_DEPTH}"))
    }
}

/// Replaces values after secret-looking flags and of secret-looking `KEY=value` arguments, then
/// truncates.
fn redact_argv(argv: &str) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut hide_next = false;
    for arg in argv.split(' ') {
        if hide_next {
            out.push("[redacted]".into());
            hide_next = false;
            continue;
        }
        if let Some(flag) = arg.strip_prefix('-') {
            let flag = flag.trim_start_matches('-');
            let (name, value) = match flag.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (flag, None),
            };
            if SECRET_FLAGS.contains(&name.to_ascii_lowercase().as_str()) {
                match value {
                    Some(_) => out.push(format!(
                        "{}=[redacted]",
                        &arg[..arg.len() - flag.len() + name.len()]
                    )),
                    None => {
                        out.push(arg.to_string());
                        hide_next = true;
                    }
                }
                continue;
            }
        } else if let Some((k, _)) = arg.split_once('=') {
            let upper = k.to_ascii_uppercase();
            if SECRET_WORDS.iter().any(|w| upper.contains(w)) {
                out.push(format!("{k}=[redacted]"));
                continue;
            }
        }
        out.push(arg.to_string());
    }
    crate::redact::truncate(&out.join(" "), MAX_ARGV_CHARS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::testkit::{self, assert_finding, look};
    use std::path::Path;
    use std::time::Duration;

    fn probe(src: &str) -> Process {
        testkit::parse(src)
    }

    struct Fake<'a> {
        pid: u32,
        ppid: u32,
        comm: &'a str,
        argv: &'a [&'a str],
        uid: u32,
        env: Option<&'a [&'a str]>,
    }

    fn write_proc(root: &Path, f: &Fake<'_>) {
        let dir = root.join(f.pid.to_string());
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("comm"), format!("{}\n", f.comm)).unwrap();
        let mut cmd = Vec::new();
        for a in f.argv {
            cmd.extend_from_slice(a.as_bytes());
            cmd.push(0);
        }
        std::fs::write(dir.join("cmdline"), cmd).unwrap();
        std::fs::write(
            dir.join("status"),
            format!(
                "Name:\t{}\nState:\tS (sleeping)\nPid:\t{}\nPPid:\t{}\nUid:\t{u}\t{u}\t{u}\t{u}\n",
                f.comm,
                f.pid,
                f.ppid,
                u = f.uid
            ),
        )
        .unwrap();
        match f.env {
            Some(vars) => {
                let mut env = Vec::new();
                for v in vars {
                    env.extend_from_slice(v.as_bytes());
                    env.push(0);
                }
                std::fs::write(dir.join("environ"), env).unwrap();
            }
            // An unreadable environ: a directory cannot be read as a file, even by root.
            None => std::fs::create_dir_all(dir.join("environ")).unwrap(),
        }
    }

    /// PID 1 `init`-less container: tini as PID 1, a supervised gateway under systemd-like
    /// supervisord, and an orphan reparented to PID 1.
    fn tree(pid1: &str) -> tempfile::TempDir {
        let t = tempfile::tempdir().unwrap();
        let r = t.path();
        write_proc(
            r,
            &Fake {
                pid: 1,
                ppid: 0,
                comm: pid1,
                argv: &[pid1],
                uid: 0,
                env: Some(&[]),
            },
        );
        write_proc(
            r,
            &Fake {
                pid: 50,
                ppid: 1,
                comm: "supervisord",
                argv: &["supervisord"],
                uid: 0,
                env: Some(&[]),
            },
        );
        write_proc(
            r,
            &Fake {
                pid: 100,
                ppid: 50,
                comm: "openclaw-gatewa",
                argv: &[
                    "node",
                    "/opt/openclaw/bin/openclaw",
                    "gateway",
                    "run",
                    "--token",
                    "s3cr3t-tok",
                    "OPENAI_API_KEY=sk-live-1",
                ],
                uid: 0,
                env: Some(&[
                    "PATH=/usr/bin",
                    "HOME=/root",
                    "OPENAI_API_KEY=sk-env-secret",
                ]),
            },
        );
        t
    }

    #[tokio::test]
    async fn fixture_ok_with_redacted_argv_and_home_only() {
        let t = tree("tini");
        let p = probe(&format!(
            r#"proc_root = "{}"
argv_matches = 'openclaw gateway run'
user = "root"
min_count = 1
max_count = 1
expect_home = "/root"
require_supervisor = true"#,
            t.path().display()
        ));
        let o = look(&p).await;
        assert_eq!(o.health, Health::Ok, "{o:?}");
        let all = format!("{:?}", o.evidence);
        testkit::assert_contains(&all, &["HOME /root"]);
        testkit::assert_lacks(&all, &["s3cr3t", "sk-live", "sk-env"]);
        testkit::assert_contains(&all, &["--token [redacted]", "OPENAI_API_KEY=[redacted]"]);
    }

    #[tokio::test]
    async fn owned_by_counts_one_agent_users_gateways_only() {
        let t = tree("tini");
        // another agent's gateway, run by uid 1002
        write_proc(
            t.path(),
            &Fake {
                pid: 900,
                ppid: 1,
                comm: "openclaw-gatewa",
                argv: &["openclaw-gateway", "openclaw", "gateway", "run"],
                uid: 1002,
                env: Some(&["HOME=/home/retail"]),
            },
        );
        let src = |owned: &str| {
            format!(
                "proc_root = \"{}\"\nargv_matches = 'openclaw gateway run'\nmin_count = 1\nmax_count = 1\n{owned}",
                t.path().display()
            )
        };
        // (owned_by line, health, what the summary says)
        let cases = [
            ("", Health::Critical, "2 processes match"),
            ("owned_by = 1002", Health::Ok, ""),
            ("owned_by = \"root\"", Health::Ok, ""),
            ("owned_by = 4242", Health::Critical, "no process matches"),
            ("owned_by = \"\"", Health::Critical, ""),
            ("owned_by = \"no-such-user-xyz\"", Health::Unknown, ""),
        ];
        for (owned, health, says) in cases {
            let o = look(&probe(&src(owned))).await;
            assert_eq!(o.health, health, "{owned:?}: {o:?}");
            assert_finding(&o, health, says);
        }
    }

    #[tokio::test]
    async fn fixture_critical_count_user_home_and_degraded_orphan() {
        let t = tree("tini");
        // a second gateway, orphaned to PID 1 (tini is no service manager), wrong user and HOME
        write_proc(
            t.path(),
            &Fake {
                pid: 200,
                ppid: 1,
                comm: "openclaw-gatewa",
                argv: &[
                    "node",
                    "/opt/openclaw/bin/openclaw",
                    "gateway",
                    "run",
                    "--password=hunter22",
                ],
                uid: 4242,
                env: Some(&["HOME=/var/empty"]),
            },
        );
        let root = t.path().display();
        let two = probe(&format!(
            "proc_root = \"{root}\"\nargv_matches = 'openclaw gateway run'\nmax_count = 1"
        ));
        let o = look(&two).await;
        assert_finding(&o, Health::Critical, "at most 1 (pids 100, 200)");
        assert!(!format!("{:?}", o.evidence).contains("hunter22"));

        let user = probe(&format!(
            "proc_root = \"{root}\"\nargv_matches = 'gateway run'\nuser = 0"
        ));
        let o = look(&user).await;
        assert_finding(&o, Health::Critical, "wrong user: pid 200 as uid 4242");

        let home = probe(&format!(
            "proc_root = \"{root}\"\nargv_matches = 'gateway run'\nexpect_home = \"/root\""
        ));
        let o = look(&home).await;
        assert_finding(&o, Health::Critical, "200 has HOME=/var/empty");

        let orphan = probe(&format!(
            "proc_root = \"{root}\"\nargv_matches = 'gateway run'\nrequire_supervisor = true"
        ));
        let o = look(&orphan).await;
        assert_eq!(o.health, Health::Degraded);
        assert_eq!(o.summary, "orphan not under a service manager: pid 200");

        // with systemd as PID 1 a reparented process counts as supervised
        let t2 = tree("systemd");
        write_proc(
            t2.path(),
            &Fake {
                pid: 300,
                ppid: 1,
                comm: "sleep",
                argv: &["sleep"],
                uid: 0,
                env: Some(&[]),
            },
        );
        let sup = probe(&format!(
            "proc_root = \"{}\"\nname = \"sleep\"\nrequire_supervisor = true",
            t2.path().display()
        ));
        assert_eq!(look(&sup).await.health, Health::Ok);

        // ...unless its cgroup says it was started from a login session (nohup'd by hand)
        std::fs::write(
            t2.path().join("300/cgroup"),
            "0::/user.slice/user-0.slice/session-3.scope\n",
        )
        .unwrap();
        let o = look(&sup).await;
        assert_eq!(o.health, Health::Degraded, "{o:?}");
        // a process in a systemd service's cgroup is supervised
        std::fs::write(
            t2.path().join("300/cgroup"),
            "0::/system.slice/openclaw-gateway.service\n",
        )
        .unwrap();
        assert_eq!(look(&sup).await.health, Health::Ok);

        let none = probe(&format!("proc_root = \"{root}\"\nname = \"hermes\""));
        let o = look(&none).await;
        assert_eq!(o.health, Health::Critical);
        assert_eq!(o.summary, "no process matches");
    }

    #[tokio::test]
    async fn unknown_when_home_unreadable_or_root_missing() {
        let t = tree("tini");
        write_proc(
            t.path(),
            &Fake {
                pid: 400,
                ppid: 50,
                comm: "hermes",
                argv: &["hermes", "gateway"],
                uid: 0,
                env: None,
            },
        );
        let p = probe(&format!(
            "proc_root = \"{}\"\nname = \"hermes\"\nexpect_home = \"/root\"",
            t.path().display()
        ));
        let o = look(&p).await;
        assert_finding(&o, Health::Unknown, "cannot read environ of pid 400");

        // another problem wins over the unreadable environ
        let p = probe(&format!(
            "proc_root = \"{}\"\nname = \"hermes\"\nexpect_home = \"/root\"\nmin_count = 2",
            t.path().display()
        ));
        assert_eq!(look(&p).await.health, Health::Critical);

        let gone = probe("proc_root = \"/nonexistent-ledgerd-proc\"\nname = \"x\"");
        assert_eq!(look(&gone).await.health, Health::Unknown);
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn live_proc_finds_a_spawned_child() {
        use std::os::unix::process::CommandExt as _;
        let tag = format!("ledgerd-test-xyz-{}", std::process::id());
        let mut cmd = std::process::Command::new("sleep");
        cmd.arg0(&tag).arg("30");
        let mut child = tokio::process::Command::from(cmd)
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let pid = child.id().unwrap();
        let p = probe(&format!(
            "argv_matches = '^{tag} 30$'\nmin_count = 1\nmax_count = 1\nuser = {}",
            nix::unistd::getuid().as_raw()
        ));
        let o = tokio::time::timeout(Duration::from_secs(10), look(&p))
            .await
            .unwrap();
        child.kill().await.unwrap();
        assert_eq!(o.health, Health::Ok, "{o:?}");
        assert!(
            o.evidence
                .iter()
                .any(|e| e.key == "pids" && e.value == pid.to_string()),
            "{o:?}"
        );
    }

    #[test]
    fn argv_redaction() {
        assert_eq!(
            redact_argv("gw --api-key abc --port 18789 --token=xyz DB_PASSWORD=p X=1"),
            "gw --api-key [redacted] --port 18789 --token=[redacted] DB_PASSWORD=[redacted] X=1"
        );
    }
}
