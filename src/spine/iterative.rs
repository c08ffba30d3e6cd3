//! Iterative labeling (spec §3): turns region labels into numbered discs and vertebrae.
//!
//! Follows `totalspineseg.utils.iterative_label.iterative_label` of totalspineseg 20260807
//! step by step, including its quirks:
//! * the structuring element is always at least the 6-neighbour cross (`dilation_size` ≤ 1 both
//!   mean one cross dilation);
//! * the anterior refinement of the superior→inferior order only re-projects the component
//!   with id 1 ([`IterativeLabelParams::fix_anterior_refinement`] applies it to every component);
//! * only the first two entries of the landmark list are consulted once one anchors;
//! * the reference mutates its landmark list; here the caller's parameters are never changed.

use super::vol::{Dims, dilate_cross, label26, mode};
use crate::error::{Error, ErrorKind, Result};

/// Which L5-S sanity rule to apply (spec §3.2 step 7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum L5sRule {
    /// totalspineseg 20260807: remove the L5-S landmark only when a more inferior disc
    /// component holds more than 10 % of the raw-5 voxel count.
    #[default]
    SacralTenPercent,
    /// totalspineseg 20260429: remove it whenever the last disc component has no raw-5 voxel.
    LastDisc,
}

/// Every parameter of `iterative_label` (spec §3.1).
#[derive(Debug, Clone, PartialEq)]
pub struct IterativeLabelParams {
    pub selected_disc_landmarks: Vec<u8>,
    pub disc_labels: Vec<u8>,
    pub disc_landmark_labels: Vec<u8>,
    pub disc_landmark_output_labels: Vec<i64>,
    pub disc_output_step: i64,
    pub vertebrae_labels: Vec<u8>,
    pub vertebrae_landmark_output_labels: Vec<i64>,
    pub vertebrae_output_step: i64,
    pub vertebrae_extra_labels: Vec<u8>,
    pub region_max_sizes: Vec<usize>,
    pub region_default_sizes: Vec<usize>,
    pub loc_disc_labels: Vec<u8>,
    pub canal_labels: Vec<u8>,
    pub canal_output_label: u8,
    pub cord_labels: Vec<u8>,
    pub cord_output_label: u8,
    pub sacrum_labels: Vec<u8>,
    pub sacrum_output_label: u8,
    /// Raw value → output value, applied last, in order.
    pub map_input: Vec<(u8, u8)>,
    pub dilation_size: usize,
    /// 0 = fail when no landmark anchors.
    pub default_superior_disc: i64,
    /// Components with fewer original voxels are dropped; landmarks need strictly more.
    pub min_component_size: usize,
    pub l5s_rule: L5sRule,
    /// Fix for the reference's bug: re-project every component with anterior voxels using the
    /// centre of mass of its anterior part (off by default = voxel-identical to totalspineseg).
    pub fix_anterior_refinement: bool,
}

impl Default for IterativeLabelParams {
    /// The function defaults of the reference (not a useful preset on their own).
    fn default() -> Self {
        IterativeLabelParams {
            selected_disc_landmarks: vec![],
            disc_labels: vec![],
            disc_landmark_labels: vec![],
            disc_landmark_output_labels: vec![],
            disc_output_step: 1,
            vertebrae_labels: vec![],
            vertebrae_landmark_output_labels: vec![],
            vertebrae_output_step: 1,
            vertebrae_extra_labels: vec![],
            region_max_sizes: vec![5, 12, 6, 1],
            region_default_sizes: vec![5, 12, 5, 1],
            loc_disc_labels: vec![],
            canal_labels: vec![],
            canal_output_label: 0,
            cord_labels: vec![],
            cord_output_label: 0,
            sacrum_labels: vec![],
            sacrum_output_label: 0,
            map_input: vec![],
            dilation_size: 1,
            default_superior_disc: 0,
            min_component_size: 200,
            l5s_rule: L5sRule::default(),
            fix_anterior_refinement: false,
        }
    }
}

impl IterativeLabelParams {
    /// The parameters inference.py passes for step 1 (`loc` = a localizer is used).
    pub fn step1(loc: bool) -> Self {
        IterativeLabelParams {
            selected_disc_landmarks: if loc { vec![2, 5] } else { vec![2, 5, 3, 4] },
            disc_labels: vec![1, 2, 3, 4, 5],
            disc_landmark_labels: vec![2, 3, 4, 5],
            disc_landmark_output_labels: vec![63, 71, 91, 100],
            loc_disc_labels: if loc { (63..=100).collect() } else { vec![] },
            canal_labels: vec![8],
            canal_output_label: 2,
            cord_labels: vec![9],
            cord_output_label: 1,
            sacrum_labels: vec![6],
            sacrum_output_label: 50,
            map_input: vec![(7, 11)],
            ..Default::default()
        }
    }

