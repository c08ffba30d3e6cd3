//! [`DynImage`]: an image whose pixel type is known only at run time.

use super::{Geometry, Image, Pixel, PixelType, Stats};
use crate::error::{Error, Result};

/// An image of any supported pixel type.
#[derive(Debug, Clone, PartialEq)]
pub enum DynImage {
    U8(Image<u8>),
    I8(Image<i8>),
    U16(Image<u16>),
    I16(Image<i16>),
    U32(Image<u32>),
    I32(Image<i32>),
    U64(Image<u64>),
    I64(Image<i64>),
    F32(Image<f32>),
    F64(Image<f64>),
}

/// Run `$body` with `$img` bound to the typed image inside a [`DynImage`].
#[macro_export]
macro_rules! dispatch {
    ($dyn:expr, $img:ident => $body:expr) => {
        match $dyn {
            $crate::image::DynImage::U8($img) => $body,
            $crate::image::DynImage::I8($img) => $body,
            $crate::image::DynImage::U16($img) => $body,
            $crate::image::DynImage::I16($img) => $body,
            $crate::image::DynImage::U32($img) => $body,
            $crate::image::DynImage::I32($img) => $body,
            $crate::image::DynImage::U64($img) => $body,
            $crate::image::DynImage::I64($img) => $body,
            $crate::image::DynImage::F32($img) => $body,
            $crate::image::DynImage::F64($img) => $body,
        }
    };
}

macro_rules! from_image {
    ($t:ty, $v:ident) => {
        impl From<Image<$t>> for DynImage {
            fn from(i: Image<$t>) -> Self {
                DynImage::$v(i)
            }
        }
    };
}
from_image!(u8, U8);
from_image!(i8, I8);
from_image!(u16, U16);
from_image!(i16, I16);
from_image!(u32, U32);
from_image!(i32, I32);
from_image!(u64, U64);
from_image!(i64, I64);
from_image!(f32, F32);
from_image!(f64, F64);

impl DynImage {
    /// The stored scalar type.
    pub fn pixel_type(&self) -> PixelType {
        dispatch!(self, i => pixel_type_of(i))
    }

    /// The grid.
    pub fn geometry(&self) -> &Geometry {
        dispatch!(self, i => i.geometry())
    }

    /// Replace the geometry (same size).
    pub fn set_geometry(&mut self, g: Geometry) -> Result<()> {
        dispatch!(self, i => i.set_geometry(g))
    }

    /// Values per voxel.
    pub fn components(&self) -> usize {
        dispatch!(self, i => i.components())
    }

    /// Volumes along the 4th dimension.
    pub fn frames(&self) -> usize {
        dispatch!(self, i => i.frames())
    }

    /// Min/max/mean over all stored values.
    pub fn stats(&self) -> Stats {
        dispatch!(self, i => i.stats())
    }

    /// Convert to `T` (rounding and saturating for integer targets).
    pub fn cast<T: Pixel>(&self) -> Image<T> {
        dispatch!(self, i => i.cast::<T>())
    }

    /// Convert to a [`DynImage`] of the given pixel type.
    pub fn cast_to(&self, t: PixelType) -> DynImage {
        match t {
            PixelType::U8 => self.cast::<u8>().into(),
            PixelType::I8 => self.cast::<i8>().into(),
            PixelType::U16 => self.cast::<u16>().into(),
            PixelType::I16 => self.cast::<i16>().into(),
            PixelType::U32 => self.cast::<u32>().into(),
            PixelType::I32 => self.cast::<i32>().into(),
            PixelType::U64 => self.cast::<u64>().into(),
            PixelType::I64 => self.cast::<i64>().into(),
            PixelType::F32 => self.cast::<f32>().into(),
            PixelType::F64 => self.cast::<f64>().into(),
        }
    }

    /// The buffer's little-endian bytes.
    pub fn to_le_bytes(&self) -> Vec<u8> {
        self.le_bytes().into_owned()
    }

