//! `medseg_sam_model` and `medseg_sam_session`: promptable segmentation with a SAM-family model
//! (LiteMedSAM) through the C ABI. A thin shell over [`crate::inference::sam`]: the model is
//! [`SamModel`], a session is one bound uint8 image plus its [`EmbeddingCache`], and every
//! prediction is one call of [`Engine::segment_2d`] or [`Engine::segment_3d`] with one box.
//!
//! * The model is loaded once (both ONNX sessions opened, weights SHA-256 checked), is immutable
//!   and may be shared by several threads; each session keeps a reference to it, so a model may
//!   be freed while its sessions live.
//! * A session borrows the caller's image buffer (no copy; contiguous uint8, 1, 3 or 4
//!   components) or owns a uint8 copy made from a `medseg_image` by the MedSAM intensity rules
//!   ([`crate::inference::sam::input::to_u8`]). Calls on one session are serialised.
//! * Geometry: view index i = x (column), j = y (row), k = slice. Boxes are voxel indices
//!   `(x0, y0, x1, y1)` (2D, on slice k) or `(x0, y0, z0, x1, y1, z1)` (3D), inclusive, exactly
//!   as the engine takes them; its rules for degenerate boxes apply and its notes go to the log
//!   callback as warnings.

use super::boundary::{
    FfiError, FfiResult, Handle, borrow_handle, c_str_arg, into_handle, medseg_status, note_error,
    release_handle, status, value, write_out,
};
use super::image::{medseg_geometry, medseg_image, medseg_image_view, medseg_pixel_type};
use super::log::{log, medseg_log_level};
use super::model::{c_progress, medseg_progress_callback, opt_str, read_sized};
use super::views::{OutView, medseg_image_view_mut};
use crate::error::{Error, ErrorKind, Result};
use crate::image::view::{ImageView, contiguous_strides};
use crate::image::{DynImage, Geometry, Image, PixelType};
use crate::inference::onnx::{Device, SessionConfig};
use crate::inference::sam::SamModel;
use crate::inference::sam::input::{Intensity, to_u8};
use crate::inference::sam::propagate::{DEFAULT_CACHE_BYTES, EmbeddingCache, Engine, SliceStack};
use std::ffi::{c_char, c_void};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

/// Options of `medseg_sam_model_load`. Always start from `medseg_sam_options_init`, which sets
/// `struct_size` and every default, then change the fields you need. The strings are borrowed
/// only during `medseg_sam_model_load` (they are copied).
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct medseg_sam_options {
    /// `sizeof(medseg_sam_options)`, set by `medseg_sam_options_init`.
    pub struct_size: usize,
    /// `"cpu"` (NULL means `"cpu"`), `"cuda"`, `"cuda:N"`, `"tensorrt:N"` or `"auto"` (the first
    /// GPU, else the CPU with a warning through the log callback).
    pub device: *const c_char,
    /// ONNX Runtime intra-op threads per run; 0 = ONNX Runtime's default.
    pub threads: u32,
    /// Explicit ONNX Runtime library file; NULL = the search order (`MEDSEG_ORT_DYLIB`,
    /// `ORT_DYLIB_PATH`, the project's `third_party/onnxruntime/lib`, …). One runtime per process.
    pub runtime_path: *const c_char,
    /// Byte budget of each session's embedding cache (least recently used slices are dropped;
    /// the latest slice is always kept); 0 = the default, 512 MiB (128 LiteMedSAM slices).
    /// Results do not depend on it.
    pub cache_bytes: u64,
}

impl Default for medseg_sam_options {
    fn default() -> Self {
        medseg_sam_options {
            struct_size: std::mem::size_of::<medseg_sam_options>(),
            device: std::ptr::null(),
            threads: 0,
            runtime_path: std::ptr::null(),
            cache_bytes: 0,
        }
    }
}

/// A loaded SAM-family model (LiteMedSAM): its manifest and the encoder and decoder sessions.
/// Immutable after `medseg_sam_model_load`, so one handle may be used by several threads at once
/// (runs of one network are serialised inside). Release with `medseg_sam_model_free`.
#[allow(non_camel_case_types)]
#[derive(Debug)]
pub struct medseg_sam_model {
    model: Arc<SamModel>,
    cache_bytes: usize,
}

impl Handle for medseg_sam_model {
    const NAME: &'static str = "medseg_sam_model";
}

/// The pixels a session works on.
#[derive(Debug)]
enum Pixels {
    /// The caller's buffer (contract: alive and unchanged until the session is freed or rebound).
    Borrowed { data: *const u8, len: usize },
    /// A uint8 copy made by `medseg_sam_session_create_from_image`.
    Owned(Vec<u8>),
}

