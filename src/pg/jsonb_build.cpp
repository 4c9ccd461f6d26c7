// careguard adapter: jsonb built from the core's DOM (see jsonb_build.hpp).
#include "careguard/pg/jsonb_build.hpp"

extern "C" {
#include "utils/numeric.h"
}

namespace careguard::pg {

namespace {

// Appends one JSON value to a jsonb under construction. Works on the DOM the
// verifier already parsed, so the claims are not lexed a second time; owns
// no C++ objects, so a PostgreSQL error inside skips no destructor.
JsonbValue* push_json(JsonbParseState** state, const json::Value& value, JsonbIteratorToken token) {
  JsonbValue scalar;
  switch (value.kind) {
    case json::Kind::Object: {
      pushJsonbValue(state, WJB_BEGIN_OBJECT, nullptr);
      for (const auto& member : value.members) {
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
    case json::Kind::Number:
      scalar.type = jbvNumeric;
      scalar.val.numeric =
          DatumGetNumeric(DirectFunctionCall3(numeric_in, CStringGetDatum(value.text.c_str()),
                                              ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1)));
      break;
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
