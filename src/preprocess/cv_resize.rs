//! OpenCV `cv::resize` semantics, bit for bit: `INTER_AREA` on uint8 pictures and label masks, and
//! a half-pixel bilinear resize on float32 maps.
//!
//! [`resize_area_u8`] gives exactly the bytes of `cv2.resize(img, (new_w, new_h),
//! interpolation=cv2.INTER_AREA)` (OpenCV 4.11, the x86-64 wheel) for `(H, W, C)` uint8 arrays with
//! 1 to 4 channels, which is how LiteMedSAM brings a slice to its 256-pixel input.
//! [`resize_bilinear_f32`] is torch `F.interpolate(mode="bilinear", align_corners=False)` (what
//! LiteMedSAM uses to bring its logits back to the slice; cv2 `INTER_LINEAR` on float32 agrees with
//! it to about 2e-6).
//!
//! ```
//! use medseg::preprocess::cv_resize::{resize_area_u8, resize_bilinear_f32};
//! // 2x2 box mean, rounded half up as OpenCV's 2x2 kernel does.
//! let img = [0u8, 1, 4, 4, 1, 0, 4, 5];
//! assert_eq!(resize_area_u8(&img, 2, 4, 1, 1, 2).unwrap(), vec![1, 4]);
//! // Half-pixel centres: two pixels become four with 1/4 and 3/4 weights, edges clamped.
//! let up = resize_bilinear_f32(&[0.0, 4.0], 1, 2, 1, 4).unwrap();
//! assert_eq!(up, vec![0.0, 1.0, 3.0, 4.0]);
//! ```
//!
//! # Which OpenCV code path each size takes
//!
//! With `scale = src / dst` per axis, computed as OpenCV does (`1.0 / (dst as f64 / src as f64)`):
//!
//! * **Same size**: a copy.
//! * **Both scales integers** (within `f64::EPSILON`; note `1/(1/49) != 49`, so a factor of 49
//!   takes the next path): the box mean of `resizeAreaFast`. For a 2x2 box with 1, 3 or 4 channels
//!   every pixel is `(a + b + c + d + 2) >> 2` (OpenCV's vector kernel and its scalar tail agree);
//!   every other box (and 2x2 with 2 channels) is `round_half_even(sum as f32 * (1 / area) as f32)`.
//! * **Both scales >= 1 otherwise**: `resizeArea_`. Per axis a table of (source, destination,
//!   weight) with f32 weights (`computeResizeAreaTab`); each source row is reduced horizontally into
//!   an f32 buffer in table order (`buf[d] = buf[d] + s as f32 * w`), the rows are combined in table
//!   order (`sum = beta * buf`, then `sum = sum + beta * buf`), then rounded half to even and
//!   saturated. All arithmetic is plain IEEE f32 (no fused multiply-add, as in the SSE build).
//! * **Any scale < 1** (upscaling on at least one axis): OpenCV's linear resize with `INTER_AREA`
//!   coefficients: `sx = floor(dx * scale)`, `f = (dx + 1) - (sx + 1) * (dst / src)` (f64, then f32),
//!   `f = 0` if `f <= 0` else its fractional part; weights `round_half_even((1 - f) * 2048)` and
//!   `round_half_even(f * 2048)`. The horizontal pass is exact integer arithmetic (past the right
//!   edge, `src * 2048`); the vertical pass is
//!   `(((b0 * (r0 >> 4)) >> 16) + ((b1 * (r1 >> 4)) >> 16) + 2) >> 2` with rows clamped to the
//!   image. OpenCV's SSE kernel (16 bytes a step) and its scalar tail use this same formula in 4.11
//!   (not the `(v + (1 << 21)) >> 22` of the generic fixed-point cast), so every byte of a row does.
//!
//! The fixtures in `tests/fixtures/cv_resize` (made with real OpenCV by
//! `tools/make_cv_resize_fixtures.py`) cover every path, odd widths and tails, 1 to 4 channels and
//! label masks; all match byte for byte.

use crate::error::{Error, Result};

