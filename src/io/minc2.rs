//! MINC2 reading through `hdf5-reader`, a pure-Rust HDF5 decoder (no libhdf5).
//!
//! Layout read (everything under `/minc-2.0/`):
//! * `image/0/image`: the voxels, an integer or float dataset whose attribute `dimorder`
//!   (`"zspace,yspace,xspace"`) names its dimensions slowest first; `valid_range` (or
//!   `valid_min`/`valid_max`) gives the stored range that maps onto the real range.
//! * `image/0/image-min`, `image/0/image-max`: the real range of each slice, a dataset over the
//!   leading image dimensions (scalar for one global range).
//! * `dimensions/<name>`: one dataset per dimension whose attributes `step`, `start` and
//!   `direction_cosines` give the geometry (defaults as in MINC1).
//!
//! Geometry and scaling are the MINC1 rules of the parent module (`layout`, `valid_range`,
//! `rescale`); only the container differs.
//!
//! Why not libhdf5: under `cargo fuzz`, libhdf5 1.10.8 (Debian's) crashed the process on forged
//! object headers (segfaults and heap overflows inside the library, `docs/fuzzing.md`), which no
//! check on our side can rule out, and a crash would take the host (Slicer) down. The decoder
//! here bounds-checks every structure it walks, so a malformed file is an error; a panic inside
//! it is caught and becomes a [`Format`](crate::ErrorKind::Format) error as well. Every size is
//! checked against [`Limits`] before the voxels are read.

use super::{DimInfo, layout, rescale, type_range, valid_range};
use crate::error::{Error, Result};
use crate::image::{DynImage, Image, decode_buffer};
use crate::io::Limits;
use hdf5_reader::error::Error as H5Error;
use hdf5_reader::{ByteOrder, Dataset, Datatype, FileStorage, Hdf5File, OpenOptions};
use std::path::Path;

/// Attributes hold a handful of values; anything longer is not a MINC attribute.
const MAX_ATTR_VALUES: usize = 64;

fn h5(what: impl std::fmt::Display) -> impl FnOnce(H5Error) -> Error {
    move |e| Error::format(format!("{what}: {e}"))
}

/// Read a MINC2 file. A panic inside the HDF5 decoder becomes a `Format` error.
pub(crate) fn read(path: &Path, limits: &Limits) -> Result<DynImage> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| read_inner(path, limits)))
        .unwrap_or_else(|_| {
            Err(Error::format(
                "malformed HDF5 structure (the decoder stopped on an internal check)",
            ))
        })
}

fn read_inner(path: &Path, limits: &Limits) -> Result<DynImage> {
    let cap = usize::try_from(limits.max_bytes).unwrap_or(usize::MAX);
    let options = OpenOptions {
        max_read_bytes: cap,
        max_chunk_bytes: cap.min(hdf5_reader::DEFAULT_MAX_CHUNK_BYTES),
        ..OpenOptions::default()
    };
    let f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let file_len = f.metadata().map_err(|e| Error::io(path, e))?.len();
    let storage = FileStorage::from_file(f).map_err(h5("HDF5 file"))?;
    let file = Hdf5File::from_storage_with_options(std::sync::Arc::new(storage), options)
        .map_err(h5("not a readable HDF5 file"))?;
    match file.group("/minc-2.0") {
        Ok(_) => {}
        Err(e) if not_found(&e) => {
            return Err(Error::format(
                "HDF5 file without a /minc-2.0 group: not a MINC2 file",
            ));
        }
        Err(e) => return Err(h5("group /minc-2.0")(e)),
    }
    let image = dataset(&file, "image/0/image")?;
    let shape = dims_of(&image)?;
    if shape.is_empty() || shape.len() > 4 {
        return Err(Error::format(format!(
            "image has {} dimensions (1 to 4 supported)",
            shape.len()
        )));
    }
    let names = dimorder(&image, shape.len())?;
    let mut dims = Vec::with_capacity(shape.len());
    for (name, &len) in names.iter().zip(&shape) {
        let mut d = DimInfo {
            name: name.clone(),
            len,
            ..Default::default()
        };
        if let Some(var) = optional_dataset(&file, &format!("dimensions/{name}"))? {
            let first = |a: &str| -> Result<Option<f64>> {
                Ok(attr_f64s(&var, a)?.and_then(|v| v.first().copied()))
            };
            d.step = first("step")?;
            d.start = first("start")?;
            d.cosines = attr_f64s(&var, "direction_cosines")?;
        }
        dims.push(d);
    }
    let (geometry, frames) = layout(&dims)?;
    let voxels = shape
        .iter()
        .try_fold(1usize, |a, &n| a.checked_mul(n))
        .filter(|&v| v == geometry.voxel_count() * frames)
        .ok_or_else(|| Error::format(format!("image shape {shape:?} is inconsistent")))?;
    let num = Num::of(image.dtype()).ok_or_else(|| {
        Error::unsupported(format!(
            "image data type {:?} is not an integer or float type",
            image.dtype()
        ))
    })?;
    // Integers are converted through f64 (plus their stored bytes); floats are kept as stored.
    let per_voxel = if num.float { num.size } else { 8 + num.size };
    let need = (voxels as u64).saturating_mul(per_voxel as u64);
    if need > limits.max_bytes {
        return Err(Error::too_large(format!(
            "image {shape:?} needs {need} bytes, over the limit of {}",
            limits.max_bytes
        )));
    }
    // Forged dimensions with a few bytes of data behind them must not make the decoder allocate
    // (and fill) the declared size: stored data cannot exceed the file, compressed chunks
    // cannot inflate beyond DEFLATE's maximum ratio of 1032:1.
    let stored = (voxels as u64).saturating_mul(num.size as u64);
    let bound = if image.chunks().is_some() {
        file_len.saturating_mul(1032)
    } else {
        file_len
    };
    if stored > bound {
        return Err(Error::format(format!(
            "image {shape:?} needs {stored} bytes of voxel data, more than a file of {file_len} bytes can hold"
        )));
    }
    let raw = image.read_raw_bytes().map_err(h5("image data"))?;
    if raw.len() != voxels * num.size {
        return Err(Error::format(format!(
            "image holds {} bytes, its shape needs {}",
            raw.len(),
            voxels * num.size
        )));
    }
    if num.float {
        return Ok(if num.size == 4 {
            let v = decode_buffer::<f32>(&raw, num.big)?;
            Image::with_layout(geometry, 1, frames, v)?.into()
        } else {
            let v = decode_buffer::<f64>(&raw, num.big)?;
            Image::with_layout(geometry, 1, frames, v)?.into()
        });
    }
    let values = num.decode(&raw);
    drop(raw);
    let valid = valid_range(
        attr_f64s(&image, "valid_range")?,
        attr_f64s(&image, "valid_min")?,
        attr_f64s(&image, "valid_max")?,
        type_range(num.size, !num.signed),
    );
    let imin = scale_values(&file, "image/0/image-min", &shape)?;
    let imax = scale_values(&file, "image/0/image-max", &shape)?;
    let out = rescale(&values, valid, imin.as_deref(), imax.as_deref());
    Ok(Image::with_layout(geometry, 1, frames, out)?.into())
}

