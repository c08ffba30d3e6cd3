//! Cropping and padding in index space, with undo records that put a result back on the
//! original grid exactly.
//!
//! A crop to the box `[start, end)` keeps spacing and direction and moves the origin to the
//! physical position of voxel `start` (`origin + D · diag(spacing) · start`); a pad by `lo` voxels
//! moves it to voxel `−lo`. Undo records keep the input grid verbatim, so undoing restores the
//! input geometry bit for bit.
//!
//! ```
//! use medseg::image::{Geometry, Image};
//! use medseg::preprocess::crop_pad::{crop_to_nonzero, Margin};
//! let g = Geometry::new([3, 3, 3], [2.0; 3], [10.0, 0.0, 0.0], medseg::image::IDENTITY).unwrap();
//! let mut img = Image::filled(g, 0u8);
//! *img.get_mut(1, 1, 1) = 5;
//! let (c, undo) = crop_to_nonzero(&img, None::<&Image<u8>>, Margin::Voxels([0; 3])).unwrap();
//! assert_eq!(c.geometry().size, [1, 1, 1]);
//! assert_eq!(c.geometry().origin, [12.0, 2.0, 2.0]);
//! assert_eq!(undo.apply(&c, 0.0).unwrap(), img);
//! ```

use crate::error::{Error, Result};
use crate::image::{DynImage, Geometry, Image, Pixel};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// A half-open index box `[start, end)` per axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BBox {
    pub start: [usize; 3],
    pub end: [usize; 3],
}

impl BBox {
    /// Voxels along each axis.
    pub fn size(&self) -> [usize; 3] {
        [
            self.end[0] - self.start[0],
            self.end[1] - self.start[1],
            self.end[2] - self.start[2],
        ]
    }

    /// Check the box is non-empty and inside `size`.
    pub fn check(&self, size: [usize; 3]) -> Result<()> {
        for a in 0..3 {
            if self.start[a] >= self.end[a] || self.end[a] > size[a] {
                return Err(Error::invalid_argument(format!(
                    "box {:?}..{:?} is empty or outside the image of size {size:?} (axis {a})",
                    self.start, self.end
                )));
            }
        }
        Ok(())
    }
}

/// A margin added around a bounding box.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Margin {
    Voxels([usize; 3]),
    /// Millimetres, rounded up to whole voxels per axis.
    Mm([f64; 3]),
}

impl Margin {
    fn voxels(&self, g: &Geometry) -> Result<[usize; 3]> {
        match *self {
            Margin::Voxels(v) => Ok(v),
            Margin::Mm(mm) => {
                let mut v = [0usize; 3];
                for a in 0..3 {
                    if !(mm[a].is_finite() && mm[a] >= 0.0) {
                        return Err(Error::invalid_argument(format!(
                            "margin {} mm is not a non-negative number",
                            mm[a]
                        )));
                    }
                    v[a] = ((mm[a] / g.spacing[a]) - 1e-9).ceil().max(0.0) as usize;
                }
                Ok(v)
            }
        }
    }
}

/// Bounding box of the voxels where `f` holds (scalar, first frame), or `None` if none does.
pub fn bbox_where<T: Pixel>(img: &Image<T>, f: impl Fn(T) -> bool + Sync) -> Option<BBox> {
    let [ni, nj, _] = img.geometry().size;
    let c = img.components();
    let plane = ni * nj * c;
    let n = img.geometry().voxel_count() * c;
    let data = img.data().get(..n)?;
    data.par_chunks(plane)
        .enumerate()
        .filter_map(|(k, p)| {
            let mut b: Option<BBox> = None;
            for j in 0..nj {
                let row = &p[j * ni * c..(j + 1) * ni * c];
                let first = row.iter().position(|v| f(*v));
                if let Some(first) = first {
                    let last = row.iter().rposition(|v| f(*v)).unwrap_or(first);
                    let (i0, i1) = (first / c, last / c + 1);
                    let e = b.get_or_insert(BBox {
                        start: [i0, j, k],
                        end: [i1, j + 1, k + 1],
                    });
                    e.start[0] = e.start[0].min(i0);
                    e.end[0] = e.end[0].max(i1);
                    e.end[1] = j + 1;
                }
            }
            b
        })
        .reduce_with(|a, b| BBox {
            start: [
                a.start[0].min(b.start[0]),
                a.start[1].min(b.start[1]),
                a.start[2].min(b.start[2]),
            ],
            end: [
                a.end[0].max(b.end[0]),
                a.end[1].max(b.end[1]),
                a.end[2].max(b.end[2]),
            ],
        })
}

