//! Voxel volumes in the layout medseg uses (i fastest) with the orderings scipy/numpy use.
//!
//! TotalSpineSeg works on numpy arrays indexed `[x, y, z]` in C order, so "raster order"
//! (scipy `label` numbering, `np.nonzero`, `argmax` ties) is lexicographic in (x, y, z) with z
//! fastest. medseg stores x fastest. Rather than transposing every volume, the functions here
//! keep medseg's layout and compute the C-order key ([`Dims::ckey`]) wherever an order decides a
//! result.

use crate::error::{Error, Result};
use rayon::prelude::*;

/// Sizes of a 3-D volume along x (i), y (j), z (k).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dims {
    pub nx: usize,
    pub ny: usize,
    pub nz: usize,
}

impl Dims {
    /// From a geometry size.
    pub fn new(size: [usize; 3]) -> Self {
        Dims {
            nx: size[0],
            ny: size[1],
            nz: size[2],
        }
    }
    /// Number of voxels.
    pub fn len(&self) -> usize {
        self.nx * self.ny * self.nz
    }
    /// True when there are no voxels.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Memory offset of (x, y, z) (x fastest).
    #[inline]
    pub fn idx(&self, x: usize, y: usize, z: usize) -> usize {
        x + self.nx * (y + self.ny * z)
    }
    /// (x, y, z) of a memory offset.
    #[inline]
    pub fn xyz(&self, i: usize) -> [usize; 3] {
        let x = i % self.nx;
        let r = i / self.nx;
        [x, r % self.ny, r / self.ny]
    }
    /// numpy C-order rank of (x, y, z) for an array indexed `[x, y, z]` (z fastest).
    #[inline]
    pub fn ckey(&self, x: usize, y: usize, z: usize) -> usize {
        (x * self.ny + y) * self.nz + z
    }
    /// C-order rank of a memory offset.
    #[inline]
    pub fn ckey_of(&self, i: usize) -> usize {
        let [x, y, z] = self.xyz(i);
        self.ckey(x, y, z)
    }
    /// As a geometry size.
    pub fn size(&self) -> [usize; 3] {
        [self.nx, self.ny, self.nz]
    }
}

/// numpy's `x.round().astype(np.uint8)` for one value: round half to even, then wrap modulo
/// 256 as numpy does on this platform for in-range integers. Values that are not finite or
/// outside [-0.5, 255.5) are reported as an error instead of wrapping silently.
pub fn round_label(v: f64, what: &str) -> Result<u8> {
    let r = v.round_ties_even();
    if !r.is_finite() || !(0.0..=255.0).contains(&r) {
        return Err(Error::new(
            crate::error::ErrorKind::Content,
            format!("{what}: value {v} is not a label in 0..=255"),
        ));
    }
    Ok(r as u8)
}

/// Dilate `mask` in place by the 6-neighbour cross iterated `radius` times (an L1 ball of that
/// radius), outside the volume counted as background — scipy
/// `binary_dilation(mask, iterate_structure(generate_binary_structure(3, 1), radius))`.
/// Work is restricted to the mask's bounding box grown by `radius`.
pub fn dilate_cross(d: Dims, mask: &mut [bool], radius: usize) {
    let Some(bb) = bbox(d, mask) else { return };
    let lo = [
        bb[0].saturating_sub(radius),
        bb[1].saturating_sub(radius),
        bb[2].saturating_sub(radius),
    ];
    let hi = [
        (bb[3] + radius).min(d.nx - 1),
        (bb[4] + radius).min(d.ny - 1),
        (bb[5] + radius).min(d.nz - 1),
    ];
    if radius < 255 {
        dilate_l1_box(d, mask, radius, lo, hi);
        return;
    }
    let mut tmp = mask.to_vec();
    for _ in 0..radius {
        tmp.copy_from_slice(mask);
        let src = &tmp;
        let plane = d.nx * d.ny;
        mask.par_chunks_mut(plane)
            .enumerate()
            .filter(|(z, _)| *z >= lo[2] && *z <= hi[2])
            .for_each(|(z, out)| {
                for y in lo[1]..=hi[1] {
                    for x in lo[0]..=hi[0] {
                        let o = x + d.nx * y;
                        if out[o] {
                            continue;
                        }
                        let i = d.idx(x, y, z);
                        let hit = (x > 0 && src[i - 1])
                            || (x + 1 < d.nx && src[i + 1])
                            || (y > 0 && src[i - d.nx])
                            || (y + 1 < d.ny && src[i + d.nx])
                            || (z > 0 && src[i - plane])
                            || (z + 1 < d.nz && src[i + plane]);
                        if hit {
                            out[o] = true;
                        }
                    }
                }
            });
    }
}

