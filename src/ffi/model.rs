//! `medseg_model`: a segmentation model loaded once (immutable, shareable across threads) and run
//! on borrowed views with `medseg_predict`, writing the label map into the caller's output view.

use super::boundary::{
    FfiError, FfiResult, Handle, borrow_handle, c_str_arg, into_handle, medseg_status, note_error,
    release_handle, status, value, write_out,
};
use super::image::medseg_image_view;
use super::log::{log, medseg_log_level};
use super::views::{OutView, medseg_image_view_mut, read_channels};
use crate::error::{Error, ErrorKind, Result};
use crate::image::{DynImage, PixelType};
use crate::inference::Progress;
use crate::inference::nnunet::NnUnetOptions;
use crate::inference::onnx::{Device, SessionConfig};
use crate::inference::predict::{NnUnetModel, PredictConfig};
use crate::pipeline::{Model, PipelineKind, SpineConfig, SpineModel};
use std::ffi::{CStr, CString, c_char, c_void};
use std::path::{Path, PathBuf};

/// Which pipeline a model folder is run with (`medseg_model_options.pipeline`).
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum medseg_pipeline {
    /// Decided from the folder (today: nnU-Net).
    Auto = 0,
    /// One nnU-Net model (a medseg manifest folder or an nnU-Net results folder with ONNX folds).
    Nnunet = 1,
    /// TotalSpineSeg's two-step chain (not available through the C API in this build).
    Totalspineseg = 2,
}

impl TryFrom<u32> for medseg_pipeline {
    type Error = Error;

    fn try_from(v: u32) -> Result<Self> {
        match v {
            0 => Ok(medseg_pipeline::Auto),
            1 => Ok(medseg_pipeline::Nnunet),
            2 => Ok(medseg_pipeline::Totalspineseg),
            other => Err(Error::invalid_argument(format!(
                "pipeline {other} is not a medseg_pipeline (0 AUTO, 1 NNUNET, 2 TOTALSPINESEG)"
            ))),
        }
    }
}

/// Progress of a long call.
///
/// * `userdata`: the pointer given with the callback, passed back unchanged.
/// * `fraction`: in [0, 1], non-decreasing within a call.
/// * `stage`: NUL-terminated name of the current stage, valid only during the call.
///
/// Called on the thread that made the call. Return `true` to continue, `false` to cancel: the
/// call then returns `MEDSEG_STATUS_CANCELLED` and writes no output. Must not unwind (throw).
#[allow(non_camel_case_types)]
pub type medseg_progress_callback = Option<
    unsafe extern "C" fn(userdata: *mut c_void, fraction: f64, stage: *const c_char) -> bool,
>;

/// Options of `medseg_model_load`. Always start from `medseg_model_options_init`, which sets
/// `struct_size` and every default, then change the fields you need. The strings are borrowed
/// only during `medseg_model_load` (they are copied).
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct medseg_model_options {
    /// `sizeof(medseg_model_options)`, set by `medseg_model_options_init`.
    pub struct_size: usize,
    /// A `medseg_pipeline` number; default `MEDSEG_PIPELINE_AUTO`.
    pub pipeline: u32,
    /// `"cpu"` (NULL means `"cpu"`), `"cuda"`, `"cuda:N"`, `"tensorrt:N"` or `"auto"` (the first
    /// GPU, else the CPU with a warning through the log callback).
    pub device: *const c_char,
    /// ONNX Runtime intra-op threads per run; 0 = ONNX Runtime's default.
    pub threads: u32,
    /// Test-time mirroring (when the model allows it); default true.
    pub tta: bool,
    /// Sliding-window step as a fraction of the patch, in (0, 1]; 0 = the model's default.
    pub step_size: f64,
    /// nnU-Net's float16 accumulation (bit-level parity with nnU-Net); default false.
    pub parity: bool,
    /// Comma-separated fold names (`"0,1"`, `"all"`); NULL = every fold of the model.
    pub folds: *const c_char,
    /// Explicit ONNX Runtime library file; NULL = the search order (`MEDSEG_ORT_DYLIB`,
    /// `ORT_DYLIB_PATH`, the project's `third_party/onnxruntime/lib`, …). One runtime per process.
    pub runtime_path: *const c_char,
}

