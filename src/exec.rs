//! Running a read-only child process for a probe: argv only (never a shell), a clean environment,
//! a deadline, bounded output, and `which` over an explicit PATH. The child leads its own process
//! group, and the whole group is killed when the run ends (a timeout included), so nothing it
//! forked outlives it. It must not decide health; the
//! calling probe judges the output.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::AsyncReadExt;

/// cron's and launchd's default PATH: what a scheduled job sees unless it sets its own.
pub const DEFAULT_SERVICE_PATH: &str = "/usr/bin:/bin";

#[derive(Debug, Clone)]
pub struct ExecOutput {
    /// Exit code; `None` when killed by a signal.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    /// True when either stream was longer than the cap and was cut.
    pub truncated: bool,
    pub elapsed: Duration,
    /// The binary argv[0] resolved to.
    pub program: PathBuf,
}

impl ExecOutput {
    /// The exit code as text; `signal` when a signal ended the child.
    pub fn exit(&self) -> String {
        self.code.map_or("signal".to_string(), |c| c.to_string())
    }

    /// The first line of stderr, trimmed: what a failing tool says first.
    pub fn first_error(&self) -> &str {
        self.stderr.lines().next().unwrap_or("").trim()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error("empty argv")]
    EmptyArgv,
    #[error("'{0}' not found on PATH {1}")]
    NotFound(String, String),
    #[error("starting '{0}': {1}")]
    Spawn(String, std::io::Error),
    #[error("'{0}' did not finish within {1:?}")]
    Timeout(String, Duration),
}

/// What to run.
#[derive(Debug, Clone, Default)]
pub struct ExecSpec<'a> {
    pub argv: &'a [String],
    /// The complete environment of the child (it inherits nothing). `PATH` here is also used to
    /// resolve argv[0]; without it `DEFAULT_SERVICE_PATH` is used.
    pub env: BTreeMap<String, String>,
    pub cwd: Option<&'a Path>,
    pub timeout: Duration,
    /// Cap per stream, in bytes.
    pub max_output_bytes: usize,
}

