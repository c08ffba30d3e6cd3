//! Timing of `medseg::io::read` (the library call alone, no statistics): `cargo run --release
//! --example bench_read -- FILE [ROUNDS]` prints the median and the fastest of ROUNDS reads in one
//! process. Used by `tools/bench_formats.py` to compare with SimpleITK and pynrrd.

use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: bench_read FILE [ROUNDS]");
        std::process::exit(2);
    };
    let rounds: usize = args.next().and_then(|r| r.parse().ok()).unwrap_or(5).max(1);
    let mut times = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let t = Instant::now();
        let img = match medseg::io::read(
            std::path::Path::new(&path),
            &medseg::io::ReadOptions::default(),
        ) {
            Ok(i) => i,
            Err(e) => {
                eprintln!("{e}");
                std::process::exit(1);
            }
        };
        times.push(t.elapsed().as_secs_f64());
        drop(img);
    }
    times.sort_by(f64::total_cmp);
    println!(
        "{{\"file\": \"{path}\", \"median_s\": {:.4}, \"min_s\": {:.4}, \"rounds\": {rounds}}}",
        times[rounds / 2],
        times[0]
    );
}
