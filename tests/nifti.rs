//! NIfTI / Analyze conformance against the reference readers (SimpleITK, else nibabel), round
//! trips for every pixel type and layout, and the `medseg info --json` / `convert` CLI.
//!
//! The references are `tests/fixtures/conformance/readings.jsonl` (the shared oracle's readings
//! of the shared files) and `readings_extra.jsonl` (the same oracle run on the files that
//! `tools/gen_nifti_fixtures.py` generates). No Python is needed at test time.

use medseg::image::{DynImage, Geometry, Image, PixelType};
use medseg::io::{self, ReadOptions, WriteOptions};
use medseg::{ErrorKind, dispatch};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/conformance")
}

fn tmpdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("medseg-nifti-it-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn readings() -> Vec<Value> {
    let mut v = Vec::new();
    for f in ["readings.jsonl", "readings_extra.jsonl"] {
        let text = std::fs::read_to_string(fixtures().join(f)).unwrap();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            v.push(serde_json::from_str(line).unwrap());
        }
    }
    v
}

fn numpy_name(p: PixelType) -> &'static str {
    match p {
        PixelType::U8 => "uint8",
        PixelType::I8 => "int8",
        PixelType::U16 => "uint16",
        PixelType::I16 => "int16",
        PixelType::U32 => "uint32",
        PixelType::I32 => "int32",
        PixelType::U64 => "uint64",
        PixelType::I64 => "int64",
        PixelType::F32 => "float32",
        PixelType::F64 => "float64",
    }
}

fn f64s(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

/// The values the oracle checksums, in its order: component 0 only, and for 4-D images the
/// oracle's `reshape(i, j, -1)` of the (i, j, k, t) array, i.e. for each k, each frame's (i, j)
/// slice in turn.
fn oracle_order<T: Copy>(data: &[T], size: [usize; 3], comps: usize, frames: usize) -> Vec<T> {
    let slice = size[0] * size[1];
    let nv = slice * size[2];
    let mut out = Vec::with_capacity(nv * frames);
    for k in 0..size[2] {
        for t in 0..frames {
            for v in 0..slice {
                out.push(data[((t * nv) + k * slice + v) * comps]);
            }
        }
    }
    out
}

struct Summary {
    crc: u32,
    min: f64,
    max: f64,
    sum: f64,
    isum: i128,
    n: usize,
}

fn summary(img: &DynImage) -> Summary {
    let g = img.geometry();
    dispatch!(img, i => {
        let vals = oracle_order(i.data(), g.size, i.components(), i.frames());
        let mut bytes = Vec::new();
        for v in &vals {
            medseg::image::Pixel::put_le(*v, &mut bytes);
        }
        let f: Vec<f64> = vals.iter().map(|v| medseg::image::Pixel::to_f64(*v)).collect();
        Summary {
            crc: libdeflater::crc32(&bytes),
            min: f.iter().copied().fold(f64::INFINITY, f64::min),
            max: f.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            sum: f.iter().sum(),
            isum: f.iter().map(|&x| x as i128).sum(),
            n: f.len(),
        }
    })
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol
}

fn rel_close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * a.abs().max(b.abs()).max(1.0)
}

