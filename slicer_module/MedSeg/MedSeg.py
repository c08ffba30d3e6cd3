"""MedSeg: the 3D Slicer panel for the medseg native segmentation engine.

The panel runs the MedSegCLI command-line module in the background
(``slicer.cli.run(..., wait_for_completion=False)``), shows its progress, lets the user cancel,
and imports the label map it writes as a segmentation whose segment names and colours come
from the model's manifest (``medseg.json``). No pip installs, no PyTorch: everything runs in
the native engine.

Structure follows Slicer's scripted-module template: ``MedSeg`` (module description),
``MedSegWidget`` (GUI), ``MedSegLogic`` (everything that works without a GUI; unit-tested with
stub ``slicer``/``vtk`` modules in ``Testing/test_logic.py``) and ``MedSegTest``.
"""

import json
import os

try:  # Inside Slicer these exist; the logic below imports nothing else from them at module level.
    import slicer
    import vtk
    from slicer.ScriptedLoadableModule import (
        ScriptedLoadableModule,
        ScriptedLoadableModuleLogic,
        ScriptedLoadableModuleTest,
        ScriptedLoadableModuleWidget,
    )
except ImportError:  # pragma: no cover - only when imported outside Slicer without stubs
    raise

#: Pipelines the CLI knows (SEM enumeration `pipeline`).
PIPELINES = ("nnunet", "spine")
#: Devices offered in the panel (SEM enumeration `device`).
DEVICES = ("auto", "cpu", "cuda:0", "cuda:1")

#: Default colours when a manifest gives none (RGB 0-255), cycled by label value.
DEFAULT_COLOURS = (
    (230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200), (245, 130, 48),
    (145, 30, 180), (70, 240, 240), (240, 50, 230), (210, 245, 60), (250, 190, 212),
)


class MedSeg(ScriptedLoadableModule):
    """Module description shown in Slicer's module list."""

    def __init__(self, parent):
        ScriptedLoadableModule.__init__(self, parent)
        self.parent.title = "MedSeg"
        self.parent.categories = ["Segmentation"]
        self.parent.dependencies = []
        self.parent.contributors = ["medseg developers"]
        self.parent.helpText = (
            "Segment a volume with the medseg native engine: nnU-Net models exported to ONNX "
            "(a folder with medseg.json) or the TotalSpineSeg spine pipeline. Runs in the "
            "background with progress and Cancel; no Python packages are installed."
        )
        self.parent.acknowledgementText = "Uses ONNX Runtime."


def manifest_path(model_dir):
    """The label source of a model folder: ``medseg.json`` (medseg manifest), else ``dataset.json``
    (an nnU-Net results folder, which the CLI also accepts); None when neither exists."""
    if not model_dir:
        return None
    for name in ("medseg.json", "dataset.json"):
        path = os.path.join(model_dir, name)
        if os.path.isfile(path):
            return path
    return None


def labels_from_manifest(model_dir):
    """Return ``[(value, name, (r, g, b) in 0..1)]`` from ``model_dir/medseg.json`` (or, for an
    nnU-Net results folder, its ``dataset.json``).

    Accepts the manifest's ``labels`` either as a list of objects
    (``{"value": 1, "name": "liver", "color": [r, g, b]}``, colours 0-255 or 0-1) or as a mapping
    ``{"liver": 1}`` / ``{"1": "liver"}`` (nnU-Net's dataset.json style). Background (0) is
    skipped. Raises ``ValueError`` naming the file when it is missing or malformed.
    """
    path = manifest_path(model_dir) or os.path.join(model_dir, "medseg.json")
    try:
        with open(path, encoding="utf-8") as f:
            manifest = json.load(f)
    except OSError as e:
        raise ValueError(f"{path}: cannot read the model manifest ({e.strerror})") from e
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: not valid JSON ({e})") from e
    raw = manifest.get("labels")
    if raw is None:
        raise ValueError(f"{path}: no 'labels' in the manifest")
    entries = []
    if isinstance(raw, dict):
        for k, v in raw.items():
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                entries.append({"value": int(v), "name": str(k)})
            elif str(k).lstrip("-").isdigit():
                entries.append({"value": int(k), "name": str(v)})
            elif isinstance(v, list):  # region-based nnU-Net labels: {"name": [1, 2]}
                entries.append({"value": len(entries) + 1, "name": str(k)})
            else:
                raise ValueError(f"{path}: label {k!r} has no usable value")
    elif isinstance(raw, list):
        for e in raw:
            if not isinstance(e, dict) or "value" not in e:
                raise ValueError(f"{path}: each label needs a 'value'")
            entries.append(e)
    else:
        raise ValueError(f"{path}: 'labels' must be a list or an object")
    out = []
    for e in sorted(entries, key=lambda e: int(e["value"])):
        value = int(e["value"])
        if value == 0:
            continue
        colour = e.get("color") or e.get("colour") or DEFAULT_COLOURS[(value - 1) % len(DEFAULT_COLOURS)]
        colour = tuple(float(c) for c in colour[:3])
        if max(colour) > 1.0:
            colour = tuple(c / 255.0 for c in colour)
        out.append((value, str(e.get("name", f"label {value}")), colour))
    return out


