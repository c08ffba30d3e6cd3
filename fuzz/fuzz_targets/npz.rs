//! Fuzz the npz (zip) reader: directory parsing, every member, and the default image.
#![no_main]
use libfuzzer_sys::fuzz_target;
use medseg::io::Limits;
use medseg::io::npy::Npz;

fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        max_bytes: 64 << 20,
    };
    if let Ok(z) = Npz::from_bytes(data.to_vec(), &limits) {
        let names: Vec<String> = z.names().iter().map(|s| s.to_string()).collect();
        for n in &names {
            let _ = z.image(n);
        }
        let _ = z.default_image();
        let _ = z.spacing();
    }
});