/// [`dilate_cross`] as a city-block distance transform (separable: one forward and one
/// backward sweep per axis, distances saturated at `radius + 1`) over the box `lo..=hi`, which
/// must hold the mask grown by `radius` (clipped to the volume, outside = background).
fn dilate_l1_box(d: Dims, mask: &mut [bool], radius: usize, lo: [usize; 3], hi: [usize; 3]) {
    let cap = (radius + 1) as u8;
    let bd = Dims {
        nx: hi[0] - lo[0] + 1,
        ny: hi[1] - lo[1] + 1,
        nz: hi[2] - lo[2] + 1,
    };
    let bplane = bd.nx * bd.ny;
    let mut g = vec![cap; bd.len()];
    // x: per row
    g.par_chunks_mut(bplane).enumerate().for_each(|(bz, p)| {
        for by in 0..bd.ny {
            let row = &mut p[by * bd.nx..(by + 1) * bd.nx];
            let src = &mask[d.idx(lo[0], by + lo[1], bz + lo[2])..][..bd.nx];
            let mut cur = cap;
            for (o, &m) in row.iter_mut().zip(src) {
                cur = if m { 0 } else { cur.saturating_add(1).min(cap) };
                *o = cur;
            }
            let mut cur = cap;
            for o in row.iter_mut().rev() {
                cur = cur.saturating_add(1).min(cap).min(*o);
                *o = cur;
            }
        }
    });
    // y: rows of a plane against the previous row
    g.par_chunks_mut(bplane).for_each(|p| {
        for by in 1..bd.ny {
            let (a, b) = p.split_at_mut(by * bd.nx);
            let prev = &a[(by - 1) * bd.nx..];
            for (o, &q) in b[..bd.nx].iter_mut().zip(prev) {
                *o = (*o).min(q.saturating_add(1));
            }
        }
        for by in (0..bd.ny.saturating_sub(1)).rev() {
            let (a, b) = p.split_at_mut((by + 1) * bd.nx);
            let next = &b[..bd.nx];
            for (o, &q) in a[by * bd.nx..].iter_mut().zip(next) {
                *o = (*o).min(q.saturating_add(1));
            }
        }
    });
    // z: planes against the previous plane, in row strips
    let nz = bd.nz;
    let rows: Vec<Vec<u8>> = (0..bd.ny)
        .into_par_iter()
        .map(|by| {
            // gather the strip (x by z), sweep, return it
            let mut st = vec![0u8; bd.nx * nz];
            for bz in 0..nz {
                let s0 = bz * bplane + by * bd.nx;
                st[bz * bd.nx..(bz + 1) * bd.nx].copy_from_slice(&g[s0..s0 + bd.nx]);
            }
            for bz in 1..nz {
                let (a, b) = st.split_at_mut(bz * bd.nx);
                for (o, &q) in b[..bd.nx].iter_mut().zip(&a[(bz - 1) * bd.nx..]) {
                    *o = (*o).min(q.saturating_add(1));
                }
            }
            for bz in (0..nz.saturating_sub(1)).rev() {
                let (a, b) = st.split_at_mut((bz + 1) * bd.nx);
                for (o, &q) in a[bz * bd.nx..].iter_mut().zip(&b[..bd.nx]) {
                    *o = (*o).min(q.saturating_add(1));
                }
            }
            st
        })
        .collect();
    let r = radius as u8;
    let plane = d.nx * d.ny;
    mask.par_chunks_mut(plane)
        .enumerate()
        .filter(|(z, _)| *z >= lo[2] && *z <= hi[2])
        .for_each(|(z, out)| {
            let bz = z - lo[2];
            for (by, st) in rows.iter().enumerate() {
                let o0 = (by + lo[1]) * d.nx + lo[0];
                for (o, &v) in out[o0..o0 + bd.nx]
                    .iter_mut()
                    .zip(&st[bz * bd.nx..(bz + 1) * bd.nx])
                {
                    *o = v <= r;
                }
            }
        });
}

