// MedSegCLI: the 3D Slicer command-line module over itk::MedSegImageFilter.
//
//   MedSegCLI --xml                                   print the module description (SEM XML)
//   MedSegCLI [options] --model DIR INPUT OUTPUT      segment INPUT, write the label map OUTPUT
//
// Options (names as in MedSegCLI.xml): --pipeline nnunet|spine, --device auto|cpu|cuda:N,
// --threads N, --step F, --no-tta, --parity. Slicer's --processinformationaddress and
// --returnparameterfile are accepted and ignored. Progress goes to stdout in the form Slicer
// parses (<filter-start>, <filter-progress>, <filter-end>). The output is written to a temporary
// file beside OUTPUT and renamed into place, so a killed (cancelled) run leaves no partial file.
//
// Exit status: 0 success, 1 bad arguments or input, 3 model/runtime/device failure, 4 cancelled.

#include "MedSegCLIXML.h"

#include "itkImage.h"
#include "itkImageFileReader.h"
#include "itkImageFileWriter.h"
#include "itkMedSegImageFilter.h"

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <unistd.h>
#include <vector>

namespace
{

struct Arguments
{
  std::string input;
  std::string output;
  std::string model;
  std::string pipeline{ "nnunet" };
  std::string device{ "auto" };
  unsigned    threads{ 0 };
  double      step{ 0.5 };
  bool        noTta{ false };
  bool        parity{ false };
};

const char * const kUsage =
  "usage: MedSegCLI [--xml] [--pipeline nnunet|spine] [--device auto|cpu|cuda:N] [--threads N]\n"
  "                 [--step F] [--no-tta] [--parity] --model DIR INPUT OUTPUT\n";

int
Fail(int code, const std::string & message)
{
  std::cerr << "MedSegCLI: " << message << std::endl;
  return code;
}

// Parses argv into `a`; returns -1 on success, else the exit code (after printing why).
int
Parse(int argc, char * argv[], Arguments & a)
{
  std::vector<std::string> positional;
  for (int i = 1; i < argc; ++i)
  {
    const std::string arg = argv[i];
    auto              value = [&](std::string & out) -> bool {
      if (i + 1 >= argc)
      {
        return false;
      }
      out = argv[++i];
      return true;
    };
    std::string v;
    if (arg == "--help" || arg == "-h")
    {
      std::cout << kUsage;
      return 0;
    }
    else if (arg == "--no-tta")
    {
      a.noTta = true;
    }
    else if (arg == "--parity")
    {
      a.parity = true;
    }
    else if (arg == "--model" || arg == "--pipeline" || arg == "--device" || arg == "--threads" ||
             arg == "--step" || arg == "--processinformationaddress" || arg == "--returnparameterfile")
    {
      if (!value(v))
      {
        return Fail(1, arg + " needs a value");
      }
      if (arg == "--model")
      {
        a.model = v;
      }
      else if (arg == "--pipeline")
      {
        if (v != "nnunet" && v != "spine")
        {
          return Fail(1, "unknown pipeline '" + v + "' (nnunet or spine)");
        }
        a.pipeline = v;
      }
      else if (arg == "--device")
      {
        a.device = v;
      }
      else if (arg == "--threads")
      {
        char *              end = nullptr;
        const unsigned long n = std::strtoul(v.c_str(), &end, 10);
        if (v.empty() || *end != '\0' || n > 4096 || v[0] == '-')
        {
          return Fail(1, "--threads needs a whole number from 0 to 4096, got '" + v + "'");
        }
        a.threads = static_cast<unsigned>(n);
      }
      else if (arg == "--step")
      {
        char *       end = nullptr;
        const double s = std::strtod(v.c_str(), &end);
        if (v.empty() || *end != '\0' || !std::isfinite(s) || s <= 0.0 || s > 1.0)
        {
          return Fail(1, "--step needs a number in (0, 1], got '" + v + "'");
        }
        a.step = s;
      }
      // --processinformationaddress / --returnparameterfile: accepted, not used.
    }
    else if (arg.size() > 1 && arg[0] == '-')
    {
      return Fail(1, "unknown option '" + arg + "'\n" + kUsage);
    }
    else
    {
      positional.push_back(arg);
    }
  }
  if (positional.size() != 2)
  {
    return Fail(1, std::string("expected INPUT and OUTPUT\n") + kUsage);
  }
  if (a.model.empty())
  {
    return Fail(1, "--model DIR is required");
  }
  a.input = positional[0];
  a.output = positional[1];
  return -1;
}

// A temporary name beside `path` that keeps its file name (and so its extension, which chooses
// the ImageIO). Formats with a separate data file (.nhdr, .mhd, .hdr) are written in place: their
// header names the data file, which a rename would break.
std::string
TemporaryBeside(const std::string & path)
{
  for (const char * ext : { ".nhdr", ".mhd", ".hdr" })
  {
    const std::size_t n = std::strlen(ext);
    if (path.size() >= n && path.compare(path.size() - n, n, ext) == 0)
    {
      return path;
    }
  }
  const std::size_t slash = path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? std::string() : path.substr(0, slash + 1);
  const std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  return dir + ".medsegcli-" + std::to_string(static_cast<long>(getpid())) + "-" + name;
}

int
ExitCodeFor(medseg_status status)
{
  switch (status)
  {
    case MEDSEG_STATUS_CANCELLED:
      return 4;
    case MEDSEG_STATUS_MODEL:
    case MEDSEG_STATUS_RUNTIME:
    case MEDSEG_STATUS_DEVICE:
      return 3;
    case MEDSEG_STATUS_OK:
    case MEDSEG_STATUS_INTERNAL:
    case MEDSEG_STATUS_PANIC:
    case MEDSEG_STATUS_POISONED:
      return 70;
    default:
      return 1;
  }
}

} // namespace

