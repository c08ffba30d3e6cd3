//! Segmentation metrics per label: Dice (DSC), IoU, HD95 and NSD (normalised surface Dice).
//!
//! ## Surface definition (the one the MedSAM challenges score with)
//!
//! Surfaces are the **surfels** of DeepMind's `surface-distance` package (also the MedSAM
//! challenges' `SurfaceDice.py`): both masks are cropped to the bounding box of their union and
//! padded by one zero voxel at the end of each axis; at every voxel corner the 2×2×2 neighbourhood
//! gives an 8-bit code (voxel (a, b, c) of the block contributes bit 2^(7-(4a+2b+c))); codes other
//! than 0 and 255 are surface elements, each weighted by the area of its marching-cubes triangles
//! scaled by the spacing ([`surfel_areas`]). Distances from every surfel of one mask to the nearest
//! surfel of the other are exact Euclidean distances in mm on the corner grid ([`super::edt`]).
//!
//! * **NSD at tolerance τ** = (Σ area of G surfels within τ of S + Σ area of S surfels within τ of
//!   G) / (total area of G + total area of S), with `<=`. NaN when both masks are empty; 0 when
//!   one is empty.
//! * **HD95** (stated convention): the *robust Hausdorff distance* of `surface-distance`: per
//!   direction, the surfel distances sorted by (distance, area), the first distance at which the
//!   cumulative area fraction reaches 95 %; the larger of the two directions. +inf when one mask is
//!   empty, NaN when both are. (This is neither medpy's pooled percentile nor the
//!   contour-voxel-centre convention; `bench/README.md` §4.4 lists the differences.)
//! * Sums over surfels use numpy's pairwise summation in the same sorted order, so the numbers
//!   agree with the Python reference to the last bits.
//!
//! Arrays are addressed in C order `[n0, n1, n2]` with spacing per array axis; an
//! [`Image`](crate::image::Image) is `[nk, nj, ni]` with spacing `[sk, sj, si]` (the surfel areas and
//! distances do not depend on the axis order).
//!
//! ## MedSAM challenge rules ([`challenge_metrics`])
//!
//! Labels 1..=max(gts) (values of the prediction above that are ignored; labels absent from both
//! give NaN DSC); case DSC = mean over labels (NaN propagates); case NSD = mean of the per-label
//! NSD at 2 mm only when case DSC > 0.2, else 0; 2-D arrays are evaluated as H×W×1 volumes with
//! spacing (1, 1, 1); 3-D spacing applies to the array axes in the order stored.

use super::edt;
use super::surfel_table::NORMALS_EIGHTHS;
use crate::error::{Error, Result};
use crate::image::{Image, Pixel};
use rayon::prelude::*;

/// Options of [`evaluate`].
#[derive(Debug, Clone, PartialEq)]
pub struct MetricsOptions {
    /// NSD tolerance in mm.
    pub tolerance_mm: f64,
    /// Percentile of the robust Hausdorff distance (95 for HD95).
    pub hd_percentile: f64,
    /// Labels to evaluate; `None` = every non-zero value present in either image.
    pub labels: Option<Vec<u64>>,
}

impl Default for MetricsOptions {
    fn default() -> Self {
        MetricsOptions {
            tolerance_mm: 2.0,
            hd_percentile: 95.0,
            labels: None,
        }
    }
}

/// Metrics of one label.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LabelMetrics {
    pub label: u64,
    pub gt_voxels: u64,
    pub pred_voxels: u64,
    pub intersection_voxels: u64,
    /// 2|G∩S| / (|G|+|S|); NaN when both are empty.
    pub dsc: f64,
    /// |G∩S| / |G∪S|; NaN when both are empty.
    pub iou: f64,
    /// Robust Hausdorff distance at the chosen percentile (mm).
    pub hd95: f64,
    /// Normalised surface Dice at the tolerance.
    pub nsd: f64,
    pub surfel_area_gt: f64,
    pub surfel_area_pred: f64,
    pub surfel_area_gt_within_tol: f64,
    pub surfel_area_pred_within_tol: f64,
    pub n_surfels_gt: u64,
    pub n_surfels_pred: u64,
}

/// Result of [`evaluate`].
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct MetricsReport {
    /// Mean DSC over the evaluated labels (NaN propagates; NaN when there are none).
    pub dsc: f64,
    /// Mean NSD over the evaluated labels.
    pub nsd: f64,
    /// Mean HD95 over the evaluated labels.
    pub hd95: f64,
    pub tolerance_mm: f64,
    pub per_label: Vec<LabelMetrics>,
}

