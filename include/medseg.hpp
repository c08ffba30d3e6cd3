/*
 * medseg.hpp: header-only C++ owners over the medseg C API (medseg.h). C++14.
 *
 *  - medseg::Image owns a medseg_image, medseg::Model a medseg_model, medseg::SamModel a
 *    medseg_sam_model and medseg::SamSession a medseg_sam_session (move-only; released in the
 *    destructor). A Model or SamModel may be shared by reference between threads (const methods).
 *  - Every failing C call becomes a medseg::Error (a std::runtime_error carrying the
 *    medseg_status and the library's message); a cancelled run throws one with
 *    MEDSEG_STATUS_CANCELLED.
 *  - medseg::view / medseg::view_mut describe caller buffers (no copy); the processing helpers
 *    write into a caller buffer or return a new medseg::Image.
 *  - Nothing here allocates library memory that the caller must free by hand.
 *
 *     medseg::Image img = medseg::Image::read("ct.nii.gz");
 *     medseg_geometry g = img.geometry();
 *     const std::int16_t *voxels = img.data<std::int16_t>();
 *
 *     medseg::Model model = medseg::Model::load("models/organs");
 *     std::vector<std::uint8_t> labels(n);
 *     model.predict(medseg::view(ct.data(), ct.size(), g), medseg::view_mut(labels.data(), n, g),
 *                   [](double f, const char *) { return f >= 0.0; });
 *
 *     medseg::SamModel sam = medseg::SamModel::load("models/litemedsam");
 *     medseg::SamSession session = medseg::SamSession::create(sam, medseg::view(u8.data(), n, g));
 *     session.predict_3d({{40, 17, 0, 169, 176, 45}}, 1, medseg::view_mut(labels.data(), n, g));
 */
#ifndef MEDSEG_HPP
#define MEDSEG_HPP

#include "medseg.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace medseg {

/// A failed medseg call: the status and the library's message (medseg_last_error_message()).
class Error : public std::runtime_error {
  public:
    Error(medseg_status status, const std::string &message)
        : std::runtime_error(std::string(medseg_status_name(static_cast<std::uint32_t>(status))) +
                             ": " + message),
          status_(status) {}

    /// The status number the C call returned.
    medseg_status status() const noexcept { return status_; }

    /// The short status name ("format", "null_argument", ...); static storage.
    const char *status_name() const noexcept {
        return medseg_status_name(static_cast<std::uint32_t>(status_));
    }

  private:
    medseg_status status_;
};

/// Throw medseg::Error unless `status` is MEDSEG_STATUS_OK. Call it right after the C call, on
/// the same thread (the message is thread-local and replaced by the next call).
inline void check(medseg_status status) {
    if (status != MEDSEG_STATUS_OK) {
        throw Error(status, medseg_last_error_message());
    }
}

/// The medseg_pixel_type number of a C++ scalar type (a compile error for other types).
template <class T> struct pixel_type_of;
template <> struct pixel_type_of<std::uint8_t> {
    static constexpr std::uint32_t value = MEDSEG_PIXEL_TYPE_U8;
};
template <> struct pixel_type_of<std::int8_t> {
    static constexpr std::uint32_t value = MEDSEG_PIXEL_TYPE_I8;
};
template <> struct pixel_type_of<std::uint16_t> {
    static constexpr std::uint32_t value = MEDSEG_PIXEL_TYPE_U16;
};
template <> struct pixel_type_of<std::int16_t> {
    static constexpr std::uint32_t value = MEDSEG_PIXEL_TYPE_I16;
};
template <> struct pixel_type_of<std::uint32_t> {
    static constexpr std::uint32_t value = MEDSEG_PIXEL_TYPE_U32;
};
template <> struct pixel_type_of<std::int32_t> {
    static constexpr std::uint32_t value = MEDSEG_PIXEL_TYPE_I32;
};
template <> struct pixel_type_of<std::uint64_t> {
    static constexpr std::uint32_t value = MEDSEG_PIXEL_TYPE_U64;
};
template <> struct pixel_type_of<std::int64_t> {
    static constexpr std::uint32_t value = MEDSEG_PIXEL_TYPE_I64;
};
template <> struct pixel_type_of<float> {
    static constexpr std::uint32_t value = MEDSEG_PIXEL_TYPE_F32;
};
template <> struct pixel_type_of<double> {
    static constexpr std::uint32_t value = MEDSEG_PIXEL_TYPE_F64;
};

/// The library version ("MAJOR.MINOR.PATCH").
inline std::string version() { return medseg_version(); }

