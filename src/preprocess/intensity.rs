//! Intensity transforms: window level/width (with CT presets), percentile clip + rescale, z-score
//! and nnU-Net's CT normalisation. The grid never changes, so there is no undo record.
//!
//! Exactness contracts:
//!
//! * **Percentiles** are numpy's `np.percentile(x, q)` with the default `linear` method: virtual
//!   index `h = (n − 1) · (q / 100)`, neighbours at ranks `⌊h⌋` and `⌊h⌋ + 1`, and numpy's
//!   two-sided `_lerp` (`b − (b − a)(1 − t)` when `t ≥ 0.5`), in float64. 8- and 16-bit integer
//!   images use one histogram pass (65 536 bins), other types a selection on a float64 copy;
//!   both give numpy's value exactly. NaN voxels are ignored.
//! * **Percentile normalisation** ([`percentile_normalize`]) reproduces MedSAM's MR/PET
//!   preprocessing (`pre_CT_MR.py`) and the benchmark's `numpy` peer: `clip(x, lo, hi)`, then
//!   `(x − lo) / (hi − lo) · 255` in float64, truncated to uint8 (`np.uint8`). With `nonzero`,
//!   percentiles are taken over voxels `> 0` and voxels `== 0` stay 0, exactly as MedSAM does.
//!   (For float32 inputs MedSAM's numpy-2 route with scalar `q` computes in float32; medseg uses
//!   float64 like the benchmark peer, which can move a value by one grey level.)
//! * **Window** ([`window`]): `clip(x, L − W/2, L + W/2)` rescaled to the output range. With
//!   [`WindowScale::ClippedRange`] the rescale uses the clipped volume's own min and max, which is
//!   what MedSAM's CT preprocessing does.
//! * **z-score** and **nnU-Net CT** normalisation follow nnU-Net's float32 numerics
//!   (`../specs/nnunet.md` §3.5): mean and variance from numpy's pairwise float32 summation,
//!   `mean = f32(sum / n)`, `std = sqrt(f32(Σ(x − mean)² / n))`, division by `max(std, 1e-8)`.
//!
//! ```
//! use medseg::image::{Geometry, Image};
//! use medseg::preprocess::intensity::percentiles;
//! let g = Geometry::with_size([4, 1, 1]).unwrap();
//! let img = Image::new(g, vec![1i16, 2, 3, 4]).unwrap();
//! // numpy: np.percentile([1, 2, 3, 4], [0.5, 50, 99.5]) = [1.015, 2.5, 3.985]
//! let p = percentiles(&img, &[0.5, 50.0, 99.5], None).unwrap();
//! assert!((p[0] - 1.015).abs() < 1e-12 && p[1] == 2.5 && (p[2] - 3.985).abs() < 1e-12);
//! ```

use crate::error::{Error, Result};
use crate::image::{DynImage, Image, Pixel, PixelType};
use rayon::prelude::*;

/// Output value range of a rescale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OutRange {
    /// uint8 in [0, 255], truncated (`np.uint8`).
    #[default]
    U8,
    /// float32 in [0, 1].
    Unit,
}

/// What a window rescales to the output range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WindowScale {
    /// The window bounds `L ± W/2` (what a viewer does).
    #[default]
    Bounds,
    /// The clipped volume's own min..max (MedSAM's CT preprocessing).
    ClippedRange,
}

/// Named CT windows: (name, level, width) in HU.
pub const CT_PRESETS: &[(&str, f64, f64)] = &[
    ("brain", 40.0, 80.0),
    ("subdural", 75.0, 215.0),
    ("stroke", 40.0, 40.0),
    ("temporal-bone", 600.0, 2800.0),
    ("soft-tissue", 50.0, 400.0),
    ("abdomen", 40.0, 400.0),
    ("liver", 30.0, 150.0),
    ("mediastinum", 50.0, 350.0),
    ("lung", -600.0, 1500.0),
    ("bone", 400.0, 1800.0),
];

