//! PNG/JPEG preview pictures: one slice, a mosaic of slices, or a tri-planar view, with an
//! optional label overlay and text tag.
//!
//! Display convention (radiological, as PACS viewers and 3D Slicer show it): the volume is first
//! mapped, by permutation and flips only, to the closest `LPS` grid (i → patient Left,
//! j → Posterior, k → Superior), then
//!
//! * **axial**: patient left on the image right, anterior at the top (slice index 0 = most
//!   inferior);
//! * **coronal**: patient left on the image right, superior at the top (slice 0 = most anterior);
//! * **sagittal**: anterior on the image left, superior at the top (slice 0 = patient right).
//!
//! Pixels are resampled so that one picture pixel covers the same number of millimetres in both
//! directions (the physical aspect ratio); grey values bilinearly, labels by nearest neighbour.
//! Text tags use a built-in 5×7 bitmap font (ASCII letters, digits and common punctuation;
//! lower case is drawn as upper case).
//!
//! ```
//! use medseg::image::{Geometry, Image, DynImage};
//! use medseg::preview::{render, PreviewOptions};
//! let g = Geometry::new([4, 4, 2], [1.0, 1.0, 3.0], [0.0; 3], medseg::image::IDENTITY).unwrap();
//! let img: DynImage = Image::new(g, (0..32).map(|v| v as i16).collect()).unwrap().into();
//! let pic = render(&img, None, &PreviewOptions { min_size: 0, ..Default::default() }).unwrap();
//! assert_eq!((pic.width, pic.height), (4, 4));
//! let png = pic.encode_png().unwrap();
//! assert_eq!(&png[1..4], b"PNG");
//! ```

use crate::error::{Error, Result};
use crate::image::{DynImage, Geometry, Image, Pixel};
use crate::preprocess::orient::{AxisCode, AxisMap};
use std::path::Path;

/// Which plane to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Axis {
    #[default]
    Axial,
    Coronal,
    Sagittal,
}

impl Axis {
    /// Parse `axial`, `coronal`, `sagittal` (or `ax`, `cor`, `sag`).
    pub fn parse(s: &str) -> Result<Axis> {
        match s.to_ascii_lowercase().as_str() {
            "axial" | "ax" | "transverse" => Ok(Axis::Axial),
            "coronal" | "cor" => Ok(Axis::Coronal),
            "sagittal" | "sag" => Ok(Axis::Sagittal),
            other => Err(Error::invalid_argument(format!(
                "axis '{other}' is not one of axial, coronal, sagittal"
            ))),
        }
    }

    /// The display-grid axis that is held fixed (the slice axis).
    fn slice_axis(self) -> usize {
        match self {
            Axis::Axial => 2,
            Axis::Coronal => 1,
            Axis::Sagittal => 0,
        }
    }
}

/// How grey values map to 0–255.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Window {
    /// The 0.5th–99.5th percentile of the volume (estimated on a strided sample of at most
    /// 2²⁰ voxels).
    #[default]
    Auto,
    /// Window level and width: `[level − width/2, level + width/2]` → `[0, 255]`.
    LevelWidth { level: f64, width: f64 },
}

/// Colours of label values (RGB); label 0 is never drawn.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ColorTable {
    colors: std::collections::BTreeMap<i64, [u8; 3]>,
}

const PALETTE: [[u8; 3]; 12] = [
    [230, 25, 75],
    [60, 180, 75],
    [255, 225, 25],
    [0, 130, 200],
    [245, 130, 48],
    [145, 30, 180],
    [70, 240, 240],
    [240, 50, 230],
    [210, 245, 60],
    [250, 190, 212],
    [0, 128, 128],
    [220, 190, 255],
];

