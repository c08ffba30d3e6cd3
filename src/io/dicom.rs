//! DICOM: files, folders and lists of files → volumes (the only file that imports dicom-rs).
//!
//! # What is read
//! * A **folder** is scanned **recursively** (hidden entries and `DICOMDIR` skipped); every file
//!   with the `DICM` preamble is a candidate, other files are ignored. Recursive because exports
//!   (PACS, CD `DICOM/` trees, dcm2niix inputs) nest series in sub-folders; the series grouping
//!   below keeps unrelated series apart.
//! * A **single file** (any name) or an explicit **list of files** ([`read_files`]).
//!
//! # How a volume is assembled
//! 1. A header-only pass (parsing stops before PixelData, files in parallel) collects
//!    SeriesInstanceUID, Rows/Columns, ImageOrientationPatient (IOP), ImagePositionPatient (IPP),
//!    PixelSpacing, rescale and the pixel format. Multi-frame files contribute one entry per frame:
//!    enhanced objects through their per-frame / shared functional groups (Plane Position,
//!    Plane Orientation, Pixel Measures, Pixel Value Transformation), legacy RT Dose through
//!    GridFrameOffsetVector (frame f at IPP + (offset[f] − offset[0]) · normal, as GDCM).
//! 2. Entries are grouped by SeriesInstanceUID, then by IOP (1e-4), Rows/Columns. A series that
//!    splits into several groups gives several volumes, named `UID`, `UID#2`, … (largest first).
//! 3. Within a group, when every slice has IPP and IOP, slices are sorted along the slice normal
//!    `n = row × col` by `IPP · n`. The slice spacing comes from the positions — never from
//!    SliceThickness: the mean gap `(last − first) / (N − 1)`. Gaps must be uniform within
//!    max(1e-3 mm, 1 % of the mean gap); otherwise (missing slices, mixed acquisitions) the read
//!    fails with an `InvalidGeometry` error listing the gaps, and two slices at the same position
//!    fail likewise (a volume with a hole or a duplicated slice would be silently wrong). Gantry
//!    tilt is not corrected: the third axis is the normal, as in ITK/SimpleITK.
//! 4. A single slice, or slices without position/orientation (secondary captures, NM/US
//!    multi-frame), is stacked in InstanceNumber / file / frame order with the third axis
//!    `row × col` and spacing SpacingBetweenSlices when present, else 1.0 — what SimpleITK (GDCM)
//!    does (SliceThickness is ignored, checked against SimpleITK 2.5.7). Without IPP/IOP the origin
//!    is 0 and the direction the identity.
//!
//! Geometry: i runs along a row (IOP[0..3]), j down the columns (IOP[3..6]), k along the normal;
//! spacing = (PixelSpacing[1], PixelSpacing[0], slice spacing); ImagerPixelSpacing is used when
//! PixelSpacing is absent, 1.0 when both are. All in LPS, as DICOM is.
//!
//! # Values and pixel type
//! * Stored values are taken with BitsStored/HighBit (masked, sign-extended when
//!   PixelRepresentation is 1). 1-bit (SEG) pixels become 0/255 bytes (as GDCM).
//! * MONOCHROME1 is inverted **before** rescaling, as SimpleITK/GDCM do: unsigned
//!   `v → (2^BitsStored − 1) − v`, signed `v → −v − 1`.
//! * Rescale slope/intercept (per slice or per frame) are always applied — the values then mean
//!   HU, SUV, … Pixel type policy:
//!   * slope 1 and intercept 0 everywhere: the stored type (u8, i8, u16, i16, u32, i32);
//!   * integer slopes and intercepts: **int16** when the rescaled range of the actual values fits,
//!     else int32 (else float64). GDCM widens signed 16-bit + intercept to int32 regardless of the
//!     values; dcm2niix keeps int16. The values are identical;
//!   * any fractional slope or intercept: float32 (GDCM gives float64);
//!   * [`ReadOptions::apply_scaling`] changes nothing: the rescale is always applied.
//! * RGB (SamplesPerPixel 3, including JPEG YBR decoded to RGB by the codec) gives a 3-component
//!   image in the stored type; PALETTE COLOR and uncompressed YBR are refused (`Unsupported`).
//!
//! # Transfer syntaxes
//! Whatever this build of dicom-rs decodes: implicit/explicit VR little endian, explicit big
//! endian, deflated, RLE, JPEG baseline (8-bit), JPEG 2000 (pure-Rust openjp2), JPEG-LS with the
//! `jpeg-ls` cargo feature. 12-bit JPEG Extended (1.2.840.10008.1.2.4.51) is refused up front with
//! an `Unsupported` error naming the syntax; other codec gaps are reported the same way.
//! A file whose pixel data is shorter than Rows × Columns × frames says so (`Format`).
//! Objects without pixel data (SR, RT Plan, …) give a `Format` error "no pixel data".
//!
//! # How the pixels are read
//! Uncompressed little-endian grey frames stored as the file's last element are read with
//! `pread` straight from the files, in parallel, and converted slice by slice while in cache
//! (`direct_plan`); everything else is decoded by dicom-rs. [`convert`] to an uncompressed
//! `.nii` writes those slices straight into the output file, without holding the volume. Both
//! give exactly the image (and file) of the general path:
//!
//! ```text
//! int16 stored [-1000, 0, 3000], intercept -1024 → int16 [-2024, -1024, 1976]
//! int16 stored [-32000, 0, 5], intercept -1024   → the slice does not fit int16: int32
//! ```

use crate::error::{Error, ErrorKind, Result};
use crate::image::{DynImage, Geometry, IDENTITY, Image, Pixel, PixelType};
use crate::io::{Limits, ReadOptions};
use dicom_dictionary_std::tags;
use dicom_object::mem::InMemElement;
use dicom_object::{InMemDicomObject, OpenFileOptions, Tag};
use dicom_pixeldata::PixelDecoder;
use rayon::prelude::*;
use std::path::{Path, PathBuf};

/// One volume found in a DICOM input, as `medseg dicom list` prints it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SeriesInfo {
    /// Name to pass as `ReadOptions::series`: the SeriesInstanceUID, or `UID#n` when the series
    /// holds several orientations or image sizes.
    pub id: String,
    pub series_uid: String,
    pub modality: String,
    pub description: String,
    /// Number of files contributing to this volume.
    pub files: usize,
    /// Voxels along i, j, k (k = number of slices / frames).
    pub size: [usize; 3],
    /// Spacing along i, j, k (mm); `None` when the geometry could not be assembled.
    pub spacing: Option<[f64; 3]>,
    /// Why the volume cannot be read, if it cannot.
    pub problem: Option<String>,
}

/// Read a DICOM folder (recursively) or a single file into one volume.
///
/// With several volumes in the input, `opts.series` picks one (see [`SeriesInfo::id`]); without
/// it the read fails with an `InvalidArgument` error listing them.
pub fn read(path: &Path, opts: &ReadOptions) -> Result<DynImage> {
    let files = collect_files(path)?;
    let single = !path.is_dir();
    read_list(&files, single, opts)
}

/// Read an explicit list of files (one series, or several with `opts.series`).
pub fn read_files(files: &[PathBuf], opts: &ReadOptions) -> Result<DynImage> {
    read_list(files, files.len() == 1, opts)
}

/// List the volumes in a folder, file or list of files (header-only: pixel data is not read).
pub fn list(path: &Path) -> Result<Vec<SeriesInfo>> {
    let files = collect_files(path)?;
    let (headers, slices) = scan(&files, !path.is_dir())?;
    let groups = group(&headers, slices);
    Ok(groups.iter().map(|g| g.info()).collect())
}

/// List the volumes of an explicit list of files.
pub fn list_files(files: &[PathBuf]) -> Result<Vec<SeriesInfo>> {
    let (headers, slices) = scan(files, files.len() == 1)?;
    let groups = group(&headers, slices);
    Ok(groups.iter().map(|g| g.info()).collect())
}

fn read_list(files: &[PathBuf], single: bool, opts: &ReadOptions) -> Result<DynImage> {
    let (headers, plan) = select(files, single, opts)?;
    load(&headers, &plan, opts)
}

/// The headers of `files` and the plan of the volume `opts.series` picks (header pass only).
fn select(files: &[PathBuf], single: bool, opts: &ReadOptions) -> Result<(Vec<Header>, Plan)> {
    let (headers, slices) = scan(files, single)?;
    let groups = group(&headers, slices);
    let plan = choose(&groups, opts.series.as_deref())?.plan()?;
    Ok((headers, plan))
}

// ---------------------------------------------------------------------------------------------
// Discovery

fn collect_files(path: &Path) -> Result<Vec<PathBuf>> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if !meta.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut out = Vec::new();
    let mut stack = vec![path.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let rd = std::fs::read_dir(&dir).map_err(|e| Error::io(&dir, e))?;
        for entry in rd {
            let entry = entry.map_err(|e| Error::io(&dir, e))?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('.') || name.eq_ignore_ascii_case("DICOMDIR") {
                continue;
            }
            let p = entry.path();
            // Follows symbolic links (metadata, not symlink_metadata); loops are bounded by depth.
            match std::fs::metadata(&p) {
                Ok(m) if m.is_dir() && p.components().count() < 64 => stack.push(p),
                Ok(m) if m.is_file() && has_dicm_preamble(&p) => out.push(p),
                _ => {}
            }
        }
    }
    out.sort();
    if out.is_empty() {
        return Err(Error::format(format!(
            "{}: no DICOM files (with the DICM preamble) in this folder",
            path.display()
        )));
    }
    Ok(out)
}

