// careguard-audit: compares two policy expressions (USING / WITH CHECK, as
// pg_get_expr prints them) without a server. Sound, not complete: it proves
// "everything the old one admits, the new one admits" only from the shape
// of AND / OR over sub-expressions compared as text, and says Unknown
// whenever it cannot prove a relation, so a caller can fail safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace careguard::audit {

// An expression split at its top-level AND / OR; anything else is an atom,
// compared by its whitespace-normalised text ("true" and "false" included).
struct BoolExpr {
  enum class Kind { And, Or, Atom };
  Kind kind = Kind::Atom;
  std::string atom;
  std::vector<BoolExpr> children;
};

// Collapses whitespace and strips redundant outer parentheses, outside
// string literals and quoted identifiers.
std::string normalize_expression(std::string_view sql);

BoolExpr parse_bool_expr(std::string_view sql);

// True only when every row for which `p` is true provably makes `q` true
// (in SQL's three-valued logic: a NULL admits no row in a policy).
bool implies(const BoolExpr& p, const BoolExpr& q);

enum class ExprRelation {
  Same,      // equal after normalisation, or each implies the other
  Weaker,    // the new one admits at least every row the old one did
  Stronger,  // the new one admits only rows the old one did
  Unknown,   // neither could be proven
};

ExprRelation compare_expressions(std::string_view before, std::string_view after);

}  // namespace careguard::audit
