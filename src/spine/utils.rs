//! The small TotalSpineSeg utilities (spec §4.1–4.3, 4.5, 4.6) on label buffers.

use super::vol::{Dims, argmax_count, dilate_cross, label26, largest26};
use crate::error::{Error, Result};
use rayon::prelude::*;

fn check(d: Dims, n: usize, what: &str) -> Result<()> {
    if n != d.len() {
        return Err(Error::mismatch(format!(
            "{what}: buffer of {n} voxels for a {}x{}x{} grid",
            d.nx, d.ny, d.nz
        )));
    }
    Ok(())
}

/// `largest_component(seg, binarize, dilate)` (spec §4.1): for each label present (or the
/// non-zero mask when `binarize`), keep the 26-component with the most original voxels after
/// an optional L1-ball dilation of radius `dilate`.
///
/// ```
/// use medseg::spine::{Dims, largest_component};
/// let d = Dims { nx: 5, ny: 1, nz: 1 };
/// // Two blobs of label 3 two voxels apart: with dilate = 1 they join, without they do not.
/// let seg = [3, 3, 0, 0, 3];
/// assert_eq!(largest_component(d, &seg, false, 0).unwrap(), vec![3, 3, 0, 0, 0]);
/// assert_eq!(largest_component(d, &[3, 0, 3, 0, 0], false, 1).unwrap(), vec![3, 0, 3, 0, 0]);
/// ```
pub fn largest_component(d: Dims, seg: &[u8], binarize: bool, dilate: usize) -> Result<Vec<u8>> {
    check(d, seg.len(), "largest_component")?;
    let work: Vec<u8> = if binarize {
        seg.par_iter().map(|&v| u8::from(v != 0)).collect()
    } else {
        seg.to_vec()
    };
    let mut present = [false; 256];
    for &v in &work {
        present[v as usize] = true;
    }
    let mut out = vec![0u8; d.len()];
    for l in 1..=255u8 {
        if !present[l as usize] {
            continue;
        }
        let mask: Vec<bool> = work.par_iter().map(|&v| v == l).collect();
        let comps = if dilate > 0 {
            let mut dil = mask.clone();
            dilate_cross(d, &mut dil, dilate);
            label26(d, &dil)
        } else {
            label26(d, &mask)
        };
        let best = argmax_count(&comps.labels, comps.count, |i| mask[i]);
        out.par_iter_mut()
            .zip(comps.labels.par_iter())
            .zip(mask.par_iter())
            .for_each(|((o, &c), &m)| {
                if m && c == best {
                    *o = l;
                }
            });
    }
    if binarize {
        out.par_iter_mut()
            .zip(seg.par_iter())
            .for_each(|(o, &s)| *o = o.wrapping_mul(s));
    }
    Ok(out)
}

/// `fill_canal` (spec §4.2). `cord_label` 0 = no cord.
pub fn fill_canal(
    d: Dims,
    seg: &[u8],
    canal_label: u8,
    cord_label: u8,
    largest_canal: bool,
    largest_cord: bool,
) -> Result<Vec<u8>> {
    check(d, seg.len(), "fill_canal")?;
    let mut out = seg.to_vec();
    if cord_label != 0 && largest_cord && out.contains(&cord_label) {
        let cord: Vec<bool> = out.iter().map(|&v| v == cord_label).collect();
        let keep = largest26(d, &cord);
        for ((o, &c), &k) in out.iter_mut().zip(&cord).zip(&keep) {
            if c && !k {
                *o = canal_label;
            }
        }
    }
    if !out.contains(&canal_label) {
        return Ok(out);
    }
    let in_k = |v: u8| v == canal_label || (cord_label != 0 && v == cord_label);
    if largest_canal {
        let k: Vec<bool> = out.iter().map(|&v| in_k(v)).collect();
        let keep = largest26(d, &k);
        for ((o, &c), &kk) in out.iter_mut().zip(&k).zip(&keep) {
            if c && !kk {
                *o = 0;
            }
        }
    }
    let k: Vec<bool> = out.iter().map(|&v| in_k(v)).collect();
    // x-extent per (y, z) row and y-extent per (x, z) column.
    let mut xr = vec![(usize::MAX, 0usize); d.ny * d.nz];
    let mut yr = vec![(usize::MAX, 0usize); d.nx * d.nz];
    for z in 0..d.nz {
        for y in 0..d.ny {
            for x in 0..d.nx {
                if k[d.idx(x, y, z)] {
                    let r = &mut xr[y + d.ny * z];
                    r.0 = r.0.min(x);
                    r.1 = r.1.max(x);
                    let c = &mut yr[x + d.nx * z];
                    c.0 = c.0.min(y);
                    c.1 = c.1.max(y);
                }
            }
        }
    }
    for z in 0..d.nz {
        for y in 0..d.ny {
            let r = xr[y + d.ny * z];
            if r.0 == usize::MAX {
                continue;
            }
            for x in r.0..=r.1 {
                let c = yr[x + d.nx * z];
                if c.0 != usize::MAX && c.0 <= y && y <= c.1 {
                    let o = &mut out[d.idx(x, y, z)];
                    if cord_label == 0 || *o != cord_label {
                        *o = canal_label;
                    }
                }
            }
        }
    }
    Ok(out)
}

