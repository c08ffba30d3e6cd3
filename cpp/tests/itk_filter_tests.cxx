// ctest driver for the medseg ITK filters (against the system ITK, Debian's 5.2.1 here).
//
//   itk_filter_tests label-filters                unit checks of the label filters (no model)
//   itk_filter_tests predictor MODEL_DIR CT       unit checks of MedSegImageFilter on a real model
//   itk_filter_tests multichannel MODEL_DIR CT    VectorImage input for a two-channel model
//   itk_filter_tests largest IN OUT               MedSegLargestComponentImageFilter on a file
//   itk_filter_tests compare A B [GEOMETRY_OF]    A and B equal voxel by voxel with the same grid
//                                                 (and the grid of GEOMETRY_OF, when given)
// Each prints what it checked and exits non-zero on the first failure.

#include "itkImage.h"
#include "itkImageFileReader.h"
#include "itkImageFileWriter.h"
#include "itkImageRegionConstIterator.h"
#include "itkMedSegImageFilter.h"
#include "itkMedSegLabelImageFilters.h"
#include "itkRegionOfInterestImageFilter.h"
#include "itkStreamingImageFilter.h"
#include "itkVectorImage.h"
#include "itkVersor.h"

#include <cmath>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

namespace
{

int failures = 0;

#define CHECK(cond, what)                                                                             \
  do                                                                                                  \
  {                                                                                                   \
    if (cond)                                                                                         \
    {                                                                                                 \
      std::cout << "ok   " << what << std::endl;                                                      \
    }                                                                                                 \
    else                                                                                              \
    {                                                                                                 \
      std::cout << "FAIL " << what << "  (" #cond ", line " << __LINE__ << ")" << std::endl;          \
      ++failures;                                                                                     \
    }                                                                                                 \
  } while (0)

using LabelImage = itk::Image<unsigned char, 3>;
using CtImage = itk::Image<float, 3>;

// An oblique grid: 30 degrees about z then 10 degrees about x, anisotropic spacing, odd origin.
template <typename TImage>
void
SetObliqueGeometry(TImage * image)
{
  using Versor = itk::Versor<double>;
  Versor z;
  z.SetRotationAroundZ(30.0 * std::acos(-1.0) / 180.0);
  Versor x;
  x.SetRotationAroundX(10.0 * std::acos(-1.0) / 180.0);
  const auto                      m = (z * x).GetMatrix();
  typename TImage::DirectionType  d;
  for (unsigned r = 0; r < 3; ++r)
    for (unsigned c = 0; c < 3; ++c)
      d(r, c) = m(r, c);
  image->SetDirection(d);
  const double spacing[3] = { 0.8, 1.1, 2.5 };
  const double origin[3] = { 12.5, -40.25, 101.0 };
  image->SetSpacing(spacing);
  image->SetOrigin(origin);
}

// 3 separate blobs of 2 labels: a 6x6x4 box of 1 (144 voxels), a 3x3x3 box of 2 (27) and a
// 2x2x2 box of 1 (8), in a 20x16x10 grid starting at index (5, -3, 2).
LabelImage::Pointer
MakeLabels()
{
  auto                    image = LabelImage::New();
  LabelImage::IndexType   start = { { 5, -3, 2 } };
  LabelImage::SizeType    size = { { 20, 16, 10 } };
  image->SetRegions(LabelImage::RegionType(start, size));
  SetObliqueGeometry(image.GetPointer());
  image->Allocate(true);
  auto box = [&](int x0, int y0, int z0, int nx, int ny, int nz, unsigned char v) {
    for (int k = 0; k < nz; ++k)
      for (int j = 0; j < ny; ++j)
        for (int i = 0; i < nx; ++i)
        {
          LabelImage::IndexType idx = { { start[0] + x0 + i, start[1] + y0 + j, start[2] + z0 + k } };
          image->SetPixel(idx, v);
        }
  };
  box(1, 1, 1, 6, 6, 4, 1);
  box(10, 10, 5, 3, 3, 3, 2);
  box(15, 2, 7, 2, 2, 2, 1);
  return image;
}

template <typename A, typename B>
bool
SameGrid(const A * a, const B * b)
{
  const double tol = 1e-9;
  if (a->GetLargestPossibleRegion().GetSize() != b->GetLargestPossibleRegion().GetSize())
    return false;
  for (unsigned r = 0; r < 3; ++r)
  {
    if (std::abs(a->GetSpacing()[r] - b->GetSpacing()[r]) > tol ||
        std::abs(a->GetOrigin()[r] - b->GetOrigin()[r]) > 1e-6)
      return false;
    for (unsigned c = 0; c < 3; ++c)
      if (std::abs(a->GetDirection()(r, c) - b->GetDirection()(r, c)) > 1e-6)
        return false;
  }
  return true;
}

template <typename TImage>
std::size_t
CountValue(const TImage * image, typename TImage::PixelType v)
{
  std::size_t n = 0;
  for (itk::ImageRegionConstIterator<TImage> it(image, image->GetBufferedRegion()); !it.IsAtEnd(); ++it)
    n += it.Get() == v;
  return n;
}

// ----------------------------------------------------------------------------------------------
int
LabelFilters()
{
  auto labels = MakeLabels();

  // Largest component: only the 144-voxel box of 1 is left; pointer identity; grid kept.
  auto largest = itk::MedSegLargestComponentImageFilter<LabelImage>::New();
  largest->SetInput(labels);
  largest->Update();
  LabelImage * out = largest->GetOutput();
  CHECK(largest->GetEngineInputPointer() == static_cast<const void *>(labels->GetBufferPointer()),
        "largest component: the engine read the ITK buffer itself (no copy)");
  CHECK(SameGrid(out, labels.GetPointer()) &&
          out->GetLargestPossibleRegion().GetIndex() == labels->GetLargestPossibleRegion().GetIndex(),
        "largest component: output grid (index, size, spacing, origin, direction) = input grid");
  CHECK(CountValue(out, 1) == 144 && CountValue(out, 2) == 0, "largest component keeps only the 144-voxel box");

  largest->PerLabelOn();
  largest->Update();
  CHECK(CountValue(largest->GetOutput(), 1) == 144 && CountValue(largest->GetOutput(), 2) == 27,
        "largest component per label keeps the box of 1 and the box of 2");
  largest->PerLabelOff();

  // Remove small: components under 10 voxels go (the 8-voxel box).
  auto small = itk::MedSegRemoveSmallImageFilter<LabelImage>::New();
  small->SetInput(labels);
  small->SetMinimumSize(10);
  small->Update();
  CHECK(CountValue(small->GetOutput(), 1) == 144 && CountValue(small->GetOutput(), 2) == 27,
        "remove small (10 voxels) removes only the 8-voxel box");

  // Relabel: 2 -> 1.
  auto relabel = itk::MedSegRelabelImageFilter<LabelImage>::New();
  relabel->SetInput(labels);
  relabel->SetMapJson("{\"map\": {\"2\": 1}, \"unmapped\": \"keep\"}");
  relabel->Update();
  CHECK(CountValue(relabel->GetOutput(), 1) == 144 + 27 + 8 && CountValue(relabel->GetOutput(), 2) == 0,
        "relabel map 2 -> 1 merges label 2 into 1");

  // Fill holes: a hollow 5x5x5 shell of 1 becomes a solid cube.
  {
    auto shell = LabelImage::New();
    LabelImage::SizeType size = { { 9, 9, 9 } };
    shell->SetRegions(size);
    shell->Allocate(true);
    for (int k = 2; k < 7; ++k)
      for (int j = 2; j < 7; ++j)
        for (int i = 2; i < 7; ++i)
          if (i == 2 || i == 6 || j == 2 || j == 6 || k == 2 || k == 6)
            shell->SetPixel({ { i, j, k } }, 1);
    auto fill = itk::MedSegFillHolesImageFilter<LabelImage>::New();
    fill->SetInput(shell);
    fill->Update();
    CHECK(CountValue(fill->GetOutput(), 1) == 125, "fill holes fills the 3x3x3 cavity of a 5x5x5 shell");
  }

  // Input whose buffer starts at a non-zero index (RegionOfInterest keeps the index).
  {
    using ROI = itk::RegionOfInterestImageFilter<LabelImage, LabelImage>;
    auto                  roi = ROI::New();
    LabelImage::IndexType start = { { 9, 0, 4 } };
    LabelImage::SizeType  size = { { 16, 13, 8 } };
    roi->SetInput(labels);
    roi->SetRegionOfInterest(LabelImage::RegionType(start, size));
    auto l2 = itk::MedSegLargestComponentImageFilter<LabelImage>::New();
    l2->SetInput(roi->GetOutput());
    l2->Update();
    const LabelImage * r = roi->GetOutput();
    CHECK(SameGrid(l2->GetOutput(), r) &&
            l2->GetOutput()->GetLargestPossibleRegion().GetIndex() == r->GetLargestPossibleRegion().GetIndex(),
          "largest component after RegionOfInterest: grid of the ROI kept");
    CHECK(l2->GetEngineInputPointer() == static_cast<const void *>(r->GetBufferPointer()),
          "largest component after RegionOfInterest: no copy");
  }

  // Streaming downstream (3 pieces) still runs the filter once, on the whole image.
  {
    auto l3 = itk::MedSegLargestComponentImageFilter<LabelImage>::New();
    l3->SetInput(labels);
    int starts = 0;
    l3->AddObserver(itk::StartEvent(), [&](const itk::EventObject &) { ++starts; });
    auto streamer = itk::StreamingImageFilter<LabelImage, LabelImage>::New();
    streamer->SetInput(l3->GetOutput());
    streamer->SetNumberOfStreamDivisions(3);
    streamer->Update();
    CHECK(starts == 1, "streaming consumer with 3 divisions: the filter ran once");
    CHECK(CountValue(streamer->GetOutput(), 1) == 144 && CountValue(streamer->GetOutput(), 2) == 0,
          "streaming consumer: same output");
  }

  // Engine errors become itk::ExceptionObject carrying medseg's own message.
  {
    medseg_image_view in = itk::medseg_detail::MakeView(labels.GetPointer());
    auto              scratch = LabelImage::New();
    scratch->CopyInformation(labels);
    scratch->SetRegions(labels->GetLargestPossibleRegion());
    scratch->Allocate(true);
    medseg_image_view_mut o = itk::medseg_detail::MakeMutableView(scratch.GetPointer());
    const medseg_status   direct = medseg_largest_component(&in, 7, false, &o);
    const std::string     engineMessage = medseg_last_error_message();
    CHECK(direct != MEDSEG_STATUS_OK && !engineMessage.empty(), "connectivity 7 is refused by the C API");

    auto bad = itk::MedSegLargestComponentImageFilter<LabelImage>::New();
    bad->SetInput(labels);
    bad->SetConnectivity(7);
    std::string description;
    try
    {
      bad->Update();
    }
    catch (const itk::ExceptionObject & e)
    {
      description = e.GetDescription();
    }
    CHECK(!description.empty() && description.find(engineMessage) != std::string::npos,
          "connectivity 7: ExceptionObject with the engine's message (" + description + ")");
    CHECK(bad->GetLastStatus() == direct, "connectivity 7: status kept");
    CHECK(bad->GetOutput()->GetBufferPointer() == nullptr, "connectivity 7: no output data");
  }
  return failures == 0 ? 0 : 1;
}

// ----------------------------------------------------------------------------------------------
CtImage::Pointer
ReadCt(const std::string & path)
{
  auto reader = itk::ImageFileReader<CtImage>::New();
  reader->SetFileName(path);
  reader->Update();
  CtImage::Pointer image = reader->GetOutput();
  image->DisconnectPipeline();
  return image;
}

int
Predictor(const std::string & model, const std::string & ctPath)
{
  using Filter = itk::MedSegImageFilter<CtImage, LabelImage>;
  CtImage::Pointer ct = ReadCt(ctPath);

  auto filter = Filter::New();
  filter->SetInput(ct);
  filter->SetModelDirectory(model);
  filter->SetDevice("cpu");
  filter->SetFolds("0");
  filter->UseMirroringOff();
  filter->SetNumberOfEngineThreads(2);
  std::vector<float> progress;
  filter->AddObserver(itk::ProgressEvent(), [&](const itk::EventObject &) { progress.push_back(filter->GetProgress()); });
  filter->Update();
  LabelImage * out = filter->GetOutput();

  CHECK(filter->GetEngineInputPointer() == static_cast<const void *>(ct->GetBufferPointer()),
        "predict: the engine read the ITK buffer itself (no copy)");
  CHECK(SameGrid(out, ct.GetPointer()), "predict: output grid = input grid (oblique, anisotropic)");
  bool monotone = !progress.empty();
  for (std::size_t i = 1; i < progress.size(); ++i)
    monotone = monotone && progress[i] >= progress[i - 1];
  CHECK(monotone && progress.size() >= 3 && progress.back() == 1.0f,
        "predict: " + std::to_string(progress.size()) + " progress events, monotone, ending at 1");
  const std::size_t n1 = CountValue(out, 1), n2 = CountValue(out, 2), n0 = CountValue(out, 0);
  CHECK(n1 > 0 && n2 > 0 && n0 + n1 + n2 == out->GetBufferedRegion().GetNumberOfPixels(),
        "predict: labels 1 and 2 found, nothing outside {0, 1, 2}");

  const auto labels = filter->GetModelLabels();
  CHECK(labels.size() == 3 && labels[1].name == "organ_a" && labels[2].name == "organ_b",
        "model labels: background, organ_a, organ_b");

  // Cached model: a re-run after Modified() reuses it; an option change reloads.
  const unsigned loads = filter->GetModelLoadCount();
  filter->Modified();
  filter->Update();
  CHECK(filter->GetModelLoadCount() == loads, "re-run with the same options reuses the loaded model");
  filter->SetStepSize(0.75);
  filter->Update();
  CHECK(filter->GetModelLoadCount() == loads + 1, "changing the step size reloads the model");

  // Abort from a progress observer: ProcessAborted, AbortEvent, output holds no data.
  {
    auto abortFilter = Filter::New();
    abortFilter->SetInput(ct);
    abortFilter->SetModelDirectory(model);
    abortFilter->SetFolds("0");
    abortFilter->UseMirroringOff();
    bool aborted = false;
    abortFilter->AddObserver(itk::ProgressEvent(), [&](const itk::EventObject &) {
      if (abortFilter->GetProgress() > 0.0f)
        abortFilter->AbortGenerateDataOn();
    });
    abortFilter->AddObserver(itk::AbortEvent(), [&](const itk::EventObject &) { aborted = true; });
    bool processAborted = false;
    try
    {
      abortFilter->Update();
    }
    catch (const itk::ProcessAborted &)
    {
      processAborted = true;
    }
    catch (const itk::ExceptionObject & e)
    {
      std::cout << "unexpected exception: " << e.GetDescription() << std::endl;
    }
    CHECK(processAborted && aborted, "abort during the run: itk::ProcessAborted and AbortEvent");
    CHECK(abortFilter->GetLastStatus() == MEDSEG_STATUS_CANCELLED, "abort: the engine returned CANCELLED");
    CHECK(abortFilter->GetOutput()->GetBufferPointer() == nullptr, "abort: output not produced");
    abortFilter->RemoveAllObservers();
    abortFilter->AbortGenerateDataOff();
    abortFilter->Modified();
    abortFilter->Update();
    CHECK(CountValue(abortFilter->GetOutput(), 1) == n1, "after an abort the filter runs cleanly again");
  }

  // An exception thrown by an observer crosses medseg only as a cancel and comes out unchanged.
  {
    auto throwing = Filter::New();
    throwing->SetInput(ct);
    throwing->SetModelDirectory(model);
    throwing->SetFolds("0");
    throwing->UseMirroringOff();
    throwing->AddObserver(itk::ProgressEvent(), [&](const itk::EventObject &) {
      if (throwing->GetProgress() > 0.0f)
        throw std::runtime_error("observer says no");
    });
    std::string what;
    try
    {
      throwing->Update();
    }
    catch (const std::runtime_error & e)
    {
      what = e.what();
    }
    CHECK(what == "observer says no", "observer exception rethrown after the engine returned");
  }

  // A bad model folder: ExceptionObject with the engine's message for that folder.
  {
    const std::string missing = model + "/does-not-exist";
    medseg_model_options options;
    medseg_model_options_init(&options);
    medseg_model *      m = nullptr;
    const medseg_status direct = medseg_model_load(missing.c_str(), &options, &m);
    const std::string   engineMessage = medseg_last_error_message();
    CHECK(direct != MEDSEG_STATUS_OK && m == nullptr && !engineMessage.empty(), "C API refuses a missing model folder");

    auto bad = Filter::New();
    bad->SetInput(ct);
    bad->SetModelDirectory(missing);
    std::string description;
    try
    {
      bad->Update();
    }
    catch (const itk::ExceptionObject & e)
    {
      description = e.GetDescription();
    }
    CHECK(description.find(engineMessage) != std::string::npos,
          "missing model folder: ExceptionObject with the engine's message (" + description + ")");
  }
  return failures == 0 ? 0 : 1;
}

// Multi-channel models take itk::VectorImage input (components = channels), also without a copy.
int
MultiChannel(const std::string & model, const std::string & ctPath)
{
  using VectorImage = itk::VectorImage<float, 3>;
  CtImage::Pointer ct = ReadCt(ctPath);
  auto             two = VectorImage::New();
  two->CopyInformation(ct);
  two->SetRegions(ct->GetLargestPossibleRegion());
  two->SetNumberOfComponentsPerPixel(2);
  two->Allocate();
  itk::ImageRegionConstIterator<CtImage> it(ct, ct->GetLargestPossibleRegion());
  float *                                dst = two->GetBufferPointer();
  for (std::size_t n = 0; !it.IsAtEnd(); ++it, ++n)
  {
    dst[2 * n] = it.Get();
    dst[2 * n + 1] = 0.5f * it.Get();
  }
  auto filter = itk::MedSegImageFilter<VectorImage, LabelImage>::New();
  filter->SetInput(two);
  filter->SetModelDirectory(model);
  filter->UseMirroringOff();
  CHECK(filter->GetModelInputChannels() == 2, "two-channel model reports 2 input channels");
  filter->Update();
  CHECK(filter->GetEngineInputPointer() == static_cast<const void *>(two->GetBufferPointer()),
        "two-channel VectorImage: the engine read the ITK buffer itself");
  CHECK(SameGrid(filter->GetOutput(), two.GetPointer()), "two-channel VectorImage: output grid = input grid");

  // One channel for a two-channel model: ExceptionObject naming the mismatch, no output.
  auto wrong = itk::MedSegImageFilter<CtImage, LabelImage>::New();
  wrong->SetInput(ct);
  wrong->SetModelDirectory(model);
  std::string description;
  try
  {
    wrong->Update();
  }
  catch (const itk::ExceptionObject & e)
  {
    description = e.GetDescription();
  }
  CHECK(wrong->GetLastStatus() == MEDSEG_STATUS_MISMATCH && description.find("mismatch") != std::string::npos,
        "one channel for a two-channel model: MISMATCH as ExceptionObject (" + description + ")");
  CHECK(wrong->GetOutput()->GetBufferPointer() == nullptr, "channel mismatch: no output data");
  return failures == 0 ? 0 : 1;
}

// ----------------------------------------------------------------------------------------------
template <typename TImage>
typename TImage::Pointer
Read(const std::string & path)
{
  auto reader = itk::ImageFileReader<TImage>::New();
  reader->SetFileName(path);
  reader->Update();
  typename TImage::Pointer image = reader->GetOutput();
  image->DisconnectPipeline();
  return image;
}

template <typename TImage>
void
Write(const TImage * image, const std::string & path)
{
  auto writer = itk::ImageFileWriter<TImage>::New();
  writer->SetInput(image);
  writer->SetFileName(path);
  writer->UseCompressionOn();
  writer->Update();
}

int
Compare(const std::string & a, const std::string & b, const std::string & geometryOf)
{
  using Image = itk::Image<double, 3>;
  auto ia = Read<Image>(a);
  auto ib = Read<Image>(b);
  CHECK(SameGrid(ia.GetPointer(), ib.GetPointer()), a + " and " + b + " have the same grid");
  if (!geometryOf.empty())
  {
    auto ig = Read<Image>(geometryOf);
    CHECK(SameGrid(ia.GetPointer(), ig.GetPointer()), a + " has the grid of " + geometryOf);
  }
  std::size_t differ = 0, total = 0;
  itk::ImageRegionConstIterator<Image> ita(ia, ia->GetBufferedRegion());
  itk::ImageRegionConstIterator<Image> itb(ib, ib->GetBufferedRegion());
  for (; !ita.IsAtEnd() && !itb.IsAtEnd(); ++ita, ++itb, ++total)
    differ += ita.Get() != itb.Get();
  CHECK(differ == 0 && total == ia->GetBufferedRegion().GetNumberOfPixels() && total > 0,
        std::to_string(differ) + " of " + std::to_string(total) + " voxels differ");
  return failures == 0 ? 0 : 1;
}

} // namespace

