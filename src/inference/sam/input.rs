//! Medical images in, SAM slices out: intensities to uint8 as the MedSAM challenge's
//! `pre_CT_MR.py` does, and boxes given in millimetres turned into voxel indices.
//!
//! * **Intensity** ([`Intensity`]): uint8 images are used as they are; a CT window (preset name
//!   or level/width) clips to `L ± W/2` and rescales the clipped volume's own min..max to 0..255
//!   (truncated); MR/PET rescale the 0.5–99.5 percentiles of the voxels `> 0` with zeros kept
//!   (both in [`crate::preprocess::intensity`]). `Auto` picks the abdomen window for CT-like
//!   images (minimum ≤ −500) and the percentile rule otherwise, and says which in a note.
//! * **Boxes in mm** ([`box_from_mm`]): both corners (LPS, or RAS with the flag) go through the
//!   image's geometry to continuous indices, are rounded to the nearest voxel, and the box is the
//!   per-axis min..max of the two — so any orientation works.
//!
//! ```
//! use medseg::image::Geometry;
//! use medseg::inference::sam::input::box_from_mm;
//! let mut g = Geometry::with_size([10, 10, 5]).unwrap();
//! g.spacing = [2.0, 2.0, 3.0];
//! // LPS (4, 6, 3) .. (10, 12, 9) mm → voxels (2, 3, 1) .. (5, 6, 3).
//! let b = box_from_mm(&g, [4.0, 6.0, 3.0], [10.0, 12.0, 9.0], false).unwrap();
//! assert_eq!(b, [2.0, 3.0, 1.0, 5.0, 6.0, 3.0]);
//! ```

use super::SamBackend;
use super::propagate::{EmbeddingCache, Engine, Outcome, SliceStack};
use crate::error::{Error, Result};
use crate::image::{DynImage, Geometry, Image};
use crate::inference::Progress;
use crate::preprocess::intensity::{self, OutRange, WindowScale};

/// How intensities become uint8.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Intensity {
    /// uint8 as is; else CT window (abdomen) for CT-like images, percentiles otherwise.
    Auto,
    /// CT window: level, width (HU).
    Window {
        /// Level.
        level: f64,
        /// Width.
        width: f64,
    },
    /// MR/PET: 0.5–99.5 percentiles of the voxels > 0, zeros kept.
    Percentiles,
}

impl std::str::FromStr for Intensity {
    type Err = Error;
    /// `auto`, `percentiles`, a CT preset name (`brain`, `lung`, `abdomen`, `bone`, …) or
    /// `LEVEL,WIDTH`.
    fn from_str(s: &str) -> Result<Intensity> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => return Ok(Intensity::Auto),
            "percentiles" | "mr" | "pet" => return Ok(Intensity::Percentiles),
            _ => {}
        }
        if let Some((l, w)) = s.split_once(',') {
            let p = |v: &str| {
                v.trim().parse::<f64>().map_err(|_| {
                    Error::invalid_argument(format!(
                        "window '{s}': expected LEVEL,WIDTH numbers or a preset name"
                    ))
                })
            };
            return Ok(Intensity::Window {
                level: p(l)?,
                width: p(w)?,
            });
        }
        let (level, width) = intensity::preset(s)?;
        Ok(Intensity::Window { level, width })
    }
}

