//! Parallel inflate of **one** DEFLATE stream: the single-member `.gz` / zlib data that ITK,
//! nibabel, pynrrd and `gzip` write, which carries no index to split it by.
//!
//! The stream is cut into `n` chunks of compressed bits. Chunk 0 is plain libdeflate. Every other
//! chunk `k`:
//!
//! 1. **finds a block boundary** near its share of the bits: a non-final dynamic-Huffman block
//!    header passing every rule zlib applies (field ranges, complete prefix codes, an end-of-block
//!    code) whose block then decodes to its end-of-block symbol;
//! 2. **decodes without its window**: the 32 KiB of output before the chunk belong to chunk
//!    `k − 1`, so a small inflater of its own writes 16-bit symbols, either a byte (`< 256`) or a
//!    *marker* `256 + w` meaning "byte `w` of the unknown window". It stops after the first block
//!    whose last 32 KiB of output hold no marker: from there on, nothing can reach the unknown
//!    window any more;
//! 3. **hands the rest to libdeflate**: a stored block carrying that clean window, then the
//!    chunk's remaining bits re-aligned to a byte, then an empty final block where chunk `k + 1`
//!    begins. libdeflate inflates it at full speed into a buffer of the chunk's own.
//!
//! The chunks run at the same time. Then, in order, each chunk's markers are replaced by the
//! bytes that end the output before it, and its output is copied into place. The result is kept
//! only if the total length and the stream's checksum (CRC-32 for gzip, Adler-32 for zlib) match;
//! any failure (no block boundary found, a false boundary, corrupt data) returns `None` and the
//! caller inflates sequentially, so the parallel path can change speed but never results.
//!
//! A marker in action (window = the 4 bytes `w x y z` before the chunk, shortened from 32 KiB):
//! the chunk's first symbols are the literal `a` and then "copy 3 from distance 3", which
//! reaches back past the chunk start:
//!
//! ```text
//! decoded:  a  [256+2]  [256+3]  a        (markers name window bytes 2 and 3: y, z)
//! resolved: a   y        z       a
//! ```

use rayon::prelude::*;

/// DEFLATE window: the furthest a back-reference reaches.
const WIN: usize = 32 * 1024;
/// Marker base: symbol `MARK + w` is byte `w` of the unknown window.
const MARK: u16 = 256;
/// Smallest output worth splitting (below this one libdeflate call is as fast).
const MIN_OUTPUT: usize = 16 << 20;
/// Compressed bytes per chunk at least.
const MIN_CHUNK: usize = 2 << 20;
/// How far past its nominal start a chunk looks for a block boundary.
const SEARCH: usize = 4 << 20;

/// Any reason to give up the parallel path (the caller then inflates sequentially).
#[derive(Debug)]
struct Bad;

type R<T> = std::result::Result<T, Bad>;

/// Which checksum follows the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// gzip: CRC-32 of the output (the caller reads it from the trailer).
    Crc32(u32),
    /// zlib: Adler-32 of the output.
    Adler32(u32),
}

/// Inflate the raw DEFLATE stream starting at byte `start` of `data` into exactly `out`, in
/// parallel, verifying `check`. Returns false (with `out` in an unspecified state) when the
/// stream is too small to split, cannot be split, or does not produce exactly `out.len()` bytes
/// with the expected checksum; the caller then inflates it sequentially.
pub fn inflate(data: &[u8], start: usize, out: &mut [u8], check: Check) -> bool {
    let threads = rayon::current_num_threads();
    let comp = data.len().saturating_sub(start);
    let n = threads.min(comp / MIN_CHUNK).min(16);
    n >= 2 && out.len() >= MIN_OUTPUT && run(data, start, n, out, check).is_ok()
}