/// The ONNX Runtime models run with (version, path) and its execution providers, loading it if
/// needed (`runtime_path` empty: the search order). Throws medseg::Error (RUNTIME) when none is usable.
inline std::string runtime_info(const std::string &runtime_path = "") {
    const char *info = nullptr;
    check(medseg_runtime_info(runtime_path.empty() ? nullptr : runtime_path.c_str(), &info));
    return info;
}

/// Throw medseg::Error (MEDSEG_STATUS_INVALID_ARGUMENT) when the library's ABI generation differs
/// from the header this code was compiled with.
inline void check_abi() {
    if (medseg_abi_version() != MEDSEG_ABI_VERSION) {
        throw Error(MEDSEG_STATUS_INVALID_ARGUMENT,
                    "library ABI " + std::to_string(medseg_abi_version()) +
                        " does not match header ABI " + std::to_string(MEDSEG_ABI_VERSION));
    }
}

/// An image owned by medseg (move-only RAII owner of a medseg_image handle).
class Image {
  public:
    /// An empty owner (no image).
    Image() noexcept = default;

    /// Take ownership of a handle returned by the C API (NULL allowed).
    explicit Image(medseg_image *owned) noexcept : handle_(owned) {}

    Image(const Image &) = delete;
    Image &operator=(const Image &) = delete;
    Image(Image &&other) noexcept : handle_(other.release()) {}
    Image &operator=(Image &&other) noexcept {
        if (this != &other) {
            reset(other.release());
        }
        return *this;
    }
    ~Image() { medseg_image_free(handle_); }

    /// Read an image file (format from the extension). Throws medseg::Error.
    static Image read(const std::string &path) {
        medseg_image *h = nullptr;
        check(medseg_image_read(path.c_str(), &h));
        return Image(h);
    }

    /// Copy a borrowed view into a new image. Throws medseg::Error.
    static Image from_view(const medseg_image_view &view) {
        medseg_image *h = nullptr;
        check(medseg_image_from_view(&view, &h));
        return Image(h);
    }

    /// Copy `count` values of T (the whole strided extent) into a new image. `strides` in
    /// elements; all zero means contiguous. Throws medseg::Error.
    template <class T>
    static Image from_buffer(const T *data, std::size_t count, const medseg_geometry &geometry,
                             std::size_t components = 1,
                             std::array<std::size_t, 3> strides = {{0, 0, 0}}) {
        medseg_image_view v{};
        v.data = data;
        v.len_bytes = count * sizeof(T);
        v.pixel_type = pixel_type_of<T>::value;
        v.components = components;
        for (int a = 0; a < 3; ++a) {
            v.strides[a] = strides[static_cast<std::size_t>(a)];
        }
        v.geometry = geometry;
        return from_view(v);
    }

    /// Write to a file (atomic; format from the extension). Throws medseg::Error.
    void write(const std::string &path) const { check(medseg_image_write(handle_, path.c_str())); }

    /// The grid (LPS).
    medseg_geometry geometry() const {
        medseg_geometry g{};
        check(medseg_image_geometry(handle_, &g));
        return g;
    }

    /// The medseg_pixel_type number.
    std::uint32_t pixel_type() const {
        std::uint32_t t = 0;
        check(medseg_image_pixel_type(handle_, &t));
        return t;
    }

    /// Values per voxel.
    std::size_t components() const {
        std::size_t n = 0;
        check(medseg_image_components(handle_, &n));
        return n;
    }

    /// Volumes along the 4th dimension.
    std::size_t frames() const {
        std::size_t n = 0;
        check(medseg_image_frames(handle_, &n));
        return n;
    }

    /// The buffer as bytes: pointer valid while this Image owns the handle.
    std::pair<const void *, std::size_t> bytes() const {
        const void *p = nullptr;
        std::size_t n = 0;
        check(medseg_image_data(handle_, &p, &n));
        return std::make_pair(p, n);
    }

    /// The buffer as T (throws MEDSEG_STATUS_PIXEL_TYPE when T is not the image's type);
    /// `count` receives the number of values. Valid while this Image owns the handle.
    template <class T> const T *data(std::size_t *count = nullptr) const {
        if (pixel_type() != pixel_type_of<T>::value) {
            throw Error(MEDSEG_STATUS_PIXEL_TYPE,
                        "requested pixel type " + std::to_string(pixel_type_of<T>::value) +
                            " but the image holds " + std::to_string(pixel_type()));
        }
        std::pair<const void *, std::size_t> b = bytes();
        if (count != nullptr) {
            *count = b.second / sizeof(T);
        }
        return static_cast<const T *>(b.first);
    }

