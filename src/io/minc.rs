//! MINC reading: MINC1 (netCDF classic) with our own parser, MINC2 (HDF5) through the pure-Rust
//! `hdf5-reader` decoder
//! (`minc2.rs`, cargo feature `minc2`, on by default; without it MINC2 files give an
//! `Unsupported` error). Both share the geometry and scaling code below.
//!
//! # Geometry
//! The image variable's dimensions are listed slowest first (usually `zspace, yspace, xspace`);
//! the fastest becomes i, then j, then k, so the stored order is already medseg's i-fastest
//! order and no voxel is moved. Each spatial dimension variable gives `step` (spacing; a negative
//! step flips that axis' direction), `start` and `direction_cosines` (default: the world axis of
//! the same name). MINC world space is RAS: the axis vectors `cos · sign(step)` and the origin
//! `Σ start_d · cos_d` are converted to LPS with [`crate::image::ras_lps_flip`]. A fourth,
//! slowest non-spatial dimension (time) becomes frames.
//!
//! SimpleITK (ITK's MINCImageIO built without `ITK_MINC_IO_RAS_TO_LPS`, the default) does *not*
//! convert: it reports MINC's RAS coordinates as LPS, so its origin and the first two rows of its
//! direction are the negatives of medseg's (and of nibabel's LPS). Size, spacing and voxels agree.
//!
//! # Values
//! Integer data are real values through per-slice scaling, as nibabel and libminc do:
//! `real = (v − valid_min) / (valid_max − valid_min) · (image-max − image-min) + image-min`, with
//! `valid_range` (or `valid_min`/`valid_max`, else the full range of the stored type and
//! `signtype`) and `image-min`/`image-max` indexed by the leading (slowest) dimensions they span.
//! The result is float32 (nibabel gives float64: values agree to float32 precision). Float data
//! are returned as stored (float32/float64).
//!
//! nibabel, the reference reader for MINC1 (SimpleITK cannot read it), keeps the stored axis order
//! (its first axis is zspace); medseg puts xspace first. The two describe the same voxels at the
//! same points, which tests/dicom.rs checks through the physical positions.

use crate::error::{Error, Result};
use crate::image::{DynImage, Geometry, Image, Mat3, ras_lps_flip};
use crate::io::{ReadOptions, read_maybe_gz};
use std::io::Read;
use std::path::Path;

/// The signature at the start of an HDF5 file (MINC2).
pub const HDF5_MAGIC: &[u8; 8] = b"\x89HDF\r\n\x1a\n";

/// Read a MINC file: MINC1 (optionally gzip-compressed) or MINC2 (HDF5).
pub fn read(path: &Path, opts: &ReadOptions) -> Result<DynImage> {
    // MINC2 is opened by path by the HDF5 decoder; only the signature is read here.
    let mut head = Vec::with_capacity(8);
    std::fs::File::open(path)
        .and_then(|f| f.take(8).read_to_end(&mut head))
        .map_err(|e| Error::io(path, e))?;
    if head == HDF5_MAGIC {
        return read_minc2(path, opts).map_err(|e| e.context(path.display()));
    }
    let bytes = read_maybe_gz(path, &opts.limits)?;
    if bytes.starts_with(HDF5_MAGIC) {
        return Err(Error::unsupported(format!(
            "{}: gzip-compressed MINC2 (HDF5) is not supported; decompress it first (MINC2 compresses internally)",
            path.display()
        )));
    }
    read_minc1(&bytes).map_err(|e| e.context(path.display()))
}

// `src/io/minc2.rs`, a child of this module (it uses the shared helpers below).
#[cfg(feature = "minc2")]
#[path = "minc2.rs"]
mod minc2;

#[cfg(feature = "minc2")]
fn read_minc2(path: &Path, opts: &ReadOptions) -> Result<DynImage> {
    minc2::read(path, &opts.limits)
}

