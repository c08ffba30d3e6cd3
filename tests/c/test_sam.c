/*
 * C API tests of the SAM session (medseg_sam_*): options and load (missing folder with the
 * set-up hint, bad options, unavailable device), sessions on a borrowed uint8 view, 2D and 3D box
 * prompts on the LiteMedSAM oracle case 3DBox_CT_headatlas_0001 checked against the official
 * segs, the slice cache, progress and cancel (output untouched), bad arguments, stale handles,
 * and 2 threads sharing one model handle (one session each).
 *
 * Needs models/litemedsam (tools/setup.sh) and the project's ONNX Runtime (run.sh sets
 * MEDSEG_ORT_DYLIB).
 *
 * Usage: test_sam MODEL_DIR FIXTURE_DIR [short]
 * FIXTURE_DIR is tests/fixtures/sam/litemedsam. "short" is the valgrind run of run.sh: one
 * encoder call takes over 10 minutes under valgrind, so it runs only the cases that encode
 * nothing (load and its errors, bad arguments, cancel before the first slice, sessions made
 * with intensity rules, handles).
 */
#define _POSIX_C_SOURCE 200809L

#include "common.h"

#include <math.h>
#include <pthread.h>
#include <time.h>

static const char *g_model_dir = "models/litemedsam";
static const char *g_fixture_dir = "tests/fixtures/sam/litemedsam";
static int g_short;

static medseg_sam_model *g_model;  /* shared by the cases after sam_load */
static medseg_image *g_ct;         /* imgs of the oracle case: U8, size (W, H, D) */
static medseg_image *g_segs;       /* the official segs: U8, same grid */
static medseg_image_view g_view;   /* borrowed view of g_ct */
static const uint8_t *g_seg;       /* g_segs' voxels */
static size_t g_w, g_h, g_d;
static uint8_t *g_mask22;          /* the 2D mask of box 1 on slice 22 (reference) */
static uint8_t *g_vol;             /* the 3D result of box 1 (label 1), NULL in the short run */

static const double BOX2D[4] = {40, 17, 169, 176};
static const double BOX3D[6] = {40, 17, 0, 169, 176, 45};
enum { SLICE = 22 };

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static medseg_sam_options fast_options(void) {
    medseg_sam_options o;
    medseg_sam_options_init(&o);
    o.threads = 2;
    return o;
}

static char *join(const char *dir, const char *rel) {
    size_t n = strlen(dir) + strlen(rel) + 2;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s/%s", dir, rel);
    return p;
}

static medseg_image_view image_view(const medseg_image *img) {
    medseg_image_view v;
    memset(&v, 0, sizeof v);
    size_t len = 0;
    CHECK_STATUS(medseg_image_data(img, &v.data, &len), MEDSEG_STATUS_OK);
    v.len_bytes = len;
    CHECK_STATUS(medseg_image_pixel_type(img, &v.pixel_type), MEDSEG_STATUS_OK);
    CHECK_STATUS(medseg_image_components(img, &v.components), MEDSEG_STATUS_OK);
    CHECK_STATUS(medseg_image_geometry(img, &v.geometry), MEDSEG_STATUS_OK);
    return v;
}

static medseg_geometry slice_grid(size_t k) {
    medseg_geometry g = g_view.geometry;
    g.size[2] = 1;
    for (int r = 0; r < 3; r++) g.origin[r] += g.direction[3 * r + 2] * g.spacing[2] * (double)k;
    return g;
}

static void test_sam_load(void) {
    medseg_sam_options o;
    memset(&o, 0x5A, sizeof o);
    CHECK_STATUS(medseg_sam_options_init(&o), MEDSEG_STATUS_OK);
    CHECK(o.struct_size == sizeof o);
    CHECK(o.device == NULL && o.threads == 0 && o.runtime_path == NULL && o.cache_bytes == 0);
    o = fast_options();
    double t0 = now();
    CHECK_STATUS(medseg_sam_model_load(g_model_dir, &o, &g_model), MEDSEG_STATUS_OK);
    CHECK(g_model != NULL);
    printf("  model loaded in %.2f s\n", now() - t0);
}

