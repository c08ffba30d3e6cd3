//! Preprocessing in memory on the benchmark's CT grid: 512×512×300 int16, 0.7×0.7×2.5 mm, oblique
//! direction Rz(5°)·Rx(12°) (as `../shared/bench/gen_data.py`), and a 320×320×64 float32 MR-like
//! volume with an oblique sagittal (PIR) direction.
//!
//! `cargo bench --bench process` (`MEDSEG_BENCH_SLICES` changes the CT slice count, default 300).
//! Rows: reorientation to RAS (CT: 2 flips; MR: permutation + flips), linear resampling of the CT
//! to 1 mm (→ 358×358×750), nearest resampling of labels, percentile (0.5/99.5) → uint8 of the CT
//! (histogram route) and the MR (selection route).

use criterion::{Criterion, criterion_group, criterion_main};
use medseg::image::{Geometry, Image};
use medseg::preprocess::intensity::{self, OutRange};
use medseg::preprocess::orient::{self, AxisCode};
use medseg::preprocess::resample::{self, Interpolation, ResampleOptions, TargetGrid};
use std::hint::black_box;

fn rot_z_x(z_deg: f64, x_deg: f64) -> [f64; 9] {
    let (sz, cz) = z_deg.to_radians().sin_cos();
    let (sx, cx) = x_deg.to_radians().sin_cos();
    // Rz · Rx, row-major.
    [cz, -sz * cx, sz * sx, sz, cz * cx, -cz * sx, 0.0, sx, cx]
}

fn noise(seed: &mut u64) -> f64 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    ((*seed >> 11) as f64 / (1u64 << 53) as f64) - 0.5
}

fn ct(nk: usize) -> Image<i16> {
    let g = Geometry::new(
        [512, 512, nk],
        [0.7, 0.7, 2.5],
        [-175.0, -210.0, -330.0],
        rot_z_x(5.0, 12.0),
    )
    .expect("grid");
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    let mut v = Vec::with_capacity(g.voxel_count());
    for k in 0..nk {
        for j in 0..512 {
            for i in 0..512 {
                let (x, y) = (i as f64 - 256.0, j as f64 - 256.0);
                let hu = if x * x + y * y > 250.0 * 250.0 {
                    -3024.0
                } else if (x / 200.0).powi(2) + (y / 150.0).powi(2) > 1.0 {
                    -1000.0 + 40.0 * noise(&mut seed)
                } else {
                    40.0 + (k % 13) as f64 + 40.0 * noise(&mut seed)
                };
                v.push(hu as i16);
            }
        }
    }
    Image::new(g, v).expect("image")
}

fn mr() -> Image<f32> {
    // Columns: i → P, j → I, k → R, tilted 8° about x.
    let (s, c) = 8f64.to_radians().sin_cos();
    let d = [0.0, 0.0, -1.0, c, s, 0.0, s, -c, 0.0];
    let g = Geometry::new([320, 320, 64], [0.5, 0.5, 3.0], [10.0, -20.0, 30.0], d).expect("grid");
    let mut seed = 42u64;
    let v = (0..g.voxel_count())
        .map(|n| (200.0 + 80.0 * noise(&mut seed) + (n % 320) as f64 * 0.1) as f32)
        .collect();
    Image::new(g, v).expect("image")
}

fn bench(c: &mut Criterion) {
    let nk = std::env::var("MEDSEG_BENCH_SLICES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300);
    let ct = ct(nk);
    let mr = mr();
    let labels = ct.map(|v| if v > 30 { (v % 4) as u8 } else { 0 });
    let ras = AxisCode::parse("RAS").expect("code");
    let mut g = c.benchmark_group("process");
    g.sample_size(10);
    g.bench_function("reorient_ct_ras", |b| {
        b.iter(|| black_box(orient::reorient(&ct, &ras).expect("reorient")))
    });
    g.bench_function("reorient_mr_ras", |b| {
        b.iter(|| black_box(orient::reorient(&mr, &ras).expect("reorient")))
    });
    let linear = ResampleOptions::default();
    g.bench_function("resample_ct_linear_1mm", |b| {
        b.iter(|| {
            black_box(
                resample::resample(&ct, &TargetGrid::Spacing([1.0; 3]), &linear).expect("resample"),
            )
        })
    });
    let nearest = ResampleOptions {
        interpolation: Interpolation::Nearest,
        ..Default::default()
    };
    g.bench_function("resample_lab_nearest_1mm", |b| {
        b.iter(|| {
            black_box(
                resample::resample(&labels, &TargetGrid::Spacing([1.0; 3]), &nearest)
                    .expect("resample"),
            )
        })
    });
    g.bench_function("norm_ct_p0.5_99.5_u8", |b| {
        b.iter(|| {
            black_box(
                intensity::percentile_normalize(&ct, 0.5, 99.5, false, OutRange::U8).expect("norm"),
            )
        })
    });
    g.bench_function("norm_mr_p0.5_99.5_u8", |b| {
        b.iter(|| {
            black_box(
                intensity::percentile_normalize(&mr, 0.5, 99.5, false, OutRange::U8).expect("norm"),
            )
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