fn has_dicm_preamble(p: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 132];
    match std::fs::File::open(p) {
        Ok(mut f) => f.read_exact(&mut head).is_ok() && &head[128..132] == b"DICM",
        Err(_) => false,
    }
}

// ---------------------------------------------------------------------------------------------
// Header pass

/// Pixel format of one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PixFmt {
    /// Bytes per stored sample after decoding (1-bit data arrive as bytes).
    bytes: usize,
    bits_stored: u32,
    high_bit: u32,
    signed: bool,
    samples: usize,
    mono1: bool,
}

impl PixFmt {
    /// The stored pixel type.
    fn stored_type(&self) -> PixelType {
        match (self.bytes, self.signed) {
            (1, false) => PixelType::U8,
            (1, true) => PixelType::I8,
            (2, false) => PixelType::U16,
            (2, true) => PixelType::I16,
            (4, false) => PixelType::U32,
            _ => PixelType::I32,
        }
    }
}

#[derive(Debug, Clone)]
struct Header {
    path: PathBuf,
    series_uid: String,
    modality: String,
    description: String,
    transfer_syntax: String,
    rows: usize,
    cols: usize,
    frames: usize,
    fmt: PixFmt,
    bits_allocated: i64,
    photometric: String,
    instance: i64,
}

/// One 2-D image: a frame of a file, with its own placement and rescale.
#[derive(Debug, Clone)]
struct Slice {
    file: usize,
    frame: usize,
    ipp: Option<[f64; 3]>,
    iop: Option<[f64; 6]>,
    /// (row spacing, column spacing) = PixelSpacing.
    pixel_spacing: Option<[f64; 2]>,
    spacing_between: Option<f64>,
    slope: f64,
    intercept: f64,
    /// InstanceNumber of the file (stacking order when positions are missing).
    instance: i64,
}

type Obj = InMemDicomObject;

fn elem(obj: &Obj, tag: Tag) -> Option<&InMemElement> {
    obj.element_opt(tag).ok().flatten()
}

fn get_str(obj: &Obj, tag: Tag) -> Option<String> {
    elem(obj, tag).and_then(|e| e.to_str().ok()).map(|s| {
        s.trim_matches(|c: char| c == '\0' || c.is_whitespace())
            .to_string()
    })
}

fn get_f64s(obj: &Obj, tag: Tag) -> Option<Vec<f64>> {
    elem(obj, tag)
        .and_then(|e| e.to_multi_float64().ok())
        .filter(|v| !v.is_empty() && v.iter().all(|x| x.is_finite()))
}

fn get_f64(obj: &Obj, tag: Tag) -> Option<f64> {
    get_f64s(obj, tag).and_then(|v| v.first().copied())
}

fn get_int(obj: &Obj, tag: Tag) -> Option<i64> {
    elem(obj, tag).and_then(|e| e.to_int::<i64>().ok())
}

/// First item of a sequence element.
fn item(obj: &Obj, tag: Tag) -> Option<&Obj> {
    elem(obj, tag)
        .and_then(|e| e.items())
        .and_then(|i| i.first())
}

fn arr3(v: &[f64]) -> Option<[f64; 3]> {
    (v.len() >= 3).then(|| [v[0], v[1], v[2]])
}

fn arr6(v: &[f64]) -> Option<[f64; 6]> {
    (v.len() >= 6).then(|| [v[0], v[1], v[2], v[3], v[4], v[5]])
}

fn arr2(v: &[f64]) -> Option<[f64; 2]> {
    (v.len() >= 2 && v[0] > 0.0 && v[1] > 0.0).then(|| [v[0], v[1]])
}

fn dicom_err(path: &Path, what: &str, e: impl std::error::Error + Send + Sync + 'static) -> Error {
    Error::format(format!("{}: {what}", path.display())).with_source(e)
}

fn open_header(path: &Path) -> Result<dicom_object::DefaultDicomObject> {
    std::panic::catch_unwind(|| open_header_inner(path)).unwrap_or_else(|_| {
        Err(Error::format(format!(
            "{}: corrupt DICOM header (the parser failed)",
            path.display()
        )))
    })
}

fn open_header_inner(path: &Path) -> Result<dicom_object::DefaultDicomObject> {
    std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    super::dicom_guard::check_lengths(path)?;
    OpenFileOptions::new()
        .read_until(tags::PIXEL_DATA)
        .open_file(path)
        .map_err(|e| dicom_err(path, "not a readable DICOM file", e))
}

/// Parse one file's header into a [`Header`] and its slices. `Ok(None)`: not an image.
fn parse_header(path: &Path, file: usize) -> Result<Option<(Header, Vec<Slice>)>> {
    let obj = open_header(path)?;
    let transfer_syntax = obj
        .meta()
        .transfer_syntax()
        .trim_end_matches('\0')
        .to_string();
    let o: &Obj = &obj;
    let (Some(rows), Some(cols)) = (get_int(o, tags::ROWS), get_int(o, tags::COLUMNS)) else {
        return Ok(None);
    };
    let bad = |what: &str, v: i64| {
        Error::format(format!(
            "{}: {what} = {v} is not a valid value",
            path.display()
        ))
    };
    if !(1..=65535).contains(&rows) {
        return Err(bad("Rows", rows));
    }
    if !(1..=65535).contains(&cols) {
        return Err(bad("Columns", cols));
    }
    let bits_allocated = get_int(o, tags::BITS_ALLOCATED).unwrap_or(16);
    let bits_stored = get_int(o, tags::BITS_STORED).unwrap_or(bits_allocated);
    let high_bit = get_int(o, tags::HIGH_BIT).unwrap_or(bits_stored - 1);
    let signed = get_int(o, tags::PIXEL_REPRESENTATION).unwrap_or(0) == 1;
    let samples = get_int(o, tags::SAMPLES_PER_PIXEL).unwrap_or(1);
    let bytes = match bits_allocated {
        1 | 8 => 1,
        16 => 2,
        32 => 4,
        b => {
            return Err(Error::unsupported(format!(
                "{}: BitsAllocated = {b} is not supported (1, 8, 16 or 32)",
                path.display()
            )));
        }
    };
    let bits_stored = if bits_allocated == 1 { 8 } else { bits_stored };
    let high_bit = if bits_allocated == 1 { 7 } else { high_bit };
    if bits_stored < 1
        || bits_stored > bytes as i64 * 8
        || high_bit < bits_stored - 1
        || high_bit >= bytes as i64 * 8
    {
        return Err(Error::format(format!(
            "{}: BitsStored {bits_stored} / HighBit {high_bit} do not fit BitsAllocated {bits_allocated}",
            path.display()
        )));
    }
    if samples != 1 && samples != 3 {
        return Err(Error::unsupported(format!(
            "{}: SamplesPerPixel = {samples} is not supported (1 or 3)",
            path.display()
        )));
    }
    let photometric = get_str(o, tags::PHOTOMETRIC_INTERPRETATION)
        .unwrap_or_else(|| "MONOCHROME2".into())
        .to_ascii_uppercase();
    let frames = match elem(o, tags::NUMBER_OF_FRAMES) {
        None => 1,
        Some(e) => match e.to_int::<i64>() {
            Ok(n) if n >= 1 => n,
            Ok(n) => return Err(bad("NumberOfFrames", n)),
            // GDCM tolerates a garbled NumberOfFrames ("1A"); so do we, as 1 frame.
            Err(_) => 1,
        },
    } as usize;
    let header = Header {
        path: path.to_path_buf(),
        series_uid: get_str(o, tags::SERIES_INSTANCE_UID).unwrap_or_default(),
        modality: get_str(o, tags::MODALITY).unwrap_or_default(),
        description: get_str(o, tags::SERIES_DESCRIPTION).unwrap_or_default(),
        transfer_syntax,
        rows: rows as usize,
        cols: cols as usize,
        frames,
        fmt: PixFmt {
            bytes,
            bits_stored: bits_stored as u32,
            high_bit: high_bit as u32,
            signed,
            samples: samples as usize,
            mono1: photometric == "MONOCHROME1",
        },
        bits_allocated,
        photometric,
        instance: get_int(o, tags::INSTANCE_NUMBER).unwrap_or(0),
    };

    // Top-level attributes (classic objects), used as defaults for every frame.
    let top_ipp = get_f64s(o, tags::IMAGE_POSITION_PATIENT).and_then(|v| arr3(&v));
    let top_iop = get_f64s(o, tags::IMAGE_ORIENTATION_PATIENT).and_then(|v| arr6(&v));
    let top_ps = get_f64s(o, tags::PIXEL_SPACING)
        .or_else(|| get_f64s(o, tags::IMAGER_PIXEL_SPACING))
        .and_then(|v| arr2(&v));
    let top_sbs = get_f64(o, tags::SPACING_BETWEEN_SLICES);
    let top_slope = get_f64(o, tags::RESCALE_SLOPE).unwrap_or(1.0);
    let top_inter = get_f64(o, tags::RESCALE_INTERCEPT).unwrap_or(0.0);
    let base = Slice {
        file,
        frame: 0,
        ipp: top_ipp,
        iop: top_iop,
        pixel_spacing: top_ps,
        spacing_between: top_sbs,
        slope: if top_slope == 0.0 { 1.0 } else { top_slope },
        intercept: top_inter,
        instance: header.instance,
    };

    let shared = item(o, tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE);
    let per_frame: Option<&[Obj]> =
        elem(o, tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE).and_then(|e| e.items());
    let mut slices = Vec::with_capacity(frames);
    if shared.is_some() || per_frame.is_some() {
        // Enhanced multi-frame: functional groups, per-frame over shared over top level.
        for f in 0..frames {
            let mut s = base.clone();
            s.frame = f;
            let groups = [shared, per_frame.and_then(|p| p.get(f))];
            for g in groups.into_iter().flatten() {
                apply_functional_group(g, &mut s);
            }
            slices.push(s);
        }
    } else if frames > 1 {
        let offsets = get_f64s(o, tags::GRID_FRAME_OFFSET_VECTOR);
        match (offsets, top_ipp, top_iop) {
            (Some(off), Some(ipp), Some(iop)) if off.len() >= frames => {
                // Legacy multi-frame with GridFrameOffsetVector (RT Dose): frame f lies at
                // IPP + (offset[f] - offset[0]) · normal (the first offset is 0 for relative
                // vectors; absolute ones hold z of each frame, with IPP at frame 0).
                let n = normal(&iop);
                for (f, d) in off.iter().take(frames).enumerate() {
                    let d = d - off[0];
                    let mut s = base.clone();
                    s.frame = f;
                    s.ipp = Some([ipp[0] + d * n[0], ipp[1] + d * n[1], ipp[2] + d * n[2]]);
                    slices.push(s);
                }
            }
            _ => {
                // Frames without their own position (NM, US, secondary capture): a stack.
                for f in 0..frames {
                    let mut s = base.clone();
                    s.frame = f;
                    if f > 0 {
                        s.ipp = None;
                    }
                    slices.push(s);
                }
            }
        }
    } else {
        slices.push(base);
    }
    Ok(Some((header, slices)))
}

