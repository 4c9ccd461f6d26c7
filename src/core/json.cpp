// careguard core: strict JSON parsing (RFC 8259, with jsonb's extra rules:
// no \u0000 and no unpaired surrogates).
#include "careguard/core/json.hpp"

#include "careguard/core/error.hpp"

#include <cstdint>
#include <cstring>

namespace careguard::json {

const Value* Value::find(std::string_view key) const {
  if (kind != Kind::Object) return nullptr;
  // Claim names are short and many share a length: test the first byte
  // before calling memcmp.
  for (auto it = members.rbegin(); it != members.rend(); ++it) {
    const std::string& name = it->first;
    if (name.size() == key.size() && (key.empty() || name[0] == key[0]) &&
        std::memcmp(name.data(), key.data(), key.size()) == 0) {
      return &it->second;
    }
  }
  return nullptr;
}

namespace {

class Parser {
 public:
  Parser(std::string_view src, std::string_view what, const Limits& limits)
      : src_(src), what_(what), limits_(limits) {}

  Value parse_document() {
    if (src_.size() > limits_.max_bytes) {
      throw Error(sqlstate::kProgramLimitExceeded,
                  std::string(what_) + " is too large to parse as JSON",
                  "The limit is " + std::to_string(limits_.max_bytes) + " bytes.");
    }
    skip_space();
    if (pos_ == src_.size()) fail("the document is empty");
    Value v = parse_value(0);
    skip_space();
    if (pos_ != src_.size()) fail("unexpected data after the JSON value");
    return v;
  }

 private:
  [[noreturn]] void fail(const std::string& problem) const {
    throw Error(
        sqlstate::kInvalidTextRepresentation,
        std::string(what_) + " is not valid JSON: " + problem + " at byte " + std::to_string(pos_));
  }

  void skip_space() {
    while (pos_ < src_.size()) {
      char c = src_[pos_];
      if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
      ++pos_;
    }
  }

