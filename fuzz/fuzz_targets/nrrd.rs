//! Fuzz the nrrd reader through its in-memory entry point.
#![no_main]
use libfuzzer_sys::fuzz_target;
use medseg::io::{Limits, ReadOptions};

fuzz_target!(|data: &[u8]| {
    // A small limit keeps forged sizes from turning into slow (not unsafe) allocations.
    let opts = ReadOptions {
        limits: Limits {
            max_bytes: 64 << 20,
        },
        ..Default::default()
    };
    let _ = medseg::io::nrrd::read_bytes(data, &opts);
});
