//! Borrowed views over memory the engine does not own (ITK/Slicer buffers, numpy arrays).
//!
//! A view pairs a borrowed slice with its geometry and element strides, so a caller's buffer is
//! read or written in place, without a copy. Strides are in elements (not bytes) for the i, j and
//! k axes; a contiguous i-fastest scalar buffer has strides `[1, ni, ni·nj]`. Negative strides
//! are not supported (ITK and Slicer never produce them).
//!
//! The only `unsafe` here is [`ImageView::from_raw_parts`] / [`ImageViewMut::from_raw_parts`],
//! which the C ABI uses to turn a (pointer, length) pair into a slice.

use super::{Geometry, Image, Pixel};
use crate::error::{Error, Result};

fn check_strides(
    geometry: &Geometry,
    components: usize,
    strides: [usize; 3],
    len: usize,
) -> Result<()> {
    geometry.validate()?;
    if components == 0 {
        return Err(Error::invalid_argument("components must be at least 1"));
    }
    if strides[0] < components {
        return Err(Error::invalid_argument(format!(
            "stride along i ({}) is smaller than the {components} components of a voxel",
            strides[0]
        )));
    }
    // Offset of the last element: Σ (n_a − 1)·stride_a + components − 1.
    let mut last = components - 1;
    for a in 0..3 {
        let step = (geometry.size[a] - 1)
            .checked_mul(strides[a])
            .ok_or_else(|| Error::too_large("view strides overflow"))?;
        last = last
            .checked_add(step)
            .ok_or_else(|| Error::too_large("view strides overflow"))?;
    }
    if last >= len {
        return Err(Error::mismatch(format!(
            "view of size {:?} with strides {strides:?} reaches element {last}, but the buffer holds {len}",
            geometry.size
        )));
    }
    Ok(())
}

/// Contiguous strides for `size` with `components` values per voxel.
pub fn contiguous_strides(size: [usize; 3], components: usize) -> [usize; 3] {
    [
        components,
        components * size[0],
        components * size[0] * size[1],
    ]
}

/// A read-only borrowed image.
#[derive(Debug, Clone, Copy)]
pub struct ImageView<'a, T: Pixel> {
    data: &'a [T],
    geometry: Geometry,
    components: usize,
    strides: [usize; 3],
}

impl<'a, T: Pixel> ImageView<'a, T> {
    /// A view of a contiguous scalar buffer.
    pub fn new(data: &'a [T], geometry: Geometry) -> Result<Self> {
        Self::strided(data, geometry, 1, contiguous_strides(geometry.size, 1))
    }

    /// A view with explicit components and element strides, checked against `data.len()`.
    pub fn strided(
        data: &'a [T],
        geometry: Geometry,
        components: usize,
        strides: [usize; 3],
    ) -> Result<Self> {
        check_strides(&geometry, components, strides, data.len())?;
        Ok(ImageView {
            data,
            geometry,
            components,
            strides,
        })
    }

    /// A view over `len` elements starting at `ptr`.
    ///
    /// # Safety
    /// `ptr` must be non-null, aligned for `T`, and valid for reads of `len` elements for the
    /// lifetime `'a`, and nothing may write that memory while the view lives.
    pub unsafe fn from_raw_parts(
        ptr: *const T,
        len: usize,
        geometry: Geometry,
        components: usize,
        strides: [usize; 3],
    ) -> Result<Self> {
        if ptr.is_null() {
            return Err(Error::invalid_argument("image buffer pointer is NULL"));
        }
        if !(ptr as usize).is_multiple_of(std::mem::align_of::<T>()) {
            return Err(Error::invalid_argument(
                "image buffer pointer is misaligned for its pixel type",
            ));
        }
        // SAFETY: the caller guarantees ptr is valid for `len` reads for 'a and not mutated.
        let data = unsafe { std::slice::from_raw_parts(ptr, len) };
        Self::strided(data, geometry, components, strides)
    }

    /// The grid.
    pub fn geometry(&self) -> &Geometry {
        &self.geometry
    }

    /// Values per voxel.
    pub fn components(&self) -> usize {
        self.components
    }

    /// Element strides along i, j, k.
    pub fn strides(&self) -> [usize; 3] {
        self.strides
    }

