// Tests of include/medseg.hpp (RAII owners + exceptions); also the C++ translation unit that
// includes both headers under -Wall -Wextra -Wpedantic -Werror.
#include "medseg.h"
#include "medseg.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <type_traits>
#include <unistd.h>
#include <vector>

static_assert(!std::is_copy_constructible<medseg::Image>::value, "move-only owner");
static_assert(std::is_nothrow_move_constructible<medseg::Image>::value, "noexcept move");
static_assert(medseg::pixel_type_of<std::int16_t>::value == MEDSEG_PIXEL_TYPE_I16, "traits");

static int g_failed;

#define CHECK(cond)                                                                               \
    do {                                                                                          \
        if (!(cond)) {                                                                            \
            std::fprintf(stderr, "  %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond);      \
            g_failed = 1;                                                                         \
        }                                                                                         \
    } while (0)

template <class F> static medseg_status status_of(F f) {
    try {
        f();
    } catch (const medseg::Error &e) {
        return e.status();
    }
    return MEDSEG_STATUS_OK;
}

static medseg_geometry geometry(std::uint64_t ni, std::uint64_t nj, std::uint64_t nk) {
    medseg_geometry g{};
    g.size[0] = ni;
    g.size[1] = nj;
    g.size[2] = nk;
    for (int a = 0; a < 3; ++a) g.spacing[a] = 0.5 + a;
    g.origin[0] = 3.0;
    g.direction[0] = g.direction[4] = g.direction[8] = 1.0;
    return g;
}

static void test_version_and_abi() {
    CHECK(medseg::version() == MEDSEG_VERSION_STRING);
    CHECK(status_of([] { medseg::check_abi(); }) == MEDSEG_STATUS_OK);
}

static void test_owner_and_accessors() {
    std::vector<float> buf(2 * 3 * 4);
    for (std::size_t i = 0; i < buf.size(); ++i) buf[i] = static_cast<float>(i) * 1.5f;
    medseg::Image img = medseg::Image::from_buffer(buf.data(), buf.size(), geometry(2, 3, 4));
    CHECK(static_cast<bool>(img));
    CHECK(img.pixel_type() == MEDSEG_PIXEL_TYPE_F32);
    CHECK(img.components() == 1 && img.frames() == 1);
    medseg_geometry g = img.geometry();
    CHECK(g.size[0] == 2 && g.size[1] == 3 && g.size[2] == 4 && g.spacing[2] == 2.5);
    std::size_t n = 0;
    const float *d = img.data<float>(&n);
    CHECK(n == buf.size() && std::memcmp(d, buf.data(), n * sizeof(float)) == 0);
    // Wrong type requested: an exception, not a reinterpretation.
    CHECK(status_of([&] { img.data<std::int16_t>(); }) == MEDSEG_STATUS_PIXEL_TYPE);

    // Moves transfer ownership; the moved-from owner is empty and its calls throw.
    medseg::Image moved = std::move(img);
    CHECK(!img && moved);
    CHECK(status_of([&] { img.geometry(); }) == MEDSEG_STATUS_NULL_ARGUMENT);
    medseg_image *raw = moved.release();
    CHECK(!moved && raw != nullptr);
    moved.reset(raw);
    CHECK(moved.get() == raw);
}

static void test_errors_become_exceptions(const std::string &tmp) {
    try {
        medseg::Image::read(tmp + "/no_such_file.nii");
        CHECK(false);
    } catch (const medseg::Error &e) {
        CHECK(e.status() == MEDSEG_STATUS_IO);
        CHECK(std::string(e.status_name()) == "io");
        CHECK(std::string(e.what()).find("no_such_file.nii") != std::string::npos);
    }
    const std::uint8_t b[4] = {1, 2, 3, 4};
    // One byte short for a 2x2x1 grid.
    CHECK(status_of([&] { medseg::Image::from_buffer(b, 3, geometry(2, 2, 1)); }) ==
          MEDSEG_STATUS_MISMATCH);
    medseg_image_view v{};
    v.data = b;
    v.len_bytes = sizeof b;
    v.pixel_type = 42; // unknown pixel type number
    v.components = 1;
    v.geometry = geometry(2, 2, 1);
    CHECK(status_of([&] { medseg::Image::from_view(v); }) == MEDSEG_STATUS_PIXEL_TYPE);
}

static void test_file_round_trip(const std::string &tmp) {
    std::vector<std::int16_t> buf(4 * 3 * 2);
    for (std::size_t i = 0; i < buf.size(); ++i) buf[i] = static_cast<std::int16_t>(100 - 7 * i);
    const std::string path = tmp + "/cpp_round_trip.nii";
    medseg::Image::from_buffer(buf.data(), buf.size(), geometry(4, 3, 2)).write(path);
    medseg::Image back = medseg::Image::read(path);
    std::size_t n = 0;
    const std::int16_t *d = back.data<std::int16_t>(&n);
    CHECK(n == buf.size() && std::memcmp(d, buf.data(), n * sizeof(std::int16_t)) == 0);
    CHECK(back.geometry().spacing[1] == 1.5);
    std::remove(path.c_str());
}

int main() {
    char tmpl[] = "/tmp/medseg_cpp_XXXXXX";
    if (mkdtemp(tmpl) == nullptr) return 2;
    const std::string tmp = tmpl;
    struct {
        const char *name;
        void (*fn)(const std::string &);
    } cases[] = {
        {"cpp_version_and_abi", [](const std::string &) { test_version_and_abi(); }},
        {"cpp_owner_and_accessors", [](const std::string &) { test_owner_and_accessors(); }},
        {"cpp_errors_become_exceptions", test_errors_become_exceptions},
        {"cpp_file_round_trip", test_file_round_trip},
    };
    int passed = 0, failed = 0;
    for (auto &c : cases) {
        g_failed = 0;
        try {
            c.fn(tmp);
        } catch (const std::exception &e) {
            std::fprintf(stderr, "  unexpected exception: %s\n", e.what());
            g_failed = 1;
        }
        std::printf("%-32s %s\n", c.name, g_failed ? "FAIL" : "ok");
        (g_failed ? failed : passed)++;
    }
    rmdir(tmpl);
    std::printf("RESULT passed=%d failed=%d\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