#[cfg(not(feature = "minc2"))]
fn read_minc2(_path: &Path, _opts: &ReadOptions) -> Result<DynImage> {
    Err(Error::unsupported(
        "MINC2 (HDF5) files are not supported by this build (cargo feature `minc2` is off); convert to MINC1 with `mincconvert` or read with SimpleITK",
    ))
}

// ---------------------------------------------------------------------------------------------
// netCDF classic parser (big-endian), only what MINC1 needs.

#[derive(Debug, Clone)]
enum Values {
    Bytes(Vec<i8>),
    Chars(String),
    Shorts(Vec<i16>),
    Ints(Vec<i32>),
    Floats(Vec<f32>),
    Doubles(Vec<f64>),
}

impl Values {
    fn f64s(&self) -> Vec<f64> {
        match self {
            Values::Bytes(v) => v.iter().map(|&x| x as f64).collect(),
            Values::Chars(_) => Vec::new(),
            Values::Shorts(v) => v.iter().map(|&x| x as f64).collect(),
            Values::Ints(v) => v.iter().map(|&x| x as f64).collect(),
            Values::Floats(v) => v.iter().map(|&x| x as f64).collect(),
            Values::Doubles(v) => v.clone(),
        }
    }
}

#[derive(Debug)]
struct Var {
    name: String,
    dims: Vec<usize>,
    attrs: Vec<(String, Values)>,
    nc_type: u32,
    begin: u64,
}

impl Var {
    fn attr(&self, name: &str) -> Option<&Values> {
        self.attrs.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }
    fn attr_f64s(&self, name: &str) -> Option<Vec<f64>> {
        self.attr(name).map(|v| v.f64s()).filter(|v| !v.is_empty())
    }
    fn attr_str(&self, name: &str) -> Option<String> {
        match self.attr(name) {
            Some(Values::Chars(s)) => Some(s.trim_end_matches('\0').trim().to_string()),
            _ => None,
        }
    }
}