    /// The parameters inference.py passes for step 2.
    pub fn step2(loc: bool) -> Self {
        IterativeLabelParams {
            selected_disc_landmarks: if loc { vec![2, 5] } else { vec![2, 5, 3, 4] },
            disc_labels: vec![1, 2, 3, 4, 5],
            disc_landmark_labels: vec![2, 3, 4, 5],
            disc_landmark_output_labels: vec![63, 71, 91, 100],
            vertebrae_labels: vec![7, 8, 9],
            vertebrae_landmark_output_labels: vec![13, 21, 41, 50],
            vertebrae_extra_labels: vec![6],
            loc_disc_labels: if loc { (63..=100).collect() } else { vec![] },
            canal_labels: vec![10],
            canal_output_label: 2,
            cord_labels: vec![11],
            cord_output_label: 1,
            sacrum_labels: vec![9],
            sacrum_output_label: 50,
            ..Default::default()
        }
    }
}

fn content(msg: String) -> Error {
    Error::new(ErrorKind::Content, msg)
}

/// Python's `repr` of a list of ints: `[2, 5, 3, 4]`.
pub(crate) fn pylist<T: std::fmt::Display>(v: &[T]) -> String {
    let items: Vec<String> = v.iter().map(|x| x.to_string()).collect();
    format!("[{}]", items.join(", "))
}

/// Canal centre-line points `(x, y, z)` in lexicographic order (in the coordinates of the
/// whole volume: buffer index + `off`), the per-slice mid y used by the anterior mask (buffer
/// coordinates, -1 where a slice has no canal voxel), and `off`.
struct Canal {
    points: Vec<[i64; 3]>,
    mid_y: Vec<i64>,
    off: [usize; 3],
}

fn canal_centerline(d: Dims, seg: &[u8], labels: &[u8], off: [usize; 3]) -> Result<Canal> {
    let mut inset = [false; 256];
    for &l in labels {
        inset[l as usize] = true;
    }
    if !seg.iter().any(|&v| inset[v as usize]) {
        return Err(content(format!(
            "No canal found in the segmentation (canal labels: {})",
            pylist(labels)
        )));
    }
    let plane = d.nx * d.ny;
    let mut mid_x = vec![-1i64; d.nz];
    let mut mid_y = vec![-1i64; d.nz];
    for z in 0..d.nz {
        let p = &seg[z * plane..(z + 1) * plane];
        let (mut x0, mut x1, mut y0, mut y1) = (usize::MAX, 0usize, usize::MAX, 0usize);
        let mut any = false;
        for (o, &v) in p.iter().enumerate() {
            if inset[v as usize] {
                any = true;
                let (x, y) = (o % d.nx, o / d.nx);
                x0 = x0.min(x);
                x1 = x1.max(x);
                y0 = y0.min(y);
                y1 = y1.max(y);
            }
        }
        if any {
            mid_x[z] = ((x0 + x1) / 2) as i64;
            mid_y[z] = ((y0 + y1) / 2) as i64;
        }
    }
    let mut points = Vec::new();
    for z in 0..d.nz {
        if mid_x[z] >= 0 {
            let (x, y) = (mid_x[z] as usize, mid_y[z] as usize);
            if inset[seg[d.idx(x, y, z)] as usize] {
                points.push([
                    (x + off[0]) as i64,
                    (y + off[1]) as i64,
                    (z + off[2]) as i64,
                ]);
            }
        }
    }
    points.sort();
    Ok(Canal { points, mid_y, off })
}

/// Index of the centre-line point nearest to `p` (Euclidean, as `np.linalg.norm`, first on
/// ties); a NaN position gives 0 like `np.argmin` of an all-NaN row.
pub(crate) fn nearest_point(points: &[[f64; 3]], p: [f64; 3]) -> usize {
    if p.iter().any(|v| v.is_nan()) {
        return 0;
    }
    let mut best = 0;
    let mut bd = f64::INFINITY;
    for (k, q) in points.iter().enumerate() {
        let (a, b, c) = (p[0] - q[0], p[1] - q[1], p[2] - q[2]);
        let dist = (a * a + b * b + c * c).sqrt();
        if dist < bd {
            bd = dist;
            best = k;
        }
    }
    best
}

/// Components of one family (discs or vertebrae): ids per voxel and the superior→inferior order.
struct Family {
    labels: Vec<u32>,
    count: usize,
    sorted: Vec<u32>,
    z: Vec<i64>,
}

