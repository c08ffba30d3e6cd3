//! A length check of a DICOM file's data elements **before** dicom-rs parses it.
//!
//! dicom-rs sizes its buffers from the value length written in each element header, so a file
//! whose header claims a 2 GB value (a corrupt or hostile file of a few kB) makes it allocate
//! 2 GB before it finds out that the bytes are not there. This walk reads only element headers
//! (tag, VR, length), seeks over the values, and refuses the file as soon as a defined length
//! runs past the end of the file. It covers the whole file, elements after PixelData and the
//! fragments of encapsulated pixel data included. A deflated data set is inflated as a stream
//! (nothing is kept) and walked the same way: there a declared length is refused when the
//! inflated data ends before it.
//!
//! ```text
//! file of 8 616 bytes, after PixelData: element (000D,8CC0) at byte 7568, length 2361393165
//!   → Err(Format: "… element (000D,8CC0) at byte 7568 declares 2361393165 bytes but only
//!      1040 remain")
//! ```
//!
//! The walk is linear and needs no dictionary: sequences and items are entered (their content is
//! more elements), undefined lengths are followed to their delimiters, and fragments of
//! encapsulated pixel data are skipped by their item lengths.

use crate::error::{Error, Result};
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;

const PIXEL_DATA: (u16, u16) = (0x7FE0, 0x0010);
const UNDEFINED: u32 = 0xFFFF_FFFF;
const IMPLICIT_LE: &str = "1.2.840.10008.1.2";
const EXPLICIT_BE: &str = "1.2.840.10008.1.2.2";
const DEFLATED: &[&str] = &["1.2.840.10008.1.2.1.99", "1.2.840.10008.1.2.8.1"];

/// Whether an explicit-VR header with these VR bytes has 2 reserved bytes and a 4-byte length:
/// every VR except the 2-byte-length ones of PS3.5 7.1.2. An unknown VR counts as long, as
/// dicom-rs reads it (as UN): found by fuzzing, a forged "IN" VR whose 4-byte length the walker
/// read as a 2-byte 0 let dicom-rs allocate 2.45 GB.
fn long_vr(vr: [u8; 2]) -> bool {
    !matches!(
        &vr,
        b"AE"
            | b"AS"
            | b"AT"
            | b"CS"
            | b"DA"
            | b"DS"
            | b"DT"
            | b"FL"
            | b"FD"
            | b"IS"
            | b"LO"
            | b"LT"
            | b"PN"
            | b"SH"
            | b"SL"
            | b"SS"
            | b"ST"
            | b"TM"
            | b"UI"
            | b"UL"
            | b"US"
    )
}

#[derive(Clone, Copy, PartialEq)]
enum Syntax {
    ExplicitLe,
    ImplicitLe,
    ExplicitBe,
}

/// A forward-only reader that "seeks" ahead by reading and discarding (the inflated stream of a
/// deflated data set); a skip past the end is an `UnexpectedEof` error.
struct Forward<R>(R);

impl<R: Read> Read for Forward<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.0.read(buf)
    }
}

impl<R: Read> Seek for Forward<R> {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        match pos {
            SeekFrom::Current(n) if n >= 0 => {
                let got = std::io::copy(&mut (&mut self.0).take(n as u64), &mut std::io::sink())?;
                if got < n as u64 {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        format!("the data set ends {got} bytes further"),
                    ));
                }
                Ok(0)
            }
            _ => Err(std::io::Error::new(
                std::io::ErrorKind::Unsupported,
                "forward-only stream",
            )),
        }
    }
}

struct Walker<R> {
    r: R,
    pos: u64,
    len: u64,
    path_note: String,
}

impl<R: Read + Seek> Walker<R> {
    fn remaining(&self) -> u64 {
        self.len.saturating_sub(self.pos)
    }

    /// Read exactly `N` bytes; `None` at a clean or partial end of file (dicom-rs reports
    /// truncation itself with a better message).
    fn bytes<const N: usize>(&mut self) -> Option<[u8; N]> {
        if self.remaining() < N as u64 {
            return None;
        }
        let mut b = [0u8; N];
        self.r.read_exact(&mut b).ok()?;
        self.pos += N as u64;
        Some(b)
    }

