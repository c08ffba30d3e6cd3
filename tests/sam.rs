//! LiteMedSAM against the organisers' own pipeline (`CVPR24_LiteMedSAM_infer.py` with the real
//! weights), call by call: `tests/fixtures/sam/litemedsam/` holds the two oracle cases of
//! `../shared/oracles/medsam/litemedsam/` (inputs, the official `segs`, and per-call references),
//! golden by SHA-256 in its `manifest.json`, tolerances there too. Needs the converted model
//! (`tools/setup.sh` → `models/litemedsam/`) and ONNX Runtime (`tools/setup_ort.sh`).

use medseg::ErrorKind;
use medseg::inference::onnx::SessionConfig;
use medseg::inference::runtime;
use medseg::inference::sam::challenge::{self, CaseKind};
use medseg::inference::sam::propagate::{BoxSource, EmbeddingCache, Engine, SliceStack};
use medseg::inference::sam::{SamBackend, SamModel, prepare_slice, scale_box};
use medseg::io::Limits;
use medseg::io::npy::{NpyArray, Npz};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn fixtures() -> PathBuf {
    root().join("tests/fixtures/sam/litemedsam")
}

fn manifest() -> &'static Value {
    static M: OnceLock<Value> = OnceLock::new();
    M.get_or_init(|| {
        let m: Value = serde_json::from_str(
            &std::fs::read_to_string(fixtures().join("manifest.json")).unwrap(),
        )
        .unwrap();
        for (rel, sha) in m["files"].as_object().unwrap() {
            let got = medseg::inference::sam::manifest::sha256_file(&fixtures().join(rel)).unwrap();
            assert_eq!(&got, sha.as_str().unwrap(), "fixture {rel} changed");
        }
        m
    })
}

fn tol(name: &str) -> f64 {
    manifest()["tolerances"][name].as_f64().unwrap()
}

fn model_dir() -> PathBuf {
    root().join("models/litemedsam")
}

fn model() -> &'static SamModel {
    static M: OnceLock<SamModel> = OnceLock::new();
    M.get_or_init(|| {
        if let Err(e) = runtime::find(None) {
            panic!(
                "ONNX Runtime is not installed: run tools/setup.sh. {}",
                e.message()
            );
        }
        let cfg = SessionConfig {
            threads: Some(2),
            ..Default::default()
        };
        SamModel::load(&model_dir(), &cfg).unwrap_or_else(|e| {
            panic!(
                "LiteMedSAM is not set up: run tools/setup.sh ({})",
                e.chain()
            )
        })
    })
}

fn arr(npz: &Npz, k: &str) -> NpyArray {
    npz.array(k).unwrap()
}

fn f32s(a: &NpyArray) -> Vec<f32> {
    a.to_f64_vec().into_iter().map(|v| v as f32).collect()
}

fn ints(a: &NpyArray) -> Vec<i64> {
    a.to_f64_vec().into_iter().map(|v| v as i64).collect()
}

fn max_abs(a: &[f32], b: &[f32]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (*x as f64 - *y as f64).abs())
        .fold(0.0, f64::max)
}

