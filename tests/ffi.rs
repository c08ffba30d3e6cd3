//! Rust-side checks of the C ABI: the committed header equals the one cbindgen generates (drift),
//! the version macros agree with Cargo.toml, every declared function is documented, and the
//! boundary behaves (statuses, last error, panics, poisoned and stale handles).
//!
//! The C-side tests are in `tests/c/` (`tests/c/run.sh`).

use medseg::ffi::boundary::medseg_test_panic;
use medseg::ffi::image::{
    medseg_image_free, medseg_image_from_view, medseg_image_geometry, medseg_image_read,
};
use medseg::ffi::{
    MEDSEG_ABI_VERSION, medseg_abi_version, medseg_geometry, medseg_image, medseg_image_view,
    medseg_last_error_message, medseg_pixel_type, medseg_status, medseg_status_name,
    medseg_version,
};
use std::ffi::{CStr, CString};
use std::path::Path;

/// The header build.rs generated from the current sources.
const GENERATED: &str = include_str!(concat!(env!("OUT_DIR"), "/medseg.h"));

fn committed_header() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("include/medseg.h");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn last_error() -> String {
    // SAFETY: never NULL; valid until the next medseg call on this thread.
    unsafe { CStr::from_ptr(medseg_last_error_message()) }
        .to_string_lossy()
        .into_owned()
}

#[test]
fn committed_header_matches_generated() {
    assert!(
        !GENERATED.starts_with("#error"),
        "build.rs could not generate the header: {GENERATED}"
    );
    let committed = committed_header();
    if committed != GENERATED {
        let line = committed
            .lines()
            .zip(GENERATED.lines())
            .position(|(a, b)| a != b)
            .map_or_else(
                || committed.lines().count().min(GENERATED.lines().count()) + 1,
                |i| i + 1,
            );
        panic!(
            "include/medseg.h is out of date with src/ffi (first difference at line {line}).\n\
             Regenerate it with `MEDSEG_UPDATE_HEADER=1 cargo build --lib` and commit it."
        );
    }
}

/// `[package] version` from Cargo.toml, read from the file (not from cargo's environment).
fn cargo_toml_version() -> (u32, u32, u32) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
    let text = std::fs::read_to_string(path).expect("Cargo.toml");
    let mut in_package = false;
    for line in text.lines() {
        let t = line.trim();
        if t.starts_with('[') {
            in_package = t == "[package]";
            continue;
        }
        if in_package
            && let Some(v) = t.strip_prefix("version")
            && let Some(v) = v.trim_start().strip_prefix('=')
        {
            let v = v.trim().trim_matches('"');
            let parts: Vec<u32> = v.split('.').map(|p| p.parse().expect("number")).collect();
            assert_eq!(parts.len(), 3, "version {v}");
            return (parts[0], parts[1], parts[2]);
        }
    }
    panic!("no [package] version in Cargo.toml");
}

fn header_define(header: &str, name: &str) -> String {
    let prefix = format!("#define {name} ");
    header
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("{name} is not defined in include/medseg.h"))
        .trim()
        .to_owned()
}

#[test]
fn version_macros_agree_with_cargo_toml() {
    let (major, minor, patch) = cargo_toml_version();
    let header = committed_header();
    assert_eq!(
        header_define(&header, "MEDSEG_VERSION_MAJOR"),
        major.to_string()
    );
    assert_eq!(
        header_define(&header, "MEDSEG_VERSION_MINOR"),
        minor.to_string()
    );
    assert_eq!(
        header_define(&header, "MEDSEG_VERSION_PATCH"),
        patch.to_string()
    );
    let s = format!("{major}.{minor}.{patch}");
    assert_eq!(
        header_define(&header, "MEDSEG_VERSION_STRING"),
        format!("\"{s}\"")
    );
    // SAFETY: static NUL-terminated string.
    let lib = unsafe { CStr::from_ptr(medseg_version()) };
    assert_eq!(lib.to_str().ok(), Some(s.as_str()));
    assert_eq!(
        header_define(&header, "MEDSEG_ABI_VERSION"),
        MEDSEG_ABI_VERSION.to_string()
    );
    assert_eq!(medseg_abi_version(), MEDSEG_ABI_VERSION);
}