impl ColorTable {
    /// The colour of `label`: from the table, else the default palette (12 distinct colours for
    /// labels 1–12, then golden-angle hues).
    pub fn color(&self, label: i64) -> [u8; 3] {
        if let Some(c) = self.colors.get(&label) {
            return *c;
        }
        if (1..=12).contains(&label) {
            return PALETTE[(label - 1) as usize];
        }
        let h = (label as f64 * 137.507_764).rem_euclid(360.0) / 60.0;
        let x = 1.0 - (h % 2.0 - 1.0).abs();
        let (r, g, b) = match h as u32 {
            0 => (1.0, x, 0.0),
            1 => (x, 1.0, 0.0),
            2 => (0.0, 1.0, x),
            3 => (0.0, x, 1.0),
            4 => (x, 0.0, 1.0),
            _ => (1.0, 0.0, x),
        };
        let s = |v: f64| (40.0 + 215.0 * v) as u8;
        [s(r), s(g), s(b)]
    }

    /// Set one colour.
    pub fn set(&mut self, label: i64, rgb: [u8; 3]) {
        self.colors.insert(label, rgb);
    }

    /// Parse a JSON map from label to colour: `{"1": [255, 0, 0], "2": "#00ff00",
    /// "3": {"color": [0, 0, 255], "name": "kidney"}}`.
    pub fn from_json(text: &str) -> Result<ColorTable> {
        let v: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| Error::format(format!("colour table is not valid JSON: {e}")))?;
        let obj = v.as_object().ok_or_else(|| {
            Error::format("colour table must be a JSON object mapping labels to colours")
        })?;
        let mut t = ColorTable::default();
        for (k, val) in obj {
            let label: i64 = k.trim().parse().map_err(|_| {
                Error::format(format!("colour table key '{k}' is not an integer label"))
            })?;
            let val = val.get("color").unwrap_or(val);
            let rgb = parse_color(val).ok_or_else(|| {
                Error::format(format!(
                    "colour of label {label}: {val} is not [r, g, b] or \"#rrggbb\""
                ))
            })?;
            t.set(label, rgb);
        }
        Ok(t)
    }
}

fn parse_color(v: &serde_json::Value) -> Option<[u8; 3]> {
    if let Some(a) = v.as_array() {
        if a.len() < 3 {
            return None;
        }
        let mut rgb = [0u8; 3];
        let as_unit = a
            .iter()
            .take(3)
            .all(|x| x.as_f64().is_some_and(|f| f <= 1.0))
            && a.iter().take(3).any(|x| x.is_f64());
        for (c, x) in rgb.iter_mut().zip(a) {
            let f = x.as_f64()?;
            let f = if as_unit { f * 255.0 } else { f };
            if !(0.0..=255.0).contains(&f) {
                return None;
            }
            *c = f.round() as u8;
        }
        return Some(rgb);
    }
    let s = v.as_str()?.trim().trim_start_matches('#');
    if s.len() != 6 || !s.is_ascii() {
        return None;
    }
    let p = |i: usize| u8::from_str_radix(s.get(i..i + 2)?, 16).ok();
    Some([p(0)?, p(2)?, p(4)?])
}

/// What to draw.
#[derive(Debug, Clone)]
pub struct PreviewOptions {
    pub axis: Axis,
    /// Slice index along the display axis (see the module docs); `None` = the middle slice (the
    /// middle of the labelled extent when labels are given).
    pub slice: Option<usize>,
    pub window: Window,
    /// Overlay opacity in [0, 1].
    pub alpha: f64,
    pub colors: ColorTable,
    /// Draw N slices spread over the volume (or over the labelled extent) in a grid.
    pub mosaic: Option<usize>,
    /// Axial, coronal and sagittal side by side through the middle (or `slice` for `axis`).
    pub triplanar: bool,
    /// Text written in the top-left corner.
    pub tag: Option<String>,
    /// Enlarge pictures whose longer side is smaller than this (pixels; 0 = never).
    pub min_size: usize,
}

impl Default for PreviewOptions {
    fn default() -> Self {
        PreviewOptions {
            axis: Axis::Axial,
            slice: None,
            window: Window::Auto,
            alpha: 0.4,
            colors: ColorTable::default(),
            mosaic: None,
            triplanar: false,
            tag: None,
            min_size: 256,
        }
    }
}

