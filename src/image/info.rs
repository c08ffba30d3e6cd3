//! A description of an image, as `medseg info` prints it.

use super::DynImage;

/// Size, geometry, pixel type and statistics of an image.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ImageInfo {
    /// Voxels along i, j, k (and the frame count as a 4th entry for 4-D images).
    pub size: Vec<usize>,
    pub spacing: [f64; 3],
    pub origin: [f64; 3],
    /// Row-major 3×3, columns = axis directions, LPS.
    pub direction: [f64; 9],
    pub pixel_type: &'static str,
    pub components: usize,
    /// Orientation letters (identity = "LPS").
    pub orientation: String,
    pub min: f64,
    pub max: f64,
    pub mean: f64,
}

impl ImageInfo {
    /// Describe `img` (statistics over every stored value, as float64).
    pub fn of(img: &DynImage) -> Self {
        let g = img.geometry();
        let mut size = g.size.to_vec();
        if img.frames() > 1 {
            size.push(img.frames());
        }
        let s = img.stats();
        ImageInfo {
            size,
            spacing: g.spacing,
            origin: g.origin,
            direction: g.direction,
            pixel_type: img.pixel_type().name(),
            components: img.components(),
            orientation: g.orientation_code(),
            min: s.min,
            max: s.max,
            mean: s.mean,
        }
    }

    /// One JSON object.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }

    /// Human-readable lines.
    pub fn to_text(&self, name: &str) -> String {
        let d = &self.direction;
        format!(
            "file:        {name}\nsize:        {:?}\nspacing:     {:?}\norigin:      {:?}\ndirection:   [{:.6} {:.6} {:.6}; {:.6} {:.6} {:.6}; {:.6} {:.6} {:.6}] (LPS, columns = axes)\norientation: {}\npixel type:  {} × {} component(s)\nmin/max/mean: {} / {} / {}\n",
            self.size,
            self.spacing,
            self.origin,
            d[0],
            d[1],
            d[2],
            d[3],
            d[4],
            d[5],
            d[6],
            d[7],
            d[8],
            self.orientation,
            self.pixel_type,
            self.components,
            self.min,
            self.max,
            self.mean
        )
    }
}