fn components(
    d: Dims,
    seg: &[u8],
    groups: &[Vec<u8>],
    all_labels: &[u8],
    radius: usize,
    min_size: usize,
) -> Result<(Vec<u32>, usize)> {
    let mut out = vec![0u32; d.len()];
    let mut num = 0usize;
    for g in groups {
        let mut inset = [false; 256];
        for &l in g {
            inset[l as usize] = true;
        }
        let mask: Vec<bool> = seg.iter().map(|&v| inset[v as usize]).collect();
        let mut dil = mask.clone();
        dilate_cross(d, &mut dil, radius);
        let c = label26(d, &dil);
        drop(dil);
        let mut sizes = vec![0usize; c.count as usize + 1];
        for (i, &l) in c.labels.iter().enumerate() {
            if l != 0 && mask[i] {
                sizes[l as usize] += 1;
            }
        }
        let mut remap = vec![0u32; c.count as usize + 1];
        let mut counter = 0u32;
        for l in 1..=c.count as usize {
            if sizes[l] >= min_size {
                counter += 1;
                remap[l] = counter;
            }
        }
        for (i, &l) in c.labels.iter().enumerate() {
            if l != 0 && mask[i] && remap[l as usize] != 0 {
                out[i] = remap[l as usize] + num as u32;
            }
        }
        num += counter as usize;
    }
    if num == 0 {
        return Err(content(format!(
            "Some label must be in the segmentation (labels: {})",
            pylist(all_labels)
        )));
    }
    Ok((out, num))
}

/// `_sort_labels_si`: z of each listed component (nearest centre-line point to its centre of
/// mass, with the reference's anterior refinement), sorted by (z, id) descending.
fn sort_si(
    d: Dims,
    labels: &[u32],
    list: &[u32],
    canal: &Canal,
    fix_anterior: bool,
) -> (Vec<u32>, Vec<i64>) {
    let maxl = list.iter().copied().max().unwrap_or(0) as usize;
    let mut n = vec![0f64; maxl + 1];
    let mut s = vec![[0f64; 3]; maxl + 1];
    let mut na = vec![0f64; maxl + 1];
    let mut sa = vec![[0f64; 3]; maxl + 1];
    let plane = d.nx * d.ny;
    let off = canal.off;
    for z in 0..d.nz {
        let my = canal.mid_y[z];
        let zf = (z + off[2]) as f64;
        for (o, &l) in labels[z * plane..(z + 1) * plane].iter().enumerate() {
            if l == 0 || l as usize > maxl {
                continue;
            }
            // whole-volume coordinates (integer sums: exact in f64)
            let (x, y) = ((o % d.nx + off[0]) as f64, (o / d.nx + off[1]) as f64);
            let l = l as usize;
            n[l] += 1.0;
            s[l][0] += x;
            s[l][1] += y;
            s[l][2] += zf;
            if (o / d.nx) as i64 > my {
                na[l] += 1.0;
                sa[l][0] += x;
                sa[l][1] += y;
                sa[l][2] += zf;
            }
        }
    }
    let pts: Vec<[f64; 3]> = canal
        .points
        .iter()
        .map(|p| [p[0] as f64, p[1] as f64, p[2] as f64])
        .collect();
    let zof = |cnt: f64, sum: [f64; 3]| -> i64 {
        let p = [sum[0] / cnt, sum[1] / cnt, sum[2] / cnt];
        canal.points[nearest_point(&pts, p)][2]
    };
    let mut z: Vec<i64> = list
        .iter()
        .map(|&l| zof(n[l as usize], s[l as usize]))
        .collect();
    let any_anterior = list.iter().any(|&l| na[l as usize] > 0.0);
    if any_anterior {
        for (k, &l) in list.iter().enumerate() {
            let l = l as usize;
            if fix_anterior {
                if na[l] > 0.0 {
                    z[k] = zof(na[l], sa[l]);
                }
            } else if l == 1 {
                // `labels_z_indices_dict[True] = ...`: only id 1 is updated, and with the
                // anterior centre of mass of component 1 (NaN → first centre-line point).
                z[k] = zof(na[1], sa[1]);
            }
        }
    }
    let mut pairs: Vec<(i64, u32)> = z.into_iter().zip(list.iter().copied()).collect();
    pairs.sort();
    pairs.reverse();
    (
        pairs.iter().map(|p| p.1).collect(),
        pairs.iter().map(|p| p.0).collect(),
    )
}

