/*
 * itk::MedSegImageFilter: segments an image with a medseg model (nnU-Net ONNX model folder or the
 * TotalSpineSeg pipeline) inside an ITK pipeline. Header-only; link MedSeg::ITKMedSeg.
 */
#ifndef itkMedSegImageFilter_h
#define itkMedSegImageFilter_h

#include "itkImageToImageFilter.h"
#include "itkMedSegImageView.h"

#include <medseg.h>

#include <exception>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

namespace itk
{

/** \class MedSegImageFilterEnums
 * \brief Enumerations of MedSegImageFilter (ITK 5 style holder class).
 * \ingroup MedSeg
 */
class MedSegImageFilterEnums
{
public:
  /** Which medseg pipeline runs the model folder (medseg_pipeline numbers). */
  enum class Pipeline : uint8_t
  {
    Auto = 0,          ///< from the model folder's manifest
    NnUnet = 1,        ///< one nnU-Net model folder
    TotalSpineSeg = 2, ///< the TotalSpineSeg two-step spine pipeline
  };
};

/** Needed by itkSetMacro's debug output (debug builds do not compile without it). */
inline std::ostream &
operator<<(std::ostream & out, const MedSegImageFilterEnums::Pipeline value)
{
  switch (value)
  {
    case MedSegImageFilterEnums::Pipeline::Auto:
      return out << "itk::MedSegImageFilterEnums::Pipeline::Auto";
    case MedSegImageFilterEnums::Pipeline::NnUnet:
      return out << "itk::MedSegImageFilterEnums::Pipeline::NnUnet";
    case MedSegImageFilterEnums::Pipeline::TotalSpineSeg:
      return out << "itk::MedSegImageFilterEnums::Pipeline::TotalSpineSeg";
  }
  return out << "INVALID VALUE FOR itk::MedSegImageFilterEnums::Pipeline";
}

/** One entry of a model's label table (value 0 is the background). */
struct MedSegModelLabel
{
  unsigned int  value;
  std::string   name;
  unsigned char rgb[3];
};

/** \class MedSegImageFilter
 * \brief Segments the input with a medseg model; the output label map has the input's grid.
 *
 * The whole input buffer is handed to the engine without a copy (a borrowed medseg_image_view
 * over GetBufferPointer()); the engine writes the labels straight into the output buffer. The
 * filter always works on whole images: it requests the input's largest possible region and
 * enlarges the output's requested region to its largest possible region, so downstream streaming
 * still runs inference once.
 *
 * Progress from the engine is reported through UpdateProgress (ProgressEvent, monotone, ending at
 * 1). AbortGenerateDataOn() during a run (e.g. from a ProgressEvent observer or another thread)
 * makes the engine stop at its next check; the filter then throws itk::ProcessAborted and the
 * output holds no data. Engine failures (missing model, wrong channel count, unavailable device,
 * ...) become itk::ExceptionObject whose description carries medseg's message.
 *
 * The loaded model is cached and reused while the model options (directory, pipeline, device,
 * threads, mirroring, step size, parity, folds, runtime path) stay the same.
 *
 * Input: 2-D or 3-D, scalar or multi-component (Image<Vector<T, N>>, VectorImage<T>) with as many
 * components as the model has input channels; any pixel type medseg knows (u8 ... f64).
 * Output: unsigned char (default) or unsigned short labels. Geometry: LPS, as ITK.
 *
 * \ingroup MedSeg
 */
template <typename TInputImage,
          typename TOutputImage = Image<unsigned char, TInputImage::ImageDimension>>
class MedSegImageFilter : public ImageToImageFilter<TInputImage, TOutputImage>
{
public:
  ITK_DISALLOW_COPY_AND_MOVE(MedSegImageFilter);

  using Self = MedSegImageFilter;
  using Superclass = ImageToImageFilter<TInputImage, TOutputImage>;
  using Pointer = SmartPointer<Self>;
  using ConstPointer = SmartPointer<const Self>;
  using InputImageType = TInputImage;
  using OutputImageType = TOutputImage;
  using PipelineEnum = MedSegImageFilterEnums::Pipeline;
  using LabelType = MedSegModelLabel;

  static constexpr unsigned int ImageDimension = TInputImage::ImageDimension;
  static_assert(ImageDimension == 2 || ImageDimension == 3, "MedSegImageFilter works on 2-D and 3-D images");
  static_assert(static_cast<unsigned int>(TOutputImage::ImageDimension) == ImageDimension,
                "input and output must have the same dimension");
  static_assert(medseg_detail::PixelTypeCode<typename TOutputImage::PixelType>() ==
                    static_cast<uint32_t>(MEDSEG_PIXEL_TYPE_U8) ||
                  medseg_detail::PixelTypeCode<typename TOutputImage::PixelType>() ==
                    static_cast<uint32_t>(MEDSEG_PIXEL_TYPE_U16),
                "the output label map must be unsigned char or unsigned short");
  static_assert(medseg_detail::PixelTypeCode<medseg_detail::ScalarType<TInputImage>>() != 0,
                "input pixel type not supported by medseg");

  itkNewMacro(Self);
#ifdef itkOverrideGetNameOfClassMacro
  itkOverrideGetNameOfClassMacro(MedSegImageFilter);
#else
  itkTypeMacro(MedSegImageFilter, ImageToImageFilter);
#endif