/// Bounding box `[x0, y0, z0, x1, y1, z1]` (inclusive) of the true voxels.
pub fn bbox(d: Dims, mask: &[bool]) -> Option<[usize; 6]> {
    let plane = d.nx * d.ny;
    let per_z: Vec<Option<[usize; 4]>> = mask
        .par_chunks(plane.max(1))
        .map(|p| {
            let mut b: Option<[usize; 4]> = None;
            for (o, &m) in p.iter().enumerate() {
                if m {
                    let (x, y) = (o % d.nx, o / d.nx);
                    b = Some(match b {
                        None => [x, y, x, y],
                        Some(c) => [c[0].min(x), c[1].min(y), c[2].max(x), c[3].max(y)],
                    });
                }
            }
            b
        })
        .collect();
    let mut out: Option<[usize; 6]> = None;
    for (z, b) in per_z.iter().enumerate() {
        if let Some(b) = b {
            out = Some(match out {
                None => [b[0], b[1], z, b[2], b[3], z],
                Some(c) => [
                    c[0].min(b[0]),
                    c[1].min(b[1]),
                    c[2],
                    c[3].max(b[2]),
                    c[4].max(b[3]),
                    z,
                ],
            });
        }
    }
    out
}

/// Connected components.
#[derive(Debug, Clone)]
pub struct Components {
    /// Component id per voxel (0 = background), ids 1..=count in scipy's numbering.
    pub labels: Vec<u32>,
    /// Number of components.
    pub count: u32,
}

fn find(parent: &mut [u32], mut a: u32) -> u32 {
    while parent[a as usize] != a {
        let p = parent[a as usize];
        parent[a as usize] = parent[p as usize];
        a = p;
    }
    a
}

fn union(parent: &mut [u32], a: u32, b: u32) -> u32 {
    let ra = find(parent, a);
    let rb = find(parent, b);
    if ra == rb {
        return ra;
    }
    let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
    parent[hi as usize] = lo;
    lo
}