impl Default for medseg_model_options {
    fn default() -> Self {
        medseg_model_options {
            struct_size: std::mem::size_of::<medseg_model_options>(),
            pipeline: medseg_pipeline::Auto as u32,
            device: std::ptr::null(),
            threads: 0,
            tta: true,
            step_size: 0.0,
            parity: false,
            folds: std::ptr::null(),
            runtime_path: std::ptr::null(),
        }
    }
}

/// The engine-side model behind a handle: the only place that knows which core type runs a
/// pipeline (an nnU-Net model folder, or TotalSpineSeg's two-network pipeline,
/// [`crate::pipeline::SpineModel`]).
#[derive(Debug)]
// Loaded once per handle; the variant sizes do not matter.
#[allow(clippy::large_enum_variant)]
enum CoreModel {
    NnUnet(NnUnetModel),
    Spine(SpineModel),
}

/// What one prediction returns to the shell.
struct CoreResult {
    labels: DynImage,
    device: String,
    notes: Vec<String>,
}

impl CoreModel {
    fn load(dir: &Path, pipeline: medseg_pipeline) -> Result<CoreModel> {
        let kind = match pipeline {
            medseg_pipeline::Auto => PipelineKind::Auto,
            medseg_pipeline::Nnunet => PipelineKind::NnUnet,
            medseg_pipeline::Totalspineseg => PipelineKind::Spine,
        };
        Ok(match Model::load(dir, kind)? {
            Model::NnUnet(m) => CoreModel::NnUnet(m),
            Model::Spine(m) => CoreModel::Spine(m),
        })
    }

    fn name(&self) -> &str {
        match self {
            CoreModel::NnUnet(m) => &m.manifest.name,
            CoreModel::Spine(_) => "TotalSpineSeg",
        }
    }

    fn in_channels(&self) -> usize {
        match self {
            CoreModel::NnUnet(m) => m.manifest.in_channels,
            CoreModel::Spine(_) => 1,
        }
    }

    /// (value, name, colour) per output label, background first.
    fn labels(&self) -> Vec<(i64, String, [u8; 3])> {
        match self {
            CoreModel::NnUnet(m) => m
                .manifest
                .labels
                .iter()
                .map(|l| (l.value, l.name.clone(), l.color))
                .collect(),
            CoreModel::Spine(_) => std::iter::once((0, "background".to_string(), [0, 0, 0]))
                .chain(
                    crate::pipeline::spine::final_labels()
                        .into_iter()
                        .map(|(v, n, c)| (v as i64, n, c)),
                )
                .collect(),
        }
    }

    fn check_folds(&self, folds: Option<&[String]>) -> Result<usize> {
        match self {
            CoreModel::NnUnet(m) => Ok(m.manifest.select_folds(folds)?.len()),
            CoreModel::Spine(m) => {
                m.step2.manifest.select_folds(folds)?;
                Ok(m.step1.manifest.select_folds(folds)?.len())
            }
        }
    }

    fn predict(
        &self,
        images: &[DynImage],
        cfg: &PredictConfig,
        progress: Progress<'_>,
    ) -> Result<CoreResult> {
        match self {
            CoreModel::NnUnet(m) => {
                let seg = m.predict_images(images, cfg, progress)?;
                Ok(CoreResult {
                    labels: seg.labels,
                    device: seg.device,
                    notes: seg.notes,
                })
            }
            CoreModel::Spine(m) => {
                let [image] = images else {
                    return Err(Error::mismatch(format!(
                        "the TotalSpineSeg pipeline takes 1 input image, got {}",
                        images.len()
                    )));
                };
                let sc = SpineConfig {
                    predict: cfg.clone(),
                    ..Default::default()
                };
                let mut out = m.run(image, &sc, progress)?;
                let labels = match out.step2_output.take() {
                    Some(l) => l,
                    None => {
                        return Err(out
                            .errors
                            .into_iter()
                            .map(|(_, e)| e)
                            .next()
                            .unwrap_or_else(|| {
                                Error::new(ErrorKind::Internal, "step 2 produced no output")
                            }));
                    }
                };
                let mut notes = out.notes;
                notes.extend(
                    out.errors
                        .iter()
                        .map(|(stage, e)| format!("{stage} failed: {e}")),
                );
                Ok(CoreResult {
                    labels,
                    device: out.device,
                    notes,
                })
            }
        }
    }
}

