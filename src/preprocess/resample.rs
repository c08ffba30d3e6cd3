//! Resampling onto another grid: a target spacing, a reference grid, or a size.
//!
//! Conventions follow ITK's `ResampleImageFilter` (what SimpleITK, TorchIO and TotalSpineSeg
//! use) so results agree with it:
//!
//! * every output voxel centre is mapped to a physical point, then to a continuous input index
//!   (identity transform);
//! * a point is **inside** when every continuous index `c` satisfies `-0.5 <= c < n - 0.5`
//!   (ITK's `IsInsideBuffer`); outside points get the default (outside) value;
//! * **nearest**: index `floor(c + 0.5)` (ITK rounds half up);
//! * **linear**: trilinear with neighbours clamped to the buffer (ITK's behaviour in the half
//!   voxel at each border);
//! * **bspline**: cubic B-spline, prefiltered exactly like ITK's `BSplineDecompositionImageFilter`
//!   (pole √3−2, mirror boundaries, causal initialisation with a 1e-10 horizon) and evaluated like
//!   `BSplineInterpolateImageFunction` (order 3, mirror boundary on the taps);
//! * **label**: each label's indicator is interpolated linearly and the label with the largest
//!   weight wins (ties → the smaller label), as nnU-Net and TotalSpineSeg resample segmentations.
//!
//! Integer outputs: values are **rounded to nearest** (half away from zero) and saturated by
//! default. ITK truncates toward zero instead; [`Rounding::Truncate`] reproduces that.
//!
//! Target grids ([`TargetGrid`]):
//! * `Spacing(s)`: ITK/SimpleITK convention — same origin and direction, size
//!   `round(n · s_in / s)` (Python's round, half to even; at least 1);
//! * `Size(n)`: same origin and direction, spacing `n_in · s_in / n`;
//! * `Reference(g)`: exactly the grid `g`;
//! * `TorchIo(s)`: TorchIO ≥ 0.20.11 / TotalSpineSeg rule — size `floor(n · s_in / s)` (singleton
//!   axes stay 1), grid centred on the centre of the input grid;
//! * `TorchIoLegacy(s)`: TorchIO ≤ 0.20.10 — size `ceil(n · s_in / s)`, first voxel at continuous
//!   input index `(s / s_in − 1) / 2`.
//!
//! ```
//! use medseg::image::{Geometry, Image};
//! use medseg::preprocess::resample::{resample, Interpolation, ResampleOptions, TargetGrid};
//! let g = Geometry::new([2, 1, 1], [2.0, 1.0, 1.0], [0.0; 3], medseg::image::IDENTITY).unwrap();
//! let img = Image::new(g, vec![0.0f32, 10.0]).unwrap();
//! let opts = ResampleOptions { interpolation: Interpolation::Linear, ..Default::default() };
//! let (out, _undo) = resample(&img, &TargetGrid::Spacing([1.0, 1.0, 1.0]), &opts).unwrap();
//! assert_eq!(out.geometry().size, [4, 1, 1]);
//! // Output centres at input index 0, 0.5, 1, 1.5; 1.5 is outside (ITK: c < n - 0.5).
//! assert_eq!(out.data(), &[0.0, 5.0, 10.0, 0.0]);
//! ```

use crate::error::{Error, Result};
use crate::image::{DynImage, Geometry, Image, Pixel};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// How values between voxel centres are computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Interpolation {
    Nearest,
    #[default]
    Linear,
    /// Cubic B-spline (ITK order 3, prefiltered).
    BSpline,
    /// Per-label linear, then argmax (segmentations).
    Label,
}

impl Interpolation {
    /// Parse `nearest`, `linear`, `bspline` (`cubic`), `label`.
    pub fn parse(s: &str) -> Result<Interpolation> {
        match s.to_ascii_lowercase().as_str() {
            "nearest" | "nn" => Ok(Interpolation::Nearest),
            "linear" => Ok(Interpolation::Linear),
            "bspline" | "cubic" | "bspline3" => Ok(Interpolation::BSpline),
            "label" | "labels" => Ok(Interpolation::Label),
            other => Err(Error::invalid_argument(format!(
                "interpolation '{other}' is not one of nearest, linear, bspline, label"
            ))),
        }
    }
}

/// How interpolated values become integers (integer pixel types only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Rounding {
    /// Round to nearest, half away from zero, then saturate (medseg's default).
    #[default]
    Round,
    /// Truncate toward zero, then saturate (ITK's cast).
    Truncate,
}

/// The grid to resample onto (see the module docs for each rule).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TargetGrid {
    Spacing([f64; 3]),
    Size([usize; 3]),
    Reference(Geometry),
    TorchIo([f64; 3]),
    TorchIoLegacy([f64; 3]),
}

