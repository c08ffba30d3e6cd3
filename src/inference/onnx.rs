//! ONNX Runtime through `ort` (the only file that imports it): loading the runtime library,
//! sessions on a chosen device, and [`OnnxPredictor`], the [`Predictor`] over a session.
//!
//! * The library is loaded explicitly with `ort::init_from` from the path
//!   [`runtime::find`](super::runtime::find) returns (ort's lazy loading panics on failure, so
//!   no ort call happens before [`init_runtime`] succeeded). One runtime per process: asking for a
//!   different library later is an error.
//! * Runtimes older than 1.31 are rejected by ort with a version message (mapped to
//!   [`ErrorKind::Runtime`]).
//! * Devices: `cpu`, `cuda:N` (cargo feature `cuda`), `tensorrt:N` (feature `tensorrt`), `auto`
//!   (GPU when it registers, else CPU with the reason in [`OnnxPredictor::device_note`]). An
//!   explicit GPU request that cannot be met is an [`ErrorKind::Device`] error.
//! * Inputs are fed as borrowed `TensorRef`s (zero copy); ort values are never cloned (rc.15
//!   deadlocks on that).

use super::Predictor;
use super::runtime::{self, Found};
use crate::error::{Error, ErrorKind, Result};
use ort::session::Session;
use ort::session::builder::GraphOptimizationLevel;
use ort::value::TensorRef;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// What was loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeInfo {
    /// Absolute path of the library.
    pub path: PathBuf,
    /// Which search rule found it.
    pub source: String,
    /// ONNX Runtime version (e.g. `1.31.1`).
    pub version: String,
    /// ONNX Runtime build string.
    pub build_info: String,
    /// Execution providers with a device in this runtime (e.g. `CPUExecutionProvider`).
    pub providers: Vec<String>,
    /// Execution providers this medseg build can register.
    pub compiled_providers: Vec<String>,
}

struct Loaded {
    info: RuntimeInfo,
    env: ort::environment::Environment,
}

static STATE: Mutex<Option<Loaded>> = Mutex::new(None);
static RUN_NANOS: AtomicU64 = AtomicU64::new(0);

fn rt_err(m: impl Into<String>) -> Error {
    Error::new(ErrorKind::Runtime, m)
}

/// Total time spent inside `Session::run` in this process (seconds), for benchmarks.
pub fn session_run_seconds() -> f64 {
    RUN_NANOS.load(Ordering::Relaxed) as f64 * 1e-9
}

fn version_from(build_info: &str, path: &Path) -> String {
    if let Some(i) = build_info.find("rel-") {
        let v: String = build_info[i + 4..]
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.')
            .collect();
        if !v.is_empty() {
            return v;
        }
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    name.split(".so.").nth(1).unwrap_or("unknown").to_string()
}

/// Load the ONNX Runtime library (once per process) and return what was loaded.
pub fn init_runtime(explicit: Option<&Path>) -> Result<RuntimeInfo> {
    with_env(explicit, |l| l.info.clone())
}

fn with_env<T>(explicit: Option<&Path>, f: impl FnOnce(&Loaded) -> T) -> Result<T> {
    let mut st = STATE
        .lock()
        .map_err(|_| Error::internal("ONNX Runtime state lock poisoned"))?;
    if let Some(l) = st.as_ref() {
        if let Some(p) = explicit {
            let want = runtime::find(Some(p))?;
            let a = want.path.canonicalize().unwrap_or(want.path.clone());
            let b = l.info.path.canonicalize().unwrap_or(l.info.path.clone());
            if a != b {
                return Err(rt_err(format!(
                    "ONNX Runtime is already loaded from {} in this process; cannot switch to {} (one runtime per process)",
                    l.info.path.display(),
                    want.path.display()
                )));
            }
        }
        return Ok(f(l));
    }
    let Found { path, source } = runtime::find(explicit)?;
    let builder = ort::init_from(&path).map_err(|e| {
        rt_err(format!(
            "cannot load ONNX Runtime from {} (found via {source}): {e}; medseg needs onnxruntime 1.{}.x — {}",
            path.display(),
            runtime::ORT_MINOR,
            runtime::INSTALL_HINT
        ))
    })?;
    let env = builder.with_name("medseg").build().map_err(|e| {
        rt_err(format!(
            "ONNX Runtime environment ({}): {e}",
            path.display()
        ))
    })?;
    let build_info = ort::info().to_string();
    let version = version_from(&build_info, &path);
    let mut providers: Vec<String> = env
        .devices()
        .filter_map(|d| d.ep().ok().map(String::from))
        .collect();
    providers.sort();
    providers.dedup();
    if providers.is_empty() {
        providers.push("CPUExecutionProvider".into());
    }
    let mut compiled = vec!["CPUExecutionProvider".to_string()];
    if cfg!(feature = "cuda") {
        compiled.push("CUDAExecutionProvider".into());
    }
    if cfg!(feature = "tensorrt") {
        compiled.push("TensorrtExecutionProvider".into());
    }
    let loaded = Loaded {
        info: RuntimeInfo {
            path,
            source,
            version,
            build_info,
            providers,
            compiled_providers: compiled,
        },
        env,
    };
    let out = f(&loaded);
    *st = Some(loaded);
    Ok(out)
}

/// Where a session runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Device {
    Cpu,
    Cuda(u32),
    TensorRt(u32),
    /// The first GPU that registers, else CPU.
    Auto,
}