/// An 8-bit RGB picture, rows top to bottom.
#[derive(Debug, Clone, PartialEq)]
pub struct Picture {
    pub width: usize,
    pub height: usize,
    /// `width * height * 3` bytes.
    pub rgb: Vec<u8>,
}

impl Picture {
    /// A black picture.
    pub fn new(width: usize, height: usize) -> Picture {
        Picture {
            width,
            height,
            rgb: vec![0; width * height * 3],
        }
    }

    /// The pixel at (x, y), if inside.
    pub fn pixel(&self, x: usize, y: usize) -> Option<[u8; 3]> {
        if x >= self.width || y >= self.height {
            return None;
        }
        let o = (y * self.width + x) * 3;
        Some([self.rgb[o], self.rgb[o + 1], self.rgb[o + 2]])
    }

    fn put(&mut self, x: usize, y: usize, c: [u8; 3]) {
        if x < self.width && y < self.height {
            let o = (y * self.width + x) * 3;
            self.rgb[o..o + 3].copy_from_slice(&c);
        }
    }

    fn blit(&mut self, src: &Picture, x0: usize, y0: usize) {
        for y in 0..src.height {
            for x in 0..src.width {
                let o = (y * src.width + x) * 3;
                self.put(x0 + x, y0 + y, [src.rgb[o], src.rgb[o + 1], src.rgb[o + 2]]);
            }
        }
    }

    /// Draw `text` with the built-in 5×7 font at (x, y), each font pixel `scale`×`scale`, white on
    /// a black box.
    pub fn draw_text(&mut self, text: &str, x: usize, y: usize, scale: usize) {
        let scale = scale.max(1);
        let chars: Vec<char> = text.chars().collect();
        let box_w = (chars.len() * 6 + 1) * scale;
        let box_h = 9 * scale;
        for yy in y..(y + box_h).min(self.height) {
            for xx in x..(x + box_w).min(self.width) {
                self.put(xx, yy, [0, 0, 0]);
            }
        }
        for (n, ch) in chars.iter().enumerate() {
            let rows = glyph(*ch);
            for (r, bits) in rows.iter().enumerate() {
                for c in 0..5 {
                    if bits & (0x10 >> c) != 0 {
                        for dy in 0..scale {
                            for dx in 0..scale {
                                self.put(
                                    x + (1 + n * 6 + c) * scale + dx,
                                    y + (1 + r) * scale + dy,
                                    [255, 255, 255],
                                );
                            }
                        }
                    }
                }
            }
        }
    }

    /// PNG bytes (8-bit RGB).
    pub fn encode_png(&self) -> Result<Vec<u8>> {
        let (w, h) = self.dims_u32()?;
        let mut out = Vec::new();
        {
            let mut enc = png::Encoder::new(&mut out, w, h);
            enc.set_color(png::ColorType::Rgb);
            enc.set_depth(png::BitDepth::Eight);
            let mut wr = enc
                .write_header()
                .map_err(|e| Error::internal(format!("PNG header: {e}")))?;
            wr.write_image_data(&self.rgb)
                .map_err(|e| Error::internal(format!("PNG data: {e}")))?;
            wr.finish()
                .map_err(|e| Error::internal(format!("PNG end: {e}")))?;
        }
        Ok(out)
    }

    /// JPEG bytes (baseline, `quality` 1–100).
    pub fn encode_jpeg(&self, quality: u8) -> Result<Vec<u8>> {
        let (w, h) = (self.width, self.height);
        if w > u16::MAX as usize || h > u16::MAX as usize {
            return Err(Error::too_large(format!(
                "picture {w}×{h} exceeds JPEG's 65535-pixel side"
            )));
        }
        let mut out = Vec::new();
        let enc = jpeg_encoder::Encoder::new(&mut out, quality.clamp(1, 100));
        enc.encode(&self.rgb, w as u16, h as u16, jpeg_encoder::ColorType::Rgb)
            .map_err(|e| Error::internal(format!("JPEG encoding: {e}")))?;
        Ok(out)
    }

