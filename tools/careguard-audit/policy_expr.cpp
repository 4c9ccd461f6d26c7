// careguard-audit: policy expression comparison (see policy_expr.hpp).
#include "policy_expr.hpp"

#include <algorithm>
#include <cctype>

namespace careguard::audit {

namespace {

bool is_word_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$';
}

// Length of the quoted token starting at text[i] ('...' or "..." with the
// quote doubled inside), or 0 when text[i] opens none.
std::size_t quoted_length(std::string_view text, std::size_t i) {
  const char quote = text[i];
  if (quote != '\'' && quote != '"') return 0;
  std::size_t k = i + 1;
  while (k < text.size()) {
    if (text[k] == quote) {
      if (k + 1 < text.size() && text[k + 1] == quote) {
        k += 2;
        continue;
      }
      return k + 1 - i;
    }
    ++k;
  }
  return text.size() - i;  // unterminated: the rest is the token
}

bool keyword_at(std::string_view text, std::size_t i, std::string_view word) {
  if (text.compare(i, word.size(), word) != 0) return false;
  const bool start_ok = i == 0 || !is_word_char(text[i - 1]);
  const std::size_t end = i + word.size();
  return start_ok && (end == text.size() || !is_word_char(text[end]));
}

// Calls visit(i, depth) for every character outside quotes, with the
// nesting depth of (), [] and CASE ... END around it.
template <typename Visit>
void scan(std::string_view text, Visit visit) {
  int depth = 0;
  for (std::size_t i = 0; i < text.size();) {
    if (std::size_t q = quoted_length(text, i)) {
      i += q;
      continue;
    }
    const char c = text[i];
    if (c == '(' || c == '[') {
      visit(i, depth);
      ++depth;
    } else if (c == ')' || c == ']') {
      --depth;
      visit(i, depth);
    } else if (keyword_at(text, i, "CASE")) {
      visit(i, depth);
      ++depth;
      i += 4;
      continue;
    } else if (keyword_at(text, i, "END")) {
      --depth;
      visit(i, depth);
      i += 3;
      continue;
    } else {
      visit(i, depth);
    }
    ++i;
  }
}

std::string collapse_whitespace(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size();) {
    if (std::size_t q = quoted_length(text, i)) {
      out.append(text.substr(i, q));
      i += q;
      continue;
    }
    if (std::isspace(static_cast<unsigned char>(text[i]))) {
      while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
      if (!out.empty() && i < text.size()) out += ' ';
      continue;
    }
    out += text[i++];
  }
  return out;
}

// "(x)" -> "x" when the first parenthesis closes at the very end.
bool strip_outer_parens(std::string& text) {
  if (text.size() < 2 || text.front() != '(' || text.back() != ')') return false;
  std::size_t closes_at = std::string::npos;
  scan(text, [&](std::size_t i, int depth) {
    if (closes_at == std::string::npos && depth == 0 && text[i] == ')') closes_at = i;
  });
  if (closes_at != text.size() - 1) return false;
  text = collapse_whitespace(std::string_view(text).substr(1, text.size() - 2));
  return true;
}

// Splits at top-level " OP " (OP = "OR" or "AND"); one part when none.
std::vector<std::string> split_top(const std::string& text, std::string_view op) {
  std::vector<std::size_t> cuts;
  scan(text, [&](std::size_t i, int depth) {
    if (depth == 0 && i > 0 && text[i - 1] == ' ' && keyword_at(text, i, op) &&
        i + op.size() < text.size() && text[i + op.size()] == ' ')
      cuts.push_back(i);
  });
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (std::size_t cut : cuts) {
    parts.push_back(text.substr(start, cut - 1 - start));
    start = cut + op.size() + 1;
  }
  parts.push_back(text.substr(start));
  return parts;
}

bool is_constant(const BoolExpr& e, std::string_view value) {
  return e.kind == BoolExpr::Kind::Atom && e.atom == value;
}

}  // namespace

std::string normalize_expression(std::string_view sql) {
  std::string text = collapse_whitespace(sql);
  while (strip_outer_parens(text)) {
  }
  return text;
}

BoolExpr parse_bool_expr(std::string_view sql) {
  const std::string text = normalize_expression(sql);
  for (auto [op, kind] : {std::pair{std::string_view("OR"), BoolExpr::Kind::Or},
                          std::pair{std::string_view("AND"), BoolExpr::Kind::And}}) {
    const auto parts = split_top(text, op);
    if (parts.size() < 2) continue;
    BoolExpr node;
    node.kind = kind;
    for (const auto& part : parts) {
      BoolExpr child = parse_bool_expr(part);
      // (a OR b) OR c is a OR b OR c.
      if (child.kind == kind) {
        for (auto& grandchild : child.children) node.children.push_back(std::move(grandchild));
      } else {
        node.children.push_back(std::move(child));
      }
    }
    return node;
  }
  BoolExpr atom;
  atom.atom = text;
  return atom;
}

bool implies(const BoolExpr& p, const BoolExpr& q) {
  using Kind = BoolExpr::Kind;
  if (is_constant(q, "true") || is_constant(p, "false")) return true;
  if (p.kind == Kind::Atom && q.kind == Kind::Atom) return p.atom == q.atom;
  // Every branch of p leads to q.
  if (p.kind == Kind::Or)
    return std::all_of(p.children.begin(), p.children.end(),
                       [&](const BoolExpr& c) { return implies(c, q); });
  // p leads to every conjunct of q.
  if (q.kind == Kind::And)
    return std::all_of(q.children.begin(), q.children.end(),
                       [&](const BoolExpr& c) { return implies(p, c); });
  // p leads to one branch of q, or one conjunct of p leads to q.
  if (q.kind == Kind::Or && std::any_of(q.children.begin(), q.children.end(),
                                        [&](const BoolExpr& c) { return implies(p, c); }))
    return true;
  if (p.kind == Kind::And)
    return std::any_of(p.children.begin(), p.children.end(),
                       [&](const BoolExpr& c) { return implies(c, q); });
  return false;
}

ExprRelation compare_expressions(std::string_view before, std::string_view after) {
  if (normalize_expression(before) == normalize_expression(after)) return ExprRelation::Same;
  const BoolExpr old_expr = parse_bool_expr(before), new_expr = parse_bool_expr(after);
  const bool widened = implies(old_expr, new_expr);
  const bool narrowed = implies(new_expr, old_expr);
  if (widened && narrowed) return ExprRelation::Same;
  if (widened) return ExprRelation::Weaker;
  if (narrowed) return ExprRelation::Stronger;
  return ExprRelation::Unknown;
}

}  // namespace careguard::audit