impl std::str::FromStr for Device {
    type Err = Error;
    /// `cpu`, `cuda`, `cuda:N`, `tensorrt:N`, `auto`.
    fn from_str(s: &str) -> Result<Device> {
        let bad = || {
            Error::invalid_argument(format!(
                "device '{s}': expected cpu, cuda[:N], tensorrt[:N] or auto"
            ))
        };
        let (name, idx) = match s.split_once(':') {
            Some((n, i)) => (n, Some(i.parse::<u32>().map_err(|_| bad())?)),
            None => (s, None),
        };
        match (name.to_ascii_lowercase().as_str(), idx) {
            ("cpu", None) => Ok(Device::Cpu),
            ("auto", None) => Ok(Device::Auto),
            ("cuda", i) => Ok(Device::Cuda(i.unwrap_or(0))),
            ("tensorrt", i) => Ok(Device::TensorRt(i.unwrap_or(0))),
            _ => Err(bad()),
        }
    }
}

/// Session settings.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SessionConfig {
    /// Device; default CPU.
    pub device: Option<Device>,
    /// Intra-op threads (None = ONNX Runtime's default: one per physical core).
    pub threads: Option<usize>,
    /// Explicit runtime library path.
    pub ort_lib: Option<PathBuf>,
}

/// Register the GPU provider on `b` with error-on-failure; Err = the reason it is unusable.
#[allow(unused_variables, unused_mut)]
fn register_gpu(
    b: ort::session::builder::SessionBuilder,
    dev: Device,
) -> std::result::Result<ort::session::builder::SessionBuilder, String> {
    match dev {
        Device::Cuda(i) => {
            #[cfg(feature = "cuda")]
            {
                let ep = ort::ep::CUDA::default()
                    .with_device_id(i as i32)
                    .build()
                    .error_on_failure();
                return b.with_execution_providers([ep]).map_err(|e| e.to_string());
            }
            #[allow(unreachable_code)]
            Err("this medseg build has no CUDA support (rebuild with `--features cuda` and a GPU onnxruntime)".into())
        }
        Device::TensorRt(i) => {
            #[cfg(feature = "tensorrt")]
            {
                let ep = ort::ep::TensorRT::default()
                    .with_device_id(i as i32)
                    .build()
                    .error_on_failure();
                return b.with_execution_providers([ep]).map_err(|e| e.to_string());
            }
            #[allow(unreachable_code)]
            Err(
                "this medseg build has no TensorRT support (rebuild with `--features tensorrt`)"
                    .into(),
            )
        }
        _ => Ok(b),
    }
}

