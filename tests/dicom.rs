//! DICOM (and MINC) conformance against the reference readers.
//!
//! * `tests/fixtures/dicom/conformance/`: real files from pydicom's and nibabel's test data with
//!   `readings.jsonl` (SimpleITK 2.5.7 / nibabel 5.4.2 readings, from the project's oracle).
//! * `tests/fixtures/dicom/{oblique,two_series,gap,...}`: synthetic series written by
//!   `tools/make_dicom_fixtures.py`, with SimpleITK's reading in `expected.json`.
#![cfg(feature = "dicom")]

use medseg::image::{DynImage, PixelType};
use medseg::io::{self, ReadOptions, dicom};
use medseg::{ErrorKind, Result};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/dicom")
}

fn readings() -> Vec<Value> {
    let text = std::fs::read_to_string(fixtures().join("conformance/readings.jsonl")).unwrap();
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn expected() -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixtures().join("expected.json")).unwrap())
        .unwrap()
}

fn read(path: &Path) -> Result<DynImage> {
    io::read(path, &ReadOptions::default())
}

fn f64s(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn close(what: &str, name: &str, got: &[f64], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len(), "{name}: {what} length");
    for (g, w) in got.iter().zip(want) {
        assert!(
            (g - w).abs() <= tol,
            "{name}: {what} {got:?} differs from {want:?} (tolerance {tol})"
        );
    }
}

/// CRC-32 (zlib) of the little-endian voxels converted to the reference reader's dtype.
fn crc_as(img: &DynImage, dtype: &str) -> String {
    let t = match dtype {
        "uint8" => PixelType::U8,
        "int8" => PixelType::I8,
        "uint16" => PixelType::U16,
        "int16" => PixelType::I16,
        "uint32" => PixelType::U32,
        "int32" => PixelType::I32,
        "float32" => PixelType::F32,
        "float64" => PixelType::F64,
        other => panic!("dtype {other}"),
    };
    let conv = if img.pixel_type() == t {
        img.clone()
    } else {
        img.cast_to(t)
    };
    let mut c = flate2::Crc::new();
    c.update(&conv.to_le_bytes());
    format!("{:08x}", c.sum())
}

