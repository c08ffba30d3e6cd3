//! `medseg_image` (an owned image handle), `medseg_geometry` and `medseg_image_view` (a borrowed
//! buffer described by C).

use super::boundary::{
    FfiError, FfiResult, Handle, borrow_handle, c_str_arg, into_handle, medseg_status, note_error,
    release_handle, status, value, write_out,
};
use crate::error::{Error, Result};
use crate::image::view::ImageView;
use crate::image::{DynImage, Geometry, Pixel, PixelType};
use crate::io::{ReadOptions, WriteOptions};
use std::ffi::{CStr, c_char, c_void};
use std::path::PathBuf;

/// Pixel type numbers used in `uint32_t` fields and arguments. 0 is never a pixel type, so a
/// zero-initialised view is rejected rather than read as bytes.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum medseg_pixel_type {
    /// uint8_t
    U8 = 1,
    /// int8_t
    I8 = 2,
    /// uint16_t
    U16 = 3,
    /// int16_t
    I16 = 4,
    /// uint32_t
    U32 = 5,
    /// int32_t
    I32 = 6,
    /// uint64_t
    U64 = 7,
    /// int64_t
    I64 = 8,
    /// float
    F32 = 9,
    /// double
    F64 = 10,
}

impl TryFrom<u32> for medseg_pixel_type {
    type Error = Error;

    fn try_from(v: u32) -> Result<Self> {
        use medseg_pixel_type as P;
        Ok(match v {
            1 => P::U8,
            2 => P::I8,
            3 => P::U16,
            4 => P::I16,
            5 => P::U32,
            6 => P::I32,
            7 => P::U64,
            8 => P::I64,
            9 => P::F32,
            10 => P::F64,
            other => {
                return Err(Error::pixel_type(format!(
                    "pixel_type {other} is not a medseg_pixel_type (1 = U8 … 10 = F64)"
                )));
            }
        })
    }
}

impl From<medseg_pixel_type> for PixelType {
    fn from(p: medseg_pixel_type) -> Self {
        use medseg_pixel_type as P;
        match p {
            P::U8 => PixelType::U8,
            P::I8 => PixelType::I8,
            P::U16 => PixelType::U16,
            P::I16 => PixelType::I16,
            P::U32 => PixelType::U32,
            P::I32 => PixelType::I32,
            P::U64 => PixelType::U64,
            P::I64 => PixelType::I64,
            P::F32 => PixelType::F32,
            P::F64 => PixelType::F64,
        }
    }
}

impl From<PixelType> for medseg_pixel_type {
    fn from(p: PixelType) -> Self {
        use medseg_pixel_type as P;
        match p {
            PixelType::U8 => P::U8,
            PixelType::I8 => P::I8,
            PixelType::U16 => P::U16,
            PixelType::I16 => P::I16,
            PixelType::U32 => P::U32,
            PixelType::I32 => P::I32,
            PixelType::U64 => P::U64,
            PixelType::I64 => P::I64,
            PixelType::F32 => P::F32,
            PixelType::F64 => P::F64,
        }
    }
}

/// The grid of an image, in LPS physical space (millimetres).
///
/// Physical point of index (i, j, k) = `origin + D · diag(spacing) · (i, j, k)`, where `D` is
/// `direction` read row-major (`direction[3*r + c]` = row r, column c) and column c is the unit
/// vector of index axis c (as `itk::ImageBase::GetDirection()`). A 2-D image has `size[2] == 1`.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct medseg_geometry {
    /// Voxels along i, j, k (all ≥ 1).
    pub size: [u64; 3],
    /// Distance between voxel centres along i, j, k (finite, > 0).
    pub spacing: [f64; 3],
    /// Physical position of the centre of voxel (0, 0, 0).
    pub origin: [f64; 3],
    /// Row-major 3×3 direction matrix, orthonormal within 1e-4.
    pub direction: [f64; 9],
}