/// A label of a model's output, with its name as a C string (lives as long as the model).
#[derive(Debug)]
struct Label {
    value: u32,
    name: CString,
    rgb: [u8; 3],
}

/// A loaded segmentation model: networks, preprocessing plan, labels and the run options given
/// at load. Immutable after `medseg_model_load`, so one handle may be used by several threads at
/// once (each `medseg_predict` keeps its own run state). Release with `medseg_model_free`.
#[allow(non_camel_case_types)]
#[derive(Debug)]
pub struct medseg_model {
    core: CoreModel,
    config: PredictConfig,
    labels: Vec<Label>,
}

impl Handle for medseg_model {
    const NAME: &'static str = "medseg_model";
}

/// An optional C string argument as UTF-8.
///
/// # Safety
/// `s` must be NULL or NUL-terminated and valid during the call.
pub(crate) unsafe fn opt_str(s: *const c_char, what: &str) -> FfiResult<Option<String>> {
    if s.is_null() {
        return Ok(None);
    }
    // SAFETY: non-null and NUL-terminated (contract).
    let c = unsafe { CStr::from_ptr(s) };
    c.to_str()
        .map(|s| Some(s.to_owned()))
        .map_err(|_| Error::invalid_argument(format!("{what} is not UTF-8")).into())
}

/// The `medseg_progress_callback` of a call as the engine's progress function (NULL: never
/// cancels). The stage name reaches the host NUL-terminated, interior NULs dropped.
pub(crate) fn c_progress(
    progress: medseg_progress_callback,
    userdata: *mut c_void,
) -> impl FnMut(f64, &str) -> bool {
    let mut stage_buf: Vec<u8> = Vec::new();
    move |fraction: f64, stage: &str| -> bool {
        let Some(cb) = progress else {
            return true;
        };
        stage_buf.clear();
        stage_buf.extend(stage.bytes().filter(|&b| b != 0));
        stage_buf.push(0);
        // SAFETY: the host's callback (contract) with its userdata; `stage_buf` is a
        // NUL-terminated string alive for the call.
        unsafe { cb(userdata, fraction, stage_buf.as_ptr().cast::<c_char>()) }
    }
}

/// Read an options struct whose first field is `struct_size`, checking the size first so that a
/// smaller (older or uninitialised) struct is never read past its end.
///
/// # Safety
/// `p` must be NULL or point to at least `struct_size` readable bytes starting with a `size_t`.
pub(crate) unsafe fn read_sized<T: Copy>(p: *const T, what: &str, init: &str) -> FfiResult<T> {
    if p.is_null() {
        return Err(FfiError::null(what));
    }
    // SAFETY: the struct starts with a size_t (contract).
    let size = unsafe { p.cast::<usize>().read() };
    if size < std::mem::size_of::<T>() {
        return Err(Error::invalid_argument(format!(
            "{what}->struct_size is {size}, expected {} (initialise it with {init})",
            std::mem::size_of::<T>()
        ))
        .into());
    }
    // SAFETY: at least size_of::<T>() bytes are readable (checked above).
    Ok(unsafe { p.read() })
}

fn parse_options(o: &medseg_model_options) -> FfiResult<(medseg_pipeline, PredictConfig)> {
    let pipeline = medseg_pipeline::try_from(o.pipeline)?;
    // SAFETY: NULL or NUL-terminated during the call (contract of medseg_model_load).
    let device = match unsafe { opt_str(o.device, "options->device") }? {
        None => Device::Cpu,
        Some(d) => d.parse::<Device>()?,
    };
    if !(o.step_size == 0.0 || (o.step_size > 0.0 && o.step_size <= 1.0)) {
        return Err(Error::invalid_argument(format!(
            "options->step_size {} must be in (0, 1], or 0 for the model's default",
            o.step_size
        ))
        .into());
    }
    // SAFETY: as above.
    let folds = unsafe { opt_str(o.folds, "options->folds") }?.map(|f| {
        f.split(',')
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
    });
    if folds.as_ref().is_some_and(|f| f.is_empty()) {
        return Err(Error::invalid_argument("options->folds names no fold").into());
    }
    // SAFETY: as above.
    let runtime = unsafe { opt_str(o.runtime_path, "options->runtime_path") }?.map(PathBuf::from);
    let config = PredictConfig {
        folds,
        options: NnUnetOptions {
            tta: o.tta,
            step: (o.step_size > 0.0).then_some(o.step_size),
            parity: o.parity,
            probabilities: false,
            batch: 1,
        },
        session: SessionConfig {
            device: Some(device),
            threads: (o.threads > 0).then_some(o.threads as usize),
            ort_lib: runtime,
        },
    };
    Ok((pipeline, config))
}