/// Label the true voxels with 26-connectivity, numbering components like
/// `scipy.ndimage.label(mask, np.ones((3, 3, 3)))` on an `[x, y, z]` array: by the C-order
/// rank of each component's first voxel.
///
/// The components come from the crate's run-based parallel labeller
/// ([`crate::postprocess::components`], numbered in medseg's scan order) and are renumbered
/// by their first voxel in C order (lexicographic (x, y, z)).
pub fn label26(d: Dims, mask: &[bool]) -> Components {
    use crate::postprocess::components::{CcOptions, Components as Runs, Connectivity};
    let Some(bb) = bbox(d, mask) else {
        return Components {
            labels: vec![0u32; d.len()],
            count: 0,
        };
    };
    // Label the bounding box only.
    let bd = Dims {
        nx: bb[3] - bb[0] + 1,
        ny: bb[4] - bb[1] + 1,
        nz: bb[5] - bb[2] + 1,
    };
    let mut sub = vec![0u8; bd.len()];
    sub.par_chunks_mut(bd.nx * bd.ny)
        .enumerate()
        .for_each(|(bz, p)| {
            for by in 0..bd.ny {
                let i = d.idx(bb[0], by + bb[1], bz + bb[2]);
                for (o, &m) in p[by * bd.nx..(by + 1) * bd.nx]
                    .iter_mut()
                    .zip(&mask[i..i + bd.nx])
                {
                    *o = u8::from(m);
                }
            }
        });
    let labelled = crate::image::Geometry::with_size(bd.size()).and_then(|g| {
        let img = crate::image::Image::new(g, sub)?;
        let cc = Runs::label(
            &img,
            CcOptions {
                connectivity: Connectivity::C26,
                binary: true,
            },
        )?;
        Ok((cc.count(), cc.to_image(&g)?.into_data()))
    });
    let Ok((count, sl)) = labelled else {
        return label26_seq(d, mask);
    };
    // First voxel of each component in C order: smallest x, then y, then z. Per x column
    // plane (fixed x, varying y, z) the scan by y then z meets them in order.
    let mut first = vec![usize::MAX; count + 1];
    for bz in 0..bd.nz {
        for by in 0..bd.ny {
            let row = &sl[bd.idx(0, by, bz)..][..bd.nx];
            for (bx, &l) in row.iter().enumerate() {
                if l != 0 {
                    let k = bd.ckey(bx, by, bz);
                    let f = &mut first[l as usize];
                    if k < *f {
                        *f = k;
                    }
                }
            }
        }
    }
    let mut order: Vec<u32> = (1..=count as u32).collect();
    order.sort_by_key(|&l| first[l as usize]);
    let mut map = vec![0u32; count + 1];
    for (k, &l) in order.iter().enumerate() {
        map[l as usize] = k as u32 + 1;
    }
    let mut labels = vec![0u32; d.len()];
    let plane = d.nx * d.ny;
    labels
        .par_chunks_mut(plane)
        .enumerate()
        .filter(|(z, _)| *z >= bb[2] && *z <= bb[5])
        .for_each(|(z, p)| {
            for by in 0..bd.ny {
                let s0 = bd.idx(0, by, z - bb[2]);
                let o0 = (by + bb[1]) * d.nx + bb[0];
                for (o, &l) in p[o0..o0 + bd.nx].iter_mut().zip(&sl[s0..s0 + bd.nx]) {
                    *o = map[l as usize];
                }
            }
        });
    Components {
        labels,
        count: count as u32,
    }
}

