/*
 * Zero-copy bridges between itk::Image buffers and medseg's C image views (medseg.h).
 *
 * A view borrows the image's buffer (GetBufferPointer(), nothing is copied) and describes the
 * buffered region's grid in LPS, the physical space ITK and medseg share:
 *   size      = buffered region size (k = 1 for 2-D images)
 *   spacing   = image spacing
 *   origin    = physical point of the first *buffered* voxel (not GetOrigin(): a buffer may start
 *               at a non-zero index, e.g. after RegionOfInterestImageFilter)
 *   direction = row-major, direction[3*r + c] = D(r, c); column c is the unit vector of index axis c
 * The pointers are valid only while the image is alive and its buffer is not reallocated; medseg
 * reads or writes them only during the call they are passed to.
 */
#ifndef itkMedSegImageView_h
#define itkMedSegImageView_h

#include "itkImage.h"
#include "itkMacro.h"
#include "itkNumericTraits.h"

#include <medseg.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>

namespace itk
{
namespace medseg_detail
{

/** The medseg_pixel_type number of a C++ scalar type; 0 for types medseg does not know (bool,
 * long double, ...), which the filters reject at compile time with a static_assert. */
template <typename T>
constexpr uint32_t
PixelTypeCode()
{
  using U = typename std::remove_cv<T>::type;
  return std::is_same<U, float>::value    ? static_cast<uint32_t>(MEDSEG_PIXEL_TYPE_F32)
         : std::is_same<U, double>::value ? static_cast<uint32_t>(MEDSEG_PIXEL_TYPE_F64)
         : (!std::is_integral<U>::value || std::is_same<U, bool>::value) ? 0u
         : sizeof(U) == 1 ? (std::is_signed<U>::value ? static_cast<uint32_t>(MEDSEG_PIXEL_TYPE_I8)
                                                       : static_cast<uint32_t>(MEDSEG_PIXEL_TYPE_U8))
         : sizeof(U) == 2 ? (std::is_signed<U>::value ? static_cast<uint32_t>(MEDSEG_PIXEL_TYPE_I16)
                                                       : static_cast<uint32_t>(MEDSEG_PIXEL_TYPE_U16))
         : sizeof(U) == 4 ? (std::is_signed<U>::value ? static_cast<uint32_t>(MEDSEG_PIXEL_TYPE_I32)
                                                       : static_cast<uint32_t>(MEDSEG_PIXEL_TYPE_U32))
         : sizeof(U) == 8 ? (std::is_signed<U>::value ? static_cast<uint32_t>(MEDSEG_PIXEL_TYPE_I64)
                                                       : static_cast<uint32_t>(MEDSEG_PIXEL_TYPE_U64))
                          : 0u;
}

/** The scalar type stored in an image's buffer (float for Image<Vector<float, 2>, 3> and
 * VectorImage<float, 3>; the pixel type itself for scalar images). */
template <typename TImage>
using ScalarType = typename NumericTraits<typename TImage::PixelType>::ValueType;

/** Fill `g` with the grid of `image`'s buffered region (see the file comment). */
template <typename TImage>
void
FillGeometry(const TImage * image, medseg_geometry & g)
{
  constexpr unsigned int D = TImage::ImageDimension;
  static_assert(D == 2 || D == 3, "medseg works on 2-D and 3-D images");
  const auto &                 region = image->GetBufferedRegion();
  typename TImage::PointType   first;
  image->TransformIndexToPhysicalPoint(region.GetIndex(), first);
  const auto & spacing = image->GetSpacing();
  const auto & dir = image->GetDirection();
  for (unsigned int r = 0; r < 3; ++r)
  {
    g.size[r] = r < D ? static_cast<uint64_t>(region.GetSize(r)) : 1u;
    g.spacing[r] = r < D ? static_cast<double>(spacing[r]) : 1.0;
    g.origin[r] = r < D ? static_cast<double>(first[r]) : 0.0;
    for (unsigned int c = 0; c < 3; ++c)
    {
      g.direction[3 * r + c] = (r < D && c < D) ? static_cast<double>(dir(r, c)) : (r == c ? 1.0 : 0.0);
    }
  }
}

/** Number of bytes in `image`'s buffer. */
template <typename TImage>
std::size_t
BufferBytes(const TImage * image)
{
  return static_cast<std::size_t>(image->GetBufferedRegion().GetNumberOfPixels()) *
         static_cast<std::size_t>(image->GetNumberOfComponentsPerPixel()) * sizeof(ScalarType<TImage>);
}

/** A read-only view of `image`'s buffer (contiguous: strides all zero). */
template <typename TImage>
medseg_image_view
MakeView(const TImage * image)
{
  static_assert(PixelTypeCode<ScalarType<TImage>>() != 0, "pixel type not supported by medseg");
  medseg_image_view v{};
  v.data = static_cast<const void *>(image->GetBufferPointer());
  v.len_bytes = BufferBytes(image);
  v.pixel_type = PixelTypeCode<ScalarType<TImage>>();
  v.components = image->GetNumberOfComponentsPerPixel();
  FillGeometry(image, v.geometry);
  return v;
}

/** A writable view of `image`'s buffer (contiguous: strides all zero). */
template <typename TImage>
medseg_image_view_mut
MakeMutableView(TImage * image)
{
  static_assert(PixelTypeCode<ScalarType<TImage>>() != 0, "pixel type not supported by medseg");
  medseg_image_view_mut v{};
  v.data = static_cast<void *>(image->GetBufferPointer());
  v.len_bytes = BufferBytes(image);
  v.pixel_type = PixelTypeCode<ScalarType<TImage>>();
  v.components = image->GetNumberOfComponentsPerPixel();
  FillGeometry(image, v.geometry);
  return v;
}

/** "status_name: last error message" for an exception description. Call right after the failed
 * medseg call: the message is thread-local and replaced by the next medseg call. */
inline std::string
EngineError(medseg_status status)
{
  std::string text = medseg_status_name(static_cast<uint32_t>(status));
  text += ": ";
  text += medseg_last_error_message();
  return text;
}

} // namespace medseg_detail
} // namespace itk

#endif // itkMedSegImageView_h