    /// Write as PNG or JPEG (by extension: `.png`, `.jpg`, `.jpeg`), atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("")
            .to_ascii_lowercase();
        let bytes = if name.ends_with(".png") {
            self.encode_png()?
        } else if name.ends_with(".jpg") || name.ends_with(".jpeg") {
            self.encode_jpeg(90)?
        } else {
            return Err(Error::unsupported(format!(
                "{}: preview pictures are .png, .jpg or .jpeg",
                path.display()
            )));
        };
        crate::io::atomic_write(path, &bytes)
    }

    fn dims_u32(&self) -> Result<(u32, u32)> {
        let w = u32::try_from(self.width)
            .map_err(|_| Error::too_large(format!("picture width {}", self.width)))?;
        let h = u32::try_from(self.height)
            .map_err(|_| Error::too_large(format!("picture height {}", self.height)))?;
        if w == 0 || h == 0 {
            return Err(Error::invalid_argument("picture has no pixels"));
        }
        Ok((w, h))
    }
}

/// Largest picture side accepted (pixels), to refuse absurd spacing ratios.
const MAX_SIDE: usize = 16384;

/// A volume seen through the display map (closest LPS grid), as f64 values of component 0 of
/// frame 0.
struct Display<'a> {
    map: AxisMap,
    in_size: [usize; 3],
    /// Display grid size and spacing.
    size: [usize; 3],
    spacing: [f64; 3],
    get: Box<dyn Fn(usize) -> f64 + Sync + 'a>,
    stride_c: usize,
}

impl<'a> Display<'a> {
    fn new(img: &'a DynImage) -> Result<Display<'a>> {
        fn getter<'b, T: Pixel>(i: &'b Image<T>) -> Box<dyn Fn(usize) -> f64 + Sync + 'b> {
            let d = i.data();
            Box::new(move |o| d.get(o).map_or(0.0, |v| v.to_f64()))
        }
        let g: Geometry = *img.geometry();
        let lps = AxisCode::parse("LPS")?;
        let map = AxisMap::to_code(&g, &lps);
        let dg = map.geometry(&g);
        Ok(Display {
            map,
            in_size: g.size,
            size: dg.size,
            spacing: dg.spacing,
            get: crate::dispatch!(img, i => getter(i)),
            stride_c: img.components(),
        })
    }

    fn value(&self, d: [usize; 3]) -> f64 {
        let s = self.map.source_index(self.in_size, d);
        let off = s[0] + self.in_size[0] * (s[1] + self.in_size[1] * s[2]);
        (self.get)(off * self.stride_c)
    }

    /// (columns, rows, column spacing, row spacing) of a slice along `axis`.
    fn plane(&self, axis: Axis) -> (usize, usize, f64, f64) {
        let [ni, nj, nk] = self.size;
        let [si, sj, sk] = self.spacing;
        match axis {
            Axis::Axial => (ni, nj, si, sj),
            Axis::Coronal => (ni, nk, si, sk),
            Axis::Sagittal => (nj, nk, sj, sk),
        }
    }

    /// Display index of pixel (col, row) of slice `s` along `axis`.
    fn index(&self, axis: Axis, s: usize, col: usize, row: usize) -> [usize; 3] {
        let nk = self.size[2];
        match axis {
            Axis::Axial => [col, row, s],
            Axis::Coronal => [col, s, nk - 1 - row],
            Axis::Sagittal => [s, col, nk - 1 - row],
        }
    }

    /// Slice values, row-major.
    fn slice(&self, axis: Axis, s: usize) -> Vec<f64> {
        let (w, h, _, _) = self.plane(axis);
        let mut out = Vec::with_capacity(w * h);
        for row in 0..h {
            for col in 0..w {
                out.push(self.value(self.index(axis, s, col, row)));
            }
        }
        out
    }
}

fn auto_window(img: &DynImage) -> (f64, f64) {
    fn sample<T: Pixel>(i: &Image<T>) -> Vec<f64> {
        let d = i.data();
        let step = (d.len() >> 20).max(1);
        d.iter()
            .step_by(step)
            .map(|v| v.to_f64())
            .filter(|v| v.is_finite())
            .collect()
    }
    let mut v = crate::dispatch!(img, i => sample(i));
    if v.is_empty() {
        return (0.0, 1.0);
    }
    v.sort_unstable_by(f64::total_cmp);
    let at = |q: f64| {
        let h = (v.len() - 1) as f64 * q;
        v[h.round() as usize]
    };
    (at(0.005), at(0.995))
}

