"""MedSegCLI --xml: starts with <?xml, equals the XML file byte for byte, is well-formed, and
declares the parameters the Slicer panel passes (slicer_module/MedSeg/MedSeg.py).

usage: check_cli_xml.py MEDSEGCLI XMLFILE
"""
import subprocess
import sys
import xml.etree.ElementTree as ET

cli, xml_file = sys.argv[1], sys.argv[2]
out = subprocess.run([cli, "--xml"], check=True, capture_output=True, timeout=5).stdout
want = open(xml_file, "rb").read()
assert out.startswith(b"<?xml"), out[:40]
assert out == want, "--xml output differs from " + xml_file
root = ET.fromstring(out)
assert root.tag == "executable", root.tag
names = {p.findtext("name"): p for group in root.findall("parameters") for p in group}
for name in ("inputVolume", "outputLabelMap", "modelDirectory", "pipeline", "device", "stepSize",
             "disableMirroring", "parity", "threads"):
    assert name in names, f"parameter {name} missing"
assert names["inputVolume"].findtext("index") == "0" and names["outputLabelMap"].findtext("index") == "1"
assert names["outputLabelMap"].get("type") == "label"
for flag in ("model", "pipeline", "device", "step", "no-tta", "parity", "threads"):
    assert any(p.findtext("longflag") == flag for p in names.values()), f"--{flag} not declared"
# Booleans must default to false (Slicer can only switch them on).
for p in names.values():
    if p.tag == "boolean":
        assert p.findtext("default") == "false", p.findtext("name")
print(f"ok   {cli} --xml: {len(out)} bytes, equal to {xml_file}, {len(names)} parameters")
