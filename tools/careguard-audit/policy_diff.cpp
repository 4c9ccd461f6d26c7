// careguard-audit diff: classifies each change between two snapshots. The
// rule throughout: a change is narrowing or neutral only when that is
// proven; whatever cannot be proven is a widening, marked unproven.
#include "policy_diff.hpp"
#include "policy_expr.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

namespace careguard::audit {

namespace {

using Set = std::set<std::string>;

Set command_set(const std::string& command) {
  if (command == "ALL") return {"SELECT", "INSERT", "UPDATE", "DELETE"};
  return {command};
}

std::string join_set(const Set& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out.empty() ? "(none)" : out;
}

Set difference(const Set& a, const Set& b) {
  Set out;
  std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::inserter(out, out.end()));
  return out;
}

enum class Reach { Same, Wider, Narrower, Mixed };

// How the set an aspect applies to moved; `everything` (PUBLIC's "public")
// stands for every element.
Reach compare_sets(const Set& before, const Set& after, const std::string& everything = "") {
  if (before == after) return Reach::Same;
  if (!everything.empty()) {
    const bool all_before = before.count(everything) > 0, all_after = after.count(everything) > 0;
    if (all_after && !all_before) return Reach::Wider;
    if (all_before && !all_after) return Reach::Narrower;
  }
  const bool added = !difference(after, before).empty();
  const bool removed = !difference(before, after).empty();
  if (added && removed) return Reach::Mixed;
  return added ? Reach::Wider : Reach::Narrower;
}

Change make(ChangeClass cls, std::string kind, std::string object, std::string aspect,
            std::string before, std::string after, std::string reason, bool unproven = false) {
  Change c;
  c.change = cls;
  c.unproven = unproven;
  c.kind = std::move(kind);
  c.object = std::move(object);
  c.aspect = std::move(aspect);
  c.before = std::move(before);
  c.after = std::move(after);
  c.reason = std::move(reason);
  return c;
}

std::string policy_object(const PolicyState& p) {
  return p.name + " on " + p.table;
}

std::string describe_policy(const PolicyState& p) {
  std::string out = std::string(p.permissive ? "PERMISSIVE" : "RESTRICTIVE") + " FOR " + p.command +
                    " TO " + join_set(Set(p.roles.begin(), p.roles.end()));
  if (p.using_expr) out += " USING (" + *p.using_expr + ")";
  if (p.check_expr) out += " WITH CHECK (" + *p.check_expr + ")";
  return out;
}

// Roles or commands of a policy: reaching more widens a permissive policy
// (it grants more) and narrows a restrictive one (it restricts more).
void classify_reach(const PolicyState& after, const std::string& aspect, const Set& old_set,
                    const Set& new_set, const std::string& everything, std::vector<Change>& out) {
  const Reach reach = compare_sets(old_set, new_set, everything);
  if (reach == Reach::Same) return;
  const std::string object = policy_object(after);
  const Set added = difference(new_set, old_set);
  const std::string what = aspect == "roles" ? "role" : "command";
  const bool permissive = after.permissive;
  ChangeClass cls;
  std::string reason;
  if (reach == Reach::Mixed) {
    cls = ChangeClass::Widening;
    reason = permissive ? what + "s added (" + join_set(added) + ") gain what the policy grants"
                        : what + "s removed lose the restriction";
  } else if ((reach == Reach::Wider) == permissive) {
    cls = ChangeClass::Widening;
    reason = permissive ? "the policy now grants to more " + what + "s (" + join_set(added) + ")"
                        : "the restrictive policy now restricts fewer " + what + "s";
  } else {
    cls = ChangeClass::Narrowing;
    reason = permissive ? "the policy grants to fewer " + what + "s"
                        : "the restrictive policy now restricts more " + what + "s";
  }
  out.push_back(make(cls, "policy", object, aspect, join_set(old_set), join_set(new_set), reason));
}

// USING or WITH CHECK: a weaker expression admits more rows, which widens a
// permissive policy and a restrictive one alike.
void classify_clause(const PolicyState& after, const std::string& aspect,
                     const std::optional<std::string>& old_expr,
                     const std::optional<std::string>& new_expr, std::vector<Change>& out) {
  if (!old_expr && !new_expr) return;
  const std::string object = policy_object(after);
  const std::string before = old_expr ? *old_expr : "(none)", now = new_expr ? *new_expr : "(none)";
  if (!old_expr || !new_expr) {
    // Without a clause PostgreSQL falls back on the other one (WITH CHECK
    // on USING) or admits nothing, depending on command and kind: not
    // something to prove from the text.
    out.push_back(make(ChangeClass::Widening, "policy", object, aspect, before, now,
                       std::string(old_expr ? "clause removed" : "clause added") +
                           "; what PostgreSQL uses instead depends on the command",
                       true));
    return;
  }
  if (*old_expr == *new_expr) return;
  switch (compare_expressions(*old_expr, *new_expr)) {
    case ExprRelation::Same:
      out.push_back(make(ChangeClass::Neutral, "policy", object, aspect, before, now,
                         "the same condition after normalisation"));
      break;
    case ExprRelation::Weaker:
      out.push_back(make(ChangeClass::Widening, "policy", object, aspect, before, now,
                         "the new condition admits every row the old one did, and maybe more "
                         "(an OR branch added, or a condition dropped)"));
      break;
    case ExprRelation::Stronger:
      out.push_back(make(ChangeClass::Narrowing, "policy", object, aspect, before, now,
                         "the new condition admits only rows the old one did (a condition "
                         "added with AND, or an OR branch removed)"));
      break;
    case ExprRelation::Unknown:
      out.push_back(make(ChangeClass::Widening, "policy", object, aspect, before, now,
                         "the conditions differ and neither provably implies the other", true));
      break;
  }
}

void diff_policy(const PolicyState& before, const PolicyState& after, std::vector<Change>& out) {
  const std::string object = policy_object(after);
  if (before.permissive != after.permissive) {
    out.push_back(
        make(after.permissive ? ChangeClass::Widening : ChangeClass::Narrowing, "policy", object,
             "kind", before.permissive ? "PERMISSIVE" : "RESTRICTIVE",
             after.permissive ? "PERMISSIVE" : "RESTRICTIVE",
             after.permissive ? "a restriction became a grant" : "a grant became a restriction"));
    // The other aspects now mean the opposite; say they changed, fail safe.
    if (before.roles != after.roles || before.command != after.command ||
        before.using_expr != after.using_expr || before.check_expr != after.check_expr)
      out.push_back(make(ChangeClass::Widening, "policy", object, "definition",
                         describe_policy(before), describe_policy(after),
                         "changed together with its kind: not classified", true));
    return;
  }
  classify_reach(after, "roles", Set(before.roles.begin(), before.roles.end()),
                 Set(after.roles.begin(), after.roles.end()), "public", out);
  classify_reach(after, "command", command_set(before.command), command_set(after.command), "",
                 out);
  classify_clause(after, "USING", before.using_expr, after.using_expr, out);
  classify_clause(after, "WITH CHECK", before.check_expr, after.check_expr, out);
}

template <typename T, typename Key>
std::map<Key, const T*> index_by(const std::vector<T>& items, Key (*key)(const T&)) {
  std::map<Key, const T*> out;
  for (const auto& item : items) out[key(item)] = &item;
  return out;
}

std::pair<std::string, std::string> policy_key(const PolicyState& p) {
  return {p.table, p.name};
}
std::string table_key(const TableState& t) {
  return t.name;
}
std::string function_key(const DefinerFunction& f) {
  return f.signature;
}
std::tuple<std::string, std::string, std::string, std::string> grant_key(const GrantState& g) {
  return {g.kind, g.object, g.grantee, g.privilege};
}

std::string grant_object(const GrantState& g) {
  return g.privilege + " on " + g.kind + " " + g.object + " to " + g.grantee;
}

void diff_tables(const Snapshot& from, const Snapshot& to, std::vector<Change>& out) {
  const auto old_tables = index_by(from.tables, &table_key);
  const auto new_tables = index_by(to.tables, &table_key);
  for (const auto& [name, t] : new_tables) {
    auto it = old_tables.find(name);
    if (it == old_tables.end()) {
      out.push_back(make(
          ChangeClass::Neutral, "table", name, "table", "(none)",
          std::string("RLS ") + (t->rls ? "enabled" : "disabled") + (t->force ? ", forced" : ""),
          "a new table: its grants and policies are listed on their own"));
      continue;
    }
    const TableState& o = *it->second;
    if (o.rls != t->rls)
      out.push_back(make(
          t->rls ? ChangeClass::Narrowing : ChangeClass::Widening, "rls", name,
          "row-level security", o.rls ? "enabled" : "disabled", t->rls ? "enabled" : "disabled",
          t->rls ? "policies now apply" : "no policy applies any more: grants alone decide"));
    if (o.force != t->force)
      out.push_back(make(t->force ? ChangeClass::Narrowing : ChangeClass::Widening, "rls", name,
                         "FORCE", o.force ? "forced" : "not forced",
                         t->force ? "forced" : "not forced",
                         t->force ? "the owner is held to the policies too"
                                  : "FORCE removed: the owner bypasses every policy"));
    if (o.owner != t->owner)
      out.push_back(make(ChangeClass::Widening, "table", name, "owner", o.owner, t->owner,
                         "a new owner holds every privilege and bypasses unforced policies", true));
  }
  for (const auto& [name, t] : old_tables)
    if (!new_tables.count(name))
      out.push_back(make(ChangeClass::Narrowing, "table", name, "table", "exists", "(dropped)",
                         "the table was dropped"));
}

void diff_policies(const Snapshot& from, const Snapshot& to, std::vector<Change>& out) {
  const auto old_policies = index_by(from.policies, &policy_key);
  const auto new_policies = index_by(to.policies, &policy_key);
  for (const auto& [key, p] : new_policies) {
    auto it = old_policies.find(key);
    if (it != old_policies.end()) {
      diff_policy(*it->second, *p, out);
      continue;
    }
    out.push_back(make(p->permissive ? ChangeClass::Widening : ChangeClass::Narrowing, "policy",
                       policy_object(*p), "policy", "(none)", describe_policy(*p),
                       p->permissive ? "a permissive policy added: its rows are granted"
                                     : "a restrictive policy added"));
  }
  for (const auto& [key, p] : old_policies)
    if (!new_policies.count(key))
      out.push_back(make(p->permissive ? ChangeClass::Narrowing : ChangeClass::Widening, "policy",
                         policy_object(*p), "policy", describe_policy(*p), "(dropped)",
                         p->permissive ? "a permissive policy removed"
                                       : "a restrictive policy removed: its restriction is gone"));
}

void diff_grants(const Snapshot& from, const Snapshot& to, std::vector<Change>& out) {
  const auto old_grants = index_by(from.grants, &grant_key);
  const auto new_grants = index_by(to.grants, &grant_key);
  for (const auto& [key, g] : new_grants) {
    auto it = old_grants.find(key);
    const std::string with = g->grantable ? " WITH GRANT OPTION" : "";
    if (it == old_grants.end()) {
      out.push_back(make(ChangeClass::Widening, "grant", grant_object(*g), "privilege", "(none)",
                         "granted" + with, "a privilege added"));
    } else if (it->second->grantable != g->grantable) {
      out.push_back(make(g->grantable ? ChangeClass::Widening : ChangeClass::Narrowing, "grant",
                         grant_object(*g), "grant option",
                         it->second->grantable ? "WITH GRANT OPTION" : "without grant option",
                         g->grantable ? "WITH GRANT OPTION" : "without grant option",
                         g->grantable ? "the grantee may now pass the privilege on"
                                      : "the grantee may no longer pass it on"));
    }
  }
  for (const auto& [key, g] : old_grants)
    if (!new_grants.count(key))
      out.push_back(make(ChangeClass::Narrowing, "grant", grant_object(*g), "privilege", "granted",
                         "(revoked)", "a privilege removed"));
}

void diff_functions(const Snapshot& from, const Snapshot& to, std::vector<Change>& out) {
  const auto old_functions = index_by(from.functions, &function_key);
  const auto new_functions = index_by(to.functions, &function_key);
  for (const auto& [signature, f] : new_functions) {
    auto it = old_functions.find(signature);
    if (it == old_functions.end()) {
      out.push_back(make(ChangeClass::Widening, "function", signature, "SECURITY DEFINER", "(none)",
                         "SECURITY DEFINER, owner " + f->owner,
                         "new, or made SECURITY DEFINER: it runs with " + f->owner + "'s rights"));
      continue;
    }
    const DefinerFunction& o = *it->second;
    if (o.owner != f->owner)
      out.push_back(make(ChangeClass::Widening, "function", signature, "owner", o.owner, f->owner,
                         "it runs with a different role's rights", true));
    if (o.config != f->config)
      out.push_back(make(ChangeClass::Widening, "function", signature, "settings",
                         o.config.empty() ? "(none)" : o.config,
                         f->config.empty() ? "(none)" : f->config,
                         "its SET clause (search_path) changed", true));
    else if (o.definition_md5 != f->definition_md5 || o.language != f->language)
      out.push_back(make(ChangeClass::Widening, "function", signature, "definition",
                         "md5 " + o.definition_md5, "md5 " + f->definition_md5,
                         "the body of a SECURITY DEFINER function changed: review it", true));
  }
  for (const auto& [signature, f] : old_functions)
    if (!new_functions.count(signature))
      out.push_back(make(ChangeClass::Narrowing, "function", signature, "SECURITY DEFINER",
                         "SECURITY DEFINER, owner " + f->owner, "(dropped, or SECURITY INVOKER)",
                         "no longer runs with its owner's rights"));
}

int class_rank(const Change& c) {
  if (c.change == ChangeClass::Widening) return c.unproven ? 1 : 0;
  return c.change == ChangeClass::Narrowing ? 2 : 3;
}

}  // namespace

