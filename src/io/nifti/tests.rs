//! Malformed and edge-case headers: every one must give a typed error (never a panic).

use super::*;
use crate::image::IDENTITY;

struct Tmp(PathBuf);
impl Tmp {
    fn new(tag: &str) -> Tmp {
        let d =
            std::env::temp_dir().join(format!("medseg-nifti-unit-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        Tmp(d)
    }
    fn path(&self, n: &str) -> PathBuf {
        self.0.join(n)
    }
}
impl Drop for Tmp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn sample() -> DynImage {
    let g = Geometry::new([4, 3, 2], [1.0, 2.0, 3.0], [1.0, 2.0, 3.0], IDENTITY).unwrap();
    Image::new(g, (0..24i16).collect()).unwrap().into()
}

/// A valid little-endian single-file NIfTI-1 of [`sample`].
fn nii() -> Vec<u8> {
    encode(&sample(), true).0
}

fn set_i16(b: &mut [u8], off: usize, v: i16) {
    b[off..off + 2].copy_from_slice(&v.to_le_bytes());
}
fn set_f32(b: &mut [u8], off: usize, v: f32) {
    b[off..off + 4].copy_from_slice(&v.to_le_bytes());
}

fn read_bytes(t: &Tmp, name: &str, b: &[u8]) -> Result<DynImage> {
    let p = t.path(name);
    std::fs::write(&p, b).unwrap();
    read(&p, &ReadOptions::default())
}

fn kind(r: Result<DynImage>) -> ErrorKind {
    match r {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.kind(),
    }
}

#[test]
fn valid_file_reads() {
    let t = Tmp::new("valid");
    let img = read_bytes(&t, "a.nii", &nii()).unwrap();
    assert_eq!(img, sample());
}

#[test]
fn truncated_files() {
    let t = Tmp::new("trunc");
    let b = nii();
    for n in [0, 3, 100, 347, 352, 360, b.len() - 1] {
        let r = read_bytes(&t, "a.nii", &b[..n]);
        assert_eq!(kind(r), ErrorKind::Format, "cut at {n}");
    }
    let e = read_bytes(&t, "a.nii", &b[..b.len() - 1]).unwrap_err();
    assert!(e.message().contains("truncated"), "{e}");
    // A truncated gzip stream.
    let gz = crate::io::compress::gzip(&b, 1);
    assert_eq!(
        kind(read_bytes(&t, "a.nii.gz", &gz[..gz.len() - 9])),
        ErrorKind::Format
    );
}

#[test]
fn wrong_magic_and_sizeof_hdr() {
    let t = Tmp::new("magic");
    let mut b = nii();
    b[344..348].copy_from_slice(b"abc\0");
    let e = read_bytes(&t, "a.nii", &b).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Format);
    assert!(e.message().contains("magic"), "{e}");
    let mut b = nii();
    b[0..4].copy_from_slice(&1234i32.to_le_bytes());
    let e = read_bytes(&t, "a.nii", &b).unwrap_err();
    assert!(e.message().contains("sizeof_hdr"), "{e}");
}

#[test]
fn bad_dimensions() {
    let t = Tmp::new("dims");
    for (i, v) in [(0usize, 0i16), (0, 8), (0, -1), (1, 0), (2, -4), (3, 0)] {
        let mut b = nii();
        set_i16(&mut b, 40 + 2 * i, v);
        assert_eq!(
            kind(read_bytes(&t, "a.nii", &b)),
            ErrorKind::Format,
            "dim[{i}] = {v}"
        );
    }
    // Claims far more data than the file holds: refused before allocating.
    let mut b = nii();
    for i in 1..=3 {
        set_i16(&mut b, 40 + 2 * i, 30000);
    }
    set_i16(&mut b, 70, 64); // float64: 216e12 bytes
    set_i16(&mut b, 72, 64);
    assert_eq!(kind(read_bytes(&t, "a.nii", &b)), ErrorKind::TooLarge);
    let mut b = nii();
    for i in 1..=3 {
        set_i16(&mut b, 40 + 2 * i, 500);
    }
    let e = read_bytes(&t, "a.nii", &b).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Format);
    assert!(e.message().contains("truncated"), "{e}");
}

