//! Fuzz the NIfTI / Analyze reader. It reads from a path, so each input goes through a file in
//! /dev/shm (one per process) named `.nii`.
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
    let p = base.join(format!("medseg-fuzz-{}.nii", std::process::id()));
    if std::fs::write(&p, data).is_ok() {
        let opts = ReadOptions {
            limits: Limits {
                max_bytes: 64 << 20,
            },
            ..Default::default()
        };
        let _ = medseg::io::nifti::read(&p, &opts);
    }
});
