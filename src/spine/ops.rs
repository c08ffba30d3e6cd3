//! Image-level entry points: each TotalSpineSeg utility as a function from images to an image,
//! with the reference's dtype rules (labels rounded to uint8, soft maps float32) and geometry
//! checks. Errors name the utility and the reason.

use super::iterative::{IterativeLabelParams, iterative_label};
use super::levels::{LevelsParams, extract_levels};
use super::utils;
use super::vol::{Dims, round_label};
use crate::error::{Error, ErrorKind, Result};
use crate::image::{DynImage, Geometry, Image, Pixel};
use rayon::prelude::*;

/// Tolerance (mm, and direction cosines) for "the same grid".
pub const GRID_TOL: f64 = 1e-4;

/// `np.asanyarray(img.dataobj).round().astype(np.uint8)` of a 3-D single-volume image.
pub fn labels_u8(img: &DynImage, what: &str) -> Result<(Dims, Vec<u8>)> {
    if img.components() != 1 || img.frames() != 1 {
        return Err(Error::new(
            ErrorKind::Unsupported,
            format!(
                "{what}: a label map must be one 3-D volume ({} components, {} frames found)",
                img.components(),
                img.frames()
            ),
        ));
    }
    let d = Dims::new(img.geometry().size);
    if let DynImage::U8(i) = img {
        return Ok((d, i.data().to_vec()));
    }
    let data: Vec<u8> = crate::dispatch!(img, i => i
        .data()
        .par_iter()
        .map(|v| round_label(v.to_f64(), what))
        .collect::<Result<Vec<u8>>>())?;
    Ok((d, data))
}

fn out_u8(g: Geometry, data: Vec<u8>) -> Result<Image<u8>> {
    Image::new(g, data)
}

fn empty_check(d: &[u8], what: &str) -> Result<()> {
    if d.iter().all(|&v| v == 0) {
        return Err(Error::new(
            ErrorKind::Content,
            format!("{what}: the segmentation is empty (every voxel is 0)"),
        ));
    }
    Ok(())
}

/// Check that two images share a grid (size, spacing, origin, direction).
pub fn same_grid(a: &Geometry, b: &Geometry, what: &str) -> Result<()> {
    if !a.same_grid(b, GRID_TOL) {
        return Err(Error::mismatch(format!(
            "{what}: the grids differ (size {:?} vs {:?}, spacing {:?} vs {:?}, origin {:?} vs {:?})",
            a.size, b.size, a.spacing, b.spacing, a.origin, b.origin
        )));
    }
    Ok(())
}

/// A label volume cut down to the box of its non-zero voxels grown by a margin.
struct Boxed {
    /// `[x0, y0, z0, x1, y1, z1]` inclusive, in the whole volume.
    b: [usize; 6],
    d: Dims,
    data: Vec<u8>,
}

impl Boxed {
    fn off(&self) -> [usize; 3] {
        [self.b[0], self.b[1], self.b[2]]
    }
    /// The same box of another whole-volume buffer.
    fn cut<T: Copy + Default>(&self, whole: Dims, src: &[T]) -> Vec<T> {
        let b = self.b;
        let mut out = Vec::with_capacity(self.d.len());
        for z in b[2]..=b[5] {
            for y in b[1]..=b[4] {
                let i = whole.idx(b[0], y, z);
                out.extend_from_slice(&src[i..i + self.d.nx]);
            }
        }
        out
    }
    /// A box-sized result pasted into a zero volume of the whole size.
    fn paste(&self, whole: Dims, sub: &[u8]) -> Vec<u8> {
        let b = self.b;
        let mut out = vec![0u8; whole.len()];
        let plane = whole.nx * whole.ny;
        let (nx, ny) = (self.d.nx, self.d.ny);
        out.par_chunks_mut(plane.max(1))
            .enumerate()
            .filter(|(z, _)| *z >= b[2] && *z <= b[5])
            .for_each(|(z, p)| {
                for y in b[1]..=b[4] {
                    let s0 = nx * ((y - b[1]) + ny * (z - b[2]));
                    let o = whole.nx * y + b[0];
                    p[o..o + nx].copy_from_slice(&sub[s0..s0 + nx]);
                }
            });
        out
    }
}

