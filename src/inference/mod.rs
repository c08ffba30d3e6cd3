//! Inference: runtime-agnostic predictors (sliding window, nnU-Net, SAM); `onnx.rs` is the only
//! file that touches ONNX Runtime.
