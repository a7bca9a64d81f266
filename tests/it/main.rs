//! The one integration-test binary: drives the real `ledgerd` binary against temp dirs and
//! loopback servers.

mod cli;
mod config;
mod daemon;
mod support;
mod tidy;
mod web;
