//! Model manifests: `medseg.json` beside the ONNX files.
//!
//! A manifest says what a model folder holds: its kind (`nnunet`), the ONNX file per fold with
//! its input/output names, channel counts, patch size, test-time mirroring axes, the default step
//! size, the preprocessing taken verbatim from nnU-Net's `plans.json` (resolved configuration,
//! transposes, intensity properties) and the labels from `dataset.json` with names and colours.
//!
//! [`Manifest::load`] accepts either a folder with `medseg.json` or an nnU-Net results folder
//! (`plans.json`, `dataset.json`, `fold_k/network.onnx` + `fold_k/onnx_export.json`), the layout
//! of the oracle and of `tools/export_nnunet_onnx.py`.

use crate::error::{Error, ErrorKind, Result};
use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use std::fmt;
use std::path::{Path, PathBuf};

/// File name of a manifest.
pub const MANIFEST_FILE: &str = "medseg.json";
/// Manifest format tag.
pub const MANIFEST_FORMAT: &str = "medseg-model";

fn model_err(m: impl Into<String>) -> Error {
    Error::new(ErrorKind::Model, m)
}

/// One fold's network.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FoldEntry {
    /// Fold name (`"0"`, `"1"`, `"all"`).
    pub name: String,
    /// ONNX file, relative to the manifest folder.
    pub onnx: String,
    /// Name of the graph input.
    #[serde(default = "default_input")]
    pub input_name: String,
    /// Name of the graph output (raw logits).
    #[serde(default = "default_output")]
    pub output_name: String,
}

fn default_input() -> String {
    "input".into()
}
fn default_output() -> String {
    "logits".into()
}
fn default_step() -> f64 {
    0.5
}

/// One label (or region) of the output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelEntry {
    /// Name from `dataset.json`.
    pub name: String,
    /// Value written in the label map (for regions: the painted value from `regions_class_order`).
    pub value: i64,
    /// For region-based models: the label values the region covers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<Vec<i64>>,
    /// Display colour (RGB).
    pub color: [u8; 3],
}

/// A model manifest (`medseg.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Always [`MANIFEST_FORMAT`].
    pub format: String,
    /// Manifest version (1).
    pub version: u32,
    /// Model kind: `nnunet`.
    pub kind: String,
    /// Human name (dataset name).
    pub name: String,
    /// nnU-Net configuration (`3d_fullres`, ...).
    pub configuration: String,
    /// Folds, each with its ONNX file.
    pub folds: Vec<FoldEntry>,
    /// Input channels C.
    pub in_channels: usize,
    /// Output channels K (logits).
    pub out_channels: usize,
    /// Channel names from `dataset.json`, in input order.
    pub channel_names: Vec<String>,
    /// Network tile size (transposed frame).
    pub patch_size: Vec<usize>,
    /// Axes test-time mirroring may flip (transposed frame); `null` = no mirroring.
    pub mirroring_axes: Option<Vec<usize>>,
    /// Default sliding-window step (fraction of the patch).
    #[serde(default = "default_step")]
    pub step_size: f64,
    /// Preprocessing, verbatim from `plans.json`: the resolved configuration plus
    /// `transpose_forward`, `transpose_backward`, `foreground_intensity_properties_per_channel`,
    /// `image_reader_writer`.
    pub preprocessing: Value,
    /// Output labels (background first for softmax models).
    pub labels: Vec<LabelEntry>,
    /// Region models: the painted value per output channel.
    #[serde(default)]
    pub regions_class_order: Option<Vec<i64>>,
    /// Where the model came from (trainer, plans, checkpoint), informational.
    #[serde(default)]
    pub source: Value,
}

/// A JSON object read with its keys in document order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OrderedMap(pub Vec<(String, Value)>);

impl<'de> Deserialize<'de> for OrderedMap {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = OrderedMap;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut m: A,
            ) -> std::result::Result<OrderedMap, A::Error> {
                let mut v = Vec::new();
                while let Some((k, val)) = m.next_entry::<String, Value>()? {
                    v.push((k, val));
                }
                Ok(OrderedMap(v))
            }
        }
        d.deserialize_map(V)
    }
}

#[derive(Deserialize)]
struct DatasetOrdered {
    #[serde(default)]
    channel_names: Option<OrderedMap>,
    #[serde(default)]
    modality: Option<OrderedMap>,
    labels: OrderedMap,
    #[serde(default)]
    regions_class_order: Option<Vec<i64>>,
}