/// Widen `b` by `margin` voxels, clipped to `size`.
pub fn expand(b: &BBox, margin: [usize; 3], size: [usize; 3]) -> BBox {
    let mut out = *b;
    for a in 0..3 {
        out.start[a] = b.start[a].saturating_sub(margin[a]);
        out.end[a] = b.end[a].saturating_add(margin[a]).min(size[a]);
    }
    out
}

/// Copy the box `src_box` of `src` (size `src_size`) to `dst` (size `dst_size`) at `dst_start`,
/// `c` values per voxel.
fn copy_box<T: Pixel>(
    src: &[T],
    src_size: [usize; 3],
    src_box: &BBox,
    dst: &mut [T],
    dst_size: [usize; 3],
    dst_start: [usize; 3],
    c: usize,
) {
    let [bi, bj, bk] = src_box.size();
    let dst_plane = dst_size[0] * dst_size[1] * c;
    dst.par_chunks_mut(dst_plane)
        .enumerate()
        .for_each(|(dk, plane)| {
            if dk < dst_start[2] || dk >= dst_start[2] + bk {
                return;
            }
            let sk = src_box.start[2] + dk - dst_start[2];
            for jj in 0..bj {
                let sj = src_box.start[1] + jj;
                let dj = dst_start[1] + jj;
                let so = c * (src_box.start[0] + src_size[0] * (sj + src_size[1] * sk));
                let d0 = c * (dst_start[0] + dst_size[0] * dj);
                plane[d0..d0 + bi * c].copy_from_slice(&src[so..so + bi * c]);
            }
        });
}

/// What [`crop`] did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CropUndo {
    pub input: Geometry,
    pub bbox: BBox,
}

impl CropUndo {
    /// Put a cropped result back into a volume of the input grid filled with `fill` elsewhere.
    pub fn apply<T: Pixel>(&self, img: &Image<T>, fill: f64) -> Result<Image<T>> {
        let bs = self.bbox.size();
        if img.geometry().size != bs {
            return Err(Error::mismatch(format!(
                "undo crop: image size {:?} is not the cropped size {bs:?}",
                img.geometry().size
            )));
        }
        let c = img.components();
        let frames = img.frames();
        let n_in = self.input.voxel_count() * c;
        let n_crop = img.geometry().voxel_count() * c;
        let mut data = vec![T::from_f64(fill); n_in * frames];
        let whole = BBox {
            start: [0; 3],
            end: bs,
        };
        for f in 0..frames {
            copy_box(
                &img.data()[f * n_crop..(f + 1) * n_crop],
                bs,
                &whole,
                &mut data[f * n_in..(f + 1) * n_in],
                self.input.size,
                self.bbox.start,
                c,
            );
        }
        Image::with_layout(self.input, c, frames, data)
    }

    /// [`CropUndo::apply`] for a run-time-typed image.
    pub fn apply_dyn(&self, img: &DynImage, fill: f64) -> Result<DynImage> {
        crate::dispatch!(img, i => self.apply(i, fill).map(DynImage::from))
    }
}

/// Crop to `bbox` (any components / frames).
pub fn crop<T: Pixel>(img: &Image<T>, bbox: &BBox) -> Result<(Image<T>, CropUndo)> {
    let g = *img.geometry();
    bbox.check(g.size)?;
    let bs = bbox.size();
    let mut out_g = g;
    out_g.size = bs;
    out_g.origin = g.index_to_point([
        bbox.start[0] as f64,
        bbox.start[1] as f64,
        bbox.start[2] as f64,
    ]);
    let c = img.components();
    let frames = img.frames();
    let n_in = g.voxel_count() * c;
    let n_out = out_g.voxel_count() * c;
    let mut data = vec![T::default(); n_out * frames];
    for f in 0..frames {
        copy_box(
            &img.data()[f * n_in..(f + 1) * n_in],
            g.size,
            bbox,
            &mut data[f * n_out..(f + 1) * n_out],
            bs,
            [0; 3],
            c,
        );
    }
    Ok((
        Image::with_layout(out_g, c, frames, data)?,
        CropUndo {
            input: g,
            bbox: *bbox,
        },
    ))
}

