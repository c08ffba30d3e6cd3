"""Runs the Slicer panel's logic tests (stub slicer/vtk modules; no Slicer needed)."""
import os
import runpy
import sys

here = os.path.dirname(os.path.abspath(__file__))
test = os.path.join(here, "..", "..", "slicer_module", "MedSeg", "Testing", "test_logic.py")
sys.argv = [test]
sys.dont_write_bytecode = True
runpy.run_path(test, run_name="__main__")
