/*
 * Shared helpers of the per-area C API tests (tests/c/test_*.c), run by tests/c/run.sh.
 * Each test program prints one line per case ("ok" / "FAIL") and ends with
 * "RESULT passed=N failed=M"; its exit status is non-zero when a case failed.
 */
#ifndef MEDSEG_TEST_COMMON_H
#define MEDSEG_TEST_COMMON_H

#include "medseg.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int g_case_failed;

#define CHECK(cond)                                                                               \
    do {                                                                                          \
        if (!(cond)) {                                                                            \
            fprintf(stderr, "  %s:%d: CHECK(%s) failed; last error: \"%s\"\n", __FILE__, __LINE__, \
                    #cond, medseg_last_error_message());                                          \
            g_case_failed = 1;                                                                    \
        }                                                                                         \
    } while (0)

#define CHECK_STATUS(expr, want)                                                                  \
    do {                                                                                          \
        medseg_status got_ = (expr);                                                              \
        if (got_ != (want)) {                                                                     \
            fprintf(stderr, "  %s:%d: %s returned %s (%d), expected %s; last error: \"%s\"\n",    \
                    __FILE__, __LINE__, #expr, medseg_status_name((uint32_t)got_), (int)got_,     \
                    medseg_status_name((uint32_t)(want)), medseg_last_error_message());           \
            g_case_failed = 1;                                                                    \
        }                                                                                         \
    } while (0)

typedef struct {
    const char *name;
    void (*fn)(void);
} test_case;

static inline int contains(const char *haystack, const char *needle) {
    return haystack != NULL && strstr(haystack, needle) != NULL;
}

/* A non-trivial grid: axes i → L, j → S, k → A (LPS columns). */
static inline medseg_geometry grid(uint64_t ni, uint64_t nj, uint64_t nk) {
    medseg_geometry g = {{ni, nj, nk},
                         {0.5, 1.25, 3.0},
                         {-10.5, 20.0, 4.0},
                         {1.0, 0.0, 0.0, 0.0, 0.0, -1.0, 0.0, 1.0, 0.0}};
    return g;
}

static inline medseg_image_view in_view(const void *data, size_t len_bytes, uint32_t pixel_type,
                                 medseg_geometry g) {
    medseg_image_view v;
    memset(&v, 0, sizeof v);
    v.data = data;
    v.len_bytes = len_bytes;
    v.pixel_type = pixel_type;
    v.components = 1;
    v.geometry = g;
    return v;
}

static inline medseg_image_view_mut out_view(void *data, size_t len_bytes, uint32_t pixel_type,
                                      medseg_geometry g) {
    medseg_image_view_mut v;
    memset(&v, 0, sizeof v);
    v.data = data;
    v.len_bytes = len_bytes;
    v.pixel_type = pixel_type;
    v.components = 1;
    v.geometry = g;
    return v;
}

static inline int run_cases(const test_case *cases, size_t n) {
    int passed = 0, failed = 0;
    for (size_t i = 0; i < n; i++) {
        g_case_failed = 0;
        cases[i].fn();
        printf("%-36s %s\n", cases[i].name, g_case_failed ? "FAIL" : "ok");
        fflush(stdout);
        if (g_case_failed)
            failed++;
        else
            passed++;
    }
    printf("RESULT passed=%d failed=%d\n", passed, failed);
    return failed == 0 ? 0 : 1;
}

#endif /* MEDSEG_TEST_COMMON_H */
