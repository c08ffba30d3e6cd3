//! The "MedSAM on Laptop" challenge files (medsam spec §2): an `.npz` with `imgs` (2D:
//! `H × W × 3` uint8; 3D: `D × H × W` uint8), `boxes` (2D: `N × 4` x0, y0, x1, y1; 3D: `N × 6`
//! x0, y0, z0, x1, y1, z1; inclusive pixel indices, any numeric type) and an optional `spacing`;
//! the prediction is an `.npz` of the same name holding `segs` (label = 1-based box index).
//!
//! 2D or 3D is decided as the baseline does, by the file name (`3D…` is 3D, `2D…` is 2D); other
//! names go by the box width (6 → 3D). `segs` is uint8 as the baseline writes it while there are
//! at most 255 boxes, and uint16 beyond (where the baseline's uint8 wraps around).
//!
//! ```no_run
//! use medseg::inference::onnx::SessionConfig;
//! use medseg::inference::sam::{SamModel, challenge};
//! let model = SamModel::load("models/litemedsam".as_ref(), &SessionConfig::default())?;
//! let case = challenge::read_case("3DBox_CT_0001.npz".as_ref())?;
//! let out = challenge::run_case(&model, &case, 512 << 20, &mut |_, _| true)?;
//! challenge::write_segs("segs/3DBox_CT_0001.npz".as_ref(), &case, &out.labels)?;
//! # Ok::<(), medseg::Error>(())
//! ```

use super::SamBackend;
use super::propagate::{EmbeddingCache, Engine, Outcome, SliceStack};
use crate::error::{Error, Result};
use crate::image::PixelType;
use crate::inference::Progress;
use crate::io::Limits;
use crate::io::npy::{NpyArray, Npz, write_npz};
use std::path::Path;

/// 2D picture or 3D volume.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseKind {
    /// One picture, all boxes decoded together.
    TwoD,
    /// A volume, every box propagated through its slices.
    ThreeD,
}

/// One challenge case in memory.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    /// File name without folders.
    pub name: String,
    /// 2D or 3D.
    pub kind: CaseKind,
    /// Pixels, C order.
    pub imgs: Vec<u8>,
    /// `[D, H, W]` (D = 1 in 2D).
    pub dhw: [usize; 3],
    /// Components per pixel (1 in 3D; 1, 3 or 4 in 2D).
    pub channels: usize,
    /// Boxes, 6 values each (2D boxes have z0 = z1 = 0).
    pub boxes: Vec<[f64; 6]>,
}

fn fmt_err(name: &str, m: impl std::fmt::Display) -> Error {
    Error::format(format!("{name}: {m}"))
}

/// Read and check a challenge input file.
pub fn read_case(path: &Path) -> Result<Case> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let npz = Npz::open(path, &Limits::default())?;
    let names = npz.names().join(", ");
    let imgs = npz
        .array("imgs")
        .map_err(|_| fmt_err(&name, format!("no 'imgs' array (arrays: {names})")))?;
    let boxes = npz
        .array("boxes")
        .map_err(|_| fmt_err(&name, format!("no 'boxes' array (arrays: {names})")))?;
    if imgs.pixel_type() != PixelType::U8 {
        return Err(Error::pixel_type(format!(
            "{name}: 'imgs' is {}; the challenge format stores uint8 (0..255) images",
            imgs.pixel_type()
        )));
    }
    let bs = boxes.shape().to_vec();
    let width = match bs.as_slice() {
        [n, w] if *n > 0 && (*w == 4 || *w == 6) => *w,
        [w] if *w == 4 || *w == 6 => *w,
        _ => {
            return Err(Error::invalid_argument(format!(
                "{name}: 'boxes' has shape {bs:?}; expected (N, 4) for 2D or (N, 6) for 3D"
            )));
        }
    };
    let kind = if name.starts_with("3D") {
        CaseKind::ThreeD
    } else if name.starts_with("2D") {
        CaseKind::TwoD
    } else if width == 6 {
        CaseKind::ThreeD
    } else {
        CaseKind::TwoD
    };
    let want = if kind == CaseKind::ThreeD { 6 } else { 4 };
    if width != want {
        return Err(Error::invalid_argument(format!(
            "{name}: a {} case needs boxes of {want} values, 'boxes' has shape {bs:?}",
            if want == 6 { "3D" } else { "2D" }
        )));
    }
    let s = imgs.shape().to_vec();
    let (dhw, channels) = match (kind, s.as_slice()) {
        (CaseKind::ThreeD, [d, h, w]) => ([*d, *h, *w], 1),
        (CaseKind::TwoD, [h, w, c]) if matches!(c, 1 | 3 | 4) => ([1, *h, *w], *c),
        (CaseKind::TwoD, [h, w]) => ([1, *h, *w], 1),
        _ => {
            return Err(Error::invalid_argument(format!(
                "{name}: 'imgs' has shape {s:?}; expected {}",
                if kind == CaseKind::ThreeD {
                    "(D, H, W) for a 3D case"
                } else {
                    "(H, W, 3) for a 2D case"
                }
            )));
        }
    };
    if dhw.contains(&0) {
        return Err(fmt_err(&name, format!("'imgs' of shape {s:?} is empty")));
    }
    let v = boxes.to_f64_vec();
    let boxes: Vec<[f64; 6]> = v
        .chunks_exact(width)
        .map(|c| {
            if width == 6 {
                [c[0], c[1], c[2], c[3], c[4], c[5]]
            } else {
                [c[0], c[1], 0.0, c[2], c[3], 0.0]
            }
        })
        .collect();
    Ok(Case {
        name,
        kind,
        imgs: imgs.into_bytes(),
        dhw,
        channels,
        boxes,
    })
}