impl From<&Geometry> for medseg_geometry {
    fn from(g: &Geometry) -> Self {
        medseg_geometry {
            size: g.size.map(|s| s as u64),
            spacing: g.spacing,
            origin: g.origin,
            direction: g.direction,
        }
    }
}

impl TryFrom<&medseg_geometry> for Geometry {
    type Error = Error;

    fn try_from(g: &medseg_geometry) -> Result<Self> {
        let mut size = [0usize; 3];
        for (s, &n) in size.iter_mut().zip(&g.size) {
            *s = usize::try_from(n).map_err(|_| {
                Error::too_large(format!("geometry size {:?} does not fit in memory", g.size))
            })?;
        }
        Geometry::new(size, g.spacing, g.origin, g.direction)
    }
}

/// A borrowed, read-only image buffer described by the caller (an ITK or Slicer buffer, a NumPy
/// array). medseg reads it only during the call it is passed to and never keeps the pointer.
///
/// Element (i, j, k, component c) is at element offset
/// `i*strides[0] + j*strides[1] + k*strides[2] + c` from `data`. Strides are in elements, not
/// bytes; all three zero means contiguous (`{components, components*size[0],
/// components*size[0]*size[1]}`). Every addressed element must lie within `len_bytes`.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct medseg_image_view {
    /// First element (voxel (0, 0, 0), component 0), aligned for the pixel type. Not NULL.
    pub data: *const c_void,
    /// Number of readable bytes from `data` (a multiple of the pixel size).
    pub len_bytes: usize,
    /// A `medseg_pixel_type` number (other values give `MEDSEG_STATUS_PIXEL_TYPE`).
    pub pixel_type: u32,
    /// Values per voxel (1 for scalar images).
    pub components: usize,
    /// Element strides along i, j, k; all zero for contiguous.
    pub strides: [usize; 3],
    /// The grid (LPS).
    pub geometry: medseg_geometry,
}

/// An image owned by medseg: voxels, pixel type, components and geometry. Create it with
/// `medseg_image_read` or `medseg_image_from_view`; release it with `medseg_image_free`.
/// Immutable once created, so one image may be used from several threads at once.
#[allow(non_camel_case_types)]
#[derive(Debug)]
pub struct medseg_image {
    image: DynImage,
}

impl Handle for medseg_image {
    const NAME: &'static str = "medseg_image";
}

impl medseg_image {
    /// Wrap an engine image (for the functions that return new images).
    pub(crate) fn from_image(image: DynImage) -> Self {
        medseg_image { image }
    }

    /// The image inside (for Rust-side users of the handle).
    pub fn image(&self) -> &DynImage {
        &self.image
    }
}

fn path_from_c(p: &CStr) -> FfiResult<PathBuf> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        Ok(PathBuf::from(std::ffi::OsStr::from_bytes(p.to_bytes())))
    }
    #[cfg(not(unix))]
    {
        p.to_str()
            .map(PathBuf::from)
            .map_err(|_| Error::invalid_argument(format!("path {p:?} is not UTF-8")).into())
    }
}

fn checked_contiguous(size: [usize; 3], components: usize) -> Result<[usize; 3]> {
    let overflow = || Error::too_large(format!("view of size {size:?} × {components} overflows"));
    let sj = components.checked_mul(size[0]).ok_or_else(overflow)?;
    let sk = sj.checked_mul(size[1]).ok_or_else(overflow)?;
    Ok([components, sj, sk])
}

