#!/usr/bin/env bash
# Builds the medseg static library, compiles the C API tests (C11, -Wall -Wextra -Wpedantic
# -Werror, AddressSanitizer + UndefinedBehaviorSanitizer), the C++ include test and the
# medseg.hpp tests (C++, same warnings and sanitizers), runs them, and prints
# "N passed, N failed" (test cases plus compile steps). Exit status non-zero on any failure.
#
# Environment: MEDSEG_LIB (static library to link; default target/debug/libmedseg.a, built with
# `cargo build --lib`), MEDSEG_SKIP_CARGO=1 (do not run cargo), CC / CXX (default gcc / g++).
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

if "$CC" -std=c11 -Wall -Wextra -Wpedantic -Werror "${san[@]}" -I"$root/include" \
    "$root/tests/c/test_api.c" "$lib" "${libs[@]}" -o "$build/test_api"; then
    passed=$((passed + 1))
    ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0} \
    UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
        run_test test_api "$build/test_api" "$root/tests/fixtures/ffi"
else
    fail "compile tests/c/test_api.c"
fi

if "$CXX" -std=c++17 -Wall -Wextra -Wpedantic -Werror "${san[@]}" -I"$root/include" \
    "$root/tests/c/test_header.cpp" "$lib" "${libs[@]}" -o "$build/test_header"; then
    passed=$((passed + 1))
    run_test test_header "$build/test_header"
else
    fail "compile tests/c/test_header.cpp"
fi

if "$CXX" -std=c++14 -Wall -Wextra -Wpedantic -Werror "${san[@]}" -I"$root/include" \
    "$root/tests/c/test_cpp.cpp" "$lib" "${libs[@]}" -o "$build/test_cpp"; then
    passed=$((passed + 1))
    run_test test_cpp "$build/test_cpp"
else
    fail "compile tests/c/test_cpp.cpp"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
