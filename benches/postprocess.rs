//! Post-processing benchmarks (in-memory operations, no file I/O).
//!
//! Inputs: the peer harness volumes when present (`BENCH_DATA`, default `/dev/shm/bench`:
//! `labels.nii`, `seg_gt.nii`, `seg_pred.nii`, made by `../shared/bench/gen_data.py --only
//! labels,seg`), else a synthetic 512×512×300 label volume of random boxes so that the bench
//! always runs. `cargo bench --bench postprocess`.

use criterion::{Criterion, criterion_group, criterion_main};
use medseg::image::{Geometry, IDENTITY, Image};
use medseg::postprocess::components::{CcOptions, Components};
use medseg::postprocess::metrics::{MetricsOptions, evaluate};
use medseg::postprocess::{Connectivity, MinSize, fill_holes, largest_component, remove_small};
use std::hint::black_box;
use std::path::PathBuf;

fn data_dir() -> PathBuf {
    PathBuf::from(std::env::var("BENCH_DATA").unwrap_or_else(|_| "/dev/shm/bench".into()))
}

fn load(name: &str) -> Option<Image<u8>> {
    let p = data_dir().join(name);
    if !p.exists() {
        return None;
    }
    let d = medseg::io::read(&p, &Default::default()).ok()?;
    d.as_type::<u8>().ok().cloned()
}

fn synthetic(seed: u64) -> Image<u8> {
    let size = [512, 512, 300];
    let g = Geometry::new(size, [0.7, 0.7, 2.5], [0.0; 3], IDENTITY).expect("grid");
    let mut v = vec![0u8; 512 * 512 * 300];
    let mut s = seed;
    let mut rnd = |m: usize| {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((s >> 33) as usize) % m
    };
    for _ in 0..2000 {
        let (w, h, d) = (2 + rnd(30), 2 + rnd(30), 2 + rnd(10));
        let (i0, j0, k0) = (rnd(512 - w), rnd(512 - h), rnd(300 - d));
        let lab = 1 + rnd(4) as u8;
        for k in k0..k0 + d {
            for j in j0..j0 + h {
                let o = (k * 512 + j) * 512;
                v[o + i0..o + i0 + w].fill(lab);
            }
        }
    }
    Image::new(g, v).expect("image")
}

fn bench(c: &mut Criterion) {
    let labels = load("labels.nii").unwrap_or_else(|| synthetic(1));
    let gt = load("seg_gt.nii");
    let pred = load("seg_pred.nii");
    let mut g = c.benchmark_group("postprocess");
    g.sample_size(10);
    let bin26 = CcOptions {
        connectivity: Connectivity::C26,
        binary: true,
    };
    g.bench_function("cc26_label_runs", |b| {
        b.iter(|| black_box(Components::label(&labels, bin26).expect("cc").count()))
    });
    g.bench_function("cc26_to_u32_image", |b| {
        b.iter(|| {
            let cc = Components::label(&labels, bin26).expect("cc");
            black_box(cc.to_image(labels.geometry()).expect("img"))
        })
    });
    g.bench_function("cc26_to_compact_image", |b| {
        b.iter(|| {
            let cc = Components::label(&labels, bin26).expect("cc");
            black_box(cc.to_image_compact(labels.geometry()).expect("img"))
        })
    });
    g.bench_function("largest_cc", |b| {
        b.iter(|| black_box(largest_component(&labels, Connectivity::C26, false).expect("largest")))
    });
    g.bench_function("dust_lt1000", |b| {
        b.iter(|| {
            black_box(
                remove_small(&labels, Connectivity::C26, MinSize::Voxels(1000)).expect("dust"),
            )
        })
    });
    g.bench_function("fill_holes", |b| {
        b.iter(|| black_box(fill_holes(&labels).expect("fill")))
    });
    if let (Some(gt), Some(pred)) = (gt, pred) {
        g.bench_function("metrics_dice_hd95_nsd2", |b| {
            b.iter(|| black_box(evaluate(&gt, &pred, &MetricsOptions::default()).expect("metrics")))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
