//! nnU-Net's resampling (`resample_data_or_seg_to_shape`), reproduced bit for bit:
//! scikit-image `resize(mode='edge', anti_aliasing=False, clip=True)` = scipy `zoom` with
//! `grid_mode=True`, cubic B-spline prefilter on a 12-voxel edge-padded copy (order 3) or plain
//! linear taps (order 1), clipping to the input range, and the "separate z" rule for anisotropic
//! spacings (2D per-slice resize + nearest neighbour along the low-resolution axis).
//!
//! Everything is computed in float64, as nnU-Net does (`specs/nnunet.md` §3.6, §5.1).

use crate::error::{Error, Result};
use rayon::prelude::*;

/// scipy's literal for the cubic pole √3 − 2.
const CUBIC_POLE: f64 = -0.267_949_192_431_122_7;
/// scipy pads by 12 voxels (edge mode) before the spline prefilter.
const PREPAD: usize = 12;
/// nnU-Net's anisotropy threshold for the separate-z rule.
pub const ANISO_THRESHOLD: f64 = 3.0;

/// In-place cubic B-spline prefilter of one line (scipy `ni_splines.c`, "reflect" init).
fn prefilter_line(c: &mut [f64]) {
    let n = c.len();
    if n <= 1 {
        return;
    }
    let z = CUBIC_POLE;
    let gain = (1.0 - z) * (1.0 - 1.0 / z);
    for v in c.iter_mut() {
        *v *= gain;
    }
    let z_n = z.powf(n as f64);
    let c0 = c[0];
    let mut s = c[0] + z_n * c[n - 1];
    let mut z_i = z;
    for i in 1..n {
        s += z_i * (c[i] + z_n * c[n - 1 - i]);
        z_i *= z;
    }
    c[0] = s * (z / (1.0 - z_n * z_n));
    c[0] += c0;
    for i in 1..n {
        c[i] += z * c[i - 1];
    }
    c[n - 1] *= z / (z - 1.0);
    for i in (0..n - 1).rev() {
        c[i] = z * (c[i + 1] - c[i]);
    }
}

/// Prefilter a C-order N-D array along every axis in turn.
fn prefilter(data: &mut [f64], shape: &[usize]) {
    let nd = shape.len();
    for ax in 0..nd {
        let n = shape[ax];
        if n <= 1 {
            continue;
        }
        let inner: usize = shape[ax + 1..].iter().product();
        let outer: usize = shape[..ax].iter().product();
        // Lines along `ax`: start (o, i) with stride `inner`.
        let block = n * inner;
        data.par_chunks_mut(block).take(outer).for_each(|blk| {
            let mut line = vec![0f64; n];
            for i in 0..inner {
                for (j, l) in line.iter_mut().enumerate() {
                    *l = blk[j * inner + i];
                }
                prefilter_line(&mut line);
                for (j, l) in line.iter().enumerate() {
                    blk[j * inner + i] = *l;
                }
            }
        });
    }
}

/// Edge-pad a C-order array by `pad` on every side.
fn edge_pad(data: &[f64], shape: &[usize], pad: usize) -> (Vec<f64>, Vec<usize>) {
    let ps: Vec<usize> = shape.iter().map(|s| s + 2 * pad).collect();
    let total: usize = ps.iter().product();
    let mut out = vec![0f64; total];
    let last = *ps.last().unwrap_or(&1);
    let src_strides = strides(shape);
    out.par_chunks_mut(last)
        .enumerate()
        .for_each(|(row, line)| {
            // Decompose the row index into the leading coordinates of the padded array.
            let mut rem = row;
            let mut base = 0usize;
            for ax in (0..ps.len() - 1).rev() {
                let p = rem % ps[ax];
                rem /= ps[ax];
                let s = p.saturating_sub(pad).min(shape[ax] - 1);
                base += s * src_strides[ax];
            }
            let n = shape[shape.len() - 1];
            for (j, o) in line.iter_mut().enumerate() {
                *o = data[base + j.saturating_sub(pad).min(n - 1)];
            }
        });
    (out, ps)
}

fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1usize; shape.len()];
    for ax in (0..shape.len().saturating_sub(1)).rev() {
        s[ax] = s[ax + 1] * shape[ax + 1];
    }
    s
}

/// Per output index: first tap (clamped taps) and weights.
struct AxisTaps {
    idx: Vec<[usize; 4]>,
    w: Vec<[f64; 4]>,
}

fn axis_taps(n_in: usize, n_out: usize, order: usize, pad: usize, n_coef: usize) -> AxisTaps {
    let zoom = n_in as f64 / n_out as f64;
    let mut idx = Vec::with_capacity(n_out);
    let mut w = Vec::with_capacity(n_out);
    for k in 0..n_out {
        let cc = (k as f64 + 0.5) * zoom - 0.5 + pad as f64;
        let fl = cc.floor();
        let x = cc - fl;
        let (start, ws) = if order == 3 {
            let y = x;
            let zz = 1.0 - x;
            let w1 = (y * y * (y - 2.0) * 3.0 + 4.0) / 6.0;
            let w2 = (zz * zz * (zz - 2.0) * 3.0 + 4.0) / 6.0;
            let w0 = zz * zz * zz / 6.0;
            let w3 = 1.0 - w0 - w1 - w2;
            (fl as i64 - 1, [w0, w1, w2, w3])
        } else {
            let w0 = 1.0 - x;
            (fl as i64, [w0, 1.0 - w0, 0.0, 0.0])
        };
        let mut ii = [0usize; 4];
        for (t, v) in ii.iter_mut().enumerate() {
            *v = (start + t as i64).clamp(0, n_coef as i64 - 1) as usize;
        }
        idx.push(ii);
        w.push(ws);
    }
    AxisTaps { idx, w }
}

