//! The one reader of a proc tree (`/proc`, or a fixture tree in tests): process ids, `comm`,
//! `cmdline`, `status` fields, one environment variable, the cgroup, socket inodes held by a
//! process, and the system files (`meminfo`, `loadavg`, `vmstat`, `net/tcp`).
//!
//! Every file goes through `crate::read` (bounded, regular files only), so a hostile or huge
//! entry is an error, never a hang or unbounded memory. It only reads; it never signals, kills or
//! writes anything, and it returns raw facts: judging them is the probe kinds' job. A process can
//! exit between listing and reading, so per-process readers return `None` for what vanished.
//! (Not the `procfs` crate: it reads with `std::fs` without a cap, and the kinds' fixture trees
//! hold partial `status` files that it refuses.)

use std::path::{Path, PathBuf};

/// Cap for one per-process file (`status`, `cmdline`, `environ`, `cgroup`).
const PER_PROCESS: u64 = 256 * 1024;
/// Cap for a system file; `net/tcp` of a busy host is ~150 bytes per socket.
const SYSTEM: u64 = crate::read::LARGE;

/// A proc tree rooted at `root`.
#[derive(Debug, Clone, Copy)]
pub struct Proc<'a> {
    root: &'a Path,
}

impl<'a> Proc<'a> {
    pub fn at(root: &'a Path) -> Self {
        Proc { root }
    }

    pub fn root(&self) -> &Path {
        self.root
    }

    fn pid_dir(&self, pid: u32) -> PathBuf {
        self.root.join(pid.to_string())
    }

    /// Every numeric entry, sorted. `Err` names the tree when it cannot be listed.
    pub fn pids(&self) -> Result<Vec<u32>, String> {
        let rd = std::fs::read_dir(self.root)
            .map_err(|e| format!("cannot read {}: {e}", self.root.display()))?;
        let mut pids: Vec<u32> = rd
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
            .collect();
        pids.sort_unstable();
        Ok(pids)
    }

    /// A system file (`meminfo`, `loadavg`, `vmstat`, `net/tcp`), whole. `Err` names the file.
    pub fn system_file(&self, rel: &str) -> Result<String, crate::read::ReadError> {
        crate::read::text_lossy(&self.root.join(rel), SYSTEM)
    }

    fn per_process(&self, pid: u32, name: &str) -> Result<Vec<u8>, crate::read::ReadError> {
        crate::read::bytes(&self.pid_dir(pid).join(name), PER_PROCESS)
    }

    /// A per-process file as text, its trailing newlines trimmed.
    fn text_trimmed(&self, pid: u32, name: &str) -> Option<String> {
        let b = self.per_process(pid, name).ok()?;
        Some(
            String::from_utf8_lossy(&b)
                .trim_end_matches('\n')
                .to_string(),
        )
    }

    /// `comm` without its newline (the kernel cuts it to 15 bytes).
    pub fn comm(&self, pid: u32) -> Option<String> {
        self.text_trimmed(pid, "comm")
    }

    /// `cmdline` with its NUL-separated arguments joined by spaces.
    pub fn cmdline(&self, pid: u32) -> Option<String> {
        let b = self.per_process(pid, "cmdline").ok()?;
        Some(
            b.split(|c| *c == 0)
                .filter(|a| !a.is_empty())
                .map(String::from_utf8_lossy)
                .collect::<Vec<_>>()
                .join(" "),
        )
    }

    /// The base name of argv[0] (never the arguments).
    pub fn argv0_base(&self, pid: u32) -> Option<String> {
        let b = self.per_process(pid, "cmdline").ok()?;
        let argv0 = String::from_utf8_lossy(b.split(|c| *c == 0).next()?).into_owned();
        let base = argv0.rsplit('/').next().unwrap_or(&argv0).to_string();
        (!base.is_empty()).then_some(base)
    }

    /// A short name for a process: `comm`, else argv[0]'s base name, else "?".
    pub fn name(&self, pid: u32) -> String {
        match self.comm(pid) {
            Some(c) if !c.trim().is_empty() => c.trim().to_string(),
            _ => self.argv0_base(pid).unwrap_or_else(|| "?".into()),
        }
    }