/// The image a session is bound to: `size = [W, H, D]`, `channels` interleaved components.
#[derive(Debug)]
struct Bound {
    pixels: Pixels,
    geometry: Geometry,
    channels: usize,
}

impl Bound {
    fn bytes(&self) -> &[u8] {
        match &self.pixels {
            // SAFETY: checked readable for `len` bytes when bound; the caller keeps it alive and
            // unchanged while the session is bound to it (contract of medseg_sam_session_create).
            Pixels::Borrowed { data, len } => unsafe { std::slice::from_raw_parts(*data, *len) },
            Pixels::Owned(v) => v,
        }
    }

    fn stack(&self) -> Result<SliceStack<'_>> {
        let [w, h, d] = self.geometry.size;
        SliceStack::new(self.bytes(), d, h, w, self.channels)
    }

    /// Whether the caller's bytes `[start, start + len)` overlap the bound buffer.
    fn overlaps(&self, start: usize, len: usize) -> bool {
        match &self.pixels {
            Pixels::Borrowed { data, len: n } => {
                let a = *data as usize;
                start < a.saturating_add(*n) && a < start.saturating_add(len)
            }
            Pixels::Owned(_) => false,
        }
    }

    /// The grid of slice `k`: size `[W, H, 1]`, origin at voxel `(0, 0, k)`.
    fn slice_geometry(&self, k: usize) -> Result<Geometry> {
        let g = &self.geometry;
        let origin = g.index_to_point([0.0, 0.0, k as f64]);
        Geometry::new([g.size[0], g.size[1], 1], g.spacing, origin, g.direction)
    }

    /// Slice index `k` checked against the image.
    fn slice_index(&self, k: i64, what: &str) -> Result<usize> {
        let d = self.geometry.size[2];
        usize::try_from(k).ok().filter(|&z| z < d).ok_or_else(|| {
            Error::invalid_argument(format!(
                "{what} {k} is outside the image's slices (0..={})",
                d - 1
            ))
        })
    }
}

struct SessionState {
    image: Bound,
    cache: EmbeddingCache,
}

impl std::fmt::Debug for SessionState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionState")
            .field("size", &self.image.geometry.size)
            .field("channels", &self.image.channels)
            .field("cache_bytes", &self.cache.bytes())
            .finish()
    }
}

/// One image prepared for box prompts with a `medseg_sam_model`: the bound uint8 image and its
/// cache of slice embeddings (each slice is encoded at most once while it stays cached). Calls
/// on one session are serialised (a second thread waits); use one session per image and thread
/// for parallel work. Release with `medseg_sam_session_free`.
#[allow(non_camel_case_types)]
#[derive(Debug)]
pub struct medseg_sam_session {
    model: Arc<SamModel>,
    state: Mutex<SessionState>,
}

impl Handle for medseg_sam_session {
    const NAME: &'static str = "medseg_sam_session";
}

impl medseg_sam_session {
    fn lock(&self) -> FfiResult<MutexGuard<'_, SessionState>> {
        self.state.lock().map_err(|_| {
            FfiError::new(
                medseg_status::Poisoned,
                "this medseg_sam_session is poisoned by an earlier panic; only free it",
            )
        })
    }
}

