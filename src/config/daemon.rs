//! The `[daemon]` table into `Daemon`: listen address and its authentication (bearer token file,
//! basic auth with an Argon2 hash), state dir, host name, concurrency, retention and timeouts.
//! It must not start anything; bounds a running daemon relies on are checked here.

use super::error::Sink;
use super::raw::RawDaemon;
use super::{
    BasicAuth, DEFAULT_CONCURRENCY, Daemon, MAX_CONCURRENCY, MAX_RETENTION, MAX_TIMEOUT, count_in,
    duration_in,
};
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

/// The `[daemon]` table checked and with its defaults; None when the listen address is invalid
/// (every other error is reported to `sink` and a placeholder kept).
pub(super) fn build_daemon(r: RawDaemon, base: &Path, sink: &mut Sink<'_>) -> Option<Daemon> {
    let listen = listen_address(r.listen.as_deref(), sink)?;
    let auth_token = auth_token(r.auth_token_file.as_deref(), base, sink);
    let basic_auth = basic_auth(r.basic_auth_user, r.basic_auth_password_hash, sink);
    if !listen.ip().is_loopback()
        && auth_token.is_none()
        && basic_auth.is_none()
        && r.auth_token_file.is_none()
    {
        sink.err("daemon.listen", format!("{listen} is not a loopback address and no authentication is configured; set daemon.auth_token_file or daemon.basic_auth_user + daemon.basic_auth_password_hash, or bind 127.0.0.1 and forward the port over a private network (lessons 13 and 20: access needs auth, secure reachability needs design)"));
    }
    let history = (Duration::from_secs(3600), MAX_RETENTION);
    let retention = crate::store::Retention {
        observations: dur("retention", r.retention.as_deref(), "14d", history, sink),
        keep_observations: r.keep_observations.unwrap_or(100),
        rollups_5m: dur(
            "retention_5m",
            r.retention_5m.as_deref(),
            "2d",
            history,
            sink,
        ),
        rollups_1h: dur(
            "retention_1h",
            r.retention_1h.as_deref(),
            "90d",
            history,
            sink,
        ),
        transitions: dur(
            "retention_transitions",
            r.retention_transitions.as_deref(),
            "365d",
            history,
            sink,
        ),
    };
    let default_timeout = dur(
        "default_timeout",
        r.default_timeout.as_deref(),
        "10s",
        (Duration::from_millis(1), MAX_TIMEOUT),
        sink,
    );
    let web_bounds = (Duration::from_millis(100), Duration::from_secs(3600));
    let web = super::WebLimits {
        header_timeout: dur(
            "header_timeout",
            r.header_timeout.as_deref(),
            "10s",
            web_bounds,
            sink,
        ),
        idle_timeout: dur(
            "idle_timeout",
            r.idle_timeout.as_deref(),
            "60s",
            web_bounds,
            sink,
        ),
        max_connections: r.max_connections.unwrap_or(256),
    };
    if retention.keep_observations == 0 {
        sink.err("daemon.keep_observations", "must be at least 1");
    }
    if retention.rollups_5m < Duration::from_secs(86_400) {
        sink.err(
            "daemon.retention_5m",
            "must be at least 1d (the dashboard shows the last 24 hours from it)",
        );
    }
    count_in(
        web.max_connections,
        "daemon.max_connections",
        (1, 65_536),
        "",
        sink,
    );
    let concurrency = r.concurrency.unwrap_or(DEFAULT_CONCURRENCY);
    let bounds = (1, MAX_CONCURRENCY);
    count_in(concurrency, "daemon.concurrency", bounds, "", sink);
    let state_dir = r
        .state_dir
        .map(|p| crate::probe::resolve_path(base, &p))
        .unwrap_or_else(crate::platform::default_state_dir);
    let root = r.root.as_ref().and_then(|p| {
        let p = crate::probe::resolve_path(base, p);
        match audit_root(&p) {
            Ok(c) => Some(c),
            Err(m) => {
                sink.err("daemon.root", m);
                None
            }
        }
    });
    let host = r.host.unwrap_or_else(crate::platform::hostname);
    let dashboard_url = r
        .dashboard_url
        .unwrap_or_else(|| format!("http://{listen}"));
    Some(Daemon {
        listen,
        state_dir,
        host,
        concurrency: concurrency.clamp(1, MAX_CONCURRENCY),
        retention,
        dashboard_url: dashboard_url.trim_end_matches('/').to_string(),
        default_timeout,
        auth_token,
        basic_auth,
        root,
        web,
    })
}

