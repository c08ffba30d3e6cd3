//! NIfTI-1, NIfTI-2 and Analyze 7.5: `.nii`, `.nii.gz`, and `.hdr`/`.img` pairs (either file may be
//! gzip-compressed), both byte orders.
//!
//! # What a read returns
//!
//! * **Voxels** in the stored type (`datatype` 2, 4, 8, 16, 64, 256, 512, 768, 1024, 1280 → u8,
//!   i16, i32, f32, f64, i8, u16, u32, i64, u64; RGB24 / RGBA32 → u8 with 3 / 4 components).
//!   Complex, binary and float128 data are refused with [`ErrorKind::Unsupported`].
//!   Non-finite float values (NaN, ±Inf) are replaced by 0 by default, as SimpleITK 2.5 /
//!   ITK 5.4 (niftilib) do, so that statistics and nnU-Net preprocessing match SimpleITK; nibabel
//!   and ITK ≥ 6 keep them: use [`read_with`] and [`NiftiOptions::keep_non_finite`] for that.
//! * **Layout**: `dim[1..=3]` are i, j, k. Vector intents (`intent_code` 1005 SYMMATRIX, 1006
//!   DISPVECT, 1007 VECTOR) take `dim[5]` as the number of components (stored slowest in the
//!   file, interleaved in memory as ITK does) and `dim[4]` as frames. For every other intent all
//!   dimensions above the third are folded, in file order, into frames (so a 4-D time series is
//!   `frames = dim[4]`, and the voxel order is that of the file). As in ITK, a 3-component
//!   DISPVECT field of float type has its x and y components negated (RAS → LPS vectors).
//!   SYMMATRIX components stay in NIfTI's (lower-triangular) order.
//! * **Intensity scaling** (`scl_slope`, `scl_inter`), the rule: by default the stored values come
//!   back unscaled in the stored type. With [`ReadOptions::apply_scaling`] the rule is
//!   SimpleITK's: a slope of 0 (or non-finite) counts as 1; when the slope is not 1 or the
//!   intercept is not 0, integer data become **float32** (`(f32)v · slope + inter`, computed in
//!   float64 and rounded to float32 — for 64-bit integers too, as ITK) and float32/float64 data
//!   are scaled in their own type; otherwise the stored type is returned. Analyze files are
//!   never scaled.
//!
//! # Geometry (LPS), as ITK/SimpleITK read it
//!
//! niftilib builds the qform matrix from the quaternion, `qoffset`, `pixdim[1..=3]` (a
//! non-positive size counts as 1) and qfac = sign of `pixdim[0]` (negative flips k), and the
//! sform from `srow_*`. ITK's `NiftiImageIO` then chooses:
//!
//! 1. `qform_code` and `sform_code` both 0 (always for Analyze, where ITK's default "ITK4"
//!    flavour ignores `orient`): origin 0, identity direction.
//! 2. The sform is used when it equals the qform (3×3 within 1e-5, offsets within 1e-7), or when
//!    it has no skew (affine, unit columns orthonormal within 1e-4) **and** either the qform code
//!    is 0, or `sform_code` is 1 (scanner), or the two transforms are the same rotation, scales
//!    and offsets within 1e-4.
//! 3. Otherwise the qform, when `qform_code` > 0.
//! 4. Otherwise (only a skewed sform) the file is refused with [`ErrorKind::InvalidGeometry`].
//!
//! Origin = translation column, direction = the normalised matrix columns (for 1-D/2-D files
//! only the first one/two rows and columns, as ITK), both converted RAS → LPS by
//! [`crate::image::ras_lps_flip`]; spacing = `pixdim[1..=3]` (not the matrix column norms)
//! scaled by the `xyzt_units` space unit (m → ×1000, µm → ×0.001). Axes beyond the file's
//! dimensions get spacing 1, origin 0. Differences from ITK, documented: a **negative**
//! `pixdim` becomes a positive spacing with that direction column negated (the same
//! index→point map; ITK keeps a negative spacing, which medseg's grid does not allow); a
//! **zero or NaN** `pixdim` in a used axis is refused with [`ErrorKind::InvalidGeometry`]
//! (niftilib silently uses 1).
//!
//! **NIfTI-2** is read with the same rules (SimpleITK 2.5 cannot open NIfTI-2; on the test
//! files these rules agree with nibabel). Where nibabel and SimpleITK disagree on NIfTI-1 LPS
//! geometry (nibabel prefers the sform whenever `sform_code` > 0 and, with both codes 0, puts
//! the origin at the volume centre), medseg follows SimpleITK.
//!
//! # Writing
//!
//! Little-endian NIfTI-1 (NIfTI-2 only when a dimension exceeds 32767), `.nii` with
//! `vox_offset` 352, `.nii.gz` through [`super::compress::gzip`] (parallel multi-member, readable
//! by every gzip reader), or a `.hdr`/`.img` pair (`ni1`, `.gz` on both when the name ends in
//! `.gz`). Both qform and sform are set with code 1 (scanner), as ITK writes them; the quaternion
//! is computed from the direction (qfac = −1 for left-handed grids). Multi-component images are
//! written with intent VECTOR (`dim[0]` = 5, components in `dim[5]`), frames in `dim[4]`; a
//! single slice lying in the x-y plane (k spacing 1, origin z 0) is written as a 2-D file, as ITK
//! writes 2-D images. Scaling is not written (`scl_slope` 1): write what
//! [`ReadOptions::apply_scaling`] produced to keep scaled values. The spacing of the time axis is
//! not carried (written as 1). Writes are atomic ([`super::atomic_write`]).
//!
//! # Bad input
//!
//! Truncated files, a wrong `sizeof_hdr` or magic, `dim[0]` outside 1–7, zero or negative
//! dimensions, element counts that overflow or exceed [`super::Limits`], voxel data that the
//! file does not hold (`vox_offset` past the end, short files), zero/NaN spacing,
//! non-orthonormal directions and a missing `.img` give typed errors naming the file and the
//! field. No buffer is allocated from header fields before they are checked against the bytes
//! actually present.
//!
//! ```
//! use medseg::image::{DynImage, Geometry, Image};
//! use medseg::io::{self, ReadOptions, WriteOptions};
//! let dir = std::env::temp_dir().join(format!("medseg-nifti-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! let g = Geometry::new([4, 3, 2], [0.5, 0.5, 2.0], [10.0, -5.0, 3.0],
//!     [-1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]).unwrap();
//! let img = DynImage::from(Image::new(g, (0..24i16).collect()).unwrap());
//! let p = dir.join("x.nii.gz");
//! io::write(&p, &img, &WriteOptions::default()).unwrap();
//! let back = io::read(&p, &ReadOptions::default()).unwrap();
//! assert_eq!(back, img);
//! std::fs::remove_dir_all(&dir).unwrap();
//! ```

