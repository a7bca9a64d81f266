//! Users named in probe settings (`process`'s `user`/`owned_by`, `resources`' per-process
//! `user`): a user given by name or by numeric uid, checked for shape when the config is loaded
//! and resolved to a uid when a probe runs, from `/etc/passwd` (read through `crate::read`), else
//! from the system's user database (directory services, NSS) for names `/etc/passwd` does not
//! list. It only reads; it never judges a process, and it runs on the blocking pool of the kind
//! that calls it (a user database lookup may block).

use super::Invalid;
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer};
use std::path::Path;

/// The local user table.
const PASSWD: &str = "/etc/passwd";
/// Cap for `/etc/passwd` (a big host lists a few thousand users at ~80 bytes each).
const PASSWD_MAX: u64 = crate::read::SMALL;

/// A user given by name or by uid.
#[derive(Clone, Debug)]
pub enum UserSpec {
    Uid(u32),
    Name(String),
}

impl<'de> Deserialize<'de> for UserSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = UserSpec;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a user name or a numeric uid")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<UserSpec, E> {
                Ok(UserSpec::Name(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<UserSpec, E> {
                u32::try_from(v)
                    .map(UserSpec::Uid)
                    .map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<UserSpec, E> {
                u32::try_from(v)
                    .map(UserSpec::Uid)
                    .map_err(|_| E::invalid_value(de::Unexpected::Unsigned(v), &self))
            }
        }
        d.deserialize_any(V)
    }
}

impl UserSpec {
    /// An empty name (a pack variable left empty) means "no user given".
    pub fn is_empty(&self) -> bool {
        matches!(self, UserSpec::Name(n) if n.trim().is_empty())
    }

    /// The name or uid as written.
    pub fn label(&self) -> String {
        match self {
            UserSpec::Uid(n) => n.to_string(),
            UserSpec::Name(n) => n.clone(),
        }
    }

    /// A name no user table can hold (a `:`, `/`, whitespace or a control character), reported
    /// at `key`. Whether the user exists is a fact of the host the probe runs on, judged then.
    pub fn invalid(&self, key: &str) -> Option<Invalid> {
        let UserSpec::Name(n) = self else {
            return None;
        };
        if self.is_empty() {
            return None;
        }
        let bad = n
            .chars()
            .any(|c| c == ':' || c == '/' || c.is_whitespace() || c.is_control());
        bad.then(|| {
            Invalid::new(
                key,
                format!("expected a user name or a numeric uid, got {n:?}"),
            )
        })
    }

    /// The uid: a number as given, a name from `/etc/passwd`, else from the system's user
    /// database. `None` when no user has that name on this host.
    pub fn uid(&self) -> Option<u32> {
        match self {
            UserSpec::Uid(n) => Some(*n),
            UserSpec::Name(n) => {
                let n = n.trim();
                if let Ok(uid) = n.parse::<u32>() {
                    return Some(uid);
                }
                passwd_uid(Path::new(PASSWD), n).or_else(|| {
                    nix::unistd::User::from_name(n)
                        .ok()
                        .flatten()
                        .map(|u| u.uid.as_raw())
                })
            }
        }
    }
}

/// "name (uid N)" when the uid has a name on this host, else "uid N".
pub fn describe(uid: Option<u32>) -> String {
    let Some(uid) = uid else {
        return "unknown uid".into();
    };
    let name = passwd_name(Path::new(PASSWD), uid).or_else(|| {
        nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid))
            .ok()
            .flatten()
            .map(|u| u.name)
    });
    match name {
        Some(n) => format!("{n} (uid {uid})"),
        None => format!("uid {uid}"),
    }
}

/// The `(name, uid)` of each well-formed line of a passwd file; nothing when it is unreadable.
fn passwd_entries(path: &Path) -> Vec<(String, u32)> {
    let Ok(text) = crate::read::text_lossy(path, PASSWD_MAX) else {
        return Vec::new();
    };
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let mut f = l.split(':');
            let name = f.next()?;
            let uid = f.nth(1)?.parse().ok()?;
            (!name.is_empty()).then(|| (name.to_string(), uid))
        })
        .collect()
}

fn passwd_uid(path: &Path, name: &str) -> Option<u32> {
    passwd_entries(path)
        .into_iter()
        .find_map(|(n, uid)| (n == name).then_some(uid))
}

fn passwd_name(path: &Path, uid: u32) -> Option<String> {
    passwd_entries(path)
        .into_iter()
        .find_map(|(n, u)| (u == uid).then_some(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwd_lines_resolve_names_and_uids() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("passwd");
        std::fs::write(
            &f,
            "# comment\nroot:x:0:0:root:/root:/bin/bash\ncs:x:1003:1003::/home/cs:/bin/bash\nbroken\n",
        )
        .unwrap();
        assert_eq!(passwd_uid(&f, "cs"), Some(1003));
        assert_eq!(passwd_uid(&f, "root"), Some(0));
        assert_eq!(passwd_uid(&f, "nobody-here"), None);
        assert_eq!(passwd_name(&f, 1003).as_deref(), Some("cs"));
        assert_eq!(passwd_uid(&d.path().join("missing"), "cs"), None);
    }

    #[test]
    fn names_and_uids_and_bad_shapes() {
        assert_eq!(UserSpec::Uid(65534).uid(), Some(65534));
        assert_eq!(UserSpec::Name("1002".into()).uid(), Some(1002));
        // root is in every /etc/passwd
        assert_eq!(UserSpec::Name("root".into()).uid(), Some(0));
        assert_eq!(UserSpec::Name("no-such-user-xyz".into()).uid(), None);
        assert!(UserSpec::Name(" ".into()).is_empty());
        assert!(UserSpec::Name("a b".into()).invalid("user").is_some());
        assert!(UserSpec::Name("cs:x".into()).invalid("user").is_some());
        assert!(UserSpec::Name("cs".into()).invalid("user").is_none());
        assert!(describe(Some(0)).starts_with("root (uid 0)"));
        assert_eq!(describe(None), "unknown uid");
    }
}
