/*
 * C API tests of models: options, load, labels, predict into a caller buffer (strided), bad
 * arguments and out-of-range enumeration values for every model function, stale handles,
 * 8 threads predicting with one shared model handle, and the panic boundary.
 *
 * Uses the tiny nnU-Net oracle model tests/fixtures/nnunet/models/Dataset900_TinyCT (fold 0)
 * and the project's ONNX Runtime (run.sh sets MEDSEG_ORT_DYLIB).
 *
 * Usage: test_model MODEL_DIR [THREADS]
 * THREADS = 0 is the short run used under valgrind (run.sh): every case except the repeated
 * full predictions (one prediction, one cancelled run, no threads).
 */
#define _POSIX_C_SOURCE 200809L

#include "common.h"

#include <pthread.h>

static const char *g_model_dir = "tests/fixtures/nnunet/models/Dataset900_TinyCT";
static int g_threads = 8;
static medseg_model *g_model; /* shared by the cases after model_load */

/* A synthetic CT: 48 × 40 × 12 voxels of 0.8 × 0.8 × 2.2 mm, two bright ellipsoids in soft
 * tissue (int16 HU). */
enum { NI = 48, NJ = 40, NK = 12, NVOX = NI * NJ * NK };
static int16_t g_ct[NVOX];

static medseg_geometry ct_grid(void) {
    medseg_geometry g = {{NI, NJ, NK},
                         {0.8, 0.8, 2.2},
                         {-20.0, -16.0, 30.0},
                         {1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0}};
    return g;
}

static void make_ct(void) {
    for (int k = 0; k < NK; k++)
        for (int j = 0; j < NJ; j++)
            for (int i = 0; i < NI; i++) {
                double a = (i - 16) / 8.0, b = (j - 20) / 9.0, c = (k - 6) / 3.0;
                double d = (i - 34) / 6.0, e = (j - 18) / 6.0, f = (k - 5) / 2.5;
                int16_t v = (int16_t)(-80 + ((i * 7 + j * 3 + k * 5) % 23));
                if (a * a + b * b + c * c < 1.0) v = 60;
                if (d * d + e * e + f * f < 1.0) v = 250;
                g_ct[(k * NJ + j) * NI + i] = v;
            }
}

static medseg_image_view ct_view(void) {
    return in_view(g_ct, sizeof g_ct, MEDSEG_PIXEL_TYPE_I16, ct_grid());
}

static medseg_model_options fast_options(void) {
    medseg_model_options o;
    medseg_model_options_init(&o);
    o.tta = false;
    o.folds = "0";
    o.threads = 1;
    return o;
}

static void test_model_load(void) {
    medseg_model_options o;
    memset(&o, 0x5A, sizeof o);
    CHECK_STATUS(medseg_model_options_init(&o), MEDSEG_STATUS_OK);
    CHECK(o.struct_size == sizeof o);
    CHECK(o.pipeline == MEDSEG_PIPELINE_AUTO && o.device == NULL && o.threads == 0);
    CHECK(o.tta && !o.parity && o.step_size == 0.0 && o.folds == NULL && o.runtime_path == NULL);

    o = fast_options();
    o.pipeline = MEDSEG_PIPELINE_NNUNET;
    CHECK_STATUS(medseg_model_load(g_model_dir, &o, &g_model), MEDSEG_STATUS_OK);
    CHECK(g_model != NULL);
    size_t n = 0;
    CHECK_STATUS(medseg_model_input_channels(g_model, &n), MEDSEG_STATUS_OK);
    CHECK(n == 1);
    CHECK_STATUS(medseg_model_label_count(g_model, &n), MEDSEG_STATUS_OK);
    CHECK(n == 3);
    const char *want[3] = {"background", "organ_a", "organ_b"};
    for (size_t i = 0; i < 3 && i < n; i++) {
        uint32_t value = 99;
        const char *name = NULL;
        uint8_t rgb[3] = {1, 2, 3};
        CHECK_STATUS(medseg_model_label(g_model, i, &value, &name, rgb), MEDSEG_STATUS_OK);
        CHECK(value == i);
        CHECK(name != NULL && strcmp(name, want[i]) == 0);
        if (i == 0) CHECK(rgb[0] == 0 && rgb[1] == 0 && rgb[2] == 0);
        /* Each output is optional. */
        CHECK_STATUS(medseg_model_label(g_model, i, NULL, NULL, NULL), MEDSEG_STATUS_OK);
    }
    /* Defaults (NULL options) load too. */
    medseg_model *m2 = NULL;
    CHECK_STATUS(medseg_model_load(g_model_dir, NULL, &m2), MEDSEG_STATUS_OK);
    medseg_model_free(m2);
}