/// A session on `path` with the configured device and threads: (session, device used, note on
/// an `auto` fallback). The one place sessions are built.
fn open_session(path: &Path, cfg: &SessionConfig) -> Result<(Session, String, Option<String>)> {
    if !path.is_file() {
        return Err(Error::new(
            ErrorKind::Model,
            format!("{}: ONNX file not found", path.display()),
        ));
    }
    let sess_err = |e: &dyn std::fmt::Display| rt_err(format!("{}: {e}", path.display()));
    let env = with_env(cfg.ort_lib.as_deref(), |l| l.env.clone())?;
    let make_builder = || -> Result<ort::session::builder::SessionBuilder> {
        let mut b = Session::builder(&env).map_err(|e| sess_err(&e))?;
        b = b
            .with_optimization_level(GraphOptimizationLevel::Level3)
            .map_err(|e| sess_err(&e))?;
        b = b.with_inter_threads(1).map_err(|e| sess_err(&e))?;
        if let Some(t) = cfg.threads {
            b = b.with_intra_threads(t.max(1)).map_err(|e| sess_err(&e))?;
        }
        Ok(b)
    };
    let device = cfg.device.unwrap_or(Device::Cpu);
    let mut note = None;
    let (mut builder, used) = match device {
        Device::Cpu => (make_builder()?, "cpu".to_string()),
        Device::Cuda(_) | Device::TensorRt(_) => match register_gpu(make_builder()?, device) {
            Ok(b) => (b, format!("{device:?}").to_lowercase()),
            Err(why) => {
                return Err(Error::new(
                    ErrorKind::Device,
                    format!("device {device:?} requested but unavailable: {why}"),
                ));
            }
        },
        Device::Auto => match register_gpu(make_builder()?, Device::Cuda(0)) {
            Ok(b) => (b, "cuda(0)".to_string()),
            Err(why) => {
                note = Some(format!(
                    "--device auto: using CPU because CUDA is unavailable: {why}"
                ));
                (make_builder()?, "cpu".to_string())
            }
        },
    };
    let session = builder.commit_from_file(path).map_err(|e| sess_err(&e))?;
    Ok((session, used, note))
}

/// A network as an ONNX Runtime session.
pub struct OnnxPredictor {
    session: Session,
    path: PathBuf,
    input_name: String,
    output_name: String,
    in_channels: usize,
    out_channels: usize,
    device_used: String,
    device_note: Option<String>,
}

impl std::fmt::Debug for OnnxPredictor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OnnxPredictor")
            .field("path", &self.path)
            .field("input", &self.input_name)
            .field("output", &self.output_name)
            .field("device", &self.device_used)
            .finish()
    }
}

fn dims(v: &ort::value::ValueType) -> Option<Vec<i64>> {
    v.tensor_shape().map(|s| s.iter().copied().collect())
}

