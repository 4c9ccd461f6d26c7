// careguard adapter: jsonb built from the core's DOM (see jsonb_build.hpp).
#include "careguard/pg/jsonb_build.hpp"

#include <cstring>

extern "C" {
#include "utils/numeric.h"
}

namespace careguard::pg {

namespace {

// jsonb stores an object's keys sorted by length, then bytes, each key once
// (the last of duplicates wins). The tree below is handed to
// JsonbValueToJsonb() already in that form, so PostgreSQL only encodes it:
// no pushJsonbValue() state machine, no second sort. Claims objects are
// small: up to kInsertionSortMembers members are sorted in place.
constexpr int kInsertionSortMembers = 32;

int jsonb_key_compare(const JsonbPair& a, const JsonbPair& b) {
  const int alen = a.key.val.string.len;
  const int blen = b.key.val.string.len;
  if (alen != blen) return alen < blen ? -1 : 1;
  return std::memcmp(a.key.val.string.val, b.key.val.string.val, static_cast<std::size_t>(alen));
}

// Equal keys keep input order (pair.order), so the last one ends each run.
int jsonb_pair_order(const void* a, const void* b) {
  const auto* pa = static_cast<const JsonbPair*>(a);
  const auto* pb = static_cast<const JsonbPair*>(b);
  const int keys = jsonb_key_compare(*pa, *pb);
  if (keys != 0) return keys;
  return pa->order < pb->order ? -1 : 1;
}

void sort_pairs(JsonbPair* pairs, int count) {
  if (count > kInsertionSortMembers) {
    qsort(pairs, static_cast<std::size_t>(count), sizeof(JsonbPair), jsonb_pair_order);
    return;
  }
  for (int i = 1; i < count; ++i) {
    JsonbPair pair = pairs[i];
    int j = i;
    for (; j > 0 && jsonb_pair_order(&pair, &pairs[j - 1]) < 0; --j) pairs[j] = pairs[j - 1];
    pairs[j] = pair;
  }
}

// The limits pushJsonbValue() enforces (jsonb_util.c), with its error.
constexpr std::size_t kMaxJsonbPairs = Min(MaxAllocSize / sizeof(JsonbPair), JB_CMASK);
constexpr std::size_t kMaxJsonbElems = Min(MaxAllocSize / sizeof(JsonbValue), JB_CMASK);

[[noreturn]] void too_many(const char* what, std::size_t limit) {
  ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                  errmsg("number of jsonb %s exceeds the maximum allowed (%zu)", what, limit)));
  pg_unreachable();
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

// Fills `out` with the JsonbValue tree of one JSON value, palloc'd. Works on
// the DOM the verifier already parsed, so the claims are not lexed a second
// time; its strings point into the DOM, which outlives the encoding. Owns no
// C++ objects, so a PostgreSQL error inside skips no destructor.
void fill_value(JsonbValue* out, const json::Value& value) {
  switch (value.kind) {
    case json::Kind::Object: {
      if (value.members.size() > kMaxJsonbPairs) too_many("object pairs", kMaxJsonbPairs);
      const int count = static_cast<int>(value.members.size());
      auto* pairs = static_cast<JsonbPair*>(palloc(sizeof(JsonbPair) * (count > 0 ? count : 1)));
      for (int i = 0; i < count; ++i) {
        const auto& member = value.members[static_cast<std::size_t>(i)];
        pairs[i].key.type = jbvString;
        pairs[i].key.val.string.len = static_cast<int>(member.first.size());
        pairs[i].key.val.string.val = const_cast<char*>(member.first.data());
        pairs[i].order = static_cast<uint32>(i);
      }
      sort_pairs(pairs, count);
      int kept = 0;
      for (int i = 0; i < count; ++i) {
        // Of a run of equal keys only the last (in input order) is kept. The
        // others are still converted, and thrown away, so that a number
        // jsonb_in refuses (1e1000000, say) is refused here too.
        if (i + 1 < count && jsonb_key_compare(pairs[i], pairs[i + 1]) == 0) {
          JsonbValue dropped;
          fill_value(&dropped, value.members[pairs[i].order].second);
          continue;
        }
        pairs[kept] = pairs[i];
        fill_value(&pairs[kept].value, value.members[pairs[i].order].second);
        ++kept;
      }
      out->type = jbvObject;
      out->val.object.nPairs = kept;
      out->val.object.pairs = pairs;
      return;
    }
    case json::Kind::Array: {
      if (value.items.size() > kMaxJsonbElems) too_many("array elements", kMaxJsonbElems);
      const int count = static_cast<int>(value.items.size());
      auto* elems = static_cast<JsonbValue*>(palloc(sizeof(JsonbValue) * (count > 0 ? count : 1)));
      for (int i = 0; i < count; ++i)
        fill_value(&elems[i], value.items[static_cast<std::size_t>(i)]);
      out->type = jbvArray;
      out->val.array.nElems = count;
      out->val.array.elems = elems;
      out->val.array.rawScalar = false;
      return;
    }
    case json::Kind::String:
      out->type = jbvString;
      out->val.string.len = static_cast<int>(value.text.size());
      out->val.string.val = const_cast<char*>(value.text.data());
      return;
    case json::Kind::Number: {
      out->type = jbvNumeric;
      int64 integer = 0;
      out->val.numeric = small_integer(value.text, &integer)
                             ? int64_to_numeric(integer)
                             : DatumGetNumeric(DirectFunctionCall3(
                                   numeric_in, CStringGetDatum(value.text.c_str()),
                                   ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1)));
      return;
    }
    case json::Kind::Bool:
      out->type = jbvBool;
      out->val.boolean = value.boolean;
      return;
    case json::Kind::Null:
      out->type = jbvNull;
      return;
  }
}

}  // namespace

Jsonb* jsonb_from_dom(const json::Value& root) {
  // JsonbValueToJsonb() stores a scalar document as jsonb_in does: a
  // one-element "raw scalar" array.
  JsonbValue tree;
  fill_value(&tree, root);
  return JsonbValueToJsonb(&tree);
}

}  // namespace careguard::pg
