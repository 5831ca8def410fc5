//===- AsmParser.cpp - Maia programs from text ----------------------------===//
//
// A line-oriented parser for the syntax of docs/MaiaISA.md. Each line is
// lexed on its own; an instruction is a mnemonic followed by `key=value`
// fields in any order, and each instruction kind pulls the fields it knows,
// so that unknown, duplicate and missing fields are all reported with their
// line and column. The structural rules of verifyStructure are checked as
// lines are read, so errors point at the offending text.
//
//===----------------------------------------------------------------------===//

#include "ISAInternal.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/Twine.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>

using namespace mixtile;
using namespace mixtile::maia;
using llvm::ArrayRef;
using llvm::Expected;
using llvm::StringRef;
using llvm::Twine;

namespace {

//===----------------------------------------------------------------------===//
// Lexer
//===----------------------------------------------------------------------===//

struct Token {
  enum Kind { Ident, Number, String, Punct, End };
  Kind kind = End;
  StringRef text;
  /// 1-based column of the first character.
  unsigned column = 0;

  bool is(char c) const {
    return kind == Punct && text.size() == 1 && text[0] == c;
  }
};

bool isIdentStart(char c) { return llvm::isAlpha(c) || c == '_'; }
bool isIdentChar(char c) { return llvm::isAlnum(c) || c == '_' || c == '.'; }

/// Splits one line into tokens; a '#' starts a comment. Returns the column of
/// a character no token can start with, or 0.
unsigned lexLine(StringRef line, std::vector<Token> &tokens) {
  size_t i = 0;
  while (i < line.size()) {
    char c = line[i];
    if (c == ' ' || c == '\t' || c == '\r') {
      ++i;
      continue;
    }
    if (c == '#')
      break;
    size_t start = i;
    Token::Kind kind;
    bool directive =
        c == '.' && i + 1 < line.size() && isIdentStart(line[i + 1]);
    if (isIdentStart(c) || directive) {
      ++i;
      while (i < line.size() && isIdentChar(line[i]))
        ++i;
      kind = Token::Ident;
    } else if (llvm::isDigit(c) || (c == '.' && i + 1 < line.size() &&
                                    llvm::isDigit(line[i + 1]))) {
      // Digits, letters (hex, exponents), '.' and an exponent's sign.
      while (i < line.size() &&
             (llvm::isAlnum(line[i]) || line[i] == '.' ||
              ((line[i] == '-' || line[i] == '+') &&
               (line[i - 1] == 'e' || line[i - 1] == 'E') &&
               !line.substr(start, i - start).starts_with_insensitive("0x"))))
        ++i;
      kind = Token::Number;
    } else if (c == '"') {
      ++i;
      while (i < line.size() && line[i] != '"')
        ++i;
      if (i == line.size())
        return unsigned(start + 1);
      ++i;
      kind = Token::String;
    } else if (StringRef("=[],%+-:/").contains(c)) {
      ++i;
      kind = Token::Punct;
    } else {
      return unsigned(start + 1);
    }
    tokens.push_back(
        {kind, line.substr(start, i - start), unsigned(start + 1)});
  }
  tokens.push_back({Token::End, "", unsigned(line.size() + 1)});
  return 0;
}

//===----------------------------------------------------------------------===//
// Parser
//===----------------------------------------------------------------------===//

/// One `key=value` field of an instruction; the value is a token range.
struct Field {
  StringRef key;
  unsigned column;
  ArrayRef<Token> value;
  bool used = false;
};

/// Parses a whole program. Methods return true on success; the first error
/// is kept and later ones are dropped.
class AsmParser {
public:
  AsmParser(StringRef text, StringRef sourceName)
      : text(text), sourceName(sourceName) {}

  Expected<Program> parse();

private:
  //===--- Errors ---------------------------------------------------------===//

  bool error(unsigned column, const Twine &message) {
    if (!firstError)
      firstError = (sourceName + ":" + Twine(lineNumber) + ":" + Twine(column) +
                    ": " + message)
                       .str();
    return false;
  }
  bool error(const Token &token, const Twine &message) {
    return error(token.column, message);
  }

  //===--- Token cursor over one value
  //--------------------------------------===//

  /// Tokens of the value being parsed, consumed from the front.
  struct Cursor {
    ArrayRef<Token> tokens;
    /// Where to report running off the end of the value.
    unsigned endColumn;

