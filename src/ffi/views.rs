//! Borrowed buffers passed into processing and prediction calls: reading an input view (one copy
//! into the owned image the core works on) and checking, then writing, a caller-provided output
//! view (`medseg_image_view_mut`) in place with its own strides.

use super::boundary::{FfiError, FfiResult};
use super::image::{image_from_view, medseg_geometry, medseg_image_view, medseg_pixel_type};
use crate::error::{Error, Result};
use crate::image::view::{ImageView, ImageViewMut};
use crate::image::{DynImage, Geometry, Image, PixelType};
use std::ffi::c_void;

/// Tolerance (mm, direction cosines) for "the output view has the input's grid".
const GRID_TOL: f64 = 1e-4;

/// A borrowed, writable image buffer described by the caller (typically the output buffer an ITK
/// filter or a Slicer volume already allocated). Same layout and rules as `medseg_image_view`:
/// element (i, j, k, component c) is at element offset
/// `i*strides[0] + j*strides[1] + k*strides[2] + c` from `data`; all-zero strides mean
/// contiguous; every addressed element must lie within `len_bytes`.
///
/// medseg writes through `data` only during the call it is passed to, only when that call
/// succeeds, and never keeps the pointer. Elements between strided voxels are never touched. The
/// buffer must not overlap any input buffer of the same call (`MEDSEG_STATUS_INVALID_ARGUMENT`).
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct medseg_image_view_mut {
    /// First element (voxel (0, 0, 0), component 0), aligned for the pixel type. Not NULL.
    pub data: *mut c_void,
    /// Number of writable bytes from `data` (a multiple of the pixel size).
    pub len_bytes: usize,
    /// A `medseg_pixel_type` number (other values give `MEDSEG_STATUS_PIXEL_TYPE`).
    pub pixel_type: u32,
    /// Values per voxel (1 for the label maps and intensity images medseg writes).
    pub components: usize,
    /// Element strides along i, j, k; all zero for contiguous.
    pub strides: [usize; 3],
    /// The grid (LPS); must equal the input's grid where the function says so.
    pub geometry: medseg_geometry,
}

/// Run `$body` with the type alias `$t` bound to the Rust type of a [`PixelType`].
macro_rules! with_pixel {
    ($pt:expr, $t:ident => $body:expr) => {
        match $pt {
            PixelType::U8 => {
                type $t = u8;
                $body
            }
            PixelType::I8 => {
                type $t = i8;
                $body
            }
            PixelType::U16 => {
                type $t = u16;
                $body
            }
            PixelType::I16 => {
                type $t = i16;
                $body
            }
            PixelType::U32 => {
                type $t = u32;
                $body
            }
            PixelType::I32 => {
                type $t = i32;
                $body
            }
            PixelType::U64 => {
                type $t = u64;
                $body
            }
            PixelType::I64 => {
                type $t = i64;
                $body
            }
            PixelType::F32 => {
                type $t = f32;
                $body
            }
            PixelType::F64 => {
                type $t = f64;
                $body
            }
        }
    };
}

/// The bytes `[start, end)` a view may touch (from `data` and `len_bytes`), for overlap checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    start: usize,
    end: usize,
}

impl Span {
    fn new(data: usize, len_bytes: usize) -> Self {
        Span {
            start: data,
            end: data.saturating_add(len_bytes),
        }
    }

    fn overlaps(&self, other: &Span) -> bool {
        self.start < other.end && other.start < self.end
    }
}

/// The checked layout of a C view: pixel type, grid, components, element strides and the buffer
/// length in elements.
#[derive(Debug, Clone, Copy)]
struct Layout {
    pt: PixelType,
    geometry: Geometry,
    components: usize,
    strides: [usize; 3],
    len: usize,
}

