//! `extract_levels` (spec §4.4): one point per disc on the canal side, plus the C1 (1) and C1-C2
//! (2) points, numbered by rank among the present disc labels.

use super::fitpack::{splev, splrep};
use super::iterative::pylist;
use super::vol::Dims;
use crate::error::{Error, ErrorKind, Result};
use rayon::prelude::*;

/// Parameters of `extract_levels`.
#[derive(Debug, Clone, PartialEq)]
pub struct LevelsParams {
    pub canal_labels: Vec<u8>,
    /// Disc labels from C2-C3 downwards (their rank decides the level value).
    pub disc_labels: Vec<u8>,
    pub c1_label: u8,
    pub c2_label: u8,
}

impl Default for LevelsParams {
    /// What inference.py passes.
    fn default() -> Self {
        let mut discs: Vec<u8> = (63..=67).collect();
        discs.extend(71..=82);
        discs.extend(91..=95);
        discs.push(100);
        LevelsParams {
            canal_labels: vec![1, 2],
            disc_labels: discs,
            c1_label: 11,
            c2_label: 50,
        }
    }
}

fn content(m: String) -> Error {
    Error::new(ErrorKind::Content, m)
}

/// The fitted canal centre line: one point (x, y, z) per integer z from the lowest to the
/// highest canal slice, as SCT's `get_centerline` (mean x/y per slice, smoothing spline).
pub fn canal_centerline(
    d: Dims,
    seg: &[u8],
    canal: &[bool; 256],
    pz: f64,
) -> Result<Vec<[f64; 3]>> {
    let plane = d.nx * d.ny;
    let per_z: Vec<Option<(f64, f64, f64)>> = (0..d.nz)
        .into_par_iter()
        .map(|z| {
            let (mut sx, mut sy, mut n) = (0f64, 0f64, 0f64);
            for (o, &v) in seg[z * plane..(z + 1) * plane].iter().enumerate() {
                if canal[v as usize] {
                    sx += (o % d.nx) as f64;
                    sy += (o / d.nx) as f64;
                    n += 1.0;
                }
            }
            (n > 0.0).then_some((sx, sy, n))
        })
        .collect();
    let mut zs = Vec::new();
    let mut xm = Vec::new();
    let mut ym = Vec::new();
    for (z, v) in per_z.iter().enumerate() {
        if let Some((sx, sy, n)) = v {
            zs.push(z as f64);
            xm.push(sx / n);
            ym.push(sy / n);
        }
    }
    let (Some(&z0), Some(&z1)) = (zs.first(), zs.last()) else {
        return Err(content("No canal labels found in the segmentation.".into()));
    };
    let zref: Vec<f64> = (z0 as i64..=z1 as i64).map(|z| z as f64).collect();
    let k = if zs.len() <= 3 { 1 } else { 3 };
    let ratio = zs.len() as f64 / zref.len() as f64;
    let density = ratio * ratio;
    let s = density * 8000.0 * pz / 3.0;
    let fx = splev(&splrep(&zs, &xm, s, k)?, &zref);
    let fy = splev(&splrep(&zs, &ym, s, k)?, &zref);
    Ok(zref
        .iter()
        .zip(fx.iter().zip(&fy))
        .map(|(&z, (&x, &y))| [x, y, z])
        .collect())
}

fn dist(a: [f64; 3], b: [f64; 3]) -> f64 {
    let (x, y, z) = (a[0] - b[0], a[1] - b[1], a[2] - b[2]);
    (x * x + y * y + z * z).sqrt()
}

/// Smallest distance from integer voxel `p` to the centre line (points ordered by z, one per
/// integer z starting at `zref0`).
fn min_dist(line: &[[f64; 3]], zref0: f64, p: [f64; 3]) -> f64 {
    let n = line.len() as i64;
    let start = ((p[2] - zref0) as i64).clamp(0, (n - 1).max(0));
    let mut best = f64::INFINITY;
    let mut off = 0i64;
    while off <= n {
        let mut live = false;
        let cands = if off == 0 {
            [start, -1]
        } else {
            [start - off, start + off]
        };
        for k in cands {
            if k < 0 || k >= n {
                continue;
            }
            let q = line[k as usize];
            // |dz| is a lower bound of the distance; z grows by one per point.
            if (q[2] - p[2]).abs() > best {
                continue;
            }
            live = true;
            let dd = dist(p, q);
            if dd < best {
                best = dd;
            }
        }
        if !live {
            break;
        }
        off += 1;
    }
    best
}

fn nearest_index(points: &[[f64; 3]], p: [f64; 3]) -> usize {
    let mut best = 0;
    let mut bd = f64::INFINITY;
    for (k, q) in points.iter().enumerate() {
        let dd = dist(p, *q);
        if dd < bd {
            bd = dd;
            best = k;
        }
    }
    best
}

