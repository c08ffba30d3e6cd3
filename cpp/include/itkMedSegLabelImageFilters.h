/*
 * Label-map post-processing with medseg inside an ITK pipeline (header-only; link
 * MedSeg::ITKMedSeg):
 *
 *   itk::MedSegLargestComponentImageFilter   keep the largest connected component (values kept)
 *   itk::MedSegRemoveSmallImageFilter        remove components below a voxel count or volume
 *   itk::MedSegFillHolesImageFilter          fill enclosed background
 *   itk::MedSegRelabelImageFilter            merge / remove / renumber labels through a JSON map
 *
 * Each is the same medseg function as the `medseg` command of the same name, so results equal the
 * command line's on the same file. The input buffer is handed over without a copy, the output has
 * the input's grid, and regions are always whole images.
 */
#ifndef itkMedSegLabelImageFilters_h
#define itkMedSegLabelImageFilters_h

#include "itkImageToImageFilter.h"
#include "itkMedSegImageView.h"

#include <medseg.h>

#include <string>

namespace itk
{

/** \class MedSegLabelImageFilter
 * \brief Base of the medseg label filters: whole-image regions, zero-copy views, engine errors
 * as itk::ExceptionObject. Subclasses implement RunEngine.
 * \ingroup MedSeg
 */
template <typename TImage>
class MedSegLabelImageFilter : public ImageToImageFilter<TImage, TImage>
{
public:
  ITK_DISALLOW_COPY_AND_MOVE(MedSegLabelImageFilter);

  using Self = MedSegLabelImageFilter;
  using Superclass = ImageToImageFilter<TImage, TImage>;
  using Pointer = SmartPointer<Self>;
  using ConstPointer = SmartPointer<const Self>;
  using ImageType = TImage;

  static constexpr unsigned int ImageDimension = TImage::ImageDimension;
  static_assert(ImageDimension == 2 || ImageDimension == 3, "medseg label filters work on 2-D and 3-D images");
  static_assert(medseg_detail::PixelTypeCode<medseg_detail::ScalarType<TImage>>() != 0,
                "pixel type not supported by medseg");

#ifdef itkOverrideGetNameOfClassMacro
  itkOverrideGetNameOfClassMacro(MedSegLabelImageFilter);
#else
  itkTypeMacro(MedSegLabelImageFilter, ImageToImageFilter);
#endif

  /** The `data` pointer of the input view the last run handed to the engine (equal to the input's
   * GetBufferPointer(): no copy is made). */
  const void *
  GetEngineInputPointer() const
  {
    return m_EngineInputPointer;
  }

  /** Status of the last engine call. */
  medseg_status
  GetLastStatus() const
  {
    return m_LastStatus;
  }

protected:
  MedSegLabelImageFilter() { this->ThreaderUpdateProgressOff(); }
  ~MedSegLabelImageFilter() override = default;

  /** Run the medseg function on `input`, writing `output` (same grid and pixel type). */
  virtual medseg_status
  RunEngine(const medseg_image_view & input, const medseg_image_view_mut & output) = 0;

  void
  GenerateInputRequestedRegion() override
  {
    Superclass::GenerateInputRequestedRegion();
    if (auto * input = const_cast<ImageType *>(this->GetInput()))
    {
      input->SetRequestedRegionToLargestPossibleRegion();
    }
  }

  void
  EnlargeOutputRequestedRegion(DataObject * output) override
  {
    Superclass::EnlargeOutputRequestedRegion(output);
    output->SetRequestedRegionToLargestPossibleRegion();
  }

  void
  GenerateData() override
  {
    const ImageType * input = this->GetInput();
    if (input->GetBufferedRegion() != input->GetLargestPossibleRegion())
    {
      itkExceptionMacro("the input's buffered region is not its largest possible region");
    }
    this->AllocateOutputs();
    ImageType *                 output = this->GetOutput();
    const medseg_image_view     in = medseg_detail::MakeView(input);
    const medseg_image_view_mut out = medseg_detail::MakeMutableView(output);
    m_EngineInputPointer = in.data;
    const medseg_status status = this->RunEngine(in, out);
    m_LastStatus = status;
    if (status != MEDSEG_STATUS_OK)
    {
      const std::string error = medseg_detail::EngineError(status);
      output->ReleaseData();
      itkExceptionMacro("failed: " << error);
    }
    this->UpdateProgress(1.0f);
  }

