//! Reorientation by axis permutation and flips only (no interpolation).
//!
//! Orientation codes are three letters naming the patient direction towards which the i, j and k
//! indices **increase** (the DICOM/ITK-`DICOMOrient` convention: an identity LPS direction is
//! `"LPS"`). nibabel's "RAS+ canonical" (`as_closest_canonical`) is the code `"RAS"` in this
//! convention; ITK's legacy `SpatialOrientation` enum names the opposite letters (`RAI` for
//! `"LPS"`), a trap this module avoids by never using those names.
//!
//! The closest code of an oblique grid is found like nibabel's `io_orientation` and ITK's
//! direction-cosine adapter: for i, then j, then k, take the physical axis with the largest
//! absolute component among those not yet used.
//!
//! ```
//! use medseg::image::{Geometry, Image};
//! use medseg::preprocess::orient::{reorient, AxisCode};
//! // 2×1×1 LPS image; reorienting to RAS flips i (and j, which has one voxel).
//! let g = Geometry::new([2, 1, 1], [1.0; 3], [0.0; 3], medseg::image::IDENTITY).unwrap();
//! let img = Image::new(g, vec![1u8, 2]).unwrap();
//! let (out, undo) = reorient(&img, &AxisCode::parse("RAS").unwrap()).unwrap();
//! assert_eq!(out.data(), &[2, 1]);
//! assert_eq!(out.geometry().origin, [1.0, 0.0, 0.0]);
//! assert_eq!(out.geometry().orientation_code(), "RAS");
//! assert_eq!(undo.apply(&out).unwrap(), img);
//! ```

use crate::error::{Error, Result};
use crate::image::{DynImage, Geometry, Image, Pixel};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// A patient direction: physical LPS axis (0 = x, 1 = y, 2 = z) and sign (+1 towards L, P, S).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dir {
    pub axis: usize,
    pub positive: bool,
}

impl Dir {
    fn letter(self) -> char {
        match (self.axis, self.positive) {
            (0, true) => 'L',
            (0, false) => 'R',
            (1, true) => 'P',
            (1, false) => 'A',
            (_, true) => 'S',
            (_, false) => 'I',
        }
    }
}

/// Three directions, one per index axis (i, j, k), covering x, y and z once each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AxisCode(pub [Dir; 3]);

impl AxisCode {
    /// Parse a code like `RAS`, `LPS`, `LPI`, `PIR` (case-insensitive).
    pub fn parse(s: &str) -> Result<AxisCode> {
        let chars: Vec<char> = s.trim().to_ascii_uppercase().chars().collect();
        if chars.len() != 3 {
            return Err(Error::invalid_argument(format!(
                "orientation code '{s}' must have three letters (e.g. RAS, LPS)"
            )));
        }
        let mut dirs = [Dir {
            axis: 0,
            positive: true,
        }; 3];
        let mut used = [false; 3];
        for (d, c) in dirs.iter_mut().zip(&chars) {
            let (axis, positive) = match c {
                'L' => (0, true),
                'R' => (0, false),
                'P' => (1, true),
                'A' => (1, false),
                'S' => (2, true),
                'I' => (2, false),
                other => {
                    return Err(Error::invalid_argument(format!(
                        "orientation code '{s}': letter '{other}' is not one of L R P A S I"
                    )));
                }
            };
            if used[axis] {
                return Err(Error::invalid_argument(format!(
                    "orientation code '{s}' names the same body axis twice"
                )));
            }
            used[axis] = true;
            *d = Dir { axis, positive };
        }
        Ok(AxisCode(dirs))
    }

    /// The closest code of a grid (greedy over i, j, k; see the module docs).
    pub fn of_geometry(g: &Geometry) -> AxisCode {
        let mut used = [false; 3];
        let mut dirs = [Dir {
            axis: 0,
            positive: true,
        }; 3];
        for (c, d) in dirs.iter_mut().enumerate() {
            let col = g.axis(c);
            let mut best = None::<usize>;
            for r in 0..3 {
                if used[r] {
                    continue;
                }
                best = match best {
                    Some(b) if col[b].abs() >= col[r].abs() => Some(b),
                    _ => Some(r),
                };
            }
            let r = best.unwrap_or(0);
            used[r] = true;
            *d = Dir {
                axis: r,
                positive: col[r] >= 0.0,
            };
        }
        AxisCode(dirs)
    }

