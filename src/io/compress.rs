//! gzip and zlib, chosen by measurement (`benches/io.rs`, numbers in the README):
//!
//! * **Reading gzip** — three paths, fastest first:
//!   1. *Indexed multi-member files* (what medseg writes, and BGZF files from htslib): every member
//!      records its own compressed length in a gzip `FEXTRA` subfield, so members are inflated in
//!      parallel, each straight into its slice of the output, with libdeflate.
//!   2. *Single-member files* (ITK, nibabel, gzip): the trailer's ISIZE gives the output size, so
//!      libdeflate inflates the whole buffer in one call (fastest single-stream inflater measured
//!      here). The result is accepted only if its length equals ISIZE and its CRC-32 equals the
//!      trailer's; anything else (files ≥ 4 GiB, concatenated members) falls through to 3.
//!   3. *Anything else*: streaming `flate2` (zlib-rs backend) over all members, growing the
//!      output as data arrives, so a forged size field cannot make us allocate.
//! * **Writing gzip**: the input is cut into 4 MiB chunks compressed in parallel (rayon) with
//!   libdeflate, each chunk a complete gzip member carrying an `MS` subfield with its length.
//!   Every gzip reader (zlib's `gzread`, Python's `gzip`, ITK, nibabel) reads concatenated members;
//!   medseg reads them back in parallel.
//!
//! No allocation is sized from an untrusted field beyond what the compressed size can justify
//! (DEFLATE expands at most 1032:1) and the caller's limit.

use crate::error::{Error, Result};
use rayon::prelude::*;
use std::io::Read;

/// Largest expansion DEFLATE can achieve (RFC 1951 worst case is about 1032:1).
pub const MAX_RATIO: u64 = 1032;
/// Uncompressed bytes per gzip member when writing.
pub const MEMBER_SIZE: usize = 4 << 20;
/// Default libdeflate level for writing (level 1 = 46 % on CT at ~230 MB/s a core, measured).
pub const DEFAULT_LEVEL: u32 = 1;

/// True when `data` starts with the gzip magic.
pub fn is_gzip(data: &[u8]) -> bool {
    data.len() >= 2 && data[0] == 0x1f && data[1] == 0x8b
}

fn corrupt(what: &str) -> Error {
    Error::format(format!("gzip data is corrupt: {what}"))
}

/// Parse one gzip member header; returns (header length, indexed member total length if the
/// header carries medseg's `MS` or BGZF's `BC` subfield).
fn parse_header(d: &[u8]) -> Result<(usize, Option<usize>)> {
    if d.len() < 18 || !is_gzip(d) || d[2] != 8 {
        return Err(corrupt("bad member header"));
    }
    let flg = d[3];
    let mut p = 10;
    let mut member_len = None;
    if flg & 4 != 0 {
        let xlen = u16::from_le_bytes([d[p], d[p + 1]]) as usize;
        p += 2;
        let end = p
            .checked_add(xlen)
            .filter(|&e| e <= d.len())
            .ok_or_else(|| corrupt("extra field past end"))?;
        let mut q = p;
        while q + 4 <= end {
            let (s1, s2) = (d[q], d[q + 1]);
            let slen = u16::from_le_bytes([d[q + 2], d[q + 3]]) as usize;
            let body = q + 4;
            if body + slen > end {
                break;
            }
            if s1 == b'M' && s2 == b'S' && slen == 4 {
                member_len =
                    Some(
                        u32::from_le_bytes([d[body], d[body + 1], d[body + 2], d[body + 3]])
                            as usize,
                    );
            } else if s1 == b'B' && s2 == b'C' && slen == 2 {
                member_len = Some(u16::from_le_bytes([d[body], d[body + 1]]) as usize + 1);
            }
            q = body + slen;
        }
        p = end;
    }
    for flag in [8u8, 16u8] {
        if flg & flag != 0 {
            let z = d[p..]
                .iter()
                .position(|&b| b == 0)
                .ok_or_else(|| corrupt("unterminated name/comment"))?;
            p += z + 1;
        }
    }
    if flg & 2 != 0 {
        p += 2;
    }
    if p > d.len() {
        return Err(corrupt("header past end"));
    }
    Ok((p, member_len))
}

/// Inflate a whole gzip file (one or more members) with at most `limit` output bytes.
pub fn gunzip(data: &[u8], limit: u64) -> Result<Vec<u8>> {
    let (header_len, indexed) = parse_header(data)?;
    if indexed.is_some()
        && let Some(v) = gunzip_indexed(data, limit)?
    {
        return Ok(v);
    }
    if let Some(v) = gunzip_single(data, header_len, limit)? {
        return Ok(v);
    }
    gunzip_stream(data, limit)
}