  void
  PrintSelf(std::ostream & os, Indent indent) const override
  {
    Superclass::PrintSelf(os, indent);
    os << indent << "LastStatus: " << medseg_status_name(static_cast<uint32_t>(m_LastStatus)) << std::endl;
  }

  /** Default connectivity: full (26 in 3-D, 8 in 2-D), as the `medseg` commands. */
  static constexpr unsigned int DefaultConnectivity = ImageDimension == 3 ? 26u : 8u;

private:
  const void *  m_EngineInputPointer{ nullptr };
  medseg_status m_LastStatus{ MEDSEG_STATUS_OK };
};

/** \class MedSegLargestComponentImageFilter
 * \brief Keeps the largest connected component (of all labels together, or of every label with
 * PerLabelOn); kept voxels keep their values. Same as `medseg largest`.
 * \ingroup MedSeg
 */
template <typename TImage>
class MedSegLargestComponentImageFilter : public MedSegLabelImageFilter<TImage>
{
public:
  ITK_DISALLOW_COPY_AND_MOVE(MedSegLargestComponentImageFilter);

  using Self = MedSegLargestComponentImageFilter;
  using Superclass = MedSegLabelImageFilter<TImage>;
  using Pointer = SmartPointer<Self>;
  using ConstPointer = SmartPointer<const Self>;

  itkNewMacro(Self);
#ifdef itkOverrideGetNameOfClassMacro
  itkOverrideGetNameOfClassMacro(MedSegLargestComponentImageFilter);
#else
  itkTypeMacro(MedSegLargestComponentImageFilter, MedSegLabelImageFilter);
#endif

  /** 6, 18 or 26 in 3-D; 4 or 8 in 2-D (default: 26 / 8). Other values are an engine error. */
  itkSetMacro(Connectivity, unsigned int);
  itkGetConstMacro(Connectivity, unsigned int);

  itkSetMacro(PerLabel, bool);
  itkGetConstMacro(PerLabel, bool);
  itkBooleanMacro(PerLabel);

protected:
  MedSegLargestComponentImageFilter() = default;
  ~MedSegLargestComponentImageFilter() override = default;

  medseg_status
  RunEngine(const medseg_image_view & input, const medseg_image_view_mut & output) override
  {
    return medseg_largest_component(&input, m_Connectivity, m_PerLabel, &output);
  }

  void
  PrintSelf(std::ostream & os, Indent indent) const override
  {
    Superclass::PrintSelf(os, indent);
    os << indent << "Connectivity: " << m_Connectivity << std::endl;
    os << indent << "PerLabel: " << (m_PerLabel ? "On" : "Off") << std::endl;
  }

private:
  unsigned int m_Connectivity{ Superclass::DefaultConnectivity };
  bool         m_PerLabel{ false };
};

/** \class MedSegRemoveSmallImageFilter
 * \brief Removes connected components (per label) smaller than MinimumSize voxels, or mm^3 with
 * SizeInPhysicalUnitsOn. Same as `medseg remove-small`.
 * \ingroup MedSeg
 */
template <typename TImage>
class MedSegRemoveSmallImageFilter : public MedSegLabelImageFilter<TImage>
{
public:
  ITK_DISALLOW_COPY_AND_MOVE(MedSegRemoveSmallImageFilter);

  using Self = MedSegRemoveSmallImageFilter;
  using Superclass = MedSegLabelImageFilter<TImage>;
  using Pointer = SmartPointer<Self>;
  using ConstPointer = SmartPointer<const Self>;

  itkNewMacro(Self);
#ifdef itkOverrideGetNameOfClassMacro
  itkOverrideGetNameOfClassMacro(MedSegRemoveSmallImageFilter);
#else
  itkTypeMacro(MedSegRemoveSmallImageFilter, MedSegLabelImageFilter);
#endif

  itkSetMacro(Connectivity, unsigned int);
  itkGetConstMacro(Connectivity, unsigned int);

  itkSetMacro(MinimumSize, double);
  itkGetConstMacro(MinimumSize, double);

  itkSetMacro(SizeInPhysicalUnits, bool);
  itkGetConstMacro(SizeInPhysicalUnits, bool);
  itkBooleanMacro(SizeInPhysicalUnits);

protected:
  MedSegRemoveSmallImageFilter() = default;
  ~MedSegRemoveSmallImageFilter() override = default;

