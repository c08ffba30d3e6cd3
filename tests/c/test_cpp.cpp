// Tests of include/medseg.hpp (RAII owners + exceptions); also the C++ translation unit that
// includes both headers under -Wall -Wextra -Wpedantic -Werror.
#include "medseg.h"
#include "medseg.hpp"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <unistd.h>
#include <vector>

static_assert(!std::is_copy_constructible<medseg::Image>::value, "move-only owner");
static_assert(std::is_nothrow_move_constructible<medseg::Image>::value, "noexcept move");
static_assert(medseg::pixel_type_of<std::int16_t>::value == MEDSEG_PIXEL_TYPE_I16, "traits");
static_assert(!std::is_copy_constructible<medseg::Model>::value, "move-only owner");
static_assert(std::is_nothrow_move_constructible<medseg::Model>::value, "noexcept move");
static_assert(!std::is_copy_constructible<medseg::SamModel>::value, "move-only owner");
static_assert(!std::is_copy_constructible<medseg::SamSession>::value, "move-only owner");
static_assert(std::is_nothrow_move_constructible<medseg::SamSession>::value, "noexcept move");

static std::string g_model_dir =
    "tests/fixtures/nnunet/models/Dataset900_TinyCT/nnUNetTrainer__nnUNetPlans__3d_fullres";

static std::string g_sam_dir = "models/litemedsam";
static const char *g_sam_case = "tests/fixtures/sam/litemedsam/inputs/3DBox_CT_headatlas_0001.npz";

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

// A synthetic CT (two blobs) on a 36 x 32 x 10 grid of 0.9 x 0.9 x 2 mm.
static const std::uint64_t NI = 36, NJ = 32, NK = 10;

static medseg_geometry ct_geometry() {
    medseg_geometry g{};
    g.size[0] = NI;
    g.size[1] = NJ;
    g.size[2] = NK;
    g.spacing[0] = g.spacing[1] = 0.9;
    g.spacing[2] = 2.0;
    g.direction[0] = g.direction[4] = g.direction[8] = 1.0;
    return g;
}

static std::vector<std::int16_t> ct_volume() {
    std::vector<std::int16_t> v(NI * NJ * NK);
    for (std::uint64_t k = 0; k < NK; ++k)
        for (std::uint64_t j = 0; j < NJ; ++j)
            for (std::uint64_t i = 0; i < NI; ++i) {
                double a = (i - 12.0) / 7.0, b = (j - 16.0) / 8.0, c = (k - 5.0) / 3.0;
                double d = (i - 27.0) / 5.0, e = (j - 14.0) / 5.0, f = (k - 4.0) / 2.0;
                std::int16_t x = -70;
                if (a * a + b * b + c * c < 1.0) x = 60;
                if (d * d + e * e + f * f < 1.0) x = 240;
                v[(k * NJ + j) * NI + i] = x;
            }
    return v;
}

