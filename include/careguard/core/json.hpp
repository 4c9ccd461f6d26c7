// careguard core: a strict RFC 8259 JSON parser producing a small DOM.
// Strictness matches what PostgreSQL's ::jsonb cast accepts, so a document
// careguard reads is exactly a document Supabase's SQL helpers would read.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace careguard::json {

enum class Kind { Null, Bool, Number, String, Array, Object };

struct Value {
  Kind kind = Kind::Null;
  bool boolean = false;
  std::string text;          // String: the unescaped text. Number: the literal as written.
  std::vector<Value> items;  // Array elements.
  std::vector<std::pair<std::string, Value>> members;  // Object members, in input order.
  std::size_t begin = 0;  // Byte span of this value in the parsed source, for re-rendering.
  std::size_t end = 0;

  // Object member by key; with duplicate keys the last one wins, as in jsonb.
  const Value* find(std::string_view key) const;
  bool is_scalar() const { return kind != Kind::Array && kind != Kind::Object; }
};

struct Limits {
  std::size_t max_depth = 1000;       // Nesting deeper than this is rejected (54000).
  std::size_t max_bytes = 64u << 20;  // Larger documents are rejected (54000).
};

// Parses a whole document; throws careguard::Error (22P02 or 54000) on bad input.
// `what` names the input in error messages, e.g. the setting it came from.
Value parse(std::string_view source, std::string_view what = "input", const Limits& limits = {});

// Bytes a parsed document holds on the heap, itself included: what a cache
// of parsed documents must count against its budget.
std::size_t footprint(const Value& value);

// Escapes a string as a JSON string literal, quotes included.
std::string quote(std::string_view text);

}  // namespace careguard::json
