//! Fuzz the DICOM reader (dicom-rs underneath). It reads from a path, so each input goes through
//! a file in /dev/shm (one per process) named `.dcm`.
//!
//! Differential check of `dicom::convert` against `read` + `write`: whenever the reader accepts an
//! input, converting it to `.nii` (the slice-by-slice path for uncompressed grey data) must give
//! the very file `write` makes of the image, and convert must fail exactly when read or write does.
#![no_main]
use libfuzzer_sys::fuzz_target;
use medseg::io::{Limits, ReadOptions, WriteOptions};

fuzz_target!(|data: &[u8]| {
    let dir = std::path::Path::new("/dev/shm");
    let base = if dir.is_dir() {
        dir.to_path_buf()
    } else {
        std::env::temp_dir()
    };
    let pid = std::process::id();
    let p = base.join(format!("medseg-fuzz-{pid}.dcm"));
    if std::fs::write(&p, data).is_err() {
        return;
    }
    let opts = ReadOptions {
        limits: Limits {
            max_bytes: 64 << 20,
        },
        ..Default::default()
    };
    let read = medseg::io::dicom::read(&p, &opts);
    let (a, b) = (
        base.join(format!("medseg-fuzz-{pid}-convert.nii")),
        base.join(format!("medseg-fuzz-{pid}-write.nii")),
    );
    let _ = (std::fs::remove_file(&a), std::fs::remove_file(&b));
    let converted = medseg::io::dicom::convert(&p, &a, &opts, &WriteOptions::default());
    match read {
        Ok(img) => {
            let written = medseg::io::write(&b, &img, &WriteOptions::default());
            assert_eq!(converted.is_ok(), written.is_ok(), "{converted:?} vs {written:?}");
            if written.is_ok() {
                let (x, y) = (std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
                assert!(x == y, "convert and read + write give different .nii files");
            }
        }
        Err(_) => assert!(converted.is_err(), "convert accepted an input read refused"),
    }
});
