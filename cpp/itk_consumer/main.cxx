// Use from C++/ITK: segment a CT with a medseg model inside an ITK pipeline, keep the largest
// component of every label, write the label map. Built and run by the tests as:
//   medseg_itk_consumer CT_FILE MODEL_DIR OUTPUT_FILE
#include "itkImageFileReader.h"
#include "itkImageFileWriter.h"
#include "itkMedSegImageFilter.h"
#include "itkMedSegLabelImageFilters.h"

#include <iostream>

int
main(int argc, char * argv[])
{
  if (argc != 4)
  {
    std::cerr << "usage: " << argv[0] << " CT_FILE MODEL_DIR OUTPUT_FILE\n";
    return 2;
  }
  using CtImage = itk::Image<float, 3>;
  using LabelImage = itk::Image<unsigned char, 3>;

  auto reader = itk::ImageFileReader<CtImage>::New();
  reader->SetFileName(argv[1]);

  auto segment = itk::MedSegImageFilter<CtImage, LabelImage>::New();
  segment->SetInput(reader->GetOutput()); // the buffer is handed to medseg without a copy
  segment->SetModelDirectory(argv[2]);
  segment->SetDevice("cpu");
  segment->AddObserver(itk::ProgressEvent(), [&](const itk::EventObject &) {
    std::cout << "\rsegmenting " << static_cast<int>(100 * segment->GetProgress()) << " %" << std::flush;
  });

  auto largest = itk::MedSegLargestComponentImageFilter<LabelImage>::New();
  largest->SetInput(segment->GetOutput());
  largest->PerLabelOn();

  auto writer = itk::ImageFileWriter<LabelImage>::New();
  writer->SetInput(largest->GetOutput());
  writer->SetFileName(argv[3]);
  writer->UseCompressionOn();
  try
  {
    writer->Update();
  }
  catch (const itk::ExceptionObject & e) // medseg's errors arrive with its message
  {
    std::cerr << "\nfailed: " << e.GetDescription() << std::endl;
    return 1;
  }
  std::cout << "\nlabels:";
  for (const auto & label : segment->GetModelLabels())
  {
    std::cout << ' ' << label.value << '=' << label.name;
  }
  std::cout << "\nwrote " << argv[3] << std::endl;
  // Output grid = input grid (LPS, as ITK).
  const bool same = segment->GetOutput()->GetOrigin() == reader->GetOutput()->GetOrigin() &&
                    segment->GetOutput()->GetDirection() == reader->GetOutput()->GetDirection();
  return same ? 0 : 1;
}