/// The box of the non-zero voxels of `s` grown by `margin` (clipped to the volume); `None` for
/// an empty volume. Every utility below maps 0 to 0 and only looks a bounded distance away
/// from non-zero voxels, so it gives the same result on that box as on the whole volume when
/// `margin` covers that distance (algorithms that use absolute coordinates get the offset).
fn boxed(d: Dims, s: &[u8], margin: usize) -> Result<Option<Boxed>> {
    let Some(b) = utils::crop_box(d, s, margin)? else {
        return Ok(None);
    };
    let bd = Dims::new([b[3] - b[0] + 1, b[4] - b[1] + 1, b[5] - b[2] + 1]);
    let mut bx = Boxed {
        b,
        d: bd,
        data: Vec::new(),
    };
    bx.data = bx.cut(d, s);
    Ok(Some(bx))
}

/// `largest_component` on an image (labels rounded to uint8).
pub fn largest_component(seg: &DynImage, binarize: bool, dilate: usize) -> Result<Image<u8>> {
    let (d, s) = labels_u8(seg, "largest_component")?;
    // Dilated voxels stay within `dilate` of the labels.
    let out = match boxed(d, &s, dilate + 1)? {
        Some(bx) => bx.paste(
            d,
            &utils::largest_component(bx.d, &bx.data, binarize, dilate)?,
        ),
        None => utils::largest_component(d, &s, binarize, dilate)?,
    };
    out_u8(*seg.geometry(), out)
}

/// `iterative_label` on an image. `loc` is resampled onto the segmentation grid (nearest,
/// physical space, outside = 0) first, as the reference does.
pub fn iterative_label_image(
    seg: &DynImage,
    loc: Option<&DynImage>,
    p: &IterativeLabelParams,
) -> Result<Image<u8>> {
    let (d, s) = labels_u8(seg, "iterative_label")?;
    let loc_data = match loc {
        None => None,
        Some(l) => {
            let (_, ld) = labels_u8(l, "iterative_label localizer")?;
            let limg = Image::new(*l.geometry(), ld)?;
            let r = super::resample::resample_nearest_u8(&limg, seg.geometry())?;
            Some(r.into_data())
        }
    };
    // Label 0 never takes part unless a parameter lists it; then the whole volume is used.
    let lists = [
        &p.disc_labels,
        &p.disc_landmark_labels,
        &p.selected_disc_landmarks,
        &p.vertebrae_labels,
        &p.vertebrae_extra_labels,
        &p.canal_labels,
        &p.cord_labels,
        &p.sacrum_labels,
    ];
    let zero_listed =
        lists.iter().any(|l| l.contains(&0)) || p.map_input.iter().any(|&(a, _)| a == 0);
    let margin = p.dilation_size.max(1) + 2;
    let bx = if zero_listed {
        None
    } else {
        boxed(d, &s, margin)?
    };
    let out = match bx {
        Some(bx) => {
            let l = loc_data.as_deref().map(|l| bx.cut(d, l));
            let r =
                super::iterative::iterative_label_at(bx.d, &bx.data, l.as_deref(), p, bx.off())?;
            bx.paste(d, &r)
        }
        None => iterative_label(d, &s, loc_data.as_deref(), p)?,
    };
    out_u8(*seg.geometry(), out)
}

/// `fill_canal` on an image.
pub fn fill_canal(
    seg: &DynImage,
    canal_label: u8,
    cord_label: u8,
    largest_canal: bool,
    largest_cord: bool,
) -> Result<Image<u8>> {
    let (d, s) = labels_u8(seg, "fill_canal")?;
    let run = |d: Dims, s: &[u8]| {
        utils::fill_canal(d, s, canal_label, cord_label, largest_canal, largest_cord)
    };
    // Nothing happens outside the box of the non-zero voxels (canal label 0 would fill
    // background: whole volume then).
    let bx = if canal_label == 0 {
        None
    } else {
        boxed(d, &s, 1)?
    };
    let out = match bx {
        Some(bx) => bx.paste(d, &run(bx.d, &bx.data)?),
        None => run(d, &s)?,
    };
    out_u8(*seg.geometry(), out)
}