    const Token &peek() const {
      static const Token end;
      return tokens.empty() ? end : tokens.front();
    }
    unsigned column() const {
      return tokens.empty() ? endColumn : tokens.front().column;
    }
    Token next() {
      Token t = peek();
      if (!tokens.empty())
        tokens = tokens.drop_front();
      return t;
    }
    bool consume(char c) {
      if (!peek().is(c))
        return false;
      next();
      return true;
    }
    bool atEnd() const { return tokens.empty(); }
  };

  bool expect(Cursor &c, char punct, StringRef what) {
    if (c.consume(punct))
      return true;
    return error(c.column(), "expected '" + Twine(punct) + "' " + what);
  }

  //===--- Values
  //-----------------------------------------------------------===//

  bool parseUInt(Cursor &c, uint64_t &out, uint64_t max = UINT64_MAX) {
    unsigned column = c.column();
    Token t = c.next();
    StringRef digits = t.text;
    unsigned radix = 10;
    if (digits.starts_with_insensitive("0x")) {
      digits = digits.drop_front(2);
      radix = 16;
    }
    if (t.kind != Token::Number || digits.empty() ||
        digits.getAsInteger(radix, out))
      return error(column, "expected an unsigned integer");
    if (out > max)
      return error(column, "value " + t.text + " is out of range (at most " +
                               Twine(max) + ")");
    return true;
  }

  bool parseUInt32(Cursor &c, uint32_t &out) {
    uint64_t value;
    if (!parseUInt(c, value, UINT32_MAX))
      return false;
    out = uint32_t(value);
    return true;
  }

  bool parseFloat(Cursor &c, float &out) {
    unsigned column = c.column();
    bool negative = c.consume('-');
    Token t = c.next();
    if (t.kind == Token::Ident && (t.text == "inf" || t.text == "nan")) {
      out = t.text == "inf" ? std::numeric_limits<float>::infinity()
                            : std::numeric_limits<float>::quiet_NaN();
    } else {
      std::string digits = t.text.str();
      char *end = nullptr;
      errno = 0;
      out = std::strtof(digits.c_str(), &end);
      if (t.kind != Token::Number || digits.empty() ||
          end != digits.c_str() + digits.size() ||
          digits.find_first_of("xX") != std::string::npos)
        return error(column, "expected a number");
      if (errno == ERANGE && std::isinf(out))
        return error(column, "number " + t.text + " is out of the f32 range");
    }
    if (negative)
      out = -out;
    return true;
  }

  /// `%name` or `%name+offset`.
  bool parseRef(Cursor &c, BufferRef &out) {
    unsigned column = c.column();
    if (!c.consume('%') || c.peek().kind != Token::Ident)
      return error(column, "expected a buffer like %name or %name+64");
    Token name = c.next();
    std::optional<uint32_t> index = program.findBuffer(name.text);
    if (!index)
      return error(name, "unknown buffer '" + name.text + "'");
    out = BufferRef{*index, 0};
    if (c.consume('+'))
      return parseUInt(c, out.offset);
    return true;
  }

  bool parseFormat(Cursor &c, FloatFormat &out) {
    Token t = c.next();
    std::optional<FloatFormat> format =
        t.kind == Token::Ident
            ? numerics::parseFloatFormat({t.text.data(), t.text.size()})
            : std::nullopt;
    if (!format)
      return error(t.column ? t.column : c.endColumn,
                   "expected an element format (f32, bf16, f16, f8E4M3FN, "
                   "f8E5M2, f6E2M3FN, f6E3M2FN, f4E2M1FN, f8E8M0FNU)");
    out = *format;
    return true;
  }

  /// `%buffer:format`.
  bool parseTensorData(Cursor &c, TensorOperand &out) {
    return parseRef(c, out.data) &&
           expect(c, ':', "and an element format after the buffer") &&
           parseFormat(c, out.format);
  }