/// A numeric HDF5 element type: integer (1, 2, 4, 8 bytes) or IEEE float (4, 8 bytes).
#[derive(Debug, Clone, Copy)]
struct Num {
    size: usize,
    signed: bool,
    float: bool,
    big: bool,
}

impl Num {
    fn of(t: &Datatype) -> Option<Num> {
        let (size, signed, float, order) = match *t {
            Datatype::FixedPoint {
                size,
                signed,
                byte_order,
            } if matches!(size, 1 | 2 | 4 | 8) => (size, signed, false, byte_order),
            Datatype::FloatingPoint { size, byte_order } if matches!(size, 4 | 8) => {
                (size, true, true, byte_order)
            }
            _ => return None,
        };
        Some(Num {
            size: size as usize,
            signed,
            float,
            big: matches!(order, ByteOrder::BigEndian),
        })
    }

    /// The element's bits, zero-extended (`c` holds exactly `size` bytes).
    fn word(&self, c: &[u8]) -> u64 {
        let mut w = 0u64;
        if self.big {
            for &b in c {
                w = (w << 8) | b as u64;
            }
        } else {
            for &b in c.iter().rev() {
                w = (w << 8) | b as u64;
            }
        }
        w
    }

    fn value(&self, c: &[u8]) -> f64 {
        let w = self.word(c);
        match (self.float, self.size, self.signed) {
            (true, 4, _) => f32::from_bits(w as u32) as f64,
            (true, _, _) => f64::from_bits(w),
            (false, 8, true) => w as i64 as f64,
            (false, 8, false) => w as f64,
            (false, n, true) => {
                let shift = 64 - 8 * n as u32;
                (((w << shift) as i64) >> shift) as f64
            }
            (false, _, false) => w as f64,
        }
    }

    /// Every element of `raw` (whole elements only) as f64.
    fn decode(&self, raw: &[u8]) -> Vec<f64> {
        raw.chunks_exact(self.size).map(|c| self.value(c)).collect()
    }
}

fn dims_of(ds: &Dataset) -> Result<Vec<usize>> {
    ds.shape()
        .iter()
        .map(|&n| {
            usize::try_from(n).map_err(|_| Error::too_large(format!("dimension of {n} elements")))
        })
        .collect()
}

/// Whether `e` (under any context the decoder added) says a group or dataset does not exist.
fn not_found(e: &H5Error) -> bool {
    match e {
        H5Error::DatasetNotFound(_) | H5Error::GroupNotFound(_) => true,
        H5Error::Context { source, .. } => not_found(source),
        _ => false,
    }
}

