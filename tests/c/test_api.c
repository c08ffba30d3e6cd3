/*
 * C API tests for medseg (include/medseg.h), run by tests/c/run.sh under ASan + UBSan.
 *
 * Usage: test_api FIXTURE_DIR
 * Prints one line per case ("ok" / "FAIL") and ends with "RESULT passed=N failed=M"; the exit
 * status is non-zero when any case failed.
 */
#define _POSIX_C_SOURCE 200809L

#include "medseg.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The header's version macros are integer constant expressions. */
_Static_assert(MEDSEG_VERSION_MAJOR >= 0 && MEDSEG_VERSION_MINOR >= 0 && MEDSEG_VERSION_PATCH >= 0,
               "version macros must be non-negative integers");
_Static_assert(MEDSEG_ABI_VERSION >= 1, "ABI version starts at 1");
_Static_assert(MEDSEG_STATUS_OK == 0, "OK is 0");
_Static_assert(MEDSEG_STATUS_PANIC == 101, "status numbers are never renumbered");
_Static_assert(sizeof(medseg_geometry) == 18 * 8, "geometry is 3 u64 + 15 doubles");

static const char *g_fixtures = ".";
static char g_tmp[256];
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

static int contains(const char *haystack, const char *needle) {
    return haystack != NULL && strstr(haystack, needle) != NULL;
}

static void path_in(char *out, size_t n, const char *dir, const char *name) {
    snprintf(out, n, "%s/%s", dir, name);
}

static medseg_geometry test_geometry(uint64_t ni, uint64_t nj, uint64_t nk) {
    /* Oblique-free but non-trivial: axes i → L, j → S, k → A (LPS columns). */
    medseg_geometry g = {{ni, nj, nk},
                         {0.5, 1.25, 3.0},
                         {-10.5, 20.0, 4.0},
                         {1.0, 0.0, 0.0, 0.0, 0.0, -1.0, 0.0, 1.0, 0.0}};
    return g;
}

static int geometry_equal(const medseg_geometry *a, const medseg_geometry *b, double tol) {
    for (int i = 0; i < 3; i++) {
        if (a->size[i] != b->size[i]) return 0;
        if (a->spacing[i] - b->spacing[i] > tol || b->spacing[i] - a->spacing[i] > tol) return 0;
        if (a->origin[i] - b->origin[i] > tol || b->origin[i] - a->origin[i] > tol) return 0;
    }
    for (int i = 0; i < 9; i++) {
        double d = a->direction[i] - b->direction[i];
        if (d > tol || -d > tol) return 0;
    }
    return 1;
}

/* ------------------------------------------------------------------------------------------ */

static void test_version(void) {
    char want[64];
    snprintf(want, sizeof want, "%d.%d.%d", MEDSEG_VERSION_MAJOR, MEDSEG_VERSION_MINOR,
             MEDSEG_VERSION_PATCH);
    CHECK(strcmp(medseg_version(), want) == 0);
    CHECK(strcmp(MEDSEG_VERSION_STRING, want) == 0);
    CHECK(medseg_abi_version() == MEDSEG_ABI_VERSION);
}

static void test_status_names(void) {
    CHECK(strcmp(medseg_status_name(MEDSEG_STATUS_OK), "ok") == 0);
    CHECK(strcmp(medseg_status_name(MEDSEG_STATUS_FORMAT), "format") == 0);
    CHECK(strcmp(medseg_status_name(MEDSEG_STATUS_NULL_ARGUMENT), "null_argument") == 0);
    CHECK(strcmp(medseg_status_name(MEDSEG_STATUS_PANIC), "panic") == 0);
    CHECK(strcmp(medseg_status_name(15), "unknown") == 0);
    CHECK(strcmp(medseg_status_name(0xFFFFFFFFu), "unknown") == 0);
    /* Every defined number has its own name. */
    const uint32_t all[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 100, 101, 102, 103};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        CHECK(strcmp(medseg_status_name(all[i]), "unknown") != 0);
        for (size_t j = 0; j < i; j++) {
            CHECK(strcmp(medseg_status_name(all[i]), medseg_status_name(all[j])) != 0);
        }
    }
}

