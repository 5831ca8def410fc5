//===- mixtile-sim.cpp - run Maia programs on the modeled chip ------------===//
//
//   mixtile-sim PROGRAM [--target=maia200|FILE] [--mode=functional|timing|both]
//               [--trace=FILE] [--load=BUFFER:FILE]... [--dump=BUFFER:FILE]...
//   mixtile-sim PROGRAM --disassemble [-o FILE]
//   mixtile-sim PROGRAM --assemble -o FILE
//
// PROGRAM is Maia assembly (.masm) or binary (.mbin), told apart by the
// binary's magic. Every input is checked before anything runs, and every
// output is written atomically, so a failed run leaves no partial file.
//
//===----------------------------------------------------------------------===//

#include "mixtile/Target/Maia/ISA.h"
#include "mixtile/Target/Maia/Simulator.h"
#include "mixtile/Target/TargetModel.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Support/raw_ostream.h"

#include <string>
#include <vector>

using namespace mixtile;
using namespace mixtile::maia;
namespace cl = llvm::cl;

static const char *const kOverview = R"(run Maia programs on the modeled chip

Reads a Maia program, as assembly (.masm) or binary (.mbin, recognised by
its "MAIA" magic), verifies it against --target and simulates it:

  functional  moves real data (HBM, CSRAM and TSRAM are byte arrays) and
              prints the number of instructions retired;
  timing      computes the schedule only (no memory is allocated) and
              prints the report: cycles, time, per-unit utilisation, bytes
              per memory level, MACs per format;
  both        (default) does both and prints the report.