/// Compare a reading (`sitk` or `nibabel` block of readings.jsonl) with our image.
fn compare(name: &str, img: &DynImage, r: &Value, crc_tol_dtype: bool) {
    let g = img.geometry();
    let shape: Vec<usize> = r["shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as usize)
        .collect();
    let mut size = g.size.to_vec();
    if img.frames() > 1 {
        size.push(img.frames());
    }
    assert_eq!(size, shape, "{name}: size");
    // Readings are rounded to 4 decimals.
    close("spacing", name, &g.spacing, &f64s(&r["spacing"]), 1e-4);
    close("origin", name, &g.origin, &f64s(&r["origin_lps"]), 1e-4);
    close(
        "direction",
        name,
        &g.direction,
        &f64s(&r["direction_lps"]),
        1e-4,
    );
    let s = img.stats();
    let n = (img.geometry().voxel_count() * img.components() * img.frames()) as f64;
    let want_min = r["min"].as_f64().unwrap();
    let want_max = r["max"].as_f64().unwrap();
    let want_mean = r["sum"].as_f64().unwrap() / n;
    let tol = |v: f64| 1e-6 * v.abs().max(1.0);
    assert!(
        (s.min - want_min).abs() <= tol(want_min),
        "{name}: min {} vs {want_min}",
        s.min
    );
    assert!(
        (s.max - want_max).abs() <= tol(want_max),
        "{name}: max {} vs {want_max}",
        s.max
    );
    assert!(
        (s.mean - want_mean).abs() <= tol(want_mean),
        "{name}: mean {} vs {want_mean}",
        s.mean
    );
    if crc_tol_dtype {
        let dtype = r["dtype_read"].as_str().unwrap();
        assert_eq!(
            crc_as(img, dtype),
            r["crc"].as_str().unwrap(),
            "{name}: voxel CRC in {dtype}"
        );
    }
}

#[test]
fn conformance_dicom_files_match_simpleitk() {
    let mut checked = 0;
    for rec in readings() {
        let name = rec["file"].as_str().unwrap();
        if !name.ends_with(".dcm") {
            continue;
        }
        let path = fixtures().join("conformance").join(name);
        let sitk = &rec["sitk"];
        let ts = rec["quirks"]["transfer_syntax"].as_str().unwrap_or("");
        let got = read(&path);
        if ts.starts_with("1.2.840.10008.1.2.4.51") {
            // 12-bit JPEG Extended: SimpleITK (GDCM) decodes it, dicom-rs cannot.
            let e = got.expect_err(name);
            assert_eq!(e.kind(), ErrorKind::Unsupported, "{name}: {e:?}");
            assert!(
                e.message().contains("1.2.840.10008.1.2.4.51"),
                "{name}: {e}"
            );
            checked += 1;
            continue;
        }
        if ts.starts_with("1.2.840.10008.1.2.4.80") && !cfg!(feature = "jpeg-ls") {
            let e = got.expect_err(name);
            assert_eq!(e.kind(), ErrorKind::Unsupported, "{name}: {e:?}");
            assert!(
                e.message().contains("1.2.840.10008.1.2.4.80"),
                "{name}: {e}"
            );
            checked += 1;
            continue;
        }
        if sitk.get("error").is_some() {
            let e = got.expect_err(name);
            assert_eq!(e.kind(), ErrorKind::Format, "{name}: {e:?}");
            checked += 1;
            continue;
        }
        let img = got.unwrap_or_else(|e| panic!("{name}: {e:?}"));
        compare(name, &img, sitk, true);
        checked += 1;
    }
    assert_eq!(checked, 12, "every DICOM file of the corpus was checked");
}

#[test]
fn ct_small_pixel_type_policy_is_int16() {
    // Signed 16-bit + intercept -1024: GDCM widens to int32; the rescaled values fit int16.
    let img = read(&fixtures().join("conformance/CT_small.dcm")).unwrap();
    assert_eq!(img.pixel_type(), PixelType::I16);
    let f = io::read(
        &fixtures().join("conformance/CT_small.dcm"),
        &ReadOptions {
            apply_scaling: true,
            ..Default::default()
        },
    )
    .unwrap();
    // The rescale is always applied; asking for scaling changes nothing.
    assert_eq!(f.pixel_type(), PixelType::I16);
    assert_eq!(f, img);
}

fn check_expected(name: &str, img: &DynImage, e: &Value, tol: f64) {
    let g = img.geometry();
    let size: Vec<usize> = e["size"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as usize)
        .collect();
    assert_eq!(g.size.to_vec(), size, "{name}: size");
    close("spacing", name, &g.spacing, &f64s(&e["spacing"]), tol);
    close("origin", name, &g.origin, &f64s(&e["origin"]), tol);
    close("direction", name, &g.direction, &f64s(&e["direction"]), tol);
    if let Some(min) = e.get("min") {
        let s = img.stats();
        assert_eq!(s.min, min.as_f64().unwrap(), "{name}: min");
        assert_eq!(s.max, e["max"].as_f64().unwrap(), "{name}: max");
        assert!(
            (s.mean - e["mean"].as_f64().unwrap()).abs() < 1e-9,
            "{name}: mean"
        );
    }
    let dtype = e["dtype"].as_str().unwrap();
    assert_eq!(
        crc_as(img, dtype),
        e["crc"].as_str().unwrap(),
        "{name}: CRC"
    );
}

#[test]
fn synthetic_oblique_series_matches_simpleitk() {
    let dir = fixtures().join("oblique");
    let img = read(&dir).unwrap();
    assert_eq!(img.pixel_type(), PixelType::I16);
    // Positions are written with 6 decimals, IOP with 8.
    check_expected("oblique", &img, &expected()["oblique"], 1e-5);
    // Spacing from the positions (2.5), not SliceThickness (7.5).
    assert!((img.geometry().spacing[2] - 2.5).abs() < 1e-5);

    // The same files given as a list, in a different order, give the same volume.
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files.reverse();
    let again = dicom::read_files(&files, &ReadOptions::default()).unwrap();
    assert_eq!(again, img);

    let list = dicom::list(&dir).unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].id, "1.2.826.0.1.3680043.8.498.1001");
    assert_eq!(list[0].size, [32, 32, 12]);
    assert_eq!(list[0].files, 12);
    assert_eq!(list[0].modality, "CT");
    assert_eq!(list[0].description, "oblique");
    assert!((list[0].spacing.unwrap()[2] - 2.5).abs() < 1e-5);
}

