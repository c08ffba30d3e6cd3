//! MetaImage (ITK MetaIO): `.mha` (header + data in one file) and `.mhd` + `.raw`/`.zraw`.
//!
//! Header fields (`Key = Value`, key match case-insensitive):
//! * `ObjectType` (must be `Image` when present), `NDims` (1–4), `DimSize`,
//!   `ElementType` (`MET_CHAR`, `MET_UCHAR`, `MET_SHORT`, `MET_USHORT`, `MET_INT`, `MET_UINT`,
//!   `MET_LONG`/`MET_ULONG` (4 bytes in MetaIO), `MET_LONG_LONG`, `MET_ULONG_LONG`, `MET_FLOAT`,
//!   `MET_DOUBLE`; the `_ARRAY` variants as components), `ElementNumberOfChannels`.
//! * `ElementSpacing` (else `ElementSize`), `Offset` / `Position` / `Origin`,
//!   `TransformMatrix` / `Rotation` / `Orientation`. As in ITK's `MetaImageIO`, the matrix lists
//!   the **axis direction vectors one after another** (its first `NDims` numbers are the direction
//!   of axis i), i.e. it is the direction matrix written column by column. MetaImage space is
//!   LPS. `AnatomicalOrientation` is informative only (ITK does not read it either).
//! * `BinaryDataByteOrderMSB` / `ElementByteOrderMSB`, `CompressedData` (zlib) with
//!   `CompressedDataSize`, `HeaderSize` (`-1`: data at the end of the data file).
//! * `ElementDataFile`: `LOCAL` (data follows the header line), or one file name relative to the
//!   header; `LIST` and printf-style patterns (one file per slice) give
//!   [`ErrorKind::Unsupported`](crate::ErrorKind).
//!
//! A 4-D image (`NDims = 4`) is read as frames; 2-D images get a k axis of size 1 and the
//! identity k direction. Writing: `.mha` with zlib-compressed data (`CompressedData = True`) and
//! `.mhd` + `.raw` (uncompressed; `.zraw` with [`MetaWriteOptions::compress`]); always
//! `NDims = 3` (4 for several frames), little endian, with the ITK field order.
//!
//! ```
//! use medseg::image::{DynImage, Geometry, Image};
//! use medseg::io::metaimage;
//! let g = Geometry::new([2, 1, 1], [0.5, 1.0, 2.0], [1.0, 2.0, 3.0],
//!     [0.0, -1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0]).unwrap();
//! let img: DynImage = Image::new(g, vec![7.5f32, -1.0]).unwrap().into();
//! let bytes = metaimage::to_bytes(&img, true, None).unwrap();
//! let text = String::from_utf8_lossy(&bytes[..200]);
//! assert!(text.contains("TransformMatrix = 0 1 0 -1 0 0 0 0 1"));
//! assert_eq!(metaimage::read_bytes(&bytes, &Default::default()).unwrap(), img);
//! ```

use super::{ReadOptions, WriteOptions};
use crate::error::{Error, Result};
use crate::image::{DynImage, Geometry, Mat3, PixelType};
use std::path::{Path, PathBuf};

const MAX_HEADER: usize = 1 << 20;

/// How to write a MetaImage.
#[derive(Debug, Clone, Copy)]
pub struct MetaWriteOptions {
    /// zlib-compress the data (`.mha` default true; `.mhd` default false → `.raw`, true → `.zraw`).
    pub compress: bool,
    /// zlib level (libdeflate 1–12; default 2).
    pub level: Option<u32>,
}

fn fmt_err(m: impl Into<String>) -> Error {
    Error::format(format!("MetaImage: {}", m.into()))
}

#[derive(Debug, Default)]
struct Header {
    ndims: Option<usize>,
    dim_size: Vec<usize>,
    ptype: Option<PixelType>,
    channels: usize,
    spacing: Option<Vec<f64>>,
    size_field: Option<Vec<f64>>,
    offset: Option<Vec<f64>>,
    matrix: Option<Vec<f64>>,
    msb: bool,
    compressed: bool,
    compressed_size: Option<usize>,
    header_size: i64,
    data_file: Option<String>,
}