    /// The handle (still owned by this object), for C calls.
    medseg_image *get() const noexcept { return handle_; }

    /// Give up ownership: the caller must medseg_image_free the result.
    medseg_image *release() noexcept {
        medseg_image *h = handle_;
        handle_ = nullptr;
        return h;
    }

    /// Free the current image and own `owned` instead.
    void reset(medseg_image *owned = nullptr) noexcept {
        medseg_image *old = handle_;
        handle_ = owned;
        medseg_image_free(old);
    }

    explicit operator bool() const noexcept { return handle_ != nullptr; }

  private:
    medseg_image *handle_ = nullptr;
};

/// A borrowed read-only view of `count` values of T (the whole strided extent) on `geometry`.
/// `strides` in elements; all zero means contiguous. Nothing is copied; the buffer must outlive
/// the calls the view is passed to.
template <class T>
inline medseg_image_view view(const T *data, std::size_t count, const medseg_geometry &geometry,
                              std::size_t components = 1,
                              std::array<std::size_t, 3> strides = {{0, 0, 0}}) {
    medseg_image_view v{};
    v.data = data;
    v.len_bytes = count * sizeof(T);
    v.pixel_type = pixel_type_of<T>::value;
    v.components = components;
    for (std::size_t a = 0; a < 3; ++a) {
        v.strides[a] = strides[a];
    }
    v.geometry = geometry;
    return v;
}

/// A borrowed writable view of `count` values of T (see medseg::view).
template <class T>
inline medseg_image_view_mut view_mut(T *data, std::size_t count, const medseg_geometry &geometry,
                                      std::size_t components = 1,
                                      std::array<std::size_t, 3> strides = {{0, 0, 0}}) {
    medseg_image_view_mut v{};
    v.data = data;
    v.len_bytes = count * sizeof(T);
    v.pixel_type = pixel_type_of<T>::value;
    v.components = components;
    for (std::size_t a = 0; a < 3; ++a) {
        v.strides[a] = strides[a];
    }
    v.geometry = geometry;
    return v;
}

/// Model options with the library's defaults (medseg_model_options_init); change fields after.
/// The strings are borrowed until Model::load returns.
inline medseg_model_options model_options() {
    medseg_model_options o{};
    check(medseg_model_options_init(&o));
    return o;
}

/// Progress callback of the C++ layer: (fraction in [0, 1], stage) -> keep going. An exception
/// it throws cancels the run and is rethrown from the call that took it.
using Progress = std::function<bool(double, const char *)>;

namespace detail {
struct ProgressBridge {
    const Progress *fn;
    std::exception_ptr error;
};

extern "C" inline bool progress_trampoline(void *userdata, double fraction, const char *stage) {
    ProgressBridge *b = static_cast<ProgressBridge *>(userdata);
    try {
        return (*b->fn)(fraction, stage);
    } catch (...) {
        b->error = std::current_exception();
        return false;
    }
}
} // namespace detail

/// One entry of a model's label table.
struct Label {
    std::uint32_t value;
    std::string name;
    std::array<std::uint8_t, 3> rgb;
};

/// A loaded model (move-only RAII owner of a medseg_model handle). Immutable after load: the
/// const methods may be called from several threads on one Model at once.
class Model {
  public:
    /// An empty owner (no model).
    Model() noexcept = default;

    /// Take ownership of a handle returned by the C API (NULL allowed).
    explicit Model(medseg_model *owned) noexcept : handle_(owned) {}

    Model(const Model &) = delete;
    Model &operator=(const Model &) = delete;
    Model(Model &&other) noexcept : handle_(other.release()) {}
    Model &operator=(Model &&other) noexcept {
        if (this != &other) {
            reset(other.release());
        }
        return *this;
    }
    ~Model() { medseg_model_free(handle_); }

    /// Load a model folder. Throws medseg::Error.
    static Model load(const std::string &dir, const medseg_model_options &options) {
        medseg_model *h = nullptr;
        check(medseg_model_load(dir.c_str(), &options, &h));
        return Model(h);
    }

    /// Load a model folder with the default options. Throws medseg::Error.
    static Model load(const std::string &dir) {
        medseg_model *h = nullptr;
        check(medseg_model_load(dir.c_str(), nullptr, &h));
        return Model(h);
    }