fn trailer(d: &[u8]) -> (u32, u32) {
    let n = d.len();
    let crc = u32::from_le_bytes([d[n - 8], d[n - 7], d[n - 6], d[n - 5]]);
    let isize = u32::from_le_bytes([d[n - 4], d[n - 3], d[n - 2], d[n - 1]]);
    (crc, isize)
}

fn check_limit(n: u64, compressed: usize, limit: u64) -> Result<()> {
    if n > limit {
        return Err(Error::too_large(format!(
            "decompressed size {n} bytes exceeds the limit of {limit} bytes"
        )));
    }
    if n > (compressed as u64).saturating_mul(MAX_RATIO) {
        return Err(corrupt(&format!(
            "claims {n} bytes from only {compressed} compressed bytes"
        )));
    }
    Ok(())
}

/// A single-member file inflated into exactly `out`, when its trailer's ISIZE is `out.len()`: in
/// parallel ([`super::pinflate`], CRC-32 checked) when big enough to gain, else in one libdeflate
/// call that must use the whole file (trailing zero padding allowed). False: inflate it another way.
fn inflate_single(data: &[u8], header_len: usize, out: &mut [u8]) -> bool {
    let (crc, isize) = trailer(data);
    if isize as u64 != out.len() as u64 {
        return false;
    }
    let check = super::pinflate::Check::Crc32(crc);
    if super::pinflate::inflate(data, header_len, out, check) {
        return true;
    }
    matches!(deflate_member::gzip_decompress_member(data, out),
        Some((used_in, used_out)) if used_out == out.len() && data[used_in..].iter().all(|&b| b == 0))
}

fn gunzip_single(data: &[u8], header_len: usize, limit: u64) -> Result<Option<Vec<u8>>> {
    let (_, isize) = trailer(data);
    if check_limit(isize as u64, data.len(), limit).is_err() {
        // Possibly a >4 GiB or multi-member file: let the streaming path decide.
        return Ok(None);
    }
    let mut out = crate::image::buffer::zeroed(isize as usize);
    Ok(inflate_single(data, header_len, &mut out).then_some(out))
}

/// Indexed members: (start, compressed length, output offset, output length), or `None` when a
/// member lacks the index subfield or its recorded length does not fit the file.
#[allow(clippy::type_complexity)]
fn indexed_members(data: &[u8]) -> Result<Option<Vec<(usize, usize, usize, usize)>>> {
    let mut members = Vec::new();
    let (mut p, mut total) = (0usize, 0usize);
    while p < data.len() {
        let (_, len) = parse_header(&data[p..])?;
        let Some(len) = len else { return Ok(None) };
        if len < 18 || p + len > data.len() {
            return Ok(None);
        }
        let (_, isize) = trailer(&data[p..p + len]);
        members.push((p, len, total, isize as usize));
        total = total.saturating_add(isize as usize);
        p += len;
    }
    Ok(Some(members))
}

/// Inflate indexed members in parallel, each into its slice of `out` (sizes already checked).
fn inflate_members(
    data: &[u8],
    members: &[(usize, usize, usize, usize)],
    out: &mut [u8],
) -> Result<()> {
    let mut slices = Vec::with_capacity(members.len());
    let mut rest: &mut [u8] = out;
    for &(start, len, _, olen) in members {
        if olen > rest.len() {
            return Err(corrupt("member sizes exceed the output"));
        }
        let (head, tail) = rest.split_at_mut(olen);
        slices.push((&data[start..start + len], head));
        rest = tail;
    }
    let ok = slices.into_par_iter().all(|(src, dst)| {
        let mut dec = libdeflater::Decompressor::new();
        matches!(dec.gzip_decompress(src, dst), Ok(n) if n == dst.len())
    });
    if !ok {
        return Err(corrupt("a member failed to inflate"));
    }
    Ok(())
}

fn gunzip_indexed(data: &[u8], limit: u64) -> Result<Option<Vec<u8>>> {
    let Some(members) = indexed_members(data)? else {
        return Ok(None);
    };
    let total: u64 = members.iter().map(|m| m.3 as u64).sum();
    check_limit(total, data.len(), limit)?;
    let mut out = crate::image::buffer::zeroed(total as usize);
    inflate_members(data, &members, &mut out)?;
    Ok(Some(out))
}