/// Check a borrowed image view for a session: uint8, contiguous, readable for its extent.
///
/// # Safety
/// `view` must be NULL or point to a `medseg_image_view` whose buffer is readable for
/// `len_bytes` bytes (and stays so while the session is bound to it).
unsafe fn bind_view(view: *const medseg_image_view, what: &str) -> FfiResult<Bound> {
    if view.is_null() {
        return Err(FfiError::null(what));
    }
    // SAFETY: non-null and points to a view (contract); plain data, copied out.
    let v = unsafe { view.read() };
    if v.data.is_null() {
        return Err(FfiError::null(&format!("{what}->data")));
    }
    let pt = PixelType::from(medseg_pixel_type::try_from(v.pixel_type)?);
    if pt != PixelType::U8 {
        return Err(Error::pixel_type(format!(
            "{what} is {pt}; SAM sessions take uint8 images (grey, RGB or RGBA): rescale the \
             intensities first, or use medseg_sam_session_create_from_image with an intensity rule"
        ))
        .into());
    }
    let geometry = Geometry::try_from(&v.geometry).map_err(|e| e.context(what))?;
    let channels = v.components;
    let [w, h, d] = geometry.size;
    let len = channels
        .checked_mul(w)
        .and_then(|n| n.checked_mul(h))
        .and_then(|n| n.checked_mul(d))
        .ok_or_else(|| {
            Error::too_large(format!(
                "{what} of size {:?} × {channels} overflows",
                geometry.size
            ))
        })?;
    let contiguous = contiguous_strides(geometry.size, channels);
    if v.strides != [0; 3] && v.strides != contiguous {
        return Err(Error::invalid_argument(format!(
            "{what} has strides {:?}; a SAM session borrows the buffer as is and needs it \
             contiguous ({contiguous:?}, or all zero)",
            v.strides
        ))
        .into());
    }
    // SAFETY: readable for len_bytes (contract); `from_raw_parts` checks NULL, alignment and the
    // extent against the length; the view is dropped at once.
    unsafe {
        ImageView::<u8>::from_raw_parts(
            v.data.cast::<u8>(),
            v.len_bytes,
            geometry,
            channels,
            contiguous,
        )
    }
    .map_err(|e| e.context(what))?;
    let bound = Bound {
        pixels: Pixels::Borrowed {
            data: v.data.cast::<u8>(),
            len,
        },
        geometry,
        channels,
    };
    bound.stack().map_err(|e| e.context(what))?;
    Ok(bound)
}

/// Read a `double[N]` argument.
///
/// # Safety
/// `p` must be NULL or readable for N doubles.
unsafe fn read_box<const N: usize>(p: *const f64, what: &str) -> FfiResult<[f64; N]> {
    if p.is_null() {
        return Err(FfiError::null(what));
    }
    // SAFETY: readable for N doubles (contract); unaligned read, plain data.
    Ok(unsafe { p.cast::<[f64; N]>().read_unaligned() })
}

/// Check an output view that must not overlap the session's image; returns the parsed view.
///
/// # Safety
/// As [`OutView::parse`].
unsafe fn parse_output(
    view: *const medseg_image_view_mut,
    what: &str,
    image: &Bound,
) -> FfiResult<OutView> {
    // SAFETY: forwarded contract.
    let out = unsafe { OutView::parse(view, what) }?;
    // SAFETY: non-null (parsed above) and points to a view; plain data, copied out.
    let v = unsafe { view.read() };
    if image.overlaps(v.data as usize, v.len_bytes) {
        return Err(Error::invalid_argument(format!(
            "{what}: the output buffer overlaps the session's image buffer"
        ))
        .into());
    }
    Ok(out)
}

fn log_notes(what: &str, notes: &[String]) {
    for n in notes {
        log(medseg_log_level::Warning, &format!("{what}: {n}"));
    }
}

/// Fill `*options` with the defaults: `struct_size = sizeof(medseg_sam_options)`, device NULL
/// (CPU), threads 0 (ONNX Runtime's default), runtime_path NULL (search order), cache_bytes 0
/// (512 MiB).
///
/// Returns `MEDSEG_STATUS_NULL_ARGUMENT` if `options` is NULL.
///
/// # Safety
/// `options` must be NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medseg_sam_options_init(
    options: *mut medseg_sam_options,
) -> medseg_status {
    status(|| {
        // SAFETY: NULL or writable (contract).
        unsafe { write_out(options, medseg_sam_options::default(), "options") }
    })
}

