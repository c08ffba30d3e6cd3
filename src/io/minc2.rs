//! MINC2 reading through libhdf5 (the `hdf5-metno` crate over the system library).
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
//! `rescale`); only the container differs. Every size is checked against [`Limits`] before
//! anything is allocated, and every attribute read is bounded, so a forged dataspace gives a
//! typed error rather than a huge allocation.

use super::{DimInfo, layout, rescale, type_range, valid_range};
use crate::error::{Error, Result};
use crate::image::{DynImage, Image};
use crate::io::Limits;
use hdf5::types::{FixedAscii, FixedUnicode, TypeDescriptor, VarLenAscii, VarLenUnicode};
use std::path::Path;
use std::sync::Once;

/// Attributes hold a handful of values; anything longer is not a MINC attribute.
const MAX_ATTR_VALUES: usize = 64;

fn h5(what: impl std::fmt::Display) -> impl FnOnce(hdf5::Error) -> Error {
    move |e| Error::format(format!("{what}: {e}"))
}

/// Read a MINC2 file.
pub(crate) fn read(path: &Path, limits: &Limits) -> Result<DynImage> {
    static SILENCE: Once = Once::new();
    // libhdf5 prints its error stack to stderr by default; errors come back as typed errors.
    SILENCE.call_once(|| hdf5::silence_errors(true));
    sanity_check(path)?;
    let file = hdf5::File::open(path).map_err(h5("not a readable HDF5 file"))?;
    let root = if file.link_exists("minc-2.0") {
        file.group("minc-2.0").map_err(h5("group /minc-2.0"))?
    } else {
        return Err(Error::format(
            "HDF5 file without a /minc-2.0 group: not a MINC2 file",
        ));
    };
    let image = dataset(&root, "image/0/image")?;
    let shape = image.shape();
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
        let key = format!("dimensions/{name}");
        if root.link_exists("dimensions") && root.link_exists(&key) {
            let var = dataset(&root, &key)?;
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
    let descriptor = image
        .dtype()
        .and_then(|t| t.to_descriptor())
        .map_err(h5("image data type"))?;
    let (bytes, unsigned) = match descriptor {
        TypeDescriptor::Integer(s) => (s as usize, false),
        TypeDescriptor::Unsigned(s) => (s as usize, true),
        TypeDescriptor::Float(s) => (s as usize, false),
        other => {
            return Err(Error::unsupported(format!(
                "image data type {other} is not an integer or float type"
            )));
        }
    };
    // Integers are converted through f64; floats are read as stored.
    let buffer = match descriptor {
        TypeDescriptor::Float(_) => bytes,
        _ => 8,
    };
    let need = (voxels as u64).saturating_mul(buffer as u64);
    if need > limits.max_bytes {
        return Err(Error::too_large(format!(
            "image {shape:?} needs {need} bytes, over the limit of {}",
            limits.max_bytes
        )));
    }
    if let TypeDescriptor::Float(_) = descriptor {
        return Ok(if bytes == 4 {
            let v = image.read_raw::<f32>().map_err(h5("image data"))?;
            Image::with_layout(geometry, 1, frames, checked_len(v, voxels)?)?.into()
        } else {
            let v = image.read_raw::<f64>().map_err(h5("image data"))?;
            Image::with_layout(geometry, 1, frames, checked_len(v, voxels)?)?.into()
        });
    }
    let raw = checked_len(image.read_raw::<f64>().map_err(h5("image data"))?, voxels)?;
    let valid = valid_range(
        attr_f64s(&image, "valid_range")?,
        attr_f64s(&image, "valid_min")?,
        attr_f64s(&image, "valid_max")?,
        type_range(bytes, unsigned),
    );
    let imin = scale_values(&root, "image/0/image-min", &shape)?;
    let imax = scale_values(&root, "image/0/image-max", &shape)?;
    let out = rescale(&raw, valid, imin.as_deref(), imax.as_deref());
    Ok(Image::with_layout(geometry, 1, frames, out)?.into())
}

/// Cheap checks before libhdf5 parses the file: the superblock (version 0–3) must fit in the
/// file and, for versions 0/1 with 8-byte addresses, its end-of-file address must not lie beyond
/// the file (a truncated file: libhdf5 would report it too, this gives a clearer message).
fn sanity_check(path: &Path) -> Result<()> {
    use std::io::Read;
    let len = std::fs::metadata(path)
        .map_err(|e| Error::io(path, e))?
        .len();
    let mut head = Vec::with_capacity(64);
    std::fs::File::open(path)
        .and_then(|f| f.take(64).read_to_end(&mut head))
        .map_err(|e| Error::io(path, e))?;
    if head.len() < 48 || !head.starts_with(super::HDF5_MAGIC) {
        return Err(Error::format("HDF5 superblock truncated"));
    }
    let version = head[8];
    // Superblock v0/v1: offsets/lengths sizes at bytes 13/14, end-of-file address after
    // base and free-space addresses (v0 at 24 + 2·8, v1 four bytes later).
    let eof_at = match version {
        0 => Some(24 + 16),
        1 => Some(28 + 16),
        2 | 3 => None,
        v => {
            return Err(Error::unsupported(format!(
                "HDF5 superblock version {v} (0-3 supported)"
            )));
        }
    };
    if let Some(at) = eof_at
        && head[13] == 8
        && head.len() >= at + 8
    {
        let mut a = [0u8; 8];
        a.copy_from_slice(&head[at..at + 8]);
        let eof = u64::from_le_bytes(a);
        if eof != u64::MAX && eof > len {
            return Err(Error::format(format!(
                "HDF5 file is {len} bytes but its superblock says {eof} (truncated?)"
            )));
        }
    }
    Ok(())
}

fn checked_len<T>(v: Vec<T>, voxels: usize) -> Result<Vec<T>> {
    if v.len() != voxels {
        return Err(Error::format(format!(
            "image holds {} values, its shape needs {voxels}",
            v.len()
        )));
    }
    Ok(v)
}

fn dataset(group: &hdf5::Group, name: &str) -> Result<hdf5::Dataset> {
    if !group.link_exists(name) {
        return Err(Error::format(format!("no dataset /minc-2.0/{name}")));
    }
    group
        .dataset(name)
        .map_err(h5(format!("dataset /minc-2.0/{name}")))
}

/// The attribute, if present and small; a huge dataspace is a format error.
fn small_attr(loc: &hdf5::Location, name: &str) -> Result<Option<hdf5::Attribute>> {
    let names = loc.attr_names().map_err(h5("attribute list"))?;
    if !names.iter().any(|n| n == name) {
        return Ok(None);
    }
    let a = loc.attr(name).map_err(h5(format!("attribute {name}")))?;
    if a.size() > MAX_ATTR_VALUES {
        return Err(Error::format(format!(
            "attribute {name} holds {} values",
            a.size()
        )));
    }
    Ok(Some(a))
}

/// A numeric attribute as f64 (absent, empty or not numeric: `None`).
fn attr_f64s(loc: &hdf5::Location, name: &str) -> Result<Option<Vec<f64>>> {
    let Some(a) = small_attr(loc, name)? else {
        return Ok(None);
    };
    let numeric = matches!(
        a.dtype().and_then(|t| t.to_descriptor()),
        Ok(TypeDescriptor::Integer(_) | TypeDescriptor::Unsigned(_) | TypeDescriptor::Float(_))
    );
    if !numeric {
        return Ok(None);
    }
    let v = a
        .read_raw::<f64>()
        .map_err(h5(format!("attribute {name}")))?;
    Ok((!v.is_empty()).then_some(v))
}

/// A string attribute (absent or not a string: `None`).
fn attr_string(loc: &hdf5::Location, name: &str) -> Result<Option<String>> {
    let Some(a) = small_attr(loc, name)? else {
        return Ok(None);
    };
    let err = h5(format!("attribute {name}"));
    let first = |v: Vec<String>| v.into_iter().next();
    let s = match a.dtype().and_then(|t| t.to_descriptor()) {
        Ok(TypeDescriptor::FixedAscii(_)) => first(
            a.read_raw::<FixedAscii<1024>>()
                .map_err(err)?
                .iter()
                .map(|s| lossy(s.as_bytes()))
                .collect(),
        ),
        Ok(TypeDescriptor::FixedUnicode(_)) => first(
            a.read_raw::<FixedUnicode<1024>>()
                .map_err(err)?
                .iter()
                .map(|s| lossy(s.as_bytes()))
                .collect(),
        ),
        Ok(TypeDescriptor::VarLenAscii) => first(
            a.read_raw::<VarLenAscii>()
                .map_err(err)?
                .iter()
                .map(|s| lossy(s.as_bytes()))
                .collect(),
        ),
        Ok(TypeDescriptor::VarLenUnicode) => first(
            a.read_raw::<VarLenUnicode>()
                .map_err(err)?
                .iter()
                .map(|s| lossy(s.as_bytes()))
                .collect(),
        ),
        _ => None,
    };
    Ok(s.map(|s| s.trim_end_matches('\0').trim().to_owned()))
}

/// Text from the file: hdf5-types' `as_str` assumes valid ASCII/UTF-8 without checking (a
/// forged attribute made it read out of bounds under the fuzzer), so decode the bytes here.
fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The image's dimension names, slowest first, from its `dimorder` attribute.
fn dimorder(image: &hdf5::Dataset, ndim: usize) -> Result<Vec<String>> {
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
fn scale_values(root: &hdf5::Group, name: &str, image_shape: &[usize]) -> Result<Option<Vec<f64>>> {
    if !root.link_exists(name) {
        return Ok(None);
    }
    let ds = dataset(root, name)?;
    let shape = ds.shape();
    if shape.len() > image_shape.len() || shape.iter().zip(image_shape).any(|(a, b)| a != b) {
        return Err(Error::unsupported(format!(
            "{name} shape {shape:?} does not span the leading image dimensions {image_shape:?}"
        )));
    }
    let v = ds.read_raw::<f64>().map_err(h5(name))?;
    Ok((!v.is_empty()).then_some(v))
}
