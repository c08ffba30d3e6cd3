//! Large zero-filled voxel buffers, backed by transparent huge pages where the kernel offers them.
//!
//! A fresh buffer costs one page fault per 4 KiB page on first touch; for a 157 MB CT that is
//! 38,000 faults, which on the 2-core VM measured here took longer than inflating the data
//! (`docs/benchmarks.md`, formats). Asking the kernel for huge pages (`MADV_HUGEPAGE`) on the
//! interior of a big allocation turns that into ~75 faults of 2 MiB. The advice changes how
//! memory is backed, never its contents: the buffer is an ordinary zeroed `Vec`.
//!
//! ```
//! let v: Vec<i16> = medseg::image::buffer::zeroed(3 * 3 * 3);
//! assert_eq!(v, vec![0i16; 27]);
//! ```

/// Below this many bytes the advice is not worth a system call.
const MIN_ADVISED: usize = 8 << 20;
const HUGE_PAGE: usize = 2 << 20;

/// `n` zero values of `T` (the same as `vec![T::zeroed(); n]`), advised for huge pages when large.
pub fn zeroed<T: bytemuck::Zeroable + Clone>(n: usize) -> Vec<T> {
    let v = vec![T::zeroed(); n];
    advise_huge_pages(v.as_ptr() as usize, std::mem::size_of_val(v.as_slice()));
    v
}

/// Ask for huge pages on the whole 2 MiB pages inside `[addr, addr + len)`.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
fn advise_huge_pages(addr: usize, len: usize) {
    if len < MIN_ADVISED {
        return;
    }
    let start = addr.next_multiple_of(HUGE_PAGE);
    let end = (addr + len) / HUGE_PAGE * HUGE_PAGE;
    if end > start {
        // SAFETY: [start, end) lies inside the live allocation the caller just made and still
        // owns; MADV_HUGEPAGE only changes how the kernel backs those pages, not their contents.
        // Failure (THP disabled, old kernel) is harmless and ignored.
        unsafe {
            libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn advise_huge_pages(_addr: usize, _len: usize) {}

#[cfg(test)]
mod tests {
    #[test]
    fn large_buffers_are_zero_and_writable() {
        let mut v: Vec<f32> = super::zeroed(5 << 20);
        assert!(v.iter().all(|&x| x == 0.0));
        v[3 << 20] = 1.5;
        assert_eq!(v.iter().sum::<f32>(), 1.5);
        assert!(super::zeroed::<u8>(0).is_empty());
    }
}