  /// `mode[/block]:%buffer`.
  bool parseScale(Cursor &c, TensorOperand &out) {
    Token t = c.next();
    static const ScaleMode modes[] = {ScaleMode::Tensor, ScaleMode::Rows,
                                      ScaleMode::MX, ScaleMode::NVFP4,
                                      ScaleMode::NVFP4Rows};
    std::optional<ScaleMode> mode;
    for (ScaleMode m : modes)
      if (t.kind == Token::Ident && t.text == getScaleModeName(m))
        mode = m;
    if (!mode)
      return error(t.column ? t.column : c.endColumn,
                   "expected a scale mode (tensor, rows, mx/B, nvfp4/B, "
                   "nvfp4.rows/B)");
    out.scaleMode = *mode;
    if (hasBlockScales(*mode)) {
      if (!expect(c, '/', "and the block size after a block-scaled mode") ||
          !parseUInt32(c, out.block))
        return false;
      if (out.block == 0)
        return error(t, "the block size must be at least 1");
    } else if (c.peek().is('/')) {
      return error(c.peek(), "scale mode '" + t.text +
                                 "' has no block scales and takes no block "
                                 "size");
    }
    return expect(c, ':', "and the scale buffer after the scale mode") &&
           parseRef(c, out.scales);
  }

  /// `tT.sS[:count]`, or `sS[:count]` for the current tile.
  bool parseSem(Cursor &c, SemRef &sem, uint32_t &count, bool allowCount) {
    Token t = c.next();
    StringRef text = t.text;
    uint64_t tileId = currentTile, id;
    bool ok = t.kind == Token::Ident;
    if (ok && text.consume_front("t")) {
      auto [tilePart, rest] = text.split('.');
      ok = !tilePart.empty() && !tilePart.getAsInteger(10, tileId) &&
           tileId <= UINT32_MAX;
      text = rest;
    }
    ok = ok && text.consume_front("s") && !text.empty() &&
         !text.getAsInteger(10, id) && id <= UINT32_MAX;
    if (!ok)
      return error(t.column ? t.column : c.endColumn,
                   "expected a semaphore like t3.s1 (or s1 on this tile)");
    sem = SemRef{uint32_t(tileId), uint32_t(id)};
    count = 1;
    if (!c.peek().is(':'))
      return true;
    if (!allowCount)
      return error(c.peek(), "a signal adds 1 and takes no count");
    c.next();
    unsigned column = c.column();
    if (!parseUInt32(c, count))
      return false;
    if (count == 0)
      return error(column, "a count must be at least 1");
    return true;
  }

  /// `[e, e, ...]` with `element` parsing one element.
  template <typename ParseElement>
  bool parseList(Cursor &c, ParseElement element) {
    if (!expect(c, '[', "to start a list"))
      return false;
    if (c.consume(']'))
      return true;
    do {
      if (!element(c))
        return false;
    } while (c.consume(','));
    return expect(c, ']', "to end the list");
  }

  bool parseTriple(Cursor &c, std::array<uint64_t, 3> &out) {
    unsigned column = c.column();
    size_t n = 0;
    bool ok = parseList(c, [&](Cursor &c) {
      uint64_t value;
      if (!parseUInt(c, value))
        return false;
      if (n < 3)
        out[n] = value;
      ++n;
      return true;
    });
    if (ok && n != 3)
      return error(column,
                   "expected 3 values (outermost first), got " + Twine(n));
    return ok;
  }

  //===--- Fields
  //-----------------------------------------------------------===//

  /// Splits the tokens after a mnemonic into fields.
  bool splitFields(ArrayRef<Token> tokens) {
    fields.clear();
    while (tokens.front().kind != Token::End) {
      const Token &key = tokens.front();
      if (key.kind != Token::Ident || !tokens[1].is('='))
        return error(key, "expected a field like key=value");
      for (const Field &f : fields)
        if (f.key == key.text)
          return error(key, "field '" + key.text + "' is given twice");
      size_t end = 2;
      for (int depth = 0; tokens[end].kind != Token::End; ++end) {
        if (tokens[end].is('['))
          ++depth;
        else if (tokens[end].is(']'))
          --depth;
        else if (depth == 0 && tokens[end].kind == Token::Ident &&
                 tokens[end + 1].is('='))
          break;
      }
      if (end == 2)
        return error(tokens[1].column + 1,
                     "field '" + key.text + "' has no value");
      fields.push_back({key.text, key.column, tokens.slice(2, end - 2)});
      tokens = tokens.drop_front(end);
    }
    return true;
  }

  Field *findField(StringRef key) {
    for (Field &f : fields)
      if (f.key == key)
        return &f;
    return nullptr;
  }

