//! TotalSpineSeg post-processing on borrowed views, with the parameters TotalSpineSeg's
//! `inference.py` passes for step 1 and step 2. Outputs are uint8 label maps on the input grid.

use super::boundary::{FfiResult, medseg_status, status};
use super::image::medseg_image_view;
use super::views::{OutView, medseg_image_view_mut, read_input};
use crate::error::{Error, Result};
use crate::image::{DynImage, PixelType};
use crate::spine::iterative::IterativeLabelParams;
use crate::spine::levels::LevelsParams;
use crate::spine::ops;

/// Parameter sets of the spine functions (as `uint32_t`).
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum medseg_spine_preset {
    /// inference.py step 1 (step-1 model labels: discs 1–5, sacrum 6, vertebrae 7, canal 8,
    /// cord 9).
    Step1 = 1,
    /// inference.py step 2 (step-2 model labels: discs 1–5, vertebrae 6–9, canal 10, cord 11).
    Step2 = 2,
}

impl TryFrom<u32> for medseg_spine_preset {
    type Error = Error;

    fn try_from(v: u32) -> Result<Self> {
        match v {
            1 => Ok(medseg_spine_preset::Step1),
            2 => Ok(medseg_spine_preset::Step2),
            other => Err(Error::invalid_argument(format!(
                "spine preset {other} is not a medseg_spine_preset (1 STEP1, 2 STEP2)"
            ))),
        }
    }
}

/// Dilation (voxels) inference.py gives `largest_component` before picking the component.
const LARGEST_DILATE: usize = 5;
/// Output labels of the canal and the cord after `iterative_label`.
const CANAL_LABEL: u8 = 2;
const CORD_LABEL: u8 = 1;

/// Read the segmentation (and optional localizer), check the U8 output, run `f`, write.
///
/// # Safety
/// `seg` and `localizer` NULL or readable views; `output` NULL or a writable view, exclusively
/// ours.
unsafe fn run(
    seg: *const medseg_image_view,
    localizer: Option<*const medseg_image_view>,
    output: *const medseg_image_view_mut,
    what: &str,
    f: impl FnOnce(&DynImage, Option<&DynImage>) -> Result<DynImage>,
) -> FfiResult<()> {
    // SAFETY: forwarded contract.
    let (img, span) = unsafe { read_input(seg, "seg") }?;
    let mut spans = vec![span];
    let loc = match localizer {
        Some(l) if !l.is_null() => {
            // SAFETY: forwarded contract.
            let (li, ls) = unsafe { read_input(l, "localizer") }?;
            spans.push(ls);
            Some(li)
        }
        _ => None,
    };
    // SAFETY: forwarded contract.
    let out = unsafe { OutView::parse(output, "output") }?;
    out.expect(img.geometry(), &spans, what)?;
    out.expect_type(&[PixelType::U8], what)?;
    let r = f(&img, loc.as_ref()).map_err(|e| e.context(what))?;
    // SAFETY: checked by `parse`, ours during the call.
    unsafe { out.write(&r) }
}

/// TotalSpineSeg `largest_component` as inference.py calls it (binarised, dilation 5 voxels):
/// keeps the voxels of the largest connected structure. Same parameters for both presets.
///
/// * `seg`: a label map (values rounded to 0–255); borrowed for the call.
/// * `preset`: a `medseg_spine_preset` number.
/// * `output`: the input's grid, 1 component, U8; written only on success.
///
/// # Safety
/// `seg` NULL or a readable view; `output` NULL or a writable view not overlapping `seg`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medseg_spine_largest_component(
    seg: *const medseg_image_view,
    preset: u32,
    output: *const medseg_image_view_mut,
) -> medseg_status {
    status(|| {
        medseg_spine_preset::try_from(preset)?;
        // SAFETY: forwarded contract.
        unsafe {
            run(
                seg,
                None,
                output,
                "medseg_spine_largest_component",
                |s, _| ops::largest_component(s, true, LARGEST_DILATE).map(DynImage::from),
            )
        }
    })
}

/// TotalSpineSeg `iterative_label` with the preset's parameters: numbers discs and vertebrae
/// from the landmark discs (or from `localizer`), maps canal → 2, cord → 1, sacrum → 50.
///
/// * `seg`: the preset's model output (after `medseg_spine_largest_component`); borrowed.
/// * `localizer`: NULL, or a labelled localizer segmentation (any grid; resampled onto `seg`'s
///   grid by nearest neighbour); borrowed for the call.
/// * `output`: `seg`'s grid, 1 component, U8; written only on success.
///
/// Returns `CONTENT` when no landmark anchors the numbering.
///
/// # Safety
/// `seg`, `localizer` NULL or readable views; `output` NULL or a writable view not overlapping
/// them.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medseg_spine_iterative_label(
    seg: *const medseg_image_view,
    preset: u32,
    localizer: *const medseg_image_view,
    output: *const medseg_image_view_mut,
) -> medseg_status {
    status(|| {
        let preset = medseg_spine_preset::try_from(preset)?;
        let loc_on = !localizer.is_null();
        let params = match preset {
            medseg_spine_preset::Step1 => IterativeLabelParams::step1(loc_on),
            medseg_spine_preset::Step2 => IterativeLabelParams::step2(loc_on),
        };
        // SAFETY: forwarded contract.
        unsafe {
            run(
                seg,
                Some(localizer),
                output,
                "medseg_spine_iterative_label",
                |s, l| ops::iterative_label_image(s, l, &params).map(DynImage::from),
            )
        }
    })
}

/// TotalSpineSeg `fill_canal` as inference.py calls it (canal 2, cord 1, largest canal and cord
/// only): fills the canal around the cord. Same parameters for both presets.
///
/// * `seg`: output of `medseg_spine_iterative_label`; borrowed for the call.
/// * `output`: `seg`'s grid, 1 component, U8; written only on success.
///
/// # Safety
/// `seg` NULL or a readable view; `output` NULL or a writable view not overlapping `seg`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medseg_spine_fill_canal(
    seg: *const medseg_image_view,
    preset: u32,
    output: *const medseg_image_view_mut,
) -> medseg_status {
    status(|| {
        medseg_spine_preset::try_from(preset)?;
        // SAFETY: forwarded contract.
        unsafe {
            run(seg, None, output, "medseg_spine_fill_canal", |s, _| {
                ops::fill_canal(s, CANAL_LABEL, CORD_LABEL, true, true).map(DynImage::from)
            })
        }
    })
}

/// TotalSpineSeg `extract_levels` with inference.py's parameters: one voxel per vertebral level
/// on the canal's posterior edge, valued by level (C1 = 1, C2 = 2, …).
///
/// * `seg`: a labelled step-1 output (after `medseg_spine_fill_canal`); borrowed for the call.
/// * `output`: `seg`'s grid, 1 component, U8; written only on success.
///
/// # Safety
/// `seg` NULL or a readable view; `output` NULL or a writable view not overlapping `seg`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medseg_spine_extract_levels(
    seg: *const medseg_image_view,
    output: *const medseg_image_view_mut,
) -> medseg_status {
    status(|| {
        // SAFETY: forwarded contract.
        unsafe {
            run(seg, None, output, "medseg_spine_extract_levels", |s, _| {
                ops::extract_levels_image(s, &LevelsParams::default()).map(DynImage::from)
            })
        }
    })
}