/// Crop to the bounding box of the non-zero voxels of `mask` (a label map on the same grid) or,
/// without a mask, of `img` itself, widened by `margin`. An all-zero mask gives the whole image
/// (no crop), as nnU-Net and TotalSpineSeg do.
pub fn crop_to_nonzero<T: Pixel, M: Pixel>(
    img: &Image<T>,
    mask: Option<&Image<M>>,
    margin: Margin,
) -> Result<(Image<T>, CropUndo)> {
    let g = *img.geometry();
    let b = match mask {
        Some(m) => {
            if m.geometry().size != g.size {
                return Err(Error::mismatch(format!(
                    "label map size {:?} differs from the image size {:?}",
                    m.geometry().size,
                    g.size
                )));
            }
            bbox_where(m, |v| v.to_f64() != 0.0)
        }
        None => bbox_where(img, |v| v.to_f64() != 0.0),
    };
    let b = match b {
        Some(b) => expand(&b, margin.voxels(&g)?, g.size),
        None => BBox {
            start: [0; 3],
            end: g.size,
        },
    };
    crop(img, &b)
}

/// How padding voxels are filled.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PadMode {
    Constant(f64),
    /// Replicate the nearest edge voxel.
    Edge,
}

/// What [`pad`] did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PadUndo {
    pub input: Geometry,
    pub lo: [usize; 3],
}

impl PadUndo {
    /// Crop a padded result back to the input grid (exact geometry).
    pub fn apply<T: Pixel>(&self, img: &Image<T>) -> Result<Image<T>> {
        let b = BBox {
            start: self.lo,
            end: [
                self.lo[0] + self.input.size[0],
                self.lo[1] + self.input.size[1],
                self.lo[2] + self.input.size[2],
            ],
        };
        let (mut out, _) = crop(img, &b)?;
        out.set_geometry(self.input)?;
        Ok(out)
    }

    /// [`PadUndo::apply`] for a run-time-typed image.
    pub fn apply_dyn(&self, img: &DynImage) -> Result<DynImage> {
        crate::dispatch!(img, i => self.apply(i).map(DynImage::from))
    }
}

/// Pad by `lo` voxels before and `hi` voxels after each axis.
pub fn pad<T: Pixel>(
    img: &Image<T>,
    lo: [usize; 3],
    hi: [usize; 3],
    mode: PadMode,
    max_bytes: u64,
) -> Result<(Image<T>, PadUndo)> {
    let g = *img.geometry();
    let mut out_g = g;
    for a in 0..3 {
        out_g.size[a] = g.size[a]
            .checked_add(lo[a])
            .and_then(|v| v.checked_add(hi[a]))
            .ok_or_else(|| Error::too_large(format!("padded size along axis {a} overflows")))?;
    }
    let c = img.components();
    let frames = img.frames();
    let bytes = (out_g.size.iter().map(|&v| v as u128).product::<u128>())
        * (c * frames * T::TYPE.size()) as u128;
    if bytes > max_bytes as u128 {
        return Err(Error::too_large(format!(
            "padding to size {:?} needs {bytes} bytes, over the limit of {max_bytes}",
            out_g.size
        )));
    }
    out_g.origin = g.index_to_point([-(lo[0] as f64), -(lo[1] as f64), -(lo[2] as f64)]);
    out_g.validate()?;
    let n_in = g.voxel_count() * c;
    let n_out = out_g.voxel_count() * c;
    let mut data = Vec::with_capacity(n_out * frames);
    for f in 0..frames {
        let src = &img.data()[f * n_in..(f + 1) * n_in];
        let mut dst = match mode {
            PadMode::Constant(v) => vec![T::from_f64(v); n_out],
            PadMode::Edge => vec![T::default(); n_out],
        };
        match mode {
            PadMode::Constant(_) => copy_box(
                src,
                g.size,
                &BBox {
                    start: [0; 3],
                    end: g.size,
                },
                &mut dst,
                out_g.size,
                lo,
                c,
            ),
            PadMode::Edge => {
                let [oi, oj, _] = out_g.size;
                let clampi = |o: usize, a: usize| o.saturating_sub(lo[a]).min(g.size[a] - 1);
                dst.par_chunks_mut(oi * oj * c)
                    .enumerate()
                    .for_each(|(k, plane)| {
                        let sk = clampi(k, 2);
                        for j in 0..oj {
                            let sj = clampi(j, 1);
                            for i in 0..oi {
                                let si = clampi(i, 0);
                                let so = c * (si + g.size[0] * (sj + g.size[1] * sk));
                                let d = c * (i + oi * j);
                                plane[d..d + c].copy_from_slice(&src[so..so + c]);
                            }
                        }
                    });
            }
        }
        data.extend(dst);
    }
    Ok((
        Image::with_layout(out_g, c, frames, data)?,
        PadUndo { input: g, lo },
    ))
}