/// Copy a C view into an owned image.
///
/// # Safety
/// `view.data` must be valid for reads of `view.len_bytes` bytes and not written during the call.
pub(crate) unsafe fn image_from_view(view: &medseg_image_view) -> Result<DynImage> {
    let pt = PixelType::from(medseg_pixel_type::try_from(view.pixel_type)?);
    let geometry = Geometry::try_from(&view.geometry)?;
    if view.components == 0 {
        return Err(Error::invalid_argument(
            "view components is 0 (must be at least 1)",
        ));
    }
    let strides = if view.strides == [0; 3] {
        checked_contiguous(geometry.size, view.components)?
    } else {
        view.strides
    };
    if !view.len_bytes.is_multiple_of(pt.size()) {
        return Err(Error::mismatch(format!(
            "view len_bytes {} is not a multiple of the {}-byte {pt} pixel",
            view.len_bytes,
            pt.size()
        )));
    }
    let len = view.len_bytes / pt.size();

    /// # Safety
    /// As `image_from_view`.
    unsafe fn typed<T: Pixel>(
        v: &medseg_image_view,
        len: usize,
        g: Geometry,
        strides: [usize; 3],
    ) -> Result<DynImage>
    where
        DynImage: From<crate::image::Image<T>>,
    {
        // SAFETY: the caller guarantees `data` is readable for `len_bytes` = `len` elements and
        // not written during the call; `from_raw_parts` checks NULL and alignment, and the view
        // checks every addressed element against `len`.
        let view = unsafe {
            ImageView::<T>::from_raw_parts(v.data.cast::<T>(), len, g, v.components, strides)
        }?;
        Ok(view.to_image()?.into())
    }
    // SAFETY (all arms): forwarded from this function's contract.
    unsafe {
        match pt {
            PixelType::U8 => typed::<u8>(view, len, geometry, strides),
            PixelType::I8 => typed::<i8>(view, len, geometry, strides),
            PixelType::U16 => typed::<u16>(view, len, geometry, strides),
            PixelType::I16 => typed::<i16>(view, len, geometry, strides),
            PixelType::U32 => typed::<u32>(view, len, geometry, strides),
            PixelType::I32 => typed::<i32>(view, len, geometry, strides),
            PixelType::U64 => typed::<u64>(view, len, geometry, strides),
            PixelType::I64 => typed::<i64>(view, len, geometry, strides),
            PixelType::F32 => typed::<f32>(view, len, geometry, strides),
            PixelType::F64 => typed::<f64>(view, len, geometry, strides),
        }
    }
}

/// Set a pointer out-parameter to NULL if it is not NULL itself.
///
/// # Safety
/// `out` must be NULL or valid for a pointer write.
unsafe fn clear_out<T>(out: *mut *mut T) {
    if !out.is_null() {
        // SAFETY: non-null and writable by the caller's contract.
        unsafe { out.write(std::ptr::null_mut()) };
    }
}

/// Read an image file (format from the extension: `.nii`, `.nii.gz`, `.hdr`/`.img`, and the other
/// formats of this build). Geometry is returned in LPS; values in the stored pixel type.
///
/// * `path`: NUL-terminated file name (bytes passed to the OS as is); borrowed for the call.
/// * `out`: receives a new image owned by the caller, to release with `medseg_image_free`. Set to
///   NULL on entry; written only on success.
///
/// Returns `MEDSEG_STATUS_NULL_ARGUMENT` if `path` or `out` is NULL; `IO`, `FORMAT`,
/// `UNSUPPORTED`, `TOO_LARGE`, … for files that cannot be read (message in
/// `medseg_last_error_message`).
///
/// # Safety
/// `path` must be NULL or a NUL-terminated string; `out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medseg_image_read(
    path: *const c_char,
    out: *mut *mut medseg_image,
) -> medseg_status {
    status(|| {
        // SAFETY: `out` is NULL or writable (contract).
        unsafe { clear_out(out) };
        // SAFETY: `path` is NULL or NUL-terminated (contract).
        let path = unsafe { c_str_arg(path, "path") }?;
        if out.is_null() {
            return Err(FfiError::null("out"));
        }
        let path = path_from_c(path)?;
        let image = crate::io::read(&path, &ReadOptions::default())?;
        let handle = into_handle(medseg_image { image });
        // SAFETY: `out` is non-null and writable (checked above, contract).
        unsafe { write_out(out, handle, "out") }
    })
}

