//! Pure post-processing functions on label images: components, morphology, hole filling,
//! relabelling, metrics.
