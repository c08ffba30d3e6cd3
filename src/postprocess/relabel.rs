//! Relabelling through a label map: merge (several old values → one new value), remove
//! (→ 0), renumber (the remaining non-zero values → 1..N in ascending order).
//!
//! JSON form ([`LabelMap::from_json`]):
//!
//! ```json
//! { "map": { "1": 2, "3": 2, "7": 0 }, "unmapped": "keep", "renumber": false }
//! ```
//!
//! `map` keys are old values (strings of numbers), values are new values; `unmapped` is `"keep"`
//! (default) or `"remove"` (values not in the map become 0); `renumber` (default false) is applied
//! after the map. A bare object `{ "1": 2 }` is accepted as `map` alone.
//!
//! ```
//! use medseg::image::{Geometry, Image};
//! use medseg::postprocess::relabel::{relabel, LabelMap};
//! let g = Geometry::with_size([4, 1, 1]).unwrap();
//! let img = Image::new(g, vec![0u8, 3, 7, 9]).unwrap();
//! let m = LabelMap::from_json(r#"{"map": {"7": 0}, "renumber": true}"#).unwrap();
//! assert_eq!(relabel(&img, &m).unwrap().data(), &[0, 1, 0, 2]);
//! ```

use crate::error::{Error, Result};
use crate::image::{Image, Pixel};
use rayon::prelude::*;

/// What happens to values the map does not name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Unmapped {
    /// Keep them unchanged.
    #[default]
    Keep,
    /// Set them to 0.
    Remove,
}

/// A label map.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LabelMap {
    /// (old, new) pairs.
    pub pairs: Vec<(f64, f64)>,
    /// Values not in `pairs`.
    pub unmapped: Unmapped,
    /// Renumber the non-zero results to 1..N (ascending).
    pub renumber: bool,
}

fn num(v: &serde_json::Value, what: &str) -> Result<f64> {
    v.as_f64()
        .filter(|x| x.is_finite())
        .ok_or_else(|| Error::invalid_argument(format!("label map: {what} {v} is not a number")))
}

impl LabelMap {
    /// Parse the JSON form described in the module documentation.
    pub fn from_json(text: &str) -> Result<LabelMap> {
        let v: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| Error::invalid_argument(format!("label map: invalid JSON: {e}")))?;
        let obj = v
            .as_object()
            .ok_or_else(|| Error::invalid_argument("label map: the JSON must be an object"))?;
        let (map, rest) = match obj.get("map") {
            Some(m) => (
                m.as_object().ok_or_else(|| {
                    Error::invalid_argument("label map: \"map\" must be an object")
                })?,
                Some(obj),
            ),
            None => (obj, None),
        };
        let mut pairs = Vec::with_capacity(map.len());
        for (k, val) in map {
            let old: f64 = k
                .trim()
                .parse()
                .ok()
                .filter(|x: &f64| x.is_finite())
                .ok_or_else(|| {
                    Error::invalid_argument(format!("label map: key '{k}' is not a number"))
                })?;
            let new = num(val, &format!("value for '{k}'"))?;
            if pairs.iter().any(|p: &(f64, f64)| p.0 == old) {
                return Err(Error::invalid_argument(format!(
                    "label map: key '{k}' appears twice"
                )));
            }
            pairs.push((old, new));
        }
        let mut m = LabelMap {
            pairs,
            ..Default::default()
        };
        if let Some(o) = rest {
            for key in o.keys() {
                if !["map", "unmapped", "renumber"].contains(&key.as_str()) {
                    return Err(Error::invalid_argument(format!(
                        "label map: unknown field \"{key}\" (known: map, unmapped, renumber)"
                    )));
                }
            }
            if let Some(u) = o.get("unmapped") {
                m.unmapped = match u.as_str() {
                    Some("keep") => Unmapped::Keep,
                    Some("remove") => Unmapped::Remove,
                    _ => {
                        return Err(Error::invalid_argument(format!(
                            "label map: \"unmapped\" is {u}, expected \"keep\" or \"remove\""
                        )));
                    }
                }
            }
            if let Some(r) = o.get("renumber") {
                m.renumber = r.as_bool().ok_or_else(|| {
                    Error::invalid_argument(format!(
                        "label map: \"renumber\" is {r}, expected a boolean"
                    ))
                })?;
            }
        }
        Ok(m)
    }

    fn apply_one(&self, x: f64) -> f64 {
        match self.pairs.iter().find(|p| p.0 == x) {
            Some(p) => p.1,
            None => match self.unmapped {
                Unmapped::Keep => x,
                Unmapped::Remove => 0.0,
            },
        }
    }
}