/// Load a SAM-family model folder (`medseg.json` of kind `sam` and the two ONNX networks it
/// names, SHA-256 checked; the shipped LiteMedSAM is `models/litemedsam`, made by
/// `tools/setup.sh`) and open its encoder and decoder on the requested device.
///
/// * `model_dir`: NUL-terminated folder name; borrowed for the call.
/// * `options`: NULL for the defaults, else initialised with `medseg_sam_options_init`;
///   borrowed for the call (its strings are copied).
/// * `out`: receives the new model, owned by the caller (release with `medseg_sam_model_free`).
///   Set to NULL on entry, written only on success.
///
/// Returns `NULL_ARGUMENT`; `INVALID_ARGUMENT` (struct_size, device name); `MODEL` (folder,
/// manifest, missing or corrupt network files: the message says how to re-run the set-up);
/// `MISMATCH` (networks that do not fit the manifest); `RUNTIME` (ONNX Runtime missing or a
/// different one already loaded); `DEVICE` (an explicitly requested GPU is unavailable); `IO`.
///
/// # Safety
/// `model_dir` must be NULL or NUL-terminated; `options` NULL or a valid options struct whose
/// strings are NULL or NUL-terminated; `out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medseg_sam_model_load(
    model_dir: *const c_char,
    options: *const medseg_sam_options,
    out: *mut *mut medseg_sam_model,
) -> medseg_status {
    status(|| {
        if !out.is_null() {
            // SAFETY: non-null and writable (contract).
            unsafe { out.write(std::ptr::null_mut()) };
        }
        // SAFETY: NULL or NUL-terminated (contract).
        let dir = unsafe { c_str_arg(model_dir, "model_dir") }?;
        if out.is_null() {
            return Err(FfiError::null("out"));
        }
        let o = if options.is_null() {
            medseg_sam_options::default()
        } else {
            // SAFETY: a valid options struct (contract); its size is checked first.
            unsafe { read_sized(options, "options", "medseg_sam_options_init") }?
        };
        // SAFETY: NULL or NUL-terminated during the call (contract).
        let device = match unsafe { opt_str(o.device, "options->device") }? {
            None => Device::Cpu,
            Some(d) => d.parse::<Device>()?,
        };
        // SAFETY: as above.
        let runtime = unsafe { opt_str(o.runtime_path, "options->runtime_path") }?;
        let cache_bytes = match o.cache_bytes {
            0 => DEFAULT_CACHE_BYTES,
            n => usize::try_from(n).unwrap_or(usize::MAX),
        };
        let cfg = SessionConfig {
            device: Some(device),
            threads: (o.threads > 0).then_some(o.threads as usize),
            ort_lib: runtime.map(PathBuf::from),
        };
        let dir = dir
            .to_str()
            .map(PathBuf::from)
            .map_err(|_| Error::invalid_argument("model_dir is not UTF-8"))?;
        let model = SamModel::load(&dir, &cfg)?;
        if let Some(n) = model.device_note() {
            log(medseg_log_level::Warning, n);
        }
        log(
            medseg_log_level::Info,
            &format!(
                "loaded SAM model '{}' from {} (input {t}x{t}, on {})",
                model.manifest.name,
                dir.display(),
                model.device(),
                t = model.manifest.input_size
            ),
        );
        let handle = into_handle(medseg_sam_model {
            model: Arc::new(model),
            cache_bytes,
        });
        // SAFETY: non-null and writable (checked above, contract).
        unsafe { write_out(out, handle, "out") }
    })
}

/// Release a SAM model. NULL is allowed and does nothing; a pointer that is not a live SAM model
/// (double free, foreign pointer) is ignored and reported in `medseg_last_error_message`.
/// Sessions created from it keep working (they hold their own reference to the networks). Must
/// not run while another thread uses this handle.
///
/// # Safety
/// `model` must be NULL or a pointer returned by medseg.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medseg_sam_model_free(model: *mut medseg_sam_model) {
    value((), || {
        // SAFETY: checked against the registry.
        if let Err(e) = unsafe { release_handle(model, "model") } {
            note_error(e.message());
        }
    })
}

/// Start a session on an image the caller owns, without copying it.
///
/// * `model`: a loaded SAM model; borrowed for the call (the session keeps its own reference).
/// * `image`: the picture or volume: pixel type U8, 1 (grey), 3 (RGB) or 4 (RGBA, alpha
///   ignored) components, contiguous (strides all zero or the contiguous ones). Index i is the
///   column (x), j the row (y), k the slice (a 2D picture has `size[2] == 1`). **Borrowed for the
///   life of the session, not copied**: the caller keeps the buffer alive and unchanged until
///   the session is freed or rebound (`medseg_sam_session_set_image`); cached embeddings would
///   not notice a change.
/// * `out`: receives the new session, owned by the caller (release with
///   `medseg_sam_session_free`). Set to NULL on entry, written only on success.
///
/// Nothing is encoded yet (see `medseg_sam_encode_slices`).
///
/// Returns `NULL_ARGUMENT`, `INVALID_HANDLE`, `PIXEL_TYPE` (not uint8: the caller rescales
/// intensities first, or uses `medseg_sam_session_create_from_image`), `UNSUPPORTED`
/// (components), `INVALID_ARGUMENT` (strides, pointer), `INVALID_GEOMETRY`, `MISMATCH`
/// (buffer too short), `TOO_LARGE`.
///
/// # Safety
/// `model` must be NULL or a pointer returned by medseg; `image` NULL or a view whose buffer is
/// readable for `len_bytes` bytes for as long as the session is bound to it; `out` NULL or
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medseg_sam_session_create(
    model: *const medseg_sam_model,
    image: *const medseg_image_view,
    out: *mut *mut medseg_sam_session,
) -> medseg_status {
    status(|| {
        if !out.is_null() {
            // SAFETY: non-null and writable (contract).
            unsafe { out.write(std::ptr::null_mut()) };
        }
        // SAFETY: checked against the registry (contract: not freed concurrently).
        let m = unsafe { borrow_handle(model, "model") }?;
        // SAFETY: NULL or a readable view that outlives the session (contract).
        let bound = unsafe { bind_view(image, "image") }?;
        if out.is_null() {
            return Err(FfiError::null("out"));
        }
        let handle = into_handle(medseg_sam_session {
            model: m.model.clone(),
            state: Mutex::new(SessionState {
                image: bound,
                cache: EmbeddingCache::new(m.cache_bytes),
            }),
        });
        // SAFETY: non-null and writable (checked above, contract).
        unsafe { write_out(out, handle, "out") }
    })
}