/// [`label26`] by a sequential voxel-by-voxel union-find (the fallback).
fn label26_seq(d: Dims, mask: &[bool]) -> Components {
    let n = d.len();
    let mut labels = vec![0u32; n];
    let mut parent: Vec<u32> = vec![0];
    let plane = d.nx * d.ny;
    let Some(bb) = bbox(d, mask) else {
        return Components { labels, count: 0 };
    };
    for z in bb[2]..=bb[5] {
        for y in bb[1]..=bb[4] {
            for x in bb[0]..=bb[3] {
                let i = d.idx(x, y, z);
                if !mask[i] {
                    continue;
                }
                let mut cur = 0u32;
                // 13 already-visited neighbours: (dz < 0) or (dz == 0, dy < 0) or (dz = dy = 0, dx < 0).
                for dz in -1i64..=0 {
                    if dz < 0 && z == 0 {
                        continue;
                    }
                    for dy in -1i64..=1 {
                        if dz == 0 && dy > 0 {
                            break;
                        }
                        let yy = y as i64 + dy;
                        if yy < 0 || yy >= d.ny as i64 {
                            continue;
                        }
                        for dx in -1i64..=1 {
                            if dz == 0 && dy == 0 && dx >= 0 {
                                break;
                            }
                            let xx = x as i64 + dx;
                            if xx < 0 || xx >= d.nx as i64 {
                                continue;
                            }
                            let j = (i as i64 + dx + dy * d.nx as i64 + dz * plane as i64) as usize;
                            let l = labels[j];
                            if l != 0 {
                                cur = if cur == 0 {
                                    l
                                } else {
                                    union(&mut parent, cur, l)
                                };
                            }
                        }
                    }
                }
                if cur == 0 {
                    cur = parent.len() as u32;
                    parent.push(cur);
                }
                labels[i] = cur;
            }
        }
    }
    // Resolve roots and the first voxel (C order) of every root.
    let np = parent.len();
    let mut root = vec![0u32; np];
    for a in 1..np {
        root[a] = find(&mut parent, a as u32);
    }
    let mut first = vec![usize::MAX; np];
    for z in bb[2]..=bb[5] {
        for y in bb[1]..=bb[4] {
            for x in bb[0]..=bb[3] {
                let i = d.idx(x, y, z);
                let l = labels[i];
                if l != 0 {
                    let r = root[l as usize] as usize;
                    let k = d.ckey(x, y, z);
                    if k < first[r] {
                        first[r] = k;
                    }
                }
            }
        }
    }
    let mut roots: Vec<usize> = (1..np).filter(|&a| root[a] as usize == a).collect();
    roots.sort_by_key(|&r| first[r]);
    let mut final_id = vec![0u32; np];
    for (k, &r) in roots.iter().enumerate() {
        final_id[r] = k as u32 + 1;
    }
    let map: Vec<u32> = (0..np)
        .map(|a| {
            if a == 0 {
                0
            } else {
                final_id[root[a] as usize]
            }
        })
        .collect();
    labels.par_iter_mut().for_each(|l| *l = map[*l as usize]);
    Components {
        labels,
        count: roots.len() as u32,
    }
}

/// Keep the largest 26-component of `mask` (ties → the lowest scipy id), like TotalSpineSeg's
/// `largest_component(mask)` helper. An empty mask is returned unchanged.
pub fn largest26(d: Dims, mask: &[bool]) -> Vec<bool> {
    let c = label26(d, mask);
    if c.count == 0 {
        return mask.to_vec();
    }
    let best = argmax_count(&c.labels, c.count, |_| true);
    c.labels.par_iter().map(|&l| l == best).collect()
}

/// The id in 1..=count with the most voxels `i` (where `keep(i)`), ties → smallest id; 1 when
/// all counts are zero (numpy `argmax` of an all-zero `bincount[1:]`).
pub fn argmax_count(labels: &[u32], count: u32, keep: impl Fn(usize) -> bool) -> u32 {
    let mut sizes = vec![0usize; count as usize + 1];
    for (i, &l) in labels.iter().enumerate() {
        if l != 0 && keep(i) {
            sizes[l as usize] += 1;
        }
    }
    let mut best = 1u32;
    let mut bs = 0usize;
    for (l, &s) in sizes.iter().enumerate().skip(1) {
        if s > bs {
            bs = s;
            best = l as u32;
        }
    }
    best
}

