//! Processing functions on borrowed views: connected components, largest component, small
//! component removal, hole filling, relabelling and normalisation write into a caller-provided
//! output view on the input's grid; resampling and reorientation change the grid and return a
//! new `medseg_image`.
//!
//! Each function is a thin shell: check the arguments, copy the input view once into the image
//! the core works on, call `crate::postprocess` / `crate::preprocess`, write the result into the
//! output view with its strides.

use super::boundary::{FfiError, FfiResult, c_str_arg, into_handle, medseg_status, status};
use super::image::{medseg_image, medseg_image_view};
use super::model::read_sized;
use super::views::{OutView, Span, medseg_image_view_mut, read_input};
use crate::error::{Error, Result};
use crate::image::{DynImage, Geometry, PixelType};
use crate::postprocess::components::{CcOptions, Components};
use crate::postprocess::{Connectivity, LabelMap, MinSize};
use crate::preprocess::intensity::{self, OutRange, WindowScale};
use crate::preprocess::orient::AxisCode;
use crate::preprocess::resample::{Interpolation, ResampleOptions, TargetGrid};
use std::ffi::c_char;

/// Interpolation numbers for `medseg_resample` (as `uint32_t`).
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum medseg_interpolation {
    /// Nearest neighbour.
    Nearest = 0,
    /// Trilinear.
    Linear = 1,
    /// Cubic B-spline (ITK order 3, prefiltered).
    Bspline = 2,
    /// Per-label linear then argmax (label maps).
    Label = 3,
}

impl TryFrom<u32> for medseg_interpolation {
    type Error = Error;

    fn try_from(v: u32) -> Result<Self> {
        match v {
            0 => Ok(medseg_interpolation::Nearest),
            1 => Ok(medseg_interpolation::Linear),
            2 => Ok(medseg_interpolation::Bspline),
            3 => Ok(medseg_interpolation::Label),
            other => Err(Error::invalid_argument(format!(
                "interpolation {other} is not a medseg_interpolation (0 NEAREST, 1 LINEAR, 2 BSPLINE, 3 LABEL)"
            ))),
        }
    }
}

impl From<medseg_interpolation> for Interpolation {
    fn from(i: medseg_interpolation) -> Self {
        match i {
            medseg_interpolation::Nearest => Interpolation::Nearest,
            medseg_interpolation::Linear => Interpolation::Linear,
            medseg_interpolation::Bspline => Interpolation::BSpline,
            medseg_interpolation::Label => Interpolation::Label,
        }
    }
}

/// Normalisation methods for `medseg_normalize_options.method` (as `uint32_t`).
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum medseg_normalize_method {
    /// Window: `p[0]` level, `p[1]` width (> 0); clipped to the window, rescaled to [0, 1].
    Window = 1,
    /// Percentile: `p[0]` lower, `p[1]` upper percentile (0–100); clipped, rescaled to [0, 1]
    /// (with `nonzero_only`, percentiles of the positive voxels and zeros stay 0).
    Percentile = 2,
    /// Z-score: `(x - mean) / std` (with `nonzero_only`, statistics of and changes to the
    /// non-zero voxels only).
    Zscore = 3,
    /// nnU-Net CT: clip to [`p[2]`, `p[3]`] (percentiles 0.5 / 99.5), then `(x - p[0]) / p[1]`
    /// (foreground mean and standard deviation).
    NnunetCt = 4,
}

impl TryFrom<u32> for medseg_normalize_method {
    type Error = Error;

    fn try_from(v: u32) -> Result<Self> {
        match v {
            1 => Ok(medseg_normalize_method::Window),
            2 => Ok(medseg_normalize_method::Percentile),
            3 => Ok(medseg_normalize_method::Zscore),
            4 => Ok(medseg_normalize_method::NnunetCt),
            other => Err(Error::invalid_argument(format!(
                "normalize method {other} is not a medseg_normalize_method (1 WINDOW, 2 PERCENTILE, 3 ZSCORE, 4 NNUNET_CT)"
            ))),
        }
    }
}

