//! Streaming read of one channel of the step-1 probabilities (`X.npz`, key `probabilities`,
//! float32 `(regions, z, y, x)`): only that channel is ever held in memory (a whole-spine npz
//! decompresses to ~680 MB; one channel is 76 MB).

use crate::error::{Error, Result};
use flate2::read::DeflateDecoder;
use std::io::Read;
use std::path::Path;

fn u16le(b: &[u8], o: usize) -> Option<usize> {
    b.get(o..o + 2)
        .map(|s| u16::from_le_bytes([s[0], s[1]]) as usize)
}
fn u32le(b: &[u8], o: usize) -> Option<usize> {
    b.get(o..o + 4)
        .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]) as usize)
}

/// Shape of the array and the float32 values of `channel` (0-based, first axis), in C order
/// of the remaining axes (for `(z, y, x)` that is medseg's x-fastest layout).
pub fn read_channel(path: &Path, key: &str, channel: usize) -> Result<(Vec<usize>, Vec<f32>)> {
    let (shape, mut v) = read_channels(path, key, &[channel])?;
    Ok((shape, v.pop().unwrap_or_default()))
}

/// Several channels (strictly increasing) in one pass over the compressed stream.
pub fn read_channels(
    path: &Path,
    key: &str,
    channels: &[usize],
) -> Result<(Vec<usize>, Vec<Vec<f32>>)> {
    if channels.windows(2).any(|w| w[0] >= w[1]) {
        return Err(Error::invalid_argument(
            "npz channels must be strictly increasing",
        ));
    }
    let what = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let bad = |m: &str| Error::format(format!("{what}: {m}"));
    let want = format!("{key}.npy");
    let mut off = 0usize;
    loop {
        if u32le(&bytes, off) != Some(0x04034b50) {
            return Err(bad(&format!("no member '{want}' in the npz archive")));
        }
        let flags = u16le(&bytes, off + 6).ok_or_else(|| bad("truncated zip header"))?;
        let method = u16le(&bytes, off + 8).ok_or_else(|| bad("truncated zip header"))?;
        let csize = u32le(&bytes, off + 18).ok_or_else(|| bad("truncated zip header"))?;
        let nlen = u16le(&bytes, off + 26).ok_or_else(|| bad("truncated zip header"))?;
        let xlen = u16le(&bytes, off + 28).ok_or_else(|| bad("truncated zip header"))?;
        let name = bytes
            .get(off + 30..off + 30 + nlen)
            .ok_or_else(|| bad("truncated zip header"))?;
        let data = off + 30 + nlen + xlen;
        if data > bytes.len() {
            return Err(bad("truncated zip member"));
        }
        if name == want.as_bytes() {
            let src = &bytes[data..];
            return match method {
                8 => parse_npy(DeflateDecoder::new(src), channels, &what),
                0 => parse_npy(src, channels, &what),
                m => Err(Error::unsupported(format!(
                    "{what}: zip compression method {m} (only stored and deflate)"
                ))),
            };
        }
        if flags & 8 != 0 || csize == 0xFFFF_FFFF {
            return Err(bad(
                "zip member sizes are only in a data descriptor; cannot skip to the next member",
            ));
        }
        off = data + csize;
    }
}

fn parse_npy(
    mut r: impl Read,
    channels: &[usize],
    what: &str,
) -> Result<(Vec<usize>, Vec<Vec<f32>>)> {
    let bad = |m: String| Error::format(format!("{what}: {m}"));
    let io = |e: std::io::Error| bad(format!("reading the probabilities: {e}"));
    let mut head = [0u8; 8];
    r.read_exact(&mut head).map_err(io)?;
    if &head[..6] != b"\x93NUMPY" {
        return Err(bad("not an .npy member".into()));
    }
    let hlen = if head[6] == 1 {
        let mut b = [0u8; 2];
        r.read_exact(&mut b).map_err(io)?;
        u16::from_le_bytes(b) as usize
    } else {
        let mut b = [0u8; 4];
        r.read_exact(&mut b).map_err(io)?;
        u32::from_le_bytes(b) as usize
    };
    if hlen > 1 << 20 {
        return Err(bad(format!("npy header of {hlen} bytes")));
    }
    let mut h = vec![0u8; hlen];
    r.read_exact(&mut h).map_err(io)?;
    let h = String::from_utf8_lossy(&h).to_string();
    if !h.contains("'descr': '<f4'") {
        return Err(Error::pixel_type(format!(
            "{what}: probabilities must be little-endian float32 ({h})"
        )));
    }
    if h.contains("'fortran_order': True") {
        return Err(Error::unsupported(format!(
            "{what}: Fortran-ordered probabilities"
        )));
    }
    let shape_txt = h
        .split("'shape':")
        .nth(1)
        .and_then(|s| s.split(')').next())
        .map(|s| s.trim().trim_start_matches('('))
        .ok_or_else(|| bad(format!("no shape in the npy header ({h})")))?;
    let shape: Vec<usize> = shape_txt
        .split(',')
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<usize>())
        .collect::<std::result::Result<_, _>>()
        .map_err(|_| bad(format!("bad shape '{shape_txt}'")))?;
    let Some((&nch, rest)) = shape.split_first() else {
        return Err(bad("empty shape".into()));
    };
    if let Some(&c) = channels.iter().find(|&&c| c >= nch) {
        return Err(Error::invalid_argument(format!(
            "{what}: channel {} requested, the probabilities have {nch}",
            c + 1
        )));
    }
    let n: usize = rest.iter().product();
    let nbytes = n
        .checked_mul(4)
        .ok_or_else(|| Error::too_large(format!("{what}: shape {shape:?}")))?;
    let mut pos = 0usize;
    let mut out = Vec::with_capacity(channels.len());
    // Inflated in 1 MiB pieces: skipped channels are never stored, and a kept channel is
    // never held twice (bytes and floats).
    let mut buf = vec![0u8; (1 << 20).min(nbytes.max(4))];
    for &channel in channels {
        let mut skip = (channel - pos) * nbytes;
        while skip > 0 {
            let take = skip.min(buf.len());
            r.read_exact(&mut buf[..take]).map_err(|e| {
                if e.kind() == std::io::ErrorKind::UnexpectedEof {
                    bad("probabilities truncated".into())
                } else {
                    io(e)
                }
            })?;
            skip -= take;
        }
        let mut vals: Vec<f32> = Vec::with_capacity(n);
        let mut left = nbytes;
        while left > 0 {
            let take = left.min(buf.len());
            r.read_exact(&mut buf[..take]).map_err(io)?;
            vals.extend(
                buf[..take]
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
            );
            left -= take;
        }
        out.push(vals);
        pos = channel + 1;
    }
    Ok((shape, out))
}
