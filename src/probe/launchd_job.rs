//! `launchd_job`: audits one launchd job plist on the Mac mini (lesson 3, "service managers are
//! part of the app"). It owns reading the plist (XML or binary, via the `plist` crate) and judging
//! the contract an OpenClaw agent needs: HOME set and equal to the home of UserName, PATH holding
//! the runtime directories, RunAtLoad and KeepAlive on, LaunchDaemon vs LaunchAgent matching the
//! GUI need, log directories that exist and are writable, and on macOS the job's last exit code
//! from `launchctl print`. It must not load, unload, kickstart or edit the job, and it shows
//! environment variable names only (HOME and PATH are paths, every other value may be a secret).

use super::{Health, Invalid, Observation, Probe, ProbeCx};
use crate::exec::{self, ExecSpec};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The PATH launchd gives a job that sets none.
const LAUNCHD_DEFAULT_PATH: &str = "/usr/bin:/bin:/usr/sbin:/sbin";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LaunchdJob {
    /// Path of the job's plist, e.g. "/Library/LaunchDaemons/ai.openclaw.hub.plist". Required.
    plist: PathBuf,
    /// Where the job is installed: "daemon" (LaunchDaemons, system domain) or "agent"
    /// (LaunchAgents, the user's GUI session). Default: inferred from the path; required when
    /// the path names neither.
    domain: Option<Domain>,
    /// The job needs the user's GUI session (WhatsApp QR pairing, a browser). Default false.
    #[serde(default)]
    needs_gui: bool,
    /// Directories the job's PATH must contain, e.g. ["/opt/homebrew/bin"]; a missing one is
    /// degraded. Default none.
    #[serde(default)]
    runtime_dirs: Vec<String>,
    /// UserName the job must run as; another user (or none, i.e. root) is critical. Default: not
    /// checked.
    expect_user: Option<String>,
    /// Parent of home directories, used for `<home_root>/<UserName>` when the user does not
    /// exist on the host running the probe. Default "/Users".
    #[serde(default = "default_home_root")]
    home_root: PathBuf,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum Domain {
    Daemon,
    Agent,
}

impl Domain {
    fn infer(p: &Path) -> Option<Domain> {
        let s = p.to_string_lossy();
        if s.contains("LaunchDaemons") {
            Some(Domain::Daemon)
        } else if s.contains("LaunchAgents") {
            Some(Domain::Agent)
        } else {
            None
        }
    }
}

fn default_home_root() -> PathBuf {
    PathBuf::from("/Users")
}

impl Probe for LaunchdJob {
    const KIND: &'static str = "launchd_job";
    const SUMMARY: &'static str = "audit a launchd plist: HOME of UserName, PATH, RunAtLoad/KeepAlive, daemon vs agent, log dirs, last exit";
    const LESSONS: &'static [u32] = &[3];
    const EXAMPLE: &'static str = r#"[probe.cs_gateway_launchd]
lesson = 3
every = "10m"
# the CS agent's gateway runs headless as the macOS user "cs" (lesson 3: a daemon without HOME
# starts but cannot find SOUL.md or its knowledge base)
plist = "/Library/LaunchDaemons/ai.openclaw.cs.plist"
domain = "daemon"
needs_gui = false
runtime_dirs = ["/opt/homebrew/bin"]
expect_user = "cs"
home_root = "/Users"
"#;

    fn validate(&self) -> Vec<Invalid> {
        let mut bad = Vec::new();
        if self.plist.as_os_str().is_empty() {
            bad.push(Invalid::new("plist", "must be the path of the job's plist"));
        } else if self.domain.is_none() && Domain::infer(&self.plist).is_none() {
            bad.push(Invalid::new(
                "domain",
                "expected \"daemon\" or \"agent\" when the plist path names neither LaunchDaemons nor LaunchAgents",
            ));
        }
        for (i, d) in self.runtime_dirs.iter().enumerate() {
            if !d.starts_with('/') {
                bad.push(Invalid::new(
                    format!("runtime_dirs[{i}]"),
                    "expected an absolute directory",
                ));
            }
        }
        if let Some(u) = &self.expect_user
            && u.trim().is_empty()
        {
            bad.push(Invalid::new("expect_user", "expected a user name"));
        }
        bad
    }

    async fn observe(&self, cx: &ProbeCx<'_>) -> Observation {
        let path = cx.resolve(&self.plist);
        let Some(domain) = self.domain.or_else(|| Domain::infer(&path)) else {
            return Observation::unknown("cannot tell LaunchDaemon from LaunchAgent; set domain");
        };
        let p = path.clone();
        let dict = match super::blocking(move || read_plist(&p)).await {
            Ok(Ok(d)) => d,
            Ok(Err(o)) => return *o,
            Err(o) => return o,
        };

        let mut f: Vec<(Health, String)> = Vec::new();
        let mut ev: Vec<(String, String)> = vec![("plist".into(), path.display().to_string())];
        let label = dict.get("Label").and_then(|v| v.as_string());
        match label {
            Some(l) => ev.push(("label".into(), l.to_string())),
            None => f.push((Health::Critical, "no Label: launchd refuses the job".into())),
        }
        program_findings(&dict, &mut f, &mut ev);
        ev.push((
            "domain".into(),
            match domain {
                Domain::Daemon => "LaunchDaemon".into(),
                Domain::Agent => "LaunchAgent".into(),
            },
        ));
        let user = dict.get("UserName").and_then(|v| v.as_string());
        // under --root the job's user lives in the tree, not in this host's user database
        let host_user = self
            .judge_user(&dict, domain, &mut f, &mut ev)
            .filter(|_| cx.root().is_none());
        self.judge_environment(&dict, user, host_user.as_ref(), &mut f, &mut ev);
        self.judge_start_and_session(&dict, domain, &mut f);
        judge_log_dirs(&dict, domain, host_user.as_ref(), cx, &mut f);
        if cx.root().is_some() {
            ev.push(("launchctl".into(), super::NOT_UNDER_ROOT.into()));
        } else if cfg!(target_os = "macos") {
            if let Some(l) = label {
                judge_launchctl(l, domain, host_user.as_ref(), cx, &mut f, &mut ev).await;
            }
        } else {
            ev.push((
                "launchctl".into(),
                "launchctl not available; judged from the plist only".into(),
            ));
        }

        f.sort_by_key(|(h, _)| std::cmp::Reverse(h.rank()));
        let label = label.unwrap_or("job");
        let mut o = super::of_problems(&f)
            .unwrap_or_else(|| Observation::ok(format!("{label} is set up for its service manager")))
            .expected(
            "HOME = home of UserName, PATH with runtime dirs, RunAtLoad and KeepAlive, daemon/agent matching GUI need",
        );
        for (k, v) in ev {
            o.push_evidence(k, v);
        }
        o
    }
}

/// Reads and parses the plist through the bounded reader (at most `read::SMALL` bytes; a job
/// plist is a few KiB). Missing is critical (the job is not installed); a FIFO, device or
/// oversized file is unknown, and so is a plist nested or expanding past `plistdoc`'s bounds; a
/// file that looks like a plist but does not parse is critical
/// (launchd refuses it); anything else is unknown ("not a plist").
fn read_plist(path: &Path) -> Result<plist::Dictionary, Box<Observation>> {
    let bytes = match crate::read::bytes(path, crate::read::SMALL) {
        Ok(b) => b,
        Err(e) if e.is_missing() => {
            return Err(Box::new(
                Observation::critical(format!("job not installed: {} missing", path.display()))
                    .expected("the job's plist installed")
                    .evidence("plist", path.display()),
            ));
        }
        Err(e) => return Err(Box::new(super::unreadable("plist", &e))),
    };
    // nesting or expansion past the shared bounds: not judged (the crate would overflow the
    // stack or build billions of values)
    if let Err(e) = crate::plistdoc::shape(&bytes) {
        return Err(Box::new(
            Observation::unknown(format!("{}: {e}", path.display()))
                .expected("a launchd job plist")
                .evidence("plist", path.display()),
        ));
    }
    let value = match crate::plistdoc::parse(&bytes) {
        Ok(v) => v,
        Err(e) if looks_like_plist(&bytes) => {
            return Err(Box::new(
                Observation::critical(format!("unparseable plist: {e}"))
                    .expected("a valid XML or binary plist")
                    .evidence("plist", path.display()),
            ));
        }
        Err(_) => {
            return Err(Box::new(
                Observation::unknown(format!(
                    "{}: not a plist (neither XML with a <plist> element nor a binary plist)",
                    path.display()
                ))
                .expected("a launchd job plist")
                .evidence("plist", path.display()),
            ));
        }
    };
    match value {
        plist::Value::Dictionary(d) => Ok(d),
        _ => Err(Box::new(
            Observation::critical("plist root is not a dictionary")
                .evidence("plist", path.display()),
        )),
    }
}

/// A binary plist, or XML whose first kilobyte names a plist.
fn looks_like_plist(bytes: &[u8]) -> bool {
    if bytes.starts_with(b"bplist") {
        return true;
    }
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(1024)]);
    let head = head.trim_start_matches('\u{feff}').trim_start();
    head.starts_with('<') && (head.contains("<plist") || head.contains("<!DOCTYPE plist"))
}