fn parse_type(v: &str) -> Result<(PixelType, bool)> {
    let u = v.trim().to_ascii_uppercase();
    let (base, array) = match u.strip_suffix("_ARRAY") {
        Some(b) => (b.to_string(), true),
        None => (u.clone(), false),
    };
    let t = match base.as_str() {
        "MET_CHAR" => PixelType::I8,
        "MET_UCHAR" => PixelType::U8,
        "MET_SHORT" => PixelType::I16,
        "MET_USHORT" => PixelType::U16,
        "MET_INT" | "MET_LONG" => PixelType::I32,
        "MET_UINT" | "MET_ULONG" => PixelType::U32,
        "MET_LONG_LONG" => PixelType::I64,
        "MET_ULONG_LONG" => PixelType::U64,
        "MET_FLOAT" => PixelType::F32,
        "MET_DOUBLE" => PixelType::F64,
        _ => {
            return Err(Error::unsupported(format!(
                "MetaImage: ElementType '{}' is not supported",
                v.trim()
            )));
        }
    };
    Ok((t, array))
}

fn type_name(t: PixelType) -> &'static str {
    match t {
        PixelType::I8 => "MET_CHAR",
        PixelType::U8 => "MET_UCHAR",
        PixelType::I16 => "MET_SHORT",
        PixelType::U16 => "MET_USHORT",
        PixelType::I32 => "MET_INT",
        PixelType::U32 => "MET_UINT",
        PixelType::I64 => "MET_LONG_LONG",
        PixelType::U64 => "MET_ULONG_LONG",
        PixelType::F32 => "MET_FLOAT",
        PixelType::F64 => "MET_DOUBLE",
    }
}

fn floats(v: &str, key: &str) -> Result<Vec<f64>> {
    v.split_whitespace()
        .map(|t| {
            t.parse::<f64>()
                .map_err(|_| fmt_err(format!("{key}: '{t}' is not a number")))
        })
        .collect()
}

fn boolean(v: &str, key: &str) -> Result<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        o => Err(fmt_err(format!("{key}: '{o}' is not True/False"))),
    }
}

