//! The TotalSpineSeg pipeline (`medseg::pipeline`, `medseg::spine::pipeline`):
//!
//! * the in-memory post-processing core and its folder shell against the oracle's stage
//!   digests (`tests/fixtures/spine/`, the same fixtures `tests/spine.rs` uses);
//! * the whole flow with real ONNX Runtime on the tiny decoder models of
//!   `tests/fixtures/spine_models/tss` (made by `tools/make_spine_test_models.py`): the coded
//!   image of the oracle's `cervical` case must come out voxel-identical to the oracle's
//!   step-1 and step-2 outputs, also from a non-canonical input orientation;
//! * cancellation, the "no landmark" error, and model-folder errors.
//!
//! Network tests need the project-local ONNX Runtime (`tools/setup_ort.sh`); without it they
//! FAIL saying so.

use medseg::image::{DynImage, Geometry, Image};
use medseg::inference::predict::PredictConfig;
use medseg::inference::runtime;
use medseg::io::{self, ReadOptions};
use medseg::pipeline::spine::{SpineConfig, SpineModel};
use medseg::pipeline::{Model, PipelineKind};
use medseg::spine::pipeline::{
    CoreOptions, PipelineOptions, Product, SoftChannels, postprocess_step1, postprocess_step2,
    step1_postprocess, step2_postprocess,
};
use medseg::{ErrorKind, Result};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

static SERIAL: Mutex<()> = Mutex::new(());

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}
fn models() -> PathBuf {
    root().join("spine_models/tss")
}

fn read(p: &Path) -> Result<DynImage> {
    io::read(p, &ReadOptions::default())
}

fn fnv64(b: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for &x in b {
        h ^= x as u64;
        h = h.wrapping_mul(0x100000001b3);
    }
    h
}

/// Same digest as `tests/spine.rs` / `manifest.json`.
fn digest(img: &DynImage) -> String {
    let b = img.to_le_bytes();
    let mut c = flate2::Crc::new();
    c.update(&b);
    format!(
        "{:08x}-{:016x}-{}-{}",
        c.sum(),
        fnv64(&b),
        b.len(),
        img.pixel_type()
    )
}

fn manifest() -> Value {
    let t = std::fs::read_to_string(root().join("spine/manifest.json")).expect("spine manifest");
    serde_json::from_str(&t).expect("manifest json")
}

fn grid_from(v: &Value) -> Geometry {
    let f = |k: &str| -> Vec<f64> {
        v[k].as_array()
            .expect("grid field")
            .iter()
            .filter_map(|x| x.as_f64())
            .collect()
    };
    let s = f("size");
    let (sp, o, d) = (f("spacing"), f("origin"), f("direction"));
    let mut dir = [0.0; 9];
    dir.copy_from_slice(&d[..9]);
    Geometry::new(
        [s[0] as usize, s[1] as usize, s[2] as usize],
        [sp[0], sp[1], sp[2]],
        [o[0], o[1], o[2]],
        dir,
    )
    .expect("manifest grid")
}

fn want(man: &Value, case: &str, stage: &str) -> String {
    man["cases"][case]["stages"][stage]["digest"]
        .as_str()
        .unwrap_or_else(|| panic!("{case}/{stage}: no digest"))
        .to_string()
}

fn require_runtime() {
    if let Err(e) = runtime::find(None) {
        panic!(
            "ONNX Runtime is not installed: run `tools/setup_ort.sh` first. {}",
            e.message()
        );
    }
}

fn cfg1() -> SpineConfig {
    let mut c = SpineConfig::default();
    c.predict.session.threads = Some(1);
    c
}

// ---------------------------------------------------------------- in-memory core