  bool consume_literal(std::string_view word) {
    if (src_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }

  Value parse_value(std::size_t depth) {
    if (depth >= limits_.max_depth) {
      throw Error(sqlstate::kProgramLimitExceeded, std::string(what_) + " is nested too deeply",
                  "The limit is " + std::to_string(limits_.max_depth) + " levels.");
    }
    if (pos_ >= src_.size()) fail("unexpected end of input");
    Value v;
    v.begin = pos_;
    char c = src_[pos_];
    if (c == '{') {
      parse_object(v, depth);
    } else if (c == '[') {
      parse_array(v, depth);
    } else if (c == '"') {
      v.kind = Kind::String;
      v.text = parse_string();
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      v.kind = Kind::Number;
      parse_number(v);
    } else if (consume_literal("true")) {
      v.kind = Kind::Bool;
      v.boolean = true;
    } else if (consume_literal("false")) {
      v.kind = Kind::Bool;
    } else if (consume_literal("null")) {
      v.kind = Kind::Null;
    } else {
      fail("unexpected character");
    }
    v.end = pos_;
    return v;
  }

  void parse_object(Value& v, std::size_t depth) {
    v.kind = Kind::Object;
    v.members.reserve(8);
    ++pos_;
    skip_space();
    if (pos_ < src_.size() && src_[pos_] == '}') {
      ++pos_;
      return;
    }
    for (;;) {
      skip_space();
      if (pos_ >= src_.size() || src_[pos_] != '"') fail("expected a string key");
      std::string key = parse_string();
      skip_space();
      if (pos_ >= src_.size() || src_[pos_] != ':') fail("expected ':'");
      ++pos_;
      skip_space();
      v.members.emplace_back(std::move(key), parse_value(depth + 1));
      skip_space();
      if (pos_ >= src_.size()) fail("unexpected end of input in an object");
      if (src_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (src_[pos_] == '}') {
        ++pos_;
        return;
      }
      fail("expected ',' or '}'");
    }
  }

  void parse_array(Value& v, std::size_t depth) {
    v.kind = Kind::Array;
    ++pos_;
    skip_space();
    if (pos_ < src_.size() && src_[pos_] == ']') {
      ++pos_;
      return;
    }
    for (;;) {
      skip_space();
      v.items.push_back(parse_value(depth + 1));
      skip_space();
      if (pos_ >= src_.size()) fail("unexpected end of input in an array");
      if (src_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (src_[pos_] == ']') {
        ++pos_;
        return;
      }
      fail("expected ',' or ']'");
    }
  }

  static bool is_digit(char c) { return c >= '0' && c <= '9'; }

  void parse_number(Value& v) {
    std::size_t start = pos_;
    if (src_[pos_] == '-') ++pos_;
    if (pos_ >= src_.size()) fail("incomplete number");
    if (src_[pos_] == '0') {
      ++pos_;
    } else if (is_digit(src_[pos_])) {
      while (pos_ < src_.size() && is_digit(src_[pos_])) ++pos_;
    } else {
      fail("invalid number");
    }
    if (pos_ < src_.size() && src_[pos_] == '.') {
      ++pos_;
      if (pos_ >= src_.size() || !is_digit(src_[pos_])) fail("invalid number");
      while (pos_ < src_.size() && is_digit(src_[pos_])) ++pos_;
    }
    if (pos_ < src_.size() && (src_[pos_] == 'e' || src_[pos_] == 'E')) {
      ++pos_;
      if (pos_ < src_.size() && (src_[pos_] == '+' || src_[pos_] == '-')) ++pos_;
      if (pos_ >= src_.size() || !is_digit(src_[pos_])) fail("invalid number");
      while (pos_ < src_.size() && is_digit(src_[pos_])) ++pos_;
    }
    v.text.assign(src_.substr(start, pos_ - start));
  }

  unsigned parse_hex4() {
    if (pos_ + 4 > src_.size()) fail("incomplete \\u escape");
    unsigned value = 0;
    for (int i = 0; i < 4; ++i) {
      char c = src_[pos_++];
      value <<= 4;
      if (c >= '0' && c <= '9') {
        value |= static_cast<unsigned>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        value |= static_cast<unsigned>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        value |= static_cast<unsigned>(c - 'A' + 10);
      } else {
        fail("invalid \\u escape");
      }
    }
    return value;
  }

  static void append_utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
      out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }

  // Copies one raw UTF-8 sequence, rejecting overlong forms and surrogates.
  void copy_utf8(std::string& out) {
    auto byte = [&](std::size_t i) { return static_cast<unsigned char>(src_[i]); };
    unsigned char lead = byte(pos_);
    std::size_t len;
    std::uint32_t cp;
    if (lead < 0x80) {
      out.push_back(static_cast<char>(lead));
      ++pos_;
      return;
    } else if ((lead & 0xE0) == 0xC0) {
      len = 2;
      cp = lead & 0x1F;
    } else if ((lead & 0xF0) == 0xE0) {
      len = 3;
      cp = lead & 0x0F;
    } else if ((lead & 0xF8) == 0xF0) {
      len = 4;
      cp = lead & 0x07;
    } else {
      fail("invalid UTF-8");
    }
    if (pos_ + len > src_.size()) fail("truncated UTF-8");
    for (std::size_t i = 1; i < len; ++i) {
      unsigned char b = byte(pos_ + i);
      if ((b & 0xC0) != 0x80) fail("invalid UTF-8");
      cp = (cp << 6) | (b & 0x3F);
    }
    static const std::uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      fail("invalid UTF-8");
    }
    out.append(src_.substr(pos_, len));
    pos_ += len;
  }

  std::string parse_string() {
    ++pos_;  // opening quote
    std::string out;
    for (;;) {
      if (pos_ >= src_.size()) fail("unterminated string");
      char c = src_[pos_];
      if (c == '"') {
        ++pos_;
        return out;
      }
      if (static_cast<unsigned char>(c) < 0x20) fail("control character in a string");
      if (c != '\\') {
        if (static_cast<unsigned char>(c) >= 0x80) {
          copy_utf8(out);
          continue;
        }
        // Copy a run of plain ASCII at once: claims are mostly ASCII.
        std::size_t run = pos_ + 1;
        while (run < src_.size()) {
          auto b = static_cast<unsigned char>(src_[run]);
          if (b < 0x20 || b >= 0x80 || b == '"' || b == '\\') break;
          ++run;
        }
        out.append(src_.data() + pos_, run - pos_);
        pos_ = run;
        continue;
      }
      ++pos_;
      if (pos_ >= src_.size()) fail("unterminated escape");
      char e = src_[pos_++];
      switch (e) {
        case '"':
          out.push_back('"');
          break;
        case '\\':
          out.push_back('\\');
          break;
        case '/':
          out.push_back('/');
          break;
        case 'b':
          out.push_back('\b');
          break;
        case 'f':
          out.push_back('\f');
          break;
        case 'n':
          out.push_back('\n');
          break;
        case 'r':
          out.push_back('\r');
          break;
        case 't':
          out.push_back('\t');
          break;
        case 'u': {
          std::uint32_t cp = parse_hex4();
          if (cp == 0) fail("\\u0000 cannot be stored in jsonb");
          if (cp >= 0xDC00 && cp <= 0xDFFF) fail("unpaired low surrogate");
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (pos_ + 2 > src_.size() || src_[pos_] != '\\' || src_[pos_ + 1] != 'u') {
              fail("unpaired high surrogate");
            }
            pos_ += 2;
            std::uint32_t low = parse_hex4();
            if (low < 0xDC00 || low > 0xDFFF) fail("unpaired high surrogate");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          }
          append_utf8(out, cp);
          break;
        }
        default:
          fail("invalid escape");
      }
    }
  }

  std::string_view src_;
  std::string_view what_;
  const Limits& limits_;
  std::size_t pos_ = 0;
};

}  // namespace

Value parse(std::string_view source, std::string_view what, const Limits& limits) {
  return Parser(source, what, limits).parse_document();
}

namespace {
// A std::string's own heap block, if it outgrew the small-string buffer.
std::size_t heap_bytes(const std::string& text) {
  return text.capacity() > std::string().capacity() ? text.capacity() + 1 : 0;
}
}  // namespace

std::size_t footprint(const Value& value) {
  std::size_t total = sizeof(Value) + heap_bytes(value.text);
  total += (value.items.capacity() - value.items.size()) * sizeof(Value);
  for (const Value& item : value.items) total += footprint(item);
  using Member = std::pair<std::string, Value>;
  total += (value.members.capacity() - value.members.size()) * sizeof(Member);
  for (const Member& member : value.members) {
    total += sizeof(Member) - sizeof(Value) + heap_bytes(member.first) + footprint(member.second);
  }
  return total;
}

std::string quote(std::string_view text) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(text.size() + 2);
  out.push_back('"');
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out.push_back(kHex[c >> 4]);
          out.push_back(kHex[c & 0xF]);
        } else {
          out.push_back(ch);
        }
    }
  }
  out.push_back('"');
  return out;
}

}  // namespace careguard::json