#[test]
fn nifti2_dims_that_overflow() {
    let t = Tmp::new("ovf");
    let mut h = header_for(&sample(), true);
    h.nifti2 = true;
    h.vox_offset = 544;
    h.dim = [4, i64::MAX / 2, 3, 1 << 40, 1 << 30, 1, 1, 1];
    let mut b = h.to_bytes();
    b.extend_from_slice(&[0; 4]);
    assert_eq!(kind(read_bytes(&t, "a.nii", &b)), ErrorKind::TooLarge);
}

#[test]
fn bad_spacing() {
    let t = Tmp::new("spacing");
    for v in [0.0f32, f32::NAN, f32::INFINITY] {
        let mut b = nii();
        set_f32(&mut b, 80, v); // pixdim[1]
        let e = read_bytes(&t, "a.nii", &b).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidGeometry, "{v}");
        assert!(e.message().contains("pixdim[1]"), "{e}");
    }
    // A negative pixdim keeps the index→point map: positive spacing, flipped axis.
    let mut b = nii();
    set_i16(&mut b, 252, 0); // no qform: sform only
    set_f32(&mut b, 80, -1.0);
    let img = read_bytes(&t, "a.nii", &b).unwrap();
    let g = img.geometry();
    assert_eq!(g.spacing[0], 1.0);
    // The sform's x axis is LPS +x; the negative pixdim flips it (same points as ITK's −1 spacing).
    assert_eq!(g.direction[0], -1.0);
}

#[test]
fn non_orthonormal_sform_only() {
    let t = Tmp::new("skew");
    let mut b = nii();
    set_i16(&mut b, 252, 0); // qform_code 0
    set_i16(&mut b, 254, 2); // sform_code 2
    set_f32(&mut b, 280 + 4, 0.7); // srow_x[1]: skew
    let e = read_bytes(&t, "a.nii", &b).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidGeometry);
    assert!(e.message().contains("sform"), "{e}");
    // With a valid qform as well, ITK falls back to the qform.
    set_i16(&mut b, 252, 1);
    let img = read_bytes(&t, "a.nii", &b).unwrap();
    let d = img.geometry().direction;
    assert!(
        d.iter().zip(IDENTITY).all(|(a, b)| (a - b).abs() < 1e-7),
        "{d:?}"
    );
}

#[test]
fn vox_offset_past_end_and_bad() {
    let t = Tmp::new("voxoff");
    let mut b = nii();
    set_f32(&mut b, 108, 1.0e6);
    let e = read_bytes(&t, "a.nii", &b).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Format);
    assert!(e.message().contains("past the end"), "{e}");
    set_f32(&mut b, 108, f32::NAN);
    assert_eq!(kind(read_bytes(&t, "a.nii", &b)), ErrorKind::Format);
    set_f32(&mut b, 108, -16.0);
    assert_eq!(kind(read_bytes(&t, "a.nii", &b)), ErrorKind::Format);
}

#[test]
fn unsupported_datatypes() {
    let t = Tmp::new("dtype");
    for code in [0i16, 1, 32, 1536, 1792, 2048, 77] {
        let mut b = nii();
        set_i16(&mut b, 70, code);
        let e = read_bytes(&t, "a.nii", &b).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unsupported, "{code}");
        assert!(e.message().contains(&format!("datatype {code}")), "{e}");
    }
    let mut b = nii();
    set_i16(&mut b, 68, 1004); // GENMATRIX
    assert_eq!(kind(read_bytes(&t, "a.nii", &b)), ErrorKind::Unsupported);
}

#[test]
fn missing_image_of_a_pair() {
    let t = Tmp::new("pair");
    let (h, _) = encode(&sample(), false);
    let p = t.path("only.hdr");
    std::fs::write(&p, &h).unwrap();
    let e = read(&p, &ReadOptions::default()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Io);
    assert!(e.message().contains("only.img"), "{e}");
    let e = read(&t.path("none.img"), &ReadOptions::default()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Io);
    // A .img shorter than the header says.
    std::fs::write(t.path("only.img"), [0u8; 10]).unwrap();
    assert_eq!(kind(read(&p, &ReadOptions::default())), ErrorKind::Format);
}