/// `skimage.transform.resize(x, out_shape, order, mode='edge', anti_aliasing=False)` on a
/// float64 C-order array of rank 2 or 3 (`order` 1 or 3), including the final clip to the input
/// range.
pub fn sk_resize(
    data: &[f64],
    shape: &[usize],
    out_shape: &[usize],
    order: usize,
) -> Result<Vec<f64>> {
    let nd = shape.len();
    if !(nd == 2 || nd == 3) || out_shape.len() != nd {
        return Err(Error::internal(format!(
            "resize: unsupported ranks {shape:?} -> {out_shape:?}"
        )));
    }
    if order != 1 && order != 3 {
        return Err(Error::unsupported(format!(
            "resampling order {order} (nnU-Net resampling here supports orders 1 and 3)"
        )));
    }
    let n_in: usize = shape.iter().product();
    if n_in != data.len() || n_in == 0 || out_shape.contains(&0) {
        return Err(Error::internal(format!(
            "resize: {} values for shape {shape:?} -> {out_shape:?}",
            data.len()
        )));
    }
    let (lo, hi) = data
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
            (a.min(v), b.max(v))
        });
    let clip = |v: f64| v.max(lo).min(hi);
    if shape == out_shape {
        return Ok(data.iter().map(|&v| clip(v)).collect());
    }
    let (coef, cshape, pad) = if order == 3 {
        let (mut c, cs) = edge_pad(data, shape, PREPAD);
        prefilter(&mut c, &cs);
        (c, cs, PREPAD)
    } else {
        (data.to_vec(), shape.to_vec(), 0)
    };
    let taps: Vec<AxisTaps> = (0..nd)
        .map(|ax| axis_taps(shape[ax], out_shape[ax], order, pad, cshape[ax]))
        .collect();
    let nt = order + 1;
    let cs = strides(&cshape);
    let last = out_shape[nd - 1];
    let total: usize = out_shape.iter().product();
    let mut out = vec![0f64; total];
    out.par_chunks_mut(last)
        .enumerate()
        .for_each(|(row, line)| {
            if nd == 3 {
                let i0 = row / out_shape[1];
                let i1 = row % out_shape[1];
                let (t0, w0) = (&taps[0].idx[i0], &taps[0].w[i0]);
                let (t1, w1) = (&taps[1].idx[i1], &taps[1].w[i1]);
                for (i2, o) in line.iter_mut().enumerate() {
                    let (t2, w2) = (&taps[2].idx[i2], &taps[2].w[i2]);
                    let mut t = 0f64;
                    for a in 0..nt {
                        for b in 0..nt {
                            let base = t0[a] * cs[0] + t1[b] * cs[1];
                            for c in 0..nt {
                                t += ((coef[base + t2[c]] * w0[a]) * w1[b]) * w2[c];
                            }
                        }
                    }
                    *o = clip(t);
                }
            } else {
                let i0 = row;
                let (t0, w0) = (&taps[0].idx[i0], &taps[0].w[i0]);
                for (i1, o) in line.iter_mut().enumerate() {
                    let (t1, w1) = (&taps[1].idx[i1], &taps[1].w[i1]);
                    let mut t = 0f64;
                    for a in 0..nt {
                        let base = t0[a] * cs[0];
                        for b in 0..nt {
                            t += (coef[base + t1[b]] * w0[a]) * w1[b];
                        }
                    }
                    *o = clip(t);
                }
            }
        });
    Ok(out)
}

/// nnU-Net's separate-z decision: `Some(axis)` when the spacing is anisotropic (ratio > 3) with a
/// single low-resolution axis, checked on `current` first and then on `new`.
///
/// ```
/// use medseg::inference::nnunet_resample::separate_z_axis;
/// assert_eq!(separate_z_axis([4.0, 0.9, 0.9], [4.0, 1.0, 1.0], None), Some(0));
/// assert_eq!(separate_z_axis([2.2, 0.8, 0.8], [2.0, 1.0, 1.0], None), None);
/// assert_eq!(separate_z_axis([0.24, 1.25, 1.25], [1.0, 1.0, 1.0], None), None);
/// ```
pub fn separate_z_axis(current: [f64; 3], new: [f64; 3], force: Option<bool>) -> Option<usize> {
    let aniso = |s: [f64; 3]| {
        let mx = s.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let mn = s.iter().copied().fold(f64::INFINITY, f64::min);
        mx / mn > ANISO_THRESHOLD
    };
    let lowres = |s: [f64; 3]| -> Option<usize> {
        let mx = s.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let axes: Vec<usize> = (0..3).filter(|&i| s[i] == mx).collect();
        if axes.len() == 1 { Some(axes[0]) } else { None }
    };
    match force {
        Some(false) => None,
        Some(true) => lowres(current),
        None => {
            if aniso(current) {
                lowres(current)
            } else if aniso(new) {
                lowres(new)
            } else {
                None
            }
        }
    }
}

