#!/usr/bin/env bash
# The demo's real CT: TotalSegmentator's head CT atlas (skull-stripped, 1 mm, int16 HU), from the
# PyPI wheel totalsegmentator==2.18.0 (Apache-2.0), member
# totalsegmentator/resources/ct_brain_atlas_1mm.nii.gz, checked against its SHA-256, into
# data/demo/ (ignored by git). Idempotent. MEDSEG_WHEEL_DIR: a folder that already holds the wheel.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=data/demo/ct_brain_atlas_1mm.nii.gz
SHA=e6964149f62ae88b9973cec43ed80974368a24c922ff8b62d946e7c855eae265
WHEEL=totalsegmentator-2.18.0-py3-none-any.whl
MEMBER=totalsegmentator/resources/ct_brain_atlas_1mm.nii.gz
if [[ -f $OUT ]] && [[ $(sha256sum "$OUT" | cut -d' ' -f1) == "$SHA" ]]; then
  echo "demo CT already set up: $OUT"
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [[ -n ${MEDSEG_WHEEL_DIR:-} && -f ${MEDSEG_WHEEL_DIR}/$WHEEL ]]; then
  cp "${MEDSEG_WHEEL_DIR}/$WHEEL" "$tmp/"
else
  python3 -m pip download --quiet --no-deps --disable-pip-version-check totalsegmentator==2.18.0 -d "$tmp"
fi
python3 - "$tmp/$WHEEL" "$MEMBER" "$tmp/ct.nii.gz" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as src, open(sys.argv[3], "wb") as dst:
    dst.write(src.read())
PY
got=$(sha256sum "$tmp/ct.nii.gz" | cut -d' ' -f1)
if [[ $got != "$SHA" ]]; then
  echo "setup_demo_data: $MEMBER has SHA-256 $got, expected $SHA; refusing it" >&2
  exit 1
fi
mkdir -p "$(dirname "$OUT")"
mv "$tmp/ct.nii.gz" "$OUT"
echo "demo CT installed: $OUT"
