//! The boundary between C and Rust: status numbers, the one error → status mapping, the
//! thread-local last error, the panic boundary every entry point runs in, and the registry of live
//! handles (so stale or foreign pointers are reported, not dereferenced).

use crate::error::{Error, ErrorKind};
use std::any::Any;
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::ffi::{CStr, CString, c_char};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Mutex, Once};

/// The result of every fallible `medseg_` function.
///
/// Numbers are part of the ABI: they are never renumbered or reused. 1–99 follow the engine's
/// error kinds (`medseg::ErrorKind`, one each); 100 and up are failures of the boundary itself.
///
/// | number | name | meaning |
/// |---|---|---|
/// | 0 | OK | success |
/// | 1 | IO | the operating system refused a file operation |
/// | 2 | FORMAT | a file's bytes do not follow its format |
/// | 3 | UNSUPPORTED | valid input this build cannot handle |
/// | 4 | INVALID_ARGUMENT | an argument is out of range or malformed |
/// | 5 | INVALID_GEOMETRY | spacing, direction or size is not a valid grid |
/// | 6 | PIXEL_TYPE | wrong or unknown pixel type |
/// | 7 | MISMATCH | shapes, sizes or strides do not agree |
/// | 8 | TOO_LARGE | a size exceeds a limit or overflows |
/// | 9 | MODEL | model missing or inconsistent |
/// | 10 | RUNTIME | inference runtime missing or failed |
/// | 11 | DEVICE | requested device unavailable |
/// | 12 | CANCELLED | cancelled through the progress callback |
/// | 13 | CONTENT | a precondition on the image content failed |
/// | 14 | INTERNAL | a bug in medseg |
/// | 100 | NULL_ARGUMENT | a required pointer argument was NULL |
/// | 101 | PANIC | medseg panicked (a bug); the call had no effect on the caller's memory |
/// | 102 | INVALID_HANDLE | a handle that is not live (freed, foreign or of another type) |
/// | 103 | POISONED | a handle whose earlier call panicked; only `_free` is allowed |
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum medseg_status {
    /// Success.
    Ok = 0,
    /// The operating system refused a file operation (not found, permission, disk full).
    Io = 1,
    /// A file's bytes do not follow its format (bad magic, truncated, inconsistent header).
    Format = 2,
    /// A valid file or request that this build cannot handle.
    Unsupported = 3,
    /// An argument is out of range or malformed (including an unknown enumeration value).
    InvalidArgument = 4,
    /// Spacing, direction or size is not a valid image grid.
    InvalidGeometry = 5,
    /// The pixel type is not the one the operation needs, or is not a known pixel type.
    PixelType = 6,
    /// Two inputs that must agree (shape, buffer length, strides) do not.
    Mismatch = 7,
    /// A size would exceed a configured limit or overflow.
    TooLarge = 8,
    /// A model folder, manifest or network is missing or inconsistent.
    Model = 9,
    /// The inference runtime is missing, the wrong version, or failed.
    Runtime = 10,
    /// The requested device is unavailable.
    Device = 11,
    /// The caller cancelled the operation through its progress callback; no output was written.
    Cancelled = 12,
    /// A precondition on the image content failed.
    Content = 13,
    /// A bug in medseg: an invariant did not hold.
    Internal = 14,
    /// A required pointer argument was NULL.
    NullArgument = 100,
    /// medseg panicked (a bug). The panic was stopped at the boundary; the message says where.
    Panic = 101,
    /// A handle argument is not a live handle of the expected type (already freed, never
    /// returned by medseg, or a handle of another type).
    InvalidHandle = 102,
    /// A handle whose earlier call panicked: its state cannot be trusted; only `_free` is allowed.
    Poisoned = 103,
}

/// Every status, in number order (not `pub`: cbindgen would export it as a macro).
const ALL_STATUSES: [medseg_status; 19] = [
    medseg_status::Ok,
    medseg_status::Io,
    medseg_status::Format,
    medseg_status::Unsupported,
    medseg_status::InvalidArgument,
    medseg_status::InvalidGeometry,
    medseg_status::PixelType,
    medseg_status::Mismatch,
    medseg_status::TooLarge,
    medseg_status::Model,
    medseg_status::Runtime,
    medseg_status::Device,
    medseg_status::Cancelled,
    medseg_status::Content,
    medseg_status::Internal,
    medseg_status::NullArgument,
    medseg_status::Panic,
    medseg_status::InvalidHandle,
    medseg_status::Poisoned,
];

