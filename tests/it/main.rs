//! The one integration-test binary: drives the real `ledgerd` binary against temp dirs and
//! loopback servers.

mod alerts;
mod cli;
mod config;
mod daemon;
mod packs;
mod probes;
mod support;
mod tidy;
mod web;