struct Scene<'a> {
    grey: Display<'a>,
    labels: Option<Display<'a>>,
    lo: f64,
    hi: f64,
    opts: &'a PreviewOptions,
    /// mm per picture pixel.
    mm: f64,
}

impl Scene<'_> {
    fn tile(&self, axis: Axis, s: usize) -> Result<Picture> {
        let (w, h, sc, sr) = self.grey.plane(axis);
        let pw = ((w as f64 * sc / self.mm).round() as usize).max(1);
        let ph = ((h as f64 * sr / self.mm).round() as usize).max(1);
        if pw > MAX_SIDE || ph > MAX_SIDE {
            return Err(Error::too_large(format!(
                "preview of {w}×{h} voxels at {sc}×{sr} mm would be {pw}×{ph} pixels (max {MAX_SIDE})"
            )));
        }
        let vals = self.grey.slice(axis, s);
        let labs = self.labels.as_ref().map(|l| l.slice(axis, s));
        let mut pic = Picture::new(pw, ph);
        let span = (self.hi - self.lo).max(f64::MIN_POSITIVE);
        let fx = w as f64 / pw as f64;
        let fy = h as f64 / ph as f64;
        for y in 0..ph {
            let v = ((y as f64 + 0.5) * fy - 0.5).clamp(0.0, (h - 1) as f64);
            let y0 = v.floor() as usize;
            let y1 = (y0 + 1).min(h - 1);
            let ty = v - y0 as f64;
            let ny = (((y as f64 + 0.5) * fy) as usize).min(h - 1);
            for x in 0..pw {
                let u = ((x as f64 + 0.5) * fx - 0.5).clamp(0.0, (w - 1) as f64);
                let x0 = u.floor() as usize;
                let x1 = (x0 + 1).min(w - 1);
                let tx = u - x0 as f64;
                let a = vals[y0 * w + x0] * (1.0 - tx) + vals[y0 * w + x1] * tx;
                let b = vals[y1 * w + x0] * (1.0 - tx) + vals[y1 * w + x1] * tx;
                let g = a * (1.0 - ty) + b * ty;
                let gv = if g.is_finite() {
                    ((g - self.lo) / span * 255.0).clamp(0.0, 255.0)
                } else {
                    0.0
                };
                let mut c = [gv; 3];
                if let Some(l) = &labs {
                    let nx = (((x as f64 + 0.5) * fx) as usize).min(w - 1);
                    let lab = l[ny * w + nx];
                    if lab != 0.0 && lab.is_finite() {
                        let col = self.opts.colors.color(lab.round() as i64);
                        let al = self.opts.alpha.clamp(0.0, 1.0);
                        for (cc, k) in c.iter_mut().zip(col) {
                            *cc = *cc * (1.0 - al) + k as f64 * al;
                        }
                    }
                }
                pic.put(x, y, [c[0] as u8, c[1] as u8, c[2] as u8]);
            }
        }
        Ok(pic)
    }

    /// First and last display slices along `axis` that hold a label, if any.
    fn label_extent(&self, axis: Axis) -> Option<(usize, usize)> {
        let l = self.labels.as_ref()?;
        let a = axis.slice_axis();
        let mut lo = usize::MAX;
        let mut hi = 0usize;
        let [ni, nj, nk] = l.size;
        for k in 0..nk {
            for j in 0..nj {
                for i in 0..ni {
                    if l.value([i, j, k]) != 0.0 {
                        let s = [i, j, k][a];
                        lo = lo.min(s);
                        hi = hi.max(s);
                    }
                }
            }
        }
        (lo != usize::MAX).then_some((lo, hi))
    }

    fn middle(&self, axis: Axis) -> usize {
        match self.label_extent(axis) {
            Some((lo, hi)) => (lo + hi) / 2,
            None => self.grey.size[axis.slice_axis()] / 2,
        }
    }
}