impl medseg_status {
    /// Every status, in number order.
    pub fn all() -> &'static [medseg_status] {
        &ALL_STATUSES
    }

    /// The one mapping from an engine error kind to a status number.
    pub fn from_kind(kind: ErrorKind) -> Self {
        match kind {
            ErrorKind::Io => medseg_status::Io,
            ErrorKind::Format => medseg_status::Format,
            ErrorKind::Unsupported => medseg_status::Unsupported,
            ErrorKind::InvalidArgument => medseg_status::InvalidArgument,
            ErrorKind::InvalidGeometry => medseg_status::InvalidGeometry,
            ErrorKind::PixelType => medseg_status::PixelType,
            ErrorKind::Mismatch => medseg_status::Mismatch,
            ErrorKind::TooLarge => medseg_status::TooLarge,
            ErrorKind::Model => medseg_status::Model,
            ErrorKind::Runtime => medseg_status::Runtime,
            ErrorKind::Device => medseg_status::Device,
            ErrorKind::Cancelled => medseg_status::Cancelled,
            ErrorKind::Content => medseg_status::Content,
            ErrorKind::Internal => medseg_status::Internal,
        }
    }

    /// A short, stable, lowercase name (`"ok"`, `"format"`, `"null_argument"`, …).
    pub fn name(self) -> &'static CStr {
        match self {
            medseg_status::Ok => c"ok",
            medseg_status::Io => c"io",
            medseg_status::Format => c"format",
            medseg_status::Unsupported => c"unsupported",
            medseg_status::InvalidArgument => c"invalid_argument",
            medseg_status::InvalidGeometry => c"invalid_geometry",
            medseg_status::PixelType => c"pixel_type",
            medseg_status::Mismatch => c"mismatch",
            medseg_status::TooLarge => c"too_large",
            medseg_status::Model => c"model",
            medseg_status::Runtime => c"runtime",
            medseg_status::Device => c"device",
            medseg_status::Cancelled => c"cancelled",
            medseg_status::Content => c"content",
            medseg_status::Internal => c"internal",
            medseg_status::NullArgument => c"null_argument",
            medseg_status::Panic => c"panic",
            medseg_status::InvalidHandle => c"invalid_handle",
            medseg_status::Poisoned => c"poisoned",
        }
    }
}

impl TryFrom<u32> for medseg_status {
    type Error = Error;

    fn try_from(v: u32) -> Result<Self, Error> {
        ALL_STATUSES
            .iter()
            .copied()
            .find(|s| *s as u32 == v)
            .ok_or_else(|| Error::invalid_argument(format!("{v} is not a medseg_status number")))
    }
}

/// A failure at the boundary: a status plus the message kept as the last error.
#[derive(Debug)]
pub(crate) struct FfiError {
    status: medseg_status,
    message: String,
}

impl FfiError {
    /// A failure with an explicit status.
    pub(crate) fn new(status: medseg_status, message: impl Into<String>) -> Self {
        FfiError {
            status,
            message: message.into(),
        }
    }

    /// The message recorded as the last error.
    pub(crate) fn message(&self) -> &str {
        &self.message
    }

    /// `what` (a parameter name) was NULL.
    pub(crate) fn null(what: &str) -> Self {
        Self::new(
            medseg_status::NullArgument,
            format!("argument '{what}' is NULL"),
        )
    }
}

impl From<Error> for FfiError {
    fn from(e: Error) -> Self {
        FfiError {
            status: medseg_status::from_kind(e.kind()),
            message: e.chain(),
        }
    }
}

/// `Result` of the code inside an entry point.
pub(crate) type FfiResult<T> = Result<T, FfiError>;

thread_local! {
    /// The message of the last failure on this thread (NUL-free, so it converts to a C string).
    static LAST_ERROR: RefCell<Option<CString>> = const { RefCell::new(None) };
    /// Depth of boundaries active on this thread (the panic hook stays quiet inside one).
    static DEPTH: Cell<u32> = const { Cell::new(0) };
    /// The message and location recorded by the panic hook.
    static PANIC_MESSAGE: RefCell<Option<String>> = const { RefCell::new(None) };
    /// Handles borrowed during the current call: poisoned if the call panics.
    static TOUCHED: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
}