/// Step-1 and step-2 core on the oracle's raw labels (+ npz, localizer) = the oracle's
/// step1_output, canal, cord, levels, step-2 input, step2_output and native-grid products.
fn core_case(case: &str) {
    let man = manifest();
    let dir = root().join("spine").join(case);
    let grid = grid_from(&man["cases"][case]["grids"]["input"]);
    let native = grid_from(&man["cases"][case]["grids"]["input_raw"]);
    // Only the grid of the 1 mm image matters to these products.
    let image = DynImage::I16(Image::filled(grid, 0));
    let raw1 = read(&dir.join("step1_raw.nii.gz")).unwrap();
    let loc_p = dir.join("localizer.nii.gz");
    let loc = loc_p.exists().then(|| read(&loc_p).unwrap());
    let (shape, ch) =
        medseg::spine::npz::read_channels(&dir.join("step1_raw.npz"), "probabilities", &[7, 8])
            .unwrap();
    assert_eq!(shape[1..], [grid.size[2], grid.size[1], grid.size[0]]);
    let soft = SoftChannels {
        canal: &ch[0],
        cord: &ch[1],
    };
    let o = CoreOptions::default();
    let p1 = step1_postprocess(&raw1, Some(&image), Some(soft), loc.as_ref(), &o).unwrap();
    assert!(p1.errors.is_empty(), "{case}: {:?}", p1.errors);
    assert_eq!(
        digest(&p1.output),
        want(&man, case, "step1_output"),
        "{case}"
    );
    let canal = p1.canal.as_ref().unwrap();
    let cord = p1.cord.as_ref().unwrap();
    let levels = p1.levels.as_ref().unwrap();
    assert_eq!(digest(canal), want(&man, case, "step1_canal"), "{case}");
    assert_eq!(digest(cord), want(&man, case, "step1_cord"), "{case}");
    assert_eq!(digest(levels), want(&man, case, "step1_levels"), "{case}");
    let s2 = p1.step2_input.as_ref().unwrap();
    let crop = grid_from(&man["cases"][case]["stages"]["step2_input_0000"]["grid"]);
    assert!(
        s2.image.geometry().same_grid(&crop, 1e-6),
        "{case}: crop grid"
    );
    assert_eq!(
        digest(&DynImage::U8(s2.odd_discs.clone())),
        want(&man, case, "step2_input_0001"),
        "{case}"
    );
    let raw2 = read(&dir.join("step2_raw.nii.gz")).unwrap();
    let out2 = step2_postprocess(&raw2, Some(&grid), loc.as_ref(), &o).unwrap();
    assert_eq!(digest(&out2), want(&man, case, "step2_output"), "{case}");
    for (p, img, stage) in [
        (Product::Step1Output, &p1.output, "final_step1_output"),
        (Product::Step1Canal, canal, "final_step1_canal"),
        (Product::Step1Cord, cord, "final_step1_cord"),
        (Product::Step1Levels, levels, "final_step1_levels"),
        (Product::Step2Output, &out2, "final_step2_output"),
    ] {
        let r = p.to_grid(img, &native).unwrap();
        assert_eq!(digest(&r), want(&man, case, stage), "{case}/{stage}");
    }
}

#[test]
fn core_matches_the_oracle_cervical() {
    core_case("cervical");
}

#[test]
fn core_matches_the_oracle_lumbar() {
    core_case("lumbar");
}

#[test]
fn core_matches_the_oracle_thoracic_with_localizer() {
    core_case("thoracic_with_localizer");
}

#[test]
fn core_reports_the_reference_error_without_landmarks() {
    let man = manifest();
    let raw1 = read(&root().join("spine/thoracic/step1_raw.nii.gz")).unwrap();
    let e = step1_postprocess(&raw1, None, None, None, &CoreOptions::default()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Content);
    let msg = man["cases"]["thoracic"]["stages"]["step1_iterlabel"]["error"]
        .as_str()
        .unwrap();
    assert_eq!(e.message(), msg);
}

#[test]
fn core_rejects_foreign_labels_and_bad_probabilities() {
    let g = Geometry::new([8, 8, 8], [1.0; 3], [0.0; 3], medseg::image::IDENTITY).unwrap();
    let bad = DynImage::U8(Image::filled(g, 12));
    let e = step1_postprocess(&bad, None, None, None, &CoreOptions::default()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Content, "{e}");
    let e = step2_postprocess(
        &DynImage::U8(Image::filled(g, 0)),
        None,
        None,
        &Default::default(),
    )
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Content, "{e}");
    // Probability channels of the wrong length: the soft maps fail, step 1 still succeeds.
    let man = manifest();
    let raw1 = read(&root().join("spine/cervical/step1_raw.nii.gz")).unwrap();
    let short = vec![0f32; 10];
    let p = step1_postprocess(
        &raw1,
        None,
        Some(SoftChannels {
            canal: &short,
            cord: &short,
        }),
        None,
        &CoreOptions::default(),
    )
    .unwrap();
    assert!(p.canal.is_none() && p.cord.is_none());
    assert_eq!(p.errors.len(), 2);
    assert!(
        p.errors
            .iter()
            .all(|(_, e)| e.kind() == ErrorKind::Mismatch)
    );
    // Without an image: output on the raw grid, no step-2 input.
    assert_eq!(digest(&p.output), want(&man, "cervical", "step1_output"));
    assert!(p.step2_input.is_none());
}

