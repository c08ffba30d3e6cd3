//! MINC2 (HDF5) reading: conformance with SimpleITK 2.5.7 (ITK 5.4 MINCImageIO), agreement with
//! the MINC1 copy of the same data, and typed errors for bad input.
//!
//! Fixtures: `tests/fixtures/conformance/{minc2_1_scale,small}.mnc` (nibabel's and ITK's test
//! data) with SimpleITK's readings in `readings_minc2.jsonl` (copied from the project oracle).
//!
//! SimpleITK's MINC reader is built without `ITK_MINC_IO_RAS_TO_LPS`, so it reports MINC's world
//! coordinates (RAS: "X increases from patient left to right") unchanged as LPS. medseg converts
//! RAS to LPS as for MINC1 (where nibabel agrees), so its origin and the first two rows of its
//! direction are SimpleITK's negated; size, spacing and every voxel are the same.
#![cfg(feature = "minc2")]

use medseg::ErrorKind;
use medseg::image::{DynImage, PixelType};
use medseg::io::{self, Limits, ReadOptions, WriteOptions};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn readings() -> Vec<Value> {
    let text =
        std::fs::read_to_string(fixtures().join("conformance/readings_minc2.jsonl")).unwrap();
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn read(path: &Path) -> medseg::Result<DynImage> {
    io::read(path, &ReadOptions::default())
}

fn f64s(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn close(what: &str, got: &[f64], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len(), "{what} length");
    for (g, w) in got.iter().zip(want) {
        assert!(
            (g - w).abs() <= tol,
            "{what}: {got:?} vs {want:?} (tolerance {tol})"
        );
    }
}

fn crc(img: &DynImage) -> String {
    format!("{:08x}", libdeflater::crc32(&img.to_le_bytes()))
}

/// A per-test scratch folder.
fn scratch(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("medseg-minc-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn minc2_conformance_files_match_simpleitk() {
    let recs = readings();
    assert_eq!(recs.len(), 2);
    for rec in recs {
        let name = rec["file"].as_str().unwrap();
        let r = &rec["sitk"];
        let img = read(&fixtures().join("conformance").join(name))
            .unwrap_or_else(|e| panic!("{name}: {e:?}"));
        assert_eq!(img.pixel_type(), PixelType::F32, "{name}");
        assert_eq!(r["dtype_read"], "float32");
        let g = img.geometry();
        let shape: Vec<usize> = r["shape"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as usize)
            .collect();
        assert_eq!(g.size.to_vec(), shape, "{name}: size");
        assert_eq!(img.frames(), 1);
        close(
            &format!("{name}: spacing"),
            &g.spacing,
            &f64s(&r["spacing"]),
            1e-5,
        );
        // SimpleITK's "LPS" is MINC's RAS (see the module comment).
        let o = f64s(&r["origin_lps"]);
        close(
            &format!("{name}: origin"),
            &g.origin,
            &[-o[0], -o[1], o[2]],
            1e-5,
        );
        let d = f64s(&r["direction_lps"]);
        let flipped: Vec<f64> = d
            .iter()
            .enumerate()
            .map(|(i, &v)| if i < 6 { -v } else { v })
            .collect();
        close(&format!("{name}: direction"), &g.direction, &flipped, 1e-5);
        let s = img.stats();
        let n = g.voxel_count() as f64;
        let tol = |v: f64| 1e-6 * v.abs().max(1e-12);
        let (min, max) = (r["min"].as_f64().unwrap(), r["max"].as_f64().unwrap());
        let mean = r["sum"].as_f64().unwrap() / n;
        assert!(
            (s.min - min).abs() <= tol(min),
            "{name}: min {} vs {min}",
            s.min
        );
        assert!(
            (s.max - max).abs() <= tol(max),
            "{name}: max {} vs {max}",
            s.max
        );
        // `sum` is rounded to 8 significant digits in the readings.
        assert!(
            (s.mean - mean).abs() <= 1e-7 * mean.abs() + 1e-6,
            "{name}: mean {} vs {mean}",
            s.mean
        );
        // Every voxel bit-identical to SimpleITK's float32 reading (same axis order: x fastest).
        assert_eq!(crc(&img), r["crc"].as_str().unwrap(), "{name}: voxel CRC");

        // Converting to NIfTI keeps the voxels and the geometry.
        let dir = scratch("convert");
        let out = dir.join(format!("{name}.nii"));
        io::write(&out, &img, &WriteOptions::default()).unwrap();
        let back = read(&out).unwrap();
        assert_eq!(
            crc(&back),
            r["crc"].as_str().unwrap(),
            "{name}: .nii voxels"
        );
        close(
            &format!("{name}: .nii origin"),
            &back.geometry().origin,
            &g.origin,
            1e-4,
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

#[test]
fn minc2_and_minc1_copies_of_the_same_data_agree() {
    // nibabel's minc1_1_scale.mnc and minc2_1_scale.mnc hold the same uint8 data and scaling.
    let m1 = read(&fixtures().join("dicom/conformance/minc1_1_scale.mnc")).unwrap();
    let m2 = read(&fixtures().join("conformance/minc2_1_scale.mnc")).unwrap();
    let (g1, g2) = (m1.geometry(), m2.geometry());
    assert_eq!(g1.size, g2.size);
    close("spacing", &g1.spacing, &g2.spacing, 1e-9);
    close("origin", &g1.origin, &g2.origin, 1e-9);
    close("direction", &g1.direction, &g2.direction, 1e-9);
    // LPS: the RAS start (-20, -20, -10) becomes (20, 20, -10).
    close("origin value", &g2.origin, &[20.0, 20.0, -10.0], 1e-9);
    assert_eq!(crc(&m1), crc(&m2));
}

#[test]
fn minc2_size_over_the_limit_is_too_large() {
    let opts = ReadOptions {
        limits: Limits { max_bytes: 10_000 },
        ..Default::default()
    };
    // small.mnc: 29·28·18 int16 voxels read through f64.
    let e = io::read(&fixtures().join("conformance/small.mnc"), &opts).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TooLarge, "{e:?}");
}

/// Byte ranges of the image's stored voxels (its chunks, or its contiguous block).
fn voxel_ranges(path: &Path) -> Vec<std::ops::Range<usize>> {
    let f = hdf5::File::open(path).unwrap();
    let ds = f.dataset("minc-2.0/image/0/image").unwrap();
    match ds.num_chunks() {
        Some(n) => (0..n)
            .map(|i| {
                let c = ds.chunk_info(i).unwrap();
                c.addr as usize..(c.addr + c.size) as usize
            })
            .collect(),
        None => {
            let at = ds.offset().unwrap() as usize;
            std::iter::once(at..at + ds.storage_size() as usize).collect()
        }
    }
}

#[test]
fn truncated_minc2_and_garbled_voxel_data_give_typed_errors() {
    let dir = scratch("bad");
    for name in ["minc2_1_scale.mnc", "small.mnc"] {
        let path = fixtures().join("conformance").join(name);
        let bytes = std::fs::read(&path).unwrap();
        // Truncations: every length up to 64, then every 97th.
        let cuts: Vec<usize> = (0..64).chain((64..bytes.len()).step_by(97)).collect();
        for cut in cuts {
            let p = dir.join(format!("cut_{cut}_{name}"));
            std::fs::write(&p, &bytes[..cut]).unwrap();
            let e = read(&p).expect_err("truncated MINC2 must not read");
            assert!(
                matches!(e.kind(), ErrorKind::Format | ErrorKind::Unsupported),
                "{name} cut at {cut}: {e:?}"
            );
            std::fs::remove_file(&p).unwrap();
        }
        // Garbled voxel data (compressed chunks or the raw block): a typed error (inflate
        // failure) or a reading of the right size. Garbled metadata: the next test.
        let ranges = voxel_ranges(&path);
        let span: usize = ranges.iter().map(|r| r.len()).sum();
        assert!(span > 0, "{name}: no voxel data found");
        let mut seed = 0x9e37_79b9_7f4a_7c15u64 ^ bytes.len() as u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let (mut errors, mut reads) = (0, 0);
        for round in 0..120 {
            let mut b = bytes.clone();
            for _ in 0..1 + round % 4 {
                let r = next();
                let mut k = (r as usize) % span;
                let range = ranges
                    .iter()
                    .find(|x| {
                        let hit = k < x.len();
                        if !hit {
                            k -= x.len();
                        }
                        hit
                    })
                    .unwrap();
                b[range.start + k] ^= ((r >> 40) as u8) | 1;
            }
            let p = dir.join(format!("garbled_{round}_{name}"));
            std::fs::write(&p, &b).unwrap();
            match read(&p) {
                Ok(img) => {
                    reads += 1;
                    assert_eq!(
                        img.geometry().voxel_count(),
                        read(&path).unwrap().geometry().voxel_count()
                    );
                }
                Err(e) => {
                    errors += 1;
                    assert_eq!(e.kind(), ErrorKind::Format, "{name}: {e:?}");
                }
            }
            std::fs::remove_file(&p).unwrap();
        }
        eprintln!("{name}: garbled voxel data: {errors} typed errors, {reads} readings");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn hdf5_files_that_are_not_minc2_give_typed_errors() {
    let dir = scratch("notminc");
    // 1. An HDF5 file without /minc-2.0.
    let p = dir.join("plain.mnc");
    {
        let f = hdf5::File::create(&p).unwrap();
        f.new_dataset::<u8>().shape([4, 4]).create("data").unwrap();
    }
    let e = read(&p).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Format, "{e:?}");
    assert!(e.message().contains("minc-2.0"), "{e}");
    // 2. An image dataset without dimorder.
    let p = dir.join("nodimorder.mnc");
    {
        let f = hdf5::File::create(&p).unwrap();
        f.new_dataset::<i16>()
            .shape([2, 3, 4])
            .create("minc-2.0/image/0/image")
            .unwrap();
    }
    let e = read(&p).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Format, "{e:?}");
    assert!(e.message().contains("dimorder"), "{e}");
    // 3. A forged size: 10^15 voxels in lazily allocated chunks.
    let p = dir.join("huge.mnc");
    {
        let f = hdf5::File::create(&p).unwrap();
        let ds = f
            .new_dataset::<u8>()
            .chunk([1, 64, 64])
            .shape([100_000, 100_000, 100_000])
            .create("minc-2.0/image/0/image")
            .unwrap();
        ds.new_attr::<hdf5::types::VarLenAscii>()
            .create("dimorder")
            .unwrap()
            .write_scalar(&hdf5::types::VarLenAscii::from_ascii("zspace,yspace,xspace").unwrap())
            .unwrap();
    }
    let e = read(&p).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TooLarge, "{e:?}");
    // 4. A minimal valid image (no dimension datasets, no image-min/max): defaults apply.
    let p = dir.join("minimal.mnc");
    {
        let f = hdf5::File::create(&p).unwrap();
        let ds = f
            .new_dataset::<u16>()
            .shape([2, 3])
            .create("minc-2.0/image/0/image")
            .unwrap();
        ds.write_raw(&[0u16, 1, 2, 3, 4, 65535]).unwrap();
        ds.new_attr::<hdf5::types::VarLenAscii>()
            .create("dimorder")
            .unwrap()
            .write_scalar(&hdf5::types::VarLenAscii::from_ascii("yspace,xspace").unwrap())
            .unwrap();
        ds.new_attr::<f64>()
            .shape([2])
            .create("valid_range")
            .unwrap()
            .write_raw(&[0.0, 65535.0])
            .unwrap();
    }
    let img = read(&p).unwrap();
    assert_eq!(img.geometry().size, [3, 2, 1]);
    let v = img.cast_to(PixelType::F64);
    let s = v.stats();
    // No image-min/image-max: real range 0..1.
    assert_eq!((s.min, s.max), (0.0, 1.0));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Found by `cargo fuzz` (docs/fuzzing.md): a `dimorder` attribute holding bytes that are not
/// UTF-8 was turned into a `str` without a check by hdf5-types' `as_str` (out-of-bounds read
/// under AddressSanitizer, a panic in debug builds). The reader now decodes the bytes itself.
#[test]
fn fuzz_invalid_utf8_dimorder_is_a_typed_error() {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/regressions/minc/fixed-invalid-utf8-dimorder.mnc");
    let e = io::minc::read(&p, &ReadOptions::default()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Format, "{e:?}");
}

/// Found by `cargo fuzz`: forged metadata sizes make libhdf5 request a huge allocation; with
/// the system allocator that fails and comes back as a typed error.
#[test]
fn fuzz_huge_metadata_allocation_is_a_typed_error() {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/regressions/minc/typed-error-huge-metadata-alloc.mnc");
    let e = io::minc::read(&p, &ReadOptions::default()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Format, "{e:?}");
}

/// Inputs on which libhdf5 1.10.8 crashed the process under `cargo fuzz` (a segfault reading a
/// forged attribute datatype size, a heap overflow walking a forged attribute table). MINC2 is
/// now decoded in Rust: each gives a typed error or a reading of the file's 10×20×20 grid.
#[test]
fn former_libhdf5_crash_inputs_are_read_or_refused() {
    for name in [
        "segv-attribute-datatype-size.mnc",
        "libhdf5-heap-overflow-attr-table.mnc",
    ] {
        let p = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fuzz/regressions/minc")
            .join(name);
        match io::minc::read(&p, &ReadOptions::default()) {
            Ok(img) => assert_eq!(img.geometry().size, [20, 20, 10], "{name}"),
            Err(e) => assert!(
                matches!(e.kind(), ErrorKind::Format | ErrorKind::Unsupported),
                "{name}: {e:?}"
            ),
        }
    }
}

/// Every byte of the file outside the voxel data (superblock, object headers, B-trees, heaps,
/// attributes) inverted in turn: each copy reads or gives a typed error, none panics, none
/// allocates beyond the file's means (a forged dataspace is checked against the file size).
#[test]
fn garbled_minc2_metadata_gives_typed_errors() {
    let dir = scratch("meta");
    let path = fixtures().join("conformance/minc2_1_scale.mnc");
    let bytes = std::fs::read(&path).unwrap();
    let voxels = voxel_ranges(&path);
    let size = read(&path).unwrap().geometry().size;
    let p = dir.join("m.mnc");
    let (mut errors, mut reads) = (0, 0);
    for at in (0..bytes.len()).filter(|i| !voxels.iter().any(|r| r.contains(i))) {
        let mut b = bytes.clone();
        b[at] ^= 0xff;
        std::fs::write(&p, &b).unwrap();
        match read(&p) {
            Ok(img) => {
                reads += 1;
                assert!(img.geometry().voxel_count() > 0, "byte {at}");
            }
            Err(e) => {
                errors += 1;
                assert!(
                    matches!(
                        e.kind(),
                        ErrorKind::Format | ErrorKind::Unsupported | ErrorKind::TooLarge
                    ),
                    "byte {at}: {e:?}"
                );
            }
        }
    }
    eprintln!("garbled metadata: {errors} typed errors, {reads} readings (grid {size:?})");
    assert!(errors > 100, "the sweep must reach the metadata");
    std::fs::remove_dir_all(&dir).unwrap();
}