impl OnnxPredictor {
    /// Open `path`; `input`/`output` are the graph names, `in_channels`/`out_channels` what the
    /// manifest expects (checked against the graph: rank 5, channel dimensions).
    pub fn open(
        path: &Path,
        input: &str,
        output: &str,
        in_channels: usize,
        out_channels: usize,
        cfg: &SessionConfig,
    ) -> Result<OnnxPredictor> {
        let (session, used, note) = open_session(path, cfg)?;
        // Check the graph against the manifest.
        let inp = session
            .inputs()
            .iter()
            .find(|o| o.name() == input)
            .ok_or_else(|| {
                Error::mismatch(format!(
                    "{}: no graph input named '{input}' (inputs: {:?})",
                    path.display(),
                    session
                        .inputs()
                        .iter()
                        .map(|o| o.name().to_string())
                        .collect::<Vec<_>>()
                ))
            })?;
        let out = session
            .outputs()
            .iter()
            .find(|o| o.name() == output)
            .ok_or_else(|| {
                Error::mismatch(format!(
                    "{}: no graph output named '{output}' (outputs: {:?})",
                    path.display(),
                    session
                        .outputs()
                        .iter()
                        .map(|o| o.name().to_string())
                        .collect::<Vec<_>>()
                ))
            })?;
        for (what, o, want) in [("input", inp, in_channels), ("output", out, out_channels)] {
            let d = dims(o.dtype()).ok_or_else(|| {
                Error::mismatch(format!(
                    "{}: {what} '{}' is not a tensor",
                    path.display(),
                    o.name()
                ))
            })?;
            if d.len() != 5 {
                return Err(Error::mismatch(format!(
                    "{}: {what} '{}' has rank {} ({d:?}); a 3D nnU-Net network takes (N, C, D, H, W)",
                    path.display(),
                    o.name(),
                    d.len()
                )));
            }
            if d[1] >= 0 && d[1] as usize != want {
                return Err(Error::mismatch(format!(
                    "{}: {what} '{}' has {} channels, the manifest says {want}",
                    path.display(),
                    o.name(),
                    d[1]
                )));
            }
        }
        Ok(OnnxPredictor {
            session,
            path: path.to_path_buf(),
            input_name: input.to_string(),
            output_name: output.to_string(),
            in_channels,
            out_channels,
            device_used: used,
            device_note: note,
        })
    }

    /// The device the session runs on (`cpu`, `cuda(0)`).
    pub fn device_used(&self) -> &str {
        &self.device_used
    }

    /// Why `auto` fell back to CPU, if it did.
    pub fn device_note(&self) -> Option<&str> {
        self.device_note.as_deref()
    }
}

impl Predictor for OnnxPredictor {
    fn in_channels(&self) -> usize {
        self.in_channels
    }
    fn out_channels(&self) -> usize {
        self.out_channels
    }
    fn predict(&mut self, input: &[f32], shape: [usize; 5], output: &mut [f32]) -> Result<()> {
        let path = self.path.clone();
        let err = |e: &dyn std::fmt::Display| {
            rt_err(format!("{}: inference failed: {e}", path.display()))
        };
        let ishape: Vec<i64> = shape.iter().map(|&v| v as i64).collect();
        let tensor = TensorRef::from_array_view((ishape, input)).map_err(|e| err(&e))?;
        let t0 = std::time::Instant::now();
        let outputs = self
            .session
            .run(ort::inputs![self.input_name.as_str() => tensor])
            .map_err(|e| err(&e))?;
        RUN_NANOS.fetch_add(t0.elapsed().as_nanos() as u64, Ordering::Relaxed);
        let value = outputs.get(self.output_name.as_str()).ok_or_else(|| {
            rt_err(format!(
                "{}: output '{}' missing",
                path.display(),
                self.output_name
            ))
        })?;
        let (oshape, data) = value.try_extract_tensor::<f32>().map_err(|e| err(&e))?;
        let want = [shape[0], self.out_channels, shape[2], shape[3], shape[4]];
        let got: Vec<usize> = oshape.iter().map(|&v| v.max(0) as usize).collect();
        if got != want || data.len() != output.len() {
            return Err(Error::mismatch(format!(
                "{}: output shape {got:?}, expected {want:?}",
                path.display()
            )));
        }
        output.copy_from_slice(data);
        Ok(())
    }
}

/// One float32 tensor a graph returned: shape (slowest axis first) and values in C order.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    /// Dimensions.
    pub shape: Vec<usize>,
    /// Values.
    pub data: Vec<f32>,
}

/// A graph with named float32 inputs and outputs (the SAM encoder and decoder), as an ONNX
/// Runtime session. Unlike [`OnnxPredictor`] it makes no assumption about ranks or names beyond
/// what the caller checks with [`OnnxGraph::input_dims`] / [`OnnxGraph::output_dims`].
pub struct OnnxGraph {
    session: Session,
    path: PathBuf,
    device_used: String,
    device_note: Option<String>,
}

impl std::fmt::Debug for OnnxGraph {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OnnxGraph")
            .field("path", &self.path)
            .field("device", &self.device_used)
            .finish()
    }
}