fn run(data: &[u8], start: usize, n: usize, out: &mut [u8], check: Check) -> R<()> {
    let end = data.len() * 8;
    let first = start * 8;
    // Chunk k > 0 also decodes its first megabytes with the slower marker inflater and re-aligns
    // its bits: chunk 0 takes a larger share (weight 1 + BIAS, measured) to finish together.
    const BIAS: f64 = 0.15;
    let share = (end - first) as f64 / (n as f64 + BIAS);
    // Chunk boundaries: a block start found near each share (chunks without one merge).
    let found: Vec<Option<usize>> = (1..n)
        .into_par_iter()
        .map(|k| {
            let from = first + ((k as f64 + BIAS) * share) as usize;
            find_block(data, from, (from + SEARCH * 8).min(end), end)
        })
        .collect();
    let mut starts = vec![first];
    for p in found.into_iter().flatten() {
        if p > *starts.last().ok_or(Bad)? {
            starts.push(p);
        }
    }
    if starts.len() < 2 {
        return Err(Bad);
    }
    let total = out.len();
    let chunks: Vec<(usize, Option<usize>)> = (0..starts.len())
        .map(|i| (starts[i], starts.get(i + 1).copied()))
        .collect();
    let fixed = Fixed::new()?;
    // Chunk 0 straight into `out`; the others into buffers of their own.
    let (first_len, rest) = rayon::join(
        || {
            let (s, e) = chunks[0];
            let stream = repack(&[], data, s, e.unwrap_or(end));
            libdeflater::Decompressor::new()
                .deflate_decompress(&stream, &mut *out)
                .map_err(|_| Bad)
        },
        || {
            chunks[1..]
                .par_iter()
                .map(|&(s, e)| decode_chunk(data, s, e, end, total, &fixed))
                .collect::<R<Vec<Part>>>()
        },
    );
    let mut pos = first_len?;
    for part in rest? {
        pos = part.place(out, pos)?;
    }
    if pos != total || !checksum_matches(out, check) {
        return Err(Bad);
    }
    Ok(())
}

/// Fuzzing entry (not API; `fuzz/fuzz_targets/pinflate.rs`): inflate the zlib stream `z`
/// sequentially (up to 4 MiB) and in 2, 3 and 4 chunks. A parallel result that is accepted must
/// equal the sequential one; the only panic here is that assertion.
pub fn fuzz_compare(z: &[u8]) {
    use std::io::Read;
    let mut want = Vec::new();
    let complete = flate2::read::ZlibDecoder::new(z)
        .take(4 << 20)
        .read_to_end(&mut want)
        .is_ok();
    let n = z.len();
    if n < 6 {
        return;
    }
    let check = Check::Adler32(u32::from_be_bytes([z[n - 4], z[n - 3], z[n - 2], z[n - 1]]));
    for chunks in 2..=4 {
        let mut out = vec![0u8; want.len()];
        if run(z, 2, chunks, &mut out, check).is_ok() {
            assert!(complete && out == want, "accepted a wrong parallel result");
        }
    }
}

/// One chunk's output before placement: symbols with markers, then plain bytes.
struct Part {
    marked: Vec<u16>,
    /// libdeflate's output when it took over: the 32 KiB window it was primed with, then the
    /// chunk's bytes (empty when the marker phase reached the chunk's end).
    tail: Vec<u8>,
}

impl Part {
    /// Resolve markers from the bytes before `pos`, copy into `out[pos..]`; returns the new end.
    fn place(&self, out: &mut [u8], pos: usize) -> R<usize> {
        let tail = match self.tail.is_empty() {
            true => &[][..],
            false => self.tail.get(WIN..).ok_or(Bad)?,
        };
        let end = pos
            .checked_add(self.marked.len())
            .and_then(|e| e.checked_add(tail.len()))
            .filter(|&e| e <= out.len())
            .ok_or(Bad)?;
        let (before, after) = out.split_at_mut(pos);
        // Marker w names byte pos − 32 KiB + w; a stream cannot reach before its start.
        let (dst_marked, dst_tail) = after.split_at_mut(self.marked.len());
        let ok = dst_marked
            .par_chunks_mut(1 << 16)
            .zip(self.marked.par_chunks(1 << 16))
            .all(|(d, s)| {
                d.iter_mut().zip(s).all(|(o, &v)| {
                    if v < MARK {
                        *o = v as u8;
                        return true;
                    }
                    let at = (pos + (v - MARK) as usize).checked_sub(WIN);
                    match at.and_then(|i| before.get(i)) {
                        Some(&b) => {
                            *o = b;
                            true
                        }
                        None => false,
                    }
                })
            });
        if !ok {
            return Err(Bad);
        }
        dst_tail[..tail.len()]
            .par_chunks_mut(1 << 20)
            .zip(tail.par_chunks(1 << 20))
            .for_each(|(d, s)| d.copy_from_slice(s));
        Ok(end)
    }
}