/// (level, width) of a named CT preset.
pub fn preset(name: &str) -> Result<(f64, f64)> {
    let n = name.to_ascii_lowercase().replace('_', "-");
    CT_PRESETS
        .iter()
        .find(|p| p.0 == n)
        .map(|p| (p.1, p.2))
        .ok_or_else(|| {
            let names: Vec<&str> = CT_PRESETS.iter().map(|p| p.0).collect();
            Error::invalid_argument(format!(
                "unknown window preset '{name}' (known: {})",
                names.join(", ")
            ))
        })
}

fn require_scalar<T: Pixel>(img: &Image<T>) -> Result<()> {
    if img.components() != 1 {
        return Err(Error::unsupported(format!(
            "intensity transforms need a scalar image, got {} components",
            img.components()
        )));
    }
    Ok(())
}

fn check_mask<T: Pixel, M: Pixel>(img: &Image<T>, mask: &Image<M>) -> Result<()> {
    if mask.data().len() != img.data().len() || mask.geometry().size != img.geometry().size {
        return Err(Error::mismatch(format!(
            "mask size {:?} differs from the image size {:?}",
            mask.geometry().size,
            img.geometry().size
        )));
    }
    Ok(())
}

/// numpy's `_lerp` for method `linear`.
fn np_lerp(a: f64, b: f64, t: f64) -> f64 {
    let d = b - a;
    if t >= 0.5 {
        b - d * (1.0 - t)
    } else {
        a + d * t
    }
}

fn check_q(qs: &[f64]) -> Result<()> {
    for q in qs {
        if !(0.0..=100.0).contains(q) {
            return Err(Error::invalid_argument(format!(
                "percentile {q} is not within [0, 100]"
            )));
        }
    }
    Ok(())
}

/// Percentiles (numpy `linear`) of the voxels selected by `select` (all voxels when `None`).
/// Errors with `Content` when no voxel is selected.
pub fn percentiles<T: Pixel>(
    img: &Image<T>,
    qs: &[f64],
    select: Option<&(dyn Fn(T) -> bool + Sync)>,
) -> Result<Vec<f64>> {
    check_q(qs)?;
    let small_int = matches!(
        T::TYPE,
        PixelType::U8 | PixelType::I8 | PixelType::U16 | PixelType::I16
    );
    if small_int {
        percentiles_hist(img.data(), qs, select)
    } else {
        percentiles_select(img.data(), qs, select)
    }
}

fn bin_of<T: Pixel>(v: T) -> usize {
    // Offset so that every 8/16-bit value maps into 0..65536.
    (v.to_f64() as i64 + 32768) as usize
}

fn percentiles_hist<T: Pixel>(
    data: &[T],
    qs: &[f64],
    select: Option<&(dyn Fn(T) -> bool + Sync)>,
) -> Result<Vec<f64>> {
    let hist = data
        .par_chunks(1 << 18)
        .fold(
            || vec![0u64; 65536 + 32768],
            |mut h, c| {
                match select {
                    None => c.iter().for_each(|v| h[bin_of(*v)] += 1),
                    Some(f) => c.iter().filter(|v| f(**v)).for_each(|v| h[bin_of(*v)] += 1),
                }
                h
            },
        )
        .reduce(
            || vec![0u64; 65536 + 32768],
            |mut a, b| {
                a.iter_mut().zip(&b).for_each(|(x, y)| *x += y);
                a
            },
        );
    let n: u64 = hist.iter().sum();
    if n == 0 {
        return Err(Error::new(
            crate::ErrorKind::Content,
            "no voxel is selected for the percentiles",
        ));
    }
    // Value at rank r (0-based).
    let value_at = |r: u64| -> f64 {
        let mut cum = 0u64;
        for (b, c) in hist.iter().enumerate() {
            cum += c;
            if cum > r {
                return b as f64 - 32768.0;
            }
        }
        f64::NAN
    };
    Ok(qs
        .iter()
        .map(|q| {
            let h = (n - 1) as f64 * (q / 100.0);
            let lo = h.floor();
            let r0 = lo as u64;
            let r1 = (r0 + 1).min(n - 1);
            np_lerp(value_at(r0), value_at(r1), h - lo)
        })
        .collect())
}