impl LaunchdJob {
    /// UserName against `expect_user`; returns the job user's host account, when it exists.
    fn judge_user(
        &self,
        dict: &plist::Dictionary,
        domain: Domain,
        f: &mut Vec<(Health, String)>,
        ev: &mut Vec<(String, String)>,
    ) -> Option<nix::unistd::User> {
        let user = dict.get("UserName").and_then(|v| v.as_string());
        if let Some(u) = user {
            ev.push(("user_name".into(), u.to_string()));
        }
        if let Some(want) = &self.expect_user {
            match user {
                Some(u) if u == want => {}
                Some(u) => f.push((
                    Health::Critical,
                    format!("UserName is {u}, expected {want}"),
                )),
                None if domain == Domain::Daemon => f.push((
                    Health::Critical,
                    format!("no UserName: the daemon runs as root, expected {want}"),
                )),
                None => {}
            }
        }
        user.and_then(|u| nix::unistd::User::from_name(u).ok().flatten())
    }

    /// HOME (present, equal to UserName's home) and PATH (holding `runtime_dirs`). HOME and
    /// PATH values are shown, other values never.
    fn judge_environment(
        &self,
        dict: &plist::Dictionary,
        user: Option<&str>,
        host_user: Option<&nix::unistd::User>,
        f: &mut Vec<(Health, String)>,
        ev: &mut Vec<(String, String)>,
    ) {
        let env: BTreeMap<String, String> = dict
            .get("EnvironmentVariables")
            .and_then(|v| v.as_dictionary())
            .map(|d| {
                d.iter()
                    .map(|(k, v)| (k.clone(), v.as_string().unwrap_or("").to_string()))
                    .collect()
            })
            .unwrap_or_default();
        if !env.is_empty() {
            ev.push((
                "environment_names".into(),
                env.keys().cloned().collect::<Vec<_>>().join(", "),
            ));
        }
        match env.get("HOME") {
            None => f.push((
                Health::Critical,
                "EnvironmentVariables.HOME missing: the agent starts without its home".into(),
            )),
            Some(home) => {
                ev.push(("home".into(), home.clone()));
                if let Some(u) = user {
                    // the host's user database only describes the job's user when this host is
                    // the Mac the plist belongs to; elsewhere (auditing a copied plist on Linux)
                    // macOS conventions apply: root's home is /var/root
                    let expected = host_user
                        .filter(|_| cfg!(target_os = "macos"))
                        .map(|h| h.dir.clone())
                        .unwrap_or_else(|| {
                            if u == "root" {
                                PathBuf::from("/var/root")
                            } else {
                                self.home_root.join(u)
                            }
                        });
                    if Path::new(home.trim_end_matches('/')) != expected {
                        f.push((
                            Health::Critical,
                            format!("HOME is {home} but {u}'s home is {}", expected.display()),
                        ));
                    }
                }
            }
        }
        let job_path = env
            .get("PATH")
            .cloned()
            .unwrap_or_else(|| LAUNCHD_DEFAULT_PATH.to_string());
        ev.push((
            "path".into(),
            if env.contains_key("PATH") {
                job_path.clone()
            } else {
                format!("{job_path} (not set; launchd default)")
            },
        ));
        let missing: Vec<&str> = self
            .runtime_dirs
            .iter()
            .filter(|d| {
                !job_path
                    .split(':')
                    .any(|p| p.trim_end_matches('/') == d.trim_end_matches('/'))
            })
            .map(String::as_str)
            .collect();
        if !missing.is_empty() {
            f.push((
                Health::Degraded,
                format!("PATH lacks {}", missing.join(", ")),
            ));
        }
    }