/// Render a picture of `image` (component 0, frame 0) with an optional label map on the same
/// grid.
pub fn render(
    image: &DynImage,
    labels: Option<&DynImage>,
    opts: &PreviewOptions,
) -> Result<Picture> {
    if let Some(l) = labels
        && !l.geometry().same_grid(image.geometry(), 1e-3)
    {
        return Err(Error::mismatch(format!(
            "label map grid (size {:?}, spacing {:?}, origin {:?}) differs from the image grid (size {:?}, spacing {:?}, origin {:?})",
            l.geometry().size,
            l.geometry().spacing,
            l.geometry().origin,
            image.geometry().size,
            image.geometry().spacing,
            image.geometry().origin
        )));
    }
    if !(0.0..=1.0).contains(&opts.alpha) {
        return Err(Error::invalid_argument(format!(
            "overlay alpha {} is not within [0, 1]",
            opts.alpha
        )));
    }
    let (lo, hi) = match opts.window {
        Window::Auto => auto_window(image),
        Window::LevelWidth { level, width } => {
            if !(width > 0.0 && width.is_finite() && level.is_finite()) {
                return Err(Error::invalid_argument(format!(
                    "window level {level} width {width}: width must be a positive number"
                )));
            }
            (level - width / 2.0, level + width / 2.0)
        }
    };
    let grey = Display::new(image)?;
    let mm = grey.spacing.iter().copied().fold(f64::INFINITY, f64::min);
    let mut scene = Scene {
        grey,
        labels: labels.map(Display::new).transpose()?,
        lo,
        hi,
        opts,
        mm,
    };
    // Enlarge small volumes so the picture (and its tag) is legible.
    if opts.min_size > 0 {
        let longest = [Axis::Axial, Axis::Coronal, Axis::Sagittal]
            .iter()
            .map(|&a| {
                let (w, h, sc, sr) = scene.grey.plane(a);
                (w as f64 * sc).max(h as f64 * sr) / scene.mm
            })
            .fold(0.0, f64::max);
        if longest < opts.min_size as f64 {
            scene.mm /= (opts.min_size as f64 / longest).ceil();
        }
    }
    let n_along = |a: Axis| scene.grey.size[a.slice_axis()];
    let check_slice = |a: Axis, s: usize| -> Result<usize> {
        if s >= n_along(a) {
            return Err(Error::invalid_argument(format!(
                "slice {s} is out of range 0..{} along the {a:?} axis",
                n_along(a)
            )));
        }
        Ok(s)
    };
    let mut pic = if opts.triplanar {
        let mut tiles = Vec::new();
        for a in [Axis::Axial, Axis::Coronal, Axis::Sagittal] {
            let s = match opts.slice {
                Some(s) if a == opts.axis => check_slice(a, s)?,
                _ => scene.middle(a),
            };
            tiles.push(scene.tile(a, s)?);
        }
        let gap = 2;
        let w = tiles.iter().map(|t| t.width).sum::<usize>() + gap * (tiles.len() - 1);
        let h = tiles.iter().map(|t| t.height).max().unwrap_or(1);
        let mut p = Picture::new(w, h);
        let mut x = 0;
        for t in &tiles {
            p.blit(t, x, (h - t.height) / 2);
            x += t.width + gap;
        }
        p
    } else if let Some(n) = opts.mosaic {
        if n == 0 || n > 1024 {
            return Err(Error::invalid_argument(format!(
                "mosaic of {n} slices: use 1 to 1024"
            )));
        }
        let a = opts.axis;
        let (first, last) = scene
            .label_extent(a)
            .unwrap_or((0, n_along(a).saturating_sub(1)));
        let count = last - first + 1;
        let cols = (n as f64).sqrt().ceil() as usize;
        let rows = n.div_ceil(cols);
        let gap = 2;
        let mut tiles = Vec::with_capacity(n);
        for t in 0..n {
            let s = first + (((t as f64 + 0.5) * count as f64 / n as f64) as usize).min(count - 1);
            let mut tile = scene.tile(a, s)?;
            let sc = (tile.height / 128).max(1);
            tile.draw_text(&s.to_string(), 0, tile.height.saturating_sub(9 * sc), sc);
            tiles.push(tile);
        }
        let tw = tiles.first().map_or(1, |t| t.width);
        let th = tiles.first().map_or(1, |t| t.height);
        let w = cols * tw + gap * (cols - 1);
        let h = rows * th + gap * (rows - 1);
        if w > MAX_SIDE || h > MAX_SIDE {
            return Err(Error::too_large(format!(
                "mosaic would be {w}×{h} pixels (max {MAX_SIDE})"
            )));
        }
        let mut p = Picture::new(w, h);
        for (t, tile) in tiles.iter().enumerate() {
            p.blit(tile, (t % cols) * (tw + gap), (t / cols) * (th + gap));
        }
        p
    } else {
        let a = opts.axis;
        let s = match opts.slice {
            Some(s) => check_slice(a, s)?,
            None => scene.middle(a),
        };
        scene.tile(a, s)?
    };
    if let Some(tag) = &opts.tag {
        let scale = (pic.height / 160).max(1);
        pic.draw_text(tag, 2, 2, scale);
    }
    Ok(pic)
}