fn percentiles_select<T: Pixel>(
    data: &[T],
    qs: &[f64],
    select: Option<&(dyn Fn(T) -> bool + Sync)>,
) -> Result<Vec<f64>> {
    let mut v: Vec<f64> = data
        .par_iter()
        .filter(|x| select.is_none_or(|f| f(**x)))
        .map(|x| x.to_f64())
        .filter(|x| !x.is_nan())
        .collect();
    let n = v.len();
    if n == 0 {
        return Err(Error::new(
            crate::ErrorKind::Content,
            "no voxel is selected for the percentiles",
        ));
    }
    let mut out = Vec::with_capacity(qs.len());
    for q in qs {
        let h = (n - 1) as f64 * (q / 100.0);
        let lo = h.floor();
        let r0 = lo as usize;
        let (_, a, right) = v.select_nth_unstable_by(r0, f64::total_cmp);
        let a = *a;
        let b = if r0 + 1 < n {
            right.iter().copied().fold(f64::INFINITY, f64::min)
        } else {
            a
        };
        out.push(np_lerp(a, b, h - lo));
    }
    Ok(out)
}

/// `(clip(x, lo, hi) − lo) / (hi − lo)` scaled to the output range; a zero-width range maps to 0.
fn rescale_to<T: Pixel>(
    img: &Image<T>,
    lo: f64,
    hi: f64,
    out: OutRange,
    zero_keep: bool,
) -> DynImage {
    let span = hi - lo;
    let f = move |v: T| -> f64 {
        let x = v.to_f64();
        if zero_keep && x == 0.0 {
            return 0.0;
        }
        let t = (x.clamp(lo, hi) - lo) / span;
        if t.is_finite() { t } else { 0.0 }
    };
    match out {
        // `as u8` truncates toward zero and saturates, like np.uint8 on values in [0, 255].
        OutRange::U8 => img.map(move |v| (f(v) * 255.0) as u8).into(),
        OutRange::Unit => img.map(move |v| f(v) as f32).into(),
    }
}

/// Percentile clip + rescale (MedSAM MR/PET preprocessing with `nonzero`; see module docs).
/// Returns the image and the `(lo, hi)` bounds used.
pub fn percentile_normalize<T: Pixel>(
    img: &Image<T>,
    q_lo: f64,
    q_hi: f64,
    nonzero: bool,
    out: OutRange,
) -> Result<(DynImage, (f64, f64))> {
    require_scalar(img)?;
    if q_lo > q_hi {
        return Err(Error::invalid_argument(format!(
            "lower percentile {q_lo} is above the upper {q_hi}"
        )));
    }
    let positive = |v: T| v.to_f64() > 0.0;
    let sel: Option<&(dyn Fn(T) -> bool + Sync)> = if nonzero { Some(&positive) } else { None };
    let p = percentiles(img, &[q_lo, q_hi], sel)?;
    let (lo, hi) = (p[0], p[1]);
    Ok((rescale_to(img, lo, hi, out, nonzero), (lo, hi)))
}

/// Window level/width (see [`WindowScale`]). Returns the image and the `(lo, hi)` used for the
/// rescale.
pub fn window<T: Pixel>(
    img: &Image<T>,
    level: f64,
    width: f64,
    scale: WindowScale,
    out: OutRange,
) -> Result<(DynImage, (f64, f64))> {
    require_scalar(img)?;
    if !(width > 0.0 && width.is_finite() && level.is_finite()) {
        return Err(Error::invalid_argument(format!(
            "window level {level} width {width}: width must be a positive finite number"
        )));
    }
    let (mut lo, mut hi) = (level - width / 2.0, level + width / 2.0);
    if scale == WindowScale::ClippedRange {
        let s = img.stats();
        if !s.min.is_finite() {
            return Err(Error::new(
                crate::ErrorKind::Content,
                "image has no finite value to window",
            ));
        }
        let (a, b) = (s.min.clamp(lo, hi), s.max.clamp(lo, hi));
        lo = a;
        hi = b;
    }
    Ok((rescale_to(img, lo, hi, out, false), (lo, hi)))
}