/// Resampling settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ResampleOptions {
    pub interpolation: Interpolation,
    /// Value of output voxels whose centre falls outside the input.
    pub default_value: f64,
    pub rounding: Rounding,
    /// Largest output buffer allowed, in bytes (default 8 GiB).
    pub max_bytes: u64,
}

impl Default for ResampleOptions {
    fn default() -> Self {
        ResampleOptions {
            interpolation: Interpolation::Linear,
            default_value: 0.0,
            rounding: Rounding::Round,
            max_bytes: 8 << 30,
        }
    }
}

/// Python's `round` (half to even).
fn round_half_even(x: f64) -> f64 {
    x.round_ties_even()
}

fn check_spacing(s: &[f64; 3]) -> Result<()> {
    for (a, v) in s.iter().enumerate() {
        if !(v.is_finite() && *v > 0.0) {
            return Err(Error::invalid_argument(format!(
                "target spacing {v} along axis {a} must be a positive finite number"
            )));
        }
    }
    Ok(())
}

fn to_size(x: f64, axis: usize) -> Result<usize> {
    if !(x.is_finite() && x < 1e15) {
        return Err(Error::too_large(format!(
            "target size {x} along axis {axis} is absurd"
        )));
    }
    Ok((x as usize).max(1))
}

/// The output grid for `target` on an input grid `g`.
pub fn target_geometry(g: &Geometry, target: &TargetGrid) -> Result<Geometry> {
    let mut out = *g;
    match *target {
        TargetGrid::Reference(r) => {
            r.validate()?;
            out = r;
        }
        TargetGrid::Spacing(s) => {
            check_spacing(&s)?;
            for a in 0..3 {
                out.size[a] = to_size(round_half_even(g.size[a] as f64 * g.spacing[a] / s[a]), a)?;
            }
            out.spacing = s;
        }
        TargetGrid::Size(n) => {
            for a in 0..3 {
                if n[a] == 0 {
                    return Err(Error::invalid_argument(format!(
                        "target size along axis {a} is 0"
                    )));
                }
                out.size[a] = n[a];
                out.spacing[a] = g.size[a] as f64 * g.spacing[a] / n[a] as f64;
            }
        }
        TargetGrid::TorchIo(s) => {
            check_spacing(&s)?;
            let mut half = [0.0; 3];
            for a in 0..3 {
                out.size[a] = if g.size[a] == 1 {
                    1
                } else {
                    to_size((g.size[a] as f64 * g.spacing[a] / s[a]).floor(), a)?
                };
                half[a] = (out.size[a] as f64 - 1.0) / 2.0 * s[a];
            }
            out.spacing = s;
            let centre = g.index_to_point([
                (g.size[0] as f64 - 1.0) / 2.0,
                (g.size[1] as f64 - 1.0) / 2.0,
                (g.size[2] as f64 - 1.0) / 2.0,
            ]);
            for (r, o) in out.origin.iter_mut().enumerate() {
                *o = centre[r]
                    - (0..3)
                        .map(|c| g.direction[r * 3 + c] * half[c])
                        .sum::<f64>();
            }
        }
        TargetGrid::TorchIoLegacy(s) => {
            check_spacing(&s)?;
            let mut first = [0.0; 3];
            for a in 0..3 {
                out.size[a] = to_size((g.size[a] as f64 * g.spacing[a] / s[a]).ceil(), a)?;
                first[a] = (s[a] / g.spacing[a] - 1.0) / 2.0;
            }
            out.spacing = s;
            out.origin = g.index_to_point(first);
        }
    }
    out.validate()?;
    Ok(out)
}

/// What [`resample`] did: enough to bring a result back onto the input grid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResampleUndo {
    pub input: Geometry,
    pub output: Geometry,
}

impl ResampleUndo {
    /// Resample `img` (on the output grid) back onto the input grid with `opts`
    /// (use [`Interpolation::Label`] or `Nearest` for segmentations).
    pub fn apply<T: Pixel>(&self, img: &Image<T>, opts: &ResampleOptions) -> Result<Image<T>> {
        if img.geometry().size != self.output.size {
            return Err(Error::mismatch(format!(
                "undo resampling: image size {:?} is not the resampled size {:?}",
                img.geometry().size,
                self.output.size
            )));
        }
        resample(img, &TargetGrid::Reference(self.input), opts).map(|r| r.0)
    }

    /// [`ResampleUndo::apply`] for a run-time-typed image.
    pub fn apply_dyn(&self, img: &DynImage, opts: &ResampleOptions) -> Result<DynImage> {
        crate::dispatch!(img, i => self.apply(i, opts).map(DynImage::from))
    }
}