/// `extract_alternate` on an image: 0/1 uint8 mask of every other present label.
pub fn extract_alternate(seg: &DynImage, labels: &[u8], prioritize: &[u8]) -> Result<Image<u8>> {
    let (_, s) = labels_u8(seg, "extract_alternate")?;
    out_u8(
        *seg.geometry(),
        utils::extract_alternate(&s, labels, prioritize),
    )
}

/// `extract_levels` on an image: reoriented to the closest canonical (RAS) orientation, worked
/// on, and reoriented back, as the reference's SCT image class does.
pub fn extract_levels_image(seg: &DynImage, p: &LevelsParams) -> Result<Image<u8>> {
    let (_, s) = labels_u8(seg, "extract_levels")?;
    let img = Image::new(*seg.geometry(), s)?;
    let (canon, undo) = super::resample::to_canonical(&img)?;
    let g = canon.geometry();
    let out = extract_levels(Dims::new(g.size), canon.data(), g.spacing[2], p)?;
    let out = Image::new(*g, out)?;
    super::resample::undo_canonical(&out, &undo)
}

/// The `probabilities` channel `label - 1` of a step-1 npz (shape `(regions, z, y, x)`,
/// float32) as an image on the segmentation's grid.
pub fn npz_channel(npz: &crate::io::npy::Npz, label: usize, grid: &Geometry) -> Result<Vec<f32>> {
    let a = npz.array("probabilities")?;
    let shape = a.shape().to_vec();
    let want = [grid.size[2], grid.size[1], grid.size[0]];
    if shape.len() != 4 || shape[1..] != want {
        return Err(Error::mismatch(format!(
            "extract_soft: probabilities of shape {shape:?} do not match the segmentation grid (expected (regions, {}, {}, {}))",
            want[0], want[1], want[2]
        )));
    }
    if label == 0 || label > shape[0] {
        return Err(Error::invalid_argument(format!(
            "extract_soft: label {label} outside the {} probability channels",
            shape[0]
        )));
    }
    if a.pixel_type() != crate::image::PixelType::F32 {
        return Err(Error::pixel_type(format!(
            "extract_soft: probabilities are {}, expected float32",
            a.pixel_type()
        )));
    }
    let n = grid.voxel_count();
    let bytes = a.bytes();
    let start = (label - 1) * n * 4;
    let chunk = bytes
        .get(start..start + n * 4)
        .ok_or_else(|| Error::format("extract_soft: probabilities buffer too short"))?;
    Ok(chunk
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect())
}

/// `extract_soft` on images.
pub fn extract_soft(
    prob: &[f32],
    seg: &DynImage,
    seg_labels: &[u8],
    dilate: usize,
    largest: bool,
) -> Result<Image<f32>> {
    let (d, s) = labels_u8(seg, "extract_soft")?;
    Image::new(
        *seg.geometry(),
        utils::extract_soft(d, prob, &s, seg_labels, dilate, largest)?,
    )
}

/// `crop_image2seg`: crop `image` to the segmentation's bounding box widened by `margin`.
/// The image must be on the segmentation's grid. An empty segmentation returns the image
/// unchanged (as the reference does).
pub fn crop_image_to_seg(image: &DynImage, seg: &DynImage, margin: usize) -> Result<DynImage> {
    same_grid(image.geometry(), seg.geometry(), "crop_image2seg")?;
    let (d, s) = labels_u8(seg, "crop_image2seg")?;
    match utils::crop_box(d, &s, margin)? {
        None => Ok(image.clone()),
        Some(b) => super::resample::crop(image, b),
    }
}

/// Check that a label map is not empty (used by the pipeline to name the case in errors).
pub fn require_nonempty(seg: &DynImage, what: &str) -> Result<()> {
    let (_, s) = labels_u8(seg, what)?;
    empty_check(&s, what)
}
