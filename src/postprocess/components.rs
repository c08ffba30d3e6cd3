//! Connected components on binary and multi-label images.
//!
//! The labelling is run-based: every row (fixed j, k) is cut into runs of voxels of one class, runs
//! of neighbouring rows that touch are joined with a union-find (union by smallest index, path
//! halving), and each component gets the number of its first voxel in scan order (i fastest, then
//! j, then k). That numbering is the one cc3d and `scipy.ndimage.label` give after renumbering by
//! first appearance. The volume is cut into k-slabs that are labelled in parallel and stitched
//! at the slab faces.
//!
//! Connectivity is 6, 18 or 26 in 3-D. When `size[2] == 1` the image is treated as 2-D: 6 is the
//! 4-neighbourhood and 18/26 the 8-neighbourhood.
//!
//! Multi-label images: voxels connect only to voxels of the same value (components never merge
//! across labels, as in cc3d); with [`CcOptions::binary`] every non-zero voxel is foreground.
//!
//! ```
//! use medseg::image::{Geometry, Image};
//! use medseg::postprocess::components::{connected_components, Connectivity};
//! let g = Geometry::with_size([4, 1, 1]).unwrap();
//! let img = Image::new(g, vec![1u8, 0, 1, 1]).unwrap();
//! let (labels, stats) = connected_components(&img, Connectivity::C26).unwrap();
//! assert_eq!(labels.data(), &[1, 0, 2, 2]);
//! assert_eq!(stats[1].voxels, 2);
//! ```

use crate::error::{Error, Result};
use crate::image::{Geometry, Image, Pixel};
use rayon::prelude::*;

/// Neighbourhood used to connect voxels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Connectivity {
    /// Faces only (4-neighbourhood in 2-D).
    C6,
    /// Faces and edges (8-neighbourhood in 2-D).
    C18,
    /// Faces, edges and corners (8-neighbourhood in 2-D).
    C26,
}

impl Connectivity {
    /// From the usual number: 6, 18, 26 (3-D) or 4, 8 (2-D names of 6 and 26).
    pub fn from_number(n: u32) -> Result<Self> {
        match n {
            4 | 6 => Ok(Connectivity::C6),
            18 => Ok(Connectivity::C18),
            8 | 26 => Ok(Connectivity::C26),
            other => Err(Error::invalid_argument(format!(
                "connectivity {other} is not one of 6, 18, 26 (or 4, 8 in 2-D)"
            ))),
        }
    }

    /// 6, 18 or 26.
    pub fn number(self) -> u32 {
        match self {
            Connectivity::C6 => 6,
            Connectivity::C18 => 18,
            Connectivity::C26 => 26,
        }
    }
}

/// How voxels are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CcOptions {
    /// Neighbourhood.
    pub connectivity: Connectivity,
    /// Treat every non-zero voxel as one class (otherwise equal values connect).
    pub binary: bool,
}

impl Default for CcOptions {
    fn default() -> Self {
        CcOptions {
            connectivity: Connectivity::C26,
            binary: false,
        }
    }
}

/// Per-component statistics.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ComponentStats {
    /// Component number (1-based, scan order).
    pub label: u32,
    /// Value of the input voxels (the class; for binary labelling the value of its first voxel).
    pub value: f64,
    /// Number of voxels.
    pub voxels: u64,
    /// Volume in mm³ (voxels × spacing product).
    pub volume_mm3: f64,
    /// Smallest (i, j, k) index of the component.
    pub bbox_min: [usize; 3],
    /// Largest (i, j, k) index of the component (inclusive).
    pub bbox_max: [usize; 3],
    /// Mean voxel index (i, j, k).
    pub centroid_index: [f64; 3],
    /// Centroid as a physical point (LPS, mm).
    pub centroid_lps: [f64; 3],
}

/// Which voxels form the foreground of a labelling pass and which neighbours belong together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Non-zero voxels of equal value.
    Multi,
    /// Every non-zero voxel.
    Binary,
    /// Zero voxels (used by hole filling).
    Background,
}