  /// Parses field `key` with `parse`, which must consume the whole value.
  /// A missing field is an error unless `optional`; `present` tells which.
  template <typename ParseValue>
  bool field(StringRef key, ParseValue parse, bool optional = false,
             bool *present = nullptr) {
    Field *f = findField(key);
    if (present)
      *present = f != nullptr;
    if (!f) {
      if (optional)
        return true;
      return error(mnemonicColumn,
                   Twine(mnemonic) + " needs field '" + key + "='");
    }
    f->used = true;
    Cursor c{f->value,
             f->value.back().column + unsigned(f->value.back().text.size())};
    if (!parse(c))
      return false;
    if (!c.atEnd())
      return error(c.column(),
                   "unexpected '" + c.peek().text + "' in field '" + key + "'");
    return true;
  }

  bool uintField(StringRef key, uint32_t &out) {
    return field(key, [&](Cursor &c) { return parseUInt32(c, out); });
  }

  bool refField(StringRef key, BufferRef &out) {
    return field(key, [&](Cursor &c) { return parseRef(c, out); });
  }

  bool tensorField(StringRef key, TensorOperand &out) {
    return field(key, [&](Cursor &c) { return parseTensorData(c, out); }) &&
           field((key + ".scale").str(),
                 [&](Cursor &c) { return parseScale(c, out); },
                 /*optional=*/true);
  }

  bool syncFields(Sync &sync) {
    bool ok = field(
        "wait",
        [&](Cursor &c) {
          return parseList(c, [&](Cursor &c) {
            SemWait wait;
            if (!parseSem(c, wait.sem, wait.count, /*allowCount=*/true))
              return false;
            sync.waits.push_back(wait);
            return true;
          });
        },
        /*optional=*/true);
    bool hasSignal = false;
    SemRef signal;
    ok = ok && field(
                   "signal",
                   [&](Cursor &c) {
                     uint32_t count;
                     return parseSem(c, signal, count, /*allowCount=*/false);
                   },
                   /*optional=*/true, &hasSignal);
    if (ok && hasSignal)
      sync.signal = signal;
    return ok;
  }

  bool checkAllFieldsUsed() {
    for (const Field &f : fields)
      if (!f.used)
        return error(f.column, "unknown field '" + f.key + "' for " + mnemonic);
    return true;
  }

  //===--- Instructions
  //-----------------------------------------------------===//

  bool parseQueue(Cursor &c, DmaQueue &queue) {
    Token t = c.next();
    StringRef text = t.text;
    uint64_t index;
    bool ok = t.kind == Token::Ident && text.size() > 1 &&
              (text[0] == 't' || text[0] == 'c') &&
              !text.drop_front().getAsInteger(10, index) && index <= UINT32_MAX;
    if (!ok)
      return error(t.column ? t.column : c.endColumn,
                   "expected a DMA queue: tN (the tile's) or cN (the "
                   "cluster's)");
    queue.kind =
        text[0] == 't' ? DmaQueue::Kind::Tile : DmaQueue::Kind::Cluster;
    queue.index = uint32_t(index);
    return true;
  }

  bool parseDma(DmaInst &i) {
    bool hasSrcStrides = false, hasDstStrides = false;
    bool ok =
        field("q", [&](Cursor &c) { return parseQueue(c, i.queue); }) &&
        refField("src", i.src) && refField("dst", i.dst) &&
        uintField("elem", i.elementBytes) &&
        field("shape", [&](Cursor &c) { return parseTriple(c, i.counts); }) &&
        field(
            "src.strides",
            [&](Cursor &c) { return parseTriple(c, i.srcStrides); },
            /*optional=*/true, &hasSrcStrides) &&
        field(
            "dst.strides",
            [&](Cursor &c) { return parseTriple(c, i.dstStrides); },
            /*optional=*/true, &hasDstStrides) &&
        field(
            "mcast", [&](Cursor &c) { return parseUInt32(c, i.multicast); },
            /*optional=*/true);
    if (!ok)
      return false;
    // Omitted strides are dense: elements back to back, row-major.
    std::array<uint64_t, 3> dense = {
        uint64_t(i.elementBytes) * i.counts[1] * i.counts[2],
        uint64_t(i.elementBytes) * i.counts[2], i.elementBytes};
    if (!hasSrcStrides)
      i.srcStrides = dense;
    if (!hasDstStrides)
      i.dstStrides = dense;
    return syncFields(i.sync);
  }