mod header;
mod orient;

pub use header::Version;

use super::{ReadOptions, WriteOptions};
use crate::error::{Error, ErrorKind, Result};
use crate::image::{DynImage, Geometry, Image, Mat3, Pixel, PixelType, ras_lps_flip};
use header::{Header, WriteHeader};
use orient::Source;
use rayon::prelude::*;
use std::path::{Path, PathBuf};

const INTENT_SYMMATRIX: i32 = 1005;
const INTENT_DISPVECT: i32 = 1006;
const INTENT_VECTOR: i32 = 1007;
const INTENT_GENMATRIX: i32 = 1004;

/// How the header lays out the voxels.
#[derive(Debug, Clone, Copy)]
struct Layout {
    size: [usize; 3],
    /// ITK's number of spatial dimensions (1–3).
    dims: usize,
    frames: usize,
    /// Components stored slowest in the file (vector intents).
    vector: usize,
    /// Components packed per voxel (RGB24 = 3, RGBA32 = 4).
    packed: usize,
    pixel: PixelType,
    /// Bytes of voxel data.
    nbytes: usize,
}

fn datatype_pixel(code: i32, what: &str) -> Result<(PixelType, usize)> {
    Ok(match code {
        2 => (PixelType::U8, 1),
        4 => (PixelType::I16, 1),
        8 => (PixelType::I32, 1),
        16 => (PixelType::F32, 1),
        64 => (PixelType::F64, 1),
        256 => (PixelType::I8, 1),
        512 => (PixelType::U16, 1),
        768 => (PixelType::U32, 1),
        1024 => (PixelType::I64, 1),
        1280 => (PixelType::U64, 1),
        128 => (PixelType::U8, 3),
        2304 => (PixelType::U8, 4),
        other => {
            let name = match other {
                0 => "unknown",
                1 => "binary",
                32 => "complex64",
                1536 => "float128",
                1792 => "complex128",
                2048 => "complex256",
                _ => "not a NIfTI datatype",
            };
            return Err(Error::unsupported(format!(
                "{what}: datatype {other} ({name}) is not supported (medseg reads integer and float types of 8-64 bits, RGB24 and RGBA32)"
            )));
        }
    })
}

