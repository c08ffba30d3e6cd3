//! From NIfTI's qform/sform (RAS) to medseg's LPS geometry, choosing between them exactly as
//! ITK's `NiftiImageIO::SetImageIOOrientationFromNIfTI` does (ITK 5.4, SimpleITK 2.5), and back
//! (qform quaternion + sform) for writing.

use super::header::{Header, Version};
use crate::error::{Error, Result};
use crate::image::{Mat3, ras_lps_flip};

/// A 4×4 index→RAS matrix, row-major (`m[row][col]`), as niftilib's `mat44`.
pub type Mat44 = [[f64; 4]; 4];

/// NIfTI `xform` codes.
const XFORM_UNKNOWN: i32 = 0;
const XFORM_SCANNER_ANAT: i32 = 1;

/// Round to single precision, as niftilib stores `mat44` in `float`.
fn f32r(v: f64) -> f64 {
    v as f32 as f64
}

/// niftilib's `nifti_quatern_to_mat44`: the qform matrix from the quaternion (b, c, d), offsets,
/// voxel sizes (non-positive sizes count as 1) and qfac (the sign of `pixdim[0]`; negative flips
/// the third axis).
pub fn quatern_to_mat44(q: [f64; 3], off: [f64; 3], d: [f64; 3], qfac: f64) -> Mat44 {
    let (mut b, mut c, mut dd) = (q[0], q[1], q[2]);
    let mut a = 1.0 - (b * b + c * c + dd * dd);
    if a < 1e-7 {
        // 180° rotation: renormalise (b, c, d).
        let n = (b * b + c * c + dd * dd).sqrt();
        let s = if n > 0.0 { 1.0 / n } else { 0.0 };
        b *= s;
        c *= s;
        dd *= s;
        a = 0.0;
    } else {
        a = a.sqrt();
    }
    let xd = if d[0] > 0.0 { d[0] } else { 1.0 };
    let yd = if d[1] > 0.0 { d[1] } else { 1.0 };
    let mut zd = if d[2] > 0.0 { d[2] } else { 1.0 };
    if qfac < 0.0 {
        zd = -zd;
    }
    let (b, c, d) = (b, c, dd);
    [
        [
            f32r((a * a + b * b - c * c - d * d) * xd),
            f32r(2.0 * (b * c - a * d) * yd),
            f32r(2.0 * (b * d + a * c) * zd),
            f32r(off[0]),
        ],
        [
            f32r(2.0 * (b * c + a * d) * xd),
            f32r((a * a + c * c - b * b - d * d) * yd),
            f32r(2.0 * (c * d - a * b) * zd),
            f32r(off[1]),
        ],
        [
            f32r(2.0 * (b * d - a * c) * xd),
            f32r(2.0 * (c * d + a * b) * yd),
            f32r((a * a + d * d - c * c - b * b) * zd),
            f32r(off[2]),
        ],
        [0.0, 0.0, 0.0, 1.0],
    ]
}

fn col(m: &Mat44, c: usize) -> [f64; 3] {
    [m[0][c], m[1][c], m[2][c]]
}