  bool parseMatmul(MatmulInst &i) {
    uint32_t accumulate = 0;
    bool ok = uintField("m", i.m) && uintField("n", i.n) &&
              uintField("k", i.k) && tensorField("a", i.a) &&
              tensorField("b", i.b) && refField("c", i.acc) &&
              field(
                  "acc",
                  [&](Cursor &c) {
                    unsigned column = c.column();
                    if (!parseUInt32(c, accumulate))
                      return false;
                    if (accumulate > 1)
                      return error(column, "acc is 0 (overwrite) or 1 "
                                           "(accumulate)");
                    return true;
                  },
                  /*optional=*/true);
    i.accumulate = accumulate == 1;
    return ok && syncFields(i.sync);
  }

  bool shapeFields(uint32_t &rows, uint32_t &len) {
    return uintField("rows", rows) && uintField("len", len);
  }

  bool parseBinary(VecBinaryInst &i) {
    bool ok = shapeFields(i.rows, i.len) && refField("dst", i.dst) &&
              refField("a", i.a) && field("b", [&](Cursor &c) {
                if (c.peek().is('%'))
                  return parseRef(c, i.b);
                i.broadcast = Broadcast::Scalar;
                return parseFloat(c, i.scalar);
              });
    if (!ok)
      return false;
    ok = field(
        "bcast",
        [&](Cursor &c) {
          Token t = c.next();
          if (i.broadcast == Broadcast::Scalar)
            return error(t.column ? t.column : c.endColumn,
                         "an immediate b needs no bcast");
          if (t.text == "row")
            i.broadcast = Broadcast::Row;
          else if (t.text == "col")
            i.broadcast = Broadcast::Column;
          else
            return error(t.column ? t.column : c.endColumn,
                         "expected bcast=row (b is one row) or bcast=col "
                         "(b is one value per row)");
          return true;
        },
        /*optional=*/true);
    return ok && syncFields(i.sync);
  }

  bool parseUnary(VecUnaryInst &i) {
    return shapeFields(i.rows, i.len) && refField("dst", i.dst) &&
           refField("a", i.a) && syncFields(i.sync);
  }

  bool parseReduce(VecReduceInst &i) {
    return shapeFields(i.rows, i.len) && refField("dst", i.dst) &&
           refField("a", i.a) && syncFields(i.sync);
  }

  bool parseQuantize(VecQuantizeInst &i) {
    return shapeFields(i.rows, i.len) && tensorField("dst", i.dst) &&
           refField("src", i.src) && syncFields(i.sync);
  }

  bool parseDequantize(VecDequantizeInst &i) {
    return shapeFields(i.rows, i.len) && refField("dst", i.dst) &&
           tensorField("src", i.src) && syncFields(i.sync);
  }

  bool semField(SemRef &sem, uint32_t &count) {
    return field("sem", [&](Cursor &c) {
      return parseSem(c, sem, count, /*allowCount=*/true);
    });
  }

  bool parseBarrier(BarrierInst &i) {
    unsigned column = 0;
    bool ok = field("tiles", [&](Cursor &c) {
      column = c.column();
      return parseList(c, [&](Cursor &c) {
        uint32_t tile;
        if (!parseUInt32(c, tile))
          return false;
        i.tiles.push_back(tile);
        return true;
      });
    });
    if (!ok)
      return false;
    if (i.tiles.empty())
      return error(column, "a barrier needs tiles");
    for (size_t t = 1; t < i.tiles.size(); ++t)
      if (i.tiles[t] <= i.tiles[t - 1])
        return error(column, "barrier tiles must be ascending and distinct");
    if (!std::binary_search(i.tiles.begin(), i.tiles.end(), currentTile))
      return error(column, "the barrier does not include its own tile " +
                               Twine(currentTile));
    return true;
  }

