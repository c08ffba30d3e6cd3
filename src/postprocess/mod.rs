//! Pure post-processing functions on label images: components, morphology, hole filling,
//! relabelling, metrics.
//!
//! Every function takes an [`Image`](crate::image::Image) (scalar, single frame) and returns a new
//! one on the same grid; nothing here reads or writes files. Label images may have any pixel type;
//! 0 is background.
//!
//! | module | what |
//! |---|---|
//! | [`components`] | connected components (6/18/26, multi-label), statistics, largest component, small-component removal, semantic → instance |
//! | [`fill_holes`] | hole filling (binary and per label) |
//! | [`morphology`] | dilation / erosion with a ball (mm or voxels) or a cross |
//! | [`relabel`] | JSON label maps: merge, remove, renumber |
//! | [`edt`] | exact Euclidean distance transform with anisotropic spacing |
//! | [`metrics`] | Dice, IoU, HD95, NSD (surfel method), MedSAM challenge rules |

pub mod components;
pub mod edt;
pub mod fill_holes;
pub mod metrics;
pub mod morphology;
pub mod relabel;
mod surfel_table;

pub use components::{
    ComponentStats, Components, Connectivity, MinSize, connected_components, largest_component,
    remove_small, semantic_to_instance,
};
pub use fill_holes::{fill_holes, fill_holes_per_label};
pub use metrics::{ChallengeReport, LabelMetrics, MetricsOptions, MetricsReport};
pub use morphology::{Structuring, dilate, erode};
pub use relabel::{LabelMap, relabel};