/// Everything about one oracle case.
fn check_case(name: &str) {
    let m = model();
    let input = fixtures().join(format!("inputs/{name}.npz"));
    let case = challenge::read_case(&input).unwrap();
    let refs = Npz::open(
        &fixtures().join(format!("ref_{name}.npz")),
        &Limits::default(),
    )
    .unwrap();
    let [d, h, w] = case.dhw;
    let stack = SliceStack::new(&case.imgs, d, h, w, case.channels).unwrap();

    // Call 0: preprocessing, embedding, low-res logits of its box.
    let z0 = ints(&arr(&refs, "call_z"))[0].max(0) as usize;
    let prep = prepare_slice(stack.slice(z0), h, w, case.channels, 256).unwrap();
    let d_in = max_abs(&prep.input, &f32s(&arr(&refs, "encoder_input")));
    assert!(
        d_in <= tol("encoder_input_abs"),
        "{name}: encoder input differs by {d_in}"
    );
    let emb = m.encode(&prep.input, 1).unwrap();
    let stride = manifest()["embedding_stride"].as_u64().unwrap() as usize;
    let sub: Vec<f32> = emb.iter().step_by(stride).copied().collect();
    let d_emb = max_abs(&sub, &f32s(&arr(&refs, "embedding_sub")));
    assert!(
        d_emb <= tol("embedding_abs"),
        "{name}: embedding differs by {d_emb}"
    );
    let b0 = ints(&arr(&refs, "call_box256"));
    let dec = m
        .decode(
            &emb,
            &[[b0[0] as f32, b0[1] as f32, b0[2] as f32, b0[3] as f32]],
        )
        .unwrap();
    let d_log = max_abs(&dec.logits, &f32s(&arr(&refs, "lowres_logits0")));
    assert!(
        d_log <= tol("lowres_logits0_abs"),
        "{name}: low-res logits differ by {d_log}"
    );

    // The whole case, call by call.
    let out = challenge::run_case(m, &case, 512 << 20, &mut |_, _| true).unwrap();
    let rz = ints(&arr(&refs, "call_z"));
    let rb = ints(&arr(&refs, "call_box_index"));
    let rp = ints(&arr(&refs, "call_pass"));
    let rs = ints(&arr(&refs, "call_box_source"));
    let rbox = ints(&arr(&refs, "call_box256"));
    let riou = f32s(&arr(&refs, "call_iou"));
    let rfg = ints(&arr(&refs, "call_fg_pixels"));
    assert_eq!(out.calls.len(), rz.len(), "{name}: number of decoder calls");
    for (k, c) in out.calls.iter().enumerate() {
        let src = match c.source {
            BoxSource::Given => 0,
            BoxSource::Previous => 1,
            BoxSource::Fallback => 2,
        };
        assert_eq!(
            (c.box_index as i64, c.z, c.pass as i64, src),
            (rb[k], rz[k], rp[k], rs[k]),
            "{name}: call {k} order"
        );
        assert_eq!(
            c.box_t.to_vec(),
            rbox[4 * k..4 * k + 4].to_vec(),
            "{name}: call {k} box"
        );
        assert!(
            (c.iou - riou[k]).abs() as f64 <= tol("iou_abs"),
            "{name}: call {k} IoU {} vs {}",
            c.iou,
            riou[k]
        );
        assert_eq!(
            c.fg_pixels as i64, rfg[k],
            "{name}: call {k} foreground pixels"
        );
    }
    // segs identical to the official output.
    let official = Npz::open(
        &fixtures().join(format!("segs/{name}.npz")),
        &Limits::default(),
    )
    .unwrap()
    .array("segs")
    .unwrap();
    assert_same_segs(
        name,
        &challenge::segs_array(&case, &out.labels).unwrap(),
        &official,
    );
    assert!(out.notes.is_empty(), "{:?}", out.notes);
}

/// `segs` identical to the official output: shape, type and every voxel.
fn assert_same_segs(name: &str, ours: &NpyArray, official: &NpyArray) {
    assert_eq!(ours.shape(), official.shape(), "{name}: shape");
    assert_eq!(ours.pixel_type(), official.pixel_type(), "{name}: type");
    let diff = ours
        .bytes()
        .iter()
        .zip(official.bytes())
        .filter(|(a, b)| a != b)
        .count();
    assert_eq!(
        diff, 0,
        "{name}: {diff} voxels of segs differ from the official output"
    );
}

#[test]
fn litemedsam_xray_2d_matches_the_official_script() {
    check_case("2DBox_XRay_rg1chest_0001");
}

#[test]
fn litemedsam_ct_3d_matches_the_official_script() {
    check_case("3DBox_CT_headatlas_0001");
}

#[test]
fn batched_boxes_equal_single_calls_and_the_batched_encoder_equals_single() {
    let m = model();
    let case =
        challenge::read_case(&fixtures().join("inputs/2DBox_XRay_rg1chest_0001.npz")).unwrap();
    let [_, h, w] = case.dhw;
    let p = prepare_slice(&case.imgs, h, w, 3, 256).unwrap();
    let e1 = m.encode(&p.input, 1).unwrap();
    // The shipped encoder takes a real dynamic batch.
    let mut two = p.input.clone();
    two.extend_from_slice(&p.input);
    let e2 = m.encode(&two, 2).unwrap();
    assert!(max_abs(&e2[..e1.len()], &e1) < 1e-4);
    assert!(max_abs(&e2[e1.len()..], &e1) < 1e-4);
    let boxes: Vec<[f32; 4]> = case
        .boxes
        .iter()
        .map(|b| scale_box([b[0], b[1], b[3], b[4]], h, w, 256))
        .collect();
    let all = m.decode(&e1, &boxes).unwrap();
    for (k, b) in boxes.iter().enumerate() {
        let one = m.decode(&e1, &[*b]).unwrap();
        let n = 256 * 256;
        assert!(max_abs(&all.logits[k * n..(k + 1) * n], &one.logits) < 1e-3);
    }
}