    fn skip(&mut self, n: u64, tag: (u16, u16), at: u64) -> Result<()> {
        self.check(n, tag, at)?;
        let step = i64::try_from(n).map_err(|_| Error::format("length overflow"))?;
        self.r.seek(SeekFrom::Current(step)).map_err(|e| {
            Error::format(format!(
                "{}: corrupt DICOM file: element ({:04X},{:04X}) at byte {at} declares {n} bytes: {e}",
                self.path_note, tag.0, tag.1
            ))
        })?;
        self.pos += n;
        Ok(())
    }

    fn check(&self, n: u64, tag: (u16, u16), at: u64) -> Result<()> {
        if n > self.remaining() {
            return Err(Error::format(format!(
                "{}: corrupt DICOM file: element ({:04X},{:04X}) at byte {at} declares {n} bytes \
                 but only {} remain",
                self.path_note,
                tag.0,
                tag.1,
                self.remaining()
            )));
        }
        Ok(())
    }

    fn u16(b: [u8; 2], be: bool) -> u16 {
        if be {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        }
    }

    fn u32(b: [u8; 4], be: bool) -> u32 {
        if be {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        }
    }

    /// Walk elements until the end of the file or (for the meta group) the first element outside
    /// group 0002. Returns the transfer syntax seen in the meta group.
    fn walk(&mut self, syntax: Syntax, meta_only: bool) -> Result<Option<String>> {
        let be = syntax == Syntax::ExplicitBe;
        let mut ts = None;
        // Depth of encapsulated pixel data: items there are fragments (raw bytes).
        let mut in_fragments = false;
        loop {
            let at = self.pos;
            let Some(tb) = self.bytes::<4>() else {
                return Ok(ts);
            };
            let group = Self::u16([tb[0], tb[1]], be && !meta_only);
            let element = Self::u16([tb[2], tb[3]], be && !meta_only);
            if meta_only && group != 0x0002 {
                // Rewind: the data set starts here.
                self.r
                    .seek(SeekFrom::Current(-4))
                    .map_err(|e| Error::format(format!("{}: seek failed: {e}", self.path_note)))?;
                self.pos -= 4;
                return Ok(ts);
            }
            let tag = (group, element);
            if group == 0xFFFE {
                let Some(lb) = self.bytes::<4>() else {
                    return Ok(ts);
                };
                let len = Self::u32(lb, be && !meta_only);
                match element {
                    0xE000 if in_fragments => self.skip(len as u64, tag, at)?,
                    0xE000 if len != UNDEFINED => self.check(len as u64, tag, at)?,
                    0xE0DD if in_fragments => in_fragments = false, // end of pixel data
                    _ => {}
                }
                continue;
            }
            let (vr, len) = if syntax == Syntax::ImplicitLe && !meta_only {
                let Some(lb) = self.bytes::<4>() else {
                    return Ok(ts);
                };
                (None, Self::u32(lb, false))
            } else {
                let Some(vr) = self.bytes::<2>() else {
                    return Ok(ts);
                };
                if long_vr(vr) {
                    let Some(lb) = self.bytes::<6>() else {
                        return Ok(ts);
                    };
                    (
                        Some(vr),
                        Self::u32([lb[2], lb[3], lb[4], lb[5]], be && !meta_only),
                    )
                } else {
                    let Some(lb) = self.bytes::<2>() else {
                        return Ok(ts);
                    };
                    (Some(vr), Self::u16(lb, be && !meta_only) as u32)
                }
            };
            if tag == PIXEL_DATA {
                if len == UNDEFINED {
                    in_fragments = true;
                    continue;
                }
                // Elements may follow the pixel data (padding, private tags): go on.
                self.skip(len as u64, tag, at)?;
                continue;
            }
            if len == UNDEFINED {
                // A sequence (or UN holding one): its items follow.
                continue;
            }
            if vr == Some(*b"SQ") {
                self.check(len as u64, tag, at)?;
                continue;
            }
            if meta_only && tag == (0x0002, 0x0010) && len <= 256 {
                let mut v = vec![0u8; len as usize];
                self.check(len as u64, tag, at)?;
                self.r
                    .read_exact(&mut v)
                    .map_err(|e| Error::format(format!("{}: {e}", self.path_note)))?;
                self.pos += len as u64;
                let s = String::from_utf8_lossy(&v)
                    .trim_end_matches(['\0', ' '])
                    .to_string();
                ts = Some(s);
                continue;
            }
            self.skip(len as u64, tag, at)?;
        }
    }
}