fn apply_functional_group(g: &Obj, s: &mut Slice) {
    if let Some(v) = item(g, tags::PLANE_POSITION_SEQUENCE)
        .and_then(|i| get_f64s(i, tags::IMAGE_POSITION_PATIENT))
        .and_then(|v| arr3(&v))
    {
        s.ipp = Some(v);
    }
    if let Some(v) = item(g, tags::PLANE_ORIENTATION_SEQUENCE)
        .and_then(|i| get_f64s(i, tags::IMAGE_ORIENTATION_PATIENT))
        .and_then(|v| arr6(&v))
    {
        s.iop = Some(v);
    }
    if let Some(pm) = item(g, tags::PIXEL_MEASURES_SEQUENCE) {
        if let Some(v) = get_f64s(pm, tags::PIXEL_SPACING).and_then(|v| arr2(&v)) {
            s.pixel_spacing = Some(v);
        }
        if let Some(v) = get_f64(pm, tags::SPACING_BETWEEN_SLICES) {
            s.spacing_between = Some(v);
        }
    }
    if let Some(t) = item(g, tags::PIXEL_VALUE_TRANSFORMATION_SEQUENCE) {
        if let Some(v) = get_f64(t, tags::RESCALE_SLOPE).filter(|v| *v != 0.0) {
            s.slope = v;
        }
        if let Some(v) = get_f64(t, tags::RESCALE_INTERCEPT) {
            s.intercept = v;
        }
    }
}

/// Headers of all files (in parallel) and all their slices. Non-image objects are skipped,
/// except for a single-file input where they are an error.
#[allow(clippy::type_complexity)]
fn scan(files: &[PathBuf], single: bool) -> Result<(Vec<Header>, Vec<Slice>)> {
    if files.is_empty() {
        return Err(Error::invalid_argument("no DICOM files given"));
    }
    let parsed: Vec<Result<Option<(Header, Vec<Slice>)>>> = files
        .par_iter()
        .enumerate()
        .map(|(i, p)| parse_header(p, i))
        .collect();
    let mut headers = Vec::new();
    let mut slices = Vec::new();
    let mut non_image = 0usize;
    for (i, r) in parsed.into_iter().enumerate() {
        match r? {
            Some((h, s)) => {
                let idx = headers.len();
                headers.push(h);
                slices.extend(s.into_iter().map(|mut s| {
                    s.file = idx;
                    s
                }));
            }
            None => {
                non_image += 1;
                if single {
                    let path = files
                        .get(i)
                        .map(|p| p.display().to_string())
                        .unwrap_or_default();
                    return Err(Error::format(format!(
                        "{path}: no pixel data (this DICOM object has no Rows/Columns: not an image)"
                    )));
                }
            }
        }
    }
    if headers.is_empty() {
        return Err(Error::format(format!(
            "no pixel data: none of the {} DICOM files ({non_image} non-image objects) holds an image",
            files.len()
        )));
    }
    Ok((headers, slices))
}

// ---------------------------------------------------------------------------------------------
// Grouping and geometry

fn normal(iop: &[f64; 6]) -> [f64; 3] {
    let (r, c) = ([iop[0], iop[1], iop[2]], [iop[3], iop[4], iop[5]]);
    let n = [
        r[1] * c[2] - r[2] * c[1],
        r[2] * c[0] - r[0] * c[2],
        r[0] * c[1] - r[1] * c[0],
    ];
    let len = (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]).sqrt();
    if len > 0.0 && len.is_finite() {
        [n[0] / len, n[1] / len, n[2] / len]
    } else {
        [0.0, 0.0, 1.0]
    }
}

fn dot(a: [f64; 3], b: [f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

#[derive(Debug)]
struct Group {
    id: String,
    uid: String,
    rows: usize,
    cols: usize,
    iop: Option<[f64; 6]>,
    slices: Vec<Slice>,
    modality: String,
    description: String,
}

fn same_iop(a: &Option<[f64; 6]>, b: &Option<[f64; 6]>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => a.iter().zip(b).all(|(x, y)| (x - y).abs() <= 1e-4),
        _ => false,
    }
}

fn group(headers: &[Header], slices: Vec<Slice>) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::new();
    for s in slices {
        let Some(h) = headers.get(s.file) else {
            continue;
        };
        let found = groups.iter_mut().find(|g| {
            g.uid == h.series_uid
                && g.rows == h.rows
                && g.cols == h.cols
                && same_iop(&g.iop, &s.iop)
        });
        match found {
            Some(g) => g.slices.push(s),
            None => groups.push(Group {
                id: String::new(),
                uid: h.series_uid.clone(),
                rows: h.rows,
                cols: h.cols,
                iop: s.iop,
                modality: h.modality.clone(),
                description: h.description.clone(),
                slices: vec![s],
            }),
        }
    }
    // Name: largest group of a series keeps the bare UID.
    groups.sort_by(|a, b| a.uid.cmp(&b.uid).then(b.slices.len().cmp(&a.slices.len())));
    let mut prev = String::new();
    let mut n = 0;
    for g in groups.iter_mut() {
        if g.uid == prev {
            n += 1;
            g.id = format!("{}#{}", g.uid, n);
        } else {
            n = 1;
            prev = g.uid.clone();
            g.id = g.uid.clone();
        }
    }
    groups
}

fn choose<'a>(groups: &'a [Group], series: Option<&str>) -> Result<&'a Group> {
    let describe = || {
        groups
            .iter()
            .map(|g| {
                let i = g.info();
                format!(
                    "{} ({} {:?}, {}×{}×{})",
                    i.id, i.modality, i.description, i.size[0], i.size[1], i.size[2]
                )
            })
            .collect::<Vec<_>>()
            .join("; ")
    };
    match series {
        Some(want) => {
            let hits: Vec<&Group> = groups.iter().filter(|g| g.id == want).collect();
            if let [g] = hits.as_slice() {
                return Ok(g);
            }
            Err(Error::invalid_argument(format!(
                "series '{want}' not found; available: {}",
                describe()
            )))
        }
        None => match groups {
            [g] => Ok(g),
            [] => Err(Error::format("no image series found")),
            _ => Err(Error::invalid_argument(format!(
                "{} series found; choose one with --series (ReadOptions::series): {}",
                groups.len(),
                describe()
            ))),
        },
    }
}

/// A group sorted into slices, with its grid.
struct Plan {
    slices: Vec<Slice>,
    geometry: Geometry,
}

impl Plan {
    /// Every slice has slope 1 and intercept 0: the stored values are the output values.
    fn identity_rescale(&self) -> bool {
        self.slices
            .iter()
            .all(|s| s.slope == 1.0 && s.intercept == 0.0)
    }

    /// Every slice has an integral slope and intercept.
    fn integral_rescale(&self) -> bool {
        self.slices
            .iter()
            .all(|s| s.slope.fract() == 0.0 && s.intercept.fract() == 0.0)
    }

    /// The header of the file the first slice comes from.
    fn first_header<'h>(&self, headers: &'h [Header]) -> Result<&'h Header> {
        self.slices
            .first()
            .and_then(|s| headers.get(s.file))
            .ok_or_else(|| Error::internal("slice refers to an unknown file"))
    }
}

impl Group {
    fn files(&self) -> usize {
        let mut f: Vec<usize> = self.slices.iter().map(|s| s.file).collect();
        f.sort_unstable();
        f.dedup();
        f.len()
    }

    fn info(&self) -> SeriesInfo {
        let plan = self.plan();
        SeriesInfo {
            id: self.id.clone(),
            series_uid: self.uid.clone(),
            modality: self.modality.clone(),
            description: self.description.clone(),
            files: self.files(),
            size: [self.cols, self.rows, self.slices.len()],
            spacing: plan.as_ref().ok().map(|p| p.geometry.spacing),
            problem: plan.err().map(|e| e.message().to_string()),
        }
    }