  /// Parses the instruction named by `mnemonic` from `fields`.
  bool parseInstruction(Instruction &inst) {
    static const std::pair<StringRef, VecBinaryOp> binaries[] = {
        {"vec.add", VecBinaryOp::Add},
        {"vec.sub", VecBinaryOp::Sub},
        {"vec.mul", VecBinaryOp::Mul},
        {"vec.div", VecBinaryOp::Div},
        {"vec.max", VecBinaryOp::Max}};
    static const std::pair<StringRef, VecUnaryOp> unaries[] = {
        {"vec.copy", VecUnaryOp::Copy},
        {"vec.exp", VecUnaryOp::Exp},
        {"vec.rsqrt", VecUnaryOp::Rsqrt},
        {"vec.silu", VecUnaryOp::Silu}};
    static const std::pair<StringRef, VecReduceOp> reductions[] = {
        {"vec.rmax", VecReduceOp::Max},
        {"vec.rsum", VecReduceOp::Sum},
        {"vec.rsumsq", VecReduceOp::SumSquares}};
    for (auto [name, op] : binaries)
      if (mnemonic == name) {
        VecBinaryInst i;
        i.op = op;
        inst = i;
        return parseBinary(std::get<VecBinaryInst>(inst));
      }
    for (auto [name, op] : unaries)
      if (mnemonic == name) {
        VecUnaryInst i;
        i.op = op;
        inst = i;
        return parseUnary(std::get<VecUnaryInst>(inst));
      }
    for (auto [name, op] : reductions)
      if (mnemonic == name) {
        VecReduceInst i;
        i.op = op;
        inst = i;
        return parseReduce(std::get<VecReduceInst>(inst));
      }
    if (mnemonic == "dma")
      return parseDma(inst.emplace<DmaInst>());
    if (mnemonic == "mm")
      return parseMatmul(inst.emplace<MatmulInst>());
    if (mnemonic == "vec.quant")
      return parseQuantize(inst.emplace<VecQuantizeInst>());
    if (mnemonic == "vec.dequant")
      return parseDequantize(inst.emplace<VecDequantizeInst>());
    if (mnemonic == "sem.signal") {
      auto &i = inst.emplace<SemSignalInst>();
      return semField(i.sem, i.count);
    }
    if (mnemonic == "sem.wait") {
      auto &i = inst.emplace<SemWaitInst>();
      return semField(i.sem, i.count);
    }
    if (mnemonic == "barrier")
      return parseBarrier(inst.emplace<BarrierInst>());
    if (mnemonic == "halt") {
      inst.emplace<HaltInst>();
      return true;
    }
    return error(mnemonicColumn, "unknown instruction '" + mnemonic + "'");
  }

  //===--- Lines
  //------------------------------------------------------------===//

  bool parseBufferDirective(ArrayRef<Token> tokens) {
    Buffer buffer;
    if (tokens.size() < 3)
      return error(tokens.back(), "expected .buffer NAME MEMORY offset=N "
                                  "size=N type=FORMAT");
    const Token &name = tokens[1];
    if (name.kind != Token::Ident)
      return error(name.column, "expected a buffer name after .buffer");
    if (program.findBuffer(name.text))
      return error(name, "buffer '" + name.text + "' is already defined");
    buffer.name = name.text.str();
    const Token &level = tokens[2];
    size_t next = 3;
    if (level.text == "hbm") {
      buffer.level = MemoryLevel::HBM;
    } else if (level.text == "csram" || level.text == "tsram") {
      buffer.level =
          level.text == "csram" ? MemoryLevel::CSRAM : MemoryLevel::TSRAM;
      Cursor c{tokens.drop_front(3), tokens.back().column};
      if (!expect(c, '[', "and the cluster or tile after the memory") ||
          !parseUInt32(c, buffer.unit) || !expect(c, ']', "after the unit"))
        return false;
      next = tokens.size() - c.tokens.size();
    } else {
      return error(level.column,
                   "expected a memory: hbm, csram[CLUSTER] or tsram[TILE]");
    }
    mnemonic = ".buffer";
    mnemonicColumn = tokens[0].column;
    if (!splitFields(tokens.drop_front(next)))
      return false;
    bool ok =
        field("offset",
              [&](Cursor &c) { return parseUInt(c, buffer.offset); }) &&
        field("size", [&](Cursor &c) { return parseUInt(c, buffer.size); }) &&
        field("type", [&](Cursor &c) { return parseFormat(c, buffer.format); });
    if (!ok || !checkAllFieldsUsed())
      return false;
    program.addBuffer(std::move(buffer));
    return true;
  }

