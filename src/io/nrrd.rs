//! NRRD: `.nrrd` (attached data) and `.nhdr` (detached header + data file).
//!
//! Reading follows how ITK's `NrrdImageIO` maps a NRRD to an image:
//! * `dimension` 1–5 (up to 3 spatial axes, plus at most one component axis and one frame
//!   axis); `sizes`; every `type` spelling of the NRRD spec
//!   (`short`, `int16`, `signed short int`, `uchar`, …; `block` is refused); `endian`.
//! * `encoding`: `raw`, `gzip`/`gz`, `ascii`/`txt`/`text`, `hex`; `bzip2`/`bz2` give
//!   [`ErrorKind::Unsupported`](crate::ErrorKind). `line skip` and `byte skip` (`-1` = data at the
//!   end of a raw file) are honoured.
//! * `data file`: one file, relative to the header's folder (gzip-compressed by `encoding`);
//!   `LIST` and `%d` patterns (multi-file data) are refused.
//! * Axes: an axis whose `kinds` entry is a non-domain kind (`vector`, `list`, `RGB-Vector`,
//!   `3-color`, …) or, without `kinds`, whose `space directions` entry is `none`, becomes the
//!   pixel components (moved to the fastest position when it is not first). Domain axes are the
//!   spatial axes i, j, k in order; a fourth domain axis (e.g. kind `time`) becomes frames.
//! * Geometry: spacing = length of each `space directions` vector, direction = the vector
//!   normalised, origin = `space origin`; converted to LPS from `space` (`right-anterior-superior`
//!   / `RAS` negates x and y, `left-anterior-superior` / `LAS` negates y, `LPS` and the
//!   time variants likewise; `scanner-xyz` and `3D-right-handed` are taken as LPS, as ITK does).
//!   Without `space directions`, `spacings` (NaN → 1) with an identity direction. A missing third
//!   axis direction (2-D images) is the cross product of the first two.
//!
//! Writing: `.nrrd` with gzip-encoded attached data (raw with [`NrrdWriteOptions`]), `.nhdr` with
//! a detached `.raw` file beside it; always `space: left-posterior-superior`, little endian,
//! three spatial axes (a 2-D image is written with a k axis of size 1 so its direction survives),
//! components as a leading `vector` axis and frames as a trailing `time` axis.
//!
//! ```
//! use medseg::image::{DynImage, Geometry, Image};
//! use medseg::io::nrrd;
//! let g = Geometry::new([2, 2, 1], [0.5, 0.5, 2.0], [1.0, 2.0, 3.0],
//!     medseg::image::IDENTITY).unwrap();
//! let img: DynImage = Image::new(g, vec![1i16, 2, 3, 4]).unwrap().into();
//! let bytes = nrrd::to_bytes(&img, &nrrd::NrrdWriteOptions::default()).unwrap();
//! let back = nrrd::read_bytes(&bytes, &Default::default()).unwrap();
//! assert_eq!(back, img);
//! ```

use super::npy::permute_axes;
use super::{Limits, ReadOptions, WriteOptions};
use crate::error::{Error, Result};
use crate::image::{DynImage, Geometry, Mat3, PixelType};
use std::path::{Path, PathBuf};

/// Largest header accepted (bytes).
const MAX_HEADER: usize = 1 << 20;

/// Data encodings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Raw,
    Gzip,
    Ascii,
    Hex,
}

/// How to write a NRRD.
#[derive(Debug, Clone, Copy)]
pub struct NrrdWriteOptions {
    /// Data encoding (default gzip).
    pub encoding: Encoding,
    /// Compression level for gzip (libdeflate 1–12; default 2).
    pub level: Option<u32>,
}

impl Default for NrrdWriteOptions {
    fn default() -> Self {
        NrrdWriteOptions {
            encoding: Encoding::Gzip,
            level: None,
        }
    }
}

#[derive(Debug, Default)]
struct Header {
    dimension: Option<usize>,
    ptype: Option<PixelType>,
    sizes: Vec<usize>,
    big_endian: Option<bool>,
    encoding: Option<Encoding>,
    /// Sign flips to LPS for x, y.
    flip: [bool; 2],
    space_dim: Option<usize>,
    directions: Option<Vec<Option<Vec<f64>>>>,
    origin: Option<Vec<f64>>,
    kinds: Option<Vec<String>>,
    spacings: Option<Vec<f64>>,
    data_file: Option<String>,
    byte_skip: i64,
    line_skip: usize,
}

fn fmt_err(m: impl Into<String>) -> Error {
    Error::format(format!("NRRD: {}", m.into()))
}