int
main(int argc, char * argv[])
{
  // --xml first and instantly: Slicer's discovery allows it 5 s and expects "<?xml" at once.
  if (argc >= 2 && std::strcmp(argv[1], "--xml") == 0)
  {
    std::cout << kMedSegCLIXML;
    std::cout.flush();
    return 0;
  }
  Arguments  args;
  const int parsed = Parse(argc, argv, args);
  if (parsed >= 0)
  {
    return parsed;
  }

  using InputImageType = itk::Image<float, 3>;
  using LabelImageType = itk::Image<unsigned char, 3>;
  using FilterType = itk::MedSegImageFilter<InputImageType, LabelImageType>;

  auto reader = itk::ImageFileReader<InputImageType>::New();
  reader->SetFileName(args.input);
  try
  {
    reader->Update();
  }
  catch (const itk::ExceptionObject & e)
  {
    return Fail(1, "cannot read " + args.input + ": " + e.GetDescription());
  }

  auto filter = FilterType::New();
  filter->SetInput(reader->GetOutput());
  filter->SetModelDirectory(args.model);
  filter->SetDevice(args.device);
  filter->SetPipeline(args.pipeline == "spine" ? FilterType::PipelineEnum::TotalSpineSeg
                                               : FilterType::PipelineEnum::NnUnet);
  filter->SetNumberOfEngineThreads(args.threads);
  filter->SetStepSize(args.step);
  filter->SetUseMirroring(!args.noTta);
  filter->SetParity(args.parity);

  // Slicer's progress protocol on stdout, flushed per line; progress only on >= 1 % change.
  const auto started = std::chrono::steady_clock::now();
  double     lastPrinted = -1.0;
  std::string lastStage;
  filter->AddObserver(itk::StartEvent(), [](const itk::EventObject &) {
    std::cout << "<filter-start>\n<filter-name>MedSeg</filter-name>\n"
              << "<filter-comment>Segmenting</filter-comment>\n</filter-start>" << std::endl;
  });
  filter->AddObserver(itk::ProgressEvent(), [&](const itk::EventObject &) {
    const double p = filter->GetProgress();
    if (filter->GetCurrentStage() != lastStage && !filter->GetCurrentStage().empty())
    {
      lastStage = filter->GetCurrentStage();
      std::cout << "<filter-comment>" << lastStage << "</filter-comment>" << std::endl;
    }
    if (p - lastPrinted >= 0.01 || (p >= 1.0 && lastPrinted < 1.0))
    {
      lastPrinted = p;
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.4f", p);
      std::cout << "<filter-progress>" << buf << "</filter-progress>" << std::endl;
    }
  });
  filter->AddObserver(itk::EndEvent(), [&](const itk::EventObject &) {
    const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::cout << "<filter-end>\n<filter-name>MedSeg</filter-name>\n<filter-time>" << seconds
              << "</filter-time>\n</filter-end>" << std::endl;
  });

  try
  {
    filter->Update();
  }
  catch (const itk::ProcessAborted & e)
  {
    return Fail(4, std::string("cancelled: ") + e.GetDescription());
  }
  catch (const itk::ExceptionObject & e)
  {
    return Fail(ExitCodeFor(filter->GetLastStatus()), e.GetDescription());
  }

  const std::string temporary = TemporaryBeside(args.output);
  auto              writer = itk::ImageFileWriter<LabelImageType>::New();
  writer->SetInput(filter->GetOutput());
  writer->SetFileName(temporary);
  writer->UseCompressionOn();
  try
  {
    writer->Update();
  }
  catch (const itk::ExceptionObject & e)
  {
    std::remove(temporary.c_str());
    return Fail(1, "cannot write " + args.output + ": " + e.GetDescription());
  }
  if (temporary != args.output && std::rename(temporary.c_str(), args.output.c_str()) != 0)
  {
    const std::string why = std::strerror(errno);
    std::remove(temporary.c_str());
    return Fail(1, "cannot move the result to " + args.output + ": " + why);
  }
  return 0;
}