fn norm(v: [f64; 3]) -> f64 {
    (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt()
}

fn normalized(v: [f64; 3]) -> [f64; 3] {
    let n = norm(v);
    if n == 0.0 {
        v
    } else {
        [v[0] / n, v[1] / n, v[2] / n]
    }
}

fn det3(m: &Mat44) -> f64 {
    m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
        - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
        + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
}

/// R·Rᵀ (or RᵀS for two matrices) of the column-normalised 3×3 parts, compared with the identity
/// element by element (vnl `is_identity(tol)`).
fn rot_product_is_identity(a: &[[f64; 3]; 3], b: &[[f64; 3]; 3], tol: f64) -> bool {
    // a and b hold columns: a[c] is column c. Product P = A·Bᵀ, P[r][s] = Σ_c A[r][c] B[s][c].
    (0..3).all(|r| {
        (0..3).all(|s| {
            let p: f64 = a.iter().zip(b).map(|(ca, cb)| ca[r] * cb[s]).sum();
            let want = if r == s { 1.0 } else { 0.0 };
            (p - want).abs() <= tol
        })
    })
}

fn unit_columns(m: &Mat44) -> [[f64; 3]; 3] {
    [
        normalized(col(m, 0)),
        normalized(col(m, 1)),
        normalized(col(m, 2)),
    ]
}

/// ITK's `IsAffine` for a matrix whose last row is (0, 0, 0, 1): the 3×3 part is invertible
/// (its condition number is finite). niftilib always stores the sform's last row as (0, 0, 0, 1)
/// when `sform_code > 0` and leaves it zero otherwise.
fn is_affine(m: &Mat44) -> bool {
    let bottom = (m[3][3] - 1.0).abs() + m[3][0].abs() + m[3][1].abs() + m[3][2].abs();
    if bottom > f32::EPSILON as f64 {
        return false;
    }
    let scale = (0..3).map(|c| norm(col(m, c))).fold(0.0, f64::max);
    scale > 0.0 && det3(m).abs() > 1e-12 * scale * scale * scale
}

/// The sform can be split into rotation and scale without skew (ITK: affine, and the
/// column-normalised 3×3 part is orthonormal within 1e-4).
fn sform_without_skew(s: &Mat44) -> bool {
    if !is_affine(s) {
        return false;
    }
    let u = unit_columns(s);
    rot_product_is_identity(&u, &u, 1e-4)
}

/// Which transform the grid comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Neither qform nor sform is set (and always for Analyze): zero origin, identity direction.
    None,
    Qform,
    Sform,
}

/// The qform matrix as niftilib builds it (`qform_code <= 0`: diagonal pixdim, zero offset).
pub fn qform_matrix(h: &Header) -> Mat44 {
    let d = [h.pixdim[1], h.pixdim[2], h.pixdim[3]];
    if h.version == Version::Analyze || h.qform_code <= 0 {
        let mut m = [[0.0; 4]; 4];
        for (i, di) in d.iter().enumerate() {
            m[i][i] = f32r(*di);
        }
        m[3][3] = 1.0;
        return m;
    }
    let qfac = if h.pixdim[0] < 0.0 { -1.0 } else { 1.0 };
    quatern_to_mat44(h.quatern, h.qoffset, d, qfac)
}

/// The sform matrix as niftilib builds it (all zero when `sform_code <= 0`).
pub fn sform_matrix(h: &Header) -> Mat44 {
    let mut m = [[0.0; 4]; 4];
    if h.version == Version::Analyze || h.sform_code <= 0 {
        return m;
    }
    m[..3].copy_from_slice(&h.srow);
    m[3][3] = 1.0;
    m
}

/// ITK's choice between qform and sform (see the module docs of [`super`] for the rules).
pub fn choose(h: &Header, what: &str) -> Result<(Source, Mat44)> {
    let qcode = if h.version == Version::Analyze {
        0
    } else {
        h.qform_code.max(0)
    };
    let scode = if h.version == Version::Analyze {
        0
    } else {
        h.sform_code.max(0)
    };
    let q = qform_matrix(h);
    let s = sform_matrix(h);
    if qcode == XFORM_UNKNOWN && scode == XFORM_UNKNOWN {
        return Ok((Source::None, q));
    }
    // Element-wise equal 3×3 (1e-5), translations and last rows within 1e-7 (one-norm).
    let similar = (0..3).all(|r| (0..3).all(|c| (s[r][c] - q[r][c]).abs() <= 1e-5))
        && (0..4).map(|r| (s[r][3] - q[r][3]).abs()).sum::<f64>() <= 1e-7
        && (0..4).map(|c| (s[3][c] - q[3][c]).abs()).sum::<f64>() <= 1e-7;
    let mut prefer_sform = similar;
    if (!prefer_sform || scode != XFORM_UNKNOWN) && sform_without_skew(&s) {
        // No qform code with a sform code, or a scanner sform: the sform.
        if (qcode == XFORM_UNKNOWN && scode != XFORM_UNKNOWN) || scode == XFORM_SCANNER_ANAT {
            prefer_sform = true;
        } else if qcode != XFORM_UNKNOWN && scode != XFORM_UNKNOWN {
            // "Very similar": same rotation (R_s·R_qᵀ ≈ I), same scales (sorted singular values of
            // an unskewed matrix are its sorted column norms), same offsets, within 1e-4.
            let (us, uq) = (unit_columns(&s), unit_columns(&q));
            let mut ws: Vec<f64> = (0..3).map(|c| norm(col(&s, c))).collect();
            let mut wq: Vec<f64> = (0..3).map(|c| norm(col(&q, c))).collect();
            ws.sort_by(f64::total_cmp);
            wq.sort_by(f64::total_cmp);
            let scales = ws
                .iter()
                .zip(&wq)
                .map(|(a, b)| (a - b).powi(2))
                .sum::<f64>()
                .sqrt()
                <= 1e-4;
            let offsets = (0..3)
                .map(|r| (s[r][3] - q[r][3]).powi(2))
                .sum::<f64>()
                .sqrt()
                <= 1e-4;
            prefer_sform = scales && offsets && rot_product_is_identity(&us, &uq, 1e-4);
        }
    }
    if prefer_sform {
        Ok((Source::Sform, s))
    } else if qcode != XFORM_UNKNOWN {
        Ok((Source::Qform, q))
    } else {
        Err(Error::invalid_geometry(format!(
            "{what}: the sform (sform_code {scode}, no qform) is not a rotation with scales (its axes are skewed or degenerate): {:?}; ITK refuses such files too",
            [s[0], s[1], s[2]]
        )))
    }
}