/// First voxel (C order) of every id ≤ `maxl`: memory offset.
fn first_voxels(d: Dims, labels: &[u32], maxl: usize) -> Vec<Option<usize>> {
    let mut best: Vec<Option<(usize, usize)>> = vec![None; maxl + 1];
    for (i, &l) in labels.iter().enumerate() {
        if l == 0 || l as usize > maxl {
            continue;
        }
        let k = d.ckey_of(i);
        let e = &mut best[l as usize];
        if e.is_none_or(|(bk, _)| k < bk) {
            *e = Some((k, i));
        }
    }
    best.into_iter().map(|o| o.map(|(_, i)| i)).collect()
}

fn merge_same_label(d: Dims, seg: &[u8], fam: &mut Family, canal: &Canal, fix: bool) {
    let maxl = fam.labels.iter().copied().max().unwrap_or(0) as usize;
    let first = first_voxels(d, &fam.labels, maxl);
    let mut remap: Vec<u32> = (0..=maxl as u32).collect();
    let mut kept = Vec::new();
    let (mut prev_l, mut prev_orig) = (0u32, 0u8);
    for &l in &fam.sorted {
        let orig = first
            .get(l as usize)
            .copied()
            .flatten()
            .map(|i| seg[i])
            .unwrap_or(0);
        if orig == prev_orig {
            remap[l as usize] = prev_l;
            fam.count -= 1;
        } else {
            kept.push(l);
            prev_l = l;
            prev_orig = orig;
        }
    }
    for l in fam.labels.iter_mut() {
        *l = remap[*l as usize];
    }
    let (s, z) = sort_si(d, &fam.labels, &kept, canal, fix);
    fam.sorted = s;
    fam.z = z;
}

/// `_fill(component)` dilated once by the cross, as a mask over `bb` grown by one voxel.
fn filled_hull(d: Dims, labels: &[u32], l: u32, bb: [usize; 6]) -> (Dims, [usize; 3], Vec<bool>) {
    let lo = [
        bb[0].saturating_sub(1),
        bb[1].saturating_sub(1),
        bb[2].saturating_sub(1),
    ];
    let hi = [
        (bb[3] + 1).min(d.nx - 1),
        (bb[4] + 1).min(d.ny - 1),
        (bb[5] + 1).min(d.nz - 1),
    ];
    let ld = Dims {
        nx: hi[0] - lo[0] + 1,
        ny: hi[1] - lo[1] + 1,
        nz: hi[2] - lo[2] + 1,
    };
    let m: Vec<bool> = (0..ld.len())
        .map(|i| {
            let [x, y, z] = ld.xyz(i);
            labels[d.idx(x + lo[0], y + lo[1], z + lo[2])] == l
        })
        .collect();
    let mut f = vec![false; ld.len()];
    // x lines
    for z in 0..ld.nz {
        for y in 0..ld.ny {
            let xs: Vec<usize> = (0..ld.nx).filter(|&x| m[ld.idx(x, y, z)]).collect();
            if let (Some(&a), Some(&b)) = (xs.first(), xs.last()) {
                for x in a..=b {
                    f[ld.idx(x, y, z)] = true;
                }
            }
        }
    }
    // y lines
    for z in 0..ld.nz {
        for x in 0..ld.nx {
            let ys: Vec<usize> = (0..ld.ny).filter(|&y| m[ld.idx(x, y, z)]).collect();
            if let (Some(&a), Some(&b)) = (ys.first(), ys.last()) {
                for y in a..=b {
                    f[ld.idx(x, y, z)] = true;
                }
            }
        }
    }
    // z lines
    for y in 0..ld.ny {
        for x in 0..ld.nx {
            let zs: Vec<usize> = (0..ld.nz).filter(|&z| m[ld.idx(x, y, z)]).collect();
            if let (Some(&a), Some(&b)) = (zs.first(), zs.last()) {
                for z in a..=b {
                    f[ld.idx(x, y, z)] = true;
                }
            }
        }
    }
    dilate_cross(ld, &mut f, 1);
    (ld, lo, f)
}

fn bboxes(d: Dims, labels: &[u32], maxl: usize) -> Vec<Option<[usize; 6]>> {
    let mut bb: Vec<Option<[usize; 6]>> = vec![None; maxl + 1];
    for (i, &l) in labels.iter().enumerate() {
        if l == 0 || l as usize > maxl {
            continue;
        }
        let [x, y, z] = d.xyz(i);
        let e = &mut bb[l as usize];
        *e = Some(match *e {
            None => [x, y, z, x, y, z],
            Some(c) => [
                c[0].min(x),
                c[1].min(y),
                c[2].min(z),
                c[3].max(x),
                c[4].max(y),
                c[5].max(z),
            ],
        });
    }
    bb
}

