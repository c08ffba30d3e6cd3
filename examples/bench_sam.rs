//! Warm timings of the SAM engine on one challenge case: encoder per slice (batch 1 and the
//! model's batch), and one box → mask after the slice is encoded (decoder + crop/upsample/
//! threshold), median of repeated calls. Used by `tools/bench_sam.py`; not a test.
//!
//!     cargo run --release --example bench_sam -- MODEL_DIR CASE.npz [THREADS] [REPEATS]

use medseg::inference::onnx::SessionConfig;
use medseg::inference::sam::propagate::{EmbeddingCache, Engine, SliceStack};
use medseg::inference::sam::{SamBackend, SamModel, challenge, prepare_slice};
use std::time::Instant;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() -> medseg::Result<()> {
    let a: Vec<String> = std::env::args().collect();
    if a.len() < 3 {
        eprintln!("usage: bench_sam MODEL_DIR CASE.npz [THREADS] [REPEATS]");
        std::process::exit(2);
    }
    let threads = a.get(3).and_then(|s| s.parse().ok()).unwrap_or(2);
    let reps: usize = a.get(4).and_then(|s| s.parse().ok()).unwrap_or(10);
    let cfg = SessionConfig {
        threads: Some(threads),
        ..Default::default()
    };
    let t0 = Instant::now();
    let model = SamModel::load(a[1].as_ref(), &cfg)?;
    let load = t0.elapsed().as_secs_f64();
    let case = challenge::read_case(a[2].as_ref())?;
    let [d, h, w] = case.dhw;
    let stack = SliceStack::new(&case.imgs, d, h, w, case.channels)?;
    let z = d / 2;
    let b = case.boxes[0];
    let t1 = Instant::now();
    let p = prepare_slice(stack.slice(z), h, w, case.channels, model.input_size())?;
    let prep = t1.elapsed().as_secs_f64();
    let mut enc1 = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        model.encode(&p.input, 1)?;
        enc1.push(t.elapsed().as_secs_f64());
    }
    let nb = model.max_batch();
    let mut encb = Vec::new();
    if nb > 1 {
        let batch: Vec<f32> = (0..nb).flat_map(|_| p.input.iter().copied()).collect();
        for _ in 0..2 {
            let t = Instant::now();
            model.encode(&batch, nb)?;
            encb.push(t.elapsed().as_secs_f64() / nb as f64);
        }
    }
    let mut engine = Engine::new(&model);
    let mut cache = EmbeddingCache::new(64 << 20);
    engine.embedding(&stack, &mut cache, z, &[])?;
    let mut one = Vec::new();
    for _ in 0..reps {
        let t = Instant::now();
        engine.segment_2d(&stack, &mut cache, z, &[[b[0], b[1], b[3], b[4]]])?;
        one.push(t.elapsed().as_secs_f64());
    }
    println!(
        "{{\"case\": \"{}\", \"threads\": {threads}, \"model_load_s\": {load:.3}, \"prepare_slice_s\": {prep:.4}, \"encoder_batch1_s\": {:.3}, \"encoder_batch{nb}_per_slice_s\": {:.3}, \"box_to_mask_warm_ms\": {:.1}}}",
        case.name,
        median(enc1),
        if encb.is_empty() {
            f64::NAN
        } else {
            median(encb)
        },
        median(one) * 1e3
    );
    Ok(())
}
