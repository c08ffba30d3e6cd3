#![allow(clippy::needless_range_loop)]
//! Preprocessing against reference tools (SimpleITK, nibabel, numpy; fixtures made by
//! `tools/make_preprocess_fixtures.py`), property tests, and bad-input tests.

use medseg::image::{DynImage, Geometry, IDENTITY, Image, PixelType};
use medseg::preprocess::crop_pad::{self, BBox, Margin, PadMode};
use medseg::preprocess::intensity::{self, OutRange, WindowScale};
use medseg::preprocess::orient::{self, AxisCode};
use medseg::preprocess::resample::{
    self, Interpolation, ResampleOptions, Rounding, TargetGrid, target_geometry,
};
use medseg::preprocess::{Undo, resample::resample_dyn};
use medseg::{ErrorKind, dispatch};
use serde_json::Value;
use std::path::PathBuf;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/preprocess")
}

fn manifest() -> Value {
    let text = std::fs::read_to_string(dir().join("manifest.json")).expect("manifest");
    serde_json::from_str(&text).expect("json")
}

fn arr3(v: &Value) -> [f64; 3] {
    let a: Vec<f64> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    [a[0], a[1], a[2]]
}

fn load(m: &Value, name: &str) -> DynImage {
    let e = &m["images"][name];
    let size: Vec<usize> = e["size"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as usize)
        .collect();
    let mut d = [0.0; 9];
    for (o, x) in d.iter_mut().zip(e["direction"].as_array().unwrap()) {
        *o = x.as_f64().unwrap();
    }
    let g = Geometry::new(
        [size[0], size[1], size[2]],
        arr3(&e["spacing"]),
        arr3(&e["origin"]),
        d,
    )
    .unwrap();
    let bytes = std::fs::read(dir().join(e["file"].as_str().unwrap())).unwrap();
    let pt = PixelType::from_name(e["dtype"].as_str().unwrap()).unwrap();
    DynImage::from_bytes(pt, g, 1, 1, &bytes, false).unwrap()
}

fn cases<'a>(m: &'a Value, kind: &str) -> Vec<&'a Value> {
    m["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["kind"] == kind)
        .collect()
}

fn values(img: &DynImage) -> Vec<f64> {
    dispatch!(img, i => i.data().iter().map(|v| medseg::Pixel::to_f64(*v)).collect())
}

fn assert_geometry(a: &Geometry, b: &Geometry, tol: f64, what: &str) {
    assert_eq!(a.size, b.size, "{what}: size");
    for i in 0..3 {
        assert!(
            (a.spacing[i] - b.spacing[i]).abs() <= tol,
            "{what}: spacing {a:?} vs {b:?}"
        );
        assert!(
            (a.origin[i] - b.origin[i]).abs() <= tol,
            "{what}: origin {a:?} vs {b:?}"
        );
    }
    for i in 0..9 {
        assert!(
            (a.direction[i] - b.direction[i]).abs() <= tol,
            "{what}: direction {a:?} vs {b:?}"
        );
    }
}

// ---------------------------------------------------------------- reorientation (oracle)

#[test]
fn reorient_matches_simpleitk_dicomorient() {
    let m = manifest();
    let cs = cases(&m, "reorient");
    assert_eq!(cs.len(), 8);
    for c in cs {
        let input = load(&m, c["input"].as_str().unwrap());
        let want = load(&m, c["expected"].as_str().unwrap());
        let code = AxisCode::parse(c["code"].as_str().unwrap()).unwrap();
        let (got, undo) = orient::reorient_dyn(&input, &code).unwrap();
        let what = format!("{} -> {}", c["input"], c["code"]);
        assert_eq!(
            got.geometry().orientation_code(),
            c["code"].as_str().unwrap()
        );
        assert_geometry(got.geometry(), want.geometry(), 1e-9, &what);
        assert_eq!(values(&got), values(&want), "{what}: voxels");
        // Undo restores the input exactly (values and geometry, bit for bit).
        assert_eq!(undo.apply_dyn(&got).unwrap(), input, "{what}: undo");
    }
}