/// Start a session on a medseg image of any pixel type: its intensities are turned into the
/// uint8 copy the session owns, the MedSAM challenge's way (`image` is not needed afterwards).
///
/// * `intensity`: NULL or `"auto"` (uint8 as is; else the abdomen CT window when the minimum is
///   ≤ −500, the 0.5–99.5 percentiles of the voxels > 0 otherwise); `"percentiles"` (MR, PET);
///   a CT preset name (`"brain"`, `"lung"`, `"abdomen"`, `"bone"`, …); or `"LEVEL,WIDTH"` in HU.
///   The rule applied is reported through the log callback.
/// * `out`: as `medseg_sam_session_create`.
///
/// Returns `NULL_ARGUMENT`, `INVALID_HANDLE`, `INVALID_ARGUMENT` (rule), `UNSUPPORTED` (4-D
/// images, component counts), `CONTENT`.
///
/// # Safety
/// `model` and `image` must be NULL or pointers returned by medseg; `intensity` NULL or
/// NUL-terminated; `out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medseg_sam_session_create_from_image(
    model: *const medseg_sam_model,
    image: *const medseg_image,
    intensity: *const c_char,
    out: *mut *mut medseg_sam_session,
) -> medseg_status {
    status(|| {
        if !out.is_null() {
            // SAFETY: non-null and writable (contract).
            unsafe { out.write(std::ptr::null_mut()) };
        }
        // SAFETY: checked against the registry (contract: not freed concurrently).
        let m = unsafe { borrow_handle(model, "model") }?;
        // SAFETY: as above.
        let img = unsafe { borrow_handle(image, "image") }?;
        // SAFETY: NULL or NUL-terminated (contract).
        let rule = match unsafe { opt_str(intensity, "intensity") }? {
            None => Intensity::Auto,
            Some(s) => s.parse::<Intensity>()?,
        };
        if out.is_null() {
            return Err(FfiError::null("out"));
        }
        let (u8img, note) = to_u8(img.image(), rule)?;
        log(
            medseg_log_level::Info,
            &format!("medseg_sam_session_create_from_image: {note}"),
        );
        let (geometry, channels, _, data) = u8img.into_parts();
        let bound = Bound {
            pixels: Pixels::Owned(data),
            geometry,
            channels,
        };
        bound.stack()?;
        let handle = into_handle(medseg_sam_session {
            model: m.model.clone(),
            state: Mutex::new(SessionState {
                image: bound,
                cache: EmbeddingCache::new(m.cache_bytes),
            }),
        });
        // SAFETY: non-null and writable (checked above, contract).
        unsafe { write_out(out, handle, "out") }
    })
}

/// Bind a session to another image (same rules as `medseg_sam_session_create`) and forget every
/// cached embedding. From then on the previous buffer is no longer used. On failure the session
/// keeps its image and cache.
///
/// Returns `NULL_ARGUMENT`, `INVALID_HANDLE`, `POISONED`, and the statuses of
/// `medseg_sam_session_create` for the view.
///
/// # Safety
/// `session` must be NULL or a pointer returned by medseg; `image` as in
/// `medseg_sam_session_create`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medseg_sam_session_set_image(
    session: *const medseg_sam_session,
    image: *const medseg_image_view,
) -> medseg_status {
    status(|| {
        // SAFETY: checked against the registry (contract: not freed concurrently).
        let s = unsafe { borrow_handle(session, "session") }?;
        // SAFETY: NULL or a readable view that outlives the binding (contract).
        let bound = unsafe { bind_view(image, "image") }?;
        let mut st = s.lock()?;
        st.image = bound;
        st.cache.clear();
        Ok(())
    })
}