/// Parse the header; returns it and the byte offset just after the `ElementDataFile` line.
fn parse_header(bytes: &[u8]) -> Result<(Header, usize)> {
    let mut h = Header {
        channels: 1,
        ..Default::default()
    };
    let mut p = 0usize;
    let mut lines = 0usize;
    loop {
        if p >= bytes.len() {
            return Err(fmt_err("header ends without an ElementDataFile line"));
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
        lines += 1;
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let s = std::str::from_utf8(line)
            .map_err(|_| fmt_err(format!("header line {lines} is not text")))?;
        if s.trim().is_empty() {
            continue;
        }
        let (k, v) = s.split_once('=').ok_or_else(|| {
            fmt_err(format!(
                "header line {lines} '{s:.60}' is not 'Key = Value'"
            ))
        })?;
        let key = k.trim().to_ascii_lowercase();
        let v = v.trim();
        match key.as_str() {
            "objecttype" if !v.eq_ignore_ascii_case("image") => {
                return Err(Error::unsupported(format!(
                    "MetaImage: ObjectType '{v}' is not Image"
                )));
            }
            "ndims" => {
                h.ndims = Some(
                    v.parse::<usize>()
                        .map_err(|_| fmt_err(format!("NDims '{v}' is not a count")))?,
                )
            }
            "dimsize" => {
                h.dim_size = v
                    .split_whitespace()
                    .map(|t| {
                        t.parse::<usize>()
                            .map_err(|_| fmt_err(format!("DimSize: '{t}' is not a size")))
                    })
                    .collect::<Result<_>>()?
            }
            "elementtype" => {
                let (t, _) = parse_type(v)?;
                h.ptype = Some(t);
            }
            "elementnumberofchannels" => {
                h.channels =
                    v.parse::<usize>().ok().filter(|&c| c > 0).ok_or_else(|| {
                        fmt_err(format!("ElementNumberOfChannels '{v}' is invalid"))
                    })?
            }
            "elementspacing" => h.spacing = Some(floats(v, "ElementSpacing")?),
            "elementsize" => h.size_field = Some(floats(v, "ElementSize")?),
            "offset" | "position" | "origin" => h.offset = Some(floats(v, k.trim())?),
            "transformmatrix" | "rotation" | "orientation" => h.matrix = Some(floats(v, k.trim())?),
            "binarydatabyteordermsb" | "elementbyteordermsb" => h.msb = boolean(v, k.trim())?,
            "compresseddata" => h.compressed = boolean(v, "CompressedData")?,
            "compresseddatasize" => {
                h.compressed_size = Some(
                    v.parse::<usize>()
                        .map_err(|_| fmt_err(format!("CompressedDataSize '{v}' is invalid")))?,
                )
            }
            "headersize" => {
                h.header_size = v
                    .parse::<i64>()
                    .ok()
                    .filter(|&s| s >= -1)
                    .ok_or_else(|| fmt_err(format!("HeaderSize '{v}' is invalid")))?
            }
            "binarydata" if !boolean(v, "BinaryData")? => {
                return Err(Error::unsupported(
                    "MetaImage: ASCII data (BinaryData = False)",
                ));
            }
            "elementdatafile" => {
                h.data_file = Some(v.to_string());
                return Ok((h, p));
            }
            _ => {} // Comment, CenterOfRotation, AnatomicalOrientation, ElementMin/Max, …
        }
    }
}

fn geometry(h: &Header, nd: usize, size: [usize; 3]) -> Result<Geometry> {
    let sd = nd.min(3);
    let mut spacing = [1.0f64; 3];
    if let Some(s) = h.spacing.as_ref().or(h.size_field.as_ref()) {
        if s.len() < nd {
            return Err(fmt_err(format!(
                "ElementSpacing has {} values for NDims {nd}",
                s.len()
            )));
        }
        for (d, v) in spacing.iter_mut().zip(s).take(sd) {
            *d = *v;
        }
    }
    let mut origin = [0.0f64; 3];
    if let Some(o) = &h.offset {
        if o.len() < nd {
            return Err(fmt_err(format!(
                "Offset has {} values for NDims {nd}",
                o.len()
            )));
        }
        for (d, v) in origin.iter_mut().zip(o).take(sd) {
            *d = *v;
        }
    }
    let mut d: Mat3 = crate::image::IDENTITY;
    if let Some(m) = &h.matrix {
        if m.len() != nd * nd {
            return Err(fmt_err(format!(
                "TransformMatrix has {} values for NDims {nd}",
                m.len()
            )));
        }
        // m[c * nd + r] is component r of axis c's direction (ITK MetaImageIO convention).
        for c in 0..sd {
            for r in 0..sd {
                d[r * 3 + c] = m.get(c * nd + r).copied().unwrap_or(0.0);
            }
        }
    }
    Geometry::new(size, spacing, origin, d).map_err(|e| e.context("MetaImage"))
}

/// Read a `.mha` or `.mhd` file.
pub fn read(path: &Path, opts: &ReadOptions) -> Result<DynImage> {
    let bytes = super::read_file(path, &opts.limits)?;
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    read_impl(&bytes, Some(&dir), opts)
}

/// Read a MetaImage held in memory (`ElementDataFile = LOCAL` only).
pub fn read_bytes(bytes: &[u8], opts: &ReadOptions) -> Result<DynImage> {
    read_impl(bytes, None, opts)
}

fn data_path(dir: &Path, name: &str) -> Result<PathBuf> {
    let first = name.split_whitespace().next().unwrap_or("");
    if first.eq_ignore_ascii_case("list")
        || name.contains('%')
        || name.split_whitespace().count() > 1
    {
        return Err(Error::unsupported(format!(
            "MetaImage: multi-file data (ElementDataFile = {name}) is not supported"
        )));
    }
    // `join` keeps an absolute name as it is.
    Ok(dir.join(name))
}

fn read_impl(bytes: &[u8], dir: Option<&Path>, opts: &ReadOptions) -> Result<DynImage> {
    let (h, data_off) = parse_header(bytes)?;
    let nd = h.ndims.ok_or_else(|| fmt_err("missing NDims"))?;
    if !(1..=4).contains(&nd) {
        return Err(Error::unsupported(format!(
            "MetaImage: NDims {nd} (1 to 4 supported)"
        )));
    }
    if h.dim_size.len() != nd {
        return Err(fmt_err(format!(
            "DimSize has {} values for NDims {nd}",
            h.dim_size.len()
        )));
    }
    if h.dim_size.contains(&0) {
        return Err(fmt_err(format!("DimSize {:?} has a zero", h.dim_size)));
    }
    let ptype = h.ptype.ok_or_else(|| fmt_err("missing ElementType"))?;
    let mut size = [1usize; 3];
    for (d, s) in size.iter_mut().zip(&h.dim_size) {
        *d = *s;
    }
    let frames = h.dim_size.get(3).copied().unwrap_or(1);
    let es = ptype.size();
    let nbytes = h
        .dim_size
        .iter()
        .try_fold(h.channels, |a, &b| a.checked_mul(b))
        .and_then(|n| n.checked_mul(es))
        .filter(|&n| n as u64 <= opts.limits.max_bytes)
        .ok_or_else(|| {
            Error::too_large(format!(
                "MetaImage data of DimSize {:?} × {} channels is over the limit of {} bytes",
                h.dim_size, h.channels, opts.limits.max_bytes
            ))
        })?;
    let g = geometry(&h, nd, size)?;

    let df = h.data_file.as_deref().unwrap_or("LOCAL");
    let file_data;
    let (region, local) = if df.eq_ignore_ascii_case("local") {
        (bytes.get(data_off..).unwrap_or(&[]), true)
    } else {
        let p = data_path(dir.unwrap_or(Path::new("")), df)?;
        if dir.is_none() {
            return Err(Error::unsupported(
                "MetaImage: a separate ElementDataFile cannot be read from memory",
            ));
        }
        file_data = super::read_file(&p, &opts.limits)?;
        (&file_data[..], false)
    };
    let payload_len = if h.compressed {
        h.compressed_size
    } else {
        Some(nbytes)
    };
    let start = match h.header_size {
        -1 => match payload_len {
            Some(n) => region
                .len()
                .checked_sub(n)
                .ok_or_else(|| fmt_err(format!("data holds {} bytes, {n} needed", region.len())))?,
            None => return Err(fmt_err("HeaderSize = -1 needs CompressedDataSize")),
        },
        s if !local => usize::try_from(s).unwrap_or(usize::MAX),
        _ => 0,
    };
    let region = region.get(start..).ok_or_else(|| {
        fmt_err(format!(
            "HeaderSize {start} is past the end of the data ({} bytes)",
            region.len()
        ))
    })?;
    let comp = if h.compressed {
        Some(match h.compressed_size {
            Some(n) => region.get(..n).ok_or_else(|| {
                fmt_err(format!(
                    "compressed data truncated: {} bytes, CompressedDataSize = {n}",
                    region.len()
                ))
            })?,
            None => region,
        })
    } else {
        None
    };
    // Inflate or copy straight into the image buffer.
    DynImage::from_fill(ptype, g, h.channels, frames, h.msb, |buf| match comp {
        Some(z) => {
            super::compress::zlib_decompress_into(z, buf).map_err(|e| e.context("MetaImage"))
        }
        None => {
            let d = region.get(..buf.len()).ok_or_else(|| {
                fmt_err(format!(
                    "data truncated: {} bytes, {nbytes} needed",
                    region.len()
                ))
            })?;
            buf.copy_from_slice(d);
            Ok(())
        }
    })
}

fn fmt_list(v: impl IntoIterator<Item = f64>) -> String {
    v.into_iter()
        .map(|x| {
            if x == 0.0 {
                "0".to_string() // also turns -0 into 0, as ITK writes it
            } else {
                format!("{x}")
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// ITK's three-letter code: for each axis the side it comes *from* (identity → `RAI`).
fn anatomical(g: &Geometry) -> String {
    (0..3)
        .map(|c| {
            let a = g.axis(c);
            let r = (0..3)
                .max_by(|&x, &y| a[x].abs().total_cmp(&a[y].abs()))
                .unwrap_or(0);
            let pos = a.get(r).copied().unwrap_or(0.0) >= 0.0;
            match (r, pos) {
                (0, true) => 'R',
                (0, false) => 'L',
                (1, true) => 'A',
                (1, false) => 'P',
                (_, true) => 'I',
                (_, false) => 'S',
            }
        })
        .collect()
}

fn header_text(img: &DynImage, compressed_size: Option<usize>, data_file: &str) -> String {
    let g = img.geometry();
    let frames = img.frames();
    let nd = if frames > 1 { 4 } else { 3 };
    let mut s = String::from("ObjectType = Image\n");
    s += &format!("NDims = {nd}\n");
    s += "BinaryData = True\nBinaryDataByteOrderMSB = False\n";
    match compressed_size {
        Some(n) => s += &format!("CompressedData = True\nCompressedDataSize = {n}\n"),
        None => s += "CompressedData = False\n",
    }
    let mut m = Vec::new();
    for c in 0..nd {
        for r in 0..nd {
            m.push(if c < 3 && r < 3 {
                g.direction[r * 3 + c]
            } else if c == r {
                1.0
            } else {
                0.0
            });
        }
    }
    let ext = |v: [f64; 3], e: f64| {
        let mut x = v.to_vec();
        if nd == 4 {
            x.push(e);
        }
        x
    };
    s += &format!("TransformMatrix = {}\n", fmt_list(m));
    s += &format!("Offset = {}\n", fmt_list(ext(g.origin, 0.0)));
    s += &format!("CenterOfRotation = {}\n", fmt_list(ext([0.0; 3], 0.0)));
    s += &format!("AnatomicalOrientation = {}\n", anatomical(g));
    s += &format!("ElementSpacing = {}\n", fmt_list(ext(g.spacing, 1.0)));
    let mut dims: Vec<String> = g.size.iter().map(|v| v.to_string()).collect();
    if nd == 4 {
        dims.push(frames.to_string());
    }
    s += &format!("DimSize = {}\n", dims.join(" "));
    if img.components() > 1 {
        s += &format!("ElementNumberOfChannels = {}\n", img.components());
    }
    s += &format!("ElementType = {}\n", type_name(img.pixel_type()));
    s += &format!("ElementDataFile = {data_file}\n");
    s
}

/// Serialise as a single `.mha` (zlib-compressed data when `compress`).
pub fn to_bytes(img: &DynImage, compress: bool, level: Option<u32>) -> Result<Vec<u8>> {
    let raw = img.to_le_bytes();
    let (data, csize) = if compress {
        let z = super::compress::zlib_compress(&raw, level.unwrap_or(2));
        let n = z.len();
        (z, Some(n))
    } else {
        (raw, None)
    };
    let mut out = header_text(img, csize, "LOCAL").into_bytes();
    out.extend_from_slice(&data);
    Ok(out)
}

/// Write `.mha` (compressed) or `.mhd` + `.raw`, chosen by the extension.
pub fn write(path: &Path, img: &DynImage, opts: &WriteOptions) -> Result<()> {
    let mhd = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("mhd"));
    write_with(
        path,
        img,
        &MetaWriteOptions {
            compress: !mhd,
            level: opts.compression_level,
        },
    )
}

/// Write with explicit options: `.mhd` gets a `.raw` (or `.zraw` when compressed) data file
/// beside it; any other name a single file.
pub fn write_with(path: &Path, img: &DynImage, o: &MetaWriteOptions) -> Result<()> {
    let mhd = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("mhd"));
    if !mhd {
        return super::atomic_write(path, &to_bytes(img, o.compress, o.level)?);
    }
    let raw = img.to_le_bytes();
    let (data, csize) = if o.compress {
        let z = super::compress::zlib_compress(&raw, o.level.unwrap_or(2));
        let n = z.len();
        (z, Some(n))
    } else {
        (raw, None)
    };
    let data_path = path.with_extension(if o.compress { "zraw" } else { "raw" });
    let name = data_path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| Error::invalid_argument(format!("{}: bad file name", path.display())))?
        .to_string();
    let header = header_text(img, csize, &name);
    super::atomic_write_many(&[path, &data_path], |t| {
        std::fs::write(&t[0], header.as_bytes()).map_err(|e| Error::io(path, e))?;
        std::fs::write(&t[1], &data).map_err(|e| Error::io(&data_path, e))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn itk_header_2d_big_endian() {
        let mut f = b"ObjectType = Image\nNDims = 2\nBinaryData = True\nBinaryDataByteOrderMSB = True\n\
TransformMatrix = 0 1 -1 0\nOffset = 5 6\nElementSize = 2 3\nDimSize = 2 1\nElementType = MET_USHORT\n\
ElementDataFile = LOCAL\n"
            .to_vec();
        f.extend_from_slice(&[0x01, 0x02, 0x03, 0x04]);
        let img = read_bytes(&f, &ReadOptions::default()).unwrap();
        let g = img.geometry();
        assert_eq!(g.size, [2, 1, 1]);
        assert_eq!(g.spacing, [2.0, 3.0, 1.0]);
        assert_eq!(g.origin, [5.0, 6.0, 0.0]);
        // axis i = (0, 1), axis j = (-1, 0)
        assert_eq!(g.axis(0), [0.0, 1.0, 0.0]);
        assert_eq!(g.axis(1), [-1.0, 0.0, 0.0]);
        assert_eq!(img.as_type::<u16>().unwrap().data(), &[0x0102, 0x0304]);
    }

    #[test]
    fn list_data_is_unsupported() {
        let f = b"NDims = 3\nDimSize = 1 1 2\nElementType = MET_UCHAR\nElementDataFile = LIST\na.raw\nb.raw\n";
        let e = read_impl(f, Some(Path::new("/nonexistent")), &ReadOptions::default()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unsupported);
    }

    #[test]
    fn anatomical_codes() {
        let g = Geometry::with_size([1, 1, 1]).unwrap();
        assert_eq!(anatomical(&g), "RAI");
    }
}