fn layout(h: &Header, what: &str, limit: u64) -> Result<Layout> {
    let ndim = h.ndim(what)?;
    for i in 1..=ndim {
        if h.dim[i] <= 0 {
            return Err(Error::format(format!(
                "{what}: dim[{i}] = {} is not a positive size (dim[0] = {ndim})",
                h.dim[i]
            )));
        }
    }
    let d = |i: usize| -> u64 { if i <= ndim { h.dim[i] as u64 } else { 1 } };
    let (pixel, packed) = datatype_pixel(h.datatype, what)?;
    let is_vector = matches!(
        h.intent_code,
        INTENT_SYMMATRIX | INTENT_DISPVECT | INTENT_VECTOR
    );
    if h.intent_code == INTENT_GENMATRIX {
        return Err(Error::unsupported(format!(
            "{what}: intent_code 1004 (GENMATRIX) is not supported (nor by ITK)"
        )));
    }
    let (dims, frames, vector) = if is_vector {
        if d(6) != 1 || d(7) != 1 {
            return Err(Error::unsupported(format!(
                "{what}: vector image with dim[6] = {}, dim[7] = {} (only dim[5] may hold components)",
                d(6),
                d(7)
            )));
        }
        if packed > 1 && d(5) > 1 {
            return Err(Error::unsupported(format!(
                "{what}: vector image of RGB pixels (datatype {})",
                h.datatype
            )));
        }
        let dims = if d(3) > 1 || d(4) > 1 {
            3
        } else if d(2) > 1 {
            2
        } else {
            1
        };
        (dims, d(4), d(5))
    } else {
        let mut real = ndim;
        while real > 3 && d(real) == 1 {
            real -= 1;
        }
        let frames = (4..=7).try_fold(1u64, |a, i| a.checked_mul(d(i)));
        let frames = frames.ok_or_else(|| {
            Error::too_large(format!("{what}: dim[4..7] = {:?} overflow", &h.dim[4..]))
        })?;
        (real.min(3), frames, 1)
    };
    let size3 = [
        d(1),
        if dims >= 2 { d(2) } else { 1 },
        if dims >= 3 { d(3) } else { 1 },
    ];
    let values = [size3[0], size3[1], size3[2], frames, vector, packed as u64]
        .iter()
        .try_fold(1u64, |a, &b| a.checked_mul(b));
    let nbytes = values.and_then(|v| v.checked_mul(pixel.size() as u64));
    let nbytes = nbytes.ok_or_else(|| {
        Error::too_large(format!(
            "{what}: dimensions {:?} overflow the element count",
            &h.dim[..=ndim]
        ))
    })?;
    if nbytes > limit {
        return Err(Error::too_large(format!(
            "{what}: dimensions {:?} of {pixel} need {nbytes} bytes, over the limit of {limit}",
            &h.dim[..=ndim]
        )));
    }
    let us = |v: u64| {
        usize::try_from(v)
            .map_err(|_| Error::too_large(format!("{what}: {v} does not fit in memory")))
    };
    Ok(Layout {
        size: [us(size3[0])?, us(size3[1])?, us(size3[2])?],
        dims,
        frames: us(frames)?,
        vector: us(vector)?,
        packed,
        pixel,
        nbytes: us(nbytes)?,
    })
}

/// The LPS grid of a parsed header (see the module docs for the rules).
fn geometry(h: &Header, lay: &Layout, what: &str) -> Result<Geometry> {
    let scale = if h.version == Version::Analyze {
        1.0
    } else {
        match h.xyzt_units & 7 {
            1 => 1e3,
            3 => 1e-3,
            _ => 1.0,
        }
    };
    let (src, m) = orient::choose(h, what)?;
    let (origin, mut direction): ([f64; 3], Mat3) = match src {
        Source::None => ([0.0; 3], crate::image::IDENTITY),
        Source::Qform | Source::Sform => orient::lps_from_matrix(&m, lay.dims, scale),
    };
    let mut spacing = [1.0; 3];
    for (a, (sp, p)) in spacing
        .iter_mut()
        .zip(&h.pixdim[1..4])
        .enumerate()
        .take(lay.dims)
    {
        let p = *p;
        if !p.is_finite() || p == 0.0 {
            return Err(Error::invalid_geometry(format!(
                "{what}: pixdim[{}] = {p} is not a usable voxel size (zero or not finite)",
                a + 1
            )));
        }
        *sp = p.abs() * scale;
        if p < 0.0 {
            for row in direction.chunks_exact_mut(3) {
                if let Some(v) = row.get_mut(a) {
                    *v = -*v;
                }
            }
        }
    }
    Geometry::new(lay.size, spacing, origin, direction).map_err(|e| e.context(what))
}

/// Where the voxel bytes are.
enum DataSource {
    /// An uncompressed file: read straight into the image buffer.
    File { path: PathBuf, len: u64 },
    /// A gzip-compressed file, held compressed: inflated straight into the image buffer.
    Gz { path: PathBuf, data: Vec<u8> },
}

/// Where the voxels start.
#[derive(Debug, Clone, Copy)]
enum Offset {
    At(u64),
    /// niftilib: a negative `vox_offset` in a pair means "the data end at the end of the file".
    FromEnd,
}

impl DataSource {
    /// Open a file, returning its source and its first (up to 540) decompressed bytes.
    fn open(path: &Path, limits: &super::Limits) -> Result<(DataSource, Vec<u8>)> {
        use std::io::Read;
        let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
        if meta.is_dir() {
            return Err(Error::new(
                ErrorKind::Io,
                format!("{} is a directory", path.display()),
            ));
        }
        let mut head = Vec::with_capacity(header::NIFTI2_SIZE);
        std::fs::File::open(path)
            .and_then(|f| f.take(header::NIFTI2_SIZE as u64).read_to_end(&mut head))
            .map_err(|e| Error::io(path, e))?;
        if super::compress::is_gzip(&head) {
            let data = super::read_file(path, limits)?;
            let head = super::compress::gunzip_head(&data, header::NIFTI2_SIZE)
                .map_err(|e| e.context(path.display()))?;
            Ok((
                DataSource::Gz {
                    path: path.to_path_buf(),
                    data,
                },
                head,
            ))
        } else {
            let len = meta.len();
            Ok((
                DataSource::File {
                    path: path.to_path_buf(),
                    len,
                },
                head,
            ))
        }
    }

    fn path(&self) -> &Path {
        match self {
            DataSource::File { path, .. } | DataSource::Gz { path, .. } => path,
        }
    }