    fn plan(&self) -> Result<Plan> {
        let mut slices = self.slices.clone();
        let first = slices
            .first()
            .ok_or_else(|| Error::internal("empty DICOM group"))?;
        let ps = first.pixel_spacing.unwrap_or([1.0, 1.0]);
        let first_sbs = first.spacing_between;
        let positioned =
            slices.len() > 1 && slices.iter().all(|s| s.ipp.is_some() && s.iop.is_some());
        let (i_axis, j_axis) = match self.iop {
            Some(iop) => {
                orthonormal_axes(&iop).map_err(|e| e.context(format!("series {}", self.id)))?
            }
            None => ([1.0, 0.0, 0.0], [0.0, 1.0, 0.0]),
        };
        let n = match self.iop {
            Some(iop) => normal(&iop),
            None => [0.0, 0.0, 1.0],
        };
        let (origin, dz) = if positioned {
            let pos = |s: &Slice| s.ipp.map(|p| dot(p, n)).unwrap_or(0.0);
            slices.sort_by(|a, b| pos(a).total_cmp(&pos(b)));
            let p: Vec<f64> = slices.iter().map(pos).collect();
            let gaps: Vec<f64> = p.windows(2).map(|w| w[1] - w[0]).collect();
            let (lo, hi) = (p[0], p[p.len() - 1]);
            let mean = (hi - lo) / (p.len() - 1) as f64;
            let tol = (0.01 * mean).max(1e-3);
            if let Some(k) = gaps.iter().position(|g| *g <= 1e-4) {
                return Err(Error::invalid_geometry(format!(
                    "series {}: slices {} and {} share the position {:.4} mm along the normal (several acquisitions or time points in one series?)",
                    self.id,
                    k,
                    k + 1,
                    p[k]
                )));
            }
            if gaps.iter().any(|g| (g - mean).abs() > tol) {
                let (gmin, gmax) = gaps
                    .iter()
                    .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), g| {
                        (a.min(*g), b.max(*g))
                    });
                return Err(Error::invalid_geometry(format!(
                    "series {}: slice gaps are not uniform ({gmin:.4} to {gmax:.4} mm, mean {mean:.4} mm over {} slices): missing slices or mixed acquisitions",
                    self.id,
                    p.len()
                )));
            }
            (slices[0].ipp.unwrap_or([0.0; 3]), mean)
        } else {
            slices.sort_by_key(|s| (s.instance, s.file, s.frame));
            let dz = first_sbs
                .map(f64::abs)
                .filter(|v| *v > 0.0 && v.is_finite())
                .unwrap_or(1.0);
            (slices[0].ipp.unwrap_or([0.0; 3]), dz)
        };
        let direction = [
            i_axis[0], j_axis[0], n[0], //
            i_axis[1], j_axis[1], n[1], //
            i_axis[2], j_axis[2], n[2],
        ];
        let direction = if self.iop.is_some() {
            direction
        } else {
            IDENTITY
        };
        let geometry = Geometry::new(
            [self.cols, self.rows, slices.len()],
            [ps[1], ps[0], dz],
            origin,
            direction,
        )
        .map_err(|e| e.context(format!("series {}", self.id)))?;
        Ok(Plan { slices, geometry })
    }
}

/// Unit row and column directions from IOP; a slightly non-orthogonal pair (rounded DS strings)
/// is orthogonalised, a clearly skewed or degenerate one is an error.
fn orthonormal_axes(iop: &[f64; 6]) -> Result<([f64; 3], [f64; 3])> {
    let unit = |v: [f64; 3]| -> Result<[f64; 3]> {
        let l = dot(v, v).sqrt();
        if !(l > 1e-6) || !l.is_finite() {
            return Err(Error::invalid_geometry(format!(
                "ImageOrientationPatient {iop:?} has a zero-length axis"
            )));
        }
        Ok([v[0] / l, v[1] / l, v[2] / l])
    };
    let r = unit([iop[0], iop[1], iop[2]])?;
    let c = unit([iop[3], iop[4], iop[5]])?;
    let d = dot(r, c);
    if d.abs() > 1e-3 {
        return Err(Error::invalid_geometry(format!(
            "ImageOrientationPatient {iop:?}: row and column directions are not perpendicular (cos = {d:.6})"
        )));
    }
    let c = unit([c[0] - d * r[0], c[1] - d * r[1], c[2] - d * r[2]])?;
    Ok((r, c))
}

// ---------------------------------------------------------------------------------------------
// Pixel data

struct Decoded {
    data: Vec<u8>,
    fmt: PixFmt,
    frame_len: usize,
}

fn ts_name(uid: &str) -> &'static str {
    match uid {
        "1.2.840.10008.1.2" => "Implicit VR Little Endian",
        "1.2.840.10008.1.2.1" => "Explicit VR Little Endian",
        "1.2.840.10008.1.2.1.99" => "Deflated Explicit VR Little Endian",
        "1.2.840.10008.1.2.2" => "Explicit VR Big Endian",
        "1.2.840.10008.1.2.5" => "RLE Lossless",
        "1.2.840.10008.1.2.4.50" => "JPEG Baseline (Process 1)",
        "1.2.840.10008.1.2.4.51" => "JPEG Extended (Process 2 & 4)",
        "1.2.840.10008.1.2.4.57" => "JPEG Lossless (Process 14)",
        "1.2.840.10008.1.2.4.70" => "JPEG Lossless SV1 (Process 14, Selection Value 1)",
        "1.2.840.10008.1.2.4.80" => "JPEG-LS Lossless",
        "1.2.840.10008.1.2.4.81" => "JPEG-LS Near-Lossless",
        "1.2.840.10008.1.2.4.90" => "JPEG 2000 Lossless",
        "1.2.840.10008.1.2.4.91" => "JPEG 2000",
        "1.2.840.10008.1.2.4.201" => "HTJ2K Lossless",
        "1.2.840.10008.1.2.4.203" => "HTJ2K",
        _ => "unknown transfer syntax",
    }
}

/// Decode one file's pixel data. dicom-rs codecs can panic on corrupt streams (seen with RLE),
/// so the decoder runs behind `catch_unwind` and a panic becomes a `Format` error.
fn decode_file(h: &Header) -> Result<Decoded> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| decode_file_inner(h))) {
        Ok(r) => r,
        Err(_) => Err(Error::format(format!(
            "{}: corrupt pixel data (the {} decoder failed)",
            h.path.display(),
            ts_name(&h.transfer_syntax)
        ))),
    }
}

/// Uncompressed little-endian grey pixels stored as the file's last element ([`native_offset`])
/// are read in place; anything else (trailing elements, odd lengths, other syntaxes, colour,
/// 1-bit) goes through dicom-rs.
fn native_fast_path(h: &Header) -> Option<Decoded> {
    use std::os::unix::fs::FileExt;
    let file = std::fs::File::open(&h.path).ok()?;
    let start = native_offset(h, &file)?;
    let frame_len = h.rows * h.cols * h.fmt.bytes;
    let mut data: Vec<u8> = crate::image::buffer::zeroed(frame_len.checked_mul(h.frames)?);
    file.read_exact_at(&mut data, start).ok()?;
    Some(Decoded {
        data,
        fmt: h.fmt,
        frame_len,
    })
}

fn decode_file_inner(h: &Header) -> Result<Decoded> {
    if let Some(d) = native_fast_path(h) {
        return Ok(d);
    }
    let path = &h.path;
    let ts = h.transfer_syntax.as_str();
    if ts == "1.2.840.10008.1.2.4.51" && h.fmt.bits_stored > 8 {
        return Err(Error::unsupported(format!(
            "{}: transfer syntax {ts} ({}) with {}-bit samples cannot be decoded by this build (dicom-rs decodes 8-bit JPEG only)",
            path.display(),
            ts_name(ts),
            h.fmt.bits_stored
        )));
    }
    if h.fmt.samples == 1 && h.photometric.starts_with("PALETTE") {
        return Err(Error::unsupported(format!(
            "{}: PhotometricInterpretation {} is not supported",
            path.display(),
            h.photometric
        )));
    }
    let obj = OpenFileOptions::new().open_file(path).map_err(|e| {
        dicom_err(
            path,
            "cannot read the DICOM file (truncated or corrupt?)",
            e,
        )
    })?;
    if ts == "1.2.840.10008.1.2.5" {
        check_rle(&obj, h)?;
    }
    let decoded = obj.decode_pixel_data().map_err(|e| {
        let mut text = e.to_string();
        let mut src = std::error::Error::source(&e);
        while let Some(s) = src {
            text.push_str(": ");
            text.push_str(&s.to_string());
            src = s.source();
        }
        let lower = text.to_ascii_lowercase();
        let kind = if lower.contains("unsupported") || lower.contains("unknown transfer syntax") {
            ErrorKind::Unsupported
        } else {
            ErrorKind::Format
        };
        Error::new(
            kind,
            format!(
                "{}: cannot decode pixel data in transfer syntax {ts} ({}): {text}",
                path.display(),
                ts_name(ts)
            ),
        )
    })?;
    let pi = decoded
        .photometric_interpretation()
        .as_str()
        .to_ascii_uppercase();
    if h.fmt.samples == 3 && pi != "RGB" {
        return Err(Error::unsupported(format!(
            "{}: colour PhotometricInterpretation {pi} (uncompressed) is not supported; only RGB",
            path.display()
        )));
    }
    let planar = h.fmt.samples == 3
        && matches!(
            decoded.planar_configuration(),
            dicom_pixeldata::PlanarConfiguration::PixelFirst
        );
    let frame_len = h.rows * h.cols * h.fmt.samples * h.fmt.bytes;
    let need = frame_len.checked_mul(h.frames).ok_or_else(|| {
        Error::too_large(format!("{}: pixel data size overflows", path.display()))
    })?;
    let mut data = decoded.into_data();
    if data.len() < need {
        return Err(Error::format(format!(
            "{}: pixel data holds {} bytes but {} rows × {} columns × {} samples × {} frames × {} bytes need {need} (truncated?)",
            path.display(),
            data.len(),
            h.rows,
            h.cols,
            h.fmt.samples,
            h.frames,
            h.fmt.bytes
        )));
    }
    data.truncate(need);
    if planar {
        data = interleave(&data, frame_len, h.fmt.bytes);
    }
    Ok(Decoded {
        data,
        fmt: h.fmt,
        frame_len,
    })
}