fn layout(
    pixel_type: u32,
    geometry: &medseg_geometry,
    components: usize,
    strides: [usize; 3],
    len_bytes: usize,
) -> Result<Layout> {
    let pt = PixelType::from(medseg_pixel_type::try_from(pixel_type)?);
    let geometry = Geometry::try_from(geometry)?;
    if components == 0 {
        return Err(Error::invalid_argument(
            "view components is 0 (must be at least 1)",
        ));
    }
    let strides = if strides == [0; 3] {
        let overflow = || {
            Error::too_large(format!(
                "view of size {:?} × {components} overflows",
                geometry.size
            ))
        };
        let sj = components
            .checked_mul(geometry.size[0])
            .ok_or_else(overflow)?;
        let sk = sj.checked_mul(geometry.size[1]).ok_or_else(overflow)?;
        [components, sj, sk]
    } else {
        strides
    };
    if !len_bytes.is_multiple_of(pt.size()) {
        return Err(Error::mismatch(format!(
            "view len_bytes {len_bytes} is not a multiple of the {}-byte {pt} pixel",
            pt.size()
        )));
    }
    Ok(Layout {
        pt,
        geometry,
        components,
        strides,
        len: len_bytes / pt.size(),
    })
}

/// Read an input view argument into an owned image (the one copy the core needs).
///
/// # Safety
/// `view` must be NULL or point to a `medseg_image_view` whose buffer is readable for `len_bytes`
/// bytes and not written during the call.
pub(crate) unsafe fn read_input(
    view: *const medseg_image_view,
    what: &str,
) -> FfiResult<(DynImage, Span)> {
    if view.is_null() {
        return Err(FfiError::null(what));
    }
    // SAFETY: non-null and points to a view (contract); plain data, copied out.
    let v = unsafe { view.read() };
    if v.data.is_null() {
        return Err(FfiError::null(&format!("{what}->data")));
    }
    // SAFETY: readable for len_bytes and not written during the call (contract).
    let img = unsafe { image_from_view(&v) }?;
    Ok((img, Span::new(v.data as usize, v.len_bytes)))
}

/// Read an input view argument as one scalar image per component (channel), copying each
/// channel straight out of the caller's buffer.
///
/// # Safety
/// As [`read_input`].
pub(crate) unsafe fn read_channels(
    view: *const medseg_image_view,
    what: &str,
) -> FfiResult<(Vec<DynImage>, Geometry, Span)> {
    if view.is_null() {
        return Err(FfiError::null(what));
    }
    // SAFETY: non-null and points to a view (contract); plain data, copied out.
    let v = unsafe { view.read() };
    if v.data.is_null() {
        return Err(FfiError::null(&format!("{what}->data")));
    }
    let span = Span::new(v.data as usize, v.len_bytes);
    if v.components == 1 {
        // SAFETY: as above.
        let img = unsafe { image_from_view(&v) }?;
        let g = *img.geometry();
        return Ok((vec![img], g, span));
    }
    let l = layout(
        v.pixel_type,
        &v.geometry,
        v.components,
        v.strides,
        v.len_bytes,
    )?;
    let g = l.geometry;
    let channels = with_pixel!(l.pt, T => {
        // SAFETY: readable for `len` elements and not written during the call (contract);
        // `from_raw_parts` checks NULL, alignment and every addressed element against `len`.
        let tv = unsafe {
            ImageView::<T>::from_raw_parts(v.data.cast::<T>(), l.len, g, l.components, l.strides)
        }?;
        let [ni, nj, nk] = g.size;
        let mut out = Vec::with_capacity(l.components);
        for c in 0..l.components {
            let mut d = Vec::with_capacity(g.voxel_count());
            for k in 0..nk {
                for j in 0..nj {
                    for i in 0..ni {
                        d.push(tv.get(i, j, k, c));
                    }
                }
            }
            out.push(DynImage::from(Image::new(g, d)?));
        }
        out
    });
    Ok((channels, g, span))
}

/// A checked output view: its layout was validated against its buffer when it was parsed, so
/// [`OutView::write`] only fails on a result that does not fit.
#[derive(Debug)]
pub(crate) struct OutView {
    data: *mut c_void,
    layout: Layout,
    span: Span,
}

