/*
 * C API tests of the TotalSpineSeg functions against the oracle stages committed in
 * tests/fixtures/spine/<case>/ (each stage's input is the previous oracle stage; the output
 * must equal the next oracle stage voxel for voxel), plus bad arguments.
 *
 * Usage: test_spine SPINE_FIXTURE_DIR
 */
#define _POSIX_C_SOURCE 200809L

#include "common.h"

static const char *g_dir = "tests/fixtures/spine";

/* Read a fixture into an image and a view of its voxels (the image owns the buffer). */
static medseg_image *load(const char *case_name, const char *stage, medseg_image_view *view) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s/%s.nii.gz", g_dir, case_name, stage);
    medseg_image *img = NULL;
    medseg_status s = medseg_image_read(path, &img);
    if (s != MEDSEG_STATUS_OK) {
        fprintf(stderr, "  cannot read %s: %s\n", path, medseg_last_error_message());
        g_case_failed = 1;
        return NULL;
    }
    memset(view, 0, sizeof *view);
    CHECK_STATUS(medseg_image_data(img, &view->data, &view->len_bytes), MEDSEG_STATUS_OK);
    CHECK_STATUS(medseg_image_pixel_type(img, &view->pixel_type), MEDSEG_STATUS_OK);
    CHECK_STATUS(medseg_image_components(img, &view->components), MEDSEG_STATUS_OK);
    CHECK_STATUS(medseg_image_geometry(img, &view->geometry), MEDSEG_STATUS_OK);
    return img;
}

/* An output buffer on `like`'s grid, U8, filled with 0xEE. */
static uint8_t *out_like(const medseg_image_view *like, medseg_image_view_mut *o) {
    size_t n = (size_t)(like->geometry.size[0] * like->geometry.size[1] * like->geometry.size[2]);
    uint8_t *buf = malloc(n);
    if (buf == NULL) return NULL;
    memset(buf, 0xEE, n);
    *o = out_view(buf, n, MEDSEG_PIXEL_TYPE_U8, like->geometry);
    return buf;
}

/* The output equals the expected stage (read as U8) voxel for voxel. */
static void expect_stage(const uint8_t *got, const char *case_name, const char *stage) {
    medseg_image_view want;
    medseg_image *img = load(case_name, stage, &want);
    if (img == NULL) return;
    CHECK(want.pixel_type == MEDSEG_PIXEL_TYPE_U8);
    size_t diff = 0;
    if (want.pixel_type == MEDSEG_PIXEL_TYPE_U8) {
        const uint8_t *w = want.data;
        for (size_t i = 0; i < want.len_bytes; i++) diff += got[i] != w[i];
    }
    if (diff != 0) fprintf(stderr, "  %s/%s: %zu voxels differ\n", case_name, stage, diff);
    CHECK(diff == 0);
    medseg_image_free(img);
}

/* One stage: run `fn` on the `from` fixture and compare with the `to` fixture. */
typedef medseg_status (*stage_fn)(const medseg_image_view *, uint32_t,
                                  const medseg_image_view_mut *);

static void run_stage(const char *case_name, const char *from, const char *to, stage_fn fn,
                      uint32_t preset) {
    medseg_image_view in;
    medseg_image *img = load(case_name, from, &in);
    if (img == NULL) return;
    medseg_image_view_mut o;
    uint8_t *buf = out_like(&in, &o);
    CHECK(buf != NULL);
    if (buf != NULL) {
        CHECK_STATUS(fn(&in, preset, &o), MEDSEG_STATUS_OK);
        expect_stage(buf, case_name, to);
        free(buf);
    }
    medseg_image_free(img);
}

static medseg_status iterative_no_loc(const medseg_image_view *seg, uint32_t preset,
                                      const medseg_image_view_mut *out) {
    return medseg_spine_iterative_label(seg, preset, NULL, out);
}

static void test_step1_chain(void) {
    run_stage("cervical", "step1_raw", "step1_largest", medseg_spine_largest_component, 1);
    run_stage("cervical", "step1_largest", "step1_iterlabel", iterative_no_loc, 1);
    run_stage("cervical", "step1_iterlabel", "step1_fillcanal", medseg_spine_fill_canal, 1);
}

static void test_step2_chain(void) {
    run_stage("lumbar", "step2_raw", "step2_largest", medseg_spine_largest_component, 2);
    run_stage("lumbar", "step2_largest", "step2_iterlabel", iterative_no_loc, 2);
    run_stage("lumbar", "step2_iterlabel", "step2_fillcanal", medseg_spine_fill_canal, 2);
}

static void test_levels(void) {
    medseg_image_view in;
    medseg_image *img = load("cervical", "step1_output", &in);
    if (img == NULL) return;
    medseg_image_view_mut o;
    uint8_t *buf = out_like(&in, &o);
    CHECK(buf != NULL);
    if (buf != NULL) {
        CHECK_STATUS(medseg_spine_extract_levels(&in, &o), MEDSEG_STATUS_OK);
        expect_stage(buf, "cervical", "step1_levels");
        free(buf);
    }
    medseg_image_free(img);
}