    /// RunAtLoad and KeepAlive on; LaunchDaemon vs LaunchAgent matching the GUI need.
    fn judge_start_and_session(
        &self,
        dict: &plist::Dictionary,
        domain: Domain,
        f: &mut Vec<(Health, String)>,
    ) {
        if dict.get("RunAtLoad").and_then(|v| v.as_boolean()) != Some(true) {
            f.push((
                Health::Degraded,
                "RunAtLoad is not true: the job does not start at boot".into(),
            ));
        }
        let keep_alive = match dict.get("KeepAlive") {
            Some(plist::Value::Boolean(b)) => *b,
            Some(plist::Value::Dictionary(d)) => !d.is_empty(),
            _ => false,
        };
        if !keep_alive {
            f.push((
                Health::Degraded,
                "KeepAlive is false or absent: a crash stays down".into(),
            ));
        }
        let aqua = match dict.get("LimitLoadToSessionType") {
            Some(plist::Value::String(s)) => s == "Aqua",
            Some(plist::Value::Array(a)) => a.iter().any(|v| v.as_string() == Some("Aqua")),
            _ => false,
        };
        match domain {
            Domain::Daemon if self.needs_gui => f.push((
                Health::Critical,
                "needs a GUI session but is installed as a LaunchDaemon".into(),
            )),
            Domain::Daemon if aqua => f.push((
                Health::Critical,
                "LimitLoadToSessionType Aqua under LaunchDaemons: the job never loads".into(),
            )),
            Domain::Agent if !self.needs_gui => f.push((
                Health::Degraded,
                "headless job installed as a LaunchAgent: it runs only while the user is logged in"
                    .into(),
            )),
            _ => {}
        }
    }
}