struct Cursor<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|e| *e <= self.b.len())
            .ok_or_else(|| {
                Error::format(format!(
                    "netCDF header truncated at byte {} (needs {n} more)",
                    self.pos
                ))
            })?;
        let s = &self.b[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    fn u32(&mut self) -> Result<u32> {
        let s = self.take(4)?;
        Ok(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
    }
    fn u64(&mut self) -> Result<u64> {
        let s = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(s);
        Ok(u64::from_be_bytes(a))
    }
    /// A count that must be satisfiable by the remaining bytes (`unit` bytes each).
    fn count(&mut self, unit: usize) -> Result<usize> {
        let n = self.u32()? as usize;
        if n.saturating_mul(unit.max(1)) > self.b.len().saturating_sub(self.pos) {
            return Err(Error::format(format!(
                "netCDF count {n} at byte {} exceeds the file",
                self.pos
            )));
        }
        Ok(n)
    }
    fn pad(&mut self, n: usize) -> Result<()> {
        let p = (4 - n % 4) % 4;
        self.take(p).map(|_| ())
    }
    fn name(&mut self) -> Result<String> {
        let n = self.count(1)?;
        let s = String::from_utf8_lossy(self.take(n)?).into_owned();
        self.pad(n)?;
        Ok(s)
    }
    fn values(&mut self, nc_type: u32) -> Result<Values> {
        let size = type_size(nc_type)?;
        let n = self.count(size)?;
        let raw = self.take(n * size)?;
        self.pad(n * size)?;
        Ok(match nc_type {
            1 => Values::Bytes(raw.iter().map(|&b| b as i8).collect()),
            2 => Values::Chars(String::from_utf8_lossy(raw).into_owned()),
            3 => Values::Shorts(
                raw.chunks_exact(2)
                    .map(|c| i16::from_be_bytes([c[0], c[1]]))
                    .collect(),
            ),
            4 => Values::Ints(
                raw.chunks_exact(4)
                    .map(|c| i32::from_be_bytes([c[0], c[1], c[2], c[3]]))
                    .collect(),
            ),
            5 => Values::Floats(
                raw.chunks_exact(4)
                    .map(|c| f32::from_be_bytes([c[0], c[1], c[2], c[3]]))
                    .collect(),
            ),
            _ => Values::Doubles(
                raw.chunks_exact(8)
                    .map(|c| f64::from_be_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
                    .collect(),
            ),
        })
    }
    fn attrs(&mut self) -> Result<Vec<(String, Values)>> {
        let tag = self.u32()?;
        let n = self.count(12)?;
        if tag == 0 && n == 0 {
            return Ok(Vec::new());
        }
        if tag != 0x0C {
            return Err(Error::format(format!(
                "netCDF attribute list tag {tag:#x} is not 0x0C"
            )));
        }
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            let name = self.name()?;
            let t = self.u32()?;
            out.push((name, self.values(t)?));
        }
        Ok(out)
    }
}

fn type_size(t: u32) -> Result<usize> {
    Ok(match t {
        1 | 2 => 1,
        3 => 2,
        4 | 5 => 4,
        6 => 8,
        _ => {
            return Err(Error::format(format!(
                "netCDF type {t} is not a classic type (1-6)"
            )));
        }
    })
}

struct NetCdf {
    dims: Vec<(String, usize)>,
    vars: Vec<Var>,
}

fn parse_netcdf(b: &[u8]) -> Result<NetCdf> {
    let mut c = Cursor { b, pos: 0 };
    let magic = c.take(4)?;
    let offset64 = match magic {
        b"CDF\x01" => false,
        b"CDF\x02" => true,
        _ => {
            return Err(Error::format(
                "not a netCDF classic file (magic CDF\\x01 or CDF\\x02)",
            ));
        }
    };
    let _numrecs = c.u32()?;
    // Dimensions.
    let tag = c.u32()?;
    let n = c.count(8)?;
    let mut dims = Vec::with_capacity(n);
    if !(tag == 0 && n == 0) {
        if tag != 0x0A {
            return Err(Error::format(format!(
                "netCDF dimension list tag {tag:#x} is not 0x0A"
            )));
        }
        for _ in 0..n {
            let name = c.name()?;
            let len = c.u32()? as usize;
            dims.push((name, len));
        }
    }
    let _global = c.attrs()?;
    let tag = c.u32()?;
    let n = c.count(16)?;
    let mut vars = Vec::with_capacity(n);
    if !(tag == 0 && n == 0) {
        if tag != 0x0B {
            return Err(Error::format(format!(
                "netCDF variable list tag {tag:#x} is not 0x0B"
            )));
        }
        for _ in 0..n {
            let name = c.name()?;
            let nd = c.count(4)?;
            let mut vd = Vec::with_capacity(nd);
            for _ in 0..nd {
                let id = c.u32()? as usize;
                if id >= dims.len() {
                    return Err(Error::format(format!(
                        "variable {name}: dimension id {id} out of range ({} dimensions)",
                        dims.len()
                    )));
                }
                vd.push(id);
            }
            let attrs = c.attrs()?;
            let nc_type = c.u32()?;
            type_size(nc_type)?;
            let _vsize = c.u32()?;
            let begin = if offset64 { c.u64()? } else { c.u32()? as u64 };
            vars.push(Var {
                name,
                dims: vd,
                attrs,
                nc_type,
                begin,
            });
        }
    }
    Ok(NetCdf { dims, vars })
}

impl NetCdf {
    fn var(&self, name: &str) -> Option<&Var> {
        self.vars.iter().find(|v| v.name == name)
    }
    fn len_of(&self, v: &Var) -> Result<usize> {
        v.dims.iter().try_fold(1usize, |a, &d| {
            let n = self.dims.get(d).map(|x| x.1).unwrap_or(0);
            if n == 0 {
                return Err(Error::unsupported(format!(
                    "variable {}: record (unlimited) dimensions are not supported",
                    v.name
                )));
            }
            a.checked_mul(n)
                .ok_or_else(|| Error::too_large(format!("variable {} is too large", v.name)))
        })
    }
    /// The variable's data as f64 (big-endian, contiguous at `begin`).
    fn data(&self, b: &[u8], v: &Var, unsigned: bool) -> Result<Vec<f64>> {
        let n = self.len_of(v)?;
        let size = type_size(v.nc_type)?;
        let start = usize::try_from(v.begin).map_err(|_| Error::format("data offset overflows"))?;
        let raw = n
            .checked_mul(size)
            .and_then(|len| start.checked_add(len))
            .and_then(|end| b.get(start..end))
            .ok_or_else(|| {
                Error::format(format!(
                    "variable {}: {n} values at byte {start} run past the end of the file ({} bytes; truncated?)",
                    v.name,
                    b.len()
                ))
            })?;
        Ok(match (v.nc_type, unsigned) {
            (1, false) => raw.iter().map(|&x| x as i8 as f64).collect(),
            (1, true) | (2, _) => raw.iter().map(|&x| x as f64).collect(),
            (3, false) => raw
                .chunks_exact(2)
                .map(|c| i16::from_be_bytes([c[0], c[1]]) as f64)
                .collect(),
            (3, true) => raw
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]) as f64)
                .collect(),
            (4, false) => raw
                .chunks_exact(4)
                .map(|c| i32::from_be_bytes([c[0], c[1], c[2], c[3]]) as f64)
                .collect(),
            (4, true) => raw
                .chunks_exact(4)
                .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as f64)
                .collect(),
            (5, _) => raw
                .chunks_exact(4)
                .map(|c| f32::from_be_bytes([c[0], c[1], c[2], c[3]]) as f64)
                .collect(),
            _ => raw
                .chunks_exact(8)
                .map(|c| f64::from_be_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
                .collect(),
        })
    }
}

