//! Box prompts on slices: 2D (all boxes of a slice in one decoder call) and 3D propagation
//! exactly as the LiteMedSAM baseline (medsam spec §3.3), with an embedding cache.
//!
//! **3D rule**, per box in file order (label = 1-based box index), on the box's own mask:
//! `z_mid = trunc((z_max − z_min) / 2 + z_min)`; up pass `z_mid ..= z_max`, down pass
//! `z_mid − 1 ..= z_min` (both inclusive, clipped to the volume). At `z_mid` the prompt is the
//! scaled 2D box; on every other slice it is the bounding box of the neighbouring slice's mask
//! (holding the label value, area-resized to the resized image size), widened by `widen_px` on
//! each side and clamped to `[0, clamp_max]`; an empty resized mask falls back to the scaled 2D
//! box. Masks are painted in box order, so a later box overwrites an earlier one.
//!
//! **Degenerate boxes** (the baseline asserts or crashes on some; here each is a documented rule
//! with a note in [`Outcome::notes`], never a panic):
//! * `z_min == z_max`: the box is segmented on that one slice (the baseline's assertion fails);
//! * zero width or height: run as given (the model still gets a valid prompt);
//! * a box reaching beyond the image: run as given (coordinates are not clipped, as the baseline
//!   does), slices outside the volume are skipped, and a `z_mid` outside the volume is moved to
//!   the nearest slice of the box inside it (the baseline indexes out of range there);
//! * a box with no overlap with the image, inverted corners (`x_max < x_min`), or non-finite
//!   coordinates: an `InvalidArgument` error naming the box.
//!
//! **Cache**: embeddings are kept per slice in an LRU bounded by a byte budget, so a slice is
//! encoded once for all boxes that cross it; a miss encodes up to `max_batch` slices ahead in
//! the direction of the current pass in one encoder call. Results do not depend on the budget.
//!
//! ```
//! use medseg::inference::sam::propagate::z_plan;
//! // Box over slices 2..=7 of a 10-slice volume: up 4..=7, then down 3, 2.
//! let (up, down, _) = z_plan(2, 7, 10).unwrap();
//! assert_eq!(up, vec![4, 5, 6, 7]);
//! assert_eq!(down, vec![3, 2]);
//! ```

use super::{Prepared, SamBackend, mask_from_logits, prepare_slice, resized_size, scale_box};
use crate::error::{Error, ErrorKind, Result};
use crate::inference::Progress;
use crate::preprocess::cv_resize;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Instant;

/// Default byte budget of the embedding cache (128 LiteMedSAM embeddings of 4 MiB).
pub const DEFAULT_CACHE_BYTES: usize = 512 << 20;

/// D slices of H × W × C uint8 pixels (C = 1, 3 or 4 interleaved), C order, borrowed.
#[derive(Debug, Clone, Copy)]
pub struct SliceStack<'a> {
    data: &'a [u8],
    /// Slices.
    pub d: usize,
    /// Rows.
    pub h: usize,
    /// Columns.
    pub w: usize,
    /// Components per pixel.
    pub channels: usize,
}

impl<'a> SliceStack<'a> {
    /// A view of `data` as `d × h × w × channels`.
    pub fn new(data: &'a [u8], d: usize, h: usize, w: usize, channels: usize) -> Result<Self> {
        if d == 0 || h == 0 || w == 0 {
            return Err(Error::invalid_argument(format!(
                "image of {d} x {h} x {w} has no pixels"
            )));
        }
        if !matches!(channels, 1 | 3 | 4) {
            return Err(Error::unsupported(format!(
                "{channels} components per pixel (expected 1 grey, 3 RGB or 4 RGBA)"
            )));
        }
        let n = d
            .checked_mul(h)
            .and_then(|v| v.checked_mul(w))
            .and_then(|v| v.checked_mul(channels))
            .ok_or_else(|| Error::too_large("image size overflows"))?;
        if data.len() != n {
            return Err(Error::mismatch(format!(
                "image of {d} x {h} x {w} x {channels} needs {n} bytes, got {}",
                data.len()
            )));
        }
        Ok(SliceStack {
            data,
            d,
            h,
            w,
            channels,
        })
    }

    /// Slice `z`.
    pub fn slice(&self, z: usize) -> &'a [u8] {
        let n = self.h * self.w * self.channels;
        &self.data[z * n..(z + 1) * n]
    }
}