/// Refuse `path` when one of its element lengths runs past the end of the file.
pub(crate) fn check_lengths(path: &Path) -> Result<()> {
    let f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let len = f.metadata().map_err(|e| Error::io(path, e))?.len();
    let mut w = Walker {
        r: BufReader::with_capacity(16 << 10, f),
        pos: 0,
        len,
        path_note: path.display().to_string(),
    };
    // Preamble + "DICM" when present.
    if len >= 132 {
        let mut head = [0u8; 132];
        w.r.read_exact(&mut head).map_err(|e| Error::io(path, e))?;
        if &head[128..132] == b"DICM" {
            w.pos = 132;
        } else {
            w.r.seek(SeekFrom::Start(0))
                .map_err(|e| Error::io(path, e))?;
        }
    }
    // The meta group (always explicit VR little endian) follows the preamble, or opens a file
    // written without one.
    let mut first = [0u8; 2];
    let starts_with_meta = w.pos == 0
        && len >= 2
        && w.r.read_exact(&mut first).is_ok()
        && first == [0x02, 0x00]
        && w.r.seek(SeekFrom::Start(0)).is_ok();
    if w.pos == 0 && !starts_with_meta {
        w.r.seek(SeekFrom::Start(0))
            .map_err(|e| Error::io(path, e))?;
    }
    let ts = if w.pos == 132 || starts_with_meta {
        w.walk(Syntax::ExplicitLe, true)?
    } else {
        None
    };
    let syntax = match ts.as_deref() {
        Some(t) if DEFLATED.contains(&t) => {
            // The data set after the meta group is one raw DEFLATE stream of explicit VR
            // little endian elements; its inflated size is unknown, so skips read through.
            let mut d = Walker {
                r: Forward(flate2::read::DeflateDecoder::new(w.r)),
                pos: 0,
                len: u64::MAX,
                path_note: format!("{} (deflated data set)", path.display()),
            };
            d.walk(Syntax::ExplicitLe, false)?;
            return Ok(());
        }
        Some(IMPLICIT_LE) => Syntax::ImplicitLe,
        Some(EXPLICIT_BE) => Syntax::ExplicitBe,
        Some(_) => Syntax::ExplicitLe,
        None => Syntax::ImplicitLe,
    };
    w.walk(syntax, false)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn element_le(out: &mut Vec<u8>, g: u16, e: u16, vr: &[u8; 2], value: &[u8]) {
        out.extend_from_slice(&g.to_le_bytes());
        out.extend_from_slice(&e.to_le_bytes());
        out.extend_from_slice(vr);
        if long_vr(*vr) {
            out.extend_from_slice(&[0, 0]);
            out.extend_from_slice(&(value.len() as u32).to_le_bytes());
        } else {
            out.extend_from_slice(&(value.len() as u16).to_le_bytes());
        }
        out.extend_from_slice(value);
    }

    fn file(body: &[u8]) -> Vec<u8> {
        let mut f = vec![0u8; 128];
        f.extend_from_slice(b"DICM");
        element_le(&mut f, 0x0002, 0x0010, b"UI", b"1.2.840.10008.1.2.1\0");
        f.extend_from_slice(body);
        f
    }

    fn run(bytes: &[u8]) -> Result<()> {
        let d = std::env::temp_dir().join(format!(
            "medseg-guard-{}-{}.dcm",
            std::process::id(),
            bytes.len()
        ));
        std::fs::write(&d, bytes).unwrap();
        let r = check_lengths(&d);
        let _ = std::fs::remove_file(&d);
        r
    }

    #[test]
    fn accepts_consistent_lengths() {
        let mut body = Vec::new();
        element_le(&mut body, 0x0008, 0x0060, b"CS", b"CT");
        element_le(&mut body, 0x0028, 0x0010, b"US", &4u16.to_le_bytes());
        element_le(&mut body, 0x7FE0, 0x0010, b"OW", &[0u8; 32]);
        run(&file(&body)).unwrap();
    }

    #[test]
    fn refuses_a_forged_length() {
        let mut body = Vec::new();
        element_le(&mut body, 0x0008, 0x0060, b"CS", b"CT");
        // (0008,0070) LO claims 0xFFF0 bytes, 4 are there.
        body.extend_from_slice(&[0x08, 0x00, 0x70, 0x00, b'L', b'O', 0xF0, 0xFF, 1, 2, 3, 4]);
        let e = run(&file(&body)).unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::Format);
        assert!(e.to_string().contains("(0008,0070)"), "{e}");
        // A 4-byte length in a UN element, past the end.
        let mut body = Vec::new();
        body.extend_from_slice(&[0x09, 0x00, 0x10, 0x00, b'U', b'N', 0, 0]);
        body.extend_from_slice(&0x8C00_0000u32.to_le_bytes());
        body.extend_from_slice(&[0u8; 16]);
        assert!(run(&file(&body)).is_err());
        // Pixel data longer than the file.
        let mut body = Vec::new();
        body.extend_from_slice(&[0xE0, 0x7F, 0x10, 0x00, b'O', b'W', 0, 0]);
        body.extend_from_slice(&1000u32.to_le_bytes());
        body.extend_from_slice(&[0u8; 10]);
        assert!(run(&file(&body)).is_err());
    }

    #[test]
    fn walks_a_deflated_data_set() {
        use std::io::Write;
        let meta = |f: &mut Vec<u8>| {
            f.extend_from_slice(&[0u8; 128]);
            f.extend_from_slice(b"DICM");
            element_le(f, 0x0002, 0x0010, b"UI", b"1.2.840.10008.1.2.1.99");
        };
        let deflate = |body: &[u8]| {
            let mut e =
                flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(body).unwrap();
            e.finish().unwrap()
        };
        let mut body = Vec::new();
        element_le(&mut body, 0x0008, 0x0060, b"CS", b"MR");
        element_le(&mut body, 0x7FE0, 0x0010, b"OW", &[7u8; 4000]);
        let mut f = Vec::new();
        meta(&mut f);
        f.extend_from_slice(&deflate(&body));
        run(&f).unwrap();
        // A forged 2 GB value inside the compressed stream (the file itself is small).
        let mut body = Vec::new();
        element_le(&mut body, 0x0008, 0x0060, b"CS", b"MR");
        body.extend_from_slice(&[0x09, 0x00, 0x10, 0x00, b'U', b'N', 0, 0]);
        body.extend_from_slice(&0x8C00_0000u32.to_le_bytes());
        body.extend_from_slice(&[0u8; 64]);
        let mut f = Vec::new();
        meta(&mut f);
        f.extend_from_slice(&deflate(&body));
        let e = run(&f).unwrap_err();
        assert!(e.to_string().contains("deflated data set"), "{e}");
    }

    #[test]
    fn walks_sequences_and_fragments() {
        let mut body = Vec::new();
        // SQ of undefined length with one item of undefined length holding one element.
        body.extend_from_slice(&[0x08, 0x00, 0x15, 0x11, b'S', b'Q', 0, 0]);
        body.extend_from_slice(&UNDEFINED.to_le_bytes());
        body.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0]);
        body.extend_from_slice(&UNDEFINED.to_le_bytes());
        element_le(&mut body, 0x0008, 0x1150, b"UI", b"1.2\0");
        body.extend_from_slice(&[0xFE, 0xFF, 0x0D, 0xE0, 0, 0, 0, 0]);
        body.extend_from_slice(&[0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0]);
        // Encapsulated pixel data: empty offset table + one 6-byte fragment + delimiter.
        body.extend_from_slice(&[0xE0, 0x7F, 0x10, 0x00, b'O', b'B', 0, 0]);
        body.extend_from_slice(&UNDEFINED.to_le_bytes());
        body.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, 0, 0, 0, 0]);
        body.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, 6, 0, 0, 0, 1, 2, 3, 4, 5, 6]);
        body.extend_from_slice(&[0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0]);
        run(&file(&body)).unwrap();
        // The same with a fragment claiming more than the file holds.
        let n = body.len();
        body[n - 18] = 0xFF;
        body[n - 17] = 0x7F;
        assert!(run(&file(&body)).is_err());
    }
}