/// `cv2.resize(src, (new_w, new_h), interpolation=cv2.INTER_AREA)` for uint8, exactly.
///
/// `src` is `(h, w, channels)` in C order (channels interleaved). Returns `(new_h, new_w,
/// channels)`. Errors (`InvalidArgument`) on a zero size, `channels` outside 1..=4, or a buffer
/// whose length is not `h * w * channels`; `TooLarge` when an image would exceed `i32::MAX` values.
pub fn resize_area_u8(
    src: &[u8],
    h: usize,
    w: usize,
    channels: usize,
    new_h: usize,
    new_w: usize,
) -> Result<Vec<u8>> {
    if !(1..=4).contains(&channels) {
        return Err(Error::invalid_argument(format!(
            "resize_area_u8: channels must be 1 to 4, got {channels}"
        )));
    }
    check_sizes("resize_area_u8", src.len(), h, w, channels, new_h, new_w)?;
    if (h, w) == (new_h, new_w) {
        return Ok(src.to_vec());
    }
    let inv_x = new_w as f64 / w as f64;
    let inv_y = new_h as f64 / h as f64;
    let scale_x = 1.0 / inv_x;
    let scale_y = 1.0 / inv_y;
    if scale_x >= 1.0 && scale_y >= 1.0 {
        let ix = scale_x.round_ties_even();
        let iy = scale_y.round_ties_even();
        let fast = (scale_x - ix).abs() < f64::EPSILON && (scale_y - iy).abs() < f64::EPSILON;
        if fast {
            Ok(area_fast(
                src,
                w,
                channels,
                new_h,
                new_w,
                ix as usize,
                iy as usize,
            ))
        } else {
            Ok(area_general(
                src, h, w, channels, new_h, new_w, scale_x, scale_y,
            ))
        }
    } else {
        Ok(linear_area_mode(
            src, h, w, channels, new_h, new_w, scale_x, scale_y, inv_x, inv_y,
        ))
    }
}

/// Bilinear resize with half-pixel centres and edge clamping, no antialiasing (torch
/// `align_corners=False`), float32, one channel.
///
/// `src` is `(h, w)` in C order; returns `(new_h, new_w)`. The source coordinate of output `d` is
/// `max((d + 0.5) * src / dst - 0.5, 0)`; neighbours past the last pixel are clamped to it. Weights
/// and sums are f64, rounded once to f32. Errors (`InvalidArgument`) on a zero size or a buffer
/// whose length is not `h * w`.
pub fn resize_bilinear_f32(
    src: &[f32],
    h: usize,
    w: usize,
    new_h: usize,
    new_w: usize,
) -> Result<Vec<f32>> {
    check_sizes("resize_bilinear_f32", src.len(), h, w, 1, new_h, new_w)?;
    let xs = bilinear_taps(w, new_w);
    let ys = bilinear_taps(h, new_h);
    let mut out = vec![0f32; new_h * new_w];
    // One horizontally interpolated row per source row used, cached two at a time.
    let mut rows = [vec![0f64; new_w], vec![0f64; new_w]];
    let mut ids = [usize::MAX; 2];
    let hpass = |y: usize, d: &mut [f64]| {
        let s = &src[y * w..(y + 1) * w];
        for (o, &(x0, x1, lx)) in d.iter_mut().zip(&xs) {
            *o = s[x0] as f64 * (1.0 - lx) + s[x1] as f64 * lx;
        }
    };
    for (dy, &(y0, y1, ly)) in ys.iter().enumerate() {
        fill_rows(&mut rows, &mut ids, [y0, y1], &hpass);
        let (r0, r1) = (&rows[0], &rows[1]);
        let o = &mut out[dy * new_w..(dy + 1) * new_w];
        for ((v, &a), &b) in o.iter_mut().zip(r0).zip(r1) {
            *v = (a * (1.0 - ly) + b * ly) as f32;
        }
    }
    Ok(out)
}

fn check_sizes(
    what: &str,
    len: usize,
    h: usize,
    w: usize,
    channels: usize,
    new_h: usize,
    new_w: usize,
) -> Result<()> {
    if h == 0 || w == 0 || new_h == 0 || new_w == 0 {
        return Err(Error::invalid_argument(format!(
            "{what}: sizes must be positive, got {h}x{w} -> {new_h}x{new_w}"
        )));
    }
    // Everything OpenCV indexes with `int` must fit one.
    let limit = i32::MAX as usize;
    let n_in = h.checked_mul(w).and_then(|n| n.checked_mul(channels));
    let n_out = new_h
        .checked_mul(new_w)
        .and_then(|n| n.checked_mul(channels));
    match (n_in, n_out) {
        (Some(a), Some(b)) if a <= limit && b <= limit => {}
        _ => {
            return Err(Error::too_large(format!(
                "{what}: {h}x{w} -> {new_h}x{new_w} with {channels} channels is too large"
            )));
        }
    }
    if len != h * w * channels {
        return Err(Error::invalid_argument(format!(
            "{what}: buffer holds {len} values, {h}x{w}x{channels} needs {}",
            h * w * channels
        )));
    }
    Ok(())
}