/// The image as uint8 with its geometry (components kept for uint8 colour images), and a note
/// saying which rule was applied.
pub fn to_u8(img: &DynImage, rule: Intensity) -> Result<(Image<u8>, String)> {
    let (components, frames) = crate::dispatch!(img, i => (i.components(), i.frames()));
    if frames != 1 {
        return Err(Error::unsupported(format!(
            "a 4-D image ({frames} frames); SAM models take one 2D or 3D image — select a frame first"
        )));
    }
    if let DynImage::U8(u) = img
        && rule == Intensity::Auto
    {
        return Ok((u.clone(), "uint8 input used as is".into()));
    }
    if components != 1 {
        return Err(Error::pixel_type(format!(
            "a colour image with {components} components must be uint8 (got {})",
            img.pixel_type()
        )));
    }
    let rule = match rule {
        Intensity::Auto => {
            let min = crate::dispatch!(img, i => i.stats().min);
            if min <= -500.0 {
                let (level, width) = intensity::preset("abdomen")?;
                Intensity::Window { level, width }
            } else {
                Intensity::Percentiles
            }
        }
        r => r,
    };
    let (out, note) = match rule {
        Intensity::Window { level, width } => {
            let (o, (lo, hi)) =
                intensity::window_dyn(img, level, width, WindowScale::ClippedRange, OutRange::U8)?;
            (
                o,
                format!(
                    "CT window level {level} width {width} (clipped range {lo}..{hi} → 0..255)"
                ),
            )
        }
        _ => {
            let (o, (lo, hi)) =
                intensity::percentile_normalize_dyn(img, 0.5, 99.5, true, OutRange::U8)?;
            (
                o,
                format!("0.5–99.5 percentiles of voxels > 0 ({lo}..{hi} → 0..255)"),
            )
        }
    };
    match out {
        DynImage::U8(u) => Ok((u, note)),
        _ => Err(Error::internal("intensity rescale did not give uint8")),
    }
}

/// A box given by two corners in mm → voxel box `(i0, j0, k0, i1, j1, k1)` (see module docs).
pub fn box_from_mm(g: &Geometry, a: [f64; 3], b: [f64; 3], ras: bool) -> Result<[f64; 6]> {
    if a.iter().chain(&b).any(|v| !v.is_finite()) {
        return Err(Error::invalid_argument(format!(
            "box corners {a:?} {b:?} must be finite"
        )));
    }
    let lps = |p: [f64; 3]| if ras { [-p[0], -p[1], p[2]] } else { p };
    let ia = g.point_to_index(lps(a)).map(f64::round);
    let ib = g.point_to_index(lps(b)).map(f64::round);
    Ok([
        ia[0].min(ib[0]),
        ia[1].min(ib[1]),
        ia[2].min(ib[2]),
        ia[0].max(ib[0]),
        ia[1].max(ib[1]),
        ia[2].max(ib[2]),
    ])
}

/// A box prompt on a medical image.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum BoxPrompt {
    /// Voxel indices `(i0, j0, i1, j1)` on a 2D image (one slice).
    Voxel2d([f64; 4]),
    /// Voxel indices `(i0, j0, k0, i1, j1, k1)`, inclusive.
    Voxel([f64; 6]),
    /// Two corners in mm (LPS; RAS when `ras`).
    Mm {
        /// First corner.
        a: [f64; 3],
        /// Opposite corner.
        b: [f64; 3],
        /// The corners are RAS (Slicer, NIfTI) rather than LPS.
        ras: bool,
    },
}

/// A segmentation of a medical image: labels on the input grid, with volumes.
#[derive(Debug, Clone)]
pub struct ImageSegmentation {
    /// Label image (1-based box index; uint8, uint16 beyond 255 boxes), the input's geometry.
    pub labels: DynImage,
    /// Volume of each box's label in mL (index 0 = box 1), after overwriting.
    pub volumes_ml: Vec<f64>,
    /// The intensity rule used, and the rules applied to degenerate boxes.
    pub notes: Vec<String>,
    /// The engine's outcome (calls, timings).
    pub outcome: Outcome,
}