/// Continuous input index of output index o: `c = m · o + b` (rows = input axes).
#[derive(Debug, Clone, Copy)]
struct Affine {
    m: [[f64; 3]; 3],
    b: [f64; 3],
}

impl Affine {
    fn new(inp: &Geometry, out: &Geometry) -> Affine {
        let mut m = [[0.0; 3]; 3];
        let mut b = [0.0; 3];
        for (a, (mr, br)) in m.iter_mut().zip(b.iter_mut()).enumerate() {
            for (c, mc) in mr.iter_mut().enumerate() {
                let dot: f64 = (0..3)
                    .map(|r| inp.direction[r * 3 + a] * out.direction[r * 3 + c])
                    .sum();
                *mc = dot * out.spacing[c] / inp.spacing[a];
            }
            let d: f64 = (0..3)
                .map(|r| inp.direction[r * 3 + a] * (out.origin[r] - inp.origin[r]))
                .sum();
            *br = d / inp.spacing[a];
        }
        Affine { m, b }
    }

    /// True when the off-diagonal terms move no sample by more than 1e-4 voxel over the output
    /// grid. Directions read from float32 NIfTI headers are orthonormal only to ~1e-7, so an
    /// exact zero test would send every same-direction resampling down the general path; the
    /// separable path then ignores a coupling of at most 1e-4 voxel (documented error bound).
    fn is_diagonal(&self, out_size: [usize; 3]) -> bool {
        (0..3).all(|a| (0..3).all(|c| a == c || self.m[a][c].abs() * out_size[c] as f64 <= 1e-4))
    }

    #[inline]
    fn apply(&self, o: [f64; 3]) -> [f64; 3] {
        let mut c = self.b;
        for (a, ca) in c.iter_mut().enumerate() {
            *ca += self.m[a][0] * o[0] + self.m[a][1] * o[1] + self.m[a][2] * o[2];
        }
        c
    }
}

/// Snap a continuous index within 1e-9 of a multiple of 0.5 onto it, so that samples that fall
/// mathematically on a voxel centre (or exactly half-way) are treated as such whatever the
/// round-off of the oblique index arithmetic (nearest rounds exact ties up; truncation of
/// on-voxel samples is stable).
#[inline]
fn snap(c: f64) -> f64 {
    let r = (c * 2.0).round() * 0.5;
    if (c - r).abs() < 1e-9 { r } else { c }
}

#[inline]
fn inside(c: f64, n: usize) -> bool {
    c >= -0.5 && c < n as f64 - 0.5
}

/// Linear taps along one axis: (i0, i1, weight of i1), neighbours clamped to the buffer.
#[inline]
fn linear_taps(c: f64, n: usize) -> (usize, usize, f64) {
    let c = c.clamp(0.0, (n - 1) as f64);
    let f = c.floor();
    let i0 = f as usize;
    let i1 = (i0 + 1).min(n - 1);
    (i0, i1, c - f)
}

fn convert<T: Pixel>(v: f64, rounding: Rounding) -> T {
    convert_fast(v, rounding)
}

/// Resample `img` onto `target`. Scalar images (any number of frames; each frame alike).
pub fn resample<T: Pixel>(
    img: &Image<T>,
    target: &TargetGrid,
    opts: &ResampleOptions,
) -> Result<(Image<T>, ResampleUndo)> {
    if img.components() != 1 {
        return Err(Error::unsupported(format!(
            "resampling needs a scalar image, got {} components per voxel",
            img.components()
        )));
    }
    let g = *img.geometry();
    let out_g = target_geometry(&g, target)?;
    let frames = img.frames();
    let bytes = (out_g.voxel_count() as u128) * (frames as u128) * (T::TYPE.size() as u128);
    if bytes > opts.max_bytes as u128 {
        return Err(Error::too_large(format!(
            "resampling to size {:?} needs {bytes} bytes, over the limit of {} bytes",
            out_g.size, opts.max_bytes
        )));
    }
    if opts.interpolation == Interpolation::BSpline {
        let coef_bytes = (g.voxel_count() as u128) * 8;
        if coef_bytes > opts.max_bytes as u128 {
            return Err(Error::too_large(format!(
                "B-spline coefficients of size {:?} need {coef_bytes} bytes, over the limit of {}",
                g.size, opts.max_bytes
            )));
        }
    }
    let n_in = g.voxel_count();
    let n_out = out_g.voxel_count();
    let data = if frames == 1 {
        // one frame: the frame's buffer is the result (no second 1× output copy)
        resample_frame(img.data(), &g, &out_g, opts)
    } else {
        let mut data = Vec::with_capacity(n_out * frames);
        for f in 0..frames {
            let src = &img.data()[f * n_in..(f + 1) * n_in];
            data.extend(resample_frame(src, &g, &out_g, opts));
        }
        data
    };
    Ok((
        Image::with_layout(out_g, 1, frames, data)?,
        ResampleUndo {
            input: g,
            output: out_g,
        },
    ))
}