  /** Model folder (medseg.json manifest, or an nnU-Net results folder with fold_k/network.onnx). */
  itkSetStringMacro(ModelDirectory);
  itkGetStringMacro(ModelDirectory);

  /** "cpu" (default), "cuda:N" or "auto" (GPU when usable, else CPU). */
  itkSetStringMacro(Device);
  itkGetStringMacro(Device);

  itkSetEnumMacro(Pipeline, PipelineEnum);
  itkGetEnumMacro(Pipeline, PipelineEnum);

  /** ONNX Runtime intra-op threads; 0 (default) = the ITK pool size
   * (GetMultiThreader()->GetMaximumNumberOfThreads(), which follows
   * ITK_GLOBAL_DEFAULT_NUMBER_OF_THREADS). */
  itkSetMacro(NumberOfEngineThreads, unsigned int);
  itkGetConstMacro(NumberOfEngineThreads, unsigned int);

  /** Test-time mirroring (default on, as nnU-Net). */
  itkSetMacro(UseMirroring, bool);
  itkGetConstMacro(UseMirroring, bool);
  itkBooleanMacro(UseMirroring);

  /** Sliding-window step as a fraction of the patch; 0 = the model's default (0.5). */
  itkSetClampMacro(StepSize, double, 0.0, 1.0);
  itkGetConstMacro(StepSize, double);

  /** nnU-Net float16 accumulation (bit-level parity with nnU-Net). */
  itkSetMacro(Parity, bool);
  itkGetConstMacro(Parity, bool);
  itkBooleanMacro(Parity);

  /** Comma-separated fold names ("0,1"); empty = all folds. */
  itkSetStringMacro(Folds);
  itkGetStringMacro(Folds);

  /** Explicit ONNX Runtime library (file or folder); empty = medseg's search order
   * (MEDSEG_ORT_DYLIB, ORT_DYLIB_PATH, next to the executable, ...). */
  itkSetStringMacro(RuntimePath);
  itkGetStringMacro(RuntimePath);

  /** Load the model now (otherwise the first Update does); throws on failure. */
  void
  LoadModel();

  /** Drop the cached model (the next Update loads it again). */
  void
  ReleaseModel();

  /** How many times this filter has loaded a model (the cache avoids reloads). */
  unsigned int
  GetModelLoadCount() const
  {
    return m_ModelLoadCount;
  }

  /** Whether a model is loaded and cached. */
  bool
  HasModel() const
  {
    return m_Model != nullptr;
  }

  /** The model's label table, background included (loads the model if needed). */
  std::vector<LabelType>
  GetModelLabels();

  /** Input channels the model expects (loads the model if needed). */
  std::size_t
  GetModelInputChannels();

  /** Status of the last engine call (MEDSEG_STATUS_OK after a successful Update). */
  medseg_status
  GetLastStatus() const
  {
    return m_LastStatus;
  }

  /** The `data` pointer of the input view the last run handed to the engine (equal to the input's
   * GetBufferPointer(): no copy is made). */
  const void *
  GetEngineInputPointer() const
  {
    return m_EngineInputPointer;
  }

  /** The engine's current stage name (e.g. "inference"), updated with each progress report. */
  const std::string &
  GetCurrentStage() const
  {
    return m_Stage;
  }

protected:
  MedSegImageFilter();
  ~MedSegImageFilter() override = default;

  void
  PrintSelf(std::ostream & os, Indent indent) const override;

  void
  VerifyPreconditions() ITKv5_CONST override;

  void
  GenerateInputRequestedRegion() override;

  void
  EnlargeOutputRequestedRegion(DataObject * output) override;

  void
  GenerateData() override;

private:
  struct ModelDeleter
  {
    void
    operator()(medseg_model * m) const
    {
      medseg_model_free(m);
    }
  };

  /** Called by medseg on the thread running GenerateData; never lets a C++ exception through. */
  static bool
  ProgressTrampoline(void * userdata, double fraction, const char * stage) noexcept;

  std::string
  ModelKey() const;

  unsigned int
  EffectiveThreads() const;

  std::string   m_ModelDirectory;
  std::string   m_Device{ "cpu" };
  PipelineEnum  m_Pipeline{ PipelineEnum::Auto };
  unsigned int  m_NumberOfEngineThreads{ 0 };
  bool          m_UseMirroring{ true };
  double        m_StepSize{ 0.0 };
  bool          m_Parity{ false };
  std::string   m_Folds;
  std::string   m_RuntimePath;

  std::unique_ptr<medseg_model, ModelDeleter> m_Model;
  std::string                                 m_ModelKeyLoaded;
  unsigned int                                m_ModelLoadCount{ 0 };

  medseg_status      m_LastStatus{ MEDSEG_STATUS_OK };
  const void *       m_EngineInputPointer{ nullptr };
  std::string        m_Stage;
  float              m_ReportedProgress{ 0.0f };
  std::exception_ptr m_CallbackException;
};

} // namespace itk

#ifndef ITK_MANUAL_INSTANTIATION
#  include "itkMedSegImageFilter.hxx"
#endif

#endif // itkMedSegImageFilter_h