/// Fill `*options` with the defaults: `struct_size = sizeof(medseg_model_options)`, pipeline
/// AUTO, device NULL (CPU), threads 0 (ONNX Runtime's default), TTA on, step size 0 (the
/// model's), parity off, folds NULL (all), runtime_path NULL (search order).
///
/// Returns `MEDSEG_STATUS_NULL_ARGUMENT` if `options` is NULL.
///
/// # Safety
/// `options` must be NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medseg_model_options_init(
    options: *mut medseg_model_options,
) -> medseg_status {
    status(|| {
        // SAFETY: NULL or writable (contract).
        unsafe { write_out(options, medseg_model_options::default(), "options") }
    })
}

/// Load a model folder (a medseg manifest folder, or an nnU-Net results folder whose folds have
/// exported ONNX networks) and check it: manifest, plan, folds, and that the ONNX Runtime
/// library can be loaded. Networks are opened per `medseg_predict` call.
///
/// * `model_dir`: NUL-terminated folder name; borrowed for the call.
/// * `options`: NULL for the defaults, else initialised with `medseg_model_options_init`;
///   borrowed for the call (its strings are copied).
/// * `out`: receives the new model, owned by the caller (release with `medseg_model_free`). Set
///   to NULL on entry, written only on success.
///
/// Returns `NULL_ARGUMENT`; `INVALID_ARGUMENT` (struct_size, pipeline number, device name, step
/// size, fold list); `MODEL` (folder, manifest, folds; a TotalSpineSeg folder needs `step1/` and
/// `step2/`);
/// `RUNTIME` (ONNX Runtime missing or a different one already loaded); `IO`.
///
/// # Safety
/// `model_dir` must be NULL or NUL-terminated; `options` NULL or a valid options struct whose
/// strings are NULL or NUL-terminated; `out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medseg_model_load(
    model_dir: *const c_char,
    options: *const medseg_model_options,
    out: *mut *mut medseg_model,
) -> medseg_status {
    status(|| {
        if !out.is_null() {
            // SAFETY: non-null and writable (contract).
            unsafe { out.write(std::ptr::null_mut()) };
        }
        // SAFETY: NULL or NUL-terminated (contract).
        let dir = unsafe { c_str_arg(model_dir, "model_dir") }?;
        if out.is_null() {
            return Err(FfiError::null("out"));
        }
        let opts = if options.is_null() {
            medseg_model_options::default()
        } else {
            // SAFETY: a valid options struct (contract); its size is checked first.
            unsafe { read_sized(options, "options", "medseg_model_options_init") }?
        };
        let (pipeline, config) = parse_options(&opts)?;
        let dir = dir
            .to_str()
            .map(PathBuf::from)
            .map_err(|_| Error::invalid_argument("model_dir is not UTF-8"))?;
        let core = CoreModel::load(&dir, pipeline)?;
        let folds = core.check_folds(config.folds.as_deref())?;
        let runtime = crate::inference::onnx::init_runtime(config.session.ort_lib.as_deref())?;
        let mut labels = Vec::new();
        for (v, name, rgb) in core.labels() {
            let value = u32::try_from(v).map_err(|_| {
                Error::new(
                    ErrorKind::Model,
                    format!(
                        "{}: label '{name}' has value {v}, outside 0..=2^32-1",
                        dir.display()
                    ),
                )
            })?;
            let clean: Vec<u8> = name.bytes().filter(|&b| b != 0).collect();
            let name = CString::new(clean)
                .map_err(|_| Error::internal("label name still holds a NUL byte"))?;
            labels.push(Label { value, name, rgb });
        }
        log(
            medseg_log_level::Info,
            &format!(
                "loaded model '{}' from {} ({} fold(s), {} input channel(s), {} label(s); ONNX Runtime {} from {})",
                core.name(),
                dir.display(),
                folds,
                core.in_channels(),
                labels.len(),
                runtime.version,
                runtime.path.display()
            ),
        );
        let handle = into_handle(medseg_model {
            core,
            config,
            labels,
        });
        // SAFETY: non-null and writable (checked above, contract).
        unsafe { write_out(out, handle, "out") }
    })
}