/// [`resample`] for a run-time-typed image.
pub fn resample_dyn(
    img: &DynImage,
    target: &TargetGrid,
    opts: &ResampleOptions,
) -> Result<(DynImage, ResampleUndo)> {
    crate::dispatch!(img, i => resample(i, target, opts).map(|(o, u)| (DynImage::from(o), u)))
}

fn resample_frame<T: Pixel>(
    src: &[T],
    g: &Geometry,
    out_g: &Geometry,
    opts: &ResampleOptions,
) -> Vec<T> {
    let aff = Affine::new(g, out_g);
    let [oi, oj, ok] = out_g.size;
    let mut out = vec![T::default(); oi * oj * ok];
    let default: T = T::from_f64(opts.default_value);
    let rounding = opts.rounding;
    match opts.interpolation {
        Interpolation::Linear if aff.is_diagonal(out_g.size) => {
            linear_separable(src, g, &aff, out_g, default, rounding, &mut out)
        }
        Interpolation::Linear => {
            let size = g.size;
            generic(&aff, out_g, &mut out, |c| {
                if !(0..3).all(|a| inside(c[a], size[a])) {
                    return default;
                }
                convert(trilinear(src, size, c), rounding)
            })
        }
        Interpolation::Nearest if aff.is_diagonal(out_g.size) => {
            nearest_separable(src, g, &aff, out_g, default, &mut out)
        }
        Interpolation::Nearest => {
            let size = g.size;
            generic(&aff, out_g, &mut out, |c| {
                if !(0..3).all(|a| inside(c[a], size[a])) {
                    return default;
                }
                let mut idx = [0usize; 3];
                for a in 0..3 {
                    idx[a] = ((c[a] + 0.5).floor().max(0.0) as usize).min(size[a] - 1);
                }
                src[idx[0] + size[0] * (idx[1] + size[1] * idx[2])]
            })
        }
        Interpolation::Label => {
            let size = g.size;
            generic(&aff, out_g, &mut out, |c| {
                if !(0..3).all(|a| inside(c[a], size[a])) {
                    return default;
                }
                label_vote(src, size, c)
            })
        }
        Interpolation::BSpline => {
            let coef = bspline_coefficients(src, g.size);
            let size = g.size;
            generic(&aff, out_g, &mut out, |c| {
                if !(0..3).all(|a| inside(c[a], size[a])) {
                    return default;
                }
                convert(bspline_eval(&coef, size, c), rounding)
            })
        }
    }
    out
}

/// Evaluate `f` at every output voxel (parallel over k planes).
fn generic<T: Pixel>(
    aff: &Affine,
    out_g: &Geometry,
    out: &mut [T],
    f: impl Fn([f64; 3]) -> T + Sync,
) {
    let [oi, oj, _] = out_g.size;
    out.par_chunks_mut(oi * oj)
        .enumerate()
        .for_each(|(k, plane)| {
            for j in 0..oj {
                let row = &mut plane[j * oi..(j + 1) * oi];
                let base = aff.apply([0.0, j as f64, k as f64]);
                for (i, v) in row.iter_mut().enumerate() {
                    let fi = i as f64;
                    let c = [
                        snap(base[0] + aff.m[0][0] * fi),
                        snap(base[1] + aff.m[1][0] * fi),
                        snap(base[2] + aff.m[2][0] * fi),
                    ];
                    *v = f(c);
                }
            }
        });
}

#[inline]
fn trilinear<T: Pixel>(src: &[T], size: [usize; 3], c: [f64; 3]) -> f64 {
    let (x0, x1, wx) = linear_taps(c[0], size[0]);
    let (y0, y1, wy) = linear_taps(c[1], size[1]);
    let (z0, z1, wz) = linear_taps(c[2], size[2]);
    let at = |x: usize, y: usize, z: usize| src[x + size[0] * (y + size[1] * z)].to_f64();
    let lerp = |a: f64, b: f64, t: f64| a + (b - a) * t;
    let c00 = lerp(at(x0, y0, z0), at(x1, y0, z0), wx);
    let c10 = lerp(at(x0, y1, z0), at(x1, y1, z0), wx);
    let c01 = lerp(at(x0, y0, z1), at(x1, y0, z1), wx);
    let c11 = lerp(at(x0, y1, z1), at(x1, y1, z1), wx);
    lerp(lerp(c00, c10, wy), lerp(c01, c11, wy), wz)
}