static void test_sam_load_errors(void) {
    medseg_sam_model *m = (medseg_sam_model *)(uintptr_t)1;
    medseg_sam_options o = fast_options();
    CHECK_STATUS(medseg_sam_options_init(NULL), MEDSEG_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(medseg_sam_model_load(NULL, &o, &m), MEDSEG_STATUS_NULL_ARGUMENT);
    CHECK(m == NULL);
    CHECK_STATUS(medseg_sam_model_load(g_model_dir, &o, NULL), MEDSEG_STATUS_NULL_ARGUMENT);
    /* A missing folder: MODEL, naming the folder and how to set the model up. */
    CHECK_STATUS(medseg_sam_model_load("/nonexistent/litemedsam", &o, &m), MEDSEG_STATUS_MODEL);
    CHECK(m == NULL);
    CHECK(contains(medseg_last_error_message(), "/nonexistent/litemedsam"));
    CHECK(contains(medseg_last_error_message(), "setup"));
    /* An nnU-Net folder is not a SAM model. */
    CHECK(medseg_sam_model_load("tests/fixtures/nnunet", &o, &m) != MEDSEG_STATUS_OK);
    CHECK(m == NULL);
    medseg_sam_options b = o;
    b.struct_size = 0;
    CHECK_STATUS(medseg_sam_model_load(g_model_dir, &b, &m), MEDSEG_STATUS_INVALID_ARGUMENT);
    CHECK(contains(medseg_last_error_message(), "struct_size"));
    b = o;
    b.struct_size = sizeof b - 1;
    CHECK_STATUS(medseg_sam_model_load(g_model_dir, &b, &m), MEDSEG_STATUS_INVALID_ARGUMENT);
    b = o;
    b.device = "gpu:x";
    CHECK_STATUS(medseg_sam_model_load(g_model_dir, &b, &m), MEDSEG_STATUS_INVALID_ARGUMENT);
    if (g_short) return; /* the cases below open the networks (slow under valgrind) */
    /* A GPU this build or machine does not have: DEVICE, at load (the sessions open then). */
    b = o;
    b.device = "cuda:0";
    medseg_status s = medseg_sam_model_load(g_model_dir, &b, &m);
    if (s == MEDSEG_STATUS_OK) {
        printf("  cuda:0 is available here; DEVICE not exercised\n");
        medseg_sam_model_free(m);
        m = NULL;
    } else {
        CHECK_STATUS(s, MEDSEG_STATUS_DEVICE);
        CHECK(m == NULL);
    }
    b = o;
    b.runtime_path = "/nonexistent/libonnxruntime.so.1.31.1";
    CHECK_STATUS(medseg_sam_model_load(g_model_dir, &b, &m), MEDSEG_STATUS_RUNTIME);
    CHECK(m == NULL);
    /* Defaults (NULL options) load too; handles of another type are refused. */
    CHECK_STATUS(medseg_sam_model_load(g_model_dir, NULL, &m), MEDSEG_STATUS_OK);
    medseg_sam_model *stale = m;
    medseg_sam_model_free(m);
    medseg_sam_session *sess = (medseg_sam_session *)(uintptr_t)1;
    CHECK_STATUS(medseg_sam_session_create(stale, &g_view, &sess), MEDSEG_STATUS_INVALID_HANDLE);
    CHECK(sess == NULL);
    medseg_sam_model_free(stale); /* double free: reported, ignored */
    CHECK(contains(medseg_last_error_message(), "not a live medseg_sam_model"));
    CHECK_STATUS(medseg_sam_session_create((const medseg_sam_model *)(const void *)g_ct, &g_view,
                                           &sess),
                 MEDSEG_STATUS_INVALID_HANDLE);
    medseg_sam_model_free(NULL);
}

static void test_sam_read_fixture(void) {
    char *in = join(g_fixture_dir, "inputs/3DBox_CT_headatlas_0001.npz");
    char *segs = join(g_fixture_dir, "segs/3DBox_CT_headatlas_0001.npz");
    CHECK(in != NULL && segs != NULL);
    if (in && segs) {
        CHECK_STATUS(medseg_image_read(in, &g_ct), MEDSEG_STATUS_OK);
        CHECK_STATUS(medseg_image_read(segs, &g_segs), MEDSEG_STATUS_OK);
    }
    free(in);
    free(segs);
    if (!g_ct || !g_segs) return;
    g_view = image_view(g_ct);
    CHECK(g_view.pixel_type == MEDSEG_PIXEL_TYPE_U8 && g_view.components == 1);
    g_w = (size_t)g_view.geometry.size[0];
    g_h = (size_t)g_view.geometry.size[1];
    g_d = (size_t)g_view.geometry.size[2];
    CHECK(g_d == 46);
    medseg_image_view sv = image_view(g_segs);
    CHECK(sv.pixel_type == MEDSEG_PIXEL_TYPE_U8 && sv.len_bytes == g_w * g_h * g_d);
    CHECK(memcmp(sv.geometry.size, g_view.geometry.size, sizeof sv.geometry.size) == 0);
    g_seg = sv.data;
    printf("  imgs %zu x %zu x %zu (W x H x D)\n", g_w, g_h, g_d);
}

/* Voxels where the official segs say box 1 won but `mask` (label `lab`) is not set, and voxels
 * `mask` sets where no box won. `n` voxels from slice `k0`. */
static void compare_with_segs(const uint8_t *mask, uint8_t lab, size_t k0, size_t n,
                              size_t *missed, size_t *extra, size_t *fg) {
    const uint8_t *seg = g_seg + k0 * g_w * g_h;
    *missed = *extra = *fg = 0;
    for (size_t v = 0; v < n; v++) {
        if (seg[v] == 1 && mask[v] != lab) (*missed)++;
        if (mask[v] == lab && seg[v] == 0) (*extra)++;
        if (mask[v] != 0 && mask[v] != lab) (*extra)++;
        *fg += mask[v] == lab;
    }
}

static medseg_sam_session *new_session(void) {
    medseg_sam_session *s = NULL;
    CHECK_STATUS(medseg_sam_session_create(g_model, &g_view, &s), MEDSEG_STATUS_OK);
    return s;
}

static void test_sam_predict_2d(void) {
    if (!g_ct || !g_model) {
        CHECK(false);
        return;
    }
    medseg_sam_session *s = new_session();
    if (!s) return;
    const size_t n = g_w * g_h;
    medseg_geometry g;
    CHECK_STATUS(medseg_sam_session_slice_geometry(s, SLICE, &g), MEDSEG_STATUS_OK);
    medseg_geometry want = slice_grid(SLICE);
    CHECK(memcmp(g.size, want.size, sizeof g.size) == 0);
    for (int a = 0; a < 3; a++) CHECK(fabs(g.origin[a] - want.origin[a]) < 1e-9);
    g_mask22 = malloc(n);
    CHECK(g_mask22 != NULL);
    if (!g_mask22) return;
    memset(g_mask22, 0xAB, n);
    medseg_image_view_mut mv = out_view(g_mask22, n, MEDSEG_PIXEL_TYPE_U8, g);
    float iou = -1.0f;
    double t0 = now();
    CHECK_STATUS(medseg_sam_predict_2d(s, SLICE, BOX2D, &mv, &iou), MEDSEG_STATUS_OK);
    double t1 = now();
    size_t missed, extra, fg;
    compare_with_segs(g_mask22, 1, SLICE, n, &missed, &extra, &fg);
    CHECK(missed == 0 && extra == 0 && fg > 100);
    CHECK(iou > 0.0f && iou <= 1.01f);
    printf("  slice %d: %zu foreground pixels, IoU %.3f, %.2f s (encoder + decoder)\n", SLICE, fg,
           (double)iou, t1 - t0);
    if (missed || extra) printf("  %zu missed, %zu extra voxels vs the official segs\n", missed, extra);

    /* Again, cached (decoder only), into a strided U8 buffer (rows padded by 5): same mask,
     * padding untouched; iou_out may be NULL. */
    const size_t row = g_w + 5;
    uint8_t *pad = malloc(row * g_h);
    CHECK(pad != NULL);
    if (pad) {
        memset(pad, 0xCD, row * g_h);
        medseg_image_view_mut pv = out_view(pad, row * g_h, MEDSEG_PIXEL_TYPE_U8, g);
        pv.strides[0] = 1;
        pv.strides[1] = row;
        pv.strides[2] = row * g_h;
        t0 = now();
        CHECK_STATUS(medseg_sam_predict_2d(s, SLICE, BOX2D, &pv, NULL), MEDSEG_STATUS_OK);
        t1 = now();
        size_t diff = 0, pad_changed = 0;
        for (size_t j = 0; j < g_h; j++) {
            for (size_t i = 0; i < g_w; i++) diff += pad[j * row + i] != g_mask22[j * g_w + i];
            for (size_t i = g_w; i < row; i++) pad_changed += pad[j * row + i] != 0xCD;
        }
        CHECK(diff == 0 && pad_changed == 0);
        printf("  cached slice: %.3f s (decoder only)\n", t1 - t0);
        free(pad);
    }
    medseg_sam_session_free(s);
}

static void test_sam_bad_arguments(void) {
    if (!g_ct || !g_model) {
        CHECK(false);
        return;
    }
    medseg_sam_session *s = (medseg_sam_session *)(uintptr_t)1;
    /* Session creation. */
    CHECK_STATUS(medseg_sam_session_create(NULL, &g_view, &s), MEDSEG_STATUS_NULL_ARGUMENT);
    CHECK(s == NULL);
    CHECK_STATUS(medseg_sam_session_create(g_model, NULL, &s), MEDSEG_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(medseg_sam_session_create(g_model, &g_view, NULL), MEDSEG_STATUS_NULL_ARGUMENT);
    medseg_image_view b = g_view;
    b.data = NULL;
    CHECK_STATUS(medseg_sam_session_create(g_model, &b, &s), MEDSEG_STATUS_NULL_ARGUMENT);
    /* Not uint8: PIXEL_TYPE, saying what to do. */
    b = g_view;
    b.pixel_type = MEDSEG_PIXEL_TYPE_I16;
    b.geometry.size[2] = g_d / 2;
    CHECK_STATUS(medseg_sam_session_create(g_model, &b, &s), MEDSEG_STATUS_PIXEL_TYPE);
    CHECK(contains(medseg_last_error_message(), "uint8"));
    CHECK(s == NULL);
    b.pixel_type = 77;
    CHECK_STATUS(medseg_sam_session_create(g_model, &b, &s), MEDSEG_STATUS_PIXEL_TYPE);
    /* 2 components; a strided view; a buffer too short. */
    b = g_view;
    b.components = 2;
    b.geometry.size[2] = g_d / 2;
    CHECK_STATUS(medseg_sam_session_create(g_model, &b, &s), MEDSEG_STATUS_UNSUPPORTED);
    b = g_view;
    b.geometry.size[0] = g_w - 1;
    b.strides[0] = 1;
    b.strides[1] = g_w;
    b.strides[2] = g_w * g_h;
    CHECK_STATUS(medseg_sam_session_create(g_model, &b, &s), MEDSEG_STATUS_INVALID_ARGUMENT);
    CHECK(contains(medseg_last_error_message(), "contiguous"));
    b = g_view;
    b.len_bytes -= 1;
    CHECK_STATUS(medseg_sam_session_create(g_model, &b, &s), MEDSEG_STATUS_MISMATCH);
    CHECK(s == NULL);

    s = new_session();
    if (!s) return;
    const size_t n = g_w * g_h;
    uint8_t *mask = malloc(n);
    CHECK(mask != NULL);
    if (!mask) return;
    memset(mask, 0xAB, n);
    medseg_geometry g = slice_grid(SLICE);
    medseg_image_view_mut mv = out_view(mask, n, MEDSEG_PIXEL_TYPE_U8, g);
    float iou = -7.0f;
    CHECK_STATUS(medseg_sam_predict_2d(NULL, SLICE, BOX2D, &mv, &iou), MEDSEG_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(medseg_sam_predict_2d(s, SLICE, NULL, &mv, &iou), MEDSEG_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(medseg_sam_predict_2d(s, SLICE, BOX2D, NULL, &iou), MEDSEG_STATUS_NULL_ARGUMENT);
    /* Boxes outside the image, inverted, not finite: INVALID_ARGUMENT naming the box. */
    const double outside[4] = {300, 300, 400, 400};
    const double left[4] = {-50, 10, -1, 40};
    const double inverted[4] = {169, 17, 40, 176};
    const double nan_box[4] = {40, NAN, 169, 176};
    const double *bad[] = {outside, left, inverted, nan_box};
    for (size_t i = 0; i < 4; i++) {
        CHECK_STATUS(medseg_sam_predict_2d(s, SLICE, bad[i], &mv, &iou),
                     MEDSEG_STATUS_INVALID_ARGUMENT);
        CHECK(contains(medseg_last_error_message(), "box"));
    }
    /* Slices outside the image. */
    const int64_t bad_k[] = {-1, (int64_t)g_d, INT64_MAX, INT64_MIN};
    for (size_t i = 0; i < 4; i++) {
        CHECK_STATUS(medseg_sam_predict_2d(s, bad_k[i], BOX2D, &mv, &iou),
                     MEDSEG_STATUS_INVALID_ARGUMENT);
    }
    /* The mask view: slice 21's grid is not slice 22's; U16; 2 components; the image's own
     * memory. */
    medseg_image_view_mut bm = out_view(mask, n, MEDSEG_PIXEL_TYPE_U8, slice_grid(SLICE - 1));
    CHECK_STATUS(medseg_sam_predict_2d(s, SLICE, BOX2D, &bm, &iou), MEDSEG_STATUS_MISMATCH);
    bm = out_view(mask, n, MEDSEG_PIXEL_TYPE_U16, g);
    bm.geometry.size[0] = g_w / 2;
    CHECK_STATUS(medseg_sam_predict_2d(s, SLICE, BOX2D, &bm, &iou), MEDSEG_STATUS_MISMATCH);
    bm.geometry = g;
    bm.len_bytes = n;
    uint16_t *wide = malloc(2 * n);
    CHECK(wide != NULL);
    if (wide) {
        medseg_image_view_mut w16 = out_view(wide, 2 * n, MEDSEG_PIXEL_TYPE_U16, g);
        CHECK_STATUS(medseg_sam_predict_2d(s, SLICE, BOX2D, &w16, &iou), MEDSEG_STATUS_PIXEL_TYPE);
        free(wide);
    }
    medseg_image_view_mut alias =
        out_view((void *)(uintptr_t)g_view.data, n, MEDSEG_PIXEL_TYPE_U8, g);
    CHECK_STATUS(medseg_sam_predict_2d(s, SLICE, BOX2D, &alias, &iou),
                 MEDSEG_STATUS_INVALID_ARGUMENT);
    CHECK(contains(medseg_last_error_message(), "overlap"));
    /* 3D: NULL box, degenerate boxes, label 0, a label too large for U8. */
    uint8_t *vol = malloc(n * g_d);
    CHECK(vol != NULL);
    if (vol) {
        memset(vol, 0xAB, n * g_d);
        medseg_image_view_mut ov = out_view(vol, n * g_d, MEDSEG_PIXEL_TYPE_U8, g_view.geometry);
        CHECK_STATUS(medseg_sam_predict_3d(s, NULL, 1, NULL, NULL, &ov),
                     MEDSEG_STATUS_NULL_ARGUMENT);
        CHECK_STATUS(medseg_sam_predict_3d(s, BOX3D, 1, NULL, NULL, NULL),
                     MEDSEG_STATUS_NULL_ARGUMENT);
        const double z_outside[6] = {40, 17, 50, 169, 176, 60};
        const double z_inverted[6] = {40, 17, 30, 169, 176, 20};
        const double xy_outside[6] = {300, 300, 0, 400, 400, 45};
        const double *bad3[] = {z_outside, z_inverted, xy_outside};
        for (size_t i = 0; i < 3; i++) {
            CHECK_STATUS(medseg_sam_predict_3d(s, bad3[i], 1, NULL, NULL, &ov),
                         MEDSEG_STATUS_INVALID_ARGUMENT);
        }
        CHECK_STATUS(medseg_sam_predict_3d(s, BOX3D, 0, NULL, NULL, &ov),
                     MEDSEG_STATUS_INVALID_ARGUMENT);
        CHECK_STATUS(medseg_sam_predict_3d(s, BOX3D, 300, NULL, NULL, &ov),
                     MEDSEG_STATUS_PIXEL_TYPE);
        medseg_image_view_mut wrong = ov;
        wrong.geometry.spacing[2] *= 2.0;
        CHECK_STATUS(medseg_sam_predict_3d(s, BOX3D, 1, NULL, NULL, &wrong),
                     MEDSEG_STATUS_MISMATCH);
        size_t changed = 0;
        for (size_t v = 0; v < n * g_d; v++) changed += vol[v] != 0xAB;
        CHECK(changed == 0);
        free(vol);
    }
    /* Encoding: bad ranges. */
    CHECK_STATUS(medseg_sam_encode_slices(NULL, 0, 0, NULL, NULL), MEDSEG_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(medseg_sam_encode_slices(s, 5, 4, NULL, NULL), MEDSEG_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(medseg_sam_encode_slices(s, -1, 4, NULL, NULL), MEDSEG_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(medseg_sam_encode_slices(s, 0, (int64_t)g_d, NULL, NULL),
                 MEDSEG_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(medseg_sam_session_slice_geometry(s, (int64_t)g_d, &g),
                 MEDSEG_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(medseg_sam_session_slice_geometry(s, 0, NULL), MEDSEG_STATUS_NULL_ARGUMENT);
    /* None of the failures wrote the outputs. */
    size_t changed = 0;
    for (size_t v = 0; v < n; v++) changed += mask[v] != 0xAB;
    CHECK(changed == 0 && iou == -7.0f);
    free(mask);

    /* Stale and foreign handles. */
    medseg_sam_session *stale = s;
    medseg_sam_session_free(s);
    CHECK_STATUS(medseg_sam_encode_slices(stale, 0, 0, NULL, NULL), MEDSEG_STATUS_INVALID_HANDLE);
    medseg_sam_session_free(stale);
    CHECK(contains(medseg_last_error_message(), "not a live medseg_sam_session"));
    medseg_sam_session_free((medseg_sam_session *)(void *)g_model); /* refused: not a session */
    CHECK(contains(medseg_last_error_message(), "medseg_sam_session"));
    CHECK_STATUS(medseg_sam_encode_slices((const medseg_sam_session *)(const void *)g_model, 0, 0,
                                          NULL, NULL),
                 MEDSEG_STATUS_INVALID_HANDLE);
    medseg_sam_session_free(NULL);
}

typedef struct {
    int calls;
    int cancel_at; /* cancel on this call (1-based); 0 = never */
    double last;
    int decreasing;
} progress_log;

static bool on_progress(void *userdata, double fraction, const char *stage) {
    progress_log *p = userdata;
    p->calls++;
    if (fraction < p->last || fraction < 0.0 || fraction > 1.0 || stage == NULL || !stage[0])
        p->decreasing = 1;
    p->last = fraction;
    return p->cancel_at == 0 || p->calls < p->cancel_at;
}

/* Box 1 of the oracle case over all 46 slices: every voxel where the official segs hold 1 is
 * set, none where no box won; slice 22 equals the 2D prediction. */
static void test_sam_predict_3d(void) {
    if (!g_ct || !g_model || !g_mask22) {
        CHECK(false);
        return;
    }
    medseg_sam_session *s = new_session();
    if (!s) return;
    const size_t n = g_w * g_h * g_d;
    g_vol = malloc(n);
    CHECK(g_vol != NULL);
    if (!g_vol) return;
    memset(g_vol, 0xAB, n);
    medseg_image_view_mut ov = out_view(g_vol, n, MEDSEG_PIXEL_TYPE_U8, g_view.geometry);
    progress_log p = {0, 0, 0.0, 0};
    double t0 = now();
    CHECK_STATUS(medseg_sam_predict_3d(s, BOX3D, 1, on_progress, &p, &ov), MEDSEG_STATUS_OK);
    double t1 = now();
    CHECK(p.calls == 47 && !p.decreasing && p.last == 1.0);
    size_t missed, extra, fg;
    compare_with_segs(g_vol, 1, 0, n, &missed, &extra, &fg);
    CHECK(missed == 0 && extra == 0 && fg > 1000);
    CHECK(memcmp(g_vol + SLICE * g_w * g_h, g_mask22, g_w * g_h) == 0);
    printf("  box 1 over %zu slices: %zu voxels, %d progress calls, %.1f s\n", g_d, fg, p.calls,
           t1 - t0);
    if (missed || extra) printf("  %zu missed, %zu extra voxels vs the official segs\n", missed, extra);
    medseg_sam_session_free(s);
}

/* A box over slices 21..23: the middle slice 22 gets the given box, 23 and 21 the box of slice
 * 22's mask, exactly as in the full propagation, so the result equals the full run on those
 * slices. Deterministic (a second run is identical); U16 output with label 7. Cancelling from
 * the callback after the first slice leaves the output untouched. */
static void test_sam_3d_small_and_cancel(void) {
    if (!g_ct || !g_model) {
        CHECK(false);
        return;
    }
    medseg_sam_session *s = new_session();
    if (!s) return;
    const size_t plane = g_w * g_h, n = plane * g_d;
    uint16_t *a = malloc(n * 2), *b = malloc(n * 2);
    CHECK(a != NULL && b != NULL);
    if (a && b) {
        const double box[6] = {40, 17, 21, 169, 176, 23};
        memset(a, 0xAB, n * 2);
        medseg_image_view_mut av = out_view(a, n * 2, MEDSEG_PIXEL_TYPE_U16, g_view.geometry);
        /* Cancel after the first slice: output untouched. */
        progress_log c = {0, 2, 0.0, 0};
        CHECK_STATUS(medseg_sam_predict_3d(s, box, 7, on_progress, &c, &av),
                     MEDSEG_STATUS_CANCELLED);
        CHECK(c.calls == 2);
        size_t changed = 0;
        for (size_t v = 0; v < n; v++) changed += a[v] != 0xABAB;
        CHECK(changed == 0);
        progress_log p = {0, 0, 0.0, 0};
        CHECK_STATUS(medseg_sam_predict_3d(s, box, 7, on_progress, &p, &av), MEDSEG_STATUS_OK);
        CHECK(p.calls == 4 && !p.decreasing && p.last == 1.0);
        medseg_image_view_mut bv = out_view(b, n * 2, MEDSEG_PIXEL_TYPE_U16, g_view.geometry);
        CHECK_STATUS(medseg_sam_predict_3d(s, box, 7, NULL, NULL, &bv), MEDSEG_STATUS_OK);
        CHECK(memcmp(a, b, n * 2) == 0);
        size_t outside = 0, diff = 0, fg = 0;
        for (size_t k = 0; k < g_d; k++)
            for (size_t v = 0; v < plane; v++) {
                uint16_t x = a[k * plane + v];
                if (x != 0 && x != 7) outside++;
                if (k < 21 || k > 23) {
                    outside += x != 0;
                } else {
                    fg += x == 7;
                    if (g_vol) diff += (x == 7) != (g_vol[k * plane + v] == 1);
                    if (k == SLICE && g_mask22) diff += (x == 7) != (g_mask22[v] == 1);
                }
            }
        CHECK(outside == 0 && diff == 0 && fg > 100);
        printf("  3-slice box: %zu voxels, identical twice%s\n", fg,
               g_vol ? ", equal to the full run on slices 21..23" : "");
    }
    free(a);
    free(b);
    medseg_sam_session_free(s);
}

/* Cancelling at the first progress call (before any slice is encoded): CANCELLED, outputs
 * untouched, nothing encoded (cheap). */
static void test_sam_cancel_before_encoding(void) {
    if (!g_ct || !g_model) {
        CHECK(false);
        return;
    }
    medseg_sam_session *s = new_session();
    if (!s) return;
    const size_t n = g_w * g_h * g_d;
    uint8_t *out = malloc(n);
    CHECK(out != NULL);
    if (out) {
        memset(out, 0xAB, n);
        medseg_image_view_mut ov = out_view(out, n, MEDSEG_PIXEL_TYPE_U8, g_view.geometry);
        progress_log p = {0, 1, 0.0, 0};
        CHECK_STATUS(medseg_sam_predict_3d(s, BOX3D, 1, on_progress, &p, &ov),
                     MEDSEG_STATUS_CANCELLED);
        CHECK(p.calls == 1 && p.last == 0.0);
        CHECK(contains(medseg_last_error_message(), "cancel"));
        size_t changed = 0;
        for (size_t v = 0; v < n; v++) changed += out[v] != 0xAB;
        CHECK(changed == 0);
        progress_log q = {0, 1, 0.0, 0};
        CHECK_STATUS(medseg_sam_encode_slices(s, 0, (int64_t)g_d - 1, on_progress, &q),
                     MEDSEG_STATUS_CANCELLED);
        CHECK(q.calls == 1);
        free(out);
    }
    medseg_sam_session_free(s);
}

static void test_sam_encode_slices(void) {
    if (!g_ct || !g_model) {
        CHECK(false);
        return;
    }
    medseg_sam_session *s = new_session();
    if (!s) return;
    progress_log p = {0, 2, 0.0, 0};
    CHECK_STATUS(medseg_sam_encode_slices(s, 20, 23, on_progress, &p), MEDSEG_STATUS_CANCELLED);
    CHECK(p.calls == 2);
    progress_log q = {0, 0, 0.0, 0};
    double t0 = now();
    CHECK_STATUS(medseg_sam_encode_slices(s, 20, 23, on_progress, &q), MEDSEG_STATUS_OK);
    double t1 = now();
    CHECK(q.calls == 5 && !q.decreasing && q.last == 1.0);
    /* Cached now: a 2D prediction on slice 22 is decoder-only and equals the reference. */
    const size_t n = g_w * g_h;
    uint8_t *mask = malloc(n);
    CHECK(mask != NULL);
    if (mask) {
        medseg_image_view_mut mv = out_view(mask, n, MEDSEG_PIXEL_TYPE_U8, slice_grid(SLICE));
        double t2 = now();
        CHECK_STATUS(medseg_sam_predict_2d(s, SLICE, BOX2D, &mv, NULL), MEDSEG_STATUS_OK);
        double t3 = now();
        if (g_mask22) CHECK(memcmp(mask, g_mask22, n) == 0);
        printf("  encoded 4 slices in %.2f s; then predict_2d %.3f s\n", t1 - t0, t3 - t2);
        free(mask);
    }
    medseg_sam_session_free(s);
}

/* A session made from the medseg_image (uint8: used as is) predicts what the view session does;
 * other intensity rules; rebinding a session to another view. */
static void test_sam_from_image_and_rebind(void) {
    if (!g_ct || !g_model || !g_mask22) {
        CHECK(false);
        return;
    }
    medseg_sam_session *s = NULL;
    CHECK_STATUS(medseg_sam_session_create_from_image(g_model, g_ct, NULL, &s), MEDSEG_STATUS_OK);
    const size_t n = g_w * g_h;
    uint8_t *mask = malloc(n);
    CHECK(mask != NULL);
    if (s && mask) {
        medseg_image_view_mut mv = out_view(mask, n, MEDSEG_PIXEL_TYPE_U8, slice_grid(SLICE));
        CHECK_STATUS(medseg_sam_predict_2d(s, SLICE, BOX2D, &mv, NULL), MEDSEG_STATUS_OK);
        CHECK(memcmp(mask, g_mask22, n) == 0);
        /* Rebind to a 2D picture (slice 22 of the volume as an RGB picture) and back. */
        uint8_t *rgb = malloc(3 * n);
        CHECK(rgb != NULL);
        if (rgb) {
            const uint8_t *src = (const uint8_t *)g_view.data + SLICE * n;
            for (size_t v = 0; v < n; v++) rgb[3 * v] = rgb[3 * v + 1] = rgb[3 * v + 2] = src[v];
            medseg_image_view pic = g_view;
            pic.data = rgb;
            pic.len_bytes = 3 * n;
            pic.components = 3;
            pic.geometry.size[2] = 1;
            CHECK_STATUS(medseg_sam_session_set_image(s, &pic), MEDSEG_STATUS_OK);
            medseg_image_view_mut pv = out_view(mask, n, MEDSEG_PIXEL_TYPE_U8, pic.geometry);
            memset(mask, 0, n);
            CHECK_STATUS(medseg_sam_predict_2d(s, 0, BOX2D, &pv, NULL), MEDSEG_STATUS_OK);
            /* Grey replicated to RGB is the same input to the encoder. */
            CHECK(memcmp(mask, g_mask22, n) == 0);
            CHECK_STATUS(medseg_sam_predict_2d(s, 1, BOX2D, &pv, NULL),
                         MEDSEG_STATUS_INVALID_ARGUMENT);
            /* A failed rebind keeps the current image. */
            medseg_image_view bad = pic;
            bad.pixel_type = MEDSEG_PIXEL_TYPE_F32;
            CHECK_STATUS(medseg_sam_session_set_image(s, &bad), MEDSEG_STATUS_PIXEL_TYPE);
            CHECK_STATUS(medseg_sam_predict_2d(s, 0, BOX2D, &pv, NULL), MEDSEG_STATUS_OK);
            CHECK_STATUS(medseg_sam_session_set_image(s, NULL), MEDSEG_STATUS_NULL_ARGUMENT);
            CHECK_STATUS(medseg_sam_session_set_image(s, &g_view), MEDSEG_STATUS_OK);
            free(rgb);
        }
    }
    medseg_sam_session_free(s);
    free(mask);
}

/* Sessions made from a non-uint8 medseg_image (an int16 copy of the volume) with each kind of
 * intensity rule; bad rules and handles. Encodes nothing. */
static void test_sam_intensity_rules(void) {
    if (!g_ct || !g_model) {
        CHECK(false);
        return;
    }
    medseg_sam_session *s = NULL;
    const size_t nv = g_w * g_h * g_d;
    int16_t *hu = malloc(nv * 2);
    CHECK(hu != NULL);
    if (hu) {
        const uint8_t *src = g_view.data;
        for (size_t v = 0; v < nv; v++) hu[v] = (int16_t)((int)src[v] * 4 - 1000);
        medseg_image_view hv = g_view;
        hv.data = hu;
        hv.len_bytes = nv * 2;
        hv.pixel_type = MEDSEG_PIXEL_TYPE_I16;
        medseg_image *img = NULL;
        CHECK_STATUS(medseg_image_from_view(&hv, &img), MEDSEG_STATUS_OK);
        free(hu);
        const char *rules[] = {NULL, "auto", "brain", "percentiles", "40,400"};
        for (size_t r = 0; r < 5; r++) {
            s = NULL;
            CHECK_STATUS(medseg_sam_session_create_from_image(g_model, img, rules[r], &s),
                         MEDSEG_STATUS_OK);
            CHECK(s != NULL);
            medseg_sam_session_free(s);
        }
        s = (medseg_sam_session *)(uintptr_t)1;
        CHECK_STATUS(medseg_sam_session_create_from_image(g_model, img, "nonsense", &s),
                     MEDSEG_STATUS_INVALID_ARGUMENT);
        CHECK(s == NULL);
        CHECK_STATUS(medseg_sam_session_create_from_image(g_model, NULL, NULL, &s),
                     MEDSEG_STATUS_NULL_ARGUMENT);
        CHECK_STATUS(medseg_sam_session_create_from_image(g_model, img, NULL, NULL),
                     MEDSEG_STATUS_NULL_ARGUMENT);
        CHECK_STATUS(medseg_sam_session_create_from_image(
                         g_model, (const medseg_image *)(const void *)g_model, NULL, &s),
                     MEDSEG_STATUS_INVALID_HANDLE);
        medseg_image_free(img);
    }
}

/* 2 threads share the model handle, each with its own session on the same image. */
typedef struct {
    uint8_t *mask;
    medseg_status status;
} thread_job;

static void *predict_on_thread(void *arg) {
    thread_job *job = arg;
    medseg_sam_session *s = NULL;
    job->status = medseg_sam_session_create(g_model, &g_view, &s);
    if (job->status != MEDSEG_STATUS_OK) return NULL;
    medseg_image_view_mut mv = out_view(job->mask, g_w * g_h, MEDSEG_PIXEL_TYPE_U8,
                                        slice_grid(SLICE));
    job->status = medseg_sam_predict_2d(s, SLICE, BOX2D, &mv, NULL);
    medseg_sam_session_free(s);
    return NULL;
}

static void test_sam_threads(void) {
    if (!g_ct || !g_model || !g_mask22) {
        CHECK(false);
        return;
    }
    thread_job jobs[2];
    pthread_t t[2];
    int started = 0;
    for (int i = 0; i < 2; i++) {
        jobs[i].mask = calloc(g_w * g_h, 1);
        jobs[i].status = MEDSEG_STATUS_INTERNAL;
        CHECK(jobs[i].mask != NULL);
    }
    for (int i = 0; i < 2 && jobs[0].mask && jobs[1].mask; i++)
        if (pthread_create(&t[i], NULL, predict_on_thread, &jobs[i]) == 0) started++;
    CHECK(started == 2);
    for (int i = 0; i < started; i++) pthread_join(t[i], NULL);
    for (int i = 0; i < started; i++) {
        CHECK_STATUS(jobs[i].status, MEDSEG_STATUS_OK);
        CHECK(memcmp(jobs[i].mask, g_mask22, g_w * g_h) == 0);
    }
    for (int i = 0; i < 2; i++) free(jobs[i].mask);
}

/* Sessions keep the networks alive: freeing the model first is allowed. */
static void test_sam_free_model_first(void) {
    if (!g_ct || !g_model) {
        CHECK(false);
        return;
    }
    medseg_sam_session *s = new_session();
    medseg_sam_model *stale = g_model;
    medseg_sam_model_free(g_model);
    g_model = NULL;
    medseg_sam_session *none = (medseg_sam_session *)(uintptr_t)1;
    CHECK_STATUS(medseg_sam_session_create(stale, &g_view, &none), MEDSEG_STATUS_INVALID_HANDLE);
    CHECK(none == NULL);
    const size_t n = g_w * g_h;
    uint8_t *mask = malloc(n);
    CHECK(mask != NULL);
    medseg_geometry g;
    CHECK_STATUS(medseg_sam_session_slice_geometry(s, SLICE, &g), MEDSEG_STATUS_OK);
    if (s && mask && !g_short) {
        medseg_image_view_mut mv = out_view(mask, n, MEDSEG_PIXEL_TYPE_U8, slice_grid(SLICE));
        CHECK_STATUS(medseg_sam_predict_2d(s, SLICE, BOX2D, &mv, NULL), MEDSEG_STATUS_OK);
        if (g_mask22) CHECK(memcmp(mask, g_mask22, n) == 0);
    }
    free(mask);
    medseg_sam_session_free(s);
}

int main(int argc, char **argv) {
    if (argc > 1) g_model_dir = argv[1];
    if (argc > 2) g_fixture_dir = argv[2];
    g_short = argc > 3 && strcmp(argv[3], "short") == 0;
    const test_case cases[] = {
        {"sam_read_fixture", test_sam_read_fixture},
        {"sam_load", test_sam_load},
        {"sam_load_errors", test_sam_load_errors},
        {"sam_predict_2d", test_sam_predict_2d},
        {"sam_bad_arguments", test_sam_bad_arguments},
        {"sam_predict_3d", test_sam_predict_3d},
        {"sam_cancel_before_encoding", test_sam_cancel_before_encoding},
        {"sam_3d_small_and_cancel", test_sam_3d_small_and_cancel},
        {"sam_encode_slices", test_sam_encode_slices},
        {"sam_from_image_and_rebind", test_sam_from_image_and_rebind},
        {"sam_intensity_rules", test_sam_intensity_rules},
        {"sam_threads", test_sam_threads},
        {"sam_free_model_first", test_sam_free_model_first},
    };
    const test_case short_cases[] = {
        {"sam_read_fixture", test_sam_read_fixture},
        {"sam_load", test_sam_load},
        {"sam_load_errors", test_sam_load_errors},
        {"sam_bad_arguments", test_sam_bad_arguments},
        {"sam_cancel_before_encoding", test_sam_cancel_before_encoding},
        {"sam_intensity_rules", test_sam_intensity_rules},
        {"sam_free_model_first", test_sam_free_model_first},
    };
    int rc = g_short ? run_cases(short_cases, sizeof short_cases / sizeof short_cases[0])
                     : run_cases(cases, sizeof cases / sizeof cases[0]);
    medseg_sam_model_free(g_model);
    medseg_image_free(g_ct);
    medseg_image_free(g_segs);
    free(g_mask22);
    free(g_vol);
    return rc;
}
