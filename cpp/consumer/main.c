/* Use from C: read a label image, keep its largest connected component into a buffer the caller
 * owns, and report what was removed. Built and run by the tests (cpp/consumer, ctest
 * package_consumer) as: medseg_consumer_c LABELS_FILE */
#include <medseg.h>

#include <stdio.h>
#include <stdlib.h>

static int fail(const char *what, medseg_status status) {
    /* The detail is thread-local and valid until the next medseg call on this thread. */
    fprintf(stderr, "%s: %s: %s\n", what, medseg_status_name(status), medseg_last_error_message());
    return 1;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s LABELS_FILE\n", argv[0]);
        return 2;
    }
    if (medseg_abi_version() != MEDSEG_ABI_VERSION) {
        fprintf(stderr, "medseg library ABI %u, header %d\n", medseg_abi_version(), MEDSEG_ABI_VERSION);
        return 1;
    }
    medseg_image *img = NULL; /* owned by us: released with medseg_image_free */
    medseg_status st = medseg_image_read(argv[1], &img);
    if (st != MEDSEG_STATUS_OK) return fail("read", st);

    medseg_geometry g;
    uint32_t pixel_type = 0;
    const void *data = NULL; /* borrowed from img: valid until medseg_image_free(img) */
    size_t len = 0;
    if ((st = medseg_image_geometry(img, &g)) != MEDSEG_STATUS_OK ||
        (st = medseg_image_pixel_type(img, &pixel_type)) != MEDSEG_STATUS_OK ||
        (st = medseg_image_data(img, &data, &len)) != MEDSEG_STATUS_OK) {
        medseg_image_free(img);
        return fail("inspect", st);
    }
    if (pixel_type != MEDSEG_PIXEL_TYPE_U8) {
        fprintf(stderr, "expected an 8-bit label image\n");
        medseg_image_free(img);
        return 1;
    }
    printf("%s: %llux%llux%llu voxels, spacing %.2f %.2f %.2f mm, origin (LPS) %.2f %.2f %.2f\n", argv[1],
           (unsigned long long)g.size[0], (unsigned long long)g.size[1], (unsigned long long)g.size[2],
           g.spacing[0], g.spacing[1], g.spacing[2], g.origin[0], g.origin[1], g.origin[2]);

    /* Views borrow buffers for the duration of one call; nothing is copied or kept. */
    medseg_image_view in = {0};
    in.data = data;
    in.len_bytes = len;
    in.pixel_type = MEDSEG_PIXEL_TYPE_U8;
    in.components = 1;
    in.geometry = g;
    uint8_t *kept = malloc(len); /* our buffer; medseg writes it only on success */
    if (kept == NULL) {
        medseg_image_free(img);
        return 1;
    }
    medseg_image_view_mut out = {0};
    out.data = kept;
    out.len_bytes = len;
    out.pixel_type = MEDSEG_PIXEL_TYPE_U8;
    out.components = 1;
    out.geometry = g;
    st = medseg_largest_component(&in, 26, false, &out);
    if (st != MEDSEG_STATUS_OK) {
        free(kept);
        medseg_image_free(img);
        return fail("largest component", st);
    }
    size_t before = 0, after = 0;
    for (size_t i = 0; i < len; ++i) {
        before += ((const uint8_t *)data)[i] != 0;
        after += kept[i] != 0;
    }
    printf("largest component: %zu of %zu labelled voxels kept\n", after, before);

    /* Bad input gives a status and a message, never a crash. */
    in.pixel_type = 999;
    st = medseg_largest_component(&in, 26, false, &out);
    printf("unknown pixel type -> %s (%s)\n", medseg_status_name(st), medseg_last_error_message());

    free(kept);
    medseg_image_free(img);
    return (after > 0 && after < before && st == MEDSEG_STATUS_PIXEL_TYPE) ? 0 : 1;
}
