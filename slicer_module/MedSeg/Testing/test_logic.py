"""Unit tests of the MedSeg panel logic with stub `slicer` and `vtk` modules (no Slicer needed).

Run: python slicer_module/MedSeg/Testing/test_logic.py
"""
import json
import os
import py_compile
import sys
import tempfile
import types
import unittest
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
MODULE_DIR = os.path.dirname(HERE)
ROOT = os.path.dirname(MODULE_DIR)


# ---- stubs -------------------------------------------------------------------------------
class _Base:
    def __init__(self, *a, **k):
        pass


class FakeNode:
    _n = 0

    def __init__(self, cls, name=""):
        FakeNode._n += 1
        self.cls, self.name, self.id = cls, name, f"{cls}{FakeNode._n}"

    def GetID(self):
        return self.id


class FakeSegment:
    def __init__(self, value):
        self.value, self.name, self.color = value, f"Segment_{value}", None

    def GetLabelValue(self):
        return self.value

    def SetName(self, n):
        self.name = n

    def SetColor(self, r, g, b):
        self.color = (r, g, b)


class FakeSegmentation:
    def __init__(self):
        self.segments = []

    def GetNumberOfSegments(self):
        return len(self.segments)

    def GetNthSegment(self, i):
        return self.segments[i]


class FakeSegNode(FakeNode):
    def __init__(self, name):
        super().__init__("vtkMRMLSegmentationNode", name)
        self.seg = FakeSegmentation()
        self.reference = None

    def SetReferenceImageGeometryParameterFromVolumeNode(self, v):
        self.reference = v

    def GetSegmentation(self):
        return self.seg


class FakeScene:
    def __init__(self):
        self.nodes = []

    def AddNewNodeByClass(self, cls, name=""):
        n = FakeSegNode(name) if cls == "vtkMRMLSegmentationNode" else FakeNode(cls, name)
        self.nodes.append(n)
        return n

    def RemoveNode(self, n):
        self.nodes.remove(n)


class FakeCliNode:
    StatusModifiedEvent = 1

    def __init__(self, params):
        self.params, self.busy, self.status, self.progress = params, True, "Running", 0
        self.observers, self.cancelled, self.error = {}, False, ""

    def AddObserver(self, ev, cb):
        self.observers[len(self.observers) + 1] = cb
        return len(self.observers)

    def RemoveObserver(self, tag):
        self.observers.pop(tag, None)

    def IsBusy(self):
        return self.busy

    def GetStatusString(self):
        return self.status

    def GetProgress(self):
        return self.progress

    def GetErrorText(self):
        return self.error

    def Cancel(self):
        self.cancelled = True

    def fire(self, status, progress, busy):
        self.status, self.progress, self.busy = status, progress, busy
        for cb in list(self.observers.values()):
            cb(self, self.StatusModifiedEvent)


def install_stubs():
    slicer = types.ModuleType("slicer")
    slicer.mrmlScene = FakeScene()
    slicer.cli = types.SimpleNamespace(runs=[])

    def run(module, node, params, wait_for_completion=True):
        assert wait_for_completion is False, "the panel must not block"
        n = FakeCliNode(params)
        slicer.cli.runs.append(n)
        return n

    slicer.cli.run = run
    imported = []

    class SegLogic:
        def ImportLabelmapToSegmentationNode(self, labelmap, seg):
            imported.append(labelmap)
            seg.seg.segments = [FakeSegment(1), FakeSegment(2), FakeSegment(7)]
            return True

    slicer.modules = types.SimpleNamespace(medsegcli=object(), segmentations=types.SimpleNamespace(logic=SegLogic))
    slicer.imported = imported
    slicer.util = types.SimpleNamespace()
    slm = types.ModuleType("slicer.ScriptedLoadableModule")
    for n in ("ScriptedLoadableModule", "ScriptedLoadableModuleLogic", "ScriptedLoadableModuleTest",
              "ScriptedLoadableModuleWidget"):
        setattr(slm, n, type(n, (_Base,), {}))
    slicer.ScriptedLoadableModule = slm
    sys.modules["slicer"] = slicer
    sys.modules["slicer.ScriptedLoadableModule"] = slm
    sys.modules["vtk"] = types.ModuleType("vtk")
    return slicer


