//! The nnU-Net v2 predictor (2.8.1 arithmetic, `specs/nnunet.md`), runtime-agnostic.
//!
//! Stages, on a float32 `(C, z, y, x)` array (ITK / "sitk" order, x fastest) with spacing
//! `(sz, sy, sx)`:
//!
//! 1. [`preprocess`]: transpose (`transpose_forward`), crop to the hole-filled non-zero mask
//!    (half-open bbox), per-channel normalisation (CT, z-score with or without mask — numpy's
//!    float32 pairwise sums reproduced —, none, rescale to [0, 1], RGB / 255), order-3 resampling
//!    to the target spacing with nnU-Net's separate-z rule (see [`super::nnunet_resample`]).
//! 2. [`super::sliding_window`] per fold, fold averaging (float16 in parity mode).
//! 3. [`export`]: logits resampled back (order 1) to the cropped grid, softmax/argmax or sigmoid
//!    region painting, un-cropping (background probability 1 outside for softmax models),
//!    transpose back.
//!
//! [`Plan`] is read from a [`Manifest`]; [`predict_arrays`] runs everything with one
//! [`Predictor`] per fold created on demand (one fold's network in memory at a time).

use super::Predictor;
use super::manifest::Manifest;
use super::nnunet_resample::{resample_channel, separate_z_axis};
use super::sliding_window::{self, SlidingWindowOptions};
use crate::error::{Error, ErrorKind, Result};
use half::f16;
use rayon::prelude::*;
use serde_json::Value;

fn model_err(m: impl Into<String>) -> Error {
    Error::new(ErrorKind::Model, m)
}

/// A normalisation scheme of one input channel.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Normalization {
    /// Clip to the foreground 0.5/99.5 percentiles, subtract the mean, divide by the std.
    Ct {
        lo: f32,
        hi: f32,
        mean: f32,
        std: f32,
    },
    /// Zero mean, unit variance over the channel (or over the non-zero mask).
    ZScore { use_mask: bool },
    /// Unchanged.
    None,
    /// `(x - min) / max(x - min)`.
    RescaleTo01,
    /// `x / 255` (values must lie in [0, 255]).
    RgbTo01,
}

/// Resampling settings from `resampling_fn_*_kwargs`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ResampleSpec {
    pub order: usize,
    pub order_z: usize,
    pub force_separate_z: Option<bool>,
}

/// Everything the predictor needs from a manifest.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub transpose_forward: [usize; 3],
    pub transpose_backward: [usize; 3],
    pub patch_size: [usize; 3],
    /// Target spacing (transposed frame).
    pub spacing: [f64; 3],
    pub normalization: Vec<Normalization>,
    pub resample_data: ResampleSpec,
    pub resample_probabilities: ResampleSpec,
    pub in_channels: usize,
    pub out_channels: usize,
    /// Region models: painted value per output channel (sigmoid); `None` = softmax.
    pub regions_class_order: Option<Vec<i64>>,
    pub mirroring_axes: Vec<usize>,
    pub step_size: f64,
}

fn get<'a>(v: &'a Value, key: &str) -> Result<&'a Value> {
    v.get(key)
        .ok_or_else(|| model_err(format!("manifest preprocessing: missing '{key}'")))
}

fn usize3(v: &Value, key: &str) -> Result<[usize; 3]> {
    let a: Vec<usize> = get(v, key)?
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_u64)
                .map(|x| x as usize)
                .collect()
        })
        .unwrap_or_default();
    a.try_into().map_err(|a: Vec<usize>| {
        if a.len() == 2 {
            Error::unsupported(format!(
                "'{key}' has 2 entries: 2D nnU-Net configurations are not supported yet"
            ))
        } else {
            model_err(format!(
                "manifest preprocessing: '{key}' must be 3 integers, got {a:?}"
            ))
        }
    })
}

fn f64_3(v: &Value, key: &str) -> Result<[f64; 3]> {
    let a: Vec<f64> = get(v, key)?
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_f64).collect())
        .unwrap_or_default();
    a.try_into().map_err(|a: Vec<f64>| {
        model_err(format!(
            "manifest preprocessing: '{key}' must be 3 numbers, got {a:?}"
        ))
    })
}