#[test]
fn canonical_matches_nibabel() {
    let m = manifest();
    for c in cases(&m, "canonical") {
        let input = load(&m, c["input"].as_str().unwrap());
        let want = load(&m, c["expected"].as_str().unwrap());
        let (got, _) = orient::reorient_dyn(&input, &AxisCode::canonical()).unwrap();
        // nibabel goes through a float affine: geometry equal to 1e-6.
        assert_geometry(got.geometry(), want.geometry(), 1e-6, "canonical");
        assert_eq!(
            values(&got),
            values(&want),
            "canonical voxels of {}",
            c["input"]
        );
    }
}

#[test]
fn reorient_round_trip_is_identity_for_every_code() {
    let g = Geometry::new([4, 3, 2], [0.5, 1.5, 2.5], [3.0, -4.0, 5.0], IDENTITY).unwrap();
    let img = Image::new(g, (0..24u16).collect()).unwrap();
    let letters = [['L', 'R'], ['P', 'A'], ['S', 'I']];
    let perms = [
        [0, 1, 2],
        [0, 2, 1],
        [1, 0, 2],
        [1, 2, 0],
        [2, 0, 1],
        [2, 1, 0],
    ];
    for p in perms {
        for signs in 0..8 {
            let code: String = (0..3).map(|a| letters[p[a]][(signs >> a) & 1]).collect();
            let (out, undo) = orient::reorient(&img, &AxisCode::parse(&code).unwrap()).unwrap();
            assert_eq!(out.geometry().orientation_code(), code);
            // Every voxel keeps its physical position.
            for (n, v) in out.data().iter().enumerate() {
                let s = out.geometry().size;
                let idx = [n % s[0], (n / s[0]) % s[1], n / (s[0] * s[1])];
                let p =
                    out.geometry()
                        .index_to_point([idx[0] as f64, idx[1] as f64, idx[2] as f64]);
                let back = img.geometry().point_to_index(p);
                let src = img.get(
                    back[0].round() as usize,
                    back[1].round() as usize,
                    back[2].round() as usize,
                );
                assert_eq!(*v, src, "{code}");
            }
            assert_eq!(undo.apply(&out).unwrap(), img, "{code}");
        }
    }
}

// ---------------------------------------------------------------- resampling (oracle)

fn interp_of(s: &str) -> Interpolation {
    Interpolation::parse(s).unwrap()
}

/// True when output voxel `n` maps to an exact half-voxel tie of the input grid (where ITK's
/// nearest-neighbour choice depends on its floating-point round-off).
fn is_tie(input: &Geometry, out: &Geometry, n: usize) -> bool {
    let s = out.size;
    let idx = [n % s[0], (n / s[0]) % s[1], n / (s[0] * s[1])];
    let c = input.point_to_index(out.index_to_point([idx[0] as f64, idx[1] as f64, idx[2] as f64]));
    c.iter().any(|v| ((v - v.floor()) - 0.5).abs() < 1e-6)
}

fn compare_resampled(input: &DynImage, got: &DynImage, want: &DynImage, interp: &str, what: &str) {
    assert_geometry(got.geometry(), want.geometry(), 1e-9, what);
    let (a, b) = (values(got), values(want));
    let mut ties = 0;
    let range = b.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(1.0);
    let mut bad = 0;
    for (n, (x, y)) in a.iter().zip(&b).enumerate() {
        if interp == "nearest" && x != y && is_tie(input.geometry(), want.geometry(), n) {
            ties += 1;
            continue;
        }
        let ok = match interp {
            // 1e-4 relative (of the value, or of the image range for values near 0).
            "linear" => (x - y).abs() <= 1e-4 * y.abs().max(1e-3 * range),
            "bspline" => (x - y).abs() <= 1e-4 * y.abs().max(1e-3 * range),
            _ => x == y,
        };
        if !ok {
            bad += 1;
            if bad < 5 {
                eprintln!("{what}: {x} vs {y}");
            }
        }
    }
    assert_eq!(bad, 0, "{what}: {bad} of {} voxels differ", a.len());
    // Exact half-voxel ties are where ITK's round-off decides (up to ~17 % of the voxels of the
    // 0.45 mm grid, whose spacing ratios hit ties on every axis).
    assert!(ties * 4 <= a.len(), "{what}: {ties} tie voxels differ");
}