#[test]
fn every_declared_function_is_documented() {
    let header = committed_header();
    let lines: Vec<&str> = header.lines().collect();
    let mut functions = 0;
    for (i, l) in lines.iter().enumerate() {
        let is_decl = l.contains("medseg_")
            && l.contains('(')
            && !l.starts_with([' ', '#', '/', '*', '}', '\t'])
            && !l.starts_with("typedef");
        if !is_decl {
            continue;
        }
        functions += 1;
        let prev = lines[..i].iter().rev().find(|p| !p.trim().is_empty());
        assert!(
            prev.is_some_and(|p| p.trim_end().ends_with("*/")),
            "function declared without a doc comment: {l}"
        );
    }
    assert!(functions >= 12, "only {functions} functions found");
}

fn view(buf: &[u8], size: [u64; 3]) -> medseg_image_view {
    medseg_image_view {
        data: buf.as_ptr().cast(),
        len_bytes: buf.len(),
        pixel_type: medseg_pixel_type::U8 as u32,
        components: 1,
        strides: [0; 3],
        geometry: medseg_geometry {
            size,
            spacing: [1.0; 3],
            origin: [0.0; 3],
            direction: [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0],
        },
    }
}

#[test]
fn panic_becomes_status_and_poisons_the_handle() {
    // SAFETY: NULL is allowed.
    assert_eq!(
        unsafe { medseg_test_panic(std::ptr::null()) },
        medseg_status::Panic
    );
    assert!(
        last_error().contains("deliberate panic"),
        "{}",
        last_error()
    );

    let buf = [1u8, 2, 3, 4];
    let v = view(&buf, [2, 2, 1]);
    let mut img: *mut medseg_image = std::ptr::null_mut();
    // SAFETY: valid view over `buf`, valid out-pointer.
    assert_eq!(
        unsafe { medseg_image_from_view(&v, &mut img) },
        medseg_status::Ok
    );
    // SAFETY: live handle.
    assert_eq!(unsafe { medseg_test_panic(img) }, medseg_status::Panic);
    let mut g = v.geometry;
    // SAFETY: live (poisoned) handle, valid out-pointer.
    assert_eq!(
        unsafe { medseg_image_geometry(img, &mut g) },
        medseg_status::Poisoned
    );
    // SAFETY: poisoned handles may be freed.
    unsafe { medseg_image_free(img) };
    // SAFETY: the stale pointer is rejected by the registry, never dereferenced.
    assert_eq!(
        unsafe { medseg_image_geometry(img, &mut g) },
        medseg_status::InvalidHandle
    );
}