static void test_null_arguments(void) {
    medseg_image *img = (medseg_image *)(uintptr_t)0x1; /* must be reset to NULL */
    CHECK_STATUS(medseg_image_read(NULL, &img), MEDSEG_STATUS_NULL_ARGUMENT);
    CHECK(img == NULL);
    CHECK(contains(medseg_last_error_message(), "path"));
    CHECK_STATUS(medseg_image_read("x.nii", NULL), MEDSEG_STATUS_NULL_ARGUMENT);
    CHECK(contains(medseg_last_error_message(), "out"));

    medseg_geometry g;
    CHECK_STATUS(medseg_image_geometry(NULL, &g), MEDSEG_STATUS_NULL_ARGUMENT);
    uint32_t pt = 77;
    CHECK_STATUS(medseg_image_pixel_type(NULL, &pt), MEDSEG_STATUS_NULL_ARGUMENT);
    CHECK(pt == 77); /* untouched on failure */
    size_t n = 5;
    CHECK_STATUS(medseg_image_components(NULL, &n), MEDSEG_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(medseg_image_frames(NULL, &n), MEDSEG_STATUS_NULL_ARGUMENT);
    CHECK(n == 5);
    const void *data = &n;
    size_t len = 9;
    CHECK_STATUS(medseg_image_data(NULL, &data, &len), MEDSEG_STATUS_NULL_ARGUMENT);
    CHECK(data == NULL && len == 0);
    CHECK_STATUS(medseg_image_write(NULL, "x.nii"), MEDSEG_STATUS_NULL_ARGUMENT);
    img = (medseg_image *)(uintptr_t)0x1;
    CHECK_STATUS(medseg_image_from_view(NULL, &img), MEDSEG_STATUS_NULL_ARGUMENT);
    CHECK(img == NULL);

    /* Success clears the last error. */
    uint8_t buf[8] = {0};
    medseg_image_view v = {buf, sizeof buf, MEDSEG_PIXEL_TYPE_U8, 1, {0, 0, 0},
                           test_geometry(2, 2, 2)};
    CHECK_STATUS(medseg_image_from_view(&v, &img), MEDSEG_STATUS_OK);
    CHECK(strcmp(medseg_last_error_message(), "") == 0);
    CHECK_STATUS(medseg_image_geometry(img, NULL), MEDSEG_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(medseg_image_data(img, NULL, &len), MEDSEG_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(medseg_image_data(img, &data, NULL), MEDSEG_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(medseg_image_write(img, NULL), MEDSEG_STATUS_NULL_ARGUMENT);
    medseg_image_free(img);
}

static void test_bad_views(void) {
    int16_t buf[24];
    for (int i = 0; i < 24; i++) buf[i] = (int16_t)i;
    const medseg_image_view ok = {buf, sizeof buf, MEDSEG_PIXEL_TYPE_I16, 1, {0, 0, 0},
                                  test_geometry(2, 3, 4)};
    medseg_image *img = NULL;

    /* Out-of-range pixel-type numbers: a status, never undefined behaviour. */
    const uint32_t bad_types[] = {0, 11, 1000, 0xFFFFFFFFu};
    for (size_t i = 0; i < sizeof bad_types / sizeof bad_types[0]; i++) {
        medseg_image_view v = ok;
        v.pixel_type = bad_types[i];
        img = (medseg_image *)(uintptr_t)0x1;
        CHECK_STATUS(medseg_image_from_view(&v, &img), MEDSEG_STATUS_PIXEL_TYPE);
        CHECK(img == NULL);
        CHECK(contains(medseg_last_error_message(), "pixel_type"));
    }

    medseg_image_view v = ok;
    v.data = NULL;
    CHECK_STATUS(medseg_image_from_view(&v, &img), MEDSEG_STATUS_NULL_ARGUMENT);
    v = ok;
    v.len_bytes = sizeof buf - 2; /* one pixel short */
    CHECK_STATUS(medseg_image_from_view(&v, &img), MEDSEG_STATUS_MISMATCH);
    v = ok;
    v.len_bytes = sizeof buf - 1; /* not a whole number of pixels */
    CHECK_STATUS(medseg_image_from_view(&v, &img), MEDSEG_STATUS_MISMATCH);
    v = ok;
    v.strides[0] = 1;
    v.strides[1] = 3; /* rows of 3 elements: the last voxel lies past the buffer */
    v.strides[2] = 9;
    CHECK_STATUS(medseg_image_from_view(&v, &img), MEDSEG_STATUS_MISMATCH);
    v = ok;
    v.components = 0;
    CHECK_STATUS(medseg_image_from_view(&v, &img), MEDSEG_STATUS_INVALID_ARGUMENT);
    v = ok;
    v.data = (const char *)buf + 1; /* misaligned for int16 */
    v.len_bytes = sizeof buf - 2;
    v.geometry.size[2] = 1;
    CHECK_STATUS(medseg_image_from_view(&v, &img), MEDSEG_STATUS_INVALID_ARGUMENT);
    v = ok;
    v.geometry.size[1] = 0;
    CHECK_STATUS(medseg_image_from_view(&v, &img), MEDSEG_STATUS_INVALID_GEOMETRY);
    v = ok;
    v.geometry.spacing[2] = -1.0;
    CHECK_STATUS(medseg_image_from_view(&v, &img), MEDSEG_STATUS_INVALID_GEOMETRY);
    v = ok;
    v.geometry.direction[1] = 0.5; /* not orthonormal */
    CHECK_STATUS(medseg_image_from_view(&v, &img), MEDSEG_STATUS_INVALID_GEOMETRY);
    v = ok;
    v.geometry.size[0] = UINT64_MAX;
    CHECK_STATUS(medseg_image_from_view(&v, &img), MEDSEG_STATUS_TOO_LARGE);
    CHECK(img == NULL);
}

static void test_view_round_trip(void) {
    /* A 2×3×2 int16 image stored with padded rows (4 elements per j-row) and 2 components. */
    enum { NI = 2, NJ = 3, NK = 2, C = 2, ROW = 2 * C + 2, SLICE = ROW * NJ };
    int16_t buf[SLICE * NK];
    for (size_t i = 0; i < sizeof buf / sizeof buf[0]; i++) buf[i] = -1;
    for (int k = 0; k < NK; k++)
        for (int j = 0; j < NJ; j++)
            for (int i = 0; i < NI; i++)
                for (int c = 0; c < C; c++)
                    buf[k * SLICE + j * ROW + i * C + c] = (int16_t)(1000 * c + 100 * k + 10 * j + i);
    const medseg_geometry geom = test_geometry(NI, NJ, NK);
    medseg_image_view v = {buf, sizeof buf, MEDSEG_PIXEL_TYPE_I16, C, {C, ROW, SLICE}, geom};
    medseg_image *img = NULL;
    CHECK_STATUS(medseg_image_from_view(&v, &img), MEDSEG_STATUS_OK);
    if (img == NULL) return;

    medseg_geometry g;
    memset(&g, 0, sizeof g);
    CHECK_STATUS(medseg_image_geometry(img, &g), MEDSEG_STATUS_OK);
    CHECK(geometry_equal(&g, &geom, 0.0));
    uint32_t pt = 0;
    CHECK_STATUS(medseg_image_pixel_type(img, &pt), MEDSEG_STATUS_OK);
    CHECK(pt == MEDSEG_PIXEL_TYPE_I16);
    size_t comps = 0, frames = 0;
    CHECK_STATUS(medseg_image_components(img, &comps), MEDSEG_STATUS_OK);
    CHECK(comps == C);
    CHECK_STATUS(medseg_image_frames(img, &frames), MEDSEG_STATUS_OK);
    CHECK(frames == 1);

    const void *data = NULL;
    size_t len = 0;
    CHECK_STATUS(medseg_image_data(img, &data, &len), MEDSEG_STATUS_OK);
    CHECK(len == (size_t)(NI * NJ * NK * C) * sizeof(int16_t));
    CHECK(data != (const void *)buf); /* an owned copy, contiguous */
    if (data != NULL && len == (size_t)(NI * NJ * NK * C) * sizeof(int16_t)) {
        const int16_t *d = (const int16_t *)data;
        size_t n = 0;
        for (int k = 0; k < NK; k++)
            for (int j = 0; j < NJ; j++)
                for (int i = 0; i < NI; i++)
                    for (int c = 0; c < C; c++)
                        CHECK(d[n++] == (int16_t)(1000 * c + 100 * k + 10 * j + i));
    }
    /* The source buffer may change afterwards: the image is a copy. */
    buf[0] = 12345;
    CHECK(data != NULL && ((const int16_t *)data)[0] == 0);
    medseg_image_free(img);
}

/* Reading the committed NIfTI fixture (SimpleITK's reading: 4×5×7 u8, spacing 1,3,2, RAS+
 * identity sform = LPS direction diag(-1,-1,1), sum 7650). */
static void test_read_fixture(void) {
    char path[512];
    path_in(path, sizeof path, g_fixtures, "standard.nii.gz");
    medseg_image *img = NULL;
    CHECK_STATUS(medseg_image_read(path, &img), MEDSEG_STATUS_OK);
    if (img == NULL) return;
    medseg_geometry g;
    CHECK_STATUS(medseg_image_geometry(img, &g), MEDSEG_STATUS_OK);
    const medseg_geometry want = {
        {4, 5, 7}, {1.0, 3.0, 2.0}, {0.0, 0.0, 0.0}, {-1, 0, 0, 0, -1, 0, 0, 0, 1}};
    CHECK(geometry_equal(&g, &want, 1e-5));
    uint32_t pt = 0;
    CHECK_STATUS(medseg_image_pixel_type(img, &pt), MEDSEG_STATUS_OK);
    CHECK(pt == MEDSEG_PIXEL_TYPE_U8);
    const void *data = NULL;
    size_t len = 0;
    CHECK_STATUS(medseg_image_data(img, &data, &len), MEDSEG_STATUS_OK);
    CHECK(len == 4 * 5 * 7);
    if (data != NULL && len == 4 * 5 * 7) {
        const uint8_t *d = (const uint8_t *)data;
        unsigned long sum = 0;
        for (size_t i = 0; i < len; i++) sum += d[i];
        CHECK(sum == 7650);
        CHECK(d[0] == 0 && d[1] == 255);
    }
    medseg_image_free(img);
}

/* Write through the NIfTI writer and read back: geometry and voxels survive. */
static void test_write_read_round_trip(void) {
    float buf[3 * 4 * 5];
    for (int i = 0; i < 60; i++) buf[i] = (float)i * 0.25f - 3.0f;
    medseg_image_view v = {buf, sizeof buf, MEDSEG_PIXEL_TYPE_F32, 1, {0, 0, 0},
                           test_geometry(3, 4, 5)};
    medseg_image *img = NULL, *back = NULL;
    CHECK_STATUS(medseg_image_from_view(&v, &img), MEDSEG_STATUS_OK);
    char path[512];
    path_in(path, sizeof path, g_tmp, "round_trip.nii.gz");
    CHECK_STATUS(medseg_image_write(img, path), MEDSEG_STATUS_OK);
    CHECK_STATUS(medseg_image_read(path, &back), MEDSEG_STATUS_OK);
    if (back != NULL) {
        medseg_geometry g;
        CHECK_STATUS(medseg_image_geometry(back, &g), MEDSEG_STATUS_OK);
        CHECK(geometry_equal(&g, &v.geometry, 1e-5));
        uint32_t pt = 0;
        CHECK_STATUS(medseg_image_pixel_type(back, &pt), MEDSEG_STATUS_OK);
        CHECK(pt == MEDSEG_PIXEL_TYPE_F32);
        const void *data = NULL;
        size_t len = 0;
        CHECK_STATUS(medseg_image_data(back, &data, &len), MEDSEG_STATUS_OK);
        CHECK(len == sizeof buf && data != NULL && memcmp(data, buf, sizeof buf) == 0);
    }
    medseg_image_free(back);
    medseg_image_free(img);
    unlink(path);
}

static void test_bad_files(void) {
    char path[512];
    medseg_image *img = (medseg_image *)(uintptr_t)0x1;

    /* Missing file. */
    path_in(path, sizeof path, g_tmp, "missing.nii");
    CHECK_STATUS(medseg_image_read(path, &img), MEDSEG_STATUS_IO);
    CHECK(img == NULL);
    CHECK(contains(medseg_last_error_message(), "missing.nii"));

    /* Garbage bytes with a NIfTI name. */
    path_in(path, sizeof path, g_tmp, "garbage.nii");
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (f != NULL) {
        for (int i = 0; i < 400; i++) fputc((i * 37) & 0xff, f);
        fclose(f);
    }
    img = (medseg_image *)(uintptr_t)0x1;
    CHECK_STATUS(medseg_image_read(path, &img), MEDSEG_STATUS_FORMAT);
    CHECK(img == NULL);
    CHECK(contains(medseg_last_error_message(), "garbage.nii"));
    unlink(path);

    /* A truncated copy of a valid file. */
    path_in(path, sizeof path, g_tmp, "truncated.nii");
    f = fopen(path, "wb");
    if (f != NULL) {
        unsigned char hdr[348];
        memset(hdr, 0, sizeof hdr);
        hdr[0] = 0x5c; /* sizeof_hdr = 348, little-endian */
        hdr[1] = 0x01;
        memcpy(hdr + 344, "n+1", 4);
        fwrite(hdr, 1, 200, f); /* header cut short */
        fclose(f);
    }
    CHECK_STATUS(medseg_image_read(path, &img), MEDSEG_STATUS_FORMAT);
    CHECK(img == NULL);
    unlink(path);

    /* Unknown extension. */
    path_in(path, sizeof path, g_tmp, "picture.xyz");
    CHECK_STATUS(medseg_image_read(path, &img), MEDSEG_STATUS_UNSUPPORTED);
    CHECK(contains(medseg_last_error_message(), "picture.xyz"));
    CHECK(img == NULL);
}

static void test_panic_boundary(void) {
    CHECK_STATUS(medseg_test_panic(NULL), MEDSEG_STATUS_PANIC);
    CHECK(contains(medseg_last_error_message(), "deliberate panic"));

    /* A handle used in a call that panicked is poisoned, and can still be freed. */
    uint8_t buf[1] = {7};
    medseg_image_view v = {buf, 1, MEDSEG_PIXEL_TYPE_U8, 1, {0, 0, 0}, test_geometry(1, 1, 1)};
    medseg_image *img = NULL;
    CHECK_STATUS(medseg_image_from_view(&v, &img), MEDSEG_STATUS_OK);
    CHECK_STATUS(medseg_test_panic(img), MEDSEG_STATUS_PANIC);
    medseg_geometry g;
    CHECK_STATUS(medseg_image_geometry(img, &g), MEDSEG_STATUS_POISONED);
    medseg_image_free(img);
    /* The library still works after a panic. */
    CHECK_STATUS(medseg_image_from_view(&v, &img), MEDSEG_STATUS_OK);
    medseg_image_free(img);
}

static void test_free_and_stale_handles(void) {
    medseg_image_free(NULL); /* allowed, no effect */

    uint8_t buf[1] = {7};
    medseg_image_view v = {buf, 1, MEDSEG_PIXEL_TYPE_U8, 1, {0, 0, 0}, test_geometry(1, 1, 1)};
    medseg_image *img = NULL;
    CHECK_STATUS(medseg_image_from_view(&v, &img), MEDSEG_STATUS_OK);
    medseg_image *stale = img;
    medseg_image_free(img);
    /* Use after free and double free are detected without touching the freed memory. */
    medseg_geometry g;
    CHECK_STATUS(medseg_image_geometry(stale, &g), MEDSEG_STATUS_INVALID_HANDLE);
    medseg_image_free(stale);
    CHECK(contains(medseg_last_error_message(), "not a live medseg_image"));
    /* A pointer medseg never returned. */
    int not_an_image = 0;
    CHECK_STATUS(medseg_image_geometry((const medseg_image *)(const void *)&not_an_image, &g),
                 MEDSEG_STATUS_INVALID_HANDLE);
}

/* The last error is per thread: a failure on another thread does not change this one's. */
static void *fail_on_thread(void *arg) {
    (void)arg;
    medseg_image *img = NULL;
    medseg_status s = medseg_image_read(NULL, &img);
    int ok = s == MEDSEG_STATUS_NULL_ARGUMENT && contains(medseg_last_error_message(), "path");
    return ok ? (void *)1 : NULL;
}

static void test_last_error_is_thread_local(void) {
    medseg_image *img = NULL;
    char path[512];
    path_in(path, sizeof path, g_tmp, "other.xyz");
    CHECK_STATUS(medseg_image_read(path, &img), MEDSEG_STATUS_UNSUPPORTED);
    pthread_t t;
    void *ret = NULL;
    CHECK(pthread_create(&t, NULL, fail_on_thread, NULL) == 0);
    CHECK(pthread_join(t, &ret) == 0);
    CHECK(ret == (void *)1);
    CHECK(contains(medseg_last_error_message(), "other.xyz"));
}

/* ------------------------------------------------------------------------------------------ */

typedef struct {
    const char *name;
    void (*fn)(void);
} test_case;

int main(int argc, char **argv) {
    if (argc > 1) g_fixtures = argv[1];
    const char *tmpdir = getenv("TMPDIR");
    snprintf(g_tmp, sizeof g_tmp, "%s/medseg_c_XXXXXX", tmpdir != NULL ? tmpdir : "/tmp");
    if (mkdtemp(g_tmp) == NULL) {
        perror("mkdtemp");
        return 2;
    }
    const test_case cases[] = {
        {"version", test_version},
        {"status_names", test_status_names},
        {"null_arguments", test_null_arguments},
        {"bad_views", test_bad_views},
        {"view_round_trip", test_view_round_trip},
        {"read_fixture", test_read_fixture},
        {"write_read_round_trip", test_write_read_round_trip},
        {"bad_files", test_bad_files},
        {"panic_boundary", test_panic_boundary},
        {"free_and_stale_handles", test_free_and_stale_handles},
        {"last_error_is_thread_local", test_last_error_is_thread_local},
    };
    int passed = 0, failed = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        g_case_failed = 0;
        cases[i].fn();
        printf("%-32s %s\n", cases[i].name, g_case_failed ? "FAIL" : "ok");
        fflush(stdout);
        if (g_case_failed)
            failed++;
        else
            passed++;
    }
    rmdir(g_tmp);
    printf("RESULT passed=%d failed=%d\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