/// Release a session (and its cached embeddings). NULL is allowed and does nothing; a pointer
/// that is not a live session is ignored and reported in `medseg_last_error_message`. After it
/// returns the caller's image buffer is no longer used. Must not run while another thread uses
/// the session.
///
/// # Safety
/// `session` must be NULL or a pointer returned by medseg.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medseg_sam_session_free(session: *mut medseg_sam_session) {
    value((), || {
        // SAFETY: checked against the registry.
        if let Err(e) = unsafe { release_handle(session, "session") } {
            note_error(e.message());
        }
    })
}

/// The grid of slice `k` of the session's image (size `(W, H, 1)`, origin at voxel `(0, 0, k)`,
/// the image's spacing and direction) into `*out`, written only on success: the grid the mask
/// view of `medseg_sam_predict_2d` must have.
///
/// Returns `NULL_ARGUMENT`, `INVALID_HANDLE`, `POISONED`, `INVALID_ARGUMENT` (k outside the
/// slices).
///
/// # Safety
/// `session` must be NULL or a pointer returned by medseg; `out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medseg_sam_session_slice_geometry(
    session: *const medseg_sam_session,
    k: i64,
    out: *mut medseg_geometry,
) -> medseg_status {
    status(|| {
        // SAFETY: checked against the registry (contract: not freed concurrently).
        let s = unsafe { borrow_handle(session, "session") }?;
        let st = s.lock()?;
        let z = st.image.slice_index(k, "slice")?;
        let g = st.image.slice_geometry(z)?;
        // SAFETY: NULL or writable (contract).
        unsafe { write_out(out, medseg_geometry::from(&g), "out") }
    })
}

/// Encode slices `k_first ..= k_last` into the session's cache ahead of prompts (slices already
/// cached are not encoded again; several slices go into one encoder call where the network
/// allows). Optional: the predict functions encode what they need on demand. With a cache budget
/// smaller than the range, the earliest slices are dropped again.
///
/// * `progress`: NULL, or called on this thread with the fraction of the range done; returning
///   false cancels: the call returns `MEDSEG_STATUS_CANCELLED` (slices encoded so far stay
///   cached).
/// * `userdata`: passed to `progress` unchanged; may be NULL.
///
/// Returns `NULL_ARGUMENT`, `INVALID_HANDLE`, `POISONED`, `INVALID_ARGUMENT` (range outside the
/// slices, or `k_first > k_last`), `RUNTIME`, `DEVICE`, `CANCELLED`.
///
/// # Safety
/// `session` must be NULL or a pointer returned by medseg; `progress` NULL or callable with
/// `userdata`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medseg_sam_encode_slices(
    session: *const medseg_sam_session,
    k_first: i64,
    k_last: i64,
    progress: medseg_progress_callback,
    userdata: *mut c_void,
) -> medseg_status {
    status(|| {
        // SAFETY: checked against the registry (contract: not freed concurrently).
        let s = unsafe { borrow_handle(session, "session") }?;
        let mut st = s.lock()?;
        let st = &mut *st;
        let first = st.image.slice_index(k_first, "k_first")?;
        let last = st.image.slice_index(k_last, "k_last")?;
        if first > last {
            return Err(
                Error::invalid_argument(format!("k_first {k_first} > k_last {k_last}")).into(),
            );
        }
        let mut report = c_progress(progress, userdata);
        let cancelled = || FfiError::from(Error::new(ErrorKind::Cancelled, "cancelled"));
        if !report(0.0, "encoding") {
            return Err(cancelled());
        }
        let stack = st.image.stack()?;
        let zs: Vec<usize> = (first..=last).collect();
        let mut engine = Engine::new(&*s.model);
        for (n, &z) in zs.iter().enumerate() {
            engine.embedding(&stack, &mut st.cache, z, &zs[n + 1..])?;
            if !report((n + 1) as f64 / zs.len() as f64, "encoding") {
                return Err(cancelled());
            }
        }
        Ok(())
    })
}

