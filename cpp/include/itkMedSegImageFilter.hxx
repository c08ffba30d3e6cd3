#ifndef itkMedSegImageFilter_hxx
#define itkMedSegImageFilter_hxx

#include "itkMedSegImageFilter.h"

#include <algorithm>
#include <sstream>

namespace itk
{

template <typename TInputImage, typename TOutputImage>
MedSegImageFilter<TInputImage, TOutputImage>::MedSegImageFilter()
{
  // All work happens in one engine call with its own threads; progress comes from the engine.
  this->ThreaderUpdateProgressOff();
}

template <typename TInputImage, typename TOutputImage>
unsigned int
MedSegImageFilter<TInputImage, TOutputImage>::EffectiveThreads() const
{
  if (m_NumberOfEngineThreads > 0)
  {
    return m_NumberOfEngineThreads;
  }
  return this->GetMultiThreader()->GetMaximumNumberOfThreads();
}

template <typename TInputImage, typename TOutputImage>
std::string
MedSegImageFilter<TInputImage, TOutputImage>::ModelKey() const
{
  // Everything medseg_model_load sees; '\n' cannot occur in the numbers and separates fields.
  std::ostringstream key;
  key << m_ModelDirectory << '\n'
      << static_cast<unsigned int>(m_Pipeline) << '\n'
      << m_Device << '\n'
      << this->EffectiveThreads() << '\n'
      << m_UseMirroring << '\n'
      << m_StepSize << '\n'
      << m_Parity << '\n'
      << m_Folds << '\n'
      << m_RuntimePath;
  return key.str();
}

template <typename TInputImage, typename TOutputImage>
void
MedSegImageFilter<TInputImage, TOutputImage>::LoadModel()
{
  const std::string key = this->ModelKey();
  if (m_Model && key == m_ModelKeyLoaded)
  {
    return;
  }
  m_Model.reset();
  m_ModelKeyLoaded.clear();
  if (m_ModelDirectory.empty())
  {
    itkExceptionMacro("no model directory set (SetModelDirectory)");
  }
  medseg_model_options options;
  medseg_status        status = medseg_model_options_init(&options);
  if (status != MEDSEG_STATUS_OK)
  {
    itkExceptionMacro("medseg_model_options_init failed: " << medseg_detail::EngineError(status));
  }
  options.pipeline = static_cast<uint32_t>(m_Pipeline);
  options.device = m_Device.empty() ? nullptr : m_Device.c_str();
  options.threads = this->EffectiveThreads();
  options.tta = m_UseMirroring;
  options.step_size = m_StepSize;
  options.parity = m_Parity;
  options.folds = m_Folds.empty() ? nullptr : m_Folds.c_str();
  options.runtime_path = m_RuntimePath.empty() ? nullptr : m_RuntimePath.c_str();
  medseg_model * model = nullptr;
  status = medseg_model_load(m_ModelDirectory.c_str(), &options, &model);
  m_LastStatus = status;
  if (status != MEDSEG_STATUS_OK)
  {
    itkExceptionMacro("cannot load the model " << m_ModelDirectory << ": " << medseg_detail::EngineError(status));
  }
  m_Model.reset(model);
  m_ModelKeyLoaded = key;
  ++m_ModelLoadCount;
}

template <typename TInputImage, typename TOutputImage>
void
MedSegImageFilter<TInputImage, TOutputImage>::ReleaseModel()
{
  m_Model.reset();
  m_ModelKeyLoaded.clear();
}

template <typename TInputImage, typename TOutputImage>
auto
MedSegImageFilter<TInputImage, TOutputImage>::GetModelLabels() -> std::vector<LabelType>
{
  this->LoadModel();
  std::size_t    count = 0;
  medseg_status  status = medseg_model_label_count(m_Model.get(), &count);
  if (status != MEDSEG_STATUS_OK)
  {
    itkExceptionMacro("medseg_model_label_count failed: " << medseg_detail::EngineError(status));
  }
  std::vector<LabelType> labels;
  labels.reserve(count);
  for (std::size_t i = 0; i < count; ++i)
  {
    uint32_t     value = 0;
    const char * name = nullptr;
    uint8_t      rgb[3] = { 0, 0, 0 };
    status = medseg_model_label(m_Model.get(), i, &value, &name, rgb);
    if (status != MEDSEG_STATUS_OK)
    {
      itkExceptionMacro("medseg_model_label(" << i << ") failed: " << medseg_detail::EngineError(status));
    }
    labels.push_back(LabelType{ value, name ? std::string(name) : std::string(), { rgb[0], rgb[1], rgb[2] } });
  }
  return labels;
}

template <typename TInputImage, typename TOutputImage>
std::size_t
MedSegImageFilter<TInputImage, TOutputImage>::GetModelInputChannels()
{
  this->LoadModel();
  std::size_t         channels = 0;
  const medseg_status status = medseg_model_input_channels(m_Model.get(), &channels);
  if (status != MEDSEG_STATUS_OK)
  {
    itkExceptionMacro("medseg_model_input_channels failed: " << medseg_detail::EngineError(status));
  }
  return channels;
}

template <typename TInputImage, typename TOutputImage>
void
MedSegImageFilter<TInputImage, TOutputImage>::VerifyPreconditions() ITKv5_CONST
{
  Superclass::VerifyPreconditions();
  if (medseg_abi_version() != MEDSEG_ABI_VERSION)
  {
    itkExceptionMacro("medseg library ABI " << medseg_abi_version() << " does not match the header's "
                                            << MEDSEG_ABI_VERSION);
  }
  if (m_ModelDirectory.empty())
  {
    itkExceptionMacro("no model directory set (SetModelDirectory)");
  }
}

template <typename TInputImage, typename TOutputImage>
void
MedSegImageFilter<TInputImage, TOutputImage>::GenerateInputRequestedRegion()
{
  Superclass::GenerateInputRequestedRegion();
  // The engine needs the whole image (sliding windows, resampling to the model's spacing).
  if (auto * input = const_cast<InputImageType *>(this->GetInput()))
  {
    input->SetRequestedRegionToLargestPossibleRegion();
  }
}

template <typename TInputImage, typename TOutputImage>
void
MedSegImageFilter<TInputImage, TOutputImage>::EnlargeOutputRequestedRegion(DataObject * output)
{
  Superclass::EnlargeOutputRequestedRegion(output);
  // Without this a streaming consumer would run the whole model once per piece.
  output->SetRequestedRegionToLargestPossibleRegion();
}

template <typename TInputImage, typename TOutputImage>
bool
MedSegImageFilter<TInputImage, TOutputImage>::ProgressTrampoline(void *       userdata,
                                                                   double       fraction,
                                                                   const char * stage) noexcept
{
  auto * self = static_cast<Self *>(userdata);
  try
  {
    if (stage != nullptr && self->m_Stage != stage)
    {
      self->m_Stage = stage;
    }
    // ITK observers expect monotone progress; the engine's fraction is clamped to [last, 1].
    float f = static_cast<float>(fraction);
    if (!(f >= 0.0f))
    {
      f = 0.0f;
    }
    f = std::min(1.0f, std::max(f, self->m_ReportedProgress));
    self->m_ReportedProgress = f;
    self->UpdateProgress(f);
    return !self->GetAbortGenerateData();
  }
  catch (...)
  {
    // C++ exceptions must not unwind through medseg's frames: keep it, cancel, rethrow later.
    self->m_CallbackException = std::current_exception();
    return false;
  }
}

template <typename TInputImage, typename TOutputImage>
void
MedSegImageFilter<TInputImage, TOutputImage>::GenerateData()
{
  const InputImageType * input = this->GetInput();
  if (input->GetBufferedRegion() != input->GetLargestPossibleRegion())
  {
    itkExceptionMacro("the input's buffered region " << input->GetBufferedRegion()
                                                     << " is not its largest possible region "
                                                     << input->GetLargestPossibleRegion());
  }
  this->LoadModel();
  this->AllocateOutputs();
  OutputImageType * output = this->GetOutput();

  const medseg_image_view     in = medseg_detail::MakeView(input);
  const medseg_image_view_mut out = medseg_detail::MakeMutableView(output);
  m_EngineInputPointer = in.data;
  m_CallbackException = nullptr;
  m_Stage.clear();
  m_ReportedProgress = 0.0f;

  const medseg_status status = medseg_predict(m_Model.get(), &in, &Self::ProgressTrampoline, this, &out);
  m_LastStatus = status;
  const std::string error = status == MEDSEG_STATUS_OK ? std::string() : medseg_detail::EngineError(status);

  if (status != MEDSEG_STATUS_OK)
  {
    // Nothing usable was produced: leave the output without data rather than with garbage.
    output->ReleaseData();
  }
  if (m_CallbackException)
  {
    std::exception_ptr e = m_CallbackException;
    m_CallbackException = nullptr;
    std::rethrow_exception(e);
  }
  if (status == MEDSEG_STATUS_CANCELLED)
  {
    ProcessAborted e(__FILE__, __LINE__);
    e.SetLocation(ITK_LOCATION);
    e.SetDescription(std::string("MedSegImageFilter: segmentation cancelled (") + error + ")");
    throw e;
  }
  if (status != MEDSEG_STATUS_OK)
  {
    itkExceptionMacro("segmentation failed: " << error);
  }
  this->UpdateProgress(1.0f);
}

template <typename TInputImage, typename TOutputImage>
void
MedSegImageFilter<TInputImage, TOutputImage>::PrintSelf(std::ostream & os, Indent indent) const
{
  Superclass::PrintSelf(os, indent);
  os << indent << "ModelDirectory: " << m_ModelDirectory << std::endl;
  os << indent << "Device: " << m_Device << std::endl;
  os << indent << "Pipeline: " << m_Pipeline << std::endl;
  os << indent << "NumberOfEngineThreads: " << m_NumberOfEngineThreads << std::endl;
  os << indent << "UseMirroring: " << (m_UseMirroring ? "On" : "Off") << std::endl;
  os << indent << "StepSize: " << m_StepSize << std::endl;
  os << indent << "Parity: " << (m_Parity ? "On" : "Off") << std::endl;
  os << indent << "Folds: " << m_Folds << std::endl;
  os << indent << "RuntimePath: " << m_RuntimePath << std::endl;
  os << indent << "ModelLoaded: " << (m_Model ? "yes" : "no") << std::endl;
  os << indent << "LastStatus: " << medseg_status_name(static_cast<uint32_t>(m_LastStatus)) << std::endl;
  os << indent << "CurrentStage: " << m_Stage << std::endl;
}

} // namespace itk

#endif // itkMedSegImageFilter_hxx