    /// Input channels (= components of the input view of predict).
    std::size_t input_channels() const {
        std::size_t n = 0;
        check(medseg_model_input_channels(handle_, &n));
        return n;
    }

    /// The label table, background first.
    std::vector<Label> labels() const {
        std::size_t n = 0;
        check(medseg_model_label_count(handle_, &n));
        std::vector<Label> out;
        out.reserve(n);
        for (std::size_t i = 0; i < n; ++i) {
            Label l{0, std::string(), {{0, 0, 0}}};
            const char *name = nullptr;
            check(medseg_model_label(handle_, i, &l.value, &name, l.rgb.data()));
            l.name = name != nullptr ? name : "";
            out.push_back(l);
        }
        return out;
    }

    /// Segment `input` into the caller's `output` (the input's grid, U8 or U16). `progress`
    /// may be empty. Throws medseg::Error (MEDSEG_STATUS_CANCELLED when progress returned
    /// false; output untouched), or rethrows what `progress` threw.
    void predict(const medseg_image_view &input, const medseg_image_view_mut &output,
                 const Progress &progress = Progress()) const {
        if (!progress) {
            check(medseg_predict(handle_, &input, nullptr, nullptr, &output));
            return;
        }
        detail::ProgressBridge bridge{&progress, nullptr};
        medseg_status s =
            medseg_predict(handle_, &input, detail::progress_trampoline, &bridge, &output);
        if (bridge.error) {
            std::rethrow_exception(bridge.error);
        }
        check(s);
    }

    /// The handle (still owned by this object), for C calls.
    medseg_model *get() const noexcept { return handle_; }

    /// Give up ownership: the caller must medseg_model_free the result.
    medseg_model *release() noexcept {
        medseg_model *h = handle_;
        handle_ = nullptr;
        return h;
    }

    /// Free the current model and own `owned` instead.
    void reset(medseg_model *owned = nullptr) noexcept {
        medseg_model *old = handle_;
        handle_ = owned;
        medseg_model_free(old);
    }

    explicit operator bool() const noexcept { return handle_ != nullptr; }

  private:
    medseg_model *handle_ = nullptr;
};

/// SAM model options with the library's defaults (medseg_sam_options_init); change fields
/// after. The strings are borrowed until SamModel::load returns.
inline medseg_sam_options sam_options() {
    medseg_sam_options o{};
    check(medseg_sam_options_init(&o));
    return o;
}

namespace detail {
/// Run `call(callback, userdata)` with `progress` bridged to the C callback (none when empty);
/// rethrow what `progress` threw, else throw medseg::Error for a failed status.
template <class Call> inline void with_progress(const Progress &progress, Call call) {
    if (!progress) {
        check(call(nullptr, nullptr));
        return;
    }
    ProgressBridge bridge{&progress, nullptr};
    medseg_status s = call(progress_trampoline, &bridge);
    if (bridge.error) {
        std::rethrow_exception(bridge.error);
    }
    check(s);
}
} // namespace detail

/// A loaded SAM-family model such as LiteMedSAM (move-only RAII owner of a medseg_sam_model
/// handle). Immutable after load: may be shared by reference between threads, each with its own
/// SamSession. Sessions keep the networks alive, so the model may be destroyed first.
class SamModel {
  public:
    /// An empty owner (no model).
    SamModel() noexcept = default;

    /// Take ownership of a handle returned by the C API (NULL allowed).
    explicit SamModel(medseg_sam_model *owned) noexcept : handle_(owned) {}

    SamModel(const SamModel &) = delete;
    SamModel &operator=(const SamModel &) = delete;
    SamModel(SamModel &&other) noexcept : handle_(other.release()) {}
    SamModel &operator=(SamModel &&other) noexcept {
        if (this != &other) {
            reset(other.release());
        }
        return *this;
    }
    ~SamModel() { medseg_sam_model_free(handle_); }

    /// Load a SAM model folder. Throws medseg::Error (MODEL with the set-up hint when the
    /// folder or its networks are missing, DEVICE, RUNTIME, ...).
    static SamModel load(const std::string &dir, const medseg_sam_options &options) {
        medseg_sam_model *h = nullptr;
        check(medseg_sam_model_load(dir.c_str(), &options, &h));
        return SamModel(h);
    }

    /// Load a SAM model folder with the default options (CPU). Throws medseg::Error.
    static SamModel load(const std::string &dir) {
        medseg_sam_model *h = nullptr;
        check(medseg_sam_model_load(dir.c_str(), nullptr, &h));
        return SamModel(h);
    }