    /// The buffer's little-endian bytes, borrowed where the target is little-endian.
    pub fn le_bytes(&self) -> std::borrow::Cow<'_, [u8]> {
        dispatch!(self, i => super::le_bytes(i.data()))
    }

    /// Build from little- or big-endian bytes of `pixel_type`.
    pub fn from_bytes(
        pixel_type: PixelType,
        geometry: Geometry,
        components: usize,
        frames: usize,
        bytes: &[u8],
        big_endian: bool,
    ) -> Result<DynImage> {
        let size = pixel_type.size();
        Self::from_fill(
            pixel_type,
            geometry,
            components,
            frames,
            big_endian,
            |buf| {
                if !bytes.len().is_multiple_of(size) {
                    return Err(Error::format(format!(
                        "{} bytes are not a whole number of {pixel_type} pixels",
                        bytes.len()
                    )));
                }
                if bytes.len() != buf.len() {
                    return Err(Error::mismatch(format!(
                        "{} bytes given but the grid needs {} ({} values of {pixel_type})",
                        bytes.len(),
                        buf.len(),
                        buf.len() / size
                    )));
                }
                buf.copy_from_slice(bytes);
                Ok(())
            },
        )
    }

    /// Build by letting `fill` write the raw bytes (in the file's byte order, `big_endian`) of
    /// `components × voxels × frames` values straight into the new image's buffer: the reader
    /// reads or inflates into place, with no intermediate byte vector and no copy. Large buffers
    /// are allocated on huge pages ([`super::buffer`]).
    pub fn from_fill(
        pixel_type: PixelType,
        geometry: Geometry,
        components: usize,
        frames: usize,
        big_endian: bool,
        fill: impl FnOnce(&mut [u8]) -> Result<()>,
    ) -> Result<DynImage> {
        fn mk<T: Pixel>(
            g: Geometry,
            c: usize,
            f: usize,
            be: bool,
            fill: impl FnOnce(&mut [u8]) -> Result<()>,
        ) -> Result<Image<T>> {
            let n = super::element_count(&g, c, f)?;
            let mut v: Vec<T> = super::buffer::zeroed(n);
            fill(bytemuck::cast_slice_mut(&mut v))?;
            super::swap_to_native(&mut v, be);
            Image::with_layout(g, c, f, v)
        }
        let (g, c, f, be) = (geometry, components, frames, big_endian);
        Ok(match pixel_type {
            PixelType::U8 => mk::<u8>(g, c, f, be, fill)?.into(),
            PixelType::I8 => mk::<i8>(g, c, f, be, fill)?.into(),
            PixelType::U16 => mk::<u16>(g, c, f, be, fill)?.into(),
            PixelType::I16 => mk::<i16>(g, c, f, be, fill)?.into(),
            PixelType::U32 => mk::<u32>(g, c, f, be, fill)?.into(),
            PixelType::I32 => mk::<i32>(g, c, f, be, fill)?.into(),
            PixelType::U64 => mk::<u64>(g, c, f, be, fill)?.into(),
            PixelType::I64 => mk::<i64>(g, c, f, be, fill)?.into(),
            PixelType::F32 => mk::<f32>(g, c, f, be, fill)?.into(),
            PixelType::F64 => mk::<f64>(g, c, f, be, fill)?.into(),
        })
    }

    /// Borrow as `Image<T>` when the pixel type matches.
    pub fn as_type<T: Pixel>(&self) -> Result<&Image<T>> {
        let found = self.pixel_type();
        let any: &dyn std::any::Any = dispatch!(self, i => i as &dyn std::any::Any);
        any.downcast_ref::<Image<T>>()
            .ok_or_else(|| Error::pixel_type(format!("expected {} pixels, found {found}", T::TYPE)))
    }
}

fn pixel_type_of<T: Pixel>(_: &Image<T>) -> PixelType {
    T::TYPE
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_bytes() {
        let g = Geometry::with_size([2, 1, 1]).unwrap();
        let d = DynImage::from_bytes(PixelType::I16, g, 1, 1, &[1, 0, 0xff, 0xff], false).unwrap();
        assert_eq!(d.as_type::<i16>().unwrap().data(), &[1, -1]);
        assert_eq!(d.to_le_bytes(), vec![1, 0, 0xff, 0xff]);
        assert!(d.as_type::<u8>().is_err());
        assert_eq!(d.cast_to(PixelType::F32).pixel_type(), PixelType::F32);
    }
}