/// StandardOutPath and StandardErrorPath directories exist and are writable by the job.
fn judge_log_dirs(
    dict: &plist::Dictionary,
    domain: Domain,
    host_user: Option<&nix::unistd::User>,
    cx: &ProbeCx<'_>,
    f: &mut Vec<(Health, String)>,
) {
    let user = dict.get("UserName").and_then(|v| v.as_string());
    let group = dict.get("GroupName").and_then(|v| v.as_string());
    let who = match (host_user, user, domain) {
        (Some(h), _, _) => {
            let gid = group
                .and_then(|g| nix::unistd::Group::from_name(g).ok().flatten())
                .map_or(h.gid.as_raw(), |g| g.gid.as_raw());
            Some((h.uid.as_raw(), gid))
        }
        (None, None, Domain::Daemon) => Some((0, 0)),
        _ => None,
    };
    for key in ["StandardOutPath", "StandardErrorPath"] {
        let Some(p) = dict.get(key).and_then(|v| v.as_string()) else {
            continue;
        };
        let shown = Path::new(p).parent().unwrap_or(Path::new("/"));
        let parent = cx.resolve_inner(shown, Path::new("/"));
        let parent = parent.as_path();
        match std::fs::metadata(parent) {
            Ok(m) if m.is_dir() => {
                // a copied tree's owners are whoever copied it: only existence is judged there
                if cx.root().is_none() && !writable_by(&m, who) {
                    f.push((
                        Health::Degraded,
                        format!(
                            "{key} directory {} is not writable by the job",
                            parent.display()
                        ),
                    ));
                }
            }
            Ok(_) => f.push((
                Health::Degraded,
                format!("{key} parent {} is not a directory", parent.display()),
            )),
            Err(e) => f.push((
                Health::Degraded,
                format!("{key} directory {} unusable: {e}", parent.display()),
            )),
        }
    }
}

