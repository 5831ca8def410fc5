//===- MaiaAttrs.cpp - maia attribute syntax and verifiers ----------------===//
//
// The syntax of #maia.sem (`t<tile>.s<id>[:<count>]`, as in the assembly)
// and #maia.tensor (`@codes[offset] : format [scale <mode> [block]
// @scales[offset]]`), and the well-formedness of tensor operands.
//
//===----------------------------------------------------------------------===//

#include "MaiaSyntax.h"
#include "mixtile/Dialect/Maia/IR/MaiaOps.h"

#include "mlir/IR/DialectImplementation.h"

using namespace mlir;
using namespace mixtile;
using namespace mixtile::maia;

//===----------------------------------------------------------------------===//
// Buffer references
//===----------------------------------------------------------------------===//

OptionalParseResult mixtile::maia::detail::parseOptionalBufferRef(
    AsmParser &parser, FlatSymbolRefAttr &buffer, uint64_t &offset) {
  StringAttr name;
  if (failed(parser.parseOptionalSymbolName(name)))
    return std::nullopt;
  buffer = FlatSymbolRefAttr::get(name);
  offset = 0;
  if (succeeded(parser.parseOptionalLSquare()) &&
      (parser.parseInteger(offset) || parser.parseRSquare()))
    return failure();
  return success();
}

ParseResult mixtile::maia::detail::parseBufferRef(AsmParser &parser,
                                                  FlatSymbolRefAttr &buffer,
                                                  uint64_t &offset) {
  OptionalParseResult result = parseOptionalBufferRef(parser, buffer, offset);
  if (!result.has_value())
    return parser.emitError(parser.getCurrentLocation(),
                            "expected a buffer reference @name[offset]");
  return *result;
}

void mixtile::maia::detail::printBufferRef(AsmPrinter &printer,
                                           FlatSymbolRefAttr buffer,
                                           uint64_t offset) {
  printer.printSymbolName(buffer.getValue());
  if (offset != 0)
    printer << "[" << offset << "]";
}

//===----------------------------------------------------------------------===//
// SemAttr
//===----------------------------------------------------------------------===//

/// Splits `t<tile>.s<id>` into its numbers.
static bool parseSemName(StringRef name, uint32_t &tile, uint32_t &id) {
  if (!name.consume_front("t"))
    return false;
  auto [tileText, idText] = name.split(".s");
  // getAsInteger returns true on error; it rejects signs and overflow.
  return !tileText.empty() && !idText.empty() &&
         !tileText.getAsInteger(10, tile) && !idText.getAsInteger(10, id);
}

SemAttr SemAttr::parseBody(AsmParser &parser) {
  SMLoc loc = parser.getCurrentLocation();
  StringRef name;
  uint32_t tile, id;
  if (parser.parseOptionalKeyword(&name) || !parseSemName(name, tile, id)) {
    parser.emitError(loc, "expected a semaphore t<tile>.s<id>");
    return {};
  }
  uint32_t count = 1;
  if (succeeded(parser.parseOptionalColon()) && parser.parseInteger(count))
    return {};
  return SemAttr::get(parser.getContext(), tile, id, count);
}

void SemAttr::printBody(AsmPrinter &printer) const {
  printer << "t" << getTile() << ".s" << getId();
  if (getCount() != 1)
    printer << ":" << getCount();
}

Attribute SemAttr::parse(AsmParser &parser, Type) {
  if (parser.parseLess())
    return {};
  SemAttr sem = parseBody(parser);
  if (!sem || parser.parseGreater())
    return {};
  return sem;
}

void SemAttr::print(AsmPrinter &printer) const {
  printer << "<";
  printBody(printer);
  printer << ">";
}

//===----------------------------------------------------------------------===//
// TensorAttr
//===----------------------------------------------------------------------===//

TensorAttr TensorAttr::parseBody(AsmParser &parser) {
  SMLoc loc = parser.getCurrentLocation();
  FlatSymbolRefAttr buffer;
  uint64_t offset;
  Type format;
  if (maia::detail::parseBufferRef(parser, buffer, offset) ||
      parser.parseColon() || parser.parseType(format))
    return {};
  Scaling scaling = Scaling::none;
  uint32_t block = 0;
  FlatSymbolRefAttr scales;
  uint64_t scalesOffset = 0;
  if (succeeded(parser.parseOptionalKeyword("scale"))) {
    // The block and the scale buffer are parsed whatever the mode, so that
    // the verifier can explain a wrong combination.
    SMLoc nameLoc = parser.getCurrentLocation();
    StringRef name;
    if (parser.parseKeyword(&name))
      return {};
    std::optional<Scaling> parsed = symbolizeScaling(name);
    if (!parsed) {
      parser.emitError(nameLoc, "unknown scaling '")
          << name << "' (none, tensor, rows, mx, nvfp4, nvfp4.rows)";
      return {};
    }
    scaling = *parsed;
    OptionalParseResult hasBlock = parser.parseOptionalInteger(block);
    if (hasBlock.has_value() && failed(*hasBlock))
      return {};
    OptionalParseResult hasScales =
        maia::detail::parseOptionalBufferRef(parser, scales, scalesOffset);
    if (hasScales.has_value() && failed(*hasScales))
      return {};
  }
  return TensorAttr::getChecked([&] { return parser.emitError(loc); },
                                parser.getContext(), buffer, offset, format,
                                scaling, block, scales, scalesOffset);
}

void TensorAttr::printBody(AsmPrinter &printer) const {
  maia::detail::printBufferRef(printer, getBuffer(), getOffset());
  printer << " : " << getFormat();
  if (getScaling() == Scaling::none)
    return;
  printer << " scale " << stringifyScaling(getScaling());
  if (hasBlockScales(toISA(getScaling())))
    printer << " " << getBlock();
  printer << " ";
  maia::detail::printBufferRef(printer, getScales(), getScalesOffset());
}

Attribute TensorAttr::parse(AsmParser &parser, Type) {
  if (parser.parseLess())
    return {};
  TensorAttr tensor = parseBody(parser);
  if (!tensor || parser.parseGreater())
    return {};
  return tensor;
}

void TensorAttr::print(AsmPrinter &printer) const {
  printer << "<";
  printBody(printer);
  printer << ">";
}

LogicalResult TensorAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                 FlatSymbolRefAttr buffer, uint64_t offset,
                                 Type format, Scaling scaling, uint32_t block,
                                 FlatSymbolRefAttr scales,
                                 uint64_t scalesOffset) {
  if (!getFloatFormat(format))
    return emitError() << "tensor format must be a Maia element format, got "
                       << format;
  if (scaling == Scaling::none) {
    if (scales)
      return emitError() << "an unscaled tensor has no scales buffer";
    if (block != 0)
      return emitError() << "an unscaled tensor has no block size";
    return success();
  }
  if (!scales)
    return emitError() << "scaling '" << stringifyScaling(scaling)
                       << "' needs a scales buffer";
  if (block != 0 && !hasBlockScales(toISA(scaling)))
    return emitError() << "scaling '" << stringifyScaling(scaling)
                       << "' has no block scales and takes no block size";
  return success();
}