/// Options of `medseg_normalize`. Start from `medseg_normalize_options_init` (sets
/// `struct_size` and the defaults), then set `method` and its parameters.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct medseg_normalize_options {
    /// `sizeof(medseg_normalize_options)`, set by `medseg_normalize_options_init`.
    pub struct_size: usize,
    /// A `medseg_normalize_method` number; default `MEDSEG_NORMALIZE_METHOD_ZSCORE`.
    pub method: u32,
    /// Method parameters (see `medseg_normalize_method`); unused entries are ignored.
    pub p: [f64; 4],
    /// Restrict statistics to non-zero voxels (percentile, z-score); default false.
    pub nonzero_only: bool,
}

impl Default for medseg_normalize_options {
    fn default() -> Self {
        medseg_normalize_options {
            struct_size: std::mem::size_of::<medseg_normalize_options>(),
            method: medseg_normalize_method::Zscore as u32,
            p: [0.0; 4],
            nonzero_only: false,
        }
    }
}

/// A connectivity number: 6, 18, 26, or 4 / 8 for 2-D images (size[2] == 1).
fn connectivity(n: u32, g: &Geometry) -> Result<Connectivity> {
    if matches!(n, 4 | 8) && g.size[2] != 1 {
        return Err(Error::invalid_argument(format!(
            "connectivity {n} is for 2-D images; this image has {} slices (use 6, 18 or 26)",
            g.size[2]
        )));
    }
    Connectivity::from_number(n)
}

fn scalar(img: &DynImage, what: &str) -> Result<()> {
    if img.components() != 1 {
        return Err(Error::unsupported(format!(
            "{what}: the input must be a scalar image (1 component), got {} components",
            img.components()
        )));
    }
    Ok(())
}

/// The common shape of the functions writing into an output view: read and check the input,
/// check the output (grid, components, no overlap, pixel type), run `f`, write.
///
/// `out_type`: given the input's pixel type, the output pixel types allowed.
///
/// # Safety
/// `input` NULL or a readable view; `output` NULL or a writable view, exclusively ours.
unsafe fn into_view(
    input: *const medseg_image_view,
    output: *const medseg_image_view_mut,
    what: &str,
    out_type: impl FnOnce(PixelType) -> Vec<PixelType>,
    f: impl FnOnce(&DynImage, PixelType) -> Result<DynImage>,
) -> FfiResult<()> {
    // SAFETY: forwarded contract.
    let (img, span) = unsafe { read_input(input, "input") }?;
    // SAFETY: forwarded contract.
    let out = unsafe { OutView::parse(output, "output") }?;
    out.expect(img.geometry(), &[span], what)?;
    out.expect_type(&out_type(img.pixel_type()), what)?;
    scalar(&img, what)?;
    let result = f(&img, out.pixel_type()).map_err(|e| e.context(what))?;
    // SAFETY: checked by `parse`, ours during the call.
    unsafe { out.write(&result) }
}

/// Label the connected components of a label image (equal non-zero values connect; 0 is
/// background) and write the component numbers (1..count, scan order) into `output`.
///
/// * `input`: scalar label image, any pixel type; borrowed for the call.
/// * `connectivity`: 6, 18 or 26 (4 or 8 for 2-D images, `size[2] == 1`).
/// * `output`: the input's grid, 1 component, U16 or U32 (U16 fails with `TOO_LARGE` above
///   65 535 components); written only on success.
/// * `count`: receives the number of components; may be NULL. Set to 0 on entry.
///
/// # Safety
/// `input` NULL or a readable view; `output` NULL or a writable view not overlapping the input;
/// `count` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medseg_connected_components(
    input: *const medseg_image_view,
    connectivity: u32,
    output: *const medseg_image_view_mut,
    count: *mut usize,
) -> medseg_status {
    status(|| {
        if !count.is_null() {
            // SAFETY: non-null and writable (contract).
            unsafe { count.write(0) };
        }
        let mut n = 0usize;
        // SAFETY: forwarded contract.
        unsafe {
            into_view(
                input,
                output,
                "medseg_connected_components",
                |_| vec![PixelType::U16, PixelType::U32],
                |img, out_pt| {
                    let c = self::connectivity(connectivity, img.geometry())?;
                    let opts = CcOptions {
                        connectivity: c,
                        binary: false,
                    };
                    let cc = crate::dispatch!(img, i => Components::label(i, opts))?;
                    n = cc.count();
                    let labels = cc.to_image(img.geometry())?;
                    if out_pt == PixelType::U16 {
                        if n > u16::MAX as usize {
                            return Err(Error::too_large(format!(
                                "{n} components do not fit a U16 output view; use U32"
                            )));
                        }
                        Ok(labels.map(|v| v as u16).into())
                    } else {
                        Ok(labels.into())
                    }
                },
            )
        }?;
        if !count.is_null() {
            // SAFETY: non-null and writable (contract).
            unsafe { count.write(n) };
        }
        Ok(())
    })
}

