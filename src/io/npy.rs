//! NumPy `.npy` arrays and `.npz` archives (the MedSAM challenge files).
//!
//! # `.npy`
//! Versions 1.0, 2.0 and 3.0 headers; little-, big- and native-endian (`<`, `>`, `=`, `|`) dtypes
//! `u1 i1 u2 i2 u4 i4 u8 i8 f4 f8` and `b1` (bool, read as `u8`); C and Fortran order. Object,
//! structured, complex and half-float arrays give [`ErrorKind::Unsupported`](crate::ErrorKind);
//! nothing is ever unpickled. Arrays are returned as [`NpyArray`] in C order (Fortran-ordered
//! files are transposed on reading).
//!
//! # Arrays as images
//! A NumPy volume is indexed `(z, y, x)` — the last axis fastest in memory — so image index
//! `i` is the **last** array axis: shape `(D, H, W)` becomes an image of size `[W, H, D]` and
//! `(H, W)` one of size `[W, H, 1]`. A trailing axis of length 3 or 4 on a 3-D **uint8** array
//! (`(H, W, 3)`, the MedSAM 2-D `imgs`) and the last axis of a 4-D array are pixel components
//! ([`ArrayLayout::Auto`]; use [`ArrayLayout::Volume`] to read `(D, H, 3)` as a volume).
//! `.npy` files carry no geometry: spacing 1, origin 0, identity direction.
//!
//! # `.npz`
//! A zip archive of `.npy` members, stored or deflated (zip64 fields understood). [`Npz`] lists
//! and reads members by name; [`Npz::image`] attaches the spacing stored under the key `spacing`,
//! which the MedSAM challenge files hold in **SimpleITK (x, y, z) order** (their `pre_CT_MR.py`
//! saves `GetSpacing()` beside a `(z, y, x)` array), so `spacing[0]` is the spacing of image
//! axis `i` (array axis 2). [`crate::io::read`] on a `.npz` returns `imgs` (or the only member);
//! [`crate::io::write`] writes a compressed archive holding `imgs` and `spacing`. Origin and
//! direction are not stored by the format.
//!
//! ```
//! use medseg::io::npy::{NpyArray, Npz};
//! use medseg::PixelType;
//! let a = NpyArray::new(PixelType::U8, vec![2, 3], (0u8..6).collect()).unwrap();
//! let npz_bytes = medseg::io::npy::npz_to_bytes(&[("gts", &a)], true, None).unwrap();
//! let npz = Npz::from_bytes(npz_bytes, &Default::default()).unwrap();
//! assert_eq!(npz.names(), vec!["gts"]);
//! let img = npz.image("gts").unwrap();
//! assert_eq!(img.geometry().size, [3, 2, 1]);
//! ```

use super::{Limits, ReadOptions, WriteOptions};
use crate::error::{Error, Result};
use crate::image::{DynImage, Geometry, IDENTITY, PixelType};
use std::path::Path;

const MAGIC: &[u8] = b"\x93NUMPY";

/// An n-dimensional array in C order, values stored as little-endian bytes of `pixel_type`.
#[derive(Debug, Clone, PartialEq)]
pub struct NpyArray {
    pixel_type: PixelType,
    shape: Vec<usize>,
    data: Vec<u8>,
}

/// How the axes of an array map to an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ArrayLayout {
    /// `(W)`, `(H, W)`, `(D, H, W)`; `(H, W, C)` for uint8 arrays with C = 3 or 4 (RGB/RGBA
    /// pictures); `(D, H, W, C)`.
    #[default]
    Auto,
    /// Every axis spatial (at most 3): `(D, H, W)` even when `W` is 3 or 4.
    Volume,
    /// The last axis holds components: `(H, W, C)`, `(D, H, W, C)`.
    Channels,
}

/// The axis order of an npz `spacing` array.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SpacingOrder {
    /// `(x, y, z)` — SimpleITK `GetSpacing()`, what the MedSAM challenge's `pre_CT_MR.py` stores:
    /// `spacing[0]` belongs to image axis i (array axis 2).
    #[default]
    Xyz,
    /// `(z, y, x)` — positional with the `(D, H, W)` array axes (how the challenge's metric script
    /// applies it, and how the synthetic oracle cases store it).
    Zyx,
}

fn element_count(shape: &[usize]) -> Result<usize> {
    shape
        .iter()
        .try_fold(1usize, |a, &b| a.checked_mul(b))
        .ok_or_else(|| Error::too_large(format!("array shape {shape:?} overflows")))
}

impl NpyArray {
    /// An array from little-endian bytes (`data.len()` must match the shape).
    pub fn new(pixel_type: PixelType, shape: Vec<usize>, data: Vec<u8>) -> Result<Self> {
        let n = element_count(&shape)?
            .checked_mul(pixel_type.size())
            .ok_or_else(|| Error::too_large("array byte count overflows"))?;
        if data.len() != n {
            return Err(Error::mismatch(format!(
                "array of shape {shape:?} and type {pixel_type} needs {n} bytes, got {}",
                data.len()
            )));
        }
        Ok(NpyArray {
            pixel_type,
            shape,
            data,
        })
    }