static void test_model_raii(const std::string &) {
    medseg_model_options o = medseg::model_options();
    o.tta = false;
    o.folds = "0";
    o.threads = 1;
    medseg::Model model = medseg::Model::load(g_model_dir, o);
    CHECK(static_cast<bool>(model));
    CHECK(model.input_channels() == 1);
    const std::string rt = medseg::runtime_info();
    CHECK(rt.rfind("ONNX Runtime 1.", 0) == 0 && rt.find("CPUExecutionProvider") != std::string::npos);
    bool threw = false;
    try {
        medseg::runtime_info("/nonexistent/libonnxruntime.so");
    } catch (const medseg::Error &e) {
        threw = e.status() == MEDSEG_STATUS_RUNTIME;
    }
    CHECK(threw);
    std::vector<medseg::Label> labels = model.labels();
    CHECK(labels.size() == 3);
    if (labels.size() == 3) {
        CHECK(labels[0].name == "background" && labels[0].value == 0);
        CHECK(labels[2].name == "organ_b" && labels[2].value == 2);
    }

    const std::vector<std::int16_t> ct = ct_volume();
    const medseg_geometry g = ct_geometry();
    std::vector<std::uint8_t> seg(ct.size(), 0xEE);
    int calls = 0;
    model.predict(medseg::view(ct.data(), ct.size(), g), medseg::view_mut(seg.data(), seg.size(), g),
                  [&](double, const char *) {
                      ++calls;
                      return true;
                  });
    CHECK(calls > 0);
    bool in_range = true;
    for (std::uint8_t v : seg) in_range = in_range && v <= 2;
    CHECK(in_range);
    // Without a progress callback: the same labels.
    std::vector<std::uint16_t> seg16(ct.size(), 0xBEEF);
    model.predict(medseg::view(ct.data(), ct.size(), g),
                  medseg::view_mut(seg16.data(), seg16.size(), g));
    bool same = true;
    for (std::size_t i = 0; i < seg.size(); ++i) same = same && seg16[i] == seg[i];
    CHECK(same);

    // Cancelling throws CANCELLED and leaves the output untouched.
    const std::vector<std::uint8_t> before(ct.size(), 0x42);
    std::vector<std::uint8_t> out = before;
    try {
        model.predict(medseg::view(ct.data(), ct.size(), g),
                      medseg::view_mut(out.data(), out.size(), g),
                      [](double, const char *) { return false; });
        CHECK(false);
    } catch (const medseg::Error &e) {
        CHECK(e.status() == MEDSEG_STATUS_CANCELLED);
    }
    CHECK(out == before);
    // An exception thrown by the callback cancels the run and comes back to the caller.
    try {
        model.predict(medseg::view(ct.data(), ct.size(), g),
                      medseg::view_mut(out.data(), out.size(), g),
                      [](double f, const char *) -> bool {
                          if (f > 0.2) throw std::logic_error("stop from the callback");
                          return true;
                      });
        CHECK(false);
    } catch (const std::logic_error &e) {
        CHECK(std::string(e.what()) == "stop from the callback");
    }
    CHECK(out == before);

    // Moves; errors.
    medseg::Model moved = std::move(model);
    CHECK(!model && moved);
    CHECK(status_of([&] { model.input_channels(); }) == MEDSEG_STATUS_NULL_ARGUMENT);
    CHECK(status_of([] { medseg::Model::load("/nonexistent/model"); }) == MEDSEG_STATUS_MODEL);
    medseg_model_options bad = medseg::model_options();
    bad.pipeline = 9;
    CHECK(status_of([&] { medseg::Model::load(g_model_dir, bad); }) ==
          MEDSEG_STATUS_INVALID_ARGUMENT);
    std::vector<std::uint32_t> wrong(ct.size());
    CHECK(status_of([&] {
              moved.predict(medseg::view(ct.data(), ct.size(), g),
                            medseg::view_mut(wrong.data(), wrong.size(), g));
          }) == MEDSEG_STATUS_PIXEL_TYPE);
}

// LiteMedSAM on slices 21..23 of the oracle CT case: a 2D box, a 3-slice 3D box (progress,
// cancel, a throwing callback), a session made from a medseg::Image, errors as exceptions.
static void test_sam_raii(const std::string &) {
    medseg_sam_options o = medseg::sam_options();
    o.threads = 2;
    medseg::SamModel model = medseg::SamModel::load(g_sam_dir, o);
    CHECK(static_cast<bool>(model));
    try {
        medseg::SamModel::load("/nonexistent/litemedsam");
        CHECK(false);
    } catch (const medseg::Error &e) {
        CHECK(e.status() == MEDSEG_STATUS_MODEL);
        CHECK(std::string(e.what()).find("setup") != std::string::npos);
    }
    medseg::Image ct = medseg::Image::read(g_sam_case);
    const medseg_geometry g = ct.geometry();
    std::size_t n = 0;
    const std::uint8_t *px = ct.data<std::uint8_t>(&n);
    const std::size_t plane = static_cast<std::size_t>(g.size[0] * g.size[1]);
    medseg::SamSession session = medseg::SamSession::create(model, medseg::view(px, n, g));

    std::vector<std::uint8_t> mask(plane, 0xAB);
    const medseg_geometry g22 = session.slice_geometry(22);
    CHECK(g22.size[2] == 1 && std::fabs(g22.origin[2] - (g.origin[2] + 22 * g.spacing[2])) < 1e-9);
    float iou = session.predict_2d(22, {{40, 17, 169, 176}}, medseg::view_mut(mask.data(), plane, g22));
    std::size_t fg = 0, other = 0;
    for (std::uint8_t v : mask) {
        fg += v == 1;
        other += v > 1;
    }
    CHECK(iou > 0.5f && fg > 1000 && other == 0);

    // 3D over slices 21..23 (label 5, U16): 3 slices + the start call; slice 22 equals the 2D mask.
    std::vector<std::uint16_t> vol(n, 0xBEEF);
    int calls = 0;
    const std::array<double, 6> box = {{40, 17, 21, 169, 176, 23}};
    session.predict_3d(box, 5, medseg::view_mut(vol.data(), n, g), [&](double, const char *) {
        ++calls;
        return true;
    });
    CHECK(calls == 4);
    bool same = true, empty_elsewhere = true;
    for (std::size_t v = 0; v < n; ++v) {
        const std::size_t k = v / plane;
        if (k == 22) same = same && (vol[v] == 5) == (mask[v - 22 * plane] == 1);
        if (k < 21 || k > 23) empty_elsewhere = empty_elsewhere && vol[v] == 0;
    }
    CHECK(same && empty_elsewhere);
    // Cancel: CANCELLED, output untouched; a throwing callback's exception comes back.
    const std::vector<std::uint16_t> before(n, 0x4242);
    std::vector<std::uint16_t> out = before;
    CHECK(status_of([&] {
              session.predict_3d(box, 5, medseg::view_mut(out.data(), n, g),
                                 [](double, const char *) { return false; });
          }) == MEDSEG_STATUS_CANCELLED);
    try {
        session.predict_3d(box, 5, medseg::view_mut(out.data(), n, g), [](double f, const char *) -> bool {
            if (f > 0.0) throw std::logic_error("stop from the SAM callback");
            return true;
        });
        CHECK(false);
    } catch (const std::logic_error &e) {
        CHECK(std::string(e.what()) == "stop from the SAM callback");
    }
    CHECK(out == before);
    session.encode_slices(21, 23);

    // From the image (uint8: used as is): the same 2D mask.
    medseg::SamSession copy = medseg::SamSession::from_image(model, ct);
    std::vector<std::uint8_t> mask2(plane, 0);
    copy.predict_2d(22, {{40, 17, 169, 176}}, medseg::view_mut(mask2.data(), plane, g22));
    CHECK(mask2 == mask);

    // Errors: a non-uint8 view, a box outside the image, a moved-from session.
    std::vector<std::int16_t> hu(n, -1000);
    CHECK(status_of([&] { medseg::SamSession::create(model, medseg::view(hu.data(), n, g)); }) ==
          MEDSEG_STATUS_PIXEL_TYPE);
    CHECK(status_of([&] {
              session.predict_2d(22, {{300, 300, 400, 400}},
                                 medseg::view_mut(mask.data(), plane, g22));
          }) == MEDSEG_STATUS_INVALID_ARGUMENT);
    medseg::SamSession moved = std::move(session);
    CHECK(!session && moved);
    CHECK(status_of([&] { session.slice_geometry(0); }) == MEDSEG_STATUS_NULL_ARGUMENT);
    // Sessions outlive their model.
    model.reset();
    CHECK(moved.slice_geometry(22).size[0] == g.size[0]);
}