#[test]
fn a_grey_2d_slice_of_a_volume_equals_the_same_picture_in_rgb() {
    // A slice of the CT case as a 2D grey picture and as an RGB one: same labels.
    let m = model();
    let case =
        challenge::read_case(&fixtures().join("inputs/3DBox_CT_headatlas_0001.npz")).unwrap();
    let [_, h, w] = case.dhw;
    let z = 22;
    let grey = &case.imgs[z * h * w..(z + 1) * h * w];
    let rgb: Vec<u8> = grey.iter().flat_map(|&v| [v, v, v]).collect();
    let boxes = [[40.0, 17.0, 169.0, 176.0], [81.0, 67.0, 105.0, 137.0]];
    let mut e = Engine::new(m);
    let a = e
        .segment_2d(
            &SliceStack::new(grey, 1, h, w, 1).unwrap(),
            &mut EmbeddingCache::new(1 << 26),
            0,
            &boxes,
        )
        .unwrap();
    let b = e
        .segment_2d(
            &SliceStack::new(&rgb, 1, h, w, 3).unwrap(),
            &mut EmbeddingCache::new(1 << 26),
            0,
            &boxes,
        )
        .unwrap();
    assert_eq!(a.labels, b.labels);
    assert!(a.labels.contains(&1) && a.labels.contains(&2));
}

// ---------------------------------------------------------------- bad input

fn write_npz(path: &Path, arrays: &[(&str, NpyArray)]) {
    let refs: Vec<(&str, &NpyArray)> = arrays.iter().map(|(n, a)| (*n, a)).collect();
    medseg::io::npy::write_npz(path, &refs, None).unwrap();
}

#[test]
fn bad_challenge_files_give_typed_errors() {
    use medseg::image::PixelType;
    let dir = tempdir("sam_bad");
    let img = NpyArray::new(PixelType::U8, vec![2, 8, 8], vec![7; 128]).unwrap();
    let b6 = NpyArray::new(
        PixelType::I64,
        vec![1, 6],
        [1i64, 1, 0, 5, 5, 1]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect(),
    )
    .unwrap();
    let b4 = NpyArray::new(
        PixelType::I64,
        vec![1, 4],
        [1i64, 1, 5, 5]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect(),
    )
    .unwrap();
    type BadCase<'a> = (&'a str, Vec<(&'a str, NpyArray)>, ErrorKind, &'a str);
    let cases: Vec<BadCase> = vec![
        (
            "3DBox_a.npz",
            vec![("boxes", b6.clone())],
            ErrorKind::Format,
            "imgs",
        ),
        (
            "3DBox_b.npz",
            vec![("imgs", img.clone())],
            ErrorKind::Format,
            "boxes",
        ),
        (
            "3DBox_c.npz",
            vec![("imgs", img.clone()), ("boxes", b4.clone())],
            ErrorKind::InvalidArgument,
            "6 values",
        ),
        (
            "3DBox_d.npz",
            vec![
                (
                    "imgs",
                    NpyArray::new(PixelType::U8, vec![1, 2, 8, 8], vec![0; 128]).unwrap(),
                ),
                ("boxes", b6.clone()),
            ],
            ErrorKind::InvalidArgument,
            "(D, H, W)",
        ),
        (
            "3DBox_e.npz",
            vec![
                (
                    "imgs",
                    NpyArray::new(PixelType::F32, vec![2, 8, 8], vec![0; 512]).unwrap(),
                ),
                ("boxes", b6.clone()),
            ],
            ErrorKind::PixelType,
            "uint8",
        ),
        (
            "2DBox_f.npz",
            vec![
                ("imgs", img.clone()),
                (
                    "boxes",
                    NpyArray::new(PixelType::I64, vec![1, 3], vec![0; 24]).unwrap(),
                ),
            ],
            ErrorKind::InvalidArgument,
            "shape",
        ),
    ];
    for (file, arrays, kind, words) in cases {
        let p = dir.join(file);
        write_npz(&p, &arrays);
        let e = challenge::read_case(&p).unwrap_err();
        assert_eq!(e.kind(), kind, "{file}: {}", e.chain());
        assert!(e.chain().contains(words), "{file}: {}", e.chain());
    }
    // A box outside the image: typed error from the engine, and nothing written.
    let p = dir.join("3DBox_g.npz");
    let far = NpyArray::new(
        PixelType::I64,
        vec![1, 6],
        [20i64, 20, 0, 30, 30, 1]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect(),
    )
    .unwrap();
    write_npz(&p, &[("imgs", img), ("boxes", far)]);
    let out = dir.join("out.npz");
    let e = challenge::run_file(model(), &p, &out, 1 << 26, &mut |_, _| true).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{}", e.chain());
    assert!(e.chain().contains("outside"), "{}", e.chain());
    assert!(!out.exists());
    let c = challenge::read_case(&dir.join("3DBox_c.npz").with_file_name("3DBox_b.npz"));
    assert!(c.is_err());
    assert_eq!(
        challenge::read_case(&fixtures().join("inputs/2DBox_XRay_rg1chest_0001.npz"))
            .unwrap()
            .kind,
        CaseKind::TwoD
    );
}