/// RLE Lossless (DICOM PS3.5 annex G) checked before dicom-rs decodes it, which indexes out of
/// bounds on a segment that decodes to fewer bytes than the frame needs (a panic, caught, but
/// printed by the default hook): one fragment per frame, each with a 64-byte header giving as
/// many segments as samples × bytes per sample (at most 15) at increasing offsets inside the
/// fragment, and every segment must unpack (PackBits) to at least rows × columns bytes.
fn check_rle(obj: &dicom_object::DefaultDicomObject, h: &Header) -> Result<()> {
    let bad = |what: String| Error::format(format!("{}: RLE Lossless {what}", h.path.display()));
    let frags = obj
        .element(tags::PIXEL_DATA)
        .ok()
        .and_then(|e| e.value().fragments())
        .ok_or_else(|| bad("pixel data is not encapsulated".into()))?;
    if frags.len() < h.frames {
        return Err(bad(format!(
            "pixel data has {} fragments for {} frames",
            frags.len(),
            h.frames
        )));
    }
    let segments = h.fmt.samples * h.fmt.bytes;
    let plane = h.rows * h.cols;
    let word = |b: &[u8], at: usize| -> usize {
        b.get(at..at + 4)
            .map_or(0, |w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]) as usize)
    };
    for (f, frag) in frags.iter().take(h.frames).enumerate() {
        if frag.len() < 64 {
            return Err(bad(format!("frame {f}: fragment of {} bytes", frag.len())));
        }
        let n = word(frag, 0);
        if n != segments || n > 15 {
            return Err(bad(format!("frame {f}: {n} segments, {segments} expected")));
        }
        let mut bounds: Vec<usize> = (0..n).map(|i| word(frag, 4 + 4 * i)).collect();
        bounds.push(frag.len());
        for (k, w) in bounds.windows(2).enumerate() {
            let seg = frag
                .get(w[0]..w[1])
                .filter(|s| w[0] >= 64 && !s.is_empty())
                .ok_or_else(|| {
                    bad(format!(
                        "frame {f}: segment {k} at bytes {}..{} of a {}-byte fragment",
                        w[0],
                        w[1],
                        frag.len()
                    ))
                })?;
            let got = packbits_len(seg, plane);
            if got < plane {
                return Err(bad(format!(
                    "frame {f}: segment {k} unpacks to {got} bytes, the frame needs {plane}"
                )));
            }
        }
    }
    Ok(())
}

/// How many bytes PackBits data unpacks to, counting no further than `enough`.
fn packbits_len(seg: &[u8], enough: usize) -> usize {
    let (mut i, mut out) = (0usize, 0usize);
    while i < seg.len() && out < enough {
        let n = seg[i] as i8;
        i += 1;
        if n >= 0 {
            // n + 1 literal bytes (only those present count).
            let take = (n as usize + 1).min(seg.len() - i);
            out += take;
            i += n as usize + 1;
        } else if n != -128 {
            // The next byte, 1 - n times.
            if i < seg.len() {
                out += (1 - n as isize) as usize;
            }
            i += 1;
        }
    }
    out
}

/// Planar (RRR…GGG…BBB) frames → interleaved RGB.
fn interleave(data: &[u8], frame_len: usize, bytes: usize) -> Vec<u8> {
    let mut out = vec![0u8; data.len()];
    let plane = frame_len / 3;
    for (src, dst) in data.chunks(frame_len).zip(out.chunks_mut(frame_len)) {
        let px = plane / bytes;
        for p in 0..px {
            for c in 0..3 {
                let s = c * plane + p * bytes;
                let d = (p * 3 + c) * bytes;
                if let (Some(a), Some(b)) = (src.get(s..s + bytes), dst.get_mut(d..d + bytes)) {
                    b.copy_from_slice(a);
                }
            }
        }
    }
    out
}

/// Call `sink(index, stored value)` for every sample of a frame, after BitsStored masking, sign
/// extension and MONOCHROME1 inversion.
#[inline]
fn for_each_stored(raw: &[u8], f: &PixFmt, mut sink: impl FnMut(usize, i64)) {
    let full = f.bits_stored as usize == f.bytes * 8;
    let shift = f.high_bit + 1 - f.bits_stored;
    let mask: u64 = if f.bits_stored >= 64 {
        u64::MAX
    } else {
        (1u64 << f.bits_stored) - 1
    };
    let sign_bit: u64 = 1u64 << (f.bits_stored - 1);
    let maxval = mask as i64;
    let signed = f.signed;
    let mono1 = f.mono1;
    let fix = move |u: u64| -> i64 {
        let v = if full {
            if signed {
                match f.bytes {
                    1 => u as u8 as i8 as i64,
                    2 => u as u16 as i16 as i64,
                    _ => u as u32 as i32 as i64,
                }
            } else {
                u as i64
            }
        } else {
            let m = (u >> shift) & mask;
            if signed && m & sign_bit != 0 {
                (m as i64) - ((mask as i64) + 1)
            } else {
                m as i64
            }
        };
        if mono1 {
            if signed { -v - 1 } else { maxval - v }
        } else {
            v
        }
    };
    match f.bytes {
        1 => raw
            .iter()
            .enumerate()
            .for_each(|(i, b)| sink(i, fix(*b as u64))),
        2 => raw
            .chunks_exact(2)
            .enumerate()
            .for_each(|(i, b)| sink(i, fix(u16::from_ne_bytes([b[0], b[1]]) as u64))),
        _ => raw
            .chunks_exact(4)
            .enumerate()
            .for_each(|(i, b)| sink(i, fix(u32::from_ne_bytes([b[0], b[1], b[2], b[3]]) as u64))),
    }
}

/// Exact conversion of an integer to an output pixel (saturating for integer outputs).
trait FromI64: Pixel {
    fn from_i64(v: i64) -> Self;
    /// The same from an `i32` (cheaper, vectorisable for the 8- and 16-bit outputs).
    fn from_i32(v: i32) -> Self;
    /// `v + b`, saturating like [`FromI64::from_i32`] (the CT case: int16 stored, slope 1).
    /// The `int16` output overrides it with a saturating 16-bit add, which vectorises ~10×
    /// better than the `i32` clamp.
    #[inline]
    fn from_i16_plus(v: i16, b: i16) -> Self {
        Self::from_i32(v as i32 + b as i32)
    }
}

macro_rules! from_i64_int {
    ($small:literal; $($t:ty),*) => {$(
        impl FromI64 for $t {
            #[inline]
            fn from_i64(v: i64) -> Self {
                v.clamp(<$t>::MIN as i64, <$t>::MAX as i64) as $t
            }
            #[inline]
            fn from_i32(v: i32) -> Self {
                if $small {
                    v.clamp(<$t>::MIN as i32, <$t>::MAX as i32) as $t
                } else {
                    Self::from_i64(v as i64)
                }
            }
        }
    )*};
}
from_i64_int!(true; u8, i8, u16);
impl FromI64 for i16 {
    #[inline]
    fn from_i64(v: i64) -> Self {
        v.clamp(i16::MIN as i64, i16::MAX as i64) as i16
    }
    #[inline]
    fn from_i32(v: i32) -> Self {
        v.clamp(i16::MIN as i32, i16::MAX as i32) as i16
    }
    #[inline]
    fn from_i16_plus(v: i16, b: i16) -> Self {
        v.saturating_add(b)
    }
}
from_i64_int!(false; u32, i32);
macro_rules! from_i64_float {
    ($($t:ty),*) => {$(
        impl FromI64 for $t {
            #[inline]
            fn from_i64(v: i64) -> Self {
                v as $t
            }
            #[inline]
            fn from_i32(v: i32) -> Self {
                v as $t
            }
        }
    )*};
}
from_i64_float!(f32, f64);

/// `(slope, intercept)` as integers small enough that `stored × slope + intercept` of a sample of
/// at most 16 bits cannot overflow an `i32`; `None` otherwise.
fn small_rescale(slope: f64, intercept: f64) -> Option<(i32, i32)> {
    let ok = slope.fract() == 0.0
        && intercept.fract() == 0.0
        && slope.abs() <= (1 << 14) as f64
        && intercept.abs() <= (1 << 30) as f64;
    ok.then_some((slope as i32, intercept as i32))
}

fn convert_frame<O: FromI64>(raw: &[u8], f: &PixFmt, slope: f64, intercept: f64, out: &mut [O]) {
    let full = f.bits_stored as usize == f.bytes * 8;
    // The common cases, without per-sample dispatch: 8/16-bit stored values in `i32` arithmetic.
    if let (Some((s, b)), true, false) = (small_rescale(slope, intercept), full, f.mono1) {
        match (f.bytes, f.signed) {
            (2, true) if s == 1 && i16::try_from(b).is_ok() => {
                let b = b as i16;
                for (o, c) in out.iter_mut().zip(raw.chunks_exact(2)) {
                    *o = O::from_i16_plus(i16::from_ne_bytes([c[0], c[1]]), b);
                }
                return;
            }
            (2, true) => {
                for (o, c) in out.iter_mut().zip(raw.chunks_exact(2)) {
                    *o = O::from_i32(i16::from_ne_bytes([c[0], c[1]]) as i32 * s + b);
                }
                return;
            }
            (2, false) => {
                for (o, c) in out.iter_mut().zip(raw.chunks_exact(2)) {
                    *o = O::from_i32(u16::from_ne_bytes([c[0], c[1]]) as i32 * s + b);
                }
                return;
            }
            (1, false) => {
                for (o, c) in out.iter_mut().zip(raw) {
                    *o = O::from_i32(*c as i32 * s + b);
                }
                return;
            }
            _ => {}
        }
    }
    let integral = slope.fract() == 0.0
        && intercept.fract() == 0.0
        && slope.abs() < 1e9
        && intercept.abs() < 1e15;
    if integral {
        let (s, b) = (slope as i64, intercept as i64);
        for_each_stored(raw, f, |i, v| {
            if let Some(o) = out.get_mut(i) {
                *o = O::from_i64(v * s + b);
            }
        });
    } else {
        for_each_stored(raw, f, |i, v| {
            if let Some(o) = out.get_mut(i) {
                *o = O::from_f64(v as f64 * slope + intercept);
            }
        });
    }
}

