//! The command line: clap derive types only. Parsing lives here; behaviour lives in `cmd/`.

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "ledgerd",
    version,
    about = "Guards an AI-agent deployment against the Failure Ledger's known failures"
)]
pub struct Cli {
    /// Config file. Default: $LEDGERD_CONFIG, /etc/ledgerd/config.toml,
    /// ~/.config/ledgerd/config.toml, else the embedded self-audit of this host.
    #[arg(long, short, global = true, env = "LEDGERD_CONFIG")]
    pub config: Option<PathBuf>,
    /// Audit a copied host tree (a backup, an image, a test tree) instead of this host: every
    /// path a probe reads, including paths read from inside audited files, resolves under DIR;
    /// probes that need the live host (processes, listeners, systemctl, launchctl, resources)
    /// report unknown. Overrides `daemon.root`. Used by check, run, doctor and discover.
    #[arg(long, global = true, value_name = "DIR", env = "LEDGERD_ROOT")]
    pub root: Option<PathBuf>,
    /// Colours: auto (on a terminal), always, never.
    #[arg(long, global = true, default_value = "auto")]
    pub color: ColorChoice,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq, Default)]
pub enum Format {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon: schedule probes, record, alert, serve the dashboard.
    Run {
        /// Log as JSON lines instead of text.
        #[arg(long)]
        log_json: bool,
    },
    /// Run probes once and print what they see. Exit 0 when all ok, 1 when any lesson is
    /// violated, 78 on config errors.
    Check {
        /// Only this probe (repeatable).
        #[arg(long)]
        probe: Vec<String>,
        /// Only probes guarding this lesson (repeatable).
        #[arg(long)]
        lesson: Vec<u32>,
        /// Only this agent's probes (repeatable; `-` for host-wide probes).
        #[arg(long)]
        agent: Vec<String>,
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Validate the config: every error with its file, key path and line; exit 78 on errors.
    Doctor {
        /// Treat warnings as errors.
        #[arg(long)]
        strict: bool,
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Find the OpenClaw and Hermes agents on this host (or under --root) and print a complete,
    /// commented config for them: one pack include per agent with the values it inferred, the
    /// fleet pack, and the policy values to confirm. `ledgerd doctor` accepts it unchanged.
    Discover,
    /// The lesson catalog with the probes guarding each lesson and its current state, overall
    /// and per agent.
    Lessons {
        /// Only this agent's state (`-` for host-wide probes).
        #[arg(long)]
        agent: Option<String>,
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Probe and channel kinds.
    Kinds {
        /// Print each kind's example config.
        #[arg(long)]
        examples: bool,
    },
    /// Last state of every probe, from the store.
    Status {
        /// Only this agent's probes (`-` for host-wide probes).
        #[arg(long)]
        agent: Option<String>,
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Silences: mute alerts by lesson, probe, tag, host or agent, with a reason and an expiry.
    /// Silenced alerts are still recorded.
    Silence {
        #[command(subcommand)]
        action: SilenceAction,
    },
    /// Shadow probes (`mode = "shadow"`) and what they would have alerted, so they can be
    /// promoted with evidence (lesson 9).
    Shadow {
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Acknowledge an open incident: stops its reminders and tells the channels that got its
    /// alerts who is on it (lesson 23: acknowledge fast, execute carefully).
    Ack {
        /// Incident number (from `ledgerd status`, the dashboard or the alert).
        incident: i64,
        /// Who. Default: $USER.
        #[arg(long)]
        by: Option<String>,
        #[arg(long)]
        note: Option<String>,
    },
    /// Send a synthetic alert to one channel now and print the receiver's answer.
    TestAlert {
        /// Channel id from the config.
        #[arg(long)]
        channel: String,
    },
    /// Print a shell completion script, e.g. `ledgerd completions bash >
    /// /usr/share/bash-completion/completions/ledgerd`.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page ledgerd(1) as roff, generated from this command line; with --dir,
    /// write ledgerd.1 and one page per subcommand (ledgerd-run.1, ...) into that directory.
    Man {
        #[arg(long)]
        dir: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum SilenceAction {
    /// Add a silence. At least one of --lesson, --probe, --tag, --host, --agent.
    Add {
        #[arg(long)]
        lesson: Option<u32>,
        #[arg(long)]
        probe: Option<String>,
        #[arg(long)]
        tag: Option<String>,
        #[arg(long)]
        host: Option<String>,
        /// Only this agent's probes (`ledgerd doctor` lists the agents).
        #[arg(long)]
        agent: Option<String>,
        /// How long, e.g. "2h", "3d".
        #[arg(long = "for", conflicts_with = "until")]
        duration: Option<String>,
        /// Until when: "2026-12-15" or an RFC 3339 date-time.
        #[arg(long)]
        until: Option<String>,
        /// Why (required: a silence without a reason is a hole).
        #[arg(long)]
        reason: String,
        /// Who. Default: $USER.
        #[arg(long)]
        by: Option<String>,
    },
    /// List silences in force (with --all, also expired and removed ones).
    List {
        #[arg(long)]
        all: bool,
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// End a silence now.
    Remove { id: i64 },
}
