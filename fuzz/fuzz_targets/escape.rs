//! Fuzzes every chat escaper and `fit`: the escaped text must never contain live markup for
//! its markup (checked inside `ledgerd::fuzzing::escape`, which panics on a violation).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        ledgerd::fuzzing::escape(s);
    }
});
