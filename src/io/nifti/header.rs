//! The binary headers: NIfTI-1 / Analyze 7.5 (348 bytes) and NIfTI-2 (540 bytes), parsed into one
//! [`Header`] with widened fields, in either byte order; and the NIfTI-1/2 header writer.

use crate::error::{Error, Result};

/// Size of the NIfTI-1 / Analyze 7.5 header.
pub const NIFTI1_SIZE: usize = 348;
/// Size of the NIfTI-2 header.
pub const NIFTI2_SIZE: usize = 540;

/// Which header layout a file uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// Analyze 7.5: the 348-byte layout without a NIfTI magic.
    Analyze,
    /// NIfTI-1 (`n+1` single file, `ni1` pair).
    Nifti1,
    /// NIfTI-2 (`n+2` single file, `ni2` pair).
    Nifti2,
}

/// The header fields medseg uses, widened to 64 bits (NIfTI-2 stores them so).
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    pub version: Version,
    pub big_endian: bool,
    /// Magic says the voxels follow the header in the same file (`n+1` / `n+2`).
    pub one_file: bool,
    /// Size of the header in bytes (348 or 540).
    pub size: usize,
    pub dim: [i64; 8],
    pub intent_code: i32,
    pub datatype: i32,
    pub pixdim: [f64; 8],
    pub vox_offset: f64,
    pub scl_slope: f64,
    pub scl_inter: f64,
    pub xyzt_units: i32,
    pub qform_code: i32,
    pub sform_code: i32,
    pub quatern: [f64; 3],
    pub qoffset: [f64; 3],
    pub srow: [[f64; 4]; 3],
}

/// Byte reader over the header with a fixed byte order. Every access is bounds-checked by
/// `get`; the header length is verified before the first field is read.
struct Fields<'a> {
    b: &'a [u8],
    big: bool,
}

impl Fields<'_> {
    fn bytes<const N: usize>(&self, off: usize) -> [u8; N] {
        let mut a = [0u8; N];
        if let Some(s) = self.b.get(off..off + N) {
            a.copy_from_slice(s);
        }
        if self.big {
            a.reverse();
        }
        a
    }
    fn i16(&self, off: usize) -> i16 {
        i16::from_le_bytes(self.bytes(off))
    }
    fn i32(&self, off: usize) -> i32 {
        i32::from_le_bytes(self.bytes(off))
    }
    fn i64(&self, off: usize) -> i64 {
        i64::from_le_bytes(self.bytes(off))
    }
    fn f32(&self, off: usize) -> f64 {
        f32::from_le_bytes(self.bytes(off)) as f64
    }
    fn f64(&self, off: usize) -> f64 {
        f64::from_le_bytes(self.bytes(off))
    }
    fn raw(&self, off: usize, n: usize) -> &[u8] {
        self.b.get(off..off + n).unwrap_or(&[])
    }
}

/// niftilib's `FIXED_FLOAT`: a non-finite header float counts as 0.
fn fixed(v: f64) -> f64 {
    if v.is_finite() { v } else { 0.0 }
}

impl Header {
    /// Parse a header from the first bytes of a file. `what` names the file in errors.
    pub fn parse(b: &[u8], what: &str) -> Result<Header> {
        if b.len() < 4 {
            return Err(Error::format(format!(
                "{what}: file is truncated ({} bytes; a NIfTI/Analyze header needs at least 348)",
                b.len()
            )));
        }
        let le = i32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        let be = i32::from_be_bytes([b[0], b[1], b[2], b[3]]);
        let (size, big) = match (le, be) {
            (348, _) => (NIFTI1_SIZE, false),
            (_, 348) => (NIFTI1_SIZE, true),
            (540, _) => (NIFTI2_SIZE, false),
            (_, 540) => (NIFTI2_SIZE, true),
            _ => {
                return Err(Error::format(format!(
                    "{what}: sizeof_hdr is {le} (byte-swapped {be}); a NIfTI-1/Analyze header has 348, NIfTI-2 540"
                )));
            }
        };
        if b.len() < size {
            return Err(Error::format(format!(
                "{what}: file is truncated: {} bytes, the header alone needs {size}",
                b.len()
            )));
        }
        let f = Fields { b, big };
        let h = if size == NIFTI1_SIZE {
            Self::parse1(&f, what)?
        } else {
            Self::parse2(&f, what)?
        };
        Ok(h)
    }