/// `extract_levels` on a canonical (RAS) label volume; `pz` is the voxel size along z.
pub fn extract_levels(d: Dims, seg: &[u8], pz: f64, p: &LevelsParams) -> Result<Vec<u8>> {
    if seg.len() != d.len() {
        return Err(Error::mismatch(
            "extract_levels: buffer size does not match the grid",
        ));
    }
    let mut canal = [false; 256];
    for &l in &p.canal_labels {
        canal[l as usize] = true;
    }
    if !seg.par_iter().any(|&v| canal[v as usize]) {
        return Err(content("No canal labels found in the segmentation.".into()));
    }
    let line = canal_centerline(d, seg, &canal, pz)?;
    let mut present = [false; 256];
    for &v in seg {
        present[v as usize] = true;
    }
    let discs: Vec<u8> = p
        .disc_labels
        .iter()
        .copied()
        .filter(|&l| present[l as usize])
        .collect();
    let Some(&first) = discs.first() else {
        return Err(content(format!(
            "No disc labels found in the segmentation (disc labels: {}).",
            pylist(&p.disc_labels)
        )));
    };
    let first_idx = p.disc_labels.iter().position(|&l| l == first).unwrap_or(0);
    let mut rank = [0usize; 256];
    let mut is_disc = [false; 256];
    for (k, &l) in discs.iter().enumerate() {
        rank[l as usize] = 3 + first_idx + k;
        is_disc[l as usize] = true;
    }
    let zref0 = line.first().map(|q| q[2]).unwrap_or(0.0);
    // Best (distance, C-order key, offset) per disc label.
    let plane = d.nx * d.ny;
    let best: Vec<Vec<Option<(f64, usize, usize)>>> = (0..d.nz)
        .into_par_iter()
        .map(|z| {
            let mut b: Vec<Option<(f64, usize, usize)>> = vec![None; 256];
            for (o, &v) in seg[z * plane..(z + 1) * plane].iter().enumerate() {
                if !is_disc[v as usize] {
                    continue;
                }
                let (x, y) = (o % d.nx, o / d.nx);
                let dd = min_dist(&line, zref0, [x as f64, y as f64, z as f64]);
                let key = d.ckey(x, y, z);
                let e = &mut b[v as usize];
                if e.is_none_or(|(bd, bk, _)| dd < bd || (dd == bd && key < bk)) {
                    *e = Some((dd, key, d.idx(x, y, z)));
                }
            }
            b
        })
        .collect();
    let mut out = vec![0u8; d.len()];
    let mut p3: Option<[i64; 3]> = None;
    for &l in &discs {
        let mut b: Option<(f64, usize, usize)> = None;
        for per in &best {
            if let Some(c) = per[l as usize]
                && b.is_none_or(|(bd, bk, _)| c.0 < bd || (c.0 == bd && c.1 < bk))
            {
                b = Some(c);
            }
        }
        if let Some((_, _, i)) = b {
            let v = u8::try_from(rank[l as usize])
                .map_err(|_| Error::invalid_argument("level value above 255"))?;
            out[i] = v;
        }
    }
    // Level 3 voxel: first in C order holding 3.
    if let Some(i) = (0..out.len())
        .filter(|&i| out[i] == 3)
        .min_by_key(|&i| d.ckey_of(i))
    {
        let [x, y, z] = d.xyz(i);
        p3 = Some([x as i64, y as i64, z as i64]);
    }
    let (c1, c2) = (p.c1_label, p.c2_label);
    if let Some(p3) = p3
        && c1 != 0
        && c2 != 0
        && present[c1 as usize]
        && present[c2 as usize]
        && seg.par_iter().filter(|&&v| v == c1).count() > 500
    {
        let c1_zmax = (0..d.nz)
            .rev()
            .find(|&z| seg[z * plane..(z + 1) * plane].contains(&c1))
            .unwrap_or(0);
        let x3 = p3[0] as usize;
        // np.where(seg[x3, :, :c1_zmax] == c2): (y, z) in C order (y slowest); argmax of z
        // = first maximum = the smallest y among the highest voxels.
        let mut top: Option<(usize, usize)> = None;
        for y in 0..d.ny {
            for z in 0..c1_zmax {
                if seg[d.idx(x3, y, z)] == c2 && top.is_none_or(|(_, tz)| z > tz) {
                    top = Some((y, z));
                }
            }
        }
        let p3f = [p3[0] as f64, p3[1] as f64, p3[2] as f64];
        let proj = line[nearest_index(&line, p3f)];
        let (sx, sy) = (p3f[0] - proj[0], p3f[1] - proj[1]);
        let shifted: Vec<[f64; 3]> = line
            .iter()
            .map(|q| {
                [
                    (q[0] + sx).round_ties_even(),
                    (q[1] + sy).round_ties_even(),
                    q[2].round_ties_even(),
                ]
            })
            .collect();
        if let Some((ty, tz)) = top {
            let topv = [p3[0], ty as i64, tz as i64];
            let topf = [topv[0] as f64, topv[1] as f64, topv[2] as f64];
            let q1 = shifted[nearest_index(&shifted, topf)];
            put_wrapped(d, &mut out, q1, 1)?;
            let mid = [
                (topv[0] + p3[0]).div_euclid(2) as f64,
                (topv[1] + p3[1]).div_euclid(2) as f64,
                (topv[2] + p3[2]).div_euclid(2) as f64,
            ];
            let q2 = shifted[nearest_index(&shifted, mid)];
            put_wrapped(d, &mut out, q2, 2)?;
        }
    }
    Ok(out)
}

/// numpy fancy assignment with integer indices: negative indices wrap once, anything else out
/// of range is an error (numpy raises IndexError).
fn put_wrapped(d: Dims, out: &mut [u8], q: [f64; 3], v: u8) -> Result<()> {
    let n = [d.nx as i64, d.ny as i64, d.nz as i64];
    let mut idx = [0usize; 3];
    for a in 0..3 {
        let mut i = q[a] as i64;
        if i < 0 {
            i += n[a];
        }
        if i < 0 || i >= n[a] {
            return Err(content(format!(
                "level point {v} falls outside the volume (index {} on axis {a} of size {})",
                q[a] as i64, n[a]
            )));
        }
        idx[a] = i as usize;
    }
    out[d.idx(idx[0], idx[1], idx[2])] = v;
    Ok(())
}