/// Per-slice embeddings, least recently used first out, bounded by bytes.
#[derive(Debug)]
pub struct EmbeddingCache {
    budget: usize,
    map: HashMap<usize, Arc<Vec<f32>>>,
    order: VecDeque<usize>,
    bytes: usize,
    /// Slices encoded so far (misses), for reports.
    pub encoded: usize,
}

impl EmbeddingCache {
    /// An empty cache of `budget` bytes (at least one embedding is always kept).
    pub fn new(budget: usize) -> Self {
        EmbeddingCache {
            budget,
            map: HashMap::new(),
            order: VecDeque::new(),
            bytes: 0,
            encoded: 0,
        }
    }

    /// Forget everything (a new image).
    pub fn clear(&mut self) {
        self.map.clear();
        self.order.clear();
        self.bytes = 0;
    }

    /// Whether slice `z` is cached.
    pub fn contains(&self, z: usize) -> bool {
        self.map.contains_key(&z)
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    fn touch(&mut self, z: usize) {
        if let Some(p) = self.order.iter().position(|&v| v == z) {
            self.order.remove(p);
        }
        self.order.push_back(z);
    }

    fn get(&mut self, z: usize) -> Option<Arc<Vec<f32>>> {
        let e = self.map.get(&z).cloned();
        if e.is_some() {
            self.touch(z);
        }
        e
    }

    fn insert(&mut self, z: usize, e: Arc<Vec<f32>>) {
        let size = e.len() * 4;
        if let Some(old) = self.map.insert(z, e) {
            self.bytes -= old.len() * 4;
        }
        self.bytes += size;
        self.touch(z);
        while self.bytes > self.budget && self.order.len() > 1 {
            let Some(victim) = self.order.pop_front() else {
                break;
            };
            if let Some(old) = self.map.remove(&victim) {
                self.bytes -= old.len() * 4;
            }
        }
    }
}

/// Where time went (seconds).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Timings {
    /// Encoder calls.
    pub encoder: f64,
    /// Decoder calls.
    pub decoder: f64,
    /// Resizing, normalising, upsampling, thresholding, box derivation.
    pub prepost: f64,
}

/// Which box a decoder call got (the oracle's `call_box_source`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BoxSource {
    /// The given box, scaled.
    Given = 0,
    /// The neighbouring slice's mask.
    Previous = 1,
    /// The given box because the neighbouring mask was empty.
    Fallback = 2,
}

/// One decoder call, in the baseline's order (the oracle's `call_*` arrays).
#[derive(Debug, Clone, PartialEq)]
pub struct CallRecord {
    /// 1-based box index.
    pub box_index: usize,
    /// Slice (−1 for a 2D image).
    pub z: i64,
    /// 0 2D, 1 middle slice, 2 up pass, 3 down pass.
    pub pass: u8,
    /// Where the prompt came from.
    pub source: BoxSource,
    /// The prompt in the T frame.
    pub box_t: [i64; 4],
    /// Predicted IoU.
    pub iou: f32,
    /// Foreground pixels of the call's mask.
    pub fg_pixels: usize,
}

/// A segmentation: labels (1-based box index, 0 background) in C order of the input.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// D × H × W labels (H × W for one slice).
    pub labels: Vec<u16>,
    /// Every decoder call.
    pub calls: Vec<CallRecord>,
    /// Rules applied to degenerate boxes, one line each.
    pub notes: Vec<String>,
    /// Time split.
    pub timings: Timings,
}

fn bad_box(i: usize, b: &[f64], why: &str) -> Error {
    Error::invalid_argument(format!("box {} {b:?}: {why}", i + 1))
}

/// Check a 2D box `(x0, y0, x1, y1)` against an H × W image; notes for the tolerated cases.
fn check_box_2d(i: usize, b: [f64; 4], h: usize, w: usize, notes: &mut Vec<String>) -> Result<()> {
    if b.iter().any(|v| !v.is_finite()) {
        return Err(bad_box(i, &b, "coordinates must be finite numbers"));
    }
    if b[2] < b[0] || b[3] < b[1] {
        return Err(bad_box(
            i,
            &b,
            "corners are inverted (expected x_min <= x_max and y_min <= y_max)",
        ));
    }
    if b[2] < 0.0 || b[3] < 0.0 || b[0] > (w - 1) as f64 || b[1] > (h - 1) as f64 {
        return Err(bad_box(
            i,
            &b,
            &format!(
                "lies entirely outside the {w} x {h} image (x 0..{}, y 0..{})",
                w - 1,
                h - 1
            ),
        ));
    }
    if b[0] < 0.0 || b[1] < 0.0 || b[2] > (w - 1) as f64 || b[3] > (h - 1) as f64 {
        notes.push(format!(
            "box {} {b:?} reaches beyond the {w} x {h} image; used as given",
            i + 1
        ));
    }
    if b[0] == b[2] || b[1] == b[3] {
        notes.push(format!(
            "box {} {b:?} has zero width or height; used as given",
            i + 1
        ));
    }
    Ok(())
}