fn resample_spec(v: &Value, fn_key: &str, kw_key: &str) -> Result<ResampleSpec> {
    let f = v
        .get(fn_key)
        .and_then(Value::as_str)
        .unwrap_or("resample_data_or_seg_to_shape");
    if f != "resample_data_or_seg_to_shape" {
        return Err(Error::unsupported(format!(
            "{fn_key} = '{f}': only nnU-Net's default resample_data_or_seg_to_shape is implemented"
        )));
    }
    let kw = v.get(kw_key).cloned().unwrap_or(Value::Null);
    let order = kw.get("order").and_then(Value::as_u64).unwrap_or(3) as usize;
    let order_z = kw.get("order_z").and_then(Value::as_u64).unwrap_or(0) as usize;
    let force_separate_z = kw.get("force_separate_z").and_then(Value::as_bool);
    if order != 1 && order != 3 {
        return Err(Error::unsupported(format!(
            "{kw_key}: order {order} (1 or 3 supported)"
        )));
    }
    if order_z != 0 {
        return Err(Error::unsupported(format!(
            "{kw_key}: order_z {order_z} (0 supported)"
        )));
    }
    Ok(ResampleSpec {
        order,
        order_z,
        force_separate_z,
    })
}

fn is_permutation(t: [usize; 3]) -> bool {
    let mut s = t;
    s.sort_unstable();
    s == [0, 1, 2]
}

impl Plan {
    /// Read the plan from a manifest (validates what the predictor relies on).
    pub fn from_manifest(m: &Manifest) -> Result<Plan> {
        let p = &m.preprocessing;
        if let Some(r) = p.get("image_reader_writer").and_then(Value::as_str)
            && r.contains("Reorient")
        {
            return Err(Error::unsupported(format!(
                "image_reader_writer '{r}' reorients images; reorient the input yourself and use a model planned with SimpleITKIO/NibabelIO"
            )));
        }
        if p.get("previous_stage").and_then(Value::as_str).is_some() {
            return Err(Error::unsupported(format!(
                "configuration '{}' is a cascade stage (previous_stage set); cascades are not supported",
                m.configuration
            )));
        }
        let tf = usize3(p, "transpose_forward")?;
        let tb = usize3(p, "transpose_backward")?;
        if !is_permutation(tf) || !is_permutation(tb) || (0..3).any(|i| tf[tb[i]] != i) {
            return Err(model_err(format!(
                "transpose_forward {tf:?} / transpose_backward {tb:?} are not inverse permutations"
            )));
        }
        let patch = usize3(p, "patch_size")?;
        if m.patch_size != patch {
            return Err(Error::mismatch(format!(
                "manifest patch_size {:?} differs from the configuration's {patch:?}",
                m.patch_size
            )));
        }
        let spacing = f64_3(p, "spacing")?;
        if spacing.iter().any(|s| !(s.is_finite() && *s > 0.0)) {
            return Err(model_err(format!(
                "target spacing {spacing:?} must be positive"
            )));
        }
        let schemes: Vec<String> = get(p, "normalization_schemes")?
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        let masks: Vec<bool> = p
            .get("use_mask_for_norm")
            .and_then(Value::as_array)
            .map(|a| a.iter().map(|x| x.as_bool().unwrap_or(false)).collect())
            .unwrap_or_else(|| vec![false; schemes.len()]);
        if schemes.len() != m.in_channels || masks.len() != m.in_channels {
            return Err(Error::mismatch(format!(
                "{} normalisation schemes / {} use_mask_for_norm entries for {} input channels",
                schemes.len(),
                masks.len(),
                m.in_channels
            )));
        }
        let props = p.get("foreground_intensity_properties_per_channel");
        let mut normalization = Vec::new();
        for (c, s) in schemes.iter().enumerate() {
            let n = match s.as_str() {
                "CTNormalization" => {
                    let pc = props.and_then(|v| v.get(c.to_string())).ok_or_else(|| {
                        model_err(format!(
                            "CTNormalization of channel {c} needs foreground_intensity_properties_per_channel[\"{c}\"]"
                        ))
                    })?;
                    let f = |k: &str| -> Result<f32> {
                        pc.get(k)
                            .and_then(Value::as_f64)
                            .map(|v| v as f32)
                            .ok_or_else(|| {
                                model_err(format!(
                                    "intensity properties of channel {c}: missing '{k}'"
                                ))
                            })
                    };
                    Normalization::Ct {
                        lo: f("percentile_00_5")?,
                        hi: f("percentile_99_5")?,
                        mean: f("mean")?,
                        std: f("std")?,
                    }
                }
                "ZScoreNormalization" => Normalization::ZScore { use_mask: masks[c] },
                "NoNormalization" => Normalization::None,
                "RescaleTo01Normalization" => Normalization::RescaleTo01,
                "RGBTo01Normalization" => Normalization::RgbTo01,
                other => {
                    return Err(Error::unsupported(format!(
                        "normalisation scheme '{other}' of channel {c}"
                    )));
                }
            };
            normalization.push(n);
        }
        let resample_data = resample_spec(p, "resampling_fn_data", "resampling_fn_data_kwargs")?;
        let resample_probabilities = resample_spec(
            p,
            "resampling_fn_probabilities",
            "resampling_fn_probabilities_kwargs",
        )?;
        if let Some(o) = &m.regions_class_order
            && o.len() != m.out_channels
        {
            return Err(Error::mismatch(format!(
                "regions_class_order has {} entries for {} outputs",
                o.len(),
                m.out_channels
            )));
        }
        Ok(Plan {
            transpose_forward: tf,
            transpose_backward: tb,
            patch_size: patch,
            spacing,
            normalization,
            resample_data,
            resample_probabilities,
            in_channels: m.in_channels,
            out_channels: m.out_channels,
            regions_class_order: m.regions_class_order.clone(),
            mirroring_axes: m.mirroring_axes.clone().unwrap_or_default(),
            step_size: m.step_size,
        })
    }
}

