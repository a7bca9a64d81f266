//! `ledgerd run`: set up logging and hand over to the daemon. Exit 78 on config errors (so
//! systemd's `RestartPreventExitStatus=78` stops a crash loop), 2 when the store or the listen
//! address cannot be used, 0 after a clean SIGTERM/SIGINT. Every log line is scrubbed of
//! registered secrets (`redact::scrub`) on its way to stderr.

use super::{EXIT_ERROR, EXIT_OK};
use std::path::Path;

pub fn run(path: Option<&Path>, root: Option<&Path>, log_json: bool) -> anyhow::Result<u8> {
    init_tracing(log_json);
    let config = match super::load_rooted(path, root) {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let result = rt.block_on(crate::daemon::run(config, path.map(Path::to_path_buf)));
    // Blocking work a timed-out probe left behind (a stuck read) is abandoned, never waited for:
    // shutdown finishes within its drain deadline regardless.
    rt.shutdown_timeout(std::time::Duration::from_millis(500));
    match result {
        Ok(()) => Ok(EXIT_OK),
        Err(e) => {
            tracing::error!(error = %e, "daemon stopped");
            eprintln!("ledgerd: {}", crate::redact::scrub(&e.to_string()));
            Ok(EXIT_ERROR)
        }
    }
}

fn init_tracing(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("LEDGERD_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        // every log line is scrubbed of registered secrets before it is written
        .with_writer(|| ScrubbedLine(Vec::new()))
        // colours only on a terminal: journald and log files get plain text
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

/// One log event, buffered and written to stderr scrubbed of registered secrets when the
/// formatter is done with it (tracing makes one writer per event).
struct ScrubbedLine(Vec<u8>);

impl std::io::Write for ScrubbedLine {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for ScrubbedLine {
    fn drop(&mut self) {
        use std::io::Write as _;
        let text = String::from_utf8_lossy(&self.0);
        let _ = std::io::stderr().write_all(crate::redact::scrub(&text).as_bytes());
    }
}
