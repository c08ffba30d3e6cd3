// C++ include test: the generated C header and the RAII header compile together as C++
// (-Wall -Wextra -Wpedantic -Werror) and link; the C enums, structs and functions are usable from
// C++ without casts beyond the C ones.
#include "medseg.h"
#include "medseg.hpp"

#include <cstdio>
#include <cstring>
#include <type_traits>

static_assert(MEDSEG_STATUS_OK == 0, "OK is 0");
static_assert(std::is_standard_layout<medseg_geometry>::value, "plain C struct");
static_assert(std::is_standard_layout<medseg_image_view>::value, "plain C struct");
static_assert(sizeof(medseg_geometry) == 18 * sizeof(double), "3 u64 + 15 doubles");
static_assert(std::is_standard_layout<medseg_image_view_mut>::value, "plain C struct");
static_assert(std::is_standard_layout<medseg_model_options>::value, "plain C struct");
static_assert(std::is_standard_layout<medseg_normalize_options>::value, "plain C struct");
static_assert(MEDSEG_PIPELINE_AUTO == 0 && MEDSEG_PIPELINE_TOTALSPINESEG == 2, "contract numbers");
static_assert(MEDSEG_INTERPOLATION_LABEL == 3 && MEDSEG_SPINE_PRESET_STEP2 == 2, "contract numbers");

int main() {
    int failed = 0;
    if (std::strcmp(medseg_version(), MEDSEG_VERSION_STRING) != 0) {
        std::printf("version mismatch: library %s, header %s\n", medseg_version(),
                    MEDSEG_VERSION_STRING);
        failed = 1;
    }
    if (medseg_abi_version() != MEDSEG_ABI_VERSION) failed = 1;
    medseg_image *img = nullptr;
    medseg_status s = medseg_image_read(nullptr, &img);
    if (s != MEDSEG_STATUS_NULL_ARGUMENT || img != nullptr) failed = 1;
    const unsigned char buf[2] = {1, 2};
    medseg_image_view v{};
    v.data = buf;
    v.len_bytes = sizeof buf;
    v.pixel_type = MEDSEG_PIXEL_TYPE_U8;
    v.components = 1;
    v.geometry = medseg_geometry{{2, 1, 1}, {1, 1, 1}, {0, 0, 0}, {1, 0, 0, 0, 1, 0, 0, 0, 1}};
    if (medseg_image_from_view(&v, &img) != MEDSEG_STATUS_OK) failed = 1;
    medseg_image_free(img);
    // The new entry points are callable from C++ with C-style arguments.
    medseg_model *model = nullptr;
    if (medseg_model_load(nullptr, nullptr, &model) != MEDSEG_STATUS_NULL_ARGUMENT) failed = 1;
    medseg_model_options o{};
    if (medseg_model_options_init(&o) != MEDSEG_STATUS_OK || o.struct_size != sizeof o) failed = 1;
    medseg_set_log_callback(nullptr, nullptr);
    try {
        medseg::Model::load("/nonexistent/model");
        failed = 1;
    } catch (const medseg::Error &e) {
        if (e.status() != MEDSEG_STATUS_MODEL) failed = 1;
    }
    std::printf("%-32s %s\n", "cpp_header", failed ? "FAIL" : "ok");
    std::printf("RESULT passed=%d failed=%d\n", failed ? 0 : 1, failed);
    return failed;
}
