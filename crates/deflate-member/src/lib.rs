//! A safe wrapper for one libdeflate call that the `libdeflater` crate does not expose:
//! `libdeflate_gzip_decompress_ex`, which inflates the first gzip member of a buffer and reports
//! how many input bytes it used. medseg needs that count to tell a single-member `.gz` file from
//! concatenated members whose first member happens to match the trailer.
//!
//! Kept in its own crate so that `medseg` itself has no `unsafe` outside its C ABI and its
//! borrowed-view module.

use libdeflate_sys as sys;

/// Inflate the first gzip member of `src` into `dst`.
///
/// Returns `(input bytes used, output bytes written)` on success, `None` when the data is not
/// valid gzip, is truncated, or needs more than `dst.len()` output bytes.
///
/// ```
/// assert_eq!(deflate_member::gzip_decompress_member(b"not gzip", &mut [0u8; 4]), None);
/// ```
pub fn gzip_decompress_member(src: &[u8], dst: &mut [u8]) -> Option<(usize, usize)> {
    // SAFETY: alloc returns an owned decompressor or NULL; it is freed below on every path.
    let d = unsafe { sys::libdeflate_alloc_decompressor() };
    if d.is_null() {
        return None;
    }
    let (mut used_in, mut used_out) = (0usize, 0usize);
    // SAFETY: src and dst are valid for their lengths; the out-pointers are valid locals;
    // libdeflate writes at most dst.len() bytes into dst and reads at most src.len() bytes.
    let r = unsafe {
        sys::libdeflate_gzip_decompress_ex(
            d,
            src.as_ptr().cast(),
            src.len(),
            dst.as_mut_ptr().cast(),
            dst.len(),
            &mut used_in,
            &mut used_out,
        )
    };
    // SAFETY: d came from libdeflate_alloc_decompressor and is not used afterwards.
    unsafe { sys::libdeflate_free_decompressor(d) };
    (r == sys::libdeflate_result_LIBDEFLATE_SUCCESS).then_some((used_in, used_out))
}

#[cfg(test)]
mod tests {
    #[test]
    fn reports_the_first_member_only() {
        // Python's gzip.compress(b"ab", mtime=0), twice.
        let member: [u8; 22] = [
            31, 139, 8, 0, 0, 0, 0, 0, 2, 3, 75, 76, 2, 0, 109, 72, 131, 158, 2, 0, 0, 0,
        ];
        let two = [member, member].concat();
        let mut out = [0u8; 2];
        assert_eq!(super::gzip_decompress_member(&two, &mut out), Some((22, 2)));
        assert_eq!(&out, b"ab");
        assert_eq!(super::gzip_decompress_member(&two[..10], &mut out), None);
    }
}