/// The dataset if the file has one of that name; a damaged one is an error.
fn optional_dataset(file: &Hdf5File, name: &str) -> Result<Option<Dataset>> {
    match file.dataset(&format!("/minc-2.0/{name}")) {
        Ok(d) => Ok(Some(d)),
        Err(e) if not_found(&e) => Ok(None),
        Err(e) => Err(h5(format!("dataset /minc-2.0/{name}"))(e)),
    }
}

fn dataset(file: &Hdf5File, name: &str) -> Result<Dataset> {
    file.dataset(&format!("/minc-2.0/{name}"))
        .map_err(h5(format!("dataset /minc-2.0/{name}")))
}

/// The attribute, if present and small; a huge dataspace is a format error.
fn small_attr(ds: &Dataset, name: &str) -> Result<Option<hdf5_reader::Attribute>> {
    let Ok(a) = ds.attribute(name) else {
        return Ok(None);
    };
    let n = a.num_elements().map_err(h5(format!("attribute {name}")))?;
    if n > MAX_ATTR_VALUES as u64 {
        return Err(Error::format(format!("attribute {name} holds {n} values")));
    }
    Ok(Some(a))
}

/// A numeric attribute as f64 (absent, empty or not numeric: `None`).
fn attr_f64s(ds: &Dataset, name: &str) -> Result<Option<Vec<f64>>> {
    let Some(a) = small_attr(ds, name)? else {
        return Ok(None);
    };
    let Some(num) = Num::of(&a.datatype) else {
        return Ok(None);
    };
    let n = a.num_elements().map_err(h5(format!("attribute {name}")))? as usize;
    let bytes = a.raw_data.get(..n * num.size).ok_or_else(|| {
        Error::format(format!(
            "attribute {name} declares {n} values but holds {} bytes",
            a.raw_data.len()
        ))
    })?;
    let v = num.decode(bytes);
    Ok((!v.is_empty()).then_some(v))
}

/// A string attribute (absent or not a string: `None`).
fn attr_string(ds: &Dataset, name: &str) -> Result<Option<String>> {
    let Some(a) = small_attr(ds, name)? else {
        return Ok(None);
    };
    let text = match &a.datatype {
        Datatype::String { .. } | Datatype::VarLen { .. } => a.read_string().ok(),
        _ => None,
    };
    Ok(text.map(|s| s.trim_end_matches('\0').trim().to_owned()))
}

/// The image's dimension names, slowest first, from its `dimorder` attribute.
fn dimorder(image: &Dataset, ndim: usize) -> Result<Vec<String>> {
    let order = attr_string(image, "dimorder")?
        .ok_or_else(|| Error::format("image has no dimorder attribute"))?;
    let names: Vec<String> = order
        .split(',')
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect();
    if names.len() != ndim {
        return Err(Error::format(format!(
            "image dimorder {order:?} names {} dimensions, the data has {ndim}",
            names.len()
        )));
    }
    if let Some(bad) = names.iter().find(|n| {
        !n.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    }) {
        return Err(Error::format(format!(
            "dimension name {bad:?} is not valid"
        )));
    }
    Ok(names)
}

/// `image-min` / `image-max`: one value per index of the leading image dimensions they span.
fn scale_values(file: &Hdf5File, name: &str, image_shape: &[usize]) -> Result<Option<Vec<f64>>> {
    let Some(ds) = optional_dataset(file, name)? else {
        return Ok(None);
    };
    let shape = dims_of(&ds)?;
    if shape.len() > image_shape.len() || shape.iter().zip(image_shape).any(|(a, b)| a != b) {
        return Err(Error::unsupported(format!(
            "{name} shape {shape:?} does not span the leading image dimensions {image_shape:?}"
        )));
    }
    let num = Num::of(ds.dtype()).ok_or_else(|| {
        Error::format(format!("{name} has the non-numeric type {:?}", ds.dtype()))
    })?;
    let n: usize = shape.iter().product();
    let raw = ds.read_raw_bytes().map_err(h5(name))?;
    if raw.len() != n * num.size {
        return Err(Error::format(format!(
            "{name} holds {} bytes, its shape needs {}",
            raw.len(),
            n * num.size
        )));
    }
    let v = num.decode(&raw);
    Ok((!v.is_empty()).then_some(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_decode_in_both_byte_orders() {
        let i16_be = Num {
            size: 2,
            signed: true,
            float: false,
            big: true,
        };
        assert_eq!(i16_be.decode(&[0xff, 0xfe, 0x01, 0x00]), vec![-2.0, 256.0]);
        let u16_le = Num {
            big: false,
            signed: false,
            ..i16_be
        };
        assert_eq!(u16_le.decode(&[0xff, 0xfe, 0x01, 0x00]), vec![65279.0, 1.0]);
        let f32_le = Num {
            size: 4,
            signed: true,
            float: true,
            big: false,
        };
        assert_eq!(f32_le.decode(&1.5f32.to_le_bytes()), vec![1.5]);
        let i8 = Num {
            size: 1,
            signed: true,
            float: false,
            big: false,
        };
        assert_eq!(i8.decode(&[0x80, 0x7f]), vec![-128.0, 127.0]);
    }
}