fn checksum_matches(out: &[u8], check: Check) -> bool {
    const PIECE: usize = 8 << 20;
    match check {
        Check::Crc32(want) => libdeflater::crc32(out) == want,
        Check::Adler32(want) => {
            let parts: Vec<(u32, usize)> = out
                .par_chunks(PIECE)
                .map(|c| (libdeflater::adler32(c), c.len()))
                .collect();
            let got = parts
                .into_iter()
                .reduce(|(a, _), (b, len)| (adler_combine(a, b, len), 0))
                .map_or(1, |(a, _)| a);
            got == want
        }
    }
}

/// Adler-32 of `x ‖ y` from `adler(x)`, `adler(y)` and `len(y)`: the byte sum adds (minus the
/// initial 1 counted twice) and every byte of `x` is summed `len(y)` more times into the second half.
fn adler_combine(a: u32, b: u32, len_b: usize) -> u32 {
    const M: u64 = 65521;
    let (a1, b1) = (a as u64 & 0xffff, (a >> 16) as u64);
    let (a2, b2) = (b as u64 & 0xffff, (b >> 16) as u64);
    let s1 = (a1 + a2 + M - 1) % M;
    let s2 = (b1 + b2 + (len_b as u64 % M) * ((a1 + M - 1) % M)) % M;
    ((s2 << 16) | s1) as u32
}

/// Decode chunk `[s, e)` (bits; `e = None`: to the end of the stream).
fn decode_chunk(
    data: &[u8],
    s: usize,
    e: Option<usize>,
    end: usize,
    total: usize,
    fixed: &Fixed,
) -> R<Part> {
    let stop = e.unwrap_or(end);
    let mut b = Bits {
        d: data,
        pos: s,
        end,
    };
    // Reserved, not touched: the marker phase of CT-like data runs to a few million symbols, and
    // growing by doubling would copy them several times.
    let mut marked = Vec::with_capacity((8 << 20).min(total));
    let mut last_marker = 0usize;
    loop {
        if b.pos == stop {
            if e.is_none() {
                return Err(Bad); // ran out of data before the final block
            }
            return Ok(Part {
                marked,
                tail: Vec::new(),
            });
        }
        if b.pos > stop {
            return Err(Bad);
        }
        let fin = block(&mut b, &mut marked, &mut last_marker, fixed, total)?;
        if fin {
            // Only the last chunk holds the final block.
            return if e.is_none() {
                Ok(Part {
                    marked,
                    tail: Vec::new(),
                })
            } else {
                Err(Bad)
            };
        }
        let clean = marked.len() >= WIN && marked.len() - last_marker >= WIN;
        if clean && b.pos < stop {
            break;
        }
    }
    // The last 32 KiB are plain bytes: prime libdeflate with them and let it do the rest.
    let window: Vec<u8> = marked[marked.len() - WIN..]
        .iter()
        .map(|&v| v as u8)
        .collect();
    let mut prefix = Vec::with_capacity(WIN + 5);
    // Stored block, not final: header bits 000 padded to a byte, LEN, NLEN, the bytes.
    prefix.push(0);
    prefix.extend_from_slice(&(WIN as u16).to_le_bytes());
    prefix.extend_from_slice(&(!(WIN as u16)).to_le_bytes());
    prefix.extend_from_slice(&window);
    let stream = repack(&prefix, data, b.pos, e.unwrap_or(end));
    let room = total.saturating_sub(marked.len()).saturating_add(WIN);
    let mut tail: Vec<u8> = crate::image::buffer::zeroed(room);
    let got = libdeflater::Decompressor::new()
        .deflate_decompress(&stream, &mut tail)
        .map_err(|_| Bad)?;
    tail.truncate(got);
    Ok(Part { marked, tail })
}