fn merge_extra(d: Dims, seg: &[u8], extra: &[u8], fam: &mut Family, canal: &Canal, fix: bool) {
    let mut inset = [false; 256];
    for &l in extra {
        inset[l as usize] = true;
    }
    let maxl = fam.labels.iter().copied().max().unwrap_or(0) as usize;
    // Bounding boxes of the components as they are before any extra voxel is added: each
    // component's own voxels never change in this loop (extra voxels are not component voxels).
    let bbs = bboxes(d, &fam.labels, maxl);
    for k in (0..fam.count.min(fam.sorted.len())).rev() {
        let l = fam.sorted[k];
        let Some(Some(bb)) = bbs.get(l as usize).copied() else {
            continue;
        };
        let (ld, lo, h) = filled_hull(d, &fam.labels, l, bb);
        for (j, &inside) in h.iter().enumerate() {
            if inside {
                let [x, y, z] = ld.xyz(j);
                let i = d.idx(x + lo[0], y + lo[1], z + lo[2]);
                if inset[seg[i] as usize] {
                    fam.labels[i] = l;
                }
            }
        }
    }
    let list = fam.sorted.clone();
    let (s, z) = sort_si(d, &fam.labels, &list, canal, fix);
    fam.sorted = s;
    fam.z = z;
}

fn family(
    d: Dims,
    seg: &[u8],
    labels: &[u8],
    combine: bool,
    canal: &Canal,
    p: &IterativeLabelParams,
) -> Result<Option<Family>> {
    if labels.is_empty() {
        return Ok(None);
    }
    let groups: Vec<Vec<u8>> = if combine {
        vec![labels.to_vec()]
    } else {
        labels.iter().map(|&l| vec![l]).collect()
    };
    let radius = p.dilation_size.max(1);
    let (lab, count) = components(d, seg, &groups, labels, radius, p.min_component_size)?;
    let list: Vec<u32> = (1..=count as u32).collect();
    let (sorted, z) = sort_si(d, &lab, &list, canal, p.fix_anterior_refinement);
    Ok(Some(Family {
        labels: lab,
        count,
        sorted,
        z,
    }))
}

/// Apply a localizer (already resampled onto the segmentation grid) or the segmentation's own
/// landmarks: component id → output label (spec §3.2 step 8).
fn landmark_anchors(
    seg: &[u8],
    loc: Option<&[u8]>,
    discs: &Family,
    selected: &[u8],
    p: &IterativeLabelParams,
) -> Result<Vec<(u32, i64)>> {
    let mut anchors: Vec<(u32, i64)> = Vec::new();
    let set = |a: &mut Vec<(u32, i64)>, k: u32, v: i64| {
        if let Some(e) = a.iter_mut().find(|e| e.0 == k) {
            e.1 = v;
        } else {
            a.push((k, v));
        }
    };
    let mut in_sorted = vec![false; discs.labels.iter().copied().max().unwrap_or(0) as usize + 1];
    for &l in &discs.sorted {
        if let Some(e) = in_sorted.get_mut(l as usize) {
            *e = true;
        }
    }
    if let Some(loc) = loc {
        let mut locset = [false; 256];
        for &l in &p.loc_disc_labels {
            locset[l as usize] = true;
        }
        let o: Vec<usize> = (0..seg.len())
            .filter(|&i| locset[loc[i] as usize] && in_sorted[discs.labels[i] as usize])
            .collect();
        for &out in &p.disc_landmark_output_labels {
            if !(0..=255).contains(&out) {
                continue;
            }
            let hits = o.iter().filter(|&&i| loc[i] as i64 == out);
            if let Some(c) = mode(hits.map(|&i| discs.labels[i] as usize)) {
                set(&mut anchors, c as u32, out);
            }
        }
        if anchors.is_empty() {
            let present: std::collections::HashSet<u32> =
                o.iter().map(|&i| discs.labels[i]).collect();
            if let Some(&first) = discs.sorted.iter().find(|l| present.contains(l)) {
                let vals = o
                    .iter()
                    .filter(|&&i| discs.labels[i] == first)
                    .map(|&i| loc[i] as usize);
                if let Some(v) = mode(vals) {
                    set(&mut anchors, first, v as i64);
                }
            }
        }
    }
    if anchors.is_empty() {
        let mut lmset = [false; 256];
        for &l in &p.disc_landmark_labels {
            lmset[l as usize] = true;
        }
        for (pos, &l) in selected.iter().enumerate() {
            // `selected_landmarks.index(l)`: first occurrence.
            let first_pos = selected.iter().position(|&v| v == l).unwrap_or(pos);
            if !anchors.is_empty() && first_pos > 1 {
                break;
            }
            let Some(k) = p.disc_landmark_labels.iter().position(|&v| v == l) else {
                continue;
            };
            let Some(&out) = p.disc_landmark_output_labels.get(k) else {
                continue;
            };
            let n = seg.iter().filter(|&&v| v == l).count();
            if n == 0 || n <= p.min_component_size {
                continue;
            }
            let Some(comp) = mode(
                seg.iter()
                    .zip(&discs.labels)
                    .filter(|(v, _)| **v == l)
                    .map(|(_, &c)| c as usize),
            ) else {
                continue;
            };
            let maj = mode(
                seg.iter()
                    .zip(&discs.labels)
                    .filter(|(v, c)| lmset[**v as usize] && **c as usize == comp)
                    .map(|(&v, _)| v as usize),
            );
            if maj == Some(l as usize) {
                set(&mut anchors, comp as u32, out);
            }
        }
    }
    if anchors.is_empty()
        && p.default_superior_disc > 0
        && let Some(&first) = discs.sorted.first()
    {
        anchors.push((first, p.default_superior_disc));
    }
    if anchors.is_empty() {
        return Err(content(if loc.is_some() {
            format!(
                "At least one of the landmarks must be in the segmentation or localizer (landmarks: {}. Check {}), make sure the localizer is in the same space as the segmentation",
                pylist(selected),
                pylist(&p.loc_disc_labels)
            )
        } else {
            format!(
                "At least one of the landmarks must be in the segmentation or localizer (landmarks: {})",
                pylist(selected)
            )
        }));
    }
    Ok(anchors)
}

