/*
 * medseg.hpp: header-only C++ owners over the medseg C API (medseg.h). C++14.
 *
 *  - medseg::Image owns a medseg_image (move-only; released in the destructor).
 *  - Every failing C call becomes a medseg::Error (a std::runtime_error carrying the
 *    medseg_status and the library's message).
 *  - Nothing here allocates library memory that the caller must free by hand.
 *
 *     medseg::Image img = medseg::Image::read("ct.nii.gz");
 *     medseg_geometry g = img.geometry();
 *     const std::int16_t *voxels = img.data<std::int16_t>();
 */
#ifndef MEDSEG_HPP
#define MEDSEG_HPP

#include "medseg.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>

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

} // namespace medseg

#endif /* MEDSEG_HPP */