// ---------------------------------------------------------------- folder shell

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "medseg_spine_pipeline_{}_{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn put(dir: &Path, rel: &str, img: &DynImage) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    io::write(&p, img, &Default::default()).unwrap();
}

/// `postprocess_step1(dir)` then `postprocess_step2(dir)` on a TotalSpineSeg folder built from
/// the fixtures: every written file equals the oracle.
fn folder_case(case: &str) {
    let man = manifest();
    let src = root().join("spine").join(case);
    let d = scratch(case);
    let grid = grid_from(&man["cases"][case]["grids"]["input"]);
    let native = grid_from(&man["cases"][case]["grids"]["input_raw"]);
    put(
        &d,
        &format!("input/{case}_0000.nii.gz"),
        &DynImage::I16(Image::filled(grid, 7)),
    );
    put(
        &d,
        &format!("input_raw/{case}_0000.nii.gz"),
        &DynImage::I16(Image::filled(native, 7)),
    );
    std::fs::create_dir_all(d.join("step1_raw")).unwrap();
    std::fs::copy(
        src.join("step1_raw.nii.gz"),
        d.join(format!("step1_raw/{case}.nii.gz")),
    )
    .unwrap();
    std::fs::copy(
        src.join("step1_raw.npz"),
        d.join(format!("step1_raw/{case}.npz")),
    )
    .unwrap();
    if src.join("localizer.nii.gz").exists() {
        std::fs::create_dir_all(d.join("localizers")).unwrap();
        std::fs::copy(
            src.join("localizer.nii.gz"),
            d.join(format!("localizers/{case}.nii.gz")),
        )
        .unwrap();
    }
    let o = PipelineOptions::default();
    let r1 = postprocess_step1(&d, &o).unwrap();
    assert!(r1[0].errors.is_empty(), "{case}: {:?}", r1[0].errors);
    let rd = |rel: String| read(&d.join(rel)).unwrap();
    assert_eq!(
        digest(&rd(format!("step2_input/{case}_0001.nii.gz"))),
        want(&man, case, "step2_input_0001")
    );
    let crop = rd(format!("step2_input/{case}_0000.nii.gz"));
    let cg = grid_from(&man["cases"][case]["stages"]["step2_input_0000"]["grid"]);
    assert!(crop.geometry().same_grid(&cg, 1e-6));
    std::fs::create_dir_all(d.join("step2_raw")).unwrap();
    std::fs::copy(
        src.join("step2_raw.nii.gz"),
        d.join(format!("step2_raw/{case}.nii.gz")),
    )
    .unwrap();
    let r2 = postprocess_step2(&d, &o).unwrap();
    assert!(r2[0].errors.is_empty(), "{case}: {:?}", r2[0].errors);
    for p in Product::ALL {
        let img = rd(format!("{}/{case}.nii.gz", p.folder()));
        assert_eq!(
            digest(&img),
            want(&man, case, &format!("final_{}", p.folder())),
            "{case}/{}",
            p.folder()
        );
    }
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn folder_chain_matches_the_oracle_cervical() {
    folder_case("cervical");
}

#[test]
fn folder_chain_matches_the_oracle_thoracic_with_localizer() {
    folder_case("thoracic_with_localizer");
}

// ---------------------------------------------------------------- networks

fn coded() -> DynImage {
    read(&root().join("spine_models/cervical_coded.nii.gz")).unwrap()
}

fn check_cervical(out: &medseg::pipeline::SpineOutputs, man: &Value) {
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    assert_eq!(
        digest(&out.step1_output),
        want(man, "cervical", "step1_output")
    );
    assert_eq!(
        digest(out.step1_levels.as_ref().unwrap()),
        want(man, "cervical", "step1_levels")
    );
    assert_eq!(
        digest(out.step2_output.as_ref().unwrap()),
        want(man, "cervical", "step2_output")
    );
}

#[test]
fn end_to_end_reproduces_the_oracle_case() {
    require_runtime();
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let man = manifest();
    let model = SpineModel::load(&models()).unwrap();
    let img = coded();
    let mut fr = Vec::new();
    let out = model
        .run(&img, &cfg1(), &mut |f, s| {
            fr.push((f, s.to_string()));
            true
        })
        .unwrap();
    check_cervical(&out, &man);
    // The networks reproduce the oracle's raw outputs; step-2 input and raw are cropped.
    let raw1 = read(&root().join("spine/cervical/step1_raw.nii.gz")).unwrap();
    assert_eq!(digest(&out.step1_raw), digest(&raw1));
    let raw2 = read(&root().join("spine/cervical/step2_raw.nii.gz")).unwrap();
    assert_eq!(digest(out.step2_raw.as_ref().unwrap()), digest(&raw2));
    assert_eq!(
        digest(out.step2_odd_discs.as_ref().unwrap()),
        want(&man, "cervical", "step2_input_0001")
    );
    // Soft maps: float32 on the input grid, probabilities inside the canal only.
    for s in [&out.step1_canal, &out.step1_cord] {
        let s = s.as_ref().unwrap();
        assert!(s.geometry().same_grid(img.geometry(), 1e-9));
        let v: Image<f32> = s.cast();
        let mx = v.data().iter().cloned().fold(0f32, f32::max);
        assert!(mx > 0.99 && mx <= 1.0, "max {mx}");
    }
    // Progress: monotone from 0 to 1, with stage names of both steps.
    assert!(fr.windows(2).all(|w| w[0].0 <= w[1].0 + 1e-12));
    assert_eq!(fr.first().unwrap().0, 0.0);
    assert_eq!(fr.last().unwrap().0, 1.0);
    assert!(fr.iter().any(|(_, s)| s.starts_with("step 1: ")));
    assert!(fr.iter().any(|(_, s)| s.starts_with("step 2: ")));
}

/// Axis permutation + flip of a 3-D image, geometry kept consistent: new (i, j, k) = old
/// (k, ny-1-j, i).
fn permute(img: &DynImage) -> DynImage {
    let g = *img.geometry();
    let [nx, ny, nz] = g.size;
    let u: Image<u8> = img.cast();
    let d = u.data();
    let size = [nz, ny, nx];
    let mut out = vec![0u8; d.len()];
    for k in 0..nx {
        for j in 0..ny {
            for i in 0..nz {
                let (ox, oy, oz) = (k, ny - 1 - j, i);
                out[(k * ny + j) * nz + i] = d[(oz * ny + oy) * nx + ox];
            }
        }
    }
    let col = |c: usize| [g.direction[c], g.direction[3 + c], g.direction[6 + c]];
    let (c0, c1, c2) = (col(2), col(1).map(|v| -v), col(0));
    let dir = [
        c0[0], c1[0], c2[0], c0[1], c1[1], c2[1], c0[2], c1[2], c2[2],
    ];
    let origin = g.index_to_point([0.0, (ny - 1) as f64, 0.0]);
    let ng = Geometry::new(
        size,
        [g.spacing[2], g.spacing[1], g.spacing[0]],
        origin,
        dir,
    )
    .unwrap();
    DynImage::U8(Image::new(ng, out).unwrap())
}

#[test]
fn model_api_on_a_non_canonical_input() {
    require_runtime();
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let man = manifest();
    let model = Model::load(&models(), PipelineKind::Auto).unwrap();
    assert_eq!(model.kind(), PipelineKind::Spine);
    assert_eq!(model.in_channels(), 1);
    let labels = model.labels();
    assert!(
        labels
            .iter()
            .any(|(v, n, _)| *v == 100 && n.contains("L5-S"))
    );
    assert!(labels.iter().any(|(v, n, _)| *v == 1 && n == "spinal cord"));
    assert_eq!(labels.len(), 2 + 26 + 24);
    let canon = coded();
    let img = permute(&canon);
    assert!(!img.geometry().same_grid(canon.geometry(), 1e-6));
    let mut cfg = PredictConfig::default();
    cfg.session.threads = Some(1);
    let out = model
        .predict(std::slice::from_ref(&img), &cfg, &mut |_, _| true)
        .unwrap();
    // On the input grid; brought back onto the canonical grid it is the oracle's step2_output.
    assert!(out.geometry().same_grid(img.geometry(), 1e-9));
    let back = Product::Step2Output
        .to_grid(&out, canon.geometry())
        .unwrap();
    assert_eq!(digest(&back), want(&man, "cervical", "step2_output"));
    let e = model
        .predict(&[img.clone(), img], &cfg, &mut |_, _| true)
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Mismatch);
}