/// Make `rows[k]` hold the horizontal pass of source row `want[k]`, reusing rows already computed
/// (`ids` records which source row each buffer holds).
fn fill_rows<T: Copy>(
    rows: &mut [Vec<T>; 2],
    ids: &mut [usize; 2],
    want: [usize; 2],
    hpass: &impl Fn(usize, &mut [T]),
) {
    if ids[0] != want[0] {
        if ids[1] == want[0] {
            rows.swap(0, 1);
            ids.swap(0, 1);
        } else {
            hpass(want[0], &mut rows[0]);
            ids[0] = want[0];
        }
    }
    if ids[1] != want[1] {
        let [r0, r1] = rows;
        if ids[0] == want[1] {
            r1.copy_from_slice(r0);
        } else {
            hpass(want[1], r1);
        }
        ids[1] = want[1];
    }
}

/// `(i0, i1, weight of i1)` for each output index of a half-pixel bilinear resize.
fn bilinear_taps(n_in: usize, n_out: usize) -> Vec<(usize, usize, f64)> {
    let scale = n_in as f64 / n_out as f64;
    (0..n_out)
        .map(|d| {
            let s = ((d as f64 + 0.5) * scale - 0.5).max(0.0);
            let i0 = (s.floor() as usize).min(n_in - 1);
            let i1 = (i0 + 1).min(n_in - 1);
            (i0, i1, s - i0 as f64)
        })
        .collect()
}

/// OpenCV's `saturate_cast<uchar>(float)`: round half to even, then clamp.
#[inline]
fn sat_u8(v: f32) -> u8 {
    v.round_ties_even().clamp(0.0, 255.0) as u8
}

/// `resizeAreaFast`: integer factors `ix`, `iy` (the destination tiles the source exactly).
fn area_fast(
    src: &[u8],
    w: usize,
    cn: usize,
    new_h: usize,
    new_w: usize,
    ix: usize,
    iy: usize,
) -> Vec<u8> {
    let row_len = w * cn;
    let out_len = new_w * cn;
    let mut out = vec![0u8; new_h * out_len];
    if ix == 2 && iy == 2 && cn != 2 {
        // OpenCV's 2x2 kernel (vector part and scalar tail alike): rounded half up.
        for (dy, o) in out.chunks_exact_mut(out_len).enumerate() {
            let r0 = &src[2 * dy * row_len..(2 * dy + 1) * row_len];
            let r1 = &src[(2 * dy + 1) * row_len..(2 * dy + 2) * row_len];
            box2x2_half_up(r0, r1, o, cn);
        }
        return out;
    }
    // OpenCV sums in `int`; a box of more than 2^31/255 pixels would wrap there, so wrap here too.
    let mut acc = vec![0i32; out_len];
    let scale = 1.0f32 / (ix * iy) as f32;
    for (dy, o) in out.chunks_exact_mut(out_len).enumerate() {
        acc.fill(0);
        for sy in dy * iy..(dy + 1) * iy {
            let row = &src[sy * row_len..(sy + 1) * row_len];
            if ix == 1 {
                for (a, &s) in acc.iter_mut().zip(row) {
                    *a = a.wrapping_add(s as i32);
                }
                continue;
            }
            for (a_px, s_px) in acc.chunks_exact_mut(cn).zip(row.chunks_exact(ix * cn)) {
                for s in s_px.chunks_exact(cn) {
                    for (a, &v) in a_px.iter_mut().zip(s) {
                        *a = a.wrapping_add(v as i32);
                    }
                }
            }
        }
        for (d, &a) in o.iter_mut().zip(&acc) {
            *d = sat_u8(a as f32 * scale);
        }
    }
    out
}

