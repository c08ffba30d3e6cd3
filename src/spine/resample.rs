//! Grid operations TotalSpineSeg does through nibabel/TorchIO/SimpleITK: nearest and linear
//! resampling onto another grid in physical space (SimpleITK `ResampleImageFilter` semantics:
//! outside `[-0.5, n - 0.5)` → 0, nearest rounds half up, linear clamps at the border),
//! `transform_seg2image` (nearest / linear / label), reorientation to the closest canonical
//! (RAS+) orientation, cropping, 4-D averaging and the TorchIO 1 mm grid rule.

use super::vol::Dims;
use crate::error::{Error, ErrorKind, Result};
use crate::image::{DynImage, Geometry, Image, Pixel};
use rayon::prelude::*;

/// Maps output voxel indices to continuous input indices: `c = a + M · idx`.
struct IndexMap {
    m: [[f64; 3]; 3],
    a: [f64; 3],
}

fn inverse3(m: &[[f64; 3]; 3]) -> Result<[[f64; 3]; 3]> {
    let det = m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
        - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
        + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
    if det.abs() < 1e-300 || !det.is_finite() {
        return Err(Error::invalid_geometry("singular index-to-physical matrix"));
    }
    let inv = 1.0 / det;
    Ok([
        [
            (m[1][1] * m[2][2] - m[1][2] * m[2][1]) * inv,
            (m[0][2] * m[2][1] - m[0][1] * m[2][2]) * inv,
            (m[0][1] * m[1][2] - m[0][2] * m[1][1]) * inv,
        ],
        [
            (m[1][2] * m[2][0] - m[1][0] * m[2][2]) * inv,
            (m[0][0] * m[2][2] - m[0][2] * m[2][0]) * inv,
            (m[0][2] * m[1][0] - m[0][0] * m[1][2]) * inv,
        ],
        [
            (m[1][0] * m[2][1] - m[1][1] * m[2][0]) * inv,
            (m[0][1] * m[2][0] - m[0][0] * m[2][1]) * inv,
            (m[0][0] * m[1][1] - m[0][1] * m[1][0]) * inv,
        ],
    ])
}

fn index_to_physical(g: &Geometry) -> [[f64; 3]; 3] {
    let mut m = [[0.0; 3]; 3];
    for (r, row) in m.iter_mut().enumerate() {
        for (c, v) in row.iter_mut().enumerate() {
            *v = g.direction[r * 3 + c] * g.spacing[c];
        }
    }
    m
}

impl IndexMap {
    fn new(src: &Geometry, dst: &Geometry) -> Result<Self> {
        let inv = inverse3(&index_to_physical(src))?;
        let od = index_to_physical(dst);
        let mut m = [[0.0; 3]; 3];
        for r in 0..3 {
            for c in 0..3 {
                m[r][c] = (0..3).map(|k| inv[r][k] * od[k][c]).sum();
            }
        }
        let diff = [
            dst.origin[0] - src.origin[0],
            dst.origin[1] - src.origin[1],
            dst.origin[2] - src.origin[2],
        ];
        let a = [
            inv[0][0] * diff[0] + inv[0][1] * diff[1] + inv[0][2] * diff[2],
            inv[1][0] * diff[0] + inv[1][1] * diff[1] + inv[1][2] * diff[2],
            inv[2][0] * diff[0] + inv[2][1] * diff[1] + inv[2][2] * diff[2],
        ];
        Ok(IndexMap { m, a })
    }
    #[inline]
    fn map(&self, i: usize, j: usize, k: usize) -> [f64; 3] {
        let (i, j, k) = (i as f64, j as f64, k as f64);
        let mut c = [0.0; 3];
        for (r, v) in c.iter_mut().enumerate() {
            *v = self.a[r] + self.m[r][0] * i + self.m[r][1] * j + self.m[r][2] * k;
        }
        c
    }
}

impl IndexMap {
    /// `Some(t)` when output index `o` maps exactly (no rounding) onto input index `o + t`.
    fn exact_shift(&self) -> Option<[i64; 3]> {
        let mut t = [0i64; 3];
        for r in 0..3 {
            for c in 0..3 {
                if self.m[r][c] != if r == c { 1.0 } else { 0.0 } {
                    return None;
                }
            }
            if self.a[r] != self.a[r].round() || self.a[r].abs() > 1e12 {
                return None;
            }
            t[r] = self.a[r] as i64;
        }
        Some(t)
    }