/// Write an image to a file (format from the extension). The write is atomic: on failure no
/// file is created and an existing file is left untouched.
///
/// * `image`: borrowed for the call. `path`: NUL-terminated file name, borrowed for the call.
///
/// Returns `MEDSEG_STATUS_NULL_ARGUMENT` for a NULL argument, `INVALID_HANDLE` for a pointer that
/// is not a live image, `IO`/`UNSUPPORTED`/… when the file cannot be written.
///
/// # Safety
/// `image` must be NULL or a pointer returned by medseg; `path` NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medseg_image_write(
    image: *const medseg_image,
    path: *const c_char,
) -> medseg_status {
    status(|| {
        // SAFETY: checked against the registry (contract: not freed concurrently).
        let img = unsafe { borrow_handle(image, "image") }?;
        // SAFETY: NULL or NUL-terminated (contract).
        let path = path_from_c(unsafe { c_str_arg(path, "path") }?)?;
        crate::io::write(&path, &img.image, &WriteOptions::default())?;
        Ok(())
    })
}

/// Release an image. NULL is allowed and does nothing. A pointer that is not a live image
/// (double free, foreign pointer) is ignored and reported in `medseg_last_error_message`.
/// Pointers obtained from `medseg_image_data` become invalid. Must not run while another thread
/// uses the same image.
///
/// # Safety
/// `image` must be NULL or a pointer returned by medseg.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medseg_image_free(image: *mut medseg_image) {
    value((), || {
        // SAFETY: checked against the registry.
        if let Err(e) = unsafe { release_handle(image, "image") } {
            note_error(e.message());
        }
    })
}

/// Copy the image's geometry into `*out` (written only on success).
///
/// # Safety
/// `image` must be NULL or a pointer returned by medseg; `out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medseg_image_geometry(
    image: *const medseg_image,
    out: *mut medseg_geometry,
) -> medseg_status {
    status(|| {
        // SAFETY: checked against the registry.
        let img = unsafe { borrow_handle(image, "image") }?;
        // SAFETY: NULL or writable (contract).
        unsafe { write_out(out, medseg_geometry::from(img.image.geometry()), "out") }
    })
}

/// The image's pixel type as a `medseg_pixel_type` number, into `*out` (written only on
/// success).
///
/// # Safety
/// `image` must be NULL or a pointer returned by medseg; `out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medseg_image_pixel_type(
    image: *const medseg_image,
    out: *mut u32,
) -> medseg_status {
    status(|| {
        // SAFETY: checked against the registry.
        let img = unsafe { borrow_handle(image, "image") }?;
        let pt = medseg_pixel_type::from(img.image.pixel_type()) as u32;
        // SAFETY: NULL or writable (contract).
        unsafe { write_out(out, pt, "out") }
    })
}

/// Values per voxel (1 for scalar images), into `*out` (written only on success).
///
/// # Safety
/// `image` must be NULL or a pointer returned by medseg; `out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medseg_image_components(
    image: *const medseg_image,
    out: *mut usize,
) -> medseg_status {
    status(|| {
        // SAFETY: checked against the registry.
        let img = unsafe { borrow_handle(image, "image") }?;
        // SAFETY: NULL or writable (contract).
        unsafe { write_out(out, img.image.components(), "out") }
    })
}

/// Volumes along the 4th dimension (1 for 3-D images), into `*out` (written only on success).
///
/// # Safety
/// `image` must be NULL or a pointer returned by medseg; `out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medseg_image_frames(
    image: *const medseg_image,
    out: *mut usize,
) -> medseg_status {
    status(|| {
        // SAFETY: checked against the registry.
        let img = unsafe { borrow_handle(image, "image") }?;
        // SAFETY: NULL or writable (contract).
        unsafe { write_out(out, img.image.frames(), "out") }
    })
}

