// careguard core: the ledger's record text and hash chain (see ledger.hpp).
#include "careguard/core/ledger.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>

#include "careguard/core/calendar.hpp"
#include "careguard/core/error.hpp"
#include "careguard/core/json.hpp"
#include "careguard/core/uuid.hpp"

namespace careguard::ledger {

Hash genesis() {
  return Hash{};
}

namespace {

// SHA-256's implementation, fetched once: EVP_sha256() in a digest init
// looks the algorithm up again on every call.
struct Sha256 {
  EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  EVP_MD_CTX* context = EVP_MD_CTX_new();
  ~Sha256() {
    EVP_MD_CTX_free(context);
    EVP_MD_free(md);
  }
  Sha256() = default;
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
};

}  // namespace

Hash link(const Hash& previous, std::int64_t seq, std::string_view text) {
  thread_local Sha256 sha;
  std::uint8_t seq_bytes[8];
  auto value = static_cast<std::uint64_t>(seq);
  for (int i = 7; i >= 0; --i) {
    seq_bytes[i] = static_cast<std::uint8_t>(value & 0xffU);
    value >>= 8;
  }
  Hash out{};
  unsigned int length = 0;
  if (sha.md == nullptr || sha.context == nullptr ||
      EVP_DigestInit_ex2(sha.context, sha.md, nullptr) != 1 ||
      EVP_DigestUpdate(sha.context, previous.data(), previous.size()) != 1 ||
      EVP_DigestUpdate(sha.context, seq_bytes, sizeof seq_bytes) != 1 ||
      EVP_DigestUpdate(sha.context, text.data(), text.size()) != 1 ||
      EVP_DigestFinal_ex(sha.context, out.data(), &length) != 1 || length != out.size()) {
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
  RecordIndex index{"malformed", {}};
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
  for (const json::Value& id : ids->items) {
    if (id.kind != json::Kind::String) continue;
    std::optional<Uuid> parsed = parse_uuid(id.text);
    if (parsed) index.patient_ids.push_back(*parsed);
  }
  return index;
}

namespace {

constexpr char kHexDigits[] = "0123456789abcdef";
constexpr std::size_t kMaxKindBytes = 64;

// The value of a lowercase hex digit, or -1: one table lookup per digit (a
// record may list hundreds of ids).
struct HexTable {
  std::array<std::int8_t, 256> value{};
  constexpr HexTable() {
    for (auto& v : value) v = -1;
    for (int c = '0'; c <= '9'; ++c)
      value[static_cast<std::size_t>(c)] = static_cast<std::int8_t>(c - '0');
    for (int c = 'a'; c <= 'f'; ++c)
      value[static_cast<std::size_t>(c)] = static_cast<std::int8_t>(c - 'a' + 10);
  }
};
constexpr HexTable kHex;

int hex_value(char c) {
  return kHex.value[static_cast<unsigned char>(c)];
}

bool is_kind_char(char c) {
  return (c >= 'a' && c <= 'z') || c == '_';
}

// The index part of a line, or false when it is not well formed.
bool read_index(std::string_view line, RecordIndex& index, std::string_view& record) {
  if (line.empty() || line[0] != '=') return false;
  std::size_t kind_end = line.find('\t', 1);
  if (kind_end == std::string_view::npos || kind_end == 1 || kind_end - 1 > kMaxKindBytes) {
    return false;
  }
  std::string_view kind = line.substr(1, kind_end - 1);
  for (char c : kind) {
    if (!is_kind_char(c)) return false;
  }
  std::size_t ids_end = line.find('\t', kind_end + 1);
  if (ids_end == std::string_view::npos) return false;
  std::string_view hex = line.substr(kind_end + 1, ids_end - kind_end - 1);
  if (hex.size() % 32 != 0) return false;
  index.kind.assign(kind);
  index.patient_ids.clear();
  index.patient_ids.reserve(hex.size() / 32);
  for (std::size_t at = 0; at < hex.size(); at += 32) {
    Uuid id{};
    for (std::size_t i = 0; i < 16; ++i) {
      int high = hex_value(hex[at + 2 * i]);
      int low = hex_value(hex[at + 2 * i + 1]);
      if (high < 0 || low < 0) return false;
      id[i] = static_cast<std::uint8_t>(high << 4 | low);
    }
    index.patient_ids.push_back(id);
  }
  record = line.substr(ids_end + 1);
  // A record as RecordWriter makes it: one object, no raw tab (escaped).
  // Anything else, such as a line torn by a crash and run into the next
  // one, is indexed from its text instead (and so found malformed).
  return record.size() >= 2 && record.front() == '{' && record.back() == '}' &&
         record.find('\t') == std::string_view::npos;
}

}  // namespace

std::string spool_index(std::string_view kind, const std::vector<Uuid>& patient_ids) {
  std::string out;
  out.reserve(kind.size() + 3 + patient_ids.size() * 32);
  out.push_back('=');
  out.append(kind);
  out.push_back('\t');
  for (const Uuid& id : patient_ids) {
    for (std::uint8_t byte : id) {
      out.push_back(kHexDigits[byte >> 4]);
      out.push_back(kHexDigits[byte & 0x0f]);
    }
  }
  out.push_back('\t');
  return out;
}

std::size_t format_utc_micros(std::int64_t unix_micros, char* out) {
  std::int64_t seconds = unix_micros / 1000000;
  std::int64_t micros = unix_micros % 1000000;
  if (micros < 0) {
    micros += 1000000;
    --seconds;
  }
  const CivilTime at = civil_from_unix_seconds(seconds);
  const std::int64_t year = at.date.year, month = at.date.month, day = at.date.day;
  const std::int64_t second_of_day = at.second_of_day;
  if (year < 0 || year > 9999) {
    // Outside four digits: printf's %04d, as for every year before.
    const int n =
        std::snprintf(out, kUtcTimestampBytes, "%04lld-%02lld-%02lldT%02lld:%02lld:%02lld.%06lldZ",
                      static_cast<long long>(year), static_cast<long long>(month),
                      static_cast<long long>(day), static_cast<long long>(second_of_day / 3600),
                      static_cast<long long>(second_of_day / 60 % 60),
                      static_cast<long long>(second_of_day % 60), static_cast<long long>(micros));
    return n < 0 ? 0 : static_cast<std::size_t>(n);
  }
  auto put = [&out](std::int64_t value, int width) {
    for (int i = width - 1; i >= 0; --i) {
      out[i] = static_cast<char>('0' + value % 10);
      value /= 10;
    }
    out += width;
  };
  char* const start = out;
  put(year, 4);
  *out++ = '-';
  put(month, 2);
  *out++ = '-';
  put(day, 2);
  *out++ = 'T';
  put(second_of_day / 3600, 2);
  *out++ = ':';
  put(second_of_day / 60 % 60, 2);
  *out++ = ':';
  put(second_of_day % 60, 2);
  *out++ = '.';
  put(micros, 6);
  *out++ = 'Z';
  return static_cast<std::size_t>(out - start);
}

void read_spool_line(std::string_view line, RecordIndex& index, std::string_view& record) {
  if (read_index(line, index, record)) return;
  record = line;
  index = index_record(line);
}

// A record is a few hundred bytes: one allocation usually holds it.
RecordWriter::RecordWriter() : buffer_(new char[1024]), capacity_(1024) {
  buffer_[size_++] = '{';
}

char* RecordWriter::room(std::size_t n) {
  if (n > capacity_ - size_) {
    const std::size_t capacity = std::max(capacity_ * 2, size_ + n);
    std::unique_ptr<char[]> grown(new char[capacity]);
    std::memcpy(grown.get(), buffer_.get(), size_);
    buffer_ = std::move(grown);
    capacity_ = capacity;
  }
  return buffer_.get() + size_;
}

namespace {

constexpr std::uint64_t kEveryByte = 0x0101010101010101ULL;
constexpr std::uint64_t kHighBits = 0x8080808080808080ULL;

// True when one of the eight bytes of `word` needs an escape: a control
// character, a quote or a backslash. Both tests (a byte below 0x20, a zero
// byte after the XOR) are exact as a yes or no; only which byte may be off.
bool word_needs_escape(std::uint64_t word) {
  const auto has_zero = [](std::uint64_t v) { return (v - kEveryByte) & ~v & kHighBits; };
  const std::uint64_t below_space = (word - kEveryByte * 0x20) & ~word & kHighBits;
  return (below_space | has_zero(word ^ (kEveryByte * '"')) |
          has_zero(word ^ (kEveryByte * '\\'))) != 0;
}

char* put_escaped_byte(char* out, unsigned char byte) {
  if (byte >= 0x20 && byte != '"' && byte != '\\') {
    *out++ = static_cast<char>(byte);
  } else if (byte == '"' || byte == '\\') {
    *out++ = '\\';
    *out++ = static_cast<char>(byte);
  } else {
    *out++ = '\\';
    *out++ = 'u';
    *out++ = '0';
    *out++ = '0';
    *out++ = kHexDigits[byte >> 4];
    *out++ = kHexDigits[byte & 0x0f];
  }
  return out;
}

}  // namespace

// JSON string escaping: quotes, backslash and every control character (so a
// record never holds a raw newline). Writes at most 6 bytes per byte, plus
// the quotes. Eight bytes at a time while none needs an escape: most of a
// record is names, ids and timestamps, which never do.
char* RecordWriter::put_string(char* out, std::string_view value) {
  *out++ = '"';
  const char* in = value.data();
  const char* const end = in + value.size();
  while (end - in >= 8) {
    std::uint64_t word;
    std::memcpy(&word, in, sizeof word);
    if (word_needs_escape(word)) {
      for (int i = 0; i < 8; ++i) out = put_escaped_byte(out, static_cast<unsigned char>(in[i]));
    } else {
      std::memcpy(out, in, sizeof word);
      out += sizeof word;
    }
    in += 8;
  }
  for (; in < end; ++in) out = put_escaped_byte(out, static_cast<unsigned char>(*in));
  *out++ = '"';
  return out;
}

char* RecordWriter::put_key(char* out, std::string_view name) {
  if (!first_) *out++ = ',';
  first_ = false;
  out = put_string(out, name);
  *out++ = ':';
  return out;
}

void RecordWriter::field(std::string_view name, std::string_view value) {
  char* out = room(worst_case(name) + worst_case(value) + 2);
  out = put_key(out, name);
  commit(put_string(out, value));
}

void RecordWriter::null_field(std::string_view name) {
  char* out = put_key(room(worst_case(name) + 6), name);
  std::memcpy(out, "null", 4);
  commit(out + 4);
}

void RecordWriter::number(std::string_view name, std::int64_t value) {
  constexpr std::size_t kDigits = 20;  // -9223372036854775808
  char* out = put_key(room(worst_case(name) + 2 + kDigits), name);
  commit(std::to_chars(out, out + kDigits, value).ptr);
}

void RecordWriter::boolean(std::string_view name, bool value) {
  char* out = put_key(room(worst_case(name) + 7), name);
  const std::string_view word = value ? "true" : "false";
  std::memcpy(out, word.data(), word.size());
  commit(out + word.size());
}

void RecordWriter::raw(std::string_view name, std::string_view json) {
  char* out = put_key(room(worst_case(name) + 2 + json.size()), name);
  std::memcpy(out, json.data(), json.size());
  commit(out + json.size());
}

void RecordWriter::open_array(std::string_view name) {
  char* out = put_key(room(worst_case(name) + 3), name);
  *out++ = '[';
  commit(out);
  first_element_ = true;
}

void RecordWriter::element(std::string_view value) {
  char* out = room(worst_case(value) + 1);
  if (!first_element_) *out++ = ',';
  first_element_ = false;
  commit(put_string(out, value));
}

void RecordWriter::close_array() {
  char* out = room(1);
  *out++ = ']';
  commit(out);
}

std::string RecordWriter::finish() {
  char* out = room(1);
  *out++ = '}';
  commit(out);
  return std::string(buffer_.get(), size_);
}

}  // namespace careguard::ledger
