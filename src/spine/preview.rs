//! TSS-style sagittal preview JPEGs (spec §4.10): the image reoriented to RAS and resampled to
//! 1 mm, the sagittal slice at `sliceloc` (default the middle), min–max scaled to 0–255,
//! superior up and anterior left; labels painted over it in a fixed colour per label, with
//! optional text tags (vertebra/disc names) beside each label's bounding box.
//!
//! Not pixel-identical to totalspineseg: its colours come from numpy's MT19937 seeded per label
//! and its text from PIL's default font; here colours come from a fixed hash of `label × 10`
//! and text from a built-in 5×7 bitmap font.

use super::resample::{Interp, reorient_canonical, resample_iso, transform_seg2image};
use crate::error::{Error, Result};
use crate::image::{DynImage, Pixel};

/// Preview settings.
#[derive(Debug, Clone)]
pub struct PreviewOptions {
    /// Relative slice position along x (0..1).
    pub sliceloc: f64,
    /// Spread point labels across the slicing axis and dilate them by 3 (level points).
    pub levels: bool,
    /// Write name tags left of each label.
    pub tags: bool,
    /// JPEG quality.
    pub quality: u8,
}

impl Default for PreviewOptions {
    fn default() -> Self {
        PreviewOptions {
            sliceloc: 0.5,
            levels: false,
            tags: false,
            quality: 95,
        }
    }
}

/// The TotalSpineSeg name of a final label (`tss_map.json`), used for tags.
pub fn label_name(l: u8) -> Option<String> {
    Some(match l {
        1 => "SC".into(),
        2 => "CANAL".into(),
        11..=17 => format!("C{}", l - 10),
        21..=32 => format!("T{}", l - 20),
        41..=47 => format!("L{}", l - 40),
        50 => "S".into(),
        63..=67 => format!("C{}-C{}", l - 61, l - 60),
        71 => "C7-T1".into(),
        72..=82 => format!("T{}-T{}", l - 71, l - 70),
        91 => "T12-L1".into(),
        92..=96 => format!("L{}-L{}", l - 91, l - 90),
        100 => "L5-S".into(),
        _ => return None,
    })
}

fn colour(l: u8) -> [u8; 3] {
    let mut z = (l as u64 * 10).wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    [
        (z % 255) as u8,
        ((z >> 16) % 255) as u8,
        ((z >> 32) % 255) as u8,
    ]
}

/// 5×7 glyphs (rows top to bottom, 5 bits each, MSB left) for the characters tags use.
fn glyph(c: char) -> Option<[u8; 7]> {
    Some(match c {
        '0' => [14, 17, 19, 21, 25, 17, 14],
        '1' => [4, 12, 4, 4, 4, 4, 14],
        '2' => [14, 17, 1, 2, 4, 8, 31],
        '3' => [31, 2, 4, 2, 1, 17, 14],
        '4' => [2, 6, 10, 18, 31, 2, 2],
        '5' => [31, 16, 30, 1, 1, 17, 14],
        '6' => [6, 8, 16, 30, 17, 17, 14],
        '7' => [31, 1, 2, 4, 8, 8, 8],
        '8' => [14, 17, 17, 14, 17, 17, 14],
        '9' => [14, 17, 17, 15, 1, 2, 12],
        'A' => [14, 17, 17, 31, 17, 17, 17],
        'C' => [14, 17, 16, 16, 16, 17, 14],
        'L' => [16, 16, 16, 16, 16, 16, 31],
        'N' => [17, 25, 21, 19, 17, 17, 17],
        'S' => [15, 16, 16, 14, 1, 1, 30],
        'T' => [31, 4, 4, 4, 4, 4, 4],
        '-' => [0, 0, 0, 31, 0, 0, 0],
        _ => return None,
    })
}

struct Canvas {
    w: usize,
    h: usize,
    px: Vec<u8>,
}

impl Canvas {
    fn put(&mut self, x: i64, y: i64, c: [u8; 3]) {
        if x >= 0 && y >= 0 && (x as usize) < self.w && (y as usize) < self.h {
            let o = (y as usize * self.w + x as usize) * 3;
            self.px[o..o + 3].copy_from_slice(&c);
        }
    }
    fn text(&mut self, x: i64, y: i64, s: &str, c: [u8; 3]) {
        // white outline, then the text
        for (dx, dy, col) in [
            (-1, 0, [255; 3]),
            (1, 0, [255; 3]),
            (0, -1, [255; 3]),
            (0, 1, [255; 3]),
            (0, 0, c),
        ] {
            let mut cx = x + dx;
            for ch in s.chars() {
                if let Some(g) = glyph(ch) {
                    for (r, bits) in g.iter().enumerate() {
                        for b in 0..5 {
                            if bits & (16 >> b) != 0 {
                                self.put(cx + b, y + dy + r as i64, col);
                            }
                        }
                    }
                }
                cx += 6;
            }
        }
    }
}