/// `(a + b + c + d + 2) >> 2` over 2x2 boxes of two source rows.
#[inline]
fn box2x2_half_up(r0: &[u8], r1: &[u8], o: &mut [u8], cn: usize) {
    let f =
        |a: u8, b: u8, c: u8, d: u8| ((a as u16 + b as u16 + c as u16 + d as u16 + 2) >> 2) as u8;
    match cn {
        1 => {
            for ((d, a), b) in o.iter_mut().zip(r0.chunks_exact(2)).zip(r1.chunks_exact(2)) {
                *d = f(a[0], a[1], b[0], b[1]);
            }
        }
        3 => {
            for ((d, a), b) in o
                .chunks_exact_mut(3)
                .zip(r0.chunks_exact(6))
                .zip(r1.chunks_exact(6))
            {
                d[0] = f(a[0], a[3], b[0], b[3]);
                d[1] = f(a[1], a[4], b[1], b[4]);
                d[2] = f(a[2], a[5], b[2], b[5]);
            }
        }
        _ => {
            for ((d, a), b) in o
                .chunks_exact_mut(cn)
                .zip(r0.chunks_exact(2 * cn))
                .zip(r1.chunks_exact(2 * cn))
            {
                for (c, v) in d.iter_mut().enumerate() {
                    *v = f(a[c], a[c + cn], b[c], b[c + cn]);
                }
            }
        }
    }
}

/// One entry of `computeResizeAreaTab`: destination index, source index (both in elements, i.e.
/// times `cn`), weight.
#[derive(Clone, Copy)]
struct Tap {
    di: usize,
    si: usize,
    alpha: f32,
}

fn area_tab(ssize: usize, dsize: usize, cn: usize, scale: f64) -> Vec<Tap> {
    let mut tab = Vec::with_capacity(ssize * 2);
    let last = ssize as i64 - 1;
    for dx in 0..dsize {
        let fsx1 = dx as f64 * scale;
        let fsx2 = fsx1 + scale;
        let cell = scale.min(ssize as f64 - fsx1);
        let sx2 = (fsx2.floor() as i64).min(last);
        let sx1 = (fsx1.ceil() as i64).min(sx2);
        let di = dx * cn;
        if sx1 as f64 - fsx1 > 1e-3 {
            tab.push(Tap {
                di,
                si: (sx1 - 1) as usize * cn,
                alpha: ((sx1 as f64 - fsx1) / cell) as f32,
            });
        }
        for sx in sx1..sx2 {
            tab.push(Tap {
                di,
                si: sx as usize * cn,
                alpha: (1.0 / cell) as f32,
            });
        }
        if fsx2 - sx2 as f64 > 1e-3 {
            tab.push(Tap {
                di,
                si: sx2 as usize * cn,
                alpha: ((fsx2 - sx2 as f64).min(1.0).min(cell) / cell) as f32,
            });
        }
    }
    tab
}

/// `resizeArea_<uchar, float>`: non-integer downscale on both axes (or one axis unchanged).
#[allow(clippy::too_many_arguments)]
fn area_general(
    src: &[u8],
    h: usize,
    w: usize,
    cn: usize,
    new_h: usize,
    new_w: usize,
    scale_x: f64,
    scale_y: f64,
) -> Vec<u8> {
    let xtab = area_tab(w, new_w, cn, scale_x);
    let ytab = area_tab(h, new_h, 1, scale_y);
    let row_len = w * cn;
    let out_len = new_w * cn;
    let mut out = vec![0u8; new_h * out_len];
    let mut buf = vec![0f32; out_len];
    let mut sum = vec![0f32; out_len];
    let mut buf_row = usize::MAX;
    let mut j = 0;
    while j < ytab.len() {
        let dy = ytab[j].di;
        let mut first = true;
        while j < ytab.len() && ytab[j].di == dy {
            let Tap {
                si: sy,
                alpha: beta,
                ..
            } = ytab[j];
            if sy != buf_row {
                // The same source row gives the same buffer, so a repeat needs no recomputation.
                let s = &src[sy * row_len..(sy + 1) * row_len];
                buf.fill(0.0);
                hsum_area(&xtab, s, &mut buf, cn);
                buf_row = sy;
            }
            if first {
                for (o, &b) in sum.iter_mut().zip(&buf) {
                    *o = beta * b;
                }
                first = false;
            } else {
                for (o, &b) in sum.iter_mut().zip(&buf) {
                    *o += beta * b;
                }
            }
            j += 1;
        }
        let o = &mut out[dy * out_len..(dy + 1) * out_len];
        for (d, &v) in o.iter_mut().zip(&sum) {
            *d = sat_u8(v);
        }
    }
    out
}