    /// `n` values of `T` from byte offset `off`, in the file's byte order. Sizes are checked
    /// against the bytes the file holds (or can hold, compressed) before allocating.
    fn load<T: Pixel + bytemuck::Pod>(&self, off: Offset, n: usize) -> Result<Vec<T>> {
        let what = self.path().display();
        let sz = std::mem::size_of::<T>();
        let nbytes = n as u64 * sz as u64;
        let short = |off: u64, have: u64| {
            Error::format(format!(
                "{what}: file is truncated: the header claims {nbytes} bytes of voxels from offset {off}, but only {} bytes follow",
                have.saturating_sub(off)
            ))
        };
        match self {
            DataSource::File { path, len } => {
                use std::io::{Read, Seek, SeekFrom};
                let off = match off {
                    Offset::At(o) => o,
                    Offset::FromEnd => len.saturating_sub(nbytes),
                };
                if off > *len {
                    return Err(Error::format(format!(
                        "{what}: vox_offset {off} is past the end of the file ({len} bytes)"
                    )));
                }
                if off + nbytes > *len {
                    return Err(short(off, *len));
                }
                let mut v: Vec<T> = crate::image::buffer::zeroed(n);
                let mut f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
                f.seek(SeekFrom::Start(off))
                    .and_then(|_| f.read_exact(bytemuck::cast_slice_mut(&mut v)))
                    .map_err(|e| Error::io(path, e))?;
                Ok(v)
            }
            DataSource::Gz { data, .. } => {
                let justify = (data.len() as u64).saturating_mul(super::compress::MAX_RATIO);
                let Offset::At(off) = off else {
                    // Rare: inflate everything, take the tail.
                    let all =
                        super::compress::gunzip(data, justify).map_err(|e| e.context(&what))?;
                    let start = all
                        .len()
                        .checked_sub(nbytes as usize)
                        .ok_or_else(|| short(0, all.len() as u64))?;
                    return Ok(decode_bytes(all.get(start..).unwrap_or(&[])));
                };
                let total = off
                    .checked_add(nbytes)
                    .filter(|&t| t <= justify)
                    .ok_or_else(|| {
                        Error::format(format!(
                            "{what}: the header claims {nbytes} bytes of voxels from offset {off}, more than {} compressed bytes can hold",
                            data.len()
                        ))
                    })?;
                let total = usize::try_from(total)
                    .map_err(|_| Error::too_large(format!("{what}: {total} bytes")))?;
                if (off as usize).is_multiple_of(sz) {
                    // Inflate header + voxels into the typed buffer, then drop the header values.
                    let skip = off as usize / sz;
                    let mut v: Vec<T> = crate::image::buffer::zeroed(skip + n);
                    super::compress::gunzip_prefix(data, bytemuck::cast_slice_mut(&mut v))
                        .map_err(|e| e.context(&what))?;
                    if skip > 0 {
                        v.copy_within(skip.., 0);
                        v.truncate(n);
                    }
                    Ok(v)
                } else {
                    let mut all = vec![0u8; total];
                    super::compress::gunzip_prefix(data, &mut all).map_err(|e| e.context(&what))?;
                    Ok(decode_bytes(all.get(off as usize..).unwrap_or(&[])))
                }
            }
        }
    }
}

/// Values of `T` from bytes in the file's order (native layout, swapped later if needed).
fn decode_bytes<T: Pixel + bytemuck::Pod>(bytes: &[u8]) -> Vec<T> {
    let n = std::mem::size_of::<T>();
    bytes
        .par_chunks_exact(n)
        .map(bytemuck::pod_read_unaligned::<T>)
        .collect()
}

/// Component-slowest (NIfTI) to component-fastest (memory) order.
fn interleave<T: Pixel>(v: Vec<T>, lay: &Layout) -> Vec<T> {
    let nc = lay.vector;
    let nv = lay.size[0] * lay.size[1] * lay.size[2];
    let nt = lay.frames;
    (0..v.len())
        .into_par_iter()
        .map(|o| {
            let c = o % nc;
            let r = o / nc;
            let (vox, t) = (r % nv, r / nv);
            v.get((c * nt + t) * nv + vox).copied().unwrap_or_default()
        })
        .collect()
}

fn build<T: Pixel + bytemuck::Pod>(
    src: &DataSource,
    off: Offset,
    big: bool,
    lay: &Layout,
    g: Geometry,
) -> Result<Image<T>> {
    let n = lay.nbytes / std::mem::size_of::<T>();
    let mut v: Vec<T> = src.load(off, n)?;
    crate::image::swap_to_native(&mut v, big);
    if lay.vector > 1 {
        v = interleave(v, lay);
    }
    Image::with_layout(g, lay.vector * lay.packed, lay.frames, v)
}

fn to_dyn(src: &DataSource, off: Offset, big: bool, lay: &Layout, g: Geometry) -> Result<DynImage> {
    Ok(match lay.pixel {
        PixelType::U8 => build::<u8>(src, off, big, lay, g)?.into(),
        PixelType::I8 => build::<i8>(src, off, big, lay, g)?.into(),
        PixelType::U16 => build::<u16>(src, off, big, lay, g)?.into(),
        PixelType::I16 => build::<i16>(src, off, big, lay, g)?.into(),
        PixelType::U32 => build::<u32>(src, off, big, lay, g)?.into(),
        PixelType::I32 => build::<i32>(src, off, big, lay, g)?.into(),
        PixelType::U64 => build::<u64>(src, off, big, lay, g)?.into(),
        PixelType::I64 => build::<i64>(src, off, big, lay, g)?.into(),
        PixelType::F32 => build::<f32>(src, off, big, lay, g)?.into(),
        PixelType::F64 => build::<f64>(src, off, big, lay, g)?.into(),
    })
}

