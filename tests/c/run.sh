#!/usr/bin/env bash
# Builds the medseg static library, compiles the C API tests per area (C11, -Wall -Wextra
# -Wpedantic -Werror, AddressSanitizer + UndefinedBehaviorSanitizer):
#   test_api (images, status names, panic boundary), test_processing, test_spine, test_model
#   (incl. 8 threads sharing one model handle), test_callbacks (progress, cancel, log),
#   test_sam (LiteMedSAM sessions: 2D and 3D box prompts on the oracle CT case, cancel, bad
#   arguments, 2 threads sharing one model handle),
# the C++ include test and the medseg.hpp tests (C++, same warnings and sanitizers), then a
# separate build without sanitizers of test_processing, test_model and test_sam (short runs)
# run under valgrind
# (--error-exitcode=1 --leak-check=full, suppressions in tests/c/valgrind.supp), and prints
# "N passed, N failed" (test cases plus compile steps). Exit status non-zero on any failure.
#
# The model tests use the nnU-Net oracle model in tests/fixtures/nnunet and the project's ONNX
# Runtime (third_party/onnxruntime/lib, installed by tools/setup_ort.sh) via MEDSEG_ORT_DYLIB.
# The SAM tests use models/litemedsam (made by tools/setup.sh) and the oracle case in
# tests/fixtures/sam/litemedsam.
#
# Environment: MEDSEG_LIB (static library to link; default target/debug/libmedseg.a, built with
# `cargo build --lib`), MEDSEG_SKIP_CARGO=1 (do not run cargo), CC / CXX (default gcc / g++),
# MEDSEG_ORT_DYLIB (default: third_party/onnxruntime/lib/libonnxruntime.so.1.*),
# MEDSEG_SKIP_VALGRIND=1 (skip the valgrind runs, e.g. for a quick local check).
set -u
cd "$(dirname "$0")/../.."
root=$PWD
build=$root/tests/c/build
mkdir -p "$build"
CC=${CC:-gcc}
CXX=${CXX:-g++}
lib=${MEDSEG_LIB:-$root/target/debug/libmedseg.a}
passed=0
failed=0

fail() { echo "FAIL: $*"; failed=$((failed + 1)); }

if [ "${MEDSEG_SKIP_CARGO:-0}" != 1 ]; then
    if ! cargo build --lib --quiet; then
        fail "cargo build --lib"
        echo "$passed passed, $failed failed"
        exit 1
    fi
fi
if [ ! -f "$lib" ]; then
    fail "static library $lib not found"
    echo "$passed passed, $failed failed"
    exit 1
fi

san=(-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -g)
libs=(-lpthread -ldl -lm -lrt)
model_dir=$root/tests/fixtures/nnunet/models/Dataset900_TinyCT/nnUNetTrainer__nnUNetPlans__3d_fullres
sam_dir=$root/models/litemedsam
sam_fixtures=$root/tests/fixtures/sam/litemedsam
if [ -z "${MEDSEG_ORT_DYLIB:-}" ]; then
    for f in "$root"/third_party/onnxruntime/lib/libonnxruntime.so.1.*; do
        [ -f "$f" ] && MEDSEG_ORT_DYLIB=$f
    done
fi
if [ -z "${MEDSEG_ORT_DYLIB:-}" ]; then
    fail "ONNX Runtime not found in third_party/onnxruntime/lib (run tools/setup_ort.sh)"
fi
export MEDSEG_ORT_DYLIB
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# Runs a test binary; adds its RESULT line's counts (a crash or missing line counts as a failure).
run_test() {
    local name=$1
    shift
    local out
    out=$("$@" 2>&1)
    local rc=$?
    printf '%s\n' "$out" | grep -v '^RESULT '
    local line
    line=$(printf '%s\n' "$out" | grep '^RESULT ' | tail -n 1)
    if [ -z "$line" ]; then
        fail "$name exited with status $rc and no RESULT line"
        return
    fi
    local p f
    p=$(printf '%s' "$line" | sed -n 's/.*passed=\([0-9]*\).*/\1/p')
    f=$(printf '%s' "$line" | sed -n 's/.*failed=\([0-9]*\).*/\1/p')
    passed=$((passed + p))
    failed=$((failed + f))
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        fail "$name exited with status $rc"
    fi
}

# compile LANG_COMPILER STD SOURCE OUTPUT [flags...]: counts the compile step.
compile() {
    local cc=$1 std=$2 src=$3 out=$4
    shift 4
    if "$cc" "$std" -Wall -Wextra -Wpedantic -Werror "$@" -I"$root/include" \
        "$root/tests/c/$src" "$lib" "${libs[@]}" -o "$out"; then
        passed=$((passed + 1))
        return 0
    fi
    fail "compile tests/c/$src ($*)"
    return 1
}

compile "$CC" -std=c11 test_api.c "$build/test_api" "${san[@]}" &&
    run_test test_api "$build/test_api" "$root/tests/fixtures/ffi"
compile "$CC" -std=c11 test_processing.c "$build/test_processing" "${san[@]}" &&
    run_test test_processing "$build/test_processing"
compile "$CC" -std=c11 test_spine.c "$build/test_spine" "${san[@]}" &&
    run_test test_spine "$build/test_spine" "$root/tests/fixtures/spine"
compile "$CC" -std=c11 test_model.c "$build/test_model" "${san[@]}" &&
    run_test test_model "$build/test_model" "$model_dir" 8
compile "$CC" -std=c11 test_callbacks.c "$build/test_callbacks" "${san[@]}" &&
    run_test test_callbacks "$build/test_callbacks" "$model_dir"
compile "$CC" -std=c11 test_sam.c "$build/test_sam" "${san[@]}" &&
    run_test test_sam "$build/test_sam" "$sam_dir" "$sam_fixtures"
compile "$CXX" -std=c++17 test_header.cpp "$build/test_header" "${san[@]}" &&
    run_test test_header "$build/test_header"
compile "$CXX" -std=c++14 test_cpp.cpp "$build/test_cpp" "${san[@]}" &&
    run_test test_cpp "$build/test_cpp" "$model_dir" "$sam_dir"

# Valgrind: a separate build without sanitizers. tests/c/valgrind.supp suppresses only reports
# from the dynamic loader (glibc's ld.so while dlopen-ing ONNX Runtime) and from inside ONNX
# Runtime itself; medseg and the tests are fully checked.
if [ "${MEDSEG_SKIP_VALGRIND:-0}" = 1 ]; then
    echo "valgrind runs skipped (MEDSEG_SKIP_VALGRIND=1)"
elif ! command -v valgrind >/dev/null 2>&1; then
    fail "valgrind is not installed (apt-get install valgrind)"
else
    vg=(valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect
        --show-leak-kinds=definite,indirect
        --suppressions="$root/tests/c/valgrind.supp" --quiet)
    mkdir -p "$build/vg"
    compile "$CC" -std=c11 test_processing.c "$build/vg/test_processing" -g -O1 &&
        run_test valgrind_test_processing "${vg[@]}" "$build/vg/test_processing"
    compile "$CC" -std=c11 test_model.c "$build/vg/test_model" -g -O1 &&
        run_test valgrind_test_model "${vg[@]}" "$build/vg/test_model" "$model_dir" 0
    compile "$CC" -std=c11 test_sam.c "$build/vg/test_sam" -g -O1 &&
        run_test valgrind_test_sam "${vg[@]}" "$build/vg/test_sam" "$sam_dir" "$sam_fixtures" short
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
