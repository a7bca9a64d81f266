//! The one integration-test binary: drives the real `ledgerd` binary against temp dirs and
//! loopback servers.

// test code: unwrap/expect are how a test fails (the product denies them, Cargo.toml [lints])
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod agent_lessons;
mod agents;
mod alertmanager;
mod alerts;
mod cli;
mod config;
mod daemon;
mod deploy;
mod desktop;
mod dist;
mod email;
mod fleet;
mod fleet2_tree;
mod fleet_tree;
mod hardening;
mod openclaw_cli;
mod packs;
mod probes;
mod props;
mod support;
mod tidy;
mod web;