int
main(int argc, char * argv[])
{
  const std::string cmd = argc > 1 ? argv[1] : "";
  try
  {
    if (cmd == "label-filters" && argc == 2)
      return LabelFilters();
    if (cmd == "predictor" && argc == 4)
      return Predictor(argv[2], argv[3]);
    if (cmd == "multichannel" && argc == 4)
      return MultiChannel(argv[2], argv[3]);
    if (cmd == "largest" && argc == 4)
    {
      auto filter = itk::MedSegLargestComponentImageFilter<LabelImage>::New();
      filter->SetInput(Read<LabelImage>(argv[2]));
      filter->Update();
      Write(filter->GetOutput(), argv[3]);
      return 0;
    }
    if (cmd == "compare" && (argc == 4 || argc == 5))
      return Compare(argv[2], argv[3], argc == 5 ? argv[4] : "");
  }
  catch (const itk::ExceptionObject & e)
  {
    std::cout << "FAIL exception: " << e.GetDescription() << std::endl;
    return 1;
  }
  catch (const std::exception & e)
  {
    std::cout << "FAIL exception: " << e.what() << std::endl;
    return 1;
  }
  std::cerr << "usage: itk_filter_tests label-filters | predictor MODEL CT | multichannel MODEL CT | largest IN OUT | "
               "compare A B [GEOMETRY_OF]\n";
  return 2;
}