fn parse_type(s: &str) -> Result<PixelType> {
    let s = s.trim().to_ascii_lowercase();
    let s = s.split_whitespace().collect::<Vec<_>>().join(" ");
    Ok(match s.as_str() {
        "signed char" | "int8" | "int8_t" => PixelType::I8,
        "uchar" | "unsigned char" | "uint8" | "uint8_t" => PixelType::U8,
        "short" | "short int" | "signed short" | "signed short int" | "int16" | "int16_t" => {
            PixelType::I16
        }
        "ushort" | "unsigned short" | "unsigned short int" | "uint16" | "uint16_t" => {
            PixelType::U16
        }
        "int" | "signed int" | "int32" | "int32_t" => PixelType::I32,
        "uint" | "unsigned int" | "uint32" | "uint32_t" => PixelType::U32,
        "longlong"
        | "long long"
        | "long long int"
        | "signed long long"
        | "signed long long int"
        | "int64"
        | "int64_t" => PixelType::I64,
        "ulonglong" | "unsigned long long" | "unsigned long long int" | "uint64" | "uint64_t" => {
            PixelType::U64
        }
        "float" => PixelType::F32,
        "double" => PixelType::F64,
        "block" => return Err(Error::unsupported("NRRD: type 'block' is not supported")),
        other => return Err(fmt_err(format!("unknown type '{other}'"))),
    })
}

fn type_name(t: PixelType) -> &'static str {
    match t {
        PixelType::U8 => "uint8",
        PixelType::I8 => "int8",
        PixelType::U16 => "uint16",
        PixelType::I16 => "int16",
        PixelType::U32 => "uint32",
        PixelType::I32 => "int32",
        PixelType::U64 => "uint64",
        PixelType::I64 => "int64",
        PixelType::F32 => "float",
        PixelType::F64 => "double",
    }
}

fn parse_f64(s: &str, field: &str) -> Result<f64> {
    let t = s.trim();
    match t.to_ascii_lowercase().as_str() {
        "nan" => return Ok(f64::NAN),
        "inf" | "+inf" => return Ok(f64::INFINITY),
        "-inf" => return Ok(f64::NEG_INFINITY),
        _ => {}
    }
    t.parse::<f64>()
        .map_err(|_| fmt_err(format!("'{field}': '{t}' is not a number")))
}

/// Parse a list of `(a,b,c)` vectors and `none` tokens.
fn parse_vectors(v: &str, field: &str) -> Result<Vec<Option<Vec<f64>>>> {
    let mut out = Vec::new();
    let mut rest = v.trim();
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('(') {
            let end = r
                .find(')')
                .ok_or_else(|| fmt_err(format!("'{field}': unclosed '('")))?;
            let inner = r.get(..end).unwrap_or("");
            let comps = inner
                .split(',')
                .map(|c| parse_f64(c, field))
                .collect::<Result<Vec<f64>>>()?;
            out.push(Some(comps));
            rest = r.get(end + 1..).unwrap_or("").trim_start();
        } else {
            let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            let tok = rest.get(..end).unwrap_or("");
            if tok.eq_ignore_ascii_case("none") {
                out.push(None);
            } else {
                return Err(fmt_err(format!("'{field}': unexpected '{tok}'")));
            }
            rest = rest.get(end..).unwrap_or("").trim_start();
        }
    }
    Ok(out)
}

fn parse_space(h: &mut Header, v: &str) -> Result<()> {
    let s = v.trim().to_ascii_lowercase();
    let (flip, dim) = match s.as_str() {
        "right-anterior-superior" | "ras" => ([true, true], 3),
        "left-anterior-superior" | "las" => ([false, true], 3),
        "left-posterior-superior" | "lps" => ([false, false], 3),
        "right-anterior-superior-time" | "rast" => ([true, true], 4),
        "left-anterior-superior-time" | "last" => ([false, true], 4),
        "left-posterior-superior-time" | "lpst" => ([false, false], 4),
        "scanner-xyz" | "3d-right-handed" | "3d-left-handed" => ([false, false], 3),
        "scanner-xyz-time" | "3d-right-handed-time" | "3d-left-handed-time" => ([false, false], 4),
        other => return Err(fmt_err(format!("unknown space '{other}'"))),
    };
    h.flip = flip;
    h.space_dim = Some(dim);
    Ok(())
}

fn parse_usize(v: &str, field: &str) -> Result<usize> {
    v.trim()
        .parse::<usize>()
        .map_err(|_| fmt_err(format!("'{field}': '{}' is not a count", v.trim())))
}

/// Split the text header from the data; returns (header lines, data offset).
fn split_header(bytes: &[u8]) -> Result<(Vec<String>, usize)> {
    if !bytes.starts_with(b"NRRD") {
        return Err(fmt_err("missing the NRRD000x magic"));
    }
    let mut lines = Vec::new();
    let mut p = 0usize;
    loop {
        if p >= bytes.len() {
            return Ok((lines, bytes.len()));
        }
        if p > MAX_HEADER {
            return Err(fmt_err(format!("header longer than {MAX_HEADER} bytes")));
        }
        let rest = bytes.get(p..).unwrap_or(&[]);
        let (line, adv) = match rest.iter().position(|&b| b == b'\n') {
            Some(n) => (rest.get(..n).unwrap_or(&[]), n + 1),
            None => (rest, rest.len()),
        };
        p += adv;
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            return Ok((lines, p));
        }
        let s = std::str::from_utf8(line)
            .map_err(|_| fmt_err(format!("header line {} is not text", lines.len() + 1)))?;
        lines.push(s.to_string());
    }
}

