#!/usr/bin/env bash
# `make bench`: criterion benchmarks of the library (I/O, preprocessing, post-processing).
# Peer comparisons on ../shared/bench inputs are separate scripts (they need the peer venv and
# generated inputs): tools/bench_io.sh, tools/bench_dicom.py, tools/bench_postprocess_peers.py,
# tools/bench_predict.sh + tools/bench_nnunet.py, tools/bench_spine.sh. Results: docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo bench --bench io --bench process --bench postprocess "$@"
