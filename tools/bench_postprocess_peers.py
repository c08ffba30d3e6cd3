#!/usr/bin/env python3
"""Paired timing of medseg's post-processing CLI against the peer tools of ../shared/bench.

Runs, alternately (A-B-A-B), the peer script and `medseg` on the same inputs and prints medians of
the inner operation time (`op_ms` from each tool's BENCH line; medseg prints it when MEDSEG_BENCH
is set) and of the whole-process wall time. Peers do not write their result; medseg always writes
its output file (to tmpfs), so its wall includes a save the peers' does not.

    BENCH_DATA=/dev/shm/bench python gen_data.py --only labels,seg      # in ../shared/bench
    BENCH_DATA=/dev/shm/bench <peer venv>/bin/python tools/bench_postprocess_peers.py \
        --medseg target/release/medseg --bench ../shared/bench -n 5
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import time


def run(argv, env):
    t = time.perf_counter()
    p = subprocess.run(argv, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t
    if p.returncode != 0:
        sys.exit(f"failed: {' '.join(argv)}\n{p.stderr[-2000:]}")
    m = re.search(r"op_ms=([0-9.]+)", p.stdout + p.stderr)
    return wall, float(m.group(1)) if m else float("nan")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--medseg", required=True)
    ap.add_argument("--bench", default="../shared/bench")
    ap.add_argument("-n", type=int, default=5)
    ap.add_argument("-k", default="", help="regex on the operation name")
    a = ap.parse_args()
    data = os.environ.get("BENCH_DATA", "/dev/shm/bench")
    tmp = os.path.join(data, "tmp")
    os.makedirs(tmp, exist_ok=True)
    py = sys.executable
    peers = os.path.join(a.bench, "peers")
    env = dict(os.environ, BENCH_CHECK="0", MEDSEG_BENCH="1", BENCH_DATA=data)
    lab = f"{data}/labels.nii"
    gt, pr = f"{data}/seg_gt.nii", f"{data}/seg_pred.nii"
    ms = a.medseg
    rows = [
        ("cc26", "cc3d", [py, f"{peers}/cc3d_peer.py", "cc", lab],
         [ms, "components", lab, f"{tmp}/m_cc.nii", "--binary"]),
        ("cc26", "sitk", [py, f"{peers}/sitk_peer.py", "cc", lab], None),
        ("largest_cc", "sitk", [py, f"{peers}/sitk_peer.py", "largest", lab],
         [ms, "largest", lab, f"{tmp}/m_l.nii"]),
        ("largest_cc", "cc3d", [py, f"{peers}/cc3d_peer.py", "largest", lab], None),
        ("dust_lt1000", "sitk", [py, f"{peers}/sitk_peer.py", "dust", lab, "1000"],
         [ms, "remove-small", lab, f"{tmp}/m_d.nii", "--min-voxels", "1000"]),
        ("fill_holes", "fill_voids", [py, f"{peers}/fillvoids_peer.py", "fill", lab],
         [ms, "fill-holes", lab, f"{tmp}/m_f.nii"]),
        ("metrics_dice_hd95_nsd2", "scipy", [py, f"{peers}/scipy_peer.py", "metrics", gt, pr, "2.0"],
         [ms, "metrics", "--gt", gt, "--pred", pr, "--tolerance", "2"]),
        ("metrics_dice_hd95_nsd2", "surface_distance",
         [py, f"{peers}/surfdist_peer.py", "metrics", gt, pr, "2.0"], None),
    ]
    print("| operation | tool | inner op ms (median) | wall s (median) | medseg inner ms | medseg wall s | inner ratio medseg/peer |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for op, tool, peer, mine in rows:
        if a.k and not re.search(a.k, op):
            continue
        run(peer, env)
        if mine:
            run(mine, env)
        pw, pi, mw, mi = [], [], [], []
        for _ in range(a.n):
            w, i = run(peer, env)
            pw.append(w)
            pi.append(i)
            if mine:
                w, i = run(mine, env)
                mw.append(w)
                mi.append(i)
        med = statistics.median
        if mine:
            print(f"| {op} | {tool} | {med(pi):.0f} | {med(pw):.3f} | {med(mi):.0f} | {med(mw):.3f} | {med(mi) / med(pi):.2f} |")
        else:
            print(f"| {op} | {tool} | {med(pi):.0f} | {med(pw):.3f} | | | |")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