/// Keep the largest connected component and clear the rest (kept voxels keep their values).
///
/// * `per_label`: true = the largest component of each label value; false = non-zero voxels are
///   connected regardless of value and the single largest component is kept.
/// * `connectivity`: 6, 18 or 26 (4 or 8 for 2-D images).
/// * `output`: the input's grid, 1 component, the input's pixel type; written only on success.
///
/// # Safety
/// `input` NULL or a readable view; `output` NULL or a writable view not overlapping the input.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medseg_largest_component(
    input: *const medseg_image_view,
    connectivity: u32,
    per_label: bool,
    output: *const medseg_image_view_mut,
) -> medseg_status {
    status(|| {
        // SAFETY: forwarded contract.
        unsafe {
            into_view(
                input,
                output,
                "medseg_largest_component",
                |pt| vec![pt],
                |img, _| {
                    let c = self::connectivity(connectivity, img.geometry())?;
                    crate::dispatch!(img, i => crate::postprocess::largest_component(i, c, per_label)
                        .map(DynImage::from))
                },
            )
        }
    })
}

/// Remove connected components (equal non-zero values connect) smaller than `min_size`.
///
/// * `min_size`: finite, ≥ 0; in voxels, or in mm³ when `size_in_mm3` is true. Components with
///   at least this size are kept with their values.
/// * `connectivity`: 6, 18 or 26 (4 or 8 for 2-D images).
/// * `output`: the input's grid, 1 component, the input's pixel type; written only on success.
///
/// # Safety
/// `input` NULL or a readable view; `output` NULL or a writable view not overlapping the input.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medseg_remove_small(
    input: *const medseg_image_view,
    connectivity: u32,
    min_size: f64,
    size_in_mm3: bool,
    output: *const medseg_image_view_mut,
) -> medseg_status {
    status(|| {
        if !(0.0..9.0e18).contains(&min_size) {
            return Err(Error::invalid_argument(format!(
                "medseg_remove_small: min_size {min_size} must be a finite number ≥ 0"
            ))
            .into());
        }
        let min = if size_in_mm3 {
            MinSize::Mm3(min_size)
        } else {
            MinSize::Voxels(min_size.ceil() as u64)
        };
        // SAFETY: forwarded contract.
        unsafe {
            into_view(
                input,
                output,
                "medseg_remove_small",
                |pt| vec![pt],
                |img, _| {
                    let c = self::connectivity(connectivity, img.geometry())?;
                    crate::dispatch!(img, i => crate::postprocess::remove_small(i, c, min)
                        .map(DynImage::from))
                },
            )
        }
    })
}

/// Fill holes (background regions not connected to the image border).
///
/// * `per_label`: true = per label value (background enclosed by one label gets that label;
///   other labels never change), output in the input's pixel type; false = a 0/1 mask of the
///   non-zero voxels plus their holes, output in any pixel type.
/// * `output`: the input's grid, 1 component; written only on success.
///
/// # Safety
/// `input` NULL or a readable view; `output` NULL or a writable view not overlapping the input.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medseg_fill_holes(
    input: *const medseg_image_view,
    per_label: bool,
    output: *const medseg_image_view_mut,
) -> medseg_status {
    status(|| {
        // SAFETY: forwarded contract.
        unsafe {
            into_view(
                input,
                output,
                "medseg_fill_holes",
                |pt| {
                    if per_label {
                        vec![pt]
                    } else {
                        vec![
                            PixelType::U8,
                            PixelType::I8,
                            PixelType::U16,
                            PixelType::I16,
                            PixelType::U32,
                            PixelType::I32,
                            PixelType::U64,
                            PixelType::I64,
                            PixelType::F32,
                            PixelType::F64,
                        ]
                    }
                },
                |img, out_pt| {
                    if per_label {
                        crate::dispatch!(img, i => crate::postprocess::fill_holes_per_label(i)
                            .map(DynImage::from))
                    } else {
                        let mask: DynImage =
                            crate::dispatch!(img, i => crate::postprocess::fill_holes(i))?.into();
                        Ok(if out_pt == PixelType::U8 {
                            mask
                        } else {
                            mask.cast_to(out_pt)
                        })
                    }
                },
            )
        }
    })
}