slicer = install_stubs()
sys.path.insert(0, MODULE_DIR)
import MedSeg  # noqa: E402


def write_manifest(d, labels):
    with open(os.path.join(d, "medseg.json"), "w") as f:
        json.dump({"kind": "nnunet", "labels": labels}, f)


class ManifestTests(unittest.TestCase):
    def test_list_form_with_255_colours(self):
        with tempfile.TemporaryDirectory() as d:
            write_manifest(d, [{"value": 0, "name": "background"},
                               {"value": 2, "name": "kidney", "color": [0, 255, 0]},
                               {"value": 1, "name": "liver", "color": [255, 0, 0]}])
            got = MedSeg.labels_from_manifest(d)
        self.assertEqual([(v, n) for v, n, _ in got], [(1, "liver"), (2, "kidney")])
        self.assertEqual(got[0][2], (1.0, 0.0, 0.0))

    def test_dataset_json_forms(self):
        with tempfile.TemporaryDirectory() as d:
            write_manifest(d, {"background": 0, "liver": 1, "tumour": 2})
            self.assertEqual([n for _, n, _ in MedSeg.labels_from_manifest(d)], ["liver", "tumour"])
            write_manifest(d, {"0": "background", "3": "spleen"})
            self.assertEqual(MedSeg.labels_from_manifest(d)[0][:2], (3, "spleen"))

    def test_nnunet_results_folder_uses_dataset_json(self):
        # The repository's tiny nnU-Net model: a results folder without medseg.json.
        model = os.path.join(ROOT, "..", "tests", "fixtures", "nnunet", "models", "Dataset900_TinyCT",
                             "nnUNetTrainer__nnUNetPlans__3d_fullres")
        got = MedSeg.labels_from_manifest(model)
        self.assertEqual([(v, n) for v, n, _ in got], [(1, "organ_a"), (2, "organ_b")])
        with tempfile.TemporaryDirectory() as d:  # medseg.json wins over dataset.json
            write_manifest(d, [{"value": 1, "name": "liver"}])
            with open(os.path.join(d, "dataset.json"), "w") as f:
                json.dump({"labels": {"background": 0, "other": 1}}, f)
            self.assertEqual(MedSeg.labels_from_manifest(d)[0][1], "liver")

    def test_errors_name_the_file(self):
        with tempfile.TemporaryDirectory() as d:
            with self.assertRaisesRegex(ValueError, "medseg.json"):
                MedSeg.labels_from_manifest(d)
            with open(os.path.join(d, "medseg.json"), "w") as f:
                f.write("{not json")
            with self.assertRaisesRegex(ValueError, "not valid JSON"):
                MedSeg.labels_from_manifest(d)
            write_manifest(d, "oops")
            with self.assertRaisesRegex(ValueError, "list or an object"):
                MedSeg.labels_from_manifest(d)