/// A small fixed palette (background black), cycled for many labels.
const PALETTE: [[u8; 3]; 16] = [
    [230, 25, 75],
    [60, 180, 75],
    [255, 225, 25],
    [0, 130, 200],
    [245, 130, 48],
    [145, 30, 180],
    [70, 240, 240],
    [240, 50, 230],
    [210, 245, 60],
    [250, 190, 212],
    [0, 128, 128],
    [220, 190, 255],
    [170, 110, 40],
    [255, 250, 200],
    [128, 0, 0],
    [170, 255, 195],
];

fn read_json_text(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            model_err(format!("{}: missing", path.display()))
        } else {
            Error::io(path, e)
        }
    })
}

fn parse_json<T: for<'a> Deserialize<'a>>(path: &Path, text: &str) -> Result<T> {
    serde_json::from_str(text)
        .map_err(|e| model_err(format!("{}: invalid JSON: {e}", path.display())))
}

/// Resolve `configurations[name]` of a plans.json, following `inherits_from` (cycles are an
/// error).
pub fn resolve_configuration(
    plans: &Value,
    name: &str,
    plans_path: &Path,
) -> Result<serde_json::Map<String, Value>> {
    let confs = plans
        .get("configurations")
        .and_then(Value::as_object)
        .ok_or_else(|| {
            model_err(format!(
                "{}: no 'configurations' object",
                plans_path.display()
            ))
        })?;
    let mut chain = vec![name.to_string()];
    let mut cur = name.to_string();
    loop {
        let c = confs.get(&cur).and_then(Value::as_object).ok_or_else(|| {
            model_err(format!(
                "{}: configuration '{cur}' not found (have {:?})",
                plans_path.display(),
                confs.keys().collect::<Vec<_>>()
            ))
        })?;
        match c.get("inherits_from").and_then(Value::as_str) {
            Some(parent) => {
                if chain.iter().any(|n| n == parent) {
                    return Err(model_err(format!(
                        "{}: configuration inheritance cycle {chain:?} -> {parent}",
                        plans_path.display()
                    )));
                }
                chain.push(parent.to_string());
                cur = parent.to_string();
            }
            None => break,
        }
    }
    let mut out = serde_json::Map::new();
    for n in chain.iter().rev() {
        if let Some(c) = confs.get(n).and_then(Value::as_object) {
            for (k, v) in c {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    out.remove("inherits_from");
    Ok(out)
}

/// What the export step knows about a fold's network (sidecar `onnx_export.json`).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ExportSidecar {
    #[serde(default)]
    pub input_name: Option<String>,
    #[serde(default)]
    pub output_name: Option<String>,
    #[serde(default)]
    pub num_input_channels: Option<usize>,
    #[serde(default)]
    pub num_output_channels: Option<usize>,
    #[serde(default)]
    pub patch_size: Option<Vec<usize>>,
    #[serde(default)]
    pub configuration: Option<String>,
    #[serde(default)]
    pub trainer_name: Option<String>,
    /// Present-and-null means "no mirroring".
    #[serde(default, deserialize_with = "some_or_null")]
    pub inference_allowed_mirroring_axes: Option<Option<Vec<usize>>>,
}

fn some_or_null<'de, D: Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<Option<Vec<usize>>>, D::Error> {
    Ok(Some(Option::<Vec<usize>>::deserialize(d)?))
}

impl ExportSidecar {
    /// Read `fold_dir/onnx_export.json`.
    pub fn read(fold_dir: &Path) -> Result<Self> {
        let p = fold_dir.join("onnx_export.json");
        let t = read_json_text(&p)?;
        parse_json(&p, &t)
    }
}

/// Inputs to [`Manifest::from_nnunet`].
#[derive(Debug, Clone)]
pub struct NnUnetSource<'a> {
    /// The results folder holding plans.json / dataset.json.
    pub dir: &'a Path,
    /// Configuration name (from the checkpoint / sidecar / folder name).
    pub configuration: &'a str,
    /// Folds with ONNX paths relative to the manifest folder.
    pub folds: Vec<FoldEntry>,
    /// Mirroring axes from the checkpoint (None = no mirroring).
    pub mirroring_axes: Option<Vec<usize>>,
    /// Extra provenance written to `source`.
    pub source: Value,
}

