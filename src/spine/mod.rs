//! TotalSpineSeg: the non-neural half of the two-step spine pipeline.