  medseg_status
  RunEngine(const medseg_image_view & input, const medseg_image_view_mut & output) override
  {
    return medseg_remove_small(&input, m_Connectivity, m_MinimumSize, m_SizeInPhysicalUnits, &output);
  }

  void
  PrintSelf(std::ostream & os, Indent indent) const override
  {
    Superclass::PrintSelf(os, indent);
    os << indent << "Connectivity: " << m_Connectivity << std::endl;
    os << indent << "MinimumSize: " << m_MinimumSize << std::endl;
    os << indent << "SizeInPhysicalUnits: " << (m_SizeInPhysicalUnits ? "On" : "Off") << std::endl;
  }

private:
  unsigned int m_Connectivity{ Superclass::DefaultConnectivity };
  double       m_MinimumSize{ 0.0 };
  bool         m_SizeInPhysicalUnits{ false };
};

/** \class MedSegFillHolesImageFilter
 * \brief Fills enclosed background (binary 0/1 output unless PerLabelOn). Same as
 * `medseg fill-holes`.
 * \ingroup MedSeg
 */
template <typename TImage>
class MedSegFillHolesImageFilter : public MedSegLabelImageFilter<TImage>
{
public:
  ITK_DISALLOW_COPY_AND_MOVE(MedSegFillHolesImageFilter);

  using Self = MedSegFillHolesImageFilter;
  using Superclass = MedSegLabelImageFilter<TImage>;
  using Pointer = SmartPointer<Self>;
  using ConstPointer = SmartPointer<const Self>;

  itkNewMacro(Self);
#ifdef itkOverrideGetNameOfClassMacro
  itkOverrideGetNameOfClassMacro(MedSegFillHolesImageFilter);
#else
  itkTypeMacro(MedSegFillHolesImageFilter, MedSegLabelImageFilter);
#endif

  itkSetMacro(PerLabel, bool);
  itkGetConstMacro(PerLabel, bool);
  itkBooleanMacro(PerLabel);

protected:
  MedSegFillHolesImageFilter() = default;
  ~MedSegFillHolesImageFilter() override = default;

  medseg_status
  RunEngine(const medseg_image_view & input, const medseg_image_view_mut & output) override
  {
    return medseg_fill_holes(&input, m_PerLabel, &output);
  }

  void
  PrintSelf(std::ostream & os, Indent indent) const override
  {
    Superclass::PrintSelf(os, indent);
    os << indent << "PerLabel: " << (m_PerLabel ? "On" : "Off") << std::endl;
  }

private:
  bool m_PerLabel{ false };
};

/** \class MedSegRelabelImageFilter
 * \brief Merges, removes or renumbers labels through a JSON map (the `medseg relabel` format).
 * \ingroup MedSeg
 */
template <typename TImage>
class MedSegRelabelImageFilter : public MedSegLabelImageFilter<TImage>
{
public:
  ITK_DISALLOW_COPY_AND_MOVE(MedSegRelabelImageFilter);

  using Self = MedSegRelabelImageFilter;
  using Superclass = MedSegLabelImageFilter<TImage>;
  using Pointer = SmartPointer<Self>;
  using ConstPointer = SmartPointer<const Self>;

  itkNewMacro(Self);
#ifdef itkOverrideGetNameOfClassMacro
  itkOverrideGetNameOfClassMacro(MedSegRelabelImageFilter);
#else
  itkTypeMacro(MedSegRelabelImageFilter, MedSegLabelImageFilter);
#endif

  /** The relabel map as JSON text (as `medseg relabel --map`). */
  itkSetStringMacro(MapJson);
  itkGetStringMacro(MapJson);

protected:
  MedSegRelabelImageFilter() = default;
  ~MedSegRelabelImageFilter() override = default;

  medseg_status
  RunEngine(const medseg_image_view & input, const medseg_image_view_mut & output) override
  {
    return medseg_relabel(&input, m_MapJson.c_str(), &output);
  }

  void
  PrintSelf(std::ostream & os, Indent indent) const override
  {
    Superclass::PrintSelf(os, indent);
    os << indent << "MapJson: " << m_MapJson << std::endl;
  }

private:
  std::string m_MapJson;
};

} // namespace itk

#endif // itkMedSegLabelImageFilters_h
