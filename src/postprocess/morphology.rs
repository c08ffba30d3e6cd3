//! Dilation and erosion of label images with a ball or a cross, radius in mm or voxels.
//!
//! * **Ball** of radius r: the offsets d with ‖d‖ ≤ r, where ‖d‖ is measured in mm (with the
//!   image spacing) or in voxels. Computed exactly with the Euclidean distance transform
//!   ([`super::edt`]) on the bounding box of each label grown by the radius.
//! * **Cross** of radius r: the offsets along a single axis a with |d_a|·s_a ≤ r (s_a = 1 in voxel
//!   mode); radius 1 voxel is the 6-neighbourhood.
//! * Labels are processed one value at a time in ascending order. Dilation only grows into
//!   background (0) voxels, and where two labels reach the same voxel the smaller value wins.
//!   Erosion removes voxels of a label that lie within the radius of any voxel of another value
//!   (background included); the outside of the image does not erode.
//! * 2-D images (`size[2] == 1`) stay 2-D: nothing grows along k.
//!
//! ```
//! use medseg::image::{Geometry, Image};
//! use medseg::postprocess::morphology::{dilate, erode, Structuring};
//! let g = Geometry::with_size([5, 1, 1]).unwrap();
//! let img = Image::new(g, vec![0u8, 0, 3, 0, 0]).unwrap();
//! let s = Structuring::Ball { radius: 1.0, mm: false };
//! let d = dilate(&img, s).unwrap();
//! assert_eq!(d.data(), &[0, 3, 3, 3, 0]);
//! assert_eq!(erode(&d, s).unwrap().data(), &[0, 0, 3, 0, 0]);
//! ```

use super::edt;
use crate::error::{Error, Result};
use crate::image::{Image, Pixel};

/// Structuring element.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Structuring {
    /// Euclidean ball.
    Ball {
        /// Radius (mm when `mm`, else voxels).
        radius: f64,
        /// Radius in millimetres (with the image spacing) rather than voxels.
        mm: bool,
    },
    /// Axis-aligned cross.
    Cross {
        /// Half-length of each arm (mm when `mm`, else voxels).
        radius: f64,
        /// Radius in millimetres rather than voxels.
        mm: bool,
    },
}

impl Structuring {
    fn radius(&self) -> (f64, bool) {
        match *self {
            Structuring::Ball { radius, mm } | Structuring::Cross { radius, mm } => (radius, mm),
        }
    }
}

/// Labels present (ascending) with their bounding boxes (i, j, k inclusive).
#[allow(clippy::type_complexity)]
fn label_boxes<T: Pixel>(img: &Image<T>) -> Result<Vec<(T, [usize; 3], [usize; 3])>> {
    let [ni, nj, nk] = img.geometry().size;
    let data = img.data();
    let z = T::default();
    let mut boxes: Vec<(T, [usize; 3], [usize; 3])> = Vec::new();
    for k in 0..nk {
        for j in 0..nj {
            let row = &data[(k * nj + j) * ni..(k * nj + j + 1) * ni];
            let mut i = 0;
            while i < ni {
                let v = row[i];
                if v == z || v.to_f64().is_nan() {
                    i += 1;
                    continue;
                }
                let s = i;
                while i < ni && row[i] == v {
                    i += 1;
                }
                let pos = match boxes.iter().position(|b| b.0 == v) {
                    Some(p) => p,
                    None => {
                        if boxes.len() >= 65_536 {
                            return Err(Error::too_large(
                                "more than 65536 distinct labels for morphology",
                            ));
                        }
                        boxes.push((v, [usize::MAX; 3], [0; 3]));
                        boxes.len() - 1
                    }
                };
                let b = &mut boxes[pos];
                b.1 = [b.1[0].min(s), b.1[1].min(j), b.1[2].min(k)];
                b.2 = [b.2[0].max(i - 1), b.2[1].max(j), b.2[2].max(k)];
            }
        }
    }
    boxes.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap_or(std::cmp::Ordering::Equal));
    Ok(boxes)
}