impl OnnxGraph {
    /// Open `path` on the configured device.
    pub fn open(path: &Path, cfg: &SessionConfig) -> Result<OnnxGraph> {
        let (session, device_used, device_note) = open_session(path, cfg)?;
        Ok(OnnxGraph {
            session,
            path: path.to_path_buf(),
            device_used,
            device_note,
        })
    }

    fn names(list: &[ort::value::Outlet]) -> Vec<String> {
        list.iter().map(|o| o.name().to_string()).collect()
    }

    /// Dimensions of input `name` (-1 where dynamic); a `Mismatch` error naming the graph's
    /// inputs when there is none of that name or it is not a tensor.
    pub fn input_dims(&self, name: &str) -> Result<Vec<i64>> {
        let list = self.session.inputs();
        let o = list.iter().find(|o| o.name() == name).ok_or_else(|| {
            Error::mismatch(format!(
                "{}: no graph input named '{name}' (inputs: {:?})",
                self.path.display(),
                Self::names(list)
            ))
        })?;
        dims(o.dtype()).ok_or_else(|| {
            Error::mismatch(format!(
                "{}: input '{name}' is not a tensor",
                self.path.display()
            ))
        })
    }

    /// Dimensions of output `name` (-1 where dynamic).
    pub fn output_dims(&self, name: &str) -> Result<Vec<i64>> {
        let list = self.session.outputs();
        let o = list.iter().find(|o| o.name() == name).ok_or_else(|| {
            Error::mismatch(format!(
                "{}: no graph output named '{name}' (outputs: {:?})",
                self.path.display(),
                Self::names(list)
            ))
        })?;
        dims(o.dtype()).ok_or_else(|| {
            Error::mismatch(format!(
                "{}: output '{name}' is not a tensor",
                self.path.display()
            ))
        })
    }

    /// Run with borrowed float32 inputs `(name, shape, values)` and return the named outputs in
    /// the order asked.
    pub fn run(
        &mut self,
        inputs: &[(&str, &[usize], &[f32])],
        outputs: &[&str],
    ) -> Result<Vec<Tensor>> {
        let path = self.path.clone();
        let err = |e: &dyn std::fmt::Display| {
            rt_err(format!("{}: inference failed: {e}", path.display()))
        };
        let mut feed: Vec<(String, ort::session::SessionInputValue<'_>)> =
            Vec::with_capacity(inputs.len());
        for (name, shape, data) in inputs {
            let n: usize = shape.iter().product();
            if n != data.len() {
                return Err(Error::internal(format!(
                    "input '{name}': shape {shape:?} needs {n} values, got {}",
                    data.len()
                )));
            }
            let ishape: Vec<i64> = shape.iter().map(|&v| v as i64).collect();
            let t = TensorRef::from_array_view((ishape, *data)).map_err(|e| err(&e))?;
            feed.push((name.to_string(), t.into()));
        }
        let t0 = std::time::Instant::now();
        let result = self.session.run(feed).map_err(|e| err(&e))?;
        RUN_NANOS.fetch_add(t0.elapsed().as_nanos() as u64, Ordering::Relaxed);
        let mut out = Vec::with_capacity(outputs.len());
        for name in outputs {
            let value = result
                .get(*name)
                .ok_or_else(|| rt_err(format!("{}: output '{name}' missing", path.display())))?;
            let (shape, data) = value.try_extract_tensor::<f32>().map_err(|e| err(&e))?;
            out.push(Tensor {
                shape: shape.iter().map(|&v| v.max(0) as usize).collect(),
                data: data.to_vec(),
            });
        }
        Ok(out)
    }

    /// The device the session runs on (`cpu`, `cuda(0)`).
    pub fn device_used(&self) -> &str {
        &self.device_used
    }

    /// Why `auto` fell back to CPU, if it did.
    pub fn device_note(&self) -> Option<&str> {
        self.device_note.as_deref()
    }
}
