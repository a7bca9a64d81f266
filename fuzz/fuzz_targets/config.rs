//! Fuzzes the config loader (TOML parse, includes, vars, `${VAR}` expansion, probe and channel
//! kinds, validation) with arbitrary file contents: it must return a config or errors, never
//! panic, hang or grow without bound.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    ledgerd::fuzzing::config(data);
});
