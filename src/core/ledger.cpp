// careguard core: the ledger's record text and hash chain (see ledger.hpp).
#include "careguard/core/ledger.hpp"

#include <openssl/evp.h>

#include <memory>

#include "careguard/core/error.hpp"
#include "careguard/core/json.hpp"
#include "careguard/core/uuid.hpp"

namespace careguard::ledger {

Hash genesis() {
  return Hash{};
}

Hash link(const Hash& previous, std::int64_t seq, std::string_view text) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> context(EVP_MD_CTX_new(),
                                                                  &EVP_MD_CTX_free);
  std::uint8_t seq_bytes[8];
  auto value = static_cast<std::uint64_t>(seq);
  for (int i = 7; i >= 0; --i) {
    seq_bytes[i] = static_cast<std::uint8_t>(value & 0xffU);
    value >>= 8;
  }
  Hash out{};
  unsigned int length = 0;
  if (!context || EVP_DigestInit_ex(context.get(), EVP_sha256(), nullptr) != 1 ||
      EVP_DigestUpdate(context.get(), previous.data(), previous.size()) != 1 ||
      EVP_DigestUpdate(context.get(), seq_bytes, sizeof seq_bytes) != 1 ||
      EVP_DigestUpdate(context.get(), text.data(), text.size()) != 1 ||
      EVP_DigestFinal_ex(context.get(), out.data(), &length) != 1 || length != out.size()) {
    throw Error("XX000", "SHA-256 failed while chaining a ledger record");
  }
  return out;
}

std::string to_hex(const Hash& hash) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(hash.size() * 2);
  for (std::uint8_t byte : hash) {
    out.push_back(digits[byte >> 4]);
    out.push_back(digits[byte & 0x0f]);
  }
  return out;
}

RecordIndex index_record(std::string_view text) {
  RecordIndex index{"malformed", "{}"};
  json::Value root;
  try {
    root = json::parse(text, "ledger record");
  } catch (const Error&) {
    return index;
  }
  if (root.kind != json::Kind::Object) return index;
  const json::Value* kind = root.find("kind");
  index.kind = kind != nullptr && kind->kind == json::Kind::String ? kind->text : "unknown";
  const json::Value* ids = root.find("patient_ids");
  if (ids == nullptr || ids->kind != json::Kind::Array) return index;
  std::string literal = "{";
  for (const json::Value& id : ids->items) {
    if (id.kind != json::Kind::String) continue;
    std::optional<Uuid> parsed = parse_uuid(id.text);
    if (!parsed) continue;
    if (literal.size() > 1) literal.push_back(',');
    literal += format_uuid(*parsed);
  }
  literal.push_back('}');
  index.patient_ids = std::move(literal);
  return index;
}

void RecordWriter::key(std::string_view name) {
  if (!first_) text_.push_back(',');
  first_ = false;
  string(name);
  text_.push_back(':');
}

// JSON string escaping: quotes, backslash and every control character (so a
// record never holds a raw newline).
void RecordWriter::string(std::string_view value) {
  static const char digits[] = "0123456789abcdef";
  text_.push_back('"');
  for (char c : value) {
    auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      text_.push_back('\\');
      text_.push_back(c);
    } else if (byte < 0x20) {
      text_ += "\\u00";
      text_.push_back(digits[byte >> 4]);
      text_.push_back(digits[byte & 0x0f]);
    } else {
      text_.push_back(c);
    }
  }
  text_.push_back('"');
}

void RecordWriter::field(std::string_view name, std::string_view value) {
  key(name);
  string(value);
}

void RecordWriter::null_field(std::string_view name) {
  key(name);
  text_ += "null";
}

void RecordWriter::number(std::string_view name, std::int64_t value) {
  key(name);
  text_ += std::to_string(value);
}

void RecordWriter::boolean(std::string_view name, bool value) {
  key(name);
  text_ += value ? "true" : "false";
}

void RecordWriter::raw(std::string_view name, std::string_view json) {
  key(name);
  text_ += json;
}

void RecordWriter::open_array(std::string_view name) {
  key(name);
  text_.push_back('[');
  first_element_ = true;
}

void RecordWriter::element(std::string_view value) {
  if (!first_element_) text_.push_back(',');
  first_element_ = false;
  string(value);
}

void RecordWriter::close_array() {
  text_.push_back(']');
}

std::string RecordWriter::finish() {
  text_.push_back('}');
  return std::move(text_);
}

}  // namespace careguard::ledger
