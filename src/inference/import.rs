//! `medseg model import-nnunet`: an nnU-Net results folder → a medseg model folder
//! (`medseg.json`, `plans.json`, `dataset.json`, `fold_k/network.onnx` + `onnx_export.json`).
//!
//! The networks are exported by `tools/export_nnunet_onnx.py` (opset 17, dynamic batch and
//! spatial axes), run as a child process: with PyTorch + dynamic_network_architectures when the
//! interpreter has them (any architecture), otherwise — or with `backend: onnx` — straight from
//! the checkpoint with numpy + `onnx` (`tools/nnunet_onnx_graph.py`, PlainConvUNet, the default
//! nnU-Net architecture; the same logits as the torch export). The manifest is written here. The output folder appears only when everything
//! succeeded (built in a temporary sibling folder, then renamed).

use super::manifest::{
    ExportSidecar, FoldEntry, Manifest, NnUnetSource, configuration_from_folder_name,
    list_fold_dirs,
};
use crate::error::{Error, ErrorKind, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Importer settings.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImportOptions {
    /// Folds by name (`None` = every `fold_*` with the checkpoint).
    pub folds: Option<Vec<String>>,
    /// `final` or `best`.
    pub checkpoint: String,
    /// Python interpreter (default: `MEDSEG_PYTHON`, `<source>/.venv/bin/python`, `python3`).
    pub python: Option<PathBuf>,
    /// Export script (default: `MEDSEG_EXPORT_SCRIPT`, `<source>/tools/export_nnunet_onnx.py`).
    pub script: Option<PathBuf>,
    /// Exporter backend passed to the script: `torch` (any architecture), `onnx` (PlainConvUNet
    /// from the checkpoint with numpy + onnx, no torch), or `None`/`auto` (torch when the
    /// interpreter can import it, else onnx).
    pub backend: Option<String>,
}

fn model_err(m: impl Into<String>) -> Error {
    Error::new(ErrorKind::Model, m)
}

fn find_python(opts: &ImportOptions) -> PathBuf {
    if let Some(p) = &opts.python {
        return p.clone();
    }
    if let Some(p) = std::env::var_os("MEDSEG_PYTHON") {
        return PathBuf::from(p);
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    if venv.is_file() {
        return venv;
    }
    PathBuf::from("python3")
}

fn find_script(opts: &ImportOptions) -> Result<PathBuf> {
    let p = opts
        .script
        .clone()
        .or_else(|| std::env::var_os("MEDSEG_EXPORT_SCRIPT").map(PathBuf::from))
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tools/export_nnunet_onnx.py")
        });
    if p.is_file() {
        Ok(p)
    } else {
        Err(Error::new(
            ErrorKind::Io,
            format!(
                "export script {} not found (set MEDSEG_EXPORT_SCRIPT)",
                p.display()
            ),
        ))
    }
}

/// Import `results` into `out` (which must not exist yet).
pub fn import_nnunet(results: &Path, out: &Path, opts: &ImportOptions) -> Result<Manifest> {
    if !results.join("plans.json").is_file() {
        return Err(model_err(format!(
            "{}: no plans.json (expected an nnU-Net results folder Trainer__Plans__configuration)",
            results.display()
        )));
    }
    if !results.join("dataset.json").is_file() {
        return Err(model_err(format!("{}: no dataset.json", results.display())));
    }
    if out.exists() {
        return Err(Error::invalid_argument(format!(
            "{}: output folder already exists",
            out.display()
        )));
    }
    let ckpt = match opts.checkpoint.as_str() {
        "final" | "" => "checkpoint_final.pth",
        "best" => "checkpoint_best.pth",
        other => {
            return Err(Error::invalid_argument(format!(
                "--checkpoint '{other}': expected final or best"
            )));
        }
    };
    let mut folds: Vec<(String, PathBuf)> = list_fold_dirs(results)?
        .into_iter()
        .filter(|(_, d)| d.join(ckpt).is_file())
        .collect();
    if let Some(want) = &opts.folds {
        for w in want {
            if !folds.iter().any(|(n, _)| n == w) {
                return Err(model_err(format!(
                    "{}: fold_{w}/{ckpt} not found",
                    results.display()
                )));
            }
        }
        folds.retain(|(n, _)| want.contains(n));
    } else {
        folds.retain(|(n, _)| n != "all");
    }
    if folds.is_empty() {
        return Err(model_err(format!(
            "{}: no fold_*/{ckpt}",
            results.display()
        )));
    }
    let python = find_python(opts);
    let script = find_script(opts)?;
    let parent = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| "model".into());
    let tmp = parent.join(format!(".{name}.import-{}", std::process::id()));
    let result = (|| -> Result<Manifest> {
        std::fs::create_dir_all(&tmp).map_err(|e| Error::io(&tmp, e))?;
        let mut entries = Vec::new();
        let mut first: Option<ExportSidecar> = None;
        for (fname, fdir) in &folds {
            let fout = tmp.join(format!("fold_{fname}"));
            std::fs::create_dir_all(&fout).map_err(|e| Error::io(&fout, e))?;
            let output = Command::new(&python)
                .arg(&script)
                .arg("--results")
                .arg(results)
                .arg("--checkpoint")
                .arg(fdir.join(ckpt))
                .arg("--out")
                .arg(fout.join("network.onnx"))
                .arg("--backend")
                .arg(opts.backend.as_deref().unwrap_or("auto"))
                .output()
                .map_err(|e| {
                    Error::new(
                        ErrorKind::Runtime,
                        format!(
                            "cannot run {} (set --python or MEDSEG_PYTHON)",
                            python.display()
                        ),
                    )
                    .with_source(e)
                })?;
            if !output.status.success() {
                let err = String::from_utf8_lossy(&output.stderr);
                let tail: Vec<&str> = err.lines().rev().take(12).collect();
                return Err(Error::new(
                    ErrorKind::Model,
                    format!(
                        "exporting fold {fname} ({}) failed: {}",
                        fdir.join(ckpt).display(),
                        tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                    ),
                ));
            }
            let side = ExportSidecar::read(&fout)?;
            entries.push(FoldEntry {
                name: fname.clone(),
                onnx: format!("fold_{fname}/network.onnx"),
                input_name: side.input_name.clone().unwrap_or_else(|| "input".into()),
                output_name: side.output_name.clone().unwrap_or_else(|| "logits".into()),
            });
            if first.is_none() {
                first = Some(side);
            }
        }
        for f in ["plans.json", "dataset.json"] {
            std::fs::copy(results.join(f), tmp.join(f))
                .map_err(|e| Error::io(&results.join(f), e))?;
        }
        let side = first.unwrap_or_default();
        let configuration = side
            .configuration
            .clone()
            .or_else(|| configuration_from_folder_name(results))
            .unwrap_or_else(|| "3d_fullres".into());
        let manifest = Manifest::from_nnunet(NnUnetSource {
            dir: &tmp,
            configuration: &configuration,
            folds: entries,
            mirroring_axes: side.inference_allowed_mirroring_axes.clone().flatten(),
            source: serde_json::json!({
                "nnunet_results_folder": results.display().to_string(),
                "trainer": side.trainer_name,
                "checkpoint": ckpt,
                "exporter": "tools/export_nnunet_onnx.py",
            }),
        })?;
        manifest.validate(&tmp)?;
        manifest.write(&tmp)?;
        Ok(manifest)
    })();
    match result {
        Ok(m) => {
            std::fs::rename(&tmp, out).map_err(|e| Error::io(out, e))?;
            Ok(m)
        }
        Err(e) => {
            let _ = std::fs::remove_dir_all(&tmp);
            Err(e)
        }
    }
}
