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