/// Slices of a box's passes: `(up, down, note)` for `z_min ..= z_max` in a volume of `d`
/// slices, in the baseline's order (see the module docs).
pub fn z_plan(z0: i64, z1: i64, d: usize) -> Result<(Vec<usize>, Vec<usize>, Option<String>)> {
    let d = d as i64;
    if z1 < z0 {
        return Err(Error::invalid_argument(format!("z_min {z0} > z_max {z1}")));
    }
    if z1 < 0 || z0 > d - 1 {
        return Err(Error::invalid_argument(format!(
            "slices {z0}..={z1} lie outside the volume (0..={})",
            d - 1
        )));
    }
    let mut zmid = ((z1 - z0) as f64 / 2.0 + z0 as f64).trunc() as i64;
    let (lo, hi) = (z0.max(0), z1.min(d - 1));
    let mut note = None;
    if zmid < lo || zmid > hi {
        let moved = zmid.clamp(lo, hi);
        note = Some(format!(
            "middle slice {zmid} lies outside the volume; started at slice {moved}"
        ));
        zmid = moved;
    }
    let up = (zmid..=hi).map(|z| z as usize).collect();
    let down = (lo..zmid).rev().map(|z| z as usize).collect();
    Ok((up, down, note))
}

/// The engine over one backend.
pub struct Engine<'b, B: SamBackend + ?Sized> {
    backend: &'b B,
    /// Time split so far.
    pub timings: Timings,
}

impl<B: SamBackend + ?Sized> std::fmt::Debug for Engine<'_, B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("timings", &self.timings)
            .finish()
    }
}

impl<'b, B: SamBackend + ?Sized> Engine<'b, B> {
    /// An engine over `backend`.
    pub fn new(backend: &'b B) -> Self {
        Engine {
            backend,
            timings: Timings::default(),
        }
    }

    /// The embedding of slice `z`, encoding it (and the slices in `ahead` that are missing, up
    /// to the backend's batch) on a miss.
    pub fn embedding(
        &mut self,
        stack: &SliceStack<'_>,
        cache: &mut EmbeddingCache,
        z: usize,
        ahead: &[usize],
    ) -> Result<Arc<Vec<f32>>> {
        if let Some(e) = cache.get(z) {
            return Ok(e);
        }
        let t = self.backend.input_size();
        let mut zs = vec![z];
        for &a in ahead {
            if zs.len() >= self.backend.max_batch().max(1) {
                break;
            }
            if a != z && a < stack.d && !cache.contains(a) && !zs.contains(&a) {
                zs.push(a);
            }
        }
        let t0 = Instant::now();
        let mut inputs = Vec::with_capacity(zs.len() * 3 * t * t);
        for &s in &zs {
            let p: Prepared = prepare_slice(stack.slice(s), stack.h, stack.w, stack.channels, t)?;
            inputs.extend_from_slice(&p.input);
        }
        let t1 = Instant::now();
        self.timings.prepost += (t1 - t0).as_secs_f64();
        let emb = self.backend.encode(&inputs, zs.len())?;
        self.timings.encoder += t1.elapsed().as_secs_f64();
        let n = self.backend.embedding_len();
        if emb.len() != n * zs.len() {
            return Err(Error::mismatch(format!(
                "encoder gave {} values for {} slices of {n}",
                emb.len(),
                zs.len()
            )));
        }
        cache.encoded += zs.len();
        let mut first = None;
        for (k, &s) in zs.iter().enumerate() {
            let e = Arc::new(emb[k * n..(k + 1) * n].to_vec());
            if k == 0 {
                first = Some(e.clone());
            }
            cache.insert(s, e);
        }
        first.ok_or_else(|| Error::internal("no embedding"))
    }