fn parse_header(lines: &[String]) -> Result<Header> {
    let mut h = Header::default();
    let magic = lines.first().map(String::as_str).unwrap_or("");
    let ver = magic.strip_prefix("NRRD").unwrap_or("");
    if ver.len() != 4 || !ver.bytes().all(|b| b.is_ascii_digit()) {
        return Err(fmt_err(format!("bad magic line '{magic:.20}'")));
    }
    for line in lines.iter().skip(1) {
        if line.starts_with('#') {
            continue;
        }
        if line.contains(":=") && !line.contains(": ") {
            continue; // key/value pair
        }
        let Some((k, v)) = line.split_once(": ") else {
            if line.contains(":=") {
                continue;
            }
            return Err(fmt_err(format!(
                "header line '{line:.60}' is not 'field: value'"
            )));
        };
        let key = k.trim().to_ascii_lowercase();
        if k.contains(":=") {
            continue;
        }
        match key.as_str() {
            "dimension" => h.dimension = Some(parse_usize(v, "dimension")?),
            "type" => h.ptype = Some(parse_type(v)?),
            "sizes" => {
                h.sizes = v
                    .split_whitespace()
                    .map(|t| parse_usize(t, "sizes"))
                    .collect::<Result<_>>()?
            }
            "endian" => {
                h.big_endian = Some(match v.trim().to_ascii_lowercase().as_str() {
                    "little" => false,
                    "big" => true,
                    o => return Err(fmt_err(format!("endian '{o}' is neither little nor big"))),
                })
            }
            "encoding" => {
                h.encoding = Some(match v.trim().to_ascii_lowercase().as_str() {
                    "raw" => Encoding::Raw,
                    "gzip" | "gz" => Encoding::Gzip,
                    "ascii" | "txt" | "text" => Encoding::Ascii,
                    "hex" => Encoding::Hex,
                    "bzip2" | "bz2" => {
                        return Err(Error::unsupported("NRRD: bzip2 encoding is not supported"));
                    }
                    o => return Err(fmt_err(format!("unknown encoding '{o}'"))),
                })
            }
            "space" => parse_space(&mut h, v)?,
            "space dimension" => {
                let d = parse_usize(v, "space dimension")?;
                if h.space_dim.is_some_and(|s| s != d) {
                    return Err(fmt_err("'space dimension' disagrees with 'space'"));
                }
                h.space_dim = Some(d);
            }
            "space directions" => h.directions = Some(parse_vectors(v, "space directions")?),
            "space origin" => {
                let mut o = parse_vectors(v, "space origin")?;
                match (o.len(), o.pop()) {
                    (1, Some(Some(vals))) => h.origin = Some(vals),
                    _ => return Err(fmt_err("'space origin' must be one (x,y,z) vector")),
                }
            }
            "kinds" => {
                h.kinds = Some(
                    v.split_whitespace()
                        .map(|s| s.to_ascii_lowercase())
                        .collect(),
                )
            }
            "spacings" => {
                h.spacings = Some(
                    v.split_whitespace()
                        .map(|t| parse_f64(t, "spacings"))
                        .collect::<Result<_>>()?,
                )
            }
            "data file" | "datafile" => h.data_file = Some(v.trim().to_string()),
            "byte skip" | "byteskip" => {
                h.byte_skip = v
                    .trim()
                    .parse::<i64>()
                    .map_err(|_| fmt_err(format!("'byte skip': '{}' is not a number", v.trim())))?;
                if h.byte_skip < -1 {
                    return Err(fmt_err(format!("'byte skip' {} is below -1", h.byte_skip)));
                }
            }
            "line skip" | "lineskip" => h.line_skip = parse_usize(v, "line skip")?,
            _ => {} // content, thicknesses, axis mins, measurement frame, units, …
        }
    }
    Ok(h)
}

/// The axis roles: (component axis, spatial axes, frame axis).
type Roles = (Option<usize>, Vec<usize>, Option<usize>);