    /// `Some(t)` when every output index `o` (within `out_size`) maps to within 1e-3 of the
    /// integer index `o + t`: then nearest resampling (round half up, outside
    /// `[-0.5, n - 0.5)` = 0) is exactly a shifted copy.
    fn integer_shift(&self, out_size: [usize; 3]) -> Option<[i64; 3]> {
        let mut t = [0i64; 3];
        for r in 0..3 {
            let tr = self.a[r].round();
            if !tr.is_finite() || tr.abs() > 1e15 {
                return None;
            }
            let mut err = (self.a[r] - tr).abs();
            for (c, &n) in out_size.iter().enumerate() {
                let want = if r == c { 1.0 } else { 0.0 };
                err += (self.m[r][c] - want).abs() * n as f64;
            }
            if err.is_nan() || err >= 1e-3 {
                return None;
            }
            t[r] = tr as i64;
        }
        Some(t)
    }
}

impl IndexMap {
    /// Inclusive box `[x0, y0, z0, x1, y1, z1]` of output indices (within `out_size`) that
    /// can map into the input box `lo..=hi` (the inverse image of the box grown by one voxel,
    /// rounded outwards; the whole output when the map cannot be inverted).
    fn preimage_box(&self, lo: [usize; 3], hi: [usize; 3], out_size: [usize; 3]) -> [usize; 6] {
        let all = [0, 0, 0, out_size[0] - 1, out_size[1] - 1, out_size[2] - 1];
        let Ok(inv) = inverse3(&self.m) else {
            return all;
        };
        let mut mn = [f64::INFINITY; 3];
        let mut mx = [f64::NEG_INFINITY; 3];
        for corner in 0..8 {
            let c: [f64; 3] = std::array::from_fn(|a| {
                if (corner >> a) & 1 == 0 {
                    lo[a] as f64 - 1.0 - self.a[a]
                } else {
                    hi[a] as f64 + 1.0 - self.a[a]
                }
            });
            for r in 0..3 {
                let o = inv[r][0] * c[0] + inv[r][1] * c[1] + inv[r][2] * c[2];
                mn[r] = mn[r].min(o);
                mx[r] = mx[r].max(o);
            }
        }
        let mut b = all;
        for r in 0..3 {
            if !mn[r].is_finite() || !mx[r].is_finite() {
                return all;
            }
            let top = out_size[r] as f64 - 1.0;
            b[r] = (mn[r].floor() - 1.0).clamp(0.0, top) as usize;
            b[r + 3] = (mx[r].ceil() + 1.0).clamp(0.0, top) as usize;
        }
        b
    }
}

/// Output voxel `o` = input voxel `o + t` (0 outside the input).
fn shift_copy<T: Pixel>(src: &[T], sd: Dims, td: Dims, t: [i64; 3]) -> Vec<T> {
    let mut out = vec![T::default(); td.len()];
    let plane = td.nx * td.ny;
    if plane == 0 {
        return out;
    }
    // x range of output indices whose source x is inside.
    let x0 = (-t[0]).clamp(0, td.nx as i64) as usize;
    let x1 = (sd.nx as i64 - t[0]).clamp(0, td.nx as i64) as usize;
    out.par_chunks_mut(plane).enumerate().for_each(|(k, p)| {
        let z = k as i64 + t[2];
        if z < 0 || z >= sd.nz as i64 || x0 >= x1 {
            return;
        }
        for j in 0..td.ny {
            let y = j as i64 + t[1];
            if y < 0 || y >= sd.ny as i64 {
                continue;
            }
            let s0 = sd.idx((x0 as i64 + t[0]) as usize, y as usize, z as usize);
            p[j * td.nx + x0..j * td.nx + x1].copy_from_slice(&src[s0..s0 + (x1 - x0)]);
        }
    });
    out
}

fn inside(c: [f64; 3], size: [usize; 3]) -> bool {
    (0..3).all(|a| c[a] >= -0.5 && c[a] < size[a] as f64 - 0.5)
}