/// A labelled run decomposition of a volume: what every operation of this module works on, so
/// that sizes, largest components and small-component removal never materialise a label image.
#[derive(Debug, Clone)]
pub struct Components {
    size: [usize; 3],
    /// Runs of row r are `runs[row_ptr[r]..row_ptr[r + 1]]`; row r = j + nj·k.
    row_ptr: Vec<usize>,
    /// (start, end) with end exclusive, along i.
    runs: Vec<(u32, u32)>,
    /// Component number (1-based) of each run.
    comp: Vec<u32>,
    count: usize,
}

#[inline]
fn find(p: &mut [u32], mut x: u32) -> u32 {
    loop {
        let px = p[x as usize];
        if px == x {
            return x;
        }
        let ppx = p[px as usize];
        p[x as usize] = ppx;
        x = ppx;
    }
}

#[inline]
fn union(p: &mut [u32], a: u32, b: u32) {
    let ra = find(p, a);
    let rb = find(p, b);
    if ra < rb {
        p[rb as usize] = ra;
    } else if rb < ra {
        p[ra as usize] = rb;
    }
}

const CHUNK: usize = 32;

#[inline]
fn is_fg<T: Pixel>(mode: Mode, v: T) -> bool {
    let z = T::default();
    match mode {
        Mode::Multi | Mode::Binary => v != z,
        Mode::Background => v == z,
    }
}

#[inline]
fn same<T: Pixel>(mode: Mode, a: T, b: T) -> bool {
    match mode {
        Mode::Multi => a == b,
        _ => is_fg(mode, b),
    }
}

/// Append the runs of one row.
fn row_runs<T: Pixel>(mode: Mode, row: &[T], out: &mut Vec<(u32, u32)>) {
    let n = row.len();
    let mut i = 0;
    while i < n {
        // skip background, CHUNK voxels at a time where possible
        while i + CHUNK <= n
            && !row[i..i + CHUNK]
                .iter()
                .fold(false, |a, &x| a | is_fg(mode, x))
        {
            i += CHUNK;
        }
        while i < n && !is_fg(mode, row[i]) {
            i += 1;
        }
        if i >= n {
            break;
        }
        let v = row[i];
        let s = i;
        i += 1;
        while i + CHUNK <= n
            && row[i..i + CHUNK]
                .iter()
                .fold(true, |a, &x| a & same(mode, v, x))
        {
            i += CHUNK;
        }
        while i < n && same(mode, v, row[i]) {
            i += 1;
        }
        out.push((s as u32, i as u32));
    }
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

#[inline]
fn word(row: &[u8], i: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&row[i..i + 8]);
    u64::from_le_bytes(b)
}

/// Offset of the first zero byte of `w` (the lowest flagged byte of the classic test is exact).
#[inline]
fn first_zero(w: u64) -> Option<usize> {
    let m = w.wrapping_sub(ONES) & !w & HIGHS;
    (m != 0).then(|| m.trailing_zeros() as usize / 8)
}

#[inline]
fn first_nonzero(w: u64) -> Option<usize> {
    (w != 0).then(|| w.trailing_zeros() as usize / 8)
}

/// Advance from `i` to the first byte where `stop_word` (8 bytes at a time) or `stop` fires.
#[inline]
fn scan_u8(
    row: &[u8],
    mut i: usize,
    stop_word: impl Fn(u64) -> Option<usize>,
    stop: impl Fn(u8) -> bool,
) -> usize {
    let n = row.len();
    while i + 8 <= n {
        if let Some(o) = stop_word(word(row, i)) {
            return i + o;
        }
        i += 8;
    }
    while i < n && !stop(row[i]) {
        i += 1;
    }
    i
}

/// [`row_runs`] for bytes, 8 voxels per step.
pub(crate) fn row_runs_u8(mode: Mode, row: &[u8], out: &mut Vec<(u32, u32)>) {
    let n = row.len();
    let mut i = 0;
    while i < n {
        i = match mode {
            Mode::Multi | Mode::Binary => scan_u8(row, i, first_nonzero, |b| b != 0),
            Mode::Background => scan_u8(row, i, first_zero, |b| b == 0),
        };
        if i >= n {
            break;
        }
        let v = row[i];
        let s = i;
        i = match mode {
            Mode::Multi => {
                let pat = ONES * v as u64;
                scan_u8(row, i + 1, |w| first_nonzero(w ^ pat), |b| b != v)
            }
            Mode::Binary => scan_u8(row, i + 1, first_zero, |b| b == 0),
            Mode::Background => scan_u8(row, i + 1, first_nonzero, |b| b != 0),
        };
        out.push((s as u32, i as u32));
    }
}