fn set_last_error(message: &str) {
    let clean: Vec<u8> = message
        .bytes()
        .map(|b| if b == 0 { b'?' } else { b })
        .collect();
    let c = CString::new(clean).ok();
    let _ = LAST_ERROR.try_with(|l| {
        if let Ok(mut l) = l.try_borrow_mut() {
            *l = c;
        }
    });
}

fn clear_last_error() {
    let _ = LAST_ERROR.try_with(|l| {
        if let Ok(mut l) = l.try_borrow_mut() {
            *l = None;
        }
    });
}

fn payload_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_owned()
    }
}

/// Install (once per process) a panic hook that, inside a boundary on the current thread, records
/// the panic message and location instead of printing them; elsewhere it defers to the hook that
/// was installed before.
fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let inside = DEPTH.try_with(|d| d.get() > 0).unwrap_or(false);
            if !inside {
                previous(info);
                return;
            }
            let mut msg = payload_message(info.payload());
            if let Some(loc) = info.location() {
                msg = format!("{msg} (at {}:{})", loc.file(), loc.line());
            }
            let _ = PANIC_MESSAGE.try_with(|p| {
                if let Ok(mut p) = p.try_borrow_mut() {
                    *p = Some(msg);
                }
            });
        }));
    });
}

/// Run `f` inside the panic boundary: no unwinding leaves it. Returns `f`'s value, or the
/// message of the panic (handles borrowed during `f` are poisoned then).
fn catch<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    install_panic_hook();
    let _ = TOUCHED.try_with(|t| t.borrow_mut().clear());
    let _ = DEPTH.try_with(|d| d.set(d.get().saturating_add(1)));
    let r = catch_unwind(AssertUnwindSafe(f));
    let _ = DEPTH.try_with(|d| d.set(d.get().saturating_sub(1)));
    let touched = TOUCHED
        .try_with(|t| std::mem::take(&mut *t.borrow_mut()))
        .unwrap_or_default();
    match r {
        Ok(v) => Ok(v),
        Err(payload) => {
            let recorded = PANIC_MESSAGE
                .try_with(|p| p.borrow_mut().take())
                .ok()
                .flatten();
            // Drop the payload inside its own boundary: a payload whose destructor panics must
            // not unwind into C either.
            let msg = recorded.unwrap_or_else(|| payload_message(&*payload));
            let _ = catch_unwind(AssertUnwindSafe(move || drop(payload)));
            for h in touched {
                registry_set_poisoned(h);
            }
            Err(format!("medseg panicked: {msg}"))
        }
    }
}

/// The boundary for a fallible entry point: clears the last error, runs `f`, and turns its error
/// or panic into a status (recording the message).
pub(crate) fn status(f: impl FnOnce() -> FfiResult<()>) -> medseg_status {
    clear_last_error();
    match catch(f) {
        Ok(Ok(())) => medseg_status::Ok,
        Ok(Err(e)) => {
            set_last_error(&e.message);
            e.status
        }
        Err(msg) => {
            set_last_error(&msg);
            medseg_status::Panic
        }
    }
}

/// The boundary for an entry point that returns a value instead of a status (accessors, `_free`):
/// `neutral` is returned if `f` panics, and the panic message becomes the last error. The last
/// error is not cleared on entry, so these may be called while inspecting a failure.
pub(crate) fn value<T>(neutral: T, f: impl FnOnce() -> T) -> T {
    match catch(f) {
        Ok(v) => v,
        Err(msg) => {
            set_last_error(&msg);
            neutral
        }
    }
}

/// Record a message as the last error without failing (for `void` functions that detect misuse).
pub(crate) fn note_error(message: &str) {
    set_last_error(message);
}

// ---------------------------------------------------------------------------------------------
// Handle registry.

/// A type handed to C as an opaque handle.
pub(crate) trait Handle: Sized + 'static {
    /// The C type name, for messages.
    const NAME: &'static str;
}

#[derive(Debug, Clone, Copy)]
struct HandleState {
    type_name: &'static str,
    poisoned: bool,
}

/// Live handles by address. Checked on every use, so a stale pointer is reported, not followed
/// (best effort: an address reused by a new handle of the same type cannot be told apart).
static HANDLES: Mutex<BTreeMap<usize, HandleState>> = Mutex::new(BTreeMap::new());