std::vector<Change> diff_snapshots(const Snapshot& from, const Snapshot& to) {
  std::vector<Change> out;
  diff_tables(from, to, out);
  diff_policies(from, to, out);
  diff_grants(from, to, out);
  diff_functions(from, to, out);
  std::stable_sort(out.begin(), out.end(), [](const Change& a, const Change& b) {
    return std::tie(a.kind, a.object) < std::tie(b.kind, b.object);
  });
  std::stable_sort(out.begin(), out.end(),
                   [](const Change& a, const Change& b) { return class_rank(a) < class_rank(b); });
  return out;
}

std::string change_label(const Change& change) {
  switch (change.change) {
    case ChangeClass::Widening:
      return change.unproven ? "widening (unproven)" : "widening";
    case ChangeClass::Narrowing:
      return "narrowing";
    case ChangeClass::Neutral:
      break;
  }
  return "neutral";
}

std::string change_rule(const Change& change) {
  switch (change.change) {
    case ChangeClass::Widening:
      return change.unproven ? "diff_widening_unproven" : "diff_widening";
    case ChangeClass::Narrowing:
      return "diff_narrowing";
    case ChangeClass::Neutral:
      break;
  }
  return "diff_neutral";
}

std::optional<DiffFailOn> parse_diff_fail_on(std::string_view name) {
  if (name == "widening") return DiffFailOn::Widening;
  if (name == "any") return DiffFailOn::Any;
  if (name == "never") return DiffFailOn::Never;
  return std::nullopt;
}

bool diff_fails(const std::vector<Change>& changes, DiffFailOn threshold) {
  switch (threshold) {
    case DiffFailOn::Never:
      return false;
    case DiffFailOn::Any:
      return !changes.empty();
    case DiffFailOn::Widening:
      break;
  }
  return std::any_of(changes.begin(), changes.end(),
                     [](const Change& c) { return c.change == ChangeClass::Widening; });
}

}  // namespace careguard::audit
