//! The one re-anchoring of paths under an audited host tree (`--root DIR` / `daemon.root`): a
//! copied host (a backup, an image, a test fixture) is audited as if it were `/`. Every path a
//! probe reads, configured or read from inside an audited file (a unit's `EnvironmentFile=`, a
//! crontab's script, a plist's log path, a `source` line, a glob's match), goes through `under`.
//! It owns one rule: the result stays inside the tree. `..` never climbs above the tree's top,
//! and a symlink inside the tree is followed as the audited host would follow it (an absolute
//! target is re-anchored under the tree, a relative one is resolved from its directory), so a
//! link to `/etc/shadow` or `../../..` cannot reach the machine ledgerd runs on. It must not read
//! files (only `symlink_metadata`/`read_link` on the path's components) nor decide what a path
//! means. A path that is swapped for a link between this resolution and the read is not covered
//! (the read itself does not re-check); the audited tree is a copy, not an adversary's live host.

use std::ffi::OsString;
use std::path::{Component, Path, PathBuf};

/// Symlinks followed per path before giving up (Linux's own limit is 40).
pub const MAX_LINKS: usize = 40;

/// `p` as the audited host sees it, inside `root`: `/etc/x` → `<root>/etc/x`; a path already
/// under `root` is re-resolved from there (idempotent); a relative path is taken from the top
/// of the tree. Symlinks in every component are followed inside the tree; components that do
/// not exist are appended as they are (after `..` is applied lexically, never above `root`).
/// After `MAX_LINKS` links the rest is appended unresolved (a loop is then simply not found).
pub fn under(root: &Path, p: &Path) -> PathBuf {
    let rel = p.strip_prefix(root).unwrap_or(p);
    // pending components, last first (a link's target is pushed in front of the rest)
    let mut pending: Vec<OsString> = Vec::new();
    push_components(&mut pending, rel);
    let mut inside: Vec<OsString> = Vec::new();
    let mut links = 0;
    while let Some(c) = pending.pop() {
        if c == ".." {
            inside.pop();
            continue;
        }
        if c == "." || c.is_empty() {
            continue;
        }
        inside.push(c);
        if links >= MAX_LINKS {
            continue;
        }
        let here = join(root, &inside);
        let Ok(meta) = std::fs::symlink_metadata(&here) else {
            continue;
        };
        if !meta.file_type().is_symlink() {
            continue;
        }
        let Ok(target) = std::fs::read_link(&here) else {
            continue;
        };
        links += 1;
        inside.pop();
        if target.is_absolute() {
            inside.clear();
        }
        push_components(&mut pending, &target);
    }
    join(root, &inside)
}

/// True when `p` (absolute) is `root` or below it, by components.
pub fn is_inside(root: &Path, p: &Path) -> bool {
    p.starts_with(root)
}

/// The host path an audited path stands for: `<root>/etc/x` → `/etc/x` (for evidence and
/// generated configs); a path outside `root` is returned unchanged.
pub fn host_path(root: &Path, p: &Path) -> PathBuf {
    match p.strip_prefix(root) {
        Ok(rest) => Path::new("/").join(rest),
        Err(_) => p.to_path_buf(),
    }
}

fn push_components(pending: &mut Vec<OsString>, p: &Path) {
    let comps: Vec<OsString> = p
        .components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s.to_os_string()),
            Component::ParentDir => Some(OsString::from("..")),
            Component::CurDir | Component::RootDir | Component::Prefix(_) => None,
        })
        .collect();
    pending.extend(comps.into_iter().rev());
}

fn join(root: &Path, inside: &[OsString]) -> PathBuf {
    let mut out = root.to_path_buf();
    for c in inside {
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn absolute_and_dotdot_stay_inside() {
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        assert_eq!(under(r, Path::new("/etc/x.env")), r.join("etc/x.env"));
        assert_eq!(
            under(r, Path::new("/../../etc/passwd")),
            r.join("etc/passwd")
        );
        assert_eq!(under(r, Path::new("/home/a/../../../b")), r.join("b"));
        assert_eq!(under(r, Path::new("rel/./x")), r.join("rel/x"));
        // idempotent on a path already under the tree
        let once = under(r, Path::new("/etc/x.env"));
        assert_eq!(under(r, &once), once);
        assert_eq!(host_path(r, &once), PathBuf::from("/etc/x.env"));
    }

    #[test]
    fn symlinks_are_followed_inside_the_tree() {
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        std::fs::create_dir_all(r.join("Users/Shared/shared-brain/knowledge")).unwrap();
        std::fs::create_dir_all(r.join("Users/cs/ws")).unwrap();
        // an absolute link (the workspace's brain/) lands in the tree, not on this host
        symlink("/Users/Shared/shared-brain", r.join("Users/cs/ws/brain")).unwrap();
        assert_eq!(
            under(r, Path::new("/Users/cs/ws/brain/knowledge")),
            r.join("Users/Shared/shared-brain/knowledge")
        );
        // a link to the host's secrets stays a path in the tree
        symlink("/etc/shadow", r.join("Users/cs/evil")).unwrap();
        assert_eq!(under(r, Path::new("/Users/cs/evil")), r.join("etc/shadow"));
        // a relative link climbing out is clamped at the top
        symlink("../../../../../../etc", r.join("Users/cs/up")).unwrap();
        assert_eq!(
            under(r, Path::new("/Users/cs/up/passwd")),
            r.join("etc/passwd")
        );
        // a loop ends
        symlink("loop2", r.join("loop1")).unwrap();
        symlink("loop1", r.join("loop2")).unwrap();
        let p = under(r, Path::new("/loop1/x"));
        assert!(is_inside(r, &p), "{}", p.display());
    }
}