  bool parseDataDirective(ArrayRef<Token> tokens) {
    DataSegment segment;
    Cursor c{tokens.drop_front(), tokens.back().column};
    if (!parseRef(c, segment.at))
      return false;
    Token bytes = c.next();
    if (bytes.kind != Token::String)
      return error(bytes.column ? bytes.column : c.endColumn,
                   "expected the bytes as a hex string like \"00ff\"");
    StringRef hex = bytes.text.drop_front().drop_back();
    if (hex.size() % 2 != 0 || !llvm::all_of(hex, llvm::isHexDigit))
      return error(bytes, "the bytes must be an even number of hex digits");
    segment.bytes.resize(hex.size() / 2);
    for (size_t i = 0; i < segment.bytes.size(); ++i)
      segment.bytes[i] =
          uint8_t(llvm::hexFromNibbles(hex[2 * i], hex[2 * i + 1]));
    if (c.peek().kind != Token::End)
      return error(c.peek(), "unexpected '" + c.peek().text + "'");
    const Buffer &buffer = program.buffers[segment.at.buffer];
    if (segment.at.offset > buffer.size ||
        segment.bytes.size() > buffer.size - segment.at.offset)
      return error(tokens[1],
                   Twine(segment.bytes.size()) + " bytes at offset " +
                       Twine(segment.at.offset) + " do not fit buffer '" +
                       buffer.name + "' of " + Twine(buffer.size) + " bytes");
    program.data.push_back(std::move(segment));
    return true;
  }

  bool parseTileDirective(ArrayRef<Token> tokens) {
    Cursor c{tokens.drop_front(), tokens.back().column};
    unsigned column = c.column();
    uint32_t tile;
    if (!parseUInt32(c, tile))
      return false;
    if (c.peek().kind != Token::End)
      return error(c.peek(), "unexpected '" + c.peek().text + "'");
    for (const TileProgram &stream : program.tiles)
      if (stream.tile == tile)
        return error(column, "tile " + Twine(tile) + " already has a stream");
    program.tiles.push_back(TileProgram{tile, {}});
    currentTile = tile;
    return true;
  }

  bool parseInstructionLine(ArrayRef<Token> tokens) {
    if (program.tiles.empty())
      return error(tokens[0], "instructions must follow a '.tile N' line");
    TileProgram &stream = program.tiles.back();
    if (!stream.instructions.empty() &&
        std::holds_alternative<HaltInst>(stream.instructions.back()))
      return error(tokens[0], "instructions after a halt would never run");
    mnemonic = tokens[0].text;
    mnemonicColumn = tokens[0].column;
    Instruction inst;
    if (!splitFields(tokens.drop_front()) || !parseInstruction(inst) ||
        !checkAllFieldsUsed())
      return false;
    stream.instructions.push_back(std::move(inst));
    return true;
  }

  bool parseLine(StringRef line) {
    std::vector<Token> tokens;
    if (unsigned column = lexLine(line, tokens)) {
      char c = line[column - 1];
      if (c == '"')
        return error(column, "unterminated string");
      return error(column, "unexpected character '" + std::string(1, c) + "'");
    }
    const Token &first = tokens[0];
    if (first.kind == Token::End)
      return true;
    if (first.kind != Token::Ident)
      return error(first, "expected a directive or an instruction");
    if (first.text == ".buffer")
      return parseBufferDirective(tokens);
    if (first.text == ".data")
      return parseDataDirective(tokens);
    if (first.text == ".tile")
      return parseTileDirective(tokens);
    return parseInstructionLine(tokens);
  }

  StringRef text;
  StringRef sourceName;
  unsigned lineNumber = 0;
  std::optional<std::string> firstError;
  Program program;
  std::vector<Field> fields;
  std::string mnemonic;
  unsigned mnemonicColumn = 0;
  uint32_t currentTile = 0;
};

Expected<Program> AsmParser::parse() {
  StringRef rest = text;
  while (!rest.empty() && !firstError) {
    auto [line, tail] = rest.split('\n');
    rest = tail;
    ++lineNumber;
    parseLine(line);
  }
  if (firstError)
    return llvm::createStringError(*firstError);
  // Everything verifyStructure checks was checked line by line; this is a
  // safety net, so that no malformed program escapes.
  if (llvm::Error error = verifyStructure(program))
    return llvm::createStringError(sourceName + ": " +
                                   llvm::toString(std::move(error)));
  return std::move(program);
}

} // namespace

Expected<Program> mixtile::maia::parseAssembly(StringRef text,
                                               StringRef sourceName) {
  return AsmParser(text, sourceName).parse();
}