/// Distinct values of a buffer, ascending (NaN excluded).
fn distinct<T: Pixel>(data: &[T]) -> Result<Vec<f64>> {
    const MAX: usize = 1 << 20;
    let sets: Vec<Vec<f64>> = data
        .par_chunks(1 << 16)
        .map(|c| {
            let mut v: Vec<f64> = Vec::new();
            let mut last = f64::NAN;
            for &x in c {
                let x = x.to_f64();
                if x == last || x.is_nan() {
                    continue;
                }
                last = x;
                v.push(x);
                if v.len() > 4096 {
                    v.sort_by(f64::total_cmp);
                    v.dedup();
                }
            }
            v.sort_by(f64::total_cmp);
            v.dedup();
            v
        })
        .collect();
    let mut all: Vec<f64> = Vec::new();
    for s in sets {
        all.extend(s);
        if all.len() > 4 * MAX {
            all.sort_by(f64::total_cmp);
            all.dedup();
            if all.len() > MAX {
                return Err(Error::too_large(format!(
                    "more than {MAX} distinct values: not a label image"
                )));
            }
        }
    }
    all.sort_by(f64::total_cmp);
    all.dedup();
    if all.len() > MAX {
        return Err(Error::too_large(format!(
            "more than {MAX} distinct values: not a label image"
        )));
    }
    Ok(all)
}

/// Apply `map` to every voxel. Output has the input's pixel type; a new value the type cannot
/// hold is an error.
pub fn relabel<T: Pixel>(img: &Image<T>, map: &LabelMap) -> Result<Image<T>> {
    let keys = distinct(img.data())?;
    let mut vals: Vec<f64> = keys.iter().map(|&x| map.apply_one(x)).collect();
    if map.renumber {
        let mut nz: Vec<f64> = vals.iter().copied().filter(|&y| y != 0.0).collect();
        nz.sort_by(f64::total_cmp);
        nz.dedup();
        for y in vals.iter_mut() {
            if *y != 0.0
                && let Ok(r) = nz.binary_search_by(|p| p.total_cmp(y))
            {
                *y = (r + 1) as f64;
            }
        }
    }
    let mut out_vals: Vec<T> = Vec::with_capacity(vals.len());
    for (&y, &x) in vals.iter().zip(&keys) {
        let t = T::from_f64(y);
        if t.to_f64() != y {
            return Err(Error::invalid_argument(format!(
                "label map sends {x} to {y}, which a {} image cannot hold",
                T::TYPE
            )));
        }
        out_vals.push(t);
    }
    let (keys, out_vals) = (&keys, &out_vals);
    let data: Vec<T> = img
        .data()
        .par_chunks(1 << 16)
        .flat_map_iter(|c| {
            let mut last: Option<(T, T)> = None;
            c.iter()
                .map(move |&x| {
                    if let Some((a, b)) = last
                        && a == x
                    {
                        return b;
                    }
                    let xf = x.to_f64();
                    let y = match keys.binary_search_by(|p| p.total_cmp(&xf)) {
                        Ok(i) => out_vals[i],
                        Err(_) => x, // NaN stays NaN
                    };
                    last = Some((x, y));
                    y
                })
                .collect::<Vec<T>>()
        })
        .collect();
    Image::with_layout(*img.geometry(), img.components(), img.frames(), data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::Geometry;

    #[test]
    fn merge_remove_renumber() {
        let g = Geometry::with_size([6, 1, 1]).unwrap();
        let img = Image::new(g, vec![0u16, 1, 2, 3, 4, 500]).unwrap();
        let m = LabelMap::from_json(r#"{"1": 2, "3": 2}"#).unwrap();
        assert_eq!(relabel(&img, &m).unwrap().data(), &[0, 2, 2, 2, 4, 500]);
        let m = LabelMap::from_json(r#"{"map": {"4": 9}, "unmapped": "remove"}"#).unwrap();
        assert_eq!(relabel(&img, &m).unwrap().data(), &[0, 0, 0, 0, 9, 0]);
        let m = LabelMap::from_json(r#"{"map": {}, "renumber": true}"#).unwrap();
        assert_eq!(relabel(&img, &m).unwrap().data(), &[0, 1, 2, 3, 4, 5]);
        let m = LabelMap::from_json(r#"{"5": 70000}"#).unwrap();
        let img = Image::new(g, vec![5u16; 6]).unwrap();
        assert!(relabel(&img, &m).is_err());
        assert!(LabelMap::from_json(r#"{"x": 1}"#).is_err());
        assert!(LabelMap::from_json("[1]").is_err());
    }
}