/// `extract_alternate` (spec §4.3): 1 on every other present label (by rank in `labels`, from
/// the first present one, or the second when `prioritize` says so), 0 elsewhere.
pub fn extract_alternate(seg: &[u8], labels: &[u8], prioritize: &[u8]) -> Vec<u8> {
    let mut present = [false; 256];
    for &v in seg {
        present[v as usize] = true;
    }
    let labels: Vec<u8> = labels
        .iter()
        .copied()
        .filter(|&l| present[l as usize])
        .collect();
    let prio: Vec<u8> = prioritize
        .iter()
        .copied()
        .filter(|p| labels.contains(p))
        .collect();
    let mut sel: Vec<u8> = labels.iter().step_by(2).copied().collect();
    if let Some(p0) = prio.first()
        && !sel.contains(p0)
    {
        sel = labels.iter().skip(1).step_by(2).copied().collect();
    }
    let mut lut = [0u8; 256];
    for &l in &sel {
        lut[l as usize] = 1;
    }
    seg.par_iter().map(|&v| lut[v as usize]).collect()
}

/// `extract_soft` (spec §4.5) on a probability volume already on the segmentation grid
/// (`prob` in medseg layout): outside the `seg_labels` mask dilated `dilate` times (and
/// optionally its largest component) the probability is set to 0. `dilate == 0` returns the
/// probabilities unchanged.
pub fn extract_soft(
    d: Dims,
    prob: &[f32],
    seg: &[u8],
    seg_labels: &[u8],
    dilate: usize,
    largest: bool,
) -> Result<Vec<f32>> {
    check(d, prob.len(), "extract_soft probabilities")?;
    check(d, seg.len(), "extract_soft segmentation")?;
    let mut out = prob.to_vec();
    if dilate > 0 {
        let mut set = [false; 256];
        for &l in seg_labels {
            set[l as usize] = true;
        }
        let mut mask: Vec<bool> = seg.iter().map(|&v| set[v as usize]).collect();
        dilate_cross(d, &mut mask, dilate);
        if largest {
            mask = largest26(d, &mask);
        }
        out.par_iter_mut().zip(mask.par_iter()).for_each(|(o, &m)| {
            if !m {
                *o = 0.0;
            }
        });
    }
    Ok(out)
}

/// `crop_image2seg` box (spec §4.6): `[x0, y0, z0, x1, y1, z1]` inclusive, the non-zero
/// bounding box widened by `margin` and clipped; `None` for an empty segmentation (no crop).
pub fn crop_box(d: Dims, seg: &[u8], margin: usize) -> Result<Option<[usize; 6]>> {
    check(d, seg.len(), "crop_image2seg")?;
    let mask: Vec<bool> = seg.par_iter().map(|&v| v != 0).collect();
    Ok(super::vol::bbox(d, &mask).map(|b| {
        [
            b[0].saturating_sub(margin),
            b[1].saturating_sub(margin),
            b[2].saturating_sub(margin),
            (b[3] + margin).min(d.nx - 1),
            (b[4] + margin).min(d.ny - 1),
            (b[5] + margin).min(d.nz - 1),
        ]
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_canal_fills_axial_hull_but_not_cord() {
        // 5 x 5 x 1: canal ring with cord in the centre and a disc voxel inside the hull.
        let d = Dims {
            nx: 5,
            ny: 5,
            nz: 1,
        };
        let mut seg = vec![0u8; 25];
        for (x, y) in [(1, 2), (3, 2), (2, 1), (2, 3)] {
            seg[d.idx(x, y, 0)] = 2;
        }
        seg[d.idx(2, 2, 0)] = 1;
        seg[d.idx(1, 1, 0)] = 63;
        let out = fill_canal(d, &seg, 2, 1, true, true).unwrap();
        assert_eq!(out[d.idx(2, 2, 0)], 1);
        // (1, 1): its row y = 1 holds K only at x = 2, so it lies outside the x-extent and keeps
        // its label; (2, 1) and the other ring voxels stay canal.
        assert_eq!(out[d.idx(1, 1, 0)], 63);
        assert_eq!(out[d.idx(2, 1, 0)], 2);
        assert_eq!(out[d.idx(0, 0, 0)], 0);
    }

    #[test]
    fn alternate_is_by_rank() {
        let seg = [63u8, 64, 65, 66, 67, 71, 72, 0];
        assert_eq!(
            extract_alternate(&seg, &(63..=100).collect::<Vec<_>>(), &[]),
            vec![1, 0, 1, 0, 1, 0, 1, 0]
        );
        assert_eq!(
            extract_alternate(&seg, &(63..=100).collect::<Vec<_>>(), &[64]),
            vec![0, 1, 0, 1, 0, 1, 0, 0]
        );
    }
}