    fn parse1(f: &Fields<'_>, what: &str) -> Result<Header> {
        let magic = f.raw(344, 4);
        let (version, one_file) = match magic {
            b"n+1\0" => (Version::Nifti1, true),
            b"ni1\0" => (Version::Nifti1, false),
            _ => (Version::Analyze, false),
        };
        let mut dim = [0i64; 8];
        for (i, d) in dim.iter_mut().enumerate() {
            *d = f.i16(40 + 2 * i) as i64;
        }
        let mut pixdim = [0f64; 8];
        for (i, p) in pixdim.iter_mut().enumerate() {
            *p = f.f32(76 + 4 * i);
        }
        let nifti = version != Version::Analyze;
        let mut srow = [[0f64; 4]; 3];
        for (r, row) in srow.iter_mut().enumerate() {
            for (c, v) in row.iter_mut().enumerate() {
                *v = f.f32(280 + 16 * r + 4 * c);
            }
        }
        let _ = what;
        Ok(Header {
            version,
            big_endian: f.big,
            one_file,
            size: NIFTI1_SIZE,
            dim,
            intent_code: if nifti { f.i16(68) as i32 } else { 0 },
            datatype: f.i16(70) as i32,
            pixdim,
            vox_offset: f.f32(108),
            // Analyze has no scaling, units or transforms (niftilib ignores these bytes there).
            scl_slope: if nifti { fixed(f.f32(112)) } else { 0.0 },
            scl_inter: if nifti { fixed(f.f32(116)) } else { 0.0 },
            xyzt_units: if nifti {
                f.raw(123, 1).first().copied().unwrap_or(0) as i32
            } else {
                0
            },
            qform_code: if nifti { f.i16(252) as i32 } else { 0 },
            sform_code: if nifti { f.i16(254) as i32 } else { 0 },
            quatern: [fixed(f.f32(256)), fixed(f.f32(260)), fixed(f.f32(264))],
            qoffset: [fixed(f.f32(268)), fixed(f.f32(272)), fixed(f.f32(276))],
            srow,
        })
    }

    fn parse2(f: &Fields<'_>, what: &str) -> Result<Header> {
        let magic = f.raw(4, 4);
        let one_file = match magic {
            b"n+2\0" => true,
            b"ni2\0" => false,
            _ => {
                return Err(Error::format(format!(
                    "{what}: sizeof_hdr is 540 but the magic is {:?}, not \"n+2\" or \"ni2\"",
                    String::from_utf8_lossy(magic)
                )));
            }
        };
        let mut dim = [0i64; 8];
        for (i, d) in dim.iter_mut().enumerate() {
            *d = f.i64(16 + 8 * i);
        }
        let mut pixdim = [0f64; 8];
        for (i, p) in pixdim.iter_mut().enumerate() {
            *p = f.f64(104 + 8 * i);
        }
        let mut srow = [[0f64; 4]; 3];
        for (r, row) in srow.iter_mut().enumerate() {
            for (c, v) in row.iter_mut().enumerate() {
                *v = f.f64(400 + 32 * r + 8 * c);
            }
        }
        Ok(Header {
            version: Version::Nifti2,
            big_endian: f.big,
            one_file,
            size: NIFTI2_SIZE,
            dim,
            intent_code: f.i32(504),
            datatype: f.i16(12) as i32,
            pixdim,
            vox_offset: f.i64(168) as f64,
            scl_slope: fixed(f.f64(176)),
            scl_inter: fixed(f.f64(184)),
            xyzt_units: f.i32(500),
            qform_code: f.i32(344),
            sform_code: f.i32(348),
            quatern: [fixed(f.f64(352)), fixed(f.f64(360)), fixed(f.f64(368))],
            qoffset: [fixed(f.f64(376)), fixed(f.f64(384)), fixed(f.f64(392))],
            srow,
        })
    }

    /// `dim[0]`, checked to be 1–7.
    pub fn ndim(&self, what: &str) -> Result<usize> {
        let n = self.dim[0];
        if !(1..=7).contains(&n) {
            return Err(Error::format(format!(
                "{what}: dim[0] = {n} is not a number of dimensions between 1 and 7"
            )));
        }
        Ok(n as usize)
    }
}

