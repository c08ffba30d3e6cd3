#!/usr/bin/env bash
# Copy the small TotalSpineSeg oracle files the spine tests need into tests/fixtures/spine/ and
# regenerate the golden manifest (hashes of every reference stage output).
# Usage: tools/spine_fixtures.sh [ORACLE_OUT_DIR]   (default ../shared/oracles/totalspineseg/out)
set -euo pipefail
ORACLE=${1:-../shared/oracles/totalspineseg/out}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DST=$ROOT/tests/fixtures/spine
CASES="cervical lumbar cervical_missing_disc thoracic thoracic_with_localizer"
for c in $CASES; do
  mkdir -p "$DST/$c"
  cp "$ORACLE/$c/step1_raw/$c.nii.gz" "$DST/$c/step1_raw.nii.gz"
  for s in step1_largest step1_iterlabel step1_fillcanal step1_output step1_levels \
           step2_raw step2_largest step2_iterlabel step2_fillcanal step2_output; do
    if [ -f "$ORACLE/$c/ref/$s/$c.nii.gz" ]; then cp "$ORACLE/$c/ref/$s/$c.nii.gz" "$DST/$c/$s.nii.gz"; fi
  done
  if [ -f "$ORACLE/$c/ref/step1_output/$c.nii.gz" ]; then cp "$ORACLE/$c/step1_raw/$c.npz" "$DST/$c/step1_raw.npz"; fi
  if [ -d "$ORACLE/$c/ref/localizers" ]; then cp "$ORACLE/$c/ref/localizers/$c.nii.gz" "$DST/$c/localizer.nii.gz"; fi
  chmod 644 "$DST/$c"/*
done
cd "$ROOT"
SPINE_ORACLE="$ORACLE" cargo test --release --test spine -- --ignored --exact regenerate_manifest --nocapture
du -sh "$DST"