/// Segment a case (2D: one batched decoder call; 3D: propagation).
pub fn run_case<B: SamBackend + ?Sized>(
    backend: &B,
    case: &Case,
    cache_bytes: usize,
    progress: Progress<'_>,
) -> Result<Outcome> {
    let [d, h, w] = case.dhw;
    let stack = SliceStack::new(&case.imgs, d, h, w, case.channels)?;
    let mut cache = EmbeddingCache::new(cache_bytes);
    let mut engine = Engine::new(backend);
    match case.kind {
        CaseKind::ThreeD => engine.segment_3d(&stack, &mut cache, &case.boxes, progress),
        CaseKind::TwoD => {
            let b: Vec<[f64; 4]> = case
                .boxes
                .iter()
                .map(|b| [b[0], b[1], b[3], b[4]])
                .collect();
            let out = engine.segment_2d(&stack, &mut cache, 0, &b)?;
            progress(1.0, "segmenting");
            Ok(out)
        }
    }
}

/// Labels as the array the challenge expects: uint8 up to 255 boxes, uint16 beyond.
pub fn segs_array(case: &Case, labels: &[u16]) -> Result<NpyArray> {
    let [d, h, w] = case.dhw;
    let shape = if case.kind == CaseKind::ThreeD {
        vec![d, h, w]
    } else {
        vec![h, w]
    };
    if case.boxes.len() <= 255 {
        NpyArray::new(
            PixelType::U8,
            shape,
            labels.iter().map(|&v| v as u8).collect(),
        )
    } else {
        NpyArray::new(
            PixelType::U16,
            shape,
            labels.iter().flat_map(|v| v.to_le_bytes()).collect(),
        )
    }
}

/// Write `segs` atomically.
pub fn write_segs(path: &Path, case: &Case, labels: &[u16]) -> Result<()> {
    let a = segs_array(case, labels)?;
    write_npz(path, &[("segs", &a)], None)
}

/// Read `input`, segment, write `output` (nothing is written on error).
pub fn run_file<B: SamBackend + ?Sized>(
    backend: &B,
    input: &Path,
    output: &Path,
    cache_bytes: usize,
    progress: Progress<'_>,
) -> Result<Outcome> {
    let case = read_case(input)?;
    let out =
        run_case(backend, &case, cache_bytes, progress).map_err(|e| e.context(input.display()))?;
    write_segs(output, &case, &out.labels)?;
    Ok(out)
}

/// The `*.npz` files of a folder, sorted by name (the challenge harness's order).
pub fn list_cases(dir: &Path) -> Result<Vec<std::path::PathBuf>> {
    let rd = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    let mut v: Vec<_> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "npz"))
        .collect();
    v.sort();
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segs_type_follows_the_box_count() {
        let mut case = Case {
            name: "2DBox_x.npz".into(),
            kind: CaseKind::TwoD,
            imgs: vec![0; 4 * 3],
            dhw: [1, 2, 2],
            channels: 3,
            boxes: vec![[0.0; 6]; 3],
        };
        let a = segs_array(&case, &[0, 1, 2, 3]).unwrap();
        assert_eq!(
            (a.pixel_type(), a.shape()),
            (PixelType::U8, &[2usize, 2][..])
        );
        case.boxes = vec![[0.0; 6]; 300];
        let a = segs_array(&case, &[0, 1, 299, 300]).unwrap();
        assert_eq!(a.pixel_type(), PixelType::U16);
    }
}
