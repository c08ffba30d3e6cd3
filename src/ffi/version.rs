//! Version and ABI numbers.
//!
//! The header carries `MEDSEG_VERSION_MAJOR`, `MEDSEG_VERSION_MINOR`, `MEDSEG_VERSION_PATCH`
//! (written by `build.rs` from Cargo.toml) and `MEDSEG_ABI_VERSION` (this file). A program checks
//! at run time that the library it loaded matches the header it was compiled with:
//! `medseg_abi_version() == MEDSEG_ABI_VERSION`.
//!
//! `medseg_version()` stays the bare `"MAJOR.MINOR.PATCH"` that a host compares with the header;
//! the ONNX Runtime found and its execution providers come from `medseg_runtime_info()`, which
//! may have to load that runtime and can fail (ARCHITECTURE.md asked for both in one string; a
//! version call that loads a library and can fail would make the header check unreliable).

use super::boundary::{FfiError, medseg_status, status, value, write_out};
use std::ffi::{CStr, CString, c_char};
use std::path::PathBuf;
use std::sync::OnceLock;

/// The ABI generation. Raised whenever a released function, struct layout or status number
/// changes incompatibly (additions keep it).
pub const MEDSEG_ABI_VERSION: u32 = 1;

const VERSION: &CStr =
    match CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
        Ok(v) => v,
        Err(_) => panic!("CARGO_PKG_VERSION contains a NUL byte"),
    };

/// The library version, `"MAJOR.MINOR.PATCH"` (equal to the header's `MEDSEG_VERSION_*` macros
/// for a matching header).
///
/// Never fails; does not touch the last error. The string is static: never free it.
#[unsafe(no_mangle)]
pub extern "C" fn medseg_version() -> *const c_char {
    value(VERSION.as_ptr(), || VERSION.as_ptr())
}

/// The ONNX Runtime this process runs models with, and its execution providers, as one line:
/// `"ONNX Runtime 1.31.1 (/opt/ort/lib/libonnxruntime.so.1.31.1); execution providers:
/// CPUExecutionProvider"`.
///
/// * `runtime_path`: NULL for the search order of `medseg_model_options.runtime_path`, or a
///   library file or folder; borrowed during the call only.
/// * `out`: on success receives a static string, valid until the process ends; never free it.
///   Written only on success.
///
/// Loads the runtime when no earlier call in this process did (one runtime per process, as for
/// `medseg_model_load`). Errors: `MEDSEG_STATUS_RUNTIME` (no runtime found, wrong version, or a
/// different runtime already loaded), `MEDSEG_STATUS_NULL_ARGUMENT` (`out` is NULL),
/// `MEDSEG_STATUS_INVALID_ARGUMENT` (`runtime_path` is not UTF-8); the reason is in
/// `medseg_last_error_message()`.
///
/// # Safety
/// `runtime_path` is NULL or a NUL-terminated string; `out` is NULL or valid for one write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medseg_runtime_info(
    runtime_path: *const c_char,
    out: *mut *const c_char,
) -> medseg_status {
    static INFO: OnceLock<CString> = OnceLock::new();
    status(|| {
        if out.is_null() {
            return Err(FfiError::null("out"));
        }
        let path = if runtime_path.is_null() {
            None
        } else {
            // SAFETY: non-null and NUL-terminated by the contract above.
            let c = unsafe { CStr::from_ptr(runtime_path) };
            Some(PathBuf::from(c.to_str().map_err(|_| {
                crate::Error::invalid_argument("runtime_path is not UTF-8")
            })?))
        };
        let rt = crate::inference::onnx::init_runtime(path.as_deref())?;
        let line = format!(
            "ONNX Runtime {} ({}); execution providers: {}",
            rt.version,
            rt.path.display(),
            rt.providers.join(", ")
        );
        // One runtime per process: the first successful description stays true.
        let info = INFO.get_or_init(|| {
            CString::new(line.replace('\0', "")).unwrap_or_else(|_| CString::from(c"ONNX Runtime"))
        });
        // SAFETY: `out` is non-null and valid for one write (contract).
        unsafe { write_out(out, info.as_ptr(), "out") }
    })
}

/// The ABI generation of the library, to compare with the header's `MEDSEG_ABI_VERSION`.
///
/// Never fails; does not touch the last error.
#[unsafe(no_mangle)]
pub extern "C" fn medseg_abi_version() -> u32 {
    value(MEDSEG_ABI_VERSION, || MEDSEG_ABI_VERSION)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_string_is_cargo_version() {
        // SAFETY: static NUL-terminated string.
        let v = unsafe { CStr::from_ptr(medseg_version()) };
        assert_eq!(v.to_str().ok(), Some(env!("CARGO_PKG_VERSION")));
        assert_eq!(medseg_abi_version(), MEDSEG_ABI_VERSION);
    }

    #[test]
    fn runtime_info_checks_its_out_pointer_first() {
        // SAFETY: NULL arguments are part of the contract (a status, no write).
        let st = unsafe { medseg_runtime_info(std::ptr::null(), std::ptr::null_mut()) };
        assert_eq!(st, medseg_status::NullArgument);
    }
}
