//! Analyze 7.5 writing (`.hdr` + `.img`). Reading is [`crate::io::nifti`]'s job (it tells an
//! Analyze header from a NIfTI pair by the missing magic).
//!
//! # Asking for Analyze
//! [`crate::io::write`] on a `.hdr`/`.img` name writes a **NIfTI-1 pair**, as ITK does: that keeps
//! the full geometry and every reader of Analyze pairs (SPM, ITK, nibabel's `load`) reads it. A
//! legacy Analyze 7.5 pair is written only when asked for explicitly, with [`write`].
//!
//! # What Analyze 7.5 keeps and loses
//! Kept: size (`dim`), frames (`dim[4]`), spacing (`pixdim[1..=3]`, `vox_units = mm`), voxels,
//! `glmin`/`glmax`. **Lost: origin and direction** — the format has no transform (only the
//! `orient` code, which ITK and medseg ignore), so readers place voxel (0,0,0) at the origin with
//! an identity direction. Data types: the Analyze 7.5 codes for u8 (2), i16 (4), i32 (8), f32 (16),
//! f64 (64) and RGB u8 with 3 components (128); i8, u16, u32, i64, u64 and RGBA use the NIfTI-1
//! codes (256, 512, 768, 1024, 1280, 2304), which niftilib/ITK, SPM and medseg read but strict
//! Analyze readers (nibabel's `AnalyzeImage`) refuse. Other multi-component images are refused.
//! The file is written little endian; the data file is not compressed.
//!
//! ```
//! use medseg::image::{DynImage, Geometry, Image};
//! let g = Geometry::new([2, 2, 1], [0.5, 0.7, 3.0], [0.0; 3], medseg::image::IDENTITY).unwrap();
//! let img: DynImage = Image::new(g, vec![1i16, 2, 3, 4]).unwrap().into();
//! let (hdr, img_bytes) = medseg::io::analyze::to_bytes(&img).unwrap();
//! assert_eq!(hdr.len(), 348);
//! assert_eq!(img_bytes.len(), 8);
//! ```

use super::WriteOptions;
use crate::error::{Error, Result};
use crate::image::{DynImage, PixelType};
use std::path::{Path, PathBuf};

/// Size of the Analyze 7.5 header.
pub const HEADER_SIZE: usize = 348;

/// The datatype code and bits per pixel for an image.
fn datatype(t: PixelType, comps: usize) -> Result<(i16, i16)> {
    let bits = (t.size() * 8) as i16;
    Ok(match (t, comps) {
        (PixelType::U8, 1) => (2, 8),
        (PixelType::I16, 1) => (4, 16),
        (PixelType::I32, 1) => (8, 32),
        (PixelType::F32, 1) => (16, 32),
        (PixelType::F64, 1) => (64, 64),
        (PixelType::I8, 1) => (256, 8),
        (PixelType::U16, 1) => (512, 16),
        (PixelType::U32, 1) => (768, 32),
        (PixelType::I64, 1) => (1024, 64),
        (PixelType::U64, 1) => (1280, 64),
        (PixelType::U8, 3) => (128, 24),
        (PixelType::U8, 4) => (2304, 32),
        _ => {
            return Err(Error::unsupported(format!(
                "Analyze 7.5 cannot store {t} images with {comps} components (bits {bits})"
            )));
        }
    })
}

fn put(b: &mut [u8], off: usize, v: &[u8]) {
    if let Some(dst) = b.get_mut(off..off + v.len()) {
        dst.copy_from_slice(v);
    }
}

