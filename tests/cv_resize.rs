//! `preprocess::cv_resize` against real OpenCV 4.11 (`cv2.resize(..., INTER_AREA)` on uint8) and a
//! half-pixel bilinear reference on float32. Fixtures: `tests/fixtures/cv_resize/` (made by
//! `tools/make_cv_resize_fixtures.py`); the `oracle_*` groups are the six cases of the MedSAM
//! preprocessing oracle (`preproc_reference.npz`), copied in so that a clone needs nothing else.

use medseg::image::PixelType;
use medseg::io::Limits;
use medseg::io::npy::Npz;
use medseg::preprocess::cv_resize::{resize_area_u8, resize_bilinear_f32};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::path::PathBuf;
use std::sync::OnceLock;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cv_resize")
}

struct Fixtures {
    manifest: Value,
    npz: Npz,
}

fn fixtures() -> &'static Fixtures {
    static F: OnceLock<Fixtures> = OnceLock::new();
    F.get_or_init(|| {
        let text = std::fs::read_to_string(dir().join("manifest.json")).expect("manifest.json");
        let manifest: Value = serde_json::from_str(&text).expect("manifest is JSON");
        let npz_path = dir().join(manifest["npz"].as_str().expect("npz name"));
        let npz = Npz::open(&npz_path, &Limits::default()).expect("fixture npz");
        Fixtures { manifest, npz }
    })
}

fn cases(group: &str) -> Vec<&'static Value> {
    let v: Vec<&Value> = fixtures().manifest["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .filter(|c| c["group"] == group)
        .collect();
    assert!(!v.is_empty(), "no fixture cases in group {group}");
    v
}

fn dim(c: &Value, k: &str) -> usize {
    c[k].as_u64().unwrap_or_else(|| panic!("case field {k}")) as usize
}

/// Run every case of `group`; fail listing each case that differs and by how much.
fn check_group(group: &str) {
    let npz = &fixtures().npz;
    let mut failures = Vec::new();
    let all = cases(group);
    for c in &all {
        let name = c["name"].as_str().unwrap();
        let (h, w, ch) = (dim(c, "h"), dim(c, "w"), dim(c, "channels"));
        let (nh, nw) = (dim(c, "new_h"), dim(c, "new_w"));
        let input = npz.array(c["in"].as_str().unwrap()).unwrap();
        let want = npz.array(c["out"].as_str().unwrap()).unwrap();
        assert_eq!(
            want.shape().iter().product::<usize>(),
            nh * nw * ch,
            "{name}: shape"
        );
        match c["kind"].as_str().unwrap() {
            "area_u8" => {
                assert_eq!(input.pixel_type(), PixelType::U8, "{name}");
                assert_eq!(input.shape()[..2], [h, w], "{name}");
                let got = resize_area_u8(input.bytes(), h, w, ch, nh, nw).unwrap();
                let diff = got.iter().zip(want.bytes()).filter(|(a, b)| a != b).count();
                if diff > 0 || got.len() != want.bytes().len() {
                    let first = got.iter().zip(want.bytes()).position(|(a, b)| a != b);
                    failures.push(format!(
                        "{name} ({h}x{w}x{ch} -> {nh}x{nw}): {diff} of {} bytes differ, first at {first:?}",
                        want.bytes().len()
                    ));
                }
            }
            "bilinear_f32" => {
                let src: Vec<f32> = input.to_f64_vec().iter().map(|&v| v as f32).collect();
                let want: Vec<f32> = want.to_f64_vec().iter().map(|&v| v as f32).collect();
                let got = resize_bilinear_f32(&src, h, w, nh, nw).unwrap();
                let err = got
                    .iter()
                    .zip(&want)
                    .map(|(a, b)| (a - b).abs())
                    .fold(0f32, f32::max);
                if err > 1e-5 || got.len() != want.len() {
                    failures.push(format!("{name}: max abs error {err:e}"));
                }
            }
            other => panic!("{name}: unknown kind {other}"),
        }
    }
    assert!(
        failures.is_empty(),
        "{group}: {} of {} cases differ:\n{}",
        failures.len(),
        all.len(),
        failures.join("\n")
    );
}