fn axis_roles(h: &Header, dim: usize) -> Result<Roles> {
    const DOMAIN: &[&str] = &["domain", "space", "time"];
    let mut comp = None;
    let mut domain = Vec::new();
    for a in 0..dim {
        let kind = h.kinds.as_ref().and_then(|k| k.get(a)).map(String::as_str);
        let dir_none = h
            .directions
            .as_ref()
            .and_then(|d| d.get(a))
            .is_some_and(Option::is_none);
        let is_domain = match kind {
            Some(k) if k != "???" && k != "none" => DOMAIN.contains(&k),
            _ => !dir_none,
        };
        if is_domain {
            domain.push(a);
        } else if comp.is_none() {
            comp = Some(a);
        } else {
            return Err(Error::unsupported(format!(
                "NRRD: more than one non-spatial axis (axes {} and {a})",
                comp.unwrap_or(0)
            )));
        }
    }
    // A domain axis of kind `time`, or a fourth domain axis, holds frames.
    let is_time = |a: &usize| {
        h.kinds
            .as_ref()
            .and_then(|k| k.get(*a))
            .is_some_and(|k| k == "time")
    };
    let mut frame = domain.iter().position(is_time).map(|p| domain.remove(p));
    if frame.is_none() && domain.len() == 4 {
        frame = domain.pop();
    }
    if domain.is_empty() || domain.len() > 3 {
        return Err(Error::unsupported(format!(
            "NRRD: {} spatial axes (1 to 3 supported)",
            domain.len()
        )));
    }
    Ok((comp, domain, frame))
}