fn get_frame<'a>(by_file: &'a [Option<Decoded>], s: &Slice) -> Result<(&'a Decoded, &'a [u8])> {
    let d = by_file
        .get(s.file)
        .and_then(|d| d.as_ref())
        .ok_or_else(|| Error::internal("file not decoded"))?;
    Ok((d, frame_of(d, s.frame)?))
}

fn frame_of(d: &Decoded, frame: usize) -> Result<&[u8]> {
    d.data
        .get(frame * d.frame_len..(frame + 1) * d.frame_len)
        .ok_or_else(|| Error::internal(format!("frame {frame} outside the decoded pixel data")))
}

/// The stored samples of every slice of a plan, in slice order.
enum Frames {
    /// Decoded per file (compressed syntaxes, colour, big endian, …).
    Decoded(Vec<Option<Decoded>>),
    /// Uncompressed little-endian grey frames read straight from their files into one buffer of
    /// the stored type: slice `k` is `raw[k * per .. (k + 1) * per]`.
    Native { raw: DynImage, fmt: PixFmt },
}

impl Frames {
    /// The raw bytes and format of slice `k` of `plan`.
    fn get<'s>(&'s self, plan: &Plan, k: usize) -> Result<(PixFmt, &'s [u8])> {
        match self {
            Frames::Decoded(by_file) => {
                let s = plan
                    .slices
                    .get(k)
                    .ok_or_else(|| Error::internal("slice index out of range"))?;
                let (d, raw) = get_frame(by_file, s)?;
                Ok((d.fmt, raw))
            }
            Frames::Native { raw, fmt, .. } => {
                let bytes: &[u8] = crate::dispatch!(raw, i => bytemuck::cast_slice(i.data()));
                let per = bytes.len() / plan.slices.len().max(1);
                bytes
                    .get(k * per..(k + 1) * per)
                    .map(|b| (*fmt, b))
                    .ok_or_else(|| Error::internal("slice index out of range"))
            }
        }
    }
}

/// Where the pixel data of a native file start, when the file qualifies for the direct read:
/// uncompressed little-endian grey samples stored as the file's last element, preceded by the
/// 12-byte (explicit VR: tag, OB/OW, length) or 8-byte (implicit VR: tag, length) PixelData
/// element header with exactly the expected length. `None`: read through dicom-rs instead.
fn native_offset(h: &Header, file: &std::fs::File) -> Option<u64> {
    use std::os::unix::fs::FileExt;
    native_offset_possible(h)?;
    let explicit = h.transfer_syntax == "1.2.840.10008.1.2.1";
    let need = (h.rows * h.cols * h.fmt.bytes).checked_mul(h.frames)?;
    let len32 = u32::try_from(need).ok()?.to_le_bytes();
    let len = file.metadata().ok()?.len();
    let start = len.checked_sub(need as u64)?;
    let tag = [0xE0u8, 0x7F, 0x10, 0x00];
    let head = if explicit { 12 } else { 8 };
    let mut e = [0u8; 12];
    file.read_exact_at(&mut e[..head], start.checked_sub(head as u64)?)
        .ok()?;
    let ok = if explicit {
        e[0..4] == tag
            && (&e[4..6] == b"OW" || &e[4..6] == b"OB")
            && e[6..8] == [0, 0]
            && e[8..12] == len32
    } else {
        e[0..4] == tag && e[4..8] == len32
    };
    ok.then_some(start)
}

/// Read every slice of `plan` straight into one buffer of the stored type, when all files of the
/// plan qualify ([`native_offset`]) and share one pixel format. `Ok(None)`: some file does not.
fn read_native(headers: &[Header], plan: &Plan) -> Result<Option<(DynImage, PixFmt)>> {
    fn go<T: Pixel>(
        headers: &[Header],
        plan: &Plan,
        fmt: PixFmt,
    ) -> Result<Option<(DynImage, PixFmt)>>
    where
        DynImage: From<Image<T>>,
    {
        let g = plan.geometry;
        let per = g.size[0] * g.size[1];
        let mut data: Vec<T> = crate::image::buffer::zeroed(per * plan.slices.len());
        // `Ok(false)`: this file does not qualify (fall back); `Err`: a real I/O error.
        let all = data
            .par_chunks_mut(per)
            .zip(plan.slices.par_iter())
            .map(|(out, s)| -> Result<bool> {
                read_native_frame(headers, s, fmt, bytemuck::cast_slice_mut(out))
            })
            .try_fold(|| true, |acc, r| r.map(|ok| acc && ok))
            .try_reduce(|| true, |a, b| Ok(a && b))?;
        if !all {
            return Ok(None);
        }
        Ok(Some((Image::with_layout(g, 1, 1, data)?.into(), fmt)))
    }
    let h0 = plan.first_header(headers)?;
    let fmt = h0.fmt;
    if native_offset_possible(h0).is_none() {
        return Ok(None);
    }
    match fmt.stored_type() {
        PixelType::U8 => go::<u8>(headers, plan, fmt),
        PixelType::I8 => go::<i8>(headers, plan, fmt),
        PixelType::U16 => go::<u16>(headers, plan, fmt),
        PixelType::I16 => go::<i16>(headers, plan, fmt),
        PixelType::U32 => go::<u32>(headers, plan, fmt),
        _ => go::<i32>(headers, plan, fmt),
    }
}

/// Read the stored bytes of slice `s` into `out` (exactly one frame long) when its file qualifies
/// for the direct read ([`native_offset`]) with pixel format `fmt`. `Ok(false)`: it does not (the
/// caller falls back); `Err`: a real I/O error.
fn read_native_frame(headers: &[Header], s: &Slice, fmt: PixFmt, out: &mut [u8]) -> Result<bool> {
    use std::os::unix::fs::FileExt;
    let h = headers
        .get(s.file)
        .ok_or_else(|| Error::internal("slice refers to an unknown file"))?;
    if h.fmt != fmt || h.rows * h.cols * fmt.bytes != out.len() {
        return Ok(false);
    }
    let file = std::fs::File::open(&h.path).map_err(|e| Error::io(&h.path, e))?;
    let Some(start) = native_offset(h, &file) else {
        return Ok(false);
    };
    let at = start + (s.frame * out.len()) as u64;
    file.read_exact_at(out, at)
        .map_err(|e| Error::io(&h.path, e))?;
    Ok(true)
}

/// How slices of a plan become output samples straight from their files, when the output type
/// is known before the data are seen ([`direct_plan`]).
#[derive(Debug, Clone, Copy)]
struct Direct {
    fmt: PixFmt,
    /// The output type [`load`]'s general path chooses.
    out: PixelType,
    /// The stored values are the output values: the frame is read into the output as it is.
    copy: bool,
    /// `out` is the `int16` guess for an integral rescale: each slice must fit it.
    check_i16: bool,
}

/// The direct conversion for `plan`, when every sample of the output can be computed from one
/// frame at a time with the result of [`load`]'s general path: the output type is the stored
/// type (identity rescale), `float32` (a non-integral slope or intercept) or, for 8/16-bit
/// samples with an integral rescale, `int16` provided each slice fits it (checked per slice by
/// [`direct_slice`]; the general path then picks a wider type). `None` when the first file does
/// not qualify for the direct read or the type depends on the data (32-bit samples).
fn direct_plan(headers: &[Header], plan: &Plan) -> Result<Option<Direct>> {
    let h0 = plan.first_header(headers)?;
    let fmt = h0.fmt;
    if native_offset_possible(h0).is_none() {
        return Ok(None);
    }
    let full = fmt.bits_stored as usize == fmt.bytes * 8;
    let (identity, integral) = (plan.identity_rescale(), plan.integral_rescale());
    let (out, check_i16) = if identity {
        (fmt.stored_type(), false)
    } else if integral && fmt.bytes <= 2 {
        (PixelType::I16, true)
    } else if integral {
        return Ok(None);
    } else {
        (PixelType::F32, false)
    };
    let copy = identity && full && !fmt.mono1;
    Ok(Some(Direct {
        fmt,
        out,
        copy,
        check_i16,
    }))
}