/// Segment the object in a box on one slice (2D prompt): one decoder call on slice `k`'s
/// embedding (encoded first when not cached).
///
/// * `k`: the slice (0 for a 2D picture).
/// * `box`: 4 values `(x0, y0, x1, y1)` in voxel indices (x = i, the column; y = j, the row),
///   inclusive, as the LiteMedSAM baseline takes them. A box reaching beyond the image or of
///   zero width is used as given (with a warning to the log callback); inverted corners,
///   non-finite values or no overlap with the image give `INVALID_ARGUMENT`.
/// * `mask_out`: the caller's buffer for the mask: pixel type U8, 1 component, the grid of slice
///   `k` (`medseg_sam_session_slice_geometry`), not overlapping the image. Written only on
///   success, with its strides: 1 inside the object, 0 elsewhere.
/// * `iou_out`: receives the network's predicted IoU of the mask; may be NULL (not wanted).
///   Written only on success.
///
/// Returns `NULL_ARGUMENT`, `INVALID_HANDLE`, `POISONED`, `INVALID_ARGUMENT` (k, box, overlap,
/// bad view), `PIXEL_TYPE`, `MISMATCH` (grid, components), `RUNTIME`, `DEVICE`.
///
/// # Safety
/// `session` must be NULL or a pointer returned by medseg; `box` NULL or readable for 4
/// doubles; `mask_out` NULL or a view writable as described and not used by anyone else during
/// the call; `iou_out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medseg_sam_predict_2d(
    session: *const medseg_sam_session,
    k: i64,
    r#box: *const f64,
    mask_out: *const medseg_image_view_mut,
    iou_out: *mut f32,
) -> medseg_status {
    status(|| {
        // SAFETY: checked against the registry (contract: not freed concurrently).
        let s = unsafe { borrow_handle(session, "session") }?;
        // SAFETY: NULL or readable for 4 doubles (contract).
        let b = unsafe { read_box::<4>(r#box, "box") }?;
        let mut st = s.lock()?;
        let st = &mut *st;
        // SAFETY: NULL or a writable view (contract).
        let out = unsafe { parse_output(mask_out, "mask_out", &st.image) }?;
        let z = st.image.slice_index(k, "slice")?;
        let g = st.image.slice_geometry(z)?;
        out.expect(&g, &[], "medseg_sam_predict_2d")?;
        out.expect_type(&[PixelType::U8], "medseg_sam_predict_2d")?;
        let stack = st.image.stack()?;
        let mut engine = Engine::new(&*s.model);
        let outcome = engine.segment_2d(&stack, &mut st.cache, z, &[b])?;
        log_notes("medseg_sam_predict_2d", &outcome.notes);
        let iou = outcome
            .calls
            .first()
            .map(|c| c.iou)
            .ok_or_else(|| Error::internal("the 2D prediction made no decoder call"))?;
        let mask: Vec<u8> = outcome.labels.iter().map(|&l| u8::from(l > 0)).collect();
        let img = DynImage::from(Image::new(g, mask)?);
        // SAFETY: the output view was checked by `parse` and is ours during the call.
        unsafe { out.write(&img) }?;
        if !iou_out.is_null() {
            // SAFETY: non-null and writable (contract).
            unsafe { iou_out.write(iou) };
        }
        Ok(())
    })
}

/// Segment the object in a 3D box by propagating through its slices exactly as the LiteMedSAM
/// baseline does (the middle slice from the box, then up and down, each slice prompted by the
/// bounding box of its neighbour's mask); slices are encoded on demand and cached.
///
/// * `box`: 6 values `(x0, y0, z0, x1, y1, z1)` in voxel indices (x = i, y = j, z = k),
///   inclusive. The 2D rules of `medseg_sam_predict_2d` apply to x and y; `z0 == z1` segments
///   that one slice; slices outside the image are skipped (warnings to the log callback);
///   `z0 > z1` or no slice inside the image gives `INVALID_ARGUMENT`.
/// * `label`: the value written inside the object (1 … 65535; ≤ 255 for a U8 output).
/// * `progress`: NULL, or called on this thread after every slice with the fraction done;
///   returning false cancels: the call returns `MEDSEG_STATUS_CANCELLED` and `output` is left
///   untouched (slices encoded so far stay cached).
/// * `userdata`: passed to `progress` unchanged; may be NULL.
/// * `output`: the caller's buffer: the image's grid, 1 component, pixel type U8 or U16, not
///   overlapping the image. Written only on success, entirely (with its strides): `label` inside
///   the object, 0 elsewhere.
///
/// Returns `NULL_ARGUMENT`, `INVALID_HANDLE`, `POISONED`, `INVALID_ARGUMENT` (box, label,
/// overlap, bad view), `PIXEL_TYPE`, `MISMATCH` (grid, components), `RUNTIME`, `DEVICE`,
/// `CANCELLED`.
///
/// # Safety
/// `session` must be NULL or a pointer returned by medseg; `box` NULL or readable for 6
/// doubles; `output` NULL or a view writable as described and not used by anyone else during
/// the call; `progress` NULL or callable with `userdata`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medseg_sam_predict_3d(
    session: *const medseg_sam_session,
    r#box: *const f64,
    label: u16,
    progress: medseg_progress_callback,
    userdata: *mut c_void,
    output: *const medseg_image_view_mut,
) -> medseg_status {
    status(|| {
        // SAFETY: checked against the registry (contract: not freed concurrently).
        let s = unsafe { borrow_handle(session, "session") }?;
        // SAFETY: NULL or readable for 6 doubles (contract).
        let b = unsafe { read_box::<6>(r#box, "box") }?;
        let mut st = s.lock()?;
        let st = &mut *st;
        // SAFETY: NULL or a writable view (contract).
        let out = unsafe { parse_output(output, "output", &st.image) }?;
        out.expect(&st.image.geometry, &[], "medseg_sam_predict_3d")?;
        out.expect_type(&[PixelType::U8, PixelType::U16], "medseg_sam_predict_3d")?;
        if label == 0 {
            return Err(Error::invalid_argument(
                "medseg_sam_predict_3d: label 0 is the background; use 1 … 65535",
            )
            .into());
        }
        if out.pixel_type() == PixelType::U8 && label > u8::MAX as u16 {
            return Err(Error::pixel_type(format!(
                "medseg_sam_predict_3d: label {label} does not fit the U8 output view; use U16"
            ))
            .into());
        }
        let stack = st.image.stack()?;
        let mut report = c_progress(progress, userdata);
        let mut engine = Engine::new(&*s.model);
        let outcome = engine.segment_3d(&stack, &mut st.cache, &[b], &mut report)?;
        log_notes("medseg_sam_predict_3d", &outcome.notes);
        let g = st.image.geometry;
        let img = if out.pixel_type() == PixelType::U8 {
            let v = label as u8;
            let d: Vec<u8> = outcome
                .labels
                .iter()
                .map(|&l| if l > 0 { v } else { 0 })
                .collect();
            DynImage::from(Image::new(g, d)?)
        } else {
            let d: Vec<u16> = outcome
                .labels
                .iter()
                .map(|&l| if l > 0 { label } else { 0 })
                .collect();
            DynImage::from(Image::new(g, d)?)
        };
        // SAFETY: the output view was checked by `parse` and is ours during the call.
        unsafe { out.write(&img) }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_defaults() {
        let mut o = medseg_sam_options {
            struct_size: 0,
            threads: 7,
            ..Default::default()
        };
        // SAFETY: valid, writable struct.
        assert_eq!(
            unsafe { medseg_sam_options_init(&mut o) },
            medseg_status::Ok
        );
        assert_eq!(o.struct_size, std::mem::size_of::<medseg_sam_options>());
        assert!(o.device.is_null() && o.runtime_path.is_null());
        assert_eq!((o.threads, o.cache_bytes), (0, 0));
    }

    #[test]
    fn views_are_checked_before_binding() {
        let px = [0u8; 24];
        let mut g = medseg_geometry {
            size: [4, 3, 2],
            spacing: [1.0; 3],
            origin: [0.0; 3],
            direction: [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0],
        };
        let mut v = medseg_image_view {
            data: px.as_ptr().cast(),
            len_bytes: px.len(),
            pixel_type: medseg_pixel_type::U8 as u32,
            components: 1,
            strides: [0; 3],
            geometry: g,
        };
        // SAFETY: `px` outlives every bound value here.
        let b = unsafe { bind_view(&v, "image") }
            .map_err(|e| e.message().to_owned())
            .unwrap();
        assert_eq!(b.stack().unwrap().d, 2);
        let sg = b.slice_geometry(1).unwrap();
        assert_eq!((sg.size, sg.origin), ([4, 3, 1], [0.0, 0.0, 1.0]));
        assert!(b.slice_index(2, "k").is_err() && b.slice_index(-1, "k").is_err());
        assert!(
            b.overlaps(px.as_ptr() as usize + 23, 1) && !b.overlaps(px.as_ptr() as usize + 24, 4)
        );
        v.pixel_type = medseg_pixel_type::I16 as u32;
        v.len_bytes = 24;
        g.size = [4, 3, 1];
        v.geometry = g;
        // SAFETY: as above.
        assert!(
            matches!(unsafe { bind_view(&v, "image") }, Err(e) if e.message().contains("uint8"))
        );
        v.pixel_type = medseg_pixel_type::U8 as u32;
        v.strides = [1, 5, 15];
        // SAFETY: as above.
        assert!(unsafe { bind_view(&v, "image") }.is_err());
        v.strides = [0; 3];
        v.components = 2;
        // SAFETY: as above.
        assert!(unsafe { bind_view(&v, "image") }.is_err());
    }
}
