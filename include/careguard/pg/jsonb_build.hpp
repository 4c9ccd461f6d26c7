// careguard adapter: jsonb from the core's parsed DOM, the one route by which
// careguard builds jsonb (auth.login()'s result and auth.jwt()), so claims
// are never lexed a second time by PostgreSQL's parser.
#pragma once

#include "careguard/core/json.hpp"
#include "careguard/pg/postgres.hpp"

namespace careguard::pg {

// A palloc'd jsonb equal to what jsonb_in would make of the document the DOM
// was parsed from. Call under call_pg(): it may ereport (numeric_in).
Jsonb* jsonb_from_dom(const json::Value& root);

}  // namespace careguard::pg