impl OutView {
    /// Check an output view argument (NULL, pixel type, grid, strides within `len_bytes`,
    /// alignment) without writing anything.
    ///
    /// # Safety
    /// `view` must be NULL or point to a `medseg_image_view_mut` whose buffer is writable for
    /// `len_bytes` bytes and not accessed by anyone else during the call.
    pub(crate) unsafe fn parse(view: *const medseg_image_view_mut, what: &str) -> FfiResult<Self> {
        if view.is_null() {
            return Err(FfiError::null(what));
        }
        // SAFETY: non-null and points to a view (contract); plain data, copied out.
        let v = unsafe { view.read() };
        if v.data.is_null() {
            return Err(FfiError::null(&format!("{what}->data")));
        }
        let l = layout(
            v.pixel_type,
            &v.geometry,
            v.components,
            v.strides,
            v.len_bytes,
        )
        .map_err(|e| e.context(what))?;
        with_pixel!(l.pt, T => {
            // SAFETY: writable for `len` elements, exclusively ours during the call (contract);
            // the view is dropped at once, nothing is written.
            unsafe {
                ImageViewMut::<T>::from_raw_parts(
                    v.data.cast::<T>(),
                    l.len,
                    l.geometry,
                    l.components,
                    l.strides,
                )
            }
            .map_err(|e| e.context(what))?;
        });
        Ok(OutView {
            data: v.data,
            layout: l,
            span: Span::new(v.data as usize, v.len_bytes),
        })
    }

    /// The output's pixel type.
    pub(crate) fn pixel_type(&self) -> PixelType {
        self.layout.pt
    }

    /// Require the input's grid, one component, and no overlap with the input buffers.
    pub(crate) fn expect(&self, input: &Geometry, inputs: &[Span], what: &str) -> FfiResult<()> {
        let g = &self.layout.geometry;
        if !g.same_grid(input, GRID_TOL) {
            return Err(Error::mismatch(format!(
                "{what}: the output view's grid differs from the input's (size {:?} vs {:?}, \
                 spacing {:?} vs {:?}, origin {:?} vs {:?}, direction {:?} vs {:?})",
                g.size,
                input.size,
                g.spacing,
                input.spacing,
                g.origin,
                input.origin,
                g.direction,
                input.direction
            ))
            .into());
        }
        if self.layout.components != 1 {
            return Err(Error::mismatch(format!(
                "{what}: the output view has {} components; it must have 1",
                self.layout.components
            ))
            .into());
        }
        if inputs.iter().any(|s| s.overlaps(&self.span)) {
            return Err(Error::invalid_argument(format!(
                "{what}: the output buffer overlaps an input buffer (in-place operation is not supported)"
            ))
            .into());
        }
        Ok(())
    }

    /// Require one of `allowed` pixel types.
    pub(crate) fn expect_type(&self, allowed: &[PixelType], what: &str) -> FfiResult<()> {
        if !allowed.contains(&self.layout.pt) {
            let names: Vec<String> = allowed.iter().map(|p| p.to_string()).collect();
            return Err(Error::pixel_type(format!(
                "{what}: the output view is {}, it must be {}",
                self.layout.pt,
                names.join(" or ")
            ))
            .into());
        }
        Ok(())
    }

    /// Write `img` (same grid, pixel type and components as the view) into the caller's buffer
    /// with the view's strides.
    ///
    /// # Safety
    /// The contract of [`OutView::parse`] still holds (the buffer is writable and ours).
    pub(crate) unsafe fn write(&self, img: &DynImage) -> FfiResult<()> {
        let l = self.layout;
        with_pixel!(l.pt, T => {
            let src = img.as_type::<T>().map_err(|_| {
                Error::internal(format!(
                    "result is {}, the output view {}",
                    img.pixel_type(),
                    l.pt
                ))
            })?;
            // SAFETY: writable for `len` elements and exclusively ours during the call (parse's
            // contract); bounds and alignment are checked again by `from_raw_parts`.
            let mut v = unsafe {
                ImageViewMut::<T>::from_raw_parts(
                    self.data.cast::<T>(),
                    l.len,
                    l.geometry,
                    l.components,
                    l.strides,
                )
            }?;
            v.copy_from(src)?;
        });
        Ok(())
    }
}