    /// The whole `status` file; `Err` says why it could not be read.
    pub fn status(&self, pid: u32) -> Result<String, String> {
        self.per_process(pid, "status")
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .map_err(|e| e.to_string())
    }

    /// The `cgroup` file, trimmed.
    pub fn cgroup(&self, pid: u32) -> Option<String> {
        self.text_trimmed(pid, "cgroup")
    }

    /// One variable of the process's environment; every other value is dropped unread.
    /// `Ok(None)` when it is unset, `Err` when `environ` cannot be read.
    pub fn environ_var(&self, pid: u32, name: &str) -> Result<Option<String>, String> {
        let b = self
            .per_process(pid, "environ")
            .map_err(|e| e.to_string())?;
        let prefix = format!("{name}=");
        Ok(b.split(|c| *c == 0).find_map(|kv| {
            let kv = String::from_utf8_lossy(kv);
            kv.strip_prefix(&prefix).map(str::to_string)
        }))
    }

    /// The socket inodes among the process's open files. `None` when its `fd` folder cannot be
    /// listed (gone, or another user's process without privileges).
    pub fn socket_inodes(&self, pid: u32) -> Option<Vec<u64>> {
        let fds = std::fs::read_dir(self.pid_dir(pid).join("fd")).ok()?;
        Some(
            fds.flatten()
                .filter_map(|fd| {
                    socket_inode(&std::fs::read_link(fd.path()).ok()?.to_string_lossy())
                })
                .collect(),
        )
    }

    /// Whether the process's folder still exists.
    pub fn exists(&self, pid: u32) -> bool {
        self.pid_dir(pid).exists()
    }
}

/// A `status` line's value: lines are `Key:\tvalue`.
pub fn status_field<'s>(status: &'s str, key: &str) -> Option<&'s str> {
    status.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        (k == key).then_some(v.trim())
    })
}

/// `socket:[12345]` → 12345.
pub fn socket_inode(link: &str) -> Option<u64> {
    link.strip_prefix("socket:[")?
        .strip_suffix(']')?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process_from_the_live_tree() {
        let p = Proc::at(Path::new("/proc"));
        let me = std::process::id();
        assert!(p.pids().unwrap().contains(&me));
        assert!(!p.name(me).is_empty());
        assert!(p.cmdline(me).unwrap().len() > 1);
        let status = p.status(me).unwrap();
        assert_eq!(status_field(&status, "Pid"), Some(me.to_string().as_str()));
        assert!(p.system_file("meminfo").unwrap().contains("MemTotal"));
    }

    #[test]
    fn fixture_tree_partial_files_and_vanished_processes() {
        let d = tempfile::tempdir().unwrap();
        let pd = d.path().join("42");
        std::fs::create_dir_all(&pd).unwrap();
        std::fs::write(pd.join("cmdline"), b"/usr/bin/node\0gateway\0run\0").unwrap();
        std::fs::write(
            pd.join("environ"),
            b"PATH=/bin\0HOME=/home/cs\0TOKEN=s3cret\0",
        )
        .unwrap();
        std::fs::write(pd.join("status"), "Name:\tnode\nPPid:\t1\n").unwrap();
        std::fs::create_dir_all(d.path().join("not-a-pid")).unwrap();
        let p = Proc::at(d.path());
        assert_eq!(p.pids().unwrap(), vec![42]);
        assert_eq!(p.comm(42), None);
        assert_eq!(p.name(42), "node");
        assert_eq!(p.cmdline(42).unwrap(), "/usr/bin/node gateway run");
        assert_eq!(
            p.environ_var(42, "HOME").unwrap().as_deref(),
            Some("/home/cs")
        );
        assert_eq!(p.environ_var(42, "USER").unwrap(), None);
        assert_eq!(status_field(&p.status(42).unwrap(), "PPid"), Some("1"));
        assert_eq!(p.name(7), "?");
        assert!(p.status(7).is_err());
        assert_eq!(socket_inode("socket:[12345]"), Some(12345));
        assert_eq!(socket_inode("pipe:[1]"), None);
    }
}
