//! Pure preprocessing functions on images: orientation, resampling, crop/pad, intensity.
//! Each returns an undo record where the grid changes, so results map back exactly.
