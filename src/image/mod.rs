//! The image model: voxels plus the geometry that places them in the patient.
//!
//! * [`Image<T>`] owns an i-fastest buffer of `T` and its [`Geometry`]. Geometry travels inside
//!   the image, never beside it.
//! * Memory order: component fastest (interleaved RGB or vector images), then i, j, k, then
//!   frame (the 4th, e.g. time, dimension). This is the ITK/VTK/NIfTI order, so a buffer from ITK or
//!   Slicer is used without a copy. In ndarray terms a scalar single-frame image is the C-order
//!   array of shape `[nk, nj, ni]` ([`Image::array`]).
//! * [`DynImage`] is the run-time-typed image returned by readers.
//! * [`view`] holds borrowed views over foreign memory (the zero-copy C ABI path).
//! * [`buffer`] allocates large zeroed buffers on huge pages (first-touch cost).
//!
//! ```
//! use medseg::image::{Geometry, Image};
//! let g = Geometry::with_size([3, 3, 3]).unwrap();
//! let mut img = Image::<u8>::filled(g, 0);
//! *img.get_mut(1, 1, 1) = 7;
//! assert_eq!(img.data()[13], 7); // 1 + 3 * (1 + 3 * 1)
//! assert_eq!(img.array().unwrap()[[1, 1, 1]], 7);
//! ```

pub mod buffer;
mod dynimage;
mod geometry;
mod info;
mod pixel;
#[allow(unsafe_code)]
pub mod view;

pub use dynimage::DynImage;
pub use geometry::{DIRECTION_TOLERANCE, Geometry, IDENTITY, Mat3, ras_lps_flip};
pub use info::ImageInfo;
pub(crate) use pixel::swap_to_native;
pub use pixel::{Pixel, PixelType, decode_buffer, encode_buffer, le_bytes};

use crate::error::{Error, Result};
use ndarray::{ArrayView3, ArrayViewMut3};

/// Values in an image of this layout (geometry validated, components and frames ≥ 1).
pub(crate) fn element_count(
    geometry: &Geometry,
    components: usize,
    frames: usize,
) -> Result<usize> {
    geometry.validate()?;
    if components == 0 || frames == 0 {
        return Err(Error::invalid_argument(
            "components and frames must be at least 1",
        ));
    }
    geometry
        .voxel_count()
        .checked_mul(components)
        .and_then(|v| v.checked_mul(frames))
        .ok_or_else(|| Error::too_large("image element count overflows"))
}

/// Voxels of type `T` on a grid.
#[derive(Debug, Clone, PartialEq)]
pub struct Image<T: Pixel> {
    geometry: Geometry,
    components: usize,
    frames: usize,
    data: Vec<T>,
}

/// Summary statistics over every stored value (all components and frames), as float64.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stats {
    pub min: f64,
    pub max: f64,
    pub mean: f64,
}

impl<T: Pixel> Image<T> {
    /// A scalar, single-frame image. `data.len()` must equal the voxel count.
    pub fn new(geometry: Geometry, data: Vec<T>) -> Result<Self> {
        Self::with_layout(geometry, 1, 1, data)
    }

    /// An image with `components` interleaved values per voxel and `frames` volumes.
    pub fn with_layout(
        geometry: Geometry,
        components: usize,
        frames: usize,
        data: Vec<T>,
    ) -> Result<Self> {
        let want = element_count(&geometry, components, frames)?;
        if data.len() != want {
            return Err(Error::mismatch(format!(
                "buffer holds {} values but the grid {:?} × {components} components × {frames} frames needs {want}",
                data.len(),
                geometry.size
            )));
        }
        Ok(Image {
            geometry,
            components,
            frames,
            data,
        })
    }

    /// A scalar image with every voxel set to `value`.
    pub fn filled(geometry: Geometry, value: T) -> Self {
        let n = geometry.voxel_count();
        Image {
            geometry,
            components: 1,
            frames: 1,
            data: vec![value; n],
        }
    }

    /// The grid.
    pub fn geometry(&self) -> &Geometry {
        &self.geometry
    }

    /// Replace the geometry (same size required).
    pub fn set_geometry(&mut self, g: Geometry) -> Result<()> {
        g.validate()?;
        if g.size != self.geometry.size {
            return Err(Error::mismatch(format!(
                "new size {:?} differs from {:?}",
                g.size, self.geometry.size
            )));
        }
        self.geometry = g;
        Ok(())
    }

    /// Values per voxel (1 for scalar images).
    pub fn components(&self) -> usize {
        self.components
    }

    /// Number of volumes along the 4th dimension (1 for 3-D images).
    pub fn frames(&self) -> usize {
        self.frames
    }

    /// The buffer (component fastest, then i, j, k, frame).
    pub fn data(&self) -> &[T] {
        &self.data
    }

    /// The mutable buffer.
    pub fn data_mut(&mut self) -> &mut [T] {
        &mut self.data
    }