    fn decode_masks(
        &mut self,
        emb: &[f32],
        boxes: &[[f32; 4]],
        stack: &SliceStack<'_>,
    ) -> Result<(Vec<Vec<bool>>, Vec<f32>)> {
        let t0 = Instant::now();
        let dec = self.backend.decode(emb, boxes)?;
        let t1 = Instant::now();
        self.timings.decoder += (t1 - t0).as_secs_f64();
        let (l, t) = (self.backend.lowres_size(), self.backend.input_size());
        if dec.logits.len() != boxes.len() * l * l || dec.iou.len() != boxes.len() {
            return Err(Error::mismatch(format!(
                "decoder gave {} logits / {} IoU values for {} boxes",
                dec.logits.len(),
                dec.iou.len(),
                boxes.len()
            )));
        }
        let new_hw = resized_size(stack.h, stack.w, t);
        let mut masks = Vec::with_capacity(boxes.len());
        for b in 0..boxes.len() {
            masks.push(mask_from_logits(
                &dec.logits[b * l * l..(b + 1) * l * l],
                l,
                t,
                new_hw,
                stack.h,
                stack.w,
                self.backend.threshold(),
            )?);
        }
        self.timings.prepost += t1.elapsed().as_secs_f64();
        Ok((masks, dec.iou))
    }

    /// 2D: every box `(x0, y0, x1, y1)` on slice `z`, one encoder call (cached) and one decoder
    /// call for all boxes; labels painted in box order (H × W).
    pub fn segment_2d(
        &mut self,
        stack: &SliceStack<'_>,
        cache: &mut EmbeddingCache,
        z: usize,
        boxes: &[[f64; 4]],
    ) -> Result<Outcome> {
        if z >= stack.d {
            return Err(Error::invalid_argument(format!(
                "slice {z} is outside the image (0..={})",
                stack.d - 1
            )));
        }
        let mut notes = Vec::new();
        for (i, b) in boxes.iter().enumerate() {
            check_box_2d(i, *b, stack.h, stack.w, &mut notes)?;
        }
        let (h, w, t) = (stack.h, stack.w, self.backend.input_size());
        let mut labels = vec![0u16; h * w];
        let mut calls = Vec::with_capacity(boxes.len());
        if boxes.is_empty() {
            return Ok(Outcome {
                labels,
                calls,
                notes,
                timings: self.timings,
            });
        }
        let emb = self.embedding(stack, cache, z, &[])?;
        let scaled: Vec<[f32; 4]> = boxes.iter().map(|b| scale_box(*b, h, w, t)).collect();
        let (masks, iou) = self.decode_masks(&emb, &scaled, stack)?;
        for (i, m) in masks.iter().enumerate() {
            let label = label_of(i)?;
            let mut fg = 0;
            for (p, &on) in m.iter().enumerate() {
                if on {
                    labels[p] = label;
                    fg += 1;
                }
            }
            calls.push(CallRecord {
                box_index: i + 1,
                z: -1,
                pass: 0,
                source: BoxSource::Given,
                box_t: scaled[i].map(|v| v as i64),
                iou: iou[i],
                fg_pixels: fg,
            });
        }
        Ok(Outcome {
            labels,
            calls,
            notes,
            timings: self.timings,
        })
    }

    /// The prompt from a neighbouring slice's mask (label-valued, H × W), or `None` when the
    /// area-resized mask is empty.
    fn box_from_mask(&mut self, mask: &[u8], stack: &SliceStack<'_>) -> Result<Option<[f32; 4]>> {
        let t0 = Instant::now();
        let t = self.backend.input_size();
        let (nh, nw) = resized_size(stack.h, stack.w, t);
        let prop = self.backend.propagation();
        let mut bb: Option<[i64; 4]> = None;
        if mask.iter().any(|&v| v > 0) {
            let r = cv_resize::resize_area_u8(mask, stack.h, stack.w, 1, nh, nw)?;
            for (y, row) in r.chunks_exact(nw).enumerate() {
                let (Some(a), Some(b)) = (
                    row.iter().position(|&v| v > 0),
                    row.iter().rposition(|&v| v > 0),
                ) else {
                    continue;
                };
                let (a, b, y) = (a as i64, b as i64, y as i64);
                bb = Some(match bb {
                    None => [a, y, b, y],
                    Some(o) => [o[0].min(a), o[1].min(y), o[2].max(b), o[3].max(y)],
                });
            }
        }
        self.timings.prepost += t0.elapsed().as_secs_f64();
        Ok(bb.map(|[x0, y0, x1, y1]| {
            let wdn = prop.widen_px;
            let c = prop.clamp_max;
            [
                (x0 - wdn).max(0) as f32,
                (y0 - wdn).max(0) as f32,
                (x1 + wdn).min(c) as f32,
                (y1 + wdn).min(c) as f32,
            ]
        }))
    }