static void test_localizer(void) {
    medseg_image_view in, loc;
    medseg_image *img = load("thoracic_with_localizer", "step1_largest", &in);
    medseg_image *limg = load("thoracic_with_localizer", "localizer", &loc);
    if (img != NULL && limg != NULL) {
        medseg_image_view_mut o;
        uint8_t *buf = out_like(&in, &o);
        CHECK(buf != NULL);
        if (buf != NULL) {
            CHECK_STATUS(medseg_spine_iterative_label(&in, 1, &loc, &o), MEDSEG_STATUS_OK);
            expect_stage(buf, "thoracic_with_localizer", "step1_iterlabel");
            free(buf);
        }
    }
    medseg_image_free(limg);
    medseg_image_free(img);
}

static void test_bad_arguments(void) {
    uint8_t seg[27] = {0};
    seg[13] = 8;
    medseg_geometry g = grid(3, 3, 3);
    medseg_image_view in = in_view(seg, sizeof seg, MEDSEG_PIXEL_TYPE_U8, g);
    uint8_t out[27];
    memset(out, 0xAB, sizeof out);
    medseg_image_view_mut o = out_view(out, sizeof out, MEDSEG_PIXEL_TYPE_U8, g);
    const uint32_t bad_preset[] = {0, 3, 0xFFFFFFFFu};
    for (size_t i = 0; i < 3; i++) {
        CHECK_STATUS(medseg_spine_largest_component(&in, bad_preset[i], &o),
                     MEDSEG_STATUS_INVALID_ARGUMENT);
        CHECK_STATUS(medseg_spine_iterative_label(&in, bad_preset[i], NULL, &o),
                     MEDSEG_STATUS_INVALID_ARGUMENT);
        CHECK_STATUS(medseg_spine_fill_canal(&in, bad_preset[i], &o),
                     MEDSEG_STATUS_INVALID_ARGUMENT);
    }
    CHECK_STATUS(medseg_spine_largest_component(NULL, 1, &o), MEDSEG_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(medseg_spine_largest_component(&in, 1, NULL), MEDSEG_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(medseg_spine_iterative_label(NULL, 1, NULL, &o), MEDSEG_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(medseg_spine_iterative_label(&in, 1, NULL, NULL), MEDSEG_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(medseg_spine_fill_canal(NULL, 1, &o), MEDSEG_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(medseg_spine_fill_canal(&in, 1, NULL), MEDSEG_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(medseg_spine_extract_levels(NULL, &o), MEDSEG_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(medseg_spine_extract_levels(&in, NULL), MEDSEG_STATUS_NULL_ARGUMENT);
    /* Outputs are uint8 label maps on the input's grid. */
    uint16_t out16[27];
    medseg_image_view_mut o16 = out_view(out16, sizeof out16, MEDSEG_PIXEL_TYPE_U16, g);
    CHECK_STATUS(medseg_spine_largest_component(&in, 1, &o16), MEDSEG_STATUS_PIXEL_TYPE);
    CHECK_STATUS(medseg_spine_extract_levels(&in, &o16), MEDSEG_STATUS_PIXEL_TYPE);
    medseg_image_view_mut og = o;
    og.geometry.spacing[2] = 2.0;
    CHECK_STATUS(medseg_spine_fill_canal(&in, 2, &og), MEDSEG_STATUS_MISMATCH);
    medseg_image_view badpt = in;
    badpt.pixel_type = 42;
    CHECK_STATUS(medseg_spine_fill_canal(&badpt, 2, &o), MEDSEG_STATUS_PIXEL_TYPE);
    /* A localizer view is checked like any input. */
    medseg_image_view badloc = in;
    badloc.data = NULL;
    CHECK_STATUS(medseg_spine_iterative_label(&in, 1, &badloc, &o), MEDSEG_STATUS_NULL_ARGUMENT);
    /* No landmark: a typed CONTENT error, and the output is untouched. */
    CHECK_STATUS(medseg_spine_iterative_label(&in, 1, NULL, &o), MEDSEG_STATUS_CONTENT);
    int untouched = 1;
    for (size_t i = 0; i < sizeof out; i++) untouched &= out[i] == 0xAB;
    CHECK(untouched);
}

int main(int argc, char **argv) {
    if (argc > 1) g_dir = argv[1];
    const test_case cases[] = {
        {"spine_step1_chain", test_step1_chain},
        {"spine_step2_chain", test_step2_chain},
        {"spine_levels", test_levels},
        {"spine_localizer", test_localizer},
        {"spine_bad_arguments", test_bad_arguments},
    };
    return run_cases(cases, sizeof cases / sizeof cases[0]);
}