/// What the writer puts in a header.
#[derive(Debug, Clone)]
pub struct WriteHeader {
    pub nifti2: bool,
    pub one_file: bool,
    pub dim: [i64; 8],
    pub intent_code: i32,
    pub datatype: i32,
    pub bitpix: i32,
    pub pixdim: [f64; 8],
    pub vox_offset: u64,
    pub qform_code: i32,
    pub sform_code: i32,
    pub quatern: [f64; 3],
    pub qoffset: [f64; 3],
    pub srow: [[f64; 4]; 3],
    pub descrip: String,
}

fn put(buf: &mut [u8], off: usize, bytes: &[u8]) {
    if let Some(s) = buf.get_mut(off..off + bytes.len()) {
        s.copy_from_slice(bytes);
    }
}

impl WriteHeader {
    /// Little-endian header bytes (348 or 540).
    pub fn to_bytes(&self) -> Vec<u8> {
        if self.nifti2 {
            self.bytes2()
        } else {
            self.bytes1()
        }
    }

    fn bytes1(&self) -> Vec<u8> {
        let mut b = vec![0u8; NIFTI1_SIZE];
        put(&mut b, 0, &(NIFTI1_SIZE as i32).to_le_bytes());
        b[38] = b'r'; // "regular", as Analyze readers expect
        for (i, d) in self.dim.iter().enumerate() {
            put(&mut b, 40 + 2 * i, &(*d as i16).to_le_bytes());
        }
        put(&mut b, 68, &(self.intent_code as i16).to_le_bytes());
        put(&mut b, 70, &(self.datatype as i16).to_le_bytes());
        put(&mut b, 72, &(self.bitpix as i16).to_le_bytes());
        for (i, p) in self.pixdim.iter().enumerate() {
            put(&mut b, 76 + 4 * i, &(*p as f32).to_le_bytes());
        }
        put(&mut b, 108, &(self.vox_offset as f32).to_le_bytes());
        put(&mut b, 112, &1f32.to_le_bytes()); // scl_slope
        b[123] = 2 | 8; // xyzt_units: mm, s
        let d = self.descrip.as_bytes();
        put(&mut b, 148, &d[..d.len().min(79)]);
        put(&mut b, 252, &(self.qform_code as i16).to_le_bytes());
        put(&mut b, 254, &(self.sform_code as i16).to_le_bytes());
        for (i, (q, o)) in self.quatern.iter().zip(&self.qoffset).enumerate() {
            put(&mut b, 256 + 4 * i, &(*q as f32).to_le_bytes());
            put(&mut b, 268 + 4 * i, &(*o as f32).to_le_bytes());
        }
        for (r, row) in self.srow.iter().enumerate() {
            for (c, v) in row.iter().enumerate() {
                put(&mut b, 280 + 16 * r + 4 * c, &(*v as f32).to_le_bytes());
            }
        }
        put(&mut b, 344, if self.one_file { b"n+1\0" } else { b"ni1\0" });
        b
    }