#[test]
fn iso_and_step1_only() {
    require_runtime();
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let man = manifest();
    let model = SpineModel::load(&models()).unwrap();
    let canon = coded();
    let img = permute(&canon);
    let mut c = cfg1();
    c.iso = true;
    c.step1_only = true;
    let out = model.run(&img, &c, &mut |_, _| true).unwrap();
    assert!(out.step2_output.is_none() && out.step2_raw.is_none());
    // iso: the products stay on the 1 mm canonical grid (= the coded image's grid here).
    assert!(
        out.step1_output
            .geometry()
            .same_grid(canon.geometry(), 1e-6)
    );
    assert_eq!(
        digest(&out.step1_output),
        want(&man, "cervical", "step1_output")
    );
}

#[test]
fn cancel_returns_cancelled_at_any_stage() {
    require_runtime();
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let model = SpineModel::load(&models()).unwrap();
    let img = coded();
    for stop_at in [
        "preprocess",
        "step 1: ",
        "step 1: post",
        "step 2: ",
        "to the input grid",
    ] {
        let r = model.run(&img, &cfg1(), &mut |_, s| !s.starts_with(stop_at));
        let e = r
            .err()
            .unwrap_or_else(|| panic!("no cancel at '{stop_at}'"));
        assert_eq!(e.kind(), ErrorKind::Cancelled, "{stop_at}: {e}");
    }
}