    /// The element type.
    pub fn pixel_type(&self) -> PixelType {
        self.pixel_type
    }

    /// The shape, slowest axis first (NumPy order).
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The little-endian bytes in C order.
    pub fn bytes(&self) -> &[u8] {
        &self.data
    }

    /// The little-endian bytes, taken.
    pub fn into_bytes(self) -> Vec<u8> {
        self.data
    }

    /// Every value widened to f64 (e.g. `spacing`, `boxes`).
    pub fn to_f64_vec(&self) -> Vec<f64> {
        let es = self.pixel_type.size();
        self.data
            .chunks_exact(es)
            .map(|b| le_to_f64(self.pixel_type, b))
            .collect()
    }

    /// The array as an image (see the module docs for the axis mapping); geometry has spacing 1.
    pub fn to_image(&self, layout: ArrayLayout) -> Result<DynImage> {
        self.to_image_with_spacing(layout, [1.0; 3])
    }

    /// The array as an image with the given spacing along i, j, k.
    pub fn to_image_with_spacing(
        &self,
        layout: ArrayLayout,
        spacing: [f64; 3],
    ) -> Result<DynImage> {
        let s = &self.shape;
        let channels = match layout {
            ArrayLayout::Volume => false,
            ArrayLayout::Channels => s.len() >= 2,
            ArrayLayout::Auto => {
                (s.len() == 3
                    && self.pixel_type == PixelType::U8
                    && matches!(s.last(), Some(3 | 4)))
                    || s.len() == 4
            }
        };
        let (spatial, comps) = if channels {
            let (last, rest) = s
                .split_last()
                .ok_or_else(|| Error::format("empty array shape"))?;
            (rest, *last)
        } else {
            (&s[..], 1)
        };
        if spatial.is_empty() || spatial.len() > 3 {
            return Err(Error::unsupported(format!(
                "array of shape {s:?} has {} spatial axes; images need 1 to 3",
                spatial.len()
            )));
        }
        let mut size = [1usize; 3];
        for (d, &n) in spatial.iter().rev().enumerate() {
            if let Some(slot) = size.get_mut(d) {
                *slot = n;
            }
        }
        let g = Geometry::new(size, spacing, [0.0; 3], IDENTITY)?;
        DynImage::from_bytes(self.pixel_type, g, comps, 1, &self.data, false)
    }

    /// An image's voxels as an array: `(D, H, W)`, or `(H, W)` when the image has one slice;
    /// components add a trailing axis and frames a leading one.
    pub fn from_image(img: &DynImage) -> NpyArray {
        let [ni, nj, nk] = img.geometry().size;
        let mut shape = Vec::with_capacity(5);
        if img.frames() > 1 {
            shape.push(img.frames());
        }
        if nk > 1 || img.frames() > 1 {
            shape.push(nk);
        }
        shape.push(nj);
        shape.push(ni);
        if img.components() > 1 {
            shape.push(img.components());
        }
        NpyArray {
            pixel_type: img.pixel_type(),
            shape,
            data: img.to_le_bytes(),
        }
    }
}

fn le_to_f64(t: PixelType, b: &[u8]) -> f64 {
    fn arr<const N: usize>(b: &[u8]) -> [u8; N] {
        let mut a = [0u8; N];
        for (d, s) in a.iter_mut().zip(b) {
            *d = *s;
        }
        a
    }
    match t {
        PixelType::U8 => b.first().copied().unwrap_or(0) as f64,
        PixelType::I8 => b.first().copied().unwrap_or(0) as i8 as f64,
        PixelType::U16 => u16::from_le_bytes(arr(b)) as f64,
        PixelType::I16 => i16::from_le_bytes(arr(b)) as f64,
        PixelType::U32 => u32::from_le_bytes(arr(b)) as f64,
        PixelType::I32 => i32::from_le_bytes(arr(b)) as f64,
        PixelType::U64 => u64::from_le_bytes(arr(b)) as f64,
        PixelType::I64 => i64::from_le_bytes(arr(b)) as f64,
        PixelType::F32 => f32::from_le_bytes(arr(b)) as f64,
        PixelType::F64 => f64::from_le_bytes(arr(b)),
    }
}

