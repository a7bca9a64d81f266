//! Fuzzes the shell reader with arbitrary text: it must never panic, overflow its stack or take
//! more than linear time (nesting past 64 levels is a finding, not a crash).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        ledgerd::fuzzing::shell(s);
    }
});