const SPATIAL: [&str; 3] = ["xspace", "yspace", "zspace"];

/// One dimension of a MINC image as the file lists it (slowest first), with the attributes of
/// its dimension variable (MINC1) or dimension dataset (MINC2).
#[derive(Debug, Clone, Default)]
pub(crate) struct DimInfo {
    pub name: String,
    pub len: usize,
    pub step: Option<f64>,
    pub start: Option<f64>,
    pub cosines: Option<Vec<f64>>,
}

/// Geometry and frame count from the image dimensions (slowest first): spatial dimensions
/// become i, j, k fastest first; one slowest non-spatial dimension (time) becomes frames.
pub(crate) fn layout(dims: &[DimInfo]) -> Result<(Geometry, usize)> {
    let names: Vec<&str> = dims.iter().map(|d| d.name.as_str()).collect();
    let nd = dims.len();
    let spatial: Vec<usize> = (0..nd)
        .rev()
        .filter(|&d| SPATIAL.contains(&names[d]))
        .collect();
    let others: Vec<usize> = (0..nd).filter(|d| !spatial.contains(d)).collect();
    let frames = match others.as_slice() {
        [] => 1,
        [0] => dims[0].len,
        _ => {
            return Err(Error::unsupported(format!(
                "image dimensions {names:?}: only spatial dimensions plus one slowest (time) dimension are supported"
            )));
        }
    };
    if spatial.is_empty() || spatial.len() > 3 {
        return Err(Error::format(format!(
            "image dimensions {names:?} have no spatial axis"
        )));
    }
    let mut size = [1usize; 3];
    let mut spacing = [1.0f64; 3];
    let mut dir_ras: Mat3 = [0.0; 9];
    let mut origin_ras = [0.0f64; 3];
    let mut used_world = [false; 3];
    for (axis, &d) in spatial.iter().enumerate() {
        let dim = &dims[d];
        let name = names[d];
        let world = SPATIAL.iter().position(|s| *s == name).unwrap_or(axis);
        if used_world[world] {
            return Err(Error::format(format!(
                "image dimensions {names:?} repeat {name}"
            )));
        }
        used_world[world] = true;
        size[axis] = dim.len;
        let step = dim.step.unwrap_or(1.0);
        let start = dim.start.unwrap_or(0.0);
        let mut cos = [0.0; 3];
        cos[world] = 1.0;
        if let Some(c) = dim.cosines.as_ref().filter(|c| c.len() == 3) {
            let l = (c[0] * c[0] + c[1] * c[1] + c[2] * c[2]).sqrt();
            if l > 0.0 && l.is_finite() {
                cos = [c[0] / l, c[1] / l, c[2] / l];
            }
        }
        if step == 0.0 || !step.is_finite() || !start.is_finite() {
            return Err(Error::invalid_geometry(format!(
                "{name}: step {step} / start {start} is not a usable spacing and origin"
            )));
        }
        spacing[axis] = step.abs();
        let sgn = step.signum();
        for r in 0..3 {
            dir_ras[r * 3 + axis] = cos[r] * sgn;
            origin_ras[r] += start * cos[r];
        }
    }
    // 2-D images: the missing axis is the unused world axis.
    for axis in spatial.len()..3 {
        let w = (0..3).find(|w| !used_world[*w]).unwrap_or(2);
        used_world[w] = true;
        dir_ras[w * 3 + axis] = 1.0;
    }
    let (direction, origin) = ras_lps_flip(&dir_ras, origin_ras);
    Ok((Geometry::new(size, spacing, origin, direction)?, frames))
}