#[test]
fn pair_header_in_a_nii_and_analyze_nii() {
    let t = Tmp::new("nii-pair");
    let mut b = nii();
    b[344..348].copy_from_slice(b"ni1\0");
    let e = read_bytes(&t, "a.nii", &b).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Format);
    assert!(e.message().contains(".img"), "{e}");
}

#[test]
fn limits_are_honoured() {
    let t = Tmp::new("limits");
    let p = t.path("a.nii");
    std::fs::write(&p, nii()).unwrap();
    let opts = ReadOptions {
        limits: crate::io::Limits { max_bytes: 40 },
        ..Default::default()
    };
    assert_eq!(kind(read(&p, &opts)), ErrorKind::TooLarge);
}

#[test]
fn scaling_rule() {
    let t = Tmp::new("scale");
    let mut b = nii();
    set_f32(&mut b, 112, 2.0);
    set_f32(&mut b, 116, -1.0);
    let p = t.path("a.nii");
    std::fs::write(&p, &b).unwrap();
    let raw = read(&p, &ReadOptions::default()).unwrap();
    assert_eq!(raw.pixel_type(), PixelType::I16);
    let opts = ReadOptions {
        apply_scaling: true,
        ..Default::default()
    };
    let s = read(&p, &opts).unwrap();
    let s = s.as_type::<f32>().unwrap();
    assert_eq!(s.data()[..3], [-1.0, 1.0, 3.0]);
    // Slope 0 means "no scaling" but the intercept still applies.
    set_f32(&mut b, 112, 0.0);
    set_f32(&mut b, 116, 0.5);
    std::fs::write(&p, &b).unwrap();
    let s = read(&p, &opts).unwrap();
    assert_eq!(s.as_type::<f32>().unwrap().data()[1], 1.5);
    // Identity scaling keeps the stored type.
    set_f32(&mut b, 112, 1.0);
    set_f32(&mut b, 116, 0.0);
    std::fs::write(&p, &b).unwrap();
    assert_eq!(read(&p, &opts).unwrap().pixel_type(), PixelType::I16);
}

#[test]
fn choice_of_qform_and_sform() {
    let t = Tmp::new("choice");
    // qform identity-ish (from sample: LPS identity → RAS flip), sform different and code 2:
    // the sform has no skew but is not the same transform → ITK keeps the qform.
    let mut b = nii();
    set_i16(&mut b, 254, 2);
    set_f32(&mut b, 280 + 12, 50.0); // srow_x[3]: other origin
    let img = read_bytes(&t, "a.nii", &b).unwrap();
    assert_eq!(img.geometry().origin, [1.0, 2.0, 3.0]);
    // The same with sform_code 1 (scanner): the sform wins.
    set_i16(&mut b, 254, 1);
    let img = read_bytes(&t, "a.nii", &b).unwrap();
    assert_eq!(img.geometry().origin, [-50.0, 2.0, 3.0]);
    // Neither code: zero origin, identity direction.
    set_i16(&mut b, 252, 0);
    set_i16(&mut b, 254, 0);
    let img = read_bytes(&t, "a.nii", &b).unwrap();
    assert_eq!(img.geometry().origin, [0.0; 3]);
    assert_eq!(img.geometry().direction, IDENTITY);
    // Units: metres.
    b[123] = 1;
    set_i16(&mut b, 252, 1);
    let img = read_bytes(&t, "a.nii", &b).unwrap();
    assert_eq!(img.geometry().spacing, [1000.0, 2000.0, 3000.0]);
    assert_eq!(img.geometry().origin, [1000.0, 2000.0, 3000.0]);
}