/// Join touching runs of two rows. `a` and `b` are index ranges into `runs`; `e` is 1 when
/// diagonal contact counts, 0 when runs must share an i.
#[allow(clippy::too_many_arguments)]
fn join_rows<T: Pixel>(
    mode: Mode,
    runs: &[(u32, u32)],
    parent: &mut [u32],
    base: u32,
    a: (usize, usize),
    b: (usize, usize),
    e: u32,
    row_a: &[T],
    row_b: &[T],
) {
    let mut bi = b.0;
    for ai in a.0..a.1 {
        let (s, t) = runs[ai];
        while bi < b.1 && runs[bi].1 + e <= s {
            bi += 1;
        }
        let mut bj = bi;
        while bj < b.1 && runs[bj].0 < t + e {
            let ok = mode != Mode::Multi || row_a[s as usize] == row_b[runs[bj].0 as usize];
            if ok {
                union(parent, ai as u32 - base, bj as u32 - base);
            }
            bj += 1;
        }
    }
}

/// The rows of the previous slice (k-1) that touch row (j, k), with their expansion.
fn back_rows(conn: Connectivity, j: usize, nj: usize) -> [(Option<usize>, u32); 3] {
    let up = if j + 1 < nj { Some(j + 1) } else { None };
    let down = j.checked_sub(1);
    match conn {
        Connectivity::C6 => [(Some(j), 0), (None, 0), (None, 0)],
        Connectivity::C18 => [(Some(j), 1), (down, 0), (up, 0)],
        Connectivity::C26 => [(Some(j), 1), (down, 1), (up, 1)],
    }
}

struct Slab {
    row_ptr: Vec<usize>,
    runs: Vec<(u32, u32)>,
    parent: Vec<u32>,
}

fn label_slab<T: Pixel, S: Fn(Mode, &[T], &mut Vec<(u32, u32)>)>(
    mode: Mode,
    conn: Connectivity,
    data: &[T],
    size: [usize; 3],
    k0: usize,
    k1: usize,
    scan: &S,
) -> Slab {
    let [ni, nj, _] = size;
    let rows = (k1 - k0) * nj;
    let mut row_ptr = Vec::with_capacity(rows + 1);
    let mut runs: Vec<(u32, u32)> = Vec::new();
    row_ptr.push(0);
    let slab = &data[k0 * nj * ni..k1 * nj * ni];
    for r in 0..rows {
        scan(mode, &slab[r * ni..(r + 1) * ni], &mut runs);
        row_ptr.push(runs.len());
    }
    let mut parent: Vec<u32> = (0..runs.len() as u32).collect();
    let same_e = if conn == Connectivity::C6 { 0 } else { 1 };
    for kk in 0..(k1 - k0) {
        for j in 0..nj {
            let r = kk * nj + j;
            let a = (row_ptr[r], row_ptr[r + 1]);
            if a.0 == a.1 {
                continue;
            }
            let row_a = &slab[r * ni..(r + 1) * ni];
            if j > 0 {
                let rb = r - 1;
                join_rows(
                    mode,
                    &runs,
                    &mut parent,
                    0,
                    a,
                    (row_ptr[rb], row_ptr[rb + 1]),
                    same_e,
                    row_a,
                    &slab[rb * ni..(rb + 1) * ni],
                );
            }
            if kk > 0 {
                for (jb, e) in back_rows(conn, j, nj) {
                    let Some(jb) = jb else { continue };
                    let rb = (kk - 1) * nj + jb;
                    join_rows(
                        mode,
                        &runs,
                        &mut parent,
                        0,
                        a,
                        (row_ptr[rb], row_ptr[rb + 1]),
                        e,
                        row_a,
                        &slab[rb * ni..(rb + 1) * ni],
                    );
                }
            }
        }
    }
    Slab {
        row_ptr,
        runs,
        parent,
    }
}

fn require_scalar<T: Pixel>(img: &Image<T>) -> Result<()> {
    if img.components() != 1 || img.frames() != 1 {
        return Err(Error::invalid_argument(format!(
            "needs a scalar 3-D label image, got {} components × {} frames",
            img.components(),
            img.frames()
        )));
    }
    Ok(())
}

