#!/usr/bin/env bash
# MedSegCLI end to end on NRRD: progress protocol, output grid, labels = `medseg predict`.
# usage: cli_predict.sh MEDSEGCLI MEDSEG ITK_TOOL MODEL INPUT WORKDIR
set -euo pipefail
cli=$1 medseg=$2 tool=$3 model=$4 input=$5 work=$6
rm -rf "$work" && mkdir -p "$work"
fail() { echo "FAIL $*"; exit 1; }

"$medseg" predict --quiet --device cpu --model "$model" "$input" "$work/reference.nrrd"

# As Slicer calls it: flags, then the two positional images; Slicer's extra flags are ignored.
"$cli" --pipeline nnunet --model "$model" --device cpu --threads 2 --step 0.5 \
  --processinformationaddress 0x0 --returnparameterfile "$work/params.txt" \
  "$input" "$work/labels.nrrd" >"$work/stdout.txt"
out=$(cat "$work/stdout.txt")
grep -q '^<filter-start>$' <<<"$out" || fail "no <filter-start>"
grep -q '^<filter-name>MedSeg</filter-name>$' <<<"$out" || fail "no <filter-name>"
grep -q '^<filter-end>$' <<<"$out" || fail "no <filter-end>"
n=$(grep -c '^<filter-progress>[01]\.[0-9]*</filter-progress>$' <<<"$out" || true)
((n >= 3)) || fail "only $n <filter-progress> lines"
last=$(grep '^<filter-progress>' <<<"$out" | tail -1)
[[ $last == '<filter-progress>1.0000</filter-progress>' ]] || fail "last progress line: $last"
# Progress lines are monotone.
grep -o '[01]\.[0-9]*' <<<"$(grep '^<filter-progress>' <<<"$out")" | sort -c -g || fail "progress not monotone"
echo "ok   progress protocol: $n <filter-progress> lines, ending at 1"
"$tool" compare "$work/labels.nrrd" "$work/reference.nrrd" "$input"
ls -A "$work" | grep -q '^\.medsegcli-' && fail "temporary file left behind"

# Failures: non-zero exit, message on stderr, no output file.
set +e
"$cli" --model "$work/no-such-model" --device cpu "$input" "$work/bad.nrrd" 2>"$work/err.txt"; rc=$?
set -e
((rc == 3)) || fail "missing model: exit $rc (want 3)"
[[ -e $work/bad.nrrd ]] && fail "missing model: output written"
grep -q 'no-such-model' "$work/err.txt" || fail "missing model: message does not name the folder: $(cat "$work/err.txt")"
set +e
"$cli" --pipeline nope --model "$model" "$input" "$work/bad.nrrd" 2>/dev/null; rc=$?
"$cli" --model "$model" "$work/missing.nrrd" "$work/bad.nrrd" 2>/dev/null; rc2=$?
set -e
((rc == 1 && rc2 == 1)) || fail "bad pipeline / missing input: exits $rc, $rc2 (want 1, 1)"
echo "ok   failures exit non-zero without output"