fn label_vote<T: Pixel>(src: &[T], size: [usize; 3], c: [f64; 3]) -> T {
    let (x0, x1, wx) = linear_taps(c[0], size[0]);
    let (y0, y1, wy) = linear_taps(c[1], size[1]);
    let (z0, z1, wz) = linear_taps(c[2], size[2]);
    let mut acc: [(T, f64); 8] = [(T::default(), 0.0); 8];
    let mut n = 0usize;
    for (z, fz) in [(z0, 1.0 - wz), (z1, wz)] {
        for (y, fy) in [(y0, 1.0 - wy), (y1, wy)] {
            for (x, fx) in [(x0, 1.0 - wx), (x1, wx)] {
                let w = fx * fy * fz;
                let v = src[x + size[0] * (y + size[1] * z)];
                match acc[..n].iter_mut().find(|e| e.0 == v) {
                    Some(e) => e.1 += w,
                    None => {
                        acc[n] = (v, w);
                        n += 1;
                    }
                }
            }
        }
    }
    let mut best = acc[0];
    for e in &acc[1..n] {
        if e.1 > best.1 || (e.1 == best.1 && e.0 < best.0) {
            best = *e;
        }
    }
    best.0
}

/// `v` rounded half away from zero, like `f64::round`, without the software `round` call that
/// the baseline x86-64 target makes (no SSE4.1): truncation by conversion plus a fraction test,
/// exact for |v| < 2^52; larger values and NaN go through `f64::round`.
#[inline]
fn round_half_away(v: f64) -> f64 {
    if v.abs() < 4.0e15 {
        let t = v as i64 as f64;
        let f = v - t;
        // branch-free: the fraction's side is unpredictable on real images
        t + (i32::from(f >= 0.5) - i32::from(f <= -0.5)) as f64
    } else {
        v.round()
    }
}

/// An integral (or NaN / out-of-range) `r` stored as `T`: saturating cast, NaN → 0, the same as
/// [`Pixel::from_f64`] for integral values but without its second rounding. The type tests fold
/// away at compile time.
#[inline]
fn from_integral<T: Pixel>(r: f64) -> T {
    use std::any::Any;
    macro_rules! via {
        ($($t:ty),*) => {$(
            if let Some(x) = (&(r as $t) as &dyn Any).downcast_ref::<T>() {
                return *x;
            }
        )*};
    }
    via!(u8, i8, u16, i16, u32, i32);
    T::from_f64(r)
}

/// [`convert`] for the hot loops: same results, faster rounding.
#[inline]
fn convert_fast<T: Pixel>(v: f64, rounding: Rounding) -> T {
    if T::TYPE.is_float() {
        T::from_f64(v)
    } else if rounding == Rounding::Round {
        from_integral(round_half_away(v))
    } else if v.abs() < 4.0e15 {
        from_integral(v as i64 as f64)
    } else {
        T::from_f64(v.trunc())
    }
}