#[test]
fn manifest_matches_npz_and_every_group_is_tested() {
    let f = fixtures();
    let bytes = std::fs::read(dir().join(f.manifest["npz"].as_str().unwrap())).unwrap();
    let sha: String = Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(
        sha,
        f.manifest["npz_sha256"].as_str().unwrap(),
        "npz SHA-256"
    );
    assert!(
        f.manifest["opencv_version"]
            .as_str()
            .unwrap()
            .starts_with("4.11")
    );
    let tested = [
        "oracle_landscape_300x420",
        "oracle_square_512",
        "oracle_thin_97x256",
        "oracle_portrait_1000x333",
        "oracle_exact_256",
        "oracle_upscale_64x80",
        "area_fast",
        "area_general",
        "upscale",
        "mixed",
        "identity",
        "masks",
        "bilinear",
    ];
    for c in f.manifest["cases"].as_array().unwrap() {
        let g = c["group"].as_str().unwrap();
        assert!(tested.contains(&g), "group {g} has no test");
    }
}

#[test]
fn oracle_landscape_300x420() {
    check_group("oracle_landscape_300x420");
}

#[test]
fn oracle_square_512() {
    check_group("oracle_square_512");
}

#[test]
fn oracle_thin_97x256() {
    check_group("oracle_thin_97x256");
}

#[test]
fn oracle_portrait_1000x333() {
    check_group("oracle_portrait_1000x333");
}

#[test]
fn oracle_exact_256() {
    check_group("oracle_exact_256");
}

#[test]
fn oracle_upscale_64x80() {
    check_group("oracle_upscale_64x80");
}

/// Integer factors (`resizeAreaFast`): 2x2 rounded half up, other boxes half to even.
#[test]
fn area_fast() {
    check_group("area_fast");
}

/// Non-integer downscales (`resizeArea_` float tables), including a factor of 49.
#[test]
fn area_general() {
    check_group("area_general");
}

/// Upscales: fixed-point linear resize with `INTER_AREA` coefficients, every row tail length.
#[test]
fn upscale() {
    check_group("upscale");
}

/// One axis down and the other up.
#[test]
fn mixed() {
    check_group("mixed");
}

#[test]
fn identity() {
    check_group("identity");
}

/// Label masks (0/1, 0/3) at the LiteMedSAM sizes.
#[test]
fn masks() {
    check_group("masks");
}

/// Float32 half-pixel bilinear, within 1e-5 of a float64 reference.
#[test]
fn bilinear() {
    check_group("bilinear");
}

/// The oracle's logits upsampling (`upsampled` = cv2 INTER_LINEAR of the cropped 256x256 logits),
/// when the shared oracle folder is present next to the repository.
#[test]
fn oracle_bilinear_logits_when_available() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/oracles/medsam/out/preproc/preproc_reference.npz");
    if !path.exists() {
        eprintln!("skipped: {} not present", path.display());
        return;
    }
    let npz = Npz::open(&path, &Limits::default()).unwrap();
    for c in fixtures().manifest["cases"].as_array().unwrap() {
        let Some(group) = c["group"].as_str().and_then(|g| g.strip_prefix("oracle_")) else {
            continue;
        };
        let (nh, nw) = (dim(c, "new_h"), dim(c, "new_w"));
        let (h, w) = (dim(c, "h"), dim(c, "w"));
        let logits = npz.array(&format!("{group}/logits_T")).unwrap();
        let want = npz.array(&format!("{group}/upsampled")).unwrap();
        let side = logits.shape()[1];
        let all = logits.to_f64_vec();
        let crop: Vec<f32> = (0..nh)
            .flat_map(|y| all[y * side..y * side + nw].iter().map(|&v| v as f32))
            .collect();
        let got = resize_bilinear_f32(&crop, nh, nw, h, w).unwrap();
        let err = got
            .iter()
            .zip(want.to_f64_vec())
            .map(|(&a, b)| (a as f64 - b).abs())
            .fold(0f64, f64::max);
        assert!(err <= 1e-5, "{group}: max abs error {err:e}");
    }
}

/// Rough timing of the LiteMedSAM sizes (printed, not asserted: the test profile is not release).
#[test]
fn timing_report() {
    let img: Vec<u8> = (0..512 * 512 * 3).map(|i| (i * 31 % 251) as u8).collect();
    for (h, w, nh, nw) in [
        (512, 512, 256, 256),
        (300, 420, 183, 256),
        (64, 80, 205, 256),
    ] {
        let src = &img[..h * w * 3];
        let t = std::time::Instant::now();
        let n = 20;
        for _ in 0..n {
            std::hint::black_box(resize_area_u8(src, h, w, 3, nh, nw).unwrap());
        }
        eprintln!(
            "resize_area_u8 {h}x{w}x3 -> {nh}x{nw}: {:.3} ms",
            t.elapsed().as_secs_f64() * 1e3 / n as f64
        );
    }
}