/// A canal column with cord, plain (non-landmark) discs and generic vertebrae, LPS axes.
fn synthetic(spacing: f64) -> DynImage {
    let g = Geometry::new(
        [24, 40, 60],
        [spacing; 3],
        [10.0, -5.0, 3.0],
        medseg::image::IDENTITY,
    )
    .unwrap();
    let [nx, ny, nz] = g.size;
    let mut v = vec![0u8; nx * ny * nz];
    for z in 0..nz {
        for y in 0..ny {
            for x in 0..nx {
                let (dx, dy) = (x as i64 - 12, y as i64 - 10);
                let code = if dx * dx + dy * dy <= 4 {
                    119 // cord
                } else if dx * dx + dy * dy <= 16 {
                    108 // canal
                } else if (16..=30).contains(&y) && dx.abs() <= 7 && z % 12 < 3 {
                    11 // disc (no landmark)
                } else if (16..=30).contains(&y) && dx.abs() <= 7 {
                    66 // vertebra
                } else {
                    0
                };
                v[(z * ny + y) * nx + x] = code;
            }
        }
    }
    DynImage::U8(Image::new(g, v).unwrap())
}

#[test]
fn synthetic_images_give_labels_on_the_input_grid_or_typed_errors() {
    require_runtime();
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let model = SpineModel::load(&models()).unwrap();
    // 1 mm: no landmark disc at all → step 1 fails with the reference's error.
    match model.run(&synthetic(1.0), &cfg1(), &mut |_, _| true) {
        Ok(o) => panic!("expected the no-landmark error, got {o:?}"),
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::Content, "{}", e.chain());
            assert!(e.message().contains("landmark"), "{}", e.message());
        }
    }
    // 1.2 mm: resampled to 1 mm and back; linear interpolation between the codes of discs
    // and vertebrae makes landmark codes at their borders, so step 1 anchors; step 2 has no
    // odd/even vertebrae → its typed error; step-1 products are on the input grid.
    let img = synthetic(1.2);
    let out = model.run(&img, &cfg1(), &mut |_, _| true).unwrap();
    for p in [&out.step1_output]
        .into_iter()
        .chain(out.step1_levels.as_ref())
        .chain(out.step1_canal.as_ref())
    {
        assert!(p.geometry().same_grid(img.geometry(), 1e-9));
    }
    assert_eq!(out.image_1mm.geometry().spacing, [1.0; 3]);
    assert!(out.step2_output.is_none());
    assert_eq!(out.errors.len(), 1, "{:?}", out.errors);
    assert_eq!(out.errors[0].1.kind(), ErrorKind::Content);
    let m = Model::Spine(model);
    let Err(e) = m.predict(&[img], &PredictConfig::default(), &mut |_, _| true) else {
        panic!("expected a typed error");
    };
    assert_eq!(e.kind(), ErrorKind::Content, "{}", e.chain());
}