/// Inflate the first `out.len()` decompressed bytes of a gzip file (one or more members)
/// straight into `out` — the caller's final buffer, so no intermediate copy is made. Errors when
/// the stream holds fewer bytes, is corrupt, or when `out` is larger than the compressed size
/// can justify (checked before any work).
///
/// Fast paths as [`gunzip`]: indexed members in parallel when they add up to exactly
/// `out.len()`; libdeflate in one call when the single member's ISIZE equals `out.len()`;
/// otherwise streaming (zlib-rs), which also serves files whose data end before their end.
pub fn gunzip_prefix(data: &[u8], out: &mut [u8]) -> Result<()> {
    check_limit(out.len() as u64, data.len(), u64::MAX)?;
    let (header_len, indexed) = parse_header(data)?;
    if indexed.is_some()
        && let Some(members) = indexed_members(data)?
        && members.iter().map(|m| m.3 as u64).sum::<u64>() == out.len() as u64
    {
        return inflate_members(data, &members, out);
    }
    if inflate_single(data, header_len, out) {
        return Ok(());
    }
    read_verified(flate2::read::MultiGzDecoder::new(data), out).map_err(|e| match e {
        Short => Error::format(format!(
            "file is truncated: the compressed stream ends before the {} bytes the header describes",
            out.len()
        )),
        Corrupt(e) => corrupt("inflate failed").with_source(e),
    })
}

/// Why a streaming read into a caller's buffer failed.
enum StreamError {
    Short,
    Corrupt(std::io::Error),
}
use StreamError::{Corrupt, Short};

/// Fill `out` from a decoder, then read on to the end of the stream (at most `out.len()` + 1 MiB
/// more) so that the decoder checks the trailer's CRC-32 / Adler-32: a corrupt stream that still
/// produces enough bytes is an error, not wrong voxels. Streams with more trailing data than that
/// are accepted on the bytes alone (the fast paths have verified every ordinary file already).
fn read_verified(mut dec: impl Read, out: &mut [u8]) -> std::result::Result<(), StreamError> {
    dec.read_exact(out).map_err(|e| {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            Short
        } else {
            Corrupt(e)
        }
    })?;
    let more = out.len() as u64 + (1 << 20);
    std::io::copy(&mut dec.take(more), &mut std::io::sink()).map_err(Corrupt)?;
    Ok(())
}

/// The first `n` decompressed bytes (fewer if the stream is shorter), streaming: for reading a
/// header without inflating the whole file.
pub fn gunzip_head(data: &[u8], n: usize) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(n);
    flate2::read::MultiGzDecoder::new(data)
        .take(n as u64)
        .read_to_end(&mut out)
        .map_err(|e| corrupt("inflate failed").with_source(e))?;
    Ok(out)
}

fn gunzip_stream(data: &[u8], limit: u64) -> Result<Vec<u8>> {
    let mut dec = flate2::read::MultiGzDecoder::new(data).take(limit.saturating_add(1));
    let mut out = Vec::with_capacity(data.len().saturating_mul(3));
    dec.read_to_end(&mut out)
        .map_err(|e| corrupt("inflate failed").with_source(e))?;
    if out.len() as u64 > limit {
        return Err(Error::too_large(format!(
            "decompressed data exceeds the limit of {limit} bytes"
        )));
    }
    Ok(out)
}

fn level(l: u32) -> libdeflater::CompressionLvl {
    libdeflater::CompressionLvl::new(l.clamp(1, 12) as i32).unwrap_or_default()
}

/// Compress `data` as indexed gzip members (parallel). `level` is libdeflate's 1–12.
pub fn gzip(data: &[u8], lvl: u32) -> Vec<u8> {
    let chunks: Vec<&[u8]> = if data.is_empty() {
        vec![data]
    } else {
        data.chunks(MEMBER_SIZE).collect()
    };
    let parts: Vec<Vec<u8>> = chunks
        .into_par_iter()
        .map(|chunk| {
            let mut c = libdeflater::Compressor::new(level(lvl));
            let bound = c.deflate_compress_bound(chunk.len());
            // Header: magic, CM=8, FLG=FEXTRA, MTIME=0, XFL=0, OS=255, XLEN=8, 'M','S',4,0,len32.
            let mut m = vec![
                0x1f, 0x8b, 8, 4, 0, 0, 0, 0, 0, 255, 8, 0, b'M', b'S', 4, 0, 0, 0, 0, 0,
            ];
            let hdr = m.len();
            m.resize(hdr + bound, 0);
            let n = c.deflate_compress(chunk, &mut m[hdr..]).unwrap_or(0);
            m.truncate(hdr + n);
            m.extend_from_slice(&libdeflater::crc32(chunk).to_le_bytes());
            m.extend_from_slice(&(chunk.len() as u32).to_le_bytes());
            let total = m.len() as u32;
            m[16..20].copy_from_slice(&total.to_le_bytes());
            m
        })
        .collect();
    parts.concat()
}

/// Inflate the first `out.len()` bytes of a zlib stream straight into `out` (the caller's final
/// buffer). Errors when the stream holds fewer bytes or is corrupt, or when `out` is larger than
/// the compressed size can justify (checked before any work).
pub fn zlib_decompress_into(data: &[u8], out: &mut [u8]) -> Result<()> {
    check_limit(out.len() as u64, data.len(), u64::MAX)?;
    if zlib_fast(data, out) {
        return Ok(());
    }
    read_verified(flate2::read::ZlibDecoder::new(data), out).map_err(|e| match e {
        Short => Error::format(format!(
            "compressed data is truncated: it inflates to fewer than the {} bytes the header describes",
            out.len()
        )),
        Corrupt(e) => Error::format("zlib data is corrupt").with_source(e),
    })
}

