//! Hole filling.
//!
//! A hole is a background region that cannot be reached from the image border through
//! background voxels, the background being **6-connected** (4-connected in 2-D, i.e. when
//! `size[2] == 1`, where only the i and j borders count) — the rule of `scipy.ndimage.
//! binary_fill_holes` with its default structure, of fill_voids and of SimpleITK's
//! `BinaryFillhole(fullyConnected=False)`.
//!
//! ```
//! use medseg::image::{Geometry, Image};
//! use medseg::postprocess::fill_holes;
//! let g = Geometry::with_size([3, 3, 1]).unwrap();
//! let ring = Image::new(g, vec![1u8, 1, 1, 1, 0, 1, 1, 1, 1]).unwrap();
//! assert_eq!(fill_holes(&ring).unwrap().data(), &[1u8; 9]);
//! ```

use super::components::{Components, Connectivity, Mode, row_runs_u8};
use crate::error::{Error, Result};
use crate::image::{Image, Pixel};
use rayon::prelude::*;

fn require_scalar<T: Pixel>(img: &Image<T>) -> Result<()> {
    if img.components() != 1 || img.frames() != 1 {
        return Err(Error::invalid_argument(format!(
            "needs a scalar 3-D label image, got {} components × {} frames",
            img.components(),
            img.frames()
        )));
    }
    Ok(())
}

/// For a buffer of `size`, the enclosed background: `true` per background component that does
/// not touch the border (index = component number).
fn enclosed(cc: Components, size: [usize; 3]) -> Result<(Components, Vec<bool>)> {
    let [ni, nj, nk] = size;
    let two_d = nk == 1;
    let mut inside = vec![true; cc.count() + 1];
    inside[0] = false;
    cc.for_each_run(|r, s, e, c| {
        let (j, k) = (r % nj, r / nj);
        let border =
            s == 0 || e == ni || j == 0 || j + 1 == nj || (!two_d && (k == 0 || k + 1 == nk));
        if border {
            inside[c as usize] = false;
        }
    });
    Ok((cc, inside))
}

/// Binary hole filling: the result is a 0/1 mask (u8) of the non-zero voxels plus their holes.
pub fn fill_holes<T: Pixel>(img: &Image<T>) -> Result<Image<u8>> {
    require_scalar(img)?;
    let size = img.geometry().size;
    let cc = Components::label_any(img, Connectivity::C6, Mode::Background)?;
    let (cc, inside) = enclosed(cc, size)?;
    let z = T::default();
    let mut out: Vec<u8> = img.data().par_iter().map(|&v| u8::from(v != z)).collect();
    cc.paint(
        &mut out,
        |c| if inside[c as usize] { Some(1u8) } else { None },
    );
    Image::new(*img.geometry(), out)
}

/// Per-label hole filling: for each label value (ascending), background (0) voxels enclosed by
/// that label alone get the label; voxels of other labels are never changed. Works on the
/// bounding box of each label.
pub fn fill_holes_per_label<T: Pixel>(img: &Image<T>) -> Result<Image<T>> {
    require_scalar(img)?;
    let [ni, nj, nk] = img.geometry().size;
    let data = img.data();
    let z = T::default();
    // bounding boxes per value
    let mut boxes: Vec<(T, [usize; 3], [usize; 3])> = Vec::new();
    for k in 0..nk {
        for j in 0..nj {
            let row = &data[(k * nj + j) * ni..(k * nj + j + 1) * ni];
            let mut i = 0;
            while i < ni {
                let v = row[i];
                if v == z || v.to_f64().is_nan() {
                    i += 1;
                    continue;
                }
                let s = i;
                while i < ni && row[i] == v {
                    i += 1;
                }
                let b = match boxes.iter_mut().find(|b| b.0 == v) {
                    Some(b) => b,
                    None => {
                        if boxes.len() > 65_536 {
                            return Err(Error::too_large(
                                "more than 65536 distinct labels for per-label hole filling",
                            ));
                        }
                        boxes.push((v, [usize::MAX; 3], [0; 3]));
                        let last = boxes.len() - 1;
                        &mut boxes[last]
                    }
                };
                b.1 = [b.1[0].min(s), b.1[1].min(j), b.1[2].min(k)];
                b.2 = [b.2[0].max(i - 1), b.2[1].max(j), b.2[2].max(k)];
            }
        }
    }
    boxes.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap_or(std::cmp::Ordering::Equal));
    let mut out = data.to_vec();
    for (v, lo, hi) in boxes {
        let cs = [hi[0] - lo[0] + 1, hi[1] - lo[1] + 1, hi[2] - lo[2] + 1];
        let two_d = nk == 1;
        let mut crop = vec![0u8; cs[0] * cs[1] * cs[2]];
        for k in 0..cs[2] {
            for j in 0..cs[1] {
                let src = ((lo[2] + k) * nj + lo[1] + j) * ni + lo[0];
                let dst = (k * cs[1] + j) * cs[0];
                for i in 0..cs[0] {
                    crop[dst + i] = u8::from(data[src + i] == v);
                }
            }
        }
        let size = [cs[0], cs[1], if two_d { 1 } else { cs[2] }];
        let cc = Components::label_data(
            &crop,
            size,
            Connectivity::C6,
            Mode::Background,
            &row_runs_u8,
        )?;
        let (cc, inside) = enclosed(cc, size)?;
        let mut filled = vec![0u8; crop.len()];
        cc.paint(&mut filled, |c| {
            if inside[c as usize] { Some(1u8) } else { None }
        });
        for k in 0..cs[2] {
            for j in 0..cs[1] {
                let dst = ((lo[2] + k) * nj + lo[1] + j) * ni + lo[0];
                let src = (k * cs[1] + j) * cs[0];
                for i in 0..cs[0] {
                    if filled[src + i] == 1 && out[dst + i] == z {
                        out[dst + i] = v;
                    }
                }
            }
        }
    }
    Image::new(*img.geometry(), out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::Geometry;

    #[test]
    fn hollow_cube_is_filled_and_open_cavity_is_not() {
        let g = Geometry::with_size([5, 5, 5]).unwrap();
        let mut v = vec![0u8; 125];
        for k in 1..4 {
            for j in 1..4 {
                for i in 1..4 {
                    if (i, j, k) != (2, 2, 2) {
                        v[i + 5 * (j + 5 * k)] = 2;
                    }
                }
            }
        }
        let img = Image::new(g, v.clone()).unwrap();
        let f = fill_holes(&img).unwrap();
        assert_eq!(f.data()[2 + 5 * (2 + 5 * 2)], 1);
        assert_eq!(f.data().iter().map(|&x| x as usize).sum::<usize>(), 27);
        let p = fill_holes_per_label(&img).unwrap();
        assert_eq!(p.data()[2 + 5 * (2 + 5 * 2)], 2);
        // open a tunnel from the centre to the outside: no longer a hole
        v[2 + 5 * (2 + 5)] = 0;
        let img = Image::new(g, v).unwrap();
        assert_eq!(fill_holes(&img).unwrap().data()[2 + 5 * (2 + 5 * 2)], 0);
    }
}