/// SimpleITK's rescale rule (module docs).
fn apply_scaling(img: DynImage, h: &Header) -> DynImage {
    if h.version == Version::Analyze {
        return img;
    }
    let eps = f64::EPSILON;
    let mut slope = h.scl_slope;
    if slope.abs() < eps {
        slope = 1.0;
    }
    let inter = h.scl_inter;
    if (slope - 1.0).abs() <= eps && inter.abs() <= eps {
        return img;
    }
    fn to_f32<T: Pixel>(i: &Image<T>, s: f64, b: f64) -> DynImage {
        i.map(move |v| ((v.to_f64() as f32) as f64 * s + b) as f32)
            .into()
    }
    match img {
        DynImage::F64(i) => i.map(move |v| v * slope + inter).into(),
        DynImage::F32(i) => i.map(move |v| (v as f64 * slope + inter) as f32).into(),
        other => crate::dispatch!(&other, i => to_f32(i, slope, inter)),
    }
}

/// Decode the image a header describes, its voxels taken from `src` (for single files the same
/// file as the header).
fn decode_image(
    h: &Header,
    src: &DataSource,
    what: &str,
    opts: &ReadOptions,
    nopts: &NiftiOptions,
) -> Result<DynImage> {
    let lay = layout(h, what, opts.limits.max_bytes)?;
    let g = geometry(h, &lay, what)?;
    if !h.vox_offset.is_finite() {
        return Err(Error::format(format!(
            "{what}: vox_offset {} is not a number",
            h.vox_offset
        )));
    }
    let off = if h.one_file {
        if h.vox_offset < 0.0 {
            return Err(Error::format(format!(
                "{what}: vox_offset {} is negative",
                h.vox_offset
            )));
        }
        Offset::At((h.vox_offset as u64).max(h.size as u64))
    } else if h.vox_offset < 0.0 {
        Offset::FromEnd
    } else {
        Offset::At(h.vox_offset as u64)
    };
    let mut img = to_dyn(src, off, h.big_endian, &lay, g)?;
    if !nopts.keep_non_finite {
        match &mut img {
            DynImage::F32(i) => i.data_mut().par_iter_mut().for_each(|v| {
                if !v.is_finite() {
                    *v = 0.0;
                }
            }),
            DynImage::F64(i) => i.data_mut().par_iter_mut().for_each(|v| {
                if !v.is_finite() {
                    *v = 0.0;
                }
            }),
            _ => {}
        }
    }
    if h.intent_code == INTENT_DISPVECT && lay.vector == 3 {
        match &mut img {
            DynImage::F32(i) => i.data_mut().par_chunks_mut(3).for_each(|c| {
                c.iter_mut().take(2).for_each(|v| *v = -*v);
            }),
            DynImage::F64(i) => i.data_mut().par_chunks_mut(3).for_each(|c| {
                c.iter_mut().take(2).for_each(|v| *v = -*v);
            }),
            _ => {}
        }
    }
    if opts.apply_scaling {
        img = apply_scaling(img, h);
    }
    Ok(img)
}

/// Split a file name into (base, extension without `.gz`, gz?) for `.nii`, `.hdr`, `.img`.
fn split_name(path: &Path) -> Option<(String, String, bool)> {
    let name = path.file_name()?.to_str()?;
    let lower = name.to_ascii_lowercase();
    let (stem_len, gz) = if lower.ends_with(".gz") {
        (name.len() - 3, true)
    } else {
        (name.len(), false)
    };
    let stem = name.get(..stem_len)?;
    let ext_start = stem_len.checked_sub(4)?;
    let ext = stem.get(ext_start..)?;
    let base = stem.get(..ext_start)?;
    Some((base.to_string(), ext.to_string(), gz))
}

/// The partner of a pair file: `x.hdr` ↔ `x.img` (case kept), trying the same compression first.
fn partner_candidates(path: &Path, base: &str, ext: &str, gz: bool) -> Vec<PathBuf> {
    let upper = ext.chars().any(|c| c.is_ascii_uppercase());
    let other = if ext.eq_ignore_ascii_case(".hdr") {
        ".img"
    } else {
        ".hdr"
    };
    let other = if upper {
        other.to_ascii_uppercase()
    } else {
        other.to_string()
    };
    let gzs = if upper { ".GZ" } else { ".gz" };
    let plain = format!("{base}{other}");
    let zipped = format!("{plain}{gzs}");
    let names = if gz { [zipped, plain] } else { [plain, zipped] };
    names.iter().map(|n| path.with_file_name(n)).collect()
}

/// NIfTI-specific reading options (beyond [`ReadOptions`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct NiftiOptions {
    /// Keep NaN and ±Inf voxels as stored (nibabel, ITK ≥ 6) instead of replacing them with 0
    /// (SimpleITK 2.5, the default).
    pub keep_non_finite: bool,
}