/// The 348-byte header and the voxel bytes of an Analyze 7.5 pair.
pub fn to_bytes(img: &DynImage) -> Result<(Vec<u8>, Vec<u8>)> {
    let g = img.geometry();
    let (code, bitpix) = datatype(img.pixel_type(), img.components())?;
    let mut dims = [1i16; 8];
    dims[0] = if img.frames() > 1 { 4 } else { 3 };
    for (a, d) in [g.size[0], g.size[1], g.size[2], img.frames()]
        .iter()
        .enumerate()
    {
        dims[a + 1] = i16::try_from(*d).map_err(|_| {
            Error::too_large(format!(
                "Analyze 7.5 dimensions are at most 32767; axis {a} has {d}"
            ))
        })?;
    }
    let mut h = vec![0u8; HEADER_SIZE];
    put(&mut h, 0, &(HEADER_SIZE as i32).to_le_bytes());
    put(&mut h, 32, &16384i32.to_le_bytes()); // extents
    h[38] = b'r'; // regular
    for (i, d) in dims.iter().enumerate() {
        put(&mut h, 40 + 2 * i, &d.to_le_bytes());
    }
    put(&mut h, 56, b"mm");
    put(&mut h, 70, &code.to_le_bytes());
    put(&mut h, 72, &bitpix.to_le_bytes());
    let pixdim = [
        1.0f32,
        g.spacing[0] as f32,
        g.spacing[1] as f32,
        g.spacing[2] as f32,
        1.0,
        1.0,
        1.0,
        1.0,
    ];
    for (i, p) in pixdim.iter().enumerate() {
        put(&mut h, 76 + 4 * i, &p.to_le_bytes());
    }
    put(&mut h, 108, &0f32.to_le_bytes()); // vox_offset: data starts the .img
    put(&mut h, 112, &1f32.to_le_bytes()); // funused1: SPM's scale factor, 1 = none
    let s = img.stats();
    let clamp = |v: f64| {
        if v.is_finite() {
            v.round().clamp(i32::MIN as f64, i32::MAX as f64) as i32
        } else {
            0
        }
    };
    put(&mut h, 140, &clamp(s.max).to_le_bytes()); // glmax
    put(&mut h, 144, &clamp(s.min).to_le_bytes()); // glmin
    put(&mut h, 148, b"medseg Analyze 7.5");
    Ok((h, img.to_le_bytes()))
}

/// The `.hdr` and `.img` paths for a name ending in either.
pub fn pair_paths(path: &Path) -> Result<(PathBuf, PathBuf)> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("hdr") | Some("img") => Ok((path.with_extension("hdr"), path.with_extension("img"))),
        _ => Err(Error::invalid_argument(format!(
            "{}: an Analyze 7.5 pair needs a .hdr or .img name",
            path.display()
        ))),
    }
}

/// Write an Analyze 7.5 `.hdr` + `.img` pair (either name may be given), atomically.
/// `opts` is accepted for symmetry with the other writers (Analyze data is not compressed).
pub fn write(path: &Path, img: &DynImage, _opts: &WriteOptions) -> Result<()> {
    let (hp, ip) = pair_paths(path)?;
    let (h, d) = to_bytes(img)?;
    super::atomic_write_many(&[&hp, &ip], |t| {
        std::fs::write(&t[0], &h).map_err(|e| Error::io(&hp, e))?;
        std::fs::write(&t[1], &d).map_err(|e| Error::io(&ip, e))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::{Geometry, Image};

    #[test]
    fn header_fields() {
        let g =
            Geometry::new([3, 2, 1], [0.5, 2.0, 4.0], [0.0; 3], crate::image::IDENTITY).unwrap();
        let img: DynImage = Image::new(g, vec![-5i16, 0, 1, 2, 3, 900]).unwrap().into();
        let (h, d) = to_bytes(&img).unwrap();
        assert_eq!(i32::from_le_bytes([h[0], h[1], h[2], h[3]]), 348);
        assert_eq!(i16::from_le_bytes([h[70], h[71]]), 4);
        assert_eq!(i16::from_le_bytes([h[42], h[43]]), 3);
        assert_eq!(f32::from_le_bytes([h[84], h[85], h[86], h[87]]), 2.0);
        assert_eq!(i32::from_le_bytes([h[140], h[141], h[142], h[143]]), 900);
        assert_eq!(i32::from_le_bytes([h[144], h[145], h[146], h[147]]), -5);
        assert_eq!(&h[344..348], &[0, 0, 0, 0]); // no NIfTI magic
        assert_eq!(d.len(), 12);
        let rgb: DynImage = Image::with_layout(g, 2, 1, vec![0u8; 12]).unwrap().into();
        assert!(to_bytes(&rgb).is_err());
    }
}
