//! What differs per OS and service manager: default paths, the host name, and systemd's
//! sd_notify (READY, WATCHDOG, STOPPING, RELOADING). It must not hold policy.

use std::path::PathBuf;

/// /var/lib/ledgerd as root; otherwise the user's state directory.
pub fn default_state_dir() -> PathBuf {
    if nix::unistd::geteuid().is_root() {
        return PathBuf::from(if cfg!(target_os = "macos") {
            "/usr/local/var/lib/ledgerd"
        } else {
            "/var/lib/ledgerd"
        });
    }
    if let Some(x) = std::env::var_os("XDG_STATE_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(x).join("ledgerd");
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    if cfg!(target_os = "macos") {
        home.join("Library/Application Support/ledgerd")
    } else {
        home.join(".local/state/ledgerd")
    }
}

pub fn hostname() -> String {
    hostname::get()
        .ok()
        .and_then(|h| h.into_string().ok())
        .unwrap_or_else(|| "localhost".into())
}

/// True when systemd asked for notifications (`NOTIFY_SOCKET` set).
pub fn under_systemd() -> bool {
    std::env::var_os("NOTIFY_SOCKET").is_some()
}

pub fn notify_ready() {
    let _ = sd_notify::notify(&[sd_notify::NotifyState::Ready]);
}

pub fn notify_stopping() {
    let _ = sd_notify::notify(&[sd_notify::NotifyState::Stopping]);
}

pub fn notify_watchdog() {
    let _ = sd_notify::notify(&[sd_notify::NotifyState::Watchdog]);
}

pub fn notify_status(s: &str) {
    let _ = sd_notify::notify(&[sd_notify::NotifyState::Status(s)]);
}

/// Half of `WATCHDOG_USEC`, when systemd set a watchdog.
pub fn watchdog_interval() -> Option<std::time::Duration> {
    let usec: u64 = std::env::var("WATCHDOG_USEC").ok()?.parse().ok()?;
    (usec > 0).then(|| std::time::Duration::from_micros(usec / 2))
}

/// Unix ms of the last time ledgerd itself ran out of file descriptors (0: never).
static FD_EXHAUSTED_AT: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);

/// Records that ledgerd itself ran out of file descriptors (an `accept` or a probe got EMFILE).
pub fn note_fd_exhausted() {
    FD_EXHAUSTED_AT.store(
        chrono::Utc::now().timestamp_millis(),
        std::sync::atomic::Ordering::Relaxed,
    );
}

/// True when ledgerd ran out of file descriptors within the last `within`.
pub fn fd_exhausted_within(within: std::time::Duration) -> bool {
    let at = FD_EXHAUSTED_AT.load(std::sync::atomic::Ordering::Relaxed);
    let ms = i64::try_from(within.as_millis()).unwrap_or(i64::MAX);
    at > 0 && chrono::Utc::now().timestamp_millis().saturating_sub(at) < ms
}