fn with_registry<R>(f: impl FnOnce(&mut BTreeMap<usize, HandleState>) -> R) -> R {
    // The registry holds plain data, so a panic elsewhere cannot leave it inconsistent.
    let mut g = HANDLES.lock().unwrap_or_else(|e| e.into_inner());
    f(&mut g)
}

fn registry_set_poisoned(addr: usize) {
    with_registry(|r| {
        if let Some(s) = r.get_mut(&addr) {
            s.poisoned = true;
        }
    });
}

/// Move `value` to the heap, register it and return the pointer handed to C.
pub(crate) fn into_handle<T: Handle>(value: T) -> *mut T {
    let p = Box::into_raw(Box::new(value));
    with_registry(|r| {
        r.insert(
            p as usize,
            HandleState {
                type_name: T::NAME,
                poisoned: false,
            },
        )
    });
    p
}

fn check_live<T: Handle>(addr: usize, what: &str) -> FfiResult<()> {
    match with_registry(|r| r.get(&addr).copied()) {
        None => Err(FfiError::new(
            medseg_status::InvalidHandle,
            format!(
                "argument '{what}' ({addr:#x}) is not a live {} (freed, or not created by medseg)",
                T::NAME
            ),
        )),
        Some(s) if s.type_name != T::NAME => Err(FfiError::new(
            medseg_status::InvalidHandle,
            format!("argument '{what}' is a {}, not a {}", s.type_name, T::NAME),
        )),
        Some(s) if s.poisoned => Err(FfiError::new(
            medseg_status::Poisoned,
            format!(
                "argument '{what}': this {} is poisoned by an earlier panic; only free it",
                T::NAME
            ),
        )),
        Some(_) => Ok(()),
    }
}

/// Borrow a live handle passed by C.
///
/// # Safety
/// If `p` is registered it points to a live `T` created by [`into_handle`]; the caller (C) must
/// not free it while this call runs (documented on every `_free`).
pub(crate) unsafe fn borrow_handle<'a, T: Handle>(p: *const T, what: &str) -> FfiResult<&'a T> {
    if p.is_null() {
        return Err(FfiError::null(what));
    }
    check_live::<T>(p as usize, what)?;
    let _ = TOUCHED.try_with(|t| t.borrow_mut().push(p as usize));
    // SAFETY: `p` is registered, so it came from `Box::into_raw` in `into_handle` and has not
    // been released; handles are never mutated through shared borrows.
    Ok(unsafe { &*p })
}

/// Unregister and reclaim a handle. NULL gives `Ok(None)`; an unknown pointer is an error and is
/// not touched (so a double free is reported instead of corrupting memory). Poisoned handles
/// are released normally.
///
/// # Safety
/// As [`borrow_handle`]; after this call the pointer is dangling.
pub(crate) unsafe fn release_handle<T: Handle>(p: *mut T, what: &str) -> FfiResult<Option<Box<T>>> {
    if p.is_null() {
        return Ok(None);
    }
    let addr = p as usize;
    let removed = with_registry(|r| match r.get(&addr) {
        Some(s) if s.type_name == T::NAME => r.remove(&addr),
        _ => None,
    });
    if removed.is_none() {
        return Err(FfiError::new(
            medseg_status::InvalidHandle,
            format!(
                "argument '{what}' ({addr:#x}) is not a live {} (double free, or not created by medseg); ignored",
                T::NAME
            ),
        ));
    }
    // SAFETY: the address was registered by `into_handle` (a `Box<T>`) and is now unregistered,
    // so this is the only reclaim.
    Ok(Some(unsafe { Box::from_raw(p) }))
}

/// Write `value` through an out-pointer.
///
/// # Safety
/// `out` must be NULL or valid for a write of `T`.
pub(crate) unsafe fn write_out<T>(out: *mut T, value: T, what: &str) -> FfiResult<()> {
    if out.is_null() {
        return Err(FfiError::null(what));
    }
    // SAFETY: non-null and valid for writes by the caller's contract; `write` does not read or
    // drop the old (possibly uninitialised) value.
    unsafe { out.write(value) };
    Ok(())
}