static void test_processing_helpers(const std::string &) {
    const std::uint8_t blobs[8] = {1, 1, 0, 0, 0, 0, 0, 2};
    const medseg_geometry g = geometry(2, 2, 2);
    std::vector<std::uint32_t> cc(8);
    CHECK(medseg::connected_components(medseg::view(blobs, 8, g), 6,
                                       medseg::view_mut(cc.data(), cc.size(), g)) == 2);
    CHECK(cc[0] == 1 && cc[1] == 1 && cc[7] == 2);
    std::vector<std::uint8_t> out(8);
    medseg::largest_component(medseg::view(blobs, 8, g), 6, false,
                              medseg::view_mut(out.data(), out.size(), g));
    CHECK(out[0] == 1 && out[7] == 0);
    medseg::relabel(medseg::view(blobs, 8, g), "{\"2\": 5}", medseg::view_mut(out.data(), 8, g));
    CHECK(out[7] == 5 && out[0] == 1);
    std::vector<float> norm(8);
    medseg::normalize(medseg::view(blobs, 8, g), MEDSEG_NORMALIZE_METHOD_WINDOW, {{1.0, 2.0, 0, 0}},
                      false, medseg::view_mut(norm.data(), norm.size(), g));
    CHECK(norm[0] == 0.5f && norm[7] == 1.0f && norm[2] == 0.0f);
    medseg::Image r =
        medseg::resample(medseg::view(blobs, 8, g), {{1.0, 1.5, 2.5}}, MEDSEG_INTERPOLATION_NEAREST);
    CHECK(r.geometry().size[0] == 1 && r.pixel_type() == MEDSEG_PIXEL_TYPE_U8);
    medseg::Image c = medseg::reorient(medseg::view(blobs, 8, g), "canonical");
    CHECK(c.geometry().direction[0] == -1.0);
    CHECK(status_of([&] {
              medseg::connected_components(medseg::view(blobs, 8, g), 5,
                                           medseg::view_mut(cc.data(), cc.size(), g));
          }) == MEDSEG_STATUS_INVALID_ARGUMENT);
    CHECK(status_of([&] { medseg::reorient(medseg::view(blobs, 8, g), "QQQ"); }) ==
          MEDSEG_STATUS_INVALID_ARGUMENT);
}

int main(int argc, char **argv) {
    if (argc > 1) g_model_dir = argv[1];
    if (argc > 2) g_sam_dir = argv[2];
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
        {"cpp_model_raii", test_model_raii},
        {"cpp_sam_raii", test_sam_raii},
        {"cpp_processing_helpers", test_processing_helpers},
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
