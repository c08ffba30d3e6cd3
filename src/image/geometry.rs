//! The image grid: size, spacing, origin and direction in LPS physical space.
//!
//! Index `(i, j, k)` maps to the physical point
//! `p = origin + D · diag(spacing) · (i, j, k)ᵀ`, where `D` is the 3×3 direction matrix whose
//! **columns** are the unit vectors of the i, j and k axes (as `itk::ImageBase`). Physical space is
//! LPS (x → patient Left, y → Posterior, z → Superior) everywhere inside medseg; RAS appears only
//! at the NIfTI and Slicer edges through [`ras_lps_flip`].
//!
//! ```
//! use medseg::image::Geometry;
//! // 3×3×3 grid, 2 mm voxels, origin (10, 20, 30), axes flipped in i.
//! let g = Geometry::new([3, 3, 3], [2.0; 3], [10.0, 20.0, 30.0],
//!     [-1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]).unwrap();
//! assert_eq!(g.index_to_point([1.0, 1.0, 1.0]), [8.0, 22.0, 32.0]);
//! let back = g.point_to_index([8.0, 22.0, 32.0]);
//! assert!((back[0] - 1.0).abs() < 1e-12);
//! ```

use crate::error::{Error, Result};

/// Tolerance on `DᵀD = I` accepted by [`Geometry::validate`] (per element). NIfTI stores
/// quaternions and sforms in float32, so directions read from files are orthonormal only to about
/// 1e-6; ITK accepts up to 1e-4 by default (its `DirectionTolerance`), and so do we.
pub const DIRECTION_TOLERANCE: f64 = 1e-4;

/// A 3×3 matrix stored row-major: element (r, c) at `r * 3 + c`.
pub type Mat3 = [f64; 9];

/// The identity direction.
pub const IDENTITY: Mat3 = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0];

/// Size, spacing, origin and direction of a 3-D grid (a 2-D image has `size[2] == 1`).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Geometry {
    /// Voxels along i, j, k.
    pub size: [usize; 3],
    /// Millimetres between voxel centres along i, j, k.
    pub spacing: [f64; 3],
    /// Physical position (LPS, mm) of the centre of voxel (0, 0, 0).
    pub origin: [f64; 3],
    /// Row-major 3×3; column c is the unit vector of axis c in LPS.
    pub direction: Mat3,
}

impl Geometry {
    /// A validated geometry.
    pub fn new(
        size: [usize; 3],
        spacing: [f64; 3],
        origin: [f64; 3],
        direction: Mat3,
    ) -> Result<Self> {
        let g = Geometry {
            size,
            spacing,
            origin,
            direction,
        };
        g.validate()?;
        Ok(g)
    }

    /// Identity direction, unit spacing, zero origin.
    pub fn with_size(size: [usize; 3]) -> Result<Self> {
        Self::new(size, [1.0; 3], [0.0; 3], IDENTITY)
    }

    /// Check sizes > 0 (and their product fits in memory arithmetic), spacing finite and > 0,
    /// origin finite, direction orthonormal within [`DIRECTION_TOLERANCE`].
    pub fn validate(&self) -> Result<()> {
        if self.size.contains(&0) {
            return Err(Error::invalid_geometry(format!(
                "size {:?} has a zero axis",
                self.size
            )));
        }
        self.size
            .iter()
            .try_fold(1usize, |a, &b| a.checked_mul(b))
            .ok_or_else(|| {
                Error::too_large(format!("size {:?} overflows the voxel count", self.size))
            })?;
        for (a, s) in self.spacing.iter().enumerate() {
            if !s.is_finite() || *s <= 0.0 {
                return Err(Error::invalid_geometry(format!(
                    "spacing {s} along axis {a} is not a positive finite number"
                )));
            }
        }
        if self.origin.iter().any(|o| !o.is_finite()) {
            return Err(Error::invalid_geometry(format!(
                "origin {:?} is not finite",
                self.origin
            )));
        }
        if self.direction.iter().any(|d| !d.is_finite()) {
            return Err(Error::invalid_geometry(
                "direction has a non-finite element",
            ));
        }
        let d = &self.direction;
        for a in 0..3 {
            for b in 0..3 {
                let dot: f64 = (0..3).map(|r| d[r * 3 + a] * d[r * 3 + b]).sum();
                let want = if a == b { 1.0 } else { 0.0 };
                if (dot - want).abs() > DIRECTION_TOLERANCE {
                    return Err(Error::invalid_geometry(format!(
                        "direction {d:?} is not orthonormal (columns {a}·{b} = {dot:.6})"
                    )));
                }
            }
        }
        Ok(())
    }

    /// Number of voxels.
    pub fn voxel_count(&self) -> usize {
        self.size[0] * self.size[1] * self.size[2]
    }

    /// Linear offset of index (i, j, k) in an i-fastest buffer.
    #[inline]
    pub fn offset(&self, i: usize, j: usize, k: usize) -> usize {
        i + self.size[0] * (j + self.size[1] * k)
    }

    /// Column `axis` of the direction matrix.
    pub fn axis(&self, axis: usize) -> [f64; 3] {
        [
            self.direction[axis],
            self.direction[3 + axis],
            self.direction[6 + axis],
        ]
    }