/// The horizontal reduction of one row in table order: `buf[d + c] += s[si + c] as f32 * alpha`.
#[inline]
fn hsum_area(xtab: &[Tap], s: &[u8], buf: &mut [f32], cn: usize) {
    match cn {
        1 => {
            for t in xtab {
                buf[t.di] += s[t.si] as f32 * t.alpha;
            }
        }
        3 => {
            for t in xtab {
                let (b, v) = (&mut buf[t.di..t.di + 3], &s[t.si..t.si + 3]);
                b[0] += v[0] as f32 * t.alpha;
                b[1] += v[1] as f32 * t.alpha;
                b[2] += v[2] as f32 * t.alpha;
            }
        }
        _ => {
            for t in xtab {
                let (b, v) = (&mut buf[t.di..t.di + cn], &s[t.si..t.si + cn]);
                for (b, &v) in b.iter_mut().zip(v) {
                    *b += v as f32 * t.alpha;
                }
            }
        }
    }
}

/// Source index and fixed-point weights (sum about 2048) of one output index, `INTER_AREA` flavour
/// of OpenCV's linear coefficients. `clamped` marks indices at or past the last source pixel.
struct LinTap {
    s: usize,
    w0: i32,
    w1: i32,
    clamped: bool,
}

fn linear_area_taps(n_in: usize, n_out: usize, scale: f64, inv: f64) -> Vec<LinTap> {
    (0..n_out)
        .map(|d| {
            let mut sx = (d as f64 * scale).floor() as i64;
            let mut fx = ((d + 1) as f64 - (sx + 1) as f64 * inv) as f32;
            fx = if fx <= 0.0 { 0.0 } else { fx - fx.floor() };
            let clamped = sx + 1 >= n_in as i64;
            if clamped {
                fx = 0.0;
                sx = n_in as i64 - 1;
            }
            let q = |c: f32| (c * 2048.0).round_ties_even().clamp(-32768.0, 32767.0) as i32;
            LinTap {
                s: sx.max(0) as usize,
                w0: q(1.0 - fx),
                w1: q(fx),
                clamped,
            }
        })
        .collect()
}