/// Borrow the image's voxel buffer: contiguous, native-endian values of the image's pixel type,
/// component fastest, then i, j, k, then frame.
///
/// * `data`: receives a read-only pointer owned by the image, valid until `medseg_image_free`
///   of this image. Never write through it and never free it. Set to NULL on entry.
/// * `len_bytes`: receives the buffer length in bytes. Set to 0 on entry.
///
/// # Safety
/// `image` must be NULL or a pointer returned by medseg; `data` and `len_bytes` NULL or
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medseg_image_data(
    image: *const medseg_image,
    data: *mut *const c_void,
    len_bytes: *mut usize,
) -> medseg_status {
    status(|| {
        if !data.is_null() {
            // SAFETY: non-null and writable (contract).
            unsafe { data.write(std::ptr::null()) };
        }
        if !len_bytes.is_null() {
            // SAFETY: non-null and writable (contract).
            unsafe { len_bytes.write(0) };
        }
        // SAFETY: checked against the registry.
        let img = unsafe { borrow_handle(image, "image") }?;
        if data.is_null() {
            return Err(FfiError::null("data"));
        }
        if len_bytes.is_null() {
            return Err(FfiError::null("len_bytes"));
        }
        let (ptr, len) = crate::dispatch!(&img.image, i => (
            i.data().as_ptr().cast::<c_void>(),
            std::mem::size_of_val(i.data())
        ));
        // SAFETY: both non-null and writable (checked above, contract).
        unsafe {
            write_out(data, ptr, "data")?;
            write_out(len_bytes, len, "len_bytes")
        }
    })
}

