//! The `ledgerd` binary: parse the command line, set up logging, call `cmd::<x>::run`, and map
//! the outcome to exit codes (0 ok, 1 violations found, 2 usage or runtime error, 78 config error).

use clap::Parser;
use ledgerd::cli::Cli;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    if !matches!(cli.command, ledgerd::cli::Command::Run { .. }) {
        // `ledgerd lessons | head` should end quietly, not panic on a closed pipe
        // SAFETY: setting a signal disposition before any thread starts.
        #[allow(unsafe_code)]
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
    let code = match ledgerd::cmd::dispatch(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("ledgerd: {e:#}");
            ledgerd::cmd::EXIT_ERROR
        }
    };
    ExitCode::from(code)
}