/// Pad to at least `size` per axis, splitting the padding as nnU-Net does (`lo = diff / 2`,
/// `hi = diff − lo`); axes already large enough are left alone.
pub fn pad_to_size<T: Pixel>(
    img: &Image<T>,
    size: [usize; 3],
    mode: PadMode,
    max_bytes: u64,
) -> Result<(Image<T>, PadUndo)> {
    let g = img.geometry();
    let mut lo = [0usize; 3];
    let mut hi = [0usize; 3];
    for a in 0..3 {
        let d = size[a].saturating_sub(g.size[a]);
        lo[a] = d / 2;
        hi[a] = d - lo[a];
    }
    pad(img, lo, hi, mode, max_bytes)
}

/// What [`keep_labelled_slices`] did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlicesUndo {
    pub input: Geometry,
    pub axis: usize,
    /// Input slice index of each kept slice, increasing.
    pub kept: Vec<usize>,
}

impl SlicesUndo {
    /// Scatter the kept slices back into the input grid, `fill` elsewhere.
    pub fn apply<T: Pixel>(&self, img: &Image<T>, fill: f64) -> Result<Image<T>> {
        let mut want = self.input.size;
        want[self.axis] = self.kept.len();
        if img.geometry().size != want || img.components() != 1 || img.frames() != 1 {
            return Err(Error::mismatch(format!(
                "undo slice selection: image size {:?} is not {want:?}",
                img.geometry().size
            )));
        }
        let mut out = Image::filled(self.input, T::from_f64(fill));
        let g = self.input;
        let [wi, wj, wk] = want;
        for k in 0..wk {
            for j in 0..wj {
                for i in 0..wi {
                    let mut o = [i, j, k];
                    o[self.axis] = self.kept[o[self.axis]];
                    let v = img.data()[i + wi * (j + wj * k)];
                    out.data_mut()[g.offset(o[0], o[1], o[2])] = v;
                }
            }
        }
        Ok(out)
    }
}

/// Keep only the slices along `axis` (0 = i, 1 = j, 2 = k) where `labels` has a non-zero voxel
/// (MedSAM's training preprocessing keeps the labelled z slices). Spacing is kept; the origin
/// moves to the first kept slice. Errors with `Content` when no slice is labelled.
pub fn keep_labelled_slices<T: Pixel, M: Pixel>(
    img: &Image<T>,
    labels: &Image<M>,
    axis: usize,
) -> Result<(Image<T>, SlicesUndo)> {
    let g = *img.geometry();
    if axis > 2 {
        return Err(Error::invalid_argument(format!(
            "axis {axis} is not 0, 1 or 2"
        )));
    }
    if labels.geometry().size != g.size || img.components() != 1 || img.frames() != 1 {
        return Err(Error::mismatch(format!(
            "label map size {:?} differs from the image size {:?} (or the image is not scalar)",
            labels.geometry().size,
            g.size
        )));
    }
    let mut has = vec![false; g.size[axis]];
    let [ni, nj, nk] = g.size;
    for k in 0..nk {
        for j in 0..nj {
            for i in 0..ni {
                if labels.data()[i + ni * (j + nj * k)].to_f64() != 0.0 {
                    has[[i, j, k][axis]] = true;
                }
            }
        }
    }
    let kept: Vec<usize> = (0..g.size[axis]).filter(|&s| has[s]).collect();
    let Some(&first) = kept.first() else {
        return Err(Error::new(
            crate::ErrorKind::Content,
            "no slice holds a label",
        ));
    };
    let mut out_g = g;
    out_g.size[axis] = kept.len();
    let mut start = [0.0; 3];
    start[axis] = first as f64;
    out_g.origin = g.index_to_point(start);
    let [wi, wj, wk] = out_g.size;
    let mut data = Vec::with_capacity(out_g.voxel_count());
    for k in 0..wk {
        for j in 0..wj {
            for i in 0..wi {
                let mut o = [i, j, k];
                o[axis] = kept[o[axis]];
                data.push(img.data()[g.offset(o[0], o[1], o[2])]);
            }
        }
    }
    Ok((
        Image::new(out_g, data)?,
        SlicesUndo {
            input: g,
            axis,
            kept,
        },
    ))
}