/// Finds `cmd` the way a shell would with the given PATH. A `cmd` with a slash is checked as is.
pub fn which(cmd: &str, path: &str) -> Option<PathBuf> {
    if cmd.contains('/') {
        let p = PathBuf::from(cmd);
        return is_executable(&p).then_some(p);
    }
    path.split(':')
        .filter(|d| !d.is_empty())
        .map(|d| Path::new(d).join(cmd))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// Runs the command to completion or deadline. The child is killed when the deadline passes.
pub async fn run(spec: &ExecSpec<'_>) -> Result<ExecOutput, ExecError> {
    let first = spec.argv.first().ok_or(ExecError::EmptyArgv)?;
    let path = spec
        .env
        .get("PATH")
        .map(String::as_str)
        .unwrap_or(DEFAULT_SERVICE_PATH);
    let program =
        which(first, path).ok_or_else(|| ExecError::NotFound(first.clone(), path.to_string()))?;
    let mut cmd = tokio::process::Command::new(&program);
    cmd.args(&spec.argv[1..])
        .env_clear()
        .envs(&spec.env)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // its own process group, so that a timeout kills what it forked too (`Group`)
        .process_group(0)
        .kill_on_drop(true);
    if !spec.env.contains_key("PATH") {
        cmd.env("PATH", DEFAULT_SERVICE_PATH);
    }
    if let Some(dir) = spec.cwd {
        cmd.current_dir(dir);
    }
    let started = Instant::now();
    let mut child = cmd
        .spawn()
        .map_err(|e| ExecError::Spawn(first.clone(), e))?;
    // killed on every way out: a timeout, a dropped future, and whatever the command left behind
    let _group = Group(child.id());
    let max = spec.max_output_bytes.max(1);
    let mut out = child.stdout.take();
    let mut err = child.stderr.take();
    let work = async {
        let (o, e) = tokio::join!(
            read_capped(out.as_mut(), max),
            read_capped(err.as_mut(), max)
        );
        let status = child.wait().await;
        (o, e, status)
    };
    let ((stdout, t1), (stderr, t2), status) = tokio::time::timeout(spec.timeout, work)
        .await
        .map_err(|_| ExecError::Timeout(first.clone(), spec.timeout))?;
    let code = status
        .map_err(|e| ExecError::Spawn(first.clone(), e))?
        .code();
    Ok(ExecOutput {
        code,
        stdout,
        stderr,
        truncated: t1 || t2,
        elapsed: started.elapsed(),
        program,
    })
}

/// A child's process group (the child leads it: `process_group(0)`), sent SIGKILL when dropped,
/// so a command that forks a sleeper cannot outlive its probe's timeout.
struct Group(Option<u32>);

impl Drop for Group {
    fn drop(&mut self) {
        if let Some(pid) = self.0.and_then(|p| i32::try_from(p).ok()) {
            let _ = nix::sys::signal::killpg(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
}

/// Reads a stream up to `max` bytes, then drains (and drops) the rest so the child never blocks.
async fn read_capped<R: tokio::io::AsyncRead + Unpin>(
    r: Option<&mut R>,
    max: usize,
) -> (String, bool) {
    let Some(r) = r else {
        return (String::new(), false);
    };
    let mut buf = Vec::with_capacity(max.min(8192));
    let mut chunk = [0u8; 8192];
    let mut truncated = false;
    loop {
        match r.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let room = max.saturating_sub(buf.len());
                if n > room {
                    truncated = true;
                }
                buf.extend_from_slice(&chunk[..n.min(room)]);
            }
        }
    }
    (String::from_utf8_lossy(&buf).into_owned(), truncated)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    /// What the tests run: `argv` with a clean environment, `timeout` and 100 bytes of output.
    fn capped(argv: &[String], timeout: Duration) -> ExecSpec<'_> {
        ExecSpec {
            argv,
            timeout,
            max_output_bytes: 100,
            ..Default::default()
        }
    }

    /// Whether `pid` still runs (a zombie waiting for its reaper does not).
    fn alive(pid: &str) -> bool {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|s| {
                let state = s.rsplit(')').next().unwrap_or("").trim_start();
                !state.starts_with('Z') && !state.starts_with('X')
            })
            .unwrap_or(false)
    }

    #[tokio::test]
    async fn a_timeout_kills_the_whole_process_group() {
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("pid");
        let a = argv(&[
            "sh",
            "-c",
            &format!("sleep 300 & echo $! > '{}'; wait", pidfile.display()),
        ]);
        let spec = capped(&a, Duration::from_millis(500));
        let e = run(&spec).await.unwrap_err();
        assert!(matches!(e, ExecError::Timeout(..)), "{e}");
        let pid = std::fs::read_to_string(&pidfile)
            .unwrap()
            .trim()
            .to_string();
        let end = Instant::now() + Duration::from_secs(10);
        while alive(&pid) {
            assert!(Instant::now() < end, "grandchild {pid} still runs");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    #[tokio::test]
    async fn runs_with_clean_env_and_caps_output() {
        let a = argv(&[
            "sh",
            "-c",
            "echo ${HOME:-nohome}; head -c 5000 /dev/zero | tr '\\0' x",
        ]);
        let spec = capped(&a, Duration::from_secs(5));
        let out = run(&spec).await.unwrap();
        assert_eq!(out.code, Some(0));
        assert!(out.stdout.starts_with("nohome\n"), "{}", out.stdout);
        assert!(out.truncated);
        assert_eq!(out.stdout.len(), 100);
    }

    #[tokio::test]
    async fn timeout_and_not_found_are_errors() {
        let a = argv(&["sleep", "5"]);
        let spec = capped(&a, Duration::from_millis(100));
        assert!(matches!(run(&spec).await, Err(ExecError::Timeout(..))));
        let a = argv(&["definitely-not-a-command-xyz"]);
        let spec = capped(&a, Duration::from_secs(1));
        assert!(matches!(run(&spec).await, Err(ExecError::NotFound(..))));
    }
}