    /// The handle (still owned by this object), for C calls.
    medseg_sam_model *get() const noexcept { return handle_; }

    /// Give up ownership: the caller must medseg_sam_model_free the result.
    medseg_sam_model *release() noexcept {
        medseg_sam_model *h = handle_;
        handle_ = nullptr;
        return h;
    }

    /// Free the current model and own `owned` instead.
    void reset(medseg_sam_model *owned = nullptr) noexcept {
        medseg_sam_model *old = handle_;
        handle_ = owned;
        medseg_sam_model_free(old);
    }

    explicit operator bool() const noexcept { return handle_ != nullptr; }

  private:
    medseg_sam_model *handle_ = nullptr;
};

/// One image bound for box prompts, with its cache of slice embeddings (move-only RAII owner
/// of a medseg_sam_session handle). Calls on one session are serialised; use one session per
/// thread for parallel work. Boxes are voxel indices (x = i column, y = j row, z = k slice).
class SamSession {
  public:
    /// An empty owner (no session).
    SamSession() noexcept = default;

    /// Take ownership of a handle returned by the C API (NULL allowed).
    explicit SamSession(medseg_sam_session *owned) noexcept : handle_(owned) {}

    SamSession(const SamSession &) = delete;
    SamSession &operator=(const SamSession &) = delete;
    SamSession(SamSession &&other) noexcept : handle_(other.release()) {}
    SamSession &operator=(SamSession &&other) noexcept {
        if (this != &other) {
            reset(other.release());
        }
        return *this;
    }
    ~SamSession() { medseg_sam_session_free(handle_); }

    /// A session on a uint8 view (1, 3 or 4 components, contiguous). The buffer is borrowed,
    /// not copied: keep it alive and unchanged until the session is destroyed or rebound.
    /// Throws medseg::Error (PIXEL_TYPE for other pixel types).
    static SamSession create(const SamModel &model, const medseg_image_view &image) {
        medseg_sam_session *h = nullptr;
        check(medseg_sam_session_create(model.get(), &image, &h));
        return SamSession(h);
    }

    /// A session on a uint8 copy of `image` (any pixel type) made with an intensity rule
    /// ("auto" or empty, "percentiles", a CT preset name or "LEVEL,WIDTH"). Throws
    /// medseg::Error.
    static SamSession from_image(const SamModel &model, const Image &image,
                                 const std::string &intensity = "auto") {
        medseg_sam_session *h = nullptr;
        check(medseg_sam_session_create_from_image(
            model.get(), image.get(), intensity.empty() ? nullptr : intensity.c_str(), &h));
        return SamSession(h);
    }

    /// Bind another uint8 view (borrowed as in create) and forget the cached embeddings.
    void set_image(const medseg_image_view &image) {
        check(medseg_sam_session_set_image(handle_, &image));
    }

    /// The grid of slice `k` (the grid predict_2d's mask must have).
    medseg_geometry slice_geometry(std::int64_t k) const {
        medseg_geometry g{};
        check(medseg_sam_session_slice_geometry(handle_, k, &g));
        return g;
    }

    /// Encode slices k_first..k_last into the cache ahead of prompts. Throws medseg::Error
    /// (CANCELLED when progress returned false), or rethrows what `progress` threw.
    void encode_slices(std::int64_t k_first, std::int64_t k_last,
                       const Progress &progress = Progress()) {
        detail::with_progress(progress, [&](medseg_progress_callback cb, void *user) {
            return medseg_sam_encode_slices(handle_, k_first, k_last, cb, user);
        });
    }

    /// Segment box (x0, y0, x1, y1) on slice `k` into `mask` (U8, slice k's grid; 1 inside,
    /// 0 elsewhere). Returns the predicted IoU. Throws medseg::Error.
    float predict_2d(std::int64_t k, const std::array<double, 4> &box,
                     const medseg_image_view_mut &mask) {
        float iou = 0.0f;
        check(medseg_sam_predict_2d(handle_, k, box.data(), &mask, &iou));
        return iou;
    }

    /// Segment box (x0, y0, z0, x1, y1, z1) by propagation into `output` (the image's grid, U8
    /// or U16; `label` inside, 0 elsewhere). Throws medseg::Error (CANCELLED when progress
    /// returned false; output untouched), or rethrows what `progress` threw.
    void predict_3d(const std::array<double, 6> &box, std::uint16_t label,
                    const medseg_image_view_mut &output, const Progress &progress = Progress()) {
        detail::with_progress(progress, [&](medseg_progress_callback cb, void *user) {
            return medseg_sam_predict_3d(handle_, box.data(), label, cb, user, &output);
        });
    }