impl Components {
    /// Label `img` (scalar, single frame).
    pub fn label<T: Pixel>(img: &Image<T>, opts: CcOptions) -> Result<Components> {
        require_scalar(img)?;
        let mode = if opts.binary {
            Mode::Binary
        } else {
            Mode::Multi
        };
        Self::label_any(img, opts.connectivity, mode)
    }

    /// Label with the fastest row scanner for the pixel type.
    pub(crate) fn label_any<T: Pixel>(
        img: &Image<T>,
        conn: Connectivity,
        mode: Mode,
    ) -> Result<Components> {
        let size = img.geometry().size;
        if let Some(b) = (img as &dyn std::any::Any).downcast_ref::<Image<u8>>() {
            return Self::label_data(b.data(), size, conn, mode, &row_runs_u8);
        }
        Self::label_data(img.data(), size, conn, mode, &row_runs::<T>)
    }

    pub(crate) fn label_data<T: Pixel, S: Fn(Mode, &[T], &mut Vec<(u32, u32)>) + Sync>(
        data: &[T],
        size: [usize; 3],
        conn: Connectivity,
        mode: Mode,
        scan: &S,
    ) -> Result<Components> {
        let [ni, nj, nk] = size;
        if ni > u32::MAX as usize / 2 {
            return Err(Error::too_large(format!(
                "rows of {ni} voxels are too long for the run labelling"
            )));
        }
        if data.len() != ni * nj * nk {
            return Err(Error::internal("buffer does not match the grid"));
        }
        let threads = rayon::current_num_threads().max(1);
        let per = nk.div_ceil(threads * 4).max(1);
        let bounds: Vec<(usize, usize)> = (0..nk)
            .step_by(per)
            .map(|k0| (k0, (k0 + per).min(nk)))
            .collect();
        let slabs: Vec<Slab> = bounds
            .par_iter()
            .map(|&(k0, k1)| label_slab(mode, conn, data, size, k0, k1, scan))
            .collect();
        let total: usize = slabs.iter().map(|s| s.runs.len()).sum();
        if total >= u32::MAX as usize {
            return Err(Error::too_large(format!(
                "{total} runs exceed the labelling's 32-bit index"
            )));
        }
        // concatenate
        let mut row_ptr = Vec::with_capacity(nj * nk + 1);
        let mut runs = Vec::with_capacity(total);
        let mut parent = Vec::with_capacity(total);
        row_ptr.push(0usize);
        let mut slab_base = Vec::with_capacity(slabs.len());
        for s in &slabs {
            let base = runs.len();
            slab_base.push(base);
            runs.extend_from_slice(&s.runs);
            parent.extend(s.parent.iter().map(|&p| p + base as u32));
            row_ptr.extend(s.row_ptr.iter().skip(1).map(|&p| p + base));
        }
        drop(slabs);
        // stitch slab faces
        for &(k0, _) in bounds.iter().skip(1) {
            for j in 0..nj {
                let r = k0 * nj + j;
                let a = (row_ptr[r], row_ptr[r + 1]);
                if a.0 == a.1 {
                    continue;
                }
                let row_a = &data[r * ni..(r + 1) * ni];
                for (jb, e) in back_rows(conn, j, nj) {
                    let Some(jb) = jb else { continue };
                    let rb = (k0 - 1) * nj + jb;
                    join_rows(
                        mode,
                        &runs,
                        &mut parent,
                        0,
                        a,
                        (row_ptr[rb], row_ptr[rb + 1]),
                        e,
                        row_a,
                        &data[rb * ni..(rb + 1) * ni],
                    );
                }
            }
        }
        let _ = slab_base;
        // final numbering: roots are the smallest run index of their set, i.e. the first in
        // scan order, so numbering roots in run order numbers components by first appearance.
        let mut comp = vec![0u32; total];
        let mut next = 0u32;
        for x in 0..total {
            let r = find(&mut parent, x as u32) as usize;
            if r == x {
                next += 1;
                comp[x] = next;
            } else {
                comp[x] = comp[r];
            }
        }
        Ok(Components {
            size,
            row_ptr,
            runs,
            comp,
            count: next as usize,
        })
    }

    /// Number of components.
    pub fn count(&self) -> usize {
        self.count
    }