/// OpenCV's generic linear resize (`resizeGeneric_` with `HResizeLinear` / `VResizeLinear` for
/// uchar) with `INTER_AREA` coefficients: every upscale of `INTER_AREA`.
#[allow(clippy::too_many_arguments)]
fn linear_area_mode(
    src: &[u8],
    h: usize,
    w: usize,
    cn: usize,
    new_h: usize,
    new_w: usize,
    scale_x: f64,
    scale_y: f64,
    inv_x: f64,
    inv_y: f64,
) -> Vec<u8> {
    let xt = linear_area_taps(w, new_w, scale_x, inv_x);
    let yt = linear_area_taps(h, new_h, scale_y, inv_y);
    let row_len = w * cn;
    let out_len = new_w * cn;
    let mut out = vec![0u8; new_h * out_len];
    let mut rows = [vec![0i32; out_len], vec![0i32; out_len]];
    let mut ids = [usize::MAX; 2];
    let hpass = |y: usize, d: &mut [i32]| {
        let s = &src[y * row_len..(y + 1) * row_len];
        for (dpx, t) in d.chunks_exact_mut(cn).zip(&xt) {
            let a = &s[t.s * cn..t.s * cn + cn];
            if t.clamped {
                for (o, &v) in dpx.iter_mut().zip(a) {
                    *o = v as i32 * 2048;
                }
            } else {
                let b = &s[(t.s + 1) * cn..(t.s + 2) * cn];
                for ((o, &u), &v) in dpx.iter_mut().zip(a).zip(b) {
                    *o = u as i32 * t.w0 + v as i32 * t.w1;
                }
            }
        }
    };
    let last = h - 1;
    for (dy, t) in yt.iter().enumerate() {
        // OpenCV's row clipping: rows sy and sy + 1, each clamped to the image.
        fill_rows(
            &mut rows,
            &mut ids,
            [t.s.min(last), (t.s + 1).min(last)],
            &hpass,
        );
        let (b0, b1) = (t.w0, t.w1);
        let o = &mut out[dy * out_len..(dy + 1) * out_len];
        for ((d, &r0), &r1) in o.iter_mut().zip(&rows[0]).zip(&rows[1]) {
            let v = (((b0 * (r0 >> 4)) >> 16) + ((b1 * (r1 >> 4)) >> 16) + 2) >> 2;
            *d = v.clamp(0, 255) as u8;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn errors_are_typed() {
        let img = vec![0u8; 12];
        let bad = [
            resize_area_u8(&img, 0, 4, 3, 2, 2),
            resize_area_u8(&img, 2, 2, 3, 0, 2),
            resize_area_u8(&img, 2, 2, 3, 2, 0),
            resize_area_u8(&img, 2, 2, 0, 2, 2),
            resize_area_u8(&img, 1, 2, 6, 2, 2),
            resize_area_u8(&img, 2, 2, 2, 1, 1),
            resize_area_u8(&img, 2, 3, 1, 1, 1),
        ];
        for r in bad {
            assert_eq!(r.unwrap_err().kind(), ErrorKind::InvalidArgument);
        }
        let f = vec![0f32; 6];
        for r in [
            resize_bilinear_f32(&f, 2, 3, 0, 1),
            resize_bilinear_f32(&f, 0, 3, 1, 1),
            resize_bilinear_f32(&f, 3, 3, 1, 1),
        ] {
            assert_eq!(r.unwrap_err().kind(), ErrorKind::InvalidArgument);
        }
        let huge = resize_area_u8(&img, 2, 2, 3, usize::MAX / 2, 3);
        assert!(huge.is_err());
    }

    #[test]
    fn identity_and_constant() {
        let img: Vec<u8> = (0..60).map(|i| (i * 7 % 256) as u8).collect();
        assert_eq!(resize_area_u8(&img, 4, 5, 3, 4, 5).unwrap(), img);
        let c = vec![77u8; 7 * 9 * 3];
        for (nh, nw) in [(3, 4), (7, 3), (20, 31), (1, 1), (14, 9)] {
            let o = resize_area_u8(&c, 7, 9, 3, nh, nw).unwrap();
            assert_eq!(o.len(), nh * nw * 3);
            assert!(o.iter().all(|&v| v == 77), "{nh}x{nw}");
        }
        let f = vec![1.5f32; 12];
        assert!(
            resize_bilinear_f32(&f, 3, 4, 7, 2)
                .unwrap()
                .iter()
                .all(|&v| v == 1.5)
        );
    }

    #[test]
    fn area_fast_rounding() {
        // 2x2 with 1/3/4 channels rounds half up; 2 channels and other boxes round half to even.
        assert_eq!(resize_area_u8(&[1, 1, 0, 0], 2, 2, 1, 1, 1).unwrap(), [1]);
        assert_eq!(
            resize_area_u8(&[1, 1, 1, 1, 0, 0, 0, 0], 2, 2, 2, 1, 1).unwrap(),
            [0, 0]
        );
        assert_eq!(
            resize_area_u8(&[3, 7, 3, 7, 3, 7, 3, 7], 2, 2, 2, 1, 1).unwrap(),
            [3, 7]
        );
        assert_eq!(resize_area_u8(&[1, 0, 0, 1], 1, 4, 1, 1, 1).unwrap(), [0]);
        assert_eq!(resize_area_u8(&[3, 0, 0, 3], 1, 4, 1, 1, 1).unwrap(), [2]);
    }

    #[test]
    fn module_doc_example() {
        let img = [0u8, 1, 4, 4, 1, 0, 4, 5];
        assert_eq!(resize_area_u8(&img, 2, 4, 1, 1, 2).unwrap(), vec![1, 4]);
        let up = resize_bilinear_f32(&[0.0, 4.0], 1, 2, 1, 4).unwrap();
        assert_eq!(up, vec![0.0, 1.0, 3.0, 4.0]);
    }

    #[test]
    fn extreme_shapes() {
        let img: Vec<u8> = (0..3 * 700).map(|i| (i % 251) as u8).collect();
        assert_eq!(resize_area_u8(&img, 1, 700, 3, 1, 1).unwrap().len(), 3);
        assert_eq!(
            resize_area_u8(&img, 700, 1, 3, 4096, 1).unwrap().len(),
            4096 * 3
        );
        assert_eq!(
            resize_area_u8(&img[..3], 1, 1, 3, 5, 9).unwrap(),
            [0, 1, 2].repeat(45)
        );
    }
}