    /// 3D: every box `(x0, y0, z0, x1, y1, z1)` with the baseline's propagation; `D × H × W`
    /// labels. `progress` is called after every decoder call; `false` cancels (nothing is
    /// returned but the `Cancelled` error).
    pub fn segment_3d(
        &mut self,
        stack: &SliceStack<'_>,
        cache: &mut EmbeddingCache,
        boxes: &[[f64; 6]],
        progress: Progress<'_>,
    ) -> Result<Outcome> {
        let (d, h, w, t) = (stack.d, stack.h, stack.w, self.backend.input_size());
        let mut notes = Vec::new();
        let mut plans = Vec::with_capacity(boxes.len());
        for (i, b) in boxes.iter().enumerate() {
            check_box_2d(i, [b[0], b[1], b[3], b[4]], h, w, &mut notes)?;
            if !b[2].is_finite() || !b[5].is_finite() {
                return Err(bad_box(i, b, "coordinates must be finite numbers"));
            }
            let (z0, z1) = (b[2].trunc() as i64, b[5].trunc() as i64);
            let (up, down, note) = z_plan(z0, z1, d).map_err(|e| bad_box(i, b, e.message()))?;
            if z0 == z1 {
                notes.push(format!(
                    "box {} {b:?} spans one slice (z_min == z_max); segmented on slice {z0} only",
                    i + 1
                ));
            }
            if z0 < 0 || z1 > d as i64 - 1 {
                notes.push(format!(
                    "box {} {b:?} reaches beyond the {d} slices; slices outside are skipped",
                    i + 1
                ));
            }
            if let Some(n) = note {
                notes.push(format!("box {}: {n}", i + 1));
            }
            plans.push((up, down));
        }
        let total: usize = plans.iter().map(|(u, dn)| u.len() + dn.len()).sum();
        let mut done = 0usize;
        let plane = h * w;
        let mut labels = vec![0u16; d * plane];
        let mut calls = Vec::with_capacity(total);
        if !progress(0.0, "segmenting") {
            return Err(Error::new(ErrorKind::Cancelled, "cancelled"));
        }
        for (i, (b, (up, down))) in boxes.iter().zip(&plans).enumerate() {
            let label = label_of(i)?;
            let value = label.min(255) as u8;
            let given = scale_box([b[0], b[1], b[3], b[4]], h, w, t);
            let zmid = up[0];
            let mut mid_mask: Vec<u8> = Vec::new();
            let mut prev: Vec<u8> = Vec::new();
            for (pass, zs) in [(2u8, up), (3u8, down)] {
                if pass == 3 {
                    prev = std::mem::take(&mut mid_mask);
                }
                for (n, &z) in zs.iter().enumerate() {
                    let (prompt, source, pass_no) = if pass == 2 && n == 0 {
                        (given, BoxSource::Given, 1u8)
                    } else {
                        match self.box_from_mask(&prev, stack)? {
                            Some(bx) => (bx, BoxSource::Previous, pass),
                            None => (given, BoxSource::Fallback, pass),
                        }
                    };
                    let emb = self.embedding(stack, cache, z, &zs[n + 1..])?;
                    let (masks, iou) = self.decode_masks(&emb, &[prompt], stack)?;
                    let m = &masks[0];
                    let mut cur = vec![0u8; plane];
                    let mut fg = 0;
                    let out = &mut labels[z * plane..(z + 1) * plane];
                    for p in 0..plane {
                        if m[p] {
                            cur[p] = value;
                            out[p] = label;
                            fg += 1;
                        }
                    }
                    calls.push(CallRecord {
                        box_index: i + 1,
                        z: z as i64,
                        pass: pass_no,
                        source,
                        box_t: prompt.map(|v| v as i64),
                        iou: iou[0],
                        fg_pixels: fg,
                    });
                    if z == zmid {
                        mid_mask = cur.clone();
                    }
                    prev = cur;
                    done += 1;
                    if !progress(done as f64 / total.max(1) as f64, "segmenting") {
                        return Err(Error::new(ErrorKind::Cancelled, "cancelled"));
                    }
                }
            }
        }
        Ok(Outcome {
            labels,
            calls,
            notes,
            timings: self.timings,
        })
    }
}