    /// The handle (still owned by this object), for C calls.
    medseg_sam_session *get() const noexcept { return handle_; }

    /// Give up ownership: the caller must medseg_sam_session_free the result.
    medseg_sam_session *release() noexcept {
        medseg_sam_session *h = handle_;
        handle_ = nullptr;
        return h;
    }

    /// Free the current session and own `owned` instead.
    void reset(medseg_sam_session *owned = nullptr) noexcept {
        medseg_sam_session *old = handle_;
        handle_ = owned;
        medseg_sam_session_free(old);
    }

    explicit operator bool() const noexcept { return handle_ != nullptr; }

  private:
    medseg_sam_session *handle_ = nullptr;
};

// Processing helpers: each throws medseg::Error on failure; outputs are written only on
// success.

/// Connected components into `output` (U16 or U32); returns the number of components.
inline std::size_t connected_components(const medseg_image_view &input,
                                        std::uint32_t connectivity,
                                        const medseg_image_view_mut &output) {
    std::size_t n = 0;
    check(medseg_connected_components(&input, connectivity, &output, &n));
    return n;
}

/// Largest component (per label or overall) into `output` (the input's pixel type).
inline void largest_component(const medseg_image_view &input, std::uint32_t connectivity,
                              bool per_label, const medseg_image_view_mut &output) {
    check(medseg_largest_component(&input, connectivity, per_label, &output));
}

/// Remove components smaller than `min_size` (voxels, or mm³ when `in_mm3`).
inline void remove_small(const medseg_image_view &input, std::uint32_t connectivity,
                         double min_size, bool in_mm3, const medseg_image_view_mut &output) {
    check(medseg_remove_small(&input, connectivity, min_size, in_mm3, &output));
}

/// Fill holes (per label, or a 0/1 mask).
inline void fill_holes(const medseg_image_view &input, bool per_label,
                       const medseg_image_view_mut &output) {
    check(medseg_fill_holes(&input, per_label, &output));
}

/// Relabel through a JSON label map.
inline void relabel(const medseg_image_view &input, const std::string &map_json,
                    const medseg_image_view_mut &output) {
    check(medseg_relabel(&input, map_json.c_str(), &output));
}

/// Normalise intensities into an F32 `output` (method: a medseg_normalize_method number).
inline void normalize(const medseg_image_view &input, std::uint32_t method,
                      std::array<double, 4> p, bool nonzero_only,
                      const medseg_image_view_mut &output) {
    medseg_normalize_options o{};
    check(medseg_normalize_options_init(&o));
    o.method = method;
    for (std::size_t i = 0; i < 4; ++i) {
        o.p[i] = p[i];
    }
    o.nonzero_only = nonzero_only;
    check(medseg_normalize(&input, &o, &output));
}

/// Resample onto `spacing` (interpolation: a medseg_interpolation number); a new image.
inline Image resample(const medseg_image_view &input, const std::array<double, 3> &spacing,
                      std::uint32_t interpolation) {
    medseg_image *h = nullptr;
    check(medseg_resample(&input, spacing.data(), interpolation, &h));
    return Image(h);
}

/// Reorient to an axis code ("RAS", "LPS", ..., "canonical"); a new image.
inline Image reorient(const medseg_image_view &input, const std::string &axcodes) {
    medseg_image *h = nullptr;
    check(medseg_reorient(&input, axcodes.c_str(), &h));
    return Image(h);
}

/// TotalSpineSeg utilities (preset: a medseg_spine_preset number).
inline void spine_largest_component(const medseg_image_view &seg, std::uint32_t preset,
                                    const medseg_image_view_mut &output) {
    check(medseg_spine_largest_component(&seg, preset, &output));
}
inline void spine_iterative_label(const medseg_image_view &seg, std::uint32_t preset,
                                  const medseg_image_view *localizer,
                                  const medseg_image_view_mut &output) {
    check(medseg_spine_iterative_label(&seg, preset, localizer, &output));
}
inline void spine_fill_canal(const medseg_image_view &seg, std::uint32_t preset,
                             const medseg_image_view_mut &output) {
    check(medseg_spine_fill_canal(&seg, preset, &output));
}
inline void spine_extract_levels(const medseg_image_view &seg,
                                 const medseg_image_view_mut &output) {
    check(medseg_spine_extract_levels(&seg, &output));
}

} // namespace medseg

#endif /* MEDSEG_HPP */