fn not_in_list(v: i64) -> Error {
    content(format!("{v} is not in list"))
}

/// Run iterative labeling on a label volume (values already rounded to u8) of size `d`.
/// `loc` is the localizer already resampled (nearest) onto the same grid.
pub fn iterative_label(
    d: Dims,
    seg: &[u8],
    loc: Option<&[u8]>,
    p: &IterativeLabelParams,
) -> Result<Vec<u8>> {
    iterative_label_at(d, seg, loc, p, [0; 3])
}

/// [`iterative_label`] on a box cut out of a bigger volume, `off` = the box's first voxel in
/// that volume: every computation that depends on absolute coordinates (centres of mass and
/// their distances to the canal) uses the big volume's coordinates, so the result equals the
/// box of [`iterative_label`] on the big volume whenever the box holds every voxel of a
/// listed label plus the dilation margin.
pub fn iterative_label_at(
    d: Dims,
    seg: &[u8],
    loc: Option<&[u8]>,
    p: &IterativeLabelParams,
    off: [usize; 3],
) -> Result<Vec<u8>> {
    if seg.len() != d.len() || loc.is_some_and(|l| l.len() != d.len()) {
        return Err(Error::mismatch(
            "iterative_label: buffer sizes do not match the grid",
        ));
    }
    let mut canal_cord = p.canal_labels.clone();
    canal_cord.extend_from_slice(&p.cord_labels);
    let canal = canal_centerline(d, seg, &canal_cord, off)?;
    if canal.points.is_empty() {
        return Err(content(
            "attempt to get argmin of an empty sequence (the canal has no centre-line voxel)"
                .to_string(),
        ));
    }
    let fix = p.fix_anterior_refinement;
    let discs = family(d, seg, &p.disc_labels, true, &canal, p)?;
    let mut verts = family(d, seg, &p.vertebrae_labels, false, &canal, p)?;
    if let Some(v) = verts.as_mut() {
        if p.vertebrae_labels.len() > 1 {
            merge_same_label(d, seg, v, &canal, fix);
        }
        if !p.vertebrae_extra_labels.is_empty() {
            merge_extra(d, seg, &p.vertebrae_extra_labels, v, &canal, fix);
        }
    }
    let Some(discs) = discs else {
        // `disc_sorted_labels[0]` on an empty list.
        return Err(content(
            "list index out of range (no disc labels given)".to_string(),
        ));
    };
    // Landmark sanity checks (on a copy of the caller's list).
    let mut selected = p.selected_disc_landmarks.clone();
    let (Some(&top), Some(&bottom)) = (discs.sorted.first(), discs.sorted.last()) else {
        return Err(Error::internal("iterative_label: no disc component"));
    };
    if !seg
        .iter()
        .zip(&discs.labels)
        .any(|(&v, &c)| v == 2 && c == top)
        && let Some(k) = selected.iter().position(|&v| v == 2)
    {
        selected.remove(k);
    }
    let remove5 = match p.l5s_rule {
        L5sRule::LastDisc => !seg
            .iter()
            .zip(&discs.labels)
            .any(|(&v, &c)| v == 5 && c == bottom),
        L5sRule::SacralTenPercent => {
            let total5 = seg.iter().filter(|&&v| v == 5).count();
            let first = (0..seg.len())
                .filter(|&i| seg[i] == 5 && discs.labels[i] != 0)
                .min_by_key(|&i| d.ckey_of(i));
            match first {
                None => false,
                Some(i) => {
                    let c = discs.labels[i];
                    let pos = discs.sorted.iter().position(|&l| l == c).unwrap_or(0);
                    let below = &discs.sorted[pos + 1..];
                    if below.is_empty() {
                        false
                    } else {
                        let mut sizes =
                            vec![
                                0usize;
                                discs.labels.iter().copied().max().unwrap_or(0) as usize + 1
                            ];
                        for &l in &discs.labels {
                            sizes[l as usize] += 1;
                        }
                        below.iter().any(|&l| sizes[l as usize] * 10 > total5)
                    }
                }
            }
        }
    };
    if remove5 && let Some(k) = selected.iter().position(|&v| v == 5) {
        selected.remove(k);
    }
    let anchors = landmark_anchors(seg, loc, &discs, &selected, p)?;

    let expand = |outs: &[i64], sizes: &[usize], step: i64| -> Vec<i64> {
        let mut v = Vec::new();
        for (&l, &s) in outs.iter().zip(sizes) {
            for i in 0..s {
                v.push(l + i as i64 * step);
            }
        }
        v
    };
    let all_p = expand(
        &p.disc_landmark_output_labels,
        &p.region_max_sizes,
        p.disc_output_step,
    );
    let all_d = expand(
        &p.disc_landmark_output_labels,
        &p.region_default_sizes,
        p.disc_output_step,
    );
    // Ordered map: sorted disc id → output.
    let mut disc_map: Vec<(u32, i64)> = Vec::new();
    let put = |m: &mut Vec<(u32, i64)>, k: u32, v: i64| {
        if let Some(e) = m.iter_mut().find(|e| e.0 == k) {
            e.1 = v;
        } else {
            m.push((k, v));
        }
    };
    for (i_sorted, &l_disc) in discs.sorted.iter().enumerate() {
        let Some(&(_, out)) = anchors.iter().find(|a| a.0 == l_disc) else {
            continue;
        };
        if disc_map.is_empty() {
            let j = all_d
                .iter()
                .position(|&v| v == out)
                .ok_or_else(|| not_in_list(out))?;
            let (s, t) = (i_sorted.saturating_sub(j), j.saturating_sub(i_sorted));
            for (&l, &o) in discs.sorted[s..].iter().zip(&all_d[t..]) {
                put(&mut disc_map, l, o);
            }
        }
        let j = all_p
            .iter()
            .position(|&v| v == out)
            .ok_or_else(|| not_in_list(out))?;
        for (&l, &o) in discs.sorted[i_sorted..].iter().zip(&all_p[j..]) {
            put(&mut disc_map, l, o);
        }
    }
    let maxd = discs.labels.iter().copied().max().unwrap_or(0) as usize;
    let mut disc_out = vec![0i64; maxd + 1];
    for &(l, o) in &disc_map {
        if let Some(e) = disc_out.get_mut(l as usize) {
            *e = o;
        }
    }
    let to_u8 = |v: i64| -> Result<u8> {
        u8::try_from(v)
            .map_err(|_| Error::invalid_argument(format!("output label {v} does not fit in uint8")))
    };
    let mut out = vec![0u8; d.len()];
    let disc_out8: Vec<u8> = disc_out.iter().map(|&v| to_u8(v)).collect::<Result<_>>()?;
    for (o, &c) in out.iter_mut().zip(&discs.labels) {
        if c != 0 {
            *o = disc_out8[c as usize];
        }
    }

    if let Some(verts) = verts.as_ref().filter(|v| v.count > 0) {
        let vl = &p.vertebrae_landmark_output_labels;
        let step = p.vertebrae_output_step;
        let c3 = *vl
            .first()
            .ok_or_else(|| Error::invalid_argument("vertebrae_landmark_output_labels is empty"))?;
        let mut pv = vec![c3 - 2 * step, c3 - step];
        pv.extend(expand(vl, &p.region_max_sizes, step));
        let mut dv = vec![c3 - 2 * step, c3 - step];
        dv.extend(expand(vl, &p.region_default_sizes, step));
        // (z, id, is_vertebra), sorted ascending then reversed.
        let mut items: Vec<(i64, u32, bool)> = verts
            .z
            .iter()
            .zip(&verts.sorted)
            .map(|(&z, &l)| (z, l, true))
            .chain(
                discs
                    .z
                    .iter()
                    .zip(&discs.sorted)
                    .map(|(&z, &l)| (z, l, false)),
            )
            .collect();
        items.sort();
        items.reverse();
        let n = items.len();
        for idx in 0..n.saturating_sub(1) {
            if !items[idx].2 && !items[idx + 1].2 {
                if idx + 3 < n && items[idx + 2].2 && items[idx + 3].2 {
                    items.swap(idx + 1, idx + 2);
                } else if idx > 1 && items[idx - 1].2 && items[idx - 2].2 {
                    items.swap(idx, idx - 1);
                }
            }
        }
        if n > 2 && !items[0].2 && items[1].2 && items[2].2 {
            items.swap(0, 1);
        }
        if n > 2 && !items[n - 1].2 && items[n - 2].2 && items[n - 3].2 {
            items.swap(n - 1, n - 2);
        }
        let disc2vert = |o: i64| -> Option<i64> {
            all_p
                .iter()
                .position(|&v| v == o)
                .and_then(|k| pv.get(k + 2).copied())
        };
        let mut vmap: Vec<(u32, i64)> = Vec::new();
        let mut l_vert = 0i64;
        for idx in 0..n {
            let (_, cur, is_v) = items[idx];
            if !is_v {
                let Some(&(_, o)) = disc_map.iter().find(|e| e.0 == cur) else {
                    continue;
                };
                l_vert = disc2vert(o).ok_or_else(|| {
                    content(format!(
                        "KeyError: {o} (disc label without a vertebra below)"
                    ))
                })?;
                if idx > 0 && vmap.is_empty() {
                    let i = dv
                        .iter()
                        .position(|&v| v == l_vert)
                        .ok_or_else(|| not_in_list(l_vert))?;
                    let prev: Vec<u32> = items[..idx]
                        .iter()
                        .rev()
                        .filter(|e| e.2)
                        .map(|e| e.1)
                        .collect();
                    // Python `dv[i - 1::-1]`; i - 1 == -1 would start at the end.
                    let above: Vec<i64> = if i == 0 {
                        dv.iter().rev().copied().collect()
                    } else {
                        dv[..i].iter().rev().copied().collect()
                    };
                    for (&l, &o) in prev.iter().zip(&above) {
                        put(&mut vmap, l, o);
                    }
                }
            } else if l_vert > 0 {
                let last_pv = pv.last().copied().unwrap_or(0);
                if idx == n - 1 && idx > 0 && items[idx - 1].2 && l_vert != last_pv {
                    let k = pv
                        .iter()
                        .position(|&v| v == l_vert)
                        .ok_or_else(|| not_in_list(l_vert))?;
                    let next = *pv.get(k + 1).ok_or_else(|| {
                        content("list index out of range (vertebra label past the end)".into())
                    })?;
                    put(&mut vmap, cur, next);
                } else {
                    put(&mut vmap, cur, l_vert);
                }
            }
        }
        let maxv = verts.labels.iter().copied().max().unwrap_or(0) as usize;
        let mut vout = vec![None; maxv + 1];
        for &(l, o) in &vmap {
            if let Some(e) = vout.get_mut(l as usize) {
                *e = Some(to_u8(o)?);
            }
        }
        for (o, &c) in out.iter_mut().zip(&verts.labels) {
            if c != 0
                && let Some(v) = vout[c as usize]
            {
                *o = v;
            }
        }
    }
    // Plain mappings on the raw labels.
    let mut lut: [Option<u8>; 256] = [None; 256];
    if p.canal_output_label > 0 {
        for &l in &p.canal_labels {
            lut[l as usize] = Some(p.canal_output_label);
        }
    }
    if p.cord_output_label > 0 {
        for &l in &p.cord_labels {
            lut[l as usize] = Some(p.cord_output_label);
        }
    }
    if p.sacrum_output_label > 0 {
        for &l in &p.sacrum_labels {
            lut[l as usize] = Some(p.sacrum_output_label);
        }
    }
    for &(a, b) in &p.map_input {
        lut[a as usize] = Some(b);
    }
    for (o, &v) in out.iter_mut().zip(seg) {
        if let Some(n) = lut[v as usize] {
            *o = n;
        }
    }
    Ok(out)
}