/// Output of [`preprocess`].
#[derive(Debug, Clone, PartialEq)]
pub struct Preprocessed {
    /// `(C, d0, d1, d2)` float32, transposed frame.
    pub data: Vec<f32>,
    pub channels: usize,
    pub shape: [usize; 3],
    /// Transposed shape before cropping.
    pub shape_before_cropping: [usize; 3],
    /// Half-open `[start, stop)` per transposed axis.
    pub bbox: [[usize; 2]; 3],
    pub shape_after_cropping: [usize; 3],
    /// Original spacing in the transposed frame.
    pub spacing_transposed: [f64; 3],
}

/// Permute the axes of a C-order 3D array: output axis `a` is input axis `t[a]`.
pub fn transpose3<T: Copy + Send + Sync + Default>(
    src: &[T],
    shape: [usize; 3],
    t: [usize; 3],
) -> Vec<T> {
    if t == [0, 1, 2] {
        return src.to_vec();
    }
    let st = [shape[1] * shape[2], shape[2], 1];
    let os = [shape[t[0]], shape[t[1]], shape[t[2]]];
    let ost = [st[t[0]], st[t[1]], st[t[2]]];
    let mut out = vec![T::default(); src.len()];
    out.par_chunks_mut(os[2].max(1))
        .enumerate()
        .for_each(|(row, line)| {
            let o0 = row / os[1];
            let o1 = row % os[1];
            let base = o0 * ost[0] + o1 * ost[1];
            for (o2, v) in line.iter_mut().enumerate() {
                *v = src[base + o2 * ost[2]];
            }
        });
    out
}