#[test]
fn vector_and_rgb_layouts() {
    let t = Tmp::new("vec");
    let g = Geometry::with_size([2, 2, 1]).unwrap();
    let img: DynImage = Image::with_layout(g, 3, 2, (0..24u8).collect())
        .unwrap()
        .into();
    let (b, _) = encode(&img, true);
    // File order is component slowest: the first 4 values are component 0 of frame 0.
    assert_eq!(&b[352..356], &[0, 3, 6, 9]);
    let back = read_bytes(&t, "v.nii", &b).unwrap();
    assert_eq!(back, img);
    // RGB24: packed triplets read as 3 components.
    let mut b = nii();
    set_i16(&mut b, 70, 128);
    set_i16(&mut b, 72, 24);
    for i in 1..=3 {
        set_i16(&mut b, 40 + 2 * i, 2);
    }
    b.truncate(352 + 24);
    let rgb = read_bytes(&t, "rgb.nii", &b).unwrap();
    assert_eq!((rgb.pixel_type(), rgb.components()), (PixelType::U8, 3));
    // DISPVECT float vectors: x and y negated (RAS → LPS), as ITK.
    let f: DynImage = Image::with_layout(g, 3, 1, vec![1.0f32; 12])
        .unwrap()
        .into();
    let (mut b, _) = encode(&f, true);
    set_i16(&mut b, 68, 1006);
    let d = read_bytes(&t, "d.nii", &b).unwrap();
    assert_eq!(d.as_type::<f32>().unwrap().data()[..3], [-1.0, -1.0, 1.0]);
}

#[test]
fn non_finite_floats_zeroed_like_simpleitk_unless_kept() {
    let t = Tmp::new("nan");
    let g = Geometry::with_size([4, 1, 1]).unwrap();
    let f: DynImage = Image::new(g, vec![1.5f32, f32::NAN, f32::INFINITY, -2.0])
        .unwrap()
        .into();
    let (b, _) = encode(&f, true);
    let p = t.path("n.nii");
    std::fs::write(&p, &b).unwrap();
    let z = read(&p, &ReadOptions::default()).unwrap();
    assert_eq!(z.as_type::<f32>().unwrap().data(), &[1.5, 0.0, 0.0, -2.0]);
    let k = read_with(
        &p,
        &ReadOptions::default(),
        &NiftiOptions {
            keep_non_finite: true,
        },
    )
    .unwrap();
    let k = k.as_type::<f32>().unwrap().data().to_vec();
    assert!(k[1].is_nan() && k[2] == f32::INFINITY);
}

/// The slice-by-slice writer makes the file [`write`] makes of the same image (here 2×2×3 int16,
/// slice k = [k, k, k, k]); a producer that gives up leaves nothing, not even a temporary file.
#[test]
fn slice_writer_equals_write_and_gives_up_cleanly() {
    let t = Tmp::new("slices");
    let g = Geometry::new([2, 2, 3], [0.5, 0.7, 2.0], [1.0, -2.0, 3.0], IDENTITY).unwrap();
    let img: DynImage = Image::new(g, (0..12i16).map(|i| i / 4).collect())
        .unwrap()
        .into();
    write(&t.path("a.nii"), &img, &WriteOptions::default()).unwrap();
    let done = write_nii_slices(
        &t.path("b.nii"),
        &g,
        PixelType::I16,
        || (),
        |_, k, buf| {
            for c in buf.chunks_exact_mut(2) {
                c.copy_from_slice(&(k as i16).to_le_bytes());
            }
            Ok(true)
        },
    )
    .unwrap();
    assert!(done);
    let (a, b) = (
        std::fs::read(t.path("a.nii")).unwrap(),
        std::fs::read(t.path("b.nii")).unwrap(),
    );
    assert_eq!(a, b);
    assert_eq!(
        &b[352..],
        &[
            0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 1, 0, 1, 0, 2, 0, 2, 0, 2, 0, 2, 0
        ]
    );

    let gave_up = write_nii_slices(
        &t.path("c.nii"),
        &g,
        PixelType::I16,
        || (),
        |_, k, _| Ok(k != 2),
    )
    .unwrap();
    assert!(!gave_up);
    let left: Vec<_> = std::fs::read_dir(&t.0)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left.len(), 2, "only a.nii and b.nii: {left:?}");
    // Errors of the producer are returned as they are.
    let e = write_nii_slices(
        &t.path("d.nii"),
        &g,
        PixelType::I16,
        || (),
        |_, _, _| {
            Err(Error::io(
                Path::new("x.dcm"),
                std::io::Error::other("disk gone"),
            ))
        },
    )
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Io);
    assert!(!t.path("d.nii").exists());
}
