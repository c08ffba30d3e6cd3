//! Fuzz the MINC reader: MINC1 (our netCDF parser) and MINC2 (the pure-Rust hdf5-reader). It
//! reads from a path, so each input goes through a file in /dev/shm (one per process) named
//! `.mnc`; the seeds hold both kinds.
#![no_main]
use libfuzzer_sys::fuzz_target;
use medseg::io::{Limits, ReadOptions};

fuzz_target!(|data: &[u8]| {
    let dir = std::path::Path::new("/dev/shm");
    let base = if dir.is_dir() {
        dir.to_path_buf()
    } else {
        std::env::temp_dir()
    };
    let p = base.join(format!("medseg-fuzz-{}.mnc", std::process::id()));
    if std::fs::write(&p, data).is_ok() {
        let opts = ReadOptions {
            limits: Limits {
                max_bytes: 64 << 20,
            },
            ..Default::default()
        };
        let _ = medseg::io::minc::read(&p, &opts);
    }
});