#[test]
fn resample_matches_simpleitk() {
    let m = manifest();
    let mut n = 0;
    for kind in ["resample_spacing", "resample_reference"] {
        for c in cases(&m, kind) {
            let input = load(&m, c["input"].as_str().unwrap());
            let want = load(&m, c["expected"].as_str().unwrap());
            let interp = c["interp"].as_str().unwrap();
            let target = if kind == "resample_spacing" {
                TargetGrid::Spacing(arr3(&c["spacing"]))
            } else {
                TargetGrid::Reference(*load(&m, c["reference"].as_str().unwrap()).geometry())
            };
            let truncate = c["truncate"].as_bool().unwrap_or(false);
            let opts = ResampleOptions {
                interpolation: interp_of(interp),
                rounding: if truncate {
                    Rounding::Truncate
                } else {
                    Rounding::Round
                },
                ..Default::default()
            };
            let (got, undo) = resample_dyn(&input, &target, &opts).unwrap();
            let what = format!("{} {kind} {interp} -> {}", c["input"], c["expected"]);
            if truncate {
                // ITK truncation of values that land exactly on an integer can flip by one
                // through round-off (bench/README §4.4): allow ±1 (4 % of the voxels of this grid).
                let (a, b) = (values(&got), values(&want));
                assert_geometry(got.geometry(), want.geometry(), 1e-9, &what);
                let off = a
                    .iter()
                    .zip(&b)
                    .filter(|(x, y)| (*x - *y).abs() > 1.0)
                    .count();
                let exact = a.iter().zip(&b).filter(|(x, y)| x == y).count();
                assert_eq!(off, 0, "{what}");
                assert!(
                    exact * 100 >= a.len() * 95,
                    "{what}: only {exact} of {} equal",
                    a.len()
                );
            } else {
                compare_resampled(&input, &got, &want, interp, &what);
            }
            assert_eq!(undo.input, *input.geometry());
            n += 1;
        }
    }
    assert_eq!(n, 12);
}

#[test]
fn resample_same_grid_is_identity() {
    let m = manifest();
    for name in ["ct", "mr", "labels"] {
        let img = load(&m, name);
        for interp in ["nearest", "linear", "bspline", "label"] {
            if interp == "label" && name != "labels" {
                continue;
            }
            let opts = ResampleOptions {
                interpolation: interp_of(interp),
                ..Default::default()
            };
            let (out, _) =
                resample_dyn(&img, &TargetGrid::Reference(*img.geometry()), &opts).unwrap();
            assert_eq!(out.geometry(), img.geometry());
            let (a, b) = (values(&out), values(&img));
            for (x, y) in a.iter().zip(&b) {
                assert!(
                    (x - y).abs() <= 1e-3 * y.abs().max(1.0),
                    "{name} {interp}: {x} vs {y}"
                );
            }
        }
    }
}

#[test]
fn label_resampling_is_per_label_linear_argmax() {
    // 1-D line of labels 0 0 2 2 1 1 upsampled ×2: per-label linear weights decide.
    let g = Geometry::new([6, 1, 1], [2.0, 1.0, 1.0], [0.0; 3], IDENTITY).unwrap();
    let img = Image::new(g, vec![0u8, 0, 2, 2, 1, 1]).unwrap();
    let opts = ResampleOptions {
        interpolation: Interpolation::Label,
        default_value: 9.0,
        ..Default::default()
    };
    let (out, undo) =
        resample::resample(&img, &TargetGrid::Spacing([1.0, 1.0, 1.0]), &opts).unwrap();
    // Samples at input index 0, 0.5, …, 5.5: 1.5 ties 0/2 → 0; 3.5 ties 2/1 → 1; 5.5 is
    // outside → 9.
    assert_eq!(out.data(), &[0, 0, 0, 0, 2, 2, 2, 1, 1, 1, 1, 9]);
    // Undo (label mode) brings it back onto the input grid exactly.
    let back = undo.apply(&out, &opts).unwrap();
    assert_eq!(back.geometry(), img.geometry());
    assert_eq!(back.data(), img.data());
}