/// The full range of a stored integer type of `bytes` bytes: the valid range when the file
/// gives none.
pub(crate) fn type_range(bytes: usize, unsigned: bool) -> (f64, f64) {
    match (bytes, unsigned) {
        (1, true) => (0.0, 255.0),
        (1, false) => (-128.0, 127.0),
        (2, true) => (0.0, 65535.0),
        (2, false) => (-32768.0, 32767.0),
        (4, true) => (0.0, u32::MAX as f64),
        (4, false) => (i32::MIN as f64, i32::MAX as f64),
        (_, true) => (0.0, u64::MAX as f64),
        (_, false) => (i64::MIN as f64, i64::MAX as f64),
    }
}

/// `valid_range` (either order), else `valid_min`/`valid_max`, else `default`.
pub(crate) fn valid_range(
    range: Option<Vec<f64>>,
    min: Option<Vec<f64>>,
    max: Option<Vec<f64>>,
    default: (f64, f64),
) -> (f64, f64) {
    if let Some(r) = range.filter(|r| r.len() == 2) {
        return (r[0].min(r[1]), r[0].max(r[1]));
    }
    match (
        min.and_then(|v| v.first().copied()),
        max.and_then(|v| v.first().copied()),
    ) {
        (Some(a), Some(b)) => (a, b),
        _ => default,
    }
}

/// Integer voxels to real values (float32) with per-slice scaling: `image_min`/`image_max`
/// hold one value per index of the leading dimensions they span (absent: 0 and 1).
pub(crate) fn rescale(
    raw: &[f64],
    (vmin, vmax): (f64, f64),
    image_min: Option<&[f64]>,
    image_max: Option<&[f64]>,
) -> Vec<f32> {
    let total = raw.len();
    let per = |v: Option<&[f64]>| v.map(|x| (total / x.len().max(1)).max(1));
    let (pmin, pmax) = (per(image_min), per(image_max));
    let denom = vmax - vmin;
    raw.iter()
        .enumerate()
        .map(|(i, &v)| {
            let lo = match (image_min, pmin) {
                (Some(m), Some(p)) => m.get(i / p).copied().unwrap_or(0.0),
                _ => 0.0,
            };
            let hi = match (image_max, pmax) {
                (Some(m), Some(p)) => m.get(i / p).copied().unwrap_or(1.0),
                _ => 1.0,
            };
            if denom == 0.0 {
                lo as f32
            } else {
                ((v - vmin) / denom * (hi - lo) + lo) as f32
            }
        })
        .collect()
}