/// Read a NIfTI-1/2 file, a `.hdr`/`.img` pair (NIfTI or Analyze 7.5), gzip-compressed or not,
/// with the default [`NiftiOptions`].
pub fn read(path: &Path, opts: &ReadOptions) -> Result<DynImage> {
    read_with(path, opts, &NiftiOptions::default())
}

/// [`read`] with NIfTI-specific options.
pub fn read_with(path: &Path, opts: &ReadOptions, nopts: &NiftiOptions) -> Result<DynImage> {
    let what = path.display().to_string();
    let (base, ext, gz) = split_name(path).ok_or_else(|| {
        Error::unsupported(format!(
            "{what}: not a .nii, .nii.gz, .hdr or .img file name"
        ))
    })?;
    let lext = ext.to_ascii_lowercase();
    if lext == ".nii" {
        let (src, head) = DataSource::open(path, &opts.limits)?;
        let h = Header::parse(&head, &what)?;
        if !h.one_file {
            let kind = if h.version == Version::Analyze {
                "has no NIfTI magic (\"n+1\"/\"n+2\")"
            } else {
                "is a pair header (magic \"ni1\"/\"ni2\") whose voxels belong in a separate .img"
            };
            return Err(Error::format(format!(
                "{what}: {kind}; not a single-file NIfTI"
            )));
        }
        return decode_image(&h, &src, &what, opts, nopts);
    }
    if lext != ".hdr" && lext != ".img" {
        return Err(Error::unsupported(format!(
            "{what}: not a .nii, .nii.gz, .hdr or .img file name"
        )));
    }
    let partners = partner_candidates(path, &base, &ext, gz);
    let found = partners.iter().find(|p| p.is_file()).cloned();
    let (hdr_path, img_path) = match (lext.as_str(), found) {
        (".hdr", Some(img)) => (path.to_path_buf(), img),
        (_, Some(hdr)) => (hdr, path.to_path_buf()),
        (_, None) => {
            let missing = partners
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(" or ");
            let role = if lext == ".hdr" { "image" } else { "header" };
            if !path.exists() {
                return Err(Error::io(
                    path,
                    std::io::Error::from(std::io::ErrorKind::NotFound),
                ));
            }
            return Err(Error::new(
                ErrorKind::Io,
                format!("{what}: the {role} file of the pair is missing ({missing} not found)"),
            ));
        }
    };
    let hwhat = hdr_path.display().to_string();
    let (_, head) = DataSource::open(&hdr_path, &opts.limits)?;
    let mut h = Header::parse(&head, &hwhat)?;
    // A single-file magic in a .hdr: niftilib still takes the voxels from the .img.
    h.one_file = false;
    let (src, _) = DataSource::open(&img_path, &opts.limits)?;
    decode_image(&h, &src, &img_path.display().to_string(), opts, nopts)
}

fn datatype_of(p: PixelType) -> (i32, i32) {
    match p {
        PixelType::U8 => (2, 8),
        PixelType::I8 => (256, 8),
        PixelType::U16 => (512, 16),
        PixelType::I16 => (4, 16),
        PixelType::U32 => (768, 32),
        PixelType::I32 => (8, 32),
        PixelType::U64 => (1280, 64),
        PixelType::I64 => (1024, 64),
        PixelType::F32 => (16, 32),
        PixelType::F64 => (64, 64),
    }
}

/// True for a single slice whose grid a 2-D file describes exactly: k size 1, axes i and j in the
/// x-y plane, k along +z with spacing 1, origin z = 0 (what a 2-D NIfTI reads back as).
fn is_plain_2d(g: &Geometry) -> bool {
    let d = &g.direction;
    g.size[2] == 1
        && d[6] == 0.0
        && d[7] == 0.0
        && d[2] == 0.0
        && d[5] == 0.0
        && d[8] == 1.0
        && g.spacing[2] == 1.0
        && g.origin[2] == 0.0
}

/// The header describing `img`.
fn header_for(img: &DynImage, one_file: bool) -> WriteHeader {
    header_for_parts(
        img.geometry(),
        img.pixel_type(),
        img.components(),
        img.frames(),
        one_file,
    )
}