    /// The backing buffer when the view is contiguous (no copy needed), else `None`.
    pub fn as_contiguous(&self) -> Option<&'a [T]> {
        let n = self.geometry.voxel_count() * self.components;
        (self.strides == contiguous_strides(self.geometry.size, self.components))
            .then(|| &self.data[..n])
    }

    /// Component `c` of voxel (i, j, k).
    #[inline]
    pub fn get(&self, i: usize, j: usize, k: usize, c: usize) -> T {
        self.data[i * self.strides[0] + j * self.strides[1] + k * self.strides[2] + c]
    }

    /// Copy into an owned, contiguous image.
    pub fn to_image(&self) -> Result<Image<T>> {
        if let Some(s) = self.as_contiguous() {
            return Image::with_layout(self.geometry, self.components, 1, s.to_vec());
        }
        let [ni, nj, nk] = self.geometry.size;
        let mut out = Vec::with_capacity(self.geometry.voxel_count() * self.components);
        for k in 0..nk {
            for j in 0..nj {
                for i in 0..ni {
                    for c in 0..self.components {
                        out.push(self.get(i, j, k, c));
                    }
                }
            }
        }
        Image::with_layout(self.geometry, self.components, 1, out)
    }
}

impl<'a, T: Pixel> From<&'a Image<T>> for ImageView<'a, T> {
    fn from(img: &'a Image<T>) -> Self {
        ImageView {
            data: img.data(),
            geometry: *img.geometry(),
            components: img.components(),
            strides: contiguous_strides(img.geometry().size, img.components()),
        }
    }
}

/// A writable borrowed image (e.g. the output buffer ITK already allocated).
#[derive(Debug)]
pub struct ImageViewMut<'a, T: Pixel> {
    data: &'a mut [T],
    geometry: Geometry,
    components: usize,
    strides: [usize; 3],
}

impl<'a, T: Pixel> ImageViewMut<'a, T> {
    /// A writable view with explicit components and strides, checked against `data.len()`.
    pub fn strided(
        data: &'a mut [T],
        geometry: Geometry,
        components: usize,
        strides: [usize; 3],
    ) -> Result<Self> {
        check_strides(&geometry, components, strides, data.len())?;
        Ok(ImageViewMut {
            data,
            geometry,
            components,
            strides,
        })
    }

    /// A writable view over `len` elements starting at `ptr`.
    ///
    /// # Safety
    /// `ptr` must be non-null, aligned for `T`, valid for reads and writes of `len` elements for
    /// `'a`, and not accessed through any other pointer while the view lives.
    pub unsafe fn from_raw_parts(
        ptr: *mut T,
        len: usize,
        geometry: Geometry,
        components: usize,
        strides: [usize; 3],
    ) -> Result<Self> {
        if ptr.is_null() {
            return Err(Error::invalid_argument("output buffer pointer is NULL"));
        }
        if !(ptr as usize).is_multiple_of(std::mem::align_of::<T>()) {
            return Err(Error::invalid_argument(
                "output buffer pointer is misaligned for its pixel type",
            ));
        }
        // SAFETY: the caller guarantees exclusive, valid access to `len` elements for 'a.
        let data = unsafe { std::slice::from_raw_parts_mut(ptr, len) };
        Self::strided(data, geometry, components, strides)
    }

    /// The grid.
    pub fn geometry(&self) -> &Geometry {
        &self.geometry
    }

    /// Values per voxel.
    pub fn components(&self) -> usize {
        self.components
    }

    /// Copy an image with the same size and components into the view.
    pub fn copy_from(&mut self, img: &Image<T>) -> Result<()> {
        if img.geometry().size != self.geometry.size
            || img.components() != self.components
            || img.frames() != 1
        {
            return Err(Error::mismatch(format!(
                "result of size {:?}×{} does not fit the output view {:?}×{}",
                img.geometry().size,
                img.components(),
                self.geometry.size,
                self.components
            )));
        }
        let contiguous = contiguous_strides(self.geometry.size, self.components);
        if self.strides == contiguous {
            let n = img.data().len();
            self.data[..n].copy_from_slice(img.data());
            return Ok(());
        }
        let [ni, nj, nk] = self.geometry.size;
        let src = img.data();
        let mut s = 0;
        for k in 0..nk {
            for j in 0..nj {
                for i in 0..ni {
                    let base = i * self.strides[0] + j * self.strides[1] + k * self.strides[2];
                    self.data[base..base + self.components]
                        .copy_from_slice(&src[s..s + self.components]);
                    s += self.components;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strided_view_reads_and_checks_bounds() {
        let g = Geometry::with_size([2, 2, 1]).unwrap();
        // Row padding: each j-row holds 3 elements, only 2 used.
        let buf = [1u8, 2, 99, 3, 4, 99];
        let v = ImageView::strided(&buf, g, 1, [1, 3, 6]).unwrap();
        assert_eq!(v.to_image().unwrap().data(), &[1, 2, 3, 4]);
        assert!(v.as_contiguous().is_none());
        assert!(ImageView::strided(&buf[..4], g, 1, [1, 3, 6]).is_err());
        let mut out = [0u8; 6];
        let mut w = ImageViewMut::strided(&mut out, g, 1, [1, 3, 6]).unwrap();
        w.copy_from(&v.to_image().unwrap()).unwrap();
        assert_eq!(out, [1, 2, 0, 3, 4, 0]);
    }
}