/// Release a model. NULL is allowed and does nothing; a pointer that is not a live model (double
/// free, foreign pointer) is ignored and reported in `medseg_last_error_message`. Label names
/// obtained from `medseg_model_label` become invalid. Must not run while another thread uses the
/// model.
///
/// # Safety
/// `model` must be NULL or a pointer returned by medseg.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medseg_model_free(model: *mut medseg_model) {
    value((), || {
        // SAFETY: checked against the registry.
        if let Err(e) = unsafe { release_handle(model, "model") } {
            note_error(e.message());
        }
    })
}

/// The number of input channels the model takes, into `*out` (written only on success). The
/// input view of `medseg_predict` must have this many components.
///
/// # Safety
/// `model` must be NULL or a pointer returned by medseg; `out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medseg_model_input_channels(
    model: *const medseg_model,
    out: *mut usize,
) -> medseg_status {
    status(|| {
        // SAFETY: checked against the registry (contract: not freed concurrently).
        let m = unsafe { borrow_handle(model, "model") }?;
        // SAFETY: NULL or writable (contract).
        unsafe { write_out(out, m.core.in_channels(), "out") }
    })
}

/// The number of entries in the model's label table, background included, into `*out` (written
/// only on success). Entries are read with `medseg_model_label`.
///
/// # Safety
/// `model` must be NULL or a pointer returned by medseg; `out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medseg_model_label_count(
    model: *const medseg_model,
    out: *mut usize,
) -> medseg_status {
    status(|| {
        // SAFETY: checked against the registry.
        let m = unsafe { borrow_handle(model, "model") }?;
        // SAFETY: NULL or writable (contract).
        unsafe { write_out(out, m.labels.len(), "out") }
    })
}

/// Entry `index` (0-based, background first) of the model's label table.
///
/// * `value`: receives the value the label has in the label map. May be NULL (not wanted).
/// * `name`: receives the label's name, NUL-terminated UTF-8, owned by the model and valid until
///   `medseg_model_free`; never free it. May be NULL (not wanted).
/// * `rgb`: receives the display colour (3 bytes: red, green, blue). May be NULL (not wanted).
///
/// Outputs are written only on success. Returns `NULL_ARGUMENT` (model), `INVALID_HANDLE`,
/// `INVALID_ARGUMENT` (index ≥ `medseg_model_label_count`).
///
/// # Safety
/// `model` must be NULL or a pointer returned by medseg; `value`, `name` NULL or writable; `rgb`
/// NULL or writable for 3 bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medseg_model_label(
    model: *const medseg_model,
    index: usize,
    value: *mut u32,
    name: *mut *const c_char,
    rgb: *mut u8,
) -> medseg_status {
    status(|| {
        // SAFETY: checked against the registry.
        let m = unsafe { borrow_handle(model, "model") }?;
        let l = m.labels.get(index).ok_or_else(|| {
            Error::invalid_argument(format!(
                "label index {index} is out of range (the model has {} labels)",
                m.labels.len()
            ))
        })?;
        // SAFETY (all three): NULL (skipped) or writable (contract); rgb has 3 bytes.
        unsafe {
            if !value.is_null() {
                value.write(l.value);
            }
            if !name.is_null() {
                name.write(l.name.as_ptr());
            }
            if !rgb.is_null() {
                std::ptr::copy_nonoverlapping(l.rgb.as_ptr(), rgb, 3);
            }
        }
        Ok(())
    })
}