/// The header of an image with grid `g`, `pixel` samples, `c` components and `t` frames.
fn header_for_parts(
    g: &Geometry,
    pixel: PixelType,
    c: usize,
    t: usize,
    one_file: bool,
) -> WriteHeader {
    let (dir_ras, origin_ras) = ras_lps_flip(&g.direction, g.origin);
    let (quatern, qfac) = orient::direction_to_quatern(&dir_ras);
    let mut srow = [[0.0; 4]; 3];
    for (r, row) in srow.iter_mut().enumerate() {
        for (col, v) in row.iter_mut().take(3).enumerate() {
            *v = dir_ras[r * 3 + col] * g.spacing[col];
        }
        row[3] = origin_ras[r];
    }
    let [ni, nj, nk] = g.size;
    let dim: [i64; 8] = if c > 1 {
        [5, ni as i64, nj as i64, nk as i64, t as i64, c as i64, 1, 1]
    } else if t > 1 {
        [4, ni as i64, nj as i64, nk as i64, t as i64, 1, 1, 1]
    } else if is_plain_2d(g) {
        // A single slice in the x-y plane: written as 2-D, as ITK writes 2-D images.
        [2, ni as i64, nj as i64, 1, 1, 1, 1, 1]
    } else {
        [3, ni as i64, nj as i64, nk as i64, 1, 1, 1, 1]
    };
    let nifti2 = dim[1..].iter().any(|&d| d > i16::MAX as i64);
    let (datatype, bitpix) = datatype_of(pixel);
    let hsize = if nifti2 {
        header::NIFTI2_SIZE
    } else {
        header::NIFTI1_SIZE
    } as u64;
    WriteHeader {
        nifti2,
        one_file,
        dim,
        intent_code: if c > 1 { INTENT_VECTOR } else { 0 },
        datatype,
        bitpix,
        pixdim: [
            qfac,
            g.spacing[0],
            g.spacing[1],
            g.spacing[2],
            1.0,
            1.0,
            1.0,
            1.0,
        ],
        vox_offset: if one_file { hsize + 4 } else { 0 },
        qform_code: 1,
        sform_code: 1,
        quatern,
        qoffset: origin_ras,
        srow,
        descrip: format!("medseg {}", env!("CARGO_PKG_VERSION")),
    }
}

/// Append the little-endian bytes of `data` in NIfTI order (components slowest).
fn encode_into<T: Pixel>(out: &mut Vec<u8>, data: &[T], comps: usize, frames: usize) {
    if comps <= 1 {
        out.extend_from_slice(&crate::image::le_bytes(data));
        return;
    }
    let sz = T::TYPE.size();
    let start = out.len();
    out.resize(start + data.len() * sz, 0);
    let dst = out.get_mut(start..).unwrap_or(&mut []);
    const BLOCK: usize = 1 << 15;
    let nv = if comps > 0 && frames > 0 {
        data.len() / comps / frames
    } else {
        0
    };
    dst.par_chunks_mut(BLOCK * sz)
        .enumerate()
        .for_each(|(b, chunk)| {
            let first = b * BLOCK;
            let mut tmp = Vec::with_capacity(chunk.len());
            for o in first..first + chunk.len() / sz {
                // Output index o = (c * frames + t) * nv + v  →  memory index (t * nv + v) * comps + c.
                let src = if comps > 1 {
                    let v = o % nv;
                    let r = o / nv;
                    let (t, c) = (r % frames, r / frames);
                    (t * nv + v) * comps + c
                } else {
                    o
                };
                data.get(src).copied().unwrap_or_default().put_le(&mut tmp);
            }
            chunk.copy_from_slice(&tmp);
        });
}

/// Header + extension flag + voxels (single file), or the header and the voxels (pair).
fn encode(img: &DynImage, one_file: bool) -> (Vec<u8>, Vec<u8>) {
    let (c, t) = (img.components(), img.frames());
    let nbytes = crate::dispatch!(img, i => std::mem::size_of_val(i.data()));
    if one_file {
        let mut out = nii_head(img);
        out.reserve(nbytes);
        crate::dispatch!(img, i => encode_into(&mut out, i.data(), c, t));
        (out, Vec::new())
    } else {
        let h = header_for(img, false).to_bytes();
        let mut out = Vec::with_capacity(nbytes);
        crate::dispatch!(img, i => encode_into(&mut out, i.data(), c, t));
        (h, out)
    }
}

/// The bytes of a `.nii` file before its voxels: the header and the (empty) extension flag.
fn nii_head(img: &DynImage) -> Vec<u8> {
    nii_head_of(header_for(img, true))
}

/// A single-file header's bytes and the empty extension flag that follows them.
fn nii_head_of(h: WriteHeader) -> Vec<u8> {
    let mut head = h.to_bytes();
    head.extend_from_slice(&[0, 0, 0, 0]);
    head
}

/// Bytes of voxel data each task of [`write_nii_slices`] produces and writes at once.
const SLICE_GROUP_BYTES: usize = 2 << 20;