static void test_runtime_info(void) {
    /* The runtime the model runs with: version, path, execution providers; one static string. */
    const char *info = NULL;
    CHECK_STATUS(medseg_runtime_info(NULL, &info), MEDSEG_STATUS_OK);
    CHECK(info != NULL && strncmp(info, "ONNX Runtime 1.", 15) == 0);
    CHECK(info != NULL && strstr(info, "libonnxruntime") != NULL);
    CHECK(info != NULL && strstr(info, "CPUExecutionProvider") != NULL);
    const char *again = NULL;
    CHECK_STATUS(medseg_runtime_info(NULL, &again), MEDSEG_STATUS_OK);
    CHECK(again == info);
    /* Outputs only on success; a second runtime cannot replace the loaded one. */
    const char *untouched = "x";
    CHECK_STATUS(medseg_runtime_info(NULL, NULL), MEDSEG_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(medseg_runtime_info("/nonexistent/libonnxruntime.so", &untouched),
                 MEDSEG_STATUS_RUNTIME);
    CHECK(strcmp(untouched, "x") == 0);
    CHECK(strstr(medseg_last_error_message(), "onnxruntime") != NULL);
}

static void test_model_bad_arguments(void) {
    medseg_model *m = (medseg_model *)(uintptr_t)1;
    medseg_model_options o = fast_options();
    CHECK_STATUS(medseg_model_options_init(NULL), MEDSEG_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(medseg_model_load(NULL, &o, &m), MEDSEG_STATUS_NULL_ARGUMENT);
    CHECK(m == NULL);
    CHECK_STATUS(medseg_model_load(g_model_dir, &o, NULL), MEDSEG_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(medseg_model_load("/nonexistent/model", &o, &m), MEDSEG_STATUS_MODEL);
    CHECK(m == NULL && contains(medseg_last_error_message(), "/nonexistent/model"));
    /* Out-of-range pipeline numbers; an nnU-Net folder is not a TotalSpineSeg model. */
    const uint32_t bad_pipeline[] = {3, 77, 0xFFFFFFFFu};
    for (size_t i = 0; i < 3; i++) {
        medseg_model_options b = o;
        b.pipeline = bad_pipeline[i];
        CHECK_STATUS(medseg_model_load(g_model_dir, &b, &m), MEDSEG_STATUS_INVALID_ARGUMENT);
        CHECK(m == NULL);
    }
    medseg_model_options b = o;
    b.pipeline = MEDSEG_PIPELINE_TOTALSPINESEG;
    CHECK_STATUS(medseg_model_load(g_model_dir, &b, &m), MEDSEG_STATUS_MODEL);
    CHECK(m == NULL && contains(medseg_last_error_message(), "step1"));
    b = o;
    b.struct_size = 0;
    CHECK_STATUS(medseg_model_load(g_model_dir, &b, &m), MEDSEG_STATUS_INVALID_ARGUMENT);
    CHECK(contains(medseg_last_error_message(), "struct_size"));
    b = o;
    b.struct_size = sizeof b - 1;
    CHECK_STATUS(medseg_model_load(g_model_dir, &b, &m), MEDSEG_STATUS_INVALID_ARGUMENT);
    b = o;
    b.device = "gpu:x";
    CHECK_STATUS(medseg_model_load(g_model_dir, &b, &m), MEDSEG_STATUS_INVALID_ARGUMENT);
    b = o;
    b.step_size = 1.5;
    CHECK_STATUS(medseg_model_load(g_model_dir, &b, &m), MEDSEG_STATUS_INVALID_ARGUMENT);
    b.step_size = -0.5;
    CHECK_STATUS(medseg_model_load(g_model_dir, &b, &m), MEDSEG_STATUS_INVALID_ARGUMENT);
    b = o;
    b.folds = "7";
    CHECK(medseg_model_load(g_model_dir, &b, &m) != MEDSEG_STATUS_OK);
    CHECK(m == NULL && contains(medseg_last_error_message(), "7"));
    b.folds = ",";
    CHECK_STATUS(medseg_model_load(g_model_dir, &b, &m), MEDSEG_STATUS_INVALID_ARGUMENT);
    b = o;
    b.runtime_path = "/nonexistent/libonnxruntime.so.1.31.1";
    CHECK_STATUS(medseg_model_load(g_model_dir, &b, &m), MEDSEG_STATUS_RUNTIME);
    CHECK(m == NULL);

    /* Accessors. */
    size_t n = 5;
    CHECK_STATUS(medseg_model_input_channels(NULL, &n), MEDSEG_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(medseg_model_input_channels(g_model, NULL), MEDSEG_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(medseg_model_label_count(NULL, &n), MEDSEG_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(medseg_model_label_count(g_model, NULL), MEDSEG_STATUS_NULL_ARGUMENT);
    uint32_t value = 0;
    CHECK_STATUS(medseg_model_label(NULL, 0, &value, NULL, NULL), MEDSEG_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(medseg_model_label(g_model, 3, &value, NULL, NULL),
                 MEDSEG_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(medseg_model_label(g_model, (size_t)-1, &value, NULL, NULL),
                 MEDSEG_STATUS_INVALID_ARGUMENT);
    CHECK(n == 5 && value == 0); /* outputs untouched on failure */

    /* An image handle is not a model; a freed model is detected (not followed). */
    uint8_t px = 1;
    medseg_image_view iv = in_view(&px, 1, MEDSEG_PIXEL_TYPE_U8, grid(1, 1, 1));
    medseg_image *img = NULL;
    CHECK_STATUS(medseg_image_from_view(&iv, &img), MEDSEG_STATUS_OK);
    CHECK_STATUS(medseg_model_input_channels((const medseg_model *)(const void *)img, &n),
                 MEDSEG_STATUS_INVALID_HANDLE);
    medseg_model_free((medseg_model *)(void *)img); /* refused: not a model */
    CHECK(contains(medseg_last_error_message(), "medseg_model"));
    medseg_image_free(img);
    medseg_model *tmp = NULL;
    CHECK_STATUS(medseg_model_load(g_model_dir, &o, &tmp), MEDSEG_STATUS_OK);
    medseg_model *stale = tmp;
    medseg_model_free(tmp);
    CHECK_STATUS(medseg_model_label_count(stale, &n), MEDSEG_STATUS_INVALID_HANDLE);
    medseg_model_free(stale); /* double free: reported, ignored */
    CHECK(contains(medseg_last_error_message(), "not a live medseg_model"));
    medseg_model_free(NULL);
}

/* A predicted label map from the reference run (single thread), compared by the other cases. */
static uint8_t g_reference[NVOX];

static void test_predict(void) {
    medseg_image_view in = ct_view();
    memset(g_reference, 0xEE, sizeof g_reference);
    medseg_image_view_mut o = out_view(g_reference, sizeof g_reference, MEDSEG_PIXEL_TYPE_U8,
                                       ct_grid());
    CHECK_STATUS(medseg_predict(g_model, &in, NULL, NULL, &o), MEDSEG_STATUS_OK);
    size_t counts[3] = {0, 0, 0}, other = 0;
    for (size_t i = 0; i < NVOX; i++) {
        if (g_reference[i] < 3)
            counts[g_reference[i]]++;
        else
            other++;
    }
    CHECK(other == 0);
    CHECK(counts[0] > 0);
    printf("  labels: background %zu, organ_a %zu, organ_b %zu\n", counts[0], counts[1],
           counts[2]);

    /* U16 output, strided (rows padded by 3 elements, padding untouched): same labels. */
    enum { ROW = NI + 3 };
    static uint16_t wide[ROW * NJ * NK];
    for (size_t i = 0; i < sizeof wide / sizeof wide[0]; i++) wide[i] = 0xBEEF;
    medseg_image_view_mut o16 = out_view(wide, sizeof wide, MEDSEG_PIXEL_TYPE_U16, ct_grid());
    o16.strides[0] = 1;
    o16.strides[1] = ROW;
    o16.strides[2] = (size_t)ROW * NJ;
    CHECK_STATUS(medseg_predict(g_model, &in, NULL, NULL, &o16), MEDSEG_STATUS_OK);
    size_t diff = 0, pad_changed = 0;
    for (int k = 0; k < NK; k++)
        for (int j = 0; j < NJ; j++) {
            for (int i = 0; i < NI; i++)
                diff += wide[(k * NJ + j) * ROW + i] != g_reference[(k * NJ + j) * NI + i];
            for (int i = NI; i < ROW; i++) pad_changed += wide[(k * NJ + j) * ROW + i] != 0xBEEF;
        }
    CHECK(diff == 0 && pad_changed == 0);

    /* A float input of the same values predicts the same labels. */
    static float ctf[NVOX];
    for (size_t i = 0; i < NVOX; i++) ctf[i] = g_ct[i];
    medseg_image_view inf = in_view(ctf, sizeof ctf, MEDSEG_PIXEL_TYPE_F32, ct_grid());
    static uint8_t out2[NVOX];
    medseg_image_view_mut o2 = out_view(out2, sizeof out2, MEDSEG_PIXEL_TYPE_U8, ct_grid());
    CHECK_STATUS(medseg_predict(g_model, &inf, NULL, NULL, &o2), MEDSEG_STATUS_OK);
    CHECK(memcmp(out2, g_reference, sizeof out2) == 0);
}

static void test_predict_bad_arguments(void) {
    medseg_image_view in = ct_view();
    static uint8_t out[NVOX];
    memset(out, 0x77, sizeof out);
    medseg_image_view_mut o = out_view(out, sizeof out, MEDSEG_PIXEL_TYPE_U8, ct_grid());
    CHECK_STATUS(medseg_predict(NULL, &in, NULL, NULL, &o), MEDSEG_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(medseg_predict(g_model, NULL, NULL, NULL, &o), MEDSEG_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(medseg_predict(g_model, &in, NULL, NULL, NULL), MEDSEG_STATUS_NULL_ARGUMENT);
    /* Output pixel types: only U8 / U16; unknown numbers rejected. */
    const uint32_t bad_out[] = {MEDSEG_PIXEL_TYPE_U32, MEDSEG_PIXEL_TYPE_F32, 0, 11, 0xFFFFFFFFu};
    static uint64_t big[NVOX]; /* large enough for any pixel type */
    for (size_t i = 0; i < sizeof bad_out / sizeof bad_out[0]; i++) {
        medseg_image_view_mut b = out_view(big, sizeof big, bad_out[i], ct_grid());
        CHECK_STATUS(medseg_predict(g_model, &in, NULL, NULL, &b), MEDSEG_STATUS_PIXEL_TYPE);
    }
    medseg_image_view bi = in;
    bi.pixel_type = 0;
    CHECK_STATUS(medseg_predict(g_model, &bi, NULL, NULL, &o), MEDSEG_STATUS_PIXEL_TYPE);
    /* Grid and channels must agree; output and input must not overlap. */
    medseg_image_view_mut b = o;
    b.geometry.spacing[0] = 1.0;
    CHECK_STATUS(medseg_predict(g_model, &in, NULL, NULL, &b), MEDSEG_STATUS_MISMATCH);
    b = o;
    b.geometry.direction[0] = -1.0;
    CHECK_STATUS(medseg_predict(g_model, &in, NULL, NULL, &b), MEDSEG_STATUS_MISMATCH);
    medseg_image_view two = in;
    two.components = 2;
    two.len_bytes = sizeof g_ct;
    two.geometry.size[2] = NK / 2;
    b = o;
    b.geometry.size[2] = NK / 2;
    CHECK_STATUS(medseg_predict(g_model, &two, NULL, NULL, &b), MEDSEG_STATUS_MISMATCH);
    CHECK(contains(medseg_last_error_message(), "channel"));
    medseg_image_view_mut alias =
        out_view(g_ct, sizeof g_ct, MEDSEG_PIXEL_TYPE_U16, ct_grid()); /* the input's memory */
    CHECK_STATUS(medseg_predict(g_model, &in, NULL, NULL, &alias), MEDSEG_STATUS_INVALID_ARGUMENT);
    /* A device this build does not have: DEVICE at predict time. */
    medseg_model_options opt = fast_options();
    opt.device = "cuda:0";
    medseg_model *gpu = NULL;
    CHECK_STATUS(medseg_model_load(g_model_dir, &opt, &gpu), MEDSEG_STATUS_OK);
    CHECK_STATUS(medseg_predict(gpu, &in, NULL, NULL, &o), MEDSEG_STATUS_DEVICE);
    medseg_model_free(gpu);
    /* None of the failures wrote the output. */
    size_t changed = 0;
    for (size_t i = 0; i < sizeof out; i++) changed += out[i] != 0x77;
    CHECK(changed == 0);
}

/* 8 threads predict with the one shared model handle; each result equals the reference. */
typedef struct {
    uint8_t out[NVOX];
    medseg_status status;
} thread_job;

static void *predict_on_thread(void *arg) {
    thread_job *job = arg;
    medseg_image_view in = ct_view();
    memset(job->out, 0xEE, sizeof job->out);
    medseg_image_view_mut o = out_view(job->out, sizeof job->out, MEDSEG_PIXEL_TYPE_U8, ct_grid());
    job->status = medseg_predict(g_model, &in, NULL, NULL, &o);
    return NULL;
}

static void test_threads_share_model(void) {
    thread_job *jobs = calloc((size_t)g_threads, sizeof *jobs);
    pthread_t *t = calloc((size_t)g_threads, sizeof *t);
    CHECK(jobs != NULL && t != NULL);
    if (jobs == NULL || t == NULL) {
        free(jobs);
        free(t);
        return;
    }
    int started = 0;
    for (int i = 0; i < g_threads; i++) {
        if (pthread_create(&t[i], NULL, predict_on_thread, &jobs[i]) == 0)
            started++;
        else
            break;
    }
    CHECK(started == g_threads);
    for (int i = 0; i < started; i++) pthread_join(t[i], NULL);
    for (int i = 0; i < started; i++) {
        CHECK_STATUS(jobs[i].status, MEDSEG_STATUS_OK);
        CHECK(memcmp(jobs[i].out, g_reference, NVOX) == 0);
    }
    printf("  %d threads, one model handle: results identical to the single-threaded run\n",
           started);
    free(jobs);
    free(t);
}

/* The short run's prediction: one full run plus one cancelled at the first progress call. */
static bool cancel_now(void *userdata, double fraction, const char *stage) {
    (void)fraction;
    (void)stage;
    (*(int *)userdata)++;
    return false;
}

static void test_predict_once(void) {
    medseg_image_view in = ct_view();
    memset(g_reference, 0xEE, sizeof g_reference);
    medseg_image_view_mut o = out_view(g_reference, sizeof g_reference, MEDSEG_PIXEL_TYPE_U8,
                                       ct_grid());
    int calls = 0;
    CHECK_STATUS(medseg_predict(g_model, &in, cancel_now, &calls, &o), MEDSEG_STATUS_CANCELLED);
    CHECK(calls == 1);
    size_t untouched = 0;
    for (size_t i = 0; i < NVOX; i++) untouched += g_reference[i] == 0xEE;
    CHECK(untouched == NVOX);
    CHECK_STATUS(medseg_predict(g_model, &in, NULL, NULL, &o), MEDSEG_STATUS_OK);
    size_t other = 0;
    for (size_t i = 0; i < NVOX; i++) other += g_reference[i] > 2;
    CHECK(other == 0);
}

static void test_panic_boundary(void) {
    CHECK_STATUS(medseg_test_panic(NULL), MEDSEG_STATUS_PANIC);
    CHECK(contains(medseg_last_error_message(), "deliberate panic"));
    /* The model and the library keep working after a panic was caught. */
    size_t n = 0;
    CHECK_STATUS(medseg_model_label_count(g_model, &n), MEDSEG_STATUS_OK);
    CHECK(n == 3);
    CHECK(strcmp(medseg_last_error_message(), "") == 0);
}

/* The TotalSpineSeg pipeline (two tiny intensity-decoding nnU-Net models made by
 * tools/make_spine_test_models.py) on the coded cervical oracle case: found by AUTO and by
 * TOTALSPINESEG, labels = background + TotalSpineSeg's final labels, a full run gives vertebrae,
 * discs, canal and cord on the input grid. */
static void test_spine_pipeline(void) {
    const char *dir = "tests/fixtures/spine_models/tss";
    medseg_image *img = NULL;
    CHECK_STATUS(medseg_image_read("tests/fixtures/spine_models/cervical_coded.nii.gz", &img),
                 MEDSEG_STATUS_OK);
    if (!img) return;
    medseg_geometry g;
    const void *data = NULL;
    size_t len = 0;
    uint32_t pt = 0;
    CHECK_STATUS(medseg_image_geometry(img, &g), MEDSEG_STATUS_OK);
    CHECK_STATUS(medseg_image_data(img, &data, &len), MEDSEG_STATUS_OK);
    CHECK_STATUS(medseg_image_pixel_type(img, &pt), MEDSEG_STATUS_OK);
    const medseg_image_view in = in_view(data, len, pt, g);
    const uint32_t pipelines[] = {MEDSEG_PIPELINE_AUTO, MEDSEG_PIPELINE_TOTALSPINESEG};
    for (size_t p = 0; p < 2; p++) {
        medseg_model_options o = fast_options();
        o.pipeline = pipelines[p];
        medseg_model *m = NULL;
        CHECK_STATUS(medseg_model_load(dir, &o, &m), MEDSEG_STATUS_OK);
        if (!m) continue;
        size_t channels = 0, count = 0;
        CHECK_STATUS(medseg_model_input_channels(m, &channels), MEDSEG_STATUS_OK);
        CHECK(channels == 1);
        CHECK_STATUS(medseg_model_label_count(m, &count), MEDSEG_STATUS_OK);
        CHECK(count > 40);
        uint32_t value = 99;
        const char *name = NULL;
        uint8_t rgb[3];
        CHECK_STATUS(medseg_model_label(m, 0, &value, &name, rgb), MEDSEG_STATUS_OK);
        CHECK(value == 0 && name && strcmp(name, "background") == 0);
        bool known[256] = {false};
        for (size_t l = 0; l < count; l++) {
            CHECK_STATUS(medseg_model_label(m, l, &value, &name, rgb), MEDSEG_STATUS_OK);
            if (value < 256) known[value] = true;
        }
        if (p == 1) {
            size_t n = (size_t)(g.size[0] * g.size[1] * g.size[2]);
            uint8_t *out = calloc(n, 1);
            CHECK(out != NULL);
            if (out) {
                medseg_image_view_mut ov = out_view(out, n, MEDSEG_PIXEL_TYPE_U8, g);
                CHECK_STATUS(medseg_predict(m, &in, NULL, NULL, &ov), MEDSEG_STATUS_OK);
                size_t distinct = 0, unknown = 0;
                bool seen[256] = {false};
                for (size_t v = 0; v < n; v++) {
                    if (!known[out[v]]) unknown++;
                    if (!seen[out[v]]) distinct++;
                    seen[out[v]] = true;
                }
                CHECK(unknown == 0);
                /* cord, canal, C1, vertebrae C2..T1 and their discs at least */
                CHECK(distinct > 20 && seen[1] && seen[2] && seen[11]);
                free(out);
            }
        }
        medseg_model_free(m);
    }
    medseg_image_free(img);
}

static void test_model_free(void) {
    medseg_model_free(g_model);
    size_t n = 0;
    CHECK_STATUS(medseg_model_input_channels(g_model, &n), MEDSEG_STATUS_INVALID_HANDLE);
    g_model = NULL;
}

int main(int argc, char **argv) {
    if (argc > 1) g_model_dir = argv[1];
    if (argc > 2) g_threads = atoi(argv[2]);
    make_ct();
    if (g_threads <= 0) {
        const test_case short_cases[] = {
            {"model_load", test_model_load},
            {"runtime_info", test_runtime_info},
            {"model_bad_arguments", test_model_bad_arguments},
            {"predict_once", test_predict_once},
            {"predict_bad_arguments", test_predict_bad_arguments},
            {"model_panic_boundary", test_panic_boundary},
            {"model_free", test_model_free},
        };
        return run_cases(short_cases, sizeof short_cases / sizeof short_cases[0]);
    }
    const test_case cases[] = {
        {"model_load", test_model_load},
        {"runtime_info", test_runtime_info},
        {"model_bad_arguments", test_model_bad_arguments},
        {"predict", test_predict},
        {"predict_bad_arguments", test_predict_bad_arguments},
        {"threads_share_model", test_threads_share_model},
        {"spine_pipeline", test_spine_pipeline},
        {"model_panic_boundary", test_panic_boundary},
        {"model_free", test_model_free},
    };
    return run_cases(cases, sizeof cases / sizeof cases[0]);
}
