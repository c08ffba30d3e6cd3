#!/usr/bin/env bash
# Benchmark `medseg predict` on the nnU-Net oracle's ct case (2 folds x 8 mirrors x 6 tiles of 64^3).
# Reports medseg's total wall time, the time spent inside ONNX Runtime's Session::run for the same
# tiles (raw ORT), their ratio, and the ratio to nnU-Net's own predictor (timings.json of the oracle,
# or NNUNET_SECONDS=... measured with ../shared/oracles/nnunet/run_oracle.py on this machine).
#
#   tools/bench_predict.sh [ORACLE_OUT]      (default ../shared/oracles/nnunet/out)
# Environment: THREADS (ORT intra-op threads, default 2), BATCH (inputs per ORT call, default 1),
#              EXTRA (more predict flags, e.g. "--no-tta").
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
oracle="${1:-$root/../shared/oracles/nnunet/out}"
threads="${THREADS:-2}"
batch="${BATCH:-1}"
cd "$root"
tools/setup_ort.sh >/dev/null
cargo build --release --bin medseg >/dev/null 2>&1 || cargo build --release --bin medseg
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
model="$oracle/models/Dataset900_TinyCT/nnUNetTrainer__nnUNetPlans__3d_fullres"
input="$oracle/cases/ct/input/ct_0000.nii.gz"
start=$(date +%s.%N)
line="$(target/release/medseg predict --quiet --parity --threads "$threads" --batch "$batch" ${EXTRA:-} \
    --model "$model" "$input" "$out/ct.nii.gz")"
end=$(date +%s.%N)
echo "$line"
total=$(python3 -c "print(f'{$end - $start:.2f}')")
ort=$(echo "$line" | sed -n 's/.*ONNX Runtime \([0-9.]*\) s.*/\1/p')
nnunet="${NNUNET_SECONDS:-$(python3 -c "import json;print(json.load(open('$oracle/timings.json'))['ct']['predict_from_files_sequential_end_to_end'])")}"
python3 - "$total" "$ort" "$nnunet" "$threads" "$batch" <<'PY'
import sys
total, ort, nn, threads, batch = map(float, sys.argv[1:6])
print(f"threads {int(threads)}, batch {int(batch)}")
print(f"medseg total (process wall) {total:.2f} s")
print(f"raw ORT Session::run        {ort:.2f} s   ratio medseg/ORT   {total/ort:.3f}  (goal <= 1.1)")
print(f"nnU-Net predictor           {nn:.2f} s   ratio medseg/nnU-Net {total/nn:.3f}  (goal <= 0.35)")
PY