#[test]
fn torchio_grid_rules() {
    // TotalSpineSeg §4.9: size = floor(n·s/s_new), centred on the old grid's centre.
    let d = [0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0];
    let g = Geometry::new([5, 7, 1], [0.7, 0.3, 2.5], [10.0, 20.0, 30.0], d).unwrap();
    let t = target_geometry(&g, &TargetGrid::TorchIo([1.0, 1.0, 1.0])).unwrap();
    assert_eq!(t.size, [3, 2, 1]);
    let centre = g.index_to_point([2.0, 3.0, 0.0]);
    let tc = t.index_to_point([1.0, 0.5, 0.0]);
    for a in 0..3 {
        assert!((centre[a] - tc[a]).abs() < 1e-12);
    }
    // Legacy rule: ceil, first voxel at (s_new/s_old − 1)/2.
    let l = target_geometry(&g, &TargetGrid::TorchIoLegacy([1.0, 1.0, 1.0])).unwrap();
    assert_eq!(l.size, [4, 3, 3]);
    let first = g.index_to_point([
        (1.0 / 0.7 - 1.0) / 2.0,
        (1.0 / 0.3 - 1.0) / 2.0,
        (1.0 / 2.5 - 1.0) / 2.0,
    ]);
    for a in 0..3 {
        assert!((l.origin[a] - first[a]).abs() < 1e-12);
    }
    // ITK rule: Python round (half to even) of n·s/s_new, same origin.
    let i = target_geometry(&g, &TargetGrid::Spacing([1.0, 1.0, 1.0])).unwrap();
    assert_eq!(i.size, [4, 2, 2]); // 3.5 → 4, 2.1 → 2, 2.5 → 2
    assert_eq!(i.origin, g.origin);
}

#[test]
fn resample_bad_input_is_typed() {
    let g = Geometry::with_size([4, 4, 4]).unwrap();
    let img = Image::new(g, vec![0i16; 64]).unwrap();
    let o = ResampleOptions::default();
    let e = resample::resample(&img, &TargetGrid::Spacing([0.0, 1.0, 1.0]), &o).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    let e = resample::resample(&img, &TargetGrid::Spacing([f64::NAN, 1.0, 1.0]), &o).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    let e = resample::resample(&img, &TargetGrid::Spacing([1e-6; 3]), &o).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TooLarge);
    let e =
        resample::resample(&img, &TargetGrid::Size([1 << 40, 1 << 40, 1 << 40]), &o).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::TooLarge));
    let small = ResampleOptions {
        max_bytes: 100,
        ..o
    };
    let e = resample::resample(&img, &TargetGrid::Size([8, 8, 8]), &small).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TooLarge);
    let e = resample::resample(&img, &TargetGrid::Size([0, 8, 8]), &o).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
}

// ---------------------------------------------------------------- intensity (oracle)

#[test]
fn percentiles_match_numpy() {
    let m = manifest();
    for kind in ["percentiles", "percentiles_positive"] {
        for c in cases(&m, kind) {
            let img = load(&m, c["input"].as_str().unwrap());
            let qs: Vec<f64> = c["q"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap())
                .collect();
            // Stored as repr() strings: parsed exactly.
            let want: Vec<f64> = c["values"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap().parse().unwrap())
                .collect();
            let got = dispatch!(&img, i => {
                if kind == "percentiles" {
                    intensity::percentiles(i, &qs, None)
                } else {
                    let pos = |v| medseg::Pixel::to_f64(v) > 0.0;
                    intensity::percentiles(i, &qs, Some(&pos))
                }
            })
            .unwrap();
            assert_eq!(got, want, "{kind} of {}", c["input"]);
        }
    }
}