struct Crop {
    lo: [usize; 3],
    size: [usize; 3],
}

fn grow(lo: [usize; 3], hi: [usize; 3], margin: [usize; 3], size: [usize; 3]) -> Crop {
    let mut l = [0; 3];
    let mut s = [0; 3];
    for a in 0..3 {
        l[a] = lo[a].saturating_sub(margin[a]);
        let h = (hi[a].saturating_add(margin[a])).min(size[a] - 1);
        s[a] = h - l[a] + 1;
    }
    Crop { lo: l, size: s }
}

/// For every voxel of the crop: is it within the structuring element of a `feature` voxel?
fn reached(
    feature: &[bool],
    size: [usize; 3],
    se: Structuring,
    spacing: [f64; 3],
) -> Result<Vec<bool>> {
    let (r, mm) = se.radius();
    let sp = if mm { spacing } else { [1.0; 3] };
    let [ci, cj, ck] = size;
    match se {
        Structuring::Ball { .. } => {
            let d = edt::distance(feature, [ck, cj, ci], [sp[2], sp[1], sp[0]])?;
            Ok(d.iter().map(|&x| x <= r).collect())
        }
        Structuring::Cross { .. } => {
            let mut out = feature.to_vec();
            let strides = [1usize, ci, ci * cj];
            for a in 0..3 {
                let reach = (r / sp[a]).floor();
                if reach < 1.0 || size[a] == 1 {
                    continue;
                }
                let reach = reach.min(size[a] as f64) as usize;
                let n = size[a];
                let st = strides[a];
                // all line starts: indices whose coordinate along a is 0
                for base in 0..feature.len() {
                    if !(base / st).is_multiple_of(n) {
                        continue;
                    }
                    // forward and backward distance (in steps) to the last feature
                    let mut last: Option<usize> = None;
                    for t in 0..n {
                        let idx = base + t * st;
                        if feature[idx] {
                            last = Some(t);
                        }
                        if let Some(l) = last
                            && t - l <= reach
                        {
                            out[idx] = true;
                        }
                    }
                    let mut last: Option<usize> = None;
                    for t in (0..n).rev() {
                        let idx = base + t * st;
                        if feature[idx] {
                            last = Some(t);
                        }
                        if let Some(l) = last
                            && l - t <= reach
                        {
                            out[idx] = true;
                        }
                    }
                }
            }
            Ok(out)
        }
    }
}

fn check<T: Pixel>(img: &Image<T>, se: Structuring) -> Result<[usize; 3]> {
    if img.components() != 1 || img.frames() != 1 {
        return Err(Error::invalid_argument(format!(
            "needs a scalar 3-D label image, got {} components × {} frames",
            img.components(),
            img.frames()
        )));
    }
    let (r, mm) = se.radius();
    if !r.is_finite() || r < 0.0 {
        return Err(Error::invalid_argument(format!(
            "radius {r} is not a non-negative number"
        )));
    }
    let g = img.geometry();
    let mut margin = [0usize; 3];
    for a in 0..3 {
        let s = if mm { g.spacing[a] } else { 1.0 };
        let m = (r / s).floor();
        if m > 1e7 {
            return Err(Error::too_large(format!(
                "radius {r} is too large for this grid"
            )));
        }
        margin[a] = if g.size[a] == 1 { 0 } else { m as usize };
    }
    Ok(margin)
}

fn gather<T: Pixel>(img: &Image<T>, c: &Crop, f: impl Fn(T) -> bool) -> Vec<bool> {
    let [ni, nj, _] = img.geometry().size;
    let [ci, cj, ck] = c.size;
    let d = img.data();
    let mut out = Vec::with_capacity(ci * cj * ck);
    for k in 0..ck {
        for j in 0..cj {
            let s = ((c.lo[2] + k) * nj + c.lo[1] + j) * ni + c.lo[0];
            out.extend(d[s..s + ci].iter().map(|&v| f(v)));
        }
    }
    out
}