/// Nearest-neighbour resampling of `img` onto `target` (outside → 0).
pub fn resample_nearest<T: Pixel>(img: &Image<T>, target: &Geometry) -> Result<Image<T>> {
    let src = img.geometry();
    let map = IndexMap::new(src, target)?;
    let sd = Dims::new(src.size);
    let td = Dims::new(target.size);
    let data = img.data();
    if let Some(t) = map.integer_shift(target.size) {
        return Image::new(*target, shift_copy(data, sd, td, t));
    }
    let mut out = vec![T::default(); td.len()];
    let plane = td.nx * td.ny;
    out.par_chunks_mut(plane.max(1))
        .enumerate()
        .for_each(|(k, p)| {
            for j in 0..td.ny {
                for i in 0..td.nx {
                    let c = map.map(i, j, k);
                    if !inside(c, src.size) {
                        continue;
                    }
                    // itk::Math::RoundHalfIntegerUp
                    let x = (floor_fast(c[0] + 0.5) as usize).min(sd.nx - 1);
                    let y = (floor_fast(c[1] + 0.5) as usize).min(sd.ny - 1);
                    let z = (floor_fast(c[2] + 0.5) as usize).min(sd.nz - 1);
                    p[i + td.nx * j] = data[sd.idx(x, y, z)];
                }
            }
        });
    Image::new(*target, out)
}

/// [`resample_nearest`] for label maps.
pub fn resample_nearest_u8(img: &Image<u8>, target: &Geometry) -> Result<Image<u8>> {
    resample_nearest(img, target)
}

/// Linear resampling (SimpleITK `sitkLinear`, computed in f64, border clamped, outside → 0).
pub fn resample_linear(img: &Image<f64>, target: &Geometry) -> Result<Image<f64>> {
    Image::new(*target, linear_with(img, target, |v| v)?)
}

/// [`resample_linear`] of any pixel type (each value taken as `to_f64`), the f64 result passed
/// through `conv`: no f64 copy of the input or the output is ever made.
fn linear_with<T: Pixel, O: Send + Sync + Copy>(
    img: &Image<T>,
    target: &Geometry,
    conv: impl Fn(f64) -> O + Sync,
) -> Result<Vec<O>> {
    let src = img.geometry();
    let map = IndexMap::new(src, target)?;
    let sd = Dims::new(src.size);
    let td = Dims::new(target.size);
    let data = img.data();
    let zero = conv(0.0);
    let mut out = vec![zero; td.len()];
    let plane = td.nx * td.ny;
    if plane == 0 {
        return Ok(out);
    }
    // Every output index maps exactly onto an input index: all weights are 0 and each value
    // is `v000 + (v100 - v000) * 0 ...` = v000 for finite values other than -0.0.
    if let Some(t) = map.exact_shift()
        && data.par_iter().all(|v| {
            let x = v.to_f64();
            x.is_finite() && !(x == 0.0 && x.is_sign_negative())
        })
    {
        linear_shift(data, sd, td, t, &conv, &mut out);
        return Ok(out);
    }
    linear_generic(data, sd, td, &map, &conv, &mut out);
    Ok(out)
}

/// [`linear_with`] when output voxel `o` is exactly input voxel `o + t` (0 outside).
fn linear_shift<T: Pixel, O: Send + Sync + Copy>(
    data: &[T],
    sd: Dims,
    td: Dims,
    t: [i64; 3],
    conv: &(impl Fn(f64) -> O + Sync),
    out: &mut [O],
) {
    let plane = td.nx * td.ny;
    {
        let x0 = (-t[0]).clamp(0, td.nx as i64) as usize;
        let x1 = (sd.nx as i64 - t[0]).clamp(0, td.nx as i64) as usize;
        out.par_chunks_mut(plane).enumerate().for_each(|(k, p)| {
            let z = k as i64 + t[2];
            if z < 0 || z >= sd.nz as i64 || x0 >= x1 {
                return;
            }
            for j in 0..td.ny {
                let y = j as i64 + t[1];
                if y < 0 || y >= sd.ny as i64 {
                    continue;
                }
                let s0 = sd.idx((x0 as i64 + t[0]) as usize, y as usize, z as usize);
                for (o, v) in p[j * td.nx + x0..j * td.nx + x1]
                    .iter_mut()
                    .zip(&data[s0..s0 + (x1 - x0)])
                {
                    *o = conv(v.to_f64());
                }
            }
        });
    }
}

