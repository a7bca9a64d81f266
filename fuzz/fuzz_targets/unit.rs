//! Fuzzes `ledgerd::fuzzing::unit`: hostile bytes as the file or input that parser reads; it
//! must never panic, hang or produce unbounded evidence.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    ledgerd::fuzzing::unit(data);
});