/// The whole stream inflated into exactly `out`: in parallel ([`super::pinflate`]) when the header
/// is plain (no preset dictionary) and the Adler-32 trailer confirms it, else in one libdeflate call.
fn zlib_fast(data: &[u8], out: &mut [u8]) -> bool {
    let n = data.len();
    if n > 6 && data[0] & 0x0f == 8 && data[1] & 0x20 == 0 {
        let adler = u32::from_be_bytes([data[n - 4], data[n - 3], data[n - 2], data[n - 1]]);
        let check = super::pinflate::Check::Adler32(adler);
        if super::pinflate::inflate(data, 2, out, check) {
            return true;
        }
    }
    matches!(libdeflater::Decompressor::new().zlib_decompress(data, out), Ok(k) if k == out.len())
}

/// Fuzzing entry, not API: see `pinflate::fuzz_compare`.
#[doc(hidden)]
pub fn fuzz_parallel_inflate(zlib_stream: &[u8]) {
    super::pinflate::fuzz_compare(zlib_stream);
}

/// Compress as one zlib stream.
pub fn zlib_compress(data: &[u8], lvl: u32) -> Vec<u8> {
    let mut c = libdeflater::Compressor::new(level(lvl));
    let mut out = vec![0u8; c.zlib_compress_bound(data.len())];
    let n = c.zlib_compress(data, &mut out).unwrap_or(0);
    out.truncate(n);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn indexed_round_trip_and_foreign_readers() {
        let data: Vec<u8> = (0..(MEMBER_SIZE * 2 + 123))
            .map(|i| (i * 7 % 251) as u8)
            .collect();
        let gz = gzip(&data, 1);
        assert_eq!(gunzip(&gz, u64::MAX).unwrap(), data);
        // A standard multi-member reader sees the same bytes.
        let mut s = Vec::new();
        flate2::read::MultiGzDecoder::new(&gz[..])
            .read_to_end(&mut s)
            .unwrap();
        assert_eq!(s, data);
        assert!(gunzip(&gz, 1000).is_err());
    }

    #[test]
    fn single_member_and_concatenated() {
        let a = b"hello hello hello".repeat(100);
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
        e.write_all(&a).unwrap();
        let one = e.finish().unwrap();
        assert_eq!(gunzip(&one, u64::MAX).unwrap(), a);
        let two = [one.clone(), one.clone()].concat();
        assert_eq!(
            gunzip(&two, u64::MAX).unwrap(),
            [a.clone(), a.clone()].concat()
        );
        let mut bad = one.clone();
        bad.truncate(one.len() - 5);
        assert!(gunzip(&bad, u64::MAX).is_err());
    }

    #[test]
    fn prefix_into_caller_buffer() {
        let data: Vec<u8> = (0..(MEMBER_SIZE + 5000))
            .map(|i| (i * 13 % 241) as u8)
            .collect();
        // Indexed (parallel), single-member (libdeflate), and prefix-only (streaming) paths.
        let multi = gzip(&data, 1);
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
        e.write_all(&data).unwrap();
        let single = e.finish().unwrap();
        for gz in [&multi, &single] {
            let mut out = vec![0u8; data.len()];
            gunzip_prefix(gz, &mut out).unwrap();
            assert_eq!(out, data);
            let mut part = vec![0u8; 1000];
            gunzip_prefix(gz, &mut part).unwrap();
            assert_eq!(part, data[..1000]);
            let mut long = vec![0u8; data.len() + 1];
            let e = gunzip_prefix(gz, &mut long).unwrap_err();
            assert_eq!(e.kind(), crate::error::ErrorKind::Format);
            assert_eq!(gunzip_head(gz, 10).unwrap(), data[..10]);
        }
        // More than the compressed size can justify: refused before inflating.
        let mut huge = vec![0u8; single.len() * 2000];
        assert!(gunzip_prefix(&single, &mut huge).is_err());
        let mut bad = single.clone();
        let n = bad.len();
        bad[n / 2] ^= 0xff;
        let mut out = vec![0u8; data.len()];
        assert!(gunzip_prefix(&bad, &mut out).is_err());
    }

    #[test]
    fn zlib_round_trip() {
        let a = vec![3u8; 10000];
        let z = zlib_compress(&a, 6);
        let mut out = vec![1u8; a.len()];
        zlib_decompress_into(&z, &mut out).unwrap();
        assert_eq!(out, a);
        let mut long = vec![0u8; a.len() + 1];
        assert!(zlib_decompress_into(&z, &mut long).is_err());
    }
}