/// Reorder an array's axes. `in_shape` is fastest-first; output axis `q` is input axis
/// `order[q]`; elements are `es` bytes. Used for Fortran-ordered `.npy` and NRRD axis moves.
pub(crate) fn permute_axes(
    data: Vec<u8>,
    es: usize,
    in_shape: &[usize],
    order: &[usize],
) -> Result<Vec<u8>> {
    let n = in_shape.len();
    if order.len() != n || (0..n).any(|a| !order.contains(&a)) {
        return Err(Error::internal(format!("bad axis order {order:?}")));
    }
    let total = element_count(in_shape)?;
    if data.len() != total.saturating_mul(es) {
        return Err(Error::internal("permute: buffer size mismatch"));
    }
    if order.iter().enumerate().all(|(q, &a)| q == a) {
        return Ok(data);
    }
    let mut in_strides = vec![1usize; n];
    for a in 1..n {
        in_strides[a] = in_strides[a - 1] * in_shape[a - 1];
    }
    let out_shape: Vec<usize> = order.iter().map(|&a| in_shape[a]).collect();
    let out_strides: Vec<usize> = order.iter().map(|&a| in_strides[a]).collect();
    let mut out = Vec::with_capacity(data.len());
    if total == 0 {
        return Ok(out);
    }
    let mut idx = vec![0usize; n];
    let (inner_n, inner_s) = (out_shape[0], out_strides[0]);
    loop {
        let base: usize = (1..n).map(|q| idx[q] * out_strides[q]).sum();
        for x in 0..inner_n {
            let o = (base + x * inner_s) * es;
            out.extend_from_slice(&data[o..o + es]);
        }
        // Advance the odometer over axes 1..n.
        let mut q = 1;
        loop {
            if q >= n {
                return Ok(out);
            }
            idx[q] += 1;
            if idx[q] < out_shape[q] {
                break;
            }
            idx[q] = 0;
            q += 1;
        }
    }
}

fn parse_descr(d: &str) -> Result<(PixelType, bool)> {
    let bad = || {
        Error::unsupported(format!(
            "npy dtype '{d}' is not supported (need u1..u8, i1..i8, f4, f8, b1)"
        ))
    };
    let mut chars = d.chars();
    let order = chars.next().ok_or_else(bad)?;
    let big = match order {
        '<' | '|' | '=' => false,
        '>' => true,
        _ => return Err(bad()),
    };
    let t = match chars.as_str() {
        "u1" | "b1" => PixelType::U8,
        "i1" => PixelType::I8,
        "u2" => PixelType::U16,
        "i2" => PixelType::I16,
        "u4" => PixelType::U32,
        "i4" => PixelType::I32,
        "u8" => PixelType::U64,
        "i8" => PixelType::I64,
        "f4" => PixelType::F32,
        "f8" => PixelType::F64,
        _ => return Err(bad()),
    };
    Ok((t, big))
}

fn descr(t: PixelType) -> &'static str {
    match t {
        PixelType::U8 => "|u1",
        PixelType::I8 => "|i1",
        PixelType::U16 => "<u2",
        PixelType::I16 => "<i2",
        PixelType::U32 => "<u4",
        PixelType::I32 => "<i4",
        PixelType::U64 => "<u8",
        PixelType::I64 => "<i8",
        PixelType::F32 => "<f4",
        PixelType::F64 => "<f8",
    }
}

/// The value of `'key':` in a Python dict literal, up to the next top-level `,` or `}`.
fn dict_value<'a>(h: &'a str, key: &str) -> Option<&'a str> {
    let pos = h
        .find(&format!("'{key}'"))
        .or_else(|| h.find(&format!("\"{key}\"")))?;
    let rest = h.get(pos + key.len() + 2..)?;
    let rest = rest.trim_start().strip_prefix(':')?.trim_start();
    let mut depth = 0i32;
    let mut in_str: Option<char> = None;
    for (i, c) in rest.char_indices() {
        match (in_str, c) {
            (Some(q), c) if c == q => in_str = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => in_str = Some(c),
            (None, '(' | '[') => depth += 1,
            (None, ')' | ']') => depth -= 1,
            (None, ',' | '}') if depth <= 0 => return rest.get(..i).map(str::trim),
            _ => {}
        }
    }
    Some(rest.trim())
}