/// Relabel through a JSON label map: `{"map": {"1": 2, "7": 0}, "unmapped": "keep" | "remove",
/// "renumber": false}` (a bare `{"1": 2}` is the map alone); see `medseg relabel --help`.
///
/// * `map_json`: NUL-terminated UTF-8 JSON, borrowed for the call.
/// * `output`: the input's grid, 1 component, the input's pixel type; written only on success.
///
/// Returns `INVALID_ARGUMENT` for malformed JSON or values that do not fit the pixel type.
///
/// # Safety
/// `input` NULL or a readable view; `map_json` NULL or NUL-terminated; `output` NULL or a
/// writable view not overlapping the input.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medseg_relabel(
    input: *const medseg_image_view,
    map_json: *const c_char,
    output: *const medseg_image_view_mut,
) -> medseg_status {
    status(|| {
        // SAFETY: NULL or NUL-terminated (contract).
        let text = unsafe { c_str_arg(map_json, "map_json") }?;
        let text = text
            .to_str()
            .map_err(|_| Error::invalid_argument("map_json is not UTF-8"))?;
        let map = LabelMap::from_json(text)?;
        // SAFETY: forwarded contract.
        unsafe {
            into_view(
                input,
                output,
                "medseg_relabel",
                |pt| vec![pt],
                |img, _| {
                    crate::dispatch!(img, i => crate::postprocess::relabel(i, &map)
                        .map(DynImage::from))
                },
            )
        }
    })
}

/// Fill `*options` with the defaults: `struct_size = sizeof(medseg_normalize_options)`, method
/// Z-score, `p` all 0, `nonzero_only` false.
///
/// # Safety
/// `options` must be NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medseg_normalize_options_init(
    options: *mut medseg_normalize_options,
) -> medseg_status {
    status(|| {
        // SAFETY: NULL or writable (contract).
        unsafe {
            super::boundary::write_out(options, medseg_normalize_options::default(), "options")
        }
    })
}

/// Normalise intensities (see `medseg_normalize_method` for each method and its parameters).
///
/// * `options`: initialised with `medseg_normalize_options_init`; borrowed for the call.
/// * `output`: the input's grid, 1 component, F32; written only on success.
///
/// Returns `INVALID_ARGUMENT` for an unknown method, an uninitialised `struct_size` or bad
/// parameters; `CONTENT` when `nonzero_only` selects no voxel.
///
/// # Safety
/// `input` NULL or a readable view; `options` NULL or an initialised struct; `output` NULL or a
/// writable view not overlapping the input.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medseg_normalize(
    input: *const medseg_image_view,
    options: *const medseg_normalize_options,
    output: *const medseg_image_view_mut,
) -> medseg_status {
    status(|| {
        // SAFETY: NULL or an initialised struct (contract); its size is checked first.
        let o = unsafe { read_sized(options, "options", "medseg_normalize_options_init") }?;
        let method = medseg_normalize_method::try_from(o.method)?;
        let p = o.p;
        // SAFETY: forwarded contract.
        unsafe {
            into_view(
                input,
                output,
                "medseg_normalize",
                |_| vec![PixelType::F32],
                |img, _| match method {
                    medseg_normalize_method::Window => {
                        intensity::window_dyn(img, p[0], p[1], WindowScale::Bounds, OutRange::Unit)
                            .map(|(i, _)| i)
                    }
                    medseg_normalize_method::Percentile => intensity::percentile_normalize_dyn(
                        img,
                        p[0],
                        p[1],
                        o.nonzero_only,
                        OutRange::Unit,
                    )
                    .map(|(i, _)| i),
                    medseg_normalize_method::Zscore => {
                        intensity::zscore_dyn(img, o.nonzero_only.then_some(img)).map(Into::into)
                    }
                    medseg_normalize_method::NnunetCt => {
                        intensity::nnunet_ct_dyn(img, p[0], p[1], p[2], p[3]).map(Into::into)
                    }
                },
            )
        }
    })
}