/// `prefix`, then bits `[from, to)` of `data` moved to start at a byte boundary, then (when `to`
/// is inside the data) an empty final fixed-Huffman block so that the stream ends there.
fn repack(prefix: &[u8], data: &[u8], from: usize, to: usize) -> Vec<u8> {
    let to = to.min(data.len() * 8);
    let from = from.min(to);
    let sh = (from & 7) as u32;
    let src = &data[from / 8..to.div_ceil(8)];
    let body = prefix.len();
    // Into a fresh huge-page buffer (this is a large copy on the critical path).
    let mut out: Vec<u8> = crate::image::buffer::zeroed(body + src.len() + 3);
    out[..body].copy_from_slice(prefix);
    let dst = &mut out[body..body + src.len()];
    if sh == 0 {
        dst.copy_from_slice(src);
    } else {
        // Eight bytes at a time: each output word is this word shifted down plus the low bits
        // of the next byte; the last byte has no successor.
        let words = (src.len() - 1) / 8;
        for (i, o) in dst[..words * 8].chunks_exact_mut(8).enumerate() {
            let mut w = [0u8; 8];
            w.copy_from_slice(&src[i * 8..i * 8 + 8]);
            let next = src[i * 8 + 8] as u64;
            let v = (u64::from_le_bytes(w) >> sh) | (next << (64 - sh));
            o.copy_from_slice(&v.to_le_bytes());
        }
        for i in words * 8..src.len() {
            let next = src.get(i + 1).copied().unwrap_or(0) as u16;
            dst[i] = ((src[i] as u16 | next << 8) >> sh) as u8;
        }
    }
    let mut bit = body * 8 + (to - from);
    if to < data.len() * 8 {
        // Keep exactly to - from bits, then BFINAL = 1, BTYPE = 01, end-of-block (7 zero bits).
        if !bit.is_multiple_of(8) {
            out[bit / 8] &= (1u8 << (bit % 8)) - 1;
        }
        out[bit.div_ceil(8)..].fill(0);
        for v in [1u8, 1, 0, 0, 0, 0, 0, 0, 0, 0] {
            out[bit / 8] |= v << (bit % 8);
            bit += 1;
        }
    }
    out.truncate(bit.div_ceil(8));
    out
}

/// LSB-first bit reader over `d`, positions in bits; reading past `end` is an error.
struct Bits<'a> {
    d: &'a [u8],
    pos: usize,
    end: usize,
}

impl Bits<'_> {
    /// The next 57+ bits (zeros past the data).
    #[inline]
    fn peek(&self) -> u64 {
        let i = self.pos >> 3;
        let w = match self.d.get(i..i + 8) {
            Some(b) => {
                let mut a = [0u8; 8];
                a.copy_from_slice(b);
                u64::from_le_bytes(a)
            }
            None => {
                let mut a = [0u8; 8];
                let rest = self.d.get(i..).unwrap_or(&[]);
                a[..rest.len()].copy_from_slice(rest);
                u64::from_le_bytes(a)
            }
        };
        w >> (self.pos & 7)
    }

    #[inline]
    fn skip(&mut self, n: usize) -> R<()> {
        self.pos += n;
        if self.pos > self.end {
            Err(Bad)
        } else {
            Ok(())
        }
    }

    #[inline]
    fn take(&mut self, n: u32) -> R<u32> {
        let v = (self.peek() & ((1u64 << n) - 1)) as u32;
        self.skip(n as usize)?;
        Ok(v)
    }
}

