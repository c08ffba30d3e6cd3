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
pub fn label26(d: Dims, mask: &[bool]) -> Components {
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

    #[test]
    fn mode_ties_pick_smallest() {
        assert_eq!(mode([3usize, 1, 3, 1]), Some(1));
        assert_eq!(mode(Vec::<usize>::new()), None);
    }
}