class ParameterTests(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        write_manifest(self.tmp.name, [{"value": 1, "name": "liver"}])
        self.inp, self.out = FakeNode("vtkMRMLScalarVolumeNode"), FakeNode("vtkMRMLLabelMapVolumeNode")

    def tearDown(self):
        self.tmp.cleanup()

    def test_names_exist_in_cli_xml(self):
        xml = ET.parse(os.path.join(ROOT, "MedSegCLI", "MedSegCLI.xml")).getroot()
        names = {e.findtext("name") for e in xml.iter() if e.find("name") is not None}
        enums = {e.findtext("name"): [x.text for x in e.findall("element")]
                 for e in xml.iter("string-enumeration")}
        p = MedSeg.cli_parameters(self.inp, self.out, self.tmp.name, no_tta=True, parity=True)
        self.assertLessEqual(set(p), names)
        self.assertEqual(tuple(enums["pipeline"]), MedSeg.PIPELINES)
        self.assertEqual(tuple(enums["device"]), MedSeg.DEVICES)
        # SEM passes booleans only when true; defaults must be false.
        for b in xml.iter("boolean"):
            self.assertEqual(b.findtext("default"), "false", b.findtext("name"))

    def test_false_booleans_omitted_and_validation(self):
        p = MedSeg.cli_parameters(self.inp, self.out, self.tmp.name)
        self.assertNotIn("parity", p)
        self.assertNotIn("disableMirroring", p)
        with self.assertRaisesRegex(ValueError, "pipeline"):
            MedSeg.cli_parameters(self.inp, self.out, self.tmp.name, pipeline="x")
        with self.assertRaisesRegex(ValueError, "device"):
            MedSeg.cli_parameters(self.inp, self.out, self.tmp.name, device="tpu")
        with self.assertRaisesRegex(ValueError, "step"):
            MedSeg.cli_parameters(self.inp, self.out, self.tmp.name, step=0)
        with self.assertRaisesRegex(ValueError, "medseg.json"):
            MedSeg.cli_parameters(self.inp, self.out, "/nonexistent")


class LogicTests(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        write_manifest(self.tmp.name, [{"value": 1, "name": "liver", "color": [255, 0, 0]},
                                       {"value": 2, "name": "kidney", "color": [0, 0, 255]}])
        self.inp = FakeNode("vtkMRMLScalarVolumeNode")
        self.done, self.progress = [], []

    def tearDown(self):
        self.tmp.cleanup()

    def start(self):
        logic = MedSeg.MedSegLogic()
        node = logic.run(self.inp, self.tmp.name, on_progress=lambda p, s: self.progress.append((p, s)),
                         on_done=lambda seg, err: self.done.append((seg, err)))
        return logic, node

    def test_completed_imports_named_segments(self):
        logic, node = self.start()
        node.fire("Running", 40, True)
        self.assertEqual(self.done, [])
        node.fire("Completed", 100, False)
        (seg, err), = self.done
        self.assertIsNone(err)
        names = {s.value: (s.name, s.color) for s in seg.GetSegmentation().segments}
        self.assertEqual(names[1], ("liver", (1.0, 0.0, 0.0)))
        self.assertEqual(names[2], ("kidney", (0.0, 0.0, 1.0)))
        self.assertEqual(names[7][0], "Segment_7")  # no manifest entry: Slicer's default kept
        self.assertIs(seg.reference, self.inp)
        self.assertEqual(self.progress[0], (40, "Running"))
        # The temporary label map node is removed.
        self.assertFalse(any(n.cls == "vtkMRMLLabelMapVolumeNode" for n in slicer.mrmlScene.nodes))

    def test_cancel_and_errors(self):
        logic, node = self.start()
        with self.assertRaisesRegex(RuntimeError, "already running"):
            logic.run(self.inp, self.tmp.name)
        logic.cancel()
        self.assertTrue(node.cancelled)
        node.fire("Cancelled", 10, False)
        self.assertEqual(self.done, [(None, None)])
        logic, node = self.start()
        node.error = "model.onnx: input rank 4, manifest says 5"
        node.fire("Completed with errors", 100, False)
        self.assertEqual(self.done[-1], (None, "model.onnx: input rank 4, manifest says 5"))

    def test_ijk_to_lps(self):
        m = MedSeg.ijk_to_lps([[1, 0, 0, 5], [0, 2, 0, 6], [0, 0, 3, 7], [0, 0, 0, 1]])
        self.assertEqual(m[0], [-1, 0, 0, -5])
        self.assertEqual(m[1], [0, -2, 0, -6])
        self.assertEqual(m[2], [0, 0, 3, 7])


class FileTests(unittest.TestCase):
    def test_ui_has_every_widget_the_panel_uses(self):
        ui = ET.parse(os.path.join(MODULE_DIR, "Resources", "UI", "MedSeg.ui")).getroot()
        names = {w.get("name") for w in ui.iter("widget")}
        with open(os.path.join(MODULE_DIR, "MedSeg.py"), encoding="utf-8") as f:
            src = f.read()
        import re
        used = set(re.findall(r"self\.ui\.(\w+)", src))
        self.assertTrue(used)
        self.assertLessEqual(used, names, f"missing in .ui: {used - names}")

    def test_every_python_file_compiles(self):
        for dirpath, _, files in os.walk(ROOT):
            for f in files:
                if f.endswith(".py"):
                    py_compile.compile(os.path.join(dirpath, f), doraise=True)


if __name__ == "__main__":
    unittest.main(verbosity=1)