/// A canonical prefix code as one lookup table indexed by the next `bits` input bits
/// (bit-reversed codes): entry = symbol << 4 | code length, 0 = no code.
struct Huff {
    t: Vec<u32>,
    bits: u32,
}

impl Huff {
    /// zlib's rules: never over-subscribed; incomplete only as a single code of length 1
    /// (and then only where `single_ok`); an all-zero code decodes nothing.
    fn new(lens: &[u8], single_ok: bool) -> R<Huff> {
        let mut count = [0u32; 16];
        for &l in lens {
            *count.get_mut(l as usize).ok_or(Bad)? += 1;
        }
        count[0] = 0;
        let Some(max) = (1..16).rev().find(|&l| count[l] > 0) else {
            return Ok(Huff {
                t: Vec::new(),
                bits: 0,
            });
        };
        let mut left: i64 = 1;
        for &c in &count[1..] {
            left = 2 * left - c as i64;
            if left < 0 {
                return Err(Bad);
            }
        }
        if left > 0 && !(single_ok && max == 1 && count[1] == 1) {
            return Err(Bad);
        }
        let mut next = [0u32; 16];
        let mut code = 0u32;
        for l in 1..16 {
            code = (code + count[l - 1]) << 1;
            next[l] = code;
        }
        let mut t = vec![0u32; 1 << max];
        for (sym, &l) in lens.iter().enumerate() {
            if l == 0 {
                continue;
            }
            let l = l as usize;
            let c = next[l];
            next[l] += 1;
            let entry = (sym as u32) << 4 | l as u32;
            let mut i = (c.reverse_bits() >> (32 - l)) as usize;
            while i < t.len() {
                t[i] = entry;
                i += 1 << l;
            }
        }
        Ok(Huff {
            t,
            bits: max as u32,
        })
    }

    #[inline]
    fn decode(&self, b: &mut Bits) -> R<u32> {
        let mask = (1usize << self.bits) - 1;
        let e = *self.t.get(b.peek() as usize & mask).ok_or(Bad)?;
        let len = e & 15;
        if len == 0 {
            return Err(Bad);
        }
        b.skip(len as usize)?;
        Ok(e >> 4)
    }
}

/// The fixed codes of BTYPE = 01 (RFC 1951 §3.2.6).
struct Fixed {
    lit: Huff,
    dist: Huff,
}

impl Fixed {
    fn new() -> R<Fixed> {
        let mut lit = [8u8; 288];
        lit[144..256].fill(9);
        lit[256..280].fill(7);
        // 32 distance codes of 5 bits (30 and 31 are invalid if they occur).
        Ok(Fixed {
            lit: Huff::new(&lit, false)?,
            dist: Huff::new(&[5u8; 32], false)?,
        })
    }
}

/// Length symbols 257..=285: (base, extra bits); distance symbols 0..=29 likewise (RFC 1951).
fn length_code(s: u32) -> R<(u32, u32)> {
    match s {
        0..=7 => Ok((3 + s, 0)),
        8..=27 => {
            let extra = (s - 4) / 4;
            Ok((3 + (4 << extra) + ((s - 4) % 4) * (1 << extra), extra))
        }
        28 => Ok((258, 0)),
        _ => Err(Bad),
    }
}

fn distance_code(s: u32) -> R<(u32, u32)> {
    match s {
        0..=3 => Ok((1 + s, 0)),
        4..=29 => {
            let extra = s / 2 - 1;
            Ok((1 + (2 << extra) + (s % 2) * (1 << extra), extra))
        }
        _ => Err(Bad),
    }
}