/// The job's state and last exit code from `launchctl print` (macOS only).
async fn judge_launchctl(
    label: &str,
    domain: Domain,
    host_user: Option<&nix::unistd::User>,
    cx: &ProbeCx<'_>,
    f: &mut Vec<(Health, String)>,
    ev: &mut Vec<(String, String)>,
) {
    let target = match domain {
        Domain::Daemon => format!("system/{label}"),
        Domain::Agent => format!(
            "gui/{}/{label}",
            host_user.map_or(nix::unistd::getuid().as_raw(), |h| h.uid.as_raw())
        ),
    };
    match launchctl_print(&target, cx.timeout).await {
        Ok(text) => {
            let (state, last) = parse_launchctl_print(&text);
            if let Some(s) = state {
                ev.push(("state".into(), s));
            }
            if let Some(last) = last {
                ev.push(("last_exit_code".into(), last.clone()));
                if last_exit_nonzero(&last) {
                    f.push((Health::Critical, format!("last exit code {last}")));
                }
            }
        }
        Err(e) => f.push((
            if domain == Domain::Daemon {
                Health::Critical
            } else {
                Health::Degraded
            },
            format!("launchctl print {target}: {e}"),
        )),
    }
}

/// What the job runs: `Program` or `ProgramArguments[0]` (shown; the arguments may hold
/// secrets and are not), and the commands of an inline `sh -c` script, read by the shell reader.
fn program_findings(
    dict: &plist::Dictionary,
    f: &mut Vec<(Health, String)>,
    ev: &mut Vec<(String, String)>,
) {
    let argv: Vec<String> = dict
        .get("ProgramArguments")
        .and_then(|v| v.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_string().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    let program = dict
        .get("Program")
        .and_then(|v| v.as_string())
        .or(argv.first().map(String::as_str));
    match program {
        Some(p) => ev.push(("program".into(), p.to_string())),
        None => f.push((
            Health::Critical,
            "no Program or ProgramArguments: launchd has nothing to run".into(),
        )),
    }
    let Some(script) = crate::shell::inline_script(&argv) else {
        return;
    };
    let lexed = crate::shell::lex(script, 1);
    if let Some(why) = lexed.finding() {
        f.push((
            Health::Unknown,
            format!("ProgramArguments script not read: {why}"),
        ));
        return;
    }
    let mut runs: Vec<&str> = Vec::new();
    for c in &lexed.commands {
        let w = crate::shell::after_keywords(&c.words);
        let w = match w.first() {
            Some(x) if x == "exec" || x == "nohup" => &w[1..],
            _ => w,
        };
        if let Some(first) = w.first()
            && !first.contains('=')
            && !runs.contains(&first.as_str())
            && runs.len() < 10
        {
            runs.push(first);
        }
    }
    if !runs.is_empty() {
        ev.push(("script_runs".into(), runs.join(", ")));
    }
}

/// Whether a directory with metadata `m` is writable by `who` (uid, gid). For a user that does
/// not exist on this host only the owner and other write bits are considered.
fn writable_by(m: &std::fs::Metadata, who: Option<(u32, u32)>) -> bool {
    let mode = m.mode();
    match who {
        Some((0, _)) => true,
        Some((uid, gid)) => {
            (m.uid() == uid && mode & 0o200 != 0)
                || (m.gid() == gid && mode & 0o020 != 0)
                || mode & 0o002 != 0
        }
        None => mode & 0o200 != 0 || mode & 0o002 != 0,
    }
}

async fn launchctl_print(target: &str, timeout: Duration) -> Result<String, String> {
    let argv = [
        "/bin/launchctl".to_string(),
        "print".to_string(),
        target.to_string(),
    ];
    let spec = ExecSpec {
        argv: &argv,
        env: BTreeMap::new(),
        cwd: None,
        timeout,
        max_output_bytes: 256 * 1024,
    };
    match exec::run(&spec).await {
        Ok(o) if o.code == Some(0) => Ok(o.stdout),
        Ok(o) => Err(format!(
            "not loaded (exit {}): {}",
            o.exit(),
            o.first_error()
        )),
        Err(e) => Err(e.to_string()),
    }
}

/// `state = running` and `last exit code = 78: EX_CONFIG` from `launchctl print`.
fn parse_launchctl_print(text: &str) -> (Option<String>, Option<String>) {
    let mut state = None;
    let mut last = None;
    for line in text.lines() {
        let t = line.trim();
        if state.is_none()
            && let Some(v) = t.strip_prefix("state = ")
        {
            state = Some(v.trim().to_string());
        }
        if last.is_none()
            && let Some(v) = t.strip_prefix("last exit code = ")
        {
            last = Some(v.trim().to_string());
        }
    }
    (state, last)
}

/// "0" and "(never exited)" are fine; any other number is not.
fn last_exit_nonzero(last: &str) -> bool {
    let num: String = last
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '-')
        .collect();
    num.parse::<i64>().is_ok_and(|n| n != 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::testkit::{self, assert_finding, look};
    use std::os::unix::fs::PermissionsExt;

    fn fixture(rel: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/hosts/launchd")
            .join(rel)
    }

    fn probe(toml_src: &str) -> LaunchdJob {
        testkit::parse(toml_src)
    }

    /// The good fixture moved under a temp root: `/Users/` becomes `<tmp>/Users/`, installed in
    /// `<tmp>/Library/<dir>/`, with its log directory created. Returns (tmp, plist path).
    fn install(text_edit: impl Fn(String) -> String, dir: &str) -> (tempfile::TempDir, PathBuf) {
        let tmp = tempfile::tempdir().unwrap();
        let users = tmp.path().join("Users");
        let text = std::fs::read_to_string(fixture("good/ai.openclaw.cs.plist")).unwrap();
        let text = text_edit(text.replace("/Users/", &format!("{}/", users.display())));
        std::fs::create_dir_all(users.join("cs/cs")).unwrap();
        let lib = tmp.path().join("Library").join(dir);
        std::fs::create_dir_all(&lib).unwrap();
        let p = lib.join("ai.openclaw.cs.plist");
        std::fs::write(&p, text).unwrap();
        (tmp, p)
    }

    fn for_plist(tmp: &Path, plist: &Path, extra: &str) -> LaunchdJob {
        probe(&format!(
            "plist = {:?}\nhome_root = {:?}\nruntime_dirs = [\"/opt/homebrew/bin\"]\nexpect_user = \"cs\"\n{extra}",
            plist.display().to_string(),
            tmp.join("Users").display().to_string()
        ))
    }

    fn ev<'a>(o: &'a Observation, key: &str) -> Option<&'a str> {
        testkit::ev(o, key).first().copied()
    }

    #[tokio::test]
    async fn good_daemon_is_ok_and_hides_env_values() {
        let (tmp, p) = install(|t| t, "LaunchDaemons");
        let o = look(&for_plist(tmp.path(), &p, "")).await;
        if cfg!(target_os = "macos") {
            return; // launchctl would look at the real system domain
        }
        assert_eq!(o.health, Health::Ok, "{o:?}");
        assert_eq!(ev(&o, "label"), Some("ai.openclaw.cs"));
        assert_eq!(
            ev(&o, "launchctl"),
            Some("launchctl not available; judged from the plist only")
        );
        assert!(
            ev(&o, "environment_names")
                .unwrap()
                .contains("OPENCLAW_GATEWAY_TOKEN")
        );
        assert!(
            !o.evidence
                .iter()
                .any(|e| e.value.contains("fixture-not-a-real-token"))
        );
    }

    #[tokio::test]
    async fn inline_script_commands_and_deep_nesting() {
        let sh = |script: &str| {
            let script = script.to_string();
            move |t: String| {
                t.replace(
                    "<string>/opt/homebrew/bin/openclaw</string>",
                    &format!(
                        "<string>/bin/sh</string><string>-c</string><string>{script}</string>"
                    ),
                )
            }
        };
        let (tmp, p) = install(
            sh("cd /x &amp;&amp; exec openclaw gateway"),
            "LaunchDaemons",
        );
        let o = look(&for_plist(tmp.path(), &p, "")).await;
        assert_eq!(ev(&o, "program"), Some("/bin/sh"));
        assert_eq!(ev(&o, "script_runs"), Some("cd, openclaw"), "{o:?}");
        let deep = format!("{}echo{}", "$(".repeat(6000), ")".repeat(6000));
        let (tmp, p) = install(sh(&deep), "LaunchDaemons");
        let o = look(&for_plist(tmp.path(), &p, "")).await;
        assert_finding(&o, Health::Unknown, "deeper than 64 levels");
    }

    #[tokio::test]
    async fn binary_plist_is_read() {
        let (tmp, xml) = install(|t| t, "LaunchDaemons");
        let v = plist::Value::from_file(&xml).unwrap();
        let bin = xml.with_file_name("ai.openclaw.cs.binary.plist");
        v.to_file_binary(&bin).unwrap();
        assert_eq!(&std::fs::read(&bin).unwrap()[..6], b"bplist");
        let o = look(&for_plist(tmp.path(), &bin, "")).await;
        if !cfg!(target_os = "macos") {
            assert_eq!(o.health, Health::Ok, "{o:?}");
        }
    }

    #[tokio::test]
    async fn lesson3_fixture_without_home_is_critical() {
        let p = probe(&format!(
            "plist = {:?}\ndomain = \"daemon\"\nruntime_dirs = [\"/opt/homebrew/bin\"]",
            fixture("bad/ai.openclaw.hub.plist").display().to_string()
        ));
        let o = look(&p).await;
        assert_eq!(o.health, Health::Critical);
        let s = &o.summary;
        assert!(s.starts_with("EnvironmentVariables.HOME missing"), "{s}");
        testkit::assert_contains(s, &["PATH lacks /opt/homebrew/bin", "KeepAlive is false"]);
    }

    #[tokio::test]
    async fn home_of_another_user_and_wrong_user_are_critical() {
        let (tmp, p) = install(
            |t| t.replace("Users/cs</string>", "Users/hub</string>"),
            "LaunchDaemons",
        );
        let o = look(&for_plist(tmp.path(), &p, "")).await;
        assert_finding(&o, Health::Critical, "Users/hub but cs's home is");

        let (tmp, p) = install(|t| t, "LaunchDaemons");
        let job = probe(&format!(
            "plist = {:?}\nhome_root = {:?}\nexpect_user = \"hub\"",
            p.display().to_string(),
            tmp.path().join("Users").display().to_string()
        ));
        let o = look(&job).await;
        assert_finding(&o, Health::Critical, "UserName is cs, expected hub");
    }

    #[tokio::test]
    async fn degraded_path_runatload_and_log_dir() {
        let (tmp, p) = install(
            |t| {
                t.replace("/opt/homebrew/bin:", "")
                    .replace("<key>RunAtLoad</key>\n    <true/>\n", "")
            },
            "LaunchDaemons",
        );
        std::fs::set_permissions(
            tmp.path().join("Users/cs/cs"),
            std::fs::Permissions::from_mode(0o555),
        )
        .unwrap();
        let o = look(&for_plist(tmp.path(), &p, "")).await;
        if cfg!(target_os = "macos") {
            return;
        }
        assert_eq!(o.health, Health::Degraded, "{o:?}");
        let s = &o.summary;
        testkit::assert_contains(
            s,
            &[
                "PATH lacks /opt/homebrew/bin",
                "RunAtLoad is not true",
                "StandardOutPath directory",
                "not writable",
            ],
        );
    }

    #[tokio::test]
    async fn gui_need_versus_domain() {
        let (tmp, p) = install(|t| t, "LaunchDaemons");
        let o = look(&for_plist(tmp.path(), &p, "needs_gui = true")).await;
        assert_finding(
            &o,
            Health::Critical,
            "needs a GUI session but is installed as a LaunchDaemon",
        );

        let p = probe(&format!(
            "plist = {:?}\ndomain = \"daemon\"\nneeds_gui = true",
            fixture("bad/ai.openclaw.cs-whatsapp.plist")
                .display()
                .to_string()
        ));
        assert_eq!(look(&p).await.health, Health::Critical);
        let p = probe(&format!(
            "plist = {:?}\ndomain = \"daemon\"",
            fixture("bad/ai.openclaw.cs-whatsapp.plist")
                .display()
                .to_string()
        ));
        let o = look(&p).await;
        assert_finding(&o, Health::Critical, "LimitLoadToSessionType Aqua");

        let (tmp, p) = install(|t| t, "LaunchAgents");
        let o = look(&for_plist(tmp.path(), &p, "")).await;
        if !cfg!(target_os = "macos") {
            assert_finding(
                &o,
                Health::Degraded,
                "headless job installed as a LaunchAgent",
            );
            assert_eq!(ev(&o, "domain"), Some("LaunchAgent"));
        }
    }

    #[tokio::test]
    async fn missing_and_broken_plists_are_critical_unreadable_is_unknown() {
        let tmp = tempfile::tempdir().unwrap();
        let lib = tmp.path().join("LaunchDaemons");
        std::fs::create_dir_all(&lib).unwrap();
        let job = |name: &str| {
            probe(&format!(
                "plist = {:?}",
                lib.join(name).display().to_string()
            ))
        };
        let o = look(&job("ai.openclaw.hr.plist")).await;
        testkit::assert_starts(&o, Health::Critical, "job not installed");

        std::fs::write(lib.join("broken.plist"), "<plist><dict><key>Label</key>").unwrap();
        let o = look(&job("broken.plist")).await;
        testkit::assert_starts(&o, Health::Critical, "unparseable plist: ");

        std::fs::create_dir(lib.join("dir.plist")).unwrap();
        assert_eq!(look(&job("dir.plist")).await.health, Health::Unknown);

        // Issue 10 rows 2, 3 and 6: a FIFO, a device, a plist past the cap and junk are
        // unknown with the reason, read without blocking and never whole.
        nix::unistd::mkfifo(&lib.join("fifo.plist"), nix::sys::stat::Mode::S_IRWXU).unwrap();
        let o = look(&job("fifo.plist")).await;
        assert_finding(&o, Health::Unknown, "not a regular file (a FIFO)");
        std::os::unix::fs::symlink("/dev/zero", lib.join("zero.plist")).unwrap();
        let o = look(&job("zero.plist")).await;
        assert!(o.summary.contains("a character device"), "{}", o.summary);
        let big = std::fs::File::create(lib.join("big.plist")).unwrap();
        big.set_len(1 << 30).unwrap(); // sparse: 1 GiB of NULs
        let o = look(&job("big.plist")).await;
        assert_finding(&o, Health::Unknown, "truncated at 1048576 bytes");
        std::fs::write(lib.join("junk.plist"), "just some text = 1\n[Service]\n").unwrap();
        let o = look(&job("junk.plist")).await;
        assert_finding(&o, Health::Unknown, "not a plist");
    }

    #[test]
    fn launchctl_output_parses() {
        let text = "system/ai.openclaw.hub = {\n\tactive count = 0\n\tstate = not running\n\tlast exit code = 78: EX_CONFIG\n}\n";
        let (state, last) = parse_launchctl_print(text);
        assert_eq!(state.as_deref(), Some("not running"));
        assert!(last_exit_nonzero(last.as_deref().unwrap()));
        assert!(!last_exit_nonzero("(never exited)"));
        assert!(!last_exit_nonzero("0"));
    }

    #[test]
    fn validate_needs_a_domain_and_absolute_runtime_dirs() {
        let keys = testkit::invalid_keys::<LaunchdJob>(
            "plist = \"/tmp/x.plist\"\nruntime_dirs = [\"bin\"]",
        );
        assert_eq!(keys, vec!["domain", "runtime_dirs[0]"]);
    }
}