/// Rows of the 5×7 glyph for `c` (bit 4 = leftmost column); unknown characters draw as `?`.
fn glyph(c: char) -> [u8; 7] {
    match c.to_ascii_uppercase() {
        ' ' => [0; 7],
        '0' => [0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E],
        '1' => [0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E],
        '2' => [0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F],
        '3' => [0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E],
        '4' => [0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02],
        '5' => [0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E],
        '6' => [0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E],
        '7' => [0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08],
        '8' => [0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E],
        '9' => [0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C],
        'A' => [0x0E, 0x11, 0x11, 0x11, 0x1F, 0x11, 0x11],
        'B' => [0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E],
        'C' => [0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E],
        'D' => [0x1C, 0x12, 0x11, 0x11, 0x11, 0x12, 0x1C],
        'E' => [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F],
        'F' => [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10],
        'G' => [0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F],
        'H' => [0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11],
        'I' => [0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E],
        'J' => [0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0C],
        'K' => [0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11],
        'L' => [0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F],
        'M' => [0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11],
        'N' => [0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11],
        'O' => [0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E],
        'P' => [0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10],
        'Q' => [0x0E, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0D],
        'R' => [0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11],
        'S' => [0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E],
        'T' => [0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04],
        'U' => [0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E],
        'V' => [0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04],
        'W' => [0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A],
        'X' => [0x11, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x11],
        'Y' => [0x11, 0x11, 0x11, 0x0A, 0x04, 0x04, 0x04],
        'Z' => [0x1F, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1F],
        '.' => [0, 0, 0, 0, 0, 0x0C, 0x0C],
        ',' => [0, 0, 0, 0, 0x0C, 0x04, 0x08],
        ':' => [0, 0x0C, 0x0C, 0, 0x0C, 0x0C, 0],
        ';' => [0, 0x0C, 0x0C, 0, 0x0C, 0x04, 0x08],
        '-' => [0, 0, 0, 0x1F, 0, 0, 0],
        '+' => [0, 0x04, 0x04, 0x1F, 0x04, 0x04, 0],
        '_' => [0, 0, 0, 0, 0, 0, 0x1F],
        '/' => [0, 0x01, 0x02, 0x04, 0x08, 0x10, 0],
        '(' => [0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02],
        ')' => [0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08],
        '[' => [0x0E, 0x08, 0x08, 0x08, 0x08, 0x08, 0x0E],
        ']' => [0x0E, 0x02, 0x02, 0x02, 0x02, 0x02, 0x0E],
        '<' => [0x02, 0x04, 0x08, 0x10, 0x08, 0x04, 0x02],
        '>' => [0x08, 0x04, 0x02, 0x01, 0x02, 0x04, 0x08],
        '=' => [0, 0, 0x1F, 0, 0x1F, 0, 0],
        '%' => [0x18, 0x19, 0x02, 0x04, 0x08, 0x13, 0x03],
        '#' => [0x0A, 0x0A, 0x1F, 0x0A, 0x1F, 0x0A, 0x0A],
        '*' => [0, 0x04, 0x15, 0x0E, 0x15, 0x04, 0],
        '\'' => [0x0C, 0x04, 0x08, 0, 0, 0, 0],
        '"' => [0x0A, 0x0A, 0, 0, 0, 0, 0],
        '!' => [0x04, 0x04, 0x04, 0x04, 0x04, 0, 0x04],
        _ => [0x0E, 0x11, 0x01, 0x02, 0x04, 0, 0x04],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::IDENTITY;

    /// A 3×2×1 LPS image: the picture puts voxel i = 0 (patient right) on the left and j = 0
    /// (anterior) at the top.
    #[test]
    fn axial_is_radiological() {
        let g = Geometry::new([3, 2, 1], [1.0; 3], [0.0; 3], IDENTITY).unwrap();
        let img: DynImage = Image::new(g, vec![0u8, 100, 200, 50, 150, 250])
            .unwrap()
            .into();
        let opts = PreviewOptions {
            window: Window::LevelWidth {
                level: 127.5,
                width: 255.0,
            },
            min_size: 0,
            ..Default::default()
        };
        let p = render(&img, None, &opts).unwrap();
        assert_eq!((p.width, p.height), (3, 2));
        assert_eq!(p.pixel(0, 0), Some([0, 0, 0]));
        assert_eq!(p.pixel(2, 0), Some([200, 200, 200]));
        assert_eq!(p.pixel(0, 1), Some([50, 50, 50]));
        // An RAS-stored copy of the same patient gives the same picture.
        let (d, o) = crate::image::ras_lps_flip(&IDENTITY, [0.0; 3]);
        let _ = o;
        let g2 = Geometry::new([3, 2, 1], [1.0; 3], [2.0, 1.0, 0.0], d).unwrap();
        let img2: DynImage = Image::new(g2, vec![250u8, 150, 50, 200, 100, 0])
            .unwrap()
            .into();
        assert_eq!(render(&img2, None, &opts).unwrap(), p);
    }

    #[test]
    fn aspect_and_overlay() {
        let g = Geometry::new([4, 2, 3], [1.0, 2.0, 1.0], [0.0; 3], IDENTITY).unwrap();
        let img: DynImage = Image::new(g, vec![0i16; 24]).unwrap().into();
        let mut lab = vec![0u8; 24];
        lab[0] = 1;
        let lab: DynImage = Image::new(g, lab).unwrap().into();
        let opts = PreviewOptions {
            slice: Some(0),
            alpha: 1.0,
            min_size: 0,
            ..Default::default()
        };
        let p = render(&img, Some(&lab), &opts).unwrap();
        assert_eq!((p.width, p.height), (4, 4));
        assert_eq!(p.pixel(0, 0), Some(PALETTE[0]));
        assert_eq!(p.pixel(0, 1), Some(PALETTE[0]));
        assert_eq!(p.pixel(0, 2), Some([0, 0, 0]));
        let bad = render(
            &img,
            Some(&lab),
            &PreviewOptions {
                slice: Some(3),
                ..Default::default()
            },
        );
        assert_eq!(bad.unwrap_err().kind(), crate::ErrorKind::InvalidArgument);
    }

    #[test]
    fn colour_table_json() {
        let t = ColorTable::from_json(
            r##"{"1": [1, 2, 3], "7": "#ff8000", "9": {"color": [0.0, 1.0, 0.5]}}"##,
        )
        .unwrap();
        assert_eq!(t.color(1), [1, 2, 3]);
        assert_eq!(t.color(7), [255, 128, 0]);
        assert_eq!(t.color(9), [0, 255, 128]);
        assert_eq!(t.color(2), PALETTE[1]);
        assert!(ColorTable::from_json(r#"{"x": [1,2,3]}"#).is_err());
        assert!(ColorTable::from_json(r#"{"1": [1,2]}"#).is_err());
    }
}