/// `daemon.listen` (default 127.0.0.1:9477) as a socket address; None after reporting a bad
/// one.
fn listen_address(listen: Option<&str>, sink: &mut Sink<'_>) -> Option<SocketAddr> {
    match listen.unwrap_or("127.0.0.1:9477").parse::<SocketAddr>() {
        Ok(a) => Some(a),
        Err(e) => {
            sink.err(
                "daemon.listen",
                format!("invalid address: {e} (expected host:port, e.g. \"127.0.0.1:9477\")"),
            );
            None
        }
    }
}

/// The bearer token in `daemon.auth_token_file` (at least 16 characters), read through the
/// bounded reader: a FIFO or device is refused, a config error and never a hang.
fn auth_token(
    file: Option<&Path>,
    base: &Path,
    sink: &mut Sink<'_>,
) -> Option<crate::redact::Secret> {
    let path = crate::probe::resolve_path(base, file?);
    match crate::read::text(&path, crate::read::SMALL) {
        Ok(t) if t.trim().len() >= 16 => Some(crate::redact::Secret::new(t.trim())),
        Ok(_) => {
            sink.err(
                "daemon.auth_token_file",
                format!(
                    "the token in '{}' is shorter than 16 characters",
                    path.display()
                ),
            );
            None
        }
        Err(e) => {
            sink.err(
                "daemon.auth_token_file",
                format!("cannot read token file {e}"),
            );
            None
        }
    }
}

/// Basic auth from `daemon.basic_auth_user` and `daemon.basic_auth_password_hash` (an Argon2
/// PHC string): both or neither; a user without ':' and a hash that parses.
fn basic_auth(
    user: Option<String>,
    hash: Option<String>,
    sink: &mut Sink<'_>,
) -> Option<BasicAuth> {
    match (user, hash) {
        (None, None) => None,
        (Some(_), None) => {
            sink.err(
                "daemon.basic_auth_user",
                "set daemon.basic_auth_password_hash too (an Argon2 PHC string)",
            );
            None
        }
        (None, Some(_)) => {
            sink.err(
                "daemon.basic_auth_password_hash",
                "set daemon.basic_auth_user too",
            );
            None
        }
        (Some(user), Some(hash)) => {
            let mut ok = true;
            if user.is_empty() || user.contains(':') {
                sink.err(
                    "daemon.basic_auth_user",
                    "must be non-empty and must not contain ':'",
                );
                ok = false;
            }
            if let Err(m) = crate::password::check_password_hash(&hash) {
                sink.err("daemon.basic_auth_password_hash", m);
                ok = false;
            }
            ok.then(|| BasicAuth {
                user,
                password_hash: crate::redact::Secret::new(hash),
            })
        }
    }
}

/// The duration `daemon.<key>` (or `default`) within `bounds`; 1 s after reporting a bad one.
fn dur(
    key: &str,
    v: Option<&str>,
    default: &str,
    bounds: (Duration, Duration),
    sink: &mut Sink<'_>,
) -> Duration {
    duration_in(v.unwrap_or(default), &format!("daemon.{key}"), bounds, sink)
        .unwrap_or(Duration::from_secs(1))
}

/// A directory to audit as a copied host tree (`daemon.root`, `--root`), made canonical so the
/// re-anchoring compares whole components.
pub fn audit_root(p: &Path) -> Result<std::path::PathBuf, String> {
    match std::fs::canonicalize(p) {
        Ok(c) if c.is_dir() => Ok(c),
        Ok(_) => Err(format!("'{}' is not a directory", p.display())),
        Err(e) => Err(format!(
            "cannot use '{}' as the audited tree: {e}",
            p.display()
        )),
    }
}