/// Read the input and clear a `medseg_image **` out-parameter (the grid-changing functions).
///
/// # Safety
/// `input` NULL or a readable view; `out` NULL or writable.
unsafe fn grid_changing_input(
    input: *const medseg_image_view,
    out: *mut *mut medseg_image,
) -> FfiResult<(DynImage, Span)> {
    if !out.is_null() {
        // SAFETY: non-null and writable (contract).
        unsafe { out.write(std::ptr::null_mut()) };
    }
    // SAFETY: forwarded contract.
    let r = unsafe { read_input(input, "input") }?;
    if out.is_null() {
        return Err(FfiError::null("out"));
    }
    Ok(r)
}

/// Resample onto a new spacing with ITK's conventions: same origin and direction, size
/// `round(n · spacing / new_spacing)` per axis (half to even, at least 1), outside voxels 0.
///
/// * `spacing`: 3 positive finite numbers (mm along i, j, k); borrowed for the call.
/// * `interpolation`: a `medseg_interpolation` number.
/// * `out`: receives a new image owned by the caller (release with `medseg_image_free`); set to
///   NULL on entry, written only on success. Its pixel type is the input's.
///
/// # Safety
/// `input` NULL or a readable view; `spacing` NULL or 3 readable doubles; `out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medseg_resample(
    input: *const medseg_image_view,
    spacing: *const f64,
    interpolation: u32,
    out: *mut *mut medseg_image,
) -> medseg_status {
    status(|| {
        // SAFETY: forwarded contract.
        let (img, _) = unsafe { grid_changing_input(input, out) }?;
        if spacing.is_null() {
            return Err(FfiError::null("spacing"));
        }
        // SAFETY: 3 readable doubles (contract).
        let sp = unsafe { [*spacing, *spacing.add(1), *spacing.add(2)] };
        let interp = medseg_interpolation::try_from(interpolation)?;
        scalar(&img, "medseg_resample")?;
        let opts = ResampleOptions {
            interpolation: interp.into(),
            ..Default::default()
        };
        let (r, _) =
            crate::preprocess::resample::resample_dyn(&img, &TargetGrid::Spacing(sp), &opts)?;
        let handle = into_handle(medseg_image::from_image(r));
        // SAFETY: non-null (checked) and writable (contract).
        unsafe { super::boundary::write_out(out, handle, "out") }
    })
}

/// Reorient (permute and flip axes, no interpolation) so that the index axes point towards the
/// letters of `axcodes`: `"RAS"`, `"LPS"`, `"PIR"`, … (L/R, P/A, S/I; case-insensitive), or
/// `"canonical"` (= `"RAS"`, nibabel's closest canonical). Physical positions are unchanged.
///
/// * `out`: receives a new image owned by the caller (release with `medseg_image_free`); set to
///   NULL on entry, written only on success.
///
/// # Safety
/// `input` NULL or a readable view; `axcodes` NULL or NUL-terminated; `out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medseg_reorient(
    input: *const medseg_image_view,
    axcodes: *const c_char,
    out: *mut *mut medseg_image,
) -> medseg_status {
    status(|| {
        // SAFETY: forwarded contract.
        let (img, _) = unsafe { grid_changing_input(input, out) }?;
        // SAFETY: NULL or NUL-terminated (contract).
        let code = unsafe { c_str_arg(axcodes, "axcodes") }?;
        let code = code
            .to_str()
            .map_err(|_| Error::invalid_argument("axcodes is not UTF-8"))?;
        let to = if code.eq_ignore_ascii_case("canonical") {
            AxisCode::canonical()
        } else {
            AxisCode::parse(code)?
        };
        let (r, _) = crate::preprocess::orient::reorient_dyn(&img, &to)?;
        let handle = into_handle(medseg_image::from_image(r));
        // SAFETY: non-null (checked) and writable (contract).
        unsafe { super::boundary::write_out(out, handle, "out") }
    })
}
