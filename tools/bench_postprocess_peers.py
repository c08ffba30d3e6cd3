#!/usr/bin/env python3
"""Paired timing of medseg's processing CLI against the peer tools of ../shared/bench.

The seven rows of issue 4 item 8: 26-connected components, largest component, small-component
removal, hole filling, Dice + HD95 + NSD, linear resampling of the CT to 1 mm and reorientation of
the CT to RAS. For every row and every repetition the peers and `medseg` run one after the other
on the same inputs (peer A, peer B, medseg, peer A, ...), so that all tools of a row see the same
machine state. Printed per row: the median inner operation time (`op_ms` of each tool's BENCH
line; medseg prints it when MEDSEG_BENCH is set), the median whole-process wall time, the best
peer (smallest inner median) and the ratios medseg / best peer, plus the load average before and
after the row. Peers do not write their result; medseg writes its output file (to tmpfs), so its
wall includes a save the peers' does not.

    BENCH_DATA=/dev/shm/bench python gen_data.py --only ct,labels,seg   # in ../shared/bench
    BENCH_DATA=/dev/shm/bench <peer venv>/bin/python tools/bench_postprocess_peers.py \\
        --medseg target/release/medseg --bench ../shared/bench -n 5 [-k REGEX] [--json out.json]
"""
import argparse
import json
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


def load():
    return os.getloadavg()[0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--medseg", required=True)
    ap.add_argument("--bench", default="../shared/bench")
    ap.add_argument("-n", type=int, default=5)
    ap.add_argument("-k", default="", help="regex on the operation name")
    ap.add_argument("--json", help="also write the raw samples here")
    a = ap.parse_args()
    data = os.environ.get("BENCH_DATA", "/dev/shm/bench")
    tmp = os.path.join(data, "tmp")
    os.makedirs(tmp, exist_ok=True)
    py = sys.executable
    peers = os.path.join(a.bench, "peers")
    env = dict(os.environ, BENCH_CHECK="0", MEDSEG_BENCH="1", BENCH_DATA=data)
    lab, ct = f"{data}/labels.nii", f"{data}/ct.nii"
    gt, pr = f"{data}/seg_gt.nii", f"{data}/seg_pred.nii"
    ms = a.medseg

    def peer(script, *args):
        return [py, f"{peers}/{script}", *args]

    # (operation, [(peer name, argv)], medseg argv)
    rows = [
        ("cc26", [("cc3d", peer("cc3d_peer.py", "cc", lab)),
                  ("sitk", peer("sitk_peer.py", "cc", lab))],
         [ms, "components", lab, f"{tmp}/m_cc.nii", "--binary"]),
        ("largest_cc", [("sitk", peer("sitk_peer.py", "largest", lab)),
                        ("cc3d", peer("cc3d_peer.py", "largest", lab))],
         [ms, "largest", lab, f"{tmp}/m_l.nii"]),
        ("dust_lt1000", [("sitk", peer("sitk_peer.py", "dust", lab, "1000")),
                         ("cc3d", peer("cc3d_peer.py", "dust", lab, "1000"))],
         [ms, "remove-small", lab, f"{tmp}/m_d.nii", "--min-voxels", "1000"]),
        ("fill_holes", [("fill_voids", peer("fillvoids_peer.py", "fill", lab))],
         [ms, "fill-holes", lab, f"{tmp}/m_f.nii"]),
        ("metrics_dice_hd95_nsd2",
         [("scipy", peer("scipy_peer.py", "metrics", gt, pr, "2.0")),
          ("surface_distance", peer("surfdist_peer.py", "metrics", gt, pr, "2.0"))],
         [ms, "metrics", "--gt", gt, "--pred", pr, "--tolerance", "2"]),
        ("resample_ct_linear_1mm", [("sitk", peer("sitk_peer.py", "resample", ct, "linear", "1.0"))],
         [ms, "resample", ct, f"{tmp}/m_rs.nii", "--spacing", "1"]),
        ("reorient_ct_ras", [("sitk", peer("sitk_peer.py", "reorient", ct, "RAS")),
                             ("nibabel", peer("nibabel_peer.py", "reorient", ct))],
         [ms, "reorient", ct, f"{tmp}/m_ro.nii", "--to", "RAS"]),
    ]
    med = statistics.median
    out = []
    print(f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, n={a.n} pairs per tool")
    print("| operation | best peer | peer inner ms | medseg inner ms | inner ratio | peer wall s "
          "| medseg wall s | wall ratio | other peers (inner ms) | load before/after |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---|---|")
    for op, peer_list, mine in rows:
        if a.k and not re.search(a.k, op):
            continue
        l0 = load()
        # warm-up (not counted)
        for _, argv in peer_list:
            run(argv, env)
        run(mine, env)
        samples = {name: ([], []) for name, _ in peer_list}
        samples["medseg"] = ([], [])
        for _ in range(a.n):
            for name, argv in peer_list + [("medseg", mine)]:
                w, i = run(argv, env)
                samples[name][0].append(w)
                samples[name][1].append(i)
        l1 = load()
        inner = {n: med(s[1]) for n, s in samples.items()}
        wall = {n: med(s[0]) for n, s in samples.items()}
        best = min((n for n, _ in peer_list), key=lambda n: inner[n])
        best_wall = min(wall[n] for n, _ in peer_list)
        others = ", ".join(f"{n} {inner[n]:.0f}" for n, _ in peer_list if n != best) or "-"
        print(f"| {op} | {best} | {inner[best]:.0f} | {inner['medseg']:.0f} "
              f"| {inner['medseg'] / inner[best]:.2f} | {best_wall:.3f} | {wall['medseg']:.3f} "
              f"| {wall['medseg'] / best_wall:.2f} | {others} | {l0:.1f} / {l1:.1f} |")
        sys.stdout.flush()
        out.append({"op": op, "samples": samples, "load": [l0, l1]})
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