/// [`linear_with`] for any map: SimpleITK's trilinear formula per voxel.
fn linear_generic<T: Pixel, O: Send + Sync + Copy>(
    data: &[T],
    sd: Dims,
    td: Dims,
    map: &IndexMap,
    conv: &(impl Fn(f64) -> O + Sync),
    out: &mut [O],
) {
    let plane = td.nx * td.ny;
    let n = [sd.nx, sd.ny, sd.nz];
    let size = [sd.nx, sd.ny, sd.nz];
    out.par_chunks_mut(plane).enumerate().for_each(|(k, p)| {
        for j in 0..td.ny {
            for i in 0..td.nx {
                let c = map.map(i, j, k);
                if !inside(c, size) {
                    continue;
                }
                let mut b = [0usize; 3];
                let mut f = [0f64; 3];
                let mut b1 = [0usize; 3];
                for a in 0..3 {
                    let fl = floor_fast(c[a]);
                    let base = if fl < 0.0 { 0 } else { fl as usize };
                    let dist = c[a] - base as f64;
                    f[a] = if dist > 0.0 { dist } else { 0.0 };
                    b[a] = base.min(n[a] - 1);
                    b1[a] = if base + 1 > n[a] - 1 { b[a] } else { base + 1 };
                }
                let v = |x: usize, y: usize, z: usize| data[sd.idx(x, y, z)].to_f64();
                let v000 = v(b[0], b[1], b[2]);
                let v100 = v(b1[0], b[1], b[2]);
                let v010 = v(b[0], b1[1], b[2]);
                let v110 = v(b1[0], b1[1], b[2]);
                let v001 = v(b[0], b[1], b1[2]);
                let v101 = v(b1[0], b[1], b1[2]);
                let v011 = v(b[0], b1[1], b1[2]);
                let v111 = v(b1[0], b1[1], b1[2]);
                let x00 = v000 + (v100 - v000) * f[0];
                let x10 = v010 + (v110 - v010) * f[0];
                let x01 = v001 + (v101 - v001) * f[0];
                let x11 = v011 + (v111 - v011) * f[0];
                let xx0 = x00 + (x10 - x00) * f[1];
                let xx1 = x01 + (x11 - x01) * f[1];
                p[i + td.nx * j] = conv(xx0 + (xx1 - xx0) * f[2]);
            }
        }
    });
}

/// `x.floor()` for the |x| < 2^62 this module floors (inside-the-grid positions), without a
/// libm call; -0.0 gives 0.0, which every caller casts or compares the same way.
#[inline]
fn floor_fast(x: f64) -> f64 {
    let t = x as i64 as f64;
    if t > x { t - 1.0 } else { t }
}

/// How `transform_seg2image` interpolates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interp {
    /// Label maps: nearest neighbour, rounded to uint8.
    Nearest,
    /// Soft maps: linear, float32.
    Linear,
    /// Single-voxel point labels: dilate, resample, one voxel per label at the centre of mass.
    Label,
}

impl std::str::FromStr for Interp {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "nearest" => Ok(Interp::Nearest),
            "linear" => Ok(Interp::Linear),
            "label" => Ok(Interp::Label),
            _ => Err(Error::invalid_argument(format!(
                "interpolation '{s}': expected nearest, linear or label"
            ))),
        }
    }
}

fn pad_geometry(g: &Geometry, pad: usize) -> Result<Geometry> {
    let m = index_to_physical(g);
    let p = pad as f64;
    let mut o = g.origin;
    for (r, v) in o.iter_mut().enumerate() {
        *v -= m[r][0] * p + m[r][1] * p + m[r][2] * p;
    }
    Geometry::new(
        [
            g.size[0] + 2 * pad,
            g.size[1] + 2 * pad,
            g.size[2] + 2 * pad,
        ],
        g.spacing,
        o,
        g.direction,
    )
}

/// Grey dilation (maximum) over a (2r+1)³ cube, separable; outside the volume ignored.
fn max_filter_cube(d: Dims, data: &mut [u8], r: usize) {
    if r == 0 {
        return;
    }
    let strides = [1usize, d.nx, d.nx * d.ny];
    let n = [d.nx, d.ny, d.nz];
    for a in 0..3 {
        let src = data.to_vec();
        let (s, len) = (strides[a], n[a]);
        data.par_iter_mut().enumerate().for_each(|(i, o)| {
            let pos = (i / s) % len;
            let lo = pos.saturating_sub(r);
            let hi = (pos + r).min(len - 1);
            let base = i - pos * s;
            let mut m = 0u8;
            for q in lo..=hi {
                m = m.max(src[base + q * s]);
            }
            *o = m;
        });
    }
}