#[test]
fn percentile_normalisation_matches_numpy_and_medsam() {
    let m = manifest();
    let cs = cases(&m, "percentile_norm");
    assert_eq!(cs.len(), 4);
    for c in cs {
        let img = load(&m, c["input"].as_str().unwrap());
        let want = load(&m, c["expected"].as_str().unwrap());
        let nonzero = c["nonzero"].as_bool().unwrap();
        let (got, _) =
            intensity::percentile_normalize_dyn(&img, 0.5, 99.5, nonzero, OutRange::U8).unwrap();
        assert_eq!(got.pixel_type(), PixelType::U8);
        assert_eq!(
            values(&got),
            values(&want),
            "{} nonzero={nonzero}",
            c["input"]
        );
    }
}

#[test]
fn medsam_ct_window_matches() {
    let m = manifest();
    for c in cases(&m, "window") {
        let img = load(&m, c["input"].as_str().unwrap());
        let want = load(&m, c["expected"].as_str().unwrap());
        let (got, _) = intensity::window_dyn(
            &img,
            c["level"].as_f64().unwrap(),
            c["width"].as_f64().unwrap(),
            WindowScale::ClippedRange,
            OutRange::U8,
        )
        .unwrap();
        assert_eq!(values(&got), values(&want));
    }
    let (l, w) = intensity::preset("abdomen").unwrap();
    assert_eq!((l, w), (40.0, 400.0));
    assert_eq!(intensity::preset("Lung").unwrap(), (-600.0, 1500.0));
    assert_eq!(
        intensity::preset("nope").unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
}

#[test]
fn zscore_and_nnunet_ct_match_numpy_float32() {
    let m = manifest();
    for c in cases(&m, "zscore") {
        let img = load(&m, c["input"].as_str().unwrap());
        let want = load(&m, c["expected"].as_str().unwrap());
        let mask = c["mask"].as_str().map(|n| load(&m, n));
        let got: DynImage = intensity::zscore_dyn(&img, mask.as_ref()).unwrap().into();
        assert_eq!(values(&got), values(&want), "zscore mask={:?}", c["mask"]);
    }
    for c in cases(&m, "nnunet_ct") {
        let img = load(&m, c["input"].as_str().unwrap());
        let want = load(&m, c["expected"].as_str().unwrap());
        let p = &c["props"];
        let f = |k: &str| p[k].as_f64().unwrap();
        let got: DynImage = intensity::nnunet_ct_dyn(
            &img,
            f("mean"),
            f("std"),
            f("percentile_00_5"),
            f("percentile_99_5"),
        )
        .unwrap()
        .into();
        assert_eq!(values(&got), values(&want));
    }
}

#[test]
fn intensity_bad_input_is_typed() {
    let g = Geometry::with_size([2, 2, 1]).unwrap();
    let img = Image::new(g, vec![0.0f32; 4]).unwrap();
    let e = intensity::percentile_normalize(&img, 0.5, 99.5, true, OutRange::U8).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Content);
    let e = intensity::percentile_normalize(&img, 99.0, 1.0, false, OutRange::U8).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    let e = intensity::percentiles(&img, &[101.0], None).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    let e = intensity::window(&img, 40.0, 0.0, WindowScale::Bounds, OutRange::U8).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    // A constant image rescales to 0 instead of NaN.
    let (o, _) = intensity::percentile_normalize(&img, 0.5, 99.5, false, OutRange::Unit).unwrap();
    assert_eq!(values(&o), vec![0.0; 4]);
    let other = Image::new(Geometry::with_size([3, 1, 1]).unwrap(), vec![1u8; 3]).unwrap();
    assert_eq!(
        intensity::zscore(&img, Some(&other)).unwrap_err().kind(),
        ErrorKind::Mismatch
    );
}

// ---------------------------------------------------------------- crop / pad