/// Copy a borrowed buffer into a new image owned by the caller.
///
/// * `view`: borrowed for the call; its buffer is read, never kept.
/// * `out`: receives the new image (release with `medseg_image_free`). Set to NULL on entry,
///   written only on success.
///
/// Returns `MEDSEG_STATUS_NULL_ARGUMENT` (NULL `view`, `view->data` or `out`), `PIXEL_TYPE`
/// (unknown `pixel_type` number), `INVALID_GEOMETRY` (zero size, bad spacing or direction),
/// `INVALID_ARGUMENT` (misaligned data, 0 components, strides smaller than a voxel), `MISMATCH`
/// (strides or size reach past `len_bytes`), `TOO_LARGE` (sizes overflow).
///
/// # Safety
/// `view` must be NULL or point to a `medseg_image_view` whose `data` is readable for
/// `len_bytes` bytes and not written during the call; `out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medseg_image_from_view(
    view: *const medseg_image_view,
    out: *mut *mut medseg_image,
) -> medseg_status {
    status(|| {
        // SAFETY: NULL or writable (contract).
        unsafe { clear_out(out) };
        if view.is_null() {
            return Err(FfiError::null("view"));
        }
        if out.is_null() {
            return Err(FfiError::null("out"));
        }
        // SAFETY: non-null and points to a view (contract); copied out, the struct is plain data.
        let v = unsafe { view.read() };
        if v.data.is_null() {
            return Err(FfiError::null("view->data"));
        }
        // SAFETY: buffer readable for len_bytes (contract).
        let image = unsafe { image_from_view(&v) }?;
        let handle = into_handle(medseg_image { image });
        // SAFETY: non-null and writable (checked above, contract).
        unsafe { write_out(out, handle, "out") }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn geometry(size: [u64; 3]) -> medseg_geometry {
        medseg_geometry {
            size,
            spacing: [1.0, 2.0, 3.0],
            origin: [-1.0, 0.5, 7.0],
            direction: [1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, -1.0, 0.0],
        }
    }

    #[test]
    fn view_round_trip_through_handle() {
        // Padded rows: 3 elements per j-row, 2 used.
        let buf: [i16; 12] = [1, 2, 99, 3, 4, 99, 5, 6, 99, 7, 8, 99];
        let view = medseg_image_view {
            data: buf.as_ptr().cast(),
            len_bytes: std::mem::size_of_val(&buf),
            pixel_type: medseg_pixel_type::I16 as u32,
            components: 1,
            strides: [1, 3, 6],
            geometry: geometry([2, 2, 2]),
        };
        let mut img: *mut medseg_image = std::ptr::null_mut();
        // SAFETY: valid view and out pointer.
        assert_eq!(
            unsafe { medseg_image_from_view(&view, &mut img) },
            medseg_status::Ok
        );
        let mut data: *const c_void = std::ptr::null();
        let mut len = 0usize;
        // SAFETY: live handle, valid outs.
        assert_eq!(
            unsafe { medseg_image_data(img, &mut data, &mut len) },
            medseg_status::Ok
        );
        assert_eq!(len, 16);
        // SAFETY: medseg_image_data returned `len` readable bytes of i16.
        let got = unsafe { std::slice::from_raw_parts(data.cast::<i16>(), 8) };
        assert_eq!(got, &[1, 2, 3, 4, 5, 6, 7, 8]);
        let mut g = geometry([0, 0, 0]);
        // SAFETY: live handle, valid out.
        assert_eq!(
            unsafe { medseg_image_geometry(img, &mut g) },
            medseg_status::Ok
        );
        assert_eq!(g, geometry([2, 2, 2]));
        let mut pt = 0u32;
        // SAFETY: as above.
        assert_eq!(
            unsafe { medseg_image_pixel_type(img, &mut pt) },
            medseg_status::Ok
        );
        assert_eq!(pt, medseg_pixel_type::I16 as u32);
        // SAFETY: live handle; freed once.
        unsafe { medseg_image_free(img) };
        // Use after free is detected, not followed.
        // SAFETY: the registry rejects the stale pointer before any dereference.
        assert_eq!(
            unsafe { medseg_image_geometry(img, &mut g) },
            medseg_status::InvalidHandle
        );
    }

    #[test]
    fn bad_views_give_typed_statuses() {
        let buf = [0u8; 8];
        let base = medseg_image_view {
            data: buf.as_ptr().cast(),
            len_bytes: 8,
            pixel_type: medseg_pixel_type::U8 as u32,
            components: 1,
            strides: [0; 3],
            geometry: geometry([2, 2, 2]),
        };
        let mut img: *mut medseg_image = std::ptr::null_mut();
        let cases = [
            (
                medseg_image_view {
                    pixel_type: 0,
                    ..base
                },
                medseg_status::PixelType,
            ),
            (
                medseg_image_view {
                    pixel_type: 11,
                    ..base
                },
                medseg_status::PixelType,
            ),
            (
                medseg_image_view {
                    len_bytes: 7,
                    ..base
                },
                medseg_status::Mismatch,
            ),
            (
                medseg_image_view {
                    components: 0,
                    ..base
                },
                medseg_status::InvalidArgument,
            ),
            (
                medseg_image_view {
                    data: std::ptr::null(),
                    ..base
                },
                medseg_status::NullArgument,
            ),
            (
                medseg_image_view {
                    geometry: geometry([2, 0, 2]),
                    ..base
                },
                medseg_status::InvalidGeometry,
            ),
            (
                medseg_image_view {
                    geometry: geometry([u64::MAX, 2, 2]),
                    ..base
                },
                medseg_status::TooLarge,
            ),
            (
                medseg_image_view {
                    components: usize::MAX,
                    ..base
                },
                medseg_status::TooLarge,
            ),
            (
                medseg_image_view {
                    strides: [1, 2, 5],
                    ..base
                },
                medseg_status::Mismatch,
            ),
        ];
        for (v, want) in cases {
            // SAFETY: `buf` is readable for 8 bytes; every case claims at most 8.
            let s = unsafe { medseg_image_from_view(&v, &mut img) };
            assert_eq!(s, want, "{v:?}");
            assert!(img.is_null());
        }
    }
}