--load=BUFFER:FILE fills a buffer from its start with the bytes of FILE
before the run (after the program's data segments); --dump=BUFFER:FILE
writes a buffer's bytes after the run. Both need functional simulation.
--trace=FILE writes a Chrome trace (chrome://tracing, Perfetto) of every
command and DMA transfer.

--disassemble prints the program as assembly (to -o, default stdout),
whether or not it verifies; --assemble verifies it against --target and
writes it as a binary to -o. docs/MaiaISA.md describes both forms.
)";

static cl::OptionCategory category("mixtile-sim options");
static cl::opt<std::string> inputPath(cl::Positional, cl::Required,
                                      cl::desc("<program.masm|program.mbin>"),
                                      cl::cat(category));
static cl::opt<std::string>
    targetName("target", cl::init("maia200"),
               cl::desc("Built-in target (maia200) or target description "
                        "file"),
               cl::value_desc("name|file"), cl::cat(category));
enum class Mode { Functional, Timing, Both };
static cl::opt<Mode> mode(
    "mode", cl::init(Mode::Both), cl::desc("What to simulate"),
    cl::values(clEnumValN(Mode::Functional, "functional", "Real data only"),
               clEnumValN(Mode::Timing, "timing", "The schedule only"),
               clEnumValN(Mode::Both, "both", "Data and schedule")),
    cl::cat(category));
static cl::opt<std::string> tracePath("trace",
                                      cl::desc("Write a Chrome trace here"),
                                      cl::value_desc("file"),
                                      cl::cat(category));
static cl::list<std::string>
    loads("load", cl::desc("Fill a buffer from a file before the run"),
          cl::value_desc("buffer:file"), cl::cat(category));
static cl::list<std::string>
    dumps("dump", cl::desc("Write a buffer to a file after the run"),
          cl::value_desc("buffer:file"), cl::cat(category));
static cl::opt<bool> disassemble("disassemble",
                                 cl::desc("Print the program as assembly"),
                                 cl::cat(category));
static cl::opt<bool> assemble("assemble",
                              cl::desc("Write the program as a binary"),
                              cl::cat(category));
static cl::opt<std::string> outputPath("o",
                                       cl::desc("Output of --disassemble or "
                                                "--assemble"),
                                       cl::value_desc("file"),
                                       cl::cat(category));

static int fail(const llvm::Twine &message) {
  llvm::WithColor::error(llvm::errs(), "mixtile-sim") << message << "\n";
  return 1;
}

static llvm::Expected<std::unique_ptr<llvm::MemoryBuffer>>
readFile(llvm::StringRef path) {
  auto buffer = llvm::MemoryBuffer::getFileOrSTDIN(
      path, /*IsText=*/false, /*RequiresNullTerminator=*/false);
  if (!buffer)
    return llvm::createStringError("cannot read '" + path +
                                   "': " + buffer.getError().message());
  return std::move(*buffer);
}

static llvm::ArrayRef<uint8_t> bytesOf(const llvm::MemoryBuffer &buffer) {
  return llvm::ArrayRef<uint8_t>(
      reinterpret_cast<const uint8_t *>(buffer.getBufferStart()),
      buffer.getBufferSize());
}

/// Reads a program in either form.
static llvm::Expected<Program> readProgram(llvm::StringRef path) {
  llvm::Expected<std::unique_ptr<llvm::MemoryBuffer>> buffer = readFile(path);
  if (!buffer)
    return buffer.takeError();
  llvm::StringRef name = path == "-" ? "<stdin>" : path;
  // Binaries start with the magic; a file with control bytes other than
  // whitespace is no assembly either, so the decoder names what is wrong.
  llvm::StringRef text = (*buffer)->getBuffer();
  bool looksBinary = llvm::any_of(text, [](char c) {
    return (static_cast<unsigned char>(c) < 0x20 && !llvm::isSpace(c)) ||
           c == 0x7f;
  });
  if (isBinary(bytesOf(**buffer)) || looksBinary)
    return decodeBinary(bytesOf(**buffer), name);
  return parseAssembly(text, name);
}

/// Writes `path` atomically: a temporary file renamed into place.
static llvm::Error
writeFile(llvm::StringRef path,
          llvm::function_ref<void(llvm::raw_ostream &)> write) {
  llvm::Error error =
      llvm::writeToOutput(path, [&](llvm::raw_ostream &os) -> llvm::Error {
        write(os);
        return llvm::Error::success();
      });
  if (error) // The error code alone: its message would repeat the path.
    return llvm::createStringError(
        "cannot write '" + path +
        "': " + llvm::errorToErrorCode(std::move(error)).message());
  return llvm::Error::success();
}

/// A BUFFER:FILE option value.
struct BufferFile {
  std::string buffer, file;
};

static llvm::Expected<BufferFile> parseBufferFile(llvm::StringRef option,
                                                  llvm::StringRef value,
                                                  const Program &program) {
  auto [buffer, file] = value.split(':');
  if (buffer.empty() || file.empty())
    return llvm::createStringError("--" + option + "=" + value +
                                   ": expected BUFFER:FILE");
  if (!program.findBuffer(buffer))
    return llvm::createStringError("--" + option + "=" + value +
                                   ": the program has no buffer '" + buffer +
                                   "'");
  return BufferFile{buffer.str(), file.str()};
}

static int convert(const Program &program) {
  if (assemble && outputPath.empty())
    return fail("--assemble needs -o FILE");
  std::string path = outputPath.empty() ? "-" : outputPath.getValue();
  llvm::Error error = writeFile(path, [&](llvm::raw_ostream &os) {
    if (disassemble) {
      printAssembly(program, os);
      return;
    }
    std::vector<uint8_t> bytes = encodeBinary(program);
    os.write(reinterpret_cast<const char *>(bytes.data()), bytes.size());
  });
  if (error)
    return fail(llvm::toString(std::move(error)));
  return 0;
}

int main(int argc, char **argv) {
  llvm::InitLLVM initLLVM(argc, argv);
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(argc, argv, kOverview);

  if (disassemble && assemble)
    return fail("--disassemble and --assemble exclude each other");
  if (!outputPath.empty() && !disassemble && !assemble)
    return fail("-o is the output of --disassemble or --assemble");
  llvm::Expected<Program> program = readProgram(inputPath);
  if (!program)
    return fail(llvm::toString(program.takeError()));
  llvm::Expected<TargetModel> target = TargetModel::load(targetName);
  if (!target)
    return fail(llvm::toString(target.takeError()));
  // Disassembly shows any well-formed program, so that one that fails
  // verification can be inspected; a binary is only made for a program the
  // target runs.
  if (disassemble)
    return convert(*program);
  if (assemble) {
    if (llvm::Error error = verifyProgram(*program, *target))
      return fail(llvm::toString(std::move(error)));
    return convert(*program);
  }

  SimOptions options;
  options.functional = mode != Mode::Timing;
  options.trace = !tracePath.empty();
  if (!options.functional && (!loads.empty() || !dumps.empty()))
    return fail("--load and --dump need --mode=functional or --mode=both");
  std::vector<BufferFile> dumpFiles;
  for (const std::string &value : dumps) {
    llvm::Expected<BufferFile> dump = parseBufferFile("dump", value, *program);
    if (!dump)
      return fail(llvm::toString(dump.takeError()));
    dumpFiles.push_back(*dump);
  }
  for (const std::string &value : loads) {
    llvm::Expected<BufferFile> load = parseBufferFile("load", value, *program);
    if (!load)
      return fail(llvm::toString(load.takeError()));
    llvm::Expected<std::unique_ptr<llvm::MemoryBuffer>> bytes =
        readFile(load->file);
    if (!bytes)
      return fail(llvm::toString(bytes.takeError()));
    llvm::ArrayRef<uint8_t> data = bytesOf(**bytes);
    options.inputs.push_back({load->buffer, {data.begin(), data.end()}});
  }

  llvm::Expected<SimResult> result = simulate(*program, *target, options);
  if (!result)
    return fail(llvm::toString(result.takeError()));

  // Gather every output before writing any, so that a bad dump leaves no
  // file behind.
  std::vector<std::pair<std::string, std::vector<uint8_t>>> outputs;
  for (const BufferFile &dump : dumpFiles) {
    llvm::Expected<std::vector<uint8_t>> bytes =
        result->readBuffer(dump.buffer);
    if (!bytes)
      return fail(llvm::toString(bytes.takeError()));
    outputs.emplace_back(dump.file, std::move(*bytes));
  }
  for (const auto &output : outputs)
    if (llvm::Error error = writeFile(output.first, [&](llvm::raw_ostream &os) {
          os.write(reinterpret_cast<const char *>(output.second.data()),
                   output.second.size());
        }))
      return fail(llvm::toString(std::move(error)));
  if (options.trace)
    if (llvm::Error error = writeFile(tracePath, [&](llvm::raw_ostream &os) {
          os << llvm::formatv("{0:2}", toChromeTrace(*result, *target)) << "\n";
        }))
      return fail(llvm::toString(std::move(error)));

  if (mode == Mode::Functional)
    llvm::outs() << "functional simulation: " << result->report.instructions
                 << " instructions retired on " << program->tiles.size()
                 << " tiles\n";
  else
    printReport(result->report, llvm::outs());
  return 0;
}