fn tempdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("medseg_{name}_{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn missing_or_corrupt_weights_say_how_to_set_up() {
    let dir = tempdir("sam_model");
    let e = SamModel::load(&dir, &SessionConfig::default()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Model);
    assert!(e.chain().contains("setup"), "{}", e.chain());
    // Manifest present, decoder missing.
    std::fs::copy(model_dir().join("medseg.json"), dir.join("medseg.json")).unwrap();
    std::fs::copy(model_dir().join("encoder.onnx"), dir.join("encoder.onnx")).unwrap();
    let e = SamModel::load(&dir, &SessionConfig::default()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Model);
    assert!(
        e.chain().contains("decoder.onnx") && e.chain().contains("missing"),
        "{}",
        e.chain()
    );
    // A decoder with other bytes: SHA-256 mismatch.
    std::fs::write(dir.join("decoder.onnx"), b"not a model").unwrap();
    let e = SamModel::load(&dir, &SessionConfig::default()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Model);
    assert!(
        e.chain().contains("SHA-256") && e.chain().contains("setup"),
        "{}",
        e.chain()
    );
    // The SAM folder given to the nnU-Net predictor says what it is.
    let e = medseg::inference::manifest::Manifest::load(&model_dir()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Model);
    assert!(e.chain().contains("sam segment"), "{}", e.chain());
    // A manifest of another kind.
    std::fs::write(
        dir.join("medseg.json"),
        r#"{"format": "medseg-model", "version": 1, "kind": "nnunet"}"#,
    )
    .unwrap();
    let e = SamModel::load(&dir, &SessionConfig::default()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Model);
}

// ---------------------------------------------------------------- more cases, official outputs
// tests/fixtures/sam/official: the organisers' script run on the synthetic challenge cases of
// ../shared/oracles/medsam/out/cases (other modalities, sizes, a colour image); made by
// tools/make_sam_fixtures.py, SHA-256 in its manifest.json.

fn check_official(name: &str) {
    let dir = root().join("tests/fixtures/sam/official");
    let man: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
    for sub in ["imgs", "segs"] {
        let rel = format!("{sub}/{name}.npz");
        let got = medseg::inference::sam::manifest::sha256_file(&dir.join(&rel)).unwrap();
        assert_eq!(
            got,
            man["files"][&rel].as_str().unwrap(),
            "fixture {rel} changed"
        );
    }
    let case = challenge::read_case(&dir.join(format!("imgs/{name}.npz"))).unwrap();
    let out = challenge::run_case(model(), &case, 256 << 20, &mut |_, _| true).unwrap();
    let official = Npz::open(&dir.join(format!("segs/{name}.npz")), &Limits::default())
        .unwrap()
        .array("segs")
        .unwrap();
    assert_same_segs(
        name,
        &challenge::segs_array(&case, &out.labels).unwrap(),
        &official,
    );
}

macro_rules! official_case {
    ($test:ident, $name:literal) => {
        #[test]
        fn $test() {
            check_official($name);
        }
    };
}

official_case!(official_2d_endoscopy_colour, "2DBox_Endoscopy_synth_0003");
official_case!(official_2d_ultrasound, "2DBox_US_synth_0001");
official_case!(official_2d_xray_portrait, "2DBox_XRay_synth_0002");
official_case!(official_3d_ct_small, "3DBox_CT_synth_0001");
official_case!(official_3d_mr, "3DBox_MR_synth_0002");
official_case!(official_3d_pet, "3DBox_PET_synth_0003");