/// Slice `s` into `out` (the bytes of one output slice, aligned for `d.out`) by the direct
/// conversion `d`, through `raw` (one stored frame long) while it is in cache. `Ok(false)`: the
/// file does not qualify for the direct read, or the slice does not fit the `int16` guess; the
/// caller takes the general path.
fn direct_slice(
    headers: &[Header],
    s: &Slice,
    d: &Direct,
    raw: &mut [u8],
    out: &mut [u8],
) -> Result<bool> {
    fn conv<O: FromI64 + bytemuck::Pod>(
        raw: &[u8],
        d: &Direct,
        s: &Slice,
        out: &mut [u8],
    ) -> Result<()> {
        let out: &mut [O] = bytemuck::try_cast_slice_mut(out)
            .map_err(|e| Error::internal(format!("output slice buffer: {e}")))?;
        convert_frame(raw, &d.fmt, s.slope, s.intercept, out);
        Ok(())
    }
    if d.copy {
        return read_native_frame(headers, s, d.fmt, out);
    }
    if !read_native_frame(headers, s, d.fmt, raw)? {
        return Ok(false);
    }
    if d.check_i16 {
        let (lo, hi) = stored_range(raw, &d.fmt);
        let (a, b) = (
            lo as f64 * s.slope + s.intercept,
            hi as f64 * s.slope + s.intercept,
        );
        if a.min(b) < i16::MIN as f64 || a.max(b) > i16::MAX as f64 {
            return Ok(false);
        }
    }
    match d.out {
        PixelType::U8 => conv::<u8>(raw, d, s, out)?,
        PixelType::I8 => conv::<i8>(raw, d, s, out)?,
        PixelType::U16 => conv::<u16>(raw, d, s, out)?,
        PixelType::I16 => conv::<i16>(raw, d, s, out)?,
        PixelType::U32 => conv::<u32>(raw, d, s, out)?,
        PixelType::I32 => conv::<i32>(raw, d, s, out)?,
        PixelType::F32 => conv::<f32>(raw, d, s, out)?,
        other => {
            return Err(Error::internal(format!(
                "no direct DICOM conversion to {}",
                other.name()
            )));
        }
    }
    Ok(true)
}

/// The direct read with the rescale done slice by slice while the frame is in cache
/// ([`direct_plan`]): the same image as [`load`]'s general path without its passes over the
/// whole volume. `Ok(None)`: not applicable, or nothing to convert ([`read_native`] then reads
/// straight into the output).
fn read_native_converted(headers: &[Header], plan: &Plan) -> Result<Option<DynImage>> {
    let Some(d) = direct_plan(headers, plan)? else {
        return Ok(None);
    };
    if d.copy {
        return Ok(None);
    }
    let g = plan.geometry;
    let per = g.size[0] * g.size[1];
    let raw_len = per * d.fmt.bytes;
    let mut all = true;
    let img = DynImage::from_fill(d.out, g, 1, 1, false, |bytes| {
        all = bytes
            .par_chunks_mut(per * d.out.size())
            .zip(plan.slices.par_iter())
            .map_init(
                || vec![0u8; raw_len],
                |raw, (out, s)| direct_slice(headers, s, &d, raw, out),
            )
            .try_fold(|| true, |acc, r| r.map(|ok| acc && ok))
            .try_reduce(|| true, |a, b| Ok(a && b))?;
        Ok(())
    })?;
    Ok(all.then_some(img))
}

/// Convert a DICOM folder or file to `output`, any writable format: the same file as
/// [`super::write`] of [`read`]'s image. An uncompressed `.nii` of uncompressed grey data (when
/// the output type is known before the data are seen) is written slice by slice straight from
/// the input files, without holding the volume; everything else (and a
/// slice that does not fit the `int16` guess) goes through [`read`] and [`super::write`].
pub fn convert(
    input: &Path,
    output: &Path,
    opts: &ReadOptions,
    wopts: &super::WriteOptions,
) -> Result<()> {
    let (headers, plan) = select(&collect_files(input)?, !input.is_dir(), opts)?;
    check_limits(&headers, &plan, &opts.limits)?;
    let nii = output
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.to_ascii_lowercase().ends_with(".nii"));
    if nii && let Some(d) = direct_plan(&headers, &plan)? {
        let raw_len = plan.geometry.size[0] * plan.geometry.size[1] * d.fmt.bytes;
        let done = super::nifti::write_nii_slices(
            output,
            &plan.geometry,
            d.out,
            || vec![0u8; raw_len],
            |raw, k, out| {
                let s = plan
                    .slices
                    .get(k)
                    .ok_or_else(|| Error::internal("slice index out of range"))?;
                direct_slice(&headers, s, &d, raw, out)
            },
        )?;
        if done {
            return Ok(());
        }
    }
    let img = load(&headers, &plan, opts)?;
    super::write(output, &img, wopts)
}

/// Cheap pre-test of [`native_offset`] without opening the file.
fn native_offset_possible(h: &Header) -> Option<()> {
    let native = matches!(
        h.transfer_syntax.as_str(),
        "1.2.840.10008.1.2.1" | "1.2.840.10008.1.2"
    );
    // Grey data only: PALETTE COLOR is also one sample per pixel, but goes through the decoder
    // (which refuses it with a typed error) rather than being read as indices.
    let grey = h.photometric.starts_with("MONOCHROME");
    (native
        && grey
        && cfg!(target_endian = "little")
        && h.fmt.samples == 1
        && h.bits_allocated != 1)
        .then_some(())
}

/// Lowest and highest stored value (after masking, sign extension and MONOCHROME1 inversion).
fn stored_range(raw: &[u8], f: &PixFmt) -> (i64, i64) {
    let full = f.bits_stored as usize == f.bytes * 8;
    match (f.bytes, full, f.signed, f.mono1) {
        (2, true, true, false) => {
            let (lo, hi) = raw
                .chunks_exact(2)
                .map(|c| i16::from_ne_bytes([c[0], c[1]]))
                .fold((i16::MAX, i16::MIN), |(l, h), v| (l.min(v), h.max(v)));
            (lo as i64, hi as i64)
        }
        (2, true, false, false) => {
            let (lo, hi) = raw
                .chunks_exact(2)
                .map(|c| u16::from_ne_bytes([c[0], c[1]]))
                .fold((u16::MAX, u16::MIN), |(l, h), v| (l.min(v), h.max(v)));
            (lo as i64, hi as i64)
        }
        _ => {
            let (mut lo, mut hi) = (i64::MAX, i64::MIN);
            for_each_stored(raw, f, |_, v| {
                lo = lo.min(v);
                hi = hi.max(v);
            });
            (lo, hi)
        }
    }
}

fn load(headers: &[Header], plan: &Plan, opts: &ReadOptions) -> Result<DynImage> {
    check_limits(headers, plan, &opts.limits)?;
    if let Some(img) = read_native_converted(headers, plan)? {
        return Ok(img);
    }
    let frames = match read_native(headers, plan)? {
        Some((raw, fmt)) => Frames::Native { raw, fmt },
        None => Frames::Decoded(decode_all(headers, plan)?),
    };
    let nslices = plan.slices.len();

    // All slices must share the sample layout.
    let f0 = frames.get(plan, 0)?.0;
    for (k, s) in plan.slices.iter().enumerate() {
        let f = frames.get(plan, k)?.0;
        if f.bytes != f0.bytes || f.signed != f0.signed || f.samples != f0.samples {
            let p = headers
                .get(s.file)
                .map(|h| h.path.display().to_string())
                .unwrap_or_default();
            return Err(Error::mismatch(format!(
                "{p}: pixel format ({} bytes, signed {}, {} samples) differs from the rest of the series ({} bytes, signed {}, {} samples)",
                f.bytes, f.signed, f.samples, f0.bytes, f0.signed, f0.samples
            )));
        }
    }
    let (identity, integral) = (plan.identity_rescale(), plan.integral_rescale());
    let out_type = if identity || f0.samples != 1 {
        f0.stored_type()
    } else if integral {
        // Range of the rescaled actual values.
        let ranges: Vec<Result<(f64, f64)>> = (0..nslices)
            .into_par_iter()
            .map(|k| {
                let (fmt, raw) = frames.get(plan, k)?;
                let s = &plan.slices[k];
                let (lo, hi) = stored_range(raw, &fmt);
                let (a, b) = (
                    lo as f64 * s.slope + s.intercept,
                    hi as f64 * s.slope + s.intercept,
                );
                Ok((a.min(b), a.max(b)))
            })
            .collect();
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for r in ranges {
            let (a, b) = r?;
            lo = lo.min(a);
            hi = hi.max(b);
        }
        if lo >= i16::MIN as f64 && hi <= i16::MAX as f64 {
            PixelType::I16
        } else if lo >= i32::MIN as f64 && hi <= i32::MAX as f64 {
            PixelType::I32
        } else {
            PixelType::F64
        }
    } else {
        PixelType::F32
    };

    // Native frames of the output type: convert in place (nothing to do when the stored values
    // are the output values), one frame copy per slice.
    match frames {
        Frames::Native { mut raw, fmt } if raw.pixel_type() == out_type => {
            let full = fmt.bits_stored as usize == fmt.bytes * 8;
            if identity && full && !fmt.mono1 {
                return Ok(raw);
            }
            match &mut raw {
                DynImage::U8(i) => in_place(i, plan, &fmt),
                DynImage::I8(i) => in_place(i, plan, &fmt),
                DynImage::U16(i) => in_place(i, plan, &fmt),
                DynImage::I16(i) => in_place(i, plan, &fmt),
                DynImage::U32(i) => in_place(i, plan, &fmt),
                DynImage::I32(i) => in_place(i, plan, &fmt),
                _ => return Err(Error::internal("unexpected stored DICOM sample type")),
            }
            Ok(raw)
        }
        frames => convert_all(&frames, plan, out_type),
    }
}