// ---------------------------------------------------------------- model folders

fn copy_dir(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    for e in std::fs::read_dir(src).unwrap() {
        let e = e.unwrap();
        let t = dst.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &t);
        } else {
            std::fs::copy(e.path(), &t).unwrap();
        }
    }
}

#[test]
fn model_folder_errors_are_typed() {
    let d = scratch("models");
    // Missing step2.
    copy_dir(&models().join("step1"), &d.join("a/step1"));
    let e = SpineModel::load(&d.join("a")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Model, "{e}");
    // Without step2/ Auto falls back to nnU-Net: a plain nnU-Net model.
    let m = Model::load(&d.join("a/step1"), PipelineKind::Auto).unwrap();
    assert_eq!(m.kind(), PipelineKind::NnUnet);
    assert_eq!(m.labels().len(), 9);
    // Steps swapped: wrong channel counts.
    copy_dir(&models().join("step1"), &d.join("b/step2"));
    copy_dir(&models().join("step2"), &d.join("b/step1"));
    let e = SpineModel::load(&d.join("b")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Model);
    assert!(e.message().contains("input channel"), "{e}");
    // Wrong label values in step 1.
    copy_dir(&models(), &d.join("c"));
    let ds = d.join("c/step1/dataset.json");
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(&ds).unwrap()).unwrap();
    v["regions_class_order"] = serde_json::json!([1, 2, 3, 4, 5, 6, 7, 8, 10]);
    std::fs::write(&ds, v.to_string()).unwrap();
    let e = SpineModel::load(&d.join("c")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Model);
    assert!(e.message().contains("labels"), "{e}");
    // A manifest naming the two folders.
    copy_dir(&models().join("step1"), &d.join("e/first"));
    copy_dir(&models().join("step2"), &d.join("e/second"));
    std::fs::write(
        d.join("e/medseg.json"),
        r#"{"format": "medseg-model", "kind": "totalspineseg", "step1": "first", "step2": "second"}"#,
    )
    .unwrap();
    let m = Model::load(&d.join("e"), PipelineKind::Auto).unwrap();
    assert_eq!(m.kind(), PipelineKind::Spine);
    // Forcing the wrong kind is a typed error.
    let e = Model::load(&d.join("e"), PipelineKind::NnUnet).unwrap_err();
    assert!(
        matches!(e.kind(), ErrorKind::Model | ErrorKind::Unsupported),
        "{e}"
    );
    let e = Model::load(&d.join("nowhere"), PipelineKind::Spine).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Model);
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn cli_spine_run_writes_the_totalspineseg_layout() {
    require_runtime();
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let man = manifest();
    let d = scratch("cli");
    let input = d.join("case7.nii.gz");
    io::write(&input, &coded(), &Default::default()).unwrap();
    let out = d.join("out");
    let st = std::process::Command::new(env!("CARGO_BIN_EXE_medseg"))
        .args(["spine", "run", "--model"])
        .arg(models())
        .arg(&input)
        .arg(&out)
        .args(["--threads", "1", "--quiet"])
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    for f in [
        "step1_output",
        "step1_canal",
        "step1_cord",
        "step1_levels",
        "step2_output",
        "step1_raw",
        "step2_raw",
    ] {
        assert!(out.join(f).join("case7.nii.gz").is_file(), "{f}");
    }
    let s2 = read(&out.join("step2_output/case7.nii.gz")).unwrap();
    assert_eq!(digest(&s2), want(&man, "cervical", "step2_output"));
    // A missing model folder: exit 3, nothing written.
    let st = std::process::Command::new(env!("CARGO_BIN_EXE_medseg"))
        .args(["spine", "run", "--model"])
        .arg(d.join("none"))
        .arg(&input)
        .arg(d.join("out2"))
        .output()
        .unwrap();
    assert_eq!(st.status.code(), Some(3));
    assert!(!d.join("out2").exists());
    let _ = std::fs::remove_dir_all(&d);
}