/// `scipy.ndimage.binary_fill_holes` with the default (6-connected) structure.
pub fn fill_holes(mask: &[bool], shape: [usize; 3]) -> Vec<bool> {
    let [n0, n1, n2] = shape;
    let idx = |a: usize, b: usize, c: usize| (a * n1 + b) * n2 + c;
    let mut outside = vec![false; mask.len()];
    let mut stack = Vec::new();
    for a in 0..n0 {
        for b in 0..n1 {
            for c in 0..n2 {
                let border =
                    a == 0 || b == 0 || c == 0 || a + 1 == n0 || b + 1 == n1 || c + 1 == n2;
                let i = idx(a, b, c);
                if border && !mask[i] && !outside[i] {
                    outside[i] = true;
                    stack.push((a, b, c));
                }
            }
        }
    }
    while let Some((a, b, c)) = stack.pop() {
        let mut visit = |a: usize, b: usize, c: usize| {
            let i = idx(a, b, c);
            if !mask[i] && !outside[i] {
                outside[i] = true;
                stack.push((a, b, c));
            }
        };
        if a > 0 {
            visit(a - 1, b, c);
        }
        if a + 1 < n0 {
            visit(a + 1, b, c);
        }
        if b > 0 {
            visit(a, b - 1, c);
        }
        if b + 1 < n1 {
            visit(a, b + 1, c);
        }
        if c > 0 {
            visit(a, b, c - 1);
        }
        if c + 1 < n2 {
            visit(a, b, c + 1);
        }
    }
    outside.iter().map(|o| !o).collect()
}