def ijk_to_lps(ijk_to_ras):
    """Convert a 4x4 IJK-to-RAS matrix (nested lists, row-major) to IJK-to-LPS: negate rows 0, 1.

    This is the only RAS/LPS conversion on the Python side (the engine works in LPS).
    """
    m = [list(map(float, row)) for row in ijk_to_ras]
    for r in (0, 1):
        m[r] = [-v for v in m[r]]
    return m


def cli_parameters(input_node, output_node, model_dir, pipeline="nnunet", device="auto",
                   step=0.5, no_tta=False, parity=False, threads=0):
    """The parameter dictionary for ``slicer.cli.run`` (names as in MedSegCLI.xml).

    Validates the choices first so the user sees a clear message instead of a CLI failure.
    Booleans are included only when true (SEM passes a bare flag for true).
    """
    if pipeline not in PIPELINES:
        raise ValueError(f"unknown pipeline {pipeline!r} (choose from {', '.join(PIPELINES)})")
    if device not in DEVICES:
        raise ValueError(f"unknown device {device!r} (choose from {', '.join(DEVICES)})")
    if not 0.1 <= float(step) <= 1.0:
        raise ValueError(f"tile step {step} must be between 0.1 and 1.0")
    if input_node is None or output_node is None:
        raise ValueError("select an input volume and an output label map")
    if pipeline == "nnunet" and manifest_path(model_dir) is None:
        raise ValueError(f"model folder {model_dir!r} has no medseg.json (nor an nnU-Net dataset.json)")
    params = {
        "inputVolume": input_node.GetID(),
        "outputLabelMap": output_node.GetID(),
        "pipeline": pipeline,
        "device": device,
        "stepSize": float(step),
        "threads": int(threads),
    }
    if model_dir:
        params["modelDirectory"] = model_dir
    if no_tta:
        params["disableMirroring"] = True
    if parity:
        params["parity"] = True
    return params


class MedSegLogic(ScriptedLoadableModuleLogic):
    """Runs the CLI without blocking and imports its result. Usable without the GUI."""

    def __init__(self):
        ScriptedLoadableModuleLogic.__init__(self)
        self.cliNode = None
        self._observer = None
        self._on_done = None
        self._on_progress = None
        self._pending = None

    def run(self, input_node, model_dir, pipeline="nnunet", device="auto", step=0.5,
            no_tta=False, parity=False, threads=0, on_progress=None, on_done=None):
        """Start the segmentation in the background and return the CLI node.

        ``on_progress(percent, status_text)`` is called on every status change;
        ``on_done(segmentation_node or None, error_text or None)`` once at the end
        (None/None when cancelled).
        """
        if self.cliNode is not None and self.cliNode.IsBusy():
            raise RuntimeError("a segmentation is already running; cancel it first")
        labels = labels_from_manifest(model_dir) if pipeline == "nnunet" else []
        output = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLLabelMapVolumeNode", "MedSeg output")
        params = cli_parameters(input_node, output, model_dir, pipeline, device, step, no_tta, parity, threads)
        self._pending = (input_node, output, labels)
        self._on_done, self._on_progress = on_done, on_progress
        self.cliNode = slicer.cli.run(slicer.modules.medsegcli, None, params, wait_for_completion=False)
        self._observer = self.cliNode.AddObserver(self.cliNode.StatusModifiedEvent, self._status_changed)
        return self.cliNode

    def cancel(self):
        """Ask the running CLI to stop (Slicer kills the process; the CLI writes atomically)."""
        if self.cliNode is not None and self.cliNode.IsBusy():
            self.cliNode.Cancel()

    def _status_changed(self, caller, _event):
        status = caller.GetStatusString()
        if self._on_progress:
            self._on_progress(caller.GetProgress(), status)
        if caller.IsBusy():
            return
        caller.RemoveObserver(self._observer)
        input_node, output, labels = self._pending
        self._pending = None
        if status == "Completed":
            seg = self.import_labelmap(output, input_node, labels)
            slicer.mrmlScene.RemoveNode(output)
            if self._on_done:
                self._on_done(seg, None)
        else:
            slicer.mrmlScene.RemoveNode(output)
            if self._on_done:
                error = None if status == "Cancelled" else (caller.GetErrorText() or status)
                self._on_done(None, error)

    @staticmethod
    def import_labelmap(labelmap_node, reference_volume, labels):
        """Import a label map as a new segmentation; name and colour segments from ``labels``.

        Segments are matched to labels by their label value (Slicer names imported segments by
        value); values without a manifest entry keep Slicer's default name.
        """
        seg = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLSegmentationNode", "MedSeg segmentation")
        seg.SetReferenceImageGeometryParameterFromVolumeNode(reference_volume)
        slicer.modules.segmentations.logic().ImportLabelmapToSegmentationNode(labelmap_node, seg)
        segmentation = seg.GetSegmentation()
        by_value = {value: (name, colour) for value, name, colour in labels}
        for idx in range(segmentation.GetNumberOfSegments()):
            segment = segmentation.GetNthSegment(idx)
            try:
                value = int(segment.GetLabelValue())
            except (AttributeError, TypeError, ValueError):
                value = idx + 1
            if value in by_value:
                name, colour = by_value[value]
                segment.SetName(name)
                segment.SetColor(*colour)
        return seg