fn read_minc1(b: &[u8]) -> Result<DynImage> {
    let nc = parse_netcdf(b)?;
    let image = nc
        .var("image")
        .ok_or_else(|| Error::format("no 'image' variable: not a MINC file"))?;
    let dims: Vec<DimInfo> = image
        .dims
        .iter()
        .map(|&d| {
            let (name, len) = nc.dims.get(d).cloned().unwrap_or_default();
            let var = nc.var(&name);
            let first = |a: &str| {
                var.and_then(|v| v.attr_f64s(a))
                    .and_then(|v| v.first().copied())
            };
            DimInfo {
                step: first("step"),
                start: first("start"),
                cosines: var.and_then(|v| v.attr_f64s("direction_cosines")),
                name,
                len,
            }
        })
        .collect();
    let dim_names: Vec<&str> = dims.iter().map(|d| d.name.as_str()).collect();
    let dim_lens: Vec<usize> = dims.iter().map(|d| d.len).collect();
    let (geometry, frames) = layout(&dims)?;

    let signtype = image.attr_str("signtype");
    let unsigned = match signtype.as_deref() {
        Some(s) => s.starts_with("unsigned"),
        None => image.nc_type == 1,
    };
    let raw = nc.data(b, image, unsigned)?;
    if raw.len() != geometry.voxel_count() * frames {
        return Err(Error::format(format!(
            "image holds {} values but its dimensions {dim_lens:?} need {}",
            raw.len(),
            geometry.voxel_count() * frames
        )));
    }
    if image.nc_type == 5 || image.nc_type == 6 {
        return Ok(if image.nc_type == 5 {
            Image::with_layout(geometry, 1, frames, raw.iter().map(|&v| v as f32).collect())?.into()
        } else {
            Image::with_layout(geometry, 1, frames, raw)?.into()
        });
    }
    let valid = valid_range(
        image.attr_f64s("valid_range"),
        image.attr_f64s("valid_min"),
        image.attr_f64s("valid_max"),
        type_range(type_size(image.nc_type)?, unsigned),
    );
    let imin = scale_values(&nc, b, "image-min", &dim_names)?;
    let imax = scale_values(&nc, b, "image-max", &dim_names)?;
    let out = rescale(&raw, valid, imin.as_deref(), imax.as_deref());
    Ok(Image::with_layout(geometry, 1, frames, out)?.into())
}

/// `image-min` / `image-max`: values over the leading image dimensions they span.
fn scale_values(
    nc: &NetCdf,
    b: &[u8],
    name: &str,
    image_dims: &[&str],
) -> Result<Option<Vec<f64>>> {
    let Some(v) = nc.var(name) else {
        return Ok(None);
    };
    let names: Vec<&str> = v
        .dims
        .iter()
        .map(|&d| nc.dims.get(d).map(|x| x.0.as_str()).unwrap_or(""))
        .collect();
    if names.len() > image_dims.len() || names.iter().zip(image_dims).any(|(a, b)| a != b) {
        return Err(Error::unsupported(format!(
            "{name} dimensions {names:?} are not the leading image dimensions {image_dims:?}"
        )));
    }
    let vals = nc.data(b, v, false)?;
    Ok((!vals.is_empty()).then_some(vals))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_non_netcdf_and_truncated_headers() {
        assert!(read_minc1(b"CDF").is_err());
        assert!(read_minc1(b"XDF\x01\0\0\0\0").is_err());
        // A header claiming 2^31 dimensions.
        let mut b = b"CDF\x01\0\0\0\0\0\0\0\x0a\x7f\xff\xff\xff".to_vec();
        b.extend_from_slice(&[0; 16]);
        assert_eq!(read_minc1(&b).unwrap_err().kind(), crate::ErrorKind::Format);
    }
}
