//! One parsed config file (`Doc`): its path, text, TOML table, base directory for relative paths
//! and include prefix, shared by the loader and the table builders. It must not read files.

use super::error::{ConfigError, Sink};
use std::path::PathBuf;

/// One parsed file.
pub(super) struct Doc {
    pub(super) file: PathBuf,
    pub(super) src: String,
    pub(super) table: toml::Table,
    pub(super) base_dir: PathBuf,
    pub(super) is_main: bool,
    /// Prepended to the ids of probes defined here (from `include = [{ prefix = .. }]`).
    pub(super) prefix: String,
    /// The agent its probes belong to: the `agent` var of the include that loaded it (or of an
    /// include above it). The main file's `[vars]` do not make probes an agent's.
    pub(super) agent: Option<String>,
}

impl Doc {
    /// An error sink for this file.
    pub(super) fn sink<'a>(&'a self, errors: &'a mut Vec<ConfigError>) -> Sink<'a> {
        Sink {
            file: &self.file,
            src: Some(&self.src),
            errors,
        }
    }
}