/// Result of [`challenge_metrics`].
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ChallengeReport {
    /// Case DSC (mean over labels 1..=max(gts); NaN propagates).
    pub dsc: f64,
    /// Case NSD after the DSC > 0.2 gate.
    pub nsd: f64,
    /// Mean NSD before the gate.
    pub nsd_without_gate: f64,
    /// True when the gate set NSD to 0.
    pub nsd_gated_to_zero: bool,
    pub tolerance_mm: f64,
    /// Spacing applied per array axis.
    pub spacing_used: [f64; 3],
    pub per_label: Vec<LabelMetrics>,
}

/// numpy's pairwise summation (`np.sum` / `np.add.reduce` on a contiguous float64 array), so that
/// sums agree with the Python references bit for bit.
pub(crate) fn pairwise_sum(a: &[f64]) -> f64 {
    let n = a.len();
    if n < 8 {
        let mut r = 0.0;
        for &x in a {
            r += x;
        }
        r
    } else if n <= 128 {
        let mut r = [0.0f64; 8];
        r.copy_from_slice(&a[..8]);
        let mut i = 8;
        while i < n - (n % 8) {
            for (t, rt) in r.iter_mut().enumerate() {
                *rt += a[i + t];
            }
            i += 8;
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        while i < n {
            res += a[i];
            i += 1;
        }
        res
    } else {
        let mut n2 = n / 2;
        n2 -= n2 % 8;
        pairwise_sum(&a[..n2]) + pairwise_sum(&a[n2..])
    }
}

/// Surfel area (mm²) of each of the 256 neighbour codes for spacing `s` per array axis.
pub fn surfel_areas(s: [f64; 3]) -> [f64; 256] {
    let mut t = [0.0; 256];
    for (code, (count, normals)) in NORMALS_EIGHTHS.iter().enumerate() {
        let mut sum = 0.0;
        for n in normals.iter().take(*count as usize) {
            let v = [
                n[0] as f64 / 8.0 * s[1] * s[2],
                n[1] as f64 / 8.0 * s[0] * s[2],
                n[2] as f64 / 8.0 * s[0] * s[1],
            ];
            sum += (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt();
        }
        t[code] = sum;
    }
    t
}

/// Per-label voxel counts and bounding boxes.
#[derive(Debug, Clone, Copy)]
struct LabelBox {
    g: u64,
    p: u64,
    inter: u64,
    lo: [usize; 3],
    hi: [usize; 3],
}

impl LabelBox {
    const EMPTY: LabelBox = LabelBox {
        g: 0,
        p: 0,
        inter: 0,
        lo: [usize::MAX; 3],
        hi: [0; 3],
    };
    fn merge(&mut self, o: &LabelBox) {
        self.g += o.g;
        self.p += o.p;
        self.inter += o.inter;
        for a in 0..3 {
            self.lo[a] = self.lo[a].min(o.lo[a]);
            self.hi[a] = self.hi[a].max(o.hi[a]);
        }
    }
}

/// Label number of a value when it is an integer in 1..=max, else None.
#[inline]
fn key<T: Pixel>(v: T, max: usize) -> Option<usize> {
    let f = v.to_f64();
    if f >= 1.0 && f <= max as f64 && f.fract() == 0.0 {
        Some(f as usize)
    } else {
        None
    }
}

fn boxes<T: Pixel, U: Pixel>(gt: &[T], pred: &[U], shape: [usize; 3], max: usize) -> Vec<LabelBox> {
    let [_, n1, n2] = shape;
    let plane = n1 * n2;
    gt.par_chunks(plane.max(1))
        .zip(pred.par_chunks(plane.max(1)))
        .enumerate()
        .fold(
            || vec![LabelBox::EMPTY; max + 1],
            |mut acc, (i0, (g, p))| {
                for i1 in 0..n1 {
                    let row_g = &g[i1 * n2..(i1 + 1) * n2];
                    let row_p = &p[i1 * n2..(i1 + 1) * n2];
                    for (i2, (&a, &b)) in row_g.iter().zip(row_p).enumerate() {
                        let ka = key(a, max);
                        let kb = key(b, max);
                        if ka.is_none() && kb.is_none() {
                            continue;
                        }
                        if let Some(k) = ka {
                            acc[k].g += 1;
                        }
                        if let Some(k) = kb {
                            acc[k].p += 1;
                        }
                        if ka.is_some()
                            && ka == kb
                            && let Some(k) = ka
                        {
                            acc[k].inter += 1;
                        }
                        for k in [ka, kb].into_iter().flatten() {
                            let bx = &mut acc[k];
                            let idx = [i0, i1, i2];
                            for a in 0..3 {
                                bx.lo[a] = bx.lo[a].min(idx[a]);
                                bx.hi[a] = bx.hi[a].max(idx[a]);
                            }
                        }
                    }
                }
                acc
            },
        )
        .reduce(
            || vec![LabelBox::EMPTY; max + 1],
            |mut a, b| {
                for (x, y) in a.iter_mut().zip(&b) {
                    x.merge(y);
                }
                a
            },
        )
}

/// Surfels of one mask in a crop: (position, code) list and the border map.
fn surfels(mask: &[bool], c: [usize; 3]) -> (Vec<(u32, u8)>, Vec<bool>) {
    let [c0, c1, c2] = c;
    let at = |p0: usize, p1: usize, p2: usize, a: usize, b: usize, d: usize| -> bool {
        // voxel (p - 1 + offset); outside = false
        if (p0 + a == 0) || (p1 + b == 0) || (p2 + d == 0) {
            return false;
        }
        let (x, y, z) = (p0 + a - 1, p1 + b - 1, p2 + d - 1);
        x < c0 && y < c1 && z < c2 && mask[(x * c1 + y) * c2 + z]
    };
    let mut list = Vec::new();
    let mut border = vec![false; c0 * c1 * c2];
    for p0 in 0..c0 {
        for p1 in 0..c1 {
            for p2 in 0..c2 {
                let mut code = 0u8;
                for a in 0..2 {
                    for b in 0..2 {
                        for d in 0..2 {
                            if at(p0, p1, p2, a, b, d) {
                                code |= 1 << (7 - (4 * a + 2 * b + d));
                            }
                        }
                    }
                }
                if code != 0 && code != 255 {
                    let pos = (p0 * c1 + p1) * c2 + p2;
                    border[pos] = true;
                    list.push((pos as u32, code));
                }
            }
        }
    }
    (list, border)
}

/// Distances (mm) from each surfel of `from` to the nearest surfel of the `to` border map, with
/// the surfel areas, sorted by (distance, area) like `surface-distance`.
fn directed(
    from: &[(u32, u8)],
    to_border: &[bool],
    has_to: bool,
    c: [usize; 3],
    spacing: [f64; 3],
    area: &[f64; 256],
) -> Result<Vec<(f64, f64)>> {
    let mut v: Vec<(f64, f64)> = if has_to {
        let feat = edt::feature_transform(to_border, c, spacing)?;
        from.par_iter()
            .map(|&(pos, code)| {
                let p = pos as usize;
                (
                    edt::dist_between(p, feat[p], c[1], c[2], spacing),
                    area[code as usize],
                )
            })
            .collect()
    } else {
        from.iter()
            .map(|&(_, code)| (f64::INFINITY, area[code as usize]))
            .collect()
    };
    v.par_sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    Ok(v)
}

fn robust_hd(d: &[(f64, f64)], pct: f64) -> f64 {
    if d.is_empty() {
        return f64::INFINITY;
    }
    let areas: Vec<f64> = d.iter().map(|x| x.1).collect();
    let total = pairwise_sum(&areas);
    let target = pct / 100.0;
    let mut cum = 0.0;
    for (i, x) in d.iter().enumerate() {
        cum += x.1;
        if cum / total >= target {
            return d[i].0;
        }
    }
    d[d.len() - 1].0
}

/// Core: metrics of `labels` for C-order arrays of `shape` with `spacing` per array axis.
fn per_label<T: Pixel, U: Pixel>(
    gt: &[T],
    pred: &[U],
    shape: [usize; 3],
    spacing: [f64; 3],
    labels: &[u64],
    tol: f64,
    pct: f64,
) -> Result<Vec<LabelMetrics>> {
    for (a, s) in spacing.iter().enumerate() {
        if !s.is_finite() || *s <= 0.0 {
            return Err(Error::invalid_geometry(format!(
                "spacing {s} along array axis {a} is not a positive finite number"
            )));
        }
    }
    if !tol.is_finite() || tol < 0.0 {
        return Err(Error::invalid_argument(format!(
            "NSD tolerance {tol} mm is not a non-negative number"
        )));
    }
    if !(0.0..=100.0).contains(&pct) {
        return Err(Error::invalid_argument(format!(
            "Hausdorff percentile {pct} is not in 0..100"
        )));
    }
    let max = labels.iter().copied().max().unwrap_or(0);
    if max > (1 << 24) {
        return Err(Error::too_large(format!(
            "label {max} is too large for per-label metrics"
        )));
    }
    let max = max as usize;
    let bx = boxes(gt, pred, shape, max);
    let area = surfel_areas(spacing);
    let [_, n1, n2] = shape;
    let mut out = Vec::with_capacity(labels.len());
    for &k in labels {
        let b = bx.get(k as usize).copied().unwrap_or(LabelBox::EMPTY);
        let union = b.g + b.p - b.inter;
        let dsc = if b.g + b.p == 0 {
            f64::NAN
        } else {
            2.0 * b.inter as f64 / (b.g + b.p) as f64
        };
        let iou = if union == 0 {
            f64::NAN
        } else {
            b.inter as f64 / union as f64
        };
        let mut m = LabelMetrics {
            label: k,
            gt_voxels: b.g,
            pred_voxels: b.p,
            intersection_voxels: b.inter,
            dsc,
            iou,
            hd95: f64::NAN,
            nsd: f64::NAN,
            surfel_area_gt: 0.0,
            surfel_area_pred: 0.0,
            surfel_area_gt_within_tol: 0.0,
            surfel_area_pred_within_tol: 0.0,
            n_surfels_gt: 0,
            n_surfels_pred: 0,
        };
        if union > 0 {
            // crop (bbox + one zero voxel at the end of each axis)
            let ext = [
                b.hi[0] - b.lo[0] + 1,
                b.hi[1] - b.lo[1] + 1,
                b.hi[2] - b.lo[2] + 1,
            ];
            let c = [ext[0] + 1, ext[1] + 1, ext[2] + 1];
            let cn = c[0]
                .checked_mul(c[1])
                .and_then(|v| v.checked_mul(c[2]))
                .filter(|&v| v < u32::MAX as usize)
                .ok_or_else(|| Error::too_large(format!("crop {c:?} of label {k} is too large")))?;
            let mut mg = vec![false; cn];
            let mut mp = vec![false; cn];
            let kf = k as f64;
            for x in 0..ext[0] {
                for y in 0..ext[1] {
                    let src = ((b.lo[0] + x) * n1 + b.lo[1] + y) * n2 + b.lo[2];
                    let dst = (x * c[1] + y) * c[2];
                    for z in 0..ext[2] {
                        mg[dst + z] = gt[src + z].to_f64() == kf;
                        mp[dst + z] = pred[src + z].to_f64() == kf;
                    }
                }
            }
            let (sg, bg) = surfels(&mg, c);
            let (sp, bp) = surfels(&mp, c);
            drop((mg, mp));
            let g2p = directed(&sg, &bp, !sp.is_empty(), c, spacing, &area)?;
            let p2g = directed(&sp, &bg, !sg.is_empty(), c, spacing, &area)?;
            let ag: Vec<f64> = g2p.iter().map(|x| x.1).collect();
            let ap: Vec<f64> = p2g.iter().map(|x| x.1).collect();
            let ag_in: Vec<f64> = g2p.iter().filter(|x| x.0 <= tol).map(|x| x.1).collect();
            let ap_in: Vec<f64> = p2g.iter().filter(|x| x.0 <= tol).map(|x| x.1).collect();
            m.surfel_area_gt = pairwise_sum(&ag);
            m.surfel_area_pred = pairwise_sum(&ap);
            m.surfel_area_gt_within_tol = pairwise_sum(&ag_in);
            m.surfel_area_pred_within_tol = pairwise_sum(&ap_in);
            m.n_surfels_gt = g2p.len() as u64;
            m.n_surfels_pred = p2g.len() as u64;
            m.nsd = (m.surfel_area_gt_within_tol + m.surfel_area_pred_within_tol)
                / (m.surfel_area_gt + m.surfel_area_pred);
            m.hd95 = robust_hd(&g2p, pct).max(robust_hd(&p2g, pct));
        }
        out.push(m);
    }
    Ok(out)
}

fn mean(v: &[f64]) -> f64 {
    if v.is_empty() {
        f64::NAN
    } else {
        pairwise_sum(v) / v.len() as f64
    }
}

/// Distinct non-zero label values of a buffer (integers ≥ 1 required).
fn labels_present<T: Pixel>(data: &[T], what: &str) -> Result<Vec<u64>> {
    let mut seen: Vec<f64> = data
        .par_chunks(1 << 16)
        .map(|c| {
            let mut v: Vec<f64> = Vec::new();
            let mut last = 0.0f64;
            for &x in c {
                let x = x.to_f64();
                if x == 0.0 || x == last {
                    continue;
                }
                last = x;
                if !v.contains(&x) {
                    v.push(x);
                    if v.len() > 4096 {
                        break;
                    }
                }
            }
            v
        })
        .reduce(Vec::new, |mut a, b| {
            for x in b {
                if !a.contains(&x) {
                    a.push(x);
                }
            }
            a
        });
    seen.sort_by(f64::total_cmp);
    if seen.len() > 4096 {
        return Err(Error::too_large(format!(
            "{what}: more than 4096 distinct labels"
        )));
    }
    seen.iter()
        .map(|&x| {
            if x >= 1.0 && x.fract() == 0.0 && x <= (1u64 << 24) as f64 {
                Ok(x as u64)
            } else {
                Err(Error::invalid_argument(format!(
                    "{what}: value {x} is not a label (labels are integers ≥ 1; 0 is background)"
                )))
            }
        })
        .collect()
}

fn check_scalar<T: Pixel>(img: &Image<T>, what: &str) -> Result<()> {
    if img.components() != 1 || img.frames() != 1 {
        return Err(Error::invalid_argument(format!(
            "{what}: needs a scalar 3-D label image, got {} components × {} frames",
            img.components(),
            img.frames()
        )));
    }
    Ok(())
}

/// Metrics of `pred` against `gt` (same grid required) per label.
pub fn evaluate<T: Pixel, U: Pixel>(
    gt: &Image<T>,
    pred: &Image<U>,
    opts: &MetricsOptions,
) -> Result<MetricsReport> {
    check_scalar(gt, "ground truth")?;
    check_scalar(pred, "prediction")?;
    let (g, p) = (gt.geometry(), pred.geometry());
    if g.size != p.size {
        return Err(Error::mismatch(format!(
            "ground truth size {:?} differs from prediction size {:?}",
            g.size, p.size
        )));
    }
    if !g.same_grid(p, 1e-3) {
        return Err(Error::mismatch(format!(
            "ground truth and prediction grids differ (spacing {:?} vs {:?}, origin {:?} vs {:?})",
            g.spacing, p.spacing, g.origin, p.origin
        )));
    }
    let labels = match &opts.labels {
        Some(l) => {
            if l.contains(&0) {
                return Err(Error::invalid_argument(
                    "label 0 is background, not a label",
                ));
            }
            l.clone()
        }
        None => {
            let mut l = labels_present(gt.data(), "ground truth")?;
            for x in labels_present(pred.data(), "prediction")? {
                if !l.contains(&x) {
                    l.push(x);
                }
            }
            l.sort_unstable();
            l
        }
    };
    let [ni, nj, nk] = g.size;
    let per = per_label(
        gt.data(),
        pred.data(),
        [nk, nj, ni],
        [g.spacing[2], g.spacing[1], g.spacing[0]],
        &labels,
        opts.tolerance_mm,
        opts.hd_percentile,
    )?;
    let d: Vec<f64> = per.iter().map(|m| m.dsc).collect();
    let n: Vec<f64> = per.iter().map(|m| m.nsd).collect();
    let h: Vec<f64> = per.iter().map(|m| m.hd95).collect();
    Ok(MetricsReport {
        dsc: mean(&d),
        nsd: mean(&n),
        hd95: mean(&h),
        tolerance_mm: opts.tolerance_mm,
        per_label: per,
    })
}

/// The MedSAM (CVPR 2024 "on Laptop") challenge metrics of one case, from the arrays as stored in
/// the npz files: `shape` is the numpy shape of `gts` (2 axes for 2-D cases, 3 for 3-D);
/// `spacing` (3-D only) applies to the array axes in the order stored.
///
/// ```
/// use medseg::postprocess::metrics::challenge_metrics;
/// let gts = [0u8, 1, 1, 0];
/// let segs = [0u8, 1, 0, 0];
/// let r = challenge_metrics(&gts, &segs, &[2, 2], None, 2.0).unwrap();
/// assert!((r.dsc - 2.0 / 3.0).abs() < 1e-15);
/// ```
pub fn challenge_metrics<T: Pixel, U: Pixel>(
    gts: &[T],
    segs: &[U],
    shape: &[usize],
    spacing: Option<[f64; 3]>,
    tolerance_mm: f64,
) -> Result<ChallengeReport> {
    let (shape3, sp) = match (shape, spacing) {
        ([h, w], _) => ([*h, *w, 1], [1.0; 3]),
        ([d, h, w], Some(s)) => ([*d, *h, *w], s),
        ([_, _, _], None) => {
            return Err(Error::invalid_argument(
                "3-D challenge case without a spacing",
            ));
        }
        _ => {
            return Err(Error::invalid_argument(format!(
                "challenge arrays must have 2 or 3 axes, got shape {shape:?}"
            )));
        }
    };
    let n = shape3
        .iter()
        .try_fold(1usize, |a, &b| a.checked_mul(b))
        .ok_or_else(|| Error::too_large(format!("shape {shape:?} overflows")))?;
    if n == 0 {
        return Err(Error::invalid_geometry(format!(
            "shape {shape:?} has a zero axis"
        )));
    }
    if gts.len() != n || segs.len() != n {
        return Err(Error::mismatch(format!(
            "gts has {} values and segs {} but the shape {shape:?} needs {n}",
            gts.len(),
            segs.len()
        )));
    }
    // labels 1..=max(gts)
    let maxg = gts
        .par_iter()
        .map(|v| v.to_f64())
        .reduce(|| f64::NEG_INFINITY, f64::max);
    if maxg.is_nan() || maxg.fract() != 0.0 && maxg > 0.0 || maxg > (1u64 << 24) as f64 {
        return Err(Error::invalid_argument(format!(
            "gts maximum {maxg} is not a label value"
        )));
    }
    let labels: Vec<u64> = if maxg >= 1.0 {
        (1..=maxg as u64).collect()
    } else {
        Vec::new()
    };
    let per = per_label(gts, segs, shape3, sp, &labels, tolerance_mm, 95.0)?;
    let d: Vec<f64> = per.iter().map(|m| m.dsc).collect();
    let ns: Vec<f64> = per.iter().map(|m| m.nsd).collect();
    let dsc = mean(&d);
    let ungated = mean(&ns);
    let gated = !(dsc > 0.2);
    Ok(ChallengeReport {
        dsc,
        nsd: if gated { 0.0 } else { ungated },
        nsd_without_gate: ungated,
        nsd_gated_to_zero: gated,
        tolerance_mm,
        spacing_used: sp,
        per_label: per,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::Geometry;

    #[test]
    fn pairwise_sum_matches_sequential_for_small_and_is_exact_for_integers() {
        let v: Vec<f64> = (0..1000).map(|x| x as f64).collect();
        assert_eq!(pairwise_sum(&v), 499_500.0);
        assert_eq!(pairwise_sum(&[1.0, 2.0]), 3.0);
    }

    #[test]
    fn single_voxel_surface_area_is_six_faces_worth() {
        // a lone voxel: all 8 corner codes are surfels; total area = 3·(√3/8)·... ; check symmetry
        let g = Geometry::with_size([3, 3, 3]).unwrap();
        let mut v = vec![0u8; 27];
        v[13] = 1;
        let img = Image::new(g, v).unwrap();
        let r = evaluate(&img, &img, &MetricsOptions::default()).unwrap();
        let m = &r.per_label[0];
        assert_eq!(m.dsc, 1.0);
        assert_eq!(m.nsd, 1.0);
        assert_eq!(m.hd95, 0.0);
        assert_eq!(m.n_surfels_gt, 8);
        assert!(m.surfel_area_gt > 0.0);
    }

    #[test]
    fn empty_prediction_gives_zero_nsd_and_infinite_hd() {
        let g = Geometry::with_size([3, 3, 3]).unwrap();
        let mut v = vec![0u8; 27];
        v[13] = 1;
        let gt = Image::new(g, v).unwrap();
        let pred = Image::new(g, vec![0u8; 27]).unwrap();
        let r = evaluate(&gt, &pred, &MetricsOptions::default()).unwrap();
        assert_eq!(r.per_label[0].dsc, 0.0);
        assert_eq!(r.per_label[0].nsd, 0.0);
        assert!(r.per_label[0].hd95.is_infinite());
        let r = evaluate(&pred, &pred, &MetricsOptions::default()).unwrap();
        assert!(r.per_label.is_empty() && r.dsc.is_nan());
    }
}