    /// Give up the image, keeping its buffer.
    pub fn into_data(self) -> Vec<T> {
        self.data
    }

    /// Decompose into geometry, components, frames and buffer.
    pub fn into_parts(self) -> (Geometry, usize, usize, Vec<T>) {
        (self.geometry, self.components, self.frames, self.data)
    }

    /// Voxel (i, j, k) of a scalar single-frame image. Panics when out of range (a programming
    /// error, not an input error).
    pub fn get(&self, i: usize, j: usize, k: usize) -> T {
        self.data[self.geometry.offset(i, j, k)]
    }

    /// Mutable voxel (i, j, k) of a scalar single-frame image.
    pub fn get_mut(&mut self, i: usize, j: usize, k: usize) -> &mut T {
        let o = self.geometry.offset(i, j, k);
        &mut self.data[o]
    }

    fn require_scalar(&self) -> Result<()> {
        if self.components != 1 || self.frames != 1 {
            return Err(Error::invalid_argument(format!(
                "needs a scalar 3-D image, got {} components × {} frames",
                self.components, self.frames
            )));
        }
        Ok(())
    }

    /// A C-order `[nk, nj, ni]` view of a scalar single-frame image.
    pub fn array(&self) -> Result<ArrayView3<'_, T>> {
        self.require_scalar()?;
        let [ni, nj, nk] = self.geometry.size;
        ArrayView3::from_shape([nk, nj, ni], &self.data).map_err(|e| Error::internal(e.to_string()))
    }

    /// A mutable C-order `[nk, nj, ni]` view of a scalar single-frame image.
    pub fn array_mut(&mut self) -> Result<ArrayViewMut3<'_, T>> {
        self.require_scalar()?;
        let [ni, nj, nk] = self.geometry.size;
        ArrayViewMut3::from_shape([nk, nj, ni], &mut self.data)
            .map_err(|e| Error::internal(e.to_string()))
    }

    /// One frame of a multi-frame image as its own image.
    pub fn frame(&self, t: usize) -> Result<Image<T>> {
        if t >= self.frames {
            return Err(Error::invalid_argument(format!(
                "frame {t} out of range 0..{}",
                self.frames
            )));
        }
        let n = self.geometry.voxel_count() * self.components;
        Ok(Image {
            geometry: self.geometry,
            components: self.components,
            frames: 1,
            data: self.data[t * n..(t + 1) * n].to_vec(),
        })
    }

    /// Convert each value with [`Pixel::from_f64`] (rounding + saturation for integer targets).
    pub fn cast<U: Pixel>(&self) -> Image<U> {
        use rayon::prelude::*;
        Image {
            geometry: self.geometry,
            components: self.components,
            frames: self.frames,
            data: self
                .data
                .par_iter()
                .map(|v| U::from_f64(v.to_f64()))
                .collect(),
        }
    }

    /// A new image on the same grid and layout with each value mapped.
    pub fn map<U: Pixel>(&self, f: impl Fn(T) -> U + Sync) -> Image<U> {
        use rayon::prelude::*;
        Image {
            geometry: self.geometry,
            components: self.components,
            frames: self.frames,
            data: self.data.par_iter().map(|&v| f(v)).collect(),
        }
    }

    /// Min, max and mean over every stored value (NaNs are skipped; all-NaN gives NaN).
    pub fn stats(&self) -> Stats {
        use rayon::prelude::*;
        let (min, max, sum, n) = self
            .data
            .par_chunks(1 << 16)
            .map(|c| {
                let (mut mn, mut mx, mut s, mut n) =
                    (f64::INFINITY, f64::NEG_INFINITY, 0.0f64, 0usize);
                for v in c {
                    let v = v.to_f64();
                    if v.is_nan() {
                        continue;
                    }
                    mn = mn.min(v);
                    mx = mx.max(v);
                    s += v;
                    n += 1;
                }
                (mn, mx, s, n)
            })
            .reduce(
                || (f64::INFINITY, f64::NEG_INFINITY, 0.0, 0),
                |a, b| (a.0.min(b.0), a.1.max(b.1), a.2 + b.2, a.3 + b.3),
            );
        if n == 0 {
            return Stats {
                min: f64::NAN,
                max: f64::NAN,
                mean: f64::NAN,
            };
        }
        Stats {
            min,
            max,
            mean: sum / n as f64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_checks() {
        let g = Geometry::with_size([2, 2, 2]).unwrap();
        assert!(Image::new(g, vec![0u8; 7]).is_err());
        let img = Image::with_layout(g, 3, 2, vec![1u16; 48]).unwrap();
        assert_eq!(img.frame(1).unwrap().data().len(), 24);
        assert!(img.array().is_err());
        let s = Image::new(g, (0..8).map(|v| v as f32).collect())
            .unwrap()
            .stats();
        assert_eq!((s.min, s.max, s.mean), (0.0, 7.0, 3.5));
    }
}