/// `transform_seg2image(image, seg, interpolation)`: the segmentation resampled onto `target`
/// (the image's grid; a 4-D image's first volume). Nearest and label give uint8, linear float32.
pub fn transform_seg2image(target: &Geometry, seg: &DynImage, interp: Interp) -> Result<DynImage> {
    if seg.components() != 1 || seg.frames() != 1 {
        return Err(Error::new(
            ErrorKind::Unsupported,
            "transform_seg2image: the segmentation must be one 3-D volume",
        ));
    }
    match interp {
        Interp::Linear => {
            // float32 segmentation, linear (in f64), float32 result.
            let conv = |v: f64| v as f32;
            let out = match seg {
                DynImage::F32(i) => linear_with(i, target, conv)?,
                _ => {
                    let f: Image<f32> = crate::dispatch!(seg, i => i.map(|v| v.to_f64() as f32));
                    linear_with(&f, target, conv)?
                }
            };
            Ok(DynImage::F32(Image::new(*target, out)?))
        }
        Interp::Nearest => {
            let (_, s) = super::ops::labels_u8(seg, "transform_seg2image")?;
            let img = Image::new(*seg.geometry(), s)?;
            if seg.geometry().same_grid(target, 1e-9) {
                // Same grid: every output voxel centre maps onto an input centre (exact).
                let mut img = img;
                img.set_geometry(*target)?;
                return Ok(DynImage::U8(img));
            }
            Ok(DynImage::U8(resample_nearest(&img, target)?))
        }
        Interp::Label => {
            let (sd, s) = super::ops::labels_u8(seg, "transform_seg2image")?;
            let sg = seg.geometry();
            let ratio_max = |a: &[f64; 3], b: &[f64; 3]| {
                (0..3)
                    .map(|k| a[k] / b[k])
                    .fold(f64::NEG_INFINITY, f64::max)
            };
            let dil = ratio_max(&target.spacing, &sg.spacing).ceil() as usize;
            let pad = dil * ratio_max(&sg.spacing, &target.spacing).ceil() as usize;
            let pg = pad_geometry(sg, pad)?;
            let tg = pad_geometry(target, pad)?;
            let od = Dims::new(target.size);
            let mut un = vec![0u8; od.len()];
            let mask: Vec<bool> = s.par_iter().map(|&v| v != 0).collect();
            let Some(bb) = super::vol::bbox(sd, &mask) else {
                return Ok(DynImage::U8(Image::new(*target, un)?));
            };
            drop(mask);
            // The max filter is non-zero only within the non-zero box grown by `dil` (padded
            // coordinates; pad >= dil): work on that box only.
            let lo = [bb[0] + pad - dil, bb[1] + pad - dil, bb[2] + pad - dil];
            let hi = [bb[3] + pad + dil, bb[4] + pad + dil, bb[5] + pad + dil];
            let bd = Dims::new([hi[0] - lo[0] + 1, hi[1] - lo[1] + 1, hi[2] - lo[2] + 1]);
            let mut sub = vec![0u8; bd.len()];
            for z in bb[2]..=bb[5] {
                for y in bb[1]..=bb[4] {
                    let o = bd.idx(bb[0] + pad - lo[0], y + pad - lo[1], z + pad - lo[2]);
                    let i = sd.idx(bb[0], y, z);
                    let n = bb[3] - bb[0] + 1;
                    sub[o..o + n].copy_from_slice(&s[i..i + n]);
                }
            }
            max_filter_cube(bd, &mut sub, dil);
            // Nearest resampling of the padded, filtered volume onto the padded target, only
            // over the target voxels that can map into the box.
            let pd = Dims::new(pg.size);
            let td = Dims::new(tg.size);
            let map = IndexMap::new(&pg, &tg)?;
            let range = map.preimage_box(lo, hi, tg.size);
            let sums = (range[2]..=range[5])
                .into_par_iter()
                .fold(
                    || vec![[0f64; 4]; 256],
                    |mut acc, k| {
                        for j in range[1]..=range[4] {
                            for i in range[0]..=range[3] {
                                let c = map.map(i, j, k);
                                if !inside(c, pg.size) {
                                    continue;
                                }
                                let q = [
                                    (floor_fast(c[0] + 0.5) as usize).min(pd.nx - 1),
                                    (floor_fast(c[1] + 0.5) as usize).min(pd.ny - 1),
                                    (floor_fast(c[2] + 0.5) as usize).min(pd.nz - 1),
                                ];
                                if (0..3).any(|a| q[a] < lo[a] || q[a] > hi[a]) {
                                    continue;
                                }
                                let v = sub[bd.idx(q[0] - lo[0], q[1] - lo[1], q[2] - lo[2])];
                                if v != 0 {
                                    // integer sums: exact in f64 whatever the order
                                    let e = &mut acc[v as usize];
                                    e[0] += i as f64;
                                    e[1] += j as f64;
                                    e[2] += k as f64;
                                    e[3] += 1.0;
                                }
                            }
                        }
                        acc
                    },
                )
                .reduce(
                    || vec![[0f64; 4]; 256],
                    |mut a, b| {
                        for (x, y) in a.iter_mut().zip(&b) {
                            for q in 0..4 {
                                x[q] += y[q];
                            }
                        }
                        a
                    },
                );
            // centre of mass per label, one voxel each (a later label overwrites)
            let top = [td.nx - pad - 1, td.ny - pad - 1, td.nz - pad - 1];
            for (l, e) in sums.iter().enumerate().skip(1) {
                if e[3] == 0.0 {
                    continue;
                }
                let mut idx = [0usize; 3];
                for a in 0..3 {
                    let c = (e[a] / e[3]).round_ties_even();
                    idx[a] = (c.max(0.0) as usize).min(top[a]).max(pad) - pad;
                }
                un[od.idx(idx[0], idx[1], idx[2])] = l as u8;
            }
            Ok(DynImage::U8(Image::new(*target, un)?))
        }
    }
}