/// Axis-aligned fast path for linear interpolation: per-axis tap tables. For each output row the
/// four input rows it reads (y0/y1 × z0/z1) are first blended along y and z into one row of
/// f64 over the i range the row needs (a straight, vectorisable loop over the input), then each
/// output voxel is a single lerp along i of that row. Parallel over output k-planes.
fn linear_separable<T: Pixel>(
    src: &[T],
    g: &Geometry,
    aff: &Affine,
    out_g: &Geometry,
    default: T,
    rounding: Rounding,
    out: &mut [T],
) {
    let table = |a: usize| -> Vec<Option<(usize, usize, f64)>> {
        (0..out_g.size[a])
            .map(|t| {
                let c = snap(aff.m[a][a] * t as f64 + aff.b[a]);
                inside(c, g.size[a]).then(|| linear_taps(c, g.size[a]))
            })
            .collect()
    };
    let (tx, ty, tz) = (table(0), table(1), table(2));
    let [ni, nj, _] = g.size;
    let [oi, oj, _] = out_g.size;
    // input i range read by the row: [lo, hi)
    let lo = tx.iter().flatten().map(|t| t.0).min().unwrap_or(0);
    let hi = tx.iter().flatten().map(|t| t.1 + 1).max().unwrap_or(0);
    if oi == 0 || oj == 0 {
        return;
    }
    // the inside samples along i form one interval [xa, xb) (the index map is monotonic)
    let xa = tx.iter().position(Option::is_some).unwrap_or(oi);
    let xb = tx.iter().rposition(Option::is_some).map_or(xa, |p| p + 1);
    let taps: Vec<(usize, usize, f64)> = tx[xa..xb].iter().map_while(|t| *t).collect();
    if taps.len() != xb - xa {
        // not an interval (cannot happen for an affine map; kept for safety): general path
        let size = g.size;
        return generic(aff, out_g, out, |c| {
            if !(0..3).all(|a| inside(c[a], size[a])) {
                return default;
            }
            convert(trilinear(src, size, c), rounding)
        });
    }
    out.par_chunks_mut(oi * oj).enumerate().for_each_init(
        || vec![0f64; ni],
        |blend, (k, plane)| {
            let Some((z0, z1, wz)) = tz[k] else {
                plane.fill(default);
                return;
            };
            for (j, row) in plane.chunks_mut(oi).enumerate() {
                let Some((y0, y1, wy)) = ty[j] else {
                    row.fill(default);
                    continue;
                };
                let r00 = &src[ni * (y0 + nj * z0)..][lo..hi];
                let r10 = &src[ni * (y1 + nj * z0)..][lo..hi];
                let r01 = &src[ni * (y0 + nj * z1)..][lo..hi];
                let r11 = &src[ni * (y1 + nj * z1)..][lo..hi];
                for ((((b, a00), a10), a01), a11) in
                    blend[lo..hi].iter_mut().zip(r00).zip(r10).zip(r01).zip(r11)
                {
                    let (v00, v10) = (a00.to_f64(), a10.to_f64());
                    let (v01, v11) = (a01.to_f64(), a11.to_f64());
                    let c0 = v00 + (v10 - v00) * wy;
                    let c1 = v01 + (v11 - v01) * wy;
                    *b = c0 + (c1 - c0) * wz;
                }
                let (head, rest) = row.split_at_mut(xa);
                let (mid, tail) = rest.split_at_mut(xb - xa);
                head.fill(default);
                tail.fill(default);
                for (v, &(x0, x1, wx)) in mid.iter_mut().zip(&taps) {
                    let (a, b) = (blend[x0], blend[x1]);
                    *v = convert_fast(a + (b - a) * wx, rounding);
                }
            }
        },
    );
}

/// Axis-aligned fast path for nearest neighbour: per-axis index tables.
fn nearest_separable<T: Pixel>(
    src: &[T],
    g: &Geometry,
    aff: &Affine,
    out_g: &Geometry,
    default: T,
    out: &mut [T],
) {
    let table = |a: usize| -> Vec<Option<usize>> {
        (0..out_g.size[a])
            .map(|t| {
                let c = snap(aff.m[a][a] * t as f64 + aff.b[a]);
                inside(c, g.size[a])
                    .then(|| ((c + 0.5).floor().max(0.0) as usize).min(g.size[a] - 1))
            })
            .collect()
    };
    let (tx, ty, tz) = (table(0), table(1), table(2));
    let [ni, nj, _] = g.size;
    let [oi, oj, _] = out_g.size;
    out.par_chunks_mut(oi * oj)
        .enumerate()
        .for_each(|(k, plane)| {
            let Some(z) = tz[k] else {
                plane.fill(default);
                return;
            };
            for (j, row) in plane.chunks_mut(oi).enumerate() {
                let Some(y) = ty[j] else {
                    row.fill(default);
                    continue;
                };
                let r = &src[ni * (y + nj * z)..][..ni];
                for (v, t) in row.iter_mut().zip(&tx) {
                    *v = match *t {
                        Some(x) => r[x],
                        None => default,
                    };
                }
            }
        });
}

const POLE: f64 = -0.267_949_192_431_122_7; // √3 − 2

/// ITK's 1-D cubic B-spline decomposition of one line, in place.
fn decompose_line(c: &mut [f64]) {
    let n = c.len();
    if n < 2 {
        return;
    }
    let z = POLE;
    let gain = (1.0 - z) * (1.0 - 1.0 / z);
    for v in c.iter_mut() {
        *v *= gain;
    }
    // Causal initialisation (ITK: horizon from a 1e-10 tolerance, else the full mirror sum).
    let horizon = ((1e-10f64).ln() / z.abs().ln()).ceil() as usize;
    if horizon < n {
        let mut zn = z;
        let mut sum = c[0];
        for v in c.iter().take(horizon).skip(1) {
            sum += zn * v;
            zn *= z;
        }
        c[0] = sum;
    } else {
        let iz = 1.0 / z;
        let mut zn = z;
        let mut z2n = z.powi((n - 1) as i32);
        let mut sum = c[0] + z2n * c[n - 1];
        #[allow(clippy::misrefactored_assign_op)] // ITK's arithmetic, kept for bit parity
        {
            z2n *= z2n * iz;
        }
        for v in c.iter().take(n - 1).skip(1) {
            sum += (zn + z2n) * v;
            zn *= z;
            z2n *= iz;
        }
        c[0] = sum / (1.0 - zn * zn);
    }
    for i in 1..n {
        c[i] += z * c[i - 1];
    }
    c[n - 1] = (z / (z * z - 1.0)) * (z * c[n - 2] + c[n - 1]);
    for i in (0..n - 1).rev() {
        c[i] = z * (c[i + 1] - c[i]);
    }
}