#[test]
fn read_errors_are_typed_and_name_the_file() {
    let dir = std::env::temp_dir().join(format!("medseg_ffi_rs_{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let cases = [
        ("nothing_here.nii", None, medseg_status::Io),
        ("noise.nii", Some(vec![0x5au8; 500]), medseg_status::Format),
        ("image.unknownext", None, medseg_status::Unsupported),
    ];
    for (name, bytes, want) in cases {
        let p = dir.join(name);
        if let Some(b) = &bytes {
            std::fs::write(&p, b).expect("write");
        }
        let c = CString::new(p.to_string_lossy().as_bytes()).expect("path");
        let mut img: *mut medseg_image = std::ptr::null_mut();
        // SAFETY: valid C string and out-pointer.
        let s = unsafe { medseg_image_read(c.as_ptr(), &mut img) };
        assert_eq!(s, want, "{name}: {}", last_error());
        assert!(img.is_null());
        assert!(last_error().contains(name), "{name}: {}", last_error());
        // SAFETY: static string.
        let n = unsafe { CStr::from_ptr(medseg_status_name(s as u32)) };
        assert!(!n.to_bytes().is_empty());
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn reads_the_nifti_fixture() {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ffi/standard.nii.gz");
    let c = CString::new(p.to_string_lossy().as_bytes()).expect("path");
    let mut img: *mut medseg_image = std::ptr::null_mut();
    // SAFETY: valid C string and out-pointer.
    let s = unsafe { medseg_image_read(c.as_ptr(), &mut img) };
    assert_eq!(s, medseg_status::Ok, "{}", last_error());
    let mut g = view(&[0], [1, 1, 1]).geometry;
    // SAFETY: live handle.
    assert_eq!(
        unsafe { medseg_image_geometry(img, &mut g) },
        medseg_status::Ok
    );
    // SimpleITK's reading of this file (oracles/conformance).
    assert_eq!(g.size, [4, 5, 7]);
    assert_eq!(g.spacing, [1.0, 3.0, 2.0]);
    assert_eq!(g.origin, [0.0, 0.0, 0.0]);
    assert_eq!(g.direction, [-1.0, 0.0, 0.0, 0.0, -1.0, 0.0, 0.0, 0.0, 1.0]);
    // SAFETY: live handle; freed once.
    unsafe { medseg_image_free(img) };
}

// ------------------------------------------------------------------------------------------
// Processing, spine and model entry points (C-side tests: tests/c/test_*.c).

use medseg::ffi::image::medseg_image_data;
use medseg::ffi::model::{
    medseg_model_free, medseg_model_input_channels, medseg_model_load, medseg_model_options_init,
};
use medseg::ffi::process::{
    medseg_connected_components, medseg_fill_holes, medseg_largest_component, medseg_resample,
};
use medseg::ffi::spine::medseg_spine_fill_canal;
use medseg::ffi::{medseg_image_view_mut, medseg_model, medseg_model_options, medseg_predict};

fn grid(size: [u64; 3]) -> medseg_geometry {
    medseg_geometry {
        size,
        spacing: [0.7, 1.1, 2.5],
        origin: [4.0, -3.0, 9.0],
        direction: [0.0, 1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, -1.0],
    }
}

fn out_view<T>(buf: &mut [T], pt: medseg_pixel_type, g: medseg_geometry) -> medseg_image_view_mut {
    medseg_image_view_mut {
        data: buf.as_mut_ptr().cast(),
        len_bytes: std::mem::size_of_val(buf),
        pixel_type: pt as u32,
        components: 1,
        strides: [0; 3],
        geometry: g,
    }
}

/// The C API's signatures the ITK filter and Slicer code are written against (task contract):
/// each must appear in the committed header exactly, whitespace aside.
#[test]
fn header_declares_the_contract() {
    let header: String = committed_header()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let contract = [
        "typedef bool (*medseg_progress_callback)(void *userdata, double fraction, const char *stage);",
        "typedef void (*medseg_log_callback)(void *userdata, uint32_t level, const char *message);",
        "void medseg_set_log_callback(medseg_log_callback callback, void *userdata);",
        "enum medseg_status medseg_model_options_init(struct medseg_model_options *options);",
        "enum medseg_status medseg_model_load(const char *model_dir, const struct medseg_model_options *options, struct medseg_model **out);",
        "void medseg_model_free(struct medseg_model *model);",
        "enum medseg_status medseg_model_input_channels(const struct medseg_model *model, size_t *out);",
        "enum medseg_status medseg_model_label_count(const struct medseg_model *model, size_t *out);",
        "enum medseg_status medseg_model_label(const struct medseg_model *model, size_t index, uint32_t *value, const char **name, uint8_t *rgb);",
        "enum medseg_status medseg_predict(const struct medseg_model *model, const struct medseg_image_view *input, medseg_progress_callback progress, void *userdata, const struct medseg_image_view_mut *output);",
        "enum medseg_status medseg_connected_components(const struct medseg_image_view *input, uint32_t connectivity, const struct medseg_image_view_mut *output, size_t *count);",
        "enum medseg_status medseg_largest_component(const struct medseg_image_view *input, uint32_t connectivity, bool per_label, const struct medseg_image_view_mut *output);",
        "enum medseg_status medseg_remove_small(const struct medseg_image_view *input, uint32_t connectivity, double min_size, bool size_in_mm3, const struct medseg_image_view_mut *output);",
        "enum medseg_status medseg_fill_holes(const struct medseg_image_view *input, bool per_label, const struct medseg_image_view_mut *output);",
        "enum medseg_status medseg_relabel(const struct medseg_image_view *input, const char *map_json, const struct medseg_image_view_mut *output);",
        "enum medseg_status medseg_normalize_options_init(struct medseg_normalize_options *options);",
        "enum medseg_status medseg_normalize(const struct medseg_image_view *input, const struct medseg_normalize_options *options, const struct medseg_image_view_mut *output);",
        "enum medseg_status medseg_resample(const struct medseg_image_view *input, const double *spacing, uint32_t interpolation, struct medseg_image **out);",
        "enum medseg_status medseg_reorient(const struct medseg_image_view *input, const char *axcodes, struct medseg_image **out);",
        "enum medseg_status medseg_spine_largest_component(const struct medseg_image_view *seg, uint32_t preset, const struct medseg_image_view_mut *output);",
        "enum medseg_status medseg_spine_iterative_label(const struct medseg_image_view *seg, uint32_t preset, const struct medseg_image_view *localizer, const struct medseg_image_view_mut *output);",
        "enum medseg_status medseg_spine_fill_canal(const struct medseg_image_view *seg, uint32_t preset, const struct medseg_image_view_mut *output);",
        "enum medseg_status medseg_spine_extract_levels(const struct medseg_image_view *seg, const struct medseg_image_view_mut *output);",
        "MEDSEG_PIPELINE_AUTO = 0,",
        "MEDSEG_PIPELINE_NNUNET = 1,",
        "MEDSEG_PIPELINE_TOTALSPINESEG = 2,",
        "typedef struct medseg_model medseg_model;",
    ];
    for c in contract {
        assert!(header.contains(c), "include/medseg.h lacks: {c}");
    }
    for field in [
        "size_t struct_size;",
        "uint32_t pipeline;",
        "const char *device;",
        "uint32_t threads;",
        "bool tta;",
        "double step_size;",
        "bool parity;",
        "const char *folds;",
        "const char *runtime_path;",
        "double p[4];",
        "bool nonzero_only;",
        "void *data;",
    ] {
        assert!(
            header.contains(field),
            "include/medseg.h lacks field: {field}"
        );
    }
}

/// Output views are written through their own strides: padding between rows and slices is never
/// touched, and every voxel lands at `i*s0 + j*s1 + k*s2`.
#[test]
fn output_strides_are_honoured() {
    // 3 × 2 × 2 labels: value = 1 for i == 0 (one component per column pair), else 2.
    let size = [3u64, 2, 2];
    let mut input = Vec::new();
    for _k in 0..2 {
        for _j in 0..2 {
            input.extend_from_slice(&[1u8, 2, 2]);
        }
    }
    let g = grid(size);
    let in_view = medseg_image_view {
        data: input.as_ptr().cast(),
        len_bytes: input.len(),
        pixel_type: medseg_pixel_type::U8 as u32,
        components: 1,
        strides: [0; 3],
        geometry: g,
    };
    // Strides (2, 7, 17): every other element along i, rows of 7, slices of 17.
    let strides = [2usize, 7, 17];
    let len = 2 * (size[0] as usize - 1) + 7 + 17 + 1;
    let mut out = vec![0xDEAD_BEEFu32; len + 5];
    let mut ov = out_view(&mut out, medseg_pixel_type::U32, g);
    ov.strides = strides;
    let mut count = 0usize;
    // SAFETY: `input` and `out` outlive the call and do not overlap; the views describe them.
    let s = unsafe { medseg_connected_components(&in_view, 6, &ov, &mut count) };
    assert_eq!(s, medseg_status::Ok, "{}", last_error());
    assert_eq!(count, 2);
    let mut touched = vec![false; out.len()];
    for k in 0..2 {
        for j in 0..2 {
            for i in 0..3 {
                let o = i * strides[0] + j * strides[1] + k * strides[2];
                touched[o] = true;
                assert_eq!(out[o], if i == 0 { 1 } else { 2 }, "voxel ({i},{j},{k})");
            }
        }
    }
    for (o, t) in touched.iter().enumerate() {
        if !t {
            assert_eq!(
                out[o], 0xDEAD_BEEF,
                "element {o} between voxels was written"
            );
        }
    }

    // The same through another function and pixel type (I16, padded rows), and a failing call
    // (strides reaching past len_bytes) writes nothing.
    let input16: Vec<i16> = input.iter().map(|&v| v as i16 * 3).collect();
    let in16 = medseg_image_view {
        data: input16.as_ptr().cast(),
        len_bytes: input16.len() * 2,
        pixel_type: medseg_pixel_type::I16 as u32,
        ..in_view
    };
    let mut out16 = vec![-7i16; 4 * 2 * 2];
    let mut ov16 = out_view(&mut out16, medseg_pixel_type::I16, g);
    ov16.strides = [1, 4, 8];
    // SAFETY: as above.
    let s = unsafe { medseg_fill_holes(&in16, true, &ov16) };
    assert_eq!(s, medseg_status::Ok, "{}", last_error());
    for r in 0..4 {
        assert_eq!(&out16[r * 4..r * 4 + 4], &[3, 6, 6, -7]);
    }
    let before = out16.clone();
    ov16.strides = [1, 5, 9]; // the last voxel would be element 2 + 5 + 9 = 16 of 16
    // SAFETY: the view claims only `out16`'s bytes; the call must refuse it before writing.
    let s = unsafe { medseg_fill_holes(&in16, true, &ov16) };
    assert_eq!(s, medseg_status::Mismatch, "{}", last_error());
    assert_eq!(out16, before);
}

/// A typed failure (content, grid mismatch) leaves the caller's output as it was.
#[test]
fn failures_leave_the_output_untouched() {
    let g = grid([4, 4, 4]);
    let seg = [0u8; 64];
    let in_view = medseg_image_view {
        data: seg.as_ptr().cast(),
        len_bytes: 64,
        pixel_type: medseg_pixel_type::U8 as u32,
        components: 1,
        strides: [0; 3],
        geometry: g,
    };
    let mut out = vec![0x5Au8; 64];
    let ov = out_view(&mut out, medseg_pixel_type::U8, g);
    // Preset 3 does not exist.
    // SAFETY: valid views over live buffers.
    assert_eq!(
        unsafe { medseg_spine_fill_canal(&in_view, 3, &ov) },
        medseg_status::InvalidArgument
    );
    let mut og = ov;
    og.geometry.origin[2] += 0.5;
    // SAFETY: as above.
    assert_eq!(
        unsafe { medseg_largest_component(&in_view, 26, false, &og) },
        medseg_status::Mismatch
    );
    assert!(out.iter().all(|&v| v == 0x5A));
    // Resample returns a new image with the input's pixel type and a NULL out on failure.
    let mut img: *mut medseg_image = std::ptr::null_mut();
    let sp = [1.4, 1.1, 2.5];
    // SAFETY: valid view, 3 doubles, writable out.
    assert_eq!(
        unsafe { medseg_resample(&in_view, sp.as_ptr(), 1, &mut img) },
        medseg_status::Ok
    );
    let mut data: *const std::ffi::c_void = std::ptr::null();
    let mut len = 0usize;
    // SAFETY: live handle, writable outs.
    assert_eq!(
        unsafe { medseg_image_data(img, &mut data, &mut len) },
        medseg_status::Ok
    );
    assert_eq!(len, 2 * 4 * 4);
    // SAFETY: live handle, freed once.
    unsafe { medseg_image_free(img) };
    // SAFETY: as above; interpolation 9 is out of range.
    assert_eq!(
        unsafe { medseg_resample(&in_view, sp.as_ptr(), 9, &mut img) },
        medseg_status::InvalidArgument
    );
    assert!(img.is_null());
}

/// An interleaved 2-component input view is split into the model's two channels: the C API's
/// result equals the core predictor's on two separate images.
#[test]
fn multichannel_view_predicts_like_separate_channels() {
    use medseg::inference::predict::{NnUnetModel, PredictConfig};
    use medseg::{DynImage, Geometry, Image};
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/nnunet/models/Dataset901_TinyRegions/nnUNetTrainer__nnUNetPlans__3d_fullres");
    let cdir = CString::new(dir.to_string_lossy().as_bytes()).expect("path");
    let mut opts = medseg_model_options::default();
    // SAFETY: writable struct.
    assert_eq!(
        unsafe { medseg_model_options_init(&mut opts) },
        medseg_status::Ok
    );
    opts.tta = false;
    opts.threads = 1;
    let mut model: *mut medseg_model = std::ptr::null_mut();
    // SAFETY: valid strings, struct and out-pointer.
    let s = unsafe { medseg_model_load(cdir.as_ptr(), &opts, &mut model) };
    assert_eq!(s, medseg_status::Ok, "{}", last_error());
    let mut channels = 0usize;
    // SAFETY: live handle.
    assert_eq!(
        unsafe { medseg_model_input_channels(model, &mut channels) },
        medseg_status::Ok
    );
    assert_eq!(channels, 2);

    let size = [30usize, 28, 8];
    let n = size[0] * size[1] * size[2];
    let geo = medseg_geometry {
        size: size.map(|s| s as u64),
        spacing: [0.9, 0.9, 4.0],
        origin: [0.0; 3],
        direction: [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0],
    };
    let c0: Vec<f32> = (0..n).map(|i| ((i * 37) % 101) as f32 - 20.0).collect();
    let c1: Vec<f32> = (0..n).map(|i| ((i / 30) % 2) as f32).collect();
    let interleaved: Vec<f32> = c0.iter().zip(&c1).flat_map(|(a, b)| [*a, *b]).collect();
    let in_view = medseg_image_view {
        data: interleaved.as_ptr().cast(),
        len_bytes: interleaved.len() * 4,
        pixel_type: medseg_pixel_type::F32 as u32,
        components: 2,
        strides: [0; 3],
        geometry: geo,
    };
    let mut out = vec![0xEEu8; n];
    let ov = out_view(&mut out, medseg_pixel_type::U8, geo);
    // SAFETY: live model, views over live, disjoint buffers; no callback.
    let s = unsafe { medseg_predict(model, &in_view, None, std::ptr::null_mut(), &ov) };
    assert_eq!(s, medseg_status::Ok, "{}", last_error());
    // SAFETY: live handle, freed once.
    unsafe { medseg_model_free(model) };

    let g = Geometry::new(size, geo.spacing, geo.origin, geo.direction).expect("grid");
    let core = NnUnetModel::load(&dir).expect("model");
    let mut cfg = PredictConfig::default();
    cfg.options.tta = false;
    cfg.session.threads = Some(1);
    let images: Vec<DynImage> = vec![
        Image::new(g, c0).expect("c0").into(),
        Image::new(g, c1).expect("c1").into(),
    ];
    let seg = core
        .predict_images(&images, &cfg, &mut |_, _| true)
        .expect("core predict");
    let want = seg.labels.cast::<u8>();
    assert_eq!(want.data(), &out[..]);
}