/// Read a dynamic block's code tables (the header after BFINAL/BTYPE).
fn dynamic(b: &mut Bits) -> R<(Huff, Huff)> {
    const ORDER: [usize; 19] = [
        16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15,
    ];
    let hlit = b.take(5)? as usize + 257;
    let hdist = b.take(5)? as usize + 1;
    let hclen = b.take(4)? as usize + 4;
    if hlit > 286 || hdist > 30 {
        return Err(Bad);
    }
    let mut cl = [0u8; 19];
    for &o in &ORDER[..hclen] {
        cl[o] = b.take(3)? as u8;
    }
    let clh = Huff::new(&cl, false)?;
    let n = hlit + hdist;
    let mut lens = [0u8; 316];
    let mut i = 0;
    while i < n {
        let s = clh.decode(b)?;
        let (v, r) = match s {
            0..=15 => (s as u8, 1),
            16 => (
                *lens.get(i.wrapping_sub(1)).ok_or(Bad)?,
                3 + b.take(2)? as usize,
            ),
            17 => (0, 3 + b.take(3)? as usize),
            18 => (0, 11 + b.take(7)? as usize),
            _ => return Err(Bad),
        };
        if i + r > n {
            return Err(Bad);
        }
        lens[i..i + r].fill(v);
        i += r;
    }
    if lens[256] == 0 {
        return Err(Bad);
    }
    Ok((
        Huff::new(&lens[..hlit], true)?,
        Huff::new(&lens[hlit..n], true)?,
    ))
}

/// Decode one block into `out` (bytes or markers); `last_marker` = index + 1 of the last marker
/// written. Returns whether it was the final block.
/// More than `cap` symbols in `out` is an error (bounds the work a forged stream can cause).
fn block(
    b: &mut Bits,
    out: &mut Vec<u16>,
    last_marker: &mut usize,
    fixed: &Fixed,
    cap: usize,
) -> R<bool> {
    let fin = b.take(1)? == 1;
    match b.take(2)? {
        0 => {
            let r = b.pos % 8;
            if r != 0 {
                b.skip(8 - r)?;
            }
            let len = b.take(16)? as usize;
            let nlen = b.take(16)? as usize;
            if len != !nlen & 0xffff {
                return Err(Bad);
            }
            let at = b.pos / 8;
            let bytes = b.d.get(at..at + len).ok_or(Bad)?;
            if out.len() + len > cap {
                return Err(Bad);
            }
            b.skip(len * 8)?;
            out.extend(bytes.iter().map(|&x| x as u16));
        }
        1 => codes(b, out, last_marker, (&fixed.lit, &fixed.dist), cap)?,
        2 => {
            let (lit, dist) = dynamic(b)?;
            codes(b, out, last_marker, (&lit, &dist), cap)?;
        }
        _ => return Err(Bad),
    }
    Ok(fin)
}

fn codes(
    b: &mut Bits,
    out: &mut Vec<u16>,
    last_marker: &mut usize,
    (lit, dist): (&Huff, &Huff),
    cap: usize,
) -> R<()> {
    loop {
        if out.len() > cap {
            return Err(Bad);
        }
        let s = lit.decode(b)?;
        if s < 256 {
            out.push(s as u16);
            continue;
        }
        if s == 256 {
            return Ok(());
        }
        let (base, extra) = length_code(s - 257)?;
        let len = (base + b.take(extra)?) as usize;
        let (dbase, dextra) = distance_code(dist.decode(b)?)?;
        let d = (dbase + b.take(dextra)?) as usize;
        let n = out.len();
        if d > n + WIN {
            return Err(Bad);
        }
        if d <= n && n - d >= *last_marker {
            // The source holds no marker (all lie before `last_marker`): plain copy.
            if d >= len {
                out.extend_from_within(n - d..n - d + len);
            } else {
                for p in n..n + len {
                    out.push(out[p - d]);
                }
            }
            continue;
        }
        for p in n..n + len {
            let v = if p >= d {
                out[p - d]
            } else {
                MARK + (WIN + p - d) as u16
            };
            if v >= MARK {
                *last_marker = p + 1;
            }
            out.push(v);
        }
    }
}

