/*
 * C API tests of the processing functions (components, largest component, small-component
 * removal, hole filling, relabel, normalise, resample, reorient): results, strided output
 * views, and NULL / bad arguments / out-of-range enumeration values for every function.
 */
#define _POSIX_C_SOURCE 200809L

#include "common.h"

#include <math.h>

/* 5 × 4 × 1 (2-D) label image: a 4-voxel blob of 1 and a 2-voxel blob of 1, a 1-voxel 2. */
static const uint8_t k_blobs[20] = {
    1, 1, 0, 0, 2, /* j = 0 */
    1, 1, 0, 0, 0, /* j = 1 */
    0, 0, 0, 0, 0, /* j = 2 */
    0, 0, 0, 1, 1, /* j = 3 */
};

static void test_connected_components(void) {
    medseg_geometry g = grid(5, 4, 1);
    medseg_image_view in = in_view(k_blobs, sizeof k_blobs, MEDSEG_PIXEL_TYPE_U8, g);
    /* Strided output: rows of 7 elements, the 2 padding elements must stay untouched. */
    uint32_t out[28];
    for (int i = 0; i < 28; i++) out[i] = 0xDEADBEEFu;
    medseg_image_view_mut o = out_view(out, sizeof out, MEDSEG_PIXEL_TYPE_U32, g);
    o.strides[0] = 1;
    o.strides[1] = 7;
    o.strides[2] = 28;
    size_t count = 99;
    CHECK_STATUS(medseg_connected_components(&in, 4, &o, &count), MEDSEG_STATUS_OK);
    CHECK(count == 3);
    CHECK(out[0] == 1 && out[1] == 1 && out[7] == 1 && out[8] == 1);
    CHECK(out[4] == 2);           /* the 2 is its own component */
    CHECK(out[21 + 3] == 3 && out[21 + 4] == 3);
    CHECK(out[2] == 0 && out[14] == 0);
    for (int j = 0; j < 4; j++) CHECK(out[j * 7 + 5] == 0xDEADBEEFu && out[j * 7 + 6] == 0xDEADBEEFu);

    /* 8-connectivity in 2-D joins nothing more here; U16 output; count may be NULL. */
    uint16_t out16[20];
    medseg_image_view_mut o16 = out_view(out16, sizeof out16, MEDSEG_PIXEL_TYPE_U16, g);
    CHECK_STATUS(medseg_connected_components(&in, 8, &o16, NULL), MEDSEG_STATUS_OK);
    CHECK(out16[0] == 1 && out16[4] == 2 && out16[19] == 3);

    /* Bad arguments. */
    count = 7;
    CHECK_STATUS(medseg_connected_components(NULL, 6, &o, &count), MEDSEG_STATUS_NULL_ARGUMENT);
    CHECK(count == 0);
    CHECK_STATUS(medseg_connected_components(&in, 6, NULL, NULL), MEDSEG_STATUS_NULL_ARGUMENT);
    const uint32_t bad_conn[] = {0, 5, 7, 10, 27, 0xFFFFFFFFu};
    for (size_t i = 0; i < sizeof bad_conn / sizeof bad_conn[0]; i++)
        CHECK_STATUS(medseg_connected_components(&in, bad_conn[i], &o16, NULL),
                     MEDSEG_STATUS_INVALID_ARGUMENT);
    /* 4 / 8 are 2-D names: refused on a 3-D image. */
    uint8_t vol[8] = {1, 0, 0, 0, 0, 0, 0, 1};
    uint32_t vol_out[8];
    medseg_image_view vin = in_view(vol, sizeof vol, MEDSEG_PIXEL_TYPE_U8, grid(2, 2, 2));
    medseg_image_view_mut vout =
        out_view(vol_out, sizeof vol_out, MEDSEG_PIXEL_TYPE_U32, grid(2, 2, 2));
    CHECK_STATUS(medseg_connected_components(&vin, 4, &vout, NULL), MEDSEG_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(medseg_connected_components(&vin, 26, &vout, &count), MEDSEG_STATUS_OK);
    CHECK(count == 1);
    CHECK_STATUS(medseg_connected_components(&vin, 6, &vout, &count), MEDSEG_STATUS_OK);
    CHECK(count == 2);
    /* Output pixel type: U8 is not allowed, unknown numbers are rejected. */
    uint8_t out8[20];
    medseg_image_view_mut o8 = out_view(out8, sizeof out8, MEDSEG_PIXEL_TYPE_U8, g);
    CHECK_STATUS(medseg_connected_components(&in, 4, &o8, NULL), MEDSEG_STATUS_PIXEL_TYPE);
    const uint32_t bad_pt[] = {0, 11, 0xFFFFFFFFu};
    for (size_t i = 0; i < 3; i++) {
        medseg_image_view_mut ob = o16;
        ob.pixel_type = bad_pt[i];
        CHECK_STATUS(medseg_connected_components(&in, 4, &ob, NULL), MEDSEG_STATUS_PIXEL_TYPE);
        medseg_image_view ib = in;
        ib.pixel_type = bad_pt[i];
        CHECK_STATUS(medseg_connected_components(&ib, 4, &o16, NULL), MEDSEG_STATUS_PIXEL_TYPE);
    }
    /* Output grid differs, output too small, output NULL data, overlap with the input. */
    medseg_image_view_mut og = o16;
    og.geometry.origin[0] += 1.0;
    CHECK_STATUS(medseg_connected_components(&in, 4, &og, NULL), MEDSEG_STATUS_MISMATCH);
    og = o16;
    og.geometry.size[0] = 4;
    CHECK_STATUS(medseg_connected_components(&in, 4, &og, NULL), MEDSEG_STATUS_MISMATCH);
    og = o16;
    og.len_bytes = 38;
    CHECK_STATUS(medseg_connected_components(&in, 4, &og, NULL), MEDSEG_STATUS_MISMATCH);
    og = o16;
    og.data = NULL;
    CHECK_STATUS(medseg_connected_components(&in, 4, &og, NULL), MEDSEG_STATUS_NULL_ARGUMENT);
    og = o16;
    og.components = 2;
    og.len_bytes = sizeof out16;
    CHECK(medseg_connected_components(&in, 4, &og, NULL) != MEDSEG_STATUS_OK);
    uint16_t shared[20] = {1};
    medseg_image_view sin = in_view(shared, sizeof shared, MEDSEG_PIXEL_TYPE_U16, g);
    medseg_image_view_mut sout = out_view(shared, sizeof shared, MEDSEG_PIXEL_TYPE_U16, g);
    CHECK_STATUS(medseg_connected_components(&sin, 4, &sout, NULL), MEDSEG_STATUS_INVALID_ARGUMENT);
    CHECK(contains(medseg_last_error_message(), "overlaps"));
}

static void test_largest_and_remove_small(void) {
    medseg_geometry g = grid(5, 4, 1);
    medseg_image_view in = in_view(k_blobs, sizeof k_blobs, MEDSEG_PIXEL_TYPE_U8, g);
    uint8_t out[20];
    medseg_image_view_mut o = out_view(out, sizeof out, MEDSEG_PIXEL_TYPE_U8, g);
    CHECK_STATUS(medseg_largest_component(&in, 4, false, &o), MEDSEG_STATUS_OK);
    CHECK(out[0] == 1 && out[6] == 1 && out[4] == 0 && out[19] == 0);
    CHECK_STATUS(medseg_largest_component(&in, 4, true, &o), MEDSEG_STATUS_OK);
    CHECK(out[0] == 1 && out[4] == 2 && out[19] == 0); /* largest of each label */
    CHECK_STATUS(medseg_largest_component(NULL, 4, true, &o), MEDSEG_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(medseg_largest_component(&in, 4, true, NULL), MEDSEG_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(medseg_largest_component(&in, 3, true, &o), MEDSEG_STATUS_INVALID_ARGUMENT);
    uint16_t out16[20];
    medseg_image_view_mut o16 = out_view(out16, sizeof out16, MEDSEG_PIXEL_TYPE_U16, g);
    CHECK_STATUS(medseg_largest_component(&in, 4, true, &o16), MEDSEG_STATUS_PIXEL_TYPE);

    /* remove_small: in voxels, components of 2 and 4 voxels survive a minimum of 2. */
    CHECK_STATUS(medseg_remove_small(&in, 4, 2.0, false, &o), MEDSEG_STATUS_OK);
    CHECK(out[0] == 1 && out[4] == 0 && out[18] == 1);
    /* In mm³: a voxel is 0.5 × 1.25 × 3 = 1.875 mm³; 4 mm³ needs 3 voxels. */
    CHECK_STATUS(medseg_remove_small(&in, 4, 4.0, true, &o), MEDSEG_STATUS_OK);
    CHECK(out[0] == 1 && out[4] == 0 && out[18] == 0);
    CHECK_STATUS(medseg_remove_small(&in, 4, -1.0, false, &o), MEDSEG_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(medseg_remove_small(&in, 4, NAN, true, &o), MEDSEG_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(medseg_remove_small(&in, 4, INFINITY, true, &o), MEDSEG_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(medseg_remove_small(&in, 19, 1.0, false, &o), MEDSEG_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(medseg_remove_small(NULL, 4, 1.0, false, &o), MEDSEG_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(medseg_remove_small(&in, 4, 1.0, false, NULL), MEDSEG_STATUS_NULL_ARGUMENT);
}

static void test_fill_holes_and_relabel(void) {
    /* A 3 × 3 × 3 shell of 4 with a hole in the middle. */
    int16_t cube[27];
    for (int i = 0; i < 27; i++) cube[i] = 4;
    cube[13] = 0;
    medseg_geometry g = grid(3, 3, 3);
    medseg_image_view in = in_view(cube, sizeof cube, MEDSEG_PIXEL_TYPE_I16, g);
    uint8_t mask[27];
    memset(mask, 9, sizeof mask);
    medseg_image_view_mut om = out_view(mask, sizeof mask, MEDSEG_PIXEL_TYPE_U8, g);
    CHECK_STATUS(medseg_fill_holes(&in, false, &om), MEDSEG_STATUS_OK);
    int all_one = 1;
    for (int i = 0; i < 27; i++) all_one &= mask[i] == 1;
    CHECK(all_one);
    int16_t filled[27];
    medseg_image_view_mut of = out_view(filled, sizeof filled, MEDSEG_PIXEL_TYPE_I16, g);
    CHECK_STATUS(medseg_fill_holes(&in, true, &of), MEDSEG_STATUS_OK);
    CHECK(filled[13] == 4 && filled[0] == 4);
    CHECK_STATUS(medseg_fill_holes(&in, true, &om), MEDSEG_STATUS_PIXEL_TYPE);
    CHECK_STATUS(medseg_fill_holes(NULL, true, &of), MEDSEG_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(medseg_fill_holes(&in, true, NULL), MEDSEG_STATUS_NULL_ARGUMENT);

    /* relabel: 4 → 7, unmapped kept. */
    CHECK_STATUS(medseg_relabel(&in, "{\"map\": {\"4\": 7}}", &of), MEDSEG_STATUS_OK);
    CHECK(filled[0] == 7 && filled[13] == 0);
    CHECK_STATUS(medseg_relabel(&in, "{\"4\": 0}", &of), MEDSEG_STATUS_OK);
    CHECK(filled[0] == 0);
    CHECK_STATUS(medseg_relabel(&in, "{not json", &of), MEDSEG_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(medseg_relabel(&in, NULL, &of), MEDSEG_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(medseg_relabel(NULL, "{}", &of), MEDSEG_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(medseg_relabel(&in, "{}", NULL), MEDSEG_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(medseg_relabel(&in, "{}", &om), MEDSEG_STATUS_PIXEL_TYPE);
}

static void test_normalize(void) {
    float ct[8] = {-1000, -100, 0, 40, 100, 240, 500, 3000};
    medseg_geometry g = grid(2, 2, 2);
    medseg_image_view in = in_view(ct, sizeof ct, MEDSEG_PIXEL_TYPE_F32, g);
    float out[8];
    medseg_image_view_mut o = out_view(out, sizeof out, MEDSEG_PIXEL_TYPE_F32, g);
    medseg_normalize_options opt;
    CHECK_STATUS(medseg_normalize_options_init(&opt), MEDSEG_STATUS_OK);
    CHECK(opt.struct_size == sizeof opt && opt.method == MEDSEG_NORMALIZE_METHOD_ZSCORE);
    opt.method = MEDSEG_NORMALIZE_METHOD_WINDOW;
    opt.p[0] = 40;  /* level */
    opt.p[1] = 400; /* width: [-160, 240] → [0, 1] */
    CHECK_STATUS(medseg_normalize(&in, &opt, &o), MEDSEG_STATUS_OK);
    CHECK(out[0] == 0.0f && out[5] == 1.0f && out[7] == 1.0f);
    CHECK(fabsf(out[3] - 0.5f) < 1e-6f);
    opt.method = MEDSEG_NORMALIZE_METHOD_ZSCORE;
    CHECK_STATUS(medseg_normalize(&in, &opt, &o), MEDSEG_STATUS_OK);
    double mean = 0;
    for (int i = 0; i < 8; i++) mean += out[i];
    CHECK(fabs(mean / 8) < 1e-5);
    opt.method = MEDSEG_NORMALIZE_METHOD_NNUNET_CT;
    opt.p[0] = 0;
    opt.p[1] = 100;
    opt.p[2] = -500;
    opt.p[3] = 500;
    CHECK_STATUS(medseg_normalize(&in, &opt, &o), MEDSEG_STATUS_OK);
    CHECK(out[0] == -5.0f && out[7] == 5.0f && out[4] == 1.0f);
    opt.method = MEDSEG_NORMALIZE_METHOD_PERCENTILE;
    opt.p[0] = 0;
    opt.p[1] = 100;
    CHECK_STATUS(medseg_normalize(&in, &opt, &o), MEDSEG_STATUS_OK);
    CHECK(out[0] == 0.0f && out[7] == 1.0f);

    /* Out-of-range methods, uninitialised struct, wrong output type, NULLs. */
    const uint32_t bad_method[] = {0, 5, 0xFFFFFFFFu};
    for (size_t i = 0; i < 3; i++) {
        medseg_normalize_options b = opt;
        b.method = bad_method[i];
        CHECK_STATUS(medseg_normalize(&in, &b, &o), MEDSEG_STATUS_INVALID_ARGUMENT);
    }
    medseg_normalize_options b = opt;
    b.struct_size = 0;
    CHECK_STATUS(medseg_normalize(&in, &b, &o), MEDSEG_STATUS_INVALID_ARGUMENT);
    b = opt;
    b.method = MEDSEG_NORMALIZE_METHOD_WINDOW;
    b.p[1] = 0; /* width 0 */
    CHECK_STATUS(medseg_normalize(&in, &b, &o), MEDSEG_STATUS_INVALID_ARGUMENT);
    double d[8];
    medseg_image_view_mut od = out_view(d, sizeof d, MEDSEG_PIXEL_TYPE_F64, g);
    CHECK_STATUS(medseg_normalize(&in, &opt, &od), MEDSEG_STATUS_PIXEL_TYPE);
    CHECK_STATUS(medseg_normalize(NULL, &opt, &o), MEDSEG_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(medseg_normalize(&in, NULL, &o), MEDSEG_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(medseg_normalize(&in, &opt, NULL), MEDSEG_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(medseg_normalize_options_init(NULL), MEDSEG_STATUS_NULL_ARGUMENT);
}

static void test_resample_and_reorient(void) {
    /* 4 × 2 × 1 at spacing (0.5, 1.25, 3) → spacing (1, 1.25, 3): size 2 × 2 × 1. */
    int16_t v[8] = {0, 10, 20, 30, 100, 110, 120, 130};
    medseg_geometry g = grid(4, 2, 1);
    medseg_image_view in = in_view(v, sizeof v, MEDSEG_PIXEL_TYPE_I16, g);
    const double sp[3] = {1.0, 1.25, 3.0};
    medseg_image *img = NULL;
    CHECK_STATUS(medseg_resample(&in, sp, MEDSEG_INTERPOLATION_NEAREST, &img), MEDSEG_STATUS_OK);
    medseg_geometry rg;
    CHECK_STATUS(medseg_image_geometry(img, &rg), MEDSEG_STATUS_OK);
    CHECK(rg.size[0] == 2 && rg.size[1] == 2 && rg.size[2] == 1 && rg.spacing[0] == 1.0);
    CHECK(rg.origin[0] == g.origin[0] && rg.direction[5] == -1.0);
    uint32_t pt = 0;
    CHECK_STATUS(medseg_image_pixel_type(img, &pt), MEDSEG_STATUS_OK);
    CHECK(pt == MEDSEG_PIXEL_TYPE_I16);
    const void *data = NULL;
    size_t len = 0;
    CHECK_STATUS(medseg_image_data(img, &data, &len), MEDSEG_STATUS_OK);
    CHECK(len == 8 && data != NULL);
    if (data != NULL) {
        const int16_t *r = data;
        /* Output centre 1 lies on input index 2 (physical 1 mm from the origin). */
        CHECK(r[0] == 0 && r[1] == 20 && r[2] == 100 && r[3] == 120);
    }
    medseg_image_free(img);

    /* Bad arguments; out is NULL after every failure. */
    const uint32_t bad_interp[] = {4, 100, 0xFFFFFFFFu};
    for (size_t i = 0; i < 3; i++) {
        img = (medseg_image *)(uintptr_t)1;
        CHECK_STATUS(medseg_resample(&in, sp, bad_interp[i], &img), MEDSEG_STATUS_INVALID_ARGUMENT);
        CHECK(img == NULL);
    }
    const double zero[3] = {1.0, 0.0, 1.0};
    CHECK_STATUS(medseg_resample(&in, zero, 1, &img), MEDSEG_STATUS_INVALID_ARGUMENT);
    const double nan3[3] = {1.0, NAN, 1.0};
    CHECK_STATUS(medseg_resample(&in, nan3, 1, &img), MEDSEG_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(medseg_resample(&in, NULL, 1, &img), MEDSEG_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(medseg_resample(NULL, sp, 1, &img), MEDSEG_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(medseg_resample(&in, sp, 1, NULL), MEDSEG_STATUS_NULL_ARGUMENT);
    CHECK(img == NULL);

    /* reorient: the grid's code is LSA (i → L, j → S, k → A); LPS swaps j/k and flips k. */
    CHECK_STATUS(medseg_reorient(&in, "LPS", &img), MEDSEG_STATUS_OK);
    CHECK_STATUS(medseg_image_geometry(img, &rg), MEDSEG_STATUS_OK);
    CHECK(rg.size[0] == 4 && rg.size[1] == 1 && rg.size[2] == 2);
    CHECK(rg.direction[0] == 1.0 && rg.direction[4] == 1.0 && rg.direction[8] == 1.0);
    medseg_image_free(img);
    CHECK_STATUS(medseg_reorient(&in, "canonical", &img), MEDSEG_STATUS_OK);
    CHECK_STATUS(medseg_image_geometry(img, &rg), MEDSEG_STATUS_OK);
    CHECK(rg.direction[0] == -1.0 && rg.direction[4] == -1.0 && rg.direction[8] == 1.0);
    medseg_image_free(img);
    CHECK_STATUS(medseg_reorient(&in, "XYZ", &img), MEDSEG_STATUS_INVALID_ARGUMENT);
    CHECK(img == NULL);
    CHECK_STATUS(medseg_reorient(&in, "RAR", &img), MEDSEG_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(medseg_reorient(&in, NULL, &img), MEDSEG_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(medseg_reorient(NULL, "RAS", &img), MEDSEG_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(medseg_reorient(&in, "RAS", NULL), MEDSEG_STATUS_NULL_ARGUMENT);
}

/* Input views: out-of-range pixel types and bad layouts are rejected by every function. */
static void test_bad_input_views(void) {
    uint8_t buf[8] = {0};
    uint8_t out[8];
    medseg_geometry g = grid(2, 2, 2);
    medseg_image_view_mut o = out_view(out, sizeof out, MEDSEG_PIXEL_TYPE_U8, g);
    const uint32_t bad_pt[] = {0, 11, 0x80000000u};
    for (size_t i = 0; i < 3; i++) {
        medseg_image_view in = in_view(buf, sizeof buf, bad_pt[i], g);
        CHECK_STATUS(medseg_largest_component(&in, 6, false, &o), MEDSEG_STATUS_PIXEL_TYPE);
        CHECK_STATUS(medseg_remove_small(&in, 6, 1, false, &o), MEDSEG_STATUS_PIXEL_TYPE);
        CHECK_STATUS(medseg_fill_holes(&in, false, &o), MEDSEG_STATUS_PIXEL_TYPE);
        CHECK_STATUS(medseg_relabel(&in, "{}", &o), MEDSEG_STATUS_PIXEL_TYPE);
        medseg_image *img = NULL;
        const double sp[3] = {1, 1, 1};
        CHECK_STATUS(medseg_resample(&in, sp, 0, &img), MEDSEG_STATUS_PIXEL_TYPE);
        CHECK_STATUS(medseg_reorient(&in, "RAS", &img), MEDSEG_STATUS_PIXEL_TYPE);
    }
    medseg_image_view in = in_view(buf, sizeof buf, MEDSEG_PIXEL_TYPE_U8, g);
    medseg_image_view short_in = in;
    short_in.len_bytes = 7;
    CHECK_STATUS(medseg_largest_component(&short_in, 6, false, &o), MEDSEG_STATUS_MISMATCH);
    medseg_image_view strided = in;
    strided.strides[0] = 1;
    strided.strides[1] = 2;
    strided.strides[2] = 5; /* reaches element 8 of 8 */
    CHECK_STATUS(medseg_largest_component(&strided, 6, false, &o), MEDSEG_STATUS_MISMATCH);
    medseg_image_view nodata = in;
    nodata.data = NULL;
    CHECK_STATUS(medseg_largest_component(&nodata, 6, false, &o), MEDSEG_STATUS_NULL_ARGUMENT);
    medseg_image_view badgeom = in;
    badgeom.geometry.spacing[1] = -1.0;
    CHECK_STATUS(medseg_largest_component(&badgeom, 6, false, &o), MEDSEG_STATUS_INVALID_GEOMETRY);
    /* Two components per voxel: processing needs scalar images. */
    uint8_t two[16] = {0};
    medseg_image_view vec = in_view(two, sizeof two, MEDSEG_PIXEL_TYPE_U8, g);
    vec.components = 2;
    CHECK_STATUS(medseg_largest_component(&vec, 6, false, &o), MEDSEG_STATUS_UNSUPPORTED);
}

int main(void) {
    const test_case cases[] = {
        {"connected_components", test_connected_components},
        {"largest_and_remove_small", test_largest_and_remove_small},
        {"fill_holes_and_relabel", test_fill_holes_and_relabel},
        {"normalize", test_normalize},
        {"resample_and_reorient", test_resample_and_reorient},
        {"bad_input_views", test_bad_input_views},
    };
    return run_cases(cases, sizeof cases / sizeof cases[0]);
}
