#!/usr/bin/env bash
# Time the whole non-neural TotalSpineSeg chain (postprocess-step1 + step-2 raw crop +
# postprocess-step2) on a whole-spine case with /usr/bin/time -v (wall time, peak RSS).
# Usage: tools/bench_spine.sh CASE_DIR [MEDSEG_BINARY]
# CASE_DIR: a make_case.py --preset wholespine folder (input/, input_raw/, step1_raw/ with .npz,
# step2_raw_full/). The case is copied to a scratch folder first ($TMPDIR, e.g. TMPDIR=/dev/shm
# to keep disk speed out of it); the original is not touched. Per-stage times (in-process):
# SPINE_BENCH_CASE=CASE_DIR cargo test --release --test spine -- --ignored --nocapture stage_timings
set -euo pipefail
SRC=$1
BIN=${2:-target/release/medseg}
NAME=$(basename "$SRC")
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
mkdir -p "$W/$NAME"
cp -r "$SRC"/input "$SRC"/input_raw "$SRC"/step1_raw "$SRC"/step2_raw_full "$W/$NAME/"
C=$W/$NAME
/usr/bin/time -v "$BIN" spine postprocess-step1 "$C" 2> "$W/t1" >/dev/null
# nnU-Net step 2 stand-in: the fake step-2 output cropped like the step-2 input.
mkdir -p "$C/step2_raw"
"$BIN" spine crop-to-seg "$C/step2_raw_full/$NAME.nii.gz" "$C/step2_raw/$NAME.nii.gz" --seg "$C/step1_output/$NAME.nii.gz" --margin 10
/usr/bin/time -v "$BIN" spine postprocess-step2 "$C" 2> "$W/t2" >/dev/null
echo "load: $(uptime | sed 's/.*load average: //') ($(nproc) cores)"
for s in 1 2; do
  echo "postprocess-step$s: $(grep Elapsed "$W/t$s" | awk '{print $NF}') wall, $(grep Maximum "$W/t$s" | awk '{print $NF}') kB peak RSS"
done