/// Parse a `.npy` file held in memory.
pub fn parse_npy(bytes: &[u8], limits: &Limits) -> Result<NpyArray> {
    if !bytes.starts_with(MAGIC) {
        return Err(Error::format("not a .npy file (magic \\x93NUMPY missing)"));
    }
    let major = *bytes
        .get(6)
        .ok_or_else(|| Error::format("npy header truncated"))?;
    let (hlen, hstart): (usize, usize) = match major {
        1 => {
            let b = bytes
                .get(8..10)
                .ok_or_else(|| Error::format("npy header truncated"))?;
            (u16::from_le_bytes([b[0], b[1]]) as usize, 10)
        }
        2 | 3 => {
            let b = bytes
                .get(8..12)
                .ok_or_else(|| Error::format("npy header truncated"))?;
            (u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize, 12)
        }
        v => {
            return Err(Error::unsupported(format!(
                "npy format version {v} is not supported (1, 2, 3 are)"
            )));
        }
    };
    let hend = hstart
        .checked_add(hlen)
        .filter(|&e| e <= bytes.len())
        .ok_or_else(|| {
            Error::format(format!(
                "npy header length {hlen} runs past the end of the file"
            ))
        })?;
    let header = std::str::from_utf8(&bytes[hstart..hend])
        .map_err(|_| Error::format("npy header is not valid text"))?;
    let header = header.trim();
    if !header.starts_with('{') {
        return Err(Error::format(format!(
            "npy header is not a dict: {header:.60}"
        )));
    }
    let d =
        dict_value(header, "descr").ok_or_else(|| Error::format("npy header has no 'descr'"))?;
    let d = d.trim_matches(|c| c == '\'' || c == '"');
    if d.starts_with('[') || d.is_empty() {
        return Err(Error::unsupported(
            "structured npy dtypes are not supported",
        ));
    }
    let (ptype, big) = parse_descr(d)?;
    let fortran = match dict_value(header, "fortran_order") {
        Some("True") => true,
        Some("False") => false,
        other => {
            return Err(Error::format(format!(
                "npy 'fortran_order' must be True or False, got {other:?}"
            )));
        }
    };
    let sh =
        dict_value(header, "shape").ok_or_else(|| Error::format("npy header has no 'shape'"))?;
    let inner = sh
        .strip_prefix('(')
        .and_then(|s| s.strip_suffix(')'))
        .ok_or_else(|| Error::format(format!("npy shape '{sh}' is not a tuple")))?;
    let mut shape = Vec::new();
    for tok in inner.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        let t = tok.trim_end_matches('L');
        shape.push(
            t.parse::<usize>()
                .map_err(|_| Error::format(format!("npy shape entry '{tok}' is not a size")))?,
        );
    }
    if shape.len() > 32 {
        return Err(Error::format(format!("npy shape has {} axes", shape.len())));
    }
    let n = element_count(&shape)?;
    let nbytes = n
        .checked_mul(ptype.size())
        .ok_or_else(|| Error::too_large("npy byte count overflows"))?;
    if nbytes as u64 > limits.max_bytes {
        return Err(Error::too_large(format!(
            "npy array of shape {shape:?} needs {nbytes} bytes, over the limit of {}",
            limits.max_bytes
        )));
    }
    let body = &bytes[hend..];
    let raw = body.get(..nbytes).ok_or_else(|| {
        Error::format(format!(
            "npy data truncated: shape {shape:?} of {d} needs {nbytes} bytes, file holds {}",
            body.len()
        ))
    })?;
    let es = ptype.size();
    let mut data = raw.to_vec();
    if big && es > 1 {
        for c in data.chunks_exact_mut(es) {
            c.reverse();
        }
    }
    if fortran && shape.len() > 1 {
        // Fortran order: the first axis is fastest. C order wants the last axis fastest.
        let nd = shape.len();
        let order: Vec<usize> = (0..nd).rev().collect();
        data = permute_axes(data, es, &shape, &order)?;
    }
    Ok(NpyArray {
        pixel_type: ptype,
        shape,
        data,
    })
}

