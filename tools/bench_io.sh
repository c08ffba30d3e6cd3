#!/usr/bin/env bash
# NIfTI I/O: medseg vs SimpleITK vs nibabel on the shared bench CT (512×512×300 int16).
#
#   tools/bench_io.sh [ROUNDS]     (default 7)
#
# Needs: a release build (cargo build --release --bin medseg), the peer venv (.venv with numpy,
# nibabel, SimpleITK), and the CT inputs in $BENCH_DATA (default /dev/shm/bench), made with
#   BENCH_DATA=/dev/shm/bench .venv/bin/python ../shared/bench/gen_data.py --only ct
# Whole processes are timed, alternating the tools in every round (A/B/C, A/B/C, …); the
# medians of the rounds after one warm-up are printed, with the peers' own inner op times.
# medseg "read" is `medseg info` (read + min/max/mean over all voxels, so it does more work than
# the peers' read); "write" is `medseg convert ct.nii out.nii.gz` (read .nii + write .nii.gz),
# the peers' write_niigz (read .nii + write .nii.gz).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-7}
DATA=${BENCH_DATA:-/dev/shm/bench}
PEERS=${BENCH_PEERS:-../shared/bench/peers}
PY=${BENCH_PY:-.venv/bin/python}
BIN=${MEDSEG_BIN:-target/release/medseg}
[[ -x $BIN ]] || { echo "build first: cargo build --release --bin medseg" >&2; exit 1; }
[[ -f $DATA/ct.nii.gz && -f $DATA/ct.nii ]] || { echo "no CT inputs in $DATA (see the header of this script)" >&2; exit 1; }
mkdir -p "$DATA/tmp"
BENCH_CHECK=0 "$PY" - "$ROUNDS" "$DATA" "$PEERS" "$PY" "$BIN" <<'PY'
import os, re, statistics, subprocess, sys, time
rounds, data, peers, py, binary = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
tmp = f"{data}/tmp"
cases = {
    "read ct.nii.gz": {
        "medseg": [binary, "info", f"{data}/ct.nii.gz"],
        "sitk": [py, f"{peers}/sitk_peer.py", "read", f"{data}/ct.nii.gz"],
        "nibabel": [py, f"{peers}/nibabel_peer.py", "read", f"{data}/ct.nii.gz"],
    },
    "read ct.nii": {
        "medseg": [binary, "info", f"{data}/ct.nii"],
        "sitk": [py, f"{peers}/sitk_peer.py", "read", f"{data}/ct.nii"],
        "nibabel": [py, f"{peers}/nibabel_peer.py", "read", f"{data}/ct.nii"],
    },
    "write ct.nii.gz": {
        "medseg": [binary, "convert", f"{data}/ct.nii", f"{tmp}/medseg_ct.nii.gz"],
        "sitk": [py, f"{peers}/sitk_peer.py", "write_niigz", f"{data}/ct.nii", f"{tmp}/sitk_ct.nii.gz"],
        "nibabel": [py, f"{peers}/nibabel_peer.py", "write_niigz", f"{data}/ct.nii", f"{tmp}/nibabel_ct.nii.gz"],
    },
}
env = dict(os.environ, BENCH_CHECK="0", BENCH_DATA=data)
print(f"{os.cpu_count()} CPUs, {rounds} rounds after 1 warm-up, medians of whole-process wall time")
for case, tools in cases.items():
    walls = {t: [] for t in tools}
    inner = {t: [] for t in tools}
    for r in range(rounds + 1):
        for t, argv in tools.items():
            t0 = time.perf_counter()
            p = subprocess.run(argv, capture_output=True, text=True, env=env)
            dt = time.perf_counter() - t0
            if p.returncode != 0:
                sys.exit(f"{case}/{t} failed: {p.stderr[-400:]}")
            if r == 0:
                continue
            walls[t].append(dt)
            m = re.search(r"op_ms=([0-9.]+)", p.stdout)
            if m:
                inner[t].append(float(m.group(1)) / 1e3)
    best_peer = min(statistics.median(walls[t]) for t in tools if t != "medseg")
    for t in tools:
        w = statistics.median(walls[t])
        i = f", inner {statistics.median(inner[t]):.3f} s" if inner[t] else ""
        ratio = f"  ({w / best_peer:.2f}× best peer)" if t == "medseg" else ""
        print(f"{case:16s} {t:8s} {w:.3f} s{i}{ratio}")
    for t in tools:
        out = next((a for a in tools[t] if a.startswith(tmp)), None)
        if out and os.path.exists(out):
            print(f"{'':16s} {t:8s} output {os.path.getsize(out) / 1e6:.1f} MB")
PY
