//! Fuzz the parallel inflater (`src/io/pinflate.rs`) below its size thresholds: any input is taken
//! as a zlib stream and inflated in 2, 3 and 4 chunks; an accepted result must equal zlib's.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    medseg::io::compress::fuzz_parallel_inflate(data);
});