    /// nibabel's closest canonical orientation (RAS+ in nibabel's naming) = code `RAS` here.
    pub fn canonical() -> AxisCode {
        AxisCode([
            Dir {
                axis: 0,
                positive: false,
            },
            Dir {
                axis: 1,
                positive: false,
            },
            Dir {
                axis: 2,
                positive: true,
            },
        ])
    }
}

impl std::fmt::Display for AxisCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for d in self.0 {
            write!(f, "{}", d.letter())?;
        }
        Ok(())
    }
}

/// A permutation with flips from an input grid to an output grid: output axis `a` reads input
/// axis `src[a]`, reversed when `flip[a]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AxisMap {
    pub src: [usize; 3],
    pub flip: [bool; 3],
}

impl AxisMap {
    /// The map that takes a grid with closest code `from` to code `to`.
    pub fn between(from: &AxisCode, to: &AxisCode) -> AxisMap {
        let mut src = [0usize; 3];
        let mut flip = [false; 3];
        for a in 0..3 {
            let want = to.0[a];
            let s = (0..3).find(|&s| from.0[s].axis == want.axis).unwrap_or(a);
            src[a] = s;
            flip[a] = from.0[s].positive != want.positive;
        }
        AxisMap { src, flip }
    }

    /// The map from `g`'s own axes to the orientation `to`.
    pub fn to_code(g: &Geometry, to: &AxisCode) -> AxisMap {
        Self::between(&AxisCode::of_geometry(g), to)
    }

    /// True when nothing moves.
    pub fn is_identity(&self) -> bool {
        self.src == [0, 1, 2] && self.flip == [false; 3]
    }

    /// The inverse map (output → input).
    pub fn inverse(&self) -> AxisMap {
        let mut src = [0usize; 3];
        let mut flip = [false; 3];
        for a in 0..3 {
            src[self.src[a]] = a;
            flip[self.src[a]] = self.flip[a];
        }
        AxisMap { src, flip }
    }

    /// The output grid: sizes and spacings permuted, direction columns permuted and negated where
    /// flipped, origin moved to the input position of the new first voxel.
    pub fn geometry(&self, g: &Geometry) -> Geometry {
        let mut out = *g;
        let mut corner = [0.0f64; 3];
        for a in 0..3 {
            let s = self.src[a];
            out.size[a] = g.size[s];
            out.spacing[a] = g.spacing[s];
            let sign = if self.flip[a] { -1.0 } else { 1.0 };
            for r in 0..3 {
                out.direction[r * 3 + a] = sign * g.direction[r * 3 + s];
            }
            if self.flip[a] {
                corner[s] = (g.size[s] - 1) as f64;
            }
        }
        out.origin = g.index_to_point(corner);
        out
    }

    /// Input index of output index `o` on an input grid of `size`.
    #[inline]
    pub fn source_index(&self, size: [usize; 3], o: [usize; 3]) -> [usize; 3] {
        let mut idx = [0usize; 3];
        for a in 0..3 {
            let s = self.src[a];
            idx[s] = if self.flip[a] {
                size[s].saturating_sub(1).saturating_sub(o[a])
            } else {
                o[a]
            };
        }
        idx
    }
}

/// What [`reorient`] did, enough to put a result back on the input grid exactly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrientUndo {
    /// The map applied (input → output).
    pub map: AxisMap,
    /// The input grid, restored verbatim by [`OrientUndo::apply`].
    pub input: Geometry,
}

impl OrientUndo {
    /// Move an image on the reoriented grid back onto the input grid (bit-exact geometry).
    pub fn apply<T: Pixel>(&self, img: &Image<T>) -> Result<Image<T>> {
        let expect = self.map.geometry(&self.input);
        if img.geometry().size != expect.size {
            return Err(Error::mismatch(format!(
                "undo reorientation: image size {:?} is not the reoriented size {:?}",
                img.geometry().size,
                expect.size
            )));
        }
        let mut out = permute(img, &self.map.inverse())?;
        out.set_geometry(self.input)?;
        Ok(out)
    }

    /// [`OrientUndo::apply`] for a run-time-typed image.
    pub fn apply_dyn(&self, img: &DynImage) -> Result<DynImage> {
        crate::dispatch!(img, i => self.apply(i).map(DynImage::from))
    }
}