/// numpy's float32 pairwise summation (`np.sum` of a contiguous float32 array).
///
/// ```
/// use medseg::inference::nnunet::np_sum_f32;
/// assert_eq!(np_sum_f32(&[1.0; 1000]), 1000.0);
/// ```
pub fn np_sum_f32(a: &[f32]) -> f32 {
    let n = a.len();
    if n < 8 {
        let mut r = 0f32;
        for &v in a {
            r += v;
        }
        r
    } else if n <= 128 {
        let mut r = [0f32; 8];
        r.copy_from_slice(&a[..8]);
        let mut i = 8;
        while i < n - n % 8 {
            for j in 0..8 {
                r[j] += a[i + j];
            }
            i += 8;
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        while i < n {
            res += a[i];
            i += 1;
        }
        res
    } else {
        let mut n2 = n / 2;
        n2 -= n2 % 8;
        np_sum_f32(&a[..n2]) + np_sum_f32(&a[n2..])
    }
}

/// numpy `mean()` and `std()` of a float32 array, in float32.
fn np_mean_std(v: &[f32]) -> (f32, f32) {
    let n = v.len().max(1) as f32;
    let mean = np_sum_f32(v) / n;
    let sq: Vec<f32> = v.iter().map(|&x| (x - mean) * (x - mean)).collect();
    let var = np_sum_f32(&sq) / n;
    (mean, var.sqrt())
}

fn normalize(x: &mut [f32], n: Normalization, inside: &[bool], channel: usize) -> Result<()> {
    const EPS: f32 = 1e-8;
    match n {
        Normalization::Ct { lo, hi, mean, std } => {
            let s = std.max(EPS);
            x.par_iter_mut().for_each(|v| {
                *v = (v.max(lo).min(hi) - mean) / s;
            });
        }
        Normalization::ZScore { use_mask: false } => {
            let (mean, std) = np_mean_std(x);
            let s = std.max(EPS);
            x.par_iter_mut().for_each(|v| *v = (*v - mean) / s);
        }
        Normalization::ZScore { use_mask: true } => {
            let sel: Vec<f32> = x
                .iter()
                .zip(inside)
                .filter(|(_, m)| **m)
                .map(|(v, _)| *v)
                .collect();
            let (mean, std) = np_mean_std(&sel);
            let s = std.max(EPS);
            x.par_iter_mut().zip(inside.par_iter()).for_each(|(v, &m)| {
                if m {
                    *v = (*v - mean) / s;
                }
            });
        }
        Normalization::None => {}
        Normalization::RescaleTo01 => {
            let mn = x.iter().copied().fold(f32::INFINITY, f32::min);
            x.par_iter_mut().for_each(|v| *v -= mn);
            let mx = x.iter().copied().fold(f32::NEG_INFINITY, f32::max).max(EPS);
            x.par_iter_mut().for_each(|v| *v /= mx);
        }
        Normalization::RgbTo01 => {
            if let Some(bad) = x.iter().find(|v| !(0.0..=255.0).contains(*v)) {
                return Err(Error::new(
                    ErrorKind::Content,
                    format!(
                        "RGBTo01Normalization: channel {channel} has value {bad} outside [0, 255]"
                    ),
                ));
            }
            x.par_iter_mut().for_each(|v| *v /= 255.0);
        }
    }
    Ok(())
}

/// `new_shape[i] = round_half_even(spacing[i] / target[i] * shape[i])`.
pub fn target_shape(shape: [usize; 3], spacing: [f64; 3], target: [f64; 3]) -> [usize; 3] {
    let mut out = [0; 3];
    for a in 0..3 {
        out[a] = ((spacing[a] / target[a] * shape[a] as f64).round_ties_even() as usize).max(1);
    }
    out
}

/// nnU-Net's preprocessing of `channels` (each sitk-order `(z, y, x)` = ITK buffer of `shape`)
/// with spacing `(sz, sy, sx)`.
pub fn preprocess(
    plan: &Plan,
    channels: &[&[f32]],
    shape: [usize; 3],
    spacing: [f64; 3],
) -> Result<Preprocessed> {
    let nc = channels.len();
    if nc != plan.in_channels {
        return Err(Error::mismatch(format!(
            "the model takes {} input channels, {nc} images were given",
            plan.in_channels
        )));
    }
    let vox: usize = shape.iter().product();
    for (c, ch) in channels.iter().enumerate() {
        if ch.len() != vox {
            return Err(Error::mismatch(format!(
                "channel {c} holds {} voxels, expected {vox} for {shape:?}",
                ch.len()
            )));
        }
        if let Some(i) = ch.iter().position(|v| !v.is_finite()) {
            return Err(Error::new(
                ErrorKind::Content,
                format!(
                    "channel {c} has a non-finite value ({}) at voxel {i}",
                    ch[i]
                ),
            ));
        }
    }
    if spacing.iter().any(|s| !(s.is_finite() && *s > 0.0)) {
        return Err(Error::invalid_geometry(format!(
            "spacing {spacing:?} must be positive"
        )));
    }
    let tf = plan.transpose_forward;
    let ts = [shape[tf[0]], shape[tf[1]], shape[tf[2]]];
    let sp = [spacing[tf[0]], spacing[tf[1]], spacing[tf[2]]];
    let tdata: Vec<Vec<f32>> = channels
        .iter()
        .map(|ch| transpose3(ch, shape, tf))
        .collect();
    // Non-zero mask, holes filled, bbox.
    let mut mask = vec![false; vox];
    for ch in &tdata {
        mask.par_iter_mut()
            .zip(ch.par_iter())
            .for_each(|(m, v)| *m |= *v != 0.0);
    }
    let mask = fill_holes(&mask, ts);
    let mut bbox = [[0usize; 2]; 3];
    let mut lo = [usize::MAX; 3];
    let mut hi = [0usize; 3];
    let mut any = false;
    for a in 0..ts[0] {
        for b in 0..ts[1] {
            for c in 0..ts[2] {
                if mask[(a * ts[1] + b) * ts[2] + c] {
                    any = true;
                    for (ax, v) in [a, b, c].into_iter().enumerate() {
                        lo[ax] = lo[ax].min(v);
                        hi[ax] = hi[ax].max(v + 1);
                    }
                }
            }
        }
    }
    for ax in 0..3 {
        bbox[ax] = if any { [lo[ax], hi[ax]] } else { [0, ts[ax]] };
    }
    let cs = [
        bbox[0][1] - bbox[0][0],
        bbox[1][1] - bbox[1][0],
        bbox[2][1] - bbox[2][0],
    ];
    let crop = |src: &[f32]| -> Vec<f32> {
        let mut out = Vec::with_capacity(cs[0] * cs[1] * cs[2]);
        for a in bbox[0][0]..bbox[0][1] {
            for b in bbox[1][0]..bbox[1][1] {
                let base = (a * ts[1] + b) * ts[2];
                out.extend_from_slice(&src[base + bbox[2][0]..base + bbox[2][1]]);
            }
        }
        out
    };
    let inside: Vec<bool> = {
        let mut out = Vec::with_capacity(cs[0] * cs[1] * cs[2]);
        for a in bbox[0][0]..bbox[0][1] {
            for b in bbox[1][0]..bbox[1][1] {
                let base = (a * ts[1] + b) * ts[2];
                out.extend_from_slice(&mask[base + bbox[2][0]..base + bbox[2][1]]);
            }
        }
        out
    };
    let new_shape = target_shape(cs, sp, plan.spacing);
    let axis = separate_z_axis(sp, plan.spacing, plan.resample_data.force_separate_z);
    let nvox: usize = new_shape.iter().product();
    let mut data = Vec::with_capacity(nc * nvox);
    for (c, ch) in tdata.iter().enumerate() {
        let mut x = crop(ch);
        normalize(&mut x, plan.normalization[c], &inside, c)?;
        if new_shape == cs {
            data.extend_from_slice(&x);
        } else {
            let xd: Vec<f64> = x.iter().map(|&v| v as f64).collect();
            let r = resample_channel(&xd, cs, new_shape, plan.resample_data.order, axis)?;
            data.extend(r.iter().map(|&v| v as f32));
        }
    }
    Ok(Preprocessed {
        data,
        channels: nc,
        shape: new_shape,
        shape_before_cropping: ts,
        bbox,
        shape_after_cropping: cs,
        spacing_transposed: sp,
    })
}

/// Result of [`export`] (sitk order, the input's grid).
#[derive(Debug, Clone, PartialEq)]
pub struct Exported {
    /// Label map `(z, y, x)`.
    pub labels: Vec<u16>,
    /// Largest label value that can occur.
    pub max_label: u16,
    /// `(K, z, y, x)` softmax / sigmoid probabilities, when asked for.
    pub probabilities: Option<Vec<f32>>,
    /// Original `(z, y, x)` shape.
    pub shape: [usize; 3],
}

/// Bring logits `(K, d0, d1, d2)` (preprocessed grid) back to the input: resample (order 1),
/// labels, un-crop, transpose back.
pub fn export(
    plan: &Plan,
    logits: &[f32],
    pre: &Preprocessed,
    parity: bool,
    probabilities: bool,
) -> Result<Exported> {
    let k = plan.out_channels;
    let pv: usize = pre.shape.iter().product();
    if logits.len() != k * pv {
        return Err(Error::internal(format!(
            "export: {} logits for {k} channels of {:?}",
            logits.len(),
            pre.shape
        )));
    }
    let cs = pre.shape_after_cropping;
    let cv: usize = cs.iter().product();
    let axis = separate_z_axis(
        plan.spacing,
        pre.spacing_transposed,
        plan.resample_probabilities.force_separate_z,
    );
    let res: Vec<f32> = if cs == pre.shape {
        logits.to_vec()
    } else {
        let mut out = Vec::with_capacity(k * cv);
        for c in 0..k {
            let x: Vec<f64> = logits[c * pv..(c + 1) * pv]
                .iter()
                .map(|&v| v as f64)
                .collect();
            let r = resample_channel(&x, pre.shape, cs, plan.resample_probabilities.order, axis)?;
            out.extend(r.iter().map(|&v| {
                if parity {
                    f16::from_f64(v).to_f32()
                } else {
                    v as f32
                }
            }));
        }
        out
    };
    // Labels (and probabilities) on the cropped grid.
    let regions = plan.regions_class_order.as_deref();
    let mut seg = vec![0u16; cv];
    let mut probs = if probabilities {
        vec![0f32; k * cv]
    } else {
        Vec::new()
    };
    let max_label: i64 = match regions {
        Some(o) => o.iter().copied().max().unwrap_or(0),
        None => k as i64 - 1,
    };
    if !(0..=u16::MAX as i64).contains(&max_label)
        || regions.is_some_and(|o| o.iter().any(|&v| v < 0))
    {
        return Err(model_err(format!(
            "label values up to {max_label} do not fit a 16-bit label map"
        )));
    }
    seg.par_iter_mut()
        .enumerate()
        .for_each(|(i, s)| match regions {
            Some(order) => {
                for (c, &lab) in order.iter().enumerate() {
                    let x = res[c * cv + i];
                    let p = 1.0 / (1.0 + (-x).exp());
                    if p > 0.5 {
                        *s = lab as u16;
                    }
                }
            }
            None => {
                let mut best = 0usize;
                let mut bv = res[i];
                for c in 1..k {
                    let v = res[c * cv + i];
                    if v > bv {
                        bv = v;
                        best = c;
                    }
                }
                *s = best as u16;
            }
        });
    if probabilities {
        let ptr = &mut probs;
        // Channel-major output: compute per voxel, scatter per channel.
        let per_voxel: Vec<Vec<f32>> = (0..cv)
            .into_par_iter()
            .map(|i| {
                let x: Vec<f32> = (0..k).map(|c| res[c * cv + i]).collect();
                match regions {
                    Some(_) => x.iter().map(|&v| 1.0 / (1.0 + (-v).exp())).collect(),
                    None => {
                        let m = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                        let e: Vec<f32> = x.iter().map(|&v| (v - m).exp()).collect();
                        let s: f32 = e.iter().sum();
                        e.iter().map(|v| v / s).collect()
                    }
                }
            })
            .collect();
        for (i, p) in per_voxel.iter().enumerate() {
            for c in 0..k {
                ptr[c * cv + i] = p[c];
            }
        }
    }
    // Un-crop into the transposed full grid, then transpose back.
    let ts = pre.shape_before_cropping;
    let tv: usize = ts.iter().product();
    let bb = pre.bbox;
    let uncrop = |src: &[u16], fill: u16| -> Vec<u16> {
        let mut out = vec![fill; tv];
        for a in 0..cs[0] {
            for b in 0..cs[1] {
                let d = ((a + bb[0][0]) * ts[1] + b + bb[1][0]) * ts[2] + bb[2][0];
                let s = (a * cs[1] + b) * cs[2];
                out[d..d + cs[2]].copy_from_slice(&src[s..s + cs[2]]);
            }
        }
        out
    };
    let tb = plan.transpose_backward;
    let labels = transpose3(&uncrop(&seg, 0), ts, tb);
    let shape = [ts[tb[0]], ts[tb[1]], ts[tb[2]]];
    let probabilities = if probabilities {
        let mut out = Vec::with_capacity(k * tv);
        for c in 0..k {
            let fill = if regions.is_none() && c == 0 {
                1.0
            } else {
                0.0
            };
            let mut full = vec![fill; tv];
            for a in 0..cs[0] {
                for b in 0..cs[1] {
                    let d = ((a + bb[0][0]) * ts[1] + b + bb[1][0]) * ts[2] + bb[2][0];
                    let s = c * cv + (a * cs[1] + b) * cs[2];
                    full[d..d + cs[2]].copy_from_slice(&probs[s..s + cs[2]]);
                }
            }
            out.extend(transpose3(&full, ts, tb));
        }
        Some(out)
    } else {
        None
    };
    Ok(Exported {
        labels,
        max_label: max_label as u16,
        probabilities,
        shape,
    })
}

/// Options of one nnU-Net prediction.
#[derive(Debug, Clone, PartialEq)]
pub struct NnUnetOptions {
    /// Test-time mirroring (when the model allows it).
    pub tta: bool,
    /// Sliding-window step; `None` = the manifest's.
    pub step: Option<f64>,
    /// nnU-Net's float16 accumulation (bit-level parity); float32 otherwise.
    pub parity: bool,
    /// Also return probabilities.
    pub probabilities: bool,
    /// Network inputs per predictor call (tile × mirror); 1 = nnU-Net's sequence.
    pub batch: usize,
}

impl Default for NnUnetOptions {
    fn default() -> Self {
        NnUnetOptions {
            tta: true,
            step: None,
            parity: false,
            probabilities: false,
            batch: 1,
        }
    }
}

/// Sliding-window options a plan + options give.
pub fn window_options(plan: &Plan, opts: &NnUnetOptions) -> SlidingWindowOptions {
    SlidingWindowOptions {
        patch: plan.patch_size,
        step: opts.step.unwrap_or(plan.step_size),
        mirror_axes: if opts.tta {
            plan.mirroring_axes.clone()
        } else {
            Vec::new()
        },
        parity: opts.parity,
        batch: opts.batch.max(1),
    }
}

/// The whole predictor on arrays: preprocess, every fold's sliding window (predictors created
/// one at a time by `make_predictor(fold_index)`), fold averaging, export.
///
/// Progress fractions: preprocessing 0–0.05, folds 0.05–0.95 (by network passes), export
/// 0.95–1.
#[allow(clippy::too_many_arguments)]
pub fn predict_arrays(
    plan: &Plan,
    channels: &[&[f32]],
    shape: [usize; 3],
    spacing: [f64; 3],
    n_folds: usize,
    make_predictor: &mut dyn FnMut(usize) -> Result<Box<dyn Predictor>>,
    opts: &NnUnetOptions,
    progress: super::Progress<'_>,
) -> Result<Exported> {
    let cancelled = || Error::new(ErrorKind::Cancelled, "prediction cancelled");
    if n_folds == 0 {
        return Err(Error::invalid_argument("no folds selected"));
    }
    if !progress(0.0, "preprocess") {
        return Err(cancelled());
    }
    let pre = preprocess(plan, channels, shape, spacing)?;
    if !progress(0.05, "predict") {
        return Err(cancelled());
    }
    let wopts = window_options(plan, opts);
    let mut total: Vec<f32> = Vec::new();
    for fold in 0..n_folds {
        let mut p = make_predictor(fold)?;
        if p.out_channels() != plan.out_channels {
            return Err(Error::mismatch(format!(
                "fold {fold}: the network has {} outputs, the model's labels need {}",
                p.out_channels(),
                plan.out_channels
            )));
        }
        let stage = format!("predict fold {}/{}", fold + 1, n_folds);
        let mut cb = |done: usize, all: usize| {
            let f = (fold as f64 + done as f64 / all.max(1) as f64) / n_folds as f64;
            progress((0.05 + 0.9 * f).min(0.95), &stage)
        };
        let logits = sliding_window::predict_sliding_window(
            p.as_mut(),
            &pre.data,
            pre.channels,
            pre.shape,
            &wopts,
            &mut cb,
        )?;
        drop(p);
        if total.is_empty() {
            total = logits;
        } else {
            sliding_window::add_fold(&mut total, &logits, opts.parity);
        }
    }
    sliding_window::finish_folds(&mut total, n_folds, opts.parity);
    if !progress(0.95, "export") {
        return Err(cancelled());
    }
    let out = export(plan, &total, &pre, opts.parity, opts.probabilities)?;
    if !progress(1.0, "done") {
        return Err(cancelled());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairwise_sum_matches_sequential_for_small() {
        let v: Vec<f32> = (0..7).map(|i| i as f32 * 0.1).collect();
        let mut s = 0f32;
        for x in &v {
            s += x;
        }
        assert_eq!(np_sum_f32(&v), s);
    }

    #[test]
    fn transpose_round_trip() {
        let src: Vec<u16> = (0..24).collect();
        let t = transpose3(&src, [2, 3, 4], [2, 0, 1]);
        // new shape (4, 2, 3); element (i2, i0, i1) = src[i0][i1][i2]
        assert_eq!(t[(3 * 2 + 1) * 3 + 2], src[(3 + 2) * 4 + 3]);
        let back = transpose3(&t, [4, 2, 3], [1, 2, 0]);
        assert_eq!(back, src);
    }

    #[test]
    fn holes_are_filled() {
        let mut m = vec![true; 27];
        m[13] = false; // the centre of a 3³ cube
        let f = fill_holes(&m, [3, 3, 3]);
        assert!(f.iter().all(|&v| v));
        let mut m2 = vec![false; 27];
        m2[13] = true;
        assert_eq!(fill_holes(&m2, [3, 3, 3]), m2);
    }

    #[test]
    fn target_shapes_round_half_even() {
        assert_eq!(
            target_shape([40, 150, 120], [2.2, 0.8, 0.8], [2.0, 1.0, 1.0]),
            [44, 120, 96]
        );
        assert_eq!(
            target_shape([5, 7, 1], [1.0, 1.0, 1.0], [2.0, 2.0, 1.0]),
            [2, 4, 1]
        );
    }
}