impl Manifest {
    /// Build a manifest from an nnU-Net results folder's plans.json and dataset.json.
    pub fn from_nnunet(src: NnUnetSource<'_>) -> Result<Manifest> {
        let plans_path = src.dir.join("plans.json");
        let dataset_path = src.dir.join("dataset.json");
        if !plans_path.is_file() {
            return Err(model_err(format!(
                "{}: no plans.json in this model folder (not an nnU-Net results folder and no {MANIFEST_FILE})",
                src.dir.display()
            )));
        }
        let plans_text = read_json_text(&plans_path)?;
        let plans: Value = parse_json(&plans_path, &plans_text)?;
        let ds_text = read_json_text(&dataset_path)?;
        let ds: DatasetOrdered = parse_json(&dataset_path, &ds_text)?;
        let conf = resolve_configuration(&plans, src.configuration, &plans_path)?;

        let mut pre = conf.clone();
        for key in [
            "transpose_forward",
            "transpose_backward",
            "foreground_intensity_properties_per_channel",
            "image_reader_writer",
        ] {
            let v = plans.get(key).cloned().or_else(|| {
                if key == "foreground_intensity_properties_per_channel" {
                    plans
                        .get("foreground_intensity_properties_by_modality")
                        .cloned()
                } else {
                    None
                }
            });
            if let Some(v) = v {
                pre.insert(key.into(), v);
            }
        }

        let channels = ds
            .channel_names
            .or(ds.modality)
            .ok_or_else(|| model_err(format!("{}: no 'channel_names'", dataset_path.display())))?;
        let channel_names: Vec<String> = channels
            .0
            .iter()
            .map(|(_, v)| v.as_str().unwrap_or("").to_string())
            .collect();

        // Labels and regions (dict order).
        let mut region_based = false;
        let mut parsed: Vec<(String, Vec<i64>)> = Vec::new();
        for (name, v) in &ds.labels.0 {
            let vals: Vec<i64> = match v {
                Value::Number(n) => vec![n.as_i64().ok_or_else(|| {
                    model_err(format!(
                        "{}: label '{name}' is not an integer",
                        dataset_path.display()
                    ))
                })?],
                Value::Array(a) => a
                    .iter()
                    .map(|x| {
                        x.as_i64().ok_or_else(|| {
                            model_err(format!(
                                "{}: label '{name}' has a non-integer value",
                                dataset_path.display()
                            ))
                        })
                    })
                    .collect::<Result<_>>()?,
                _ => {
                    return Err(model_err(format!(
                        "{}: label '{name}' must be an integer or a list",
                        dataset_path.display()
                    )));
                }
            };
            if vals.len() > 1 {
                region_based = true;
            }
            parsed.push((name.clone(), vals));
        }
        let mut labels = Vec::new();
        let out_channels;
        let regions_class_order;
        if region_based {
            let regions: Vec<&(String, Vec<i64>)> = parsed
                .iter()
                .filter(|(n, v)| n != "ignore" && !v.iter().all(|&x| x == 0))
                .collect();
            let order = ds.regions_class_order.clone().ok_or_else(|| {
                model_err(format!(
                    "{}: region-based labels need 'regions_class_order'",
                    dataset_path.display()
                ))
            })?;
            if order.len() != regions.len() {
                return Err(model_err(format!(
                    "{}: {} regions but regions_class_order has {} entries",
                    dataset_path.display(),
                    regions.len(),
                    order.len()
                )));
            }
            labels.push(LabelEntry {
                name: "background".into(),
                value: 0,
                region: None,
                color: [0, 0, 0],
            });
            for (i, ((n, v), val)) in regions.iter().map(|r| (&r.0, &r.1)).zip(&order).enumerate() {
                labels.push(LabelEntry {
                    name: n.clone(),
                    value: *val,
                    region: Some(v.clone()),
                    color: PALETTE[i % PALETTE.len()],
                });
            }
            out_channels = regions.len();
            regions_class_order = Some(order);
        } else {
            let mut vals: Vec<(String, i64)> = parsed
                .iter()
                .filter(|(n, _)| n != "ignore")
                .map(|(n, v)| (n.clone(), v[0]))
                .collect();
            vals.sort_by_key(|(_, v)| *v);
            for (i, (_, v)) in vals.iter().enumerate() {
                if *v != i as i64 {
                    return Err(model_err(format!(
                        "{}: labels must be consecutive 0..K-1 (got {:?})",
                        dataset_path.display(),
                        vals.iter().map(|x| x.1).collect::<Vec<_>>()
                    )));
                }
            }
            for (n, v) in &vals {
                labels.push(LabelEntry {
                    name: n.clone(),
                    value: *v,
                    region: None,
                    color: if *v == 0 {
                        [0, 0, 0]
                    } else {
                        PALETTE[(*v as usize - 1) % PALETTE.len()]
                    },
                });
            }
            out_channels = vals.len();
            regions_class_order = None;
        }
        let patch_size: Vec<usize> = conf
            .get("patch_size")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_u64)
                    .map(|v| v as usize)
                    .collect()
            })
            .ok_or_else(|| {
                model_err(format!(
                    "{}: configuration '{}' has no patch_size",
                    plans_path.display(),
                    src.configuration
                ))
            })?;
        let name = plans
            .get("dataset_name")
            .and_then(Value::as_str)
            .unwrap_or("nnunet-model")
            .to_string();
        Ok(Manifest {
            format: MANIFEST_FORMAT.into(),
            version: 1,
            kind: "nnunet".into(),
            name,
            configuration: src.configuration.to_string(),
            folds: src.folds,
            in_channels: channel_names.len(),
            out_channels,
            channel_names,
            patch_size,
            mirroring_axes: src.mirroring_axes,
            step_size: 0.5,
            preprocessing: Value::Object(pre),
            labels,
            regions_class_order,
            source: src.source,
        })
    }

    /// Load a model folder: `medseg.json` if present, else an nnU-Net results folder whose
    /// `fold_k/` hold `network.onnx` and `onnx_export.json`.
    pub fn load(dir: &Path) -> Result<Manifest> {
        if !dir.is_dir() {
            return Err(model_err(format!(
                "{}: model folder not found",
                dir.display()
            )));
        }
        let mpath = dir.join(MANIFEST_FILE);
        let m = if mpath.is_file() {
            let t = read_json_text(&mpath)?;
            if serde_json::from_str::<Value>(&t)
                .ok()
                .is_some_and(|v| v.get("kind").and_then(Value::as_str) == Some("sam"))
            {
                return Err(model_err(format!(
                    "{}: a promptable SAM model (kind 'sam'), not an nnU-Net model: use `medseg sam segment --model {}` with --box prompts",
                    mpath.display(),
                    dir.display()
                )));
            }
            let m: Manifest = parse_json(&mpath, &t)?;
            if m.format != MANIFEST_FORMAT {
                return Err(model_err(format!(
                    "{}: format '{}' is not '{MANIFEST_FORMAT}'",
                    mpath.display(),
                    m.format
                )));
            }
            m
        } else {
            Self::from_results_folder(dir)?
        };
        m.validate(dir)?;
        Ok(m)
    }

    /// An nnU-Net results folder with exported `fold_k/network.onnx` (+ sidecar).
    fn from_results_folder(dir: &Path) -> Result<Manifest> {
        if !dir.join("plans.json").is_file() {
            return Err(model_err(format!(
                "{}: neither {MANIFEST_FILE} nor plans.json found; not a model folder",
                dir.display()
            )));
        }
        let folds = list_fold_dirs(dir)?;
        let mut entries = Vec::new();
        let mut first: Option<ExportSidecar> = None;
        for (name, fdir) in &folds {
            let onnx = fdir.join("network.onnx");
            if !onnx.is_file() {
                continue;
            }
            let side = ExportSidecar::read(fdir).map_err(|e| {
                e.context(format!(
                    "{} has no readable onnx_export.json (mirroring axes and names); import the model with `medseg model import-nnunet`",
                    fdir.display()
                ))
            })?;
            entries.push(FoldEntry {
                name: name.clone(),
                onnx: format!("fold_{name}/network.onnx"),
                input_name: side.input_name.clone().unwrap_or_else(default_input),
                output_name: side.output_name.clone().unwrap_or_else(default_output),
            });
            if first.is_none() {
                first = Some(side);
            }
        }
        let Some(side) = first else {
            return Err(model_err(format!(
                "{}: no fold_*/network.onnx found (export the checkpoints with `medseg model import-nnunet`)",
                dir.display()
            )));
        };
        let configuration = side
            .configuration
            .clone()
            .or_else(|| configuration_from_folder_name(dir))
            .unwrap_or_else(|| "3d_fullres".into());
        let mirroring = side.inference_allowed_mirroring_axes.clone().flatten();
        let m = Manifest::from_nnunet(NnUnetSource {
            dir,
            configuration: &configuration,
            folds: entries,
            mirroring_axes: mirroring,
            source: serde_json::json!({"nnunet_results_folder": dir.display().to_string(),
                                       "trainer": side.trainer_name}),
        })?;
        if let Some(c) = side.num_input_channels
            && c != m.in_channels
        {
            return Err(Error::mismatch(format!(
                "{}: onnx_export.json says {c} input channels, dataset.json has {}",
                dir.display(),
                m.in_channels
            )));
        }
        if let Some(k) = side.num_output_channels
            && k != m.out_channels
        {
            return Err(Error::mismatch(format!(
                "{}: onnx_export.json says {k} output channels, dataset.json gives {}",
                dir.display(),
                m.out_channels
            )));
        }
        Ok(m)
    }

    /// Check internal consistency and that every ONNX file exists.
    pub fn validate(&self, dir: &Path) -> Result<()> {
        if self.kind != "nnunet" {
            return Err(Error::unsupported(format!(
                "{}: model kind '{}' (this predictor runs 'nnunet')",
                dir.display(),
                self.kind
            )));
        }
        if self.folds.is_empty() {
            return Err(model_err(format!(
                "{}: manifest lists no folds",
                dir.display()
            )));
        }
        for f in &self.folds {
            let p = dir.join(&f.onnx);
            if !p.is_file() {
                return Err(model_err(format!(
                    "{}: ONNX file of fold {} missing",
                    p.display(),
                    f.name
                )));
            }
        }
        if self.in_channels == 0 || self.out_channels == 0 {
            return Err(model_err(format!(
                "{}: zero input or output channels",
                dir.display()
            )));
        }
        if self.channel_names.len() != self.in_channels {
            return Err(model_err(format!(
                "{}: {} channel names for {} input channels",
                dir.display(),
                self.channel_names.len(),
                self.in_channels
            )));
        }
        if let Some(ax) = &self.mirroring_axes
            && ax.iter().any(|&a| a >= self.patch_size.len())
        {
            return Err(model_err(format!(
                "{}: mirroring axes {ax:?} outside the {}-D patch",
                dir.display(),
                self.patch_size.len()
            )));
        }
        if !(self.step_size > 0.0 && self.step_size <= 1.0) {
            return Err(model_err(format!(
                "{}: step_size {} not in (0, 1]",
                dir.display(),
                self.step_size
            )));
        }
        Ok(())
    }

    /// Serialise (pretty JSON).
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string_pretty(self)
            .map_err(|e| Error::internal(format!("manifest JSON: {e}")))
    }

    /// Write `dir/medseg.json` atomically.
    pub fn write(&self, dir: &Path) -> Result<PathBuf> {
        let p = dir.join(MANIFEST_FILE);
        crate::io::atomic_write(&p, self.to_json()?.as_bytes())?;
        Ok(p)
    }

    /// The folds selected by name (`None` = all).
    pub fn select_folds(&self, names: Option<&[String]>) -> Result<Vec<FoldEntry>> {
        match names {
            None => Ok(self.folds.clone()),
            Some(ns) => ns
                .iter()
                .map(|n| {
                    self.folds
                        .iter()
                        .find(|f| &f.name == n)
                        .cloned()
                        .ok_or_else(|| {
                            Error::invalid_argument(format!(
                                "fold '{n}' is not in the model (have {:?})",
                                self.folds.iter().map(|f| &f.name).collect::<Vec<_>>()
                            ))
                        })
                })
                .collect(),
        }
    }
}

/// `fold_<k>` sub-folders (name k), numeric folds first in order, `fold_all` last.
pub fn list_fold_dirs(dir: &Path) -> Result<Vec<(String, PathBuf)>> {
    let rd = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    let mut out = Vec::new();
    for e in rd {
        let e = e.map_err(|e| Error::io(dir, e))?;
        let name = e.file_name().to_string_lossy().to_string();
        if let Some(k) = name.strip_prefix("fold_")
            && e.path().is_dir()
        {
            out.push((k.to_string(), e.path()));
        }
    }
    out.sort_by_key(|(k, _)| (k.parse::<u64>().unwrap_or(u64::MAX), k.clone()));
    Ok(out)
}

/// `Trainer__Plans__configuration` → `configuration`.
pub fn configuration_from_folder_name(dir: &Path) -> Option<String> {
    let name = dir.file_name()?.to_str()?;
    let parts: Vec<&str> = name.split("__").collect();
    if parts.len() == 3 {
        Some(parts[2].to_string())
    } else {
        None
    }
}