    /// Voxel count per component, indexed by component number (entry 0 is 0).
    pub fn sizes(&self) -> Vec<u64> {
        let mut s = vec![0u64; self.count + 1];
        for (run, &c) in self.runs.iter().zip(&self.comp) {
            s[c as usize] += (run.1 - run.0) as u64;
        }
        s
    }

    /// Visit every run as (row index, start, end, component).
    pub(crate) fn for_each_run(&self, mut f: impl FnMut(usize, usize, usize, u32)) {
        for r in 0..self.row_ptr.len() - 1 {
            for x in self.row_ptr[r]..self.row_ptr[r + 1] {
                let (s, e) = self.runs[x];
                f(r, s as usize, e as usize, self.comp[x]);
            }
        }
    }

    /// Write `value(component)` over every run into an i-fastest buffer of the grid's size
    /// (parallel over k-slices); voxels outside runs are left untouched.
    pub(crate) fn paint<U: Pixel>(&self, out: &mut [U], value: impl Fn(u32) -> Option<U> + Sync) {
        let [ni, nj, _] = self.size;
        let slice = ni * nj;
        if slice == 0 {
            return;
        }
        out.par_chunks_mut(slice).enumerate().for_each(|(k, sl)| {
            for j in 0..nj {
                let r = k * nj + j;
                let Some(range) = self.row_ptr.get(r..r + 2) else {
                    continue;
                };
                for x in range[0]..range[1] {
                    if let Some(v) = value(self.comp[x]) {
                        let (s, e) = self.runs[x];
                        sl[j * ni + s as usize..j * ni + e as usize].fill(v);
                    }
                }
            }
        });
    }

    /// The label image (u32, 0 = background).
    pub fn to_image(&self, geometry: &Geometry) -> Result<Image<u32>> {
        if geometry.size != self.size {
            return Err(Error::mismatch(format!(
                "grid {:?} differs from the labelled grid {:?}",
                geometry.size, self.size
            )));
        }
        let mut out = vec![0u32; geometry.voxel_count()];
        self.paint(&mut out, Some);
        Image::new(*geometry, out)
    }

    /// The label image in the smallest unsigned type that holds the count (u8, u16 or u32), as
    /// cc3d does; half the memory traffic of [`Components::to_image`] below 65 536 components.
    pub fn to_image_compact(&self, geometry: &Geometry) -> Result<crate::image::DynImage> {
        if geometry.size != self.size {
            return Err(Error::mismatch(format!(
                "grid {:?} differs from the labelled grid {:?}",
                geometry.size, self.size
            )));
        }
        let n = geometry.voxel_count();
        Ok(if self.count <= u8::MAX as usize {
            let mut out = vec![0u8; n];
            self.paint(&mut out, |c| Some(c as u8));
            Image::new(*geometry, out)?.into()
        } else if self.count <= u16::MAX as usize {
            let mut out = vec![0u16; n];
            self.paint(&mut out, |c| Some(c as u16));
            Image::new(*geometry, out)?.into()
        } else {
            self.to_image(geometry)?.into()
        })
    }

    /// Statistics of every component, in component order. `values` is the labelled image (for
    /// the class value of each component).
    pub fn stats<T: Pixel>(&self, img: &Image<T>) -> Result<Vec<ComponentStats>> {
        let g = img.geometry();
        if g.size != self.size {
            return Err(Error::mismatch(format!(
                "grid {:?} differs from the labelled grid {:?}",
                g.size, self.size
            )));
        }
        let [ni, nj, _] = self.size;
        let n = self.count;
        let mut cnt = vec![0u64; n + 1];
        let mut sum = vec![[0f64; 3]; n + 1];
        let mut lo = vec![[usize::MAX; 3]; n + 1];
        let mut hi = vec![[0usize; 3]; n + 1];
        let mut val = vec![f64::NAN; n + 1];
        let data = img.data();
        self.for_each_run(|r, s, e, c| {
            let c = c as usize;
            let (j, k) = (r % nj, r / nj);
            let len = (e - s) as u64;
            if cnt[c] == 0 {
                val[c] = data[r * ni + s].to_f64();
            }
            cnt[c] += len;
            let lf = len as f64;
            sum[c][0] += lf * (s + e - 1) as f64 / 2.0;
            sum[c][1] += lf * j as f64;
            sum[c][2] += lf * k as f64;
            let l = &mut lo[c];
            l[0] = l[0].min(s);
            l[1] = l[1].min(j);
            l[2] = l[2].min(k);
            let h = &mut hi[c];
            h[0] = h[0].max(e - 1);
            h[1] = h[1].max(j);
            h[2] = h[2].max(k);
        });
        let vox_mm3 = g.spacing.iter().product::<f64>();
        Ok((1..=n)
            .map(|c| {
                let m = cnt[c].max(1) as f64;
                let ci = [sum[c][0] / m, sum[c][1] / m, sum[c][2] / m];
                ComponentStats {
                    label: c as u32,
                    value: val[c],
                    voxels: cnt[c],
                    volume_mm3: cnt[c] as f64 * vox_mm3,
                    bbox_min: lo[c],
                    bbox_max: hi[c],
                    centroid_index: ci,
                    centroid_lps: g.index_to_point(ci),
                }
            })
            .collect())
    }

