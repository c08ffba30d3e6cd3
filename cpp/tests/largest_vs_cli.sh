#!/usr/bin/env bash
# MedSegLargestComponentImageFilter (through ITK's reader/writer) = `medseg largest`.
# usage: largest_vs_cli.sh ITK_TOOL MEDSEG INPUT WORKDIR
set -euo pipefail
tool=$1 medseg=$2 input=$3 work=$4
rm -rf "$work" && mkdir -p "$work"
"$medseg" largest "$input" "$work/cli.nrrd"
"$tool" largest "$input" "$work/itk.nrrd"
"$tool" compare "$work/itk.nrrd" "$work/cli.nrrd" "$input"
# The comparison must be able to fail: the input itself differs from its largest component.
if "$tool" compare "$input" "$work/cli.nrrd" >/dev/null; then
  echo "FAIL the comparison did not see the removed components"; exit 1
fi
echo "ok   ITK filter output = medseg largest output"