/// Origin (LPS) and direction (LPS, columns = axes) from the chosen RAS matrix, for an image of
/// `dims` spatial dimensions (1–3): directions use only the first `dims` rows and columns and are
/// normalised there, as ITK does for 1-D and 2-D files; the rest is identity / zero.
pub fn lps_from_matrix(m: &Mat44, dims: usize, spacing_scale: f64) -> ([f64; 3], Mat3) {
    let n = dims.clamp(1, 3);
    let mut dir_ras = crate::image::IDENTITY;
    for c in 0..n {
        let mut v = [0.0; 3];
        for (r, vr) in v.iter_mut().enumerate().take(n) {
            *vr = m[r][c];
        }
        let v = normalized(v);
        for (r, vr) in v.iter().enumerate() {
            dir_ras[r * 3 + c] = *vr;
        }
    }
    let mut origin_ras = [0.0; 3];
    for (r, o) in origin_ras.iter_mut().enumerate().take(n) {
        *o = m[r][3] * spacing_scale;
    }
    let (d, o) = ras_lps_flip(&dir_ras, origin_ras);
    (o, d)
}

/// niftilib-compatible quaternion of an orthonormal RAS direction (columns = axes): returns
/// (b, c, d, qfac). A left-handed matrix gets qfac = −1 and its third column negated first.
pub fn direction_to_quatern(dir_ras: &Mat3) -> ([f64; 3], f64) {
    let mut r = [[0.0; 3]; 3];
    for (i, row) in r.iter_mut().enumerate() {
        for (j, v) in row.iter_mut().enumerate() {
            *v = dir_ras[i * 3 + j];
        }
    }
    let det = r[0][0] * (r[1][1] * r[2][2] - r[1][2] * r[2][1])
        - r[0][1] * (r[1][0] * r[2][2] - r[1][2] * r[2][0])
        + r[0][2] * (r[1][0] * r[2][1] - r[1][1] * r[2][0]);
    let qfac = if det < 0.0 {
        for row in r.iter_mut() {
            row[2] = -row[2];
        }
        -1.0
    } else {
        1.0
    };
    let trace = r[0][0] + r[1][1] + r[2][2] + 1.0;
    let (mut a, mut b, mut c, mut d);
    if trace > 0.5 {
        a = 0.5 * trace.sqrt();
        b = 0.25 * (r[2][1] - r[1][2]) / a;
        c = 0.25 * (r[0][2] - r[2][0]) / a;
        d = 0.25 * (r[1][0] - r[0][1]) / a;
    } else {
        let xd = 1.0 + r[0][0] - (r[1][1] + r[2][2]);
        let yd = 1.0 + r[1][1] - (r[0][0] + r[2][2]);
        let zd = 1.0 + r[2][2] - (r[0][0] + r[1][1]);
        if xd > 1.0 {
            b = 0.5 * xd.sqrt();
            c = 0.25 * (r[0][1] + r[1][0]) / b;
            d = 0.25 * (r[0][2] + r[2][0]) / b;
            a = 0.25 * (r[2][1] - r[1][2]) / b;
        } else if yd > 1.0 {
            c = 0.5 * yd.sqrt();
            b = 0.25 * (r[0][1] + r[1][0]) / c;
            d = 0.25 * (r[1][2] + r[2][1]) / c;
            a = 0.25 * (r[0][2] - r[2][0]) / c;
        } else {
            d = 0.5 * zd.max(0.0).sqrt();
            let dd = if d > 0.0 { d } else { 1.0 };
            b = 0.25 * (r[0][2] + r[2][0]) / dd;
            c = 0.25 * (r[1][2] + r[2][1]) / dd;
            a = 0.25 * (r[1][0] - r[0][1]) / dd;
        }
        if a < 0.0 {
            a = -a;
            b = -b;
            c = -c;
            d = -d;
        }
    }
    let _ = a;
    ([b, c, d], qfac)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rot(ax: f64, az: f64) -> Mat3 {
        let (sx, cx) = ax.sin_cos();
        let (sz, cz) = az.sin_cos();
        // Rz · Rx
        let rx = [1.0, 0.0, 0.0, 0.0, cx, -sx, 0.0, sx, cx];
        let rz = [cz, -sz, 0.0, sz, cz, 0.0, 0.0, 0.0, 1.0];
        let mut m = [0.0; 9];
        for i in 0..3 {
            for j in 0..3 {
                m[i * 3 + j] = (0..3).map(|k| rz[i * 3 + k] * rx[k * 3 + j]).sum();
            }
        }
        m
    }

    #[test]
    fn quaternion_round_trip_right_and_left_handed() {
        for (ax, az) in [
            (0.0, 0.0),
            (0.3, 1.2),
            (3.0, -2.9),
            (std::f64::consts::PI, 0.0),
            (0.0, std::f64::consts::PI),
        ] {
            for flip in [false, true] {
                let mut d = rot(ax, az);
                if flip {
                    for r in 0..3 {
                        d[r * 3 + 2] = -d[r * 3 + 2];
                    }
                }
                let (q, qfac) = direction_to_quatern(&d);
                let m = quatern_to_mat44(q, [0.0; 3], [1.0; 3], qfac);
                for (r, row) in m.iter().take(3).enumerate() {
                    for (c, v) in row.iter().take(3).enumerate() {
                        assert!(
                            (v - d[r * 3 + c]).abs() < 1e-6,
                            "{ax} {az} {flip}: {m:?} vs {d:?}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn identity_quaternion_gives_spacing_diagonal() {
        let m = quatern_to_mat44([0.0; 3], [1.0, 2.0, 3.0], [2.0, 3.0, 4.0], -1.0);
        assert_eq!(m[0][0], 2.0);
        assert_eq!(m[1][1], 3.0);
        assert_eq!(m[2][2], -4.0);
        assert_eq!([m[0][3], m[1][3], m[2][3]], [1.0, 2.0, 3.0]);
        // Non-positive voxel sizes count as 1.
        let m = quatern_to_mat44([0.0; 3], [0.0; 3], [-2.0, 0.0, 1.0], 1.0);
        assert_eq!((m[0][0], m[1][1]), (1.0, 1.0));
    }

    #[test]
    fn lps_conversion_flips_x_and_y() {
        let m: Mat44 = [
            [2.0, 0.0, 0.0, 10.0],
            [0.0, 3.0, 0.0, 20.0],
            [0.0, 0.0, 4.0, 30.0],
            [0.0, 0.0, 0.0, 1.0],
        ];
        let (o, d) = lps_from_matrix(&m, 3, 1.0);
        assert_eq!(o, [-10.0, -20.0, 30.0]);
        assert_eq!(d, [-1.0, 0.0, 0.0, 0.0, -1.0, 0.0, 0.0, 0.0, 1.0]);
        let (o, _) = lps_from_matrix(&m, 2, 1.0);
        assert_eq!(o, [-10.0, -20.0, 0.0]);
    }
}