/// Segment a medical image with box prompts: intensities to uint8 ([`to_u8`]), boxes to voxels,
/// 2D (all boxes in one decoder call) when the image has one slice and every box has 4 values,
/// else 3D propagation; labels on the input grid.
pub fn segment_image<B: SamBackend + ?Sized>(
    backend: &B,
    image: &DynImage,
    boxes: &[BoxPrompt],
    rule: Intensity,
    cache_bytes: usize,
    progress: Progress<'_>,
) -> Result<ImageSegmentation> {
    if boxes.is_empty() {
        return Err(Error::invalid_argument(
            "no box given (at least one box is needed)",
        ));
    }
    let (u8img, note) = to_u8(image, rule)?;
    let g = *u8img.geometry();
    let [ni, nj, nk] = g.size;
    let stack = SliceStack::new(u8img.data(), nk, nj, ni, u8img.components())?;
    let mut cache = EmbeddingCache::new(cache_bytes);
    let mut engine = Engine::new(backend);
    let all_2d = boxes.iter().all(|b| matches!(b, BoxPrompt::Voxel2d(_)));
    let mut out = if all_2d {
        if nk != 1 {
            return Err(Error::invalid_argument(format!(
                "the image has {nk} slices: boxes need 6 values (i0,j0,k0,i1,j1,k1)"
            )));
        }
        let b: Vec<[f64; 4]> = boxes
            .iter()
            .map(|b| match b {
                BoxPrompt::Voxel2d(v) => *v,
                _ => unreachable!(),
            })
            .collect();
        let o = engine.segment_2d(&stack, &mut cache, 0, &b)?;
        progress(1.0, "segmenting");
        o
    } else {
        let mut b6 = Vec::with_capacity(boxes.len());
        for b in boxes {
            b6.push(match *b {
                BoxPrompt::Voxel(v) => v,
                BoxPrompt::Voxel2d([x0, y0, x1, y1]) => [x0, y0, 0.0, x1, y1, 0.0],
                BoxPrompt::Mm { a, b, ras } => box_from_mm(&g, a, b, ras)?,
            });
        }
        let mut o = engine.segment_3d(&stack, &mut cache, &b6, progress)?;
        if nk == 1 {
            o.notes.retain(|n| !n.contains("spans one slice"));
        }
        o
    };
    let voxel_ml = g.spacing.iter().product::<f64>() / 1000.0;
    let mut counts = vec![0usize; boxes.len() + 1];
    for &l in &out.labels {
        counts[l as usize] += 1;
    }
    let volumes_ml = counts[1..].iter().map(|&c| c as f64 * voxel_ml).collect();
    let labels: DynImage = if boxes.len() <= 255 {
        Image::new(g, out.labels.iter().map(|&v| v as u8).collect())?.into()
    } else {
        Image::new(g, std::mem::take(&mut out.labels))?.into()
    };
    let mut notes = vec![note];
    notes.extend(out.notes.iter().cloned());
    Ok(ImageSegmentation {
        labels,
        volumes_ml,
        notes,
        outcome: out,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intensity_parsing() {
        assert_eq!(
            "brain".parse::<Intensity>().unwrap(),
            Intensity::Window {
                level: 40.0,
                width: 80.0
            }
        );
        assert_eq!(
            "-600,1500".parse::<Intensity>().unwrap(),
            Intensity::Window {
                level: -600.0,
                width: 1500.0
            }
        );
        assert!("nonsense".parse::<Intensity>().is_err());
        assert!("1,x".parse::<Intensity>().is_err());
    }

    #[test]
    fn auto_rule_and_errors() {
        let g = Geometry::with_size([4, 1, 1]).unwrap();
        let ct = Image::new(g, vec![-1000i16, 0, 40, 400]).unwrap();
        let (u, note) = to_u8(&ct.into(), Intensity::Auto).unwrap();
        assert!(note.contains("CT window"));
        assert_eq!(u.data(), &[0, 102, 127, 255]);
        let mr = Image::new(g, vec![0f32, 10.0, 20.0, 30.0]).unwrap();
        let (u, note) = to_u8(&mr.into(), Intensity::Auto).unwrap();
        assert!(note.contains("percentiles"));
        assert_eq!(u.data()[0], 0);
        let four_d = Image::with_layout(g, 1, 2, vec![0i16; 8]).unwrap();
        assert!(to_u8(&four_d.into(), Intensity::Auto).is_err());
    }

    #[test]
    fn ras_boxes_flip_x_and_y() {
        let g = Geometry::with_size([10, 10, 5]).unwrap();
        let b = box_from_mm(&g, [-2.0, -3.0, 1.0], [-5.0, -6.0, 2.0], true).unwrap();
        assert_eq!(b, [2.0, 3.0, 1.0, 5.0, 6.0, 2.0]);
    }
}