fn cross(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

fn norm(a: [f64; 3]) -> f64 {
    (a[0] * a[0] + a[1] * a[1] + a[2] * a[2]).sqrt()
}

/// Complete a set of known unit columns to an orthonormal right-handed basis.
fn complete_basis(cols: &mut [Option<[f64; 3]>; 3]) {
    match cols {
        [Some(a), Some(b), c @ None] => {
            let k = cross(*a, *b);
            let n = norm(k);
            *c = Some(if n > 1e-12 {
                [k[0] / n, k[1] / n, k[2] / n]
            } else {
                [0.0, 0.0, 1.0]
            });
        }
        _ => {
            // Fill remaining columns from the standard basis by Gram-Schmidt.
            for c in 0..3 {
                if cols[c].is_some() {
                    continue;
                }
                let mut best = [0.0, 0.0, 0.0];
                for e in 0..3 {
                    let mut v = [0.0; 3];
                    v[e] = 1.0;
                    for u in cols.iter().flatten() {
                        let d = v[0] * u[0] + v[1] * u[1] + v[2] * u[2];
                        for r in 0..3 {
                            v[r] -= d * u[r];
                        }
                    }
                    let n = norm(v);
                    if n > 0.5 {
                        best = [v[0] / n, v[1] / n, v[2] / n];
                        break;
                    }
                }
                cols[c] = Some(best);
            }
        }
    }
}

fn geometry(h: &Header, spatial: &[usize], size: [usize; 3]) -> Result<Geometry> {
    let mut spacing = [1.0f64; 3];
    let mut cols: [Option<[f64; 3]>; 3] = [None; 3];
    for (c, &a) in spatial.iter().enumerate() {
        let dir = h
            .directions
            .as_ref()
            .and_then(|d| d.get(a))
            .cloned()
            .flatten();
        if let Some(v) = dir {
            let mut u = [0.0; 3];
            for (d, s) in u.iter_mut().zip(&v) {
                *d = *s;
            }
            if v.len() < 2 {
                return Err(fmt_err(format!(
                    "space direction {v:?} has fewer than 2 components"
                )));
            }
            let n = norm(u);
            if !n.is_finite() || n <= 0.0 {
                return Err(Error::invalid_geometry(format!(
                    "NRRD: space direction {v:?} of axis {a} has no length"
                )));
            }
            spacing[c] = n;
            cols[c] = Some([u[0] / n, u[1] / n, u[2] / n]);
        } else {
            let s = h.spacings.as_ref().and_then(|s| s.get(a)).copied();
            spacing[c] = match s {
                Some(s) if s.is_finite() && s != 0.0 => s.abs(),
                _ => 1.0,
            };
            if h.directions.is_none() {
                let mut e = [0.0; 3];
                e[c] = 1.0;
                cols[c] = Some(e);
            }
        }
    }
    complete_basis(&mut cols);
    let mut d: Mat3 = [0.0; 9];
    for (c, col) in cols.iter().enumerate() {
        let col = col.unwrap_or([0.0; 3]);
        for r in 0..3 {
            d[r * 3 + c] = col[r];
        }
    }
    let mut origin = [0.0; 3];
    if let Some(o) = &h.origin {
        for (d, s) in origin.iter_mut().zip(o) {
            *d = *s;
        }
    }
    for (r, &f) in h.flip.iter().enumerate() {
        if f {
            for c in 0..3 {
                d[r * 3 + c] = -d[r * 3 + c];
            }
            origin[r] = -origin[r];
        }
    }
    Geometry::new(size, spacing, origin, d).map_err(|e| e.context("NRRD"))
}

fn skip_lines(data: &[u8], n: usize) -> Result<&[u8]> {
    let mut p = 0usize;
    for i in 0..n {
        let rest = data.get(p..).unwrap_or(&[]);
        let nl = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or_else(|| fmt_err(format!("'line skip' {n}: data ends after {i} lines")))?;
        p += nl + 1;
    }
    Ok(data.get(p..).unwrap_or(&[]))
}

fn decode_text(data: &[u8], t: PixelType, n: usize, hex: bool, big: bool) -> Result<Vec<u8>> {
    let es = t.size();
    let mut out = Vec::with_capacity(n.saturating_mul(es).min(data.len().saturating_mul(es)));
    if hex {
        let digits: Vec<u8> = data
            .iter()
            .filter(|b| !b.is_ascii_whitespace())
            .map(|&b| match b {
                b'0'..=b'9' => Ok(b - b'0'),
                b'a'..=b'f' => Ok(b - b'a' + 10),
                b'A'..=b'F' => Ok(b - b'A' + 10),
                _ => Err(fmt_err(format!("hex data holds '{}'", b as char))),
            })
            .collect::<Result<_>>()?;
        let want = n * es * 2;
        let d = digits.get(..want).ok_or_else(|| {
            fmt_err(format!(
                "hex data has {} digits, {want} needed",
                digits.len()
            ))
        })?;
        let mut raw: Vec<u8> = d.chunks_exact(2).map(|p| p[0] << 4 | p[1]).collect();
        if big && es > 1 {
            for c in raw.chunks_exact_mut(es) {
                c.reverse();
            }
        }
        return Ok(raw);
    }
    let text = std::str::from_utf8(data).map_err(|_| fmt_err("ascii data is not text"))?;
    let mut count = 0usize;
    for tok in text.split(|c: char| c.is_whitespace() || c == ',') {
        if tok.is_empty() {
            continue;
        }
        if count == n {
            break;
        }
        let bad = || fmt_err(format!("ascii value '{tok:.20}' is not a {t}"));
        macro_rules! int {
            ($ty:ty) => {{
                let v: $ty = tok.parse::<$ty>().or_else(|_| {
                    tok.parse::<f64>()
                        .ok()
                        .filter(|f| f.fract() == 0.0)
                        .map(|f| f as $ty)
                        .ok_or_else(bad)
                })?;
                out.extend_from_slice(&v.to_le_bytes());
            }};
        }
        match t {
            PixelType::U8 => int!(u8),
            PixelType::I8 => int!(i8),
            PixelType::U16 => int!(u16),
            PixelType::I16 => int!(i16),
            PixelType::U32 => int!(u32),
            PixelType::I32 => int!(i32),
            PixelType::U64 => int!(u64),
            PixelType::I64 => int!(i64),
            PixelType::F32 => {
                let v = parse_f64(tok, "data")? as f32;
                out.extend_from_slice(&v.to_le_bytes())
            }
            PixelType::F64 => out.extend_from_slice(&parse_f64(tok, "data")?.to_le_bytes()),
        }
        count += 1;
    }
    if count < n {
        return Err(fmt_err(format!(
            "ascii data holds {count} values, {n} needed"
        )));
    }
    Ok(out)
}

/// Read a `.nrrd` or `.nhdr` file.
pub fn read(path: &Path, opts: &ReadOptions) -> Result<DynImage> {
    let bytes = super::read_file(path, &opts.limits)?;
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    read_impl(&bytes, Some(&dir), opts)
}

/// Read a NRRD held in memory (attached data only: a `data file` field is refused).
pub fn read_bytes(bytes: &[u8], opts: &ReadOptions) -> Result<DynImage> {
    read_impl(bytes, None, opts)
}

fn resolve_data_file(dir: &Path, name: &str) -> Result<PathBuf> {
    let low = name.to_ascii_lowercase();
    if low.starts_with("list") || name.contains('%') || name.split_whitespace().count() > 1 {
        return Err(Error::unsupported(format!(
            "NRRD: multi-file data ('data file: {name}') is not supported"
        )));
    }
    // `join` keeps an absolute name as it is.
    Ok(dir.join(name))
}

fn read_impl(bytes: &[u8], dir: Option<&Path>, opts: &ReadOptions) -> Result<DynImage> {
    let limits: &Limits = &opts.limits;
    let (lines, data_off) = split_header(bytes)?;
    let h = parse_header(&lines)?;
    let dim = h.dimension.ok_or_else(|| fmt_err("missing 'dimension'"))?;
    if dim == 0 || dim > 16 {
        return Err(fmt_err(format!("dimension {dim} out of range")));
    }
    let ptype = h.ptype.ok_or_else(|| fmt_err("missing 'type'"))?;
    let encoding = h.encoding.ok_or_else(|| fmt_err("missing 'encoding'"))?;
    if h.sizes.len() != dim {
        return Err(fmt_err(format!(
            "'sizes' has {} entries for dimension {dim}",
            h.sizes.len()
        )));
    }
    if h.sizes.contains(&0) {
        return Err(fmt_err(format!("'sizes' {:?} has a zero", h.sizes)));
    }
    for (name, n) in [
        ("kinds", h.kinds.as_ref().map(Vec::len)),
        ("space directions", h.directions.as_ref().map(Vec::len)),
        ("spacings", h.spacings.as_ref().map(Vec::len)),
    ] {
        if let Some(n) = n
            && n != dim
        {
            return Err(fmt_err(format!(
                "'{name}' has {n} entries for dimension {dim}"
            )));
        }
    }
    if let (Some(sd), Some(dirs)) = (h.space_dim, &h.directions)
        && dirs.iter().flatten().any(|v| v.len() != sd)
    {
        return Err(fmt_err(format!(
            "a 'space directions' vector does not have {sd} components"
        )));
    }
    if let (Some(sd), Some(o)) = (h.space_dim, &h.origin)
        && o.len() != sd
    {
        return Err(fmt_err(format!(
            "'space origin' does not have {sd} components"
        )));
    }
    let es = ptype.size();
    let n = h
        .sizes
        .iter()
        .try_fold(1usize, |a, &b| a.checked_mul(b))
        .ok_or_else(|| Error::too_large(format!("NRRD sizes {:?} overflow", h.sizes)))?;
    let nbytes = n
        .checked_mul(es)
        .filter(|&b| b as u64 <= limits.max_bytes)
        .ok_or_else(|| {
            Error::too_large(format!(
                "NRRD data of sizes {:?} × {es} bytes is over the limit of {} bytes",
                h.sizes, limits.max_bytes
            ))
        })?;
    let big = match h.big_endian {
        Some(b) => b,
        None if es == 1 || matches!(encoding, Encoding::Ascii) => false,
        None => return Err(fmt_err("missing 'endian' for a multi-byte type")),
    };
    let (comp, spatial, frame) = axis_roles(&h, dim)?;

    // The encoded data.
    let file_data;
    let encoded: &[u8] = match &h.data_file {
        Some(name) => {
            let dir = dir.ok_or_else(|| {
                Error::unsupported("NRRD: a detached 'data file' cannot be read from memory")
            })?;
            let p = resolve_data_file(dir, name)?;
            file_data = super::read_file(&p, limits)?;
            &file_data
        }
        None => {
            if dir.is_none() || data_off < bytes.len() {
                bytes.get(data_off..).unwrap_or(&[])
            } else {
                return Err(fmt_err("header has no 'data file' and no attached data"));
            }
        }
    };
    let encoded = skip_lines(encoded, h.line_skip)?;

    // Axes in component, i, j, k, frame order.
    let mut order = Vec::with_capacity(dim);
    order.extend(comp);
    order.extend(spatial.iter().copied());
    order.extend(frame);
    let mut size = [1usize; 3];
    for (c, &a) in spatial.iter().enumerate() {
        size[c] = h.sizes[a];
    }
    let comps = comp.map_or(1, |a| h.sizes[a]);
    let frames = frame.map_or(1, |a| h.sizes[a]);
    let g = geometry(&h, &spatial, size)?;
    let in_order = order.iter().enumerate().all(|(q, &a)| q == a);
    if in_order && h.byte_skip == 0 && matches!(encoding, Encoding::Raw | Encoding::Gzip) {
        // The common case: read or inflate straight into the image buffer.
        return DynImage::from_fill(ptype, g, comps, frames, big, |buf| {
            if encoding == Encoding::Gzip {
                return super::compress::gunzip_prefix(encoded, buf)
                    .map_err(|e| e.context("NRRD gzip data"));
            }
            let d = encoded.get(..buf.len()).ok_or_else(|| {
                fmt_err(format!(
                    "data truncated: {} bytes, {} needed",
                    encoded.len(),
                    buf.len()
                ))
            })?;
            buf.copy_from_slice(d);
            Ok(())
        });
    }
    let raw: Vec<u8> = match encoding {
        Encoding::Raw => {
            let start = if h.byte_skip == -1 {
                encoded.len().checked_sub(nbytes).ok_or_else(|| {
                    fmt_err(format!(
                        "data holds {} bytes, {nbytes} needed",
                        encoded.len()
                    ))
                })?
            } else {
                usize::try_from(h.byte_skip).unwrap_or(usize::MAX)
            };
            let d = start
                .checked_add(nbytes)
                .and_then(|e| encoded.get(start..e))
                .ok_or_else(|| {
                    fmt_err(format!(
                        "data truncated: {} bytes after skipping {start}, {nbytes} needed",
                        encoded.len().saturating_sub(start)
                    ))
                })?;
            let mut v = d.to_vec();
            if big && es > 1 {
                for c in v.chunks_exact_mut(es) {
                    c.reverse();
                }
            }
            v
        }
        Encoding::Gzip => {
            if h.byte_skip == -1 {
                return Err(fmt_err("'byte skip: -1' is only valid with raw encoding"));
            }
            let skip = usize::try_from(h.byte_skip).unwrap_or(usize::MAX);
            let cap = (nbytes as u64).saturating_add(skip as u64);
            let mut all = super::compress::gunzip(encoded, cap.min(limits.max_bytes.max(cap)))
                .map_err(|e| e.context("NRRD gzip data"))?;
            let d = skip
                .checked_add(nbytes)
                .and_then(|e| all.get(skip..e))
                .ok_or_else(|| {
                    fmt_err(format!(
                        "gzip data inflates to {} bytes, {} needed",
                        all.len(),
                        nbytes.saturating_add(skip)
                    ))
                })?;
            let mut v = if skip == 0 && all.len() == nbytes {
                std::mem::take(&mut all)
            } else {
                d.to_vec()
            };
            if big && es > 1 {
                for c in v.chunks_exact_mut(es) {
                    c.reverse();
                }
            }
            v
        }
        Encoding::Ascii | Encoding::Hex => {
            let skip = usize::try_from(h.byte_skip.max(0)).unwrap_or(usize::MAX);
            let d = encoded.get(skip..).unwrap_or(&[]);
            decode_text(d, ptype, n, encoding == Encoding::Hex, big)?
        }
    };

    let data = permute_axes(raw, es, &h.sizes, &order)?;
    DynImage::from_bytes(ptype, g, comps, frames, &data, false)
}

fn fmt_vec(v: &[f64]) -> String {
    let parts: Vec<String> = v.iter().map(|x| format!("{x:?}")).collect();
    format!("({})", parts.join(","))
}

/// The header text (ending in the blank line for attached data) for `img`.
fn header_text(img: &DynImage, encoding: Encoding, data_file: Option<&str>) -> String {
    let g = img.geometry();
    let (c, f) = (img.components(), img.frames());
    let mut sizes = Vec::new();
    let mut dirs = Vec::new();
    let mut kinds = Vec::new();
    if c > 1 {
        sizes.push(c);
        dirs.push("none".to_string());
        kinds.push("vector");
    }
    for a in 0..3 {
        sizes.push(g.size[a]);
        let col = g.axis(a);
        dirs.push(fmt_vec(&[
            col[0] * g.spacing[a],
            col[1] * g.spacing[a],
            col[2] * g.spacing[a],
        ]));
        kinds.push("domain");
    }
    if f > 1 {
        sizes.push(f);
        dirs.push("none".to_string());
        kinds.push("time");
    }
    let mut s = String::from(
        "NRRD0004\n# Complete NRRD file format specification at:\n# http://teem.sourceforge.net/nrrd/format.html\n",
    );
    s += &format!("type: {}\n", type_name(img.pixel_type()));
    s += &format!("dimension: {}\n", sizes.len());
    s += "space: left-posterior-superior\n";
    s += &format!(
        "sizes: {}\n",
        sizes
            .iter()
            .map(|v| v.to_string())
            .collect::<Vec<_>>()
            .join(" ")
    );
    s += &format!("space directions: {}\n", dirs.join(" "));
    s += &format!("kinds: {}\n", kinds.join(" "));
    if img.pixel_type().size() > 1 {
        s += "endian: little\n";
    }
    s += match encoding {
        Encoding::Raw => "encoding: raw\n",
        Encoding::Gzip => "encoding: gzip\n",
        Encoding::Ascii => "encoding: ascii\n",
        Encoding::Hex => "encoding: hex\n",
    };
    s += &format!("space origin: {}\n", fmt_vec(&g.origin));
    if let Some(df) = data_file {
        s += &format!("data file: {df}\n");
    } else {
        s += "\n";
    }
    s
}

fn encode_data(img: &DynImage, o: &NrrdWriteOptions) -> Vec<u8> {
    let raw = img.to_le_bytes();
    match o.encoding {
        Encoding::Raw => raw,
        Encoding::Gzip => super::compress::gzip(&raw, o.level.unwrap_or(2)),
        Encoding::Ascii | Encoding::Hex => {
            let vals = match img {
                DynImage::F32(_) | DynImage::F64(_) => img
                    .cast::<f64>()
                    .data()
                    .iter()
                    .map(|v| format!("{v:?}"))
                    .collect::<Vec<_>>(),
                _ => {
                    crate::dispatch!(img, i => i.data().iter().map(|v| format!("{v:?}")).collect::<Vec<_>>())
                }
            };
            if o.encoding == Encoding::Hex {
                let mut s = String::with_capacity(raw.len() * 2 + raw.len() / 32);
                for (n, b) in raw.iter().enumerate() {
                    s += &format!("{b:02x}");
                    if n % 32 == 31 {
                        s.push('\n');
                    }
                }
                s.push('\n');
                s.into_bytes()
            } else {
                let mut s = vals.join("\n");
                s.push('\n');
                s.into_bytes()
            }
        }
    }
}

/// Serialise as an attached `.nrrd`.
pub fn to_bytes(img: &DynImage, o: &NrrdWriteOptions) -> Result<Vec<u8>> {
    let mut out = header_text(img, o.encoding, None).into_bytes();
    out.extend_from_slice(&encode_data(img, o));
    Ok(out)
}

/// Write `.nrrd` (attached, gzip) or `.nhdr` + `.raw` (detached, raw), chosen by the extension.
pub fn write(path: &Path, img: &DynImage, opts: &WriteOptions) -> Result<()> {
    let o = NrrdWriteOptions {
        level: opts.compression_level,
        ..Default::default()
    };
    let detached = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("nhdr"));
    if detached {
        write_with(
            path,
            img,
            &NrrdWriteOptions {
                encoding: Encoding::Raw,
                ..o
            },
        )
    } else {
        write_with(path, img, &o)
    }
}

