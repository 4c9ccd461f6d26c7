// careguard adapter: jsonb built from the core's DOM (see jsonb_build.hpp).
#include "careguard/pg/jsonb_build.hpp"

#include <cstring>

extern "C" {
#include "utils/numeric.h"
}

namespace careguard::pg {

namespace {

using Member = std::pair<std::string, json::Value>;

// jsonb stores an object's keys sorted by length, then bytes, and sorts them
// itself; handed over in that order, its sort finds them presorted and stops
// after one pass. Claims objects are small; larger ones keep input order.
constexpr std::size_t kMaxPresortedMembers = 32;

bool jsonb_key_before(const Member* a, const Member* b) {
  if (a->first.size() != b->first.size()) return a->first.size() < b->first.size();
  return std::memcmp(a->first.data(), b->first.data(), a->first.size()) < 0;
}

// Fills order with the members in jsonb's key order (insertion sort: a few
// dozen members at most); returns how many members to push.
std::size_t jsonb_key_order(const json::Value& object, const Member** order) {
  const std::size_t count = object.members.size();
  if (count > kMaxPresortedMembers) return count;
  for (std::size_t i = 0; i < count; ++i) {
    const Member* member = &object.members[i];
    std::size_t j = i;
    for (; j > 0 && jsonb_key_before(member, order[j - 1]); --j) order[j] = order[j - 1];
    order[j] = member;
  }
  return count;
}

// A JSON integer literal of up to 18 digits: converted without numeric_in's
// parser, to the same numeric value.
bool small_integer(const std::string& literal, int64* out) {
  std::size_t i = literal.size() > 0 && literal[0] == '-' ? 1 : 0;
  const std::size_t digits = literal.size() - i;
  if (digits == 0 || digits > 18) return false;
  int64 value = 0;
  for (; i < literal.size(); ++i) {
    const char c = literal[i];
    if (c < '0' || c > '9') return false;
    value = value * 10 + (c - '0');
  }
  *out = literal[0] == '-' ? -value : value;
  return true;
}

// Appends one JSON value to a jsonb under construction. Works on the DOM the
// verifier already parsed, so the claims are not lexed a second time; owns
// no C++ objects, so a PostgreSQL error inside skips no destructor.
JsonbValue* push_json(JsonbParseState** state, const json::Value& value, JsonbIteratorToken token) {
  JsonbValue scalar;
  switch (value.kind) {
    case json::Kind::Object: {
      pushJsonbValue(state, WJB_BEGIN_OBJECT, nullptr);
      const Member* order[kMaxPresortedMembers];
      const std::size_t count = jsonb_key_order(value, order);
      for (std::size_t i = 0; i < count; ++i) {
        const Member& member = count <= kMaxPresortedMembers ? *order[i] : value.members[i];
        JsonbValue key;
        key.type = jbvString;
        key.val.string.len = static_cast<int>(member.first.size());
        key.val.string.val = const_cast<char*>(member.first.data());
        pushJsonbValue(state, WJB_KEY, &key);
        push_json(state, member.second, WJB_VALUE);
      }
      return pushJsonbValue(state, WJB_END_OBJECT, nullptr);
    }
    case json::Kind::Array: {
      pushJsonbValue(state, WJB_BEGIN_ARRAY, nullptr);
      for (const json::Value& item : value.items) push_json(state, item, WJB_ELEM);
      return pushJsonbValue(state, WJB_END_ARRAY, nullptr);
    }
    case json::Kind::String:
      scalar.type = jbvString;
      scalar.val.string.len = static_cast<int>(value.text.size());
      scalar.val.string.val = const_cast<char*>(value.text.data());
      break;
    case json::Kind::Number: {
      scalar.type = jbvNumeric;
      int64 integer = 0;
      scalar.val.numeric = small_integer(value.text, &integer)
                               ? int64_to_numeric(integer)
                               : DatumGetNumeric(DirectFunctionCall3(
                                     numeric_in, CStringGetDatum(value.text.c_str()),
                                     ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1)));
      break;
    }
    case json::Kind::Bool:
      scalar.type = jbvBool;
      scalar.val.boolean = value.boolean;
      break;
    case json::Kind::Null:
      scalar.type = jbvNull;
      break;
  }
  return pushJsonbValue(state, token, &scalar);
}

}  // namespace

Jsonb* jsonb_from_dom(const json::Value& root) {
  JsonbParseState* state = nullptr;
  if (root.is_scalar()) {
    // A scalar document is stored as jsonb_in stores it: a one-element
    // "raw scalar" array.
    JsonbValue raw;
    raw.type = jbvArray;
    raw.val.array.rawScalar = true;
    raw.val.array.nElems = 1;
    pushJsonbValue(&state, WJB_BEGIN_ARRAY, &raw);
    push_json(&state, root, WJB_ELEM);
    return JsonbValueToJsonb(pushJsonbValue(&state, WJB_END_ARRAY, nullptr));
  }
  return JsonbValueToJsonb(push_json(&state, root, WJB_ELEM));
}

}  // namespace careguard::pg