    /// Copy of `img` keeping only voxels of components for which `keep[c]` is true (others 0).
    pub fn keep<T: Pixel>(&self, img: &Image<T>, keep: &[bool]) -> Result<Image<T>> {
        if img.geometry().size != self.size || keep.len() != self.count + 1 {
            return Err(Error::internal("keep mask does not match the labelling"));
        }
        let mut out = vec![T::default(); img.geometry().voxel_count()];
        let src = img.data();
        let [ni, nj, _] = self.size;
        let slice = ni * nj;
        out.par_chunks_mut(slice.max(1))
            .enumerate()
            .for_each(|(k, sl)| {
                for j in 0..nj {
                    let r = k * nj + j;
                    let Some(range) = self.row_ptr.get(r..r + 2) else {
                        continue;
                    };
                    for x in range[0]..range[1] {
                        if keep[self.comp[x] as usize] {
                            let (s, e) = self.runs[x];
                            let o = j * ni;
                            let base = k * slice + o;
                            sl[o + s as usize..o + e as usize]
                                .copy_from_slice(&src[base + s as usize..base + e as usize]);
                        }
                    }
                }
            });
        Image::new(*img.geometry(), out)
    }
}

/// Label components (multi-label: equal values connect) and return the u32 label image with
/// per-component statistics (index c-1 describes component c).
pub fn connected_components<T: Pixel>(
    img: &Image<T>,
    connectivity: Connectivity,
) -> Result<(Image<u32>, Vec<ComponentStats>)> {
    let cc = Components::label(
        img,
        CcOptions {
            connectivity,
            binary: false,
        },
    )?;
    Ok((cc.to_image(img.geometry())?, cc.stats(img)?))
}

/// Semantic labels → instance labels: every connected component of every class gets its own
/// number (scan order). Returns the instance image and, for each instance c, its class value at
/// index c-1.
pub fn semantic_to_instance<T: Pixel>(
    img: &Image<T>,
    connectivity: Connectivity,
) -> Result<(Image<u32>, Vec<f64>)> {
    let cc = Components::label(
        img,
        CcOptions {
            connectivity,
            binary: false,
        },
    )?;
    let stats = cc.stats(img)?;
    Ok((
        cc.to_image(img.geometry())?,
        stats.iter().map(|s| s.value).collect(),
    ))
}

/// Keep the largest component. `per_label`: the largest component of each label value (others
/// removed); otherwise the image is binarised for connectivity and the single largest component
/// is kept. Kept voxels keep their values. Ties go to the component found first in scan order.
/// An all-background image is returned unchanged.
pub fn largest_component<T: Pixel>(
    img: &Image<T>,
    connectivity: Connectivity,
    per_label: bool,
) -> Result<Image<T>> {
    let cc = Components::label(
        img,
        CcOptions {
            connectivity,
            binary: !per_label,
        },
    )?;
    let sizes = cc.sizes();
    let mut keep = vec![false; sizes.len()];
    if per_label {
        let stats = cc.stats(img)?;
        let mut best: Vec<(f64, usize)> = Vec::new();
        for s in &stats {
            match best.iter_mut().find(|b| b.0 == s.value) {
                Some(b) => {
                    if sizes[s.label as usize] > sizes[b.1] {
                        b.1 = s.label as usize;
                    }
                }
                None => best.push((s.value, s.label as usize)),
            }
        }
        for (_, c) in best {
            keep[c] = true;
        }
    } else if let Some((c, _)) =
        sizes
            .iter()
            .enumerate()
            .skip(1)
            .fold(None::<(usize, u64)>, |b, (c, &n)| match b {
                Some((_, bn)) if bn >= n => b,
                _ => Some((c, n)),
            })
    {
        keep[c] = true;
    }
    cc.keep(img, &keep)
}