/// Prefiltered coefficients (float64) along i, then j, then k, as ITK does.
fn bspline_coefficients<T: Pixel>(src: &[T], size: [usize; 3]) -> Vec<f64> {
    let [ni, nj, nk] = size;
    let mut c: Vec<f64> = src.par_iter().map(|v| v.to_f64()).collect();
    // i lines are contiguous.
    c.par_chunks_mut(ni).for_each(decompose_line);
    // j lines: per k plane.
    c.par_chunks_mut(ni * nj).for_each(|plane| {
        let mut line = vec![0.0; nj];
        for i in 0..ni {
            for (j, l) in line.iter_mut().enumerate() {
                *l = plane[i + ni * j];
            }
            decompose_line(&mut line);
            for (j, l) in line.iter().enumerate() {
                plane[i + ni * j] = *l;
            }
        }
    });
    // k lines: gather per j row block.
    if nk > 1 {
        let plane = ni * nj;
        let lines: Vec<Vec<f64>> = (0..plane)
            .into_par_iter()
            .map(|p| {
                let mut line: Vec<f64> = (0..nk).map(|k| c[p + plane * k]).collect();
                decompose_line(&mut line);
                line
            })
            .collect();
        for (p, line) in lines.iter().enumerate() {
            for (k, v) in line.iter().enumerate() {
                c[p + plane * k] = *v;
            }
        }
    }
    c
}

/// ITK's mirror boundary for a tap index.
#[inline]
fn mirror(mut idx: i64, n: usize) -> usize {
    if n == 1 {
        return 0;
    }
    let n = n as i64;
    let len2 = 2 * n - 2;
    if idx < 0 {
        idx = -idx - len2 * ((-idx) / len2);
    } else {
        idx -= len2 * (idx / len2);
    }
    if idx >= n {
        idx = len2 - idx;
    }
    idx as usize
}

#[inline]
fn bspline_weights(x: f64, n: usize) -> ([usize; 4], [f64; 4]) {
    let f = x.floor();
    let w = x - f;
    let w3 = w * w * w / 6.0;
    let w0 = 1.0 / 6.0 + 0.5 * w * (w - 1.0) - w3;
    let w2 = w + w0 - 2.0 * w3;
    let w1 = 1.0 - w0 - w2 - w3;
    let start = f as i64 - 1;
    let idx = [
        mirror(start, n),
        mirror(start + 1, n),
        mirror(start + 2, n),
        mirror(start + 3, n),
    ];
    (idx, [w0, w1, w2, w3])
}