/// numpy's pairwise float32 summation (`pairwise_sum_FLOAT`), as nnU-Net's numerics need.
pub fn pairwise_sum_f32(a: &[f32]) -> f32 {
    let n = a.len();
    if n < 8 {
        let mut r = 0.0f32;
        for v in a {
            r += v;
        }
        r
    } else if n <= 128 {
        let mut r = [0.0f32; 8];
        r.copy_from_slice(&a[..8]);
        let full = n - n % 8;
        for blk in a[8..full].chunks_exact(8) {
            for (x, y) in r.iter_mut().zip(blk) {
                *x += y;
            }
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for v in &a[full..] {
            res += v;
        }
        res
    } else {
        let mut n2 = n / 2;
        n2 -= n2 % 8;
        let (x, y) = a.split_at(n2);
        if n > 1 << 16 {
            let (s1, s2) = rayon::join(|| pairwise_sum_f32(x), || pairwise_sum_f32(y));
            s1 + s2
        } else {
            pairwise_sum_f32(x) + pairwise_sum_f32(y)
        }
    }
}

/// Mean and population std as numpy computes them for a float32 array.
pub fn mean_std_f32(v: &[f32]) -> (f32, f32) {
    let n = v.len() as f64;
    let mean = (pairwise_sum_f32(v) as f64 / n) as f32;
    let sq: Vec<f32> = v
        .par_iter()
        .map(|x| {
            let d = x - mean;
            d * d
        })
        .collect();
    let var = (pairwise_sum_f32(&sq) as f64 / n) as f32;
    (mean, var.sqrt())
}

/// z-score in float32 (nnU-Net `ZScoreNormalization`): over all voxels, or over the voxels where
/// `mask` is non-zero, changing only those (others keep their value).
pub fn zscore<T: Pixel, M: Pixel>(img: &Image<T>, mask: Option<&Image<M>>) -> Result<Image<f32>> {
    require_scalar(img)?;
    let x: Image<f32> = img.map(|v| v.to_f64() as f32);
    match mask {
        None => {
            let (mean, std) = mean_std_f32(x.data());
            let d = std.max(1e-8);
            Ok(x.map(|v| (v - mean) / d))
        }
        Some(m) => {
            check_mask(img, m)?;
            let inside = |mv: M| mv.to_f64() != 0.0;
            let sel: Vec<f32> = x
                .data()
                .iter()
                .zip(m.data())
                .filter(|(_, mv)| inside(**mv))
                .map(|(v, _)| *v)
                .collect();
            if sel.is_empty() {
                return Err(Error::new(
                    crate::ErrorKind::Content,
                    "z-score mask selects no voxel",
                ));
            }
            let (mean, std) = mean_std_f32(&sel);
            let d = std.max(1e-8);
            let mut out = x;
            out.data_mut()
                .par_iter_mut()
                .zip(m.data().par_iter())
                .for_each(|(v, mv)| {
                    if inside(*mv) {
                        *v = (*v - mean) / d;
                    }
                });
            Ok(out)
        }
    }
}

/// nnU-Net's `CTNormalization`: `clip(x, p005, p995)`, minus `mean`, divided by
/// `max(std, 1e-8)`, all in float32 (the four numbers come from the plans'
/// `foreground_intensity_properties_per_channel`).
pub fn nnunet_ct<T: Pixel>(
    img: &Image<T>,
    mean: f64,
    std: f64,
    p005: f64,
    p995: f64,
) -> Result<Image<f32>> {
    require_scalar(img)?;
    for (name, v) in [
        ("mean", mean),
        ("std", std),
        ("percentile_00_5", p005),
        ("percentile_99_5", p995),
    ] {
        if !v.is_finite() {
            return Err(Error::invalid_argument(format!(
                "nnU-Net CT {name} {v} is not finite"
            )));
        }
    }
    if p005 > p995 {
        return Err(Error::invalid_argument(format!(
            "nnU-Net CT percentile_00_5 {p005} is above percentile_99_5 {p995}"
        )));
    }
    let (lo, hi, m, s) = (
        p005 as f32,
        p995 as f32,
        mean as f32,
        (std as f32).max(1e-8),
    );
    Ok(img.map(move |v| {
        let x = v.to_f64() as f32;
        (x.clamp(lo, hi) - m) / s
    }))
}

/// [`percentile_normalize`] for a run-time-typed image.
pub fn percentile_normalize_dyn(
    img: &DynImage,
    q_lo: f64,
    q_hi: f64,
    nonzero: bool,
    out: OutRange,
) -> Result<(DynImage, (f64, f64))> {
    crate::dispatch!(img, i => percentile_normalize(i, q_lo, q_hi, nonzero, out))
}

/// [`window`] for a run-time-typed image.
pub fn window_dyn(
    img: &DynImage,
    level: f64,
    width: f64,
    scale: WindowScale,
    out: OutRange,
) -> Result<(DynImage, (f64, f64))> {
    crate::dispatch!(img, i => window(i, level, width, scale, out))
}

/// [`zscore`] for run-time-typed images.
pub fn zscore_dyn(img: &DynImage, mask: Option<&DynImage>) -> Result<Image<f32>> {
    match mask {
        None => crate::dispatch!(img, i => zscore::<_, u8>(i, None)),
        Some(m) => {
            let m: Image<f64> = m.cast();
            crate::dispatch!(img, i => zscore(i, Some(&m)))
        }
    }
}

/// [`nnunet_ct`] for a run-time-typed image.
pub fn nnunet_ct_dyn(
    img: &DynImage,
    mean: f64,
    std: f64,
    p005: f64,
    p995: f64,
) -> Result<Image<f32>> {
    crate::dispatch!(img, i => nnunet_ct(i, mean, std, p005, p995))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::Geometry;

    #[test]
    fn hist_and_select_agree() {
        let g = Geometry::with_size([7, 5, 3]).unwrap();
        let v: Vec<i16> = (0..105).map(|i| ((i * 7919) % 211) as i16 - 100).collect();
        let a = Image::new(g, v.clone()).unwrap();
        let b = Image::new(g, v.iter().map(|x| *x as i32).collect()).unwrap();
        let qs = [0.0, 0.5, 13.7, 50.0, 99.5, 100.0];
        let pa = percentiles(&a, &qs, None).unwrap();
        let pb = percentiles(&b, &qs, None).unwrap();
        assert_eq!(pa, pb);
        assert_eq!(pa[0], -100.0);
        assert_eq!(pa[5], 110.0);
    }

    #[test]
    fn medsam_nonzero_keeps_zero() {
        let g = Geometry::with_size([5, 1, 1]).unwrap();
        let img = Image::new(g, vec![0.0f32, 10.0, 20.0, 30.0, 40.0]).unwrap();
        let (out, (lo, hi)) = percentile_normalize(&img, 0.0, 100.0, true, OutRange::U8).unwrap();
        assert_eq!((lo, hi), (10.0, 40.0));
        assert_eq!(out.as_type::<u8>().unwrap().data(), &[0, 0, 85, 170, 255]);
        let empty = Image::new(g, vec![0.0f32; 5]).unwrap();
        assert!(percentile_normalize(&empty, 0.5, 99.5, true, OutRange::U8).is_err());
    }

    #[test]
    fn window_clipped_range() {
        let g = Geometry::with_size([3, 1, 1]).unwrap();
        let img = Image::new(g, vec![-50i16, 0, 100]).unwrap();
        let (_, r) = window(&img, 40.0, 400.0, WindowScale::ClippedRange, OutRange::U8).unwrap();
        assert_eq!(r, (-50.0, 100.0));
        let (o, r) = window(&img, 40.0, 400.0, WindowScale::Bounds, OutRange::U8).unwrap();
        assert_eq!(r, (-160.0, 240.0));
        // (−50 + 160) / 400 · 255 = 70.125 → 70
        assert_eq!(o.as_type::<u8>().unwrap().data()[0], 70);
    }

    #[test]
    fn pairwise_small() {
        let v: Vec<f32> = (0..300).map(|i| i as f32 * 0.1).collect();
        let s = pairwise_sum_f32(&v);
        assert!((s as f64 - 4485.0).abs() < 1e-2);
    }
}