/// How to undo [`to_canonical`]: for each canonical axis, the source axis and whether it was
/// flipped, plus the original geometry.
#[derive(Debug, Clone, PartialEq)]
pub struct CanonicalUndo {
    pub axes: [(usize, bool); 3],
    pub original: Geometry,
}

/// For each RAS world axis w: (array axis, flipped) — nibabel's `io_orientation` greedy rule.
fn canonical_axes(g: &Geometry) -> [(usize, bool); 3] {
    // RAS direction: negate the L and P rows of the LPS matrix.
    let mut r = [[0.0f64; 3]; 3]; // r[w][c]
    for (w, row) in r.iter_mut().enumerate() {
        for (c, v) in row.iter_mut().enumerate() {
            let s = if w < 2 { -1.0 } else { 1.0 };
            *v = s * g.direction[w * 3 + c];
        }
    }
    let mut used_w = [false; 3];
    let mut used_c = [false; 3];
    let mut res = [(0usize, false); 3];
    for _ in 0..3 {
        let mut best = (0usize, 0usize, -1.0f64);
        for (w, row) in r.iter().enumerate() {
            for (c, &v) in row.iter().enumerate() {
                if !used_w[w] && !used_c[c] && v.abs() > best.2 {
                    best = (w, c, v.abs());
                }
            }
        }
        let (w, c, _) = best;
        used_w[w] = true;
        used_c[c] = true;
        res[w] = (c, r[w][c] < 0.0);
    }
    res
}

/// Permute/flip a (possibly multi-frame) image so that new axis `w` is old axis `axes[w].0`,
/// reversed when `axes[w].1`.
fn permute_flip<T: Pixel>(img: &Image<T>, axes: [(usize, bool); 3]) -> Result<Image<T>> {
    let g = img.geometry();
    if img.components() != 1 {
        return Err(Error::new(
            ErrorKind::Unsupported,
            "reorientation of multi-component images",
        ));
    }
    let od = Dims::new(g.size);
    let nsize = [g.size[axes[0].0], g.size[axes[1].0], g.size[axes[2].0]];
    let nd = Dims::new(nsize);
    let mut spacing = [0.0; 3];
    let mut dir = [0.0; 9];
    let mut start = [0usize; 3];
    for w in 0..3 {
        let (a, f) = axes[w];
        spacing[w] = g.spacing[a];
        for r in 0..3 {
            dir[r * 3 + w] = if f { -1.0 } else { 1.0 } * g.direction[r * 3 + a];
        }
        if f {
            start[a] = g.size[a] - 1;
        }
    }
    let origin = g.index_to_point([start[0] as f64, start[1] as f64, start[2] as f64]);
    let ng = Geometry::new(nsize, spacing, origin, dir)?;
    let n = od.len();
    let frames = img.frames();
    let src = img.data();
    let mut out = Vec::with_capacity(n * frames);
    for t in 0..frames {
        let fr = &src[t * n..(t + 1) * n];
        let part: Vec<T> = (0..n)
            .into_par_iter()
            .map(|o| {
                let p = nd.xyz(o);
                let mut q = [0usize; 3];
                for w in 0..3 {
                    let (a, f) = axes[w];
                    q[a] = if f { g.size[a] - 1 - p[w] } else { p[w] };
                }
                fr[od.idx(q[0], q[1], q[2])]
            })
            .collect();
        out.extend(part);
    }
    Image::with_layout(ng, 1, frames, out)
}

