//! Pixel types and the [`Pixel`] trait that connects them to Rust scalars.

use crate::error::{Error, Result};

/// The stored scalar type of an image. RGB(A) pictures are `U8` with 3 (4) components.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PixelType {
    U8,
    I8,
    U16,
    I16,
    U32,
    I32,
    U64,
    I64,
    F32,
    F64,
}

impl PixelType {
    /// All types, in the order of their C numbering (`medseg_pixel_type`).
    pub const ALL: [PixelType; 10] = [
        PixelType::U8,
        PixelType::I8,
        PixelType::U16,
        PixelType::I16,
        PixelType::U32,
        PixelType::I32,
        PixelType::U64,
        PixelType::I64,
        PixelType::F32,
        PixelType::F64,
    ];

    /// Bytes per scalar.
    pub fn size(self) -> usize {
        match self {
            PixelType::U8 | PixelType::I8 => 1,
            PixelType::U16 | PixelType::I16 => 2,
            PixelType::U32 | PixelType::I32 | PixelType::F32 => 4,
            PixelType::U64 | PixelType::I64 | PixelType::F64 => 8,
        }
    }

    /// Short name: `u8`, `i16`, `f32`, …
    pub fn name(self) -> &'static str {
        match self {
            PixelType::U8 => "u8",
            PixelType::I8 => "i8",
            PixelType::U16 => "u16",
            PixelType::I16 => "i16",
            PixelType::U32 => "u32",
            PixelType::I32 => "i32",
            PixelType::U64 => "u64",
            PixelType::I64 => "i64",
            PixelType::F32 => "f32",
            PixelType::F64 => "f64",
        }
    }

    /// Parse a short name (`u8`, `int16`, `float32`, `uint8`, …).
    pub fn from_name(s: &str) -> Result<Self> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "u8" | "uint8" | "uchar" => PixelType::U8,
            "i8" | "int8" | "char" => PixelType::I8,
            "u16" | "uint16" | "ushort" => PixelType::U16,
            "i16" | "int16" | "short" => PixelType::I16,
            "u32" | "uint32" | "uint" => PixelType::U32,
            "i32" | "int32" | "int" => PixelType::I32,
            "u64" | "uint64" => PixelType::U64,
            "i64" | "int64" => PixelType::I64,
            "f32" | "float32" | "float" => PixelType::F32,
            "f64" | "float64" | "double" => PixelType::F64,
            other => {
                return Err(Error::invalid_argument(format!(
                    "unknown pixel type '{other}'"
                )));
            }
        })
    }

    /// True for f32/f64.
    pub fn is_float(self) -> bool {
        matches!(self, PixelType::F32 | PixelType::F64)
    }

    /// True for signed integers and floats.
    pub fn is_signed(self) -> bool {
        !matches!(
            self,
            PixelType::U8 | PixelType::U16 | PixelType::U32 | PixelType::U64
        )
    }
}

impl std::fmt::Display for PixelType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

mod sealed {
    pub trait Sealed {}
}

/// A scalar that can be stored in an [`crate::image::Image`].
///
/// `from_f64` converts like a C cast after rounding to nearest for integers and saturating at the
/// type's range (NaN becomes 0); use it only where that rule is documented.
pub trait Pixel:
    Copy
    + Default
    + PartialOrd
    + Send
    + Sync
    + std::fmt::Debug
    + 'static
    + sealed::Sealed
    + bytemuck::Pod
{
    /// The matching [`PixelType`].
    const TYPE: PixelType;
    /// Widen to f64 (exact for all but the largest 64-bit integers).
    fn to_f64(self) -> f64;
    /// Round to nearest, saturate, NaN → 0 (integers); plain cast (floats).
    fn from_f64(v: f64) -> Self;
    /// Decode from little-endian bytes (`b.len() == size`).
    fn from_le(b: &[u8]) -> Self;
    /// Decode from big-endian bytes.
    fn from_be(b: &[u8]) -> Self;
    /// Append the little-endian bytes.
    fn put_le(self, out: &mut Vec<u8>);
}