/// Compare one image with one reference reading; returns the mismatches.
fn check(name: &str, img: &DynImage, r: &Value, is_sitk: bool) -> Vec<String> {
    let mut bad = Vec::new();
    let g = img.geometry();
    let comps_note = r.get("note").and_then(|n| n.as_str()).unwrap_or("");
    let shape: Vec<usize> = r["shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as usize)
        .collect();
    let mut spatial = shape.clone();
    if is_sitk && comps_note.contains("components per pixel") {
        let c = spatial.pop().unwrap();
        if c != img.components() {
            bad.push(format!("components {} vs {c}", img.components()));
        }
    }
    while spatial.len() < 3 {
        spatial.push(1);
    }
    let extra: usize = spatial[3..].iter().product();
    let ours_extra = if is_sitk {
        img.frames()
    } else {
        img.frames() * img.components()
    };
    if spatial[..3] != g.size || extra != ours_extra {
        bad.push(format!(
            "shape {:?} × {} frames × {} components vs {:?}",
            g.size,
            img.frames(),
            img.components(),
            shape
        ));
        return bad;
    }
    for (key, ours) in [
        ("spacing", g.spacing.to_vec()),
        ("origin_lps", g.origin.to_vec()),
        ("direction_lps", g.direction.to_vec()),
    ] {
        let want = f64s(&r[key]);
        if ours
            .iter()
            .zip(&want)
            .any(|(a, b)| !close(*a, *b, 1.0001e-4))
        {
            bad.push(format!("{key}: ours {ours:?} vs {want:?}"));
        }
    }
    let dtype = r["dtype_read"].as_str().unwrap();
    let ours_dtype = numpy_name(img.pixel_type());
    if dtype != ours_dtype {
        bad.push(format!("dtype {ours_dtype} vs {dtype}"));
        return bad;
    }
    let s = summary(img);
    let crc = format!("{:08x}", s.crc);
    if r["crc"].as_str() != Some(crc.as_str()) {
        bad.push(format!("crc {crc} vs {}", r["crc"]));
    }
    let (min, max) = (r["min"].as_f64().unwrap(), r["max"].as_f64().unwrap());
    if !rel_close(s.min, min, 1e-7) || !rel_close(s.max, max, 1e-7) {
        bad.push(format!("min/max {}/{} vs {min}/{max}", s.min, s.max));
    }
    let want_mean = if img.pixel_type().is_float() {
        let sum = r["sum"].as_f64().unwrap();
        if !rel_close(s.sum, sum, 1e-6) {
            bad.push(format!("sum {} vs {sum}", s.sum));
        }
        sum / s.n as f64
    } else {
        let sum = r["sum"].as_i64().unwrap() as i128;
        if s.isum != sum {
            bad.push(format!("sum {} vs {sum}", s.isum));
        }
        sum as f64 / s.n as f64
    };
    if img.components() == 1 {
        let info = medseg::image::ImageInfo::of(img);
        if !rel_close(info.mean, want_mean, 1e-6)
            || !rel_close(info.min, min, 1e-7)
            || !rel_close(info.max, max, 1e-7)
        {
            bad.push(format!(
                "ImageInfo min/max/mean {}/{}/{} vs {min}/{max}/{want_mean}",
                info.min, info.max, info.mean
            ));
        }
    }
    let _ = name;
    bad
}

#[test]
fn conformance_with_reference_readers() {
    let dir = tmpdir("conf");
    let mut failures = Vec::new();
    let mut checked = 0;
    for r in readings() {
        let name = r["file"].as_str().unwrap().to_string();
        let path = fixtures().join(&name);
        let sitk_ok = r["sitk"].get("error").is_none();
        let nib_ok = r["nibabel"].get("error").is_none();
        if !sitk_ok && !nib_ok {
            // Header-only files: a typed error naming the missing image file.
            let e = io::read(&path, &ReadOptions::default()).expect_err(&name);
            assert_eq!(e.kind(), ErrorKind::Io, "{name}: {e}");
            let stem = Path::new(&name).file_stem().unwrap().to_str().unwrap();
            assert!(
                e.message().contains(&format!("{stem}.img")),
                "{name}: error does not name the missing file: {e}"
            );
            checked += 1;
            continue;
        }
        let (reference, is_sitk) = if sitk_ok {
            (&r["sitk"], true)
        } else {
            (&r["nibabel"], false)
        };
        // SimpleITK always applies scl_slope/scl_inter; nibabel's dtype is kept unscaled here.
        let opts = ReadOptions {
            apply_scaling: is_sitk,
            ..Default::default()
        };
        let img = match io::read(&path, &opts) {
            Ok(i) => i,
            Err(e) => {
                failures.push(format!("{name}: read failed: {e:?}"));
                continue;
            }
        };
        for m in check(&name, &img, reference, is_sitk) {
            failures.push(format!("{name}: {m}"));
        }
        // What medseg writes reads back to the same voxels and geometry.
        for ext in ["nii", "nii.gz"] {
            let out = dir.join(format!("rt.{ext}"));
            io::write(&out, &img, &WriteOptions::default()).unwrap();
            let back = io::read(&out, &ReadOptions::default()).unwrap();
            if summary(&back).crc != summary(&img).crc
                || back.pixel_type() != img.pixel_type()
                || !back.geometry().same_grid(img.geometry(), 1e-4)
            {
                failures.push(format!(
                    "{name}: round trip through .{ext} changed the image"
                ));
            }
        }
        checked += 1;
    }
    std::fs::remove_dir_all(&dir).ok();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(checked >= 30, "only {checked} readings checked");
}

#[test]
fn stored_values_by_default_scaled_on_request() {
    let p = fixtures().join("extra/functional.nii");
    let raw = io::read(&p, &ReadOptions::default()).unwrap();
    assert_eq!(raw.pixel_type(), PixelType::I16);
    let scaled = io::read(
        &p,
        &ReadOptions {
            apply_scaling: true,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(scaled.pixel_type(), PixelType::F32);
    let (r, s) = (
        raw.as_type::<i16>().unwrap(),
        scaled.as_type::<f32>().unwrap(),
    );
    // scl_slope 0.0754, scl_inter 3100.76 (from the header), as SimpleITK applies them.
    let (v0, s0) = (r.data()[100] as f64, s.data()[100] as f64);
    let (v1, s1) = (r.data()[200] as f64, s.data()[200] as f64);
    let slope = (s1 - s0) / (v1 - v0);
    assert!((slope - 0.0754).abs() < 1e-3, "{slope}");
}

fn oblique() -> Geometry {
    let (s1, c1) = 0.3f64.sin_cos();
    let (s2, c2) = 0.2f64.sin_cos();
    // Rz(0.3) · Rx(0.2), then the third axis flipped (left-handed) for some tests.
    let d = [c1, -s1 * c2, s1 * s2, s1, c1 * c2, -c1 * s2, 0.0, s2, c2];
    Geometry::new([5, 4, 3], [0.7, 0.8, 2.5], [-120.25, 35.5, -7.125], d).unwrap()
}

fn left_handed() -> Geometry {
    let mut g = oblique();
    for r in 0..3 {
        g.direction[r * 3 + 2] = -g.direction[r * 3 + 2];
    }
    g
}

fn make(p: PixelType, g: Geometry, comps: usize, frames: usize) -> DynImage {
    let n = g.voxel_count() * comps * frames;
    let vals: Vec<f64> = (0..n)
        .map(|i| ((i * 37 % 101) as f64 - 30.0) * if p.is_float() { 0.37 } else { 1.0 })
        .collect();
    let img = Image::with_layout(g, comps, frames, vals).unwrap();
    DynImage::from(img).cast_to(p)
}

fn assert_geometry_f32(a: &Geometry, b: &Geometry, what: &str) {
    assert_eq!(a.size, b.size, "{what}");
    for (x, y) in a.spacing.iter().zip(&b.spacing) {
        assert!(rel_close(*x, *y, 2e-7), "{what}: spacing {a:?} {b:?}");
    }
    for (x, y) in a.origin.iter().zip(&b.origin) {
        assert!((x - y).abs() <= 1e-4, "{what}: origin {a:?} {b:?}");
    }
    for (x, y) in a.direction.iter().zip(&b.direction) {
        assert!((x - y).abs() <= 2e-6, "{what}: direction {a:?} {b:?}");
    }
}

#[test]
fn round_trips_every_type_and_container() {
    let dir = tmpdir("rt");
    for p in PixelType::ALL {
        for (ext, g, comps, frames) in [
            ("nii", oblique(), 1, 1),
            ("nii.gz", left_handed(), 1, 1),
            ("hdr", oblique(), 1, 3),
            ("img.gz", oblique(), 1, 1),
            ("HDR", left_handed(), 2, 1),
            ("nii.gz", oblique(), 3, 2),
        ] {
            let img = make(p, g, comps, frames);
            let out = dir.join(format!("x_{p}.{ext}"));
            io::write(&out, &img, &WriteOptions::default()).unwrap();
            let back = io::read(&out, &ReadOptions::default()).unwrap();
            let what = format!("{p} .{ext} {comps}c {frames}f");
            assert_eq!(back.pixel_type(), p, "{what}");
            assert_eq!(
                (back.components(), back.frames()),
                (comps, frames),
                "{what}"
            );
            assert_geometry_f32(back.geometry(), img.geometry(), &what);
            let mut same = back.clone();
            same.set_geometry(*img.geometry()).unwrap();
            assert_eq!(same, img, "{what}");
        }
    }
    // Pairs leave both files, and nothing else, behind.
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert!(names.contains(&"x_u8.img".to_string()));
    assert!(names.contains(&"x_u8.hdr.gz".to_string()));
    assert!(names.contains(&"x_u8.IMG".to_string()));
    assert!(!names.iter().any(|n| n.contains("tmp")), "{names:?}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn large_dimension_is_written_as_nifti2() {
    let dir = tmpdir("n2");
    let g = Geometry::new(
        [40000, 1, 2],
        [0.5, 1.0, 1.0],
        [1.0, 2.0, 3.0],
        medseg::image::IDENTITY,
    )
    .unwrap();
    let img = make(PixelType::U8, g, 1, 1);
    let p = dir.join("wide.nii");
    io::write(&p, &img, &WriteOptions::default()).unwrap();
    let b = std::fs::read(&p).unwrap();
    assert_eq!(i32::from_le_bytes([b[0], b[1], b[2], b[3]]), 540);
    assert_eq!(&b[4..8], b"n+2\0");
    assert_eq!(io::read(&p, &ReadOptions::default()).unwrap(), img);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn written_header_sets_qform_and_sform() {
    let dir = tmpdir("hdr");
    let img = make(PixelType::I16, oblique(), 1, 1);
    let p = dir.join("h.nii");
    io::write(&p, &img, &WriteOptions::default()).unwrap();
    let b = std::fs::read(&p).unwrap();
    let i16at = |o: usize| i16::from_le_bytes([b[o], b[o + 1]]);
    let f32at = |o: usize| f32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]]);
    assert_eq!((i16at(252), i16at(254)), (1, 1)); // qform_code, sform_code
    assert_eq!(&b[344..348], b"n+1\0");
    assert_eq!(f32at(108), 352.0);
    // srow_x[3] is the RAS x of the origin = −(LPS x).
    assert_eq!(f32at(280 + 12), 120.25);
    std::fs::remove_dir_all(&dir).ok();
}

fn medseg(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_medseg"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn cli_info_json_and_convert() {
    let dir = tmpdir("cli");
    let f = fixtures().join("anatomical.nii");
    let out = medseg(&["info", "--json", f.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.trim().lines().count(), 1, "{text}");
    let j: Value = serde_json::from_str(text.trim()).unwrap();
    for k in [
        "size",
        "spacing",
        "origin",
        "direction",
        "pixel_type",
        "components",
        "min",
        "max",
        "mean",
    ] {
        assert!(j.get(k).is_some(), "missing key {k} in {text}");
    }
    // SimpleITK's reading of the same file (readings.jsonl).
    assert_eq!(j["size"], serde_json::json!([33, 41, 25]));
    assert_eq!(j["pixel_type"], "i16");
    assert_eq!(f64s(&j["spacing"]), vec![2.0, 2.0, 2.0]);
    assert_eq!(f64s(&j["origin"]), vec![-32.0, 40.0, -16.0]);
    assert_eq!(
        f64s(&j["direction"]),
        vec![1.0, 0.0, 0.0, 0.0, -1.0, 0.0, 0.0, 0.0, 1.0]
    );
    assert_eq!(
        (j["min"].as_f64(), j["max"].as_f64()),
        (Some(-610.0), Some(30393.0))
    );
    let mean = j["mean"].as_f64().unwrap();
    assert!(
        (mean - 284166082.0 / (33.0 * 41.0 * 25.0)).abs() < 1e-9,
        "{mean}"
    );

    // 4-D: the frame count is the 4th size entry.
    let f4 = fixtures().join("example4d.nii.gz");
    let out = medseg(&["info", "--json", f4.to_str().unwrap()]);
    let j: Value = serde_json::from_str(String::from_utf8_lossy(&out.stdout).trim()).unwrap();
    assert_eq!(j["size"], serde_json::json!([128, 96, 24, 2]));

    // convert writes what reads back identical.
    let o = dir.join("a.nii.gz");
    let out = medseg(&["convert", f.to_str().unwrap(), o.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let a = io::read(&f, &ReadOptions::default()).unwrap();
    let b = io::read(&o, &ReadOptions::default()).unwrap();
    assert_eq!(summary(&a).crc, summary(&b).crc);

    // A header without its image: non-zero exit, the missing file named.
    let h = fixtures().join("nifti1.hdr");
    let out = medseg(&["info", h.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("nifti1.img"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}
