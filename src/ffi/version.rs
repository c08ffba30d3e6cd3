//! Version and ABI numbers.
//!
//! The header carries `MEDSEG_VERSION_MAJOR`, `MEDSEG_VERSION_MINOR`, `MEDSEG_VERSION_PATCH`
//! (written by `build.rs` from Cargo.toml) and `MEDSEG_ABI_VERSION` (this file). A program checks
//! at run time that the library it loaded matches the header it was compiled with:
//! `medseg_abi_version() == MEDSEG_ABI_VERSION`.

use super::boundary::value;
use std::ffi::{CStr, c_char};

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
}