/// [`crop_to_nonzero`] for run-time-typed images.
pub fn crop_to_nonzero_dyn(
    img: &DynImage,
    mask: Option<&DynImage>,
    margin: Margin,
) -> Result<(DynImage, CropUndo)> {
    let m: Option<Image<f64>> = mask.map(|m| m.cast());
    crate::dispatch!(img, i => crop_to_nonzero(i, m.as_ref(), margin).map(|(o, u)| (DynImage::from(o), u)))
}

/// [`pad`] for a run-time-typed image.
pub fn pad_dyn(
    img: &DynImage,
    lo: [usize; 3],
    hi: [usize; 3],
    mode: PadMode,
    max_bytes: u64,
) -> Result<(DynImage, PadUndo)> {
    crate::dispatch!(img, i => pad(i, lo, hi, mode, max_bytes).map(|(o, u)| (DynImage::from(o), u)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::IDENTITY;

    #[test]
    fn pad_edge_and_undo() {
        let g = Geometry::new([2, 1, 1], [1.0; 3], [0.0; 3], IDENTITY).unwrap();
        let img = Image::new(g, vec![1u8, 2]).unwrap();
        let (p, u) = pad(&img, [1, 0, 0], [2, 0, 0], PadMode::Edge, u64::MAX).unwrap();
        assert_eq!(p.data(), &[1, 1, 2, 2, 2]);
        assert_eq!(p.geometry().origin, [-1.0, 0.0, 0.0]);
        assert_eq!(u.apply(&p).unwrap(), img);
        let (p, _) = pad(&img, [0, 1, 0], [0, 0, 0], PadMode::Constant(9.0), u64::MAX).unwrap();
        assert_eq!(p.data(), &[9, 9, 1, 2]);
        assert!(pad(&img, [usize::MAX, 0, 0], [1, 0, 0], PadMode::Edge, u64::MAX).is_err());
    }

    #[test]
    fn margin_mm_and_slices() {
        let g = Geometry::new([5, 5, 5], [0.5, 1.0, 2.0], [0.0; 3], IDENTITY).unwrap();
        let mut lab = Image::filled(g, 0u8);
        *lab.get_mut(2, 2, 2) = 1;
        *lab.get_mut(2, 2, 4) = 1;
        let (c, _) = crop_to_nonzero(&lab, Some(&lab), Margin::Mm([1.0, 1.0, 1.0])).unwrap();
        // 1 mm = 2 voxels along i, 1 along j, 1 (rounded up from 0.5) along k; k is clipped.
        assert_eq!(c.geometry().size, [5, 3, 4]);
        let (s, u) = keep_labelled_slices(&lab, &lab, 2).unwrap();
        assert_eq!(s.geometry().size, [5, 5, 2]);
        assert_eq!(u.kept, vec![2, 4]);
        assert_eq!(u.apply(&s, 0.0).unwrap(), lab);
        let empty = Image::filled(g, 0u8);
        assert!(keep_labelled_slices(&lab, &empty, 2).is_err());
        let (whole, _) = crop_to_nonzero(&lab, Some(&empty), Margin::Voxels([0; 3])).unwrap();
        assert_eq!(whole, lab);
    }
}