/// Convert native frames already in their output type, slice by slice, through a copy of the
/// frame. Only 32-bit samples get here: every 8/16-bit case is converted while reading
/// (`read_native_converted`).
fn in_place<T: FromI64>(img: &mut Image<T>, plan: &Plan, fmt: &PixFmt) {
    let n = plan.slices.len().max(1);
    let per = img.data().len() / n;
    img.data_mut()
        .par_chunks_mut(per)
        .zip(plan.slices.par_iter())
        .for_each_init(Vec::new, |tmp: &mut Vec<u8>, (out, s)| {
            tmp.clear();
            tmp.extend_from_slice(bytemuck::cast_slice(out));
            convert_frame(tmp, fmt, s.slope, s.intercept, out);
        });
}

/// Decode every file the plan uses, once, in parallel.
fn decode_all(headers: &[Header], plan: &Plan) -> Result<Vec<Option<Decoded>>> {
    let mut used: Vec<usize> = plan.slices.iter().map(|s| s.file).collect();
    used.sort_unstable();
    used.dedup();
    let decoded: Vec<Result<(usize, Decoded)>> = used
        .par_iter()
        .map(|&f| {
            let h = headers
                .get(f)
                .ok_or_else(|| Error::internal("slice refers to an unknown file"))?;
            decode_file(h).map(|d| (f, d))
        })
        .collect();
    let mut by_file: Vec<Option<Decoded>> = (0..headers.len()).map(|_| None).collect();
    for r in decoded {
        let (f, d) = r?;
        if let Some(slot) = by_file.get_mut(f) {
            *slot = Some(d);
        }
    }
    Ok(by_file)
}

/// Convert every slice into a new image of `out_type`.
fn convert_all(frames: &Frames, plan: &Plan, out_type: PixelType) -> Result<DynImage> {
    fn fill<O: FromI64>(frames: &Frames, plan: &Plan) -> Result<DynImage>
    where
        DynImage: From<Image<O>>,
    {
        let g = plan.geometry;
        let samples = frames.get(plan, 0)?.0.samples;
        let per = g.size[0] * g.size[1] * samples;
        let mut data: Vec<O> = crate::image::buffer::zeroed(per * plan.slices.len());
        data.par_chunks_mut(per)
            .enumerate()
            .try_for_each(|(k, out)| -> Result<()> {
                let (fmt, raw) = frames.get(plan, k)?;
                let s = &plan.slices[k];
                convert_frame(raw, &fmt, s.slope, s.intercept, out);
                Ok(())
            })?;
        Ok(Image::with_layout(g, samples, 1, data)?.into())
    }
    match out_type {
        PixelType::U8 => fill::<u8>(frames, plan),
        PixelType::I8 => fill::<i8>(frames, plan),
        PixelType::U16 => fill::<u16>(frames, plan),
        PixelType::I16 => fill::<i16>(frames, plan),
        PixelType::U32 => fill::<u32>(frames, plan),
        PixelType::I32 => fill::<i32>(frames, plan),
        PixelType::F32 => fill::<f32>(frames, plan),
        _ => fill::<f64>(frames, plan),
    }
}

fn check_limits(headers: &[Header], plan: &Plan, limits: &Limits) -> Result<()> {
    let h = headers
        .get(plan.slices[0].file)
        .ok_or_else(|| Error::internal("slice refers to an unknown file"))?;
    let bytes = (plan.geometry.voxel_count() as u64)
        .saturating_mul(h.fmt.samples as u64)
        .saturating_mul(8);
    if bytes > limits.max_bytes.saturating_mul(2) {
        return Err(Error::too_large(format!(
            "{}: a {:?} volume needs about {bytes} bytes, over the limit of {}",
            h.path.display(),
            plan.geometry.size,
            limits.max_bytes
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packbits_length_counts_literals_and_runs() {
        // 3 literals, a run of 4, a no-op, then a literal run cut short by the end of data.
        let seg = [2u8, 10, 11, 12, 0xfd, 7, 0x80, 4, 1, 2];
        assert_eq!(packbits_len(&seg, usize::MAX), 3 + 4 + 2);
        assert_eq!(packbits_len(&seg, 5), 7, "stops once enough");
        assert_eq!(packbits_len(&[0xfd], 100), 0, "a run without its byte");
    }

    /// Which fixtures take the slice-by-slice conversion (`read`, `convert` to .nii), and how.
    /// (That its result equals the general path's is tests/dicom.rs `convert_*`.)
    #[test]
    fn direct_plan_of_the_fixtures() {
        let fx = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/dicom");
        let direct = |p: &Path| {
            let files = collect_files(p).unwrap();
            let (headers, slices) = scan(&files, !p.is_dir()).unwrap();
            let groups = group(&headers, slices);
            let plan = groups[0].plan().unwrap();
            direct_plan(&headers, &plan)
                .unwrap()
                .map(|d| (d.out, d.copy, d.check_i16))
        };
        // int16 stored + intercept -1024: the checked int16 guess.
        let i16_guess = Some((PixelType::I16, false, true));
        assert_eq!(direct(&fx.join("oblique")), i16_guess);
        assert_eq!(direct(&fx.join("conformance/CT_small.dcm")), i16_guess);
        // Stored values are the output values: copied.
        let copy = Some((PixelType::I16, true, false));
        assert_eq!(direct(&fx.join("conformance/MR_small.dcm")), copy);
        // 12 of 16 bits, MONOCHROME1: converted, same type.
        assert_eq!(
            direct(&fx.join("mono1_u12.dcm")),
            Some((PixelType::U16, false, false))
        );
        // Deflated, big endian, JPEG 2000, 1-bit: decoded by dicom-rs.
        for f in [
            "image_dfl",
            "MR_small_bigendian",
            "JPEG2000",
            "liver_1frame",
        ] {
            let p = fx.join(format!("conformance/{f}.dcm"));
            assert_eq!(direct(&p), None, "{f}");
        }
    }

    fn fmt(bytes: usize, bits_stored: u32, signed: bool, mono1: bool) -> PixFmt {
        PixFmt {
            bytes,
            bits_stored,
            high_bit: bits_stored - 1,
            signed,
            samples: 1,
            mono1,
        }
    }

    fn values(raw: &[u8], f: PixFmt) -> Vec<i64> {
        let mut v = vec![0; raw.len() / f.bytes];
        for_each_stored(raw, &f, |i, x| v[i] = x);
        v
    }

    #[test]
    fn stored_values_mask_sign_and_invert() {
        // 12-bit signed in 16: 0x0FFF = -1, 0x0800 = -2048, 0xF001 (garbage high bits) = 1.
        let raw: Vec<u8> = [0x0FFFu16, 0x0800, 0xF001]
            .iter()
            .flat_map(|v| v.to_ne_bytes())
            .collect();
        assert_eq!(values(&raw, fmt(2, 12, true, false)), vec![-1, -2048, 1]);
        assert_eq!(values(&raw, fmt(2, 12, false, false)), vec![4095, 2048, 1]);
        // MONOCHROME1 as SimpleITK: unsigned max - v, signed -v - 1.
        assert_eq!(values(&raw, fmt(2, 12, false, true)), vec![0, 2047, 4094]);
        let raw: Vec<u8> = [175i16, -1].iter().flat_map(|v| v.to_ne_bytes()).collect();
        assert_eq!(values(&raw, fmt(2, 16, true, true)), vec![-176, 0]);
        assert_eq!(values(&[200u8], fmt(1, 8, true, false)), vec![-56]);
    }

    fn slice(z: f64) -> Slice {
        Slice {
            file: 0,
            frame: 0,
            ipp: Some([0.0, 0.0, z]),
            iop: Some([1.0, 0.0, 0.0, 0.0, 1.0, 0.0]),
            pixel_spacing: Some([0.5, 0.7]),
            spacing_between: None,
            slope: 1.0,
            intercept: 0.0,
            instance: 0,
        }
    }

    fn grp(z: &[f64]) -> Group {
        Group {
            id: "1.2".into(),
            uid: "1.2".into(),
            rows: 4,
            cols: 3,
            iop: Some([1.0, 0.0, 0.0, 0.0, 1.0, 0.0]),
            slices: z.iter().map(|&z| slice(z)).collect(),
            modality: "CT".into(),
            description: String::new(),
        }
    }

    #[test]
    fn sorting_spacing_and_gaps() {
        let p = grp(&[5.0, -5.0, 0.0, 2.5, -2.5]).plan().unwrap();
        assert_eq!(p.geometry.size, [3, 4, 5]);
        assert_eq!(p.geometry.spacing, [0.7, 0.5, 2.5]);
        assert_eq!(p.geometry.origin, [0.0, 0.0, -5.0]);
        // A missing slice and a duplicate are errors.
        let e = grp(&[0.0, 2.5, 7.5]).plan().err().unwrap();
        assert_eq!(e.kind(), ErrorKind::InvalidGeometry);
        assert!(e.message().contains("not uniform"), "{}", e.message());
        let e = grp(&[0.0, 2.5, 2.5]).plan().err().unwrap();
        assert!(
            e.message().contains("share the position"),
            "{}",
            e.message()
        );
        // One slice: SpacingBetweenSlices, else 1.0.
        assert_eq!(grp(&[3.0]).plan().unwrap().geometry.spacing[2], 1.0);
        let mut g = grp(&[3.0]);
        g.slices[0].spacing_between = Some(4.0);
        assert_eq!(g.plan().unwrap().geometry.spacing[2], 4.0);
    }

    #[test]
    fn skewed_orientation_is_an_error() {
        assert!(orthonormal_axes(&[1.0, 0.0, 0.0, 0.1, 1.0, 0.0]).is_err());
        assert!(orthonormal_axes(&[0.0, 0.0, 0.0, 0.0, 1.0, 0.0]).is_err());
        let (r, c) = orthonormal_axes(&[1.0, 0.0, 0.0, 0.00001, 1.0, 0.0]).unwrap();
        assert!(dot(r, c).abs() < 1e-12);
    }
}