fn scatter<T: Pixel>(out: &mut [T], size: [usize; 3], c: &Crop, mut f: impl FnMut(usize, &mut T)) {
    let [ni, nj, _] = size;
    let [ci, cj, ck] = c.size;
    for k in 0..ck {
        for j in 0..cj {
            let s = ((c.lo[2] + k) * nj + c.lo[1] + j) * ni + c.lo[0];
            let base = (k * cj + j) * ci;
            for i in 0..ci {
                f(base + i, &mut out[s + i]);
            }
        }
    }
}

/// Dilate every label into the background.
pub fn dilate<T: Pixel>(img: &Image<T>, se: Structuring) -> Result<Image<T>> {
    let margin = check(img, se)?;
    let g = *img.geometry();
    let mut out = img.data().to_vec();
    let z = T::default();
    for (v, lo, hi) in label_boxes(img)? {
        let c = grow(lo, hi, margin, g.size);
        let feature = gather(img, &c, |x| x == v);
        let hit = reached(&feature, c.size, se, g.spacing)?;
        scatter(&mut out, g.size, &c, |t, o| {
            if hit[t] && *o == z {
                *o = v;
            }
        });
    }
    Image::new(g, out)
}

/// Erode every label (voxels within the radius of another value become background).
pub fn erode<T: Pixel>(img: &Image<T>, se: Structuring) -> Result<Image<T>> {
    let margin = check(img, se)?;
    let g = *img.geometry();
    let mut out = img.data().to_vec();
    let z = T::default();
    for (v, lo, hi) in label_boxes(img)? {
        let c = grow(lo, hi, margin, g.size);
        let feature = gather(img, &c, |x| x != v);
        if !feature.iter().any(|&f| f) {
            continue;
        }
        let hit = reached(&feature, c.size, se, g.spacing)?;
        let src = img.data();
        let [ni, nj, _] = g.size;
        let [ci, cj, _] = c.size;
        scatter(&mut out, g.size, &c, |t, o| {
            let (i, j, k) = (t % ci, (t / ci) % cj, t / (ci * cj));
            let s = ((c.lo[2] + k) * nj + c.lo[1] + j) * ni + c.lo[0] + i;
            if hit[t] && src[s] == v {
                *o = z;
            }
        });
    }
    Image::new(g, out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::Geometry;

    #[test]
    fn ball_and_cross_differ_on_diagonals() {
        let g = Geometry::with_size([3, 3, 3]).unwrap();
        let mut v = vec![0u8; 27];
        v[13] = 1;
        let img = Image::new(g, v).unwrap();
        let cross = dilate(
            &img,
            Structuring::Cross {
                radius: 1.0,
                mm: false,
            },
        )
        .unwrap();
        assert_eq!(cross.data().iter().filter(|&&x| x == 1).count(), 7);
        let ball = dilate(
            &img,
            Structuring::Ball {
                radius: 1.5,
                mm: false,
            },
        )
        .unwrap();
        assert_eq!(ball.data().iter().filter(|&&x| x == 1).count(), 19);
        let ball = dilate(
            &img,
            Structuring::Ball {
                radius: 2.0,
                mm: false,
            },
        )
        .unwrap();
        assert_eq!(ball.data().iter().filter(|&&x| x == 1).count(), 27);
    }

    #[test]
    fn mm_radius_uses_spacing() {
        let g = crate::image::Geometry::new(
            [5, 5, 1],
            [1.0, 3.0, 1.0],
            [0.0; 3],
            crate::image::IDENTITY,
        )
        .unwrap();
        let mut v = vec![0u8; 25];
        v[12] = 1;
        let img = Image::new(g, v).unwrap();
        let d = dilate(
            &img,
            Structuring::Ball {
                radius: 2.0,
                mm: true,
            },
        )
        .unwrap();
        // grows 2 voxels along i (1 mm), none along j (3 mm)
        assert_eq!(d.data().iter().filter(|&&x| x == 1).count(), 5);
        assert!(
            dilate(
                &img,
                Structuring::Ball {
                    radius: -1.0,
                    mm: true
                }
            )
            .is_err()
        );
    }
}