#[test]
fn crop_3x3x3_and_undo_oblique() {
    let m = manifest();
    let ct = load(&m, "ct");
    let lab = load(&m, "labels");
    let (c, undo) =
        crop_pad::crop_to_nonzero_dyn(&ct, Some(&lab), Margin::Voxels([1, 1, 1])).unwrap();
    // Label box: i 2..8, j 1..7, k 1..5 → with margin 1: i 1..9, j 0..8, k 0..6.
    assert_eq!(
        undo.bbox,
        BBox {
            start: [1, 0, 0],
            end: [9, 8, 6]
        }
    );
    assert_eq!(c.geometry().size, [8, 8, 6]);
    // The new origin is voxel (1, 0, 0) of the input, through the oblique direction.
    let want = ct.geometry().index_to_point([1.0, 0.0, 0.0]);
    assert_eq!(c.geometry().origin, want);
    // Values: voxel (0,0,0) of the crop is voxel (1,0,0) of the input.
    let (a, b) = (values(&c), values(&ct));
    assert_eq!(a[0], b[1]);
    // Undo: exact input geometry, cropped-away voxels filled.
    let back = undo.apply_dyn(&c, -1024.0).unwrap();
    assert_eq!(back.geometry(), ct.geometry());
    let bv = values(&back);
    assert_eq!(bv[0], -1024.0);
    assert_eq!(&bv[1..9], &b[1..9]);
    // The undo record survives JSON.
    let u = Undo::Crop(undo);
    assert_eq!(Undo::from_json(&u.to_json()).unwrap(), u);
}

#[test]
fn pad_then_undo_restores_input_exactly() {
    let m = manifest();
    let mr = load(&m, "mr");
    let (p, undo) = crop_pad::pad_dyn(&mr, [2, 0, 1], [1, 3, 0], PadMode::Edge, u64::MAX).unwrap();
    assert_eq!(p.geometry().size, [10, 9, 6]);
    let o = mr.geometry().index_to_point([-2.0, 0.0, -1.0]);
    assert_eq!(p.geometry().origin, o);
    let u = Undo::Pad(undo);
    let back = u.apply(&p, 0.0, Interpolation::Linear).unwrap();
    assert_eq!(back, mr);
    let e = crop_pad::pad_dyn(&mr, [1 << 20; 3], [1 << 20; 3], PadMode::Edge, 1 << 30).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TooLarge);
}

#[test]
fn crop_bad_boxes_are_typed() {
    let g = Geometry::with_size([3, 3, 3]).unwrap();
    let img = Image::new(g, vec![1u8; 27]).unwrap();
    let e = crop_pad::crop(
        &img,
        &BBox {
            start: [0, 0, 0],
            end: [4, 3, 3],
        },
    )
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    let e = crop_pad::crop(
        &img,
        &BBox {
            start: [2, 0, 0],
            end: [2, 3, 3],
        },
    )
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    let other = Image::new(Geometry::with_size([2, 3, 3]).unwrap(), vec![1u8; 18]).unwrap();
    let e = crop_pad::crop_to_nonzero(&img, Some(&other), Margin::Voxels([0; 3])).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Mismatch);
}

#[test]
fn undo_chain_reorient_resample_crop() {
    // Reorient, crop: undoing in reverse order gives the input grid exactly.
    let m = manifest();
    let mr = load(&m, "mr");
    let (r, u1) = orient::reorient_dyn(&mr, &AxisCode::canonical()).unwrap();
    let (c, u2) = crop_pad::crop_to_nonzero_dyn(&r, None, Margin::Voxels([0; 3])).unwrap();
    let (s, u3) = resample_dyn(
        &c,
        &TargetGrid::Spacing([1.0, 1.0, 1.0]),
        &ResampleOptions::default(),
    )
    .unwrap();
    let back3 = Undo::Resample(u3)
        .apply(&s, 0.0, Interpolation::Linear)
        .unwrap();
    assert_eq!(back3.geometry(), c.geometry());
    let back2 = Undo::Crop(u2)
        .apply(&back3, 0.0, Interpolation::Linear)
        .unwrap();
    assert_eq!(back2.geometry(), r.geometry());
    let back1 = Undo::Reorient(u1)
        .apply(&back2, 0.0, Interpolation::Linear)
        .unwrap();
    assert_eq!(back1.geometry(), mr.geometry());
}