/// Write with explicit options. A `.nhdr` path gets a detached data file beside it
/// (`.raw`, or `.raw.gz` for gzip, `.txt` for ascii/hex); any other name an attached `.nrrd`.
pub fn write_with(path: &Path, img: &DynImage, o: &NrrdWriteOptions) -> Result<()> {
    let detached = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("nhdr"));
    if !detached {
        return super::atomic_write(path, &to_bytes(img, o)?);
    }
    let ext = match o.encoding {
        Encoding::Raw => "raw",
        Encoding::Gzip => "raw.gz",
        Encoding::Ascii | Encoding::Hex => "txt",
    };
    let data_path = path.with_extension(ext);
    let data_name = data_path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| Error::invalid_argument(format!("{}: bad file name", path.display())))?
        .to_string();
    let header = header_text(img, o.encoding, Some(&data_name));
    let data = encode_data(img, o);
    super::atomic_write_many(&[path, &data_path], |t| {
        std::fs::write(&t[0], header.as_bytes()).map_err(|e| Error::io(path, e))?;
        std::fs::write(&t[1], &data).map_err(|e| Error::io(&data_path, e))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use crate::image::Image;

    #[test]
    fn ras_space_and_vector_axis_last() {
        // A 2×1×1 RAS image with 2 components stored as the slowest axis (ITK moves it first).
        let mut f = b"NRRD0004\ntype: short\ndimension: 4\nspace: RAS\nsizes: 2 1 1 2\n\
space directions: (2,0,0) (0,3,0) (0,0,4) none\nkinds: domain domain domain vector\n\
endian: big\nencoding: raw\nspace origin: (1,2,3)\n\n"
            .to_vec();
        for v in [1i16, 2, 10, 20] {
            f.extend_from_slice(&v.to_be_bytes());
        }
        let img = read_bytes(&f, &ReadOptions::default()).unwrap();
        assert_eq!(img.components(), 2);
        let g = img.geometry();
        assert_eq!(g.size, [2, 1, 1]);
        assert_eq!(g.spacing, [2.0, 3.0, 4.0]);
        assert_eq!(g.origin, [-1.0, -2.0, 3.0]);
        assert_eq!(g.direction[0], -1.0);
        assert_eq!(g.direction[4], -1.0);
        assert_eq!(img.as_type::<i16>().unwrap().data(), &[1, 10, 2, 20]);
    }

    #[test]
    fn ascii_and_errors() {
        let f = b"NRRD0001\ntype: float\ndimension: 2\nsizes: 2 2\nspacings: 0.5 NaN\nencoding: ascii\n\n1 2\n3.5 4\n";
        let img = read_bytes(f, &ReadOptions::default()).unwrap();
        assert_eq!(img.geometry().spacing, [0.5, 1.0, 1.0]);
        assert_eq!(img.as_type::<f32>().unwrap().data(), &[1.0, 2.0, 3.5, 4.0]);
        let bz = b"NRRD0004\ntype: float\ndimension: 1\nsizes: 2\nencoding: bzip2\n\n";
        assert_eq!(
            read_bytes(bz, &ReadOptions::default()).unwrap_err().kind(),
            ErrorKind::Unsupported
        );
    }

    #[test]
    fn write_read_frames_and_components() {
        let g = Geometry::with_size([2, 2, 1]).unwrap();
        let img: DynImage = Image::with_layout(g, 3, 2, (0..24u16).collect())
            .unwrap()
            .into();
        for enc in [
            Encoding::Raw,
            Encoding::Gzip,
            Encoding::Ascii,
            Encoding::Hex,
        ] {
            let o = NrrdWriteOptions {
                encoding: enc,
                level: None,
            };
            let b = to_bytes(&img, &o).unwrap();
            assert_eq!(
                read_bytes(&b, &ReadOptions::default()).unwrap(),
                img,
                "{enc:?}"
            );
        }
    }
}