/// Write a scalar volume with grid `g` and `pixel` samples to an uncompressed `.nii` slice by
/// slice, without ever holding the whole volume: the file is exactly what [`write`] makes of the
/// same image. `fill(state, k, buf)` puts the native-endian samples of slice `k` (of `g.size[2]`)
/// into `buf`, which is exactly one slice long and aligned for `pixel`; `init` makes one `state`
/// (scratch buffers) per worker. Slices are produced and written in parallel, in groups of about
/// 2 MiB (`pwrite` at their offsets). Atomic like [`write`]: the file appears only when every
/// slice is in. `Ok(false)`: `fill` gave up on some slice (returned `Ok(false)`); nothing was
/// written and the caller takes another path. Little-endian machines only (the caller checks).
///
/// ```text
/// 2x2x3 int16 grid, fill(k) = [k, k, k, k]  →  header (352 bytes), then 0 0 0 0 1 1 1 1 2 2 2 2
/// ```
pub(crate) fn write_nii_slices<S>(
    path: &Path,
    g: &Geometry,
    pixel: PixelType,
    init: impl Fn() -> S + Sync + Send,
    fill: impl Fn(&mut S, usize, &mut [u8]) -> Result<bool> + Sync + Send,
) -> Result<bool> {
    use std::os::unix::fs::FileExt;
    use std::sync::atomic::{AtomicBool, Ordering};
    let what = path.display().to_string();
    match split_name(path) {
        Some((_, ext, false)) if ext.eq_ignore_ascii_case(".nii") => {}
        _ => {
            return Err(Error::internal(format!(
                "{what}: slice-by-slice writing is for uncompressed .nii files only"
            )));
        }
    }
    if !cfg!(target_endian = "little") {
        return Err(Error::internal(
            "slice-by-slice NIfTI writing needs a little-endian machine",
        ));
    }
    g.validate().map_err(|e| e.context(&what))?;
    let head = nii_head_of(header_for_parts(g, pixel, 1, 1, true));
    let slice = g.size[0] * g.size[1] * pixel.size();
    let n = g.size[2];
    let group = (SLICE_GROUP_BYTES / slice.max(1)).clamp(1, n.max(1));
    let gave_up = AtomicBool::new(false);
    let r = super::atomic_write_many(&[path], |t| {
        let f = std::fs::File::create(&t[0]).map_err(|e| Error::io(path, e))?;
        let total = (head.len() + slice * n) as u64;
        f.write_all_at(&head, 0)
            .and_then(|_| f.set_len(total))
            .map_err(|e| Error::io(path, e))?;
        let words = (group * slice).div_ceil(8);
        // Each worker writes what it produced. (A single writer thread fed by the workers saved
        // the CPU the kernel spends spinning on the file's inode lock, but was not faster.)
        (0..n.div_ceil(group)).into_par_iter().try_for_each_init(
            || (vec![0u64; words], init()),
            |(buf, state), c| -> Result<()> {
                let bytes: &mut [u8] = bytemuck::cast_slice_mut(buf.as_mut_slice());
                let (k0, k1) = (c * group, ((c + 1) * group).min(n));
                for k in k0..k1 {
                    let at = (k - k0) * slice;
                    if gave_up.load(Ordering::Relaxed)
                        || !fill(state, k, &mut bytes[at..at + slice])?
                    {
                        gave_up.store(true, Ordering::Relaxed);
                        return Err(Error::internal("slice producer gave up"));
                    }
                }
                f.write_all_at(
                    &bytes[..(k1 - k0) * slice],
                    (head.len() + k0 * slice) as u64,
                )
                .map_err(|e| Error::io(path, e))
            },
        )
    });
    match r {
        Ok(()) => Ok(true),
        Err(_) if gave_up.load(Ordering::Relaxed) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Write `.nii`, `.nii.gz` or a `.hdr`/`.img` pair (`.gz` on both when the name ends in `.gz`).
pub fn write(path: &Path, img: &DynImage, opts: &WriteOptions) -> Result<()> {
    let what = path.display().to_string();
    let (base, ext, gz) = split_name(path).ok_or_else(|| {
        Error::unsupported(format!(
            "{what}: not a .nii, .nii.gz, .hdr or .img file name"
        ))
    })?;
    img.geometry().validate().map_err(|e| e.context(&what))?;
    let level = opts
        .compression_level
        .unwrap_or(super::compress::DEFAULT_LEVEL);
    let lext = ext.to_ascii_lowercase();
    if lext == ".nii" && !gz && img.components() <= 1 {
        // Header, extension flag and the voxel buffer itself: no encoded copy.
        let head = nii_head(img);
        let data = img.le_bytes();
        return super::atomic_write_many(&[path], |t| {
            use std::io::Write;
            let mut f = std::fs::File::create(&t[0]).map_err(|e| Error::io(path, e))?;
            f.write_all(&head)
                .and_then(|_| f.write_all(&data))
                .map_err(|e| Error::io(path, e))
        });
    }
    if lext == ".nii" {
        let (bytes, _) = encode(img, true);
        let bytes = if gz {
            super::compress::gzip(&bytes, level)
        } else {
            bytes
        };
        return super::atomic_write(path, &bytes);
    }
    if lext != ".hdr" && lext != ".img" {
        return Err(Error::unsupported(format!(
            "{what}: not a .nii, .nii.gz, .hdr or .img file name"
        )));
    }
    let partner = partner_candidates(path, &base, &ext, gz)
        .into_iter()
        .next()
        .ok_or_else(|| Error::internal("no partner name"))?;
    let (hdr_path, img_path) = if lext == ".hdr" {
        (path.to_path_buf(), partner)
    } else {
        (partner, path.to_path_buf())
    };
    let (h, data) = encode(img, false);
    let (h, data) = if gz {
        (
            super::compress::gzip(&h, level),
            super::compress::gzip(&data, level),
        )
    } else {
        (h, data)
    };
    super::atomic_write_many(&[&hdr_path, &img_path], |t| {
        let [th, ti] = t else {
            return Err(Error::internal(
                "atomic_write_many gave the wrong number of paths",
            ));
        };
        std::fs::write(th, &h).map_err(|e| Error::io(&hdr_path, e))?;
        std::fs::write(ti, &data).map_err(|e| Error::io(&img_path, e))
    })
}

#[cfg(test)]
mod tests;