/// Reorient to the closest canonical orientation (RAS+; nibabel `as_closest_canonical`):
/// axis permutation and flips only, no resampling.
pub fn to_canonical<T: Pixel>(img: &Image<T>) -> Result<(Image<T>, CanonicalUndo)> {
    let axes = canonical_axes(img.geometry());
    let undo = CanonicalUndo {
        axes,
        original: *img.geometry(),
    };
    if axes == [(0, false), (1, false), (2, false)] {
        return Ok((img.clone(), undo));
    }
    Ok((permute_flip(img, axes)?, undo))
}

/// Undo [`to_canonical`].
pub fn undo_canonical<T: Pixel>(img: &Image<T>, undo: &CanonicalUndo) -> Result<Image<T>> {
    let mut inv = [(0usize, false); 3];
    for (w, &(a, f)) in undo.axes.iter().enumerate() {
        inv[a] = (w, f);
    }
    if inv == [(0, false), (1, false), (2, false)] {
        return Ok(img.clone());
    }
    let mut r = permute_flip(img, inv)?;
    // Restore the exact original geometry (avoids rounding in the round trip).
    r.set_geometry(undo.original)?;
    Ok(r)
}

/// `reorient_canonical` on any image (dtype preserved).
pub fn reorient_canonical(img: &DynImage) -> Result<DynImage> {
    crate::dispatch!(img, i => Ok(to_canonical(i)?.0.into()))
}

/// `average4d`: the mean over frames (float64, summed in frame order), cast back to the input
/// type (integers truncated towards zero). A 3-D image is returned unchanged.
pub fn average4d(img: &DynImage) -> Result<DynImage> {
    if img.frames() <= 1 {
        return Ok(img.clone());
    }
    crate::dispatch!(img, i => Ok(avg4d_t(i)?.into()))
}

fn avg4d_t<T: Pixel>(i: &Image<T>) -> Result<Image<T>> {
    let g = *i.geometry();
    let n = g.voxel_count() * i.components();
    let f = i.frames();
    let d = i.data();
    let out: Vec<T> = (0..n)
        .into_par_iter()
        .map(|v| {
            let mut s = 0.0f64;
            for t in 0..f {
                s += d[t * n + v].to_f64();
            }
            trunc_cast::<T>(s / f as f64)
        })
        .collect();
    Image::with_layout(g, i.components(), 1, out)
}

/// numpy `astype` from float64: truncation toward zero for integers (saturating here, NaN → 0).
fn trunc_cast<T: Pixel>(v: f64) -> T {
    if T::TYPE.is_float() {
        T::from_f64(v)
    } else {
        T::from_f64(v.trunc())
    }
}

/// Crop to the inclusive index box `[x0, y0, z0, x1, y1, z1]` (origin shifted accordingly).
pub fn crop(img: &DynImage, b: [usize; 6]) -> Result<DynImage> {
    let g = img.geometry();
    if b[3] >= g.size[0]
        || b[4] >= g.size[1]
        || b[5] >= g.size[2]
        || b[0] > b[3]
        || b[1] > b[4]
        || b[2] > b[5]
    {
        return Err(Error::invalid_argument(format!(
            "crop box {b:?} outside the grid {:?}",
            g.size
        )));
    }
    let size = [b[3] - b[0] + 1, b[4] - b[1] + 1, b[5] - b[2] + 1];
    let origin = g.index_to_point([b[0] as f64, b[1] as f64, b[2] as f64]);
    let ng = Geometry::new(size, g.spacing, origin, g.direction)?;
    crate::dispatch!(img, i => {
        let od = Dims::new(g.size);
        let nd = Dims::new(size);
        let c = i.components();
        let frames = i.frames();
        let n = od.len() * c;
        let src = i.data();
        let mut out = Vec::with_capacity(nd.len() * c * frames);
        for t in 0..frames {
            for z in 0..size[2] {
                for y in 0..size[1] {
                    let s0 = t * n + od.idx(b[0], y + b[1], z + b[2]) * c;
                    out.extend_from_slice(&src[s0..s0 + size[0] * c]);
                }
            }
        }
        Ok(Image::with_layout(ng, c, frames, out)?.into())
    })
}