fn bspline_eval(coef: &[f64], size: [usize; 3], c: [f64; 3]) -> f64 {
    let (ix, wx) = bspline_weights(c[0], size[0]);
    let (iy, wy) = bspline_weights(c[1], size[1]);
    let (iz, wz) = bspline_weights(c[2], size[2]);
    let mut v = 0.0;
    for (z, fz) in iz.iter().zip(wz) {
        for (y, fy) in iy.iter().zip(wy) {
            let row = &coef[size[0] * (y + size[1] * z)..];
            let mut s = 0.0;
            for (x, fx) in ix.iter().zip(wx) {
                s += row[*x] * fx;
            }
            v += s * fy * fz;
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::IDENTITY;

    #[test]
    fn python_round() {
        assert_eq!(round_half_even(2.5), 2.0);
        assert_eq!(round_half_even(3.5), 4.0);
        assert_eq!(round_half_even(358.4), 358.0);
    }

    #[test]
    fn fast_rounding_matches_pixel_rounding() {
        let mut vals = vec![
            0.0,
            -0.0,
            0.5,
            -0.5,
            1.5,
            -1.5,
            2.5,
            -2.5,
            0.499_999_999_999_999_94,
            -0.499_999_999_999_999_94,
            32767.4,
            32767.5,
            -32768.5,
            -40000.2,
            1e20,
            -1e20,
            4.5e15 + 0.5,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            255.5,
            -1.0,
        ];
        let mut s = 7u64;
        for _ in 0..10_000 {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            vals.push(((s >> 11) as f64 / (1u64 << 53) as f64 - 0.5) * 140_000.0);
            vals.push((s >> 40) as f64 * 0.5 - 4_000_000.0);
        }
        fn check<T: Pixel + PartialEq>(v: f64) {
            let want = T::from_f64(v);
            assert_eq!(convert_fast::<T>(v, Rounding::Round), want, "{v} round");
            let want = T::from_f64(v.trunc());
            assert_eq!(convert_fast::<T>(v, Rounding::Truncate), want, "{v} trunc");
        }
        for &v in &vals {
            check::<u8>(v);
            check::<i8>(v);
            check::<u16>(v);
            check::<i16>(v);
            check::<u32>(v);
            check::<i32>(v);
            check::<i64>(v);
            assert_eq!(
                convert_fast::<f32>(v, Rounding::Round).to_bits(),
                (v as f32).to_bits()
            );
        }
    }

    #[test]
    fn separable_linear_matches_trilinear() {
        // odd sizes, spacing changes both ways, offset origin: every tap case (inside, clamped
        // border half-voxel, outside) occurs on some axis
        let g = Geometry::new([13, 9, 7], [0.7, 1.3, 2.5], [0.0; 3], IDENTITY).unwrap();
        let mut s = 3u64;
        let data: Vec<f64> = (0..13 * 9 * 7)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (s >> 40) as f64 / 1000.0 - 3000.0
            })
            .collect();
        let out_g =
            Geometry::new([17, 8, 19], [0.55, 1.6, 1.0], [-0.4, 0.3, -1.1], IDENTITY).unwrap();
        let aff = Affine::new(&g, &out_g);
        assert!(aff.is_diagonal(out_g.size));
        let mut fast = vec![0f64; out_g.voxel_count()];
        linear_separable(&data, &g, &aff, &out_g, -7.0, Rounding::Round, &mut fast);
        let mut slow = vec![0f64; out_g.voxel_count()];
        generic(&aff, &out_g, &mut slow, |c| {
            if !(0..3).all(|a| inside(c[a], g.size[a])) {
                return -7.0;
            }
            trilinear(&data, g.size, c)
        });
        assert!(slow.contains(&-7.0) && slow.iter().any(|&v| v != -7.0));
        for (n, (a, b)) in fast.iter().zip(&slow).enumerate() {
            assert!(
                (a - b).abs() <= 1e-9 * b.abs().max(1.0),
                "voxel {n}: {a} vs {b}"
            );
        }
        // integer output: the same values rounded
        let di: Vec<i16> = data.iter().map(|&v| v as i16).collect();
        let mut fi = vec![0i16; out_g.voxel_count()];
        linear_separable(&di, &g, &aff, &out_g, 0, Rounding::Round, &mut fi);
        let mut si = vec![0i16; out_g.voxel_count()];
        generic(&aff, &out_g, &mut si, |c| {
            if !(0..3).all(|a| inside(c[a], g.size[a])) {
                return 0;
            }
            i16::from_f64(trilinear(&di, g.size, c))
        });
        let diff = fi.iter().zip(&si).filter(|(a, b)| a != b).count();
        assert!(
            fi.iter().zip(&si).all(|(a, b)| (a - b).abs() <= 1),
            "off by more than 1"
        );
        assert!(diff * 100 <= fi.len(), "{diff} rounding ties differ");
    }

    #[test]
    fn spline_reproduces_samples_on_grid() {
        let g = Geometry::new([5, 4, 3], [1.0; 3], [0.0; 3], IDENTITY).unwrap();
        let data: Vec<f32> = (0..60).map(|v| ((v * 37) % 11) as f32).collect();
        let img = Image::new(g, data.clone()).unwrap();
        let opts = ResampleOptions {
            interpolation: Interpolation::BSpline,
            ..Default::default()
        };
        let (out, _) = resample(&img, &TargetGrid::Reference(g), &opts).unwrap();
        for (a, b) in out.data().iter().zip(&data) {
            assert!((a - b).abs() < 1e-5, "{a} vs {b}");
        }
    }

    #[test]
    fn label_vote_and_too_large() {
        let g = Geometry::new([2, 1, 1], [1.0; 3], [0.0; 3], IDENTITY).unwrap();
        let img = Image::new(g, vec![3u8, 5]).unwrap();
        let opts = ResampleOptions {
            interpolation: Interpolation::Label,
            ..Default::default()
        };
        let (out, _) = resample(&img, &TargetGrid::Spacing([0.25, 1.0, 1.0]), &opts).unwrap();
        // Output centres at input index 0, 0.25, …, 1.75: the tie at 0.5 goes to label 3, and
        // 1.5 and 1.75 are outside (default 0).
        assert_eq!(out.data(), &[3, 3, 3, 5, 5, 5, 0, 0]);
        let big = resample(&img, &TargetGrid::Spacing([1e-9, 1e-9, 1e-9]), &opts);
        assert_eq!(big.unwrap_err().kind(), crate::ErrorKind::TooLarge);
    }
}