    fn bytes2(&self) -> Vec<u8> {
        let mut b = vec![0u8; NIFTI2_SIZE];
        put(&mut b, 0, &(NIFTI2_SIZE as i32).to_le_bytes());
        put(
            &mut b,
            4,
            if self.one_file {
                b"n+2\0\r\n\x1a\n"
            } else {
                b"ni2\0\r\n\x1a\n"
            },
        );
        put(&mut b, 12, &(self.datatype as i16).to_le_bytes());
        put(&mut b, 14, &(self.bitpix as i16).to_le_bytes());
        for (i, d) in self.dim.iter().enumerate() {
            put(&mut b, 16 + 8 * i, &d.to_le_bytes());
        }
        for (i, p) in self.pixdim.iter().enumerate() {
            put(&mut b, 104 + 8 * i, &p.to_le_bytes());
        }
        put(&mut b, 168, &(self.vox_offset as i64).to_le_bytes());
        put(&mut b, 176, &1f64.to_le_bytes());
        let d = self.descrip.as_bytes();
        put(&mut b, 240, &d[..d.len().min(79)]);
        put(&mut b, 344, &self.qform_code.to_le_bytes());
        put(&mut b, 348, &self.sform_code.to_le_bytes());
        for (i, (q, o)) in self.quatern.iter().zip(&self.qoffset).enumerate() {
            put(&mut b, 352 + 8 * i, &q.to_le_bytes());
            put(&mut b, 376 + 8 * i, &o.to_le_bytes());
        }
        for (r, row) in self.srow.iter().enumerate() {
            for (c, v) in row.iter().enumerate() {
                put(&mut b, 400 + 32 * r + 8 * c, &v.to_le_bytes());
            }
        }
        put(&mut b, 500, &(2i32 | 8).to_le_bytes());
        put(&mut b, 504, &self.intent_code.to_le_bytes());
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(nifti2: bool) -> WriteHeader {
        WriteHeader {
            nifti2,
            one_file: true,
            dim: [3, 4, 5, 6, 1, 1, 1, 1],
            intent_code: 0,
            datatype: 4,
            bitpix: 16,
            pixdim: [-1.0, 0.5, 0.75, 2.0, 1.0, 1.0, 1.0, 1.0],
            vox_offset: if nifti2 { 544 } else { 352 },
            qform_code: 1,
            sform_code: 2,
            quatern: [0.0, 0.5, 0.25],
            qoffset: [1.0, 2.0, 3.0],
            srow: [
                [1.0, 0.0, 0.0, 1.0],
                [0.0, 2.0, 0.0, 2.0],
                [0.0, 0.0, 3.0, 3.0],
            ],
            descrip: "test".into(),
        }
    }

    #[test]
    fn write_then_parse_both_versions() {
        for v2 in [false, true] {
            let w = sample(v2);
            let b = w.to_bytes();
            let h = Header::parse(&b, "x").unwrap();
            assert_eq!(
                h.version,
                if v2 { Version::Nifti2 } else { Version::Nifti1 }
            );
            assert!(h.one_file && !h.big_endian);
            assert_eq!(h.dim, w.dim);
            assert_eq!(h.pixdim, w.pixdim);
            assert_eq!(h.datatype, 4);
            assert_eq!((h.qform_code, h.sform_code), (1, 2));
            assert_eq!(h.quatern, w.quatern);
            assert_eq!(h.srow, w.srow);
            assert_eq!(h.xyzt_units, 10);
            assert_eq!(h.scl_slope, 1.0);
        }
    }

    #[test]
    fn big_endian_and_analyze() {
        // Byte-swap the numeric fields of a NIfTI-1 header by hand: sizeof_hdr, dims, datatype.
        let mut b = vec![0u8; 348];
        b[0..4].copy_from_slice(&348i32.to_be_bytes());
        for (i, d) in [3i16, 2, 3, 4, 1, 1, 1, 1].iter().enumerate() {
            b[40 + 2 * i..42 + 2 * i].copy_from_slice(&d.to_be_bytes());
        }
        b[70..72].copy_from_slice(&2i16.to_be_bytes());
        b[80..84].copy_from_slice(&1.5f32.to_be_bytes());
        let h = Header::parse(&b, "x").unwrap();
        assert!(h.big_endian);
        assert_eq!(h.version, Version::Analyze);
        assert_eq!(h.dim[..4], [3, 2, 3, 4]);
        assert_eq!(h.pixdim[1], 1.5);
        assert_eq!(h.datatype, 2);
    }

    #[test]
    fn bad_headers_are_typed_errors() {
        use crate::error::ErrorKind;
        assert_eq!(
            Header::parse(&[1, 2], "x").unwrap_err().kind(),
            ErrorKind::Format
        );
        let mut b = vec![0u8; 348];
        b[0..4].copy_from_slice(&349i32.to_le_bytes());
        let e = Header::parse(&b, "f.nii").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Format);
        assert!(e.message().contains("sizeof_hdr is 349"), "{e}");
        b[0..4].copy_from_slice(&348i32.to_le_bytes());
        assert!(Header::parse(&b[..200], "x").is_err());
        let mut b2 = vec![0u8; 540];
        b2[0..4].copy_from_slice(&540i32.to_le_bytes());
        b2[4..8].copy_from_slice(b"xyz\0");
        assert!(
            Header::parse(&b2, "x")
                .unwrap_err()
                .message()
                .contains("magic")
        );
        let h = Header::parse(&b, "x").unwrap();
        assert!(h.ndim("x").is_err()); // dim[0] = 0
    }
}