class MedSegWidget(ScriptedLoadableModuleWidget):
    """The panel: input, model folder, pipeline, device, Apply/Cancel, progress, log."""

    def setup(self):
        ScriptedLoadableModuleWidget.setup(self)
        ui_widget = slicer.util.loadUI(self.resourcePath("UI/MedSeg.ui"))
        self.layout.addWidget(ui_widget)
        self.ui = slicer.util.childWidgetVariables(ui_widget)
        ui_widget.setMRMLScene(slicer.mrmlScene)
        self.logic = MedSegLogic()
        for p in PIPELINES:
            self.ui.pipelineComboBox.addItem(p)
        for d in DEVICES:
            self.ui.deviceComboBox.addItem(d)
        self.ui.applyButton.connect("clicked(bool)", self.onApply)
        self.ui.cancelButton.connect("clicked(bool)", self.onCancel)
        self.ui.cancelButton.enabled = False
        self.ui.progressBar.setValue(0)

    def onApply(self):
        try:
            self.logic.run(
                self.ui.inputSelector.currentNode(),
                self.ui.modelPathLineEdit.currentPath,
                pipeline=self.ui.pipelineComboBox.currentText,
                device=self.ui.deviceComboBox.currentText,
                step=self.ui.stepSpinBox.value,
                no_tta=self.ui.noTtaCheckBox.checked,
                parity=self.ui.parityCheckBox.checked,
                on_progress=self.onProgress,
                on_done=self.onDone,
            )
        except (ValueError, RuntimeError) as e:
            slicer.util.errorDisplay(str(e))
            return
        self.ui.applyButton.enabled = False
        self.ui.cancelButton.enabled = True
        self.ui.statusLabel.text = "Running…"

    def onCancel(self):
        self.logic.cancel()

    def onProgress(self, percent, status):
        self.ui.progressBar.setValue(int(percent))
        self.ui.statusLabel.text = status

    def onDone(self, segmentation, error):
        self.ui.applyButton.enabled = True
        self.ui.cancelButton.enabled = False
        if error:
            self.ui.statusLabel.text = "Failed"
            slicer.util.errorDisplay(f"Segmentation failed: {error}")
        elif segmentation is None:
            self.ui.statusLabel.text = "Cancelled"
        else:
            self.ui.statusLabel.text = "Done"
            self.ui.progressBar.setValue(100)


class MedSegTest(ScriptedLoadableModuleTest):
    """In-Slicer smoke test: the manifest parser and the parameter builder."""

    def runTest(self):
        self.setUp()
        assert ijk_to_lps([[1, 0, 0, 5], [0, 1, 0, 6], [0, 0, 1, 7], [0, 0, 0, 1]])[0][3] == -5