/// Minimum component size for [`remove_small`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MinSize {
    /// Components with fewer voxels are removed.
    Voxels(u64),
    /// Components with a smaller volume (mm³) are removed.
    Mm3(f64),
}

/// Remove components smaller than `min` (multi-label components, like `cc3d.dust`; class values
/// of the kept voxels are unchanged).
pub fn remove_small<T: Pixel>(
    img: &Image<T>,
    connectivity: Connectivity,
    min: MinSize,
) -> Result<Image<T>> {
    let min_vox: u64 = match min {
        MinSize::Voxels(n) => n,
        MinSize::Mm3(v) => {
            if !v.is_finite() || v < 0.0 {
                return Err(Error::invalid_argument(format!(
                    "minimum volume {v} mm³ is not a non-negative number"
                )));
            }
            let vox = img.geometry().spacing.iter().product::<f64>();
            (v / vox).ceil() as u64
        }
    };
    let cc = Components::label(
        img,
        CcOptions {
            connectivity,
            binary: false,
        },
    )?;
    let keep: Vec<bool> = cc.sizes().iter().map(|&n| n >= min_vox).collect();
    cc.keep(img, &keep)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn img3(size: [usize; 3], v: Vec<u8>) -> Image<u8> {
        Image::new(Geometry::with_size(size).unwrap(), v).unwrap()
    }

    #[test]
    fn corner_contact_depends_on_connectivity() {
        // two voxels touching only at a corner: (0,0,0) and (1,1,1)
        let mut v = vec![0u8; 8];
        v[0] = 1;
        v[7] = 1;
        let img = img3([2, 2, 2], v);
        assert_eq!(
            connected_components(&img, Connectivity::C26)
                .unwrap()
                .1
                .len(),
            1
        );
        assert_eq!(
            connected_components(&img, Connectivity::C18)
                .unwrap()
                .1
                .len(),
            2
        );
        assert_eq!(
            connected_components(&img, Connectivity::C6)
                .unwrap()
                .1
                .len(),
            2
        );
    }

    #[test]
    fn labels_never_merge_across_values() {
        let img = img3([4, 1, 1], vec![1, 2, 2, 1]);
        let (l, s) = connected_components(&img, Connectivity::C26).unwrap();
        assert_eq!(l.data(), &[1, 2, 2, 3]);
        assert_eq!(s[1].value, 2.0);
        let cc = Components::label(
            &img,
            CcOptions {
                connectivity: Connectivity::C6,
                binary: true,
            },
        )
        .unwrap();
        assert_eq!(cc.count(), 1);
    }

    #[test]
    fn byte_scanner_matches_generic() {
        let mut s = 99u64;
        let row: Vec<u8> = (0..203)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let r = (s >> 33) % 10;
                if r < 5 {
                    0
                } else if r < 8 {
                    1
                } else {
                    (r - 6) as u8
                }
            })
            .collect();
        for mode in [Mode::Multi, Mode::Binary, Mode::Background] {
            for start in 0..9 {
                let (mut a, mut b) = (Vec::new(), Vec::new());
                row_runs(mode, &row[start..], &mut a);
                row_runs_u8(mode, &row[start..], &mut b);
                assert_eq!(a, b, "{mode:?} from {start}");
            }
        }
    }

    #[test]
    fn slab_stitching_matches_serial() {
        // a long diagonal line through many k-slabs joins only with 26-connectivity
        let n = 40;
        let mut v = vec![0u8; n * n * n];
        for t in 0..n {
            v[t + n * (t + n * t)] = 3;
        }
        let img = img3([n, n, n], v);
        assert_eq!(
            connected_components(&img, Connectivity::C26)
                .unwrap()
                .1
                .len(),
            1
        );
        assert_eq!(
            connected_components(&img, Connectivity::C18)
                .unwrap()
                .1
                .len(),
            n
        );
    }
}