#[test]
fn several_series_need_a_choice() {
    let dir = fixtures().join("two_series");
    let e = read(&dir).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    assert!(
        e.message().contains("1.2.826.0.1.3680043.8.498.2001"),
        "{e}"
    );
    assert!(
        e.message().contains("1.2.826.0.1.3680043.8.498.2002"),
        "{e}"
    );
    let list = dicom::list(&dir).unwrap();
    assert_eq!(list.len(), 2, "the sub-folder is scanned too");
    let opts = ReadOptions {
        series: Some("1.2.826.0.1.3680043.8.498.2002".into()),
        ..Default::default()
    };
    let img = io::read(&dir, &opts).unwrap();
    assert_eq!(img.geometry().size, [6, 6, 2]);
    assert_eq!(img.geometry().spacing, [0.5, 0.5, 2.0]);
    assert_eq!(img.geometry().origin, [5.0, 5.0, 5.0]);
    let opts = ReadOptions {
        series: Some("1.2.3.4".into()),
        ..Default::default()
    };
    assert_eq!(
        io::read(&dir, &opts).unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
}

#[test]
fn missing_slice_is_a_geometry_error() {
    let e = read(&fixtures().join("gap")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidGeometry);
    assert!(e.message().contains("not uniform"), "{e}");
    let list = dicom::list(&fixtures().join("gap")).unwrap();
    assert!(list[0].problem.is_some());
}

#[test]
fn monochrome1_is_inverted_like_simpleitk() {
    let img = read(&fixtures().join("mono1_u12.dcm")).unwrap();
    assert_eq!(img.pixel_type(), PixelType::U16);
    check_expected("mono1_u12.dcm", &img, &expected()["mono1_u12.dcm"], 1e-9);
}

#[test]
fn enhanced_multiframe_uses_functional_groups() {
    let img = read(&fixtures().join("enhanced_mr.dcm")).unwrap();
    check_expected(
        "enhanced_mr.dcm",
        &img,
        &expected()["enhanced_mr.dcm"]["medseg"],
        1e-9,
    );
}

#[test]
fn non_image_object_has_no_pixel_data() {
    let e = read(&fixtures().join("nonimage.dcm")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Format);
    assert!(e.message().contains("no pixel data"), "{e}");
}

/// Found by `cargo fuzz` (docs/fuzzing.md): an 8.6 kB file whose element header claims a
/// 2.36 GB value made dicom-rs allocate that much before failing. The length check refuses it
/// before dicom-rs sees it.
#[test]
fn fuzz_forged_value_length_is_refused_before_allocating() {
    let p = fixtures().join("fuzz/oom-forged-value-length.dcm");
    let e = read(&p).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Format, "{e}");
    assert!(e.message().contains("declares"), "{e}");
    let e = medseg::io::dicom::list(&p).map(|_| ()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Format, "{e}");
}

/// Found by `cargo fuzz` (docs/fuzzing.md, round 5): an element with an unknown VR ("IN", "U)")
/// whose 4-byte length (2.45 GB, 775 MB) the length check read as a 2-byte one, as dicom-rs does
/// not (it reads an unknown VR as UN): dicom-rs allocated it before failing. The check now reads
/// it as dicom-rs does and refuses it up front.
#[test]
fn fuzz_unknown_vr_with_forged_length_is_refused_before_allocating() {
    for f in [
        "oom-unknown-vr-forged-length.dcm",
        "slow-unknown-vr-forged-length.dcm",
    ] {
        let p = fixtures().join("fuzz").join(f);
        let e = read(&p).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Format, "{f}: {e}");
        assert!(e.message().contains("declares"), "{f}: {e}");
        let out = std::env::temp_dir().join("never.nii");
        let e = io::convert(&p, &out, &ReadOptions::default(), &Default::default()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Format, "{f}: {e}");
    }
}