/// The TorchIO (≥ 0.20.11) output grid of `Resample(mm)`: size ⌊n·s/mm⌋ (singleton axes stay
/// 1), centred on the old grid's centre.
pub fn iso_grid(g: &Geometry, mm: [f64; 3]) -> Result<Geometry> {
    let mut size = [1usize; 3];
    for a in 0..3 {
        if !(mm[a] > 0.0) || !mm[a].is_finite() {
            return Err(Error::invalid_argument(format!(
                "resample: spacing {} mm",
                mm[a]
            )));
        }
        size[a] = if g.size[a] == 1 {
            1
        } else {
            ((g.size[a] as f64 * g.spacing[a] / mm[a]).floor() as usize).max(1)
        };
    }
    let first = g.index_to_point([0.0; 3]);
    let last = g.index_to_point([
        (g.size[0] - 1) as f64,
        (g.size[1] - 1) as f64,
        (g.size[2] - 1) as f64,
    ]);
    let centre = [
        (first[0] + last[0]) / 2.0,
        (first[1] + last[1]) / 2.0,
        (first[2] + last[2]) / 2.0,
    ];
    let half = [
        (size[0] - 1) as f64 / 2.0 * mm[0],
        (size[1] - 1) as f64 / 2.0 * mm[1],
        (size[2] - 1) as f64 / 2.0 * mm[2],
    ];
    let mut origin = centre;
    for (r, o) in origin.iter_mut().enumerate() {
        for (c, h) in half.iter().enumerate() {
            *o -= g.direction[r * 3 + c] * h;
        }
    }
    Geometry::new(size, mm, origin, g.direction)
}

/// `resample(image, mm)`: linear resampling onto the TorchIO 1 mm (or `mm`) grid, cast back to
/// the input type (integers truncated). Every frame is resampled.
pub fn resample_iso(img: &DynImage, mm: [f64; 3]) -> Result<DynImage> {
    let tg = iso_grid(img.geometry(), mm)?;
    crate::dispatch!(img, i => Ok(resample_iso_t(i, &tg)?.into()))
}

fn resample_iso_t<T: Pixel>(i: &Image<T>, tg: &Geometry) -> Result<Image<T>> {
    let mut out: Vec<T> = Vec::new();
    for t in 0..i.frames() {
        let fr = i.frame(t)?;
        out.extend(linear_with(&fr, tg, trunc_cast::<T>)?);
    }
    Image::with_layout(*tg, 1, i.frames(), out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noise(n: usize, seed: u64) -> Vec<f32> {
        let mut x = seed;
        (0..n)
            .map(|_| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((x >> 40) % 1000) as f32 / 7.0 - 50.0
            })
            .collect()
    }

    /// The shifted-copy paths (linear and nearest) equal the generic per-voxel formulas, and a
    /// -0.0 input sends linear resampling back to the formula (where it becomes +0.0).
    #[test]
    fn shift_fast_paths_match_the_generic_formulas() {
        let src = Geometry::new([9, 7, 5], [1.0, 1.0, 2.0], [3.0, -4.0, 10.0], {
            [-1.0, 0.0, 0.0, 0.0, -1.0, 0.0, 0.0, 0.0, 1.0]
        })
        .unwrap();
        // the target is shifted by whole voxels (-2, 1, 1) and larger than the source
        let dst = Geometry::new([12, 6, 6], [1.0, 1.0, 2.0], [5.0, -5.0, 12.0], {
            [-1.0, 0.0, 0.0, 0.0, -1.0, 0.0, 0.0, 0.0, 1.0]
        })
        .unwrap();
        let sd = Dims::new(src.size);
        let td = Dims::new(dst.size);
        let mut data = noise(sd.len(), 3);
        let map = IndexMap::new(&src, &dst).unwrap();
        let t = map.exact_shift().expect("a whole-voxel shift");
        assert_eq!(t, [-2, 1, 1]);
        let conv = |v: f64| v as f32;
        let mut fast = vec![0f32; td.len()];
        let mut slow = vec![0f32; td.len()];
        linear_shift(&data, sd, td, t, &conv, &mut fast);
        linear_generic(&data, sd, td, &map, &conv, &mut slow);
        assert_eq!(fast, slow);
        assert!(fast.iter().filter(|&&v| v != 0.0).count() > 100);
        // nearest: shifted copy vs the per-voxel rounding
        let img = Image::new(src, data.clone()).unwrap();
        let near = resample_nearest(&img, &dst).unwrap();
        assert_eq!(near.data(), &fast[..]);
        // -0.0 in the input: the formula turns it into +0.0 (v000 + (v100 - v000) * 0)
        data[sd.idx(4, 3, 2)] = -0.0;
        data[sd.idx(5, 3, 2)] = 1.0;
        let out = linear_with(&Image::new(src, data).unwrap(), &dst, conv).unwrap();
        let v = out[td.idx(6, 2, 1)];
        assert_eq!(v.to_bits(), 0.0f32.to_bits());
    }
}