/// Serialise an array as a version 1.0 `.npy` (version 2.0 if the header needs it), C order.
pub fn npy_to_bytes(a: &NpyArray) -> Vec<u8> {
    let shape = match a.shape.len() {
        1 => format!("({},)", a.shape[0]),
        _ => format!(
            "({})",
            a.shape
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let dict = format!(
        "{{'descr': '{}', 'fortran_order': False, 'shape': {shape}, }}",
        descr(a.pixel_type)
    );
    // Pad with spaces so that the data starts on a 64-byte boundary; end with '\n'.
    let v1 = dict.len() + 10 + 1 < 65536;
    let pre = if v1 { 10 } else { 12 };
    let total = (pre + dict.len() + 1).div_ceil(64) * 64;
    let hlen = total - pre;
    let mut out = Vec::with_capacity(total + a.data.len());
    out.extend_from_slice(MAGIC);
    if v1 {
        out.extend_from_slice(&[1, 0]);
        out.extend_from_slice(&(hlen as u16).to_le_bytes());
    } else {
        out.extend_from_slice(&[2, 0]);
        out.extend_from_slice(&(hlen as u32).to_le_bytes());
    }
    out.extend_from_slice(dict.as_bytes());
    out.resize(total - 1, b' ');
    out.push(b'\n');
    out.extend_from_slice(&a.data);
    out
}

/// Read a `.npy` file as an image ([`ArrayLayout::Auto`]).
pub fn read(path: &Path, opts: &ReadOptions) -> Result<DynImage> {
    let bytes = super::read_file(path, &opts.limits)?;
    read_bytes(&bytes, opts)
}

/// Read an in-memory `.npy` as an image.
pub fn read_bytes(bytes: &[u8], opts: &ReadOptions) -> Result<DynImage> {
    parse_npy(bytes, &opts.limits)?.to_image(ArrayLayout::Auto)
}

/// Write an image's voxels as `.npy` (geometry is not stored).
pub fn write(path: &Path, img: &DynImage, _opts: &WriteOptions) -> Result<()> {
    super::atomic_write(path, &npy_to_bytes(&NpyArray::from_image(img)))
}

// ---------------------------------------------------------------------------------------------
// npz (zip)

const LOCAL_SIG: u32 = 0x0403_4b50;
const CENTRAL_SIG: u32 = 0x0201_4b50;
const EOCD_SIG: u32 = 0x0605_4b50;
const EOCD64_SIG: u32 = 0x0606_4b50;
const EOCD64_LOC_SIG: u32 = 0x0706_4b50;

fn u16_at(b: &[u8], o: usize) -> Result<u16> {
    b.get(o..o.saturating_add(2))
        .map(|s| u16::from_le_bytes([s[0], s[1]]))
        .ok_or_else(|| Error::format(format!("zip structure truncated at byte {o}")))
}
fn u32_at(b: &[u8], o: usize) -> Result<u32> {
    b.get(o..o.saturating_add(4))
        .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
        .ok_or_else(|| Error::format(format!("zip structure truncated at byte {o}")))
}
fn u64_at(b: &[u8], o: usize) -> Result<u64> {
    b.get(o..o.saturating_add(8))
        .map(|s| {
            let mut a = [0u8; 8];
            a.copy_from_slice(s);
            u64::from_le_bytes(a)
        })
        .ok_or_else(|| Error::format(format!("zip structure truncated at byte {o}")))
}

#[derive(Debug, Clone)]
struct Member {
    name: String,
    method: u16,
    crc: u32,
    csize: u64,
    usize_: u64,
    offset: u64,
}

/// An `.npz` archive held in memory; members are decoded on request.
#[derive(Debug)]
pub struct Npz {
    bytes: Vec<u8>,
    members: Vec<Member>,
    limits: Limits,
}

impl Npz {
    /// Open an `.npz` file.
    pub fn open(path: &Path, limits: &Limits) -> Result<Npz> {
        let bytes = super::read_file(path, limits)?;
        Npz::from_bytes(bytes, limits).map_err(|e| e.context(path.display()))
    }

    /// Parse the zip central directory of an in-memory `.npz`.
    pub fn from_bytes(bytes: Vec<u8>, limits: &Limits) -> Result<Npz> {
        let b = &bytes;
        if b.len() < 22 {
            return Err(Error::format(
                "not a zip/npz file (shorter than an end record)",
            ));
        }
        let lo = b.len().saturating_sub(22 + 65535);
        let eocd = (lo..=b.len() - 22)
            .rev()
            .find(|&p| u32_at(b, p).ok() == Some(EOCD_SIG))
            .ok_or_else(|| {
                Error::format("not a zip/npz file (no end-of-central-directory record)")
            })?;
        let mut count = u16_at(b, eocd + 10)? as u64;
        let mut cd_size = u32_at(b, eocd + 12)? as u64;
        let mut cd_off = u32_at(b, eocd + 16)? as u64;
        if (count == 0xFFFF || cd_off == 0xFFFF_FFFF || cd_size == 0xFFFF_FFFF)
            && eocd >= 20
            && u32_at(b, eocd - 20)? == EOCD64_LOC_SIG
        {
            let e64 = usize::try_from(u64_at(b, eocd - 12)?)
                .map_err(|_| Error::format("zip64 record offset out of range"))?;
            if u32_at(b, e64)? != EOCD64_SIG {
                return Err(Error::format("zip64 end record signature missing"));
            }
            count = u64_at(b, e64 + 32)?;
            cd_size = u64_at(b, e64 + 40)?;
            cd_off = u64_at(b, e64 + 48)?;
        }
        let cd_start = usize::try_from(cd_off)
            .map_err(|_| Error::format("zip directory offset out of range"))?;
        let cd_end = usize::try_from(cd_off.saturating_add(cd_size))
            .ok()
            .filter(|&e| e <= b.len())
            .ok_or_else(|| Error::format("zip central directory runs past the end of the file"))?;
        if count > (cd_size / 46) {
            return Err(Error::format(format!(
                "zip claims {count} members in a {cd_size}-byte directory"
            )));
        }
        let mut members = Vec::with_capacity(count as usize);
        let mut p = cd_start;
        for _ in 0..count {
            if p + 46 > cd_end || u32_at(b, p)? != CENTRAL_SIG {
                return Err(Error::format(format!(
                    "zip central directory entry at byte {p} is corrupt"
                )));
            }
            let flags = u16_at(b, p + 8)?;
            let method = u16_at(b, p + 10)?;
            let crc = u32_at(b, p + 16)?;
            let mut csize = u32_at(b, p + 20)? as u64;
            let mut usz = u32_at(b, p + 24)? as u64;
            let nlen = u16_at(b, p + 28)? as usize;
            let xlen = u16_at(b, p + 30)? as usize;
            let clen = u16_at(b, p + 32)? as usize;
            let mut offset = u32_at(b, p + 42)? as u64;
            let name_bytes = b
                .get(p + 46..p + 46 + nlen)
                .ok_or_else(|| Error::format("zip member name truncated"))?;
            let name = String::from_utf8_lossy(name_bytes).into_owned();
            let extra = b
                .get(p + 46 + nlen..p + 46 + nlen + xlen)
                .ok_or_else(|| Error::format("zip extra field truncated"))?;
            // zip64 extended information: the fields that are 0xFFFFFFFF in the fixed part.
            let mut q = 0;
            while q + 4 <= extra.len() {
                let id = u16_at(extra, q)?;
                let len = u16_at(extra, q + 2)? as usize;
                if id == 1 {
                    let mut r = q + 4;
                    if usz == 0xFFFF_FFFF {
                        usz = u64_at(extra, r)?;
                        r += 8;
                    }
                    if csize == 0xFFFF_FFFF {
                        csize = u64_at(extra, r)?;
                        r += 8;
                    }
                    if offset == 0xFFFF_FFFF {
                        offset = u64_at(extra, r)?;
                    }
                }
                q += 4 + len;
            }
            if flags & 1 != 0 {
                return Err(Error::unsupported(format!(
                    "zip member '{name}' is encrypted"
                )));
            }
            members.push(Member {
                name,
                method,
                crc,
                csize,
                usize_: usz,
                offset,
            });
            p += 46 + nlen + xlen + clen;
        }
        Ok(Npz {
            bytes,
            members,
            limits: *limits,
        })
    }

    /// Array names (member names without `.npy`), in archive order.
    pub fn names(&self) -> Vec<&str> {
        self.members
            .iter()
            .map(|m| m.name.strip_suffix(".npy").unwrap_or(&m.name))
            .collect()
    }

    fn member(&self, name: &str) -> Result<&Member> {
        self.members
            .iter()
            .find(|m| m.name == name || m.name.strip_suffix(".npy") == Some(name))
            .ok_or_else(|| {
                Error::invalid_argument(format!(
                    "npz has no array '{name}' (it holds: {})",
                    self.names().join(", ")
                ))
            })
    }

    /// The raw (decompressed, CRC-checked) bytes of member `name`.
    pub fn member_bytes(&self, name: &str) -> Result<Vec<u8>> {
        let m = self.member(name)?;
        let b = &self.bytes;
        let lo = usize::try_from(m.offset)
            .map_err(|_| Error::format("zip member offset out of range"))?;
        if u32_at(b, lo)? != LOCAL_SIG {
            return Err(Error::format(format!(
                "zip member '{}': local header missing",
                m.name
            )));
        }
        let nlen = u16_at(b, lo + 26)? as usize;
        let xlen = u16_at(b, lo + 28)? as usize;
        let start = lo + 30 + nlen + xlen;
        let data = usize::try_from(m.csize)
            .ok()
            .and_then(|c| b.get(start..start.checked_add(c)?))
            .ok_or_else(|| {
                Error::format(format!(
                    "zip member '{}' runs past the end of the file",
                    m.name
                ))
            })?;
        if m.usize_ > self.limits.max_bytes {
            return Err(Error::too_large(format!(
                "zip member '{}' is {} bytes, over the limit of {}",
                m.name, m.usize_, self.limits.max_bytes
            )));
        }
        let out = match m.method {
            0 => data.to_vec(),
            8 => {
                if m.usize_
                    > (data.len() as u64)
                        .saturating_mul(1032)
                        .saturating_add(1024)
                {
                    return Err(Error::format(format!(
                        "zip member '{}' claims {} bytes from {} compressed bytes",
                        m.name,
                        m.usize_,
                        data.len()
                    )));
                }
                let mut out = vec![0u8; m.usize_ as usize];
                let mut dec = libdeflater::Decompressor::new();
                match dec.deflate_decompress(data, &mut out) {
                    Ok(n) if n == out.len() => out,
                    _ => {
                        return Err(Error::format(format!(
                            "zip member '{}': deflate data is corrupt or not {} bytes long",
                            m.name, m.usize_
                        )));
                    }
                }
            }
            other => {
                return Err(Error::unsupported(format!(
                    "zip member '{}' uses compression method {other} (stored and deflate are supported)",
                    m.name
                )));
            }
        };
        if out.len() as u64 != m.usize_ {
            return Err(Error::format(format!(
                "zip member '{}' holds {} bytes, directory says {}",
                m.name,
                out.len(),
                m.usize_
            )));
        }
        if libdeflater::crc32(&out) != m.crc {
            return Err(Error::format(format!(
                "zip member '{}' fails its CRC-32 check",
                m.name
            )));
        }
        Ok(out)
    }

    /// Array `name` (with or without `.npy`).
    pub fn array(&self, name: &str) -> Result<NpyArray> {
        parse_npy(&self.member_bytes(name)?, &self.limits)
            .map_err(|e| e.context(format!("npz array '{name}'")))
    }

    /// The `spacing` array as image (i, j, k) spacing, read in (x, y, z) order; a two-value
    /// spacing gets 1 for k. `None` when the archive has no `spacing`.
    pub fn spacing(&self) -> Result<Option<[f64; 3]>> {
        self.spacing_with(SpacingOrder::Xyz)
    }

    /// The `spacing` array as image (i, j, k) spacing, read in the given order.
    pub fn spacing_with(&self, order: SpacingOrder) -> Result<Option<[f64; 3]>> {
        if !self.names().contains(&"spacing") {
            return Ok(None);
        }
        let v = self.array("spacing")?.to_f64_vec();
        let s = match v.as_slice() {
            [x, y, z] => [*x, *y, *z],
            [x, y] => [*x, *y, 1.0],
            other => {
                return Err(Error::format(format!(
                    "npz 'spacing' holds {} values; 2 or 3 expected",
                    other.len()
                )));
            }
        };
        if s.iter().any(|v| !v.is_finite() || *v <= 0.0) {
            return Err(Error::invalid_geometry(format!(
                "npz 'spacing' {s:?} is not positive"
            )));
        }
        Ok(Some(match (order, v.len()) {
            (SpacingOrder::Zyx, 3) => [s[2], s[1], s[0]],
            (SpacingOrder::Zyx, _) => [s[1], s[0], 1.0],
            _ => s,
        }))
    }

    /// Array `name` as an image ([`ArrayLayout::Auto`]) with the archive's `spacing` (x, y, z).
    pub fn image(&self, name: &str) -> Result<DynImage> {
        self.image_with(name, ArrayLayout::Auto, SpacingOrder::Xyz)
    }

    /// Array `name` as an image with an explicit layout and `spacing` order.
    pub fn image_with(
        &self,
        name: &str,
        layout: ArrayLayout,
        order: SpacingOrder,
    ) -> Result<DynImage> {
        let sp = self.spacing_with(order)?.unwrap_or([1.0; 3]);
        self.array(name)?.to_image_with_spacing(layout, sp)
    }

    /// The image [`crate::io::read`] returns: `imgs`, else the only array.
    pub fn default_image(&self) -> Result<DynImage> {
        let names = self.names();
        if names.contains(&"imgs") {
            self.image("imgs")
        } else if let [only] = names.as_slice() {
            let only = only.to_string();
            self.image(&only)
        } else {
            Err(Error::invalid_argument(format!(
                "npz has no 'imgs' array; choose one of: {}",
                names.join(", ")
            )))
        }
    }
}

/// Serialise arrays as an `.npz` (deflated members when `compress`, else stored).
/// `level` is libdeflate's 1–12 (default 6). Archives over 4 GiB are refused (no zip64 writing).
pub fn npz_to_bytes(
    arrays: &[(&str, &NpyArray)],
    compress: bool,
    level: Option<u32>,
) -> Result<Vec<u8>> {
    let lvl = libdeflater::CompressionLvl::new(level.unwrap_or(6).clamp(1, 12) as i32)
        .unwrap_or_default();
    let mut out = Vec::new();
    let mut central = Vec::new();
    let too_big = || Error::too_large("npz archives over 4 GiB are not supported for writing");
    for (name, a) in arrays {
        let raw = npy_to_bytes(a);
        let crc = libdeflater::crc32(&raw);
        let (method, body) = if compress {
            let mut c = libdeflater::Compressor::new(lvl);
            let mut buf = vec![0u8; c.deflate_compress_bound(raw.len())];
            let n = c
                .deflate_compress(&raw, &mut buf)
                .map_err(|e| Error::internal(format!("deflate failed: {e:?}")))?;
            buf.truncate(n);
            (8u16, buf)
        } else {
            (0u16, raw.clone())
        };
        let fname = format!("{name}.npy");
        let offset = u32::try_from(out.len()).map_err(|_| too_big())?;
        let csize = u32::try_from(body.len()).map_err(|_| too_big())?;
        let usz = u32::try_from(raw.len()).map_err(|_| too_big())?;
        let nlen = u16::try_from(fname.len())
            .map_err(|_| Error::invalid_argument("npz member name too long"))?;
        let mut fixed = Vec::with_capacity(26);
        fixed.extend_from_slice(&20u16.to_le_bytes()); // version needed
        fixed.extend_from_slice(&0u16.to_le_bytes()); // flags
        fixed.extend_from_slice(&method.to_le_bytes());
        fixed.extend_from_slice(&0u16.to_le_bytes()); // time
        fixed.extend_from_slice(&0x21u16.to_le_bytes()); // date 1980-01-01
        fixed.extend_from_slice(&crc.to_le_bytes());
        fixed.extend_from_slice(&csize.to_le_bytes());
        fixed.extend_from_slice(&usz.to_le_bytes());
        fixed.extend_from_slice(&nlen.to_le_bytes());
        fixed.extend_from_slice(&0u16.to_le_bytes()); // extra length
        out.extend_from_slice(&LOCAL_SIG.to_le_bytes());
        out.extend_from_slice(&fixed);
        out.extend_from_slice(fname.as_bytes());
        out.extend_from_slice(&body);
        central.extend_from_slice(&CENTRAL_SIG.to_le_bytes());
        central.extend_from_slice(&20u16.to_le_bytes()); // version made by
        central.extend_from_slice(&fixed);
        central.extend_from_slice(&[0u8; 6]); // comment length, disk number, internal attributes
        central.extend_from_slice(&0u32.to_le_bytes()); // external attrs
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(fname.as_bytes());
    }
    let cd_off = u32::try_from(out.len()).map_err(|_| too_big())?;
    let cd_size = u32::try_from(central.len()).map_err(|_| too_big())?;
    let count =
        u16::try_from(arrays.len()).map_err(|_| Error::invalid_argument("too many npz members"))?;
    out.extend_from_slice(&central);
    out.extend_from_slice(&EOCD_SIG.to_le_bytes());
    out.extend_from_slice(&[0u8; 4]);
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&cd_size.to_le_bytes());
    out.extend_from_slice(&cd_off.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    Ok(out)
}

/// Write arrays to an `.npz` file (compressed), atomically.
pub fn write_npz(path: &Path, arrays: &[(&str, &NpyArray)], level: Option<u32>) -> Result<()> {
    super::atomic_write(path, &npz_to_bytes(arrays, true, level)?)
}

/// Read the default image of an `.npz` file ([`Npz::default_image`]).
pub fn read_npz(path: &Path, opts: &ReadOptions) -> Result<DynImage> {
    Npz::open(path, &opts.limits)?.default_image()
}

/// Read the default image of an in-memory `.npz`.
pub fn read_npz_bytes(bytes: &[u8], opts: &ReadOptions) -> Result<DynImage> {
    Npz::from_bytes(bytes.to_vec(), &opts.limits)?.default_image()
}

/// Write an image as a compressed `.npz` holding `imgs` and `spacing` (x, y, z, float64).
pub fn write_npz_image(path: &Path, img: &DynImage, opts: &WriteOptions) -> Result<()> {
    let a = NpyArray::from_image(img);
    let sp = img.geometry().spacing;
    let s = NpyArray::new(
        PixelType::F64,
        vec![3],
        sp.iter().flat_map(|v| v.to_le_bytes()).collect(),
    )?;
    write_npz(
        path,
        &[("imgs", &a), ("spacing", &s)],
        opts.compression_level,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn fortran_and_big_endian() {
        // shape (2, 3) i16 big-endian, Fortran order: memory holds columns.
        let vals: [i16; 6] = [0, 3, 1, 4, 2, 5]; // a[r][c] = r*3 + c, column-major
        let mut bytes = Vec::from(MAGIC);
        bytes.extend_from_slice(&[1, 0]);
        let h = "{'descr': '>i2', 'fortran_order': True, 'shape': (2, 3), }";
        let mut hd = h.to_string();
        while !(10 + hd.len() + 1).is_multiple_of(64) {
            hd.push(' ');
        }
        hd.push('\n');
        bytes.extend_from_slice(&(hd.len() as u16).to_le_bytes());
        bytes.extend_from_slice(hd.as_bytes());
        for v in vals {
            bytes.extend_from_slice(&v.to_be_bytes());
        }
        let a = parse_npy(&bytes, &Limits::default()).unwrap();
        assert_eq!(a.shape(), &[2, 3]);
        assert_eq!(a.to_f64_vec(), vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
    }

    #[test]
    fn npy_round_trip_and_layouts() {
        let a = NpyArray::new(PixelType::U8, vec![2, 2, 3], (0..12).collect()).unwrap();
        let b = parse_npy(&npy_to_bytes(&a), &Limits::default()).unwrap();
        assert_eq!(a, b);
        let rgb = b.to_image(ArrayLayout::Auto).unwrap();
        assert_eq!((rgb.geometry().size, rgb.components()), ([2, 2, 1], 3));
        let vol = b.to_image(ArrayLayout::Volume).unwrap();
        assert_eq!((vol.geometry().size, vol.components()), ([3, 2, 2], 1));
    }

    #[test]
    fn rejects_object_arrays() {
        let mut bytes = Vec::from(MAGIC);
        bytes.extend_from_slice(&[1, 0]);
        let h = "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }\n";
        bytes.extend_from_slice(&(h.len() as u16).to_le_bytes());
        bytes.extend_from_slice(h.as_bytes());
        bytes.extend_from_slice(&[0; 8]);
        let e = parse_npy(&bytes, &Limits::default()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unsupported);
    }
}
