//! NIfTI read/write and gzip on a synthetic CT-like volume (int16, body ellipse + organs + noise,
//! −3024 outside the reconstruction circle; compresses like the shared bench CT, ~40 %).
//!
//! `cargo bench --bench io` (set `MEDSEG_BENCH_SLICES` to change the slice count, default 96;
//! the shared bench CT has 300). Peer comparison: `tools/bench_io.sh`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use medseg::image::{DynImage, Geometry, Image};
use medseg::io::{self, ReadOptions, WriteOptions, compress};
use std::hint::black_box;
use std::io::Write;
use std::path::PathBuf;

fn ct_like(nk: usize) -> DynImage {
    let (ni, nj) = (512usize, 512usize);
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    let mut noise = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        // Sum of 4 uniforms ≈ Gaussian, σ ≈ 12 HU.
        let s: f64 = (0..4)
            .map(|b| ((seed >> (b * 16)) & 0xffff) as f64 / 65535.0)
            .sum();
        (s - 2.0) * 20.8
    };
    let mut v = Vec::with_capacity(ni * nj * nk);
    for k in 0..nk {
        for j in 0..nj {
            for i in 0..ni {
                let (x, y) = (i as f64 - 256.0, j as f64 - 256.0);
                let r2 = x * x + y * y;
                let hu = if r2 > 250.0 * 250.0 {
                    -3024.0
                } else if (x / 200.0).powi(2) + (y / 150.0).powi(2) > 1.0 {
                    -1000.0 + noise()
                } else if ((x - 60.0) / 70.0).powi(2) + ((y + 10.0) / 60.0).powi(2) < 1.0 {
                    60.0 + noise() + (k % 7) as f64
                } else if ((x + 70.0) / 60.0).powi(2) + (y / 80.0).powi(2) < 1.0 {
                    -850.0 + noise()
                } else if (x / 25.0).powi(2) + ((y - 100.0) / 25.0).powi(2) < 1.0 {
                    700.0 + noise()
                } else {
                    40.0 + noise()
                };
                v.push(hu.round() as i16);
            }
        }
    }
    let g = Geometry::new(
        [ni, nj, nk],
        [0.7, 0.7, 2.5],
        [-175.0, -210.0, -330.0],
        medseg::image::IDENTITY,
    )
    .unwrap();
    Image::new(g, v).unwrap().into()
}

fn bench(c: &mut Criterion) {
    let nk = std::env::var("MEDSEG_BENCH_SLICES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(96);
    let img = ct_like(nk);
    let raw_bytes = (512 * 512 * nk * 2) as u64;
    let dir = std::env::temp_dir().join(format!("medseg-bench-io-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = |n: &str| -> PathBuf { dir.join(n) };
    io::write(&p("ct.nii"), &img, &WriteOptions::default()).unwrap();
    io::write(&p("ct.nii.gz"), &img, &WriteOptions::default()).unwrap();
    // A single-member gzip, as ITK, nibabel and gzip write them (zlib level 6 here).
    let nii = std::fs::read(p("ct.nii")).unwrap();
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
    e.write_all(&nii).unwrap();
    let single = e.finish().unwrap();
    std::fs::write(p("ct_single.nii.gz"), &single).unwrap();
    let ro = ReadOptions::default();

    let mut g = c.benchmark_group("nifti_read");
    g.sample_size(10).throughput(Throughput::Bytes(raw_bytes));
    for n in ["ct.nii", "ct.nii.gz", "ct_single.nii.gz"] {
        g.bench_function(n, |b| b.iter(|| black_box(io::read(&p(n), &ro).unwrap())));
    }
    g.finish();

    let mut g = c.benchmark_group("nifti_write");
    g.sample_size(10).throughput(Throughput::Bytes(raw_bytes));
    for n in ["out.nii", "out.nii.gz"] {
        g.bench_function(n, |b| {
            b.iter(|| io::write(&p(n), &img, &WriteOptions::default()).unwrap())
        });
    }
    g.finish();

    let mut g = c.benchmark_group("gzip");
    g.sample_size(10)
        .throughput(Throughput::Bytes(nii.len() as u64));
    g.bench_function("gunzip_single_member", |b| {
        b.iter(|| black_box(compress::gunzip(&single, u64::MAX).unwrap()))
    });
    let multi = compress::gzip(&nii, compress::DEFAULT_LEVEL);
    g.bench_function("gunzip_multi_member", |b| {
        b.iter(|| black_box(compress::gunzip(&multi, u64::MAX).unwrap()))
    });
    for lvl in [1u32, 2, 4, 6] {
        g.bench_function(format!("gzip_level_{lvl}"), |b| {
            b.iter(|| black_box(compress::gzip(&nii, lvl)))
        });
    }
    g.finish();
    std::fs::remove_dir_all(&dir).ok();
}

criterion_group!(benches, bench);
criterion_main!(benches);