macro_rules! impl_pixel {
    ($t:ty, $pt:ident, int) => {
        impl sealed::Sealed for $t {}
        impl Pixel for $t {
            const TYPE: PixelType = PixelType::$pt;
            #[inline]
            fn to_f64(self) -> f64 {
                self as f64
            }
            #[inline]
            fn from_f64(v: f64) -> Self {
                // `as` saturates and maps NaN to 0.
                v.round() as $t
            }
            #[inline]
            fn from_le(b: &[u8]) -> Self {
                let mut a = [0u8; std::mem::size_of::<$t>()];
                a.copy_from_slice(b);
                <$t>::from_le_bytes(a)
            }
            #[inline]
            fn from_be(b: &[u8]) -> Self {
                let mut a = [0u8; std::mem::size_of::<$t>()];
                a.copy_from_slice(b);
                <$t>::from_be_bytes(a)
            }
            #[inline]
            fn put_le(self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
        }
    };
    ($t:ty, $pt:ident, float) => {
        impl sealed::Sealed for $t {}
        impl Pixel for $t {
            const TYPE: PixelType = PixelType::$pt;
            #[inline]
            fn to_f64(self) -> f64 {
                self as f64
            }
            #[inline]
            fn from_f64(v: f64) -> Self {
                v as $t
            }
            #[inline]
            fn from_le(b: &[u8]) -> Self {
                let mut a = [0u8; std::mem::size_of::<$t>()];
                a.copy_from_slice(b);
                <$t>::from_le_bytes(a)
            }
            #[inline]
            fn from_be(b: &[u8]) -> Self {
                let mut a = [0u8; std::mem::size_of::<$t>()];
                a.copy_from_slice(b);
                <$t>::from_be_bytes(a)
            }
            #[inline]
            fn put_le(self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
        }
    };
}

impl_pixel!(u8, U8, int);
impl_pixel!(i8, I8, int);
impl_pixel!(u16, U16, int);
impl_pixel!(i16, I16, int);
impl_pixel!(u32, U32, int);
impl_pixel!(i32, I32, int);
impl_pixel!(u64, U64, int);
impl_pixel!(i64, I64, int);
impl_pixel!(f32, F32, float);
impl_pixel!(f64, F64, float);

/// Decode a whole buffer of `T` from bytes in the given endianness (`bytes.len()` must be a
/// multiple of the pixel size; extra bytes are an error).
/// Turn values read in place from a file of the given byte order into native order (in parallel).
pub(crate) fn swap_to_native<T: Pixel>(values: &mut [T], big_endian: bool) {
    use rayon::prelude::*;
    let sz = std::mem::size_of::<T>();
    if sz > 1 && big_endian != cfg!(target_endian = "big") {
        bytemuck::cast_slice_mut::<T, u8>(values)
            .par_chunks_mut(sz << 16)
            .for_each(|c| c.chunks_exact_mut(sz).for_each(|x| x.reverse()));
    }
}

pub fn decode_buffer<T: Pixel>(bytes: &[u8], big_endian: bool) -> Result<Vec<T>> {
    let n = T::TYPE.size();
    if !bytes.len().is_multiple_of(n) {
        return Err(Error::format(format!(
            "{} bytes are not a whole number of {} pixels",
            bytes.len(),
            T::TYPE
        )));
    }
    Ok(if big_endian {
        bytes.chunks_exact(n).map(T::from_be).collect()
    } else {
        bytes.chunks_exact(n).map(T::from_le).collect()
    })
}

/// The little-endian bytes of a buffer.
pub fn encode_buffer<T: Pixel>(data: &[T]) -> Vec<u8> {
    le_bytes(data).into_owned()
}

/// The little-endian bytes of a buffer: the buffer itself on little-endian targets, a converted
/// copy elsewhere.
pub fn le_bytes<T: Pixel>(data: &[T]) -> std::borrow::Cow<'_, [u8]> {
    if cfg!(target_endian = "little") {
        std::borrow::Cow::Borrowed(bytemuck::cast_slice(data))
    } else {
        let mut out = Vec::with_capacity(data.len() * T::TYPE.size());
        for v in data {
            v.put_le(&mut out);
        }
        std::borrow::Cow::Owned(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_f64_rounds_and_saturates() {
        assert_eq!(u8::from_f64(300.0), 255);
        assert_eq!(u8::from_f64(-3.0), 0);
        assert_eq!(i16::from_f64(2.5), 3);
        assert_eq!(i16::from_f64(f64::NAN), 0);
        assert_eq!(f32::from_f64(1.5), 1.5);
    }

    #[test]
    fn endianness() {
        let v: Vec<i16> = decode_buffer(&[0x01, 0x02], true).unwrap();
        assert_eq!(v, vec![0x0102]);
        let v: Vec<i16> = decode_buffer(&[0x01, 0x02], false).unwrap();
        assert_eq!(v, vec![0x0201]);
        assert!(decode_buffer::<i16>(&[1, 2, 3], false).is_err());
        assert_eq!(encode_buffer(&[0x0102i16]), vec![0x02, 0x01]);
    }
}
