/*
 * C API tests of the callbacks: progress fractions and stages reach the caller, returning
 * false cancels (MEDSEG_STATUS_CANCELLED, output buffer byte-identical to before), and the log
 * callback receives the engine's messages (model loaded, the "auto" device fallback), and is
 * removed by NULL.
 *
 * Usage: test_callbacks MODEL_DIR
 */
#define _POSIX_C_SOURCE 200809L

#include "common.h"

#include <pthread.h>

static const char *g_model_dir = "tests/fixtures/nnunet/models/Dataset900_TinyCT";

enum { NI = 40, NJ = 36, NK = 10, NVOX = NI * NJ * NK };
static float g_ct[NVOX];

static medseg_geometry ct_grid(void) {
    medseg_geometry g = {{NI, NJ, NK},
                         {0.9, 0.9, 2.0},
                         {0.0, 0.0, 0.0},
                         {1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0}};
    return g;
}

static medseg_model *load_model(const char *device) {
    medseg_model_options o;
    medseg_model_options_init(&o);
    o.tta = false;
    o.folds = "0";
    o.threads = 1;
    o.device = device;
    medseg_model *m = NULL;
    CHECK_STATUS(medseg_model_load(g_model_dir, &o, &m), MEDSEG_STATUS_OK);
    return m;
}

/* Progress recorder: cancels when the fraction reaches `cancel_at` (> 1 = never). */
typedef struct {
    double cancel_at;
    int calls;
    double last;
    int monotonic;
    int in_range;
    int stage_ok;
} progress_state;

static bool on_progress(void *userdata, double fraction, const char *stage) {
    progress_state *p = userdata;
    p->calls++;
    if (fraction < p->last) p->monotonic = 0;
    if (!(fraction >= 0.0 && fraction <= 1.0)) p->in_range = 0;
    if (stage == NULL || stage[0] == '\0') p->stage_ok = 0;
    p->last = fraction;
    return fraction < p->cancel_at;
}

static progress_state new_progress(double cancel_at) {
    progress_state p = {cancel_at, 0, 0.0, 1, 1, 1};
    return p;
}

static void test_progress(void) {
    medseg_model *m = load_model(NULL);
    if (m == NULL) return;
    medseg_image_view in = in_view(g_ct, sizeof g_ct, MEDSEG_PIXEL_TYPE_F32, ct_grid());
    static uint8_t out[NVOX];
    medseg_image_view_mut o = out_view(out, sizeof out, MEDSEG_PIXEL_TYPE_U8, ct_grid());
    progress_state p = new_progress(2.0);
    CHECK_STATUS(medseg_predict(m, &in, on_progress, &p, &o), MEDSEG_STATUS_OK);
    CHECK(p.calls >= 3);
    CHECK(p.monotonic && p.in_range && p.stage_ok);
    CHECK(p.last >= 0.95);
    printf("  %d progress calls, last fraction %.3f\n", p.calls, p.last);
    medseg_model_free(m);
}

/* Cancelling (at the first call, or half-way) returns CANCELLED and leaves the output
 * byte-identical to before. */
static void test_cancel_leaves_output_untouched(void) {
    medseg_model *m = load_model(NULL);
    if (m == NULL) return;
    medseg_image_view in = in_view(g_ct, sizeof g_ct, MEDSEG_PIXEL_TYPE_F32, ct_grid());
    static uint8_t out[NVOX], before[NVOX];
    for (size_t i = 0; i < NVOX; i++) out[i] = (uint8_t)(i * 131u + 7u);
    memcpy(before, out, sizeof out);
    medseg_image_view_mut o = out_view(out, sizeof out, MEDSEG_PIXEL_TYPE_U8, ct_grid());
    const double cancel_at[] = {0.0, 0.5, 0.96};
    for (size_t c = 0; c < 3; c++) {
        progress_state p = new_progress(cancel_at[c]);
        CHECK_STATUS(medseg_predict(m, &in, on_progress, &p, &o), MEDSEG_STATUS_CANCELLED);
        CHECK(p.calls >= 1);
        CHECK(contains(medseg_last_error_message(), "cancel"));
        CHECK(memcmp(out, before, sizeof out) == 0);
    }
    /* The model is usable after a cancelled run. */
    progress_state p = new_progress(2.0);
    CHECK_STATUS(medseg_predict(m, &in, on_progress, &p, &o), MEDSEG_STATUS_OK);
    CHECK(memcmp(out, before, sizeof out) != 0);
    medseg_model_free(m);
}

/* Log recorder (the callback may run on any thread). */
static pthread_mutex_t g_log_lock = PTHREAD_MUTEX_INITIALIZER;
typedef struct {
    int count;
    int bad_level;
    int loaded_info;
    int fallback_warning;
} log_state;

static void on_log(void *userdata, uint32_t level, const char *message) {
    log_state *s = userdata;
    pthread_mutex_lock(&g_log_lock);
    s->count++;
    if (level < MEDSEG_LOG_LEVEL_ERROR || level > MEDSEG_LOG_LEVEL_DEBUG) s->bad_level = 1;
    if (level == MEDSEG_LOG_LEVEL_INFO && contains(message, "loaded model")) s->loaded_info = 1;
    if (level == MEDSEG_LOG_LEVEL_WARNING && contains(message, "CPU")) s->fallback_warning = 1;
    pthread_mutex_unlock(&g_log_lock);
}

static void test_log_callback(void) {
    log_state s = {0, 0, 0, 0};
    medseg_set_log_callback(on_log, &s);
    /* device "auto" on a build without CUDA falls back to the CPU with a warning. */
    medseg_model *m = load_model("auto");
    CHECK(s.loaded_info);
    if (m != NULL) {
        medseg_image_view in = in_view(g_ct, sizeof g_ct, MEDSEG_PIXEL_TYPE_F32, ct_grid());
        static uint8_t out[NVOX];
        medseg_image_view_mut o = out_view(out, sizeof out, MEDSEG_PIXEL_TYPE_U8, ct_grid());
        CHECK_STATUS(medseg_predict(m, &in, NULL, NULL, &o), MEDSEG_STATUS_OK);
        CHECK(s.fallback_warning);
    }
    CHECK(s.count >= 2 && !s.bad_level);
    /* NULL removes the callback: nothing more arrives. */
    medseg_set_log_callback(NULL, NULL);
    int before = s.count;
    medseg_model *m2 = load_model(NULL);
    CHECK(s.count == before);
    medseg_model_free(m2);
    medseg_model_free(m);
}

int main(int argc, char **argv) {
    if (argc > 1) g_model_dir = argv[1];
    for (int k = 0; k < NK; k++)
        for (int j = 0; j < NJ; j++)
            for (int i = 0; i < NI; i++) {
                double a = (i - 20) / 9.0, b = (j - 18) / 8.0, c = (k - 5) / 3.0;
                g_ct[(k * NJ + j) * NI + i] = a * a + b * b + c * c < 1.0 ? 80.0f : -60.0f;
            }
    const test_case cases[] = {
        {"progress", test_progress},
        {"cancel_leaves_output_untouched", test_cancel_leaves_output_untouched},
        {"log_callback", test_log_callback},
    };
    return run_cases(cases, sizeof cases / sizeof cases[0]);
}