/// Copy `img` through `map` (any components / frames). The geometry follows [`AxisMap::geometry`].
pub fn permute<T: Pixel>(img: &Image<T>, map: &AxisMap) -> Result<Image<T>> {
    let g = *img.geometry();
    let out_g = map.geometry(&g);
    let c = img.components();
    let frames = img.frames();
    let n = g.voxel_count() * c;
    if map.is_identity() {
        return Image::with_layout(out_g, c, frames, img.data().to_vec());
    }
    let [si, sj, sk] = [c, c * g.size[0], c * g.size[0] * g.size[1]];
    let in_stride = [si, sj, sk];
    // Signed step in the input buffer when output axis a increases.
    let mut step = [0isize; 3];
    let mut start = 0usize;
    for a in 0..3 {
        let s = map.src[a];
        let st = in_stride[s] as isize;
        if map.flip[a] {
            step[a] = -st;
            start += (g.size[s] - 1) * in_stride[s];
        } else {
            step[a] = st;
        }
    }
    let [oi, oj, _ok] = out_g.size;
    let plane = oi * oj * c;
    let mut data = vec![T::default(); n * frames];
    let src_all = img.data();
    data.par_chunks_mut(plane)
        .enumerate()
        .for_each(|(pk, out_plane)| {
            let f = pk / out_g.size[2];
            let k = pk % out_g.size[2];
            let src = &src_all[f * n..(f + 1) * n];
            let base_k = start as isize + k as isize * step[2];
            // Fast path: the output rows are input rows (forward or reversed).
            if c == 1 && map.src[0] == 0 {
                for j in 0..oj {
                    let base = (base_k + j as isize * step[1]) as usize;
                    let row = &mut out_plane[j * oi..(j + 1) * oi];
                    if map.flip[0] {
                        let s = &src[base + 1 - oi..=base];
                        row.iter_mut()
                            .zip(s.iter().rev())
                            .for_each(|(d, v)| *d = *v);
                    } else {
                        row.copy_from_slice(&src[base..base + oi]);
                    }
                }
                return;
            }
            // Tile over (i, j) so strided reads stay in cache for transposes.
            const TILE: usize = 64;
            for j0 in (0..oj).step_by(TILE) {
                for i0 in (0..oi).step_by(TILE) {
                    for j in j0..(j0 + TILE).min(oj) {
                        let base = base_k + j as isize * step[1];
                        let row = &mut out_plane[j * oi * c..(j + 1) * oi * c];
                        for i in i0..(i0 + TILE).min(oi) {
                            let o = (base + i as isize * step[0]) as usize;
                            row[i * c..(i + 1) * c].copy_from_slice(&src[o..o + c]);
                        }
                    }
                }
            }
        });
    Image::with_layout(out_g, c, frames, data)
}

/// Reorient `img` to the axis code `to` (permutation and flips only) and return the undo record.
pub fn reorient<T: Pixel>(img: &Image<T>, to: &AxisCode) -> Result<(Image<T>, OrientUndo)> {
    let map = AxisMap::to_code(img.geometry(), to);
    let out = permute(img, &map)?;
    Ok((
        out,
        OrientUndo {
            map,
            input: *img.geometry(),
        },
    ))
}

/// Reorient to nibabel's closest canonical orientation (code `RAS` here; see module docs).
pub fn to_canonical<T: Pixel>(img: &Image<T>) -> Result<(Image<T>, OrientUndo)> {
    reorient(img, &AxisCode::canonical())
}

/// [`reorient`] for a run-time-typed image.
pub fn reorient_dyn(img: &DynImage, to: &AxisCode) -> Result<(DynImage, OrientUndo)> {
    crate::dispatch!(img, i => reorient(i, to).map(|(o, u)| (DynImage::from(o), u)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::IDENTITY;

    #[test]
    fn parse_and_display() {
        assert_eq!(AxisCode::parse("ras").unwrap().to_string(), "RAS");
        assert!(AxisCode::parse("RAR").is_err());
        assert!(AxisCode::parse("RA").is_err());
        assert!(AxisCode::parse("RAX").is_err());
    }

    #[test]
    fn transpose_3x3x3() {
        let g = Geometry::new([3, 2, 1], [1.0, 2.0, 3.0], [0.0; 3], IDENTITY).unwrap();
        let img = Image::new(g, (0u8..6).collect()).unwrap();
        // PLS: output i = input j, output j = input i.
        let (out, undo) = reorient(&img, &AxisCode::parse("PLS").unwrap()).unwrap();
        assert_eq!(out.geometry().size, [2, 3, 1]);
        assert_eq!(out.geometry().spacing, [2.0, 1.0, 3.0]);
        assert_eq!(out.data(), &[0, 3, 1, 4, 2, 5]);
        assert_eq!(undo.apply(&out).unwrap(), img);
    }
}