/// Render the preview of `image` (any orientation/spacing) with an optional segmentation.
/// Returns (width, height, RGB bytes).
pub fn render(
    image: &DynImage,
    seg: Option<&DynImage>,
    o: &PreviewOptions,
) -> Result<(usize, usize, Vec<u8>)> {
    let canon = reorient_canonical(image)?;
    let iso = resample_iso(&canon, [1.0; 3])?;
    let g = *iso.geometry();
    let [nx, ny, nz] = g.size;
    let x = ((o.sliceloc * nx as f64) as usize).min(nx - 1);
    let vals: Vec<f64> = crate::dispatch!(&iso, i => {
        let d = i.data();
        let mut v = Vec::with_capacity(ny * nz);
        for z in 0..nz {
            for y in 0..ny {
                v.push(d[x + nx * (y + ny * z)].to_f64());
            }
        }
        v
    });
    let (mn, mx) = vals
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
            (a.min(v), b.max(v))
        });
    let scale = if mx > mn { 255.0 / (mx - mn) } else { 0.0 };
    // Output pixel (row i, col j) ↔ z = nz-1-i, y = ny-1-j (flipud + rot90).
    let (w, h) = (ny, nz);
    let mut cv = Canvas {
        w,
        h,
        px: vec![0; w * h * 3],
    };
    for i in 0..h {
        for j in 0..w {
            let v = vals[(ny - 1 - j) + ny * (nz - 1 - i)];
            let gv = ((v - mn) * scale) as u8;
            cv.put(j as i64, i as i64, [gv; 3]);
        }
    }
    if let Some(seg) = seg {
        let sc = reorient_canonical(seg)?;
        let r = transform_seg2image(&g, &sc, Interp::Nearest)?;
        let (_, s) = super::ops::labels_u8(&r, "preview")?;
        let at = |y: usize, z: usize| -> u8 {
            if o.levels {
                // max over x, then 3×3 grey dilation in the slice plane
                let mut m = 0u8;
                for yy in y.saturating_sub(1)..=(y + 1).min(ny - 1) {
                    for zz in z.saturating_sub(1)..=(z + 1).min(nz - 1) {
                        for xx in 0..nx {
                            m = m.max(s[xx + nx * (yy + ny * zz)]);
                        }
                    }
                }
                m
            } else {
                s[x + nx * (y + ny * z)]
            }
        };
        let mut slice = vec![0u8; w * h];
        for i in 0..h {
            for j in 0..w {
                let l = at(ny - 1 - j, nz - 1 - i);
                slice[i * w + j] = l;
                if l != 0 {
                    cv.put(j as i64, i as i64, colour(l));
                }
            }
        }
        if o.tags {
            let mut present = [false; 256];
            for &l in &slice {
                present[l as usize] = true;
            }
            for l in 1..=255u8 {
                if !present[l as usize] {
                    continue;
                }
                let Some(name) = label_name(l) else { continue };
                let (mut x0, mut y0, mut y1) = (usize::MAX, usize::MAX, 0usize);
                for i in 0..h {
                    for j in 0..w {
                        if slice[i * w + j] == l {
                            x0 = x0.min(j);
                            y0 = y0.min(i);
                            y1 = y1.max(i);
                        }
                    }
                }
                let tw = name.len() as i64 * 6;
                let ty = ((y0 + y1) / 2) as i64 - 3;
                let mut tx = x0 as i64 - 2 - tw;
                // move left until the text start lies outside every label
                while tx > 0 && slice[(ty.max(0) as usize).min(h - 1) * w + tx as usize] != 0 {
                    tx -= 1;
                }
                cv.text(tx.max(0), ty, &name, colour(l));
            }
        }
    }
    Ok((w, h, cv.px))
}

/// Render and write a JPEG atomically.
pub fn write_preview(
    path: &std::path::Path,
    image: &DynImage,
    seg: Option<&DynImage>,
    o: &PreviewOptions,
) -> Result<()> {
    let (w, h, px) = render(image, seg, o)?;
    let (w16, h16) = (
        u16::try_from(w).map_err(|_| Error::too_large("preview wider than 65535"))?,
        u16::try_from(h).map_err(|_| Error::too_large("preview taller than 65535"))?,
    );
    let mut buf = Vec::new();
    jpeg_encoder::Encoder::new(&mut buf, o.quality)
        .encode(&px, w16, h16, jpeg_encoder::ColorType::Rgb)
        .map_err(|e| Error::internal(format!("JPEG encoding: {e}")))?;
    if let Some(p) = path.parent() {
        std::fs::create_dir_all(p).map_err(|e| Error::io(p, e))?;
    }
    crate::io::atomic_write(path, &buf)
}