/// Segment one image with the model and write the label map into the caller's buffer.
///
/// * `model`: a loaded model; borrowed for the call. Several threads may predict with the same
///   model at once.
/// * `input`: the image, borrowed for the call; `components` must equal
///   `medseg_model_input_channels` (one component per channel); any pixel type.
/// * `progress`: NULL, or called on this thread with fractions in [0, 1]; returning false
///   cancels: the call returns `MEDSEG_STATUS_CANCELLED` and `output` is left untouched.
/// * `userdata`: passed to `progress` unchanged; may be NULL.
/// * `output`: the caller's buffer for the label map: the input's grid, 1 component, pixel type
///   U8 or U16 (U16 needed when a label value exceeds 255); must not overlap the input. Written
///   only on success, with its strides.
///
/// Warnings the run produces (e.g. a device fallback) go to the log callback.
///
/// Returns `NULL_ARGUMENT`, `INVALID_HANDLE`, `PIXEL_TYPE`, `MISMATCH` (channels, grid,
/// components), `INVALID_ARGUMENT` (overlap, bad view), `RUNTIME`, `DEVICE`, `MODEL`,
/// `CANCELLED`, `CONTENT`.
///
/// # Safety
/// `model` must be NULL or a pointer returned by medseg; `input` NULL or a view readable as
/// described; `output` NULL or a view writable as described and not used by anyone else during
/// the call; `progress` NULL or callable with `userdata`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn medseg_predict(
    model: *const medseg_model,
    input: *const medseg_image_view,
    progress: medseg_progress_callback,
    userdata: *mut c_void,
    output: *const medseg_image_view_mut,
) -> medseg_status {
    status(|| {
        // SAFETY: checked against the registry (contract: not freed concurrently).
        let m = unsafe { borrow_handle(model, "model") }?;
        // SAFETY: NULL or a readable view (contract).
        let (channels, geometry, in_span) = unsafe { read_channels(input, "input") }?;
        // SAFETY: NULL or a writable view (contract).
        let out = unsafe { OutView::parse(output, "output") }?;
        out.expect(&geometry, &[in_span], "medseg_predict")?;
        out.expect_type(&[PixelType::U8, PixelType::U16], "medseg_predict")?;
        let want = m.core.in_channels();
        if channels.len() != want {
            return Err(Error::mismatch(format!(
                "medseg_predict: the model '{}' takes {want} channel(s); the input view has {} component(s)",
                m.core.name(),
                channels.len()
            ))
            .into());
        }
        let max_label = m.labels.iter().map(|l| l.value).max().unwrap_or(0);
        if out.pixel_type() == PixelType::U8 && max_label > u8::MAX as u32 {
            return Err(Error::pixel_type(format!(
                "medseg_predict: the model's labels go up to {max_label}; the output view must be U16"
            ))
            .into());
        }
        let mut report = c_progress(progress, userdata);
        let result = m.core.predict(&channels, &m.config, &mut report)?;
        for n in &result.notes {
            log(medseg_log_level::Warning, n);
        }
        log(
            medseg_log_level::Debug,
            &format!(
                "medseg_predict: model '{}' ran on {}",
                m.core.name(),
                result.device
            ),
        );
        let labels = if result.labels.pixel_type() == out.pixel_type() {
            result.labels
        } else {
            result.labels.cast_to(out.pixel_type())
        };
        // SAFETY: the output view was checked by `parse` and is ours during the call.
        unsafe { out.write(&labels) }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_defaults_and_enum_conversion() {
        let mut o = medseg_model_options {
            struct_size: 0,
            ..Default::default()
        };
        // SAFETY: valid, writable struct.
        assert_eq!(
            unsafe { medseg_model_options_init(&mut o) },
            medseg_status::Ok
        );
        assert_eq!(o.struct_size, std::mem::size_of::<medseg_model_options>());
        assert!(o.tta && !o.parity && o.device.is_null());
        assert!(medseg_pipeline::try_from(3).is_err());
        assert_eq!(
            medseg_pipeline::try_from(2).ok(),
            Some(medseg_pipeline::Totalspineseg)
        );
        let bad = medseg_model_options {
            step_size: 1.5,
            ..Default::default()
        };
        assert!(parse_options(&bad).is_err());
        let bad = medseg_model_options {
            device: c"gpu9".as_ptr(),
            ..Default::default()
        };
        assert!(parse_options(&bad).is_err());
        let ok = medseg_model_options {
            device: c"auto".as_ptr(),
            folds: c"0, 1".as_ptr(),
            threads: 2,
            ..Default::default()
        };
        let (_, cfg) = parse_options(&ok)
            .map_err(|e| e.message().to_owned())
            .unwrap();
        assert_eq!(cfg.folds, Some(vec!["0".to_owned(), "1".to_owned()]));
        assert_eq!(cfg.session.threads, Some(2));
        assert_eq!(cfg.session.device, Some(Device::Auto));
    }
}
