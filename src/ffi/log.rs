//! The process-wide log callback: medseg never prints; messages the engine produces (for example
//! why `device = "auto"` fell back to the CPU) go to the callback the host installed.

use super::boundary::value;
use std::ffi::{CString, c_char, c_void};
use std::sync::RwLock;

/// Log levels passed to a `medseg_log_callback` (as `uint32_t`).
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum medseg_log_level {
    /// A failure the host should show.
    Error = 1,
    /// Something that did not fail but may not be what the caller wanted (e.g. a device fallback).
    Warning = 2,
    /// Progress of a run (model loaded, device used).
    Info = 3,
    /// Details for debugging.
    Debug = 4,
}

/// Receives medseg's log messages.
///
/// * `userdata`: the pointer given to `medseg_set_log_callback`, passed back unchanged.
/// * `level`: a `medseg_log_level` number (1 error, 2 warning, 3 info, 4 debug).
/// * `message`: NUL-terminated UTF-8, owned by medseg and valid only during the call.
///
/// Called on whichever thread produced the message (several at once when several threads run
/// medseg), so it must be thread-safe. It must not unwind (throw) into medseg.
#[allow(non_camel_case_types)]
pub type medseg_log_callback =
    Option<unsafe extern "C" fn(userdata: *mut c_void, level: u32, message: *const c_char)>;

#[derive(Clone, Copy)]
struct Sink {
    callback: unsafe extern "C" fn(*mut c_void, u32, *const c_char),
    userdata: *mut c_void,
}

// SAFETY: the host promises (documented on `medseg_set_log_callback`) that the callback and its
// userdata may be used from any thread; medseg only passes the pointer back.
unsafe impl Send for Sink {}
// SAFETY: as above; the pair is only copied, never dereferenced by medseg.
unsafe impl Sync for Sink {}

static SINK: RwLock<Option<Sink>> = RwLock::new(None);

/// Send a message to the installed callback, if any. The lock is released before the callback
/// runs, so the callback may itself call `medseg_set_log_callback`.
pub(crate) fn log(level: medseg_log_level, message: &str) {
    let sink = *SINK.read().unwrap_or_else(|e| e.into_inner());
    let Some(sink) = sink else {
        return;
    };
    let clean: Vec<u8> = message
        .bytes()
        .map(|b| if b == 0 { b'?' } else { b })
        .collect();
    let Ok(text) = CString::new(clean) else {
        return;
    };
    // SAFETY: the host installed this callback with this userdata and promised it is callable
    // from any thread; `text` lives until after the call.
    unsafe { (sink.callback)(sink.userdata, level as u32, text.as_ptr()) };
}

/// Install (or, with `callback` NULL, remove) the process-wide log callback. Replaces any
/// earlier one; calls already running may still deliver to the old one.
///
/// * `callback`: called for every message at any level (filter in the callback); may be NULL.
/// * `userdata`: passed back to `callback` unchanged; medseg never dereferences or frees it. It
///   must stay valid until the callback is replaced or removed.
///
/// The callback runs on the thread that produced the message and must be thread-safe. The
/// library never prints; without a callback, messages are dropped.
///
/// # Safety
/// `callback` must be NULL or a function callable with the documented arguments from any
/// thread for as long as it is installed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medseg_set_log_callback(
    callback: medseg_log_callback,
    userdata: *mut c_void,
) {
    value((), || {
        let sink = callback.map(|callback| Sink { callback, userdata });
        *SINK.write().unwrap_or_else(|e| e.into_inner()) = sink;
    })
}