/// Resample one channel (`shape` C order, float64 values) to `new_shape` the way
/// `resample_data_or_seg_to_shape(is_seg=False, order, order_z=0)` does; `axis` is the
/// separate-z axis (see [`separate_z_axis`]). The result is float64 (callers round to their
/// storage type).
pub fn resample_channel(
    data: &[f64],
    shape: [usize; 3],
    new_shape: [usize; 3],
    order: usize,
    axis: Option<usize>,
) -> Result<Vec<f64>> {
    let Some(axis) = axis else {
        return sk_resize(data, &shape, &new_shape, order);
    };
    if axis > 2 {
        return Err(Error::internal(format!("separate-z axis {axis}")));
    }
    let others: Vec<usize> = (0..3).filter(|&a| a != axis).collect();
    let in_plane = [shape[others[0]], shape[others[1]]];
    let out_plane = [new_shape[others[0]], new_shape[others[1]]];
    let st = strides(&shape);
    // Resize each slice along `axis`.
    let slices: Vec<Vec<f64>> = (0..shape[axis])
        .into_par_iter()
        .map(|s| {
            let mut sl = Vec::with_capacity(in_plane[0] * in_plane[1]);
            for a in 0..in_plane[0] {
                for b in 0..in_plane[1] {
                    sl.push(data[s * st[axis] + a * st[others[0]] + b * st[others[1]]]);
                }
            }
            sk_resize(&sl, &in_plane, &out_plane, order)
        })
        .collect::<Result<_>>()?;
    // Nearest neighbour along `axis` (round half up of the clamped source coordinate).
    let n_in = shape[axis];
    let n_out = new_shape[axis];
    let src: Vec<usize> = if n_in == n_out {
        (0..n_out).collect()
    } else {
        let zoom = n_in as f64 / n_out as f64;
        (0..n_out)
            .map(|k| {
                let cc = ((k as f64 + 0.5) * zoom - 0.5).clamp(0.0, (n_in - 1) as f64);
                ((cc + 0.5).floor() as usize).min(n_in - 1)
            })
            .collect()
    };
    let ost = strides(&new_shape);
    let mut out = vec![0f64; new_shape.iter().product()];
    for (k, &s) in src.iter().enumerate() {
        let sl = &slices[s];
        for a in 0..out_plane[0] {
            for b in 0..out_plane[1] {
                out[k * ost[axis] + a * ost[others[0]] + b * ost[others[1]]] =
                    sl[a * out_plane[1] + b];
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_shape_is_identity() {
        let d: Vec<f64> = (0..24).map(|i| (i * 7 % 5) as f64).collect();
        assert_eq!(sk_resize(&d, &[2, 3, 4], &[2, 3, 4], 3).unwrap(), d);
    }

    #[test]
    fn constant_stays_constant() {
        let d = vec![3.5f64; 5 * 6 * 7];
        for order in [1, 3] {
            let o = sk_resize(&d, &[5, 6, 7], &[9, 4, 11], order).unwrap();
            assert!(o.iter().all(|&v| (v - 3.5).abs() < 1e-12), "order {order}");
        }
    }

    #[test]
    fn linear_upsampling_of_a_ramp() {
        // 2 → 4 samples: coordinates -0.25, 0.25, 0.75, 1.25 → clamped taps.
        let o = sk_resize(&[0.0, 4.0], &[1, 2], &[1, 4], 1).unwrap();
        assert_eq!(o, vec![0.0, 1.0, 3.0, 4.0]);
    }

    #[test]
    fn cubic_interpolates_and_clips() {
        let d: Vec<f64> = (0..10).map(|i| if i < 5 { 0.0 } else { 1.0 }).collect();
        let o = sk_resize(&d, &[1, 10], &[1, 20], 3).unwrap();
        // Clipped to the input range despite the spline's overshoot.
        assert!(o.iter().all(|&v| (0.0..=1.0).contains(&v)));
        assert!(o[0].abs() < 1e-2 && (o[19] - 1.0).abs() < 1e-2);
        assert!(o[8] < o[11], "monotone across the step");
    }

    #[test]
    fn separate_z_uses_nearest_along_the_axis() {
        // 2 slices → 4 slices along axis 0, in-plane unchanged.
        let d: Vec<f64> = vec![1.0, 1.0, 1.0, 1.0, 5.0, 5.0, 5.0, 5.0];
        let o = resample_channel(&d, [2, 2, 2], [4, 2, 2], 3, Some(0)).unwrap();
        let firsts: Vec<f64> = (0..4).map(|k| o[k * 4]).collect();
        assert_eq!(firsts, vec![1.0, 1.0, 5.0, 5.0]);
    }
}