fn label_of(i: usize) -> Result<u16> {
    u16::try_from(i + 1).map_err(|_| {
        Error::invalid_argument(format!(
            "{} boxes: at most {} boxes per image",
            i + 1,
            u16::MAX
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::super::Decoded;
    use super::*;

    /// A stub network: embeddings hold the slice's mean intensity; the decoder paints the box
    /// (in the T frame) as positive logits, unless the slice is "dark" (mean < 10), where it
    /// returns an empty mask. Enough to test the propagation rules without weights.
    struct Stub;

    impl SamBackend for Stub {
        fn input_size(&self) -> usize {
            16
        }
        fn lowres_size(&self) -> usize {
            16
        }
        fn embedding_len(&self) -> usize {
            1
        }
        fn max_batch(&self) -> usize {
            2
        }
        fn encode(&self, inputs: &[f32], n: usize) -> Result<Vec<f32>> {
            let per = inputs.len() / n;
            Ok(inputs
                .chunks(per)
                .map(|c| c.iter().sum::<f32>() / c.len() as f32)
                .collect())
        }
        fn decode(&self, e: &[f32], boxes: &[[f32; 4]]) -> Result<Decoded> {
            let mut logits = Vec::new();
            for b in boxes {
                for y in 0..16 {
                    for x in 0..16 {
                        let inside = (x as f32) >= b[0]
                            && (x as f32) <= b[2]
                            && (y as f32) >= b[1]
                            && (y as f32) <= b[3];
                        logits.push(if inside && e[0] > 0.0 { 5.0 } else { -5.0 });
                    }
                }
            }
            Ok(Decoded {
                logits,
                iou: vec![0.9; boxes.len()],
            })
        }
    }

    /// 6 slices of 16 x 16; slices 0 and 5 constant (normalised to 0 → "no object").
    fn volume() -> Vec<u8> {
        let mut v = vec![0u8; 6 * 256];
        for z in 1..5 {
            for p in 0..256 {
                v[z * 256 + p] = (p % 7) as u8 * 30;
            }
        }
        v
    }

    #[test]
    fn z_plan_rules() {
        assert_eq!(z_plan(2, 7, 10).unwrap().0, vec![4, 5, 6, 7]);
        assert_eq!(z_plan(3, 3, 10).unwrap(), (vec![3], vec![], None));
        // z_max beyond the volume: the up pass stops at the last slice.
        let (up, down, note) = z_plan(6, 13, 10).unwrap();
        assert_eq!((up, down, note.is_none()), (vec![9], vec![8, 7, 6], true));
        // The middle slice outside the volume moves inside it.
        let (up, down, note) = z_plan(8, 30, 10).unwrap();
        assert_eq!((up, down), (vec![9], vec![8]));
        assert!(note.is_some());
        assert!(z_plan(12, 14, 10).is_err());
        assert!(z_plan(5, 4, 10).is_err());
    }

    #[test]
    fn propagation_previous_box_and_fallback() {
        let v = volume();
        let stack = SliceStack::new(&v, 6, 16, 16, 1).unwrap();
        let mut cache = EmbeddingCache::new(1 << 20);
        let mut e = Engine::new(&Stub);
        let out = e
            .segment_3d(
                &stack,
                &mut cache,
                &[[4.0, 5.0, 0.0, 9.0, 10.0, 5.0]],
                &mut |_, _| true,
            )
            .unwrap();
        let order: Vec<(i64, u8, BoxSource)> =
            out.calls.iter().map(|c| (c.z, c.pass, c.source)).collect();
        use BoxSource::*;
        // z_mid = 2; up 2..=5, down 1, 0. Slice 5 is dark: empty mask, so slice... the next
        // call after it would fall back; slice 1 follows slice 2 (non-empty) → previous box.
        assert_eq!(
            order,
            vec![
                (2, 1, Given),
                (3, 2, Previous),
                (4, 2, Previous),
                (5, 2, Previous),
                (1, 3, Previous),
                (0, 3, Previous)
            ]
        );
        // The previous-mask box is the mask's bounding box widened by 3 and clamped to [0, 16].
        assert_eq!(out.calls[1].box_t, [1, 2, 12, 13]);
        assert_eq!(out.calls[2].box_t, [0, 0, 15, 16]);
        // Slice 0 got the box of slice 1's mask; slices 0 and 5 stay empty (dark).
        assert_eq!(out.calls[5].fg_pixels, 0);
        assert_eq!(out.calls[3].fg_pixels, 0);
        // Each slice encoded once.
        assert_eq!(cache.encoded, 6);
        assert!(
            out.labels[2 * 256..3 * 256]
                .iter()
                .filter(|&&l| l == 1)
                .count()
                == 36
        );
    }

    #[test]
    fn empty_previous_mask_falls_back_to_the_given_box() {
        // Slices 0 and 5 are dark; a box over 3..=5 and a second over 0..=2: after the dark
        // slice 0 (down pass of box 2 ends there) nothing follows; use a volume where the dark
        // slice is in the middle of a pass instead.
        let mut v = volume();
        for p in 0..256 {
            v[3 * 256 + p] = 0; // slice 3 dark
        }
        let stack = SliceStack::new(&v, 6, 16, 16, 1).unwrap();
        let mut cache = EmbeddingCache::new(1 << 20);
        let mut e = Engine::new(&Stub);
        let out = e
            .segment_3d(
                &stack,
                &mut cache,
                &[[4.0, 5.0, 1.0, 9.0, 10.0, 4.0]],
                &mut |_, _| true,
            )
            .unwrap();
        // z_mid = 2: 2 (given), 3 (previous; dark → empty), 4 (fallback), 1 (previous of 2).
        let src: Vec<(i64, BoxSource)> = out.calls.iter().map(|c| (c.z, c.source)).collect();
        assert_eq!(
            src,
            vec![
                (2, BoxSource::Given),
                (3, BoxSource::Previous),
                (4, BoxSource::Fallback),
                (1, BoxSource::Previous)
            ]
        );
        assert_eq!(out.calls[2].box_t, out.calls[0].box_t);
    }

    #[test]
    fn degenerate_boxes_follow_the_rules() {
        let v = volume();
        let stack = SliceStack::new(&v, 6, 16, 16, 1).unwrap();
        let mut cache = EmbeddingCache::new(4); // one embedding: results must not change
        let mut e = Engine::new(&Stub);
        // z_min == z_max: one slice, with a note.
        let out = e
            .segment_3d(
                &stack,
                &mut cache,
                &[[4.0, 5.0, 2.0, 4.0, 10.0, 2.0]],
                &mut |_, _| true,
            )
            .unwrap();
        assert_eq!(out.calls.len(), 1);
        assert!(out.notes.iter().any(|n| n.contains("one slice")));
        assert!(out.notes.iter().any(|n| n.contains("zero width")));
        // Outside the image, inverted, NaN: typed errors naming the box.
        for b in [
            [20.0, 20.0, 0.0, 30.0, 30.0, 3.0],
            [9.0, 5.0, 0.0, 4.0, 10.0, 3.0],
            [4.0, 5.0, 9.0, 9.0, 10.0, 12.0],
            [f64::NAN, 5.0, 0.0, 9.0, 10.0, 3.0],
            [4.0, 5.0, 3.0, 9.0, 10.0, 1.0],
        ] {
            let err = e
                .segment_3d(
                    &stack,
                    &mut cache,
                    &[[1.0, 1.0, 1.0, 5.0, 5.0, 4.0], b],
                    &mut |_, _| true,
                )
                .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{b:?}");
            assert!(err.message().contains("box 2"), "{}", err.message());
        }
        // Cancel: an error, nothing returned.
        let err = e
            .segment_3d(
                &stack,
                &mut cache,
                &[[4.0, 5.0, 0.0, 9.0, 10.0, 5.0]],
                &mut |f, _| f < 0.3,
            )
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Cancelled);
    }

    #[test]
    fn later_boxes_overwrite_earlier_ones_in_2d() {
        let v = volume();
        let stack = SliceStack::new(&v, 6, 16, 16, 1).unwrap();
        let mut cache = EmbeddingCache::new(1 << 20);
        let mut e = Engine::new(&Stub);
        let out = e
            .segment_2d(
                &stack,
                &mut cache,
                2,
                &[[0.0, 0.0, 9.0, 9.0], [5.0, 5.0, 12.0, 12.0]],
            )
            .unwrap();
        assert_eq!(out.labels[5 * 16 + 5], 2);
        assert_eq!(out.labels[0], 1);
        assert_eq!(out.labels[15 * 16 + 15], 0);
        assert_eq!(out.calls.len(), 2);
    }
}