/// `np.argmax(np.bincount(values))`: the most frequent value, ties → smallest; `None` when
/// `values` is empty (where numpy raises; callers turn `None` into an error).
pub fn mode<I: IntoIterator<Item = usize>>(values: I) -> Option<usize> {
    let mut counts: Vec<usize> = Vec::new();
    let mut any = false;
    for v in values {
        any = true;
        if v >= counts.len() {
            counts.resize(v + 1, 0);
        }
        counts[v] += 1;
    }
    if !any {
        return None;
    }
    let mut best = 0;
    let mut bc = 0;
    for (v, &c) in counts.iter().enumerate() {
        if c > bc {
            bc = c;
            best = v;
        }
    }
    Some(best)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_numbering_follows_c_order() {
        // 3 x 1 x 3 volume; component A at (x=2, z=0), component B at (x=0, z=2).
        let d = Dims {
            nx: 3,
            ny: 1,
            nz: 3,
        };
        let mut m = vec![false; 9];
        m[d.idx(2, 0, 0)] = true;
        m[d.idx(0, 0, 2)] = true;
        let c = label26(d, &m);
        assert_eq!(c.count, 2);
        // C order is x slowest: (0,0,2) comes before (2,0,0).
        assert_eq!(c.labels[d.idx(0, 0, 2)], 1);
        assert_eq!(c.labels[d.idx(2, 0, 0)], 2);
    }

    #[test]
    fn diagonal_is_connected_and_cross_dilation_is_l1_ball() {
        let d = Dims {
            nx: 7,
            ny: 7,
            nz: 7,
        };
        let mut m = vec![false; d.len()];
        m[d.idx(1, 1, 1)] = true;
        m[d.idx(2, 2, 2)] = true;
        assert_eq!(label26(d, &m).count, 1);
        let mut m = vec![false; d.len()];
        m[d.idx(3, 3, 3)] = true;
        dilate_cross(d, &mut m, 2);
        let n = m.iter().filter(|&&v| v).count();
        assert_eq!(n, 25); // |L1 ball radius 2| in 3-D
        assert!(m[d.idx(3, 3, 5)] && m[d.idx(2, 4, 3)] && !m[d.idx(2, 4, 4)]);
    }

    fn random_mask(d: Dims, seed: u64, density: u64) -> Vec<bool> {
        let mut x = seed;
        (0..d.len())
            .map(|_| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (x >> 33) % 100 < density
            })
            .collect()
    }

    /// The run-based labelling renumbered to C order equals the voxel-by-voxel union-find.
    #[test]
    fn label26_matches_the_sequential_labeller() {
        let d = Dims {
            nx: 23,
            ny: 17,
            nz: 19,
        };
        for (seed, density) in [(1, 5), (2, 20), (3, 35), (4, 60)] {
            let m = random_mask(d, seed, density);
            let a = label26(d, &m);
            let b = label26_seq(d, &m);
            assert_eq!(a.count, b.count, "seed {seed}");
            // The dense mask percolates into one component (also a case worth checking).
            assert!(
                a.count > 1 || density >= 50,
                "seed {seed}: a useful test needs several components"
            );
            assert_eq!(a.labels, b.labels, "seed {seed}");
        }
    }

    /// The distance-transform dilation equals `radius` cross dilations (the scipy definition),
    /// also where the ball is clipped by the volume border.
    #[test]
    fn l1_dilation_matches_iterated_cross() {
        let d = Dims {
            nx: 21,
            ny: 15,
            nz: 18,
        };
        for (seed, radius) in [(5, 1), (6, 2), (7, 5)] {
            let m = random_mask(d, seed, 1);
            let mut fast = m.clone();
            dilate_cross(d, &mut fast, radius);
            // reference: one cross step at a time over the whole volume
            let mut slow = m.clone();
            for _ in 0..radius {
                let src = slow.clone();
                for z in 0..d.nz {
                    for y in 0..d.ny {
                        for x in 0..d.nx {
                            let i = d.idx(x, y, z);
                            slow[i] = src[i]
                                || (x > 0 && src[i - 1])
                                || (x + 1 < d.nx && src[i + 1])
                                || (y > 0 && src[i - d.nx])
                                || (y + 1 < d.ny && src[i + d.nx])
                                || (z > 0 && src[i - d.nx * d.ny])
                                || (z + 1 < d.nz && src[i + d.nx * d.ny]);
                        }
                    }
                }
            }
            assert_ne!(fast, m, "seed {seed}: the dilation must change something");
            assert_eq!(fast, slow, "seed {seed}, radius {radius}");
        }
    }

    #[test]
    fn mode_ties_pick_smallest() {
        assert_eq!(mode([3usize, 1, 3, 1]), Some(1));
        assert_eq!(mode(Vec::<usize>::new()), None);
    }
}