/// A C string argument as bytes (not necessarily UTF-8).
///
/// # Safety
/// `s` must be NULL or point to a NUL-terminated string valid for the duration of the call.
pub(crate) unsafe fn c_str_arg<'a>(s: *const c_char, what: &str) -> FfiResult<&'a CStr> {
    if s.is_null() {
        return Err(FfiError::null(what));
    }
    // SAFETY: non-null and NUL-terminated by the caller's contract.
    Ok(unsafe { CStr::from_ptr(s) })
}

// ---------------------------------------------------------------------------------------------
// Entry points.

/// The short, stable name of a status number (`"ok"`, `"format"`, `"null_argument"`, …), or
/// `"unknown"` for a number that is not a `medseg_status`.
///
/// Never fails; does not touch the last error. The returned string is static: never free it.
#[unsafe(no_mangle)]
pub extern "C" fn medseg_status_name(status: u32) -> *const c_char {
    value(c"unknown".as_ptr(), || {
        medseg_status::try_from(status)
            .map(|s| s.name())
            .unwrap_or(c"unknown")
            .as_ptr()
    })
}

/// The message of the last failure on the calling thread: UTF-8 (bytes from file names are
/// passed through), NUL-terminated, never NULL; `""` when the last fallible call succeeded.
///
/// Every function that returns a `medseg_status` clears it on entry and sets it when it fails.
/// The pointer is owned by medseg and stays valid until the next `medseg_` call on this thread
/// (copy it if you need it longer); never free it. Each thread has its own message.
#[unsafe(no_mangle)]
pub extern "C" fn medseg_last_error_message() -> *const c_char {
    value(c"".as_ptr(), || {
        LAST_ERROR
            .try_with(|l| match l.try_borrow() {
                Ok(l) => l.as_ref().map_or(c"".as_ptr(), |c| c.as_ptr()),
                Err(_) => c"".as_ptr(),
            })
            .unwrap_or(c"".as_ptr())
    })
}

/// FOR TESTS ONLY: panics inside the boundary, to prove that a panic becomes
/// `MEDSEG_STATUS_PANIC` (with the panic message as the last error) instead of aborting the host.
///
/// `image` may be NULL. When it is a live image it is borrowed before the panic and therefore
/// becomes poisoned: later calls with it return `MEDSEG_STATUS_POISONED` (it can still be freed).
/// Always returns `MEDSEG_STATUS_PANIC`, or the status of the failed handle check.
///
/// # Safety
/// `image` must be NULL or a pointer returned by medseg (a stale one is reported).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medseg_test_panic(
    image: *const super::image::medseg_image,
) -> medseg_status {
    status(|| {
        if !image.is_null() {
            // SAFETY: checked against the registry inside.
            unsafe { borrow_handle(image, "image") }?;
        }
        panic!("medseg_test_panic was called (deliberate panic for tests)");
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_numbered_and_named_once() {
        let mut seen = std::collections::HashSet::new();
        for &s in medseg_status::all() {
            assert!(seen.insert(s as u32), "number {} reused", s as u32);
            assert_eq!(medseg_status::try_from(s as u32).ok(), Some(s));
            assert_ne!(s.name(), c"unknown");
        }
        assert!(medseg_status::try_from(15).is_err());
        assert_eq!(medseg_status::Ok as u32, 0);
        assert_eq!(medseg_status::Panic as u32, 101);
    }

    #[test]
    fn boundary_turns_errors_and_panics_into_statuses() {
        let s = status(|| Err(Error::format("bad magic in x.nii").into()));
        assert_eq!(s, medseg_status::Format);
        // SAFETY: the pointer is valid until the next medseg call on this thread.
        let m = unsafe { CStr::from_ptr(medseg_last_error_message()) };
        assert_eq!(m.to_str().ok(), Some("bad magic in x.nii"));
        let s = status(|| panic!("boom"));
        assert_eq!(s, medseg_status::Panic);
        // SAFETY: as above.
        let m = unsafe { CStr::from_ptr(medseg_last_error_message()) };
        let m = m.to_string_lossy();
        assert!(m.contains("boom") && m.contains("boundary.rs"), "{m}");
        assert_eq!(status(|| Ok(())), medseg_status::Ok);
        // SAFETY: as above.
        assert_eq!(unsafe { CStr::from_ptr(medseg_last_error_message()) }, c"");
        assert_eq!(value(7, || panic!("x")), 7);
    }
}