#[test]
fn truncated_and_garbled_copies_give_typed_errors() {
    let dir = std::env::temp_dir().join(format!("medseg-dicom-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let names = [
        "CT_small.dcm",
        "MR_small.dcm",
        "MR_small_RLE.dcm",
        "MR_small_bigendian.dcm",
        "JPEG2000.dcm",
        "image_dfl.dcm",
        "liver_1frame.dcm",
        "rtdose.dcm",
    ];
    for name in names {
        let bytes = std::fs::read(fixtures().join("conformance").join(name)).unwrap();
        for frac in [0.05, 0.3, 0.6, 0.9, 0.99] {
            let cut = ((bytes.len() as f64) * frac) as usize;
            let p = dir.join(format!("cut_{frac}_{name}"));
            std::fs::write(&p, &bytes[..cut]).unwrap();
            let r = read(&p);
            assert!(
                r.is_err(),
                "{name} cut at {cut} of {} read fine",
                bytes.len()
            );
            std::fs::remove_file(&p).unwrap();
        }
        // Garbled: overwrite bytes across the header; any outcome but a panic is fine.
        let mut seed = 0x9e3779b97f4a7c15u64;
        for round in 0..12 {
            let mut b = bytes.clone();
            for _ in 0..8 {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let at = 128 + (seed as usize) % (b.len().min(2048) - 128);
                b[at] = (seed >> 32) as u8;
            }
            let p = dir.join(format!("garbled_{round}_{name}"));
            std::fs::write(&p, &b).unwrap();
            let _ = read(&p);
            std::fs::remove_file(&p).unwrap();
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn minc1_matches_nibabel_and_minc2_reads_when_built_in() {
    for rec in readings() {
        let name = rec["file"].as_str().unwrap();
        if !name.ends_with(".mnc") {
            continue;
        }
        let path = fixtures().join("conformance").join(name);
        let got = read(&path);
        if rec["sitk"].get("error").is_none() {
            // MINC2 (HDF5): read with feature `minc2` (compared with SimpleITK in tests/minc.rs),
            // a typed error without it.
            if cfg!(feature = "minc2") {
                let img = got.unwrap_or_else(|e| panic!("{name}: {e:?}"));
                assert_eq!(img.pixel_type(), PixelType::F32, "{name}");
            } else {
                let e = got.expect_err(name);
                assert_eq!(e.kind(), ErrorKind::Unsupported, "{name}: {e:?}");
                assert!(e.message().contains("MINC2"), "{e}");
            }
            continue;
        }
        // MINC1 against nibabel, which keeps the stored axis order (zspace first): our axes are
        // nibabel's reversed, at the same physical points.
        let nib = &rec["nibabel"];
        let img = got.unwrap_or_else(|e| panic!("{name}: {e:?}"));
        assert_eq!(img.pixel_type(), PixelType::F32);
        let g = img.geometry();
        let shape: Vec<usize> = nib["shape"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as usize)
            .rev()
            .collect();
        assert_eq!(g.size.to_vec(), shape, "{name}: size");
        let mut sp = f64s(&nib["spacing"]);
        sp.reverse();
        close("spacing", name, &g.spacing, &sp, 1e-4);
        close("origin", name, &g.origin, &f64s(&nib["origin_lps"]), 1e-4);
        let d = f64s(&nib["direction_lps"]);
        let reversed: Vec<f64> = (0..3)
            .flat_map(|r| (0..3).rev().map(move |c| (r, c)))
            .map(|(r, c)| d[r * 3 + c])
            .collect();
        close("direction", name, &g.direction, &reversed, 1e-4);
        let s = img.stats();
        let n = g.voxel_count() as f64;
        let rel = |a: f64, b: f64| (a - b).abs() <= 1e-6 * b.abs().max(1e-12);
        assert!(
            rel(s.min, nib["min"].as_f64().unwrap()),
            "{name}: min {}",
            s.min
        );
        assert!(
            rel(s.max, nib["max"].as_f64().unwrap()),
            "{name}: max {}",
            s.max
        );
        let mean = nib["sum"].as_f64().unwrap() / n;
        assert!(rel(s.mean, mean), "{name}: mean {} vs {mean}", s.mean);
        // Truncated copies are typed errors.
        let bytes = std::fs::read(&path).unwrap();
        for cut in [10, bytes.len() / 3, bytes.len() / 2] {
            let p = std::env::temp_dir()
                .join(format!("medseg-minc-cut-{}-{cut}.mnc", std::process::id()));
            std::fs::write(&p, &bytes[..cut]).unwrap();
            let e = read(&p).expect_err("truncated MINC1");
            assert_eq!(e.kind(), ErrorKind::Format, "{e:?}");
            std::fs::remove_file(&p).unwrap();
        }
    }
}

/// Found by `cargo fuzz` (docs/fuzzing.md): a forged RLE Lossless segment made dicom-rs index out
/// of bounds (`rle_lossless.rs:119`). The panic was caught, but its message reached stderr (and a
/// host's panic hook). The RLE header and segment lengths are now checked before dicom-rs runs.
#[test]
fn fuzz_forged_rle_segment_is_refused_without_a_panic() {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/regressions/dicom/panic-rle-lossless-adapter.dcm");
    let e = read(&p).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Format, "{e}");
    assert!(e.message().contains("RLE Lossless"), "{e}");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_medseg"))
        .arg("info")
        .arg(&p)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert!(err.contains("RLE Lossless"), "{err}");
    // The genuine RLE file still reads.
    read(&fixtures().join("conformance/MR_small_RLE.dcm")).unwrap();
}

// ---------------------------------------------------------------- convert

fn scratch(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("medseg-dicom-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// `io::convert` must write the very file `io::write` makes of `io::read`'s image, whichever path
/// it takes (uncompressed grey data are converted slice by slice straight into the `.nii`).
fn convert_equals_read_then_write(
    name: &str,
    input: &Path,
    opts: &ReadOptions,
    out: &Path,
) -> DynImage {
    let w = io::WriteOptions::default();
    let (a, b) = (
        out.join(format!("{name}.convert.nii")),
        out.join(format!("{name}.rw.nii")),
    );
    io::convert(input, &a, opts, &w).unwrap_or_else(|e| panic!("{name}: {e}"));
    let img = io::read(input, opts).unwrap();
    io::write(&b, &img, &w).unwrap();
    let (ba, bb) = (std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    assert_eq!(ba.len(), bb.len(), "{name}: .nii sizes differ");
    assert!(
        ba == bb,
        "{name}: convert and read + write give different .nii files"
    );
    // Another format goes through read + write: the same voxels, the geometry up to the last
    // bit (NRRD stores direction × spacing).
    let c = out.join(format!("{name}.nrrd"));
    io::convert(input, &c, opts, &w).unwrap();
    let back = io::read(&c, &ReadOptions::default()).unwrap();
    let (g, h) = (back.geometry(), img.geometry());
    let near = |a: &[f64], b: &[f64]| a.iter().zip(b).all(|(x, y)| (x - y).abs() <= 1e-12);
    assert!(
        g.size == h.size
            && near(&g.spacing, &h.spacing)
            && near(&g.origin, &h.origin)
            && near(&g.direction, &h.direction),
        "{name}: .nrrd geometry {g:?} vs {h:?}"
    );
    assert!(back.le_bytes() == img.le_bytes(), "{name}: .nrrd voxels");
    img
}

#[test]
fn convert_to_nii_equals_read_then_write() {
    let out = scratch("convert");
    let d = ReadOptions::default();
    // (fixture, pixel type read) — int16 + intercept (checked int16 guess), plain copies (int16,
    // uint32 implicit VR), MONOCHROME1 12-bit, multi-frame, 1-bit, deflate and JPEG 2000 files.
    let cases: &[(&str, PathBuf, PixelType)] = &[
        (
            "ct_small",
            fixtures().join("conformance/CT_small.dcm"),
            PixelType::I16,
        ),
        (
            "mr_small",
            fixtures().join("conformance/MR_small.dcm"),
            PixelType::I16,
        ),
        (
            "rtdose",
            fixtures().join("conformance/rtdose.dcm"),
            PixelType::U32,
        ),
        ("mono1", fixtures().join("mono1_u12.dcm"), PixelType::U16),
        (
            "enhanced",
            fixtures().join("enhanced_mr.dcm"),
            PixelType::U16,
        ),
        (
            "liver",
            fixtures().join("conformance/liver_1frame.dcm"),
            PixelType::U8,
        ),
        (
            "deflate",
            fixtures().join("conformance/image_dfl.dcm"),
            PixelType::U8,
        ),
        (
            "j2k",
            fixtures().join("conformance/JPEG2000.dcm"),
            PixelType::I16,
        ),
        ("oblique", fixtures().join("oblique"), PixelType::I16),
    ];
    for (name, p, t) in cases {
        let img = convert_equals_read_then_write(name, p, &d, &out);
        assert_eq!(img.pixel_type(), *t, "{name}");
    }
    let pick = ReadOptions {
        series: Some("1.2.826.0.1.3680043.8.498.2002".into()),
        ..Default::default()
    };
    convert_equals_read_then_write("two_series", &fixtures().join("two_series"), &pick, &out);
    // Errors are the reader's, and nothing is written.
    let e = io::convert(
        &fixtures().join("two_series"),
        &out.join("x.nii"),
        &d,
        &Default::default(),
    )
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    let e = io::convert(
        &fixtures().join("gap"),
        &out.join("x.nii"),
        &d,
        &Default::default(),
    )
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidGeometry);
    assert!(!out.join("x.nii").exists());
    let _ = std::fs::remove_dir_all(&out);
}

/// A copy of `src` with the string attribute `tag` set to `value` (same VR).
fn with_attribute(src: &Path, dst: &Path, tag: medseg_tag::Tag, value: &str) {
    let mut obj = dicom_object::open_file(src).unwrap();
    let vr = obj.element(tag).unwrap().vr();
    obj.put_str(tag, vr, value);
    obj.write_to_file(dst).unwrap();
}
mod medseg_tag {
    pub use dicom_object::Tag;
}

#[test]
fn convert_rescale_types_and_fallbacks() {
    use dicom_dictionary_std::tags;
    let out = scratch("rescale");
    let ct = fixtures().join("conformance/CT_small.dcm");
    let d = ReadOptions::default();
    // A fractional slope: float32, computed slice by slice.
    let f = out.join("slope.dcm");
    with_attribute(&ct, &f, tags::RESCALE_SLOPE, "0.5");
    let img = convert_equals_read_then_write("slope", &f, &d, &out);
    assert_eq!(img.pixel_type(), PixelType::F32);
    let raw = read(&ct).unwrap();
    let (a, b) = (raw.as_type::<i16>().unwrap(), img.as_type::<f32>().unwrap());
    for (x, y) in a.data().iter().zip(b.data()) {
        // The stored value s was read as s - 1024; now it is s × 0.5 - 1024.
        assert_eq!(*y as f64, ((*x as f64) + 1024.0) * 0.5 - 1024.0);
    }
    // An intercept that pushes values out of int16: the int16 guess is abandoned mid-way and the
    // general path writes int32.
    let o = out.join("overflow.dcm");
    with_attribute(&ct, &o, tags::RESCALE_INTERCEPT, "-40000");
    let img = convert_equals_read_then_write("overflow", &o, &d, &out);
    assert_eq!(img.pixel_type(), PixelType::I32);
    // PALETTE COLOR with one sample per pixel is refused with a typed error (not read as grey
    // indices), by read and by convert, and nothing is written.
    let p = out.join("palette.dcm");
    with_attribute(&ct, &p, tags::PHOTOMETRIC_INTERPRETATION, "PALETTE COLOR");
    assert_eq!(read(&p).unwrap_err().kind(), ErrorKind::Unsupported);
    let e = io::convert(&p, &out.join("p.nii"), &d, &Default::default()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
    assert!(!out.join("p.nii").exists());
    let _ = std::fs::remove_dir_all(&out);
}