    /// Continuous index → physical point (LPS, mm).
    pub fn index_to_point(&self, idx: [f64; 3]) -> [f64; 3] {
        let mut p = self.origin;
        for (r, pr) in p.iter_mut().enumerate() {
            for (c, ic) in idx.iter().enumerate() {
                *pr += self.direction[r * 3 + c] * self.spacing[c] * ic;
            }
        }
        p
    }

    /// Physical point (LPS, mm) → continuous index, using `Dᵀ` as the inverse of the
    /// orthonormal direction.
    pub fn point_to_index(&self, p: [f64; 3]) -> [f64; 3] {
        let v = [
            p[0] - self.origin[0],
            p[1] - self.origin[1],
            p[2] - self.origin[2],
        ];
        let mut idx = [0.0; 3];
        for (c, ic) in idx.iter_mut().enumerate() {
            let dot: f64 = (0..3).map(|r| self.direction[r * 3 + c] * v[r]).sum();
            *ic = dot / self.spacing[c];
        }
        idx
    }

    /// The 4×4 index→LPS affine, row-major.
    pub fn affine_lps(&self) -> [[f64; 4]; 4] {
        let mut m = [[0.0; 4]; 4];
        for r in 0..3 {
            for c in 0..3 {
                m[r][c] = self.direction[r * 3 + c] * self.spacing[c];
            }
            m[r][3] = self.origin[r];
        }
        m[3][3] = 1.0;
        m
    }

    /// Orientation letters (DICOM/ITK convention: the direction each axis points *towards*;
    /// identity = "LPS"), from the dominant component of each axis.
    pub fn orientation_code(&self) -> String {
        (0..3)
            .map(|c| {
                let a = self.axis(c);
                let r = (0..3)
                    .max_by(|&x, &y| a[x].abs().total_cmp(&a[y].abs()))
                    .unwrap_or(0);
                let pos = a[r] >= 0.0;
                match (r, pos) {
                    (0, true) => 'L',
                    (0, false) => 'R',
                    (1, true) => 'P',
                    (1, false) => 'A',
                    (_, true) => 'S',
                    (_, false) => 'I',
                }
            })
            .collect()
    }

    /// True when both grids have the same size and agree in spacing, origin and direction within
    /// `tol` (absolute, mm for origin).
    pub fn same_grid(&self, other: &Geometry, tol: f64) -> bool {
        self.size == other.size
            && self
                .spacing
                .iter()
                .zip(other.spacing)
                .all(|(a, b)| (a - b).abs() <= tol)
            && self
                .origin
                .iter()
                .zip(other.origin)
                .all(|(a, b)| (a - b).abs() <= tol)
            && self
                .direction
                .iter()
                .zip(other.direction)
                .all(|(a, b)| (a - b).abs() <= tol)
    }
}

/// The one place where LPS and RAS meet: negate the first two rows of a direction matrix and the
/// first two components of a point. The map is its own inverse (RAS→LPS and LPS→RAS).
///
/// ```
/// use medseg::image::ras_lps_flip;
/// let (d, o) = ras_lps_flip(&medseg::image::IDENTITY, [1.0, 2.0, 3.0]);
/// assert_eq!(o, [-1.0, -2.0, 3.0]);
/// assert_eq!(d[0], -1.0);
/// assert_eq!(d[4], -1.0);
/// assert_eq!(d[8], 1.0);
/// ```
pub fn ras_lps_flip(direction: &Mat3, point: [f64; 3]) -> (Mat3, [f64; 3]) {
    let mut d = *direction;
    for v in d.iter_mut().take(6) {
        *v = -*v;
    }
    (d, [-point[0], -point[1], point[2]])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_bad_grids() {
        assert!(Geometry::new([0, 1, 1], [1.0; 3], [0.0; 3], IDENTITY).is_err());
        assert!(Geometry::new([1, 1, 1], [0.0, 1.0, 1.0], [0.0; 3], IDENTITY).is_err());
        assert!(Geometry::new([1, 1, 1], [f64::NAN, 1.0, 1.0], [0.0; 3], IDENTITY).is_err());
        let skew = [1.0, 0.5, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0];
        assert!(Geometry::new([1, 1, 1], [1.0; 3], [0.0; 3], skew).is_err());
        assert!(Geometry::new([usize::MAX, 2, 2], [1.0; 3], [0.0; 3], IDENTITY).is_err());
    }

    #[test]
    fn index_point_round_trip_oblique() {
        let (s, c) = (0.3f64.sin(), 0.3f64.cos());
        let d = [c, -s, 0.0, s, c, 0.0, 0.0, 0.0, 1.0];
        let g = Geometry::new([4, 5, 6], [0.7, 0.8, 2.5], [-10.0, 5.0, 3.0], d).unwrap();
        let p = g.index_to_point([1.5, 2.0, 3.25]);
        let i = g.point_to_index(p);
        for (a, b) in i.iter().zip([1.5, 2.0, 3.25]) {
            assert!((a - b).abs() < 1e-12);
        }
        assert_eq!(g.orientation_code(), "LPS");
    }
}