/// The first bit position in `[from, to)` where a non-final dynamic block starts and decodes
/// completely (with an unknown window).
///
/// The work is bounded for forged input: at most `TRIALS` candidates are decoded, each to at most
/// `TRIAL_OUTPUT` symbols (real blocks are far smaller; zlib closes one every 16–64 K symbols).
fn find_block(d: &[u8], from: usize, to: usize, end: usize) -> Option<usize> {
    const TRIALS: usize = 64;
    const TRIAL_OUTPUT: usize = 1 << 20;
    let fixed = Fixed::new().ok()?;
    let mut scratch = Vec::new();
    let mut trials = 0;
    for pos in from..to {
        let b = Bits { d, pos, end };
        let w = b.peek();
        // BFINAL = 0, BTYPE = 2 (bits 0, 0, 1); HLIT ≤ 29; HDIST ≤ 29.
        if w & 7 != 0b100 || (w >> 3) & 31 > 29 || (w >> 8) & 31 > 29 {
            continue;
        }
        let mut b = Bits { d, pos, end };
        scratch.clear();
        let mut lm = 0;
        if matches!(
            block(&mut b, &mut scratch, &mut lm, &fixed, TRIAL_OUTPUT),
            Ok(false)
        ) {
            return Some(pos);
        }
        // Count only candidates whose code tables were valid enough to start decoding.
        if !scratch.is_empty() {
            trials += 1;
            if trials >= TRIALS {
                return None;
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_tables_match_rfc1951() {
        let lengths: Vec<(u32, u32)> = (0..29).map(|s| length_code(s).unwrap()).collect();
        let want_base = [
            3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99,
            115, 131, 163, 195, 227, 258,
        ];
        let want_extra = [
            0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
        ];
        assert_eq!(lengths.iter().map(|l| l.0).collect::<Vec<_>>(), want_base);
        assert_eq!(lengths.iter().map(|l| l.1).collect::<Vec<_>>(), want_extra);
        let d: Vec<(u32, u32)> = (0..30).map(|s| distance_code(s).unwrap()).collect();
        assert_eq!(d[4], (5, 1));
        assert_eq!(d[29], (24577, 13));
        assert!(length_code(29).is_err() && distance_code(30).is_err());
    }

    /// CT-like int16 slices: smooth anatomy, noise, air; long-distance repeats between slices.
    fn ct_like(bytes: usize) -> Vec<u8> {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut out = Vec::with_capacity(bytes);
        let mut i = 0usize;
        while out.len() < bytes {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let (x, y) = (i % 256, (i / 256) % 256);
            let body = (x as i64 - 128).pow(2) + (y as i64 - 128).pow(2) < 100 * 100;
            let v: i16 = if body {
                40 + ((x * 7 + y * 3) % 50) as i16 + (seed % 8) as i16
            } else {
                -1024
            };
            out.extend_from_slice(&v.to_le_bytes());
            i += 1;
        }
        out.truncate(bytes);
        out
    }

    fn zlib(data: &[u8], level: u32) -> Vec<u8> {
        use std::io::Write;
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::new(level));
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn adler_of(z: &[u8]) -> Check {
        let n = z.len();
        Check::Adler32(u32::from_be_bytes([z[n - 4], z[n - 3], z[n - 2], z[n - 1]]))
    }

    #[test]
    fn chunks_with_markers_reassemble_exactly() {
        let data = ct_like(3 << 20);
        for level in [6, 9] {
            let z = zlib(&data, level);
            for n in [2, 3, 5] {
                let mut out = vec![0u8; data.len()];
                let r = run(&z, 2, n, &mut out, adler_of(&z));
                assert!(
                    r.is_ok(),
                    "level {level}, {n} chunks, {} compressed",
                    z.len()
                );
                assert!(out == data, "level {level}, {n} chunks");
            }
        }
    }

    #[test]
    fn a_chunk_starts_with_markers_and_ends_in_libdeflate() {
        let data = ct_like(3 << 20);
        let z = zlib(&data, 6);
        let end = z.len() * 8;
        let p = find_block(&z, end / 3, end, end).unwrap();
        let part = decode_chunk(&z, p, None, end, data.len(), &Fixed::new().unwrap()).unwrap();
        // Back-references into the unknown window were met, and then the window cleaned up.
        assert!(part.marked.iter().any(|&v| v >= MARK));
        assert!(
            part.tail.len() > WIN + (256 << 10),
            "tail {}",
            part.tail.len()
        );
        // Its bytes are the stream's last bytes.
        let n = part.marked.len() + part.tail.len() - WIN;
        let at = data.len() - n;
        assert_eq!(&part.tail[WIN..], &data[at + part.marked.len()..]);
        let resolved: Vec<u8> = part
            .marked
            .iter()
            .map(|&v| {
                if v < MARK {
                    v as u8
                } else {
                    data[at - WIN + (v - MARK) as usize]
                }
            })
            .collect();
        assert_eq!(resolved, data[at..at + part.marked.len()]);
    }

    #[test]
    fn corrupt_or_unsplittable_streams_are_refused() {
        let data = ct_like(2 << 20);
        let z = zlib(&data, 6);
        // A flipped bit in the second half: no result (the caller falls back and reports it).
        let mut bad = z.clone();
        let k = bad.len() * 3 / 4;
        bad[k] ^= 0x10;
        let mut out = vec![0u8; data.len()];
        assert!(run(&bad, 2, 2, &mut out, adler_of(&bad)).is_err());
        // Any flipped bit: an error, or (a flip in padding) the exact bytes; never a panic.
        for i in 0..97 {
            let mut bad = z.clone();
            let k = 2 + i * (z.len() - 2) / 97;
            bad[k] ^= 1 << (i % 8);
            let mut out = vec![0u8; data.len()];
            if run(&bad, 2, 3, &mut out, adler_of(&z)).is_ok() {
                assert!(out == data, "flip at {k}");
            }
        }
        // Wrong checksum or wrong size: refused.
        assert!(run(&z, 2, 2, &mut out, Check::Adler32(1)).is_err());
        let mut short = vec![0u8; data.len() - 1];
        assert!(run(&z, 2, 2, &mut short, adler_of(&z)).is_err());
        // Stored blocks only (level 0): no dynamic block to start a chunk at.
        let stored = zlib(&data[..1 << 20], 0);
        let mut out = vec![0u8; 1 << 20];
        assert!(run(&stored, 2, 2, &mut out, adler_of(&stored)).is_err());
        // Too small to split through the public entry point.
        assert!(!inflate(&z, 2, &mut vec![0u8; data.len()], adler_of(&z)));
    }

    #[test]
    fn fuzz_entry_accepts_only_exact_results() {
        let z = zlib(&ct_like(400_000), 6);
        fuzz_compare(&z);
        let mut bad = z.clone();
        bad[z.len() / 2] ^= 0x21;
        fuzz_compare(&bad);
        fuzz_compare(&z[..z.len() / 2]);
        fuzz_compare(b"");
    }

    #[test]
    fn repack_shifts_bits_and_terminates() {
        let z = zlib(b"abcabcabcabcabcabcabcabc", 6);
        // Whole stream from its first bit: unchanged bytes.
        assert_eq!(repack(&[], &z, 16, z.len() * 8), z[2..].to_vec());
        // Bits 3.. of [0b1010_1000, 0xff]: shifted down by 3.
        let d = [0b1010_1000u8, 0xff, 0x0f];
        assert_eq!(
            repack(&[9], &d, 3, 24),
            vec![9, 0b1111_0101, 0b1111_1111, 0b0000_0001]
        );
        // Bits 3..8 only: 5 payload bits, then 1, 1, 0 × 8 (an empty final fixed block).
        assert_eq!(repack(&[], &d, 3, 8), vec![0b0111_0101, 0]);
    }

    #[test]
    fn adler_combines() {
        let x = b"hello, ";
        let y = b"world and more bytes";
        let whole = libdeflater::adler32(&[&x[..], &y[..]].concat());
        let c = adler_combine(libdeflater::adler32(x), libdeflater::adler32(y), y.len());
        assert_eq!(c, whole);
    }
}
